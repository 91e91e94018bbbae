"""Translation of full LTL into deterministic Emerson-Lei automata.

The construction follows the master theorem of Esparza, Křetínský and Sickert ("A unified
translation of linear temporal logic to omega-automata", J. ACM 67(6), 2020; LICS 2018). For a
formula ``phi`` in negation normal form let ``mu(phi)`` be its subformulas ``F p``, ``p U q``,
``p M q`` and ``nu(phi)`` its subformulas ``G p``, ``p R q``, ``p W q``. Write ``af`` for the
"after" function (``af(p U q, s) = af(q, s) | (af(p, s) & p U q)``, ...), ``psi[X]_nu`` for
``psi`` with each ``mu``-subformula in ``X`` weakened to its ``nu`` counterpart (``F p`` to
``true``, ``U`` to ``W``, ``M`` to ``R``) and each other one replaced by ``false``, and
``psi[Y]_mu`` dually (``G`` in ``Y`` to ``true``, else ``false``; ``W``/``R`` in ``Y`` to
``true``, else to ``U``/``M``). Then ``w |= phi`` iff for some ``X`` in ``mu(phi)`` and ``Y`` in
``nu(phi)``:

1. ``w_i |= af(phi, w_0..w_{i-1})[X]_nu`` for some ``i`` (a safety check started late);
2. ``w |= G F (psi[Y]_mu)`` for every ``psi`` in ``X``;
3. ``w |= F G (psi[X]_nu)`` for every ``psi`` in ``Y``.

Each condition is recognised by a small deterministic automaton whose states are ``af``
results, formulas kept as DNF over temporal subformulas and literals, with clauses reduced by
syntactic implication (``G p -> p -> F p``, ...; an LTL-equivalent representative keeps the
theorem valid, as its proof only uses the semantics of ``af`` results and that their fixpoint
subformulas are those of ``phi``): (1) by a safety monitor that restarts from the current
``af`` state whenever it reaches ``false`` (acceptance ``Fin``: finitely many restarts),
(2) by a monitor of ``F chi`` that is reset each time it reaches ``true`` (``Inf``), (3) by a
monitor of ``G chi`` reset at ``false`` (``Fin``); leading ``X``'s of ``chi`` are dropped
(``G F X p = G F p``). The automaton is the product of the ``af`` tracker and all monitors
(a late-safety monitor only for the ``X`` that have a consistent ``Y``), and its acceptance
is the disjunction over ``(X, Y)`` of the conjunctions above. Co-safety and safety formulas
get the plain ``af`` automaton.

Before that, the formula is simplified (:func:`objspec.ltl.simplify.simplify`) and
decomposed (Müller & Sickert's Delag, "LTL to Deterministic Emerson-Lei Automata", GandALF
2017): the operands of a top-level ``&`` or ``|`` are translated separately (all co-safety
operands as one part, all safety operands as one, each other operand alone; recursively,
and also under ``X``), and the automata are combined by a reachable synchronous product
whose acceptance is the conjunction or disjunction of theirs. :data:`MAX_FIXPOINT_SUBFORMULAS`
bounds each part that is translated by the master theorem, not the whole formula. Such a
part tries only guesses ``(X, Y)`` closed under syntactic implication (the canonical guess
of the theorem's proof is), and when its automaton has more than a few states the negation
is translated too and the complement of that automaton (complete, negate the condition)
is used if smaller. A part ``G F psi`` with ``psi`` co-safety (or ``F G psi`` with ``psi``
safety) gets one monitor instead: the ``af`` automaton of ``F psi`` restarted whenever it
reaches ``true`` (``G psi`` restarted at ``false``), see :func:`_monitor_automaton`; the
master theorem would multiply one monitor per nested ``F`` (about 20 times more states per
nesting level for ``G F (p0 & F (p1 & F ...))``). A part ``G chi`` with ``chi`` co-safety
gets the breakpoint construction of :func:`_invariance_automaton`. Every automaton is
minimised by partition refinement (states with equal
marks and equivalent successors merge) after clearing marks that cannot matter (off cycles,
or of sets no satisfiable disjunct of the component mentions), acceptance sets marking the
same transitions are merged, and the result is cached per formula.

Formulas of any depth are handled without Python recursion (explicit stacks in the
parser, printers, simplifier, ``af`` and the decomposition). The budget of a translation,
``max_states`` and ``time_limit`` of :func:`translate`, and the limits above raise
:class:`~objspec.errors.TranslationLimitError`, whose message says how to supply a
deterministic automaton in HOA format instead.

Examples
--------
>>> from objspec.ltl.translation import translate
>>> aut = translate("G F a -> G F b")
>>> aut.accepts_lasso([], [{"a"}, {"b"}]), aut.accepts_lasso([], [{"a"}])
(True, False)
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from objspec.errors import InvalidSpecificationError, TranslationLimitError
from objspec.ltl import syntax as s
from objspec.ltl.automaton import (
    AcceptanceAnd,
    AcceptanceAtom,
    AcceptanceCondition,
    AcceptanceConstant,
    AcceptanceOr,
    DeterministicAutomaton,
)
from objspec.ltl.parser import parse_formula
from objspec.ltl.simplify import (
    _postorder,
    is_eventual,
    is_universal,
    make_and,
    make_finally,
    make_globally,
    make_next,
    make_or,
    make_release,
    make_strong_release,
    make_until,
    make_weak_until,
    operands,
    simplify,
)

__all__ = ["translate", "MAX_FIXPOINT_SUBFORMULAS", "MAX_STATES", "TIME_LIMIT", "HOA_ADVICE"]

#: Largest ``|mu(psi)| + |nu(psi)|`` of one part ``psi`` translated by the master theorem
#: (the acceptance has up to 2**this disjuncts); conjunctions and disjunctions are split.
MAX_FIXPOINT_SUBFORMULAS = 14
#: Default of :func:`translate`'s ``max_states``: the largest number of automaton states (of
#: one part, one product or one master-theorem product before minimisation) built before
#: giving up.
MAX_STATES = 200_000
#: Default of :func:`translate`'s ``time_limit``, in seconds.
TIME_LIMIT = 60.0
#: How to get an automaton the translator cannot build, quoted in its limit errors.
HOA_ADVICE = (
    "translate it with an external tool instead, e.g. Spot's `ltl2tgba -D -G -H 'FORMULA'` "
    "(a deterministic automaton in HOA format), and give the automaton to the objective: "
    "LinearTemporalLogic(DeterministicAutomaton.from_hoa(text)) "
    "(objspec.ltl.automaton, objspec.ltl.hoa)"
)
#: The state limit in force (lower while trying the complement of a negation).
_STATE_BUDGET: ContextVar[int] = ContextVar("_STATE_BUDGET", default=MAX_STATES)
#: The ``time.monotonic()`` deadline in force and the time limit it came from, or None.
_DEADLINE: ContextVar[tuple[float, float] | None] = ContextVar("_DEADLINE", default=None)


def _too_many_states(phi: s.Formula) -> TranslationLimitError:
    return TranslationLimitError(
        f"the automaton of {phi} exceeds {_STATE_BUDGET.get()} states (max_states); the "
        f"formula is too large for the built-in translator: {HOA_ADVICE}"
    )


def _check_time(phi: s.Formula) -> None:
    """Raise :class:`TranslationLimitError` once the deadline in force has passed."""
    deadline = _DEADLINE.get()
    if deadline is not None and time.monotonic() > deadline[0]:
        raise TranslationLimitError(
            f"translating {phi} took more than {deadline[1]:g} s (time_limit); the formula "
            f"is too large for the built-in translator: {HOA_ADVICE}"
        )
#: General parts with more states than this also try the complement of their negation.
_TRY_COMPLEMENT_ABOVE = 4

#: A conjunction of temporal subformulas and literals, each interned as an int (formula
#: hashing is recursive and dominated the run time), and a DNF: a set of clauses.
Clause = frozenset[int]
DNF = frozenset[Clause]
TT: DNF = frozenset({frozenset()})
FF: DNF = frozenset()

_MU = (s.Finally, s.Until, s.StrongRelease)
_NU = (s.Globally, s.Release, s.WeakUntil)


@lru_cache(maxsize=200_000)
def _implies(x: s.Formula, y: s.Formula) -> bool:
    """A sound, syntactic test of the LTL implication ``x -> y``.

    ``x -> x``; ``x -> F z`` and ``x -> p U z``, ``x -> p W z`` if ``x -> z``;
    ``G z -> y``, ``p R z -> y``, ``p M z -> y`` if ``z -> y``; ``p U q -> y`` and
    ``p W q -> y`` if ``p -> y`` and ``q -> y``; ``F z -> e`` for eventual ``e`` and
    ``x -> G z`` for universal ``x`` (``e = F e``, ``x = G x``); ``X p -> X q`` if ``p -> q``;
    conjunctions and disjunctions as usual.

    Each recursive call is on a shallower pair, so the recursion depth is at most
    ``x.depth() + y.depth()``; beyond :data:`_IMPLIES_DEPTH` the test answers ``False``
    (sound, as for any implication it cannot see).
    """
    if x == y or y == s.TRUE or x == s.FALSE:
        return True
    if x.depth() + y.depth() > _IMPLIES_DEPTH:
        return False
    if isinstance(y, s.And):
        return _implies(x, y.left) and _implies(x, y.right)
    if isinstance(x, s.Or):
        return _implies(x.left, y) and _implies(x.right, y)
    if isinstance(x, s.And) and (_implies(x.left, y) or _implies(x.right, y)):
        return True
    if isinstance(y, s.Or) and (_implies(x, y.left) or _implies(x, y.right)):
        return True
    if isinstance(x, s.Next) and isinstance(y, s.Next):
        return _implies(x.operand, y.operand)
    if isinstance(y, s.Finally | s.Until | s.WeakUntil):
        target = y.operand if isinstance(y, s.Finally) else y.right
        if _implies(x, target):
            return True
    if isinstance(x, s.Globally | s.Release | s.StrongRelease):
        source = x.operand if isinstance(x, s.Globally) else x.right
        if _implies(source, y):
            return True
    if isinstance(x, s.Until | s.WeakUntil) and _implies(x.left, y) and _implies(x.right, y):
        return True
    if isinstance(x, s.Finally) and is_eventual(y) and _implies(x.operand, y):
        return True
    if isinstance(y, s.Globally) and is_universal(x) and _implies(x, y.operand):
        return True
    return False


#: Pairs deeper than this (summed nesting depths) are not compared by :func:`_implies`,
#: which bounds its recursion.
_IMPLIES_DEPTH = 200

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
    return i == j or _implies(_FORMULAS[i], _FORMULAS[j])


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
def _dnf_or(a: DNF, b: DNF) -> DNF:
    if a == TT or b == TT:
        return TT
    if not a:
        return b
    if not b:
        return a
    return _minimise(a | b)


@lru_cache(maxsize=200_000)
def _dnf_and(a: DNF, b: DNF) -> DNF:
    if not a or not b:
        return FF
    if a == TT:
        return b
    if b == TT:
        return a
    return _minimise(x | y for x in a for y in b)


@lru_cache(maxsize=100_000)
def _to_dnf(f: s.Formula) -> DNF:
    """The DNF of ``f`` over its maximal subformulas that are not ``&``, ``|`` or constants
    (an explicit-stack walk: chains of ``&``/``|`` of any length or depth)."""
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
        combine = _dnf_and if isinstance(g, s.And) else _dnf_or
        acc = done[id(parts[0])]
        for h in parts[1:]:
            acc = combine(acc, done[id(h)])
        done[id(g)] = acc
    return done[id(f)]


def _from_dnf(d: DNF) -> s.Formula:
    """The DNF as a formula over the same atoms.

    Plain ``And``/``Or`` nodes, not :func:`make_and`: its rewriting (``F p | F q`` to
    ``F (p | q)``, ...) would introduce fixpoint formulas that are not subformulas of the
    translated formula, which :func:`_weaken` must see as they are.
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


class _After:
    """The after function ``af`` on monotone DNFs, memoised per letter."""

    def __init__(self, propositions: tuple[str, ...]) -> None:
        self.index = {p: i for i, p in enumerate(propositions)}
        self.atom_cache: dict[tuple[int, int], DNF] = {}
        self.dnf_cache: dict[tuple[DNF, int], DNF] = {}

    def formula(self, f: s.Formula, letter: int) -> DNF:
        return self.dnf(_to_dnf(f), letter)

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
        return [a for g in subs for clause in _to_dnf(g) for a in clause]

    def _atom(self, atom: int, letter: int) -> DNF:
        key = (atom, letter)
        f = _FORMULAS[atom]
        if isinstance(f, s.Atom):
            out = TT if (letter >> self.index[f.name]) & 1 else FF
        elif isinstance(f, s.Not):
            assert isinstance(f.operand, s.Atom)
            out = FF if (letter >> self.index[f.operand.name]) & 1 else TT
        elif isinstance(f, s.Next):
            out = _to_dnf(f.operand)
        elif isinstance(f, s.Finally):
            out = _dnf_or(self.formula(f.operand, letter), _to_dnf(f))
        elif isinstance(f, s.Globally):
            out = _dnf_and(self.formula(f.operand, letter), _to_dnf(f))
        elif isinstance(f, s.Until | s.WeakUntil):
            out = _dnf_or(
                self.formula(f.right, letter),
                _dnf_and(self.formula(f.left, letter), _to_dnf(f)),
            )
        elif isinstance(f, s.Release | s.StrongRelease):
            out = _dnf_and(
                self.formula(f.right, letter),
                _dnf_or(self.formula(f.left, letter), _to_dnf(f)),
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
                conj = _dnf_and(conj, self.atom(atom, letter))
                if not conj:
                    break
            out = _dnf_or(out, conj)
            if out == TT:
                break
        self.dnf_cache[key] = out
        return out


def _substitute_fixpoints(
    f: s.Formula,
    rule: Callable[[s.Formula, list[s.Formula]], s.Formula | None],
) -> s.Formula:
    """Rebuild ``f`` (in negation normal form) bottom-up with the smart constructors,
    ``rule(g, operand_results)`` deciding the fixpoint nodes it returns a formula for
    (an explicit-stack walk, :func:`objspec.ltl.simplify._postorder`)."""
    rebuild: dict[type, Callable[..., s.Formula]] = {
        s.And: make_and, s.Or: make_or, s.Next: make_next, s.Finally: make_finally,
        s.Globally: make_globally, s.Until: make_until, s.Release: make_release,
        s.WeakUntil: make_weak_until, s.StrongRelease: make_strong_release,
    }

    def leaf(g: s.Formula) -> s.Formula | None:
        if isinstance(g, s.Constant | s.Atom | s.Not):
            return g
        if type(g) not in rebuild:
            raise TypeError(f"not in negation normal form: {g!r}")
        return None

    def expand(g: s.Formula) -> list[s.Formula]:
        return list(g.children())

    def combine(g: s.Formula, r: list[s.Formula]) -> s.Formula:
        out = rule(g, r)
        return rebuild[type(g)](*r) if out is None else out

    return _postorder(f, id, leaf, expand, combine)


def _weaken(f: s.Formula, chosen: frozenset[s.Formula]) -> s.Formula:
    """``f[X]_nu``: mu-subformulas in X become their nu versions, others ``false``."""

    def rule(g: s.Formula, r: list[s.Formula]) -> s.Formula | None:
        if isinstance(g, s.Finally):
            return s.TRUE if g in chosen else s.FALSE
        if isinstance(g, s.Until):
            return make_weak_until(*r) if g in chosen else s.FALSE
        if isinstance(g, s.StrongRelease):
            return make_release(*r) if g in chosen else s.FALSE
        return None

    return _substitute_fixpoints(f, rule)


def _strengthen(f: s.Formula, chosen: frozenset[s.Formula]) -> s.Formula:
    """``f[Y]_mu``: nu-subformulas in Y become ``true``, others their mu versions (G: false)."""

    def rule(g: s.Formula, r: list[s.Formula]) -> s.Formula | None:
        if isinstance(g, s.Globally):
            return s.TRUE if g in chosen else s.FALSE
        if isinstance(g, s.WeakUntil):
            return s.TRUE if g in chosen else make_until(*r)
        if isinstance(g, s.Release):
            return s.TRUE if g in chosen else make_strong_release(*r)
        return None

    return _substitute_fixpoints(f, rule)


def _eventually_implies(x: s.Formula, m: s.Formula) -> bool:
    """A sound syntactic test of ``x -> F m`` (so ``G F x -> G F m``); recursion bounded
    as in :func:`_implies`."""
    if _implies(x, m):
        return True
    if x.depth() + m.depth() > _IMPLIES_DEPTH:
        return False
    if isinstance(x, s.Finally):
        return _eventually_implies(x.operand, m)
    if isinstance(x, s.Until):
        return _eventually_implies(x.right, m)
    if isinstance(x, s.StrongRelease):
        return _eventually_implies(s.And(x.left, x.right), m)
    if isinstance(x, s.And):
        return _eventually_implies(x.left, m) or _eventually_implies(x.right, m)
    if isinstance(x, s.Or):
        return _eventually_implies(x.left, m) and _eventually_implies(x.right, m)
    return False


def _closed_choices(
    mu: list[s.Formula], nu: list[s.Formula]
) -> tuple[
    list[frozenset[s.Formula]],
    list[frozenset[s.Formula]],
    dict[frozenset[s.Formula], frozenset[s.Formula]],
]:
    """The guesses ``X``, ``Y`` worth trying, and the ``X`` part each ``Y`` forces.

    The proof of the master theorem (Esparza, Křetínský, Sickert 2020) shows that a word
    satisfying ``phi`` meets the three conditions for ``X = {psi in mu : w |= G F psi}`` and
    ``Y = {psi in nu : w |= F G psi}``; any other pair is only ever sound. Those two sets
    are closed: ``x -> F m`` with ``x`` in ``X`` puts ``m`` in ``X`` (``G F x -> G F m``),
    ``y -> n`` with ``y`` in ``Y`` puts ``n`` in ``Y`` (``F G y -> F G n``), and
    ``y -> F m`` with ``y`` in ``Y`` puts ``m`` in ``X``. Only closed pairs are returned
    (with syntactic implication tests, so the families only shrink where it is sure).
    """
    x_choices = [
        x for x in _subsets(mu)
        if all(m in x for a in x for m in mu if m not in x and _eventually_implies(a, m))
    ]
    y_choices = [
        y for y in _subsets(nu)
        if all(n in y for a in y for n in nu if n not in y and _implies(a, n))
    ]
    y_needs = {
        y: frozenset(m for m in mu if any(_eventually_implies(a, m) for a in y))
        for y in y_choices
    }
    return x_choices, y_choices, y_needs


def _subsets(items: Iterable[s.Formula]) -> list[frozenset[s.Formula]]:
    pool = sorted(set(items), key=str)
    return [
        frozenset(c) for r in range(len(pool) + 1) for c in itertools.combinations(pool, r)
    ]


def _strip_next(f: s.Formula) -> s.Formula:
    while isinstance(f, s.Next):
        f = f.operand
    return f


class _Monitor:
    """One component of the product: a DNF state with a reset rule and a mark."""

    def __init__(self, kind: str, formula: s.Formula | None, chosen: frozenset[s.Formula]):
        self.kind = kind  # "late-safety", "recurrence" or "persistence"
        self.chosen = chosen
        # G F X p = G F p and F G X p = F G p: leading X's are dropped from the monitored
        # F chi / G chi (they only delay the monitor).
        if kind == "recurrence":
            assert formula is not None
            self.reset: DNF = _to_dnf(_strip_next(make_finally(formula)))
        elif kind == "persistence":
            assert formula is not None
            self.reset = _to_dnf(_strip_next(make_globally(formula)))
        else:
            self.reset = FF
        self._starts: dict[DNF, DNF] = {}

    def start(self, main: DNF) -> DNF:
        if self.kind != "late-safety":
            return self.reset
        hit = self._starts.get(main)
        if hit is None:
            hit = _to_dnf(_weaken(_from_dnf(main), self.chosen))
            self._starts[main] = hit
        return hit

    def step(self, after: _After, state: DNF, letter: int, main_next: DNF) -> tuple[DNF, bool]:
        nxt = after.dnf(state, letter)
        if self.kind == "recurrence":
            if nxt == TT:
                return self.reset, True
            return nxt, False
        if not nxt:
            if self.kind == "late-safety":
                return self.start(main_next), True
            return self.reset, True
        return nxt, False


def _fixpoint_subformulas(
    phi: s.Formula, ordered: bool = True
) -> tuple[list[s.Formula], list[s.Formula]]:
    """``mu(phi)`` and ``nu(phi)``, sorted by their text if ``ordered`` (a canonical order,
    costly for many deep subformulas: the callers that only test emptiness skip it)."""
    subs = phi.subformulas()
    mu: list[s.Formula] = [f for f in subs if isinstance(f, _MU)]
    nu: list[s.Formula] = [f for f in subs if isinstance(f, _NU)]
    if ordered:
        mu.sort(key=str)
        nu.sort(key=str)
    return mu, nu


def _explore(
    phi: s.Formula,
    propositions: tuple[str, ...],
    monitors: list[_Monitor],
    track: bool = True,
) -> tuple[np.ndarray, list[list[list[int]]], list[tuple[DNF, ...]]]:
    """Build the product of the ``af`` tracker of ``phi`` (a constant ``false`` component
    if not ``track``) and the monitors, breadth first from the initial state."""
    after = _After(propositions)
    n_letters = 1 << len(propositions)
    main0 = _to_dnf(phi) if track else FF
    start = (main0, *(m.start(main0) for m in monitors))
    index = {start: 0}
    states = [start]
    succ_rows: list[list[int]] = []
    mark_rows: list[list[list[int]]] = []
    i = 0
    while i < len(states):
        if i % 64 == 0:
            _check_time(phi)
        state = states[i]
        srow, mrow = [], []
        for letter in range(n_letters):
            main_next = after.dnf(state[0], letter)
            parts: list[DNF] = [main_next]
            mark: list[int] = []
            for k, m in enumerate(monitors):
                nxt, fired = m.step(after, state[k + 1], letter, main_next)
                parts.append(nxt)
                if fired:
                    mark.append(k)
            key = tuple(parts)
            j = index.get(key)
            if j is None:
                j = len(states)
                if j >= _STATE_BUDGET.get():
                    raise _too_many_states(phi)
                index[key] = j
                states.append(key)
            srow.append(j)
            mrow.append(mark)
        succ_rows.append(srow)
        mark_rows.append(mrow)
        i += 1
    return np.array(succ_rows, dtype=np.int64), mark_rows, states


def _row_classes(a: np.ndarray) -> np.ndarray:
    """``[n]`` int: equal rows of a 2-d array get equal numbers (rows compared as bytes,
    which is much faster than ``np.unique(axis=0)`` on wide rows)."""
    a = np.ascontiguousarray(a)
    if a.shape[1] == 0:
        return np.zeros(a.shape[0], dtype=np.int64)
    rows = a.view(np.dtype((np.void, a.dtype.itemsize * a.shape[1]))).ravel()
    _, inverse = np.unique(rows, return_inverse=True)
    return inverse.ravel()


def _minimise_automaton(
    succ: np.ndarray, marks: np.ndarray, initial: int
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """Merge states with equal mark rows and equivalent successors (Moore refinement)."""
    n = succ.shape[0]
    block = _row_classes(marks)
    block = block.ravel()
    while True:
        signature = np.concatenate([block[:, None], np.where(succ >= 0, block[succ], -1)], axis=1)
        new_block = _row_classes(signature)
        new_block = new_block.ravel()
        if new_block.max() == block.max():
            block = new_block
            break
        block = new_block
    n_blocks = int(block.max()) + 1
    if n_blocks == n:
        return succ, marks, initial, np.arange(n)
    # Renumber blocks in order of first occurrence, the initial state's block first.
    order: dict[int, int] = {int(block[initial]): 0}
    for b in block.tolist():
        if b not in order:
            order[b] = len(order)
    remap = np.array([order[b] for b in range(n_blocks)])
    rep = np.zeros(n_blocks, dtype=np.int64)
    rep[remap[block[::-1]]] = np.arange(n)[::-1]
    new_succ = np.where(succ[rep] >= 0, remap[block[np.maximum(succ[rep], 0)]], -1)
    return new_succ, marks[rep], 0, remap[block]


def _prune(succ: np.ndarray, marks: np.ndarray, initial: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep the states reachable from ``initial`` (renumbered in order, initial first)."""
    seen = {initial: 0}
    order = [initial]
    i = 0
    while i < len(order):
        for j in succ[order[i]].tolist():
            if j >= 0 and j not in seen:
                seen[j] = len(order)
                order.append(j)
        i += 1
    remap = np.full(succ.shape[0] + 1, -1, dtype=np.int64)
    for old, new in seen.items():
        remap[old] = new
    kept = np.array(order)
    return remap[succ[kept]], marks[kept]


def _safety_or_cosafety(
    phi: s.Formula, propositions: tuple[str, ...], cosafety: bool, partial: bool = False
) -> DeterministicAutomaton:
    """The ``af`` automaton of a co-safety (Büchi on reaching ``true``) or safety formula.

    A safety automaton is complete, with ``Fin(0)`` on the transitions of the ``false`` sink,
    or with ``partial`` the sink's transitions left out and acceptance ``t`` (the form
    used inside products).
    """
    succ, _, states = _explore(phi, propositions, [])
    target = TT if cosafety else FF
    marks = np.zeros_like(succ)
    for q, state in enumerate(states):
        if state[0] == target:
            marks[q, :] = 1
    if partial and not cosafety:
        hopeless = np.array([state[0] == FF for state in states])
        if hopeless[0]:
            return _constant_automaton(False, propositions, str(phi))
        succ = np.where(hopeless[succ], -1, succ)
        succ, marks = _prune(succ, np.zeros_like(succ), 0)
        succ, marks, initial, _ = _minimise_automaton(succ, marks, 0)
        return DeterministicAutomaton(
            propositions, succ, marks, AcceptanceConstant(True), 0, initial, name=str(phi)
        )
    if cosafety:
        # A co-safety run that reaches false is lost: leave those transitions out.
        hopeless = np.array([state[0] == FF for state in states])
        succ = np.where(hopeless[succ], -1, succ)
        succ, marks = _prune(succ, marks, 0)
    acceptance = AcceptanceAtom(cosafety, 0)
    succ, marks, initial, _ = _minimise_automaton(succ, marks, 0)
    return DeterministicAutomaton(
        propositions, succ, marks, acceptance, 1, initial,
        acceptance_name="Buchi" if cosafety else "co-Buchi", name=str(phi),
    )


def _general(phi: s.Formula, propositions: tuple[str, ...]) -> DeterministicAutomaton:
    mu, nu = _fixpoint_subformulas(phi, ordered=False)
    if len(mu) + len(nu) <= MAX_FIXPOINT_SUBFORMULAS:
        mu, nu = _fixpoint_subformulas(phi)
    else:
        raise TranslationLimitError(
            f"{phi} has {len(mu) + len(nu)} fixpoint subformulas (F, G, U, R, W, M) in one "
            f"component that cannot be split at a top-level & or |; the translator handles "
            f"at most {MAX_FIXPOINT_SUBFORMULAS}, so the formula is too large for the "
            f"built-in translator: {HOA_ADVICE}"
        )
    monitors: list[_Monitor] = []
    monitor_index: dict[tuple[str, object], int] = {}

    def monitor(kind: str, formula: s.Formula | None, chosen: frozenset[s.Formula]) -> int:
        # G F / F G monitors of the same F chi / G chi (as a DNF) are shared
        candidate = _Monitor(kind, formula, chosen)
        key: tuple[str, object] = (kind, chosen if kind == "late-safety" else candidate.reset)
        if key not in monitor_index:
            monitor_index[key] = len(monitors)
            monitors.append(candidate)
        return monitor_index[key]

    disjuncts: list[frozenset[AcceptanceAtom]] = []
    x_choices, y_choices, y_needs = _closed_choices(mu, nu)
    for x in x_choices:
        persistence: dict[s.Formula, s.Formula] = {psi: _weaken(psi, x) for psi in nu}
        recurrence: dict[tuple[s.Formula, frozenset[s.Formula]], s.Formula] = {}
        late: int | None = None
        for y in y_choices:
            if not y_needs[y] <= x:
                continue
            atoms: set[AcceptanceAtom] = set()
            feasible = True
            for psi in sorted(x, key=str):
                chi = recurrence.get((psi, y))
                if chi is None:
                    chi = recurrence[(psi, y)] = _strengthen(psi, y)
                if chi == s.FALSE:
                    feasible = False
                    break
                if chi != s.TRUE:
                    atoms.add(AcceptanceAtom(True, monitor("recurrence", chi, frozenset())))
            if not feasible:
                continue
            for psi in sorted(y, key=str):
                chi = persistence[psi]
                if chi == s.FALSE:
                    feasible = False
                    break
                if chi != s.TRUE:
                    atoms.add(AcceptanceAtom(False, monitor("persistence", chi, frozenset())))
            if feasible:
                if late is None:
                    # the late-safety monitor of X only when some (X, Y) is feasible
                    late = monitor("late-safety", None, x)
                atoms.add(AcceptanceAtom(False, late))
                disjuncts.append(frozenset(atoms))
    succ, mark_rows, _ = _explore(phi, propositions, monitors)
    table = _mark_table(mark_rows, len(monitors))
    condition = _condition_from_dnf(disjuncts)
    return _finish(phi, propositions, succ, table, condition, 0)


#: Acceptance sets are int64 bitmasks.
MAX_ACCEPTANCE_SETS = 62
#: Conjunctions of acceptance conditions are put in disjunctive normal form when that has at
#: most this many terms (else kept nested).
_MAX_DNF = 1024


def _mark_table(mark_rows: list[list[list[int]]], n_sets: int) -> np.ndarray:
    """``[Q * L, n_sets]`` bool: which sets each transition (row-major) belongs to."""
    n_states, n_letters = len(mark_rows), len(mark_rows[0])
    table = np.zeros((n_states * n_letters, n_sets), dtype=bool)
    flat_pos, flat_set = [], []
    for q, row in enumerate(mark_rows):
        for letter, fired in enumerate(row):
            for k in fired:
                flat_pos.append(q * n_letters + letter)
                flat_set.append(k)
    table[flat_pos, flat_set] = True
    return table


def _condition_from_dnf(disjuncts: Iterable[Iterable[AcceptanceAtom]]) -> AcceptanceCondition:
    terms: list[AcceptanceCondition] = []
    for conj in disjuncts:
        atoms = sorted(conj, key=lambda a: (a.index, a.infinitely))
        if not atoms:
            return AcceptanceConstant(True)
        terms.append(atoms[0] if len(atoms) == 1 else AcceptanceAnd(tuple(atoms)))
    if not terms:
        return AcceptanceConstant(False)
    return terms[0] if len(terms) == 1 else AcceptanceOr(tuple(terms))


def _substitute(
    cond: AcceptanceCondition, atom_value: dict[int, tuple[bool, bool] | int]
) -> AcceptanceCondition:
    """Rename sets and fold constants.

    ``atom_value[i]`` is a new set index, or ``(inf, fin)``: the constant values of
    ``Inf(i)`` and ``Fin(i)`` for a set on no transition (``(False, True)``) or on all
    (``(True, False)``).
    """
    if isinstance(cond, AcceptanceConstant):
        return cond
    if isinstance(cond, AcceptanceAtom):
        assert not cond.complemented
        value = atom_value[cond.index]
        if isinstance(value, tuple):
            return AcceptanceConstant(value[0] if cond.infinitely else value[1])
        return AcceptanceAtom(cond.infinitely, value)
    assert isinstance(cond, AcceptanceAnd | AcceptanceOr)
    conj = isinstance(cond, AcceptanceAnd)
    parts: list[AcceptanceCondition] = []
    for c in cond.operands:
        sub = _substitute(c, atom_value)
        if isinstance(sub, AcceptanceConstant):
            if sub.value != conj:
                return sub  # false in a conjunction, true in a disjunction
            continue
        if isinstance(sub, type(cond)):
            parts.extend(sub.operands)
        elif sub not in parts:
            parts.append(sub)
    if not parts:
        return AcceptanceConstant(conj)
    if len(parts) == 1:
        return parts[0]
    return AcceptanceAnd(tuple(parts)) if conj else AcceptanceOr(tuple(parts))


def _contradictory(conj: frozenset[AcceptanceAtom]) -> bool:
    """Whether a conjunction has both ``Inf(i)`` and ``Fin(i)`` (it can never hold)."""
    return any(a.infinitely and AcceptanceAtom(False, a.index) in conj for a in conj)


def _dnf_of(cond: AcceptanceCondition, cap: int) -> list[frozenset[AcceptanceAtom]] | None:
    """The condition as a list of minimal conjunctions, or ``None`` when distributing a
    conjunction over disjunctions would give more than ``cap`` terms (disjunctions are
    never refused: the master theorem's conditions are disjunctions of conjunctions)."""
    if isinstance(cond, AcceptanceConstant):
        return [frozenset()] if cond.value else []
    if isinstance(cond, AcceptanceAtom):
        return [frozenset({cond})]
    assert isinstance(cond, AcceptanceAnd | AcceptanceOr)
    parts = []
    for c in cond.operands:
        d = _dnf_of(c, cap)
        if d is None:
            return None
        parts.append(d)
    if isinstance(cond, AcceptanceOr):
        return _subsumption_free(t for d in parts for t in d)
    out: list[frozenset[AcceptanceAtom]] = [frozenset()]
    for d in sorted(parts, key=len):
        if len(out) * len(d) > cap:
            return None
        out = _subsumption_free(
            t for t in (a | b for a in out for b in d) if not _contradictory(t)
        )
    return out


def _subsumption_free(
    terms: Iterable[frozenset[AcceptanceAtom]],
) -> list[frozenset[AcceptanceAtom]]:
    """The terms (conjunctions) that contain no other term, without repetitions."""
    kept: list[frozenset[AcceptanceAtom]] = []
    for t in sorted(set(terms), key=len):
        if not any(o <= t for o in kept):
            kept.append(t)
    return kept


def _merge_equal_sets(
    phi: s.Formula, table: np.ndarray, condition: AcceptanceCondition, cyclic: np.ndarray
) -> tuple[np.ndarray, AcceptanceCondition]:
    """Give sets that mark the same transitions one index; settle sets marking none or all.

    ``Inf(i)`` and ``Fin(i)`` depend only on which transitions carry ``i``, so sets with
    equal columns of ``table`` are interchangeable; a set on no transition makes ``Inf``
    false and ``Fin`` true, and one on every transition that lies on a cycle (``cyclic``,
    the only ones a run can take infinitely often) the reverse. Returns int64 mark
    bitmasks (one per transition) and the rewritten condition.
    """
    n_sets = table.shape[1]
    if n_sets == 0:
        return np.zeros(table.shape[0], dtype=np.int64), condition
    packed = np.packbits(table, axis=0)
    never: np.ndarray = np.asarray(~table.any(axis=0))
    always: np.ndarray = np.asarray(table[cyclic].all(axis=0))
    inverse = _row_classes(packed.T)
    inverse = inverse.ravel()
    atom_value: dict[int, tuple[bool, bool] | int] = {}
    dense: dict[int, int] = {}
    mentioned = condition.sets()
    for i in range(n_sets):
        if never[i]:
            atom_value[i] = (False, True)
        elif always[i]:
            atom_value[i] = (True, False)
        elif i in mentioned:
            atom_value[i] = dense.setdefault(int(inverse[i]), len(dense))
    if len(dense) > MAX_ACCEPTANCE_SETS:
        raise TranslationLimitError(
            f"the automaton of {phi} needs {len(dense)} acceptance sets; at most "
            f"{MAX_ACCEPTANCE_SETS} are supported, so the formula is too large for the "
            f"built-in translator: {HOA_ADVICE}"
        )
    new_condition = _substitute(condition, atom_value)
    marks = np.zeros(table.shape[0], dtype=np.int64)
    written: set[int] = set()
    for old, new in atom_value.items():
        if isinstance(new, int) and new not in written:
            written.add(new)
            marks |= table[:, old].astype(np.int64) << new
    return marks, new_condition


def _tidy_acceptance(
    condition: AcceptanceCondition, marks: np.ndarray
) -> tuple[AcceptanceCondition, int, np.ndarray]:
    """Drop sets no transition uses and subsumed disjuncts; renumber sets densely.

    Conditions whose disjunctive normal form is small (see :func:`_dnf_of`) are put in
    minimal, sorted DNF; others are kept as they are.
    """
    used = 0
    for m in np.unique(marks).tolist():
        used |= int(m)
    unused: dict[int, tuple[bool, bool] | int] = {
        i: (i if (used >> i) & 1 else (False, True)) for i in condition.sets()
    }
    condition = _substitute(condition, unused)
    dnf = _dnf_of(condition, _MAX_DNF)
    if dnf is not None:
        condition = _condition_from_dnf(
            sorted(dnf, key=lambda c: sorted((a.index, a.infinitely) for a in c))
        )
    if isinstance(condition, AcceptanceConstant):
        return condition, 0, np.zeros_like(marks)
    mentioned = sorted(condition.sets()) if dnf is None else sorted(
        {a.index for c in dnf for a in c}
    )
    renumber: dict[int, tuple[bool, bool] | int] = {
        old: new for new, old in enumerate(mentioned)
    }
    new_marks = np.zeros_like(marks)
    for old, new in renumber.items():
        assert isinstance(new, int)
        new_marks |= ((marks >> old) & 1) << new
    return _substitute(condition, renumber), len(mentioned), new_marks


def _on_cycles(succ: np.ndarray) -> np.ndarray:
    """``[Q, L]`` bool: the transition exists and lies inside a strongly connected component."""
    n, n_letters = succ.shape
    exists = succ >= 0
    src = np.repeat(np.arange(n), n_letters)[exists.reshape(-1)]
    dst = succ[exists]
    graph = sp.csr_matrix((np.ones(src.size, dtype=np.int8), (src, dst)), shape=(n, n))
    _, comp = csgraph.connected_components(graph, directed=True, connection="strong")
    return exists & (comp[:, None] == comp[np.maximum(succ, 0)])


def _finish(
    phi: s.Formula,
    propositions: tuple[str, ...],
    succ: np.ndarray,
    table: np.ndarray,
    condition: AcceptanceCondition,
    initial: int,
) -> DeterministicAutomaton:
    """Merge equal sets, minimise, tidy the acceptance: the automaton from its raw parts.

    Marks that cannot matter are cleared first, which keeps the language and lets more
    states merge: marks of missing transitions and of transitions between different
    strongly connected components (acceptance only looks at the transitions a run takes
    infinitely often, which all lie in one component), and, per component, the marks of
    sets that no disjunct still satisfiable there mentions (see :func:`_relevant_sets`).
    Minimisation and clearing alternate until nothing changes (at most three rounds).
    """
    table = table.copy()
    for _ in range(3):
        cyclic = _on_cycles(succ).reshape(-1)
        table[~cyclic] = False
        flat, condition = _merge_equal_sets(phi, table, condition, cyclic)
        marks = flat.reshape(succ.shape)
        if isinstance(condition, AcceptanceConstant):
            marks = np.zeros_like(marks)
        succ, marks, initial, _ = _minimise_automaton(succ, marks, initial)
        condition, n_sets, marks = _tidy_acceptance(condition, marks)
        # Tidying may have dropped sets, which can make more states equivalent.
        marks = np.where(_on_cycles(succ), marks, 0)
        succ, marks, initial, _ = _minimise_automaton(succ, marks, initial)
        cleared = marks & _relevant_sets(succ, marks, condition)[:, None]
        if np.array_equal(cleared, marks):
            break
        table = ((cleared.reshape(-1)[:, None] >> np.arange(n_sets)) & 1).astype(bool)
    else:
        succ, marks, initial, _ = _minimise_automaton(succ, cleared, initial)
        condition, n_sets, marks = _tidy_acceptance(condition, marks)
    return DeterministicAutomaton(
        propositions, succ, marks, condition, n_sets, initial, name=str(phi)
    )


def _relevant_sets(
    succ: np.ndarray, marks: np.ndarray, condition: AcceptanceCondition
) -> np.ndarray:
    """``[Q]`` int64: per state, the sets whose marks can matter in its component.

    A run's infinity set lies in one strongly connected component ``C``. A disjunct of the
    condition with ``Inf(j)`` for a set ``j`` that no transition of ``C`` carries is false
    on every cycle of ``C``, and stays false whatever happens to other sets; the disjuncts
    that remain only mention some sets, and the marks of all other sets can be removed in
    ``C`` without changing which cycles of ``C`` are accepting. Conditions not in small
    disjunctive normal form keep all sets.
    """
    n, n_letters = succ.shape
    everything = np.full(n, -1, dtype=np.int64)
    dnf = _dnf_of(condition, _MAX_DNF)
    if dnf is None or not dnf or n * len(dnf) > 10_000_000:
        return everything
    inf_masks = np.array([sum(1 << a.index for a in c if a.infinitely) for c in dnf],
                         dtype=np.int64)
    all_masks = np.array([sum(1 << a.index for a in c) for c in dnf], dtype=np.int64)
    exists = succ >= 0
    src = np.repeat(np.arange(n), n_letters)[exists.reshape(-1)]
    dst = succ[exists]
    graph = sp.csr_matrix((np.ones(src.size, dtype=np.int8), (src, dst)), shape=(n, n))
    n_comp, comp = csgraph.connected_components(graph, directed=True, connection="strong")
    inside = comp[src] == comp[dst]
    present = np.zeros(n_comp, dtype=np.int64)
    np.bitwise_or.at(present, comp[src[inside]], marks[exists][inside])
    values, which = np.unique(present, return_inverse=True)
    live = (values[:, None] & inf_masks[None, :]) == inf_masks[None, :]
    keep = np.bitwise_or.reduce(np.where(live, all_masks[None, :], 0), axis=1)
    return keep[which.ravel()][comp]


def _constant_automaton(
    value: bool, propositions: tuple[str, ...], name: str
) -> DeterministicAutomaton:
    shape = (1, 1 << len(propositions))
    return DeterministicAutomaton(
        propositions, np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64),
        AcceptanceConstant(value), 0, name=name,
    )


def _components(phi: s.Formula) -> tuple[bool, list[s.Formula]]:
    """Split a top-level ``&`` (``True``) or ``|`` into the parts translated separately.

    The operands without ``G R W`` (co-safety) form one part, those without ``F U M``
    (safety) another, operands with neither (pure ``X``/boolean) join the co-safety part if
    there is one, else the safety part, and every other operand is a part of its own.
    Co-safety and safety languages are closed under ``&`` and ``|``, so each of the two
    groups still gets the small weak automaton of :func:`_safety_or_cosafety`.
    """
    conj = isinstance(phi, s.And)
    kind: type = s.And if conj else s.Or
    finite, cosafety, safety, general = [], [], [], []
    for g in operands(phi, kind):
        mu, nu = _fixpoint_subformulas(g, ordered=False)
        if not mu and not nu:
            finite.append(g)
        elif not nu:
            cosafety.append(g)
        elif not mu:
            safety.append(g)
        else:
            general.append(g)
    if cosafety:
        cosafety += finite
    else:
        safety += finite
    parts: list[s.Formula] = []
    for group in (cosafety, safety):
        if group:
            f = group[0]
            for g in group[1:]:
                f = kind(f, g)
            parts.append(f)
    return conj, parts + general


def _product(
    phi: s.Formula, parts: list[DeterministicAutomaton], conj: bool
) -> DeterministicAutomaton:
    """Synchronous product of automata over one alphabet, for ``&`` (``conj``) or ``|``.

    A run of the product follows the runs of all parts; its acceptance is the conjunction
    (disjunction) of theirs, with the sets renumbered apart. For ``&`` the product dies
    when one part dies; for ``|`` a dead part goes to a sink marked by a fresh set ``d``
    and its condition becomes ``cond & Fin(d)``, and the product dies when all parts are
    dead. Only reachable states are built. The product of two parts is built and
    minimised before the next part is added, smallest parts first. This is the
    decomposition of Delag (Müller & Sickert, "LTL to Deterministic Emerson-Lei Automata",
    GandALF 2017).
    """
    ordered = sorted(parts, key=lambda a: a.n_states)
    acc = ordered[0]
    for other in ordered[1:]:
        acc = _pair_product(phi, acc, other, conj)
    return acc


def _with_sink(
    aut: DeterministicAutomaton, n_sets: int
) -> tuple[np.ndarray, np.ndarray, AcceptanceCondition, int]:
    """A complete copy: missing transitions go to a sink whose loops carry set ``n_sets``."""
    succ, marks = aut.successors, aut.marks
    condition = aut.acceptance
    if aut.is_complete:
        return succ, marks, condition, n_sets
    n = aut.n_states
    sink_bit = np.int64(1) << n_sets
    succ = np.vstack([np.where(succ < 0, n, succ), np.full((1, succ.shape[1]), n)])
    marks = np.vstack([marks, np.full((1, marks.shape[1]), sink_bit)])
    condition = AcceptanceAnd((condition, AcceptanceAtom(False, n_sets)))
    return succ, marks, condition, n_sets + 1


def _shift(cond: AcceptanceCondition, offset: int) -> AcceptanceCondition:
    if offset == 0:
        return cond
    return _substitute(cond, {i: i + offset for i in cond.sets()})


def _pair_product(
    phi: s.Formula, a: DeterministicAutomaton, b: DeterministicAutomaton, conj: bool
) -> DeterministicAutomaton:
    if conj:
        sa, ma, ca, na_sets = a.successors, a.marks, a.acceptance, a.n_sets
        sb, mb, cb, nb_sets = b.successors, b.marks, b.acceptance, b.n_sets
    else:
        sa, ma, ca, na_sets = _with_sink(a, a.n_sets)
        sb, mb, cb, nb_sets = _with_sink(b, b.n_sets)
    n_letters = sa.shape[1]
    nb = sb.shape[0]
    dead_a = a.n_states if sa.shape[0] > a.n_states else -2
    dead_b = b.n_states if sb.shape[0] > b.n_states else -2

    def step(codes: np.ndarray) -> np.ndarray:
        qa, qb = np.divmod(codes, nb)
        ta, tb = sa[qa], sb[qb]
        out = ta * nb + tb
        if conj:
            out[(ta < 0) | (tb < 0)] = -1
        else:
            out[(ta == dead_a) & (tb == dead_b)] = -1
        return out

    start = np.array([a.initial * nb + b.initial], dtype=np.int64)
    visited = start
    frontier = start
    while frontier.size:
        nxt = np.unique(step(frontier))
        nxt = nxt[nxt >= 0]
        new = nxt[~np.isin(nxt, visited)]
        visited = np.concatenate([visited, new])
        if visited.size > _STATE_BUDGET.get():
            raise _too_many_states(phi)
        _check_time(phi)
        frontier = new
    order = np.argsort(visited, kind="stable")
    ordered_codes = visited[order]
    targets = step(visited)
    pos = np.searchsorted(ordered_codes, np.maximum(targets, 0))
    succ = np.where(targets >= 0, order[np.minimum(pos, order.size - 1)], -1)
    qa, qb = np.divmod(visited, nb)
    table = np.zeros((visited.size * n_letters, na_sets + nb_sets), dtype=bool)
    flat_a = ma[qa].reshape(-1)
    flat_b = mb[qb].reshape(-1)
    for i in range(na_sets):
        table[:, i] = (flat_a >> i) & 1
    for i in range(nb_sets):
        table[:, na_sets + i] = (flat_b >> i) & 1
    parts = (ca, _shift(cb, na_sets))
    condition: AcceptanceCondition = AcceptanceAnd(parts) if conj else AcceptanceOr(parts)
    condition = _substitute(condition, {i: i for i in condition.sets()})
    return _finish(phi, a.propositions, succ, table, condition, 0)


def _delayed(
    phi: s.Formula, inner: DeterministicAutomaton, steps: int = 1
) -> DeterministicAutomaton:
    """The automaton of ``X^steps psi`` from that of ``psi``: a chain of ``steps`` new
    states, the first initial, each moving to the next on every letter and the last to
    ``psi``'s initial state (so the decomposition also applies under ``X``)."""
    n_letters = inner.successors.shape[1]
    chain = np.repeat(np.arange(1, steps + 1, dtype=np.int64)[:, None], n_letters, axis=1)
    chain[-1] = inner.initial + steps
    succ = np.vstack([chain, np.where(inner.successors >= 0, inner.successors + steps, -1)])
    marks = np.vstack([np.zeros((steps, n_letters), dtype=np.int64),
                       inner.marks]).reshape(-1)
    table = ((marks[:, None] >> np.arange(inner.n_sets)) & 1).astype(bool)
    return _finish(phi, inner.propositions, succ, table, inner.acceptance, 0)


def _translate_nnf(
    phi: s.Formula,
    propositions: tuple[str, ...],
    memo: dict[tuple[s.Formula, bool], DeterministicAutomaton],
    part: bool = False,
    decompose: bool = True,
    complement: bool = True,
) -> DeterministicAutomaton:
    """Translate a simplified formula in negation normal form (memoised in ``memo``).

    ``part``: the automaton is a factor of a product, where safety automata are partial.
    ``decompose=False`` builds one master-theorem automaton for the whole formula and
    ``complement=False`` never uses the complement of the negation's automaton (see
    :func:`_general_or_complement`); the tests compare those with the default.
    """
    hit = memo.get((phi, part))
    if hit is None:
        hit = memo[(phi, part)] = _translate_own(phi, memo, part, decompose, complement)
    return _lift(hit, propositions)


def _translate_own(
    phi: s.Formula,
    memo: dict[tuple[s.Formula, bool], DeterministicAutomaton],
    part: bool,
    decompose: bool,
    complement: bool = True,
) -> DeterministicAutomaton:
    """:func:`_translate_nnf` over the formula's own atoms (sorted): letters of other
    propositions would only repeat columns, at the cost of exploring them."""
    own = tuple(sorted(phi.atoms()))
    if isinstance(phi, s.Constant):
        return _constant_automaton(phi.value, own, str(phi))
    mu, nu = _fixpoint_subformulas(phi, ordered=False)
    parts: list[s.Formula] = []
    if decompose and mu and nu and isinstance(phi, s.And | s.Or):
        conj, parts = _components(phi)
    if len(parts) > 1:
        auts = [_translate_nnf(p, own, memo, True, complement=complement) for p in parts]
        return _product(phi, auts, conj)
    if decompose and mu and nu and isinstance(phi, s.Next):
        levels = [phi]  # X^k psi: translate psi once, then delay it k times (no recursion)
        while isinstance(levels[-1].operand, s.Next):
            levels.append(levels[-1].operand)
        inner = _translate_nnf(levels[-1].operand, own, memo, part, complement=complement)
        return _delayed(phi, inner, len(levels))
    if not nu:
        return _safety_or_cosafety(phi, own, cosafety=True)
    if not mu:
        return _safety_or_cosafety(phi, own, cosafety=False, partial=part)
    monitored = _recurrence_or_persistence(phi)
    if monitored is not None:
        return _monitor_automaton(phi, own, *monitored)
    if isinstance(phi, s.Globally) and not _fixpoint_subformulas(phi.operand, False)[1]:
        return _invariance_automaton(phi, own, phi.operand)
    if not complement:
        return _general(phi, own)
    return _general_or_complement(phi, own)


def _recurrence_or_persistence(phi: s.Formula) -> tuple[str, s.Formula] | None:
    """``("recurrence", psi)`` if ``phi = G F psi`` with ``psi`` co-safety (no ``G R W``),
    ``("persistence", psi)`` if ``phi = F G psi`` with ``psi`` safety (no ``F U M``), else
    None: these parts get :func:`_monitor_automaton` instead of the master theorem."""
    if isinstance(phi, s.Globally) and isinstance(phi.operand, s.Finally):
        psi = phi.operand.operand
        if not _fixpoint_subformulas(psi, ordered=False)[1]:
            return "recurrence", psi
    if isinstance(phi, s.Finally) and isinstance(phi.operand, s.Globally):
        psi = phi.operand.operand
        if not _fixpoint_subformulas(psi, ordered=False)[0]:
            return "persistence", psi
    return None


def _invariance_automaton(
    phi: s.Formula, propositions: tuple[str, ...], chi: s.Formula
) -> DeterministicAutomaton:
    """The automaton of ``G chi`` for a co-safety ``chi``, by a breakpoint construction.

    A state is a pair ``(P, W)`` of DNFs: ``P`` the conjunction of the pending obligations
    (``af(chi, w_t..w_i)`` for every ``t <= i``, the ones already met being ``true``) and
    ``W`` those of them watched since the last breakpoint. On a letter, ``P`` becomes
    ``af(P) & af(chi)`` and ``W`` becomes ``af(W)``; when ``W`` reaches ``true`` (all
    watched obligations met) the transition is marked and ``W`` restarts as the new ``P``;
    ``P = false`` (an obligation failed) has no successor. Acceptance ``Inf(0)``: every
    obligation is watched from the first breakpoint after it, so all are met iff there
    are infinitely many breakpoints (a co-safety ``af`` reaches ``true`` exactly on a good
    prefix, as the co-safety automata here assume). Unlike the master theorem, which takes
    the product of a monitor per nested ``F`` (``G (a -> F (b & F (c & ...)))`` grew by
    about the nesting depth per level), this has at most ``|P|^2`` states.
    """
    after = _After(propositions)
    n_letters = 1 << len(propositions)
    chi_dnf = _to_dnf(chi)
    start = (TT, TT)
    index = {start: 0}
    states = [start]
    succ_rows: list[list[int]] = []
    mark_rows: list[list[list[int]]] = []
    i = 0
    while i < len(states):
        if i % 64 == 0:
            _check_time(phi)
        pending, watched = states[i]
        srow: list[int] = []
        mrow: list[list[int]] = []
        for letter in range(n_letters):
            new_pending = _dnf_and(after.dnf(pending, letter), after.dnf(chi_dnf, letter))
            if new_pending == FF:
                srow.append(-1)
                mrow.append([])
                continue
            new_watched = after.dnf(watched, letter)
            fired = new_watched == TT
            key = (new_pending, new_pending if fired else new_watched)
            j = index.get(key)
            if j is None:
                j = len(states)
                if j >= _STATE_BUDGET.get():
                    raise _too_many_states(phi)
                index[key] = j
                states.append(key)
            srow.append(j)
            mrow.append([0] if fired else [])
        succ_rows.append(srow)
        mark_rows.append(mrow)
        i += 1
    succ = np.array(succ_rows, dtype=np.int64)
    return _finish(phi, propositions, succ, _mark_table(mark_rows, 1), AcceptanceAtom(True, 0), 0)


def _monitor_automaton(
    phi: s.Formula, propositions: tuple[str, ...], kind: str, psi: s.Formula
) -> DeterministicAutomaton:
    """The automaton of ``G F psi`` (``kind == "recurrence"``, ``psi`` co-safety) or of
    ``F G psi`` (``"persistence"``, ``psi`` safety): one monitor, no ``af`` tracker.

    ``G F psi``: the ``af`` automaton of ``F psi``, restarted each time it reaches ``true``
    (a good prefix of ``F psi`` was read), with ``Inf`` on the restarts. A word with
    infinitely many restarts has a witness of ``psi`` in each block, so infinitely many
    (blocks are disjoint and a witness starts in its block); a word with infinitely many
    positions satisfying ``psi`` completes every block, as each position after a restart
    has a later witness whose good prefix the restarted monitor reads. ``F G psi`` is the
    dual: ``G psi`` restarted at ``false``, with ``Fin``. The master theorem would build a
    monitor for every ``F``/``U``/``M`` subformula of ``psi`` and their product, which for
    nested co-safety (``G F (a & F (b & F c))``) grows by about the nesting depth per level.
    """
    monitor = _Monitor(kind, psi, frozenset())
    succ, mark_rows, _ = _explore(phi, propositions, [monitor], track=False)
    table = _mark_table(mark_rows, 1)
    condition = AcceptanceAtom(kind == "recurrence", 0)
    return _finish(phi, propositions, succ, table, condition, 0)


def _general_or_complement(phi: s.Formula, own: tuple[str, ...]) -> DeterministicAutomaton:
    """The master-theorem automaton of ``phi`` or the complement of that of ``!phi``,
    whichever has fewer states (then fewer sets).

    Complementing a deterministic automaton only takes completing it and negating its
    condition, and the translation of the negation is often much smaller (the master
    theorem treats ``F``/``U``/``M`` and ``G``/``R``/``W`` asymmetrically). The negation
    is tried when ``phi``'s automaton has more than a few states, with a state budget tied
    to that size, and also when ``phi`` is beyond the translator's limits.
    """
    try:
        aut: DeterministicAutomaton | None = _general(phi, own)
        error: InvalidSpecificationError | None = None
    except InvalidSpecificationError as exc:
        aut, error = None, exc
    if aut is not None and aut.n_states <= _TRY_COMPLEMENT_ABOVE:
        return aut
    budget = _STATE_BUDGET.get()
    if aut is not None:
        budget = min(budget, max(2_000, min(20 * aut.n_states, 20_000)))
    token = _STATE_BUDGET.set(budget)
    try:
        negation = _translate_own(simplify(s.Not(phi)), {}, False, True, complement=False)
        other: DeterministicAutomaton | None = _lift(_complement(phi, negation), own)
    except InvalidSpecificationError:
        other = None
    finally:
        _STATE_BUDGET.reset(token)
    if other is not None and _dnf_of(other.acceptance, _MAX_DNF) is None:
        other = None  # a negated condition without a small DNF: costly for the analyses
    if other is None:
        if aut is None:
            assert error is not None
            raise error
        return aut
    if aut is None or (other.n_states, other.n_sets) < (aut.n_states, aut.n_sets):
        return other
    return aut


def _negate(cond: AcceptanceCondition) -> AcceptanceCondition:
    """The Emerson-Lei condition that holds exactly when ``cond`` does not."""
    if isinstance(cond, AcceptanceConstant):
        return AcceptanceConstant(not cond.value)
    if isinstance(cond, AcceptanceAtom):
        return AcceptanceAtom(not cond.infinitely, cond.index, cond.complemented)
    assert isinstance(cond, AcceptanceAnd | AcceptanceOr)
    parts = tuple(_negate(c) for c in cond.operands)
    return AcceptanceOr(parts) if isinstance(cond, AcceptanceAnd) else AcceptanceAnd(parts)


def _complement(phi: s.Formula, aut: DeterministicAutomaton) -> DeterministicAutomaton:
    """A deterministic automaton for the complement language: complete ``aut`` (a sink
    marked by a fresh set ``d``, condition ``cond & Fin(d)``) and negate the condition."""
    succ, marks, condition, n_sets = _with_sink(aut, aut.n_sets)
    table = ((marks.reshape(-1)[:, None] >> np.arange(n_sets)) & 1).astype(bool)
    return _finish(phi, aut.propositions, succ, table, _negate(condition), aut.initial)


def _lift(aut: DeterministicAutomaton, propositions: tuple[str, ...]) -> DeterministicAutomaton:
    """The automaton over a larger alphabet ``propositions`` (it ignores the new ones)."""
    if aut.propositions == propositions:
        return aut
    letters = np.arange(1 << len(propositions), dtype=np.int64)
    project = np.zeros_like(letters)
    for j, p in enumerate(aut.propositions):
        project |= ((letters >> propositions.index(p)) & 1) << j
    return DeterministicAutomaton(
        propositions, aut.successors[:, project], aut.marks[:, project], aut.acceptance,
        aut.n_sets, aut.initial, acceptance_name=aut.acceptance_name, name=aut.name,
    )


@lru_cache(maxsize=256)
def _translate_cached(phi: s.Formula, propositions: tuple[str, ...]) -> DeterministicAutomaton:
    aut = _translate_nnf(simplify(phi), propositions, {})
    return DeterministicAutomaton(
        propositions, aut.successors, aut.marks, aut.acceptance, aut.n_sets, aut.initial,
        acceptance_name=aut.acceptance_name, name=str(phi),
    )


def translate(
    formula: str | s.Formula,
    propositions: Iterable[str] | None = None,
    *,
    max_states: int = MAX_STATES,
    time_limit: float | None = TIME_LIMIT,
) -> DeterministicAutomaton:
    """Translate an LTL formula into an equivalent deterministic Emerson-Lei automaton.

    Parameters
    ----------
    formula : str or Formula
        The formula (Spot syntax).
    propositions : iterable of str, optional
        The automaton's alphabet; defaults to the formula's atoms (sorted). Extra propositions
        are allowed (the automaton ignores them); missing ones are an error.
    max_states : int, default :data:`MAX_STATES` (200,000)
        The most states any intermediate automaton (one part, one product of parts, one
        master-theorem product before minimisation) may have.
    time_limit : float or None, default :data:`TIME_LIMIT` (60 s)
        Wall-clock seconds the translation may take (checked while states are explored);
        ``None`` for no limit. An automaton already in the cache is returned whatever the
        budget.

    Returns
    -------
    DeterministicAutomaton
        Accepts exactly the infinite words over ``2^propositions`` that satisfy ``formula``.
        Automata are cached per ``(formula, propositions)``; do not mutate them.

    Raises
    ------
    LTLSyntaxError
        If ``formula`` does not parse.
    InvalidSpecificationError
        If ``propositions`` lacks an atom of the formula or has more than 16 propositions.
    TranslationLimitError
        (an :class:`~objspec.errors.InvalidSpecificationError`) If the formula is beyond the
        translator's limits: a part that cannot be split at a top-level ``&``/``|`` with
        more than :data:`MAX_FIXPOINT_SUBFORMULAS` fixpoint subformulas, an automaton beyond
        ``max_states`` states, one needing more than ``MAX_ACCEPTANCE_SETS`` (62) acceptance
        sets, or a translation longer than ``time_limit``. The message says how to supply
        the automaton in HOA format instead (:data:`HOA_ADVICE`).

    Notes
    -----
    The formula is simplified, split at top-level ``&``/``|`` into parts translated
    separately and recombined by a product, and each part is translated by the master
    theorem; see the module docstring for the constructions and references.

    Examples
    --------
    >>> aut = translate("a U b")
    >>> aut.n_states, str(aut.acceptance)
    (2, 'Inf(0)')
    >>> aut.accepts_lasso([{"a"}, {"a"}, {"b"}], [set()]), aut.accepts_lasso([], [{"a"}])
    (True, False)
    >>> translate("G (a -> X X X b)", max_states=5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    objspec.errors.TranslationLimitError: the automaton of ... exceeds 5 states (max_states); ...
    """
    if isinstance(max_states, bool) or not isinstance(max_states, int) or max_states < 1:
        raise InvalidSpecificationError(f"max_states must be a positive int; got {max_states!r}")
    if time_limit is not None and (
        isinstance(time_limit, bool) or not isinstance(time_limit, int | float)
        or not time_limit > 0
    ):
        raise InvalidSpecificationError(
            f"time_limit must be a positive number of seconds or None; got {time_limit!r}"
        )
    phi = parse_formula(formula)
    atoms = phi.atoms()
    if propositions is None:
        props = tuple(sorted(atoms))
    else:
        props = tuple(dict.fromkeys(propositions))
        missing = sorted(atoms - set(props))
        if missing:
            raise InvalidSpecificationError(
                f"the formula {phi} mentions {', '.join(map(repr, missing))}, which is not "
                f"among the propositions {props}"
            )
    if len(props) > 16:
        raise InvalidSpecificationError(
            f"{len(props)} propositions give 2**{len(props)} letters; at most 16 are supported"
        )
    deadline = None if time_limit is None else (time.monotonic() + time_limit, time_limit)
    budget_token = _STATE_BUDGET.set(max_states)
    deadline_token = _DEADLINE.set(deadline)
    try:
        return _translate_cached(phi, props)
    finally:
        _DEADLINE.reset(deadline_token)
        _STATE_BUDGET.reset(budget_token)
