"""Formulas from untrusted text: the restricted grammar of objspec.expressions."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from objspec.errors import InvalidSpecificationError
from objspec.expressions import (
    MAX_DEPTH,
    MAX_LENGTH,
    ExpressionDomainError,
    ExpressionSyntaxError,
    distribution_function,
    parse,
    scalar_function,
    vector_function,
)

F = Fraction


@pytest.mark.parametrize(
    ("text", "x", "expected"),
    [
        ("-(x - 1/2)**2", F(1, 4), F(-1, 16)),
        ("-x**2", F(3), F(-9)),  # the power binds tighter than the sign, as in Python
        ("2**-1", F(0), F(1, 2)),
        ("2**3**2", F(0), F(512)),  # right-associative
        ("x - 1 - 1", F(5), F(3)),  # left-associative
        ("1/2/2", F(0), F(1, 4)),
        ("0.1 + x", F(0), F(1, 10)),  # decimals are read exactly
        ("1e-3 * x", F(2), F(1, 500)),
        ("sqrt(x)", F(9, 4), F(3, 2)),
        ("8**(2/3)", F(0), F(4)),
        ("exp(0) + log(1) + sin(0) + cos(0) + tanh(0)", F(7), F(2)),
        ("abs(x) + min(x, 1, 2) + max(x, 0)", F(-3), F(0)),
        ("+x", F(2), F(2)),
        ("((x))", F(2), F(2)),
    ],
)
def test_exact_values(text: str, x: Fraction, expected: Fraction) -> None:
    out = scalar_function(text)(x)
    assert isinstance(out, Fraction) and out == expected


def test_float_and_irrational_values() -> None:
    assert scalar_function("-(x - 0.5)**2")(0.75) == pytest.approx(-0.0625)
    assert scalar_function("sqrt(x)")(F(2)) == pytest.approx(2**0.5)
    assert scalar_function("log(x)")(np.float64(np.e)) == pytest.approx(1.0)
    assert scalar_function("exp(x) + tanh(x)")(np.int64(0)) == 1


def _poly() -> st.SearchStrategy[tuple[str, Fraction]]:
    """(text, value at x = 3/2) pairs of random arithmetic on x and small integers."""
    leaf = st.one_of(
        st.integers(0, 9).map(lambda n: (str(n), F(n))),
        st.just(("x", F(3, 2))),
    )

    def grow(children: st.SearchStrategy[tuple[str, Fraction]]
             ) -> st.SearchStrategy[tuple[str, Fraction]]:
        def combine(a: tuple[str, Fraction], op: str, b: tuple[str, Fraction]
                    ) -> tuple[str, Fraction]:
            value = {"+": a[1] + b[1], "-": a[1] - b[1], "*": a[1] * b[1]}[op]
            return f"({a[0]} {op} {b[0]})", value

        neg = children.map(lambda a: (f"-({a[0]})", -a[1]))
        square = children.map(lambda a: (f"({a[0]})**2", a[1] ** 2))
        return st.one_of(st.builds(combine, children, st.sampled_from("+-*"), children),
                         neg, square)

    return st.recursive(leaf, grow, max_leaves=12)


@given(_poly())
def test_random_arithmetic_is_exact(case: tuple[str, Fraction]) -> None:
    text, expected = case
    assert scalar_function(text)(F(3, 2)) == expected


INJECTIONS = [
    "__import__('pathlib').Path('SENTINEL').touch() or x",
    "__import__('os').system('touch SENTINEL') or x",
    "open('SENTINEL', 'w')",
    "exec(\"open('SENTINEL', 'w')\")",
    "eval('1')",
    "lambda: open('SENTINEL', 'w')",
    "(lambda: 1)()",
    "x.__class__",
    "x.__class__.__bases__",
    "().__class__",
    "__builtins__",
    "_x",
    "getattr(x, 'real')",
    "'abc'",
    '"abc"',
    "x[0]",
    "x if x else 1",
    "[y for y in ()]",
    "{}",
    "x; open('SENTINEL', 'w')",
    "x\nopen('SENTINEL', 'w')",
    "x @ x",
    "x % 2",
    "x // 2",
    "~x",
    "x == 1",
    "x ^ 2",
    "Symbol('y')",
    "S.Half",
    "pi",
    "E",
    "y",
    "f(x)",
    "x,",
    "",
    "   ",
    "1 2",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_anything_outside_the_grammar_is_refused_and_never_run(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ExpressionSyntaxError, match=r"^f: ") as info:
        scalar_function(text, where="f")(F(1))
    assert isinstance(info.value, InvalidSpecificationError)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "SENTINEL").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p[2]", r"p\[2\] is out of range: there are 2"),
        ("p[-1]", "expected an index 0..1"),
        ("p[x]", "expected an index 0..1"),
        ("p['a']", "unexpected character"),
        ("p[0:1]", "unexpected character ':'"),
        ("p[0][1]", r"unexpected '\['"),
        ("p", r"p needs an index, such as p\[0\]"),
        ("p[0].real", "unexpected character '.'"),
        ("x", "unknown name 'x'"),
    ],
)
def test_subscripts_other_than_p_i_are_refused(text: str, message: str) -> None:
    with pytest.raises(ExpressionSyntaxError, match=message):
        distribution_function(text, 2, where="regulariser")


def test_length_and_depth_are_bounded() -> None:
    with pytest.raises(ExpressionSyntaxError, match=f"at most {MAX_LENGTH}"):
        scalar_function("x+" * MAX_LENGTH + "x")
    for deep in ("(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1),
                 "-" * (MAX_DEPTH + 1) + "x",
                 "x**" * (MAX_DEPTH + 1) + "x",
                 "exp(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1),
                 "(" * 100_000):
        with pytest.raises(ExpressionSyntaxError, match="deeper than|characters"):
            scalar_function(deep)
    # long flat sums and products are fine (they are not nested)
    assert scalar_function("+".join(["x"] * 1000))(F(1)) == 1000
    assert scalar_function("(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH)(F(2)) == 2


def test_huge_numbers_fail_fast_instead_of_hanging() -> None:
    with pytest.raises(ExpressionSyntaxError, match="out of range"):
        scalar_function("1e999999999")
    for text in ("9**9**9**9", "10**10**10", "x**(10**9)"):
        with pytest.raises(ExpressionDomainError, match="too large"):
            scalar_function(text)(F(3, 2))


@pytest.mark.parametrize(
    ("text", "x", "message"),
    [
        ("1/x", F(0), r"f: 1/x is undefined at x = 0 \(division by zero in 1/x\)"),
        ("1/x", 0.0, r"f: 1/x is undefined at x = 0 "),
        ("x**-1", F(0), "undefined at x = 0"),
        ("sqrt(x)", F(-1), r"not real at x = -1 \(the square root of a negative number"),
        ("x**(1/2)", -1.0, "not real at x = -1"),
        ("x**0.5", F(-1, 4), "not real at x = -1/4"),
        ("log(x)", F(0), "undefined at x = 0"),
        ("1 + log(x - 1)", 0.5, r"undefined at x = 0.5 \(the logarithm .* in log\(x - 1\)\)"),
        ("exp(x)", 1000.0, "not finite at x = 1000"),
        ("x * 1e300 * 1e300", 1e10, "not finite at x = 10000000000"),
        ("x", float("nan"), "not finite at x = nan"),
    ],
)
def test_undefined_values_raise_naming_field_and_argument(text: str, x: object,
                                                         message: str) -> None:
    with pytest.raises(ExpressionDomainError, match=message) as info:
        scalar_function(text, where="f")(x)
    assert str(info.value).startswith("f: ")


def test_non_numbers_are_not_arguments() -> None:
    f = scalar_function("x + 1", where="f")
    for bad in ("1", True, None, 1j):
        with pytest.raises(ExpressionDomainError, match="needs real numbers"):
            f(bad)


def test_vector_and_distribution_functions() -> None:
    f = vector_function("min(x[0], v1) - x[1]", 2, where="f")
    assert f([F(1, 3), F(2)]) == F(-5, 3)
    assert f(np.array([0.5, 1.0])) == pytest.approx(-0.5)
    with pytest.raises(ExpressionDomainError, match="takes 2 values; got 3"):
        f([1, 2, 3])
    with pytest.raises(ExpressionSyntaxError, match=r"x\[2\] is out of range"):
        vector_function("x[2]", 2)
    with pytest.raises(ExpressionSyntaxError, match="unknown name 'v2'"):
        vector_function("v2", 2)
    F2 = distribution_function("p[0]*log(p[0])", 2, where="r")
    with pytest.raises(ExpressionDomainError, match=r"undefined at p = \[0, 1\]"):
        F2(np.array([0.0, 1.0]))
    assert F2(np.array([1.0, 0.0])) == 0


def test_parse_with_scalars_and_a_vector() -> None:
    e = parse("a * y[0] + y[1]", scalars=["a"], vector=("y", 2))
    assert e.evaluate([2, 3, 4]) == 10 and repr(e) == "a * y[0] + y[1]"
    with pytest.raises(ExpressionDomainError, match=r"at a = 1, y = \[0, 0\]"):
        parse("1 / (a * y[0])", scalars=["a"], vector=("y", 2)).evaluate([1, 0, 0])


def test_messages_are_one_line_and_short() -> None:
    text = "x + " * 200 + "'"
    with pytest.raises(ExpressionSyntaxError) as info:
        scalar_function(text, where="f")
    assert "\n" not in str(info.value) and len(str(info.value)) < 200
