"""Benchmark of the LTL engine (not a test).

1. Translation time of LTL formulas with up to 15 operators into deterministic automata.
1b. The parametrised families of Spot's ``genltl`` (:mod:`objspec.ltl.families`): states and
   translation time per family and size ``n`` up to ``--max-n`` (10), each run under a time
   budget (``--budget`` seconds, 10): a family stops at its first refused size.
1c. ``--patterns``: the specification-pattern sets (DAC, EH, SB, HKRSS, P of
   :data:`objspec.ltl.families.PATTERNS`) and their negations: objspec's states next to the
   sizes Spot 2.9.6's ``ltl2tgba -D`` publishes in its test suite
   (``benchmarks/spot_pattern_sizes.py``), the ratios, the totals, the formulas more than
   twice Spot's size and the tautologies / contradictions. Both are counted the same way:
   the states of the deterministic automaton, which may be incomplete (a missing transition
   rejects; objspec removes the transitions into empty states, Spot never builds them), so
   neither counts a rejecting sink; ``true`` and ``false`` are one state each. Spot's
   ``-D`` only prefers determinism: where no deterministic generalized Buchi automaton
   exists it may print a smaller nondeterministic one, so for the formulas over 2x the
   number of distinct state languages of objspec's automaton (a lower bound for every
   deterministic automaton) is printed too.
2. Satisfaction probabilities of 64 policies for one formula on a 1,000-state labelled MDP:
   objspec's batched product-chain evaluation versus a loop of Storm DTMC LTL checks (model
   building and property parsing included), measured in the same run, with the ratio.

Run: ``python benchmarks/bench_ltl.py`` (``--states``, ``--policies``, ``--seed`` to vary;
``--families-only`` for part 1b alone, ``--family NAME`` (repeatable) to pick families;
``--patterns`` for part 1c alone).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from objspec import FiniteMDP
from objspec.environments.generators import random_labelled_mdp, random_policies
from objspec.errors import TranslationLimitError
from objspec.ltl import clear_caches
from objspec.ltl import syntax as s
from objspec.ltl.families import FAMILIES, PATTERNS, pattern
from objspec.ltl.product import ProductSkeleton, satisfaction_probabilities
from objspec.ltl.translation import translate
from objspec.mdp.chunks import worker_count

UNARY = (s.Not, s.Next, s.Finally, s.Globally)
BINARY = (s.And, s.Or, s.Implies, s.Until, s.Release, s.WeakUntil, s.StrongRelease)


def random_formula(rng: random.Random, n_operators: int, atoms: tuple[str, ...]) -> s.Formula:
    """A random formula with exactly ``n_operators`` operators."""
    if n_operators == 0:
        return s.Atom(rng.choice(atoms))
    if n_operators == 1 or rng.random() < 0.35:
        return rng.choice(UNARY)(random_formula(rng, n_operators - 1, atoms))
    left = rng.randint(0, n_operators - 1)
    return rng.choice(BINARY)(random_formula(rng, left, atoms),
                              random_formula(rng, n_operators - 1 - left, atoms))


NAMED = [
    "G (a -> F b)",
    "G F a -> G F b",
    "(G F a -> G F b) & (G F b -> G F c)",
    "F G a | G F b",
    "G (a -> X (b U c)) & F G !c",
    "a U (b R (c W (a M b)))",
    "G (a -> (b U c)) & G (b -> F a) & F G (a | c)",
]


def bench_translation(seed: int) -> None:
    rng = random.Random(seed)
    rows = [(text, translate) for text in NAMED]
    print("## Translation (LTL -> deterministic Emerson-Lei automaton)\n")
    print("| formula | operators | states | acceptance sets | time (ms) |")
    print("|---|---:|---:|---:|---:|")
    formulas: list[s.Formula | str] = [text for text, _ in rows]
    for size in (3, 6, 9, 12, 15):
        for _ in range(3):
            formulas.append(random_formula(rng, size, ("a", "b", "c")))
    translate("G (z -> F y) & F G !x")  # warm-up: imports and lazily built tables
    for f in formulas:
        clear_caches()
        start = time.perf_counter()
        try:
            aut = translate(f)
        except ValueError as exc:
            print(f"| `{f}` | - | refused: {str(exc)[:60]} | | |")
            continue
        elapsed = (time.perf_counter() - start) * 1e3
        ops = f.size() if isinstance(f, s.Formula) else "-"
        print(f"| `{f}` | {ops} | {aut.n_states} | {aut.n_sets} | {elapsed:.1f} |")
    print()


def storm_loop(env, pi_batch: np.ndarray, formula: s.Formula,  # type: ignore[no-untyped-def]
               precise: bool = False) -> np.ndarray:
    """Storm's ``P=? [formula]`` for each policy: DTMC built from arrays, then checked.

    ``precise=False`` uses Storm's default engine (precision 1e-6); ``precise=True`` native
    Gauss-Seidel with an absolute precision of 1e-14, accurate to rounding like objspec.
    """
    import stormpy
    import stormpy.datastructures as d
    import stormpy.environments as E
    import stormpy.models as m

    out = np.empty(pi_batch.shape[0])
    tau = env.transition_matrix
    S, A = env.n_states, env.n_actions
    labels = env.state_labels
    text = f"P=? [ {formula.to_storm()} ]"
    for n, pi in enumerate(pi_batch):
        chain = (tau.multiply(pi.reshape(S * A, 1))).tocsr()
        agg = np.repeat(np.arange(S), A)
        import scipy.sparse as sp

        P = (sp.csr_matrix((np.ones(S * A), (agg, np.arange(S * A))), shape=(S, S * A))
             @ chain).tocsr()
        P.sort_indices()
        b = d.SparseMatrixBuilder[float](S, S, P.nnz, True, False, 0)
        rows = np.repeat(np.arange(S), np.diff(P.indptr))
        b.add_next_values(rows.tolist(), P.indices.tolist(), P.data.tolist())
        lab = m.StateLabeling(S)
        for name in ("init", *env.propositions):
            lab.add_label(name)
        for st_, ls in enumerate(labels):
            lab.add_label_to_state("init", st_)
            for name in ls:
                lab.add_label_to_state(name, st_)
        dtmc = m.SparseDtmc[float](
            m.SparseModelComponents[float](transition_matrix=b.build(), state_labeling=lab)
        )
        prop = stormpy.parse_properties(text)[0]
        environment = stormpy.Environment()
        if precise:
            solver = environment.solver()
            solver.set_linear_equation_solver_type(E.EquationSolverType.NATIVE)
            native = solver.native()
            native.method = E.NativeLinearEquationSolverMethod.GAUSS_SEIDEL
            native.precision = stormpy.Rational("1/100000000000000")
            native.relative_termination_criterion = False
            native.maximal_number_of_iterations = 10**8
        result = stormpy.model_checking(dtmc, prop, environment=environment)
        out[n] = float(env.initial @ np.array(result.get_value_vector()))
    return out


def benchmark_mdp(n_states: int, seed: int) -> FiniteMDP:
    """A random labelled MDP in which 5% of the states are absorbing, so that satisfaction
    probabilities are not all 0 or 1 and the linear solves do real work."""
    base = random_labelled_mdp(n_states, 4, ("a", "b", "c"), 5, density=0.3, seed=seed)
    rng = np.random.default_rng(seed + 7)
    absorbing = rng.choice(n_states, size=max(1, n_states // 20), replace=False)
    matrix = base.transition_matrix.tolil()
    for st_ in absorbing.tolist():
        for a in range(4):
            matrix.rows[st_ * 4 + a] = [st_]
            matrix.data[st_ * 4 + a] = [1.0]
    labels = base.state_labels
    assert labels is not None
    return FiniteMDP(matrix.tocsr(), base.initial,
                     labels={i: sorted(ls) for i, ls in enumerate(labels)})


def bench_evaluation(n_states: int, n_policies: int, seed: int, text: str,
                     repeats: int = 3) -> None:
    from objspec.ltl.parser import parse_formula

    env = benchmark_mdp(n_states, seed)
    f = parse_formula(text)
    print(f"## Evaluation: {n_policies} policies, `{text}`, {n_states}-state MDP "
          "(4 actions, 5 successors, 5% absorbing states); best of "
          f"{repeats} runs\n")
    print("Storm is single-threaded; the ratios are Storm's time over objspec's with 1 thread "
          "/ with its default threads.\n")
    print("| policies | method | time (s) | per policy (ms) | Storm / objspec |")
    print("|---|---|---:|---:|---:|")
    for kind, fraction in (("75% stochastic", 0.25), ("all deterministic", 1.0)):
        batch = random_policies(env, n_policies, seed=seed + 1, deterministic_fraction=fraction)

        def ours_once(batch: np.ndarray = batch,
                      workers: int | None = None) -> tuple[np.ndarray, int, int]:
            clear_caches()
            aut = translate(f)
            skeleton = ProductSkeleton(env, aut)
            return (satisfaction_probabilities(env, aut, batch, skeleton=skeleton,
                                               workers=workers),
                    aut.n_states, skeleton.n_states)

        t_one, (ours_one, _, _) = best_of(repeats, lambda: ours_once(workers=1))
        t_ours, (ours, n_aut, n_product) = best_of(repeats, ours_once)
        assert np.array_equal(ours, ours_one)  # threads never change the values
        t_storm, theirs = best_of(repeats, lambda batch=batch: storm_loop(env, batch, f))
        diff = float(np.abs(ours - theirs).max())
        threads = worker_count(None)
        print(f"| {kind} | objspec, 1 thread (translation + product + batched solve) | "
              f"{t_one:.3f} | {1e3 * t_one / n_policies:.2f} | |")
        print(f"| {kind} | objspec, default: {threads} threads | {t_ours:.3f} | "
              f"{1e3 * t_ours / n_policies:.2f} | |")
        print(f"| {kind} | Storm loop, default engine (precision 1e-6) | {t_storm:.3f} | "
              f"{1e3 * t_storm / n_policies:.2f} | {t_storm / t_one:.1f}x / "
              f"{t_storm / t_ours:.1f}x |")
        t_precise, precise_storm = best_of(
            repeats, lambda batch=batch: storm_loop(env, batch, f, precise=True)
        )
        diff_precise = float(np.abs(ours - precise_storm).max())
        print(f"| {kind} | Storm loop, Gauss-Seidel to 1e-14 (rounding-level accuracy, as "
              f"objspec) | {t_precise:.3f} | {1e3 * t_precise / n_policies:.2f} | "
              f"{t_precise / t_one:.1f}x / {t_precise / t_ours:.1f}x |")
        print(f"|  | automaton {n_aut} states, product {n_product} states, "
              f"values in [{ours.min():.3f}, {ours.max():.3f}]; max abs diff to Storm default "
              f"{diff:.1e}, to Storm at 1e-14 {diff_precise:.1e} | | | |")


T = TypeVar("T")


def best_of(repeats: int, run: Callable[[], T]) -> tuple[float, T]:
    """The fastest of ``repeats`` timed runs (the machine may be shared) and its result."""
    best, result = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return best, result


def bench_families(names: list[str], max_n: int, budget: float) -> None:
    """States and translation time (caches cleared) of each family for n = 1..max_n."""
    print(f"## genltl families (translation, n <= {max_n}, budget {budget:g} s per run)\n")
    print("| family | n | states | time (s) | ms per state |")
    print("|---|---:|---:|---:|---:|")
    translate("G (z -> F y) & F G !x")  # warm-up: imports and lazily built tables
    for name in names:
        for n in range(1, max_n + 1):
            f = FAMILIES[name](n)
            clear_caches()
            start = time.perf_counter()
            try:
                aut = translate(f, time_limit=budget)
            except TranslationLimitError as exc:
                elapsed = time.perf_counter() - start
                print(f"| {name} | {n} | refused after {elapsed:.1f} s: "
                      f"{str(exc)[:50]}... | | |", flush=True)
                break
            elapsed = time.perf_counter() - start
            print(f"| {name} | {n} | {aut.n_states} | {elapsed:.3f} | "
                  f"{1e3 * elapsed / aut.n_states:.2f} |", flush=True)
    print()


def pattern_rows(budget: float) -> list[tuple[str, int, bool, int, int, float]]:
    """``(set, n, negated, objspec states, Spot states, seconds)`` for every pattern formula
    and negation that Spot's table lists, translated with cleared caches."""
    from spot_pattern_sizes import SPOT_D_STATES

    rows = []
    for name in PATTERNS:
        for n in range(1, len(PATTERNS[name]) + 1):
            for negated in (False, True):
                spot = SPOT_D_STATES.get((name, n, negated))
                if spot is None:
                    continue
                f = pattern(name, n)
                clear_caches()
                start = time.perf_counter()
                aut = translate(s.Not(f) if negated else f, time_limit=budget)
                rows.append((name, n, negated, aut.n_states, spot,
                             time.perf_counter() - start))
    return rows


def bench_patterns(budget: float) -> None:
    """objspec's automaton sizes on the pattern sets against Spot's ``ltl2tgba -D``."""
    translate("G (z -> F y) & F G !x")  # warm-up
    rows = pattern_rows(budget)
    print("## Pattern sets: objspec vs Spot `ltl2tgba -D` (states)\n")
    print("| formula | objspec | Spot | ratio | time (s) |")
    print("|---|---:|---:|---:|---:|")
    for name, n, negated, ours, spot, sec in rows:
        label = f"{'!' if negated else ''}{name} {n}"
        print(f"| {label} | {ours} | {spot} | {ours / spot:.2f} | {sec:.3f} |")
    print()
    print("| set | formulas | objspec | Spot | ratio | over 2x |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in [*PATTERNS, "all"]:
        sel = [r for r in rows if name in ("all", r[0])]
        ours_total = sum(r[3] for r in sel)
        spot_total = sum(r[4] for r in sel)
        over = sum(1 for r in sel if r[3] > 2 * r[4])
        print(f"| {name} | {len(sel)} | {ours_total} | {spot_total} | "
              f"{ours_total / spot_total:.3f} | {over} |")
    print()
    over = [r for r in rows if r[3] > 2 * r[4]]
    if over:
        print("Over 2x, with the number of distinct languages of the states of objspec's "
              "automaton (residuals: every deterministic automaton for the formula has at "
              "least that many states; exact, the search ran without a work limit):\n")
        import objspec.ltl.merging as merging

        budget, merging.MERGE_WORK = merging.MERGE_WORK, 10**12
        try:
            for name, n, negated, ours, spot, _ in over:
                f = pattern(name, n)
                aut = translate(s.Not(f) if negated else f)
                eq = merging.equivalent_states(aut)
                classes = "-" if eq is None else len({r.tobytes() for r in eq})
                print(f"- {'!' if negated else ''}{name} {n}: objspec {ours}, Spot {spot}, "
                      f"residuals {classes}")
        finally:
            merging.MERGE_WORK = budget
        print()
    worst = sorted(rows, key=lambda r: (-r[3] / r[4], -r[3]))[:10]
    print("Worst ratios: " + ", ".join(
        f"{'!' if r[2] else ''}{r[0]} {r[1]} {r[3]}/{r[4]}" for r in worst))
    from spot_pattern_sizes import CONTRADICTIONS

    trivial = [r for r in rows if (r[0], r[1], not r[2]) in CONTRADICTIONS
               or (r[0], r[1], r[2]) in CONTRADICTIONS]
    print("Tautologies and contradictions: " + ", ".join(
        f"{'!' if r[2] else ''}{r[0]} {r[1]}: {r[3]} state{'s' if r[3] > 1 else ''}"
        for r in trivial))
    big = [r for r in rows if r[4] == 1 and r[3] > 1]
    print(f"Spot's one-state automata: {sum(r[4] == 1 for r in rows)}; objspec larger on "
          f"{len(big)}" + (": " + ", ".join(f"{'!' if r[2] else ''}{r[0]} {r[1]} ({r[3]})"
                                            for r in big) if big else ""))
    print(f"Total translation time {sum(r[5] for r in rows):.1f} s\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--states", type=int, default=1000)
    parser.add_argument("--policies", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-n", type=int, default=10)
    parser.add_argument("--budget", type=float, default=10.0)
    parser.add_argument("--family", action="append", choices=sorted(FAMILIES))
    parser.add_argument("--families-only", action="store_true")
    parser.add_argument("--patterns", action="store_true")
    args = parser.parse_args()
    if args.patterns:
        bench_patterns(args.budget * 6)
        return
    bench_families(args.family or list(FAMILIES), args.max_n, args.budget)
    if args.families_only:
        return
    bench_translation(args.seed)
    bench_evaluation(args.states, args.policies, args.seed, "G (a -> F b) & F G !c")
    print()
    bench_evaluation(args.states, args.policies, args.seed, "(a U b) | G F c")


if __name__ == "__main__":
    main()
