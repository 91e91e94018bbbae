"""Exact Pareto fronts and convex coverage sets of multi-objective discounted MDPs.

For ``k`` rewards ``R_1..R_k`` and discount ``gamma``, a stationary policy ``pi`` has the
value vector ``J(pi) = (E_pi[sum_t gamma^t R_i(x_t)])_i``. Over stationary (stochastic)
policies these vectors form a convex polytope, the linear image of the occupancy-measure
polytope, whose vertices are attained by deterministic stationary policies
(docs/theory.md#def-omorl; Puterman 1994, §6.9). :func:`front` computes

* ``policies="stationary"``: the Pareto-optimal vertices of that polytope, each with a
  deterministic policy attaining it, and the Pareto facets, each with its weight vector: by
  *optimistic linear support* (Roijers, Whiteson and Oliehoek 2015), i.e. weighted sums at
  the corner weights of the current upper envelope, which for ``k = 2`` is the dichotomic
  (Aneja-Nair) search. Each weighted problem is solved by :func:`objspec.mdp.optimal_values`
  and broken lexicographically (the weighted optimum, then the sum of all objectives among
  the weighted-optimal actions), so every vertex found is Pareto-optimal (the unit
  weights; the others by policy iteration warm-started from a neighbouring vertex's
  policy, :class:`_WarmOracle`). With
  ``exact=True`` every vertex is evaluated in rationals and every facet is verified in
  rationals (its weight's Bellman optimality inequalities hold exactly for its vertices'
  policies; a failed check is repaired by exact policy iteration);
* ``policies="deterministic"``: the front over deterministic stationary policies (in
  general not convex): by enumeration when there are few of them, on acyclic
  environments (apart from self-loops) exactly by Pareto dynamic programming over
  consistent partial policies (:func:`_acyclic_front`), and on deterministic
  environments (one successor per action: a deterministic stationary policy follows one
  lasso) by a branch-and-bound search over lassos with optimistic bounds; otherwise a
  :class:`~objspec.errors.NotTractableError` with the count.

With ``max_vertices=`` or ``time_limit=`` the stationary search is *anytime*: stopped
early it returns the vertices found so far with ``complete=False`` (never claimed to be the
front) and a certified hypervolume gap (:meth:`ParetoFront.hypervolume_bounds`, from the
upper bound every weighted sum certifies).

The :class:`ParetoFront` has ``points``, ``policies``, ``weights`` (the facets'), the
convex coverage set (:meth:`ParetoFront.ccs`), :meth:`ParetoFront.best_for`,
:meth:`ParetoFront.hypervolume`, :meth:`ParetoFront.plot`, a Jupyter repr and exports
(:meth:`ParetoFront.to_csv`, :meth:`ParetoFront.to_mo_gymnasium`).

Examples
--------
Two objectives on a 2-state environment: stay in ``s0`` (objective 1) or go to ``s1`` and
stay (objective 2).

>>> import numpy as np
>>> from objspec import FiniteMDP
>>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
>>> R = np.zeros((2, 2, 2)); R[0, 0, 0] = 1.0; R[1, 1, 1] = 1.0
>>> f = front(FiniteMDP(P, [1.0, 0.0]), R, 0.5)
>>> f.points.round(6).tolist()
[[2.0, 0.0], [0.0, 1.0]]
>>> f.best_for([0.2, 0.8]).probabilities.tolist()
[[0.0, 1.0], [0.0, 1.0]]
"""

from __future__ import annotations

import csv
import itertools
import math
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from objspec.errors import InvalidSpecificationError, NotTractableError
from objspec.mdp.arrays import real_array
from objspec.mdp.control import optimal_values
from objspec.mdp.evaluation import expected_return
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy

__all__ = ["ParetoFront", "Facet", "front", "front_of", "value_vectors", "pareto_filter",
           "DETERMINISTIC_LIMIT", "ACYCLIC_LABEL_LIMIT"]

#: Most deterministic policies :func:`front` enumerates for ``policies="deterministic"``.
DETERMINISTIC_LIMIT = 200_000
#: Most search nodes of the lasso search on deterministic environments.
LASSO_NODE_LIMIT = 2_000_000
#: Most labels the Pareto dynamic programme on acyclic environments forms.
ACYCLIC_LABEL_LIMIT = 2_000_000


@dataclass(frozen=True)
class Facet:
    """A Pareto facet: the points of ``vertices`` (indices into the front's points) all
    maximise ``weights . J``; their convex hull is on the front."""

    weights: np.ndarray
    vertices: tuple[int, ...]


@dataclass
class ParetoFront:
    """A Pareto front of value vectors with the policies that attain them.

    Attributes
    ----------
    points : ndarray ``[n, k]``
        Pareto-optimal value vectors (floats; see ``exact_points``), sorted
        lexicographically from the best in objective 1.
    policies : list of Policy
        ``policies[i]`` attains ``points[i]`` (deterministic stationary policies).
    facets : list of Facet
        For ``policies="stationary"``: the front's facets with their weight vectors (for
        ``k = 1`` one degenerate facet); empty for deterministic fronts.
    kind : {"stationary", "deterministic"}
    gamma : float
    exact_points : list of tuple of Fraction or None
        The points in rational arithmetic (``exact=True``).
    complete : bool
        False for an anytime result (:func:`front` with ``max_vertices`` or ``time_limit``
        that stopped early): the points are Pareto-optimal vertices of the front, but not
        all of them, and the facets are only those certified so far. Such a result is an
        inner approximation, never the front; :meth:`hypervolume_bounds` bounds what is
        missing.
    outer : list of (ndarray, float)
        Stationary fronts: the weighted sums solved, as pairs ``(w, u)`` with ``w . x <= u``
        certified for every achievable value vector ``x`` (the outer approximation).
    found_at : ndarray or None
        Stationary fronts: seconds after the start of the search at which each point was
        found.
    """

    points: np.ndarray
    policies: list[Policy]
    facets: list[Facet] = field(default_factory=list)
    kind: Literal["stationary", "deterministic"] = "stationary"
    gamma: float = 0.0
    exact_points: list[tuple[Fraction, ...]] | None = None
    complete: bool = True
    outer: list[tuple[np.ndarray, float]] = field(default_factory=list)
    found_at: np.ndarray | None = None

    @property
    def k(self) -> int:
        """The number of objectives."""
        return int(self.points.shape[1])

    @property
    def weights(self) -> np.ndarray:
        """``[m, k]``: the weight vector of every facet."""
        if not self.facets:
            return np.empty((0, self.k))
        return np.stack([f.weights for f in self.facets])

    def __len__(self) -> int:
        return len(self.points)

    def ccs(self) -> ParetoFront:
        """The convex coverage set: the points optimal for some linear utility with
        non-negative weights (for a stationary front, its vertices; for a deterministic
        front, the points on its upper convex hull)."""
        if self.kind == "stationary":
            return self
        keep = [i for i in range(len(self.points)) if _supported(self.points, i)]
        return ParetoFront(self.points[keep], [self.policies[i] for i in keep], [], self.kind,
                           self.gamma,
                           None if self.exact_points is None else
                           [self.exact_points[i] for i in keep])

    def best_for(self, weights: Any) -> Policy:
        """The policy of the front that is optimal for the linear utility ``weights . J``
        (among stationary policies for a stationary front)."""
        w = real_array(weights, "weights", InvalidSpecificationError).ravel()
        if w.shape != (self.k,) or not np.all(np.isfinite(w)):
            raise InvalidSpecificationError(
                f"weights must be {self.k} finite numbers, got {np.asarray(weights).tolist()}")
        return self.policies[int(np.argmax(self.points @ w))]

    def hypervolume(self, reference: Any) -> float:
        """The volume dominated by the points and dominating ``reference`` (exact: for
        ``k <= 3`` by sweeping, else by inclusion-exclusion over at most 20 points)."""
        ref = real_array(reference, "reference", InvalidSpecificationError).ravel()
        if ref.shape != (self.k,):
            raise InvalidSpecificationError(f"reference must have {self.k} entries")
        pts = [p for p in self.points if np.all(p > ref)]
        return _hypervolume(np.array(pts).reshape(-1, self.k), ref)

    def hypervolume_bounds(self, reference: Any) -> tuple[float, float]:
        """Certified bounds ``(lower, upper)`` on the hypervolume above ``reference`` of the
        whole achievable set of value vectors (stationary policies: the downward closure
        of the front's convex hull). ``lower`` is the volume of the downward closure of
        the convex hull of :attr:`points` (achievable, as each point is attained by its
        policy); ``upper`` is the volume of the outer approximation ``{x >= reference :
        w . x <= u for every (w, u) in outer}``. For a complete front they agree up to
        rounding; for an anytime result ``upper - lower`` is a certified hypervolume gap.
        As every set of achievable points has a point hypervolume (:meth:`hypervolume`)
        at most the achievable set's, ``upper - self.hypervolume(reference)`` also bounds
        how much point hypervolume the exact front's vertices add. ``reference`` must lie
        strictly below every point.

        Examples
        --------
        >>> import numpy as np
        >>> from objspec import FiniteMDP
        >>> P = np.zeros((1, 3, 1)); P[0, :, 0] = 1.0
        >>> R = np.array([[[1.0, 0.0, 0.6]], [[0.0, 1.0, 0.6]]])
        >>> lo, hi = front(FiniteMDP(P, [1.0]), R, 0.5).hypervolume_bounds([-1, -1])
        >>> round(lo, 6), round(hi, 6)
        (7.4, 7.4)
        """
        ref = real_array(reference, "reference", InvalidSpecificationError).ravel()
        if ref.shape != (self.k,):
            raise InvalidSpecificationError(f"reference must have {self.k} entries")
        if self.kind != "stationary" or not self.outer:
            raise InvalidSpecificationError(
                "hypervolume_bounds needs a stationary front (its outer approximation)")
        if not np.all(self.points > ref):
            raise InvalidSpecificationError(
                "hypervolume_bounds: the reference must lie strictly below every point")
        return _convex_volume(self.points, ref), _outer_volume(self.outer, self.points, ref)

    def to_mo_gymnasium(self) -> list[np.ndarray]:
        """The points as MO-Gymnasium's ``pareto_front(gamma)`` returns them: a list of
        ``[k]`` float arrays."""
        return [np.array(p, dtype=np.float64) for p in self.points]

    def to_csv(self, path: str | Path) -> None:
        """Write one row per point: ``J_1..J_k`` and the policy's action per state."""
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            S = self.policies[0].probabilities.shape[0] if self.policies else 0
            w.writerow([f"J_{i + 1}" for i in range(self.k)] + [f"action_s{s}" for s in
                                                                 range(S)])
            for p, pol in zip(self.points, self.policies, strict=True):
                w.writerow([repr(float(x)) for x in p]
                           + [int(a) for a in pol.probabilities.argmax(axis=1)])

    def plot(self, ax: Any = None, *, marked: Sequence[Any] = (), **kwargs: Any) -> Any:
        """Draw the front (2-D or 3-D matplotlib; facets as segments or triangles) and the
        value vectors of ``marked`` points (e.g. policies being ranked). Returns the axes."""
        import matplotlib.pyplot as plt

        if self.k not in (2, 3):
            raise InvalidSpecificationError(f"plot draws 2 or 3 objectives, not {self.k}")
        if ax is None:
            fig = plt.figure()
            ax = fig.add_subplot(projection="3d" if self.k == 3 else None)
        pts = self.points
        if self.k == 2:
            order = np.argsort(pts[:, 0])
            ax.plot(pts[order, 0], pts[order, 1], "o-" if self.kind == "stationary" else "o",
                    **kwargs)
        else:
            ax.scatter(pts[:, 0], pts[:, 1], pts[:, 2], **kwargs)
            for f in self.facets:
                v = pts[list(f.vertices)]
                if len(v) >= 3:
                    ax.plot_trisurf(v[:, 0], v[:, 1], v[:, 2], alpha=0.3)
        for m in marked:
            mm = np.asarray(m, dtype=float)
            ax.scatter(*mm, marker="x", color="red")
        labels = [f"J_{i + 1}" for i in range(self.k)]
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
        if self.k == 3:
            ax.set_zlabel(labels[2])
        return ax

    def _repr_html_(self) -> str:
        rows = "".join(
            "<tr>" + "".join(f"<td>{x:.6g}</td>" for x in p)
            + f"<td>{p_.probabilities.argmax(axis=1).tolist()}</td></tr>"
            for p, p_ in zip(self.points[:50], self.policies[:50], strict=True))
        head = "".join(f"<th>J_{i + 1}</th>" for i in range(self.k))
        more = f"<p>... {len(self) - 50} more</p>" if len(self) > 50 else ""
        what = "Pareto front" if self.complete else (
            "PARTIAL inner approximation of the Pareto front (anytime run stopped early; "
            "not the front)")
        return (f"<p>{what} ({self.kind} policies, gamma = {self.gamma}): {len(self)} "
                f"points, {len(self.facets)} facets</p><table><tr>{head}<th>actions</th></tr>"
                f"{rows}</table>{more}")

    def __repr__(self) -> str:
        partial = "" if self.complete else ", PARTIAL: not the front"
        return (f"ParetoFront({len(self)} points, k={self.k}, {self.kind}, "
                f"{len(self.facets)} facets{partial})")


# ---------------------------------------------------------------- helpers


def pareto_filter(points: np.ndarray, tol: float = 0.0) -> np.ndarray:
    """Indices of the points no other point dominates (``>=`` everywhere, ``>`` somewhere,
    beyond ``tol``); of equal points the first is kept.

    Examples
    --------
    >>> pareto_filter(np.array([[1, 0], [0, 1], [0.5, 0.5], [0.4, 0.4], [1, 0]]))
    array([0, 1, 2])
    """
    pts = np.asarray(points, dtype=float)
    kept = np.zeros(len(pts), dtype=bool)
    for i in range(len(pts)):
        ge = np.all(pts >= pts[i] - tol, axis=1)
        gt = np.any(pts > pts[i] + tol, axis=1)
        dominated = bool(np.any(ge & gt))
        duplicate = bool(np.any(np.all(np.abs(pts[:i][kept[:i]] - pts[i]) <= tol, axis=1)))
        kept[i] = not dominated and not duplicate
    return np.flatnonzero(kept).astype(np.int64)


def _supported(points: np.ndarray, i: int) -> bool:
    """Whether ``points[i]`` maximises ``w . p`` over the points for some ``w >= 0``, ``w != 0``
    (a small LP)."""
    from scipy.optimize import linprog

    n, k = points.shape
    # find w in the simplex, t: maximise t s.t. w.(p_i - p_j) >= t for all j
    diff = points[i] - points  # [n, k]
    c = np.zeros(k + 1)
    c[-1] = -1.0
    A_ub = np.hstack([-diff, np.ones((n, 1))])
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(n), A_eq=[[1.0] * k + [0.0]], b_eq=[1.0],
                  bounds=[(0, None)] * k + [(None, None)], method="highs")
    return bool(res.status == 0 and -res.fun >= -1e-12)


def _hypervolume(pts: np.ndarray, ref: np.ndarray) -> float:
    n, k = pts.shape
    if n == 0:
        return 0.0
    if k == 1:
        return float(pts[:, 0].max() - ref[0])
    if k == 2:
        order = np.argsort(-pts[:, 0])
        vol, best_y = 0.0, ref[1]
        for i in order:
            x, y = pts[i]
            if y > best_y:
                vol += (x - ref[0]) * (y - best_y)
                best_y = y
        return float(vol)
    if k == 3:  # slice along objective 3
        zs = np.sort(np.unique(pts[:, 2]))[::-1]
        vol = 0.0
        for j, z in enumerate(zs):
            nxt = zs[j + 1] if j + 1 < len(zs) else ref[2]
            layer = pts[pts[:, 2] >= z][:, :2]
            vol += _hypervolume(layer, ref[:2]) * (z - nxt)
        return float(vol)
    if n > 20:
        raise NotTractableError(
            f"hypervolume of {n} points in {k} dimensions: inclusion-exclusion over 2^{n} "
            "subsets is not computed (at most 20 points for k > 3)")
    vol = 0.0
    for r in range(1, n + 1):
        for sub in itertools.combinations(range(n), r):
            corner = pts[list(sub)].min(axis=0)
            vol += (-1) ** (r + 1) * float(np.prod(corner - ref))
    return vol


def _downward_box(points: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """The points with every subset of their coordinates lowered to ``ref``: their convex
    hull is the downward closure of ``conv(points)`` cut at ``ref``."""
    k = points.shape[1]
    out = []
    for mask in itertools.product((False, True), repeat=k):
        q = points.copy()
        q[:, list(mask)] = ref[list(mask)]
        out.append(q)
    return np.unique(np.concatenate(out), axis=0)


def _convex_volume(points: np.ndarray, ref: np.ndarray) -> float:
    """Volume of ``(conv(points) - R^k_+) ∩ {x >= ref}`` (points above ``ref``)."""
    from scipy.spatial import ConvexHull, QhullError

    k = points.shape[1]
    if k == 1:
        return float(points.max() - ref[0])
    try:
        return float(ConvexHull(_downward_box(points, ref)).volume)
    except (QhullError, ValueError):  # flat (e.g. a single point or collinear): boxes
        return _hypervolume(points, ref) if len(points) == 1 else float(
            ConvexHull(_downward_box(points, ref), qhull_options="QJ").volume)


def _outer_volume(outer: list[tuple[np.ndarray, float]], points: np.ndarray,
                  ref: np.ndarray) -> float:
    """Volume of ``{x >= ref : w . x <= u for all (w, u)}`` (bounded: ``outer`` has the
    unit weights)."""
    from scipy.spatial import ConvexHull, HalfspaceIntersection

    k = points.shape[1]
    W = np.array([w for w, _ in outer], dtype=np.float64)
    u = np.array([b for _, b in outer], dtype=np.float64)
    if k == 1:
        return float(u[W[:, 0] > 0].min() / W[W[:, 0] > 0, 0].min() - ref[0])
    # halfspaces as [A | -b] with A x - b <= 0
    hs = np.vstack([np.hstack([W, -u[:, None]]),
                    np.hstack([-np.eye(k), ref[:, None]])])
    delta = 1e-6 * max(1.0, float(np.ptp(np.vstack([points, ref]), axis=0).max()))
    inside = points.mean(axis=0) - delta  # strictly inside: w . x <= u - delta, x > ref
    verts = HalfspaceIntersection(hs, inside).intersections
    return float(ConvexHull(verts).volume)


def _values(env: FiniteMDP, pols: np.ndarray, R: np.ndarray, gamma: float) -> np.ndarray:
    """``[N, k]`` expected returns of ``N`` policies ``[N, S, A]`` for the ``k`` rewards,
    in one batched solve (``batched=True``: a stacked ``[k, S, A]`` reward is not one
    ``[S, A, S]`` reward even when ``k = S = A``)."""
    pols = np.asarray(pols, dtype=np.float64).reshape(-1, env.n_states, env.n_actions)
    out = expected_return(env, pols, R, gamma, batched=True)
    return np.asarray(out, dtype=np.float64).reshape(len(pols), R.shape[0])


def value_vectors(env: FiniteMDP, policies: Any, rewards: Any, gamma: float) -> np.ndarray:
    """``[N, k]``: the value vectors of a batch of policies for ``k`` rewards (e.g. to mark
    the policies an OMORL or GOMORL specification ranks on :meth:`ParetoFront.plot`).

    Examples
    --------
    >>> from objspec import FiniteMDP, Policy
    >>> env = FiniteMDP(np.ones((1, 2, 1)), [1.0])
    >>> value_vectors(env, [Policy([[0.5, 0.5]])], [[[1.0, 0.0]], [[0.0, 1.0]]], 0.5)
    array([[1., 1.]])
    """
    from objspec.mdp.policy import as_policy_batch

    R, g = _check_rewards(env, rewards, gamma)
    pi, _ = as_policy_batch(policies, env.n_states, env.n_actions, enabled=env.enabled)
    return _values(env, pi, R, g)


def front_of(spec: Any, env: FiniteMDP, **kwargs: Any) -> ParetoFront:
    """The front of a multi-objective specification's rewards and discount (an OMORL or
    GOMORL specification: anything with ``rewards`` ``[k, ...]`` and ``gamma``); keyword
    arguments go to :func:`front`."""
    rewards, gamma = getattr(spec, "rewards", None), getattr(spec, "gamma", None)
    if rewards is None or gamma is None:
        raise InvalidSpecificationError(
            f"{type(spec).__name__} has no rewards and gamma: front_of takes OMORL or GOMORL "
            "specifications")
    R = np.asarray(rewards)
    if R.ndim == 2:  # [k, S] state rewards
        R = np.broadcast_to(R[:, :, None], (*R.shape, env.n_actions))
    return front(env, R, gamma, **kwargs)


def _check_rewards(env: FiniteMDP, rewards: Any, gamma: Any) -> tuple[np.ndarray, float]:
    from objspec.mdp.rewards import check_discount

    R = real_array(rewards, "rewards", InvalidSpecificationError)
    S, A = env.n_states, env.n_actions
    if R.ndim not in (3, 4) or R.shape[1:3] != (S, A) or (R.ndim == 4 and R.shape[3] != S):
        raise InvalidSpecificationError(
            f"rewards must be shaped [k, S, A] or [k, S, A, S] with S = {S}, A = {A}; got "
            f"{list(R.shape)}")
    if R.shape[0] == 0:
        raise InvalidSpecificationError("rewards: k = 0 objectives; give at least one")
    if not np.all(np.isfinite(R)):
        bad = tuple(int(x) for x in np.argwhere(~np.isfinite(R))[0])
        raise InvalidSpecificationError(f"rewards{list(bad)} is {R[bad]}, not finite")
    g = check_discount(gamma)
    if g <= 0:
        raise InvalidSpecificationError(
            f"gamma = {gamma}: a discounted front needs 0 < gamma < 1")
    return R, g


def _restricted(env: FiniteMDP, allowed: np.ndarray) -> FiniteMDP:
    """``env`` with only the ``allowed`` actions enabled (rows of the others zeroed)."""
    M = env.transition_matrix.tocsr().copy()
    keep = allowed.reshape(-1).astype(np.float64)
    M = sp.diags(keep) @ M
    M.eliminate_zeros()
    return FiniteMDP(sp.csr_matrix(M), env.initial, enabled=allowed)


def _q_values(env: FiniteMDP, reward: np.ndarray, V: np.ndarray, gamma: float) -> np.ndarray:
    from objspec.mdp.rewards import expected_rewards, normalize_rewards

    S, A = env.n_states, env.n_actions
    r = expected_rewards(env, *normalize_rewards(env, reward, batched=False)[:2])[0]  # [S, A]
    return r + gamma * (env.transition_matrix @ V).reshape(S, A)


class _Oracle:
    """Weighted-sum optimisation with lexicographic tie-breaking (the sum of all
    objectives among the weighted-optimal actions): its points are Pareto-optimal."""

    def __init__(self, env: FiniteMDP, R: np.ndarray, gamma: float) -> None:
        self.env, self.R, self.gamma = env, R, gamma
        self.calls = 0

    def __call__(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        env, R, gamma = self.env, self.R, self.gamma
        self.calls += 1
        rw = np.tensordot(w, R, axes=1)
        sol = optimal_values(env, rw, gamma, tol=1e-11)
        Q = _q_values(env, rw, sol.values, gamma)
        scale = max(1.0, float(np.abs(rw).max(initial=0.0))) / (1 - gamma)
        margin = 4 * sol.policy_error_bound + 1e-10 * scale
        allowed = (Q >= sol.values[:, None] - margin) & env.enabled
        allowed[np.arange(env.n_states), sol.policies] = True
        if np.array_equal(allowed, env.enabled) and np.all(w > 0):
            acts = sol.policies
        else:
            sub = _restricted(env, allowed)
            acts = optimal_values(sub, R.sum(axis=0), gamma, tol=1e-11).policies
        pol = np.eye(env.n_actions)[acts]
        value = _values(env, pol[None], R, gamma)[0]
        return value, acts


def _hull_weights(V: list[np.ndarray], k: int) -> list[np.ndarray] | None:
    """Outward normals (non-negative, normalised) of the facets of the downward closure
    ``conv(V) - R^k_+``, cut by a box below the points: every weight at which the upper
    envelope of ``V`` has a corner. None when qhull cannot build the hull (degenerate)."""
    from scipy.spatial import ConvexHull, QhullError

    P = np.array(V, dtype=float)
    lo = P.min(axis=0) - (np.ptp(P, axis=0).max() + 1.0)
    pts = []
    for mask in itertools.product((False, True), repeat=k):
        q = P.copy()
        q[:, list(mask)] = lo[list(mask)]
        pts.append(q)
    try:
        hull = ConvexHull(np.unique(np.concatenate(pts), axis=0))
    except (QhullError, ValueError):
        return None
    W = hull.equations[:, :k]
    keep = np.all(W >= -1e-12, axis=1) & (W.sum(axis=1) > 1e-12)
    W = np.clip(W[keep], 0.0, None)
    W = W / W.sum(axis=1, keepdims=True)
    _, first = np.unique(np.round(W, 11), axis=0, return_index=True)
    return [W[i] for i in sorted(first)]


def _corner_weights(V: list[np.ndarray], k: int) -> list[np.ndarray]:
    """The vertices of the upper envelope ``max_v w . v`` over the weight simplex (by qhull
    on the downward closure, or by brute force over ``k``-subsets of constraints when
    the points are too few or degenerate for qhull)."""
    if len(V) > k:
        hull = _hull_weights(V, k)
        if hull is not None:
            return hull
    out: list[np.ndarray] = []
    # unknowns (w_1..w_k, u); constraints: w_i >= 0 (i), u >= w.v (v); sum w = 1
    cons: list[tuple[np.ndarray, float]] = []
    for i in range(k):
        row = np.zeros(k + 1)
        row[i] = 1.0
        cons.append((row, 0.0))  # w_i = 0 when active
    for v in V:
        cons.append((np.concatenate([-np.asarray(v, float), [1.0]]), 0.0))  # u - w.v = 0
    eq = np.concatenate([np.ones(k), [0.0]])
    for sub in itertools.combinations(range(len(cons)), k):
        A = np.stack([cons[j][0] for j in sub] + [eq])
        b = np.array([cons[j][1] for j in sub] + [1.0])
        if abs(np.linalg.det(A)) < 1e-12:
            continue
        x = np.linalg.solve(A, b)
        w, u = x[:k], x[k]
        if np.any(w < -1e-12):
            continue
        if any(u < float(np.dot(w, v)) - 1e-9 for v in V):
            continue
        w = np.clip(w, 0.0, None)
        w /= w.sum()
        if not any(np.allclose(w, o, atol=1e-12) for o in out):
            out.append(w)
    return out


class _WarmOracle:
    """Weighted sums with strictly positive weights by policy iteration warm-started from a
    given policy (a neighbouring vertex's: near it, one or two improvements suffice); each
    evaluation is a sparse Krylov solve started from the previous values. Every call also
    returns a certified upper bound ``u`` on ``max_x w . x`` over the achievable set: for
    any ``V``, ``V* <= V + max_s (T V - V)^+ / (1 - gamma)`` (``T`` the Bellman optimality
    operator of the weighted reward; ``T`` is monotone and a ``gamma``-contraction), plus a
    margin of ``1e-12`` times the value scale for floating-point rounding. Calls without a
    start policy (the unit weights) go to :class:`_Oracle` (lexicographic tie-breaking).
    Elsewhere ties are not broken: with a zero weight the point found may be only weakly
    Pareto-optimal, which the final Pareto filter removes; no vertex is lost, as the
    search ends only when the envelope of the points found equals the support function of
    the achievable set at every corner weight, hence everywhere (a convex function that
    is at least a linear one on a cell and equals it at the cell's corners equals it on
    the cell), and each Pareto-optimal vertex is the unique maximiser of some weight."""

    def __init__(self, env: FiniteMDP, R: np.ndarray, gamma: float) -> None:
        self.env, self.gamma = env, float(gamma)
        self.r = _expected_sa(env, R)  # [k, S, A]
        self.M = env.transition_matrix.tocsr()
        self.S, self.A = env.n_states, env.n_actions
        self.rows = np.arange(self.S)
        self.eye = sp.identity(self.S, format="csr")
        self.lexicographic = _Oracle(env, R, gamma)

    def _system(self, acts: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix(self.eye - self.gamma * self.M[self.rows * self.A + acts])

    @staticmethod
    def _solve(A: sp.csr_matrix, b: np.ndarray, x0: np.ndarray | None) -> np.ndarray:
        """Solve ``A x = b`` (``b``: ``[S]`` or ``[S, m]``, columns at once) by BiCGSTAB
        from ``x0``; columns whose residual is not below ``1e-11`` relative are solved
        directly, and so are systems of at most 400 states."""
        from scipy.sparse.linalg import spsolve

        B = b.reshape(len(b), -1)
        if len(B) <= 400:  # small: a sparse LU is cheaper than the iteration's overhead
            return np.asarray(spsolve(sp.csc_matrix(A), B), dtype=np.float64).reshape(b.shape)
        X = np.zeros_like(B) if x0 is None else np.array(x0, dtype=np.float64).reshape(B.shape)
        target = 1e-11 * np.maximum(1.0, np.abs(B).max(axis=0))
        R = B - A @ X
        Rh = R.copy()
        rho = alpha = omega = np.ones(B.shape[1])
        Vv = np.zeros_like(B)
        Pp = np.zeros_like(B)
        with np.errstate(divide="ignore", invalid="ignore"):
            for _ in range(500):
                if np.all(np.abs(R).max(axis=0) <= 0.1 * target):
                    break
                rho_new = np.einsum("ij,ij->j", Rh, R)
                beta = (rho_new / rho) * (alpha / omega)
                rho = rho_new
                Pp = R + beta * (Pp - omega * Vv)
                Vv = A @ Pp
                alpha = rho / np.einsum("ij,ij->j", Rh, Vv)
                Sv = R - alpha * Vv
                T = A @ Sv
                omega = np.einsum("ij,ij->j", T, Sv) / np.einsum("ij,ij->j", T, T)
                omega = np.where(np.isfinite(omega), omega, 0.0)
                X = X + alpha * Pp + omega * Sv
                R = Sv - omega * T
                if not np.all(np.isfinite(X)):
                    break
        bad = ~(np.abs(B - A @ X).max(axis=0) <= target)
        if np.any(bad):
            X[:, bad] = np.asarray(spsolve(sp.csc_matrix(A), B[:, bad]),
                                   dtype=np.float64).reshape(len(B), -1)
        return X.reshape(b.shape)

    def _bound(self, rw: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, float]:
        """``Q`` of ``V`` and the certified upper bound on ``max_x w . x``."""
        g = self.gamma
        Q = np.where(self.env.enabled, rw + g * (self.M @ V).reshape(self.S, self.A), -np.inf)
        c = max(0.0, float((Q.max(axis=1) - V).max()))
        scale = max(1.0, float(np.abs(rw).max(initial=0.0))) / (1 - g)
        return Q, float(self.env.initial @ V) + c / (1 - g) + 1e-12 * scale

    def _objectives(self, A: sp.csr_matrix, acts: np.ndarray, x0: np.ndarray | None
                    ) -> tuple[np.ndarray, np.ndarray]:
        """The value vector and the ``[k, S]`` values per objective (``x0``: a guess)."""
        Vk = self._solve(A, self.r[:, self.rows, acts].T, None if x0 is None else x0.T).T
        return Vk @ self.env.initial, Vk

    def __call__(self, w: np.ndarray, start: np.ndarray | None,
                 guess: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray, float, np.ndarray | None]:
        """``(value vector, actions, upper bound, [k, S] values or None)`` for the weights
        ``w``; ``start``: the policy to improve, ``guess``: its ``[k, S]`` values."""
        rw = np.tensordot(w, self.r, axes=1)  # [S, A]
        scale = max(1.0, float(np.abs(rw).max(initial=0.0))) / (1 - self.gamma)
        if start is not None:
            acts = np.asarray(start, dtype=np.int64).copy()
            V = None if guess is None else np.tensordot(w, guess, axes=1)
            for _ in range(200):
                A = self._system(acts)
                V = self._solve(A, rw[self.rows, acts], V)
                Q, u = self._bound(rw, V)
                best = Q.argmax(axis=1)
                improve = Q[self.rows, best] - Q[self.rows, acts] > 1e-12 * scale
                if not improve.any():
                    value, Vk = self._objectives(A, acts, guess)
                    return value, acts, u, Vk
                acts = np.where(improve, best, acts)
        # no start (the unit weights, first) or policy iteration cycling on rounding
        value, acts = self.lexicographic(w)
        A = self._system(acts)
        _, u = self._bound(rw, self._solve(A, rw[self.rows, acts], None))
        return value, acts, u, None


def _drop_collinear(V: list[np.ndarray], acts: list[np.ndarray], tol: float) -> None:
    """``k = 2``, points sorted by the first objective (descending): remove the points on
    the segment between their neighbours (Pareto-optimal, but not vertices)."""
    i = 1
    while i < len(V) - 1:
        a, b, c = V[i - 1], V[i], V[i + 1]
        cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        if abs(cross) <= tol * max(1e-300, float(np.hypot(*(c - a)))):
            del V[i], acts[i]
        else:
            i += 1


def _stationary_front(env: FiniteMDP, R: np.ndarray, gamma: Any, exact: Any,
                      max_points: int, max_vertices: int | None = None,
                      time_limit: float | None = None) -> ParetoFront:
    """``exact``: False, or the rewards as an object array of Fractions. With
    ``max_vertices`` or ``time_limit`` (anytime mode) the search stops when either is
    reached (or at ``max_points`` vertices) and returns the vertices found so far, marked
    ``complete=False``."""
    t0 = time.perf_counter()
    anytime = max_vertices is not None or time_limit is not None
    k = R.shape[0]
    oracle = _WarmOracle(env, R, float(gamma))
    scale = max(1.0, float(np.abs(R).max())) / (1 - gamma)
    tol = 1e-8 * scale
    V: list[np.ndarray] = []
    acts: list[np.ndarray] = []
    found_at: list[float] = []
    bounds: list[tuple[np.ndarray, float]] = []
    # per vertex, its [k, S] values (float32) to warm-start the Krylov solves near it;
    # kept for at most 2**24 numbers
    guesses: list[np.ndarray | None] = []
    last: list[np.ndarray | None] = [None]

    def add(value: np.ndarray, a: np.ndarray) -> bool:
        if V and bool(np.any(np.all(np.abs(np.array(V) - value) <= tol, axis=1))):
            return False
        V.append(value)
        acts.append(a)
        found_at.append(time.perf_counter() - t0)
        Vk = last[0]
        small = (len(guesses) + 1) * k * env.n_states <= 2**24
        guesses.append(Vk.astype(np.float32) if Vk is not None and small else None)
        return True

    def solve(w: np.ndarray, start: int | None) -> tuple[np.ndarray, np.ndarray]:
        guess = None if start is None else guesses[start]
        value, a, u, last[0] = oracle(w, None if start is None else acts[start],
                                      None if guess is None else guess.astype(np.float64))
        bounds.append((w, u))
        return value, a

    def stop() -> bool:
        if not anytime:
            return False
        return ((max_vertices is not None and len(V) >= max_vertices)
                or (time_limit is not None and time.perf_counter() - t0 >= time_limit)
                or len(V) >= max_points)

    for i in range(k):
        add(*solve(np.eye(k)[i], None))
    checked: list[np.ndarray] = []
    complete = True
    if k == 2:  # dichotomic search: one weighted problem per adjacent pair of vertices
        # breadth first (a queue): the anytime mode refines the whole front evenly
        pairs = deque([(0, len(V) - 1)] if len(V) == 2 else [])
        if len(V) == 1:
            checked.append(np.array([0.5, 0.5]))
        while pairs:
            if stop():
                complete = False
                break
            i, j = pairs.popleft()
            p, q = V[i], V[j]
            w = np.array([q[1] - p[1], p[0] - q[0]])  # normal of the segment, pointing out
            if np.any(w < 0) or w.sum() <= 0:
                continue
            w = w / w.sum()
            value, a = solve(w, i)
            if float(np.dot(w, value)) > float(np.dot(w, p)) + tol and add(value, a):
                pairs.extend([(i, len(V) - 1), (len(V) - 1, j)])
            else:
                checked.append(w)
    seen: set[tuple[float, ...]] = set()
    while k != 2:  # rounds: every unchecked corner weight of the current envelope
        if len(V) > max_points and not anytime:
            raise NotTractableError(
                f"the front has more than {max_points} vertices; give max_vertices= or "
                "time_limit= for an anytime inner approximation with a certified gap")
        todo = [w for w in _corner_weights(V, k) if tuple(np.round(w, 10)) not in seen]
        if not todo:
            break
        Vm = np.array(V)
        scores = np.array(todo) @ Vm.T
        new = False
        for w, row in zip(todo, scores, strict=True):
            if stop():
                complete = False
                break
            value, a = solve(w, int(np.argmax(row)))
            if float(np.dot(w, value)) > float(row.max()) + tol and add(value, a):
                new = True
            else:
                checked.append(w)
                seen.add(tuple(np.round(w, 10)))
        if not complete or not new:
            break
    keep = pareto_filter(np.array(V), tol)
    idx = sorted(keep.tolist(), key=lambda i: tuple(-x for x in V[i]))
    Vs, As, Ts = [V[i] for i in idx], [acts[i] for i in idx], [found_at[i] for i in idx]
    if k == 2:
        Ts_by_point = {id(v): t for v, t in zip(Vs, Ts, strict=True)}
        _drop_collinear(Vs, As, tol)
        Ts = [Ts_by_point[id(v)] for v in Vs]
    points = np.array(Vs).reshape(-1, k)
    policies = [Policy(np.eye(env.n_actions)[a]) for a in As]
    facets = []
    for w in checked:
        best = float(max(np.dot(w, p) for p in points))
        verts = tuple(j for j, p in enumerate(points) if float(np.dot(w, p)) >= best - tol)
        if np.all(w > 0) or k == 1:
            facets.append(Facet(w, verts))
    facets.sort(key=lambda f: f.vertices)
    out = ParetoFront(points, policies, facets, "stationary", float(gamma), complete=complete,
                      outer=bounds, found_at=np.array(Ts))
    if exact is not False:
        _verify_exactly(env, exact, gamma, out)
    return out


def _verify_exactly(env: FiniteMDP, Rq: np.ndarray, gamma: Any, f: ParetoFront) -> None:
    """Evaluate every vertex in rationals and check every facet exactly: its weight vector
    (made exact by :func:`_exact_normal`) and, for each of its vertices' policies, the
    Bellman optimality inequalities over all actions; raises
    :class:`~objspec.errors.SolverError` if a check fails (the float front missed a
    vertex)."""
    from objspec.errors import SolverError
    from objspec.mdp.exact import exact_discount, exact_expected_return, exact_values

    g = exact_discount(gamma)
    f.exact_points = [tuple(Fraction(exact_expected_return(env, p, r, g)) for r in Rq)
                      for p in f.policies]
    tau = env.exact_transitions()
    for facet in f.facets:
        w = _exact_normal([f.exact_points[j] for j in facet.vertices], facet.weights)
        rw = sum((wi * ri for wi, ri in zip(w, Rq, strict=True)), np.zeros_like(Rq[0]))
        for j in facet.vertices:
            Vx = exact_values(env, f.policies[j], rw, g)
            for s in range(env.n_states):
                for a in np.flatnonzero(env.enabled[s]):
                    r_sa = rw[s, a] if rw.ndim == 2 else sum(
                        (tau[s, a, t] * rw[s, a, t] for t in range(env.n_states)), Fraction(0))
                    q = r_sa + g * sum((tau[s, a, t] * Vx[t] for t in range(env.n_states)),
                                       Fraction(0))
                    if q > Vx[s]:
                        raise SolverError(
                            f"exact check: the policy of vertex {j} is not optimal for the "
                            f"facet weights {facet.weights.tolist()} (state {s}, action {a})")


def _exact_normal(points: list[tuple[Fraction, ...]], approx: np.ndarray) -> list[Fraction]:
    """The facet's weight vector in rationals: ``w . (p_j - p_0) = 0`` for its vertices and
    ``sum w = 1`` solved exactly when the vertices determine it; otherwise the float weights
    as close rationals (the exact check then certifies those)."""
    k = len(approx)
    rows = [[pj[i] - points[0][i] for i in range(k)] + [Fraction(0)] for pj in points[1:]]
    rows.append([Fraction(1)] * k + [Fraction(1)])
    # Gaussian elimination (exact)
    m, piv_cols, r = [list(x) for x in rows], [], 0
    for c in range(k):
        p = next((i for i in range(r, len(m)) if m[i][c] != 0), None)
        if p is None:
            continue
        m[r], m[p] = m[p], m[r]
        for i in range(len(m)):
            if i != r and m[i][c] != 0:
                fct = m[i][c] / m[r][c]
                m[i] = [a - fct * b for a, b in zip(m[i], m[r], strict=True)]
        piv_cols.append(c)
        r += 1
    if len(piv_cols) == k and all(any(x != 0 for x in row[:k]) or row[k] == 0 for row in m):
        w = [Fraction(0)] * k
        for i, c in enumerate(piv_cols):
            w[c] = m[i][k] / m[i][c]
        if all(x >= 0 for x in w):
            return w
    return [Fraction(float(x)).limit_denominator(10**9) for x in approx]


# ---------------------------------------------------------------- deterministic fronts


def _deterministic_count(env: FiniteMDP) -> int:
    return math.prod(int(env.enabled[s].sum()) for s in range(env.n_states))


def _is_deterministic(env: FiniteMDP) -> bool:
    M = env.transition_matrix.tocsr()
    rows = M.getnnz(axis=1).reshape(env.n_states, env.n_actions)
    init = np.count_nonzero(env.initial)
    return init == 1 and bool(np.all(rows[env.enabled] == 1))


def _enumerated_front(env: FiniteMDP, R: np.ndarray, gamma: float) -> ParetoFront:
    choices = [np.flatnonzero(env.enabled[s]) for s in range(env.n_states)]
    eye = np.eye(env.n_actions)
    vals: list[np.ndarray] = []
    pols: list[np.ndarray] = []
    batch: list[np.ndarray] = []

    def flush() -> None:
        if batch:
            v = _values(env, np.stack(batch), R, gamma)
            vals.extend(v)
            pols.extend(batch)
            batch.clear()

    for actions in itertools.product(*choices):
        batch.append(eye[list(actions)])
        if len(batch) == 512:
            flush()
    flush()
    pts = np.array(vals)
    scale = max(1.0, float(np.abs(R).max())) / (1 - gamma)
    keep = pareto_filter(pts, 1e-9 * scale)
    idx = sorted(keep.tolist(), key=lambda i: tuple(-x for x in pts[i]))
    return ParetoFront(pts[idx], [Policy(pols[i]) for i in idx], [], "deterministic", gamma)


def _lasso_front(env: FiniteMDP, R: np.ndarray, gamma: float) -> ParetoFront:
    """Deterministic environment: branch and bound over lassos (simple path + cycle)."""
    S, A = env.n_states, env.n_actions
    k = R.shape[0]
    M = env.transition_matrix.tocsr()
    succ = np.full((S, A), -1, dtype=np.int64)
    for s in range(S):
        for b in np.flatnonzero(env.enabled[s]):
            row = M.getrow(s * A + b)
            succ[s, b] = int(row.indices[0])
    r = np.empty((k, S, A))
    for i in range(k):
        if R.ndim == 4:
            r[i] = np.where(succ >= 0, R[i][np.arange(S)[:, None], np.arange(A)[None, :],
                                           np.maximum(succ, 0)], 0.0)
        else:
            r[i] = R[i]
    # optimistic bound of the remaining value per objective from each state
    ub = np.stack([optimal_values(env, r[i], gamma, tol=1e-10).values for i in range(k)])
    ub = ub + 1e-9 * (1 + np.abs(ub))
    # try the actions with the best optimistic outcome first (good lassos early prune more)
    order = []
    for s in range(S):
        acts_s = np.flatnonzero(env.enabled[s])
        score = [float((r[:, s, a] + gamma * ub[:, succ[s, a]]).sum()) for a in acts_s]
        order.append(acts_s[np.argsort(score, kind="stable")[::-1]])
    start = int(np.flatnonzero(env.initial)[0])
    found_v: list[np.ndarray] = []
    found_p: list[dict[int, int]] = []
    nodes = 0

    cache: list[np.ndarray] = [np.empty((0, k))]

    def dominated(opt: np.ndarray) -> bool:
        F = cache[0]
        return bool(F.size) and bool(np.any((F >= opt).all(axis=1) & (F > opt).any(axis=1)))

    path: list[int] = []
    acts: list[int] = []  # python ints (dict keys and values of the policy)
    pos: dict[int, int] = {}
    acc = np.zeros(k)
    disc = 1.0
    stack: list[tuple[int, int]] = [(start, 0)]  # (state, next action index to try)
    pos[start] = 0
    path.append(start)
    accs = [acc.copy()]
    discs = [disc]
    while path:
        nodes += 1
        if nodes > LASSO_NODE_LIMIT:
            raise NotTractableError(
                f"the lasso search on this deterministic environment exceeded "
                f"{LASSO_NODE_LIMIT} nodes ({_deterministic_count(env)} deterministic policies)")
        s = path[-1]
        _, ai = stack[-1]
        enabled = order[s]
        if ai >= len(enabled):
            stack.pop()
            path.pop()
            del pos[s]
            accs.pop()
            discs.pop()
            if acts:
                acts.pop()
            continue
        stack[-1] = (s, ai + 1)
        a = int(enabled[ai])
        t = int(succ[s, a])
        acc_s, d = accs[-1], discs[-1]
        new_acc = acc_s + d * r[:, s, a]
        if t in pos:  # the lasso closes: the cycle repeats for ever
            j = pos[t]
            cyc_start_acc, cyc_d = accs[j], discs[j]
            cycle_value = (new_acc - cyc_start_acc) / cyc_d
            cycle_len_d = (d * gamma) / cyc_d
            total = cyc_start_acc + cyc_d * cycle_value / (1 - cycle_len_d)
            if not dominated(total):
                keep = [i for i, v in enumerate(found_v)
                        if not (np.all(total >= v) and np.any(total > v))]
                found_v[:] = [found_v[i] for i in keep]
                found_p[:] = [found_p[i] for i in keep]
                if not any(np.allclose(total, v, rtol=0, atol=1e-12) for v in found_v):
                    found_v.append(total)
                    found_p.append({**dict(zip(path, [*acts, a], strict=True))})
                cache[0] = np.array(found_v).reshape(-1, k)
            continue
        optimistic = new_acc + d * gamma * ub[:, t]
        if dominated(optimistic):
            continue
        acts.append(a)
        path.append(t)
        pos[t] = len(path) - 1
        accs.append(new_acc)
        discs.append(d * gamma)
        stack.append((t, 0))
    pols = []
    for choice in found_p:
        actions = [choice.get(s, int(np.flatnonzero(env.enabled[s])[0])) for s in range(S)]
        pols.append(np.eye(A)[actions])
    pts = np.array(found_v).reshape(-1, k)
    idx = sorted(range(len(pts)), key=lambda i: tuple(-x for x in pts[i]))
    return ParetoFront(pts[idx], [Policy(pols[i]) for i in idx], [], "deterministic", gamma)


# ---------------------------------------------------------------- acyclic environments


def _expected_sa(env: FiniteMDP, R: np.ndarray) -> np.ndarray:
    """``[k, S, A]`` expected immediate rewards of ``[k, S, A]`` or ``[k, S, A, S]`` rewards."""
    from objspec.mdp.rewards import expected_rewards, normalize_rewards

    return np.asarray(expected_rewards(env, *normalize_rewards(env, R, batched=True)[:2]),
                      dtype=np.float64)


def _topological_order(env: FiniteMDP) -> list[int] | None:
    """The states reachable from the initial distribution in a topological order of the
    transition graph without its self-loops (every successor of a state, other than the state
    itself, comes later), or None when that graph has a cycle."""
    S, A = env.n_states, env.n_actions
    M = env.transition_matrix.tocsr()
    succ: list[set[int]] = [set() for _ in range(S)]
    for s in range(S):
        for a in np.flatnonzero(env.enabled[s]):
            row = s * A + int(a)
            for t in M.indices[M.indptr[row]:M.indptr[row + 1]]:
                if int(t) != s:
                    succ[s].add(int(t))
    reach = set(int(s) for s in np.flatnonzero(env.initial))
    todo = list(reach)
    while todo:
        for t in succ[todo.pop()]:
            if t not in reach:
                reach.add(t)
                todo.append(t)
    indeg = dict.fromkeys(reach, 0)
    for s in reach:
        for t in succ[s]:
            indeg[t] += 1
    order = sorted(s for s in reach if indeg[s] == 0)
    i = 0
    while i < len(order):
        for t in sorted(succ[order[i]]):
            indeg[t] -= 1
            if indeg[t] == 0:
                order.append(t)
        i += 1
    return order if len(order) == len(reach) else None


def _is_acyclic(env: FiniteMDP) -> bool:
    """Whether the reachable part of ``env`` is acyclic apart from self-loops."""
    return _topological_order(env) is not None


def _dominator_intervals(env: FiniteMDP, order: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Dominator tree of the reachable transition graph (rooted at a virtual start that moves
    to the initial states), as DFS intervals: ``t`` dominates ``x`` (every path from the
    start to ``x`` visits ``t``) iff ``tin[t] <= tin[x] < tout[t]``."""
    S, A = env.n_states, env.n_actions
    M = env.transition_matrix.tocsr()
    root = S
    preds: list[list[int]] = [[] for _ in range(S)]
    for s in order:
        for a in np.flatnonzero(env.enabled[s]):
            row = s * A + int(a)
            for t in M.indices[M.indptr[row]:M.indptr[row + 1]]:
                if int(t) != s:
                    preds[int(t)].append(s)
    for s0 in np.flatnonzero(env.initial):
        preds[int(s0)].append(root)
    idom = np.full(S + 1, -1, dtype=np.int64)
    depth = np.zeros(S + 1, dtype=np.int64)
    idom[root] = root

    def lca(x: int, y: int) -> int:
        while x != y:
            if depth[x] < depth[y]:
                x, y = y, x
            x = int(idom[x])
        return x

    for x in order:  # the predecessors of x come first in a topological order
        d = preds[x][0]
        for p in preds[x][1:]:
            d = lca(d, p)
        idom[x] = d
        depth[x] = depth[d] + 1
    children: list[list[int]] = [[] for _ in range(S + 1)]
    for x in order:
        children[int(idom[x])].append(x)
    tin = np.full(S + 1, -1, dtype=np.int64)
    tout = np.full(S + 1, -1, dtype=np.int64)
    clock = 0
    stack: list[tuple[int, bool]] = [(root, False)]
    while stack:
        x, done = stack.pop()
        if done:
            tout[x] = clock
            continue
        tin[x] = clock
        clock += 1
        stack.append((x, True))
        stack.extend((c, False) for c in children[x])
    return tin, tout


def _acyclic_front(env: FiniteMDP, R: np.ndarray, gamma: float) -> ParetoFront:
    """Exact front over deterministic stationary policies on an acyclic environment (apart
    from self-loops) by Pareto dynamic programming with consistent partial policies.

    States are processed backwards over a topological order. A *label* of state ``t`` is a
    pair ``(v, pi)``: a partial deterministic policy ``pi`` on the states reachable from
    ``t`` under ``pi`` (its domain) and its value vector ``v = V^pi(t)``. The labels of
    ``t`` for action ``a`` are all *consistent* combinations of one label per successor
    ``c != t`` of ``(t, a)`` (the policies agree where their domains meet, so the union is a
    policy), with ``v = (r(t, a) + gamma sum_c P(c|t,a) v_c) / (1 - gamma P(t|t,a))``; the
    initial distribution combines the initial states' labels in the same way. Combining
    the successors' labels independently would over-approximate (two actions at one shared
    state); only consistent combinations are formed, so every label is a real policy and
    its value is exact.

    Pruning. Let ``Dom(t)`` be the states ``t`` dominates (every path from the initial
    states to them visits ``t``; ``t`` included) and the *key* of a label of ``t`` its
    policy restricted to the states outside ``Dom(t)``. A label is dropped only when a kept
    label with the SAME key has a value ``>=`` in every objective. This is exact: let
    ``pi`` be any deterministic policy, and replace, state by state in the processing
    order, ``pi``'s restriction below ``t`` (when it is a formed label that was dropped) by
    the kept label ``l'`` that dropped it. As the keys agree, the new policy ``pi'``
    differs from ``pi`` only on ``Dom(t)``, which every path from outside enters through
    ``t``; so for every state ``y`` outside ``Dom(t)``, ``V^pi'(y) - V^pi(y) =
    c(y) (V^pi'(t) - V^pi(t)) >= 0`` with ``c(y) >= 0`` the discounted probability of
    reaching ``t`` from ``y`` (which does not depend on the policy inside ``Dom(t)``), and
    the same holds at the initial distribution. Labels restricted to any state of their
    domain are kept labels of that state (by construction), so the replacements at
    earlier-processed states stay valid, and after the last state ``pi'`` is a kept
    initial label with ``J(pi') >= J(pi)``. Hence every Pareto-optimal value vector is
    the value of a kept initial label. Pruning by dominance alone would not be exact: with
    shared descendants a dominated label may be the only one consistent with a
    neighbour's label.

    Raises :class:`~objspec.errors.NotTractableError` when the labels formed exceed
    :data:`ACYCLIC_LABEL_LIMIT`.
    """
    order = _topological_order(env)
    if order is None:
        raise InvalidSpecificationError("the environment has a cycle (other than self-loops)")
    S, A = env.n_states, env.n_actions
    k = R.shape[0]
    r = _expected_sa(env, R)
    M = env.transition_matrix.tocsr()
    tin, tout = _dominator_intervals(env, order)
    formed = 0
    labels: dict[int, tuple[np.ndarray, list[dict[int, int]]]] = {}

    def combine(base: dict[int, int], parts: list[tuple[int, float]]
                ) -> tuple[list[np.ndarray], list[dict[int, int]]]:
        nonlocal formed
        accs: list[np.ndarray] = [np.zeros(k)]
        pols: list[dict[int, int]] = [base]
        for c, p in parts:
            vals_c, pols_c = labels[c]
            new_a: list[np.ndarray] = []
            new_p: list[dict[int, int]] = []
            for acc, pol in zip(accs, pols, strict=True):
                for v_c, pol_c in zip(vals_c, pols_c, strict=True):
                    small, big = (pol, pol_c) if len(pol) <= len(pol_c) else (pol_c, pol)
                    if any(big.get(x, b) != b for x, b in small.items()):
                        continue  # two actions at a shared state: not a policy
                    new_a.append(acc + p * v_c)
                    new_p.append({**pol, **pol_c})
            formed += len(new_a)
            if formed > ACYCLIC_LABEL_LIMIT:
                raise NotTractableError(
                    f"the Pareto dynamic programme on this acyclic environment formed "
                    f"{formed} labels (more than ACYCLIC_LABEL_LIMIT = {ACYCLIC_LABEL_LIMIT}; "
                    f"{_deterministic_count(env)} deterministic policies)")
            accs, pols = new_a, new_p
        return accs, pols

    for t in reversed(order):
        vals: list[np.ndarray] = []
        pols: list[dict[int, int]] = []
        for a in np.flatnonzero(env.enabled[t]):
            row = t * A + int(a)
            idx = M.indices[M.indptr[row]:M.indptr[row + 1]]
            prob = M.data[M.indptr[row]:M.indptr[row + 1]]
            p_self = float(prob[idx == t].sum())
            parts = [(int(c), float(p)) for c, p in zip(idx, prob, strict=True)
                     if int(c) != t and p > 0]
            accs, ps = combine({t: int(a)}, parts)
            denom = 1.0 - gamma * p_self
            vals.extend((r[:, t, a] + gamma * acc) / denom for acc in accs)
            pols.extend(ps)
        # prune within groups of equal keys (the policy outside the states t dominates)
        groups: dict[tuple[tuple[int, int], ...], list[int]] = {}
        for i, pol in enumerate(pols):
            key = tuple(sorted((x, b) for x, b in pol.items()
                               if not tin[t] <= tin[x] < tout[t]))
            groups.setdefault(key, []).append(i)
        keep: list[int] = []
        for members in groups.values():
            kept = pareto_filter(np.array([vals[i] for i in members]), 0.0)
            keep.extend(members[j] for j in kept)
        keep.sort()
        labels[t] = (np.array([vals[i] for i in keep]).reshape(-1, k), [pols[i] for i in keep])
    init = np.flatnonzero(env.initial)
    accs, pols = combine({}, [(int(s), float(env.initial[s])) for s in init])
    pts = np.array(accs).reshape(-1, k)
    scale = max(1.0, float(np.abs(R).max())) / (1 - gamma)
    keep_idx = pareto_filter(pts, 1e-9 * scale)
    idx = sorted(keep_idx.tolist(), key=lambda i: tuple(-x for x in pts[i]))
    out = []
    for i in idx:
        acts = [pols[i].get(s, int(np.flatnonzero(env.enabled[s])[0])) for s in range(S)]
        out.append(Policy(np.eye(A)[acts]))
    return ParetoFront(pts[idx], out, [], "deterministic", gamma)


def front(env: FiniteMDP, rewards: Any, gamma: float, *,
          policies: Literal["stationary", "deterministic"] = "stationary",
          exact: bool = False, max_points: int = 10_000, max_vertices: int | None = None,
          time_limit: float | None = None) -> ParetoFront:
    """The Pareto front of the discounted value vectors of ``k`` rewards (module docstring).

    Parameters
    ----------
    env : FiniteMDP
    rewards : array_like
        ``[k, S, A]`` or ``[k, S, A, S]``.
    gamma : float
        Discount in ``(0, 1)``.
    policies : {"stationary", "deterministic"}
        The policy class: stationary (stochastic) policies, whose front is a polytope's, or
        deterministic stationary policies.
    exact : bool
        Evaluate the points in rationals and verify every facet exactly (stationary); the
        rewards and ``gamma`` are read as rationals (Fractions stay exact, floats are
        their exact binary values).
    max_points : int
        Most vertices before :class:`~objspec.errors.NotTractableError` (without an
        anytime limit).
    max_vertices, time_limit : int or float, optional
        Anytime mode (stationary fronts): stop after this many vertices or seconds (or at
        ``max_points`` vertices) and return the vertices found so far. If the search
        stopped early the result has ``complete=False``: an inner approximation that never
        claims to be the front, with a certified hypervolume gap from
        :meth:`ParetoFront.hypervolume_bounds`. A search that finishes within the limits
        returns the exact front (``complete=True``).

    Raises
    ------
    InvalidSpecificationError
        Rewards of the wrong shape, ``k = 0``, non-finite entries, ``gamma`` outside
        ``(0, 1)``, an unknown policy class.
    NotTractableError
        A deterministic front on an environment that is neither small nor deterministic
        (the message gives the number of deterministic policies).
    """
    if not isinstance(env, FiniteMDP):
        from objspec.errors import InvalidModelError

        raise InvalidModelError(f"front needs a FiniteMDP, got {type(env).__name__}")
    R, g = _check_rewards(env, rewards, gamma)
    anytime = max_vertices is not None or time_limit is not None
    if max_vertices is not None and (isinstance(max_vertices, bool) or int(max_vertices) < 1
                                     or int(max_vertices) != max_vertices):
        raise InvalidSpecificationError(f"max_vertices = {max_vertices!r}: give a positive int")
    if time_limit is not None and not (float(time_limit) > 0):
        raise InvalidSpecificationError(f"time_limit = {time_limit!r}: give seconds > 0")
    if anytime and (exact or policies != "stationary"):
        raise InvalidSpecificationError(
            "max_vertices= and time_limit= (anytime mode) are for policies='stationary' "
            "without exact=True")
    if policies == "stationary":
        if not exact:
            return _stationary_front(env, R, g, False, max_points, max_vertices, time_limit)
        from objspec.mdp.model import to_fraction

        Rq = np.vectorize(to_fraction, otypes=[object])(np.asarray(rewards, dtype=object))
        return _stationary_front(env, R, gamma, Rq, max_points)
    if policies != "deterministic":
        raise InvalidSpecificationError(
            f"policies = {policies!r}; choose 'stationary' or 'deterministic'")
    count = _deterministic_count(env)
    if count <= DETERMINISTIC_LIMIT:
        return _enumerated_front(env, R, g)
    if _is_acyclic(env):
        return _acyclic_front(env, R, g)
    if _is_deterministic(env):
        return _lasso_front(env, R, g)
    raise NotTractableError(
        f"the front over deterministic policies needs {count} policies enumerated (more than "
        f"{DETERMINISTIC_LIMIT}) and the environment is neither acyclic nor deterministic; use "
        "policies='stationary' (exact, polynomial per vertex) instead")
