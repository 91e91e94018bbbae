"""docs/formalisms.md: its code runs and prints the output shown."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "formalisms.md"


def _blocks() -> list[tuple[str, str]]:
    """``(kind, code)`` of every fenced block, in order."""
    return re.findall(r"```(\w+)\n(.*?)```", DOC.read_text(), flags=re.S)


def test_doc_examples_run_and_match_the_shown_output():
    """Every Python block runs, in order, in one namespace; a text block right after a
    Python block is the output it must print."""
    blocks = _blocks()
    assert sum(kind == "python" for kind, _ in blocks) >= 3
    namespace: dict[str, object] = {}
    for i, (kind, code) in enumerate(blocks):
        if kind != "python":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(code, namespace)  # asserts inside where no output is shown
        if i + 1 < len(blocks) and blocks[i + 1][0] == "text":
            shown = [line.rstrip() for line in blocks[i + 1][1].strip().splitlines()]
            printed = [line.rstrip() for line in out.getvalue().strip().splitlines()]
            assert printed == shown, (i, printed, shown)


def test_doc_table_lists_all_17_classes():
    import objspec.formalisms as fm

    rows = re.findall(r"^\| ([A-Z]+) \| `(\w+)` \| `[(.]", DOC.read_text(), flags=re.M)
    assert len(rows) == 17
    for acronym, name in rows:
        if acronym in ("LTL", "RM"):
            continue  # exported by the LTL / reward-machine module
        assert getattr(fm, acronym) is getattr(fm, name)
