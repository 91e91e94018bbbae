"""Comparisons as tables: the format of CSV and Parquet files, DataFrames and arrays.

A table of comparisons has one row per comparison and three columns:

``first``, ``second``
    The two items compared. Either integer indices into a separate list of policies (or
    trajectories), or the items themselves written in the cells:

    * a deterministic policy as its action in each state, separated by spaces:
      ``"0 1 1 0"`` (state 0 plays action 0, state 1 action 1, ...);
    * a stochastic policy as JSON nested lists ``[S][A]``: ``"[[0.5, 0.5], [1, 0]]"``;
    * a trajectory ``s_0 a_0 s_1 a_1 ... s_T`` as integers separated by spaces (an odd
      number of them; an even number is a trajectory without its last state).

    Equal cells name the same item. In Parquet files a cell may also be a list (or a list
    of lists) instead of text.
``relation``
    ``>`` (``first`` strictly preferred), ``<``, ``=`` (also ``==``, ``~``), the numbers
    ``1``, ``-1``, ``0`` (the sign of ``first - second``), or ``optimal``: ``first`` is a
    demonstration (optimal among stationary policies) and ``second`` is left empty.

Other columns are ignored. The separate policies are a JSON file holding a list of
``[S][A]`` arrays (or an object whose ``"policies"`` entry is that list), a ``.npy`` file
of shape ``[N, S, A]``, or any sequence in memory. Text is parsed by ``int`` and
:func:`json.loads` only, never evaluated as code. A malformed cell raises an error naming
the row (counted from 0; for CSV files also the line) and the column. Items written in the
cells are numbered in the order they first appear (items compared nowhere are not written).

Examples
--------
>>> rows = [{"first": "0 1", "second": "1 1", "relation": ">"},
...         {"first": "1 1", "second": "[[0.5, 0.5], [0, 1]]", "relation": "="}]
>>> table = read_records(rows)
>>> table.pairs, table.items[2].probabilities.tolist()
([(0, 1, '>'), (1, 2, '=')], [[0.5, 0.5], [0.0, 1.0]])
>>> read_records([{"first": 0, "second": 1, "relation": "?"}],
...              policies=[[[1.0]], [[1.0]]])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
objspec.errors.InvalidSpecificationError: row 0, column 'relation': unknown relation '?' ...
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from objspec.errors import InvalidPolicyError, InvalidSpecificationError, ObjspecError
from objspec.mdp.policy import Policy

if TYPE_CHECKING:
    from objspec.formalisms.fitting import Comparisons, Trajectory

__all__ = [
    "COLUMNS",
    "ComparisonTable",
    "write_policies",
    "read_records",
    "frame_records",
    "comparisons_to_records",
    "load_items",
    "policy_text",
    "trajectory_text",
    "read_csv_records",
]

#: The columns every comparison table has.
COLUMNS: tuple[str, ...] = ("first", "second", "relation")

_RELATION_TEXT = {">": ">", "<": "<", "=": "=", "==": "=", "~": "=", "1": ">", "+1": ">",
                  "-1": "<", "0": "=", "optimal": "optimal"}


def _missing(x: Any) -> bool:
    if x is None:
        return True
    if isinstance(x, str):
        return x.strip().lower() in ("", "nan")
    if isinstance(x, float | np.floating):
        return math.isnan(float(x))
    try:
        import pandas as pd

        return bool(pd.isna(x)) if np.ndim(x) == 0 else False
    except ImportError:  # pragma: no cover - pandas is optional
        return False


def _integer_cell(x: Any, where: str) -> int | None:
    """The integer in a cell, or None when the cell is not a single integer."""
    if isinstance(x, bool | np.bool_):
        return None
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        f = float(x)
        if not math.isfinite(f):
            raise InvalidSpecificationError(f"{where}: {x!r} is not finite")
        return int(f) if f == int(f) else None
    if isinstance(x, str):
        t = x.strip()
        if t.lstrip("+-").isdigit():
            return int(t)
    return None


def _nested(cell: Any, where: str) -> Any:
    """A list (or nested lists) from a list/array cell or JSON text."""
    if isinstance(cell, str):
        try:
            return json.loads(cell)
        except (json.JSONDecodeError, RecursionError, ValueError) as exc:
            raise InvalidSpecificationError(f"{where}: {cell!r} is not JSON ({exc})") from None
    if isinstance(cell, np.ndarray):
        if cell.dtype == object:
            return [_nested(x, where) if isinstance(x, np.ndarray) else x for x in cell]
        return cell.tolist()
    return list(cell)


def _integers(text: str, where: str) -> tuple[int, ...]:
    out = []
    for tok in text.replace(",", " ").split():
        v = _integer_cell(tok, where)
        if v is None:
            raise InvalidSpecificationError(
                f"{where}: {tok!r} in {text!r} is not an integer (a deterministic policy or a "
                "trajectory is integers separated by spaces; a stochastic policy is JSON)")
        if v < 0:
            raise InvalidSpecificationError(f"{where}: {v} in {text!r} is negative")
        out.append(v)
    if not out:
        raise InvalidSpecificationError(f"{where}: empty cell")
    return tuple(out)


def _cell_key(cell: Any, where: str, trajectories: bool) -> tuple[str, Any]:
    """A hashable description of an inline item: ``("actions", ints)``, ``("matrix", rows)``
    or ``("trajectory", ints)``."""
    if isinstance(cell, str) and not cell.strip().startswith("["):
        ints = _integers(cell, where)
        return ("trajectory" if trajectories else "actions", ints)
    nested = _nested(cell, where)
    if not isinstance(nested, list) or not nested:
        raise InvalidSpecificationError(
            f"{where}: expected a policy or trajectory, got {cell!r}")
    if all(not isinstance(x, list) for x in nested):
        flat: list[int] = []
        for x in nested:
            v = _integer_cell(x, where)
            if v is None or v < 0:
                raise InvalidSpecificationError(
                    f"{where}: {x!r} is not a non-negative integer (in {cell!r})")
            flat.append(v)
        return ("trajectory" if trajectories else "actions", tuple(flat))
    if trajectories:
        raise InvalidSpecificationError(
            f"{where}: a trajectory is a flat list s0 a0 s1 a1 ... sT, got nested lists")
    rows = []
    for r in nested:
        if not isinstance(r, list):
            raise InvalidSpecificationError(
                f"{where}: a stochastic policy is a list of [A] rows, got {cell!r}")
        row = []
        for x in r:
            if isinstance(x, bool) or not isinstance(x, int | float):
                raise InvalidSpecificationError(f"{where}: {x!r} is not a probability")
            if not math.isfinite(float(x)):
                raise InvalidSpecificationError(f"{where}: {x!r} is not finite")
            row.append(float(x))
        rows.append(tuple(row))
    return ("matrix", tuple(rows))


def _trajectory_of(ints: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(states, actions)`` of ``s0 a0 s1 a1 ... sT``."""
    return tuple(ints[0::2]), tuple(ints[1::2])


@dataclass(frozen=True)
class ComparisonTable:
    """A comparison table read: the items (policies, or ``(states, actions)`` trajectories),
    the pairs ``(i, j, relation)`` and the demonstrations, for ``Comparisons``."""

    trajectories: bool
    items: list[Any]
    pairs: list[tuple[int, int, str]]
    demonstrations: list[int]


def load_items(source: Any, what: str = "policies") -> list[Any]:
    """The policies (or trajectories) a table's indices point into.

    ``source`` is a sequence in memory, an ``[N, S, A]`` array, or a path: a JSON file
    holding a list (or an object with a ``"policies"``/``"trajectories"`` entry), or a
    ``.npy`` file (read with ``allow_pickle=False``).

    Raises
    ------
    ObjspecError
        If the file cannot be read or holds no list.
    """
    if isinstance(source, str | Path):
        path = Path(source)
        try:
            if path.suffix.lower() == ".npy":
                return list(np.load(path, allow_pickle=False))
            raw = json.loads(path.read_text())
        except OSError as exc:
            raise ObjspecError(f"cannot read {what} from {path}: {exc.strerror or exc}"
                               ) from None
        except (ValueError, RecursionError) as exc:
            raise ObjspecError(f"{path}: not a JSON (or .npy) file of {what}: {exc}") from None
        if isinstance(raw, dict):
            key = next((k for k in ("policies", "trajectories") if k in raw), None)
            if key is None:
                raise ObjspecError(f"{path}: expected a list of {what} or an object with a "
                                   f"'{what}' entry")
            raw = raw[key]
        if not isinstance(raw, list):
            raise ObjspecError(f"{path}: expected a list of {what}")
        return raw
    if isinstance(source, np.ndarray):
        return list(source)
    return list(source)


def read_records(
    records: Iterable[Mapping[str, Any]],
    *,
    policies: Any = None,
    trajectories: Any = None,
    n_actions: int | None = None,
    line_offset: int | None = None,
) -> ComparisonTable:
    """A comparison table from rows (mappings with the :data:`COLUMNS`), in the module's
    format; ``Comparisons`` is built from it.

    Parameters
    ----------
    records : iterable of mappings
        One per comparison.
    policies : sequence or path, optional
        The policies that integer cells index (:func:`load_items`).
    trajectories : sequence, path or True, optional
        The trajectories that integer cells index, or ``True``: the cells are trajectories
        (``"s0 a0 s1 ... sT"``).
    n_actions : int, optional
        The number of actions of inline deterministic policies (default: one more than the
        largest action in the table).
    line_offset : int, optional
        For files: the line of row 0 (named in errors).

    Raises
    ------
    InvalidSpecificationError
        On a missing column, an empty table, a missing (NaN) or malformed cell, an unknown
        relation, an index with no item: naming the row and the column.
    InvalidPolicyError
        On a policy that is not a distribution per state (naming the row and column).
    """
    if policies is not None and trajectories is not None:
        raise InvalidSpecificationError("comparison table: give policies= or trajectories=, "
                                        "not both")
    indexed = policies if policies is not None else (
        trajectories if trajectories is not None and trajectories is not True else None)
    items_given = None if indexed is None else load_items(
        indexed, "policies" if policies is not None else "trajectories")
    traj = trajectories is not None
    rows = list(records)
    if not rows:
        raise InvalidSpecificationError("comparison table: the data is empty (no rows)")
    missing_cols = [c for c in COLUMNS if c not in rows[0]]
    if missing_cols:
        raise InvalidSpecificationError(
            f"comparison table: missing column {missing_cols[0]!r} (the columns are "
            f"{', '.join(COLUMNS)}; found {', '.join(map(str, rows[0])) or 'none'})")

    def where(k: int, col: str) -> str:
        line = f" (line {line_offset + k})" if line_offset is not None else ""
        return f"row {k}{line}, column {col!r}"

    keys: dict[Any, int] = {}
    inline: list[tuple[str, Any, str]] = []
    pairs: list[tuple[int, int, str]] = []
    demos: list[int] = []

    def item(k: int, col: str, cell: Any) -> int:
        w = where(k, col)
        if _missing(cell):
            raise InvalidSpecificationError(f"{w}: missing value (empty or NaN)")
        if items_given is not None:
            v = _integer_cell(cell, w)
            if v is None:
                raise InvalidSpecificationError(
                    f"{w}: {cell!r} is not an index into the {len(items_given)} "
                    f"{'trajectories' if traj else 'policies'} given")
            if not 0 <= v < len(items_given):
                raise InvalidSpecificationError(
                    f"{w}: index {v} does not exist (there are {len(items_given)} "
                    f"{'trajectories' if traj else 'policies'})")
            return v
        key = _cell_key(cell, w, traj)
        if key not in keys:
            keys[key] = len(inline)
            inline.append((key[0], key[1], w))
        return keys[key]

    for k, row in enumerate(rows):
        rel_cell = row.get("relation")
        if _missing(rel_cell):
            raise InvalidSpecificationError(f"{where(k, 'relation')}: missing value (empty or "
                                            "NaN)")
        rel_text = str(int(rel_cell)) if isinstance(rel_cell, int | np.integer | float) and (
            math.isfinite(float(rel_cell)) and float(rel_cell) == int(rel_cell)) else str(
            rel_cell).strip()
        rel = _RELATION_TEXT.get(rel_text.lower())
        if rel is None:
            raise InvalidSpecificationError(
                f"{where(k, 'relation')}: unknown relation {rel_cell!r} (use '>', '<', '=', "
                "1, -1, 0 or 'optimal')")
        i = item(k, "first", row.get("first"))
        if rel == "optimal":
            if not _missing(row.get("second")):
                raise InvalidSpecificationError(
                    f"{where(k, 'second')}: an 'optimal' row names one item; leave second "
                    "empty")
            demos.append(i)
            continue
        j = item(k, "second", row.get("second"))
        pairs.append((i, j, rel))
    if items_given is not None:
        items = items_given
    elif traj:
        items = [_trajectory_of(v) for _, v, _ in inline]
    else:
        A = n_actions
        if A is None:
            A = 1 + max((max(v) for kind, v, _ in inline if kind == "actions"), default=0)
        items = []
        for kind, v, w in inline:
            if kind == "actions":
                bad = [a for a in v if a >= A]
                if bad:
                    raise InvalidPolicyError(
                        f"{w}: action {bad[0]} does not exist (there are {A} actions)")
                items.append(Policy.deterministic(list(v), A))
            else:
                try:
                    items.append(Policy(np.array(v, dtype=float)))
                except (InvalidPolicyError, ValueError) as exc:
                    raise InvalidPolicyError(f"{w}: {exc}") from None
        shapes = {p.probabilities.shape for p in items}
        if len(shapes) > 1:
            raise InvalidPolicyError(
                f"comparison table: the policies have different shapes {sorted(shapes)} (all "
                "must be [S, A] for one environment)")
    return ComparisonTable(traj, list(items), pairs, demos)


def policy_text(policy: Policy) -> str:
    """A policy as a cell: actions separated by spaces if deterministic, else JSON.

    Examples
    --------
    >>> policy_text(Policy([[1.0, 0.0], [0.0, 1.0]])), policy_text(Policy([[0.5, 0.5]]))
    ('0 1', '[[0.5, 0.5]]')
    """
    if policy.is_deterministic:
        return " ".join(str(int(a)) for a in policy.actions)
    return json.dumps(np.asarray(policy.probabilities, dtype=float).tolist())


def trajectory_text(trajectory: Trajectory) -> str:
    """A trajectory as a cell ``"s0 a0 s1 a1 ... sT"``."""
    out: list[int] = []
    for t, s in enumerate(trajectory.states):
        out.append(s)
        if t < len(trajectory.actions):
            out.append(trajectory.actions[t])
    return " ".join(map(str, out))


def comparisons_to_records(data: Comparisons, *, inline: bool) -> list[dict[str, Any]]:
    """Rows of the table format: indices (``inline=False``) or the items written out."""
    items = data.items

    def cell(k: int) -> Any:
        if not inline:
            return k
        x = items[k]
        return policy_text(x) if data.policies is not None else trajectory_text(x)

    rows: list[dict[str, Any]] = [
        {"first": cell(c.first), "second": cell(c.second), "relation": c.relation}
        for c in data.comparisons]
    rows += [{"first": cell(d), "second": None, "relation": "optimal"}
             for d in data.demonstrations]
    return rows


def read_csv_records(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a CSV file (``csv`` module; empty cells are ``""``)."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            return [dict(r) for r in reader]
    except OSError as exc:
        raise ObjspecError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ObjspecError(f"{path} is not a CSV text file: {exc}") from None


def frame_records(frame: Any) -> list[dict[str, Any]]:
    """The rows of a pandas DataFrame as mappings (any object with ``to_dict("records")``)."""
    to_dict = getattr(frame, "to_dict", None)
    if to_dict is None:
        raise InvalidSpecificationError(
            f"from_dataframe: expected a pandas DataFrame, got {type(frame).__name__}")
    return list(to_dict("records"))


def write_policies(items: Sequence[Any], path: str | Path) -> None:
    """Write policies as a JSON list of ``[S][A]`` arrays."""
    Path(path).write_text(json.dumps(
        [np.asarray(p.probabilities, dtype=float).tolist() for p in items]))
