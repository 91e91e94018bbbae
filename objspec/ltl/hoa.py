"""HOA v1 (Hanoi Omega-Automata format) export and import of deterministic automata.

Export writes transition-based acceptance with explicit labels: boolean expressions over AP
indices (``[0&!1]``), one edge per successor and mark set, labels as small sums of products.
Import reads what Spot, Owl and Rabinizer write for deterministic automata: ``States``,
``Start`` (exactly one), ``AP``, ``Alias``, ``Acceptance`` (any Emerson-Lei condition;
``acc-name`` is kept but not needed), state-based or transition-based marks, explicit labels
(``t``, ``f``, ``n``, ``!``, ``&``, ``|``, parentheses, ``@alias``) or implicit labels (one
edge per letter in order), and partial automata (a missing transition rejects). Automata with
universal branching, several initial states or two edges enabled by one letter are rejected
with :class:`~objspec.errors.InvalidSpecificationError`.

Examples
--------
>>> from objspec.ltl.translation import translate
>>> from objspec.ltl.hoa import from_hoa, to_hoa
>>> text = to_hoa(translate("a U b"))
>>> print(text, end="")
HOA: v1
name: "a U b"
States: 2
Start: 0
AP: 2 "a" "b"
acc-name: Buchi
Acceptance: 1 Inf(0)
properties: trans-labels explicit-labels trans-acc deterministic
--BODY--
State: 0
[0&!1] 0
[1] 1
State: 1
[t] 1 {0}
--END--
>>> back = from_hoa(text)
>>> back.accepts_lasso([{"a"}, {"b"}], [set()]), back.accepts_lasso([], [{"a"}])
(True, False)
"""

from __future__ import annotations

import re
from itertools import combinations

import numpy as np

from objspec.errors import InvalidSpecificationError
from objspec.ltl.automaton import (
    AcceptanceCondition,
    DeterministicAutomaton,
    parse_acceptance,
)

__all__ = ["to_hoa", "from_hoa", "MAX_HOA_PROPOSITIONS"]

#: Largest number of atomic propositions an imported automaton may have (letters are enumerated).
MAX_HOA_PROPOSITIONS = 16


def _cubes(letters: list[int], n_props: int) -> list[tuple[int, int]]:
    """A cover of a set of letters by cubes ``(care_mask, value)`` (Quine-McCluskey primes)."""
    full = (1 << n_props) - 1
    current = {(full, m) for m in letters}
    primes: set[tuple[int, int]] = set()
    while current:
        merged: set[tuple[int, int]] = set()
        used: set[tuple[int, int]] = set()
        items = sorted(current)
        for (c1, v1), (c2, v2) in combinations(items, 2):
            if c1 != c2:
                continue
            diff = v1 ^ v2
            if diff and diff & (diff - 1) == 0:
                merged.add((c1 & ~diff, v1 & ~diff))
                used.add((c1, v1))
                used.add((c2, v2))
        primes |= current - used
        current = merged
    # greedy cover of the letters by primes
    remaining = set(letters)
    cover: list[tuple[int, int]] = []
    ranked = sorted(primes, key=lambda p: -(n_props - bin(p[0]).count("1")))
    while remaining:
        best = max(ranked, key=lambda p: sum(1 for m in remaining if m & p[0] == p[1]))
        cover.append(best)
        remaining = {m for m in remaining if m & best[0] != best[1]}
    return cover


def _label(letters: list[int], n_props: int) -> str:
    if len(letters) == 1 << n_props:
        return "t"
    terms = []
    for care, value in _cubes(letters, n_props):
        lits = [
            ("" if (value >> i) & 1 else "!") + str(i) for i in range(n_props) if (care >> i) & 1
        ]
        terms.append("&".join(lits) if lits else "t")
    return " | ".join(terms)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_hoa(automaton: DeterministicAutomaton) -> str:
    """Write ``automaton`` in HOA v1 format (transition-based acceptance, explicit labels).

    Examples
    --------
    >>> from objspec.ltl.translation import translate
    >>> "Acceptance: 1 Fin(0)" in to_hoa(translate("F G a"))
    True
    """
    props = automaton.propositions
    k = len(props)
    lines = ["HOA: v1"]
    if automaton.name:
        lines.append(f"name: {_quote(automaton.name)}")
    lines.append(f"States: {automaton.n_states}")
    lines.append(f"Start: {automaton.initial}")
    lines.append(f"AP: {k}" + "".join(" " + _quote(p) for p in props))
    if automaton.acceptance_name:
        lines.append(f"acc-name: {automaton.acceptance_name}")
    lines.append(f"Acceptance: {automaton.n_sets} {automaton.acceptance.to_hoa()}")
    props_line = "properties: trans-labels explicit-labels trans-acc deterministic"
    if automaton.is_complete:
        props_line += " complete"
    lines.append(props_line)
    lines.append("--BODY--")
    succ, marks = automaton.successors, automaton.marks
    for q in range(automaton.n_states):
        name = ""
        if automaton.state_names is not None:
            name = " " + _quote(automaton.state_names[q])
        lines.append(f"State: {q}{name}")
        groups: dict[tuple[int, int], list[int]] = {}
        for letter in range(1 << k):
            target = int(succ[q, letter])
            if target >= 0:
                groups.setdefault((target, int(marks[q, letter])), []).append(letter)
        for (target, mark), letters in sorted(groups.items(), key=lambda kv: kv[1][0]):
            acc = ""
            if mark:
                sets = (str(i) for i in range(automaton.n_sets) if mark >> i & 1)
                acc = " {" + " ".join(sets) + "}"
            lines.append(f"[{_label(letters, k)}] {target}{acc}")
    lines.append("--END--")
    return "\n".join(lines) + "\n"


_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<int>\d+)|(?P<header>[A-Za-z][A-Za-z0-9_-]*:)'
    r"|(?P<ident>@?[A-Za-z_][A-Za-z0-9_-]*)|(?P<sym>--BODY--|--END--|--ABORT--|[\[\]{}()!&|]))"
)


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    n = len(text)
    while True:
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            return tokens
        if text.startswith("/*", pos):
            end = text.find("*/", pos)
            if end < 0:
                raise InvalidSpecificationError(f"HOA: unterminated comment at offset {pos}")
            pos = end + 2
            continue
        m = _TOKEN.match(text, pos)
        if not m:
            snippet = text[pos : pos + 20]
            raise InvalidSpecificationError(f"HOA: unexpected {snippet!r} at offset {pos}")
        kind = m.lastgroup
        assert kind is not None
        tokens.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()


class _LabelParser:
    """Boolean label expressions over AP indices, evaluated on every letter at once."""

    def __init__(self, tokens: list[tuple[str, str, int]], start: int, n_props: int,
                 aliases: dict[str, np.ndarray]) -> None:
        self.tokens, self.i, self.k, self.aliases = tokens, start, n_props, aliases
        letters = np.arange(1 << n_props)
        self.ap_values = [((letters >> j) & 1).astype(bool) for j in range(n_props)]

    def peek(self) -> str:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else ""

    def take(self) -> tuple[str, str, int]:
        if self.i >= len(self.tokens):
            raise InvalidSpecificationError("HOA: a label ends unexpectedly")
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def disjunction(self) -> np.ndarray:
        value = self.conjunction()
        while self.peek() == "|":
            self.take()
            value = value | self.conjunction()
        return value

    def conjunction(self) -> np.ndarray:
        value = self.primary()
        while self.peek() == "&":
            self.take()
            value = value & self.primary()
        return value

    def primary(self) -> np.ndarray:
        kind, text, pos = self.take()
        if text == "!":
            return ~self.primary()
        if text == "(":
            value = self.disjunction()
            if self.take()[1] != ")":
                raise InvalidSpecificationError(f"HOA: ')' expected in a label at offset {pos}")
            return value
        if kind == "ident" and text in ("t", "f"):
            return np.full(1 << self.k, text == "t")
        if kind == "int":
            j = int(text)
            if j >= self.k:
                raise InvalidSpecificationError(
                    f"HOA: label uses AP {j} at offset {pos}, but there are {self.k} APs"
                )
            return self.ap_values[j].copy()
        if kind == "ident" and text.startswith("@"):
            if text not in self.aliases:
                raise InvalidSpecificationError(f"HOA: unknown alias {text} at offset {pos}")
            return self.aliases[text].copy()
        raise InvalidSpecificationError(f"HOA: unexpected {text!r} in a label at offset {pos}")


def from_hoa(text: str) -> DeterministicAutomaton:
    """Read a deterministic automaton from HOA v1 text.

    Raises
    ------
    InvalidSpecificationError
        On malformed text, or an automaton that is not deterministic (naming the state and the
        letter enabled twice), has universal branching or not exactly one initial state.

    Examples
    --------
    >>> aut = from_hoa('''HOA: v1
    ... States: 1
    ... Start: 0
    ... AP: 1 "p"
    ... acc-name: Buchi
    ... Acceptance: 1 Inf(0)
    ... --BODY--
    ... State: 0 {0}
    ... [0] 0
    ... [!0] 0
    ... --END--''')
    >>> aut.accepts_lasso([], [{"p"}]), aut.acceptance_name
    (True, 'Buchi')
    """
    tokens = _tokenize(text)
    if not tokens or tokens[0][1] != "HOA:":
        raise InvalidSpecificationError("HOA: the text must start with 'HOA: v1'")
    i = 0
    n_states: int | None = None
    starts: list[int] = []
    props: list[str] | None = None
    acceptance: AcceptanceCondition | None = None
    n_sets = 0
    acc_name: str | None = None
    name: str | None = None
    aliases: dict[str, np.ndarray] = {}

    def header_values(j: int) -> tuple[list[tuple[str, str, int]], int]:
        vals = []
        while j < len(tokens) and tokens[j][0] != "header" and tokens[j][1] not in (
            "--BODY--", "--END--", "--ABORT--"
        ):
            vals.append(tokens[j])
            j += 1
        return vals, j

    while i < len(tokens) and tokens[i][1] != "--BODY--":
        kind, key, pos = tokens[i]
        if kind != "header":
            raise InvalidSpecificationError(
                f"HOA: header item expected at offset {pos}, got {key!r}"
            )
        vals, i = header_values(i + 1)
        if key == "HOA:":
            if not vals or vals[0][1] != "v1":
                raise InvalidSpecificationError("HOA: only version v1 is supported")
        elif key == "States:":
            n_states = int(vals[0][1])
        elif key == "Start:":
            if len(vals) != 1 or any(v[1] == "&" for v in vals):
                raise InvalidSpecificationError(
                    "HOA: universal initial states (Start: a&b) are not deterministic"
                )
            starts.append(int(vals[0][1]))
        elif key == "AP:":
            count = int(vals[0][1])
            props = [_unquote(v[1]) for v in vals[1:]]
            if len(props) != count:
                raise InvalidSpecificationError(
                    f"HOA: 'AP: {count}' lists {len(props)} propositions"
                )
            if count > MAX_HOA_PROPOSITIONS:
                raise InvalidSpecificationError(
                    f"HOA: {count} propositions; at most {MAX_HOA_PROPOSITIONS} are supported"
                )
        elif key == "Acceptance:":
            n_sets = int(vals[0][1])
            acc_text = text[vals[1][2] : _line_end(text, vals[1][2])] if len(vals) > 1 else ""
            acceptance = parse_acceptance(acc_text.strip())
        elif key == "acc-name:":
            acc_name = " ".join(v[1] for v in vals)
        elif key == "name:":
            name = _unquote(vals[0][1]) if vals else None
        elif key == "Alias:":
            if props is None:
                raise InvalidSpecificationError("HOA: 'Alias:' must come after 'AP:'")
            aliases[vals[0][1]] = _LabelParser(vals, 1, len(props), aliases).disjunction()
        elif key in ("tool:", "properties:", "controllable-AP:"):
            if key == "properties:" and any(v[1] == "univ-branch" for v in vals):
                raise InvalidSpecificationError(
                    "HOA: automata with universal branching are not supported"
                )
        elif key[0].isupper():
            raise InvalidSpecificationError(f"HOA: unsupported header {key}")
    if i >= len(tokens):
        raise InvalidSpecificationError("HOA: '--BODY--' is missing")
    if n_states is None or props is None or acceptance is None:
        missing = [k for k, v in (("States:", n_states), ("AP:", props),
                                  ("Acceptance:", acceptance)) if v is None]
        raise InvalidSpecificationError(f"HOA: missing header(s) {', '.join(missing)}")
    if len(starts) != 1:
        raise InvalidSpecificationError(
            f"HOA: a deterministic automaton needs exactly one 'Start:'; found {len(starts)}"
        )
    k = len(props)
    n_letters = 1 << k
    succ = np.full((n_states, n_letters), -1, dtype=np.int64)
    marks = np.zeros((n_states, n_letters), dtype=np.int64)
    i += 1
    state: int | None = None
    state_marks = 0
    state_label: np.ndarray | None = None
    implicit_next = 0
    state_names: list[str] = [str(q) for q in range(n_states)]
    named = False

    def read_marks(j: int) -> tuple[int, int]:
        m = 0
        if j < len(tokens) and tokens[j][1] == "{":
            j += 1
            while tokens[j][1] != "}":
                idx = int(tokens[j][1])
                if idx >= n_sets:
                    raise InvalidSpecificationError(
                        f"HOA: acceptance set {idx} at offset {tokens[j][2]}, but "
                        f"'Acceptance: {n_sets}' declares sets 0..{n_sets - 1}"
                    )
                m |= 1 << idx
                j += 1
            j += 1
        return m, j

    while i < len(tokens) and tokens[i][1] not in ("--END--", "--ABORT--"):
        kind, tok, pos = tokens[i]
        if tok == "State:":
            i += 1
            label = None
            if tokens[i][1] == "[":
                parser = _LabelParser(tokens, i + 1, k, aliases)
                label = parser.disjunction()
                i = parser.i
                if tokens[i][1] != "]":
                    raise InvalidSpecificationError(f"HOA: ']' expected at offset {tokens[i][2]}")
                i += 1
            state = int(tokens[i][1])
            if not 0 <= state < n_states:
                raise InvalidSpecificationError(f"HOA: state {state} is not in 0..{n_states - 1}")
            i += 1
            if i < len(tokens) and tokens[i][0] == "string":
                state_names[state] = _unquote(tokens[i][1])
                named = True
                i += 1
            state_marks, i = read_marks(i)
            state_label = label
            implicit_next = 0
            continue
        if state is None:
            raise InvalidSpecificationError(f"HOA: an edge before any 'State:' at offset {pos}")
        if tok == "[":
            parser = _LabelParser(tokens, i + 1, k, aliases)
            enabled = parser.disjunction()
            i = parser.i
            if tokens[i][1] != "]":
                raise InvalidSpecificationError(f"HOA: ']' expected at offset {tokens[i][2]}")
            i += 1
        elif state_label is not None:
            enabled = state_label.copy()
        else:
            if implicit_next >= n_letters:
                raise InvalidSpecificationError(
                    f"HOA: state {state} has more implicit edges than the {n_letters} letters"
                )
            enabled = np.zeros(n_letters, dtype=bool)
            enabled[implicit_next] = True
            implicit_next += 1
        target_tok = tokens[i]
        if target_tok[0] != "int":
            raise InvalidSpecificationError(
                f"HOA: edge target expected at offset {target_tok[2]}, got {target_tok[1]!r}"
            )
        target = int(target_tok[1])
        i += 1
        if i < len(tokens) and tokens[i][1] == "&":
            raise InvalidSpecificationError(
                f"HOA: universal branching (conjunction of targets) at offset {tokens[i][2]}"
            )
        if not 0 <= target < n_states:
            raise InvalidSpecificationError(f"HOA: edge target {target} is not a state")
        edge_marks, i = read_marks(i)
        clash = enabled & (succ[state] >= 0)
        if clash.any():
            letter = int(np.argmax(clash))
            shown = "{" + ", ".join(props[j] for j in range(k) if letter >> j & 1) + "}"
            raise InvalidSpecificationError(
                f"HOA: the automaton is not deterministic: state {state} has two edges for "
                f"the letter {shown}"
            )
        succ[state, enabled] = target
        marks[state, enabled] = edge_marks | state_marks
    if i >= len(tokens) or tokens[i][1] != "--END--":
        raise InvalidSpecificationError("HOA: '--END--' is missing (or the automaton was aborted)")
    return DeterministicAutomaton(
        props, succ, marks, acceptance, n_sets, starts[0],
        acceptance_name=acc_name, state_names=state_names if named else None, name=name,
    )


def _unquote(token: str) -> str:
    if token.startswith('"') and token.endswith('"'):
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    return token


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end
