"""``objspec fit`` and ``objspec profile``: results, certificates (exit status 1), JSON, and
one-line named errors with exit status 2 for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from objspec.cli import main

# "stay" keeps the state, "go" moves to the other one
ENV = {"transitions": [[[1, 0], [0, 1]], [[0, 1], [1, 0]]], "initial": [1, 0],
       "state_names": ["home", "away"], "action_names": ["stay", "go"]}
ONE_STATE = {"transitions": [[[1], [1]]], "initial": [1]}


def _files(tmp_path: Path, rows: str, env: dict[str, object] = ENV, *,
           evaluate_file: bool = True) -> tuple[str, str]:
    (tmp_path / "data.csv").write_text("first,second,relation\n" + rows)
    (tmp_path / "env.json").write_text(json.dumps({"environment": env} if evaluate_file
                                                  else env))
    return str(tmp_path / "data.csv"), str(tmp_path / "env.json")


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_fit_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, env = _files(tmp_path, "1 1,0 0,>\n")
    code, out, err = _run(["fit", data, "--env", env, "--formalism", "MR", "--gamma", "0.9"],
                          capsys)
    assert code == 0 and err == ""
    assert out.startswith("MR fit by max-margin LP") and "reward r(s, a):" in out
    assert "  home: stay: " in out


def test_fit_json_exact_with_policies_file(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    data, env = _files(tmp_path, "0,1,>\n2,1,=\n", evaluate_file=False)
    pol = tmp_path / "p.json"
    pol.write_text(json.dumps([[[0, 1], [0, 1]], [[1, 0], [1, 0]], [[0, 1], [1, 0]]]))
    code, out, _ = _run(["fit", data, "--env", env, "--formalism", "markov rewards",
                         "--gamma", "1/2", "--policies", str(pol), "--exact", "--json"],
                        capsys)
    rec = json.loads(out)
    assert code == 0 and rec["fits"] is True and rec["exact"] is True
    assert rec["violated"] == [] and len(rec["reward"]) == 2
    assert all(isinstance(x, str) for row in rec["reward"] for x in row)


def test_fit_certificate_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, env = _files(tmp_path, "0,2,>\n1,2,>\n", ONE_STATE)
    pol = tmp_path / "p.json"
    pol.write_text(json.dumps([[[1, 0]], [[0, 1]], [[0.5, 0.5]]]))
    code, out, _ = _run(["fit", data, "--env", env, "--formalism", "MR", "--gamma", "0.5",
                         "--policies", str(pol), "--json"], capsys)
    rec = json.loads(out)
    assert code == 1 and rec["fits"] is False
    assert rec["certificate"]["rows"] == [0, 1]
    assert rec["certificate"]["explanation"].startswith("these 2 comparisons")
    code, out, _ = _run(["fit", data, "--env", env, "--formalism", "MR", "--gamma", "0.5",
                         "--policies", str(pol)], capsys)
    assert code == 1 and out.startswith("no Markov reward")


def test_fit_soft_reports_violations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, env = _files(tmp_path, "0,2,>\n1,2,>\n", ONE_STATE)
    pol = tmp_path / "p.json"
    pol.write_text(json.dumps([[[1, 0]], [[0, 1]], [[0.5, 0.5]]]))
    code, out, _ = _run(["fit", data, "--env", env, "--formalism", "MR", "--gamma", "0.5",
                         "--policies", str(pol), "--soft", "--json"], capsys)
    rec = json.loads(out)
    assert code == 0 and len(rec["violated"]) >= 1


def test_inconsistent_data_exits_1_with_the_cycle(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    data, env = _files(tmp_path, "0 0,1 1,>\n1 1,0 0,>\n")
    code, out, _ = _run(["fit", data, "--env", env, "--formalism", "MR", "--gamma", "0.5",
                         "--json"], capsys)
    rec = json.loads(out)
    assert code == 1 and rec["inconsistent"] is True
    assert [c["row"] for c in rec["cycle"]] == [0, 1]


@pytest.mark.parametrize(("rows", "extra", "message"), [
    ("0 0 0,1 1 1,>\n", [], "policy 0 has shape (3, 2); this environment needs"),
    ("0 0,1 1,>\n", ["--formalism", "XYZ"], "unknown formalism 'XYZ'"),
    ("", [], "the data is empty"),
    ("0 0,nan,>\n", [], "row 0 (line 2), column 'second': missing value (empty or NaN)"),
    ("0 0,1 1,?\n", [], "row 0 (line 2), column 'relation': unknown relation"),
    ("0 0,1 1,>\n", ["--gamma", "2"], "gamma=2.0 is outside"),
])
def test_named_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: str,
                             extra: list[str], message: str) -> None:
    data, env = _files(tmp_path, rows)
    argv = ["fit", data, "--env", env, "--gamma", "0.5", "--formalism", "MR", *extra]
    code, out, err = _run(argv, capsys)
    assert code == 2 and out == "" and err.startswith("objspec fit: error: ")
    assert err.count("\n") == 1
    assert message in err, err


def test_nan_in_a_policies_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, env = _files(tmp_path, "0,1,>\n")
    pol = tmp_path / "p.json"
    pol.write_text("[[[NaN, 1], [1, 0]], [[1, 0], [1, 0]]]")
    code, _, err = _run(["fit", data, "--env", env, "--formalism", "MR", "--gamma", "0.5",
                         "--policies", str(pol)], capsys)
    assert code == 2 and "policy 0" in err and "not finite" in err


def test_missing_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, env = _files(tmp_path, "0 0,1 1,>\n")
    code, _, err = _run(["fit", str(tmp_path / "nope.csv"), "--env", env, "--formalism",
                         "MR", "--gamma", "0.5"], capsys)
    assert code == 2 and "cannot read" in err
    code, _, err = _run(["profile", data, "--env", str(tmp_path / "nope.json")], capsys)
    assert code == 2 and "cannot read" in err


def test_profile_text_json_and_diagram(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from objspec.formalisms import registry

    for acronym, info in list(registry._REGISTRY.items()):  # only MR fits: others propagate
        if acronym != "MR":
            monkeypatch.setitem(registry._REGISTRY, acronym,
                                dataclasses.replace(info, fitter=None))
    data, env = _files(tmp_path, "1 1,0 0,>\n")
    code, out, _ = _run(["profile", data, "--env", env, "--gamma", "0.9", "-o",
                         str(tmp_path / "p.svg")], capsys)
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert code == 0 and "fits" in lines["MR"] and "unknown" in lines["LTL"]
    assert "propagated from MR" in lines["PO"]
    assert "MR: fits" in (tmp_path / "p.svg").read_text()
    code, out, _ = _run(["profile", data, "--env", env, "--gamma", "0.9", "--json"], capsys)
    rec = json.loads(out)
    assert code == 0 and rec["fits"]["MR"] is True and rec["fits"]["LAR"] is None
    with pytest.raises(SystemExit) as exc:
        main(["profile", data, "--env", env, "-o", str(tmp_path / "p.gif")])
    assert exc.value.code == 2
