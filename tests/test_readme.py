"""The README's set-up block and Python examples stay true."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_first_block_has_exactly_two_commands() -> None:
    first = re.search(r"```(\w*)\n(.*?)```", README, flags=re.S)
    assert first is not None and first.group(1) == "bash"
    commands = [line for line in first.group(2).splitlines() if line.strip()]
    assert len(commands) == 2
    assert "objspec verify" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_test_command_verbatim() -> None:
    first = _blocks("bash")[0]
    test_command = [line for line in first.splitlines() if line.strip()][1]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci


def test_python_examples_run(capsys) -> None:  # type: ignore[no-untyped-def]
    blocks = _blocks("python")
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert "[2 0 1]" in out
    shown = _blocks("text")[0].strip().splitlines()
    printed = [line.rstrip() for line in out.splitlines()]
    for line in shown:
        assert line.rstrip() in printed
