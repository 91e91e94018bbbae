"""The witness environments E1-E7 of docs/theory.md#separations.

Small reward-free MDPs on which the separation witnesses live. All probabilities are 0 or
1 (E1-E7 are deterministic), so every evaluation on them can run in exact arithmetic.
State and action names follow the notes; the parameters ``p, q, r`` of the notes are
probabilities of the first action (``"a"``) unless stated otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from objspec.mdp.model import FiniteMDP

__all__ = ["E1", "E2", "E3", "E4", "E5", "E6", "E7"]

Labels = Mapping[Any, Iterable[str]] | Callable[[int, int, int], Iterable[str]] | None


def _actions(n_actions: int) -> tuple[str, ...]:
    return tuple("abcdefghij"[:n_actions]) if n_actions <= 10 else tuple(
        f"a{i}" for i in range(n_actions)
    )


def _deterministic(successor: np.ndarray) -> np.ndarray:
    """``[S, A]`` successor table -> ``[S, A, S]`` 0/1 transition tensor."""
    S, A = successor.shape
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None, :], successor] = 1.0
    return P


def E1(n_actions: int = 3, labels: Labels = None) -> FiniteMDP:
    """E1: one state ``s`` with ``n_actions`` self-loop actions ``a1, a2, a3``.

    Examples
    --------
    >>> E1().transitions.shape
    (1, 3, 1)
    """
    return FiniteMDP(
        np.ones((1, n_actions, 1)),
        [1.0],
        labels=labels,
        state_names=["s"],
        action_names=[f"a{i + 1}" for i in range(n_actions)],
    )


def E2(labels: Labels = None) -> FiniteMDP:
    """E2: ``s0`` and ``s1`` both absorbing, start in ``s0`` (``s1`` is unreachable), A = {a, b}.

    Examples
    --------
    >>> E2().initial
    array([1., 0.])
    """
    succ = np.array([[0, 0], [1, 1]])
    return FiniteMDP(
        _deterministic(succ), [1.0, 0.0], labels=labels, state_names=["s0", "s1"],
        action_names=["a", "b"],
    )


def E3(n_actions: int = 2, labels: Labels = None) -> FiniteMDP:
    """E3: ``s0 -> s1`` under any action, ``s1`` absorbing, start in ``s0``.

    Parameters ``p = pi(a|s0)``, ``q = pi(a|s1)``. ``n_actions=3`` gives E5.

    Examples
    --------
    >>> E3().transitions[0, :, 1]
    array([1., 1.])
    """
    succ = np.array([[1] * n_actions, [1] * n_actions])
    return FiniteMDP(
        _deterministic(succ), [1.0, 0.0], labels=labels, state_names=["s0", "s1"],
        action_names=_actions(n_actions),
    )


def E4(n_actions: int = 2, labels: Labels = None) -> FiniteMDP:
    """E4: the deterministic chain ``s0 -> s1 -> s2`` with ``s2`` absorbing, any action.

    Parameters ``p, q, r = pi(a|s0), pi(a|s1), pi(a|s2)``. The discounted visitation
    ``d = (1, gamma, gamma^2 / (1 - gamma))`` does not depend on the policy.
    ``n_actions=3`` gives E4'.

    Examples
    --------
    >>> E4().n_states, E4(3).n_actions
    (3, 3)
    """
    succ = np.array([[1] * n_actions, [2] * n_actions, [2] * n_actions])
    return FiniteMDP(
        _deterministic(succ), [1.0, 0.0, 0.0], labels=labels, state_names=["s0", "s1", "s2"],
        action_names=_actions(n_actions),
    )


def E5(labels: Labels = None) -> FiniteMDP:
    """E5: E3 with three actions ``a, b, c``.

    Examples
    --------
    >>> E5().n_actions
    3
    """
    return E3(3, labels=labels)


def E6(labels: Labels = None) -> FiniteMDP:
    """E6: ``s0 -> s1`` under any action; at ``s1`` action ``a`` ("stay") loops and ``b``
    ("go") moves to the absorbing ``s2``. Start in ``s0``.

    Parameters ``p = pi(a|s0)`` and ``q = pi(b|s1)``, the probability of leaving ``s1``.

    Examples
    --------
    >>> E6().transitions[1].tolist()
    [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    succ = np.array([[1, 1], [1, 2], [2, 2]])
    return FiniteMDP(
        _deterministic(succ), [1.0, 0.0, 0.0], labels=labels, state_names=["s0", "s1", "s2"],
        action_names=["a", "b"],
    )


def E7(labels: Labels = None) -> FiniteMDP:
    """E7: two states ``s1, s2`` (indices 0, 1), actions ``stay`` and ``switch``; start in ``s1``.

    With ``q1 = pi(switch|s1)`` and ``q2 = pi(switch|s2)`` the long-run fraction of time in
    ``s1`` is ``q2 / (q1 + q2)``, and 1 at ``q1 = q2 = 0``.

    Examples
    --------
    >>> E7().action_names
    ('stay', 'switch')
    """
    succ = np.array([[0, 1], [1, 0]])
    return FiniteMDP(
        _deterministic(succ), [1.0, 0.0], labels=labels, state_names=["s1", "s2"],
        action_names=["stay", "switch"],
    )
