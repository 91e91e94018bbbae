"""Prefix-independent LTL objectives without an automaton: Boolean combinations of
``G F a`` and ``F G a`` on state labels.

Such a formula depends only on the set of states a run visits infinitely often (``a``,
``b`` propositional, read on state labels): ``G F a`` holds iff that set contains an
``a``-state, ``F G b`` iff it lies inside the ``b``-states. Written in disjunctive normal
form, each conjunction is ``F G b & G F a_1 & ... & G F a_k`` (the ``F G`` parts conjoin
into one: ``F G b1 & F G b2 = F G (b1 & b2)``; negations swap the two shapes:
``!G F a = F G !a``). This is a generalised Streett condition on the states, and the
classical analyses apply directly to the MDP, with no automaton and no product
(Baier & Katoen 2008, section 10.6.4; de Alfaro 1997):

* **A Markov chain** (a stationary policy): almost every run ends in a bottom strongly
  connected component (BSCC) of the chain and visits each of its states infinitely often,
  so the formula is decided per BSCC, and the satisfaction probability is the probability of
  reaching an accepting BSCC (:func:`stationary_satisfaction`).
* **An MDP** (``Pmax``): the states a run visits infinitely often form, almost surely, an
  end component. For a conjunction, the *good* end components are the maximal end
  components of the MDP restricted to the ``b``-states (and to the actions that stay among
  them) that contain an ``a_i``-state for every ``i``; playing all their actions uniformly
  visits every state of one infinitely often, so the conjunction holds almost surely there.
  Conversely, a run satisfying the conjunction ends in an end component inside the
  ``b``-states with an ``a_i``-state for every ``i``, which lies inside a good one. So
  ``Pmax`` is the maximal probability of reaching the union of the good end components of
  the disjuncts (:func:`good_end_components`, then
  :func:`objspec.mdp.reachability.max_reachability`), and it is attained by a *stationary*
  (randomised) policy: an optimal reachability choice outside, the uniform distribution on
  the component's actions inside. Finite memory adds nothing for these formulas.

:func:`streett_form` recognises the fragment; formulas outside it (propositional parts read
at the first step, ``X``, ``U``, nested operators other than ``G F`` / ``F G``) are left to
the automaton.

Examples
--------
>>> import numpy as np
>>> from objspec import FiniteMDP
>>> from objspec.ltl.parser import parse_formula
>>> P = np.zeros((3, 2, 3)); P[0, 0, 1] = P[0, 1, 2] = 1; P[1, :, 0] = 1; P[2, :, 2] = 1
>>> env = FiniteMDP(P, [1, 0, 0], labels={1: ["p"], 2: ["q"]})
>>> form = streett_form(parse_formula("G F p & F G !q"))
>>> solved = prefix_independent_pmax(env, form)
>>> round(solved.probability, 12), solved.policy[0].tolist()
(1.0, [1.0, 0.0])
>>> stationary_satisfaction(env, form, solved.policy[None]).tolist()
[1.0]
>>> streett_form(parse_formula("F p")) is None
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from objspec.ltl.automaton import evaluate_propositional
from objspec.ltl.product import RESIDUAL_TOLERANCE
from objspec.ltl.syntax import (
    And,
    Atom,
    Constant,
    Equivalent,
    Finally,
    Formula,
    Globally,
    Implies,
    Not,
    Or,
    Xor,
)
from objspec.mdp.graph import adjacency, bottom_components, reachable
from objspec.mdp.model import FiniteMDP
from objspec.mdp.reachability import (
    MaxReachability,
    max_reachability,
    maximal_end_components,
    proper_solve,
)

__all__ = [
    "MAX_CONJUNCTIONS",
    "Conjunction",
    "PrefixIndependentPmax",
    "StreettForm",
    "good_end_components",
    "prefix_independent_pmax",
    "stationary_satisfaction",
    "streett_form",
]

#: Most conjunctions the disjunctive normal form may have (beyond, the automaton is used).
MAX_CONJUNCTIONS = 64


@dataclass(frozen=True)
class Conjunction:
    """``F G persistent & G F recurrent[0] & ... & G F recurrent[k-1]`` (propositional
    formulas; ``persistent`` is ``true`` when there is no ``F G`` part)."""

    persistent: Formula
    recurrent: tuple[Formula, ...]


@dataclass(frozen=True)
class StreettForm:
    """A prefix-independent formula as a disjunction of :class:`Conjunction` (an empty
    disjunction is ``false``)."""

    conjunctions: tuple[Conjunction, ...]


# --------------------------------------------------------------- recognising the fragment

_Clause = tuple[frozenset[Formula], frozenset[Formula]]  # (F G parts, G F parts)


def _propositional(formula: Formula) -> bool:
    if isinstance(formula, Constant | Atom):
        return True
    if isinstance(formula, Not):
        return _propositional(formula.operand)
    if isinstance(formula, And | Or | Xor | Implies | Equivalent):
        return _propositional(formula.left) and _propositional(formula.right)
    return False


def _negate(formula: Formula) -> Formula:
    return formula.operand if isinstance(formula, Not) else Not(formula)


def _product(left: list[_Clause], right: list[_Clause]) -> list[_Clause] | None:
    if len(left) * len(right) > MAX_CONJUNCTIONS:
        return None
    return [(a[0] | b[0], a[1] | b[1]) for a in left for b in right]


def _union(left: list[_Clause], right: list[_Clause]) -> list[_Clause] | None:
    out = list(dict.fromkeys(left + right))
    return out if len(out) <= MAX_CONJUNCTIONS else None


def _dnf(formula: Formula, positive: bool) -> list[_Clause] | None:
    """The clauses of ``formula`` (of its negation when not ``positive``), or None outside
    the fragment or beyond :data:`MAX_CONJUNCTIONS`."""
    empty: frozenset[Formula] = frozenset()
    if isinstance(formula, Constant):
        return [(empty, empty)] if bool(formula.value) == positive else []
    if isinstance(formula, Not):
        return _dnf(formula.operand, not positive)
    if isinstance(formula, Globally) and isinstance(formula.operand, Finally):
        inner = formula.operand.operand  # G F a; negated: F G !a
        if not _propositional(inner):
            return None
        return [(empty, frozenset([inner]))] if positive else [
            (frozenset([_negate(inner)]), empty)]
    if isinstance(formula, Finally) and isinstance(formula.operand, Globally):
        inner = formula.operand.operand  # F G b; negated: G F !b
        if not _propositional(inner):
            return None
        return [(frozenset([inner]), empty)] if positive else [
            (empty, frozenset([_negate(inner)]))]
    if isinstance(formula, And | Or | Implies):
        left_positive = positive if not isinstance(formula, Implies) else not positive
        left = _dnf(formula.left, left_positive)
        right = None if left is None else _dnf(formula.right, positive)
        if left is None or right is None:
            return None
        # a conjunction: And positive, Or / Implies negated (De Morgan)
        conjunctive = isinstance(formula, And) == positive
        return _product(left, right) if conjunctive else _union(left, right)
    if isinstance(formula, Equivalent | Xor):
        # l <-> r = (l & r) | (!l & !r); l xor r = !(l <-> r) = (l & !r) | (!l & r)
        same = isinstance(formula, Equivalent) == positive
        parts = []
        for sign in (True, False):
            lhs = _dnf(formula.left, sign)
            rhs = _dnf(formula.right, sign if same else not sign)
            if lhs is None or rhs is None:
                return None
            both = _product(lhs, rhs)
            if both is None:
                return None
            parts.append(both)
        return _union(parts[0], parts[1])
    return None


def _conjoin(parts: frozenset[Formula]) -> Formula:
    ordered = sorted(parts, key=str)
    if not ordered:
        return Constant(True)
    out = ordered[0]
    for part in ordered[1:]:
        out = And(out, part)
    return out


def streett_form(formula: Formula) -> StreettForm | None:
    """``formula`` as a disjunction of ``F G b & G F a_1 & ... & G F a_k`` conjunctions
    (``a_i``, ``b`` propositional), or None if it is not a Boolean combination of ``G F a``
    and ``F G a`` (with ``a`` propositional) or its normal form has more than
    :data:`MAX_CONJUNCTIONS` conjunctions.

    Examples
    --------
    >>> from objspec.ltl.parser import parse_formula
    >>> form = streett_form(parse_formula("G F p -> G F q"))
    >>> [(str(c.persistent), [str(a) for a in c.recurrent]) for c in form.conjunctions]
    [('!p', []), ('true', ['q'])]
    >>> streett_form(parse_formula("G F p & q")) is None
    True
    """
    clauses = _dnf(formula, True)
    if clauses is None:
        return None
    return StreettForm(tuple(
        Conjunction(_conjoin(fg), tuple(sorted(gf, key=str))) for fg, gf in clauses))


# ----------------------------------------------------------------------- on an MDP


def _mask(env: FiniteMDP, formula: Formula) -> np.ndarray:
    """``[S]`` bool: the states whose label satisfies the propositional ``formula``."""
    values = {a: env.proposition_mask(a) for a in formula.atoms()}
    return evaluate_propositional(formula, values, env.n_states)


def _masks(env: FiniteMDP, form: StreettForm) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    return [(_mask(env, c.persistent), [_mask(env, a) for a in c.recurrent])
            for c in form.conjunctions]


def _entries(env: FiniteMDP) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The positive-probability entries of enabled actions: source, action, target,
    probability."""
    rows = env.transition_matrix
    A = env.n_actions
    pair = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    src, act = pair // A, pair % A
    dst, prob = rows.indices.astype(np.int64), rows.data
    live = env.enabled[src, act] & (prob > 0)
    if not live.all():
        src, act, dst, prob = src[live], act[live], dst[live], prob[live]
    return src, act, dst, prob


def good_end_components(env: FiniteMDP, form: StreettForm) -> tuple[np.ndarray, np.ndarray]:
    """The states of the good end components of the conjunctions (see the module
    docstring), and the actions that keep to them.

    For each conjunction ``F G b & G F a_1 & ... & G F a_k`` in turn: the maximal end
    components of the MDP restricted to the ``b``-states and the actions whose successors
    are all ``b``-states, kept if they contain an ``a_i``-state for every ``i``. A state
    already in a good component of an earlier conjunction keeps that one's actions.

    Returns
    -------
    states : numpy.ndarray
        ``[S]`` bool: the state lies in a good end component.
    actions : numpy.ndarray
        ``[S, A]`` bool: for those states, the actions of their component (playing them
        uniformly keeps the run in the component and visits all its states infinitely
        often, almost surely).

    Raises
    ------
    InvalidSpecificationError
        If ``env`` has transition labels (the fragment is read on state labels).
    """
    _check_state_labels(env)
    S, A = env.n_states, env.n_actions
    src, act, dst, _ = _entries(env)
    target = np.zeros(S, dtype=bool)
    stay = np.zeros((S, A), dtype=bool)
    for persistent, recurrent in _masks(env, form):
        allowed = env.enabled & persistent[:, None]
        leave = ~persistent[dst]
        allowed[src[leave], act[leave]] = False
        if not allowed.any():
            continue
        mec = maximal_end_components(S, A, src, act, dst, allowed)
        n_mec = int(mec.max()) + 1 if mec.size else 0
        if n_mec <= 0:
            continue
        inside = mec >= 0
        ok = np.ones(n_mec, dtype=bool)
        for a in recurrent:
            ok &= np.bincount(mec[inside & a], minlength=n_mec) > 0
        new = inside & ok[np.maximum(mec, 0)] & ~target
        stay[new] = allowed[new]
        target |= new
    return target, stay


def _check_state_labels(env: FiniteMDP) -> None:
    from objspec.errors import InvalidSpecificationError

    if env.state_labels is None:
        raise InvalidSpecificationError(
            "the automaton-free analysis of G F / F G formulas reads state labels; this "
            "environment has transition labels (use the product with the automaton)")


@dataclass(frozen=True)
class PrefixIndependentPmax:
    """Result of :func:`prefix_independent_pmax`.

    Attributes
    ----------
    probability : float
        ``Pmax`` from ``mu0``: the probability of the returned policy (a float64 solve, up
        to the policy iteration's stopping test; :attr:`reachability` proves a bound).
    policy : numpy.ndarray
        ``[S, A]``: an optimal stationary policy (deterministic outside the good end
        components, uniform on a component's actions inside).
    state_values : numpy.ndarray
        ``[S]``: ``Pmax`` from each state.
    good : numpy.ndarray
        ``[S]`` bool: the states of the good end components.
    reachability : MaxReachability
        The solve of reaching them (with :meth:`MaxReachability.upper_bound`).
    initial : numpy.ndarray
        ``[S]``: the initial distribution ``mu0``.
    """

    probability: float
    policy: np.ndarray
    state_values: np.ndarray
    good: np.ndarray
    reachability: MaxReachability
    initial: np.ndarray

    def upper_bound(self, tol: float, max_iterations: int) -> tuple[float, int]:
        """A proven upper bound on ``Pmax`` from ``mu0`` (up to float64 rounding) and the
        value-iteration sweeps it took: a pre-fixed point of the Bellman operator of
        reaching the good end components (:meth:`MaxReachability.upper_bound`), since
        ``Pmax`` of the formula equals ``Pmax`` of reaching them."""
        weights = self.initial

        def at_mu0(x: np.ndarray) -> float:
            return float(np.clip(x @ weights, 0.0, 1.0))

        x, sweeps = self.reachability.upper_bound(at_mu0, self.probability, tol,
                                                  max_iterations)
        return at_mu0(x), sweeps


def prefix_independent_pmax(env: FiniteMDP, form: StreettForm) -> PrefixIndependentPmax:
    """``Pmax`` of a formula in the fragment (:func:`streett_form`) and an optimal
    stationary policy: the maximal probability of reaching the good end components
    (:func:`good_end_components`; Baier & Katoen 2008, section 10.6.4), by
    :func:`objspec.mdp.reachability.max_reachability` on the MDP itself.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.ltl.parser import parse_formula
    >>> P = np.zeros((2, 2, 2)); P[0, 0] = [0.5, 0.5]; P[0, 1, 0] = 1; P[1, :, 1] = 1
    >>> env = FiniteMDP(P, [1, 0], labels={0: ["p"]})
    >>> round(prefix_independent_pmax(env, streett_form(parse_formula("G F p"))).probability,
    ...       12)
    1.0
    """
    good, stay = good_end_components(env, form)
    solved = max_reachability(env.transition_matrix, env.enabled, good)
    S, A = env.n_states, env.n_actions
    policy = np.zeros((S, A))
    policy[np.arange(S), solved.choice] = 1.0
    policy[good] = stay[good] / stay[good].sum(axis=1, keepdims=True)
    probability = float(np.clip(solved.values @ env.initial, 0.0, 1.0))
    return PrefixIndependentPmax(probability, policy, solved.values, good, solved, env.initial)


# ------------------------------------------------------------ on stationary policies


def _accepting_bottoms(labels: np.ndarray, bottom: np.ndarray,
                       masks: list[tuple[np.ndarray, list[np.ndarray]]]) -> np.ndarray:
    """``[n_components]`` bool: the bottom components whose set of states satisfies one
    of the conjunctions."""
    n = bottom.size
    accepting = np.zeros(n, dtype=bool)
    for persistent, recurrent in masks:
        ok = bottom & (np.bincount(labels[~persistent], minlength=n) == 0)
        for a in recurrent:
            ok &= np.bincount(labels[a], minlength=n) > 0
        accepting |= ok
    return accepting


def _support_groups(support: np.ndarray) -> tuple[list[int], np.ndarray]:
    """The first policy of each distinct support pattern (rows of ``support``), and the
    group of each policy."""
    index: dict[bytes, int] = {}
    first: list[int] = []
    group = np.empty(support.shape[0], dtype=np.int64)
    for i, row in enumerate(np.packbits(support, axis=1)):
        g = index.setdefault(row.tobytes(), len(first))
        if g == len(first):
            first.append(i)
        group[i] = g
    return first, group


def stationary_satisfaction(env: FiniteMDP, form: StreettForm, policies: np.ndarray
                            ) -> np.ndarray:
    """Satisfaction probabilities ``[N]`` (from ``mu0``) of stationary policies
    ``[N, S, A]`` for a formula in the fragment, without an automaton.

    For each policy: the bottom SCCs of its chain (supports read exactly: an entry counts
    iff its probability is non-zero), each accepted iff its set of states satisfies a
    conjunction; the states that cannot reach an accepting one get 0, those that cannot
    reach a rejecting one get 1 (almost every run ends in a BSCC), and the rest
    (transient: they can reach both) solve one sparse linear system. Policies with the
    same support share the analysis; all systems are solved together as one
    block-diagonal system (sparse LU when small, else BiCGSTAB with a
    sparse LU fallback: :func:`objspec.mdp.reachability.proper_solve`), to a relative
    residual of :data:`~objspec.ltl.product.RESIDUAL_TOLERANCE`. Float64 values, as the
    product evaluator's.

    Raises
    ------
    InvalidSpecificationError
        If ``env`` has transition labels.
    """
    _check_state_labels(env)
    policies = np.asarray(policies, dtype=np.float64)
    N, S = policies.shape[0], env.n_states
    masks = _masks(env, form)
    src, act, dst, prob = _entries(env)
    weights = policies[:, src, act]  # [N, E]
    support = weights > 0
    first, group = _support_groups(support)
    target = np.zeros((N, S), dtype=bool)
    maybe = np.zeros((N, S), dtype=bool)
    for g, i in enumerate(first):
        keep = support[i]
        graph = adjacency(S, src[keep], dst[keep])
        labels, bottom = bottom_components(graph)
        accepting = _accepting_bottoms(labels, bottom, masks)
        good = accepting[labels]
        can = reachable(graph, np.flatnonzero(good), backward=True) if good.any() else good
        # probability 1: no rejecting BSCC is reachable (almost every run ends in a BSCC)
        rejecting = (bottom & ~accepting)[labels]
        sure = ~reachable(graph, np.flatnonzero(rejecting), backward=True) & can
        members = group == g
        target[members] = sure
        maybe[members] = can & ~sure
    values = target.astype(np.float64)
    if maybe.any():
        values[maybe] = _solve_transient(src, dst, prob, weights, target, maybe)
    return np.clip(values @ env.initial, 0.0, 1.0)


def _solve_transient(src: np.ndarray, dst: np.ndarray, prob: np.ndarray,
                     weights: np.ndarray, target: np.ndarray, maybe: np.ndarray
                     ) -> np.ndarray:
    """The values of the undecided states of all policies (in ``maybe``'s row-major order):
    ``x = P_maybe x + P_target 1``, a non-singular system (undecided states are transient),
    solved as one block-diagonal system."""
    N, S = maybe.shape
    index = np.full(N * S, -1, dtype=np.int64)
    flat_maybe = maybe.reshape(-1)
    m = int(flat_maybe.sum())
    index[flat_maybe] = np.arange(m)
    pol, ent = np.nonzero(maybe[:, src] & (weights > 0))
    p = weights[pol, ent] * prob[ent]
    row = index[pol * S + src[ent]]
    into = maybe[pol, dst[ent]]
    rhs = np.bincount(row, weights=p * target[pol, dst[ent]], minlength=m)
    q = sp.csr_matrix((p[into], (row[into], index[pol[into] * S + dst[ent][into]])),
                      shape=(m, m))
    return proper_solve(sp.identity(m, format="csr") - q, rhs, precision=RESIDUAL_TOLERANCE)
