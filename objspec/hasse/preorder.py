"""The expressivity preorder, computed from the registered evidence only.

The verdict of each of the 17 x 17 ordered pairs (holds by a chain of constructions, fails
by a separation witness, or undecided) is computed in :mod:`objspec.reductions.verdicts`
and re-exported here; this module adds the equivalence classes and the Hasse diagram.

Examples
--------
>>> from objspec.hasse import decide
>>> v = decide("FOMR", "RRL")
>>> v.holds, v.chain
(True, ('regularised_to_occupancy_function',))
>>> decide("RRL", "FOMR").holds
False
"""

from __future__ import annotations

import networkx as nx

from objspec.reductions.registry import FORMALISMS
from objspec.reductions.verdicts import (
    Verdict,
    construction_graph,
    contradictions,
    decide,
    undecided_pairs,
    verdicts,
)
from objspec.reductions.verdicts import (
    _compute as _compute,  # re-exported: tests clear its cache
)

__all__ = [
    "HasseDiagram",
    "Verdict",
    "decide",
    "verdicts",
    "construction_graph",
    "expressivity_graph",
    "equivalence_classes",
    "class_name",
    "hasse_diagram",
    "undecided_pairs",
    "contradictions",
]


class HasseDiagram(nx.DiGraph):
    """A networkx DiGraph of classes with cover edges, rendering itself as SVG in Jupyter."""

    def _repr_svg_(self) -> str:
        # Jupyter display hook: drawing is a layer above (it draws this module's diagram),
        # so it is imported only when a notebook asks for the picture.
        from objspec.hasse.drawing import to_svg

        return to_svg(self)


def expressivity_graph() -> nx.DiGraph:
    """DiGraph on the 17 acronyms with an edge ``A -> B`` iff ``A >= B`` is proved.

    Each edge carries ``evidence`` and ``chain``; ``graph.graph["verdicts"]`` holds the
    verdict of every pair, including the non-edges (with their witnesses).

    Examples
    --------
    >>> g = expressivity_graph()
    >>> g.has_edge("PO", "MR"), g.has_edge("MR", "PO")
    (True, False)
    """
    g = nx.DiGraph(verdicts=verdicts())
    g.add_nodes_from(FORMALISMS)
    for (a, b), v in _compute().items():
        if v.holds and a != b:
            g.add_edge(a, b, evidence=v.evidence, chain=v.chain)
    return g


def equivalence_classes() -> list[frozenset[str]]:
    """Classes of mutually expressible formalisms (strongly connected components of the
    proved relation), largest first then by name.

    Examples
    --------
    >>> frozenset({"OMORL", "FOMR", "FTLR"}) in equivalence_classes() or None
    True
    """
    comps = nx.strongly_connected_components(expressivity_graph())
    return sorted((frozenset(c) for c in comps), key=lambda c: (-len(c), sorted(c)))


def class_name(members: frozenset[str]) -> str:
    """A class's display name: its members in the paper's order, joined by ``=``."""
    return " = ".join(m for m in FORMALISMS if m in members)


def hasse_diagram() -> nx.DiGraph:
    """The Hasse diagram: DiGraph on the classes (named by :func:`class_name`, with
    ``members``), edge ``X -> Y`` iff ``X > Y`` is a cover (transitive reduction of the
    condensation).

    Examples
    --------
    >>> h = hasse_diagram()
    >>> h.number_of_nodes(), h.number_of_edges()
    (11, 13)
    """
    g = expressivity_graph()
    cond = nx.condensation(g)
    red = nx.transitive_reduction(cond)
    out = HasseDiagram()
    names = {}
    for n in cond.nodes:
        members = frozenset(cond.nodes[n]["members"])
        names[n] = class_name(members)
        out.add_node(names[n], members=members)
    for u, v in red.edges:
        out.add_edge(names[u], names[v])
    return out
