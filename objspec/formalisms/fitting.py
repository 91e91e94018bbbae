"""Fitting a specification to comparisons: the data, the result, the certificate, the LP.

This module holds what every formalism's *fitter* shares (each fitter is registered where
its formalism is defined, :attr:`~objspec.formalisms.registry.FormalismInfo.fitter`);
:mod:`objspec.learning` is the public entry point (``fit``, ``profile``, readers).

* :class:`Comparisons`: pairs of policies (or finite trajectories) with ``>``, ``<`` or
  ``=``, rankings and demonstrations; a strict cycle is reported with the cycle.
* :class:`Fit`: the fitted specification, the margin it achieves and the comparisons it
  violates (none unless the fit was asked to be ``soft``).
* :class:`ImpossibilityCertificate`: no specification of the formalism explains a minimal
  subset of the comparisons. The proof is the one separation witnesses use
  (docs/theory.md#separations): every specification's value on these policies is
  ``<phi(pi), c>`` for exact features ``phi`` and some unknown ``c``, and exact Motzkin
  multipliers add the comparisons up to ``0 > 0``. ``check()`` recomputes the features
  from the environment and the policies in rational arithmetic and verifies the
  multipliers with :class:`objspec.certificates.FarkasCertificate`, independently of the
  LP that found them.
* :func:`max_margin`: the max-margin linear programme (HiGHS) every formalism whose value
  is linear in its unknown parameters uses, with exact verification and certificate
  extraction.

Examples
--------
>>> data = Comparisons(policies=[[[1.0, 0.0]], [[0.0, 1.0]], [[0.5, 0.5]]],
...                    pairs=[(0, 1, ">"), (2, 1, ">"), (0, 2, "=")])
>>> data.strict, data.ties
(((0, 1), (2, 1)), ((0, 2),))
>>> [str(c) for c in Comparisons(policies=[[[1.0]], [[1.0]]],
...                                pairs=[(0, 1, ">"), (1, 0, ">")]).cycle()]
['0 > 1', '1 > 0']
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import scipy.optimize
import scipy.sparse as sp

from objspec.certificates import FarkasCertificate, exact_kernel, farkas_certificate
from objspec.errors import (
    CertificateError,
    InconsistentComparisonsError,
    InvalidModelError,
    InvalidPolicyError,
    InvalidSpecificationError,
    NoFitFoundError,
    NotExpressibleError,
    SolverError,
)
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy

if TYPE_CHECKING:
    from objspec.structural import StructuralClassBound

__all__ = [
    "Relation",
    "Comparison",
    "Trajectory",
    "Comparisons",
    "Fit",
    "FitOptions",
    "Fitter",
    "FeatureMap",
    "ImpossibilityCertificate",
    "ClassBoundCertificate",
    "LinearFit",
    "max_margin",
    "certificate_for",
    "fraction_rows",
]

Relation = Literal[">", "="]
_RELATIONS = {">": ">", "<": "<", "=": "=", "==": "=", "~": "="}


@dataclass(frozen=True)
class Comparison:
    """One comparison, normalised: ``first > second`` or ``first = second``.

    ``row`` is its position in the data as given (``"<"`` pairs are stored flipped).
    """

    first: int
    second: int
    relation: Relation
    row: int

    def __str__(self) -> str:
        return f"{self.first} {self.relation} {self.second}"


@dataclass(frozen=True)
class Trajectory:
    """A finite trajectory ``s_0 a_0 s_1 a_1 ... s_T`` (``len(states) == len(actions) + 1``).

    A trajectory read without its last state (``len(states) == len(actions)``) is stored as
    given; formalisms that need the final state say so.
    """

    states: tuple[int, ...]
    actions: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.states) not in (len(self.actions), len(self.actions) + 1):
            raise InvalidSpecificationError(
                f"trajectory: {len(self.states)} states for {len(self.actions)} actions (need "
                "one more state than actions, or as many)")
        if not self.states:
            raise InvalidSpecificationError("trajectory: no states")

    def steps(self) -> Iterable[tuple[int, int, int | None]]:
        """``(s_t, a_t, s_{t+1})`` for every step (``None`` where the next state is unknown)."""
        for t, a in enumerate(self.actions):
            nxt = self.states[t + 1] if t + 1 < len(self.states) else None
            yield self.states[t], a, nxt


def _as_trajectory(item: Any, k: int) -> Trajectory:
    if isinstance(item, Trajectory):
        return item
    try:
        if isinstance(item, dict):
            states, actions = item["states"], item["actions"]
        elif hasattr(item, "obs") and hasattr(item, "acts"):
            states, actions = item.obs, item.acts
        else:
            states, actions = item
        s = tuple(_integer(x, f"trajectory {k} state") for x in np.asarray(states).ravel())
        a = tuple(_integer(x, f"trajectory {k} action") for x in np.asarray(actions).ravel())
    except (TypeError, ValueError, KeyError) as exc:
        if isinstance(exc, InvalidSpecificationError):
            raise
        raise InvalidSpecificationError(
            f"trajectory {k}: expected (states, actions) sequences of integers ({exc})"
        ) from None
    return Trajectory(s, a)


def _integer(x: Any, what: str) -> int:
    try:
        f = float(x)
    except (TypeError, ValueError):
        raise InvalidSpecificationError(f"{what}: {x!r} is not an integer") from None
    if not math.isfinite(f) or f != int(f):
        raise InvalidSpecificationError(f"{what}: {x!r} is not an integer")
    return int(f)


class Comparisons:
    """Comparisons between policies (or finite trajectories): the data a fit explains.

    Parameters
    ----------
    policies : sequence of Policy or array_like, optional
        The policies compared (``[S, A]`` probabilities each); comparisons name them by index.
    pairs : sequence of (int, int, str)
        ``(i, j, ">")``: item ``i`` is strictly preferred to item ``j``; ``"<"`` the
        reverse; ``"="``: equally good.
    trajectories : sequence, optional
        Instead of policies: finite trajectories (:class:`Trajectory`, ``(states,
        actions)`` pairs, mappings with those keys, or objects with ``obs`` and ``acts``
        such as ``imitation``'s), for the formalisms that value trajectories.
    demonstrations : sequence of int
        Items claimed optimal among all stationary policies of the environment.

    Raises
    ------
    InvalidSpecificationError
        If a pair names no item, compares an item with itself strictly, or has an unknown
        relation; if both or neither of ``policies`` and ``trajectories`` are given.
    InvalidPolicyError
        If a policy is not a valid array of probability rows (NaN included).

    Notes
    -----
    The data may be inconsistent (a strict cycle); :meth:`cycle` finds one and
    :meth:`check_consistent` raises :class:`~objspec.errors.InconsistentComparisonsError`
    carrying it. Fitting inconsistent data raises that error.
    """

    def __init__(
        self,
        policies: Sequence[Any] | None = None,
        pairs: Iterable[Sequence[Any]] = (),
        *,
        trajectories: Sequence[Any] | None = None,
        demonstrations: Iterable[int] = (),
    ) -> None:
        if (policies is None) == (trajectories is None):
            raise InvalidSpecificationError(
                "comparisons: give exactly one of policies= and trajectories=")
        if policies is not None:
            items: list[Any] = []
            for k, p in enumerate(policies):
                try:
                    items.append(p if isinstance(p, Policy) else Policy(p))
                except InvalidPolicyError as exc:
                    raise InvalidPolicyError(f"comparisons: policy {k}: {exc}") from None
            self.policies: tuple[Policy, ...] | None = tuple(items)
            self.trajectories: tuple[Trajectory, ...] | None = None
            n = len(items)
        else:
            assert trajectories is not None
            self.trajectories = tuple(_as_trajectory(t, k) for k, t in enumerate(trajectories))
            self.policies = None
            n = len(self.trajectories)
        self._n = n
        out: list[Comparison] = []
        for row, pair in enumerate(pairs):
            try:
                i, j, rel = pair
            except (TypeError, ValueError):
                raise InvalidSpecificationError(
                    f"comparison {row}: expected (i, j, relation), got {pair!r}") from None
            i = _integer(i, f"comparison {row}: first item")
            j = _integer(j, f"comparison {row}: second item")
            r = _RELATIONS.get(str(rel).strip())
            if r is None:
                raise InvalidSpecificationError(
                    f"comparison {row}: unknown relation {rel!r} (use '>', '<' or '=')")
            for x in (i, j):
                if not 0 <= x < n:
                    raise InvalidSpecificationError(
                        f"comparison {row}: item {x} does not exist (there are {n} "
                        f"{self.kind})")
            if r == "<":
                i, j, r = j, i, ">"
            if r == ">" and i == j:
                raise InvalidSpecificationError(
                    f"comparison {row}: item {i} is strictly preferred to itself")
            out.append(Comparison(i, j, r, row))  # type: ignore[arg-type]
        self.comparisons: tuple[Comparison, ...] = tuple(out)
        demos = []
        for d in demonstrations:
            d = _integer(d, "demonstration")
            if not 0 <= d < n:
                raise InvalidSpecificationError(
                    f"demonstration {d} does not exist (there are {n} {self.kind})")
            demos.append(d)
        self.demonstrations: tuple[int, ...] = tuple(dict.fromkeys(demos))
        if not self.comparisons and not self.demonstrations:
            raise InvalidSpecificationError("comparisons: the data is empty (no pairs and no "
                                            "demonstrations)")

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_ranking(cls, policies: Sequence[Any], ranking: Sequence[Any], *,
                     trajectories: bool = False) -> Comparisons:
        """A full or partial ranking, best first: each entry an index or a group of tied indices.

        Consecutive groups give ``>`` pairs, members of a group ``=`` pairs; items not
        ranked are left uncompared.

        Examples
        --------
        >>> Comparisons.from_ranking([[[1.0]]] * 3, [2, (0, 1)]).comparisons[0]
        Comparison(first=2, second=0, relation='>', row=0)
        """
        groups = [tuple(g) if isinstance(g, (tuple, list, set, frozenset)) else (g,)
                  for g in ranking]
        pairs: list[tuple[int, int, str]] = []
        for k, g in enumerate(groups):
            if not g:
                raise InvalidSpecificationError(f"ranking: group {k} is empty")
            pairs.extend((g[0], x, "=") for x in g[1:])
            if k + 1 < len(groups):
                pairs.append((g[0], groups[k + 1][0], ">"))
        if trajectories:
            return cls(trajectories=policies, pairs=pairs)
        return cls(policies=policies, pairs=pairs)

    @classmethod
    def from_arrays(cls, policies: Any, first: Sequence[Any], second: Sequence[Any],
                    relation: Sequence[Any], *, trajectories: bool = False) -> Comparisons:
        """Comparisons from parallel arrays: ``first[k] relation[k] second[k]``.

        ``first`` and ``second`` are integer indices into ``policies`` (an ``[N, S, A]``
        array or a sequence; with ``trajectories=True``, the trajectories); ``relation`` holds
        ``">"``, ``"<"``, ``"="`` or the signs ``1, -1, 0``. A row whose relation is
        ``"optimal"`` marks ``first`` as a demonstration (its ``second`` is ignored).

        Examples
        --------
        >>> import numpy as np
        >>> pols = np.array([[[1.0, 0.0]], [[0.0, 1.0]], [[0.5, 0.5]]])
        >>> Comparisons.from_arrays(pols, [0, 2], [1, 1], [1, ">"])
        Comparisons(3 policies, 2 strict, 0 ties)
        """
        from objspec.formalisms.comparison_tables import read_records

        cols = [list(np.asarray(x, dtype=object).ravel()) for x in (first, second, relation)]
        if len({len(c) for c in cols}) != 1:
            raise InvalidSpecificationError(
                f"from_arrays: first, second and relation have lengths "
                f"{', '.join(str(len(c)) for c in cols)}; they must be equal")
        rows = [{"first": f, "second": None if r == "optimal" else s, "relation": r}
                for f, s, r in zip(*cols, strict=True)]
        if trajectories:
            return cls._from_table(read_records(rows, trajectories=policies))
        return cls._from_table(read_records(rows, policies=policies))

    @classmethod
    def _from_table(cls, table: Any) -> Comparisons:
        """From a :class:`~objspec.formalisms.comparison_tables.ComparisonTable`."""
        if table.trajectories:
            return cls(trajectories=table.items, pairs=table.pairs,
                       demonstrations=table.demonstrations)
        return cls(policies=table.items, pairs=table.pairs,
                   demonstrations=table.demonstrations)

    @classmethod
    def from_dataframe(cls, frame: Any, policies: Any = None, *, trajectories: Any = None,
                       n_actions: int | None = None) -> Comparisons:
        """Comparisons from a pandas DataFrame with columns ``first``, ``second``, ``relation``.

        The table format (indices into ``policies``, or policies and trajectories written in
        the cells; relations; errors naming the row and column) is described in
        :mod:`objspec.formalisms.comparison_tables`. ``trajectories=True`` reads the cells as
        trajectories ``"s0 a0 s1 ... sT"``; a sequence of trajectories makes them indices.
        ``n_actions`` sizes inline deterministic policies (default: the largest action + 1).

        Examples
        --------
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"first": ["0 1", "1 1"], "second": ["1 1", "1 0"],
        ...                       "relation": [">", "<"]})
        >>> Comparisons.from_dataframe(frame).strict
        ((0, 1), (2, 1))
        """
        from objspec.formalisms.comparison_tables import frame_records, read_records

        return cls._from_table(read_records(frame_records(frame), policies=policies,
                                            trajectories=trajectories, n_actions=n_actions))

    @classmethod
    def read_csv(cls, path: Any, policies: Any = None, *, trajectories: Any = None,
                 n_actions: int | None = None) -> Comparisons:
        """Comparisons from a CSV file in the table format (see :meth:`from_dataframe`).

        Read with Python's ``csv`` module (pandas is not needed); ``policies`` may be a path
        to a JSON or ``.npy`` file of ``[S, A]`` arrays. Errors name the row and its line.

        Examples
        --------
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "data.csv")
        >>> _ = open(path, "w").write("first,second,relation\\n0 1,1 1,>\\n1 1,,optimal\\n")
        >>> Comparisons.read_csv(path)
        Comparisons(2 policies, 1 strict, 0 ties, 1 demonstrations)
        """
        from objspec.formalisms.comparison_tables import read_csv_records, read_records

        return cls._from_table(read_records(read_csv_records(path), policies=policies,
                                            trajectories=trajectories, n_actions=n_actions,
                                            line_offset=2))

    @classmethod
    def read_parquet(cls, path: Any, policies: Any = None, *, trajectories: Any = None,
                     n_actions: int | None = None) -> Comparisons:
        """Comparisons from a Parquet file in the table format (needs pandas and pyarrow:
        ``pip install objspec[learning]``); cells may be text, integers or lists."""
        try:
            import pandas as pd
        except ImportError:
            raise InvalidSpecificationError(
                "read_parquet needs pandas and pyarrow (pip install objspec[learning])"
            ) from None
        try:
            frame = pd.read_parquet(path)
        except ImportError as exc:
            raise InvalidSpecificationError(f"read_parquet: {exc}") from None
        except (OSError, ValueError) as exc:
            raise InvalidSpecificationError(f"cannot read {path} as Parquet: {exc}") from None
        return cls.from_dataframe(frame, policies, trajectories=trajectories,
                                  n_actions=n_actions)

    def to_dataframe(self, *, inline: bool = False) -> Any:
        """The table format as a pandas DataFrame: columns ``first``, ``second``,
        ``relation`` (normalised: ``>`` or ``=``; demonstrations as ``optimal`` rows).

        ``first``/``second`` are indices into :attr:`items`, or with ``inline`` the items
        written out (``"0 1 1"``, JSON for stochastic policies, ``"s0 a0 s1 ..."``).

        Examples
        --------
        >>> data = Comparisons(policies=[[[1.0, 0.0]], [[0.0, 1.0]]], pairs=[(0, 1, "<")])
        >>> data.to_dataframe(inline=True).values.tolist()
        [['1', '0', '>']]
        """
        import pandas as pd

        from objspec.formalisms.comparison_tables import COLUMNS, comparisons_to_records

        return pd.DataFrame(comparisons_to_records(self, inline=inline), columns=list(COLUMNS))

    def to_csv(self, path: Any, *, policies_path: Any = None) -> None:
        """Write the table format as CSV (the ``csv`` module; pandas is not needed).

        By default the items are written in the cells (the file stands alone); with
        ``policies_path`` the cells are indices and the policies go to that JSON file
        (policies only). :meth:`read_csv` reads either back.

        Examples
        --------
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> data = Comparisons(policies=[[[1.0, 0.0]], [[0.5, 0.5]]], pairs=[(0, 1, "=")])
        >>> data.to_csv(os.path.join(folder, "d.csv"), policies_path=os.path.join(folder, "p.json"))
        >>> Comparisons.read_csv(os.path.join(folder, "d.csv"),
        ...                      os.path.join(folder, "p.json")).ties
        ((0, 1),)
        """
        import csv

        from objspec.formalisms.comparison_tables import (
            COLUMNS,
            comparisons_to_records,
            write_policies,
        )

        if policies_path is not None:
            if self.policies is None:
                raise InvalidSpecificationError(
                    "to_csv: policies_path= is for policies; these are trajectories (written "
                    "in the cells)")
            write_policies(self.policies, policies_path)
        rows = comparisons_to_records(self, inline=policies_path is None)
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(COLUMNS))
            writer.writeheader()
            writer.writerows(rows)

    # ------------------------------------------------------------------ views

    @property
    def kind(self) -> str:
        """``"policies"`` or ``"trajectories"``."""
        return "policies" if self.trajectories is None else "trajectories"

    @property
    def items(self) -> tuple[Any, ...]:
        """The policies or trajectories, by index."""
        return self.policies if self.policies is not None else self.trajectories  # type: ignore

    def __len__(self) -> int:
        return len(self.comparisons)

    @property
    def n_items(self) -> int:
        """How many policies (or trajectories) there are."""
        return self._n

    @property
    def strict(self) -> tuple[tuple[int, int], ...]:
        """``(i, j)`` for every ``i > j``."""
        return tuple((c.first, c.second) for c in self.comparisons if c.relation == ">")

    @property
    def ties(self) -> tuple[tuple[int, int], ...]:
        """``(i, j)`` for every ``i = j``."""
        return tuple((c.first, c.second) for c in self.comparisons if c.relation == "=")

    def __repr__(self) -> str:
        demos = f", {len(self.demonstrations)} demonstrations" if self.demonstrations else ""
        return (f"Comparisons({self._n} {self.kind}, {len(self.strict)} strict, "
                f"{len(self.ties)} ties{demos})")

    def subset(self, comparisons: Iterable[Comparison]) -> Comparisons:
        """The same items with only ``comparisons`` (rows renumbered from 0)."""
        pairs = [(c.first, c.second, c.relation) for c in comparisons]
        if self.policies is not None:
            return Comparisons(policies=self.policies, pairs=pairs)
        return Comparisons(trajectories=self.trajectories, pairs=pairs)

    # ------------------------------------------------------------------ consistency

    def cycle(self) -> tuple[Comparison, ...] | None:
        """A cycle of comparisons with at least one strict one (inconsistent data), or None.

        Ties are symmetric: items joined by ``=`` form one class; a strict comparison inside
        a class, or a cycle of strict comparisons between classes, makes the data
        inconsistent with every total preorder. The cycle returned is a sequence of
        comparisons, each usable in the direction that closes it.
        """
        adj: dict[int, list[tuple[int, Comparison]]] = {}
        for c in self.comparisons:
            adj.setdefault(c.first, []).append((c.second, c))  # first >= second
            if c.relation == "=":
                adj.setdefault(c.second, []).append((c.first, c))
        # A strict edge (u > v) lies on a cycle iff u is reachable from v.
        for c in self.comparisons:
            if c.relation != ">":
                continue
            path = _path(adj, c.second, c.first)
            if path is not None:
                return (c, *path)
        return None

    def check_consistent(self) -> None:
        """Raise :class:`~objspec.errors.InconsistentComparisonsError` on a strict cycle."""
        cyc = self.cycle()
        if cyc is not None:
            text = ", ".join(
                f"{c.first} {c.relation} {c.second} (row {c.row})" for c in cyc)
            raise InconsistentComparisonsError(
                f"the comparisons are inconsistent (no total preorder satisfies them): the "
                f"cycle {text} puts an item strictly above itself", cyc)

    # ------------------------------------------------------------------ environment

    def validate(self, env: FiniteMDP) -> None:
        """Check the items belong to ``env`` (shapes, enabled actions, state indices).

        Raises
        ------
        InvalidPolicyError
            If a policy has the wrong shape or puts mass on a disabled action.
        InvalidSpecificationError
            If a trajectory visits a state or takes an action ``env`` does not have, or a
            step the environment's transitions cannot make.
        """
        S, A = env.n_states, env.n_actions
        if self.policies is not None:
            for k, p in enumerate(self.policies):
                shape = p.probabilities.shape
                if shape != (S, A):
                    raise InvalidPolicyError(
                        f"comparisons: policy {k} has shape {shape}; this environment needs "
                        f"[S, A] = [{S}, {A}] (are the policies for another environment?)")
                if env.enabled is not None:
                    bad = np.argwhere((p.probabilities > 0) & ~env.enabled)
                    if len(bad):
                        s, a = (int(x) for x in bad[0])
                        raise InvalidPolicyError(
                            f"comparisons: policy {k} plays disabled action {a} in state {s}")
            return
        assert self.trajectories is not None
        for k, tr in enumerate(self.trajectories):
            for t, s in enumerate(tr.states):
                if not 0 <= s < S:
                    raise InvalidSpecificationError(
                        f"trajectory {k}: state {s} at step {t} is not a state of the "
                        f"environment (it has {S})")
            for t, (s, a, nxt) in enumerate(tr.steps()):
                if not 0 <= a < A:
                    raise InvalidSpecificationError(
                        f"trajectory {k}: action {a} at step {t} is not an action of the "
                        f"environment (it has {A})")
                if nxt is not None and env.transition_matrix[s * A + a, nxt] <= 0:
                    raise InvalidSpecificationError(
                        f"trajectory {k}: step {t} goes {s} -({a})-> {nxt}, which the "
                        "environment cannot do")


def _path(adj: dict[int, list[tuple[int, Comparison]]], src: int,
          dst: int) -> tuple[Comparison, ...] | None:
    """Comparisons leading from ``src`` to ``dst`` (breadth first), or None."""
    if src == dst:
        return ()
    parent: dict[int, tuple[int, Comparison]] = {}
    frontier = [src]
    seen = {src}
    while frontier:
        nxt: list[int] = []
        for u in frontier:
            for v, c in adj.get(u, ()):
                if v in seen:
                    continue
                seen.add(v)
                parent[v] = (u, c)
                if v == dst:
                    out = []
                    while v != src:
                        u2, c2 = parent[v]
                        out.append(c2)
                        v = u2
                    return tuple(reversed(out))
                nxt.append(v)
        frontier = nxt
    return None


# ---------------------------------------------------------------------- results


@dataclass(frozen=True)
class Fit:
    """A specification that explains comparisons (``objspec.learning.fit``'s result).

    Attributes
    ----------
    formalism : str
        The formalism's acronym.
    spec : Specification
        The fitted specification.
    margin : float or Fraction or None
        The smallest value gap over the strict comparisons it satisfies, under the
        normalisation the method states in ``normalisation`` (None for ordering formalisms
        and fits with no strict comparison). A ``Fraction`` when ``exact``.
    violated : tuple of Comparison
        Comparisons the specification does not satisfy (empty unless the fit was soft).
    method : str
        How it was found.
    exact : bool
        Whether the fit was verified in rational arithmetic: every satisfied strict
        comparison has a positive exact gap and every satisfied tie an exact zero gap.
    normalisation : str
        What the margin is relative to (e.g. ``"max |r(s, a)| <= 1"``).
    seconds : float
        Wall time of the fit.
    details : dict
        Method-specific extras (e.g. the parameter vector, the LTL search bound).
    """

    formalism: str
    spec: Any
    margin: Any
    violated: tuple[Comparison, ...]
    method: str
    exact: bool = False
    normalisation: str = ""
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def consistent(self) -> bool:
        """Whether every comparison is satisfied."""
        return not self.violated

    def reward_array(self, *, exact: bool = False) -> np.ndarray:
        """The fitted reward as an array, to train any agent on (MR and RM fits).

        * MR (and LAR): the reward ``r`` as fitted, ``[S, A]`` (or ``[S]``, ``[S, A, S]``);
        * RM: one reward per machine edge, stacked in the order of ``spec.edges``:
          ``[E]`` when every edge pays a number, else ``[E, ...]`` with each edge's reward
          broadcast to the largest shape among them (``[E, S, A]`` for ``[S, A]`` rewards).

        Floats by default; ``exact=True`` keeps the rational entries of an exact fit
        (an object array of Fractions).

        Raises
        ------
        InvalidSpecificationError
            For a fit whose specification is not a Markov reward or a reward machine.

        Examples
        --------
        >>> import numpy as np
        >>> from objspec.formalisms import MarkovReward
        >>> Fit("MR", MarkovReward(np.eye(2), 0.9), 1.0, (), "by hand").reward_array().shape
        (2, 2)
        """
        spec = self.spec
        edges = getattr(spec, "edges", None)
        if edges is not None and all(hasattr(e, "reward") for e in edges):
            rewards = [np.asarray(e.reward, dtype=object) for e in edges]
            shape = max((r.shape for r in rewards), key=len)
            out = np.empty((len(rewards), *shape), dtype=object)
            for k, r in enumerate(rewards):
                if r.ndim and r.shape != shape[:r.ndim]:
                    raise InvalidSpecificationError(
                        f"reward_array: edge {k} pays a reward of shape {r.shape}, which does "
                        f"not broadcast to {shape}")
                out[k] = r.reshape(r.shape + (1,) * (len(shape) - r.ndim))
        elif hasattr(spec, "reward"):
            out = np.asarray(spec.reward, dtype=object)
        else:
            raise InvalidSpecificationError(
                f"reward_array: a {self.formalism} specification has no reward array (MR and "
                "RM fits have one)")
        if exact:
            return np.vectorize(lambda x: x if isinstance(x, Fraction) else Fraction(x),
                                otypes=[object])(out) if out.size else out
        return out.astype(np.float64)

    def __str__(self) -> str:
        how = "exact" if self.exact else "floating point"
        m = "" if self.margin is None else f", margin {self.margin} ({self.normalisation})"
        v = f", {len(self.violated)} comparisons violated" if self.violated else ""
        return f"{self.formalism} fit by {self.method} [{how}]{m}{v}"


@dataclass(frozen=True)
class FeatureMap:
    """Exact features in which every specification of a formalism is linear.

    ``compute(env, items) -> rows`` returns one tuple of Fractions per item (policy or
    trajectory) such that every specification's value (or a real representation of its
    ordering on these items) is ``<phi(item), c>`` for some ``c``; ``statement`` says why
    in one clause (it ends the certificate's explanation). ``precondition(env, items)``
    raises :class:`~objspec.errors.CertificateError` where the statement does not apply.
    ``unit`` names the coordinates of ``c`` that must be positive (appended as a strict
    pseudo-comparison: a regularisation weight or scale that cannot vanish), or is empty.
    """

    name: str
    statement: str
    compute: Callable[[FiniteMDP | None, Sequence[Any]], list[list[Fraction]]] = field(
        repr=False)
    precondition: Callable[[FiniteMDP | None, Sequence[Any]], None] | None = field(
        default=None, repr=False)
    positive: tuple[int, ...] = ()


@dataclass(frozen=True)
class ImpossibilityCertificate:
    """Proof that no specification of a formalism satisfies some comparisons.

    The comparisons (a minimal infeasible subset of the data, with the data's item indices;
    ``rows`` are their positions in the data as given) are between ``items``, the data's
    items ``item_ids`` (features are listed in that order). Every specification's value is
    ``<phi(item), c>`` with the exact features ``phi`` of :attr:`feature_map`; adding the
    strict comparisons with weights ``strict_multipliers`` (non-negative, not all zero) and
    the ties with ``tie_multipliers`` cancels every feature, so the sum of the comparisons'
    gaps would be both ``0`` and ``> 0``. ``feature_map.positive`` coordinates, if any, add
    one strict pseudo-comparison each ("this coordinate of ``c`` is positive"), with their
    multipliers last in ``strict_multipliers``.

    :meth:`check` recomputes everything in exact rational arithmetic.
    """

    formalism: str
    comparisons: tuple[Comparison, ...]
    item_ids: tuple[int, ...]
    items: tuple[Any, ...]
    env: FiniteMDP | None = field(repr=False)
    feature_map: FeatureMap = field(repr=False)
    features: tuple[tuple[Fraction, ...], ...] = field(repr=False)
    strict_multipliers: tuple[Fraction, ...] = field(repr=False)
    tie_multipliers: tuple[Fraction, ...] = field(repr=False)
    description: str = ""

    @property
    def rows(self) -> tuple[int, ...]:
        """The positions of the comparisons in the data as given."""
        return tuple(c.row for c in self.comparisons)

    def _system(self) -> tuple[list[tuple[Fraction, ...]], list[tuple[int, int]],
                               list[tuple[int, int]]]:
        index = {x: n for n, x in enumerate(self.item_ids)}
        missing = [x for c in self.comparisons for x in (c.first, c.second) if x not in index]
        if missing:
            raise CertificateError(f"certificate: item {missing[0]} is compared but not listed")
        feats = list(self.features)
        strict = [(index[c.first], index[c.second]) for c in self.comparisons
                  if c.relation == ">"]
        ties = [(index[c.first], index[c.second]) for c in self.comparisons
                if c.relation == "="]
        if self.feature_map.positive:
            dim = len(feats[0]) if feats else 0
            zero = len(feats)
            feats.append(tuple(Fraction(0) for _ in range(dim)))
            for k in self.feature_map.positive:
                feats.append(tuple(Fraction(int(m == k)) for m in range(dim)))
                strict.append((len(feats) - 1, zero))
        return feats, strict, ties

    def check(self) -> None:
        """Re-check the certificate exactly; raise :class:`~objspec.errors.CertificateError`.

        Recomputes the features of the items from the environment (rationals only), checks
        them equal to the stored ones, then verifies the multipliers with
        :meth:`objspec.certificates.FarkasCertificate.verify` (the checker of separation
        witnesses).
        """
        if not self.comparisons:
            raise CertificateError("certificate: no comparisons")
        n_items = len(self.item_ids)
        if len(self.items) != n_items or len(self.features) != n_items:
            raise CertificateError(
                f"certificate: {len(self.items)} items and {len(self.features)} feature "
                f"vectors for {n_items} compared items")
        if self.feature_map.precondition is not None:
            self.feature_map.precondition(self.env, self.items)
        recomputed = [tuple(Fraction(x) for x in row)
                      for row in self.feature_map.compute(self.env, self.items)]
        if recomputed != [tuple(r) for r in self.features]:
            k = next((k for k, (a, b) in enumerate(zip(recomputed, self.features, strict=False))
                      if tuple(a) != tuple(b)), len(recomputed))
            raise CertificateError(
                f"certificate: the stored features of item {k} are not {self.feature_map.name}"
                " recomputed from the environment")
        feats, strict, ties = self._system()
        FarkasCertificate(tuple(feats), tuple(strict), tuple(ties),
                          tuple(self.strict_multipliers), tuple(self.tie_multipliers)).verify()

    def explanation(self) -> str:
        """The proof in one sentence."""
        n = len(self.comparisons)
        listed = ", ".join(str(c) for c in self.comparisons)
        weights = ", ".join(str(w) for w in (*self.strict_multipliers, *self.tie_multipliers))
        extra = ""
        if self.feature_map.positive:
            extra = " together with the positivity of the scale of its parameters"
        what = (f"this comparison ({listed}) cannot hold" if n == 1 else
                f"these {n} comparisons ({listed}) cannot all hold")
        return (f"{what} for any "
                f"{self.description or self.formalism} specification, because "
                f"{self.feature_map.statement}, and adding the comparisons{extra} with "
                f"weights {weights} cancels every feature: 0 > 0")

    def __repr__(self) -> str:
        return f"<ImpossibilityCertificate {self.formalism}: {self.explanation()}>"

    __str__ = explanation


# ---------------------------------------------------------------------- fitters


@dataclass
class FitOptions:
    """Options of one fit, as ``objspec.learning.fit`` passes them to a fitter.

    ``extra`` holds the formalism-specific keywords (a fitter reads them with
    :meth:`take` and the caller rejects any left unread, naming them).
    """

    gamma: Any = None
    margin: float | None = None
    soft: bool = False
    exact: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    _read: set[str] = field(default_factory=set)

    def take(self, name: str, default: Any = None) -> Any:
        """Read a formalism-specific keyword (``default`` when it was not given)."""
        self._read.add(name)
        return self.extra.get(name, default)

    def unread(self) -> list[str]:
        """Keywords given but not read by the fitter."""
        return sorted(set(self.extra) - self._read)

    def need_gamma(self, formalism: str) -> Fraction | float:
        """The discount, required: a named error when it is missing or outside ``[0, 1)``."""
        if self.gamma is None:
            raise InvalidSpecificationError(
                f"fit({formalism}): the discount is taken as given; pass gamma=")
        g = self.gamma
        try:
            gf = float(g)
        except (TypeError, ValueError):
            raise InvalidSpecificationError(f"fit({formalism}): gamma={g!r} is not a number"
                                            ) from None
        if not (0.0 <= gf < 1.0) or math.isnan(gf):
            raise InvalidSpecificationError(
                f"fit({formalism}): gamma={g!r} is outside [0, 1)")
        return g


@dataclass(frozen=True)
class Fitter:
    """How ``fit`` fits a formalism (registered with it, like its optimiser).

    Attributes
    ----------
    fit : callable
        ``fit(env, data, options) -> Fit``; raises
        :class:`~objspec.errors.NotExpressibleError` with a ``certificate`` when no
        specification fits, or :class:`~objspec.errors.NoFitFoundError` when a bounded
        search found none (not a proof).
    method : str
        The method in words.
    decides : bool
        Whether a failure always comes with a certificate (the fitter decides
        expressibility); False for bounded searches.
    """

    fit: Callable[[FiniteMDP, Comparisons, FitOptions], Fit] = field(repr=False)
    method: str
    decides: bool = True


# ---------------------------------------------------------------------- the LP


def fraction_rows(rows: Any) -> list[list[Fraction]]:
    """Rows of exact Fractions from an array of Fractions, ints or exactly-read floats."""
    return [[x if isinstance(x, Fraction) else Fraction(x) for x in row] for row in rows]


@dataclass(frozen=True)
class LinearFit:
    """The solution of :func:`max_margin`.

    ``coefficients`` (floats, or Fractions when exact) realise the comparisons with
    ``margin``; ``violated`` lists the comparisons with a non-positive gap (soft fits);
    ``gaps`` are the strict comparisons' gaps.
    """

    coefficients: np.ndarray
    margin: Any
    violated: tuple[Comparison, ...]
    exact: bool


def _differences(features: Any, pairs: Sequence[tuple[int, int]]) -> Any:
    if not pairs:
        return None
    i = np.array([p[0] for p in pairs])
    j = np.array([p[1] for p in pairs])
    if sp.issparse(features):
        f = sp.csr_matrix(features)
        return (f[i] - f[j]).tocsr()
    f = np.asarray(features, dtype=np.float64)
    return sp.csr_matrix(f[i] - f[j])


def max_margin(
    features: Any,
    data: Comparisons,
    *,
    positive: Sequence[int] = (),
    margin: float | None = None,
    soft: bool = False,
    exact_features: Callable[[], list[list[Fraction]]] | None = None,
) -> LinearFit | None:
    """Fit ``c`` with ``<phi_i - phi_j, c> > 0`` for ``i > j`` and ``= 0`` for ``i = j``.

    The max-margin linear programme: maximise ``t`` subject to ``<phi_i - phi_j, c> >= t``
    (strict), ``<phi_i - phi_j, c> = 0`` (ties), ``-1 <= c <= 1`` and ``c_k >= t`` for
    ``k`` in ``positive`` (coordinates that must be positive, e.g. a fixed term's scale);
    solved by HiGHS. With ``soft``: minimise the total slack ``sum xi`` subject to
    ``<phi_i - phi_j, c> + xi >= margin`` (default 1, no box on ``c``) and the ties; the
    comparisons left with a non-positive gap are reported violated.

    With ``exact_features`` (a function returning the rational feature rows), the solution is
    rounded to rationals and verified exactly (every strict gap ``> 0``, every tie gap
    ``= 0``): the returned margin is then an exact Fraction.

    Returns
    -------
    LinearFit or None
        None when the hard programme's optimum is ``t <= 0`` (up to a tolerance scaled to
        the features): then :func:`certificate_for` looks for the proof.
    """
    strict = list(data.strict)
    ties = list(data.ties)
    if not sp.issparse(features):
        features = np.asarray(features, dtype=np.float64)
    dim = int(features.shape[1])
    npos = len(positive)
    link = None if soft else _value_link(features, strict, ties)
    d_s = d_t = None
    if link is None:
        d_s = _differences(features, strict)
        d_t = _differences(features, ties)
    scale = max(1.0, _largest_difference(features, strict + ties))
    tol = 1e-9 * scale
    if soft:
        return _soft(d_s, d_t, dim, strict, data, margin if margin is not None else 1.0,
                     positive, exact_features)
    # variables: c (dim), t[, v (values of the compared items)]
    n_s = len(strict)
    n_v = 0 if link is None else link[0].shape[0]
    width = dim + 1 + n_v
    blocks_ub = []
    if n_s:
        ones = sp.csr_matrix(np.ones((n_s, 1)))
        if link is None:
            assert d_s is not None
            blocks_ub.append(sp.hstack([-d_s, ones]))
        else:
            blocks_ub.append(sp.hstack([link[1][:, :dim], ones, link[1][:, dim:]]))
    for k in positive:
        row = sp.csr_matrix(([-1.0, 1.0], ([0, 0], [k, dim])), shape=(1, width))
        blocks_ub.append(row)
    a_ub = sp.vstack(blocks_ub).tocsr() if blocks_ub else None
    b_ub = np.zeros(a_ub.shape[0]) if a_ub is not None else None
    blocks_eq = []
    if link is not None:
        f_used, _, tie_rows = link
        blocks_eq.append(sp.hstack([f_used, sp.csr_matrix((n_v, 1)), -sp.eye(n_v)]))
        if tie_rows is not None:
            blocks_eq.append(sp.hstack([tie_rows[:, :dim], sp.csr_matrix((len(ties), 1)),
                                        tie_rows[:, dim:]]))
    elif d_t is not None:
        blocks_eq.append(sp.hstack([d_t, sp.csr_matrix((len(ties), 1))]))
    a_eq = sp.vstack(blocks_eq).tocsr() if blocks_eq else None
    b_eq = np.zeros(a_eq.shape[0]) if a_eq is not None else None
    cost = np.zeros(width)
    if n_s or npos:
        cost[dim] = -1.0
    bounds = [(-1.0, 1.0)] * dim + [(None, 1.0)] + [(None, None)] * n_v
    nnz = sum(a.nnz for a in (a_ub, a_eq) if a is not None)
    res = scipy.optimize.linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq,
                                 bounds=bounds, method=_lp_method(nnz))
    if res.status != 0:
        raise SolverError(f"max-margin LP: HiGHS stopped with status {res.status}: "
                          f"{res.message}")
    c = np.asarray(res.x[:dim])
    t = float(res.x[dim])
    if (n_s or npos) and t <= tol:
        return None
    if exact_features is None:
        gaps = _gaps(features, strict, c)
        return LinearFit(c, float(gaps.min()) if n_s else None, (), False)
    return _exact(c, exact_features(), strict, ties, positive, data)


#: Above this many constraint non-zeros the max-margin LPs use HiGHS's interior point
#: method (with crossover to a vertex), several times faster than simplex on the dense rows
#: of occupancy features (benchmarks/bench_learning.py); below it, dual simplex.
IPM_NONZEROS = 200_000


def _lp_method(nnz: int) -> str:
    return "highs-ipm" if nnz > IPM_NONZEROS else "highs"


def _largest_difference(features: Any, pairs: Sequence[tuple[int, int]]) -> float:
    """``max |phi_i - phi_j|`` over the compared pairs (0 without pairs)."""
    out = 0.0
    for lo in range(0, len(pairs), 256):
        chunk = pairs[lo:lo + 256]
        i = np.array([p[0] for p in chunk])
        j = np.array([p[1] for p in chunk])
        d = features[i] - features[j]
        if sp.issparse(d):
            out = max(out, float(abs(d).max()) if d.nnz else 0.0)
        else:
            out = max(out, float(np.abs(d).max(initial=0.0)))
    return out


def _gaps(features: Any, pairs: Sequence[tuple[int, int]], c: np.ndarray) -> np.ndarray:
    """``<phi_i - phi_j, c>`` for each pair."""
    if not pairs:
        return np.zeros(0)
    values = np.asarray(features @ c).ravel()
    return np.array([values[i] - values[j] for i, j in pairs])


def _value_link(features: Any, strict: list[tuple[int, int]], ties: list[tuple[int, int]]
                ) -> tuple[Any, Any, Any] | None:
    """The value formulation of the comparisons, when it has fewer non-zeros.

    Each comparison row ``<phi_i - phi_j, c>`` repeats two feature rows; with many
    comparisons between few items it is cheaper to introduce the items' values
    ``v = Phi c`` (one dense row per item) and compare ``v_i - v_j`` (two non-zeros per
    comparison). Same optimum, same ``c``: only the LP's size changes. Returns
    ``(Phi_used, -(v_i - v_j) rows, (v_i - v_j) tie rows)`` with the value columns after
    ``dim`` placeholder columns, or None when the direct form is smaller.
    """
    used = sorted({x for p in (*strict, *ties) for x in p})
    if not used:
        return None
    f = sp.csr_matrix(features)[used] if sp.issparse(features) else sp.csr_matrix(
        features[used])
    row_nnz = dict(zip(used, np.diff(f.indptr).tolist(), strict=True))
    direct = sum(row_nnz[i] + row_nnz[j] for i, j in (*strict, *ties))  # about nnz(D)
    if f.nnz + 2 * (len(strict) + len(ties)) >= direct:
        return None
    dim, n_v = f.shape[1], len(used)
    index = {x: k for k, x in enumerate(used)}

    def rows(pairs: list[tuple[int, int]], sign: float) -> Any:
        if not pairs:
            return None
        r = np.repeat(np.arange(len(pairs)), 2)
        cols = np.array([[dim + index[i], dim + index[j]] for i, j in pairs]).ravel()
        vals = np.tile([sign, -sign], len(pairs))
        return sp.csr_matrix((vals, (r, cols)), shape=(len(pairs), dim + n_v))

    return f, rows(strict, -1.0), rows(ties, 1.0)


def _soft(d_s: Any, d_t: Any, dim: int, strict: list[tuple[int, int]], data: Comparisons,
          margin: float, positive: Sequence[int],
          exact_features: Callable[[], list[list[Fraction]]] | None) -> LinearFit:
    n_s = len(strict)
    # variables: c (dim, free), xi (n_s >= 0)
    blocks = []
    b = []
    if d_s is not None:
        blocks.append(sp.hstack([-d_s, -sp.eye(n_s)]))
        b.extend([-margin] * n_s)
    for k in positive:
        blocks.append(sp.csr_matrix(([-1.0], ([0], [k])), shape=(1, dim + n_s)))
        b.append(-margin)
    a_ub = sp.vstack(blocks).tocsr() if blocks else None
    a_eq = b_eq = None
    if d_t is not None:
        a_eq = sp.hstack([d_t, sp.csr_matrix((d_t.shape[0], n_s))]).tocsr()
        b_eq = np.zeros(d_t.shape[0])
    cost = np.concatenate([np.zeros(dim), np.ones(n_s)])
    bounds = [(-1e6, 1e6)] * dim + [(0.0, None)] * n_s
    res = scipy.optimize.linprog(cost, A_ub=a_ub, b_ub=np.array(b) if b else None,
                                 A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if res.status != 0:
        raise SolverError(f"soft max-margin LP: HiGHS stopped with status {res.status}: "
                          f"{res.message}")
    c = np.asarray(res.x[:dim])
    gaps = d_s @ c if d_s is not None else np.zeros(0)
    strict_cmp = [x for x in data.comparisons if x.relation == ">"]
    tol = 1e-9 * max(1.0, float(np.abs(gaps).max(initial=0.0)))
    violated = tuple(x for x, g in zip(strict_cmp, gaps, strict=True) if g <= tol)
    kept = [g for g in gaps if g > tol]
    return LinearFit(c, float(min(kept)) if kept else None, violated, False)


def _rationalise(c: np.ndarray, denominator: int) -> list[Fraction]:
    return [Fraction(float(x)).limit_denominator(denominator) for x in c]


def _exact(c: np.ndarray, feats: list[list[Fraction]], strict: list[tuple[int, int]],
           ties: list[tuple[int, int]], positive: Sequence[int],
           data: Comparisons) -> LinearFit | None:
    """Round ``c`` to rationals satisfying the ties exactly and check the strict gaps."""
    dim = len(feats[0]) if feats else 0
    tie_rows = [[a - b for a, b in zip(feats[i], feats[j], strict=True)] for i, j in ties]
    tie_rows = [r for r in tie_rows if any(x != 0 for x in r)]
    basis = exact_kernel(tie_rows) if tie_rows else None
    for den in (10**4, 10**6, 10**9, 10**12):
        if basis is None:
            cand = _rationalise(c, den)
        elif not basis:
            cand = [Fraction(0)] * dim
        else:
            b = np.array([[float(x) for x in v] for v in basis]).T
            lam, *_ = np.linalg.lstsq(b, c, rcond=None)
            lam_q = _rationalise(lam, den)
            cand = [sum((lq * v[r] for lq, v in zip(lam_q, basis, strict=True)), Fraction(0))
                    for r in range(dim)]
        gaps = [sum(((a - b) * x for a, b, x in zip(feats[i], feats[j], cand, strict=True)),
                    Fraction(0)) for i, j in strict]
        if all(g > 0 for g in gaps) and all(cand[k] > 0 for k in positive):
            for i, j in ties:
                if sum(((a - b) * x for a, b, x in zip(feats[i], feats[j], cand, strict=True)),
                       Fraction(0)) != 0:
                    break
            else:
                arr = np.array(cand, dtype=object)
                return LinearFit(arr, min(gaps) if gaps else None, (), True)
    return None


def certificate_for(
    formalism: str,
    env: FiniteMDP | None,
    data: Comparisons,
    feature_map: FeatureMap,
    *,
    description: str = "",
    minimise: bool = True,
) -> ImpossibilityCertificate | None:
    """Exact proof that no ``c`` satisfies the comparisons on ``feature_map``'s features.

    Finds Motzkin multipliers (:func:`objspec.certificates.farkas_certificate`), then
    shrinks the comparisons to a minimal infeasible subset (deletion filter: a comparison is
    dropped when the rest stays infeasible), and returns the verified certificate; None if
    the system is feasible (then there is no proof to find). Raises
    :class:`~objspec.errors.NoFitFoundError` when the features cannot be computed exactly
    (an environment or policy given in floats whose rows are not exact distributions).
    """
    if feature_map.precondition is not None:
        try:
            feature_map.precondition(env, data.items)
        except CertificateError:
            return None
    comps = list(data.comparisons)
    used = sorted({x for c in comps for x in (c.first, c.second)})
    try:
        rows = feature_map.compute(env, [data.items[k] for k in used])
    except (InvalidModelError, InvalidPolicyError) as exc:
        raise NoFitFoundError(
            f"fit({formalism}): no specification was found in floating point, and a proof "
            f"that none exists needs exact rational input: {exc}") from None
    feat_of = {k: tuple(Fraction(x) for x in row) for k, row in zip(used, rows, strict=True)}

    def solve(cs: list[Comparison]) -> tuple[FarkasCertificate, list[int]] | None:
        items = sorted({x for c in cs for x in (c.first, c.second)})
        index = {k: n for n, k in enumerate(items)}
        feats = [feat_of[k] for k in items]
        strict = [(index[c.first], index[c.second]) for c in cs if c.relation == ">"]
        ties = [(index[c.first], index[c.second]) for c in cs if c.relation == "="]
        if feature_map.positive:
            dim = len(feats[0])
            zero = len(feats)
            feats.append(tuple(Fraction(0) for _ in range(dim)))
            for k in feature_map.positive:
                feats.append(tuple(Fraction(int(m == k)) for m in range(dim)))
                strict.append((len(feats) - 1, zero))
        cert = farkas_certificate(feats, strict, ties)
        return None if cert is None else (cert, items)

    found = solve(comps)
    if found is None:
        return None
    cert, _ = found
    if minimise:
        # keep only comparisons with a non-zero multiplier, then delete while infeasible
        n_strict_data = sum(1 for c in comps if c.relation == ">")
        strict_c = [c for c in comps if c.relation == ">"]
        tie_c = [c for c in comps if c.relation == "="]
        support = [c for c, z in zip(strict_c, cert.strict_multipliers[:n_strict_data],
                                     strict=True) if z != 0]
        support += [c for c, y in zip(tie_c, cert.tie_multipliers, strict=True) if y != 0]
        if support and solve(support) is not None:
            comps = support
        k = 0
        while k < len(comps):
            trial = comps[:k] + comps[k + 1:]
            if trial and any(c.relation == ">" for c in trial) or (
                    trial and feature_map.positive):
                if solve(trial) is not None:
                    comps = trial
                    continue
            k += 1
        found = solve(comps)
        assert found is not None
        cert, _ = found
    strict_c = [c for c in comps if c.relation == ">"]
    tie_c = [c for c in comps if c.relation == "="]
    ordered = strict_c + tie_c
    items_order: dict[int, int] = {}
    for c in ordered:
        for x in (c.first, c.second):
            items_order.setdefault(x, len(items_order))
    # re-solve in the certificate's own item order (first appearance in the comparisons),
    # on features recomputed for these items alone: features may be relative to the item
    # set (one-hot of classes), and check() recomputes them from the certificate's items
    keys = list(items_order)
    feats = [tuple(Fraction(x) for x in row)
             for row in feature_map.compute(env, [data.items[k] for k in keys])]
    strict = [(items_order[c.first], items_order[c.second]) for c in strict_c]
    ties = [(items_order[c.first], items_order[c.second]) for c in tie_c]
    if feature_map.positive:
        dim = len(feats[0])
        zero = len(feats)
        aug = list(feats) + [tuple(Fraction(0) for _ in range(dim))]
        for kk in feature_map.positive:
            aug.append(tuple(Fraction(int(m == kk)) for m in range(dim)))
            strict.append((len(aug) - 1, zero))
        fc = farkas_certificate(aug, strict, ties)
    else:
        fc = farkas_certificate(feats, strict, ties)
    assert fc is not None
    out = ImpossibilityCertificate(
        formalism=formalism,
        comparisons=tuple(ordered),
        item_ids=tuple(keys),
        items=tuple(data.items[k] for k in keys),
        env=env,
        feature_map=feature_map,
        features=tuple(feats),
        strict_multipliers=fc.strict_multipliers,
        tie_multipliers=fc.tie_multipliers,
        description=description,
    )
    out.check()
    return out


def not_expressible(formalism: str, cert: ImpossibilityCertificate | ClassBoundCertificate
                    ) -> NotExpressibleError:
    """The error ``fit`` raises: the explanation, with ``certificate`` attached."""
    return NotExpressibleError(f"no {cert.description or formalism} specification explains "
                               f"the data: {cert.explanation()}", certificate=cert)


def timed(start: float) -> float:
    """Seconds since ``start`` (``time.perf_counter()``)."""
    return time.perf_counter() - start


@dataclass(frozen=True)
class ClassBoundCertificate:
    """Proof that no specification of a formalism satisfies a chain of comparisons, by a
    class-bounding lemma (:class:`objspec.structural.StructuralClassBound`, e.g. L-LTL-det).

    ``comparisons`` is a path through the data from the item ``start`` (each step ``>`` or
    ``=``, a tie read in either direction) that passes through the item ``pivot`` with a strict step
    before it and one after it, so every specification must value ``pivot`` strictly between
    two other values. The lemma (its precondition decided exactly on ``env`` and the pivot's
    policy) says the pivot's value is an extreme value of the formalism's range (for LTL:
    a probability in ``[0, 1]`` that is 0 or 1), so nothing lies strictly on both sides of
    it. This is a counting argument, not a Farkas certificate.

    :meth:`check` re-decides the lemma's precondition exactly and re-walks the chain.
    """

    formalism: str
    comparisons: tuple[Comparison, ...]
    pivot: int
    start: int
    item_ids: tuple[int, ...]
    items: tuple[Any, ...]
    env: FiniteMDP | None = field(repr=False)
    lemma: StructuralClassBound = field(repr=False)
    statement: str = ""
    description: str = ""

    @property
    def rows(self) -> tuple[int, ...]:
        """The positions of the comparisons in the data as given."""
        return tuple(c.row for c in self.comparisons)

    def _walk(self) -> list[tuple[int, bool]]:
        """The items along the chain with whether the step into each is strict."""
        if not self.comparisons:
            raise CertificateError("certificate: no comparisons")
        start = self.start
        out = [(start, False)]
        cur = start
        for c in self.comparisons:
            if cur == c.first:
                cur, strict = c.second, c.relation == ">"
            elif c.relation == "=" and cur == c.second:
                cur, strict = c.first, False
            else:
                raise CertificateError(
                    f"certificate: comparison {c} does not continue the chain at item {cur} "
                    "(each step must lead from the better item to the worse one)")
            out.append((cur, strict))
        return out

    def check(self) -> None:
        """Re-check the certificate exactly; raise :class:`~objspec.errors.CertificateError`.

        Decides the lemma's precondition on the environment and the pivot's policy in
        rational arithmetic, checks that the comparisons form a chain through the pivot with
        a strict step on each side of it, and that the lemma is proved for the formalism.
        """
        if self.formalism not in self.lemma.proved_for:
            raise CertificateError(
                f"certificate: lemma {self.lemma.name} is not proved for {self.formalism}")
        if self.lemma.bound != 2:
            raise CertificateError(
                f"certificate: lemma {self.lemma.name} bounds the classes by "
                f"{self.lemma.bound}; the chain argument needs the two extreme values")
        if len(self.items) != len(self.item_ids):
            raise CertificateError(
                f"certificate: {len(self.items)} items for {len(self.item_ids)} ids")
        walk = self._walk()
        ids = [x for x, _ in walk]
        if self.pivot not in ids:
            raise CertificateError(f"certificate: the pivot {self.pivot} is not on the chain")
        k = ids.index(self.pivot)
        if not any(s for _, s in walk[1:k + 1]) or not any(s for _, s in walk[k + 1:]):
            raise CertificateError(
                f"certificate: the chain has no strict comparison on both sides of item "
                f"{self.pivot}")
        if self.pivot not in self.item_ids:
            raise CertificateError(f"certificate: the pivot {self.pivot} is not listed")
        policy = self.items[self.item_ids.index(self.pivot)]
        if self.env is None:
            raise CertificateError("certificate: the lemma needs the environment")
        try:
            self.lemma.check_precondition(self.env, [policy])
        except (InvalidModelError, InvalidPolicyError) as exc:
            raise CertificateError(
                f"certificate: lemma {self.lemma.name} needs an exact environment and policy "
                f"({exc})") from None

    def explanation(self) -> str:
        """The proof in one sentence."""
        n = len(self.comparisons)
        listed = ", ".join(str(c) for c in self.comparisons)
        return (f"these {n} comparisons ({listed}) cannot all hold for any "
                f"{self.description or self.formalism} specification, because they put item "
                f"{self.pivot} strictly between two others, and {self.statement}")

    def __repr__(self) -> str:
        return f"<ClassBoundCertificate {self.formalism}: {self.explanation()}>"

    __str__ = explanation
