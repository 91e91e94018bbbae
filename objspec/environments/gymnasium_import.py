"""Import gymnasium's toy-text environments (FrozenLake, CliffWalking, Taxi) as FiniteMDPs.

A toy-text environment carries its model in ``env.unwrapped.P``: ``P[s][a]`` is a list of
``(probability, next_state, reward, terminated)``. objspec reads that table.

**Terminal transitions.** A :class:`FiniteMDP` has no episodes, so a transition flagged
``terminated`` must lead somewhere well defined. It leads to an *absorbing* state that pays
0 forever, which leaves every discounted value unchanged (after termination gymnasium's own
value iteration adds nothing either):

* if every transition into the target state ``t`` is terminated and the episode cannot
  start in ``t`` (FrozenLake's holes and goal, CliffWalking's goal), ``t`` itself is made
  absorbing: its outgoing transitions could never be used;
* otherwise (Taxi's drop-off states, which other, unreachable states enter without
  terminating) an absorbing copy ``"<name>/terminal"`` of ``t`` is added after the
  original states and terminated transitions go there.

Every absorbing state made this way carries the proposition ``"terminal"``. Rewards are
returned separately (:func:`gymnasium_reward`) as an ``[S, A, S]`` array holding
``E[reward | s, a, s']``; where the table lists the same ``(s, a, s')`` twice with different
rewards (slippery CliffWalking) that conditional mean keeps every expected return exact.

Labels:

* FrozenLake: ``start``, ``hole``, ``goal`` (from the map ``desc``);
* CliffWalking: ``start``, ``cliff``, ``goal``;
* Taxi: ``in_taxi`` (the passenger rides), ``delivered`` (after a successful drop-off);
* all: ``terminal``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from objspec.errors import InvalidModelError
from objspec.mdp.model import FiniteMDP

__all__ = ["GymnasiumImport", "import_gymnasium", "from_gymnasium", "gymnasium_reward"]


@dataclass(frozen=True)
class GymnasiumImport:
    """A toy-text environment read into objspec.

    Attributes
    ----------
    mdp : FiniteMDP
        The environment; states ``0 .. n-1`` are gymnasium's observations, followed by the
        absorbing copies of terminal targets, if any.
    reward : numpy.ndarray
        ``[S, A, S]``: the expected gymnasium reward of each transition (0 out of absorbing
        states).
    terminal : tuple of int
        The absorbing states that terminated transitions lead to.
    n_observations : int
        gymnasium's number of observations (the original states).
    """

    mdp: FiniteMDP
    reward: np.ndarray
    terminal: tuple[int, ...]
    n_observations: int


def _discrete_size(space: Any, what: str) -> int:
    n = getattr(space, "n", None)
    if n is None or getattr(space, "start", 0) != 0:
        raise InvalidModelError(
            f"the environment's {what} must be a gymnasium Discrete space starting at 0; got "
            f"{space!r}"
        )
    return int(n)


def _labels_for(env: Any, n_obs: int) -> tuple[list[set[str]], list[str]]:
    labels: list[set[str]] = [set() for _ in range(n_obs)]
    names = [f"s{i}" for i in range(n_obs)]
    kind = type(env).__name__
    if kind == "FrozenLakeEnv":
        desc = np.asarray(env.desc)
        ncol = desc.shape[1]
        tag = {b"S": "start", b"H": "hole", b"G": "goal"}
        for s in range(n_obs):
            r, c = divmod(s, ncol)
            names[s] = f"({r},{c})"
            if desc[r, c] in tag:
                labels[s].add(tag[desc[r, c]])
    elif kind == "CliffWalkingEnv":
        rows, cols = env.shape
        cliff = np.asarray(env._cliff)
        for s in range(n_obs):
            r, c = divmod(s, cols)
            names[s] = f"({r},{c})"
            if cliff[r, c]:
                labels[s].add("cliff")
        labels[int(env.start_state_index)].add("start")
        labels[rows * cols - 1].add("goal")
    elif kind == "TaxiEnv":
        for s in range(n_obs):
            row, col, passenger, destination = env.decode(s)
            names[s] = f"taxi({row},{col}) passenger {passenger} destination {destination}"
            if passenger == 4:
                labels[s].add("in_taxi")
    return labels, names


def import_gymnasium(env: Any) -> GymnasiumImport:
    """Read a toy-text gymnasium environment's transition table (see the module docstring).

    Parameters
    ----------
    env : gymnasium.Env
        An environment whose ``unwrapped`` has a table ``P`` and an
        ``initial_state_distrib`` (FrozenLake, CliffWalking, Taxi); wrappers are looked
        through.

    Raises
    ------
    InvalidModelError
        If there is no ``P`` table, the spaces are not Discrete, or an entry of ``P`` is
        malformed (naming the state and action).

    Examples
    --------
    >>> import gymnasium as gym
    >>> model = import_gymnasium(gym.make("FrozenLake-v1"))
    >>> model.mdp.n_states, model.mdp.n_actions, model.terminal
    (16, 4, (5, 7, 11, 12, 15))
    >>> sorted(model.mdp.propositions)
    ['goal', 'hole', 'start', 'terminal']
    """
    base = getattr(env, "unwrapped", env)
    table = getattr(base, "P", None)
    if table is None:
        raise InvalidModelError(
            f"{type(base).__name__} has no transition table P; only toy-text environments "
            "(FrozenLake, CliffWalking, Taxi) can be imported"
        )
    n_obs = _discrete_size(base.observation_space, "observation space")
    n_act = _discrete_size(base.action_space, "action space")
    initial_obs = np.asarray(
        getattr(base, "initial_state_distrib", np.full(n_obs, 1.0 / n_obs)), dtype=float
    )
    if initial_obs.shape != (n_obs,):
        raise InvalidModelError(
            f"initial_state_distrib has shape {initial_obs.shape}; expected ({n_obs},)"
        )

    entries: list[tuple[int, int, float, int, float, bool]] = []
    for s in range(n_obs):
        for a in range(n_act):
            try:
                outcomes = table[s][a]
            except (KeyError, IndexError, TypeError):
                raise InvalidModelError(f"P[{s}][{a}] is missing") from None
            for k, item in enumerate(outcomes):
                try:
                    p, t, r, term = item
                    p, t, r, term = float(p), int(t), float(r), bool(term)
                except (TypeError, ValueError):
                    raise InvalidModelError(
                        f"P[{s}][{a}][{k}] = {item!r} is not (probability, next_state, reward, "
                        "terminated)"
                    ) from None
                if not 0 <= t < n_obs:
                    raise InvalidModelError(f"P[{s}][{a}][{k}] leads to state {t}, outside "
                                            f"0..{n_obs - 1}")
                if not (np.isfinite(p) and np.isfinite(r)):
                    raise InvalidModelError(f"P[{s}][{a}][{k}] = {item!r} is not finite")
                entries.append((s, a, p, t, r, term))

    targets = {t for (_, _, p, t, _, term) in entries if term and p > 0}
    entered_freely = {t for (_, _, p, t, _, term) in entries if not term and p > 0}
    in_place = sorted(t for t in targets if t not in entered_freely and initial_obs[t] == 0)
    copies = sorted(targets - set(in_place))
    copy_index = {t: n_obs + i for i, t in enumerate(copies)}
    n = n_obs + len(copies)

    P = np.zeros((n, n_act, n))
    weighted = np.zeros((n, n_act, n))
    in_place_set = set(in_place)
    for s, a, p, t, r, term in entries:
        if s in in_place_set:
            continue
        target = (t if t in in_place_set else copy_index[t]) if term else t
        P[s, a, target] += p
        weighted[s, a, target] += p * r
    for t in in_place:
        P[t, :, t] = 1.0
    for idx in copy_index.values():
        P[idx, :, idx] = 1.0
    reward = np.divide(weighted, P, out=np.zeros_like(weighted), where=P > 0)

    labels, names = _labels_for(base, n_obs)
    for t in in_place:
        labels[t].add("terminal")
    for t in copies:
        labels.append(set(labels[t]) | {"terminal"})
        names.append(f"{names[t]}/terminal")
    if type(base).__name__ == "TaxiEnv":
        for t in targets:
            labels[copy_index.get(t, t)].add("delivered")
    initial = np.concatenate([initial_obs, np.zeros(len(copies))])
    mdp = FiniteMDP(
        P,
        initial,
        labels={s: sorted(ls) for s, ls in enumerate(labels) if ls},
        state_names=names,
        action_names=_action_names(base, n_act),
    )
    reward.flags.writeable = False
    terminal = tuple(sorted(in_place + list(copy_index.values())))
    return GymnasiumImport(mdp=mdp, reward=reward, terminal=terminal, n_observations=n_obs)


def _action_names(env: Any, n_act: int) -> list[str]:
    kind = type(env).__name__
    if kind == "FrozenLakeEnv" and n_act == 4:
        return ["left", "down", "right", "up"]
    if kind == "CliffWalkingEnv" and n_act == 4:
        return ["up", "right", "down", "left"]
    if kind == "TaxiEnv" and n_act == 6:
        return ["south", "north", "east", "west", "pickup", "dropoff"]
    return [f"a{i}" for i in range(n_act)]


def from_gymnasium(env: Any) -> FiniteMDP:
    """A toy-text gymnasium environment (with a ``P`` table) as a :class:`FiniteMDP`.

    Terminated transitions lead to absorbing states labelled ``"terminal"`` (module
    docstring); use :func:`gymnasium_reward` for the matching reward array.

    Examples
    --------
    >>> import gymnasium as gym
    >>> env = from_gymnasium(gym.make("CliffWalking-v1"))
    >>> env.n_states, env.action_names
    (48, ('up', 'right', 'down', 'left'))
    """
    return import_gymnasium(env).mdp


def gymnasium_reward(env: Any) -> np.ndarray:
    """The ``[S, A, S]`` reward of :func:`from_gymnasium`'s MDP: ``E[r | s, a, s']``.

    Examples
    --------
    >>> import gymnasium as gym
    >>> float(gymnasium_reward(gym.make("FrozenLake-v1", is_slippery=False))[14, 2, 15])
    1.0
    """
    return import_gymnasium(env).reward
