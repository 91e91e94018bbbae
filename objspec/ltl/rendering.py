"""Pictures of automata and reward machines: Graphviz DOT text and self-made SVG.

No external tool is needed: :func:`graph_to_svg` places states on a circle, draws edges as
curves with arrowheads (self-loops as small loops outside the circle) and writes the SVG by
hand. ``_repr_svg_`` of :class:`~objspec.ltl.automaton.DeterministicAutomaton` and of reward
machines use it, so they render in Jupyter. ``to_dot()`` returns DOT for Graphviz users.

Examples
--------
>>> from objspec.ltl.translation import translate
>>> svg = automaton_to_svg(translate("a U b"))
>>> svg.startswith("<svg") and "</svg>" in svg
True
>>> print(automaton_to_dot(translate("a U b")))  # doctest: +ELLIPSIS
digraph automaton {
...
  0 -> 1 [label="b"];
...
}
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from objspec.ltl.hoa import _cubes

if TYPE_CHECKING:
    from objspec.ltl.automaton import DeterministicAutomaton

__all__ = [
    "DrawnGraph",
    "letters_to_text",
    "automaton_graph",
    "automaton_to_dot",
    "automaton_to_svg",
    "graph_to_dot",
    "graph_to_svg",
]


@dataclass(frozen=True)
class DrawnGraph:
    """A graph to draw: node labels, the initial node, double-circled nodes, labelled edges."""

    title: str
    nodes: Sequence[str]
    initial: int
    edges: Sequence[tuple[int, int, str]]
    accepting: frozenset[int] = frozenset()
    caption: str = ""


def letters_to_text(letters: Sequence[int], propositions: Sequence[str]) -> str:
    """A short boolean expression over proposition names true exactly on ``letters``.

    Examples
    --------
    >>> letters_to_text([1, 3], ["a", "b"])
    'a'
    >>> letters_to_text([0], ["a", "b"])
    '!a & !b'
    """
    k = len(propositions)
    if len(letters) == 1 << k:
        return "true"
    if not letters:
        return "false"
    terms = []
    for care, value in _cubes(list(letters), k):
        lits = [("" if value >> i & 1 else "!") + propositions[i]
                for i in range(k) if care >> i & 1]
        terms.append(" & ".join(lits) if lits else "true")
    return " | ".join(terms)


def automaton_graph(automaton: DeterministicAutomaton) -> DrawnGraph:
    """The drawable graph of an automaton; edge labels carry their acceptance sets."""
    props = automaton.propositions
    groups: dict[tuple[int, int, int], list[int]] = {}
    for q in range(automaton.n_states):
        for letter in range(1 << len(props)):
            t = int(automaton.successors[q, letter])
            if t >= 0:
                groups.setdefault((q, t, int(automaton.marks[q, letter])), []).append(letter)
    edges = []
    for (q, t, m), letters in sorted(groups.items()):
        label = letters_to_text(letters, props)
        if m:
            label += " {" + ",".join(str(i) for i in range(automaton.n_sets) if m >> i & 1) + "}"
        edges.append((q, t, label))
    names = automaton.state_names or tuple(str(q) for q in range(automaton.n_states))
    return DrawnGraph(
        title=automaton.name or "automaton",
        nodes=list(names),
        initial=automaton.initial,
        edges=edges,
        caption=f"acceptance: {automaton.acceptance_name or automaton.acceptance}",
    )


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def graph_to_dot(graph: DrawnGraph, name: str = "automaton") -> str:
    """Graphviz DOT text of a :class:`DrawnGraph`."""
    lines = [f"digraph {name} {{", "  rankdir=LR;", f"  label={_dot_quote(graph.caption)};",
             "  node [shape=circle];", "  __start [shape=point];"]
    for i, node in enumerate(graph.nodes):
        shape = ", shape=doublecircle" if i in graph.accepting else ""
        lines.append(f"  {i} [label={_dot_quote(node)}{shape}];")
    lines.append(f"  __start -> {graph.initial};")
    for src, dst, label in graph.edges:
        lines.append(f"  {src} -> {dst} [label={_dot_quote(label)}];")
    lines.append("}")
    return "\n".join(lines)


def automaton_to_dot(automaton: DeterministicAutomaton) -> str:
    """Graphviz DOT text of an automaton (edges labelled ``guard {sets}``)."""
    return graph_to_dot(automaton_graph(automaton), "automaton")


def automaton_to_svg(automaton: DeterministicAutomaton) -> str:
    """An SVG drawing of an automaton."""
    return graph_to_svg(automaton_graph(automaton))


def _text_block(x: float, y: float, lines: Sequence[str], direction: float) -> str:
    """Lines of text centred at ``x``, growing away from the edge (up if ``direction < 0``)."""
    height = 13.0
    top = y - height * (len(lines) - 1) if direction < 0 else y + (4.0 if direction > 0 else 0.0)
    spans = "".join(
        f'<tspan x="{x:.1f}" y="{top + i * height:.1f}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return f'<text text-anchor="middle">{spans}</text>'


def graph_to_svg(graph: DrawnGraph) -> str:
    """Draw a :class:`DrawnGraph` as an SVG string (states on a circle, curved edges)."""
    n = len(graph.nodes)
    radius_node = 22.0
    ring = 0.0 if n == 1 else max(90.0, n * 55.0 / (2 * math.pi))
    margin = 150.0
    cx = cy = ring + margin
    width = height = 2 * (ring + margin)
    pos = [
        (cx + ring * math.cos(2 * math.pi * i / n - math.pi),
         cy + ring * math.sin(2 * math.pi * i / n - math.pi))
        for i in range(n)
    ]
    merged: dict[tuple[int, int], list[str]] = {}
    for src, dst, label in graph.edges:
        merged.setdefault((src, dst), []).append(label)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
        f'height="{height + 30:.0f}" viewBox="0 0 {width:.0f} {height + 30:.0f}" '
        'font-family="sans-serif" font-size="11">',
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
        "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
        "<path d=\"M 0 0 L 10 5 L 0 10 z\"/></marker></defs>",
        f"<title>{escape(graph.title)}</title>",
    ]
    for (src, dst), labels in sorted(merged.items()):
        x1, y1 = pos[src]
        x2, y2 = pos[dst]

        if src == dst:
            ang = math.atan2(y1 - cy, x1 - cx) if n > 1 else -math.pi / 2
            ux, uy = math.cos(ang), math.sin(ang)
            px, py = -uy, ux
            r7 = 0.7 * radius_node
            sx, sy = x1 + r7 * (ux + px), y1 + r7 * (uy + py)
            ex, ey = x1 + r7 * (ux - px), y1 + r7 * (uy - py)
            c1x, c1y = x1 + 70 * ux + 35 * px, y1 + 70 * uy + 35 * py
            c2x, c2y = x1 + 70 * ux - 35 * px, y1 + 70 * uy - 35 * py
            parts.append(
                f'<path d="M {sx:.1f} {sy:.1f} C {c1x:.1f} {c1y:.1f} {c2x:.1f} {c2y:.1f} '
                f'{ex:.1f} {ey:.1f}" fill="none" stroke="black" marker-end="url(#arrow)"/>'
            )
            lx, ly = x1 + 72 * ux, y1 + 72 * uy
            parts.append(_text_block(lx, ly, labels, uy))
            continue
        dx, dy = x2 - x1, y2 - y1
        dist = math.hypot(dx, dy) or 1.0
        ux, uy = dx / dist, dy / dist
        px, py = -uy, ux
        bend = 0.18 * dist
        mx, my = (x1 + x2) / 2 + bend * px, (y1 + y2) / 2 + bend * py
        # endpoints on the circles, aimed at the control point
        a1 = math.atan2(my - y1, mx - x1)
        a2 = math.atan2(my - y2, mx - x2)
        sx, sy = x1 + radius_node * math.cos(a1), y1 + radius_node * math.sin(a1)
        ex, ey = x2 + radius_node * math.cos(a2), y2 + radius_node * math.sin(a2)
        parts.append(
            f'<path d="M {sx:.1f} {sy:.1f} Q {mx:.1f} {my:.1f} {ex:.1f} {ey:.1f}" fill="none" '
            'stroke="black" marker-end="url(#arrow)"/>'
        )
        lx, ly = (x1 + x2) / 4 + mx / 2, (y1 + y2) / 4 + my / 2
        parts.append(_text_block(lx, ly, labels, py))
    ix, iy = pos[graph.initial]
    diag = radius_node / math.sqrt(2)
    parts.append(
        f'<path d="M {ix - diag - 25:.1f} {iy - diag - 25:.1f} L {ix - diag:.1f} {iy - diag:.1f}" '
        'stroke="black" marker-end="url(#arrow)"/>'
    )
    for i, (x, y) in enumerate(pos):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius_node}" fill="white" stroke="black"/>'
        )
        if i in graph.accepting:
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius_node - 4}" fill="none" '
                'stroke="black"/>'
            )
        parts.append(
            f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle">'
            f"{escape(graph.nodes[i])}</text>"
        )
    parts.append(
        f'<text x="10" y="{height + 20:.0f}">{escape(graph.caption)}</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)
