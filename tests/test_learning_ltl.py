"""The LTL fitter: the smallest formula by size, bounded misses, L-LTL-det and L1 certificates."""

from __future__ import annotations

import dataclasses
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from objspec import FiniteMDP, Policy
from objspec.environments import E7
from objspec.environments.strategies import ltl_formulas
from objspec.errors import (
    CertificateError,
    InvalidSpecificationError,
    NoFitFoundError,
    NotExpressibleError,
)
from objspec.formalisms.fitting import ClassBoundCertificate, ImpossibilityCertificate
from objspec.formalisms.registry import formalism_info
from objspec.formalisms.temporal_logic import LTL
from objspec.learning import Comparisons, fit
from objspec.ltl.enumeration import (
    dwyer_patterns,
    enumerate_formulas,
    formula_nodes,
    normal_form,
)
from objspec.ltl.parser import parse_formula
from objspec.mdp.strategies import labelled_mdps, policy_batches
from objspec.reductions.fiveway import five_way_witnesses
from objspec.reductions.separation_catalogue import b_comparisons


def _ranked(values: list[F]) -> list[tuple[int, int, str]]:
    order = sorted(range(len(values)), key=lambda i: -values[i])
    return [(order[k], order[k + 1], ">" if values[order[k]] > values[order[k + 1]] else "=")
            for k in range(len(order) - 1)]


def _respects(spec: LTL, env: FiniteMDP, data: Comparisons) -> bool:
    ev = spec.compile(env, exact=True)
    vals = [ev.exact_value(p) for p in data.policies or ()]
    return all(vals[c.first] > vals[c.second] if c.relation == ">" else
               vals[c.first] == vals[c.second] for c in data.comparisons)


def _lasso_env() -> FiniteMDP:
    """s0 chooses: a (to s1, labelled p, then back to s0 w.p. 1/2 or to the sink s2 labelled q)
    or b (straight to s2)."""
    P = np.zeros((3, 2, 3), dtype=object)
    P[:] = F(0)
    P[0, 0, 1] = P[0, 1, 2] = F(1)
    P[1, :, 0] = P[1, :, 2] = F(1, 2)
    P[2, :, 2] = F(1)
    return FiniteMDP(P, [F(1), F(0), F(0)], labels={1: ["p"], 2: ["q"]})


def _pol(x: F) -> Policy:
    return Policy([[x, 1 - x], [F(1), F(0)], [F(1), F(0)]])


# ---------------------------------------------------------------------- the search space


def test_enumeration_sizes_increase_and_normal_forms_are_distinct() -> None:
    seen = set()
    sizes = []
    for n, f in enumerate_formulas(["p", "q"], 4):
        assert formula_nodes(f) == n
        key = normal_form(f)
        assert key not in seen
        seen.add(key)
        sizes.append(n)
    assert sizes == sorted(sizes) and sizes.count(1) == 4


def test_patterns_come_first_at_each_size() -> None:
    pats = dwyer_patterns(["p", "q"])
    assert "G(!q | Fp)" in {str(normal_form(f)) for f in pats}
    by_size: dict[int, list[str]] = {}
    for n, f in enumerate_formulas(["p", "q"], 3):
        by_size.setdefault(n, []).append(str(f))
    expected = [str(f) for f in pats if formula_nodes(f) == 3]
    assert by_size[3][:len(expected)] == expected
    assert by_size[2][:2] == ["Fp", "Gp"]


def test_enumeration_rejects_bad_bounds() -> None:
    with pytest.raises(InvalidSpecificationError, match="max_size"):
        list(enumerate_formulas(["p"], 0))
    with pytest.raises(InvalidSpecificationError, match="one string"):
        list(enumerate_formulas("pq", 2))  # type: ignore[arg-type]


# ---------------------------------------------------------------------- fits


def test_fit_finds_a_small_formula_verified_exactly() -> None:
    env = _lasso_env()
    pols = [_pol(F(1)), _pol(F(1, 2)), _pol(F(0))]
    data = Comparisons(policies=pols, pairs=[(0, 1, ">"), (1, 2, ">")])
    result = fit("LTL", env, data, exact=True)
    assert result.exact and isinstance(result.margin, F) and result.margin > 0
    assert result.details["size"] <= 2 and result.details["candidates"] >= 1
    assert _respects(result.spec, env, data)
    assert formalism_info("LTL").fitter is not None
    assert formalism_info("LTL").fitter.decides is False
    # rational input: the winner is confirmed exactly without being asked
    assert fit("LTL", env, data).exact
    floats = Comparisons(policies=[p.probabilities.astype(float) for p in pols],
                         pairs=[(0, 1, ">"), (1, 2, ">")])
    float_env = FiniteMDP(env.transitions, [1.0, 0.0, 0.0], labels={1: ["p"], 2: ["q"]})
    loose = fit("LTL", float_env, floats)
    assert not loose.exact and isinstance(loose.margin, float)


def test_fit_respects_ties_and_margin() -> None:
    env = _lasso_env()
    pols = [_pol(F(1)), _pol(F(1, 2)), _pol(F(0))]
    # F q holds surely under every policy: a tie; but G !q under none
    data = Comparisons(policies=pols, pairs=[(0, 1, "="), (1, 2, "=")])
    result = fit("LTL", env, data, exact=True)
    assert result.margin is None and _respects(result.spec, env, data)
    data = Comparisons(policies=pols, pairs=[(0, 2, ">")])
    big = fit("LTL", env, data, exact=True, margin=0.9)
    assert big.margin >= F(9, 10) and _respects(big.spec, env, data)


@settings(max_examples=8, deadline=None)
@given(st.data())
def test_fit_explains_data_from_random_formulas(draw: st.DataObject) -> None:
    env = draw.draw(labelled_mdps(("p",), min_states=2, max_states=3, max_actions=2,
                                  exact=True, initial="first"))
    labels = env.state_labels
    assert labels is not None
    env = env.with_labels(dict(enumerate(labels)), propositions=["p"])
    text = draw.draw(ltl_formulas(("p",), max_leaves=2))
    pols = draw.draw(policy_batches(env, 3, 3, "deterministic"))
    ev = LTL(text).compile(env, exact=True)
    values = [ev.exact_value(p) for p in pols]
    data = Comparisons(policies=pols, pairs=_ranked(values))
    bound = 4
    try:
        result = fit("LTL", env, data, exact=True, max_size=bound)
    except NoFitFoundError as exc:
        # only when the generator is larger than the bound (the search is complete below it)
        assert exc.bound == bound and formula_nodes(parse_formula(text)) > bound
        return
    assert result.exact and _respects(result.spec, env, data)
    assert result.details["size"] <= max(1, formula_nodes(parse_formula(text)))


# ---------------------------------------------------------------------- bounded misses


def test_a_miss_is_bounded_not_impossible() -> None:
    env = _lasso_env()
    pols = [_pol(F(1)), _pol(F(1, 2)), _pol(F(0))]
    # the mixed policy strictly best: affine in x at s0? no: s0 is revisited, so no L1 proof
    data = Comparisons(policies=pols, pairs=[(1, 0, ">"), (1, 2, ">")])
    with pytest.raises(NoFitFoundError, match="up to size 2 over propositions") as info:
        fit("LTL", env, data, max_size=2)
    assert info.value.bound == 2
    assert "larger formulas were not searched" in str(info.value)


def test_time_limit_reports_the_size_searched() -> None:
    env = _lasso_env()
    pols = [_pol(F(1)), _pol(F(1, 2)), _pol(F(0))]
    data = Comparisons(policies=pols, pairs=[(1, 0, ">"), (1, 2, ">")])
    with pytest.raises(NoFitFoundError, match="time limit") as info:
        fit("LTL", env, data, time_limit=1e-9)
    assert info.value.bound == 0


def test_soft_fit_reports_violations() -> None:
    env = _lasso_env()
    pols = [_pol(F(1)), _pol(F(1, 2)), _pol(F(0))]
    data = Comparisons(policies=pols, pairs=[(1, 0, ">"), (1, 2, ">")])
    result = fit("LTL", env, data, soft=True, max_size=2, exact=True)
    assert len(result.violated) == 1 and result.exact


# ---------------------------------------------------------------------- certificates


def _witness_data(name: str) -> tuple[FiniteMDP, Comparisons]:
    for w in five_way_witnesses():
        for part in w.parts:
            if part.witness is not None and part.witness.name == name:
                wit = part.witness
                comp, exact = b_comparisons(wit.spec, wit.env, wit.policies)
                assert exact
                n = len(wit.policies)
                pairs = [(i, j, ">" if comp[i, j] > 0 else "<" if comp[i, j] < 0 else "=")
                         for i in range(n) for j in range(i + 1, n)]
                return wit.env, Comparisons(policies=wit.policies, pairs=pairs)
    raise AssertionError(name)


@pytest.mark.parametrize("name", ["N10-LTL", "N13-LTL"])
def test_ltl_det_certificates_check_and_tampering_fails(name: str) -> None:
    env, data = _witness_data(name)
    with pytest.raises(NotExpressibleError, match="L-LTL-det") as info:
        fit("LTL", env, data)
    cert = info.value.certificate
    assert isinstance(cert, ClassBoundCertificate)
    cert.check()
    assert "strictly between" in repr(cert)
    # a stochastic pivot
    k = cert.item_ids.index(cert.pivot)
    S, A = cert.items[k].probabilities.shape
    items = list(cert.items)
    items[k] = Policy.uniform(S, A)
    with pytest.raises(CertificateError, match="not deterministic"):
        dataclasses.replace(cert, items=tuple(items)).check()
    # one comparison made a tie
    comps = list(cert.comparisons)
    comps[-1] = dataclasses.replace(comps[-1], relation="=")
    with pytest.raises(CertificateError, match="strict"):
        dataclasses.replace(cert, comparisons=tuple(comps)).check()
    # a noisy environment
    n = env.n_states
    noisy = FiniteMDP(np.full((n, env.n_actions, n), F(1, n), dtype=object),
                      [F(1)] + [F(0)] * (n - 1))
    with pytest.raises(CertificateError, match="not deterministic"):
        dataclasses.replace(cert, env=noisy).check()
    inexact = np.zeros((n, env.n_actions, n))
    inexact[:, :, 0], inexact[:, :, 1] = 0.1, 0.9  # 0.1 + 0.9 != 1 in exact binary
    with pytest.raises(CertificateError, match="exact"):
        dataclasses.replace(cert, env=FiniteMDP(inexact, np.eye(n)[0])).check()


def test_ltl_det_three_deterministic_policies_through_a_stochastic_one() -> None:
    stay, switch, leave = [[1, 0], [1, 0]], [[0, 1], [0, 1]], [[0, 1], [1, 0]]
    half = [[F(1, 2), F(1, 2)], [1, 0]]
    data = Comparisons(policies=[stay, half, switch, leave],
                       pairs=[(0, 1, ">"), (1, 2, "="), (2, 3, ">")])
    with pytest.raises(NotExpressibleError) as info:
        fit("LTL", E7(), data)
    cert = info.value.certificate
    cert.check()
    assert cert.pivot == 2 and cert.start == 0


@pytest.mark.parametrize("name", ["N7-LTL", "N8-LTL"])
def test_l1_certificates_check_and_tampering_fails(name: str) -> None:
    env, data = _witness_data(name)
    with pytest.raises(NotExpressibleError) as info:
        fit("LTL", env, data)
    cert = info.value.certificate
    assert isinstance(cert, ImpossibilityCertificate)
    cert.check()
    bad = list(cert.strict_multipliers)
    bad[0] += 1
    with pytest.raises(CertificateError):
        dataclasses.replace(cert, strict_multipliers=tuple(bad)).check()
    comps = list(cert.comparisons)
    c = comps[0]
    comps[0] = dataclasses.replace(c, first=c.second, second=c.first)
    with pytest.raises(CertificateError):
        dataclasses.replace(cert, comparisons=tuple(comps)).check()


# ---------------------------------------------------------------------- bad input


def test_bad_input_is_named() -> None:
    env = _lasso_env()
    pols = [_pol(F(1)), _pol(F(0))]
    data = Comparisons(policies=pols, pairs=[(0, 1, ">")])
    trajs = Comparisons(trajectories=[([0, 1], [0]), ([0, 2], [1])], pairs=[(0, 1, ">")])
    with pytest.raises(InvalidSpecificationError, match="infinite label words"):
        fit("LTL", env, trajs)
    with pytest.raises(InvalidSpecificationError, match="max_size"):
        fit("LTL", env, data, max_size=0)
    with pytest.raises(InvalidSpecificationError, match="time_limit"):
        fit("LTL", env, data, time_limit=-1)
    with pytest.raises(InvalidSpecificationError, match="not in the environment's alphabet"):
        fit("LTL", env, data, propositions=["lava"])
    with pytest.raises(InvalidSpecificationError, match="one string"):
        fit("LTL", env, data, propositions="p")
    with pytest.raises(InvalidSpecificationError, match="demonstrations"):
        fit("LTL", env, Comparisons(policies=pols, demonstrations=[0]))
    with pytest.raises(InvalidSpecificationError, match="unknown keyword"):
        fit("LTL", env, data, horizon=3)
    only_q = fit("LTL", env, data, propositions=["q"], exact=True)
    assert only_q.spec.formula.atoms() <= {"q"} and _respects(only_q.spec, env, data)


def test_transition_labels_and_inexact_policies() -> None:
    P = np.zeros((2, 2, 2))
    P[:, 0, 0] = 1.0
    P[:, 1, 0], P[:, 1, 1] = 0.1, 0.9
    env = FiniteMDP(P, [1.0, 0.0], labels=lambda s, a, t: ["move"] if t == 1 else [])
    assert env.state_labels is None
    pols = [[[0.1, 0.9], [0.3, 0.7]], [[1.0, 0.0], [1.0, 0.0]]]
    data = Comparisons(policies=pols, pairs=[(0, 1, ">")])
    result = fit("LTL", env, data)
    assert not result.exact and result.details["propositions"] == ("move",)
    assert result.spec.compile(env).compare(pols[0], pols[1]) == 1


def test_soft_fit_takes_a_strict_cycle() -> None:
    env = _lasso_env()
    pols = [_pol(F(1)), _pol(F(0))]
    data = Comparisons(policies=pols, pairs=[(0, 1, ">"), (1, 0, ">")])
    result = fit("LTL", env, data, soft=True, max_size=2)
    assert len(result.violated) == 1
