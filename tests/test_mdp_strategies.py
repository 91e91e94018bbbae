"""Random MDPs, policies and rewards for the mdp tests (hypothesis strategies and seeded helpers).

The other ``test_mdp_*`` modules import these; the tests here check the generators themselves.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from objspec import FiniteMDP, Policy


def _rational_row(draw: st.DrawFn, n: int, max_support: int) -> list[Fraction]:
    k = draw(st.integers(1, min(max_support, n)))
    support = draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k, unique=True))
    weights = draw(st.lists(st.integers(1, 5), min_size=k, max_size=k))
    row = [Fraction(0)] * n
    for t, w in zip(support, weights, strict=True):
        row[t] = Fraction(w, sum(weights))
    return row


@st.composite
def rational_mdps(
    draw: st.DrawFn, max_states: int = 5, max_actions: int = 3, max_support: int = 3
) -> FiniteMDP:
    """Small MDPs with exact rational transitions and initial distribution."""
    S = draw(st.integers(1, max_states))
    A = draw(st.integers(1, max_actions))
    P = np.empty((S, A, S), dtype=object)
    for s in range(S):
        for a in range(A):
            P[s, a] = _rational_row(draw, S, max_support)
    mu0 = np.array(_rational_row(draw, S, S), dtype=object)
    return FiniteMDP(P, mu0)


@st.composite
def rational_policies(draw: st.DrawFn, env: FiniteMDP, deterministic: bool | None = None) -> Policy:
    """A policy with rational probabilities; deterministic ones if asked (or by chance)."""
    det = draw(st.booleans()) if deterministic is None else deterministic
    if det:
        actions = draw(
            st.lists(
                st.integers(0, env.n_actions - 1), min_size=env.n_states, max_size=env.n_states
            )
        )
        return Policy.deterministic(np.array(actions, dtype=np.int64), env.n_actions)
    rows = [_rational_row(draw, env.n_actions, env.n_actions) for _ in range(env.n_states)]
    return Policy(np.array(rows, dtype=object))


@st.composite
def rational_rewards(draw: st.DrawFn, env: FiniteMDP, kind: int | None = None) -> np.ndarray:
    """A reward shaped ``[S]``, ``[S, A]`` or ``[S, A, S]`` with small rational entries."""
    k = draw(st.integers(1, 3)) if kind is None else kind
    shape = (env.n_states, env.n_actions, env.n_states)[:k]
    n = int(np.prod(shape))
    values = draw(st.lists(st.integers(-8, 8), min_size=n, max_size=n))
    return np.array([Fraction(v, 4) for v in values], dtype=object).reshape(shape)


def random_sparse_mdp(
    rng: np.random.Generator, S: int, A: int, k: int, sparse: bool = True
) -> FiniteMDP:
    """``S`` states, ``A`` actions, ``k`` random successors per state-action (Dirichlet)."""
    cols = np.stack([rng.choice(S, k, replace=False) for _ in range(S * A)]).ravel()
    rows = np.repeat(np.arange(S * A), k)
    vals = rng.dirichlet(np.ones(k), size=S * A).ravel()
    T = sp.csr_matrix((vals, (rows, cols)), shape=(S * A, S))
    mu0 = rng.dirichlet(np.ones(S))
    if sparse:
        return FiniteMDP(T, mu0)
    return FiniteMDP(T.toarray().reshape(S, A, S), mu0)


def random_policies(
    rng: np.random.Generator, N: int, S: int, A: int, deterministic: bool = False
) -> np.ndarray:
    """``[N, S, A]`` random stochastic (Dirichlet) or deterministic policies."""
    if deterministic:
        return np.eye(A)[rng.integers(0, A, (N, S))]
    return rng.dirichlet(np.ones(A), size=(N, S))


@given(rational_mdps())
def test_rational_mdps_are_exact(env: FiniteMDP) -> None:
    assert env.is_exact
    assert (env.exact_transitions().sum(axis=2) == 1).all()


@given(st.data())
def test_rational_policies_are_exact_and_fit(data: st.DataObject) -> None:
    env = data.draw(rational_mdps())
    pi = data.draw(rational_policies(env))
    assert pi.probabilities.shape == (env.n_states, env.n_actions)
    assert (pi.exact_probabilities().sum(axis=1) == 1).all()
    assert data.draw(rational_policies(env, deterministic=True)).is_deterministic


def test_random_sparse_mdp_rows_have_k_successors() -> None:
    env = random_sparse_mdp(np.random.default_rng(0), 20, 3, 4)
    assert (np.diff(env.transition_matrix.indptr) == 4).all()
