"""Per-state action sets: ``FiniteMDP(enabled=...)`` through validation, evaluation,
control, LTL/reward-machine optimisation, sampling, export and every formalism."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from objspec import FiniteMDP, Policy
from objspec.environments import random_policies
from objspec.environments import strategies as ost
from objspec.environments.formats import to_drn, to_prism
from objspec.errors import InvalidModelError, InvalidPolicyError, InvalidSpecificationError
from objspec.ltl.optimise import maximal_satisfaction, optimal_reward_machine_policy
from objspec.ltl.product import satisfaction_probabilities
from objspec.ltl.translation import translate
from objspec.mdp import (
    deterministic_policies,
    discounted_values,
    optimal_values,
    sample_trajectories,
    state_action_occupancy,
)
from objspec.mdp.backends import available_backends, use_backend
from objspec.mdp.exact import exact_values
from objspec.mdp.reachability import canonical_policies


def _env(**kwargs: object) -> FiniteMDP:
    """Three states; state 1 has only action 0, state 2 only action 1."""
    P = np.zeros((3, 2, 3))
    P[0, 0, 1] = 1.0
    P[0, 1, 2] = 1.0
    P[1, 0] = [0.5, 0.5, 0.0]
    P[2, 1, 2] = 1.0
    enabled = np.array([[True, True], [True, False], [False, True]])
    return FiniteMDP(P, [1.0, 0.0, 0.0], enabled=enabled, **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------ the model


def test_mask_attributes() -> None:
    env = _env(labels={2: ["goal"]})
    assert env.enabled.tolist() == [[True, True], [True, False], [False, True]]
    assert env.n_enabled.tolist() == [2, 1, 1]
    assert env.enabled_actions(2).tolist() == [1]
    assert not env.all_enabled
    assert "enabled=4/6 pairs" in repr(env)
    with pytest.raises(ValueError):
        env.enabled[0, 0] = False  # read-only
    full = FiniteMDP(np.ones((2, 2, 2)) / 2, [1.0, 0.0])
    assert full.all_enabled and full.enabled.all()
    # an all-True mask is the same as no mask
    every = np.ones((2, 2), dtype=bool)
    assert FiniteMDP(np.ones((2, 2, 2)) / 2, [1.0, 0.0], enabled=every).all_enabled


def test_sparse_and_exact_masked_models() -> None:
    dense = _env()
    P = dense.transitions.reshape(6, 3)
    sparse = FiniteMDP(sp.csr_matrix(P), [1.0, 0.0, 0.0], enabled=dense.enabled)
    assert sparse.transition_matrix.nnz == dense.transition_matrix.nnz
    assert (sparse.enabled == dense.enabled).all()
    exact_P = np.empty(P.shape, dtype=object)
    exact_P.ravel()[:] = [Fraction(x) for x in P.ravel()]
    exact = FiniteMDP(exact_P.reshape(3, 2, 3), [Fraction(1), Fraction(0), Fraction(0)],
                      enabled=dense.enabled)
    assert exact.is_exact
    assert exact.exact_transitions()[2, 0].tolist() == [0, 0, 0]
    # float models convert exactly too: the zero rows are not "rows that fail to sum to 1"
    assert dense.exact_transitions()[1, 1].tolist() == [0, 0, 0]


@pytest.mark.parametrize(
    ("transitions", "enabled", "message"),
    [
        (np.ones((2, 2, 2)) / 2, [[True, True]], r"enabled must be shaped \[S, A\] = \[2, 2\]"),
        (np.ones((2, 2, 2)) / 2, [[True, True], [False, False]], "state 1 has no enabled action"),
        (np.ones((2, 2, 2)) / 2, [[True, True], [True, False]],
         r"transitions\[s=1, a=1\] has total probability 1, but action 1 is disabled"),
        (np.ones((2, 2, 2)) / 2, [[1.5, 1], [1, 1]], "enabled must be a boolean"),
    ],
)
def test_bad_masks_are_refused(transitions: np.ndarray, enabled: object, message: str) -> None:
    with pytest.raises(InvalidModelError, match=message):
        FiniteMDP(transitions, [1.0, 0.0], enabled=enabled)
    with pytest.raises(InvalidModelError, match=message):
        FiniteMDP(sp.csr_matrix(transitions.reshape(4, 2)), [1.0, 0.0], enabled=enabled)


def test_enabled_rows_must_still_be_distributions_and_zero_rows_need_a_mask() -> None:
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[1, 0, 1] = 1.0
    P[0, 1, 1] = 0.5
    with pytest.raises(InvalidModelError, match=r"transitions\[s=0, a=1\] sums to 0.5, not 1"):
        FiniteMDP(P, [1.0, 0.0], enabled=[[True, True], [True, False]])
    P[0, 1, 1] = 1.0
    with pytest.raises(InvalidModelError, match="pass an enabled= mask"):
        FiniteMDP(P, [1.0, 0.0])


# ------------------------------------------------------------------ policies


def test_policies_on_disabled_actions_are_refused_everywhere() -> None:
    env = _env()
    bad = Policy([[0.5, 0.5], [0.5, 0.5], [0.0, 1.0]])
    message = r"probability 0.5 on action 1 in state 1, where it is disabled \(enabled .*\[0\]\)"
    with pytest.raises(InvalidPolicyError, match=message):
        discounted_values(env, bad, [0.0, 1.0, 2.0], 0.9)
    with pytest.raises(InvalidPolicyError, match="policy 1 of the batch"):
        discounted_values(env, [Policy.uniform_over(env), bad], [0.0, 1.0, 2.0], 0.9)
    with pytest.raises(InvalidPolicyError, match="where it is disabled"):
        sample_trajectories(env, bad, 2, 3, seed=0)
    with pytest.raises(InvalidPolicyError, match="where it is disabled"):
        exact_values(env, bad, [0, 1, 2], Fraction(1, 2))
    with pytest.raises(InvalidPolicyError, match="where it is disabled"):
        canonical_policies(env, bad)


def test_uniform_over_and_deterministic_policies_use_enabled_actions() -> None:
    env = _env()
    uniform = Policy.uniform_over(env)
    assert uniform.exact_probabilities().tolist() == [
        [Fraction(1, 2), Fraction(1, 2)], [Fraction(1), Fraction(0)], [Fraction(0), Fraction(1)]
    ]
    found = [p.actions.tolist() for p in deterministic_policies(env)]
    assert found == [[0, 0, 1], [1, 0, 1]]
    pis = random_policies(env, 50, seed=1, deterministic_fraction=0.5)
    assert (pis[:, ~env.enabled] == 0).all()
    assert np.allclose(pis.sum(axis=2), 1.0)
    # off the reached states: uniform over the enabled actions
    canon = canonical_policies(env, Policy.deterministic([1, 0, 1], 2))
    assert canon.tolist() == [[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
    canon = canonical_policies(env, Policy.deterministic([0, 0, 1], 2))
    assert canon[2].tolist() == [0.0, 1.0]


def test_sampling_and_occupancy_stay_on_enabled_pairs() -> None:
    env = _env()
    pi = Policy.uniform_over(env)
    trajectories = sample_trajectories(env, pi, 200, 6, seed=3)
    states, actions = trajectories.states[:, :-1], trajectories.actions
    assert env.enabled[states, actions].all()
    occupancy = state_action_occupancy(env, pi, 0.9)
    assert (occupancy[~env.enabled] == 0).all()


# ------------------------------------------------------------------ control


@pytest.mark.parametrize("backend", available_backends())
def test_control_ignores_disabled_actions_even_when_their_zero_row_would_win(
    backend: str,
) -> None:
    # every real action costs; a disabled pair's zero row would look free (value 0)
    env = _env()
    R = np.full((3, 2), -1.0)
    R[~env.enabled] = 5.0  # rewards on disabled pairs are ignored too
    for method in ("value_iteration", "policy_iteration", "auto"):
        with use_backend(backend):
            sol = optimal_values(env, R, 0.9, method=method)
        assert env.enabled[np.arange(3), sol.policies].all()
        np.testing.assert_allclose(sol.values, -10.0, atol=1e-7)
        assert not np.isnan(sol.values).any()
        assert bool(sol.optimal_certified) in (True, False)


@settings(max_examples=25)
@given(pair=ost.mdp_and_policies(max_states=4, masked=True, min_actions=2),
       data=st.data())
def test_optimal_values_match_brute_force_on_masked_mdps(pair, data) -> None:
    env, _ = pair
    R = data.draw(ost.rewards(env, "state_action"))
    sol = optimal_values(env, R, 0.8, tol=1e-10)
    values = np.array([discounted_values(env, p, R, 0.8) for p in deterministic_policies(env)])
    np.testing.assert_allclose(sol.values, values.max(axis=0), atol=1e-8)
    assert env.enabled[np.arange(env.n_states), sol.policies].all()


# ------------------------------------------------------------------ LTL and reward machines


def test_pmax_does_not_treat_a_disabled_action_as_an_end_component() -> None:
    # state 0 (labelled a) has one enabled action, which leaves to state 1 (not a): G a fails
    P = np.zeros((2, 2, 2))
    P[0, 0, 1] = 1.0
    P[1, 0, 1] = P[1, 1, 0] = 1.0
    env = FiniteMDP(P, [1.0, 0.0], labels={0: ["a"]}, enabled=[[True, False], [True, True]])
    result = maximal_satisfaction(env, "G a")
    assert result.probability == 0.0
    table = result.policy.action_probabilities
    assert (table[:, :, 1][0] == 0).all()  # the policy never plays a disabled action
    assert maximal_satisfaction(env, "G F a").probability == pytest.approx(1.0)


@settings(max_examples=15)
@given(env=ost.labelled_mdps(("a", "b"), min_states=2, max_states=4, min_actions=2,
                             masked=True),
       formula=st.sampled_from(["F a", "G !b", "a U b", "F (a & X b)"]))
def test_pmax_matches_brute_force_on_masked_mdps(env: FiniteMDP, formula: str) -> None:
    assume(set(env.propositions) == {"a", "b"})
    result = maximal_satisfaction(env, formula)
    policies = list(deterministic_policies(env))
    probs = satisfaction_probabilities(env, translate(formula, env.propositions), policies)
    assert result.probability >= probs.max() - 1e-9
    table = result.policy.action_probabilities
    assert (table[~env.enabled] == 0).all() if table.ndim == 2 else (
        table.transpose(1, 0, 2)[:, ~env.enabled] == 0
    ).all()
    if formula in ("F a", "G !b", "a U b"):  # memoryless policies suffice
        assert result.probability == pytest.approx(probs.max(), abs=1e-9)


def test_reward_machine_optimum_ignores_disabled_actions() -> None:
    env = _env(labels={2: ["goal"]})
    edges = [(0, 0, "!goal", -1.0), (0, 1, "goal", 0.0), (1, 1, "true", -1.0)]
    sol = optimal_reward_machine_policy(env, edges, 0, 0.5)
    assert env.enabled[np.arange(3)[:, None], sol.policy].all()
    # the best is to move to state 2 at once: reward -1 (leaving state 0, not goal), then -1
    # per step in machine state 1
    assert sol.value == pytest.approx(sol.policy_value)
    assert sol.value == pytest.approx(-1.0 + 0.5 * 0.0 + -0.25 / (1 - 0.5), abs=1e-8)


# ------------------------------------------------------------------ export


def test_exports_write_enabled_actions_only() -> None:
    env = _env(labels={2: ["goal"]})
    prism = to_prism(env, rewards=np.array([[1.0, 2.0], [3.0, 0.0], [0.0, 4.0]]))
    assert "[a1] s=1" not in prism and "[a0] s=2" not in prism
    assert "[a0] s=1 -> 0.5:(s'=0) + 0.5:(s'=1);" in prism
    drn = to_drn(env)
    assert "@nr_choices\n4\n" in drn
    state2 = drn.split("state 2")[1]
    assert "action a1" in state2 and "action a0" not in state2


# ------------------------------------------------------------------ every formalism


def _filled(env: FiniteMDP) -> FiniteMDP:
    """The same environment with every action enabled: a disabled action of ``s`` gets
    the row of the first enabled action of ``s`` (so the uniform policy over all actions
    has the same chain support as the uniform one over the enabled actions)."""
    P = np.array(env.transitions)
    for s, a in np.argwhere(~env.enabled).tolist():
        P[s, a] = P[s, env.enabled_actions(s)[0]]
    labels = None
    if env.state_labels is not None and env.propositions:
        labels = {s: sorted(ls) for s, ls in enumerate(env.state_labels)}
    return FiniteMDP(P, env.initial, labels=labels)


@pytest.mark.parametrize("name", sorted(ost.FORMALISMS))
@settings(max_examples=8)
@given(data=st.data())
def test_every_formalism_on_masked_environments(name: str, data: st.DataObject) -> None:
    """Policies on the enabled actions: values and comparisons are those of the same
    environment with the disabled rows filled in (the rows are never used); a policy on a
    disabled action is refused."""
    env = data.draw(ost.labelled_mdps(("a", "b"), max_states=3, min_actions=2, max_actions=3,
                                      masked=True))
    spec = data.draw(ost.FORMALISMS[name](env))
    batch = data.draw(ost.policy_batches(env, 2, 3))
    try:
        ev = spec.compile(env)
    except InvalidSpecificationError:
        # (exact evaluation refused, e.g. a return with infinitely many values): the
        # filled-in environment must refuse it the same way
        with pytest.raises(InvalidSpecificationError):
            spec.compile(_filled(env))
        return
    reference = spec.compile(_filled(env))
    ranks = ev.rank(batch)
    assert np.all(np.isfinite(np.asarray(ranks, dtype=float)))
    for p in batch:
        for q in batch:
            assert ev.compare(p, q) == reference.compare(p, q)
    s, a = (int(i) for i in np.argwhere(~env.enabled)[0]) if not env.all_enabled else (0, 0)
    if not env.all_enabled:
        bad = np.array(Policy.uniform_over(env).probabilities)
        bad[s] = 1.0 / env.n_actions
        with pytest.raises(InvalidPolicyError, match="where it is disabled"):
            ev.compare(bad, batch[0])


# ------------------------------------------------------------------ gymnasium


@pytest.mark.parametrize("spec", ["MR", "LTL", "RM"])
def test_spec_env_exposes_the_mask_and_refuses_disabled_actions(spec: str) -> None:
    from objspec.environments.gym_adapter import SpecEnv
    from objspec.formalisms import MarkovReward, RewardMachine

    env = _env(labels={2: ["goal"]})
    objective: object = {
        "MR": MarkovReward(np.arange(6.0).reshape(3, 2), 0.9),
        "LTL": "F goal",
        "RM": RewardMachine([(0, 1, "goal", 1.0), (0, 0, "!goal", 0.0),
                             (1, 1, "true", 0.0)], 0, 0.9),
    }[spec]
    gym_env = SpecEnv(env, objective, max_episode_steps=8)
    rng = np.random.default_rng(0)
    for episode in range(20):
        _, info = gym_env.reset(seed=episode)
        done = False
        while not done:
            s = info["state"]
            assert info["action_mask"].tolist() == env.enabled[s].astype(int).tolist()
            assert gym_env.action_masks().tolist() == env.enabled[s].tolist()
            disabled = np.flatnonzero(~env.enabled[s])
            if disabled.size:
                with pytest.raises(InvalidPolicyError, match=f"disabled in state {s}"):
                    gym_env.step(int(disabled[0]))
            action = int(rng.choice(np.flatnonzero(gym_env.action_masks())))
            _, _, terminated, truncated, info = gym_env.step(action)
            done = terminated or truncated


# ------------------------------------------------------------------ command line


def test_cli_reads_an_enabled_mask(tmp_path, capsys) -> None:
    import json

    from objspec.cli import main

    environment = {"transitions": [[[0, 1], [1, 0]], [[0, 1], [0, 0]]], "initial": [1, 0],
                   "enabled": [[True, True], [True, False]]}
    spec = {"formalism": "MR", "reward": [[1, 0], [0, 0]], "gamma": "1/2"}
    path = tmp_path / "problem.json"
    path.write_text(json.dumps({"environment": environment, "specification": spec,
                                "policies": [[[1, 0], [1, 0]], [[0, 1], [1, 0]]]}))
    assert main(["evaluate", str(path), "--exact"]) == 0
    out = capsys.readouterr().out
    assert "policy 0: rank 0, value 1" in out and "policy 1: rank 1, value 0" in out
    path.write_text(json.dumps({"environment": environment, "specification": spec,
                                "policies": [[[1, 0], [0, 1]]]}))
    assert main(["evaluate", str(path)]) == 2
    assert "where it is disabled" in capsys.readouterr().err
    environment["enabled"] = [[1, 1], [1, 0]]
    path.write_text(json.dumps({"environment": environment, "specification": spec,
                                "policies": [[[1, 0], [1, 0]]]}))
    assert main(["evaluate", str(path)]) == 2
    assert "list of true/false" in capsys.readouterr().err
