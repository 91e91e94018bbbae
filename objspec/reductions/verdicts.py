"""The verdict of each ordered pair of formalisms, decided from the registered evidence only.

``A >= B`` (A can express every ordering B can, in every environment) is decided for each
of the 17 x 17 ordered pairs:

* **holds** if ``A == B`` or there is a chain of registered constructions from B to A
  (reachability in the construction graph);
* **fails** if some registered separation witness (A0 cannot express a B0-ordering) has
  ``A0 >= A`` and ``B >= B0`` (both by construction chains): anything A can express, A0 can,
  and B can express the witness ordering;
* **undecided** otherwise (and a pair with both kinds of evidence is reported as
  contradictory). Nothing is filled in by hand.

This sits in :mod:`objspec.reductions` (below :mod:`objspec.hasse`, which re-exports it and
builds the graphs and the Hasse diagram on it) so that :func:`objspec.reductions.convert`
can name the witness when a conversion is impossible without importing upwards.

Examples
--------
>>> from objspec.reductions.verdicts import decide
>>> decide("RRL", "FOMR").holds
False
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import networkx as nx

from objspec.reductions.registry import FORMALISMS, acronym_of

__all__ = [
    "Verdict",
    "decide",
    "verdicts",
    "construction_graph",
    "undecided_pairs",
    "contradictions",
]


@dataclass(frozen=True)
class Verdict:
    """Whether ``a >= b``, and why.

    Attributes
    ----------
    a, b : str
        The ordered pair (row A, column B of the paper's table).
    holds : bool or None
        True (``a >= b``), False (``a`` cannot express some ``b``-ordering) or None
        (undecided or contradictory evidence).
    chain : tuple of str
        Names of the constructions from ``b`` to ``a`` (when it holds).
    witness : str or None
        The separation witness (when it fails).
    evidence : str
        One line for tables and error messages.
    """

    a: str
    b: str
    holds: bool | None
    chain: tuple[str, ...] = ()
    witness: str | None = None
    evidence: str = ""

    @property
    def symbol(self) -> str:
        """``=`` (diagonal), ``Y``, ``N`` or ``?``."""
        if self.a == self.b:
            return "="
        return {True: "Y", False: "N", None: "?"}[self.holds]


def construction_graph() -> nx.DiGraph:
    """DiGraph on the 17 acronyms, edge ``source -> target`` per registered construction
    (the first registered one per pair is kept as ``construction``)."""
    from objspec.reductions import construction_catalogue  # noqa: F401  (registers them)
    from objspec.reductions.registry import registered_constructions as constructions

    g = nx.DiGraph()
    g.add_nodes_from(FORMALISMS)
    for c in constructions():
        if not g.has_edge(c.source, c.target):
            g.add_edge(c.source, c.target, construction=c.name, needs_env=c.needs_env)
    return g


def _compute() -> dict[tuple[str, str], Verdict]:
    """The verdicts for the registries as they are now (cached per registry state)."""
    from objspec.reductions import construction_catalogue  # noqa: F401  (registers them)
    from objspec.reductions.registry import registered_constructions
    from objspec.reductions.separation_catalogue import registered_separations

    key = (tuple(FORMALISMS), tuple(c.name for c in registered_constructions()),
           tuple(w.name for w in registered_separations()))
    return _compute_for(key)


@functools.lru_cache(maxsize=4)
def _compute_for(key: tuple[tuple[str, ...], ...]) -> dict[tuple[str, str], Verdict]:
    from objspec.reductions.separation_catalogue import registered_separations as separations

    cg = construction_graph()
    up = {x: nx.descendants(cg, x) | {x} for x in FORMALISMS}  # everything >= x
    paths = {x: nx.single_source_shortest_path(cg, x) for x in FORMALISMS}
    out: dict[tuple[str, str], Verdict] = {}
    witnesses = separations()
    for a in FORMALISMS:
        for b in FORMALISMS:
            chain: tuple[str, ...] = ()
            pos = a in up[b]
            if pos and a != b:
                nodes = paths[b][a]
                steps = zip(nodes, nodes[1:], strict=False)
                chain = tuple(cg.edges[u, v]["construction"] for u, v in steps)
            neg = [w for w in witnesses if w.a in up[a] and b in up[w.b]]
            if a == b:
                out[a, b] = Verdict(a, b, True, (), None, "identity")
            elif pos and neg:
                out[a, b] = Verdict(a, b, None, chain, neg[0].name,
                                    f"CONTRADICTION: chain {' -> '.join(chain)} vs witness "
                                    f"{neg[0].name}")
            elif pos:
                out[a, b] = Verdict(a, b, True, chain, None, "chain " + " -> ".join(chain))
            elif neg:
                w = min(neg, key=lambda w: (w.a != a) + (w.b != b))
                props = [f"{w.a} >= {a}"] * (w.a != a) + [f"{b} >= {w.b}"] * (w.b != b)
                via = f" ({', '.join(props)})" if props else ""
                out[a, b] = Verdict(a, b, False, (), w.name,
                                    f"witness {w.name}: {w.a} cannot express {w.b}{via}")
            else:
                out[a, b] = Verdict(a, b, None, (), None, "undecided: no registered evidence")
    return out


def verdicts() -> dict[tuple[str, str], Verdict]:
    """The verdict of every ordered pair ``(a, b)``: 289 for the paper's 17 formalisms."""
    return dict(_compute())


def decide(a: object, b: object) -> Verdict:
    """Whether formalism ``a`` can express every ordering of ``b`` (acronyms or classes)."""
    return _compute()[acronym_of(a), acronym_of(b)]


def undecided_pairs() -> list[tuple[str, str]]:
    """Pairs with no evidence either way (or contradictory evidence)."""
    return [k for k, v in _compute().items() if v.holds is None]


def contradictions() -> list[Verdict]:
    """Pairs with both a construction chain and a separation witness (a bug somewhere)."""
    return [v for v in _compute().values() if v.evidence.startswith("CONTRADICTION")]


#: Clearing the cache of :func:`_compute` clears the per-registry-state cache.
_compute.cache_clear = _compute_for.cache_clear  # type: ignore[attr-defined]
