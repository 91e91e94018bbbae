"""The gymnasium adapter: conformance (check_env), seeding, and rewards that mean the spec."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from objspec import FiniteMDP, Policy
from objspec.environments import (
    E3,
    OFFICE_RM_TEXTS,
    gridworld,
    import_gymnasium,
    office_world,
    random_labelled_mdp,
    random_policies,
)
from objspec.environments.gym_adapter import ProductTable, SpecEnv
from objspec.errors import InvalidPolicyError, InvalidSpecificationError
from objspec.formalisms import MarkovReward, OuterNonlinearMarkovReward
from objspec.formalisms.limit_average import LimitAverageReward
from objspec.formalisms.reward_machine import RewardMachine
from objspec.formalisms.temporal_logic import LinearTemporalLogic
from objspec.ltl.optimise import maximal_satisfaction
from objspec.mdp import expected_return

GRID = """
S.a
.#.
b.x
"""


def _check(env: gym.Env) -> None:
    """check_env with every warning an error (check_env reports problems as warnings).

    Only gymnasium.make'd environments carry a ``spec``, which check_env needs to try other
    render modes; that one notice is allowed for directly constructed environments.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*environment not having a spec.*")
        check_env(env, skip_render_check=False)


def _rollout(env: SpecEnv, actions: list[int], seed: int) -> list[tuple]:
    obs, _ = env.reset(seed=seed)
    out = [(np.asarray(obs).tolist(),)]
    for a in actions:
        obs, r, term, trunc, _ = env.step(a)
        out.append((np.asarray(obs).tolist(), r, term, trunc))
        if term or trunc:
            break
    return out


def _max_expected_return(table: ProductTable, tol: float = 1e-13) -> float:
    """Undiscounted value iteration on the simulated product (terminal states stop)."""
    K, A = table.n_states, table.n_actions
    v = np.zeros(K)
    rows = np.repeat(np.arange(K * A), np.diff(table.pointer))
    for _ in range(100_000):
        cont = np.where(table.terminal[table.target], 0.0, v[table.target])
        q = np.bincount(rows, weights=table.probability * (table.reward + cont),
                        minlength=K * A).reshape(K, A)
        new = q.max(axis=1)
        if np.abs(new - v).max() < tol:
            break
        v = new
    # an episode starts in its initial state even when that state is terminal: rewards and
    # termination come on *entering* a state
    return float(v[table.initial_states] @ table.initial_weights)


# ---------------------------------------------------------------- conformance


def test_check_env_markov_reward() -> None:
    grid = gridworld(GRID, slip=0.1, absorbing="x")
    reward = np.zeros((grid.n_states, 4))
    reward[grid.state_names.index("(0,2)")] = 1.0
    _check(SpecEnv(grid, MarkovReward(reward, 0.9), max_episode_steps=50, render_mode="ansi"))


def test_check_env_ltl_pair_and_flat_observations() -> None:
    grid = gridworld(GRID, slip=0.1, absorbing="x")
    _check(SpecEnv(grid, "F (a & F b) & G !x", max_episode_steps=50))
    _check(SpecEnv(grid, "G F a", max_episode_steps=50, flatten=True, render_mode="ansi"))


def test_check_env_limit_average_and_plain_reward() -> None:
    env = random_labelled_mdp(5, 2, ("a",), 3, seed=4)
    _check(SpecEnv(env, LimitAverageReward(np.arange(5.0)), max_episode_steps=30))
    _check(SpecEnv(env, np.ones((5, 2, 5)), max_episode_steps=30))


def test_check_env_through_gymnasium_make() -> None:
    grid = gridworld(GRID, slip=0.1, absorbing="x")
    env = gym.make("objspec/SpecEnv-v0", mdp=grid, spec="F b", max_episode_steps=30,
                   render_mode="ansi")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=False)
    obs, _ = env.reset(seed=3)
    assert env.observation_space.contains(obs)


def test_check_env_office_world_ltl() -> None:
    office = office_world()
    env = SpecEnv(office, "F (f & F g) & G !n", max_episode_steps=200, render_mode="ansi")
    _check(env)
    assert env.observation_space == gym.spaces.MultiDiscrete([108, env.table.n_machine_states])
    assert env.render() is not None


# ---------------------------------------------------------------- seeding and semantics


def test_same_seed_same_episode() -> None:
    grid = gridworld(GRID, slip=0.3, absorbing="x")
    env = SpecEnv(grid, "F b", max_episode_steps=40)
    actions = list(np.random.default_rng(0).integers(4, size=40))
    assert _rollout(env, actions, seed=7) == _rollout(env, actions, seed=7)
    episodes = {str(_rollout(env, actions, seed=s)) for s in range(10)}
    assert len(episodes) > 1


def test_markov_reward_returns_average_to_the_value() -> None:
    env = random_labelled_mdp(4, 2, ("a",), 2, seed=3)
    reward = np.random.default_rng(3).uniform(-1, 1, size=(4, 2, 4))
    gamma = 0.6
    pi = random_policies(env, 1, seed=2)[0]
    sim = SpecEnv(env, MarkovReward(reward, gamma), max_episode_steps=40)
    rng = np.random.default_rng(5)
    returns = []
    for episode in range(1500):
        obs, _ = sim.reset(seed=episode)
        total, discount = 0.0, 1.0
        for _ in range(35):  # gamma^35 < 2e-8: truncation error negligible
            obs, r, term, trunc, _ = sim.step(int(rng.choice(2, p=pi[obs])))
            total += discount * r
            discount *= gamma
            if term or trunc:
                break
        returns.append(total)
    exact = float(expected_return(env, Policy(pi), reward, gamma))
    stderr = np.std(returns) / np.sqrt(len(returns))
    assert abs(np.mean(returns) - exact) < 5 * stderr + 1e-6
    assert sim.gamma == gamma


@pytest.mark.parametrize(
    "formula", ["F (a & F b)", "G F a", "F G b", "G !x U b", "(F a) -> (G F b)", "X X a"]
)
def test_ltl_reward_scheme_is_sound_for_the_best_policy(formula: str) -> None:
    """max E[return] on the adapter's product equals Pmax(formula) (computed independently)."""
    grid = gridworld(GRID, slip=0.2, absorbing="x")
    env = SpecEnv(grid, formula)
    best = _max_expected_return(env.table)
    assert best == pytest.approx(maximal_satisfaction(grid, formula).probability, abs=1e-7)


def test_ltl_episode_ends_when_acceptance_is_secured_or_lost() -> None:
    grid = gridworld("Sa.b", absorbing="b")
    env = SpecEnv(grid, "F (a & F b)")
    env.reset(seed=0)
    results = [env.step(1) for _ in range(4)]
    assert [r for _, r, *_ in results] == [0.0, 0.0, 0.0, 1.0]
    assert [t for _, _, t, *_ in results] == [False, False, False, True]
    # "G !x": the start already lies in an accepting end component (it can stay away from
    # x forever), so the first step that stays in it secures the formula ...
    safe = SpecEnv(gridworld("S.x", absorbing="x"), "G !x")
    safe.reset(seed=0)
    assert safe.step(3)[1:3] == (1.0, True)  # left: bump into the border, stay
    # ... while "F x & G !x" cannot be satisfied at all: lost on the first step
    lost = SpecEnv(gridworld("S.x", absorbing="x"), "F x & G !x")
    lost.reset(seed=0)
    assert lost.step(1)[1:3] == (0.0, True)


def test_terminal_states_reproduce_gymnasium_episodes() -> None:
    model = import_gymnasium(gym.make("FrozenLake-v1", is_slippery=False))
    env = SpecEnv(model.mdp, MarkovReward(model.reward, 0.99), terminal_states=model.terminal)
    _check(env)
    obs, _ = env.reset(seed=0)
    rewards, done = [], False
    for a in [2, 2, 1, 1, 1, 2]:  # right right down down down right: the goal
        obs, r, done, _, _ = env.step(a)
        rewards.append(r)
    assert obs == 15 and done and rewards[-1] == 1.0 and sum(rewards) == 1.0


# ---------------------------------------------------------------- errors


def test_specs_without_a_per_step_reward_are_refused() -> None:
    spec = OuterNonlinearMarkovReward(np.zeros((2, 2)), lambda x: x, 0.5)
    with pytest.raises(InvalidSpecificationError, match="no per-step reward"):
        SpecEnv(E3(), spec)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"terminal_states": [5]}, r"terminal_states \[5\]"),
        ({"max_episode_steps": 0}, "max_episode_steps"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidSpecificationError, match=match):
        SpecEnv(E3(), np.zeros(2), **kwargs)


def test_bad_inputs() -> None:
    with pytest.raises(InvalidSpecificationError, match="reward"):
        SpecEnv(E3(), np.zeros(7))
    env = SpecEnv(E3(), np.zeros(2))
    env.reset(seed=0)
    with pytest.raises(InvalidPolicyError, match="action 5"):
        env.step(5)
    with pytest.raises(InvalidSpecificationError, match="proposition"):
        SpecEnv(FiniteMDP(np.ones((1, 1, 1)), [1.0]), "F goal")


# ---------------------------------------------------------------- reward machines


def _policy_value_on_table(table: ProductTable, pi: np.ndarray, gamma: float) -> float:
    """Exact discounted value of a policy on S (machine state ignored) on the product."""
    K, A = table.n_states, table.n_actions
    rows = np.repeat(np.arange(K * A), np.diff(table.pointer))
    k, a = rows // A, rows % A
    w = pi[table.env_state[k], a] * table.probability
    P = np.zeros((K, K))
    np.add.at(P, (k, table.target), w)
    r = np.bincount(k, weights=w * table.reward, minlength=K)
    V = np.linalg.solve(np.eye(K) - gamma * P, r)
    return float(V[table.initial_states] @ table.initial_weights)


@pytest.mark.parametrize("task", sorted(OFFICE_RM_TEXTS))
def test_check_env_office_reward_machines(task: str) -> None:
    rm = RewardMachine.from_text(OFFICE_RM_TEXTS[task], gamma=0.9)
    env = SpecEnv(office_world(), rm, max_episode_steps=100, render_mode="ansi")
    _check(env)
    _check(SpecEnv(office_world(), rm, max_episode_steps=100, flatten=True))


def test_reward_machine_returns_mean_the_spec_value() -> None:
    office = office_world(slip=0.1)
    rm = RewardMachine.from_text(OFFICE_RM_TEXTS["coffee"], gamma=0.95)
    env = SpecEnv(office, rm)
    pi = random_policies(office, 1, seed=0)[0]
    assert _policy_value_on_table(env.table, pi, env.gamma) == pytest.approx(
        rm.compile(office).value(pi), rel=1e-9, abs=1e-12
    )


def test_office_coffee_episode_ends_with_the_reward() -> None:
    rm = RewardMachine.from_text(OFFICE_RM_TEXTS["coffee"], gamma=0.9)
    env = SpecEnv(office_world(), rm)
    obs, _ = env.reset(seed=0)
    assert obs.tolist() == [office_world().state_names.index("(7,2)"), 0]
    # (x, y) = (2, 1) -> (1, 1) a -> up the door at x = 1 -> round the plant at (1, 4) ->
    # door at x = 1 to the top room -> (1, 7) b -> right through the door at y = 7 -> (3, 6) f
    up, right, down, left = range(4)
    for a in [left, up, up, right, up, up, left, up, up, right, right, down]:
        obs, r, done, _, _ = env.step(a)
        assert r == 0.0 and not done
    assert obs.tolist()[1] != 0  # the machine has seen the coffee
    # then (4, 6), down the door at x = 4 to the office (4, 4)
    rewards, seen = [], []
    for a in [right, down, down]:
        obs, r, done, _, info = env.step(a)
        rewards.append(r)
        seen.append(info["labels"])
    assert rewards == [0.0, 0.0, 1.0] and done
    assert seen == [[], [], ["g"]]  # transition labels: the cell entered


def test_touching_a_decoration_ends_the_office_task_with_nothing() -> None:
    rm = RewardMachine.from_text(OFFICE_RM_TEXTS["mail"], gamma=0.9)
    env = SpecEnv(office_world(), rm)
    env.reset(seed=0)
    _, r, done, _, _ = env.step(1)  # right, (3, 1)
    assert not done
    _, r, done, _, _ = env.step(1)  # right, (4, 1): a plant
    assert r == 0.0 and done


def test_user_reward_machine_without_sink_never_terminates() -> None:
    grid = gridworld("Sab")
    rm = RewardMachine([(0, 1, "a", 1.0), (1, 0, "b", 0.5)], 0, 0.8)
    env = SpecEnv(grid, rm, max_episode_steps=10)
    _check(env)
    env.reset(seed=0)
    ends = [env.step(int(a))[2] for a in np.random.default_rng(0).integers(4, size=10)]
    assert not any(ends)


def test_ltl_spec_object_and_formula_give_the_same_product() -> None:
    grid = gridworld(GRID, slip=0.2, absorbing="x")
    a = SpecEnv(grid, LinearTemporalLogic("F (a & F b)")).table
    b = SpecEnv(grid, "F (a & F b)").table
    assert a.n_states == b.n_states and np.array_equal(a.terminal, b.terminal)


def test_exporting_a_spec_env_names_what_to_pass() -> None:
    from objspec.environments.formats import to_drn, to_prism
    from objspec.errors import InvalidModelError

    grid = gridworld("Sa.b", absorbing="b")
    env = SpecEnv(grid, "F (a & F b)")
    for export in (to_prism, to_drn):
        with pytest.raises(InvalidModelError, match=r"not a SpecEnv.*env\.mdp"):
            export(env)  # type: ignore[arg-type]
    assert to_prism(env.mdp) == to_prism(grid)
