"""Benchmark of exact Pareto fronts (objspec.pareto.front) against a weighted-sum sweep with
mdpsolver.

Run as ``python benchmarks/bench_pareto.py`` (``--quick`` for smaller models, ``--k 2`` or
``--k 3`` for one table). Not a test. The machine may be shared: compare the rows of one
run (ratios), not times across runs.

Model: a random MDP (``random_mdp(S, 4, 5, seed=0)``: 2,000 states, 4 actions, 5
successors per state-action pair), discount 0.95, and k independent normal rewards on
``(s, a)``.

The peer is what a MORL user does without objspec: solve the weighted sums for a sweep of
evenly spaced weights with mdpsolver (one solve per weight) and evaluate the policies
found for each objective. The sweeps are nested (each level adds the midpoints), so a
level's time is the cumulative time of all its solves.

k = 2: objspec computes the exact front (dichotomic search, breadth first, each weighted
sum by policy iteration warm-started from the neighbouring vertex). Each sweep level
(3, 5, 9, ... up to 1,025 weights) gives its time and relative hypervolume gap to the
exact front (reference point: the componentwise minimum of the points, minus 1), and the
time at which objspec's search had reached that hypervolume (from ``found_at``).

k = 3: random rewards give far more than 10,000 vertices at 2,000 states, so objspec runs
in anytime mode (``time_limit`` = the sweep's time, 561 weights). The table gives each
method's points, point hypervolume and the certified relative gap of the convex
hypervolume to the achievable set's (from objspec's outer approximation, which bounds the
sweep's gap as well), and the time at which objspec reached the sweep's hypervolume.

Storm (``--storm``, needs stormpy): Storm's multi-objective Pareto query
``multi(R{"r0"}max=? [C], R{"r1"}max=? [C])`` (expected total rewards; method PCAA, its
default absolute precision 1e-4) on the undiscounted total-reward variant of the same
MDP (:func:`total_reward_variant`: every step moves to an absorbing zero-reward sink with
probability ``1 - gamma``, so the total rewards there are the discounted values here and
the two fronts are the same set). The model goes to Storm through objspec's own DRN
export (:func:`objspec.environments.formats.to_drn`, one reward model per objective).
Storm's PCAA is far slower than the exact front here, so this runs on small models only
(the generator and rewards above, with k = 2 and 20 or 50 states, k = 3 and 5 states);
the table gives Storm's time (DRN export and model building excluded) and the relative
hypervolume gap of its under-approximation (the value vectors of the schedulers it
found) to the exact front.
Run as ``python benchmarks/bench_pareto.py --storm``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from objspec import FiniteMDP
from objspec.environments import random_mdp
from objspec.pareto import _hypervolume, front, pareto_filter, value_vectors

GAMMA = 0.95


def total_reward_variant(env: FiniteMDP, rewards: np.ndarray,
                         gamma: float) -> tuple[FiniteMDP, np.ndarray]:
    """The total-reward model whose total rewards are ``env``'s discounted values.

    States ``0..S-1`` are ``env``'s; state ``S`` is an absorbing sink with zero reward;
    state ``S + 1`` is the single initial state (Storm's multi-objective queries start in
    one state), which moves to ``env.initial`` with probability one and reward zero. Every
    enabled action of ``env`` keeps its successor distribution scaled by ``gamma`` and
    moves to the sink with probability ``1 - gamma``. Returns the model and ``[k, S + 2, A]``
    rewards (``rewards`` is ``[k, S, A]``)."""
    S, A = env.n_states, env.n_actions
    sink, start = S, S + 1
    coo = env.transition_matrix.tocoo()
    sa = np.flatnonzero(env.enabled.ravel())
    init = np.flatnonzero(env.initial)
    rows = np.concatenate([coo.row, sa, [sink * A], np.full(len(init), start * A)])
    cols = np.concatenate([coo.col, np.full(len(sa), sink), [sink], init])
    data = np.concatenate([gamma * coo.data, np.full(len(sa), 1.0 - gamma), [1.0],
                           env.initial[init]])
    M = sp.csr_matrix((data, (rows, cols)), shape=((S + 2) * A, S + 2))
    enabled = np.zeros((S + 2, A), dtype=bool)
    enabled[:S] = env.enabled
    enabled[S:, 0] = True
    R = np.zeros((len(rewards), S + 2, A))
    R[:, :S] = rewards
    return FiniteMDP(M, np.eye(S + 2)[start], enabled=enabled), R


def storm_pareto(env: FiniteMDP, rewards: np.ndarray, gamma: float,
                 precision: str = "1/10000") -> tuple[np.ndarray, Any, float]:
    """Storm's multi-objective Pareto query on :func:`total_reward_variant`: the vertices
    ``[n, k]`` of its under-approximation, the over-approximation (a stormpy polytope; its
    ``halfspaces`` have ``normal_vector`` and ``offset``) and the seconds Storm took (model
    building excluded). ``precision``: Storm's absolute multi-objective precision."""
    import stormpy

    from objspec.environments.formats import to_drn

    big, R = total_reward_variant(env, rewards, gamma)
    k = len(R)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.drn")
        with open(path, "w") as fh:
            fh.write(to_drn(big, rewards={f"r{i}": R[i] for i in range(k)},
                            include_labels=False))
        model = stormpy.build_model_from_drn(path)
    environment = stormpy.Environment()
    environment.modelchecker().multi().precision = stormpy.Rational(precision)
    query = "multi(" + ", ".join(f'R{{"r{i}"}}max=? [C]' for i in range(k)) + ")"
    t0 = time.perf_counter()
    result = stormpy.model_checking(model, stormpy.parse_properties(query)[0],
                                    environment=environment)
    seconds = time.perf_counter() - t0
    under = np.array(result.get_under_approximation().vertices, dtype=np.float64)
    return under.reshape(-1, k), result.get_over_approximation(), seconds


def slack(points: np.ndarray, u: np.ndarray) -> float:
    """The largest ``t`` with ``u + t`` (in every objective) in the downward closure of the
    convex hull of ``points``: ``>= 0`` iff ``u`` is on or below their front; ``-t`` is
    how far ``u`` sticks out."""
    from scipy.optimize import linprog

    n, k = points.shape
    c = np.zeros(n + 1)
    c[-1] = -1.0
    A_ub = np.hstack([-points.T, np.ones((k, 1))])  # u + t <= lambda @ points
    res = linprog(c, A_ub=A_ub, b_ub=-u, A_eq=[[1.0] * n + [0.0]], b_eq=[1.0],
                  bounds=[(0, None)] * n + [(None, None)], method="highs")
    if res.status != 0:
        raise RuntimeError(f"slack LP failed: {res.message}")
    return float(-res.fun)


def hull_vertices(points: np.ndarray, tol: float) -> np.ndarray:
    """The points that are vertices of the downward closure of their convex hull (Storm's
    under-approximation also lists points inside facets, which would inflate a
    hypervolume of points)."""
    keep = [i for i in range(len(points))
            if len(points) == 1 or slack(np.delete(points, i, axis=0), points[i]) < -tol]
    return points[keep]


def exact_row(k: int, S: int, A: int) -> tuple[Any, np.ndarray, Any, np.ndarray, float]:
    """The benchmark instance (seeded) and its exact front, timed and printed as a row:
    ``(env, rewards, front, reference point, hypervolume)``."""
    env = random_mdp(S, A, 5, seed=0)
    R = np.random.default_rng(k).normal(size=(k, S, A))
    t0 = time.perf_counter()
    f = front(env, R, GAMMA)
    t_exact = time.perf_counter() - t0
    ref = f.points.min(axis=0) - 1.0
    hv = _hypervolume(f.points, ref)
    print(f"{k:>2} {S:>5} {'objspec exact front':<34} {t_exact:>9.2f} {len(f):>7} "
          f"{0.0:>9.1e}")
    return env, R, f, ref, hv


def storm_table() -> None:
    """objspec's exact front against Storm's Pareto query on total-reward variants."""
    A = 4
    print(f"total-reward variants of random MDPs: {A} actions, 5 successors, gamma {GAMMA}")
    print(f"{'k':>2} {'S':>5} {'method':<34} {'time [s]':>9} {'points':>7} {'HV gap':>9}")
    for k, S in ((2, 20), (2, 50), (3, 5)):
        env, R, f, ref, hv = exact_row(k, S, A)
        under, _, t_storm = storm_pareto(env, R, GAMMA)
        scale = float(np.abs(R).max()) / (1 - GAMMA)
        pts = hull_vertices(under[pareto_filter(under, 1e-9)], 1e-7 * scale)
        gap = (hv - _hypervolume(pts[np.all(pts > ref, axis=1)], ref)) / hv
        print(f"{k:>2} {S:>5} {'Storm Pareto query (PCAA, 1e-4)':<34} {t_storm:>9.2f} "
              f"{len(pts):>7} {gap:>9.1e}")
        out = max(-slack(under, p) for p in f.points)
        print(f"   largest distance (max norm) of an exact vertex below Storm's "
              f"under-approximation: {out:.1e}")


def _nested_weights(k: int, level: int) -> np.ndarray:
    """Evenly spaced weights on the simplex, nested across levels: ``2**level + 1`` for
    ``k = 2``, the grid of step ``1 / 2**level`` for ``k = 3``."""
    m = 2**level
    if k == 2:
        t = np.linspace(0, 1, m + 1)
        return np.stack([t, 1 - t], axis=1)
    return np.array([(i / m, j / m, (m - i - j) / m)
                     for i, j in itertools.product(range(m + 1), repeat=2) if i + j <= m])


class Sweep:
    """The peer: weighted sums solved by mdpsolver, one solve per weight; the weights of
    a level include the previous level's, so a level costs only its new solves and the
    time of a level is the cumulative time of all solves so far."""

    def __init__(self, env: FiniteMDP, R: np.ndarray) -> None:
        self.env, self.R = env, R
        S, A = env.n_states, env.n_actions
        P = env.transition_matrix.tocsr()
        self.probs = [[P[s * A + a].data.tolist() for a in range(A)] for s in range(S)]
        self.cols = [[P[s * A + a].indices.tolist() for a in range(A)] for s in range(S)]
        self.done: dict[tuple[float, ...], np.ndarray] = {}
        self.seconds = 0.0

    def level(self, level: int) -> np.ndarray:
        """Solve the level's new weights; the Pareto-optimal value vectors found so far."""
        import mdpsolver

        A = self.env.n_actions
        k = len(self.R)
        t0 = time.perf_counter()
        new = []
        for w in _nested_weights(k, level):
            key = tuple(np.round(w, 12))
            if key in self.done:
                continue
            model = mdpsolver.model()
            model.mdp(discount=GAMMA, rewards=np.tensordot(w, self.R, axes=1).tolist(),
                      tranMatProbs=self.probs, tranMatColumns=self.cols)
            model.solve(tolerance=1e-8, verbose=False, parallel=False)
            self.done[key] = np.array(model.getPolicy(), dtype=np.int64)
            new.append(key)
        if new:
            pols = np.eye(A)[np.stack([self.done[key] for key in new])]
            vals = value_vectors(self.env, pols, self.R, GAMMA)
            for key, v in zip(new, vals, strict=True):
                self.done[key] = np.concatenate([self.done[key], v])  # policy, then value
        self.seconds += time.perf_counter() - t0
        S = self.env.n_states
        vals = np.array([x[S:] for x in self.done.values()])
        return vals[pareto_filter(vals, 1e-9)]


def time_to_reach(f: Any, target: float, ref: np.ndarray) -> float | None:
    """The first time (``f.found_at``) at which the points found so far reach the point
    hypervolume ``target`` (binary search over the discovery order; points dropped by
    the final Pareto filter are not counted, so this is an upper bound), or None."""
    order = np.argsort(f.found_at)
    pts, times = f.points[order], f.found_at[order]

    def hv(n: int) -> float:
        q = pts[:n]
        return _hypervolume(q[np.all(q > ref, axis=1)], ref)

    if hv(len(pts)) < target:
        return None
    lo, hi = 1, len(pts)
    while lo < hi:
        mid = (lo + hi) // 2
        if hv(mid) >= target:
            hi = mid
        else:
            lo = mid + 1
    return float(times[lo - 1])


def _row(k: int, S: int, method: str, seconds: float, points: int, *rest: str) -> None:
    print(f"| {k} | {S:,} | {method} | {seconds:.1f} | {points:,} | " + " | ".join(rest) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 and 50 states, not 2,000")
    parser.add_argument("--storm", action="store_true",
                        help="only the comparison with Storm's Pareto query (small models)")
    parser.add_argument("--k", type=int, choices=(2, 3), action="append",
                        help="only this number of objectives (repeatable)")
    args = parser.parse_args()
    if args.storm:
        storm_table()
        return
    import mdpsolver  # noqa: F401  (the peer; fail early if it is missing)

    A = 4
    print(f"random MDPs: {A} actions, 5 successors, gamma {GAMMA}")
    if 2 in (args.k or (2, 3)):
        S = 300 if args.quick else 2000
        env = random_mdp(S, A, 5, seed=0)
        R = np.random.default_rng(2).normal(size=(2, S, A))
        t0 = time.perf_counter()
        f = front(env, R, GAMMA)
        t_exact = time.perf_counter() - t0
        ref = f.points.min(axis=0) - 1.0
        hv = _hypervolume(f.points, ref)
        print("| k | states | method | time [s] | points | hypervolume gap to the exact front |")
        print("|---:|---:|---|---:|---:|---:|")
        _row(2, S, "objspec exact front (dichotomic, warm-started)", t_exact, len(f), "0")
        sweep = Sweep(env, R)
        level, gap = 1, 1.0
        while gap > 1e-6 and level <= (10 if not args.quick else 12):  # up to 1,025 or 4,097
            pts = sweep.level(level)
            gap = (hv - _hypervolume(pts[np.all(pts > ref, axis=1)], ref)) / hv
            _row(2, S, f"mdpsolver sweep, {len(sweep.done):,} weights", sweep.seconds,
                 len(pts), f"{gap:.1e}")
            t_reach = time_to_reach(f, hv * (1 - gap), ref)
            print(f"   objspec's search reached this sweep's hypervolume after "
                  f"{t_reach:.1f} s" if t_reach is not None else "   (not reached)")
            level += 1
    if 3 in (args.k or (2, 3)):
        S = 50 if args.quick else 2000
        env = random_mdp(S, A, 5, seed=0)
        R = np.random.default_rng(3).normal(size=(3, S, A))
        sweep = Sweep(env, R)
        for level in range(1, 6):  # up to 561 weights
            pts = sweep.level(level)
        t0 = time.perf_counter()
        f = front(env, R, GAMMA, time_limit=sweep.seconds)
        t_any = time.perf_counter() - t0
        ref = np.minimum(f.points.min(axis=0), pts.min(axis=0)) - 1.0
        lo, hi = f.hypervolume_bounds(ref)
        hv_sweep = _hypervolume(pts, ref)
        from objspec.pareto import _convex_volume

        print("| k | states | method | time [s] | points | point hypervolume | certified "
              "hypervolume gap (convex) |")
        print("|---:|---:|---|---:|---:|---:|---:|")
        _row(3, S, f"mdpsolver sweep, {len(sweep.done):,} weights", sweep.seconds, len(pts),
             f"{hv_sweep:.6g}", f"{(hi - _convex_volume(pts, ref)) / hi:.1e}")
        what = "complete" if f.complete else "anytime, stopped at the sweep's time"
        _row(3, S, f"objspec front ({what})", t_any, len(f), f"{f.hypervolume(ref):.6g}",
             f"{(hi - lo) / hi:.1e}")
        t_reach = time_to_reach(f, hv_sweep, ref)
        print("   objspec reached the sweep's point hypervolume after "
              + (f"{t_reach:.1f} s" if t_reach is not None else "(not reached)"))


if __name__ == "__main__":
    main()
