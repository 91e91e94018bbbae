"""Which states a policy reaches, and policies made canonical off those states.

A state is *reachable* under ``pi`` when some trajectory of positive probability visits
it: it is in the support of ``mu0``, or it is a successor ``tau(t | s, a) > 0`` of a
reachable ``s`` through an action with ``pi(a | s) > 0``. Supports are read exactly (an
entry counts iff it is non-zero; nothing is thresholded).

The trajectory lottery of ``pi`` does not depend on ``pi`` at unreachable states
(docs/theory.md#l7), so every lottery-level quantity (occupancy measures, expected
returns, satisfaction probabilities, long-run averages) is the same for ``pi`` and for
:func:`canonical_policies` of ``pi``, which puts the uniform distribution on every
unreachable state. Evaluating the canonical policies makes that invariance hold bit for
bit in floating point, not only up to rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from objspec.mdp.graph import adjacency, reachable
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import as_policy_batch

__all__ = ["reachable_states", "reachable_from_supports", "canonical_policies"]

#: Up to this many states reachability is computed for all policies at once, in rounds of
#: one sparse product each; beyond, by one breadth-first search per policy.
BATCHED_MAX_STATES = 2000


def reachable_states(env: FiniteMDP, policies: Any) -> np.ndarray:
    """Boolean mask of the states each policy reaches: ``[S]``, or ``[N, S]`` for a batch.

    Breadth-first over all policies at once: each round is one sparse product of the
    ``(S*A, S)`` transition support with the frontier's enabled state-action pairs.

    Examples
    --------
    >>> from objspec import Policy
    >>> from objspec.environments import E2, E6
    >>> reachable_states(E2(), Policy.uniform(2, 2)).tolist()
    [True, False]
    >>> reachable_states(E6(), [Policy.deterministic([0, 0, 0], 2),
    ...                         Policy.deterministic([0, 1, 0], 2)]).tolist()
    [[True, True, False], [True, True, True]]
    """
    pi, single = as_policy_batch(policies, env.n_states, env.n_actions, enabled=env.enabled)
    reach = reachable_from_supports(env, pi > 0)
    return reach[0] if single else reach


def reachable_from_supports(env: FiniteMDP, enabled: np.ndarray) -> np.ndarray:
    """``[N, S]`` reachability given only which actions each policy enables.

    ``enabled`` is a boolean ``[N, S, A]`` array (``pi(a | s) > 0``); it need not come
    from distributions, which lets callers ask about support patterns directly.
    """
    N, S, A = enabled.shape
    if S > BATCHED_MAX_STATES:
        return _reachable_by_search(env, enabled)
    support = env.transition_matrix.copy()
    support.data = np.ones_like(support.data)
    support_t = sp.csr_matrix(support.T)  # [S, S*A]
    flat = enabled.reshape(N, S * A)
    reach = np.broadcast_to(env.initial > 0, (N, S)).copy()
    frontier = reach.copy()
    while frontier.any():
        # pairs (s, a) enabled at a newly reached state s, per policy: [S*A, N]
        pairs = (np.repeat(frontier, A, axis=1) & flat).T.astype(np.float64)
        new = np.asarray(support_t @ pairs).T > 0
        frontier = new & ~reach
        reach |= frontier
    return reach


def _reachable_by_search(env: FiniteMDP, enabled: np.ndarray) -> np.ndarray:
    """One breadth-first search (in C) per policy from the initial support:
    ``O(N * nnz)``, where the batched rounds above cost ``O(depth * nnz)``, slow on deep
    models."""
    N, S, A = enabled.shape
    P = env.transition_matrix
    pair = np.repeat(np.arange(S * A), np.diff(P.indptr))
    starts = np.flatnonzero(env.initial > 0)
    reach = np.zeros((N, S), dtype=bool)
    for n in range(N):
        keep = enabled[n].reshape(S * A)[pair]
        reach[n] = reachable(adjacency(S, pair[keep] // A, P.indices[keep]), starts)
    return reach


def canonical_policies(env: FiniteMDP, policies: Any) -> np.ndarray:
    """Policies with the uniform distribution (over the enabled actions) on every state
    they do not reach.

    Returns ``[S, A]`` for one policy or ``[N, S, A]`` for a batch. Two policies that agree
    on the states they reach (and so have the same trajectory lottery) map to the same
    array.

    Examples
    --------
    >>> from objspec import Policy
    >>> from objspec.environments import E2
    >>> canonical_policies(E2(), Policy([[1.0, 0.0], [0.0, 1.0]])).tolist()
    [[1.0, 0.0], [0.5, 0.5]]
    """
    pi, single = as_policy_batch(policies, env.n_states, env.n_actions, enabled=env.enabled)
    reach = reachable_states(env, pi)
    # uniform over the enabled actions (all of them unless the environment has a mask)
    mask = env.enabled
    uniform = mask / mask.sum(axis=1, keepdims=True)
    out = np.where(reach[:, :, None], pi, uniform[None])
    return out[0] if single else out
