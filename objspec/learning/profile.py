"""The expressibility profile: which formalisms can explain the data, on the Hasse diagram.

:func:`profile` runs the fitter of every registered formalism and then closes the answers
under the computed expressivity preorder (:func:`objspec.hasse.expressivity_graph`, where
``A >= B`` means every ordering of policies a B specification induces, in any environment,
some A specification induces too):

* if B explains the data and ``A >= B``, A explains it: the chain of registered
  constructions turns B's fitted specification into an A specification inducing the same
  ordering of policies (:func:`objspec.reductions.convert`);
* if no A specification explains the data (an exact certificate) and ``A >= B``, no B
  specification does either (one would convert into an A specification that does).

So ``fits`` is monotone along the diagram. The answers of fitters are never overridden: a
fitter that finds a fit where propagation proved none (or the reverse) is a bug somewhere,
and :class:`ProfileContradictionError` is raised naming both sides.

Inconsistent data (a strict cycle) is explained by no formalism: every entry is False,
with the cycle. The discount is taken as given by every formalism that has one.
Trajectory comparisons are only answered by fitters (the preorder is about orderings of
policies, not values of finite trajectories), so nothing is propagated for them.

Examples
--------
>>> import numpy as np
>>> from objspec import FiniteMDP
>>> from objspec.learning import Comparisons, profile
>>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
>>> env = FiniteMDP(P, [1.0, 0.0])
>>> data = Comparisons(policies=[[[0, 1], [0, 1]], [[1, 0], [1, 0]]], pairs=[(0, 1, ">")])
>>> result = profile(env, data, gamma=0.5)
>>> result.fits["MR"], result.fits["PO"], result.sources["MR"]
(True, True, 'fitter')
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from objspec.display.svg import escape
from objspec.errors import (
    InconsistentComparisonsError,
    InvalidSpecificationError,
    NotExpressibleError,
    ObjspecError,
)
from objspec.formalisms.fitting import Comparisons, Fit, ImpossibilityCertificate
from objspec.formalisms.registry import formalism_info, registered_formalisms
from objspec.learning.fitting import fit as fit_formalism
from objspec.mdp.model import FiniteMDP

__all__ = ["Profile", "ProfileContradictionError", "profile", "PROFILE_COLOURS"]

#: Fill colours of the coloured Hasse diagram (colour-blind-safe).
PROFILE_COLOURS: dict[str, str] = {
    "fits": "#8fd19e",
    "cannot fit (certificate)": "#f4a6a6",
    "unknown": "#e0e0e0",
}


class ProfileContradictionError(ObjspecError):
    """A fitter's answer contradicts what the expressivity preorder proves from another
    fitter's answer (a bug in a fitter, a construction or a separation witness)."""


@dataclass(frozen=True)
class Profile:
    """Which formalisms can explain some comparisons (:func:`profile`'s result).

    Attributes
    ----------
    fits : dict
        Acronym -> True (explained), False (proved impossible) or None (unknown).
    results : dict
        Acronym -> the evidence: a :class:`~objspec.learning.Fit` (from the fitter, or
        built by constructions from another formalism's fit), an
        :class:`~objspec.learning.ImpossibilityCertificate` (the formalism's own, or that of
        a formalism above it), the :class:`~objspec.errors.InconsistentComparisonsError`
        for inconsistent data, or a string saying why the answer is unknown.
    sources : dict
        Acronym -> ``"fitter"``, ``"propagated from X (A >= X)"`` or the like.
    gamma : object
        The discount the profile was computed with.
    seconds : float
        Wall time.
    """

    fits: dict[str, bool | None]
    results: dict[str, Any] = field(repr=False)
    sources: dict[str, str] = field(repr=False)
    gamma: Any = None
    seconds: float = 0.0

    def __repr__(self) -> str:
        yes = [a for a, v in self.fits.items() if v is True]
        no = [a for a, v in self.fits.items() if v is False]
        unknown = [a for a, v in self.fits.items() if v is None]
        return (f"Profile(fits: {', '.join(yes) or 'none'}; cannot fit: "
                f"{', '.join(no) or 'none'}; unknown: {', '.join(unknown) or 'none'})")

    def status(self, acronym: str) -> str:
        """``"fits"``, ``"cannot fit (certificate)"`` or ``"unknown"``."""
        v = self.fits[acronym]
        return {True: "fits", False: "cannot fit (certificate)", None: "unknown"}[v]

    def evidence(self, acronym: str) -> str:
        """One line: what decides the formalism's entry."""
        r = self.results.get(acronym)
        if isinstance(r, Fit):
            return str(r)
        if isinstance(r, ImpossibilityCertificate):
            return r.explanation()
        return str(r)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per formalism: acronym, status, source, evidence."""
        return [{"formalism": a, "fits": v, "status": self.status(a),
                 "source": self.sources.get(a, ""), "evidence": self.evidence(a)}
                for a, v in self.fits.items()]

    def table(self) -> Any:
        """The rows as a pandas DataFrame (pandas installed), else an
        :class:`objspec.display.tables.Table`."""
        rows = self.rows()
        try:
            import pandas as pd
        except ImportError:
            from objspec.display.tables import Table

            cols = ["formalism", "status", "source", "evidence"]
            return Table(cols, [[r[c] for c in cols] for r in rows], title="profile")
        return pd.DataFrame(rows).set_index("formalism")

    def colours(self) -> tuple[dict[str, str], dict[str, str]]:
        """``(fills, labels)`` for the Hasse diagram: each class filled by its status (all
        members of a class share it when any is decided) and labelled member by member."""
        from objspec.hasse import hasse_diagram

        fills, labels = {}, {}
        for node in hasse_diagram().nodes:
            members = str(node).split(" = ")
            statuses = {self.status(m) for m in members if m in self.fits}
            decided = statuses - {"unknown"}
            key = next(iter(decided)) if len(decided) == 1 else "unknown"
            fills[node] = PROFILE_COLOURS[key]
            labels[node] = "\n".join(
                f"{m}: {self.status(m).split(' (')[0]}" if m in self.fits else m
                for m in members)
        return fills, labels

    def draw(self, path: str | Path | None = None, ax: Any = None) -> Any:
        """The Hasse diagram coloured by the profile (matplotlib), with a legend; saved to
        ``path`` if given (``.svg``, ``.png`` or ``.pdf``). Returns the figure."""
        from objspec.hasse import draw

        fills, labels = self.colours()
        return draw(path, ax, colour_by=fills, labels=labels, legend=PROFILE_COLOURS,
                    title="Which formalisms explain the data")

    def to_svg(self) -> str:
        """The coloured Hasse diagram as SVG text."""
        from objspec.hasse import to_svg

        fills, labels = self.colours()
        key = "; ".join(f"{k}: {v}" for k, v in PROFILE_COLOURS.items())
        return to_svg(colour_by=fills, labels=labels,
                      title="Which formalisms explain the data", caption=f"fill colours: {key}")

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{escape(r['formalism'])}</td><td>{escape(r['status'])}</td>"
            f"<td>{escape(r['source'])}</td><td>{escape(r['evidence'])}</td></tr>"
            for r in self.rows())
        svg = self.to_svg()
        svg = svg[svg.index("<svg"):] if "<svg" in svg else svg
        return (f"<div>{svg}<table><tr><th>formalism</th><th>status</th><th>source</th>"
                f"<th>evidence</th></tr>{rows}</table></div>")


def _unknown(exc: Exception) -> str:
    return f"unknown: {type(exc).__name__}: {exc}"


def _run_fitter(acronym: str, env: FiniteMDP, data: Comparisons, gamma: Any, exact: bool,
                options: Mapping[str, Any]) -> tuple[bool | None, Any]:
    info = formalism_info(acronym)
    if info.fitter is None:
        return None, "unknown: no fitter is registered for this formalism"
    try:
        result = fit_formalism(acronym, env, data, gamma=gamma, exact=exact, **options)
    except InconsistentComparisonsError as exc:
        return False, exc
    except NotExpressibleError as exc:
        cert = getattr(exc, "certificate", None)
        if isinstance(cert, ImpossibilityCertificate):
            cert.check()
            return False, cert
        return None, _unknown(exc)
    except ObjspecError as exc:
        return None, _unknown(exc)
    if result.violated:
        return None, f"unknown: the fit violates {len(result.violated)} comparisons"
    return True, result


def _convert(fit: Fit, target: str, env: FiniteMDP, data: Comparisons, chain: tuple[str, ...]
             ) -> Any:
    from objspec.reductions import convert

    how = f"constructions {' -> '.join(chain)} from the {fit.formalism} fit"
    try:
        spec = convert(fit.spec, target, env)
    except ObjspecError as exc:
        return (f"fits: {target} >= {fit.formalism}, whose fit converts by {how}; objspec "
                f"could not build the {target} specification ({exc})")
    return Fit(target, spec, None, (), how, False, "", 0.0,
               {"from": fit.formalism, "chain": chain, "verified": _orders(spec, env, data)})


def _orders(spec: Any, env: FiniteMDP, data: Comparisons) -> bool | None:
    """Whether ``spec``, compiled on ``env`` (floats), orders every comparison as the data
    says; None when it cannot be evaluated here."""
    try:
        ev = spec.compile(env)
        items = data.items
        return all(ev.compare(items[c.first], items[c.second]) == (1 if c.relation == ">"
                                                                    else 0)
                   for c in data.comparisons)
    except ObjspecError:
        return None


def profile(
    env: FiniteMDP,
    data: Comparisons,
    *,
    gamma: Any = None,
    exact: bool = False,
    construct: bool = True,
    **options: Mapping[str, Any],
) -> Profile:
    """Which registered formalisms can explain ``data`` (module docstring).

    Parameters
    ----------
    env : FiniteMDP
        The environment of the policies (or trajectories).
    data : Comparisons
        The comparisons.
    gamma : float or Fraction, optional
        The discount, taken as given by every formalism that has one (those fitters answer
        None without it).
    exact : bool
        Ask every fitter for an exact fit.
    construct : bool
        Build, for formalisms decided True by propagation, their specification by the
        registered constructions (``results[A]`` is then a ``Fit``); otherwise a string.
    **options : mapping
        Formalism-specific fit keywords, per acronym: ``RM={"machine": skeleton}``.

    Returns
    -------
    Profile

    Raises
    ------
    ProfileContradictionError
        If a fitter's answer contradicts the preorder and another fitter's answer.
    InvalidSpecificationError, InvalidPolicyError
        On data that does not fit ``env`` or options for an unknown formalism.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.learning import Comparisons
    >>> P = np.zeros((1, 2, 1)); P[0, :, 0] = 1.0
    >>> env = FiniteMDP(P, [1.0])
    >>> cyclic = Comparisons(policies=[[[1, 0]], [[0, 1]]], pairs=[(0, 1, ">"), (1, 0, ">")])
    >>> set(profile(env, cyclic, gamma=0.5).fits.values())
    {False}
    """
    start = time.perf_counter()
    if not isinstance(data, Comparisons):
        raise InvalidSpecificationError(
            f"profile: data must be objspec.learning.Comparisons, got {type(data).__name__}")
    if not isinstance(env, FiniteMDP):
        raise InvalidSpecificationError(
            f"profile: env must be a FiniteMDP, got {type(env).__name__}")
    acronyms = [i.acronym for i in registered_formalisms()]
    per: dict[str, dict[str, Any]] = {}
    for key, value in options.items():
        acr = formalism_info(key).acronym
        if not isinstance(value, Mapping):
            raise InvalidSpecificationError(
                f"profile: {key}= must be a mapping of fit keywords for {acr}, got "
                f"{type(value).__name__}")
        per[acr] = dict(value)
    data.validate(env)
    cycle = data.cycle()
    if cycle is not None:
        try:
            data.check_consistent()
        except InconsistentComparisonsError as exc:
            return Profile({a: False for a in acronyms}, {a: exc for a in acronyms},
                           {a: "inconsistent data" for a in acronyms}, gamma,
                           time.perf_counter() - start)
    fits: dict[str, bool | None] = {}
    results: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for a in acronyms:
        fits[a], results[a] = _run_fitter(a, env, data, gamma, exact, per.get(a, {}))
        sources[a] = "fitter" if fits[a] is not None else ""
    if data.policies is not None:
        _propagate(env, data, acronyms, fits, results, sources, construct)
    return Profile(fits, results, sources, gamma, time.perf_counter() - start)


def _propagate(env: FiniteMDP, data: Comparisons, acronyms: list[str],
               fits: dict[str, bool | None], results: dict[str, Any], sources: dict[str, str],
               construct: bool) -> None:
    """Close the fitters' answers under the preorder (True up, False down), in place."""
    from objspec.hasse import expressivity_graph

    graph = expressivity_graph()  # edge A -> B iff A >= B is proved
    own = {a: v for a, v in fits.items() if v is not None}
    up: dict[str, str] = {}    # formalism -> the fitted formalism it is >= of
    down: dict[str, str] = {}  # formalism -> the certified formalism it is <= of
    for b, v in own.items():
        if b not in graph:
            continue
        if v is True:
            for a in graph.predecessors(b):
                up.setdefault(a, b)
        else:
            for c in graph.successors(b):
                down.setdefault(c, b)
    for x in acronyms:
        u, d = up.get(x), down.get(x)
        if u is not None and d is not None:
            raise ProfileContradictionError(
                f"profile: {x} <= {d}, which cannot explain the data (certificate), and "
                f"{x} >= {u}, which explains it (fit): the fitters of {u} and {d} "
                "contradict the expressivity preorder")
        if own.get(x) is False and u is not None:
            raise ProfileContradictionError(
                f"profile: the {x} fitter proved no specification explains the data, but "
                f"{x} >= {u}, whose fitter explains it: one of them is wrong")
        if own.get(x) is True and d is not None:
            raise ProfileContradictionError(
                f"profile: the {x} fitter explains the data, but {d} >= {x} cannot "
                f"(certificate): one of them is wrong")
        if x in own:
            continue
        if u is not None:
            fits[x] = True
            sources[x] = f"propagated from {u} ({x} >= {u})"
            chain = graph.edges[x, u].get("chain", ())
            results[x] = (_convert(results[u], x, env, data, chain) if construct else
                          f"fits: {x} >= {u}, which fits (chain {' -> '.join(chain)})")
        elif d is not None:
            fits[x] = False
            sources[x] = f"propagated from {d} ({d} >= {x})"
            results[x] = results[d]
