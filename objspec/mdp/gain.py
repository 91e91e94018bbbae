"""Gain-optimal (long-run average) control of multichain MDPs, with a proven bound.

:func:`gain_optimal_policy` solves the multichain linear program of Puterman (*Markov
Decision Processes*, 1994, section 9.3) in its dual form over the pairs ``(x, y)``:

.. math:: \\max \\sum_{s,a} r(s,a)\\, x(s,a) \\quad \\text{s.t.} \\quad
          \\sum_a x(j,a) - \\sum_{s,a} p(j|s,a)\\, x(s,a) = 0, \\quad
          \\sum_a x(j,a) + \\sum_a y(j,a) - \\sum_{s,a} p(j|s,a)\\, y(s,a) = \\beta_j,
          \\quad x, y \\ge 0,

with ``beta`` uniform (strictly positive, so that the policy is gain-optimal from *every*
state, hence for every initial distribution). HiGHS solves it (polynomial: linear
programming). The deterministic policy is read off as in Puterman's Theorem 9.3.8: on the
states where ``sum_a x(s, a) > 0`` an action with ``x(s, a) > 0`` (these states are
recurrent under the policy), elsewhere an action with ``y(s, a) > 0`` (they lead there).

**Certificate** (:func:`gain_upper_bound`). For any vector ``V`` let ``d = T V - V`` with
``T V(s) = max_a r(s,a) + P_a V(s)``, and let ``u >= d`` be *superharmonic*
(``u >= P_a u`` for every enabled action). Then every stationary policy ``sigma`` has
``g_sigma <= u`` state by state: from ``r_sigma + P_sigma V <= T V`` we get
``r_sigma <= d + V - P_sigma V``, and multiplying by the Cesaro limit ``P*_sigma``
(non-negative, with ``P*_sigma P_sigma = P*_sigma``) gives
``g_sigma = P*_sigma r_sigma <= P*_sigma d <= P*_sigma u <= u``. Such a ``u`` is built
without solving anything: ``max_{t reachable from s} d(t)`` is superharmonic, and
``u <- min(u, max(d, max_a P_a u + m))`` (``m`` a floating-point rounding margin, ``u``
kept constant on maximal end components) keeps it superharmonic and ``>= d`` by
monotonicity while it descends towards the least such ``u``. With ``V`` a bias ``h`` (the
linear program's dual values, or the bias of the policy found by multichain policy
iteration lifted to ``h + M g`` so that it is feasible for every action), ``d`` is the
optimal gain up to the solver's tolerance and ``mu0 . u`` is a proven upper bound on the
optimal value ``max_sigma mu0 . g_sigma``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from objspec.errors import SolverError
from objspec.mdp.csr import matvec_adder
from objspec.mdp.model import FiniteMDP
from objspec.mdp.rewards import expected_rewards, normalize_rewards

__all__ = [
    "GainBracket",
    "GainSolution",
    "gain_value_iteration",
    "gain_optimal_policy",
    "gain_policy_iteration",
    "gain_upper_bound",
    "maximal_end_components",
]

EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class GainSolution:
    """A gain-optimal policy from the multichain linear program.

    Attributes
    ----------
    actions : numpy.ndarray
        ``[S]`` ints: the deterministic policy read off the solution.
    gains : numpy.ndarray
        ``[S]``: the optimal gains ``g*`` as the linear program's dual values.
    bias : numpy.ndarray
        ``[S]``: a bias ``h`` (dual values) such that ``(g, h)`` is feasible for the primal
        program up to the solver's tolerance.
    iterations : int
        Simplex or interior-point iterations of HiGHS.
    """

    actions: np.ndarray
    gains: np.ndarray
    bias: np.ndarray
    iterations: int


@dataclass(frozen=True)
class GainBracket:
    """A greedy policy of relative value iteration with a proven bracket on gains.

    For every state ``s``: ``lower <= g_sigma(s)`` for the policy ``sigma = actions``, and
    ``g_tau(s) <= upper`` for every stationary policy ``tau`` (so ``upper`` bounds the
    optimal gain from every state and every initial distribution). Proof in
    :func:`gain_value_iteration`.

    Attributes
    ----------
    actions : numpy.ndarray
        ``[S]`` ints: the greedy deterministic policy of the last sweep.
    lower, upper : float
        The bracket; ``upper - lower`` is ``span(T W - W)`` plus a rounding margin.
    values : numpy.ndarray
        ``[S]``: the last iterate ``W`` (normalised so that ``W[0] = 0``).
    iterations : int
        Sweeps done.
    converged : bool
        Whether ``upper - lower <= tol`` was reached (else the caller must look further:
        the optimal gain may differ between states, on multichain MDPs).
    """

    actions: np.ndarray
    lower: float
    upper: float
    values: np.ndarray
    iterations: int
    converged: bool


#: Sweeps to the first span check of :func:`gain_value_iteration`, and between two checks
#: while no contraction rate is observed; later checks are placed where the observed rate
#: predicts convergence, at most :data:`SPAN_GAP` sweeps apart.
SPAN_CHECK = 4
SPAN_GAP = 12

#: :func:`gain_value_iteration` gives up when the span shrank by less than this factor
#: since the last measurement at least ``STALL_WINDOW`` sweeps back (a gain that differs
#: between states, or very slow mixing).
STALL_FACTOR = 0.25
STALL_WINDOW = 32


def gain_value_iteration(env: FiniteMDP, reward: Any, *, tol: float = 1e-9,
                         max_iter: int = 10_000, deadline: float | None = None
                         ) -> GainBracket:
    """Relative value iteration with the span bound (Puterman 1994, sections 8.5 and 9.4).

    Iterates ``W <- T W - (T W)[0]`` with ``T W(s) = max_a r(s,a) + P_a W(s)`` and stops
    when ``span(T W - W) <= tol`` (``converged``), after ``max_iter`` sweeps, at
    ``deadline``, or when the span stalls (it then stays above ``span(g*) > 0`` on an MDP
    whose optimal gain differs between states). Each sweep is one sparse product with the
    ``[S*A, S]`` transition matrix; nothing is solved. The span is measured after
    :data:`SPAN_CHECK` sweeps and then where the contraction observed between the last two
    measurements predicts ``tol`` (at most :data:`SPAN_GAP` sweeps on), so that few sweeps
    are spent past convergence and few on measuring.

    **Bracket.** Let ``d = T W - W`` and ``sigma`` greedy for ``W``, so
    ``d = r_sigma + P_sigma W - W``. Multiplying by the Cesaro limit ``P*_sigma``
    (non-negative, rows summing to 1, ``P*_sigma P_sigma = P*_sigma``) gives
    ``g_sigma = P*_sigma d >= min d`` state by state. For any stationary ``tau``,
    ``r_tau + P_tau W - W <= d`` gives ``g_tau <= P*_tau d <= max d`` (the constant
    ``max d`` is the superharmonic majorant of :func:`gain_upper_bound`, found without
    sweeps). Both hold for every MDP, multichain ones included; the bracket is narrow
    exactly when the optimal gain is the same from every state (weakly communicating
    MDPs: Puterman 1994, section 8.3). ``lower`` and ``upper`` are widened by a bound on the
    floating-point rounding of ``T W`` and of the row sums of ``P``.

    Parameters
    ----------
    env : FiniteMDP
    reward : array_like
        ``[S]``, ``[S, A]`` or ``[S, A, S]``.
    tol : float
        Width of the bracket to reach.
    max_iter : int
    deadline : float or None
        A :func:`time.monotonic` time.

    Returns
    -------
    GainBracket

    Examples
    --------
    A two-state cycle with rewards 1 and 3 has gain 2 under its only policy:

    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.mdp.gain import gain_value_iteration
    >>> P = np.zeros((2, 1, 2)); P[0, 0, 1] = P[1, 0, 0] = 0.5; P[0, 0, 0] = P[1, 0, 1] = 0.5
    >>> out = gain_value_iteration(FiniteMDP(P, [1.0, 0.0]), [1.0, 3.0])
    >>> out.converged, bool(out.lower <= 2.0 <= out.upper), out.upper - out.lower < 1e-9
    (True, True, True)
    """
    r = _expected(env, reward)
    S, A = env.n_states, env.n_actions
    n, row_err = _row_margin(env)
    flat = np.ascontiguousarray(
        r.ravel() if env.all_enabled else np.where(env.enabled, r, -np.inf).ravel())
    r_max = float(np.abs(r[env.enabled]).max(initial=0.0))
    m = env.transition_matrix
    # two buffers: the sweep reads one and writes the other
    bufs = (np.zeros(S), np.zeros(S))
    Q = np.empty(S * A)
    add_product = matvec_adder(m)
    history: list[tuple[int, float]] = []  # (sweep, bracket width) at each check
    check = SPAN_CHECK
    it = 0
    while True:
        old, new = bufs[it % 2], bufs[(it + 1) % 2]
        it += 1
        np.copyto(Q, flat)  # -inf on disabled actions
        add_product(old, Q)  # Q = r + P W, summed from r (a margin below covers it)
        V = new
        if A == 1:
            V[:] = Q
        else:  # strided maxima: much faster than a reduction over a short last axis
            np.maximum(Q[0::A], Q[1::A], out=V)
            for a in range(2, A):
                np.maximum(V, Q[a::A], out=V)
        last = it >= max_iter or (deadline is not None and time.monotonic() >= deadline)
        if it >= check or last:
            W = old
            d = V - W
            scale = max(float(np.abs(W).max()), float(np.abs(V).max()))
            # rounding of r + sum_k p_k W_k (any summation order) and of V - W
            margin = (n + 3) * EPS * (scale + r_max) + row_err * scale
            lo, hi = float(d.min()) - margin, float(d.max()) + margin
            width = hi - lo
            if not np.isfinite(width):
                raise SolverError("value iteration overflowed: rescale the reward")
            earlier = [w for i, w in history if i <= it - STALL_WINDOW]
            stalled = bool(earlier) and width > STALL_FACTOR * earlier[-1]
            if width <= tol or last or stalled:
                actions = Q.reshape(S, A).argmax(axis=1).astype(np.int64)
                return GainBracket(actions, lo, hi, W - W[0], it, width <= tol)
            check = it + _next_check(history, it, width, tol)
            history.append((it, width))
            V -= V[0]


def _next_check(history: list[tuple[int, float]], it: int, width: float, tol: float) -> int:
    """Sweeps until the next span check of :func:`gain_value_iteration`: where the rate
    observed since the previous check predicts ``width <= tol``, at least 1 and at most
    :data:`SPAN_GAP` sweeps on; :data:`SPAN_CHECK` before a rate is known or while the
    width does not shrink."""
    if not history or not 0.0 < width < history[-1][1]:
        return SPAN_CHECK
    before, previous = history[-1]
    rate = (width / previous) ** (1.0 / (it - before))
    needed = float(np.ceil(np.log(tol / width) / np.log(rate)))
    return int(min(SPAN_GAP, max(1.0, needed)))


def _expected(env: FiniteMDP, reward: Any) -> np.ndarray:
    arr, kind, _ = normalize_rewards(env, reward, batched=False)
    return np.asarray(expected_rewards(env, arr, kind)[0], dtype=np.float64)  # [S, A]


def gain_optimal_policy(env: FiniteMDP, reward: Any) -> GainSolution:
    """Solve the multichain linear program for ``reward`` (module docstring).

    Parameters
    ----------
    env : FiniteMDP
    reward : array_like
        ``[S]``, ``[S, A]`` or ``[S, A, S]``.

    Returns
    -------
    GainSolution

    Raises
    ------
    SolverError
        If HiGHS does not report an optimal solution (the program is always feasible and
        bounded, so this means numerical trouble).

    Examples
    --------
    Staying in state 0 (reward 1) or moving for good to state 1 (reward 2):

    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.mdp.gain import gain_optimal_policy
    >>> P = np.zeros((2, 2, 2)); P[0, 0, 0] = P[0, 1, 1] = P[1, :, 1] = 1.0
    >>> sol = gain_optimal_policy(FiniteMDP(P, [1.0, 0.0]), [[1, 0], [2, 2]])
    >>> int(sol.actions[0]), sol.gains.round(9).tolist()
    (1, [2.0, 2.0])
    """
    from scipy.optimize import linprog

    r = _expected(env, reward)
    S, A = env.n_states, env.n_actions
    pairs = np.flatnonzero(env.enabled.ravel())  # enabled rows s * A + a
    E = pairs.size
    state_of = pairs // A
    B = sp.csr_matrix((np.ones(E), (state_of, np.arange(E))), shape=(S, E))
    Pt = sp.csr_matrix(env.transition_matrix[pairs].T)  # [S, E]: p(j | e)
    flow = (B - Pt).tocsr()
    zero = sp.csr_matrix((S, E))
    A_eq = sp.vstack([sp.hstack([flow, zero]), sp.hstack([B, flow])]).tocsc()
    beta = np.full(S, 1.0 / S)
    b_eq = np.concatenate([np.zeros(S), beta])
    c = -np.concatenate([r.ravel()[pairs], np.zeros(E)])
    res = linprog(c, A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs-ipm")
    if res.status != 0 or res.x is None:
        raise SolverError(f"the multichain linear program failed: {res.message}")
    x, y = res.x[:E], res.x[E:]
    duals = -np.asarray(res.eqlin.marginals)
    bias, gains = duals[:S], duals[S:]
    xs = np.bincount(state_of, weights=x, minlength=S)
    # Theorem 9.3.8: x-action on S_x (recurrent), y-action elsewhere; x sums to 1
    scale = max(1.0, float(np.abs(res.x).max()))
    on_x = xs > 1e-12 * scale
    X = np.full((S, A), -np.inf)
    Y = np.full((S, A), -np.inf)
    X.ravel()[pairs] = x
    Y.ravel()[pairs] = y
    actions = np.where(on_x, X.argmax(axis=1), Y.argmax(axis=1)).astype(np.int64)
    iterations = int(getattr(res, "nit", 0) or 0)
    return GainSolution(actions, gains, bias, iterations)


def _bias(m: sp.csr_matrix, r_pi: np.ndarray, g: np.ndarray) -> np.ndarray:
    """A bias ``h``: ``(I - P) h = r_pi - g`` with ``h = 0`` at one state of each
    recurrent class (that state's equation is redundant; the system is nonsingular)."""
    import scipy.sparse.linalg as spla

    from objspec.mdp.longrun import recurrent_classes

    S = m.shape[0]
    pins = np.array([int(c[0]) for c in recurrent_classes(m)], dtype=np.int64)
    keep = np.ones(S)
    keep[pins] = 0.0
    system = sp.eye(S, format="csr") - sp.diags(keep) @ m
    rhs = (r_pi - g) * keep
    # BiCGSTAB first (fast on well-mixing chains, where LU fills in), sparse LU otherwise
    h, info = spla.bicgstab(system, rhs, rtol=1e-13, atol=0.0, maxiter=400)
    norm = max(float(np.abs(rhs).sum()), 1e-300)
    if info != 0 or not np.all(np.isfinite(h)) or (
            float(np.abs(system @ h - rhs).sum()) > 1e-11 * norm):
        h = np.asarray(spla.spsolve(system.tocsc(), rhs), dtype=np.float64)
    if not np.all(np.isfinite(h)):
        raise SolverError("the bias equations of a policy could not be solved")
    return h


def gain_policy_iteration(env: FiniteMDP, reward: Any, start: Any = None, *,
                          max_iter: int = 1000, deadline: float | None = None
                          ) -> GainSolution:
    """Multichain policy iteration in floating point (Puterman 1994, section 9.2.1).

    Each policy is evaluated by its gains (:func:`objspec.mdp.longrun.long_run_average_values`)
    and a bias from one sparse solve; the improvement maximises ``P_a g`` first and then,
    among the maximisers, ``r_a + P_a h``, switching only on improvements beyond a
    relative ``1e-12`` (so rounding cannot make it cycle). The default start is the
    optimal policy for the discount ``0.999`` (nearly Blackwell-optimal). Fast on large
    models; what it proves comes from :func:`gain_upper_bound`.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> P = np.zeros((2, 2, 2)); P[0, 0, 0] = P[0, 1, 1] = P[1, :, 1] = 1.0
    >>> sol = gain_policy_iteration(FiniteMDP(P, [1.0, 0.0]), [[1, 0], [2, 2]])
    >>> sol.actions.tolist(), sol.gains.round(12).tolist()
    ([1, 0], [2.0, 2.0])
    """
    from objspec.mdp.control import optimal_values
    from objspec.mdp.linear import induced_chain_sparse
    from objspec.mdp.longrun import long_run_average_values
    from objspec.mdp.policy import Policy

    r = _expected(env, reward)
    S, A = env.n_states, env.n_actions
    m = env.transition_matrix
    scale = max(1.0, float(np.abs(r).max(initial=0.0)))
    if start is None:
        acts = np.asarray(optimal_values(env, r, 0.999, tol=1e-6 * scale * 1000).policies)
    else:
        acts = np.asarray(start, dtype=np.int64).copy()
    states = np.arange(S)
    eye = np.eye(A)
    g = h = np.zeros(S)
    it = 0
    while it < max_iter:
        it += 1
        pi = eye[acts]
        g = np.asarray(long_run_average_values(env, Policy(pi), r), dtype=np.float64)
        h = _bias(induced_chain_sparse(env, pi), r[states, acts], g)
        if deadline is not None and time.monotonic() >= deadline:
            break
        tol_g = 1e-12 * max(1.0, float(np.abs(g).max()))
        Pg = np.where(env.enabled, np.asarray(m @ g).reshape(S, A), -np.inf)
        current = Pg[states, acts]
        best = Pg.argmax(axis=1)
        switch = Pg[states, best] > current + tol_g
        if not switch.any():
            tol_h = 1e-12 * max(1.0, float(np.abs(h).max()), float(np.abs(g).max()))
            Q = r + np.asarray(m @ h).reshape(S, A)
            Q = np.where(env.enabled & (Pg >= current[:, None] - tol_g), Q, -np.inf)
            best = Q.argmax(axis=1)
            switch = Q[states, best] > Q[states, acts] + tol_h
            if not switch.any():
                break
        acts = np.where(switch, best, acts)
    return GainSolution(acts.astype(np.int64), g, _lift_bias(env, r, g, h), it)


def _lift_bias(env: FiniteMDP, r: np.ndarray, g: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``h + M g`` with ``M`` large enough that ``g + h >= r_a + P_a h`` also holds for
    the actions with ``P_a g < g`` (Puterman 1994, section 9.1): policy iteration's bias
    satisfies it only among the maximisers of ``P_a g``; the certificate wants all."""
    S, A = r.shape
    m = env.transition_matrix
    gap = g[:, None] - np.asarray(m @ g).reshape(S, A)  # >= 0 up to rounding
    excess = r + np.asarray(m @ h).reshape(S, A) - (g + h)[:, None]
    tol = 1e-9 * max(1.0, float(np.abs(g).max()))
    need = env.enabled & (gap > tol) & (excess > 0)
    if not need.any():
        return h
    M = float((excess[need] / gap[need]).max()) * 1.5 + 1.0
    return h + M * g


def _row_margin(env: FiniteMDP) -> tuple[int, float]:
    """Largest row support and largest ``|row sum - 1|`` over the enabled rows."""
    m = env.transition_matrix
    n = int(np.diff(m.indptr).max())
    sums = (m @ np.ones(m.shape[1]))[env.enabled.ravel()]
    return n, float(np.abs(sums - 1.0).max()) + n * EPS


def _max_over_actions(env: FiniteMDP, q: np.ndarray) -> np.ndarray:
    q = q.reshape(env.n_states, env.n_actions)
    if not env.all_enabled:
        q = np.where(env.enabled, q, -np.inf)
    return np.asarray(q.max(axis=1))


def maximal_end_components(env: FiniteMDP) -> tuple[np.ndarray, np.ndarray]:
    """The maximal end components (MECs) of ``env``.

    An end component is a set of states with, in each, a non-empty set of enabled actions
    that never leave it, strongly connected under them; every policy's recurrent classes
    lie inside MECs. Classical decomposition: repeatedly split into strongly connected
    components and drop the actions that leave their component (de Alfaro 1997).

    Returns
    -------
    labels : numpy.ndarray
        ``[S]`` ints: the MEC of each state, ``-1`` for states in none.
    inside : numpy.ndarray
        ``[S, A]`` bools: the actions that stay inside their state's MEC.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> P = np.zeros((3, 1, 3)); P[0, 0, 1] = P[1, 0, 2] = P[2, 0, 1] = 1.0
    >>> labels, inside = maximal_end_components(FiniteMDP(P, [1.0, 0.0, 0.0]))
    >>> int(labels[0]), bool(labels[1] == labels[2] >= 0), inside[:, 0].tolist()
    (-1, True, [False, True, True])
    """
    from objspec.mdp.graph import strongly_connected_components

    S, A = env.n_states, env.n_actions
    m = env.transition_matrix.tocoo()
    keep = m.data > 0
    row, col = m.row[keep], m.col[keep]
    src = row // A
    ok = env.enabled.ravel().copy()
    while True:
        alive = np.asarray(ok.reshape(S, A).any(axis=1))
        use = ok[row]
        graph = sp.csr_matrix((np.ones(int(use.sum()), dtype=np.int8), (src[use], col[use])),
                              shape=(S, S))
        _, labels = strongly_connected_components(graph)
        labels = np.where(alive, labels, -1)
        leaves = (labels[src] != labels[col]) | ~alive[col]
        bad = np.zeros(S * A, dtype=bool)
        bad[row[leaves]] = True
        bad &= ok
        if not bad.any():
            break
        ok &= ~bad
    alive = np.asarray(ok.reshape(S, A).any(axis=1))
    _, compact = np.unique(np.where(alive, labels, -1), return_inverse=True)
    out = np.where(alive, compact - (0 if alive.all() else 1), -1)
    return out.astype(np.int64), ok.reshape(S, A)


def _reach_max(env: FiniteMDP, d: np.ndarray) -> np.ndarray:
    """``max_{t reachable from s} d(t)`` (reachable under any actions), exactly."""
    from objspec.mdp.graph import strongly_connected_components

    S, A = env.n_states, env.n_actions
    m = env.transition_matrix.tocoo()
    keep = m.data > 0
    src, dst = m.row[keep] // A, m.col[keep]
    graph = sp.csr_matrix((np.ones(src.size, dtype=np.int8), (src, dst)), shape=(S, S))
    n, labels = strongly_connected_components(graph)
    best = np.full(n, -np.inf)
    np.maximum.at(best, labels, d)
    cs, cd = labels[src], labels[dst]
    cross = cs != cd
    cs, cd = cs[cross], cd[cross]
    # propagate along the condensation (a DAG) until stable: at most its depth rounds
    while cs.size:
        new = best.copy()
        np.maximum.at(new, cs, best[cd])
        if np.array_equal(new, best):
            break
        best = new
    return best[labels]


def gain_upper_bound(env: FiniteMDP, reward: Any, V: np.ndarray, *, sweeps: int = 10_000,
                     deadline: float | None = None, target: float = 0.0
                     ) -> tuple[np.ndarray, int]:
    """A proven state-wise upper bound ``u >= g_sigma`` for every stationary ``sigma``.

    Built from any ``V`` as in the module docstring. ``u`` starts at
    ``max_{t reachable from s} d(t)`` (superharmonic, since successors reach less) and
    descends by ``u <- min(u, max(d, max_a P_a u + m))``, where on each maximal end
    component (:func:`maximal_end_components`) ``u`` is kept constant (the maximum over
    the component) and only the actions that leave it are used: actions that stay inside
    give ``P_a u = u`` there, so ``u`` stays superharmonic, and without them the descent
    reaches the least superharmonic majorant of ``d`` instead of stalling. It stops after
    ``sweeps`` sweeps, at ``deadline`` (a :func:`time.monotonic` time), or when a sweep
    lowers no entry by more than ``target``. Every iterate is a valid bound.

    Returns
    -------
    u : numpy.ndarray
        ``[S]``.
    sweeps : int
        Sweeps done.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.mdp.gain import gain_upper_bound
    >>> P = np.zeros((2, 2, 2)); P[0, 0, 0] = P[0, 1, 1] = P[1, :, 1] = 1.0
    >>> u, _ = gain_upper_bound(FiniteMDP(P, [1.0, 0.0]), [[1, 0], [2, 2]], np.zeros(2))
    >>> bool(np.all(u >= 2.0) and np.all(u <= 2.0 + 1e-12))
    True
    """
    r = _expected(env, reward)
    V = np.asarray(V, dtype=np.float64)
    m = env.transition_matrix
    S, A = env.n_states, env.n_actions
    n, row_err = _row_margin(env)
    TV = _max_over_actions(env, r.ravel() + np.asarray(m @ V))
    scale = max(float(np.abs(V).max(initial=0.0)), float(np.abs(TV).max(initial=0.0)))
    d = TV - V + (n + 3) * EPS * scale + row_err * scale  # rounding of T V and of rows
    if not np.all(np.isfinite(d)):
        raise SolverError("the gain certificate overflowed: rescale the reward")
    labels, inside = maximal_end_components(env)
    in_mec = labels >= 0
    n_mec = int(labels.max(initial=-1)) + 1
    considered = env.enabled & ~inside
    u = _reach_max(env, d)
    done = 0
    while done < sweeps:
        done += 1
        U = float(np.abs(u).max())
        margin = (n + 2) * EPS * U + row_err * U
        q = np.where(considered, np.asarray(m @ u).reshape(S, A), -np.inf).max(axis=1)
        cand = np.maximum(d, q + margin)
        if n_mec:
            top = np.full(n_mec, -np.inf)
            np.maximum.at(top, labels[in_mec], cand[in_mec])
            cand[in_mec] = top[labels[in_mec]]
        new = np.minimum(u, cand)
        drop = float((u - new).max())
        u = new
        if drop <= target or (deadline is not None and time.monotonic() >= deadline):
            break
    return u, done
