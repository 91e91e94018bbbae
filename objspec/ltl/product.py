"""Products of an environment with a deterministic machine, and exact satisfaction probabilities.

The machine (an omega-automaton or a reward machine) reads one letter per environment step.
With state labels the letter read at step ``t`` is ``L(s_t)`` (the word is ``L(s_0) L(s_1)
...``, as in PRISM and Storm); with transition labels it is ``L(s_t, a_t, s_{t+1})``. Either
way the product lives on pairs ``(s, q)``: from ``(s, q)``, with probability
``pi(a|s) tau(s'|s, a)``, it moves to ``(s', delta(q, L))`` and takes the machine transition
``(q, L)``. :class:`ProductSkeleton` builds this structure once per (environment, machine),
over the pairs reachable under some action, with one entry per ``(s, q, a, s')``;
a policy only reweights its entries.

For a Markov chain and a deterministic automaton, a run's acceptance is decided in the bottom
strongly connected component (BSCC) it ends in: almost surely it takes every transition of
that BSCC infinitely often, so the BSCC is accepting iff the set of automaton transitions it
contains satisfies the Emerson-Lei condition. The satisfaction probability is the probability
of reaching an accepting BSCC: one sparse linear solve. BSCCs come from the exact supports of
``pi`` and ``tau`` (never from thresholds); solves are float64 (sparse LU, or a batched BiCGSTAB
accepted by its true residual) or exact rationals.

Examples
--------
>>> import numpy as np
>>> from objspec import FiniteMDP, Policy
>>> from objspec.ltl.translation import translate
>>> from objspec.ltl.product import satisfaction_probabilities
>>> P = np.zeros((2, 2, 2)); P[0, 0] = [0.5, 0.5]; P[0, 1] = [1, 0]; P[1, :, 1] = 1
>>> env = FiniteMDP(P, [1.0, 0.0], labels={1: ["goal"]})
>>> satisfaction_probabilities(env, translate("F goal"), [Policy([[1, 0], [1, 0]]),
...                                                      Policy([[0, 1], [1, 0]])])
array([1., 0.])
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from objspec.errors import (
    InvalidModelError,
    InvalidSpecificationError,
    SolverError,
)
from objspec.ltl.automaton import DeterministicAutomaton
from objspec.ltl.caches import register_cache
from objspec.ltl.factored import FactoredAutomaton
from objspec.mdp.chunks import in_chunks, worker_count
from objspec.mdp.exact import solve_rational
from objspec.mdp.graph import adjacency, bottom_components, breadth_first_order, reachable
from objspec.mdp.linear import batched_bicgstab
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import as_policy_batch, exact_policy_batch

__all__ = [
    "ProductSkeleton",
    "satisfaction_probabilities",
    "exact_satisfaction_probabilities",
    "environment_letters",
    "shared_skeleton",
    "MAX_EXACT_STATES",
]

#: Largest number of undecided product states solved in exact rational arithmetic.
MAX_EXACT_STATES = 600
#: Entries per block-diagonal batch of policy chains.
_BATCH_ENTRIES = 2_000_000


class Machine(Protocol):
    """What a product needs: propositions and a successor table over letters (a
    :class:`~objspec.ltl.factored.FactoredAutomaton` has no such table beyond 16
    propositions and is read through its components instead, see
    :func:`machine_successor_function`)."""

    @property
    def propositions(self) -> tuple[str, ...]: ...

    @property
    def successors(self) -> np.ndarray: ...

    @property
    def initial(self) -> int: ...


def environment_letters(env: FiniteMDP, propositions: tuple[str, ...]) -> np.ndarray:
    """The letter (bitmask over ``propositions``) of every entry of ``env.transition_matrix``.

    Entry ``e`` of the CSR matrix is the transition ``(s, a, s')`` with row ``s*A + a``; its
    letter is ``L(s)`` for state labels and ``L(s, a, s')`` for transition labels.
    """
    bit = {p: 1 << i for i, p in enumerate(propositions)}
    matrix = env.transition_matrix
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    labels = env.state_labels
    if labels is not None:
        # one membership test per (proposition, state): the machine reads few propositions,
        # a state may carry many labels
        per_state = np.zeros(env.n_states, dtype=np.int64)
        for p, b in bit.items():
            per_state[env.proposition_mask(p)] |= b
        return per_state[rows // env.n_actions]
    out = np.empty(matrix.nnz, dtype=np.int64)
    A = env.n_actions
    for e, (r, t) in enumerate(zip(rows.tolist(), matrix.indices.tolist(), strict=True)):
        s, a = divmod(r, A)
        out[e] = sum(bit.get(p, 0) for p in env.label(s, a, t))
    return out


#: A factored machine is tabulated over the distinct letters an environment reads when the
#: table ``[Q + 1, letters]`` has at most this many entries (else read pointwise).
FACTORED_TABLE_ENTRIES = 1 << 24


def machine_successor_function(
    machine: Machine, letters: np.ndarray | None = None,
) -> tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], int]:
    """``(successor, Q)``: ``successor(q, letters)`` gives, pointwise, the machine state
    after reading each letter in each state ``q``, with ``Q`` (the machine's state count)
    standing for "dead" both as an argument and as a result. A dense machine is read from
    its successor table; a :class:`~objspec.ltl.factored.FactoredAutomaton` from its
    components (no table over all letters), tabulated once over the distinct values of
    ``letters`` (the letters that will be asked) when that table is small
    (:data:`FACTORED_TABLE_ENTRIES`).

    Examples
    --------
    >>> from objspec.ltl.translation import translate
    >>> successor, Q = machine_successor_function(translate("a U b"))
    >>> Q, successor(np.array([0, 0, 0, Q]), np.array([0, 1, 2, 2])).tolist()
    (2, [2, 0, 1, 2])
    """
    if isinstance(machine, FactoredAutomaton):
        n = machine.n_states

        def factored(q: np.ndarray, letters: np.ndarray) -> np.ndarray:
            q, letters = np.broadcast_arrays(np.asarray(q), np.asarray(letters))
            out = np.full(q.shape, n, dtype=np.int64)
            live = q < n
            t = machine.next_states(q[live], letters[live])
            out[live] = np.where(t < 0, n, t)
            return out

        distinct = None if letters is None else np.unique(letters)
        if (distinct is None or distinct.size == 0
                or (n + 1) * distinct.size > FACTORED_TABLE_ENTRIES):
            return factored, n
        table = factored(np.arange(n + 1)[:, None], distinct[None, :])

        def tabulated(q: np.ndarray, asked: np.ndarray) -> np.ndarray:
            q, asked = np.broadcast_arrays(np.asarray(q), np.asarray(asked))
            assert distinct is not None
            cols = np.minimum(np.searchsorted(distinct, asked), distinct.size - 1)
            out = np.array(table[q, cols])
            other = distinct[cols] != asked  # a letter outside the table: read it pointwise
            if other.any():
                out[other] = factored(q[other], asked[other])
            return out

        return tabulated, n
    succ = np.asarray(machine.successors, dtype=np.int64)
    n = succ.shape[0]
    succ_ext = np.vstack([np.where(succ < 0, n, succ), np.full((1, succ.shape[1]), n)])

    def dense(q: np.ndarray, letters: np.ndarray) -> np.ndarray:
        return np.asarray(succ_ext[q, letters])

    return dense, n


#: Breadth-first layers explored one vectorised step at a time before the product search
#: switches to a single graph search (deep products: long chains and rings).
LAYERED_SEARCH_MAX = 256
#: The switch is taken when the candidate product ``S * (Q + 1)`` has at most this many states.
WHOLE_PRODUCT_MAX_STATES = 20_000_000


class ProductSkeleton:
    """The policy-independent product of ``env`` with a deterministic ``machine``.

    Product states are the pairs ``(s, q)`` reachable from ``(s0, q0)`` (``mu0(s0) > 0``)
    under some action sequence; ``q = machine.n_states`` stands for "the run has died"
    (missing automaton transition). Entries are stored in row order ``(k, a)``.

    Attributes
    ----------
    env_state, machine_state : ndarray ``[K]``
        The pair ``(s, q)`` of each product state ``k``.
    entry_source, entry_action, entry_target : ndarray ``[E]``
        Each entry: product state, action, successor product state.
    entry_env : ndarray ``[E]``
        Index of the entry's transition in ``env.transition_matrix`` (gives ``s'``, ``tau``).
    entry_letter : ndarray ``[E]``
        The letter read.
    initial_states, initial_weights : ndarray
        Product states ``(s, q0)`` for the root states ``s`` (by default those with
        ``mu0(s) > 0``) and their probabilities ``mu0(s)``.
    """

    def __init__(
        self, env: FiniteMDP, machine: Machine, roots: np.ndarray | None = None
    ) -> None:
        self.env = env
        self.machine = machine
        self.letters = environment_letters(env, tuple(machine.propositions))
        successor, n_machine = machine_successor_function(machine, self.letters)
        self.dead_state = n_machine
        S, A = env.n_states, env.n_actions
        Q1 = n_machine + 1
        matrix = env.transition_matrix
        indptr, indices = matrix.indptr, matrix.indices
        index_of = np.full(S * Q1, -1, dtype=np.int64)
        init_s = np.flatnonzero(env.initial > 0) if roots is None else np.asarray(roots)
        codes = init_s * Q1 + machine.initial
        index_of[codes] = np.arange(codes.size)
        order = [codes]
        frontier = codes
        n_known = codes.size
        while frontier.size:
            if len(order) > LAYERED_SEARCH_MAX and S * Q1 <= WHOLE_PRODUCT_MAX_STATES:
                # a deep product (a long chain or ring): one breadth-first search over the
                # whole candidate product instead of one vectorised step per layer
                rest = self._rest_in_bfs_order(frontier, successor, index_of, S, A, Q1)
                index_of[rest] = np.arange(n_known, n_known + rest.size)
                n_known += rest.size
                order.append(rest)
                break
            entries, row = _expand(frontier // Q1, A, indptr)
            q = (frontier % Q1)[row // A]
            nxt = indices[entries] * Q1 + successor(q, self.letters[entries])
            nxt = np.unique(nxt)
            new = nxt[index_of[nxt] < 0]
            index_of[new] = np.arange(n_known, n_known + new.size)
            n_known += new.size
            order.append(new)
            frontier = new
        all_codes = np.concatenate(order)
        self.n_states = int(all_codes.size)
        self.env_state = all_codes // Q1
        self.machine_state = all_codes % Q1
        entries, entry_row = _expand(self.env_state, A, indptr)
        # entry_row counts (k, a) rows in order; recover k and a
        self.entry_env = entries
        self.entry_source = entry_row // A
        self.entry_action = entry_row % A
        q = self.machine_state[self.entry_source]
        self.entry_letter = self.letters[entries]
        self.entry_machine_target = successor(q, self.entry_letter)
        self.entry_target = index_of[indices[entries] * Q1 + self.entry_machine_target]
        self.entry_probability = matrix.data[entries]
        self.roots = init_s
        self.initial_states = index_of[codes]
        self.initial_weights = env.initial[init_s]
        self.dead = self.machine_state == n_machine
        self._rows: sp.csr_matrix | None = None
        self._marks_table: tuple[np.ndarray, np.ndarray] | None = None

    def _rest_in_bfs_order(
        self, frontier: np.ndarray, successor: Callable[[np.ndarray, np.ndarray], np.ndarray],
        index_of: np.ndarray,
        S: int, A: int, Q1: int,
    ) -> np.ndarray:
        """Codes ``s * Q1 + q`` reachable from ``frontier`` and not yet numbered, in BFS order.

        The search runs on the graph of every candidate pair ``(s, q)`` (``S * Q1`` nodes,
        ``Q1`` edges per entry of the transition matrix) with a super-source joined to the
        frontier, so its cost does not grow with the number of layers.
        """
        matrix = self.env.transition_matrix
        n_rows = matrix.shape[0]
        row_of_entry = np.repeat(np.arange(n_rows), np.diff(matrix.indptr))
        source_state = row_of_entry // A
        letters = self.letters
        q = np.arange(Q1)
        src = (source_state[None, :] * Q1 + q[:, None]).ravel()
        dst = (matrix.indices[None, :] * Q1 + successor(q[:, None], letters[None, :])).ravel()
        visited = breadth_first_order(adjacency(S * Q1, src, dst), frontier)
        return visited[index_of[visited] < 0]

    def machine_marks(
        self, automaton: DeterministicAutomaton, states: np.ndarray, letters: np.ndarray
    ) -> np.ndarray:
        """``automaton.next_marks(states, letters)`` for letters this product reads; for
        a :class:`~objspec.ltl.factored.FactoredAutomaton` (the skeleton's machine) the
        marks are tabulated once over the distinct letters of the environment (as its
        successors are), when that table has at most :data:`FACTORED_TABLE_ENTRIES`
        entries."""
        if not isinstance(automaton, FactoredAutomaton) or automaton is not self.machine:
            return automaton.next_marks(states, letters)
        if self._marks_table is None:
            distinct = np.unique(self.letters)
            if distinct.size == 0 or automaton.n_states * distinct.size > FACTORED_TABLE_ENTRIES:
                return automaton.next_marks(states, letters)
            table = automaton.next_marks(np.arange(automaton.n_states)[:, None],
                                         distinct[None, :])
            self._marks_table = (distinct, table)
        distinct, table = self._marks_table
        states, letters = np.broadcast_arrays(np.asarray(states), np.asarray(letters))
        cols = np.minimum(np.searchsorted(distinct, letters), distinct.size - 1)
        out = np.array(table[states, cols])
        other = distinct[cols] != letters
        if other.any():
            out[other] = automaton.next_marks(states[other], letters[other])
        return out

    def transition_rows(self) -> sp.csr_matrix:
        """The entries as a CSR matrix ``(K*A, K)``; row ``k*A + a`` is ``tau`` from product
        state ``k`` under action ``a`` (built once)."""
        if self._rows is None:
            A = self.env.n_actions
            # the entries are in row order (k, a) and a row's targets are distinct (its
            # environment successors are): the CSR arrays directly, no COO pass
            indptr = np.zeros(self.n_states * A + 1, dtype=np.int64)
            np.cumsum(np.bincount(self.entry_source * A + self.entry_action,
                                  minlength=self.n_states * A), out=indptr[1:])
            self._rows = sp.csr_matrix(
                (self.entry_probability, self.entry_target, indptr),
                shape=(self.n_states * A, self.n_states),
            )
        return self._rows

    def self_loops(self) -> np.ndarray:
        """``[K, A]``: the probability that action ``a`` in product state ``k`` stays in ``k``."""
        A = self.env.n_actions
        loop = self.entry_source == self.entry_target
        return np.bincount((self.entry_source * A + self.entry_action)[loop],
                           weights=self.entry_probability[loop],
                           minlength=self.n_states * A).reshape(self.n_states, A)


#: How many recent products :func:`shared_skeleton` keeps (cleared by
#: :func:`objspec.ltl.clear_caches`).
SHARED_SKELETONS = 2
_SHARED: dict[tuple[int, int, bytes], ProductSkeleton] = {}
_SHARED_LOCK = threading.Lock()


def shared_skeleton(env: FiniteMDP, machine: Machine, roots: np.ndarray | None = None
                    ) -> ProductSkeleton:
    """``ProductSkeleton(env, machine, roots)``, shared with the last callers that asked
    for the same environment and machine (the same objects) and the same roots (by
    default those with ``mu0(s) > 0``): e.g. the LTL optimiser's product and the one its
    evaluator re-evaluates the returned policy on. A skeleton is never modified after it
    is built (its transition matrix is built once, on demand), so sharing it is safe; at
    most :data:`SHARED_SKELETONS` are kept.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.ltl.translation import translate
    >>> P = np.zeros((2, 1, 2)); P[:, 0, 1] = 1
    >>> env = FiniteMDP(P, [1, 0], labels={1: ["a"]})
    >>> a = translate("F a")
    >>> shared_skeleton(env, a) is shared_skeleton(env, a, np.array([0]))
    True
    """
    init = (np.flatnonzero(env.initial > 0) if roots is None
            else np.asarray(roots, dtype=np.int64))
    key = (id(env), id(machine), init.tobytes())
    with _SHARED_LOCK:
        found = _SHARED.get(key)
    # the skeleton holds both objects, so their ids cannot have been reused meanwhile
    if found is not None and found.env is env and found.machine is machine:
        return found
    sk = ProductSkeleton(env, machine, init)
    with _SHARED_LOCK:
        while len(_SHARED) >= SHARED_SKELETONS:
            _SHARED.pop(next(iter(_SHARED)))
        _SHARED[key] = sk
    return sk


def _clear_shared() -> None:
    with _SHARED_LOCK:
        _SHARED.clear()


register_cache(_clear_shared)


def _expand(states: np.ndarray, A: int, indptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entries of all rows ``(s, a)`` of the given states, and the running row number."""
    rows = (states[:, None] * A + np.arange(A)[None, :]).ravel()
    starts, ends = indptr[rows], indptr[rows + 1]
    counts = ends - starts
    total = int(counts.sum())
    row_of_entry = np.repeat(np.arange(rows.size), counts)
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    entries = np.repeat(starts, counts) + offsets
    return entries, row_of_entry


def accepting_targets(
    skeleton: ProductSkeleton,
    automaton: DeterministicAutomaton,
    n: int,
    entries: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
) -> np.ndarray:
    """Boolean mask of the product states in accepting BSCCs of a chain.

    ``entries`` index the skeleton's entries taken with positive probability; ``src``/``dst``
    are their (possibly block-offset) endpoints in a graph of ``n`` nodes. A BSCC's
    acceptance depends on the union and the intersection of the mark sets of its
    transitions (every transition of a BSCC is taken infinitely often, almost surely).
    """
    comp, bottom = bottom_components(adjacency(n, src, dst))
    return _accepting_components(skeleton, automaton, entries, comp[src], bottom)[comp]


def _accepting_components(
    sk: ProductSkeleton,
    automaton: DeterministicAutomaton,
    entries: np.ndarray,
    source_comp: np.ndarray,
    bottom: np.ndarray,
) -> np.ndarray:
    """Which components are accepting BSCCs, given the skeleton entries taken, the
    component of each one's source, and which components are bottom."""
    n_comp = bottom.size
    bottoms = np.flatnonzero(bottom)
    accepting = np.zeros(n_comp, dtype=bool)
    if not bottoms.size:
        return accepting
    # only the entries inside bottom components matter; number those components 0 .. B-1
    local = np.full(n_comp, -1, dtype=np.int64)
    local[bottoms] = np.arange(bottoms.size)
    c = local[source_comp]
    keep = c >= 0
    c = c[keep]
    kept = entries[keep]
    B = bottoms.size
    q = sk.machine_state[sk.entry_source[kept]]
    dead_entry = q == sk.dead_state
    entry_marks = np.where(
        dead_entry, 0,
        sk.machine_marks(automaton, np.minimum(q, automaton.n_states - 1),
                         sk.entry_letter[kept]),
    )
    total = np.bincount(c, minlength=B)
    union = np.zeros(B, dtype=np.int64)
    inter = np.zeros(B, dtype=np.int64)
    for j in range(automaton.n_sets):
        with_j = np.bincount(c[((entry_marks >> j) & 1).astype(bool)], minlength=B)
        union |= (with_j > 0).astype(np.int64) << j
        inter |= ((with_j == total) & (total > 0)).astype(np.int64) << j
    live = np.ones(B, dtype=bool)
    live[c[dead_entry]] = False  # components of the "dead" automaton state reject
    candidates = np.flatnonzero(live)
    if candidates.size:
        # the condition is evaluated once per distinct (union, intersection) pair
        pairs, which = np.unique(np.stack([union[candidates], inter[candidates]], axis=1),
                                 axis=0, return_inverse=True)
        holds = np.array([automaton.acceptance.holds(int(u), int(i)) for u, i in pairs.tolist()],
                         dtype=bool)
        accepting[bottoms[candidates]] = holds[which.ravel()]
    return accepting


def _check_automaton(env: FiniteMDP, automaton: DeterministicAutomaton) -> None:
    missing = sorted(set(automaton.propositions) - set(env.propositions))
    if missing:
        have = ", ".join(map(repr, env.propositions)) or "none"
        raise InvalidSpecificationError(
            f"the automaton reads the proposition(s) {', '.join(map(repr, missing))}, which the "
            f"environment does not have (its propositions: {have})"
        )


def satisfaction_probabilities(
    env: FiniteMDP,
    automaton: DeterministicAutomaton,
    policies: Any,
    *,
    skeleton: ProductSkeleton | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """Probability that the label word is accepted by ``automaton``, for each policy.

    Parameters
    ----------
    env : FiniteMDP
        The labelled environment.
    automaton : DeterministicAutomaton
        E.g. from :func:`objspec.ltl.translation.translate` or HOA.
    policies : Policy, array_like or sequence
        One policy ``[S, A]`` or a batch ``[N, S, A]``.
    skeleton : ProductSkeleton, optional
        A prebuilt product of ``env`` and ``automaton`` (reused across calls).
    workers : int, optional
        Threads that solve chunks of the batch in parallel. The default is the number of
        CPUs this process may use, at most
        :data:`~objspec.mdp.chunks.MAX_DEFAULT_WORKERS`; ``1`` solves the chunks one
        after the other. The results do not depend on it (the chunks do not).

    Returns
    -------
    numpy.ndarray
        ``[N]`` float64 probabilities (a 1-element array for one policy).

    Raises
    ------
    InvalidSpecificationError
        If the automaton reads a proposition the environment does not have.
    InvalidPolicyError
        If the policies do not fit the environment.
    ObjspecError
        If ``workers`` is not a positive integer.

    Notes
    -----
    The batch is cut into chunks of about :data:`~objspec.mdp.chunks.CHUNK_ENTRIES`
    product entries times policies (:func:`objspec.mdp.chunks.in_chunks`), solved by
    ``workers`` threads. Within a chunk, policies with the same support
    share one qualitative analysis (bottom SCCs and their acceptance; the states that cannot
    reach an accepting BSCC, probability 0, and those that cannot reach a rejecting one,
    probability 1, as in Storm's prob0/prob1); distinct supports are analysed together as
    one block-diagonal graph. The linear systems of the remaining states of all policies are
    solved together: one sparse LU of the block-diagonal system for products of at most
    :data:`DIRECT_MAX_UNKNOWNS` states, otherwise a batched BiCGSTAB on the Jacobi-scaled
    system ``(I - C) x = c`` run as ``(I - C^2) z = c``, ``x = (I + C) z``, which must reach a
    relative residual of :data:`RESIDUAL_TOLERANCE` (sparse LU is the fallback). Batches of
    deterministic policies skip the support grouping: their chains are analysed as one
    block-diagonal graph restricted, for the solve, to the states reachable from ``mu0``.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.ltl.translation import translate
    >>> env = FiniteMDP(np.full((2, 1, 2), 0.5), [1.0, 0.0], labels={1: ["a"]})
    >>> satisfaction_probabilities(env, translate("G F a & F G !a"), Policy.uniform(2, 1))
    array([0.])
    >>> satisfaction_probabilities(env, translate("X a"), Policy.uniform(2, 1))
    array([0.5])
    """
    _check_automaton(env, automaton)
    batch, _ = as_policy_batch(policies, env.n_states, env.n_actions, enabled=env.enabled)
    threads = worker_count(workers)
    sk = skeleton if skeleton is not None else ProductSkeleton(env, automaton)
    out = in_chunks(batch.shape[0], sk.entry_env.size, threads,
                    lambda lo, hi: _solve_block(sk, automaton, batch[lo:hi]))
    bad = ~np.isfinite(out)
    if bad.any():
        raise InvalidModelError(
            f"the linear solve for policy {int(np.argmax(bad))} did not give a finite "
            "probability; the chain is numerically singular"
        )
    return np.clip(out, 0.0, 1.0)


def _solve_block(
    sk: ProductSkeleton, automaton: DeterministicAutomaton, batch: np.ndarray
) -> np.ndarray:
    deterministic = _deterministic_choices(batch)
    if deterministic is not None:
        # the choice in product state k is the choice in its environment state
        choices, weight = deterministic
        return _deterministic_probabilities(
            sk, automaton, choices[:, sk.env_state], weight[:, sk.env_state]
        )
    return policy_probabilities(sk, automaton, batch[:, sk.env_state, :])


#: Products up to this many states are solved by sparse LU; larger ones by BiCGSTAB.
DIRECT_MAX_UNKNOWNS = 1500
#: Policies using at most this many actions per state on average get their own sparse rows
#: in the iterative solver; denser (stochastic) ones share the skeleton's matrix.
SPARSE_POLICY_ACTIONS = 2.0
#: Iterations of BiCGSTAB after which a system is left to sparse LU.
MAX_ITERATIONS = 5000
#: Relative residual (sup norm) an iterative solution must reach; else sparse LU is used.
#: Checked against a direct solve on the benchmark: errors stay below 1e-12.
RESIDUAL_TOLERANCE = 1e-12


def chain_structure(
    sk: ProductSkeleton, automaton: DeterministicAutomaton, support: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Qualitative analysis of chains given by their supports ``[U, E]`` (entries used).

    Returns boolean ``[U, K]`` arrays: the states of probability 1 (those that cannot reach
    a rejecting BSCC, the accepting BSCCs included) and the undecided states, which can
    reach both an accepting and a rejecting BSCC (the unknowns of the linear system).
    Every other state has probability 0. The ``U`` chains are analysed as one
    block-diagonal graph; states unreachable from ``mu0`` are analysed too (it is cheaper
    than excluding them, and harmless).
    """
    K, U = sk.n_states, support.shape[0]
    sure_out = np.zeros((U, K), dtype=bool)
    maybe_out = np.zeros((U, K), dtype=bool)
    chunk = max(1, _BATCH_ENTRIES // max(1, sk.entry_env.size))
    for start in range(0, U, chunk):
        block = support[start : start + chunk]
        N = block.shape[0]
        pol, ent = np.nonzero(block)  # row-major: sources come out sorted
        src = pol * K + sk.entry_source[ent]
        dst = pol * K + sk.entry_target[ent]
        n = N * K
        graph = adjacency(n, src, dst)
        comp, bottom = bottom_components(graph)
        accepting = _accepting_components(sk, automaton, ent, comp[src], bottom)
        target = accepting[comp]
        maybe = np.zeros(n, dtype=bool)
        sure = target
        if target.any():
            # as CSC, the graph holds the CSR structure of its reverse for both searches
            reverse = graph.tocsc()
            sure = _sure_states(reverse, (bottom & ~accepting)[comp])
            maybe = reachable(reverse, np.flatnonzero(target), backward=True) & ~sure
        sure_out[start : start + N] = sure.reshape(N, K)
        maybe_out[start : start + N] = maybe.reshape(N, K)
    return sure_out, maybe_out


def _sure_states(graph: sp.spmatrix, rejecting: np.ndarray) -> np.ndarray:
    """The states of probability 1: those from which no state of a rejecting BSCC
    (``rejecting``) is reachable (``graph`` best as CSC: its structure is the reversed
    graph's CSR). Almost every run ends in a BSCC, so they surely end in an accepting one.
    """
    if not rejecting.any():
        return np.ones(rejecting.size, dtype=bool)
    return ~reachable(graph, np.flatnonzero(rejecting), backward=True)


def _bicgstab_to_tolerance(
    apply: Callable[[np.ndarray], np.ndarray],
    b: np.ndarray,
    *,
    systems_axis: int,
    diagonal: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`objspec.mdp.linear.batched_bicgstab` run until each system's residual
    ``||b_c - A x_c||_inf`` is at most :data:`RESIDUAL_TOLERANCE` ``* max(1, ||b_c||_inf)``
    (or it breaks down); callers check the true residual of the result."""

    def sup(u: np.ndarray) -> np.ndarray:
        return np.abs(u).max(axis=1 - systems_axis, initial=0.0)

    return batched_bicgstab(apply, b, RESIDUAL_TOLERANCE * np.maximum(1.0, sup(b)), sup,
                            MAX_ITERATIONS, diagonal=diagonal, systems_axis=systems_axis)


def finite_spsolve(matrix: sp.spmatrix, rhs: np.ndarray) -> np.ndarray:
    """``scipy.sparse.linalg.spsolve``, raising :class:`~objspec.errors.SolverError` instead
    of returning a non-finite solution (every product system objspec builds is nonsingular,
    so that would be a numerical failure, never a property of the specification).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> finite_spsolve(sp.csc_matrix(np.array([[2.0, 0.0], [0.0, 4.0]])), np.ones(2)).tolist()
    [0.5, 0.25]
    """
    out = np.atleast_1d(spsolve(sp.csc_matrix(matrix), rhs))
    if not np.isfinite(out).all():
        raise SolverError(
            f"a sparse LU solve of a product system ({matrix.shape[0]} unknowns) returned a "
            "non-finite solution; please report this model"
        )
    return out


def _support_groups(support: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the first policy of each distinct support, and each policy's group."""
    index: dict[bytes, int] = {}
    first: list[int] = []
    group = np.empty(support.shape[0], dtype=np.int64)
    for i, row in enumerate(np.packbits(support, axis=1)):
        key = row.tobytes()
        g = index.get(key)
        if g is None:
            g = index[key] = len(first)
            first.append(i)
        group[i] = g
    return np.array(first, dtype=np.int64), group


def _deterministic_choices(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """For policies ``weights[n, k, a]`` that are all deterministic (one action of positive
    probability in every state): the action ``[N, K]`` and its probability ``[N, K]``;
    else None."""
    if weights.size == 0:
        return None
    positive = weights > 0
    if not (np.count_nonzero(positive, axis=2) == 1).all():
        return None
    choices = np.argmax(positive, axis=2)
    return choices, np.take_along_axis(weights, choices[:, :, None], axis=2)[:, :, 0]


def _row_pointer(sk: ProductSkeleton) -> np.ndarray:
    """``[K*A + 1]``: the skeleton's entries of row ``(k, a)`` are ``ptr[k*A+a] : ptr[k*A+a+1]``
    (entries are stored in row order)."""
    A = sk.env.n_actions
    ptr = np.zeros(sk.n_states * A + 1, dtype=np.int64)
    np.cumsum(np.bincount(sk.entry_source * A + sk.entry_action, minlength=sk.n_states * A),
              out=ptr[1:])
    return ptr


def _gather_rows(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For CSR ``indptr`` and selected ``rows``: the positions of their entries, in row order,
    and the new indptr."""
    starts = indptr[rows]
    counts = indptr[rows + 1] - starts
    new = np.zeros(rows.size + 1, dtype=np.int64)
    np.cumsum(counts, out=new[1:])
    pos = np.arange(new[-1], dtype=np.int64)
    pos += np.repeat(starts - new[:-1], counts)
    return pos, new


def _deterministic_probabilities(
    sk: ProductSkeleton, automaton: DeterministicAutomaton, choices: np.ndarray,
    weight: np.ndarray,
) -> np.ndarray:
    """:func:`policy_probabilities` for deterministic policies (``choices[n, k]``: the action
    of policy ``n`` in product state ``k``, taken with probability ``weight[n, k]``, 1 up to
    rounding).

    All policies' chains form one block-diagonal graph (one row per product state: the
    chosen action's entries), analysed with single calls: forward reachability from the
    initial states, strongly connected components, bottom SCCs and their acceptance,
    backward reachability from the accepting ones. The unknowns (reachable, undecided
    states) of each policy are numbered contiguously and solved together.
    """
    K, A = sk.n_states, sk.env.n_actions
    N = choices.shape[0]
    n = N * K
    # ---- the block-diagonal chain: row n*K + k holds the entries of (k, choices[n, k])
    rows = (np.arange(K, dtype=np.int64) * A)[None, :] + choices
    ent, indptr = _gather_rows(_row_pointer(sk), rows.ravel())
    counts = np.diff(indptr)
    per_block = np.add.reduceat(counts, np.arange(0, n, K)) if n else counts
    # 32-bit indices (faster sparse products) when node and entry counts allow
    largest = max(n + 1, int(indptr[-1]) + N * sk.initial_states.size)
    index_type = np.int32 if largest < 2**31 - 1 else np.int64
    cols = sk.entry_target[ent].astype(index_type)
    cols += np.repeat((np.arange(N) * K).astype(index_type), per_block)
    prob = sk.entry_probability[ent]
    if not (weight == 1.0).all():
        prob = prob * np.repeat(weight.ravel(), counts)
    indptr = indptr.astype(index_type)
    # ---- qualitative analysis on the disjoint union of the N chains
    init = (np.arange(N, dtype=np.int64)[:, None] * K + sk.initial_states[None, :]).ravel()
    graph = sp.csr_matrix((prob, cols, indptr), shape=(n, n))
    reach = reachable(graph, init)
    comp, bottom = bottom_components(graph)
    src_comp = np.repeat(comp, counts)
    accepting = _accepting_components(sk, automaton, ent, src_comp, bottom)
    target = accepting[comp]
    # states that can reach an accepting BSCC: BFS on the reversed graph (reachability on
    # the condensation instead is slower when the product has many small SCCs)
    reverse = graph.tocsc()  # its (indptr, indices) are the CSR structure of the transpose
    can = reachable(reverse, np.flatnonzero(target), backward=True)
    # probability 1: the states that cannot reach a rejecting BSCC (as Storm's prob1)
    target = _sure_states(reverse, (bottom & ~accepting)[comp])
    unknown = can & ~target & reach
    values = target.astype(np.float64)
    if unknown.any():
        values[unknown] = _solve_unknowns(sk, graph, unknown, target, choices, weight)
    values = np.clip(values.reshape(N, K), 0.0, 1.0)
    return values[:, sk.initial_states] @ sk.initial_weights


def _solve_unknowns(
    sk: ProductSkeleton, graph: sp.csr_matrix, unknown: np.ndarray, target: np.ndarray,
    choices: np.ndarray, weight: np.ndarray,
) -> np.ndarray:
    """Reach probabilities of the ``unknown`` states of the block-diagonal chain ``graph``
    (``N`` blocks of ``K`` states), in the order of ``np.flatnonzero(unknown)``.

    Each block's unknowns are renumbered ``0 .. m_n - 1`` and padded to ``M = max m_n``, so
    that the systems form ``[N, M]`` arrays: one sparse LU of the block-diagonal system for
    small products, else the batched BiCGSTAB (sparse LU for a policy that does not reach
    the residual tolerance).
    """
    N, K = choices.shape
    idx = np.flatnonzero(unknown)
    block = idx // K
    m = np.bincount(block, minlength=N)
    M = int(m.max())
    first = np.zeros(N, dtype=np.int64)
    np.cumsum(m[:-1], out=first[1:])
    slot = block * M + (np.arange(idx.size) - first[block])
    size = N * M
    index_type = np.int32 if max(size + 1, graph.nnz) < 2**31 - 1 else np.int64
    pos = np.full(unknown.size, -1, dtype=index_type)
    pos[idx] = slot
    e, rptr = _gather_rows(graph.indptr, idx)
    col = graph.indices[e]
    p = graph.data[e]
    counts = np.diff(rptr)
    row_slot = np.repeat(slot, counts)
    hit = target[col]
    rhs = np.bincount(row_slot[hit], weights=p[hit], minlength=size)
    # off-diagonal entries among unknowns, and the self-loops (D = I - diag(Q))
    loop = col == np.repeat(idx, counts)
    off = unknown[col] & ~loop
    rs, cs, ps = row_slot[off], pos[col[off]], p[off]
    diagonal = 1.0 - np.bincount(row_slot[loop], weights=p[loop], minlength=size)
    indptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(rs, minlength=size), out=indptr[1:])
    if K <= DIRECT_MAX_UNKNOWNS:
        q = sp.csr_matrix((ps, cs, indptr.astype(index_type)), shape=(size, size))
        matrix = (sp.diags(diagonal, format="csr") - q).tocsc()
        return finite_spsolve(matrix, rhs)[slot]
    inverse = None
    if loop.any():
        # Jacobi preconditioning folded into the matrix: solve (I - Q) D^-1 y = b, whose
        # matrix is I - Q_off D^-1 (unit diagonal), then x = D^-1 y
        inverse = 1.0 / diagonal
        ps = ps * inverse[cs]
    q = sp.csr_matrix((ps, cs, indptr.astype(index_type)), shape=(size, size))
    x, ok = solve_block_diagonal(q, rhs.reshape(N, M))
    if inverse is not None:
        x *= inverse.reshape(N, M)
    for j in np.flatnonzero(~ok).tolist():
        pick = choices[j][sk.entry_source]
        w = np.where(sk.entry_action == pick, weight[j][sk.entry_source], 0.0)
        states = slice(j * K, (j + 1) * K)
        column = _direct_column(sk, w, unknown[states], target[states].astype(np.float64))
        x[j, : m[j]] = column[np.flatnonzero(unknown[states])]
    return x.ravel()[slot]


def solve_block_diagonal(q: sp.csr_matrix, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``(I - q) x = b`` for ``N`` independent systems at once.

    ``q`` is block diagonal with ``N`` blocks of ``M`` rows (``b`` is ``[N, M]``), nonnegative,
    with ``rho(q) < 1`` (e.g. the transient part of a Markov chain, discounted or not, with a
    Jacobi scaling folded in). Polynomial preconditioning: BiCGSTAB on ``(I - q^2) z = b``,
    then ``x = (I + q) z`` (``I + q`` is invertible as ``rho(q) < 1``), which takes about half
    the iterations for the same number of products with ``q``. A system whose true residual
    ``||b - (I - q) x||_inf`` stays above :data:`RESIDUAL_TOLERANCE` ``* max(1, ||b||_inf)``
    is restarted once from ``x`` on its own. Returns ``x`` ``[N, M]`` and which systems met
    the tolerance (the caller falls back to a direct solve for the others).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> q = sp.csr_matrix(np.array([[0.0, 0.5, 0, 0], [0.5, 0, 0, 0],
    ...                             [0, 0, 0, 0.9], [0, 0, 0.0, 0]]))
    >>> x, ok = solve_block_diagonal(q, np.array([[1.0, 1.0], [1.0, 1.0]]))
    >>> np.round(x, 12).tolist(), ok.tolist()
    ([[2.0, 2.0], [1.9, 1.0]], [True, True])
    """
    N, M = b.shape

    def step(v: np.ndarray) -> np.ndarray:  # [N, M] -> q v
        return (q @ v.ravel()).reshape(N, M)

    def apply(v: np.ndarray) -> np.ndarray:  # (I - q) v
        out = step(v)
        return np.subtract(v, out, out=out)

    def apply_preconditioned(v: np.ndarray) -> np.ndarray:  # (I - q)(I + q) v = v - q q v
        out = step(step(v))
        return np.subtract(v, out, out=out)

    z = _bicgstab_to_tolerance(apply_preconditioned, b, systems_axis=0)
    x = z + step(z)
    limit = RESIDUAL_TOLERANCE * np.maximum(1.0, np.abs(b).max(axis=1, initial=0.0))
    ok = np.abs(b - apply(x)).max(axis=1, initial=0.0) <= limit
    for j in np.flatnonzero(~ok).tolist():
        # the recursive residual converged but the true one did not (rounding): restart
        # once from x on the true residual of this system alone
        block_j = q[j * M : (j + 1) * M][:, j * M : (j + 1) * M]

        def apply_j(v: np.ndarray, block_j: sp.csr_matrix = block_j) -> np.ndarray:
            return v - (block_j @ v.ravel())[None, :]

        bj = b[j : j + 1]
        dx = _bicgstab_to_tolerance(apply_j, bj - apply_j(x[j : j + 1]), systems_axis=0)
        x[j] += dx[0]
        ok[j] = np.abs(bj - apply_j(x[j : j + 1])).max(initial=0.0) <= limit[j]
    return x, ok


def policy_probabilities(
    sk: ProductSkeleton, automaton: DeterministicAutomaton, row_weights: np.ndarray
) -> np.ndarray:
    """Satisfaction probabilities ``[N]`` from ``mu0``; see :func:`product_state_probabilities`.

    Batches of deterministic policies take a faster route that analyses and solves only the
    product states reachable from ``mu0`` (:func:`_deterministic_probabilities`).
    """
    deterministic = _deterministic_choices(row_weights)
    if deterministic is not None:
        return _deterministic_probabilities(sk, automaton, *deterministic)
    values = product_state_probabilities(sk, automaton, row_weights)
    return sk.initial_weights @ values[sk.initial_states]


def product_state_probabilities(
    sk: ProductSkeleton, automaton: DeterministicAutomaton, row_weights: np.ndarray
) -> np.ndarray:
    """Satisfaction probabilities ``[K, N]`` from every product state, for policies on the
    product given by ``row_weights[n, k, a]``, the probability of action ``a`` in product
    state ``k``.

    Stationary policies have ``row_weights[n, k, a] = pi_n(a | s_k)``; finite-memory
    policies may depend on the automaton state too. Policies with the same support share
    one qualitative analysis (:func:`chain_structure`). The linear systems of all policies
    are then solved together: sparse LU for small products, otherwise a BiCGSTAB batched
    over policies whose matrix-vector product is one sparse product of the skeleton's
    ``(K*A, K)`` matrix with a ``[K, N]`` block; a policy whose residual stays above the
    tolerance falls back to sparse LU.
    """
    K = sk.n_states
    first, group = _support_groups(row_weights.reshape(row_weights.shape[0], -1) > 0)
    entry_support = row_weights[first][:, sk.entry_source, sk.entry_action] > 0
    target_g, maybe_g = chain_structure(sk, automaton, entry_support)
    target = target_g[group].T.astype(np.float64)  # [K, N]
    maybe = maybe_g[group].T  # [K, N]
    values = target.copy()
    todo = np.flatnonzero(maybe.any(axis=0))
    if todo.size:
        A = sk.env.n_actions
        mask = maybe[:, todo]  # [K, n]
        if K <= DIRECT_MAX_UNKNOWNS:
            # small products: one sparse LU of the block-diagonal system of all policies
            x, ok = _solve_sparse_policies(sk, row_weights[todo], mask, target[:, todo],
                                           direct=True)
        elif (row_weights[todo] > 0).mean() * A <= SPARSE_POLICY_ACTIONS:
            # mostly deterministic policies: one sparse matrix with each policy's own rows
            x, ok = _solve_sparse_policies(sk, row_weights[todo], mask, target[:, todo])
        else:
            x, ok = _solve_shared_skeleton(sk, row_weights[todo], mask, target[:, todo])
        for j in np.flatnonzero(~ok).tolist():
            w = row_weights[todo[j]][sk.entry_source, sk.entry_action]
            x[:, j] = _direct_column(sk, w, maybe[:, todo[j]], target[:, todo[j]])
        values[:, todo] = np.where(mask, x, values[:, todo])
    return np.clip(values, 0.0, 1.0)


def _solve_shared_skeleton(
    sk: ProductSkeleton, row_weights: np.ndarray, mask: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Batched BiCGSTAB whose product is the skeleton's ``(K*A, K)`` matrix times ``[K, n]``,
    then weighted by the policies (suits stochastic policies). Returns ``x`` ``[K, n]`` and
    which policies reached the residual tolerance.

    With ``Q = S + Q_off`` (``S`` the self-loops, ``D = I - S``) the system ``(I - Q) x = b``
    is scaled to ``(I - C) x = c``, ``C = D^-1 Q_off``, ``c = D^-1 b``, and solved as
    ``(I - C^2) z = c``, ``x = (I + C) z`` (polynomial preconditioning: about half the
    iterations for the same number of products). The true residual of ``(I - C) x = c``
    decides convergence; it bounds that of the unscaled system, as ``D <= I``.
    """
    K, A, n = sk.n_states, sk.env.n_actions, row_weights.shape[0]
    step = sk.transition_rows()
    # weights of the undecided rows only: (A x)_k = x_k - [k undecided] (P_pi x)_k; the
    # iterates vanish on decided states, so no mask is needed on the input side
    weights = np.ascontiguousarray(row_weights.transpose(1, 2, 0) * mask[:, None, :])
    loops = np.einsum("kan,ka->kn", weights, sk.self_loops())
    inverse = 1.0 / (1.0 - loops)

    def scaled(v: np.ndarray) -> np.ndarray:  # [K, n] -> C v
        out = np.einsum("kan,kan->kn", (step @ v).reshape(K, A, n), weights)
        out -= loops * v
        out *= inverse
        return out

    def apply(v: np.ndarray) -> np.ndarray:  # (I - C) v
        return v - scaled(v)

    def apply_preconditioned(v: np.ndarray) -> np.ndarray:  # (I - C^2) v
        return v - scaled(scaled(v))

    c = scaled(target)  # = D^-1 Q target: targets are never undecided, so S target = 0
    z = _bicgstab_to_tolerance(apply_preconditioned, c, systems_axis=1)
    x = z + scaled(z)
    limit = RESIDUAL_TOLERANCE * np.maximum(1.0, np.abs(c).max(axis=0, initial=0.0))
    return x, np.abs(c - apply(x)).max(axis=0, initial=0.0) <= limit


def _solve_sparse_policies(
    sk: ProductSkeleton, row_weights: np.ndarray, mask: np.ndarray, target: np.ndarray,
    *, direct: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The block-diagonal system holding only the rows each policy uses, solved by batched
    BiCGSTAB (suits deterministic policies) or, with ``direct``, by one sparse LU.
    Returns ``x`` ``[K, n]`` and which policies converged."""
    K, A, n = sk.n_states, sk.env.n_actions, row_weights.shape[0]
    step = sk.transition_rows()
    used = (row_weights.reshape(n, K * A) > 0) & np.repeat(mask.T, A, axis=1)
    pol, row = np.nonzero(used)  # row-major: block rows come out sorted
    weight = row_weights.reshape(n, K * A)[pol, row]
    starts, ends = step.indptr[row], step.indptr[row + 1]
    counts = ends - starts
    owner = np.repeat(np.arange(row.size), counts)
    pos = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    pos += np.repeat(starts, counts)
    block_rows = (pol * K + row // A)[owner]
    cols = pol[owner] * K + step.indices[pos]
    prob = weight[owner] * step.data[pos]
    size = n * K
    indptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(block_rows, minlength=size), out=indptr[1:])
    q = sp.csr_matrix((prob, cols, indptr), shape=(size, size))
    target_flat = target.T.ravel()

    def apply(v: np.ndarray) -> np.ndarray:  # [n, K]
        return v - (q @ v.ravel()).reshape(n, K)

    b = (q @ target_flat).reshape(n, K)
    if direct:
        matrix = (sp.identity(size, format="csr") - q).tocsc()
        solution = finite_spsolve(matrix, b.ravel()).reshape(n, K)
        return solution.T, np.ones(n, dtype=bool)
    loops = block_rows == cols
    diagonal = 1.0 - np.bincount(block_rows[loops], weights=prob[loops],
                                 minlength=size).reshape(n, K)
    x = _bicgstab_to_tolerance(apply, b, diagonal=diagonal, systems_axis=0)
    limit = RESIDUAL_TOLERANCE * np.maximum(1.0, np.abs(b).max(axis=1, initial=0.0))
    return x.T, np.abs(b - apply(x)).max(axis=1, initial=0.0) <= limit


def _direct_column(
    sk: ProductSkeleton, w: np.ndarray, maybe: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """One policy's system on its undecided states, by sparse LU."""
    idx = np.flatnonzero(maybe)
    pos = np.full(sk.n_states, -1, dtype=np.int64)
    pos[idx] = np.arange(idx.size)
    ent = np.flatnonzero((w > 0) & maybe[sk.entry_source])
    prob = w[ent] * sk.entry_probability[ent]
    to_maybe = maybe[sk.entry_target[ent]]
    to_target = target[sk.entry_target[ent]] > 0
    m = idx.size
    q = sp.csr_matrix((prob[to_maybe], (pos[sk.entry_source[ent][to_maybe]],
                                        pos[sk.entry_target[ent][to_maybe]])), shape=(m, m))
    rhs = np.bincount(pos[sk.entry_source[ent][to_target]], weights=prob[to_target],
                      minlength=m)
    out = np.zeros(sk.n_states)
    out[idx] = finite_spsolve((sp.identity(m, format="csr") - q).tocsc(), rhs)
    return out


def exact_reachability(
    sk: ProductSkeleton,
    automaton: DeterministicAutomaton,
    weight: Sequence[Fraction],
    ent: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    reach: np.ndarray,
) -> dict[int, Fraction]:
    """Exact probabilities of reaching an accepting bottom component of a product chain.

    The chain's edges are the skeleton entries ``ent`` (from ``src`` to ``dst``, product
    states) with the exact probability ``weight[e]`` of entry ``e``; ``reach`` masks the
    states considered. Accepting targets are 1; the undecided states that can reach one are
    solved in rational arithmetic; the returned mapping omits states of value 0.

    Raises
    ------
    InvalidSpecificationError
        With more than :data:`MAX_EXACT_STATES` undecided states.
    """
    target = accepting_targets(sk, automaton, sk.n_states, ent, src, dst) & reach
    can = reachable(adjacency(sk.n_states, src, dst), np.flatnonzero(target), backward=True)
    maybe = np.flatnonzero(can & ~target & reach)
    if maybe.size > MAX_EXACT_STATES:
        raise InvalidSpecificationError(
            f"exact evaluation needs {maybe.size} undecided product states; at most "
            f"{MAX_EXACT_STATES} are solved in rational arithmetic"
        )
    pos = {int(k): i for i, k in enumerate(maybe.tolist())}
    m = len(pos)
    value_of: dict[int, Fraction] = {int(k): Fraction(1) for k in np.flatnonzero(target)}
    if m:
        system = np.array([[Fraction(int(i == j)) for j in range(m)] for i in range(m)],
                          dtype=object)
        rhs = np.array([Fraction(0)] * m, dtype=object)
        for e, a_src, a_dst in zip(ent.tolist(), src.tolist(), dst.tolist(), strict=True):
            i = pos.get(a_src)
            if i is None:
                continue
            j = pos.get(a_dst)
            if j is not None:
                system[i, j] -= weight[e]
            elif target[a_dst]:
                rhs[i] += weight[e]
        solution = solve_rational(system, rhs)
        for k, i in pos.items():
            value_of[k] = solution[i]
    return value_of


def exact_satisfaction_probabilities(
    env: FiniteMDP,
    automaton: DeterministicAutomaton,
    policies: Any,
    *,
    skeleton: ProductSkeleton | None = None,
) -> list[Fraction]:
    """Satisfaction probabilities in exact rational arithmetic (one Fraction per policy).

    Transition probabilities, initial distribution and policies are converted exactly
    (Fractions as given; floats as the dyadic rationals they are). Meant for small products:
    at most :data:`MAX_EXACT_STATES` undecided product states per policy.

    Examples
    --------
    >>> from fractions import Fraction as Fr
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.ltl.translation import translate
    >>> P = np.array([[[Fr(1, 3), Fr(2, 3)]], [[Fr(0), Fr(1)]]], dtype=object)
    >>> env = FiniteMDP(P, [Fr(1), Fr(0)], labels={0: ["a"], 1: ["b"]})
    >>> exact_satisfaction_probabilities(env, translate("a U (b & X b)"), Policy.uniform(2, 1))
    [Fraction(1, 1)]
    >>> exact_satisfaction_probabilities(env, translate("X X a"), Policy.uniform(2, 1))
    [Fraction(1, 9)]
    """
    _check_automaton(env, automaton)
    sk = skeleton if skeleton is not None else ProductSkeleton(env, automaton)
    tau = env.exact_transitions()
    mu0 = env.exact_initial()
    matrix = env.transition_matrix
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    A = env.n_actions
    entry_tau = [
        tau[r // A, r % A, t]
        for r, t in zip(rows[sk.entry_env].tolist(), matrix.indices[sk.entry_env].tolist(),
                        strict=True)
    ]
    results: list[Fraction] = []
    for pi in exact_policy_batch(policies, env.n_states, env.n_actions, enabled=env.enabled):
        w = [pi[s, a] for s, a in zip(sk.env_state[sk.entry_source].tolist(),
                                       sk.entry_action.tolist(), strict=True)]
        ent = np.array([e for e, x in enumerate(w) if x > 0], dtype=np.int64)
        src, dst = sk.entry_source[ent], sk.entry_target[ent]
        reach = reachable(adjacency(sk.n_states, src, dst), sk.initial_states)
        keep = reach[src]
        ent, src, dst = ent[keep], src[keep], dst[keep]
        weight = [x * t for x, t in zip(w, entry_tau, strict=True)]
        value_of = exact_reachability(sk, automaton, weight, ent, src, dst, reach)
        init_s = np.flatnonzero(env.initial > 0)
        total = Fraction(0)
        for k, s in zip(sk.initial_states.tolist(), init_s.tolist(), strict=True):
            total += mu0[s] * value_of.get(k, Fraction(0))
        results.append(total)
    return results

