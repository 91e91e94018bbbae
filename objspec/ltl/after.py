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
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from objspec.ltl import syntax as s
from objspec.ltl.caches import clear_caches, register_cache
from objspec.ltl.simplify import is_eventual, is_universal, operands

__all__ = [
    "Clause",
    "DNF",
    "TT",
    "FF",
    "After",
    "LetterTable",
    "constant_table",
    "combine_tables",
    "join_tables",
    "expand_table",
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


class LetterTable(NamedTuple):
    """A function from letters to values that reads only some propositions.

    ``props`` are the bit positions (in the alphabet of an :class:`After`) the function
    reads, increasing; ``codes[v]`` is the index in ``values`` of the value on the letters
    whose restriction to ``props`` is ``v`` (bit ``j`` of ``v`` is proposition
    ``props[j]``). ``values`` has no repeats. A table over ``k`` propositions has ``2**k``
    codes, however large the alphabet: ``af`` of a state only reads the propositions that
    occur in it outside ``X`` (``af(X p) = p`` reads nothing), so the successors of a state
    are computed once per distinct value rather than once per letter.

    Examples
    --------
    >>> t = combine_tables(LetterTable((0,), np.array([0, 1]), ("no", "yes")),
    ...                    constant_table("!"), lambda a, b: a + b)
    >>> t.props, t.codes.tolist(), t.values
    ((0,), [0, 1], ('no!', 'yes!'))
    >>> expand_table(t, 2).tolist()  # letters 0..3 of a two-proposition alphabet
    [0, 1, 0, 1]
    """

    props: tuple[int, ...]
    codes: np.ndarray
    values: tuple[object, ...]


_ZERO_CODES = np.zeros(1, dtype=np.int64)
_ZERO_CODES.flags.writeable = False


def constant_table(value: object) -> LetterTable:
    """The table of a function that reads no proposition.

    Examples
    --------
    >>> constant_table(7).values, constant_table(7).codes.tolist()
    ((7,), [0])
    """
    return LetterTable((), _ZERO_CODES, (value,))


@lru_cache(maxsize=4096)
def _projection(props: tuple[int, ...], sub: tuple[int, ...]) -> np.ndarray:
    """``[2**len(props)]``: each valuation of ``props`` restricted to ``sub`` (a subset),
    as a valuation index of ``sub``."""
    valuations = np.arange(1 << len(props), dtype=np.int64)
    out = np.zeros_like(valuations)
    where = {p: i for i, p in enumerate(props)}
    for j, p in enumerate(sub):
        out |= ((valuations >> where[p]) & 1) << j
    out.flags.writeable = False
    return out


def _drop_unread(t: LetterTable) -> LetterTable:
    """The same function without the propositions its codes do not depend on."""
    if len(t.values) == 1:
        return constant_table(t.values[0])
    props = list(t.props)
    codes = t.codes
    for j in range(len(props) - 1, -1, -1):
        halves = codes.reshape(-1, 2, 1 << j)
        if (halves[:, 0, :] == halves[:, 1, :]).all():
            codes = np.ascontiguousarray(halves[:, 0, :]).reshape(-1)
            del props[j]
    return LetterTable(tuple(props), codes, t.values)


def combine_tables(
    f: LetterTable, g: LetterTable, op: Callable[[object, object], object]
) -> LetterTable:
    """The table of ``letter -> op(f(letter), g(letter))``: ``op`` is called once per
    distinct pair of values (not per letter), and the valuations are matched by numpy
    broadcasting over the union of the propositions read.

    Examples
    --------
    >>> a = LetterTable((0,), np.array([0, 1]), (False, True))
    >>> b = LetterTable((1,), np.array([0, 1]), (False, True))
    >>> both = combine_tables(a, b, lambda x, y: x and y)
    >>> both.props, both.codes.tolist(), both.values
    ((0, 1), [0, 0, 0, 1], (False, True))
    """
    if len(f.values) == 1 and len(g.values) == 1:
        return constant_table(op(f.values[0], g.values[0]))
    props = tuple(sorted(set(f.props) | set(g.props)))
    fc = f.codes if f.props == props else f.codes[_projection(props, f.props)]
    gc = g.codes if g.props == props else g.codes[_projection(props, g.props)]
    ng = len(g.values)
    unique, inverse = np.unique(fc * ng + gc, return_inverse=True)
    found: dict[object, int] = {}
    remap = [
        found.setdefault(op(f.values[u // ng], g.values[u % ng]), len(found))
        for u in unique.tolist()
    ]
    if len(found) == 1:
        return constant_table(next(iter(found)))
    codes = np.asarray(remap, dtype=np.int64)[inverse.reshape(-1)]
    return _drop_unread(LetterTable(props, codes, tuple(found)))


def join_tables(tables: Sequence[LetterTable]) -> LetterTable:
    """The table of the tuple of the tables' values (letter -> ``(t0(letter), ...)``).

    Examples
    --------
    >>> a = LetterTable((0,), np.array([0, 1]), ("x", "y"))
    >>> joined = join_tables([a, constant_table("z")])
    >>> joined.values
    (('x', 'z'), ('y', 'z'))
    """
    if len(tables) == 1:
        return LetterTable(tables[0].props, tables[0].codes, tuple((v,) for v in tables[0].values))
    out = LetterTable((), _ZERO_CODES, ((),))
    for t in tables:
        out = combine_tables(out, t, lambda acc, v: (*acc, v))  # type: ignore[misc]
    return out


def expand_table(t: LetterTable, n_props: int) -> np.ndarray:
    """``[2**n_props]``: the code of every letter of an alphabet of ``n_props``
    propositions (the dense row of a successor table).

    Examples
    --------
    >>> expand_table(LetterTable((1,), np.array([0, 1]), ("a", "b")), 2).tolist()
    [0, 0, 1, 1]
    """
    if not t.props:
        return np.zeros(1 << n_props, dtype=np.int64)
    return t.codes[_projection(tuple(range(n_props)), t.props)]


#: :meth:`After.table` of a DNF that reads at most this many propositions calls ``af`` per
#: valuation (cached per atom and letter); above, it combines the atoms' tables.
_DIRECT_READS = 6


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
        self.atom_tables: dict[int, LetterTable] = {}
        self.dnf_tables: dict[DNF, LetterTable] = {}
        self.reads_cache: dict[int, frozenset[int]] = {}

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


    # ------------------------------------------------------------ all letters at once
    def table(self, d: DNF) -> LetterTable:
        """``af(d, letter)`` for every letter, as a :class:`LetterTable` over the
        propositions ``d`` reads (those outside ``X``).

        The same folds as :meth:`dnf` (clause by clause, atom by atom, with
        :func:`dnf_and` and :func:`dnf_or`), each applied once per distinct pair of
        values instead of once per letter, so ``table(d)`` at a letter equals
        ``dnf(d, letter)``.

        Examples
        --------
        >>> from objspec.ltl.parser import parse_formula as p
        >>> af = After(("a", "b", "c"))
        >>> t = af.table(to_dnf(p("a U b")))  # reads a and b, not c
        >>> t.props, len(t.values)
        ((0, 1), 3)
        >>> all(t.values[t.codes[(w & 1) | ((w >> 1) & 1) << 1]] == af.dnf(to_dnf(p("a U b")), w)
        ...     for w in range(8))
        True
        """
        hit = self.dnf_tables.get(d)
        if hit is not None:
            return hit
        reads = sorted({p for clause in d for atom in clause for p in self.reads(atom)})
        if len(reads) <= _DIRECT_READS:
            # few valuations: af per representative letter (cached per atom and letter)
            # costs less than combining tables
            valuations = np.arange(1 << len(reads), dtype=np.int64)
            letters = np.zeros_like(valuations)
            for j, p in enumerate(reads):
                letters |= ((valuations >> j) & 1) << p
            found: dict[object, int] = {}
            codes = [found.setdefault(self.dnf(d, w), len(found)) for w in letters.tolist()]
            direct = _drop_unread(LetterTable(tuple(reads), np.asarray(codes, dtype=np.int64),
                                              tuple(found)))
            self.dnf_tables[d] = direct
            return direct
        for clause in d:
            for atom in clause:
                self.atom_table(atom)
        out = constant_table(FF)
        for clause in d:
            conj = constant_table(TT)
            for atom in clause:
                conj = combine_tables(conj, self.atom_tables[atom], dnf_and)
            out = combine_tables(out, conj, dnf_or)
        self.dnf_tables[d] = out
        return out

    def reads(self, atom: int) -> frozenset[int]:
        """The propositions (bit positions) ``af`` of a DNF atom can read: those of its
        literals outside ``X``."""
        hit = self.reads_cache.get(atom)
        if hit is not None:
            return hit
        stack = [atom]
        while stack:
            top = stack[-1]
            if top in self.reads_cache:
                stack.pop()
                continue
            needs = self._needs(top)
            missing = [a for a in needs if a not in self.reads_cache]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            f = _FORMULAS[top]
            if isinstance(f, s.Atom):
                self.reads_cache[top] = frozenset({self.index[f.name]})
            elif isinstance(f, s.Not):
                assert isinstance(f.operand, s.Atom)
                self.reads_cache[top] = frozenset({self.index[f.operand.name]})
            else:
                self.reads_cache[top] = frozenset().union(*(self.reads_cache[a] for a in needs))
        return self.reads_cache[atom]

    def atom_table(self, atom: int) -> LetterTable:
        """``af`` of one DNF atom for every letter (see :meth:`table`); the atoms of its
        operands are done first, deepest first, with an explicit stack."""
        hit = self.atom_tables.get(atom)
        if hit is not None:
            return hit
        stack = [atom]
        while stack:
            top = stack[-1]
            if top in self.atom_tables:
                stack.pop()
                continue
            missing = [a for a in self._needs(top) if a not in self.atom_tables]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            self.atom_tables[top] = self._atom_table(top)
        return self.atom_tables[atom]

    def _atom_table(self, atom: int) -> LetterTable:
        f = _FORMULAS[atom]
        if isinstance(f, s.Atom):
            return LetterTable((self.index[f.name],), np.array([0, 1]), (FF, TT))
        if isinstance(f, s.Not):
            assert isinstance(f.operand, s.Atom)
            return LetterTable((self.index[f.operand.name],), np.array([0, 1]), (TT, FF))
        if isinstance(f, s.Next):
            return constant_table(to_dnf(f.operand))
        self_table = constant_table(to_dnf(f))
        both: Callable[[object, object], object] = dnf_and
        either: Callable[[object, object], object] = dnf_or
        if isinstance(f, s.Finally):
            return combine_tables(self._operand_table(f.operand), self_table, either)
        if isinstance(f, s.Globally):
            return combine_tables(self._operand_table(f.operand), self_table, both)
        if isinstance(f, s.Until | s.WeakUntil):
            return combine_tables(
                self._operand_table(f.right),
                combine_tables(self._operand_table(f.left), self_table, both),
                either,
            )
        if isinstance(f, s.Release | s.StrongRelease):
            return combine_tables(
                self._operand_table(f.right),
                combine_tables(self._operand_table(f.left), self_table, either),
                both,
            )
        raise TypeError(f"not an af atom: {f!r}")

    def _operand_table(self, g: s.Formula) -> LetterTable:
        return self.table(to_dnf(g))


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
