"""Optimal policies for LTL objectives and reward machines on product MDPs.

:func:`maximal_satisfaction` computes ``Pmax``, the largest probability with which any policy
(with finite memory; no policy, with any memory, does better) makes the label word satisfy an
LTL formula or a deterministic automaton, and an optimal policy that uses the automaton state
as memory. Method (Baier & Katoen 2008, section 10.6.4, for Emerson-Lei conditions in
disjunctive normal form): on the product MDP ``S x Q``, for each conjunction
``Fin(...) & Inf(...)`` of the condition remove the actions that can take a ``Fin``
transition, decompose the rest into maximal end components (MECs), and keep the MECs that
contain a transition of every ``Inf`` set. An optimal policy reaches the union of these
accepting MECs with maximal probability (:func:`objspec.mdp.reachability.max_reachability`:
the states that cannot reach them get 0, the end components of the undecided rest are
collapsed, and policy iteration with sparse LU evaluations and strict improvements only
solves the quotient) and then stays in its MEC playing all its actions uniformly, which
visits every transition of it infinitely often. The reported probability is the returned
policy's own (a sparse LU solve on the product).

Policy iteration stops when no action improves any state's value by more than 1e-12 in
float64: up to that, the policy's values are a fixed point of the Bellman operator, so the
policy is optimal. :func:`certified_maximal_satisfaction` proves how close: an upper bound on
``Pmax``, a pre-fixed point of the Bellman operator on the product with the end components
of the undecided states collapsed (the policy's values plus ``tol / 2`` when they are one,
else interval iteration from above: Haddad & Monmege 2018; Baier et al., CAV 2017), and,
with ``exact=True``, the fixed-point test in rational arithmetic, which proves the policy
optimal exactly.

**Finite memory versus stationary policies.** ``Pmax`` is attained by a policy whose memory
is the automaton state (:class:`FiniteMemoryPolicy`); the paper's class, stationary policies
on the environment's states (arXiv 2310.11840), can be strictly worse. Example: from state 0
action 0 leads to ``A`` (labelled ``a``), action 1 to ``B`` (labelled ``b``); from ``A`` and
``B`` the run returns to 0 with probability 1/2 and otherwise falls into a sink. For
``F a & F b``, ``Pmax = 1/2`` (visit ``A``, then ``B``); a deterministic stationary policy
visits only one of them (probability 0); the stationary policy playing action 0 with
probability ``p`` achieves ``3p(1-p) / ((2-p)(1+p))``, at most ``1/3`` (at ``p = 1/2``).
For reachability ``F p``, safety ``G p`` and Buchi/co-Buchi/parity conditions read off the
state labels, deterministic stationary policies attain ``Pmax``.

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
from fractions import Fraction
from typing import Any

import numpy as np

from objspec.errors import InvalidPolicyError
from objspec.ltl.automaton import (
    AcceptanceAtom,
    DeterministicAutomaton,
    evaluate_propositional,
    is_propositional,
)
from objspec.ltl.parser import check_propositions, parse_formula
from objspec.ltl.prefix_independent import prefix_independent_pmax, streett_form
from objspec.ltl.product import (
    Machine,
    ProductSkeleton,
    _check_automaton,
    exact_reachability,
    product_state_probabilities,
    shared_skeleton,
)
from objspec.ltl.reward_machines import CompiledRewardMachine, RewardMachineSolution
from objspec.ltl.syntax import (
    Finally,
    Formula,
    Globally,
    Next,
    Not,
    Until,
)
from objspec.ltl.translation import translate
from objspec.mdp.graph import adjacency, reachable
from objspec.mdp.linear import check_tolerances
from objspec.mdp.model import FiniteMDP, to_fraction
from objspec.mdp.reachability import (
    MaxReachability,
    invariant_states,
    max_reachability,
    maximal_end_components,
)

__all__ = [
    "accepting_end_components",
    "CertifiedSatisfaction",
    "certified_maximal_satisfaction",
    "check_finite_memory_policy",
    "exact_finite_memory_probability",
    "exact_product_probabilities",
    "exact_product_rows",
    "product_row_weights",
    "FiniteMemoryPolicy",
    "MaximalSatisfaction",
    "maximal_satisfaction",
    "MinimalSatisfaction",
    "minimal_satisfaction",
    "maximal_end_components",
    "finite_memory_policy_probability",
    "optimal_reward_machine_policy",
    "reward_machine_policy",
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
        ``Pmax`` from the initial distribution: the satisfaction probability of ``policy``
        (a sparse LU solve on the product, exact up to float64 rounding).
    policy : FiniteMemoryPolicy
        An optimal policy with the automaton state as memory.
    lp_probability : float
        The value of the policy iteration's last solve, on the product with the undecided
        end components collapsed; it agrees with ``probability`` up to float64 rounding
        (the name is historical: a linear program once computed it).
    state_values : ndarray ``[S]``
        ``Pmax`` from each environment state (automaton in its initial state).
    """

    probability: float
    policy: FiniteMemoryPolicy
    lp_probability: float
    state_values: np.ndarray


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
                     sk.machine_marks(automaton, np.minimum(q, automaton.n_states - 1),
                                      sk.entry_letter))
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
        If the objective mentions propositions the environment lacks.

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
    if not isinstance(objective, DeterministicAutomaton):
        formula = parse_formula(objective) if isinstance(objective, str) else objective
        check_propositions(formula, env.propositions, f"the LTL formula {str(formula)!r}")
        fast = _fast_state_values(env, formula)
        if fast is not None:
            return _FastMaximalSatisfaction(env, formula, fast)
    automaton = _objective_automaton(env, objective)
    return _solve_pmax(env, automaton).result


# ------------------------------------------------- fast paths without an automaton

#: Most ``X`` operators the finite-horizon fast path unrolls.
FAST_NEXT_MAX = 64


def _state_mask(env: FiniteMDP, formula: Formula) -> np.ndarray | None:
    """``[S]`` bool: the states whose label satisfies the propositional ``formula``, or
    None if it is temporal."""
    if not is_propositional(formula):
        return None
    values = {a: env.proposition_mask(a) for a in formula.atoms()}
    return evaluate_propositional(formula, values, env.n_states)


def _push_negation(formula: Formula) -> Formula:
    """One negation pushed through ``F``, ``G`` and ``X`` (dual on infinite words)."""
    if isinstance(formula, Not):
        inner = formula.operand
        if isinstance(inner, Finally):
            return Globally(Not(inner.operand))
        if isinstance(inner, Globally):
            return Finally(Not(inner.operand))
        if isinstance(inner, Next):
            return Next(Not(inner.operand))
        if isinstance(inner, Not):
            return _push_negation(inner.operand)
    return formula


def _fast_state_values(env: FiniteMDP, formula: Formula) -> np.ndarray | None:
    """``Pmax`` from every state, without an automaton, for the shapes that need none on
    a state-labelled environment: a propositional formula, ``F a``, ``a U b``, ``G a``
    and ``X^n a`` (``a``, ``b`` propositional, ``n <= FAST_NEXT_MAX``), and their
    negations through ``F``/``G``/``X``, and Boolean combinations of ``G F a`` and
    ``F G a``; None for every other formula (or transition labels). Reachability,
    constrained reachability and safety are memoryless (Baier & Katoen 2008, sections
    10.6.1-10.6.2); ``X^n`` is a finite-horizon backward induction; the ``G F`` / ``F G``
    combinations are the reachability of good end components
    (:mod:`objspec.ltl.prefix_independent`; section 10.6.4)."""
    if env.state_labels is None:
        return None
    formula = _push_negation(formula)
    S, A = env.n_states, env.n_actions
    here = _state_mask(env, formula)
    if here is not None:
        return here.astype(np.float64)
    form = streett_form(formula)
    if form is not None:
        return prefix_independent_pmax(env, form).state_values
    rows = env.transition_matrix
    enabled = env.enabled
    if isinstance(formula, Next):
        depth = 0
        inner: Formula = formula
        while isinstance(inner, Next) and depth <= FAST_NEXT_MAX:
            inner, depth = _push_negation(inner.operand), depth + 1
        goal = _state_mask(env, inner)
        if goal is None or depth > FAST_NEXT_MAX:
            return None
        values = goal.astype(np.float64)
        blocked = ~enabled
        for _ in range(depth):
            q = (rows @ values).reshape(S, A)
            q[blocked] = -np.inf
            values = np.clip(q.max(axis=1), 0.0, 1.0)
        return values
    if isinstance(formula, Finally):
        goal = _state_mask(env, formula.operand)
        if goal is None:
            return None
        return max_reachability(rows, enabled, goal).values
    if isinstance(formula, Until):
        keep = _state_mask(env, formula.left)
        goal = None if keep is None else _state_mask(env, formula.right)
        if keep is None or goal is None:
            return None
        return max_reachability(rows, enabled, goal, stop=~(keep | goal)).values
    if isinstance(formula, Globally):
        safe = _state_mask(env, formula.operand)
        if safe is None:
            return None
        # the safe states where a policy can stay forever; then reach them staying safe
        inside = invariant_states(rows, enabled, safe)
        # Pmax(G safe) = 1 exactly on them: no other state is decided by the graph
        return max_reachability(rows, enabled, inside, stop=~safe, sure_is_target=True).values
    return None


class _FastMaximalSatisfaction(MaximalSatisfaction):
    """A :class:`MaximalSatisfaction` computed without an automaton: ``probability``,
    ``lp_probability`` and ``state_values`` at once; ``policy`` (whose memory is the
    formula's automaton) is built by the general product method the first time it is
    read."""

    def __init__(self, env: FiniteMDP, formula: Formula, values: np.ndarray) -> None:
        probability = float(np.clip(values @ env.initial, 0.0, 1.0))
        object.__setattr__(self, "probability", probability)
        object.__setattr__(self, "lp_probability", probability)
        object.__setattr__(self, "state_values", values)
        object.__setattr__(self, "_env", env)
        object.__setattr__(self, "_formula", formula)

    @property
    def policy(self) -> FiniteMemoryPolicy:
        """An optimal policy with the automaton state as memory (computed on first use)."""
        cached = self.__dict__.get("_policy")
        if cached is None:
            automaton = _objective_automaton(self.__dict__["_env"], self.__dict__["_formula"])
            cached = _solve_pmax(self.__dict__["_env"], automaton).result.policy
            object.__setattr__(self, "_policy", cached)
        return cached


def _objective_automaton(
    env: FiniteMDP, objective: str | Formula | DeterministicAutomaton
) -> DeterministicAutomaton:
    if isinstance(objective, DeterministicAutomaton):
        automaton = objective
    else:
        formula = parse_formula(objective) if isinstance(objective, str) else objective
        check_propositions(formula, env.propositions, f"the LTL formula {str(formula)!r}")
        # the formula's own atoms: the environment may declare many more (up to 2**16
        # letters are enumerated), which the automaton would only ignore
        automaton = translate(formula, sorted(formula.atoms()))
    _check_automaton(env, automaton)
    return automaton


@dataclass(frozen=True)
class _Pmax:
    """:func:`maximal_satisfaction`'s result with the product it was computed on."""

    result: MaximalSatisfaction
    skeleton: ProductSkeleton
    target: np.ndarray  # [K] bool: product states in accepting end components
    values: np.ndarray  # [K] the policy's satisfaction probability from each product state
    iterations: int
    reachability: MaxReachability  # the solve of reaching the accepting end components


def _solve_pmax(env: FiniteMDP, automaton: DeterministicAutomaton) -> _Pmax:
    sk = shared_skeleton(env, automaton, roots=np.arange(env.n_states))
    K, A = sk.n_states, env.n_actions
    target, stay = accepting_end_components(sk, automaton)
    enabled = env.enabled[sk.env_state]  # [K, A]
    solved = max_reachability(sk.transition_rows(), enabled, target)
    per_product = np.zeros((K, A))
    per_product[np.arange(K), solved.choice] = 1.0
    # in an accepting end component: all its actions, uniformly (every transition of it
    # is then taken infinitely often)
    per_product[target] = stay[target] / stay[target].sum(axis=1, keepdims=True)
    values = solved.values
    Q1 = automaton.n_states + 1
    # uniform over the enabled actions where the product state is never reached
    uniform = env.enabled / env.enabled.sum(axis=1, keepdims=True)
    table = np.repeat(uniform[:, None, :], Q1, axis=1)
    table[sk.env_state, sk.machine_state] = per_product
    state_values = values[sk.initial_states]
    # mu0 may sum to 1 only up to rounding: the averages are clipped to [0, 1]
    probability = float(np.clip(state_values @ sk.initial_weights, 0.0, 1.0))
    solve_value = float(np.clip(
        solved.quotient_values()[sk.initial_states] @ sk.initial_weights, 0.0, 1.0))
    result = MaximalSatisfaction(
        probability, FiniteMemoryPolicy(automaton, table), solve_value, state_values
    )
    return _Pmax(result, sk, target, values, solved.iterations, solved)


def finite_memory_policy_probability(
    env: FiniteMDP, policy: FiniteMemoryPolicy, *, skeleton: ProductSkeleton | None = None
) -> float:
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
    check_finite_memory_policy(env, policy, automaton)
    sk = skeleton if skeleton is not None else ProductSkeleton(env, automaton)
    weights = product_row_weights(sk, policy)  # [K, A]
    values = product_state_probabilities(sk, automaton, weights[None])[:, 0]
    return float(np.clip(values[sk.initial_states] @ sk.initial_weights, 0.0, 1.0))


def check_finite_memory_policy(env: FiniteMDP, policy: Any, machine: Machine) -> None:
    """Check that ``policy`` is a :class:`FiniteMemoryPolicy` of ``env`` whose memory is
    ``machine``'s state (the same propositions, successor table and initial state).

    Raises
    ------
    InvalidPolicyError
        Naming what does not fit: another memory structure, the shape ``[S, Q + 1, A]``,
        negative or non-finite probabilities, rows that do not sum to 1, or mass on a
        disabled action.
    """
    if not isinstance(policy, FiniteMemoryPolicy):
        raise InvalidPolicyError(
            f"expected a FiniteMemoryPolicy, got {type(policy).__name__}")
    memory = policy.automaton
    if not memory.same_transitions(machine):
        raise InvalidPolicyError(
            "the finite-memory policy's memory is another automaton than the "
            "specification's: its memory must be the specification's automaton (or reward "
            "machine) state, as the policies spec.optimise(env, policies='finite-memory') "
            "returns")
    table = np.asarray(policy.action_probabilities)
    shape = (env.n_states, memory.n_states + 1, env.n_actions)
    if table.shape != shape:
        raise InvalidPolicyError(
            f"the finite-memory policy's action_probabilities are shaped {list(table.shape)}; "
            f"expected [S, Q + 1, A] = {list(shape)}")
    try:
        values = table.astype(np.float64)
    except (TypeError, ValueError):
        raise InvalidPolicyError(
            "the finite-memory policy's action probabilities are not numbers") from None
    if not np.all(np.isfinite(values)) or (values < 0).any():
        raise InvalidPolicyError(
            "the finite-memory policy has negative or non-finite action probabilities")
    sums = values.sum(axis=2)
    if not np.allclose(sums, 1.0, rtol=0.0, atol=1e-9):
        s, q = (int(i) for i in np.argwhere(~np.isclose(sums, 1.0, rtol=0.0, atol=1e-9))[0])
        raise InvalidPolicyError(
            f"the finite-memory policy's action distribution in state {s}, memory {q} sums "
            f"to {sums[s, q]}, not 1")
    if ((values > 0) & ~env.enabled[:, None, :]).any():
        s, q, a = (int(i) for i in np.argwhere((values > 0) & ~env.enabled[:, None, :])[0])
        raise InvalidPolicyError(
            f"the finite-memory policy plays the disabled action {a} in state {s} "
            f"(memory {q})")


def product_row_weights(sk: ProductSkeleton, policy: FiniteMemoryPolicy) -> np.ndarray:
    """``[K, A]``: the action distribution of ``policy`` in each product state ``(s, q)``."""
    table = np.asarray(policy.action_probabilities, dtype=np.float64)
    return table[sk.env_state, sk.machine_state]


def exact_product_rows(sk: ProductSkeleton, policy: FiniteMemoryPolicy) -> np.ndarray:
    """``[K, A]`` object array of Fractions: ``policy``'s action distributions in the
    product states, in exact arithmetic.

    Rational entries are kept; float entries are converted exactly, and a float row that
    does not then sum to exactly 1 is read as the uniform distribution on its support when
    its non-zero entries are equal (``1/3`` stored as a float is meant as ``1/3``).

    Raises
    ------
    InvalidPolicyError
        For a float row that neither sums to exactly 1 nor is uniform on its support.
    """
    table = np.asarray(policy.action_probabilities)
    K, A = sk.n_states, table.shape[2]
    out = np.empty((K, A), dtype=object)
    cache: dict[tuple[int, int], list[Fraction]] = {}
    for k, (s, q) in enumerate(zip(sk.env_state.tolist(), sk.machine_state.tolist(),
                                   strict=True)):
        row = cache.get((s, q))
        if row is None:
            row = [to_fraction(x) for x in table[s, q]]
            if sum(row) != 1:
                support = [x for x in row if x != 0]
                if support and all(x == support[0] for x in support):
                    row = [Fraction(1, len(support)) if x != 0 else Fraction(0) for x in row]
                else:
                    raise InvalidPolicyError(
                        f"the finite-memory policy's distribution in state {s}, memory {q} "
                        "does not sum to exactly 1 as rationals; give Fractions for exact "
                        "evaluation")
            cache[(s, q)] = row
        out[k] = row
    return out


def exact_product_probabilities(
    sk: ProductSkeleton, automaton: DeterministicAutomaton, rows: np.ndarray, *,
    everywhere: bool = False,
) -> dict[int, Fraction]:
    """Exact satisfaction probabilities of a policy on the product, given by its exact
    action distributions ``rows`` ``[K, A]`` (Fractions) in the product states.

    Returns ``{k: probability}`` for the product states reachable from ``mu0`` under the
    policy (all product states with ``everywhere``); states missing from the mapping
    (never with ``everywhere``) have probability 0.

    Raises
    ------
    InvalidSpecificationError
        With more than :data:`~objspec.ltl.product.MAX_EXACT_STATES` undecided states.
    """
    env = sk.env
    tau = env.exact_transitions()
    matrix = env.transition_matrix
    row_of = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))[sk.entry_env]
    A = env.n_actions
    w = [rows[k, a] * tau[r // A, r % A, t] for k, a, r, t in zip(
        sk.entry_source.tolist(), sk.entry_action.tolist(), row_of.tolist(),
        matrix.indices[sk.entry_env].tolist(), strict=True)]
    ent = np.array([e for e, x in enumerate(w) if x > 0], dtype=np.int64)
    src, dst = sk.entry_source[ent], sk.entry_target[ent]
    if everywhere:
        reach = np.ones(sk.n_states, dtype=bool)
    else:
        reach = reachable(adjacency(sk.n_states, src, dst), sk.initial_states)
        keep = reach[src]
        ent, src, dst = ent[keep], src[keep], dst[keep]
    value_of: dict[int, Fraction] = {int(k): Fraction(0) for k in np.flatnonzero(reach)}
    value_of.update(exact_reachability(sk, automaton, w, ent, src, dst, reach))
    return value_of


def exact_finite_memory_probability(
    env: FiniteMDP, policy: FiniteMemoryPolicy, *, skeleton: ProductSkeleton | None = None
) -> Fraction:
    """The satisfaction probability (from ``mu0``) of a policy with automaton memory, as an
    exact Fraction (see :func:`exact_product_rows` for how float rows are read).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> P = np.zeros((2, 2, 2)); P[0, 0] = [0.5, 0.5]; P[0, 1] = [0.75, 0.25]
    >>> P[1, :, 1] = 1
    >>> env = FiniteMDP(P, [1.0, 0.0], labels={0: ["safe"]})
    >>> exact_finite_memory_probability(env, maximal_satisfaction(env, "X safe").policy)
    Fraction(3, 4)
    """
    automaton = policy.automaton
    _check_automaton(env, automaton)
    sk = skeleton if skeleton is not None else ProductSkeleton(env, automaton)
    check_finite_memory_policy(env, policy, automaton)
    values = exact_product_probabilities(sk, automaton, exact_product_rows(sk, policy))
    mu0 = env.exact_initial()
    return sum((mu0[int(s)] * values.get(int(k), Fraction(0))
                for k, s in zip(sk.initial_states.tolist(), sk.roots.tolist(), strict=True)),
               Fraction(0))


@dataclass(frozen=True)
class CertifiedSatisfaction:
    """Result of :func:`certified_maximal_satisfaction`.

    Attributes
    ----------
    result : MaximalSatisfaction
        ``Pmax`` and the optimal finite-memory policy.
    upper_bound : float
        A proven upper bound on ``Pmax`` (up to float64 rounding): an iterate of value
        iteration from above on the product with its end components collapsed.
    bound : float
        ``upper_bound - result.probability`` (at least 0): how far the policy can be from
        optimal.
    exact_probability : Fraction or None
        With ``exact=True`` and the rational check passed: ``Pmax`` exactly (the policy's
        exact probability, proven optimal).
    iterations : int
        Policy-iteration steps plus value-iteration sweeps.
    """

    result: MaximalSatisfaction
    upper_bound: float
    bound: float
    exact_probability: Fraction | None
    iterations: int


def _upper_bound(pmax: _Pmax, tol: float, max_iterations: int) -> tuple[np.ndarray, float, int]:
    """A proven upper bound on ``Pmax`` (from every product state, and from ``mu0``) and the
    sweeps it took: a pre-fixed point of the Bellman operator of reaching the accepting end
    components on the product with the undecided end components collapsed (see
    :meth:`objspec.mdp.reachability.MaxReachability.upper_bound`)."""
    sk = pmax.skeleton
    weights = sk.initial_weights

    def at_mu0(x: np.ndarray) -> float:
        return float(np.clip(x[sk.initial_states] @ weights, 0.0, 1.0))

    lower = at_mu0(pmax.values)
    x, sweeps = pmax.reachability.upper_bound(at_mu0, lower, tol, max_iterations)
    return x, at_mu0(x), sweeps


def _exact_check(pmax: _Pmax, automaton: DeterministicAutomaton) -> Fraction | None:
    """``Pmax`` in rationals if the policy's exact probabilities ``v`` (from every product
    state) pass the optimality test, else None.

    The test: ``v = 1`` on the accepting end components and, everywhere else,
    ``sum_k' P(k' | k, a) v(k') <= v(k)`` for every enabled action. Then ``v`` is a
    fixed point of the Bellman operator of reaching the accepting end components, so ``v >=
    Pmax`` (``Pmax`` is its least fixed point; Baier & Katoen 2008, sections 10.6.1 and
    10.6.4), and ``v <= Pmax`` because the policy attains it."""
    sk = pmax.skeleton
    env = sk.env
    rows = exact_product_rows(sk, pmax.result.policy)
    v = exact_product_probabilities(sk, automaton, rows, everywhere=True)
    if any(v[int(k)] != 1 for k in np.flatnonzero(pmax.target)):
        return None
    tau = env.exact_transitions()
    matrix = env.transition_matrix
    row_of = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))[sk.entry_env]
    A = env.n_actions
    q: dict[tuple[int, int], Fraction] = {}
    for k, a, r, t, d in zip(sk.entry_source.tolist(), sk.entry_action.tolist(),
                             row_of.tolist(), matrix.indices[sk.entry_env].tolist(),
                             sk.entry_target.tolist(), strict=True):
        q[(k, a)] = q.get((k, a), Fraction(0)) + tau[r // A, r % A, t] * v[d]
    if any(val > v[k] for (k, _), val in q.items() if not pmax.target[k]):
        return None
    mu0 = env.exact_initial()
    return sum((mu0[int(s)] * v[int(k)] for k, s in zip(
        sk.initial_states.tolist(), sk.roots.tolist(), strict=True)), Fraction(0))


def certified_maximal_satisfaction(
    env: FiniteMDP, objective: str | Formula | DeterministicAutomaton, *,
    exact: bool = False, tol: float = 1e-10, max_iterations: int = 100_000,
) -> CertifiedSatisfaction:
    """:func:`maximal_satisfaction` with a proof of how good its policy is.

    The policy of :func:`maximal_satisfaction` is found by float64 policy iteration on
    the product (always through the automaton here, never the fast paths); its probability
    is a float64 linear solve. Here it is certified:

    * an upper bound on ``Pmax``: a pre-fixed point ``T u <= u`` of the Bellman operator on
      the product with the undecided states' maximal end components collapsed, first the
      policy's values plus ``tol / 2``, else value iteration from above (interval
      iteration) until within ``tol`` of the policy's probability (or after
      ``max_iterations`` sweeps, with the bound reached); ``bound`` = upper bound -
      probability, proven up to float64 rounding;
    * with ``exact=True``, in rationals: the policy's exact probability from every product
      state is checked to be a fixed point of the Bellman operator, which proves it equals
      ``Pmax`` (``exact_probability``; products of at most
      :data:`~objspec.ltl.product.MAX_EXACT_STATES` undecided states).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> P = np.zeros((2, 2, 2)); P[0, 0] = [0.5, 0.5]; P[0, 1] = [0.75, 0.25]
    >>> P[1, :, 1] = 1
    >>> env = FiniteMDP(P, [1.0, 0.0], labels={0: ["safe"]})
    >>> c = certified_maximal_satisfaction(env, "X safe", exact=True)
    >>> c.result.probability, c.bound <= 1e-10, c.exact_probability
    (0.75, True, Fraction(3, 4))
    """
    tol, _ = check_tolerances(tol, None)
    automaton = _objective_automaton(env, objective)
    pmax = _solve_pmax(env, automaton)
    _, upper, sweeps = _upper_bound(pmax, tol, max_iterations)
    probability = pmax.result.probability
    exact_probability = _exact_check(pmax, automaton) if exact else None
    return CertifiedSatisfaction(pmax.result, upper, max(0.0, upper - probability),
                                 exact_probability, pmax.iterations + sweeps)


def reward_machine_policy(machine: CompiledRewardMachine, actions: np.ndarray
                          ) -> FiniteMemoryPolicy:
    """The finite-memory policy that plays ``actions[s, u]`` in environment state ``s``
    with machine state ``u`` (``[S, U]``, e.g. :attr:`RewardMachineSolution.policy`); its
    memory is the machine state (:meth:`CompiledRewardMachine.memory_automaton`).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1; P[:, 1, 1] = 1
    >>> env = FiniteMDP(P, [1.0, 0.0], labels={1: ["b"]})
    >>> rm = CompiledRewardMachine([(0, 1, "b", 1.0), (1, 0, "!b", 2.0)], 0, 0.5, env)
    >>> pol = reward_machine_policy(rm, rm.optimise().policy)
    >>> pol.action_probabilities.shape
    (2, 3, 2)
    """
    env = machine.env
    memory = machine.memory_automaton()
    U = memory.n_states
    actions = np.asarray(actions, dtype=np.int64)
    if actions.shape != (env.n_states, U):
        raise InvalidPolicyError(
            f"actions must be shaped [S, U] = [{env.n_states}, {U}]; got {list(actions.shape)}")
    table = np.zeros((env.n_states, U + 1, env.n_actions))
    s_idx, u_idx = np.meshgrid(np.arange(env.n_states), np.arange(U), indexing="ij")
    table[s_idx, u_idx, actions] = 1.0
    table[:, U] = env.enabled / env.enabled.sum(axis=1, keepdims=True)
    return FiniteMemoryPolicy(memory, table)


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


@dataclass(frozen=True)
class MinimalSatisfaction:
    """Result of :func:`minimal_satisfaction`.

    Attributes
    ----------
    probability : float
        ``Pmin`` from the initial distribution: ``1 - Pmax(!phi)``.
    policy : FiniteMemoryPolicy
        A policy attaining it. Its memory is the automaton of the *negation* ``!phi``
        (``negation``): evaluate it with ``LinearTemporalLogic(negation)``, whose value is
        ``1 - Pmin``.
    negation : Formula
        The negated objective whose automaton is the policy's memory.
    state_values : ndarray ``[S]``
        ``Pmin`` from each environment state.
    """

    probability: float
    policy: FiniteMemoryPolicy
    negation: Formula
    state_values: np.ndarray


def minimal_satisfaction(env: FiniteMDP, objective: str | Formula) -> MinimalSatisfaction:
    """``Pmin``: the least satisfaction probability of an LTL formula over all policies, and
    a policy attaining it, as ``1 - Pmax(!phi)`` (every run satisfies exactly one of
    ``phi`` and ``!phi``, so minimising one maximises the other; Baier and Katoen 2008,
    section 10.6).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> P = np.zeros((2, 2, 2)); P[0, 0] = [0.5, 0.5]; P[0, 1, 0] = 1.0; P[1, :, 1] = 1.0
    >>> env = FiniteMDP(P, [1.0, 0.0], labels={1: ["goal"]})
    >>> round(minimal_satisfaction(env, "F goal").probability, 12)
    0.0
    """
    phi = parse_formula(objective) if isinstance(objective, str) else objective
    negation = Not(phi)
    best = maximal_satisfaction(env, negation)
    if isinstance(best, _FastMaximalSatisfaction):
        return _FastMinimalSatisfaction(best, negation)
    return MinimalSatisfaction(1.0 - best.probability, best.policy, negation,
                               1.0 - np.asarray(best.state_values))


class _FastMinimalSatisfaction(MinimalSatisfaction):
    """A :class:`MinimalSatisfaction` from a fast-path ``Pmax`` of the negation; its
    ``policy`` is built on first use."""

    def __init__(self, best: _FastMaximalSatisfaction, negation: Formula) -> None:
        object.__setattr__(self, "probability", 1.0 - best.probability)
        object.__setattr__(self, "negation", negation)
        object.__setattr__(self, "state_values", 1.0 - np.asarray(best.state_values))
        object.__setattr__(self, "_best", best)

    @property
    def policy(self) -> FiniteMemoryPolicy:
        """A policy attaining ``Pmin`` (memory: the automaton of the negation)."""
        return self.__dict__["_best"].policy
