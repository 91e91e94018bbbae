"""Conversions of float specifications on float environments (and of exact ones, exactly).

The policy-level constructions FOMR -> FPR and OMO -> PO used to evaluate occupancy
measures in exact arithmetic only, so every float environment or policy was refused, and
with them every ``convert`` pair whose chain passes through them. These tests enumerate
those pairs from the registry and check that a float specification converts, evaluates in
floats and induces the source's ordering on random float policies.
"""

from __future__ import annotations

from fractions import Fraction as F
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from objspec import FiniteMDP, Policy
from objspec.environments import E3, E4
from objspec.environments import strategies as ost
from objspec.errors import InvalidModelError, InvalidSpecificationError
from objspec.formalisms import (
    InnerMORL,
    LinearTemporalLogic,
    MarkovReward,
    OccupancyMeasureFunction,
    TrajectoryFunction,
)
from objspec.hasse import verdicts
from objspec.reductions import constructions, conversion_chain, convert
from objspec.reductions.checking import check_same_ordering, random_rational_mdp, rational_policies

POLICY_LEVEL = ("occupancy_function_to_policy_function", "occupancy_ordering_to_policy_ordering")


def _policy_level_pairs() -> list[tuple[str, str]]:
    """Every proved pair (source, target) whose conversion chain (with an environment)
    passes through FOMR -> FPR or OMO -> PO."""
    out = []
    for (a, b), v in sorted(verdicts().items()):
        if v.holds and a != b and any(c.name in POLICY_LEVEL for c in conversion_chain(b, a)):
            out.append((b, a))
    return out


PAIRS = _policy_level_pairs()


def test_the_policy_level_pairs_are_the_twelve_of_the_issue() -> None:
    assert len(PAIRS) == 12
    assert {t for _, t in PAIRS} == {"FPR", "PO"}


def _near_tie(values: np.ndarray | None, i: int, j: int) -> bool:
    if values is None:
        return False
    scale = max(1.0, float(np.abs(values).max()))
    return abs(float(values[i]) - float(values[j])) <= 1e-7 * scale


@pytest.mark.parametrize(("source", "target"), PAIRS)
@settings(max_examples=8)
@given(data=st.data())
def test_float_specs_convert_and_keep_the_ordering(source: str, target: str,
                                                   data: st.DataObject) -> None:
    env = data.draw(ost.mdps(1, 3, 1, 3, exact=False), label="env")
    spec = data.draw(ost.FORMALISMS[source](env), label="spec")
    pols = data.draw(ost.policy_batches(env, 3, 6), label="policies")
    out = convert(spec, target, env=env)
    assert out.acronym == target
    ev_s, ev_t = spec.compile(env), out.compile(env)
    assert not ev_t.exact  # a float spec is evaluated in floats
    r_s, r_t = ev_s.rank(pols), ev_t.rank(pols)
    # Real-valued sources tie values within their certified float tolerance; a target that
    # orders float occupancy arrays (PO) compares them exactly, so a float near-tie of the
    # source may come out strict there (and only then).
    values = ev_s.values(pols) if hasattr(ev_s, "values") else None
    for i in range(len(pols)):
        for j in range(len(pols)):
            if np.sign(r_s[i] - r_s[j]) != np.sign(r_t[i] - r_t[j]):
                assert target == "PO" and _near_tie(values, i, j), (
                    f"{source} -> {target}: policies {i}, {j}: source ranks {r_s[i]}, {r_s[j]}, "
                    f"target ranks {r_t[i]}, {r_t[j]}")


def test_fomr_to_fpr_float_matches_the_fomr_float_evaluator_to_the_bit() -> None:
    rng = np.random.default_rng(3)
    tau = rng.random((3, 2, 3))
    tau /= tau.sum(axis=-1, keepdims=True)
    env = FiniteMDP(tau, [0.2, 0.3, 0.5])
    w = rng.random((3, 2, 3))
    spec = OccupancyMeasureFunction(lambda m: float(np.sum(w * m)) ** 2, 0.9)
    pols = [Policy(p / p.sum(axis=1, keepdims=True)) for p in rng.random((5, 3, 2))]
    fpr = convert(spec, "FPR", env=env)
    assert np.array_equal(fpr.compile(env).values(pols), spec.compile(env).values(pols))
    po = convert(spec, "PO", env=env)
    assert po.compile(env).rank(pols).tolist() == spec.compile(env).rank(pols).tolist()


def test_exact_specs_stay_exact() -> None:
    rng = np.random.default_rng(5)
    env = random_rational_mdp(3, 2, rng)
    spec = MarkovReward(np.array([[F(1), F(0)], [F(0), F(2)], [F(1, 3), F(0)]], dtype=object),
                        F(1, 2))
    pols = rational_policies(env, 4, rng)
    for target in ("FPR", "PO"):
        out = convert(spec, target, env=env)
        assert out.compile(env, exact=True).exact
        assert check_same_ordering(spec, out, env, pols).exact


def test_float_policy_on_exact_spec_is_not_refused() -> None:
    """A float policy whose rows are not exactly distributions as rationals (0.1 + 0.9)
    is evaluated in floats instead of being refused."""
    spec = OccupancyMeasureFunction(lambda m: m[0, 0, 1] - m[0, 1, 1], F(1, 2))
    fpr = convert(spec, "FPR", env=E3())
    assert fpr.compile(E3()).value([[0.1, 0.9], [1.0, 0.0]]) == pytest.approx(-0.8)


# ---------------------------------------------------------------- MR -> INMR / IMORL


@pytest.mark.parametrize("target", ["INMR", "IMORL"])
def test_markov_reward_converts_to_inner_formalisms(target: str) -> None:
    """MR is INMR with f = identity (and IMORL with the 1-vector): no reward machine in
    the chain, and the ordering is kept exactly."""
    env = random_rational_mdp(3, 2, 7, acyclic=True)
    reward = np.zeros((3, 2, 3), dtype=object)
    reward[0, 0, :], reward[0, 1, :], reward[1, 1, :] = F(1), F(1, 2), F(3)
    spec = MarkovReward(reward, F(1, 2))
    chain = conversion_chain("MR", target)
    assert "RM" not in {c.target for c in chain}
    out = convert(spec, target)
    assert check_same_ordering(spec, out, env, rational_policies(env, 4, seed=1)).exact


def test_float_markov_reward_to_inmr() -> None:
    spec = MarkovReward([[1.0, 0.0], [0.0, 0.5]], 0.5)
    out = convert(spec, "INMR")
    assert out.f(0.25) == 0.25 and out.gamma == 0.5


def test_single_objective_imorl_converts_to_inmr() -> None:
    env = random_rational_mdp(3, 2, 11, acyclic=True)
    reward = np.zeros((1, 3, 2, 3), dtype=object)
    reward[0, 0, 0, :], reward[0, 1, 1, :] = F(1), F(-1)
    spec = InnerMORL(reward, lambda v: -((v[0] - F(1, 4)) ** 2), F(1, 2))
    out = convert(spec, "INMR", env=env)
    assert out.acronym == "INMR"
    check_same_ordering(spec, out, env, rational_policies(env, 3, seed=2))


@pytest.mark.parametrize("target", ["INMR", "IMORL"])
def test_infinite_horizon_sources_get_a_message_about_their_own_formalism(target: str) -> None:
    env = E3(labels={1: ["goal"]})
    spec = LinearTemporalLogic("F goal")
    with pytest.raises(InvalidSpecificationError) as info:
        convert(spec, target, env=env)
    msg = str(info.value)
    assert f"convert(LTL -> {target})" in msg and "'FTR'" in msg
    assert "RewardMachine" not in msg and "TrajectoryFunction" not in msg
    assert convert(spec, "FTR").acronym == "FTR"


def test_ftr_of_an_ltl_spec_names_the_ltl_formalism() -> None:
    spec = TrajectoryFunction.of(LinearTemporalLogic("F goal"))
    with pytest.raises(InvalidSpecificationError, match="every LTL ordering"):
        convert(spec, "INMR", env=E3(labels={1: ["goal"]}))


# ---------------------------------------------------------------- wrong environments


@pytest.mark.parametrize("target", ["ONMR", "FPR", "PO", "FOMR"])
def test_a_wrong_size_environment_is_refused_up_front(target: str) -> None:
    spec = MarkovReward(np.ones((3, 2, 3)), 0.5)
    with pytest.raises(InvalidSpecificationError, match=r"2 states, 2 actions.*\(3, 2, 3\)"):
        convert(spec, target, env=E3())


def test_env_must_be_an_environment() -> None:
    with pytest.raises(InvalidModelError, match="FiniteMDP"):
        convert(MarkovReward(np.ones(2), 0.5), "FPR", env=np.ones((2, 2, 2)))


def test_environment_required_message_names_the_users_formalisms() -> None:
    from objspec.reductions import EnvironmentRequiredError

    spec = MarkovReward(np.ones(2), 0.5)
    with pytest.raises(EnvironmentRequiredError, match=r"converting MR to FPR .*chain MR ->"):
        convert(spec, "FPR")


# ---------------------------------------------------------------- lottery recovery


def _needs(name: str) -> Any:
    return next(c for c in constructions() if c.name == name)


@pytest.mark.parametrize("name", ["trajectory_lottery_function_to_occupancy_function",
                                  "lottery_ordering_to_occupancy_ordering"])
def test_lottery_recovery_does_not_read_the_dynamics(name: str) -> None:
    """FTLR -> FOMR and TLO -> OMO need the environment's size and labels, not its
    dynamics: built with one environment, the output is right in another of that size."""
    from objspec import orders
    from objspec.formalisms import TrajectoryLotteryFunction, TrajectoryLotteryOrdering

    c = _needs(name)
    assert not c.needs_env and c.needs_size

    def key(lottery: Any) -> Any:
        return lottery.expected_return(np.array([[1, 0], [0, 2], [F(1, 2), 0]], dtype=object),
                                       F(2, 3))

    spec: Any = (TrajectoryLotteryFunction(key) if name.startswith("trajectory")
                 else TrajectoryLotteryOrdering(orders.by_key(key)))
    out = c(spec, E4())  # built with E4's dynamics ...
    env = random_rational_mdp(3, 2, 13)  # ... and used in another environment of that size
    check_same_ordering(spec, out, env, rational_policies(env, 4, seed=3))


def test_lottery_recovery_keeps_labels() -> None:
    """An LTL specification converted to FOMR (through FTLR) reads the labels."""
    env = E4(labels=lambda s, a, t: ("alpha",) if a == 0 else ())
    spec = LinearTemporalLogic("(alpha & X alpha) | (!alpha & X !alpha)")
    out = convert(spec, "FOMR", env=env)
    pols = [Policy(np.array([[F(p), 1 - F(p)], [F(q), 1 - F(q)], [1, 0]], dtype=object))
            for p in (0, F(1, 3), 1) for q in (0, F(1, 2), 1)]
    check_same_ordering(spec, out, env, pols)


def test_lottery_recovery_in_floats() -> None:
    from objspec.mdp import occupancy_measure
    from objspec.reductions.construction_catalogue import lottery_of_occupancy

    rng = np.random.default_rng(2)
    tau = rng.random((3, 2, 3))
    tau /= tau.sum(axis=-1, keepdims=True)
    env = FiniteMDP(tau, [0.5, 0.5, 0.0])
    pi = Policy([[0.3, 0.7], [1.0, 0.0], [0.5, 0.5]])
    lottery = lottery_of_occupancy(occupancy_measure(env, pi, 0.5), 0.5, env)
    assert lottery.env.initial == pytest.approx([0.5, 0.5, 0.0])
    assert lottery.expected_return(np.ones((3, 2)), 0.9) == pytest.approx(10.0)
    reward = rng.random((3, 2, 3))
    from objspec.formalisms.lottery import TrajectoryLottery

    assert lottery.expected_return(reward, 0.7) == pytest.approx(
        TrajectoryLottery(env, pi).expected_return(reward, 0.7))


def test_lottery_recovery_refuses_a_non_occupancy() -> None:
    from objspec.reductions.construction_catalogue import lottery_of_occupancy

    m = np.zeros((3, 2, 3))
    m[0, 0, 1] = 1.0
    m[1, 0, 1] = 5.0  # s1 keeps more mass than it receives: mu0 sums to 3
    with pytest.raises(InvalidSpecificationError, match="not an occupancy measure"):
        lottery_of_occupancy(m, 0.5, E4())
    m[1, 0, 1] = 0.5  # s1 receives more than its mass: a negative initial mass
    m[1, 0, 2] = 0.0
    with pytest.raises(InvalidSpecificationError, match="not an occupancy measure"):
        lottery_of_occupancy(m, F(1, 2), E4())


def test_float_digit_decoding_survives_a_return_just_below_a_digit() -> None:
    """A float return can undershoot a tail of exactly 0 (Monte Carlo of FTR -> INMR on a
    float environment): the digit must not drop to the previous one."""
    from objspec.reductions.construction_catalogue import decode_prefix

    exact = F(3) + F(4, 9)  # digits 3 = (s0, b, s1), 4 = (s1, a, s0), then a zero tail
    assert decode_prefix(E3(), exact, 2) == ([0, 1, 0], [1, 0])
    assert decode_prefix(E3(), float(exact) - 1e-12, 2) == ([0, 1, 0], [1, 0])
