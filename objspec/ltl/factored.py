"""Factored automata: products of automata over disjoint sets of propositions.

A formula such as ``F(p1 & F(p2 & ... F p10)) & F(q1 & F(q2 & ... F q10))`` reads 20
propositions, ``2**20`` letters, but it is the conjunction of two parts that share none:
each part is a small automaton over its own 10 propositions. A
:class:`FactoredAutomaton` keeps such a product factored: its *components* are dense
:class:`~objspec.ltl.automaton.DeterministicAutomaton` tables, each over its own subset of
the propositions (pairwise disjoint), and a letter is read by projecting it onto each
component's subset. Its states are the reachable tuples of component states (found by a
breadth-first search that combines each component's distinct successors: the components
read independent propositions, so every combination of their letters occurs), its
transition marks are the union of the components' marks shifted into disjoint ranges of
sets, and its acceptance is an Emerson-Lei condition over all those sets. The run dies
when a component's run dies (components that sit under a disjunction are completed
first, see :func:`objspec.ltl.translation.translate`). No table over ``2**k`` letters is
ever built: products with an environment only ask for the letters that occur there
(:meth:`~objspec.ltl.automaton.DeterministicAutomaton.next_states`,
:meth:`~objspec.ltl.automaton.DeterministicAutomaton.next_marks`).

Limits: a letter is an int64 bitmask, so at most :data:`MAX_FACTORED_PROPOSITIONS` (62)
propositions; each component is dense, so at most :data:`MAX_COMPONENT_PROPOSITIONS` (16)
propositions per component; the dense tables :attr:`FactoredAutomaton.successors` and
:attr:`FactoredAutomaton.marks` (and so HOA export and drawings) are built on demand for at
most :data:`MAX_DENSE_PROPOSITIONS` (16) propositions and raise
:class:`~objspec.errors.AlphabetTooLargeError` beyond.

Examples
--------
>>> from objspec.ltl.automaton import AcceptanceAnd, AcceptanceAtom
>>> from objspec.ltl.translation import translate
>>> fa, gb = translate("F a"), translate("G F b")
>>> both = FactoredAutomaton(("a", "b"), [fa, gb],
...                          AcceptanceAnd((AcceptanceAtom(True, 0), AcceptanceAtom(True, 1))))
>>> both.n_states, both.accepts_lasso([{"a"}], [{"b"}, set()]), both.accepts_lasso([], [{"b"}])
(2, True, False)
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from objspec.errors import AlphabetTooLargeError, InvalidSpecificationError
from objspec.ltl import syntax as s
from objspec.ltl.acceptance import shift
from objspec.ltl.automaton import (
    AcceptanceAnd,
    AcceptanceAtom,
    AcceptanceCondition,
    AcceptanceConstant,
    AcceptanceOr,
    DeterministicAutomaton,
)
from objspec.ltl.budget import HOA_ADVICE, check_time
from objspec.ltl.simplify import _postorder, operands

__all__ = [
    "FactoredAutomaton",
    "MAX_FACTORED_PROPOSITIONS",
    "MAX_COMPONENT_PROPOSITIONS",
    "MAX_DENSE_PROPOSITIONS",
    "split_disjoint",
    "factored_translation",
]

#: Letters are int64 bitmasks: a factored automaton reads at most this many propositions.
MAX_FACTORED_PROPOSITIONS = 62
#: Each component is a dense table over ``2**k`` letters of its own propositions.
MAX_COMPONENT_PROPOSITIONS = 16
#: :attr:`FactoredAutomaton.successors` / :attr:`FactoredAutomaton.marks` are materialised
#: up to this many propositions.
MAX_DENSE_PROPOSITIONS = 16


class FactoredAutomaton(DeterministicAutomaton):
    """A deterministic automaton given as the product of components over disjoint
    propositions (see the module docstring).

    Parameters
    ----------
    propositions : sequence of str
        The automaton's alphabet (at most :data:`MAX_FACTORED_PROPOSITIONS`); it contains
        every component's propositions and may contain more (ignored).
    components : sequence of DeterministicAutomaton
        Dense automata whose proposition sets are pairwise disjoint. Component ``c``'s
        acceptance sets are numbered after those of components ``0 .. c-1``.
    acceptance : AcceptanceCondition
        The condition over the concatenated sets (e.g. the conjunction of the components'
        shifted conditions).
    name : str, optional
        A description.
    max_states : int, optional
        Refuse (:class:`~objspec.errors.TranslationLimitError`) a product with more
        reachable states.
    progress : callable, optional
        ``progress(states)``, called with the states found so far while they are explored
        (the translator passes its time check, which raises when the time limit is past).
    structure : optional
        How ``acceptance`` combines the components' own conditions: a component index, or
        ``(conj, [structure, ...])`` for the ``&`` (``conj``) or ``|`` of the parts (as
        :func:`factored_translation` builds it). When given, the states that accept no word
        are removed and those that accept every word merged into one accepting sink (see
        :meth:`_settle`); without it every reachable tuple is a state.

    Notes
    -----
    The language: a word is accepted iff no component's run on its projection dies and
    the union of the components' marks along the run satisfies ``acceptance``. The states
    are the reachable tuples, less those that accept no word, with those that accept every
    word merged into one sink; no other minimisation across components is done.
    """

    def __init__(
        self,
        propositions: Sequence[str],
        components: Sequence[DeterministicAutomaton],
        acceptance: AcceptanceCondition,
        *,
        name: str | None = None,
        max_states: int | None = None,
        progress: Callable[[int], None] | None = None,
        structure: Any = None,
    ) -> None:
        props = tuple(propositions)
        if len(set(props)) != len(props):
            raise InvalidSpecificationError(f"automaton propositions repeat: {props}")
        if len(props) > MAX_FACTORED_PROPOSITIONS:
            raise AlphabetTooLargeError(
                f"a factored automaton reads at most {MAX_FACTORED_PROPOSITIONS} propositions "
                f"(letters are int64 bitmasks); got {len(props)}"
            )
        comps = tuple(components)
        if not comps:
            raise InvalidSpecificationError("a factored automaton needs at least one component")
        position = {p: i for i, p in enumerate(props)}
        owner: dict[str, int] = {}
        bits: list[list[int]] = []
        offsets: list[int] = []
        n_sets = 0
        for c, comp in enumerate(comps):
            if isinstance(comp, FactoredAutomaton):
                raise InvalidSpecificationError("components of a factored automaton must be dense")
            for p in comp.propositions:
                if p not in position:
                    raise InvalidSpecificationError(
                        f"component {c} reads {p!r}, which is not among the propositions {props}")
                if p in owner:
                    raise InvalidSpecificationError(
                        f"components {owner[p]} and {c} both read {p!r}; the components of a "
                        "factored automaton read disjoint propositions")
                owner[p] = c
            bits.append([position[p] for p in comp.propositions])
            offsets.append(n_sets)
            n_sets += comp.n_sets
        if n_sets > 62:
            raise AlphabetTooLargeError(
                f"the components of a factored automaton have {n_sets} acceptance sets in all; "
                "marks are int64 bitmasks, so at most 62 are supported")
        used = acceptance.sets()
        if used and max(used) >= n_sets:
            raise InvalidSpecificationError(
                f"acceptance condition {acceptance} uses set {max(used)}, but the components "
                f"have only {n_sets} sets")
        sizes = [comp.n_states for comp in comps]
        strides = [1] * len(comps)
        for c in range(len(comps) - 2, -1, -1):
            strides[c] = strides[c + 1] * sizes[c + 1]
        if strides[0] * sizes[0] >= 1 << 62:
            raise AlphabetTooLargeError(
                "the product of the components' state counts exceeds 2**62")
        self._propositions = props
        self._components = comps
        self._bits = bits
        self._offsets = offsets
        self._strides = strides
        self._acceptance = acceptance
        self._n_sets = n_sets
        self.acceptance_name = None
        self.state_names = None
        self.name = name
        self._dense: tuple[np.ndarray, np.ndarray] | None = None
        self._edges: tuple[np.ndarray, np.ndarray] | None = None
        self._explore(max_states, progress)
        if structure is not None:
            self._settle(structure)

    # ---------------------------------------------------------------- construction
    def _explore(self, max_states: int | None, progress: Callable[[int], None] | None) -> None:
        """Number the reachable tuples of component states, in breadth-first layers.

        The components read disjoint propositions, so every combination of their letters
        occurs: the tuples reachable in exactly ``t`` steps are the Cartesian product of
        the sets ``R_c(t)`` of states each component reaches in exactly ``t`` steps. The
        sets are iterated (``R_c(t+1)`` = the successors of ``R_c(t)``) until their tuple
        repeats; each layer's new tuples are numbered in lexicographic order. The work is
        that of enumerating the layers, not the product's transitions."""
        from objspec.errors import TranslationLimitError

        n_comp = len(self._components)
        successors: list[list[np.ndarray]] = []
        for comp in self._components:
            succ = comp._successors
            successors.append([np.unique(row[row >= 0]) for row in succ])
        strides = np.array(self._strides, dtype=np.int64)
        current = [np.array([comp.initial], dtype=np.int64) for comp in self._components]
        seen_sets: set[tuple[bytes, ...]] = set()
        layers: list[np.ndarray] = []
        known = np.zeros(0, dtype=np.int64)
        while True:
            key = tuple(r.tobytes() for r in current)
            if key in seen_sets or any(r.size == 0 for r in current):
                break
            seen_sets.add(key)
            size = 1
            for r in current:
                size *= int(r.size)
            if max_states is not None and size > max_states:
                raise TranslationLimitError(
                    f"the factored automaton{' of ' + self.name if self.name else ''} "
                    f"exceeds {max_states} states (max_states)")
            codes = np.zeros(1, dtype=np.int64)
            for c in range(n_comp):
                codes = (codes[:, None] + current[c][None, :] * strides[c]).ravel()
            new = np.setdiff1d(codes, known)  # sorted: lexicographic in the tuples
            if new.size:
                layers.append(new)
                known = np.union1d(known, new)
                if max_states is not None and known.size > max_states:
                    raise TranslationLimitError(
                        f"the factored automaton{' of ' + self.name if self.name else ''} "
                        f"exceeds {max_states} states (max_states)")
            if progress is not None:
                progress(int(known.size))
            current = [np.unique(np.concatenate([successors[c][q] for q in current[c].tolist()]))
                       for c in range(n_comp)]
        codes = np.concatenate(layers)
        tuples = np.zeros((codes.size, n_comp), dtype=np.int64)
        rest = codes.copy()
        for c in range(n_comp):
            tuples[:, c], rest = np.divmod(rest, strides[c])
        self._set_raw_states(tuples)

    def _set_raw_states(self, tuples: np.ndarray) -> None:
        """The reachable tuples (raw states, ``[R, m]``), their lookup structures, and the
        identity quotient (every raw state is a state; no sink)."""
        self._tuples = tuples
        codes = tuples @ np.array(self._strides, dtype=np.int64)
        self._code_order = np.argsort(codes, kind="stable")
        self._sorted_codes = codes[self._code_order]
        self._index = {int(code): q for q, code in enumerate(codes.tolist())}
        self._remap = np.arange(tuples.shape[0], dtype=np.int64)  # raw -> state (-1: empty)
        self._raw_of = np.arange(tuples.shape[0], dtype=np.int64)  # state -> raw (-1: sink)
        self._sink = -1
        self._sink_marks = 0
        self._removed_empty = False
        self._initial = 0

    def _settle(self, structure: Any) -> None:
        """Settle the states whose language is empty or universal, as
        :func:`objspec.ltl.operations.collapse` does for dense automata: states that accept
        no word are removed (their transitions die), those that accept every word become
        one sink looping on every letter with marks that satisfy the condition, and an
        automaton that accepts no word, or every word, becomes the one-state automaton of
        ``false`` or ``true``.

        Decided from the components alone: a state's language is the ``&``/``|``
        (``structure``) of its components' languages, which read disjoint propositions
        and so are independent (any choice of member or non-member words of each combines
        into one word). Such a combination of languages that are each neither empty nor
        universal is itself neither; so with each component state classified empty,
        universal or neither (:func:`~objspec.ltl.operations.empty_states`,
        :func:`~objspec.ltl.operations.universal_states` on the component), the state is
        empty iff the structure is false when every "neither" is true, and universal iff it
        is true when every "neither" is false (``&``/``|`` are monotone). A product over
        disjoint propositions has such states where a component's does: in ``F p0 | F G
        q`` every word is accepted once ``p0`` is read.
        """
        from objspec.ltl.operations import constant

        n_raw = self._tuples.shape[0]
        low: list[np.ndarray] = []  # component state accepts every word
        high: list[np.ndarray] = []  # component state accepts some word
        loop_marks: list[int | None] = []
        for c, comp in enumerate(self._components):
            empty, universal, found = language_status(comp)
            q = self._tuples[:, c]
            high.append(np.ones(n_raw, dtype=bool) if empty is None else ~empty[q])
            low.append(np.zeros(n_raw, dtype=bool) if universal is None else universal[q])
            loop_marks.append(None if found is None else found << self._offsets[c])

        def evaluate(node: Any, leaf: list[np.ndarray]) -> np.ndarray:
            if not isinstance(node, tuple):
                return leaf[int(node)]
            conj, children = node
            out = evaluate(children[0], leaf).copy()
            for child in children[1:]:
                if conj:
                    out &= evaluate(child, leaf)
                else:
                    out |= evaluate(child, leaf)
            return out

        empty_raw = ~evaluate(structure, high)
        universal_raw = evaluate(structure, low)
        value: bool | None = None
        if empty_raw[0]:
            value = False
        elif universal_raw[0]:
            value = True
        if value is not None:
            self._components = (constant(value, (), self.name or ""),)
            self._bits, self._offsets, self._strides = [[]], [0], [1]
            self._acceptance = AcceptanceConstant(value)
            self._n_sets = 0
            self._set_raw_states(np.zeros((1, 1), dtype=np.int64))
            return

        def sink_marks(node: Any, r: int) -> int | None:
            """Marks of loops that satisfy the structure where raw state ``r`` is
            universal: those of the universal components that make it so."""
            if not isinstance(node, tuple):
                return loop_marks[int(node)] if low[int(node)][r] else None
            conj, children = node
            total = 0
            for child in children:
                m = sink_marks(child, r)
                if m is None and conj:
                    return None
                if m is not None and not conj:
                    return m
                total |= m or 0
            return total if conj else None

        universal_at = np.flatnonzero(universal_raw)
        marks_of_sink = sink_marks(structure, int(universal_at[0])) if universal_at.size else None
        redirect = marks_of_sink is not None
        if not empty_raw.any() and not redirect:
            return
        remap = np.full(n_raw, -1, dtype=np.int64)
        raw_of: list[int] = []
        sink = -1
        for r in range(n_raw):
            if empty_raw[r]:
                continue
            if redirect and universal_raw[r]:
                if sink < 0:
                    sink = len(raw_of)
                    raw_of.append(-1)
                remap[r] = sink
            else:
                remap[r] = len(raw_of)
                raw_of.append(r)
        self._remap = remap
        self._raw_of = np.array(raw_of, dtype=np.int64)
        self._sink = sink
        self._sink_marks = int(marks_of_sink) if marks_of_sink is not None else 0
        self._removed_empty = bool(empty_raw.any())

    # ---------------------------------------------------------------- attributes
    @property
    def components(self) -> tuple[DeterministicAutomaton, ...]:
        """The dense component automata, in set order."""
        return self._components

    @property
    def component_states(self) -> np.ndarray:
        """``[Q, m]``: the tuple of component states of each state (``-1`` for the
        accepting sink that stands for all states accepting every word, if any)."""
        out = self._tuples[np.maximum(self._raw_of, 0)].copy()
        out[self._raw_of < 0] = -1
        return out

    @property
    def n_states(self) -> int:
        return int(self._raw_of.size)

    @property
    def is_complete(self) -> bool:
        # every raw state is reachable, so a removed (empty) one is the target of a
        # transition that now dies
        if self._removed_empty:
            return False
        kept = self._raw_of[self._raw_of >= 0]
        return all(bool((comp._successors[self._tuples[kept, c]] >= 0).all())
                   for c, comp in enumerate(self._components))

    @property
    def successors(self) -> np.ndarray:
        """The dense ``[Q, 2**k]`` successor table, built on demand.

        Raises
        ------
        AlphabetTooLargeError
            If the automaton reads more than :data:`MAX_DENSE_PROPOSITIONS` propositions.
        """
        return self._dense_tables()[0]

    @property
    def marks(self) -> np.ndarray:
        """The dense ``[Q, 2**k]`` mark table, built on demand (see :attr:`successors`)."""
        return self._dense_tables()[1]

    def _dense_tables(self) -> tuple[np.ndarray, np.ndarray]:
        if self._dense is None:
            k = len(self._propositions)
            if k > MAX_DENSE_PROPOSITIONS:
                raise AlphabetTooLargeError(
                    f"the automaton reads {k} propositions: a table over 2**{k} letters is not "
                    f"built beyond {MAX_DENSE_PROPOSITIONS} propositions (it is kept factored "
                    "into components over disjoint propositions); use next_states / "
                    "next_marks for the letters needed, or the components"
                )
            states = np.arange(self.n_states)[:, None]
            letters = np.arange(1 << k, dtype=np.int64)[None, :]
            succ = self.next_states(states, letters)
            marks = self.next_marks(states, letters)
            succ.flags.writeable = False
            marks.flags.writeable = False
            self._dense = (succ, marks)
        return self._dense

    # ---------------------------------------------------------------- transitions
    def _project(self, c: int, letters: np.ndarray) -> np.ndarray:
        out = np.zeros(letters.shape, dtype=np.int64)
        for j, b in enumerate(self._bits[c]):
            out |= ((letters >> b) & 1) << j
        return out

    def _raw_step(
        self, states: Any, letters: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(target, marks, at_sink)`` pointwise: the target state (``-1``: dead), the
        marks (0 where dead) and whether the source is the sink."""
        q, w = np.broadcast_arrays(np.asarray(states, dtype=np.int64),
                                   np.asarray(letters, dtype=np.int64))
        raw = self._raw_of[q]
        at_sink = raw < 0
        raw = np.maximum(raw, 0)
        code = np.zeros(q.shape, dtype=np.int64)
        marks = np.zeros(q.shape, dtype=np.int64)
        dead = np.zeros(q.shape, dtype=bool)
        for c, comp in enumerate(self._components):
            qc, wc = self._tuples[raw, c], self._project(c, w)
            t = comp._successors[qc, wc]
            dead |= t < 0
            code += np.maximum(t, 0) * self._strides[c]
            marks |= comp._marks[qc, wc] << self._offsets[c]
        pos = np.minimum(np.searchsorted(self._sorted_codes, code), self._sorted_codes.size - 1)
        target = np.where(dead, -1, self._remap[self._code_order[pos]])
        target = np.where(at_sink, self._sink, target)
        marks = np.where(at_sink, self._sink_marks, np.where(target < 0, 0, marks))
        return target, marks, at_sink

    def next_states(self, states: Any, letters: Any) -> np.ndarray:
        return self._raw_step(states, letters)[0]

    def next_marks(self, states: Any, letters: Any) -> np.ndarray:
        return self._raw_step(states, letters)[1]

    def _transition(self, state: int, letter: int) -> tuple[int, int]:
        raw = int(self._raw_of[state])
        if raw < 0:
            return self._sink, self._sink_marks
        code, marks = 0, 0
        for c, comp in enumerate(self._components):
            wc = 0
            for j, b in enumerate(self._bits[c]):
                wc |= ((letter >> b) & 1) << j
            qc = int(self._tuples[raw, c])
            t = int(comp._successors[qc, wc])
            if t < 0:
                return -1, 0
            code += t * self._strides[c]
            marks |= int(comp._marks[qc, wc]) << self._offsets[c]
        target = int(self._remap[self._index[code]])
        return target, (marks if target >= 0 else 0)

    def same_transitions(self, other: Any) -> bool:
        if other is self:
            return True
        if not isinstance(other, FactoredAutomaton):
            return False
        return (other.propositions == self._propositions
                and len(other.components) == len(self._components)
                and all(a.propositions == b.propositions and a.initial == b.initial
                        and a.successors.shape == b.successors.shape
                        and bool(np.array_equal(a.successors, b.successors))
                        for a, b in zip(self._components, other.components, strict=True))
                and bool(np.array_equal(self._remap, other._remap))
                and bool(np.array_equal(self._raw_of, other._raw_of)))

    def edge_table(self) -> tuple[np.ndarray, np.ndarray]:
        """``(succ, marks)`` shaped ``[Q, W]``: each state's distinct transitions
        (successor and marks, ``-1`` if some letter has none), repeated to fill ``W``
        columns. Graph analyses that do not look at letters (emptiness, universality:
        :func:`objspec.ltl.operations.is_empty`, :func:`~objspec.ltl.operations.is_universal`)
        give the same answers on it as on the dense table.

        Examples
        --------
        >>> from objspec.ltl.automaton import AcceptanceAtom
        >>> from objspec.ltl.operations import is_empty
        >>> from objspec.ltl.translation import translate
        >>> aut = FactoredAutomaton(("a", "b"), [translate("G F a"), translate("G F b")],
        ...                         AcceptanceAtom(True, 1))
        >>> succ, marks = aut.edge_table()
        >>> succ.tolist(), marks.tolist(), is_empty(succ, marks, aut.acceptance, 0)
        ([[0, 0, 0, 0]], [[0, 2, 1, 3]], False)
        """
        if self._edges is not None:
            return self._edges
        per_comp: list[list[list[tuple[int, int]]]] = []
        for comp in self._components:
            pairs = []
            for q in range(comp.n_states):
                seen = dict.fromkeys(zip(comp._successors[q].tolist(),
                                         comp._marks[q].tolist(), strict=True))
                pairs.append(list(seen))
            per_comp.append(pairs)
        rows_s: list[list[int]] = []
        rows_m: list[list[int]] = []
        for state in range(self.n_states):
            raw = int(self._raw_of[state])
            if raw < 0:
                rows_s.append([self._sink])
                rows_m.append([self._sink_marks])
                continue
            combos: list[tuple[int, int, bool]] = [(0, 0, False)]
            for c in range(len(self._components)):
                opts = per_comp[c][int(self._tuples[raw, c])]
                combos = [(code + max(t, 0) * self._strides[c],
                           m | (mk << self._offsets[c] if t >= 0 else 0), d or t < 0)
                          for code, m, d in combos for t, mk in opts]
            found: dict[tuple[int, int], None] = {}
            for code, m, d in combos:
                target = -1 if d else int(self._remap[self._index[code]])
                found[(target, m if target >= 0 else 0)] = None
            rows_s.append([t for t, _ in found])
            rows_m.append([m for _, m in found])
        width = max(len(r) for r in rows_s)
        succ = np.array([r + [r[0]] * (width - len(r)) for r in rows_s], dtype=np.int64)
        marks = np.array([r + [r[0]] * (width - len(r)) for r in rows_m], dtype=np.int64)
        self._edges = (succ, marks)
        return self._edges

    def _repr_svg_(self) -> str:
        """The drawing of the automaton up to :data:`MAX_DENSE_PROPOSITIONS` propositions;
        beyond, one node per component (its propositions and states), with no edges."""
        if len(self._propositions) <= MAX_DENSE_PROPOSITIONS:
            return super()._repr_svg_()
        from objspec.ltl.rendering import DrawnGraph, graph_to_svg

        nodes = [f"{comp.n_states} states over {', '.join(comp.propositions)}"
                 for comp in self._components]
        return graph_to_svg(DrawnGraph(
            self.name or "factored automaton", nodes, 0, [],
            caption=f"{self.n_states} states in all; acceptance {self._acceptance}"))

    def __repr__(self) -> str:
        desc = f" for {self.name}" if self.name else ""
        return (
            f"<FactoredAutomaton{desc}: {self.n_states} states, {len(self._propositions)} "
            f"propositions in {len(self._components)} components, acceptance "
            f"{self._acceptance}>"
        )


# ---------------------------------------------------------------- splitting formulas

#: A node of :func:`split_disjoint`'s tree: a formula translated whole (a leaf), or an
#: ``&``/``|`` (``True``/``False``) of children over pairwise disjoint propositions.
SplitTree = s.Formula | tuple[bool, list[Any]]


def split_disjoint(phi: s.Formula) -> SplitTree:
    """Split a formula at its top-level ``&``/``|`` into parts over pairwise disjoint
    propositions, recursively: the operands of the (flattened) top-level operator are
    grouped by shared propositions (connected components of "shares an atom"); each
    group is one child, split again. A formula that does not split is a leaf.

    Examples
    --------
    >>> from objspec.ltl.parser import parse_formula
    >>> str(split_disjoint(parse_formula("(F a & G b) | (F c & G (d | a))")))  # shares a
    'Fa & Gb | Fc & G(d | a)'
    >>> conj, children = split_disjoint(parse_formula("F a & G b & F (c & X c)"))
    >>> conj, [str(c) for c in children]
    (True, ['Fa', 'Gb', 'F(c & Xc)'])
    """
    if not isinstance(phi, s.And | s.Or):
        return phi
    kind = type(phi)
    parts = operands(phi, kind)
    parent = list(range(len(parts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    holder: dict[str, int] = {}
    for i, g in enumerate(parts):
        atoms = g.atoms()
        if not atoms:
            parent[find(i)] = find(0)  # no atom: with the first group
        for p in sorted(atoms):
            if p in holder:
                parent[find(i)] = find(holder[p])
            else:
                holder[p] = i
    groups: dict[int, list[s.Formula]] = {}
    for i, g in enumerate(parts):
        groups.setdefault(find(i), []).append(g)
    if len(groups) == 1:
        return phi
    children: list[SplitTree] = []
    for members in groups.values():
        f = members[0]
        for g in members[1:]:
            f = kind(f, g)
        children.append(split_disjoint(f))
    return (kind is s.And, children)


def factored_translation(
    phi: s.Formula,
    propositions: tuple[str, ...],
    tree: SplitTree,
    translate_part: Callable[[s.Formula, tuple[str, ...]], DeterministicAutomaton],
    max_states: int | None = None,
) -> FactoredAutomaton:
    """The factored automaton of ``phi`` from its :func:`split_disjoint` tree: each leaf
    translated by ``translate_part(leaf, its own atoms sorted)`` (a dense automaton),
    completed (a sink marked by a fresh set ``d``, condition ``cond & Fin(d)``) when an
    ``|`` lies above it, and the acceptance the tree's ``&``/``|`` of the leaves'
    conditions shifted apart. Along a path of ``&`` only, a dying leaf makes the whole
    formula false, so those leaves stay partial (the product dies with them).

    Raises
    ------
    AlphabetTooLargeError
        If a leaf reads more than :data:`MAX_COMPONENT_PROPOSITIONS` propositions, or the
        formula more than :data:`MAX_FACTORED_PROPOSITIONS`.
    """
    if len(propositions) > MAX_FACTORED_PROPOSITIONS:
        raise AlphabetTooLargeError(
            f"the formula is translated over {len(propositions)} propositions; automata read "
            f"at most {MAX_FACTORED_PROPOSITIONS} (letters are int64 bitmasks)")
    components: list[DeterministicAutomaton] = []
    offset = [0]

    def leaf(f: s.Formula, under_or: bool) -> AcceptanceCondition:
        own = tuple(sorted(f.atoms()))
        if len(own) > MAX_COMPONENT_PROPOSITIONS:
            raise AlphabetTooLargeError(
                f"the part {f} of the formula reads {len(own)} propositions and cannot be split "
                "at a top-level & or | into parts over disjoint propositions; automata are "
                f"explicit over the letters of each such part, so at most "
                f"{MAX_COMPONENT_PROPOSITIONS} propositions per part are supported: "
                f"{HOA_ADVICE}")
        # parts equal up to the names of their atoms (G F b1, G F b2, ...) are translated
        # once: over canonical names in the same order, then renamed
        canonical = tuple(f"_{i:02d}" for i in range(len(own)))
        shape = translate_part(_renamed(f, dict(zip(own, canonical, strict=True))), canonical)
        if under_or and not shape.is_complete:
            shape = _cached_completion(shape)
        language_status(shape)
        aut = copy.copy(shape)
        aut._propositions = own
        aut.name = str(f)
        components.append(aut)
        condition = shift(aut.acceptance, offset[0])
        offset[0] += aut.n_sets
        return condition

    def walk(node: SplitTree, under_or: bool) -> tuple[AcceptanceCondition, Any]:
        """The node's condition, and its structure over component indices."""
        if isinstance(node, s.Formula):
            index = len(components)
            return leaf(node, under_or), index
        conj, children = node
        kind = AcceptanceAnd if conj else AcceptanceOr
        parts: list[AcceptanceCondition] = []
        shape: list[Any] = []
        for child in children:
            c, sub = walk(child, under_or or not conj)
            parts.extend(c.operands if isinstance(c, kind) else (c,))
            shape.append(sub)
        return kind(tuple(parts)), (conj, shape)

    condition, structure = walk(tree, False)
    return FactoredAutomaton(propositions, components, condition, name=str(phi),
                             structure=structure,
                             max_states=max_states, progress=lambda n: check_time(phi, n))


def _renamed(f: s.Formula, names: dict[str, str]) -> s.Formula:
    """``f`` with its atoms renamed (an explicit-stack rebuild)."""

    def leaf(g: s.Formula) -> s.Formula | None:
        if isinstance(g, s.Atom):
            return s.Atom(names[g.name])
        if isinstance(g, s.Constant):
            return g
        return None

    def combine(g: s.Formula, results: list[s.Formula]) -> s.Formula:
        return type(g)(*results)

    return _postorder(f, id, leaf, lambda g: list(g.children()), combine)


def _cached_completion(aut: DeterministicAutomaton) -> DeterministicAutomaton:
    """:func:`_completed`, kept on ``aut`` (a cached translation) for the next use."""
    done = aut.__dict__.get("_completion")
    if done is None:
        done = _completed(aut)
        aut.__dict__["_completion"] = done
    return done


def language_status(
    aut: DeterministicAutomaton,
) -> tuple[np.ndarray | None, np.ndarray | None, int | None]:
    """``(empty, universal, loop_marks)`` of a dense automaton: which states accept no
    word and which every word (``None``: not decided), and marks of loops that satisfy its
    condition (:func:`objspec.ltl.operations._accepting_loop_marks`); computed once per
    automaton object and kept on it (copies made afterwards share it)."""
    from objspec.ltl.operations import _accepting_loop_marks, empty_states, universal_states

    found = aut.__dict__.get("_language_status")
    if found is None:
        succ, marks, cond = aut._successors, aut._marks, aut.acceptance
        empty = empty_states(succ, marks, cond)
        universal = universal_states(succ, marks, cond) if empty is not None else None
        found = (empty, universal, _accepting_loop_marks(cond))
        aut.__dict__["_language_status"] = found
    return found


def _completed(aut: DeterministicAutomaton) -> DeterministicAutomaton:
    """``aut`` with its missing transitions sent to a sink whose loops carry a fresh set
    ``d``, and condition ``cond & Fin(d)``: the same language, complete."""
    n, d = aut.n_states, aut.n_sets
    succ = np.vstack([np.where(aut.successors < 0, n, aut.successors),
                      np.full((1, aut.successors.shape[1]), n)])
    marks = np.vstack([aut.marks, np.full((1, aut.marks.shape[1]), 1 << d)])
    return DeterministicAutomaton(
        aut.propositions, succ, marks, AcceptanceAnd((aut.acceptance, AcceptanceAtom(False, d))),
        d + 1, aut.initial, name=aut.name)
