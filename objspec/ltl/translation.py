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

States are explored breadth first; the successors of a state are computed once per
distinct tuple of its components' ``af`` results, not once per letter:
:meth:`objspec.ltl.after.After.table` gives ``af`` of a DNF for all letters at once as a
table over the propositions it reads outside ``X`` (``F (p1 & F (p2 & ...))`` reads all
``p_i``, ``X p`` none), built by combining its atoms' tables with numpy broadcasting (one
``dnf_and``/``dnf_or`` per distinct pair of values), and the dense row over ``2**k``
letters is filled by indexing. Small alphabets (up to ``_PER_LETTER_PROPS``
propositions) are explored letter by letter, which is cheaper there; both give the same
automaton.

Formulas of any depth are handled without Python recursion (explicit stacks in the
parser, printers, simplifier, ``af`` and the decomposition). The budget of a translation,
``max_states`` and ``time_limit`` of :func:`translate`, and the limits above raise
:class:`~objspec.errors.TranslationLimitError`, whose message says how to supply a
deterministic automaton in HOA format instead.

This module holds the translation proper (the master theorem, the special constructions
and the decomposition). It builds on :mod:`objspec.ltl.after` (``af`` on DNFs),
:mod:`objspec.ltl.operations` (minimisation, products, complement, lifting),
:mod:`objspec.ltl.acceptance` (the algebra of conditions) and :mod:`objspec.ltl.budget`
(state and time limits); :func:`objspec.ltl.caches.clear_caches` empties all their caches.

Examples
--------
>>> from objspec.ltl.translation import translate
>>> aut = translate("G F a -> G F b")
>>> aut.accepts_lasso([], [{"a"}, {"b"}]), aut.accepts_lasso([], [{"a"}])
(True, False)
"""


from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

import numpy as np

from objspec.errors import InvalidSpecificationError, TranslationLimitError
from objspec.ltl import operations as ops
from objspec.ltl import syntax as s
from objspec.ltl.acceptance import MAX_DNF, condition_dnf, condition_from_dnf
from objspec.ltl.after import (
    DNF,
    FF,
    TT,
    After,
    dnf_and,
    eventually_implies,
    expand_table,
    from_dnf,
    implies,
    join_tables,
    to_dnf,
)
from objspec.ltl.automaton import (
    AcceptanceAnd,
    AcceptanceAtom,
    AcceptanceCondition,
    AcceptanceConstant,
    AcceptanceOr,
    DeterministicAutomaton,
    guard_letters,
    is_propositional,
)
from objspec.ltl.budget import (
    HOA_ADVICE,
    MAX_STATES,
    TIME_LIMIT,
    check_time,
    state_budget,
    state_limit,
    too_many_states,
    translation_budget,
)
from objspec.ltl.caches import register_cache
from objspec.ltl.factored import (
    MAX_DENSE_PROPOSITIONS,
    factored_translation,
    split_disjoint,
)
from objspec.ltl.merging import merge_equivalent_states
from objspec.ltl.parser import parse_formula
from objspec.ltl.simplify import (
    _postorder,
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

__all__ = [
    "translate",
    "MAX_FIXPOINT_SUBFORMULAS",
    "MAX_STATES",
    "TIME_LIMIT",
    "HOA_ADVICE",
    "FACTOR_ABOVE_PROPOSITIONS",
]

#: Largest ``|mu(psi)| + |nu(psi)|`` of one part ``psi`` translated by the master theorem
#: (the acceptance has up to 2**this disjuncts); conjunctions and disjunctions are split.
MAX_FIXPOINT_SUBFORMULAS = 14


#: General parts with more states than this also try the complement of their negation.
_TRY_COMPLEMENT_ABOVE = 4


_MU = (s.Finally, s.Until, s.StrongRelease)


_NU = (s.Globally, s.Release, s.WeakUntil)


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
        if all(m in x for a in x for m in mu if m not in x and eventually_implies(a, m))
    ]
    y_choices = [
        y for y in _subsets(nu)
        if all(n in y for a in y for n in nu if n not in y and implies(a, n))
    ]
    y_needs = {
        y: frozenset(m for m in mu if any(eventually_implies(a, m) for a in y))
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
            self.reset: DNF = to_dnf(_strip_next(make_finally(formula)))
        elif kind == "persistence":
            assert formula is not None
            self.reset = to_dnf(_strip_next(make_globally(formula)))
        else:
            self.reset = FF
        self._starts: dict[DNF, DNF] = {}

    def start(self, main: DNF) -> DNF:
        if self.kind != "late-safety":
            return self.reset
        hit = self._starts.get(main)
        if hit is None:
            hit = to_dnf(_weaken(from_dnf(main), self.chosen))
            self._starts[main] = hit
        return hit

    def step(self, after: After, state: DNF, letter: int, main_next: DNF) -> tuple[DNF, bool]:
        """The successor on one letter and whether the monitor fired (marked)."""
        return self.follow(after.dnf(state, letter), main_next)

    def follow(self, nxt: DNF, main_next: DNF) -> tuple[DNF, bool]:
        """The successor and mark once ``af`` of the monitor's state is ``nxt`` and that
        of the tracked formula is ``main_next`` (the reset rule)."""
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


#: Alphabets of at most this many propositions are explored letter by letter (few
#: letters: cheaper than building letter tables); larger ones by :meth:`After.table`.
_PER_LETTER_PROPS = 6


def _letter_classes(
    after: After, parts: tuple[DNF, ...], n_props: int
) -> tuple[list[int] | np.ndarray, list[tuple[int, tuple[DNF, ...]]]]:
    """The letters grouped by the tuple of ``af`` results of ``parts``: ``codes[letter]``
    is the letter's class, and the classes with their tuples are listed in the order of
    their first letter (as a loop over the letters meets them). ``codes`` is a list for
    a small alphabet (explored letter by letter, without per-state numpy overhead) and an
    array otherwise."""
    if n_props <= _PER_LETTER_PROPS:
        found: dict[tuple[DNF, ...], int] = {}
        codes = [found.setdefault(tuple(after.dnf(d, w) for d in parts), len(found))
                 for w in range(1 << n_props)]
        return codes, [(c, v) for v, c in found.items()]
    joint = join_tables([after.table(d) for d in parts])
    codes_array = expand_table(joint, n_props)
    classes = []
    for c in ops.first_occurrences(codes_array).tolist():
        values = joint.values[c]
        assert isinstance(values, tuple)
        classes.append((c, values))
    return codes_array, classes


def _explore(
    phi: s.Formula,
    propositions: tuple[str, ...],
    monitors: list[_Monitor],
    track: bool = True,
) -> tuple[np.ndarray, np.ndarray, list[tuple[DNF, ...]]]:
    """Build the product of the ``af`` tracker of ``phi`` (a constant ``false`` component
    if not ``track``) and the monitors, breadth first from the initial state.

    Returns the successor table ``[Q, 2**k]``, the marks as a ``[Q * 2**k, len(monitors)]``
    bool table (row-major transitions, :func:`objspec.ltl.operations.mark_table`'s
    layout) and the states. A state's successors are computed once per distinct tuple of
    its components' ``af`` results (:meth:`After.table`: only the propositions the
    components read outside ``X`` are enumerated) and spread over the letters by numpy
    indexing; new states are numbered in the order of the first letter leading to them,
    as a loop over the letters would.
    """
    after = After(propositions)
    n_props = len(propositions)
    main0 = to_dnf(phi) if track else FF
    start = (main0, *(m.start(main0) for m in monitors))
    index = {start: 0}
    states = [start]
    succ_rows: list[Any] = []
    mark_rows: list[Any] = []
    n_monitors = len(monitors)
    i = 0
    while i < len(states):
        check_time(phi, len(states))
        state = states[i]
        codes, classes = _letter_classes(after, state, n_props)
        class_succ = [0] * len(classes)
        class_marks = [[False] * n_monitors for _ in classes]
        for c, values in classes:
            main_next = values[0]
            parts: list[DNF] = [main_next]
            for k, m in enumerate(monitors):
                nxt, fired = m.follow(values[k + 1], main_next)
                parts.append(nxt)
                class_marks[c][k] = fired
            key = tuple(parts)
            j = index.get(key)
            if j is None:
                j = len(states)
                if j >= state_budget():
                    raise too_many_states(phi)
                index[key] = j
                states.append(key)
            class_succ[c] = j
        if isinstance(codes, list):
            succ_rows.append([class_succ[c] for c in codes])
            mark_rows.extend(class_marks[c] for c in codes)
        else:
            succ_rows.append(np.asarray(class_succ, dtype=np.int64)[codes])
            mark_rows.append(
                np.asarray(class_marks, dtype=bool).reshape(len(classes), n_monitors)[codes])
        i += 1
    succ = np.array(succ_rows, dtype=np.int64)
    if mark_rows and isinstance(mark_rows[0], np.ndarray):
        marks = np.concatenate(mark_rows, axis=0)
    else:
        marks = np.array(mark_rows, dtype=bool).reshape(succ.size, n_monitors)
    return succ, marks, states


def _safety_or_cosafety(
    phi: s.Formula, propositions: tuple[str, ...], cosafety: bool, partial: bool = False
) -> DeterministicAutomaton:
    """The ``af`` automaton of a co-safety (Büchi on reaching ``true``) or safety formula.

    A safety automaton is built complete, with ``Fin(0)`` on the transitions of the
    ``false`` sink, or with ``partial`` the sink's transitions left out and acceptance
    ``t`` (the form used inside products); :func:`objspec.ltl.operations.collapse` then
    removes states that accept nothing (so the sink too) and merges states that accept
    everything.
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
            return ops.constant(False, propositions, str(phi))
        succ = np.where(hopeless[succ], -1, succ)
        succ, marks = ops.prune(succ, np.zeros_like(succ), 0)
        succ, marks, initial, _ = ops.minimise(succ, marks, 0)
        return ops.collapse(DeterministicAutomaton(
            propositions, succ, marks, AcceptanceConstant(True), 0, initial, name=str(phi)
        ))
    if cosafety:
        # A co-safety run that reaches false is lost: leave those transitions out.
        hopeless = np.array([state[0] == FF for state in states])
        succ = np.where(hopeless[succ], -1, succ)
        succ, marks = ops.prune(succ, marks, 0)
    acceptance = AcceptanceAtom(cosafety, 0)
    succ, marks, initial, _ = ops.minimise(succ, marks, 0)
    return ops.collapse(DeterministicAutomaton(
        propositions, succ, marks, acceptance, 1, initial,
        acceptance_name="Buchi" if cosafety else "co-Buchi", name=str(phi),
    ))


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
    succ, table, _ = _explore(phi, propositions, monitors)
    condition = condition_from_dnf(disjuncts)
    return ops.finish(phi, propositions, succ, table, condition, 0)


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
    ``decompose`` and ``complement`` are the switches of :func:`translate`:
    ``decompose=False`` never splits a formula into parts and ``complement=False`` never
    uses the complement of the negation's automaton (see :func:`_general_or_complement`).
    """
    hit = memo.get((phi, part))
    if hit is None:
        hit = memo[(phi, part)] = _translate_own(phi, memo, part, decompose, complement)
    return ops.lift(hit, propositions)


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
        return ops.constant(phi.value, own, str(phi))
    mu, nu = _fixpoint_subformulas(phi, ordered=False)
    if decompose and mu and nu and isinstance(phi, s.And | s.Or):
        fairness = _fairness_automaton(phi, own)
        if fairness is not None:
            return fairness
    parts: list[s.Formula] = []
    if decompose and mu and nu and isinstance(phi, s.And | s.Or):
        conj, parts = _components(phi)
    if len(parts) > 1:
        auts = [_translate_nnf(p, own, memo, True, complement=complement) for p in parts]
        return ops.product(phi, auts, conj)
    if decompose and mu and nu and isinstance(phi, s.Next):
        levels = [phi]  # X^k psi: translate psi once, then delay it k times (no recursion)
        while isinstance(levels[-1].operand, s.Next):
            levels.append(levels[-1].operand)
        inner = _translate_nnf(levels[-1].operand, own, memo, part, complement=complement)
        return ops.delayed(phi, inner, len(levels))
    if not nu:
        return _safety_or_cosafety(phi, own, cosafety=True)
    if not mu:
        return _safety_or_cosafety(phi, own, cosafety=False, partial=part)
    monitored = _recurrence_or_persistence(phi)
    if monitored is not None:
        return _monitor_automaton(phi, own, *monitored)
    if decompose and isinstance(phi, s.Globally) and isinstance(phi.operand, s.And):
        return _split_invariance(phi, own, memo, complement)
    if isinstance(phi, s.Globally) and not _fixpoint_subformulas(phi.operand, False)[1]:
        return _invariance_automaton(phi, own, phi.operand)
    if not complement:
        return _general(phi, own)
    return _general_or_complement(phi, own, decompose)


def _fairness_automaton(
    phi: s.Formula, propositions: tuple[str, ...]
) -> DeterministicAutomaton | None:
    """The one-state automaton of a positive boolean combination of ``G F psi`` and
    ``F G psi`` with every ``psi`` propositional, or None for any other formula.

    Such a formula (a fairness or "generalised Rabin/Streett" condition: Spot's ``genltl``
    families ``gh-r``, ``sejk-j/k``, ``ms-phi-r/s``, ``gf-equiv``, ``and-gf`` ...) only
    asks which letters a word reads infinitely often, so one state suffices: each distinct
    ``psi`` gets an acceptance set marking the letters satisfying it, ``G F psi`` becomes
    ``Inf`` of that set and ``F G psi`` becomes ``Fin`` of the set of ``!psi`` (one set
    serves ``G F a`` and ``F G !a``), and ``&``/``|`` map to themselves (Emerson-Lei
    acceptance; Baier & Katoen 2008, section 10.3). The product of the parts' monitors
    would give the same single state, but through the acceptance algebra of every
    intermediate product (distributing conjunctions of disjunctions), which grew
    exponentially with the number of parts.
    """
    leaves: list[tuple[bool, s.Formula]] = []

    def shape(f: s.Formula) -> bool:
        if isinstance(f, s.And | s.Or):
            return shape(f.left) and shape(f.right)
        if isinstance(f, s.Globally) and isinstance(f.operand, s.Finally):
            inner = f.operand.operand
            if is_propositional(inner):
                leaves.append((True, inner))
                return True
        if isinstance(f, s.Finally) and isinstance(f.operand, s.Globally):
            inner = f.operand.operand
            if is_propositional(inner):
                leaves.append((False, inner))
                return True
        return False

    if not shape(phi) or len(leaves) < 2:
        return None
    columns: list[np.ndarray] = []
    set_of: dict[bytes, int] = {}
    atom_of: dict[tuple[bool, s.Formula], AcceptanceAtom] = {}
    for infinitely, psi in leaves:
        if (infinitely, psi) in atom_of:
            continue
        mask = guard_letters(psi, propositions)
        if not infinitely:
            mask = ~mask  # F G psi: finitely many letters of !psi
        key = mask.tobytes()
        if key not in set_of:
            set_of[key] = len(columns)
            columns.append(mask)
        atom_of[(infinitely, psi)] = AcceptanceAtom(infinitely, set_of[key])
    if len(columns) > 60:
        return None  # marks are bit sets of an int64

    def condition(f: s.Formula) -> AcceptanceCondition:
        if isinstance(f, s.And | s.Or):
            kind = AcceptanceAnd if isinstance(f, s.And) else AcceptanceOr
            parts: list[AcceptanceCondition] = []
            for g in (condition(f.left), condition(f.right)):
                for h in (g.operands if isinstance(g, kind) else (g,)):
                    if h not in parts:
                        parts.append(h)
            return parts[0] if len(parts) == 1 else kind(tuple(parts))
        assert isinstance(f, s.Globally | s.Finally)
        middle = f.operand
        assert isinstance(middle, s.Globally | s.Finally)
        return atom_of[(isinstance(f, s.Globally), middle.operand)]

    succ = np.zeros((1, 1 << len(propositions)), dtype=np.int64)
    table = np.stack(columns, axis=1)
    return ops.finish(phi, propositions, succ, table, condition(phi), 0)


def _split_invariance(
    phi: s.Globally,
    own: tuple[str, ...],
    memo: dict[tuple[s.Formula, bool], DeterministicAutomaton],
    complement: bool,
) -> DeterministicAutomaton:
    """``G (p1 & ... & pn)`` translated whole or as the product of the ``G pi`` (equal:
    ``G`` distributes over ``&``), whichever has fewer states (then sets).

    The product has one set per ``G pi`` that needs one: e.g. ``G ((a -> F b) & (c -> F
    d))`` gets 4 states and two ``Inf`` sets (Spot's generalized Buchi automaton), where one
    breakpoint set over both obligations needs more states.
    """
    parts = [make_globally(g) for g in operands(phi.operand, s.And)]
    split = ops.product(phi, [_translate_nnf(p, own, memo, True, complement=complement)
                              for p in parts], True)
    try:
        with state_limit(min(state_budget(), max(2_000, 20 * split.n_states))):
            if not _fixpoint_subformulas(phi.operand, False)[1]:
                whole = _invariance_automaton(phi, own, phi.operand)
            elif not complement:
                whole = _general(phi, own)
            else:
                whole = _general_or_complement(phi, own, True)
    except InvalidSpecificationError:
        return split
    return split if (split.n_states, split.n_sets) < (whole.n_states, whole.n_sets) else whole


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
    after = After(propositions)
    n_props = len(propositions)
    chi_dnf = to_dnf(chi)
    start = (TT, TT)
    index = {start: 0}
    states = [start]
    succ_rows: list[Any] = []
    mark_rows: list[Any] = []
    i = 0
    while i < len(states):
        check_time(phi, len(states))
        pending, watched = states[i]
        codes, classes = _letter_classes(after, (pending, chi_dnf, watched), n_props)
        class_succ = [0] * len(classes)
        class_marks = [False] * len(classes)
        for c, values in classes:
            new_pending = dnf_and(values[0], values[1])
            if new_pending == FF:
                class_succ[c] = -1
                continue
            new_watched = values[2]
            fired = new_watched == TT
            key = (new_pending, new_pending if fired else new_watched)
            j = index.get(key)
            if j is None:
                j = len(states)
                if j >= state_budget():
                    raise too_many_states(phi)
                index[key] = j
                states.append(key)
            class_succ[c] = j
            class_marks[c] = fired
        if isinstance(codes, list):
            succ_rows.append([class_succ[c] for c in codes])
            mark_rows.extend(class_marks[c] for c in codes)
        else:
            succ_rows.append(np.asarray(class_succ, dtype=np.int64)[codes])
            mark_rows.extend(np.asarray(class_marks, dtype=bool)[codes].tolist())
        i += 1
    succ = np.array(succ_rows, dtype=np.int64)
    table = np.array(mark_rows, dtype=bool).reshape(succ.size, 1)
    return ops.finish(phi, propositions, succ, table, AcceptanceAtom(True, 0), 0)


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
    succ, table, _ = _explore(phi, propositions, [monitor], track=False)
    condition = AcceptanceAtom(kind == "recurrence", 0)
    return ops.finish(phi, propositions, succ, table, condition, 0)


def _general_or_complement(
    phi: s.Formula, own: tuple[str, ...], decompose: bool = True
) -> DeterministicAutomaton:
    """The master-theorem automaton of ``phi`` or the complement of that of ``!phi``,
    whichever has fewer states (then fewer sets).

    Complementing a deterministic automaton only takes completing it and negating its
    condition, and the translation of the negation is often much smaller (the master
    theorem treats ``F``/``U``/``M`` and ``G``/``R``/``W`` asymmetrically). The negation
    is tried when ``phi``'s automaton has more than a few states, with a state budget tied
    to that size, and also when ``phi`` is beyond the translator's limits. The negation is
    decomposed iff ``decompose``.
    """
    try:
        aut: DeterministicAutomaton | None = _general(phi, own)
        error: InvalidSpecificationError | None = None
    except InvalidSpecificationError as exc:
        aut, error = None, exc
    if aut is not None and aut.n_states <= _TRY_COMPLEMENT_ABOVE:
        return aut
    budget = state_budget()
    if aut is not None:
        budget = min(budget, max(2_000, min(20 * aut.n_states, 20_000)))
    other: DeterministicAutomaton | None
    try:
        with state_limit(budget):
            negation = _translate_own(simplify(s.Not(phi)), {}, False, decompose,
                                      complement=False)
            other = ops.lift(ops.complement(phi, negation), own)
    except InvalidSpecificationError:
        other = None
    if other is not None and condition_dnf(other.acceptance, MAX_DNF) is None:
        other = None  # a negated condition without a small DNF: costly for the analyses
    if other is None:
        if aut is None:
            assert error is not None
            raise error
        return aut
    if aut is None or (other.n_states, other.n_sets) < (aut.n_states, aut.n_sets):
        return other
    return aut


#: A formula over more than this many propositions whose top-level ``&``/``|`` splits into
#: parts over disjoint propositions is translated part by part and kept factored
#: (:class:`~objspec.ltl.factored.FactoredAutomaton`), without a table over all letters.
FACTOR_ABOVE_PROPOSITIONS = 10


@lru_cache(maxsize=256)
def _translate_cached(
    phi: s.Formula, propositions: tuple[str, ...], decompose: bool, complement: bool
) -> DeterministicAutomaton:
    """The dense automaton over ``propositions``, or a factored one (see
    :data:`FACTOR_ABOVE_PROPOSITIONS`; over more than 16 propositions always factored)."""
    nnf = simplify(phi)
    tree = split_disjoint(nnf) if decompose else nnf
    atoms = tuple(sorted(phi.atoms()))
    if isinstance(tree, s.Formula) and len(propositions) <= MAX_DENSE_PROPOSITIONS:
        return _translate_dense(phi, propositions, decompose, complement)
    if not isinstance(tree, s.Formula) and (
            len(propositions) > MAX_DENSE_PROPOSITIONS
            or len(atoms) > FACTOR_ABOVE_PROPOSITIONS):
        return factored_translation(
            phi, propositions, tree,
            lambda f, own: _translate_dense(f, own, decompose, complement),
            state_budget())
    if len(propositions) <= MAX_DENSE_PROPOSITIONS:
        return _translate_dense(phi, propositions, decompose, complement)
    # one part over the formula's own atoms; the other propositions are ignored
    return factored_translation(
        phi, propositions, phi,
        lambda f, own: _translate_dense(f, own, decompose, complement), state_budget())


@lru_cache(maxsize=256)
def _translate_dense(
    phi: s.Formula, propositions: tuple[str, ...], decompose: bool, complement: bool
) -> DeterministicAutomaton:
    """The dense automaton over ``propositions`` (at most 16)."""
    aut = _translate_nnf(simplify(phi), propositions, {}, False, decompose, complement)
    aut = merge_equivalent_states(aut, phi)
    return DeterministicAutomaton(
        propositions, aut.successors, aut.marks, aut.acceptance, aut.n_sets, aut.initial,
        acceptance_name=aut.acceptance_name, name=str(phi),
    )


def translate(
    formula: str | s.Formula,
    propositions: Iterable[str] | None = None,
    *,
    decompose: bool = True,
    complement: bool = True,
    max_states: int = MAX_STATES,
    time_limit: float | None = TIME_LIMIT,
    progress: Callable[[int, float], None] | None = None,
) -> DeterministicAutomaton:
    """Translate an LTL formula into an equivalent deterministic Emerson-Lei automaton.

    Parameters
    ----------
    formula : str or Formula
        The formula (Spot syntax).
    propositions : iterable of str, optional
        The automaton's alphabet; defaults to the formula's atoms (sorted). Extra propositions
        are allowed (the automaton ignores them); missing ones are an error.
    decompose : bool, default True
        Split the formula at top-level ``&``/``|`` (and under ``X``) into parts translated
        separately and recombined by products (Delag). With ``False`` each formula is
        translated whole, by one construction, which is often much larger and may exceed
        :data:`MAX_FIXPOINT_SUBFORMULAS`.
    complement : bool, default True
        For a part translated by the master theorem, also translate its negation and use
        the complement of that automaton when it is smaller. With ``False`` the master
        theorem's own automaton is always used.
    max_states : int, default :data:`MAX_STATES` (200,000)
        The most states any intermediate automaton (one part, one product of parts, one
        master-theorem product before minimisation) may have.
    time_limit : float or None, default :data:`TIME_LIMIT` (60 s)
        Wall-clock seconds the translation may take (checked while states are explored);
        ``None`` for no limit. An automaton already in the cache is returned whatever the
        budget.
    progress : callable, optional
        ``progress(states, seconds)``, called while states are explored (by each
        construction and product in turn) with the states that construction has built so
        far and the seconds since the translation started: e.g. to drive a progress bar
        for a large formula, next to the ``max_states``/``time_limit`` budget. Not called
        for an automaton found in the cache.

    Returns
    -------
    DeterministicAutomaton
        Accepts exactly the infinite words over ``2^propositions`` that satisfy ``formula``.
        A formula over more than :data:`FACTOR_ABOVE_PROPOSITIONS` propositions whose
        top-level ``&``/``|`` splits into parts over disjoint propositions (and any
        automaton over more than 16 propositions) is a
        :class:`~objspec.ltl.factored.FactoredAutomaton`: the product of the parts'
        automata, kept factored, with no table over all ``2**k`` letters.
        Automata are cached per ``(formula, propositions, decompose, complement)``; do not
        mutate them (:func:`objspec.ltl.caches.clear_caches` empties the cache).

    Raises
    ------
    LTLSyntaxError
        If ``formula`` does not parse.
    InvalidSpecificationError
        If ``propositions`` lacks an atom of the formula, or a budget or switch has a wrong
        type or value.
    AlphabetTooLargeError
        (a :class:`~objspec.errors.TranslationLimitError`) If a part of the formula that
        cannot be split at a top-level ``&``/``|`` into parts over disjoint propositions
        reads more than 16 propositions, or there are more than 62 propositions in all
        (see :mod:`objspec.ltl.factored`).
    TranslationLimitError
        (an :class:`~objspec.errors.InvalidSpecificationError`) If the formula is beyond the
        translator's limits: a part that cannot be split at a top-level ``&``/``|`` with
        more than :data:`MAX_FIXPOINT_SUBFORMULAS` fixpoint subformulas, an automaton beyond
        ``max_states`` states, one needing more than
        :data:`~objspec.ltl.operations.MAX_ACCEPTANCE_SETS` (62) acceptance
        sets, or a translation longer than ``time_limit``. The message says how to supply
        the automaton in HOA format instead (:data:`HOA_ADVICE`).

    Notes
    -----
    The formula is simplified, split at top-level ``&``/``|`` into parts translated
    separately and recombined by a product (unless ``decompose=False``), and each part is
    translated by the master theorem (or the complement of its negation's automaton, unless
    ``complement=False``) or by a smaller special construction; see the module docstring
    for the constructions and references.

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

    The two strategies can be switched off, e.g. to compare constructions; the language
    stays the same, the size does not:

    >>> f = "a R c R XX!b M a M (c R Xa) M XXa"
    >>> translate(f).n_states, translate(f, complement=False).n_states
    (16, 316)
    >>> many = " & ".join(f"G F p{i}" for i in range(8))
    >>> translate(many).n_states
    1
    >>> steps = []
    >>> translate("G (c -> X X a)", progress=lambda n, t: steps.append(n)).n_states
    4
    >>> steps[-1] >= 4
    True
    >>> big = translate(" & ".join(f"F (p{i} & F q{i})" for i in range(9)))  # 18 atoms
    >>> type(big).__name__, big.n_states, len(big.propositions)
    ('FactoredAutomaton', 19683, 18)
    >>> translate(many, decompose=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    objspec.errors.TranslationLimitError: GFp0 & ... has 16 fixpoint subformulas ...
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
    for name, flag in (("decompose", decompose), ("complement", complement)):
        if not isinstance(flag, bool):
            raise InvalidSpecificationError(f"{name} must be True or False; got {flag!r}")
    if progress is not None and not callable(progress):
        raise InvalidSpecificationError(f"progress must be callable or None; got {progress!r}")
    with translation_budget(max_states, time_limit, progress):
        return _translate_cached(phi, props, decompose, complement)


register_cache(_translate_cached.cache_clear)
register_cache(_translate_dense.cache_clear)
