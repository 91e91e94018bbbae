"""Running a study: serially, on a local Dask cluster, or on any Dask cluster by address.

:func:`run_study` submits the tasks not yet in the results folder to a
``dask.distributed`` scheduler (an embedded ``LocalCluster`` of worker processes, one per
core, unless an address is given), and writes each row as its task finishes
(:class:`~objspec.studies.results.ResultsStore`, flushed every ``flush_seconds``). Dask
reschedules a task whose worker dies; the store keeps one row per task id whatever happens.
A task whose future fails (e.g. its workers kept dying) is written as a row with its error.

Examples
--------
>>> import tempfile
>>> from objspec.studies.definition import parse_study
>>> study = parse_study('sources = ["MR"]\\ntargets = ["MR"]\\ninstances = 2\\n'
...                     '[[environments]]\\ngenerator = "random_rational_mdp"\\nstates = 2')
>>> folder = tempfile.mkdtemp()
>>> run_study(study, folder, workers=0, progress=False)
RunSummary(total=2, skipped=0, ran=2, errors=0, seconds=...)
>>> run_study(study, folder, workers=0, progress=False).skipped
2
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from objspec.errors import SchedulerUnreachableError, StudyError
from objspec.studies.definition import Study
from objspec.studies.results import ResultsStore
from objspec.studies.tasks import run_task

__all__ = ["RunSummary", "run_study"]


@dataclass(frozen=True)
class RunSummary:
    """What one :func:`run_study` call did.

    Attributes
    ----------
    total : int
        Tasks in the study.
    skipped : int
        Tasks already in the results folder (resume).
    ran : int
        Rows written by this call.
    errors : int
        Of those, rows with an ``error``.
    seconds : float
        Wall time, including starting and stopping the cluster.
    """

    total: int
    skipped: int
    ran: int
    errors: int
    seconds: float = field(repr=False)

    def __repr__(self) -> str:
        return (f"RunSummary(total={self.total}, skipped={self.skipped}, ran={self.ran}, "
                f"errors={self.errors}, seconds=...)")


def _progress(total: int, initial: int, enabled: bool | None) -> Any:
    from tqdm import tqdm

    show = sys.stderr.isatty() if enabled is None else enabled
    return tqdm(total=total, initial=initial, unit="task", desc="study", file=sys.stderr,
                disable=not show, smoothing=0.1)


@contextmanager
def _client(workers: int | None, scheduler: str | None, timeout: float) -> Iterator[Any]:
    """A distributed Client: connected to ``scheduler``, or to a new LocalCluster."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise SchedulerUnreachableError(
                f"study: no Dask scheduler answered at {scheduler!r} within {timeout:g} s "
                f"({type(exc).__name__}: {exc}); nothing was written") from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers if workers is not None else (os.cpu_count() or 1)
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=logging.CRITICAL)
    client = Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _tasks(task_ids: list[str], study: Study) -> list[dict[str, Any]]:
    """:func:`run_task` of a batch (``Client.map`` maps the first argument)."""
    return [run_task(study, t) for t in task_ids]


def _failed_rows(task_ids: list[str], exc: BaseException) -> list[dict[str, Any]]:
    return [{"task_id": t, "error": f"{type(exc).__name__}: {exc} (scheduler)"}
            for t in task_ids]


def run_study(
    study: Study,
    results: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    timeout: float = 10.0,
    progress: bool | None = None,
    flush_seconds: float = 2.0,
    batch: int = 1,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> RunSummary:
    """Run the tasks of ``study`` not yet in ``results`` and write their rows there.

    Parameters
    ----------
    study : Study
    results : path
        The results folder (created on the first row; resumed if it holds this study).
    workers : int, optional
        Worker processes of the local cluster (default: one per core); ``0`` runs the tasks
        in this process, one after the other, without Dask.
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:port``) to use instead.
    timeout : float
        Seconds to wait for that scheduler.
    progress : bool, optional
        Show a tqdm bar (tasks, tasks/s, ETA) on stderr; default: when stderr is a terminal.
    flush_seconds : float
        Write buffered rows at least this often.
    batch : int
        Task ids per Dask task (consecutive ids; the rows are the same). Larger batches
        divide the scheduler's per-task overhead, which bounds a large cluster's throughput
        (docs/studies.md#throughput); a batch whose worker dies is rerun whole.
    on_row : callable, optional
        Called with each row as it is written (after the task finished).

    Returns
    -------
    RunSummary

    Raises
    ------
    ForeignResultsError
        ``results`` holds another study's results (nothing is written).
    SchedulerUnreachableError
        ``scheduler`` did not answer within ``timeout`` (nothing is written).
    StudyError
        ``workers`` is negative, or given together with ``scheduler``, or ``batch < 1``.
    """
    start = time.perf_counter()
    if workers is not None and workers < 0:
        raise StudyError(f"study: workers = {workers} must be >= 0")
    if workers is not None and scheduler is not None:
        raise StudyError("study: give workers or scheduler, not both")
    if batch < 1:
        raise StudyError(f"study: batch = {batch} must be >= 1")
    store = ResultsStore(results, study)
    all_ids = study.task_ids()
    pending = [t for t in all_ids if t not in store.done]
    skipped = len(all_ids) - len(pending)
    ran = errors = 0
    bar = _progress(len(all_ids), skipped, progress)
    last = time.monotonic()

    def record(row: dict[str, Any]) -> None:
        nonlocal ran, errors, last
        if not store.add(row):
            return
        ran += 1
        errors += row.get("error") is not None
        bar.update(1)
        if on_row is not None:
            on_row(row)
        if time.monotonic() - last >= flush_seconds:
            store.flush()
            last = time.monotonic()

    try:
        if not pending:
            pass
        elif workers == 0:
            for tid in pending:
                record(run_task(study, tid))
        else:
            _distributed(study, pending, workers, scheduler, timeout, batch, record)
    finally:
        store.flush()
        bar.close()
    return RunSummary(len(all_ids), skipped, ran, errors, time.perf_counter() - start)


def _distributed(study: Study, pending: list[str], workers: int | None,
                 scheduler: str | None, timeout: float, batch: int,
                 record: Callable[[dict[str, Any]], None]) -> None:
    from distributed import as_completed

    with _client(workers, scheduler, timeout) as client:
        tag = study.fingerprint()[:12]
        # sent to every worker once, instead of pickled into every task
        [shared] = client.scatter([study], broadcast=True, hash=False)
        chunks = [pending[k:k + batch] for k in range(0, len(pending), batch)]
        futures = client.map(_tasks, chunks, study=shared,
                             key=[f"objspec-study-{tag}-{c[0]}-{len(c)}" for c in chunks])
        chunk_of = {f.key: c for f, c in zip(futures, chunks, strict=True)}
        for future in as_completed(futures, loop=client.loop):
            try:
                rows = future.result()
            except Exception as exc:  # e.g. KilledWorker: recorded with its error
                rows = _failed_rows(chunk_of[future.key], exc)
            for row in rows:
                record(row)
            future.release()
