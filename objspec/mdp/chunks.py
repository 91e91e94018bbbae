"""Batches of policies solved in chunks by worker threads.

A batch of ``N`` policies over a structure of ``E`` entries (a product, a reward-machine
product) is cut into chunks of about :data:`CHUNK_ENTRIES` ``/ E`` policies: the working
arrays of one chunk stay near the CPU caches, and the chunks are solved in parallel
threads (numpy and scipy's sparse kernels release the GIL). The chunking depends only on
``N`` and ``E``, never on the number of threads, so neither do the results.

Examples
--------
>>> import numpy as np
>>> in_chunks(5, 1, 2, lambda lo, hi: np.arange(lo, hi) * 2.0).tolist()
[0.0, 2.0, 4.0, 6.0, 8.0]
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from objspec.errors import ObjspecError

__all__ = ["CHUNK_ENTRIES", "MAX_DEFAULT_WORKERS", "in_chunks", "worker_count"]

#: Entries times policies per chunk of :func:`in_chunks`: chunks of this size keep the
#: working arrays of one chunk near the CPU caches.
CHUNK_ENTRIES = 1_500_000
#: Default number of worker threads (:func:`worker_count`).
MAX_DEFAULT_WORKERS = 8


def worker_count(workers: int | None) -> int:
    """The number of worker threads: ``workers`` (checked), or by default the number of
    CPUs this process may use, at most :data:`MAX_DEFAULT_WORKERS`.

    Raises
    ------
    ObjspecError
        If ``workers`` is not a positive integer.

    Examples
    --------
    >>> worker_count(3), 1 <= worker_count(None) <= MAX_DEFAULT_WORKERS
    (3, True)
    """
    if workers is None:
        try:
            available = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            available = os.cpu_count() or 1
        return max(1, min(available, MAX_DEFAULT_WORKERS))
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ObjspecError(f"workers must be a positive integer, got {workers!r}")
    return int(workers)


def in_chunks(
    n_items: int, entries_per_item: int, threads: int,
    solve: Callable[[int, int], np.ndarray],
) -> np.ndarray:
    """``solve(lo, hi)`` (the ``[hi - lo]`` results of items ``lo .. hi-1``) over chunks of
    about :data:`CHUNK_ENTRIES` ``/ entries_per_item`` items, concatenated (float64 ``[n]``).

    The chunks are solved by ``threads`` worker threads; they do not depend on ``threads``,
    so neither do the results, provided ``solve`` treats the items of a chunk independently.

    Examples
    --------
    >>> import numpy as np
    >>> in_chunks(3, 10, 1, lambda lo, hi: np.full(hi - lo, float(lo))).tolist()
    [0.0, 0.0, 0.0]
    """
    per_chunk = max(1, CHUNK_ENTRIES // max(1, entries_per_item))
    n_chunks = -(-n_items // per_chunk)
    bounds = np.linspace(0, n_items, n_chunks + 1).round().astype(int).tolist()
    spans = [(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True) if hi > lo]
    out = np.empty(n_items)

    def run(span: tuple[int, int]) -> None:
        out[span[0] : span[1]] = solve(*span)

    if threads == 1 or len(spans) <= 1:
        for span in spans:
            run(span)
    else:
        with ThreadPoolExecutor(max_workers=min(threads, len(spans))) as pool:
            list(pool.map(run, spans))
    return out
