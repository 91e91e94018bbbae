"""Cross-checks against Storm (stormpy 2.0.0): discounted and long-run average rewards.

Models are built from arrays (no PRISM text). Storm's solver precision is tightened to
``1e-12`` (relative, its min-max solver environment, which also drives discounted DTMC
queries), so agreement to ``1e-9`` is well inside both tools' error.

Long-run averages: stormpy 2.0 exposes no precision for the linear equations of Storm's
steady-state computation (neither the native/min-max precision nor the choice of gmm++ or
Eigen tightens it: answers measured here are off by up to ``2e-7``). LRA comparisons with
Storm therefore use Storm's documented default precision, ``1e-6`` relative, and a second,
independent oracle (the lazy chain ``(I + P)/2`` powered by repeated squaring) checks
objspec to ``1e-12``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from test_mdp_strategies import random_policies, random_sparse_mdp

from objspec import FiniteMDP, Policy
from objspec.mdp import discounted_values, optimal_values
from objspec.mdp.linear import induced_chain_sparse
from objspec.mdp.longrun import long_run_average_values

stormpy = pytest.importorskip("stormpy")

PRECISION = "1/1000000000000"


def _environment() -> Any:
    env = stormpy.Environment()
    env.solver().min_max().precision = stormpy.Rational(PRECISION)
    env.solver().native().precision = stormpy.Rational(PRECISION)
    return env


def _labeling(n: int) -> Any:
    import stormpy.models as m

    lab = m.StateLabeling(n)
    lab.add_label("init")
    lab.add_label_to_state("init", 0)
    return lab


def _storm_dtmc(chain: sp.csr_matrix, state_reward: np.ndarray) -> Any:
    import stormpy.datastructures as d
    import stormpy.models as m

    coo = sp.coo_matrix(chain)
    n = chain.shape[0]
    b = d.SparseMatrixBuilder[float](n, n, coo.nnz, True, False, 0)
    order = np.lexsort((coo.col, coo.row))
    b.add_next_values(coo.row[order].tolist(), coo.col[order].tolist(), coo.data[order].tolist())
    reward = m.SparseRewardModel[float](optional_state_reward_vector=state_reward.tolist())
    comp = m.SparseModelComponents[float](
        transition_matrix=b.build(), state_labeling=_labeling(n), reward_models={"r": reward}
    )
    return m.SparseDtmc[float](comp)


def _storm_mdp(env: FiniteMDP, r_sa: np.ndarray) -> Any:
    import stormpy.datastructures as d
    import stormpy.models as m

    S, A = env.n_states, env.n_actions
    coo = env.transition_matrix.tocoo()
    b = d.SparseMatrixBuilder[float](S * A, S, coo.nnz, True, True, S)
    b.add_next_values(
        coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), list(range(0, S * A, A))
    )
    reward = m.SparseRewardModel[float](optional_state_action_reward_vector=r_sa.ravel().tolist())
    comp = m.SparseModelComponents[float](
        transition_matrix=b.build(), state_labeling=_labeling(S), reward_models={"r": reward}
    )
    return m.SparseMdp[float](comp)


def _check(model: Any, formula: str) -> np.ndarray:
    prop = stormpy.parse_properties(formula)[0]
    result = stormpy.model_checking(
        model, prop, only_initial_states=False, environment=_environment()
    )
    return np.array(list(result.get_value_vector()))


@pytest.mark.parametrize("seed", range(3))
def test_discounted_reward_of_dtmcs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    S, A = 200, 3
    env = random_sparse_mdp(rng, S, A, 4)
    pis = random_policies(rng, 3, S, A, deterministic=seed == 1)
    R = rng.normal(size=(S, A))
    ours = discounted_values(env, pis, R, 0.99, tol=1e-12)
    for n in range(3):
        chain = induced_chain_sparse(env, pis[n])
        storm = _check(_storm_dtmc(chain, (pis[n] * R).sum(axis=1)), 'R{"r"}=? [ Cdiscount=0.99 ]')
        assert np.abs(storm - ours[n]).max() <= 1e-9 * max(1.0, np.abs(ours[n]).max())


def _multi_class_chain(rng: np.random.Generator, S: int) -> sp.csr_matrix:
    """Transient states feeding three closed classes, one of them periodic."""
    P = np.zeros((S, S))
    a, b = S // 4, S // 2
    P[a, a + 1 : a + 3] = 0.5  # not a class itself: its successors lie in class 1
    for s in range(a + 1, b):  # class 1: random irreducible block (a ring plus shortcuts)
        P[s, a + 1 + (s - a) % (b - a - 1)] = 0.5
        P[s, rng.integers(a + 1, b)] += 0.5
    for s in range(b, b + 4):  # class 2: a deterministic 4-cycle (periodic)
        P[s, b + (s - b + 1) % 4] = 1.0
    for s in range(b + 4, S):  # class 3: a random dense block
        P[s, b + 4 :] = rng.dirichlet(np.ones(S - b - 4))
    for s in range(a):  # transient: jump forward at random
        targets = rng.choice(np.arange(s + 1, S), 3, replace=False)
        P[s, targets] = rng.dirichlet(np.ones(3))
    return sp.csr_matrix(P)


@pytest.mark.parametrize("seed", range(3))
def test_long_run_average_of_dtmcs(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    S = 40
    chain = _multi_class_chain(rng, S)
    r = rng.normal(size=S)
    env = FiniteMDP(sp.csr_matrix(chain), np.full(S, 1 / S))
    ours = long_run_average_values(env, Policy(np.ones((S, 1))), r)
    storm = _check(_storm_dtmc(chain, r), 'R{"r"}=? [ LRA ]')
    assert np.abs(storm - ours).max() <= 1e-6 * max(1.0, np.abs(ours).max())
    assert np.abs(_powered_lazy_chain(chain) @ r - ours).max() <= 1e-12 * max(1.0, np.abs(r).max())


def _powered_lazy_chain(chain: sp.csr_matrix) -> np.ndarray:
    """``((I + P)/2)^(2^40)``: the Cesaro limit of ``P`` up to rounding (same classes and
    stationary distributions, aperiodic); rows are renormalised against rounding drift."""
    n = chain.shape[0]
    L = 0.5 * (np.eye(n) + chain.toarray())
    for _ in range(40):
        L = L @ L
        L /= L.sum(axis=1, keepdims=True)
    return L


def test_long_run_average_of_policies_on_random_mdp() -> None:
    rng = np.random.default_rng(7)
    S, A = 150, 2
    env = random_sparse_mdp(rng, S, A, 2)
    pis = random_policies(rng, 2, S, A, deterministic=True)
    R = rng.normal(size=(S, A))
    ours = long_run_average_values(env, pis, R)
    for n in range(2):
        chain = induced_chain_sparse(env, pis[n])
        r_pi = (pis[n] * R).sum(axis=1)
        storm = _check(_storm_dtmc(chain, r_pi), 'R{"r"}=? [ LRA ]')
        assert np.abs(storm - ours[n]).max() <= 1e-6 * max(1.0, np.abs(ours[n]).max())
        assert np.abs(_powered_lazy_chain(chain) @ r_pi - ours[n]).max() <= 1e-12


@pytest.mark.parametrize("seed", range(2))
def test_optimal_discounted_values_of_mdps(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    S, A = 150, 3
    env = random_sparse_mdp(rng, S, A, 4)
    R = rng.normal(size=(S, A))
    ours = optimal_values(env, R, 0.95, tol=1e-10)
    storm = _check(_storm_mdp(env, R), 'R{"r"}max=? [ Cdiscount=0.95 ]')
    assert np.abs(storm - ours.values).max() <= 1e-9 * max(1.0, np.abs(ours.values).max())
