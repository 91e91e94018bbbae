"""Negation normal form and language-preserving simplification of LTL formulas.

:func:`negation_normal_form` pushes negations to the atoms and removes ``->``, ``<->`` and
``xor`` (using the dualities ``!X p = X !p``, ``!(p U q) = !p R !q``, ``!(p W q) = !p M !q``).
:func:`simplify` then applies equivalences until nothing changes: constant folding
(``p U true = true``, ``false R q = G q``), the rules of Babiak, Křetínský, Řehák and Strejček
("LTL to Büchi automata translation: fast and more deterministic", TACAS 2012) and of Spot's
simplifier (``F F p = F p``, ``F X p = X F p``, ``F (p U q) = F q``, ``G (p W q) = G (p | q)``,
``X`` pulled out of ``U R W M & |``, ...), and rules for the syntactic classes of eventual
formulas (``e = F e``), universal ones (``u = G u``) and suspendable ones (both, such as
``G F p``), e.g. ``p U e = e``, ``e M p = e & p``, ``p M u = u & F p``, ``X s = s``,
``F (p & s) = F p & s`` (Etessami & Holzmann, CONCUR 2000; Somenzi & Bloem, CAV 2000).
Each smart constructor (:func:`make_finally`, :func:`make_strong_release`, ...) documents its
rules. Every rule is an LTL equivalence, so the language is unchanged; the tests check each
rule on lasso words and the whole simplifier against the formula semantics and Storm.

Examples
--------
>>> from objspec.ltl.parser import parse_formula
>>> from objspec.ltl.simplify import simplify
>>> str(simplify(parse_formula("!(a U b) | (true U F F c)")))
'!a R !b | Fc'
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

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
    "is_eventual",
    "is_universal",
    "is_suspendable",
    "operands",
]


def is_literal(f: s.Formula) -> bool:
    """Whether ``f`` is an atom or a negated atom."""
    return isinstance(f, s.Atom) or (isinstance(f, s.Not) and isinstance(f.operand, s.Atom))


@lru_cache(maxsize=200_000)
def is_eventual(f: s.Formula) -> bool:
    """Whether ``f`` is syntactically a pure eventuality, so that ``f = F f``.

    Such a formula is closed under adding a prefix: if ``w |= f`` then ``u w |= f``. The
    classes (Etessami & Holzmann 2000; Babiak et al., TACAS 2012; Spot's ``is_eventual``):
    constants, ``F p``; ``G e``, ``X e``, ``e & e'``, ``e | e'``; ``p U e`` (``= e``),
    ``p M e`` (``= F (p & e)``) and ``p R e`` (``e`` holds wherever ``p R e`` is required
    to, so every earlier position satisfies it too).
    """
    if isinstance(f, s.Constant | s.Finally):
        return True
    if isinstance(f, s.Globally | s.Next):
        return is_eventual(f.operand)
    if isinstance(f, s.And | s.Or):
        return is_eventual(f.left) and is_eventual(f.right)
    if isinstance(f, s.Until | s.StrongRelease | s.Release):
        return is_eventual(f.right)
    return False


@lru_cache(maxsize=200_000)
def is_universal(f: s.Formula) -> bool:
    """Whether ``f`` is syntactically a pure universality, so that ``f = G f``.

    Such a formula is closed under taking suffixes. Dual of :func:`is_eventual`: constants,
    ``G p``; ``F u``, ``X u``, ``u & u'``, ``u | u'``; ``p R u``, ``p W u`` and ``p U u``.
    """
    if isinstance(f, s.Constant | s.Globally):
        return True
    if isinstance(f, s.Finally | s.Next):
        return is_universal(f.operand)
    if isinstance(f, s.And | s.Or):
        return is_universal(f.left) and is_universal(f.right)
    if isinstance(f, s.Release | s.WeakUntil | s.Until):
        return is_universal(f.right)
    return False


def is_suspendable(f: s.Formula) -> bool:
    """Whether ``f`` is both eventual and universal (e.g. ``G F p``, ``F G p``).

    Its truth does not depend on any finite prefix: ``f = X f = F f = G f``.
    """
    return is_eventual(f) and is_universal(f)


def _complementary(a: s.Formula, b: s.Formula) -> bool:
    return (isinstance(a, s.Not) and a.operand == b) or (isinstance(b, s.Not) and b.operand == a)


def _clash(g: s.Formula, h: s.Formula, conj: bool) -> bool:
    """Whether ``g & h`` is unsatisfiable (``conj``), or ``g | h`` valid, syntactically.

    ``l & !l``, ``G l & !l``, ``G l & F !l`` (``G l`` implies ``l`` and ``G l = !F !l``)
    for literals ``l``, and dually ``l | !l``, ``F l | !l``, ``F l | G !l``.
    """
    box, dia = (s.Globally, s.Finally) if conj else (s.Finally, s.Globally)
    for x, y in ((g, h), (h, g)):
        if isinstance(x, box):
            inner = x.operand
            other = y.operand if isinstance(y, dia) else y
            if is_literal(inner) and is_literal(other) and _complementary(inner, other):
                return True
    return is_literal(g) and is_literal(h) and _complementary(g, h)


def operands(f: s.Formula, kind: type) -> list[s.Formula]:
    """The operands of a (nested) ``And`` or ``Or`` (``kind``), left to right.

    Examples
    --------
    >>> from objspec.ltl.parser import parse_formula
    >>> [str(g) for g in operands(parse_formula("a & (F b & c)"), s.And)]
    ['a', 'Fb', 'c']
    """
    out: list[s.Formula] = []
    stack = [f]
    while stack:
        g = stack.pop()
        if isinstance(g, kind):
            stack.append(g.right)  # type: ignore[attr-defined]
            stack.append(g.left)  # type: ignore[attr-defined]
        else:
            out.append(g)
    return out


def _merge_pair(a: s.Formula, b: s.Formula, conj: bool) -> s.Formula | None:
    """``a & b`` (``conj``) or ``a | b`` as one formula when a distribution rule applies.

    ``X p & X q = X (p & q)``, ``G p & G q = G (p & q)``, ``F G p & F G q = F G (p & q)``,
    and dually ``X p | X q = X (p | q)``, ``F p | F q = F (p | q)``,
    ``G F p | G F q = G F (p | q)``. The ``G``/``F`` rules apply only when ``p`` and ``q``
    have no fixpoint operators: ``G (a -> F b) & G (b -> F c)`` stays a conjunction, whose
    operands the translator builds separately (see :mod:`objspec.ltl.translation`), and
    ``G`` of a conjunction with eventual or universal operands would be split again by
    :func:`make_globally`.
    """
    if isinstance(a, s.Next) and isinstance(b, s.Next):
        return make_next(_junction(a.operand, b.operand, conj))
    box, twice = (s.Globally, s.Finally) if conj else (s.Finally, s.Globally)
    if isinstance(a, twice) and isinstance(b, twice):
        if isinstance(a.operand, box) and isinstance(b.operand, box):
            p, q = a.operand.operand, b.operand.operand
            if not (_finite(p) and _finite(q)):
                return None
            inner = _junction(p, q, conj)
            return make_finally(make_globally(inner)) if conj else make_globally(
                make_finally(inner))
        return None
    if isinstance(a, box) and isinstance(b, box):
        p, q = a.operand, b.operand
        if not (_finite(p) and _finite(q)):
            return None
        inner = _junction(p, q, conj)
        return make_globally(inner) if conj else make_finally(inner)
    return None


@lru_cache(maxsize=200_000)
def _finite(f: s.Formula) -> bool:
    """Whether ``f`` has no fixpoint operator (only constants, literals, ``& | X``)."""
    if isinstance(f, s.Constant | s.Atom | s.Not):
        return True
    if isinstance(f, s.Next):
        return _finite(f.operand)
    if isinstance(f, s.And | s.Or):
        return _finite(f.left) and _finite(f.right)
    return False


def _pulled(f: s.Formula) -> bool:
    """Whether :func:`make_globally` / :func:`make_finally` pull ``f`` out of ``G``/``F``."""
    return is_eventual(f) or is_universal(f)


def _absorbed(g: s.Formula, others: list[s.Formula], conj: bool) -> bool:
    """Whether ``g`` is redundant beside one of ``others`` in a conjunction (``conj``) or
    disjunction: ``p & F p = p``, ``G p & p = G p`` and ``p | F p = F p``, ``G p | p = p``
    (``G p`` implies ``p``, which implies ``F p``)."""
    for h in others:
        weaker, stronger = (g, h) if conj else (h, g)
        # weaker is implied by stronger: weaker = F stronger, or stronger = G weaker
        if isinstance(weaker, s.Finally) and weaker.operand == stronger:
            return True
        if isinstance(stronger, s.Globally) and stronger.operand == weaker:
            return True
    return False


def _junction(a: s.Formula, b: s.Formula, conj: bool) -> s.Formula:
    """``a & b`` (``conj``) or ``a | b``, flattened and simplified.

    Equivalences (and their duals): ``p & p = p``, ``false`` for the clashes of
    :func:`_clash` (``l & !l``, ``G l & F !l``, ... for literals ``l``),
    ``false & p = false``, ``true & p = p``, and the distribution rules of
    :func:`_merge_pair` (``G``, ``F G``, ``X`` distribute over ``&``; ``F``, ``G F``, ``X``
    over ``|``).
    """
    kind: type = s.And if conj else s.Or
    zero, unit = (s.FALSE, s.TRUE) if conj else (s.TRUE, s.FALSE)
    if a == zero or b == zero:
        return zero
    if a == unit:
        return b
    if b == unit or a == b:
        return a
    if not isinstance(a, kind) and not isinstance(b, kind):
        if _clash(a, b, conj):
            return zero
        if is_literal(a) and is_literal(b):
            return kind(a, b)
        if _absorbed(a, [b], conj):
            return b
        if _absorbed(b, [a], conj):
            return a
        merged = _merge_pair(a, b, conj)
        return kind(a, b) if merged is None else merged
    items: list[s.Formula] = []
    for g in operands(a, kind) + operands(b, kind):
        if g in items or g == unit:
            continue
        if g == zero:
            return zero
        if any(_clash(g, h, conj) for h in items):
            return zero
        if _absorbed(g, items, conj):
            continue
        items = [h for h in items if not _absorbed(h, [g], conj)]
        for i, h in enumerate(items):
            combined = _merge_pair(h, g, conj)
            if combined is not None and not isinstance(combined, kind):
                if combined == zero:
                    return zero
                items[i] = combined
                break
        else:
            items.append(g)
    items = [g for g in items if g != unit]
    if not items:
        return unit
    out = items[0]
    for g in items[1:]:
        out = kind(out, g)
    return out


def make_and(a: s.Formula, b: s.Formula) -> s.Formula:
    """``a & b`` with constants folded and the rules of :func:`_junction`."""
    return _junction(a, b, True)


def make_or(a: s.Formula, b: s.Formula) -> s.Formula:
    """``a | b`` with constants folded and the rules of :func:`_junction`."""
    return _junction(a, b, False)


def make_next(a: s.Formula) -> s.Formula:
    """``X a``; ``X c = c`` for constants and ``X s = s`` for suspendable ``s``."""
    if isinstance(a, s.Constant) or is_suspendable(a):
        return a
    return s.Next(a)


def make_finally(a: s.Formula) -> s.Formula:
    """``F a``, simplified by these equivalences.

    ``F e = e`` for eventual ``e`` (so ``F F p = F p``, ``F G F p = G F p``);
    ``F (p U q) = F q``; ``F (p M q) = F (p & q)`` (as ``p M q = q U (p & q)``);
    ``F X p = X F p``; ``F (p & s) = F p & s`` for suspendable ``s``; ``F (p | q) = F p | F q``
    when ``q`` is eventual (``F q = q``) or universal (``F q`` is then suspendable)
    (Babiak et al., TACAS 2012, and Spot's simplifier).
    """
    if is_eventual(a):
        return a
    if isinstance(a, s.Until):
        return make_finally(a.right)
    if isinstance(a, s.StrongRelease):
        return make_finally(make_and(a.left, a.right))
    if isinstance(a, s.Next):
        return make_next(make_finally(a.operand))
    if isinstance(a, s.And | s.Or):
        # F (p | q) = F p | F q always; F (p & s) = F p & s only for suspendable s.
        pulled = _pull_out(a, is_suspendable if isinstance(a, s.And) else _pulled,
                           make_finally)
        if pulled is not None:
            return pulled
    return s.Finally(a)


def make_globally(a: s.Formula) -> s.Formula:
    """``G a``, simplified by the duals of :func:`make_finally`'s equivalences.

    ``G u = u`` for universal ``u`` (so ``G G p = G p``, ``G F G p = F G p``);
    ``G (p R q) = G q``; ``G (p W q) = G (p | q)``; ``G X p = X G p``;
    ``G (p | s) = G p | s`` for suspendable ``s``; ``G (p & q) = G p & G q`` when ``q`` is
    universal (``G q = q``) or eventual (``G q`` is then suspendable).
    """
    if is_universal(a):
        return a
    if isinstance(a, s.Release):
        return make_globally(a.right)
    if isinstance(a, s.WeakUntil):
        return make_globally(make_or(a.left, a.right))
    if isinstance(a, s.Next):
        return make_next(make_globally(a.operand))
    if isinstance(a, s.And | s.Or):
        # G (p & q) = G p & G q always; G (p | s) = G p | s only for suspendable s.
        pulled = _pull_out(a, is_suspendable if isinstance(a, s.Or) else _pulled,
                           make_globally)
        if pulled is not None:
            return pulled
    return s.Globally(a)


def _pull_out(
    a: s.Formula, keep: Callable[[s.Formula], bool],
    make: Callable[[s.Formula], s.Formula],
) -> s.Formula | None:
    """For ``O`` = ``F`` or ``G`` (``make``) and a junction ``a`` of operands: ``O a`` with
    the operands satisfying ``keep`` taken out, ``O (rest) * O g1 * ...`` (``*`` the
    junction of ``a``), or None if no operand satisfies ``keep``."""
    kind = type(a)
    conj = kind is s.And
    parts = operands(a, kind)
    outside = [g for g in parts if keep(g)]
    if not outside:
        return None
    rest: s.Formula = s.TRUE if conj else s.FALSE
    for g in parts:
        if not keep(g):
            rest = _junction(rest, g, conj)
    out = make(rest)
    for g in outside:
        out = _junction(out, make(g), conj)
    return out


def make_until(a: s.Formula, b: s.Formula) -> s.Formula:
    """``a U b`` with constants folded and these equivalences.

    ``p U e = e`` for eventual ``e``; ``true U q = F q``; ``p U p = p``;
    ``X p U X q = X (p U q)``; ``p U (p U q) = p U q``.
    """
    if isinstance(b, s.Constant) or a == s.FALSE or a == b or is_eventual(b):
        return b
    if a == s.TRUE:
        return make_finally(b)
    if isinstance(a, s.Next) and isinstance(b, s.Next):
        return make_next(make_until(a.operand, b.operand))
    if isinstance(b, s.Until) and b.left == a:
        return b
    return s.Until(a, b)


def make_release(a: s.Formula, b: s.Formula) -> s.Formula:
    """``a R b`` with constants folded and these equivalences (duals of :func:`make_until`).

    ``p R u = u`` for universal ``u``; ``p R q = G q`` when ``p & q = false`` (so
    ``false R q = G q``); ``p R p = p``;
    ``X p R X q = X (p R q)``; ``p R (p R q) = p R q``.
    """
    if isinstance(b, s.Constant) or a == s.TRUE or a == b or is_universal(b):
        return b
    if a == s.FALSE or make_and(a, b) == s.FALSE:
        return make_globally(b)  # p R q = q W (p & q) = G q when p & q = false
    if isinstance(a, s.Next) and isinstance(b, s.Next):
        return make_next(make_release(a.operand, b.operand))
    if isinstance(b, s.Release) and b.left == a:
        return b
    return s.Release(a, b)


def make_weak_until(a: s.Formula, b: s.Formula) -> s.Formula:
    """``a W b`` with constants folded and these equivalences.

    ``p W false = G p``; ``u W q = u | q`` for universal ``u``; ``p W u = G (p | u)`` for
    universal ``u`` (the dual of ``p M e = F (p & e)``); ``p W e = e | G p`` for eventual
    ``e`` (the dual of ``p M u = u & F p``); ``X p W X q = X (p W q)``;
    ``p W (p W q) = p W q``.
    """
    if b == s.TRUE or a == s.TRUE:
        return s.TRUE
    if b == s.FALSE:
        return make_globally(a)
    if a == s.FALSE or a == b:
        return b
    if is_universal(a):
        return make_or(a, b)
    if is_universal(b):
        return make_globally(make_or(a, b))
    if is_eventual(b):
        return make_or(b, make_globally(a))
    if isinstance(a, s.Next) and isinstance(b, s.Next):
        return make_next(make_weak_until(a.operand, b.operand))
    if isinstance(b, s.WeakUntil) and b.left == a:
        return b
    return s.WeakUntil(a, b)


def make_strong_release(a: s.Formula, b: s.Formula) -> s.Formula:
    """``a M b`` with constants folded and these equivalences.

    ``p M true = F p``; ``p M q = false`` when ``p & q = false``; ``e M q = e & q`` for
    eventual ``e`` (a witness of ``e`` at ``j``
    gives one at ``0``); ``p M e = F (p & e)`` for eventual ``e`` (``e`` at ``j`` implies
    ``e`` before ``j``); ``p M u = u & F p`` for universal ``u`` (``u`` at ``0`` implies
    ``u`` everywhere); ``X p M X q = X (p M q)``; ``p M (p M q) = p M q``.
    """
    if b == s.FALSE or a == s.FALSE:
        return s.FALSE
    if b == s.TRUE:
        return make_finally(a)
    if a == s.TRUE or a == b:
        return b
    both = make_and(a, b)
    if both == s.FALSE:
        return s.FALSE  # p M q needs p & q at some point
    if is_eventual(a):
        return make_and(a, b)
    if is_eventual(b):
        return make_finally(make_and(a, b))
    if is_universal(b):
        return make_and(b, make_finally(a))
    if isinstance(a, s.Next) and isinstance(b, s.Next):
        return make_next(make_strong_release(a.operand, b.operand))
    if isinstance(b, s.StrongRelease) and b.left == a:
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
