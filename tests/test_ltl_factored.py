"""Factored automata (objspec.ltl.factored): formulas over many propositions whose top-level
``&``/``|`` splits into parts over disjoint propositions.

Checked against the dense automata on at most 16 propositions (same language on random
lassos, same Pmax on random MDPs), against the lasso semantics of tests/ltl_reference.py and
the automaton-free chain reference beyond 16 propositions.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ltl_reference import chain_probability, holds_on_lasso
from ltl_strategies import formulas

from objspec import FiniteMDP, Policy
from objspec.errors import AlphabetTooLargeError, InvalidSpecificationError, TranslationLimitError
from objspec.formalisms.temporal_logic import LTL
from objspec.ltl import syntax as s
from objspec.ltl.factored import FactoredAutomaton, factored_translation, split_disjoint
from objspec.ltl.families import family
from objspec.ltl.operations import is_empty, is_universal
from objspec.ltl.optimise import maximal_satisfaction, minimal_satisfaction
from objspec.ltl.simplify import simplify
from objspec.ltl.translation import translate

GROUPS = (("a", "b"), ("c", "d"), ("e",))


def _factored(phi: s.Formula, props: tuple[str, ...]) -> FactoredAutomaton:
    """The factored automaton of ``phi`` whatever its size (translate only factors beyond
    10 propositions)."""
    return factored_translation(phi, props, split_disjoint(simplify(phi)),
                                lambda f, own: translate(f, own))


@st.composite
def split_formulas(draw: st.DrawFn) -> s.Formula:
    """A random ``&``/``|`` tree whose leaves are random formulas over disjoint groups of
    atoms (some groups unused)."""
    leaves = [draw(formulas(3, atoms, constants=False)) for atoms in GROUPS
              if draw(st.booleans()) or atoms == GROUPS[0]]
    out = leaves[0]
    for leaf in leaves[1:]:
        out = (s.And if draw(st.booleans()) else s.Or)(out, leaf)
    return out


def _letters(atoms: tuple[str, ...]) -> st.SearchStrategy[frozenset[str]]:
    return st.frozensets(st.sampled_from(list(atoms)))


def _lassos(atoms: tuple[str, ...]) -> st.SearchStrategy[
        tuple[list[frozenset[str]], list[frozenset[str]]]]:
    return st.tuples(st.lists(_letters(atoms), max_size=4),
                     st.lists(_letters(atoms), min_size=1, max_size=4))


ATOMS = tuple(p for g in GROUPS for p in g)


@settings(max_examples=60, deadline=None)
@given(split_formulas(), st.lists(_lassos(ATOMS), min_size=1, max_size=6))
def test_factored_agrees_with_dense_and_the_semantics(
    phi: s.Formula, words: list[tuple[list[frozenset[str]], list[frozenset[str]]]]
) -> None:
    dense = translate(phi, ATOMS)
    factored = _factored(phi, ATOMS)
    for prefix, cycle in words:
        truth = holds_on_lasso(phi, prefix, cycle)
        assert dense.accepts_lasso(prefix, cycle) == truth
        assert factored.accepts_lasso(prefix, cycle) == truth, (str(phi), prefix, cycle)
    # the dense tables it builds on demand (5 propositions) read the same letters
    letters = np.arange(1 << len(ATOMS))
    states = np.arange(factored.n_states)[:, None]
    assert np.array_equal(factored.successors, factored.next_states(states, letters[None]))
    assert np.array_equal(factored.marks, factored.next_marks(states, letters[None]))
    # emptiness and universality on the distinct-edge table agree with the dense ones
    succ, marks = factored.edge_table()
    assert is_empty(succ, marks, factored.acceptance, 0) == is_empty(
        factored.successors, factored.marks, factored.acceptance, 0)
    assert is_universal(succ, marks, factored.acceptance, 0) == is_universal(
        factored.successors, factored.marks, factored.acceptance, 0)


@settings(max_examples=25, deadline=None)
@given(split_formulas(), st.integers(0, 2**31 - 1))
def test_factored_pmax_equals_dense_pmax(phi: s.Formula, seed: int) -> None:
    rng = np.random.default_rng(seed)
    S, A = 5, 2
    P = rng.random((S, A, S)) * (rng.random((S, A, S)) < 0.5)
    P[:, :, 0] += 1e-3
    P /= P.sum(axis=2, keepdims=True)
    labels = {i: [p for p in ATOMS if rng.random() < 0.5] for i in range(S)}
    env = FiniteMDP(P, np.full(S, 1 / S), labels=labels, propositions=list(ATOMS))
    dense = maximal_satisfaction(env, translate(phi, ATOMS))
    factored = maximal_satisfaction(env, _factored(phi, ATOMS))
    assert factored.probability == pytest.approx(dense.probability, abs=1e-9)
    assert np.allclose(factored.state_values, dense.state_values, atol=1e-9)


def _alpha(n: int) -> s.Formula:
    return family("ccj-alpha", n)


@pytest.mark.parametrize("name,n", [("ccj-alpha", 9), ("ccj-alpha", 10), ("ms-phi-r", 8),
                                    ("ms-phi-s", 9), ("sejk-j", 10), ("sejk-k", 10)])
def test_formulas_over_more_than_16_propositions_translate(name: str, n: int) -> None:
    phi = family(name, n)
    aut = translate(phi)
    assert isinstance(aut, FactoredAutomaton)
    assert len(aut.propositions) > 16
    assert aut.n_states == ((n + 1) ** 2 if name == "ccj-alpha" else 1)
    atoms = aut.propositions
    rng = np.random.default_rng(n)
    for _ in range(40):
        prefix = [frozenset(p for p in atoms if rng.random() < 0.5)
                  for _ in range(int(rng.integers(0, 6)))]
        cycle = [frozenset(p for p in atoms if rng.random() < rng.random())
                 for _ in range(int(rng.integers(1, 5)))]
        assert aut.accepts_lasso(prefix, cycle) == holds_on_lasso(phi, prefix, cycle)


def test_ccj_alpha_words_that_do_and_do_not_satisfy() -> None:
    phi = _alpha(9)
    aut = translate(phi)
    ps = [frozenset({f"p{i}"}) for i in range(1, 10)]
    qs = [frozenset({f"q{i}"}) for i in range(1, 10)]
    assert aut.accepts_lasso(ps + qs, [frozenset()])
    assert not aut.accepts_lasso(ps[:-1] + qs, [frozenset()])
    assert aut.accepts_lasso([a | b for a, b in zip(ps, qs, strict=True)], [frozenset()])


def test_dense_tables_beyond_16_propositions_are_a_named_error() -> None:
    aut = translate(_alpha(9))
    with pytest.raises(AlphabetTooLargeError, match="18 propositions"):
        _ = aut.successors
    with pytest.raises(AlphabetTooLargeError):
        aut.to_hoa()
    # the letters that occur are read without the table
    w = aut.letter({"p1", "q1"})
    assert aut.next_states(np.array([0]), np.array([w])).tolist() == [aut.step(0, {"p1", "q1"})[0]]


def test_remaining_limits_are_named_errors() -> None:
    with pytest.raises(AlphabetTooLargeError, match="at most 16 propositions per part"):
        translate("G F (" + " & ".join(f"p{i}" for i in range(17)) + ")")
    with pytest.raises(AlphabetTooLargeError, match="at most 62"):
        translate(" & ".join(f"G F p{i}" for i in range(63)))
    with pytest.raises(InvalidSpecificationError, match="both read"):
        FactoredAutomaton(("a",), [translate("F a"), translate("G a")],
                          translate("F a").acceptance)
    with pytest.raises(TranslationLimitError, match="max_states"):
        translate(" & ".join(f"F p{i}" for i in range(17)), max_states=100_000)
    # within the budget: 2**17 reachable tuples, enumerated layer by layer
    assert translate(" & ".join(f"F p{i}" for i in range(17))).n_states == 1 << 17


def test_extra_propositions_beyond_16_are_ignored_without_a_table() -> None:
    props = ("a", *(f"x{i}" for i in range(20)))
    aut = translate("G F a", props)
    assert aut.propositions == props and aut.n_states == 1
    assert aut.accepts_lasso([], [{"a", "x3"}, {"x19"}])
    assert not aut.accepts_lasso([{"a"}], [{"x3"}])


def _chain(n_labels: int, seed: int) -> tuple[list[list[Fraction]], list[set[str]], list[str]]:
    """A random chain with exact rational rows (the reference needs rows summing to 1
    exactly), its labels over ``n_labels`` names, and the names."""
    rng = np.random.default_rng(seed)
    S = 7
    weights = rng.integers(1, 5, (S, S)) * (rng.random((S, S)) < 0.4)
    weights[np.arange(S), (np.arange(S) + 1) % S] += 1
    weights[S - 2:] = 0  # two absorbing states: bottom components that differ
    weights[S - 2, S - 2] = weights[S - 1, S - 1] = 1
    P = [[Fraction(int(w), int(row.sum())) for w in row] for row in weights]
    names = [f"p{i}" for i in range(1, n_labels // 2 + 1)] + [
        f"q{i}" for i in range(1, n_labels // 2 + 1)]
    labels = [{p for p in names if rng.random() < 0.5} for _ in range(S)]
    return P, labels, names


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_evaluation_over_more_than_16_labels_matches_the_chain_reference(seed: int) -> None:
    """LTL evaluation on an environment with 20 labels, for a formula over 17 of them,
    against the automaton-free reference (Courcoubetis-Yannakakis refinement)."""
    P, labels, names = _chain(20, seed)
    S = len(labels)
    phi: s.Formula = s.Or(s.And(_alpha(4), s.Globally(s.Finally(s.Atom("p5")))),
               s.Finally(s.Globally(s.And(s.Atom("q5"), s.Not(s.Atom("q6"))))))
    phi = s.And(phi, s.Or(s.Globally(s.Finally(s.Atom("p7"))),
                          s.Finally(s.And(s.Atom("q7"), s.Atom("p8")))))
    phi = s.And(phi, s.Or(s.Atom("p9"), s.Finally(s.And(s.Atom("q8"), s.Atom("q9")))))
    assert len(phi.atoms()) == 17
    mu0 = np.zeros(S)
    mu0[0] = 1.0
    transitions = np.array([[float(x) for x in row] for row in P])[:, None, :]
    env = FiniteMDP(transitions, mu0, labels={i: sorted(labels[i]) for i in range(S)},
                    propositions=names)
    ev = LTL(phi).compile(env)
    assert isinstance(ev.automaton, FactoredAutomaton)
    value = ev.value(Policy(np.ones((S, 1))))
    truth = chain_probability(phi, P, labels, [Fraction(x) for x in mu0])
    assert value == pytest.approx(float(truth), abs=1e-9)


def test_pmax_and_pmin_over_more_than_16_labels() -> None:
    """Where every state carries p_i exactly when it carries q_i, ccj-alpha over 18
    propositions is equivalent to its p-half over 9 (a dense automaton): the same Pmax
    and Pmin, and the optimal policy's value is re-evaluated on the factored product."""
    rng = np.random.default_rng(7)
    S, A = 8, 2
    P = rng.random((S, A, S)) * (rng.random((S, A, S)) < 0.4)
    P[:, :, 0] += 1e-2
    P /= P.sum(axis=2, keepdims=True)
    labels = {}
    for i in range(S):
        on = [j for j in range(1, 10) if rng.random() < 0.4]
        labels[i] = [f"p{j}" for j in on] + [f"q{j}" for j in on]
    names = [f"p{j}" for j in range(1, 10)] + [f"q{j}" for j in range(1, 10)] + ["z"]
    env = FiniteMDP(P, np.full(S, 1 / S), labels=labels, propositions=names)
    phi = _alpha(9)
    half = phi.left  # type: ignore[attr-defined]
    best = maximal_satisfaction(env, phi)
    assert isinstance(best.policy.automaton, FactoredAutomaton)
    assert best.probability == pytest.approx(maximal_satisfaction(env, half).probability,
                                             abs=1e-9)
    spec = LTL(phi)
    assert spec.compile(env).value(best.policy) == pytest.approx(best.probability, abs=1e-9)
    least = minimal_satisfaction(env, phi)
    assert least.probability == pytest.approx(minimal_satisfaction(env, half).probability,
                                              abs=1e-9)


def test_finite_memory_policy_of_a_factored_automaton_is_checked() -> None:
    from objspec.errors import InvalidPolicyError
    from objspec.ltl.optimise import check_finite_memory_policy

    P = np.zeros((2, 1, 2))
    P[:, 0, 1] = 1.0
    names = [f"p{j}" for j in range(1, 10)] + [f"q{j}" for j in range(1, 10)]
    env = FiniteMDP(P, [1.0, 0.0], labels={1: names}, propositions=names)
    best = maximal_satisfaction(env, _alpha(9))
    assert best.probability == pytest.approx(1.0)
    check_finite_memory_policy(env, best.policy, best.policy.automaton)
    with pytest.raises(InvalidPolicyError, match="another automaton"):
        check_finite_memory_policy(env, best.policy, translate(_alpha(8)))


def test_states_accepting_every_word_become_one_sink() -> None:
    """``fxg-or`` n = 10 splits into ``F p0 | F G (...)``: once ``p0`` is read every word is
    accepted, and those product states are one sink, as in the dense automaton (11 states,
    not 2 x 10)."""
    phi = family("fxg-or", 10)
    aut = translate(phi)
    assert isinstance(aut, FactoredAutomaton)
    raw = _factored_unsettled(phi)
    assert raw.n_states == 20 and aut.n_states == 11
    sink = aut.step(0, {"p0"})[0]
    assert (aut.component_states[sink] == -1).all()
    assert aut.step(sink, set())[0] == sink
    atoms = aut.propositions
    rng = np.random.default_rng(3)
    for _ in range(60):
        prefix = [frozenset(p for p in atoms if rng.random() < 0.15)
                  for _ in range(int(rng.integers(0, 12)))]
        cycle = [frozenset(p for p in atoms if rng.random() < 0.9)
                 for _ in range(int(rng.integers(1, 4)))]
        truth = holds_on_lasso(phi, prefix, cycle)
        assert aut.accepts_lasso(prefix, cycle) == truth == raw.accepts_lasso(prefix, cycle)
    # the dense table it builds on demand (11 propositions) loops on the sink
    assert np.array_equal(aut.successors[sink], np.full(1 << len(atoms), sink))


def test_an_unsatisfiable_product_is_one_state() -> None:
    never = s.And(s.Globally(s.Finally(s.Atom("a"))),
                  s.And(s.Finally(s.Globally(s.Atom("b"))), s.Globally(s.Atom("c"))))
    contradiction = s.And(never, s.Finally(s.Not(s.Atom("c"))))
    aut = _factored(contradiction, ("a", "b", "c"))
    assert aut.n_states == 1 and str(aut.acceptance) == "f"
    assert not aut.accepts_lasso([], [{"a", "b", "c"}])


def _factored_unsettled(phi: s.Formula) -> FactoredAutomaton:
    props = tuple(sorted(phi.atoms()))
    aut = _factored(phi, props)
    return FactoredAutomaton(props, aut.components, aut.acceptance)  # no structure: no settling


def test_products_tabulate_a_factored_machine_over_the_letters_read() -> None:
    """The skeleton's successor function of a factored machine, tabulated over the letters
    an environment reads, agrees with the pointwise one, also on letters outside the table
    and on the dead state."""
    from objspec.ltl.product import machine_successor_function

    aut = translate(_alpha(9))
    known = np.array([0, 3, 5, 1 << 17, (1 << 18) - 1])
    tabulated, Q = machine_successor_function(aut, known)
    pointwise, _ = machine_successor_function(aut)
    rng = np.random.default_rng(0)
    q = rng.integers(0, Q + 1, 2000)
    w = rng.integers(0, 1 << 18, 2000)
    w[:1500] = rng.choice(known, 1500)
    assert np.array_equal(tabulated(q, w), pointwise(q, w))
    assert np.array_equal(tabulated(q[:, None], w[None, :20]), pointwise(q[:, None], w[None, :20]))
    assert (pointwise(np.full(3, Q), w[:3]) == Q).all()
    expected = [aut.step(int(a), {p for i, p in enumerate(aut.propositions) if b >> i & 1})[0]
                for a, b in zip(q[:50], w[:50], strict=True) if a < Q]
    got = [int(x) for a, x in zip(q[:50], pointwise(q[:50], w[:50]), strict=True) if a < Q]
    assert got == [Q if e < 0 else e for e in expected]


def test_a_factored_automaton_draws_without_its_letter_table() -> None:
    svg = translate(_alpha(9))._repr_svg_()
    assert svg.count("<circle") >= 2 and "p9" in svg


def test_products_tabulate_the_marks_of_a_factored_machine() -> None:
    from objspec.environments.generators import random_labelled_mdp
    from objspec.ltl.product import ProductSkeleton

    phi = family("sejk-k", 9)
    aut = translate(phi)
    env = random_labelled_mdp(30, 2, aut.propositions, 3, density=0.4, seed=5)
    sk = ProductSkeleton(env, aut)
    q = np.minimum(sk.machine_state[sk.entry_source], aut.n_states - 1)
    letters = sk.entry_letter.copy()
    letters[:5] = (1 << 18) - 1  # letters the environment does not read
    assert np.array_equal(sk.machine_marks(aut, q, letters), aut.next_marks(q, letters))
    assert sk.machine_marks(aut, q, letters).any()


WIDE_GROUPS = tuple(tuple(f"{c}{i}" for c in "xyz") for i in range(6))  # 18 atoms
WIDE_ATOMS = tuple(p for g in WIDE_GROUPS for p in g)


@st.composite
def wide_formulas(draw: st.DrawFn) -> s.Formula:
    """A random ``&``/``|`` tree of random formulas over six disjoint groups of three
    atoms: more than 16 propositions once at least six groups are used."""
    leaves = [draw(formulas(3, atoms, constants=False)) for atoms in WIDE_GROUPS]
    out = leaves[0]
    for leaf in leaves[1:]:
        out = (s.And if draw(st.booleans()) else s.Or)(out, leaf)
    return out


@settings(max_examples=30, deadline=None)
@given(wide_formulas(), st.lists(_lassos(WIDE_ATOMS), min_size=1, max_size=8))
def test_random_formulas_over_18_propositions_agree_with_the_semantics(
    phi: s.Formula, words: list[tuple[list[frozenset[str]], list[frozenset[str]]]]
) -> None:
    aut = translate(phi, WIDE_ATOMS)
    assert aut.propositions == WIDE_ATOMS
    for prefix, cycle in words:
        assert aut.accepts_lasso(prefix, cycle) == holds_on_lasso(phi, prefix, cycle), (
            str(phi), prefix, cycle)
