"""Batched policy evaluation: identities, exactness, certified bounds, solver agreement."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from hypothesis import given
from hypothesis import strategies as st
from test_mdp_strategies import (
    random_policies,
    random_sparse_mdp,
    rational_mdps,
    rational_policies,
    rational_rewards,
)

from objspec import FiniteMDP, Policy
from objspec.mdp import (
    discounted_values,
    evaluate,
    expected_return,
    induced_chain,
    occupancy_measure,
    policy_rewards,
    state_action_occupancy,
    state_visitation,
)
from objspec.mdp.exact import (
    exact_expected_return,
    exact_occupancy_measure,
    exact_state_visitation,
    exact_values,
)
from objspec.mdp.linear import certify, induced_chain_sparse, solve_policy_systems

GAMMAS = st.sampled_from([Fraction(0), Fraction(1, 2), Fraction(9, 10), Fraction(99, 100)])


@given(st.data(), GAMMAS)
def test_exact_equals_float_and_bound_holds(data: st.DataObject, gamma: Fraction) -> None:
    env = data.draw(rational_mdps())
    pi = data.draw(rational_policies(env))
    R = data.draw(rational_rewards(env))
    exact = exact_values(env, pi, R, gamma).astype(np.float64)
    scale = max(1.0, np.abs(exact).max())
    direct = evaluate(env, pi, R.astype(np.float64), float(gamma))  # auto: direct for small S
    assert direct.method == "direct"
    assert np.abs(direct.values - exact).max() <= 1e-12 * scale
    assert np.abs(direct.values - exact).max() <= direct.error_bound + 1e-15 * scale
    # the iterative solver stops at its certified bound (never below float64's resolution)
    krylov = evaluate(env, pi, R.astype(np.float64), float(gamma), method="krylov", tol=1e-14)
    assert np.abs(krylov.values - exact).max() <= krylov.error_bound + 1e-15 * scale
    assert krylov.error_bound <= 1e-9 * scale
    ret = float(exact_expected_return(env, pi, R, gamma))
    assert expected_return(env, pi, R.astype(np.float64), float(gamma)) == pytest.approx(
        ret, abs=1e-12 * max(1.0, abs(ret))
    )


@given(st.data(), GAMMAS)
def test_bellman_identity(data: st.DataObject, gamma: Fraction) -> None:
    env = data.draw(rational_mdps())
    pis = [data.draw(rational_policies(env)) for _ in range(3)]
    R = data.draw(rational_rewards(env)).astype(np.float64)
    g = float(gamma)
    V = discounted_values(env, pis, R, g)  # [3, S]
    r_pi = policy_rewards(env, pis, R)
    chains = induced_chain(env, pis)
    rhs = r_pi + g * np.einsum("nst,nt->ns", chains, V)
    assert np.allclose(V, rhs, atol=1e-11 * max(1.0, np.abs(V).max()))


@given(st.data(), GAMMAS)
def test_occupancy_inner_product_is_the_return(data: st.DataObject, gamma: Fraction) -> None:
    env = data.draw(rational_mdps())
    pi = data.draw(rational_policies(env))
    g = float(gamma)
    m = occupancy_measure(env, pi, g)
    assert m.sum() == pytest.approx(1 / (1 - g), rel=1e-12)
    assert (m >= 0).all()
    for kind in (1, 2, 3):
        R = data.draw(rational_rewards(env, kind=kind)).astype(np.float64)
        full = np.broadcast_to(
            R.reshape(R.shape + (1,) * (3 - R.ndim)), (env.n_states, env.n_actions, env.n_states)
        )
        J = expected_return(env, pi, R, g)
        assert float((full * m).sum()) == pytest.approx(float(J), abs=1e-11 / (1 - g))


@given(st.data())
def test_exact_visitation_and_occupancy_equal_float(data: st.DataObject) -> None:
    env = data.draw(rational_mdps())
    pi = data.draw(rational_policies(env))
    gamma = Fraction(9, 10)
    d = exact_state_visitation(env, pi, gamma).astype(np.float64)
    assert np.abs(state_visitation(env, pi, 0.9) - d).max() <= 1e-12
    m = exact_occupancy_measure(env, pi, gamma).astype(np.float64)
    assert np.abs(occupancy_measure(env, pi, 0.9) - m).max() <= 1e-12
    sa = state_action_occupancy(env, pi, 0.9)
    assert np.allclose(sa, m.sum(axis=2), atol=1e-12)


def test_shapes_follow_inputs() -> None:
    rng = np.random.default_rng(1)
    env = random_sparse_mdp(rng, 6, 3, 2, sparse=False)
    pis = random_policies(rng, 4, 6, 3)
    R = rng.normal(size=(5, 6, 3))
    assert discounted_values(env, pis, R, 0.9).shape == (4, 5, 6)
    assert discounted_values(env, pis[0], R, 0.9).shape == (5, 6)
    assert discounted_values(env, pis, R[0], 0.9).shape == (4, 6)
    assert discounted_values(env, Policy(pis[0]), R[0], 0.9).shape == (6,)
    assert expected_return(env, pis, R, 0.9).shape == (4, 5)
    assert state_visitation(env, pis, 0.9).shape == (4, 6)
    assert occupancy_measure(env, pis, 0.9).shape == (4, 6, 3, 6)
    batched = discounted_values(env, pis, R, 0.9)
    for n in range(4):
        for k in range(5):
            single = discounted_values(env, Policy(pis[n]), R[k], 0.9)
            assert np.allclose(batched[n, k], single, atol=1e-12)


@pytest.mark.parametrize("deterministic", [False, True])
@pytest.mark.parametrize("gamma", [0.5, 0.99, 0.999])
def test_krylov_matches_direct_on_sparse_models(deterministic: bool, gamma: float) -> None:
    rng = np.random.default_rng(int(gamma * 1000) + deterministic)
    S, A = 60, 3
    env = random_sparse_mdp(rng, S, A, 3)
    pis = random_policies(rng, 8, S, A, deterministic=deterministic)
    R = rng.normal(size=(2, S, A))
    direct = evaluate(env, pis, R, gamma, method="direct", tol=1e-13)
    krylov = evaluate(env, pis, R, gamma, method="krylov", tol=1e-10)
    err = np.abs(direct.values - krylov.values).max()
    assert err <= krylov.error_bound + direct.error_bound
    assert krylov.error_bound <= 1e-10 * np.abs(R).max() / (1 - gamma) * 10
    d_direct = state_visitation(env, pis, gamma, method="direct", tol=1e-13)
    d_krylov = state_visitation(env, pis, gamma, method="krylov", tol=1e-10)
    assert np.abs(d_direct - d_krylov).sum(axis=1).max() <= 1e-10 / (1 - gamma) * 10


def test_slowly_mixing_chains_are_handed_to_bicgstab() -> None:
    # deterministic cycles mix not at all: extrapolated Richardson stalls, BiCGSTAB finishes
    S = 150
    P = np.zeros((S, 2, S))
    P[np.arange(S), 0, (np.arange(S) + 1) % S] = 1.0
    P[np.arange(S), 1, np.arange(S)] = 1.0
    env = FiniteMDP(P, np.full(S, 1 / S))
    rng = np.random.default_rng(3)
    pis = random_policies(rng, 6, S, 2, deterministic=True)
    pis[0, :, :] = [1.0, 0.0]  # one big cycle: periodic
    R = rng.normal(size=S)
    direct = evaluate(env, pis, R, 0.99, method="direct", tol=1e-13)
    krylov = evaluate(env, pis, R, 0.99, method="krylov", tol=1e-11)
    assert np.abs(direct.values - krylov.values).max() <= krylov.error_bound + 1e-12
    assert krylov.error_bound < 1e-7
    d_direct = state_visitation(env, pis, 0.99, method="direct", tol=1e-13)
    d_krylov = state_visitation(env, pis, 0.99, method="krylov", tol=1e-11)
    assert np.abs(d_direct - d_krylov).sum(axis=1).max() <= 1e-8


def test_large_sparse_evaluation_is_certified_against_sparse_lu() -> None:
    rng = np.random.default_rng(7)
    S, A = 600, 4
    env = random_sparse_mdp(rng, S, A, 5)
    pis = random_policies(rng, 32, S, A)
    R = rng.random((S, A))
    result = evaluate(env, pis, R, 0.99, tol=1e-10)
    assert result.method == "krylov"
    for n in (0, 17, 31):
        system = sp.identity(S, format="csc") - 0.99 * induced_chain_sparse(env, pis[n]).tocsc()
        exact = spla.spsolve(system, (pis[n] * R).sum(axis=1))
        assert np.abs(result.values[n] - exact).max() <= result.error_bound + 1e-12


@given(st.data())
def test_certify_bounds_any_approximation(data: st.DataObject) -> None:
    env = data.draw(rational_mdps())
    pi = data.draw(rational_policies(env))
    R = data.draw(rational_rewards(env, kind=1)).astype(np.float64)
    gamma = 0.9
    exact = exact_values(env, pi, R, Fraction(9, 10)).astype(np.float64)
    noise = data.draw(st.lists(st.floats(-1, 1), min_size=env.n_states, max_size=env.n_states))
    x = (exact + np.array(noise))[None, :, None]
    rhs = R[None, :, None]  # a state reward is its own policy reward
    mid, bound = certify(env, pi.probabilities[None], rhs, x, gamma, transpose=False)
    assert np.abs(mid[0, :, 0] - exact).max() <= bound[0, 0] + 1e-12


def test_transposed_solution_is_a_distribution_scaled() -> None:
    rng = np.random.default_rng(11)
    env = random_sparse_mdp(rng, 400, 2, 3)
    pis = random_policies(rng, 5, 400, 2)
    sol = solve_policy_systems(
        env, pis, env.initial[None, :, None], 0.95, transpose=True, tol=1e-12
    )
    assert np.allclose(sol.x.sum(axis=1), 1 / 0.05, rtol=1e-9)
    assert (sol.error_bound < 1e-8).all()


def test_batched_overrides_the_shape_rule_when_it_is_ambiguous() -> None:
    """``K`` stacked ``[S, A]`` rewards with ``K == S == A`` read as one ``[S, A, S]``
    reward by the shape rule; ``batched=True`` reads them as the batch they are."""
    from objspec.mdp import optimal_values
    from objspec.mdp.evaluation import expected_return

    P = np.zeros((2, 2, 2))
    P[:, 0, 0] = 1.0
    P[:, 1, 1] = 1.0
    env = FiniteMDP(P, [1.0, 0.0])
    R = np.stack([np.eye(2), -np.eye(2)])  # [K=2, S=2, A=2]
    pi = np.array([[1.0, 0.0], [1.0, 0.0]])
    assert np.shape(expected_return(env, pi, R, 0.5)) == ()
    assert np.shape(expected_return(env, pi, R, 0.5, batched=True)) == (2,)
    sol = optimal_values(env, R, 0.5, batched=True)
    assert sol.policies.tolist() == [[0, 1], [1, 0]]
