"""Deterministic omega-automata with Emerson-Lei acceptance.

A :class:`DeterministicAutomaton` reads infinite words over ``2^AP``. Its transition function is
a table ``successors[q, letter]`` (``-1`` where the automaton has no transition: the run dies
and the word is rejected), with ``letter`` the bitmask ``sum(2**i for AP i in the letter)``.
Acceptance is transition-based: ``marks[q, letter]`` is the bitmask of acceptance sets the
transition belongs to, and the condition is an Emerson-Lei formula over ``Inf(i)``, ``Fin(i)``
(and their complemented forms ``Inf(!i)``, ``Fin(!i)`` of HOA), ``&``, ``|``, ``t``, ``f``.
Büchi, co-Büchi, generalised Büchi, Rabin, Streett and parity conditions are all special
cases, so automata of every kind are evaluated the same way: a run is accepting iff the set of
transitions it takes infinitely often satisfies the condition. State-based acceptance (as read
from HOA) is turned into transition-based acceptance by putting a state's sets on all of its
outgoing transitions, which accepts the same runs.

Examples
--------
>>> import numpy as np
>>> from objspec.ltl.automaton import DeterministicAutomaton, parse_acceptance
>>> # "G F a": one state, transitions reading a are in set 0, accept on Inf(0)
>>> aut = DeterministicAutomaton(("a",), np.array([[0, 0]]), np.array([[0, 1]]),
...                              parse_acceptance("Inf(0)"), 1)
>>> aut.accepts_lasso([], [{"a"}, set()]), aut.accepts_lasso([{"a"}], [set()])
(True, False)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from objspec.errors import InvalidSpecificationError
from objspec.ltl import syntax as s

__all__ = [
    "AcceptanceCondition",
    "AcceptanceConstant",
    "AcceptanceAtom",
    "AcceptanceAnd",
    "AcceptanceOr",
    "parse_acceptance",
    "DeterministicAutomaton",
    "guard_letters",
    "evaluate_propositional",
    "is_propositional",
]


class AcceptanceCondition:
    """An Emerson-Lei acceptance condition (immutable)."""

    def holds(self, union: int, intersection: int) -> bool:
        """Whether the condition holds for a set of transitions taken infinitely often.

        ``union`` is the bitmask of sets met by at least one of those transitions and
        ``intersection`` the bitmask of sets that contain all of them; this is all that
        ``Inf``/``Fin`` atoms and their complemented forms depend on.
        """
        raise TypeError("abstract")

    def disjunctive_normal_form(self) -> list[tuple[AcceptanceAtom, ...]]:
        """The condition as a list of conjunctions of atoms (empty list: ``f``)."""
        raise TypeError("abstract")

    def to_hoa(self) -> str:
        """The condition in HOA syntax."""
        raise TypeError("abstract")

    def sets(self) -> frozenset[int]:
        """The acceptance sets mentioned (read off the tree: no normal form is built)."""
        out: set[int] = set()
        stack: list[AcceptanceCondition] = [self]
        while stack:
            c = stack.pop()
            if isinstance(c, AcceptanceAtom):
                out.add(c.index)
            elif isinstance(c, AcceptanceAnd | AcceptanceOr):
                stack.extend(c.operands)
        return frozenset(out)

    def __str__(self) -> str:
        return self.to_hoa()


@dataclass(frozen=True)
class AcceptanceConstant(AcceptanceCondition):
    """``t`` (every run accepted) or ``f`` (none)."""

    value: bool

    def holds(self, union: int, intersection: int) -> bool:
        return self.value

    def disjunctive_normal_form(self) -> list[tuple[AcceptanceAtom, ...]]:
        return [()] if self.value else []

    def to_hoa(self) -> str:
        return "t" if self.value else "f"


@dataclass(frozen=True)
class AcceptanceAtom(AcceptanceCondition):
    """``Inf(i)`` / ``Fin(i)``, or with ``complemented`` ``Inf(!i)`` / ``Fin(!i)``.

    ``Inf(i)``: some transition of set ``i`` is taken infinitely often. ``Fin(i)``: none is.
    ``Inf(!i)``: some transition outside set ``i`` is taken infinitely often.
    """

    infinitely: bool
    index: int
    complemented: bool = False

    def meets(self, marks: int) -> bool:
        """Whether a transition with these marks belongs to the atom's (complemented) set."""
        return bool((marks >> self.index) & 1) != self.complemented

    def holds(self, union: int, intersection: int) -> bool:
        bit = 1 << self.index
        if self.complemented:
            some = not (intersection & bit)
        else:
            some = bool(union & bit)
        return some if self.infinitely else not some

    def disjunctive_normal_form(self) -> list[tuple[AcceptanceAtom, ...]]:
        return [(self,)]

    def to_hoa(self) -> str:
        kind = "Inf" if self.infinitely else "Fin"
        return f"{kind}({'!' if self.complemented else ''}{self.index})"


@dataclass(frozen=True)
class AcceptanceAnd(AcceptanceCondition):
    """Conjunction of conditions."""

    operands: tuple[AcceptanceCondition, ...]

    def holds(self, union: int, intersection: int) -> bool:
        return all(c.holds(union, intersection) for c in self.operands)

    def disjunctive_normal_form(self) -> list[tuple[AcceptanceAtom, ...]]:
        result: list[tuple[AcceptanceAtom, ...]] = [()]
        for c in self.operands:
            result = [a + b for a in result for b in c.disjunctive_normal_form()]
        return [tuple(dict.fromkeys(conj)) for conj in result]

    def to_hoa(self) -> str:
        if not self.operands:
            return "t"
        return " & ".join(_wrap(c, AcceptanceOr) for c in self.operands)


@dataclass(frozen=True)
class AcceptanceOr(AcceptanceCondition):
    """Disjunction of conditions."""

    operands: tuple[AcceptanceCondition, ...]

    def holds(self, union: int, intersection: int) -> bool:
        return any(c.holds(union, intersection) for c in self.operands)

    def disjunctive_normal_form(self) -> list[tuple[AcceptanceAtom, ...]]:
        return [conj for c in self.operands for conj in c.disjunctive_normal_form()]

    def to_hoa(self) -> str:
        if not self.operands:
            return "f"
        return " | ".join(_wrap(c, AcceptanceAnd) for c in self.operands)


def _wrap(c: AcceptanceCondition, kind: type) -> str:
    text = c.to_hoa()
    return f"({text})" if isinstance(c, kind) and len(c.operands) > 1 else text  # type: ignore[attr-defined]


_ACC_TOKEN = re.compile(r"\s*(Inf|Fin|\(|\)|&|\||!|t|f|\d+)")


def parse_acceptance(text: str) -> AcceptanceCondition:
    """Parse an HOA acceptance condition such as ``Fin(0) & Inf(1) | t``.

    ``&`` binds tighter than ``|``.

    Examples
    --------
    >>> str(parse_acceptance("Inf(0) | Fin(1) & Inf(!2)"))
    'Inf(0) | (Fin(1) & Inf(!2))'
    """
    tokens: list[tuple[str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _ACC_TOKEN.match(text, pos)
        if not m:
            raise InvalidSpecificationError(
                f"HOA acceptance condition {text!r}: unexpected {text[pos:].strip()[:10]!r} "
                f"at position {pos}"
            )
        tokens.append((m.group(1), m.start(1)))
        pos = m.end()
    index = 0

    def peek() -> str | None:
        return tokens[index][0] if index < len(tokens) else None

    def take(expected: str | None = None) -> str:
        nonlocal index
        if index >= len(tokens):
            raise InvalidSpecificationError(
                f"HOA acceptance condition {text!r} ends unexpectedly"
            )
        tok, where = tokens[index]
        if expected is not None and tok != expected:
            raise InvalidSpecificationError(
                f"HOA acceptance condition {text!r}: expected {expected!r} at position "
                f"{where}, found {tok!r}"
            )
        index += 1
        return tok

    def disjunction() -> AcceptanceCondition:
        parts = [conjunction()]
        while peek() == "|":
            take()
            parts.append(conjunction())
        return parts[0] if len(parts) == 1 else AcceptanceOr(tuple(parts))

    def conjunction() -> AcceptanceCondition:
        parts = [primary()]
        while peek() == "&":
            take()
            parts.append(primary())
        return parts[0] if len(parts) == 1 else AcceptanceAnd(tuple(parts))

    def primary() -> AcceptanceCondition:
        tok = take()
        if tok == "t":
            return AcceptanceConstant(True)
        if tok == "f":
            return AcceptanceConstant(False)
        if tok == "(":
            inner = disjunction()
            take(")")
            return inner
        if tok in ("Inf", "Fin"):
            take("(")
            comp = peek() == "!"
            if comp:
                take()
            num = take()
            if not num.isdigit():
                raise InvalidSpecificationError(
                    f"HOA acceptance condition {text!r}: expected a set number, found {num!r}"
                )
            take(")")
            return AcceptanceAtom(tok == "Inf", int(num), comp)
        raise InvalidSpecificationError(
            f"HOA acceptance condition {text!r}: unexpected {tok!r}"
        )

    result = disjunction()
    if index != len(tokens):
        raise InvalidSpecificationError(
            f"HOA acceptance condition {text!r}: unexpected {tokens[index][0]!r} at position "
            f"{tokens[index][1]}"
        )
    return result


class DeterministicAutomaton:
    """A deterministic omega-automaton over ``2^AP`` with Emerson-Lei acceptance.

    Parameters
    ----------
    propositions : sequence of str
        The atomic propositions; proposition ``i`` is bit ``i`` of a letter.
    successors : array_like of int, shape ``[Q, 2**len(propositions)]``
        ``successors[q, letter]``, or ``-1`` for no transition (the run is rejected).
    marks : array_like of int, same shape
        Bitmask of the acceptance sets of each transition.
    acceptance : AcceptanceCondition
        The Emerson-Lei condition over those sets.
    n_sets : int
        Number of acceptance sets.
    initial : int, default 0
        The initial state.
    acceptance_name : str, optional
        HOA ``acc-name`` (``"Buchi"``, ``"parity min even 3"``, ...), kept for export.
    state_names : sequence of str, optional
        Names used in drawings and HOA output.
    name : str, optional
        A description (e.g. the formula it was built from).

    Examples
    --------
    >>> from objspec.ltl.translation import translate
    >>> aut = translate("F a")
    >>> aut.n_states, aut.accepts_lasso([set(), {"a"}], [set()])
    (2, True)
    """

    def __init__(
        self,
        propositions: Sequence[str],
        successors: Any,
        marks: Any,
        acceptance: AcceptanceCondition,
        n_sets: int,
        initial: int = 0,
        *,
        acceptance_name: str | None = None,
        state_names: Sequence[str] | None = None,
        name: str | None = None,
    ) -> None:
        props = tuple(propositions)
        if len(set(props)) != len(props):
            raise InvalidSpecificationError(f"automaton propositions repeat: {props}")
        succ = np.array(successors, dtype=np.int64)
        mk = np.array(marks, dtype=np.int64)
        n_letters = 1 << len(props)
        if succ.ndim != 2 or succ.shape[1] != n_letters or succ.shape[0] < 1:
            raise InvalidSpecificationError(
                f"successors must be shaped [Q, 2**{len(props)}] = [Q, {n_letters}] with Q >= 1; "
                f"got {succ.shape}"
            )
        if mk.shape != succ.shape:
            raise InvalidSpecificationError(
                f"marks must have the shape of successors {succ.shape}; got {mk.shape}"
            )
        q = succ.shape[0]
        if succ.min() < -1 or succ.max() >= q:
            bad = np.argwhere((succ < -1) | (succ >= q))[0]
            raise InvalidSpecificationError(
                f"successors[{bad[0]}, {bad[1]}] = {succ[bad[0], bad[1]]} is not a state "
                f"(0..{q - 1}) or -1"
            )
        if not 0 <= initial < q:
            raise InvalidSpecificationError(f"initial state {initial} is not in 0..{q - 1}")
        if n_sets < 0 or (mk >> n_sets).any() or (mk < 0).any():
            raise InvalidSpecificationError(
                f"marks use acceptance sets outside 0..{n_sets - 1}"
            )
        used = acceptance.sets()
        if used and max(used) >= n_sets:
            raise InvalidSpecificationError(
                f"acceptance condition {acceptance} uses set {max(used)}, but there are only "
                f"{n_sets} sets"
            )
        succ.flags.writeable = False
        mk.flags.writeable = False
        self._propositions = props
        self._successors = succ
        self._marks = mk
        self._acceptance = acceptance
        self._n_sets = int(n_sets)
        self._initial = int(initial)
        self.acceptance_name = acceptance_name
        self.state_names = tuple(state_names) if state_names is not None else None
        self.name = name

    # ---------------------------------------------------------------- attributes
    @property
    def propositions(self) -> tuple[str, ...]:
        """Atomic propositions, in bit order."""
        return self._propositions

    @property
    def successors(self) -> np.ndarray:
        """Read-only ``[Q, 2**k]`` successor table (``-1``: no transition)."""
        return self._successors

    @property
    def marks(self) -> np.ndarray:
        """Read-only ``[Q, 2**k]`` acceptance-set bitmasks."""
        return self._marks

    @property
    def acceptance(self) -> AcceptanceCondition:
        """The Emerson-Lei acceptance condition."""
        return self._acceptance

    @property
    def n_sets(self) -> int:
        """Number of acceptance sets."""
        return self._n_sets

    @property
    def n_states(self) -> int:
        """Number of states."""
        return int(self._successors.shape[0])

    @property
    def initial(self) -> int:
        """The initial state."""
        return self._initial

    @property
    def is_complete(self) -> bool:
        """Whether every state has a transition for every letter."""
        return bool((self._successors >= 0).all())

    def letter(self, label: Iterable[str]) -> int:
        """The letter (bitmask) of a set of true propositions; unknown names are ignored."""
        names = set(label)
        return sum(1 << i for i, p in enumerate(self._propositions) if p in names)

    def step(self, state: int, label: Iterable[str]) -> tuple[int, int]:
        """``(successor, marks)`` after reading ``label`` in ``state`` (successor -1: dead)."""
        return self._transition(state, self.letter(label))

    def _transition(self, state: int, letter: int) -> tuple[int, int]:
        """``(successor, marks)`` of one state on one letter (bitmask)."""
        return int(self._successors[state, letter]), int(self._marks[state, letter])

    def next_states(self, states: Any, letters: Any) -> np.ndarray:
        """The successors of ``states`` on ``letters`` (bitmasks over :attr:`propositions`),
        pointwise with numpy broadcasting (``-1``: no transition).

        This is what products with an environment use: it needs only the letters that
        occur, never a table over all ``2**k`` letters (which a
        :class:`~objspec.ltl.factored.FactoredAutomaton` does not keep).

        Examples
        --------
        >>> from objspec.ltl.translation import translate
        >>> aut = translate("F a")
        >>> aut.next_states(np.array([0, 0]), np.array([0, 1])).tolist() == [
        ...     aut.step(0, set())[0], aut.step(0, {"a"})[0]]
        True
        """
        return np.asarray(self._successors[states, letters])

    def next_marks(self, states: Any, letters: Any) -> np.ndarray:
        """The acceptance-set bitmasks of the transitions of ``states`` on ``letters``,
        pointwise like :meth:`next_states` (``0`` where there is no transition)."""
        return np.asarray(self._marks[states, letters])

    def same_transitions(self, other: Any) -> bool:
        """Whether ``other`` (an automaton or reward machine) has the same propositions,
        initial state and transition function, as the same kind of table."""
        if other is self:
            return True
        if getattr(other, "components", None) is not None:
            return False
        succ = np.asarray(other.successors)
        return (tuple(other.propositions) == self._propositions
                and int(other.initial) == self._initial
                and succ.shape == self._successors.shape
                and bool(np.array_equal(succ, self._successors)))

    def accepts_lasso(
        self, prefix: Sequence[Iterable[str]], cycle: Sequence[Iterable[str]]
    ) -> bool:
        """Whether the automaton accepts the word ``prefix cycle cycle cycle ...``.

        Raises
        ------
        InvalidSpecificationError
            If ``cycle`` is empty.
        """
        if len(cycle) == 0:
            raise InvalidSpecificationError("the cycle of a lasso word must not be empty")
        q = self._initial
        for label in prefix:
            q, _ = self.step(q, label)
            if q < 0:
                return False
        letters = [self.letter(label) for label in cycle]
        seen: dict[tuple[int, int], int] = {}
        trace: list[int] = []
        i = 0
        while (q, i) not in seen:
            seen[(q, i)] = len(trace)
            nxt, mark = self._transition(q, letters[i])
            trace.append(mark)
            if nxt < 0:
                return False
            q, i = nxt, (i + 1) % len(letters)
        loop = trace[seen[(q, i)] :]
        union, inter = 0, (1 << self._n_sets) - 1
        for m in loop:
            union |= m
            inter &= m
        return self._acceptance.holds(union, inter)

    # ---------------------------------------------------------------- output
    def to_hoa(self) -> str:
        """The automaton in HOA v1 format (see :mod:`objspec.ltl.hoa`)."""
        from objspec.ltl.hoa import to_hoa

        return to_hoa(self)

    @classmethod
    def from_hoa(cls, text: str) -> DeterministicAutomaton:
        """Read a deterministic automaton from HOA v1 text (see :mod:`objspec.ltl.hoa`)."""
        from objspec.ltl.hoa import from_hoa

        return from_hoa(text)

    def to_dot(self) -> str:
        """The automaton as a Graphviz DOT string."""
        from objspec.ltl.rendering import automaton_to_dot

        return automaton_to_dot(self)

    def _repr_svg_(self) -> str:
        from objspec.ltl.rendering import automaton_to_svg

        return automaton_to_svg(self)

    def __repr__(self) -> str:
        kind = self.acceptance_name or str(self._acceptance)
        desc = f" for {self.name}" if self.name else ""
        return (
            f"<DeterministicAutomaton{desc}: {self.n_states} states, "
            f"{len(self._propositions)} propositions, acceptance {kind}>"
        )


def evaluate_propositional(f: s.Formula, values: dict[str, np.ndarray], n: int) -> np.ndarray:
    """``[n]`` bool: the propositional formula ``f`` evaluated pointwise, given each of its
    atoms' ``[n]`` bool values in ``values`` (letters, states ...).

    Raises
    ------
    InvalidSpecificationError
        If ``f`` has a temporal operator.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.ltl.parser import parse_guard
    >>> a, b = np.array([True, True, False]), np.array([True, False, False])
    >>> evaluate_propositional(parse_guard("a & !b"), {"a": a, "b": b}, 3).tolist()
    [False, True, False]
    """
    if isinstance(f, s.Constant):
        return np.full(n, f.value)
    if isinstance(f, s.Atom):
        return values[f.name]
    if isinstance(f, s.Not):
        return ~evaluate_propositional(f.operand, values, n)
    if isinstance(f, s.And | s.Or | s.Implies | s.Equivalent | s.Xor):
        a = evaluate_propositional(f.left, values, n)
        b = evaluate_propositional(f.right, values, n)
        if isinstance(f, s.And):
            return a & b
        if isinstance(f, s.Or):
            return a | b
        if isinstance(f, s.Implies):
            return ~a | b
        if isinstance(f, s.Equivalent):
            return a == b
        return a != b
    raise InvalidSpecificationError(f"{f} is not a propositional guard")


def is_propositional(f: s.Formula) -> bool:
    """Whether ``f`` has no temporal operator.

    Examples
    --------
    >>> from objspec.ltl.parser import parse_formula
    >>> is_propositional(parse_formula("a -> !b")), is_propositional(parse_formula("F a"))
    (True, False)
    """
    return all(isinstance(g, _PROPOSITIONAL) for g in f.subformulas())


_PROPOSITIONAL = (s.Constant, s.Atom, s.Not, s.And, s.Or, s.Implies, s.Equivalent, s.Xor)


def guard_letters(guard: s.Formula, propositions: Sequence[str]) -> np.ndarray:
    """Boolean ``[2**k]``: which letters (bitmasks over ``propositions``) satisfy ``guard``.

    Examples
    --------
    >>> from objspec.ltl.parser import parse_guard
    >>> guard_letters(parse_guard("a & !b"), ["a", "b"]).tolist()
    [False, True, False, False]
    """
    n = 1 << len(propositions)
    letters = np.arange(n)
    values = {p: ((letters >> i) & 1).astype(bool) for i, p in enumerate(propositions)}
    return evaluate_propositional(guard, values, n)
