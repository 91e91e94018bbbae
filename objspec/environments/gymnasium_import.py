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
returned separately: ``E[reward | s, a, s']`` on the non-zero transitions, as a sparse
``(S*A, S)`` matrix in the layout of :attr:`FiniteMDP.transition_matrix`
(:attr:`GymnasiumImport.transition_reward`), its expectation ``[S, A]``
(:attr:`GymnasiumImport.expected_reward`, enough for every expected return and long-run
average) and, built on demand, the dense ``[S, A, S]`` array (:attr:`GymnasiumImport.reward`,
:func:`gymnasium_reward`). Where the table lists the same ``(s, a, s')`` twice with
different rewards (slippery CliffWalking), that conditional mean keeps every expected
return exact.

The import reads the table once into flat arrays and builds the sparse transition matrix
directly: time and memory are ``O(entries of P)``, so a 100x100 FrozenLake (10,000 states)
imports in about a second; only :attr:`GymnasiumImport.reward` is ``O(S * A * S)``.

Labels:

* FrozenLake: ``start``, ``hole``, ``goal`` (from the map ``desc``);
* CliffWalking: ``start``, ``cliff``, ``goal``;
* Taxi: ``in_taxi`` (the passenger rides), ``delivered`` (after a successful drop-off);
* all: ``terminal``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from objspec.errors import InvalidModelError
from objspec.mdp.model import FiniteMDP

__all__ = ["GymnasiumImport", "import_gymnasium", "from_gymnasium", "gymnasium_reward"]


@dataclass(frozen=True)
class GymnasiumImport:
    """A toy-text environment read into objspec.

    Attributes
    ----------
    mdp : FiniteMDP
        The environment (sparse); states ``0 .. n-1`` are gymnasium's observations, followed
        by the absorbing copies of terminal targets, if any.
    transition_reward : scipy.sparse.csr_matrix
        ``(S*A, S)``: ``E[reward | s, a, s']`` at row ``s*A + a``, column ``s'``, stored
        exactly where ``mdp.transition_matrix`` has a non-zero (0 out of absorbing states).
    terminal : tuple of int
        The absorbing states that terminated transitions lead to.
    n_observations : int
        gymnasium's number of observations (the original states).

    Examples
    --------
    >>> import gymnasium as gym
    >>> model = import_gymnasium(gym.make("FrozenLake-v1", is_slippery=False))
    >>> model.expected_reward.shape, float(model.expected_reward[14, 2])
    ((16, 4), 1.0)
    """

    mdp: FiniteMDP
    transition_reward: sp.csr_matrix
    terminal: tuple[int, ...]
    n_observations: int
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def expected_reward(self) -> np.ndarray:
        """``[S, A]``: ``r(s, a) = sum_s' tau(s'|s, a) E[reward | s, a, s']`` (read-only).

        Every expected discounted return and long-run average depends on the reward only
        through ``r``; pass it to MR, LAR, ONMR, RRL, OMORL or GOMORL on large models.
        """
        if "expected" not in self._cache:
            P = self.mdp.transition_matrix
            flat = np.asarray(P.multiply(self.transition_reward).sum(axis=1)).ravel()
            r = flat.reshape(self.mdp.n_states, self.mdp.n_actions)
            r.flags.writeable = False
            self._cache["expected"] = r
        return self._cache["expected"]

    @property
    def reward(self) -> np.ndarray:
        """``[S, A, S]``: the expected gymnasium reward of each transition (read-only).

        Dense, built on first use (``8 * S * A * S`` bytes); on large models use
        :attr:`expected_reward` or :attr:`transition_reward`.
        """
        if "dense" not in self._cache:
            S, A = self.mdp.n_states, self.mdp.n_actions
            dense = self.transition_reward.toarray().reshape(S, A, S)
            dense.flags.writeable = False
            self._cache["dense"] = dense
        return self._cache["dense"]


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

    s_of, a_of, prob, nxt, rew, term = _read_table(table, n_obs, n_act)
    live = prob > 0
    targets = np.unique(nxt[term & live])
    entered_freely = np.zeros(n_obs, dtype=bool)
    entered_freely[nxt[~term & live]] = True
    in_place_mask = ~entered_freely[targets] & (initial_obs[targets] == 0)
    in_place = targets[in_place_mask].tolist()
    copies = targets[~in_place_mask].tolist()
    n = n_obs + len(copies)
    redirect = np.arange(n_obs)
    redirect[copies] = n_obs + np.arange(len(copies))
    keep = ~np.isin(s_of, in_place)
    target = np.where(term, redirect[nxt], nxt)[keep]
    rows = (s_of * n_act + a_of)[keep]
    prob, rew = prob[keep], rew[keep]
    absorbing = np.array(in_place + list(range(n_obs, n)), dtype=np.int64)
    loop_rows = (absorbing[:, None] * n_act + np.arange(n_act)).ravel()
    rows = np.concatenate([rows, loop_rows])
    cols = np.concatenate([target, np.repeat(absorbing, n_act)])
    prob = np.concatenate([prob, np.ones(loop_rows.size)])
    rew = np.concatenate([rew, np.zeros(loop_rows.size)])
    keys, inverse = np.unique(rows * n + cols, return_inverse=True)
    p_sum = np.bincount(inverse, weights=prob)
    w_sum = np.bincount(inverse, weights=prob * rew)
    nonzero = p_sum > 0
    keys, p_sum, w_sum = keys[nonzero], p_sum[nonzero], w_sum[nonzero]
    shape = (n * n_act, n)
    P = sp.csr_matrix((p_sum, (keys // n, keys % n)), shape=shape)
    reward = sp.csr_matrix((w_sum / p_sum, (keys // n, keys % n)), shape=shape)

    labels, names = _labels_for(base, n_obs)
    for t in in_place:
        labels[t].add("terminal")
    for t in copies:
        labels.append(set(labels[t]) | {"terminal"})
        names.append(f"{names[t]}/terminal")
    if type(base).__name__ == "TaxiEnv":
        for t in targets.tolist():
            labels[int(redirect[t])].add("delivered")
    initial = np.concatenate([initial_obs, np.zeros(len(copies))])
    mdp = FiniteMDP(
        P,
        initial,
        labels={s: sorted(ls) for s, ls in enumerate(labels) if ls},
        state_names=names,
        action_names=_action_names(base, n_act),
    )
    terminal = tuple(int(t) for t in sorted(absorbing.tolist()))
    return GymnasiumImport(mdp=mdp, transition_reward=reward, terminal=terminal,
                           n_observations=n_obs)


def _read_table(table: Any, n_obs: int, n_act: int) -> tuple[np.ndarray, ...]:
    """The entries of ``P`` as flat arrays: state, action, probability, next state,
    reward, terminated (validated, the offending entry named).

    The entries are converted in one numpy call; only when that fails are they read one
    by one, to name the malformed entry.
    """
    items: list[Any] = []
    counts: list[int] = []
    for s in range(n_obs):
        for a in range(n_act):
            try:
                outcomes = table[s][a]
                items.extend(outcomes)
                counts.append(len(outcomes))
            except (KeyError, IndexError, TypeError):
                raise InvalidModelError(f"P[{s}][{a}] is missing") from None
    try:
        cols = np.array(items, dtype=np.float64).reshape(len(items), 4)
    except (TypeError, ValueError):
        _raise_malformed(table, n_obs, n_act)
        raise  # pragma: no cover - _raise_malformed raises
    pair = np.repeat(np.arange(n_obs * n_act), counts)
    prob, rew = cols[:, 0], cols[:, 2]
    nxt = cols[:, 1].astype(np.int64)
    bad = ~np.isfinite(cols).all(axis=1) | (cols[:, 1] != nxt) | (nxt < 0) | (nxt >= n_obs)
    if bad.any():
        i = int(np.argmax(bad))
        r = int(pair[i])
        k = i - int(np.searchsorted(pair, r))
        where = f"P[{r // n_act}][{r % n_act}][{k}]"
        if not np.isfinite(cols[i]).all():
            raise InvalidModelError(f"{where} = {items[i]!r} is not finite")
        raise InvalidModelError(f"{where} leads to state {items[i][1]!r}, outside 0..{n_obs - 1}")
    return pair // n_act, pair % n_act, prob, nxt, rew, cols[:, 3] != 0


def _raise_malformed(table: Any, n_obs: int, n_act: int) -> None:
    for s in range(n_obs):
        for a in range(n_act):
            for k, item in enumerate(table[s][a]):
                try:
                    p, t, r, done = item
                    float(p), int(t), float(r), float(done)
                except (TypeError, ValueError):
                    raise InvalidModelError(
                        f"P[{s}][{a}][{k}] = {item!r} is not (probability, next_state, reward, "
                        "terminated)"
                    ) from None
    raise InvalidModelError("the table P has entries that are not numeric 4-tuples")


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
