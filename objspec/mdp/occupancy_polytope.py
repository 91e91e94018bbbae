r"""Optimisation over the discounted occupancy polytope.

For a discount ``gamma`` in ``[0, 1)`` the state-action occupancy measures
``m(s, a) = sum_t gamma^t P(s_t = s, a_t = a)`` of the stationary policies form the polytope

.. math:: \mathcal M_\gamma = \{ m \ge 0 : \textstyle\sum_a m(s, a) - \gamma \sum_{s', a'}
          \tau(s \mid s', a')\, m(s', a') = \mu_0(s)\ \forall s,\ m(s, a) = 0
          \text{ for disabled } (s, a) \}

(Puterman 1994, section 6.9; docs/theory.md#policies). The ``[S, A, S]`` occupancy measure
of objspec (:func:`objspec.mdp.occupancy_measure`) is ``m(s, a) tau(s'|s, a)``. Every
``m`` in the polytope is the occupancy of the stationary policy
``pi(a|s) = m(s, a) / sum_b m(s, b)`` (any enabled action where ``m(s, .) = 0``), so a
convex combination of two occupancy measures is achievable by one stationary policy
(:func:`policy_from_occupancy`); the vertices are the deterministic policies.

This module holds the numerical tools the occupancy-level optimisers of
:mod:`objspec.formalisms` use:

* :func:`polytope_constraints`: the sparse equality constraints (memory ``O(nnz)``);
* :func:`policy_from_occupancy`: ``m -> pi`` (floats or exact Fractions);
* :func:`sparse_occupancy_measure`: the ``[S, A, S]`` measure ``m(s, a) tau(s'|s, a)`` as
  a sparse ``(S*A, S)`` matrix on ``tau``'s support (memory ``O(nnz)``);
* :func:`exact_policy_iteration`: Howard's policy iteration in rationals, restricted to an
  action mask (the exact verification of a float control solution);
* :func:`lexicographic_actions`: lexicographic optimal control by successive elimination
  of non-optimal actions (Gabor, Kalmar and Szepesvari 1998), exact in rationals;
* :func:`frank_wolfe`: blended conditional gradients (Braun, Pokutta, Tu and Wright 2019)
  for a concave function of ``m``, whose linear oracle is warm-started discounted optimal
  control and whose stopping rule is a certified duality gap.

Examples
--------
>>> import numpy as np
>>> from objspec import FiniteMDP, Policy
>>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
>>> env = FiniteMDP(P, [1.0, 0.0])
>>> A_eq, b = polytope_constraints(env, 0.5)
>>> A_eq.shape, b.tolist()
((2, 4), [1.0, 0.0])
>>> policy_from_occupancy(env, np.array([[0.5, 0.5], [0.0, 1.0]])).probabilities.tolist()
[[0.5, 0.5], [0.0, 1.0]]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.sparse as sp

from objspec.errors import InvalidSpecificationError
from objspec.mdp.control import optimal_values
from objspec.mdp.evaluation import state_visitation
from objspec.mdp.exact import exact_discount, solve_rational
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy

__all__ = [
    "polytope_constraints",
    "policy_from_occupancy",
    "sparse_occupancy_measure",
    "restricted",
    "exact_expected_rewards",
    "exact_policy_iteration",
    "lexicographic_actions",
    "FrankWolfeResult",
    "sequential_lp",
    "frank_wolfe",
]


def polytope_constraints(env: FiniteMDP, gamma: float) -> tuple[sp.csr_matrix, np.ndarray]:
    """``(A_eq, mu0)`` with ``A_eq`` sparse ``[S, S*A]``: ``m`` (flattened ``[S, A]``, C
    order) is an occupancy measure iff ``A_eq m = mu0``, ``m >= 0`` and ``m = 0`` on
    disabled pairs.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> env = FiniteMDP(np.ones((1, 2, 1)), [1.0])
    >>> polytope_constraints(env, 0.5)[0].toarray().tolist()
    [[0.5, 0.5]]
    """
    S, A = env.n_states, env.n_actions
    cols = np.arange(S * A)
    E = sp.csr_matrix((env.enabled.ravel().astype(float), (cols // A, cols)), shape=(S, S * A))
    return sp.csr_matrix(E - float(gamma) * env.transition_matrix.T), np.asarray(env.initial)


def sparse_occupancy_measure(env: FiniteMDP, m: Any) -> sp.csr_array:
    """The occupancy measure ``m(s, a) tau(s'|s, a)`` as a ``scipy.sparse.csr_array`` of
    shape ``(S*A, S)`` (row ``s*A + a``, column ``s'``: the layout of
    ``env.transition_matrix``) holding only ``tau``'s non-zeros: memory ``O(nnz)``, never
    the dense ``[S, A, S]`` array.

    ``m`` is the state-action occupancy ``[S, A]`` (or flattened ``[S*A]``) in floats.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> P = np.zeros((2, 1, 2)); P[0, 0] = [0.5, 0.5]; P[1, 0, 1] = 1.0
    >>> M = sparse_occupancy_measure(FiniteMDP(P, [1.0, 0.0]), np.array([[2.0], [3.0]]))
    >>> M.shape, M.nnz, M.toarray().tolist()
    ((2, 2), 3, [[1.0, 1.0], [0.0, 3.0]])
    """
    S, A = env.n_states, env.n_actions
    x = np.asarray(m, dtype=np.float64)
    if x.size != S * A or x.ndim not in (1, 2) or (x.ndim == 2 and x.shape != (S, A)):
        raise InvalidSpecificationError(
            f"a state-action occupancy must be shaped [{S}, {A}] or [{S * A}]; got {x.shape}")
    tau = env.transition_matrix
    rows = np.repeat(np.arange(S * A), np.diff(tau.indptr))
    return sp.csr_array((x.ravel()[rows] * tau.data, tau.indices.copy(), tau.indptr.copy()),
                        shape=(S * A, S))


def policy_from_occupancy(env: FiniteMDP, m: Any, fallback: Any = None) -> Policy:
    """The stationary policy ``pi(a|s) = m(s, a) / sum_b m(s, b)`` whose occupancy is ``m``.

    ``m`` is ``[S, A]`` (floats, or an object array of Fractions for an exact policy). Where
    ``sum_b m(s, b) = 0`` (states never visited) the row of ``fallback`` (an ``[S, A]``
    policy) is used, else the first enabled action.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> env = FiniteMDP(np.ones((1, 2, 1)), [1.0])
    >>> policy_from_occupancy(env, np.array([[F(1), F(3)]], dtype=object)).exact_probabilities()
    array([[Fraction(1, 4), Fraction(3, 4)]], dtype=object)
    """
    arr = np.asarray(m)
    S, A = env.n_states, env.n_actions
    if arr.shape != (S, A):
        raise InvalidSpecificationError(f"occupancy must be shaped [{S}, {A}]; got {arr.shape}")
    exact = arr.dtype == object
    if exact:
        out = np.empty((S, A), dtype=object)
        for s in range(S):
            row = [Fraction(x) if env.enabled[s, a] else Fraction(0) for a, x in enumerate(arr[s])]
            total = sum(row, Fraction(0))
            if total > 0:
                out[s] = [x / total for x in row]
            else:
                out[s] = _fallback_row(env, s, fallback, exact=True)
        return Policy(out)
    arr = np.where(env.enabled, np.maximum(arr.astype(np.float64), 0.0), 0.0)
    out_f = np.empty((S, A))
    totals = arr.sum(axis=1)
    for s in range(S):
        if totals[s] > 0:
            out_f[s] = arr[s] / totals[s]
        else:
            out_f[s] = _fallback_row(env, s, fallback, exact=False)
    return Policy(out_f)


def _fallback_row(env: FiniteMDP, s: int, fallback: Any, *, exact: bool) -> np.ndarray:
    if fallback is not None:
        row = np.asarray(fallback, dtype=object if exact else np.float64)[s]
        return np.array([Fraction(x) for x in row], dtype=object) if exact else row
    a = int(np.flatnonzero(env.enabled[s])[0])
    row = np.zeros(env.n_actions, dtype=object if exact else np.float64)
    if exact:
        row[:] = Fraction(0)
        row[a] = Fraction(1)
    else:
        row[a] = 1.0
    return row


def restricted(env: FiniteMDP, mask: np.ndarray) -> FiniteMDP:
    """``env`` with only the actions of ``mask`` (``[S, A]`` bool, a subset of
    ``env.enabled`` with an action in every state) enabled; sparse, ``O(nnz)``.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> env = FiniteMDP(np.ones((1, 2, 1)), [1.0])
    >>> restricted(env, np.array([[False, True]])).enabled_actions(0).tolist()
    [1]
    """
    mask = np.asarray(mask, dtype=bool) & env.enabled
    if not mask.any(axis=1).all():
        raise InvalidSpecificationError("a restricted action mask leaves a state with no action")
    keep = sp.diags(mask.ravel().astype(float))
    return FiniteMDP(sp.csr_matrix(keep @ env.transition_matrix), env.initial, enabled=mask)


def exact_expected_rewards(env: FiniteMDP, reward: Any) -> np.ndarray:
    """``r(s, a) = sum_s' tau(s'|s, a) R(s, a, s')`` as an ``[S, A]`` Fraction array
    (``reward`` ``[S]``, ``[S, A]`` or ``[S, A, S]``; floats taken as the dyadic rationals
    they are).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> exact_expected_rewards(FiniteMDP(np.ones((1, 2, 1)), [1.0]), [[1, 0.5]]).tolist()
    [[Fraction(1, 1), Fraction(1, 2)]]
    """
    from objspec.mdp.exact import exact_rewards

    R = exact_rewards(env, reward)
    tau = env.exact_transitions()
    return np.asarray((tau * R).sum(axis=2), dtype=object)


def exact_policy_iteration(
    env: FiniteMDP, r: np.ndarray, gamma: Any, mask: np.ndarray, start: np.ndarray,
    *, max_iter: int = 1000,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Howard's policy iteration in exact rationals over the actions of ``mask``.

    ``r`` is an ``[S, A]`` Fraction reward, ``start`` a deterministic policy (``[S]``
    actions, moved into ``mask``). Returns ``(actions, V, Q)``: an optimal deterministic
    policy, ``V* [S]`` and ``Q* [S, A]`` (Fractions; ``Q`` meaningless off ``mask``).
    Optimality is the exact Bellman test ``max_{a in mask(s)} Q(s, a) = V(s)`` in every
    state (Puterman 1994, Theorem 6.2.6); a float solution as ``start`` is usually verified
    in one evaluation. Cost ``O(S^3)`` rational operations per evaluation.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> env = FiniteMDP(np.ones((1, 2, 1)), [1.0])
    >>> r = np.array([[F(0), F(1)]], dtype=object)
    >>> acts, V, Q = exact_policy_iteration(env, r, F(1, 2), env.enabled, np.array([0]))
    >>> acts.tolist(), V.tolist()
    ([1], [Fraction(2, 1)])
    """
    g = exact_discount(gamma)
    tau = env.exact_transitions()
    S, A = env.n_states, env.n_actions
    mask = np.asarray(mask, dtype=bool) & env.enabled
    r = np.array([[Fraction(x) for x in row] for row in np.asarray(r, dtype=object)],
                 dtype=object).reshape(S, A)
    acts = np.asarray(start, dtype=np.int64).copy()
    for s in range(S):
        if not mask[s, acts[s]]:
            acts[s] = int(np.flatnonzero(mask[s])[0])
    eye = np.array([[Fraction(int(i == j)) for j in range(S)] for i in range(S)], dtype=object)
    for _ in range(max_iter):
        chain = tau[np.arange(S), acts]  # [S, S]
        V = solve_rational(eye - g * chain, r[np.arange(S), acts])
        Q = np.empty((S, A), dtype=object)
        for s in range(S):
            for a in range(A):
                Q[s, a] = (r[s, a] + g * sum((tau[s, a, t] * V[t] for t in range(S)
                                              if tau[s, a, t] != 0), Fraction(0))
                           if mask[s, a] else None)
        improved = False
        for s in range(S):
            allowed = [int(a) for a in np.flatnonzero(mask[s])]
            best = allowed[int(np.argmax([Q[s, a] for a in allowed]))]
            if Q[s, best] > V[s]:
                acts[s] = int(best)
                improved = True
        if not improved:
            return acts, V, Q
    raise InvalidSpecificationError(f"exact policy iteration did not converge in {max_iter} steps")


def lexicographic_actions(
    env: FiniteMDP, rewards: Iterable[Any], gamma: Any, *, exact: bool, tol: float = 1e-9,
    stop_when_deterministic: bool = True,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Lexicographically optimal control for ``rewards`` (an iterable of ``[S, A]``
    rewards, most important first; read lazily).

    Successive action elimination (Gabor, Kalmar and Szepesvari 1998): solve for
    ``R_1``, keep in every state only the actions with ``Q_1*(s, a) = V_1*(s)``, solve for
    ``R_2`` over those, and so on. A policy optimal from ``mu0`` must use only optimal
    actions in the states it visits, and changing it where it never goes changes no
    expected return, so the return vectors of the lexicographically optimal policies are
    exactly those of the policies of the final mask; a deterministic one exists.

    With ``exact`` each stage is verified by :func:`exact_policy_iteration` and the optimal
    actions are selected by exact equality (``rewards`` as Fraction arrays); otherwise
    float control keeps the actions within ``tol`` (plus the certified error) of optimal,
    which can keep a slightly suboptimal action. Returns ``(mask, actions, stages)``: the
    final ``[S, A]`` mask, a deterministic policy in it and the number of stages read
    (stopping early once one action is left per state when ``stop_when_deterministic``;
    a reward that is zero on every remaining action is skipped without a solve).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> env = FiniteMDP(np.ones((1, 3, 1)), [1.0])
    >>> mask, acts, k = lexicographic_actions(env, [np.array([[1.0, 1.0, 0.0]]),
    ...                                            np.array([[0.0, 1.0, 5.0]])], 0.5,
    ...                                       exact=True)
    >>> mask.tolist(), acts.tolist(), k
    ([[False, True, False]], [1], 2)
    """
    mask = env.enabled.copy()
    acts = np.array([int(np.flatnonzero(mask[s])[0]) for s in range(env.n_states)])
    stages = 0
    for r in rewards:
        if stop_when_deterministic and (mask.sum(axis=1) == 1).all():
            break
        stages += 1
        rf = np.asarray(r, dtype=np.float64)
        if not np.any(rf[mask]) and all(x == 0 for x in np.asarray(r, dtype=object)[mask]):
            continue  # zero on every remaining action: every policy is optimal
        sub = restricted(env, mask)
        sol = optimal_values(sub, rf, float(gamma), tol=min(tol, 1e-8))
        acts = np.asarray(sol.policies, dtype=np.int64)
        if exact:
            acts, V, Q = exact_policy_iteration(env, np.asarray(r, dtype=object), gamma, mask,
                                                acts)
            new = np.zeros_like(mask)
            for s in range(env.n_states):
                for a in np.flatnonzero(mask[s]):
                    new[s, a] = Q[s, a] == V[s]
        else:
            Vf = np.asarray(sol.values, dtype=np.float64)
            Qf = rf + float(gamma) * (env.transition_matrix @ Vf).reshape(rf.shape)
            slack = tol * max(1.0, float(np.abs(Vf).max())) + 2 * float(sol.error_bound)
            new = mask & (Qf >= Vf[:, None] - slack)
        for s in range(env.n_states):
            new[s, acts[s]] = True  # the solved policy's own action is optimal
        mask = new
    return mask, acts, stages


def sequential_lp(
    env: FiniteMDP, gamma: float, stages: list[tuple[np.ndarray, Any]], *, tol: float = 1e-9,
) -> np.ndarray | None:
    """A sequence of linear programs over the occupancy polytope (HiGHS via
    :func:`scipy.optimize.linprog`, sparse constraints).

    ``stages`` is a list of ``(c, cap)`` with ``c`` an ``[S, A]`` objective: stage ``i``
    maximises ``<c_i, m>`` subject to what the earlier stages fixed, then adds the
    constraint ``<c_i, m> >= min(optimum_i, cap_i) - tol * scale`` (``cap`` None: no cap):
    thresholded lexicographic optimisation. Returns the final ``m`` ``[S, A]``, or None if
    a program fails. Floating point: the constraints hold to about ``tol`` only.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> env = FiniteMDP(np.ones((1, 3, 1)), [1.0])
    >>> m = sequential_lp(env, 0.5, [(np.array([[1.0, 1.0, 0.0]]), 1.0),
    ...                              (np.array([[0.0, 0.0, 1.0]]), None)])
    >>> round(float(m[0, 0] + m[0, 1]), 6), round(float(m[0, 2]), 6)  # capped at 1, rest
    (1.0, 1.0)
    """
    from scipy.optimize import linprog

    A_eq, b_eq = polytope_constraints(env, gamma)
    S, A = env.n_states, env.n_actions
    bounds = [(0.0, None if env.enabled.ravel()[i] else 0.0) for i in range(S * A)]
    ub_rows: list[np.ndarray] = []
    ub_rhs: list[float] = []
    m = None
    for c, cap in stages:
        cv = np.asarray(c, dtype=np.float64).ravel()
        res = linprog(-cv, A_ub=np.array(ub_rows) if ub_rows else None,
                      b_ub=np.array(ub_rhs) if ub_rhs else None, A_eq=A_eq, b_eq=b_eq,
                      bounds=bounds, method="highs")
        if res.status != 0:
            return None
        m = np.asarray(res.x)
        best = float(cv @ m)
        level = best if cap is None else min(best, float(cap))
        ub_rows.append(-cv)
        ub_rhs.append(-(level - tol * max(1.0, abs(level))))
    return None if m is None else m.reshape(S, A)


@dataclass(frozen=True)
class FrankWolfeResult:
    """The result of :func:`frank_wolfe`.

    Attributes
    ----------
    occupancy : numpy.ndarray
        The final iterate ``m`` ``[S, A]`` (a convex combination of ``vertices``).
    value : float
        ``F(m)``.
    gap : float
        Certified bound on ``max F - F(m)`` when ``F`` is concave and ``gradient`` its
        gradient: the Frank-Wolfe duality gap plus the oracle's certified error.
    iterations : int
    converged : bool
        Whether ``gap <= tol`` was reached.
    vertices : list of numpy.ndarray
        The deterministic policies (``[S]`` actions) of the active set.
    weights : numpy.ndarray
        Their weights.
    """

    occupancy: np.ndarray
    value: float
    gap: float
    iterations: int
    converged: bool
    vertices: list[np.ndarray]
    weights: np.ndarray


def _line_search(grad: Callable[[np.ndarray], np.ndarray], x: np.ndarray, g_x: np.ndarray,
                 d: np.ndarray, tmax: float) -> tuple[float, np.ndarray | None]:
    """Maximise the concave ``t -> F(x + t d)`` on ``[0, tmax]``: a root of its
    non-increasing derivative ``grad(x + t d) . d`` by regula falsi with the Illinois
    modification (one step for a quadratic ``F``). Returns ``t`` and the gradient at
    ``x + t d`` when it was computed there (else None)."""
    lo, hi = 0.0, tmax
    d_lo = float(g_x @ d)
    if d_lo <= 0:
        return 0.0, g_x
    g_hi = np.asarray(grad(x + tmax * d), dtype=np.float64)
    d_hi = float(g_hi @ d)
    if d_hi >= 0:
        return tmax, g_hi
    t, g_t = lo, g_x
    side = 0
    scale = abs(d_lo) + abs(d_hi)
    for _ in range(60):
        t = (lo * d_hi - hi * d_lo) / (d_hi - d_lo)
        if not lo < t < hi:
            t = 0.5 * (lo + hi)
        g_t = np.asarray(grad(x + t * d), dtype=np.float64)
        d_t = float(g_t @ d)
        if abs(d_t) <= 1e-12 * scale or hi - lo <= 1e-15 * tmax:
            break
        if d_t > 0:
            lo, d_lo = t, d_t
            if side == 1:
                d_hi *= 0.5
            side = 1
        else:
            hi, d_hi = t, d_t
            if side == -1:
                d_lo *= 0.5
            side = -1
    return t, g_t


def _project_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection onto the probability simplex (Held, Wolfe and Crowder 1974)."""
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - 1.0
    k = np.flatnonzero(u - css / np.arange(1, len(v) + 1) > 0)[-1]
    return np.maximum(v - css[k] / (k + 1), 0.0)


#: Tolerance of the corrective steps' simplex QP, relative to max(tol, _QP_TOL * gap).
_QP_TOL = 1e-2


def _simplex_qp(w: np.ndarray, c: np.ndarray, H: np.ndarray, tol: float,
                iters: int = 2000) -> np.ndarray:
    """Maximise ``q(u) = c . (u - w) + (u - w)^T H (u - w) / 2`` over the simplex (``H``
    negative semidefinite) by accelerated projected gradient from ``w`` with gradient
    restarts (O'Donoghue and Candes 2015), stopping once the simplex duality gap
    ``max_i dq_i - dq . u`` (a bound on ``max q - q(u)``) is at most ``tol``."""
    # a Lipschitz constant of the model's gradient: the Frobenius and infinity norms bound
    # the spectral norm of the symmetric H (and need no LAPACK call)
    L = min(float(np.sqrt(np.sum(H * H))), float(np.abs(H).sum(axis=1).max()))
    if L <= 1e-300:  # a linear model: its best vertex
        out = np.zeros_like(w)
        out[int(np.argmax(c))] = 1.0
        return out
    u = w.copy()
    y = w.copy()
    t = 1.0
    for k in range(iters):
        u_new = _project_simplex(y + (c + H @ (y - w)) / L)
        if k % 8 == 7:
            grad = c + H @ (u_new - w)
            if float(grad.max() - grad @ u_new) <= tol:
                return u_new
        t_new = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
        step = u_new - u
        if float((c + H @ (y - w)) @ step) < 0:  # momentum against the ascent: restart
            t_new, y = 1.0, u_new
        else:
            y = u_new + (t - 1) / t_new * step
        u, t = u_new, t_new
    return u


def _simplex_qp_active_set(w: np.ndarray, c: np.ndarray, H: np.ndarray,
                           max_iter: int = 500) -> np.ndarray | None:
    """Maximise ``q(u) = c . (u - w) + (u - w)^T H (u - w) / 2`` over the simplex (``H``
    negative semidefinite, small) by the primal active-set method for convex quadratic
    programmes (Nocedal and Wright 2006, Algorithm 16.3) from the feasible ``w``: on the
    face of the free weights, the Newton step within ``sum u = 0`` (the reduced Hessian's
    eigen-decomposition, so a singular ``H`` is allowed: along a flat direction of ascent
    the step goes to the face's boundary), a ratio test, and release of the bound with the
    largest positive multiplier at a face's optimum. None if it does not finish in
    ``max_iter`` steps (the caller then uses projected gradient)."""
    k = len(w)
    u = np.maximum(w.astype(np.float64), 0.0)
    u /= u.sum()
    free = u > 0
    scale = max(float(np.abs(H).max()), 1e-300)
    stationary = False  # at the optimum of the current face (after a full Newton step)
    for _ in range(max_iter):
        grad = c + H @ (u - w)
        idx = np.flatnonzero(free)
        n = len(idx)
        step = np.zeros(k)
        climb = np.zeros(0, dtype=bool)
        if n > 1 and not stationary:
            basis = np.linalg.qr(np.ones((n, 1)), mode="complete")[0][:, 1:]  # sum-zero
            red = -(basis.T @ H[np.ix_(idx, idx)] @ basis)  # positive semidefinite
            lam, vec = np.linalg.eigh(0.5 * (red + red.T))
            pr = vec.T @ (basis.T @ grad[idx])
            flat = lam <= 1e-10 * max(float(lam.max()), scale)
            climb = flat & (np.abs(pr) > 1e-14 * (1.0 + float(np.abs(grad).max())))
            if climb.any():  # a direction of ascent without curvature: to the boundary
                j = int(np.flatnonzero(climb)[0])
                step[idx] = basis @ (vec[:, j] * np.sign(pr[j]))
                step *= 1e6 / max(float(np.abs(step).max()), 1e-300)  # effectively unbounded
            else:
                coef = np.where(flat, 0.0, pr / np.where(flat, 1.0, lam))
                step[idx] = basis @ (vec @ coef)
        if stationary or np.abs(step).max() <= 1e-15:
            # optimal on this face: release the bound whose multiplier says "increase me"
            stationary = False
            level = float(grad[idx].mean())
            bound = np.flatnonzero(~free)
            if len(bound) == 0:
                return u
            j = int(bound[np.argmax(grad[bound])])
            if grad[j] - level <= 1e-12 * (1.0 + float(np.abs(grad).max())):
                return u
            free[j] = True
            continue
        neg = step < 0
        ratios = np.full(k, np.inf)
        ratios[neg] = u[neg] / -step[neg]
        blocking = int(np.argmin(ratios))
        alpha = min(1.0, float(ratios[blocking]))
        u = u + alpha * step
        if alpha < 1.0:
            u[blocking] = 0.0
            free[blocking] = False
        else:
            stationary = not climb.any()
        u = np.maximum(u, 0.0)
        u /= u.sum()
    return None


class _LinearOracle:
    r"""``max_{m in M_gamma} <g, m>`` for a sequence of slowly changing rewards ``g``:
    value iteration warm-started from the previous call's values, with MacQueen's bounds
    (MacQueen 1966; Puterman 1994, Section 6.6.3)

    .. math:: TV + \tfrac{\gamma}{1-\gamma}\min(TV - V) \le V^* \le
              TV + \tfrac{\gamma}{1-\gamma}\max(TV - V),

    so ``mu0 . V*``, the oracle's value, has a certified bracket after every sweep (plus
    a rounding allowance). A call stops once the upper end certifies ``gap <= tol``, or
    once the bracket is narrow next to the gap (``<= tol / 4`` or a tenth of its lower
    end: the greedy vertex is then good enough to step towards), and falls back to
    :func:`objspec.mdp.optimal_values` after :attr:`MAX_SWEEPS` sweeps."""

    MAX_SWEEPS = 2_000

    def __init__(self, env: FiniteMDP, gamma: float) -> None:
        self.env = env
        self.gamma = float(gamma)
        self.P = env.transition_matrix
        self.mu0 = np.asarray(env.initial, dtype=np.float64)
        self.disabled = ~np.asarray(env.enabled, dtype=bool)
        self.V = np.zeros(env.n_states)

    def __call__(self, g: np.ndarray, x: np.ndarray, tol: float) -> tuple[float, np.ndarray]:
        """``(gap, actions)``: a certified upper bound on ``max_{m'} <g, m' - x>`` and a
        deterministic policy greedy for the final values."""
        S, A = self.env.n_states, self.env.n_actions
        gam = self.gamma
        r = g.reshape(S, A)
        gx = float(g @ x)
        V = self.V
        k = gam / (1 - gam)
        for _ in range(self.MAX_SWEEPS):
            Q = r + gam * (self.P @ V).reshape(S, A)
            Q[self.disabled] = -np.inf
            TV = Q.max(axis=1)
            delta = TV - V
            base = float(self.mu0 @ TV)
            slack = 1e-13 * (1.0 + float(np.abs(TV).max())) / (1 - gam)  # rounding
            hi = base + k * float(delta.max()) + slack - gx
            lo = base + k * float(delta.min()) - slack - gx
            V = TV
            if hi <= tol or hi - lo <= max(0.25 * tol, 0.1 * lo):
                self.V = V
                return max(hi, 0.0), np.argmax(Q, axis=1)
        sol = optimal_values(self.env, r, gam, tol=max(tol * 1e-2, 1e-12))
        self.V = np.asarray(sol.values, dtype=np.float64)
        upper = float(self.mu0 @ sol.values) + float(sol.error_bound)
        return max(upper - gx, 0.0), np.asarray(sol.policies, dtype=np.int64)


class _VertexOccupancy:
    """The state-action occupancy of a deterministic policy, warm-started from the
    nearest known vertex: ``d <- mu0 + gamma P_pi^T d`` from the neighbour's visitation,
    whose error in l1 after a sweep with change ``r`` is at most
    ``gamma |r|_1 / (1 - gamma)``, stopped below ``1e-11`` of the total mass
    ``1 / (1 - gamma)``; when that would take more than :attr:`MAX_SWEEPS` sweeps (more,
    up to 2,000, on chains with under 5,000 non-zeros; no close neighbour, gamma near 1)
    :func:`objspec.mdp.state_visitation` solves it."""

    MAX_SWEEPS = 400

    def __init__(self, env: FiniteMDP, gamma: float) -> None:
        self.env = env
        self.gamma = float(gamma)
        self.P = env.transition_matrix
        self.mu0 = np.asarray(env.initial, dtype=np.float64)
        self.known: list[tuple[np.ndarray, np.ndarray]] = []  # (actions, visitation)

    def __call__(self, actions: np.ndarray) -> np.ndarray:
        S, A = self.env.n_states, self.env.n_actions
        gam = self.gamma
        d = None
        if self.known:
            agree = [int(np.sum(a == actions)) for a, _ in self.known]
            j = int(np.argmax(agree))
            PT = sp.csr_matrix(self.P[np.arange(S) * A + actions].T)
            d = self.known[j][1].copy()
            target = 1e-11 / (1 - gam)
            change = np.inf
            sweeps = 0
            while gam * change / (1 - gam) > target:
                new = self.mu0 + gam * (PT @ d)
                change = float(np.abs(new - d).sum())
                d = new
                sweeps += 1
                # a sweep costs O(nnz): on small chains more of them beat a Krylov solve
                budget = min(max(self.MAX_SWEEPS, 2_000_000 // max(PT.nnz, 1)), 2000)
                if sweeps == 8 and (np.log(target * (1 - gam) / max(gam * change, 1e-300))
                                    / np.log(gam) > budget):
                    d = None  # too slow from here: the Krylov solve
                    break
        if d is None:
            d = np.asarray(state_visitation(self.env, np.eye(A)[actions], gam), dtype=np.float64)
        self.known.append((np.asarray(actions).copy(), d))
        if len(self.known) > 64:
            self.known.pop(0)
        out = np.zeros((S, A))
        out[np.arange(S), actions] = d
        return out.ravel()


def frank_wolfe(
    env: FiniteMDP, gamma: float, F: Callable[[np.ndarray], float],
    gradient: Callable[[np.ndarray], np.ndarray], starts: list[np.ndarray], *,
    tol: float = 1e-6, max_iter: int = 10_000, expired: Callable[[], bool] | None = None,
) -> FrankWolfeResult:
    r"""Maximise a concave ``F`` over the occupancy polytope by blended conditional
    gradients.

    ``F`` and ``gradient`` act on flattened ``[S*A]`` occupancy vectors; ``starts`` are
    deterministic policies (``[S]`` actions), the initial active set (the best one starts).
    The linear oracle ``max_{m'} <g, m'>`` with ``g = gradient(m)`` is
    :func:`objspec.mdp.optimal_values` with reward ``g``: a deterministic policy and a
    certified upper bound ``U >= max_{m'} <g, m'>``. Concavity of ``F`` (on the whole
    space, so it holds for the floating-point iterate too) gives

    .. math:: \max F - F(m) \le \max_{m'} \langle g, m' - m\rangle \le U - \langle g, m\rangle,

    the certified gap; the method stops right after an oracle call whose gap is at most
    ``tol`` (every step is a line search, so ``F`` never decreases and the last gap stays
    valid if the loop is stopped early).

    Steps (blended conditional gradients: Braun, Pokutta, Tu and Wright, ICML 2019; with
    pairwise steps: Tsuji, Tanaka and Pokutta 2022). A *corrective* step re-weights the
    active vertices without an oracle call: a Newton step on the secant model of ``F``
    built from the gradients cached at the vertices (exact for quadratic ``F``), solved on
    the simplex of weights by a primal active-set method (accelerated projected gradient
    beyond 50 vertices), then a line search on the directional derivative; a pairwise
    step if the model misleads. It is taken whenever
    the active set's own gap ``max_i <g, v_i> - min_j <g, v_j>`` is at least half of the
    last oracle gap ``phi`` (then no oracle is called), or when the oracle's gap does not
    exceed it. Otherwise the step goes towards the oracle's vertex, which joins the active
    set. The oracle is value iteration warm-started from the previous call's values, with
    MacQueen's certified bounds (it stops early when the bracket is narrow next to the
    gap; :func:`objspec.mdp.optimal_values` after 2,000 sweeps). Each new vertex costs
    one policy evaluation, warm-started from the nearest known vertex (else
    :func:`objspec.mdp.state_visitation`). Memory ``O(nnz + k S A)`` for ``k`` active
    vertices.
    Pairwise and away-step variants converge linearly for strongly concave ``F`` on a
    polytope (Lacoste-Julien and Jaggi 2015, Theorem 1), ``O(1/t)`` in general (Jaggi
    2013); blended conditional gradients keep these rates with fewer oracle calls.

    Examples
    --------
    Maximise ``-(m(0, 0) - 1)^2`` in a one-state MDP with two actions, ``gamma = 1/2``
    (total mass 2): the optimum puts mass 1 on action 0.

    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> env = FiniteMDP(np.ones((1, 2, 1)), [1.0])
    >>> F = lambda x: -(x[0] - 1.0) ** 2
    >>> grad = lambda x: np.array([-2 * (x[0] - 1.0), 0.0])
    >>> res = frank_wolfe(env, 0.5, F, grad, [np.array([0])], tol=1e-9)
    >>> res.occupancy.round(6).tolist(), res.converged, res.gap <= 1e-9
    ([[1.0, 1.0]], True, True)
    """
    if not (isinstance(tol, float | int) and np.isfinite(tol) and tol > 0):
        raise InvalidSpecificationError(f"frank_wolfe tol must be a positive real; got {tol!r}")
    S, A = env.n_states, env.n_actions
    vertex = _VertexOccupancy(env, gamma)
    oracle = _LinearOracle(env, gamma)

    def grad_at(x: np.ndarray) -> np.ndarray:
        g = np.asarray(gradient(x), dtype=np.float64)
        if g.shape != (S * A,) or not np.isfinite(g).all():
            raise InvalidSpecificationError(
                f"the gradient must be {S * A} finite reals; got shape {g.shape}")
        return g

    keys: list[bytes] = []
    verts: list[np.ndarray] = []
    acts: list[np.ndarray] = []
    for a in starts:
        a = np.asarray(a, dtype=np.int64)
        if a.tobytes() not in keys:
            keys.append(a.tobytes())
            acts.append(a)
            verts.append(vertex(a))
    if not verts:
        raise InvalidSpecificationError("frank_wolfe needs at least one start policy")
    best = int(np.argmax([F(v) for v in verts]))
    keys, acts, verts = [keys[best]], [acts[best]], [verts[best]]
    grads = [grad_at(verts[0])]  # the gradient at each vertex (the secant model)
    weights = np.array([1.0])
    x = verts[0].copy()
    gap = np.inf
    phi = np.inf  # the last oracle gap
    it = 0
    converged = False
    force_oracle = False
    g_next: np.ndarray | None = None

    def pairwise(j_to: int, j_aw: int) -> np.ndarray:
        target = weights.copy()
        target[j_to] += weights[j_aw]
        target[j_aw] = 0.0
        return target

    while True:
        g = g_next if g_next is not None else grad_at(x)
        g_next = None
        X = np.stack(verts)
        scores = X @ g
        j_aw, j_to = int(np.argmin(scores)), int(np.argmax(scores))
        local_gap = float(scores[j_to] - scores[j_aw])
        after_failure = force_oracle  # the last corrective step made no progress
        corrective = (not force_oracle and j_aw != j_to and local_gap >= 0.5 * phi
                      and it < max_iter)
        force_oracle = False
        if not corrective:
            gap, a_fw = oracle(g, x, tol)
            phi = gap
            if gap <= tol:
                converged = True
                break
            if it >= max_iter or (expired is not None and expired()):
                break
            corrective = local_gap >= gap and j_aw != j_to and not after_failure
        it += 1
        if corrective:
            # re-weight the active set: a Newton step on the secant model built from the
            # cached vertex gradients (exact for quadratic F), solved on the simplex of
            # weights, then a line search; no oracle call, no new vertex
            D = X - x
            G_v = np.stack(grads) - g
            H = D @ G_v.T
            H = 0.5 * (H + H.T)
            exact = _simplex_qp_active_set(weights, scores, H) if len(weights) <= 50 else None
            target = exact if exact is not None else _simplex_qp(
                weights, scores, H, _QP_TOL * max(tol, _QP_TOL * min(phi, 1e300)))
            if np.abs(target - weights).max() <= 1e-15:  # no model progress: pairwise
                target = pairwise(j_to, j_aw)
            d = X.T @ (target - weights)
            t, g_next = _line_search(gradient, x, g, d, 1.0)
            if t <= 0:  # the secant model misled (F not quadratic): a pairwise step
                target = pairwise(j_to, j_aw)
                d = X.T @ (target - weights)
                t, g_next = _line_search(gradient, x, g, d, 1.0)
                if t <= 0:  # no progress inside the active set: ask the oracle
                    force_oracle = True
                    g_next = g
                    continue
            weights = weights + t * (target - weights)
            x = X.T @ weights
        else:
            k_fw = a_fw.tobytes()
            v_fw = verts[keys.index(k_fw)] if k_fw in keys else vertex(a_fw)
            d = v_fw - x
            t, g_next = _line_search(gradient, x, g, d, 1.0)
            if t <= 0:
                break
            weights = weights * (1 - t)
            if k_fw in keys:
                weights[keys.index(k_fw)] += t
            else:
                keys.append(k_fw)
                acts.append(a_fw)
                verts.append(v_fw)
                grads.append(grad_at(v_fw))
                weights = np.append(weights, t)
            x = x + t * d
        keep = weights > 1e-14
        if not keep.all():
            keys = [k for k, kk in zip(keys, keep, strict=True) if kk]
            acts = [a for a, kk in zip(acts, keep, strict=True) if kk]
            verts = [v for v, kk in zip(verts, keep, strict=True) if kk]
            grads = [v for v, kk in zip(grads, keep, strict=True) if kk]
            weights = np.maximum(weights[keep], 0.0)
            weights = weights / weights.sum()
            x = np.sum([w * v for w, v in zip(weights, verts, strict=True)], axis=0)
            g_next = None
    return FrankWolfeResult(x.reshape(S, A), float(F(x)), float(gap), it, converged, acts,
                            weights)
