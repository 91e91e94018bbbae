"""Every notebook in notebooks/ runs clean, and its outputs show diagrams and tables.

The notebooks are executed with nbclient in a kernel that runs *this* interpreter: a
temporary kernelspec pointing at ``sys.executable`` is put first on ``JUPYTER_PATH``, so the
test does not depend on which kernelspecs happen to be installed (nor installs one).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
KERNEL = "objspec-test-python"


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("jupyter")
    spec_dir = root / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "objspec tests",
        "language": "python",
    }))
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join([str(root), *([old] if old else [])])
    yield KERNEL
    if old is None:
        os.environ.pop("JUPYTER_PATH", None)
    else:
        os.environ["JUPYTER_PATH"] = old


def _run(path: Path, kernel: str) -> object:
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=180, kernel_name=kernel,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    return notebook


def _outputs(notebook: object) -> list[dict]:
    return [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]


def test_the_notebooks_are_the_documented_ones() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01_tour.ipynb", "02_ltl_and_reward_machines.ipynb", "03_proof_checking.ipynb",
        "04_optimisation.ipynb", "05_pareto_fronts.ipynb", "06_studies.ipynb",
        "07_learning.ipynb",
    ]


def test_notebooks_are_committed_without_outputs() -> None:
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), path


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_clean_and_renders(path: Path, kernel_name: str) -> None:
    notebook = _run(path, kernel_name)
    outputs = _outputs(notebook)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    svgs = [o["data"]["image/svg+xml"] for o in outputs if "image/svg+xml" in o.get("data", {})]
    tables = [o["data"]["text/html"] for o in outputs
              if "<table" in o.get("data", {}).get("text/html", "")]
    assert svgs and all("<svg" in s and "</svg>" in s for s in svgs), "no diagram rendered"
    assert tables, "no table rendered"
    streams = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    if path.stem == "01_tour":
        assert len(svgs) >= 4  # environment, policy chain, task, witness env, Hasse diagram
        assert "Motzkin multipliers verified exactly" in streams
    if path.stem == "02_ltl_and_reward_machines":
        pytest.importorskip("stormpy")
        line = next(ln for ln in streams.splitlines() if ln.startswith("Storm:"))
        storm, ours = float(line.split()[1]), float(line.split()[3])
        assert abs(storm - ours) <= 1e-6 * max(1.0, abs(ours)) + 1e-9
    if path.stem == "06_studies":
        assert "no instance contradicts the theory" in streams
        assert "skipped=0, ran=" in streams and "again: RunSummary(total=" in streams
    if path.stem == "07_learning":
        assert "cannot hold for any Markov reward" in streams or (
            "cannot all hold for any Markov reward" in streams)
        assert "'MR': False" in streams and "'FPR': True" in streams
    if path.stem == "03_proof_checking":
        assert "CertificateError:" in streams and "NotExpressibleError:" in streams
    if path.stem == "04_optimisation":
        assert any("MR: " in s for s in svgs)  # the diagram coloured by guarantee
        pmax = float(streams.split("Pmax (finite memory):")[1].split()[0])
        stationary = float(streams.split("stationary optimum:")[1].split()[0])
        assert abs(pmax - 0.5) < 1e-6 and stationary <= 1 / 3 + 1e-6
