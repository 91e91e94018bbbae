"""A gymnasium environment that simulates a :class:`FiniteMDP` under an objective specification.

:class:`SpecEnv` turns an objspec environment and a specification with a per-step reward
into a ``gymnasium.Env``:

* **Markov rewards** (MR, and a plain reward array): the reward of the transition taken,
  ``R(s_t, a_t, s_{t+1})``. The observation is the state. Returns discounted by
  ``env.unwrapped.gamma`` (the spec's ``gamma``) have expectation ``J_MR``.
* **Limit-average rewards** (LAR): the same per-step reward, undiscounted
  (``gamma = 1.0``); the long-run average of the rewards is ``J_LAR`` almost surely.
* **Reward machines** (RM): simulated through the product ``S x U``. The observation is the
  pair ``(s, u)`` (environment state, machine state index; machine state 0 is the initial
  one) and the reward is that of the machine edge taken, ``r_t = delta_R(u_t, L(x_t))(x_t)``,
  so discounted returns have expectation ``J_RM``. The episode terminates when the machine
  enters a *sink*: a state that stays put and pays 0 on every label, after which nothing
  more can be earned (``RewardMachine.from_text`` sends the project's terminal states and
  unmatched labels to such a state, so episodes end as in the reward_machines project).
* **LTL** (a :class:`~objspec.formalisms.LinearTemporalLogic` spec, a formula string or a
  deterministic automaton): simulated through the product ``S x Q`` with the deterministic
  automaton of the formula; the observation is ``(s, q)`` (``q = Q`` once the run has died).
  The reward scheme is the classical reduction of LTL to reachability (Baier & Katoen 2008,
  section 10.6.4): the product's *accepting maximal end components* are computed once, and
  the episode **terminates with reward 1** when it enters one (from there a policy can make
  the word satisfy the formula with probability 1) and **terminates with reward 0** when it
  enters a product state from which no accepting end component can be reached (no policy can
  satisfy the formula any more). All other steps pay 0. Hence the largest expected
  undiscounted return over (product-state-based) policies equals ``Pmax(phi)``, the largest
  satisfaction probability, and an optimal policy for the return, completed inside the end
  component, is optimal for the formula. The return of a *fixed* policy is the probability
  that it reaches an accepting end component, an upper bound of its satisfaction
  probability; it does not rank all policies like the LTL specification does (the paper's
  orderings are over stationary policies on ``S``), which no per-step reward can do in
  general.

**Per-state action sets.** When the MDP has disabled actions (:attr:`FiniteMDP.enabled`),
the action space is still ``Discrete(n_actions)``, ``info["action_mask"]`` (int8 ``[A]``,
gymnasium's convention) and :meth:`SpecEnv.action_masks` give the enabled actions of the
current state, and stepping with a disabled action raises
:class:`~objspec.errors.InvalidPolicyError`.

Episodes are truncated after ``max_episode_steps`` steps when it is given. Seeding follows
gymnasium: ``reset(seed=...)`` reseeds ``self.np_random``, which draws the initial state and
every transition; the same seed gives the same episode for the same actions.

Examples
--------
>>> import numpy as np
>>> from objspec.environments import E3
>>> from objspec.formalisms import MarkovReward
>>> env = SpecEnv(E3(), MarkovReward([[1.0, 0.0], [0.0, 0.0]], 0.9), max_episode_steps=5)
>>> obs, info = env.reset(seed=0)
>>> obs, env.step(0)[:4]
(0, (1, 1.0, False, False))
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from objspec.errors import InvalidPolicyError, InvalidSpecificationError, ResetNeededError
from objspec.mdp.model import FiniteMDP
from objspec.mdp.rewards import normalize_rewards

__all__ = ["SpecEnv", "ProductTable", "ENV_ID"]

#: The gymnasium id under which :class:`SpecEnv` is registered:
#: ``gymnasium.make(ENV_ID, mdp=..., spec=..., max_episode_steps=...)``.
ENV_ID = "objspec/SpecEnv-v0"


class ProductTable:
    """A finite product MDP with per-transition rewards, as :class:`SpecEnv` simulates it.

    Attributes
    ----------
    n_states : int
        Product states ``k``.
    env_state, machine_state : ndarray ``[K]``
        The pair ``(s, q)`` of each product state (``q = 0`` without a machine).
    n_machine_states : int
        Number of machine states (observation range of ``q``).
    pointer : ndarray ``[K * A + 1]``
        Entries of ``(k, a)`` are ``pointer[k*A + a] : pointer[k*A + a + 1]``.
    target, probability, reward : ndarray ``[E]``
        Successor product state, probability and reward of each entry.
    terminal : ndarray ``[K]`` of bool
        Entering these product states ends the episode (``terminated=True``).
    initial_states, initial_weights : ndarray
        The initial distribution over product states.
    """

    def __init__(
        self,
        n_actions: int,
        env_state: np.ndarray,
        machine_state: np.ndarray,
        n_machine_states: int,
        source: np.ndarray,
        action: np.ndarray,
        target: np.ndarray,
        probability: np.ndarray,
        reward: np.ndarray,
        terminal: np.ndarray,
        initial_states: np.ndarray,
        initial_weights: np.ndarray,
    ) -> None:
        self.n_actions = n_actions
        self.n_states = int(env_state.size)
        self.env_state = env_state
        self.machine_state = machine_state
        self.n_machine_states = n_machine_states
        rows = source * n_actions + action
        order = np.argsort(rows, kind="stable")
        rows = rows[order]
        self.target = target[order]
        self.probability = probability[order]
        self.reward = reward[order]
        self.pointer = np.searchsorted(rows, np.arange(self.n_states * n_actions + 1))
        self.terminal = terminal
        self.initial_states = initial_states
        self.initial_weights = initial_weights / initial_weights.sum()


def _full_reward(env: FiniteMDP, reward: Any, what: str) -> np.ndarray:
    arr, kind, _ = normalize_rewards(env, reward, batched=False, what=what)
    S, A = env.n_states, env.n_actions
    r = arr[0]
    if kind == 1:
        return np.broadcast_to(r[:, None, None], (S, A, S))
    if kind == 2:
        return np.broadcast_to(r[:, :, None], (S, A, S))
    return r


def _plain_table(env: FiniteMDP, reward: np.ndarray, terminal_states: set[int]) -> ProductTable:
    matrix = env.transition_matrix
    A = env.n_actions
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    s, a, t = rows // A, rows % A, matrix.indices
    terminal = np.zeros(env.n_states, dtype=bool)
    terminal[list(terminal_states)] = True
    support = np.flatnonzero(env.initial > 0)
    return ProductTable(
        A, np.arange(env.n_states), np.zeros(env.n_states, dtype=np.int64), 1, s, a, t,
        matrix.data.copy(), reward[s, a, t].astype(float), terminal, support,
        env.initial[support],
    )


def _machine_table(
    env: FiniteMDP, skeleton: Any, n_machine: int, entry_reward: np.ndarray,
    terminal: np.ndarray,
) -> ProductTable:
    return ProductTable(
        env.n_actions, skeleton.env_state, skeleton.machine_state, n_machine,
        skeleton.entry_source, skeleton.entry_action, skeleton.entry_target,
        skeleton.entry_probability, entry_reward, terminal,
        skeleton.initial_states, np.asarray(skeleton.initial_weights, dtype=float),
    )


def _can_reach(n: int, src: np.ndarray, dst: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """States with a path of positive-probability entries to a target state (a
    breadth-first search against the edges)."""
    from objspec.mdp.graph import adjacency, reachable

    return reachable(adjacency(n, src, dst), np.flatnonzero(targets), backward=True)


def _ltl_table(env: FiniteMDP, automaton: Any) -> ProductTable:
    from objspec.ltl.optimise import accepting_end_components
    from objspec.ltl.product import ProductSkeleton

    missing = sorted(set(automaton.propositions) - set(env.propositions))
    if missing:
        raise InvalidSpecificationError(
            f"the automaton reads the proposition(s) {', '.join(map(repr, missing))}, which "
            f"the environment does not have (its propositions: "
            f"{', '.join(map(repr, env.propositions)) or 'none'})"
        )
    skeleton = ProductSkeleton(env, automaton)
    K = skeleton.n_states
    target, _ = accepting_end_components(skeleton, automaton)
    can = _can_reach(K, skeleton.entry_source, skeleton.entry_target, target)
    reward = target[skeleton.entry_target].astype(float)
    terminal = target | ~can
    return _machine_table(env, skeleton, automaton.n_states + 1, reward, terminal)


def _sink_states(compiled: Any) -> list[int]:
    """Machine states that stay put and pay 0 on every label: nothing more can be earned.

    ``RewardMachine.from_text`` sends terminal states and unmatched labels to such a state,
    so episodes end there as in the reward_machines project.
    """
    sinks = []
    for u in range(len(compiled.states)):
        if not np.all(compiled.successors[u] == u):
            continue
        edges = {int(i) for i in compiled.edge_of[u] if i >= 0}
        if all(compiled.edges[i].reward_is_constant and float(compiled.edges[i].reward) == 0.0
               for i in edges):
            sinks.append(u)
    return sinks


def _rm_table(env: FiniteMDP, spec: Any, terminal_states: set[int]) -> tuple[ProductTable, float]:
    from objspec.ltl.reward_machines import CompiledRewardMachine

    compiled = CompiledRewardMachine(spec.edges, spec.initial, spec.gamma, env)
    sk = compiled.skeleton
    terminal = np.isin(sk.machine_state, _sink_states(compiled))
    terminal |= np.isin(sk.env_state, sorted(terminal_states))
    table = _machine_table(env, sk, len(compiled.states), compiled.entry_reward, terminal)
    return table, float(spec.gamma)


class SpecEnv(gym.Env):
    """A gymnasium environment simulating ``mdp`` with the rewards of ``spec`` (module docstring).

    Parameters
    ----------
    mdp : FiniteMDP
        The environment.
    spec : specification, str, automaton or array_like
        A ``MarkovReward``, ``LimitAverageReward``, ``RewardMachine`` or
        ``LinearTemporalLogic`` specification, an LTL formula string, a
        ``DeterministicAutomaton``, or a Markov reward array (undiscounted per-step reward).
    terminal_states : iterable of int
        Environment states whose entry ends the episode (e.g. the ``terminal`` states of
        :func:`objspec.environments.import_gymnasium`).
    max_episode_steps : int, optional
        Truncate episodes after this many steps.
    flatten : bool
        For products, observe one integer ``s * Q + q`` (``Discrete(S * Q)``) instead of
        the pair ``[s, q]`` (``MultiDiscrete([S, Q])``).
    render_mode : {None, "ansi"}
        ``"ansi"`` renders the current state (and machine state) as text.

    Attributes
    ----------
    mdp : FiniteMDP
        The simulated environment.
    objective : object
        The specification (gymnasium's own ``spec`` attribute is its registration record).
    kind : str
        The specification's acronym (``"MR"``, ``"LAR"``, ``"RM"``, ``"LTL"``, or any
        registered formalism with a gymnasium signal), ``"LTL"`` for a formula or
        automaton, or ``"reward"`` for a reward array.
    mechanism : str
        How the reward is paid, as the formalism registers it: ``"reward"`` (a Markov
        reward; observations are states), ``"automaton"`` or ``"machine"`` (observations
        are ``(state, memory)`` pairs).
    gamma : float
        The specification's discount (1.0 for LAR, LTL and plain rewards).
    table : ProductTable
        The simulated (product) MDP.

    Raises
    ------
    InvalidSpecificationError
        For a specification with no per-step reward (ONMR, RRL, orderings, ...), or one that
        does not fit ``mdp``.

    Examples
    --------
    >>> from objspec.environments import gridworld
    >>> grid = gridworld("Sa.b", absorbing="b")
    >>> env = SpecEnv(grid, "F (a & F b)", max_episode_steps=20)
    >>> obs, _ = env.reset(seed=1)
    >>> steps = [env.step(1) for _ in range(4)]   # right x 4
    >>> obs.tolist(), [r for _, r, *_ in steps], steps[-1][2]
    ([0, 0], [0.0, 0.0, 0.0, 1.0], True)

    With state labels the automaton reads ``L(s_t)`` on step ``t``, so it sees ``b`` on the
    step *after* the one that enters the ``b`` cell.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        mdp: FiniteMDP,
        spec: Any,
        *,
        terminal_states: Iterable[int] = (),
        max_episode_steps: int | None = None,
        flatten: bool = False,
        render_mode: str | None = None,
    ) -> None:
        if not isinstance(mdp, FiniteMDP):
            raise InvalidSpecificationError(f"SpecEnv simulates a FiniteMDP; got {type(mdp)}")
        if render_mode not in (None, "ansi"):
            raise InvalidSpecificationError(f"render_mode must be None or 'ansi'; got "
                                            f"{render_mode!r}")
        if max_episode_steps is not None and int(max_episode_steps) < 1:
            raise InvalidSpecificationError(
                f"max_episode_steps must be a positive integer; got {max_episode_steps!r}"
            )
        terminals = {int(s) for s in terminal_states}
        bad = [s for s in terminals if not 0 <= s < mdp.n_states]
        if bad:
            raise InvalidSpecificationError(f"terminal_states {bad} are not states of the MDP")
        if getattr(spec, "labelling", None) is not None:
            # an LTL or RM specification with its own labelling reads the MDP through it
            mdp = spec.environment_for(mdp)
        self.mdp = mdp
        self.objective = spec
        self.kind, self.table, self.gamma, self.mechanism = self._build(mdp, spec, terminals)
        self.max_episode_steps = None if max_episode_steps is None else int(max_episode_steps)
        self.flatten = bool(flatten)
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(mdp.n_actions)
        Q = self.table.n_machine_states
        if self.mechanism == "reward":
            self.observation_space: spaces.Space[Any] = spaces.Discrete(mdp.n_states)
        elif self.flatten:
            self.observation_space = spaces.Discrete(mdp.n_states * Q)
        else:
            self.observation_space = spaces.MultiDiscrete([mdp.n_states, Q])
        self._state = int(self.table.initial_states[0])
        self._needs_reset = True
        self._steps = 0
        self._last_labels: list[str] = []
        self._cumulative = self.table.initial_weights.cumsum()

    @staticmethod
    def _build(mdp: FiniteMDP, spec: Any, terminals: set[int]
               ) -> tuple[str, ProductTable, float, str]:
        from objspec.ltl.automaton import DeterministicAutomaton
        from objspec.ltl.syntax import Formula
        from objspec.ltl.translation import translate

        acronym = getattr(spec, "acronym", None)
        if acronym is not None:
            from objspec.formalisms.registry import formalism_info, registered_formalisms

            signal = formalism_info(spec).gymnasium
            if signal is None:
                takes = [i.acronym for i in registered_formalisms() if i.gymnasium]
                raise InvalidSpecificationError(
                    f"{type(spec).__name__} ({acronym}) has no per-step reward to simulate; "
                    f"SpecEnv takes {', '.join(takes)} specifications or a reward array"
                )
            mechanism, payload, gamma = signal(spec, mdp)
            if mechanism == "reward":
                reward = _full_reward(mdp, np.asarray(payload, dtype=float),
                                      f"the {acronym} reward")
                return acronym, _plain_table(mdp, reward, terminals), gamma, mechanism
            if mechanism == "machine":
                table, gamma = _rm_table(mdp, payload, terminals)
                return acronym, table, gamma, mechanism
            if mechanism == "automaton":
                table = _ltl_table(mdp, payload)
                if terminals:
                    table.terminal |= np.isin(table.env_state, sorted(terminals))
                return acronym, table, gamma, mechanism
            raise InvalidSpecificationError(
                f"{acronym} registers the gymnasium mechanism {mechanism!r}; SpecEnv knows "
                "'reward', 'automaton' and 'machine'")
        if isinstance(spec, str | Formula | DeterministicAutomaton):
            automaton = spec if isinstance(spec, DeterministicAutomaton) else translate(spec)
            table = _ltl_table(mdp, automaton)  # over its atoms; checked against the MDP
            if terminals:
                table.terminal |= np.isin(table.env_state, sorted(terminals))
            return "LTL", table, 1.0, "automaton"
        try:
            reward = _full_reward(mdp, spec, "the reward")
        except InvalidSpecificationError as exc:
            raise InvalidSpecificationError(
                f"SpecEnv takes a specification (MR, LAR, RM, LTL), an LTL formula, an "
                f"automaton or a reward array; {exc}"
            ) from None
        return "reward", _plain_table(mdp, reward, terminals), 1.0, "reward"

    # ------------------------------------------------------------------ gymnasium API
    def _observation(self) -> Any:
        table = self.table
        s = int(table.env_state[self._state])
        if self.mechanism == "reward":
            return s
        q = int(table.machine_state[self._state])
        if self.flatten:
            return s * table.n_machine_states + q
        return np.array([s, q], dtype=np.int64)

    def _info(self) -> dict[str, Any]:
        """``state``, ``machine_state``, ``labels``: the current state's labels (state
        labels) or those of the transition just taken (transition labels; none after reset),
        and ``action_mask``: int8 ``[A]``, 1 for the actions enabled in the current state."""
        table = self.table
        s = int(table.env_state[self._state])
        labels = self.mdp.state_labels
        return {
            "state": s,
            "machine_state": int(table.machine_state[self._state]),
            "labels": sorted(labels[s]) if labels is not None else list(self._last_labels),
            "action_mask": self.mdp.enabled[s].astype(np.int8),
        }

    def action_masks(self) -> np.ndarray:
        """Bool ``[A]``: the actions enabled in the current state (every action unless the
        MDP has an :attr:`~objspec.FiniteMDP.enabled` mask).

        Examples
        --------
        >>> import numpy as np
        >>> from objspec import FiniteMDP
        >>> P = np.zeros((2, 2, 2)); P[0, 0, 1] = P[0, 1, 0] = P[1, 0, 1] = 1.0
        >>> mdp = FiniteMDP(P, [0.0, 1.0], enabled=[[True, True], [True, False]])
        >>> env = SpecEnv(mdp, np.zeros(2))
        >>> _, info = env.reset(seed=0)
        >>> env.action_masks().tolist(), info["action_mask"].tolist()
        ([True, False], [1, 0])
        >>> env.step(1)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        objspec.errors.InvalidPolicyError: action 1 is disabled in state 1 (enabled actions ...
        """
        return self.mdp.enabled[int(self.table.env_state[self._state])].copy()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Start an episode: draw the initial (product) state from ``mu0`` with ``np_random``."""
        super().reset(seed=seed)
        u = self.np_random.random()
        k = int(np.searchsorted(self._cumulative, u, side="right"))
        self._state = int(self.table.initial_states[min(k, self.table.initial_states.size - 1)])
        self._needs_reset = False
        self._steps = 0
        self._last_labels = []
        return self._observation(), self._info()

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Take ``action``: sample the successor, pay the spec's reward, report the ends.

        Raises :class:`~objspec.errors.ResetNeededError` before the first :meth:`reset`.
        """
        if self._needs_reset:
            raise ResetNeededError("SpecEnv.step() called before reset(); call reset() first")
        if not self.action_space.contains(action):
            raise InvalidPolicyError(
                f"action {action!r} is not in the action space {self.action_space}"
            )
        table = self.table
        s_now = int(table.env_state[self._state])
        if not self.mdp.enabled[s_now, int(action)]:
            raise InvalidPolicyError(
                f"action {int(action)} is disabled in state {s_now} (enabled actions there: "
                f"{self.mdp.enabled_actions(s_now).tolist()})"
            )
        row = self._state * table.n_actions + int(action)
        lo, hi = int(table.pointer[row]), int(table.pointer[row + 1])
        probs = table.probability[lo:hi]
        u = self.np_random.random() * float(probs.sum())
        e = lo + min(int(np.searchsorted(probs.cumsum(), u, side="right")), hi - lo - 1)
        s = int(table.env_state[self._state])
        self._state = int(table.target[e])
        if self.mdp.state_labels is None:
            s_next = int(table.env_state[self._state])
            self._last_labels = sorted(self.mdp.label(s, int(action), s_next))
        self._steps += 1
        reward = float(table.reward[e])
        terminated = bool(table.terminal[self._state])
        truncated = (
            self.max_episode_steps is not None and self._steps >= self.max_episode_steps
            and not terminated
        )
        return self._observation(), reward, terminated, bool(truncated), self._info()

    def render(self) -> str | None:
        """With ``render_mode="ansi"``: the current state's name, labels and machine state."""
        if self.render_mode != "ansi":
            return None
        info = self._info()
        name = self.mdp.state_names[info["state"]]
        text = f"state {name} labels {{{', '.join(info['labels'])}}}"
        if self.mechanism != "reward":
            text += f" machine {info['machine_state']}"
        return text + f" step {self._steps}"


if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="objspec.environments.gym_adapter:SpecEnv")
