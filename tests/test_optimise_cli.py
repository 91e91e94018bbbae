"""``objspec optimise``: the policy, value, guarantee and method of a spec file, the JSON
schema, the tractability table, and one-line errors (exit status 2) for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from objspec.cli import load_problem, main
from objspec.errors import ObjspecError
from objspec.formalisms.optimisation import GUARANTEES
from objspec.formalisms.registry import registered_formalisms

ROOT = Path(__file__).resolve().parents[1]
# "stay" keeps the state, "go" moves to the other one
ENV = {"transitions": [[[1, 0], [0, 1]], [[0, 1], [1, 0]]], "initial": [1, 0],
       "state_names": ["home", "away"], "action_names": ["stay", "go"]}
MR = {"formalism": "MR", "reward": [[0, 1], [0, "1/2"]], "gamma": "1/2"}
JSON_KEYS = {"file", "formalism", "specification", "policies", "exact", "seed", "time_limit",
             "value", "guarantee", "bound", "test", "method", "evidence", "iterations",
             "seconds", "states", "actions", "policy"}


def _write(tmp_path: Path, spec: dict[str, Any], **extra: Any) -> Path:
    path = tmp_path / "problem.json"
    path.write_text(json.dumps({"environment": ENV, "specification": spec, **extra}))
    return path


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_text_output_names_states_and_actions(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["optimise", str(_write(tmp_path, MR)), "--seed", "1"], capsys)
    assert code == 0 and err == ""
    lines = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    # "go" earns 1 at home and 1/2 away: (1 + 1/2 * 1/2) / (1 - 1/4) = 5/3 (staying: 0)
    assert lines["policy (stationary)"] == "home: go; away: go"
    assert float(lines["value"]) == pytest.approx(5 / 3)
    assert lines["guarantee"].split()[0] in GUARANTEES
    assert {"method", "iterations"} <= set(lines)


def test_exact_json_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["optimise", str(_write(tmp_path, MR)), "--exact", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert set(data) == JSON_KEYS
    assert data["formalism"] == "MR" and data["exact"] is True and data["value"] == "5/3"
    assert data["guarantee"] in GUARANTEES and data["policies"] == "stationary"
    assert data["policy"]["kind"] == "stationary"
    assert data["policy"]["probabilities"] == [["0", "1"], ["0", "1"]]
    assert data["states"] == ["home", "away"] and data["actions"] == ["stay", "go"]
    assert isinstance(data["iterations"], int) and data["seconds"] >= 0


def test_files_with_policies_are_accepted_and_checked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _write(tmp_path, MR, policies=[[[1, 0], [1, 0]]])
    assert _run(["optimise", str(good), "--json"], capsys)[0] == 0
    bad = _write(tmp_path, MR, policies=[[[1, 0]]])
    code, _, err = _run(["optimise", str(bad)], capsys)
    assert code == 2 and "policies[0]" in err


def test_load_problem_without_policies(tmp_path: Path) -> None:
    env, spec, policies = load_problem(_write(tmp_path, MR), require_policies=False)
    assert env.n_states == 2 and spec.acronym == "MR" and policies == []
    with pytest.raises(ObjspecError, match="missing the 'policies' entry"):
        load_problem(_write(tmp_path, MR))


def test_an_ordering_formalism_has_no_value(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    spec = {"formalism": "GOMORL", "rewards": [[[0, 1], [0, 0]], [[1, 0], [0, 0]]],
            "gamma": "1/2"}
    code, out, _ = _run(["optimise", str(_write(tmp_path, spec)), "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["value"] is None and data["formalism"] == "GOMORL"
    code, out, _ = _run(["optimise", str(_write(tmp_path, spec))], capsys)
    assert "value: none (an ordering formalism" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--time-limit", "-1"], "argument --time-limit: expected a positive number"),
        (["--time-limit", "0"], "argument --time-limit: expected a positive number"),
        (["--time-limit", "nan"], "argument --time-limit: expected a positive number"),
        (["--time-limit", "soon"], "argument --time-limit: expected a positive number"),
        (["--seed", "-3"], "argument --seed: expected an integer >= 0"),
        (["--policies", "memoryless"], "argument --policies: invalid choice"),
        (["--policies", "finite-memory"], "has no meaning for MR"),
        (["--table"], "give either a FILE to optimise or --table, not both"),
        (["--states", "5"], "--states applies only to --table"),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as stop:
        code = main(["optimise", str(_write(tmp_path, MR)), *argv])
        raise SystemExit(code)
    err = capsys.readouterr().err
    assert stop.value.code == 2
    assert message in err and err.count("\n") == 1 and err.startswith("objspec optimise: ")


def test_finite_memory_passes_through_where_registered(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A formalism whose optimiser supports finite memory gets ``policies`` passed on."""
    from dataclasses import replace

    from objspec.formalisms import MarkovReward
    from objspec.formalisms.optimisation import Optimiser, generic_optimise
    from objspec.formalisms.registry import SpecificationReader, formalism, unregister

    class MemoryMR(MarkovReward):
        pass

    def search(spec: Any, env: Any, options: Any) -> Any:
        return replace(generic_optimise(spec, env, options), policies=options.policies)

    formalism("MMR", name="Markov rewards with a memory optimiser", level="trajectory",
              reader=SpecificationReader(("reward", "gamma"), lambda f: MemoryMR(
                  f.array("reward"), f.number("gamma"))),
              optimiser=Optimiser(search, "test", "local", "test", finite_memory=True))(
        MemoryMR)
    try:
        spec = {**MR, "formalism": "MMR"}
        code, out, err = _run(["optimise", str(_write(tmp_path, spec)), "--policies",
                               "finite-memory", "--json"], capsys)
    finally:
        unregister("MMR")
    assert code == 0, err
    assert json.loads(out)["policies"] == "finite-memory"


def test_a_finite_memory_policy_is_described() -> None:
    import numpy as np

    from objspec import FiniteMDP
    from objspec.cli import _policy_record
    from objspec.ltl.optimise import maximal_satisfaction

    P = np.zeros((2, 2, 2))
    P[:, 0, 0] = P[:, 1, 1] = 1.0
    env = FiniteMDP(P, [1.0, 0.0], labels={1: ["a"]})
    policy = maximal_satisfaction(env, "F a").policy
    record = _policy_record(env, policy, exact=False)
    assert record["kind"] == "FiniteMemoryPolicy" and record["memory_states"] >= 1
    assert np.asarray(record["action_probabilities"]).shape[0] == 2
    assert "memory states" in record["description"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"environment": ENV, "specification": {"formalism": "NOPE"}}, "'NOPE' is not supported"),
        ({"environment": ENV}, "missing the 'specification' entry"),
        ({"environment": ENV, "specification": {"formalism": "MR", "reward": [[0, 1], [0, 0]]}},
         "missing 'gamma'"),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       content: dict[str, Any], message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    code, _, err = _run(["optimise", str(path)], capsys)
    assert code == 2 and message in err and err.count("\n") == 1


def test_neither_file_nor_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["optimise"], capsys)
    assert code == 2 and "give a FILE to optimise" in err


def test_static_table_lists_every_registered_formalism(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["optimise", "--table", "--static"], capsys)
    assert code == 0
    first = [line.split()[0] for line in out.splitlines()[1:len(registered_formalisms()) + 1]]
    assert first == [i.acronym for i in registered_formalisms()]
    code, out, _ = _run(["optimise", "--table", "--static", "--json"], capsys)
    data = json.loads(out)
    assert data["measured"] is False and data["settings"] == {}
    assert [r["acronym"] for r in data["rows"]] == [i.acronym for i in registered_formalisms()]
    assert {"acronym", "name", "method", "guarantee", "complexity", "finite_memory",
            "registered", "measurement"} == set(data["rows"][0])


def test_measured_table_json(capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    from objspec.hasse import tractability

    seen: list[str] = []
    real = tractability.measure_formalism

    def few(info: Any, **kw: Any) -> Any:  # time two formalisms, skip the rest
        seen.append(info.acronym)
        if info.acronym in ("MR", "PO"):
            return real(info, **kw)
        return tractability.Measurement(0.0, None, 0, kw["n_states"], error="skipped")

    monkeypatch.setattr(tractability, "measure_formalism", few)
    code, out, _ = _run(["optimise", "--table", "--states", "3", "--time-limit", "1",
                         "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["measured"] and data["settings"]["n_states"] == 3
    assert seen == [i.acronym for i in registered_formalisms()]
    mr = data["rows"][0]["measurement"]
    assert mr["error"] == "" and mr["guarantee"] in GUARANTEES and mr["states"] == 3


def test_table_rejects_file_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["optimise", "--table", "--exact"], capsys)
    assert code == 2 and "--exact applies to a FILE" in err


def test_help_mentions_optimise() -> None:
    out = subprocess.run([sys.executable, "-m", "objspec.cli", "optimise", "--help"],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.returncode == 0 and "--time-limit" in out.stdout and "--table" in out.stdout
    assert "Traceback" not in out.stderr


def test_verify_includes_the_static_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--envs", "1", "-o", "", "-q", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = data["tractability"]
    assert [r["acronym"] for r in rows] == [i.acronym for i in registered_formalisms()]
    assert all(r["measurement"] is None and r["guarantee"] in GUARANTEES for r in rows)
    assert main(["verify", "--envs", "1", "-o", "", "-q"]) == 0
    out = capsys.readouterr().out
    section = out[out.index("== tractability of optimisation"):out.index("== verify:")]
    for info in registered_formalisms():
        assert f"\n  {info.acronym} " in section


def test_progress_is_shown_on_a_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from objspec.hasse import tractability

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setattr(tractability, "measure_formalism",
                        lambda info, **kw: tractability.Measurement(0.01, "local", 1,
                                                                    kw["n_states"]))
    code, out, err = _run(["optimise", "--table", "--states", "2", "--time-limit", "1"],
                          capsys)
    assert code == 0 and "Traceback" not in err
    n = len(registered_formalisms())
    # a tqdm bar ("17/17") when tqdm is installed, else objspec's own counter ("[17/17]")
    assert "timing" in err and f"{n}/{n}" in err
    assert err.endswith("\r")  # the progress line is cleared at the end
    assert out.splitlines()[1].startswith("formalism")


def test_hasse_coloured_by_guarantee(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import xml.etree.ElementTree as ET

    from objspec.hasse.tractability import GUARANTEE_COLOURS

    path = tmp_path / "coloured.svg"
    assert main(["hasse", "-o", str(path), "--colour-by", "guarantee"]) == 0
    text = path.read_text()
    ET.fromstring(text)
    assert any(c in text for c in GUARANTEE_COLOURS.values())
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main(["hasse", "-o", str(path), "--colour-by", "speed"])
    assert stop.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_an_interrupted_search_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from objspec.formalisms import base

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(base.Specification, "optimise", interrupted)
    code, out, err = _run(["optimise", str(_write(tmp_path, MR))], capsys)
    assert code == 130 and out == "" and err == "objspec optimise: interrupted\n"
