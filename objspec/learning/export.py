"""Using a fitted specification to train agents: a gymnasium reward wrapper.

A fitted Markov reward (or reward machine) is a reward signal any RL agent can optimise.
:func:`reward_wrapper` pays it step by step:

* given an objspec :class:`~objspec.FiniteMDP`, it returns the
  :class:`~objspec.environments.gym_adapter.SpecEnv` simulating that environment with the
  fitted reward (observations are states, or ``(state, machine state)`` for RM);
* given a gymnasium environment whose observations are the MDP's states (the toy-text
  environments that :func:`objspec.environments.from_gymnasium` imports: FrozenLake,
  CliffWalking, Taxi), it wraps it: the environment moves as it always does, and the
  reward it pays is replaced by the fitted one, ``r(s_t, a_t, s_{t+1})``. For a reward
  machine the wrapper also tracks the machine state (through the MDP's labels) and
  observes ``(state, machine state)``; the episode also ends when the machine enters a
  sink (as in ``SpecEnv``).

Discounted returns of the wrapped environment are the fitted specification's value, the
discount being ``wrapper.gamma`` (the fitted one). An episode of a gymnasium environment
ends at its terminal states; the MDP imported from it stays there forever, so the two
agree when the fitted reward pays nothing once a terminal state is reached (fit with
comparisons that do not depend on it, or set those entries of
:meth:`~objspec.learning.Fit.reward_array` to 0 and wrap the array).

Examples
--------
>>> import numpy as np
>>> from objspec import FiniteMDP
>>> from objspec.learning import Comparisons, fit, reward_wrapper
>>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
>>> env = FiniteMDP(P, [1.0, 0.0])
>>> data = Comparisons(policies=[[[0, 1], [0, 1]], [[1, 0], [1, 0]]], pairs=[(0, 1, ">")])
>>> wrapped = reward_wrapper(fit("MR", env, data, gamma=0.5), env)
>>> _ = wrapped.reset(seed=0)
>>> obs, reward, *_ = wrapped.step(1)
>>> obs, reward > 0
(1, True)
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from objspec.environments.gym_adapter import SpecEnv
from objspec.errors import InvalidModelError, InvalidSpecificationError
from objspec.formalisms.fitting import Fit
from objspec.mdp.model import FiniteMDP

__all__ = ["FittedRewardWrapper", "reward_wrapper"]


def _spec_of(fit: Any) -> Any:
    spec = fit.spec if isinstance(fit, Fit) else fit
    if getattr(spec, "acronym", None) is None and not isinstance(spec, np.ndarray):
        raise InvalidSpecificationError(
            f"reward_wrapper: expected a Fit, a specification or a reward array, got "
            f"{type(fit).__name__}")
    return spec


def reward_wrapper(fit: Any, env: Any, *, mdp: FiniteMDP | None = None,
                   max_episode_steps: int | None = None, flatten: bool = False) -> gym.Env:
    """A gymnasium environment paying the fitted reward (module docstring).

    Parameters
    ----------
    fit : Fit, specification or array_like
        A fit of MR, LAR or RM (or such a specification, or a reward array).
    env : FiniteMDP or gymnasium.Env
        The objspec environment to simulate, or a gymnasium environment to wrap (its
        observations must be the integer states of ``mdp``).
    mdp : FiniteMDP, optional
        With a gymnasium ``env``: the MDP the fit was made on (default: imported from
        ``env`` by :func:`objspec.environments.from_gymnasium`); its labels drive a reward
        machine.
    max_episode_steps : int, optional
        Truncate episodes (simulated environments only; wrap a gymnasium environment in
        ``gymnasium.wrappers.TimeLimit`` for that).
    flatten : bool
        For reward machines, observe ``s * Q + q`` instead of the pair ``[s, q]``.

    Returns
    -------
    gymnasium.Env
        :class:`~objspec.environments.gym_adapter.SpecEnv` or :class:`FittedRewardWrapper`.

    Raises
    ------
    InvalidSpecificationError
        For a specification with no per-step reward (use MR, LAR or RM fits), or one that
        does not fit the environment.
    InvalidModelError
        If a gymnasium environment cannot be imported and no ``mdp`` is given, or its spaces
        do not match ``mdp``.
    """
    spec = _spec_of(fit)
    if isinstance(env, FiniteMDP):
        return SpecEnv(env, spec, max_episode_steps=max_episode_steps, flatten=flatten)
    if not isinstance(env, gym.Env):
        raise InvalidSpecificationError(
            f"reward_wrapper: env must be a FiniteMDP or a gymnasium.Env, got "
            f"{type(env).__name__}")
    if mdp is None:
        from objspec.environments.gymnasium_import import from_gymnasium

        try:
            mdp = from_gymnasium(env)
        except InvalidModelError as exc:
            raise InvalidModelError(
                f"reward_wrapper: cannot read the environment's model ({exc}); pass mdp=, "
                "the FiniteMDP whose states are its observations") from None
    return FittedRewardWrapper(env, spec, mdp, flatten=flatten)


class FittedRewardWrapper(gym.Wrapper):
    """A gymnasium environment whose reward is replaced by a fitted specification's.

    The wrapped environment's observations must be states of ``mdp``; each step looks the
    transition ``(s, a, s')`` up in the simulation table of
    :class:`~objspec.environments.gym_adapter.SpecEnv` (built once) and pays its reward.
    ``info["original_reward"]`` keeps the environment's own reward. Attributes ``gamma``
    (the fitted discount), ``kind`` and ``mechanism`` are those of ``SpecEnv``.

    Raises
    ------
    InvalidModelError
        On construction when the action space differs from ``mdp``'s; on a step, when the
        environment observes something that is not a state of ``mdp`` or makes a transition
        that ``mdp`` cannot make.

    Examples
    --------
    >>> import gymnasium as gym
    >>> import numpy as np
    >>> from objspec.environments import from_gymnasium
    >>> lake = gym.make("FrozenLake-v1", is_slippery=False)
    >>> mdp = from_gymnasium(lake)
    >>> reward = np.zeros((mdp.n_states, mdp.n_actions)); reward[14, 2] = 1.0
    >>> wrapped = FittedRewardWrapper(lake, reward, mdp)
    >>> _ = wrapped.reset(seed=0)
    >>> [wrapped.step(a)[1] for a in (1, 1, 2, 2, 1, 2)]
    [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    """

    def __init__(self, env: gym.Env, spec: Any, mdp: FiniteMDP, *,
                 flatten: bool = False) -> None:
        super().__init__(env)
        sim = SpecEnv(mdp, spec, flatten=flatten)
        self.mdp, self.objective = sim.mdp, spec
        self.kind, self.mechanism, self.gamma = sim.kind, sim.mechanism, sim.gamma
        self.table = sim.table
        self.flatten = bool(flatten)
        n_act = getattr(env.action_space, "n", None)
        if n_act is None or int(n_act) != mdp.n_actions:
            raise InvalidModelError(
                f"reward_wrapper: the environment's action space {env.action_space} does not "
                f"match the MDP's {mdp.n_actions} actions")
        self.observation_space = sim.observation_space
        self._product = 0
        names = list(mdp.state_names)
        self._copy_of = {names.index(n[: -len("/terminal")]): k for k, n in enumerate(names)
                         if n.endswith("/terminal") and n[: -len("/terminal")] in names}

    def _state(self, obs: Any) -> int:
        try:
            s = int(obs)
        except (TypeError, ValueError):
            raise InvalidModelError(
                f"reward_wrapper: the observation {obs!r} is not a state index") from None
        if not 0 <= s < self.mdp.n_states:
            raise InvalidModelError(
                f"reward_wrapper: the observation {s} is not a state of the MDP (it has "
                f"{self.mdp.n_states})")
        return s

    def _observe(self) -> Any:
        t = self.table
        s = int(t.env_state[self._product])
        if self.mechanism == "reward":
            return s
        q = int(t.machine_state[self._product])
        if self.flatten:
            return s * t.n_machine_states + q
        return np.array([s, q], dtype=np.int64)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[Any, dict[str, Any]]:
        """Reset the environment; the machine (if any) starts in its initial state."""
        obs, info = self.env.reset(seed=seed, options=options)
        s = self._state(obs)
        t = self.table
        start = [int(k) for k in t.initial_states if int(t.env_state[k]) == s]
        if not start:
            start = [int(k) for k in np.flatnonzero(t.env_state == s)
                     if int(t.machine_state[k]) == 0]
        if not start:
            raise InvalidModelError(f"reward_wrapper: the episode starts in state {s}, which "
                                    "the MDP does not start in")
        self._product = start[0]
        return self._observe(), info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Step the environment and pay the fitted reward of the transition it made."""
        obs, original, terminated, truncated, info = self.env.step(action)
        s_next = self._state(obs)
        t = self.table
        row = self._product * t.n_actions + int(action)
        lo, hi = int(t.pointer[row]), int(t.pointer[row + 1])
        entries = [e for e in range(lo, hi) if int(t.env_state[t.target[e]]) == s_next]
        if not entries and terminated and s_next in self._copy_of:
            copy = self._copy_of[s_next]
            entries = [e for e in range(lo, hi) if int(t.env_state[t.target[e]]) == copy]
        if not entries:
            s_now = int(t.env_state[self._product])
            raise InvalidModelError(
                f"reward_wrapper: the environment went {s_now} -({int(action)})-> {s_next}, "
                "which the MDP cannot do (is mdp= the model of this environment?)")
        e = entries[0]
        self._product = int(t.target[e])
        info = dict(info)
        info["original_reward"] = original
        terminated = bool(terminated) or bool(t.terminal[self._product])
        return self._observe(), float(t.reward[e]), terminated, bool(truncated), info

