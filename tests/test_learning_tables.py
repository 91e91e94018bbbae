"""Comparison tables: arrays, DataFrames, CSV and Parquet, both ways, and named errors on
malformed rows (which row, which column)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from objspec.errors import InvalidPolicyError, InvalidSpecificationError, ObjspecError
from objspec.learning import Comparisons, Trajectory

pd = pytest.importorskip("pandas")

POLICIES = [[[1.0, 0.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]], [[0.5, 0.5], [1.0, 0.0]]]


def _same(a: Comparisons, b: Comparisons) -> None:
    assert a.comparisons == b.comparisons and a.demonstrations == b.demonstrations
    assert len(a.items) == len(b.items)
    for x, y in zip(a.items, b.items, strict=True):
        if a.policies is not None:
            assert np.array_equal(x.probabilities, y.probabilities)
        else:
            assert x == y


def test_from_arrays_accepts_signs_and_symbols() -> None:
    data = Comparisons.from_arrays(np.array(POLICIES), [0, 1, 2], [1, 2, 0], [1, "<", 0])
    assert [str(c) for c in data.comparisons] == ["0 > 1", "2 > 1", "2 = 0"]


def test_from_arrays_lengths_must_match() -> None:
    with pytest.raises(InvalidSpecificationError, match="lengths 2, 1, 1"):
        Comparisons.from_arrays(POLICIES, [0, 1], [1], [">"])


def test_dataframe_round_trip_indices_and_inline() -> None:
    data = Comparisons(policies=POLICIES, pairs=[(0, 1, ">"), (2, 1, "="), (1, 2, "<")],
                       demonstrations=[0])
    frame = data.to_dataframe()
    assert list(frame.columns) == ["first", "second", "relation"]
    _same(Comparisons.from_dataframe(frame, POLICIES), data)
    inline = data.to_dataframe(inline=True)
    assert inline["first"].iloc[0] == "0 0" and inline["second"].iloc[1] == "1 1"
    _same(Comparisons.from_dataframe(inline, n_actions=2), data)


def test_csv_round_trip_both_forms(tmp_path: Path) -> None:
    data = Comparisons(policies=POLICIES, pairs=[(0, 1, ">"), (2, 0, "=")])
    data.to_csv(tmp_path / "inline.csv")
    _same(Comparisons.read_csv(tmp_path / "inline.csv"), data)
    data.to_csv(tmp_path / "idx.csv", policies_path=tmp_path / "p.json")
    assert (tmp_path / "idx.csv").read_text().splitlines()[1] == "0,1,>"
    _same(Comparisons.read_csv(tmp_path / "idx.csv", tmp_path / "p.json"), data)


def test_parquet_round_trip_with_list_cells(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    data = Comparisons(policies=POLICIES, pairs=[(0, 1, ">"), (2, 1, ">")])
    data.to_dataframe(inline=True).to_parquet(tmp_path / "d.parquet")
    _same(Comparisons.read_parquet(tmp_path / "d.parquet", n_actions=2), data)
    frame = pd.DataFrame({"first": [[0, 1]], "second": [[1, 1]], "relation": [">"]})
    frame.to_parquet(tmp_path / "lists.parquet")
    got = Comparisons.read_parquet(tmp_path / "lists.parquet")
    assert got.policies[0].actions.tolist() == [0, 1] and got.strict == ((0, 1),)


def test_npy_policies_file(tmp_path: Path) -> None:
    np.save(tmp_path / "p.npy", np.array(POLICIES))
    frame = pd.DataFrame({"first": [0], "second": [2], "relation": ["="]})
    assert Comparisons.from_dataframe(frame, tmp_path / "p.npy").ties == ((0, 2),)


def test_trajectory_tables_round_trip(tmp_path: Path) -> None:
    trajs = [Trajectory((0, 1, 1), (1, 0)), Trajectory((0, 0), (0,)), Trajectory((1,), ())]
    data = Comparisons(trajectories=trajs, pairs=[(0, 1, ">"), (2, 1, "=")])
    data.to_csv(tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().splitlines()[1] == "0 1 1 0 1,0 0 0,>"
    _same(Comparisons.read_csv(tmp_path / "t.csv", trajectories=True), data)
    frame = data.to_dataframe()
    _same(Comparisons.from_dataframe(frame, trajectories=trajs), data)


@pytest.mark.parametrize(("cell", "column", "message"), [
    (float("nan"), "first", "row 1, column 'first': missing value"),
    ("0 x", "second", "row 1, column 'second': 'x' in '0 x' is not an integer"),
    ("[[0.5, 0.5", "first", "row 1, column 'first': .* is not JSON"),
    ("maybe", "relation", "row 1, column 'relation': unknown relation 'maybe'"),
    (None, "relation", "row 1, column 'relation': missing value"),
])
def test_malformed_cells_name_row_and_column(cell: object, column: str, message: str) -> None:
    frame = pd.DataFrame({"first": ["0 0", "1 1"], "second": ["1 1", "0 1"],
                          "relation": [">", ">"]}, dtype=object)
    frame.loc[1, column] = cell
    with pytest.raises(InvalidSpecificationError, match=message):
        Comparisons.from_dataframe(frame)


def test_csv_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("first,second,relation\n0,1,>\n0,,>\n")
    with pytest.raises(InvalidSpecificationError,
                       match=r"row 1 \(line 3\), column 'second': missing value"):
        Comparisons.read_csv(path, POLICIES)


def test_index_errors_and_policy_errors() -> None:
    frame = pd.DataFrame({"first": [0], "second": [7], "relation": [">"]})
    with pytest.raises(InvalidSpecificationError, match="row 0, column 'second': index 7"):
        Comparisons.from_dataframe(frame, POLICIES)
    frame = pd.DataFrame({"first": ["[[0.7, 0.7]]"], "second": ["[[1, 0]]"],
                          "relation": [">"]})
    with pytest.raises(InvalidPolicyError, match="row 0, column 'first'"):
        Comparisons.from_dataframe(frame)
    frame = pd.DataFrame({"first": ["0 3"], "second": ["0 1"], "relation": [">"]})
    with pytest.raises(InvalidPolicyError, match="action 3 does not exist"):
        Comparisons.from_dataframe(frame, n_actions=2)
    frame = pd.DataFrame({"first": ["0 1"], "second": ["0"], "relation": [">"]})
    with pytest.raises(InvalidPolicyError, match="different shapes"):
        Comparisons.from_dataframe(frame)


def test_empty_and_missing_columns(tmp_path: Path) -> None:
    with pytest.raises(InvalidSpecificationError, match="empty"):
        Comparisons.from_dataframe(pd.DataFrame({"first": [], "second": [], "relation": []}))
    with pytest.raises(InvalidSpecificationError, match="missing column 'relation'"):
        Comparisons.from_dataframe(pd.DataFrame({"first": [0], "second": [1]}), POLICIES)
    (tmp_path / "empty.csv").write_text("first,second,relation\n")
    with pytest.raises(InvalidSpecificationError, match="empty"):
        Comparisons.read_csv(tmp_path / "empty.csv")
    with pytest.raises(ObjspecError, match="cannot read"):
        Comparisons.read_csv(tmp_path / "absent.csv")


def test_optimal_rows_are_demonstrations() -> None:
    frame = pd.DataFrame({"first": ["0 1", "1 1"], "second": [None, "0 1"],
                          "relation": ["optimal", "<"]})
    data = Comparisons.from_dataframe(frame)
    assert data.demonstrations == (0,) and data.strict == ((0, 1),)
    frame.loc[0, "second"] = "1 1"
    with pytest.raises(InvalidSpecificationError, match="leave second empty"):
        Comparisons.from_dataframe(frame)


def test_text_is_never_evaluated(tmp_path: Path) -> None:
    frame = pd.DataFrame({"first": ["__import__('os')"], "second": ["0"],
                          "relation": [">"]})
    with pytest.raises(InvalidSpecificationError, match="is not an integer"):
        Comparisons.from_dataframe(frame)
    (tmp_path / "p.json").write_text(json.dumps({"other": []}))
    frame = pd.DataFrame({"first": [0], "second": [1], "relation": [">"]})
    with pytest.raises(ObjspecError, match="'policies' entry"):
        Comparisons.from_dataframe(frame, tmp_path / "p.json")
