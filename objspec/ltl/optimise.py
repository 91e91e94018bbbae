"""Optimal policies for LTL objectives and reward machines on product MDPs.

:func:`maximal_satisfaction` computes ``Pmax``, the largest probability with which any policy
(with finite memory; no policy, with any memory, does better) makes the label word satisfy an
LTL formula or a deterministic automaton, and an optimal policy that uses the automaton state
as memory. Method (Baier & Katoen 2008, section 10.6.4, for Emerson-Lei conditions in
disjunctive normal form): on the product MDP ``S x Q``, for each conjunction
``Fin(...) & Inf(...)`` of the condition remove the actions that can take a ``Fin``
transition, decompose the rest into maximal end components (MECs), and keep the MECs that
contain a transition of every ``Inf`` set. An optimal policy reaches the union of these
accepting MECs with maximal probability (a linear program, solved by HiGHS) and then stays in
its MEC playing all its actions uniformly, which visits every transition of it infinitely
often. The policy's probability is then computed again by the exact product-chain method.

:func:`optimal_reward_machine_policy` does value iteration on the product ``S x U``.

Examples
--------
>>> import numpy as np
>>> from objspec import FiniteMDP
>>> from objspec.ltl.optimise import maximal_satisfaction
>>> P = np.zeros((3, 2, 3)); P[0, 0] = [0, 1, 0]; P[0, 1] = [0, 0, 1]; P[1, :, 1] = 1
>>> P[2, 0, 0] = 1; P[2, 1, 2] = 1
>>> env = FiniteMDP(P, [1, 0, 0], labels={1: ["a"], 2: ["b"]})
>>> result = maximal_satisfaction(env, "F b & G F a")
>>> round(result.probability, 9), round(result.lp_probability, 9)
(1.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from objspec.errors import InvalidSpecificationError
from objspec.ltl.automaton import AcceptanceAtom, DeterministicAutomaton
from objspec.ltl.parser import check_propositions, parse_formula
from objspec.ltl.product import (
    ProductSkeleton,
    _check_automaton,
    product_state_probabilities,
)
from objspec.ltl.reward_machines import CompiledRewardMachine, RewardMachineSolution
from objspec.ltl.syntax import Formula
from objspec.ltl.translation import translate
from objspec.mdp.graph import adjacency, reachable, strongly_connected_components
from objspec.mdp.model import FiniteMDP

__all__ = [
    "accepting_end_components",
    "FiniteMemoryPolicy",
    "MaximalSatisfaction",
    "maximal_satisfaction",
    "maximal_end_components",
    "finite_memory_policy_probability",
    "optimal_reward_machine_policy",
]


@dataclass(frozen=True)
class FiniteMemoryPolicy:
    """A policy whose memory is the state of a deterministic automaton.

    At step ``t`` in environment state ``s_t`` with memory ``q_t`` it plays
    ``action_probabilities[s_t, q_t]``; the memory is then updated to
    ``delta(q_t, L)`` with ``L`` the label read at step ``t`` (``L(s_t)`` for state labels,
    ``L(s_t, a_t, s_{t+1})`` for transition labels). ``q_0`` is the automaton's initial state.

    Attributes
    ----------
    automaton : DeterministicAutomaton
        Supplies the memory update.
    action_probabilities : ndarray ``[S, Q + 1, A]``
        Row ``q = Q`` is used once the automaton has no transition (the run is lost).
    """

    automaton: DeterministicAutomaton
    action_probabilities: np.ndarray

    def memory_update(self, memory: int, label: Iterable[str]) -> int:
        """The next memory state after reading ``label`` in memory ``memory``."""
        dead = self.automaton.n_states
        if memory == dead:
            return dead
        nxt, _ = self.automaton.step(memory, label)
        return dead if nxt < 0 else nxt


@dataclass(frozen=True)
class MaximalSatisfaction:
    """Result of :func:`maximal_satisfaction`.

    Attributes
    ----------
    probability : float
        ``Pmax`` from the initial distribution: the satisfaction probability of ``policy``,
        computed by the product-chain method (exact up to float64 rounding).
    policy : FiniteMemoryPolicy
        An optimal policy with the automaton state as memory.
    lp_probability : float
        The linear program's optimum, which seeded the policy iteration; it agrees with
        ``probability`` up to the LP solver's tolerance (about 1e-7).
    state_values : ndarray ``[S]``
        ``Pmax`` from each environment state (automaton in its initial state).
    """

    probability: float
    policy: FiniteMemoryPolicy
    lp_probability: float
    state_values: np.ndarray


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
    alive: np.ndarray = np.asarray(allowed.any(axis=1))
    while True:
        use = allowed[source, action] & alive[source] & alive[target]
        graph = sp.csr_matrix(
            (np.ones(int(use.sum()), dtype=np.int8), (source[use], target[use])),
            shape=(n_states, n_states),
        )
        _, comp = strongly_connected_components(graph)
        leaving = allowed[source, action] & (~alive[target] | (comp[source] != comp[target]))
        if leaving.any():
            allowed[source[leaving], action[leaving]] = False
        new_alive: np.ndarray = np.asarray(alive & allowed.any(axis=1))
        if not leaving.any() and (new_alive == alive).all():
            break
        alive = new_alive
    labels = np.where(alive, comp, -1)
    uniq, dense = np.unique(labels[alive], return_inverse=True)
    out = np.full(n_states, -1, dtype=np.int64)
    out[alive] = dense.ravel()
    return out


def _entry_meets(atom: AcceptanceAtom, marks: np.ndarray) -> np.ndarray:
    has = ((marks >> atom.index) & 1).astype(bool)
    return has != atom.complemented


def accepting_end_components(
    sk: ProductSkeleton, automaton: DeterministicAutomaton
) -> tuple[np.ndarray, np.ndarray]:
    """Product states in accepting maximal end components (Baier & Katoen 2008, 10.6.4).

    For each conjunction ``Fin(...) & Inf(...)`` of the acceptance condition's disjunctive
    normal form: forbid the actions that can take a ``Fin`` transition, decompose the rest
    into maximal end components, and keep those that contain a transition of every ``Inf``
    set. Inside such a component a policy playing all its actions visits every one of its
    transitions infinitely often, so it satisfies the condition with probability 1.

    Returns
    -------
    states : numpy.ndarray
        ``[K]`` bool: the product state lies in an accepting end component.
    actions : numpy.ndarray
        ``[K, A]`` bool: for those states, the actions that keep to their component.
    """
    K, A = sk.n_states, sk.env.n_actions
    q = sk.machine_state[sk.entry_source]
    dead_entry = q == sk.dead_state
    marks = np.where(dead_entry, 0,
                     automaton.marks[np.minimum(q, automaton.n_states - 1), sk.entry_letter])
    src, act, dst = sk.entry_source, sk.entry_action, sk.entry_target
    target = np.zeros(K, dtype=bool)
    stay = np.zeros((K, A), dtype=bool)
    enabled = sk.env.enabled[sk.env_state]  # [K, A]: disabled actions have no entries
    for conj in automaton.acceptance.disjunctive_normal_form():
        allowed = enabled.copy()
        allowed[sk.dead] = False
        for atom in conj:
            if not atom.infinitely:
                bad = _entry_meets(atom, marks)
                allowed[src[bad], act[bad]] = False
        mec = maximal_end_components(K, A, src, act, dst, allowed)
        n_mec = int(mec.max()) + 1 if mec.size else 0
        if n_mec == 0:
            continue
        ok = np.ones(n_mec, dtype=bool)
        inside = (mec[src] >= 0) & allowed[src, act]
        for atom in conj:
            if atom.infinitely:
                hit = np.zeros(n_mec, dtype=bool)
                sel = inside & _entry_meets(atom, marks)
                hit[mec[src[sel]]] = True
                ok &= hit
        new = (mec >= 0) & ok[np.maximum(mec, 0)] & ~target
        stay[new] = allowed[new]
        target |= new
    return target, stay


def maximal_satisfaction(
    env: FiniteMDP, objective: str | Formula | DeterministicAutomaton
) -> MaximalSatisfaction:
    """``Pmax``: the best satisfaction probability of an LTL objective, and an optimal policy.

    Parameters
    ----------
    env : FiniteMDP
        The labelled environment.
    objective : str, Formula or DeterministicAutomaton
        An LTL formula (translated with the environment's propositions) or an automaton.

    Returns
    -------
    MaximalSatisfaction

    Raises
    ------
    InvalidSpecificationError
        If the objective mentions propositions the environment lacks, or the LP fails.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> P = np.zeros((2, 2, 2)); P[0, 0] = [0.5, 0.5]; P[0, 1] = [0.9, 0.1]; P[1, :, 1] = 1
    >>> env = FiniteMDP(P, [1.0, 0.0], labels={0: ["safe"]})
    >>> round(maximal_satisfaction(env, "G safe").probability, 12)
    0.0
    >>> round(maximal_satisfaction(env, "X safe").probability, 12)
    0.9
    """
    if isinstance(objective, DeterministicAutomaton):
        automaton = objective
    else:
        formula = parse_formula(objective) if isinstance(objective, str) else objective
        check_propositions(formula, env.propositions, f"the LTL formula {str(formula)!r}")
        # the formula's own atoms: the environment may declare many more (up to 2**16
        # letters are enumerated), which the automaton would only ignore
        automaton = translate(formula, sorted(formula.atoms()))
    _check_automaton(env, automaton)
    sk = ProductSkeleton(env, automaton, roots=np.arange(env.n_states))
    K, A = sk.n_states, env.n_actions
    target, stay = accepting_end_components(sk, automaton)
    src, act, dst, prob = sk.entry_source, sk.entry_action, sk.entry_target, sk.entry_probability
    x = np.zeros(K)
    x[target] = 1.0
    can = reachable(adjacency(K, src, dst), np.flatnonzero(target), backward=True)
    maybe = can & ~target
    rows = src * A + act
    if maybe.any():
        idx = np.flatnonzero(maybe)
        pos = np.full(K, -1, dtype=np.int64)
        pos[idx] = np.arange(idx.size)
        from_maybe = maybe[src]
        pair_rows, pair_index = np.unique(rows[from_maybe], return_inverse=True)
        pair_index = pair_index.ravel()
        m, n_pairs = idx.size, pair_rows.size
        e_dst = dst[from_maybe]
        e_p = prob[from_maybe]
        into_maybe = maybe[e_dst]
        # constraint per pair (k, a):  -x_k + sum_{k' maybe} p x_k' <= -sum_{k' target} p
        a_rows = np.concatenate([np.arange(n_pairs), pair_index[into_maybe]])
        a_cols = np.concatenate([pos[pair_rows // A], pos[e_dst[into_maybe]]])
        a_vals = np.concatenate([-np.ones(n_pairs), e_p[into_maybe]])
        a_ub = sp.csr_matrix((a_vals, (a_rows, a_cols)), shape=(n_pairs, m))
        b_ub = -np.bincount(pair_index, weights=e_p * target[e_dst], minlength=n_pairs)
        res = linprog(np.ones(m), A_ub=a_ub, b_ub=b_ub, bounds=(0.0, 1.0), method="highs")
        if res.status != 0:
            raise InvalidSpecificationError(f"the Pmax linear program failed: {res.message}")
        x[idx] = np.clip(res.x, 0.0, 1.0)
    # Optimal actions: maximal Q value, then progress towards the target (attractor layers).
    enabled = env.enabled[sk.env_state]  # [K, A]
    q_values = np.bincount(rows, weights=prob * x[dst], minlength=K * A).reshape(K, A)
    optimal = (q_values >= x[:, None] - 1e-9) & enabled
    layer = np.where(target, 0, -1)
    choice = np.argmax(enabled, axis=1)  # the first enabled action until a better one
    current = 0
    while True:
        reached = layer >= 0
        hits = np.zeros(K * A, dtype=bool)
        sel = reached[dst] & ~reached[src]
        hits[rows[sel]] = True
        good = hits.reshape(K, A) & optimal & (x[:, None] > 0)
        fresh = good.any(axis=1) & ~reached
        if not fresh.any():
            break
        current += 1
        layer[fresh] = current
        choice[fresh] = good[fresh].argmax(axis=1)
    in_mec = stay.any(axis=1)

    def weights(choice: np.ndarray) -> np.ndarray:
        table = np.zeros((K, A))
        table[np.arange(K), choice] = 1.0
        table[in_mec] = stay[in_mec] / stay[in_mec].sum(axis=1, keepdims=True)
        return table

    # Policy iteration from the LP's policy: exact (linear-solve) values, strict improvements
    # only, so the result does not inherit the LP solver's tolerance.
    for _ in range(10 * K + 10):
        per_product = weights(choice)
        values = product_state_probabilities(sk, automaton, per_product[None])[:, 0]
        q_values = np.bincount(rows, weights=prob * values[dst], minlength=K * A).reshape(K, A)
        q_values[~enabled] = -np.inf  # the maximiser is always an enabled action
        better = (q_values.max(axis=1) > values + 1e-12) & ~in_mec
        if not better.any():
            break
        choice = np.where(better, q_values.argmax(axis=1), choice)
    # mu0 may sum to 1 only up to rounding: the averages are clipped to [0, 1]
    lp_probability = float(np.clip(x[sk.initial_states] @ sk.initial_weights, 0.0, 1.0))
    x = values
    Q1 = automaton.n_states + 1
    # uniform over the enabled actions where the product state is never reached
    uniform = env.enabled / env.enabled.sum(axis=1, keepdims=True)
    table = np.repeat(uniform[:, None, :], Q1, axis=1)
    table[sk.env_state, sk.machine_state] = per_product
    state_values = x[sk.initial_states]
    probability = float(np.clip(x[sk.initial_states] @ sk.initial_weights, 0.0, 1.0))
    return MaximalSatisfaction(
        probability, FiniteMemoryPolicy(automaton, table), lp_probability, state_values
    )


def finite_memory_policy_probability(env: FiniteMDP, policy: FiniteMemoryPolicy) -> float:
    """The satisfaction probability (from ``mu0``) of a policy with automaton memory.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> P = np.zeros((2, 2, 2)); P[0, 0] = [0.5, 0.5]; P[0, 1] = [0.9, 0.1]; P[1, :, 1] = 1
    >>> env = FiniteMDP(P, [1.0, 0.0], labels={0: ["safe"]})
    >>> best = maximal_satisfaction(env, "X safe")
    >>> round(finite_memory_policy_probability(env, best.policy), 12)
    0.9
    """
    automaton = policy.automaton
    _check_automaton(env, automaton)
    sk = ProductSkeleton(env, automaton)
    weights = policy.action_probabilities[sk.env_state, sk.machine_state]  # [K, A]
    values = product_state_probabilities(sk, automaton, weights[None])[:, 0]
    return float(np.clip(values[sk.initial_states] @ sk.initial_weights, 0.0, 1.0))


def optimal_reward_machine_policy(
    env: FiniteMDP,
    edges: Iterable[Any],
    initial: Hashable,
    gamma: Any,
    *,
    tol: float = 1e-10,
) -> RewardMachineSolution:
    """An optimal policy for a reward machine, by value iteration on the product ``S x U``.

    The policy plays ``solution.policy[s_t, u_t]``: the machine state is its memory.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1; P[:, 1, 1] = 1
    >>> env = FiniteMDP(P, [1.0, 0.0], labels={1: ["b"]})
    >>> sol = optimal_reward_machine_policy(env, [(0, 1, "b", 1.0), (1, 0, "!b", 2.0)], 0, 0.5)
    >>> round(sol.value, 6), round(sol.policy_value, 6)
    (1.333333, 1.333333)
    """
    return CompiledRewardMachine(edges, initial, gamma, env).optimise(tol=tol)
