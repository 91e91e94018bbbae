"""Optimal control of discounted MDPs for many rewards at once, with certified bounds.

:func:`optimal_values` computes ``V*_k = max_pi V_pi`` and an optimal deterministic policy
for ``K`` reward functions at once. Two methods share one certificate:

* ``"value_iteration"``: ``V <- T V`` for all ``K`` rewards in an ``[S*A, K]`` layout (one
  sparse-times-dense product per sweep), extrapolated after every sweep to the midpoint of
  the MacQueen bounds below;
* ``"policy_iteration"``: Howard's policy iteration; every evaluation is a direct LU
  solve of ``(I - gamma P_pi) V = r_pi``, one factorisation per distinct policy (dense
  LAPACK on small MDPs, sparse SuperLU on larger ones);
* ``"auto"`` (default): value iteration (fast on well-mixing MDPs) for at most
  ``vi_sweeps`` sweeps, or fewer: after :data:`PROBE_SWEEPS` sweeps a reward whose bound
  contracts so slowly that it is predicted to need more than :data:`SLOW_SWEEPS` more
  sweeps leaves; then policy iteration warm-started from the greedy policies for the
  rewards not yet certified (fast where the span contracts slowly, as on the chains of
  PRISM models); on MDPs of at most :data:`SMALL_STATES` states straight to policy
  iteration (a few direct solves cost less than the Python overhead of many sweeps), and
  on Markov chains (one enabled action per state) straight to the direct evaluation of
  their one policy, with no greedy sweep or improvement step.

**Stopping rule and certificate** (MacQueen 1966; Porteus 1971; Puterman 1994, section
6.6.3). For *any* ``V`` let ``d = T V - V``. Then, state by state,

.. math:: T V + \\frac{\\gamma}{1-\\gamma} \\min_s d(s) \\le V^* \\le
          T V + \\frac{\\gamma}{1-\\gamma} \\max_s d(s),

and the greedy policy ``pi`` of ``V`` (``T_pi V = T V``) satisfies the same bounds. The
returned values are the midpoint ``T V + gamma/(1-gamma) (min d + max d)/2``, so

* ``error_bound = gamma/(1-gamma) (max d - min d)/2`` (plus a floating-point rounding
  margin) bounds ``|V_returned - V*|`` in the sup norm, and
* ``policy_error_bound = 2 * error_bound`` bounds the suboptimality ``V* - V_pi`` of the
  returned policy (both lie in the same interval).

The iteration stops when ``error_bound <= tol`` for every reward. Since the span of ``d``
contracts like the ergodicity coefficient of the chains, not like ``gamma``, this is much
earlier than the classical ``||T V - V|| < tol (1-gamma)/(2 gamma)`` rule.

An action is *certified optimal* in a state when its Q-value lower bound exceeds every
other action's upper bound (``Q*`` is within ``gamma * error_bound`` of the Q-values of the
midpoint). ``optimal_certified[k]`` says that this holds in every state, so the returned
policy is then exactly optimal, not just ``policy_error_bound``-optimal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from objspec.errors import InvalidSpecificationError, SolverError
from objspec.mdp.backends import get_backend
from objspec.mdp.linear import check_tolerances
from objspec.mdp.model import FiniteMDP
from objspec.mdp.rewards import check_discount, expected_rewards, normalize_rewards

__all__ = ["ControlSolution", "optimal_values", "bellman_optimality_bounds"]

ControlMethod = Literal["auto", "value_iteration", "policy_iteration"]

#: ``method="auto"`` runs policy iteration directly on MDPs with at most this many states.
SMALL_STATES = 200
#: Policy evaluations on MDPs of at most this many states are dense LU solves, beyond
#: that sparse LU (SuperLU) solves (a dense solve of a few hundred unknowns starts the
#: BLAS's threads, which a loaded machine makes slow by orders of magnitude).
DENSE_SOLVE_STATES = 64
#: ``method="auto"``: after this many value-iteration sweeps, the contraction of each
#: reward's bound over the last half of them predicts the sweeps still needed ...
PROBE_SWEEPS = 10
#: ... and a reward predicted to need more than this many leaves value iteration for
#: policy iteration (one sparse LU evaluation costs some tens of sweeps on PRISM models).
SLOW_SWEEPS = 40


@dataclass(frozen=True)
class ControlSolution:
    """Optimal values and policies for one or ``K`` rewards.

    Attributes
    ----------
    values : numpy.ndarray
        ``[S]`` or ``[K, S]``: the optimal values, within ``error_bound`` of ``V*``.
    policies : numpy.ndarray
        ``[S]`` or ``[K, S]`` ints: a deterministic policy per reward, greedy with respect to
        the iterate ``V`` of the final backup (whose MacQueen interval certifies both
        ``values`` and this policy), at most ``policy_error_bound`` below ``V*`` in every
        state. (Greedy with respect to ``values`` itself would only be certified to
        ``2 gamma / (1 - gamma)`` times ``error_bound``.)
    error_bound : float
        Certified sup-norm bound on ``|values - V*|`` (the largest over the rewards).
    policy_error_bound : float
        Certified bound on ``max_s V*(s) - V_pi(s)`` for the returned policies.
    error_bounds : numpy.ndarray
        ``[K]`` (or a 0-d array): the bound for each reward.
    optimal_certified : numpy.ndarray
        ``[K]`` bools (or a 0-d array): whether the returned policy is provably exactly
        optimal (every chosen action's Q-value separated from the others by the bound).
    iterations : int
        Bellman sweeps plus policy evaluations performed.
    method : str
        The method(s) used: ``"value_iteration"``, ``"policy_iteration"`` or
        ``"value_iteration+policy_iteration"``.
    """

    values: np.ndarray
    policies: np.ndarray
    error_bound: float
    policy_error_bound: float
    error_bounds: np.ndarray
    optimal_certified: np.ndarray
    iterations: int
    method: str


def _mask_disabled(env: FiniteMDP, r: np.ndarray) -> np.ndarray:
    """``r`` ``[S, A, K]`` with ``-inf`` on the disabled pairs of ``env``.

    Disabled pairs have zero transition rows, so their Q-value is ``r + gamma * 0 = -inf``:
    never a maximiser (every state has an enabled action, whose Q-value is finite), and
    no ``nan`` can arise (``-inf`` is only ever added to finite numbers or compared).
    """
    if env.all_enabled:
        return r
    out = r.copy()
    out[~env.enabled] = -np.inf
    return out


def _rounding_margin(env: FiniteMDP, V: np.ndarray, TV: np.ndarray, gamma: float) -> np.ndarray:
    """Bound on the effect of floating-point rounding on the MacQueen interval, per column.

    Each entry of ``T V`` is a sum of at most ``n`` products (``n`` = largest row support)
    plus a reward, a scaling and a subtraction, so ``d = T V - V`` is computed within
    ``(n + 3) * eps * max(|V|, |T V|)``; errors in ``d`` move the interval ends by
    ``gamma / (1 - gamma)`` times that.
    """
    indptr = env.transition_matrix.indptr
    n = int((indptr[1:] - indptr[:-1]).max())
    scale = np.maximum(np.abs(V).max(axis=0), np.abs(TV).max(axis=0))
    unit = (n + 3) * np.finfo(np.float64).eps * scale
    return unit * (1.0 + 2.0 * gamma / (1.0 - gamma))


def _macqueen(
    env: FiniteMDP, r: np.ndarray, V: np.ndarray, gamma: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Midpoint, span part of the bound, rounding margin and greedy actions."""
    TV, actions = get_backend().bellman_max(env, r, V, gamma)
    d = TV - V
    lo, hi = d.min(axis=0), d.max(axis=0)
    k = gamma / (1.0 - gamma)
    midpoint = TV + k * (lo + hi) / 2.0
    return midpoint, k * (hi - lo) / 2.0, _rounding_margin(env, V, TV, gamma), actions


def bellman_optimality_bounds(
    env: FiniteMDP, r: np.ndarray, V: np.ndarray, gamma: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MacQueen midpoint, certified error bound and greedy actions for any ``V``.

    Parameters
    ----------
    env : FiniteMDP
    r : numpy.ndarray
        ``[S, A, K]`` expected one-step rewards (entries of disabled actions are ignored).
    V : numpy.ndarray
        ``[S, K]`` any value estimate.
    gamma : float

    Returns
    -------
    midpoint : numpy.ndarray
        ``[S, K]``.
    bound : numpy.ndarray
        ``[K]``: ``|midpoint - V*| <= bound`` in every state (rounding included).
    actions : numpy.ndarray
        ``[S, K]`` greedy actions of ``V`` (their policy is within ``2 * bound`` of optimal).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.mdp.control import bellman_optimality_bounds
    >>> env = FiniteMDP(np.ones((1, 2, 1)), [1.0])
    >>> r = np.array([[[1.0], [3.0]]])  # [S, A, K]
    >>> mid, bound, actions = bellman_optimality_bounds(env, r, np.zeros((1, 1)), 0.5)
    >>> mid, bound < 1e-12, actions
    (array([[6.]]), array([ True]), array([[1]]))
    """
    mid, span, margin, actions = _macqueen(env, _mask_disabled(env, r), V, gamma)
    return mid, span + margin, actions


def _value_iteration(
    env: FiniteMDP,
    r: np.ndarray,
    V: np.ndarray,
    gamma: float,
    tol: float,
    max_sweeps: int,
    probe: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, np.ndarray]:
    """Extrapolated value iteration on all columns; converged columns leave the batch.

    A column also leaves when its bound is dominated by the rounding margin: more sweeps
    cannot bring it below ``tol`` then, and the caller reports that. With ``probe``, a
    column also leaves (uncertified, for policy iteration) after :data:`PROBE_SWEEPS`
    sweeps when the geometric contraction of its bound over the last half of them
    predicts more than :data:`SLOW_SWEEPS` further sweeps.
    """
    K = r.shape[2]
    V = V.copy()
    bound = np.full(K, np.inf)
    actions = np.zeros(V.shape, dtype=np.int64)
    active = np.arange(K)
    r_act, V_act = r, V.copy()
    stuck = np.zeros(K, dtype=bool)
    half = np.full(K, np.inf)  # each column's bound after PROBE_SWEEPS // 2 sweeps
    sweeps = 0
    while active.size and sweeps < max_sweeps:
        mid, span, margin, act = _macqueen(env, r_act, V_act, gamma)
        b = span + margin
        sweeps += 1
        if not (np.isfinite(b).all() and np.isfinite(mid).all()):
            k = int(active[np.flatnonzero(~np.isfinite(b) | ~np.isfinite(mid).all(axis=0))[0]])
            raise SolverError(
                f"value iteration produced a non-finite value for reward {k} (the values "
                "overflow float64: rescale the reward)"
            )
        done = (b <= tol) | (span <= margin)
        stuck_now = (b > tol) & (span <= margin)
        if probe and sweeps == PROBE_SWEEPS // 2:
            half[active] = b
        elif probe and sweeps == PROBE_SWEEPS:
            with np.errstate(all="ignore"):
                rate = (b / half[active]) ** (1.0 / (PROBE_SWEEPS - PROBE_SWEEPS // 2))
                needed = np.where((rate > 0) & (rate < 1), np.log(tol / b) / np.log(rate),
                                  np.inf)
            done |= needed > SLOW_SWEEPS  # leaves uncertified (bound > tol): the caller
            # finishes it by policy iteration
        if done.all() or sweeps == max_sweeps:
            V[:, active], bound[active], actions[:, active] = mid, b, act
            stuck[active] = stuck_now
            break
        if done.any():
            finished = active[done]
            stuck[finished] = stuck_now[done]
            V[:, finished], bound[finished], actions[:, finished] = (
                mid[:, done], b[done], act[:, done]
            )
            active = active[~done]
            r_act = np.ascontiguousarray(r[:, :, active])
            mid = np.ascontiguousarray(mid[:, ~done])
        V_act = mid
    return V, bound, actions, sweeps, stuck


def _evaluate_policies(env: FiniteMDP, r: np.ndarray, acts: np.ndarray, gamma: float
                       ) -> np.ndarray:
    """``V_pi`` ``[S, K]`` of the deterministic policies ``acts`` ``[S, K]`` (reward ``k``
    under policy ``acts[:, k]``): one LU factorisation of ``I - gamma P_pi`` per distinct
    policy, solved for every reward that plays it; dense LAPACK on MDPs of at most
    :data:`DENSE_SOLVE_STATES` states, sparse SuperLU beyond
    (:func:`~objspec.mdp.linear.ordered_splu` of
    :func:`~objspec.mdp.linear.policy_system`: PRISM-style models, whose slow-mixing
    chains are the ones that reach policy iteration, factor with little fill in their
    exploration order).

    ``I - gamma P_pi`` is strictly diagonally dominant for ``gamma < 1`` (``P_pi`` is
    stochastic), so the systems are non-singular and well conditioned (infinity-norm
    condition number at most ``(1 + gamma) / (1 - gamma)``). The solve is not certified
    here: :func:`optimal_values` certifies its final values with the MacQueen bounds."""
    from objspec.mdp.linear import envelope_of, policy_system, splu_in_order

    S, K = acts.shape
    A = env.n_actions
    P = env.transition_matrix
    states = np.arange(S)
    V = np.empty((S, K))
    if K == 1:
        groups: list[tuple[np.ndarray, np.ndarray]] = [(acts[:, 0], np.zeros(1, dtype=np.int64))]
    else:
        distinct, which = np.unique(acts.T, axis=0, return_inverse=True)
        which = np.asarray(which).reshape(-1)
        groups = [(policy, np.flatnonzero(which == j)) for j, policy in enumerate(distinct)]
    for policy, cols in groups:
        rhs = r[states[:, None], policy[:, None], cols[None, :]]  # [S, len(cols)]
        with np.errstate(all="ignore"):
            if S <= DENSE_SOLVE_STATES:
                # the dense tensor (built once per environment, S * A * S floats)
                matrix = -gamma * env.transitions[states, policy]
                matrix[states, states] += 1.0
                try:
                    x = np.linalg.solve(matrix, rhs)
                except np.linalg.LinAlgError:
                    x = np.full(rhs.shape, np.nan)
            else:
                # I - gamma P_pi from the rows of the chosen actions
                system = policy_system(P, states * A + policy, gamma)
                csc = system.tocsc()
                try:
                    x = np.asarray(splu_in_order(csc, envelope_of(csc, system)).solve(rhs)
                                   ).reshape(S, cols.size)
                except RuntimeError:  # "Factor is exactly singular"
                    x = np.full(rhs.shape, np.nan)
        if not np.isfinite(x).all():
            raise SolverError(
                f"a policy evaluation (an LU solve of {S} equations) returned a non-finite "
                "value (the values overflow float64: rescale the reward)")
        V[:, cols] = x
    return V


def _policy_iteration(
    env: FiniteMDP,
    r: np.ndarray,
    actions: np.ndarray,
    gamma: float,
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, int]:
    """Howard's policy iteration from ``actions`` ``[S, K]``; returns values ``[S, K]``.

    Evaluations are direct LU solves (:func:`_evaluate_policies`). A state switches action
    only on a strict improvement beyond rounding, so ties cannot make it cycle; ``tol`` is
    not used here (the caller certifies the result with the MacQueen bounds)."""
    S, A, K = r.shape
    acts = actions.copy()
    V = np.zeros((S, K))
    evaluations = 0
    for _ in range(max_iter):
        V = _evaluate_policies(env, r, acts, gamma)
        evaluations += 1
        # the Q-values once: their maximum (disabled pairs are -inf in r), its first
        # maximiser, and the current policy's own entry
        q = np.asarray(env.transition_matrix @ V).reshape(S, A, K)
        q *= gamma
        q += r
        greedy = q.argmax(axis=1)
        TV = np.take_along_axis(q, greedy[:, None, :], axis=1)[:, 0, :]
        current = np.take_along_axis(q, acts[:, None, :], axis=1)[:, 0, :]
        # switch only on a strict improvement beyond rounding, so ties cannot make PI cycle
        slack = 1e-12 * np.maximum(1.0, np.abs(TV))
        improve = TV > current + slack
        if not improve.any():
            break
        acts = np.where(improve, greedy, acts)
    return V, evaluations


def _certified_optimal(
    env: FiniteMDP, r: np.ndarray, V: np.ndarray, bound: np.ndarray, actions: np.ndarray,
    gamma: float,
) -> np.ndarray:
    S, A, K = r.shape
    if A == 1:
        return np.ones(K, dtype=bool)
    q = np.asarray(env.transition_matrix @ V).reshape(S, A, K) * gamma + r
    chosen = np.take_along_axis(q, actions[:, None, :], axis=1)[:, 0, :]
    others = q.copy()
    np.put_along_axis(others, actions[:, None, :], -np.inf, axis=1)
    gap = chosen - others.max(axis=1)  # [S, K]
    return np.asarray((gap > 2.0 * gamma * bound[None, :]).all(axis=0))


def optimal_values(
    env: FiniteMDP,
    rewards: Any,
    gamma: float,
    tol: float = 1e-8,
    method: ControlMethod = "auto",
    *,
    max_iter: int = 100_000,
    vi_sweeps: int = 200,
    batched: bool | None = None,
) -> ControlSolution:
    """Optimal values and optimal deterministic policies for one or ``K`` rewards.

    Parameters
    ----------
    env : FiniteMDP
    rewards : array_like
        ``[S]``, ``[S, A]``, ``[S, A, S]`` or a batch of ``K`` of those (see
        :mod:`objspec.mdp.rewards`).
    gamma : float
        Discount in ``[0, 1)``.
    tol : float
        Target for the certified sup-norm error bound of ``values``.
    method : {"auto", "value_iteration", "policy_iteration"}
        See the module docstring.
    max_iter : int
        Most Bellman sweeps of a value-iteration phase, and most policy improvements of a
        policy-iteration phase.
    vi_sweeps : int
        For ``"auto"``: value-iteration sweeps before switching to policy iteration.
    batched : bool or None
        Whether ``rewards`` has a leading batch axis; None reads it from the shape (the rule
        of :mod:`objspec.mdp.rewards`). Give it when the shape is ambiguous, e.g. ``K``
        stacked ``[S, A]`` rewards with ``K == S == A``.

    Returns
    -------
    ControlSolution
        ``values``, ``policies``, ``error_bound`` (certified), ``policy_error_bound``,
        ``optimal_certified``, ``iterations`` and ``method``.

    Raises
    ------
    InvalidSpecificationError
        On a malformed reward, a discount outside ``[0, 1)``, a non-positive ``tol``, or
        if the bound ``tol`` was not reached within ``max_iter``.
    SolverError
        If the values overflow float64 (rewards near ``1e308 * (1 - gamma)``) or a policy
        evaluation cannot be solved to a finite result; a NaN is never returned.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.mdp import optimal_values
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
    >>> sol = optimal_values(FiniteMDP(P, [1.0, 0.0]), [[0.0, 0.0], [1.0, 0.0]], 0.5)
    >>> sol.values.round(8), sol.policies, sol.error_bound <= 1e-8
    (array([1., 2.]), array([1, 0]), True)
    """
    gamma = check_discount(gamma)
    tol, _ = check_tolerances(tol, None)  # finite and positive, else a named error
    if method not in ("auto", "value_iteration", "policy_iteration"):
        raise InvalidSpecificationError(
            f"method = {method!r}; choose 'auto', 'value_iteration' or 'policy_iteration'"
        )
    arr, kind, single = normalize_rewards(env, rewards, batched=batched)
    r = np.ascontiguousarray(expected_rewards(env, arr, kind).transpose(1, 2, 0))  # [S, A, K]
    r = _mask_disabled(env, r)
    S, A, K = r.shape
    V0 = np.zeros((S, K))
    used: list[str] = []
    iterations = 0
    # a Markov chain (one enabled action per state): its one evaluation is the answer
    chain = A == 1 or bool((env.n_enabled == 1).all())
    if method == "policy_iteration" or (method == "auto" and (S <= SMALL_STATES or chain)):
        if chain:  # the one policy: its evaluation is V*, no Bellman sweep picks it
            greedy = np.repeat(np.argmax(env.enabled, axis=1)[:, None], K, axis=1)
            V, evaluations = _evaluate_policies(env, r, greedy, gamma), 1
        else:
            _, _, greedy = bellman_optimality_bounds(env, r, V0, gamma)
            V, evaluations = _policy_iteration(env, r, greedy, gamma, tol, max_iter)
        iterations += evaluations
        used.append("policy_iteration")
        V, bound, actions, sweeps, stuck = _value_iteration(env, r, V, gamma, tol, max_iter)
        iterations += sweeps
    else:
        budget = max_iter if method == "value_iteration" else min(vi_sweeps, max_iter)
        V, bound, actions, sweeps, stuck = _value_iteration(
            env, r, V0, gamma, tol, budget, probe=method == "auto")
        iterations += sweeps
        used.append("value_iteration")
        todo = np.flatnonzero(~(bound <= tol))  # NaN-safe: a NaN bound is never certified
        if todo.size and method == "auto":
            r_todo = np.ascontiguousarray(r[:, :, todo])
            V_pi, evaluations = _policy_iteration(
                env, r_todo, actions[:, todo], gamma, tol, max_iter
            )
            iterations += evaluations
            used.append("policy_iteration")
            V_t, b_t, a_t, sweeps, s_t = _value_iteration(
                env, r_todo, V_pi, gamma, tol, max_iter
            )
            iterations += sweeps
            V[:, todo], bound[todo], actions[:, todo], stuck[todo] = V_t, b_t, a_t, s_t
    if not (bound <= tol).all():
        k = int(np.argmax(bound))
        if stuck[k]:
            raise InvalidSpecificationError(
                f"optimal_values cannot certify tol = {tol:g}: for reward {k} the rounding "
                f"of float64 arithmetic alone allows an error of {bound[k]:.3g}; use a larger tol"
            )
        raise InvalidSpecificationError(
            f"optimal_values did not reach tol = {tol:g} within max_iter = {max_iter} "
            f"(reward {k}: certified bound {bound[k]:.3g}); raise max_iter or tol"
        )
    certified = _certified_optimal(env, r, V, bound, actions, gamma)
    values, policies = V.T, actions.T
    if single:
        values, policies, bounds, certified = values[0], policies[0], bound[0], certified[0]
    else:
        bounds = bound
    return ControlSolution(
        values=values,
        policies=policies,
        error_bound=float(bound.max()),
        policy_error_bound=float(2.0 * bound.max()),
        error_bounds=np.asarray(bounds),
        optimal_certified=np.asarray(certified),
        iterations=iterations,
        method="+".join(used),
    )
