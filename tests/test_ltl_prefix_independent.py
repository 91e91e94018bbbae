"""The automaton-free analysis of Boolean combinations of ``G F a`` / ``F G a``
(objspec.ltl.prefix_independent): recognition of the fragment, ``Pmax`` and stationary
evaluation against the product with the automaton (and Storm), and the LTL optimiser and
evaluator that use it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from objspec import FiniteMDP, Policy
from objspec.environments.strategies import labelled_mdps
from objspec.errors import InvalidSpecificationError
from objspec.formalisms import LinearTemporalLogic
from objspec.ltl import syntax as s
from objspec.ltl.optimise import (
    FiniteMemoryPolicy,
    certified_maximal_satisfaction,
    maximal_satisfaction,
    minimal_satisfaction,
)
from objspec.ltl.parser import parse_formula
from objspec.ltl.prefix_independent import (
    MAX_CONJUNCTIONS,
    good_end_components,
    prefix_independent_pmax,
    stationary_satisfaction,
    streett_form,
)
from objspec.ltl.product import satisfaction_probabilities
from objspec.ltl.translation import translate

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
ATOMS = ("a", "b")


@st.composite
def propositional(draw: st.DrawFn, depth: int = 2) -> s.Formula:
    if depth == 0 or draw(st.booleans()):
        leaf = draw(st.sampled_from([*ATOMS, "true"]))
        return s.Constant(True) if leaf == "true" else s.Atom(leaf)
    op = draw(st.sampled_from(["not", "and", "or"]))
    if op == "not":
        return s.Not(draw(propositional(depth - 1)))
    cls = s.And if op == "and" else s.Or
    return cls(draw(propositional(depth - 1)), draw(propositional(depth - 1)))


@st.composite
def fragment_formulas(draw: st.DrawFn, depth: int = 2) -> s.Formula:
    """Boolean combinations (all connectives) of ``G F a`` and ``F G a``."""
    if depth == 0 or draw(st.booleans()):
        inner = draw(propositional())
        if draw(st.booleans()):
            return s.Globally(s.Finally(inner))
        return s.Finally(s.Globally(inner))
    op = draw(st.sampled_from(["not", "and", "or", "implies", "equivalent", "xor"]))
    if op == "not":
        return s.Not(draw(fragment_formulas(depth - 1)))
    cls = {"and": s.And, "or": s.Or, "implies": s.Implies, "equivalent": s.Equivalent,
           "xor": s.Xor}[op]
    return cls(draw(fragment_formulas(depth - 1)), draw(fragment_formulas(depth - 1)))


@st.composite
def problems(draw: st.DrawFn) -> tuple[FiniteMDP, s.Formula]:
    base = draw(labelled_mdps(ATOMS, max_states=5, max_actions=3,
                              masked=draw(st.booleans())))
    assert base.state_labels is not None
    env = FiniteMDP(base.transitions, base.initial, propositions=list(ATOMS),
                    labels={i: list(ls) for i, ls in enumerate(base.state_labels)},
                    enabled=None if base.all_enabled else base.enabled)
    return env, draw(fragment_formulas())


def _random_policies(env: FiniteMDP, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = rng.exponential(size=(n, env.n_states, env.n_actions)) * env.enabled
    w[: n // 2] *= rng.random(size=w[: n // 2].shape) < 0.5  # sparser supports
    w[w.sum(axis=2) == 0] = env.enabled[np.nonzero(w.sum(axis=2) == 0)[1]]
    return w / w.sum(axis=2, keepdims=True)


def test_the_fragment_is_recognised() -> None:
    inside = ["G F p & F G !q", "G F p -> G F q", "!(F G p) xor G F (p & q)",
              "(G F p <-> F G q) | false", "true", "G F p | G F q | F G (p | q)"]
    outside = ["F p", "G F p & q", "G F X p", "F G F p", "G (p -> F q)", "p U q",
               "G F p & F G !q & G (p -> X q)"]
    for text in inside:
        assert streett_form(parse_formula(text)) is not None, text
    for text in outside:
        assert streett_form(parse_formula(text)) is None, text
    form = streett_form(parse_formula("!(G F p & F G q)"))
    assert form is not None
    assert sorted((str(c.persistent), [str(a) for a in c.recurrent])
                  for c in form.conjunctions) == [("!p", []), ("true", ["!q"])]
    assert streett_form(parse_formula("false")).conjunctions == ()  # type: ignore[union-attr]


def test_a_normal_form_beyond_the_cap_is_left_to_the_automaton() -> None:
    # (GF a1 | FG b1) & ... & (GF a7 | FG b7): 2**7 conjunctions
    parts = [f"(G F p{i} | F G q{i})" for i in range(7)]
    assert 2 ** 7 > MAX_CONJUNCTIONS
    assert streett_form(parse_formula(" & ".join(parts))) is None
    assert streett_form(parse_formula(" & ".join(parts[:6]))) is not None


@SETTINGS
@given(problems())
def test_pmax_agrees_with_the_product(problem: tuple[FiniteMDP, s.Formula]) -> None:
    env, f = problem
    form = streett_form(f)
    assert form is not None
    solved = prefix_independent_pmax(env, form)
    product = certified_maximal_satisfaction(env, f)  # always through the automaton
    assert abs(solved.probability - product.result.probability) <= 1e-9, str(f)
    assert np.allclose(solved.state_values, product.result.state_values, atol=1e-9)
    upper, _ = solved.upper_bound(1e-10, 100_000)
    assert solved.probability - 1e-12 <= upper <= solved.probability + 1e-9
    # the stationary policy attains Pmax, by the product evaluator too
    (value,) = satisfaction_probabilities(env, translate(f), solved.policy[None])
    assert abs(value - solved.probability) <= 1e-9
    # the policy plays enabled actions only, and distributions
    assert np.allclose(solved.policy.sum(axis=1), 1.0)
    assert not (solved.policy[~env.enabled] > 0).any()


@SETTINGS
@given(problems(), st.integers(0, 2 ** 16))
def test_stationary_evaluation_agrees_with_the_product(
        problem: tuple[FiniteMDP, s.Formula], seed: int) -> None:
    env, f = problem
    form = streett_form(f)
    assert form is not None
    batch = _random_policies(env, 6, seed)
    ours = stationary_satisfaction(env, form, batch)
    theirs = satisfaction_probabilities(env, translate(f), batch)
    assert np.allclose(ours, theirs, atol=1e-9, rtol=0), str(f)


def test_good_end_components_by_hand() -> None:
    # 0 -a0-> 1 (p), 0 -a1-> 2 (q); 1 <-> 0 by action 0, 1 loops by action 1; 2 absorbing
    P = np.zeros((3, 2, 3))
    P[0, 0, 1] = P[0, 1, 2] = 1
    P[1, 0, 0] = P[1, 1, 1] = 1
    P[2, :, 2] = 1
    env = FiniteMDP(P, [1, 0, 0], labels={1: ["p"], 2: ["q"]})
    def form(text: str) -> Any:
        return streett_form(parse_formula(text))

    good, stay = good_end_components(env, form("G F p & F G !q"))
    assert good.tolist() == [True, True, False]
    assert stay[0].tolist() == [True, False] and stay[1].tolist() == [True, True]
    # F G p: only state 1 (its self-loop)
    good, stay = good_end_components(env, form("F G p"))
    assert good.tolist() == [False, True, False] and stay[1].tolist() == [False, True]
    # G F p & G F q: no end component has both
    good, _ = good_end_components(env, form("G F p & G F q"))
    assert not good.any()


def test_transition_labels_are_refused() -> None:
    P = np.zeros((1, 1, 1))
    P[0, 0, 0] = 1
    env = FiniteMDP(P, [1], labels=lambda s, a, t: ["p"], propositions=["p"])
    form = streett_form(parse_formula("G F p"))
    assert form is not None
    with pytest.raises(InvalidSpecificationError, match="transition labels"):
        good_end_components(env, form)
    with pytest.raises(InvalidSpecificationError, match="transition labels"):
        stationary_satisfaction(env, form, np.ones((1, 1, 1)))
    # the optimiser then takes the product with the automaton
    found = LinearTemporalLogic("G F p").optimise(env, policies="finite-memory")
    assert isinstance(found.policy, FiniteMemoryPolicy) and found.value == 1.0


def _randomised_example() -> FiniteMDP:
    """G F a & G F b needs randomisation among stationary policies: state 0 moves to A
    (labelled a) or B (labelled b), both return to 0."""
    P = np.zeros((3, 2, 3))
    P[0, 0, 1] = P[0, 1, 2] = 1
    P[1, :, 0] = P[2, :, 0] = 1
    return FiniteMDP(P, [1, 0, 0], labels={1: ["a"], 2: ["b"]})


@pytest.mark.parametrize("policies", ["finite-memory", "stationary"])
def test_the_optimiser_returns_a_certified_stationary_policy(policies: str) -> None:
    env = _randomised_example()
    spec = LinearTemporalLogic("G F a & G F b")
    found = spec.optimise(env, policies=policies)
    assert found.guarantee == "certified" and found.policies == policies
    assert isinstance(found.policy, Policy)
    assert abs(found.value - 1.0) <= 1e-12 and 0 <= found.bound <= 1e-9
    # the uniform choice in state 0: every deterministic stationary policy scores 0
    assert found.policy.probabilities[0].tolist() == [0.5, 0.5]
    ev: Any = spec.compile(env, exact=False)
    assert ev.streett_form is not None
    assert ev.values([Policy.deterministic([0, 0, 0], 2),
                      Policy.deterministic([1, 0, 0], 2)]).tolist() == [0.0, 0.0]
    # exact=True keeps the automaton and the rational check
    exact = spec.optimise(env, policies="finite-memory", exact=True)
    assert exact.guarantee == "exact" and exact.value == 1


def test_formulas_outside_the_fragment_keep_the_automaton() -> None:
    env = _randomised_example()
    spec = LinearTemporalLogic("G F a & G F b & G (a -> X !a)")
    found = spec.optimise(env, policies="finite-memory")
    assert isinstance(found.policy, FiniteMemoryPolicy) and found.guarantee == "certified"
    ev: Any = spec.compile(env, exact=False)
    assert ev.streett_form is None


def test_the_lazy_evaluator_translates_only_when_asked() -> None:
    env = _randomised_example()
    spec = LinearTemporalLogic("G F a")
    ev: Any = spec.compile(env, exact=False)
    assert ev._automaton is None
    memory = LinearTemporalLogic("G F a & G (a -> X a)").optimise(
        env, policies="finite-memory")
    assert isinstance(memory.policy, FiniteMemoryPolicy)
    # a finite-memory policy of G F a itself: evaluated on the product, built on demand
    table = np.full((3, ev.automaton.n_states + 1, 2), 0.5)
    assert abs(ev.value(FiniteMemoryPolicy(ev.automaton, table)) - 1.0) <= 1e-12
    assert ev._automaton is not None and ev.skeleton.n_states >= 3
    with pytest.raises(InvalidSpecificationError, match="proposition"):
        LinearTemporalLogic("G F zzz").compile(env)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_optimise_and_minimal_satisfaction(problem: tuple[FiniteMDP, s.Formula]) -> None:
    env, f = problem
    spec = LinearTemporalLogic(f)
    found = spec.optimise(env, policies="finite-memory")
    product = certified_maximal_satisfaction(env, f)
    assert found.guarantee == "certified" and found.bound <= 1e-9
    assert abs(found.value - product.result.probability) <= 1e-9
    assert abs(maximal_satisfaction(env, f).probability - product.result.probability) <= 1e-9
    pmin = minimal_satisfaction(env, f).probability
    negation = certified_maximal_satisfaction(env, s.Not(f)).result.probability
    assert abs(pmin - (1 - negation)) <= 1e-9


def test_pmax_agrees_with_storm() -> None:
    pytest.importorskip("stormpy")
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from ltl_reference import storm_maximal_probability

    from objspec.environments.generators import random_labelled_mdp

    rng = np.random.default_rng(3)
    texts = ["G F a & F G !b", "G F a -> G F b", "!(F G a) xor G F (a & b)",
             "(G F a & G F b) | F G (a <-> b)"]
    for _ in range(4):
        env = random_labelled_mdp(30, 2, ATOMS, 2, seed=int(rng.integers(1000)))
        for text in texts:
            f = parse_formula(text)
            ours = LinearTemporalLogic(f).optimise(env, policies="finite-memory")
            assert isinstance(ours.policy, Policy)
            assert abs(float(ours.value) - storm_maximal_probability(env, f)) <= 1e-8, text


def test_the_optimiser_and_the_evaluator_share_the_product() -> None:
    """A finite-memory optimum is re-evaluated on the product the optimiser built (the same
    environment and automaton objects, the same roots), not on a second copy."""
    from objspec.ltl import clear_caches
    from objspec.ltl.product import shared_skeleton

    env = _randomised_example()
    spec = LinearTemporalLogic("G F a & G (a -> X b)")
    found = spec.optimise(env, policies="finite-memory")
    ev: Any = spec.compile(env, exact=False)
    automaton = found.policy.automaton
    assert ev.automaton is automaton
    every = shared_skeleton(env, automaton, np.arange(env.n_states))
    assert shared_skeleton(env, automaton) is ev.skeleton
    assert every is not ev.skeleton  # other roots: another product
    assert shared_skeleton(env, automaton, np.arange(env.n_states)) is every
    clear_caches()
    assert shared_skeleton(env, automaton, np.arange(env.n_states)) is not every
