"""Seeded random MDP generators."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from objspec.errors import InvalidModelError
from objspec.mdp.model import FiniteMDP

__all__ = ["random_mdp", "random_policies", "random_labelled_mdp"]


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


#: Up to this many ``(row, state)`` pairs the successors are drawn by sorting one random key
#: per pair (the historic draw, kept so that seeded small models do not change); beyond, by
#: Floyd's algorithm in ``O(S * A * k**2)`` time and ``O(S * A * k)`` memory.
SMALL_DRAW = 1 << 24


def _distinct_columns(rng: np.random.Generator, rows: int, n: int, k: int) -> np.ndarray:
    """``[rows, k]``: a uniformly random ``k``-subset of ``0..n-1`` per row (Floyd, 1987)."""
    cols = np.empty((rows, k), dtype=np.int64)
    for j in range(k):
        top = n - k + j
        draw = rng.integers(0, top + 1, size=rows)
        taken = (cols[:, :j] == draw[:, None]).any(axis=1)
        cols[:, j] = np.where(taken, top, draw)
    return cols


def random_mdp(
    n_states: int,
    n_actions: int,
    n_successors: int | None = None,
    *,
    seed: int | np.random.Generator | None = None,
    sparse: bool | None = None,
    initial: str = "uniform",
) -> FiniteMDP:
    """A random MDP whose every ``(s, a)`` has ``n_successors`` distinct successors.

    Probabilities are uniform draws normalised per row. ``sparse`` (default: when
    ``n_states > 300``) builds the ``(S*A, S)`` CSR form; then time and memory are
    ``O(S * A * n_successors)`` (for ``n_successors`` well below ``S``), so
    ``random_mdp(200_000, 2, 3)`` takes about a second. ``initial`` is ``"uniform"`` or
    ``"first"`` (start in state 0).

    Examples
    --------
    >>> env = random_mdp(10, 2, 3, seed=0)
    >>> env.n_states, int((env.transitions[0, 0] > 0).sum())
    (10, 3)
    """
    if n_states < 1 or n_actions < 1:
        raise InvalidModelError(f"need n_states, n_actions >= 1; got {n_states}, {n_actions}")
    k = n_states if n_successors is None else n_successors
    if not 1 <= k <= n_states:
        raise InvalidModelError(f"n_successors = {k} is outside 1..{n_states}")
    rng = _rng(seed)
    rows = n_states * n_actions
    if rows * n_states <= SMALL_DRAW:
        cols = np.argsort(rng.random((rows, n_states)), axis=1)[:, :k]
    else:
        cols = _distinct_columns(rng, rows, n_states, k)
    probs = rng.random((rows, k)) + 1e-3
    probs /= probs.sum(axis=1, keepdims=True)
    matrix = sp.csr_matrix(
        (probs.ravel(), (np.repeat(np.arange(rows), k), cols.ravel())), shape=(rows, n_states)
    )
    if initial == "uniform":
        mu0 = np.full(n_states, 1.0 / n_states)
    elif initial == "first":
        mu0 = np.zeros(n_states)
        mu0[0] = 1.0
    else:
        raise InvalidModelError(f"initial must be 'uniform' or 'first'; got {initial!r}")
    use_sparse = n_states > 300 if sparse is None else sparse
    transitions = matrix if use_sparse else matrix.toarray().reshape(n_states, n_actions, n_states)
    return FiniteMDP(transitions, mu0)


def random_labelled_mdp(
    n_states: int,
    n_actions: int,
    propositions: Sequence[str] = ("a", "b"),
    n_successors: int | None = None,
    *,
    density: float = 0.5,
    seed: int | np.random.Generator | None = None,
) -> FiniteMDP:
    """A random MDP with random state labels: each proposition holds in each state with
    probability ``density``.

    Examples
    --------
    >>> env = random_labelled_mdp(5, 2, ("p", "q"), seed=1)
    >>> set(env.propositions) <= {"p", "q"}
    True
    """
    rng = _rng(seed)
    base = random_mdp(n_states, n_actions, n_successors, seed=rng)
    labels = {
        s: [p for p in propositions if rng.random() < density] for s in range(n_states)
    }
    return FiniteMDP(base.transition_matrix if n_states > 300 else base.transitions,
                     base.initial, labels=labels)


def random_policies(
    env: FiniteMDP,
    n: int,
    *,
    seed: int | np.random.Generator | None = None,
    deterministic_fraction: float = 0.0,
) -> np.ndarray:
    """``n`` random policies ``[n, S, A]``: Dirichlet(1) rows, a fraction of them deterministic.

    Only enabled actions (:attr:`FiniteMDP.enabled`) get probability.

    Examples
    --------
    >>> from objspec.environments import E3
    >>> random_policies(E3(), 4, seed=0).shape
    (4, 2, 2)
    """
    rng = _rng(seed)
    pi = rng.dirichlet(np.ones(env.n_actions), size=(n, env.n_states))
    n_det = int(round(deterministic_fraction * n))
    if n_det:
        acts = rng.integers(env.n_actions, size=(n_det, env.n_states))
        pi[:n_det] = np.eye(env.n_actions)[acts]
    if not env.all_enabled:
        # Dirichlet(1) over the enabled actions: the flat Dirichlet restricted and
        # renormalised is again flat; a deterministic row picks a uniform enabled action
        pi = pi * env.enabled[None]
        sums = pi.sum(axis=2, keepdims=True)
        dead = sums[..., 0] == 0  # (deterministic rows that drew a disabled action)
        if dead.any():
            pol, s = np.nonzero(dead)
            choice = (rng.random(pol.size) * env.n_enabled[s]).astype(np.int64)
            acts = np.array([env.enabled_actions(int(t))[c] for t, c in zip(s, choice,
                                                                             strict=True)])
            pi[pol, s, acts] = 1.0
            sums = pi.sum(axis=2, keepdims=True)
        pi = pi / sums
    return pi
