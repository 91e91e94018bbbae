"""MO-Gymnasium's tabular environments as a :class:`~objspec.mdp.model.FiniteMDP` and a
``[k, S, A, S]`` reward array (the ``mo`` extra: ``pip install objspec[mo]``).

The transitions are read from the environment's own ``step`` (nothing is re-implemented):
starting from ``reset(seed=0)``, every reachable state is visited breadth first, and from
each one every action is stepped on a restored copy of the environment's state. A state is
identified by its observation; the environment's state is the set of its instance
attributes (windows, fonts, images, spaces and the random generator excluded), saved with
``copy.deepcopy`` and restored before each step. Terminal transitions lead to an
absorbing copy of the state with zero reward, as for gymnasium toy-text.

Only deterministic environments can be read this way: a ``step`` or ``reset`` that draws
from the environment's random generator (resource-gathering's enemies, breakable-bottles'
drops) raises :class:`~objspec.errors.InvalidModelError` naming the environment. Continuous
observations are accepted while the reachable set stays finite (at most ``max_states``).

Examples
--------
>>> mdp, rewards = from_mo_gymnasium("deep-sea-treasure-v0")  # doctest: +SKIP
>>> mdp.n_states, rewards.shape  # doctest: +SKIP
(..., (2, ..., 4, ...))
"""

from __future__ import annotations

import copy
from collections import deque
from typing import Any

import numpy as np
import scipy.sparse as sp

from objspec.errors import InvalidModelError
from objspec.mdp.model import FiniteMDP

__all__ = ["from_mo_gymnasium"]

_EXCLUDED = {"window", "clock", "font", "spec", "np_random", "_np_random", "_np_random_seed",
             "action_space", "observation_space", "reward_space", "render_mode", "metadata"}


class _NoRandom:
    """Stands in for the environment's random generator: any draw means the dynamics are
    stochastic, which stepping cannot read exactly."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, attr: str) -> Any:
        raise InvalidModelError(
            f"{self.name} draws from its random generator ({attr}) in step or reset: its "
            "transitions are stochastic and cannot be read exactly by stepping; "
            "from_mo_gymnasium supports deterministic environments")


def _key(obs: Any) -> bytes:
    if isinstance(obs, dict):
        return b"|".join(k.encode() + b"=" + _key(obs[k]) for k in sorted(obs))
    return np.ascontiguousarray(np.asarray(obs)).tobytes()


def _snapshot(u: Any) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in vars(u).items()
            if k not in _EXCLUDED and not k.endswith("_img") and not k.endswith("_images")}


def from_mo_gymnasium(env_or_id: Any, *, max_states: int = 100_000,
                      **make_kwargs: Any) -> tuple[FiniteMDP, np.ndarray]:
    """``(FiniteMDP, rewards [k, S, A, S])`` of a deterministic tabular MO-Gymnasium
    environment (an id for ``mo_gymnasium.make`` or an environment).

    States are numbered in breadth-first order from the initial state (state 0); a terminal
    transition ``(s, a)`` leads to an absorbing state of its own (zero reward) per target,
    named ``"<observation> (terminal)"``.

    Raises
    ------
    InvalidModelError
        If mo-gymnasium is missing, the environment is stochastic, its reset is random, or
        more than ``max_states`` states are reachable.
    """
    try:
        import mo_gymnasium
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise InvalidModelError(
            "from_mo_gymnasium needs mo-gymnasium: pip install 'objspec[mo]'") from exc
    env = mo_gymnasium.make(env_or_id, **make_kwargs) if isinstance(env_or_id, str) else env_or_id
    u: Any = env.unwrapped
    name = getattr(getattr(u, "spec", None), "id", None) or type(u).__name__
    n_actions = int(u.action_space.n)
    k = int(getattr(u, "reward_dim", np.asarray(u.reward_space.shape).prod()))
    obs0, _ = u.reset(seed=0)
    obs1, _ = u.reset(seed=1)
    if _key(obs0) != _key(obs1):
        raise InvalidModelError(f"{name} starts in a random state; only a fixed start is read")
    u.reset(seed=0)
    rng = getattr(u, "_np_random", None)
    start = _snapshot(u)
    keys: list[bytes] = [_key(obs0)]
    names: list[str] = [str(np.asarray(obs0).tolist()) if not isinstance(obs0, dict) else
                        str(obs0)]
    snaps: list[dict[str, Any] | None] = [start]
    index = {keys[0]: 0}
    edges: list[tuple[int, int, int, np.ndarray]] = []  # (s, a, t, reward)
    queue = deque([0])
    terminal_of: dict[bytes, int] = {}
    try:
        u._np_random = _NoRandom(name)
        while queue:
            s = queue.popleft()
            snap = snaps[s]
            if snap is None:  # an absorbing terminal copy
                for a in range(n_actions):
                    edges.append((s, a, s, np.zeros(k)))
                continue
            for a in range(n_actions):
                for attr, value in copy.deepcopy(snap).items():
                    setattr(u, attr, value)
                obs, reward, terminated, truncated, _ = u.step(a)
                reward = np.asarray(reward, dtype=np.float64).reshape(k)
                key = _key(obs)
                if terminated:
                    if key not in terminal_of:
                        terminal_of[key] = len(keys)
                        keys.append(b"T" + key)
                        names.append(f"{np.asarray(obs).tolist()} (terminal)")
                        snaps.append(None)
                        queue.append(terminal_of[key])
                    edges.append((s, a, terminal_of[key], reward))
                    continue
                if key not in index:
                    index[key] = len(keys)
                    keys.append(key)
                    names.append(str(np.asarray(obs).tolist()))
                    snaps.append(_snapshot(u))
                    queue.append(index[key])
                edges.append((s, a, index[key], reward))
                if len(keys) > max_states:
                    raise InvalidModelError(
                        f"{name} has more than {max_states} reachable states")
    finally:
        if rng is not None:
            u._np_random = rng
    S = len(keys)
    rows = [s * n_actions + a for s, a, _, _ in edges]
    cols = [t for _, _, t, _ in edges]
    P = sp.csr_matrix((np.ones(len(edges)), (rows, cols)), shape=(S * n_actions, S))
    rewards = np.zeros((k, S, n_actions, S))
    for s, a, t, r in edges:
        rewards[:, s, a, t] = r
    initial = np.zeros(S)
    initial[0] = 1.0
    mdp = FiniteMDP(P, initial, state_names=names,
                    action_names=[str(a) for a in range(n_actions)])
    return mdp, rewards
