"""The one SVG writer for directed graphs: nodes, edges, labels and a layout to an SVG string.

Every node-link drawing of objspec goes through :func:`graph_svg`: MDP state graphs
(:func:`objspec.display.mdp_svg`), automata and reward machines
(:func:`objspec.ltl.rendering.graph_to_svg`) and the Hasse diagram
(:func:`objspec.hasse.to_svg`). Nothing needs graphviz: positions are given by the caller
(a grid, a circle, layers) or computed with networkx.

* :class:`Node`: a circle (states) or a rounded box (multi-line labels); an initial arrow,
  a double circle for accepting states, a fill colour and a line of text under it;
* :class:`Edge`: a labelled arrow (or a plain line); self-loops point away from the centre
  of the drawing, and a pair of opposite edges is drawn as two curves;
* :func:`circle_layout`: nodes evenly on a circle (automata);
* :func:`spring_layout`: networkx's Kamada-Kawai layout, or a seeded spring layout beyond
  30 nodes (the default of :func:`graph_svg`).

Examples
--------
>>> svg = graph_svg([(0, "u0"), (1, "u1")], [(0, 1, "a / 1"), (1, 1, "true")])
>>> svg.startswith("<svg") and svg.count("<circle") == 2 and "a / 1" in svg
True
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from objspec.errors import ObjspecError

__all__ = ["Edge", "Node", "circle_layout", "graph_svg", "spring_layout"]

#: Height of one line of text, in pixels (font size 11).
LINE_HEIGHT = 13.0
#: Approximate width of one character, in pixels (font size 11, sans-serif).
CHAR_WIDTH = 6.6


def escape(text: object) -> str:
    """``text`` escaped for SVG/HTML text and attribute values."""
    return html.escape(str(text), quote=True)


def short_number(p: float) -> str:
    """``p`` with 3 significant digits (probabilities on edges and in tables)."""
    return f"{p:.3g}"


@dataclass
class Node:
    """A node to draw.

    Attributes
    ----------
    key : hashable
        What edges and positions refer to.
    text : str
        The label; ``"\\n"`` separates lines (boxes grow to fit them).
    subtext : str
        A line printed under the node (e.g. the propositions of an MDP state).
    initial : bool
        Draw an incoming arrow from nowhere.
    accepting : bool
        Draw a second, inner circle.
    fill : str
        Fill colour.
    shape : {"circle", "box"}
        A circle of the writer's ``radius``, or a rounded box around the text.
    """

    key: Any
    text: str
    subtext: str = ""
    initial: bool = False
    accepting: bool = False
    fill: str = "#ffffff"
    shape: Literal["circle", "box"] = "circle"

    def half_size(self, radius: float) -> tuple[float, float]:
        """Half width and half height of the node's shape, in pixels."""
        if self.shape == "circle":
            return radius, radius
        lines = self.text.split("\n")
        width = max(len(line) for line in lines) * CHAR_WIDTH + 16.0
        return width / 2.0, (len(lines) * LINE_HEIGHT + 8.0) / 2.0


@dataclass
class Edge:
    """A directed edge to draw; ``"\\n"`` in ``label`` separates lines.

    ``arrow=False`` draws a plain line (e.g. the cover relation of a Hasse diagram, read
    top-down).
    """

    source: Any
    target: Any
    label: str = ""
    color: str = "#444"
    width: float = 1.2
    arrow: bool = True


def circle_layout(keys: Sequence[Any]) -> dict[Any, tuple[float, float]]:
    """``keys`` evenly on a unit circle, the first at the left, going clockwise.

    Examples
    --------
    >>> {k: (round(x, 6), round(y, 6)) for k, (x, y) in circle_layout(["a", "b"]).items()}
    {'a': (-1.0, 0.0), 'b': (1.0, 0.0)}
    """
    n = len(keys)
    return {
        k: (math.cos(2 * math.pi * i / n - math.pi), math.sin(2 * math.pi * i / n - math.pi))
        for i, k in enumerate(keys)
    }


def spring_layout(
    keys: Sequence[Any], edges: Iterable[tuple[Any, Any]]
) -> dict[Any, tuple[float, float]]:
    """A networkx layout: Kamada-Kawai up to 30 connected nodes, else a seeded spring layout.

    One node sits at the origin and two or three nodes on a line.

    Examples
    --------
    >>> spring_layout(["a", "b"], [("a", "b")])
    {'a': (0.0, 0.0), 'b': (1.0, 0.0)}
    """
    import networkx as nx

    keys = list(keys)
    if len(keys) == 1:
        return {keys[0]: (0.0, 0.0)}
    if len(keys) <= 3:
        return {k: (float(i), 0.0) for i, k in enumerate(keys)}
    graph = nx.Graph()
    graph.add_nodes_from(keys)
    graph.add_edges_from((u, v) for u, v in edges if u != v)
    if len(keys) <= 30 and nx.is_connected(graph):
        layout = nx.kamada_kawai_layout(graph)
    else:
        layout = nx.spring_layout(graph, seed=0)
    return {k: (float(v[0]), float(v[1])) for k, v in layout.items()}


def graph_svg(
    nodes: Sequence[Node] | Sequence[tuple[Any, str]],
    edges: Iterable[Edge | tuple[Any, Any, str]],
    positions: Mapping[Any, tuple[float, float]] | None = None,
    *,
    spacing: float = 120.0,
    radius: float = 20.0,
    title: str = "",
    caption: str = "",
    xml_declaration: bool = False,
) -> str:
    """An SVG string of a directed graph with labelled nodes and edges.

    Parameters
    ----------
    nodes : sequence
        :class:`Node` records, or ``(key, text)`` pairs.
    edges : iterable
        :class:`Edge` records, or ``(source_key, target_key, label)`` triples. Self-loops
        and pairs of opposite edges are drawn apart.
    positions : mapping, optional
        Node key -> ``(x, y)`` in layout units (``y`` grows downwards); by default
        :func:`spring_layout`.
    spacing : float
        Pixels per layout unit (layouts are rescaled so that nearest nodes are about this
        far apart).
    radius : float
        Radius of circle nodes in pixels.
    title : str
        A caption at the top (also the SVG ``<title>``).
    caption : str
        A line of text at the bottom.
    xml_declaration : bool
        Start with an ``<?xml ...?>`` declaration (for files).

    Raises
    ------
    ObjspecError
        Without nodes, or when ``positions`` misses a node.

    Examples
    --------
    >>> svg = graph_svg([(0, "u0"), (1, "u1")], [(0, 1, "a / 1"), (1, 1, "true")])
    >>> svg.count("<circle"), "a / 1" in svg
    (2, True)
    """
    node_list = [n if isinstance(n, Node) else Node(n[0], n[1]) for n in nodes]
    edge_list = [e if isinstance(e, Edge) else Edge(e[0], e[1], e[2]) for e in edges]
    if not node_list:
        raise ObjspecError("graph_svg needs at least one node")
    keys = [n.key for n in node_list]
    pos = (
        dict(positions)
        if positions is not None
        else spring_layout(keys, [(e.source, e.target) for e in edge_list])
    )
    missing = [k for k in keys if k not in pos]
    if missing:
        raise ObjspecError(f"positions miss the nodes {missing[:5]}")
    xy = np.array([pos[k] for k in keys], dtype=float)
    xy -= xy.min(axis=0)
    xy *= spacing / _typical_distance(xy)
    half = np.array([n.half_size(radius) for n in node_list])
    has_loop = any(e.source == e.target for e in edge_list)
    # room for self-loops and their labels, initial arrows, text under nodes
    margin = float(half.max()) + (radius * 2.6 + 2 * LINE_HEIGHT if has_loop else 12.0)
    left = margin + (30.0 if any(n.initial for n in node_list) else 0.0)
    top = margin + (22.0 if title else 0.0)
    xy += np.array([left, top])
    at = {k: (float(x), float(y)) for k, (x, y) in zip(keys, xy, strict=True)}
    sizes = {n.key: n.half_size(radius) for n in node_list}
    width = float(xy[:, 0].max()) + margin + 30.0
    height = float(xy[:, 1].max()) + margin + (LINE_HEIGHT + 8.0 if caption else 0.0)
    centre = (float(xy[:, 0].mean()), float(xy[:, 1].mean()))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="11">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="context-stroke"/></marker></defs>',
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    if xml_declaration:
        out.insert(0, '<?xml version="1.0" encoding="utf-8"?>')
    if title:
        out.append(f"<title>{escape(title)}</title>")
        out.append(f'<text x="10" y="18" font-size="13" font-weight="bold">{escape(title)}</text>')
    pairs = {(e.source, e.target) for e in edge_list}
    for e in edge_list:
        out.append(_edge_svg(e, at, sizes, centre, (e.target, e.source) in pairs))
    for n in node_list:
        out.append(_node_svg(n, at[n.key], radius))
    if caption:
        out.append(f'<text x="10" y="{height - 8:.0f}">{escape(caption)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _typical_distance(xy: np.ndarray) -> float:
    """Median distance from a node to its nearest neighbour (1 for a single node)."""
    if len(xy) < 2:
        return 1.0
    diffs = xy[:, None, :] - xy[None, :, :]
    dist = np.sqrt((diffs**2).sum(axis=2))
    dist[dist == 0] = np.inf
    nearest = dist.min(axis=1)
    finite = nearest[np.isfinite(nearest)]
    return float(np.median(finite)) if finite.size else 1.0


def _text_lines(x: float, y: float, text: str, direction: float, **attrs: str) -> str:
    """``text`` (lines split at ``"\\n"``) centred at ``x``; a single line has its baseline
    at ``y``, more lines grow away from the edge (upwards when ``direction < 0``)."""
    lines = text.split("\n")
    first = y - LINE_HEIGHT * (len(lines) - 1) if direction < 0 else y
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    if len(lines) == 1:
        return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle"{extra}>{escape(text)}</text>'
    spans = "".join(
        f'<tspan x="{x:.1f}" y="{first + i * LINE_HEIGHT:.1f}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return f'<text text-anchor="middle"{extra}>{spans}</text>'


def _node_svg(node: Node, at: tuple[float, float], radius: float) -> str:
    x, y = at
    hx, hy = node.half_size(radius)
    parts = []
    if node.initial:
        parts.append(
            f'<line x1="{x - hx - 26:.1f}" y1="{y:.1f}" x2="{x - hx - 1:.1f}" '
            f'y2="{y:.1f}" stroke="#000" stroke-width="1.4" marker-end="url(#arrow)"/>'
        )
    if node.shape == "box":
        parts.append(
            f'<rect x="{x - hx:.1f}" y="{y - hy:.1f}" width="{2 * hx:.1f}" '
            f'height="{2 * hy:.1f}" rx="6" fill="{node.fill}" stroke="#334466" '
            'stroke-width="1.2"/>'
        )
    else:
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" fill="{node.fill}" '
            'stroke="#000" stroke-width="1.3"/>'
        )
    if node.accepting:
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{max(hx, hy) - 4:.1f}" fill="none" '
            'stroke="#000" stroke-width="1"/>'
        )
    n_lines = node.text.count("\n") + 1
    parts.append(_text_lines(x, y + 4 - LINE_HEIGHT * (n_lines - 1) / 2, node.text, 1.0))
    if node.subtext:
        parts.append(
            f'<text x="{x:.1f}" y="{y + hy + 13:.1f}" text-anchor="middle" '
            f'fill="#b03060">{escape(node.subtext)}</text>'
        )
    return "<g>" + "".join(parts) + "</g>"


def _boundary(
    x: float, y: float, half: tuple[float, float], ux: float, uy: float, gap: float = 0.0
) -> tuple[float, float]:
    """Where the ray from the node centre ``(x, y)`` along the unit vector ``(ux, uy)``
    leaves the node (a circle, or a box when its half sizes differ), plus ``gap``."""
    hx, hy = half
    if hx == hy:
        return x + (hx + gap) * ux, y + (hy + gap) * uy
    t = min(hx / abs(ux) if ux else math.inf, hy / abs(uy) if uy else math.inf)
    return x + (t + gap) * ux, y + (t + gap) * uy


def _edge_svg(
    edge: Edge,
    at: Mapping[Any, tuple[float, float]],
    sizes: Mapping[Any, tuple[float, float]],
    centre: tuple[float, float],
    curved: bool,
) -> str:
    x1, y1 = at[edge.source]
    x2, y2 = at[edge.target]
    marker = ' marker-end="url(#arrow)"' if edge.arrow else ""
    stroke = f'stroke="{edge.color}" stroke-width="{edge.width:.2f}" fill="none"'
    label = edge.label
    if edge.source == edge.target:
        # a loop on the side facing away from the centre of the drawing (up by default)
        ox, oy = x1 - centre[0], y1 - centre[1]
        norm = math.hypot(ox, oy)
        ux, uy = (ox / norm, oy / norm) if norm > 1e-9 else (0.0, -1.0)
        px, py = -uy, ux
        r = min(sizes[edge.source])
        sx, sy = x1 + r * (ux * 0.87 + px * 0.5), y1 + r * (uy * 0.87 + py * 0.5)
        ex, ey = x1 + r * (ux * 0.87 - px * 0.5), y1 + r * (uy * 0.87 - py * 0.5)
        c1x, c1y = x1 + r * (2.6 * ux + 1.2 * px), y1 + r * (2.6 * uy + 1.2 * py)
        c2x, c2y = x1 + r * (2.6 * ux - 1.2 * px), y1 + r * (2.6 * uy - 1.2 * py)
        d = (
            f"M{sx:.1f},{sy:.1f} C{c1x:.1f},{c1y:.1f} {c2x:.1f},{c2y:.1f} {ex:.1f},{ey:.1f}"
        )
        lx, ly = x1 + 2.35 * r * ux, y1 + 2.35 * r * uy + (4.0 if uy > 0.5 else 0.0)
        text = _text_lines(lx, ly, label, uy, fill=edge.color) if label else ""
        return f'<g><path d="{d}" {stroke}{marker}/>{text}</g>'
    dx, dy = x2 - x1, y2 - y1
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    nx_, ny_ = -uy, ux
    bend = 0.18 * length if curved else 0.0
    cx, cy = (x1 + x2) / 2 + nx_ * bend, (y1 + y2) / 2 + ny_ * bend
    # endpoints on the node outlines, aimed at the control point
    a1x, a1y = cx - x1, cy - y1
    a2x, a2y = cx - x2, cy - y2
    n1, n2 = math.hypot(a1x, a1y) or 1.0, math.hypot(a2x, a2y) or 1.0
    sx, sy = _boundary(x1, y1, sizes[edge.source], a1x / n1, a1y / n1)
    ex, ey = _boundary(x2, y2, sizes[edge.target], a2x / n2, a2y / n2, 1.0 if edge.arrow else 0.0)
    d = f"M{sx:.1f},{sy:.1f} Q{cx:.1f},{cy:.1f} {ex:.1f},{ey:.1f}"
    if not label:
        return f'<g><path d="{d}" {stroke}{marker}/></g>'
    lx, ly = (sx + 2 * cx + ex) / 4, (sy + 2 * cy + ey) / 4
    text = _text_lines(
        lx + nx_ * 8, ly + ny_ * 8 + 4, label, ny_, fill=edge.color, paint_order="stroke",
        stroke="white", stroke_width="3",
    )
    return f'<g><path d="{d}" {stroke}{marker}/>{text}</g>'
