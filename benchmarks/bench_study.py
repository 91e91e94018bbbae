"""Benchmark of study throughput (objspec.studies): serial loop, 1 and 2 Dask workers.

Run as ``python benchmarks/bench_study.py`` (``--quick`` for fewer tasks). Not a test.

Study: ``examples/studies/quick.toml`` with ``--instances`` environments per source (default
10). The same tasks run three ways: a serial loop in this process (``workers=0``), and on a
``LocalCluster`` of 1 and of 2 worker processes that is started beforehand (its start-up is
timed separately; the runs join it by address, as ``--scheduler`` does). Each run writes to
a fresh results folder, so the times include writing Parquet. Before each timed run the
process or the workers run a one-instance warm-up study with another seed (imports and the
per-process caches of the verdicts and witnesses: a one-off cost per worker).

Wall times depend on what else the machine runs, so CPU times are measured too
(``time.process_time`` in this process, on the scheduler with ``run_on_scheduler`` and on
the workers with ``Client.run``): the CPU seconds per task of a worker, of the scheduler
and of this process (the driver: it collects the rows and writes Parquet; a
``LocalCluster`` runs its scheduler in this process too, so the two are one number, which
also holds the scheduler's and the nannies' periodic work). Per-task scheduler overhead:
the same for 1,000 no-op tasks mapped through the 2-worker cluster
(``Client.map``/``as_completed``, as the study runner does). Projection for ``W`` workers,
each as fast as one here: ``min(W / worker_cpu, 1 / scheduler_driver_cpu)`` tasks per
second with one task id per Dask task, and the same with ``batch=8``.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from objspec.studies import load_study, run_study

ROOT = Path(__file__).resolve().parents[1]


def _noop(x: int) -> int:
    return x


def _cpu(client) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """CPU seconds so far: workers (summed), scheduler, this process."""
    workers = sum(client.run(time.process_time).values())
    return workers, client.run_on_scheduler(time.process_time), time.process_time()


def _run(study, scheduler: str | None, workers: int | None,  # type: ignore[no-untyped-def]
         batch: int = 1) -> float:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        summary = run_study(study, folder, scheduler=scheduler, workers=workers,
                            progress=False, batch=batch)
        seconds = time.perf_counter() - start
        assert summary.errors == 0 and summary.ran == len(study.task_ids())
    return seconds


def _warm(study, scheduler: str | None, workers: int | None) -> None:  # type: ignore[no-untyped-def]
    """A one-instance study with another seed (imports, per-process caches), untimed."""
    _run(replace(study, instances=1, seed=study.seed + 1), scheduler, workers)


def _noop_cpu(client, n: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Wall and scheduler CPU seconds per no-op task."""
    from distributed import as_completed

    before = _cpu(client)
    start = time.perf_counter()
    futures = client.map(_noop, range(n), key=[f"noop-{k}-{time.time_ns()}" for k in range(n)])
    for f in as_completed(futures, loop=client.loop):
        f.result()
    wall = (time.perf_counter() - start) / n
    return wall, (_cpu(client)[1] - before[1]) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 instances per source")
    parser.add_argument("--instances", type=int, default=10)
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    study = load_study(ROOT / "examples" / "studies" / "quick.toml")
    study = replace(study, instances=3 if args.quick else args.instances)
    n = len(study.task_ids())
    _warm(study, None, 0)
    cpu0 = time.process_time()
    serial = _run(study, None, 0)
    serial_cpu = (time.process_time() - cpu0) / n
    rows = [("serial loop (this process)", serial, "-", f"{1000 * serial_cpu:.0f}", "-", "-")]
    for workers in (1, 2):
        start = time.perf_counter()
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=":0", silence_logs=logging.CRITICAL) as cluster, \
                Client(cluster, set_as_default=False) as client:
            startup = time.perf_counter() - start
            _warm(study, cluster.scheduler_address, None)
            before = _cpu(client)
            seconds = _run(study, cluster.scheduler_address, None)
            w, sch, drv = (b - a for a, b in zip(before, _cpu(client), strict=True))
            rows.append((f"LocalCluster, {workers} worker process{'es' * (workers > 1)}",
                         seconds, f"{startup:.1f} s", f"{1000 * w / n:.0f}",
                         f"{1000 * sch / n:.1f}", f"{1000 * drv / n:.1f}"))
            if workers == 2:
                before8 = _cpu(client)
                seconds = _run(study, cluster.scheduler_address, None, batch=8)
                w8, sch8, _ = (b - a for a, b in zip(before8, _cpu(client), strict=True))
                rows.append(("LocalCluster, 2 worker processes, batch 8", seconds, "-",
                             f"{1000 * w8 / n:.0f}", f"{1000 * sch8 / n:.1f}",
                             f"{1000 * sch8 / n:.1f}"))
                _noop_cpu(client, 50)  # warm-up
                noop_wall, noop_sched = _noop_cpu(client, 1000)
                worker_cpu, sched_cpu, sched8_cpu = w / n, sch / n, sch8 / n
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"study: {n} tasks ({study.name}, {study.instances} instances per source), "
          f"{len(study.targets)} targets; {os.cpu_count()} cores, load average {load:.1f}\n")
    print("| run | wall time | tasks/s | cluster start | worker CPU ms/task | "
          "scheduler + driver CPU ms/task |")
    print("|---|---|---|---|---|---|")
    for name, seconds, startup, wc, sc, _ in rows:
        print(f"| {name} | {seconds:.1f} s | {n / seconds:.1f} | {startup} | {wc} | {sc} |")
    print(f"\nno-op tasks through the 2-worker cluster: {1000 * noop_wall:.2f} ms wall and "
          f"{1000 * noop_sched:.2f} ms scheduler CPU per task")
    print("\n| workers | projected tasks/s, batch 1 | projected tasks/s, batch 8 |")
    print("|---|---|---|")
    for wn in (1, 2, 10, 100):
        cells = []
        for overhead in (sched_cpu, sched8_cpu):
            bounds = {"workers": wn / worker_cpu, "scheduler + driver": 1 / overhead}
            which = min(bounds, key=bounds.__getitem__)
            cells.append(f"{bounds[which]:.0f} (bound by {which})")
        print(f"| {wn} | {cells[0]} | {cells[1]} |")

if __name__ == "__main__":
    main()
