"""Merging language-equivalent states of a deterministic Emerson-Lei automaton.

Partition refinement (:func:`objspec.ltl.operations.minimise`) merges states with the
same marks and equivalent successors; two states can accept the same words with different
marks, or with successors the refinement keeps apart, and stay separate. This module
decides language equivalence of states exactly and merges what is safe to merge.

* :func:`equivalent_states`: the pairs of states with equal languages, decided on the
  synchronous product of the automaton with itself. A pair ``(p, q)`` is inequivalent iff
  it reaches a pair where one side has a transition and the other none (every state of an
  automaton from :func:`objspec.ltl.operations.collapse` accepts some word, so the side with
  the transition accepts a word the other rejects), or a cycle whose marks satisfy the
  condition on one side and not on the other: an ultimately periodic witness word. The
  cycles are searched per strongly connected component by the generic Emerson-Lei
  emptiness check (Baier, Blahoudek, Duret-Lutz, Klein, Müller and Strejček, ATVA 2019):
  if the component's marks do not decide the condition, a ``Fin`` set either is avoided
  (its transitions removed, the components recomputed) or visited (the atom fixed), with
  disjunctions split. The search has a work budget; an undecided component counts as
  inequivalent, which only forgoes merges.
* :func:`merge_equivalent_states`: the quotient of the automaton by candidate classes (one
  representative state per class, its transitions and marks, targets replaced by their
  classes' representatives), used only when its language is checked equal to the
  automaton's by the same product test, from the two initial states. The candidates are
  the coarsest partition that ignores marks, then the states grouped by their verdicts on
  random lassos refined to a congruence: cheap, and never trusted. When no quotient is
  exact (and the automaton is small, :data:`MAX_EXACT_PAIRS`), the exact classes are
  computed and a state ``q`` is merged into an equivalent ``p`` from which ``q`` is not
  reachable: a redirected run continues as a run from ``p``, which never takes a
  redirected transition again, so every word's verdict is the verdict from ``q`` of its
  suffix, unchanged. Weak automata (equal marks inside each strongly connected component,
  as the co-safety and safety ones) of more than 32 states are left to partition
  refinement.

Examples
--------
>>> import numpy as np
>>> from objspec.ltl.automaton import DeterministicAutomaton, parse_acceptance
>>> # G F a (state 1) behind a transient copy of it with other marks (state 0); state 2
>>> # loops without marks
>>> succ = np.array([[1, 1], [1, 1], [2, 2]])
>>> marks = np.array([[1, 0], [0, 1], [0, 0]])
>>> aut = DeterministicAutomaton(("a",), succ, marks, parse_acceptance("Inf(0)"), 1)
>>> eq = equivalent_states(aut)
>>> bool(eq[0, 1]), bool(eq[0, 2])
(True, False)
>>> merge_equivalent_states(aut).n_states
1
"""

from __future__ import annotations

import numpy as np

from objspec.ltl import operations as ops
from objspec.ltl import syntax as s
from objspec.ltl.automaton import (
    AcceptanceAnd,
    AcceptanceAtom,
    AcceptanceCondition,
    AcceptanceConstant,
    AcceptanceOr,
    DeterministicAutomaton,
)
from objspec.ltl.budget import check_time
from objspec.mdp.graph import adjacency, reachable, strongly_connected_components

__all__ = [
    "MAX_EXACT_PAIRS", "MAX_PAIR_EDGES", "MAX_SIGNATURE_STATES", "MERGE_WORK", "equivalent_states",
    "merge_equivalent_states",
]

#: The product of an automaton with itself is built only up to this many transitions
#: (states squared times letters); larger automata are left as they are.
MAX_PAIR_EDGES = 4_000_000

#: Exact language equivalence of all pairs of states (for one-way merges when no quotient
#: is exact) is computed only up to this many product transitions.
MAX_EXACT_PAIRS = 200_000

#: Automata with more states than this skip the candidates from random lassos (their cost
#: grows with states times lassos): only the coarsest partition that ignores marks is tried.
MAX_SIGNATURE_STATES = 5_000

#: The most component checks the cycle search may make for one automaton; beyond it the
#: components not yet decided count as inequivalent.
MERGE_WORK = 20_000

# A condition as nested tuples: ("t",), ("f",), ("inf", i), ("fin", i), ("and", parts),
# ("or", parts).
_Cond = tuple


def _tree(cond: AcceptanceCondition, shift: int, negated: bool) -> _Cond | None:
    """``cond`` (or its negation) over sets shifted by ``shift``; ``None`` if it has
    complemented atoms (not handled here)."""
    if isinstance(cond, AcceptanceConstant):
        return ("t",) if cond.value != negated else ("f",)
    if isinstance(cond, AcceptanceAtom):
        if cond.complemented:
            return None
        inf = cond.infinitely != negated
        return ("inf" if inf else "fin", cond.index + shift)
    if isinstance(cond, AcceptanceAnd | AcceptanceOr):
        parts = [_tree(c, shift, negated) for c in cond.operands]
        if any(p is None for p in parts):
            return None
        conj = isinstance(cond, AcceptanceAnd) != negated
        return ("and" if conj else "or", tuple(parts))
    return None


def _fix(c: _Cond, avoided: int, visited: int) -> _Cond:
    """Simplify ``c`` knowing the sets in ``avoided`` are not seen and those in
    ``visited`` are."""
    kind = c[0]
    if kind in ("inf", "fin"):
        bit = 1 << c[1]
        if avoided & bit:
            return ("t",) if kind == "fin" else ("f",)
        if visited & bit:
            return ("t",) if kind == "inf" else ("f",)
        return c
    if kind in ("t", "f"):
        return c
    conj = kind == "and"
    parts: list[_Cond] = []
    for p in c[1]:
        q = _fix(p, avoided, visited)
        if q[0] == ("f" if conj else "t"):
            return q
        if q[0] == ("t" if conj else "f"):
            continue
        parts.extend(q[1] if q[0] == kind else (q,))
    if not parts:
        return ("t",) if conj else ("f",)
    return parts[0] if len(parts) == 1 else (kind, tuple(parts))


def _holds(c: _Cond, seen: int) -> bool:
    kind = c[0]
    if kind == "t":
        return True
    if kind == "f":
        return False
    if kind == "inf":
        return bool((seen >> c[1]) & 1)
    if kind == "fin":
        return not (seen >> c[1]) & 1
    if kind == "and":
        return all(_holds(p, seen) for p in c[1])
    return any(_holds(p, seen) for p in c[1])


def _fin_sets(c: _Cond) -> list[int]:
    if c[0] == "fin":
        return [c[1]]
    if c[0] in ("and", "or"):
        return [i for p in c[1] for i in _fin_sets(p)]
    return []


class _Budget(Exception):
    pass


def _components(src: np.ndarray, dst: np.ndarray) -> list[np.ndarray]:
    """The edge index sets of the nontrivial strongly connected components."""
    nodes, inverse = np.unique(np.concatenate([src, dst]), return_inverse=True)
    k = src.size
    _, label = strongly_connected_components(adjacency(nodes.size, inverse[:k], inverse[k:]))
    label = np.asarray(label)
    ls, ld = label[inverse[:k]], label[inverse[k:]]
    inside = np.flatnonzero(ls == ld)
    if inside.size == 0:
        return []
    order = inside[np.argsort(ls[inside], kind="stable")]
    cuts = np.flatnonzero(np.diff(ls[order])) + 1
    return np.split(order, cuts)


def _accepting_cycle(
    src: np.ndarray, dst: np.ndarray, marks: np.ndarray, cond: _Cond, visited: int,
    work: list[int],
) -> bool:
    """Whether the strongly connected edges ``src -> dst`` (one component) contain a
    cycle whose marks satisfy ``cond`` and include every set of ``visited``."""
    work[0] += 1
    if work[0] > MERGE_WORK:
        raise _Budget
    seen = 0
    for m in np.unique(marks).tolist():
        seen |= int(m)
    if visited & ~seen:
        return False
    c = _fix(cond, ~seen, visited)
    if c[0] == "f":
        return False
    if _holds(c, seen):
        return True  # a cycle through every edge of the component
    if c[0] == "or":
        return any(_accepting_cycle(src, dst, marks, d, visited, work) for d in c[1])
    fins = _fin_sets(c)
    if not fins:
        return False  # only Inf atoms: fewer sets cannot help
    forced = [p[1] for p in c[1] if p[0] == "fin"] if c[0] == "and" else []
    i = fins[0]
    avoid = 1 << i
    if forced:  # every set of a Fin conjunct must be avoided: all removed at once
        avoid = 0
        for j in forced:
            avoid |= 1 << j
    keep = (marks & avoid) == 0
    for edges in _components(src[keep], dst[keep]):
        sub = np.flatnonzero(keep)[edges]
        if _accepting_cycle(src[sub], dst[sub], marks[sub], c, visited, work):
            return True
    if forced:
        return False  # the set must be avoided
    return _accepting_cycle(src, dst, marks, _fix(c, 0, 1 << i), visited | (1 << i), work)


def _differing(
    a: DeterministicAutomaton, b: DeterministicAutomaton, roots: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray] | None:
    """The pairs ``(i, j)`` (code ``i * b.n_states + j``) of the synchronous product of
    ``a`` and ``b`` (same condition and sets) reachable from the pair codes ``roots``
    (``None``: all pairs), and a bool mask over them: the pair's languages differ (or
    were not told apart within :data:`MERGE_WORK`). ``None`` for conditions with
    complemented atoms."""
    k = a.n_sets
    left, right = _tree(a.acceptance, 0, False), _tree(b.acceptance, k, True)
    left_neg, right_pos = _tree(a.acceptance, 0, True), _tree(b.acceptance, k, False)
    if left is None or right is None or left_neg is None or right_pos is None:
        return None
    xor: _Cond = ("or", (("and", (left, right)), ("and", (left_neg, right_pos))))
    n, m = a.n_states, b.n_states
    sa, sb = a.successors, b.successors
    ma, mb = a.marks.astype(np.int64), b.marks.astype(np.int64)
    n_letters = sa.shape[1]
    if roots is None:
        codes = np.arange(n * m)
    else:
        seen = np.zeros(n * m, dtype=bool)
        seen[roots] = True
        frontier = np.unique(roots)
        while frontier.size:
            x, y = sa[frontier // m], sb[frontier % m]
            nxt = (x * m + y)[(x >= 0) & (y >= 0)]
            nxt = np.unique(nxt[~seen[nxt]])
            seen[nxt] = True
            frontier = nxt
        codes = np.flatnonzero(seen)
    local = np.full(n * m, -1, dtype=np.int64)
    local[codes] = np.arange(codes.size)
    bad = codes.size  # the node "one side has a transition, the other none"
    x, y = sa[codes // m].reshape(-1), sb[codes % m].reshape(-1)
    both, one = (x >= 0) & (y >= 0), (x >= 0) != (y >= 0)
    src = np.repeat(np.arange(codes.size), n_letters)
    dst = np.where(both, local[np.maximum(x, 0) * m + np.maximum(y, 0)], bad)
    pair_marks = ma[codes // m].reshape(-1) | (mb[codes % m].reshape(-1) << k)
    keep = both | one
    src, dst, pair_marks = src[keep], dst[keep], pair_marks[keep]
    graph = adjacency(codes.size + 1, src, dst)
    _, label = strongly_connected_components(graph)
    label = np.asarray(label)
    inside = np.flatnonzero((label[src] == label[dst]) & (dst != bad))
    seeds = [bad]
    order = inside[np.argsort(label[src[inside]], kind="stable")]
    work = [0]
    for group in np.split(order, np.flatnonzero(np.diff(label[src[order]])) + 1):
        if group.size == 0:
            continue
        gm = pair_marks[group]
        if a is b and np.array_equal(gm & ((1 << k) - 1), gm >> k):
            continue  # both sides see the same sets on every transition
        try:
            found = _accepting_cycle(src[group], dst[group], gm, xor, 0, work)
        except _Budget:
            found = True
        if found:
            seeds.append(int(src[group[0]]))
    differ = reachable(graph, np.array(seeds), backward=True)
    return codes, differ[:codes.size]


def equivalent_states(aut: DeterministicAutomaton) -> np.ndarray | None:
    """``[Q, Q]`` bool: the pairs of states with the same language (``None``: not decided,
    for automata with complemented atoms or beyond :data:`MAX_PAIR_EDGES`).

    Exact where it returns ``True``: a pair is reported equivalent only when no pair it
    reaches in the product with itself can tell the two languages apart (see the module
    docstring); an undecided component makes pairs inequivalent. A pair whose states
    differ on a missing transition is inequivalent (exact when every state accepts some
    word, as after :func:`objspec.ltl.operations.collapse`; else only conservative).

    Examples
    --------
    >>> from objspec.ltl.translation import translate
    >>> eq = equivalent_states(translate("G F a"))
    >>> eq.tolist()
    [[True]]
    """
    n, n_letters = aut.successors.shape
    # Only pairs in one block of the partition that ignores marks can be equivalent (see
    # merge_equivalent_states), and their successors stay in such pairs.
    _, _, _, block = ops.minimise(aut.successors, np.zeros_like(aut.marks), aut.initial)
    same = block[:, None] == block[None, :]
    roots = np.flatnonzero(same.reshape(-1))
    if roots.size * n_letters > MAX_PAIR_EDGES:
        return None
    result = _differing(aut, aut, roots)
    if result is None:
        return None
    codes, differ = result
    eq = np.zeros(n * n, dtype=bool)
    eq[codes] = ~differ
    return eq.reshape(n, n) & same


def _quotient(aut: DeterministicAutomaton, group: np.ndarray, last: bool
              ) -> DeterministicAutomaton:
    """The automaton of the candidate classes ``group`` (``[Q]`` int labels): one
    representative state per class (the first or the ``last`` in state order), its
    transitions and marks, targets replaced by their classes' representatives. Its language
    is not guaranteed (checked by the caller). O(transitions): no ``Q x Q`` matrix."""
    n = aut.n_states
    order = np.arange(n)
    rep = np.full(int(group.max()) + 1, -1 if last else n, dtype=np.int64)
    (np.maximum if last else np.minimum).at(rep, group, order)
    cls = rep[group]
    reps = np.unique(cls)
    index = np.full(n + 1, -1, dtype=np.int64)
    index[reps] = np.arange(reps.size)
    old = aut.successors[reps]
    succ = np.where(old >= 0, index[cls[np.maximum(old, 0)]], -1)
    return DeterministicAutomaton(
        aut.propositions, succ, aut.marks[reps], aut.acceptance, aut.n_sets,
        int(index[cls[aut.initial]]), name=aut.name, acceptance_name=aut.acceptance_name,
    )


def _same_language(a: DeterministicAutomaton, b: DeterministicAutomaton) -> bool:
    """Whether ``a`` and ``b`` (same propositions, condition and sets) accept the same
    words, by :func:`_differing` on the pairs reachable from the initial pair."""
    if a.n_states * b.n_states * a.successors.shape[1] > MAX_PAIR_EDGES:
        return False
    result = _differing(a, b, np.array([a.initial * b.n_states + b.initial]))
    if result is None:
        return False
    codes, differ = result
    return not bool(differ[np.searchsorted(codes, a.initial * b.n_states + b.initial)])


def _tidy(aut: DeterministicAutomaton, succ: np.ndarray, marks: np.ndarray,
          initial: int) -> DeterministicAutomaton:
    """The reachable part, then :func:`objspec.ltl.operations.finish` (marks that cannot
    matter cleared, equal sets merged, minimised, condition tidied)."""
    succ, marks = ops.prune(succ, marks, initial)
    table = ((marks.reshape(-1)[:, None].astype(np.int64) >> np.arange(aut.n_sets)) & 1)
    out = ops.finish(s.TRUE, aut.propositions, succ, table.astype(bool), aut.acceptance, 0)
    return DeterministicAutomaton(
        aut.propositions, out.successors, out.marks, out.acceptance, out.n_sets, out.initial,
        name=aut.name, acceptance_name=aut.acceptance_name,
    )


_PASSES = 16


def _verdicts(aut: DeterministicAutomaton, starts: np.ndarray, count: int, seed: int,
              passes: int) -> np.ndarray:
    """``[len(starts), count]`` bool: whether ``aut`` from each start state accepts each
    of ``count`` random lassos ``u v^w`` (``|u|, |v| <= 4``; the same lassos for the same
    ``count``, ``seed`` and alphabet). After ``n + 1`` passes over ``v`` the state at each
    pass start is periodic and the next ``n + 1`` passes cover a whole period, so the
    verdicts are exact for ``passes >= n + 1`` and heuristic below."""
    succ, marks, cond = aut.successors, aut.marks.astype(np.int64), aut.acceptance
    n, n_letters = succ.shape
    dead = n
    table = np.vstack([np.where(succ >= 0, succ, dead), np.full((1, n_letters), dead)])
    mark_table = np.vstack([marks, np.zeros((1, n_letters), dtype=np.int64)])
    rng = np.random.default_rng(seed)
    out = []
    per_length = max(1, count // 4)
    for cycle_length in (1, 2, 3, 4):
        prefix = rng.integers(0, n_letters, size=(per_length, int(rng.integers(0, 5))))
        cycle = rng.integers(0, n_letters, size=(per_length, cycle_length))
        cur = np.broadcast_to(starts, (per_length, starts.size)).copy()
        rows = np.arange(per_length)[:, None]
        for t in range(prefix.shape[1]):
            cur = table[cur, prefix[rows, t]]
        union = np.zeros(cur.shape, dtype=np.int64)
        for rep in range(2 * passes):
            for t in range(cycle_length):
                letter = cycle[rows, t]
                if rep >= passes:
                    union |= mark_table[cur, letter]
                cur = table[cur, letter]
        values = {u: cond.holds(u, 0) for u in np.unique(union).tolist()}
        accept = np.vectorize(values.__getitem__, otypes=[bool])(union) & (cur != dead)
        out.append(accept)
    return np.concatenate(out, axis=0).T


def _lasso_signatures(aut: DeterministicAutomaton, count: int, seed: int) -> np.ndarray:
    """``[Q]`` int: states grouped by their verdicts on ``count`` random lassos
    (:func:`_verdicts`, at most ``2 * _PASSES`` passes), refined to a congruence (equal
    groups, equal successor groups). Equivalent states always share a group; a group may
    hold inequivalent states (the candidates are checked, never trusted)."""
    n, n_letters = aut.successors.shape
    signature = _verdicts(aut, np.arange(n), count, seed, min(n + 1, _PASSES))
    _, group = np.unique(signature, axis=0, return_inverse=True)
    group = np.asarray(group).reshape(-1)
    _, _, _, block = ops.minimise(aut.successors, np.repeat(group[:, None], n_letters, axis=1),
                                  aut.initial)
    return block


#: Pairs of automata with at most this many product transitions (states times states
#: times letters) go straight to the exact check: cheaper than the refutation on lassos.
_DIRECT_CHECK = 4096


def _checked_equal(a: DeterministicAutomaton, b: DeterministicAutomaton) -> bool:
    """Whether ``a`` and ``b`` accept the same words (exact, :func:`_same_language`), after
    the refutation on random lassos (:func:`_plausible`) for all but small pairs."""
    if a.n_states * b.n_states * a.successors.shape[1] > _DIRECT_CHECK and not _plausible(a, b):
        return False
    return _same_language(a, b)


def _plausible(a: DeterministicAutomaton, b: DeterministicAutomaton) -> bool:
    """Whether ``a`` and ``b`` agree on 256 random lassos: a cheap refutation before the
    exact check (verdicts exact up to ``4 * _PASSES`` states)."""
    va = _verdicts(a, np.array([a.initial]), 256, 7, min(a.n_states + 1, 4 * _PASSES))
    vb = _verdicts(b, np.array([b.initial]), 256, 7, min(b.n_states + 1, 4 * _PASSES))
    return bool(np.array_equal(va, vb))


#: Weak automata with more states than this are left to partition refinement.
_SMALL = 32


def _weak(aut: DeterministicAutomaton) -> bool:
    """Whether all transitions inside each strongly connected component carry the same
    marks (as the co-safety and safety automata do): partition refinement then already
    merges what equal languages allow in practice, and the search is skipped for all but
    small ones (:data:`_SMALL`)."""
    src, dst, m = ops._edges(aut.successors, aut.marks)
    _, label = strongly_connected_components(adjacency(aut.n_states, src, dst))
    label = np.asarray(label)
    inside = label[src] == label[dst]
    lab, mk = label[src[inside]], m[inside]
    first = np.full(aut.n_states, -1, dtype=np.int64)
    first[lab[::-1]] = mk[::-1]
    return bool((first[lab] == mk).all())


def merge_equivalent_states(
    aut: DeterministicAutomaton, formula: s.Formula | None = None
) -> DeterministicAutomaton:
    """``aut`` with language-equivalent states merged where that is safe (see the module
    docstring), re-minimised; ``aut`` itself when nothing merges or equivalence is not
    decided. The language is unchanged.

    Inside a translation (``formula``: the formula translated) the translation's deadline
    is checked between the steps (:func:`objspec.ltl.budget.check_time`). Automata of more
    than :data:`MAX_SIGNATURE_STATES` states only try the mark-blind partition, and those
    whose one-state quotient could not be checked (:data:`MAX_PAIR_EDGES` transitions) are
    returned as they are.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.ltl.automaton import DeterministicAutomaton, parse_acceptance
    >>> succ, marks = np.array([[1, 1], [1, 1]]), np.array([[1, 0], [0, 1]])
    >>> aut = DeterministicAutomaton(("a",), succ, marks, parse_acceptance("Inf(0)"), 1)
    >>> merge_equivalent_states(aut).n_states  # state 0: a transient copy of state 1
    1
    """
    if aut.n_states < 2 or (aut.n_states > _SMALL and _weak(aut)):
        return aut
    if aut.n_states * aut.successors.shape[1] > MAX_PAIR_EDGES:
        # even a one-state quotient could not be checked (_same_language): nothing merges
        return aut
    # First the coarsest partition that ignores marks: language-equivalent states (all
    # nonempty) have the same defined letters and equivalent successors, so it is coarser
    # than language equivalence; its quotient is cheap to build and check. (For states
    # that may be empty, the partition is only a heuristic: every quotient is checked.)
    _, _, _, block = ops.minimise(aut.successors, np.zeros_like(aut.marks), aut.initial)
    if block.max() + 1 == aut.n_states:
        return aut  # no two states are equivalent
    if block.max() + 1 < aut.n_states:
        for last in (False, True):
            small = _quotient(aut, block, last)
            if _checked_equal(aut, small):
                return _tidy(small, small.successors, small.marks, small.initial)
    if _tree(aut.acceptance, 0, False) is None or aut.n_states > MAX_SIGNATURE_STATES:
        return aut
    # Candidates from random lassos (cheap); their quotient is used only if checked exact.
    for count, seed in ((64, 0), (256, 1)):
        if formula is not None:
            check_time(formula, aut.n_states)
        group = _lasso_signatures(aut, count, seed)
        if group.max() + 1 == aut.n_states:
            break
        for last in (False, True):
            small = _quotient(aut, group, last)
            if _checked_equal(aut, small):
                return _tidy(small, small.successors, small.marks, small.initial)
    if aut.n_states * aut.n_states * aut.successors.shape[1] > MAX_EXACT_PAIRS:
        return aut
    if formula is not None:
        check_time(formula, aut.n_states)
    eq = equivalent_states(aut)
    if eq is None:
        return aut
    succ = aut.successors.copy()
    n = aut.n_states
    alive = np.ones(n, dtype=bool)
    merged = False
    # States of one class, later ones (deeper in the automaton, as explored) tried first
    # as the surviving state: the redirected ones are usually the transient copies.
    for p in range(n - 1, -1, -1):
        if not alive[p]:
            continue
        candidates = [q for q in np.flatnonzero(eq[p]).tolist() if q != p and alive[q]]
        if not candidates:
            continue
        src, dst, _ = ops._edges(succ)
        from_p = reachable(adjacency(n, src, dst), [p])
        for q in candidates:
            if from_p[q]:
                continue
            succ[succ == q] = p
            alive[q] = False
            merged = True
    if not merged:
        return aut
    initial = aut.initial
    while not alive[initial]:
        initial = int(np.flatnonzero(eq[initial] & alive)[0])
    return _tidy(aut, succ, aut.marks, initial)
