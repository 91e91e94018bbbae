"""Seeded random building blocks of the rational samplers the formalisms register.

Every formalism registers a ``sampler(env, rng)`` (:mod:`objspec.formalisms.registry`)
that draws a specification with rational parameters, so that constructions can be checked
in exact arithmetic (:mod:`objspec.reductions.checking`). These are the pieces they share:
rewards and weights with small integer values, discounts, and menus of rational functions.

Examples
--------
>>> import numpy as np
>>> from objspec.environments import E3
>>> rng = np.random.default_rng(0)
>>> random_reward(rng, E3()).shape, random_discount(rng)
((2, 2, 2), Fraction(1, 2))
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from objspec.mdp.model import FiniteMDP

__all__ = [
    "random_reward",
    "random_discount",
    "random_scalar_function",
    "random_vector_function",
    "random_weights",
    "quadratic",
    "absorbing_zero",
]

F = Fraction


def random_reward(rng: np.random.Generator, env: FiniteMDP) -> np.ndarray:
    """An ``[S, A, S]`` reward of Fractions with integer values in ``-2..2``."""
    S, A = env.n_states, env.n_actions
    r = rng.integers(-2, 3, size=(S, A, S))
    return np.vectorize(F, otypes=[object])(r)


def random_discount(rng: np.random.Generator) -> Fraction:
    """One of the discounts 1/2, 2/3, 9/10, 1/3."""
    return [F(1, 2), F(2, 3), F(9, 10), F(1, 3)][int(rng.integers(4))]


def random_scalar_function(rng: np.random.Generator) -> Callable[[Any], Any]:
    """A rational real function: a peak, a cubic, a step or a kink at a random centre."""
    c = F(int(rng.integers(-3, 4)), 2)
    menu: list[Callable[[Any], Any]] = [
        lambda x: -((x - c) ** 2),
        lambda x: x * x * x - 2 * x,
        lambda x: 1 if x > c else 0,
        lambda x: -abs(x - c),
    ]
    return menu[int(rng.integers(len(menu)))]


def random_vector_function(rng: np.random.Generator) -> Callable[[Any], Any]:
    """A rational function of a 2-vector: product, trade-off, maximum or a step."""
    c = F(int(rng.integers(-2, 3)), 2)
    menu: list[Callable[[Any], Any]] = [
        lambda v: v[0] * v[1],
        lambda v: v[0] - (v[1] - c) ** 2,
        lambda v: max(v[0], v[1]),
        lambda v: (1 if v[0] > c else 0) * 100 + v[1],
    ]
    return menu[int(rng.integers(len(menu)))]


def quadratic(dist: Any) -> Any:
    """``sum_a pi(a)^2 - 1``: a strictly convex regulariser with rational values."""
    return sum((x * x for x in dist), F(0) if isinstance(dist[0], F) else 0.0) - 1


def random_weights(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """An array of Fractions with integer values in ``-2..2``."""
    return np.vectorize(F, otypes=[object])(rng.integers(-2, 3, size=shape))


def absorbing_zero(env: FiniteMDP, reward: np.ndarray) -> np.ndarray:
    """Zero reward on the self-loops of absorbing states (finite return distributions)."""
    tau = env.exact_transitions()
    for s in range(env.n_states):
        for a in range(env.n_actions):
            if tau[s, a, s] == 1:
                reward[s, a, s] = F(0)
    return reward
