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
``pi`` and ``tau`` (never from thresholds); solves are float64 sparse LU, or exact rationals.

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

from fractions import Fraction
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.sparse.linalg import spsolve

from objspec.errors import InvalidModelError, InvalidSpecificationError
from objspec.ltl.automaton import DeterministicAutomaton
from objspec.mdp.exact import solve_rational
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import as_policy_batch, exact_policy_batch

__all__ = [
    "ProductSkeleton",
    "satisfaction_probabilities",
    "exact_satisfaction_probabilities",
    "environment_letters",
    "MAX_EXACT_STATES",
]

#: Largest number of undecided product states solved in exact rational arithmetic.
MAX_EXACT_STATES = 600
#: Entries per block-diagonal batch of policy chains.
_BATCH_ENTRIES = 2_000_000


class Machine(Protocol):
    """What a product needs: propositions and a successor table over letters."""

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
        per_state = np.array(
            [sum(bit.get(p, 0) for p in ls) for ls in labels], dtype=np.int64
        )
        return per_state[rows // env.n_actions]
    out = np.empty(matrix.nnz, dtype=np.int64)
    A = env.n_actions
    for e, (r, t) in enumerate(zip(rows.tolist(), matrix.indices.tolist(), strict=True)):
        s, a = divmod(r, A)
        out[e] = sum(bit.get(p, 0) for p in env.label(s, a, t))
    return out


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
        succ = np.asarray(machine.successors, dtype=np.int64)
        n_machine = succ.shape[0]
        self.dead_state = n_machine
        succ_ext = np.vstack([np.where(succ < 0, n_machine, succ),
                              np.full((1, succ.shape[1]), n_machine)])
        self.letters = environment_letters(env, tuple(machine.propositions))
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
            entries, row = _expand(frontier // Q1, A, indptr)
            q = (frontier % Q1)[row // A]
            nxt = indices[entries] * Q1 + succ_ext[q, self.letters[entries]]
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
        self.entry_machine_target = succ_ext[q, self.entry_letter]
        self.entry_target = index_of[indices[entries] * Q1 + self.entry_machine_target]
        self.entry_probability = matrix.data[entries]
        self.roots = init_s
        self.initial_states = index_of[codes]
        self.initial_weights = env.initial[init_s]
        self.dead = self.machine_state == n_machine

    def chain(self, pi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The positive entries of the chain induced by one policy ``pi`` ``[S, A]``.

        Returns ``(entry indices, source, target, probability)``.
        """
        w = pi[self.env_state[self.entry_source], self.entry_action]
        keep = np.flatnonzero(w > 0)
        return (keep, self.entry_source[keep], self.entry_target[keep],
                w[keep] * self.entry_probability[keep])


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


def _reachable(n: int, src: np.ndarray, dst: np.ndarray, roots: np.ndarray) -> np.ndarray:
    """Boolean mask of the nodes reachable from ``roots`` along edges ``src -> dst``."""
    graph = sp.csr_matrix(
        (np.ones(src.size + roots.size, dtype=np.int8),
         (np.concatenate([src, np.full(roots.size, n)]), np.concatenate([dst, roots]))),
        shape=(n + 1, n + 1),
    )
    order = csgraph.breadth_first_order(graph, n, directed=True, return_predecessors=False)
    mask = np.zeros(n + 1, dtype=bool)
    mask[order] = True
    return mask[:n]


def bottom_components(
    n: int, src: np.ndarray, dst: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """SCC labels of the graph and a boolean per SCC: is it bottom (no edge leaves it)?"""
    graph = sp.csr_matrix((np.ones(src.size, dtype=np.int8), (src, dst)), shape=(n, n))
    n_comp, comp = csgraph.connected_components(graph, directed=True, connection="strong")
    bottom = np.ones(n_comp, dtype=bool)
    leaving = comp[src] != comp[dst]
    bottom[comp[src[leaving]]] = False
    return comp, bottom


def accepting_targets(
    skeleton: ProductSkeleton,
    automaton: DeterministicAutomaton,
    n: int,
    entries: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    offsets: np.ndarray | None = None,
) -> np.ndarray:
    """Boolean mask of the product states in accepting BSCCs of a chain.

    ``entries`` index the skeleton's entries taken with positive probability; ``src``/``dst``
    are their (possibly block-offset) endpoints in a graph of ``n`` nodes.
    """
    comp, bottom = bottom_components(n, src, dst)
    n_comp = bottom.size
    marks = automaton.marks
    q = skeleton.machine_state[skeleton.entry_source[entries]]
    dead = q == skeleton.dead_state
    letter = skeleton.entry_letter[entries]
    entry_marks = np.where(dead, 0, marks[np.minimum(q, marks.shape[0] - 1), letter])
    c = comp[src]
    in_bottom = bottom[c]
    union = np.zeros(n_comp, dtype=np.int64)
    inter = np.full(n_comp, (1 << automaton.n_sets) - 1, dtype=np.int64)
    np.bitwise_or.at(union, c[in_bottom], entry_marks[in_bottom])
    np.bitwise_and.at(inter, c[in_bottom], entry_marks[in_bottom])
    dead_comp = np.zeros(n_comp, dtype=bool)
    dead_comp[c[dead]] = True
    accepting = np.zeros(n_comp, dtype=bool)
    cache: dict[tuple[int, int], bool] = {}
    for k in np.flatnonzero(bottom & ~dead_comp).tolist():
        key = (int(union[k]), int(inter[k]))
        if key not in cache:
            cache[key] = automaton.acceptance.holds(*key)
        accepting[k] = cache[key]
    return accepting[comp]


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

    Returns
    -------
    numpy.ndarray
        ``[N]`` float64 probabilities (a 1-element array for one policy).

    Notes
    -----
    The chains of several policies are solved together as one block-diagonal system: one
    strongly-connected-component pass and one sparse LU per batch of policies.

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
    batch, _ = as_policy_batch(policies, env.n_states, env.n_actions)
    sk = skeleton if skeleton is not None else ProductSkeleton(env, automaton)
    E = max(1, sk.entry_env.size)
    chunk = max(1, _BATCH_ENTRIES // E)
    out = np.empty(batch.shape[0])
    for start in range(0, batch.shape[0], chunk):
        out[start : start + chunk] = _solve_block(sk, automaton, batch[start : start + chunk])
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
    return entry_weight_probabilities(
        sk, automaton, batch[:, sk.env_state[sk.entry_source], sk.entry_action]
    )


def entry_weight_probabilities(
    sk: ProductSkeleton, automaton: DeterministicAutomaton, w: np.ndarray
) -> np.ndarray:
    """Satisfaction probabilities of policies given by their weight ``[N, E]`` on each entry.

    ``w[n, e]`` is the probability that policy ``n`` picks the entry's action in the entry's
    product state; stationary policies have ``w = pi[s_k, a]``, finite-memory policies on the
    product may depend on the automaton state too.
    """
    K, N = sk.n_states, w.shape[0]
    pol, ent = np.nonzero(w > 0)
    src = pol * K + sk.entry_source[ent]
    dst = pol * K + sk.entry_target[ent]
    prob = w[pol, ent] * sk.entry_probability[ent]
    n = N * K
    roots = (np.arange(N)[:, None] * K + sk.initial_states[None, :]).ravel()
    reach = _reachable(n, src, dst, roots)
    keep = reach[src]
    src, dst, prob, ent = src[keep], dst[keep], prob[keep], ent[keep]
    target = accepting_targets(sk, automaton, n, ent, src, dst) & reach
    x = np.zeros(n)
    x[target] = 1.0
    if target.any():
        can = _reachable(n, dst, src, np.flatnonzero(target))
        maybe = can & ~target & reach
        if maybe.any():
            idx = np.flatnonzero(maybe)
            pos = np.full(n, -1, dtype=np.int64)
            pos[idx] = np.arange(idx.size)
            from_maybe = maybe[src]
            into_maybe = from_maybe & maybe[dst]
            into_target = from_maybe & target[dst]
            m = idx.size
            matrix = sp.identity(m, format="csr") - sp.csr_matrix(
                (prob[into_maybe], (pos[src[into_maybe]], pos[dst[into_maybe]])), shape=(m, m)
            )
            rhs = np.bincount(pos[src[into_target]], weights=prob[into_target], minlength=m)
            x[idx] = spsolve(matrix.tocsc(), rhs)
    values = x[roots].reshape(N, -1) @ sk.initial_weights
    return values


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
    for pi in exact_policy_batch(policies, env.n_states, env.n_actions):
        w = [pi[s, a] for s, a in zip(sk.env_state[sk.entry_source].tolist(),
                                       sk.entry_action.tolist(), strict=True)]
        ent = np.array([e for e, x in enumerate(w) if x > 0], dtype=np.int64)
        src, dst = sk.entry_source[ent], sk.entry_target[ent]
        reach = _reachable(sk.n_states, src, dst, sk.initial_states)
        keep = reach[src]
        ent, src, dst = ent[keep], src[keep], dst[keep]
        target = accepting_targets(sk, automaton, sk.n_states, ent, src, dst) & reach
        can = _reachable(sk.n_states, dst, src, np.flatnonzero(target))
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
                p = w[e] * entry_tau[e]
                j = pos.get(a_dst)
                if j is not None:
                    system[i, j] -= p
                elif a_dst in value_of:
                    rhs[i] += p
            solution = solve_rational(system, rhs)
            for k, i in pos.items():
                value_of[k] = solution[i]
        init_s = np.flatnonzero(env.initial > 0)
        total = Fraction(0)
        for k, s in zip(sk.initial_states.tolist(), init_s.tolist(), strict=True):
            total += mu0[s] * value_of.get(k, Fraction(0))
        results.append(total)
    return results

