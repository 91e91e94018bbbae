"""Printers for Jupyter: SVG state graphs, HTML tables of policies and evaluation results.

The printers live here, apart from the objects they draw (sympy's and Spot's style); the
objects' ``_repr_svg_`` / ``_repr_html_`` methods are one-line delegations. Nothing needs
graphviz: graphs are laid out with networkx (or on a grid when states are named
``"(row,col)"``, as :func:`objspec.environments.gridworld` names them) and written as SVG
text by :func:`graph_svg`.

* :func:`mdp_svg`: the state graph of a :class:`~objspec.FiniteMDP`, optionally with the
  chain a policy induces;
* :func:`policy_html`: a policy's action probabilities as a shaded table;
* :func:`evaluation_table`: values and ranks of policies under several specifications;
* :func:`task_html`: an example task (description, specification, environment drawing);
* :func:`graph_svg`: the generic SVG writer behind them.

Examples
--------
>>> from objspec.environments import E3
>>> svg = mdp_svg(E3())
>>> svg.startswith("<svg") and "s0" in svg and "</svg>" in svg
True
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from objspec.errors import InvalidPolicyError, ObjspecError
from objspec.mdp.policy import Policy, as_policy_batch

if TYPE_CHECKING:
    from objspec.mdp.model import FiniteMDP

__all__ = [
    "Table",
    "evaluation_table",
    "graph_svg",
    "mdp_svg",
    "policy_html",
    "task_html",
    "MAX_GRAPH_STATES",
    "MAX_GRID_STATES",
]

#: Largest MDP drawn as a node-link graph by ``_repr_svg_``.
MAX_GRAPH_STATES = 40
#: Largest gridworld (states named ``"(row,col)"``) drawn as a grid by ``_repr_svg_``.
MAX_GRID_STATES = 600

_GRID_NAME = re.compile(r"^\((\d+),(\d+)\)$")
_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
)


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _fmt(p: float) -> str:
    return f"{p:.3g}"


@dataclass
class _Edge:
    source: Any
    target: Any
    label: str = ""
    color: str = "#444"
    width: float = 1.2


@dataclass
class _Node:
    key: Any
    text: str
    subtext: str = ""
    initial: bool = False
    accepting: bool = False
    fill: str = "#ffffff"
    extra: dict[str, str] = field(default_factory=dict)


def graph_svg(
    nodes: Sequence[_Node] | Sequence[tuple[Any, str]],
    edges: Iterable[_Edge | tuple[Any, Any, str]],
    positions: Mapping[Any, tuple[float, float]] | None = None,
    *,
    spacing: float = 120.0,
    radius: float = 20.0,
    title: str = "",
) -> str:
    """An SVG string of a directed graph with labelled nodes and edges.

    Parameters
    ----------
    nodes : sequence
        ``(key, text)`` pairs (or the module's node records).
    edges : iterable
        ``(source_key, target_key, label)`` triples (or edge records). Self-loops and
        pairs of opposite edges are drawn apart.
    positions : mapping, optional
        Node key -> ``(x, y)`` in layout units (``y`` grows downwards); by default a
        networkx Kamada-Kawai layout (spring layout beyond 30 nodes, seeded).
    spacing : float
        Pixels per layout unit (layouts are rescaled so nodes are about this far apart).
    radius : float
        Node radius in pixels.
    title : str
        Optional caption at the top.

    Examples
    --------
    >>> svg = graph_svg([(0, "u0"), (1, "u1")], [(0, 1, "a / 1"), (1, 1, "true")])
    >>> svg.count("<circle"), "a / 1" in svg
    (2, True)
    """
    node_list = [n if isinstance(n, _Node) else _Node(n[0], n[1]) for n in nodes]
    edge_list = [e if isinstance(e, _Edge) else _Edge(e[0], e[1], e[2]) for e in edges]
    if not node_list:
        raise ObjspecError("graph_svg needs at least one node")
    keys = [n.key for n in node_list]
    pos = dict(positions) if positions is not None else _layout(keys, edge_list)
    missing = [k for k in keys if k not in pos]
    if missing:
        raise ObjspecError(f"positions miss the nodes {missing[:5]}")
    xy = np.array([pos[k] for k in keys], dtype=float)
    xy -= xy.min(axis=0)
    scale = spacing / _typical_distance(xy)
    xy *= scale
    margin = radius * 3 + 30
    top = margin + (22 if title else 0)
    xy += np.array([margin + 40, top])
    at = {k: (float(x), float(y)) for k, (x, y) in zip(keys, xy, strict=True)}
    width = float(xy[:, 0].max()) + margin + 60
    height = float(xy[:, 1].max()) + margin + 14
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="11">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="context-stroke"/></marker></defs>',
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    if title:
        out.append(f'<text x="10" y="18" font-size="13" font-weight="bold">{_esc(title)}</text>')
    pairs = {(e.source, e.target) for e in edge_list}
    for e in edge_list:
        out.append(_edge_svg(e, at, radius, (e.target, e.source) in pairs))
    for n in node_list:
        out.append(_node_svg(n, at[n.key], radius))
    out.append("</svg>")
    return "\n".join(out)


def _typical_distance(xy: np.ndarray) -> float:
    if len(xy) < 2:
        return 1.0
    diffs = xy[:, None, :] - xy[None, :, :]
    dist = np.sqrt((diffs**2).sum(axis=2))
    dist[dist == 0] = np.inf
    nearest = dist.min(axis=1)
    finite = nearest[np.isfinite(nearest)]
    return float(np.median(finite)) if finite.size else 1.0


def _layout(keys: list[Any], edges: list[_Edge]) -> dict[Any, tuple[float, float]]:
    import networkx as nx

    if len(keys) == 1:
        return {keys[0]: (0.0, 0.0)}
    if len(keys) <= 3:
        return {k: (float(i), 0.0) for i, k in enumerate(keys)}
    graph = nx.Graph()
    graph.add_nodes_from(keys)
    graph.add_edges_from((e.source, e.target) for e in edges if e.source != e.target)
    if len(keys) <= 30 and nx.is_connected(graph):
        layout = nx.kamada_kawai_layout(graph)
    else:
        layout = nx.spring_layout(graph, seed=0)
    return {k: (float(v[0]), float(v[1])) for k, v in layout.items()}


def _node_svg(node: _Node, at: tuple[float, float], radius: float) -> str:
    x, y = at
    parts = []
    if node.initial:
        parts.append(
            f'<line x1="{x - radius - 26:.1f}" y1="{y:.1f}" x2="{x - radius - 1:.1f}" '
            f'y2="{y:.1f}" stroke="#000" stroke-width="1.4" marker-end="url(#arrow)"/>'
        )
    parts.append(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="{node.fill}" '
        'stroke="#000" stroke-width="1.3"/>'
    )
    if node.accepting:
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius - 4:.1f}" fill="none" '
            'stroke="#000" stroke-width="1"/>'
        )
    parts.append(
        f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle">{_esc(node.text)}</text>'
    )
    if node.subtext:
        parts.append(
            f'<text x="{x:.1f}" y="{y + radius + 13:.1f}" text-anchor="middle" '
            f'fill="#b03060">{_esc(node.subtext)}</text>'
        )
    return "<g>" + "".join(parts) + "</g>"


def _edge_svg(
    edge: _Edge, at: Mapping[Any, tuple[float, float]], radius: float, curved: bool
) -> str:
    x1, y1 = at[edge.source]
    x2, y2 = at[edge.target]
    stroke = f'stroke="{edge.color}" stroke-width="{edge.width:.2f}" fill="none"'
    label = _esc(edge.label)
    if edge.source == edge.target:
        r = radius
        d = (
            f"M{x1 - 0.5 * r:.1f},{y1 - 0.87 * r:.1f} C{x1 - 1.2 * r:.1f},{y1 - 2.6 * r:.1f} "
            f"{x1 + 1.2 * r:.1f},{y1 - 2.6 * r:.1f} {x1 + 0.5 * r:.1f},{y1 - 0.87 * r:.1f}"
        )
        text = (
            f'<text x="{x1:.1f}" y="{y1 - 2.2 * r:.1f}" text-anchor="middle" '
            f'fill="{edge.color}">{label}</text>'
        )
        return f'<g><path d="{d}" {stroke} marker-end="url(#arrow)"/>{text}</g>'
    dx, dy = x2 - x1, y2 - y1
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    nx_, ny_ = -uy, ux
    bend = 0.18 * length if curved else 0.0
    sx, sy = x1 + ux * radius, y1 + uy * radius
    ex, ey = x2 - ux * (radius + 1), y2 - uy * (radius + 1)
    cx, cy = (x1 + x2) / 2 + nx_ * bend, (y1 + y2) / 2 + ny_ * bend
    if curved:
        # start and end on the circles, towards the control point
        for_start = math.atan2(cy - y1, cx - x1)
        for_end = math.atan2(cy - y2, cx - x2)
        sx, sy = x1 + radius * math.cos(for_start), y1 + radius * math.sin(for_start)
        ex, ey = x2 + (radius + 1) * math.cos(for_end), y2 + (radius + 1) * math.sin(for_end)
    d = f"M{sx:.1f},{sy:.1f} Q{cx:.1f},{cy:.1f} {ex:.1f},{ey:.1f}"
    lx, ly = (sx + 2 * cx + ex) / 4, (sy + 2 * cy + ey) / 4
    text = (
        f'<text x="{lx + nx_ * 8:.1f}" y="{ly + ny_ * 8 + 4:.1f}" text-anchor="middle" '
        f'fill="{edge.color}" paint-order="stroke" stroke="white" stroke-width="3">{label}</text>'
    )
    return f'<g><path d="{d}" {stroke} marker-end="url(#arrow)"/>{text}</g>'


# ---------------------------------------------------------------- MDPs


def _label_colours(propositions: Sequence[str]) -> dict[str, str]:
    return {p: _PALETTE[i % len(_PALETTE)] for i, p in enumerate(propositions)}


def _grid_cells(env: FiniteMDP) -> list[tuple[int, int]] | None:
    cells = []
    for name in env.state_names:
        match = _GRID_NAME.match(name)
        if match is None:
            return None
        cells.append((int(match.group(1)), int(match.group(2))))
    return cells


def _policy_array(env: FiniteMDP, policy: Any) -> np.ndarray | None:
    if policy is None:
        return None
    batch, single = as_policy_batch(policy, env.n_states, env.n_actions, enabled=env.enabled)
    if not single:
        raise InvalidPolicyError("draw one policy at a time, not a batch")
    return batch[0]


def _state_label_text(env: FiniteMDP, s: int) -> str:
    labels = env.state_labels
    if labels is None or not labels[s]:
        return ""
    return "{" + ",".join(sorted(labels[s])) + "}"


def mdp_svg(env: FiniteMDP, policy: Any = None, *, max_states: int | None = None) -> str:
    """The state graph of ``env`` as SVG; with ``policy``, the chain it induces.

    Without a policy every edge ``s -> t`` lists the actions that can make it and their
    probabilities (``a,b 0.5`` means actions ``a`` and ``b`` each lead there with
    probability 0.5; ``any`` means every action). With a policy, edges carry
    ``P_pi(t | s)`` and are drawn thicker for likelier moves. State labels (propositions)
    are printed under their state; the initial states get an incoming arrow.

    Gridworlds (states named ``"(row,col)"``) are drawn as grids instead: cells coloured
    by their propositions, the start marked, and with a policy an arrow from each cell
    towards the expected next cell.

    Raises
    ------
    ObjspecError
        If the MDP is larger than ``max_states`` (default :data:`MAX_GRAPH_STATES`, or
        :data:`MAX_GRID_STATES` for grids).

    Examples
    --------
    >>> from objspec import Policy
    >>> from objspec.environments import E4
    >>> svg = mdp_svg(E4(), Policy.uniform(3, 2))
    >>> "<path" in svg and ">1<" in svg
    True
    """
    pi = _policy_array(env, policy)
    cells = _grid_cells(env)
    limit = max_states or (MAX_GRID_STATES if cells is not None else MAX_GRAPH_STATES)
    if env.n_states > limit:
        raise ObjspecError(
            f"the MDP has {env.n_states} states; drawings are limited to {limit} "
            "(pass max_states to draw more)"
        )
    if cells is not None and env.n_states > 4:
        return _grid_svg(env, cells, pi)
    names, actions = env.state_names, env.action_names
    nodes = [
        _Node(s, names[s], _state_label_text(env, s), initial=bool(env.initial[s] > 0))
        for s in range(env.n_states)
    ]
    edges: list[_Edge] = []
    P = env.transitions
    if pi is None:
        for s in range(env.n_states):
            for t in np.flatnonzero(P[s].sum(axis=0) > 0):
                groups: dict[float, list[str]] = {}
                for a in range(env.n_actions):
                    p = float(P[s, a, t])
                    if p > 0:
                        groups.setdefault(round(p, 12), []).append(actions[a])
                parts = []
                for p, acts in groups.items():
                    who = "any" if len(acts) == env.n_actions > 1 else ",".join(acts)
                    parts.append(f"{who} {_fmt(p)}")
                edges.append(_Edge(s, int(t), "; ".join(parts)))
    else:
        chain = np.einsum("sa,sat->st", pi, P)
        for s in range(env.n_states):
            for t in np.flatnonzero(chain[s] > 1e-12):
                p = float(chain[s, t])
                edges.append(_Edge(s, int(t), _fmt(p), color="#1f5fa8", width=0.8 + 2.2 * p))
    positions = None
    if cells is not None:
        positions = {s: (float(c), float(r)) for s, (r, c) in enumerate(cells)}
    return graph_svg(nodes, edges, positions)


def _grid_svg(env: FiniteMDP, cells: list[tuple[int, int]], pi: np.ndarray | None) -> str:
    size = 34
    rows = max(r for r, _ in cells) + 1
    cols = max(c for _, c in cells) + 1
    colours = _label_colours(env.propositions)
    labels = env.state_labels
    width, height = cols * size + 20, rows * size + 20
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#1f5fa8"/>'
        "</marker></defs>",
        f'<rect width="{width}" height="{height}" fill="#555"/>',
    ]
    centre = {}
    absorbing = np.all(env.transitions[np.arange(env.n_states), :, np.arange(env.n_states)]
                       == 1.0, axis=1)
    for s, (r, c) in enumerate(cells):
        x, y = 10 + c * size, 10 + r * size
        centre[s] = (x + size / 2, y + size / 2)
        props = sorted(labels[s]) if labels is not None else []
        out.append(
            f'<rect x="{x}" y="{y}" width="{size}" height="{size}" fill="#ffffff" '
            'stroke="#bbb" stroke-width="0.6"/>'
        )
        if props:
            out.append(
                f'<rect x="{x}" y="{y}" width="{size}" height="{size}" '
                f'fill="{colours[props[0]]}" fill-opacity="0.35"/>'
            )
        text = ",".join(props)
        if env.initial[s] > 0:
            text = ("S " + text).strip()
        if absorbing[s]:
            out.append(
                f'<rect x="{x + 3}" y="{y + 3}" width="{size - 6}" height="{size - 6}" '
                'fill="none" stroke="#333" stroke-dasharray="2,2"/>'
            )
        if text:
            out.append(
                f'<text x="{x + size / 2}" y="{y + size / 2 + 4}" text-anchor="middle">'
                f"{_esc(text)}</text>"
            )
    index = {cell: s for s, cell in enumerate(cells)}
    connected = env.transitions.sum(axis=1) > 0
    for s, (r, c) in enumerate(cells):
        for dr, dc in ((0, 1), (1, 0)):
            t = index.get((r + dr, c + dc))
            if t is None or connected[s, t] or connected[t, s] or absorbing[s] or absorbing[t]:
                continue
            x, y = 10 + (c + dc) * size, 10 + (r + dr) * size
            x2, y2 = (x, y + size) if dc else (x + size, y)
            out.append(
                f'<line x1="{x}" y1="{y}" x2="{x2}" y2="{y2}" stroke="#333" stroke-width="3"/>'
            )
    if pi is not None:
        chain = np.einsum("sa,sat->st", pi, env.transitions)
        xy = np.array([centre[s] for s in range(env.n_states)])
        for s in range(env.n_states):
            target = chain[s] @ xy
            dx, dy = target - xy[s]
            length = math.hypot(dx, dy)
            if length < 1e-9:
                continue
            scale = min(1.0, 0.42 * size / length)
            x1, y1 = xy[s]
            out.append(
                f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x1 + dx * scale:.1f}" '
                f'y2="{y1 + dy * scale:.1f}" stroke="#1f5fa8" stroke-width="1.6" '
                'marker-end="url(#arrow)"/>'
            )
    out.append("</svg>")
    return "\n".join(out)


def mdp_repr_svg(env: FiniteMDP) -> str | None:
    """``FiniteMDP._repr_svg_``: the state graph, or ``None`` (plain repr) when too large."""
    cells = _grid_cells(env)
    limit = MAX_GRID_STATES if cells is not None else MAX_GRAPH_STATES
    if env.n_states > limit:
        return None
    return mdp_svg(env)


# ---------------------------------------------------------------- policies


def policy_html(
    policy: Policy | Any,
    *,
    state_names: Sequence[str] | None = None,
    action_names: Sequence[str] | None = None,
    max_rows: int = 60,
) -> str:
    """A policy's action probabilities as an HTML table, each cell shaded by its probability.

    Examples
    --------
    >>> from objspec import Policy
    >>> text = policy_html(Policy([[0.25, 0.75]]), action_names=["left", "right"])
    >>> "<table" in text and "left" in text and "0.75" in text
    True
    """
    probs = (policy if isinstance(policy, Policy) else Policy(policy)).probabilities
    S, A = probs.shape
    states = list(state_names) if state_names is not None else [f"s{i}" for i in range(S)]
    acts = list(action_names) if action_names is not None else [f"a{i}" for i in range(A)]
    if len(states) != S or len(acts) != A:
        raise InvalidPolicyError(
            f"names do not fit the policy: {len(states)} state names for {S} states, "
            f"{len(acts)} action names for {A} actions"
        )
    kind = "deterministic" if np.all(probs.max(axis=1) == 1.0) else "stochastic"
    head = "".join(f"<th>{_esc(a)}</th>" for a in acts)
    rows = []
    for s in range(min(S, max_rows)):
        cells = "".join(
            f'<td style="background:rgba(31,95,168,{0.08 + 0.6 * p:.2f});text-align:right">'
            f"{_fmt(p)}</td>"
            for p in probs[s]
        )
        rows.append(f"<tr><th>{_esc(states[s])}</th>{cells}</tr>")
    if S > max_rows:
        rows.append(f'<tr><td colspan="{A + 1}">… {S - max_rows} more states</td></tr>')
    return (
        f"<div><b>Policy</b> ({kind}, {S} states × {A} actions)"
        f'<table style="border-collapse:collapse"><tr><th>π(a|s)</th>{head}</tr>'
        + "".join(rows)
        + "</table></div>"
    )


# ---------------------------------------------------------------- evaluation results


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
        head = "".join(f"<th>{_esc(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{_esc(self._cell(v))}</td>" for v in row) + "</tr>"
            for row in self.rows
        )
        caption = f"<caption><b>{_esc(self.title)}</b></caption>" if self.title else ""
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


# ---------------------------------------------------------------- example tasks


def task_html(task: Any) -> str:
    """An :class:`~objspec.environments.ExampleTask` as HTML: name, formalism, description,
    where it is (not) expressible, and the environment's drawing when it is small enough.

    Automata, reward machines, LTL specifications and the Hasse diagram render themselves
    (their own ``_repr_svg_``); this printer embeds the specification's drawing when it
    has one.

    Examples
    --------
    >>> from objspec.environments import example_task
    >>> text = task_html(example_task("return_near_c"))
    >>> "ONMR" in text and "<svg" in text
    True
    """
    parts = [
        f"<div><h4>{_esc(task.name)} <small>({_esc(task.formalism)})</small></h4>",
        f"<p>{_esc(task.description)}</p>",
    ]
    if task.expressible_in:
        parts.append(f"<p><b>expressible in:</b> {_esc(', '.join(task.expressible_in))}")
        if task.not_expressible_in:
            parts.append(
                f"; <b>not in:</b> {_esc(', '.join(task.not_expressible_in))}"
            )
        parts.append("</p>")
    parts.append(f"<p><b>specification:</b> <code>{_esc(repr(task.spec))}</code></p>")
    env_svg = mdp_repr_svg(task.env)
    spec_svg = getattr(task.spec, "_repr_svg_", None)
    drawings = [d for d in (env_svg, spec_svg() if callable(spec_svg) else None) if d]
    if drawings:
        parts.append('<div style="display:flex;gap:1em;align-items:flex-start">'
                     + "".join(f"<div>{d}</div>" for d in drawings) + "</div>")
    parts.append("</div>")
    return "".join(parts)
