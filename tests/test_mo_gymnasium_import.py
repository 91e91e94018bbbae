"""``from_mo_gymnasium``: reading MO-Gymnasium's environments through their own ``step``.

The fronts of the shipped maps are compared with MO-Gymnasium's published ones in
``tests/test_pareto.py``; this file checks the reader itself: the reward forms, the state
snapshots (attributes mutated in place, attributes that never change), branch-dependent
rewards, and the diagnosis of environments whose reachable states leave their declared
observation space (breakable-bottles).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("mo_gymnasium")

from objspec.environments import from_mo_gymnasium  # noqa: E402
from objspec.errors import InvalidModelError  # noqa: E402


def expected_of(mdp: Any, rewards: np.ndarray) -> np.ndarray:
    S, A = mdp.n_states, mdp.n_actions
    tau = mdp.transition_matrix.toarray().reshape(S, A, S)
    return np.einsum("ksat,sat->ksa", rewards, tau)


@pytest.mark.parametrize("name", ["deep-sea-treasure-v0", "resource-gathering-v0"])
def test_expected_reward_form_is_the_expectation_of_the_transition_form(name: str) -> None:
    mdp, R = from_mo_gymnasium(name)
    mdp2, r = from_mo_gymnasium(name, reward_form="expected")
    assert r.shape == (R.shape[0], mdp.n_states, mdp.n_actions)
    assert mdp2.n_states == mdp.n_states
    assert (mdp2.transition_matrix != mdp.transition_matrix).nnz == 0
    np.testing.assert_allclose(r, expected_of(mdp, R), atol=1e-12)


def test_unknown_reward_form_is_refused() -> None:
    with pytest.raises(InvalidModelError, match="reward_form"):
        from_mo_gymnasium("deep-sea-treasure-v0", reward_form="dense")


def test_breakable_bottles_is_diagnosed_as_larger_than_declared() -> None:
    # its 'bottles_dropped' counts grow without bound although declared MultiBinary(3)
    with pytest.raises(InvalidModelError, match="outside its declared observation space"):
        from_mo_gymnasium("breakable-bottles-v0", max_states=300)


def test_a_small_four_room_maze_is_read_exactly() -> None:
    from mo_gymnasium.envs.four_room.four_room import FourRoom

    maze = np.array([["_", "1", "G"],
                     ["2", " ", "X"]])
    mdp, r = from_mo_gymnasium(FourRoom(maze=maze), reward_form="expected")
    # (row, col, collected 1, collected 2), counted by hand: the start cell with any of
    # the 4 subsets, cell '1' and cell '2' with the 2 subsets containing their item, the
    # empty cell (only reachable through an item) with 3, and the goal's terminal copies,
    # entered from cell '1' with its 2 subsets: 4 + 2 + 2 + 3 + 2
    assert mdp.n_states == 13
    assert sorted(n for n in mdp.state_names if n.endswith("(terminal)")) == [
        "[0, 2, 0, 1] (terminal)", "[0, 2, 1, 1] (terminal)"]
    S, A = mdp.n_states, mdp.n_actions
    P = mdp.transition_matrix.toarray().reshape(S, A, S)
    np.testing.assert_allclose(P.sum(axis=2), 1.0)
    assert np.all((P == 0) | (P == 1))  # FourRoom's moves are deterministic
    names = mdp.state_names
    start = names[int(np.flatnonzero(mdp.initial)[0])]
    assert start.startswith("[0, 0")
    # from the start, moving right collects the item of shape 1: reward (1, 0, 0)
    s0 = int(np.flatnonzero(mdp.initial)[0])
    np.testing.assert_allclose(r[:, s0, 2], [1.0, 0.0, 0.0])
    # every state's actions: reaching the goal pays (1, 1, 1) and ends the episode
    goal_rewards = {tuple(r[:, s, a]) for s in range(S) for a in range(A)
                    if names[int(np.argmax(P[s, a]))].endswith("(terminal)")
                    and not names[s].endswith("(terminal)")}
    assert goal_rewards == {(1.0, 1.0, 1.0)}


class _Branchy(gym.Env):  # type: ignore[misc]
    """A one-state environment whose reward (not its next state) depends on a coin, and
    that mutates a list attribute in place and keeps a large constant table."""

    def __init__(self) -> None:
        self.action_space = gym.spaces.Discrete(2)
        self.observation_space = gym.spaces.Discrete(3)
        self.reward_space = gym.spaces.Box(-1, 1, shape=(2,))
        self.reward_dim = 2
        self.table = np.arange(10_000)  # never changes
        self.trail: list[int] = []

    def reset(self, *, seed: int | None = None, options: Any = None) -> Any:
        super().reset(seed=seed)
        self.trail = []
        return 0, {}

    def step(self, action: int) -> Any:
        self.trail.append(int(action))  # in place
        position = min(len(self.trail), 2)
        coin = self.np_random.random() < 0.25
        reward = np.array([1.0 if coin else 0.0, float(action)])
        return position, reward, False, False, {}


def test_rewards_depending_on_the_branch_need_the_expected_form() -> None:
    with pytest.raises(InvalidModelError, match="depends on the random branch"):
        from_mo_gymnasium(_Branchy())
    mdp, r = from_mo_gymnasium(_Branchy(), reward_form="expected")
    assert mdp.n_states == 3  # positions 0, 1, 2: the trail's length is what is observed
    np.testing.assert_allclose(r[0], 0.25)  # the coin's probability, read from the code
    np.testing.assert_allclose(r[1], [[0.0, 1.0]] * 3)
