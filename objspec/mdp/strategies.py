"""Hypothesis strategies for MDPs, policies, rewards and discounts.

The building blocks of :mod:`objspec.environments.strategies` (which re-exports every name
here) and of the specification strategies each formalism registers
(:mod:`objspec.formalisms.registry`). Importing this module imports hypothesis; nothing in
objspec imports it at import time.

Examples
--------
>>> from hypothesis import given, settings
>>> @settings(max_examples=5, database=None)
... @given(mdps(max_states=3))
... def check(env):
...     assert env.n_states <= 3
>>> check()
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, Literal

import numpy as np
from hypothesis import strategies as st

from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy

__all__ = [
    "PolicyKind",
    "RewardShape",
    "mdps",
    "labelled_mdps",
    "policies",
    "policy_batches",
    "rewards",
    "reward_vectors",
    "discounts",
]

PolicyKind = Literal["any", "deterministic", "boundary", "interior"]
RewardShape = Literal["any", "state", "state_action", "transition"]

_WEIGHT = st.integers(min_value=1, max_value=6)


def _distribution(
    draw: st.DrawFn, n: int, *, zeros: bool, exact: bool
) -> list[Fraction] | np.ndarray:
    """A probability vector of length ``n``: small integer weights, normalised."""
    lo = 0 if zeros else 1
    weights = draw(st.lists(st.integers(lo, 6), min_size=n, max_size=n))
    if sum(weights) == 0:
        weights[draw(st.integers(0, n - 1))] = 1
    total = sum(weights)
    if exact:
        return [Fraction(w, total) for w in weights]
    return np.asarray(weights, dtype=float) / total


@st.composite
def mdps(
    draw: st.DrawFn,
    min_states: int = 1,
    max_states: int = 5,
    min_actions: int = 1,
    max_actions: int = 3,
    *,
    deterministic: bool = False,
    max_successors: int | None = None,
    initial: Literal["any", "first", "uniform"] = "any",
    exact: bool = False,
    sparse: bool = False,
    masked: bool = False,
) -> FiniteMDP:
    """Random finite MDPs.

    Transition rows are normalised small integer weights (so they are exact rationals when
    ``exact=True``), and rows with zeros are common: unreachable states, absorbing states
    and deterministic moves all occur.

    Parameters
    ----------
    min_states, max_states, min_actions, max_actions : int
        Size bounds.
    deterministic : bool
        Every ``(s, a)`` has one successor.
    max_successors : int, optional
        At most this many successors per ``(s, a)``.
    initial : {"any", "first", "uniform"}
        ``"first"`` starts in state 0, ``"uniform"`` uniformly; ``"any"`` draws a
        distribution (possibly with unreachable states).
    exact : bool
        Build the MDP from :class:`fractions.Fraction` entries (exact evaluation).
    sparse : bool
        Pass the transitions as a scipy.sparse ``(S*A, S)`` matrix.
    masked : bool
        Draw a random :attr:`FiniteMDP.enabled` mask too (every state keeps at least one
        action; states with fewer actions are common), as in PRISM/Storm models.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, database=None)
    ... @given(mdps(max_states=3, exact=True))
    ... def check(env):
    ...     assert env.is_exact and env.n_states <= 3
    >>> check()
    >>> @settings(max_examples=5, database=None)
    ... @given(mdps(max_states=3, masked=True))
    ... def check_masked(env):
    ...     assert (env.n_enabled >= 1).all()
    >>> check_masked()
    """
    S = draw(st.integers(min_states, max_states))
    A = draw(st.integers(min_actions, max_actions))
    rows: list[Any] = []
    for _ in range(S * A):
        if deterministic:
            row: Any = [Fraction(0)] * S if exact else np.zeros(S)
            row[draw(st.integers(0, S - 1))] = Fraction(1) if exact else 1.0
        else:
            k = S if max_successors is None else max(1, min(max_successors, S))
            support = draw(st.lists(st.integers(0, S - 1), min_size=1, max_size=k, unique=True))
            probs = _distribution(draw, len(support), zeros=False, exact=exact)
            row = [Fraction(0)] * S if exact else np.zeros(S)
            for t, p in zip(support, probs, strict=True):
                row[t] = p
        rows.append(row)
    if initial == "first":
        init: Any = [Fraction(1) if exact else 1.0] + [Fraction(0) if exact else 0.0] * (S - 1)
    elif initial == "uniform":
        init = [Fraction(1, S)] * S if exact else np.full(S, 1.0 / S)
    else:
        init = _distribution(draw, S, zeros=True, exact=exact)
    enabled: np.ndarray | None = None
    if masked:
        enabled = np.array(
            draw(st.lists(st.booleans(), min_size=S * A, max_size=S * A)), dtype=bool
        ).reshape(S, A)
        for s in np.flatnonzero(~enabled.any(axis=1)).tolist():
            enabled[s, draw(st.integers(0, A - 1))] = True
        for s, a in np.argwhere(~enabled).tolist():
            rows[s * A + a] = [Fraction(0)] * S if exact else np.zeros(S)
    if exact:
        transitions: Any = np.array(rows, dtype=object).reshape(S, A, S)
        return FiniteMDP(transitions, np.array(init, dtype=object), enabled=enabled)
    dense = np.array(rows, dtype=float).reshape(S, A, S)
    if sparse:
        import scipy.sparse as sp

        return FiniteMDP(
            sp.csr_matrix(dense.reshape(S * A, S)), np.asarray(init, dtype=float),
            enabled=enabled,
        )
    return FiniteMDP(dense, np.asarray(init, dtype=float), enabled=enabled)


@st.composite
def labelled_mdps(
    draw: st.DrawFn,
    propositions: Sequence[str] = ("a", "b"),
    *,
    transition_labels: bool = False,
    **mdp_kwargs: Any,
) -> FiniteMDP:
    """Random MDPs (:func:`mdps`, same keyword arguments) with random labels.

    State labels by default; with ``transition_labels=True`` each transition
    ``(s, a, s')`` gets its own random label set (the paper's general labelling).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, database=None)
    ... @given(labelled_mdps(("p",), transition_labels=True))
    ... def check(env):
    ...     assert set(env.propositions) <= {"p"} and env.state_labels is None
    >>> check()
    """
    base = draw(mdps(**mdp_kwargs))
    props = list(propositions)
    transitions: Any = base.exact_transitions() if base.is_exact else base.transitions
    init: Any = base.exact_initial() if base.is_exact else base.initial
    subsets = st.lists(st.sampled_from(props), unique=True) if props else st.just([])
    enabled = None if base.all_enabled else base.enabled
    if not transition_labels:
        labels = {s: draw(subsets) for s in range(base.n_states)}
        return FiniteMDP(transitions, init, labels=labels, enabled=enabled)
    table = {
        (s, a, t): frozenset(draw(subsets))
        for s in range(base.n_states)
        for a in range(base.n_actions)
        for t in range(base.n_states)
    }

    def label(s: int, a: int, t: int) -> frozenset[str]:
        return table[(s, a, t)]

    return FiniteMDP(transitions, init, labels=label, enabled=enabled)


def _shape(env_or_shape: FiniteMDP | tuple[int, int]) -> tuple[int, int]:
    if isinstance(env_or_shape, FiniteMDP):
        return env_or_shape.n_states, env_or_shape.n_actions
    S, A = env_or_shape
    return int(S), int(A)


@st.composite
def policies(
    draw: st.DrawFn,
    env_or_shape: FiniteMDP | tuple[int, int],
    kind: PolicyKind = "any",
    *,
    exact: bool = False,
) -> Policy:
    """Policies for an environment (or an ``(S, A)`` shape).

    ``kind``: ``"deterministic"``; ``"boundary"`` (every row has a zero when ``A > 1``:
    the faces of the simplex); ``"interior"`` (full support); ``"any"`` mixes all three,
    row by row. ``exact=True`` gives Fraction probabilities. For an environment with
    disabled actions (:attr:`FiniteMDP.enabled`) every row is drawn over the enabled
    actions of its state only ("interior" then means full support on them).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, database=None)
    ... @given(policies((3, 2), "deterministic"))
    ... def check(pi):
    ...     assert pi.is_deterministic
    >>> check()
    """
    S, A = _shape(env_or_shape)
    mask = env_or_shape.enabled if isinstance(env_or_shape, FiniteMDP) else None
    rows = []
    for s in range(S):
        row_kind = kind if kind != "any" else draw(
            st.sampled_from(["deterministic", "boundary", "interior"])
        )
        on = list(range(A)) if mask is None else np.flatnonzero(mask[s]).tolist()
        k = len(on)
        if row_kind == "deterministic" or k == 1:
            sub: Any = [Fraction(0)] * k if exact else np.zeros(k)
            sub[draw(st.integers(0, k - 1))] = Fraction(1) if exact else 1.0
        elif row_kind == "boundary":
            zero = draw(st.integers(0, k - 1))
            inner = _distribution(draw, k - 1, zeros=True, exact=exact)
            sub = list(inner[:zero]) + [Fraction(0) if exact else 0.0] + list(inner[zero:])
        else:
            sub = _distribution(draw, k, zeros=False, exact=exact)
        row: list[Any] = [Fraction(0) if exact else 0.0] * A
        for a, p in zip(on, sub, strict=True):
            row[a] = p
        rows.append(row)
    return Policy(np.array(rows, dtype=object) if exact else np.array(rows, dtype=float))


def policy_batches(
    env_or_shape: FiniteMDP | tuple[int, int],
    min_size: int = 1,
    max_size: int = 6,
    kind: PolicyKind = "any",
) -> st.SearchStrategy[list[Policy]]:
    """Lists of policies (batches) for one environment.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=3, database=None)
    ... @given(policy_batches((2, 2), 2, 3))
    ... def check(batch):
    ...     assert 2 <= len(batch) <= 3
    >>> check()
    """
    return st.lists(policies(env_or_shape, kind), min_size=min_size, max_size=max_size)


@st.composite
def rewards(
    draw: st.DrawFn,
    env_or_shape: FiniteMDP | tuple[int, int],
    shape: RewardShape = "any",
    *,
    min_value: float = -1.0,
    max_value: float = 1.0,
    integers: bool = False,
) -> np.ndarray:
    """Markov rewards ``[S]``, ``[S, A]`` or ``[S, A, S]`` (``shape``), finite values in
    ``[min_value, max_value]``; ``integers=True`` draws integer values (exact ties).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, database=None)
    ... @given(rewards((2, 3), "state_action"))
    ... def check(r):
    ...     assert r.shape == (2, 3) and abs(r).max() <= 1
    >>> check()
    """
    S, A = _shape(env_or_shape)
    if shape == "any":
        shape = draw(st.sampled_from(["state", "state_action", "transition"]))
    dims = {"state": (S,), "state_action": (S, A), "transition": (S, A, S)}[shape]
    n = int(np.prod(dims))
    if integers:
        values: list[float] = draw(
            st.lists(st.integers(math.ceil(min_value), math.floor(max_value)), min_size=n,
                     max_size=n)
        )
    else:
        values = draw(
            st.lists(
                st.floats(min_value, max_value, allow_nan=False, allow_infinity=False, width=32),
                min_size=n, max_size=n,
            )
        )
    return np.asarray(values, dtype=float).reshape(dims)


def reward_vectors(
    env_or_shape: FiniteMDP | tuple[int, int],
    k: int | None = None,
    shape: RewardShape = "state_action",
) -> st.SearchStrategy[np.ndarray]:
    """``k`` stacked rewards ``[k, ...]`` (``k`` drawn from 1..3 if not given), for MORL."""
    count = st.just(k) if k is not None else st.integers(1, 3)
    fixed: RewardShape = shape if shape != "any" else "state_action"
    return count.flatmap(
        lambda n: st.lists(rewards(env_or_shape, fixed), min_size=n, max_size=n).map(np.stack)
    )


def discounts(min_value: float = 0.1, max_value: float = 0.95) -> st.SearchStrategy[float]:
    """Discount factors in ``[min_value, max_value]`` (kept away from 1 for conditioning)."""
    return st.floats(min_value, max_value, allow_nan=False)
