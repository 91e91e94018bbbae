"""Which states a policy reaches, policies made canonical off those states, and maximal
reachability probabilities.

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

:func:`max_reachability` computes ``Pmax(F target)`` on a sparse MDP given by its
transition rows, with an optimal deterministic policy and a certificate (an upper bound
proven by a pre-fixed point of the Bellman operator); the LTL optimiser runs it on the
product with the automaton.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from objspec.errors import SolverError
from objspec.mdp.graph import adjacency, reachable, stable_order
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import as_policy_batch

__all__ = [
    "reachable_states",
    "reachable_from_supports",
    "canonical_policies",
    "maximal_end_components",
    "invariant_states",
    "MaxReachability",
    "max_reachability",
    "proper_solve",
]

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


def maximal_end_components(
    n_states: int, n_actions: int, source: np.ndarray, action: np.ndarray,
    target: np.ndarray, allowed: np.ndarray,
) -> np.ndarray:
    """Maximal end components of the sub-MDP of allowed state-action pairs.

    Parameters
    ----------
    source, action, target : ndarray ``[E]``
        The positive-probability entries ``(k, a) -> k'``.
    allowed : ndarray of bool ``[n_states, n_actions]``
        Pairs that may be used.

    Returns
    -------
    ndarray ``[n_states]``
        The MEC index of each state, ``-1`` for states in no end component. Pairs that leave
        their MEC are removed from ``allowed`` in place.

    Examples
    --------
    >>> src, act, dst = np.array([0, 0, 1]), np.array([0, 1, 0]), np.array([0, 1, 0])
    >>> maximal_end_components(2, 2, src, act, dst, np.ones((2, 2), dtype=bool))
    array([0, 0])
    """
    from scipy.sparse import csgraph

    flat = np.array(allowed, dtype=bool).reshape(-1)  # written back into allowed at the end
    pair = np.asarray(source, dtype=np.int64) * n_actions + np.asarray(action, dtype=np.int64)
    keep = flat[pair]
    pair, source, target = pair[keep], np.asarray(source)[keep], np.asarray(target)[keep]
    if source.size and np.any(source[1:] < source[:-1]):
        order = stable_order(source, n_states)
        pair, source, target = pair[order], source[order], target[order]
    alive: np.ndarray = np.asarray(allowed.any(axis=1))
    comp = np.zeros(n_states, dtype=np.int64)
    reverse = _reverse_index(target, n_states)
    while True:
        use = flat[pair] & alive[target]
        indptr = np.zeros(n_states + 1, dtype=np.int64)
        np.cumsum(np.bincount(source[use], minlength=n_states), out=indptr[1:])
        graph = sp.csr_matrix((np.ones(int(indptr[-1])), target[use], indptr),
                              shape=(n_states, n_states))
        # repeated edges (several actions to one successor) must be merged: scipy's
        # strong-components search can loop forever on a float64 graph with repeats
        graph.sum_duplicates()
        _, comp = csgraph.connected_components(graph, directed=True, connection="strong")
        leaving = flat[pair] & (~alive[target] | (comp[source] != comp[target]))
        if not leaving.any():
            break
        flat[pair[leaving]] = False
        # cascade without new SCCs: states left with no pair die, pairs into them leave
        _cascade(flat, alive, pair, target, n_states, n_actions, reverse)
    flat.reshape(n_states, n_actions)[~alive] = False
    allowed[...] = flat.reshape(n_states, n_actions)
    out = np.full(n_states, -1, dtype=np.int64)
    if alive.any():
        _, dense = np.unique(comp[alive], return_inverse=True)
        out[alive] = dense.ravel()
    return out


#: Value-iteration sweeps on the quotient before the first greedy policy of
#: :func:`max_reachability`.
SEED_SWEEPS = 30
#: Residual (sup norm, relative) of the last policy evaluation of :func:`max_reachability`.
FINAL_PRECISION = 1e-14
#: Systems with more unknowns than this are tried with BiCGSTAB before sparse LU, unless
#: their envelope is at most DIRECT_MAX_ENVELOPE times their entries plus their size
#: (:func:`proper_solve`).
ITERATIVE_MIN_UNKNOWNS = 200
DIRECT_MAX_ENVELOPE = 16
#: BiCGSTAB's iteration budget in :func:`proper_solve`, and the checkpoint interval of
#: its contraction test.
BICGSTAB_MAX_ITERATIONS = 300
BICGSTAB_WINDOW = 10
#: :func:`max_reachability` finds the states that can reach the target by vectorised
#: breadth-first layers on models of at most :data:`DENSE_MAX_NODES` states, and on models
#: of at most LAYERED_MAX_STATES states whose layers number at most LAYER_ROUNDS (else by
#: one graph search).
LAYERED_MAX_STATES = 1024
LAYER_ROUNDS = 8
#: Quotients with at most this many nodes are solved with dense matrices (below the size
#: where a multithreaded BLAS starts threads, which a loaded machine makes slow).
DENSE_MAX_NODES = 64


def _reverse_index(target: np.ndarray, n_states: int) -> tuple[np.ndarray, np.ndarray]:
    """The entries sorted by target state, and where each state's run starts."""
    order = stable_order(target, n_states)
    starts = np.zeros(n_states + 1, dtype=np.int64)
    np.cumsum(np.bincount(target, minlength=n_states), out=starts[1:])
    return order, starts


#: Vectorised rounds of :func:`_cascade` before a deep cascade (a long chain of removals,
#: one state per round) switches to one worklist pass over the remaining entries ...
CASCADE_ROUNDS = 8
#: ... on models of at most this many entries (a Python loop over every entry).
CASCADE_WORKLIST_MAX_ENTRIES = 200_000
#: Models of at most this many entries take the worklist pass at once (a few hundred
#: Python steps cost less than one vectorised round's array calls).
CASCADE_WORKLIST_SMALL = 256
#: A frontier with at most CASCADE_WORKLIST_FRONTIER entries into it is left to the
#: worklist pass (a vectorised round costs a few dozen array calls whatever the frontier's
#: size), which visits at most CASCADE_WORKLIST_BUDGET entries before handing what it has
#: not yet visited back to the vectorised rounds (a small frontier can start a large
#: cascade).
CASCADE_WORKLIST_FRONTIER = 256
CASCADE_WORKLIST_BUDGET = 4096


def _cascade(flat: np.ndarray, alive: np.ndarray, pair: np.ndarray, target: np.ndarray,
             n_states: int, n_actions: int, reverse: tuple[np.ndarray, np.ndarray]) -> None:
    """Remove, in place, the live states without an allowed pair (``flat``, by pair
    index ``state * n_actions + action``) and the pairs with an entry into a removed
    state, until none is left: the greatest set of live states each with an allowed pair
    whose entries all stay in it. Works frontier by frontier through the entries into
    the states just removed (``reverse``: :func:`_reverse_index`), so a deep chain costs
    its entries, not its depth times the whole model. A frontier with few entries into it
    (at most :data:`CASCADE_WORKLIST_FRONTIER`; any on a model of at most
    :data:`CASCADE_WORKLIST_SMALL` entries) goes to a worklist pass (each entry into a
    removed state visited once, in Python), which hands its unvisited states back after
    :data:`CASCADE_WORKLIST_BUDGET` entries; after :data:`CASCADE_ROUNDS` vectorised
    rounds on a model of at most :data:`CASCADE_WORKLIST_MAX_ENTRIES` entries the
    worklist pass finishes the cascade without a budget (a chain removing one state per
    round would otherwise pay a round of array calls for each)."""
    order, starts = reverse
    count = np.bincount(np.flatnonzero(flat) // n_actions, minlength=n_states)
    frontier = np.flatnonzero(alive & (count == 0))
    rounds = 0
    while frontier.size:
        lengths = starts[frontier + 1] - starts[frontier]
        total = int(lengths.sum())
        deep = pair.size <= CASCADE_WORKLIST_SMALL or (
            pair.size <= CASCADE_WORKLIST_MAX_ENTRIES and rounds >= CASCADE_ROUNDS)
        if deep or total <= CASCADE_WORKLIST_FRONTIER:
            frontier = _cascade_worklist(flat, alive, count, frontier, pair, order, starts,
                                         n_actions, None if deep else CASCADE_WORKLIST_BUDGET)
            continue
        rounds += 1
        alive[frontier] = False
        offsets = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        hit = pair[order[np.repeat(starts[frontier], lengths) + offsets]]
        hit = np.unique(hit[flat[hit]])
        if not hit.size:
            break
        flat[hit] = False
        lost = np.bincount(hit // n_actions, minlength=n_states)
        count -= lost
        frontier = np.flatnonzero(alive & (lost > 0) & (count == 0))


def _cascade_worklist(flat: np.ndarray, alive: np.ndarray, count: np.ndarray,
                      frontier: np.ndarray, pair: np.ndarray, order: np.ndarray,
                      starts: np.ndarray, n_actions: int, budget: int | None) -> np.ndarray:
    """Continue :func:`_cascade` from ``frontier`` (live states with no allowed pair
    left; ``count``: allowed pairs per state, updated in place), one state at a time:
    ``pair[order[starts[t] : starts[t + 1]]]`` are the pairs with an entry into ``t``.
    Only the states it visits are read (no set-up proportional to the model). Returns the
    removed states whose entries it has not visited once it has visited ``budget`` entries
    (``None``: no limit), as the next frontier (empty when the cascade is over)."""
    stack: list[int] = frontier.tolist()
    alive[frontier] = False
    visited = 0
    while stack:
        if budget is not None and visited > budget:
            return np.array(stack, dtype=np.int64)
        t = stack.pop()
        lo, hi = int(starts[t]), int(starts[t + 1])
        visited += hi - lo
        for p in pair[order[lo:hi]].tolist():
            if flat[p]:
                flat[p] = False
                k = p // n_actions
                count[k] -= 1
                if count[k] == 0 and alive[k]:
                    alive[k] = False
                    stack.append(k)
    return np.empty(0, dtype=np.int64)


def invariant_states(rows: sp.csr_matrix, enabled: np.ndarray, safe: np.ndarray
                     ) -> np.ndarray:
    """The greatest set of ``safe`` states in which some policy can stay forever: each
    has an enabled action all of whose successors are in the set (a greatest fixed point,
    Baier & Katoen 2008, section 10.6.2). ``Pmax(G safe)`` is the largest probability of
    reaching it through safe states.

    Parameters
    ----------
    rows : scipy.sparse.csr_matrix ``(K*A, K)``
    enabled : ndarray of bool ``[K, A]``
    safe : ndarray of bool ``[K]``

    Returns
    -------
    ndarray of bool ``[K]``

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> rows = sp.csr_matrix(np.array([[0.5, 0.5, 0], [1.0, 0, 0], [0, 0, 1.0],
    ...                                [0, 0, 1.0], [0, 0, 1.0], [0, 0, 1.0]]))
    >>> invariant_states(rows, np.ones((3, 2), dtype=bool), np.array([True, True, False]))
    array([ True, False, False])
    """
    if not sp.isspmatrix_csr(rows):
        rows = sp.csr_matrix(rows)
    K, A = enabled.shape
    safe = np.asarray(safe, dtype=bool)
    pair = np.repeat(np.arange(K * A), np.diff(rows.indptr))
    dst = rows.indices.astype(np.int64)
    live = enabled.reshape(-1)[pair] & (rows.data > 0)
    pair, dst = pair[live], dst[live]
    outside = np.zeros(K * A, dtype=bool)
    outside[pair[~safe[dst]]] = True
    flat = (enabled & safe[:, None]).reshape(-1) & ~outside
    alive = safe.copy()
    _cascade(flat, alive, pair, dst, K, A, _reverse_index(dst, K))
    return alive


class MaxReachability:
    """Result of :func:`max_reachability`.

    Attributes
    ----------
    values : ndarray ``[K]``
        The probability of reaching the target under :attr:`choice` from each state
        (a float64 sparse LU solve): ``Pmax`` up to the policy iteration's 1e-12 stopping
        test, which :meth:`upper_bound` turns into a proven bound.
    choice : ndarray ``[K]`` of int
        An optimal deterministic policy: an enabled action in every state (meaningful
        off the target; in undecided end components it walks to the component's best exit).
    maybe : ndarray ``[K]`` of bool
        The undecided states: able to reach the target, but not almost surely (so neither
        in it nor of ``Pmax = 1``).
    iterations : int
        Policy-iteration steps.
    """

    def __init__(self, values: np.ndarray, choice: np.ndarray, maybe: np.ndarray,
                 iterations: int, quotient: _Quotient | None,
                 problem: _Problem | None = None) -> None:
        self.values = values
        self.choice = choice
        self.maybe = maybe
        self.iterations = iterations
        self._quotient = quotient
        self._problem = problem

    def quotient_values(self) -> np.ndarray:
        """``[K]``: the values of the policy iteration's last solve (on the quotient with
        the undecided end components collapsed), lifted to the states."""
        out = self.values.copy()
        if self._quotient is not None:
            out[self.maybe] = self._quotient.values[self._quotient.node_of[self.maybe]]
        return out

    def upper_bound(self, weights_of: Any, lower: float, tol: float, max_iterations: int
                    ) -> tuple[np.ndarray, int]:
        """A vector ``u >= Pmax`` (proven up to float64 rounding) and the sweeps it took.

        ``u`` is a pre-fixed point of the Bellman operator ``T`` of reaching the target
        (``T u <= u``), so it bounds that operator's least fixed point, ``Pmax``, from
        above (Knaster-Tarski). The operator is that of reaching the target or a state of
        ``Pmax = 1`` (decided exactly by the graph algorithm), whose ``Pmax`` is the same.
        First candidate: the policy's values plus ``tol / 2``, accepted if ``T u <= u``
        holds up to the rounding of one backup (4 ulps of 1); else value iteration from
        ``1`` (every iterate is a pre-fixed point) on the MDP with the undecided end
        components collapsed, where it converges to ``Pmax`` (interval iteration: Haddad &
        Monmege 2018; Baier et al., CAV 2017), until
        ``weights_of(u) - lower <= tol`` or ``max_iterations`` sweeps. ``weights_of``
        maps a ``[K]`` vector to the number being bounded (e.g. its average under the
        initial distribution).
        """
        q = self._quotient
        if q is None:  # nothing undecided: the values are exact
            return self.values.copy(), 0
        lifted = self.values.copy()
        u = np.minimum(1.0, q.values + tol / 2)
        # a pre-fixed point up to the rounding of one backup (4 ulps of 1)
        if bool((q.best(u) <= u + 4 * np.finfo(np.float64).eps).all()):
            lifted[self.maybe] = u[q.node_of[self.maybe]]
            return lifted, 1
        # interval iteration needs the end components collapsed to converge
        if not q.collapsed:
            assert self._problem is not None
            q = self._problem.quotient(self._problem.end_components())
        x = np.ones(q.n_nodes)
        sweeps = 0
        while True:
            lifted[self.maybe] = x[q.node_of[self.maybe]]
            if sweeps >= max_iterations or weights_of(lifted) - lower <= tol:
                return lifted, sweeps
            sweeps += 1
            x = np.minimum(x, np.maximum(q.best(x), 0.0))


class _Quotient:
    """The undecided part of a reachability problem, possibly with its maximal end
    components collapsed: nodes, and the pairs ``(k, a)`` leaving each node, sorted by
    node."""

    pair_state: np.ndarray
    pair_action: np.ndarray
    pair_id: np.ndarray
    problem: _Problem
    components: tuple[np.ndarray, np.ndarray, int]
    collapsed: bool

    def __init__(self, node_of: np.ndarray, n_nodes: int, pair_node: np.ndarray,
                 matrix: Any, to_target: np.ndarray) -> None:
        self.node_of = node_of
        self.n_nodes = n_nodes
        self.pair_node = pair_node
        self.starts = np.flatnonzero(np.concatenate(([True], pair_node[1:] != pair_node[:-1])))
        self.matrix = matrix
        self.to_target = to_target
        self.values = np.zeros(n_nodes)

    def q_values(self, x: np.ndarray) -> np.ndarray:
        return self.to_target + self.matrix @ x

    def best(self, x: np.ndarray) -> np.ndarray:
        return np.maximum.reduceat(self.q_values(x), self.starts)

    def lift(self, chosen: np.ndarray, choice: np.ndarray) -> np.ndarray:
        """``choice`` with each node's chosen pair played at its state and, inside each
        collapsed component, a walk (breadth-first tree of its inner pairs) to that
        state."""
        from scipy.sparse import csgraph

        choice = choice.copy()
        exit_state = self.pair_state[chosen]
        choice[exit_state] = self.pair_action[chosen]
        mec, inner_pairs, n_mec = self.components
        if n_mec:
            pr = self.problem
            K, src, act, dst = pr.K, pr.src, pr.act, pr.dst
            inner = (mec[src] >= 0) & inner_pairs[src, act]
            is_exit = np.zeros(K, dtype=bool)
            is_exit[exit_state] = True
            walk = inner & ~is_exit[src]
            r_src = np.concatenate([dst[walk], np.full(int(is_exit.sum()), K)])
            r_dst = np.concatenate([src[walk], np.flatnonzero(is_exit)])
            _, pred = csgraph.breadth_first_order(adjacency(K + 1, r_src, r_dst), K,
                                                  directed=True, return_predecessors=True)
            step = walk & (pred[src] == dst)
            first = _first_per_group(src, step)
            choice[src[first]] = act[first]
        return choice


def _first_per_group(group: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """For sorted ``group`` ids, the index of the first element with ``mask`` in each group
    (groups without one are absent)."""
    idx = np.flatnonzero(mask)
    ids = group[idx]
    return idx[np.r_[True, ids[1:] != ids[:-1]]] if idx.size else idx


def _policy_system(matrix: sp.csr_matrix, chosen: np.ndarray) -> sp.csr_matrix:
    """``I - matrix[chosen]`` (rows ``chosen`` of a CSR matrix, one per node, minus the
    identity) as CSR: :func:`objspec.mdp.linear.policy_system`."""
    from objspec.mdp.linear import policy_system

    return policy_system(matrix, chosen, 1.0)


def max_reachability(rows: sp.csr_matrix, enabled: np.ndarray, target: np.ndarray,
                     *, stop: np.ndarray | None = None, sure_is_target: bool = False
                     ) -> MaxReachability:
    """``Pmax(F target)`` from every state of a sparse MDP, and an optimal policy.

    Method: the states that cannot reach the target get 0 (a backward graph search), those
    from which a policy reaches it almost surely get 1 (a graph fixed point, Baier & Katoen
    2008, section 10.6.1; they play the breadth-first tree towards the target through pairs
    that keep among them, which reaches it almost surely). On the undecided rest, policy
    iteration starts from the breadth-first tree towards the decided states
    (a *proper* policy: it leaves the undecided states almost surely, so its linear system
    is non-singular) and switches only on strict improvements (beyond the evaluation's
    precision), which keeps every policy proper: a closed class of the new policy would
    be closed under the old one too (average the improvements over its stationary
    distribution). The last policy's values are then a fixed point of the Bellman operator
    that some policy attains, so they are its least fixed point, ``Pmax`` (Baier & Katoen
    2008, section 10.6.1). Evaluations: dense LAPACK on small systems, else BiCGSTAB
    warm-started from the previous values (to a loose precision while the policy still
    changes) with sparse LU as the fallback. Should an evaluation fail (an improper
    policy through rounding), the problem is solved on the quotient by the undecided
    maximal end components instead (Haddad & Monmege 2018), where every policy is proper;
    the quotient policy is lifted back by walking, inside each collapsed component, to the
    state whose action is the chosen exit.

    Parameters
    ----------
    rows : scipy.sparse.csr_matrix ``(K*A, K)``
        Row ``k*A + a``: the successor distribution of action ``a`` in state ``k`` (rows
        of disabled actions are ignored).
    enabled : ndarray of bool ``[K, A]``
        The enabled actions (at least one per state).
    target : ndarray of bool ``[K]``
    stop : ndarray of bool ``[K]``, optional
        States whose rows are ignored: a run that enters one stops there (value 0 unless
        it is a target). ``Pmax(keep U goal)`` is ``Pmax(F goal)`` with ``stop = ~(keep |
        goal)``, without a copy of ``rows``.
    sure_is_target : bool, default False
        The caller knows that the states of ``Pmax = 1`` are the target states: the graph
        fixed point for them is skipped. True for ``Pmax(G safe)`` as the reachability of
        the invariant states (:func:`invariant_states`) with ``stop = ~safe``: staying
        safe almost surely is staying safe surely, which is being invariant. (Were the
        claim wrong, other states of ``Pmax = 1`` would be solved by the linear systems:
        the values stay right, to their precision instead of exactly.)

    Returns
    -------
    MaxReachability

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> rows = sp.csr_matrix(np.array([[0.5, 0.5, 0], [0, 0, 1.0], [0, 1.0, 0],
    ...                                [0, 1.0, 0], [0, 0, 1.0], [0, 0, 1.0]]))
    >>> res = max_reachability(rows, np.ones((3, 2), dtype=bool), np.array([0, 1, 0], bool))
    >>> res.values.tolist(), int(res.choice[0])
    ([1.0, 1.0, 0.0], 0)
    """

    if not sp.isspmatrix_csr(rows):
        rows = sp.csr_matrix(rows)
    K, A = enabled.shape
    pair = np.repeat(np.arange(K * A), np.diff(rows.indptr))
    src, act, dst, prob = pair // A, pair % A, rows.indices.astype(np.int64), rows.data
    live = enabled[src, act] & (prob > 0)
    if stop is not None:
        live &= ~np.asarray(stop, dtype=bool)[src]
    if not live.all():
        pair, src, act, dst, prob = pair[live], src[live], act[live], dst[live], prob[live]
    target = np.asarray(target, dtype=bool)
    # breadth-first layers on small models (None: a graph search); a model found deeper
    # than the layers allow is searched from then on
    rounds: int | None = ((K if K <= DENSE_MAX_NODES else LAYER_ROUNDS)
                          if K <= LAYERED_MAX_STATES else None)
    layered = None if rounds is None else _layers_to_target(src, dst, target, rounds)
    if layered is not None:
        can = layered[0]
    else:
        rounds = None
        can = _reach_backward(K, src, dst, target, None)
    choice = np.argmax(enabled, axis=1)
    # one enabled action per state (a Markov chain): nothing to choose
    chain = bool((enabled.sum(axis=1) == 1).all())
    # the states of Pmax = 1, decided by a graph algorithm, with an almost-sure policy; the
    # linear systems are left with the rest
    if sure_is_target:
        sure = target
    elif chain:
        # a chain reaches the target almost surely unless it can reach, before the target,
        # a state that cannot (Baier & Katoen 2008, section 10.1.1)
        on = ~target[src]
        sure = can & ~_reach_backward(K, src[on], dst[on], ~can, rounds)
    else:
        sure, toward = _almost_sure(K, A, pair, src, dst, enabled, can, target, rounds)
        # the breadth-first tree of the last search: through pairs that stay in ``sure``
        first = _first_per_group(src, toward & sure[src])
        choice[src[first]] = act[first]
    decided = target | sure
    maybe = can & ~decided
    values = decided.astype(np.float64)
    if not maybe.any():
        return MaxReachability(values, choice, maybe, 0, None)
    problem = _Problem(K, A, pair, src, act, dst, prob, enabled, maybe, decided)
    # the breadth-first tree towards the decided states: a proper first policy
    start = choice.copy()
    if not chain:
        _tree_towards(K, src, act, dst, decided, maybe, start, rounds)
    try:
        q, chosen, iterations = _policy_iteration(problem.quotient(None), start)
    except SolverError:
        q, chosen, iterations = _policy_iteration(problem.quotient(problem.end_components()),
                                                  None)
    values[maybe] = q.values[q.node_of[maybe]]
    return MaxReachability(values, q.lift(chosen, choice), maybe, iterations, q, problem)


def _reach_backward(K: int, src: np.ndarray, dst: np.ndarray, roots: np.ndarray,
                    rounds: int | None) -> np.ndarray:
    """The states that can reach ``roots`` (``[K]`` bool) through the entries ``src ->
    dst``: by breadth-first layers (:func:`_layers_to_target`) when ``rounds`` is given
    and that many suffice, else by one graph search."""
    return _reach_backward_tree(K, src, dst, roots, rounds, False)[0]


def _reach_backward_tree(K: int, src: np.ndarray, dst: np.ndarray, roots: np.ndarray,
                         rounds: int | None, tree: bool = True
                         ) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`_reach_backward`, and (if ``tree``) which entries lead one step closer to
    ``roots`` along a breadth-first tree (``[E]`` bool; every state that reaches the roots
    without being one has at least one, and the first per state is the tree's)."""
    from scipy.sparse import csgraph

    if rounds is not None:
        layered = _layers_to_target(src, dst, roots, rounds)
        if layered is not None:
            return layered
    graph = _reversed_from_root(K, src, dst, roots)
    if not tree:
        order = csgraph.breadth_first_order(graph, K, directed=True,
                                            return_predecessors=False)
        out = np.zeros(K + 1, dtype=bool)
        out[order] = True
        return out[:K], None
    order, pred = csgraph.breadth_first_order(graph, K, directed=True,
                                              return_predecessors=True)
    out = np.zeros(K + 1, dtype=bool)
    out[order] = True
    reached = out[:K]
    return reached, ~roots[src] & (pred[src] == dst)


def _reversed_from_root(K: int, src: np.ndarray, dst: np.ndarray, roots: np.ndarray
                        ) -> sp.csr_matrix:
    """The graph of the entries reversed (``dst -> src``) plus a node ``K`` with an edge to
    every state of ``roots`` (``[K]`` bool), built as one CSR matrix in the form
    :mod:`scipy.sparse.csgraph` searches without converting it (float64 data, int32
    indices; repeated edges are harmless to a breadth-first search)."""
    goal = np.flatnonzero(roots)
    order = stable_order(dst, K)
    indptr = np.empty(K + 2, dtype=np.int32)
    indptr[0] = 0
    np.cumsum(np.bincount(dst, minlength=K), out=indptr[1:K + 1])
    indptr[K + 1] = indptr[K] + goal.size
    indices = np.concatenate([src[order], goal]).astype(np.int32)
    return sp.csr_matrix((np.ones(indices.size), indices, indptr), shape=(K + 1, K + 1))


def _almost_sure(K: int, A: int, pair: np.ndarray, src: np.ndarray, dst: np.ndarray,
                 enabled: np.ndarray, can: np.ndarray, target: np.ndarray,
                 rounds: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The states from which some policy reaches ``target`` almost surely (``Pmax = 1``),
    and which entries an almost-sure policy may use (those of pairs whose successors all
    lie among them).

    The greatest fixed point of Baier & Katoen 2008, section 10.6.1 (algorithm for
    ``Pmax(F B) = 1``): start from the states that can reach the target (``can``); keep
    those that can reach it through pairs whose successors all stay in the set; repeat
    until nothing is removed. Between two reachability searches, the states (other than
    targets) left without any pair that stays in the set are removed frontier by frontier
    (:func:`_cascade`), which they would be by the next searches one layer at a time. A
    graph computation: exact, no rounding. The searches are :func:`_reach_backward`'s
    (``rounds``: its breadth-first layers)."""
    reverse = None  # built when a cascade first needs it
    keep_states = can.copy()
    while True:
        leaves = np.zeros(K * A, dtype=bool)
        leaves[pair[~keep_states[dst]]] = True
        entry = ~leaves[pair]
        reached, step = _reach_backward_tree(K, src[entry], dst[entry], target, rounds)
        stay = reached & keep_states
        if np.array_equal(stay, keep_states):
            assert step is not None
            toward = np.zeros(src.size, dtype=bool)
            toward[entry] = step
            return stay, toward
        leaves[pair[~stay[dst]]] = True
        alive = stay & ~target
        flat = (enabled & alive[:, None]).reshape(-1) & ~leaves
        if reverse is None:
            reverse = _reverse_index(dst, K)
        _cascade(flat, alive, pair, dst, K, A, reverse)
        keep_states = alive | target


def _tree_towards(K: int, src: np.ndarray, act: np.ndarray, dst: np.ndarray,
                  goal: np.ndarray, states: np.ndarray, choice: np.ndarray,
                  rounds: int | None = None) -> None:
    """Set ``choice`` in ``states`` (in place) to the breadth-first tree towards ``goal``
    through the entries ``src -a-> dst`` (sorted by ``src``): each state plays a pair with
    an entry one step closer. Every state of ``states`` must reach ``goal`` through
    entries out of ``states`` (so the policy reaches ``goal`` almost surely while its
    pairs' entries stay in ``states`` or ``goal``, or lead where ``goal`` cannot be
    reached). By breadth-first layers (:func:`_layers_to_target`) when ``rounds`` is given
    and that many suffice, else by a graph search."""
    from scipy.sparse import csgraph

    # only the entries out of ``states`` matter: a path from one of them to ``goal`` that
    # passed through a third state would pass through a state that cannot reach it
    sel = states[src]
    src, act, dst = src[sel], act[sel], dst[sel]
    if rounds is not None:
        layered = _layers_to_target(src, dst, goal, rounds)
        if layered is not None:
            first = _first_per_group(src, layered[1])
            choice[src[first]] = act[first]
            return
    _, pred = csgraph.breadth_first_order(_reversed_from_root(K, src, dst, goal), K,
                                          directed=True, return_predecessors=True)
    step = states[src] & (pred[src] == dst)
    first = _first_per_group(src, step)
    choice[src[first]] = act[first]


def _layers_to_target(src: np.ndarray, dst: np.ndarray, target: np.ndarray, max_rounds: int
                      ) -> tuple[np.ndarray, np.ndarray] | None:
    """Breadth-first layers towards ``target`` over the entries ``src -> dst``, one
    vectorised step per layer (on small or shallow models it costs less than building a
    graph for :mod:`scipy.sparse.csgraph`): the states that can reach the target, and which
    entries lead from a state of layer ``d`` to one of layer ``d - 1`` (every state off the
    target that can reach it has one: the first per state is a breadth-first tree). None
    if more than ``max_rounds`` layers are needed (a deep model: search it instead)."""
    reached = np.array(target, dtype=bool)
    frontier = reached
    toward = np.zeros(src.size, dtype=bool)
    for _ in range(max_rounds + 1):
        step = frontier[dst] & ~reached[src]
        if not step.any():
            return reached, toward
        toward |= step
        frontier = np.zeros_like(reached)
        frontier[src[step]] = True
        reached = reached | frontier
    return None


class _Problem:
    """The entries of a reachability problem, its undecided states and target."""

    def __init__(self, K: int, A: int, pair: np.ndarray, src: np.ndarray, act: np.ndarray,
                 dst: np.ndarray, prob: np.ndarray, enabled: np.ndarray, maybe: np.ndarray,
                 target: np.ndarray) -> None:
        self.K, self.A = K, A
        self.pair, self.src, self.act, self.dst, self.prob = pair, src, act, dst, prob
        self.enabled, self.maybe, self.target = enabled, maybe, target

    def end_components(self) -> tuple[np.ndarray, np.ndarray]:
        """The maximal end components of the undecided states (``[K]`` index or -1) and
        the pairs that stay inside them (``[K, A]``)."""
        K, A, maybe = self.K, self.A, self.maybe
        allowed = self.enabled & maybe[:, None]
        # an end component inside the undecided states needs a pair that stays among them;
        # with one action per state (a Markov chain) it would be closed and miss the target
        leaves = np.zeros(K * A, dtype=bool)
        leaves[self.pair[~maybe[self.dst]]] = True
        if (self.enabled.sum(axis=1) <= 1).all() or not (allowed
                                                         & ~leaves.reshape(K, A)).any():
            return np.full(K, -1, dtype=np.int64), np.zeros_like(allowed)
        mec = maximal_end_components(K, A, self.src, self.act, self.dst, allowed)
        return mec, allowed

    def quotient(self, components: tuple[np.ndarray, np.ndarray] | None) -> _Quotient:
        """The undecided states as nodes (with ``components`` collapsed, if given) and the
        pairs leaving each node, sorted by node."""
        K, A, maybe, target = self.K, self.A, self.maybe, self.target
        mec, inner = components if components is not None else (
            np.full(K, -1, dtype=np.int64), np.zeros((K, A), dtype=bool))
        in_mec = mec >= 0
        n_mec = int(mec.max()) + 1 if in_mec.any() else 0
        node_of = np.full(K, -1, dtype=np.int64)
        node_of[in_mec] = mec[in_mec]
        single = maybe & ~in_mec
        node_of[single] = n_mec + np.arange(int(single.sum()))
        n_nodes = n_mec + int(single.sum())
        exit_pair = self.enabled & maybe[:, None] & ~(inner & in_mec[:, None])
        pk, pa = np.nonzero(exit_pair)
        if n_mec:
            order = stable_order(node_of[pk], n_nodes)
            pk, pa = pk[order], pa[order]
        pair_id = np.full(K * A, -1, dtype=np.int64)
        pair_id[pk * A + pa] = np.arange(pk.size)
        e_pair = pair_id[self.pair]
        sel = e_pair >= 0
        e_pair, e_dst, e_p = e_pair[sel], self.dst[sel], self.prob[sel]
        into = maybe[e_dst]
        matrix: Any
        if n_nodes <= DENSE_MAX_NODES:  # small: dense rows, LAPACK solves, no sparse overhead
            matrix = np.zeros((pk.size, n_nodes))
            np.add.at(matrix, (e_pair[into], node_of[e_dst[into]]), e_p[into])
        else:
            # CSR from the entries sorted by pair (they are, unless the pairs were
            # renumbered by node above); repeated columns (entries of one pair into one
            # collapsed component) stay repeated: products and LU sum them
            e_row, e_col, e_val = e_pair[into], node_of[e_dst[into]], e_p[into]
            if e_row.size and bool((e_row[1:] < e_row[:-1]).any()):
                order = stable_order(e_row, pk.size)
                e_row, e_col, e_val = e_row[order], e_col[order], e_val[order]
            indptr = np.zeros(pk.size + 1, dtype=np.int64)
            np.cumsum(np.bincount(e_row, minlength=pk.size), out=indptr[1:])
            matrix = sp.csr_matrix((e_val, e_col, indptr), shape=(pk.size, n_nodes))
        to_target = np.bincount(e_pair, weights=e_p * target[e_dst], minlength=pk.size)
        q = _Quotient(node_of, n_nodes, node_of[pk], matrix, to_target)
        q.pair_state, q.pair_action, q.pair_id = pk, pa, pair_id
        q.problem, q.components = self, (mec, inner, n_mec)
        q.collapsed = components is not None
        return q


def _policy_iteration(q: _Quotient, start: np.ndarray | None) -> tuple[_Quotient, np.ndarray,
                                                                         int]:
    """Policy iteration on the quotient from the pairs of ``start`` (an action per state,
    read at each node's first state; by default a few value-iteration sweeps and greedy);
    returns the quotient (with ``values`` set), the chosen pair per node and the number
    of evaluations. Raises :class:`SolverError` if an evaluation fails."""
    n_nodes, n_pairs = q.n_nodes, q.pair_node.size
    counts = np.diff(np.append(q.starts, n_pairs))
    x = np.zeros(n_nodes)
    if n_pairs == n_nodes:  # one pair per node: nothing to choose
        chosen = np.arange(n_nodes)
    elif start is not None:
        A = q.problem.A
        chosen = q.pair_id[q.pair_state[q.starts] * A + start[q.pair_state[q.starts]]]
        if (chosen < 0).any():
            raise SolverError("the start policy plays a pair that is not in the quotient")
    else:
        for _ in range(SEED_SWEEPS):
            x = q.best(x)
        q_val = q.q_values(x)
        chosen = _first_per_group(q.pair_node, q_val >= np.repeat(x, counts))
    dense = isinstance(q.matrix, np.ndarray)
    eye: Any = np.eye(n_nodes) if dense else None
    iterations = 0
    v = x
    # inexact policy iteration: early evaluations only as precise as the improvements
    # they decide; the last one (no switch left) is solved to FINAL_PRECISION (small
    # systems, and single policies, are solved to that precision at once)
    precision = (1e-8 if n_nodes > ITERATIVE_MIN_UNKNOWNS and n_pairs > n_nodes
                 else FINAL_PRECISION)
    while True:
        iterations += 1
        if dense:
            with np.errstate(all="raise"):
                try:
                    v = np.linalg.solve(eye - q.matrix[chosen], q.to_target[chosen])
                except (np.linalg.LinAlgError, FloatingPointError):
                    raise SolverError("a policy evaluation of the reachability problem is "
                                      "singular") from None
            if not np.isfinite(v).all() or np.abs(v).max(initial=0.0) > 1.0 + 1e-6:
                raise SolverError("a policy evaluation of the reachability problem failed")
        else:
            v, direct = _proper_solve(_policy_system(q.matrix, chosen), q.to_target[chosen],
                                      v, precision)
            if direct:  # an LU solve: no more precise evaluation to come
                precision = FINAL_PRECISION
        if n_pairs == n_nodes and precision <= FINAL_PRECISION:
            break  # a single policy: nothing to improve
            if np.abs(v).max(initial=0.0) > 1.0 + 1e-6:
                raise SolverError("a policy evaluation of the reachability problem failed")
        q_val = q.q_values(v)
        best = np.maximum.reduceat(q_val, q.starts)
        gap = best - v
        better = gap > max(1e-12, 10 * precision)
        if not better.any():
            if precision <= FINAL_PRECISION:
                break
            precision = FINAL_PRECISION
            continue
        if iterations > 10 * n_nodes + 10:
            break
        first_best = _first_per_group(q.pair_node, q_val >= np.repeat(best, counts))
        chosen = np.where(better, first_best, chosen)
        precision = max(FINAL_PRECISION, min(precision, 1e-3 * float(gap.max())))
    q.values = np.clip(v, 0.0, 1.0)
    return q, chosen, iterations


def proper_solve(matrix: sp.csr_matrix, rhs: np.ndarray, guess: np.ndarray | None = None,
                 precision: float = 1e-14) -> np.ndarray:
    """Solve ``(I - P) x = rhs`` (``matrix`` is ``I - P``) for the substochastic ``P`` of a
    policy that leaves the undecided states almost surely (so ``I - P`` is non-singular).

    Sparse LU (:func:`objspec.mdp.linear.splu_in_order`) at once when the system is small
    (at most :data:`ITERATIVE_MIN_UNKNOWNS` unknowns) or its envelope
    (:func:`objspec.mdp.linear.matrix_envelope`, which bounds the fill of LU in the given
    order) is at most :data:`DIRECT_MAX_ENVELOPE` times its entries plus its size: chains
    and models built by state-space exploration (PRISM), on which BiCGSTAB is erratic and
    LU costs a few matrix-vector products. Otherwise BiCGSTAB warm-started from ``guess``
    (default 0), accepted when its true residual is at most ``precision`` (relative to
    ``max(1, |rhs|)``), else sparse LU (random-graph products fill LU factors densely).
    BiCGSTAB gives up early when its residual is not contracting fast enough to reach the
    precision within its iteration budget.

    Raises
    ------
    SolverError
        If sparse LU returns a non-finite solution.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> proper_solve(sp.csr_matrix(np.array([[1.0, -0.5], [0.0, 1.0]])),
    ...              np.array([0.0, 0.5])).tolist()
    [0.25, 0.5]
    """
    return _proper_solve(matrix, rhs, guess, precision)[0]


def _proper_solve(matrix: sp.csr_matrix, rhs: np.ndarray, guess: np.ndarray | None,
                  precision: float) -> tuple[np.ndarray, bool]:
    """:func:`proper_solve`, and whether the solution is sparse LU's."""
    from objspec.mdp.linear import NATURAL_ORDER_ENVELOPE, envelope_of, splu_in_order

    csr = matrix if sp.isspmatrix_csr(matrix) else sp.csr_matrix(matrix)
    csc = csr.tocsc()
    n = csr.shape[0]
    # a small system with at least n entries has an envelope of at most
    # n^2 <= NATURAL_ORDER_ENVELOPE * (nnz + n): LU in its own order, no need to measure
    small = n <= min(ITERATIVE_MIN_UNKNOWNS, 2 * NATURAL_ORDER_ENVELOPE) and csr.nnz >= n
    envelope = 0 if small else envelope_of(csc, csr)
    if n > ITERATIVE_MIN_UNKNOWNS and envelope > DIRECT_MAX_ENVELOPE * (csr.nnz + n):
        limit = precision * max(1.0, float(np.abs(rhs).max(initial=0.0)))
        with np.errstate(all="ignore"):
            x = _bicgstab(csr, rhs, np.zeros(rhs.shape) if guess is None else guess,
                          limit / 4, BICGSTAB_MAX_ITERATIONS)
        if np.isfinite(x).all() and float(np.abs(rhs - csr @ x).max(initial=0.0)) <= limit:
            return x, False
    try:
        out = np.asarray(splu_in_order(csc, envelope).solve(rhs))
    except RuntimeError:  # "Factor is exactly singular"
        out = np.full(rhs.shape, np.nan)
    if not np.isfinite(out).all():
        raise SolverError(
            f"a sparse LU solve of a reachability system ({n} unknowns) "
            "returned a non-finite solution; please report this model")
    return out, True


def _bicgstab(matrix: sp.csr_matrix, rhs: np.ndarray, x: np.ndarray, atol: float,
              max_iterations: int) -> np.ndarray:
    """Jacobi-preconditioned BiCGSTAB (van der Vorst 1992) from ``x``, stopped when the
    recursive residual is at most ``atol`` (sup norm), after ``max_iterations``, or at a
    checkpoint (every :data:`BICGSTAB_WINDOW` iterations) where the contraction of the
    best residual over the last two windows, continued for the remaining iterations,
    would not reach ``atol`` (stagnation or divergence); the caller checks the true
    residual. Plain numpy on the CSR matrix: no operator wrapping, which dominates scipy's
    version on systems of a few thousand unknowns."""
    diagonal = matrix.diagonal()
    diagonal[diagonal == 0] = 1.0
    x = np.array(x, dtype=np.float64)
    r = rhs - matrix @ x
    best = float(np.abs(r).max(initial=0.0))
    if best <= atol:
        return x
    history = [best]  # the best residual at each checkpoint
    r_hat = r.copy()
    rho = alpha = omega = 1.0
    v = np.zeros_like(r)
    p = np.zeros_like(r)
    for iteration in range(1, max_iterations + 1):
        rho_new = float(r_hat @ r)
        if rho_new == 0.0:
            break
        p = r + (rho_new / rho) * (alpha / omega) * (p - omega * v)
        y = p / diagonal
        v = matrix @ y
        denominator = float(r_hat @ v)
        if denominator == 0.0:  # breakdown: the caller falls back to LU
            break
        alpha = rho_new / denominator
        s = r - alpha * v
        if float(np.abs(s).max(initial=0.0)) <= atol:
            x += alpha * y
            break
        z = s / diagonal
        t = matrix @ z
        tt = float(t @ t)
        if tt == 0.0:
            break
        omega = float(t @ s) / tt
        x += alpha * y + omega * z
        r = s - omega * t
        size = float(np.abs(r).max(initial=0.0))
        if size <= atol or omega == 0.0:
            break
        best = min(best, size)
        rho = rho_new
        if iteration % BICGSTAB_WINDOW == 0:
            history.append(best)
            if len(history) >= 3:
                rate = (best / history[-3]) ** (1.0 / (2 * BICGSTAB_WINDOW))
                if not rate < 1.0 or best * rate ** (max_iterations - iteration) > atol:
                    break
    return x
