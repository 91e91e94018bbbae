"""Arithmetic formulas from untrusted text, parsed by a restricted grammar and never evaluated.

The ``objspec evaluate`` file format writes user functions as formulas: the ``f`` of ONMR
and INMR (a function of the return ``x``), the ``f`` of OMORL (a function of the vector of
expected returns ``x[0], x[1], ...``) and an RRL regulariser (a function of the action
distribution ``p[0], p[1], ...``). This module reads such formulas without ``eval``,
``sympify`` or any other evaluation of the text: a hand-written recursive-descent parser
accepts only this grammar and builds a small syntax tree, which is then computed in
exact rationals (:class:`fractions.Fraction`) or floats::

    expression := term (("+" | "-") term)*
    term       := unary (("*" | "/") unary)*
    unary      := ("+" | "-") unary | power
    power      := atom ("**" unary)?                   (right-associative, as in Python)
    atom       := number | name | name "[" digits "]" | function "(" arguments ")"
                | "(" expression ")"
    function   := exp | log | sqrt | abs | min | max | sin | cos | tanh

Numbers are decimal literals (``2``, ``0.1``, ``1e-3``) read as exact rationals (``0.1``
is ``1/10``). Names are only the variables a caller allows; anything else (attributes,
strings, lambdas, underscores, other subscripts, ``^``) is an :class:`ExpressionSyntaxError`
naming the position. Input longer than :data:`MAX_LENGTH` characters or nested deeper
than :data:`MAX_DEPTH` levels is refused, so parsing and computing are bounded.

Evaluation is exact when every argument is rational: ``+ - * /``, integer powers, ``abs``,
``min``, ``max`` and the exact cases of the other functions (``sqrt`` of a perfect square,
``exp(0)``, ``log(1)``, ...) give Fractions; the rest is computed in floats. A result (or
an intermediate value) that is undefined (division by zero, ``log`` of a non-positive
number), not real (``sqrt(-1)``, ``(-1)**(1/2)``) or not finite (overflow) raises an
:class:`ExpressionDomainError` naming the field, the subexpression and the argument
values; objspec never returns NaN for it.

Examples
--------
>>> from fractions import Fraction
>>> f = scalar_function("-(x - 1/2)**2", where="f")
>>> f(Fraction(1, 4)), f(0.75)
(Fraction(-1, 16), -0.0625)
>>> F = distribution_function("p[0]**2 + p[1]**2", 2, where="regulariser")
>>> F([Fraction(1, 2), Fraction(1, 2)])
Fraction(1, 2)
>>> scalar_function("1/x", where="f")(0)
Traceback (most recent call last):
...
objspec.expressions.ExpressionDomainError: f: 1/x is undefined at x = 0 (division by zero in 1/x)
>>> scalar_function("__import__('os')", where="f")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
objspec.expressions.ExpressionSyntaxError: f: names starting with '_' are not allowed ...
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from objspec.errors import InvalidSpecificationError

__all__ = [
    "ExpressionError",
    "ExpressionSyntaxError",
    "ExpressionDomainError",
    "Expression",
    "FUNCTIONS",
    "MAX_LENGTH",
    "MAX_DEPTH",
    "parse",
    "scalar_function",
    "vector_function",
    "distribution_function",
]

#: Longest accepted formula, in characters.
MAX_LENGTH = 4000
#: Deepest accepted nesting (parentheses, signs, powers and function calls).
MAX_DEPTH = 64
#: Largest exact power computed, in bits of the result (beyond it: an error, not a hang).
MAX_EXACT_BITS = 200_000
#: Largest decimal exponent accepted in a number literal (``1e300``).
MAX_LITERAL_EXPONENT = 400


class ExpressionError(InvalidSpecificationError):
    """A formula could not be read, or could not be computed at the given arguments."""


class ExpressionSyntaxError(ExpressionError):
    """A formula is not in the restricted grammar (or too long, too deep, out of range)."""


class ExpressionDomainError(ExpressionError):
    """A formula is undefined, not real or not finite at the given arguments."""


Number = Fraction | float


@dataclass(frozen=True)
class _Num:
    value: Fraction
    span: tuple[int, int]
    as_float: float | None = None  # the value as a float, when it is one exactly or finite


@dataclass(frozen=True)
class _Var:
    slot: int
    span: tuple[int, int]


@dataclass(frozen=True)
class _Neg:
    operand: _Node
    span: tuple[int, int]


@dataclass(frozen=True)
class _Chain:
    """``first (op operand)*`` with ``op`` in ``+ -`` (a sum) or ``* /`` (a product)."""

    first: _Node
    rest: tuple[tuple[str, _Node], ...]
    span: tuple[int, int]


@dataclass(frozen=True)
class _Pow:
    base: _Node
    exponent: _Node
    span: tuple[int, int]


@dataclass(frozen=True)
class _Call:
    name: str
    args: tuple[_Node, ...]
    span: tuple[int, int]


_Node = _Num | _Var | _Neg | _Chain | _Pow | _Call


class _Undefined(Exception):
    """Internal: a subexpression has no real finite value (message: the reason)."""

    def __init__(self, problem: str, reason: str, span: tuple[int, int]) -> None:
        super().__init__(reason)
        self.problem = problem
        self.reason = reason
        self.span = span


# ---------------------------------------------------------------------- exact helpers
def _iroot(n: int, k: int) -> int | None:
    """The integer ``k``-th root of ``n >= 0`` if ``n`` is a perfect ``k``-th power."""
    if n < 2:
        return n
    if n.bit_length() > 4096:
        return None
    lo, hi = 0, 1 << (n.bit_length() // k + 1)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if mid**k <= n:
            lo = mid
        else:
            hi = mid - 1
    return lo if lo**k == n else None


def _power(base: Number, exp: Number, span: tuple[int, int]) -> Number:
    if isinstance(base, Fraction) and isinstance(exp, Fraction):
        if exp.denominator == 1:
            n = exp.numerator
            if base == 0 and n < 0:
                raise _Undefined("undefined", "division by zero", span)
            if abs(base) not in (0, 1):
                bits = max(base.numerator.bit_length(), base.denominator.bit_length())
                if bits * abs(n) > MAX_EXACT_BITS:
                    raise _Undefined("not finite", "the exact power is too large", span)
            return base**n
        if base < 0:
            raise _Undefined("not real", "a negative number to a fractional power", span)
        if base == 0:
            if exp < 0:
                raise _Undefined("undefined", "division by zero", span)
            return Fraction(0)
        q = exp.denominator
        if q <= 64:
            num, den = _iroot(base.numerator, q), _iroot(base.denominator, q)
            if num is not None and den is not None:
                return _power(Fraction(num, den), Fraction(exp.numerator), span)
        return _float_power(float(base), float(exp), span)
    return _float_power(float(base), float(exp), span)


def _float_power(base: float, exp: float, span: tuple[int, int]) -> float:
    if base < 0 and not float(exp).is_integer():
        raise _Undefined("not real", "a negative number to a fractional power", span)
    if base == 0 and exp < 0:
        raise _Undefined("undefined", "division by zero", span)
    try:
        out = base**exp
    except OverflowError:
        raise _Undefined("not finite", "overflow", span) from None
    return out


def _exact_or(value: Number, exact: dict[Fraction, Fraction], fn: Callable[[float], float],
              name: str, span: tuple[int, int]) -> Number:
    if isinstance(value, Fraction) and value in exact:
        return exact[value]
    try:
        return fn(float(value))
    except OverflowError:
        raise _Undefined("not finite", f"overflow in {name}", span) from None
    except ValueError:
        raise _Undefined("undefined", f"{name} outside its domain", span) from None


def _sqrt(args: list[Number], span: tuple[int, int]) -> Number:
    (a,) = args
    if a < 0:
        raise _Undefined("not real", "the square root of a negative number", span)
    if isinstance(a, Fraction):
        return _power(a, Fraction(1, 2), span)
    return math.sqrt(a)


def _log(args: list[Number], span: tuple[int, int]) -> Number:
    (a,) = args
    if a <= 0:
        raise _Undefined("undefined", "the logarithm of a non-positive number", span)
    if isinstance(a, Fraction):
        if a == 1:
            return Fraction(0)
        return math.log(a.numerator) - math.log(a.denominator)  # exact for huge integers
    return math.log(a)


def _unary(exact: dict[Fraction, Fraction], fn: Callable[[float], float],
           name: str) -> Callable[[list[Number], tuple[int, int]], Number]:
    def apply(args: list[Number], span: tuple[int, int]) -> Number:
        return _exact_or(args[0], exact, fn, name, span)

    return apply


_ZERO, _ONE = Fraction(0), Fraction(1)

#: The whitelisted functions: name -> (minimum, maximum number of arguments).
FUNCTIONS: dict[str, tuple[int, int]] = {
    "exp": (1, 1), "log": (1, 1), "sqrt": (1, 1), "abs": (1, 1), "min": (1, 64),
    "max": (1, 64), "sin": (1, 1), "cos": (1, 1), "tanh": (1, 1),
}

_IMPLEMENTATIONS: dict[str, Callable[[list[Number], tuple[int, int]], Number]] = {
    "exp": _unary({_ZERO: _ONE}, math.exp, "exp"),
    "log": _log,
    "sqrt": _sqrt,
    "abs": lambda args, span: -args[0] if args[0] < 0 else args[0],
    "min": lambda args, span: min(args),
    "max": lambda args, span: max(args),
    "sin": _unary({_ZERO: _ZERO}, math.sin, "sin"),
    "cos": _unary({_ZERO: _ONE}, math.cos, "cos"),
    "tanh": _unary({_ZERO: _ZERO}, math.tanh, "tanh"),
}


# ---------------------------------------------------------------------- tokens
_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>\*\*|[-+*/(),\[\]])""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "name", "op", "end"
    text: str
    pos: int


def _tokens(text: str) -> list[_Token]:
    """The tokens of ``text``; an unknown character ends the list as a ``"bad"`` token."""
    out: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            out.append(_Token("bad", text[pos], pos))
            return out
        kind = m.lastgroup or ""
        if kind != "space":
            out.append(_Token(kind, m.group(), pos))
        pos = m.end()
    out.append(_Token("end", "", len(text)))
    return out


# ---------------------------------------------------------------------- parser
class _Parser:
    def __init__(self, text: str, scalars: dict[str, int],
                 vectors: dict[str, tuple[int, int]], where: str) -> None:
        self.text = text
        self.scalars = scalars
        self.vectors = vectors
        self.where = where
        self.tokens = _tokens(text)
        self.i = 0
        self.depth = 0

    def error(self, message: str, pos: int) -> ExpressionSyntaxError:
        return ExpressionSyntaxError(
            f"{self.where}: {message} (position {pos} in {_quote(self.text)})")

    @property
    def tok(self) -> _Token:
        tok = self.tokens[self.i]
        if tok.kind == "bad":
            hint = "; write powers as **" if tok.text == "^" else ""
            raise self.error(f"unexpected character {tok.text!r}{hint}", tok.pos)
        return tok

    def take(self, text: str) -> bool:
        if self.tok.kind == "op" and self.tok.text == text:
            self.i += 1
            return True
        return False

    def expect(self, text: str, context: str) -> _Token:
        tok = self.tok
        if not self.take(text):
            found = f"{tok.text!r}" if tok.kind != "end" else "the end"
            raise self.error(f"expected {text!r} {context}, found {found}", tok.pos)
        return tok

    def enter(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nested deeper than {MAX_DEPTH} levels", pos)

    def parse(self) -> _Node:
        node = self.expression()
        if self.tok.kind != "end":
            raise self.error(f"unexpected {self.tok.text!r}", self.tok.pos)
        return node

    def _chain(self, ops: tuple[str, str], operand: Callable[[], _Node]) -> _Node:
        start = self.tok.pos
        first = operand()
        rest: list[tuple[str, _Node]] = []
        while self.tok.kind == "op" and self.tok.text in ops:
            op = self.tok.text
            self.i += 1
            rest.append((op, operand()))
        if not rest:
            return first
        return _Chain(first, tuple(rest), (start, _end(rest[-1][1])))

    def expression(self) -> _Node:
        return self._chain(("+", "-"), self.term)

    def term(self) -> _Node:
        return self._chain(("*", "/"), self.unary)

    def unary(self) -> _Node:
        tok = self.tok
        if tok.kind == "op" and tok.text in ("+", "-"):
            self.i += 1
            self.enter(tok.pos)
            operand = self.unary()
            self.depth -= 1
            if tok.text == "+":
                return operand
            return _Neg(operand, (tok.pos, _end(operand)))
        return self.power()

    def power(self) -> _Node:
        base = self.atom()
        tok = self.tok
        if self.take("**"):
            self.enter(tok.pos)
            exponent = self.unary()
            self.depth -= 1
            return _Pow(base, exponent, (base.span[0], _end(exponent)))
        return base

    def atom(self) -> _Node:
        tok = self.tok
        if tok.kind == "number":
            self.i += 1
            value = self.number(tok)
            try:
                as_float: float | None = float(value)
            except OverflowError:
                as_float = None
            return _Num(value, (tok.pos, tok.pos + len(tok.text)), as_float)
        if tok.kind == "name":
            self.i += 1
            return self.named(tok)
        if self.take("("):
            self.enter(tok.pos)
            inner = self.expression()
            close = self.expect(")", f"to close the '(' at position {tok.pos}")
            self.depth -= 1
            return _with_span(inner, (tok.pos, close.pos + 1))
        found = f"{tok.text!r}" if tok.kind != "end" else "the end"
        raise self.error(f"expected a number, a variable or '(', found {found}", tok.pos)

    def number(self, tok: _Token) -> Fraction:
        m = re.search(r"[eE]([+-]?\d+)$", tok.text)
        if m and abs(int(m.group(1))) > MAX_LITERAL_EXPONENT:
            raise self.error(f"the number {tok.text} is out of range", tok.pos)
        return Fraction(tok.text)

    def named(self, tok: _Token) -> _Node:
        name = tok.text
        if name.startswith("_"):
            raise self.error("names starting with '_' are not allowed", tok.pos)
        if name in FUNCTIONS:
            return self.call(tok)
        if name in self.vectors:
            size, offset = self.vectors[name]
            if self.tok.kind == "op" and self.tok.text == "[":
                self.i += 1
                idx = self.tok
                if idx.kind != "number" or not idx.text.isdigit():
                    found = f"{idx.text!r}" if idx.kind != "end" else "the end"
                    raise self.error(f"expected an index 0..{size - 1} after '{name}[', "
                                     f"found {found}", idx.pos)
                self.i += 1
                close = self.expect("]", f"after the index of {name}")
                k = int(idx.text)
                if k >= size:
                    raise self.error(
                        f"{name}[{k}] is out of range: there are {size} ({name}[0].."
                        f"{name}[{size - 1}])", tok.pos)
                return _Var(offset + k, (tok.pos, close.pos + 1))
            raise self.error(f"{name} needs an index, such as {name}[0]", tok.pos)
        if name in self.scalars:
            if self.tok.kind == "op" and self.tok.text in ("[", "("):
                raise self.error(f"{name} is a number: it takes no {self.tok.text!r}",
                                 self.tok.pos)
            return _Var(self.scalars[name], (tok.pos, tok.pos + len(name)))
        allowed = sorted(self.scalars) + [f"{v}[i]" for v in sorted(self.vectors)]
        raise self.error(
            f"unknown name {name!r}; allowed: variables {', '.join(allowed) or 'none'} and "
            f"functions {', '.join(FUNCTIONS)}", tok.pos)

    def call(self, tok: _Token) -> _Node:
        name = tok.text
        self.expect("(", f"after the function {name}")
        self.enter(tok.pos)
        args = [self.expression()]
        while self.take(","):
            args.append(self.expression())
        close = self.expect(")", f"to close the call of {name}")
        self.depth -= 1
        lo, hi = FUNCTIONS[name]
        if not lo <= len(args) <= hi:
            count = f"{lo}" if lo == hi else f"{lo} to {hi}"
            raise self.error(f"{name} takes {count} argument{'s' if hi > 1 else ''}, got "
                             f"{len(args)}", tok.pos)
        return _Call(name, tuple(args), (tok.pos, close.pos + 1))


def _short(text: str, limit: int = 80) -> str:
    """``text`` on one line, shortened past ``limit`` characters (for messages)."""
    return " ".join((text if len(text) <= limit else text[: limit - 3] + "...").split())


def _quote(text: str) -> str:
    """``text`` in double quotes for a one-line message, shortened."""
    short = _short(text)
    return f'"{short}"' if '"' not in short else repr(short)


def _end(node: _Node) -> int:
    return node.span[1]


def _with_span(node: _Node, span: tuple[int, int]) -> _Node:
    return dataclasses.replace(node, span=span)


# ---------------------------------------------------------------------- evaluation
def _check(value: Number, span: tuple[int, int]) -> Number:
    if isinstance(value, complex):
        raise _Undefined("not real", "a complex result", span)
    if isinstance(value, float) and not math.isfinite(value):
        raise _Undefined("not finite", f"the value {value}", span)
    return value


def _evaluate(node: _Node, args: Sequence[Number], floats: bool) -> Number:
    """The value of ``node``; with ``floats`` (all arguments floats) constants are floats."""
    if isinstance(node, _Num):
        if floats and node.as_float is not None:
            return node.as_float
        return node.value
    if isinstance(node, _Var):
        return args[node.slot]
    if isinstance(node, _Neg):
        return -_evaluate(node.operand, args, floats)
    if isinstance(node, _Chain):
        acc = _evaluate(node.first, args, floats)
        for op, operand in node.rest:
            value = _evaluate(operand, args, floats)
            try:
                if op == "+":
                    acc = acc + value
                elif op == "-":
                    acc = acc - value
                elif op == "*":
                    acc = acc * value
                else:
                    acc = acc / value
            except ZeroDivisionError:
                raise _Undefined("undefined", "division by zero", node.span) from None
            except OverflowError:
                raise _Undefined("not finite", "overflow", node.span) from None
            acc = _check(acc, node.span)
        return acc
    if isinstance(node, _Pow):
        base = _evaluate(node.base, args, floats)
        exponent = _evaluate(node.exponent, args, floats)
        return _check(_power(base, exponent, node.span), node.span)
    values = [_evaluate(a, args, floats) for a in node.args]
    return _check(_IMPLEMENTATIONS[node.name](values, node.span), node.span)


def _argument(value: Any) -> Number:
    """A real argument as a Fraction (rationals) or a float; raises TypeError otherwise."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, Fraction):
        return value
    if isinstance(value, numbers.Integral):
        return Fraction(int(value))
    if isinstance(value, numbers.Rational):
        return Fraction(int(value.numerator), int(value.denominator))
    if isinstance(value, numbers.Real):
        return float(value)
    if hasattr(value, "is_Rational") and value.is_Rational:  # a sympy Rational
        return Fraction(int(value.p), int(value.q))
    raise TypeError


def _show(value: Number) -> str:
    return str(value) if isinstance(value, Fraction) else f"{value:.12g}"


class Expression:
    """A parsed formula: call it with its arguments (see :func:`parse`).

    Parameters
    ----------
    text : str
        The formula as written.
    tree : object
        Its syntax tree (internal).
    n_args : int
        The number of argument slots.
    where : str
        The field the formula came from, for messages.
    show : callable
        Formats the argument values for a message, e.g. ``"x = 0"``.
    """

    def __init__(self, text: str, tree: _Node, n_args: int, where: str,
                 show: Callable[[Sequence[Number]], str]) -> None:
        self.text = text
        self._tree = tree
        self.n_args = n_args
        self.where = where
        self._show = show

    def evaluate(self, args: Sequence[Any]) -> Number:
        """The value at ``args`` (one real per slot): a Fraction when exact, else a float.

        Raises
        ------
        ExpressionDomainError
            When the formula (or a part of it) is undefined, not real or not finite there,
            or an argument is not a finite real number.
        """
        try:
            values = [_argument(v) for v in args]
        except TypeError:
            raise ExpressionDomainError(
                f"{self.where}: {_short(self.text)} needs real numbers; got {list(args)!r}"
            ) from None
        if len(values) != self.n_args:
            raise ExpressionDomainError(
                f"{self.where}: {_short(self.text)} takes {self.n_args} values; got "
                f"{len(values)}")
        bad = [v for v in values if isinstance(v, float) and not math.isfinite(v)]
        if bad:
            raise ExpressionDomainError(
                f"{self.where}: {_short(self.text)} is not finite at {self._show(values)}")
        try:
            floats = bool(values) and all(isinstance(v, float) for v in values)
            return _evaluate(self._tree, values, floats)
        except _Undefined as exc:
            part = self.text[exc.span[0]:exc.span[1]]
            raise ExpressionDomainError(
                f"{self.where}: {_short(self.text)} is {exc.problem} at {self._show(values)} "
                f"({exc.reason} in {_short(part)})"
            ) from None

    def __repr__(self) -> str:
        return self.text


def parse(text: Any, *, scalars: Sequence[str] = (), vector: tuple[str, int] | None = None,
          where: str = "expression") -> Expression:
    """Parse ``text`` in the restricted grammar (module docstring); nothing is evaluated.

    Parameters
    ----------
    text : str
        The formula.
    scalars : sequence of str
        Names of scalar variables: the ``i``-th name is argument ``i``.
    vector : (str, int), optional
        An indexed variable and its length: ``("p", 3)`` allows ``p[0]..p[2]``, which are
        the arguments after the scalars.
    where : str
        The field's name in error messages.

    Returns
    -------
    Expression
        Call :meth:`Expression.evaluate` with the arguments in that order.

    Raises
    ------
    ExpressionSyntaxError
        If ``text`` is not a string, is empty, too long, too deep, not in the grammar, or
        uses another name or an index out of range.

    Examples
    --------
    >>> parse("max(x, 0) + y[1]", scalars=["x"], vector=("y", 2)).evaluate([-3, 5, 7])
    Fraction(7, 1)
    >>> parse("x.__class__", scalars=["x"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    objspec.expressions.ExpressionSyntaxError: expression: unexpected character '.' (position 1 ...)
    """
    names = list(scalars)
    vectors = {} if vector is None else {vector[0]: (vector[1], len(names))}

    def show(values: Sequence[Number]) -> str:
        parts = [f"{n} = {_show(v)}" for n, v in zip(names, values, strict=False)]
        if vector is not None:
            rest = values[len(names):]
            parts.append(f"{vector[0]} = [{', '.join(_show(v) for v in rest)}]")
        return ", ".join(parts)

    n_args = len(names) + (0 if vector is None else vector[1])
    return _parse(text, {n: i for i, n in enumerate(names)}, vectors, where, n_args, show)


def _parse(text: Any, scalars: dict[str, int], vectors: dict[str, tuple[int, int]],
           where: str, n_args: int, show: Callable[[Sequence[Number]], str]) -> Expression:
    if not isinstance(text, str):
        raise ExpressionSyntaxError(f"{where}: expected a formula string, got {text!r}")
    if len(text) > MAX_LENGTH:
        raise ExpressionSyntaxError(
            f"{where}: the formula has {len(text)} characters; at most {MAX_LENGTH} are read")
    if not text.strip():
        raise ExpressionSyntaxError(f"{where}: the formula is empty")
    tree = _Parser(text, scalars, vectors, where).parse()
    return Expression(text, tree, n_args, where, show)


def scalar_function(text: Any, *, where: str = "f", name: str = "x") -> Callable[[Any], Number]:
    """``f(x)`` from a formula in one variable ``name`` (ONMR and INMR's ``f``).

    Examples
    --------
    >>> scalar_function("sqrt(x) + exp(0)")(Fraction(9, 4))
    Fraction(5, 2)
    >>> scalar_function("log(x)", where="spec.f")(0.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    objspec.expressions.ExpressionDomainError: spec.f: log(x) is undefined at x = 0 (the ...)
    """
    return _ScalarFunction(parse(text, scalars=[name], where=where))


class _ScalarFunction:
    def __init__(self, expr: Expression) -> None:
        self.expression = expr

    def __call__(self, x: Any) -> Number:
        return self.expression.evaluate([x])

    def __repr__(self) -> str:
        return self.expression.text


class _VectorFunction:
    def __init__(self, expr: Expression) -> None:
        self.expression = expr

    def __call__(self, vector: Any) -> Number:
        values = list(np.asarray(vector, dtype=object).ravel()) if not isinstance(
            vector, list | tuple) else list(vector)
        return self.expression.evaluate(values)

    def __repr__(self) -> str:
        return self.expression.text


def vector_function(text: Any, k: int, *, where: str = "f", name: str = "x",
                    aliases: str | None = "v") -> Callable[[Any], Number]:
    """``f(v)`` of a length-``k`` vector, written with ``x[0]..x[k-1]`` (OMORL's ``f``).

    With ``aliases="v"`` the components may also be written ``v0, v1, ...``.

    Examples
    --------
    >>> f = vector_function("min(x[0], v1)", 2)
    >>> f([Fraction(1, 3), 2])
    Fraction(1, 3)
    """
    scalars = {f"{aliases}{i}": i for i in range(k)} if aliases else {}

    def show(values: Sequence[Number]) -> str:
        return f"{name} = [{', '.join(_show(v) for v in values)}]"

    return _VectorFunction(_parse(text, scalars, {name: (k, 0)}, where, k, show))


def distribution_function(text: Any, n_actions: int, *, where: str = "regulariser",
                          name: str = "p") -> Callable[[Any], Number]:
    """``F(p)`` of an action distribution written with ``p[0]..p[A-1]`` (an RRL regulariser).

    Examples
    --------
    >>> F = distribution_function("p[0] * p[1]", 2)
    >>> F([0.25, 0.75])
    0.1875
    """
    return vector_function(text, n_actions, where=where, name=name, aliases=None)
