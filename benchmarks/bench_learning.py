"""Benchmark of learning a Markov reward from comparisons (objspec.learning.fit) against the
same linear programme written in cvxpy, and of impossibility-certificate extraction.

Run as ``python benchmarks/bench_learning.py`` (``--quick`` for a smaller model,
``--clarabel`` to include cvxpy's default solver, which takes minutes). Not a test.

**Fit.** A random sparse MDP (:func:`objspec.environments.random_mdp`: 2,000 states, 2
actions, 5 successors per state-action pair, uniform start), discount 0.9, 100 random
stochastic policies and 1,000 comparisons between random pairs of them, each ordered by a
hidden random normal reward (so the data is explainable). objspec: ``fit("MR", env, data,
gamma=0.9)`` end to end (occupancy measures, the max-margin LP, the fitted reward) and the
LP alone (:func:`objspec.formalisms.fitting.max_margin` on the same occupancy features).
cvxpy: the max-margin LP as a user writes it, ``maximise t s.t. D c >= t, -1 <= c <= 1,
t <= 1`` with ``D`` the differences of the occupancy features (the same matrix objspec's
LP is built from; computing it is not timed for cvxpy), solved by HiGHS and, with
``--clarabel``, by Clarabel (cvxpy's default). Every time is the best of ``--repeat``
runs (timings on a loaded machine vary by 2x). The margins must agree to 1e-8.

**Certificates.** Random MDPs with rational transition probabilities (3 successors with
small integer weights), 20 deterministic policies plus one whose occupancy measure is the
average of the first two policies' (exactly), and 100 comparisons: the first two policies
strictly better than their average (impossible for any Markov reward: values are linear
in the occupancy measure), the rest ordered by a hidden reward. Timed: ``fit`` from the
call to the :class:`~objspec.errors.NotExpressibleError` carrying the verified certificate
(LP, exact features of the compared policies, Motzkin multipliers, minimal infeasible
subset), and ``certificate.check()`` alone. Exact rational arithmetic limits this to small
environments.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from objspec import FiniteMDP, Policy
from objspec.environments import random_mdp
from objspec.environments.generators import random_policies
from objspec.errors import NotExpressibleError
from objspec.formalisms._fit_linear import occupancy_feature_map, occupancy_features
from objspec.formalisms.fitting import max_margin
from objspec.learning import Comparisons, fit

GAMMA = 0.9


def best_of(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    """The smallest wall time of ``repeat`` runs, and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - t0)
    return best, out


def comparisons(features: np.ndarray, n: int, m: int, rng: np.random.Generator,
                forced: list[tuple[int, int, str]] = ()) -> list[tuple[int, int, str]]:
    """``m`` comparisons between random pairs of the first ``n`` items, ordered by a hidden
    normal reward (pairs whose values are within 1e-9 are skipped)."""
    values = features @ rng.normal(size=features.shape[1])
    pairs = list(forced)
    while len(pairs) < m:
        i, j = (int(x) for x in rng.integers(n, size=2))
        if i != j and abs(values[i] - values[j]) > 1e-9:
            pairs.append((i, j, ">" if values[i] > values[j] else "<"))
    return pairs


def cvxpy_margin(features: np.ndarray, data: Comparisons, solver: str) -> float:
    import cvxpy as cp

    strict = np.array(data.strict)
    d = features[strict[:, 0]] - features[strict[:, 1]]
    c = cp.Variable(features.shape[1])
    t = cp.Variable()
    problem = cp.Problem(cp.Maximize(t), [d @ c >= t, c <= 1, c >= -1, t <= 1])
    problem.solve(solver=solver)
    if problem.status != "optimal":
        raise RuntimeError(f"cvxpy/{solver}: {problem.status}")
    return float(t.value)


def bench_fit(n_states: int, n_comparisons: int, repeat: int, clarabel: bool) -> None:
    env = random_mdp(n_states, 2, 5, seed=0)
    policies = list(random_policies(env, 100, seed=1))
    features = occupancy_features(env, policies, GAMMA)
    data = Comparisons(policies=policies, pairs=comparisons(
        features, 100, n_comparisons, np.random.default_rng(2)))
    t_fit, result = best_of(repeat, lambda: fit("MR", env, data, gamma=GAMMA))
    t_lp, lp = best_of(repeat, lambda: max_margin(features, data))
    rows = [("objspec fit (occupancy + LP + reward)", t_fit, float(result.margin)),
            ("objspec max-margin LP", t_lp, float(lp.margin))]
    solvers = ["HIGHS"] + (["CLARABEL"] if clarabel else [])
    for solver in solvers:
        t, margin = best_of(1 if solver == "CLARABEL" else repeat,
                            lambda s=solver: cvxpy_margin(features, data, s))
        rows.append((f"cvxpy + {solver.capitalize()}", t, margin))
    print(f"\nMR from {n_comparisons} comparisons of 100 policies, {n_states}-state random "
          f"MDP (2 actions, 5 successors), gamma {GAMMA}; best of {repeat}\n")
    print("| method | time [s] | margin | margin - objspec's | time / objspec LP |")
    print("|---|---:|---:|---:|---:|")
    ref = float(lp.margin)
    for name, t, margin in rows:
        print(f"| {name} | {t:.2f} | {margin:.12f} | {margin - ref:.1e} | "
              f"{t / t_lp:.1f}x |")


def rational_mdp(n_states: int, n_actions: int, k: int, seed: int) -> FiniteMDP:
    """A random MDP with rational probabilities: ``k`` successors, weights 1..9."""
    rng = np.random.default_rng(seed)
    P = np.full((n_states, n_actions, n_states), Fraction(0), dtype=object)
    for s in range(n_states):
        for a in range(n_actions):
            succ = rng.choice(n_states, size=k, replace=False)
            w = rng.integers(1, 10, size=k)
            for t, x in zip(succ, w, strict=True):
                P[s, a, t] = Fraction(int(x), int(w.sum()))
    return FiniteMDP(P, np.array([Fraction(1, n_states)] * n_states, dtype=object))


def bench_certificate(n_states: int, repeat: int) -> tuple[float, float, int]:
    A, gamma = 2, Fraction(9, 10)
    env = rational_mdp(n_states, A, 3, 0)
    rng = np.random.default_rng(1)
    policies = [Policy.deterministic(rng.integers(A, size=n_states), A) for _ in range(20)]
    m = occupancy_feature_map(gamma).compute(env, policies[:2])
    mix = np.empty((n_states, A), dtype=object)
    for s in range(n_states):
        row = [(m[0][s * A + a] + m[1][s * A + a]) / 2 for a in range(A)]
        for a in range(A):
            mix[s, a] = row[a] / sum(row)
    policies.append(Policy(mix))
    k = len(policies) - 1
    features = occupancy_features(env, policies, float(gamma))
    data = Comparisons(policies=policies, pairs=comparisons(
        features, 20, 100, rng, [(0, k, ">"), (1, k, ">")]))

    def certificate() -> Any:
        try:
            fit("MR", env, data, gamma=gamma)
        except NotExpressibleError as exc:
            return exc.certificate
        raise RuntimeError("the instance was explained: no certificate")

    t_cert, cert = best_of(repeat, certificate)
    t_check, _ = best_of(repeat, cert.check)
    return t_cert, t_check, len(cert.comparisons)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="300 states and 200 comparisons; certificates up to 20 states")
    parser.add_argument("--clarabel", action="store_true",
                        help="also solve with cvxpy + Clarabel (minutes)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best kept)")
    args = parser.parse_args()
    if args.quick:
        bench_fit(300, 200, args.repeat, args.clarabel)
    else:
        bench_fit(2000, 1000, args.repeat, args.clarabel)
    print("\nImpossibility certificates (MR, 21 policies, 100 comparisons, rational MDPs)\n")
    print("| states | fit -> verified certificate [s] | certificate.check() [s] | "
          "comparisons in the certificate |")
    print("|---:|---:|---:|---:|")
    for n in ((10, 20) if args.quick else (10, 30, 60)):
        t_cert, t_check, size = bench_certificate(n, 1 if n > 30 else args.repeat)
        print(f"| {n} | {t_cert:.2f} | {t_check:.2f} | {size} |")


if __name__ == "__main__":
    main()
