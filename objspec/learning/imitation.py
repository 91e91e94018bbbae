"""Importing pairwise preferences collected with the ``imitation`` library.

``imitation`` (the HumanCompatibleAI library; optional, not a dependency of objspec)
stores preference comparisons as a ``PreferenceDataset``: lists ``fragments1`` and
``fragments2`` of trajectory fragments and an array ``preferences`` where
``preferences[k]`` is the probability that ``fragments1[k]`` is preferred to
``fragments2[k]``. A fragment is an ``imitation.data.types.Trajectory``: ``obs`` (one more
observation than actions), ``acts``, ``infos`` and ``terminal``.

:func:`from_imitation` turns such data, on a tabular environment (observations are integer
states), into trajectory :class:`~objspec.learning.Comparisons`, so that a dataset collected
there can be diagnosed here (``fit``, ``profile``). Objects are read by duck typing (their
attributes), so ``imitation`` need not be installed; objects are used in memory only.
**Files are never unpickled**: ``imitation`` saves datasets with pickle, and unpickling runs
arbitrary code; load a file you trust with ``imitation`` itself, then pass the object.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from objspec.errors import InvalidSpecificationError
from objspec.formalisms.fitting import Comparisons, Trajectory

__all__ = ["from_imitation"]


def _trajectory(fragment: Any, where: str) -> Trajectory:
    obs = getattr(fragment, "obs", None)
    acts = getattr(fragment, "acts", None)
    if obs is None or acts is None:
        raise InvalidSpecificationError(
            f"{where}: expected a trajectory with 'obs' and 'acts' (imitation's Trajectory), "
            f"got {type(fragment).__name__}")
    out = []
    for name, arr in (("obs", obs), ("acts", acts)):
        a = np.asarray(arr)
        if a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim != 1:
            raise InvalidSpecificationError(
                f"{where}: {name} has shape {a.shape}; a tabular environment observes "
                "integer states and takes integer actions (one number per step)")
        vals = []
        for t, x in enumerate(a.tolist()):
            if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(
                    float(x)) or float(x) != int(x) or x < 0:
                raise InvalidSpecificationError(
                    f"{where}: {name}[{t}] = {x!r} is not a state or action index")
            vals.append(int(x))
        out.append(tuple(vals))
    states, actions = out
    if len(states) != len(actions) + 1:
        raise InvalidSpecificationError(
            f"{where}: {len(states)} observations for {len(actions)} actions (imitation's "
            "trajectories have one more observation than actions)")
    return Trajectory(states, actions)


def from_imitation(
    dataset_or_pairs: Any,
    preferences: Sequence[float] | np.ndarray | None = None,
    *,
    threshold: float = 0.0,
) -> Comparisons:
    """Trajectory comparisons from ``imitation``'s pairwise preferences (module docstring).

    Parameters
    ----------
    dataset_or_pairs : PreferenceDataset or sequence of (fragment1, fragment2)
        A ``PreferenceDataset`` (anything with ``fragments1``, ``fragments2`` and
        ``preferences``), or a sequence of ``TrajectoryPair`` tuples. Used in memory only;
        never pass a file (objspec does not unpickle: pickle runs code).
    preferences : sequence of float, optional
        With pairs: ``preferences[k]`` in ``[0, 1]``, the probability that the first fragment
        of pair ``k`` is preferred. Not allowed with a dataset (it has its own).
    threshold : float
        Preferences within ``threshold`` of 0.5 are ties (``=``); above, ``first > second``;
        below, ``second > first``. The default 0 reads only exactly 0.5 as a tie.

    Returns
    -------
    Comparisons
        Over trajectories (identical fragments are one item), rows in the dataset's order.

    Raises
    ------
    InvalidSpecificationError
        On an empty dataset, mismatched lengths, a preference outside ``[0, 1]`` or NaN,
        a fragment whose observations are not integer states (naming the pair), or a file
        path instead of objects.

    Examples
    --------
    >>> from types import SimpleNamespace as Fragment
    >>> a = Fragment(obs=[0, 1, 1], acts=[1, 0], infos=None, terminal=True)
    >>> b = Fragment(obs=[0, 0, 0], acts=[0, 0], infos=None, terminal=True)
    >>> data = from_imitation([(a, b), (b, a)], [0.9, 0.5])
    >>> [str(c) for c in data.comparisons], data.trajectories[0].states
    (['0 > 1', '1 = 0'], (0, 1, 1))
    """
    if isinstance(dataset_or_pairs, str | bytes) or hasattr(dataset_or_pairs, "read_bytes"):
        raise InvalidSpecificationError(
            "from_imitation reads objects in memory, never files: load the dataset with "
            "imitation (which unpickles it: only for files you trust) and pass the object")
    if not 0.0 <= float(threshold) < 0.5:
        raise InvalidSpecificationError(f"from_imitation: threshold={threshold!r} must be in "
                                        "[0, 0.5)")
    if hasattr(dataset_or_pairs, "fragments1") and hasattr(dataset_or_pairs, "fragments2"):
        if preferences is not None:
            raise InvalidSpecificationError(
                "from_imitation: a PreferenceDataset carries its preferences; do not pass "
                "preferences=")
        first = list(dataset_or_pairs.fragments1)
        second = list(dataset_or_pairs.fragments2)
        prefs = getattr(dataset_or_pairs, "preferences", None)
        if prefs is None:
            raise InvalidSpecificationError("from_imitation: the dataset has no preferences")
    else:
        try:
            pairs = list(dataset_or_pairs)
        except TypeError:
            raise InvalidSpecificationError(
                f"from_imitation: expected a PreferenceDataset or a sequence of fragment "
                f"pairs, got {type(dataset_or_pairs).__name__}") from None
        if preferences is None:
            raise InvalidSpecificationError(
                "from_imitation: pass preferences= (one probability per pair)")
        first, second = [], []
        for k, pair in enumerate(pairs):
            try:
                f1, f2 = pair
            except (TypeError, ValueError):
                raise InvalidSpecificationError(
                    f"from_imitation: pair {k} is not (fragment1, fragment2)") from None
            first.append(f1)
            second.append(f2)
        prefs = preferences
    p = np.asarray(prefs, dtype=float).ravel()
    if not len(first):
        raise InvalidSpecificationError("from_imitation: the data is empty (no pairs)")
    if not (len(first) == len(second) == p.size):
        raise InvalidSpecificationError(
            f"from_imitation: {len(first)} first fragments, {len(second)} second fragments and "
            f"{p.size} preferences; they must match")
    index: dict[Trajectory, int] = {}
    items: list[Trajectory] = []
    rows: list[tuple[int, int, str]] = []

    def item(fragment: Any, where: str) -> int:
        tr = _trajectory(fragment, where)
        if tr not in index:
            index[tr] = len(items)
            items.append(tr)
        return index[tr]

    for k, (f1, f2, q) in enumerate(zip(first, second, p, strict=True)):
        if not (0.0 <= q <= 1.0):  # NaN fails too
            raise InvalidSpecificationError(
                f"from_imitation: preference {k} is {q}, not a probability in [0, 1]")
        i = item(f1, f"from_imitation: pair {k}, fragment 1")
        j = item(f2, f"from_imitation: pair {k}, fragment 2")
        rel = "=" if abs(q - 0.5) <= threshold else (">" if q > 0.5 else "<")
        rows.append((i, j, rel))
    return Comparisons(trajectories=items, pairs=rows)
