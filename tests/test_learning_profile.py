"""The expressibility profile: monotone along the computed preorder (hypothesis, random data),
propagation of fits upward and certificates downward, contradictions raised, the drawing and
the table."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from objspec import FiniteMDP
from objspec.environments.strategies import mdp_and_policies
from objspec.errors import InconsistentComparisonsError, InvalidSpecificationError
from objspec.formalisms import registry
from objspec.formalisms.fitting import Fit, Fitter, ImpossibilityCertificate, not_expressible
from objspec.hasse import expressivity_graph
from objspec.learning import Comparisons, Profile, ProfileContradictionError, fit, profile


@contextmanager
def fitter_for(acronym: str, fitter: Fitter) -> Iterator[None]:
    """Register ``fitter`` for ``acronym`` for the duration of the block."""
    old = registry._REGISTRY[acronym]
    registry._REGISTRY[acronym] = dataclasses.replace(old, fitter=fitter)
    try:
        yield
    finally:
        registry._REGISTRY[acronym] = old


@contextmanager
def only_fitters(*acronyms: str) -> Iterator[None]:
    """Hide every registered fitter except those of ``acronyms`` for the block (the
    propagation tests must not depend on which fitters exist)."""
    saved = dict(registry._REGISTRY)
    for a, info in saved.items():
        if a not in acronyms:
            registry._REGISTRY[a] = dataclasses.replace(info, fitter=None)
    try:
        yield
    finally:
        registry._REGISTRY.clear()
        registry._REGISTRY.update(saved)


def _po_fitter(env: FiniteMDP, data: Comparisons, options: Any) -> Fit:
    """A sound stand-in for a policy-ordering fitter: PO explains exactly the consistent
    data that never strictly separates two equal policies (any total preorder of distinct
    policies is a PO specification)."""
    data.check_consistent()
    for c in data.comparisons:
        a, b = data.items[c.first], data.items[c.second]
        if c.relation == ">" and np.array_equal(a.probabilities, b.probabilities):
            raise InvalidSpecificationError("stand-in: no certificate for PO here")
    return Fit("PO", None, None, (), "stand-in")


PO_FITTER = Fitter(_po_fitter, "stand-in", decides=False)


def assert_monotone(result: Profile) -> None:
    graph = expressivity_graph()
    for a, b in graph.edges:  # a >= b
        if result.fits.get(b) is True:
            assert result.fits[a] is True, (a, b, result)
        if result.fits.get(a) is False:
            assert result.fits[b] is False, (a, b, result)


def _chain() -> FiniteMDP:
    P = np.zeros((2, 2, 2))
    P[:, 0, 0] = 1.0
    P[:, 1, 1] = 1.0
    return FiniteMDP(P, [1.0, 0.0])


@st.composite
def random_data(draw: st.DrawFn) -> tuple[FiniteMDP, Comparisons]:
    env, batch = draw(mdp_and_policies(n_policies=3, max_states=3, max_actions=2))
    pairs = draw(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2),
                                    st.sampled_from([">", "<", "="])),
                          min_size=1, max_size=4).filter(
        lambda ps: all(i != j or r == "=" for i, j, r in ps)))
    return env, Comparisons(policies=list(batch), pairs=pairs)


@given(random_data(), st.sampled_from([0.5, 0.9]), st.booleans())
def test_profile_is_monotone_on_random_data(case: tuple[FiniteMDP, Comparisons],
                                            gamma: float, with_po: bool) -> None:
    env, data = case
    if with_po:
        with fitter_for("PO", PO_FITTER):
            result = profile(env, data, gamma=gamma, construct=False)
    else:
        result = profile(env, data, gamma=gamma, construct=False)
    assert_monotone(result)
    mr = result.fits["MR"]
    if data.cycle() is not None:
        assert set(result.fits.values()) == {False}
    elif mr is True:
        assert all(result.fits[a] for a in expressivity_graph().predecessors("MR"))
    elif mr is False:
        cert = result.results["MR"]
        assert isinstance(cert, ImpossibilityCertificate)
        cert.check()


def test_fit_propagates_up_with_constructed_specifications() -> None:
    env = _chain()
    data = Comparisons(policies=[[[0, 1], [0, 1]], [[1, 0], [1, 0]], [[0.5, 0.5], [1, 0]]],
                       pairs=[(0, 1, ">"), (0, 2, ">")])
    with only_fitters("MR"):
        result = profile(env, data, gamma=0.9)
    assert result.fits["MR"] is True and result.sources["MR"] == "fitter"
    assert result.fits["LAR"] is None and result.fits["LTL"] is None
    for a in expressivity_graph().predecessors("MR"):
        built = result.results[a]
        assert result.fits[a] is True and result.sources[a].startswith("propagated from MR")
        assert isinstance(built, Fit) and built.formalism == a
        assert built.spec.acronym == a and built.details["verified"] is True
    assert_monotone(result)


def test_certificate_propagates_down() -> None:
    # the uniform mixture on one state cannot be worse than both pure policies under MR
    P = np.zeros((1, 2, 1))
    P[0, :, 0] = 1.0
    env = FiniteMDP(P, [1.0])
    data = Comparisons(policies=[[[1, 0]], [[0, 1]], [[0.5, 0.5]]],
                       pairs=[(0, 2, ">"), (1, 2, ">")])
    with only_fitters("MR"), fitter_for(
            "FOMR", Fitter(lambda e, d, o: _raise_cert("FOMR", e, d), "stand-in")):
        result = profile(env, data, gamma=0.5)
    assert result.fits["FOMR"] is False and result.sources["FOMR"] == "fitter"
    assert result.fits["MR"] is False and result.sources["MR"] == "fitter"
    for below in ("ONMR", "RRL", "OMORL", "INMR", "LTL"):
        assert result.fits[below] is False
        assert result.sources[below] == f"propagated from FOMR (FOMR >= {below})"
        assert result.results[below] is result.results["FOMR"]
    assert result.fits["PO"] is None  # above a certificate: not decided
    assert_monotone(result)


def _mr_certificate(env: FiniteMDP) -> ImpossibilityCertificate:
    data = Comparisons(policies=[[[1, 0]], [[0, 1]], [[0.5, 0.5]]],
                       pairs=[(0, 2, ">"), (1, 2, ">")])
    P = np.zeros((1, 2, 1))
    P[0, :, 0] = 1.0
    with pytest.raises(Exception) as info:
        fit("MR", FiniteMDP(P, [1.0]), data, gamma=0.5)
    return info.value.certificate  # type: ignore[attr-defined,no-any-return]


def _raise_cert(acronym: str, env: FiniteMDP, data: Comparisons) -> Fit:
    raise not_expressible(acronym, _mr_certificate(env))


@pytest.mark.parametrize("wrong", ["ONMR", "PO", "OMO"])
def test_a_fitter_contradicting_the_preorder_is_an_error(wrong: str) -> None:
    env = _chain()
    data = Comparisons(policies=[[[0, 1], [0, 1]], [[1, 0], [1, 0]]], pairs=[(0, 1, ">")])
    with only_fitters("MR"), fitter_for(
            wrong, Fitter(lambda e, d, o: _raise_cert(wrong, e, d), "wrong")):
        with pytest.raises(ProfileContradictionError, match=f"{wrong}.*MR|MR.*{wrong}"):
            profile(env, data, gamma=0.5)


def test_two_fitters_contradicting_through_a_third_formalism() -> None:
    env = _chain()
    data = Comparisons(policies=[[[0, 1], [0, 1]], [[1, 0], [1, 0]]], pairs=[(0, 1, ">")])
    # MR fits, so OMORL (>= MR) fits; a certificate for FOMR (>= OMORL... equivalent class)
    # puts OMORL below a certificate: contradiction through OMORL, which has no fitter.
    with only_fitters("MR"), fitter_for(
            "FOMR", Fitter(lambda e, d, o: _raise_cert("FOMR", e, d), "wrong")):
        with pytest.raises(ProfileContradictionError):
            profile(env, data, gamma=0.5)


def test_inconsistent_data_fits_nothing() -> None:
    env = _chain()
    data = Comparisons(policies=[[[0, 1], [0, 1]], [[1, 0], [1, 0]]],
                       pairs=[(0, 1, ">"), (1, 0, ">")])
    result = profile(env, data, gamma=0.5)
    assert set(result.fits.values()) == {False}
    assert isinstance(result.results["PO"], InconsistentComparisonsError)
    assert "0 > 1" in result.evidence("PO")


def test_trajectory_data_is_not_propagated() -> None:
    env = _chain()
    data = Comparisons(trajectories=[((0, 1), (1,)), ((0, 0), (0,))], pairs=[(0, 1, ">")])
    result = profile(env, data, gamma=0.5)
    assert all(s in ("fitter", "") for s in result.sources.values())
    with only_fitters("MR"):
        result = profile(env, data, gamma=0.5)
    assert result.fits["MR"] is True  # the trajectory returns order them
    assert all(v is None for a, v in result.fits.items() if a != "MR")


def test_options_are_per_formalism() -> None:
    env = _chain()
    data = Comparisons(policies=[[[0, 1], [0, 1]], [[1, 0], [1, 0]]], pairs=[(0, 1, ">")])
    result = profile(env, data, gamma=0.5, MR={"nonsense": 1})
    assert result.fits["MR"] is None and "nonsense" in result.evidence("MR")
    with pytest.raises(InvalidSpecificationError, match="unknown formalism"):
        profile(env, data, gamma=0.5, XYZ={})
    with pytest.raises(InvalidSpecificationError, match="mapping"):
        profile(env, data, gamma=0.5, MR=3)
    missing = profile(env, data)
    assert missing.fits["MR"] is None and "gamma" in missing.evidence("MR")


def test_drawing_table_and_jupyter(tmp_path: Any) -> None:
    pytest.importorskip("pandas")
    env = _chain()
    data = Comparisons(policies=[[[0, 1], [0, 1]], [[1, 0], [1, 0]]], pairs=[(0, 1, ">")])
    with only_fitters("MR"):
        result = profile(env, data, gamma=0.5, construct=False)
    table = result.table()
    assert table.loc["MR", "status"] == "fits" and table.loc["LTL", "status"] == "unknown"
    svg = result.to_svg()
    assert "MR: fits" in svg and "LTL: unknown" in svg
    assert "<table>" in result._repr_html_()
    fig = result.draw(tmp_path / "profile.svg")
    assert (tmp_path / "profile.svg").stat().st_size > 0 and len(fig.axes) == 1
    fills, _ = result.colours()
    assert len(set(fills.values())) == 2
    assert "fits: MR" in repr(result)
