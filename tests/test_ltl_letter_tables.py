"""The all-letters-at-once ``af`` (letter tables) agrees with the plain per-letter ``af``;
the graph helpers on dense tables agree with their plain definitions; the genltl families."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ltl_reference import holds_on_lasso
from ltl_strategies import formulas

from objspec.errors import InvalidSpecificationError
from objspec.ltl import after as after_module
from objspec.ltl import clear_caches
from objspec.ltl import operations as ops
from objspec.ltl import syntax as s
from objspec.ltl import translation as translation_module
from objspec.ltl.after import DNF, After, expand_table, to_dnf
from objspec.ltl.families import FAMILIES, PATTERNS, family, pattern
from objspec.ltl.parser import parse_formula
from objspec.ltl.simplify import simplify
from objspec.ltl.translation import translate

ATOMS = ("a", "b", "c", "d")


def _reachable_states(f: s.Formula, limit: int) -> list[DNF]:
    """Up to ``limit`` af-states reachable from ``f`` (per-letter, breadth first)."""
    plain = After(ATOMS)
    start = to_dnf(simplify(f))
    seen = {start}
    order = [start]
    i = 0
    while i < len(order) and len(order) < limit:
        for letter in range(1 << len(ATOMS)):
            nxt = plain.dnf(order[i], letter)
            if nxt not in seen:
                seen.add(nxt)
                order.append(nxt)
        i += 1
    return order


@pytest.mark.parametrize("direct", [0, after_module._DIRECT_READS, 64])
@settings(max_examples=40, deadline=None)
@given(f=formulas(depth=4, atoms=ATOMS))
def test_letter_tables_agree_with_per_letter_af(direct: int, f: s.Formula) -> None:
    """For every reachable state and every letter, ``table(d)`` at the letter is
    ``dnf(d, letter)`` (with the table built by combining atom tables, by calling af per
    valuation, or mixed)."""
    old = after_module._DIRECT_READS
    after_module._DIRECT_READS = direct
    try:
        fast, plain = After(ATOMS), After(ATOMS)
        for d in _reachable_states(f, 25):
            table = fast.table(d)
            assert list(table.props) == sorted(set(table.props))
            assert len(set(table.values)) == len(table.values)
            codes = expand_table(table, len(ATOMS))
            for letter in range(1 << len(ATOMS)):
                assert table.values[codes[letter]] == plain.dnf(d, letter)
    finally:
        after_module._DIRECT_READS = old


def _check_both_ways(f: s.Formula) -> None:
    """The whole translation gives the same tables whether states are explored letter by
    letter (the plain computation) or by letter tables."""
    old = translation_module._PER_LETTER_PROPS
    automata = []
    try:
        for threshold in (len(ATOMS), 0):
            translation_module._PER_LETTER_PROPS = threshold
            clear_caches()
            automata.append(translate(f, ATOMS))
    finally:
        translation_module._PER_LETTER_PROPS = old
        clear_caches()
    plain, fast = automata
    assert np.array_equal(plain.successors, fast.successors)
    assert np.array_equal(plain.marks, fast.marks)
    assert str(plain.acceptance) == str(fast.acceptance)
    assert plain.initial == fast.initial


@settings(max_examples=40, deadline=None)
@given(f=formulas(depth=3, atoms=ATOMS))
def test_explored_by_tables_or_letter_by_letter_the_same_automaton(f: s.Formula) -> None:
    _check_both_ways(f)


@pytest.mark.parametrize("text", [
    "G (a -> F (b & F c))",             # invariance (breakpoint) construction
    "G F (a & F (b & X d))",            # recurrence monitor
    "F G (a | X b) & G F c",            # persistence monitor, products
    "(G F a -> G F b) & G (c -> X d)",  # master theorem
    "a U (b R (c W (d M a)))",
])
def test_named_formulas_explored_both_ways(text: str) -> None:
    _check_both_ways(parse_formula(text))


def test_tables_read_only_the_propositions_outside_next() -> None:
    af = After(ATOMS)
    t = af.table(to_dnf(simplify(s.And(s.Finally(s.Atom("a")), s.Next(s.Atom("b"))))))
    assert t.props == (0,)
    t = af.table(to_dnf(simplify(s.Globally(s.Next(s.Atom("c"))))))
    assert t.props == () and len(t.values) == 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-1, 9), min_size=1, max_size=40))
def test_first_occurrences(row: list[int]) -> None:
    expected = list(dict.fromkeys(row))
    assert ops.first_occurrences(np.array(row, dtype=np.int64)).tolist() == expected


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(1, 8), st.integers(0, 2**31), st.booleans())
def test_distinct_edges(n: int, n_letters: int, seed: int, with_marks: bool) -> None:
    rng = np.random.default_rng(seed)
    succ = rng.integers(-1, n, size=(n, n_letters))
    marks = rng.integers(0, 4, size=(n, n_letters)) if with_marks else None
    src, dst, m = ops._distinct_edges(succ, marks)
    expected = sorted({
        (q, int(succ[q, w]), int(marks[q, w]) if marks is not None else 0)
        for q in range(n) for w in range(n_letters) if succ[q, w] >= 0
    })
    assert list(zip(src.tolist(), dst.tolist(), m.tolist(), strict=True)) == expected
    raw = ops._edges(succ, marks)
    assert sorted(zip(*(a.tolist() for a in raw), strict=True)) == sorted(
        (q, int(succ[q, w]), int(marks[q, w]) if marks is not None else 0)
        for q in range(n) for w in range(n_letters) if succ[q, w] >= 0)
    old = ops._PRESENCE_SLOTS
    ops._PRESENCE_SLOTS = 0  # the sorting fallback
    try:
        src2, dst2, m2 = ops._distinct_edges(succ, marks)
    finally:
        ops._PRESENCE_SLOTS = old
    assert (src2.tolist(), dst2.tolist(), m2.tolist()) == (src.tolist(), dst.tolist(),
                                                          m.tolist())


def _words(atoms: list[str], count: int, seed: int) -> list[tuple[list[set[str]], list[set[str]]]]:
    rng = random.Random(seed)
    letters = [set(c) for r in range(len(atoms) + 1) for c in itertools.combinations(atoms, r)]
    return [([rng.choice(letters) for _ in range(rng.randint(0, 4))],
             [rng.choice(letters) for _ in range(rng.randint(1, 4))]) for _ in range(count)]


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_families_translate_to_their_language(name: str) -> None:
    for n in (1, 2, 3):
        f = family(name, n)
        atoms = sorted(f.atoms())
        aut = translate(f)
        for prefix, cycle in _words(atoms, 60, n):
            assert aut.accepts_lasso(prefix, cycle) == holds_on_lasso(f, prefix, cycle), (
                name, n, prefix, cycle)


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_pattern_sets_translate_to_their_language(name: str) -> None:
    """Every pattern formula and its negation, on random lassos, against the semantics."""
    for n in range(1, len(PATTERNS[name]) + 1):
        f = pattern(name, n)
        atoms = sorted(f.atoms())
        words = _words(atoms, 30, n)
        for g in (f, s.Not(f)):
            aut = translate(g)
            for prefix, cycle in words:
                u, v = [frozenset(x) for x in prefix], [frozenset(x) for x in cycle]
                assert aut.accepts_lasso(u, v) == holds_on_lasso(g, u, v), (name, n, str(g), u, v)


def test_pattern_sets() -> None:
    assert [len(PATTERNS[k]) for k in ("dac", "eh", "sb", "hkrss", "p")] == [55, 12, 27, 55, 20]
    assert str(pattern("sb", 11)) == "Xp0 U Xp1 | !X(p0 U p1)"
    assert translate(pattern("sb", 11)).n_states == 1  # a tautology
    assert len(pattern("hkrss", 21).atoms()) == 9
    with pytest.raises(InvalidSpecificationError, match="no pattern dac 56"):
        pattern("dac", 56)
    with pytest.raises(InvalidSpecificationError, match="unknown pattern set"):
        pattern("xyz", 1)


def test_families_match_spot_definitions() -> None:
    assert str(family("gxf-and", 2)) == "G(p0 & XF(p1 & XFp2))"
    assert str(family("fxg-or", 1)) == "F(p0 | XGp1)"
    assert str(family("gh-r", 2)) == "(GFp1 | FGp2) & (GFp2 | FGp3)"
    # levels alternate: ms-phi-s(1) = ms-phi-r(0) & (FG a1 | GF b1)
    assert str(family("ms-phi-s", 1)) == "FGa0 & GFb0 & (FGa1 | GFb1)"
    assert str(family("ms-phi-r", 1)) == "FGa0 | GFb0 | FGa1 & GFb1"
    assert str(family("tv-f2", 3)) == "G(p -> q | X(q | Xq))"
    assert str(family("ccj-beta", 2)) == "F(p & Xp) & F(q & Xq)"
    assert len(family("rv-counter", 4).atoms()) == 2
    with pytest.raises(InvalidSpecificationError, match="positive int"):
        family("and-f", 0)
