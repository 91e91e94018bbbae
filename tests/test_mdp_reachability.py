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


def _invariant_brute_force(dense: np.ndarray, enabled: np.ndarray, safe: np.ndarray
                           ) -> np.ndarray:
    """The greatest set of safe states each with an enabled action whose successors all
    stay in it, by the textbook fixed-point loop on dense arrays."""
    K, A = enabled.shape
    inside = safe.copy()
    while True:
        support = dense.reshape(K, A, K) > 0
        keeps = enabled & ~(support & ~inside[None, None, :]).any(axis=2)
        new = inside & keeps.any(axis=1)
        if (new == inside).all():
            return inside
        inside = new


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("rounds", [0, 1, 8, 10_000])
@pytest.mark.parametrize("frontier", [-1, 3, 256])
@pytest.mark.parametrize("budget", [0, 2, 4096])
def test_cascade_worklist_and_rounds_agree_with_the_fixed_point(
    seed: int, rounds: int, frontier: int, budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # invariant_states and maximal_end_components through _cascade, switched to its
    # worklist pass after `rounds` vectorised rounds (10_000: never) or at a frontier
    # with at most `frontier` entries into it (-1: never), that pass handing back to the
    # rounds after `budget` entries: the same sets
    import scipy.sparse as sp

    import objspec.mdp.reachability as module

    monkeypatch.setattr(module, "CASCADE_ROUNDS", rounds)
    # rounds first even on these small models (0: the worklist pass at once; 10_000:
    # the vectorised rounds only, unless a frontier is small enough)
    monkeypatch.setattr(module, "CASCADE_WORKLIST_SMALL", -1)
    monkeypatch.setattr(module, "CASCADE_WORKLIST_FRONTIER", frontier)
    monkeypatch.setattr(module, "CASCADE_WORKLIST_BUDGET", budget)
    rng = np.random.default_rng(seed)
    K, A = int(rng.integers(2, 40)), int(rng.integers(1, 4))
    dense = np.zeros((K * A, K))
    for r in range(K * A):
        # mostly a chain towards higher states (deep cascades), sometimes a jump back
        succ = np.unique(np.minimum(K - 1, r // A + rng.integers(0, 3, size=2)))
        if rng.random() < 0.2:
            succ = np.unique(np.r_[succ, rng.integers(0, K)])
        dense[r, succ] = 1.0 / succ.size
    enabled = rng.random((K, A)) < 0.7
    enabled[np.arange(K), rng.integers(0, A, size=K)] = True
    dense[~enabled.reshape(-1)] = 0.0
    safe = rng.random(K) < 0.85
    rows = sp.csr_matrix(dense)
    got = module.invariant_states(rows, enabled, safe)
    assert got.tolist() == _invariant_brute_force(dense, enabled, safe).tolist()
    # end components of the sub-MDP of the actions that stay in `got`: the same with the
    # cascade never switched
    coo = rows.tocoo()
    src, act, dst = coo.row // A, coo.row % A, coo.col
    allowed = enabled & got[:, None]
    mec = module.maximal_end_components(K, A, src, act, dst, allowed.copy())
    monkeypatch.setattr(module, "CASCADE_ROUNDS", 10_000)
    monkeypatch.setattr(module, "CASCADE_WORKLIST_SMALL", -1)
    monkeypatch.setattr(module, "CASCADE_WORKLIST_FRONTIER", -1)
    again = module.maximal_end_components(K, A, src, act, dst, allowed.copy())
    assert mec.tolist() == again.tolist()


@pytest.mark.parametrize("seed", range(15))
def test_max_reachability_stop_equals_emptied_rows(seed: int) -> None:
    # stop=... (the constrained-reachability and safety fast paths) gives the values and
    # undecided states of the same problem with the stopped states' rows emptied
    import scipy.sparse as sp

    from objspec.mdp.reachability import max_reachability

    rng = np.random.default_rng(seed)
    K, A = int(rng.integers(2, 40)), int(rng.integers(1, 4))
    dense = np.zeros((K * A, K))
    for r in range(K * A):
        succ = rng.choice(K, size=int(rng.integers(1, 4)), replace=False)
        dense[r, succ] = rng.dirichlet(np.ones(succ.size))
    enabled = rng.random((K, A)) < 0.8
    enabled[np.arange(K), rng.integers(0, A, size=K)] = True
    dense[~enabled.reshape(-1)] = 0.0
    target = rng.random(K) < 0.2
    stop = rng.random(K) < 0.3
    emptied = dense.copy()
    emptied[np.repeat(stop, A)] = 0.0
    got = max_reachability(sp.csr_matrix(dense), enabled, target, stop=stop)
    want = max_reachability(sp.csr_matrix(emptied), enabled, target)
    np.testing.assert_allclose(got.values, want.values, atol=1e-12)
    assert got.maybe.tolist() == want.maybe.tolist()
    assert not got.maybe[stop].any()


@pytest.mark.parametrize("seed", range(15))
def test_layered_search_and_csgraph_search_give_the_same_pmax(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small models find the states that can reach the target (and the first policy's
    # tree) by vectorised layers, larger ones by scipy's search: the same answer
    import scipy.sparse as sp

    import objspec.mdp.reachability as module

    rng = np.random.default_rng(seed)
    K, A = int(rng.integers(2, 40)), int(rng.integers(1, 4))
    dense = np.zeros((K * A, K))
    for r in range(K * A):
        succ = rng.choice(K, size=int(rng.integers(1, 3)), replace=False)
        dense[r, succ] = rng.dirichlet(np.ones(succ.size))
    enabled = rng.random((K, A)) < 0.8
    enabled[np.arange(K), rng.integers(0, A, size=K)] = True
    dense[~enabled.reshape(-1)] = 0.0
    target = rng.random(K) < 0.15
    rows = sp.csr_matrix(dense)
    layered = module.max_reachability(rows, enabled, target)
    monkeypatch.setattr(module, "LAYERED_MAX_STATES", 0)
    searched = module.max_reachability(rows, enabled, target)
    assert layered.maybe.tolist() == searched.maybe.tolist()
    np.testing.assert_allclose(layered.values, searched.values, atol=1e-12)


@pytest.mark.parametrize("K", [100, 300])
def test_deep_models_fall_back_from_layers_to_the_search(
    K: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a chain K - 1 layers deep (more than LAYER_ROUNDS) above DENSE_MAX_NODES states:
    # the layered search gives up and the graph search answers, as with no layers at all
    import scipy.sparse as sp

    import objspec.mdp.reachability as module

    assert module.DENSE_MAX_NODES < K <= module.LAYERED_MAX_STATES
    assert module._layers_to_target(np.arange(K - 1), np.arange(1, K),
                                    np.eye(K, dtype=bool)[-1], module.LAYER_ROUNDS) is None
    dense = np.zeros((2 * K, K))
    dense[2 * np.arange(K), np.minimum(np.arange(K) + 1, K - 1)] = 0.9  # action 0: on
    dense[2 * np.arange(K), 0] += 0.1
    dense[2 * np.arange(K) + 1, np.arange(K)] = 1.0  # action 1: stay
    target = np.eye(K, dtype=bool)[-1]
    enabled = np.ones((K, 2), dtype=bool)
    got = module.max_reachability(sp.csr_matrix(dense), enabled, target)
    monkeypatch.setattr(module, "LAYERED_MAX_STATES", 0)
    want = module.max_reachability(sp.csr_matrix(dense), enabled, target)
    np.testing.assert_allclose(got.values, want.values, atol=1e-12)
    assert np.allclose(got.values, 1.0)  # go on: every retry restarts, the goal is sure


def _random_rows(rng: np.random.Generator, K: int, A: int, width: int = 4
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Dense rows ``[K*A, K]`` (1 to ``width - 1`` successors each, some self-loops) and
    enabled actions (at least one per state)."""
    dense = np.zeros((K * A, K))
    for r in range(K * A):
        succ = rng.choice(K, size=int(rng.integers(1, min(width, K + 1))), replace=False)
        dense[r, succ] = rng.dirichlet(np.ones(succ.size))
    enabled = rng.random((K, A)) < 0.8
    enabled[np.arange(K), rng.integers(0, A, size=K)] = True
    dense[~enabled.reshape(-1)] = 0.0
    return dense, enabled


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("layered", [True, False])
def test_markov_chains_are_decided_like_mdps_with_one_choice(
    seed: int, layered: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a Markov chain (one enabled action per state) takes the one-search path for its
    # states of probability 1; the same chain with every action duplicated (two enabled
    # actions, the same rows) takes the MDP fixed point: the same decided states, values
    import scipy.sparse as sp

    import objspec.mdp.reachability as module

    if not layered:
        monkeypatch.setattr(module, "LAYERED_MAX_STATES", 0)
    rng = np.random.default_rng(seed)
    K = int(rng.integers(2, 90))
    dense, _ = _random_rows(rng, K, 1)
    target = rng.random(K) < 0.15
    stop = (rng.random(K) < 0.2) if seed % 2 else None
    chain = module.max_reachability(sp.csr_matrix(dense), np.ones((K, 1), bool), target,
                                    stop=stop)
    doubled = module.max_reachability(sp.csr_matrix(np.repeat(dense, 2, axis=0)),
                                      np.ones((K, 2), bool), target, stop=stop)
    assert chain.maybe.tolist() == doubled.maybe.tolist()
    np.testing.assert_allclose(chain.values, doubled.values, rtol=0, atol=1e-12)
    # the chain's values solve its linear system: x = P x on the undecided states
    P = dense.copy()
    if stop is not None:
        P[stop] = 0.0
    x = chain.values
    m = chain.maybe
    np.testing.assert_allclose(x[m], (P @ x)[m], rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(25))
def test_safety_values_need_no_almost_sure_search(seed: int) -> None:
    # Pmax(G safe) as the reachability of the invariant states with the unsafe states
    # stopped: the graph fixed point for Pmax = 1 finds exactly the invariant states
    # (staying safe almost surely is staying safe surely), so skipping it
    # (sure_is_target=True) gives the same decided states and values
    import scipy.sparse as sp

    from objspec.mdp.reachability import invariant_states, max_reachability

    rng = np.random.default_rng(seed)
    K, A = int(rng.integers(2, 60)), int(rng.integers(1, 4))
    dense, enabled = _random_rows(rng, K, A)
    safe = rng.random(K) < 0.8
    rows = sp.csr_matrix(dense)
    inside = invariant_states(rows, enabled, safe)
    full = max_reachability(rows, enabled, inside, stop=~safe)
    skipped = max_reachability(rows, enabled, inside, stop=~safe, sure_is_target=True)
    assert (full.values == 1.0).tolist() == inside.tolist()
    assert full.maybe.tolist() == skipped.maybe.tolist()
    np.testing.assert_allclose(full.values, skipped.values, rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("shape", ["chain", "random"])
def test_proper_solve_paths_agree(seed: int, shape: str,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # sparse LU at once (small envelope), BiCGSTAB first (forced) and a dense solve give
    # the same solution of (I - P) x = b for a substochastic P that leaves almost surely
    import scipy.sparse as sp

    import objspec.mdp.reachability as module
    from objspec.mdp.linear import matrix_envelope

    rng = np.random.default_rng(seed)
    n = 300
    rows, cols, vals = [], [], []
    for i in range(n):
        succ = (np.minimum(n - 1, i + rng.integers(0, 3, size=2)) if shape == "chain"
                else rng.choice(n, size=3, replace=False))
        w = rng.dirichlet(np.ones(succ.size)) * 0.97
        rows += [i] * succ.size
        cols += succ.tolist()
        vals += w.tolist()
    P = sp.csr_matrix((vals, (rows, cols)), shape=(n, n))
    M = sp.csr_matrix(sp.identity(n) - P)
    b = rng.random(n) * 0.03
    want = np.linalg.solve(M.toarray(), b)
    small = matrix_envelope(M) <= module.DIRECT_MAX_ENVELOPE * (M.nnz + n)
    assert small == (shape == "chain")
    got = module.proper_solve(M, b)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    monkeypatch.setattr(module, "DIRECT_MAX_ENVELOPE", -1)
    monkeypatch.setattr(module, "ITERATIVE_MIN_UNKNOWNS", 0)
    forced = module.proper_solve(M, b)
    np.testing.assert_allclose(forced, want, rtol=0, atol=1e-12)


class _CountingMatrix:
    """A CSR matrix that counts its products with vectors."""

    def __init__(self, matrix: object) -> None:
        self.matrix, self.products = matrix, 0

    def diagonal(self) -> np.ndarray:
        return np.asarray(self.matrix.diagonal())  # type: ignore[attr-defined]

    def __matmul__(self, x: np.ndarray) -> np.ndarray:
        self.products += 1
        return np.asarray(self.matrix @ x)


def test_bicgstab_gives_up_when_its_residual_stops_contracting() -> None:
    # a long chain with a return edge, on which BiCGSTAB's residual stalls: it stops at a
    # checkpoint (far below its budget of 300 iterations) and proper_solve answers by
    # sparse LU
    import scipy.sparse as sp

    from objspec.mdp.reachability import BICGSTAB_WINDOW, _bicgstab, proper_solve

    n = 400
    P = sp.lil_matrix((n, n))
    for i in range(n - 1):
        P[i, i + 1] = 0.899
        P[i, 0] = 0.1
    M = sp.csr_matrix(sp.identity(n) - P)
    b = np.random.default_rng(0).random(n) * 1e-3
    counting = _CountingMatrix(M)
    with np.errstate(all="ignore"):
        x = _bicgstab(counting, b, np.zeros(n), 1e-16, 300)
    # one product for the first residual, then two per iteration, to a checkpoint
    iterations, odd = divmod(counting.products - 1, 2)
    assert odd == 0 and iterations % BICGSTAB_WINDOW == 0
    assert 2 * BICGSTAB_WINDOW <= iterations < 100
    assert float(np.abs(M @ x - b).max()) > 1e-10  # not converged: LU must answer
    want = np.linalg.solve(M.toarray(), b)
    np.testing.assert_allclose(proper_solve(M, b), want, rtol=0, atol=1e-13)
