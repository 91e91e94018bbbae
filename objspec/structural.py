"""The structural lemmas of docs/theory.md#lemmas as exact feature maps (below the formalisms).

Each lemma says that, on a finite set of policies meeting a precondition (decided exactly on
the environment's support graph), every specification of the formalisms it is proved for
has a value (or a real representation of its ordering) ``J(pi) = <phi(pi), c>`` for exact
features ``phi``. They serve two checkers: the separation witnesses of
:mod:`objspec.reductions` (whose :class:`~objspec.reductions.lemmas.Lemma` adds which
formalisms each constrains) and the impossibility certificates of :mod:`objspec.learning`.

Examples
--------
>>> from fractions import Fraction as F
>>> import numpy as np
>>> from objspec import FiniteMDP, Policy
>>> P = np.zeros((3, 2, 3)); P[0, 0, 1] = P[0, 1, 2] = 1; P[1, :, 1] = P[2, :, 2] = 1
>>> env = FiniteMDP(P, [1, 0, 0])
>>> once_visited_states(env)
(0,)
>>> [str(x) for x in L1.features(env, Policy([[F(1, 4), F(3, 4)], [1, 0], [1, 0]]), (0,))]
['1/4', '3/4']
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import scipy.sparse as sp

from objspec.errors import CertificateError
from objspec.mdp.graph import edges_on_cycles, reachable
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy

__all__ = [
    "StructuralLemma",
    "StructuralClassBound",
    "L1",
    "L3",
    "L_LAR",
    "L7",
    "L3_PARTIAL",
    "L_LTL_DET",
    "STRUCTURAL_LEMMAS",
    "ancestors",
    "deterministic_environment",
    "deterministic_policy",
    "once_visited_states",
    "action_inert_states",
    "reachable_states",
]


def _support_graph(env: FiniteMDP) -> np.ndarray:
    return np.asarray((env.transitions > 0).any(axis=1), dtype=bool)


def once_visited_states(env: FiniteMDP) -> tuple[int, ...]:
    """States on no cycle of the support graph (union over actions): every trajectory,
    under every policy, visits each of them at most once."""
    src, dst = np.nonzero(_support_graph(env))
    on_cycle = np.zeros(env.n_states, dtype=bool)
    on_cycle[src[edges_on_cycles(env.n_states, src, dst)]] = True
    return tuple(int(s) for s in np.flatnonzero(~on_cycle))


def action_inert_states(env: FiniteMDP) -> tuple[int, ...]:
    """States where every action has the same successor distribution (compared exactly)."""
    tau = env.exact_transitions()
    return tuple(s for s in range(env.n_states)
                 if all(list(tau[s, a]) == list(tau[s, 0]) for a in range(env.n_actions)))


def reachable_states(env: FiniteMDP, policy: Policy) -> tuple[int, ...]:
    """States reached with positive probability under ``policy`` (exact support)."""
    pi = policy.exact_probabilities()
    tau = env.exact_transitions()
    mu0 = env.exact_initial()
    step = ((pi > 0)[:, :, None] & (tau > 0)).any(axis=1)  # [S, S]
    seen = reachable(sp.csr_matrix(step), np.flatnonzero(mu0 > 0))
    return tuple(int(s) for s in np.flatnonzero(seen))


def _rows(policy: Policy, states: Sequence[int]) -> tuple[tuple[Fraction, ...], ...]:
    pi = policy.exact_probabilities()
    return tuple(tuple(pi[s]) for s in states)


@dataclass(frozen=True)
class StructuralLemma:
    """A structural lemma usable in finite certificates.

    Attributes
    ----------
    name : str
        ``"L1"``, ``"L3"``, ``"L-LAR"`` or ``"L7"``.
    proved_for : tuple of str
        The formalisms its proof is about.
    statement : str
        The lemma in words, with its proof sketch.

    :class:`objspec.reductions.lemmas.Lemma` adds the formalisms the lemma constrains
    (those it is proved for and every formalism they can express).
    """

    name: str
    proved_for: tuple[str, ...]
    statement: str
    _check: Callable[[FiniteMDP, Sequence[Policy], tuple[int, ...]], None]
    _features: Callable[[FiniteMDP, Sequence[Policy], tuple[int, ...]], list[list[Fraction]]]

    def check_precondition(
        self, env: FiniteMDP, policies: Sequence[Policy], states: tuple[int, ...]
    ) -> None:
        """Raise :class:`CertificateError` if the lemma does not apply (decided exactly)."""
        self._check(env, policies, states)

    def feature_matrix(
        self, env: FiniteMDP, policies: Sequence[Policy], states: tuple[int, ...]
    ) -> list[list[Fraction]]:
        """``phi(pi)`` for every policy (one-hot features are relative to the set)."""
        self._check(env, policies, states)
        return self._features(env, policies, states)

    def features(self, env: FiniteMDP, policy: Policy, states: tuple[int, ...]) -> list[Fraction]:
        """``phi`` of one policy (for ``L1``; one-hot lemmas need the whole set)."""
        return self.feature_matrix(env, [policy], states)[0]


def _agree_off(policies: Sequence[Policy], env: FiniteMDP, states: tuple[int, ...],
               lemma: str) -> None:
    others = [s for s in range(env.n_states) if s not in states]
    ref = _rows(policies[0], others)
    for i, p in enumerate(policies):
        if _rows(p, others) != ref:
            raise CertificateError(
                f"{lemma}: policy {i} differs from policy 0 outside the states {list(states)}"
            )


def _l1_check(env: FiniteMDP, policies: Sequence[Policy], states: tuple[int, ...]) -> None:
    once = set(once_visited_states(env))
    bad = [s for s in states if s not in once]
    if bad:
        raise CertificateError(f"L1: state {bad[0]} lies on a cycle (can be visited twice)")
    _agree_off(policies, env, states, "L1")


def _l1_features(env: FiniteMDP, policies: Sequence[Policy],
                 states: tuple[int, ...]) -> list[list[Fraction]]:
    out = []
    for p in policies:
        pi = p.exact_probabilities()
        row = []
        for acts in itertools.product(range(env.n_actions), repeat=len(states)):
            w = Fraction(1)
            for s, a in zip(states, acts, strict=True):
                w *= pi[s, a]
            row.append(w)
        out.append(row)
    return out


def _one_hot(keys: list[object]) -> list[list[Fraction]]:
    distinct = list(dict.fromkeys(keys))
    return [[Fraction(int(k == d)) for d in distinct] for k in keys]


def _l3_check(env: FiniteMDP, policies: Sequence[Policy], states: tuple[int, ...]) -> None:
    inert = set(action_inert_states(env))
    bad = [s for s in range(env.n_states) if s not in inert]
    if bad:
        raise CertificateError(
            f"L3: actions change the successor distribution in state {bad[0]}, so visitation "
            "may depend on the policy"
        )


def _l3_features(env: FiniteMDP, policies: Sequence[Policy],
                 states: tuple[int, ...]) -> list[list[Fraction]]:
    blocks = [_one_hot([_rows(p, [s]) for p in policies]) for s in range(env.n_states)]
    return [sum((b[i] for b in blocks), []) for i in range(len(policies))]


def _lar_check(env: FiniteMDP, policies: Sequence[Policy], states: tuple[int, ...]) -> None:
    once = set(once_visited_states(env))
    inert = set(action_inert_states(env))
    for s in states:
        if s not in once or s not in inert:
            raise CertificateError(
                f"L-LAR: state {s} must be on no cycle and have action-independent successors"
            )


def _lar_features(env: FiniteMDP, policies: Sequence[Policy],
                  states: tuple[int, ...]) -> list[list[Fraction]]:
    others = [s for s in range(env.n_states) if s not in states]
    return _one_hot([_rows(p, others) for p in policies])


def _l7_check(env: FiniteMDP, policies: Sequence[Policy], states: tuple[int, ...]) -> None:
    return None


def _l7_features(env: FiniteMDP, policies: Sequence[Policy],
                 states: tuple[int, ...]) -> list[list[Fraction]]:
    keys: list[object] = []
    for p in policies:
        reach = reachable_states(env, p)
        keys.append((reach, _rows(p, reach)))
    return _one_hot(keys)


def ancestors(env: FiniteMDP, s: int) -> tuple[int, ...]:
    """States from which ``s`` can be reached in one or more steps (support graph, any
    action); ``s`` itself is included only if it lies on a cycle.

    Examples
    --------
    >>> from objspec.environments import E6
    >>> ancestors(E6(), 2), ancestors(E6(), 0)
    ((0, 1, 2), ())
    """
    graph = _support_graph(env)
    seen = reachable(sp.csr_matrix(graph), np.flatnonzero(graph[:, s]), backward=True)
    return tuple(int(t) for t in np.flatnonzero(seen))


def _l3p_check(env: FiniteMDP, policies: Sequence[Policy], states: tuple[int, ...]) -> None:
    inert = set(action_inert_states(env))
    if not states:
        raise CertificateError("L3-partial: no states given")
    for s in states:
        if s not in inert:
            raise CertificateError(f"L3-partial: actions change the successors of state {s}")
        bad = [t for t in ancestors(env, s) if t not in inert]
        if bad:
            raise CertificateError(
                f"L3-partial: state {bad[0]} leads to state {s} and its actions change the "
                f"successors, so the visitation of state {s} may depend on the policy"
            )


def _l3p_features(env: FiniteMDP, policies: Sequence[Policy],
                  states: tuple[int, ...]) -> list[list[Fraction]]:
    others = [s for s in range(env.n_states) if s not in states]
    blocks = [_one_hot([_rows(p, [s]) for p in policies]) for s in states]
    blocks.append(_one_hot([_rows(p, others) for p in policies]))
    return [sum((b[i] for b in blocks), []) for i in range(len(policies))]


L1 = StructuralLemma(
    "L1",
    ("FTR",),
    "If the states D are on no cycle of the environment's support graph and policies agree "
    "outside D, then J_FTR(pi) = sum over action tuples (a_s)_{s in D} of prod_s pi(a_s|s) "
    "* c_(a_s), with c independent of pi on D. Proof: each s in D is visited at most once, so "
    "pre-drawing a_s ~ pi(.|s) for every s in D before the episode and playing it at the "
    "(only) visit gives the same trajectory law L_pi; conditioned on the pre-drawn tuple the "
    "law is L^(a), the lottery of pi with D fixed to (a_s). So L_pi is the mixture "
    "sum_a prod_s pi(a_s|s) L^(a), and J_FTR = E_L[f] is linear in L.",
    _l1_check,
    _l1_features,
)

L3 = StructuralLemma(
    "L3",
    ("RRL",),
    "If in every state all actions have the same successor distribution, the state process "
    "and so d_gamma(s) do not depend on pi, and J_RRL(pi) = sum_s d(s) [sum_a pi(a|s) "
    "rbar(s,a) - alpha F(pi(.|s))] = sum_s g_s(pi(.|s)): additively separable across states. "
    "On a finite set of policies, g_s is any function of the distinct rows pi(.|s): one-hot "
    "features per (state, row).",
    _l3_check,
    _l3_features,
)

L_LAR = StructuralLemma(
    "L-LAR",
    ("LAR",),
    "If every state of D is on no cycle and all its actions have the same successor "
    "distribution, J_LAR does not depend on pi on D: the state process does not depend on "
    "pi(.|s) for s in D, and a reward collected at most once per trajectory contributes "
    "nothing to (1/N) sum_{t<N} R(x_t) in the limit. On a finite set: one-hot features of "
    "pi restricted to the states outside D.",
    _lar_check,
    _lar_features,
)

L7 = StructuralLemma(
    "L7",
    ("TLO",),
    "L_pi (and m_gamma^pi) depend only on pi restricted to the states reachable under pi: "
    "the trajectory law is built from pi(.|s) only at visited states. So every formalism "
    "defined through the trajectory lottery ties policies with the same reachable set and "
    "the same behaviour on it. On a finite set a total preorder is represented by a real "
    "function, so the one-hot features of (reachable set, behaviour there) cover orderings "
    "as well.",
    _l7_check,
    _l7_features,
)

L3_PARTIAL = StructuralLemma(
    "L3-partial",
    ("RRL",),
    "If every state of D is action-inert (all actions have the same successor distribution) "
    "and so is every state from which a state of D can be reached, then J_RRL(pi) = "
    "sum_{s in D} g_s(pi(.|s)) + H(pi restricted to the states outside D). Proof: "
    "J_RRL = sum_s d(s) G_s(pi(.|s)) with G_s(row) = sum_a row(a) rbar(s,a) - alpha F(row). "
    "The transition matrix P_pi has rows sum_a pi(a|s) tau(.|s,a), which at an inert state "
    "is tau(.|s,0) whatever pi(.|s) is: so the state process, hence every d(s), depends only "
    "on pi outside D; and d(s) for s in D depends only on the rows of the states leading to s, "
    "all inert, so it is a constant. On a finite set: one-hot features per (state of D, row) "
    "and of the joint rows outside D.",
    _l3p_check,
    _l3p_features,
)

STRUCTURAL_LEMMAS: dict[str, StructuralLemma] = {
    lem.name: lem for lem in (L1, L3, L_LAR, L7, L3_PARTIAL)}


def deterministic_environment(env: FiniteMDP) -> bool:
    """Whether ``env`` is deterministic: the initial distribution is a point mass and every
    enabled action has one successor with probability exactly 1 (decided exactly).

    Examples
    --------
    >>> from objspec.environments import E7
    >>> deterministic_environment(E7())
    True
    """
    mu0 = env.exact_initial()
    if sum(1 for x in mu0 if x != 0) != 1:
        return False
    tau = env.exact_transitions()
    enabled = env.enabled
    return all([x for x in tau[s, a] if x != 0] == [1]
               for s in range(env.n_states) for a in range(env.n_actions) if enabled[s, a])


def deterministic_policy(policy: Policy) -> bool:
    """Whether every row of ``policy`` puts probability exactly 1 on one action."""
    pi = policy.exact_probabilities()
    return all([x for x in row if x != 0] == [1] for row in pi)


@dataclass(frozen=True)
class StructuralClassBound:
    """A lemma bounding the number of classes of an ordering on a set of policies.

    On policies meeting the precondition, every specification of ``formalisms`` takes at
    most ``bound`` distinct values, so its ordering cannot contain a strict chain of
    ``bound + 1`` of them. A witness needs only the precondition (decided exactly) and a
    strict chain in the other ordering: the last step is counting.

    Attributes
    ----------
    name : str
        The lemma's name (an anchor of docs/theory.md#lemmas).
    proved_for : tuple of str
        The formalisms its proof is about (it constrains :attr:`formalisms`, as for
        :class:`Lemma`).
    bound : int
        The most classes those formalisms' orderings have on such policies.
    statement : str
        The lemma in words, with its proof.
    """

    name: str
    proved_for: tuple[str, ...]
    bound: int
    statement: str
    _check: Callable[[FiniteMDP, Sequence[Policy]], None]

    def check_precondition(self, env: FiniteMDP, policies: Sequence[Policy]) -> None:
        """Raise :class:`CertificateError` if the lemma does not apply (decided exactly)."""
        self._check(env, policies)


def _ltl_det_check(env: FiniteMDP, policies: Sequence[Policy]) -> None:
    if not deterministic_environment(env):
        raise CertificateError(
            "L-LTL-det: the environment is not deterministic (a random initial state or an "
            "action with more than one successor)")
    for i, pol in enumerate(policies):
        if not deterministic_policy(pol):
            raise CertificateError(f"L-LTL-det: policy {i} is not deterministic")


L_LTL_DET = StructuralClassBound(
    "L-LTL-det",
    ("LTL",),
    2,
    "In a deterministic environment (one initial state, every action has one successor "
    "with probability 1) a deterministic stationary policy pi generates exactly one "
    "trajectory xi_pi, hence one label word whatever the labelling function, so "
    "J_LTL(pi) = P_pi(xi |= phi) = 1[xi_pi |= phi] is 0 or 1. An LTL ordering therefore has "
    "at most two classes on deterministic policies: no three of them are strictly ordered.",
    _ltl_det_check,
)
