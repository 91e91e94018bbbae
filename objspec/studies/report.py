"""The report of a study: expressed fractions with Wilson intervals, checked against theory.

For every target A and source B of a study, :func:`rates` counts the random B-instances
that an A-specification reproduces (``fit`` succeeded), those it provably cannot (an
impossibility certificate) and those left open (no fitter, bounded search, failure), and
gives the fraction expressed among the decided ones with a 95% Wilson score interval
(:func:`wilson_interval`). Each pair carries the computed verdict of ``A >= B``
(:func:`objspec.reductions.verdicts.decide`): where the theory says ``A >= B`` the fraction
must be 1.0, and :func:`contradictions` lists every instance that says otherwise, as does
every separation witness's own instance that a formalism below the witness's A is fitted
to (docs/theory.md#separations). :func:`separation_checks` asks, for every separation
``A < B`` with a fitted A, whether some instance of the witness family was found not
expressible. :func:`quantitative_hasse` is the diagram with these numbers on its edges.

Examples
--------
>>> lo, hi = wilson_interval(9, 10)
>>> round(lo, 3), round(hi, 3)
(0.596, 0.982)
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from objspec.studies.results import read_results, stored_study
from objspec.studies.tasks import TARGET_FIELDS

__all__ = [
    "StudyReport",
    "contradictions",
    "outcomes",
    "quantitative_hasse",
    "rates",
    "report",
    "separation_checks",
    "wilson_interval",
]

#: The z-score of the 95% intervals.
Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (NaNs when ``n == 0``).

    Examples
    --------
    >>> wilson_interval(10, 10)[1], wilson_interval(0, 10)[0]
    (1.0, 0.0)
    """
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _targets(df: Any) -> list[str]:
    suffix = ".expressible"
    return [c[: -len(suffix)] for c in df.columns if c.endswith(suffix)]


def outcomes(df: Any) -> Any:
    """One row per (task, target): the per-target columns of a results table, long format.

    Rows of failed tasks (``error`` set) are left out. Columns: ``task_id``, ``generator``,
    ``source``, ``witness``, ``source_exact``, ``gamma_from``, ``target`` and the fields of
    :data:`~objspec.studies.tasks.TARGET_FIELDS`.
    """
    import pandas as pd

    ok = df[df["error"].isna()]
    keep = ["task_id", "generator", "source", "witness", "source_exact", "gamma_from"]
    parts = []
    for t in _targets(df):
        part = ok[keep + [f"{t}.{k}" for k in TARGET_FIELDS]].copy()
        part.columns = keep + list(TARGET_FIELDS)
        part.insert(len(keep), "target", t)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["task_id", "target"], kind="stable").reset_index(drop=True)


def _discounted(target: str) -> bool:
    """Whether the target's specifications take a discount (``fit`` takes it as given)."""
    import inspect

    from objspec.formalisms.registry import formalism_info

    return "gamma" in inspect.signature(formalism_info(target).cls).parameters


def _discount_caveat(target: str, gamma_from: Any) -> bool:
    """A not-expressed instance of a proved pair that the theory does not cover: the source
    has no discount, so the target was fitted with the study's, while the construction
    proving ``target >= source`` may choose its own (the FTR -> INMR digit encoding does)."""
    return gamma_from == "study" and _discounted(target)


def _theory(a: str, b: str) -> str:
    from objspec.reductions.verdicts import decide

    holds = decide(a, b).holds
    return {True: "holds", False: "fails", None: "undecided"}[holds]


def rates(df: Any) -> Any:
    """Per (target, source) over the random instances: counts, fraction expressed, interval.

    Columns: ``target``, ``source``, ``instances``, ``expressed``, ``not_expressed``,
    ``discount_given`` (of those, instances whose source has no discount fitted by a
    discounted target with the study's discount), ``unknown``, ``rate`` (expressed /
    decided), ``lower``, ``upper`` (95% Wilson),
    ``theory`` (the computed verdict of ``target >= source``: holds, fails, undecided) and
    ``status`` (``BUG`` when the theory says holds and an instance was not expressed, or a
    certificate failed its check; ``discount given`` when the only such instances had a
    source without a discount and a discounted target, fitted with the study's discount,
    which the theory does not cover).
    """
    import pandas as pd

    long = outcomes(df)
    long = long[long["witness"].isna()]
    rows = []
    for (t, s), g in long.groupby(["target", "source"], sort=True):
        yes = int((g["expressible"] == True).sum())  # noqa: E712  (nullable booleans)
        no = int((g["expressible"] == False).sum())  # noqa: E712
        lo, hi = wilson_interval(yes, yes + no)
        theory = _theory(str(t), str(s))
        bad_cert = int((g["certificate_ok"] == False).sum())  # noqa: E712
        missed = g[g["expressible"] == False]  # noqa: E712
        caveat = sum(_discount_caveat(str(t), x) for x in missed["gamma_from"])
        if bad_cert or (theory == "holds" and no > caveat):
            status = "BUG"
        elif theory == "holds" and caveat:
            status = "discount given"
        else:
            status = "" if yes + no else "no answer"
        rows.append({"target": t, "source": s, "instances": len(g), "expressed": yes,
                     "not_expressed": no, "discount_given": caveat,
                     "unknown": len(g) - yes - no,
                     "rate": yes / (yes + no) if yes + no else math.nan,
                     "lower": lo, "upper": hi, "theory": theory, "status": status})
    columns = ["target", "source", "instances", "expressed", "not_expressed",
               "discount_given", "unknown", "rate", "lower", "upper", "theory", "status"]
    return pd.DataFrame(rows, columns=columns)


def _witness_kinds() -> dict[str, Any]:
    from objspec.reductions import separations

    return {w.name: w for w in separations()}


def _up() -> dict[str, set[str]]:
    """Formalism -> every formalism proved at least as expressive (construction chains)."""
    from objspec.reductions.verdicts import construction_graph

    cg = construction_graph()
    return {x: nx.descendants(cg, x) | {x} for x in cg.nodes}


def contradictions(df: Any) -> Any:
    """Every instance that contradicts the theory (each one a bug somewhere).

    * a random B-instance that A provably cannot express although ``A >= B`` is proved
      (unless the target was fitted with the study's discount because the source has none:
      the construction may need another discount, so the theory does not cover it);
    * a separation witness's instance (a finite certificate that its A cannot express it)
      that a formalism A' with ``A >= A'`` is fitted to;
    * an impossibility certificate that fails its own check.
    """
    import pandas as pd

    from objspec.reductions.separation_catalogue import AnalyticWitness

    long = outcomes(df)
    witnesses, up = _witness_kinds(), _up()
    found = []
    for r in long.itertuples(index=False):
        why = None
        if r.certificate_ok is False:
            why = "the impossibility certificate fails its check"
        elif isinstance(r.witness, str) and r.witness in witnesses:
            w = witnesses[r.witness]
            if (r.expressible is True and not isinstance(w, AnalyticWitness)
                    and w.a in up[r.target]):
                why = (f"witness {w.name} proves {w.a} (>= {r.target}) cannot express this "
                       f"{w.b} ordering, yet {r.target} fitted it")
        elif (r.expressible is False and _theory(r.target, r.source) == "holds"
              and not _discount_caveat(r.target, r.gamma_from)):
            why = f"{r.target} >= {r.source} is proved, yet this instance is not expressed"
        if why is not None:
            found.append({"task_id": r.task_id, "target": r.target, "source": r.source,
                          "witness": r.witness, "source_exact": r.source_exact, "why": why})
    return pd.DataFrame(found, columns=["task_id", "target", "source", "witness",
                                        "source_exact", "why"])


def separation_checks(df: Any) -> Any:
    """For each separation ``A < B`` (computed verdict fails) with A a target of the study:
    whether an instance of its witness family was found not expressible by A.

    The family of ``(A, B)`` is every registered witness ``w`` with ``w.a >= A`` and
    ``B >= w.b`` (each proves ``A`` cannot express a ``B``-ordering). ``status``:
    ``found``; ``no fitter`` (A has none); ``not run`` (no witness instances in the study);
    ``MISSING`` (a finite witness ran and A expressed it: also in :func:`contradictions`);
    ``analytic only`` (no family member has a finite certificate, so finite data cannot
    show it); ``no answer`` (the fitter answered none of the finite witnesses' instances:
    a bounded search, or options it needs).
    """
    import pandas as pd

    from objspec.formalisms.registry import formalism_info
    from objspec.reductions.registry import FORMALISMS
    from objspec.reductions.separation_catalogue import AnalyticWitness
    from objspec.reductions.verdicts import decide

    long = outcomes(df)
    long = long[long["witness"].notna()]
    witnesses, up = _witness_kinds(), _up()
    rows = []
    for a in _targets(df):
        for b in FORMALISMS:
            if decide(a, b).holds is not False:
                continue
            family = [w for w in witnesses.values() if w.a in up[a] and b in up[w.b]]
            ran = long[(long["target"] == a) & long["witness"].isin([w.name for w in family])]
            not_expr = ran[ran["expressible"] == False]  # noqa: E712
            finite = [w.name for w in family if not isinstance(w, AnalyticWitness)]
            finite_fitted = ran[ran["witness"].isin(finite) & (ran["expressible"] == True)]  # noqa: E712
            if formalism_info(a).fitter is None:
                status = "no fitter"
            elif len(not_expr):
                status = "found"
            elif ran.empty:
                status = "not run"
            elif len(finite_fitted):
                status = "MISSING"
            elif not finite:
                status = "analytic only"
            else:
                status = "no answer"
            rows.append({"target": a, "source": b, "family": ", ".join(w.name for w in family),
                         "instances": len(ran), "not_expressed": len(not_expr),
                         "witnesses_found": ", ".join(sorted(set(not_expr["witness"]))),
                         "status": status})
    return pd.DataFrame(rows, columns=["target", "source", "family", "instances",
                                       "not_expressed", "witnesses_found", "status"])


def quantitative_hasse(df: Any) -> nx.DiGraph:
    """DiGraph on the study's formalisms, edge ``A -> B`` per target A and source B
    (``A != B``) with the :func:`rates` columns as attributes (``rate``, ``lower``,
    ``upper``, ``instances``, ``theory``, ``status``)."""
    g = nx.DiGraph()
    for r in rates(df).to_dict("records"):
        g.add_node(r["target"])
        g.add_node(r["source"])
        if r["target"] != r["source"]:
            g.add_edge(r["target"], r["source"], **{k: v for k, v in r.items()
                                                    if k not in ("target", "source")})
    return g


def _levels() -> dict[str, int]:
    """Formalism -> the height of its class in the computed Hasse diagram (0: bottom)."""
    from objspec.hasse import hasse_diagram

    h = hasse_diagram()
    height: dict[str, int] = {}
    for node in reversed(list(nx.topological_sort(h))):
        below = [height[v] + 1 for v in h.successors(node)]
        height[node] = max(below, default=0)
    return {m: height[n] for n in h.nodes for m in h.nodes[n]["members"]}


@dataclass
class StudyReport:
    """Everything :func:`report` computes for a results folder."""

    study: dict[str, Any]
    results: Any
    rates: Any
    contradictions: Any
    separations: Any

    @property
    def bugs(self) -> int:
        """Instances contradicting the theory (0 unless something is wrong)."""
        return len(self.contradictions)

    def __str__(self) -> str:
        errors = int(self.results["error"].notna().sum())
        head = (f"study {self.study.get('name', '?')!r}: {len(self.results)} tasks, "
                f"{errors} failed")
        table = self.rates.to_string(index=False, float_format=lambda x: f"{x:.3f}")
        parts = [head, "", "fraction of B-instances A expressed (95% Wilson interval):", table]
        if len(self.separations):
            parts += ["", "separations (A < B) and their witness families:",
                      self.separations.drop(columns=["family", "witnesses_found"])
                      .to_string(index=False)]
        if self.bugs:
            parts += ["", f"BUG: {self.bugs} instance(s) contradict the theory:",
                      self.contradictions.to_string(index=False)]
        else:
            parts += ["", "no instance contradicts the theory"]
        return "\n".join(parts)

    def figure(self) -> Any:
        """A matplotlib Figure: the rates as a heat map and the quantitative diagram."""
        return _figure(self)

    def _repr_html_(self) -> str:
        return str(self.rates.to_html(index=False, float_format=lambda x: f"{x:.3f}"))

    def _repr_svg_(self) -> str:
        import matplotlib.pyplot as plt

        fig = self.figure()
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight")
        plt.close(fig)
        return buf.getvalue()


def _figure(rep: StudyReport) -> Any:
    import matplotlib.pyplot as plt
    import numpy as np

    r = rep.rates
    if r.empty:  # every task failed: say so instead of drawing empty axes
        fig, ax = plt.subplots(figsize=(5, 1.5))
        ax.text(0.5, 0.5, "no results to draw (every task failed)", ha="center")
        ax.axis("off")
        return fig
    targets, sources = sorted(set(r["target"])), sorted(set(r["source"]))
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(6 + 0.9 * len(sources), 2.5 + 0.5 *
                                                max(len(targets), 4)))
    grid = np.full((len(targets), len(sources)), np.nan)
    for row in r.itertuples(index=False):
        grid[targets.index(row.target), sources.index(row.source)] = row.rate
    ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    for row in r.itertuples(index=False):
        i, j = targets.index(row.target), sources.index(row.source)
        text = ("n/a" if math.isnan(row.rate)
                else f"{row.rate:.2f}\n[{row.lower:.2f},{row.upper:.2f}]")
        ax.text(j, i, text + ("\nBUG" if row.status == "BUG" else ""), ha="center",
                va="center", fontsize=7, color="red" if row.status == "BUG" else "white")
    ax.set_xticks(range(len(sources)), sources, rotation=45)
    ax.set_yticks(range(len(targets)), targets)
    ax.set_xlabel("source B (sampled)")
    ax.set_ylabel("target A (fitted)")
    ax.set_title("fraction of B-instances A expresses")
    _draw_diagram(bx, rep)
    fig.tight_layout()
    return fig


def _draw_diagram(ax: Any, rep: StudyReport) -> None:
    levels = _levels()
    g = quantitative_hasse(rep.results)
    by_level: dict[int, list[str]] = {}
    for n in sorted(g.nodes, key=lambda n: (levels.get(n, 0), n)):
        by_level.setdefault(levels.get(n, 0), []).append(n)
    pos = {n: (k - (len(ns) - 1) / 2, lvl) for lvl, ns in by_level.items()
           for k, n in enumerate(ns)}
    colour = {"holds": "tab:green", "fails": "tab:grey", "undecided": "tab:orange"}
    for a, b, d in g.edges(data=True):
        if math.isnan(d["rate"]):
            continue
        c = "red" if d["status"] == "BUG" else colour[d["theory"]]
        ax.annotate("", xy=pos[b], xytext=pos[a],
                    arrowprops={"arrowstyle": "->", "color": c, "shrinkA": 12, "shrinkB": 12})
        mid = ((pos[a][0] + pos[b][0]) / 2, (pos[a][1] + pos[b][1]) / 2)
        ax.text(*mid, f"{d['rate']:.2f}", fontsize=7, color=c, ha="center",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
    for n, (x, y) in pos.items():
        ax.text(x, y, n, ha="center", va="center", fontsize=9,
                bbox={"boxstyle": "round", "facecolor": "lightyellow"})
    xs = [p[0] for p in pos.values()] or [0]
    ys = [p[1] for p in pos.values()] or [0]
    ax.set_xlim(min(xs) - 1, max(xs) + 1)
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    ax.axis("off")
    ax.set_title("A -> B: fraction expressed (green: A >= B proved)")


def report(folder: str | Path) -> StudyReport:
    """The :class:`StudyReport` of a results folder (rows sorted by task id).

    Raises
    ------
    StudyError
        The folder is not a results folder or holds no rows.

    Examples
    --------
    >>> import tempfile
    >>> from objspec.studies import parse_study, run_study
    >>> study = parse_study('sources = ["MR"]\\ntargets = ["MR"]\\ninstances = 2\\n'
    ...                     '[[environments]]\\ngenerator = "random_rational_mdp"\\nstates = 2')
    >>> folder = tempfile.mkdtemp()
    >>> _ = run_study(study, folder, workers=0, progress=False)
    >>> rep = report(folder)
    >>> rep.bugs, rep.rates[["target", "source", "expressed", "rate", "theory"]].values.tolist()
    (0, [['MR', 'MR', 2, 1.0, 'holds']])
    """
    df = read_results(folder)
    stored = stored_study(folder) or {}
    return StudyReport(dict(stored.get("study", {})), df, rates(df), contradictions(df),
                       separation_checks(df))
