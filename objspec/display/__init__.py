"""Printers for Jupyter: SVG graphs, HTML tables of policies and evaluation results.

The printers live here, apart from the objects they draw (sympy's and Spot's style); the
objects' ``_repr_svg_`` / ``_repr_html_`` methods are one-line delegations. Nothing needs
graphviz: every node-link drawing is written by one SVG writer, :func:`graph_svg`.

* :mod:`objspec.display.svg`: :func:`graph_svg` (nodes, edges, labels, a layout -> SVG),
  used for MDPs, automata and reward machines (:mod:`objspec.ltl.rendering`) and the Hasse
  diagram (:func:`objspec.hasse.to_svg`);
* :mod:`objspec.display.mdps`: :func:`mdp_svg`, the state graph of a
  :class:`~objspec.FiniteMDP`, optionally with the chain a policy induces (gridworlds as
  grids);
* :mod:`objspec.display.policies`: :func:`policy_html`, a policy's action probabilities as
  a shaded table;
* :mod:`objspec.display.tables`: :class:`Table` and :func:`evaluation_table`, values and
  ranks of policies under several specifications;
* :mod:`objspec.display.tasks`: :func:`task_html`, an example task (description,
  specification, drawings).

Layering: this package sits above :mod:`objspec.mdp` (it draws MDPs and reads policies) and
below :mod:`objspec.ltl`, whose renderer uses the SVG writer.

Examples
--------
>>> from objspec.environments import E3
>>> svg = mdp_svg(E3())
>>> svg.startswith("<svg") and "s0" in svg and "</svg>" in svg
True
"""

from objspec.display.mdps import MAX_GRAPH_STATES, MAX_GRID_STATES, mdp_repr_svg, mdp_svg
from objspec.display.policies import policy_html
from objspec.display.svg import Edge, Node, graph_svg
from objspec.display.tables import Table, evaluation_table
from objspec.display.tasks import task_html

__all__ = [
    "Edge",
    "Node",
    "Table",
    "evaluation_table",
    "graph_svg",
    "mdp_repr_svg",
    "mdp_svg",
    "policy_html",
    "task_html",
    "MAX_GRAPH_STATES",
    "MAX_GRID_STATES",
]
