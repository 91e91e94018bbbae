"""The example tasks of docs/theory.md#examples and the office-world tasks."""

from __future__ import annotations

import math
from collections import deque
from fractions import Fraction
from itertools import islice

import numpy as np
import pytest

from objspec import Policy
from objspec.environments import random_policies
from objspec.environments.examples import (
    ExampleTask,
    example_task,
    example_tasks,
    office_tasks,
)
from objspec.errors import InvalidSpecificationError
from objspec.ltl.optimise import optimal_reward_machine_policy
from objspec.mdp import deterministic_policies

TASKS = example_tasks()


@pytest.mark.parametrize("name", sorted(TASKS))
def test_tasks_compile_and_rank(name: str) -> None:
    task = TASKS[name]
    assert isinstance(task, ExampleTask) and task.name == name
    assert task.formalism in task.expressible_in
    assert not set(task.expressible_in) & set(task.not_expressible_in)
    policies = list(random_policies(task.env, 8, seed=1, deterministic_fraction=0.5))
    policies += [p.probabilities for p in islice(deterministic_policies(task.env), 0, 400, 7)]
    ranks = task.evaluator().rank(policies)
    assert ranks.min() == 0 and len(set(ranks.tolist())) > 1  # the task tells policies apart


def test_return_near_c_is_peaked_at_one_half() -> None:
    ev = TASKS["return_near_c"].evaluator(exact=True)

    def policy(p: Fraction) -> Policy:
        return Policy([[p, 1 - p], [Fraction(1), Fraction(0)]])

    values = {p: ev.exact_value(policy(p)) for p in (Fraction(0), Fraction(1, 4), Fraction(1, 2),
                                                     Fraction(1))}
    assert values[Fraction(1, 2)] == 0 and values[Fraction(1, 4)] == Fraction(-1, 16)
    assert values[Fraction(0)] == values[Fraction(1)] == Fraction(-1, 4)


def test_same_action_twice_alternatives_induce_the_same_ordering() -> None:
    task = TASKS["same_action_twice"]
    policies = list(random_policies(task.env, 10, seed=3, deterministic_fraction=0.3))
    policies += [p.probabilities for p in deterministic_policies(task.env)]
    reference = task.evaluator().rank(policies)
    for name, alternative in task.alternatives.items():
        assert np.array_equal(alternative.compile(task.env).rank(policies), reference), name
    # closed form: P(same) = 1/2 [1 + (2p - 1)(2q - 1)]
    values = task.evaluator().values(policies)
    p = np.array([pi[0][0] for pi in policies])
    q = np.array([pi[1][0] for pi in policies])
    np.testing.assert_allclose(values, 0.5 * (1 + (2 * p - 1) * (2 * q - 1)), atol=1e-12)


def test_safety_then_goal_is_lexicographic() -> None:
    task = TASKS["safety_then_goal"]
    env = task.env
    names = env.state_names
    right, down = 1, 2
    # through the hazard (row 0) versus around it (row 1): the detour is safer, hence better
    straight = np.full(env.n_states, right)
    detour = np.full(env.n_states, right)
    detour[names.index("(0,0)")] = down
    detour[names.index("(1,4)")] = 0  # up into the goal
    ev = task.evaluator()
    pis = [Policy.deterministic(straight, 4), Policy.deterministic(detour, 4)]
    assert ev.compare(pis[1], pis[0]) == 1


def test_maximum_entropy_prefers_mixing() -> None:
    task = TASKS["maximum_entropy"]
    ev = task.evaluator()
    uniform = Policy.uniform(2, 3)
    det = Policy.deterministic([0, 0], 3)
    assert ev.compare(uniform, det) == 1
    # the optimum at s0 is the softmax of the rewards: exp(0.5) : 1 : 1
    soft = np.exp([0.5, 0.0, 0.0]) / np.exp([0.5, 0.0, 0.0]).sum()
    best = Policy([soft, [1 / 3, 1 / 3, 1 / 3]])
    for eps in (0.02, -0.02):
        moved = soft + np.array([eps, -eps, 0.0])
        assert ev.compare(best, Policy([moved, [1 / 3, 1 / 3, 1 / 3]])) == 1


def test_visit_infinitely_differs_from_frequency() -> None:
    task = TASKS["visit_infinitely"]
    (alternative,) = task.alternatives.values()
    policies = list(random_policies(task.env, 6, seed=0, deterministic_fraction=0.5))
    ltl = task.evaluator().values(policies)
    assert set(np.round(ltl, 9)) <= {0.0, 1.0}  # a 0/1 law here: the trap or forever
    assert alternative.compile(task.env).values(policies).max() < 1.0


def test_unknown_task() -> None:
    with pytest.raises(InvalidSpecificationError, match="no example task 'nope'"):
        example_task("nope")


def _shortest_reward_path(task: ExampleTask) -> int:
    """Steps until the machine pays 1, by breadth-first search on the deterministic product."""
    env, rm = task.env, task.spec
    compiled_states = list(rm.states)
    start = (int(env.initial.argmax()), compiled_states.index(rm.initial))
    from objspec.ltl.reward_machines import CompiledRewardMachine

    machine = CompiledRewardMachine(rm.edges, rm.initial, rm.gamma, env)
    index = {u: i for i, u in enumerate(machine.states)}
    bit = {p: 1 << i for i, p in enumerate(machine.propositions)}
    start = (int(env.initial.argmax()), index[rm.initial])
    seen = {start}
    queue = deque([(start, 0)])
    while queue:
        (s, u), depth = queue.popleft()
        for a in range(env.n_actions):
            t = int(env.transitions[s, a].argmax())
            letter = sum(bit.get(p, 0) for p in env.label(s, a, t))
            edge = int(machine.edge_of[u, letter])
            if edge >= 0 and float(machine.edges[edge].reward) == 1.0:
                return depth + 1
            nxt = (t, int(machine.successors[u, letter]))
            if nxt not in seen:
                seen.add(nxt)
                queue.append((nxt, depth + 1))
    raise AssertionError("no rewarding path")


@pytest.mark.parametrize("name", ["coffee", "mail", "patrol", "coffee_and_mail"])
def test_office_tasks_optimal_value_is_the_discounted_shortest_path(name: str) -> None:
    gamma = 0.9
    task = office_tasks(gamma)[name]
    assert task.formalism == "RM" and task.env.n_states == 108
    rm = task.spec
    solution = optimal_reward_machine_policy(task.env, rm.edges, rm.initial, rm.gamma)
    steps = _shortest_reward_path(task)
    assert solution.value == pytest.approx(gamma ** (steps - 1), rel=1e-8)
    assert math.isclose(solution.policy_value, solution.value, rel_tol=1e-8)
    # stationary policies on S alone cannot remember the machine state; the uniform one
    # still earns something, but much less
    assert 0 < task.evaluator().value(Policy.uniform(108, 4)) < solution.value


def _coffee_route_policy() -> Policy:
    """A stationary route: (x, y) = (2, 1) -> a -> door -> round the plant -> b -> f -> g."""
    from objspec.environments import OFFICE_LAYOUT, parse_layout

    world = parse_layout(OFFICE_LAYOUT, thin_walls=True)
    up, right, down, left = range(4)
    route = [((2, 1), left), ((1, 1), up), ((1, 2), up), ((1, 3), right), ((2, 3), up),
             ((2, 4), up), ((2, 5), left), ((1, 5), up), ((1, 6), up), ((1, 7), right),
             ((2, 7), right), ((3, 7), down), ((3, 6), right), ((4, 6), down), ((4, 5), down)]
    actions = np.full(108, up)
    for (x, y), a in route:
        actions[world.state_of(8 - y, x)] = a
    return Policy.deterministic(actions, 4)


def test_office_ltl_alternative_accepts_exactly_the_paying_words() -> None:
    tasks = office_tasks(0.9)
    coffee = tasks["coffee"]
    ltl = coffee.alternatives["LTL"].compile(coffee.env)
    route = _coffee_route_policy()
    assert coffee.evaluator().value(route) == pytest.approx(0.9**14, rel=1e-10)
    assert ltl.value(route) == pytest.approx(1.0)
    into_plant = Policy.deterministic(np.full(108, 1), 4)  # right along y = 1: a plant
    assert coffee.evaluator().value(into_plant) == 0.0 and ltl.value(into_plant) == 0.0
    # deterministic environment and policies: one word each; the machine pays iff it is
    # accepted
    policies = list(random_policies(coffee.env, 40, seed=4, deterministic_fraction=1.0))
    policies.append(route.probabilities)
    for name, task in tasks.items():
        paid = task.evaluator().values(policies) > 0
        accepted = task.alternatives["LTL"].compile(task.env).values(policies) > 0.5
        assert np.array_equal(paid, accepted), name
