"""``RewardMachine.from_text`` against an independent statement of its semantics.

The oracle is ``tests/rm_semantics.py`` (:class:`TextMachine`), written from the documented
semantics of the reward_machines text format: it scans the file's rows on every step, where
``from_text`` compiles them into disjoint guards. Both read hand-written machines (each one
aimed at a rule: first match, unmatched labels, repeated pairs, several terminal states,
``True``/``False`` and negated literals) and random machines drawn by hypothesis; every step's
machine state and reward, and discounted values on chain environments, must agree exactly.

``test_against_the_reward_machines_project`` compares with the reward_machines project's own
``RewardMachine`` class on the project's own machine files. Nothing of that project is part of
this repository: the test runs only when ``OBJSPEC_REWARD_MACHINES_REPO`` names a checkout of
https://github.com/RodrigoToroIcarte/reward_machines, and is skipped otherwise.
"""

from __future__ import annotations

import importlib
import itertools
import os
import sys
from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rm_semantics import SINK, TextMachine

from objspec import FiniteMDP, Policy
from objspec.errors import InvalidSpecificationError
from objspec.formalisms.reward_machine import TERMINAL, RewardMachine
from objspec.ltl.reward_machines import machine_tables

Word = list[frozenset[str]]

#: Hand-written machines, one per rule of the format (see each comment).
MACHINES: dict[str, str] = {
    # overlapping guards: from 0, {a, b} satisfies lines 3, 4 and 5; the first one wins
    "first_line_wins": """0 # start
[3] # goal
(0,1,'a',ConstantRewardFunction(1))
(0,2,'a&b|c',ConstantRewardFunction(2))
(0,0,'True',ConstantRewardFunction(0))
(1,3,'b&!c',ConstantRewardFunction(5))
(1,1,'True',ConstantRewardFunction(-1))
(2,3,'!a',ConstantRewardFunction(7))
(2,0,'a',ConstantRewardFunction(0))
""",
    # 'd' matches no guard: from 'start' (no line into a terminal state) it pays 0, from
    # 'mid' it pays 3, the reward of mid's line into 'done'
    "unmatched_labels": """'start'
['done']
('start','start','!a&!d',ConstantRewardFunction(0))
('start','mid','a&!d',ConstantRewardFunction(0))
('mid','mid','!b&!d',ConstantRewardFunction(0))
('mid','done','b&!d',ConstantRewardFunction(3))
""",
    # (0, 1) appears twice: the pair keeps line 3's place before (0, 2) and takes line 5's
    # guard 'c' and reward 3; 'a' alone matches nothing any more
    "repeated_pair": """0
[9]
(0,1,'a',ConstantRewardFunction(1))
(0,2,'b',ConstantRewardFunction(2))
(0,1,'c',ConstantRewardFunction(3))
(1,9,'b',ConstantRewardFunction(4))
(1,1,'!b',ConstantRewardFunction(0))
(2,2,'True',ConstantRewardFunction(0))
""",
    # 4 and 5 are both the sink, so (0, 4) and (0, 5) are one pair: line 5 replaces line 3
    # in line 3's place; line 9 leaves a terminal state and is dropped
    "several_terminal_states": """0
[4, 5]
(0,4,'a',ConstantRewardFunction(1))
(0,1,'c',ConstantRewardFunction(0))
(0,5,'b',ConstantRewardFunction(2))
(0,0,'!a&!b&!c',ConstantRewardFunction(0))
(1,5,'a|b',ConstantRewardFunction(10))
(1,1,'!a&!b',ConstantRewardFunction(0))
(4,0,'True',ConstantRewardFunction(100))
""",
    # constants and stacked negations: '!True' never holds, '!!b' is b, '!False' always holds
    "constant_guards": """0
[2]
(0,1,'False|a&!!b',ConstantRewardFunction(1))
(0,0,'!True|!a',ConstantRewardFunction(0))
(1,2,'!False&c',ConstantRewardFunction(4))
(1,0,'!c&!b',ConstantRewardFunction(-2))
""",
    # no terminal state at all (the sink is reached only on unmatched labels), DNF guards
    # over four propositions, string states and fractional rewards
    "dnf_without_terminals": """'u0'
[]
('u0','u1','a&!b|!a&b',ConstantRewardFunction(0.5))
('u0','u0','!a&!b&!d',ConstantRewardFunction(0))
('u1','u0','c&d|!c&!d',ConstantRewardFunction(-0.25))
('u1','u1','c&!d',ConstantRewardFunction(1))
""",
}


class Compiled:
    """``RewardMachine.from_text`` stepped through its compiled tables."""

    def __init__(self, text: str, gamma: float = 0.9) -> None:
        self.rm = RewardMachine.from_text(text, gamma=gamma)
        states, props, self.successors, self.edge_of = machine_tables(self.rm.edges,
                                                                      self.rm.initial)
        self.states = states
        self.index = {u: i for i, u in enumerate(states)}
        self.bit = {p: 1 << i for i, p in enumerate(props)}

    def step(self, u: Hashable, label: Iterable[str]) -> tuple[Hashable, Any]:
        i = self.index[u]
        letter = sum(self.bit.get(p, 0) for p in set(label))
        edge = int(self.edge_of[i, letter])
        reward = 0 if edge < 0 else self.rm.edges[edge].reward
        return self.states[int(self.successors[i, letter])], reward

    def run(self, word: Iterable[Iterable[str]]) -> list[tuple[Hashable, Any]]:
        u, out = self.rm.initial, []
        for label in word:
            u, reward = self.step(u, label)
            out.append((u, reward))
        return out


def _letters(props: Iterable[str]) -> list[frozenset[str]]:
    props = sorted(props)
    return [frozenset(c) for k in range(len(props) + 1)
            for c in itertools.combinations(props, k)]


def _witnesses(machine: TextMachine) -> list[frozenset[str]]:
    """The positive literals of every conjunction of every guard: label sets that take the
    machine's rows, so that random words get deep into the machine."""
    out = {frozenset(atom for atom, positive in conjunction
                     if positive and atom not in ("True", "False"))
           for rows in machine.rows.values() for row in rows for conjunction in row.guard}
    return sorted(out, key=sorted)


def _words(machine: TextMachine, rng: np.random.Generator, n: int, length: int,
           extra: Iterable[str] = ()) -> list[Word]:
    """Random label words: mostly witnesses, otherwise random label sets (half of them with
    at most one proposition, as grid worlds show them), over the guards' propositions and
    ``extra`` ones that no guard mentions."""
    props = machine.propositions() + sorted(extra)
    witnesses = _witnesses(machine)
    words = []
    for _ in range(n):
        word = []
        for _ in range(length):
            if rng.random() < 0.6:
                word.append(witnesses[int(rng.integers(len(witnesses)))])
                continue
            k = int(rng.integers(0, 2)) if rng.random() < 0.5 else \
                int(rng.integers(0, len(props) + 1))
            word.append(frozenset(rng.choice(props, size=k, replace=False).tolist()))
        words.append(word)
    return words


def _assert_same_table(text: str) -> None:
    """Every reachable state, every label set over the guards' propositions and one more."""
    reference, compiled = TextMachine(text), Compiled(text)
    for u in reference.reachable():
        for letter in _letters(reference.propositions() + ["zz"]):
            assert compiled.step(u, letter) == reference.step(u, letter), (u, sorted(letter))


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_from_text_steps_like_the_semantics_on_every_label_set(name: str) -> None:
    _assert_same_table(MACHINES[name])


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_from_text_steps_like_the_semantics_on_random_words(name: str) -> None:
    text = MACHINES[name]
    reference, compiled = TextMachine(text), Compiled(text)
    rng = np.random.default_rng(sum(map(ord, name)))
    visited = set()
    for word in _words(reference, rng, 60, 12, extra=["zz"]):
        expected = reference.run(word)
        assert compiled.run(word) == expected, word
        visited |= {u for u, _ in expected}
    assert visited >= set(reference.reachable()) - {reference.initial}


@st.composite
def machine_texts(draw: st.DrawFn) -> str:
    """Random machine texts: 1-4 ordinary states (integers or strings), 0-2 terminal states,
    1-4 lines per ordinary state (repeated pairs and lines into terminal states included,
    in random order), sometimes a line out of a terminal state, DNF guards with negations and
    constants over 3 or 4 propositions, integer and fractional rewards."""
    props = draw(st.sampled_from(["abc", "abcd"]))
    names: list[Hashable] = draw(st.sampled_from([[0, 1, 2, 3, 4, 5],
                                                  ["u", "v", "w", "x", "y", "z"]]))
    n = draw(st.integers(1, 4))
    ordinary, terminal = names[:n], names[n:n + draw(st.integers(0, 2))]
    literal = st.builds(lambda bangs, atom: "!" * bangs + atom, st.sampled_from([0, 0, 1, 1, 2]),
                        st.sampled_from(list(props) * 4 + ["True", "False"]))
    conjunction = st.lists(literal, min_size=1, max_size=3).map("&".join)
    guard = st.lists(conjunction, min_size=1, max_size=3).map("|".join)
    reward = st.sampled_from([0, 0, 1, 2, -1, 0.5, -0.25])
    # sometimes a line out of a terminal state, which must be dropped
    leaving = draw(st.lists(st.sampled_from(terminal), max_size=1)) if terminal else []
    lines = []
    for u in ordinary + leaving:
        for _ in range(draw(st.integers(1, 4))):
            v = draw(st.sampled_from(ordinary + terminal))
            lines.append(f"({u!r},{v!r},{draw(guard)!r},ConstantRewardFunction({draw(reward)}))")
    lines = draw(st.permutations(lines))
    initial = draw(st.sampled_from(ordinary))
    return "\n".join([repr(initial), repr(terminal), *lines]) + "\n"


@given(machine_texts())
def test_from_text_steps_like_the_semantics_on_random_machines(text: str) -> None:
    _assert_same_table(text)


@given(machine_texts(), st.lists(st.frozensets(st.sampled_from(["a", "b", "c", "d", "zz"])),
                                 min_size=1, max_size=10))
def test_from_text_runs_like_the_semantics_on_random_machines(text: str, word: Word) -> None:
    assert Compiled(text).run(word) == TextMachine(text).run(word)


def _chain(word: Word, props: list[str]) -> FiniteMDP:
    """A deterministic chain whose label word is ``word``, its last letter repeated."""
    n = len(word)
    P = np.zeros((n, 1, n))
    for s in range(n):
        P[s, 0, min(s + 1, n - 1)] = 1.0
    init = np.zeros(n)
    init[0] = 1.0
    return FiniteMDP(P, init, labels=dict(enumerate(word)), propositions=props)


def _reference_return(reference: TextMachine, word: Word, gamma: float) -> float:
    """The discounted return on ``word`` with its last letter repeated (until the sink or
    ``gamma**t`` is negligible)."""
    u, total = reference.initial, 0.0
    for t in range(2000):
        u, r = reference.step(u, word[min(t, len(word) - 1)])
        total += gamma**t * float(r)
        if u == SINK:
            break
    return total


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_values_are_the_discounted_returns_of_the_semantics(name: str) -> None:
    text = MACHINES[name]
    reference = TextMachine(text)
    gamma = 0.9
    rm = RewardMachine.from_text(text, gamma=gamma)
    props = reference.propositions()
    rng = np.random.default_rng(7)
    for word in _words(reference, rng, 15, 10):
        env = _chain(word, props)
        value = rm.compile(env).value(Policy.uniform(env.n_states, 1))
        assert value == pytest.approx(_reference_return(reference, word, gamma), abs=1e-12)


@given(machine_texts(), st.lists(st.frozensets(st.sampled_from(["a", "b", "c", "d"])),
                                 min_size=1, max_size=6))
def test_values_are_the_discounted_returns_on_random_machines(text: str, word: Word) -> None:
    reference = TextMachine(text)
    rm = RewardMachine.from_text(text, gamma=0.5)
    env = _chain(word, ["a", "b", "c", "d"])
    value = rm.compile(env).value(Policy.uniform(env.n_states, 1))
    assert value == pytest.approx(_reference_return(reference, word, 0.5), abs=1e-12)


@pytest.mark.parametrize(
    ("name", "u", "label", "expected"),
    [
        ("first_line_wins", 0, "ab", (1, 1)),
        ("first_line_wins", 0, "bc", (2, 2)),
        ("first_line_wins", 0, "", (0, 0)),
        ("first_line_wins", 1, "bc", (1, -1)),
        ("unmatched_labels", "start", "d", (SINK, 0)),
        ("unmatched_labels", "start", "ad", (SINK, 0)),
        ("unmatched_labels", "mid", "d", (SINK, 3)),
        ("unmatched_labels", "mid", "b", (SINK, 3)),
        ("repeated_pair", 0, "a", (SINK, 0)),
        ("repeated_pair", 0, "c", (1, 3)),
        ("repeated_pair", 0, "bc", (1, 3)),
        ("repeated_pair", 0, "ab", (2, 2)),
        ("several_terminal_states", 0, "a", (SINK, 2)),
        ("several_terminal_states", 0, "ac", (1, 0)),
        ("several_terminal_states", 0, "bc", (SINK, 2)),
        ("several_terminal_states", 0, "", (0, 0)),
        ("several_terminal_states", 1, "c", (1, 0)),
        ("several_terminal_states", 1, "ab", (SINK, 10)),
        ("constant_guards", 0, "ab", (1, 1)),
        ("constant_guards", 0, "a", (SINK, 0)),
        ("constant_guards", 0, "bc", (0, 0)),
        ("constant_guards", 1, "c", (SINK, 4)),
        ("constant_guards", 1, "", (0, -2)),
        ("constant_guards", 1, "b", (SINK, 4)),
        ("dnf_without_terminals", "u0", "b", ("u1", 0.5)),
        ("dnf_without_terminals", "u0", "ab", (SINK, 0)),
        ("dnf_without_terminals", "u0", "d", (SINK, 0)),
        ("dnf_without_terminals", "u1", "cd", ("u0", -0.25)),
        ("dnf_without_terminals", "u1", "c", ("u1", 1)),
        ("dnf_without_terminals", "u1", "d", (SINK, 0)),
    ],
)
def test_each_rule_by_hand(name: str, u: Hashable, label: str,
                           expected: tuple[Hashable, Any]) -> None:
    text = MACHINES[name]
    assert TextMachine(text).step(u, frozenset(label)) == expected
    assert Compiled(text).step(u, frozenset(label)) == expected
    assert TERMINAL == SINK


def test_office_decoration_after_coffee_pays_the_terminal_line() -> None:
    # state 1 has '!g&!n' and 'g&!n': touching a decoration (n) matches neither, so the
    # machine moves to the sink and pays the reward of the line into [2], which is 1
    from objspec.environments import OFFICE_RM_TEXTS

    text = OFFICE_RM_TEXTS["coffee"]
    env = _chain([frozenset(), frozenset("f"), frozenset("n")], ["f", "g", "n"])
    value = RewardMachine.from_text(text, gamma=0.5).compile(env).value(Policy.uniform(3, 1))
    assert value == 0.25
    assert TextMachine(text).step(1, frozenset("n")) == (SINK, 1)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("0\n[1]\n(0,1,'a & b',ConstantRewardFunction(1))", "not a proposition name"),
        ("0\n[1]\n(0,1,'!(a|b)',ConstantRewardFunction(1))", "not a proposition name"),
        ("0\n[1]\n(0,1,'a|',ConstantRewardFunction(1))", "not a proposition name"),
        ("1\n[1]\n(0,1,'a',ConstantRewardFunction(1))", "initial state 1 is terminal"),
        ("0\n[2]\n(1,2,'a',ConstantRewardFunction(1))", "initial state 0 has no lines"),
        ("0\n[2]\n(0,1,'a',ConstantRewardFunction(0))\n(0,2,'!a',ConstantRewardFunction(1))",
         "state 1 .entered on line 3. is not terminal and has no lines"),
        ("[0]\n[2]\n(0,1,'a',ConstantRewardFunction(0))", "must be hashable"),
        ("0\n[[2]]\n(0,1,'a',ConstantRewardFunction(0))", "must be hashable"),
        ("0\n[2]\n(0,[1],'a',ConstantRewardFunction(0))", "line 3: machine state"),
        ("0\n[1]\n(0,1,'a',ConstantRewardFunction(float('nan')))", "must be a number"),
    ],
)
def test_texts_outside_the_format_are_refused(text: str, match: str) -> None:
    with pytest.raises(InvalidSpecificationError, match=match):
        RewardMachine.from_text(text, gamma=0.9)


def test_unreachable_states_without_lines_are_fine() -> None:
    # state 3 is entered only on 'a & !a', which never holds, so it is never reached
    text = "0\n[2]\n(0,3,'a&!a',ConstantRewardFunction(0))\n(0,2,'True',ConstantRewardFunction(1))"
    rm = RewardMachine.from_text(text, gamma=0.5)
    assert 3 not in rm.states


def test_from_text_edges_are_disjoint_and_readable() -> None:
    text = """0
[1]
(0,0,'!p&!q',ConstantRewardFunction(0))
(0,2,'q',ConstantRewardFunction(0))
(0,3,'p',ConstantRewardFunction(0))
(2,1,'p',ConstantRewardFunction(1))
(2,2,'!p',ConstantRewardFunction(0))
(3,1,'q',ConstantRewardFunction(1))
(3,3,'!q',ConstantRewardFunction(0))
"""
    rm = RewardMachine.from_text(text, gamma=0.9)
    edges = [(e.source, e.target, str(e.guard), e.reward) for e in rm.edges]
    # 'p' overlaps the earlier 'q' on {p, q}: the compiled edge is what is left of it
    assert [e for e in edges if e[0] == 0] == [
        (0, 0, "!p & !q", 0), (0, 2, "q", 0), (0, 3, "p & !q", 0)]


def test_office_ltl_accepts_exactly_the_words_the_machines_pay_on() -> None:
    from ltl_reference import holds_on_lasso

    from objspec.environments import OFFICE_RM_TEXTS
    from objspec.environments.examples import OFFICE_LTL
    from objspec.ltl.parser import parse_formula

    rng = np.random.default_rng(3)
    alphabet = list("abcdefgn")
    # the office world shows one symbol per cell; decorations are frequent enough to matter
    words = [[frozenset(rng.choice(alphabet, size=int(rng.random() < 0.6)).tolist())
              for _ in range(10)] for _ in range(60)]
    paid_after_decoration = 0
    for name, text in OFFICE_RM_TEXTS.items():
        reference = TextMachine(text)
        formula = parse_formula(OFFICE_LTL[name])
        for word in words:
            # the word with its last letter repeated, read by both
            paid = _reference_return(reference, word, 0.9) > 0
            assert paid == holds_on_lasso(formula, word[:-1], word[-1:]), (name, word)
            paid_after_decoration += paid and any("n" in label for label in word)
    assert paid_after_decoration > 0  # the words do exercise the unmatched-label reward


#: Set to a checkout of https://github.com/RodrigoToroIcarte/reward_machines to compare with
#: that project's own class on its own machine files.
PROJECT_ENV = "OBJSPEC_REWARD_MACHINES_REPO"


def _project_machine_files(root: Path) -> list[Path]:
    envs = root / "reward_machines" / "envs"
    return [*sorted((envs / "grids" / "reward_machines" / "office").glob("*.txt")),
            *sorted((envs / "grids" / "reward_machines" / "craft").glob("*.txt")),
            *sorted((envs / "water" / "reward_machines").glob("*.txt"))]


def _project_class(root: Path) -> Any:
    """The checkout's ``reward_machines.reward_machine.RewardMachine``.

    Its module imports only its siblings ``reward_functions`` and ``reward_machine_utils``
    (no third-party packages), so the checkout's source folder is put on ``sys.path`` for the
    import and everything is put back afterwards.
    """
    source = root / "reward_machines"
    if not (source / "reward_machines" / "reward_machine.py").is_file():
        pytest.fail(f"{PROJECT_ENV}={root} is not a checkout of the reward_machines project "
                    f"(no {source / 'reward_machines' / 'reward_machine.py'})")

    def ours(name: str) -> bool:
        return name == "reward_machines" or name.startswith("reward_machines.")

    saved = {name: module for name, module in sys.modules.items() if ours(name)}
    saved_path = list(sys.path)
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(source))
    try:
        module = importlib.import_module("reward_machines.reward_machine")
        assert Path(module.__file__ or "").resolve().is_relative_to(source.resolve())
        return module.RewardMachine
    finally:
        sys.path[:] = saved_path
        for name in [name for name in sys.modules if ours(name)]:
            del sys.modules[name]
        sys.modules.update(saved)


@pytest.mark.skipif(
    not os.environ.get(PROJECT_ENV),
    reason=f"set {PROJECT_ENV} to a checkout of "
    "https://github.com/RodrigoToroIcarte/reward_machines to compare from_text with that "
    "project's RewardMachine class on its office, craft and water machines",
)
def test_against_the_reward_machines_project() -> None:
    """From_text, the semantics and the project's class agree step by step on random words.

    The project's class reads its files with ``eval``: point the variable only at a checkout
    you trust. Its worlds pass the true propositions as a string of one-character names
    (its guards test substrings), so the words are handed to it that way.
    """
    root = Path(os.environ[PROJECT_ENV]).expanduser()
    project_class = _project_class(root)
    files = _project_machine_files(root)
    assert files, f"no machine files under {root / 'reward_machines' / 'envs'}"
    steps = 0
    for path in files:
        text = path.read_text()
        project, reference, compiled = project_class(str(path)), TextMachine(text), \
            Compiled(text)
        assert all(len(p) == 1 for p in reference.propositions()), path
        rng = np.random.default_rng(sum(map(ord, path.name + path.parent.name)))
        visited = set()
        for word in _words(reference, rng, 160, 20):
            expected = reference.run(word)
            assert compiled.run(word) == expected, (path, word)
            u = project.reset()
            for label, step in zip(word, expected, strict=True):
                u, reward, done = project.step(u, "".join(sorted(label)), None)
                assert (u, reward) == step, (path, word)
                steps += 1
                visited.add(u)
                if done:
                    break
        assert visited >= set(project.get_states()) - {project.reset()}, path
    print(f"{len(files)} machine files, {steps} steps of the project's class, all agree")
