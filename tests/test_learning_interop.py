"""Interop: imitation's preference data in (duck-typed stand-ins), fitted rewards out (reward
arrays and gymnasium wrappers, on objspec MDPs and gymnasium's toy-text environments)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from objspec import FiniteMDP, Policy
from objspec.environments import from_gymnasium
from objspec.errors import InvalidModelError, InvalidSpecificationError
from objspec.formalisms import MarkovReward
from objspec.formalisms.reward_machine import RewardMachine
from objspec.learning import (
    Comparisons,
    Fit,
    FittedRewardWrapper,
    fit,
    from_imitation,
    reward_wrapper,
)
from objspec.reductions import convert


@dataclass(frozen=True)
class Fragment:
    """Shaped like ``imitation.data.types.Trajectory``."""

    obs: np.ndarray
    acts: np.ndarray
    infos: Any = None
    terminal: bool = True


@dataclass
class PreferenceDataset:
    """Shaped like ``imitation.algorithms.preference_comparisons.PreferenceDataset``."""

    fragments1: list[Fragment]
    fragments2: list[Fragment]
    preferences: np.ndarray


def _frag(states: list[int], actions: list[int]) -> Fragment:
    return Fragment(np.array(states), np.array(actions))


A = _frag([0, 1, 1], [1, 1])
B = _frag([0, 0, 0], [0, 0])
C = _frag([0, 1, 0], [1, 0])


def _chain() -> FiniteMDP:
    P = np.zeros((2, 2, 2))
    P[:, 0, 0] = 1.0
    P[:, 1, 1] = 1.0
    return FiniteMDP(P, [1.0, 0.0])


def test_pairs_and_preferences_map_to_relations() -> None:
    data = from_imitation([(A, B), (B, C), (C, A), (A, C)], [1.0, 0.2, 0.5, 0.55],
                          threshold=0.1)
    assert [str(c) for c in data.comparisons] == ["0 > 1", "2 > 1", "2 = 0", "0 = 2"]
    assert data.trajectories[0].states == (0, 1, 1) and data.trajectories[0].actions == (1, 1)
    assert data.n_items == 3  # identical fragments are one item


def test_dataset_object_and_column_observations() -> None:
    column = Fragment(np.array([[0], [1], [1]]), np.array([[1], [1]]))
    ds = PreferenceDataset([column, B], [B, C], np.array([0.75, 0.0], dtype=np.float32))
    data = from_imitation(ds)
    assert [str(c) for c in data.comparisons] == ["0 > 1", "2 > 1"]
    with pytest.raises(InvalidSpecificationError, match="carries its preferences"):
        from_imitation(ds, [0.5, 0.5])


@pytest.mark.parametrize(("pairs", "prefs", "message"), [
    ([], [], "empty"),
    ([(A, B)], [float("nan")], "preference 0 is nan"),
    ([(A, B)], [1.5], "not a probability"),
    ([(A, B)], [0.5, 0.5], "must match"),
    ([(A, _frag([0, 1], [0, 0]))], [1.0], "pair 0, fragment 2: 2 observations for 2 actions"),
    ([(A, Fragment(np.zeros((3, 2)), np.zeros(2)))], [1.0], "shape"),
    ([(A, _frag([0, 0.5, 1], [0, 0]))], [1.0], r"obs\[1\] = 0.5"),
    ([(A, A)], [1.0], "strictly preferred to itself"),
    ("prefs.pkl", [1.0], "never files"),
])
def test_named_errors(pairs: Any, prefs: list[float], message: str) -> None:
    with pytest.raises(InvalidSpecificationError, match=message):
        from_imitation(pairs, prefs)


def test_imported_trajectories_validate_against_the_environment() -> None:
    data = from_imitation([(A, B)], [1.0])
    data.validate(_chain())
    bad = from_imitation([(_frag([0, 0, 0], [1, 0]), B)], [1.0])
    with pytest.raises(InvalidSpecificationError, match="cannot do"):
        bad.validate(_chain())


# ---------------------------------------------------------------------- export


def _mr_fit(env: FiniteMDP) -> Fit:
    go, stay = [[0, 1], [0, 1]], [[1, 0], [1, 0]]
    return fit("MR", env, Comparisons(policies=[go, stay], pairs=[(0, 1, ">")]), gamma=0.5)


def test_reward_array_shapes_and_exactness() -> None:
    env = _chain()
    result = _mr_fit(env)
    arr = result.reward_array()
    assert arr.shape == (2, 2) and arr.dtype == np.float64
    exact = fit("MR", env, Comparisons(policies=[[[0, 1], [0, 1]], [[1, 0], [1, 0]]],
                                       pairs=[(0, 1, ">")]), gamma=0.5, exact=True)
    assert all(type(x).__name__ == "Fraction" for x in exact.reward_array(exact=True).ravel())
    rm = RewardMachine([(0, 1, "a", np.ones((2, 2))), (1, 0, "true", 2.0)], 0, 0.5)
    rm_arr = Fit("RM", rm, None, (), "by hand").reward_array()
    assert rm_arr.shape == (2, 2, 2) and rm_arr[1].tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert Fit("RM", RewardMachine([(0, 1, "a", 1), (1, 0, "true", 0)], 0, 0.5), None, (),
               "by hand").reward_array().tolist() == [1.0, 0.0]
    with pytest.raises(InvalidSpecificationError, match="no reward array"):
        Fit("LTL", object(), None, (), "by hand").reward_array()


def test_wrapper_on_an_mdp_pays_the_fitted_reward_and_discount() -> None:
    env = _chain()
    result = _mr_fit(env)
    wrapped = reward_wrapper(result, env, max_episode_steps=3)
    assert wrapped.gamma == 0.5
    obs, _ = wrapped.reset(seed=0)
    r = result.reward_array()
    total = []
    for a in (1, 1, 0):
        nxt, reward, _, truncated, _ = wrapped.step(a)
        assert reward == pytest.approx(r[obs, a])
        obs = nxt
        total.append(truncated)
    assert total == [False, False, True]


def test_wrapper_returns_match_the_fitted_value_in_expectation() -> None:
    """On a deterministic chain one episode's discounted return is the policy's value."""
    env = _chain()
    result = _mr_fit(env)
    horizon = 60
    wrapped = reward_wrapper(result, env, max_episode_steps=horizon)
    go = Policy([[0, 1], [0, 1]])
    obs, _ = wrapped.reset(seed=1)
    ret = 0.0
    for t in range(horizon):
        obs, reward, *_ = wrapped.step(int(go.actions[obs]))
        ret += 0.5 ** t * reward
    assert ret == pytest.approx(float(result.spec.compile(env).values([go])[0]), abs=1e-12)


def test_wrapper_around_frozen_lake_fitted_from_comparisons() -> None:
    lake = gym.make("FrozenLake-v1", is_slippery=False)
    mdp = from_gymnasium(lake)
    S, A = mdp.n_states, mdp.n_actions
    good = np.zeros((S, A))
    good[:, 1] = 1.0  # down
    good[[8, 9, 10, 14], :] = 0.0
    good[[8, 9, 14], 2] = 1.0  # right
    good[10, 1] = 1.0
    bad = np.zeros((S, A))
    bad[:, 0] = 1.0  # always left
    result = fit("MR", mdp, Comparisons(policies=[good, bad], pairs=[(0, 1, ">")]), gamma=0.9)
    wrapped = reward_wrapper(result, lake)
    assert isinstance(wrapped, FittedRewardWrapper)
    obs, _ = wrapped.reset(seed=0)
    r = result.reward_array()
    for a in (1, 1, 2, 2, 1, 2):
        nxt, reward, terminated, _, info = wrapped.step(a)
        assert reward == pytest.approx(r[obs, a]) and "original_reward" in info
        obs = nxt
    assert terminated and obs == 15 and info["original_reward"] == 1.0


def test_wrapper_around_cliff_walking_with_a_reward_machine() -> None:
    """The wrapper tracks the machine like SpecEnv simulating the imported MDP does."""
    from objspec.environments.gym_adapter import SpecEnv

    cliff = gym.make("CliffWalking-v1")
    mdp = from_gymnasium(cliff)
    rm = RewardMachine([(0, 1, "start", -1.0), (1, 2, "goal", 5.0), (2, 2, "true", 0.0)],
                       0, 0.9)
    wrapped = reward_wrapper(Fit("RM", rm, None, (), "by hand"), cliff, mdp=mdp)
    sim = SpecEnv(mdp, rm)
    obs, _ = wrapped.reset(seed=0)
    expected, _ = sim.reset(seed=0)
    assert obs.tolist() == expected.tolist() == [36, 0]
    actions = [1, 0] + [1] * 11 + [2]  # into the cliff (back to start), up, right x 11, down
    for a in actions:
        obs, reward, terminated, _, _ = wrapped.step(a)
        expected, sim_reward, *_ = sim.step(a)
        assert obs.tolist() == expected.tolist() and reward == sim_reward
    assert obs.tolist() == [47, 1] and terminated
    # the machine pays -1 on leaving the start once; the goal is read on the next step


def test_wrapper_errors() -> None:
    env = _chain()
    result = _mr_fit(env)
    with pytest.raises(InvalidSpecificationError, match="FiniteMDP or a gymnasium.Env"):
        reward_wrapper(result, "FrozenLake-v1")
    with pytest.raises(InvalidModelError, match="pass mdp="):
        reward_wrapper(result, gym.make("CartPole-v1"))
    lake = gym.make("FrozenLake-v1")
    with pytest.raises(InvalidModelError, match="action space"):
        FittedRewardWrapper(lake, np.zeros((16, 2)), FiniteMDP(np.ones((16, 2, 16)) / 16,
                                                               np.ones(16) / 16))
    with pytest.raises(InvalidSpecificationError, match="no per-step reward"):
        reward_wrapper(Fit("PO", convert(MarkovReward(np.zeros((2, 2)), 0.5), "PO", env),
                           None, (), "by hand"), env)
