"""Benchmark of LTL optimisation (not a test): ``Pmax`` on a 2,000-state labelled MDP.

objspec: ``LTL(f).optimise(env, policies="finite-memory")`` from a cold translation cache
(translation, product, accepting end components, policy iteration on the quotient by end
components, the pre-fixed-point certificate and the re-evaluation of the policy all
included), and
:func:`objspec.ltl.optimise.maximal_satisfaction` alone. Storm: ``Pmax=? [f]`` on the same
MDP, model building and property parsing included, with its default engine and with the
precise settings the tests use (policy iteration, absolute precision 1e-14). The values
are printed next to each other.

Run: ``python benchmarks/bench_optimise_ltl.py`` (``--states``, ``--seed`` to vary).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from bench_ltl import benchmark_mdp, best_of

from objspec import FiniteMDP
from objspec.formalisms import LinearTemporalLogic
from objspec.ltl import clear_caches
from objspec.ltl.optimise import maximal_satisfaction
from objspec.ltl.parser import parse_formula

FORMULAS = ["F a & F b", "G (a -> F b) & F G !c", "(a U b) | G F c"]


def storm_pmax(env: FiniteMDP, text: str, precise: bool) -> float:
    """Storm's ``Pmax=? [text]`` from ``mu0``: MDP built from the sparse matrix."""
    import stormpy
    import stormpy.datastructures as d
    import stormpy.environments as E
    import stormpy.models as m

    S, A = env.n_states, env.n_actions
    tau = env.transition_matrix.tocsr()
    tau.sort_indices()
    b = d.SparseMatrixBuilder[float](S * A, S, tau.nnz, True, True, S)
    rows = np.repeat(np.arange(S * A), np.diff(tau.indptr))
    for s in range(S):
        b.new_row_group(s * A)
        lo, hi = tau.indptr[s * A], tau.indptr[(s + 1) * A]
        b.add_next_values(rows[lo:hi].tolist(), tau.indices[lo:hi].tolist(),
                          tau.data[lo:hi].tolist())
    lab = m.StateLabeling(S)
    for name in ("init", *env.propositions):
        lab.add_label(name)
    labels = env.state_labels
    assert labels is not None
    for s, ls in enumerate(labels):
        lab.add_label_to_state("init", s)
        for name in ls:
            lab.add_label_to_state(name, s)
    mdp = m.SparseMdp[float](
        m.SparseModelComponents[float](transition_matrix=b.build(), state_labeling=lab))
    prop = stormpy.parse_properties(f"Pmax=? [ {parse_formula(text).to_storm()} ]")[0]
    environment = stormpy.Environment()
    if precise:
        min_max = environment.solver().min_max()
        min_max.method = E.MinMaxMethod.POLICY_ITERATION
        min_max.precision = stormpy.Rational("1/100000000000000")
        min_max.relative_termination_criterion = False
    result = stormpy.model_checking(mdp, prop, environment=environment)
    return float(env.initial @ np.array(result.get_value_vector()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--states", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    env = benchmark_mdp(args.states, args.seed)
    print(f"## LTL Pmax on a {env.n_states}-state, {env.n_actions}-action labelled MDP\n")
    print("| formula | objspec optimise (s) | objspec Pmax only (s) | Storm default (s) "
          "| Storm precise (s) | objspec value | bound | Storm value | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for text in FORMULAS:
        spec = LinearTemporalLogic(text)

        def ours(spec: LinearTemporalLogic = spec) -> Any:
            clear_caches()
            return spec.optimise(env, policies="finite-memory")

        def pmax_only(text: str = text) -> Any:
            clear_caches()
            return maximal_satisfaction(env, text)

        t_ours, found = best_of(3, ours)
        t_pmax, _ = best_of(3, pmax_only)
        try:
            t_storm, storm = best_of(3, lambda text=text: storm_pmax(env, text, False))
            t_precise, precise = best_of(3, lambda text=text: storm_pmax(env, text, True))
        except ImportError:
            t_storm = t_precise = precise = float("nan")
        print(f"| `{text}` | {t_ours:.3f} | {t_pmax:.3f} | {t_storm:.3f} | {t_precise:.3f} "
              f"| {float(found.value):.10f} | {float(found.bound):.1e} | {precise:.10f} "
              f"| {t_precise / t_ours:.2f}x |")


if __name__ == "__main__":
    main()
