"""Minimisation, emptiness and universality of deterministic automata keep the language.

``objspec.ltl.operations.finish`` (through which every translated automaton goes) clears
marks that cannot matter, minimises by partition refinement and replaces an automaton
that accepts nothing (everything) by the one-state automaton of ``false`` (``true``).
Here it is run on random raw automata and compared with the raw automaton on lasso words
and, exactly, on random labelled Markov chains; the emptiness and universality checks are
compared with a brute force over all sets of transitions.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ltl_reference import chain_probability, holds_on_lasso, objspec_exact_chain_value
from ltl_strategies import formulas, lassos
from test_ltl_reference import chains

from objspec.ltl import operations as ops
from objspec.ltl import syntax as s
from objspec.ltl.automaton import DeterministicAutomaton, parse_acceptance
from objspec.ltl.families import pattern
from objspec.ltl.merging import equivalent_states, merge_equivalent_states
from objspec.ltl.simplify import simplify
from objspec.ltl.translation import _translate_nnf, translate

ATOMS = ("a", "b")
CONDITIONS = [
    "Inf(0)", "Fin(0)", "Inf(0) & Fin(1)", "Inf(0) | Fin(1)", "Inf(0) & Inf(1)",
    "Fin(0) | Fin(1)", "(Fin(0) & Inf(1)) | (Inf(0) & Fin(1))", "Inf(!0)", "Fin(!1) | Inf(0)",
    "t", "f",
]


@st.composite
def raw_automata(draw: st.DrawFn, max_states: int = 3) -> tuple[Any, Any, str, int]:
    """Successor table (``-1`` sometimes), marks over two sets, a condition, an initial
    state: an automaton as the translator builds it, before :func:`ops.finish`."""
    n = draw(st.integers(1, max_states))
    letters = 1 << len(ATOMS)
    succ = np.array(draw(st.lists(
        st.lists(st.integers(0, n - 1), min_size=letters, max_size=letters),
        min_size=n, max_size=n)), dtype=np.int64)
    if draw(st.booleans()):  # a partial automaton: some transitions missing
        holes = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, letters - 1)),
                              max_size=3))
        for q, a in holes:
            succ[q, a] = -1
    marks = np.array(draw(st.lists(st.lists(st.sampled_from([0, 0, 0, 1, 2, 3]), min_size=letters,
                                            max_size=letters), min_size=n, max_size=n)),
                     dtype=np.int64)
    marks = np.where(succ >= 0, marks, 0)
    return succ, marks, draw(st.sampled_from(CONDITIONS)), draw(st.integers(0, n - 1))


def _both(raw: tuple[Any, Any, str, int]) -> tuple[DeterministicAutomaton, DeterministicAutomaton]:
    succ, marks, text, initial = raw
    condition = parse_acceptance(text)
    plain = DeterministicAutomaton(ATOMS, succ, marks, condition, 2, initial)
    table = ((marks.reshape(-1)[:, None] >> np.arange(2)) & 1).astype(bool)
    if "!" in text:  # the translator's tables never use complemented atoms: minimise only
        new_succ, new_marks, new_initial, _ = ops.minimise(succ, marks, initial)
        return plain, DeterministicAutomaton(ATOMS, new_succ, new_marks, condition, 2,
                                             new_initial)
    return plain, ops.finish(s.Atom("a"), ATOMS, succ, table, condition, initial)


def _exact_value(aut: DeterministicAutomaton, chain: Any) -> Fraction:
    return objspec_exact_chain_value(aut, *chain, ATOMS)


@settings(max_examples=200, deadline=None)
@given(raw=raw_automata(max_states=6), words=st.lists(lassos(ATOMS), min_size=1, max_size=8))
def test_finish_keeps_the_language_on_lassos(raw: Any, words: Any) -> None:
    plain, small = _both(raw)
    assert small.n_states <= plain.n_states
    for prefix, cycle in words:
        assert plain.accepts_lasso(prefix, cycle) == small.accepts_lasso(prefix, cycle)


@settings(max_examples=100, deadline=None)
@given(raw=raw_automata(), chain=chains())
def test_minimised_and_unminimised_automata_have_equal_probabilities(
    raw: Any, chain: Any
) -> None:
    plain, small = _both(raw)
    assert _exact_value(plain, chain) == _exact_value(small, chain)


def _cycle_sets(succ: np.ndarray, initial: int) -> list[list[tuple[int, int]]]:
    """Every set of transitions reachable from ``initial`` that is strongly connected:
    exactly the sets a run can take infinitely often."""
    seen, stack = {initial}, [initial]
    while stack:
        q = stack.pop()
        for j in succ[q].tolist():
            if j >= 0 and j not in seen:
                seen.add(j)
                stack.append(j)
    edges = [(q, a) for q in sorted(seen) for a in range(succ.shape[1]) if succ[q, a] >= 0]
    out = []
    for k in range(1, len(edges) + 1):
        for subset in combinations(edges, k):
            nodes = {q for q, _ in subset} | {int(succ[q, a]) for q, a in subset}
            if nodes != {q for q, _ in subset}:
                continue  # some edge leaves the set's sources: not a closed cycle set
            start = subset[0][0]
            fwd, bwd = {start}, {start}
            for _ in range(len(nodes)):
                fwd |= {int(succ[q, a]) for q, a in subset if q in fwd}
                bwd |= {q for q, a in subset if int(succ[q, a]) in bwd}
            if fwd == nodes and bwd == nodes:
                out.append(list(subset))
    return out


@settings(max_examples=60, deadline=None)
@given(raw=raw_automata(max_states=2))
def test_emptiness_and_universality_agree_with_brute_force(raw: Any) -> None:
    succ, marks, text, initial = raw
    condition = parse_acceptance(text)
    accepted = []
    for subset in _cycle_sets(succ, initial):
        union, inter = 0, 3
        for q, a in subset:
            union |= int(marks[q, a])
            inter &= int(marks[q, a])
        accepted.append(condition.holds(union, inter))
    reach = {initial} | {int(x) for x in succ[initial] if x >= 0}
    for _ in range(succ.shape[0]):
        reach |= {int(x) for q in reach for x in succ[q] if x >= 0}
    complete = all((succ[q] >= 0).all() for q in reach)
    assert ops.is_empty(succ, marks, condition, initial) == (not any(accepted))
    assert ops.is_universal(succ, marks, condition, initial) == (complete and all(accepted))


@pytest.mark.parametrize(("text", "value"), [
    ("(X a U X b) | !X(a U b)", True),                 # Spot's genltl --sb 11
    ("(X a U b) | !X(a U (a & b))", True),             # --sb 12
    ("!((X a U X b) | !X(a U b))", False),
    ("!((X a U b) | !X(a U (a & b)))", False),
    ("G F a | F G !a", True),
    ("G F a & F G !a", False),
    ("G (a -> F b) | F (a & G !b)", True),
    ("X X (a U b) & X X G !b", False),
])
def test_tautologies_and_contradictions_get_one_state(text: str, value: bool) -> None:
    aut = translate(text)
    assert aut.n_states == 1
    assert str(aut.acceptance) == ("t" if value else "f")
    assert aut.is_complete
    assert aut.accepts_lasso([], [{"a"}, set()]) == value


@settings(max_examples=40, deadline=None)
@given(f=formulas(3, ATOMS), chain=chains())
def test_tautology_collapse_keeps_probabilities(f: s.Formula, chain: Any) -> None:
    """The disjunction with a formula's negation is valid, and its automaton is the
    one-state ``true``; the automaton of ``f`` still agrees with the oracle."""
    valid = translate(s.Or(f, s.Not(f)), ATOMS)
    assert valid.n_states == 1 and str(valid.acceptance) == "t"
    P, labels, mu0 = chain
    assert _exact_value(translate(f, ATOMS), chain) == chain_probability(f, P, labels, mu0)


def test_sb_13_and_14_shrink_with_their_valid_disjunct() -> None:
    """``G (a -> F b) & valid``: only ``G (a -> F b)``'s two states remain."""
    for text in ("G(a -> F(b)) & (((X(a)) U b) | !X(a U (a & b)))",
                 "G(a -> F(b)) & (((X(a)) U X(b)) | !X(a U b))"):
        assert translate(text).n_states == translate("G (a -> F b)").n_states


def test_states_accepting_everything_become_one_accepting_sink() -> None:
    """States 1 and 2 accept every word but differ in their marks (no bisimulation merges
    them); both are replaced by one accepting sink, which a run enters once."""
    succ = np.array([[0, 1, 0, 0], [2, 1, 1, 1], [2, 2, 2, 2]])
    marks = np.array([[3, 0, 3, 3], [0, 2, 2, 2], [1, 1, 1, 1]])
    condition = parse_acceptance("Fin(0) | Fin(1)")
    assert ops.universal_states(succ, marks, condition).tolist() == [False, True, True]
    plain = DeterministicAutomaton(ATOMS, succ, marks, condition, 2, 0)
    small = ops.collapse(plain)
    assert small.n_states == 2
    letters = [frozenset(), frozenset({"a"}), frozenset({"b"}), frozenset({"a", "b"})]
    for prefix in ([], [letters[1]], [letters[1], letters[0]], [letters[2]]):
        for cycle in ([letters[0]], [letters[1]], [letters[3], letters[0]], [letters[2]]):
            assert plain.accepts_lasso(prefix, cycle) == small.accepts_lasso(prefix, cycle)


def test_inf_of_the_complement_with_fin_of_the_set_can_hold() -> None:
    """``Inf(!0) & Fin(0)`` is met by a run that ends in unmarked transitions; the normal
    form once dropped it as a contradiction, which made this automaton look empty."""
    succ, marks = np.array([[0, 0]]), np.array([[0, 1]])
    condition = parse_acceptance("Inf(!0) & Fin(0)")
    assert ops.is_empty(succ, marks, condition, 0) is False
    assert ops.is_empty(succ, marks, parse_acceptance("Inf(!0) & Fin(!0)"), 0) is True


def _finished(raw: tuple[Any, Any, str, int]) -> DeterministicAutomaton:
    succ, marks, text, initial = raw
    table = ((marks.reshape(-1)[:, None] >> np.arange(2)) & 1).astype(bool)
    return ops.finish(s.Atom("a"), ATOMS, succ, table, parse_acceptance(text), initial)


def _with_initial(aut: DeterministicAutomaton, q: int) -> DeterministicAutomaton:
    return DeterministicAutomaton(aut.propositions, aut.successors, aut.marks, aut.acceptance,
                                  aut.n_sets, q)


@settings(max_examples=200, deadline=None)
@given(raw=raw_automata(max_states=6).filter(lambda r: "!" not in r[2]),
       words=st.lists(lassos(ATOMS), min_size=1, max_size=8))
def test_merging_equivalent_states_keeps_the_language(raw: Any, words: Any) -> None:
    aut = _finished(raw)
    small = merge_equivalent_states(aut)
    assert small.n_states <= aut.n_states
    for prefix, cycle in words:
        assert aut.accepts_lasso(prefix, cycle) == small.accepts_lasso(prefix, cycle)


@settings(max_examples=100, deadline=None)
@given(raw=raw_automata(max_states=6).filter(lambda r: "!" not in r[2]), chain=chains())
def test_merged_automata_have_equal_probabilities(raw: Any, chain: Any) -> None:
    aut = _finished(raw)
    assert _exact_value(aut, chain) == _exact_value(merge_equivalent_states(aut), chain)


@settings(max_examples=150, deadline=None)
@given(raw=raw_automata(max_states=5).filter(lambda r: "!" not in r[2]),
       words=st.lists(lassos(ATOMS), min_size=4, max_size=12))
def test_equivalent_states_accept_the_same_lassos(raw: Any, words: Any) -> None:
    aut = _finished(raw)
    eq = equivalent_states(aut)
    assert eq is not None
    assert eq.diagonal().all() and (eq == eq.T).all()
    for p, q in zip(*np.nonzero(eq), strict=True):
        a, b = _with_initial(aut, int(p)), _with_initial(aut, int(q))
        for prefix, cycle in words:
            assert a.accepts_lasso(prefix, cycle) == b.accepts_lasso(prefix, cycle)


def test_equivalent_states_tell_acceptance_apart() -> None:
    # two copies of one loop: marked Inf(0) in state 0, unmarked in state 1; in state 2
    # the marks alternate, so 2 accepts what 0 accepts, and 1 accepts nothing of it
    succ = np.array([[0, 0], [1, 1], [3, 3], [2, 2]])
    marks = np.array([[1, 1], [0, 0], [1, 1], [0, 0]])
    aut = DeterministicAutomaton(("a",), succ, marks, parse_acceptance("Inf(0) | Fin(0)"), 1)
    eq = equivalent_states(aut)
    assert eq is not None and eq.all()  # the condition is "t": all states are universal
    aut = DeterministicAutomaton(("a",), succ, marks, parse_acceptance("Inf(0)"), 1)
    eq = equivalent_states(aut)
    assert eq is not None
    assert eq[0, 2] and eq[2, 3] and not eq[0, 1] and not eq[1, 3]


def test_pattern_automata_merge_to_spot_sizes() -> None:
    # Spot's ltl2tgba -D has 6 states for DAC 55 (Dwyer et al.'s last pattern) and 6 for
    # DAC 50; the master theorem's automata had 130 and 92 before language-equivalent
    # states were merged
    assert translate(pattern("dac", 55)).n_states <= 7
    assert translate(pattern("dac", 50)).n_states <= 7
    assert translate(s.Not(pattern("dac", 55))).n_states <= 11


@settings(max_examples=150, deadline=None)
@given(f=formulas(depth=4, atoms=ATOMS), words=st.lists(lassos(ATOMS), min_size=1, max_size=8))
def test_merged_translation_keeps_the_language_of_random_formulas(f: s.Formula,
                                                                   words: Any) -> None:
    """The translation (which merges equivalent states) against the semantics, and the
    merged automaton against the unmerged one, on random formulas and lassos."""
    for g in (f, s.Not(f), s.Globally(s.Finally(f))):
        aut = translate(g, ATOMS)
        plain = _translate_nnf(simplify(g), ATOMS, {}, False, True, True)
        for prefix, cycle in words:
            verdict = holds_on_lasso(g, prefix, cycle)
            assert aut.accepts_lasso(prefix, cycle) == verdict
            assert plain.accepts_lasso(prefix, cycle) == verdict


@settings(max_examples=150, deadline=None)
@given(p=formulas(depth=2, atoms=ATOMS), q=formulas(depth=2, atoms=ATOMS),
       nxt=st.booleans(), words=st.lists(lassos(ATOMS), min_size=1, max_size=8))
def test_gf_of_conjunction_with_eventual_operand(p: s.Formula, q: s.Formula, nxt: bool,
                                                 words: Any) -> None:
    """G F (p & e) = G F p & G F e for eventual e (here e = F q or X F q)."""
    e: s.Formula = s.Finally(q)
    if nxt:
        e = s.Next(e)
    f = s.Globally(s.Finally(s.And(p, e)))
    g = simplify(f)
    for prefix, cycle in words:
        assert holds_on_lasso(g, prefix, cycle) == holds_on_lasso(f, prefix, cycle)


@settings(max_examples=100, deadline=None)
@given(raw=raw_automata(max_states=6).filter(lambda r: "!" not in r[2]),
       seed=st.integers(0, 2**16))
def test_quotient_by_class_labels_picks_first_or_last_representatives(raw: Any, seed: int
                                                                       ) -> None:
    from objspec.ltl.merging import _quotient

    aut = _finished(raw)
    group = np.random.default_rng(seed).integers(0, 3, aut.n_states)
    for last in (False, True):
        q = _quotient(aut, group, last)
        reps = sorted({int(np.flatnonzero(group == g)[-1 if last else 0]) for g in group})
        assert q.n_states == len(reps)
        assert (q.marks == aut.marks[reps]).all()
        for i, r in enumerate(reps):
            for letter, t in enumerate(aut.successors[r].tolist()):
                rep_t = -1 if t < 0 else reps.index(
                    int(np.flatnonzero(group == group[t])[-1 if last else 0]))
                assert q.successors[i, letter] == rep_t


def test_merging_honours_the_translation_deadline() -> None:
    from objspec.errors import TranslationLimitError
    from objspec.ltl.budget import translation_budget

    # a 2-ring marked on !a in state 0 only: the mark-blind quotients (one state, with
    # either state's marks) change the language, so the lasso candidates come next
    succ = np.array([[1, 1], [0, 0]])
    marks = np.array([[1, 0], [0, 0]])
    aut = DeterministicAutomaton(("a",), succ, marks, parse_acceptance("Inf(0)"), 1)
    with translation_budget(10, 1e-9), pytest.raises(TranslationLimitError, match="time_limit"):
        merge_equivalent_states(aut, s.Atom("a"))
    merge_equivalent_states(aut)  # outside a translation: no deadline


def test_large_automata_skip_the_lasso_candidates() -> None:
    from objspec.ltl import merging

    # a ring of MAX_SIGNATURE_STATES + 1 states, all marks equal except one: the mark-blind
    # partition is one class whose quotient is not equivalent, and the lasso stage is skipped
    n = merging.MAX_SIGNATURE_STATES + 1
    succ = np.repeat(((np.arange(n) + 1) % n)[:, None], 2, axis=1)
    marks = np.zeros((n, 2), dtype=np.int64)
    marks[0, 0] = 1
    aut = DeterministicAutomaton(("a",), succ, marks, parse_acceptance("Inf(0)"), 1)
    assert merge_equivalent_states(aut) is aut
