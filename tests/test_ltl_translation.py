"""LTL to deterministic automata: language checks on lasso words, HOA import and export."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from ltl_reference import holds_on_lasso
from ltl_strategies import formulas, lassos

from objspec.errors import InvalidSpecificationError
from objspec.ltl import syntax as s
from objspec.ltl.automaton import DeterministicAutomaton, parse_acceptance
from objspec.ltl.hoa import from_hoa, to_hoa
from objspec.ltl.parser import parse_formula
from objspec.ltl.translation import translate

ATOMS = ("a", "b", "c")
LETTERS = [frozenset(x) for r in range(4) for x in itertools.combinations(ATOMS, r)]


def _all_short_lassos() -> list[tuple[list[frozenset[str]], list[frozenset[str]]]]:
    rng = np.random.default_rng(7)
    out = []
    for _ in range(300):
        prefix = [LETTERS[i] for i in rng.integers(0, 8, size=rng.integers(0, 4))]
        cycle = [LETTERS[i] for i in rng.integers(0, 8, size=rng.integers(1, 4))]
        out.append((prefix, cycle))
    return out


SAMPLE_WORDS = _all_short_lassos()


@settings(max_examples=60)
@given(formulas(depth=3), lassos())
def test_automaton_accepts_exactly_the_models(f: s.Formula, word: tuple) -> None:
    aut = translate(f, ATOMS)
    prefix, cycle = word
    assert aut.accepts_lasso(prefix, cycle) == holds_on_lasso(f, prefix, cycle)


@settings(max_examples=25)
@given(formulas(depth=4))
def test_depth_four_formulas_on_many_words(f: s.Formula) -> None:
    aut = translate(f, ATOMS)
    for prefix, cycle in SAMPLE_WORDS:
        assert aut.accepts_lasso(prefix, cycle) == holds_on_lasso(f, prefix, cycle), (
            str(f), prefix, cycle
        )


@pytest.mark.parametrize(
    "text",
    [
        "G F a", "F G a", "G F a -> G F b", "(G F a -> G F b) & (G F b -> G F c)",
        "G (a -> X (b U c))", "a U (b R (c W (a M b)))", "F G (a | X b) & G F !a",
        "!(a U b) <-> G !b | (a W !a)", "X X X a", "G (a xor X a)",
    ],
)
def test_named_formulas(text: str) -> None:
    f = parse_formula(text)
    aut = translate(f, ATOMS)
    for prefix, cycle in SAMPLE_WORDS:
        assert aut.accepts_lasso(prefix, cycle) == holds_on_lasso(f, prefix, cycle)


def test_simple_shapes() -> None:
    assert translate("a U b").n_states == 2  # Büchi, a dead transition for !a & !b
    assert str(translate("a U b").acceptance) == "Inf(0)"
    assert str(translate("G a").acceptance) == "Fin(0)"
    assert translate("G F a").n_states == 1
    assert str(translate("true").acceptance) == "t"
    assert str(translate("a & !a").acceptance) == "f"


def test_translation_is_cached_and_propositions_checked() -> None:
    assert translate("G F a", ["a", "b"]) is translate("G F a", ["a", "b"])
    with pytest.raises(InvalidSpecificationError, match="'c'"):
        translate("F c", ["a", "b"])


@settings(max_examples=30)
@given(formulas(depth=3))
def test_hoa_round_trip_preserves_the_automaton(f: s.Formula) -> None:
    aut = translate(f, ATOMS)
    back = from_hoa(to_hoa(aut))
    assert back.propositions == aut.propositions
    assert back.n_states == aut.n_states and back.initial == aut.initial
    assert np.array_equal(back.successors, aut.successors)
    assert np.array_equal(back.marks, aut.marks)
    for prefix, cycle in SAMPLE_WORDS[:60]:
        assert back.accepts_lasso(prefix, cycle) == aut.accepts_lasso(prefix, cycle)


SPOT_PARITY = """HOA: v1
name: "G(a -> F b)"
States: 2
Start: 0
AP: 2 "a" "b"
acc-name: parity min even 2
Acceptance: 2 Inf(0) | Fin(1)
properties: trans-labels explicit-labels state-acc deterministic
--BODY--
State: 0 {0}
[!0 | 1] 0
[0&!1] 1
State: 1 {1}
[1] 0
[!1] 1
--END--
"""

# A Rabin automaton for F G a | G F b with implicit labels, an alias and a comment.
RABIN_IMPLICIT = """HOA: v1
States: 2
Start: 0
AP: 2 "a" "b"
Alias: @b 1
acc-name: Rabin 2
Acceptance: 4 (Fin(0) & Inf(1)) | (Fin(2) & Inf(3))
properties: implicit-labels trans-acc deterministic
--BODY--
/* letters in order: {}, {a}, {b}, {a, b} */
State: 0
0 {0}
1 {1}
0 {3}
1 {1 3}
State: 1
0 {0}
1 {1}
0 {3}
1 {1 3}
--END--
"""

# Partial (incomplete) co-Büchi automaton for "a U b" spelled with a state-based Büchi set.
PARTIAL_BUCHI = """HOA: v1
States: 2
Start: 0
AP: 2 "a" "b"
acc-name: Buchi
Acceptance: 1 Inf(0)
properties: trans-labels explicit-labels state-acc deterministic
--BODY--
State: 0
[0 & !1] 0
[1] 1
State: 1 {0}
[t] 1
--END--
"""


@pytest.mark.parametrize(
    ("hoa", "formula"),
    [(SPOT_PARITY, "G(a -> F b)"), (RABIN_IMPLICIT, "F G a | G F b"),
     (PARTIAL_BUCHI, "a U b")],
)
def test_imported_automata_of_every_kind(hoa: str, formula: str) -> None:
    aut = from_hoa(hoa)
    f = parse_formula(formula)
    for prefix, cycle in SAMPLE_WORDS:
        assert aut.accepts_lasso(prefix, cycle) == holds_on_lasso(f, prefix, cycle)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SPOT_PARITY.replace("[0&!1] 1", "[0] 1"), "not deterministic"),
        (SPOT_PARITY.replace("Start: 0", "Start: 0\nStart: 1"), "exactly one"),
        (SPOT_PARITY.replace("--END--", ""), "--END--"),
        (SPOT_PARITY.replace("[1] 0", "[1] 0&1"), "universal"),
        (SPOT_PARITY.replace("[1] 0", "[2] 0"), "AP 2"),
        (SPOT_PARITY.replace("State: 1 {1}", "State: 1 {5}"), "set 5"),
        ("HOA: v2\nStates: 1\n--BODY--\n--END--", "v1"),
        (SPOT_PARITY.replace("Acceptance: 2 Inf(0) | Fin(1)", "Acceptance: 2 Inf(0) |"),
         "ends unexpectedly"),
    ],
)
def test_bad_hoa_is_rejected_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(InvalidSpecificationError, match=message):
        from_hoa(text)


def test_acceptance_conditions() -> None:
    cond = parse_acceptance("Fin(0) & Inf(1) | Inf(!2)")
    assert cond.holds(union=0b010, intersection=0b010)
    assert not cond.holds(union=0b111, intersection=0b111)
    assert cond.holds(union=0b111, intersection=0b011)  # some transition lacks set 2
    assert len(cond.disjunctive_normal_form()) == 2


def test_automaton_validation() -> None:
    with pytest.raises(InvalidSpecificationError, match="shaped"):
        DeterministicAutomaton(("a",), [[0]], [[0]], parse_acceptance("t"), 0)
    with pytest.raises(InvalidSpecificationError, match="not a state"):
        DeterministicAutomaton(("a",), [[0, 3]], [[0, 0]], parse_acceptance("t"), 0)
    with pytest.raises(InvalidSpecificationError, match="uses set 1"):
        DeterministicAutomaton(("a",), [[0, 0]], [[0, 0]], parse_acceptance("Inf(1)"), 1)


def test_rendering() -> None:
    aut = translate("G (a -> F b)")
    svg = aut._repr_svg_()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    dot = aut.to_dot()
    assert dot.startswith("digraph") and "->" in dot
