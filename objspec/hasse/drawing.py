"""Drawing the Hasse diagram, layered like the paper's figure: with matplotlib (:func:`draw`,
files in any format) or as SVG text by the shared writer of :mod:`objspec.display.svg`
(:func:`to_svg`, what Jupyter shows).

Layers are :func:`networkx.topological_generations` of the diagram (edges point from the
more expressive class down), so PO is at the top and MR at the bottom; each node lists its
class members.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import networkx as nx

from objspec.display.svg import Edge, Node, graph_svg
from objspec.errors import ObjspecError
from objspec.hasse.preorder import HasseDiagram, hasse_diagram

__all__ = ["HasseDiagram", "draw", "to_svg", "layered_positions"]

TITLE = "Expressivity of objective-specification formalisms (computed)"


def layered_positions(diagram: nx.DiGraph) -> dict[Any, tuple[float, float]]:
    """Node positions: one row per topological generation, top first.

    Rows are ordered by the mean position of each node's parents (barycentre heuristic,
    fewer crossings), and a row is shifted sideways when an edge spanning several rows would
    pass through one of its nodes.

    Examples
    --------
    >>> import networkx as nx
    >>> layered_positions(nx.DiGraph([("top", "bottom")]))
    {'top': (0.0, 1.0), 'bottom': (0.0, 0.0)}
    """
    layers = [sorted(layer) for layer in nx.topological_generations(diagram)]
    depth = len(layers) - 1
    x: dict[Any, float] = {}
    level_of: dict[Any, int] = {}
    for level, layer in enumerate(layers):
        def bary(node: Any) -> float:
            parents = [x[p] for p in diagram.predecessors(node) if p in x]
            return sum(parents) / len(parents) if parents else 0.0

        ordered = sorted(layer, key=lambda n: (bary(n), str(n)))
        width = len(ordered) - 1
        for i, node in enumerate(ordered):
            x[node] = float(i - width / 2)
            level_of[node] = level
    for _ in range(len(layers)):
        moved = False
        for u, v in diagram.edges:
            lu, lv = level_of[u], level_of[v]
            for level in range(lu + 1, lv):
                xe = x[u] + (x[v] - x[u]) * (level - lu) / (lv - lu)
                if any(abs(x[n] - xe) < 0.35 for n in layers[level]):
                    for n in layers[level]:
                        x[n] -= 0.5
                    moved = True
        if not moved:
            break
    return {n: (x[n], float(depth - level_of[n])) for n in x}


def draw(path: str | Path | None = None, ax: Any = None, diagram: nx.DiGraph | None = None,
         *, colour_by: Mapping[Any, str] | None = None, labels: Mapping[Any, str] | None = None,
         legend: Mapping[str, str] | None = None, title: str = TITLE) -> Any:
    """Draw the Hasse diagram; save to ``path`` (format by suffix: ``.svg``, ``.png``, ``.pdf``).

    Parameters
    ----------
    path : str or Path, optional
        File to write.
    ax : matplotlib Axes, optional
        Draw into it (else a new figure is made).
    diagram : DiGraph, optional
        Defaults to :func:`objspec.hasse.hasse_diagram`.
    colour_by : mapping, optional
        Node -> fill colour (nodes not in it keep the default fill), e.g. the guarantee
        colours of :func:`objspec.hasse.tractability.guarantee_colours`.
    labels : mapping, optional
        Node -> text replacing the default label (members one per line).
    legend : mapping, optional
        Legend entry -> colour, drawn as a legend of filled boxes.
    title : str
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = draw()
    >>> len(fig.axes)
    1
    """
    import matplotlib

    if ax is None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    h = hasse_diagram() if diagram is None else diagram
    pos = layered_positions(h)
    if ax is None:
        fig, ax = plt.subplots(figsize=(11, 7.5))
    else:
        fig = ax.figure
    for u, v in h.edges:
        (x1, y1), (x2, y2) = pos[u], pos[v]
        ax.plot([x1, x2], [y1, y2], color="#555555", lw=1.2, zorder=1)
    for node, (x, y) in pos.items():
        text = labels[node] if labels is not None and node in labels else _label(h, node)
        ax.text(x, y, text, ha="center", va="center", fontsize=10, zorder=2,
                bbox={"boxstyle": "round,pad=0.4", "fc": _fill(h, node, colour_by),
                      "ec": "#334466"})
    if legend:
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(facecolor=c, edgecolor="#334466", label=k)
                           for k, c in legend.items()], loc="lower right", fontsize=9)
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.set_axis_off()
    ax.set_title(title)
    if path is not None:
        suffix = Path(path).suffix.lower().lstrip(".")
        if suffix not in ("svg", "png", "pdf"):
            raise ObjspecError(f"cannot save the diagram as {path!r}: use .svg, .png or .pdf")
        fig.savefig(path, format=suffix, bbox_inches="tight")
    return fig


def to_svg(diagram: nx.DiGraph | None = None, *, colour_by: Mapping[Any, str] | None = None,
           labels: Mapping[Any, str] | None = None, title: str = TITLE,
           caption: str = "") -> str:
    """The diagram as an SVG string (for Jupyter's ``_repr_svg_``), written by the shared
    graph writer :func:`objspec.display.svg.graph_svg` in the layout of :func:`draw`.

    ``colour_by`` (node -> fill colour), ``labels`` (node -> text) and ``title`` are as in
    :func:`draw`; ``caption`` is a line of text under the diagram (e.g. a colour key).

    Examples
    --------
    >>> svg = to_svg()
    >>> svg.startswith("<?xml") and "MR" in svg and svg.rstrip().endswith("</svg>")
    True
    """
    h = hasse_diagram() if diagram is None else diagram
    if h.number_of_nodes() == 0:
        raise ObjspecError("the diagram has no nodes to draw")
    pos = layered_positions(h)
    nodes = [
        Node(node, labels[node] if labels is not None and node in labels else _label(h, node),
             fill=_fill(h, node, colour_by), shape="box")
        for node in pos
    ]
    edges = [Edge(u, v, color="#555555", arrow=False) for u, v in h.edges]
    # x: one unit per node of a row, y: one row per generation, top first
    positions = {n: (1.5 * x, -y) for n, (x, y) in pos.items()}
    return graph_svg(nodes, edges, positions, spacing=110.0, title=title, caption=caption,
                     xml_declaration=True)


def _fill(diagram: nx.DiGraph, node: Any, colour_by: Mapping[Any, str] | None) -> str:
    """``colour_by[node]`` if given, else light blue for a class of several, else white."""
    if colour_by is not None and node in colour_by:
        return colour_by[node]
    return "#eef3fb" if _size(diagram, node) > 1 else "white"


def _size(diagram: nx.DiGraph, node: Any) -> int:
    return len(diagram.nodes[node].get("members", [node]))


def _label(diagram: nx.DiGraph, node: Any) -> str:
    """A class's members one per line (``"A = B"`` -> ``"A\\nB"``), else its name."""
    return "\n".join(str(node).split(" = ")) if _size(diagram, node) > 1 else str(node)
