"""Closed forms on the witness environments for ONMR, OMORL, GOMORL, FOMR, OMO, RRL, FPR, PO."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest

from objspec import Policy
from objspec.environments import E1, E2, E3, E4, E5
from objspec.errors import InvalidSpecificationError
from objspec.formalisms import (
    FOMR,
    FPR,
    GOMORL,
    OMO,
    OMORL,
    ONMR,
    PO,
    RRL,
    GeneralisedOuterMORL,
    OccupancyMeasureFunction,
    OuterMORL,
    OuterNonlinearMarkovReward,
    PolicyFunction,
    RegularisedRL,
)
from objspec.formalisms.regularisers import kl_to, negative_entropy
from objspec.orders import by_key, constrained, from_comparator, lexicographic


def pol(*rows):
    return Policy(np.array(rows, dtype=object) if isinstance(rows[0][0], F) else rows)


def entropy(p):
    p = np.asarray(p, dtype=float)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def e3_policy(p, q):
    return [[p, 1 - p], [q, 1 - q]]


GRID = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]


def test_aliases():
    assert ONMR is OuterNonlinearMarkovReward and OMORL is OuterMORL
    assert GOMORL is GeneralisedOuterMORL and FOMR is OccupancyMeasureFunction
    assert FPR is PolicyFunction and RRL is RegularisedRL
    assert {c.acronym for c in (ONMR, OMORL, GOMORL, FOMR, OMO, RRL, FPR, PO)} == {
        "ONMR", "OMORL", "GOMORL", "FOMR", "OMO", "RRL", "FPR", "PO"}


# ----------------------------------------------------------------------------- ONMR
def test_onmr_e3_closed_form_float_and_exact():
    R = np.zeros((2, 2, 2))
    R[0, 0, 1] = 1
    spec = ONMR(R, lambda x: -((x - F(1, 2)) ** 2), gamma=F(9, 10))
    ev = spec.compile(E3())
    policies = [e3_policy(p, q) for p in GRID for q in (0.0, 0.3, 1.0)]
    expected = [-((p - 0.5) ** 2) for p in GRID for q in (0.0, 0.3, 1.0)]
    np.testing.assert_allclose(ev.values(policies), expected, atol=1e-12)
    exact = spec.compile(E3(), exact=True)
    for p in (F(0), F(1, 3), F(1, 2), F(1)):
        assert exact.exact_value(pol([p, 1 - p], [F(1), F(0)])) == -((p - F(1, 2)) ** 2)
    # p = 0 ~ p = 1 exactly; p = 1/2 strictly best
    assert exact.compare(pol([F(0), F(1)], [F(1), F(0)]), pol([F(1), F(0)], [F(0), F(1)])) == 0
    ranks = exact.rank([e3_policy(F(0), F(1)), e3_policy(F(1, 2), F(0)), e3_policy(F(1), F(0))])
    assert ranks.tolist() == [1, 0, 1]


# ----------------------------------------------------------------------------- OMORL, GOMORL
def test_omorl_e1_closed_form():
    gamma = 0.75
    rewards = np.eye(3)[:, None, :]  # R_i = 1[a_i], shaped [3, S=1, A=3]
    seen = []
    spec = OMORL(rewards, lambda v: seen.append(np.array(v, dtype=float)) or v[0] * v[1] - v[2],
                 gamma)
    pis = [[[0.2, 0.3, 0.5]], [[1.0, 0.0, 0.0]], [[0.5, 0.5, 0.0]]]
    vals = spec.compile(E1()).values(pis)
    J = np.array([p[0] for p in pis]) / (1 - gamma)
    np.testing.assert_allclose(vals, J[:, 0] * J[:, 1] - J[:, 2], atol=1e-12)
    assert len(seen) == 3 and seen[0].shape == (3,)
    exact = OMORL(rewards, lambda v: v[0] - 2 * v[1], F(1, 2)).compile(E1(), exact=True)
    assert exact.exact_value(pol([F(1, 3), F(1, 6), F(1, 2)])) == 0
    assert exact.compare(pol([F(1, 3), F(1, 6), F(1, 2)]), pol([F(2, 3), F(1, 3), F(0)])) == 0


def test_gomorl_n1_lexicographic_exact_ties():
    spec = GOMORL(np.eye(3)[:2][:, None, :], lexicographic(), F(1, 2))
    ev = spec.compile(E1(), exact=True)
    a = pol([F(1, 3), F(1, 3), F(1, 3)])
    b = pol([F(1, 3), F(1, 2), F(1, 6)])
    c = pol([F(1, 2), F(0), F(1, 2)])
    assert ev.compare(a, b) == -1 and ev.compare(c, b) == 1 and ev.compare(a, a) == 0
    assert ev.rank([a, b, c, a]).tolist() == [2, 1, 0, 2]
    # float mode agrees on this batch
    assert spec.compile(E1()).rank([a, b, c, a]).tolist() == [2, 1, 0, 2]


def test_gomorl_constrained_e3():
    # objective: pi(a|s0); constraint: J_2 = gamma/(1-gamma) * pi(b|s1) >= 1/2 (gamma = 1/2)
    R1 = np.zeros((2, 2))
    R1[0, 0] = 1
    R2 = np.zeros((2, 2))
    R2[1, 1] = 1
    spec = GOMORL([R1, R2], constrained(0, [(1, F(1, 2))]), F(1, 2))
    ev = spec.compile(E3(), exact=True)
    feasible_low = pol([F(0), F(1)], [F(1, 2), F(1, 2)])
    infeasible_high = pol([F(1), F(0)], [F(3, 4), F(1, 4)])
    assert ev.compare(feasible_low, infeasible_high) == 1


# ----------------------------------------------------------------------------- FOMR, OMO
def test_fomr_e4_closed_form():
    gamma = F(1, 3)
    seen = {}

    def f(m):
        seen["m"] = m
        return m[0, 0, 1] + 2 * m[1, 0, 2] + 3 * m[2, 0, 2]

    spec = FOMR(f, gamma)
    p, q, r = F(1, 5), F(1, 2), F(3, 4)
    policy = pol([p, 1 - p], [q, 1 - q], [r, 1 - r])
    expected = p + 2 * gamma * q + 3 * gamma**2 / (1 - gamma) * r
    assert spec.compile(E4(), exact=True).exact_value(policy) == expected
    assert isinstance(seen["m"][0, 0, 1], F) and seen["m"].shape == (3, 2, 3)
    assert spec.compile(E4()).value(policy) == pytest.approx(float(expected), abs=1e-12)


def test_omo_order_on_occupancy_and_tie_at_unreached_state():
    # E2: s1 unreachable, so OMO ties policies differing only there (L7)
    spec = OMO(lexicographic(), F(1, 2))
    ev = spec.compile(E2(), exact=True)
    assert ev.compare(pol([F(1), F(0)], [F(0), F(1)]), pol([F(1), F(0)], [F(1), F(0)])) == 0
    assert ev.compare(pol([F(1), F(0)], [F(0), F(1)]), pol([F(0), F(1)], [F(0), F(1)])) == 1
    ev_float = OMO(by_key(lambda m: m[0, 1, 0]), 0.9).compile(E2())
    assert ev_float.rank([[[0.5, 0.5], [1, 0]], [[0.0, 1.0], [1, 0]]]).tolist() == [1, 0]


# ----------------------------------------------------------------------------- RRL
@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.9])
def test_rrl_entropy_e3_and_e4(gamma):
    pis3 = [e3_policy(p, q) for p in GRID for q in (0.0, 0.2, 0.5)]
    ev3 = RRL(np.zeros(2), negative_entropy, 1.0, gamma).compile(E3())
    exp3 = [entropy(pi[0]) + gamma / (1 - gamma) * entropy(pi[1]) for pi in pis3]
    np.testing.assert_allclose(ev3.values(pis3), exp3, atol=1e-12)
    R = np.zeros((3, 2, 3))
    R[0, 0, 1] = 1.0  # reward p at s0
    ev4 = RRL(R, negative_entropy, 0.5, gamma).compile(E4())
    pis4 = [[[p, 1 - p], [q, 1 - q], [r, 1 - r]] for p in (0.0, 0.3) for q in (0.5, 1.0)
            for r in (0.1, 1.0)]
    d = [1.0, gamma, gamma**2 / (1 - gamma)]
    exp4 = [pi[0][0] + 0.5 * sum(d[s] * entropy(pi[s]) for s in range(3)) for pi in pis4]
    np.testing.assert_allclose(ev4.values(pis4), exp4, atol=1e-12)
    # the uniform policy is the unique best of this batch when the reward is 0
    uniform = [[0.5, 0.5], [0.5, 0.5]]
    assert ev3.rank([uniform, *pis3])[0] == 0


def test_rrl_kl_and_rational_regulariser_exact():
    gamma = F(1, 2)
    ref = [0.25, 0.75]
    ev = RRL(np.zeros(1), kl_to([0.25, 0.25, 0.5]), 2.0, 0.5).compile(E1())
    pi = np.array([0.5, 0.25, 0.25])
    kl = float((pi * np.log(pi / np.array([0.25, 0.25, 0.5]))).sum())
    assert ev.value([pi]) == pytest.approx(-2.0 * kl / 0.5, abs=1e-12)
    # KL to a reference policy [S, A]; s1 of E2 is unreachable, so the infinite KL there is
    # never evaluated
    ref_policy = [ref, [1.0, 0.0]]
    ev2 = RRL(np.zeros(2), kl_to(ref_policy), 1.0, 0.5).compile(E2())
    assert ev2.value([[0.25, 0.75], [0.0, 1.0]]) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(InvalidSpecificationError, match="state 0 of policy 0"):
        RRL(np.zeros(2), kl_to([1.0, 0.0]), 1.0, 0.5).compile(E3()).value(
            [[0.5, 0.5], [1.0, 0.0]])
    # a rational regulariser, exactly: F(p) = sum p^2 on E3
    spec = RRL(np.zeros(2), lambda p: sum(x * x for x in p), F(1, 3), gamma)
    ev3 = spec.compile(E3(), exact=True)
    p, q = F(1, 4), F(1, 2)
    expected = -F(1, 3) * ((p**2 + (1 - p) ** 2) + gamma / (1 - gamma) * (q**2 + (1 - q) ** 2))
    assert ev3.exact_value(pol([p, 1 - p], [q, 1 - q])) == expected
    assert spec.compile(E3()).value(pol([p, 1 - p], [q, 1 - q])) == pytest.approx(float(expected))
    with pytest.raises(InvalidSpecificationError, match="exact"):
        RRL(np.zeros(2), negative_entropy, 1.0, 0.5).compile(E3(), exact=True)


def test_rrl_e5_entropy_interior_maximum():
    ev = RRL(np.zeros(2), negative_entropy, 1.0, 0.5).compile(E5())
    third = [1 / 3, 1 / 3, 1 / 3]
    others = [[[0.5, 0.5, 0.0], third], [[1.0, 0.0, 0.0], third], [[0.4, 0.3, 0.3], third]]
    assert ev.rank([[third, third], *others]).tolist()[0] == 0
    assert ev.value([third, third]) == pytest.approx(np.log(3) * 2, abs=1e-12)


# ----------------------------------------------------------------------------- FPR, PO
def test_fpr_and_po_see_unreachable_states():
    ev = FPR(lambda pi: pi.probabilities[1, 0]).compile(E2())
    a = [[1, 0], [0.25, 0.75]]
    b = [[1, 0], [1.0, 0.0]]
    np.testing.assert_array_equal(ev.values([a, b]), [0.25, 1.0])
    assert ev.compare(a, b) == -1 and ev.compare(a, a) == 0
    exact = FPR(lambda pi: pi.exact_probabilities()[1, 0]).compile(E2())
    assert exact.exact_value(pol([F(1), F(0)], [F(1, 3), F(2, 3)])) == F(1, 3)
    po = PO(by_key(lambda pi: (pi.probabilities[0, 0], -pi.probabilities[1, 0]))).compile(E2())
    assert po.rank([a, b, [[0, 1], [0, 1]]]).tolist() == [0, 1, 2]


# ----------------------------------------------------------------------------- bad input
def test_bad_input_raises():
    R = np.zeros((2, 2, 2))
    with pytest.raises(InvalidSpecificationError, match="shape"):
        ONMR(np.zeros((2, 2, 2, 2, 2)), abs, 0.5)
    with pytest.raises(InvalidSpecificationError, match="outside"):
        ONMR(R, abs, 1.0)
    with pytest.raises(InvalidSpecificationError, match="outside"):
        FOMR(np.sum, -0.1)
    with pytest.raises(InvalidSpecificationError, match="not finite"):
        RRL([0.0, np.inf], negative_entropy, 1.0, 0.5)
    with pytest.raises(InvalidSpecificationError, match="alpha"):
        RRL([0.0, 0.0], negative_entropy, np.nan, 0.5)
    with pytest.raises(InvalidSpecificationError, match="callable"):
        OMORL(np.zeros((2, 2)), 3, 0.5)
    with pytest.raises(InvalidSpecificationError, match="non-finite"):
        ONMR(R, lambda x: np.nan, 0.5).compile(E3()).values([e3_policy(0.5, 0.5)])
    with pytest.raises(InvalidSpecificationError, match="not a real number"):
        FOMR(lambda m: "big", 0.5).compile(E3()).values([e3_policy(0.5, 0.5)])
    with pytest.raises(InvalidSpecificationError, match="non-finite"):
        FPR(lambda pi: float("inf")).compile(E3()).value(e3_policy(0.5, 0.5))
    # a specification written for another environment size
    with pytest.raises(InvalidSpecificationError, match="shape"):
        ONMR(R, abs, 0.5).compile(E4())
    with pytest.raises(InvalidSpecificationError, match="shape"):
        GOMORL(np.zeros((2, 2, 2)), lexicographic(), 0.5).compile(E1())
    with pytest.raises(InvalidSpecificationError, match="KL reference"):
        RRL(np.zeros(3), kl_to([[0.5, 0.5]] * 2), 1.0, 0.5).compile(E4())
    with pytest.raises(InvalidSpecificationError, match="order"):
        OMO(5, 0.5)
    # non-total-preorder comparator is detected through the evaluator's objects
    cyclic = from_comparator(lambda u, v: [0, 1, -1][int(round(u[0] * 2 - v[0] * 2)) % 3])
    ev = GOMORL(np.eye(3)[:1][:, None, :], cyclic, F(1, 2)).compile(E1(), exact=True)
    from objspec.orders import check_total_preorder

    objs = ev.exact_objects([pol([F(k, 4), 1 - F(k, 4), F(0)]) for k in (0, 1, 2)])
    with pytest.raises(InvalidSpecificationError, match="transitive"):
        check_total_preorder(ev.order, objs)


def test_onmr_n7_e4_peak_on_a_line():
    gamma = F(1, 2)
    R = np.zeros((3, 2))
    R[0, 0] = 1
    R[1, 0] = 1 / gamma  # l = p + q
    ev = ONMR(R, lambda x: -((x - 1) ** 2), gamma).compile(E4(), exact=True)
    pols = {(p, q): pol([p, 1 - p], [q, 1 - q], [F(1), F(0)])
            for p in (F(0), F(1, 4), F(1, 2), F(1)) for q in (F(0), F(1, 2), F(3, 4), F(1))}
    for (p, q), policy in pols.items():
        assert ev.exact_value(policy) == -((p + q - 1) ** 2)
    assert ev.compare(pols[(F(0), F(1))], pols[(F(1), F(0))]) == 0
    assert ev.compare(pols[(F(1, 2), F(1, 2))], pols[(F(1), F(0))]) == 0
    assert ev.compare(pols[(F(1), F(1))], pols[(F(1, 4), F(3, 4))]) == -1


def test_user_comparator_violations_detected_by_rank():
    def cyclic(u, v):
        return [0, 1, -1][(int(2 * u[0]) - int(2 * v[0])) % 3]

    ev = GOMORL(np.eye(3)[:1][:, None, :], cyclic, F(1, 2)).compile(E1(), exact=True)
    batch = [pol([F(k, 4), 1 - F(k, 4), F(0)]) for k in (0, 1, 2)]
    with pytest.raises(InvalidSpecificationError, match="not transitive"):
        ev.rank(batch)
    with pytest.raises(InvalidSpecificationError, match="not transitive"):
        ev.check(batch)
    po = PO(lambda x, y: [0, 1, -1][(int(4 * x.probabilities[0, 0])
                                     - int(4 * y.probabilities[0, 0])) % 3]).compile(E1())
    with pytest.raises(InvalidSpecificationError, match="not transitive"):
        po.rank([[[k / 4, 1 - k / 4, 0.0]] for k in (0, 1, 2)])


def test_exact_mode_rejects_non_finite_results():
    ev = FOMR(lambda m: float("nan"), F(1, 2)).compile(E3(), exact=True)
    with pytest.raises(InvalidSpecificationError, match="non-finite"):
        ev.exact_value(pol([F(1), F(0)], [F(1), F(0)]))
    ev2 = FPR(lambda pi: float("-inf")).compile(E3())
    with pytest.raises(InvalidSpecificationError, match="non-finite"):
        ev2.compare([[1, 0], [1, 0]], [[0, 1], [1, 0]])
    with pytest.raises(InvalidSpecificationError, match="not a finite real"):
        PO(lambda x, y: float("nan")).compile(E3()).compare([[1, 0], [1, 0]], [[0, 1], [1, 0]])
