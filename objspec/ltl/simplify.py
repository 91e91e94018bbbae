"""Negation normal form and language-preserving simplification of LTL formulas.

:func:`negation_normal_form` pushes negations to the atoms and removes ``->``, ``<->`` and
``xor`` (using the dualities ``!X p = X !p``, ``!(p U q) = !p R !q``, ``!(p W q) = !p M !q``).
:func:`simplify` then applies equivalences such as ``p U true = true``, ``false R q = G q``,
``F F p = F p``, ``F G F p = G F p`` until nothing changes. Every rule is an LTL
equivalence, so the language is unchanged; the tests check this against Storm.

Examples
--------
>>> from objspec.ltl.parser import parse_formula
>>> from objspec.ltl.simplify import simplify
>>> str(simplify(parse_formula("!(a U b) | (true U F F c)")))
'!a R !b | Fc'
"""

from __future__ import annotations

from objspec.ltl import syntax as s

__all__ = [
    "negation_normal_form",
    "simplify",
    "make_and",
    "make_or",
    "make_next",
    "make_finally",
    "make_globally",
    "make_until",
    "make_release",
    "make_weak_until",
    "make_strong_release",
    "is_literal",
]


def is_literal(f: s.Formula) -> bool:
    """Whether ``f`` is an atom or a negated atom."""
    return isinstance(f, s.Atom) or (isinstance(f, s.Not) and isinstance(f.operand, s.Atom))


def _complementary(a: s.Formula, b: s.Formula) -> bool:
    return (isinstance(a, s.Not) and a.operand == b) or (isinstance(b, s.Not) and b.operand == a)


def make_and(a: s.Formula, b: s.Formula) -> s.Formula:
    """``a & b`` with constants folded."""
    if a == s.FALSE or b == s.FALSE:
        return s.FALSE
    if a == s.TRUE:
        return b
    if b == s.TRUE or a == b:
        return a
    if is_literal(a) and is_literal(b) and _complementary(a, b):
        return s.FALSE
    return s.And(a, b)


def make_or(a: s.Formula, b: s.Formula) -> s.Formula:
    """``a | b`` with constants folded."""
    if a == s.TRUE or b == s.TRUE:
        return s.TRUE
    if a == s.FALSE:
        return b
    if b == s.FALSE or a == b:
        return a
    if is_literal(a) and is_literal(b) and _complementary(a, b):
        return s.TRUE
    return s.Or(a, b)


def make_next(a: s.Formula) -> s.Formula:
    """``X a``; ``X`` of a constant is that constant."""
    return a if isinstance(a, s.Constant) else s.Next(a)


def make_finally(a: s.Formula) -> s.Formula:
    """``F a`` with ``F F a = F a``, ``F G F a = G F a`` and ``F (p U q) = F q``."""
    if isinstance(a, s.Constant | s.Finally):
        return a
    if isinstance(a, s.Globally) and isinstance(a.operand, s.Finally):
        return a
    if isinstance(a, s.Until):
        return make_finally(a.right)
    return s.Finally(a)


def make_globally(a: s.Formula) -> s.Formula:
    """``G a`` with ``G G a = G a``, ``G F G a = F G a`` and ``G (p R q) = G q``."""
    if isinstance(a, s.Constant | s.Globally):
        return a
    if isinstance(a, s.Finally) and isinstance(a.operand, s.Globally):
        return a
    if isinstance(a, s.Release):
        return make_globally(a.right)
    return s.Globally(a)


def make_until(a: s.Formula, b: s.Formula) -> s.Formula:
    """``a U b`` with constants folded."""
    if isinstance(b, s.Constant) or a == s.FALSE or a == b:
        return b
    if a == s.TRUE:
        return make_finally(b)
    return s.Until(a, b)


def make_release(a: s.Formula, b: s.Formula) -> s.Formula:
    """``a R b`` with constants folded."""
    if isinstance(b, s.Constant) or a == s.TRUE or a == b:
        return b
    if a == s.FALSE:
        return make_globally(b)
    return s.Release(a, b)


def make_weak_until(a: s.Formula, b: s.Formula) -> s.Formula:
    """``a W b`` with constants folded."""
    if b == s.TRUE or a == s.TRUE:
        return s.TRUE
    if b == s.FALSE:
        return make_globally(a)
    if a == s.FALSE or a == b:
        return b
    return s.WeakUntil(a, b)


def make_strong_release(a: s.Formula, b: s.Formula) -> s.Formula:
    """``a M b`` with constants folded."""
    if b == s.FALSE or a == s.FALSE:
        return s.FALSE
    if b == s.TRUE:
        return make_finally(a)
    if a == s.TRUE or a == b:
        return b
    return s.StrongRelease(a, b)


def negation_normal_form(f: s.Formula, negate: bool = False) -> s.Formula:
    """An equivalent formula (of ``!f`` if ``negate``) with negation only on atoms.

    The result uses only constants, literals, ``& | X F G U R W M``.

    Examples
    --------
    >>> from objspec.ltl.parser import parse_formula
    >>> str(negation_normal_form(parse_formula("!(a W (b -> X c))")))
    '!a M (b & X!c)'
    """
    n = negation_normal_form
    if isinstance(f, s.Constant):
        return s.Constant(f.value != negate)
    if isinstance(f, s.Atom):
        return s.Not(f) if negate else f
    if isinstance(f, s.Not):
        return n(f.operand, not negate)
    if isinstance(f, s.And | s.Or):
        left, right = n(f.left, negate), n(f.right, negate)
        conj = isinstance(f, s.And) != negate
        return make_and(left, right) if conj else make_or(left, right)
    if isinstance(f, s.Implies):
        if negate:
            return make_and(n(f.left), n(f.right, True))
        return make_or(n(f.left, True), n(f.right))
    if isinstance(f, s.Equivalent | s.Xor):
        same = isinstance(f, s.Equivalent) != negate
        a, na, b, nb = n(f.left), n(f.left, True), n(f.right), n(f.right, True)
        if same:
            return make_or(make_and(a, b), make_and(na, nb))
        return make_or(make_and(a, nb), make_and(na, b))
    if isinstance(f, s.Next):
        return make_next(n(f.operand, negate))
    if isinstance(f, s.Finally):
        inner = n(f.operand, negate)
        return make_globally(inner) if negate else make_finally(inner)
    if isinstance(f, s.Globally):
        inner = n(f.operand, negate)
        return make_finally(inner) if negate else make_globally(inner)
    if isinstance(f, s.BinaryOperator):
        left, right = n(f.left, negate), n(f.right, negate)
        if isinstance(f, s.Until):
            return make_release(left, right) if negate else make_until(left, right)
        if isinstance(f, s.Release):
            return make_until(left, right) if negate else make_release(left, right)
        if isinstance(f, s.WeakUntil):
            return make_strong_release(left, right) if negate else make_weak_until(left, right)
        if isinstance(f, s.StrongRelease):
            return make_weak_until(left, right) if negate else make_strong_release(left, right)
    raise TypeError(f"not an LTL formula: {f!r}")


def _rebuild(f: s.Formula) -> s.Formula:
    if isinstance(f, s.Constant | s.Atom) or is_literal(f):
        return f
    if isinstance(f, s.And):
        return make_and(_rebuild(f.left), _rebuild(f.right))
    if isinstance(f, s.Or):
        return make_or(_rebuild(f.left), _rebuild(f.right))
    if isinstance(f, s.Next):
        return make_next(_rebuild(f.operand))
    if isinstance(f, s.Finally):
        return make_finally(_rebuild(f.operand))
    if isinstance(f, s.Globally):
        return make_globally(_rebuild(f.operand))
    if isinstance(f, s.Until):
        return make_until(_rebuild(f.left), _rebuild(f.right))
    if isinstance(f, s.Release):
        return make_release(_rebuild(f.left), _rebuild(f.right))
    if isinstance(f, s.WeakUntil):
        return make_weak_until(_rebuild(f.left), _rebuild(f.right))
    if isinstance(f, s.StrongRelease):
        return make_strong_release(_rebuild(f.left), _rebuild(f.right))
    raise TypeError(f"not a formula in negation normal form: {f!r}")


def simplify(f: s.Formula) -> s.Formula:
    """Negation normal form followed by equivalence rewriting to a fixpoint.

    Examples
    --------
    >>> from objspec.ltl.parser import parse_formula
    >>> str(simplify(parse_formula("G G (false R a) & (a M true)")))
    'Ga & Fa'
    """
    current = negation_normal_form(f)
    while True:
        nxt = _rebuild(current)
        if nxt == current:
            return current
        current = nxt
