"""Immutable abstract syntax trees of LTL formulas, with Spot and Storm printers.

A formula is a tree of frozen dataclasses, compared structurally. Every node stores its hash
and nesting depth when it is built (from its children's, in constant time), and equality,
printing and ``repr`` walk the tree with an explicit stack, so formulas of any depth (a
thousand nested ``X``, a conjunction of thousands of operands) are handled without Python
recursion. Operators follow Spot's vocabulary (``X F G U R W M`` and the boolean connectives).

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
    # Set by __post_init__ (object.__setattr__, the dataclasses are frozen).
    _hash: int
    _depth: int
    _size: int

    def __post_init__(self) -> None:
        # leaves; UnaryOperator and BinaryOperator have their own (written into __dict__:
        # the dataclasses are frozen)
        d = self.__dict__
        d["_hash"] = hash((type(self).__name__, self._leaf_key()))
        d["_depth"] = 1
        d["_size"] = 0

    def _leaf_key(self) -> object:
        return None

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        """Structural equality, by an explicit-stack walk (no recursion)."""
        if self is other:
            return True
        if not isinstance(other, Formula):
            return NotImplemented
        if type(self) is not type(other) or self._hash != other._hash:
            return False
        stack: list[tuple[Formula, Formula]] = [(self, other)]
        while stack:
            a, b = stack.pop()
            if a is b:
                continue
            if type(a) is not type(b) or a._hash != b._hash:
                return False
            kids_a, kids_b = a.children(), b.children()
            if not kids_a:
                if a._leaf_key() != b._leaf_key():
                    return False
                continue
            stack.extend(zip(kids_a, kids_b, strict=True))
        return True

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        # rebuilt through the constructor, which recomputes the (per-process) hash
        kids = self.children()
        return (type(self), kids if kids else (self._leaf_key(),))

    def depth(self) -> int:
        """Nesting depth: 1 for atoms and constants, 1 + the deepest operand otherwise.

        Examples
        --------
        >>> Next(Next(Atom("a"))).depth()
        3
        """
        return self._depth

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
        """Number of operators (nodes that are not atoms or constants), counted in the tree
        (a subformula occurring twice counts twice)."""
        return self._size

    def __str__(self) -> str:
        return self.to_spot()

    def __repr__(self) -> str:
        return _emit(self, "_repr_parts")

    def to_spot(self) -> str:
        """Spot syntax, with parentheses only where Spot's precedence needs them."""
        return _emit(self, "_spot_parts")

    def to_storm(self) -> str:
        """Storm/PRISM path-formula syntax.

        Every subformula is parenthesised (Storm's unary temporal operators bind loosely), and
        ``->``, ``<->``, ``xor``, ``R``, ``W``, ``M`` are rewritten into ``!``, ``&``, ``|``,
        ``X``, ``U``, ``F``, ``G``, which Storm's grammar accepts inside path formulas.
        """
        return _emit(self, "_storm_parts")

    # Printing: each node gives its text as a list of strings and child formulas, which
    # _emit expands with an explicit stack.
    def _spot_parts(self) -> list[str | Formula]:
        raise TypeError(f"{type(self).__name__} is abstract")

    def _storm_parts(self) -> list[str | Formula]:
        raise TypeError(f"{type(self).__name__} is abstract")

    def _repr_parts(self) -> list[str | Formula]:
        raise TypeError(f"{type(self).__name__} is abstract")

    # Operator overloading for building formulas in Python.
    def __and__(self, other: Formula) -> Formula:
        return And(self, other)

    def __or__(self, other: Formula) -> Formula:
        return Or(self, other)

    def __invert__(self) -> Formula:
        return Not(self)


def _emit(f: Formula, method: str) -> str:
    """Concatenate the parts ``getattr(node, method)()`` of every node, depth first."""
    out: list[str] = []
    stack: list[str | Formula] = [f]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        else:
            stack.extend(reversed(getattr(item, method)()))
    return "".join(out)


@dataclass(frozen=True, repr=False, eq=False)
class Constant(Formula):
    """``true`` or ``false``."""

    value: bool

    def _leaf_key(self) -> object:
        return self.value

    def _spot_parts(self) -> list[str | Formula]:
        return ["true" if self.value else "false"]

    def _storm_parts(self) -> list[str | Formula]:
        return ["(true)" if self.value else "(false)"]

    def _repr_parts(self) -> list[str | Formula]:
        return ["TRUE" if self.value else "FALSE"]


TRUE = Constant(True)
FALSE = Constant(False)


@dataclass(frozen=True, repr=False, eq=False)
class Atom(Formula):
    """An atomic proposition, true at a position whose letter contains ``name``."""

    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or '"' in self.name:
            raise TypeError(f"an atom name must be a non-empty string without '\"': {self.name!r}")
        super().__post_init__()

    def _leaf_key(self) -> object:
        return self.name

    def _spot_parts(self) -> list[str | Formula]:
        if _PLAIN_ATOM.match(self.name) and self.name not in _KEYWORDS:
            return [self.name]
        return [f'"{self.name}"']

    def _storm_parts(self) -> list[str | Formula]:
        return [f'("{self.name}")']

    def _repr_parts(self) -> list[str | Formula]:
        return [f"Atom({self.name!r})"]


@dataclass(frozen=True, repr=False, eq=False)
class UnaryOperator(Formula):
    """A unary operator applied to ``operand``."""

    operand: Formula
    symbol: ClassVar[str] = "?"
    temporal: ClassVar[bool] = False
    precedence: ClassVar[int] = 90

    def __post_init__(self) -> None:
        op = self.operand
        if not isinstance(op, Formula):
            raise TypeError(f"the operand of {type(self).__name__} must be a Formula; got {op!r}")
        d = self.__dict__
        d["_hash"] = hash((type(self).__name__, op._hash))
        d["_depth"] = op._depth + 1
        d["_size"] = op._size + 1

    def children(self) -> tuple[Formula, ...]:
        return (self.operand,)

    def _spot_parts(self) -> list[str | Formula]:
        if self.operand.precedence < self.precedence:
            return [self.symbol, "(", self.operand, ")"]
        return [self.symbol, self.operand]

    def _storm_parts(self) -> list[str | Formula]:
        return [f"({self.symbol} ", self.operand, ")"]

    def _repr_parts(self) -> list[str | Formula]:
        return [f"{type(self).__name__}(", self.operand, ")"]


@dataclass(frozen=True, repr=False, eq=False)
class BinaryOperator(Formula):
    """A binary operator ``left op right``."""

    left: Formula
    right: Formula
    symbol: ClassVar[str] = "?"
    temporal: ClassVar[bool] = False
    right_associative: ClassVar[bool] = False

    def __post_init__(self) -> None:
        left, right = self.left, self.right
        if not (isinstance(left, Formula) and isinstance(right, Formula)):
            bad = right if isinstance(left, Formula) else left
            raise TypeError(f"an operand of {type(self).__name__} must be a Formula; got {bad!r}")
        d = self.__dict__
        d["_hash"] = hash((type(self).__name__, left._hash, right._hash))
        d["_depth"] = max(left._depth, right._depth) + 1
        d["_size"] = left._size + right._size + 1

    def children(self) -> tuple[Formula, ...]:
        return (self.left, self.right)

    def _spot_parts(self) -> list[str | Formula]:
        lp, rp = self.left.precedence, self.right.precedence
        # Equal precedence: parenthesise the side that associativity does not cover.
        left: list[str | Formula] = [self.left]
        right: list[str | Formula] = [self.right]
        if lp < self.precedence or (lp == self.precedence and self.right_associative):
            left = ["(", self.left, ")"]
        if rp < self.precedence or (rp == self.precedence and not self.right_associative):
            right = ["(", self.right, ")"]
        return [*left, f" {self.symbol} ", *right]

    def _storm_parts(self) -> list[str | Formula]:
        return ["(", self.left, f" {self.symbol} ", self.right, ")"]

    def _repr_parts(self) -> list[str | Formula]:
        return [f"{type(self).__name__}(", self.left, ", ", self.right, ")"]


# Spot's precedence, loosest first: -> <->, |, xor, &, U R W M, F G, X, !.
@dataclass(frozen=True, repr=False, eq=False)
class Not(UnaryOperator):
    """Negation ``!p``."""

    symbol: ClassVar[str] = "!"
    precedence: ClassVar[int] = 90


@dataclass(frozen=True, repr=False, eq=False)
class Next(UnaryOperator):
    """``X p``: ``p`` holds at the next position."""

    symbol: ClassVar[str] = "X"
    temporal: ClassVar[bool] = True
    precedence: ClassVar[int] = 90


@dataclass(frozen=True, repr=False, eq=False)
class Finally(UnaryOperator):
    """``F p``: ``p`` holds at some position."""

    symbol: ClassVar[str] = "F"
    temporal: ClassVar[bool] = True
    precedence: ClassVar[int] = 90


@dataclass(frozen=True, repr=False, eq=False)
class Globally(UnaryOperator):
    """``G p``: ``p`` holds at every position."""

    symbol: ClassVar[str] = "G"
    temporal: ClassVar[bool] = True
    precedence: ClassVar[int] = 90


@dataclass(frozen=True, repr=False, eq=False)
class And(BinaryOperator):
    """Conjunction ``p & q``."""

    symbol: ClassVar[str] = "&"
    precedence: ClassVar[int] = 40


@dataclass(frozen=True, repr=False, eq=False)
class Or(BinaryOperator):
    """Disjunction ``p | q``."""

    symbol: ClassVar[str] = "|"
    precedence: ClassVar[int] = 20


@dataclass(frozen=True, repr=False, eq=False)
class Xor(BinaryOperator):
    """Exclusive or ``p xor q``."""

    symbol: ClassVar[str] = "xor"
    precedence: ClassVar[int] = 30

    def _storm_parts(self) -> list[str | Formula]:
        a, b = self.left, self.right
        return Or(And(a, Not(b)), And(Not(a), b))._storm_parts()


@dataclass(frozen=True, repr=False, eq=False)
class Implies(BinaryOperator):
    """Implication ``p -> q`` (right-associative, as in Spot)."""

    symbol: ClassVar[str] = "->"
    precedence: ClassVar[int] = 10
    right_associative: ClassVar[bool] = True

    def _storm_parts(self) -> list[str | Formula]:
        return Or(Not(self.left), self.right)._storm_parts()


@dataclass(frozen=True, repr=False, eq=False)
class Equivalent(BinaryOperator):
    """Equivalence ``p <-> q`` (right-associative, as in Spot)."""

    symbol: ClassVar[str] = "<->"
    precedence: ClassVar[int] = 10
    right_associative: ClassVar[bool] = True

    def _storm_parts(self) -> list[str | Formula]:
        a, b = self.left, self.right
        return Or(And(a, b), And(Not(a), Not(b)))._storm_parts()


@dataclass(frozen=True, repr=False, eq=False)
class Until(BinaryOperator):
    """Strong until ``p U q``."""

    symbol: ClassVar[str] = "U"
    temporal: ClassVar[bool] = True
    precedence: ClassVar[int] = 60
    right_associative: ClassVar[bool] = True


@dataclass(frozen=True, repr=False, eq=False)
class Release(BinaryOperator):
    """Weak release ``p R q = !(!p U !q)``."""

    symbol: ClassVar[str] = "R"
    temporal: ClassVar[bool] = True
    precedence: ClassVar[int] = 60
    right_associative: ClassVar[bool] = True

    def _storm_parts(self) -> list[str | Formula]:
        return Not(Until(Not(self.left), Not(self.right)))._storm_parts()


@dataclass(frozen=True, repr=False, eq=False)
class WeakUntil(BinaryOperator):
    """Weak until ``p W q = (p U q) | G p``."""

    symbol: ClassVar[str] = "W"
    temporal: ClassVar[bool] = True
    precedence: ClassVar[int] = 60
    right_associative: ClassVar[bool] = True

    def _storm_parts(self) -> list[str | Formula]:
        return Or(Until(self.left, self.right), Globally(self.left))._storm_parts()


@dataclass(frozen=True, repr=False, eq=False)
class StrongRelease(BinaryOperator):
    """Strong release ``p M q = q U (p & q)``."""

    symbol: ClassVar[str] = "M"
    temporal: ClassVar[bool] = True
    precedence: ClassVar[int] = 60
    right_associative: ClassVar[bool] = True

    def _storm_parts(self) -> list[str | Formula]:
        return Until(self.right, And(self.left, self.right))._storm_parts()
