"""MO-Gymnasium's tabular environments as a :class:`~objspec.mdp.model.FiniteMDP` and a
``[k, S, A, S]`` reward array, or ``[k, S, A]`` expected rewards (the ``mo`` extra:
``pip install objspec[mo]``).

The transitions are read from the environment's own ``step`` (nothing is re-implemented):
starting from ``reset(seed=0)``, every reachable state is visited breadth first, and from
each one every action is stepped on a restored copy of the environment's state. A state is
identified by its observation; the environment's state is the set of its instance
attributes (windows, fonts, images, spaces and the random generator excluded), saved by
pickling each attribute (interned bytes; deep copies for what cannot be pickled) and
restored before each step, skipping attributes whose live value is already the saved one.
Terminal transitions lead to an absorbing copy of the state with zero reward, as for
gymnasium toy-text.

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
import pickle
from array import array
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


class _Snapshots:
    """Saves and restores an environment's state (its instance attributes, module
    docstring), cheaply: every attribute is pickled and the bytes are interned, so a
    snapshot is a tuple of shared ``bytes`` and restoring skips every attribute whose live
    object is known to equal the snapshot's (the common case: the maze, the item tables,
    ...). Attributes that cannot be pickled are deep-copied instead."""

    def __init__(self, u: Any) -> None:
        self.u = u
        self.names = tuple(k for k in vars(u) if k not in _EXCLUDED
                           and not k.endswith("_img") and not k.endswith("_images"))
        self.interned: dict[bytes, bytes] = {}
        self.live: tuple[Any, ...] | None = None  # what the live attributes equal now

    def _encode(self, value: Any) -> Any:
        try:
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - anything unpicklable is deep-copied instead
            return _Copied(copy.deepcopy(value))
        return self.interned.setdefault(data, data)

    def save(self) -> tuple[Any, ...]:
        """The live state (call after ``reset`` or ``step``)."""
        d = vars(self.u)
        snap = tuple(self._encode(d.get(k, _MISSING)) for k in self.names)
        self.live = snap
        return snap

    def restore(self, snap: tuple[Any, ...]) -> None:
        live = self.live
        for i, (k, v) in enumerate(zip(self.names, snap, strict=True)):
            if live is not None and live[i] is v:
                continue
            value = copy.deepcopy(v.value) if isinstance(v, _Copied) else pickle.loads(v)
            if value is _MISSING:
                self.u.__dict__.pop(k, None)
            else:
                setattr(self.u, k, value)
        self.live = None  # a step may change any attribute; save() sets it again


class _Copied:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class _Missing:
    def __reduce__(self) -> str:
        return "_MISSING"


_MISSING = _Missing()


def from_mo_gymnasium(env_or_id: Any, *, max_states: int = 100_000,
                      reward_form: str = "transition",
                      **make_kwargs: Any) -> tuple[FiniteMDP, np.ndarray]:
    """``(FiniteMDP, rewards)`` of a tabular MO-Gymnasium environment (an id for
    ``mo_gymnasium.make`` or an environment), read from its own ``reset`` and ``step``.

    States are numbered in breadth-first order from the initial states; a terminal
    transition leads to an absorbing state of its own (zero reward) per observation, named
    ``"<observation> (terminal)"``. Random branches are enumerated (module docstring); the
    generator and ``random.choice`` are replaced while the environment runs (not
    thread-safe).

    Parameters
    ----------
    env_or_id
        An environment id (``make_kwargs`` go to ``mo_gymnasium.make``) or an environment.
    max_states
        Largest number of reachable states read before giving up.
    reward_form
        ``"transition"`` (default): rewards shaped ``[k, S, A, S]``, the reward of each
        transition ``(s, a, s')``; this dense array needs ``8 k S^2 A`` bytes, so it is
        refused above 2**30 bytes. ``"expected"``: rewards shaped ``[k, S, A]``, the
        expected reward of each state-action pair (memory ``O(k S A)``); every discounted
        or average value, and so :func:`objspec.pareto.front`, depends only on these.

    Raises
    ------
    InvalidModelError
        If mo-gymnasium is missing, the environment draws randomness in a way that cannot be
        read (anything but threshold comparisons of ``random()`` and uniform choices), more
        than ``max_states`` states are reachable (the message names an observation outside
        the environment's declared observation space if one was reached: its state space is
        then larger than declared, as breakable-bottles' is), a transition's reward depends
        on the random branch and not only on ``(s, a, s')`` (use ``reward_form="expected"``),
        or the dense ``[k, S, A, S]`` array would be too large.

    Examples
    --------
    >>> mdp, rewards = from_mo_gymnasium("deep-sea-treasure-v0")  # doctest: +SKIP
    >>> mdp.n_states, rewards.shape  # doctest: +SKIP
    (72, (2, 72, 4, 72))
    """
    if reward_form not in ("transition", "expected"):
        raise InvalidModelError(
            f"reward_form must be 'transition' or 'expected', not {reward_form!r}")
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
    space = getattr(u, "observation_space", None)
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

    u.reset(seed=0)
    snapshots = _Snapshots(u)
    outside: list[str] = []  # an observation outside the declared space, if one is met

    def check_space(obs: Any, label: str) -> None:
        if not outside and space is not None:
            try:
                inside = bool(space.contains(obs))
            except Exception:  # noqa: BLE001 - a space that cannot judge is not evidence
                inside = True
            if not inside:
                outside.append(label)

    def do_reset() -> tuple[bytes, str, tuple[Any, ...], Any]:
        obs, _ = u.reset()
        return _key(obs), _label(obs), snapshots.save(), obs

    keys: list[bytes] = []
    names: list[str] = []
    snaps: list[tuple[Any, ...] | None] = []
    index: dict[bytes, int] = {}
    queue: deque[int] = deque()
    terminal_of: dict[bytes, int] = {}

    def state(key: bytes, label: str, snap: tuple[Any, ...] | None, obs: Any) -> int:
        table = index if snap is not None else terminal_of
        if key not in table:
            check_space(obs, label)
            table[key] = len(keys)
            keys.append(key)
            names.append(label)
            snaps.append(snap)
            queue.append(table[key])
            if len(keys) > max_states:
                why = (f"; it reached the observation {outside[0]}, outside its declared "
                       f"observation space {space}, so its state space is larger than "
                       "declared" if outside else "")
                raise InvalidModelError(
                    f"{name} has more than {max_states} reachable states{why} "
                    "(raise max_states= if it is finite)")
        return table[key]

    # transitions, kept compactly: row s * A + a, successor, probability, k rewards
    rows, cols = array("q"), array("q")
    probs, rewards_flat = array("d"), array("d")
    zero = (0.0,) * k
    try:
        initial_states = [(p, state(key, label, snap, obs)) for p, (key, label, snap, obs)
                          in _branches(name, branching(do_reset))]
        while queue:
            s = queue.popleft()
            snap = snaps[s]
            if snap is None:  # an absorbing terminal copy
                for a in range(n_actions):
                    rows.append(s * n_actions + a)
                    cols.append(s)
                    probs.append(1.0)
                    rewards_flat.extend(zero)
                continue
            for a in range(n_actions):
                def do_step(snap: tuple[Any, ...] = snap, a: int = a) -> Any:
                    snapshots.restore(snap)
                    obs, reward, terminated, _, _ = u.step(a)
                    reward = np.asarray(reward, dtype=np.float64).reshape(k)
                    key, label = _key(obs), _label(obs)
                    if terminated:
                        return b"T" + key, label + " (terminal)", None, reward, obs
                    return key, label, snapshots.save(), reward, obs

                for p, (key, label, nxt, reward, obs) in _branches(name, branching(do_step)):
                    rows.append(s * n_actions + a)
                    cols.append(state(key, label, nxt, obs))
                    probs.append(p)
                    rewards_flat.extend(reward.tolist())
    finally:
        if rng is not None:
            u._np_random = rng
        stdlib_random.choice = choice
    S = len(keys)
    row = np.frombuffer(rows, dtype=np.int64)
    col = np.frombuffer(cols, dtype=np.int64)
    prob = np.frombuffer(probs, dtype=np.float64)
    R = np.frombuffer(rewards_flat, dtype=np.float64).reshape(-1, k)
    P = sp.csr_matrix((prob, (row, col)), shape=(S * n_actions, S))
    if reward_form == "expected":
        flat = np.zeros((k, S * n_actions))
        for i in range(k):
            flat[i] = np.bincount(row, weights=prob * R[:, i], minlength=S * n_actions)
        rewards: np.ndarray = flat.reshape(k, S, n_actions)
    else:
        size = 8 * k * S * S * n_actions
        if size > 2**30:
            raise InvalidModelError(
                f"{name}: the [k, S, A, S] reward array would take {size / 2**30:.1f} GiB "
                f"({S} states); use reward_form='expected' for the [k, S, A] expected "
                "rewards")
        dense = np.zeros((k, S * n_actions, S))
        # a reward depends on (s, a, s'), never on the branch that led there
        order = np.lexsort((col, row))
        r_s, c_s, R_s = row[order], col[order], R[order]
        same = (r_s[1:] == r_s[:-1]) & (c_s[1:] == c_s[:-1])
        if np.any(same & np.any(R_s[1:] != R_s[:-1], axis=1)):
            i = int(np.flatnonzero(same & np.any(R_s[1:] != R_s[:-1], axis=1))[0])
            s_, a_ = divmod(int(r_s[i]), n_actions)
            raise InvalidModelError(
                f"{name}: the reward of the transition ({names[s_]}, action {a_}, "
                f"{names[int(c_s[i])]}) depends on the random branch taken; use "
                "reward_form='expected'")
        dense[:, row, col] = R.T
        rewards = dense.reshape(k, S, n_actions, S)
    initial = np.zeros(S)
    for p, t in initial_states:
        initial[t] += p
    mdp = FiniteMDP(P, initial, state_names=names,
                    action_names=[str(a) for a in range(n_actions)])
    return mdp, rewards


def _label(obs: Any) -> str:
    return str(obs) if isinstance(obs, dict) else str(np.asarray(obs).tolist())
