"""MO-Gymnasium's tabular environments as a :class:`~objspec.mdp.model.FiniteMDP` and a
``[k, S, A, S]`` reward array (the ``mo`` extra: ``pip install objspec[mo]``).

The transitions are read from the environment's own ``step`` (nothing is re-implemented):
starting from ``reset(seed=0)``, every reachable state is visited breadth first, and from
each one every action is stepped on a restored copy of the environment's state. A state is
identified by its observation; the environment's state is the set of its instance
attributes (windows, fonts, images, spaces and the random generator excluded), saved with
``copy.deepcopy`` and restored before each step. Terminal transitions lead to an
absorbing copy of the state with zero reward, as for gymnasium toy-text.

Random transitions are read from the code too: while ``reset`` and ``step`` run, the
environment's generator is replaced by one that *branches*. A uniform draw
``np_random.random()`` may only be compared with a threshold (``random() < 0.1``, as
resource-gathering's enemies and breakable-bottles' drops do): each comparison is a branch
point of probability ``p`` and ``1 - p``; ``choice(seq)`` (of the generator or of Python's
``random`` module, as four-room's random start uses) branches uniformly over ``seq``.
Every branch sequence is run once, so the probabilities are exactly the thresholds the code
compares with. A draw used in any other way (arithmetic, ``integers``, ``normal``, ...)
raises :class:`~objspec.errors.InvalidModelError`. Observations identify states; the
reachable set must stay finite (at most ``max_states``).

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


class _Unsupported(InvalidModelError):
    pass


class _Uniform:
    """A uniform draw on [0, 1) that may only be compared with a threshold."""

    def __init__(self, brancher: _Brancher) -> None:
        self.brancher = brancher

    def _below(self, p: Any) -> bool:
        p = float(p)
        return self.brancher.branch((min(max(p, 0.0), 1.0), 1.0 - min(max(p, 0.0), 1.0))) == 0

    def __lt__(self, p: Any) -> bool:
        return self._below(p)

    def __le__(self, p: Any) -> bool:
        return self._below(p)

    def __gt__(self, p: Any) -> bool:
        return not self._below(p)

    def __ge__(self, p: Any) -> bool:
        return not self._below(p)

    def __float__(self) -> float:
        raise _Unsupported(
            f"{self.brancher.name} uses a random draw other than by comparing it with a "
            "threshold; its probabilities cannot be read from the code")


class _Brancher:
    """Stands in for the random generator (and Python's ``random.choice``): follows the
    branch decisions ``plan`` and records each branch point's probabilities."""

    def __init__(self, name: str, plan: list[int]) -> None:
        self.name, self.plan = name, plan
        self.taken: list[tuple[int, tuple[float, ...]]] = []

    def branch(self, probs: tuple[float, ...]) -> int:
        i = len(self.taken)
        d = self.plan[i] if i < len(self.plan) else next(
            j for j, p in enumerate(probs) if p > 0)
        self.taken.append((d, probs))
        return d

    def random(self, *args: Any, **kwargs: Any) -> _Uniform:
        if args or kwargs:
            raise _Unsupported(f"{self.name} draws random arrays; not readable")
        return _Uniform(self)

    def choice(self, seq: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            raise _Unsupported(f"{self.name} draws a weighted or repeated choice; not readable")
        items = list(seq) if not isinstance(seq, int) else list(range(seq))
        return items[self.branch(tuple(1.0 / len(items) for _ in items))]

    def __getattr__(self, attr: str) -> Any:
        raise _Unsupported(
            f"{self.name} draws from its random generator with {attr}: only comparisons of "
            "random() with a threshold and uniform choices can be read from the code")


def _branches(name: str, run: Any) -> list[tuple[float, Any]]:
    """Every outcome of ``run(brancher)`` with its probability, by enumerating the branch
    decisions depth first."""
    out: list[tuple[float, Any]] = []
    plan: list[int] = []
    while True:
        b = _Brancher(name, plan)
        result = run(b)
        prob = 1.0
        for d, probs in b.taken:
            prob *= probs[d]
        if prob > 0:
            out.append((prob, result))
        # the next plan: increment the last decision that has an alternative left
        taken = b.taken
        while taken:
            d, probs = taken[-1]
            nxt = next((j for j in range(d + 1, len(probs)) if probs[j] > 0), None)
            if nxt is not None:
                plan = [x for x, _ in taken[:-1]] + [nxt]
                break
            taken = taken[:-1]
        else:
            return out


def _key(obs: Any) -> bytes:
    if isinstance(obs, dict):
        return b"|".join(k.encode() + b"=" + _key(obs[k]) for k in sorted(obs))
    return np.ascontiguousarray(np.asarray(obs)).tobytes()


def _snapshot(u: Any) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in vars(u).items()
            if k not in _EXCLUDED and not k.endswith("_img") and not k.endswith("_images")}


def from_mo_gymnasium(env_or_id: Any, *, max_states: int = 100_000,
                      **make_kwargs: Any) -> tuple[FiniteMDP, np.ndarray]:
    """``(FiniteMDP, rewards [k, S, A, S])`` of a tabular MO-Gymnasium environment (an id
    for ``mo_gymnasium.make`` or an environment), read from its own ``reset`` and ``step``.

    States are numbered in breadth-first order from the initial states; a terminal
    transition leads to an absorbing state of its own (zero reward) per observation, named
    ``"<observation> (terminal)"``. Random branches are enumerated (module docstring); the
    generator and ``random.choice`` are replaced while the environment runs (not
    thread-safe).

    Raises
    ------
    InvalidModelError
        If mo-gymnasium is missing, the environment draws randomness in a way that cannot be
        read (anything but threshold comparisons of ``random()`` and uniform choices), or
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
    import random as stdlib_random

    rng, choice = getattr(u, "_np_random", None), stdlib_random.choice

    def branching(fn: Any) -> Any:
        def run(b: _Brancher) -> Any:
            u._np_random = b
            stdlib_random.choice = b.choice
            try:
                return fn()
            finally:
                stdlib_random.choice = choice
        return run

    def do_reset() -> tuple[bytes, str, dict[str, Any]]:
        obs, _ = u.reset()
        return _key(obs), _label(obs), _snapshot(u)

    keys: list[bytes] = []
    names: list[str] = []
    snaps: list[dict[str, Any] | None] = []
    index: dict[bytes, int] = {}
    queue: deque[int] = deque()
    terminal_of: dict[bytes, int] = {}

    def state(key: bytes, label: str, snap: dict[str, Any] | None) -> int:
        table = index if snap is not None else terminal_of
        if key not in table:
            table[key] = len(keys)
            keys.append(key)
            names.append(label)
            snaps.append(snap)
            queue.append(table[key])
            if len(keys) > max_states:
                raise InvalidModelError(f"{name} has more than {max_states} reachable states")
        return table[key]

    edges: list[tuple[int, int, int, float, np.ndarray]] = []  # (s, a, t, prob, reward)
    try:
        u.reset(seed=0)
        initial_states = [(p, state(key, label, snap)) for p, (key, label, snap)
                          in _branches(name, branching(do_reset))]
        while queue:
            s = queue.popleft()
            snap = snaps[s]
            if snap is None:  # an absorbing terminal copy
                for a in range(n_actions):
                    edges.append((s, a, s, 1.0, np.zeros(k)))
                continue
            for a in range(n_actions):
                def do_step(snap: dict[str, Any] = snap, a: int = a) -> Any:
                    for attr, value in copy.deepcopy(snap).items():
                        setattr(u, attr, value)
                    obs, reward, terminated, _, _ = u.step(a)
                    reward = np.asarray(reward, dtype=np.float64).reshape(k)
                    label = _label(obs)
                    if terminated:
                        return b"T" + _key(obs), label + " (terminal)", None, reward
                    return _key(obs), label, _snapshot(u), reward

                for p, (key, label, nxt, reward) in _branches(name, branching(do_step)):
                    edges.append((s, a, state(key, label, nxt), p, reward))
    except _Unsupported:
        raise
    finally:
        if rng is not None:
            u._np_random = rng
        stdlib_random.choice = choice
    S = len(keys)
    rows = [s * n_actions + a for s, a, _, _, _ in edges]
    cols = [t for _, _, t, _, _ in edges]
    P = sp.csr_matrix((np.array([p for *_, p, _ in edges]), (rows, cols)),
                      shape=(S * n_actions, S))
    rewards = np.zeros((k, S, n_actions, S))
    for s, a, t, _, r in edges:
        rewards[:, s, a, t] = r  # a reward depends on (s, a, s'), not on the branch
    initial = np.zeros(S)
    for p, t in initial_states:
        initial[t] += p
    mdp = FiniteMDP(P, initial, state_names=names,
                    action_names=[str(a) for a in range(n_actions)])
    return mdp, rewards


def _label(obs: Any) -> str:
    return str(obs) if isinstance(obs, dict) else str(np.asarray(obs).tolist())
