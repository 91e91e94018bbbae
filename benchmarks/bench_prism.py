"""Benchmark of objspec against Storm on the PRISM models stormpy ships (not a test).

Every DTMC and MDP file of ``stormpy.examples`` that Storm builds (the list of
tests/test_storm_models.py) is built once by Storm in float64 and imported with
:func:`objspec.environments.formats.from_storm`; then, on that same model, in one run:

* **reachability**: for every label ``l``, ``F l`` (``Pmax`` and ``Pmin`` on an MDP, ``P`` on
  a DTMC); objspec: :func:`~objspec.ltl.optimise.maximal_satisfaction` and
  :func:`~objspec.ltl.optimise.minimal_satisfaction`;
* **LTL**: for every label ``F G l``, ``G F l`` and ``X X X X X l``, ``l1 U l2`` for
  consecutive labels, and the properties named in the issue (nand: ``F G ("end" &
  !"target")``; leader4: ``X^5 "elected"``); ``Pmax`` (``P`` on a DTMC);
* **discounted**: for every reward model, the optimal discounted value with ``gamma =
  9/10`` (``max`` and ``min`` on an MDP); objspec:
  :func:`~objspec.mdp.control.optimal_values` at ``tol = 1e-8``.

objspec's time includes the translation of the formula (caches cleared before each
property) and the whole optimisation; Storm's includes parsing the property and model
checking with its default engine and settings, not building the model. Each time is the
best of ``--repeat`` runs. The value compared is the one at the (first) initial state.

Run: ``python benchmarks/bench_prism.py`` (``--repeat``, ``--only SUBSTRING``,
``--verbose`` for every property).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from objspec import FiniteMDP
from objspec.environments.formats import from_storm, storm_rewards
from objspec.ltl import clear_caches
from objspec.ltl.optimise import maximal_satisfaction, minimal_satisfaction
from objspec.ltl.parser import parse_formula
from objspec.mdp import optimal_values

#: (path under stormpy's example files, constant definitions or None): the DTMC and MDP
#: files Storm builds; tests/test_storm_models.py checks them (and reads this list)
MODELS: list[tuple[str, str | None]] = [
    ("dtmc/brp-16-2.pm", None),
    ("dtmc/brp.pm", "N=16,MAX=2"),
    ("dtmc/crowds-5-5.pm", None),
    ("dtmc/crowds5_5.pm", None),
    ("dtmc/die.pm", None),
    ("dtmc/die.jani", None),
    ("dtmc/infinite.pm", None),
    ("dtmc/leader-3-5.pm", None),
    ("dtmc/leader3_5.pm", None),
    ("dtmc/nand-5-2.pm", None),
    ("dtmc/negativevals.pm", None),
    ("dtmc/test_conditional.pm", None),
    ("mdp/SmallPrismTest.nm", None),
    ("mdp/SmallPrismTest2.nm", None),
    ("mdp/coin2-2.nm", None),
    ("mdp/coin2.nm", "K=2"),
    ("mdp/csma2-2.nm", None),
    ("mdp/csma2_2.nm", None),
    ("mdp/die_c1.nm", None),
    ("mdp/die_selection.nm", None),
    ("mdp/firewire.nm", "delay=3,fast=0.5"),
    ("mdp/firewire3-0.5.nm", None),
    ("mdp/leader3.nm", None),
    ("mdp/leader4.nm", None),
    ("mdp/maze_2.nm", None),
    ("mdp/maze_2_multigoal.nm", None),
    ("mdp/multiobjective1.nm", None),
    ("mdp/multiobjective2.nm", None),
    ("mdp/scheduler_generation.nm", None),
    ("mdp/slipgrid.nm", None),
    ("mdp/tiny_rewards.nm", None),
    ("mdp/two_dice.nm", None),
    ("mdp/wlan0-2-2.nm", None),
    ("mdp/wlan0_collide.nm", "COL=2,TRANS_TIME_MAX=10"),
]

#: extra LTL properties of some models (objspec syntax)
EXTRA_LTL: dict[str, list[str]] = {
    "dtmc/nand-5-2.pm": ['F G ("end" & !"target")'],
    "mdp/leader4.nm": ['X X X X X "elected"'],
}

CLASSES = ("reachability", "LTL", "discounted")


@dataclass
class Row:
    """One property checked by both tools."""

    model: str
    states: int
    kind: str
    name: str
    ours: float
    storm: float
    diff: float

    @property
    def ratio(self) -> float:
        """objspec time / Storm time (> 1: objspec slower)."""
        return self.ours / self.storm if self.storm > 0 else float("inf")


def best_of(repeats: int, run: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of ``repeats`` timed runs and its result."""
    best, result = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return float(best), result


def program_of(path: str, constants: str | None) -> Any:
    """Storm's program (PRISM or JANI) of a shipped file, its constants instantiated."""
    import stormpy
    import stormpy.examples.files as examples

    full = os.path.join(os.path.dirname(os.path.dirname(examples.prism_dtmc_die)), path)
    if path.endswith(".jani"):
        program, _ = stormpy.parse_jani_model(full)
    else:
        program = stormpy.parse_prism_program(full)
    if constants:
        program, _ = stormpy.instantiate_constants(program, constants)
    return program


def load(path: str, constants: str | None) -> tuple[Any, Any]:
    """Storm's program and float64 model for a shipped file."""
    import stormpy

    program = program_of(path, constants)
    return program, stormpy.build_model(program)


def storm_value(model: Any, program: Any, text: str, init: int) -> float:
    """Storm's value of a property (parsed here) at state ``init``."""
    import stormpy

    prop = stormpy.parse_properties(text, program)[0]
    return float(stormpy.model_checking(model, prop).get_value(init))


def quote(label: str) -> str:
    return '"' + label.replace('"', '\\"') + '"'


def properties(path: str, model: Any, env: FiniteMDP
               ) -> list[tuple[str, str, str, Callable[[], np.ndarray]]]:
    """``(class, display name, Storm text, objspec run)`` of every property of a model;
    the objspec run returns the values of every state."""
    mdp = str(model.model_type).endswith("MDP")
    labels = [n for n in sorted(model.labeling.get_labels()) if n in env.propositions]
    out: list[tuple[str, str, str, Callable[[], np.ndarray]]] = []

    def pmax(text: str) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            clear_caches()
            return np.asarray(maximal_satisfaction(env, text).state_values)
        return run

    def pmin(text: str) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            clear_caches()
            return np.asarray(minimal_satisfaction(env, text).state_values)
        return run

    op = "Pmax" if mdp else "P"
    for label in labels:
        text = f"F {quote(label)}"
        storm = parse_formula(text).to_storm()
        out.append(("reachability", f"{op} {text}", f"{op}=? [{storm}]", pmax(text)))
        if mdp:
            out.append(("reachability", f"Pmin {text}", f"Pmin=? [{storm}]", pmin(text)))
    ltl = [f"F G {quote(lb)}" for lb in labels] + [f"G F {quote(lb)}" for lb in labels]
    ltl += [f"X X X X X {quote(lb)}" for lb in labels]
    ltl += [f"{quote(a)} U {quote(b)}" for a, b in zip(labels, labels[1:], strict=False)]
    ltl += EXTRA_LTL.get(path, [])
    for text in ltl:
        storm = parse_formula(text).to_storm()
        out.append(("LTL", f"{op} {text}", f"{op}=? [{storm}]", pmax(text)))
    rewards = storm_rewards(model)
    for storm_name in model.reward_models:
        r = rewards[storm_name or "r"]
        ref = f'R{{"{storm_name}"}}' if storm_name else "R"
        senses = [("max", 1.0), ("min", -1.0)] if mdp else [("", 1.0)]
        for sense, sign in senses:
            def run(r: np.ndarray = r, sign: float = sign) -> np.ndarray:
                return sign * np.asarray(optimal_values(env, sign * r, 0.9, tol=1e-8).values)
            out.append(("discounted", f"{ref}{sense} [C discount 0.9]",
                        f"{ref}{sense}=? [Cdiscount=9/10]", run))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per property")
    parser.add_argument("--only", default="", help="models whose path contains this")
    parser.add_argument("--verbose", action="store_true", help="print every property")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    failures: list[str] = []
    for path, constants in MODELS:
        if args.only not in path:
            continue
        program, model = load(path, constants)
        env = from_storm(model)
        init = int(model.initial_states[0])
        for kind, name, storm_text, run in properties(path, model, env):
            try:
                t_storm, want = best_of(
                    args.repeat, lambda m=model, p=program, t=storm_text, i=init:
                    storm_value(m, p, t, i))
            except Exception as error:  # noqa: BLE001 - Storm raises its own types
                failures.append(f"{path} {name}: Storm: {str(error).splitlines()[0][:80]}")
                continue
            t_ours, got = best_of(args.repeat, run)
            rows.append(Row(path, model.nr_states, kind, name, t_ours, t_storm,
                            abs(float(got[init]) - want)))
            if args.verbose:
                print(f"{path} | {name} | {t_ours:.4f} | {t_storm:.4f} | "
                      f"{t_ours / max(t_storm, 1e-12):.2f}", flush=True)
    report(rows, failures)


def report(rows: list[Row], failures: list[str]) -> None:
    """Per class: one line per model and the class total; then the totals and the
    properties with the worst ratio."""
    print("ratio = objspec time / Storm time (< 1: objspec faster); same model, same run; "
          "Storm's model building excluded, objspec's translation included\n")
    for kind in CLASSES:
        sel = [r for r in rows if r.kind == kind]
        if not sel:
            continue
        print(f"### {kind}\n")
        print("| model | states | properties | objspec (s) | Storm (s) | ratio | worst property "
              "ratio | max abs diff |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for model in dict.fromkeys(r.model for r in sel):
            mine = [r for r in sel if r.model == model]
            ours, storm = sum(r.ours for r in mine), sum(r.storm for r in mine)
            print(f"| {model} | {mine[0].states} | {len(mine)} | {ours:.4f} | {storm:.4f} | "
                  f"{ours / storm:.2f} | {max(r.ratio for r in mine):.1f} | "
                  f"{max(r.diff for r in mine):.1e} |")
        ours, storm = sum(r.ours for r in sel), sum(r.storm for r in sel)
        print(f"| **all** | | {len(sel)} | {ours:.3f} | {storm:.3f} | {ours / storm:.2f} | "
              f"{max(r.ratio for r in sel):.1f} | {max(r.diff for r in sel):.1e} |\n")
    print("### totals\n")
    print("| class | properties | objspec (s) | Storm (s) | ratio | properties over 3x |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind in (*CLASSES, "all"):
        sel = [r for r in rows if kind in (r.kind, "all")]
        if sel:
            ours, storm = sum(r.ours for r in sel), sum(r.storm for r in sel)
            print(f"| {kind} | {len(sel)} | {ours:.3f} | {storm:.3f} | {ours / storm:.2f} | "
                  f"{sum(r.ratio > 3 for r in sel)} |")
    print("\n### worst ratios\n")
    print("| model | property | objspec (s) | Storm (s) | ratio |")
    print("|---|---|---:|---:|---:|")
    for r in sorted(rows, key=lambda r: -r.ratio)[:12]:
        print(f"| {r.model} | `{r.name}` | {r.ours:.4f} | {r.storm:.4f} | {r.ratio:.1f} |")
    if failures:
        print("\nnot compared (Storm refused):")
        for line in failures:
            print(f"- {line}")


if __name__ == "__main__":
    main()
