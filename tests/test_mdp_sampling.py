"""Vectorised trajectory sampling: shapes, seeding, supports and frequencies."""

from __future__ import annotations

import numpy as np
import pytest
from test_mdp_strategies import random_policies, random_sparse_mdp

from objspec import FiniteMDP, Policy
from objspec.errors import InvalidModelError, InvalidPolicyError, InvalidSpecificationError
from objspec.mdp import evaluate
from objspec.mdp.sampling import Trajectories, discounted_returns, sample_trajectories


def _env(seed: int = 0, S: int = 12, A: int = 3, k: int = 3) -> FiniteMDP:
    return random_sparse_mdp(np.random.default_rng(seed), S, A, k)


def test_shapes_and_single_policy() -> None:
    env = _env()
    pis = random_policies(np.random.default_rng(1), 4, 12, 3)
    states, actions = sample_trajectories(env, pis, 5, 7, seed=0)
    assert states.shape == (4, 5, 8) and actions.shape == (4, 5, 7)
    assert states.dtype == actions.dtype == np.int64
    one = sample_trajectories(env, Policy(pis[0]), 5, 7, seed=0)
    assert isinstance(one, Trajectories)
    assert one.states.shape == (5, 8) and one.actions.shape == (5, 7)
    empty = sample_trajectories(env, pis, 2, 0, seed=0)
    assert empty.states.shape == (4, 2, 1) and empty.actions.shape == (4, 2, 0)


def test_seeding_is_reproducible() -> None:
    env = _env()
    pis = random_policies(np.random.default_rng(1), 3, 12, 3)
    a = sample_trajectories(env, pis, 50, 20, seed=123)
    b = sample_trajectories(env, pis, 50, 20, seed=np.random.default_rng(123))
    c = sample_trajectories(env, pis, 50, 20, seed=124)
    assert np.array_equal(a.states, b.states) and np.array_equal(a.actions, b.actions)
    assert not np.array_equal(a.states, c.states)


def test_only_positive_probability_actions_and_transitions() -> None:
    env = _env(2, S=15, A=4, k=2)
    rng = np.random.default_rng(3)
    pis = random_policies(rng, 3, 15, 4)
    pis[:, :, 1] = 0.0  # action 1 never taken
    pis /= pis.sum(axis=2, keepdims=True)
    pis[2] = np.eye(4)[rng.choice([0, 2, 3], 15)]  # deterministic, never action 1
    states, actions = sample_trajectories(env, pis, 200, 30, seed=4)
    assert not (actions == 1).any()
    tau = env.transitions
    s, a, t = states[:, :, :-1], actions, states[:, :, 1:]
    assert (tau[s, a, t] > 0).all()
    assert (pis[np.arange(3)[:, None, None], s, a] > 0).all()


def test_initial_state_and_step_frequencies() -> None:
    env = _env(5, S=6, A=2, k=3)
    pi = random_policies(np.random.default_rng(6), 1, 6, 2)[0]
    M = 200_000
    states, actions = sample_trajectories(env, pi, M, 1, seed=7)
    first = np.bincount(states[:, 0], minlength=6) / M
    # 6 standard errors: a fixed seed makes this deterministic, the margin makes it meaningful
    assert np.abs(first - env.initial).max() <= 6 * np.sqrt(0.25 / M)
    joint = np.zeros((6, 2, 6))
    np.add.at(joint, (states[:, 0], actions[:, 0], states[:, 1]), 1.0)
    expected = env.initial[:, None, None] * pi[:, :, None] * env.transitions
    assert np.abs(joint / M - expected).max() <= 6 * np.sqrt(0.25 / M)


def test_monte_carlo_returns_match_values() -> None:
    env = _env(8, S=10, A=2, k=3)
    pis = random_policies(np.random.default_rng(9), 2, 10, 2)
    R = np.random.default_rng(10).random((10, 2))
    gamma, H, M = 0.8, 80, 20_000  # gamma^H < 1e-7
    traj = sample_trajectories(env, pis, M, H, seed=11)
    returns = discounted_returns(env, traj, R, gamma)
    assert returns.shape == (2, M)
    exact = evaluate(env, pis, R, gamma).returns
    stderr = returns.std(axis=1) / np.sqrt(M)
    assert (np.abs(returns.mean(axis=1) - exact) <= 6 * stderr).all()


def test_initial_override_and_transition_rewards() -> None:
    P = np.zeros((3, 1, 3))
    P[0, 0, 1] = P[1, 0, 2] = P[2, 0, 0] = 1.0
    env = FiniteMDP(P, [1.0, 0.0, 0.0])
    traj = sample_trajectories(env, Policy(np.ones((3, 1))), 2, 4, initial=[0, 0, 1.0], seed=0)
    assert traj.states.tolist() == [[2, 0, 1, 2, 0]] * 2
    R = np.zeros((3, 1, 3))
    R[2, 0, 0] = 1.0
    assert discounted_returns(env, traj, R, 0.5).tolist() == [1.0 + 0.125] * 2


def test_large_sparse_model_is_sampled_without_dense_tensor() -> None:
    rng = np.random.default_rng(12)
    env = random_sparse_mdp(rng, 3000, 4, 5)
    pis = random_policies(rng, 8, 3000, 4)
    states, actions = sample_trajectories(env, pis, 64, 50, seed=13)
    P = env.transition_matrix
    rows = (states[:, :, :-1] * 4 + actions).ravel()
    nxt = states[:, :, 1:].ravel()
    assert (np.asarray(P[rows, nxt]).ravel() > 0).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_trajectories": 0}, InvalidSpecificationError, "n_trajectories = 0"),
        ({"n_trajectories": 2.5}, InvalidSpecificationError, "n_trajectories = 2.5"),
        ({"horizon": -1}, InvalidSpecificationError, "horizon = -1"),
        ({"horizon": True}, InvalidSpecificationError, "horizon = True"),
        ({"initial": [0.5, 0.5]}, InvalidModelError, "initial must be shaped [S] = [12]"),
        ({"initial": [0.5] * 12}, InvalidModelError, "initial sums to 6"),
        ({"initial": [-1.0] + [2 / 11] * 11}, InvalidModelError, "initial[0] = -1.0"),
    ],
)
def test_bad_arguments_raise(kwargs: dict, error: type, message: str) -> None:
    args = {"n_trajectories": 2, "horizon": 3, **kwargs}
    with pytest.raises(error) as info:
        sample_trajectories(_env(), Policy.uniform(12, 3), seed=0, **args)
    assert message in str(info.value)


def test_bad_policy_raises() -> None:
    with pytest.raises(InvalidPolicyError, match="environment has 12 states"):
        sample_trajectories(_env(), Policy.uniform(3, 3), 1, 1)
    with pytest.raises(InvalidSpecificationError, match="one reward"):
        env = _env()
        discounted_returns(
            env, sample_trajectories(env, Policy.uniform(12, 3), 1, 2), np.zeros((2, 12)), 0.5
        )
