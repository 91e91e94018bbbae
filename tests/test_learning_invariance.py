"""Fitting the invariance-level formalisms: ONMR, OMORL, GOMORL, FOMR, OMO, FTLR, TLO, FPR, PO.

Each can realise exactly the orderings that tie the policies its invariance identifies
(equal occupancy measures, equal trajectory lotteries, identical policies). Data generated
by a random specification of the formalism must be fitted, by a specification that orders
the data as given and ties held-out policies with a data policy's invariant like that
policy; data that orders identified policies strictly must give a certificate that checks,
and that fails to check once tampered with.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction as F
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from objspec import FiniteMDP, Policy
from objspec.environments import E1, E3
from objspec.environments.strategies import strategy_for
from objspec.errors import (
    CertificateError,
    InconsistentComparisonsError,
    InvalidSpecificationError,
    NotExpressibleError,
)
from objspec.formalisms import PolicyOrdering
from objspec.formalisms._fit_invariance import PiecewiseLinear
from objspec.formalisms.registry import formalism_info
from objspec.learning import Comparisons, fit
from objspec.orders import by_key
from objspec.reductions import separations

OCCUPANCY = ["ONMR", "OMORL", "GOMORL", "FOMR", "OMO"]
LOTTERY = ["FTLR", "TLO"]
POLICY = ["FPR", "PO"]
ALL = OCCUPANCY + LOTTERY + POLICY


def env_with_unreachable(seed: int) -> FiniteMDP:
    """A random rational 3-state MDP (start in state 0) plus an absorbing state 3 that
    nothing reaches."""
    rng = np.random.default_rng(seed)
    P = np.full((4, 2, 4), F(0), dtype=object)
    for s in range(3):
        for a in range(2):
            w = rng.integers(0, 4, size=3)
            w[rng.integers(3)] += 1
            P[s, a, :3] = [F(int(x), int(w.sum())) for x in w]
    P[3, :, 3] = F(1)
    return FiniteMDP(P, [F(1), F(0), F(0), F(0)])


def random_policy(rng: np.random.Generator, S: int = 4, A: int = 2) -> Policy:
    rows = []
    for _ in range(S):
        if rng.random() < 0.5:
            a = int(rng.integers(A))
            rows.append([F(int(b == a)) for b in range(A)])
        else:
            k = int(rng.integers(1, 4))
            rows.append([F(k, 4), F(4 - k, 4)])
    return Policy(np.array(rows, dtype=object))


def change_unreachable(p: Policy) -> Policy:
    """``p`` with another action at the unreachable state 3: same occupancy and lottery."""
    rows = p.exact_probabilities().copy()
    rows[3] = [rows[3][1], rows[3][0]] if rows[3][0] != rows[3][1] else [F(1), F(0)]
    return Policy(rows)


def generator(acronym: str, env: FiniteMDP, rng: np.random.Generator) -> Any:
    if acronym == "PO":
        fpr = formalism_info("FPR").sampler(env, rng)
        return PolicyOrdering(by_key(fpr.f))
    return formalism_info(acronym).sampler(env, rng)


def ranking_data(spec: Any, env: FiniteMDP, pols: list[Policy]) -> Comparisons:
    ranks = spec.compile(env, exact=True).rank(pols)
    groups = [tuple(int(i) for i in np.flatnonzero(ranks == r)) for r in sorted(set(ranks))]
    return Comparisons.from_ranking(pols, groups)


def check_orders(result: Any, env: FiniteMDP, data: Comparisons, *, exact: bool) -> None:
    ev = result.spec.compile(env, exact=exact)
    for c in data.comparisons:
        got = ev.compare(data.policies[c.first], data.policies[c.second])
        assert got == (1 if c.relation == ">" else 0), (c, result.spec)


def gamma_of(spec: Any) -> Any:
    return getattr(spec, "gamma", None)


# ---------------------------------------------------------------- generated data


@pytest.mark.parametrize("acronym", ALL)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_data_from_a_random_spec_is_fitted_and_held_out_policies_follow(
        acronym: str, seed: int) -> None:
    rng = np.random.default_rng(100 * seed + 7)
    env = env_with_unreachable(seed)
    spec = generator(acronym, env, rng)
    pols = [random_policy(rng) for _ in range(5)]
    if acronym not in POLICY:  # a data policy with another's occupancy and lottery
        pols.append(change_unreachable(pols[0]))
    data = ranking_data(spec, env, pols)
    exact = seed == 0
    result = fit(acronym, env, data, gamma=gamma_of(spec), exact=exact)
    assert result.formalism == acronym and result.consistent
    assert result.exact or not exact
    assert type(result.spec).__name__ == type(spec).__name__
    check_orders(result, env, data, exact=True)
    check_orders(result, env, data, exact=False)
    # held out: the same occupancy / lottery (or, for FPR and PO, the same policy)
    ev = result.spec.compile(env, exact=True)
    for p in pols:
        twin = Policy(p.exact_probabilities()) if acronym in POLICY else change_unreachable(p)
        assert ev.compare(twin, p) == 0
    # a random held-out policy gets a value: the spec is defined for every policy
    ev.rank([*pols, random_policy(rng)])


@pytest.mark.parametrize("acronym", ALL)
@settings(max_examples=4)
@given(data=st.data())
def test_data_from_registered_strategies_is_fitted(acronym: str, data: st.DataObject) -> None:
    env = env_with_unreachable(3)
    spec = data.draw(strategy_for(acronym, env))
    seed = data.draw(st.integers(0, 1000))
    rng = np.random.default_rng(seed)
    pols = [random_policy(rng) for _ in range(4)]
    comps = ranking_data(spec, env, pols)
    result = fit(acronym, env, comps, gamma=gamma_of(spec))
    check_orders(result, env, comps, exact=True)


# ---------------------------------------------------------------- the invariance decides


def identified_pair(seed: int = 0) -> tuple[FiniteMDP, Policy, Policy]:
    env = env_with_unreachable(seed)
    p = random_policy(np.random.default_rng(seed))
    return env, p, change_unreachable(p)


@pytest.mark.parametrize("acronym", OCCUPANCY + LOTTERY)
def test_identified_policies_ordered_strictly_give_a_certificate(acronym: str) -> None:
    env, p, q = identified_pair()
    data = Comparisons(policies=[p, q], pairs=[(0, 1, ">")])
    with pytest.raises(NotExpressibleError) as info:
        fit(acronym, env, data, gamma=F(1, 2))
    cert = info.value.certificate
    assert cert is not None
    cert.check()
    assert cert.formalism == acronym and cert.rows == (0,)
    assert acronym in str(info.value) or cert.description in str(info.value)


@pytest.mark.parametrize("acronym", POLICY)
def test_policy_level_formalisms_see_unreachable_states(acronym: str) -> None:
    env, p, q = identified_pair()
    data = Comparisons(policies=[p, q], pairs=[(0, 1, ">")])
    result = fit(acronym, env, data)
    check_orders(result, env, data, exact=True)


@pytest.mark.parametrize("acronym", ALL)
def test_the_same_policy_listed_twice_cannot_be_ordered(acronym: str) -> None:
    env, p, _ = identified_pair()
    data = Comparisons(policies=[p, Policy(p.exact_probabilities())], pairs=[(0, 1, ">")])
    with pytest.raises(NotExpressibleError) as info:
        fit(acronym, env, data, gamma=F(1, 2))
    info.value.certificate.check()


def chain_data() -> tuple[FiniteMDP, Comparisons]:
    """0 > 1 > 2, 2 = 3 and 1 > 4 in the data, and 3 has the occupancy (and lottery) of 0."""
    env, p, q = identified_pair(1)
    rng = np.random.default_rng(5)
    r1, r2, r4 = (random_policy(rng) for _ in range(3))
    return env, Comparisons(policies=[p, r1, r2, q, r4],
                            pairs=[(0, 1, ">"), (1, 2, ">"), (2, 3, "="), (1, 4, ">")])


@pytest.mark.parametrize("acronym", ["ONMR", "OMO", "TLO"])
def test_a_chain_through_ties_gives_a_minimal_certificate_and_tampering_fails(
        acronym: str) -> None:
    env, data = chain_data()
    with pytest.raises(NotExpressibleError) as info:
        fit(acronym, env, data, gamma=F(1, 2))
    cert = info.value.certificate
    cert.check()
    # minimal: the row "1 > 4" plays no part
    assert set(cert.rows) == {0, 1, 2}
    z = list(cert.strict_multipliers)
    bumped = replace(cert, strict_multipliers=tuple([z[0] + 1, *z[1:]]))
    with pytest.raises(CertificateError):
        bumped.check()
    flipped = replace(cert, comparisons=tuple(
        replace(c, relation="=") if c.relation == ">" and k == 0 else c
        for k, c in enumerate(cert.comparisons)))
    with pytest.raises(CertificateError):
        flipped.check()
    feats = [list(r) for r in cert.features]
    feats[0][0] += 1
    with pytest.raises(CertificateError):
        replace(cert, features=tuple(tuple(r) for r in feats)).check()
    # another item in place of the identified one
    other = random_policy(np.random.default_rng(11))
    items = list(cert.items)
    items[-1] = other
    with pytest.raises(CertificateError):
        replace(cert, items=tuple(items)).check()


@pytest.mark.parametrize("acronym", POLICY)
def test_the_chain_is_fitted_by_policy_level_formalisms(acronym: str) -> None:
    env, data = chain_data()
    sub = data.subset(data.comparisons[:3])
    result = fit(acronym, env, sub)
    check_orders(result, env, sub, exact=True)


def test_discount_zero_identifies_more_for_occupancy_than_for_lotteries() -> None:
    # gamma = 0: the occupancy measure is mu0(s) pi(a|s), blind to state 1 of E3
    p = Policy([[F(1, 2), F(1, 2)], [1, 0]])
    q = Policy([[F(1, 2), F(1, 2)], [0, 1]])
    data = Comparisons(policies=[p, q], pairs=[(0, 1, ">")])
    with pytest.raises(NotExpressibleError) as info:
        fit("OMO", E3(), data, gamma=0)
    info.value.certificate.check()
    result = fit("TLO", E3(), data, gamma=0)
    check_orders(result, E3(), data, exact=True)


def test_n2_witness_fed_to_tlo_gives_a_certificate_that_checks() -> None:
    w = next(w for w in separations() if w.name == "N2")
    assert (w.a, w.b) == ("TLO", "FPR")
    data = ranking_data(w.spec, w.env, list(w.policies))
    assert data.strict
    with pytest.raises(NotExpressibleError) as info:
        fit("TLO", w.env, data)
    cert = info.value.certificate
    cert.check()
    assert "L7" in cert.feature_map.name
    with pytest.raises(CertificateError):
        replace(cert, strict_multipliers=tuple(F(0) for _ in cert.strict_multipliers)).check()
    with pytest.raises(CertificateError):
        replace(cert, comparisons=tuple(replace(c, relation="=")
                                        for c in cert.comparisons)).check()
    # B = FPR fits the same data
    check_orders(fit("FPR", w.env, data), w.env, data, exact=True)


# ---------------------------------------------------------------- ONMR versus MR


def test_onmr_ties_need_not_be_equal_mr_values() -> None:
    # E3, p = pi(a|s0): p = 0 and p = 1 tied, p = 1/2 strictly better (N3's ordering)
    pols = [Policy([[F(p), 1 - F(p)], [1, 0]]) for p in (0, F(1, 2), 1)]
    data = Comparisons(policies=pols, pairs=[(1, 0, ">"), (0, 2, "="), (1, 2, ">")])
    with pytest.raises(NotExpressibleError) as info:
        fit("MR", E3(), data, gamma=F(1, 2))
    info.value.certificate.check()
    result = fit("ONMR", E3(), data, gamma=F(1, 2))
    check_orders(result, E3(), data, exact=True)
    # the fitted reward separates all three values; f equates two of them
    ret = [result.spec.compile(E3(), exact=True).exact_value(p) for p in pols]
    assert ret[0] == ret[2] and ret[1] > ret[0]
    assert isinstance(result.spec.f, PiecewiseLinear)
    assert result.margin == 1


# ---------------------------------------------------------------- OMORL options


def omorl_line() -> tuple[FiniteMDP, Any, list[Policy]]:
    rewards = np.eye(3)[:2][:, None, :]  # J = (p1, p2) / (1 - gamma) in E1
    pols = [Policy([[F(a), F(b), 1 - F(a) - F(b)]])
            for a, b in ((1, 0), (F(1, 2), F(1, 2)), (0, 1))]
    return E1(), rewards, pols


def test_omorl_linear_f_is_the_lp_and_certificate() -> None:
    env, rewards, pols = omorl_line()
    ok = Comparisons(policies=pols, pairs=[(0, 1, ">"), (1, 2, ">")])
    result = fit("OMORL", env, ok, gamma=F(1, 2), rewards=rewards, f="linear", exact=True)
    assert result.exact and result.margin > 0
    check_orders(result, env, ok, exact=True)
    peak = Comparisons(policies=pols, pairs=[(1, 0, ">"), (1, 2, ">")])
    with pytest.raises(NotExpressibleError) as info:
        fit("OMORL", env, peak, gamma=F(1, 2), rewards=rewards, f="linear")
    info.value.certificate.check()
    general = fit("OMORL", env, peak, gamma=F(1, 2), rewards=rewards)
    check_orders(general, env, peak, exact=True)
    free = fit("OMORL", env, ok, gamma=F(1, 2), f="linear")
    assert free.spec.k == 1
    check_orders(free, env, ok, exact=False)


@pytest.mark.parametrize("acronym", ["OMORL", "GOMORL"])
def test_given_rewards_identify_equal_return_vectors(acronym: str) -> None:
    env = E1()
    rewards = np.array([[[1, 1, 0]]])  # one objective: p1 + p2
    pols = [Policy([[F(1, 2), F(1, 2), F(0)]]), Policy([[F(0), F(1), F(0)]])]
    data = Comparisons(policies=pols, pairs=[(0, 1, ">")])
    with pytest.raises(NotExpressibleError) as info:
        fit(acronym, env, data, gamma=F(1, 2), rewards=rewards)
    cert = info.value.certificate
    cert.check()
    assert "return vector" in cert.feature_map.name
    result = fit(acronym, env, data, gamma=F(1, 2))  # free rewards see the difference
    check_orders(result, env, data, exact=True)


# ---------------------------------------------------------------- soft, demonstrations


def test_soft_drops_comparisons_greedily() -> None:
    env, data = chain_data()
    result = fit("ONMR", env, data, gamma=F(1, 2), soft=True)
    assert 1 <= len(result.violated) <= 2
    kept = [c for c in data.comparisons if c not in result.violated]
    check_orders(result, env, data.subset(kept), exact=True)


@pytest.mark.parametrize("acronym", ["OMO", "FPR"])
def test_soft_takes_data_with_strict_cycles(acronym: str) -> None:
    rng = np.random.default_rng(8)
    env = env_with_unreachable(2)
    pols = [random_policy(rng) for _ in range(3)]
    data = Comparisons(policies=pols, pairs=[(0, 1, ">"), (1, 2, ">"), (2, 0, ">")])
    result = fit(acronym, env, data, gamma=F(1, 2), soft=True)
    assert len(result.violated) == 1
    kept = [c for c in data.comparisons if c not in result.violated]
    check_orders(result, env, data.subset(kept), exact=True)


@pytest.mark.parametrize("acronym", ["ONMR", "FPR", "TLO"])
def test_a_demonstration_is_ranked_first(acronym: str) -> None:
    rng = np.random.default_rng(3)
    env = env_with_unreachable(3)
    pols = [random_policy(rng) for _ in range(4)]
    data = Comparisons(policies=pols, pairs=[(1, 2, ">"), (2, 3, ">")], demonstrations=[0])
    result = fit(acronym, env, data, gamma=F(1, 2))
    ranks = result.spec.compile(env, exact=True).rank(pols)
    assert ranks[0] == 0 and ranks[1] < ranks[2] < ranks[3]
    bad = Comparisons(policies=pols, pairs=[(1, 0, ">")], demonstrations=[0])
    with pytest.raises(NotExpressibleError):
        fit(acronym, env, bad, gamma=F(1, 2))


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("acronym", ALL)
def test_trajectory_data_is_a_named_error(acronym: str) -> None:
    data = Comparisons(trajectories=[([0, 0], [0]), ([0, 1], [0])], pairs=[(0, 1, ">")])
    with pytest.raises(InvalidSpecificationError, match="trajector"):
        fit(acronym, E3(), data, gamma=F(1, 2))


@pytest.mark.parametrize("acronym", OCCUPANCY)
def test_occupancy_formalisms_need_the_discount(acronym: str) -> None:
    data = Comparisons(policies=[[[1, 0], [1, 0]], [[0, 1], [1, 0]]], pairs=[(0, 1, ">")])
    with pytest.raises(InvalidSpecificationError, match="gamma"):
        fit(acronym, E3(), data)


@pytest.mark.parametrize("acronym", ALL)
def test_inconsistent_data_reports_the_cycle(acronym: str) -> None:
    data = Comparisons(policies=[[[1, 0], [1, 0]], [[0, 1], [1, 0]]],
                       pairs=[(0, 1, ">"), (1, 0, ">")])
    with pytest.raises(InconsistentComparisonsError) as info:
        fit(acronym, E3(), data, gamma=F(1, 2))
    assert len(info.value.cycle) == 2


def test_omorl_keywords_are_checked() -> None:
    data = Comparisons(policies=[[[1, 0, 0]], [[0, 1, 0]]], pairs=[(0, 1, ">")])
    with pytest.raises(InvalidSpecificationError, match="f="):
        fit("OMORL", E1(), data, gamma=0.5, f="cubic")
    with pytest.raises(InvalidSpecificationError):
        fit("OMORL", E1(), data, gamma=0.5, rewards=np.ones((2, 5, 5)))
    with pytest.raises(InvalidSpecificationError, match="unknown keyword"):
        fit("ONMR", E1(), data, gamma=0.5, rewards=np.ones((1, 1, 3)))


def test_float_policies_that_do_not_sum_exactly_are_read_as_the_nearest_rational() -> None:
    rows = [[0.1, 0.2, 0.7]]
    assert sum(F(x) for x in rows[0]) != 1
    data = Comparisons(policies=[rows, [[0.7, 0.2, 0.1]]], pairs=[(0, 1, ">")])
    for acronym in ("ONMR", "TLO", "FPR"):
        result = fit(acronym, E1(), data, gamma=0.5)
        assert result.spec.compile(E1()).compare(rows, [[0.7, 0.2, 0.1]]) == 1


def test_piecewise_linear_rejects_bad_knots() -> None:
    with pytest.raises(InvalidSpecificationError):
        PiecewiseLinear([F(1), F(0)], [F(0), F(1)], F(0))
    with pytest.raises(InvalidSpecificationError):
        PiecewiseLinear([F(0), F(1)], [F(0), F(1)], F(1, 2))
    g = PiecewiseLinear([F(0), F(1)], [F(3), F(5)], F(1, 4))
    assert g(F(1, 2)) == 4 and g(F(-7)) == 3 and g(0.5) == 4.0
    assert "min(max(x" in g.formula()


# ---------------------------------------------------------------- classes and monotonicity


@settings(max_examples=15)
@given(seed=st.integers(0, 10_000), gamma=st.sampled_from([F(0), F(1, 3), F(9, 10)]))
def test_class_keys_are_exact_occupancy_and_l7_classes(seed: int, gamma: F) -> None:
    """The cheap exact keys (reachable states and behaviour there; the initial states for
    gamma = 0) partition like exact occupancy measures, and lottery keys like lemma L7."""
    from objspec.formalisms._fit_invariance import lottery_invariance, occupancy_invariance
    from objspec.structural import L7

    rng = np.random.default_rng(seed)
    env = env_with_unreachable(seed % 7)
    pols = [random_policy(rng) for _ in range(4)]
    pols.append(change_unreachable(pols[0]))
    occ = occupancy_invariance(gamma, "OMO")
    lot = lottery_invariance("TLO")
    l7 = L7.feature_matrix(env, pols, ())
    for inv, reference in ((occ, [occ.exact_vector(env, p) for p in pols]),
                           (lot, [tuple(r) for r in l7])):
        keys = [inv.key(env, p) for p in pols]
        for i in range(len(pols)):
            for j in range(len(pols)):
                assert (keys[i] == keys[j]) == (reference[i] == reference[j])


@settings(max_examples=15)
@given(seed=st.integers(0, 10_000), gamma=st.sampled_from([F(0), F(1, 3), F(9, 10)]))
def test_fits_are_monotone_along_the_invariances(seed: int, gamma: F) -> None:
    """ONMR, OMORL, GOMORL, FOMR and OMO share one invariance; lotteries are finer, policies
    finer still: a fit at a coarser invariance implies one at every finer one."""
    rng = np.random.default_rng(seed)
    env = env_with_unreachable(seed % 5)
    pols = [random_policy(rng) for _ in range(3)]
    pols += [change_unreachable(pols[0]), Policy(pols[1].exact_probabilities())]
    pairs = [(int(i), int(j), str(rng.choice([">", "="])))
             for i, j in rng.integers(0, 5, size=(3, 2)) if i != j]
    data = Comparisons(policies=pols, pairs=pairs or [(0, 1, ">")])
    if data.cycle() is not None:
        return
    fits = {}
    for acronym in ALL:
        try:
            fit(acronym, env, data, gamma=gamma)
            fits[acronym] = True
        except NotExpressibleError as exc:
            exc.certificate.check()
            fits[acronym] = False
    assert len({fits[a] for a in OCCUPANCY}) == 1
    assert fits["FTLR"] == fits["TLO"] and fits["FPR"] == fits["PO"]
    assert fits["ONMR"] <= fits["TLO"] <= fits["FPR"]


@pytest.mark.parametrize("acronym", ["ONMR", "GOMORL", "FTLR", "PO"])
def test_float_environments_fit_in_floats_and_exactly_as_the_nearest_rational_model(
        acronym: str) -> None:
    from objspec.environments.generators import random_mdp

    env = random_mdp(6, 2, 3, seed=4, initial="first")
    rng = np.random.default_rng(4)
    pols = [Policy(rng.dirichlet([1.0, 1.0], size=6)) for _ in range(5)]
    data = Comparisons.from_ranking(pols, [3, (0, 4), 1, 2])
    result = fit(acronym, env, data, gamma=0.9)
    assert not result.exact
    check_orders(result, env, data, exact=False)
    exact = fit(acronym, env, data, gamma=0.9, exact=True)
    assert exact.exact
    check_orders(exact, env, data, exact=False)
