"""Benchmark of ``spec.optimise`` against outside solvers (not a test).

One run prints one table with a row per comparison:

1. **LAR**: ``LimitAverageReward(R).optimise(env)`` on a random ``--states``-state MDP
   (``objspec.environments.random_mdp(S, 2, 3)``, a random state-action reward in
   ``[0, 1)``) versus Storm's ``R{"r"}max=? [ LRA ]`` on the same MDP (built from the same
   arrays; model building timed separately, not in the ratio). Both sides run in one
   child process, alternating call by call :data:`ALTERNATING_ROUNDS` times (after one
   first call each, reported apart), and report their median times: on a shared machine,
   both see the same load.
2. **LTL Pmax**: the maximal satisfaction probability of ``--formula`` on a random labelled
   MDP with 5% absorbing states, translation included (caches cleared before every call):
   ``LinearTemporalLogic(phi).optimise(env, policies="finite-memory")`` versus Storm's
   ``Pmax=? [phi]`` on the same MDP, alternating as in row 1.
3. **concave FOMR**: ``f(m) = <R, m_sa> - (lam / 2) |m_sa|^2`` (``m_sa`` the state-action
   occupancy measure, concave) optimised by ``OccupancyMeasureFunction(f, gamma,
   concave=True, gradient=..., sparse=True).optimise`` (f receives the sparse ``(S*A, S)``
   measure; a certified duality gap of 1e-6) on ``--fomr-states`` MDPs (a comma-separated
   list of sizes, one row each; default 2000) versus the same quadratic programme over
   occupancy measures solved by cvxpy (clarabel, gap tolerances ``--fomr-tol``, default
   1e-6) when installed, else by scipy's SLSQP (the row says which). Both sides first
   solve a 5-state instance untimed (imports, solver set-up).
4. **soft VI (RRL)**: the entropy-regularised objective
   ``RegularisedRL(R, negative_entropy, alpha, gamma).optimise(env)`` versus plain
   fixed-point iteration of the soft Bellman operator
   ``V(s) = alpha log sum_a exp((R(s, a) + gamma P V)(s, a) / alpha)`` in numpy, stopped when
   the contraction bound ``gamma |V_k+1 - V_k| / (1 - gamma)`` is below ``--tol``.

Each objspec run and each reference run happens in a child process stopped after
``--row-limit`` seconds (the optimiser also gets ``time_limit``), so a slow optimiser
gives a "timed out" cell, never a hung benchmark. The "objspec method" column names the
optimiser that ran (with the registry's guarantee): rows measured while a formalism only
has the generic fallback say so.

Run: ``python benchmarks/bench_optimise.py`` (``--quick`` for small models and short
limits; ``--states``, ``--fomr-states``, ``--fomr-tol``, ``--row-limit``, ``--seed``).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from objspec import FiniteMDP
from objspec.environments import random_mdp
from objspec.formalisms.optimisation import GENERIC
from objspec.formalisms.registry import formalism_info

Result = dict[str, Any]


# ------------------------------------------------------------------ guarded runs


def _child(fn: Callable[[], Result], queue: Any) -> None:
    try:
        queue.put(fn())
    except Exception as exc:  # reported in the table
        queue.put({"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"})


def guarded(fn: Callable[[], Result], limit: float) -> Result:
    """``fn()`` in a forked child process, stopped after ``limit`` seconds."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, queue))
    start = time.perf_counter()
    proc.start()
    proc.join(limit)
    if proc.is_alive():
        proc.terminate()
        proc.join()
        return {"error": f"timed out after {limit:g} s"}
    try:
        out: Result = queue.get(timeout=5)
    except Exception:
        return {"error": f"no result (exit code {proc.exitcode})"}
    out.setdefault("wall", time.perf_counter() - start)
    return out


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def method_of(acronym: str) -> str:
    info = formalism_info(acronym)
    opt = info.optimiser
    if opt is None:
        return f"{GENERIC.method} [generic fallback, {GENERIC.guarantee}]"
    return f"{opt.method} [{opt.guarantee}]"


# ------------------------------------------------------------------ Storm models


def storm_mdp(env: FiniteMDP, reward: np.ndarray | None = None) -> Any:
    """A Storm sparse MDP from ``env``'s ``(S*A, S)`` matrix (all actions enabled), with
    the state labels and, if given, the state-action reward ``[S, A]`` as model ``"r"``."""
    import stormpy.datastructures as d
    import stormpy.models as m

    S, A = env.n_states, env.n_actions
    tau = sp.csr_matrix(env.transition_matrix)
    tau.sort_indices()
    b = d.SparseMatrixBuilder[float](S * A, S, tau.nnz, True, True, S)
    indptr, indices, data = tau.indptr, tau.indices.tolist(), tau.data.tolist()
    for s in range(S):
        b.new_row_group(s * A)
        for row in range(s * A, (s + 1) * A):
            for k in range(indptr[row], indptr[row + 1]):
                b.add_next_value(row, indices[k], data[k])
    lab = m.StateLabeling(S)
    names = ["init", *env.propositions]
    for name in names:
        lab.add_label(name)
    labels = env.state_labels if env.state_labels is not None else [()] * S
    for s, ls in enumerate(labels):
        lab.add_label_to_state("init", s)
        for name in ls:
            lab.add_label_to_state(name, s)
    comp = m.SparseModelComponents[float](transition_matrix=b.build(), state_labeling=lab)
    if reward is not None:
        comp.reward_models = {"r": m.SparseRewardModel[float](
            optional_state_action_reward_vector=[float(x) for x in reward.ravel()])}
    return m.SparseMdp[float](comp)


def storm_check(model: Any, text: str, initial: np.ndarray, precision: float) -> float:
    import stormpy

    env = stormpy.Environment()
    minmax = env.solver().min_max()
    minmax.precision = stormpy.Rational(precision)
    minmax.relative_termination_criterion = False
    prop = stormpy.parse_properties(text)[0]
    result = stormpy.model_checking(model, prop, environment=env)
    return float(initial @ np.array(result.get_value_vector()))


# ------------------------------------------------------------------ rows


#: Alternating rounds of the LAR and LTL rows (one call of each side per round); each side's
#: time is its median (both take milliseconds, so one call measures the machine's load as
#: much as the solver).
ALTERNATING_ROUNDS = 31


def alternating(ours: Callable[[], Any], ref: Callable[[], Any], rounds: int,
                before_ours: Callable[[], None] | None = None) -> Result:
    """Call ``ours`` and ``ref`` alternately, ``rounds`` times after one first call each
    (timed apart, as "first"); ``before_ours`` (untimed) runs before every call of
    ``ours``. Returns each side's median time, first-call time and last result."""
    times: dict[str, list[float]] = {"ours": [], "ref": []}
    first: dict[str, float] = {}
    last: dict[str, Any] = {}
    for i in range(rounds + 1):
        for side, fn in (("ours", ours), ("ref", ref)):
            if side == "ours" and before_ours is not None:
                before_ours()
            t, last[side] = timed(fn)
            if i == 0:
                first[side] = t
            else:
                times[side].append(t)
    return {side: {"time": float(np.median(times[side])), "first": first[side],
                   "result": last[side]} for side in ("ours", "ref")}


def lar_row(n_states: int, seed: int, limit: float, tol: float) -> Result:
    """Both sides in one child process, alternating call by call
    (:data:`ALTERNATING_ROUNDS` rounds after one first call each), so that both see the
    same machine load."""
    from objspec.formalisms import LimitAverageReward

    env = random_mdp(n_states, 2, 3, seed=seed, sparse=True)
    reward = np.random.default_rng(seed).random((n_states, 2))

    def both() -> Result:
        build, model = timed(lambda: storm_mdp(env, reward))
        out = alternating(
            lambda: LimitAverageReward(reward).optimise(env, seed=seed, time_limit=limit),
            lambda: storm_check(model, 'R{"r"}max=? [ LRA ]', env.initial, tol),
            ALTERNATING_ROUNDS)
        opt = out["ours"]["result"]
        return {"ours": {"time": out["ours"]["time"], "first": out["ours"]["first"],
                         "value": float(opt.value), "guarantee": opt.guarantee,
                         "method": opt.method, "bound": float(opt.bound)},
                "ref": {"time": out["ref"]["time"], "first": out["ref"]["first"],
                        "build": build, "value": float(out["ref"]["result"])}}

    out = guarded(both, limit * 2 + 30)
    ours_result, ref_result = (out, out) if "error" in out else (out["ours"], out["ref"])
    return {"name": f"LAR optimise vs Storm LRAmax ({n_states} states, alternating calls)",
            "method": method_of("LAR"), "ours": ours_result, "ref": ref_result,
            "ref_name": "Storm LRAmax"}


def ltl_env(n_states: int, seed: int) -> FiniteMDP:
    """A random labelled MDP (propositions p, q) with 5% absorbing states."""
    from objspec.environments.generators import random_labelled_mdp

    base = random_labelled_mdp(n_states, 2, ("p", "q"), 3, seed=seed)
    rng = np.random.default_rng(seed + 1)
    tau = sp.lil_matrix(base.transition_matrix)
    for s in rng.choice(n_states, size=max(1, n_states // 20), replace=False):
        for a in range(2):
            tau.rows[s * 2 + a] = [int(s)]
            tau.data[s * 2 + a] = [1.0]
    assert base.state_labels is not None
    labels = {s: list(base.state_labels[s]) for s in range(n_states)}
    return FiniteMDP(tau.tocsr(), base.initial, labels=labels, propositions=["p", "q"])


def ltl_row(n_states: int, seed: int, formula: str, limit: float, tol: float) -> Result:
    """Both sides in one child process, alternating call by call (as :func:`lar_row`);
    objspec's LTL caches are cleared before each of its calls, so translation is always
    counted (Storm parses the property each time too)."""
    from objspec.formalisms import LinearTemporalLogic
    from objspec.ltl import clear_caches
    from objspec.ltl.parser import parse_formula

    env = ltl_env(n_states, seed)
    text = f"Pmax=? [ {parse_formula(formula).to_storm()} ]"

    def both() -> Result:
        build, model = timed(lambda: storm_mdp(env))
        out = alternating(
            lambda: LinearTemporalLogic(formula).optimise(
                env, policies="finite-memory", time_limit=limit),
            lambda: storm_check(model, text, env.initial, tol),
            ALTERNATING_ROUNDS, before_ours=clear_caches)
        opt = out["ours"]["result"]
        return {"ours": {"time": out["ours"]["time"], "first": out["ours"]["first"],
                         "value": float(opt.value), "guarantee": opt.guarantee,
                         "method": opt.method},
                "ref": {"time": out["ref"]["time"], "first": out["ref"]["first"],
                        "build": build, "value": float(out["ref"]["result"])}}

    out = guarded(both, limit * 2 + 30)
    ours_result, ref_result = (out, out) if "error" in out else (out["ours"], out["ref"])
    return {"name": f"LTL Pmax incl. translation vs Storm ({n_states} states, {formula}, "
                    "alternating calls)",
            "method": method_of("LTL"), "ours": ours_result, "ref": ref_result,
            "ref_name": "Storm Pmax"}


def fomr_problem(n_states: int, seed: int) -> tuple[FiniteMDP, np.ndarray, float, float]:
    env = random_mdp(n_states, 2, 3, seed=seed, sparse=True)
    reward = np.random.default_rng(seed).random((n_states, 2))
    return env, reward, 0.9, 0.5  # env, R, gamma, lam


def fomr_reference(env: FiniteMDP, reward: np.ndarray, gamma: float, lam: float,
                   tol: float) -> Result:
    """max <R, x> - lam/2 |x|^2 over occupancy measures x >= 0 with the flow constraints
    sum_a x(s, a) - gamma sum_{s', a'} tau(s | s', a') x(s', a') = mu0(s)."""
    S, A = env.n_states, env.n_actions
    tau = sp.csr_matrix(env.transition_matrix)  # (S*A, S)
    out_flow = sp.kron(sp.eye(S), np.ones((1, A)))  # (S, S*A)
    flow = (out_flow - gamma * tau.T).tocsr()
    r = reward.ravel()
    try:
        import cvxpy as cp

        x = cp.Variable(S * A, nonneg=True)
        prob = cp.Problem(cp.Maximize(r @ x - lam / 2 * cp.sum_squares(x)),
                          [flow @ x == env.initial])
        t, value = timed(lambda: prob.solve(solver=cp.CLARABEL, tol_gap_abs=tol,
                                            tol_gap_rel=tol))
        return {"time": t, "value": float(value), "solver": "cvxpy (clarabel)"}
    except ImportError:
        from scipy.optimize import minimize

        dense = flow.toarray()
        x0 = np.full(S * A, 1.0 / ((1 - gamma) * S * A))

        def run() -> Any:
            return minimize(lambda x: -(r @ x) + lam / 2 * (x @ x), x0,
                            jac=lambda x: -r + lam * x, method="SLSQP",
                            bounds=[(0, None)] * (S * A),
                            constraints=[{"type": "eq", "fun": lambda x: dense @ x - env.initial,
                                          "jac": lambda x: dense}],
                            options={"ftol": tol, "maxiter": 1000})

        t, res = timed(run)
        return {"time": t, "value": float(-res.fun),
                "solver": "scipy SLSQP (cvxpy not installed)"}


def fomr_row(n_states: int, seed: int, limit: float, tol: float) -> Result:
    """Each side first solves a 5-state instance untimed (one-time imports and solver
    set-up), then the ``n_states`` one timed, in its own child process."""
    from objspec.formalisms import OccupancyMeasureFunction

    def solve(n: int) -> tuple[float, Any]:
        env, reward, gamma, lam = fomr_problem(n, seed)
        r = reward.ravel()

        def f(m: Any) -> float:  # m: the sparse (S*A, S) measure; x(s, a) = sum_s' m(s, a, s')
            x = np.asarray(m.sum(axis=1), dtype=float).ravel()
            return float(r @ x - lam / 2 * (x @ x))

        def gradient(m: Any) -> np.ndarray:  # d f / d m(s, a, s') = R(s, a) - lam x(s, a)
            x = np.asarray(m.sum(axis=1), dtype=float).ravel()
            return np.broadcast_to((r - lam * x)[:, None], m.shape)

        return timed(lambda: OccupancyMeasureFunction(
            f, gamma, concave=True, gradient=gradient, sparse=True).optimise(
            env, seed=seed, time_limit=limit))

    def ours() -> Result:
        solve(5)
        t, opt = solve(n_states)
        return {"time": t, "value": float(opt.value), "guarantee": opt.guarantee,
                "method": opt.method, "bound": float(opt.bound)}

    def reference() -> Result:
        fomr_reference(*fomr_problem(5, seed), tol)
        return fomr_reference(*fomr_problem(n_states, seed), tol)

    ref = guarded(reference, limit * 2 + 30)
    return {"name": f"concave FOMR vs QP solver ({n_states} states)",
            "method": method_of("FOMR"), "ours": guarded(ours, limit * 2 + 30),
            "ref": ref, "ref_name": ref.get("solver", "cvxpy / SLSQP")}


def soft_value_iteration(env: FiniteMDP, reward: np.ndarray, alpha: float, gamma: float,
                         tol: float) -> tuple[float, int]:
    """Plain iteration of the soft Bellman operator; the value from the initial
    distribution and the number of sweeps."""
    S, A = env.n_states, env.n_actions
    tau = sp.csr_matrix(env.transition_matrix)
    V = np.zeros(S)
    sweeps = 0
    while True:
        sweeps += 1
        Q = reward + gamma * (tau @ V).reshape(S, A)
        top = Q.max(axis=1)
        new = top + alpha * np.log(np.exp((Q - top[:, None]) / alpha).sum(axis=1))
        gap = float(np.abs(new - V).max())
        V = new
        if gamma * gap / (1 - gamma) <= tol:
            return float(env.initial @ V), sweeps


def rrl_row(n_states: int, seed: int, limit: float, tol: float) -> Result:
    from objspec.formalisms import RegularisedRL
    from objspec.formalisms.regularisers import negative_entropy

    env = random_mdp(n_states, 2, 3, seed=seed, sparse=True)
    reward = np.random.default_rng(seed).random((n_states, 2))
    alpha, gamma = 0.1, 0.9

    def ours() -> Result:
        spec = RegularisedRL(reward, negative_entropy, alpha, gamma)
        t, opt = timed(lambda: spec.optimise(env, seed=seed, time_limit=limit))
        return {"time": t, "value": float(opt.value), "guarantee": opt.guarantee,
                "method": opt.method}

    def plain() -> Result:
        t, (v, sweeps) = timed(lambda: soft_value_iteration(env, reward, alpha, gamma, tol))
        return {"time": t, "value": v, "sweeps": sweeps}

    return {"name": f"soft VI (RRL, entropy) vs plain iteration ({n_states} states)",
            "method": method_of("RRL"), "ours": guarded(ours, limit * 2 + 30),
            "ref": guarded(plain, limit * 2 + 30), "ref_name": "plain soft iteration"}


# ------------------------------------------------------------------ report


def cell(r: Result, key: str, fmt: str) -> str:
    return format(r[key], fmt) if key in r else r.get("error", "-")


def report(rows: list[Result]) -> None:
    print(f"# bench_optimise on {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}")
    head = ("comparison", "objspec s", "reference s", "ratio", "|value diff|",
            "guarantee", "objspec method", "reference")
    print(" | ".join(head))
    for row in rows:
        ours, ref = row["ours"], row["ref"]
        ratio = (f"{ref['time'] / ours['time']:.2f}x" if "time" in ours and "time" in ref
                 and ours["time"] > 0 else "-")
        diff = (f"{abs(ours['value'] - ref['value']):.2e}" if "value" in ours
                and "value" in ref else "-")
        ref_name = row["ref_name"] + (f" (build {ref['build']:.3g} s)" if "build" in ref
                                      else "")
        print(" | ".join([row["name"], cell(ours, "time", ".3g"), cell(ref, "time", ".3g"),
                          ratio, diff, str(ours.get("guarantee", ours.get("error", "-"))),
                          ours.get("method", row["method"]), ref_name]))
    for row in rows:
        ours, ref = row["ours"], row["ref"]
        if "first" in ours and "first" in ref:
            print(f"{row['name']}: first calls in the child process: objspec "
                  f"{ours['first']:.3g} s, reference {ref['first']:.3g} s")
    print("ratio = reference time / objspec time (> 1: objspec faster); Storm's model "
          "building is excluded from its time.")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small models (200 / 30 states) and a 20 s limit per run")
    parser.add_argument("--states", type=int, default=None,
                        help="states of the LAR, LTL and RRL models (default 2000)")
    parser.add_argument("--fomr-states", default=None,
                        help="comma-separated sizes of the FOMR models, one row each "
                             "(default 2000)")
    parser.add_argument("--fomr-tol", type=float, default=1e-6,
                        help="gap tolerance of the FOMR reference solver (objspec stops on "
                             "a certified gap of 1e-6)")
    parser.add_argument("--row-limit", type=float, default=None,
                        help="time limit of each run, seconds (default 120)")
    parser.add_argument("--formula", default="G F p & F G !q")
    parser.add_argument("--tol", type=float, default=1e-8,
                        help="precision asked of the reference solvers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", default="lar,ltl,fomr,rrl",
                        help="comma-separated subset of lar, ltl, fomr, rrl")
    args = parser.parse_args(argv)
    states = args.states or (200 if args.quick else 2000)
    fomr_states = [int(n) for n in (args.fomr_states or ("30" if args.quick else "2000"))
                   .split(",") if n.strip()]
    limit = args.row_limit or (20.0 if args.quick else 120.0)
    makers: dict[str, Callable[[], list[Result]]] = {
        "lar": lambda: [lar_row(states, args.seed, limit, args.tol)],
        "ltl": lambda: [ltl_row(states, args.seed, args.formula, limit, args.tol)],
        "fomr": lambda: [fomr_row(n, args.seed, limit, args.fomr_tol) for n in fomr_states],
        "rrl": lambda: [rrl_row(states, args.seed, limit, args.tol)],
    }
    wanted = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in wanted if r not in makers]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {', '.join(makers)}")
    report([row for r in wanted for row in makers[r]()])


if __name__ == "__main__":
    main()
