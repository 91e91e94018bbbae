"""Gridworlds, the office world and the gymnasium toy-text import."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest

from objspec import Policy
from objspec.environments import (
    ACTIONS,
    OFFICE_LAYOUT,
    from_gymnasium,
    gridworld,
    gymnasium_reward,
    import_gymnasium,
    office_world,
    parse_layout,
)
from objspec.errors import InvalidModelError
from objspec.mdp import discounted_values, optimal_values


def _gym_value_iteration(env: gym.Env, gamma: float, tol: float = 1e-13) -> np.ndarray:
    """Value iteration directly on gymnasium's ``P`` table (no objspec involved)."""
    table = env.unwrapped.P
    n_s, n_a = env.observation_space.n, env.action_space.n
    v = np.zeros(n_s)
    for _ in range(100_000):
        q = np.array(
            [
                [
                    sum(p * (r + (0.0 if done else gamma * v[t])) for p, t, r, done in table[s][a])
                    for a in range(n_a)
                ]
                for s in range(n_s)
            ]
        )
        new = q.max(axis=1)
        if np.abs(new - v).max() < tol:
            return new
        v = new
    raise AssertionError("value iteration on the P table did not converge")


# ---------------------------------------------------------------- gymnasium import


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("FrozenLake-v1", {}),
        ("FrozenLake-v1", {"is_slippery": False}),
        ("FrozenLake8x8-v1", {}),
        ("CliffWalking-v1", {}),
        ("CliffWalking-v1", {"is_slippery": True}),
    ],
)
def test_optimal_values_match_value_iteration_on_the_p_table(name: str, kwargs: dict) -> None:
    gamma = 0.95
    env = gym.make(name, **kwargs)
    model = import_gymnasium(env)
    sol = optimal_values(model.mdp, model.reward, gamma, tol=1e-10)
    expected = _gym_value_iteration(env, gamma)
    # gymnasium never acts after termination, so its values at terminal states are moot
    live = [s for s in range(model.n_observations) if s not in model.terminal]
    np.testing.assert_allclose(sol.values[live], expected[live], atol=1e-8)
    # after termination nothing more is earned
    np.testing.assert_allclose(sol.values[list(model.terminal)], 0.0, atol=1e-12)
    assert len(live) < model.n_observations


def test_taxi_import_adds_absorbing_copies_and_matches_the_p_table() -> None:
    gamma = 0.9
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = gym.make("Taxi-v4")
    model = import_gymnasium(env)
    assert model.mdp.n_states == 504 and model.terminal == (500, 501, 502, 503)
    labels = model.mdp.state_labels
    assert labels is not None
    assert all(labels[t] == {"delivered", "terminal"} for t in model.terminal)
    P = model.mdp.transitions
    assert all(np.all(P[t, :, t] == 1.0) for t in model.terminal)
    # a successful drop-off leads to the absorbing copy, paying +20
    s = env.unwrapped.encode(0, 0, 4, 0)  # taxi at R with the passenger, destination R
    assert P[s, 5, 500] == 1.0 and model.reward[s, 5, 500] == 20.0
    sol = optimal_values(model.mdp, model.reward, gamma, tol=1e-9)
    expected = _gym_value_iteration(env, gamma, tol=1e-11)
    np.testing.assert_allclose(sol.values[:500], expected, atol=1e-7)


def test_frozenlake_labels_initial_and_absorbing_states() -> None:
    env = from_gymnasium(gym.make("FrozenLake-v1"))
    labels = env.state_labels
    assert labels is not None
    assert env.initial[0] == 1.0 and labels[0] == {"start"}
    holes = [s for s in range(16) if "hole" in labels[s]]
    assert holes == [5, 7, 11, 12]
    assert labels[15] == {"goal", "terminal"}
    for s in [*holes, 15]:
        assert np.all(env.transitions[s, :, s] == 1.0)
    assert env.action_names == ("left", "down", "right", "up")
    assert env.state_names[5] == "(1,1)"


def test_slippery_cliff_reward_is_the_conditional_mean() -> None:
    env = gym.make("CliffWalking-v1", is_slippery=True)
    reward = gymnasium_reward(env)
    # from the start, "right" slips down (stays, -1) or walks into the cliff (back, -100)
    assert reward[36, 1, 36] == pytest.approx((-1 - 100) / 2)
    mdp = from_gymnasium(env)
    assert mdp.transitions[36, 1, 36] == pytest.approx(2 / 3)
    # the expected one-step reward is kept exactly
    pi = Policy.deterministic(np.ones(48, dtype=np.int64), 4)
    table = env.unwrapped.P
    one_step = sum(p * r for p, _, r, _ in table[36][1])
    expected = (mdp.transitions[36, 1] * reward[36, 1]).sum()
    assert expected == pytest.approx(one_step)
    assert np.isfinite(discounted_values(mdp, pi, reward, 0.5)).all()


def test_import_rejects_environments_without_a_table() -> None:
    with pytest.raises(InvalidModelError, match="no transition table P"):
        from_gymnasium(gym.make("CartPole-v1"))


def test_import_reports_malformed_entries() -> None:
    env = gym.make("FrozenLake-v1").unwrapped
    env.P[3][2] = [(1.0, 99, 0.0, False)]
    with pytest.raises(InvalidModelError, match=r"P\[3\]\[2\]\[0\] leads to state 99"):
        from_gymnasium(env)


# ---------------------------------------------------------------- gridworlds


def test_cell_layout_walls_slip_and_labels() -> None:
    env = gridworld(
        """
        S.G
        .#H
        """.replace(" ", ""),
        slip=0.2,
        labels={"G": "goal", "H": ["hole", "bad"]},
        absorbing="GH",
    )
    assert env.n_states == 5 and env.action_names == ACTIONS
    assert env.propositions == ("bad", "goal", "hole")
    assert env.initial.tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    up, right, down, left = range(4)
    # from (0,0): up hits the border (stay), right to (0,1), down to (1,0), left stays
    np.testing.assert_allclose(env.transitions[0, right], [0.1, 0.8, 0.0, 0.1, 0.0])
    np.testing.assert_allclose(env.transitions[0, up], [0.9, 0.1, 0.0, 0.0, 0.0])
    # (1,0) moving right hits the wall cell
    np.testing.assert_allclose(env.transitions[3, right], [0.1, 0.0, 0.0, 0.9, 0.0])
    np.testing.assert_allclose(env.transitions[2, left], np.eye(5)[2])  # absorbing goal
    assert env.state_names[2] == "(0,2)"
    del down


def test_thin_wall_layout_blocks_moves() -> None:
    world = parse_layout(
        """
+-+-+
|S|g|
+ +-+
|. .|
+-+-+
""",
        thin_walls=True,
    )
    up, right, down, left = range(4)
    assert world.move(0, right) == 0  # wall between (0,0) and (0,1)
    assert world.move(0, down) == 2
    assert world.move(2, right) == 3
    assert world.move(3, up) == 3  # wall above (1,1)
    assert world.move(1, left) == 1
    del up, left


def test_label_on_enter_reads_the_target_cell() -> None:
    env = gridworld("Sg", label_on="enter")
    assert env.state_labels is None
    assert env.label(0, 1, 1) == {"g"} and env.label(1, 3, 0) == frozenset()


@pytest.mark.parametrize(
    ("layout", "kwargs", "match"),
    [
        ("S?", {}, r"'\?' at row 0, column 1"),
        ("###", {}, "no floor cells"),
        ("S.", {"slip": 1.5}, "slip"),
        ("S.", {"label_on": "exit"}, "label_on"),
        ("+-+\n|S|", {"thin_walls": True}, r"\(2H\+1\) x \(2W\+1\)"),
        ("", {}, "empty"),
    ],
)
def test_bad_layouts_are_reported(layout: str, kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidModelError, match=match):
        gridworld(layout, **kwargs)


# ---------------------------------------------------------------- office world


def test_office_world_geometry_matches_the_reward_machines_project() -> None:
    """Rebuild the project's walls from its rules (rooms of 3x3, doors) and compare."""
    U, R, D, L = range(4)
    forbidden = set()
    for x in range(12):
        for y in (0, 3, 6):
            forbidden |= {(x, y, D), (x, y + 2, U)}
    for y in range(9):
        for x in (0, 3, 6, 9):
            forbidden |= {(x, y, L), (x + 2, y, R)}
    for y in (1, 7):
        for x in (2, 5, 8):
            forbidden -= {(x, y, R), (x + 1, y, L)}
    for x in (1, 4, 7, 10):
        forbidden -= {(x, 5, U), (x, 6, D)}
    for x in (1, 10):
        forbidden -= {(x, 2, U), (x, 3, D)}
    objects = {
        (1, 1): "a", (1, 7): "b", (10, 7): "c", (10, 1): "d", (7, 4): "e", (8, 2): "f",
        (3, 6): "f", (4, 4): "g", (4, 1): "n", (7, 1): "n", (4, 7): "n", (7, 7): "n",
        (1, 4): "n", (10, 4): "n",
    }
    delta = {U: (0, 1), R: (1, 0), D: (0, -1), L: (-1, 0)}
    env = office_world(label_on="state")
    world = parse_layout(OFFICE_LAYOUT, thin_walls=True)
    labels = env.state_labels
    assert labels is not None
    for x in range(12):
        for y in range(9):
            s = world.state_of(8 - y, x)
            assert labels[s] == ({objects[(x, y)]} if (x, y) in objects else set())
            for a in range(4):
                nx, ny = (x, y) if (x, y, a) in forbidden else (x + delta[a][0], y + delta[a][1])
                assert env.transitions[s, a, world.state_of(8 - ny, nx)] == 1.0
    assert env.initial[world.state_of(8 - 1, 2)] == 1.0


def test_office_world_enter_labels_and_slip() -> None:
    env = office_world()
    assert env.state_labels is None
    world = parse_layout(OFFICE_LAYOUT, thin_walls=True)
    coffee = world.state_of(2, 3)
    assert env.label(world.state_of(2, 4), 3, coffee) == {"f"}
    slippery = office_world(slip=0.1)
    np.testing.assert_allclose(slippery.transitions.sum(axis=2), 1.0)
    assert slippery.transitions[coffee, 0].max() == pytest.approx(0.9)
