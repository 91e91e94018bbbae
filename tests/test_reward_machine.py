"""Reward machines: values against an independent dense product-chain solve, exact mode,
the reward_machines text format, errors, optimisation and rendering."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ltl_reference import holds_on_lasso

from objspec import FiniteMDP, Policy
from objspec.environments.strategies import labelled_mdps, policies
from objspec.errors import InvalidSpecificationError, LTLSyntaxError
from objspec.formalisms.reward_machine import RM, RewardMachine
from objspec.ltl.optimise import optimal_reward_machine_policy
from objspec.ltl.parser import parse_guard

# Each entry partitions (part of) the letters over {a, b}: guards of one state never overlap.
GUARD_SETS = [
    ["true"],
    ["a", "!a"],
    ["a & b", "a & !b", "!a"],
    ["b"],  # partial: labels without b leave the machine where it is, reward 0
    ["a | b", "!a & !b"],
    ["a xor b"],
]


def reference_value(env: FiniteMDP, edges: list[tuple], initial: Any, gamma: float,
                    pi: np.ndarray) -> float:
    """Dense product chain on S x U, guards evaluated by the LTL reference semantics."""
    states = [initial] + sorted({e[1] for e in edges} | {e[0] for e in edges} - {initial},
                                key=repr)
    U, S, A = len(states), env.n_states, env.n_actions
    tau = np.asarray(env.transitions)
    idx = {u: i for i, u in enumerate(states)}
    P = np.zeros((S * U, S * U))
    r = np.zeros(S * U)
    for s in range(S):
        for ui, u in enumerate(states):
            for a in range(A):
                for t in range(S):
                    p = pi[s, a] * tau[s, a, t]
                    if p == 0:
                        continue
                    label = frozenset(env.label(s, a, t))
                    matched = [e for e in edges if e[0] == u
                               and holds_on_lasso(parse_guard(e[2]), [], [label])]
                    assert len(matched) <= 1
                    if matched:
                        _, v, _, rew = matched[0]
                        nxt = idx[v]
                        arr = np.asarray(rew, dtype=float)
                        if arr.ndim == 0:
                            val = float(arr)
                        elif arr.ndim == 1:
                            val = arr[s]
                        elif arr.ndim == 2:
                            val = arr[s, a]
                        else:
                            val = arr[s, a, t]
                    else:
                        nxt, val = ui, 0.0
                    P[s * U + ui, t * U + nxt] += p
                    r[s * U + ui] += p * val
    V = np.linalg.solve(np.eye(S * U) - gamma * P, r)
    return float(sum(env.initial[s] * V[s * U] for s in range(S)))


@st.composite
def machines(draw: st.DrawFn, env: FiniteMDP) -> tuple[list[tuple], int, float]:
    n = draw(st.integers(1, 3))
    S, A = env.n_states, env.n_actions
    reward = st.one_of(
        st.integers(-3, 3).map(float),
        st.lists(st.integers(-2, 2), min_size=S, max_size=S).map(np.array),
        st.lists(st.lists(st.integers(-2, 2), min_size=A, max_size=A), min_size=S,
                 max_size=S).map(np.array),
        st.just(np.arange(S * A * S, dtype=float).reshape(S, A, S) % 3 - 1),
    )
    edges = []
    for u in range(n):
        for guard in draw(st.sampled_from(GUARD_SETS)):
            edges.append((u, draw(st.integers(0, n - 1)), guard, draw(reward)))
    gamma = draw(st.sampled_from([0.0, 0.5, 0.9, 0.99]))
    return edges, 0, gamma


@settings(max_examples=40)
@given(st.data())
def test_values_agree_with_an_independent_product_solve(data: st.DataObject) -> None:
    env = data.draw(labelled_mdps(("a", "b"), transition_labels=data.draw(st.booleans()),
                                  max_states=4))
    edges, initial, gamma = data.draw(machines(env))
    used = set().union(*(parse_guard(e[2]).atoms() for e in edges))
    if not used <= set(env.propositions):
        with pytest.raises(InvalidSpecificationError, match="does not have"):
            RM(edges, initial, gamma).compile(env)
        return
    batch = data.draw(st.lists(policies(env), min_size=1, max_size=3))
    ours = RM(edges, initial, gamma).compile(env, exact=False).values(batch)
    for pi, value in zip(batch, ours, strict=True):
        ref = reference_value(env, edges, initial, gamma, pi.probabilities)
        assert abs(value - ref) <= 1e-9 * max(1.0, abs(ref))


@settings(max_examples=15)
@given(st.data())
def test_exact_values(data: st.DataObject) -> None:
    env = data.draw(labelled_mdps(("a", "b"), exact=True, max_states=3))
    edges = [(0, 1, "a", Fraction(1, 3)), (0, 0, "!a", 0), (1, 0, "b", -1), (1, 1, "!b", 0)]
    if "a" not in env.propositions or "b" not in env.propositions:
        return
    pi = data.draw(policies(env, exact=True))
    ev = RM(edges, 0, Fraction(1, 2)).compile(env)
    assert ev.exact  # rational environment: exact comparisons by default
    value = ev.exact_value(pi)
    assert isinstance(value, Fraction)
    assert abs(float(value) - ev.values(pi)[0]) <= 1e-12


OFFICE_T1 = """0 # initial state
[2] # terminal state
(0,0,'!e&!n',ConstantRewardFunction(0))
(0,1,'e&!n',ConstantRewardFunction(0))
(1,1,'!g&!n',ConstantRewardFunction(0))
(1,2,'g&!n',ConstantRewardFunction(1))
"""


def _corridor() -> FiniteMDP:
    # 0 -> 1 (coffee 'e') -> 2 (office 'g'); action 1 in state 0 hits a decoration 'n'.
    P = np.zeros((4, 2, 4))
    P[0, 0, 1] = P[1, :, 2] = P[2, :, 2] = P[3, :, 3] = 1.0
    P[0, 1, 3] = 1.0
    return FiniteMDP(P, [1.0, 0.0, 0.0, 0.0], labels={1: ["e"], 2: ["g"], 3: ["n"], 0: []})


def test_from_text_keeps_the_reward_machines_semantics() -> None:
    rm = RewardMachine.from_text(OFFICE_T1, gamma=0.9)
    env = _corridor()
    ev = rm.compile(env)
    # the word is {} {e} {g} {g} ...: reward 1 when g is read at t = 2
    good, bad = Policy.deterministic([0, 0, 0, 0], 2), Policy.deterministic([1, 0, 0, 0], 2)
    assert ev.values([good, bad]) == pytest.approx([0.81, 0.0], abs=1e-12)
    # reaching the terminal state ends the episode: no further reward, even though the
    # word keeps reading g; unmatched labels ('n') also lead to the absorbing 0 state
    loop = RewardMachine([(0, 0, "!e&!n", 0), (0, 1, "e&!n", 0), (1, 1, "!g&!n", 0),
                          (1, 2, "g&!n", 1), (2, 1, "true", 0)], 0, 0.9)
    assert loop.compile(env).values(good)[0] > 0.81
    assert -1 in rm.states


def test_parallel_edges_with_different_guards() -> None:
    env = _corridor()
    rm = RM([(0, 1, "e & !n", 5), (0, 1, "n & !e", -5), (1, 1, "true", 0)], 0, 0.5)
    ev = rm.compile(env)
    assert ev.values([Policy.deterministic([0, 0, 0, 0], 2),
                      Policy.deterministic([1, 0, 0, 0], 2)]).tolist() == [2.5, -2.5]


def test_unmatched_labels_stay_with_reward_zero() -> None:
    env = _corridor()
    rm = RM([(0, 1, "g", 1), (1, 1, "g", 1)], 0, 0.5)
    # word {} {e} {g} {g} ...: rewards 0, 0, 1/4, 1/8, ... (state 0 waits on {} and {e})
    assert rm.compile(env).values(Policy.deterministic([0, 0, 0, 0], 2))[0] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("edges", "error", "match"),
    [
        ([(0, 1, "a", 1), (0, 2, "a | b", 0)], InvalidSpecificationError, "both hold"),
        ([(0, 1, "F a", 1)], LTLSyntaxError, "temporal"),
        ([(0, 1, "a &", 1)], LTLSyntaxError, "position"),
        ([(0, 1, "a", float("nan"))], InvalidSpecificationError, "not finite"),
        ([(0, 1, "a")], InvalidSpecificationError, "tuple"),
        ([], InvalidSpecificationError, "at least one edge"),
    ],
)
def test_bad_machines_are_rejected(edges: list, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        RM(edges, 0, 0.9)


def test_bad_discount_and_shapes() -> None:
    with pytest.raises(InvalidSpecificationError, match="gamma"):
        RM([(0, 0, "true", 1)], 0, 1.0)
    env = _corridor()
    with pytest.raises(InvalidSpecificationError, match="shape"):
        RM([(0, 0, "true", np.ones(7))], 0, 0.9).compile(env)
    with pytest.raises(InvalidSpecificationError, match="'zz'"):
        RM([(0, 0, "zz", 1)], 0, 0.9).compile(env)
    with pytest.raises(InvalidSpecificationError, match="ConstantRewardFunction"):
        RewardMachine.from_text("0\n[]\n(0, 0, 'e', OtherReward(1))", 0.9)


def _reference_optimum(env: FiniteMDP, edges: list[tuple], gamma: float) -> float:
    """Brute force over deterministic policies on the product S x U (memory = machine)."""
    import itertools

    states = sorted({e[0] for e in edges} | {e[1] for e in edges})
    S, A, U = env.n_states, env.n_actions, len(states)
    tau = np.asarray(env.transitions)
    best = -np.inf
    for choice in itertools.product(range(A), repeat=S * U):
        P = np.zeros((S * U, S * U))
        r = np.zeros(S * U)
        for s in range(S):
            for ui, u in enumerate(states):
                a = choice[s * U + ui]
                for t in range(S):
                    if tau[s, a, t] == 0:
                        continue
                    label = frozenset(env.label(s, a, t))
                    m = [e for e in edges if e[0] == u
                         and holds_on_lasso(parse_guard(e[2]), [], [label])]
                    nxt, val = (states.index(m[0][1]), m[0][3]) if m else (ui, 0.0)
                    P[s * U + ui, t * U + nxt] += tau[s, a, t]
                    r[s * U + ui] += tau[s, a, t] * val
        V = np.linalg.solve(np.eye(S * U) - gamma * P, r)
        best = max(best, float(sum(env.initial[s] * V[s * U] for s in range(S))))
    return best


@settings(max_examples=15)
@given(labelled_mdps(("a", "b"), max_states=3, max_actions=2))
def test_optimal_policy_matches_brute_force(env: FiniteMDP) -> None:
    edges = [(0, 1, "a", 1.0), (0, 0, "!a", 0.0), (1, 0, "b", 2.0), (1, 1, "!b", -0.5)]
    if not {"a", "b"} <= set(env.propositions):
        return
    sol = optimal_reward_machine_policy(env, edges, 0, 0.8)
    ref = _reference_optimum(env, edges, 0.8)
    assert abs(sol.value - ref) <= 1e-8
    assert abs(sol.policy_value - ref) <= 1e-8
    assert sol.error_bound <= 1e-10 and sol.policy.shape == (env.n_states, 2)


def test_rendering() -> None:
    rm = RewardMachine.from_text(OFFICE_T1, gamma=0.9)
    svg = rm._repr_svg_()
    assert svg.startswith("<svg") and "e &amp; !n / 0" in svg
    assert rm.to_dot().startswith("digraph reward_machine")


@settings(max_examples=20)
@given(st.data())
def test_iterative_solver_agrees_with_the_reference(data: st.DataObject) -> None:
    """Large products use the batched BiCGSTAB; force it on small ones and compare."""
    import objspec.ltl.product as engine

    env = data.draw(labelled_mdps(("a", "b"), max_states=4))
    edges, initial, gamma = data.draw(machines(env))
    used = set().union(*(parse_guard(e[2]).atoms() for e in edges))
    if not used <= set(env.propositions):
        return
    batch = data.draw(st.lists(policies(env), min_size=1, max_size=3))
    old = engine.DIRECT_MAX_UNKNOWNS
    engine.DIRECT_MAX_UNKNOWNS = 0
    try:
        ours = RM(edges, initial, gamma).compile(env, exact=False).values(batch)
    finally:
        engine.DIRECT_MAX_UNKNOWNS = old
    for pi, value in zip(batch, ours, strict=True):
        ref = reference_value(env, edges, initial, gamma, pi.probabilities)
        assert abs(value - ref) <= 1e-9 * max(1.0, abs(ref))


def test_chunks_and_threads_do_not_change_the_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reward-machine batches are cut into chunks solved by worker threads (as LTL ones):
    the number of workers does not change a bit, the chunking changes the values by
    rounding at most, and both solvers agree with the independent product solve."""
    import objspec.ltl.product as engine
    import objspec.mdp.chunks as chunks
    from objspec.environments.generators import random_labelled_mdp, random_policies
    from objspec.errors import ObjspecError

    env = random_labelled_mdp(30, 3, ("a", "b"), 3, density=0.4, seed=21)
    edges = [(0, 1, "a", 0.0), (0, 0, "!a", -0.5), (1, 0, "b", 1.0), (1, 1, "!b", 0.0)]
    machine = RM(edges, 0, 0.95).compile(env, exact=False).machine
    batch = random_policies(env, 10, seed=22, deterministic_fraction=0.5)
    reference = [reference_value(env, edges, 0, 0.95, pi) for pi in batch]
    for direct in (1500, 0):  # sparse LU, then the iterative solver
        monkeypatch.setattr(engine, "DIRECT_MAX_UNKNOWNS", direct)
        monkeypatch.setattr(chunks, "CHUNK_ENTRIES", 1_500_000)
        whole = machine.values(batch, workers=1)
        monkeypatch.setattr(chunks, "CHUNK_ENTRIES", 1)
        single = machine.values(batch, workers=1)
        assert np.abs(single - whole).max() <= 1e-12
        for workers in (2, 4):
            assert np.array_equal(machine.values(batch, workers=workers), single)
        assert np.abs(whole - np.array(reference)).max() <= 1e-9
    with pytest.raises(ObjspecError, match="workers"):
        machine.values(batch, workers=0)
