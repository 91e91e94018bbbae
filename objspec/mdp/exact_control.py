"""Exact optimal control in rational arithmetic: policy iteration for discounted and for
long-run average (multichain) rewards.

Both functions start from a deterministic policy (typically the one a float solver
returned), evaluate it exactly (:func:`objspec.mdp.exact.solve_rational`) and improve it
until no action improves strictly; the result is then optimal by the policy-iteration
optimality theorems, checked in exact arithmetic, so no rounding is involved anywhere.

* :func:`exact_policy_iteration`: Howard's policy iteration for ``max E[sum gamma^t R]``
  (Puterman, *Markov Decision Processes*, 1994, section 6.4): it stops at a policy whose
  values ``V`` satisfy ``V = max_a r_a + gamma P_a V`` exactly, so ``V = V*`` and the policy
  is optimal from every state.
* :func:`exact_multichain_policy_iteration`: multichain policy iteration for the gain
  (Puterman 1994, section 9.2.1). A policy is evaluated by its gain ``g = P* r`` (the
  Cesaro limit, :func:`objspec.mdp.longrun.exact_cesaro_limit`) and a bias ``h`` solving
  ``g + (I - P) h = r`` with ``h = 0`` at one state of each recurrent class (which makes
  it unique); the improvement first maximises ``P_a g`` and, among those
  maximisers, ``r_a + P_a h``, keeping the current action on ties. It stops at a policy
  whose ``(g, h)`` solve the multichain optimality equations, so ``g = g*`` from every
  state (Puterman 1994, Theorem 9.2.6).

Costs grow like ``S**3`` rational operations per evaluation: meant for the small models
on which exact answers are asked for.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from objspec.errors import SolverError
from objspec.mdp.exact import exact_discount, exact_rewards, solve_rational
from objspec.mdp.model import FiniteMDP

__all__ = ["exact_policy_iteration", "exact_multichain_policy_iteration", "ExactControl"]

ZERO = Fraction(0)


class ExactControl:
    """The result of an exact policy iteration.

    Attributes
    ----------
    actions : numpy.ndarray
        ``[S]`` ints: an optimal deterministic policy.
    values : numpy.ndarray
        ``[S]`` Fractions: its values ``V*`` (discounted) or gains ``g*`` (average).
    iterations : int
        Exact policy evaluations performed.
    """

    def __init__(self, actions: np.ndarray, values: np.ndarray, iterations: int) -> None:
        self.actions = actions
        self.values = values
        self.iterations = iterations

    def __repr__(self) -> str:
        return f"ExactControl(actions={self.actions.tolist()}, iterations={self.iterations})"


def _sparse_rows(env: FiniteMDP) -> list[list[list[tuple[int, Fraction]]]]:
    """``rows[s][a]``: the exact successors ``(t, p)`` of ``(s, a)`` (empty if disabled)."""
    tau = env.exact_transitions()
    S, A = env.n_states, env.n_actions
    out: list[list[list[tuple[int, Fraction]]]] = []
    for s in range(S):
        row = []
        for a in range(A):
            row.append([(int(t), tau[s, a, t]) for t in np.flatnonzero(tau[s, a] != 0)]
                       if env.enabled[s, a] else [])
        out.append(row)
    return out


def _exact_expected(env: FiniteMDP, reward: Any) -> np.ndarray:
    """``r(s, a) = sum_t tau(t | s, a) R(s, a, t)`` exactly, ``[S, A]`` Fractions."""
    R = exact_rewards(env, reward)
    tau = env.exact_transitions()
    return np.asarray((tau * R).sum(axis=2), dtype=object)


def _start(env: FiniteMDP, start: Any) -> np.ndarray:
    S = env.n_states
    if start is None:
        return np.array([int(np.flatnonzero(env.enabled[s])[0]) for s in range(S)])
    acts = np.asarray(start, dtype=np.int64).copy()
    for s in range(S):  # a start on a disabled action is moved to an enabled one
        if not env.enabled[s, acts[s]]:
            acts[s] = int(np.flatnonzero(env.enabled[s])[0])
    return acts


def _dot(row: list[tuple[int, Fraction]], v: np.ndarray) -> Fraction:
    return sum((p * v[t] for t, p in row), ZERO)


def _chain(rows: list[list[list[tuple[int, Fraction]]]], acts: np.ndarray) -> np.ndarray:
    S = len(rows)
    P = np.full((S, S), ZERO, dtype=object)
    for s in range(S):
        for t, p in rows[s][int(acts[s])]:
            P[s, t] += p
    return P


def _identity(n: int) -> np.ndarray:
    return np.array([[Fraction(int(i == j)) for j in range(n)] for i in range(n)], dtype=object)


def exact_policy_iteration(env: FiniteMDP, reward: Any, gamma: Any, start: Any = None,
                           *, max_iter: int = 10_000) -> ExactControl:
    """Optimal discounted values and an optimal deterministic policy, exactly.

    Parameters
    ----------
    env : FiniteMDP
    reward : array_like
        ``[S]``, ``[S, A]`` or ``[S, A, S]`` (rationals kept, floats taken as the dyadic
        rationals they are).
    gamma : float or Fraction
        Discount in ``[0, 1)``.
    start : array_like of int, optional
        ``[S]`` starting actions (e.g. a float solver's policy); default the first enabled
        action of each state.
    max_iter : int
        Most improvements (policy iteration needs at most the number of deterministic
        policies; in practice a handful).

    Returns
    -------
    ExactControl
        ``values`` are ``V*`` as Fractions.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.mdp.exact_control import exact_policy_iteration
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
    >>> sol = exact_policy_iteration(FiniteMDP(P, [1.0, 0.0]), [[0, 0], [1, 0]], F(1, 2))
    >>> sol.actions.tolist(), [str(v) for v in sol.values]
    ([1, 0], ['2/3', '4/3'])
    """
    g = exact_discount(gamma)
    rows = _sparse_rows(env)
    r = _exact_expected(env, reward)
    S = env.n_states
    acts = _start(env, start)
    eye = _identity(S)
    states = np.arange(S)
    for it in range(1, max_iter + 1):
        V = solve_rational(eye - g * _chain(rows, acts), r[states, acts])
        changed = False
        for s in range(S):
            current = r[s, acts[s]] + g * _dot(rows[s][acts[s]], V)
            best, arg = current, int(acts[s])
            for a in np.flatnonzero(env.enabled[s]):
                q = r[s, a] + g * _dot(rows[s][a], V)
                if q > best:
                    best, arg = q, int(a)
            if arg != acts[s]:
                acts[s], changed = arg, True
        if not changed:
            return ExactControl(acts, V, it)
    raise SolverError(f"exact policy iteration did not stabilise within {max_iter} steps")


def _evaluate_gain(rows: list[list[list[tuple[int, Fraction]]]], r: np.ndarray,
                   acts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gain ``g = P* r`` and a bias ``h`` of a deterministic policy.

    ``h`` solves ``(I - P) h = r - g`` with ``h = 0`` at one state of each recurrent class
    (the equation of that state is redundant; the system is then nonsingular).
    """
    from objspec.mdp.longrun import exact_cesaro_limit, recurrent_classes

    S = len(rows)
    P = _chain(rows, acts)
    rr = np.asarray(r[np.arange(S), acts], dtype=object)
    g = np.asarray(exact_cesaro_limit(P).dot(rr), dtype=object)
    M = _identity(S) - P
    rhs = rr - g
    for members in recurrent_classes(P):
        s = int(members[0])
        M[s, :] = ZERO
        M[s, s] = Fraction(1)
        rhs[s] = ZERO
    return g, solve_rational(M, np.asarray(rhs, dtype=object))


def exact_multichain_policy_iteration(env: FiniteMDP, reward: Any, start: Any = None,
                                      *, max_iter: int = 10_000) -> ExactControl:
    """Gain-optimal deterministic policy of a (multichain) MDP and its gains, exactly.

    Parameters
    ----------
    env : FiniteMDP
    reward : array_like
        ``[S]``, ``[S, A]`` or ``[S, A, S]``.
    start : array_like of int, optional
        ``[S]`` starting actions (e.g. from the multichain linear program).
    max_iter : int
        Most improvements.

    Returns
    -------
    ExactControl
        ``values`` are the optimal gains ``g*(s)`` as Fractions.

    Examples
    --------
    Staying in state 0 (reward 1) or moving for good to state 1 (reward 2):

    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.mdp.exact_control import exact_multichain_policy_iteration
    >>> P = np.zeros((2, 2, 2)); P[0, 0, 0] = P[0, 1, 1] = P[1, :, 1] = 1.0
    >>> sol = exact_multichain_policy_iteration(FiniteMDP(P, [1.0, 0.0]), [[1, 0], [2, 2]])
    >>> sol.actions.tolist(), [str(v) for v in sol.values]
    ([1, 0], ['2', '2'])
    """
    rows = _sparse_rows(env)
    r = _exact_expected(env, reward)
    S = env.n_states
    acts = _start(env, start)
    for it in range(1, max_iter + 1):
        g, h = _evaluate_gain(rows, r, acts)
        changed = False
        for s in range(S):  # gain improvement (Puterman 1994, section 9.2.1, step 3a)
            best, arg = _dot(rows[s][acts[s]], g), int(acts[s])
            for a in np.flatnonzero(env.enabled[s]):
                v = _dot(rows[s][a], g)
                if v > best:
                    best, arg = v, int(a)
            if arg != acts[s]:
                acts[s], changed = arg, True
        if not changed:  # bias improvement among the gain maximisers (step 3b)
            for s in range(S):
                top = _dot(rows[s][acts[s]], g)
                best = r[s, acts[s]] + _dot(rows[s][acts[s]], h)
                arg = int(acts[s])
                for a in np.flatnonzero(env.enabled[s]):
                    if _dot(rows[s][a], g) != top:
                        continue
                    v = r[s, a] + _dot(rows[s][a], h)
                    if v > best:
                        best, arg = v, int(a)
                if arg != acts[s]:
                    acts[s], changed = arg, True
        if not changed:
            return ExactControl(acts, g, it)
    raise SolverError(
        f"exact multichain policy iteration did not stabilise within {max_iter} steps")
