"""Reachability under a policy, and policies made canonical off the reached states."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from objspec import FiniteMDP, Policy
from objspec.environments import random_mdp, random_policies
from objspec.formalisms import GOMORL, OMO
from objspec.mdp.reachability import canonical_policies, reachable_states
from objspec.orders import lexicographic


def _reference(env: FiniteMDP, pi: np.ndarray) -> np.ndarray:
    """Depth-first search over positive-probability transitions, one policy at a time."""
    seen = set(np.flatnonzero(env.initial > 0).tolist())
    stack = list(seen)
    while stack:
        s = stack.pop()
        for a in np.flatnonzero(pi[s] > 0):
            for t in np.flatnonzero(env.transitions[s, a] > 0):
                if int(t) not in seen:
                    seen.add(int(t))
                    stack.append(int(t))
    return np.isin(np.arange(env.n_states), sorted(seen))


@settings(max_examples=30)
@given(st.integers(0, 10_000), st.integers(1, 9), st.integers(1, 3))
def test_batched_reachability_matches_a_search(seed: int, n_states: int, n_actions: int) -> None:
    env = random_mdp(n_states, n_actions, min(2, n_states), seed=seed, initial="first")
    pi = random_policies(env, 12, seed=seed, deterministic_fraction=0.75)
    reach = reachable_states(env, pi)
    for n in range(len(pi)):
        assert reach[n].tolist() == _reference(env, pi[n]).tolist()


def test_canonical_policies_agree_exactly_when_lotteries_agree() -> None:
    rng = np.random.default_rng(3)
    env = random_mdp(12, 3, 2, seed=3, initial="first")
    pi = random_policies(env, 20, seed=4, deterministic_fraction=0.8)
    reach = reachable_states(env, pi)
    other = np.where(reach[:, :, None], pi, rng.dirichlet(np.ones(3), size=(20, 12)))
    assert np.array_equal(canonical_policies(env, pi), canonical_policies(env, other))
    assert np.array_equal(canonical_policies(env, pi)[reach], pi[reach])


@pytest.mark.parametrize("n_states", [20, 80])  # dense LU and iterative solver paths
def test_float_orderings_tie_policies_that_differ_only_off_their_reached_states(
    n_states: int,
) -> None:
    """Without canonical policies these pairs differ by 1e-15 .. 1e-12 through rounding,
    and a tolerance-free lexicographic order would rank them strictly."""
    checked = 0
    for seed in range(8):
        rng = np.random.default_rng(seed)
        env = random_mdp(n_states, 3, 2, seed=seed, initial="first")
        pi = random_policies(env, 1, seed=seed, deterministic_fraction=1.0)[0]
        pi[0] = [0.3, 0.7, 0.0]
        reach = reachable_states(env, pi)
        if reach.all():
            continue
        checked += 1
        other = pi.copy()
        other[~reach] = rng.dirichlet(np.ones(3), size=int((~reach).sum()))
        rewards = rng.random((2, n_states, 3))
        gomorl = GOMORL(rewards, lexicographic(), 0.9).compile(env)
        assert gomorl.compare(Policy(pi), Policy(other)) == 0
        assert OMO(lexicographic(), 0.9).compile(env).compare(Policy(pi), Policy(other)) == 0
    assert checked >= 4
