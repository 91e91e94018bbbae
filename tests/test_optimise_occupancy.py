"""Optimisers of the occupancy-level formalisms (ONMR, OMORL, FOMR, GOMORL, OMO) and the
generic registration of INMR and IMORL: property tests against every deterministic policy
and random stochastic ones, brute force on grids, sympy for ONMR on the witness
environments, cvxpy for concave OMORL/FOMR, and brute force for lexicographic GOMORL/OMO.
"""

from __future__ import annotations

import itertools
from fractions import Fraction as F
from typing import Any

import numpy as np
import pytest
import sympy

from objspec import orders
from objspec.environments import E1, E2, E3, E4, E5, E6, E7
from objspec.environments.generators import random_mdp, random_policies
from objspec.errors import InvalidSpecificationError
from objspec.expressions import scalar_function, vector_function
from objspec.formalisms import (
    FOMR,
    GOMORL,
    IMORL,
    INMR,
    OMO,
    OMORL,
    ONMR,
)
from objspec.formalisms.optimisation import GENERIC
from objspec.formalisms.registry import formalism_info
from objspec.mdp.evaluation import expected_return
from objspec.mdp.exact import exact_expected_return
from objspec.mdp.model import FiniteMDP
from objspec.mdp.occupancy_polytope import polytope_constraints
from objspec.mdp.policy import Policy, deterministic_policies

WITNESSES = [E1, E2, E3, E4, E5, E6, E7]


def rational_mdp(S: int, A: int, seed: int) -> FiniteMDP:
    """A random MDP with Fraction probabilities (exact evaluation possible)."""
    rng = np.random.default_rng(seed)
    P = np.empty((S, A, S), dtype=object)
    for s, a in itertools.product(range(S), range(A)):
        w = rng.integers(0, 4, size=S)
        if w.sum() == 0:
            w[rng.integers(S)] = 1
        P[s, a] = [F(int(x), int(w.sum())) for x in w]
    mu = [F(1, S)] * S
    return FiniteMDP(P, mu)


def _rational_policies(env: FiniteMDP, n: int, seed: int) -> list[Policy]:
    """Random stochastic policies with Fraction probabilities."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        w = rng.integers(0, 5, size=(env.n_states, env.n_actions)) * env.enabled
        w[w.sum(axis=1) == 0, 0] = 1
        out.append(Policy(np.array([[F(int(x), int(row.sum())) for x in row] for row in w],
                                   dtype=object)))
    return out


def _others(env: FiniteMDP, n_random: int = 20, seed: int = 0) -> list[np.ndarray]:
    det = [p.probabilities for p in deterministic_policies(env)]
    rnd = list(np.asarray(random_policies(env, n_random, seed=seed)))
    return det + rnd


def _check_not_beaten(spec: Any, env: FiniteMDP, opt: Any) -> None:
    """The optimum is at least every deterministic and random stochastic policy (within
    its bound), under the formalism's own evaluator."""
    ev = spec.compile(env)
    vals = ev.valuation(_others(env)).values
    bound = float(opt.bound or 0.0) + 1e-9 * max(1.0, float(np.abs(vals).max()))
    assert float(opt.value) >= float(vals.max()) - bound


# ---------------------------------------------------------------- ONMR


def _exact_interval(env: FiniteMDP, R: Any, gamma: Any) -> tuple[F, F]:
    vals = [exact_expected_return(env, p, R, gamma) for p in deterministic_policies(env)]
    return min(vals), max(vals)


@pytest.mark.parametrize("make", WITNESSES)
@pytest.mark.parametrize("text", ["-(x - 1/3)**2", "x - x**3", "x**2", "-x"])
def test_onmr_exact_matches_sympy_on_witnesses(make: Any, text: str) -> None:
    env = make()
    R = np.zeros((env.n_states, env.n_actions, env.n_states), dtype=object)
    R[...] = F(0)
    R[0, 0, :] = F(1)
    R[-1, -1, :] += F(1, 2)
    gamma = F(1, 2)
    spec = ONMR(R, scalar_function(text), gamma)
    lo, hi = _exact_interval(env, R, gamma)
    x = sympy.Symbol("x", real=True)
    expr = sympy.sympify(text.replace("x", "X"), locals={"X": x})
    top = sympy.maximum(expr, x, sympy.Interval(sympy.Rational(lo.numerator, lo.denominator),
                                                sympy.Rational(hi.numerator, hi.denominator)))
    opt = spec.optimise(env, exact=True)
    assert opt.guarantee in ("exact", "certified")
    if opt.guarantee == "exact":
        assert opt.value == F(int(sympy.fraction(top)[0]), int(sympy.fraction(top)[1]))
        assert opt.bound == 0
    else:
        assert 0 <= float(top) - float(opt.value) <= float(opt.bound) + 1e-30
    flt = spec.optimise(env)
    assert flt.guarantee == "certified"
    assert float(top) - float(flt.value) <= float(flt.bound) + 1e-12
    assert float(flt.value) <= float(top) + 1e-9


@pytest.mark.parametrize("seed", range(4))
def test_onmr_not_beaten_and_grid(seed: int) -> None:
    env = random_mdp(2, 2, seed=seed)
    rng = np.random.default_rng(seed)
    R = rng.normal(size=(2, 2))
    c = float(rng.normal())
    spec = ONMR(R, lambda x: -(x - c) ** 2 + 0.1 * x ** 3, 0.7)
    opt = spec.optimise(env)
    assert opt.guarantee == "certified"
    _check_not_beaten(spec, env, opt)
    # brute force on a fine grid of the 2-state policies
    grid = np.linspace(0, 1, 41)
    pols = np.array([[[p, 1 - p], [q, 1 - q]] for p in grid for q in grid])
    vals = spec.compile(env).valuation(pols).values
    assert float(opt.value) >= vals.max() - float(opt.bound) - 1e-9


def test_onmr_non_symbolic_is_heuristic_and_good() -> None:
    env = E3()
    R = np.zeros((2, 2, 2))
    R[0, 0, 1] = 1
    spec = ONMR(R, lambda x: float(np.cos(7 * x)), 0.5)
    opt = spec.optimise(env)
    assert opt.guarantee == "heuristic"
    _check_not_beaten(spec, env, opt)
    assert float(opt.value) == pytest.approx(1.0)  # cos(7x) = 1 at x = 0, achievable


def test_onmr_attains_interior_target_exactly() -> None:
    env = E3()
    R = np.zeros((2, 2, 2), dtype=object)
    R[...] = F(0)
    R[0, 0, 1] = F(1)
    spec = ONMR(R, lambda x: -(x - F(1, 2)) ** 2, F(1, 2))
    opt = spec.optimise(env, exact=True)
    assert opt.guarantee == "exact" and opt.value == 0
    assert exact_expected_return(env, opt.policy, R, F(1, 2)) == F(1, 2)


# ---------------------------------------------------------------- OMORL and FOMR


def _scipy_optimum(env: FiniteMDP, gamma: float, F_: Any, grad: Any) -> float:
    """An independent oracle without cvxpy: SLSQP over the occupancy polytope."""
    from scipy.optimize import minimize

    A_eq, b = polytope_constraints(env, gamma)
    A_d = A_eq.toarray()
    n = A_d.shape[1]
    best = -np.inf
    for x0 in (np.full(n, 1 / ((1 - gamma) * env.n_actions * env.n_states)),):
        res = minimize(lambda x: -F_(x), x0, jac=lambda x: -grad(x), method="SLSQP",
                       bounds=[(0, None)] * n,
                       constraints=[{"type": "eq", "fun": lambda x: A_d @ x - b,
                                     "jac": lambda x: A_d}],
                       options={"ftol": 1e-14, "maxiter": 2000})
        if np.abs(A_d @ res.x - b).max() < 1e-8 and res.x.min() > -1e-10:
            best = max(best, -float(res.fun))
    return best


def _cvxpy_optimum(env: FiniteMDP, gamma: float, objective: Any) -> float:
    cp = pytest.importorskip("cvxpy")
    A_eq, b = polytope_constraints(env, gamma)
    m = cp.Variable(env.n_states * env.n_actions)
    prob = cp.Problem(cp.Maximize(objective(m)), [A_eq @ m == b, m >= 0])
    prob.solve(solver=cp.CLARABEL)
    return float(prob.value)


@pytest.mark.parametrize("seed", range(3))
def test_omorl_concave_matches_cvxpy(seed: int) -> None:
    env = random_mdp(5, 3, seed=seed)
    rng = np.random.default_rng(seed)
    R = rng.normal(size=(2, 5, 3))
    a, b = rng.normal(size=2)
    spec = OMORL(R, lambda v: -(v[0] - a) ** 2 - 2 * (v[1] - b) ** 2, 0.8)
    opt = spec.optimise(env)
    assert opt.guarantee == "certified" and float(opt.bound) <= 1e-5
    r = R.reshape(2, -1)
    top = _cvxpy_optimum(env, 0.8, lambda m: -(r[0] @ m - a) ** 2 - 2 * (r[1] @ m - b) ** 2)
    assert float(opt.value) == pytest.approx(top, abs=1e-5)
    assert top - float(opt.value) <= float(opt.bound) + 1e-6  # the certificate holds
    _check_not_beaten(spec, env, opt)


@pytest.mark.parametrize("seed", range(3))
def test_omorl_concave_matches_scipy(seed: int) -> None:
    env = random_mdp(4, 2, seed=seed)
    rng = np.random.default_rng(seed)
    R = rng.normal(size=(2, 4, 2))
    a, b = rng.normal(size=2)
    r = R.reshape(2, -1)
    spec = OMORL(R, lambda v: -(v[0] - a) ** 2 - 2 * (v[1] - b) ** 2, 0.8)
    opt = spec.optimise(env)
    assert opt.guarantee == "certified" and float(opt.bound) <= 1e-5

    def F_(x: np.ndarray) -> float:
        return float(-(r[0] @ x - a) ** 2 - 2 * (r[1] @ x - b) ** 2)

    def grad(x: np.ndarray) -> np.ndarray:
        return -2 * (r[0] @ x - a) * r[0] - 4 * (r[1] @ x - b) * r[1]

    top = _scipy_optimum(env, 0.8, F_, grad)
    assert top - float(opt.value) <= float(opt.bound) + 1e-7  # the certificate holds
    assert float(opt.value) <= top + 1e-6


def test_omorl_formula_is_recognised_concave() -> None:
    env = random_mdp(3, 2, seed=7)
    R = np.random.default_rng(7).normal(size=(2, 3, 2))
    f = vector_function("-(x[0] - 1)**2 - x[1]**2 + x[0]*x[1]/2", 2)
    opt = OMORL(R, f, 0.5).optimise(env)
    assert opt.guarantee == "certified"
    _check_not_beaten(OMORL(R, f, 0.5), env, opt)


def test_omorl_non_concave_is_local_and_not_beaten() -> None:
    env = random_mdp(3, 2, seed=3)
    R = np.random.default_rng(3).normal(size=(2, 3, 2))
    spec = OMORL(R, lambda v: min(v[0], v[1]), 0.6)
    opt = spec.optimise(env, seed=1)
    assert opt.guarantee in ("local", "heuristic")
    ev = spec.compile(env)
    det = ev.valuation([p.probabilities for p in deterministic_policies(env)]).values
    assert float(opt.value) >= det.max() - 1e-9


@pytest.mark.parametrize("seed", range(2))
def test_fomr_concave_with_gradient_matches_cvxpy(seed: int) -> None:
    cp = pytest.importorskip("cvxpy")
    env = random_mdp(4, 2, seed=seed)
    S, A = 4, 2
    W = np.random.default_rng(seed).uniform(0, 0.5, size=(S, A, S))
    spec = FOMR(lambda m: -float(np.sum((np.asarray(m, dtype=float) - W) ** 2)), 0.75,
                concave=True, gradient=lambda m: -2 * (np.asarray(m, dtype=float) - W))
    opt = spec.optimise(env)
    assert opt.guarantee == "certified"
    tau = env.transitions.reshape(S * A, S)
    top = _cvxpy_optimum(env, 0.75, lambda m: -cp.sum_squares(
        cp.multiply(cp.reshape(m, (S * A, 1), order="C") @ np.ones((1, S)), tau)
        - W.reshape(S * A, S)))
    assert float(opt.value) == pytest.approx(top, abs=1e-5)
    assert top - float(opt.value) <= float(opt.bound) + 1e-6
    _check_not_beaten(spec, env, opt)


def test_fomr_concave_without_gradient_is_heuristic() -> None:
    env = random_mdp(2, 2, seed=0)
    spec = FOMR(lambda m: -float(np.sum((np.asarray(m, dtype=float) - 0.2) ** 2)), 0.5,
                concave=True)
    opt = spec.optimise(env)
    assert opt.guarantee == "heuristic"
    _check_not_beaten(spec, env, opt)


def test_fomr_default_local() -> None:
    env = E3()
    spec = FOMR(lambda m: float(m[0, 0, 1] * (1 - m[0, 0, 1])), 0.9)
    opt = spec.optimise(env)
    assert opt.guarantee in ("local", "heuristic")
    _check_not_beaten(spec, env, opt)


@pytest.mark.parametrize("bad", [{"concave": 1}, {"concave": "yes"}, {"gradient": 3}])
def test_bad_keywords(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidSpecificationError):
        FOMR(lambda m: 0.0, 0.5, **bad)
    with pytest.raises(InvalidSpecificationError):
        OMORL(np.zeros((1, 2)), lambda v: 0.0, 0.5, **bad)


# ---------------------------------------------------------------- GOMORL and OMO


def _lex_best(ev: Any, env: FiniteMDP) -> Any:
    pols = [p for p in deterministic_policies(env)]
    ranks = ev.rank(pols)
    return pols[int(np.argmin(ranks))]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("signs", [None, [1, -1], [-1, 1, 1]])
def test_gomorl_lexicographic_exact_vs_brute_force(seed: int, signs: Any) -> None:
    env = rational_mdp(3, 2, seed)
    k = 2 if signs is None or len(signs) == 2 else 3
    rng = np.random.default_rng(seed)
    R = rng.integers(-1, 2, size=(k, 3, 2)).astype(float)  # ties are likely: a real test
    spec = GOMORL(R, orders.lexicographic(signs), F(1, 2))
    opt = spec.optimise(env)
    assert opt.guarantee == "exact"
    ev = spec.compile(env, exact=True)
    best = _lex_best(ev, env)
    assert ev.compare(opt.policy, best) >= 0
    for pi in _rational_policies(env, 10, seed):
        assert ev.compare(opt.policy, pi) >= 0


def test_gomorl_linear_key_and_reverse() -> None:
    env = rational_mdp(3, 2, 11)
    R = np.random.default_rng(11).normal(size=(2, 3, 2))
    for order in (orders.by_key(lambda v: v[0] - 2 * v[1]),
                  orders.reverse(orders.lexicographic()),
                  orders.pullback(orders.lexicographic(), lambda v: (v[1], v[0] + v[1]))):
        spec = GOMORL(R, order, F(1, 2))
        opt = spec.optimise(env)
        assert opt.guarantee == "exact"
        ev = spec.compile(env, exact=True)
        assert ev.compare(opt.policy, _lex_best(ev, env)) >= 0


def test_gomorl_other_order_uses_generic_search() -> None:
    env = rational_mdp(2, 2, 5)
    R = np.random.default_rng(5).normal(size=(2, 2, 2))
    spec = GOMORL(R, orders.thresholded_lexicographic([0.0, None]), F(1, 2))
    opt = spec.optimise(env)
    assert opt.guarantee in ("local", "heuristic")
    ev = spec.compile(env)
    assert ev.compare(opt.policy, _lex_best(ev, env)) >= 0


@pytest.mark.parametrize("make", [E1, E3, E4, E5])
def test_omo_lexicographic_exact(make: Any) -> None:
    env = make()
    spec = OMO(orders.lexicographic(), F(1, 2))
    opt = spec.optimise(env)
    assert opt.guarantee == "exact"
    ev = spec.compile(env, exact=True)
    assert ev.compare(opt.policy, _lex_best(ev, env)) >= 0


def test_float_model_lexicographic_is_not_exact() -> None:
    env = random_mdp(4, 2, seed=2)
    R = np.random.default_rng(2).normal(size=(2, 4, 2))
    spec = GOMORL(R, orders.lexicographic(), 0.5)
    opt = spec.optimise(env)
    assert opt.guarantee in ("local", "heuristic")
    ev = spec.compile(env)
    assert ev.compare(opt.policy, _lex_best(ev, env)) >= 0


# ---------------------------------------------------------------- INMR and IMORL


def test_inner_formalisms_register_the_generic_search() -> None:
    assert formalism_info(INMR).optimiser is GENERIC
    assert formalism_info(IMORL).optimiser is GENERIC
    env = E3()
    R = np.zeros((2, 2, 2))
    R[0, 0, 1] = 1
    spec = INMR(R, lambda x: -(x - 0.5) ** 2, 0.9)
    opt = spec.optimise(env)
    _check_not_beaten(spec, env, opt)


def test_registered_optimisers() -> None:
    for cls in (ONMR, OMORL, FOMR, GOMORL, OMO):
        info = formalism_info(cls)
        assert info.optimiser is not None and info.optimiser is not GENERIC


def test_onmr_value_is_the_return_of_the_policy() -> None:
    env = random_mdp(3, 2, seed=4)
    R = np.random.default_rng(4).normal(size=(3, 2))
    spec = ONMR(R, lambda x: -abs(x - 0.1), 0.5)
    opt = spec.optimise(env)
    ret = float(expected_return(env, opt.policy, R, 0.5))
    assert float(opt.value) == pytest.approx(-abs(ret - 0.1), abs=1e-12)


def test_omo_linear_key_exact_vs_brute_force() -> None:
    env = rational_mdp(3, 2, 8)
    spec = OMO(orders.by_key(lambda m: (m[0, 0, 1] - 2 * m[1, 1, 0], -m[2, 0, 2])), F(1, 3))
    opt = spec.optimise(env)
    assert opt.guarantee == "exact"
    ev = spec.compile(env, exact=True)
    assert ev.compare(opt.policy, _lex_best(ev, env)) >= 0
    for pi in _rational_policies(env, 10, 8):
        assert ev.compare(opt.policy, pi) >= 0


def test_omo_lexicographic_on_a_larger_float_model() -> None:
    env = random_mdp(30, 2, 3, seed=1)
    spec = OMO(orders.lexicographic(), 0.5)
    opt = spec.optimise(env)  # 30 * 2 * 30 stages at most, read lazily
    assert opt.guarantee in ("local", "heuristic")
    ev = spec.compile(env)
    for pi in random_policies(env, 10, seed=1):
        assert ev.compare(opt.policy, Policy(pi)) >= 0


@pytest.mark.parametrize("acronym", ["ONMR", "OMORL", "FOMR", "GOMORL", "OMO"])
@pytest.mark.parametrize("seed", range(3))
def test_registered_samplers_not_beaten(acronym: str, seed: int) -> None:
    """Each formalism's own seeded sampler: the optimum is at least as good as every
    deterministic policy and a random rational sample (within its bound)."""
    from objspec.formalisms.registry import formalism_info as info_of
    from objspec.formalisms.registry import registered_formalisms

    info = next(i for i in registered_formalisms() if i.acronym == acronym)
    assert info_of(info.cls) is info
    env = rational_mdp(2 + seed % 2, 2, seed)
    spec = info.sampler(env, np.random.default_rng(seed))
    opt = spec.optimise(env, seed=seed)
    ev = spec.compile(env, exact=True)
    others = list(deterministic_policies(env)) + _rational_policies(env, 10, seed)
    if hasattr(ev, "exact_value"):
        tol = float(opt.bound or 0) + 1e-9
        best = max(float(ev.exact_value(p)) for p in others)
        assert float(opt.value) >= best - tol * max(1.0, abs(best))
    else:
        for p in others:
            assert ev.compare(opt.policy, p) >= 0


def test_omorl_non_quadratic_concave_certificate_holds() -> None:
    env = random_mdp(4, 2, seed=9)
    R = np.random.default_rng(9).normal(size=(2, 4, 2))
    r = R.reshape(2, -1)

    def f(v: Any) -> float:
        return float(-np.exp(0.5 * float(v[0])) - np.exp(-0.7 * float(v[1])))

    def grad_v(v: Any) -> np.ndarray:
        return np.array([-0.5 * np.exp(0.5 * float(v[0])), 0.7 * np.exp(-0.7 * float(v[1]))])

    spec = OMORL(R, f, 0.7, concave=True, gradient=grad_v)
    opt = spec.optimise(env)
    assert opt.guarantee == "certified" and float(opt.bound) <= 1e-5
    top = _scipy_optimum(env, 0.7, lambda x: f(r @ x), lambda x: r.T @ grad_v(r @ x))
    assert top - float(opt.value) <= float(opt.bound) + 1e-7
    _check_not_beaten(spec, env, opt)


@pytest.mark.parametrize("seed", range(3))
def test_gomorl_thresholded_and_constrained_orders(seed: int) -> None:
    env = random_mdp(3, 2, seed=seed)
    R = np.random.default_rng(seed).normal(size=(2, 3, 2))
    for order in (orders.thresholded_lexicographic([0.3, None]),
                  orders.constrained(1, [(0, 0.2)])):
        spec = GOMORL(R, order, 0.8)
        opt = spec.optimise(env, seed=seed)
        assert opt.guarantee in ("local", "heuristic")
        ev = spec.compile(env)
        for p in deterministic_policies(env):
            assert ev.compare(opt.policy, p) >= 0


# ---------------------------------------------------------------- FOMR sparse form and the
# blended Frank-Wolfe (issue 13: concave FOMR at scale)


def _quadratic_fomr(env: FiniteMDP, seed: int, lam: float, sparse: bool) -> tuple[Any, Any]:
    """``f(m) = <R, x> - lam/2 |x|^2`` with ``x(s, a) = sum_s' m(s, a, s')`` and its
    gradient, written for the dense ``[S, A, S]`` or the sparse ``(S*A, S)`` form."""
    S, A = env.n_states, env.n_actions
    r = np.random.default_rng(seed).normal(size=S * A)

    def x_of(m: Any) -> np.ndarray:
        if sparse:
            return np.asarray(m.sum(axis=1), dtype=float).ravel()
        return np.asarray(m, dtype=float).sum(axis=2).ravel()

    def f(m: Any) -> float:
        x = x_of(m)
        return float(r @ x - lam / 2 * (x @ x))

    def gradient(m: Any) -> np.ndarray:
        g = np.repeat((r - lam * x_of(m))[:, None], S, axis=1)
        return g if sparse else g.reshape(S, A, S)

    return f, gradient


@pytest.mark.parametrize("seed", range(4))
def test_fomr_sparse_form_agrees_with_dense_and_cvxpy(seed: int) -> None:
    cp = pytest.importorskip("cvxpy")
    import scipy.sparse as sps

    rng = np.random.default_rng(seed)
    S, A = int(rng.integers(3, 9)), int(rng.integers(2, 4))
    env = random_mdp(S, A, seed=seed)
    gamma, lam = 0.85, float(rng.uniform(0.2, 2.0))
    seen: list[Any] = []
    f_s, g_s = _quadratic_fomr(env, seed, lam, sparse=True)

    def f_rec(m: Any) -> float:
        seen.append(m)
        return f_s(m)

    sparse = FOMR(f_rec, gamma, concave=True, gradient=g_s, sparse=True)
    f_d, g_d = _quadratic_fomr(env, seed, lam, sparse=False)
    dense = FOMR(f_d, gamma, concave=True, gradient=g_d)
    pols = random_policies(env, 5, seed=seed)
    np.testing.assert_allclose(sparse.compile(env).values(pols), dense.compile(env).values(pols),
                               rtol=1e-10, atol=1e-12)
    assert seen and all(sps.issparse(m) and m.shape == (S * A, S)
                        and m.nnz <= env.transition_matrix.nnz for m in seen)
    opt_s, opt_d = sparse.optimise(env), dense.optimise(env)
    assert opt_s.guarantee == opt_d.guarantee == "certified"
    r = np.random.default_rng(seed).normal(size=S * A)
    top = _cvxpy_optimum(env, gamma, lambda m: r @ m - lam / 2 * cp.sum_squares(m))
    for opt in (opt_s, opt_d):
        assert 0 <= float(opt.bound) <= 1e-6
        assert top - float(opt.value) <= float(opt.bound) + 1e-7  # the certificate holds
        assert float(opt.value) <= top + 1e-6
    _check_not_beaten(dense, env, opt_s)


def test_fomr_sparse_exact_compile_gets_the_dense_layout() -> None:
    env = rational_mdp(3, 2, seed=5)
    spec = FOMR(lambda m: m[0, 1] + 2 * m[5, 2] - m[3, 0] * m[3, 0], F(1, 2), sparse=True)
    dense = FOMR(lambda m: m[0, 0, 1] + 2 * m[2, 1, 2] - m[1, 1, 0] * m[1, 1, 0], F(1, 2))
    pols = _rational_policies(env, 3, seed=1)
    for p in pols:
        got = spec.compile(env, exact=True).exact_value(p)
        assert isinstance(got, F)
        assert got == dense.compile(env, exact=True).exact_value(p)
    np.testing.assert_allclose(spec.compile(env).values(pols), dense.compile(env).values(pols),
                               rtol=1e-10)
    assert "sparse=True" in repr(spec)


@pytest.mark.parametrize("seed", range(3))
def test_frank_wolfe_gap_bounds_the_true_suboptimality(seed: int) -> None:
    """The returned gap is at least the true distance to the optimum (cvxpy), for a
    strongly concave quadratic and for a concave function that is not quadratic."""
    cp = pytest.importorskip("cvxpy")
    from objspec.mdp.control import optimal_values
    from objspec.mdp.occupancy_polytope import frank_wolfe

    rng = np.random.default_rng(100 + seed)
    S, A = 6, 3
    env = random_mdp(S, A, seed=100 + seed)
    gamma = 0.9
    M = rng.normal(size=(4, S * A))
    c = rng.normal(size=4)
    start = [np.asarray(optimal_values(env, rng.normal(size=(S, A)), gamma).policies)]

    def Fq(x: np.ndarray) -> float:
        return float(-np.sum((M @ x - c) ** 2) - 0.01 * (x @ x))

    def Gq(x: np.ndarray) -> np.ndarray:
        return -2 * M.T @ (M @ x - c) - 0.02 * x

    res = frank_wolfe(env, gamma, Fq, Gq, start, tol=1e-7)
    top = _cvxpy_optimum(env, gamma, lambda m: -cp.sum_squares(M @ m - c)
                         - 0.01 * cp.sum_squares(m))
    assert res.converged and res.gap <= 1e-7
    assert top - res.value <= res.gap + 1e-8
    assert res.value <= top + 1e-6
    assert np.isclose(res.weights.sum(), 1.0) and len(res.vertices) == len(res.weights)

    w = rng.normal(size=(2, S * A))

    def Fe(x: np.ndarray) -> float:
        return float(-np.exp(w[0] @ x / 4) - np.exp(-w[1] @ x / 4))

    def Ge(x: np.ndarray) -> np.ndarray:
        return -np.exp(w[0] @ x / 4) * w[0] / 4 + np.exp(-w[1] @ x / 4) * w[1] / 4

    res = frank_wolfe(env, gamma, Fe, Ge, start, tol=1e-7)
    top = _cvxpy_optimum(env, gamma, lambda m: -cp.exp(w[0] @ m / 4) - cp.exp(-w[1] @ m / 4))
    assert res.converged
    assert top - res.value <= res.gap + 1e-7
    assert res.value <= top + 1e-6


def test_fomr_sparse_on_a_larger_model_is_certified() -> None:
    """300 states: the sparse form never builds an [S, A, S] array; the certified gap is
    met and the optimum is not beaten by deterministic policies' random sample."""
    import scipy.sparse as sps

    env = random_mdp(300, 2, 3, seed=4)
    f, _ = _quadratic_fomr(env, 4, 0.5, sparse=True)
    shapes: set[Any] = set()

    tau = sps.csr_array(env.transition_matrix)
    rows = np.repeat(np.arange(600), np.diff(tau.indptr))
    r = np.random.default_rng(4).normal(size=600)

    def grad(m: Any) -> Any:  # sparse, on tau's support: d f / d m(s, a, s') = r - lam x
        assert sps.issparse(m)
        shapes.add(m.shape)
        out = tau.copy()
        out.data = (r - 0.5 * np.asarray(m.sum(axis=1)).ravel())[rows]
        return out

    spec = FOMR(f, 0.9, concave=True, gradient=grad, sparse=True)
    opt = spec.optimise(env)
    assert opt.guarantee == "certified" and float(opt.bound) <= 1e-6
    assert shapes == {(600, 300)}
    vals = spec.compile(env).values(random_policies(env, 20, seed=0))
    assert float(opt.value) >= float(vals.max()) - float(opt.bound)


@pytest.mark.parametrize("bad_gradient", [
    lambda m: np.zeros(7),  # wrong shape
    lambda m: np.full(np.shape(m), np.nan),  # not finite
    lambda m: "gradient",  # not an array
])
def test_fomr_bad_gradient_is_a_named_error(bad_gradient: Any) -> None:
    env = random_mdp(3, 2, seed=0)
    spec = FOMR(lambda m: -float(np.sum(np.asarray(m, dtype=float) ** 2)), 0.5, concave=True,
                gradient=bad_gradient)
    with pytest.raises(InvalidSpecificationError):
        spec.optimise(env)


def test_fomr_sparse_bad_input_is_a_named_error() -> None:
    import scipy.sparse as sps

    from objspec.mdp.occupancy_polytope import frank_wolfe, sparse_occupancy_measure

    env = random_mdp(3, 2, seed=0)
    with pytest.raises(InvalidSpecificationError):
        FOMR(lambda m: 0.0, 0.5, sparse="yes")  # type: ignore[arg-type]
    spec = FOMR(lambda m: -float(m.sum() ** 2), 0.5, concave=True, sparse=True,
                gradient=lambda m: sps.csr_array((5, 5)))  # sparse, wrong shape
    with pytest.raises(InvalidSpecificationError):
        spec.optimise(env)
    with pytest.raises(InvalidSpecificationError):
        sparse_occupancy_measure(env, np.ones(5))
    with pytest.raises(InvalidSpecificationError):
        frank_wolfe(env, 0.5, lambda x: 0.0, lambda x: np.zeros(6), [np.zeros(3, dtype=int)],
                    tol=0.0)
    with pytest.raises(InvalidSpecificationError):
        OMORL(np.ones((1, 3, 2)), lambda v: -float(v[0]) ** 2, 0.5, concave=True,
              gradient=lambda v: [1.0, 2.0]).optimise(env)


@pytest.mark.parametrize("seed", range(6))
def test_corrective_simplex_qp_active_set_is_optimal(seed: int) -> None:
    """The corrective step's small QP over the simplex (negative semidefinite, possibly
    singular H): the active-set answer is feasible and satisfies the KKT conditions."""
    from objspec.mdp.occupancy_polytope import _simplex_qp_active_set

    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 12))
    B = rng.normal(size=(k, int(rng.integers(1, k + 1))))  # rank-deficient when < k
    H = -B @ B.T
    w = rng.dirichlet(np.ones(k))
    c = rng.normal(size=k)
    u = _simplex_qp_active_set(w, c, H)
    assert u is not None
    assert u.min() >= 0 and abs(u.sum() - 1) <= 1e-12
    grad = c + H @ (u - w)
    level = grad[u > 1e-12].mean()
    assert np.abs(grad[u > 1e-12] - level).max() <= 1e-8  # equal on the support
    assert grad.max() <= level + 1e-8  # no bound wants to increase
