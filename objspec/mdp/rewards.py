"""Reward arrays: shape rules and expected per-state-action rewards.

A Markov reward is shaped ``[S]`` (a function of the state ``s_t``), ``[S, A]`` (of
``(s_t, a_t)``) or ``[S, A, S]`` (of the transition ``x_t = (s_t, a_t, s_{t+1})``). A batch
of ``K`` rewards has a leading axis. The shape rule, checked in this order:

* ``ndim == 1``: one ``[S]`` reward;
* ``ndim == 2``: one ``[S, A]`` reward if the shape is ``(S, A)``, else a batch ``[K, S]``;
* ``ndim == 3``: one ``[S, A, S]`` reward if the shape is ``(S, A, S)``, else ``[K, S, A]``;
* ``ndim == 4``: a batch ``[K, S, A, S]``.

Pass ``batched=True`` or ``False`` to :func:`normalize_rewards` to override the rule when a
shape is ambiguous (for instance ``K == S == A``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from objspec.errors import InvalidSpecificationError
from objspec.mdp.arrays import real_array
from objspec.mdp.model import FiniteMDP

__all__ = ["normalize_rewards", "expected_rewards", "check_discount"]


def check_discount(gamma: Any, *, allow_one: bool = False) -> float:
    """Validate a discount factor: a finite real in ``[0, 1)`` (``[0, 1]`` if ``allow_one``).

    Examples
    --------
    >>> check_discount(0.9)
    0.9
    >>> check_discount(1.0)
    Traceback (most recent call last):
    ...
    objspec.errors.InvalidSpecificationError: discount gamma = 1.0 is outside [0, 1)
    """
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        raise InvalidSpecificationError(f"discount gamma = {gamma!r} is not a number") from None
    upper_ok = g <= 1.0 if allow_one else g < 1.0
    if not np.isfinite(g) or g < 0.0 or not upper_ok:
        interval = "[0, 1]" if allow_one else "[0, 1)"
        raise InvalidSpecificationError(f"discount gamma = {gamma!r} is outside {interval}")
    return g


def normalize_rewards(
    env: FiniteMDP, rewards: Any, *, batched: bool | None = None, what: str = "reward"
) -> tuple[np.ndarray, int, bool]:
    """Validate rewards against ``env`` and return them with a leading batch axis.

    Returns
    -------
    rewards : numpy.ndarray
        ``[K, S]``, ``[K, S, A]`` or ``[K, S, A, S]`` float64.
    kind : int
        1, 2 or 3: whether each reward depends on ``s``, ``(s, a)`` or ``(s, a, s')``.
    single : bool
        True when one reward was given.

    Raises
    ------
    InvalidSpecificationError
        On a shape that fits none of the forms, or a non-finite entry (named by index).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.mdp import normalize_rewards
    >>> env = FiniteMDP(np.ones((2, 2, 2)) / 2, [1.0, 0.0])
    >>> arr, kind, single = normalize_rewards(env, [1.0, 0.0])
    >>> arr.shape, kind, single
    ((1, 2), 1, True)
    >>> normalize_rewards(env, np.zeros((2, 2)), batched=True)[1:]
    (1, False)
    """
    arr = real_array(rewards, what, InvalidSpecificationError)
    S, A = env.n_states, env.n_actions
    forms = {1: (S,), 2: (S, A), 3: (S, A, S)}
    kind: int | None = None
    single = True
    if batched is not True and arr.ndim in forms and arr.shape == forms[arr.ndim]:
        kind = arr.ndim
        arr = arr[None]
    elif batched is not False and arr.ndim >= 2 and arr.shape[1:] in forms.values():
        kind = arr.ndim - 1
        single = False
    if kind is None:
        raise InvalidSpecificationError(
            f"{what} has shape {arr.shape}; expected [S]={list(forms[1])}, [S, A]="
            f"{list(forms[2])} or [S, A, S]={list(forms[3])}, optionally with a leading batch axis"
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        shown = idx[1:] if single else idx
        raise InvalidSpecificationError(f"{what}{list(shown)} = {arr[idx]} is not finite")
    return arr, kind, single


def expected_rewards(env: FiniteMDP, rewards: np.ndarray, kind: int) -> np.ndarray:
    """Expected immediate reward ``r[k, s, a] = sum_t tau(t|s,a) R_k(s, a, t)``.

    ``rewards`` is the output of :func:`normalize_rewards`; the result is ``[K, S, A]``.
    For ``[S, A, S]`` rewards only the entries at the non-zeros of the transition matrix
    are read (``O(K * nnz)`` work, no ``[S, A, S]`` intermediate).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.mdp.rewards import expected_rewards, normalize_rewards
    >>> P = np.zeros((1, 1, 2)); P[0, 0] = [0.25, 0.75]
    >>> env = FiniteMDP(np.concatenate([P, P]), [1.0, 0.0])
    >>> R = np.zeros((2, 1, 2)); R[0, 0, 1] = 4.0
    >>> expected_rewards(env, *normalize_rewards(env, R)[:2])[0]
    array([[3.],
           [0.]])
    """
    K = rewards.shape[0]
    S, A = env.n_states, env.n_actions
    if kind == 1:
        return np.broadcast_to(rewards[:, :, None], (K, S, A)).copy()
    if kind == 2:
        return rewards.copy()
    P: sp.csr_matrix = env.transition_matrix
    rows = np.repeat(np.arange(S * A), np.diff(P.indptr))
    flat = rewards.reshape(K, S * A, S)
    out = np.empty((K, S * A))
    for k in range(K):
        out[k] = np.bincount(rows, weights=P.data * flat[k, rows, P.indices], minlength=S * A)
    return out.reshape(K, S, A)
