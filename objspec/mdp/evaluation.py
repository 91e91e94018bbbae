"""Batched exact evaluation of stationary policies under discounted rewards.

For ``N`` policies and ``K`` rewards at once: induced Markov chains, discounted state
values, expected returns, discounted state visitation and occupancy measures. Everything
reduces to the linear systems ``(I - gamma P_pi) V = r_pi`` and
``(I - gamma P_pi)^T d = mu0`` solved by :func:`objspec.mdp.linear.solve_policy_systems`
(dense LU for small S, batched BiCGSTAB for large S), with a certified error bound.

Shapes follow the inputs: a single policy drops the leading ``N`` axis and a single reward
drops the ``K`` axis, so ``discounted_values(env, pi, R, gamma)`` is ``[S]`` and
``discounted_values(env, [pi1, pi2], [R1, R2, R3], gamma)`` is ``[2, 3, S]``.

Definitions (docs/theory.md#policies): with ``x_t = (s_t, a_t, s_{t+1})``,
``m(s, a, s') = sum_t gamma^t P(x_t = (s, a, s'))`` is the occupancy measure,
``d(s) = sum_{a, s'} m(s, a, s')`` the state visitation, and
``J_R(pi) = E[sum_t gamma^t R(x_t)] = <R, m>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from objspec.errors import InvalidSpecificationError
from objspec.mdp.linear import Method, induced_chain_dense, solve_policy_systems
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import as_policy_batch
from objspec.mdp.rewards import check_discount, expected_rewards, normalize_rewards

__all__ = [
    "Evaluation",
    "induced_chain",
    "policy_rewards",
    "evaluate",
    "discounted_values",
    "expected_return",
    "state_visitation",
    "state_action_occupancy",
    "occupancy_measure",
]


def induced_chain(env: FiniteMDP, policies: Any) -> np.ndarray:
    """The Markov chain ``P_pi[s, t] = sum_a pi(a|s) tau(t|s, a)`` of each policy.

    Returns ``[S, S]`` for one policy or ``[N, S, S]`` for a batch (dense).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp import induced_chain
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1; P[:, 1, 1] = 1
    >>> env = FiniteMDP(P, [1.0, 0.0])
    >>> induced_chain(env, Policy([[0.25, 0.75], [0.0, 1.0]]))
    array([[0.25, 0.75],
           [0.  , 1.  ]])
    """
    pi, single = as_policy_batch(policies, env.n_states, env.n_actions, enabled=env.enabled)
    chains = induced_chain_dense(env, pi)
    return chains[0] if single else chains


def policy_rewards(env: FiniteMDP, policies: Any, rewards: Any) -> np.ndarray:
    """Expected one-step reward ``r_pi[n, k, s] = sum_a pi(a|s) E[R_k(s, a, s')]``.

    Shape ``(N?, K?, S)`` following the inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp import policy_rewards
    >>> env = FiniteMDP(np.ones((1, 2, 1)), [1.0])
    >>> policy_rewards(env, Policy([[0.25, 0.75]]), [[4.0, 0.0]])
    array([1.])
    """
    pi, single_pi = as_policy_batch(policies, env.n_states, env.n_actions, enabled=env.enabled)
    arr, kind, single_r = normalize_rewards(env, rewards)
    r = expected_rewards(env, arr, kind)
    out = np.einsum("nsa,ksa->nks", pi, r)
    return _squeeze(out, single_pi, single_r)


def _squeeze(out: np.ndarray, single_pi: bool, single_r: bool) -> np.ndarray:
    if single_r:
        out = out[:, 0]
    if single_pi:
        out = out[0]
    return out


@dataclass(frozen=True)
class Evaluation:
    """Discounted values of a batch of policies, with a certified error bound.

    Attributes
    ----------
    values : numpy.ndarray
        State values ``(N?, K?, S)``.
    returns : numpy.ndarray
        Expected returns from the initial distribution, ``(N?, K?)``.
    error_bound : float
        Certified sup-norm bound on the error of every entry of ``values`` (and so of
        ``returns``). Always finite.
    method : str
        What solved the systems, ``"+"``-joined: ``"direct"`` (dense LU), ``"power"``
        (power series on deterministic chains), ``"krylov"`` and ``"sparse_lu"`` (sparse
        LU: the fallback, and the ``rtol`` path).
    relative_error_bound : float or None
        Only when ``rtol`` was given: every entry of ``values`` is certified to satisfy
        ``|values - V| <= relative_error_bound * |V|`` (``inf`` when some true value may be
        0 and only ``tol`` covered it). Where every value of a column has the same sign
        (e.g. non-negative rewards), the corresponding ``returns`` satisfy the same bound
        up to the rounding of the final dot product with the initial distribution.
    """

    values: np.ndarray
    returns: np.ndarray
    error_bound: float
    method: str
    relative_error_bound: float | None = None


def evaluate(
    env: FiniteMDP,
    policies: Any,
    rewards: Any,
    gamma: float,
    *,
    tol: float | None = None,
    rtol: float | None = None,
    method: Method = "auto",
    batched: bool | None = None,
) -> Evaluation:
    """Discounted values of ``N`` policies for ``K`` rewards, solved together.

    Solves ``(I - gamma P_pi) V = r_pi`` for every policy, with all ``K`` rewards as
    right-hand sides of one batched solve.

    Parameters
    ----------
    env : FiniteMDP
    policies : policy or batch
    rewards : array_like
        ``[S]``, ``[S, A]``, ``[S, A, S]`` or a batch of those (see :mod:`objspec.mdp.rewards`).
    gamma : float
        Discount in ``[0, 1)``.
    tol : float, optional
        Scaled absolute target: the certified bound is at most about
        ``tol * max(1, max|r|) / (1 - gamma)`` (default ``1e-12``; ``0`` when ``rtol`` is
        given).
    rtol : float, optional
        Entrywise relative target, for values far below ``max|r|`` (rare events): every
        entry is certified to satisfy ``|values - V| <= tol * max(1, max|r|) / (1 - gamma)
        + rtol * |V|`` (see :func:`objspec.mdp.linear.solve_relative` for the proof). Uses
        a sparse LU factorisation per policy.
    method : {"auto", "direct", "krylov"}
    batched : bool or None
        Whether ``rewards`` has a leading batch axis; None reads it from the shape (the rule
        of :mod:`objspec.mdp.rewards`). Give it when the shape is ambiguous, e.g. ``K``
        stacked ``[S, A]`` rewards with ``K == S == A``.

    Returns
    -------
    Evaluation

    Raises
    ------
    InvalidSpecificationError
        On a malformed reward, a discount outside ``[0, 1)``, or an invalid ``tol``/``rtol``
        (negative, NaN, infinite).
    SolverError
        If ``rtol`` cannot be certified (e.g. a true value of 0 from rewards of both signs
        with ``tol = 0``). A NaN is never returned.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp import evaluate
    >>> env = FiniteMDP(np.ones((1, 2, 1)), [1.0])
    >>> result = evaluate(env, Policy([[0.5, 0.5]]), [[1.0, 0.0]], 0.5)
    >>> float(result.returns), result.error_bound < 1e-12
    (1.0, True)

    A rare event: reward 1 only at the end of a chain of 60 states with ``gamma = 0.1``.
    The value in state 0 is ``0.1^59 / 0.9``; ``rtol`` certifies it to 10 digits, where the
    absolute default would accept anything below ``1e-11``:

    >>> import scipy.sparse as sp
    >>> S = 60
    >>> P = sp.csr_matrix((np.ones(S), (np.arange(S), np.minimum(np.arange(S) + 1, S - 1))))
    >>> chain = FiniteMDP(P, np.eye(S)[0])
    >>> result = evaluate(chain, np.ones((S, 1)), np.eye(S)[-1], 0.1, rtol=1e-10)
    >>> bool(abs(result.returns / (0.1 ** 59 / 0.9) - 1) < 1e-10)
    True
    >>> result.relative_error_bound < 1e-10
    True
    """
    gamma = check_discount(gamma)
    pi, single_pi = as_policy_batch(policies, env.n_states, env.n_actions, enabled=env.enabled)
    arr, kind, single_r = normalize_rewards(env, rewards, batched=batched)
    r = expected_rewards(env, arr, kind)
    rhs = np.einsum("nsa,ksa->nsk", pi, r)
    sol = solve_policy_systems(env, pi, rhs, gamma, tol=tol, rtol=rtol, method=method)
    values = sol.x.transpose(0, 2, 1)  # [N, K, S]
    returns = values @ env.initial
    rel = sol.relative_error_bound
    return Evaluation(
        values=_squeeze(values, single_pi, single_r),
        returns=_squeeze(returns, single_pi, single_r),
        error_bound=float(sol.error_bound.max()),
        method=sol.method,
        relative_error_bound=None if rel is None else float(rel.max()),
    )


def discounted_values(
    env: FiniteMDP, policies: Any, rewards: Any, gamma: float, **kwargs: Any
) -> np.ndarray:
    """State values ``V_pi(s) = E[sum_t gamma^t R(x_t) | s_0 = s]``, shape ``(N?, K?, S)``.

    See :func:`evaluate` for the parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp import discounted_values
    >>> env = FiniteMDP(np.ones((1, 1, 1)), [1.0])
    >>> discounted_values(env, Policy([[1.0]]), [1.0], 0.9)
    array([10.])
    """
    return evaluate(env, policies, rewards, gamma, **kwargs).values


def expected_return(
    env: FiniteMDP, policies: Any, rewards: Any, gamma: float, **kwargs: Any
) -> np.ndarray:
    """Expected discounted return ``J_R(pi) = mu0 . V_pi``, shape ``(N?, K?)``.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp import expected_return
    >>> env = FiniteMDP(np.ones((1, 1, 1)), [1.0])
    >>> expected_return(env, [Policy([[1.0]])] * 2, [[1.0], [2.0]], 0.5)
    array([[2., 4.],
           [2., 4.]])
    """
    return evaluate(env, policies, rewards, gamma, **kwargs).returns


def state_visitation(
    env: FiniteMDP,
    policies: Any,
    gamma: float,
    *,
    tol: float | None = None,
    rtol: float | None = None,
    method: Method = "auto",
) -> np.ndarray:
    """Discounted state visitation ``d(s) = sum_t gamma^t P(s_t = s)``, shape ``(N?, S)``.

    Solves ``(I - gamma P_pi)^T d = mu0``; ``sum_s d(s) = 1 / (1 - gamma)``.

    ``tol`` (default ``1e-12``, or ``0`` with ``rtol``) bounds the certified 1-norm error by
    about ``tol / (1 - gamma)``; with ``rtol``, every entry is certified to satisfy
    ``|d - d_true| <= tol / (1 - gamma) + rtol * d_true`` (rarely visited states keep their
    relative accuracy); see :func:`evaluate`. Raises
    :class:`~objspec.errors.SolverError` if that cannot be certified; never returns NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp import state_visitation
    >>> P = np.zeros((2, 1, 2)); P[0, 0, 1] = P[1, 0, 1] = 1
    >>> state_visitation(FiniteMDP(P, [1.0, 0.0]), Policy([[1.0], [1.0]]), 0.5)
    array([1., 1.])
    """
    gamma = check_discount(gamma)
    pi, single = as_policy_batch(policies, env.n_states, env.n_actions, enabled=env.enabled)
    rhs = env.initial[None, :, None]
    sol = solve_policy_systems(
        env, pi, rhs, gamma, transpose=True, tol=tol, rtol=rtol, method=method
    )
    d = np.clip(sol.x[:, :, 0], 0.0, None)  # visitation is non-negative; clip rounding only
    return d[0] if single else d


def state_action_occupancy(
    env: FiniteMDP, policies: Any, gamma: float, **kwargs: Any
) -> np.ndarray:
    """``m(s, a) = d(s) pi(a|s)``, shape ``(N?, S, A)``.

    Keywords (``tol``, ``rtol``, ``method``) are those of :func:`state_visitation`.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp import state_action_occupancy
    >>> env = FiniteMDP(np.ones((1, 2, 1)), [1.0])
    >>> state_action_occupancy(env, Policy([[0.25, 0.75]]), 0.5)
    array([[0.5, 1.5]])
    """
    pi, single = as_policy_batch(policies, env.n_states, env.n_actions, enabled=env.enabled)
    d = state_visitation(env, pi, gamma, **kwargs)
    out = d[:, :, None] * pi
    return out[0] if single else out


def occupancy_measure(env: FiniteMDP, policies: Any, gamma: float, **kwargs: Any) -> np.ndarray:
    """The discounted occupancy measure ``m(s, a, s') = d(s) pi(a|s) tau(s'|s, a)``.

    Shape ``[S, A, S]`` for one policy or ``[N, S, A, S]`` for a batch. For every reward,
    ``<R, m> = J_R(pi)``. Keywords (``tol``, ``rtol``, ``method``) are those of
    :func:`state_visitation`.

    Raises
    ------
    InvalidSpecificationError
        If ``gamma`` is outside ``[0, 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp import occupancy_measure
    >>> env = FiniteMDP(np.ones((1, 2, 1)), [1.0])
    >>> occupancy_measure(env, Policy([[0.25, 0.75]]), 0.5)[0, :, 0]
    array([0.5, 1.5])
    """
    pi, single = as_policy_batch(policies, env.n_states, env.n_actions, enabled=env.enabled)
    sa = state_action_occupancy(env, pi, gamma, **kwargs)
    if env.n_states * env.n_actions * env.n_states * pi.shape[0] > 5e8:
        raise InvalidSpecificationError(
            "the dense occupancy measure [N, S, A, S] would exceed 4 GB; use "
            "state_action_occupancy (m(s, a, s') = m(s, a) tau(s'|s, a))"
        )
    out = sa[:, :, :, None] * env.transitions[None]
    return out[0] if single else out
