"""GOMORL and OMO orders by a concave real key (``orders.by_key(f, concave=..., gradient=...)``)
are optimised as the OMORL / FOMR function ``f`` (certified Frank-Wolfe); other keys keep
the search. Comparisons are unchanged by the declaration."""

from __future__ import annotations

import numpy as np
import pytest

from objspec import orders
from objspec.environments.generators import random_mdp, random_policies
from objspec.errors import InvalidSpecificationError
from objspec.formalisms import (
    GeneralisedOuterMORL,
    OccupancyMeasureOrdering,
    OuterMORL,
)
from objspec.mdp.policy import deterministic_policies


def utility(v: np.ndarray) -> float:
    return float(-(v[0] - 1.0) ** 2 - (v[1] + 0.5) ** 2)


def utility_gradient(v: np.ndarray) -> np.ndarray:
    return np.array([-2 * (v[0] - 1.0), -2 * (v[1] + 0.5)])


def test_gomorl_by_a_declared_concave_key_is_certified_and_maximal() -> None:
    env = random_mdp(4, 2, 2, seed=3)
    R = np.random.default_rng(0).normal(size=(2, 4, 2))
    order = orders.by_key(utility, concave=True, gradient=utility_gradient)
    spec = GeneralisedOuterMORL(R, order, 0.8)
    opt = spec.optimise(env)
    assert opt.guarantee == "certified" and "concave key" in opt.method
    ev = OuterMORL(R, utility, 0.8).compile(env)
    best = ev.value(opt.policy)
    for pol in [*deterministic_policies(env), *random_policies(env, 20, seed=1)]:
        assert best >= ev.value(pol) - float(opt.bound)
    # the declaration does not change comparisons
    assert order.compare([1.0, -0.5], [0.0, 0.0]) == 1


def test_omo_by_a_declared_concave_key_is_certified() -> None:
    env = random_mdp(3, 2, 2, seed=1)
    W = np.random.default_rng(2).random((3, 2, 3))

    def key(m: np.ndarray) -> float:
        return -float(np.sum((np.asarray(m, dtype=float) - W) ** 2))

    def grad(m: np.ndarray) -> np.ndarray:
        return -2 * (np.asarray(m, dtype=float) - W)

    spec = OccupancyMeasureOrdering(orders.by_key(key, concave=True, gradient=grad), 0.5)
    assert spec.optimise(env).guarantee == "certified"
    undeclared = OccupancyMeasureOrdering(orders.by_key(key), 0.5).optimise(env)
    assert undeclared.guarantee in ("local", "heuristic")


@pytest.mark.parametrize("kwargs, match", [({"concave": 1}, "True or False"),
                                           ({"gradient": 2.0}, "callable")])
def test_bad_declarations_are_named_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidSpecificationError, match=match):
        orders.by_key(utility, **kwargs)
