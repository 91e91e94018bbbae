"""docs/formalisms.md: its code runs and prints the output shown."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "formalisms.md"


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(), flags=re.S)


def test_doc_examples_run_and_match_the_shown_output():
    python, text = _blocks("python"), _blocks("text")
    assert len(python) == 2 and len(text) == 1
    namespace: dict[str, object] = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(python[0], namespace)
    shown = [line.rstrip() for line in text[0].strip().splitlines()]
    printed = [line.rstrip() for line in out.getvalue().strip().splitlines()]
    assert printed == shown
    exec(python[1], namespace)  # asserts inside


def test_doc_table_lists_all_17_classes():
    import objspec.formalisms as fm

    rows = re.findall(r"^\| ([A-Z]+) \| `(\w+)` \| `[(.]", DOC.read_text(), flags=re.M)
    assert len(rows) == 17
    for acronym, name in rows:
        if acronym in ("LTL", "RM"):
            continue  # exported by the LTL / reward-machine module
        assert getattr(fm, acronym) is getattr(fm, name)
