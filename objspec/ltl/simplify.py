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

import bisect
from collections.abc import Callable, Hashable
from typing import TypeVar

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


def _classes(f: s.Formula) -> tuple[bool, bool, bool]:
    """``(is_eventual(f), is_universal(f), _finite(f))``.

    Memoised on the node itself (attribute ``_classes``; a dictionary would compare equal
    but distinct deep formulas node by node on every lookup), and computed for the
    subformulas without it in post-order with an explicit stack (no recursion).
    """
    hit: tuple[bool, bool, bool] | None = f.__dict__.get("_classes")
    if hit is not None:
        return hit
    stack = [f]
    while stack:
        g = stack[-1]
        if "_classes" in g.__dict__:
            stack.pop()
            continue
        missing = [k for k in g.children() if "_classes" not in k.__dict__]
        if missing:
            stack.extend(missing)
            continue
        stack.pop()
        object.__setattr__(g, "_classes", _classify(g))
    result: tuple[bool, bool, bool] = f.__dict__["_classes"]
    return result


def _classify(f: s.Formula) -> tuple[bool, bool, bool]:
    """The classes of ``f`` from those of its operands (already computed)."""
    if isinstance(f, s.Constant):
        return True, True, True
    if isinstance(f, s.Atom | s.Not):
        return False, False, True
    if isinstance(f, s.Finally):
        return True, _classes(f.operand)[1], False
    if isinstance(f, s.Globally):
        return _classes(f.operand)[0], True, False
    if isinstance(f, s.Next):
        return _classes(f.operand)
    if isinstance(f, s.And | s.Or):
        left, right = _classes(f.left), _classes(f.right)
        return left[0] and right[0], left[1] and right[1], left[2] and right[2]
    if isinstance(f, s.Until | s.StrongRelease | s.Release | s.WeakUntil):
        ev, un, _ = _classes(f.right)
        return (ev and not isinstance(f, s.WeakUntil),
                un and not isinstance(f, s.StrongRelease), False)
    return False, False, False


def is_eventual(f: s.Formula) -> bool:
    """Whether ``f`` is syntactically a pure eventuality, so that ``f = F f``.

    Such a formula is closed under adding a prefix: if ``w |= f`` then ``u w |= f``. The
    classes (Etessami & Holzmann 2000; Babiak et al., TACAS 2012; Spot's ``is_eventual``):
    constants, ``F p``; ``G e``, ``X e``, ``e & e'``, ``e | e'``; ``p U e`` (``= e``),
    ``p M e`` (``= F (p & e)``) and ``p R e`` (``e`` holds wherever ``p R e`` is required
    to, so every earlier position satisfies it too).
    """
    return _classes(f)[0]


def is_universal(f: s.Formula) -> bool:
    """Whether ``f`` is syntactically a pure universality, so that ``f = G f``.

    Such a formula is closed under taking suffixes. Dual of :func:`is_eventual`: constants,
    ``G p``; ``F u``, ``X u``, ``u & u'``, ``u | u'``; ``p R u``, ``p W u`` and ``p U u``.
    """
    return _classes(f)[1]


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


#: ``X p & X q`` is merged into ``X (p & q)`` only when ``p`` and ``q`` (below their
#: common ``X`` prefix) are at most this deep: merging ``p & q`` can merge again inside,
#: and this bounds that recursion.
_MERGE_DEPTH = 100


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
        depth = 0
        while isinstance(a, s.Next) and isinstance(b, s.Next) and a != b:
            a, b, depth = a.operand, b.operand, depth + 1
        if max(a.depth(), b.depth()) > _MERGE_DEPTH:
            return None  # the junction of a and b could merge again, nested this deep
        return _wrap_next(_junction(a, b, conj), depth)
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


def _finite(f: s.Formula) -> bool:
    """Whether ``f`` has no fixpoint operator (only constants, literals, ``& | X``)."""
    return _classes(f)[2]


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
    return junction_of(operands(a, kind) + operands(b, kind), conj)


def _complement_literal(f: s.Formula) -> s.Formula:
    return f.operand if isinstance(f, s.Not) else s.Not(f)


def _clash_partners(g: s.Formula, conj: bool) -> list[s.Formula]:
    """The formulas ``h`` with :func:`_clash` ``(g, h, conj)``."""
    box, dia = (s.Globally, s.Finally) if conj else (s.Finally, s.Globally)
    if is_literal(g):
        c = _complement_literal(g)
        return [c, box(c)]
    if isinstance(g, box | dia) and is_literal(g.operand):
        c = _complement_literal(g.operand)
        return [c, dia(c)] if isinstance(g, box) else [box(c)]
    return []


def _merge_class(g: s.Formula, conj: bool) -> int:
    """Which operands :func:`_merge_pair` can merge ``g`` with: 1 ``X``, 2 ``G p`` (``F p``
    for ``|``) and 3 ``F G p`` (``G F p``) with ``p`` free of fixpoints; 0 none."""
    box, twice = (s.Globally, s.Finally) if conj else (s.Finally, s.Globally)
    if isinstance(g, s.Next):
        return 1
    if isinstance(g, box) and _finite(g.operand):
        return 2
    if isinstance(g, twice) and isinstance(g.operand, box) and _finite(g.operand.operand):
        return 3
    return 0


def junction_of(parts: list[s.Formula], conj: bool) -> s.Formula:
    """The conjunction (``conj``) or disjunction of ``parts``, simplified.

    Operands are taken left to right: constants are folded; an operand already present,
    or absorbed by one (``p & F p = p``, ``G p & p = G p``; ``p | F p = F p``,
    ``G p | p = p``), is dropped; one that clashes (``l & !l``, ``G l & F !l``) gives the
    zero; one that absorbs earlier operands removes them; and one that merges with an
    earlier operand by :func:`_merge_pair` replaces it. Index tables make each operand
    cost constant time (apart from merges), so thousands of operands are fine. The result
    is nested to the left.

    Examples
    --------
    >>> from objspec.ltl.parser import parse_formula
    >>> str(junction_of([parse_formula(t) for t in ["a", "F a", "X b", "X c", "a"]], True))
    'a & X(b & c)'
    """
    kind: type = s.And if conj else s.Or
    zero, unit = (s.FALSE, s.TRUE) if conj else (s.TRUE, s.FALSE)
    box, dia = (s.Globally, s.Finally) if conj else (s.Finally, s.Globally)
    items: list[s.Formula | None] = []
    where: dict[s.Formula, list[int]] = {}  # live operand -> its positions in items
    mergeable: dict[int, list[int]] = {1: [], 2: [], 3: []}  # class -> positions, sorted
    for g in parts:
        if g == unit or g in where:
            continue
        if g == zero:
            return zero
        if any(h in where for h in _clash_partners(g, conj)):
            return zero
        # g redundant beside an operand (conj: g = F h or h = G g; dually for |)
        if (isinstance(g, dia) and g.operand in where) or box(g) in where:
            continue
        # operands that g makes redundant
        redundant: list[s.Formula] = [dia(g)] + ([g.operand] if isinstance(g, box) else [])
        for r in redundant:
            for i in where.pop(r, []):
                items[i] = None
        cls = _merge_class(g, conj)
        placed = False
        if cls:
            for i in mergeable[cls]:
                h = items[i]
                if h is None or _merge_class(h, conj) != cls:
                    continue
                combined = _merge_pair(h, g, conj)
                if combined is not None and not isinstance(combined, kind):
                    if combined == zero:
                        return zero
                    positions = where[h]
                    positions.remove(i)
                    if not positions:
                        del where[h]
                    items[i] = combined
                    where.setdefault(combined, []).append(i)
                    new_cls = _merge_class(combined, conj)
                    if new_cls and new_cls != cls:
                        bisect.insort(mergeable[new_cls], i)
                    placed = True
                    break
        if not placed:
            where.setdefault(g, []).append(len(items))
            if cls:
                mergeable[cls].append(len(items))
            items.append(g)
    kept = [g for g in items if g is not None and g != unit]
    if not kept:
        return unit
    out = kept[0]
    for g in kept[1:]:
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


def _wrap_next(a: s.Formula, depth: int) -> s.Formula:
    """``X^depth a``, each ``X`` by :func:`make_next` (once ``a`` is a constant or
    suspendable, ``X`` leaves it unchanged)."""
    for _ in range(depth):
        if isinstance(a, s.Constant) or is_suspendable(a):
            return a
        a = s.Next(a)
    return a


def make_finally(a: s.Formula) -> s.Formula:
    """``F a``, simplified by these equivalences.

    ``F e = e`` for eventual ``e`` (so ``F F p = F p``, ``F G F p = G F p``);
    ``F (p U q) = F q``; ``F (p M q) = F (p & q)`` (as ``p M q = q U (p & q)``);
    ``F X p = X F p``; ``F (p & s) = F p & s`` for suspendable ``s``; ``F (p | q) = F p | F q``
    when ``q`` is eventual (``F q = q``) or universal (``F q`` is then suspendable)
    (Babiak et al., TACAS 2012, and Spot's simplifier).
    """
    depth = 0  # the X's moved out (F X p = X F p), applied at the end: no recursion
    while True:
        if is_eventual(a):
            return _wrap_next(a, depth)
        if isinstance(a, s.Until):
            a = a.right
        elif isinstance(a, s.StrongRelease):
            a = make_and(a.left, a.right)
        elif isinstance(a, s.Next):
            a, depth = a.operand, depth + 1
        else:
            break
    if isinstance(a, s.And | s.Or):
        # F (p | q) = F p | F q always; F (p & s) = F p & s only for suspendable s.
        pulled = _pull_out(a, is_suspendable if isinstance(a, s.And) else _pulled,
                           make_finally)
        if pulled is not None:
            return _wrap_next(pulled, depth)
    return _wrap_next(s.Finally(a), depth)


def make_globally(a: s.Formula) -> s.Formula:
    """``G a``, simplified by the duals of :func:`make_finally`'s equivalences.

    ``G u = u`` for universal ``u`` (so ``G G p = G p``, ``G F G p = F G p``);
    ``G (p R q) = G q``; ``G (p W q) = G (p | q)``; ``G X p = X G p``;
    ``G (p | s) = G p | s`` for suspendable ``s``; ``G (p & q) = G p & G q`` when ``q`` is
    universal (``G q = q``) or eventual (``G q`` is then suspendable); ``G F (p & e) =
    G F p & G F e`` for eventual ``e`` (Spot's rule; ``G (p0 & X F (p1 & X F p2))``, EH 9,
    becomes ``G p0 & G F p1 & G F p2``).

    Examples
    --------
    >>> from objspec.ltl.parser import parse_formula
    >>> str(simplify(parse_formula("G (p0 & X F (p1 & X F p2))")))
    'Gp0 & GFp2 & GFp1'
    """
    depth = 0  # the X's moved out (G X p = X G p), applied at the end: no recursion
    while True:
        if is_universal(a):
            return _wrap_next(a, depth)
        if isinstance(a, s.Release):
            a = a.right
        elif isinstance(a, s.WeakUntil):
            a = make_or(a.left, a.right)
        elif isinstance(a, s.Next):
            a, depth = a.operand, depth + 1
        else:
            break
    if isinstance(a, s.Finally) and isinstance(a.operand, s.And):
        # G F (p & e) = G F p & G F e for eventual e: infinitely many positions satisfy
        # e = F e iff every position does, so G F e = G e and the p-positions carry e.
        parts = operands(a.operand, s.And)
        ev = [g for g in parts if is_eventual(g)]
        if ev and len(parts) > 1:
            rest = [g for g in parts if not is_eventual(g)]
            out = [make_globally(make_finally(g)) for g in ev]
            if rest:
                conj = rest[0]
                for g in rest[1:]:
                    conj = make_and(conj, g)
                out.append(make_globally(make_finally(conj)))
            result = out[0]
            for g in out[1:]:
                result = make_and(result, g)
            return _wrap_next(result, depth)
    if isinstance(a, s.And | s.Or):
        # G (p & q) = G p & G q always; G (p | s) = G p | s only for suspendable s.
        pulled = _pull_out(a, is_suspendable if isinstance(a, s.Or) else _pulled,
                           make_globally)
        if pulled is not None:
            return _wrap_next(pulled, depth)
    return _wrap_next(s.Globally(a), depth)


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
    depth = 0  # X p U X q = X (p U q), looped instead of recursing
    while True:
        if isinstance(b, s.Constant) or a == s.FALSE or a == b or is_eventual(b):
            return _wrap_next(b, depth)
        if a == s.TRUE:
            return _wrap_next(make_finally(b), depth)
        if isinstance(a, s.Next) and isinstance(b, s.Next):
            a, b, depth = a.operand, b.operand, depth + 1
            continue
        if isinstance(b, s.Until) and b.left == a:
            return _wrap_next(b, depth)
        return _wrap_next(s.Until(a, b), depth)


def make_release(a: s.Formula, b: s.Formula) -> s.Formula:
    """``a R b`` with constants folded and these equivalences (duals of :func:`make_until`).

    ``p R u = u`` for universal ``u``; ``p R q = G q`` when ``p & q = false`` (so
    ``false R q = G q``); ``p R p = p``;
    ``X p R X q = X (p R q)``; ``p R (p R q) = p R q``.
    """
    depth = 0  # X p R X q = X (p R q), looped instead of recursing
    while True:
        if isinstance(b, s.Constant) or a == s.TRUE or a == b or is_universal(b):
            return _wrap_next(b, depth)
        if a == s.FALSE or make_and(a, b) == s.FALSE:
            # p R q = q W (p & q) = G q when p & q = false
            return _wrap_next(make_globally(b), depth)
        if isinstance(a, s.Next) and isinstance(b, s.Next):
            a, b, depth = a.operand, b.operand, depth + 1
            continue
        if isinstance(b, s.Release) and b.left == a:
            return _wrap_next(b, depth)
        return _wrap_next(s.Release(a, b), depth)


def make_weak_until(a: s.Formula, b: s.Formula) -> s.Formula:
    """``a W b`` with constants folded and these equivalences.

    ``p W false = G p``; ``u W q = u | q`` for universal ``u``; ``p W u = G (p | u)`` for
    universal ``u`` (the dual of ``p M e = F (p & e)``); ``p W e = e | G p`` for eventual
    ``e`` (the dual of ``p M u = u & F p``); ``X p W X q = X (p W q)``;
    ``p W (p W q) = p W q``.
    """
    depth = 0  # X p W X q = X (p W q), looped instead of recursing
    while True:
        if b == s.TRUE or a == s.TRUE:
            return s.TRUE
        if b == s.FALSE:
            return _wrap_next(make_globally(a), depth)
        if a == s.FALSE or a == b:
            return _wrap_next(b, depth)
        if is_universal(a):
            return _wrap_next(make_or(a, b), depth)
        if is_universal(b):
            return _wrap_next(make_globally(make_or(a, b)), depth)
        if is_eventual(b):
            return _wrap_next(make_or(b, make_globally(a)), depth)
        if isinstance(a, s.Next) and isinstance(b, s.Next):
            a, b, depth = a.operand, b.operand, depth + 1
            continue
        if isinstance(b, s.WeakUntil) and b.left == a:
            return _wrap_next(b, depth)
        return _wrap_next(s.WeakUntil(a, b), depth)


def make_strong_release(a: s.Formula, b: s.Formula) -> s.Formula:
    """``a M b`` with constants folded and these equivalences.

    ``p M true = F p``; ``p M q = false`` when ``p & q = false``; ``e M q = e & q`` for
    eventual ``e`` (a witness of ``e`` at ``j``
    gives one at ``0``); ``p M e = F (p & e)`` for eventual ``e`` (``e`` at ``j`` implies
    ``e`` before ``j``); ``p M u = u & F p`` for universal ``u`` (``u`` at ``0`` implies
    ``u`` everywhere); ``X p M X q = X (p M q)``; ``p M (p M q) = p M q``.
    """
    depth = 0  # X p M X q = X (p M q), looped instead of recursing
    while True:
        if b == s.FALSE or a == s.FALSE:
            return s.FALSE
        if b == s.TRUE:
            return _wrap_next(make_finally(a), depth)
        if a == s.TRUE or a == b:
            return _wrap_next(b, depth)
        if isinstance(a, s.Next) and isinstance(b, s.Next):
            # X p M X q = X (p M q): the rules below give the same on p, q as on X p, X q
            a, b, depth = a.operand, b.operand, depth + 1
            continue
        both = make_and(a, b)
        if both == s.FALSE:
            return s.FALSE  # p M q needs p & q at some point
        if is_eventual(a):
            return _wrap_next(both, depth)
        if is_eventual(b):
            return _wrap_next(make_finally(both), depth)
        if is_universal(b):
            return _wrap_next(make_and(b, make_finally(a)), depth)
        if isinstance(b, s.StrongRelease) and b.left == a:
            return _wrap_next(b, depth)
        return _wrap_next(s.StrongRelease(a, b), depth)


_Node = TypeVar("_Node")


def _postorder(
    root: _Node,
    key: Callable[[_Node], Hashable],
    leaf: Callable[[_Node], s.Formula | None],
    expand: Callable[[_Node], list[_Node]],
    combine: Callable[[_Node, list[s.Formula]], s.Formula],
) -> s.Formula:
    """Compute a formula for ``root`` bottom-up with an explicit stack (no recursion).

    ``leaf(n)`` is the result for ``n`` if it needs no operand results (else None);
    otherwise ``expand(n)`` lists the nodes whose results ``combine(n, results)`` needs.
    Results are memoised by ``key(n)`` for the call (subtrees of ``root``, which stay
    alive, are keyed by ``id``).
    """
    done: dict[Hashable, s.Formula] = {}
    stack: list[tuple[_Node, list[_Node] | None]] = [(root, None)]
    while stack:
        n, needs = stack[-1]
        k = key(n)
        if k in done:
            stack.pop()
            continue
        if needs is None:
            result = leaf(n)
            if result is not None:
                done[k] = result
                stack.pop()
                continue
            needs = expand(n)
            stack[-1] = (n, needs)
            stack.extend((m, None) for m in needs if key(m) not in done)
            continue
        stack.pop()
        done[k] = combine(n, [done[key(m)] for m in needs])
    return done[key(root)]


def negation_normal_form(f: s.Formula, negate: bool = False) -> s.Formula:
    """An equivalent formula (of ``!f`` if ``negate``) with negation only on atoms.

    The result uses only constants, literals, ``& | X F G U R W M``. The formula is
    walked with an explicit stack, and a chain of ``&`` (or ``|``) is simplified as one
    junction (:func:`junction_of`), so any depth and any number of operands are handled.

    Examples
    --------
    >>> from objspec.ltl.parser import parse_formula
    >>> str(negation_normal_form(parse_formula("!(a W (b -> X c))")))
    '!a M (b & X!c)'
    """
    # A node of the walk is a pair (subformula, negated?).
    Pair = tuple[s.Formula, bool]

    def key(n: Pair) -> Hashable:
        return id(n[0]), n[1]

    def leaf(n: Pair) -> s.Formula | None:
        g, neg = n
        if isinstance(g, s.Constant):
            return s.Constant(g.value != neg)
        if isinstance(g, s.Atom):
            return s.Not(g) if neg else g
        return None

    def expand(n: Pair) -> list[Pair]:
        g, neg = n
        if isinstance(g, s.Not):
            return [(g.operand, not neg)]
        if isinstance(g, s.And | s.Or):
            return [(h, neg) for h in operands(g, type(g))]
        if isinstance(g, s.Implies):
            return [(g.left, not neg), (g.right, neg)]
        if isinstance(g, s.Equivalent | s.Xor):
            return [(g.left, False), (g.left, True), (g.right, False), (g.right, True)]
        if isinstance(g, s.UnaryOperator):
            return [(g.operand, neg)]
        if isinstance(g, s.BinaryOperator):
            return [(g.left, neg), (g.right, neg)]
        raise TypeError(f"not an LTL formula: {g!r}")

    def combine(n: Pair, r: list[s.Formula]) -> s.Formula:
        g, neg = n
        if isinstance(g, s.Not):
            return r[0]
        if isinstance(g, s.And | s.Or):
            conj = isinstance(g, s.And) != neg
            kind: type = s.And if conj else s.Or
            return junction_of([h for x in r for h in operands(x, kind)], conj)
        if isinstance(g, s.Implies):
            return make_and(r[0], r[1]) if neg else make_or(r[0], r[1])
        if isinstance(g, s.Equivalent | s.Xor):
            a, na, b, nb = r
            if isinstance(g, s.Equivalent) != neg:
                return make_or(make_and(a, b), make_and(na, nb))
            return make_or(make_and(a, nb), make_and(na, b))
        if isinstance(g, s.Next):
            return make_next(r[0])
        if isinstance(g, s.Finally):
            return make_globally(r[0]) if neg else make_finally(r[0])
        if isinstance(g, s.Globally):
            return make_finally(r[0]) if neg else make_globally(r[0])
        left, right = r
        if isinstance(g, s.Until):
            return make_release(left, right) if neg else make_until(left, right)
        if isinstance(g, s.Release):
            return make_until(left, right) if neg else make_release(left, right)
        if isinstance(g, s.WeakUntil):
            return make_strong_release(left, right) if neg else make_weak_until(left, right)
        if isinstance(g, s.StrongRelease):
            return make_weak_until(left, right) if neg else make_strong_release(left, right)
        raise TypeError(f"not an LTL formula: {g!r}")

    return _postorder((f, negate), key, leaf, expand, combine)


_REBUILD: dict[type, Callable[..., s.Formula]] = {
    s.Next: make_next, s.Finally: make_finally, s.Globally: make_globally,
    s.Until: make_until, s.Release: make_release, s.WeakUntil: make_weak_until,
    s.StrongRelease: make_strong_release,
}


def _rebuild(f: s.Formula) -> s.Formula:
    """Apply the smart constructors bottom-up to a formula in negation normal form."""

    def leaf(g: s.Formula) -> s.Formula | None:
        if isinstance(g, s.Constant | s.Atom) or is_literal(g):
            return g
        if not isinstance(g, s.And | s.Or | s.Next | s.Finally | s.Globally | s.Until
                          | s.Release | s.WeakUntil | s.StrongRelease):
            raise TypeError(f"not a formula in negation normal form: {g!r}")
        return None

    def expand(g: s.Formula) -> list[s.Formula]:
        if isinstance(g, s.And | s.Or):
            return operands(g, type(g))
        return list(g.children())

    def combine(g: s.Formula, r: list[s.Formula]) -> s.Formula:
        if isinstance(g, s.And | s.Or):
            kind = type(g)
            return junction_of([h for x in r for h in operands(x, kind)], kind is s.And)
        return _REBUILD[type(g)](*r)

    return _postorder(f, id, leaf, expand, combine)


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
