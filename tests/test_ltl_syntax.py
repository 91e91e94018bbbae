"""LTL syntax: parser (Spot precedence, errors with positions), printers, simplification."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ltl_reference import holds_on_lasso
from ltl_strategies import formulas, lassos

from objspec.errors import InvalidSpecificationError, LTLSyntaxError
from objspec.ltl import syntax as s
from objspec.ltl.parser import check_propositions, parse_formula, parse_guard
from objspec.ltl.simplify import negation_normal_form, simplify

a, b, c = s.Atom("a"), s.Atom("b"), s.Atom("c")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a U b U c", s.Until(a, s.Until(b, c))),  # right-associative
        ("a -> b -> c", s.Implies(a, s.Implies(b, c))),
        ("a <-> b -> c", s.Equivalent(a, s.Implies(b, c))),
        ("a | b & c", s.Or(a, s.And(b, c))),
        ("a & b | c", s.Or(s.And(a, b), c)),
        ("a xor b | c", s.Or(s.Xor(a, b), c)),  # xor binds tighter than |
        ("a xor b & c", s.Xor(a, s.And(b, c))),  # & binds tighter than xor
        ("a & b U c", s.And(a, s.Until(b, c))),  # U binds tighter than &
        ("F a U b", s.Until(s.Finally(a), b)),  # prefix operators bind tightest
        ("!a U b", s.Until(s.Not(a), b)),
        ("X a R b W c M a", s.Release(s.Next(a), s.WeakUntil(b, s.StrongRelease(c, a)))),
        ("GFa", s.Globally(s.Finally(a))),
        ("G(a -> F b)", s.Globally(s.Implies(a, s.Finally(b)))),
        ("true U false", s.Until(s.TRUE, s.FALSE)),
        ("1 | 0", s.Or(s.TRUE, s.FALSE)),
        ('"x y" & trueish', s.And(s.Atom("x y"), s.Atom("trueish"))),
        ("[]<> a && b || ~c", s.Or(s.And(s.Globally(s.Finally(a)), b), s.Not(c))),
        ("a => b <=> c", s.Implies(a, s.Equivalent(b, c))),
        ("a & b & c", s.And(s.And(a, b), c)),  # left-associative
    ],
)
def test_spot_precedence(text: str, expected: s.Formula) -> None:
    assert parse_formula(text) == expected


@pytest.mark.parametrize(
    ("text", "position"),
    [("a &", 3), ("a b", 2), ("(a | b", 6), ("a $ b", 2), ("a U U b", 4), ("xor", 0), ("", 0),
     ("G (a -> ) ", 8)],
)
def test_syntax_errors_give_the_position(text: str, position: int) -> None:
    with pytest.raises(LTLSyntaxError) as info:
        parse_formula(text)
    assert info.value.position == position
    assert info.value.text == text
    assert f"position {position}" in str(info.value)


@given(formulas())
def test_spot_printer_round_trips(f: s.Formula) -> None:
    assert parse_formula(str(f)) == f


@given(formulas(depth=3))
def test_formulas_are_hashable_values(f: s.Formula) -> None:
    g = parse_formula(str(f))
    assert g == f and hash(g) == hash(f)
    with pytest.raises(AttributeError):
        f.value = 1  # type: ignore[attr-defined]


def test_storm_printer_parenthesises_and_avoids_implications() -> None:
    text = parse_formula("G (a -> F b) & (a W b) & (a R b) & (a M b) & (a xor b) & (a <-> b)")
    storm = text.to_storm()
    for token in ("->", "<->", " W ", " R ", " M ", "xor"):
        assert token not in storm
    assert storm.count("(") == storm.count(")")
    assert parse_formula("F a").to_storm() == '(F ("a"))'


@given(formulas(), lassos())
def test_negation_normal_form_and_simplify_keep_semantics(f: s.Formula, word: tuple) -> None:
    prefix, cycle = word
    expected = holds_on_lasso(f, prefix, cycle)
    assert holds_on_lasso(negation_normal_form(f), prefix, cycle) == expected
    assert holds_on_lasso(negation_normal_form(f, negate=True), prefix, cycle) != expected
    assert holds_on_lasso(simplify(f), prefix, cycle) == expected


@given(formulas())
def test_negation_normal_form_has_negation_only_on_atoms(f: s.Formula) -> None:
    for sub in simplify(f).subformulas():
        assert not isinstance(sub, s.Implies | s.Equivalent | s.Xor)
        if isinstance(sub, s.Not):
            assert isinstance(sub.operand, s.Atom)


def test_simplification_rules() -> None:
    assert simplify(parse_formula("F F a")) == parse_formula("F a")
    assert simplify(parse_formula("F G F a")) == parse_formula("G F a")
    assert simplify(parse_formula("a U true")) == s.TRUE
    assert simplify(parse_formula("false R a")) == parse_formula("G a")
    assert simplify(parse_formula("a W false")) == parse_formula("G a")
    assert simplify(parse_formula("a M true")) == parse_formula("F a")
    assert simplify(parse_formula("a & !a")) == s.FALSE


def test_unknown_proposition_is_named() -> None:
    with pytest.raises(InvalidSpecificationError, match="'gaol'"):
        check_propositions(parse_formula("F gaol & G goal"), ["goal"], "the formula")


def test_guards() -> None:
    assert parse_guard("a & !b | True") == s.Or(s.And(a, s.Not(b)), s.TRUE)
    assert parse_guard('"True" | False') == s.Or(s.Atom("True"), s.FALSE)
    with pytest.raises(LTLSyntaxError) as info:
        parse_guard("a & X b")
    assert info.value.position == 4
    with pytest.raises(InvalidSpecificationError):
        parse_guard(3)  # type: ignore[arg-type]


@given(st.text(alphabet="ab&|!()UXFG ", max_size=12))
def test_parser_never_crashes_on_junk(text: str) -> None:
    try:
        parse_formula(text)
    except LTLSyntaxError as exc:
        assert 0 <= exc.position <= len(text)
