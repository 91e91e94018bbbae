"""Drawings of MDPs: the state graph (with the chain a policy induces), or a grid.

Graphs go through the shared writer :func:`objspec.display.svg.graph_svg`; gridworlds
(states named ``"(row,col)"``, as :func:`objspec.environments.gridworld` names them) are drawn
as grids of cells.

Examples
--------
>>> from objspec.environments import E3
>>> svg = mdp_svg(E3())
>>> svg.startswith("<svg") and "s0" in svg and "</svg>" in svg
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from objspec.display.svg import Edge, Node, escape, graph_svg, short_number
from objspec.errors import InvalidPolicyError, ObjspecError
from objspec.mdp.policy import as_policy_batch

if TYPE_CHECKING:
    from objspec.mdp.model import FiniteMDP

__all__ = ["MAX_GRAPH_STATES", "MAX_GRID_STATES", "mdp_repr_svg", "mdp_svg"]

#: Largest MDP drawn as a node-link graph by ``_repr_svg_``.
MAX_GRAPH_STATES = 40
#: Largest gridworld (states named ``"(row,col)"``) drawn as a grid by ``_repr_svg_``.
MAX_GRID_STATES = 600

_GRID_NAME = re.compile(r"^\((\d+),(\d+)\)$")
_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
)


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
        Node(s, names[s], _state_label_text(env, s), initial=bool(env.initial[s] > 0))
        for s in range(env.n_states)
    ]
    edges: list[Edge] = []
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
                    parts.append(f"{who} {short_number(p)}")
                edges.append(Edge(s, int(t), "; ".join(parts)))
    else:
        chain = np.einsum("sa,sat->st", pi, P)
        for s in range(env.n_states):
            for t in np.flatnonzero(chain[s] > 1e-12):
                p = float(chain[s, t])
                edges.append(Edge(s, int(t), short_number(p), color="#1f5fa8", width=0.8 + 2.2 * p))
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
                f"{escape(text)}</text>"
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
