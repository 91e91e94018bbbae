"""Validation of FiniteMDP, Policy, policy batches, rewards and discounts.

Every malformed input raises the library's own error, and the message names the state,
action or value at fault. Nothing is renormalised.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from objspec import FiniteMDP, Policy
from objspec.errors import (
    InvalidModelError,
    InvalidPolicyError,
    InvalidSpecificationError,
    ObjspecError,
)
from objspec.mdp import (
    as_policy_batch,
    evaluate,
    occupancy_measure,
    optimal_values,
    state_visitation,
)

P2 = np.full((2, 2, 2), 0.5)


def _bad_transitions(s: int, a: int, t: int, value: float) -> np.ndarray:
    P = P2.copy()
    P[s, a, t] = value
    P[s, a, 1 - t] = 1.0 - value if np.isfinite(value) else 0.5
    return P


MODEL_CASES: list[tuple[str, Callable[[], Any], str]] = [
    (
        "row sum",
        lambda: FiniteMDP(P2 * np.array([1, 1, 1, 0.9]).reshape(2, 2, 1), [1, 0]),
        "transitions[s=1, a=1] sums to 0.9, not 1",
    ),
    (
        "negative",
        lambda: FiniteMDP(_bad_transitions(1, 0, 1, -0.25), [1, 0]),
        "transitions[1, 0, 1] = -0.25 is negative",
    ),
    (
        "nan",
        lambda: FiniteMDP(_bad_transitions(0, 1, 0, np.nan), [1, 0]),
        "transitions[0, 1, 0] = nan is not finite",
    ),
    (
        "inf",
        lambda: FiniteMDP(_bad_transitions(1, 1, 0, np.inf), [1, 0]),
        "transitions[1, 1, 0] = inf is not finite",
    ),
    ("2-d", lambda: FiniteMDP(np.eye(2), [1, 0]), "shaped [S, A, S]"),
    ("not square", lambda: FiniteMDP(np.ones((2, 2, 3)) / 3, [1, 0]), "got (2, 2, 3)"),
    ("no states", lambda: FiniteMDP(np.ones((0, 1, 0)), []), "S, A >= 1"),
    ("ragged", lambda: FiniteMDP([[[1, 0], [1]], [[0, 1], [0, 1]]], [1, 0]), "numeric"),
    ("strings", lambda: FiniteMDP([[["a"]]], [1]), "transitions[0, 0, 0] = 'a' is a string"),
    (
        "sparse shape",
        lambda: FiniteMDP(sp.csr_matrix(np.ones((3, 2)) / 2), [1, 0]),
        "(S*A, S); got (3, 2)",
    ),
    (
        "sparse negative",
        lambda: FiniteMDP(sp.csr_matrix(np.array([[1, 0], [1, 0], [1.5, -0.5], [0, 1]])), [1, 0]),
        "transitions[1, 0, 1] = -0.5 is negative",
    ),
    (
        "sparse nan",
        lambda: FiniteMDP(sp.csr_matrix(np.array([[1, 0], [np.nan, 1], [1, 0], [0, 1]])), [1, 0]),
        "transitions[0, 1, 0] = nan is not finite",
    ),
    (
        "sparse empty row",
        lambda: FiniteMDP(sp.csr_matrix(np.array([[1, 0], [1, 0], [1, 0], [0, 0.0]])), [1, 0]),
        "transitions[s=1, a=1] sums to 0, not 1",
    ),
    (
        "exact sum",
        lambda: FiniteMDP(
            np.array(
                [
                    [[Fraction(1, 2), Fraction(1, 2) - Fraction(1, 10**12)]],
                    [[Fraction(0), Fraction(1)]],
                ],
                dtype=object,
            ),
            [1, 0],
        ),
        "transitions[s=0, a=0] sums to 999999999999/1000000000000, not exactly 1",
    ),
    ("initial length", lambda: FiniteMDP(P2, [1, 0, 0]), "initial must be shaped [S] = [2]"),
    ("initial nan", lambda: FiniteMDP(P2, [np.nan, 1]), "initial[0] = nan is not finite"),
    ("initial inf", lambda: FiniteMDP(P2, [0, np.inf]), "initial[1] = inf is not finite"),
    ("initial negative", lambda: FiniteMDP(P2, [-0.5, 1.5]), "initial[0] = -0.5 is negative"),
    ("initial sum", lambda: FiniteMDP(P2, [0.5, 0.4]), "initial sums to 0.9, not 1"),
    (
        "label state index",
        lambda: FiniteMDP(P2, [1, 0], labels={5: ["a"]}),
        "labels name a state 5 that does not exist",
    ),
    (
        "label state name",
        lambda: FiniteMDP(P2, [1, 0], labels={"x": ["a"]}),
        "labels name a state 'x' that does not exist",
    ),
    (
        "label bool state",
        lambda: FiniteMDP(P2, [1, 0], labels={True: ["a"]}),
        "labels name a state True that does not exist",
    ),
    (
        "label not string",
        lambda: FiniteMDP(P2, [1, 0], labels={0: [3]}),
        "label 3 of state 0 is not a string",
    ),
    (
        "label reserved",
        lambda: FiniteMDP(P2, [1, 0], labels={1: ["true"]}),
        "label 'true' of state 1 is not a valid proposition",
    ),
    (
        "label not iterable",
        lambda: FiniteMDP(P2, [1, 0], labels={1: 7}),
        "labels of state 1 must be an iterable of strings",
    ),
    ("labels list", lambda: FiniteMDP(P2, [1, 0], labels=[["a"], []]), "got list"),
    (
        "label function",
        lambda: FiniteMDP(P2, [1, 0], labels=lambda s, a, t: [s]),
        "label 0 of transition (s=0, a=0, s'=0) is not a string",
    ),
    (
        "label function raises",
        lambda: FiniteMDP(P2, [1, 0], labels=lambda s, a, t: 1 / 0),
        "label function failed on transition (s=0, a=0, s'=0)",
    ),
    (
        "state names length",
        lambda: FiniteMDP(P2, [1, 0], state_names=["a"]),
        "state_names has 1 entries; expected 2",
    ),
    (
        "state names duplicate",
        lambda: FiniteMDP(P2, [1, 0], state_names=["a", "a"]),
        "state_names contains 'a' more than once",
    ),
    (
        "action names type",
        lambda: FiniteMDP(P2, [1, 0], action_names=["l", 2]),
        "action_names[1] = 2 is not a string",
    ),
]


@pytest.mark.parametrize(("case", "build", "message"), MODEL_CASES, ids=[c[0] for c in MODEL_CASES])
def test_malformed_models_raise_with_location(
    case: str, build: Callable[[], Any], message: str
) -> None:
    with pytest.raises(InvalidModelError) as info:
        build()
    assert message in str(info.value)
    assert isinstance(info.value, ObjspecError) and isinstance(info.value, ValueError)


def test_row_tolerance_is_1e_9_and_nothing_is_renormalised() -> None:
    ok = P2.copy()
    ok[0, 0] = [0.5 + 4e-10, 0.5]
    env = FiniteMDP(ok, [1, 0])
    assert env.transitions[0, 0, 0] == 0.5 + 4e-10  # kept as given
    bad = P2.copy()
    bad[0, 0] = [0.5 + 2e-9, 0.5]
    with pytest.raises(InvalidModelError, match=r"transitions\[s=0, a=0\] sums to 1.000000002"):
        FiniteMDP(bad, [1, 0])


def test_sparse_and_dense_models_agree() -> None:
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(4), size=(4, 3))
    dense = FiniteMDP(P, [0.25] * 4)
    sparse = FiniteMDP(sp.csr_matrix(P.reshape(12, 4)), [0.25] * 4)
    assert np.array_equal(dense.transitions, sparse.transitions)
    assert (dense.n_states, dense.n_actions) == (sparse.n_states, sparse.n_actions) == (4, 3)
    assert not dense.transitions.flags.writeable and not dense.initial.flags.writeable


def test_labels_by_name_and_index() -> None:
    env = FiniteMDP(P2, [1, 0], labels={"b": ["goal"], 0: ["start"]}, state_names=["a", "b"])
    assert env.propositions == ("goal", "start")
    assert env.label(1, 0, 0) == frozenset({"goal"})


POLICY_CASES: list[tuple[str, Callable[[], Any], str]] = [
    (
        "row sum",
        lambda: Policy([[1.0, 0.0], [0.5, 0.4]]),
        "the action distribution of state 1 sums to 0.9, not 1",
    ),
    ("negative", lambda: Policy([[1.5, -0.5]]), "policy[s=0, a=1] = -0.5 is negative"),
    ("nan", lambda: Policy([[0.5, 0.5], [np.nan, 1.0]]), "policy[s=1, a=0] = nan is not finite"),
    ("inf", lambda: Policy([[np.inf, 1.0]]), "policy[s=0, a=0] = inf is not finite"),
    ("1-d", lambda: Policy([0.5, 0.5]), "shaped [S, A]; got (2,)"),
    ("3-d", lambda: Policy(np.ones((1, 1, 1))), "shaped [S, A]; got (1, 1, 1)"),
    ("strings", lambda: Policy([["a"]]), "policy probabilities[0, 0] = 'a' is a string"),
    (
        "exact sum",
        lambda: Policy([[Fraction(1, 3), Fraction(1, 3) + Fraction(1, 10**12)]]),
        "sums to",
    ),
    (
        "deterministic range",
        lambda: Policy.deterministic([0, 3], 2),
        "action 3 of state 1 is outside 0..1",
    ),
    ("deterministic floats", lambda: Policy.deterministic([0.0, 1.0], 2), "integer"),
    ("uniform size", lambda: Policy.uniform(0, 2), "n_states, n_actions >= 1"),
    (
        "batch wrong size",
        lambda: as_policy_batch(np.ones((2, 3)) / 3, 2, 2),
        "[S, A] = [2, 3], but the environment has 2 states and 2 actions",
    ),
    (
        "batch 4-d",
        lambda: as_policy_batch(np.ones((1, 1, 2, 2)) / 2, 2, 2),
        "got an array of shape (1, 1, 2, 2)",
    ),
    (
        "batch row",
        lambda: as_policy_batch(np.stack([np.eye(2), [[0.5, 0.4], [1, 0]]]), 2, 2),
        "policy 1, the action distribution of state 0 sums to 0.9",
    ),
    (
        "batch nan",
        lambda: as_policy_batch(np.full((2, 2, 2), np.nan), 2, 2),
        "[policy 0][s=0, a=0] = nan is not finite",
    ),
    (
        "list of arrays",
        lambda: as_policy_batch([np.eye(2), np.array([[0.5, 0.4], [1, 0]])], 2, 2),
        "policy 1 of the batch",
    ),
    (
        "mixed shapes",
        lambda: as_policy_batch([Policy([[1.0, 0.0]]), Policy(np.eye(2))], 2, 2),
        "policies of different shapes",
    ),
    ("empty batch", lambda: as_policy_batch([], 2, 2), "empty batch"),
    ("not a policy", lambda: as_policy_batch(3, 2, 2), "got int"),
]


@pytest.mark.parametrize(
    ("case", "build", "message"), POLICY_CASES, ids=[c[0] for c in POLICY_CASES]
)
def test_malformed_policies_raise_with_location(
    case: str, build: Callable[[], Any], message: str
) -> None:
    with pytest.raises(InvalidPolicyError) as info:
        build()
    assert message in str(info.value)


ENV = FiniteMDP(P2, [1, 0])


@pytest.mark.parametrize("gamma", [1.0, -0.1, 1.5, float("nan"), float("inf"), "x", None])
def test_discounts_outside_unit_interval_raise(gamma: Any) -> None:
    pi = Policy.uniform(2, 2)
    for call in (
        lambda: evaluate(ENV, pi, [1.0, 0.0], gamma),
        lambda: state_visitation(ENV, pi, gamma),
        lambda: occupancy_measure(ENV, pi, gamma),
        lambda: optimal_values(ENV, [1.0, 0.0], gamma),
    ):
        with pytest.raises(InvalidSpecificationError, match="discount gamma"):
            call()


@pytest.mark.parametrize(
    ("reward", "message"),
    [
        ([np.nan, 0.0], "reward[0] = nan is not finite"),
        ([[0.0, 1.0], [np.inf, 0.0]], "reward[1, 0] = inf is not finite"),
        ([1.0, 0.0, 0.0], "reward has shape (3,)"),
        (np.zeros((2, 3)), "reward has shape (2, 3)"),
        ([["a", "b"]], "reward[0, 0] = 'a' is a string"),
    ],
)
def test_malformed_rewards_raise(reward: Any, message: str) -> None:
    with pytest.raises(InvalidSpecificationError) as info:
        evaluate(ENV, Policy.uniform(2, 2), reward, 0.5)
    assert message in str(info.value)


def test_policy_of_another_size_is_rejected_by_evaluation() -> None:
    with pytest.raises(InvalidPolicyError, match="environment has 2 states"):
        evaluate(ENV, Policy.uniform(3, 2), [1.0, 0.0], 0.5)


@pytest.mark.parametrize("tol", [0.0, -1.0, float("nan"), "small"])
def test_control_rejects_bad_tolerances(tol: Any) -> None:
    with pytest.raises(InvalidSpecificationError, match="tol"):
        optimal_values(ENV, [1.0, 0.0], 0.5, tol=tol)


def test_control_rejects_unknown_method() -> None:
    with pytest.raises(InvalidSpecificationError, match="method = 'newton'"):
        optimal_values(ENV, [1.0, 0.0], 0.5, method="newton")  # type: ignore[arg-type]


def test_a_float_model_stays_inexact_after_exact_conversion() -> None:
    """``is_exact`` says how the model was given: converting a float model's dyadic
    probabilities to Fractions (``exact_transitions``) does not make it exact."""
    from fractions import Fraction

    env = FiniteMDP(np.array([[[0.5, 0.5]], [[0.25, 0.75]]]), np.array([1.0, 0.0]))
    assert env.exact_transitions()[1, 0, 1] == Fraction(3, 4)
    assert env.exact_initial()[0] == 1
    assert not env.is_exact
    exact = FiniteMDP(env.exact_transitions(), env.exact_initial())
    assert exact.is_exact


@pytest.mark.parametrize("actions, n_actions", [([0], 1), ([1, 0, 2, 2], 3), ([0, 1] * 50, 2)])
def test_deterministic_policy_equals_the_validated_constructor(actions: list[int],
                                                               n_actions: int) -> None:
    """Policy.deterministic skips the constructor's checks (they hold by construction):
    the result must be indistinguishable from ``Policy(one-hot rows)``."""
    fast = Policy.deterministic(np.array(actions), n_actions)
    slow = Policy(np.eye(n_actions)[actions])
    assert fast == slow and hash(fast) == hash(slow)
    assert fast.probabilities.dtype == np.float64 and not fast.probabilities.flags.writeable
    assert fast.is_deterministic and fast.actions.tolist() == actions
    assert fast.exact_probabilities().tolist() == slow.exact_probabilities().tolist()
    with pytest.raises(InvalidPolicyError):
        Policy.deterministic(np.array([], dtype=np.int64), 2)
    with pytest.raises(InvalidPolicyError):
        Policy.deterministic(np.array(actions), n_actions - 1 if n_actions > 1 else 0)


@pytest.mark.parametrize("values", [
    np.array([0.5, 0.25]), np.array([1, 2]), np.array([True, False]), np.array(["1/2"]),
    np.array([1 + 0j]), np.zeros((0, 2)), np.float64(0.5), np.array(3),
])
def test_rational_array_of_a_numeric_array_is_none(values: Any) -> None:
    """The shortcut for non-object arrays gives what the entry-by-entry test gives."""
    from objspec.mdp.model import rational_array

    assert rational_array(values) is None
    assert rational_array(np.asarray(values).tolist()) is None  # the general path agrees


def test_rational_array_keeps_fractions() -> None:
    from objspec.mdp.model import rational_array

    out = rational_array(np.array([Fraction(1, 3), 1], dtype=object))
    assert out is not None and out.tolist() == [Fraction(1, 3), Fraction(1)]
