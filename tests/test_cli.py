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
    assert "cannot read" in _one_error_line(capsys)
    for text, message in [("[" * 100_000, "nested too deeply"), ("1" * 5000, "not valid JSON"),
                          ("[1, 2]", "expected a JSON object"), ("", "not valid JSON")]:
        bad.write_text(text)
        assert main(["evaluate", str(bad)]) == 2
        assert message in _one_error_line(capsys)
    bad.write_bytes(b"\xff\xfe{")
    assert main(["evaluate", str(bad)]) == 2
    assert "not a UTF-8 text file" in _one_error_line(capsys)


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


# ---------------------------------------------------------------------------- hardening
LABELLED = {"transitions": [[[1, 0], [0, 1]], [[0, 1], [0, 1]]], "initial": [1, 0],
            "labels": {"1": ["goal"]}}
POLICIES = {"p1": [[0, 1], [1, 0]], "p2": [[1, 0], [1, 0]]}


def _problem(tmp_path: Path, env: dict, spec: dict, policies: object) -> Path:
    p = tmp_path / "problem.json"
    p.write_text(json.dumps({"environment": env, "specification": spec, "policies": policies}))
    return p


def _one_error_line(capsys: pytest.CaptureFixture[str], command: str = "evaluate") -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"objspec {command}: error: ")
    assert "Traceback" not in captured.err and captured.out == ""
    return lines[0]


MALFORMED = [
    # (environment, specification, policies, arguments, field, message)
    (ENV, {"formalism": "MR", "reward": [[1, "1/0"], [0, 0]], "gamma": 0.5}, POLICIES, [],
     "specification (MR).reward[0][1]", "divides by zero"),
    (LABELLED, {"formalism": "RM", "edges": [[0, 1, "goal"]], "gamma": 0.5}, POLICIES, [],
     "specification (RM).edges[0]", "got 3 entries"),
    (LABELLED, {"formalism": "RM", "edges": [[0, 1.5, "goal", 1]], "gamma": 0.5}, POLICIES,
     [], "specification (RM).edges[0][1]", "integer or a name"),
    (LABELLED, {"formalism": "RM", "edges": [[0, 1, "goal", 1]], "initial": "a",
                "gamma": 0.5}, POLICIES, [], "specification (RM).initial", "'a'"),
    (LABELLED, {"formalism": "RM", "edges": 5, "gamma": 0.5}, POLICIES, [],
     "specification (RM).edges", "got 5"),
    (dict(LABELLED, labels={"a": ["goal"]}), {"formalism": "LTL", "formula": "F goal"},
     POLICIES, [], "environment.labels", "'a' is not a state"),
    (dict(LABELLED, labels={"1.0": ["goal"]}), {"formalism": "LTL", "formula": "F goal"},
     POLICIES, [], "environment.labels", "'1.0' is not a state"),
    (LABELLED, {"formalism": "LTL", "formula": "F (goal &"}, POLICIES, [],
     "specification (LTL).formula", "position 9"),
    (ENV, {"formalism": "ONMR", "reward": [[1, 0], [0, 0]], "f": "1/x", "gamma": 0.5},
     POLICIES, [], "specification (ONMR).f", "1/x is undefined at x = 0 (division by zero in "
     "1/x) (policy 'p1')"),
    (ENV, {"formalism": "ONMR", "reward": [[-1, 0], [0, 0]], "f": "sqrt(x)", "gamma": 0.5},
     POLICIES, ["--exact"], "specification (ONMR).f", "not real at x = -1"),
    (ENV, {"formalism": "INMR", "reward": [[1, 0], [0, 0]], "f": "log(x)", "gamma": 0.5},
     POLICIES, [], "specification (INMR).f", "undefined at x = 0"),
    (ENV, {"formalism": "RRL", "reward": [0, 0], "regulariser": "log(p[0])", "alpha": 1,
           "gamma": 0.5}, POLICIES, [], "specification (RRL).regulariser",
     "undefined at p = [0, 1]"),
    (ENV, {"formalism": "RRL", "reward": [0, 0], "regulariser": "p[5]", "alpha": 1,
           "gamma": 0.5}, POLICIES, [], "specification (RRL).regulariser", "out of range"),
    (ENV, {"formalism": "OMORL", "rewards": [[1, 0], [0, 0]], "f": "x[0] / x[1]",
           "gamma": 0.5}, POLICIES, [], "specification (OMORL).f", "undefined"),
    (ENV, {"formalism": "MR", "reward": [0, 0], "gamma": 0.5}, [[[0.1, 0.9], [1, 0]]],
     ["--exact"], "policies[0][0][0]", 'write it as the string "1/10"'),
    (ENV, {"formalism": "MR", "reward": [0, 0], "gamma": 0.9}, POLICIES, ["--exact"],
     "specification (MR).gamma", '"9/10"'),
    (ENV, {"formalism": "MR", "reward": [0, float("inf")], "gamma": 0.5}, POLICIES, [],
     "specification (MR).reward[1]", "not a finite number"),
    (ENV, {"formalism": "MR", "reward": [0, 0], "gamma": 0.5, "gama": 0.5}, POLICIES, [],
     "specification (MR)", "unknown key 'gama'"),
    (ENV, {"formalism": 3}, POLICIES, [], "specification.formalism", "got 3"),
    ({"transitions": [[[0, 1], [0, 1, 0]], [[0, 1], [0, 1]]], "initial": [1, 0]},
     {"formalism": "MR", "reward": [0, 0], "gamma": 0.5}, POLICIES, [],
     "environment.transitions[0][1]", "expected 2 entries"),
    ({"transitions": 7, "initial": [1, 0]}, {"formalism": "MR", "reward": [0, 0],
                                             "gamma": 0.5}, POLICIES, [],
     "environment.transitions", "nested 3 deep"),
    ({"transitions": [[[0, 0.5], [0, 1]], [[0, 1], [0, 1]]], "initial": [1, 0]},
     {"formalism": "MR", "reward": [0, 0], "gamma": 0.5}, POLICIES, [],
     "environment: transitions[s=0, a=0]", "sums to 0.5"),
    (dict(ENV, state_names="ab"), {"formalism": "MR", "reward": [0, 0], "gamma": 0.5},
     POLICIES, [], "environment: state_names", "list of names"),
    (ENV, {"formalism": "MR", "reward": [0, 0], "gamma": 0.5}, {"greedy": [[1, 1], [1, 0]]},
     [], 'policies["greedy"]', "sums to 2"),
    (ENV, {"formalism": "MR", "reward": [0, 0], "gamma": 0.5}, [[[1, 0, 0], [1, 0, 0]]], [],
     "policies[0]", "[2][2]"),
    (ENV, {"formalism": "MR", "reward": [0, 0], "gamma": 0.5}, 5, [], "policies", "got 5"),
    (ENV, {"formalism": "MR", "reward": [0, 0, 0], "gamma": 0.5}, POLICIES, [],
     "specification (MR)", "shape"),
    (ENV, {"formalism": "MR", "reward": [0, 10**400], "gamma": 0.5}, POLICIES, [],
     "specification (MR).reward[1]", "out of range"),
    (ENV, {"formalism": "MR", "reward": [0, "1e400"], "gamma": 0.5}, POLICIES, ["--exact"],
     "specification (MR).reward[1]", "out of range"),
    (LABELLED, {"formalism": "RM", "edges": [[0, 0, "goal &", 1]], "gamma": 0.5}, POLICIES,
     [], "specification (RM).edges", 'position 6 in "goal &"'),
]


@pytest.mark.parametrize(("env", "spec", "policies", "extra", "field", "message"), MALFORMED)
def test_malformed_files_give_one_line_naming_the_field_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], env: dict, spec: dict,
    policies: object, extra: list[str], field: str, message: str,
) -> None:
    path = _problem(tmp_path, env, spec, policies)
    assert main(["evaluate", str(path), *extra]) == 2
    line = _one_error_line(capsys)
    assert line.startswith(f"objspec evaluate: error: {field}")
    assert message in line


@pytest.mark.parametrize("key", ["f", "regulariser"])
@pytest.mark.parametrize("text", [
    "__import__('pathlib').Path('SENTINEL').touch() or x",
    "__import__('os').system('touch SENTINEL') or p[0]",
    "(lambda: open('SENTINEL', 'w'))()",
    "x.__class__",
    "p[0].__class__",
    "open('SENTINEL', 'w')",
    "'SENTINEL'",
    "p[0:1]",
    "(" * 500 + "x" + ")" * 500,
])
def test_formulas_in_files_are_never_executed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    key: str, text: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = ({"formalism": "ONMR", "reward": [0, 0], "f": text, "gamma": 0.5} if key == "f"
            else {"formalism": "RRL", "reward": [0, 0], "regulariser": text, "alpha": 1,
                  "gamma": 0.5})
    policies = [[[0, 1], [1, 0]], [[1, 0], [1, 0]]]
    assert main(["evaluate", str(_problem(tmp_path, ENV, spec, policies))]) == 2
    line = _one_error_line(capsys)
    assert f".{key}: " in line
    assert not (tmp_path / "SENTINEL").exists()


def test_injection_through_the_console_script_runs_nothing(tmp_path: Path) -> None:
    import subprocess
    import sys

    spec = {"formalism": "ONMR", "reward": [0, 0], "gamma": 0.5,
            "f": "__import__('pathlib').Path('SENTINEL').touch() or x"}
    path = _problem(tmp_path, ENV, spec, [[[0, 1], [1, 0]], [[1, 0], [1, 0]]])
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "objspec.cli", "evaluate", str(path)],
                          cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(root), "PATH": ""}, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 1
    assert not (tmp_path / "SENTINEL").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["verify", "--envs", "0"], "--envs: expected a positive integer, got 0"),
        (["verify", "--envs", "-1"], "--envs: expected a positive integer, got -1"),
        (["verify", "--envs", "two"], "--envs: expected a positive integer, got 'two'"),
        (["verify", "--seed", "-1"], "--seed: expected an integer >= 0"),
        (["verify", "-o", "missing_dir/x.svg"], "the folder 'missing_dir' does not exist"),
        (["verify", "-o", "diagram.txt"], "the suffix must be .svg, .png or .pdf"),
        (["hasse", "-o", "missing_dir/x.svg"], "the folder 'missing_dir' does not exist"),
    ],
)
def test_arguments_are_rejected_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    argv: list[str], message: str,
) -> None:
    import objspec.cli as cli

    monkeypatch.chdir(tmp_path)
    calls: list[object] = []
    monkeypatch.setattr(cli, "_verify", lambda args: calls.append(args) or 0)
    monkeypatch.setattr(cli, "_hasse", lambda args: calls.append(args) or 0)
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2 and calls == []
    line = _one_error_line(capsys, argv[0])
    assert message in line


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from objspec import __version__

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"objspec {__version__}"


NAMED_ENV = dict(ENV, state_names=["start", "end"], action_names=["left", "right"])


def test_evaluate_uses_state_action_and_policy_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = {"formalism": "MR", "reward": [[1, 0], [0, 0]], "gamma": "1/2"}
    pols = {"greedy": [[1, 0], [1, 0]], "mixed": [["1/3", "2/3"], [1, 0]]}
    assert main(["evaluate", str(_problem(tmp_path, NAMED_ENV, spec, pols)), "--exact"]) == 0
    out = capsys.readouterr().out
    assert "2 states (start, end), 2 actions (left, right)" in out
    assert "policy greedy: rank 0, value 1\n    start: left; end: left" in out
    assert "policy mixed: rank 1, value 1/3\n    start: 1/3 left + 2/3 right; end: left" in out


def test_evaluate_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = dict(LABELLED, state_names=["start", "goal"], labels={"goal": ["goal"]})
    spec = {"formalism": "RM", "edges": [["wait", "done", "goal", 1],
                                         ["wait", "wait", "!goal", 0],
                                         ["done", "done", "true", 0]],
            "initial": "wait", "gamma": "1/2"}
    pols = {"stay": [[1, 0], [1, 0]], "go": [[0, 1], [1, 0]]}
    path = _problem(tmp_path, env, spec, pols)
    assert main(["evaluate", str(path), "--exact", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["formalism"] == "RM" and data["exact"] is True
    assert data["states"] == ["start", "goal"] and data["actions"] == ["a0", "a1"]
    assert [(p["name"], p["rank"], p["value"]) for p in data["policies"]] == [
        ("stay", 1, "0"), ("go", 0, "1/2")]
    assert main(["evaluate", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["exact"] is False and data["policies"][1]["value"] == pytest.approx(0.5)


def test_exact_decimals_that_are_binary_exact_are_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = {"formalism": "MR", "reward": [[1, 0], [0, 0]], "gamma": 0.5}
    pols = [[[0.25, 0.75], [1, 0]], [["0.1", "0.9"], [1, 0]]]
    assert main(["evaluate", str(_problem(tmp_path, ENV, spec, pols)), "--exact"]) == 0
    out = capsys.readouterr().out
    assert "policy 0: rank 0, value 1/4" in out and "policy 1: rank 1, value 1/10" in out


def test_load_problem_still_unpacks_to_three(tmp_path: Path) -> None:
    from objspec.cli import load_problem

    spec = {"formalism": "MR", "reward": [0, 0], "gamma": 0.5}
    env, spec_obj, policies = load_problem(_problem(tmp_path, ENV, spec, POLICIES))
    assert env.n_states == 2 and len(policies) == 2 and spec_obj.acronym == "MR"
    assert load_problem(_problem(tmp_path, ENV, spec, POLICIES)).names == ["p1", "p2"]


def test_verify_json(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import objspec.reductions as reductions

    full_c, full_s = reductions.constructions(), reductions.separations()
    monkeypatch.setattr(reductions, "constructions", lambda: full_c[:1])
    monkeypatch.setattr(reductions, "separations", lambda: full_s[:1])
    status = main(["verify", "--envs", "1", "-o", "", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert status == 0 and data["ok"] is True and data["failed_checks"] == 0
    assert [c["name"] for c in data["constructions"]] == [full_c[0].name]
    assert data["constructions"][0]["ok"] and data["witnesses"][0]["ok"]
    assert data["table"]["MR"]["MR"] == "=" and data["table"]["PO"]["MR"] == "Y"
    assert len(data["classes"]) == 11 and len(data["cover_edges"]) == 13
    assert data["diagram"] is None and data["undecided"] == []


def test_the_documented_example_prints_what_docs_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    doc = (Path(__file__).resolve().parents[1] / "docs" / "expressivity.md").read_text()
    section = doc[doc.index("## Evaluating a policy from the command line"):]
    (problem,) = re.findall(r"```json\n(.*?)```", section, flags=re.S)
    sessions = re.findall(r"```\n(\$ objspec .*?)```", section, flags=re.S)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "problem.json").write_text(problem)
    checked = 0
    for session in sessions:
        for command, shown in re.findall(r"\$ objspec (.*)\n((?:[^$].*\n)*)", session):
            if "bad.json" in command:
                continue
            try:
                main(command.split())
            except SystemExit:
                pass
            captured = capsys.readouterr()
            assert captured.out + captured.err == shown
            checked += 1
    assert checked == 2
