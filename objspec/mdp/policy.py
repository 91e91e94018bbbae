"""Stationary Markovian policies and batches of them.

A policy is ``pi: S -> Delta(A)``, stored as an ``[S, A]`` row-stochastic matrix. Wherever
objspec expects policies it accepts a :class:`Policy`, an ``[S, A]`` array, a sequence of
those, or an ``[N, S, A]`` array (a batch); :func:`as_policy_batch` does that conversion
and the validation.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from objspec.errors import InvalidPolicyError
from objspec.mdp.arrays import real_array
from objspec.mdp.model import ROW_TOLERANCE, rational_array

if TYPE_CHECKING:
    from objspec.mdp.model import FiniteMDP

__all__ = [
    "Policy",
    "PolicyLike",
    "as_policy_batch",
    "check_enabled_support",
    "deterministic_policies",
    "exact_policy_batch",
]


def _check_rows(probs: np.ndarray, where: str) -> None:
    """Validate an ``[S, A]`` or ``[N, S, A]`` array of action distributions."""
    if not np.all(np.isfinite(probs)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(probs))[0])
        raise InvalidPolicyError(f"{where}{_index(idx)} = {probs[idx]} is not finite")
    if np.any(probs < 0):
        idx = tuple(int(i) for i in np.argwhere(probs < 0)[0])
        raise InvalidPolicyError(f"{where}{_index(idx)} = {probs[idx]} is negative")
    sums = probs.sum(axis=-1)
    off = np.abs(sums - 1.0) > ROW_TOLERANCE
    if off.any():
        idx = tuple(int(i) for i in np.argwhere(off)[0])
        head = "" if len(idx) == 1 else f"policy {idx[0]}, "
        raise InvalidPolicyError(
            f"{where}: {head}the action distribution of state {idx[-1]} sums to "
            f"{sums[idx]:.12g}, not 1 (tolerance {ROW_TOLERANCE:g})"
        )


def check_enabled_support(batch: np.ndarray, enabled: np.ndarray | None, what: str) -> None:
    """Raise unless every policy of ``batch`` (``[N, S, A]`` or ``[S, A]``; floats or
    Fractions) puts probability only on actions ``enabled`` (``[S, A]`` bool) in each state.

    The test is exact: any non-zero probability on a disabled action is an error.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.mdp.policy import check_enabled_support
    >>> mask = np.array([[True, True], [True, False]])
    >>> check_enabled_support(np.array([[0.5, 0.5], [1.0, 0.0]]), mask, "policy")
    >>> uniform = np.full((2, 2), 0.5)
    >>> check_enabled_support(uniform, mask, "policy")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    objspec.errors.InvalidPolicyError: policy puts probability 0.5 on action 1 in state 1, ...
    """
    if enabled is None or enabled.all():
        return
    arr = batch if batch.ndim == 3 else batch[None]
    bad = (arr != 0) & ~enabled[None]
    if not bad.any():
        return
    n, s, a = (int(i) for i in np.argwhere(bad)[0])
    head = f"{what} {n} of the batch" if arr.shape[0] > 1 else what
    value = arr[n, s, a]
    shown = f"{float(value):.12g}" if not isinstance(value, Fraction) else str(value)
    raise InvalidPolicyError(
        f"{head} puts probability {shown} on action {a} in state {s}, where it is disabled "
        f"(enabled actions there: {np.flatnonzero(enabled[s]).tolist()})"
    )


def _index(idx: tuple[int, ...]) -> str:
    if len(idx) == 3:
        return f"[policy {idx[0]}][s={idx[1]}, a={idx[2]}]"
    return f"[s={idx[0]}, a={idx[1]}]"


class Policy:
    """A stationary Markovian policy ``pi(a | s)``.

    Parameters
    ----------
    probabilities : array_like
        ``[S, A]``; row ``s`` is the action distribution in state ``s`` (finite,
        non-negative, summing to 1 within ``1e-9``). Fractions are kept for exact mode.

    Raises
    ------
    InvalidPolicyError
        If the array is not two-dimensional or a row is not a distribution. Nothing is
        renormalised.

    Examples
    --------
    >>> from objspec import Policy
    >>> pi = Policy([[0.5, 0.5], [1.0, 0.0]])
    >>> pi.n_states, pi.n_actions, pi.is_deterministic
    (2, 2, False)
    >>> Policy.deterministic([1, 0], n_actions=2).probabilities
    array([[0., 1.],
           [1., 0.]])
    """

    __slots__ = ("_probs", "_exact", "_hash")

    def __init__(self, probabilities: Any) -> None:
        if isinstance(probabilities, Policy):
            self._probs: np.ndarray = probabilities._probs
            self._exact: np.ndarray | None = probabilities._exact
            self._hash: int | None = None
            return
        exact = rational_array(probabilities)
        probs = real_array(probabilities, "policy probabilities", InvalidPolicyError)
        if probs.ndim != 2 or 0 in probs.shape:
            raise InvalidPolicyError(f"a policy must be shaped [S, A]; got {probs.shape}")
        _check_rows(probs, "policy")
        if exact is not None:
            for s, row in enumerate(exact):
                if sum(row) != 1:
                    raise InvalidPolicyError(
                        f"policy: the action distribution of state {s} sums to {sum(row)}, "
                        "not exactly 1 (rational input is checked exactly)"
                    )
            exact.flags.writeable = False
        probs.flags.writeable = False
        self._probs = probs
        self._exact = exact
        self._hash = None

    @classmethod
    def deterministic(cls, actions: Sequence[int] | np.ndarray, n_actions: int) -> Policy:
        """The deterministic policy taking ``actions[s]`` in state ``s``."""
        acts = np.asarray(actions)
        if acts.ndim != 1 or not np.issubdtype(acts.dtype, np.integer):
            raise InvalidPolicyError(f"actions must be a 1-D integer array; got {actions!r}")
        if n_actions < 1:
            raise InvalidPolicyError(f"n_actions must be >= 1; got {n_actions}")
        bad = (acts < 0) | (acts >= n_actions)
        if bad.any():
            s = int(np.argmax(bad))
            raise InvalidPolicyError(
                f"action {int(acts[s])} of state {s} is outside 0..{n_actions - 1}"
            )
        probs = np.zeros((acts.size, n_actions))
        probs[np.arange(acts.size), acts] = 1.0
        if acts.size == 0:
            return cls(probs)  # refused there, with the constructor's message
        # one 1.0 per row: finite, non-negative, rows summing to exactly 1, so the
        # constructor's checks hold by construction and are not repeated
        probs.flags.writeable = False
        policy = cls.__new__(cls)
        policy._probs, policy._exact, policy._hash = probs, None, None
        return policy

    @classmethod
    def uniform_over(cls, env: FiniteMDP) -> Policy:
        """The policy that picks each *enabled* action of ``env`` uniformly (exact Fractions).

        Equal to :meth:`uniform` when every action is enabled.

        Examples
        --------
        >>> import numpy as np
        >>> from objspec import FiniteMDP, Policy
        >>> P = np.zeros((2, 3, 2)); P[:, :, 0] = 1.0; P[1, 2] = 0.0
        >>> env = FiniteMDP(P, [1.0, 0.0], enabled=[[1, 1, 1], [1, 1, 0]])
        >>> Policy.uniform_over(env).probabilities.round(3).tolist()
        [[0.333, 0.333, 0.333], [0.5, 0.5, 0.0]]
        """
        mask = env.enabled
        counts = mask.sum(axis=1)
        exact = np.empty(mask.shape, dtype=object)
        for s in range(mask.shape[0]):
            share = Fraction(1, int(counts[s]))
            exact[s] = [share if on else Fraction(0) for on in mask[s]]
        return cls(exact)

    @classmethod
    def uniform(cls, n_states: int, n_actions: int) -> Policy:
        """The policy that picks every action with probability ``1 / n_actions``.

        For an environment with disabled actions use :meth:`uniform_over`.
        """
        if n_states < 1 or n_actions < 1:
            raise InvalidPolicyError(f"need n_states, n_actions >= 1; got {n_states}, {n_actions}")
        exact = np.full((n_states, n_actions), Fraction(1, n_actions), dtype=object)
        return cls(exact)

    @property
    def probabilities(self) -> np.ndarray:
        """Read-only ``[S, A]`` float64 array of action probabilities."""
        return self._probs

    @property
    def n_states(self) -> int:
        """Number of states."""
        return int(self._probs.shape[0])

    @property
    def n_actions(self) -> int:
        """Number of actions."""
        return int(self._probs.shape[1])

    @property
    def is_deterministic(self) -> bool:
        """Whether every state puts probability 1 on one action."""
        return bool(np.all(self._probs.max(axis=1) == 1.0))

    @property
    def actions(self) -> np.ndarray:
        """The most likely action of every state (the action taken, if deterministic)."""
        return np.argmax(self._probs, axis=1)

    def exact_probabilities(self) -> np.ndarray:
        """``[S, A]`` object array of Fractions (floats are converted exactly)."""
        if self._exact is not None:
            return self._exact
        out = np.empty(self._probs.shape, dtype=object)
        out.ravel()[:] = [Fraction(float(x)) for x in self._probs.ravel()]
        for s, row in enumerate(out):
            if sum(row) != 1:
                raise InvalidPolicyError(
                    f"policy: state {s} does not sum to exactly 1 as rationals; give "
                    "fractions.Fraction probabilities for exact evaluation"
                )
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self._probs if dtype is None else self._probs.astype(dtype)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Policy):
            return NotImplemented
        return self._probs.shape == other._probs.shape and bool(
            np.array_equal(self._probs, other._probs)
        )

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((self._probs.shape, self._probs.tobytes()))
        return self._hash

    def __repr__(self) -> str:
        if self.is_deterministic:
            return f"Policy.deterministic({self.actions.tolist()}, n_actions={self.n_actions})"
        return f"Policy({np.array2string(self._probs, precision=4, separator=', ')})"

    def _repr_html_(self) -> str:
        """Jupyter: the action probabilities as a table (:func:`objspec.display.policy_html`)."""
        from objspec.display import policy_html

        return policy_html(self)


PolicyLike = Policy | np.ndarray | Sequence[Any]


def as_policy_batch(
    policies: Any,
    n_states: int,
    n_actions: int,
    *,
    what: str = "policy",
    enabled: np.ndarray | None = None,
) -> tuple[np.ndarray, bool]:
    """Validate policies and stack them as a float64 ``[N, S, A]`` array.

    Parameters
    ----------
    policies : Policy, array_like or sequence of them
        One policy (``Policy`` or ``[S, A]``) or a batch (sequence of those, or ``[N, S, A]``).
    n_states, n_actions : int
        The environment's size.
    enabled : numpy.ndarray, optional
        The environment's ``[S, A]`` mask of enabled actions (:attr:`FiniteMDP.enabled`);
        a policy that puts probability on a disabled action is then refused.

    Returns
    -------
    batch : numpy.ndarray
        ``[N, S, A]``.
    single : bool
        True when one policy was given (callers then drop the leading axis).

    Raises
    ------
    InvalidPolicyError
        Wrong shape, a row that is not a distribution, or probability on a disabled action;
        names the policy index, state and action.

    Examples
    --------
    >>> from objspec.mdp import as_policy_batch
    >>> batch, single = as_policy_batch([[1.0, 0.0]], 1, 2)
    >>> batch.shape, single
    ((1, 1, 2), True)
    """
    if isinstance(policies, Policy):
        batch, single = policies.probabilities[None], True
    elif isinstance(policies, np.ndarray) and policies.dtype != object:
        arr = real_array(policies, what, InvalidPolicyError)
        if arr.ndim == 2:
            batch, single = arr[None], True
        elif arr.ndim == 3:
            batch, single = arr, False
        else:
            raise InvalidPolicyError(
                f"{what} must be shaped [S, A] or [N, S, A]; got an array of shape {arr.shape}"
            )
        _check_rows(batch, what)
    else:
        try:
            items = list(policies)
        except TypeError:
            raise InvalidPolicyError(
                f"{what} must be a Policy, an array or a sequence of them; got "
                f"{type(policies).__name__}"
            ) from None
        if not items:
            raise InvalidPolicyError(f"{what}: empty batch of policies")
        if all(isinstance(p, Policy) for p in items):
            shapes = {p.probabilities.shape for p in items}
            if len(shapes) > 1:
                raise InvalidPolicyError(f"{what}: policies of different shapes {sorted(shapes)}")
            batch, single = np.stack([p.probabilities for p in items]), False
        else:
            first = items[0]
            nested = isinstance(first, Policy) or np.ndim(first) == 2
            if nested:
                converted = []
                for i, p in enumerate(items):
                    try:
                        converted.append(
                            p.probabilities if isinstance(p, Policy) else Policy(p).probabilities
                        )
                    except InvalidPolicyError as exc:
                        raise InvalidPolicyError(f"{what} {i} of the batch: {exc}") from None
                shapes = {c.shape for c in converted}
                if len(shapes) > 1:
                    raise InvalidPolicyError(
                        f"{what}: policies of different shapes {sorted(shapes)}"
                    )
                batch, single = np.stack(converted), False
            else:
                batch, single = Policy(items).probabilities[None], True
    if batch.shape[1:] != (n_states, n_actions):
        raise InvalidPolicyError(
            f"{what} is shaped [S, A] = {list(batch.shape[1:])}, but the environment has "
            f"{n_states} states and {n_actions} actions"
        )
    check_enabled_support(batch, enabled, what)
    return batch, single


def exact_policy_batch(
    policies: Any, n_states: int, n_actions: int, *, enabled: np.ndarray | None = None
) -> list[np.ndarray]:
    """Like :func:`as_policy_batch` but returns Fraction arrays ``[S, A]``, one per policy."""
    if isinstance(policies, Policy):
        items: list[Any] = [policies]
    elif isinstance(policies, np.ndarray) and policies.ndim == 2:
        items = [policies]
    else:
        items = list(policies)
        if items and not isinstance(items[0], Policy) and np.ndim(items[0]) != 2:
            items = [np.asarray(items, dtype=object)]
    out: list[np.ndarray] = []
    for p in items:
        pol = p if isinstance(p, Policy) else Policy(p)
        if pol.probabilities.shape != (n_states, n_actions):
            raise InvalidPolicyError(
                f"policy is shaped {list(pol.probabilities.shape)}, but the environment has "
                f"{n_states} states and {n_actions} actions"
            )
        check_enabled_support(
            pol.probabilities, enabled, "policy" if len(items) == 1 else f"policy {len(out)}"
        )
        out.append(pol.exact_probabilities())
    return out


def deterministic_policies(env: FiniteMDP) -> Iterator[Policy]:
    """Iterate over all deterministic policies of ``env``: ``|A|^|S|`` of them, or the
    product of the numbers of enabled actions when some are disabled (only enabled
    actions are chosen).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.mdp import deterministic_policies
    >>> env = FiniteMDP(np.ones((2, 3, 2)) / 2, [1.0, 0.0])
    >>> sum(1 for _ in deterministic_policies(env))
    9
    """
    choices = [env.enabled_actions(s).tolist() for s in range(env.n_states)]
    for actions in itertools.product(*choices):
        yield Policy.deterministic(np.array(actions, dtype=np.int64), env.n_actions)
