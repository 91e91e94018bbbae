"""Hypothesis helpers shared by the specification strategies the formalisms register.

Named real functions (ONMR, INMR), functions and orders of return vectors (OMORL, IMORL,
GOMORL), lottery statistics (FTLR, TLO), environments' transient states (finite returns
for INMR, IMORL) and LTL formulas. Importing this module imports hypothesis; the
formalism modules import it only inside their ``_strategy`` functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import strategies as st

from objspec.mdp.model import FiniteMDP
from objspec.mdp.strategies import discounts, rewards

__all__ = [
    "scalar_functions",
    "vector_functions",
    "vector_orders",
    "transient_states",
    "finite_return_setup",
    "dot",
    "lottery_statistics",
    "ltl_formulas",
]

_Real = Callable[[Any], Any]


def scalar_functions() -> st.SearchStrategy[_Real]:
    """Named real functions for ONMR: identity, peaks, sigmoids, steps, cubes."""

    def peak(c: float) -> _Real:
        return lambda x: -((x - c) ** 2)

    def step(c: float) -> _Real:
        return lambda x: 1.0 if x >= c else 0.0

    def squash(k: float) -> _Real:
        return lambda x: math.tanh(k * x)

    centre = st.floats(-2.0, 2.0, allow_nan=False)
    return st.one_of(
        st.just(lambda x: x),
        centre.map(peak),
        centre.map(step),
        st.floats(0.1, 3.0).map(squash),
        st.just(lambda x: x**3),
    )


def vector_functions(k: int) -> st.SearchStrategy[_Real]:
    """Functions of ``k`` expected returns for OMORL: weighted sums, min, distance to a target."""

    def weighted(w: list[float]) -> _Real:
        return lambda v: float(np.dot(w, np.asarray(v, dtype=float)))

    def distance(c: list[float]) -> _Real:
        return lambda v: -float(np.sum((np.asarray(v, dtype=float) - c) ** 2))

    vec = st.lists(st.floats(-2.0, 2.0, allow_nan=False), min_size=k, max_size=k)
    return st.one_of(
        vec.map(weighted),
        vec.map(distance),
        st.just(lambda v: float(np.min(np.asarray(v, dtype=float)))),
    )


def vector_orders(k: int) -> st.SearchStrategy[Any]:
    from objspec import orders

    signs = st.lists(st.sampled_from([1, -1]), min_size=k, max_size=k)
    thresholds = st.lists(st.floats(-2.0, 2.0, allow_nan=False), min_size=k, max_size=k)
    weights = st.lists(st.floats(-2.0, 2.0, allow_nan=False), min_size=k, max_size=k)
    return st.one_of(
        signs.map(lambda s: orders.lexicographic(s)),
        thresholds.map(orders.thresholded_lexicographic),
        weights.map(lambda w: orders.by_key(lambda v: float(np.dot(w, np.asarray(v, float))))),
    )


def transient_states(env: FiniteMDP) -> np.ndarray:
    """States that every policy leaves for ever: ``[S]`` bool.

    A state is transient here when no path of the support graph (every action allowed)
    leads to it from a state that lies on a cycle, itself included. A reward that is zero
    on every transition out of the other states is collected on finitely many steps by
    every trajectory, so its return takes finitely many values (for every discount): the
    condition :func:`objspec.formalisms.lottery.return_distribution` decides.

    Examples
    --------
    >>> from objspec.environments import E3
    >>> transient_states(E3()).tolist()  # s0 is left for ever; s1 is absorbing
    [True, False]
    """
    S = env.n_states
    step = np.asarray((np.asarray(env.transitions) > 0).any(axis=1), dtype=np.int64)
    reach: np.ndarray = step > 0  # [S, S]: paths of length >= 1
    for _ in range(S):
        new = reach | ((reach.astype(np.int64) @ step) > 0)
        if np.array_equal(new, reach):
            break
        reach = new
    cyclic = np.diag(reach).copy()
    after_cycle = (reach & cyclic[:, None]).any(axis=0)
    return np.asarray(~cyclic & ~after_cycle)


@st.composite
def finite_return_setup(
    draw: st.DrawFn, env: FiniteMDP, k: int | None
) -> tuple[np.ndarray, float]:
    """Rewards (``[S, A, S]``, or ``[k, S, A, S]`` when ``k`` is given) and a discount
    whose return takes finitely many values on ``env``: either ``gamma = 0`` (only the
    first transition counts) or a positive discount with rewards zero on every transition
    out of a non-transient state (:func:`transient_states`)."""
    transient = transient_states(env)
    count = 1 if k is None else k
    integers: bool = draw(st.booleans())
    stacked = np.stack([
        draw(rewards(env, "transition", integers=integers, min_value=-2.0, max_value=2.0))
        for _ in range(count)
    ])
    if bool(transient.any()) and draw(st.booleans()):
        stacked[:, ~transient] = 0.0
        gamma = draw(discounts())
    else:
        gamma = 0.0
    return (stacked[0] if k is None else stacked), gamma


def dot(w: np.ndarray, m: Any) -> Any:
    """``<w, m>``: a Fraction when ``m`` holds Fractions (exact lotteries), else a float."""
    arr = np.asarray(m)
    if arr.dtype == object:
        return sum((Fraction(float(x)) * y for x, y in zip(w.ravel().tolist(),
                                                           arr.ravel().tolist(), strict=True)),
                   Fraction(0))
    return float(np.sum(w * arr))


@st.composite
def lottery_statistics(draw: st.DrawFn, env: FiniteMDP) -> Callable[[Any], tuple[Any, Any]]:
    """Two statistics of a lottery: linear statistics ``<w1, m>``, ``<w2, m>`` of its
    occupancy measure, or the mean and the variance of a discounted return. Fractions
    when the lottery is exact, floats otherwise."""
    gamma = draw(discounts())
    if draw(st.booleans()):
        w1 = draw(rewards(env, "transition"))
        w2 = draw(rewards(env, "transition"))

        def occupancy(lottery: Any) -> tuple[Any, Any]:
            m = lottery.occupancy_measure(gamma)
            return dot(w1, m), dot(w2, m)

        return occupancy
    reward = draw(rewards(env))

    def moments(lottery: Any) -> tuple[Any, Any]:
        mean, second = lottery.return_moments(reward, gamma)
        return mean, second - mean * mean

    return moments


def ltl_formulas(
    propositions: Sequence[str] = ("a", "b"), max_leaves: int = 6
) -> st.SearchStrategy[str]:
    """LTL formulas (Spot syntax, fully parenthesised) over ``propositions``.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, database=None)
    ... @given(ltl_formulas(("p",)))
    ... def check(text):
    ...     assert text.count("(") == text.count(")")
    >>> check()
    """
    atoms = st.sampled_from(list(propositions) or ["true"]) | st.sampled_from(["true", "false"])

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        unary = st.tuples(st.sampled_from(["!", "X", "F", "G"]), inner).map(
            lambda t: f"{t[0]}({t[1]})"
        )
        binary = st.tuples(inner, st.sampled_from(["&", "|", "U", "R", "->"]), inner).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"
        )
        return unary | binary

    return st.recursive(atoms, extend, max_leaves=max_leaves)
