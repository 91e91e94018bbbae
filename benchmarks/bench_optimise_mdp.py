"""Benchmark of the MR/LAR/RRL optimisers (issue 13) on a 2,000-state random MDP.

Run as ``python benchmarks/bench_optimise_mdp.py`` (``--states N`` to change the size).
Not a test.

Model: ``random_mdp(S, 4, 5)`` (Dirichlet(1) rows over 5 successors) and a variant with
two absorbing states and a closed low region (multichain), normal rewards.

(i)  LAR: ``LimitAverageReward(r).optimise(env)`` (multichain LP by HiGHS + the proven
     superharmonic bound, re-evaluation included) vs Storm ``R{"r"}max=? [ LRA ]`` at
     precision 1e-8 (model building included), with Storm's default min-max method and
     with its LP method.
(ii) RRL: soft value iteration (entropy, alpha = 0.1, gamma = 0.99) to a certified bound
     of 1e-8 vs plain (unregularised) certified value iteration
     (:func:`objspec.mdp.optimal_values`, ``method="value_iteration"``) to the same bound.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from objspec import FiniteMDP, Policy
from objspec.environments.generators import random_mdp
from objspec.formalisms import LimitAverageReward, RegularisedRL
from objspec.formalisms.regularisers import negative_entropy
from objspec.mdp import optimal_values
from objspec.mdp.soft import soft_value_iteration


def multichain(S: int, A: int, seed: int) -> FiniteMDP:
    """A closed low third, two absorbing states, the rest leaking everywhere."""
    rng = np.random.default_rng(seed)
    import scipy.sparse as sp

    rows, cols, vals = [], [], []
    k = S // 3
    absorbing = set(rng.choice(S, size=2, replace=False).tolist())
    for s in range(S):
        for a in range(A):
            if s in absorbing:
                t, p = np.array([s]), np.array([1.0])
            else:
                t = rng.choice(k if s < k else S, size=5, replace=False)
                p = rng.dirichlet(np.ones(5))
            rows += [s * A + a] * len(t)
            cols += t.tolist()
            vals += p.tolist()
    m = sp.csr_matrix((vals, (rows, cols)), shape=(S * A, S))
    return FiniteMDP(m, np.ones(S) / S)


def storm_mdp(env: FiniteMDP, r: np.ndarray) -> Any:
    """``env`` as a Storm sparse MDP with the state-action reward ``r[S, A]`` named ``"r"``
    (one choice per action; ``tests/test_optimise_mdp.py`` builds its models with it too)."""
    import stormpy.datastructures as d
    import stormpy.models as m

    S, A = env.n_states, env.n_actions
    coo = env.transition_matrix.tocoo()
    b = d.SparseMatrixBuilder[float](S * A, S, coo.nnz, True, True, S)
    b.add_next_values(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(),
                      list(range(0, S * A, A)))
    lab = m.StateLabeling(S)
    lab.add_label("init")
    lab.add_label_to_state("init", 0)
    reward = m.SparseRewardModel[float](optional_state_action_reward_vector=r.ravel().tolist())
    comp = m.SparseModelComponents[float](transition_matrix=b.build(), state_labeling=lab,
                                          reward_models={"r": reward})
    return m.SparseMdp[float](comp)


def storm_lra(env: FiniteMDP, r: np.ndarray, method: str | None
              ) -> tuple[float, float, np.ndarray | None]:
    import stormpy

    start = time.perf_counter()
    S = env.n_states
    model = storm_mdp(env, r)
    e = stormpy.Environment()
    e.solver().min_max().precision = stormpy.Rational("1/100000000")
    e.solver().native().precision = stormpy.Rational("1/100000000")
    if method is not None:
        kind = type(e.solver().min_max().method)
        e.solver().min_max().method = getattr(kind, method)
    prop = stormpy.parse_properties('R{"r"}max=? [ LRA ]')[0]
    res = stormpy.model_checking(model, prop, only_initial_states=False, environment=e)
    value = float(env.initial @ np.array(list(res.get_value_vector())))
    elapsed = time.perf_counter() - start
    try:  # Storm's scheduler, to evaluate it with objspec (not timed)
        res = stormpy.model_checking(model, prop, only_initial_states=False,
                                     extract_scheduler=True, environment=e)
        sched = res.scheduler
        acts = np.array([sched.get_choice(s).get_deterministic_choice() for s in range(S)])
    except Exception:  # noqa: BLE001 - not every Storm build returns LRA schedulers
        acts = None
    return value, elapsed, acts


def timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, default=2000)
    parser.add_argument("--storm-lp", action="store_true",
                        help="also time Storm's LP min-max method (it hangs on some models)")
    args = parser.parse_args()
    S, A = args.states, 4
    rng = np.random.default_rng(0)
    print(f"(i) LAR optimise vs Storm LRAmax at 1e-8, S = {S}, A = {A}")
    for name, env in (("random (communicating)", random_mdp(S, A, 5, seed=0)),
                      ("multichain", multichain(S, A, 1))):
        r = rng.normal(size=(S, A))
        opt, t_ours = timed(lambda env=env, r=r: LimitAverageReward(r).optimise(env))
        print(f"  {name}: objspec {t_ours:.2f} s (value {opt.value:.10f}, {opt.guarantee}, "
              f"bound {opt.bound:.1e})")
        methods = [None, "LINEAR_PROGRAMMING"] if args.storm_lp else [None]
        for method in methods:
            try:
                value, t_storm, acts = storm_lra(env, r, method)
            except ImportError:
                print("  stormpy not installed")
                break
            print(f"  {name}: Storm ({method or 'default'}) {t_storm:.2f} s "
                  f"(value {value:.10f}; |diff| {abs(value - opt.value):.1e})")
            if acts is not None:
                theirs = LimitAverageReward(r).compile(env).value(
                    Policy.deterministic(acts, A))
                print(f"    Storm's scheduler evaluated by objspec: {theirs:.10f} "
                      f"(objspec's optimum minus it: {opt.value - theirs:.1e})")
    print(f"(ii) soft VI vs plain VI to a certified 1e-8, S = {S}, gamma = 0.99")
    env = random_mdp(S, A, 5, seed=2)
    r = rng.normal(size=(S, A))
    soft, t_soft = timed(lambda: soft_value_iteration(env, r, 0.99, 0.1, tol=1e-8))
    plain, t_plain = timed(lambda: optimal_values(env, r, 0.99, tol=1e-8,
                                                  method="value_iteration"))
    print(f"  soft VI: {t_soft:.2f} s, {soft.iterations} sweeps, policy bound "
          f"{soft.policy_error_bound:.1e}")
    print(f"  plain VI: {t_plain:.2f} s, {plain.iterations} sweeps, policy bound "
          f"{plain.policy_error_bound:.1e}")
    spec = RegularisedRL(r, negative_entropy, 0.1, 0.99)
    opt, t_rrl = timed(lambda: spec.optimise(env))
    print(f"  RRL optimise (soft VI + re-evaluation): {t_rrl:.2f} s, bound {opt.bound:.1e}")


if __name__ == "__main__":
    main()
