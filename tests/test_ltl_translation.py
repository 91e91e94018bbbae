"""LTL to deterministic automata: language checks on lasso words, HOA import and export."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ltl_reference import holds_on_lasso
from ltl_strategies import formulas, lassos

from objspec.errors import InvalidSpecificationError
from objspec.ltl import syntax as s
from objspec.ltl.automaton import DeterministicAutomaton, parse_acceptance
from objspec.ltl.hoa import from_hoa, to_hoa
from objspec.ltl.parser import parse_formula
from objspec.ltl.simplify import is_eventual, is_suspendable, is_universal, simplify
from objspec.ltl.translation import (
    MAX_FIXPOINT_SUBFORMULAS,
    _closed_choices,
    _fixpoint_subformulas,
    translate,
)

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
    # G a: one state, a dead transition for !a (its rejecting sink accepts nothing)
    assert translate("G a").n_states == 1 and str(translate("G a").acceptance) == "t"
    assert not translate("G a").is_complete
    assert str(translate("F G a").acceptance) == "Fin(0)"
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


# ----------------------------------------------------------------------------------------
# Simplification rules, decomposition and size limits.

# Subformulas standing for the p, q, ... of the rules: temporal ones, so that no rule only
# holds by accident of the operands being atoms.
_P, _Q = "(a U b)", "(X c)"
_E, _U, _S = "F(a & X b)", "G(a | X c)", "G F (b & c)"  # eventual, universal, suspendable

SIMPLIFICATION_RULES = [
    # (left-hand side, right-hand side): each pair is an LTL equivalence
    ("F F p", "F p"),
    ("G G p", "G p"),
    ("F X p", "X F p"),
    ("G X p", "X G p"),
    ("F (p U q)", "F q"),
    ("G (p R q)", "G q"),
    ("F (p M q)", "F (p & q)"),
    ("G (p W q)", "G (p | q)"),
    ("G F X p", "G F p"),
    ("F G X p", "F G p"),
    ("F G F p", "G F p"),
    ("G F G p", "F G p"),
    ("F e", "e"),
    ("G u", "u"),
    ("X s", "s"),
    ("F (p & s)", "F p & s"),
    ("G (p | s)", "G p | s"),
    ("G (p & e)", "G p & G e"),
    ("F (p | u)", "F p | F u"),
    ("p U e", "e"),
    ("p R u", "u"),
    ("e M p", "e & p"),
    ("p M e", "F (p & e)"),
    ("u W p", "u | p"),
    ("p W u", "G (p | u)"),
    ("p U (p U q)", "p U q"),
    ("p R (p R q)", "p R q"),
    ("p W (p W q)", "p W q"),
    ("p M (p M q)", "p M q"),
    ("X p U X q", "X (p U q)"),
    ("X p R X q", "X (p R q)"),
    ("X p W X q", "X (p W q)"),
    ("X p M X q", "X (p M q)"),
    ("X p & X q", "X (p & q)"),
    ("X p | X q", "X (p | q)"),
    ("G p & G q", "G (p & q)"),
    ("F p | F q", "F (p | q)"),
    ("F G p & F G q", "F G (p & q)"),
    ("G F p | G F q", "G F (p | q)"),
    ("a M (!a & q)", "false"),
    ("a R (!a & q)", "G (!a & q)"),
    ("G a & F !a", "false"),
    ("F a | G !a", "true"),
    ("p M G q", "G q & F p"),
    ("p W F q", "F q | G p"),
    ("p & F p", "p"),
    ("p | F p", "F p"),
    ("p & G p", "G p"),
    ("p | G p", "p"),
]


def _substitute(f: s.Formula, by: dict[str, s.Formula]) -> s.Formula:
    if isinstance(f, s.Atom):
        return by.get(f.name, f)
    if isinstance(f, s.UnaryOperator):
        return type(f)(_substitute(f.operand, by))
    if isinstance(f, s.BinaryOperator):
        return type(f)(_substitute(f.left, by), _substitute(f.right, by))
    return f


def _instantiate(rule: str) -> s.Formula:
    """The rule's side with ``p q e u s`` replaced by the subformulas above."""
    names = {"p": _P, "q": _Q, "e": _E, "u": _U, "s": _S}
    return _substitute(parse_formula(rule), {k: parse_formula(v) for k, v in names.items()})


def _more_words() -> list[tuple[list[frozenset[str]], list[frozenset[str]]]]:
    rng = np.random.default_rng(11)
    out = []
    for _ in range(400):
        prefix = [LETTERS[i] for i in rng.integers(0, 8, size=rng.integers(0, 7))]
        cycle = [LETTERS[i] for i in rng.integers(0, 8, size=rng.integers(1, 6))]
        out.append((prefix, cycle))
    return SAMPLE_WORDS + out


MORE_WORDS = _more_words()


@pytest.mark.parametrize(("lhs", "rhs"), SIMPLIFICATION_RULES)
def test_simplification_rules_are_equivalences(lhs: str, rhs: str) -> None:
    left, right = _instantiate(lhs), _instantiate(rhs)
    # the rule is an equivalence (reference semantics) ...
    for prefix, cycle in MORE_WORDS:
        assert holds_on_lasso(left, prefix, cycle) == holds_on_lasso(right, prefix, cycle)
    # ... the simplifier applies it (on the plainest instance both sides simplify to the
    # same formula; with temporal operands other rules may fire first) ...
    plain = {"p": "p", "q": "q", "e": "F e", "u": "G u", "s": "G F s"}
    lp, rp = (_substitute(parse_formula(x), {k: parse_formula(v) for k, v in plain.items()})
              for x in (lhs, rhs))
    assert simplify(lp) == simplify(rp), (str(simplify(lp)), str(simplify(rp)))
    for prefix, cycle in MORE_WORDS[::4]:
        assert holds_on_lasso(simplify(left), prefix, cycle) == holds_on_lasso(
            left, prefix, cycle)
    # ... and the automata of both sides accept the same words.
    a, b = translate(left, ATOMS), translate(right, ATOMS)
    for prefix, cycle in MORE_WORDS:
        assert a.accepts_lasso(prefix, cycle) == b.accepts_lasso(prefix, cycle)


def test_syntactic_classes() -> None:
    assert is_eventual(parse_formula(_E)) and not is_universal(parse_formula(_E))
    assert is_universal(parse_formula(_U)) and not is_eventual(parse_formula(_U))
    assert is_suspendable(parse_formula(_S))
    assert not is_eventual(parse_formula("a U b")) and not is_universal(parse_formula("a"))


@settings(max_examples=80)
@given(formulas(depth=5), lassos())
def test_simplified_and_unsimplified_formulas_agree(f: s.Formula, word: tuple) -> None:
    prefix, cycle = word
    assert holds_on_lasso(simplify(f), prefix, cycle) == holds_on_lasso(f, prefix, cycle)


def _random_formula(rng: random.Random, n_operators: int) -> s.Formula:
    """Formulas as in ``benchmarks/bench_ltl.py``: exactly ``n_operators`` operators."""
    unary = (s.Not, s.Next, s.Finally, s.Globally)
    binary = (s.And, s.Or, s.Implies, s.Until, s.Release, s.WeakUntil, s.StrongRelease)
    if n_operators == 0:
        return s.Atom(rng.choice(ATOMS))
    if n_operators == 1 or rng.random() < 0.35:
        return rng.choice(unary)(_random_formula(rng, n_operators - 1))
    left = rng.randint(0, n_operators - 1)
    return rng.choice(binary)(_random_formula(rng, left),
                              _random_formula(rng, n_operators - 1 - left))


def _bench_style_formulas(seed: int, count: int) -> list[s.Formula]:
    rng = random.Random(seed)
    return [_random_formula(rng, rng.randint(1, 12)) for _ in range(count)]


@pytest.mark.parametrize("seed", range(4))
def test_random_bench_style_formulas(seed: int) -> None:
    for f in _bench_style_formulas(seed, 40):
        aut = translate(f, ATOMS)
        for prefix, cycle in MORE_WORDS[::2]:
            assert aut.accepts_lasso(prefix, cycle) == holds_on_lasso(f, prefix, cycle), (
                str(f), prefix, cycle
            )


@pytest.mark.parametrize(
    "text",
    [
        # regression: _from_dnf must not merge F p | F q into a formula outside mu(phi)
        "F(b & F(!c W a))",
        "(b | Xa) M X((!a & Gb) U F(!b W Fc))",
        "b M F(!c W a) | F a & c",
    ],
)
def test_regressions(text: str) -> None:
    f = parse_formula(text)
    aut = translate(f, ATOMS)
    for prefix, cycle in MORE_WORDS:
        assert aut.accepts_lasso(prefix, cycle) == holds_on_lasso(f, prefix, cycle)


def _monolithic(f: s.Formula) -> DeterministicAutomaton:
    return translate(f, ATOMS, decompose=False, complement=False)


@settings(max_examples=40, deadline=None)
@given(formulas(depth=3, constants=False), formulas(depth=3, constants=False),
       st.booleans())
def test_decomposition_matches_the_monolithic_construction(
    f: s.Formula, g: s.Formula, conj: bool
) -> None:
    phi = s.And(f, g) if conj else s.Or(f, g)
    try:
        whole = _monolithic(phi)
    except InvalidSpecificationError:
        return  # beyond the monolithic construction's limits
    split = translate(phi, ATOMS)
    for prefix, cycle in MORE_WORDS[::3]:
        expected = holds_on_lasso(phi, prefix, cycle)
        assert whole.accepts_lasso(prefix, cycle) == expected
        assert split.accepts_lasso(prefix, cycle) == expected


@settings(max_examples=40, deadline=None)
@given(formulas(depth=3, constants=False), formulas(depth=3, constants=False),
       st.booleans(), st.booleans(), st.booleans())
def test_every_strategy_switch_keeps_the_language(
    f: s.Formula, g: s.Formula, conj: bool, decompose: bool, complement: bool
) -> None:
    """translate(decompose=, complement=) accepts the same words as the default."""
    phi = s.And(f, g) if conj else s.Or(f, g)
    try:
        other = translate(phi, ATOMS, decompose=decompose, complement=complement)
    except InvalidSpecificationError:
        return  # beyond the limits of the construction without decomposition
    default = translate(phi, ATOMS)
    for prefix, cycle in MORE_WORDS[::3]:
        assert other.accepts_lasso(prefix, cycle) == default.accepts_lasso(prefix, cycle)


def test_strategy_switches_take_effect_and_are_checked() -> None:
    # 8 parts G F p_i: 16 fixpoint subformulas in one piece without decomposition
    many = " & ".join(f"G F p{i}" for i in range(8))
    assert translate(many).n_states == 1
    with pytest.raises(InvalidSpecificationError, match="16 fixpoint subformulas"):
        translate(many, decompose=False)
    f = "a R c R XX!b M a M (c R Xa) M XXa"
    assert translate(f, ATOMS).n_states < translate(f, ATOMS, complement=False).n_states
    # the switches are part of the cache key
    assert translate("F G a & G F b", decompose=False) is not translate("F G a & G F b")
    for bad in (0, 1, None, "no"):
        with pytest.raises(InvalidSpecificationError, match="decompose"):
            translate("F a", decompose=bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidSpecificationError, match="complement"):
            translate("F a", complement=bad)  # type: ignore[arg-type]


def test_clear_caches_empties_every_cache() -> None:
    from objspec.ltl import after, clear_caches

    clear_caches()
    memoised = (after.to_dnf, after.dnf_and, after.dnf_or, after.implies)
    assert all(fn.cache_info().currsize == 0 for fn in memoised)
    text = "G (a -> F (b & X c)) & F G (a | b)"
    first = translate(text, ATOMS)
    assert translate(text, ATOMS) is first  # cached
    assert all(fn.cache_info().currsize > 0 for fn in memoised)
    clear_caches()
    assert all(fn.cache_info().currsize == 0 for fn in memoised)
    again = translate(text, ATOMS)
    assert again is not first  # rebuilt, and the same automaton
    assert np.array_equal(again.successors, first.successors)
    assert np.array_equal(again.marks, first.marks)
    assert str(again.acceptance) == str(first.acceptance)


def test_decomposition_on_named_formulas() -> None:
    for text in ["(G F a -> G F b) & (G F b -> G F c)", "F G a | G F b & F c",
                 "G (a -> X (b U c)) & F G !c", "(G a | F b) & G F c & (a U b)",
                 "F G a | (b W c) | G F (a & c) | X b"]:
        f = parse_formula(text)
        whole, split = _monolithic(f), translate(f, ATOMS)
        for prefix, cycle in MORE_WORDS:
            expected = holds_on_lasso(f, prefix, cycle)
            assert whole.accepts_lasso(prefix, cycle) == expected
            assert split.accepts_lasso(prefix, cycle) == expected


WIDE_CONJUNCTIONS = [
    # 15 (and 30) fixpoint subformulas: refused before the decomposition
    " & ".join(f"G F {x}" for x in ["a", "b", "c", "(a & b)", "(a & c)", "(b & c)",
                                     "(a & !b)", "(b & !c)", "(c & !a)", "(a | b)", "(b | c)",
                                     "(a & b & c)", "!a", "!b", "!c"]),
    " & ".join(f"G ({x} -> F {y})" for x, y in [("a", "b"), ("b", "c"), ("c", "a"),
                                                  ("a", "c"), ("b", "a"), ("c", "b"),
                                                  ("a", "(b & c)"), ("b", "(a & c)"),
                                                  ("c", "(a & b)"), ("!a", "b"), ("!b", "c"),
                                                  ("!c", "a"), ("a", "!b"), ("b", "!c"),
                                                  ("c", "!a")]),
    " | ".join(f"F G {x}" for x in ["a", "b", "c", "(a & b)", "(a & c)", "(b & c)",
                                     "(a & !b)", "(b & !c)", "(c & !a)", "(a | b)", "(b | c)",
                                     "(a & b & c)", "!a", "!b", "!c"]),
    " & ".join(f"F {x}" for x in ["a", "b", "c", "(a & b)", "(a & c)", "(b & c)",
                                   "(a & !b)", "(b & !c)", "(c & !a)", "(a & X b)",
                                   "(b & X c)", "(a & b & c)", "!a", "!b", "!c"]),
]


@pytest.mark.parametrize("text", WIDE_CONJUNCTIONS)
def test_wide_conjunctions_are_translated(text: str) -> None:
    f = parse_formula(text)
    mu_nu = [g for g in simplify(f).subformulas() if isinstance(
        g, s.Finally | s.Globally | s.Until | s.Release | s.WeakUntil | s.StrongRelease)]
    assert len(mu_nu) > MAX_FIXPOINT_SUBFORMULAS
    aut = translate(f, ATOMS)
    for prefix, cycle in MORE_WORDS[::2]:
        assert aut.accepts_lasso(prefix, cycle) == holds_on_lasso(f, prefix, cycle)


def test_limits_are_still_guarded() -> None:
    # one component that cannot be split: a nested formula with too many fixpoints
    deep = "a"
    for i in range(16):
        deep = f"(({deep}) U {ATOMS[i % 3]}) R {ATOMS[(i + 1) % 3]}"
    with pytest.raises(InvalidSpecificationError, match="fixpoint subformulas"):
        translate(deep, ATOMS)


@settings(max_examples=60, deadline=None)
@given(formulas(depth=4, constants=False), lassos())
def test_closed_guesses_keep_the_canonical_one(f: s.Formula, word: tuple) -> None:
    # The master theorem's proof uses X = {psi in mu : w |= G F psi} and
    # Y = {psi in nu : w |= F G psi}; the translator only tries closed guesses, so these
    # must always be among them.
    phi = simplify(f)
    mu, nu = _fixpoint_subformulas(phi)
    if len(mu) + len(nu) > 10:
        return
    prefix, cycle = word
    x = frozenset(m for m in mu if holds_on_lasso(s.Globally(s.Finally(m)), prefix, cycle))
    y = frozenset(n for n in nu if holds_on_lasso(s.Finally(s.Globally(n)), prefix, cycle))
    x_choices, y_choices, y_needs = _closed_choices(mu, nu)
    assert x in x_choices and y in y_choices and y_needs[y] <= x


def test_many_propositions_are_translated_per_part() -> None:
    # 15 fixpoint subformulas over 15 propositions (2**15 letters): each part is built over
    # its own proposition and only the product sees the whole alphabet.
    props = [f"p{i}" for i in range(15)]
    f = parse_formula(" & ".join(f"G F {p}" for p in props))
    aut = translate(f)
    assert aut.n_states == 1 and aut.n_sets == 15
    rng = np.random.default_rng(3)
    for _ in range(30):
        cycle = [frozenset(p for p in props if rng.random() < 0.8) for _ in range(3)]
        assert aut.accepts_lasso([], cycle) == holds_on_lasso(f, [], cycle)
    assert translate("G a", ["a", "b"]).successors.shape == (1, 4)  # no rejecting sink


def test_complement_of_the_negation_is_used_when_smaller() -> None:
    f = parse_formula("a R c R XX!b M a M (c R Xa) M XXa")
    direct = translate(f, ATOMS, complement=False)
    aut = translate(f, ATOMS)
    assert aut.n_states < direct.n_states
    for prefix, cycle in MORE_WORDS:
        expected = holds_on_lasso(f, prefix, cycle)
        assert aut.accepts_lasso(prefix, cycle) == expected
        assert direct.accepts_lasso(prefix, cycle) == expected


@pytest.mark.parametrize("seed", range(2))
def test_with_and_without_complements_agree(seed: int) -> None:
    for f in _bench_style_formulas(100 + seed, 30):
        plain = translate(f, ATOMS, complement=False)
        best = translate(f, ATOMS)
        for prefix, cycle in MORE_WORDS[::3]:
            assert best.accepts_lasso(prefix, cycle) == plain.accepts_lasso(prefix, cycle)


def test_acceptance_sets_of_a_large_conjunction_of_disjunctions() -> None:
    # sets() must not expand the condition into disjunctive normal form (2**40 terms here)
    from objspec.ltl.automaton import AcceptanceAnd, AcceptanceAtom, AcceptanceOr

    cond = AcceptanceAnd(tuple(
        AcceptanceOr((AcceptanceAtom(True, 2 * i), AcceptanceAtom(False, 2 * i + 1)))
        for i in range(40)
    ))
    assert cond.sets() == frozenset(range(80))


def test_the_automaton_does_not_depend_on_earlier_translations() -> None:
    """Atoms are interned process-wide; ties are broken by a canonical key, not by intern
    order, so two processes translating the same formulas in opposite orders agree."""
    import json
    import subprocess
    import sys

    formulas = ["G (a -> F b) & F G !c", "(b R (c | X a | X c)) M b",
                "X c M !X((a R X a) M !b & a)", "G(!G c & (a | F a)) R X b M b",
                "F G (c U ((!b R F X a W G b) M F c -> b))", "a U (b R (c W (a M b)))"]
    script = (
        "import json, sys\n"
        "from objspec.ltl.translation import translate\n"
        "fs = json.loads(sys.argv[1])\n"
        "print(json.dumps({f: [translate(f).n_states, translate(f).n_sets] for f in fs}))\n"
    )
    runs = [
        json.loads(subprocess.run([sys.executable, "-c", script, json.dumps(order)],
                                  capture_output=True, text=True, check=True).stdout)
        for order in (formulas, formulas[::-1])
    ]
    assert runs[0] == runs[1]


@st.composite
def fairness_formulas(draw: st.DrawFn, depth: int = 3) -> s.Formula:
    """A positive boolean combination of ``G F psi`` and ``F G psi`` (``psi``
    propositional over ``a, b, c``): the shape of Spot's ``gh-r``, ``sejk`` and ``ms-phi``
    families."""
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        psi = draw(st.recursive(
            st.sampled_from([s.Atom(x) for x in ATOMS]),
            lambda sub: st.builds(s.Not, sub) | st.builds(s.And, sub, sub)
            | st.builds(s.Or, sub, sub), max_leaves=3))
        if draw(st.booleans()):
            return s.Globally(s.Finally(psi))
        return s.Finally(s.Globally(psi))
    kind = draw(st.sampled_from([s.And, s.Or]))
    return kind(draw(fairness_formulas(depth - 1)), draw(fairness_formulas(depth - 1)))


@settings(max_examples=60, deadline=None)
@given(fairness_formulas())
def test_fairness_formulas_get_one_state_and_keep_their_language(f: s.Formula) -> None:
    """Boolean combinations of ``G F psi`` / ``F G psi`` are translated directly into one
    state with one acceptance set per ``psi`` (translation._fairness_automaton), which must
    accept exactly the models, like the master theorem's automaton."""
    from objspec.ltl.translation import _fairness_automaton

    phi = simplify(f)
    direct = translate(f, ATOMS)
    assert direct.n_states == 1
    whole = translate(f, ATOMS, decompose=False, complement=False)
    if isinstance(phi, s.And | s.Or):
        assert _fairness_automaton(phi, ATOMS) is not None
    for prefix, cycle in MORE_WORDS[::2]:
        expected = holds_on_lasso(f, prefix, cycle)
        assert direct.accepts_lasso(prefix, cycle) == expected, (str(f), prefix, cycle)
        assert whole.accepts_lasso(prefix, cycle) == expected


def test_fairness_automaton_shares_sets_and_refuses_other_shapes() -> None:
    from objspec.ltl.translation import _fairness_automaton

    phi = simplify(parse_formula("(G F a | F G !a) & (G F (b & c) | F G b)"))
    aut = _fairness_automaton(phi, ATOMS)
    assert aut is not None and aut.n_states == 1
    assert aut.n_sets <= 3  # G F a and F G !a share one set
    for text in ("G F a & F b", "G F (a & X b) | F G b", "G F a & G (a -> F b)"):
        assert _fairness_automaton(simplify(parse_formula(text)), ATOMS) is None


@settings(max_examples=300, deadline=None)
@given(st.recursive(
    st.builds(lambda inf, neg, i: f"{'Inf' if inf else 'Fin'}({'!' if neg else ''}{i})",
              st.booleans(), st.booleans(), st.integers(0, 2)) | st.sampled_from(["t", "f"]),
    lambda sub: st.builds(lambda xs, op: "(" + f" {op} ".join(xs) + ")",
                          st.lists(sub, min_size=2, max_size=3), st.sampled_from("&|")),
    max_leaves=12))
def test_condition_dnf_is_an_equivalent_minimal_normal_form(text: str) -> None:
    """acceptance.condition_dnf (bit sets) must hold exactly where the condition holds,
    for every set of transitions a run can take infinitely often (given by the sets some
    transition is in, ``union``, and those all are in, ``intersection``), with no term
    containing another; complemented atoms included (``Inf(!0) & Fin(0)`` can hold)."""
    from objspec.ltl.acceptance import condition_dnf

    cond = parse_acceptance(text)
    dnf = condition_dnf(cond, 4096)
    assert dnf is not None
    assert not any(a < b for a in dnf for b in dnf)
    for union in range(8):
        for intersection in range(8):
            if intersection & ~union:
                continue
            expected = cond.holds(union, intersection)
            got = any(all(a.holds(union, intersection) for a in term) for term in dnf)
            assert got == expected, (text, union, intersection, dnf)


@pytest.mark.parametrize("seed", range(30))
def test_dense_closure_graph_passes_agree_with_the_sparse_searches(seed: int) -> None:
    # the small-automaton graph passes (a dense transitive closure) against
    # objspec.mdp.graph's sparse searches: the same SCC partition and backward reach
    from objspec.ltl import operations
    from objspec.mdp.graph import adjacency, reachable, strongly_connected_components

    rng = np.random.default_rng(seed)
    n, letters = int(rng.integers(1, operations.SMALL_GRAPH_STATES + 1)), int(rng.integers(1, 5))
    succ = rng.integers(-1, n, size=(n, letters))
    src, dst, _ = operations._edges(succ)
    count, labels = operations._sccs(n, src, dst)
    want_count, want = strongly_connected_components(adjacency(n, src, dst))
    assert count == want_count and labels.min() >= 0 and labels.max() == count - 1
    assert ((labels[:, None] == labels[None, :]) == (want[:, None] == want[None, :])).all()
    roots = np.flatnonzero(rng.random(n) < 0.2)
    assert (operations._reaching(succ, roots)
            == reachable(adjacency(n, src, dst), roots, backward=True)).all()


@given(formulas(depth=4))
@settings(max_examples=60, deadline=None)
def test_translation_is_the_same_with_and_without_the_dense_graph_passes(
    phi: s.Formula,
) -> None:
    from objspec.ltl import clear_caches, operations

    atoms = sorted(phi.atoms())
    clear_caches()
    dense = translate(phi, atoms)
    saved = operations.SMALL_GRAPH_STATES
    operations.SMALL_GRAPH_STATES = 0
    try:
        clear_caches()
        sparse = translate(phi, atoms)
    finally:
        operations.SMALL_GRAPH_STATES = saved
        clear_caches()
    assert dense.initial == sparse.initial
    assert np.array_equal(dense.successors, sparse.successors)
    assert np.array_equal(dense.marks, sparse.marks)
    assert str(dense.acceptance) == str(sparse.acceptance)
