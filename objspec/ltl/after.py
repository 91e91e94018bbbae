"""The "after" function ``af`` of LTL on formulas kept as monotone DNFs, and its caches.

``af(phi, w)`` is the formula that the rest of a word must satisfy after the letter ``w``
was read (``af(p U q, w) = af(q, w) | (af(p, w) & p U q)``, ``af(G p, w) = af(p, w) & G p``,
...; Esparza, Křetínský and Sickert, J. ACM 67(6), 2020). The translator's automata have
``af`` results as states, so two results must be recognised as the same state as often as
possible: a result is kept as a DNF, a set of clauses (conjunctions) over interned atoms
(temporal subformulas and literals), each clause reduced and the set minimised by a sound
syntactic implication test (:func:`implies`: ``G p -> p -> F p``, ...). An LTL-equivalent
representative keeps the master theorem valid, as its proof only uses the semantics of
``af`` results and that their fixpoint subformulas are those of the translated formula.

The DNF operations (:func:`to_dnf`, :func:`dnf_and`, :func:`dnf_or`), the implication tests
and the table of interned atoms are memoised process-wide; :func:`clear_caches` (defined in
:mod:`objspec.ltl.caches`, where every LTL cache is registered) empties them and all
other caches of the engine. :class:`After` memoises ``af`` itself per letter, for one alphabet.

Examples
--------
>>> from objspec.ltl.parser import parse_formula
>>> af = After(("a", "b"))
>>> phi = parse_formula("a U b")
>>> str(from_dnf(af.formula(phi, 0b01)))  # letter {a}: a U b is still pending
'a U b'
>>> af.formula(phi, 0b10) == TT, af.formula(phi, 0b00) == FF  # {b}: done; {}: failed
(True, True)
>>> implies(parse_formula("G a"), parse_formula("F a"))
True
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import lru_cache

from objspec.ltl import syntax as s
from objspec.ltl.caches import clear_caches, register_cache
from objspec.ltl.simplify import is_eventual, is_universal, operands

__all__ = [
    "Clause",
    "DNF",
    "TT",
    "FF",
    "After",
    "to_dnf",
    "from_dnf",
    "dnf_and",
    "dnf_or",
    "implies",
    "eventually_implies",
    "clear_caches",
]

#: A conjunction of temporal subformulas and literals, each interned as an int (formula
#: hashing is recursive and dominated the run time), and a DNF: a set of clauses.
Clause = frozenset[int]
DNF = frozenset[Clause]
#: The DNFs of ``true`` (one empty clause) and ``false`` (no clause).
TT: DNF = frozenset({frozenset()})
FF: DNF = frozenset()


@lru_cache(maxsize=200_000)
def implies(x: s.Formula, y: s.Formula) -> bool:
    """A sound, syntactic test of the LTL implication ``x -> y``.

    ``x -> x``; ``x -> F z`` and ``x -> p U z``, ``x -> p W z`` if ``x -> z``;
    ``G z -> y``, ``p R z -> y``, ``p M z -> y`` if ``z -> y``; ``p U q -> y`` and
    ``p W q -> y`` if ``p -> y`` and ``q -> y``; ``F z -> e`` for eventual ``e`` and
    ``x -> G z`` for universal ``x`` (``e = F e``, ``x = G x``); ``X p -> X q`` if ``p -> q``;
    conjunctions and disjunctions as usual.

    Each recursive call is on a shallower pair, so the recursion depth is at most
    ``x.depth() + y.depth()``; beyond :data:`_IMPLIES_DEPTH` the test answers ``False``
    (sound, as for any implication it cannot see).

    Examples
    --------
    >>> from objspec.ltl.parser import parse_formula as p
    >>> implies(p("G a"), p("a")), implies(p("F a"), p("a"))
    (True, False)
    """
    if x == y or y == s.TRUE or x == s.FALSE:
        return True
    if x.depth() + y.depth() > _IMPLIES_DEPTH:
        return False
    if isinstance(y, s.And):
        return implies(x, y.left) and implies(x, y.right)
    if isinstance(x, s.Or):
        return implies(x.left, y) and implies(x.right, y)
    if isinstance(x, s.And) and (implies(x.left, y) or implies(x.right, y)):
        return True
    if isinstance(y, s.Or) and (implies(x, y.left) or implies(x, y.right)):
        return True
    if isinstance(x, s.Next) and isinstance(y, s.Next):
        return implies(x.operand, y.operand)
    if isinstance(y, s.Finally | s.Until | s.WeakUntil):
        target = y.operand if isinstance(y, s.Finally) else y.right
        if implies(x, target):
            return True
    if isinstance(x, s.Globally | s.Release | s.StrongRelease):
        source = x.operand if isinstance(x, s.Globally) else x.right
        if implies(source, y):
            return True
    if isinstance(x, s.Until | s.WeakUntil) and implies(x.left, y) and implies(x.right, y):
        return True
    if isinstance(x, s.Finally) and is_eventual(y) and implies(x.operand, y):
        return True
    if isinstance(y, s.Globally) and is_universal(x) and implies(x, y.operand):
        return True
    return False


#: Pairs deeper than this (summed nesting depths) are not compared by :func:`implies`,
#: which bounds its recursion.
_IMPLIES_DEPTH = 200


def eventually_implies(x: s.Formula, m: s.Formula) -> bool:
    """A sound syntactic test of ``x -> F m`` (so ``G F x -> G F m``); recursion bounded
    as in :func:`implies`.

    Examples
    --------
    >>> from objspec.ltl.parser import parse_formula as p
    >>> eventually_implies(p("a U b"), p("b")), eventually_implies(p("a"), p("b"))
    (True, False)
    """
    if implies(x, m):
        return True
    if x.depth() + m.depth() > _IMPLIES_DEPTH:
        return False
    if isinstance(x, s.Finally):
        return eventually_implies(x.operand, m)
    if isinstance(x, s.Until):
        return eventually_implies(x.right, m)
    if isinstance(x, s.StrongRelease):
        return eventually_implies(s.And(x.left, x.right), m)
    if isinstance(x, s.And):
        return eventually_implies(x.left, m) or eventually_implies(x.right, m)
    if isinstance(x, s.Or):
        return eventually_implies(x.left, m) and eventually_implies(x.right, m)
    return False


#: The interned atoms: id of each formula, and formula of each id.
_IDS: dict[s.Formula, int] = {}
_FORMULAS: list[s.Formula] = []


class _Text:
    """A formula's Spot text, computed on the first comparison that needs it (a sort key
    for :data:`_KEYS`: most comparisons are settled by the size)."""

    __slots__ = ("formula", "_text")

    def __init__(self, formula: s.Formula) -> None:
        self.formula = formula
        self._text: str | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = str(self.formula)
        return self._text

    def __lt__(self, other: _Text) -> bool:
        return self.text < other.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Text) and self.text == other.text

    def __hash__(self) -> int:
        return hash(self.text)


#: A canonical order of the interned atoms (size, then text), independent of the order
#: they were interned in: ties between equivalent atoms or clauses are broken by it, so
#: that the automaton built for a formula does not depend on what was translated before.
_KEYS: list[tuple[int, _Text]] = []


_INTERN_LOCK = threading.Lock()


def _intern(f: s.Formula) -> int:
    """The id of a DNF atom (a process-wide table, like the caches around it)."""
    i = _IDS.get(f)
    if i is None:
        with _INTERN_LOCK:
            i = _IDS.get(f)
            if i is None:
                _FORMULAS.append(f)
                _KEYS.append((f.size(), _Text(f)))
                i = _IDS[f] = len(_FORMULAS) - 1
    return i


@lru_cache(maxsize=1_000_000)
def _implies_id(i: int, j: int) -> bool:
    return i == j or implies(_FORMULAS[i], _FORMULAS[j])


def _clause_implies(c: Clause, k: Clause) -> bool:
    """Whether the conjunction ``c`` implies the conjunction ``k`` (syntactically)."""
    return k <= c or all(y in c or any(_implies_id(x, y) for x in c) for y in k)


def _reduce_clause(c: Clause) -> Clause:
    """Drop the atoms of a conjunction that another of its atoms implies."""
    if len(c) < 2:
        return c
    drop = {y for y in c for x in c if x != y and _implies_id(x, y) and not (
        _implies_id(y, x) and _KEYS[y] < _KEYS[x])}
    return c - drop if drop else c


def _minimise(clauses: Iterable[Clause]) -> DNF:
    """Minimal DNF: each clause reduced, and clauses implying another dropped.

    Replacing an ``af`` result by an LTL-equivalent positive boolean combination of the same
    temporal subformulas keeps the master theorem valid (its proof only uses the semantics
    of ``af`` results and that their fixpoint subformulas are those of the formula), and
    identifies more states.
    """
    ordered = sorted({_reduce_clause(c) for c in clauses},
                     key=lambda c: (len(c), sorted(_KEYS[a] for a in c)))
    kept: list[Clause] = []
    for c in ordered:
        if not any(_clause_implies(c, k) for k in kept):
            kept = [k for k in kept if not _clause_implies(k, c)]
            kept.append(c)
    return frozenset(kept)


@lru_cache(maxsize=200_000)
def dnf_or(a: DNF, b: DNF) -> DNF:
    if a == TT or b == TT:
        return TT
    if not a:
        return b
    if not b:
        return a
    return _minimise(a | b)


@lru_cache(maxsize=200_000)
def dnf_and(a: DNF, b: DNF) -> DNF:
    if not a or not b:
        return FF
    if a == TT:
        return b
    if b == TT:
        return a
    return _minimise(x | y for x in a for y in b)


@lru_cache(maxsize=100_000)
def to_dnf(f: s.Formula) -> DNF:
    """The DNF of ``f`` over its maximal subformulas that are not ``&``, ``|`` or constants
    (an explicit-stack walk: chains of ``&``/``|`` of any length or depth).

    Examples
    --------
    >>> from objspec.ltl.parser import parse_formula as p
    >>> a, b = to_dnf(p("a")), to_dnf(p("b"))
    >>> len(dnf_or(a, b)), dnf_or(a, b) == dnf_or(b, a), dnf_or(a, TT) == TT
    (2, True, True)
    >>> str(from_dnf(dnf_or(to_dnf(p("G a")), to_dnf(p("a")))))  # G a implies a
    'a'

    Examples
    --------
    >>> from objspec.ltl.parser import parse_formula as p
    >>> str(from_dnf(dnf_and(to_dnf(p("G a")), to_dnf(p("a")))))  # G a implies a
    'Ga'
    >>> dnf_and(to_dnf(p("a")), FF) == FF
    True

    Examples
    --------
    >>> from objspec.ltl.parser import parse_formula as p
    >>> len(to_dnf(p("(a | b) & c")))  # two clauses
    2
    """
    if isinstance(f, s.Constant):
        return TT if f.value else FF
    if not isinstance(f, s.And | s.Or):
        return frozenset({frozenset({_intern(f)})})

    def leaf(g: s.Formula) -> DNF | None:
        if isinstance(g, s.Constant):
            return TT if g.value else FF
        if not isinstance(g, s.And | s.Or):
            return frozenset({frozenset({_intern(g)})})
        return None

    done: dict[int, DNF] = {}
    stack: list[tuple[s.Formula, list[s.Formula] | None]] = [(f, None)]
    while stack:
        g, parts = stack[-1]
        if parts is None:
            parts = operands(g, type(g))
            stack[-1] = (g, parts)
            for h in parts:
                value = leaf(h)
                if value is None:
                    stack.append((h, None))
                else:
                    done[id(h)] = value
            continue
        stack.pop()
        combine = dnf_and if isinstance(g, s.And) else dnf_or
        acc = done[id(parts[0])]
        for h in parts[1:]:
            acc = combine(acc, done[id(h)])
        done[id(g)] = acc
    return done[id(f)]


def from_dnf(d: DNF) -> s.Formula:
    """The DNF as a formula over the same atoms.

    Plain ``And``/``Or`` nodes, not :func:`make_and`: its rewriting (``F p | F q`` to
    ``F (p | q)``, ...) would introduce fixpoint formulas that are not subformulas of the
    translated formula, which :func:`_weaken` must see as they are.

    Examples
    --------
    >>> from objspec.ltl.parser import parse_formula as p
    >>> g = from_dnf(to_dnf(p("(a | b) & c")))  # (a & c) | (b & c), in some order
    >>> type(g).__name__, sorted(g.atoms())
    ('Or', ['a', 'b', 'c'])
    """
    if not d:
        return s.FALSE
    result: s.Formula | None = None
    for clause in sorted(d, key=sorted):
        conj: s.Formula | None = None
        for atom in sorted(clause):
            f = _FORMULAS[atom]
            conj = f if conj is None else s.And(conj, f)
        term = s.TRUE if conj is None else conj
        result = term if result is None else s.Or(result, term)
    assert result is not None
    return result


class After:
    """The after function ``af`` on monotone DNFs, memoised per letter.

    Examples
    --------
    >>> from objspec.ltl.parser import parse_formula as p
    >>> af = After(("a",))
    >>> str(from_dnf(af.formula(p("G a"), 0b1))), af.formula(p("G a"), 0b0) == FF
    ('Ga', True)
    """

    def __init__(self, propositions: tuple[str, ...]) -> None:
        self.index = {p: i for i, p in enumerate(propositions)}
        self.atom_cache: dict[tuple[int, int], DNF] = {}
        self.dnf_cache: dict[tuple[DNF, int], DNF] = {}

    def formula(self, f: s.Formula, letter: int) -> DNF:
        return self.dnf(to_dnf(f), letter)

    def atom(self, atom: int, letter: int) -> DNF:
        hit = self.atom_cache.get((atom, letter))
        if hit is not None:
            return hit
        # af(f) needs af of the DNF atoms of f's operands: compute those first, deepest
        # first, with an explicit stack, so that _atom never recurses into itself.
        stack = [atom]
        while stack:
            top = stack[-1]
            if (top, letter) in self.atom_cache:
                stack.pop()
                continue
            missing = [a for a in self._needs(top) if (a, letter) not in self.atom_cache]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            self._atom(top, letter)
        return self.atom_cache[(atom, letter)]

    def _needs(self, atom: int) -> list[int]:
        f = _FORMULAS[atom]
        if isinstance(f, s.Finally | s.Globally):
            subs = [f.operand]
        elif isinstance(f, s.BinaryOperator):
            subs = [f.left, f.right]
        else:
            return []
        return [a for g in subs for clause in to_dnf(g) for a in clause]

    def _atom(self, atom: int, letter: int) -> DNF:
        key = (atom, letter)
        f = _FORMULAS[atom]
        if isinstance(f, s.Atom):
            out = TT if (letter >> self.index[f.name]) & 1 else FF
        elif isinstance(f, s.Not):
            assert isinstance(f.operand, s.Atom)
            out = FF if (letter >> self.index[f.operand.name]) & 1 else TT
        elif isinstance(f, s.Next):
            out = to_dnf(f.operand)
        elif isinstance(f, s.Finally):
            out = dnf_or(self.formula(f.operand, letter), to_dnf(f))
        elif isinstance(f, s.Globally):
            out = dnf_and(self.formula(f.operand, letter), to_dnf(f))
        elif isinstance(f, s.Until | s.WeakUntil):
            out = dnf_or(
                self.formula(f.right, letter),
                dnf_and(self.formula(f.left, letter), to_dnf(f)),
            )
        elif isinstance(f, s.Release | s.StrongRelease):
            out = dnf_and(
                self.formula(f.right, letter),
                dnf_or(self.formula(f.left, letter), to_dnf(f)),
            )
        else:
            raise TypeError(f"not an af atom: {f!r}")
        self.atom_cache[key] = out
        return out

    def dnf(self, d: DNF, letter: int) -> DNF:
        key = (d, letter)
        hit = self.dnf_cache.get(key)
        if hit is not None:
            return hit
        out: DNF = FF
        for clause in d:
            conj: DNF = TT
            for atom in clause:
                conj = dnf_and(conj, self.atom(atom, letter))
                if not conj:
                    break
            out = dnf_or(out, conj)
            if out == TT:
                break
        self.dnf_cache[key] = out
        return out


def _clear_interned() -> None:
    """Empty the table of interned atoms (the caches keyed by their ids are cleared too)."""
    with _INTERN_LOCK:
        _implies_id.cache_clear()
        dnf_or.cache_clear()
        dnf_and.cache_clear()
        to_dnf.cache_clear()
        _IDS.clear()
        _FORMULAS.clear()
        _KEYS.clear()


register_cache(implies.cache_clear)
register_cache(_clear_interned)
