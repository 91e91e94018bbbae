"""Numerical robustness of the linear solvers: structured chains, breakdowns, NaN, rtol.

Every solve is compared with an independent computation: a closed form (rings), exact
rational arithmetic, or a sparse LU solve.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from hypothesis import given
from hypothesis import strategies as st

import objspec.mdp.linear as linear
from objspec import FiniteMDP, Policy
from objspec.errors import InvalidSpecificationError, SolverError
from objspec.mdp import (
    evaluate,
    occupancy_measure,
    optimal_values,
    state_action_occupancy,
    state_visitation,
)
from objspec.mdp.backends import get_backend
from objspec.mdp.exact import exact_state_visitation, exact_values
from objspec.mdp.linear import (
    batched_bicgstab,
    deterministic_chains,
    power_series_solve,
    solve_policy_systems,
)

# ----------------------------------------------------------------------------- models


def ring(S: int, shortcut: bool = False) -> FiniteMDP:
    """``T[s, s+1 mod S] = 1``; with ``shortcut``, a second action jumps to ``s+2``."""
    s = np.arange(S)
    if not shortcut:
        P = sp.csr_matrix((np.ones(S), (s, (s + 1) % S)), shape=(S, S))
    else:
        cols = np.stack([(s + 1) % S, (s + 2) % S], axis=1).ravel()
        P = sp.csr_matrix((np.ones(2 * S), (np.arange(2 * S), cols)), shape=(2 * S, S))
    initial = np.zeros(S)
    initial[0] = 1.0
    return FiniteMDP(P, initial, labels={S // 2: ["a"], S - 1: ["b"]})


def ring_values(S: int, target: int, gamma: float) -> np.ndarray:
    """Closed form, reward 1 in ``target``: ``gamma^((target - s) mod S) / (1 - gamma^S)``."""
    steps = (target - np.arange(S)) % S
    return gamma**steps / -np.expm1(S * np.log(gamma)) if gamma > 0 else (steps == 0) * 1.0


def ring_visitation(S: int, gamma: float) -> np.ndarray:
    """Closed form from state 0: ``d(s) = gamma^s / (1 - gamma^S)``."""
    return gamma ** np.arange(S) / -np.expm1(S * np.log(gamma))


def line(S: int) -> FiniteMDP:
    """``0 -> 1 -> ... -> S-1 -> S-1``."""
    s = np.arange(S)
    P = sp.csr_matrix((np.ones(S), (s, np.minimum(s + 1, S - 1))), shape=(S, S))
    initial = np.zeros(S)
    initial[0] = 1.0
    return FiniteMDP(P, initial)


def sparse_chain_env(P: sp.csr_matrix) -> FiniteMDP:
    S = P.shape[0]
    return FiniteMDP(P, np.full(S, 1.0 / S))


def lu_values(P: sp.csr_matrix, r: np.ndarray, gamma: float, transpose: bool = False):
    S = P.shape[0]
    A = sp.identity(S, format="csc") - gamma * (P.T if transpose else P)
    return spla.spsolve(A.tocsc(), r)


def periodic_chain(blocks: int, size: int, seed: int) -> sp.csr_matrix:
    """Block-cyclic: block ``i`` moves to block ``i+1 mod blocks`` by a random stochastic map."""
    rng = np.random.default_rng(seed)
    S = blocks * size
    rows, cols, vals = [], [], []
    for s in range(S):
        nxt = ((s // size + 1) % blocks) * size
        targets = rng.choice(size, size=2, replace=False) + nxt
        w = rng.random(2) + 0.1
        rows += [s, s]
        cols += targets.tolist()
        vals += (w / w.sum()).tolist()
    return sp.csr_matrix((vals, (rows, cols)), shape=(S, S))


def nearly_decomposable(S: int, eps: float) -> sp.csr_matrix:
    """Two rings of ``S/2`` states each, leaking into each other with probability ``eps``."""
    h = S // 2
    s = np.arange(S)
    nxt = np.where(s < h, (s + 1) % h, h + (s - h + 1) % h)
    other = (s + h) % S
    return sp.csr_matrix(
        (np.r_[np.full(S, 1 - eps), np.full(S, eps)], (np.r_[s, s], np.r_[nxt, other])),
        shape=(S, S),
    )


# ----------------------------------------------------------------------------- rings


@pytest.mark.parametrize(
    ("S", "gamma"),
    [(1400, 0.5), (1400, 0.9), (1400, 0.999999), (5000, 0.99), (100_000, 0.999999)],
)
def test_ring_evaluate_and_visitation_are_finite_and_exact(S: int, gamma: float) -> None:
    env = ring(S)
    pi = np.ones((S, 1))
    r = np.zeros(S)
    r[S // 2] = 1.0
    ev = evaluate(env, pi, r, gamma)
    assert np.isfinite(ev.values).all() and np.isfinite(ev.error_bound)
    exact = ring_values(S, S // 2, gamma)
    assert np.abs(ev.values - exact).max() <= ev.error_bound + 1e-13 * exact.max()
    assert ev.error_bound <= 10 * 1e-12 / (1 - gamma) + 1e-6 * (gamma > 0.9999)
    d = state_visitation(env, pi, gamma)
    dexact = ring_visitation(S, gamma)
    assert np.isfinite(d).all()
    assert np.abs(d - dexact).sum() <= 1e-6 / (1 - gamma) * (1 + S * 1e-9)


def test_ring_occupancy_and_krylov_path() -> None:
    S, gamma = 1400, 0.9
    env = ring(S)
    pi = np.ones((S, 1))
    m = state_action_occupancy(env, pi, gamma)
    assert np.allclose(m[:, 0], ring_visitation(S, gamma), atol=1e-12, rtol=0)
    small = ring(60)
    occ = occupancy_measure(small, np.ones((60, 1)), gamma)
    assert np.isfinite(occ).all() and abs(occ.sum() - 1 / (1 - gamma)) < 1e-9
    # forcing the Krylov solver (which breaks down on a cycle) still gives the exact answer
    r = np.zeros(S)
    r[S // 2] = 1.0
    ev = evaluate(env, pi, r, gamma, method="krylov")
    assert np.isfinite(ev.error_bound)
    assert np.abs(ev.values - ring_values(S, S // 2, gamma)).max() <= ev.error_bound
    sol = solve_policy_systems(env, pi[None], env.initial[None, :, None], gamma,
                               transpose=True, method="krylov")
    assert np.abs(sol.x[0, :, 0] - ring_visitation(S, gamma)).sum() <= sol.error_bound[0, 0]


@pytest.mark.parametrize("gamma", [0.9, 0.999999])
def test_ring_with_a_stochastic_policy_uses_a_fallback(gamma: float) -> None:
    S = 3000
    env = ring(S, shortcut=True)
    pi = np.full((S, 2), 0.5)
    r = np.zeros(S)
    r[S // 2] = 1.0
    ev = evaluate(env, pi, r, gamma)
    P = linear.induced_chain_sparse(env, pi)
    ref = lu_values(P, r, gamma)
    assert np.isfinite(ev.error_bound)
    assert np.abs(ev.values - ref).max() <= ev.error_bound + 1e-12 * np.abs(ref).max()
    d = state_visitation(env, pi, gamma)
    dref = lu_values(P, env.initial, gamma, transpose=True)
    assert np.abs(d - dref).sum() <= 1e-6 / (1 - gamma)


def test_ring_control() -> None:
    S, gamma = 1400, 0.9
    env = ring(S, shortcut=True)
    r = np.zeros(S)
    r[S // 2] = 1.0
    sol = optimal_values(env, r, gamma, tol=1e-10, method="policy_iteration")
    assert np.isfinite(sol.values).all() and sol.error_bound <= 1e-10
    # optimal: go straight to the target as fast as possible (two steps at a time)
    steps = (S // 2 - np.arange(S)) % S
    best = np.array([gamma ** (k // 2 + k % 2) for k in steps.tolist()])
    # after reaching the target once, the return time is S/2 steps
    best = best / (1 - gamma ** (S // 2))
    assert np.abs(sol.values - best).max() <= sol.error_bound + 1e-14


def test_ring_ltl_and_reward_machine() -> None:
    from objspec.formalisms.reward_machine import RM
    from objspec.formalisms.temporal_logic import LTL

    S, gamma = 1500, 0.9
    env = ring(S, shortcut=True)
    pis = [Policy.deterministic(np.zeros(S, dtype=int), 2), Policy.uniform(S, 2)]
    assert LTL("G F a").compile(env).values(pis).tolist() == [1.0, 1.0]
    # a one-state machine paying 1 whenever "a" is read is the Markov reward 1 on state S/2
    rm = RM([(0, 0, "a", 1.0)], 0, gamma).compile(env).values(pis)
    r = np.zeros(S)
    r[S // 2] = 1.0
    ref = evaluate(env, pis, r, gamma)
    assert np.isfinite(rm).all()
    assert np.abs(rm - ref.returns).max() <= 1e-9


def test_solve_block_diagonal_on_cycles() -> None:
    from objspec.ltl.product import solve_block_diagonal

    S, gamma = 4000, 0.95
    shift = sp.csr_matrix((np.full(S, gamma), (np.arange(S), (np.arange(S) + 1) % S)),
                          shape=(S, S))
    q = sp.block_diag([shift, shift], format="csr")
    b = np.zeros((2, S))
    b[0, S // 2] = 1.0
    b[1] = 1.0
    x, ok = solve_block_diagonal(q, b)
    assert np.isfinite(x).all()
    exact = ring_values(S, S // 2, gamma)
    for j in np.flatnonzero(ok).tolist():
        ref = exact if j == 0 else np.full(S, 1 / (1 - gamma))
        assert np.abs(x[j] - ref).max() <= 1e-9 * max(1.0, ref.max())


# ----------------------------------------------------------------------------- breakdowns


def test_bicgstab_survives_breakdown_and_nan() -> None:
    S = 500  # a cycle: BiCGSTAB breaks down at once on b = e_0, and a NaN is injected
    A = sp.identity(S, format="csr") - 0.5 * sp.csr_matrix(
        (np.ones(S), (np.arange(S), (np.arange(S) + 1) % S)), shape=(S, S))
    b = np.zeros((S, 3))
    b[0, 0] = 1.0
    b[:, 1] = np.linspace(0, 1, S)
    b[:, 2] = 1.0
    calls = {"n": 0}

    def poisoned(v: np.ndarray) -> np.ndarray:  # column 2 turns NaN once
        out = np.asarray(A @ v)
        calls["n"] += 1
        if calls["n"] == 3:
            out[:, 2] = np.nan
        return out

    x = batched_bicgstab(poisoned, b, np.full(3, 1e-13),
                         lambda r: np.abs(r).max(axis=0), 1000)
    assert np.isfinite(x).all()
    assert np.abs(A @ x - b).max() <= 1e-10


def test_nan_from_a_backend_takes_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = get_backend()
    monkeypatch.setattr(type(backend), "krylov_policy_solve",
                        lambda self, env, pi, rhs, *args: np.full(rhs.shape, np.nan))
    P = periodic_chain(20, 10, seed=1)
    env = sparse_chain_env(P)
    r = np.random.default_rng(0).random(200)
    ev = evaluate(env, np.ones((200, 1)), r, 0.9, method="krylov")
    assert "sparse_lu" in ev.method and np.isfinite(ev.error_bound)
    assert np.abs(ev.values - lu_values(P, r, 0.9)).max() <= ev.error_bound + 1e-13


def test_total_failure_raises_solver_error(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = get_backend()
    monkeypatch.setattr(type(backend), "krylov_policy_solve",
                        lambda self, env, pi, rhs, *args: np.full(rhs.shape, np.nan))

    class Broken:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def solve(self, b: np.ndarray) -> np.ndarray:
            return np.full(b.shape, np.nan)

    monkeypatch.setattr(linear.spla, "splu", Broken)
    env = sparse_chain_env(periodic_chain(20, 10, seed=2))
    with pytest.raises(SolverError, match="finite"):
        evaluate(env, np.ones((200, 1)), np.ones(200), 0.9, method="krylov")


# ----------------------------------------------------------------------------- tolerances


@pytest.mark.parametrize("bad", [-1e-9, float("nan"), float("inf"), True, "1e-9"])
def test_invalid_tolerances_are_named_errors(bad: object) -> None:
    env = ring(5)
    pi = np.ones((5, 1))
    with pytest.raises(InvalidSpecificationError, match="tol"):
        evaluate(env, pi, np.ones(5), 0.9, tol=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidSpecificationError, match="rtol"):
        evaluate(env, pi, np.ones(5), 0.9, rtol=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidSpecificationError, match="tol"):
        state_visitation(env, pi, 0.9, tol=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidSpecificationError, match="tol"):
        optimal_values(env, np.ones(5), 0.9, tol=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidSpecificationError, match="rtol"):
        evaluate(env, pi, np.ones(5), 0.9, rtol=0.0)
    from objspec.formalisms.reward_machine import RM

    with pytest.raises(InvalidSpecificationError, match="tol"):
        RM([(0, 0, "a", 1.0)], 0, 0.9).compile(env).optimise(tol=bad)  # type: ignore[arg-type]


def rare_event_mdp(S: int, leak: Fraction) -> FiniteMDP:
    """A line where each step goes on with probability ``leak`` and falls back to 0
    otherwise; the last state is absorbing. Values of a reward at the end are ~leak^S."""
    P = np.zeros((S, 1, S), dtype=object)
    P[:] = Fraction(0)
    for s in range(S - 1):
        P[s, 0, s + 1] = leak
        P[s, 0, 0] += 1 - leak
    P[S - 1, 0, S - 1] = Fraction(1)
    init = [Fraction(1)] + [Fraction(0)] * (S - 1)
    return FiniteMDP(P, init)


@pytest.mark.parametrize(("gamma", "leak"), [(Fraction(1, 2), Fraction(1, 1000)),
                                             (Fraction(9, 10), Fraction(1, 100))])
def test_rtol_gives_relative_accuracy_on_rare_events(gamma: Fraction, leak: Fraction) -> None:
    S = 20
    env = rare_event_mdp(S, leak)
    r = [Fraction(0)] * (S - 1) + [Fraction(1)]
    exact = exact_values(env, Policy(np.ones((S, 1))), r, gamma)
    ex = np.array([float(v) for v in exact])
    assert ex[0] < 1e-30  # a rare event
    plain = evaluate(env, np.ones((S, 1)), np.array(r, float), float(gamma))
    rel = evaluate(env, np.ones((S, 1)), np.array(r, float), float(gamma), rtol=1e-9)
    assert rel.relative_error_bound is not None and rel.relative_error_bound <= 1e-9
    err = np.abs(rel.values - ex) / ex
    assert (err <= rel.relative_error_bound * (1 + 1e-9) + 1e-15).all()
    assert plain.relative_error_bound is None
    # the visitation of the rarely visited states, relatively too
    dex = np.array([float(v) for v in exact_state_visitation(env, Policy(np.ones((S, 1))),
                                                             gamma)])
    d = state_visitation(env, np.ones((S, 1)), float(gamma), rtol=1e-9)
    assert (np.abs(d - dex) <= 1e-9 * dex * (1 + 1e-9)).all()


def test_rtol_on_a_deterministic_line_at_tiny_scale() -> None:
    S, gamma = 400, 0.5  # value in state 0: 0.5^399 * 2, about 1e-120
    env = line(S)
    r = np.zeros(S)
    r[-1] = 1.0
    plain = evaluate(env, np.ones((S, 1)), r, gamma)
    ev = evaluate(env, np.ones((S, 1)), r, gamma, rtol=1e-10)
    exact = 2.0 * gamma ** (S - 1 - np.arange(S))  # powers of two: exact in float64
    assert ev.relative_error_bound is not None and ev.relative_error_bound <= 1e-10
    assert (np.abs(ev.values - exact) <= 1e-10 * exact).all()
    # the absolute default only promises 1e-12 absolute, which says nothing about 1e-120
    assert plain.error_bound >= 1e-20


def test_rtol_cannot_certify_a_cancelling_zero() -> None:
    P = np.zeros((2, 1, 2))
    P[:, 0, 1] = 1.0
    env = FiniteMDP(P, [1.0, 0.0])
    r = np.array([0.5, -0.5])  # V(1) = -1, V(0) = 0.5 + 0.5 * V(1) = 0 with gamma = 0.5
    with pytest.raises(SolverError, match="rtol"):
        evaluate(env, np.ones((2, 1)), r, 0.5, rtol=1e-9)
    ev = evaluate(env, np.ones((2, 1)), r, 0.5, rtol=1e-9, tol=1e-12)
    assert abs(ev.values[0]) <= 1e-12 and ev.relative_error_bound == float("inf")


# ----------------------------------------------------------------------------- properties


@st.composite
def functional_graphs(draw: st.DrawFn) -> tuple[np.ndarray, float]:
    """Random deterministic chains: cycles with trees hanging off them, long paths."""
    S = draw(st.integers(1, 300))
    kind = draw(st.sampled_from(["random", "cycle", "path", "permutation"]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    if kind == "random":
        succ = rng.integers(0, S, size=S)
    elif kind == "cycle":
        succ = (np.arange(S) + 1) % S
    elif kind == "path":
        succ = np.minimum(np.arange(S) + 1, S - 1)
    else:
        succ = rng.permutation(S)
    gamma = draw(st.sampled_from([0.0, 0.5, 0.9, 0.99, 0.9999, 0.999999]))
    return succ, gamma


@given(functional_graphs(), st.booleans())
def test_power_series_matches_sparse_lu(graph: tuple[np.ndarray, float], transpose: bool) -> None:
    succ, gamma = graph
    S = succ.size
    P = sp.csr_matrix((np.ones(S), (np.arange(S), succ)), shape=(S, S))
    env = sparse_chain_env(P)
    mask, succ2, weight = deterministic_chains(env, np.ones((1, S, 1)))
    assert mask[0] and (succ2[0] == succ).all()
    b = np.random.default_rng(S).random((S, 2))
    x = power_series_solve(succ, weight[0], gamma, b, transpose)
    ref = lu_values(P, b, gamma, transpose)
    ref = ref.reshape(S, -1)
    assert np.abs(x - ref).max() <= 1e-9 * np.abs(ref).max()
    sol = solve_policy_systems(env, np.ones((1, S, 1)), b[None], gamma, transpose=transpose)
    assert np.isfinite(sol.error_bound).all()
    err = (np.abs(sol.x[0] - ref).sum(axis=0) if transpose
           else np.abs(sol.x[0] - ref).max(axis=0))
    assert (err <= sol.error_bound[0] * (1 + 1e-6) + 1e-9 * np.abs(ref).max()).all()


@st.composite
def structured_chains(draw: st.DrawFn) -> tuple[sp.csr_matrix, float]:
    kind = draw(st.sampled_from(["periodic", "nearly_decomposable", "lazy_ring"]))
    seed = draw(st.integers(0, 1000))
    if kind == "periodic":
        P = periodic_chain(draw(st.integers(2, 40)), draw(st.integers(2, 8)), seed)
    elif kind == "nearly_decomposable":
        P = nearly_decomposable(2 * draw(st.integers(2, 200)),
                                draw(st.sampled_from([1e-3, 1e-6, 1e-9])))
    else:
        S = draw(st.integers(2, 400))
        s = np.arange(S)
        P = sp.csr_matrix((np.r_[np.full(S, 0.5), np.full(S, 0.5)],
                           (np.r_[s, s], np.r_[s, (s + 1) % S])), shape=(S, S))
    gamma = draw(st.sampled_from([0.5, 0.9, 0.99, 0.9999, 0.999999]))
    return P, gamma


@given(structured_chains(), st.sampled_from(["auto", "krylov"]))
def test_structured_chains_match_sparse_lu(chain: tuple[sp.csr_matrix, float],
                                           method: str) -> None:
    P, gamma = chain
    S = P.shape[0]
    env = sparse_chain_env(P)
    r = np.random.default_rng(S).random(S)
    ev = evaluate(env, np.ones((S, 1)), r, gamma, method=method)  # type: ignore[arg-type]
    ref = lu_values(P, r, gamma)
    assert np.isfinite(ev.error_bound)
    assert np.abs(ev.values - ref).max() <= ev.error_bound + 1e-10 * np.abs(ref).max()
    d = state_visitation(env, np.ones((S, 1)), gamma, method=method)  # type: ignore[arg-type]
    dref = lu_values(P, env.initial, gamma, transpose=True)
    assert np.abs(d - dref).sum() <= 1e-8 / (1 - gamma)


@given(structured_chains())
def test_rtol_certificate_holds_on_structured_chains(chain: tuple[sp.csr_matrix, float]) -> None:
    P, gamma = chain
    S = P.shape[0]
    env = sparse_chain_env(P)
    r = np.zeros(S)
    r[S - 1] = 1.0  # one rewarding state: values span many orders of magnitude
    # the componentwise condition number grows like 1 / (1 - gamma), so does what float64
    # can certify
    rtol = max(1e-9, 1e-11 / (1 - gamma))
    ev = evaluate(env, np.ones((S, 1)), r, gamma, rtol=rtol)
    ref = lu_values(P, r, gamma)
    assert ev.relative_error_bound is not None and ev.relative_error_bound <= rtol
    # the LU reference is itself only accurate to about eps / (1 - gamma) relative
    assert (np.abs(ev.values - ref) <= (rtol + 1e-12 / (1 - gamma)) * np.abs(ref)).all()


def test_formalisms_on_a_ring_do_not_blame_the_specification() -> None:
    from objspec.formalisms import FOMR, MR, OMORL, ONMR, RRL
    from objspec.formalisms.regularisers import negative_entropy

    S, gamma = 1400, 0.9
    env = ring(S)
    r = np.zeros(S)
    r[S // 2] = 1.0
    pis = np.ones((2, S, 1))
    exact = ring_values(S, S // 2, gamma)[0]
    specs = [
        MR(r, gamma),
        ONMR(r, lambda v: 2.0 * v, gamma),
        OMORL(np.stack([r, -r]), lambda v: float(v[0] - v[1]), gamma),
        RRL(r, negative_entropy, 0.1, gamma),
        FOMR(lambda m: float(m[S // 2].sum()), gamma),
    ]
    values = [spec.compile(env).values(pis) for spec in specs]  # type: ignore[attr-defined]
    for v in values:
        assert np.isfinite(v).all()
    assert abs(values[0][0] - exact) <= 1e-12
    assert abs(values[1][0] - 2 * exact) <= 1e-12
    assert abs(values[2][0] - 2 * exact) <= 1e-12
    assert abs(values[4][0] - ring_visitation(S, gamma)[S // 2]) <= 1e-12


def test_overflowing_values_raise_solver_error() -> None:
    S = 50
    s = np.arange(S)
    P = sp.csr_matrix((np.full(2 * S, 0.5), (np.r_[s, s], np.r_[(s + 1) % S, s])), shape=(S, S))
    env = FiniteMDP(P, np.eye(S)[0])
    with pytest.raises(SolverError, match="overflow"):
        evaluate(env, np.ones((S, 1)), np.full(S, 1e308), 0.999999)


def test_rtol_on_a_ring_whose_values_underflow() -> None:
    S, gamma = 20_000, 0.9  # 0.9^k underflows float64 for k > 6700: certified absolutely
    env = ring(S, shortcut=True)
    pi = np.zeros((S, 2))
    pi[:, 0] = 1.0
    r = np.zeros(S)
    r[S // 2] = 1.0
    ev = evaluate(env, pi, r, gamma, rtol=1e-9)
    exact = ring_values(S, S // 2, gamma)
    big = exact > 1e-280
    assert ev.relative_error_bound is not None and ev.relative_error_bound <= 1e-9
    assert (np.abs(ev.values[big] - exact[big]) <= 1e-9 * exact[big]).all()
    assert (np.abs(ev.values[~big] - exact[~big]) <= 1e-280).all()


def test_long_path_at_gamma_near_one() -> None:
    S, gamma = 100_000, 0.999999
    env = line(S)
    r = np.zeros(S)
    r[-1] = 1.0
    ev = evaluate(env, np.ones((S, 1)), r, gamma)
    exact = np.exp((S - 1 - np.arange(S)) * np.log(gamma)) / (1 - gamma)
    assert np.abs(ev.values - exact).max() <= ev.error_bound + 1e-9 * exact.max()
    d = state_visitation(env, np.ones((S, 1)), gamma)
    dexact = np.exp(np.arange(S) * np.log(gamma))
    dexact[-1] = dexact[-1] / (1 - gamma)
    assert np.abs(d - dexact).sum() <= 1e-6 / (1 - gamma)


@pytest.mark.skipif("torch" not in __import__("objspec.mdp.backends").mdp.backends
                    .available_backends(), reason="torch is not installed")
def test_torch_backend_on_a_ring() -> None:
    from objspec.mdp.backends import use_backend

    S, gamma = 1400, 0.9
    env = ring(S, shortcut=True)
    pi = np.full((S, 2), 0.5)
    r = np.zeros(S)
    r[S // 2] = 1.0
    ref = lu_values(linear.induced_chain_sparse(env, pi), r, gamma)
    with use_backend("torch"):
        ev = evaluate(env, pi, r, gamma, method="krylov")
    assert np.isfinite(ev.error_bound)
    assert np.abs(ev.values - ref).max() <= ev.error_bound + 1e-13


@pytest.mark.parametrize("formula", ["G F a", "(a U b) | F G !a", "F (b & X X a)"])
def test_deep_products_switch_to_one_graph_search_with_the_same_states(
    formula: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import objspec.ltl.product as product
    from objspec.formalisms import LTL
    from objspec.ltl.translation import translate

    S = 3_000  # a ring: 3,000 breadth-first layers, past LAYERED_SEARCH_MAX
    rows = np.arange(S)
    P = sp.csr_matrix((np.ones(S), (rows, (rows + 1) % S)), shape=(S, S))
    env = FiniteMDP(P, np.eye(S)[0], labels={0: ["a"], 7: ["b"], 8: ["a"]})
    automaton = translate(formula, ("a", "b"))
    deep = product.ProductSkeleton(env, automaton)
    fast_values = LTL(formula).compile(env).values(np.ones((1, S, 1)))
    monkeypatch.setattr(product, "LAYERED_SEARCH_MAX", 10**9)
    layered = product.ProductSkeleton(env, automaton)
    assert deep.n_states == layered.n_states
    pairs = {(int(s), int(q)) for s, q in zip(deep.env_state, deep.machine_state, strict=True)}
    assert pairs == {(int(s), int(q)) for s, q in
                     zip(layered.env_state, layered.machine_state, strict=True)}
    assert np.array_equal(deep.initial_states, layered.initial_states)
    assert np.allclose(fast_values, LTL(formula).compile(env).values(np.ones((1, S, 1))))


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("shape", ["chain", "random"])
def test_ordered_splu_solves_in_both_orders(seed: int, shape: str) -> None:
    # a search-ordered chain (small envelope: natural order, diagonal pivots) and a large
    # random graph (envelope ~ n^2 / 3: COLAMD); both solve I - gamma P to rounding
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    from objspec.mdp.linear import NATURAL_ORDER_ENVELOPE, matrix_envelope, ordered_splu

    rng = np.random.default_rng(seed)
    n = 400 if shape == "chain" else 3000
    rows, cols, vals = [], [], []
    for i in range(n):
        succ = (np.minimum(n - 1, i + rng.integers(0, 3, size=2)) if shape == "chain"
                else rng.choice(n, size=3, replace=False))
        if shape == "chain" and rng.random() < 0.1:
            succ = np.r_[succ, max(0, i - 5)]
        rows += [i] * len(succ)
        cols += list(succ)
        vals += list(rng.dirichlet(np.ones(len(succ))))
    P = sp.csr_matrix((vals, (rows, cols)), shape=(n, n))  # repeats are summed
    M = sp.csc_matrix(sp.identity(n) - 0.95 * P)
    natural = matrix_envelope(M) <= NATURAL_ORDER_ENVELOPE * (M.nnz + n)
    assert natural == (shape == "chain")
    b = rng.random(n)
    x = ordered_splu(M).solve(b)
    # the residual of a backward-stable solve, and agreement with scipy's own solver
    assert float(np.abs(M @ x - b).max()) <= 1e-12
    np.testing.assert_allclose(x, spla.spsolve(M, b), rtol=0, atol=1e-10)


def test_matrix_envelope_against_its_definition() -> None:
    import scipy.sparse as sp

    from objspec.mdp.linear import matrix_envelope

    rng = np.random.default_rng(1)
    for _ in range(100):
        n = int(rng.integers(1, 30))
        dense = (rng.random((n, n)) < 0.15) * 1.0
        want = 0
        for i in range(n):
            row, col = np.flatnonzero(dense[i]), np.flatnonzero(dense[:, i])
            want += max(0, i - int(row.min())) if row.size else 0
            want += max(0, i - int(col.min())) if col.size else 0
        assert matrix_envelope(sp.csr_matrix(dense)) == want
        assert matrix_envelope(sp.csc_matrix(dense)) == want


@pytest.mark.parametrize("seed", range(10))
def test_policy_system_is_the_dense_system_and_lu_reads_its_repeated_diagonal(
    seed: int,
) -> None:
    # I - gamma P[rows] built by index arithmetic (a self-loop leaves the diagonal stored
    # twice): the dense matrix, the same envelope, and SuperLU solves it to rounding
    import scipy.sparse as sp

    from objspec.mdp.linear import envelope_of, matrix_envelope, policy_system, splu_in_order

    rng = np.random.default_rng(seed)
    n, A = int(rng.integers(1, 60)), int(rng.integers(1, 4))
    dense = (rng.random((n * A, n)) < 0.1) * rng.random((n * A, n))
    loops = rng.random(n * A) < 0.5
    dense[loops, np.arange(n * A)[loops] // A] += 0.5
    dense /= np.maximum(dense.sum(axis=1, keepdims=True), 1e-300)
    P = sp.csr_matrix(dense)
    rows = np.arange(n) * A + rng.integers(0, A, size=n)
    gamma = float(rng.choice([0.5, 0.9, 1.0]))
    system = policy_system(P, rows, gamma)
    want = np.eye(n) - gamma * dense[rows]
    np.testing.assert_array_equal(system.toarray(), want)
    csc = system.tocsc()
    assert envelope_of(csc, system) == matrix_envelope(sp.csr_matrix(want))
    if gamma < 1.0:
        b = rng.random(n)
        x = splu_in_order(csc, envelope_of(csc, system)).solve(b)
        assert float(np.abs(want @ x - b).max()) <= 1e-12


@pytest.mark.parametrize("seed", range(6))
def test_optimal_values_of_a_chain_is_its_one_evaluation(seed: int) -> None:
    # a Markov chain written with several actions, one enabled per state: the direct
    # evaluation of its one policy, certified, agrees with value iteration
    from objspec.mdp import optimal_values

    rng = np.random.default_rng(seed)
    S, A = int(rng.integers(2, 300)), 3
    P = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            succ = rng.choice(S, size=min(S, 3), replace=False)
            P[s, a, succ] = rng.dirichlet(np.ones(succ.size))
    only = rng.integers(0, A, size=S)
    enabled = np.zeros((S, A), dtype=bool)
    enabled[np.arange(S), only] = True
    P[~enabled] = 0.0  # the rows of disabled actions are zero
    env = FiniteMDP(P, np.full(S, 1.0 / S), enabled=enabled)
    r = rng.random((S, A))
    got = optimal_values(env, r, 0.9, tol=1e-10)
    want = optimal_values(env, r, 0.9, tol=1e-10, method="value_iteration")
    assert got.error_bound <= 1e-10
    assert got.policies.tolist() == only.tolist()
    np.testing.assert_allclose(got.values, want.values, rtol=0, atol=3e-10)
