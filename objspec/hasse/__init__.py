"""The expressivity preorder of the 17 formalisms and its Hasse diagram.

Computed from the registries of :mod:`objspec.reductions` (constructions and separation
witnesses), never hard-coded; see :mod:`objspec.hasse.preorder`.

Examples
--------
>>> import objspec.hasse as hasse
>>> len(hasse.equivalence_classes())
11
"""

from objspec.hasse.drawing import HasseDiagram, draw, to_svg
from objspec.hasse.preorder import (
    Verdict,
    class_name,
    construction_graph,
    contradictions,
    decide,
    equivalence_classes,
    expressivity_graph,
    hasse_diagram,
    undecided_pairs,
    verdicts,
)
from objspec.hasse.tractability import draw_guarantees, guarantee_svg, tractability_table

__all__ = [
    "HasseDiagram",
    "Verdict",
    "class_name",
    "construction_graph",
    "contradictions",
    "decide",
    "draw",
    "draw_guarantees",
    "equivalence_classes",
    "expressivity_graph",
    "hasse_diagram",
    "guarantee_svg",
    "to_svg",
    "tractability_table",
    "undecided_pairs",
    "verdicts",
]
