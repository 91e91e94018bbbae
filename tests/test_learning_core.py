"""The learning core: comparisons, consistency, the MR fitter, certificates and their tampering."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from objspec import FiniteMDP, Policy
from objspec.errors import (
    CertificateError,
    InconsistentComparisonsError,
    InvalidPolicyError,
    InvalidSpecificationError,
    NotExpressibleError,
)
from objspec.formalisms import MarkovReward
from objspec.learning import Comparisons, ImpossibilityCertificate, fit
from objspec.mdp.strategies import mdps, policies, rewards

F = Fraction


def once_visited_decision() -> FiniteMDP:
    """State 0 chooses between two absorbing states; a policy is its probability ``p``."""
    P = np.zeros((3, 2, 3))
    P[0, 0, 1] = P[0, 1, 2] = 1.0
    P[1, :, 1] = P[2, :, 2] = 1.0
    return FiniteMDP(P, [1.0, 0.0, 0.0])


def mixture(p: Fraction) -> Policy:
    return Policy(np.array([[1 - p, p], [F(1), F(0)], [F(1), F(0)]], dtype=object))


def middle_best() -> Comparisons:
    """``p = 1/2`` strictly above both ends: no Markov reward does this (value affine in p)."""
    return Comparisons(policies=[mixture(F(0)), mixture(F(1, 2)), mixture(F(1))],
                       pairs=[(1, 0, ">"), (1, 2, ">")])


def certificate() -> ImpossibilityCertificate:
    with pytest.raises(NotExpressibleError) as info:
        fit("MR", once_visited_decision(), middle_best(), gamma=F(1, 2))
    cert = info.value.certificate
    assert isinstance(cert, ImpossibilityCertificate)
    return cert


# ---------------------------------------------------------------------- data


def test_pairs_are_normalised_and_rows_kept() -> None:
    data = Comparisons(policies=[[[1.0]]] * 3, pairs=[(0, 1, "<"), (2, 1, "=")])
    assert [(c.first, c.second, c.relation, c.row) for c in data.comparisons] == [
        (1, 0, ">", 0), (2, 1, "=", 1)]
    assert data.strict == ((1, 0),) and data.ties == ((2, 1),)


@pytest.mark.parametrize("pairs, match", [
    ([(0, 3, ">")], "item 3 does not exist"),
    ([(0, 0, ">")], "strictly preferred to itself"),
    ([(0, 1, ">=")], "unknown relation"),
    ([(0, 1)], "expected \\(i, j, relation\\)"),
    ([(0.5, 1, ">")], "not an integer"),
    ([], "empty"),
])
def test_bad_pairs_are_named(pairs: list, match: str) -> None:
    with pytest.raises(InvalidSpecificationError, match=match):
        Comparisons(policies=[[[1.0]], [[1.0]]], pairs=pairs)


def test_nan_policy_is_named() -> None:
    with pytest.raises(InvalidPolicyError, match="policy 1"):
        Comparisons(policies=[[[1.0]], [[float("nan")]]], pairs=[(0, 1, ">")])


def test_policies_and_trajectories_are_exclusive() -> None:
    with pytest.raises(InvalidSpecificationError, match="exactly one"):
        Comparisons(pairs=[(0, 1, ">")])
    with pytest.raises(InvalidSpecificationError, match="exactly one"):
        Comparisons(policies=[[[1.0]]], trajectories=[([0], [])], pairs=[(0, 0, "=")])


def test_ranking_gives_strict_and_tied_pairs() -> None:
    data = Comparisons.from_ranking([[[1.0]]] * 4, [3, (0, 2), 1])
    assert set(data.strict) == {(3, 0), (0, 1)} and data.ties == ((0, 2),)


@st.composite
def comparison_data(draw: st.DrawFn) -> list[tuple[int, int, str]]:
    n = draw(st.integers(2, 6))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                                    st.sampled_from([">", "<", "="])), min_size=1, max_size=10))
    return [(i, j, r) for i, j, r in pairs if not (i == j and r != "=")] or [(0, 1, "=")]


@given(comparison_data())
def test_cycle_detection_agrees_with_strongly_connected_components(pairs: list) -> None:
    n = 1 + max(max(i, j) for i, j, _ in pairs)
    data = Comparisons(policies=[[[1.0]]] * n, pairs=pairs)
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    for c in data.comparisons:
        g.add_edge(c.first, c.second)
        if c.relation == "=":
            g.add_edge(c.second, c.first)
    comp = {v: k for k, scc in enumerate(nx.strongly_connected_components(g)) for v in scc}
    inconsistent = any(comp[c.first] == comp[c.second] for c in data.comparisons
                       if c.relation == ">")
    cyc = data.cycle()
    assert (cyc is not None) == inconsistent
    if cyc is not None:
        assert any(c.relation == ">" for c in cyc)
        # the cycle closes: each comparison leads (first -> second, or either way for ties)
        # from where the previous one ended back to the start
        node = cyc[0].first
        for c in cyc:
            if c.first == node:
                node = c.second
            else:
                assert c.relation == "=" and c.second == node
                node = c.first
        assert node == cyc[0].first
        with pytest.raises(InconsistentComparisonsError) as info:
            data.check_consistent()
        assert info.value.cycle == cyc


def test_fit_reports_the_cycle() -> None:
    env = once_visited_decision()
    data = Comparisons(policies=[mixture(F(0)), mixture(F(1))],
                       pairs=[(0, 1, ">"), (1, 0, "=")])
    with pytest.raises(InconsistentComparisonsError, match="cycle"):
        fit("MR", env, data, gamma=0.5)


# ---------------------------------------------------------------------- fit: MR


@given(st.data())
def test_mr_fit_reproduces_a_random_markov_reward(data: st.DataObject) -> None:
    env = data.draw(mdps(max_states=4, max_actions=3, exact=True))
    reward = data.draw(rewards(env, "state_action", integers=True, min_value=-3,
                               max_value=3))
    gamma = F(1, 2)
    spec = MarkovReward(reward, gamma)
    pols = [data.draw(policies(env, "deterministic", exact=True)) for _ in range(4)]
    ev = spec.compile(env, exact=True)
    vals = [ev.exact_value(p) for p in pols]
    pairs = [(i, j, ">" if vals[i] > vals[j] else "<" if vals[i] < vals[j] else "=")
             for i in range(4) for j in range(i + 1, 4)]
    result = fit("MR", env, Comparisons(policies=pols, pairs=pairs), gamma=gamma, exact=True)
    assert result.exact and not result.violated
    fitted = result.spec.compile(env, exact=True)
    got = [fitted.exact_value(p) for p in pols]
    for i, j, r in pairs:
        assert (got[i] > got[j]) if r == ">" else (got[i] < got[j]) if r == "<" else (
            got[i] == got[j])
    if result.margin is not None:
        strict_gaps = [abs(got[i] - got[j]) for i, j, r in pairs if r != "="]
        assert min(strict_gaps) == result.margin


def test_float_fit_orders_the_data_and_states_its_normalisation() -> None:
    env = once_visited_decision()
    data = Comparisons(policies=[mixture(F(0)), mixture(F(1, 2)), mixture(F(1))],
                       pairs=[(2, 1, ">"), (1, 0, ">")])
    result = fit("MR", env, data, gamma=0.9)
    assert not result.exact and result.margin > 0
    assert np.abs(result.spec.reward).max() <= 1 + 1e-9
    assert "max |r" in result.normalisation
    ev = result.spec.compile(env)
    assert ev.compare(data.policies[2], data.policies[1]) == 1
    assert ev.compare(data.policies[1], data.policies[0]) == 1


def test_requested_margin_too_large_is_a_bounded_failure() -> None:
    from objspec.errors import NoFitFoundError

    env = once_visited_decision()
    data = Comparisons(policies=[mixture(F(0)), mixture(F(1))], pairs=[(1, 0, ">")])
    best = fit("MR", env, data, gamma=0.5).margin
    assert fit("MR", env, data, gamma=0.5, margin=best / 2).margin == pytest.approx(best)
    with pytest.raises(NoFitFoundError, match="below the requested margin"):
        fit("MR", env, data, gamma=0.5, margin=best * 2)


def test_soft_fit_reports_the_violated_comparisons() -> None:
    env = once_visited_decision()
    data = Comparisons(policies=[mixture(F(0)), mixture(F(1, 2)), mixture(F(1))],
                       pairs=[(1, 0, ">"), (1, 2, ">"), (2, 0, ">")])
    result = fit("MR", env, data, gamma=0.5, soft=True)
    assert 1 <= len(result.violated) < 3
    ev = result.spec.compile(env)
    for c in data.comparisons:
        ok = ev.compare(data.policies[c.first], data.policies[c.second]) == 1
        assert ok == (c not in result.violated)


@pytest.mark.parametrize("kwargs, match", [
    ({}, "pass gamma="),
    ({"gamma": 1.0}, "outside \\[0, 1\\)"),
    ({"gamma": float("nan")}, "outside"),
    ({"gamma": 0.5, "margin": -1}, "positive"),
    ({"gamma": 0.5, "colour": "red"}, "unknown keyword colour"),
])
def test_bad_fit_options_are_named(kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidSpecificationError, match=match):
        fit("MR", once_visited_decision(), middle_best().subset(
            middle_best().comparisons[:1]), **kwargs)


def test_unknown_formalism_and_foreign_policies_are_named() -> None:
    env = once_visited_decision()
    with pytest.raises(InvalidSpecificationError, match="unknown formalism|no formalism"):
        fit("XYZ", env, middle_best(), gamma=0.5)
    other = Comparisons(policies=[[[1.0, 0.0]], [[0.0, 1.0]]], pairs=[(0, 1, ">")])
    with pytest.raises(InvalidPolicyError, match="another environment"):
        fit("MR", env, other, gamma=0.5)


# ---------------------------------------------------------------------- certificates


def test_certificate_is_minimal_checks_and_explains_itself() -> None:
    cert = certificate()
    cert.check()
    assert sorted(cert.rows) == [0, 1]
    text = repr(cert)
    assert "these 2 comparisons" in text and "Markov reward" in text and "0 > 0" in text
    # minimal: each comparison alone is explainable
    for c in cert.comparisons:
        fit("MR", once_visited_decision(), middle_best().subset([
            dataclasses.replace(c, row=0)]), gamma=F(1, 2))


def test_certificate_tampering_is_caught() -> None:
    cert = certificate()
    bad_z = dataclasses.replace(cert, strict_multipliers=(
        cert.strict_multipliers[0] * 2, *cert.strict_multipliers[1:]))
    with pytest.raises(CertificateError):
        bad_z.check()
    flipped = dataclasses.replace(cert, comparisons=(
        dataclasses.replace(cert.comparisons[0], first=cert.comparisons[0].second,
                            second=cert.comparisons[0].first), *cert.comparisons[1:]))
    with pytest.raises(CertificateError):
        flipped.check()
    feats = [list(r) for r in cert.features]
    feats[0][0] += 1
    with pytest.raises(CertificateError, match="recomputed"):
        dataclasses.replace(cert, features=tuple(tuple(r) for r in feats)).check()
    swapped = dataclasses.replace(cert, items=(mixture(F(1, 3)), *cert.items[1:]))
    with pytest.raises(CertificateError, match="recomputed"):
        swapped.check()


def test_certificate_with_a_tie() -> None:
    env = once_visited_decision()
    data = Comparisons(policies=[mixture(F(0)), mixture(F(1, 2)), mixture(F(1))],
                       pairs=[(1, 0, ">"), (0, 2, "=")])
    with pytest.raises(NotExpressibleError) as info:
        fit("MR", env, data, gamma=F(9, 10), exact=True)
    cert = info.value.certificate
    cert.check()
    assert {c.relation for c in cert.comparisons} == {">", "="}


def test_soft_fit_accepts_noisy_cycles() -> None:
    env = once_visited_decision()
    data = Comparisons(policies=[mixture(F(0)), mixture(F(1))],
                       pairs=[(1, 0, ">"), (1, 0, ">"), (0, 1, ">")])
    with pytest.raises(InconsistentComparisonsError):
        fit("MR", env, data, gamma=0.5)
    result = fit("MR", env, data, gamma=0.5, soft=True)
    assert [c.row for c in result.violated] == [2]
