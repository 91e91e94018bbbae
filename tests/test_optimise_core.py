"""The optimisation core (:mod:`objspec.formalisms.optimisation`): options, the generic
search, and the re-evaluation every optimum goes through."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

from objspec.environments.generators import random_mdp, random_policies
from objspec.environments.strategies import mdps
from objspec.errors import InvalidModelError, InvalidSpecificationError, SolverError
from objspec.formalisms import PolicyFunction, PolicyOrdering
from objspec.formalisms.optimisation import (
    EXHAUSTIVE_LIMIT,
    GUARANTEES,
    OptimiseOptions,
    Optimiser,
    Optimum,
    coordinate_ascent,
    deterministic_count,
    exhaustive_deterministic,
    optimise,
)
from objspec.formalisms.registry import formalism_info
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy, deterministic_policies


def _quadratic_fpr(env: FiniteMDP, seed: int) -> PolicyFunction:
    W = np.random.default_rng(seed).normal(size=(env.n_states, env.n_actions))
    return PolicyFunction(lambda pi: float(np.sum(W * pi.probabilities)
                                           - np.sum(pi.probabilities ** 2)))


@pytest.mark.parametrize("bad", [
    {"policies": "memoryless"}, {"exact": 1}, {"seed": 1.5}, {"seed": True},
    {"time_limit": -1}, {"time_limit": 0}, {"time_limit": float("nan")},
    {"time_limit": float("inf")}, {"time_limit": "1"},
])
def test_bad_options_are_named(bad: dict[str, Any]) -> None:
    env = random_mdp(2, 2, 2, seed=0)
    key = next(iter(bad))
    with pytest.raises(InvalidSpecificationError, match=key):
        _quadratic_fpr(env, 0).optimise(env, **bad)


def test_not_an_environment_and_finite_memory_without_meaning() -> None:
    env = random_mdp(2, 2, 2, seed=0)
    spec = _quadratic_fpr(env, 0)
    with pytest.raises(InvalidModelError, match="FiniteMDP"):
        spec.optimise("env")  # type: ignore[arg-type]
    with pytest.raises(InvalidSpecificationError, match="finite-memory"):
        spec.optimise(env, policies="finite-memory")


def test_an_optimum_states_a_known_guarantee() -> None:
    with pytest.raises(InvalidSpecificationError, match="guarantee"):
        Optimum(None, None, "probably", "m")  # type: ignore[arg-type]
    assert GUARANTEES == ("exact", "certified", "local", "heuristic")


@settings(max_examples=15, deadline=None)
@given(env=mdps(max_states=3, max_actions=3))
def test_the_generic_search_beats_every_deterministic_and_random_policy(env: FiniteMDP) -> None:
    spec = _quadratic_fpr(env, 1)
    opt = spec.optimise(env, seed=0)
    assert opt.guarantee in ("local", "heuristic") and opt.value is not None
    ev = spec.compile(env)
    others = list(deterministic_policies(env)) + list(random_policies(env, 8, seed=2))
    assert all(float(opt.value) >= ev.value(p) - 1e-12 for p in others)
    if opt.guarantee == "local":
        assert opt.test and "improves" in opt.test


def test_orderings_are_searched_by_rank() -> None:
    env = random_mdp(3, 2, 2, seed=4)
    from objspec import orders

    order = PolicyOrdering(orders.by_key(lambda p: float(p.probabilities[0, 1])))
    opt = order.optimise(env)
    assert opt.value is None and opt.policy.probabilities[0, 1] == 1.0


def test_exhaustive_search_respects_its_limit_and_the_time_limit() -> None:
    env = random_mdp(7, 4, 2, seed=0)
    spec = _quadratic_fpr(env, 0)
    assert deterministic_count(env) == 4**7 > EXHAUSTIVE_LIMIT
    assert exhaustive_deterministic(spec, env, OptimiseOptions()) is None
    small = random_mdp(3, 2, 2, seed=0)
    best, seen, complete = exhaustive_deterministic(_quadratic_fpr(small, 0), small,
                                                    OptimiseOptions()) or (None, 0, False)
    assert seen == 8 and complete and best is not None
    expired = OptimiseOptions.make(time_limit=1e-9)
    pi, sweeps, converged = coordinate_ascent(spec, env, np.full((7, 4), 0.25), expired)
    assert not converged and sweeps == 0
    assert _quadratic_fpr(env, 0).optimise(env, time_limit=1e-9).guarantee == "heuristic"


def test_disabled_actions_are_never_chosen() -> None:
    enabled = np.array([[True, False], [True, True]])
    P = np.zeros((2, 2, 2))
    P[:, :, 1] = 1.0
    P[0, 1] = 0.0
    env = FiniteMDP(P, [1.0, 0.0], enabled=enabled)
    spec = PolicyFunction(lambda pi: float(pi.probabilities[0, 1] + pi.probabilities[1, 1]))
    opt = spec.optimise(env)
    assert opt.policy.probabilities[0, 1] == 0 and float(opt.value) == 1.0


def test_a_value_the_evaluator_does_not_confirm_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    env = random_mdp(2, 2, 2, seed=0)
    spec = _quadratic_fpr(env, 0)

    def liar(s: Any, e: FiniteMDP, o: OptimiseOptions) -> Optimum:
        return Optimum(Policy.uniform(2, 2), 1e6, "exact", "lying", 0)

    info = formalism_info("FPR")
    from objspec.formalisms import registry

    monkeypatch.setitem(registry._REGISTRY, "FPR", type(info)(**{
        **info.__dict__, "optimiser": Optimiser(liar, "lying", "exact", "none")}))
    with pytest.raises(SolverError, match="reported 1000000.0"):
        optimise(spec, env)


def test_rational_environments_are_searched_in_floats_and_checked_exactly() -> None:
    """A search makes float policies; on a rational environment the evaluators that are
    exact by default would refuse them, so the search and the default re-evaluation run in
    floats, and exact=True re-evaluates the returned policy in rationals."""
    from fractions import Fraction

    from objspec.formalisms import PolicyFunction
    from objspec.formalisms.registry import formalism_info

    tau = np.zeros((2, 2, 2), dtype=object)
    tau[:, :, :] = Fraction(0)
    tau[0, 0] = [Fraction(1, 3), Fraction(2, 3)]
    tau[0, 1] = [Fraction(0), Fraction(1)]
    tau[1, :, 1] = Fraction(1)
    env = FiniteMDP(tau, np.array([Fraction(1), Fraction(0)], dtype=object))
    spec = PolicyFunction(lambda pi: float(pi.probabilities[0, 0] * pi.probabilities[0, 1]))
    opt = spec.optimise(env, seed=0)
    assert abs(float(opt.value) - 0.25) < 1e-3
    sampler = formalism_info("FPR").sampler
    assert sampler is not None
    fpr = sampler(env, np.random.default_rng(0))
    assert fpr.optimise(env, seed=0).guarantee in ("local", "heuristic")
