"""Quantitative expressivity studies: definition, distributed runs, resume, report, theory.

One real ``LocalCluster`` with two worker *processes* is shared by the distributed tests;
one of its workers is killed mid-run and the rows must still be exactly the serial run's.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

from objspec.errors import ForeignResultsError, SchedulerUnreachableError, StudyError
from objspec.formalisms.registry import formalism_info, registered_formalisms
from objspec.hasse import hasse_diagram
from objspec.reductions.verdicts import verdicts
from objspec.studies import (
    load_study,
    parse_study,
    read_results,
    report,
    run_study,
)

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]

SMALL = """
name = "small"
seed = 7
instances = 3
sources = ["MR", "LAR", "ONMR", "RRL", "FTR"]
targets = ["MR", "PO"]

[policies]
random = 3
max_deterministic = 4

[[environments]]
generator = "random_rational_mdp"
states = 2

[[environments]]
generator = "witness"
witnesses = ["N3", "N4", "N11"]
"""


def _stable(df: pd.DataFrame) -> pd.DataFrame:
    """The columns that depend only on the study (not timings or the worker)."""
    drop = [c for c in df.columns if c == "worker" or c.endswith("seconds")]
    return df.drop(columns=drop).reset_index(drop=True)


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("serial")
    summary = run_study(parse_study(SMALL), folder, workers=0, progress=False)
    assert (summary.ran, summary.skipped, summary.errors) == (len(parse_study(SMALL)
                                                                 .task_ids()), 0, 0)
    return read_results(folder)


@pytest.fixture(scope="module")
def cluster():  # type: ignore[no-untyped-def]
    import logging

    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.CRITICAL) as c:
        yield c


def test_a_killed_worker_loses_no_task_and_duplicates_none(
        cluster, serial: pd.DataFrame, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    study = parse_study(SMALL)
    killed: list[int] = []

    def kill_one_worker(row: dict) -> None:
        if killed:
            return
        nanny = next(iter(cluster.workers.values()))  # a Nanny: its worker is a process
        pid = nanny.process.process.pid
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    summary = run_study(study, tmp_path, scheduler=cluster.scheduler_address,
                        progress=False, on_row=kill_one_worker, flush_seconds=0.0)
    assert killed and killed[0] != os.getpid()
    from distributed import Client

    with Client(cluster, set_as_default=False) as client:  # the killed worker's tasks reran
        log = client.run_on_scheduler(lambda dask_scheduler: [
            t[0] for t in dask_scheduler.transition_log if t[1:3] == ("processing", "released")])
    assert [k for k in log if k.startswith("objspec-study-")]
    df = read_results(tmp_path)
    assert sorted(df["task_id"]) == sorted(study.task_ids())  # each exactly once
    assert summary.ran == len(study.task_ids()) and summary.errors == 0
    assert df["error"].isna().all()
    pd.testing.assert_frame_equal(_stable(df), _stable(serial))


def test_batches_of_tasks_give_the_same_rows(
        cluster, serial: pd.DataFrame, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run_study(parse_study(SMALL), tmp_path, scheduler=cluster.scheduler_address, batch=4,
              progress=False)
    pd.testing.assert_frame_equal(_stable(read_results(tmp_path)), _stable(serial))
    with pytest.raises(StudyError, match="batch = 0"):
        run_study(parse_study(SMALL), tmp_path, workers=0, batch=0)


def test_local_cluster_of_worker_processes_equals_serial(
        serial: pd.DataFrame, tmp_path: Path) -> None:
    run_study(parse_study(SMALL), tmp_path, workers=2, progress=False)
    df = read_results(tmp_path)
    assert df["worker"].nunique() >= 1 and not df["worker"].str.endswith(
        f":{os.getpid()}").any()  # ran in worker processes, not here
    pd.testing.assert_frame_equal(_stable(df), _stable(serial))


def test_resume_skips_finished_tasks_and_never_duplicates(
        serial: pd.DataFrame, tmp_path: Path) -> None:
    study = parse_study(SMALL)

    class Stop(Exception):
        pass

    def stop_after_five(row: dict) -> None:
        if row["task_id"] == study.task_ids()[4]:
            raise Stop

    with pytest.raises(Stop):
        run_study(study, tmp_path, workers=0, progress=False, on_row=stop_after_five,
                  flush_seconds=3600.0)
    assert len(read_results(tmp_path)) == 5  # the rows done before the stop were written
    summary = run_study(study, tmp_path, workers=0, progress=False)
    assert (summary.skipped, summary.ran) == (5, len(study.task_ids()) - 5)
    again = run_study(study, tmp_path, workers=0, progress=False)
    assert (again.skipped, again.ran) == (len(study.task_ids()), 0)
    pd.testing.assert_frame_equal(_stable(read_results(tmp_path)), _stable(serial))


def test_a_failing_task_is_recorded_with_its_error(tmp_path: Path) -> None:
    study = parse_study(SMALL.replace('witnesses = ["N3", "N4", "N11"]',
                                      'witnesses = ["N5"]'))
    run_study(study, tmp_path, workers=0, progress=False)
    df = read_results(tmp_path).set_index("task_id")
    # N5's witness has a single policy: nothing to compare, an answer for no target
    row = df.loc["01-w-N5"]
    assert row["MR.expressible"] is None and "no comparisons" in row["MR.reason"]
    bad = parse_study(SMALL.replace("random = 3", "random = 0").replace(
        "max_deterministic = 4", "max_deterministic = 0"))
    summary = run_study(bad, tmp_path / "bad", workers=0, progress=False)
    failed = read_results(tmp_path / "bad")
    rows = failed[failed["witness"].isna()]
    assert summary.errors == len(rows) > 0
    assert rows["error"].str.contains("no policies sampled").all()
    rep = report(tmp_path / "bad")
    assert f"{len(rows)} failed" in str(rep) and rep.bugs == 0


def test_a_foreign_results_folder_is_refused_untouched(tmp_path: Path) -> None:
    run_study(parse_study(SMALL), tmp_path, workers=0, progress=False)
    before = sorted(p.name for p in tmp_path.iterdir())
    other = parse_study(SMALL.replace("seed = 7", "seed = 8"))
    with pytest.raises(ForeignResultsError, match="another study"):
        run_study(other, tmp_path, workers=0, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "x.parquet").write_bytes(b"")
    with pytest.raises(ForeignResultsError, match="no _study.json"):
        run_study(other, tmp_path / "loose", workers=0, progress=False)


def test_an_unreachable_scheduler_is_a_named_error_and_nothing_is_written(
        tmp_path: Path) -> None:
    folder = tmp_path / "results"
    with pytest.raises(SchedulerUnreachableError, match="tcp://127.0.0.1:9"):
        run_study(parse_study(SMALL), folder, scheduler="tcp://127.0.0.1:9", timeout=1.0,
                  progress=False)
    assert not folder.exists()


@pytest.mark.parametrize(("text", "message"), [
    ("sources = [\"MR\"\ntargets = [\"MR\"]", "malformed TOML"),
    ("sources = [\"XYZ\"]\ntargets = [\"MR\"]\n[[environments]]\ngenerator = \"random_mdp\"",
     "unknown formalism 'XYZ'"),
    ("sources = [\"MR\"]\ntargets = [\"MR\"]\n[[environments]]\ngenerator = \"grid\"",
     "unknown environment generator 'grid'"),
    ("sources = [\"MR\"]\ntargets = [\"MR\"]\nseeds = 3\n[[environments]]\n"
     "generator = \"random_mdp\"", "unknown key 'seeds'"),
    ("sources = [\"MR\"]\ntargets = [\"MR\"]\ninstances = \"ten\"\n[[environments]]\n"
     "generator = \"random_mdp\"", "instances = 'ten': expected int"),
    ("sources = [\"LTL\"]\ntargets = [\"MR\"]\n[[environments]]\ngenerator = \"random_mdp\"",
     "reads labels"),
    ("sources = [\"PO\"]\ntargets = [\"MR\"]\n[[environments]]\ngenerator = \"random_mdp\"",
     "no registered sampler"),
    ("sources = [\"MR\"]\ntargets = [\"MR\"]\ngamma = \"3/2\"\n[[environments]]\n"
     "generator = \"random_mdp\"", "outside"),
    ("sources = [\"MR\"]\ntargets = [\"MR\"]\n[[environments]]\ngenerator = \"witness\"\n"
     "witnesses = [\"N99\"]", "unknown separation witness 'N99'"),
    ("sources = [\"MR\"]\ntargets = [\"MR\"]", "missing key 'environments'"),
])
def test_bad_study_input_is_a_named_error(text: str, message: str) -> None:
    with pytest.raises(StudyError, match=message):
        parse_study(text)


def test_the_shipped_quick_study_loads_and_round_trips() -> None:
    study = load_study(ROOT / "examples" / "studies" / "quick.toml")
    assert parse_study(study.to_toml()).fingerprint() == study.fingerprint()
    assert len(study.task_ids()) == len(set(study.task_ids())) > 50
    with pytest.raises(StudyError, match="cannot read"):
        load_study(ROOT / "examples" / "studies" / "missing.toml")


def test_cli_study_run_and_report(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from objspec.cli import main

    toml = tmp_path / "small.toml"
    toml.write_text(SMALL)
    results = tmp_path / "results"
    assert main(["study", "run", str(toml), "--results", str(results), "--workers", "0"]) == 0
    assert "0 already done" in capsys.readouterr().out
    assert main(["study", "run", str(toml), "--results", str(results), "--workers", "0"]) == 0
    assert f"{len(parse_study(SMALL).task_ids())} already done" in capsys.readouterr().out
    figure = tmp_path / "report.svg"
    assert main(["study", "report", str(results), "-o", str(figure)]) == 0
    out = capsys.readouterr().out
    assert "no instance contradicts the theory" in out and figure.read_text().count("<svg")
    assert main(["study", "report", str(results)]) == 0  # the default figure, in DIR
    assert (results / "_report.svg").exists()
    assert len(pd.read_parquet(results)) == len(parse_study(SMALL).task_ids())
    assert main(["study", "run", str(toml), "--results", str(tmp_path / "r2"),
                 "--scheduler", "tcp://127.0.0.1:9", "--timeout", "1"]) == 2
    assert "no Dask scheduler answered" in capsys.readouterr().err
    assert not (tmp_path / "r2").exists()


# ------------------------------------------------------------------- the theory check

THEORY = """
name = "theory"
seed = 11
instances = 1
targets = [{targets}]
sources = [{sources}]

[policies]
random = 3
max_deterministic = 4

[[environments]]
generator = "random_rational_mdp"
states = 2

[[environments]]
generator = "witness"
witnesses = ["all"]
"""


@pytest.fixture(scope="module")
def theory(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    infos = registered_formalisms()
    fitted = [i.acronym for i in infos if i.fitter is not None]
    sampled = [i.acronym for i in infos if i.sampler is not None]
    text = THEORY.format(targets=", ".join(f'"{a}"' for a in fitted),
                         sources=", ".join(f'"{s}"' for s in sampled))
    folder = tmp_path_factory.mktemp("theory")
    run_study(parse_study(text), folder, workers=0, progress=False)
    return report(folder), fitted


def test_proved_pairs_are_expressed_on_every_instance(theory) -> None:  # type: ignore[no-untyped-def]
    rep, fitted = theory
    assert "MR" in fitted
    cover = {(a, b) for x, y in hasse_diagram().edges
             for a in hasse_diagram().nodes[x]["members"]
             for b in hasse_diagram().nodes[y]["members"]}
    proved = {k for k, v in verdicts().items() if v.holds}
    assert cover <= proved
    rates = rep.rates.set_index(["target", "source"])
    checked, decided = [], []
    for a, b in sorted(proved):
        if a in fitted and (a, b) in rates.index:
            r = rates.loc[(a, b)]
            # every instance the theory covers is expressed (instances of a discount-free
            # source fitted by a discounted target with the study's discount are not covered;
            # a fitter may leave instances unknown: bounded search, options it needs)
            assert r["not_expressed"] == r["discount_given"], (a, b)
            assert r["rate"] == 1.0 or r["discount_given"] or not r["expressed"], (a, b)
            checked.append((a, b))
            decided += [(a, b)] * bool(r["expressed"])
    assert ("MR", "MR") in decided  # today's fitters at least; every fitter adds its pairs
    assert not [(a, b) for a, b in cover if a in fitted and formalism_info(b).sampler
                and (a, b) not in checked]
    assert rep.bugs == 0, rep.contradictions


def test_every_separation_has_a_witness_instance_found_not_expressible(theory) -> None:  # type: ignore[no-untyped-def]
    rep, fitted = theory
    seps = rep.separations
    mine = seps[seps["target"].isin(fitted)]
    assert len(mine) >= 15  # MR alone is separated from 16 formalisms
    assert set(mine["status"]) <= {"found", "analytic only", "no answer"}, mine
    mr = mine[mine["target"] == "MR"]
    assert set(mr["status"]) == {"found", "analytic only"} and len(mr) == 16
    assert (mr["status"] == "found").sum() == 15  # all but MR < LAR (analytic N13 only)
    # "analytic only": no witness of the family has a finite certificate (finite data can
    # never show those separations: docs/theory.md#separations)
    from objspec.reductions import separations
    from objspec.reductions.separation_catalogue import AnalyticWitness

    kinds = {w.name: isinstance(w, AnalyticWitness) for w in separations()}
    for family in mine[mine["status"] == "analytic only"]["family"]:
        assert all(kinds[name] for name in family.split(", "))


def test_the_report_numbers_and_diagram(theory) -> None:  # type: ignore[no-untyped-def]
    from objspec.studies import quantitative_hasse, wilson_interval

    rep, _ = theory
    r = rep.rates
    decided = r["expressed"] + r["not_expressed"]
    for row, n in zip(r.itertuples(), decided, strict=True):
        if n:
            assert (row.lower, row.upper) == wilson_interval(row.expressed, n)
            assert row.lower <= row.rate <= row.upper
    g = quantitative_hasse(rep.results)
    assert isinstance(g, nx.DiGraph) and g.edges["MR", "LAR"]["theory"] == "fails"
    assert "<svg" in rep._repr_svg_() and "<table" in rep._repr_html_()
    assert "fraction of B-instances A expressed" in str(rep)


def test_an_instance_contradicting_the_theory_is_flagged_as_a_bug(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from objspec.cli import main

    run_study(parse_study(SMALL), tmp_path, workers=0, progress=False)
    for part in tmp_path.glob("part-*.parquet"):  # tamper: MR fails an MR instance, and
        table = pq.read_table(part).to_pandas()   # fits witness N3 (FTR >= MR cannot)
        hit = table["task_id"].isin(["00-MR-e00001-s000", "01-w-N3"])
        table.loc[hit, "MR.expressible"] = ~table.loc[hit, "MR.expressible"].astype(bool)
        pq.write_table(pa.Table.from_pandas(table, schema=pq.read_schema(part),
                                            preserve_index=False), part)
    rep = report(tmp_path)
    assert sorted(rep.contradictions["task_id"]) == ["00-MR-e00001-s000", "01-w-N3"]
    status = rep.rates.set_index(["target", "source"]).loc[("MR", "MR"), "status"]
    assert status == "BUG"
    assert main(["study", "report", str(tmp_path), "-o", ""]) == 1
    captured = capsys.readouterr()
    assert "BUG: 2 instance(s) contradict the theory" in captured.out
    assert "BUG" in captured.err


def test_float_generators_rank_with_the_float_evaluator() -> None:
    from objspec.studies import run_task

    study = parse_study('instances = 2\nsources = ["MR"]\ntargets = ["MR"]\n'
                        '[[environments]]\ngenerator = "random_labelled_mdp"\nstates = 3\n'
                        'successors = 2\n[[environments]]\ngenerator = "random_mdp"\n'
                        'states = 3\nactions = 3')
    rows = [run_task(study, t) for t in study.task_ids()]
    assert len(rows) == 4
    for row in rows:
        assert row["error"] is None and row["source_exact"] is False
        assert row["MR.expressible"] is True and row["n_classes"] > 1


def test_fitters_that_give_no_answer_are_recorded_as_unknown_with_the_reason(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from objspec.errors import NoFitFoundError
    from objspec.formalisms import registry
    from objspec.formalisms.fitting import Fitter
    from objspec.studies import run_task

    def bounded(env, data, options):  # type: ignore[no-untyped-def]
        raise NoFitFoundError("no formula up to size 3", bound=3)

    def broken(env, data, options):  # type: ignore[no-untyped-def]
        raise RuntimeError("solver crashed")

    for acr, fn in (("LTL", bounded), ("LAR", broken)):
        info = registry.formalism_info(acr)
        monkeypatch.setitem(registry._REGISTRY, acr,
                            replace(info, fitter=Fitter(fn, "test", decides=False)))
    study = parse_study('instances = 1\nsources = ["MR"]\ntargets = ["MR", "LTL", "LAR"]\n'
                        '[[environments]]\ngenerator = "random_rational_mdp"\nstates = 2')
    row = run_task(study, study.task_ids()[0])
    assert row["error"] is None and row["MR.expressible"] is True
    assert row["LTL.expressible"] is None
    assert row["LTL.reason"] == "bounded search: no formula up to size 3"
    assert row["LAR.expressible"] is None
    assert row["LAR.reason"] == "fit failed: RuntimeError: solver crashed"
