"""Long-run quantities: recurrent classes, stationary distributions, Cesaro limits, gains."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from objspec import FiniteMDP, Policy
from objspec.errors import InvalidModelError
from objspec.mdp.exact import exact_induced_chain
from objspec.mdp.longrun import (
    absorption_probabilities,
    cesaro_limit,
    exact_cesaro_limit,
    exact_long_run_average,
    exact_long_run_average_values,
    long_run_average,
    long_run_average_values,
    recurrent_classes,
    stationary_distributions,
)


@st.composite
def rational_chains(draw: st.DrawFn, max_states: int = 7) -> np.ndarray:
    """Random sparse chains with rational entries (often several classes, often periodic)."""
    n = draw(st.integers(1, max_states))
    rows = []
    for _ in range(n):
        k = draw(st.integers(1, min(3, n)))
        support = draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k, unique=True))
        weights = draw(st.lists(st.integers(1, 4), min_size=k, max_size=k))
        row = [Fraction(0)] * n
        for t, w in zip(support, weights, strict=True):
            row[t] = Fraction(w, sum(weights))
        rows.append(row)
    return np.array(rows, dtype=object)


def _float(chain: np.ndarray) -> np.ndarray:
    return chain.astype(np.float64)


def _reference_classes(P: np.ndarray) -> list[list[int]]:
    """Recurrent classes from the transitive closure (independent of csgraph)."""
    n = P.shape[0]
    reach = (P > 0) | np.eye(n, dtype=bool)
    for k in range(n):
        reach = reach | (reach[:, [k]] & reach[[k], :])
    classes = []
    for s in range(n):
        cls = [t for t in range(n) if reach[s, t] and reach[t, s]]
        closed = all(reach[t, s] for t in range(n) if reach[s, t])
        if closed and cls[0] == s:
            classes.append(cls)
    return classes


@given(rational_chains())
def test_recurrent_classes_match_transitive_closure(chain: np.ndarray) -> None:
    P = _float(chain)
    got = [c.tolist() for c in recurrent_classes(P)]
    assert got == _reference_classes(P)
    assert [c.tolist() for c in recurrent_classes(sp.csr_matrix(P))] == got
    assert [c.tolist() for c in recurrent_classes(chain)] == got


@given(rational_chains())
def test_cesaro_limit_defining_identities(chain: np.ndarray) -> None:
    P = _float(chain)
    Ps = cesaro_limit(P)
    assert np.allclose(Ps @ P, Ps, atol=1e-12)
    assert np.allclose(P @ Ps, Ps, atol=1e-12)
    assert np.allclose(Ps @ Ps, Ps, atol=1e-12)
    assert np.allclose(Ps.sum(axis=1), 1.0, atol=1e-12)
    # I - P + P* is nonsingular (Kemeny-Snell fundamental matrix exists)
    assert abs(np.linalg.det(np.eye(len(P)) - P + Ps)) > 1e-12


@given(rational_chains())
def test_exact_cesaro_limit_equals_float_and_identities(chain: np.ndarray) -> None:
    E = exact_cesaro_limit(chain)
    assert (E.dot(chain) == E).all() and (chain.dot(E) == E).all() and (E.dot(E) == E).all()
    assert np.abs(E.astype(np.float64) - cesaro_limit(_float(chain))).max() <= 1e-12


@given(rational_chains())
def test_stationary_and_absorption(chain: np.ndarray) -> None:
    P = _float(chain)
    classes = recurrent_classes(P)
    dists = stationary_distributions(P)
    B = absorption_probabilities(P)
    assert len(dists) == len(classes) == B.shape[1]
    for c, (members, d) in enumerate(zip(classes, dists, strict=True)):
        assert np.allclose(d @ P, d, atol=1e-12)
        assert d.sum() == pytest.approx(1.0, abs=1e-12)
        outside = np.setdiff1d(np.arange(len(P)), members)
        assert (d[outside] == 0).all() and (d[members] > 0).all()
        assert (B[members, c] == 1).all()
    assert np.allclose(B.sum(axis=1), 1.0, atol=1e-12)
    assert np.allclose(P @ B, B, atol=1e-12)  # absorption probabilities are harmonic


def test_periodic_chain_has_cesaro_limit() -> None:
    cycle = np.roll(np.eye(3), 1, axis=1)
    assert np.allclose(cesaro_limit(cycle), np.full((3, 3), 1 / 3))
    N = 3000
    avg = sum(np.linalg.matrix_power(cycle, t) for t in range(N)) / N
    assert np.allclose(cesaro_limit(cycle), avg, atol=1e-12)


def test_tiny_probabilities_are_edges_not_thresholded() -> None:
    P = np.array([[1 - 1e-300, 1e-300], [0.0, 1.0]])
    assert [c.tolist() for c in recurrent_classes(P)] == [[1]]
    assert np.array_equal(cesaro_limit(P), [[0.0, 1.0], [0.0, 1.0]])


def test_absorption_is_exactly_zero_where_unreachable() -> None:
    P = np.array(
        [[0.2, 0.3, 0.5, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 1.0, 0.0]]
    )
    B = absorption_probabilities(P)
    assert B[0].tolist() == pytest.approx([0.375, 0.625])
    assert B[2].tolist() == [0.0, 1.0]


@pytest.mark.parametrize(
    ("chain", "message"),
    [
        (np.array([[0.5, 0.4], [0.0, 1.0]]), "row 0 sums to 0.9"),
        (np.array([[1.5, -0.5], [0.0, 1.0]]), "chain[0, 1] = -0.5 is negative"),
        (np.array([[np.nan, 1.0], [0.0, 1.0]]), "chain[0, 0] = nan is not finite"),
        (np.array([[np.inf, 1.0], [0.0, 1.0]]), "is not finite"),
        (np.ones((2, 3)) / 3, "shaped [S, S]"),
        (np.ones(3), "shaped [S, S]"),
    ],
)
def test_malformed_chains_raise(chain: np.ndarray, message: str) -> None:
    for fn in (recurrent_classes, cesaro_limit, stationary_distributions):
        with pytest.raises(InvalidModelError) as info:
            fn(chain)
        assert message in str(info.value)


def test_exact_chain_must_sum_exactly() -> None:
    chain = np.array([[Fraction(1, 3), Fraction(1, 3)], [Fraction(0), Fraction(1)]], dtype=object)
    with pytest.raises(InvalidModelError, match="row 0 sums to 2/3"):
        exact_cesaro_limit(chain)


def _random_env(rng: np.random.Generator, S: int, A: int) -> FiniteMDP:
    P = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            k = rng.integers(1, 3)
            P[s, a, rng.choice(S, k, replace=False)] = rng.dirichlet(np.ones(k))
    return FiniteMDP(P, rng.dirichlet(np.ones(S)))


@pytest.mark.parametrize("seed", range(4))
def test_long_run_average_shapes_and_batch_agree(seed: int) -> None:
    rng = np.random.default_rng(seed)
    S, A = 6, 3
    env = _random_env(rng, S, A)
    pis = rng.dirichlet(np.ones(A), size=(5, S))
    pis[0] = np.eye(A)[rng.integers(0, A, S)]
    R = rng.normal(size=(4, S, A, S))
    g = long_run_average(env, pis, R)
    vals = long_run_average_values(env, pis, R)
    assert g.shape == (5, 4) and vals.shape == (5, 4, S)
    assert np.allclose(vals @ env.initial, g)
    assert long_run_average(env, pis[2], R[1]) == pytest.approx(g[2, 1], abs=1e-14)
    assert long_run_average_values(env, Policy(pis[1]), R[3]).shape == (S,)
    for n in range(5):
        chain = pis[n][:, :, None] * env.transitions
        chain = chain.sum(axis=1)
        r_pi = (pis[n][:, :, None] * env.transitions * R[0]).sum(axis=(1, 2))
        assert np.allclose(vals[n, 0], cesaro_limit(chain) @ r_pi, atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_exact_long_run_average_equals_float(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    S, A = 5, 2
    P = np.empty((S, A, S), dtype=object)
    for s in range(S):
        for a in range(A):
            w = rng.integers(0, 3, S)
            w[rng.integers(0, S)] += 1
            P[s, a] = [Fraction(int(x), int(w.sum())) for x in w]
    env = FiniteMDP(P, [Fraction(1, S)] * S)
    policy = Policy([[Fraction(1, 3), Fraction(2, 3)]] * S)
    R = np.array([[Fraction(int(x), 7) for x in row] for row in rng.integers(-5, 5, (S, A))])
    exact = exact_long_run_average(env, policy, R)
    assert isinstance(exact, Fraction)
    assert abs(float(exact) - long_run_average(env, policy, R.astype(float))) <= 1e-12
    values = exact_long_run_average_values(env, policy, R)
    chain = exact_induced_chain(env, policy)
    assert (chain.dot(values) == values).all()  # gains are harmonic


def test_ties_are_exact_in_float_mode() -> None:
    # two policies with equal gain 1/2 but very different discounted values near gamma=1
    P = np.zeros((3, 2, 3))
    P[0, 0, 1] = 1.0  # go to the loop 1 <-> 2
    P[0, 1, 0] = 1.0  # stay in 0
    P[1, :, 2] = 1.0
    P[2, :, 1] = 1.0
    env = FiniteMDP(P, [1.0, 0.0, 0.0])
    R = np.array([0.5, 1.0, 0.0])
    loop, stay = Policy.deterministic([0, 0, 0], 2), Policy.deterministic([1, 0, 0], 2)
    g = long_run_average(env, [loop, stay], R)
    assert g[0] == g[1] == 0.5


# ------------------------------------------------------------- large classes (power iteration)
def _dense_stationary(block: np.ndarray) -> np.ndarray:
    k = block.shape[0]
    system = np.eye(k) - block.T
    system[-1] = 1.0
    rhs = np.zeros(k)
    rhs[-1] = 1.0
    return np.linalg.solve(system, rhs)


def _random_block(rng: np.random.Generator, k: int, offset: int, n: int) -> sp.lil_matrix:
    """An irreducible aperiodic random chain on ``offset .. offset + k - 1`` in an
    ``n``-state matrix (a Hamiltonian cycle plus random edges)."""
    P = sp.lil_matrix((n, n))
    order = offset + rng.permutation(k)
    for i, s in enumerate(order):
        targets = {int(order[(i + 1) % k]), *map(int, offset + rng.choice(k, 2))}
        weights = rng.dirichlet(np.ones(len(targets)))
        for t, w in zip(sorted(targets), weights, strict=True):
            P[s, t] = w
    return P


@pytest.mark.parametrize("layout", ["one class", "one class and transients", "two classes"])
def test_large_classes_take_the_power_iteration_and_agree_with_a_dense_solve(
        layout: str) -> None:
    from objspec.mdp import longrun

    rng = np.random.default_rng(7)
    n = 400
    if layout == "one class":
        sizes, transient = [n], 0
    elif layout == "one class and transients":
        sizes, transient = [300], 100  # class >= n / 2: iterated in place
    else:
        sizes, transient = [180, 160], 60  # classes < n / 2: iterated on their block
    assert all(k > longrun.POWER_BLOCK for k in sizes)
    P = sp.lil_matrix((n, n))
    offset = 0
    for k in sizes:
        P += _random_block(rng, k, offset, n)
        offset += k
    for s in range(offset, offset + transient):  # transient states leak into the classes
        targets = rng.choice(n, 3, replace=False)
        targets[0] = rng.integers(0, sizes[0])
        P[s, :] = 0.0
        P[s, targets] = rng.dirichlet(np.ones(3))
    chain = P.tocsr()
    dense = chain.toarray()
    got = stationary_distributions(chain)
    classes = recurrent_classes(chain)
    assert [c.size for c in classes] == sizes
    for members, pi in zip(classes, got, strict=True):
        block = dense[np.ix_(members, members)]
        want = _dense_stationary(block)
        power = longrun._power_stationary(sp.csr_matrix(block), np.ones(k := members.size) / k)
        assert power is not None and np.abs(power - want).sum() <= 1e-12  # the fast path
        assert np.abs(pi[members] - want).sum() <= 1e-12
        outside = np.ones(n, dtype=bool)
        outside[members] = False
        assert not pi[outside].any()
    r = rng.normal(size=n)
    assert np.allclose(cesaro_limit(chain) @ r,
                       long_run_average_values(FiniteMDP(dense[:, None, :], np.ones(n) / n),
                                               Policy(np.ones((n, 1))), r), atol=1e-11)


def test_a_large_periodic_class_falls_back_from_the_power_iteration() -> None:
    from objspec.mdp import longrun

    n = 2 * longrun.POWER_BLOCK + 2  # a deterministic cycle: period n, power iteration stalls
    start = np.arange(n) % 3 / 3.0 + 0.1
    P = sp.csr_matrix((np.ones(n), (np.arange(n), (np.arange(n) + 1) % n)), shape=(n, n))
    assert longrun._power_stationary(P, start / start.sum()) is None
    (pi,) = stationary_distributions(P)
    assert np.abs(pi - 1.0 / n).max() <= 1e-14


# ---------------------------------------------------------------- fast paths of the LAR evaluator


@st.composite
def _env_and_policy(draw: st.DrawFn) -> tuple[FiniteMDP, Policy]:
    from objspec.mdp.strategies import mdps, policies

    env = draw(mdps(1, 6, 1, 3, sparse=draw(st.booleans()), masked=draw(st.booleans()),
                    exact=True))
    kind = draw(st.sampled_from(["deterministic", "deterministic", "any"]))
    return env, draw(policies(env, kind, exact=True))  # rows sum to 1 as rationals


@given(_env_and_policy())
def test_induced_chain_of_a_deterministic_policy_is_the_weighted_product(
        case: tuple[FiniteMDP, Policy]) -> None:
    """Deterministic policies take the row selection (no product): the chain must be the
    product ``weights @ transitions`` entry for entry, with no stored zero."""
    from objspec.mdp.linear import induced_chain_sparse

    env, policy = case
    S, A = env.n_states, env.n_actions
    pi = policy.probabilities
    weights = sp.csr_matrix((pi.ravel(), (np.repeat(np.arange(S), A), np.arange(S * A))),
                            shape=(S, S * A))
    want = (weights @ env.transition_matrix).toarray()
    chain = induced_chain_sparse(env, pi)
    assert np.array_equal(chain.toarray(), want)
    assert chain.data.all()  # the pattern is the support graph


def test_nearly_deterministic_rows_take_the_product() -> None:
    from objspec.mdp.linear import induced_chain_sparse

    P = np.zeros((2, 2, 2))
    P[:, 0, 0] = P[:, 1, 1] = 1.0
    env = FiniteMDP(P, [1.0, 0.0])
    pi = np.array([[1.0, 1e-12], [0.0, 1.0]])  # a 1 in each row, and a tiny mass besides
    chain = induced_chain_sparse(env, pi).toarray()
    assert chain[0].tolist() == [1.0, 1e-12] and chain[1].tolist() == [0.0, 1.0]


@given(_env_and_policy(), st.integers(0, 2**32 - 1))
def test_float_gains_equal_the_exact_rational_gains(case: tuple[FiniteMDP, Policy],
                                                    seed: int) -> None:
    """The float evaluation path (row selection, support graph, one-class shortcuts, power
    iteration with predicted residual checks) against the exact rational evaluation."""
    env, policy = case
    rng = np.random.default_rng(seed)
    r = rng.integers(-3, 4, size=(env.n_states, env.n_actions)) / 2.0
    exact = exact_long_run_average_values(env, policy, r)
    got = long_run_average_values(env, policy, r)
    assert np.abs(got - exact.astype(np.float64)).max() <= 1e-12


@pytest.mark.parametrize("seed", range(3))
def test_power_iteration_on_a_large_unichain_matches_a_dense_solve(seed: int) -> None:
    """A random 3-successor policy chain of 600 states (one class and transient states, the
    benchmark's shape): the in-place power iteration with predicted checks reaches the
    residual target, and the gain equals the dense linear algebra's."""
    from objspec.environments import random_mdp
    from objspec.mdp import longrun
    from objspec.mdp.linear import induced_chain_sparse

    n = 600
    env = random_mdp(n, 2, 3, seed=seed, sparse=True)
    rng = np.random.default_rng(seed)
    acts = rng.integers(0, 2, n)
    chain = induced_chain_sparse(env, np.eye(2)[acts])
    (members,) = recurrent_classes(chain)
    assert 2 * members.size >= n > members.size  # iterated in place, transients around
    start = np.zeros(n)
    start[members] = 1.0 / members.size
    pi = longrun._power_stationary(chain, start)
    assert pi is not None
    assert np.abs(chain.T @ pi - pi).sum() <= 1e-13
    want = _dense_stationary(chain.toarray()[np.ix_(members, members)])
    assert np.abs(pi[members] - want).sum() <= 1e-12
    r = rng.random((n, 2))
    gain = long_run_average(env, Policy.deterministic(acts, 2), r)
    assert abs(gain - want @ r[members, acts[members]]) <= 1e-12


@given(_env_and_policy(), st.integers(0, 2**32 - 1))
def test_policy_gains_equal_long_run_average(case: tuple[FiniteMDP, Policy],
                                             seed: int) -> None:
    """The LAR evaluator's entry point (validated batch, expected reward) against the
    public function, on a batch of two policies of one environment."""
    from objspec.mdp.longrun import policy_gains

    env, first = case
    rng = np.random.default_rng(seed)
    second = Policy.deterministic(
        np.array([rng.choice(np.flatnonzero(env.enabled[s])) for s in range(env.n_states)]),
        env.n_actions)
    r = rng.normal(size=(env.n_states, env.n_actions))
    batch = np.stack([first.probabilities, second.probabilities])
    want = long_run_average(env, [first, second], r)
    assert np.abs(policy_gains(env, batch, r) - want).max() <= 1e-12
