"""The proof trail stays inside the repository: every reference resolves in docs/theory.md.

Constructions, witnesses, five-way witnesses, lemmas and example tasks cite an explicit
``<a id="..."></a>`` anchor of ``docs/theory.md`` (or the paper, "arXiv 2310.11840 ...");
every ``docs/theory.md#anchor`` written in the code and docs exists; no file cites the
project's external notes or an absolute path into the build machine; and the one-line
construction and witness tables of ``docs/expressivity.md`` list exactly the registered ones.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from objspec.environments import example_tasks
from objspec.reductions import constructions, five_way_witnesses, separations
from objspec.reductions.lemmas import CLASS_BOUND_LEMMAS, LEMMAS

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "docs" / "theory.md"
PAPER = "arXiv 2310.11840"
CITE = re.compile(r"docs/theory\.md#([A-Za-z0-9_-]+)")
#: Written in two pieces so that this file does not match its own search.
FORBIDDEN = ("paper" + "-notes", "paper" + " notes", "/work" + "/")


def _anchors() -> list[str]:
    return re.findall(r'<a id="([^"]+)"></a>', THEORY.read_text(encoding="utf-8"))


ANCHORS = set(_anchors())


def _resolves(reference: str) -> bool:
    """A reference is a paper citation or cites only existing theory.md anchors."""
    if reference.startswith(PAPER):
        return True
    cited = CITE.findall(reference)
    return bool(cited) and all(a in ANCHORS for a in cited)


def _all_witnesses() -> dict[str, object]:
    found: dict[str, object] = {w.name: w for w in separations()}
    for f in five_way_witnesses():
        for part in f.parts:
            if part.witness is not None:
                found.setdefault(part.witness.name, part.witness)
    return found


def test_anchors_are_unique_and_cover_the_formalisms() -> None:
    anchors = _anchors()
    assert len(anchors) == len(set(anchors)), sorted({a for a in anchors if anchors.count(a) > 1})
    from objspec.reductions.registry import FORMALISMS
    for name in FORMALISMS:
        assert f"def-{name.lower()}" in ANCHORS, name
    for env in range(1, 8):
        assert f"e{env}" in ANCHORS


def test_internal_links_of_theory_resolve() -> None:
    text = THEORY.read_text(encoding="utf-8")
    links = re.findall(r"\]\(#([^)]+)\)", text)
    assert links
    assert sorted({a for a in links if a not in ANCHORS}) == []


def test_every_construction_cites_its_own_anchor() -> None:
    cs = constructions()
    assert len(cs) >= 29
    for c in cs:
        assert c.reference == f"docs/theory.md#c-{c.source.lower()}-to-{c.target.lower()}", c.name
        assert _resolves(c.reference), c.name


def test_every_witness_resolves_and_has_an_anchor() -> None:
    ws = _all_witnesses()
    assert len(ws) >= 25
    for name, w in ws.items():
        assert _resolves(w.reference), (name, w.reference)  # type: ignore[attr-defined]
        assert f"w-{name.lower()}" in ANCHORS, name


def test_five_way_witnesses_resolve() -> None:
    for f in five_way_witnesses():
        assert _resolves(f.reference), f.formalism
        assert f"five-way-{f.formalism.lower()}" in ANCHORS, f.formalism


def test_lemmas_have_anchors() -> None:
    assert set(LEMMAS) == {"L1", "L3", "L3-partial", "L-LAR", "L7"}
    assert set(CLASS_BOUND_LEMMAS) == {"L-LTL-det"}
    for name in [*LEMMAS, *CLASS_BOUND_LEMMAS]:
        assert name.lower() in ANCHORS, name


def test_example_tasks_resolve() -> None:
    for name, task in example_tasks().items():
        assert _resolves(task.reference), (name, task.reference)


def _text_files() -> list[Path]:
    out = []
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if any(part.startswith(".") or part in {"build", "dist", "__pycache__"}
               or part.endswith(".egg-info") for part in rel.parts):
            continue
        if path.is_file() and path.suffix in {".py", ".md", ".ipynb", ".toml", ".cfg", ".txt",
                                              ".yml", ".yaml", ".rst"}:
            out.append(path)
    return out


def test_every_theory_citation_in_code_and_docs_resolves() -> None:
    missing = []
    count = 0
    for path in _text_files():
        rel = path.relative_to(ROOT)
        if rel.parts[0] not in {"objspec", "docs", "tests", "notebooks"} \
                and rel.name != "README.md":
            continue
        if path == Path(__file__).resolve():
            continue  # this file spells out bad references on purpose
        for anchor in CITE.findall(path.read_text(encoding="utf-8")):
            count += 1
            if anchor not in ANCHORS:
                missing.append(f"{rel}: {anchor}")
    assert count >= 100
    assert missing == []


def test_no_citation_outside_the_repository() -> None:
    bad = []
    for path in _text_files():
        text = path.read_text(encoding="utf-8").lower()
        bad += [f"{path.relative_to(ROOT)}: {word}" for word in FORBIDDEN if word in text]
    assert bad == []


def _table(page: str, heading: str) -> list[list[str]]:
    """The rows (cells stripped) of the first table after ``heading`` in ``page``."""
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    section = text.split(heading, 1)[1]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not set(cells[0]) <= {"-"}:
                rows.append(cells)
        elif rows:
            break
    return rows[1:]  # drop the header


def test_expressivity_construction_table_matches_the_registry() -> None:
    listed = []
    for row in _table("expressivity.md", "## Constructions (one line each)"):
        sources, target = row[0].split("->")
        listed += [(s.strip(), target.strip()) for s in sources.split("/")]
    registered = [(c.source, c.target) for c in constructions()]
    assert len(listed) == len(set(listed))
    assert sorted(listed) == sorted(registered)


def test_expressivity_witness_table_matches_the_registry() -> None:
    listed = []
    for row in _table("expressivity.md", "## Separation witnesses (one line each)"):
        listed += [name.strip() for name in row[0].split(",")]
    registered = [w.name for w in separations()]
    assert len(listed) == len(set(listed))
    assert sorted(listed) == sorted(registered)


@pytest.mark.parametrize("reference", ["docs/theory.md#no-such-anchor", "see the notes", ""])
def test_bad_references_do_not_resolve(reference: str) -> None:
    assert not _resolves(reference)


def test_every_docs_page_anchor_cited_in_code_and_docs_exists() -> None:
    """``docs/PAGE.md#anchor`` for any page other than theory.md (learning, optimisation,
    ...) names an ``<a id>`` anchor of that page."""
    cite = re.compile(r"docs/([a-z_-]+)\.md#([A-Za-z0-9_-]+)")
    missing = []
    for path in _text_files():
        rel = path.relative_to(ROOT)
        if rel.parts[0] not in {"objspec", "docs", "tests", "notebooks"}:
            continue
        if path == Path(__file__).resolve():
            continue
        for page, anchor in cite.findall(path.read_text(encoding="utf-8")):
            target = ROOT / "docs" / f"{page}.md"
            if page == "theory" or not target.exists():
                continue
            text = target.read_text(encoding="utf-8")
            if f'<a id="{anchor}"></a>' not in text:
                missing.append(f"{rel}: docs/{page}.md#{anchor}")
    assert missing == []
