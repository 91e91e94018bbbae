"""The algebra of Emerson-Lei acceptance conditions: renaming and folding sets,
disjunctive normal form, negation.

A condition is a positive boolean combination of ``Inf(i)`` and ``Fin(i)`` over acceptance
sets ``i`` (:class:`~objspec.ltl.automaton.AcceptanceCondition`). The translator builds
conditions as disjunctions of conjunctions (the master theorem's guesses), conjoins or
disjoins them in products, and negates them to complement a deterministic automaton; these
functions keep them small: sets renamed apart or merged (:func:`substitute`,
:func:`shift`), constants folded, a minimal DNF when it is small (:func:`condition_dnf`,
:func:`tidy_acceptance`), and the dual condition (:func:`negate`).

Examples
--------
>>> from objspec.ltl.automaton import parse_acceptance
>>> cond = parse_acceptance("Inf(0) & (Fin(1) | Inf(2))")
>>> str(negate(cond))
'Fin(0) | (Inf(1) & Fin(2))'
>>> str(substitute(cond, {0: 0, 1: (False, True), 2: 1}))  # set 1 is on no transition
'Inf(0)'
>>> sorted(sorted(str(a) for a in c) for c in condition_dnf(cond, MAX_DNF))
[['Fin(1)', 'Inf(0)'], ['Inf(0)', 'Inf(2)']]
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import numpy as np

from objspec.ltl.automaton import (
    AcceptanceAnd,
    AcceptanceAtom,
    AcceptanceCondition,
    AcceptanceConstant,
    AcceptanceOr,
)
from objspec.ltl.caches import register_cache

__all__ = [
    "MAX_DNF",
    "condition_from_dnf",
    "condition_dnf",
    "substitute",
    "shift",
    "negate",
    "tidy_acceptance",
]

#: Conjunctions of acceptance conditions are put in disjunctive normal form when that has at
#: most this many terms (else kept nested).
MAX_DNF = 1024


def condition_from_dnf(disjuncts: Iterable[Iterable[AcceptanceAtom]]) -> AcceptanceCondition:
    terms: list[AcceptanceCondition] = []
    for conj in disjuncts:
        atoms = sorted(conj, key=lambda a: (a.index, a.infinitely))
        if not atoms:
            return AcceptanceConstant(True)
        terms.append(atoms[0] if len(atoms) == 1 else AcceptanceAnd(tuple(atoms)))
    if not terms:
        return AcceptanceConstant(False)
    return terms[0] if len(terms) == 1 else AcceptanceOr(tuple(terms))


def substitute(
    cond: AcceptanceCondition, atom_value: dict[int, tuple[bool, bool] | int]
) -> AcceptanceCondition:
    """Rename sets and fold constants.

    ``atom_value[i]`` is a new set index, or ``(inf, fin)``: the constant values of
    ``Inf(i)`` and ``Fin(i)`` for a set on no transition (``(False, True)``) or on all
    (``(True, False)``).

    Examples
    --------
    >>> from objspec.ltl.automaton import AcceptanceAtom
    >>> str(condition_from_dnf([[AcceptanceAtom(True, 0)], [AcceptanceAtom(False, 1)]]))
    'Inf(0) | Fin(1)'
    >>> str(condition_from_dnf([]))
    'f'

    Examples
    --------
    >>> from objspec.ltl.automaton import parse_acceptance
    >>> str(substitute(parse_acceptance("Inf(0) | Fin(1)"), {0: 3, 1: (True, False)}))
    'Inf(3)'
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
    seen: set[AcceptanceCondition] = set()
    for c in cond.operands:
        sub = substitute(c, atom_value)
        if isinstance(sub, AcceptanceConstant):
            if sub.value != conj:
                return sub  # false in a conjunction, true in a disjunction
            continue
        if isinstance(sub, type(cond)):
            parts.extend(sub.operands)
        elif sub not in seen:
            seen.add(sub)
            parts.append(sub)
    if not parts:
        return AcceptanceConstant(conj)
    if len(parts) == 1:
        return parts[0]
    return AcceptanceAnd(tuple(parts)) if conj else AcceptanceOr(tuple(parts))


def shift(cond: AcceptanceCondition, offset: int) -> AcceptanceCondition:
    if offset == 0:
        return cond
    return substitute(cond, {i: i + offset for i in cond.sets()})


def negate(cond: AcceptanceCondition) -> AcceptanceCondition:
    """The Emerson-Lei condition that holds exactly when ``cond`` does not.

    Examples
    --------
    >>> from objspec.ltl.automaton import parse_acceptance
    >>> str(shift(parse_acceptance("Inf(0) & Fin(1)"), 2))
    'Inf(2) & Fin(3)'

    Examples
    --------
    >>> from objspec.ltl.automaton import parse_acceptance
    >>> str(negate(parse_acceptance("Inf(0) & Fin(1)")))
    'Fin(0) | Inf(1)'
    """
    if isinstance(cond, AcceptanceConstant):
        return AcceptanceConstant(not cond.value)
    if isinstance(cond, AcceptanceAtom):
        return AcceptanceAtom(not cond.infinitely, cond.index, cond.complemented)
    assert isinstance(cond, AcceptanceAnd | AcceptanceOr)
    parts = tuple(negate(c) for c in cond.operands)
    return AcceptanceOr(parts) if isinstance(cond, AcceptanceAnd) else AcceptanceAnd(parts)


def condition_dnf(cond: AcceptanceCondition, cap: int) -> list[frozenset[AcceptanceAtom]] | None:
    """The condition as a list of minimal conjunctions, or ``None`` when distributing a
    conjunction over disjunctions would give more than ``cap`` terms (disjunctions are
    never refused: the master theorem's conditions are disjunctions of conjunctions).

    Conjunctions that can never hold are dropped: ``Inf(i) & Fin(i)`` and
    ``Inf(!i) & Fin(!i)`` (but not ``Inf(!i) & Fin(i)``: a run may end in transitions
    outside set ``i``). The terms come shortest first. A conjunction is computed as a bit
    set (each distinct set ``i`` or ``!i`` a slot ``k``, ``Fin`` bit ``2k`` and ``Inf``
    bit ``2k + 1``), so the contradiction and subsumption tests are integer operations.

    Examples
    --------
    >>> from objspec.ltl.automaton import parse_acceptance
    >>> big = parse_acceptance("(Inf(0) | Inf(1)) & (Inf(2) | Inf(3)) & (Inf(4) | Inf(5))")
    >>> len(condition_dnf(big, 8)), condition_dnf(big, 4)
    (8, None)
    >>> [sorted(map(str, t)) for t in condition_dnf(parse_acceptance("Inf(!0) & Fin(0)"), 8)]
    [['Fin(0)', 'Inf(!0)']]
    """
    cached = _condition_dnf_cached(cond, cap)
    return None if cached is None else list(cached)


@lru_cache(maxsize=128)
def _condition_dnf_cached(
    cond: AcceptanceCondition, cap: int
) -> tuple[frozenset[AcceptanceAtom], ...] | None:
    """:func:`condition_dnf`, memoised (conditions are immutable; one automaton's
    analyses ask for the same normal form several times)."""
    slots: dict[tuple[int, bool], int] = {}
    bits = _dnf_bits(cond, cap, slots)
    if bits is None:
        return None
    atoms = {2 * k + inf: AcceptanceAtom(bool(inf), index, complemented)
             for (index, complemented), k in slots.items() for inf in (0, 1)}
    return tuple(frozenset(atoms[b] for b in _bit_positions(t)) for t in bits)


register_cache(_condition_dnf_cached.cache_clear)


def _bit_positions(t: int) -> list[int]:
    out = []
    while t:
        low = t & -t
        out.append(low.bit_length() - 1)
        t ^= low
    return out


def _atom_bit(atom: AcceptanceAtom, slots: dict[tuple[int, bool], int]) -> int:
    k = slots.setdefault((atom.index, atom.complemented), len(slots))
    return 1 << (2 * k + int(atom.infinitely))


def _never_holds(t: int) -> bool:
    """Whether a conjunction (bit set) has ``Inf`` and ``Fin`` of one slot."""
    return bool((t >> 1) & t & _FIN_BITS)


#: Bits ``2k`` (the ``Fin`` atoms) of every slot: a mark holds at most 63 sets, each
#: plain or complemented.
_FIN_BITS = int("01" * 128, 2)


def _dnf_bits(cond: AcceptanceCondition, cap: int, slots: dict[tuple[int, bool], int]
              ) -> list[int] | None:
    """:func:`condition_dnf` over bit sets (``slots``: the slot of each set, filled in)."""
    if isinstance(cond, AcceptanceConstant):
        return [0] if cond.value else []
    if isinstance(cond, AcceptanceAtom):
        return [_atom_bit(cond, slots)]
    assert isinstance(cond, AcceptanceAnd | AcceptanceOr)
    if isinstance(cond, AcceptanceAnd) and all(
        isinstance(c, AcceptanceAtom) for c in cond.operands
    ):  # a conjunction of atoms: one term (the common case in a DNF)
        t = 0
        for c in cond.operands:
            assert isinstance(c, AcceptanceAtom)
            t |= _atom_bit(c, slots)
        return [] if _never_holds(t) else [t]
    parts = []
    for c in cond.operands:
        d = _dnf_bits(c, cap, slots)
        if d is None:
            return None
        parts.append(d)
    if isinstance(cond, AcceptanceOr):
        return _minimal_bits({t for d in parts for t in d})
    out = [0]
    for d in sorted(parts, key=len):
        if len(out) * len(d) > cap:
            return None
        out = _minimal_bits({t for t in (a | b for a in out for b in d) if not _never_holds(t)})
    return out


def _minimal_bits(terms: set[int]) -> list[int]:
    """The bit sets that contain no other one, fewest bits first (then by value).

    A set can only contain a set with fewer bits (equal ones were merged by the set), so
    each is compared with the kept sets of smaller size only."""
    kept: list[int] = []
    smaller = 0  # kept[:smaller] have fewer bits than the current size
    size = -1
    for t in sorted(terms, key=lambda t: (t.bit_count(), t)):
        c = t.bit_count()
        if c != size:
            size, smaller = c, len(kept)
        if not any(o & t == o for o in kept[:smaller]):
            kept.append(t)
    return kept


def tidy_acceptance(
    condition: AcceptanceCondition, marks: np.ndarray
) -> tuple[AcceptanceCondition, int, np.ndarray]:
    """Drop sets no transition uses and subsumed disjuncts; renumber sets densely.

    Conditions whose disjunctive normal form is small (see :func:`condition_dnf`) are put in
    minimal, sorted DNF; others are kept as they are.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.ltl.automaton import parse_acceptance
    >>> marks = np.array([[0b101, 0b001]])  # set 1 is on no transition
    >>> cond, n_sets, new = tidy_acceptance(parse_acceptance("Inf(0) & Inf(2) | Inf(1)"), marks)
    >>> str(cond), n_sets, new.tolist()
    ('Inf(0) & Inf(1)', 2, [[3, 1]])
    """
    used = 0
    for m in np.unique(marks).tolist():
        used |= int(m)
    unused: dict[int, tuple[bool, bool] | int] = {
        i: (i if (used >> i) & 1 else (False, True)) for i in condition.sets()
    }
    condition = substitute(condition, unused)
    dnf = condition_dnf(condition, MAX_DNF)
    if dnf is not None:
        condition = condition_from_dnf(
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
    return substitute(condition, renumber), len(mentioned), new_marks
