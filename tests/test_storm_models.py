"""objspec against Storm on every DTMC and MDP that stormpy ships.

Every PRISM/JANI file of ``stormpy.examples`` that describes a DTMC or an MDP is built by
Storm (with exact rational numbers), imported with :func:`from_storm` and checked:

* the import keeps Storm's row groups: state ``s`` enables exactly its Storm choices, with
  the same (exact) probabilities;
* for every label ``l`` of the model, ``Pmax``/``Pmin`` of ``F l`` (``P`` for a DTMC) in
  every state agree with Storm's *exact* engine within ``1e-9`` (objspec computes in
  float64: ``Pmax`` by :func:`maximal_satisfaction`, ``Pmin = 1 - Pmax(G !l)``);
* for every reward model, the optimal discounted values (``gamma = 9/10``, max and min)
  agree with Storm's sound engine run at precision ``1e-12`` within ``1e-8`` relative
  (Storm has no exact engine for discounted rewards; objspec's bound is ``1e-10``);
* the model's own properties where a file carries them (``die.jani``);
* export: DRN and PRISM text written by objspec is read back by Storm into the same model.

Files that are not checked, and why (:data:`NOT_DTMC_OR_MDP`): POMDPs, Markov automata,
CTMCs, parametric, interval and game models, DFTs and GSPNs are other model classes; and
``coin2-2-illegalSynchronizingWrite.nm`` (deliberately invalid PRISM),
``system_composition*.nm`` (Storm's explicit builder refuses custom system compositions)
and ``slipgrid_sketch.nm`` (a sketch: a family of models with a hole) are not models Storm
builds as given; a test checks that Storm still refuses the first two.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

stormpy = pytest.importorskip("stormpy")
examples = pytest.importorskip("stormpy.examples.files")

from objspec import FiniteMDP, Policy  # noqa: E402
from objspec.environments.formats import (  # noqa: E402
    from_storm,
    storm_rewards,
    to_drn,
    to_prism,
)
from objspec.errors import InvalidPolicyError  # noqa: E402
from objspec.ltl.optimise import maximal_satisfaction  # noqa: E402
from objspec.ltl.parser import parse_formula  # noqa: E402
from objspec.mdp import discounted_values, optimal_values  # noqa: E402

FILES = os.path.dirname(os.path.dirname(examples.prism_dtmc_die))

def _bench() -> Any:
    """benchmarks/bench_prism.py, where the model list and the program loader are written."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_prism.py"
    spec = importlib.util.spec_from_file_location("bench_prism", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_prism", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


BENCH = _bench()

#: (path under stormpy's example files, constant definitions or None)
MODELS: list[tuple[str, str | None]] = list(BENCH.MODELS)

#: shipped files that are not checked, with the reason
NOT_DTMC_OR_MDP: dict[str, str] = {
    "mdp/coin2-2-illegalSynchronizingWrite.nm": "invalid PRISM on purpose; Storm refuses it",
    "mdp/system_composition.nm": "Storm's explicit builder refuses custom system composition",
    "mdp/system_composition2.nm": "Storm's explicit builder refuses custom system composition",
    "mdp/slipgrid_sketch.nm": "a sketch (family of MDPs with a hole), not one model",
    "pomdp": "partially observable: not a FiniteMDP",
    "ma": "Markov automata: continuous time",
    "ctmc": "continuous time",
    "pdtmc, pmdp": "parametric probabilities",
    "idtmc, imdp, ipomdp": "interval probabilities",
    "smg": "stochastic games",
    "dft, gspn": "fault trees and Petri nets, not state models",
}

#: models with more states than this check one label, to keep the file fast
LARGE = 2000


def _program(path: str, constants: str | None) -> Any:
    return BENCH.program_of(path, constants)


@cache
def _built(path: str, constants: str | None, exact: bool) -> Any:
    program = _program(path, constants)
    if exact:
        return stormpy.build_model[stormpy.Rational](program)
    return stormpy.build_model(program)


@cache
def _imported(path: str, constants: str | None) -> FiniteMDP:
    return from_storm(_built(path, constants, True))


def _is_mdp(model: Any) -> bool:
    return str(model.model_type).endswith("MDP")


def _storm_values(model: Any, program: Any, text: str, environment: Any) -> np.ndarray:
    prop = stormpy.parse_properties(text, program)[0]
    result = stormpy.model_checking(model, prop, environment=environment)
    return np.array(
        [float(Fraction(str(result.get_value(s)))) for s in range(model.nr_states)]
    )


def _labels(model: Any, env: FiniteMDP) -> list[str]:
    names = [n for n in sorted(model.labeling.get_labels()) if n in env.propositions]
    return names[:1] if env.n_states > LARGE else names


#: the larger models (1000+ states), checked only with OBJSPEC_SLOW_TESTS=1 to keep the file
#: under a minute; firewire3-0.5 (4093 states, 1 to 3 actions) stays as the large case
SLOW = {
    "dtmc/crowds-5-5.pm", "dtmc/crowds5_5.pm", "dtmc/nand-5-2.pm", "mdp/csma2-2.nm",
    "mdp/csma2_2.nm", "mdp/firewire.nm", "mdp/leader4.nm", "mdp/wlan0_collide.nm",
}
RUN_SLOW = os.environ.get("OBJSPEC_SLOW_TESTS", "") not in ("", "0")
MODELS_MARKED = [
    pytest.param(
        path, constants, id=path,
        marks=pytest.mark.skipif(
            path in SLOW and not RUN_SLOW, reason="slow: OBJSPEC_SLOW_TESTS=1"
        ),
    )
    for path, constants in MODELS
]


@pytest.mark.parametrize(("path", "constants"), MODELS_MARKED)
def test_import_keeps_storm_row_groups(path: str, constants: str | None) -> None:
    model = _built(path, constants, True)
    env = _imported(path, constants)
    matrix = model.transition_matrix
    sizes = np.array(
        [matrix.get_row_group_end(s) - matrix.get_row_group_start(s)
         for s in range(model.nr_states)]
    )
    assert env.n_states == model.nr_states
    assert env.n_actions == sizes.max()
    assert env.n_enabled.tolist() == sizes.tolist()
    assert (env.enabled == (np.arange(env.n_actions)[None, :] < sizes[:, None])).all()
    exact = env.is_exact
    tau = env.exact_transitions() if exact else None
    csr = env.transition_matrix
    for s in range(0, model.nr_states, max(1, model.nr_states // 200)):
        for j in range(int(sizes[s])):
            row = csr[s * env.n_actions + j]
            got = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))
            for entry in matrix.get_row(matrix.get_row_group_start(s) + j):
                want = Fraction(str(entry.value))
                if tau is not None:
                    assert tau[s, j, entry.column] == want
                assert got.pop(int(entry.column)) == pytest.approx(float(want), abs=1e-15)
            assert not got
    if not env.all_enabled:
        # a policy must stay on the enabled actions; the uniform one over them does
        assert Policy.uniform_over(env).probabilities.sum(axis=1) == pytest.approx(1.0)
        s = int(np.argmin(env.n_enabled))
        bad = np.array(Policy.uniform_over(env).probabilities)
        bad[s] = 1.0 / env.n_actions
        with pytest.raises(InvalidPolicyError, match=f"in state {s}, where it is disabled"):
            discounted_values(env, bad, np.zeros(env.n_states), 0.5)


@pytest.mark.parametrize(("path", "constants"), MODELS_MARKED)
def test_reachability_agrees_with_exact_storm(path: str, constants: str | None) -> None:
    model = _built(path, constants, True)
    program = _program(path, constants)
    env = _imported(path, constants)
    exact_env = stormpy.environments.exact()
    for label in _labels(model, env):
        if _is_mdp(model):
            want_max = _storm_values(model, program, f'Pmax=? [F "{label}"]', exact_env)
            want_min = _storm_values(model, program, f'Pmin=? [F "{label}"]', exact_env)
        else:
            want_max = want_min = _storm_values(
                model, program, f'P=? [F "{label}"]', exact_env
            )
        got_max = maximal_satisfaction(env, f"F {label}").state_values
        got_min = 1.0 - maximal_satisfaction(env, f"G !{label}").state_values
        np.testing.assert_allclose(got_max, want_max, rtol=0, atol=1e-9, err_msg=label)
        np.testing.assert_allclose(got_min, want_min, rtol=0, atol=1e-9, err_msg=label)


def _sound(precision: str) -> Any:
    environment = stormpy.environments.sound()
    solver = environment.solver()
    solver.min_max().precision = stormpy.Rational(precision)
    solver.native().precision = stormpy.Rational(precision)
    return environment


@pytest.mark.parametrize(("path", "constants"), MODELS_MARKED)
def test_discounted_rewards_agree_with_storm(path: str, constants: str | None) -> None:
    model = _built(path, constants, False)
    program = _program(path, constants)
    rewards = storm_rewards(model)
    if not rewards:
        pytest.skip("the model has no reward model")
    env = from_storm(model)
    environment = _sound("1/1000000000000")
    for storm_name in model.reward_models:
        r = rewards[storm_name or "r"]
        ref = f'R{{"{storm_name}"}}' if storm_name else "R"
        if _is_mdp(model):
            want_max = _storm_values(model, program, f"{ref}max=? [Cdiscount=9/10]",
                                     environment)
            want_min = _storm_values(model, program, f"{ref}min=? [Cdiscount=9/10]",
                                     environment)
        else:
            want_max = want_min = _storm_values(
                model, program, f"{ref}=? [Cdiscount=9/10]", environment
            )
        best = optimal_values(env, r, 0.9, tol=1e-10)
        worst = optimal_values(env, -r, 0.9, tol=1e-10)
        scale = max(1.0, float(np.abs(want_max).max()), float(np.abs(want_min).max()))
        np.testing.assert_allclose(best.values, want_max, rtol=0, atol=1e-8 * scale)
        np.testing.assert_allclose(-worst.values, want_min, rtol=0, atol=1e-8 * scale)
        # the optimal policies use only enabled actions
        assert env.enabled[np.arange(env.n_states), best.policies].all()
        assert env.enabled[np.arange(env.n_states), worst.policies].all()


def test_own_properties_of_die_jani() -> None:
    """die.jani carries ``Pmin=? [F s=7 & d=6]`` (1/6) and ``Tmin=? [F s=7]`` (11/3).

    Storm labels the states of the property's state formula when it builds the model with
    the properties; the label is renamed to a proposition. The second property is an
    undiscounted expected time, which objspec does not compute."""
    jani, properties = stormpy.parse_jani_model(os.path.join(FILES, "dtmc/die.jani"))
    model = stormpy.build_model[stormpy.Rational](jani, properties)
    value = stormpy.model_checking(
        model, properties[0], environment=stormpy.environments.exact()
    )
    init = int(model.initial_states[0])
    assert Fraction(str(value.get_value(init))) == Fraction(1, 6)
    states = [int(s) for s in model.labeling.get_states("((s = 7) & (d = 6))")]
    env = from_storm(model)
    labelled = FiniteMDP(env.exact_transitions(), env.exact_initial(),
                         labels=dict.fromkeys(states, ["six"]))
    assert maximal_satisfaction(labelled, "F six").probability == pytest.approx(1 / 6, abs=1e-12)
    assert 1.0 - maximal_satisfaction(labelled, "G !six").probability == pytest.approx(
        1 / 6, abs=1e-12
    )


@pytest.mark.parametrize(
    "path", ["mdp/coin2-2-illegalSynchronizingWrite.nm", "mdp/system_composition.nm"]
)
def test_skipped_files_are_still_refused_by_storm(path: str) -> None:
    with pytest.raises(Exception):  # noqa: B017 - Storm raises its own exception types
        _built(path, None, False)


@pytest.mark.parametrize("path", ["mdp/maze_2.nm", "mdp/die_selection.nm", "mdp/leader3.nm"])
@pytest.mark.parametrize("fmt", ["drn", "prism"])
def test_export_round_trips_through_storm(path: str, fmt: str) -> None:
    """objspec writes only the enabled actions; Storm reads back the same row groups."""
    env = _imported(path, None)
    rewards = {"r": np.where(env.enabled, 1.0, 0.0) * np.arange(env.n_states)[:, None]}
    directory = tempfile.mkdtemp()
    if fmt == "drn":
        file = os.path.join(directory, "m.drn")
        with open(file, "w", encoding="utf-8") as handle:
            handle.write(to_drn(env, rewards=rewards))
        back_model = stormpy.build_model_from_drn(file)
    else:
        file = os.path.join(directory, "m.nm")
        with open(file, "w", encoding="utf-8") as handle:
            handle.write(to_prism(env, rewards=rewards))
        options = stormpy.BuilderOptions()
        options.set_build_state_valuations()
        options.set_build_all_reward_models()
        back_model = stormpy.build_model(stormpy.parse_prism_program(file), options=options)
    back = from_storm(back_model)
    assert back.n_states == env.n_states
    # Storm numbers the states of a PRISM program in exploration order: map them back
    # through the valuation of the variable s (the exported state index)
    order = np.arange(env.n_states)
    if fmt == "prism":
        order = np.array([int(name.strip("[]").split("=")[1]) for name in back.state_names])
    S, A = env.n_states, env.n_actions
    assert (back.enabled == env.enabled[order]).all()
    want = env.transitions[order][:, :, order]
    np.testing.assert_allclose(back.transitions, want, atol=1e-15)
    np.testing.assert_allclose(storm_rewards(back_model)["r"], rewards["r"][order])
    assert (S, A) == (back.n_states, back.n_actions)


def test_load_prism_builds_masked_models_and_reports_storm_errors() -> None:
    from objspec.environments.formats import load_prism
    from objspec.errors import InvalidModelError

    env = load_prism(os.path.join(FILES, "mdp/coin2.nm"), "K=2", exact=True)
    reference = _imported("mdp/coin2-2.nm", None)
    assert (env.n_states, env.n_actions) == (reference.n_states, reference.n_actions)
    assert env.n_enabled.tolist() == reference.n_enabled.tolist()
    assert env.state_names[0].startswith("[")  # named by the variable valuations
    with pytest.raises(InvalidModelError, match="Storm cannot build"):
        load_prism(os.path.join(FILES, "mdp/coin2.nm"))  # K undefined
    with pytest.raises(InvalidModelError, match="Storm cannot build"):
        load_prism(os.path.join(FILES, "mdp/coin2-2-illegalSynchronizingWrite.nm"))


@pytest.mark.parametrize(
    "path", ["mdp/die_selection.nm", "mdp/coin2-2.nm", "dtmc/leader-3-5.pm", "mdp/two_dice.nm"]
)
def test_until_and_next_fast_paths_agree_with_exact_storm(path: str) -> None:
    """``l1 U l2`` and ``X X X l`` skip the automaton in objspec (fast paths); Storm's exact
    engine gives the same ``Pmax``/``Pmin`` (``P`` on a DTMC) in every state."""
    from objspec.ltl.optimise import minimal_satisfaction

    model = _built(path, None, True)
    program = _program(path, None)
    env = _imported(path, None)
    exact_env = stormpy.environments.exact()
    labels = _labels(model, env)
    texts = [f'"{a}" U "{b}"' for a, b in zip(labels, labels[1:], strict=False)][:4]
    texts += [f'X X X "{label}"' for label in labels[:3]]
    op = "Pmax" if _is_mdp(model) else "P"
    for text in texts:
        storm = parse_formula(text).to_storm()
        want = _storm_values(model, program, f"{op}=? [{storm}]", exact_env)
        got = maximal_satisfaction(env, text).state_values
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9, err_msg=text)
        if _is_mdp(model):
            want = _storm_values(model, program, f"Pmin=? [{storm}]", exact_env)
            got = minimal_satisfaction(env, text).state_values
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-9, err_msg=text)
