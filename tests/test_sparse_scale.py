"""Scale without densifying: memory O(non-zeros) for generators, rewards, long-run averages
and the gymnasium import, and agreement of the compact paths with dense references."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from objspec import FiniteMDP
from objspec.environments import import_gymnasium, random_mdp
from objspec.errors import ObjspecError
from objspec.formalisms import (
    GeneralisedOuterMORL,
    LimitAverageReward,
    MarkovReward,
    OuterMORL,
    OuterNonlinearMarkovReward,
    RegularisedRL,
)
from objspec.formalisms.regularisers import negative_entropy
from objspec.mdp import evaluate, longrun, reachability
from objspec.mdp.linear import induced_chain_sparse
from objspec.mdp.longrun import long_run_average, long_run_average_values
from objspec.orders import lexicographic


def peak_bytes(fn: Callable[[], Any]) -> tuple[int, Any]:
    tracemalloc.start()
    try:
        out = fn()
        return tracemalloc.get_traced_memory()[1], out
    finally:
        tracemalloc.stop()


def test_random_mdp_at_200k_states_is_built_in_o_nonzeros_memory() -> None:
    random_mdp(10, 2, 2, seed=0)  # warm up lazy imports outside the measurement
    peak, env = peak_bytes(lambda: random_mdp(200_000, 2, 3, seed=0))
    assert env.n_states == 200_000 and env.transition_matrix.nnz == 1_200_000
    # the dense draw needed 596 GiB; the non-zeros take ~20 MB
    assert peak < 200e6
    rows = env.transition_matrix[:1000].toarray()
    assert np.all((rows > 0).sum(axis=1) == 3)


def test_large_random_mdp_has_distinct_uniformly_spread_successors() -> None:
    env = random_mdp(5000, 4, 3, seed=1)  # 10^8 pairs: Floyd's draw
    m = env.transition_matrix
    assert np.all(np.diff(m.indptr) == 3)
    counts = np.bincount(m.indices, minlength=5000)
    assert counts.min() > 0 and counts.max() < 40  # mean 12


def _specs(S: int, A: int, rng: np.random.Generator) -> list[Any]:
    r_s = rng.random(S)
    return [
        LimitAverageReward(r_s),
        OuterNonlinearMarkovReward(r_s, lambda x: -((x - 1.0) ** 2), 0.9),
        RegularisedRL(rng.random((S, A)), negative_entropy, 0.1, 0.9),
        OuterMORL(np.stack([r_s, 1.0 - r_s]), lambda v: min(v), 0.9),
    ]


@pytest.mark.parametrize("which", range(4))
def test_reward_formalisms_on_a_sparse_model_never_build_s_a_s(which: int) -> None:
    S, A = 5000, 2
    env = random_mdp(S, A, 3, seed=2)
    spec = _specs(S, A, np.random.default_rng(3))[which]
    policy = np.full((S, A), 1.0 / A)
    peak, value = peak_bytes(lambda: spec.compile(env).value(policy))
    dense_bytes = 8 * S * A * S  # 400 MB
    assert peak < dense_bytes / 10
    assert np.isfinite(value)


def test_gomorl_on_a_sparse_model_never_builds_s_a_s() -> None:
    S, A = 5000, 2
    env = random_mdp(S, A, 3, seed=4)
    r = np.random.default_rng(5).random((2, S))
    spec = GeneralisedOuterMORL(r, lexicographic(), 0.9)
    pols = np.random.default_rng(6).dirichlet(np.ones(A), size=(3, S))
    peak, ranks = peak_bytes(lambda: spec.compile(env).rank(pols))
    assert peak < 8 * S * A * S / 10
    assert sorted(set(ranks.tolist())) == list(range(len(set(ranks.tolist()))))


@pytest.mark.parametrize("seed", range(3))
def test_compact_rewards_agree_with_the_dense_s_a_s_form(seed: int) -> None:
    rng = np.random.default_rng(seed)
    S, A = 7, 3
    env = random_mdp(S, A, 3, seed=rng)
    pols = rng.dirichlet(np.ones(A), size=(4, S))
    for reward in (rng.normal(size=S), rng.normal(size=(S, A)), rng.normal(size=(S, A, S))):
        if reward.ndim == 1:
            dense = np.broadcast_to(reward[:, None, None], (S, A, S)).copy()
        elif reward.ndim == 2:
            dense = np.broadcast_to(reward[:, :, None], (S, A, S)).copy()
        else:
            dense = reward
        for make in (
            lambda R: LimitAverageReward(R),
            lambda R: OuterNonlinearMarkovReward(R, lambda x: x**3, 0.8),
            lambda R: RegularisedRL(R, negative_entropy, 0.5, 0.8),
            lambda R: OuterMORL(np.stack([R, 2 * R]), lambda v: v[0] - v[1] ** 2, 0.8),
        ):
            compact = make(reward).compile(env).values(pols)
            full = make(dense).compile(env).values(pols)
            np.testing.assert_allclose(compact, full, rtol=1e-10, atol=1e-12)
        # LAR against the long-run average of the dense form through the core directly
        ours = LimitAverageReward(reward).compile(env).values(pols)
        ref = long_run_average(env, pols, dense)
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)
        # ONMR's statistic is MR's value
        mr = MarkovReward(dense, 0.8).compile(env).values(pols)
        onmr = OuterNonlinearMarkovReward(reward, lambda x: x, 0.8).compile(env).values(pols)
        np.testing.assert_allclose(onmr, mr, rtol=1e-10, atol=1e-12)


def _multiclass_chain(rng: np.random.Generator, n_classes: int, size: int, n_transient: int
                      ) -> sp.csr_matrix:
    """Recurrent classes of ``size`` states (random, 3 successors inside the class) and
    transient states that move among themselves or into one or two classes."""
    rows, cols, vals = [], [], []
    S = n_classes * size + n_transient
    for c in range(n_classes):
        base = c * size
        for s in range(size):
            succ = base + rng.choice(size, 3, replace=False)
            rows += [base + s] * 3
            cols += succ.tolist()
            vals += rng.random(3).tolist()
    first = n_classes * size
    for i in range(n_transient):
        s = first + i
        # transient states only move forward (or into classes), so they are transient
        targets = [int(rng.integers(0, n_classes * size))]
        if i % 3:  # some transient states reach two classes
            targets.append(int(rng.integers(0, n_classes * size)))
        if i + 1 < n_transient:
            targets.append(s + 1 + int(rng.integers(0, min(5, n_transient - i - 1))))
        rows += [s] * len(targets)
        cols += targets
        vals += (rng.random(len(targets)) + 0.1).tolist()
    m = sp.csr_matrix((vals, (rows, cols)), shape=(S, S))
    m.sum_duplicates()
    return sp.csr_matrix(sp.diags(1.0 / np.asarray(m.sum(axis=1)).ravel()) @ m)


def _dense_gain_reference(chain: sp.csr_matrix, r: np.ndarray) -> np.ndarray:
    """Independent oracle: ``g = lim (1 - gamma) (I - gamma P)^-1 r`` at gamma = 1 - 1e-9
    (error about ``1e-9`` times the bias), by one dense solve."""
    gamma = 1.0 - 1e-9
    n = chain.shape[0]
    return (1.0 - gamma) * np.linalg.solve(np.eye(n) - gamma * chain.toarray(), r)


def test_long_run_values_on_a_large_multiclass_chain_match_an_independent_oracle() -> None:
    rng = np.random.default_rng(11)
    chain = _multiclass_chain(rng, n_classes=3, size=600, n_transient=600)  # classes > 500
    S = chain.shape[0]
    env = FiniteMDP(chain, np.full(S, 1.0 / S))
    r = rng.random(S)
    ours = long_run_average_values(env, np.ones((S, 1)), r)
    ref = _dense_gain_reference(chain, r)
    np.testing.assert_allclose(ours, ref, atol=1e-6)
    # a transient state whose only reachable class is c gets c's gain exactly
    classes = longrun.recurrent_classes(chain)
    gains = [float(ours[c[0]]) for c in classes]
    single = longrun._single_class(
        longrun._support_graph(chain),
        *_components(chain),
        classes,
    )
    recurrent = np.isin(np.arange(S), np.concatenate(classes))
    transient_single = np.flatnonzero((single >= 0) & ~recurrent)
    assert transient_single.size > 0
    assert all(ours[s] == gains[single[s]] for s in transient_single)


def _components(chain: sp.csr_matrix) -> tuple[np.ndarray, int]:
    import scipy.sparse.csgraph as csgraph

    n, comp = csgraph.connected_components(longrun._support_graph(chain), directed=True,
                                           connection="strong")
    return comp, n


def test_single_class_by_levels_agrees_with_the_sweep() -> None:
    rng = np.random.default_rng(5)
    for _ in range(20):
        n = int(rng.integers(3, 40))
        src, dst = [], []
        for u in range(1, n):
            for v in rng.choice(u, size=min(u, int(rng.integers(1, 3))), replace=False):
                src.append(u)
                dst.append(int(v))
        src_a, dst_a = np.array(src), np.array(dst)
        pairs = np.unique(src_a * n + dst_a)
        src_a, dst_a = pairs // n, pairs % n
        sinks = np.setdiff1d(np.arange(n), src_a)
        results = []
        for fill in (longrun._sweep, longrun._levels):
            lo = np.full(n, len(sinks), dtype=np.int64)
            hi = np.full(n, -1, dtype=np.int64)
            lo[sinks] = hi[sinks] = np.arange(len(sinks))
            fill(lo, hi, src_a, dst_a, n)
            results.append((lo.copy(), hi.copy()))
        np.testing.assert_array_equal(results[0][0], results[1][0])
        np.testing.assert_array_equal(results[0][1], results[1][1])


def test_long_run_average_on_a_large_sparse_mdp_agrees_with_its_own_dense_route() -> None:
    # one class of 3,000 states: BiCGSTAB; the same chain with DENSE_BLOCK raised: LAPACK
    env = random_mdp(3000, 2, 3, seed=8)
    pi = np.random.default_rng(9).dirichlet(np.ones(2), size=3000)
    r = np.random.default_rng(10).random((3000, 2))
    krylov = long_run_average(env, pi, r)
    old = longrun.DENSE_BLOCK
    longrun.DENSE_BLOCK = 10_000
    try:
        dense = long_run_average(env, pi, r)
    finally:
        longrun.DENSE_BLOCK = old
    assert abs(krylov - dense) <= 1e-10


def test_a_failed_solve_raises_instead_of_returning_nan(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    P = np.zeros((3, 1, 3))
    P[0, 0] = [0.5, 0.25, 0.25]  # state 0 reaches both absorbing states: a transient solve
    P[1, 0, 1] = P[2, 0, 2] = 1.0
    env = FiniteMDP(P, [1.0, 0.0, 0.0])

    def broken(matrix: Any, rhs: np.ndarray) -> np.ndarray:
        return np.full(np.shape(rhs), np.nan)

    monkeypatch.setattr(longrun, "_solve_dense_or_lu", broken)
    with pytest.raises(ObjspecError, match="not (found|solved) to tolerance"):
        long_run_average(env, np.ones((3, 1)), [0.0, 1.0, 2.0])


def test_large_long_run_average_is_computed_in_o_nonzeros_memory() -> None:
    S = 20_000
    env = random_mdp(S, 2, 3, seed=13)
    pi = np.full((S, 2), 0.5)
    r = np.random.default_rng(14).random(S)
    peak, value = peak_bytes(lambda: LimitAverageReward(r).compile(env).value(pi))
    assert peak < 100e6  # the dense [S, A, S] reward alone was 6.4 GB
    chain = induced_chain_sparse(env, pi)
    pi_stat = longrun._stationary_on(chain, np.arange(S))
    assert abs(value - pi_stat @ r) <= 1e-12


def test_reachability_by_search_agrees_with_the_batched_rounds(monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    rng = np.random.default_rng(15)
    for seed in range(5):
        env = random_mdp(30, 3, 2, seed=seed, initial="first")
        enabled = rng.random((4, 30, 3)) < 0.4
        batched = reachability.reachable_from_supports(env, enabled)
        monkeypatch.setattr(reachability, "BATCHED_MAX_STATES", 0)
        searched = reachability.reachable_from_supports(env, enabled)
        monkeypatch.undo()
        np.testing.assert_array_equal(batched, searched)


gym = pytest.importorskip("gymnasium")


def test_frozenlake_60x60_imports_without_dense_arrays() -> None:
    from gymnasium.envs.toy_text.frozen_lake import generate_random_map

    env = gym.make("FrozenLake-v1", desc=generate_random_map(size=60, p=0.9, seed=0))
    import_gymnasium(gym.make("FrozenLake-v1"))  # warm up imports outside the measurement
    peak, model = peak_bytes(lambda: import_gymnasium(env))
    S = model.mdp.n_states
    assert S >= 3600
    assert peak < 8 * S * 4 * S / 10  # the dense tables took 2 x 415 MB
    assert model.transition_reward.shape == (S * 4, S)
    policy = np.full((S, 4), 0.25)
    value = MarkovReward(model.expected_reward, 0.99).compile(model.mdp).value(policy)
    assert np.isfinite(value)


@pytest.mark.parametrize("slippery", [True, False])
def test_imported_reward_forms_agree(slippery: bool) -> None:
    model = import_gymnasium(gym.make("FrozenLake-v1", is_slippery=slippery))
    dense = model.reward
    P = model.mdp.transitions
    np.testing.assert_allclose(model.expected_reward, (P * dense).sum(axis=2), atol=1e-15)
    S = model.mdp.n_states
    np.testing.assert_array_equal(
        model.transition_reward.toarray().reshape(S, 4, S), dense
    )
    pols = np.random.default_rng(0).dirichlet(np.ones(4), size=(3, S))
    a = evaluate(model.mdp, pols, dense, 0.9).returns
    b = evaluate(model.mdp, pols, model.expected_reward, 0.9).returns
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_inner_formalisms_use_monte_carlo_in_o_nonzeros_memory_on_large_models() -> None:
    from objspec.formalisms import InnerMORL, InnerNonlinearMarkovReward

    S, A = 5000, 2
    env = random_mdp(S, A, 3, seed=16)
    r = np.random.default_rng(17).random(S)
    pols = np.full((2, S, A), 1.0 / A)
    for spec in (InnerNonlinearMarkovReward(r, lambda x: x * x, 0.5, n_samples=200),
                 InnerMORL(np.stack([r, -r]), lambda v: v[0] * v[1], 0.5, n_samples=200)):
        def run(spec: Any = spec) -> np.ndarray:
            return np.asarray(spec.compile(env).values(pols))

        peak, vals = peak_bytes(run)
        assert peak < 8 * S * A * S / 10
        assert np.all(np.isfinite(vals))


@pytest.mark.parametrize("seed", range(3))
def test_monte_carlo_returns_match_the_dense_reward_lookup(seed: int) -> None:
    from objspec.formalisms import InnerMORL
    from objspec.formalisms.lottery import sample_return_vectors

    rng = np.random.default_rng(seed)
    S, A = 6, 2
    env = random_mdp(S, A, 3, seed=rng)
    R = rng.normal(size=(2, S, A, S))
    spec = InnerMORL(R, lambda v: float(v[0] - v[1]), 0.9, method="monte carlo",
                     n_samples=50, seed=seed)
    ev = spec.compile(env)
    pi = rng.dirichlet(np.ones(A), size=S)
    G = sample_return_vectors(env, pi, R, 0.9, 50, ev.horizon, seed)
    np.testing.assert_allclose(ev.values(pi[None]), [np.mean(G[:, 0] - G[:, 1])], rtol=1e-12)


def test_a_slowly_mixing_large_class_falls_back_to_the_renewal_solve() -> None:
    # a 2,000-cycle with one lazy state: BiCGSTAB stalls, the sparse renewal LU does not
    n = 2000
    rows = np.arange(n)
    chain = sp.lil_matrix(sp.csr_matrix((np.ones(n), (rows, (rows + 1) % n)), shape=(n, n)))
    chain[0, 1] = 0.5
    chain[0, 0] = 0.5
    (pi,) = longrun.stationary_distributions(sp.csr_matrix(chain))
    expected = np.full(n, 1.0 / (n + 1))
    expected[0] = 2.0 / (n + 1)
    np.testing.assert_allclose(pi, expected, rtol=1e-10)
