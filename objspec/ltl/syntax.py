"""Immutable abstract syntax trees of LTL formulas, with Spot and Storm printers.

A formula is a tree of frozen dataclasses: structural equality, hashing and immutability come
for free. Operators follow Spot's vocabulary (``X F G U R W M`` and the boolean connectives).

Semantics (infinite words ``w = w_0 w_1 ...`` over ``2^AP``, ``w_i`` the suffix from ``i``):
``a`` holds iff ``a in w_0``; ``X p`` iff ``w_1 |= p``; ``p U q`` iff some ``j`` has
``w_j |= q`` and ``w_i |= p`` for all ``i < j``; ``F p = true U p``; ``G p = !F !p``;
``p R q = !(!p U !q)``; ``p W q = (p U q) | G p``; ``p M q = q U (p & q)``.

Examples
--------
>>> from objspec.ltl.syntax import Atom, Until, Globally
>>> f = Globally(Until(Atom("a"), Atom("b")))
>>> f == Globally(Until(Atom("a"), Atom("b"))), str(f)
(True, 'G(a U b)')
>>> f.to_storm()
'(G (("a") U ("b")))'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

__all__ = [
    "Formula",
    "Constant",
    "Atom",
    "Not",
    "And",
    "Or",
    "Implies",
    "Equivalent",
    "Xor",
    "Next",
    "Finally",
    "Globally",
    "Until",
    "Release",
    "WeakUntil",
    "StrongRelease",
    "TRUE",
    "FALSE",
    "UnaryOperator",
    "BinaryOperator",
]

_PLAIN_ATOM = re.compile(r"[a-z_][a-zA-Z0-9_]*\Z")
_KEYWORDS = frozenset({"true", "false", "xor"})


class Formula:
    """Base class of LTL formulas (immutable, hashable, structurally compared).

    Subclasses are frozen dataclasses. ``str(f)`` prints Spot syntax with the fewest
    parentheses Spot's precedence allows; :meth:`to_storm` prints Storm's syntax.
    """

    #: Binding strength for the Spot printer: higher binds tighter.
    precedence: ClassVar[int] = 100

    def children(self) -> tuple[Formula, ...]:
        """The direct subformulas."""
        return ()

    def atoms(self) -> frozenset[str]:
        """The atomic propositions occurring in the formula."""
        out: set[str] = set()
        stack: list[Formula] = [self]
        while stack:
            f = stack.pop()
            if isinstance(f, Atom):
                out.add(f.name)
            stack.extend(f.children())
        return frozenset(out)

    def subformulas(self) -> frozenset[Formula]:
        """Every subformula, the formula itself included."""
        out: set[Formula] = set()
        stack: list[Formula] = [self]
        while stack:
            f = stack.pop()
            if f not in out:
                out.add(f)
                stack.extend(f.children())
        return frozenset(out)

    @property
    def is_temporal(self) -> bool:
        """Whether any temporal operator occurs in the formula."""
        return any(isinstance(f, UnaryOperator | BinaryOperator) and f.temporal
                   for f in self.subformulas())

    def size(self) -> int:
        """Number of operators (nodes that are not atoms or constants)."""
        return sum(1 for f in _walk(self) if f.children())

    def __str__(self) -> str:
        return self.to_spot()

    def to_spot(self) -> str:
        """Spot syntax, with parentheses only where Spot's precedence needs them."""
        raise TypeError(f"{type(self).__name__} is abstract")

    def to_storm(self) -> str:
        """Storm/PRISM path-formula syntax.

        Every subformula is parenthesised (Storm's unary temporal operators bind loosely), and
        ``->``, ``<->``, ``xor``, ``R``, ``W``, ``M`` are rewritten into ``!``, ``&``, ``|``,
        ``X``, ``U``, ``F``, ``G``, which Storm's grammar accepts inside path formulas.
        """
        raise TypeError(f"{type(self).__name__} is abstract")

    # Operator overloading for building formulas in Python.
    def __and__(self, other: Formula) -> Formula:
        return And(self, other)

    def __or__(self, other: Formula) -> Formula:
        return Or(self, other)

    def __invert__(self) -> Formula:
        return Not(self)


def _walk(f: Formula) -> list[Formula]:
    out: list[Formula] = []
    stack = [f]
    while stack:
        g = stack.pop()
        out.append(g)
        stack.extend(g.children())
    return out


@dataclass(frozen=True, repr=False)
class Constant(Formula):
    """``true`` or ``false``."""

    value: bool

    def to_spot(self) -> str:
        return "true" if self.value else "false"

    def to_storm(self) -> str:
        return "(true)" if self.value else "(false)"

    def __repr__(self) -> str:
        return "TRUE" if self.value else "FALSE"


TRUE = Constant(True)
FALSE = Constant(False)


@dataclass(frozen=True, repr=False)
class Atom(Formula):
    """An atomic proposition, true at a position whose letter contains ``name``."""

    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or '"' in self.name:
            raise TypeError(f"an atom name must be a non-empty string without '\"': {self.name!r}")

    def to_spot(self) -> str:
        if _PLAIN_ATOM.match(self.name) and self.name not in _KEYWORDS:
            return self.name
        return f'"{self.name}"'

    def to_storm(self) -> str:
        return f'("{self.name}")'

    def __repr__(self) -> str:
        return f"Atom({self.name!r})"


@dataclass(frozen=True, repr=False)
class UnaryOperator(Formula):
    """A unary operator applied to ``operand``."""

    operand: Formula
    symbol: ClassVar[str] = "?"
    temporal: ClassVar[bool] = False
    precedence: ClassVar[int] = 90

    def children(self) -> tuple[Formula, ...]:
        return (self.operand,)

    def to_spot(self) -> str:
        inner = self.operand.to_spot()
        if self.operand.precedence < self.precedence:
            inner = f"({inner})"
        sep = "" if self.symbol == "!" else ""
        return f"{self.symbol}{sep}{inner}"

    def to_storm(self) -> str:
        return f"({self.symbol} {self.operand.to_storm()})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.operand!r})"


@dataclass(frozen=True, repr=False)
class BinaryOperator(Formula):
    """A binary operator ``left op right``."""

    left: Formula
    right: Formula
    symbol: ClassVar[str] = "?"
    temporal: ClassVar[bool] = False
    right_associative: ClassVar[bool] = False

    def children(self) -> tuple[Formula, ...]:
        return (self.left, self.right)

    def to_spot(self) -> str:
        left, right = self.left.to_spot(), self.right.to_spot()
        lp, rp = self.left.precedence, self.right.precedence
        # Equal precedence: parenthesise the side that associativity does not cover.
        if lp < self.precedence or (lp == self.precedence and self.right_associative):
            left = f"({left})"
        if rp < self.precedence or (rp == self.precedence and not self.right_associative):
            right = f"({right})"
        return f"{left} {self.symbol} {right}"

    def to_storm(self) -> str:
        return f"({self.left.to_storm()} {self.symbol} {self.right.to_storm()})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.left!r}, {self.right!r})"


# Spot's precedence, loosest first: -> <->, |, xor, &, U R W M, F G, X, !.
@dataclass(frozen=True, repr=False)
class Not(UnaryOperator):
    """Negation ``!p``."""

    symbol: ClassVar[str] = "!"
    precedence: ClassVar[int] = 90


@dataclass(frozen=True, repr=False)
class Next(UnaryOperator):
    """``X p``: ``p`` holds at the next position."""

    symbol: ClassVar[str] = "X"
    temporal: ClassVar[bool] = True
    precedence: ClassVar[int] = 90


@dataclass(frozen=True, repr=False)
class Finally(UnaryOperator):
    """``F p``: ``p`` holds at some position."""

    symbol: ClassVar[str] = "F"
    temporal: ClassVar[bool] = True
    precedence: ClassVar[int] = 90


@dataclass(frozen=True, repr=False)
class Globally(UnaryOperator):
    """``G p``: ``p`` holds at every position."""

    symbol: ClassVar[str] = "G"
    temporal: ClassVar[bool] = True
    precedence: ClassVar[int] = 90


@dataclass(frozen=True, repr=False)
class And(BinaryOperator):
    """Conjunction ``p & q``."""

    symbol: ClassVar[str] = "&"
    precedence: ClassVar[int] = 40


@dataclass(frozen=True, repr=False)
class Or(BinaryOperator):
    """Disjunction ``p | q``."""

    symbol: ClassVar[str] = "|"
    precedence: ClassVar[int] = 20


@dataclass(frozen=True, repr=False)
class Xor(BinaryOperator):
    """Exclusive or ``p xor q``."""

    symbol: ClassVar[str] = "xor"
    precedence: ClassVar[int] = 30

    def to_storm(self) -> str:
        a, b = self.left, self.right
        return Or(And(a, Not(b)), And(Not(a), b)).to_storm()


@dataclass(frozen=True, repr=False)
class Implies(BinaryOperator):
    """Implication ``p -> q`` (right-associative, as in Spot)."""

    symbol: ClassVar[str] = "->"
    precedence: ClassVar[int] = 10
    right_associative: ClassVar[bool] = True

    def to_storm(self) -> str:
        return Or(Not(self.left), self.right).to_storm()


@dataclass(frozen=True, repr=False)
class Equivalent(BinaryOperator):
    """Equivalence ``p <-> q`` (right-associative, as in Spot)."""

    symbol: ClassVar[str] = "<->"
    precedence: ClassVar[int] = 10
    right_associative: ClassVar[bool] = True

    def to_storm(self) -> str:
        a, b = self.left, self.right
        return Or(And(a, b), And(Not(a), Not(b))).to_storm()


@dataclass(frozen=True, repr=False)
class Until(BinaryOperator):
    """Strong until ``p U q``."""

    symbol: ClassVar[str] = "U"
    temporal: ClassVar[bool] = True
    precedence: ClassVar[int] = 60
    right_associative: ClassVar[bool] = True


@dataclass(frozen=True, repr=False)
class Release(BinaryOperator):
    """Weak release ``p R q = !(!p U !q)``."""

    symbol: ClassVar[str] = "R"
    temporal: ClassVar[bool] = True
    precedence: ClassVar[int] = 60
    right_associative: ClassVar[bool] = True

    def to_storm(self) -> str:
        return Not(Until(Not(self.left), Not(self.right))).to_storm()


@dataclass(frozen=True, repr=False)
class WeakUntil(BinaryOperator):
    """Weak until ``p W q = (p U q) | G p``."""

    symbol: ClassVar[str] = "W"
    temporal: ClassVar[bool] = True
    precedence: ClassVar[int] = 60
    right_associative: ClassVar[bool] = True

    def to_storm(self) -> str:
        return Or(Until(self.left, self.right), Globally(self.left)).to_storm()


@dataclass(frozen=True, repr=False)
class StrongRelease(BinaryOperator):
    """Strong release ``p M q = q U (p & q)``."""

    symbol: ClassVar[str] = "M"
    temporal: ClassVar[bool] = True
    precedence: ClassVar[int] = 60
    right_associative: ClassVar[bool] = True

    def to_storm(self) -> str:
        return Until(self.right, And(self.left, self.right)).to_storm()
