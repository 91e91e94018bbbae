"""Pictures of automata and reward machines: Graphviz DOT text and self-made SVG.

No external tool is needed: :func:`graph_to_svg` places states on a circle and hands them to
the one SVG writer of the package, :func:`objspec.display.svg.graph_svg` (edges with
arrowheads, self-loops outside the circle). ``_repr_svg_`` of
:class:`~objspec.ltl.automaton.DeterministicAutomaton` and of reward machines use it, so
they render in Jupyter. ``to_dot()`` returns DOT for Graphviz users.

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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from objspec.display.svg import Edge, Node, circle_layout, graph_svg
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


def graph_to_svg(graph: DrawnGraph) -> str:
    """Draw a :class:`DrawnGraph` as an SVG string: states on a circle, written by the
    shared writer :func:`objspec.display.svg.graph_svg` (parallel edges share one arrow
    with one label line each).

    Examples
    --------
    >>> svg = graph_to_svg(DrawnGraph("g", ["q0", "q1"], 0, [(0, 1, "a"), (0, 1, "b")]))
    >>> svg.count("<circle"), "<tspan" in svg
    (2, True)
    """
    merged: dict[tuple[int, int], list[str]] = {}
    for src, dst, label in graph.edges:
        merged.setdefault((src, dst), []).append(label)
    nodes = [
        Node(i, text, initial=i == graph.initial, accepting=i in graph.accepting)
        for i, text in enumerate(graph.nodes)
    ]
    edges = [Edge(src, dst, "\n".join(labels), color="black")
             for (src, dst), labels in sorted(merged.items())]
    return graph_svg(nodes, edges, circle_layout(range(len(nodes))), spacing=150.0,
                     radius=22.0, title=graph.title, caption=graph.caption)
