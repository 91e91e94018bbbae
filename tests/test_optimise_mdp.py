"""Optimisers of MR, LAR and RRL (issue 13): the optimum beats every deterministic policy
and a sample of stochastic ones under the formalism's own evaluator (within ``bound``),
exact results agree with brute force, and the oracles (mdpsolver, Storm's LRAmax) agree."""

from __future__ import annotations

import importlib.util
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from objspec import FiniteMDP, Policy
from objspec.environments import strategies as ost
from objspec.environments.generators import random_mdp, random_policies
from objspec.errors import InvalidSpecificationError
from objspec.formalisms import LimitAverageReward, MarkovReward, RegularisedRL
from objspec.formalisms.registry import formalism_info
from objspec.formalisms.regularisers import kl_to, negative_entropy
from objspec.mdp.exact_control import exact_multichain_policy_iteration
from objspec.mdp.gain import (
    gain_optimal_policy,
    gain_policy_iteration,
    gain_upper_bound,
    gain_value_iteration,
    maximal_end_components,
)
from objspec.mdp.policy import deterministic_policies
from objspec.mdp.soft import soft_value_iteration

SETTINGS = settings(max_examples=25, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _all_values(spec: Any, env: FiniteMDP, extra: int = 32, seed: int = 0) -> np.ndarray:
    """Values of every deterministic policy and ``extra`` random stochastic ones."""
    ev = spec.compile(env)
    pols = [p.probabilities for p in deterministic_policies(env)]
    rng = np.random.default_rng(seed)
    for _ in range(extra):
        w = rng.exponential(size=(env.n_states, env.n_actions)) * env.enabled
        pols.append(w / w.sum(axis=1, keepdims=True))
    return np.asarray(ev.valuation(np.stack(pols)).values)


def _check_dominates(spec: Any, env: FiniteMDP, opt: Any) -> None:
    vals = _all_values(spec, env)
    slack = float(opt.bound) + 1e-9 * max(1.0, float(np.abs(vals).max()))
    assert float(opt.value) >= vals.max() - slack


def test_the_three_formalisms_register_their_optimisers() -> None:
    for acronym, guarantee in (("MR", "exact"), ("LAR", "exact"), ("RRL", "certified")):
        opt = formalism_info(acronym).optimiser
        assert opt is not None and opt.guarantee == guarantee
        assert "(" in opt.complexity  # a reference


# ------------------------------------------------------------------------------ MR


@SETTINGS
@given(ost.mdps(max_states=4, masked=True).flatmap(
    lambda env: st.tuples(st.just(env), ost.markov_rewards(env))))
def test_mr_optimum_dominates_every_policy(pair: tuple[FiniteMDP, Any]) -> None:
    env, spec = pair
    opt = spec.optimise(env)
    assert opt.guarantee == "certified" and 0 <= opt.bound <= 1e-7
    _check_dominates(spec, env, opt)


@SETTINGS
@given(ost.mdps(max_states=3, exact=True, masked=True).flatmap(
    lambda env: st.tuples(st.just(env), ost.markov_rewards(env))))
def test_mr_exact_is_the_brute_force_maximum(pair: tuple[FiniteMDP, Any]) -> None:
    env, spec = pair
    opt = spec.optimise(env, exact=True)
    assert opt.guarantee == "exact" and opt.bound == 0
    assert isinstance(opt.value, Fraction)
    ev = spec.compile(env, exact=True)
    assert opt.value == max(ev.exact_value(p) for p in deterministic_policies(env))


def test_mr_against_mdpsolver() -> None:
    mdpsolver = pytest.importorskip("mdpsolver")
    S, A = 40, 3
    env = random_mdp(S, A, 4, seed=5)
    R = np.random.default_rng(5).random((S, A))
    opt = MarkovReward(R, 0.95).optimise(env)
    P = env.transition_matrix
    model = mdpsolver.model()
    model.mdp(discount=0.95, rewards=R.tolist(),
              tranMatProbs=[[P[s * A + a].data.tolist() for a in range(A)] for s in range(S)],
              tranMatColumns=[[P[s * A + a].indices.tolist() for a in range(A)]
                              for s in range(S)])
    model.solve(tolerance=1e-10, verbose=False)
    theirs = float(env.initial @ np.array(model.getValueVector()))
    assert abs(theirs - opt.value) <= opt.bound + 1e-7
    assert np.array_equal(opt.policy.probabilities.argmax(axis=1), np.array(model.getPolicy()))


# ------------------------------------------------------------------------------ LAR


def _multichain(seed: int, S: int, A: int) -> FiniteMDP:
    """Closed low region, leaky high region, two absorbing states: several end components
    and transient choices between them."""
    rng = np.random.default_rng(seed)
    P = np.zeros((S, A, S))
    k = max(2, S // 3)
    for s in range(S):
        for a in range(A):
            t = rng.choice(k if s < k else S, size=2, replace=False)
            P[s, a, t] = rng.dirichlet(np.ones(2))
    for s in rng.choice(S, size=2, replace=False):
        P[s] = 0.0
        P[s, :, s] = 1.0
    return FiniteMDP(P, np.ones(S) / S)


@pytest.mark.parametrize("seed", range(8))
def test_lar_optimum_beats_every_deterministic_policy(seed: int) -> None:
    env = _multichain(seed, 9, 2)
    spec = LimitAverageReward(np.random.default_rng(seed).normal(size=(9, 2)))
    opt = spec.optimise(env)
    assert opt.guarantee == "certified" and 0 < opt.bound <= 1e-7
    _check_dominates(spec, env, opt)
    # the linear program (the fallback path) finds an optimal policy too
    lp = gain_optimal_policy(env, spec.reward)
    lp_value = spec.compile(env).value(Policy.deterministic(lp.actions, 2))
    assert abs(lp_value - opt.value) <= opt.bound
    assert np.abs(lp.gains - gain_policy_iteration(env, spec.reward).gains).max() <= 1e-9


@SETTINGS
@given(ost.mdps(max_states=4, exact=True, masked=True).flatmap(
    lambda env: st.tuples(st.just(env), ost.limit_average_rewards(env))))
def test_lar_exact_is_the_brute_force_maximum(pair: tuple[FiniteMDP, Any]) -> None:
    env, spec = pair
    opt = spec.optimise(env, exact=True)
    assert opt.guarantee == "exact" and isinstance(opt.value, Fraction)
    ev = spec.compile(env, exact=True)
    assert opt.value == max(ev.exact_value(p) for p in deterministic_policies(env))
    # the float path's proven bound covers the exact optimum
    fl = spec.optimise(env)
    assert float(fl.value) - 1e-9 <= opt.value <= float(fl.value) + fl.bound


@SETTINGS
@given(ost.mdps(max_states=4, exact=True, masked=True).flatmap(
    lambda env: st.tuples(st.just(env), ost.limit_average_rewards(env))))
def test_exact_multichain_policy_iteration_gains_are_state_wise_optimal(
        pair: tuple[FiniteMDP, Any]) -> None:
    from objspec.mdp.longrun import exact_long_run_average_values

    env, spec = pair
    sol = exact_multichain_policy_iteration(env, spec.reward)
    best = np.array([exact_long_run_average_values(env, p, spec.reward)
                     for p in deterministic_policies(env)], dtype=object).max(axis=0)
    assert list(sol.values) == list(best)


def test_gain_upper_bound_is_tight_where_a_safe_stay_beats_a_risky_exit() -> None:
    # s0: stay (reward 1/2) or gamble: half to s1 (reward 1 forever), half to s2 (0 forever)
    P = np.zeros((3, 2, 3))
    P[0, 0, 0] = 1.0
    P[0, 1, 1] = P[0, 1, 2] = 0.5
    P[1, :, 1] = P[2, :, 2] = 1.0
    env = FiniteMDP(P, [1.0, 0.0, 0.0])
    r = np.array([[0.5, 0.0], [1.0, 1.0], [0.0, 0.0]])
    labels, inside = maximal_end_components(env)
    assert len(set(labels.tolist())) == 3 and inside[0].tolist() == [True, False]
    u, _ = gain_upper_bound(env, r, np.zeros(3))
    assert abs(u[0] - 0.5) <= 1e-12 and abs(u[1] - 1.0) <= 1e-12
    opt = LimitAverageReward(r).optimise(env)
    assert abs(opt.value - 0.5) <= 1e-12 and opt.bound <= 1e-8


def _dyadic_mdp(seed: int, S: int, A: int, *, communicating: bool) -> FiniteMDP:
    """Random MDPs whose probabilities (1, 1/2, 1/4, 3/4) are exact in floating point, so
    that the float model *is* the rational one and bounds can be checked exactly.
    ``communicating``: every action may also step to the next state of a cycle through
    all states; else two absorbing states and a closed low region (multichain, with
    optimal gains that differ between states)."""
    rng = np.random.default_rng(seed)
    P = np.zeros((S, A, S))
    k = max(2, S // 3)
    for s in range(S):
        for a in range(A):
            pool = S if communicating or s >= k else k
            t = rng.choice(pool, size=2, replace=False)
            if communicating and a == 0:
                t[0] = (s + 1) % S
            p = [0.5, 0.5] if rng.random() < 0.5 else [0.25, 0.75]
            P[s, a, t[0]] += p[0]
            P[s, a, t[1]] += p[1]
    if not communicating:
        for s in rng.choice(S, size=2, replace=False):
            P[s] = 0.0
            P[s, :, s] = 1.0
    return FiniteMDP(P, np.ones(S) / S)


@pytest.mark.parametrize("communicating", [True, False])
@pytest.mark.parametrize("seed", range(6))
def test_value_iteration_bracket_holds_exactly(seed: int, communicating: bool) -> None:
    """``lower <= g_sigma(s)`` for the greedy policy and ``g*(s) <= upper`` in every state,
    checked in rationals against exact multichain policy iteration."""
    from objspec.mdp.longrun import exact_long_run_average_values

    rng = np.random.default_rng(seed)
    S, A = int(rng.integers(3, 8)), int(rng.integers(1, 4))
    env = _dyadic_mdp(seed, S, A, communicating=communicating)
    r = rng.integers(-4, 5, size=(S, A)) / 4.0  # exact in floating point
    for max_iter in (1, 7, 10_000):  # every iterate's bracket is proven, converged or not
        vi = gain_value_iteration(env, r, max_iter=max_iter)
        best = exact_multichain_policy_iteration(env, r).values
        greedy = exact_long_run_average_values(env, Policy.deterministic(vi.actions, A), r)
        assert all(Fraction(vi.lower) <= g for g in greedy)
        assert all(g <= Fraction(vi.upper) for g in best)
        if vi.converged:
            assert vi.upper - vi.lower <= 1e-9
            assert max(best) - min(best) <= Fraction(vi.upper) - Fraction(vi.lower)


@SETTINGS
@given(data=st.data())
def test_value_iteration_bracket_holds_exactly_on_random_mdps(data: st.DataObject) -> None:
    """The bracket of every stopping point (first check, predicted checks, convergence) is
    proven: checked in rationals on random MDPs, disabled actions included, with rewards
    of any scale (the rounding margin covers ``r + P W`` summed from ``r``)."""
    from objspec.mdp.longrun import exact_long_run_average_values
    from objspec.mdp.strategies import mdps

    env = data.draw(mdps(1, 6, 1, 3, masked=data.draw(st.booleans()), exact=True))
    S, A = env.n_states, env.n_actions
    scale = data.draw(st.sampled_from([1.0, 2.0**-20, 2.0**20]))
    r = np.array(data.draw(st.lists(st.integers(-8, 8), min_size=S * A, max_size=S * A)),
                 dtype=np.float64).reshape(S, A) / 8.0 * scale  # dyadic: exact in floats
    best = exact_multichain_policy_iteration(env, r).values
    for max_iter in (data.draw(st.integers(1, 40)), 10_000):
        vi = gain_value_iteration(env, r, max_iter=max_iter, tol=1e-9 * max(1.0, scale))
        assert env.enabled[np.arange(S), vi.actions].all()
        greedy = exact_long_run_average_values(env, Policy.deterministic(vi.actions, A), r)
        assert all(Fraction(vi.lower) <= g for g in greedy)
        assert all(g <= Fraction(vi.upper) for g in best)


def test_lar_takes_value_iteration_on_communicating_models_and_policy_iteration_else(
        ) -> None:
    """Both paths are hit, and both results are certified with bounds that hold against
    the exact rational optimum."""
    methods = set()
    for seed in range(6):
        for communicating in (True, False):
            rng = np.random.default_rng(50 + seed)
            S, A = 8, 2
            env = _dyadic_mdp(50 + seed, S, A, communicating=communicating)
            r = rng.integers(-4, 5, size=(S, A)) / 4.0
            opt = LimitAverageReward(r).optimise(env)
            assert opt.guarantee == "certified" and 0 < opt.bound <= 1e-8
            exact = exact_multichain_policy_iteration(env, r)
            optimum = sum(exact.values * env.exact_initial(), Fraction(0))
            # value is the evaluator's float value (rounding ~1e-15 from the exact one)
            assert Fraction(opt.value) - Fraction(1, 10**12) <= optimum
            assert optimum <= Fraction(opt.value) + Fraction(opt.bound)
            gains = exact.values
            if communicating:
                assert opt.method.startswith("relative value iteration"), opt.method
            elif max(gains) - min(gains) > 1e-6:
                assert opt.method.startswith("multichain"), opt.method
            methods.add(opt.method.split(" + ")[0])
    assert methods == {"relative value iteration", "multichain policy iteration"}


def test_lar_on_a_periodic_model_falls_back_and_stays_correct() -> None:
    # a deterministic 2-cycle with rewards 1 and 0: value iteration's span never shrinks
    P = np.zeros((2, 1, 2))
    P[0, 0, 1] = P[1, 0, 0] = 1.0
    env = FiniteMDP(P, [1.0, 0.0])
    vi = gain_value_iteration(env, [1.0, 0.0])
    assert not vi.converged and vi.lower <= 0.5 <= vi.upper
    opt = LimitAverageReward([1.0, 0.0]).optimise(env)
    assert opt.method.startswith("multichain") and abs(opt.value - 0.5) <= 1e-12
    assert opt.bound <= 1e-8


@pytest.mark.parametrize("n_states", [200, 2000])
def test_lar_fast_path_agrees_with_policy_iteration_on_larger_models(n_states: int) -> None:
    env = random_mdp(n_states, 2, 3, seed=3, sparse=True)
    r = np.random.default_rng(3).random((n_states, 2))
    opt = LimitAverageReward(r).optimise(env)
    assert opt.method.startswith("relative value iteration") and opt.bound <= 1e-8
    pi = gain_policy_iteration(env, r)
    assert abs(float(env.initial @ pi.gains) - opt.value) <= opt.bound
    upper, _ = gain_upper_bound(env, r, pi.bias)
    assert opt.value <= float(env.initial @ upper) + 1e-12


def _storm_lra_max(env: FiniteMDP, r: np.ndarray) -> np.ndarray:
    stormpy = pytest.importorskip("stormpy")
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_optimise_mdp.py"
    spec = importlib.util.spec_from_file_location("bench_optimise_mdp", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)  # the benchmark's Storm model builder, shared
    model = bench.storm_mdp(env, r)
    environment = stormpy.Environment()
    # Storm's LP min-max solver: its default (optimistic value iteration) does not
    # terminate on some of these multichain models
    method = type(environment.solver().min_max().method)
    environment.solver().min_max().method = method.LINEAR_PROGRAMMING
    prop = stormpy.parse_properties('R{"r"}max=? [ LRA ]')[0]
    result = stormpy.model_checking(model, prop, only_initial_states=False,
                                    environment=environment)
    return np.array(list(result.get_value_vector()))


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_lar_against_storm_lra_max(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    S, A = int(rng.integers(5, 25)), int(rng.integers(2, 4))
    env = _multichain(1000 + seed, S, A)
    r = rng.normal(size=(S, A))
    opt = LimitAverageReward(r).optimise(env)
    storm = float(env.initial @ _storm_lra_max(env, r))
    # Storm's LRA answers carry its default precision, 1e-6 relative
    assert abs(storm - opt.value) <= 1e-6 * max(1.0, abs(storm)) + opt.bound


# ------------------------------------------------------------------------------ RRL


@SETTINGS
@given(ost.mdps(max_states=3, masked=True).flatmap(
    lambda env: st.tuples(st.just(env), ost.regularised(env))))
def test_rrl_optimum_dominates_every_policy(pair: tuple[FiniteMDP, Any]) -> None:
    env, spec = pair
    opt = spec.optimise(env)
    assert opt.guarantee == "certified" and 0 <= opt.bound <= 1e-6
    _check_dominates(spec, env, opt)


@pytest.mark.parametrize("reg", ["entropy", "kl"])
@pytest.mark.parametrize("alpha", [0.7, -0.7])
def test_rrl_one_state_against_a_fine_grid(reg: str, alpha: float) -> None:
    env = FiniteMDP(np.ones((1, 2, 1)), [1.0])
    F = negative_entropy if reg == "entropy" else kl_to([0.3, 0.7])
    spec = RegularisedRL([[1.0, 0.2]], F, alpha, 0.6)
    opt = spec.optimise(env)
    p = np.linspace(0.0, 1.0, 20_001)
    grid = np.stack([p, 1 - p], axis=1)[:, None, :]
    vals = spec.compile(env).valuation(grid).values
    assert float(opt.value) >= vals.max() - opt.bound - 1e-12
    assert float(opt.value) - vals.max() <= 1e-6  # the grid comes close to it


def test_rrl_two_states_against_a_grid() -> None:
    env = random_mdp(2, 2, 2, seed=3)
    spec = RegularisedRL(np.random.default_rng(3).normal(size=(2, 2)), negative_entropy,
                         0.5, 0.8)
    opt = spec.optimise(env)
    p = np.linspace(0.0, 1.0, 201)
    a, b = np.meshgrid(p, p, indexing="ij")
    grid = np.stack([np.stack([a.ravel(), 1 - a.ravel()], 1),
                     np.stack([b.ravel(), 1 - b.ravel()], 1)], axis=1)
    vals = spec.compile(env).valuation(grid).values
    assert vals.max() <= float(opt.value) + opt.bound + 1e-12
    assert float(opt.value) - vals.max() <= 1e-3


def test_soft_value_iteration_matches_the_closed_form_and_policy_evaluation() -> None:
    env = random_mdp(30, 3, 4, seed=1)
    r = np.random.default_rng(1).normal(size=(30, 3))
    sol = soft_value_iteration(env, r, 0.9, 0.3, tol=1e-10)
    assert sol.converged and sol.policy_error_bound <= 1e-10
    spec = RegularisedRL(r, negative_entropy, 0.3, 0.9)
    value = float(spec.compile(env).valuation([Policy(sol.policy)]).values[0])
    assert abs(value - float(env.initial @ sol.values)) <= sol.policy_error_bound + 1e-9


def test_rrl_alpha_zero_is_mr_and_exact_with_a_rational_regulariser() -> None:
    env = FiniteMDP(np.array([[[Fraction(1, 2), Fraction(1, 2)], [Fraction(1), Fraction(0)]],
                              [[Fraction(0), Fraction(1)], [Fraction(1, 3), Fraction(2, 3)]]],
                             dtype=object), [Fraction(1), Fraction(0)])
    spec = RegularisedRL([[1, 0], [0, 2]], lambda p: p[0] * p[1], 0, Fraction(1, 2))
    opt = spec.optimise(env, exact=True)
    assert opt.guarantee == "exact" and isinstance(opt.value, Fraction)
    mr = MarkovReward([[1, 0], [0, 2]], Fraction(1, 2)).optimise(env, exact=True)
    assert opt.value == mr.value


def test_rrl_other_regularisers_get_the_local_search() -> None:
    env = random_mdp(2, 2, 2, seed=0)
    spec = RegularisedRL([[1.0, 0.0], [0.0, 1.0]], lambda p: float(p @ p), 1.0, 0.5)
    opt = spec.optimise(env)
    assert opt.guarantee in ("local", "heuristic")


def test_rrl_exact_with_entropy_is_refused_by_name() -> None:
    env = random_mdp(2, 2, 2, seed=0)
    spec = RegularisedRL([[1.0, 0.0], [0.0, 1.0]], negative_entropy, 1.0, 0.5)
    with pytest.raises(InvalidSpecificationError, match="irrational"):
        spec.optimise(env, exact=True)


def test_rrl_kl_reference_excluding_every_enabled_action_is_named() -> None:
    P = np.zeros((2, 2, 2))
    P[0, :, 1] = P[1, 0, 0] = 1.0
    env = FiniteMDP(P, [1.0, 0.0], enabled=[[True, True], [True, False]])
    ref = np.array([[0.5, 0.5], [0.0, 1.0]])
    for alpha in (1.0, -1.0):
        with pytest.raises(InvalidSpecificationError, match="probability 0"):
            RegularisedRL(np.zeros(2), kl_to(ref), alpha, 0.5).optimise(env)


def test_rrl_kl_negative_alpha_uses_only_actions_the_reference_allows() -> None:
    env = random_mdp(3, 3, 2, seed=2)
    ref = np.array([[0.2, 0.8, 0.0], [0.5, 0.0, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    spec = RegularisedRL(np.random.default_rng(2).normal(size=(3, 3)), kl_to(ref), -0.5, 0.7)
    opt = spec.optimise(env)
    assert opt.guarantee == "certified"
    assert np.all(opt.policy.probabilities[ref == 0] == 0)
    pols = random_policies(env, 64, seed=4)
    pols = pols * (ref > 0)
    pols = pols / pols.sum(axis=2, keepdims=True)
    vals = spec.compile(env).valuation(pols).values
    assert vals.max() <= float(opt.value) + opt.bound + 1e-12


@pytest.mark.parametrize("path", ["mdp/coin2-2.nm", "mdp/csma2-2.nm", "mdp/maze_2.nm",
                                  "mdp/die_selection.nm"])
def test_lar_on_shipped_prism_models_against_storm(path: str) -> None:
    pytest.importorskip("stormpy")
    pytest.importorskip("stormpy.examples.files")
    from test_storm_models import _built, _program, _sound, _storm_values

    from objspec.environments.formats import from_storm, storm_rewards

    model = _built(path, None, False)
    program = _program(path, None)
    env = from_storm(model)
    rewards = storm_rewards(model)
    for name in model.reward_models:
        ref = f'R{{"{name}"}}' if name else "R"
        want = _storm_values(model, program, f"{ref}max=? [LRA]", _sound("1/1000000000"))
        opt = LimitAverageReward(rewards[name or "r"]).optimise(env)
        assert opt.guarantee == "certified" and opt.bound <= 1e-8
        storm = float(env.initial @ want)
        assert abs(storm - opt.value) <= 1e-6 * max(1.0, abs(storm)) + opt.bound


def test_a_time_limit_stops_early_with_a_bound_that_still_holds() -> None:
    env = random_mdp(4, 2, 2, seed=7)
    r = np.random.default_rng(7).normal(size=(4, 2))
    for spec in (RegularisedRL(r, negative_entropy, 0.5, 0.95), LimitAverageReward(r)):
        opt = spec.optimise(env, time_limit=1e-9)
        assert opt.guarantee == "certified" and np.isfinite(opt.bound)
        _check_dominates(spec, env, opt)


def test_rrl_with_a_convex_regulariser_is_certified_by_frank_wolfe() -> None:
    """A declared convex regulariser (squared distance to the uniform policy) with
    alpha > 0: Frank-Wolfe over occupancy measures, certified gap; the optimum is at least
    every deterministic and random policy, and agrees with cvxpy's solve of the same
    concave programme (the perspective sum_a x^2/d is cvxpy's quad_over_lin)."""
    from objspec.environments.generators import random_mdp, random_policies
    from objspec.formalisms import RegularisedRL
    from objspec.formalisms.regularisers import squared_distance_to
    from objspec.mdp.policy import deterministic_policies

    env = random_mdp(3, 2, 2, seed=1)
    R = np.random.default_rng(0).normal(size=(3, 2))
    spec = RegularisedRL(R, squared_distance_to(), 0.8, 0.9)
    opt = spec.optimise(env)
    assert opt.guarantee == "certified" and "Frank-Wolfe" in opt.method
    assert opt.bound is not None and opt.bound < 1e-5
    ev = spec.compile(env)
    for pol in [*deterministic_policies(env), *random_policies(env, 20, seed=3)]:
        assert float(opt.value) >= ev.value(pol) - opt.bound
    cp = pytest.importorskip("cvxpy")
    S, A, gamma, alpha = 3, 2, 0.9, 0.8
    tau = np.asarray(env.transitions)
    x = cp.Variable((S, A), nonneg=True)
    d = cp.sum(x, axis=1)
    flow = [d[s] - gamma * cp.sum(cp.multiply(tau[:, :, s], x)) == env.initial[s]
            for s in range(S)]
    # F(p) = sum (p_a - 1/A)^2 = sum p_a^2 - 1/A, so d F(x/d) = sum x^2 / d - d / A
    persp = cp.sum([cp.quad_over_lin(x[s], d[s]) - d[s] / A for s in range(S)])
    prob = cp.Problem(cp.Maximize(cp.sum(cp.multiply(R, x)) - alpha * persp), flow)
    prob.solve(solver=cp.CLARABEL)
    assert float(opt.value) == pytest.approx(prob.value, abs=1e-5)
