"""Operations on deterministic Emerson-Lei automata given by successor and mark tables:
minimisation, reachable synchronous products, complement, delay and alphabet lifting.

An automaton under construction is a successor table ``succ[q, letter]`` (``-1``: no
transition), a table of the acceptance sets each transition carries and a condition.
:func:`finish` turns these raw parts into a :class:`~objspec.ltl.automaton.DeterministicAutomaton`:
it clears the marks that cannot matter (of transitions on no cycle, which a run takes
finitely often, and, per strongly connected component, of sets no still-satisfiable
disjunct mentions), merges acceptance sets that mark the same transitions, minimises by
partition refinement (Moore: states with equal marks and equivalent successors merge) and
tidies the condition (:func:`objspec.ltl.acceptance.tidy_acceptance`). Every automaton the
translator returns went through it.

:func:`product` is the reachable synchronous product for ``&`` or ``|`` (Delag: Müller and
Sickert, "LTL to Deterministic Emerson-Lei Automata", GandALF 2017); :func:`complement`
completes an automaton and negates its condition, which for deterministic automata gives
the complement language; :func:`lift` reads a larger alphabet; :func:`delayed` prefixes a
chain of states (``X^k``). Products respect the state budget of
:mod:`objspec.ltl.budget`.

Examples
--------
>>> import numpy as np
>>> from objspec.ltl.automaton import AcceptanceAtom
>>> from objspec.ltl.syntax import Atom
>>> # letters {} and {a}; set 0 on every {a}-transition: "infinitely often a", two
>>> # equivalent states
>>> succ = np.array([[1, 0], [1, 0]])
>>> table = np.array([[0], [1], [0], [1]], dtype=bool)
>>> aut = finish(Atom("a"), ("a",), succ, table, AcceptanceAtom(True, 0), 0)
>>> aut.n_states, str(aut.acceptance)
(1, 'Inf(0)')
>>> co = complement(Atom("a"), aut)
>>> co.accepts_lasso([], [{"a"}]), co.accepts_lasso([], [set()])
(False, True)
>>> lift(co, ("a", "b")).propositions
('a', 'b')
"""

from __future__ import annotations

import numpy as np

from objspec.errors import TranslationLimitError
from objspec.ltl import syntax as s
from objspec.ltl.acceptance import (
    MAX_DNF,
    condition_dnf,
    negate,
    shift,
    substitute,
    tidy_acceptance,
)
from objspec.ltl.automaton import (
    AcceptanceAnd,
    AcceptanceAtom,
    AcceptanceCondition,
    AcceptanceConstant,
    AcceptanceOr,
    DeterministicAutomaton,
)
from objspec.ltl.budget import HOA_ADVICE, check_time, state_budget, too_many_states
from objspec.mdp.graph import (
    adjacency,
    reachable,
    strongly_connected_components,
)

__all__ = [
    "MAX_ACCEPTANCE_SETS",
    "mark_table",
    "minimise",
    "prune",
    "first_occurrences",
    "empty_states",
    "universal_states",
    "is_empty",
    "is_universal",
    "collapse",
    "finish",
    "constant",
    "product",
    "complement",
    "lift",
    "delayed",
]

#: Acceptance sets are int64 bitmasks.
MAX_ACCEPTANCE_SETS = 62


def mark_table(mark_rows: list[list[list[int]]], n_sets: int) -> np.ndarray:
    """``[Q * L, n_sets]`` bool: which sets each transition (row-major) belongs to.

    Examples
    --------
    >>> mark_table([[[0], []], [[], [0, 1]]], 2).astype(int).tolist()
    [[1, 0], [0, 0], [0, 0], [1, 1]]
    """
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


def _row_classes(a: np.ndarray) -> np.ndarray:
    """``[n]`` int: equal rows of a 2-d array get equal numbers (rows compared as bytes,
    which is much faster than ``np.unique(axis=0)`` on wide rows)."""
    a = np.ascontiguousarray(a)
    if a.shape[1] == 0:
        return np.zeros(a.shape[0], dtype=np.int64)
    if a.shape[0] <= 4096 or a.shape[1] * a.itemsize >= 4096:
        # few or wide rows (a dense table over many letters): hash each row's bytes
        # instead of sorting the rows
        seen: dict[bytes, int] = {}
        return np.array([seen.setdefault(row.tobytes(), len(seen)) for row in a],
                        dtype=np.int64)
    rows = a.view(np.dtype((np.void, a.dtype.itemsize * a.shape[1]))).ravel()
    _, inverse = np.unique(rows, return_inverse=True)
    return inverse.ravel()


def minimise(
    succ: np.ndarray, marks: np.ndarray, initial: int
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """Merge states with equal mark rows and equivalent successors (Moore refinement).

    Examples
    --------
    >>> import numpy as np
    >>> succ, marks = np.array([[1, 0], [1, 0]]), np.array([[0, 1], [0, 1]])
    >>> new_succ, new_marks, initial, block = minimise(succ, marks, 0)
    >>> new_succ.tolist(), new_marks.tolist(), initial, block.tolist()
    ([[0, 0]], [[0, 1]], 0, [0, 0])
    """
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


def first_occurrences(row: np.ndarray) -> np.ndarray:
    """The distinct values of a row of small ints (``>= -1``) in the order of their first
    occurrence, without sorting the row.

    Examples
    --------
    >>> first_occurrences(np.array([3, 1, 3, -1, 0, 1])).tolist()
    [3, 1, -1, 0]
    >>> first_occurrences(np.array([900, -1, 900, 5])).tolist()
    [900, -1, 5]
    """
    size = int(row.max()) + 2 if row.size else 1
    if size > 4 * row.size + 64:  # large values in a short row: sort instead
        values, first_at = np.unique(row, return_index=True)
        return values[np.argsort(first_at, kind="stable")]
    first = np.full(size, row.size, dtype=np.int64)
    np.minimum.at(first, row + 1, np.arange(row.size))
    values = np.flatnonzero(first < row.size)
    return values[np.argsort(first[values], kind="stable")] - 1


def prune(succ: np.ndarray, marks: np.ndarray, initial: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep the states reachable from ``initial`` (renumbered in order, initial first).

    Examples
    --------
    >>> import numpy as np
    >>> succ = np.array([[0, 2], [1, 1], [2, 0]])  # state 1 is unreachable
    >>> new_succ, _ = prune(succ, np.zeros((3, 2), dtype=np.int64), 0)
    >>> new_succ.tolist()
    [[0, 1], [1, 0]]
    """
    seen = {initial: 0}
    order = [initial]
    i = 0
    while i < len(order):
        # the row's distinct successors in the order of their first letter
        row = succ[order[i]]
        targets = row.tolist() if row.size <= 64 else first_occurrences(row).tolist()
        for j in targets:
            if j >= 0 and j not in seen:
                seen[j] = len(order)
                order.append(j)
        i += 1
    remap = np.full(succ.shape[0] + 1, -1, dtype=np.int64)
    for old, new in seen.items():
        remap[old] = new
    kept = np.array(order)
    return remap[succ[kept]], marks[kept]


#: Distinct transitions are found with a presence array (no sort) up to this many slots.
_PRESENCE_SLOTS = 1 << 26


def _distinct_edges(
    succ: np.ndarray, marks: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct existing transitions ``(source, target, marks)`` of a table, sorted.

    Graph algorithms only need each edge (with its marks) once, and a dense table over
    ``2**k`` letters repeats most of them: a state has few distinct successors.

    Examples
    --------
    >>> import numpy as np
    >>> src, dst, m = _distinct_edges(np.array([[1, 1, 0, -1], [1, 1, 1, 1]]))
    >>> src.tolist(), dst.tolist(), m.tolist()
    ([0, 0, 1], [0, 1, 1], [0, 0, 0])
    """
    n = succ.shape[0]
    exists = succ >= 0
    key = (np.arange(n, dtype=np.int64)[:, None] * n + succ)[exists]
    m = np.zeros(key.size, dtype=np.int64) if marks is None else marks[exists]
    top = int(m.max()) + 1 if m.size else 1
    slots = n * n * top
    if slots <= min(_PRESENCE_SLOTS, max(16 * key.size, 1 << 16)):
        present = np.zeros(slots, dtype=bool)
        present[key * top + m] = True
        key, m = np.divmod(np.flatnonzero(present), top)
    elif slots < 1 << 62:
        key, m = np.divmod(np.unique(key * top + m), top)
    else:
        pairs = np.unique(np.stack([key, m], axis=1), axis=0)
        key, m = pairs[:, 0], pairs[:, 1]
    src, dst = np.divmod(key, n)
    return src, dst, m


#: Tables with at most this many letters give graph passes every transition (few repeats);
#: wider ones their distinct edges only.
_RAW_EDGES_LETTERS = 16


def _edges(
    succ: np.ndarray, marks: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The existing transitions ``(source, target, marks)`` for a graph pass: all of them
    on narrow tables, the distinct ones (:func:`_distinct_edges`) on wide ones.

    Examples
    --------
    >>> import numpy as np
    >>> src, dst, m = _edges(np.array([[1, 1], [-1, 0]]))
    >>> src.tolist(), dst.tolist(), m.tolist()
    ([0, 0, 1], [1, 1, 0], [0, 0, 0])
    """
    if succ.shape[1] > _RAW_EDGES_LETTERS:
        return _distinct_edges(succ, marks)
    exists = succ >= 0
    src = np.repeat(np.arange(succ.shape[0], dtype=np.int64), succ.shape[1])[exists.reshape(-1)]
    m = np.zeros(src.size, dtype=np.int64) if marks is None else marks[exists]
    return src, succ[exists], m


#: Graphs of at most this many automaton states are analysed with a dense transitive
#: closure (a few float32 matrix squarings) instead of :mod:`objspec.mdp.graph`'s sparse
#: searches, whose fixed cost dominates on the few-state automata of most formulas.
SMALL_GRAPH_STATES = 32


def _closure(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """``[n, n]`` bool: ``closure[i, j]`` iff ``j`` is reachable from ``i`` (reflexive),
    by repeated squaring of the adjacency matrix with the identity (``ceil(log2 n)``
    products at most; float32 counts of at most ``n`` are exact)."""
    reach = np.eye(n, dtype=np.float32)
    reach[src, dst] = 1.0
    while True:
        squared = (reach @ reach) > 0
        if (squared == (reach > 0)).all():
            return squared
        reach = squared.astype(np.float32)


def _sccs(n: int, src: np.ndarray, dst: np.ndarray) -> tuple[int, np.ndarray]:
    """The strongly connected components of the graph ``src -> dst`` on ``n`` nodes:
    their number and each node's label in ``0 .. count - 1`` (the dense closure below
    :data:`SMALL_GRAPH_STATES` nodes, labels in order of each component's smallest node;
    else :func:`~objspec.mdp.graph.strongly_connected_components`)."""
    if n > SMALL_GRAPH_STATES:
        return strongly_connected_components(adjacency(n, src, dst))
    reach = _closure(n, src, dst)
    first = (reach & reach.T).argmax(axis=1)  # each node's smallest mutual-reach node
    roots, labels = np.unique(first, return_inverse=True)
    return int(roots.size), labels.reshape(-1)


def _reaching(succ: np.ndarray, roots: np.ndarray) -> np.ndarray:
    """``[Q]`` bool: the automaton states from which a state of ``roots`` is reachable."""
    n = succ.shape[0]
    src, dst, _ = _edges(succ)
    if n > SMALL_GRAPH_STATES:
        return reachable(adjacency(n, src, dst), roots, backward=True)
    return np.asarray(_closure(n, src, dst)[:, roots].any(axis=1))


def _on_cycles(succ: np.ndarray) -> np.ndarray:
    """``[Q, L]`` bool: the transition exists and lies inside a strongly connected component."""
    n = succ.shape[0]
    src, dst, _ = _edges(succ)
    _, labels = _sccs(n, src, dst)
    labels = np.append(np.asarray(labels), -1)
    return (succ >= 0) & (labels[:n, None] == labels[succ])


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
    new_condition = substitute(condition, atom_value)
    marks = np.zeros(table.shape[0], dtype=np.int64)
    written: set[int] = set()
    for old, new in atom_value.items():
        if isinstance(new, int) and new not in written:
            written.add(new)
            marks |= table[:, old].astype(np.int64) << new
    return marks, new_condition


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
    dnf = condition_dnf(condition, MAX_DNF)
    if dnf is None or not dnf or n * len(dnf) > 10_000_000:
        return everything
    inf_masks = np.array([sum(1 << a.index for a in c if a.infinitely) for c in dnf],
                         dtype=np.int64)
    all_masks = np.array([sum(1 << a.index for a in c) for c in dnf], dtype=np.int64)
    src, dst, edge_marks = _edges(succ, marks)
    n_comp, comp = _sccs(n, src, dst)
    inside = comp[src] == comp[dst]
    present = np.zeros(n_comp, dtype=np.int64)
    np.bitwise_or.at(present, comp[src[inside]], edge_marks[inside])
    values, which = np.unique(present, return_inverse=True)
    live = (values[:, None] & inf_masks[None, :]) == inf_masks[None, :]
    keep = np.bitwise_or.reduce(np.where(live, all_masks[None, :], 0), axis=1)
    return keep[which.ravel()][comp]


#: Emptiness and universality checks are skipped above this many (edges x distinct
#: ``Fin`` signatures of the condition's disjuncts): they would cost more than they save.
MAX_EMPTINESS_WORK = 10_000_000


def _accepting_nodes(
    succ: np.ndarray, marks: np.ndarray, condition: AcceptanceCondition
) -> np.ndarray | None:
    """``[Q]`` bool: the states on a cycle whose transitions satisfy ``condition``
    (``None``: not decided, see :func:`is_empty`).

    A disjunct ``Fin(F) & Inf(I)`` of the condition (complemented atoms read the same
    way) holds on some cycle through a state iff, after removing the transitions of the
    sets in ``F`` (and those outside a set ``j`` of ``Fin(!j)``), the state's strongly
    connected component has an internal transition of every set in ``I`` (and one
    outside every set ``j`` of ``Inf(!j)``): a cycle through all transitions of that
    component satisfies the disjunct.
    """
    dnf = condition_dnf(condition, MAX_DNF)
    if dnf is None:
        return None
    n = succ.shape[0]
    good = np.zeros(n, dtype=bool)
    if not dnf:
        return good
    src, dst, edge_marks = _edges(succ, marks)
    groups: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for conj in dnf:
        fin = sum(1 << a.index for a in conj if not a.infinitely and not a.complemented)
        fin_out = sum(1 << a.index for a in conj if not a.infinitely and a.complemented)
        inf = sum(1 << a.index for a in conj if a.infinitely and not a.complemented)
        inf_out = sum(1 << a.index for a in conj if a.infinitely and a.complemented)
        groups.setdefault((fin, fin_out), []).append((inf, inf_out))
    if len(groups) * max(src.size, 1) > MAX_EMPTINESS_WORK:
        return None
    for (fin, fin_out), wanted in groups.items():
        keep = ((edge_marks & fin) == 0) & ((edge_marks & fin_out) == fin_out)
        s_, d_, m_ = src[keep], dst[keep], edge_marks[keep]
        if s_.size == 0:
            continue
        if n == 1:  # one state: every transition is a self-loop, one component
            present = np.bitwise_or.reduce(m_, keepdims=True)
            absent = np.bitwise_or.reduce(~m_, keepdims=True)
            for inf, inf_out in wanted:
                if (present[0] & inf) == inf and (absent[0] & inf_out) == inf_out:
                    good[0] = True
                    break
            if good[0]:
                break
            continue
        n_comp, comp = _sccs(n, s_, d_)
        inside = comp[s_] == comp[d_]
        if not inside.any():
            continue
        present = np.zeros(n_comp, dtype=np.int64)
        absent = np.zeros(n_comp, dtype=np.int64)
        np.bitwise_or.at(present, comp[s_[inside]], m_[inside])
        np.bitwise_or.at(absent, comp[s_[inside]], ~m_[inside])
        has_cycle = np.zeros(n_comp, dtype=bool)
        has_cycle[comp[s_[inside]]] = True
        for inf, inf_out in wanted:
            ok = has_cycle & ((present & inf) == inf) & ((absent & inf_out) == inf_out)
            good |= ok[comp]
    return good


def empty_states(
    succ: np.ndarray, marks: np.ndarray, condition: AcceptanceCondition
) -> np.ndarray | None:
    """``[Q]`` bool: the states from which no word is accepted (``None``: not decided).

    A state accepts some word iff it reaches a cycle satisfying the condition (see
    :func:`is_empty`).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.ltl.automaton import parse_acceptance
    >>> succ, marks = np.array([[1, 0], [1, 1]]), np.array([[0, 1], [0, 0]])
    >>> empty_states(succ, marks, parse_acceptance("Inf(0)")).tolist()
    [False, True]
    """
    good = _accepting_nodes(succ, marks, condition)
    if good is None:
        return None
    if not good.any():
        return np.ones(succ.shape[0], dtype=bool)
    return ~_reaching(succ, np.flatnonzero(good))


def universal_states(
    succ: np.ndarray, marks: np.ndarray, condition: AcceptanceCondition
) -> np.ndarray | None:
    """``[Q]`` bool: the states from which every word is accepted (``None``: not
    decided): those that reach no state with a missing transition and no cycle
    satisfying the negated condition (deterministic automata complement by negating the
    condition).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.ltl.automaton import parse_acceptance
    >>> succ, marks = np.array([[1, 0], [1, 1]]), np.array([[0, 1], [0, 0]])
    >>> universal_states(succ, marks, parse_acceptance("Inf(0) | Fin(0)")).tolist()
    [True, True]
    >>> universal_states(succ, marks, parse_acceptance("Inf(0)")).tolist()
    [False, False]
    """
    bad = _accepting_nodes(succ, marks, negate(condition))
    if bad is None:
        return None
    bad |= (succ < 0).any(axis=1)
    if not bad.any():
        return np.ones(succ.shape[0], dtype=bool)
    return ~_reaching(succ, np.flatnonzero(bad))


def is_empty(
    succ: np.ndarray, marks: np.ndarray, condition: AcceptanceCondition, initial: int
) -> bool | None:
    """Whether the automaton given by its tables accepts no word (``None``: not decided).

    Exact for every condition whose disjunctive normal form has at most
    :data:`~objspec.ltl.acceptance.MAX_DNF` terms: a disjunct ``Fin(F) & Inf(I)`` (with
    complemented atoms read the same way) is met by some run iff, after removing the
    transitions of the sets in ``F`` (and those outside a set ``j`` of ``Fin(!j)``), some
    strongly connected component reachable from ``initial`` has an internal transition
    of every set in ``I`` (and one outside every set ``j`` of ``Inf(!j)``): a cycle
    through all transitions of that component is then an accepting run. Returns ``None``
    when the normal form is too large or the work would exceed
    :data:`MAX_EMPTINESS_WORK`.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.ltl.automaton import parse_acceptance
    >>> succ, marks = np.array([[0, 0]]), np.array([[0, 1]])  # "G F a" with Inf(0)
    >>> is_empty(succ, marks, parse_acceptance("Inf(0)"), 0)
    False
    >>> is_empty(succ, marks, parse_acceptance("Inf(0) & Fin(0)"), 0)
    True
    """
    empty = empty_states(succ, marks, condition)
    return None if empty is None else bool(empty[initial])


def is_universal(
    succ: np.ndarray, marks: np.ndarray, condition: AcceptanceCondition, initial: int
) -> bool | None:
    """Whether the automaton accepts every word (``None``: not decided); see
    :func:`universal_states`.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.ltl.automaton import parse_acceptance
    >>> succ, marks = np.array([[0, 0]]), np.array([[0, 1]])
    >>> is_universal(succ, marks, parse_acceptance("Inf(0) | Fin(0)"), 0)
    True
    >>> is_universal(succ, marks, parse_acceptance("Inf(0)"), 0)
    False
    """
    universal = universal_states(succ, marks, condition)
    return None if universal is None else bool(universal[initial])


def finish(
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
    Finally an automaton that accepts no word, or every word, is replaced by the
    one-state automaton of ``false`` or ``true`` (:func:`is_empty`, :func:`is_universal`).
    The translation's deadline is checked between the rounds
    (:func:`objspec.ltl.budget.check_time`).
    """
    table = table.copy()
    for _ in range(3):
        check_time(phi, int(succ.shape[0]))
        cyclic = _on_cycles(succ).reshape(-1)
        table[~cyclic] = False
        flat, condition = _merge_equal_sets(phi, table, condition, cyclic)
        marks = flat.reshape(succ.shape)
        if isinstance(condition, AcceptanceConstant):
            marks = np.zeros_like(marks)
        succ, marks, initial, _ = minimise(succ, marks, initial)
        condition, n_sets, marks = tidy_acceptance(condition, marks)
        # Tidying may have dropped sets, which can make more states equivalent.
        marks = np.where(_on_cycles(succ), marks, 0)
        succ, marks, initial, _ = minimise(succ, marks, initial)
        cleared = marks & _relevant_sets(succ, marks, condition)[:, None]
        if np.array_equal(cleared, marks):
            break
        table = ((cleared.reshape(-1)[:, None] >> np.arange(n_sets)) & 1).astype(bool)
    else:
        succ, marks, initial, _ = minimise(succ, cleared, initial)
        condition, n_sets, marks = tidy_acceptance(condition, marks)
    check_time(phi, int(succ.shape[0]))
    return collapse(DeterministicAutomaton(
        propositions, succ, marks, condition, n_sets, initial, name=str(phi)
    ))


def collapse(aut: DeterministicAutomaton) -> DeterministicAutomaton:
    """Settle the states whose language is empty or universal.

    The one-state automaton of ``false`` (``true``) if ``aut`` accepts no (every) word.
    Otherwise the transitions into states that accept no word are removed (a missing
    transition rejects), and those into states that accept every word lead to one
    accepting sink instead (a state looping on every letter with marks that satisfy the
    condition), when such marks exist; then the automaton is minimised again. A run
    enters the sink or would die at most once, so no run changes its verdict
    (:func:`empty_states`, :func:`universal_states`).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.ltl.automaton import parse_acceptance
    >>> # two states, "Inf(0) | Fin(0)": every word is accepted
    >>> aut = DeterministicAutomaton(("a",), np.array([[1, 0], [1, 1]]),
    ...                              np.array([[1, 0], [0, 1]]),
    ...                              parse_acceptance("Inf(0) | Fin(0)"), 1)
    >>> small = collapse(aut)
    >>> small.n_states, str(small.acceptance)
    (1, 't')
    """
    if aut.n_states == 1 and isinstance(aut.acceptance, AcceptanceConstant):
        return aut
    succ, marks, condition = aut.successors, aut.marks, aut.acceptance
    name = aut.name or ""
    empty = empty_states(succ, marks, condition)
    if empty is None:
        return aut
    if empty[aut.initial]:
        return constant(False, aut.propositions, name)
    universal = universal_states(succ, marks, condition)
    if universal is not None and universal[aut.initial]:
        return constant(True, aut.propositions, name)
    sink_marks = _accepting_loop_marks(condition)
    redirect = universal is not None and sink_marks is not None and bool(universal.any())
    if not empty.any() and not redirect:
        return aut
    n = aut.n_states
    target = np.arange(n + 1)
    target[n] = -1
    target[np.flatnonzero(empty)] = -1
    new_marks = marks.copy()
    if redirect:
        assert universal is not None and sink_marks is not None
        target[np.flatnonzero(universal)] = n
        target[n] = n
        succ = np.vstack([succ, np.full((1, succ.shape[1]), n)])
        new_marks = np.vstack([new_marks, np.full((1, succ.shape[1]), sink_marks)])
    new_succ = np.where(succ >= 0, target[np.where(succ >= 0, succ, n)], -1)
    if not redirect:
        new_succ = new_succ[:n]
    new_marks = np.where(new_succ >= 0, new_marks, 0)
    new_succ, new_marks = prune(new_succ, new_marks, aut.initial)
    new_marks = np.where(_on_cycles(new_succ), new_marks, 0)
    new_succ, new_marks, initial, _ = minimise(new_succ, new_marks, 0)
    if new_succ.shape[0] >= n:
        return aut
    condition, n_sets, new_marks = tidy_acceptance(condition, new_marks)
    return DeterministicAutomaton(
        aut.propositions, new_succ, new_marks, condition, n_sets, initial, name=aut.name
    )


def _accepting_loop_marks(condition: AcceptanceCondition) -> int | None:
    """Marks ``M`` such that a cycle whose transitions all carry exactly ``M`` satisfies
    the condition, or ``None`` if there are none (or the condition has no small DNF)."""
    dnf = condition_dnf(condition, MAX_DNF)
    if dnf is None:
        return None
    for conj in dnf:
        m = sum(1 << a.index for a in conj if a.infinitely != a.complemented)
        if condition.holds(m, m):
            return m
    return None


def constant(
    value: bool, propositions: tuple[str, ...], name: str
) -> DeterministicAutomaton:
    shape = (1, 1 << len(propositions))
    return DeterministicAutomaton(
        propositions, np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64),
        AcceptanceConstant(value), 0, name=name,
    )


def product(
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

    Examples
    --------
    >>> aut = constant(True, ("a",), "true")
    >>> aut.n_states, str(aut.acceptance), aut.accepts_lasso([], [set()])
    (1, 't', True)

    Examples
    --------
    >>> from objspec.ltl.parser import parse_formula
    >>> from objspec.ltl.translation import translate
    >>> parts = [translate("F a", ["a", "b"]), translate("G b", ["a", "b"])]
    >>> both = product(parse_formula("F a & G b"), parts, True)
    >>> both.accepts_lasso([{"b"}], [{"a", "b"}]), both.accepts_lasso([{"a"}], [{"b"}])
    (True, False)
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
        if visited.size > state_budget():
            raise too_many_states(phi)
        check_time(phi, int(visited.size))
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
    parts = (ca, shift(cb, na_sets))
    condition: AcceptanceCondition = AcceptanceAnd(parts) if conj else AcceptanceOr(parts)
    condition = substitute(condition, {i: i for i in condition.sets()})
    return finish(phi, a.propositions, succ, table, condition, 0)


def delayed(
    phi: s.Formula, inner: DeterministicAutomaton, steps: int = 1
) -> DeterministicAutomaton:
    """The automaton of ``X^steps psi`` from that of ``psi``: a chain of ``steps`` new
    states, the first initial, each moving to the next on every letter and the last to
    ``psi``'s initial state (so the decomposition also applies under ``X``).

    Examples
    --------
    >>> from objspec.ltl.parser import parse_formula
    >>> from objspec.ltl.translation import translate
    >>> aut = delayed(parse_formula("X X a"), translate("a"), 2)
    >>> aut.accepts_lasso([set(), set(), {"a"}], [set()]), aut.accepts_lasso([{"a"}], [set()])
    (True, False)
    """
    n_letters = inner.successors.shape[1]
    chain = np.repeat(np.arange(1, steps + 1, dtype=np.int64)[:, None], n_letters, axis=1)
    chain[-1] = inner.initial + steps
    succ = np.vstack([chain, np.where(inner.successors >= 0, inner.successors + steps, -1)])
    marks = np.vstack([np.zeros((steps, n_letters), dtype=np.int64),
                       inner.marks]).reshape(-1)
    table = ((marks[:, None] >> np.arange(inner.n_sets)) & 1).astype(bool)
    return finish(phi, inner.propositions, succ, table, inner.acceptance, 0)


def complement(phi: s.Formula, aut: DeterministicAutomaton) -> DeterministicAutomaton:
    """A deterministic automaton for the complement language: complete ``aut`` (a sink
    marked by a fresh set ``d``, condition ``cond & Fin(d)``) and negate the condition.

    Examples
    --------
    >>> from objspec.ltl.parser import parse_formula
    >>> from objspec.ltl.translation import translate
    >>> never = complement(parse_formula("G !a"), translate("F a"))
    >>> str(never.acceptance), never.accepts_lasso([], [set()])
    ('t', True)
    >>> never.accepts_lasso([{"a"}], [set()])
    False
    """
    succ, marks, condition, n_sets = _with_sink(aut, aut.n_sets)
    table = ((marks.reshape(-1)[:, None] >> np.arange(n_sets)) & 1).astype(bool)
    return finish(phi, aut.propositions, succ, table, negate(condition), aut.initial)


def lift(aut: DeterministicAutomaton, propositions: tuple[str, ...]) -> DeterministicAutomaton:
    """The automaton over a larger alphabet ``propositions`` (it ignores the new ones).

    Examples
    --------
    >>> from objspec.ltl.translation import translate
    >>> aut = lift(translate("F a"), ("a", "b"))
    >>> aut.propositions, aut.successors.shape
    (('a', 'b'), (2, 4))
    """
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
