"""A study's results folder: a Parquet dataset written as tasks finish, resumable.

The folder holds ``_study.json`` (the study and its fingerprint) and part files
``part-*.parquet``, one per flush, each with one row per task (the schema of
:mod:`objspec.studies.tasks`). Part files are written under a hidden name and renamed, so a
reader (``pandas.read_parquet(folder)``, which skips names starting with ``_`` or ``.``)
never sees half a file, and a run killed mid-write leaves no partial rows. Only the process
that drives the run writes; it keeps the set of task ids already written and drops any
second result for the same id, so a task that a scheduler ran twice (after a worker died)
has one row.

Examples
--------
>>> import tempfile
>>> from objspec.studies.definition import parse_study
>>> study = parse_study('sources = ["MR"]\\ntargets = ["MR"]\\ninstances = 1\\n'
...                     '[[environments]]\\ngenerator = "random_rational_mdp"\\nstates = 2')
>>> folder = tempfile.mkdtemp()
>>> store = ResultsStore(folder, study)
>>> store.add({"task_id": "x"}), store.add({"task_id": "x"})
(True, False)
>>> store.flush(); sorted(store.done)
['x']
>>> sorted(ResultsStore(folder, study).done)
['x']
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from objspec.errors import ForeignResultsError, StudyError
from objspec.studies.definition import Study
from objspec.studies.tasks import target_columns, task_columns

__all__ = ["FINGERPRINT_FILE", "ResultsStore", "read_results", "schema", "stored_study"]

#: The file in a results folder that ties it to one study.
FINGERPRINT_FILE = "_study.json"


def schema(study: Study) -> pa.Schema:
    """The Arrow schema of a study's rows."""
    types = {"string": pa.string(), "bool": pa.bool_(), "int64": pa.int64(),
             "float64": pa.float64()}
    columns = {**task_columns(), **target_columns(study.targets)}
    return pa.schema([(name, types[kind]) for name, kind in columns.items()])


def stored_study(folder: str | Path) -> dict[str, Any] | None:
    """The ``_study.json`` content of a results folder (None if it has none)."""
    path = Path(folder) / FINGERPRINT_FILE
    if not path.exists():
        return None
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError) as exc:
        raise StudyError(f"study: {str(path)!r} is unreadable: {exc}") from None


class ResultsStore:
    """Rows of one study, buffered and written to a results folder.

    Creating a store reads the folder (the fingerprint and the finished task ids) and
    writes nothing; :meth:`flush` creates the folder and the fingerprint on first use.

    Raises
    ------
    ForeignResultsError
        The folder holds results of another study.
    StudyError
        The folder is a file, or holds Parquet files but no ``_study.json``.
    """

    def __init__(self, folder: str | Path, study: Study) -> None:
        self.folder, self.study = Path(folder), study
        self.schema = schema(study)
        self.buffer: list[dict[str, Any]] = []
        self.done: set[str] = set()
        if self.folder.exists() and not self.folder.is_dir():
            raise StudyError(f"study: results folder {str(self.folder)!r} is a file")
        stored = stored_study(self.folder)
        parts = self._parts()
        if stored is None and parts:
            raise ForeignResultsError(
                f"study: {str(self.folder)!r} holds Parquet files but no {FINGERPRINT_FILE}; "
                "it is not a results folder of this study")
        if stored is not None and stored.get("fingerprint") != study.fingerprint():
            raise ForeignResultsError(
                f"study: {str(self.folder)!r} holds results of another study "
                f"({stored.get('study', {}).get('name', '?')!r}, fingerprint "
                f"{str(stored.get('fingerprint'))[:12]}); this study is {study.name!r} "
                f"({study.fingerprint()[:12]}); use another folder")
        for path in parts:
            ids = pq.read_table(path, columns=["task_id"]).column("task_id").to_pylist()
            self.done.update(ids)

    def _parts(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.glob("*.parquet") if not p.name.startswith("."))

    def add(self, row: dict[str, Any]) -> bool:
        """Buffer a row; False (and nothing buffered) if its task id was already added."""
        tid = row["task_id"]
        if tid in self.done:
            return False
        self.done.add(tid)
        self.buffer.append(row)
        return True

    def _open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob(".part-*"):  # a write interrupted before its rename
            stale.unlink()
        path = self.folder / FINGERPRINT_FILE
        if not path.exists():
            text = json.dumps({"fingerprint": self.study.fingerprint(),
                               "study": self.study.to_dict()}, indent=1, default=str)
            tmp = self.folder / f".{FINGERPRINT_FILE}.{uuid.uuid4().hex}"
            tmp.write_text(text)
            os.replace(tmp, path)

    def flush(self) -> None:
        """Write the buffered rows as one new part file (nothing if the buffer is empty)."""
        if not self.buffer:
            return
        self._open()
        rows = [{name: row.get(name) for name in self.schema.names} for row in self.buffer]
        table = pa.Table.from_pylist(rows, schema=self.schema)
        name = f"part-{len(self._parts()):06d}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = self.folder / f".{name}"
        pq.write_table(table, tmp)
        os.replace(tmp, self.folder / name)
        self.buffer.clear()


def read_results(folder: str | Path) -> Any:
    """The rows of a results folder as a pandas DataFrame, sorted by ``task_id``.

    Raises
    ------
    StudyError
        The folder has no ``_study.json`` or no rows, or a task id appears twice.
    """
    if stored_study(folder) is None:
        raise StudyError(f"study: {str(folder)!r} is not a results folder (no "
                         f"{FINGERPRINT_FILE})")
    parts = sorted(p for p in Path(folder).glob("*.parquet") if not p.name.startswith("."))
    if not parts:
        raise StudyError(f"study: {str(folder)!r} holds no results yet")
    # the part files only (what pandas.read_parquet(folder) reads when nothing else is there)
    df = pa.concat_tables([pq.read_table(p) for p in parts]).to_pandas()
    dup = df["task_id"][df["task_id"].duplicated()]
    if len(dup):
        raise StudyError(f"study: task {dup.iloc[0]!r} has more than one row in "
                         f"{str(folder)!r}")
    return df.sort_values("task_id", kind="stable").reset_index(drop=True)
