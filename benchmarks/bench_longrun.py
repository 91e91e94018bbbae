"""Benchmark of objspec's long-run averages against Storm's ``LRA`` on the same chains.

Run as ``python benchmarks/bench_longrun.py`` (``--quick`` skips the 200,000-state model).
Not a test.

Models:

* ``random S``: the chain of a random stochastic policy (Dirichlet(1) action distributions)
  on ``objspec.environments.random_mdp(S, 2, 3)`` (so up to 6 successors per state), one
  recurrent class; a random state reward in ``[0, 1)``.
* ``brp``: stormpy's bounded retransmission protocol DTMC
  (``stormpy.examples.files.prism_dtmc_brp`` with ``N = 256, MAX = 5``: 20,744 states,
  hundreds of absorbing classes and a deep transient part), read with
  :func:`objspec.environments.formats.from_storm`; a random state reward in ``[0, 1)``.

objspec: :class:`objspec.formalisms.LimitAverageReward` compiled on the model and evaluated
for the policy (for ``random S``) or the DTMC's only action, which includes the policy's
reachability check and the support-graph decomposition. Storm: ``R{"r"}=? [ LRA ]`` on a
``SparseDtmc`` built from the same arrays with ``SparseMatrixBuilder`` (building the model
is timed separately and not included in the ratio). The value compared is the long-run
average from the initial distribution. Both tools run on one core; the table gives the
best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from objspec import FiniteMDP
from objspec.environments import random_mdp
from objspec.formalisms import LimitAverageReward
from objspec.mdp.linear import induced_chain_sparse


def best_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def storm_dtmc(chain: sp.csr_matrix, reward: np.ndarray, initial: np.ndarray) -> Any:
    import stormpy.datastructures as d
    import stormpy.models as m

    chain = sp.csr_matrix(chain)
    chain.sort_indices()
    n = chain.shape[0]
    builder = d.SparseMatrixBuilder[float](n, n, chain.nnz, True, False, 0)
    rows = np.repeat(np.arange(n), np.diff(chain.indptr))
    builder.add_next_values(rows.tolist(), chain.indices.tolist(), chain.data.tolist())
    labels = m.StateLabeling(n)
    labels.add_label("init")
    for s in np.flatnonzero(initial > 0):
        labels.add_label_to_state("init", int(s))
    rewards = m.SparseRewardModel[float](optional_state_reward_vector=reward.tolist())
    components = m.SparseModelComponents[float](
        transition_matrix=builder.build(), state_labeling=labels, reward_models={"r": rewards}
    )
    return m.SparseDtmc[float](components)


def storm_lra(model: Any, initial: np.ndarray) -> float:
    import stormpy

    prop = stormpy.parse_properties('R{"r"}=? [ LRA ]')[0]
    result = stormpy.model_checking(model, prop, only_initial_states=False)
    values = np.array(list(result.get_value_vector()))
    return float(values @ initial)


def random_case(S: int, seed: int) -> tuple[FiniteMDP, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    env = random_mdp(S, 2, 3, seed=rng)
    policy = rng.dirichlet(np.ones(2), size=S)
    return env, policy, rng.random(S)


def brp_case(seed: int) -> tuple[FiniteMDP, np.ndarray, np.ndarray]:
    import os
    import tempfile

    import stormpy
    import stormpy.examples.files as files

    from objspec.environments.formats import from_storm

    with open(files.prism_dtmc_brp) as handle:
        text = handle.read()
    text = text.replace("const int N = 16;", "const int N = 256;")
    text = text.replace("const int MAX = 2;", "const int MAX = 5;")
    path = os.path.join(tempfile.mkdtemp(), "brp-256-5.pm")
    with open(path, "w") as handle:
        handle.write(text)
    env = from_storm(stormpy.build_model(stormpy.parse_prism_program(path)))
    rng = np.random.default_rng(seed)
    return env, np.ones((env.n_states, 1)), rng.random(env.n_states)


def run_case(name: str, env: FiniteMDP, policy: np.ndarray, reward: np.ndarray,
             repeat: int) -> dict[str, Any]:
    ours_s, ours = best_time(lambda: LimitAverageReward(reward).compile(env).value(policy),
                             repeat)
    chain = induced_chain_sparse(env, policy)
    build_s, model = best_time(lambda: storm_dtmc(chain, reward, env.initial), 1)
    storm_s, storm = best_time(lambda: storm_lra(model, env.initial), repeat)
    return {
        "model": name, "states": env.n_states, "transitions": chain.nnz,
        "objspec": ours_s, "storm": storm_s, "build": build_s,
        "ratio": ours_s / storm_s, "diff": abs(float(ours) - storm), "value": float(ours),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the 200,000-state model")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [2_000, 20_000] + ([] if args.quick else [200_000])
    rows = []
    for S in sizes:
        rows.append(run_case(f"random {S:,}", *random_case(S, seed=S), repeat=args.repeat))
        print(f"  ... random {S:,} done", flush=True)
    rows.append(run_case("brp (N=256, MAX=5)", *brp_case(seed=1), repeat=args.repeat))
    print(f"\n{platform.processor() or platform.machine()}, numpy {np.__version__}\n")
    print("| model | states | transitions | objspec (s) | Storm LRA (s) | objspec / Storm "
          "| Storm model build (s) | abs. difference |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['states']:,} | {r['transitions']:,} | {r['objspec']:.3f} | "
              f"{r['storm']:.3f} | {r['ratio']:.1f} | {r['build']:.3f} | {r['diff']:.1e} |")


if __name__ == "__main__":
    main()
