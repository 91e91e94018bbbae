"""Benchmark of objspec's evaluation and control core against Storm, mdpsolver, pymdptoolbox.

Run as ``python benchmarks/bench_core.py`` (``--quick`` for a smaller run). Not a test.

Model: a random MDP with 2,000 states, 4 actions and 5 successors per state-action
(Dirichlet(1) probabilities), discount 0.99.

(i)  Evaluate 256 random stochastic policies (Dirichlet(1) action distributions) for one
     reward, to an absolute accuracy of 1e-8 on the values:
     objspec (one batched call) vs a loop of Storm DTMC ``R{"r"}=? [ Cdiscount=0.99 ]``
     checks (model building included) vs pymdptoolbox's policy evaluation (its dense
     ``_evalPolicyMatrix`` on the induced chain; timed on a few policies and extrapolated).
(ii) Optimal values for 64 reward vectors to 1e-8:
     objspec (one batched call) vs 64 mdpsolver solves vs 64 Storm MDP
     ``R{"r"}max=? [ Cdiscount=0.99 ]`` checks vs pymdptoolbox ValueIteration (timed on a
     few rewards and extrapolated).

Every tool's accuracy is measured against a tight reference (objspec's direct solves at
1e-13 for (i); objspec control certified to 1e-10, cross-checked by exact policy evaluation of its
certified-optimal policies, for (ii)). All timings of one table come from the same run on
the same machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from objspec import FiniteMDP
from objspec.mdp import evaluate, optimal_values
from objspec.mdp.linear import induced_chain_sparse

GAMMA = 0.99
TARGET = 1e-8


@dataclass
class Row:
    task: str
    tool: str
    seconds: float
    error: float
    note: str = ""

    def __post_init__(self) -> None:
        print(f"  ... {self.task}: {self.tool} {self.seconds:.3f} s", flush=True)


def random_mdp(S: int, A: int, k: int, seed: int) -> tuple[FiniteMDP, np.random.Generator]:
    rng = np.random.default_rng(seed)
    cols = np.stack([rng.choice(S, k, replace=False) for _ in range(S * A)]).ravel()
    rows = np.repeat(np.arange(S * A), k)
    vals = rng.dirichlet(np.ones(k), size=S * A).ravel()
    T = sp.csr_matrix((vals, (rows, cols)), shape=(S * A, S))
    return FiniteMDP(T, np.full(S, 1.0 / S)), rng


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


# ------------------------------------------------------------------------------ Storm
def _storm_precision_env(relative: str) -> Any:
    import stormpy

    env = stormpy.Environment()
    env.solver().min_max().precision = stormpy.Rational(relative)
    env.solver().native().precision = stormpy.Rational(relative)
    return env


def _storm_labeling(n: int) -> Any:
    import stormpy.models as m

    lab = m.StateLabeling(n)
    lab.add_label("init")
    lab.add_label_to_state("init", 0)
    return lab


def storm_dtmc_values(chain: sp.csr_matrix, r: np.ndarray, env: Any) -> np.ndarray:
    import stormpy
    import stormpy.datastructures as d
    import stormpy.models as m

    n = chain.shape[0]
    coo = chain.tocoo()
    b = d.SparseMatrixBuilder[float](n, n, coo.nnz, True, False, 0)
    b.add_next_values(coo.row.tolist(), coo.col.tolist(), coo.data.tolist())
    reward = m.SparseRewardModel[float](optional_state_reward_vector=r.tolist())
    comp = m.SparseModelComponents[float](
        transition_matrix=b.build(), state_labeling=_storm_labeling(n), reward_models={"r": reward}
    )
    model = m.SparseDtmc[float](comp)
    prop = stormpy.parse_properties(f'R{{"r"}}=? [ Cdiscount={GAMMA} ]')[0]
    res = stormpy.model_checking(model, prop, only_initial_states=False, environment=env)
    return np.array(res.get_value_vector())


def storm_mdp_values(env_mdp: FiniteMDP, r_sa: np.ndarray, env: Any) -> np.ndarray:
    import stormpy
    import stormpy.datastructures as d
    import stormpy.models as m

    S, A = env_mdp.n_states, env_mdp.n_actions
    coo = env_mdp.transition_matrix.tocoo()
    b = d.SparseMatrixBuilder[float](S * A, S, coo.nnz, True, True, S)
    b.add_next_values(
        coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), list(range(0, S * A, A))
    )
    reward = m.SparseRewardModel[float](optional_state_action_reward_vector=r_sa.ravel().tolist())
    comp = m.SparseModelComponents[float](
        transition_matrix=b.build(), state_labeling=_storm_labeling(S), reward_models={"r": reward}
    )
    model = m.SparseMdp[float](comp)
    prop = stormpy.parse_properties(f'R{{"r"}}max=? [ Cdiscount={GAMMA} ]')[0]
    res = stormpy.model_checking(model, prop, only_initial_states=False, environment=env)
    return np.array(res.get_value_vector())


# ------------------------------------------------------------------------------ benchmark
def bench_evaluation(
    env: FiniteMDP, rng: np.random.Generator, n_policies: int, rows: list[Row], n_toolbox: int
) -> None:
    S, A = env.n_states, env.n_actions
    pis = rng.dirichlet(np.ones(A), size=(n_policies, S))
    R = rng.random((S, A))
    r_pi = np.einsum("nsa,sa->ns", pis, R)
    task = f"(i) evaluate {n_policies} policies"

    # a relative tol of 1e-8 (1 - gamma) / max|r| makes the certified bound <= 1e-8
    tol = TARGET * (1 - GAMMA) / max(1.0, float(np.abs(R).max()))
    evaluate(env, pis[:2], R, GAMMA, tol=tol)  # warm-up (imports, first-touch allocations)
    ours, t_ours = timed(lambda: evaluate(env, pis, R, GAMMA, tol=tol))
    reference = evaluate(env, pis, R, GAMMA, tol=1e-13).values
    rows.append(
        Row(
            task,
            "objspec (batched)",
            t_ours,
            float(np.abs(ours.values - reference).max()),
            f"certified bound {ours.error_bound:.1e}",
        )
    )

    try:
        storm_env = _storm_precision_env("1/10000000000")  # relative 1e-10: values ~50
        chains = [induced_chain_sparse(env, pis[n]) for n in range(2)]
        storm_dtmc_values(chains[0], r_pi[0], storm_env)  # warm-up

        def storm_loop() -> np.ndarray:
            return np.array(
                [
                    storm_dtmc_values(induced_chain_sparse(env, pis[n]), r_pi[n], storm_env)
                    for n in range(n_policies)
                ]
            )

        storm, t_storm = timed(storm_loop)
        rows.append(
            Row(
                task,
                "Storm DTMC loop",
                t_storm,
                float(np.abs(storm - reference).max()),
                "precision 1e-10 rel; chain + model build included",
            )
        )
    except ImportError:
        rows.append(Row(task, "Storm DTMC loop", float("nan"), float("nan"), "stormpy missing"))

    try:
        import mdptoolbox.mdp as tb

        def toolbox(n: int) -> np.ndarray:
            chain = induced_chain_sparse(env, pis[n]).toarray()[None]  # [1, S, S]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                solver = tb.PolicyIteration(
                    chain, r_pi[n][:, None], GAMMA, policy0=np.zeros(S, dtype=int)
                )
                solver._evalPolicyMatrix()
            return np.array(solver.V)

        values, t_few = timed(lambda: np.array([toolbox(n) for n in range(n_toolbox)]))
        rows.append(
            Row(
                task,
                "pymdptoolbox eval",
                t_few * n_policies / n_toolbox,
                float(np.abs(values - reference[:n_toolbox]).max()),
                f"extrapolated from {n_toolbox} policies (dense S x S solve each)",
            )
        )
    except ImportError:
        rows.append(Row(task, "pymdptoolbox eval", float("nan"), float("nan"), "not installed"))


def bench_control(
    env: FiniteMDP, rng: np.random.Generator, n_rewards: int, rows: list[Row], n_toolbox: int
) -> None:
    S, A = env.n_states, env.n_actions
    R = rng.random((n_rewards, S, A))
    task = f"(ii) optimal values, {n_rewards} rewards"

    optimal_values(env, R[:2], GAMMA, tol=TARGET)  # warm-up
    ours, t_ours = timed(lambda: optimal_values(env, R, GAMMA, tol=TARGET))
    reference = optimal_values(env, R, GAMMA, tol=1e-10)
    ref_v = reference.values
    check = evaluate(env, np.eye(A)[reference.policies[:4]], R[:4], GAMMA, tol=1e-13).values
    ref_gap = float(np.abs(check[np.arange(4), np.arange(4)] - ref_v[:4]).max())
    rows.append(
        Row(
            task,
            "objspec (batched)",
            t_ours,
            float(np.abs(ours.values - ref_v).max()),
            f"certified bound {ours.error_bound:.1e}; {ours.method}, "
            f"{ours.iterations} sweeps; reference self-check {ref_gap:.0e}",
        )
    )

    try:
        import mdpsolver

        P = env.transition_matrix
        probs = [[P[s * A + a].data.tolist() for a in range(A)] for s in range(S)]
        cols = [[P[s * A + a].indices.tolist() for a in range(A)] for s in range(S)]

        def mdpsolver_one(k: int, parallel: bool) -> tuple[np.ndarray, np.ndarray]:
            model = mdpsolver.model()
            model.mdp(
                discount=GAMMA, rewards=R[k].tolist(), tranMatProbs=probs, tranMatColumns=cols
            )
            model.solve(tolerance=TARGET, verbose=False, parallel=parallel)
            return np.array(model.getValueVector()), np.array(model.getPolicy())

        for parallel in (True, False):
            mdpsolver_one(0, parallel)  # warm-up
            out, t_mdpsolver = timed(
                lambda parallel=parallel: [mdpsolver_one(k, parallel) for k in range(n_rewards)]
            )
            values = np.array([v for v, _ in out])
            policies = np.array([p for _, p in out])
            rows.append(
                Row(
                    task,
                    "mdpsolver loop" + ("" if parallel else " (1 thr)"),
                    t_mdpsolver,
                    float(np.abs(values - ref_v).max()),
                    f"tolerance 1e-8 (its MPI rule), parallel={parallel}; policies equal: "
                    f"{np.mean(policies == reference.policies):.4f}",
                )
            )
    except ImportError:
        rows.append(Row(task, "mdpsolver loop", float("nan"), float("nan"), "not installed"))

    try:
        storm_env = _storm_precision_env("1/10000000000")
        storm_mdp_values(env, R[0], storm_env)  # warm-up
        storm, t_storm = timed(
            lambda: np.array([storm_mdp_values(env, R[k], storm_env) for k in range(n_rewards)])
        )
        rows.append(
            Row(
                task,
                "Storm MDP loop",
                t_storm,
                float(np.abs(storm - ref_v).max()),
                "precision 1e-10 rel; model build included",
            )
        )
    except ImportError:
        rows.append(Row(task, "Storm MDP loop", float("nan"), float("nan"), "stormpy missing"))

    try:
        import mdptoolbox.mdp as tb

        Ps = [sp.csr_matrix(env.transitions[:, a, :]) for a in range(A)]

        def toolbox(k: int) -> np.ndarray:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                vi = tb.ValueIteration(Ps, R[k], GAMMA, epsilon=TARGET)
                vi.run()
            return np.array(vi.V)

        values, t_few = timed(lambda: np.array([toolbox(k) for k in range(n_toolbox)]))
        rows.append(
            Row(
                task,
                "pymdptoolbox VI",
                t_few * n_rewards / n_toolbox,
                float(np.abs(values - ref_v[:n_toolbox]).max()),
                f"extrapolated from {n_toolbox} rewards; epsilon 1e-8 (its span rule)",
            )
        )
    except ImportError:
        rows.append(Row(task, "pymdptoolbox VI", float("nan"), float("nan"), "not installed"))


def print_table(rows: list[Row]) -> None:
    print(f"{'task':<34} {'tool':<20} {'time [s]':>9} {'x objspec':>10} {'max abs err':>12}  note")
    print("-" * 130)
    base: dict[str, float] = {}
    for row in rows:
        if row.tool.startswith("objspec"):
            base[row.task] = row.seconds
        ratio = row.seconds / base[row.task] if row.task in base else float("nan")
        print(
            f"{row.task:<34} {row.tool:<20} {row.seconds:>9.3f} {ratio:>10.1f} "
            f"{row.error:>12.1e}  {row.note}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes for a smoke run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    S, A, k = (300, 4, 5) if args.quick else (2000, 4, 5)
    n_policies, n_rewards = (32, 8) if args.quick else (256, 64)
    env, rng = random_mdp(S, A, k, args.seed)
    print(
        f"objspec core benchmark: S={S}, A={A}, {k} successors per (s, a), gamma={GAMMA}, "
        f"target accuracy {TARGET:g}"
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f}, "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"
    )
    rows: list[Row] = []
    bench_evaluation(env, rng, n_policies, rows, n_toolbox=4)
    bench_control(env, rng, n_rewards, rows, n_toolbox=2)
    print_table(rows)


if __name__ == "__main__":
    main()
