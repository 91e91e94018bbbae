"""Benchmark of exact Pareto fronts (objspec.pareto.front) against a weighted-sum sweep with
mdpsolver.

Run as ``python benchmarks/bench_pareto.py`` (``--quick`` for a smaller model). Not a test.

Model: a random MDP with 2,000 states (k = 2) or 50 states (k = 3: random rewards give
about a thousand vertices there already), 4 actions, 5 successors per state-action pair,
discount 0.95, and k independent normal rewards on ``(s, a)``.

objspec computes the exact front (optimistic linear support, lexicographic tie-breaking).
The peer is what a MORL user does without it: solve the weighted sums for a sweep of
weights with mdpsolver (one solve per weight, evenly spaced weights on the simplex,
doubled until its front's hypervolume is within 1e-6 relative of the exact one, or 4,096
weights), then evaluate the policies found for each objective. The table gives each
method's time and the relative hypervolume gap to the exact front (reference point: the
componentwise minimum of the points, minus 1).

Storm's multi-objective Pareto query (on an undiscounted total-reward variant) is not in
this run: building a Storm model with several reward models from Python was not done.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from objspec.environments import random_mdp
from objspec.pareto import _hypervolume, front, pareto_filter, value_vectors

GAMMA = 0.95


def _weights(k: int, n: int) -> np.ndarray:
    """About ``n`` evenly spaced weight vectors on the simplex."""
    if k == 2:
        t = np.linspace(0, 1, n)
        return np.stack([t, 1 - t], axis=1)
    m = max(2, int(round(np.sqrt(2 * n))))
    out = [(i / m, j / m, (m - i - j) / m) for i, j in itertools.product(range(m + 1), repeat=2)
           if i + j <= m]
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 states instead of 2,000")
    args = parser.parse_args()
    A = 4
    print(f"random MDPs: {A} actions, 5 successors, gamma {GAMMA}")
    print(f"{'k':>2} {'S':>5} {'method':<34} {'time [s]':>9} {'points':>7} {'HV gap':>9}")
    for k in (2, 3):
        S = (300 if args.quick else 2000) if k == 2 else (20 if args.quick else 50)
        env = random_mdp(S, A, 5, seed=0)
        R = np.random.default_rng(k).normal(size=(k, S, A))
        t0 = time.perf_counter()
        f = front(env, R, GAMMA)
        t_exact = time.perf_counter() - t0
        ref = f.points.min(axis=0) - 1.0
        hv = _hypervolume(f.points, ref)
        print(f"{k:>2} {S:>5} {'objspec exact front':<34} {t_exact:>9.2f} {len(f):>7} "
              f"{0.0:>9.1e}")
        try:
            import mdpsolver
        except ImportError:
            print("   mdpsolver not installed: no sweep")
            continue
        P = env.transition_matrix
        probs = [[P[s * A + a].data.tolist() for a in range(A)] for s in range(S)]
        cols = [[P[s * A + a].indices.tolist() for a in range(A)] for s in range(S)]
        n, t_sweep, gap, pts = 4, 0.0, 1.0, np.empty((0, k))
        while gap > 1e-6 and n <= 4096:
            t0 = time.perf_counter()
            pols = []
            for w in _weights(k, n):
                model = mdpsolver.model()
                model.mdp(discount=GAMMA, rewards=np.tensordot(w, R, axes=1).tolist(),
                          tranMatProbs=probs, tranMatColumns=cols)
                model.solve(tolerance=1e-8, verbose=False, parallel=False)
                pols.append(np.eye(A)[np.array(model.getPolicy(), dtype=np.int64)])
            vals = value_vectors(env, np.stack(pols), R, GAMMA)
            pts = vals[pareto_filter(vals, 1e-9)]
            t_sweep = time.perf_counter() - t0
            gap = (hv - _hypervolume(pts[np.all(pts > ref, axis=1)], ref)) / hv
            n *= 2
        label = f"mdpsolver sweep ({n // 2} weights)"
        print(f"{k:>2} {S:>5} {label:<34} {t_sweep:>9.2f} {len(pts):>7} {gap:>9.1e}")


if __name__ == "__main__":
    main()
