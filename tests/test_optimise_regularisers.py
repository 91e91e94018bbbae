"""RRL with a user regulariser declared convex (``as_regulariser(F, convex=True,
gradient=...)``): the certified Frank-Wolfe path, and the named errors when the
declaration is false (a non-convex ``F``, a wrong gradient, a minimum that is too high)."""

from __future__ import annotations

import numpy as np
import pytest

from objspec.environments.generators import random_mdp, random_policies
from objspec.errors import InvalidSpecificationError
from objspec.formalisms import RegularisedRL
from objspec.formalisms.regularisers import as_regulariser, squared_distance_to
from objspec.mdp.policy import deterministic_policies


def square(p: np.ndarray) -> float:
    return float(p @ p)


def test_a_declared_convex_callable_is_optimised_with_a_certified_gap() -> None:
    env = random_mdp(4, 3, 2, seed=5)
    R = np.random.default_rng(1).normal(size=(4, 3))
    gamma, alpha = 0.9, 0.7
    spec = RegularisedRL(R, as_regulariser(square, convex=True, gradient=lambda p: 2 * p),
                         alpha, gamma)
    opt = spec.optimise(env)
    assert opt.guarantee == "certified" and "Frank-Wolfe" in opt.method
    assert opt.bound is not None and opt.bound < 1e-5
    ev = spec.compile(env)
    for pol in [*deterministic_policies(env), *random_policies(env, 30, seed=2)]:
        assert float(opt.value) >= ev.value(pol) - opt.bound
    # |p|^2 = |p - uniform|^2 + 1/A on the simplex: the same problem as the built-in
    # squared distance, shifted by alpha / (A (1 - gamma))
    builtin = RegularisedRL(R, squared_distance_to(), alpha, gamma).optimise(env)
    shift = alpha / (3 * (1 - gamma))
    assert float(opt.value) == pytest.approx(float(builtin.value) - shift, abs=1e-5)


def test_the_minimum_is_a_certified_lower_bound_or_the_given_value() -> None:
    reg = as_regulariser(square, convex=True, gradient=lambda p: 2 * p)
    lower = reg.minimum(4, 0)
    assert lower is not None and 0.25 - 1e-9 <= lower <= 0.25  # min |p|^2 = 1/A
    given = as_regulariser(square, convex=True, gradient=lambda p: 2 * p, minimum=0.25)
    assert given.minimum(4, 0) == 0.25
    too_high = as_regulariser(square, convex=True, gradient=lambda p: 2 * p, minimum=0.3)
    with pytest.raises(InvalidSpecificationError, match="above its value"):
        too_high.minimum(4, 0)


def test_a_false_convexity_declaration_is_refuted_when_optimising() -> None:
    env = random_mdp(3, 2, 2, seed=0)
    R = np.zeros((3, 2))
    concave = as_regulariser(lambda p: -float(p @ p), convex=True, gradient=lambda p: -2 * p)
    with pytest.raises(InvalidSpecificationError, match="declared convex, but it is not"):
        RegularisedRL(R, concave, 1.0, 0.9).optimise(env)


def test_a_wrong_gradient_is_refuted() -> None:
    env = random_mdp(3, 2, 2, seed=0)
    wrong = as_regulariser(square, convex=True, gradient=lambda p: 3 * p)
    with pytest.raises(InvalidSpecificationError, match="does not match"):
        RegularisedRL(np.zeros((3, 2)), wrong, 1.0, 0.9).optimise(env)
    shaped = as_regulariser(square, convex=True, gradient=lambda p: np.zeros(len(p) + 1))
    with pytest.raises(InvalidSpecificationError, match="finite numbers"):
        RegularisedRL(np.zeros((3, 2)), shaped, 1.0, 0.9).optimise(env)


@pytest.mark.parametrize("kwargs, match", [
    ({"convex": True}, "without its gradient"),
    ({"convex": "yes", "gradient": lambda p: 2 * p}, "True or False"),
    ({"gradient": 3}, "must be callable"),
    ({"minimum": float("nan")}, "minimum"),
])
def test_bad_declarations_are_named_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidSpecificationError, match=match):
        as_regulariser(square, **kwargs)


def test_a_regulariser_object_cannot_be_redeclared() -> None:
    with pytest.raises(InvalidSpecificationError, match="already a Regulariser"):
        as_regulariser(squared_distance_to(), convex=True)


def test_an_undeclared_callable_still_gets_the_local_search() -> None:
    env = random_mdp(3, 2, 2, seed=0)
    opt = RegularisedRL(np.ones((3, 2)), square, 1.0, 0.9).optimise(env)
    assert opt.guarantee in ("local", "heuristic")
