"""Trajectory-level formalisms (FTR, INMR, IMORL, FTLR, TLO), trajectory lotteries and LAR."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest

from objspec import Policy
from objspec.environments import E1, E2, E3, E4, E6, E7, random_mdp, random_policies
from objspec.errors import InvalidSpecificationError
from objspec.formalisms import (
    FTLR,
    FTR,
    IMORL,
    INMR,
    LAR,
    MR,
    ONMR,
    TLO,
    InnerMORL,
    InnerNonlinearMarkovReward,
    LimitAverageReward,
    TrajectoryFunction,
    TrajectoryLottery,
    TrajectoryLotteryFunction,
    TrajectoryLotteryOrdering,
)
from objspec.formalisms.lottery import enumerate_prefixes, return_distribution
from objspec.orders import by_key


def fr(*rows):
    return Policy(np.array([[F(x) for x in row] for row in rows], dtype=object))


def e4(p, q, r=1):
    return fr([p, 1 - p], [q, 1 - q], [r, 1 - r])


def test_aliases():
    assert FTR is TrajectoryFunction and FTLR is TrajectoryLotteryFunction
    assert TLO is TrajectoryLotteryOrdering and INMR is InnerNonlinearMarkovReward
    assert IMORL is InnerMORL and LAR is LimitAverageReward


# ----------------------------------------------------------------------------- lotteries
def test_lottery_equality_follows_reachable_states():
    env = E2()
    a = TrajectoryLottery(env, [[1, 0], [1, 0]])
    b = TrajectoryLottery(env, [[1, 0], [0, 1]])
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != TrajectoryLottery(env, [[0, 1], [1, 0]])
    # E3: s1 is reachable, so its row matters
    assert TrajectoryLottery(E3(), [[1, 0], [1, 0]]) != TrajectoryLottery(E3(), [[1, 0], [0, 1]])
    # E6: s2 is reached only if the policy leaves s1 (q = pi(b|s1) > 0)
    stay = TrajectoryLottery(E6(), [[0.5, 0.5], [1, 0], [1, 0]])
    assert stay == TrajectoryLottery(E6(), [[0.5, 0.5], [1, 0], [0.3, 0.7]])
    assert stay.reachable.tolist() == [True, True, False]
    leave = [[0.5, 0.5], [0.5, 0.5]]
    assert TrajectoryLottery(E6(), [*leave, [1, 0]]) != TrajectoryLottery(E6(), [*leave, [0, 1]])
    # same-sized but different environments give different lotteries
    assert TrajectoryLottery(E3(), [[1, 0], [1, 0]]) != TrajectoryLottery(E2(), [[1, 0], [1, 0]])


def test_lottery_quantities_exact():
    lot = TrajectoryLottery(E4(), e4(F(1, 3), F(1, 4)), exact=True)
    assert lot.prefix_probability([0, 1, 2], [0, 1]) == F(1, 3) * F(3, 4)
    same = lot.expectation(lambda s, a: int(a[0] == a[1]), horizon=2)
    assert same == F(1, 3) * F(1, 4) + F(2, 3) * F(3, 4)
    m = lot.occupancy_measure(F(1, 2))
    assert m[0, 0, 1] == F(1, 3) and m[1, 0, 2] == F(1, 8)
    R = np.zeros((3, 2, 3))
    R[0, 0, 1] = 1
    R[1, 0, 2] = 2
    mean, second = lot.return_moments(R, F(1, 2))
    # G = A0 + gamma * 2 * A1 with independent Bernoulli A0 ~ p, A1 ~ q
    p, q = F(1, 3), F(1, 4)
    assert mean == p + q
    assert second == p + q + 2 * p * q  # E[(A0 + A1)^2]
    dist = lot.return_distribution(R, F(1, 2))
    assert dist == {F(2): p * q, F(1): p * (1 - q) + (1 - p) * q, F(0): (1 - p) * (1 - q)}


def test_prefix_enumeration_and_limits():
    pre = enumerate_prefixes(E4(), 3)
    assert len(pre) == 8  # 2^3 action sequences, deterministic dynamics
    # env factors sum to 1 for every action sequence
    assert np.isclose(pre.env_probability.sum(), 8.0)
    pi = np.array([[[0.3, 0.7], [0.6, 0.4], [1.0, 0.0]]])
    from objspec.formalisms.lottery import prefix_probabilities

    assert np.isclose(prefix_probabilities(pi, pre).sum(), 1.0)
    with pytest.raises(InvalidSpecificationError, match="max_prefixes"):
        enumerate_prefixes(random_mdp(5, 3, 3, seed=0), 8, max_prefixes=1000)


# ----------------------------------------------------------------------------- FTR
XOR = [(p, q) for p in (F(0), F(1, 4), F(1, 2), F(1)) for q in (F(0), F(1, 3), F(1))]


def test_ftr_xor_e4_closed_form():
    spec = FTR(lambda s, a: int(a[0] == a[1]), horizon=2)
    exact = spec.compile(E4(), exact=True)
    floats = spec.compile(E4())
    for p, q in XOR:
        expected = p * q + (1 - p) * (1 - q)
        assert exact.exact_value(e4(p, q)) == expected
    vals = floats.values([e4(p, q) for p, q in XOR])
    np.testing.assert_allclose(vals, [float(p * q + (1 - p) * (1 - q)) for p, q in XOR],
                               atol=1e-12)
    assert floats.method == "prefix enumeration" and floats.error_bound == 0.0
    # the task prefers large q when p > 1/2 and small q when p < 1/2 (N6)
    assert exact.compare(e4(F(1), F(1)), e4(F(1), F(0))) == 1
    assert exact.compare(e4(F(0), F(1)), e4(F(0), F(0))) == -1
    # vectorized form gives the same
    vec = FTR(lambda s, a: (a[:, 0] == a[:, 1]).astype(float), horizon=2, vectorized=True)
    np.testing.assert_allclose(vec.compile(E4()).values([e4(p, q) for p, q in XOR]), vals)


def test_ftr_of_other_specifications():
    R = np.zeros((2, 2))
    R[0, 0] = 1
    ftr = FTR.of(MR(R, F(1, 2)))
    assert ftr.compile(E3(), exact=True).exact_value(fr([F(1, 3), F(2, 3)], [1, 0])) == F(1, 3)
    lar = FTR.of(LAR([1, 0])).compile(E7())
    assert lar.value([[0.5, 0.5], [0.5, 0.5]]) == pytest.approx(0.5)
    with pytest.raises(InvalidSpecificationError, match="expectation"):
        FTR.of(ONMR(R, abs, 0.5))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ftr_monte_carlo_agrees_with_exact(seed):
    env = random_mdp(4, 2, 2, seed=seed, initial="first")
    pis = random_policies(env, 3, seed=seed, deterministic_fraction=0.3)
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(4, 2))

    def f(states, actions):
        return float(table[states[:3], actions].sum() * (states[3] + 1))

    exact = FTR(f, horizon=3).compile(env).values(pis)
    mc_ev = FTR(f, horizon=3, method="monte carlo", n_samples=3000, seed=seed).compile(env)
    val = mc_ev.valuation(pis)
    mc = val.values
    assert mc_ev.method == "monte carlo"
    assert val.standard_errors is not None and val.error_bound is not None
    assert np.all(np.abs(mc - exact) <= 4 * val.standard_errors)
    assert val.error_bound == pytest.approx(4 * val.standard_errors.max())
    assert mc_ev.error_bound == 0.0  # the evaluator is not changed by a batch


# ----------------------------------------------------------------------------- INMR, IMORL
def test_inmr_e3_bernoulli_return():
    R = np.zeros((2, 2, 2))
    R[0, 0, 1] = 1

    def f(x):
        return (x - F(1, 2)) ** 2 * 4 + x  # f(0) = 1, f(1) = 2

    ev = INMR(R, f, F(9, 10)).compile(E3(), exact=True)
    for p in (F(0), F(1, 5), F(1, 2), F(1)):
        assert ev.exact_value(fr([p, 1 - p], [1, 0])) == p * 2 + (1 - p) * 1
    assert ev.method == "exact rational return distribution"


def test_inmr_e4_four_valued_return():
    gamma = F(1, 2)
    R = np.zeros((3, 2, 3))
    R[0, 0, 1] = 1  # a at s0
    R[1, 0, 2] = 1  # a at s1: discounted by gamma
    spec = INMR(R, lambda x: x * x * x, gamma)
    ev = spec.compile(E4(), exact=True)
    for p, q in XOR:
        expected = (p * q * (1 + gamma) ** 3 + p * (1 - q) * 1 + (1 - p) * q * gamma**3)
        assert ev.exact_value(e4(p, q)) == expected
    floats = spec.compile(E4()).values([e4(p, q) for p, q in XOR])
    np.testing.assert_allclose(
        floats, [float(p * q * F(27, 8) + p * (1 - q) + (1 - p) * q / 8) for p, q in XOR])


def test_imorl_xor_e4():
    R = np.zeros((2, 3, 2))
    R[0, 0, 0] = 1
    R[1, 1, 0] = 1
    spec = IMORL(R, lambda v: int((v[0] > 0) == (v[1] > 0)), F(1, 2))
    ev = spec.compile(E4(), exact=True)
    for p, q in XOR:
        assert ev.exact_value(e4(p, q)) == p * q + (1 - p) * (1 - q)


def test_inmr_monte_carlo_when_returns_are_infinite():
    # E1 with reward on a1 and a stochastic policy: infinitely many return values
    R = np.array([[1.0, 0.0, -1.0]])
    gamma = 0.5
    spec = INMR(R, lambda x: x * x, gamma, n_samples=4000, seed=3)
    ev = spec.compile(E1())
    assert ev.method == "monte carlo"
    pis = [[[0.2, 0.3, 0.5]], [[0.6, 0.2, 0.2]], [[1.0, 0.0, 0.0]]]
    val = ev.valuation(pis)
    vals = val.values
    assert val.standard_errors is not None and val.error_bound is not None
    truth = [TrajectoryLottery(E1(), p).return_moments(R, gamma)[1] for p in pis]
    slack = 4 * val.standard_errors + 2 * 2.0 * ev.truncation_bound + 1e-12
    assert np.all(np.abs(vals - truth) <= slack)
    assert val.error_bound >= 4 * val.standard_errors.max()
    assert vals[2] == pytest.approx(4.0)  # deterministic: G = 2 always, zero variance
    with pytest.raises(InvalidSpecificationError, match="finitely many"):
        spec.compile(E1(), exact=True)


@pytest.mark.parametrize("seed", [4, 5])
def test_inmr_monte_carlo_agrees_with_exact_on_random_envs(seed):
    env = random_mdp(5, 2, 2, seed=seed, initial="first")
    R = np.random.default_rng(seed).normal(size=(5, 2))
    pis = random_policies(env, 3, seed=seed)
    ev = INMR(R, lambda x: x * x, 0.6, seed=seed, n_samples=3000).compile(env)
    assert ev.method == "monte carlo"
    val = ev.valuation(pis)
    truth = [TrajectoryLottery(env, p).return_moments(R, 0.6)[1] for p in pis]
    rmax = np.abs(R).max() / 0.4
    assert val.standard_errors is not None
    assert np.all(np.abs(val.values - truth)
                  <= 4 * val.standard_errors + 2 * rmax * ev.truncation_bound)


def test_return_distribution_gives_up_beyond_limits():
    R = np.ones((1, 1, 3, 1))
    R[0, 0, 1] = 0
    assert return_distribution(E1(), np.full((1, 3), 1 / 3), R, 0.5, max_steps=50) is None


# ----------------------------------------------------------------------------- FTLR, TLO
def test_ftlr_variance_e3():
    R = np.zeros((2, 2, 2))
    R[0, 0, 1] = 1

    def variance(lottery):
        mean, second = lottery.return_moments(R, F(1, 2))
        return second - mean**2

    spec = FTLR(variance)
    ev = spec.compile(E3(), exact=True)
    for p in (F(0), F(1, 3), F(1, 2), F(1)):
        assert ev.exact_value(fr([p, 1 - p], [1, 0])) == p * (1 - p)
    # p = 1/2 strictly best, p = 0 ~ p = 1 (not expressible in FTR, docs/theory.md#l1)
    assert ev.rank([fr([0, 1], [1, 0]), fr([F(1, 2), F(1, 2)], [1, 0]), fr([1, 0], [0, 1])]
                   ).tolist() == [1, 0, 1]
    floats = spec.compile(E3()).values([[[0.25, 0.75], [1, 0]]])
    np.testing.assert_allclose(floats, [0.1875])


def test_tlo_ties_equal_lotteries_and_orders_others():
    calls = []

    def key(lottery):
        calls.append(1)
        return lottery.policy.probabilities[0, 0]

    ev = TLO(by_key(key)).compile(E2())
    assert ev.compare([[1, 0], [1, 0]], [[1, 0], [0, 1]]) == 0
    assert not calls  # equal lotteries are tied without consulting the order
    assert ev.compare([[1, 0], [1, 0]], [[0.5, 0.5], [0, 1]]) == 1
    assert ev.rank([[[0.5, 0.5], [0, 1]], [[1, 0], [1, 0]], [[1, 0], [0, 1]]]).tolist() == [1, 0, 0]
    exact = TLO(by_key(lambda L: L.expected_return([[1, 0], [0, 0]], F(1, 2)))).compile(
        E2(), exact=True)
    assert exact.compare(fr([F(1, 3), F(2, 3)], [1, 0]), fr([F(1, 3), F(2, 3)], [0, 1])) == 0


# ----------------------------------------------------------------------------- LAR
def test_lar_e7_rays_exact_and_float():
    spec = LAR([1, 0])  # reward 1 on transitions out of s1
    exact = spec.compile(E7(), exact=True)
    floats = spec.compile(E7())
    grid = [F(0), F(1, 4), F(1, 2), F(1)]
    pols, expected = [], []
    for q1 in grid:
        for q2 in grid:
            pols.append(fr([1 - q1, q1], [1 - q2, q2]))
            expected.append(F(1) if q1 == q2 == 0 else q2 / (q1 + q2))
    assert [exact.exact_value(p) for p in pols] == expected
    np.testing.assert_allclose(floats.values(pols), [float(e) for e in expected], atol=1e-12)
    # level sets are rays: (1/4, 1/2) ~ (1/2, 1), and q2 = 0 with q1 > 0 ties at 0
    assert exact.compare(fr([F(3, 4), F(1, 4)], [F(1, 2), F(1, 2)]), fr([F(1, 2), F(1, 2)],
                                                                          [0, 1])) == 0
    assert exact.compare(fr([F(3, 4), F(1, 4)], [1, 0]), fr([0, 1], [1, 0])) == 0
    assert floats.compare([[0.75, 0.25], [0.5, 0.5]], [[0.5, 0.5], [0, 1]]) == 0


def test_lar_ignores_transient_behaviour():
    R = np.zeros((2, 2, 2))
    R[0, 0, 1] = 1  # reward on a transient transition: LAR is 0 for every policy (N12)
    ev = LAR(R).compile(E3(), exact=True)
    assert {ev.exact_value(fr([p, 1 - p], [1, 0])) for p in (F(0), F(1, 2), F(1))} == {0}
    # reward on a at s1: J = q
    ev2 = LAR([[0, 0], [1, 0]]).compile(E3(), exact=True)
    assert ev2.exact_value(fr([1, 0], [F(2, 7), F(5, 7)])) == F(2, 7)
    # E6: reward in s2 gives 1 iff q = pi(b | s1) > 0
    ev3 = LAR([0, 0, 1]).compile(E6(), exact=True)
    assert ev3.exact_value(fr([1, 0], [F(99, 100), F(1, 100)], [1, 0])) == 1
    assert ev3.exact_value(fr([1, 0], [1, 0], [1, 0])) == 0


# ----------------------------------------------------------------------------- bad input
def test_bad_input_raises():
    with pytest.raises(InvalidSpecificationError, match="horizon"):
        FTR(lambda s, a: 0.0, horizon=-1)
    with pytest.raises(InvalidSpecificationError, match="method"):
        FTR(lambda s, a: 0.0, horizon=1, method="guess")  # type: ignore[arg-type]
    with pytest.raises(InvalidSpecificationError, match="n_samples"):
        INMR([0.0, 0.0], abs, 0.5, n_samples=1)
    with pytest.raises(InvalidSpecificationError, match="outside"):
        IMORL(np.zeros((2, 2)), sum, 1.5)
    with pytest.raises(InvalidSpecificationError, match="non-finite"):
        FTR(lambda s, a: float("nan"), horizon=1).compile(E3()).values([[[1, 0], [1, 0]]])
    with pytest.raises(InvalidSpecificationError, match="shape"):
        FTR(lambda s, a: np.zeros(3), horizon=1, vectorized=True).compile(E3()).value(
            [[1, 0], [1, 0]])
    with pytest.raises(InvalidSpecificationError, match="non-finite"):
        FTLR(lambda L: np.inf).compile(E3()).value([[1, 0], [1, 0]])
    with pytest.raises(InvalidSpecificationError, match="shape"):
        LAR(np.zeros((3, 2))).compile(E3())
    with pytest.raises(InvalidSpecificationError, match="shape"):
        INMR(np.zeros((3, 2)), abs, 0.5).compile(E3())
    with pytest.raises(InvalidSpecificationError, match="states"):
        TrajectoryLottery(E3(), [[1, 0]])


def test_inmr_gamma_zero_is_exact_on_a_self_loop():
    R = np.array([[1, 0, -1]])
    ev = INMR(R, lambda x: x * x + x, 0).compile(E1(), exact=True)
    assert ev.method == "exact rational return distribution"
    p = [F(1, 2), F(1, 3), F(1, 6)]
    assert ev.exact_value(fr(p)) == p[0] * 2 + p[2] * 0


def test_ftr_of_ltl_and_rm_agree_with_prefix_enumeration_on_xor():
    """Differential test: the LTL / reward-machine engines against prefix enumeration."""
    from objspec.formalisms.reward_machine import RewardMachine
    from objspec.formalisms.temporal_logic import LinearTemporalLogic

    env = E4(labels=lambda s, a, t: {"alpha"} if a == 0 else set())
    ltl = FTR.of(LinearTemporalLogic("(alpha & X alpha) | (!alpha & X !alpha)"))
    rm = FTR.of(RewardMachine(
        [("u0", "ua", "alpha", 0), ("u0", "ub", "!alpha", 0),
         ("ua", "end", "alpha", 1), ("ua", "end", "!alpha", 0),
         ("ub", "end", "!alpha", 1), ("ub", "end", "alpha", 0),
         ("end", "end", "true", 0)], "u0", F(1, 2)))
    prefix = FTR(lambda s, a: int(a[0] == a[1]), horizon=2)
    exact = [spec.compile(env, exact=True) for spec in (ltl, rm, prefix)]
    for p, q in XOR:
        same = p * q + (1 - p) * (1 - q)
        values = [ev.exact_value(e4(p, q, F(1, 3))) for ev in exact]
        assert values == [same, same / 2, same]
    pis = random_policies(env, 5, seed=7, deterministic_fraction=0.4)
    floats = [spec.compile(env).values(pis) for spec in (ltl, rm, prefix)]
    np.testing.assert_allclose(floats[0], floats[2], atol=1e-12)
    np.testing.assert_allclose(floats[1], floats[2] / 2, atol=1e-12)
    assert "via LTL" in exact[0].method and "via RM" in exact[1].method


def test_ftr_tail_bound_is_reported_and_excludes_exact_mode():
    gamma = 0.5
    R = np.zeros((2, 2, 2))
    R[:, 0, :] = 1.0  # reward for action a, forever

    def truncated_return(states, actions):
        return float(sum(gamma**t * R[states[t], actions[t], states[t + 1]]
                         for t in range(len(actions))))

    H = 12
    tail = gamma**H * 1.0 / (1 - gamma)
    spec = FTR(truncated_return, horizon=H, tail_bound=tail)
    ev = spec.compile(E3())
    pis = [[[0.3, 0.7], [0.6, 0.4]], [[1, 0], [1, 0]]]
    truth = MR(R, gamma).compile(E3()).values(pis)
    assert ev.error_bound == tail
    assert np.all(np.abs(ev.values(pis) - truth) <= tail + 1e-12)
    with pytest.raises(InvalidSpecificationError, match="tail_bound"):
        spec.compile(E3(), exact=True)


def test_exact_lotteries_compare_exact_rows():
    third = fr([F(1, 3), F(2, 3)], [1, 0])
    near = F(1 / 3)  # the rational value of the float nearest to 1/3
    close = fr([near, 1 - near], [1, 0])
    assert TrajectoryLottery(E3(), third, exact=True) != TrajectoryLottery(E3(), close, exact=True)
    assert third.probabilities[0, 0] == close.probabilities[0, 0]  # same float, other rational
