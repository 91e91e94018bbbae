"""Optimal control: certified values and policies, against brute force and peer tools."""

from __future__ import annotations

import itertools
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_mdp_strategies import random_sparse_mdp, rational_mdps, rational_rewards

from objspec import FiniteMDP, Policy
from objspec.errors import InvalidSpecificationError
from objspec.mdp import discounted_values, optimal_values
from objspec.mdp.exact import exact_values

METHODS = ("value_iteration", "policy_iteration", "auto")


def _all_deterministic(env: FiniteMDP) -> np.ndarray:
    eye = np.eye(env.n_actions)
    return np.array(
        [eye[list(acts)] for acts in itertools.product(range(env.n_actions), repeat=env.n_states)]
    )


@given(st.data(), st.sampled_from([Fraction(1, 2), Fraction(9, 10), Fraction(99, 100)]))
def test_matches_brute_force_over_deterministic_policies(
    data: st.DataObject, gamma: Fraction
) -> None:
    env = data.draw(rational_mdps(max_states=4, max_actions=3))
    R = data.draw(rational_rewards(env))
    g = float(gamma)
    Rf = R.astype(np.float64)
    best = discounted_values(env, _all_deterministic(env), Rf, g, tol=1e-14).max(axis=0)
    rounding = 1e-13 * max(1.0, np.abs(best).max())  # of the float brute force
    for method in METHODS:
        sol = optimal_values(env, Rf, g, tol=1e-9, method=method)
        assert sol.error_bound <= 1e-9
        assert np.abs(sol.values - best).max() <= sol.error_bound + rounding
        exact_pi = exact_values(env, Policy.deterministic(sol.policies, env.n_actions), R, gamma)
        loss = best - exact_pi.astype(np.float64)
        assert loss.max() <= sol.policy_error_bound + rounding
        if sol.optimal_certified:
            assert np.abs(loss).max() <= rounding


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("gamma", [0.9, 0.99])
def test_batched_rewards_equal_single_solves(method: str, gamma: float) -> None:
    rng = np.random.default_rng(5)
    S, A = 80, 3
    env = random_sparse_mdp(rng, S, A, 4)
    R = rng.normal(size=(6, S, A))
    sol = optimal_values(env, R, gamma, method=method)  # type: ignore[arg-type]
    assert sol.values.shape == sol.policies.shape == (6, S)
    assert sol.error_bounds.shape == (6,) and sol.error_bound <= 1e-8
    for k in (0, 3, 5):
        single = optimal_values(env, R[k], gamma, method=method)  # type: ignore[arg-type]
        assert single.values.shape == (S,)
        assert np.abs(single.values - sol.values[k]).max() <= single.error_bound + sol.error_bound
    # the returned policies achieve the values, within the policy bound
    pis = np.eye(A)[sol.policies]
    achieved = discounted_values(env, pis, R, gamma, tol=1e-13)[np.arange(6), np.arange(6)]
    assert (sol.values - achieved).max() <= sol.policy_error_bound


def test_state_and_transition_rewards() -> None:
    rng = np.random.default_rng(9)
    env = random_sparse_mdp(rng, 30, 2, 3, sparse=False)
    R3 = rng.normal(size=(30, 2, 30))
    expected = (env.transitions * R3).sum(axis=2)
    a = optimal_values(env, R3, 0.9)
    b = optimal_values(env, expected, 0.9)
    assert np.abs(a.values - b.values).max() <= a.error_bound + b.error_bound
    R1 = rng.normal(size=30)
    c = optimal_values(env, R1, 0.9)
    d = optimal_values(env, np.repeat(R1[:, None], 2, axis=1), 0.9)
    assert np.abs(c.values - d.values).max() <= c.error_bound + d.error_bound


def test_policy_iteration_on_slowly_mixing_model() -> None:
    # a long corridor: value iteration's span contracts like gamma, "auto" switches to PI
    S = 60
    P = np.zeros((S, 2, S))
    P[np.arange(S), 0, np.maximum(np.arange(S) - 1, 0)] = 1.0
    P[np.arange(S), 1, np.minimum(np.arange(S) + 1, S - 1)] = 1.0
    env = FiniteMDP(P, np.eye(S)[0])
    R = np.zeros(S)
    R[-1] = 1.0
    sol = optimal_values(env, R, 0.999, vi_sweeps=50)
    assert "policy_iteration" in sol.method
    assert (sol.policies[:-1] == 1).all()
    expected = 0.999 ** (S - 1 - np.arange(S)) / (1 - 0.999)
    assert np.abs(sol.values - expected).max() <= sol.error_bound + 1e-9
    assert sol.optimal_certified


def test_auto_probe_leaves_slow_value_iteration_for_sparse_policy_iteration() -> None:
    # a corridor of more than SMALL_STATES states: after PROBE_SWEEPS sweeps the bound's
    # contraction predicts many more, so "auto" finishes by policy iteration with sparse
    # LU evaluations; the values agree with the closed form and with value iteration
    from objspec.mdp import control

    S = control.SMALL_STATES + 100
    assert S > control.DENSE_SOLVE_STATES
    P = np.zeros((S, 2, S))
    P[np.arange(S), 0, np.maximum(np.arange(S) - 1, 0)] = 1.0
    P[np.arange(S), 1, np.minimum(np.arange(S) + 1, S - 1)] = 1.0
    env = FiniteMDP(P, np.eye(S)[0])
    R = np.zeros(S)
    R[-1] = 1.0
    sol = optimal_values(env, R, 0.99)
    assert sol.method == "value_iteration+policy_iteration"
    expected = 0.99 ** (S - 1 - np.arange(S)) / (1 - 0.99)
    assert np.abs(sol.values - expected).max() <= sol.error_bound
    assert sol.error_bound <= 1e-8 and sol.optimal_certified
    vi = optimal_values(env, R, 0.99, method="value_iteration", max_iter=20_000)
    assert np.abs(sol.values - vi.values).max() <= sol.error_bound + vi.error_bound


@given(st.data(), st.sampled_from([Fraction(1, 2), Fraction(9, 10)]))
def test_sparse_lu_evaluations_match_exact_policy_iteration(
    data: st.DataObject, gamma: Fraction
) -> None:
    # policy iteration with the sparse LU evaluation forced (DENSE_SOLVE_STATES = 0) and
    # with the dense one: both within their certified bound of the exact optimum
    from objspec.mdp import control
    from objspec.mdp.exact_control import exact_policy_iteration

    env = data.draw(rational_mdps(max_states=5, max_actions=3))
    R = data.draw(rational_rewards(env))
    exact = exact_policy_iteration(env, R, gamma)
    want = np.array([float(v) for v in exact.values])
    saved = control.DENSE_SOLVE_STATES
    try:
        for dense_states in (0, saved):
            control.DENSE_SOLVE_STATES = dense_states
            sol = optimal_values(env, R.astype(np.float64), float(gamma),
                                 method="policy_iteration")
            assert np.abs(sol.values - want).max() <= sol.error_bound + 1e-12
    finally:
        control.DENSE_SOLVE_STATES = saved


def test_ties_are_not_certified_but_policies_remain_optimal() -> None:
    P = np.zeros((2, 2, 2))
    P[:, :, 1] = 1.0  # both actions identical
    env = FiniteMDP(P, [1.0, 0.0])
    sol = optimal_values(env, [0.0, 1.0], 0.5)
    assert not sol.optimal_certified
    assert np.allclose(sol.values, [1.0, 2.0], atol=1e-8)


def test_unreachable_tolerance_raises_clearly() -> None:
    rng = np.random.default_rng(2)
    env = random_sparse_mdp(rng, 10, 2, 3)
    with pytest.raises(InvalidSpecificationError, match="rounding of float64"):
        optimal_values(env, rng.random((10, 2)) * 100, 0.99, tol=1e-15)
    with pytest.raises(InvalidSpecificationError, match="within max_iter = 2"):
        optimal_values(
            env, rng.random((10, 2)), 0.99, tol=1e-12, method="value_iteration", max_iter=2
        )


# ------------------------------------------------------------------------ peer tools
def _mdp_with_unique_optimum(seed: int, S: int = 40, A: int = 3) -> tuple[FiniteMDP, np.ndarray]:
    rng = np.random.default_rng(seed)
    env = random_sparse_mdp(rng, S, A, 4, sparse=False)
    return env, rng.random((S, A))


@pytest.mark.parametrize("seed", range(3))
def test_pymdptoolbox_policy_iteration_values(seed: int) -> None:
    mdptoolbox = pytest.importorskip("mdptoolbox.mdp")
    env, R = _mdp_with_unique_optimum(seed)
    ours = optimal_values(env, R, 0.95, tol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pi = mdptoolbox.PolicyIteration(env.transitions.transpose(1, 0, 2), R, 0.95)
        pi.run()
    assert np.abs(np.array(pi.V) - ours.values).max() <= 1e-8
    assert ours.optimal_certified
    assert np.array_equal(np.array(pi.policy), ours.policies)


@pytest.mark.parametrize("seed", range(3))
def test_pymdptoolbox_value_iteration_policies(seed: int) -> None:
    mdptoolbox = pytest.importorskip("mdptoolbox.mdp")
    env, R = _mdp_with_unique_optimum(10 + seed)
    ours = optimal_values(env, R, 0.9, tol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vi = mdptoolbox.ValueIteration(env.transitions.transpose(1, 0, 2), R, 0.9, epsilon=1e-6)
        vi.run()
    # its values are loose by design; its policy is exact here, where the optimum is unique
    assert ours.optimal_certified
    assert np.array_equal(np.array(vi.policy), ours.policies)
    theirs = discounted_values(env, Policy.deterministic(np.array(vi.policy), 3), R, 0.9)
    assert np.abs(theirs - ours.values).max() <= ours.error_bound + 1e-10


@pytest.mark.parametrize("seed", range(2))
def test_mdpsolver_values_and_policies(seed: int) -> None:
    mdpsolver = pytest.importorskip("mdpsolver")
    rng = np.random.default_rng(20 + seed)
    S, A = 60, 3
    env = random_sparse_mdp(rng, S, A, 4)
    R = rng.random((S, A))
    ours = optimal_values(env, R, 0.99, tol=1e-10)
    P = env.transition_matrix
    model = mdpsolver.model()
    model.mdp(
        discount=0.99,
        rewards=R.tolist(),
        tranMatProbs=[[P[s * A + a].data.tolist() for a in range(A)] for s in range(S)],
        tranMatColumns=[[P[s * A + a].indices.tolist() for a in range(A)] for s in range(S)],
    )
    model.solve(tolerance=1e-10, verbose=False)
    values = np.array(model.getValueVector())
    # mdpsolver's tolerance is its own stopping threshold; 1e-10 leaves values within ~1e-8
    assert np.abs(values - ours.values).max() <= 1e-7
    assert ours.optimal_certified
    assert np.array_equal(np.array(model.getPolicy()), ours.policies)
