"""The expressivity preorder (:mod:`objspec.hasse.preorder`) on evidence that is wrong or
missing: contradictions are reported, and the classes come out in their documented order."""

from __future__ import annotations

import sys
from dataclasses import replace

import pytest

import objspec.hasse as hasse
from objspec.hasse import preorder


def _fresh() -> None:
    preorder._compute.cache_clear()


def test_a_witness_against_a_chain_is_a_contradiction(monkeypatch: pytest.MonkeyPatch) -> None:
    """A (false) witness "ONMR cannot express MR" contradicts the MR -> ONMR construction:
    the pair is reported, undecided, with both pieces of evidence named."""
    sep = sys.modules["objspec.reductions.separation_catalogue"]
    n7 = next(w for w in sep.registered_separations() if w.name == "N7")
    bogus = replace(n7, name="BOGUS", a="ONMR", b="MR")
    monkeypatch.setattr(sep, "_WITNESSES", [*sep.registered_separations(), bogus])
    _fresh()
    try:
        bad = hasse.contradictions()
        assert bad and all(v.holds is None for v in bad)
        v = hasse.decide("ONMR", "MR")
        assert v in bad and v.witness == "BOGUS"
        assert v.evidence.startswith("CONTRADICTION: chain ")
        assert v.evidence.endswith(" vs witness BOGUS")
        assert ("ONMR", "MR") in hasse.undecided_pairs()
    finally:
        monkeypatch.undo()
        _fresh()
    assert hasse.contradictions() == []


def test_equivalence_classes_are_largest_first_then_by_name() -> None:
    _fresh()
    classes = hasse.equivalence_classes()
    keys = [(-len(c), sorted(c)) for c in classes]
    assert keys == sorted(keys)
    assert [sorted(c) for c in classes] == [
        ["FOMR", "FTLR", "OMORL"], ["FTR", "IMORL", "INMR"], ["GOMORL", "OMO", "TLO"],
        ["FPR"], ["LAR"], ["LTL"], ["MR"], ["ONMR"], ["PO"], ["RM"], ["RRL"]]


def test_graphs_carry_their_evidence() -> None:
    from objspec.reductions import constructions
    from objspec.reductions.registry import FORMALISMS

    _fresh()
    g = preorder.construction_graph()
    first: dict[tuple[str, str], object] = {}
    for c in constructions():
        first.setdefault((c.source, c.target), c)
    assert set(g.edges) == set(first)
    for (u, v), c in first.items():
        assert g.edges[u, v]["construction"] == c.name  # type: ignore[attr-defined]
        assert g.edges[u, v]["needs_env"] is c.needs_env  # type: ignore[attr-defined]
    e = hasse.expressivity_graph()
    verdicts = e.graph["verdicts"]
    for u, v in e.edges:
        assert e.edges[u, v]["evidence"] == verdicts[u, v].evidence
        assert e.edges[u, v]["chain"] == verdicts[u, v].chain
    members = frozenset({"OMO", "TLO", "GOMORL"})
    assert hasse.class_name(members) == " = ".join(m for m in FORMALISMS if m in members)
    assert hasse.class_name(frozenset({"MR"})) == "MR"
    h = hasse.hasse_diagram()
    for name, data in h.nodes(data=True):
        assert hasse.class_name(data["members"]) == name
