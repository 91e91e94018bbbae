"""What ``RewardMachine.from_text`` promises, stated directly as a small step function.

This is the test oracle for ``objspec.formalisms.RewardMachine.from_text``. It is written
from the semantics documented in ``docs/ltl.md`` ("The reward_machines text format") and in
the docstring of ``from_text``, not from any other code, and it is deliberately naive: it
keeps the file's lines as rows and scans them on every step, where ``from_text`` compiles
them into disjoint guards over bit-vector letters.

The text format:

* line 1 is the initial machine state, line 2 the list of terminal states (Python
  literals, optionally followed by a ``#`` comment);
* every further line is ``(u, u_next, 'guard', ConstantRewardFunction(r))``;
* a guard is a DNF string: alternatives separated by ``|``, each a conjunction of literals
  separated by ``&``, each literal a proposition name or ``True``/``False`` behind any
  number of ``!`` (no spaces, no parentheses).

The machine:

* every terminal state is one sink, :data:`SINK`; rows out of terminal states are dropped;
* rows are keyed by ``(u, u_next)`` with ``u_next`` already sent to the sink: a repeated
  key keeps the position of its first row and takes the guard and reward of its last;
* from ``u`` on a label set, the first row of ``u`` (in that order) whose guard holds gives
  the next state and the reward;
* if no row of ``u`` holds, the machine goes to the sink and pays the reward of ``u``'s row
  into the sink when there is one, else 0;
* the sink stays the sink and pays 0 (the episode is over).

Lines are read with :func:`ast.literal_eval` on their pieces; no text is executed.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

#: The one state that stands for all terminal states (the same value as
#: ``objspec.formalisms.reward_machine.TERMINAL``).
SINK = -1

_ROW = re.compile(r"^\((?P<head>.*),\s*ConstantRewardFunction\((?P<reward>.*)\)\s*\)$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: A literal: (proposition name or "True"/"False", whether it is read positively).
Literal = tuple[str, bool]


def _without_comment(line: str) -> str:
    """The line before a ``#`` that is outside quotes."""
    quote = None
    for i, ch in enumerate(line):
        if quote is not None:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            return line[:i].strip()
    return line.strip()


def parse_guard(text: str) -> list[list[Literal]]:
    """The guard as alternatives of conjunctions of literals.

    Examples
    --------
    >>> parse_guard("a&!b|!!c|True")
    [[('a', True), ('b', False)], [('c', True)], [('True', True)]]
    """
    alternatives = []
    for part in text.split("|"):
        conjunction = []
        for piece in part.split("&"):
            atom = piece.lstrip("!")
            if not _NAME.match(atom):
                raise ValueError(f"guard {text!r}: {piece!r} is not a literal")
            conjunction.append((atom, (len(piece) - len(atom)) % 2 == 0))
        alternatives.append(conjunction)
    return alternatives


def guard_holds(guard: list[list[Literal]], label: frozenset[str]) -> bool:
    """Whether some alternative has all of its literals true on the label set.

    Examples
    --------
    >>> guard_holds(parse_guard("a&!b|False"), frozenset({"a"}))
    True
    >>> guard_holds(parse_guard("a&!b|False"), frozenset({"a", "b"}))
    False
    """

    def value(atom: str) -> bool:
        if atom == "True":
            return True
        if atom == "False":
            return False
        return atom in label

    return any(all(value(atom) == positive for atom, positive in conjunction)
               for conjunction in guard)


@dataclass
class Row:
    """One ``(u, u_next)`` row: its guard and reward (those of the last line for the pair)."""

    target: Hashable
    guard: list[list[Literal]]
    reward: Any


class TextMachine:
    """The machine of a reward_machines text, stepped one label set at a time.

    Examples
    --------
    >>> m = TextMachine("0\\n[2]\\n(0,1,'a',ConstantRewardFunction(0))\\n"
    ...                 "(0,2,'b',ConstantRewardFunction(5))\\n"
    ...                 "(1,1,'True',ConstantRewardFunction(1))")
    >>> m.step(0, frozenset("a")), m.step(0, frozenset()), m.step(1, frozenset())
    ((1, 0), (-1, 5), (1, 1))
    """

    def __init__(self, text: str) -> None:
        lines = [_without_comment(x) for x in text.splitlines()]
        lines = [x for x in lines if x]
        self.initial: Hashable = ast.literal_eval(lines[0])
        self.terminals: set[Hashable] = set(ast.literal_eval(lines[1]))
        self.rows: dict[Hashable, list[Row]] = {}
        for line in lines[2:]:
            match = _ROW.match(line)
            if match is None:
                raise ValueError(f"not a machine line: {line!r}")
            u, v, guard = ast.literal_eval("(" + match["head"] + ",)")
            reward = ast.literal_eval(match["reward"])
            if u in self.terminals:
                continue
            if v in self.terminals:
                v = SINK
            rows = self.rows.setdefault(u, [])
            same = [row for row in rows if row.target == v]
            if same:
                same[0].guard, same[0].reward = parse_guard(guard), reward
            else:
                rows.append(Row(v, parse_guard(guard), reward))

    def propositions(self) -> list[str]:
        """The proposition names the guards mention."""
        return sorted({atom for rows in self.rows.values() for row in rows
                       for conjunction in row.guard for atom, _ in conjunction}
                      - {"True", "False"})

    def step(self, u: Hashable, label: Iterable[str]) -> tuple[Hashable, Any]:
        """The next machine state and the reward on one label set."""
        if u == SINK:
            return SINK, 0
        label = frozenset(label)
        for row in self.rows[u]:
            if guard_holds(row.guard, label):
                return row.target, row.reward
        into_sink = [row.reward for row in self.rows[u] if row.target == SINK]
        return SINK, into_sink[0] if into_sink else 0

    def reachable(self) -> list[Hashable]:
        """The states reachable from the initial state over all label sets of the guards'
        propositions (the sink included when it is reached), in discovery order."""
        props = self.propositions()
        letters = [frozenset(c) for k in range(len(props) + 1)
                   for c in itertools.combinations(props, k)]
        seen = [self.initial]
        for u in seen:
            for letter in letters:
                v, _ = self.step(u, letter)
                if v not in seen:
                    seen.append(v)
        return seen

    def run(self, word: Iterable[Iterable[str]]) -> list[tuple[Hashable, Any]]:
        """The (state, reward) after every letter of the word, from the initial state."""
        u, out = self.initial, []
        for label in word:
            u, reward = self.step(u, label)
            out.append((u, reward))
        return out
