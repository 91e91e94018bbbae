"""The preorder is computed from the registries; compare with docs/theory.md#diagram."""

from __future__ import annotations

import sys
from pathlib import Path

import networkx as nx
import pytest

import objspec.hasse as hasse
from objspec.hasse import preorder
from objspec.reductions import registry, separations
from objspec.reductions.registry import FORMALISMS

#: docs/theory.md#diagram, machine-readable form.
EXPECTED = {
    "classes": {"PO": ["PO"], "FPR": ["FPR"], "GOM": ["GOMORL", "OMO", "TLO"],
                "OM": ["OMORL", "FOMR", "FTLR"], "FTRc": ["INMR", "IMORL", "FTR"],
                "ONMR": ["ONMR"], "RRL": ["RRL"], "RM": ["RM"], "LTL": ["LTL"], "LAR": ["LAR"],
                "MR": ["MR"]},
    "cover_edges": [["PO", "FPR"], ["PO", "GOM"], ["FPR", "OM"], ["GOM", "OM"], ["OM", "FTRc"],
                    ["OM", "ONMR"], ["OM", "RRL"], ["FTRc", "RM"], ["FTRc", "LTL"],
                    ["FTRc", "LAR"], ["RM", "MR"], ["ONMR", "MR"], ["RRL", "MR"]],
}


def _fresh() -> None:
    preorder._compute.cache_clear()


def test_every_pair_is_decided_consistently() -> None:
    _fresh()
    v = hasse.verdicts()
    assert len(v) == 17 * 17
    assert hasse.contradictions() == []
    assert hasse.undecided_pairs() == []


def test_classes_match_docs_theory() -> None:
    _fresh()
    want = {frozenset(m) for m in EXPECTED["classes"].values()}
    assert set(hasse.equivalence_classes()) == want


def test_cover_edges_match_docs_theory() -> None:
    _fresh()
    h = hasse.hasse_diagram()
    name = {k: hasse.class_name(frozenset(m)) for k, m in EXPECTED["classes"].items()}
    want = {(name[a], name[b]) for a, b in EXPECTED["cover_edges"]}
    assert set(h.edges) == want
    assert h.number_of_nodes() == 11 and h.number_of_edges() == 13


def test_relation_is_a_preorder_and_evidence_is_attached() -> None:
    _fresh()
    g = hasse.expressivity_graph()
    for a, b in g.edges:
        assert g.edges[a, b]["chain"], (a, b)
        for c in g.successors(b):
            assert c == a or g.has_edge(a, c), (a, b, c)
    for v in g.graph["verdicts"].values():
        if v.holds is False:
            assert v.witness in {w.name for w in separations()}


def test_known_verdicts_with_evidence() -> None:
    _fresh()
    assert hasse.decide("FOMR", "RRL").chain == ("regularised_to_occupancy_function",)
    no = hasse.decide("RRL", "ONMR")
    assert no.holds is False and no.witness == "N7"


def test_removing_evidence_leaves_pairs_undecided(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is filled in by hand: drop one construction and its pair becomes undecided."""
    kept = [c for c in registry._CONSTRUCTIONS if (c.source, c.target) != ("MR", "RRL")]
    monkeypatch.setattr(registry, "_CONSTRUCTIONS", kept)
    _fresh()
    try:
        assert hasse.decide("RRL", "MR").holds is None
        assert ("RRL", "MR") in hasse.undecided_pairs()
    finally:
        monkeypatch.undo()
        _fresh()


def test_removing_a_witness_leaves_pairs_undecided(monkeypatch: pytest.MonkeyPatch) -> None:
    sep = sys.modules["objspec.reductions.separation_catalogue"]

    ws = [w for w in sep.registered_separations() if w.name != "N7"]
    monkeypatch.setattr(sep, "_WITNESSES", ws)
    _fresh()
    try:
        assert hasse.decide("RRL", "ONMR").holds is None
    finally:
        monkeypatch.undo()
        _fresh()


def test_layers_put_po_on_top_and_mr_at_the_bottom() -> None:
    _fresh()
    h = hasse.hasse_diagram()
    layers = list(nx.topological_generations(h))
    assert layers[0] == ["PO"]
    assert "MR" in layers[-1]


@pytest.mark.parametrize("suffix", ["svg", "png"])
def test_draw_writes_files(tmp_path: Path, suffix: str) -> None:
    _fresh()
    out = tmp_path / f"hasse.{suffix}"
    hasse.draw(out)
    data = out.read_bytes()
    assert data.startswith(b"<?xml" if suffix == "svg" else b"\x89PNG")
    if suffix == "svg":
        assert b"GOMORL" in data or b"GOMORL" in data.replace(b"\n", b"")


def test_draw_rejects_unknown_suffix(tmp_path: Path) -> None:
    from objspec.errors import ObjspecError

    with pytest.raises(ObjspecError, match="svg"):
        hasse.draw(tmp_path / "x.bmp")


def test_repr_svg() -> None:
    _fresh()
    assert hasse.hasse_diagram()._repr_svg_().lstrip().startswith("<?xml")


def test_formalism_list_has_17_distinct_acronyms() -> None:
    assert len(set(FORMALISMS)) == 17


def test_draw_into_given_axes() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _fresh()
    fig, ax = plt.subplots()
    out = hasse.draw(ax=ax)
    assert out is fig
    texts = {t.get_text() for t in ax.texts}
    assert "PO" in texts and "MR" in texts and any("FOMR" in t for t in texts)
    plt.close(fig)
