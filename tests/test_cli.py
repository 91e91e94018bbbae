"""The objspec command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from objspec.cli import main

ENV = {"transitions": [[[0, 1], [0, 1]], [[0, 1], [0, 1]]], "initial": [1, 0]}


def _write(tmp_path: Path, spec: dict, policies: list) -> Path:
    p = tmp_path / "problem.json"
    p.write_text(json.dumps({"environment": ENV, "specification": spec, "policies": policies}))
    return p


def test_evaluate_mr_exact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = {"formalism": "MR", "reward": [[1, 0], [0, 0]], "gamma": "1/2"}
    pols = [[[1, 0], [1, 0]], [["1/3", "2/3"], [1, 0]]]
    assert main(["evaluate", str(_write(tmp_path, spec, pols)), "--exact"]) == 0
    out = capsys.readouterr().out
    assert "policy 0: rank 0, value 1" in out
    assert "policy 1: rank 1, value 1/3" in out


def test_evaluate_onmr_formula(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = {"formalism": "ONMR", "reward": [[1, 0], [0, 0]], "f": "-(x - 1/2)**2",
            "gamma": "1/2"}
    pols = [[[1, 0], [1, 0]], [["1/2", "1/2"], [1, 0]], [[0, 1], [1, 0]]]
    assert main(["evaluate", str(_write(tmp_path, spec, pols)), "--exact"]) == 0
    out = capsys.readouterr().out
    assert "policy 1: rank 0, value 0" in out and "policy 0: rank 1, value -1/4" in out


def test_evaluate_rrl_float(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = {"formalism": "RRL", "reward": [0, 0], "regulariser": "negative_entropy",
            "alpha": 1, "gamma": 0.5}
    assert main(["evaluate", str(_write(tmp_path, spec, [[[0.5, 0.5], [0.5, 0.5]]]))]) == 0
    assert "value 1.386294" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"formalism": "XYZ"}, "not supported"),
        ({"formalism": "MR", "reward": [[1, 0], [0, 0]]}, "missing 'gamma'"),
        ({"formalism": "MR", "reward": [[1, "a"], [0, 0]], "gamma": 0.5}, "not a number"),
        ({"formalism": "ONMR", "reward": [0, 0], "f": "y + 1", "gamma": 0.5}, "unknown name 'y'"),
    ],
)
def test_evaluate_bad_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: dict,
                           message: str) -> None:
    assert main(["evaluate", str(_write(tmp_path, spec, [[[1, 0], [1, 0]]]))]) == 2
    assert message in capsys.readouterr().err


def test_evaluate_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["evaluate", str(bad)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "missing.json")]) == 2


def test_hasse_writes_svg(tmp_path: Path) -> None:
    out = tmp_path / "d.svg"
    assert main(["hasse", "-o", str(out)]) == 0
    assert out.read_text().lstrip().startswith("<?xml")


def test_help_mentions_the_format(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    assert "transitions" in capsys.readouterr().out


def test_verify_prints_table_status_and_writes_the_diagram(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    diagram = tmp_path / "hasse.svg"
    status = main(["verify", "--envs", "1", "-q", "-o", str(diagram)])
    out = capsys.readouterr().out
    assert "== expressivity preorder" in out and "cover edges" in out
    assert ("verify: OK" in out) == (status == 0)
    assert diagram.read_text().lstrip().startswith(("<?xml", "<svg"))
    assert f"wrote the Hasse diagram to {diagram}" in out


def _write_env(tmp_path: Path, env: dict, spec: dict, policies: list) -> Path:
    p = tmp_path / "problem.json"
    p.write_text(json.dumps({"environment": env, "specification": spec, "policies": policies}))
    return p


def test_evaluate_ltl_and_rm_with_labels(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    env = {"transitions": [[[1, 0], [0, 1]], [[0, 1], [0, 1]]], "initial": [1, 0],
           "labels": {"1": ["goal"]}}
    pols = [[[1, 0], [1, 0]], [["1/2", "1/2"], [1, 0]], [[0, 1], [1, 0]]]
    ltl = {"formalism": "LTL", "formula": "F goal"}
    assert main(["evaluate", str(_write_env(tmp_path, env, ltl, pols)), "--exact"]) == 0
    out = capsys.readouterr().out
    assert "policy 0: rank 1, value 0" in out and "policy 1: rank 0, value 1" in out
    rm = {"formalism": "RM", "edges": [[0, 1, "goal", 1], [0, 0, "!goal", 0],
                                       [1, 1, "true", 0]], "initial": 0, "gamma": "1/2"}
    assert main(["evaluate", str(_write_env(tmp_path, env, rm, pols)), "--exact"]) == 0
    out = capsys.readouterr().out
    assert "policy 2: rank 0, value 1/2" in out


def test_verify_fails_when_a_construction_is_broken(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataclasses import replace

    from objspec.formalisms import OuterNonlinearMarkovReward
    from objspec.reductions import registry

    def wrong(spec: object) -> OuterNonlinearMarkovReward:
        return OuterNonlinearMarkovReward(spec.reward, lambda x: -x, spec.gamma)  # type: ignore[attr-defined]

    broken = [replace(c, function=wrong) if c.name == "markov_reward_to_outer_nonlinear" else c
              for c in registry._CONSTRUCTIONS]
    monkeypatch.setattr(registry, "_CONSTRUCTIONS", broken)
    assert main(["verify", "--envs", "1", "-q", "-o", ""]) == 1
    out = capsys.readouterr().out
    assert "FAIL     MR -> ONMR" in out and "verify: FAILED" in out
