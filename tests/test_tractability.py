"""The tractability table (objspec.hasse.tractability): computed from the formalism registry,
so it lists exactly the registered formalisms with their registered optimisers, a new
formalism appears in it without other edits, docs/optimisation.md shows it as
scripts/tractability_table.py prints it, and the Hasse diagram coloured by guarantee renders.
"""

from __future__ import annotations

import runpy
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest

from objspec.errors import ObjspecError
from objspec.formalisms import MarkovReward, RealValuedEvaluator, Specification, Valuation
from objspec.formalisms._sampling import random_discount, random_reward
from objspec.formalisms.optimisation import (
    GENERIC,
    GUARANTEES,
    OptimiseOptions,
    Optimiser,
    Optimum,
    generic_optimise,
)
from objspec.formalisms.registry import (
    SpecificationReader,
    formalism,
    formalism_info,
    registered_formalisms,
    unregister,
)
from objspec.hasse import hasse_diagram
from objspec.hasse.tractability import (
    GUARANTEE_COLOURS,
    benchmark_environment,
    benchmark_spec,
    draw_guarantees,
    guarantee_colours,
    guarantee_svg,
    measure_formalism,
    tractability_table,
)
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------ a throwaway formalism


class HalvedMarkovReward(Specification):
    """``J(pi) = J_MR(pi) / 2``."""

    real_valued = True

    def __init__(self, reward: Any, gamma: Any) -> None:
        self.inner = MarkovReward(reward, gamma)

    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> HalvedEvaluator:
        return HalvedEvaluator(self, env, bool(exact))


class HalvedEvaluator(RealValuedEvaluator[HalvedMarkovReward]):
    def __init__(self, spec: HalvedMarkovReward, env: FiniteMDP, exact: bool) -> None:
        super().__init__(spec, env)
        self.inner: Any = spec.inner.compile(env, exact=exact)
        self.exact = exact

    def valuation(self, policies: Any) -> Valuation:
        inner = self.inner.valuation(policies)
        return Valuation(inner.values / 2, inner.tie_tolerance / 2)

    def exact_value(self, policy: Policy) -> Any:
        return self.inner.exact_value(policy) / 2


def _halved_optimise(spec: Any, env: FiniteMDP, options: OptimiseOptions) -> Optimum:
    found = generic_optimise(spec, env, options)
    return replace(found, method="halved test search", guarantee="heuristic", test=None)


HALVED = Optimiser(_halved_optimise, "halved test search", "heuristic",
                   "a test statement (docs/theory.md#def-mr)")


@pytest.fixture
def halved() -> Iterator[type[HalvedMarkovReward]]:
    formalism(
        "HMR", name="halved Markov rewards", level="trajectory", exact=True,
        sampler=lambda env, rng: HalvedMarkovReward(random_reward(rng, env),
                                                    random_discount(rng)),
        reader=SpecificationReader(("reward", "gamma"), lambda f: HalvedMarkovReward(
            f.array("reward"), f.number("gamma"))),
        optimiser=HALVED,
    )(HalvedMarkovReward)
    try:
        yield HalvedMarkovReward
    finally:
        unregister("HMR")


# ------------------------------------------------------------ the table


def test_the_table_lists_exactly_the_registered_formalisms() -> None:
    table = tractability_table()
    infos = registered_formalisms()
    assert [r.acronym for r in table.rows] == [i.acronym for i in infos]
    for row, info in zip(table.rows, infos, strict=True):
        optimiser = info.optimiser or GENERIC
        assert (row.method, row.guarantee, row.complexity, row.finite_memory) == (
            optimiser.method, optimiser.guarantee, optimiser.complexity,
            optimiser.finite_memory)
        assert row.registered == (info.optimiser is not None)
        assert row.guarantee in GUARANTEES and row.measurement is None
    assert not table.measured and "time (s)" not in table.columns()


def test_a_registered_formalism_appears_with_its_optimiser(
        halved: type[HalvedMarkovReward]) -> None:
    table = tractability_table()
    row = table.rows[-1]
    assert (row.acronym, row.method, row.guarantee, row.registered) == (
        "HMR", "halved test search", "heuristic", True)
    assert "HMR" in str(table) and "a test statement" in table.to_markdown()
    measured = tractability_table(measure=True, formalisms=["HMR"], n_states=3,
                                  time_limit=2.0)
    m = measured.rows[0].measurement
    assert m is not None and m.error == "" and m.guarantee == "heuristic" and m.states == 3
    assert "HMR" not in tractability_table(formalisms=["MR"]).guarantees()


def test_after_unregistering_it_is_gone(halved: type[HalvedMarkovReward]) -> None:
    unregister("HMR")
    assert "HMR" not in [r.acronym for r in tractability_table().rows]


def test_measurement_records_time_guarantee_and_failures() -> None:
    m = measure_formalism(formalism_info("ONMR"), n_states=3, time_limit=2.0)
    assert m.error == "" and m.guarantee in GUARANTEES and m.seconds >= 0 and m.states == 3
    assert m.value is not None and np.isfinite(m.value)
    # an inner nonlinear formalism is timed on a rational acyclic environment
    assert measure_formalism(formalism_info("INMR"), n_states=30, time_limit=1.0).states == 8


def test_measurement_failure_is_a_row_not_a_crash() -> None:
    class Broken(Specification):
        real_valued = True

        def _evaluator(self, env: FiniteMDP, exact: bool | None) -> Any:
            raise ObjspecError("cannot compile here")

    formalism("BRK", name="a broken formalism", level="policy",
              sampler=lambda env, rng: Broken())(Broken)
    try:
        table = tractability_table(measure=True, formalisms=["BRK"], n_states=2,
                                   time_limit=1.0)
    finally:
        unregister("BRK")
    m = table.rows[0].measurement
    assert m is not None and m.guarantee is None and "cannot compile here" in m.error
    assert "failed (below)" in str(table) and "BRK: ObjspecError: cannot compile" in str(table)


def test_po_has_a_benchmark_spec_built_from_orders() -> None:
    env = benchmark_environment(4, seed=2)
    spec = benchmark_spec(formalism_info("PO"), env, np.random.default_rng(0))
    ranks = spec.compile(env).rank([np.eye(2)[[0] * 4], np.eye(2)[[1] * 4]])
    assert sorted(ranks.tolist()) == [0, 1]


def test_bad_settings_are_named_errors() -> None:
    with pytest.raises(ObjspecError, match="time_limit"):
        tractability_table(measure=True, time_limit=0)
    with pytest.raises(ObjspecError, match="unknown formalism"):
        tractability_table(formalisms=["NOPE"])
    with pytest.raises(ObjspecError, match="n_states"):
        benchmark_environment(0)


def test_renderings_agree() -> None:
    table = tractability_table(measure=True, formalisms=["MR", "PO"], n_states=3,
                               time_limit=1.0)
    md = table.to_markdown().splitlines()
    assert md[0].startswith("| formalism | method | guarantee |") and len(md) == 4
    assert "<table" in table._repr_html_() and "PO" in table._repr_html_()
    rows = table.as_dicts()
    assert rows[0]["acronym"] == "MR" and set(rows[0]["measurement"]) >= {
        "seconds", "guarantee", "iterations", "states", "error"}


# ------------------------------------------------------------ the docs table


def test_the_docs_table_is_the_scripts_output() -> None:
    """docs/optimisation.md shows exactly what scripts/tractability_table.py prints (rerun
    ``python scripts/tractability_table.py --write`` after changing an optimiser)."""
    script = runpy.run_path(str(ROOT / "scripts" / "tractability_table.py"))
    page = (ROOT / "docs" / "optimisation.md").read_text()
    block = script["docs_block"]()
    assert block in page, "docs/optimisation.md is stale: run scripts/tractability_table.py --write"
    for info in registered_formalisms():
        assert f"| {info.acronym} |" in block


def test_the_script_checks_and_prints() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "tractability_table.py"),
                          "--check"], capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stderr
    assert "up to date" in out.stdout


# ------------------------------------------------------------ the coloured diagram


def test_the_coloured_svg_parses_and_colours_every_class() -> None:
    svg = guarantee_svg()
    root = ET.fromstring(svg.split("?>", 1)[1])
    assert root.tag.endswith("svg")
    fills = {r.get("fill") for r in root.iter("{http://www.w3.org/2000/svg}rect")}
    table = tractability_table()
    used = {GUARANTEE_COLOURS[g] for g in table.guarantees().values()}
    assert used <= fills and set(GUARANTEE_COLOURS.values()) <= fills  # nodes and key
    text = "".join(root.itertext())
    for row in table.rows:
        if any(row.acronym in str(n).split(" = ") for n in hasse_diagram().nodes):
            assert f"{row.acronym}: {row.guarantee}" in text


def test_colours_follow_the_strongest_member(halved: type[HalvedMarkovReward]) -> None:
    table = tractability_table()
    rows = {r.acronym: r for r in table.rows}
    rows["MR"] = replace(rows["MR"], guarantee="exact")
    from objspec.hasse.tractability import TractabilityTable

    patched = TractabilityTable(tuple(rows.values()), {})
    fills, labels = guarantee_colours(patched)
    node = next(n for n in fills if "MR" in str(n).split(" = "))
    assert fills[node] == GUARANTEE_COLOURS["exact"] and "MR: exact" in labels[node]


def test_the_matplotlib_drawing_has_a_legend(tmp_path: Path) -> None:
    matplotlib.use("Agg")
    path = tmp_path / "coloured.svg"
    fig = draw_guarantees(path)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == list(GUARANTEE_COLOURS)
    ET.parse(path)  # a well-formed SVG file
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_the_committed_figure_is_current() -> None:
    """docs/figures/optimisation-guarantees.svg is what the script draws today."""
    script = runpy.run_path(str(ROOT / "scripts" / "tractability_table.py"))
    committed = (ROOT / "docs" / "figures" / "optimisation-guarantees.svg").read_text()
    assert committed == script["figure"](), "rerun scripts/tractability_table.py --write"


def test_the_cli_optimises_it(halved: type[HalvedMarkovReward], tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from objspec.cli import main

    problem = {"environment": {"transitions": [[[0, 1], [0, 1]], [[0, 1], [0, 1]]],
                               "initial": [1, 0]},
               "specification": {"formalism": "HMR", "reward": [[1, 0], [0, 0]],
                                 "gamma": "1/2"}}
    path = tmp_path / "hmr.json"
    path.write_text(json.dumps(problem))
    assert main(["optimise", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["formalism"] == "HMR" and out["method"] == "halved test search"
    assert out["guarantee"] == "heuristic"
