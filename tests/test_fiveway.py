"""The five-way claim of the abstract as single witnesses, and tampering with them."""

from __future__ import annotations

import dataclasses
from fractions import Fraction as F
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from objspec.environments import E6, E7
from objspec.errors import CertificateError
from objspec.formalisms import RegularisedRL
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy
from objspec.reductions import five_way_lines
from objspec.reductions.fiveway import (
    FIVE,
    FiveWayPart,
    FiveWayWitness,
    _n9_onmr_refuter,
    check_five_way,
    five_way_witnesses,
)
from objspec.reductions.lemmas import (
    L3_PARTIAL,
    L_LTL_DET,
    ancestors,
    deterministic_environment,
    deterministic_policy,
)
from objspec.reductions.separation_catalogue import (
    AnalyticWitness,
    ChainWitness,
    FiniteWitness,
    quadratic_regulariser,
    strict_chain,
)


def _witness(formalism: str) -> FiveWayWitness:
    return next(w for w in five_way_witnesses() if w.formalism == formalism)


def _part(w: FiveWayWitness, against: str) -> FiveWayPart:
    return next(p for p in w.parts if p.against == against)


def _with_part(w: FiveWayWitness, part: FiveWayPart) -> FiveWayWitness:
    parts = tuple(part if p.against == part.against else p for p in w.parts)
    return dataclasses.replace(w, parts=parts)


def test_one_witness_per_formalism_covering_the_other_four() -> None:
    ws = five_way_witnesses()
    assert [w.formalism for w in ws] == list(FIVE)
    for w in ws:
        assert sorted(p.against for p in w.parts) == sorted(set(FIVE) - {w.formalism})
        for p in w.parts:
            if p.witness is not None:  # a single witness: the same spec and environment
                assert p.witness.specification is w.specification
                assert p.witness.environment is w.environment


def test_the_five_witnesses_check_and_the_gaps_are_reported() -> None:
    reports = check_five_way()
    assert {r.formalism: r.complete for r in reports} == dict.fromkeys(FIVE, True)
    missing = {(w.formalism, p.against, p.status) for w in five_way_witnesses()
               for p in w.parts if p.status not in ("certificate", "refuter", "analytic")}
    assert missing == set()
    certs = [rep.certificate for r in reports for rep in r.reports if rep.certificate]
    assert len(certs) == 11  # RRL 3, ONMR 4, RM 2, LTL 2
    for cert in certs:
        cert.verify()


def test_verify_lines_report_the_five() -> None:
    lines, failed = five_way_lines()
    assert failed == 0
    text = "\n".join(lines)
    assert "5 of 5 single witnesses" in text
    assert "not established" not in text


def test_a_tampered_certificate_fails() -> None:
    rep = _witness("ONMR").check()
    cert = next(r.certificate for r in rep.reports if r.certificate is not None)
    z = list(cert.strict_multipliers)
    k = next(i for i, x in enumerate(z) if x)
    z[k] += 1
    with pytest.raises(CertificateError, match="do not cancel"):
        dataclasses.replace(cert, strict_multipliers=tuple(z)).verify()


def test_a_part_about_another_ordering_is_refused() -> None:
    w = _witness("LTL")
    lar = _part(w, "LAR").witness
    assert lar is not None
    other = dataclasses.replace(lar, name="N12-LTL-moved",
                                specification=lambda: w.specification())
    with pytest.raises(CertificateError, match="not a single witness"):
        _with_part(w, FiveWayPart("LAR", "certificate", other, "moved")).check()


def test_a_part_with_too_few_policies_has_no_certificate() -> None:
    w = _witness("ONMR")
    part = _part(w, "RM")
    assert isinstance(part.witness, FiniteWitness)
    pols = part.witness.policies[:2]  # (0, 1) ~ (1, 0): consistent with a bilinear value
    weak = dataclasses.replace(part.witness, policy_list=lambda: pols)
    with pytest.raises(CertificateError, match="consistent with lemma L1"):
        _with_part(w, FiveWayPart("RM", "certificate", weak, "weak")).check()


def test_a_wrong_refuter_fails() -> None:
    w = _witness("LTL")
    part = _part(w, "ONMR")
    assert isinstance(part.witness, AnalyticWitness)

    def lazy(params: Any) -> tuple[Policy, Policy]:
        from objspec.reductions.separation_catalogue import _e6_pq

        return _e6_pq(0, 1), _e6_pq(1, 1)  # LTL strict, but ell differs for most rewards

    bad = dataclasses.replace(part.witness, refuter=lazy)
    with pytest.raises(CertificateError, match="different linear statistics"):
        _with_part(w, FiveWayPart("ONMR", "refuter", bad, "lazy")).check()


def test_parts_must_cover_the_other_four_and_match_their_status() -> None:
    w = _witness("RRL")
    with pytest.raises(CertificateError, match="cover"):
        dataclasses.replace(w, parts=w.parts[:3]).check()
    part = _part(w, "RM")
    with pytest.raises(CertificateError, match="is not a refuter"):
        _with_part(w, FiveWayPart("RM", "refuter", part.witness, "wrong kind")).check()
    with pytest.raises(CertificateError, match="proves RM cannot express"):
        _with_part(w, FiveWayPart("LTL", "certificate", part.witness, "wrong pair")).check()


@settings(max_examples=20)
@given(rewards=st.lists(st.integers(-3, 3), min_size=12, max_size=12),
       gamma=st.sampled_from([F(1, 3), F(1, 2), F(9, 10)]))
def test_the_n9_onmr_refuter_defeats_random_onmr_specs(rewards: list[int], gamma: F) -> None:
    reward = np.array([F(x) for x in rewards], dtype=object).reshape(3, 2, 2)
    full = np.zeros((3, 2, 3), dtype=object)
    full[:, :, 1:] = reward
    full[:, :, 0] = F(0)
    w = _witness("LTL")
    part = _part(w, "ONMR")
    assert isinstance(part.witness, AnalyticWitness)
    p1, p2, why = part.witness.refute((full, gamma))
    assert "ell =" in why
    assert _n9_onmr_refuter((full, gamma)) == (p1, p2)


# ---------------------------------------------------------------- lemma L3-partial


def test_l3_partial_precondition() -> None:
    assert ancestors(E6(), 0) == ()
    L3_PARTIAL.check_precondition(E6(), [], (0,))
    with pytest.raises(CertificateError, match="actions change the successors of state 1"):
        L3_PARTIAL.check_precondition(E6(), [], (1,))
    with pytest.raises(CertificateError, match="actions change"):
        L3_PARTIAL.check_precondition(E7(), [], (0,))


@settings(max_examples=15)
@given(rewards=st.lists(st.integers(-3, 3), min_size=18, max_size=18),
       alpha=st.integers(-2, 2), p=st.sampled_from([F(0), F(1, 3), F(1)]),
       q=st.sampled_from([F(0), F(1, 4), F(1)]))
def test_l3_partial_is_sound_on_e6(rewards: list[int], alpha: int, p: F, q: F) -> None:
    """Every RRL value on E6 is g(pi(.|s0)) + H(rest): differences in p do not depend on q."""
    reward = np.array([F(x) for x in rewards], dtype=object).reshape(3, 2, 3)
    spec = RegularisedRL(reward, quadratic_regulariser, alpha, F(1, 2))
    ev = spec.compile(E6(), exact=True)

    def J(pp: F, qq: F) -> Any:
        return ev.exact_value(Policy(np.array([[pp, 1 - pp], [1 - qq, qq], [1, 0]],
                                              dtype=object)))

    assert J(p, q) - J(F(1, 2), q) == J(p, F(1, 2)) - J(F(1, 2), F(1, 2))


# ---------------------------------------------------------------- lemma L-LTL-det


def test_the_ltl_parts_use_the_counting_lemma() -> None:
    for formalism in ("RM", "LAR"):
        part = _part(_witness(formalism), "LTL")
        assert part.status == "certificate"
        assert isinstance(part.witness, ChainWitness)
        rep = part.witness.check()
        assert rep.exact and rep.kind == "finite"
        assert "strictly decreasing" in rep.facts[1]


def test_l_ltl_det_precondition() -> None:
    assert deterministic_environment(E7())
    assert deterministic_policy(Policy([[1, 0], [0, 1]]))
    assert not deterministic_policy(Policy([[F(1, 2), F(1, 2)], [0, 1]]))
    L_LTL_DET.check_precondition(E7(), [Policy([[1, 0], [0, 1]])])
    with pytest.raises(CertificateError, match="policy 1 is not deterministic"):
        L_LTL_DET.check_precondition(E7(), [Policy([[1, 0], [0, 1]]),
                                            Policy([[F(1, 2), F(1, 2)], [0, 1]])])
    tau = np.zeros((2, 2, 2))
    tau[:, :, 0] = 1
    tau[0, 1] = [0.5, 0.5]
    noisy = FiniteMDP(tau, [1.0, 0.0])
    assert not deterministic_environment(noisy)
    with pytest.raises(CertificateError, match="not deterministic"):
        L_LTL_DET.check_precondition(noisy, [])
    assert not deterministic_environment(FiniteMDP(np.ones((2, 1, 2)) / 2, [0.5, 0.5]))


def test_a_chain_witness_with_a_tie_or_a_random_policy_fails() -> None:
    part = _part(_witness("LAR"), "LTL")
    assert isinstance(part.witness, ChainWitness)
    pols = part.witness.policies
    two = dataclasses.replace(part.witness, policy_list=lambda: [pols[0], pols[0], pols[2]])
    with pytest.raises(CertificateError, match="no strict chain of 3"):
        two.check()
    mixed = dataclasses.replace(
        part.witness, policy_list=lambda: [*pols, Policy([[F(1, 2), F(1, 2)], [0, 1]])])
    with pytest.raises(CertificateError, match="not deterministic"):
        mixed.check()
    wrong = dataclasses.replace(part.witness, a="RM")
    with pytest.raises(CertificateError, match="not proved for RM"):
        wrong.check()


@settings(max_examples=40)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=7))
def test_strict_chain_is_sound_and_finds_the_longest(values: list[int]) -> None:
    comp = np.sign(np.subtract.outer(values, values))
    classes = len(set(values))
    chain = strict_chain(comp, classes)
    assert chain is not None
    assert all(values[a] > values[b] for a, b in zip(chain, chain[1:], strict=False))
    assert strict_chain(comp, classes + 1) is None


@settings(max_examples=25)
@given(formula=st.sampled_from(["F a", "G a", "a U b", "G F b", "X X a", "F G !a", "a",
                                "b -> X a", "(a U b) | G a"]),
       labels=st.lists(st.sets(st.sampled_from(["a", "b"])), min_size=4, max_size=4))
def test_ltl_is_two_valued_on_deterministic_runs(formula: str, labels: list[set[str]]) -> None:
    """The lemma itself: every LTL value of a deterministic policy on E7 is 0 or 1."""
    from objspec.environments import E7 as e7
    from objspec.formalisms import LinearTemporalLogic

    spec = LinearTemporalLogic(formula, labelling=lambda s, a, t: labels[2 * s + a],
                               propositions=("a", "b"))
    ev = spec.compile(e7(), exact=True)
    for q1 in (0, 1):
        for q2 in (0, 1):
            pol = Policy([[1 - q1, q1], [1 - q2, q2]])
            assert ev.exact_value(pol) in (0, 1)
