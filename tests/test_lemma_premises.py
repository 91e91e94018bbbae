"""Premise checks of the structural lemmas (:mod:`objspec.reductions.lemmas`) and tampering
with the finite separation witnesses that rest on them.

The oracle here re-derives, without the code under test, whether a finite witness is still
a valid certificate after one entry of one of its policies is changed (or its lemma states
are changed): the lemma's premises (cycles, action-inert states, policies agreeing off the
lemma's states) from the exact transition table, the lemma's features, the B-ordering from
the B-specification's exact evaluator, and infeasibility from the exact LPs of
``tests/exact_lp.py``. ``witness.check()`` must pass exactly when the oracle says valid.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from fractions import Fraction as F
from typing import Any

import numpy as np
import pytest
from exact_lp import system_feasible
from hypothesis import example, given
from hypothesis import strategies as st

from objspec import Policy
from objspec.environments import E3, E4, E6
from objspec.errors import CertificateError
from objspec.mdp.model import FiniteMDP
from objspec.reductions import FiniteWitness, separations
from objspec.reductions.lemmas import (
    L1,
    L3,
    L7,
    L_LAR,
    LEMMAS,
    action_inert_states,
    once_visited_states,
    reachable_states,
)

FINITE = {w.name: w for w in separations() if isinstance(w, FiniteWitness)}


# ---------------------------------------------------------------- independent oracle


def _successors(env: FiniteMDP) -> dict[int, set[int]]:
    tau = env.exact_transitions()
    return {s: {t for a in range(env.n_actions) for t in range(env.n_states) if tau[s, a, t] > 0}
            for s in range(env.n_states)}


def on_a_cycle(env: FiniteMDP, s: int) -> bool:
    """``s`` can be reached from itself in one or more steps (any actions)."""
    succ = _successors(env)
    return any(on_path(succ, u, s) for u in succ[s])


def inert(env: FiniteMDP, s: int) -> bool:
    tau = env.exact_transitions()
    return all(list(tau[s, a]) == list(tau[s, 0]) for a in range(env.n_actions))


def leads_to(env: FiniteMDP, s: int) -> set[int]:
    """States from which ``s`` can be reached in one or more steps (any actions)."""
    succ = _successors(env)
    return {t for t in range(env.n_states) if any(on_path(succ, u, s) for u in succ[t])}


def on_path(succ: dict[int, set[int]], start: int, goal: int) -> bool:
    """``goal`` can be reached from ``start`` in zero or more steps."""
    seen, stack = set(), [start]
    while stack:
        t = stack.pop()
        if t == goal:
            return True
        if t not in seen:
            seen.add(t)
            stack.extend(succ[t])
    return False


def reached(env: FiniteMDP, policy: Policy) -> frozenset[int]:
    tau, pi, mu = env.exact_transitions(), policy.exact_probabilities(), env.exact_initial()
    seen = {s for s in range(env.n_states) if mu[s] != 0}
    frontier = set(seen)
    while frontier:
        frontier = {t for s in frontier for a in range(env.n_actions) if pi[s, a] != 0
                    for t in range(env.n_states) if tau[s, a, t] != 0} - seen
        seen |= frontier
    return frozenset(seen)


def rows(policy: Policy, states: Any) -> tuple[tuple[F, ...], ...]:
    pi = policy.exact_probabilities()
    return tuple(tuple(F(x) for x in pi[s]) for s in states)


def one_hot(keys: list[Any]) -> list[list[F]]:
    distinct = sorted(set(keys), key=keys.index)
    return [[F(k == d) for d in distinct] for k in keys]


def premises_hold(lemma: str, env: FiniteMDP, pols: list[Policy], states: tuple[int, ...]) -> bool:
    off = [s for s in range(env.n_states) if s not in states]
    if lemma == "L1":
        return (not any(on_a_cycle(env, s) for s in states)
                and all(rows(p, off) == rows(pols[0], off) for p in pols))
    if lemma == "L3":
        return all(inert(env, s) for s in range(env.n_states))
    if lemma == "L-LAR":
        return all(not on_a_cycle(env, s) and inert(env, s) for s in states)
    if lemma == "L3-partial":
        return bool(states) and all(inert(env, s) and all(inert(env, t) for t in leads_to(env, s))
                                    for s in states)
    assert lemma == "L7"
    return True


def features(lemma: str, env: FiniteMDP, pols: list[Policy],
             states: tuple[int, ...]) -> list[list[F]]:
    if lemma == "L1":
        out = []
        for p in pols:
            pi = p.exact_probabilities()
            out.append([np.prod([F(pi[s, a]) for s, a in zip(states, acts, strict=True)],
                                initial=F(1))
                        for acts in itertools.product(range(env.n_actions), repeat=len(states))])
        return out
    if lemma == "L3":
        blocks = [one_hot([rows(p, [s]) for p in pols]) for s in range(env.n_states)]
        return [[x for b in blocks for x in b[i]] for i in range(len(pols))]
    if lemma == "L-LAR":
        off = [s for s in range(env.n_states) if s not in states]
        return one_hot([rows(p, off) for p in pols])
    if lemma == "L3-partial":
        off = [s for s in range(env.n_states) if s not in states]
        blocks = [one_hot([rows(p, [s]) for p in pols]) for s in states]
        blocks.append(one_hot([rows(p, off) for p in pols]))
        return [[x for b in blocks for x in b[i]] for i in range(len(pols))]
    keys = []
    for p in pols:
        r = reached(env, p)
        keys.append((r, rows(p, sorted(r))))
    return one_hot(keys)


def witness_valid(w: FiniteWitness) -> bool:
    """Independent verdict on a finite witness (exact throughout)."""
    if w.a not in w.lemma.formalisms:
        return False
    env, pols = w.env, w.policies
    if not premises_hold(w.lemma.name, env, pols, w.states):
        return False
    ev = w.spec.compile(env, exact=True)
    vals = [ev.exact_value(p) for p in pols]
    n = len(pols)
    strict = [(i, j) for i in range(n) for j in range(n) if vals[i] > vals[j]]
    ties = [(i, j) for i in range(n) for j in range(i + 1, n) if vals[i] == vals[j]]
    return not system_feasible(features(w.lemma.name, env, pols, w.states), strict, ties)


def assert_witness_verdict(w: FiniteWitness) -> None:
    if witness_valid(w):
        w.check().certificate.verify()  # type: ignore[union-attr]
    else:
        with pytest.raises(CertificateError):
            w.check()


# ---------------------------------------------------------------- targeted premise checks


def _pol(rows_: list[list[Any]]) -> Policy:
    return Policy(np.array([[F(x) for x in r] for r in rows_], dtype=object))


def test_every_finite_witness_is_valid_for_the_oracle() -> None:
    for name, w in FINITE.items():
        assert witness_valid(w), name


def test_L1_policies_must_agree_off_the_lemma_states() -> None:
    """Policies that differ at s1 (outside D = {s0}) are refused, naming the policy."""
    env = E3()
    same = [_pol([[0, 1], [1, 0]]), _pol([[1, 0], [1, 0]])]
    L1.check_precondition(env, same, (0,))
    differ = [same[0], _pol([[1, 0], [0, 1]])]
    with pytest.raises(CertificateError, match=r"^L1: policy 1 differs from policy 0 outside "
                                               r"the states \[0\]$"):
        L1.check_precondition(env, differ, (0,))
    with pytest.raises(CertificateError, match="outside"):
        L1.feature_matrix(env, differ, (0,))
    with pytest.raises(CertificateError, match="policy 2 differs"):
        L1.check_precondition(env, [*same, differ[1]], (0,))
    # agreeing off D is all that is asked: both states in D is fine
    L1.check_precondition(E4(), [_pol([[0, 1], [1, 0], [1, 0]]),
                                 _pol([[1, 0], [0, 1], [1, 0]])], (0, 1))


def test_N3_with_a_policy_changed_off_s0_is_refused() -> None:
    """The ordering still contradicts affinity in p, but L1 only speaks about policies that
    agree off s0: the witness must be refused."""
    w = FINITE["N3"]
    pols = w.policies
    pols[1] = _pol([[F(1, 2), F(1, 2)], [F(1, 3), F(2, 3)]])
    tampered = replace(w, policy_list=lambda: pols)
    assert not witness_valid(tampered)
    with pytest.raises(CertificateError, match="differs from policy 0 outside"):
        tampered.check()


def test_L1_states_must_be_on_no_cycle() -> None:
    env = E6()
    assert on_a_cycle(env, 1) and not on_a_cycle(env, 0)
    pols = [_pol([[1, 0]] * 3)]
    L1.check_precondition(env, pols, (0,))
    with pytest.raises(CertificateError, match="state 1 lies on a cycle"):
        L1.check_precondition(env, pols, (0, 1))


def test_once_visited_and_inert_states_match_the_oracle() -> None:
    for env in (E3(), E4(), E6(), FINITE["N10-LAR"].env, FINITE["N2"].env):
        assert once_visited_states(env) == tuple(
            s for s in range(env.n_states) if not on_a_cycle(env, s))
        assert action_inert_states(env) == tuple(
            s for s in range(env.n_states) if inert(env, s))


def test_a_single_action_makes_every_state_action_inert() -> None:
    tau = np.zeros((2, 1, 2), dtype=object)
    tau[0, 0, 1] = tau[1, 0, 1] = F(1)
    env = FiniteMDP(tau, np.array([F(1), F(0)], dtype=object))
    assert action_inert_states(env) == (0, 1)
    L3.check_precondition(env, [_pol([[1], [1]])], ())


def test_L3_needs_every_state_action_inert() -> None:
    env = E6()  # at s1, "stay" loops and the other action leaves
    assert not inert(env, 1)
    with pytest.raises(CertificateError, match="^L3: actions change the successor "
                                               "distribution in state 1, so visitation "
                                               "may depend on the policy$"):
        L3.check_precondition(env, [_pol([[1, 0]] * 3)], ())
    L3.check_precondition(E4(), [_pol([[1, 0]] * 3)], ())


def test_L_LAR_needs_once_visited_action_inert_states() -> None:
    pols = [_pol([[1, 0], [1, 0]])]
    L_LAR.check_precondition(E3(), pols, (0,))
    with pytest.raises(CertificateError, match="L-LAR: state 1"):
        L_LAR.check_precondition(E3(), pols, (1,))  # absorbing: on a cycle
    with pytest.raises(CertificateError, match="L-LAR: state 1"):
        L_LAR.check_precondition(E6(), [_pol([[1, 0]] * 3)], (0, 1))  # cycle, not inert
    # once visited but not inert: s0 of a chain whose actions lead to different states
    tau = np.zeros((3, 2, 3), dtype=object)
    tau[0, 0, 1] = tau[0, 1, 2] = F(1)
    tau[1, :, 2] = tau[2, :, 2] = F(1)
    env = FiniteMDP(tau, np.array([F(1), F(0), F(0)], dtype=object))
    assert not on_a_cycle(env, 0) and not inert(env, 0)
    with pytest.raises(CertificateError, match="L-LAR: state 0"):
        L_LAR.check_precondition(env, [_pol([[1, 0]] * 3)], (1, 0))
    L_LAR.check_precondition(env, [_pol([[1, 0]] * 3)], (1,))


def test_L1_rejects_every_state_of_a_cycle_not_only_self_loops() -> None:
    """A two-state cycle s0 <-> s1 (no self-loops): neither state is once-visited."""
    tau = np.zeros((3, 2, 3), dtype=object)
    tau[0, :, 1] = F(1)
    tau[1, 0, 0] = F(1)
    tau[1, 1, 2] = F(1)
    tau[2, :, 2] = F(1)
    env = FiniteMDP(tau, np.array([F(1), F(0), F(0)], dtype=object))
    assert once_visited_states(env) == ()
    with pytest.raises(CertificateError, match="state 0 lies on a cycle"):
        L1.check_precondition(env, [_pol([[1, 0]] * 3)], (0,))


def test_lemma_features_match_the_oracle() -> None:
    env = E4()
    pols = [_pol([[F(1, 3), F(2, 3)], [1, 0], [0, 1]]), _pol([[F(1, 2), F(1, 2)], [1, 0], [0, 1]]),
            _pol([[1, 0], [0, 1], [0, 1]]), _pol([[F(1, 3), F(2, 3)], [0, 1], [1, 0]])]
    assert L1.feature_matrix(env, pols[:2], (0,)) == features("L1", env, pols[:2], (0,))
    assert L1.features(env, pols[0], (0,)) == [F(1, 3), F(2, 3)]
    assert L3.feature_matrix(env, pols, ()) == features("L3", env, pols, ())
    assert L_LAR.feature_matrix(env, pols, (0,)) == features("L-LAR", env, pols, (0,))
    assert L7.feature_matrix(env, pols, ()) == features("L7", env, pols, ())
    two = [_pol([[1, 0], [1, 0], [1, 0]]), _pol([[1, 0], [0, 1], [1, 0]])]
    assert L1.feature_matrix(env, [two[0], two[0]], (0, 1)) == [[1, 0, 0, 0]] * 2
    assert L1.feature_matrix(env, two, (0, 1))[1] == [0, 1, 0, 0]
    assert L1.feature_matrix(E3(3), [_pol([[F(1, 6), F(1, 3), F(1, 2)], [1, 0, 0]])],
                             (0,)) == [[F(1, 6), F(1, 3), F(1, 2)]]


def test_reachable_states_match_the_oracle() -> None:
    w = FINITE["N2"]
    for p in w.policies:
        assert reachable_states(w.env, p) == tuple(sorted(reached(w.env, p)))
    env = FINITE["N10-LAR"].env
    for acts in itertools.product(range(env.n_actions), repeat=env.n_states):
        p = Policy.deterministic(list(acts), env.n_actions)
        assert reachable_states(env, p) == tuple(sorted(reached(env, p)))


def test_reachable_states_follow_only_the_actions_taken() -> None:
    env = E6()  # at s1, "stay" loops and "go" leads to s2
    stay = _pol([[1, 0], [1, 0], [1, 0]])
    go = _pol([[1, 0], [F(1, 2), F(1, 2)], [1, 0]])
    assert reachable_states(env, stay) == (0, 1) == tuple(sorted(reached(env, stay)))
    assert reachable_states(env, go) == (0, 1, 2) == tuple(sorted(reached(env, go)))


def test_L7_ties_only_policies_equal_on_their_reachable_states() -> None:
    env = FINITE["N2"].env  # s1 unreachable
    a, b, c = _pol([[1, 0], [1, 0]]), _pol([[1, 0], [0, 1]]), _pol([[0, 1], [1, 0]])
    phi = L7.feature_matrix(env, [a, b, c], ())
    assert phi[0] == phi[1] != phi[2]
    L7.check_precondition(env, [a, b, c], ())


def test_the_lemma_table() -> None:
    assert set(LEMMAS) == {"L1", "L3", "L3-partial", "L-LAR", "L7"}
    assert all(LEMMAS[k].name == k for k in LEMMAS)
    assert "FTR" in L1.formalisms and "LAR" in L_LAR.formalisms and "RRL" in L3.formalisms
    assert "FPR" not in L7.formalisms and "TLO" in L7.formalisms


def test_a_lemma_not_proved_for_a_is_refused() -> None:
    w = replace(FINITE["N7"], lemma=L1, states=(0,))  # L1 is not proved for RRL
    with pytest.raises(CertificateError, match="lemma L1 is not proved for RRL"):
        w.check()


# ---------------------------------------------------------------- tampering property tests


@st.composite
def tampered_witness(draw: st.DrawFn) -> FiniteWitness:
    """One witness with one policy entry changed (the row kept stochastic by moving the
    difference to another action) or one state added to / removed from the lemma states."""
    w = FINITE[draw(st.sampled_from(sorted(FINITE)))]
    env = w.env
    if draw(st.integers(0, 5)) == 0:
        states = set(w.states) ^ {draw(st.integers(0, env.n_states - 1))}
        return replace(w, states=tuple(sorted(states)))
    pols = w.policies
    i = draw(st.integers(0, len(pols) - 1))
    s = draw(st.integers(0, env.n_states - 1))
    a, b = draw(st.permutations(range(env.n_actions)))[:2]
    pi = pols[i].exact_probabilities().copy()
    new = draw(st.fractions(0, pi[s, a] + pi[s, b], max_denominator=6)
               .filter(lambda v: v != pi[s, a]))
    pi[s, b] += pi[s, a] - new
    pi[s, a] = new
    pols[i] = Policy(pi)
    return replace(w, policy_list=lambda: pols)


def _edit(name: str, i: int, s: int, row: list[Any]) -> FiniteWitness:
    w = FINITE[name]
    pols = w.policies
    pi = pols[i].exact_probabilities().copy()
    pi[s] = [F(x) for x in row]
    pols[i] = Policy(pi)
    return replace(w, policy_list=lambda: pols)


@given(tampered_witness())
@example(_edit("N3", 1, 0, [F(2, 5), F(3, 5)]))  # still strictly best: still valid
@example(_edit("N3", 1, 0, [0, 1]))  # ties p = 0: no longer a witness
@example(_edit("N3", 0, 1, [F(1, 2), F(1, 2)]))  # differs off s0: L1 does not apply
@example(_edit("N8-FTR", 2, 1, [0, 1, 0]))
@example(_edit("N7", 0, 2, [0, 1]))
@example(_edit("N12", 0, 1, [0, 1]))
@example(replace(FINITE["N12"], states=()))
@example(replace(FINITE["N10-LAR"], states=(0,)))
def test_tampered_witness_is_refused_unless_still_valid(w: FiniteWitness) -> None:
    assert_witness_verdict(w)


def test_L3_partial_premises_and_features_match_the_oracle() -> None:
    lemma = LEMMAS["L3-partial"]
    pols = [_pol([[1, 0], [1, 0], [1, 0]]), _pol([[0, 1], [1, 0], [F(1, 2), F(1, 2)]]),
            _pol([[0, 1], [0, 1], [1, 0]])]
    env = E6()  # s1 is not action-inert and leads to s2
    assert not premises_hold("L3-partial", env, pols, (2,))
    with pytest.raises(CertificateError, match="^L3-partial: state 1 leads to state 2"):
        lemma.check_precondition(env, pols, (2,))
    with pytest.raises(CertificateError, match="actions change the successors of state 1"):
        lemma.check_precondition(env, pols, (1,))
    with pytest.raises(CertificateError, match="no states given"):
        lemma.check_precondition(env, pols, ())
    assert premises_hold("L3-partial", env, pols, (0,))
    lemma.check_precondition(env, pols, (0,))
    for states in [(0,), (0, 2), (1, 2)]:
        assert premises_hold("L3-partial", E4(), pols, states)
        assert lemma.feature_matrix(E4(), pols, states) == features(
            "L3-partial", E4(), pols, states)
