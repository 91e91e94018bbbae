"""Ready-made example tasks: an environment, a specification and what the paper says about it.

The tasks of docs/theory.md#examples ("Examples"), each as an :class:`ExampleTask`:

========================  ===========  ==================================================
name                      formalism    task
========================  ===========  ==================================================
``reach_a_then_b``        LTL          reach ``a``, then ``b``: ``F (a & F b)``
``visit_infinitely``      LTL          visit ``s`` infinitely often: ``G F s``
``return_near_c``         ONMR         keep the expected return near ``c``:
                                       ``f(x) = -(x - c)^2``
``same_action_twice``     LTL          act the same at two consecutive decisions (E4);
                                       also as a reward machine and an FTR function
``safety_then_goal``      GOMORL       lexicographic: first avoid the hazard, then reach
                                       the goal
``maximum_entropy``       RRL          prefer random behaviour (entropy regularisation)
========================  ===========  ==================================================

and the office-world tasks of the reward_machines project (:func:`office_tasks`): deliver
coffee, deliver mail, patrol ``a, b, c, d``, deliver coffee and mail, each a
:class:`~objspec.formalisms.RewardMachine` read from the project's text format.

Examples
--------
>>> tasks = example_tasks()
>>> sorted(tasks)  # doctest: +NORMALIZE_WHITESPACE
['maximum_entropy', 'reach_a_then_b', 'return_near_c', 'safety_then_goal',
 'same_action_twice', 'visit_infinitely']
>>> task = tasks["return_near_c"]
>>> task.formalism, task.env.n_states
('ONMR', 2)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from objspec.environments.gridworld import OFFICE_RM_TEXTS, gridworld, office_world
from objspec.environments.witnesses import E3, E4, E5
from objspec.errors import InvalidSpecificationError
from objspec.mdp.model import FiniteMDP

__all__ = ["ExampleTask", "example_tasks", "example_task", "office_tasks", "OFFICE_LTL"]


@dataclass(frozen=True)
class ExampleTask:
    """An environment with an objective specification, and where the objective sits.

    Attributes
    ----------
    name : str
        Registry key.
    env : FiniteMDP
        The environment.
    spec : Specification
        The objective, in the formalism that expresses it most directly.
    description : str
        What the task asks and why it sits where it does in the expressivity preorder.
    alternatives : mapping of str to Specification
        The same task written in other formalisms. Unless stated in ``description``, an
        alternative induces the same policy ordering in ``env``.
    expressible_in : tuple of str
        Formalisms (acronyms) that can express the task in general (every formalism above
        these in the Hasse diagram can too).
    not_expressible_in : tuple of str
        Formalisms that cannot express it in general (the docs/theory.md
        witness in ``reference``).
    reference : str
        Where the notes discuss it.
    """

    name: str
    env: FiniteMDP
    spec: Any
    description: str
    alternatives: Mapping[str, Any] = field(default_factory=dict)
    expressible_in: tuple[str, ...] = ()
    not_expressible_in: tuple[str, ...] = ()
    reference: str = "docs/theory.md#examples"

    @property
    def formalism(self) -> str:
        """The acronym of ``spec``'s formalism."""
        return str(self.spec.acronym)

    def evaluator(self, **kwargs: Any) -> Any:
        """``spec.compile(env)`` (keyword arguments passed on)."""
        return self.spec.compile(self.env, **kwargs)

    def _repr_html_(self) -> str:
        from objspec.display import task_html

        return task_html(self)


def _reach_a_then_b() -> ExampleTask:
    from objspec.formalisms.temporal_logic import LinearTemporalLogic

    env = gridworld(
        """
        S..a
        .#..
        b..x
        """.replace(" ", ""),
        slip=0.1,
        absorbing="x",
    )
    return ExampleTask(
        name="reach_a_then_b",
        env=env,
        spec=LinearTemporalLogic("F (a & F b)"),
        description=(
            "Reach a, then b (a slippery 3x4 grid with an absorbing trap x). The value is the "
            "probability that the label word satisfies F(a & F b). A reward machine can pay "
            "for b after a, but its discount also ranks policies by speed, so the orderings "
            "differ in general; a Markov reward has no memory of having visited a."
        ),
        expressible_in=("LTL",),
        not_expressible_in=("MR",),
    )


def _visit_infinitely() -> ExampleTask:
    from objspec.formalisms.limit_average import LimitAverageReward
    from objspec.formalisms.temporal_logic import LinearTemporalLogic

    env = gridworld("S.s\n...\nx..", slip=0.1, absorbing="x")
    labels = env.state_labels
    assert labels is not None
    on_s = np.array([1.0 if "s" in ls else 0.0 for ls in labels])
    return ExampleTask(
        name="visit_infinitely",
        env=env,
        spec=LinearTemporalLogic("G F s"),
        description=(
            "Visit s infinitely often (slippery grid; the trap x ends all visits). The value "
            "G F s is a probability and can jump as a policy changes (it is discontinuous), "
            "which no discounted formalism (MR, RM) can reproduce. LAR with reward 1 on s "
            "(the alternative) measures the long-run frequency of visits instead, a "
            "different ordering in general."
        ),
        alternatives={"LAR (frequency, a different ordering)": LimitAverageReward(on_s)},
        expressible_in=("LTL",),
        not_expressible_in=("MR", "RM"),
    )


def _return_near_c(c: Fraction = Fraction(1, 2)) -> ExampleTask:
    from objspec.formalisms import OuterNonlinearMarkovReward

    R = np.zeros((2, 2, 2), dtype=object)
    R[...] = Fraction(0)
    R[0, 0, 1] = Fraction(1)
    return ExampleTask(
        name="return_near_c",
        env=E3(),
        spec=OuterNonlinearMarkovReward(R, lambda x: -((x - c) ** 2), Fraction(1, 2)),
        description=(
            f"Keep the expected return close to c = {c}: ONMR with f(x) = -(x - c)^2 on E3 "
            "with R = 1[(s0, a, s1)], so J = -(p - 1/2)^2 peaks at p = pi(a|s0) = 1/2 and "
            "ties p = 0 with p = 1. Every FTR-class value is affine in p here (lemma L1), "
            "so FTR, RM, LTL, LAR and MR cannot express it (witness N3)."
        ),
        expressible_in=("ONMR",),
        not_expressible_in=("FTR", "RM", "LTL", "LAR", "MR"),
        reference="docs/theory.md#examples and docs/theory.md#n3",
    )


def _same_action_twice(gamma: Fraction = Fraction(1, 2)) -> ExampleTask:
    from objspec.formalisms.reward_machine import RewardMachine
    from objspec.formalisms.temporal_logic import LinearTemporalLogic
    from objspec.formalisms.trajectory import TrajectoryFunction

    def alpha(s: int, a: int, s_next: int) -> list[str]:
        return ["alpha"] if a == 0 else []

    env = E4(labels=alpha)
    machine = RewardMachine(
        [
            ("start", "saw a", "alpha", 0),
            ("start", "saw b", "!alpha", 0),
            ("saw a", "done", "alpha", 1),
            ("saw a", "done", "!alpha", 0),
            ("saw b", "done", "!alpha", 1),
            ("saw b", "done", "alpha", 0),
            ("done", "done", "true", 0),
        ],
        "start",
        gamma,
    )

    def same(states: np.ndarray, actions: np.ndarray) -> int:
        return int(actions[0] == actions[1])

    return ExampleTask(
        name="same_action_twice",
        env=env,
        spec=LinearTemporalLogic("(alpha & X alpha) | (!alpha & X !alpha)"),
        description=(
            "Act the same at the two consecutive decisions of E4 (alpha labels the "
            "transitions that take action a). P(same) = 1/2 [1 + (2p - 1)(2q - 1)]. A reward "
            "machine remembering the first action (paying gamma * P(same)) and the FTR "
            "function 1[a0 = a1] induce the same ordering. ONMR, RRL, LAR and MR cannot "
            "express it (witness N6): the preferred q flips with p."
        ),
        alternatives={"RM": machine, "FTR": TrajectoryFunction(same, 2)},
        expressible_in=("LTL", "RM", "FTR"),
        not_expressible_in=("ONMR", "RRL", "LAR", "MR"),
        reference="docs/theory.md#examples and docs/theory.md#n6",
    )


def _safety_then_goal(gamma: float = 0.9) -> ExampleTask:
    from objspec import orders
    from objspec.formalisms import GeneralisedOuterMORL

    env = gridworld(
        """
        S.h.g
        .....
        """.replace(" ", ""),
        slip=0.1,
        absorbing="g",
    )
    labels = env.state_labels
    assert labels is not None
    safety = np.array([-1.0 if "h" in ls else 0.0 for ls in labels])
    goal = np.array([1.0 if "g" in ls else 0.0 for ls in labels])
    return ExampleTask(
        name="safety_then_goal",
        env=env,
        spec=GeneralisedOuterMORL(np.stack([safety, goal]), orders.lexicographic(), gamma),
        description=(
            "First safety, then performance: compare policies by their discounted time on "
            "the hazard h (less is better) and break ties by their discounted time at the "
            "goal g. A lexicographic order on R^2 has no real-valued representation (Debreu, "
            "lemma L6), so no real-valued formalism expresses such orders in general "
            "(witness N1); GOMORL, OMO, TLO and PO do."
        ),
        expressible_in=("GOMORL", "OMO", "TLO"),
        not_expressible_in=("FPR", "FTLR", "FOMR", "OMORL", "FTR", "ONMR", "RRL", "MR"),
        reference="docs/theory.md#examples and docs/theory.md#n1",
    )


def _maximum_entropy(gamma: float = 0.5) -> ExampleTask:
    from objspec.formalisms import RegularisedRL, regularisers

    reward = np.zeros((2, 3))
    reward[0, 0] = 0.5
    return ExampleTask(
        name="maximum_entropy",
        env=E5(),
        spec=RegularisedRL(reward, regularisers.negative_entropy, 1.0, gamma),
        description=(
            "Prefer random behaviour: RRL with a negative-entropy regulariser (alpha = 1) on "
            "E5, plus a small reward for action a at s0. The optimum mixes all three actions "
            "(softmax of the rewards). Any FTR-class value is affine in pi(.|s0) (lemma L1) "
            "and ONMR's statistic too, so neither has a unique interior optimum: they cannot "
            "express it (witnesses N4, N5, N8)."
        ),
        expressible_in=("RRL",),
        not_expressible_in=("FTR", "ONMR", "RM", "LTL", "LAR", "MR"),
        reference=("docs/theory.md#examples and docs/theory.md#n4, docs/theory.md#n5, "
                   "docs/theory.md#n8"),
    )


_BUILDERS = {
    "reach_a_then_b": _reach_a_then_b,
    "visit_infinitely": _visit_infinitely,
    "return_near_c": _return_near_c,
    "same_action_twice": _same_action_twice,
    "safety_then_goal": _safety_then_goal,
    "maximum_entropy": _maximum_entropy,
}


def example_tasks() -> dict[str, ExampleTask]:
    """All example tasks of docs/theory.md#examples, by name (built afresh on each call)."""
    return {name: build() for name, build in _BUILDERS.items()}


def example_task(name: str) -> ExampleTask:
    """One example task by name.

    Raises
    ------
    InvalidSpecificationError
        For an unknown name (listing the known ones).

    Examples
    --------
    >>> example_task("same_action_twice").alternatives.keys()
    dict_keys(['RM', 'FTR'])
    """
    if name not in _BUILDERS:
        raise InvalidSpecificationError(
            f"no example task {name!r}; the tasks are {sorted(_BUILDERS)}"
        )
    return _BUILDERS[name]()


_OFFICE_DESCRIPTIONS = {
    "coffee": "Deliver coffee: get coffee (f), then go to the office (g), never touching a "
              "decoration (n).",
    "mail": "Deliver mail: get the mail (e), then go to the office (g), avoiding decorations.",
    "patrol": "Patrol: visit a, b, c and d in this order, avoiding decorations.",
    "coffee_and_mail": "Deliver coffee and mail: get both f and e (in either order), then go "
                       "to the office (g), avoiding decorations.",
}


def _eventually_in_order(events: list[str]) -> str:
    """``!n U (e1 & !n & X (!n U (e2 & ... & X F (ek | n))))``: the events in order, no
    decoration before the last stage. In the last stage the project's machine pays on its
    event and also on a decoration: no guard matches there, and an unmatched label pays the
    reward of the edge into the terminal state (``RewardMachine.from_text``)."""
    formula = f"X F ({events[-1]} | n)"
    for i, event in enumerate(reversed(events[:-1])):
        formula = f"{event} & !n & ({formula if i == 0 else f'X (!n U ({formula}))'})"
    return f"!n U ({formula})"


#: LTL formulas satisfied by exactly the label words on which the office machines pay.
OFFICE_LTL: dict[str, str] = {
    "coffee": _eventually_in_order(["f", "g"]),
    "mail": _eventually_in_order(["e", "g"]),
    "patrol": _eventually_in_order(["a", "b", "c", "d"]),
    "coffee_and_mail": f"({_eventually_in_order(['f', 'e', 'g'])}) | "
                       f"({_eventually_in_order(['e', 'f', 'g'])})",
}


def office_tasks(gamma: float = 0.9, *, slip: float = 0.0) -> dict[str, ExampleTask]:
    """The four office-world tasks of the reward_machines project, as reward machines.

    Each spec is ``RewardMachine.from_text`` of the project's machine (kept in
    :data:`objspec.environments.OFFICE_RM_TEXTS`), so the project's semantics hold:
    reaching the terminal state, or touching a decoration, ends the episode (an absorbing
    state that pays 0 from then on). Touching a decoration pays 0 before the last stage and,
    as the project's code does, the task's reward in the last stage. The environment is
    :func:`office_world` (labels seen on entering a cell).

    Each task's ``alternatives["LTL"]`` is the LTL formula (:data:`OFFICE_LTL`) satisfied by
    exactly the label words on which the machine pays its reward. It is not the same
    objective: the LTL value is the probability of success, the machine's is discounted, so
    they rank slow and fast policies differently.

    Examples
    --------
    >>> tasks = office_tasks()
    >>> sorted(tasks), tasks["coffee"].formalism
    (['coffee', 'coffee_and_mail', 'mail', 'patrol'], 'RM')
    """
    from objspec.formalisms.reward_machine import RewardMachine
    from objspec.formalisms.temporal_logic import LinearTemporalLogic

    env = office_world(slip=slip)
    return {
        name: ExampleTask(
            name=f"office_{name}",
            env=env,
            spec=RewardMachine.from_text(text, gamma),
            description=_OFFICE_DESCRIPTIONS[name],
            alternatives={"LTL": LinearTemporalLogic(OFFICE_LTL[name])},
            expressible_in=("RM",),
            reference="Toro Icarte et al. (2018), reward_machines project, office world",
        )
        for name, text in OFFICE_RM_TEXTS.items()
    }
