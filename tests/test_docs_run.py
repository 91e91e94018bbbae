"""Every code block of README.md and docs/*.md runs, page by page, in page order.

Python blocks of one page share a namespace and run top to bottom, as a reader would paste
them; JSON blocks must parse. ``bash`` blocks hold install commands (checked by
``tests/test_readme.py``) and ``text`` blocks show output (compared there and in
``tests/test_formalisms_docs.py``).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import matplotlib
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", flags=re.S | re.M)
KNOWN_LANGUAGES = {"python", "json", "bash", "text", ""}


def code_blocks(page: Path) -> list[tuple[str, str, int]]:
    """``(language, code, line)`` for each fenced block of ``page``, in page order."""
    text = page.read_text()
    return [
        (m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1)
        for m in FENCE.finditer(text)
    ]


@pytest.fixture
def registries():  # type: ignore[no-untyped-def]
    """Restore the formalism, construction and witness registries after a page (pages such
    as docs/contributing.md register throwaway entries; a failing block must not leak)."""
    from objspec.formalisms import registry as formalisms
    from objspec.reductions import registry as constructions
    from objspec.reductions import separation_catalogue as witnesses
    from objspec.reductions import verdicts

    saved = (dict(formalisms._REGISTRY), list(constructions._CONSTRUCTIONS),
             list(witnesses._WITNESSES))
    yield
    formalisms._REGISTRY.clear()
    formalisms._REGISTRY.update(saved[0])
    constructions._CONSTRUCTIONS[:] = saved[1]
    witnesses._WITNESSES[:] = saved[2]
    verdicts._compute.cache_clear()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_code_block_runs(page: Path, tmp_path: Path, monkeypatch, registries) -> None:  # type: ignore[no-untyped-def]
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)  # blocks that write files write them here
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for language, code, line in code_blocks(page):
        assert language in KNOWN_LANGUAGES, f"{page.name}:{line}: unknown block kind {language!r}"
        if language == "python":
            try:
                exec(compile(code, f"{page.name}:{line}", "exec"), namespace)
            except Exception as exc:  # pragma: no cover - the message is the point
                raise AssertionError(
                    f"{page.name}, block at line {line} failed: {exc!r}"
                ) from exc
        elif language == "json":
            json.loads(code)


def test_pages_are_found() -> None:
    assert len(PAGES) >= 6
    assert sum(lang == "python" for p in PAGES for lang, _, _ in code_blocks(p)) >= 15
    assert os.path.exists(ROOT / "docs" / "core.md")
