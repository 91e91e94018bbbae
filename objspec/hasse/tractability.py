"""The tractability table: how each formalism is optimised, what the result guarantees, and
how long it takes, computed from the formalism registry (never hard-coded).

For every registered formalism (:func:`objspec.formalisms.registry.registered_formalisms`)
the row reads the :class:`~objspec.formalisms.optimisation.Optimiser` the formalism
registers (:attr:`~objspec.formalisms.registry.FormalismInfo.optimiser`), or the generic
local search :data:`~objspec.formalisms.optimisation.GENERIC` when it registers none: the
method, the strongest guarantee it gives for stationary policies (``exact``,
``certified``, ``local``, ``heuristic``: :data:`~objspec.formalisms.optimisation.GUARANTEES`),
the complexity statement with its reference, and whether ``policies="finite-memory"`` is
supported. With ``measure=True`` each formalism is also optimised once on a seeded
benchmark environment (:func:`benchmark_environment`) with a specification drawn by its
registered ``sampler`` (a lexicographic policy ordering for PO, which has none:
:func:`benchmark_spec`), and the time, the guarantee reached and the iterations are
recorded.

:func:`guarantee_svg` and :func:`draw_guarantees` draw the Hasse diagram of
:mod:`objspec.hasse` with every class coloured by the strongest guarantee among its
members (each member's own guarantee is written beside its name).

Examples
--------
>>> table = tractability_table()
>>> table.rows[0].acronym, table.rows[0].guarantee in GUARANTEES
('MR', True)
>>> len(table.rows) == len(registered_formalisms())
True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from objspec.display.svg import escape
from objspec.display.tables import Table
from objspec.errors import ObjspecError
from objspec.formalisms.optimisation import GENERIC, GUARANTEES, Optimiser
from objspec.formalisms.reading import one_line
from objspec.formalisms.registry import FormalismInfo, formalism_info, registered_formalisms
from objspec.mdp.model import FiniteMDP

__all__ = [
    "GUARANTEE_COLOURS",
    "Measurement",
    "TractabilityRow",
    "TractabilityTable",
    "benchmark_environment",
    "benchmark_spec",
    "draw_guarantees",
    "guarantee_colours",
    "guarantee_svg",
    "measure_formalism",
    "optimiser_of",
    "tractability_table",
]

#: The fill colour of each guarantee in the coloured Hasse diagram (colour-blind-safe).
GUARANTEE_COLOURS: dict[str, str] = {
    "exact": "#8fd19e",
    "certified": "#9ecae1",
    "local": "#fdd49e",
    "heuristic": "#f4a6a6",
}

#: Propositions of the benchmark environments (the labels the samplers of LTL and RM read).
PROPOSITIONS: tuple[str, ...] = ("p", "q")

#: Most states of the acyclic benchmark environment of inner-nonlinear formalisms (their
#: evaluators enumerate the finitely many returns, which grow with the number of states).
ACYCLIC_STATES = 8


def optimiser_of(info: FormalismInfo) -> tuple[Optimiser, bool]:
    """The optimiser ``spec.optimise`` uses for ``info``'s formalism, and whether the
    formalism registers its own (False: the generic local search).

    Examples
    --------
    >>> opt, own = optimiser_of(formalism_info("PO"))
    >>> opt.guarantee in GUARANTEES
    True
    """
    if info.optimiser is not None:
        return info.optimiser, True
    return GENERIC, False


@dataclass(frozen=True)
class Measurement:
    """One optimisation on the benchmark environment.

    Attributes
    ----------
    seconds : float
        Wall-clock time of ``spec.optimise`` (re-evaluation included), or of the failed try.
    guarantee : str or None
        The guarantee of the result (None when it failed).
    iterations : int
    states : int
        States of the environment it ran on.
    value : float or None
        The optimum's value (None for orderings and failures).
    error : str
        One line saying why no result came back ("" on success).
    """

    seconds: float
    guarantee: str | None
    iterations: int
    states: int
    value: float | None = None
    error: str = ""


@dataclass(frozen=True)
class TractabilityRow:
    """One formalism's row of the tractability table.

    Attributes
    ----------
    acronym, name : str
    method : str
        The registered optimiser's method.
    guarantee : str
        The strongest guarantee it gives for stationary policies.
    complexity : str
        Its complexity statement, with the reference.
    finite_memory : bool
        Whether ``policies="finite-memory"`` is supported.
    registered : bool
        Whether the formalism registers its own optimiser (False: the generic search).
    measurement : Measurement or None
        The benchmark run (None unless measured).
    """

    acronym: str
    name: str
    method: str
    guarantee: str
    complexity: str
    finite_memory: bool
    registered: bool
    measurement: Measurement | None = None

    def as_dict(self) -> dict[str, Any]:
        """The row as a JSON-ready dict (``measurement`` a dict or None)."""
        return asdict(self)


STATIC_COLUMNS = ("formalism", "method", "guarantee", "finite-memory", "complexity")
MEASURED_COLUMNS = ("time (s)", "reached", "iterations", "states")


@dataclass(frozen=True)
class TractabilityTable:
    """The tractability table: one :class:`TractabilityRow` per registered formalism.

    Prints as aligned text, renders as HTML in Jupyter, converts to Markdown
    (:meth:`to_markdown`, the table of docs/optimisation.md) and to JSON
    (:meth:`as_dicts`).

    Attributes
    ----------
    rows : tuple of TractabilityRow
    settings : dict
        How the measurements were taken (empty when not measured).
    """

    rows: tuple[TractabilityRow, ...]
    settings: dict[str, Any]

    @property
    def measured(self) -> bool:
        """Whether the rows carry measurements."""
        return any(r.measurement is not None for r in self.rows)

    def columns(self) -> list[str]:
        """The column names (the measured ones only when measured)."""
        return list(STATIC_COLUMNS) + (list(MEASURED_COLUMNS) if self.measured else [])

    def cells(self) -> list[list[str]]:
        """The rows as text cells, in :meth:`columns` order."""
        out = []
        for r in self.rows:
            row = [r.acronym, r.method + ("" if r.registered else " (generic)"), r.guarantee,
                   "yes" if r.finite_memory else "no", r.complexity]
            if self.measured:
                m = r.measurement
                if m is None:
                    row += ["", "", "", ""]
                elif m.error:
                    row += [f"{m.seconds:.3g}", f"failed: {m.error}", "", str(m.states)]
                else:
                    row += [f"{m.seconds:.3g}", str(m.guarantee), str(m.iterations),
                            str(m.states)]
            out.append(row)
        return out

    def to_table(self) -> Table:
        """A :class:`objspec.display.Table` of :meth:`cells` (HTML in Jupyter)."""
        return Table(self.columns(), self.cells(), title="Tractability of optimisation")

    def __str__(self) -> str:
        """Aligned text; the complexity statements (long, often shared) and the errors of
        failed measurements follow the table."""
        cols = self.columns()
        keep = [i for i, c in enumerate(cols) if c != "complexity"]
        cells = [[row[i] for i in keep] for row in self.cells()]
        failed = []
        for row, r in zip(cells, self.rows, strict=True):
            if r.measurement is not None and r.measurement.error:
                row[keep.index(cols.index("reached"))] = "failed (below)"
                failed.append(f"  {r.acronym}: {r.measurement.error}")
        lines = [str(Table([cols[i] for i in keep], cells)), "complexity:"]
        shared: dict[str, list[str]] = {}
        for r in self.rows:
            shared.setdefault(r.complexity, []).append(r.acronym)
        lines += [f"  {', '.join(names)}: {text}" for text, names in shared.items()]
        if failed:
            lines += ["failed measurements:", *failed]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.to_table()._repr_html_()

    def to_markdown(self) -> str:
        """The table in Markdown (``|`` in cells escaped)."""
        cols = self.columns()

        def cell(x: str) -> str:
            return x.replace("|", "\\|")

        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(cell(x) for x in row) + " |" for row in self.cells()]
        return "\n".join(lines)

    def as_dicts(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per row."""
        return [r.as_dict() for r in self.rows]

    def guarantees(self) -> dict[str, str]:
        """Acronym -> registered guarantee."""
        return {r.acronym: r.guarantee for r in self.rows}


def benchmark_environment(n_states: int = 20, n_actions: int = 2, *, seed: int = 0,
                          acyclic: bool = False) -> FiniteMDP:
    """The seeded environment a formalism is timed on.

    ``acyclic=False``: :func:`objspec.environments.random_labelled_mdp` with 3 successors
    per state-action pair and the propositions :data:`PROPOSITIONS` (float
    probabilities). ``acyclic=True`` (for formalisms whose sampler registers
    ``acyclic_sampler``, the inner nonlinear ones, whose specifications are only exact
    where every trajectory stops collecting reward):
    :func:`objspec.reductions.checking.random_rational_mdp` with at most
    :data:`ACYCLIC_STATES` states, rational and acyclic.

    Examples
    --------
    >>> benchmark_environment(5, seed=1).n_states, benchmark_environment(30, acyclic=True).n_states
    (5, 8)
    """
    from objspec.environments.generators import random_labelled_mdp
    from objspec.reductions.checking import random_rational_mdp

    if n_states < 1 or n_actions < 1:
        raise ObjspecError(f"need n_states, n_actions >= 1; got {n_states}, {n_actions}")
    if acyclic:
        return random_rational_mdp(max(2, min(n_states, ACYCLIC_STATES)), n_actions, seed,
                                   acyclic=True)
    return random_labelled_mdp(n_states, n_actions, PROPOSITIONS, min(3, n_states),
                               seed=seed)


def benchmark_spec(info: FormalismInfo, env: FiniteMDP, rng: np.random.Generator) -> Any:
    """The specification a formalism is timed with: one drawn by its registered
    ``sampler(env, rng)``; for policy orderings (PO, which registers none), the
    lexicographic order of the action probabilities in a random order of the states (as
    PO's hypothesis strategy draws them).

    Raises
    ------
    ObjspecError
        For a formalism with neither.

    Examples
    --------
    >>> env = benchmark_environment(4)
    >>> benchmark_spec(formalism_info("PO"), env, np.random.default_rng(0)).acronym
    'PO'
    """
    if info.sampler is not None:
        return info.sampler(env, rng)
    from objspec.formalisms.policy_level import PolicyOrdering

    if info.cls is PolicyOrdering:
        from objspec import orders

        order = [int(s) for s in rng.permutation(env.n_states)]
        return PolicyOrdering(orders.pullback(
            orders.lexicographic(),
            lambda pi: [float(x) for s in order for x in pi.probabilities[s]]))
    raise ObjspecError(f"{info.acronym} registers no sampler: nothing to time it on")


def measure_formalism(info: FormalismInfo, *, n_states: int = 20, n_actions: int = 2,
                      seed: int = 0, time_limit: float = 5.0) -> Measurement:
    """Optimise one specification of ``info``'s formalism on the benchmark environment
    (:func:`benchmark_environment`, :func:`benchmark_spec`) with ``time_limit`` seconds;
    errors are recorded, not raised.

    Examples
    --------
    >>> m = measure_formalism(formalism_info("MR"), n_states=3, time_limit=2.0)
    >>> m.error, m.guarantee in GUARANTEES, m.states
    ('', True, 3)
    """
    env = benchmark_environment(n_states, n_actions, seed=seed, acyclic=info.acyclic_sampler)
    start = time.perf_counter()
    try:
        spec = benchmark_spec(info, env, np.random.default_rng(seed))
        opt = spec.optimise(env, seed=seed, time_limit=time_limit)
    except Exception as exc:  # a failing optimiser is a row of the table, not a crash
        return Measurement(time.perf_counter() - start, None, 0, env.n_states,
                           error=f"{type(exc).__name__}: {one_line(exc)}")
    value = None if opt.value is None else float(opt.value)
    return Measurement(time.perf_counter() - start, opt.guarantee, int(opt.iterations),
                       env.n_states, value)


def tractability_table(
    *, measure: bool = False, formalisms: Sequence[str] | None = None,
    n_states: int = 20, n_actions: int = 2, seed: int = 0, time_limit: float = 5.0,
    progress: Callable[[int, int, str], None] | None = None,
) -> TractabilityTable:
    """The tractability table of the registered formalisms.

    Parameters
    ----------
    measure : bool
        Also optimise each formalism once on the benchmark environment
        (:func:`measure_formalism`);
        without it the table has only the registered (static) columns and is instant.
    formalisms : sequence of str, optional
        Acronyms or names of the rows (default: every registered formalism, in the
        registry's order).
    n_states, n_actions, seed, time_limit :
        The benchmark environment and the time limit of each optimisation.
    progress : callable, optional
        ``progress(done, total, acronym)`` before each measurement.

    Raises
    ------
    InvalidSpecificationError
        For a name no formalism has.

    Examples
    --------
    >>> t = tractability_table(measure=True, formalisms=["MR"], n_states=3)
    >>> t.rows[0].measurement.states, t.columns()[-1]
    (3, 'states')
    """
    if time_limit <= 0:
        raise ObjspecError(f"time_limit must be positive, got {time_limit}")
    infos = (list(registered_formalisms()) if formalisms is None
             else [formalism_info(f) for f in formalisms])
    rows = []
    for i, info in enumerate(infos):
        opt, own = optimiser_of(info)
        m = None
        if measure:
            if progress is not None:
                progress(i, len(infos), info.acronym)
            m = measure_formalism(info, n_states=n_states, n_actions=n_actions, seed=seed,
                        time_limit=time_limit)
        rows.append(TractabilityRow(info.acronym, info.name, opt.method, opt.guarantee,
                                    opt.complexity, opt.finite_memory, own, m))
    if measure and progress is not None:
        progress(len(infos), len(infos), "")
    settings = ({"n_states": n_states, "n_actions": n_actions, "seed": seed,
                 "time_limit": time_limit, "acyclic_states": ACYCLIC_STATES}
                if measure else {})
    return TractabilityTable(tuple(rows), settings)


# ---------------------------------------------------------------- the coloured diagram


def _strongest(guarantees: Sequence[str]) -> str:
    return min(guarantees, key=GUARANTEES.index)


def guarantee_colours(table: TractabilityTable | None = None,
                      diagram: Any = None) -> tuple[dict[Any, str], dict[Any, str]]:
    """``(fills, labels)`` for the Hasse diagram: each class filled with the colour
    (:data:`GUARANTEE_COLOURS`) of the strongest registered guarantee among its members,
    and labelled with each member and its guarantee, one per line.

    Examples
    --------
    >>> fills, labels = guarantee_colours()
    >>> set(fills.values()) <= set(GUARANTEE_COLOURS.values())
    True
    >>> any(label.startswith("MR: ") for label in labels.values())
    True
    """
    from objspec.hasse.preorder import hasse_diagram

    t = tractability_table() if table is None else table
    g = t.guarantees()
    h = hasse_diagram() if diagram is None else diagram
    fills, labels = {}, {}
    for node in h.nodes:
        members = [m for m in str(node).split(" = ")]
        known = [g[m] for m in members if m in g]
        if known:
            fills[node] = GUARANTEE_COLOURS[_strongest(known)]
        labels[node] = "\n".join(f"{m}: {g[m]}" if m in g else m for m in members)
    return fills, labels


KEY = "fill: the strongest registered guarantee in the class (key below)"
COLOURED_TITLE = "Expressivity and optimisation guarantees (computed)"


def guarantee_svg(table: TractabilityTable | None = None) -> str:
    """The Hasse diagram as SVG, coloured by guarantee (:func:`guarantee_colours`), with a
    colour key drawn under it.

    Examples
    --------
    >>> svg = guarantee_svg()
    >>> svg.startswith("<?xml") and "MR: " in svg and svg.rstrip().endswith("</svg>")
    True
    """
    from objspec.hasse.drawing import to_svg

    fills, labels = guarantee_colours(table)
    svg = to_svg(colour_by=fills, labels=labels, title=COLOURED_TITLE, caption=KEY)
    return _with_key(svg)


def _with_key(svg: str) -> str:
    """``svg`` made 24 pixels taller, with a row of coloured boxes naming the guarantees
    along its new bottom edge."""
    import re

    m = re.search(r'height="(\d+)" viewBox="0 0 (\d+) (\d+)"', svg)
    if m is None:
        raise ObjspecError("unexpected SVG header: cannot add the colour key")
    height = int(m.group(1)) + 24
    svg = (svg[:m.start()] + f'height="{height}" viewBox="0 0 {m.group(2)} {height}"'
           + svg[m.end():])
    svg = svg.replace('<rect width="100%" height="100%" fill="white"/>',
                      f'<rect width="100%" height="{height}" fill="white"/>', 1)
    parts = []
    for i, (name, colour) in enumerate(GUARANTEE_COLOURS.items()):
        x = 10.0 + 90.0 * i
        parts.append(f'<rect x="{x:.0f}" y="{height - 18}" width="14" height="12" '
                     f'fill="{colour}" stroke="#334466"/><text x="{x + 18:.0f}" '
                     f'y="{height - 8}">{escape(name)}</text>')
    head, tail = svg.rsplit("</svg>", 1)
    return head + "".join(parts) + "\n</svg>" + tail


def draw_guarantees(path: str | Path | None = None, ax: Any = None,
                    table: TractabilityTable | None = None) -> Any:
    """The Hasse diagram drawn with matplotlib, coloured by guarantee, with a legend;
    saved to ``path`` if given (``.svg``, ``.png`` or ``.pdf``).

    Examples
    --------
    >>> fig = draw_guarantees()
    >>> len(fig.axes[0].get_legend().get_texts())
    4
    """
    from objspec.hasse.drawing import draw

    fills, labels = guarantee_colours(table)
    return draw(path, ax, colour_by=fills, labels=labels, legend=GUARANTEE_COLOURS,
                title=COLOURED_TITLE)
