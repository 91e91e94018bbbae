"""Tables of results: :class:`Table` (HTML in Jupyter, aligned text elsewhere) and
:func:`evaluation_table` (values and ranks of policies under several specifications).

Examples
--------
>>> print(Table(["a", "b"], [[1, 2.5]]))
a b
1 2.5
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from objspec.display.svg import escape
from objspec.errors import ObjspecError

if TYPE_CHECKING:
    from objspec.mdp.model import FiniteMDP

__all__ = ["Table", "evaluation_table"]


class Table:
    """A small table that renders as HTML in Jupyter and as aligned text elsewhere.

    Attributes
    ----------
    columns : list of str
    rows : list of list
        Cells; floats are printed with 6 significant digits.
    title : str

    Examples
    --------
    >>> print(Table(["policy", "J"], [["uniform", 0.5]], title="values"))
    values
    policy  J
    uniform 0.5
    """

    def __init__(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str = ""):
        self.columns = list(columns)
        self.rows = [list(r) for r in rows]
        self.title = title
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ObjspecError(
                    f"row {i} has {len(row)} cells but the table has {len(self.columns)} columns"
                )

    @staticmethod
    def _cell(value: Any) -> str:
        if isinstance(value, float | np.floating):
            return f"{float(value):.6g}"
        return str(value)

    def column(self, name: str) -> list[Any]:
        """The cells of one column."""
        if name not in self.columns:
            raise ObjspecError(f"no column {name!r}; columns are {self.columns}")
        j = self.columns.index(name)
        return [row[j] for row in self.rows]

    def __str__(self) -> str:
        cells = [self.columns] + [[self._cell(v) for v in row] for row in self.rows]
        widths = [max(len(r[j]) for r in cells) for j in range(len(self.columns))]
        lines = [" ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
                 for r in cells]
        return "\n".join(([self.title] if self.title else []) + lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(self._cell(v))}</td>" for v in row) + "</tr>"
            for row in self.rows
        )
        caption = f"<caption><b>{escape(self.title)}</b></caption>" if self.title else ""
        return f"<table>{caption}<tr>{head}</tr>{body}</table>"


def evaluation_table(
    env: FiniteMDP,
    specs: Mapping[str, Any] | Sequence[Any],
    policies: Mapping[str, Any] | Sequence[Any],
    *,
    title: str = "",
) -> Table:
    """Values and ranks of several policies under several specifications in ``env``.

    Each specification is compiled in ``env``; real-valued ones contribute a value column
    and a rank column, ordering formalisms (GOMORL, OMO, TLO, PO) a rank column. Rank 0 is
    the best; tied policies share a rank.

    Parameters
    ----------
    env : FiniteMDP
    specs : mapping of name to specification, or a sequence (named by their formalism)
    policies : mapping of name to policy, or a sequence (named ``pi0, pi1, ...``)

    Examples
    --------
    >>> from objspec import Policy
    >>> from objspec.environments import E3
    >>> from objspec.formalisms import MarkovReward
    >>> table = evaluation_table(
    ...     E3(), {"MR": MarkovReward([[1.0, 0.0], [0.0, 0.0]], 0.9)},
    ...     {"a": Policy([[1, 0], [1, 0]]), "b": Policy([[0, 1], [1, 0]])})
    >>> print(table)
    policy MR value MR rank
    a      1        0
    b      0        1
    """
    spec_items = (
        list(specs.items()) if isinstance(specs, Mapping)
        else [(getattr(s, "acronym", type(s).__name__), s) for s in specs]
    )
    policy_items = (
        list(policies.items()) if isinstance(policies, Mapping)
        else [(f"pi{i}", p) for i, p in enumerate(policies)]
    )
    if not spec_items or not policy_items:
        raise ObjspecError("evaluation_table needs at least one specification and one policy")
    names = [n for n, _ in policy_items]
    batch = [p for _, p in policy_items]
    columns = ["policy"]
    data: list[list[Any]] = [[n] for n in names]
    for spec_name, spec in spec_items:
        evaluator = spec.compile(env)
        if hasattr(evaluator, "values"):
            vals = np.asarray(evaluator.values(batch), dtype=float)
            columns.append(f"{spec_name} value")
            for row, v in zip(data, vals, strict=True):
                row.append(float(v))
        ranks = evaluator.rank(batch)
        columns.append(f"{spec_name} rank")
        for row, r in zip(data, ranks, strict=True):
            row.append(int(r))
    return Table(columns, data, title=title)
