"""Labels belong to the specification: declared alphabets, spec-level labellings, and the
initial state of a reward machine (docs/theory.md#labelling: ``(AP, L, phi)`` and
``(P, L, U, u0, delta_U, delta_R, gamma)``)."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pytest

from objspec import FiniteMDP, Policy
from objspec.errors import InvalidModelError, InvalidSpecificationError
from objspec.formalisms.reward_machine import RewardMachine
from objspec.formalisms.temporal_logic import LinearTemporalLogic
from objspec.ltl.optimise import maximal_satisfaction
from objspec.reductions import convert


def _two_way() -> FiniteMDP:
    """State 0 chooses: action 0 -> state 1 (w.p. 1/2) or 2, action 1 -> state 2."""
    P = np.zeros((3, 2, 3), dtype=object)
    P[:] = Fraction(0)
    P[0, 0, 1] = P[0, 0, 2] = Fraction(1, 2)
    P[0, 1, 2] = Fraction(1)
    P[1, :, 1] = P[2, :, 2] = Fraction(1)
    return FiniteMDP(P, [Fraction(1), Fraction(0), Fraction(0)], labels={1: ["goal"]},
                     propositions=["goal", "lava"])


PI0 = Policy.deterministic([0, 0, 0], 2)
PI1 = Policy.deterministic([1, 0, 0], 2)


# ---------------------------------------------------------------- declared alphabets
def test_declared_alphabet_is_the_environments_propositions() -> None:
    env = _two_way()
    assert env.propositions == ("goal", "lava")
    assert env.state_labels == (frozenset(), frozenset({"goal"}), frozenset())
    assert FiniteMDP(np.ones((1, 1, 1)), [1.0], propositions=["p"]).propositions == ("p",)
    transition = FiniteMDP(np.ones((1, 1, 1)), [1.0], labels=lambda s, a, t: ["p"],
                           propositions=["p", "q"])
    assert transition.propositions == ("p", "q")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"labels": {0: ["goal"]}, "propositions": ["lava"]},
         "labels of state 0 use 'goal', which is not among the declared propositions"),
        ({"labels": lambda s, a, t: ["x"], "propositions": ["p"]},
         r"transition \(s=0, a=0, s'=0\) use 'x'"),
        ({"propositions": "lava"}, "not one string"),
        ({"propositions": ["true"]}, "not a valid proposition"),
        ({"propositions": [3]}, "is not a string"),
        ({"propositions": 3}, "iterable of strings"),
    ],
)
def test_bad_alphabets_are_refused(kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidModelError, match=match):
        FiniteMDP(np.ones((1, 1, 1)), [1.0], **kwargs)


def test_ltl_over_a_declared_proposition_that_holds_nowhere() -> None:
    env = _two_way()
    for formula, value in [("F lava", 0), ("G !lava", 1), ("F goal & G !lava", Fraction(1, 2))]:
        ev = LinearTemporalLogic(formula).compile(env)
        assert ev.exact_value(PI0) == value
        assert ev.values([PI0]).tolist() == [float(value)]
        assert maximal_satisfaction(env, formula).probability == pytest.approx(float(value))
    with pytest.raises(InvalidSpecificationError, match="'lave'"):
        LinearTemporalLogic("F lave").compile(env)


def test_reward_machine_over_a_declared_hazard() -> None:
    env = _two_way()
    rm = RewardMachine([(0, 1, "goal & !lava", 1), (0, 2, "lava", -10), (1, 1, "true", 0),
                        (2, 2, "true", 0)], 0, Fraction(1, 2))
    ev = rm.compile(env)
    assert ev.exact_value(PI0) == Fraction(1, 4)  # goal is read at t = 1 w.p. 1/2
    assert ev.optimise().value == pytest.approx(0.25)
    with pytest.raises(InvalidSpecificationError, match="'fire'"):
        RewardMachine([(0, 0, "fire", 1)], 0, 0.5).compile(env)


def test_many_declared_propositions_do_not_enlarge_the_automaton() -> None:
    names = [f"p{i}" for i in range(20)]
    env = FiniteMDP(np.ones((1, 1, 1)), [1.0], labels={0: ["p3"]}, propositions=names)
    assert maximal_satisfaction(env, "G p3 & F !p4").probability == pytest.approx(1.0)


def test_with_labels_shares_the_transitions() -> None:
    env = _two_way()
    other = env.with_labels({2: ["lava"]})
    assert other.propositions == ("lava",) and other.transition_matrix is env.transition_matrix
    assert other.is_exact and env.propositions == ("goal", "lava")
    with pytest.raises(InvalidModelError, match="not among the declared"):
        env.with_labels({2: ["fire"]}, propositions=["lava"])


# ---------------------------------------------------------------- spec-level labellings
def test_ltl_reads_its_own_labelling() -> None:
    env = _two_way()
    own = LinearTemporalLogic("F hit", labelling={2: ["hit"]})
    ev = own.compile(env)
    assert ev.values([PI0, PI1]).tolist() == [0.5, 1.0]
    assert ev.exact_value(PI0) == Fraction(1, 2)
    assert ev.maximal_satisfaction().probability == pytest.approx(1.0)
    # the environment's own labels are not visible to it
    with pytest.raises(InvalidSpecificationError, match="'goal'"):
        LinearTemporalLogic("F goal", labelling={2: ["hit"]}).compile(env)
    # a transition labelling: "hit" on taking action 1
    by_action = LinearTemporalLogic("F hit", labelling=lambda s, a, t: ["hit"] if a else [])
    assert by_action.compile(env).values([PI0, PI1]).tolist() == [0.0, 1.0]
    # the default is the environment's labelling
    assert LinearTemporalLogic("F goal").compile(env).values([PI0, PI1]).tolist() == [0.5, 0.0]
    # its own alphabet may be larger than what it uses
    declared = LinearTemporalLogic("G !boom", labelling={2: ["hit"]}, propositions=["hit", "boom"])
    assert declared.compile(env).values([PI0]).tolist() == [1.0]


def test_reward_machine_reads_its_own_labelling() -> None:
    env = _two_way()
    edges = [(0, 1, "hit", 1), (1, 1, "true", 0)]
    rm = RewardMachine(edges, 0, Fraction(1, 2), labelling={2: ["hit"]})
    ev = rm.compile(env)
    assert ev.exact_value(PI1) == Fraction(1, 2) and ev.exact_value(PI0) == Fraction(1, 4)
    assert ev.optimise().value == pytest.approx(0.5)
    named = FiniteMDP(env.transitions, env.initial, state_names=["a", "b", "c"])
    assert RewardMachine(edges, 0, 0.5, labelling={"c": ["hit"]}).compile(named).value(PI1) == 0.5
    with pytest.raises(InvalidSpecificationError, match="labelling of the reward machine"):
        RewardMachine(edges, 0, 0.5, labelling={7: ["hit"]}).compile(env)


def test_a_spec_labelling_survives_conversion_and_simulation() -> None:
    env = _two_way()
    ltl = LinearTemporalLogic("F hit", labelling={2: ["hit"]})
    ftr = convert(ltl, "FTR")
    assert ftr.compile(env).values([PI0, PI1]).tolist() == pytest.approx([0.5, 1.0])
    rm = RewardMachine([(0, 1, "hit", 1), (1, 1, "true", 0)], 0, 0.5, labelling={2: ["hit"]})
    assert convert(rm, "FTR").compile(env).values([PI0, PI1]).tolist() == pytest.approx(
        [0.25, 0.5])
    pytest.importorskip("gymnasium")
    from objspec.environments.gym_adapter import SpecEnv

    sim = SpecEnv(env, rm)
    sim.reset(seed=0)
    _, reward, _, _, info = sim.step(1)
    assert reward == 0.0 and info["labels"] == ["hit"]
    _, reward, _, _, _ = sim.step(0)
    assert reward == 1.0  # the machine reads "hit" in state 2


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: LinearTemporalLogic("F a", labelling=["a"]),  # type: ignore[arg-type]
         "must be None"),
        (lambda: RewardMachine([(0, 0, "a", 1)], 0, 0.5, labelling=3),  # type: ignore[arg-type]
         "must be None"),
        (lambda: LinearTemporalLogic("F a", propositions=["a"]), "without labelling="),
        (lambda: RewardMachine([(0, 0, "a", 1)], 0, 0.5, labelling={0: ["a"]},
                               propositions="a"), "not one string"),
    ],
)
def test_bad_spec_labellings_are_refused(build: Callable[[], object], match: str) -> None:
    with pytest.raises(InvalidSpecificationError, match=match):
        build()


# ---------------------------------------------------------------- reward-machine start
def test_an_initial_state_without_edges_is_refused() -> None:
    with pytest.raises(InvalidSpecificationError,
                       match="initial machine state 'u0' has no outgoing edge"):
        RewardMachine([(0, 1, "true", 1), (1, 1, "true", 0)], "u0", 0.5)


def test_an_unhashable_initial_state_is_refused() -> None:
    with pytest.raises(InvalidSpecificationError,
                       match=r"initial machine state \[0\] is not hashable"):
        RewardMachine([(0, 1, "true", 1)], [0], 0.5)  # type: ignore[arg-type]


def test_cli_reads_a_declared_alphabet(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from objspec.cli import main

    environment = {"transitions": [[[0, 1]], [[0, 1]]], "initial": [1, 0],
                   "labels": {"1": ["goal"]}, "propositions": ["goal", "hazard"]}
    spec = {"formalism": "LTL", "formula": "G !hazard"}
    path = tmp_path / "problem.json"
    path.write_text(json.dumps({"environment": environment, "specification": spec,
                                "policies": [[[1], [1]]]}))
    assert main(["evaluate", str(path)]) == 0
    environment["propositions"] = "goal"
    path.write_text(json.dumps({"environment": environment, "specification": spec,
                                "policies": [[[1], [1]]]}))
    assert main(["evaluate", str(path)]) == 2
