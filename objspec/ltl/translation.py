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
results, formulas kept as monotone DNF over temporal subformulas and literals (a canonical
form of positive boolean functions): (1) by a safety monitor that restarts from the current
``af`` state whenever it reaches ``false`` (acceptance ``Fin``: finitely many restarts),
(2) by a monitor of ``F chi`` that is reset each time it reaches ``true`` (``Inf``), (3) by a
monitor of ``G chi`` reset at ``false`` (``Fin``). The automaton is the product of the ``af``
tracker and all monitors, and its acceptance is the disjunction over ``(X, Y)`` of the
conjunctions above. Co-safety and safety formulas get the plain ``af`` automaton. The result
is minimised by partition refinement (states with equal marks and equivalent successors
merge) and cached per formula.

Examples
--------
>>> from objspec.ltl.translation import translate
>>> aut = translate("G F a -> G F b")
>>> aut.accepts_lasso([], [{"a"}, {"b"}]), aut.accepts_lasso([], [{"a"}])
(True, False)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from functools import lru_cache

import numpy as np

from objspec.errors import InvalidSpecificationError
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
    make_and,
    make_finally,
    make_globally,
    make_next,
    make_or,
    make_release,
    make_strong_release,
    make_until,
    make_weak_until,
    simplify,
)

__all__ = ["translate", "MAX_FIXPOINT_SUBFORMULAS", "MAX_STATES"]

#: Largest ``|mu(phi)| + |nu(phi)|`` handled (the acceptance has up to 2**this disjuncts).
MAX_FIXPOINT_SUBFORMULAS = 14
#: Largest number of automaton states built before giving up.
MAX_STATES = 200_000

Clause = frozenset[s.Formula]
DNF = frozenset[Clause]
TT: DNF = frozenset({frozenset()})
FF: DNF = frozenset()

_MU = (s.Finally, s.Until, s.StrongRelease)
_NU = (s.Globally, s.Release, s.WeakUntil)


def _minimise(clauses: Iterable[Clause]) -> DNF:
    ordered = sorted(set(clauses), key=len)
    kept: list[Clause] = []
    for c in ordered:
        if not any(k <= c for k in kept):
            kept.append(c)
    return frozenset(kept)


def _dnf_or(a: DNF, b: DNF) -> DNF:
    if a == TT or b == TT:
        return TT
    if not a:
        return b
    if not b:
        return a
    return _minimise(a | b)


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
    if isinstance(f, s.Constant):
        return TT if f.value else FF
    if isinstance(f, s.And):
        return _dnf_and(_to_dnf(f.left), _to_dnf(f.right))
    if isinstance(f, s.Or):
        return _dnf_or(_to_dnf(f.left), _to_dnf(f.right))
    return frozenset({frozenset({f})})


def _from_dnf(d: DNF) -> s.Formula:
    result: s.Formula = s.FALSE
    for clause in sorted(d, key=lambda c: sorted(map(str, c))):
        conj: s.Formula = s.TRUE
        for atom in sorted(clause, key=str):
            conj = make_and(conj, atom)
        result = make_or(result, conj)
    return result


class _After:
    """The after function ``af`` on monotone DNFs, memoised per letter."""

    def __init__(self, propositions: tuple[str, ...]) -> None:
        self.index = {p: i for i, p in enumerate(propositions)}
        self.atom_cache: dict[tuple[s.Formula, int], DNF] = {}
        self.dnf_cache: dict[tuple[DNF, int], DNF] = {}

    def formula(self, f: s.Formula, letter: int) -> DNF:
        return self.dnf(_to_dnf(f), letter)

    def atom(self, f: s.Formula, letter: int) -> DNF:
        key = (f, letter)
        hit = self.atom_cache.get(key)
        if hit is not None:
            return hit
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


def _weaken(f: s.Formula, chosen: frozenset[s.Formula]) -> s.Formula:
    """``f[X]_nu``: mu-subformulas in X become their nu versions, others ``false``."""
    w = _weaken
    if isinstance(f, s.Constant | s.Atom | s.Not):
        return f
    if isinstance(f, s.And):
        return make_and(w(f.left, chosen), w(f.right, chosen))
    if isinstance(f, s.Or):
        return make_or(w(f.left, chosen), w(f.right, chosen))
    if isinstance(f, s.Next):
        return make_next(w(f.operand, chosen))
    if isinstance(f, s.Globally):
        return make_globally(w(f.operand, chosen))
    if isinstance(f, s.Finally):
        return s.TRUE if f in chosen else s.FALSE
    if isinstance(f, s.Until):
        return make_weak_until(w(f.left, chosen), w(f.right, chosen)) if f in chosen else s.FALSE
    if isinstance(f, s.StrongRelease):
        return make_release(w(f.left, chosen), w(f.right, chosen)) if f in chosen else s.FALSE
    if isinstance(f, s.Release):
        return make_release(w(f.left, chosen), w(f.right, chosen))
    if isinstance(f, s.WeakUntil):
        return make_weak_until(w(f.left, chosen), w(f.right, chosen))
    raise TypeError(f"not in negation normal form: {f!r}")


def _strengthen(f: s.Formula, chosen: frozenset[s.Formula]) -> s.Formula:
    """``f[Y]_mu``: nu-subformulas in Y become ``true``, others their mu versions (G: false)."""
    g = _strengthen
    if isinstance(f, s.Constant | s.Atom | s.Not):
        return f
    if isinstance(f, s.And):
        return make_and(g(f.left, chosen), g(f.right, chosen))
    if isinstance(f, s.Or):
        return make_or(g(f.left, chosen), g(f.right, chosen))
    if isinstance(f, s.Next):
        return make_next(g(f.operand, chosen))
    if isinstance(f, s.Finally):
        return make_finally(g(f.operand, chosen))
    if isinstance(f, s.Until):
        return make_until(g(f.left, chosen), g(f.right, chosen))
    if isinstance(f, s.StrongRelease):
        return make_strong_release(g(f.left, chosen), g(f.right, chosen))
    if isinstance(f, s.Globally):
        return s.TRUE if f in chosen else s.FALSE
    if isinstance(f, s.WeakUntil):
        return s.TRUE if f in chosen else make_until(g(f.left, chosen), g(f.right, chosen))
    if isinstance(f, s.Release):
        return s.TRUE if f in chosen else make_strong_release(g(f.left, chosen), g(f.right, chosen))
    raise TypeError(f"not in negation normal form: {f!r}")


def _subsets(items: Iterable[s.Formula]) -> list[frozenset[s.Formula]]:
    pool = sorted(set(items), key=str)
    return [
        frozenset(c) for r in range(len(pool) + 1) for c in itertools.combinations(pool, r)
    ]


class _Monitor:
    """One component of the product: a DNF state with a reset rule and a mark."""

    def __init__(self, kind: str, formula: s.Formula | None, chosen: frozenset[s.Formula]):
        self.kind = kind  # "late-safety", "recurrence" or "persistence"
        self.chosen = chosen
        if kind == "recurrence":
            assert formula is not None
            self.reset: DNF = _to_dnf(make_finally(formula))
        elif kind == "persistence":
            assert formula is not None
            self.reset = _to_dnf(make_globally(formula))
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


def _fixpoint_subformulas(phi: s.Formula) -> tuple[list[s.Formula], list[s.Formula]]:
    subs = phi.subformulas()
    mu: list[s.Formula] = sorted((f for f in subs if isinstance(f, _MU)), key=str)
    nu: list[s.Formula] = sorted((f for f in subs if isinstance(f, _NU)), key=str)
    return mu, nu


def _explore(
    phi: s.Formula,
    propositions: tuple[str, ...],
    monitors: list[_Monitor],
) -> tuple[np.ndarray, list[list[list[int]]], list[tuple[DNF, ...]]]:
    after = _After(propositions)
    n_letters = 1 << len(propositions)
    main0 = _to_dnf(phi)
    start = (main0, *(m.start(main0) for m in monitors))
    index = {start: 0}
    states = [start]
    succ_rows: list[list[int]] = []
    mark_rows: list[list[list[int]]] = []
    i = 0
    while i < len(states):
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
                if j >= MAX_STATES:
                    raise InvalidSpecificationError(
                        f"the automaton of {phi} exceeds {MAX_STATES} states; simplify the "
                        "formula or supply a deterministic automaton in HOA format"
                    )
                index[key] = j
                states.append(key)
            srow.append(j)
            mrow.append(mark)
        succ_rows.append(srow)
        mark_rows.append(mrow)
        i += 1
    return np.array(succ_rows, dtype=np.int64), mark_rows, states


def _minimise_automaton(
    succ: np.ndarray, marks: np.ndarray, initial: int
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """Merge states with equal mark rows and equivalent successors (Moore refinement)."""
    n = succ.shape[0]
    _, block = np.unique(marks, axis=0, return_inverse=True)
    block = block.ravel()
    while True:
        signature = np.concatenate([block[:, None], np.where(succ >= 0, block[succ], -1)], axis=1)
        _, new_block = np.unique(signature, axis=0, return_inverse=True)
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
    phi: s.Formula, propositions: tuple[str, ...], cosafety: bool
) -> DeterministicAutomaton:
    succ, _, states = _explore(phi, propositions, [])
    target = TT if cosafety else FF
    marks = np.zeros_like(succ)
    for q, state in enumerate(states):
        if state[0] == target:
            marks[q, :] = 1
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
    mu, nu = _fixpoint_subformulas(phi)
    if len(mu) + len(nu) > MAX_FIXPOINT_SUBFORMULAS:
        raise InvalidSpecificationError(
            f"{phi} has {len(mu) + len(nu)} fixpoint subformulas (F, G, U, R, W, M); the "
            f"translator handles at most {MAX_FIXPOINT_SUBFORMULAS}. Supply a deterministic "
            "automaton in HOA format instead"
        )
    monitors: list[_Monitor] = []
    monitor_index: dict[tuple[str, object], int] = {}

    def monitor(kind: str, formula: s.Formula | None, chosen: frozenset[s.Formula]) -> int:
        key: tuple[str, object] = (kind, chosen if kind == "late-safety" else formula)
        if key not in monitor_index:
            monitor_index[key] = len(monitors)
            monitors.append(_Monitor(kind, formula, chosen))
        return monitor_index[key]

    disjuncts: list[frozenset[AcceptanceAtom]] = []
    x_choices = _subsets(mu)
    y_choices = _subsets(nu)
    for x in x_choices:
        late = monitor("late-safety", None, x)
        persistence: dict[s.Formula, s.Formula] = {psi: _weaken(psi, x) for psi in nu}
        for y in y_choices:
            atoms = {AcceptanceAtom(False, late)}
            feasible = True
            for psi in sorted(x, key=str):
                chi = _strengthen(psi, y)
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
                disjuncts.append(frozenset(atoms))
    succ, mark_rows, _ = _explore(phi, propositions, monitors)
    marks, disjuncts = _merge_equal_sets(phi, mark_rows, len(monitors), disjuncts)
    succ, marks, initial, _ = _minimise_automaton(succ, marks, 0)
    acceptance, n_sets, marks = _tidy_acceptance(disjuncts, marks, len(monitors))
    return DeterministicAutomaton(
        propositions, succ, marks, acceptance, n_sets, initial, name=str(phi)
    )


#: Acceptance sets are int64 bitmasks.
MAX_ACCEPTANCE_SETS = 62


def _merge_equal_sets(
    phi: s.Formula,
    mark_rows: list[list[list[int]]],
    n_sets: int,
    disjuncts: list[frozenset[AcceptanceAtom]],
) -> tuple[np.ndarray, list[frozenset[AcceptanceAtom]]]:
    """Give sets that mark the same transitions one index; settle sets marking none or all.

    ``Inf(i)`` and ``Fin(i)`` depend only on which transitions carry ``i``, so sets with
    equal columns are interchangeable; a set on no transition makes ``Inf`` false and
    ``Fin`` true, and one on every transition the reverse.
    """
    n_states, n_letters = len(mark_rows), len(mark_rows[0])
    table = np.zeros((n_states * n_letters, max(n_sets, 1)), dtype=bool)
    flat_pos, flat_set = [], []
    for q, row in enumerate(mark_rows):
        for letter, fired in enumerate(row):
            for k in fired:
                flat_pos.append(q * n_letters + letter)
                flat_set.append(k)
    table[flat_pos, flat_set] = True
    packed = np.packbits(table, axis=0)
    never: np.ndarray = np.asarray(~table.any(axis=0))
    always: np.ndarray = np.asarray(table.all(axis=0))
    _, inverse = np.unique(packed, axis=1, return_inverse=True)
    inverse = inverse.ravel()
    rename: dict[int, int] = {}
    dense: dict[int, int] = {}
    for i in range(n_sets):
        if not never[i] and not always[i]:
            rename[i] = dense.setdefault(int(inverse[i]), len(dense))
    if len(dense) > MAX_ACCEPTANCE_SETS:
        raise InvalidSpecificationError(
            f"the automaton of {phi} needs {len(dense)} acceptance sets; at most "
            f"{MAX_ACCEPTANCE_SETS} are supported. Supply a deterministic automaton in HOA "
            "format instead"
        )
    new_disjuncts: list[frozenset[AcceptanceAtom]] = []
    for conj in disjuncts:
        atoms: set[AcceptanceAtom] = set()
        possible = True
        for atom in conj:
            if never[atom.index] or always[atom.index]:
                if bool(always[atom.index]) != atom.infinitely:
                    possible = False
                    break
                continue
            atoms.add(AcceptanceAtom(atom.infinitely, rename[atom.index]))
        if possible:
            new_disjuncts.append(frozenset(atoms))
    marks = np.zeros(n_states * n_letters, dtype=np.int64)
    written: set[int] = set()
    for old, new in rename.items():
        if new not in written:
            written.add(new)
            marks |= table[:, old].astype(np.int64) << new
    return marks.reshape(n_states, n_letters), new_disjuncts


def _tidy_acceptance(
    disjuncts: list[frozenset[AcceptanceAtom]], marks: np.ndarray, n_sets: int
) -> tuple[AcceptanceCondition, int, np.ndarray]:
    """Drop sets no transition uses, drop subsumed disjuncts, renumber sets densely."""
    used = 0
    for m in np.unique(marks).tolist():
        used |= int(m)
    cleaned: set[frozenset[AcceptanceAtom]] = set()
    for conj in disjuncts:
        keep: set[AcceptanceAtom] = set()
        dead = False
        for atom in conj:
            if (used >> atom.index) & 1:
                keep.add(atom)
            elif atom.infinitely:
                dead = True  # Inf of a set no transition has never holds
                break
        if not dead:
            cleaned.add(frozenset(keep))
    minimal = [c for c in cleaned if not any(o < c for o in cleaned)]
    mentioned = sorted({a.index for c in minimal for a in c})
    renumber = {old: new for new, old in enumerate(mentioned)}
    new_marks = np.zeros_like(marks)
    for old, new in renumber.items():
        new_marks |= ((marks >> old) & 1) << new
    if not minimal:
        return AcceptanceConstant(False), 0, new_marks
    if any(not c for c in minimal):
        return AcceptanceConstant(True), 0, np.zeros_like(marks)
    terms: list[AcceptanceCondition] = []
    for conj in sorted(minimal, key=lambda c: sorted((a.index, a.infinitely) for a in c)):
        atoms = sorted(
            (AcceptanceAtom(a.infinitely, renumber[a.index]) for a in conj),
            key=lambda a: (a.index, a.infinitely),
        )
        terms.append(atoms[0] if len(atoms) == 1 else AcceptanceAnd(tuple(atoms)))
    condition = terms[0] if len(terms) == 1 else AcceptanceOr(tuple(terms))
    return condition, len(mentioned), new_marks


@lru_cache(maxsize=256)
def _translate_cached(phi: s.Formula, propositions: tuple[str, ...]) -> DeterministicAutomaton:
    simplified = simplify(phi)
    if isinstance(simplified, s.Constant):
        return DeterministicAutomaton(
            propositions,
            np.zeros((1, 1 << len(propositions)), dtype=np.int64),
            np.zeros((1, 1 << len(propositions)), dtype=np.int64),
            AcceptanceConstant(simplified.value),
            0,
            name=str(phi),
        )
    mu, nu = _fixpoint_subformulas(simplified)
    if not nu:
        aut = _safety_or_cosafety(simplified, propositions, cosafety=True)
    elif not mu:
        aut = _safety_or_cosafety(simplified, propositions, cosafety=False)
    else:
        aut = _general(simplified, propositions)
    aut.name = str(phi)
    return aut


def translate(
    formula: str | s.Formula, propositions: Iterable[str] | None = None
) -> DeterministicAutomaton:
    """Translate an LTL formula into an equivalent deterministic Emerson-Lei automaton.

    Parameters
    ----------
    formula : str or Formula
        The formula (Spot syntax).
    propositions : iterable of str, optional
        The automaton's alphabet; defaults to the formula's atoms (sorted). Extra propositions
        are allowed (the automaton ignores them); missing ones are an error.

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
        If ``propositions`` lacks an atom of the formula, or the formula is beyond the
        translator's size limits (:data:`MAX_FIXPOINT_SUBFORMULAS`, :data:`MAX_STATES`).

    Examples
    --------
    >>> aut = translate("a U b")
    >>> aut.n_states, str(aut.acceptance)
    (2, 'Inf(0)')
    >>> aut.accepts_lasso([{"a"}, {"a"}, {"b"}], [set()]), aut.accepts_lasso([], [{"a"}])
    (True, False)
    """
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
    return _translate_cached(phi, props)
