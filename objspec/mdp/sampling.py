"""Seeded, vectorised trajectory sampling for many policies at once.

:func:`sample_trajectories` draws ``M`` trajectories of length ``H`` for each of ``N``
policies. All ``N * M`` trajectories advance together: the only Python loop is over the
``H`` time steps, and each step costs a few array operations on ``N * M`` entries.

Method. Actions are drawn by inverse-CDF sampling against the per-state cumulative action
probabilities. Successor states are drawn from the sparse CSR transition matrix with the
*global cumulative sum* trick: with ``c = cumsum(P.data)`` over all stored entries and
``base[r] = c[indptr[r] - 1]``, the successor of row ``r`` for a uniform ``u`` is the entry
found by ``searchsorted(c, base[r] + u * (c[end_r - 1] - base[r]), side="right")``, one
vectorised binary search for all trajectories; the index is clipped into row ``r``. Zero
entries are not stored, so a zero-probability successor or action is never drawn. (The
global sum costs relative accuracy ``~ eps * nnz`` in the probabilities, far below any
sampling error.)

Seeding: ``seed`` is an ``int``, a :class:`numpy.random.Generator` or ``None``, passed to
:func:`numpy.random.default_rng`; the same seed gives the same trajectories.

Examples
--------
>>> import numpy as np
>>> from objspec import FiniteMDP, Policy
>>> from objspec.mdp.sampling import sample_trajectories
>>> P = np.zeros((2, 1, 2)); P[0, 0, 1] = P[1, 0, 0] = 1.0
>>> traj = sample_trajectories(FiniteMDP(P, [1.0, 0.0]), Policy([[1.0], [1.0]]), 2, 3, seed=0)
>>> traj.states
array([[0, 1, 0, 1],
       [0, 1, 0, 1]])
>>> traj.actions.shape
(2, 3)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from objspec.errors import InvalidSpecificationError
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import as_policy_batch

__all__ = ["Trajectories", "sample_trajectories", "discounted_returns"]


class Trajectories(NamedTuple):
    """Sampled trajectories; unpacks as ``states, actions = ...``.

    Attributes
    ----------
    states : numpy.ndarray
        ``[N, M, H + 1]`` ints (``[M, H + 1]`` for a single policy): ``s_0 ... s_H``.
    actions : numpy.ndarray
        ``[N, M, H]`` ints (``[M, H]`` for a single policy): ``a_0 ... a_{H-1}``.
    """

    states: np.ndarray
    actions: np.ndarray


def _check_count(value: Any, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InvalidSpecificationError(f"{what} = {value!r} must be an integer >= {minimum}")
    return int(value)


def sample_trajectories(
    env: FiniteMDP,
    policies: Any,
    n_trajectories: int,
    horizon: int,
    *,
    seed: int | np.random.Generator | None = None,
    initial: Any = None,
) -> Trajectories:
    """Sample ``n_trajectories`` trajectories of ``horizon`` steps for every policy.

    Parameters
    ----------
    env : FiniteMDP
    policies : policy or batch
        ``N`` policies (a single policy drops the ``N`` axis of the result).
    n_trajectories : int
        ``M >= 1`` trajectories per policy.
    horizon : int
        ``H >= 0`` steps; ``states`` has ``H + 1`` columns.
    seed : int, numpy.random.Generator or None
        Randomness source (see the module docstring).
    initial : array_like, optional
        Start distribution ``[S]`` instead of ``env.initial``; validated like it.

    Returns
    -------
    Trajectories
        ``states [N, M, H+1]`` and ``actions [N, M, H]`` (int64).

    Raises
    ------
    InvalidSpecificationError
        If ``n_trajectories`` or ``horizon`` is not a non-negative integer (``M >= 1``).
    InvalidModelError
        If ``initial`` is not a distribution over the states.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp import sample_trajectories
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
    >>> env = FiniteMDP(P, [1.0, 0.0])
    >>> stay, move = Policy.deterministic([0, 0], 2), Policy.deterministic([1, 1], 2)
    >>> states, actions = sample_trajectories(env, [stay, move], 3, 2, seed=0)
    >>> states.shape, actions.shape
    ((2, 3, 3), (2, 3, 2))
    >>> states[1, 0].tolist(), actions[1, 0].tolist()
    ([0, 1, 1], [1, 1])
    """
    pi, single = as_policy_batch(policies, env.n_states, env.n_actions, enabled=env.enabled)
    M = _check_count(n_trajectories, "n_trajectories", 1)
    H = _check_count(horizon, "horizon", 0)
    mu0 = env.initial if initial is None else _initial(env, initial)
    rng = np.random.default_rng(seed)
    N, S, A = pi.shape

    states = np.empty((N, M, H + 1), dtype=np.int64)
    actions = np.empty((N, M, H), dtype=np.int64)

    support0 = np.flatnonzero(mu0 > 0)
    cdf0 = np.cumsum(mu0)
    s = np.searchsorted(cdf0, rng.random((N, M)) * cdf0[-1], side="right")
    s = np.clip(s, support0[0], support0[-1])
    states[:, :, 0] = s

    # per-state action CDFs (exact per row) and the last action of positive probability
    pcdf = np.cumsum(pi, axis=2)
    last = (A - 1 - np.argmax(pi[:, :, ::-1] > 0, axis=2)).astype(np.int64)

    P = env.transition_matrix
    cum = np.cumsum(P.data)
    start, end = P.indptr[:-1].astype(np.int64), P.indptr[1:].astype(np.int64)
    base = np.where(start > 0, cum[np.maximum(start - 1, 0)], 0.0)
    total = cum[end - 1] - base
    rows_n = np.arange(N)[:, None]

    for t in range(H):
        cdf = pcdf[rows_n, s]  # [N, M, A]
        target = rng.random((N, M)) * cdf[:, :, -1]
        a = (cdf <= target[:, :, None]).sum(axis=2)
        a = np.minimum(a, last[rows_n, s])
        actions[:, :, t] = a
        row = s * A + a
        k = np.searchsorted(cum, base[row] + rng.random((N, M)) * total[row], side="right")
        k = np.clip(k, start[row], end[row] - 1)
        s = P.indices[k].astype(np.int64)
        states[:, :, t + 1] = s
    if single:
        return Trajectories(states[0], actions[0])
    return Trajectories(states, actions)


def _initial(env: FiniteMDP, initial: Any) -> np.ndarray:
    from objspec.errors import InvalidModelError
    from objspec.mdp.model import ROW_TOLERANCE

    try:
        mu = np.asarray(initial, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidModelError(f"initial must be numeric: {exc}") from None
    if mu.shape != (env.n_states,):
        raise InvalidModelError(f"initial must be shaped [S] = [{env.n_states}]; got {mu.shape}")
    bad = ~np.isfinite(mu) | (mu < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise InvalidModelError(f"initial[{i}] = {mu[i]} is negative or not finite")
    if abs(mu.sum() - 1.0) > ROW_TOLERANCE:
        raise InvalidModelError(f"initial sums to {mu.sum():.12g}, not 1")
    return mu


def discounted_returns(
    env: FiniteMDP, trajectories: Trajectories, reward: Any, gamma: float
) -> np.ndarray:
    """Discounted return ``sum_t gamma^t R(s_t, a_t, s_{t+1})`` of each sampled trajectory.

    Parameters
    ----------
    trajectories : Trajectories
        As returned by :func:`sample_trajectories`.
    reward : array_like
        One reward shaped ``[S]``, ``[S, A]`` or ``[S, A, S]``.
    gamma : float
        Discount in ``[0, 1]`` (1 gives the undiscounted finite-horizon sum).

    Returns
    -------
    numpy.ndarray
        Shape ``trajectories.actions.shape[:-1]``: ``[N, M]`` or ``[M]``.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp.sampling import discounted_returns, sample_trajectories
    >>> env = FiniteMDP(np.ones((1, 1, 1)), [1.0])
    >>> traj = sample_trajectories(env, Policy([[1.0]]), 1, 3, seed=1)
    >>> discounted_returns(env, traj, [1.0], 0.5)
    array([1.75])
    """
    from objspec.mdp.rewards import check_discount, normalize_rewards

    g = check_discount(gamma, allow_one=True)
    arr, kind, single = normalize_rewards(env, reward)
    if not single:
        raise InvalidSpecificationError("discounted_returns takes one reward, not a batch")
    R = arr[0]
    states, actions = trajectories
    s, a, s_next = states[..., :-1], actions, states[..., 1:]
    if kind == 1:
        per_step = R[s]
    elif kind == 2:
        per_step = R[s, a]
    else:
        per_step = R[s, a, s_next]
    weights = g ** np.arange(actions.shape[-1], dtype=np.float64)
    return np.asarray(per_step @ weights)
