"""PRISM and DRN exports load in Storm and give objspec's values; Storm models import back."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from objspec import FiniteMDP, Policy
from objspec.environments import E3, gridworld, office_world, random_labelled_mdp, random_policies
from objspec.environments.formats import (
    from_storm,
    load_drn,
    save_drn,
    save_prism,
    storm_rewards,
    to_drn,
    to_prism,
)
from objspec.errors import InvalidModelError
from objspec.mdp import discounted_values, optimal_values
from objspec.mdp.rewards import expected_rewards, normalize_rewards

stormpy = pytest.importorskip("stormpy")

GAMMA = 0.9
RTOL = 1e-5  # Storm's default precision is 1e-6 relative


def _values(model: object, formula: str, program: object = None) -> np.ndarray:
    props = (
        stormpy.parse_properties(formula, program)
        if program is not None
        else stormpy.parse_properties(formula)
    )
    result = stormpy.model_checking(model, props[0], only_initial_states=False)
    return np.array(result.get_value_vector())


def _prism_model(env: FiniteMDP, path: Path, **kwargs: object) -> tuple[object, object, np.ndarray]:
    """Storm's model of the exported program and, per Storm state, the objspec state.

    Storm builds the reachable part of a PRISM program in its own exploration order; the
    variable ``s`` of each state's valuation is its objspec index.
    """
    save_prism(env, path, **kwargs)
    program = stormpy.parse_prism_program(str(path))
    model = stormpy.build_model(program, options=stormpy.BuilderOptions(build_full=True))
    valuations = model.state_valuations
    order = np.array(
        [int(valuations.to_string(i).strip("[]").split("=")[1]) for i in range(model.nr_states)]
    )
    return model, program, order


def _drn_model(env: FiniteMDP, path: Path, **kwargs: object) -> object:
    save_drn(env, path, **kwargs)
    return stormpy.build_model_from_drn(str(path))


def _optimal_discounted(env: FiniteMDP, reward: np.ndarray, gamma: float) -> np.ndarray:
    """Value iteration to 1e-12 (independent of objspec's solvers)."""
    arr, kind, _ = normalize_rewards(env, reward, batched=False)
    r = expected_rewards(env, arr, kind)[0]
    P = env.transitions
    v = np.zeros(env.n_states)
    for _ in range(100_000):
        new = (r + gamma * P @ v).max(axis=1)
        if np.abs(new - v).max() < 1e-13:
            return new
        v = new
    raise AssertionError("value iteration did not converge")


def _reach_probability(env: FiniteMDP, target: np.ndarray, policy: np.ndarray | None) -> np.ndarray:
    """Max (or policy's) probability of eventually reaching ``target``, by iteration from 0."""
    P = env.transitions
    x = target.astype(float)
    for _ in range(200_000):
        q = P @ x
        step = q.max(axis=1) if policy is None else (policy * q).sum(axis=1)
        new = np.where(target, 1.0, step)
        if np.abs(new - x).max() < 1e-14:
            return new
        x = new
    raise AssertionError("reachability iteration did not converge")


@pytest.fixture(params=[0, 1, 2])
def labelled(request: pytest.FixtureRequest) -> tuple[FiniteMDP, np.ndarray, np.ndarray]:
    seed = request.param
    env = random_labelled_mdp(7, 3, ("a", "b"), 3, seed=seed)
    reward = np.random.default_rng(seed).normal(size=(7, 3, 7))
    policy = random_policies(env, 1, seed=seed)[0]
    return env, reward, policy


def test_prism_chain_discounted_values_match(tmp_path: Path, labelled: tuple) -> None:
    env, reward, policy = labelled
    model, program, order = _prism_model(
        env, tmp_path / "chain.prism", policy=policy, rewards=reward
    )
    storm = _values(model, f'R{{"r"}}=? [ Cdiscount={GAMMA} ]', program)
    ours = discounted_values(env, policy, reward, GAMMA)[order]
    np.testing.assert_allclose(storm, ours, rtol=RTOL, atol=RTOL)


def test_drn_chain_discounted_values_match(tmp_path: Path, labelled: tuple) -> None:
    env, reward, policy = labelled
    model = _drn_model(env, tmp_path / "chain.drn", policy=policy, rewards={"cost": reward})
    storm = _values(model, f'R{{"cost"}}=? [ Cdiscount={GAMMA} ]')
    np.testing.assert_allclose(storm, discounted_values(env, policy, reward, GAMMA), rtol=RTOL,
                               atol=RTOL)


@pytest.mark.parametrize("fmt", ["prism", "drn"])
def test_mdp_optimal_discounted_values_match(tmp_path: Path, labelled: tuple, fmt: str) -> None:
    env, reward, _ = labelled
    order = np.arange(env.n_states)
    if fmt == "prism":
        model, program, order = _prism_model(env, tmp_path / "m.prism", rewards=reward)
        storm = _values(model, f'R{{"r"}}max=? [ Cdiscount={GAMMA} ]', program)
    else:
        model = _drn_model(env, tmp_path / "m.drn", rewards=reward)
        storm = _values(model, f'R{{"r"}}max=? [ Cdiscount={GAMMA} ]')
    ours = _optimal_discounted(env, reward, GAMMA)[order]
    np.testing.assert_allclose(storm, ours, rtol=RTOL, atol=RTOL)
    objspec_values = optimal_values(env, reward, GAMMA, tol=1e-10).values[order]
    np.testing.assert_allclose(storm, objspec_values, rtol=RTOL, atol=RTOL)


@pytest.mark.parametrize("fmt", ["prism", "drn"])
def test_reachability_probabilities_match(tmp_path: Path, labelled: tuple, fmt: str) -> None:
    env, _, policy = labelled
    labels = env.state_labels
    assert labels is not None
    target = np.array(["a" in ls and "b" not in ls for ls in labels])
    for pol in (None, policy):
        order = np.arange(env.n_states)
        if fmt == "prism":
            model, program, order = _prism_model(env, tmp_path / "m.prism", policy=pol)
            query = 'P=? [ F ("a" & !"b") ]' if pol is not None else 'Pmax=? [ F ("a" & !"b") ]'
            storm = _values(model, query, program)
        else:
            model = _drn_model(env, tmp_path / "m.drn", policy=pol)
            query = 'P=? [ F ("a" & !"b") ]' if pol is not None else 'Pmax=? [ F ("a" & !"b") ]'
            storm = _values(model, query)
        ours = _reach_probability(env, target, pol)[order]
        np.testing.assert_allclose(storm, ours, atol=1e-6)


def test_gridworld_goal_reachability_under_slip(tmp_path: Path) -> None:
    env = gridworld("S..\n.#g\nx..", slip=0.2, absorbing="gx")
    model, program, order = _prism_model(env, tmp_path / "grid.prism")
    storm = _values(model, 'Pmax=? [ !"x" U "g" ]', program)
    labels = env.state_labels
    assert labels is not None
    ours = _reach_probability(env, np.array(["g" in ls for ls in labels]), None)
    np.testing.assert_allclose(storm, ours[order], atol=1e-6)
    assert ours[0] > 0.9 and ours[env.state_names.index("(2,0)")] == 0.0


def test_drn_round_trip(tmp_path: Path, labelled: tuple) -> None:
    env, reward, _ = labelled
    save_drn(env, tmp_path / "m.drn", rewards={"r": reward, "s": np.arange(7.0)})
    back = load_drn(tmp_path / "m.drn")
    np.testing.assert_allclose(back.transitions, env.transitions, atol=1e-15)
    assert back.state_labels == env.state_labels
    model = stormpy.build_model_from_drn(str(tmp_path / "m.drn"))
    rewards = storm_rewards(model)
    arr, kind, _ = normalize_rewards(env, reward, batched=False)
    np.testing.assert_allclose(rewards["r"], expected_rewards(env, arr, kind)[0], rtol=1e-14)
    np.testing.assert_allclose(rewards["s"], np.repeat(np.arange(7.0)[:, None], 3, axis=1))


def test_prism_import_through_storm(tmp_path: Path) -> None:
    env = office_world(label_on="state")
    model, _, order = _prism_model(env, tmp_path / "office.prism")
    back = from_storm(model)
    np.testing.assert_array_equal(back.transitions, env.transitions[np.ix_(order, range(4), order)])
    assert back.n_states == 108 and back.n_actions == 4
    assert back.propositions == env.propositions
    # Storm explores from the initial state in its own order; compare label counts per name.
    for name in env.propositions:
        count = sum(name in ls for ls in back.state_labels or ())
        assert count == sum(name in ls for ls in env.state_labels or ())


def test_exact_model_written_with_fractions(tmp_path: Path) -> None:
    third = Fraction(1, 3)
    P = np.array([[[third, 2 * third]], [[Fraction(0), Fraction(1)]]], dtype=object)
    env = FiniteMDP(P, [Fraction(1), Fraction(0)], labels={1: ["goal"]})
    text = to_prism(env)
    assert "1/3:(s'=0) + 2/3:(s'=1)" in text
    model, program, order = _prism_model(env, tmp_path / "exact.prism", rewards=[1.0, 0.0])
    assert order.tolist() == [0, 1]
    storm = _values(model, 'R{"r"}max=? [ Cdiscount=0.5 ]', program)
    # V(0) = 1 + 0.5 * (1/3) V(0)  =>  V(0) = 6/5
    np.testing.assert_allclose(storm, [1.2, 0.0], rtol=RTOL)


def test_multiple_initial_states_are_the_support(tmp_path: Path) -> None:
    env = E3()
    env2 = FiniteMDP(env.transitions, [0.25, 0.75])
    text = to_prism(env2)
    assert "init s=0 | s=1 endinit" in text and "0: 0.25, 1: 0.75" in text
    model, _, _ = _prism_model(env2, tmp_path / "two.prism")
    assert sorted(int(s) for s in model.initial_states) == [0, 1]
    assert "state 1 init" in to_drn(env2)


def test_transition_labels_are_refused() -> None:
    env = office_world()  # labels seen on entering a cell: a label function
    with pytest.raises(InvalidModelError, match="transition labels"):
        to_prism(env)
    assert "label" not in to_prism(env, include_labels=False).split("endmodule")[1]


def test_bad_label_names_are_refused() -> None:
    env = FiniteMDP(np.ones((1, 1, 1)), [1.0], labels={0: ["has space"]})
    with pytest.raises(InvalidModelError, match="'has space'"):
        to_drn(env)
    env = FiniteMDP(np.ones((1, 1, 1)), [1.0], labels={0: ["init"]})
    with pytest.raises(InvalidModelError, match="'init'"):
        to_prism(env)


def test_batch_of_policies_is_refused() -> None:
    env = E3()
    with pytest.raises(InvalidModelError, match="one policy"):
        to_prism(env, policy=random_policies(env, 2, seed=0))
    assert "dtmc" in to_prism(env, policy=Policy.uniform(2, 2))


def test_from_storm_rejects_other_models() -> None:
    with pytest.raises(InvalidModelError, match="sparse DTMCs and MDPs"):
        from_storm(object())


_NEVER_PRISM = """mdp
module m
  s : [0..2] init 0;
  [a] s=0 -> 0.5 : (s'=1) + 0.5 : (s'=2);
  [b] s=0 -> 1 : (s'=2);
  [a] s>0 -> 1 : (s'=s);
  [b] s>0 -> 1 : (s'=s);
endmodule
label "goal" = s=1;
label "never" = s>2;
"""


def test_from_storm_keeps_labels_that_hold_nowhere(tmp_path: Path) -> None:
    from objspec.formalisms.temporal_logic import LTL

    path = tmp_path / "never.prism"
    path.write_text(_NEVER_PRISM)
    program = stormpy.parse_prism_program(str(path))
    model = stormpy.build_model(program)
    assert list(model.labeling.get_states("never")) == []
    env = from_storm(model)
    assert env.propositions == ("goal", "never")
    pi = Policy.deterministic([0, 0, 0], 2)
    for formula, storm in [('F "never"', 'Pmax=? [F "never"]'),
                           ('G !"never"', 'Pmin=? [G !"never"]'),
                           ('F "goal" & G !"never"', 'Pmax=? [F "goal"]')]:
        expected = _values(model, storm, program)[0]
        ev = LTL(formula).compile(env)
        assert ev.value(pi) == pytest.approx(expected, abs=1e-12)
        assert ev.maximal_satisfaction().probability == pytest.approx(
            _values(model, storm.replace("Pmin", "Pmax"), program)[0], abs=1e-9)
    assert LTL('F "never"').compile(env).value(pi) == 0.0
    assert LTL('G !"never"').compile(env).value(pi) == 1.0


def test_a_declared_label_that_holds_nowhere_exports_as_false(tmp_path: Path) -> None:
    env = FiniteMDP(np.array([[[0.5, 0.5]], [[0.0, 1.0]]]), [1.0, 0.0], labels={1: ["goal"]},
                    propositions=["goal", "never"])
    assert 'label "never" = false;' in to_prism(env)
    model, program, _ = _prism_model(env, tmp_path / "m.prism")
    assert _values(model, 'Pmax=? [F "never"]', program).max() == 0.0
    assert from_storm(model).propositions == ("goal", "never")
