"""Tests of objspec.orders: the constructors are total preorders, violations are caught."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from objspec.errors import InvalidSpecificationError
from objspec.orders import (
    by_key,
    check_total_preorder,
    comparison_matrix,
    constrained,
    from_comparator,
    lexicographic,
    pullback,
    ranks_by_compare,
    reverse,
    thresholded_lexicographic,
)

vectors = st.lists(
    st.lists(st.integers(-3, 3).map(lambda x: F(x, 2)), min_size=3, max_size=3),
    min_size=1,
    max_size=12,
)

ORDERS = [
    lexicographic(),
    lexicographic(signs=[1, -1, 1]),
    thresholded_lexicographic([F(1, 2), 0, None]),
    constrained(0, [(1, 0), (2, F(-1, 2))]),
    by_key(lambda v: v[0] + v[1] * v[2]),
    by_key(lambda v: (v[2], -v[0])),
    pullback(lexicographic(), lambda v: [v[2], v[1]]),
    reverse(lexicographic()),
]


@pytest.mark.parametrize("order", ORDERS, ids=repr)
@given(samples=vectors)
def test_constructors_are_total_preorders(order, samples):
    check_total_preorder(order, samples)
    ranks = order.rank(samples)
    c = comparison_matrix(order, samples)
    for i in range(len(samples)):
        for j in range(len(samples)):
            assert np.sign(ranks[j] - ranks[i]) == c[i, j]


def test_lexicographic_semantics():
    lex = lexicographic()
    assert lex.compare([1, 0], [0, 100]) == 1
    assert lex.compare([1, 2], [1, 3]) == -1
    assert lex.compare([F(1, 3), 2], [F(1, 3), 2]) == 0
    assert lexicographic(signs=[-1, 1]).compare([1, 0], [0, 100]) == -1
    # flattening: [S, A, S] arrays compare in C order
    a, b = np.zeros((2, 2, 2)), np.zeros((2, 2, 2))
    b[1, 1, 1] = 1.0
    assert lex.compare(a, b) == -1


def test_thresholded_lexicographic_caps_components():
    order = thresholded_lexicographic([0.5, None])
    assert order.compare([0.9, 0.0], [0.5, 0.1]) == -1  # both capped at 0.5
    assert order.compare([0.4, 5.0], [0.45, 0.0]) == -1
    assert order.compare([0.7, 1.0], [0.6, 1.0]) == 0


def test_constrained_feasibility_first():
    order = constrained(objective=0, constraints=[(1, 0.5)])
    assert order.compare([0.0, 0.5], [10.0, 0.4]) == 1  # feasible beats infeasible
    assert order.compare([2.0, 0.9], [1.0, 0.6]) == 1  # both feasible: objective
    assert order.compare([0.0, 0.45], [10.0, 0.3]) == 1  # both infeasible: less violation
    assert order.compare([1.0, 0.4], [0.0, 0.4]) == 1  # same violation: objective


def test_violations_are_detected():
    rps = from_comparator(lambda x, y: [0, 1, -1][(x - y) % 3])
    with pytest.raises(InvalidSpecificationError, match="not transitive"):
        check_total_preorder(rps, [0, 1, 2])
    always = from_comparator(lambda x, y: 1)
    with pytest.raises(InvalidSpecificationError, match="not reflexive"):
        check_total_preorder(always, [0, 1])
    asymmetric = from_comparator(lambda x, y: 1 if x != y else 0)
    with pytest.raises(InvalidSpecificationError, match="inconsistent"):
        check_total_preorder(asymmetric, [0, 1])
    # a tolerance creates chains of near-ties that break transitivity
    loose = lexicographic(tolerance=0.1)
    with pytest.raises(InvalidSpecificationError, match="not transitive"):
        check_total_preorder(loose, [[0.0], [0.08], [0.16]])
    check_total_preorder(from_comparator(lambda x, y: x - y), [3, 1, 2, 1])


def test_bad_values_raise():
    with pytest.raises(InvalidSpecificationError, match="not a finite real"):
        lexicographic().compare([np.nan], [0.0])
    with pytest.raises(InvalidSpecificationError, match="lengths"):
        lexicographic().compare([1.0], [0.0, 1.0])
    with pytest.raises(InvalidSpecificationError, match="key"):
        by_key(lambda v: float("inf")).compare([0], [1])
    with pytest.raises(InvalidSpecificationError, match="signs"):
        lexicographic(signs=[2])
    with pytest.raises(InvalidSpecificationError, match="component 3"):
        constrained(3, [(0, 1)]).compare([0, 0], [1, 1])
    with pytest.raises(InvalidSpecificationError, match="callable"):
        by_key(3)  # type: ignore[arg-type]


def test_ranks_by_compare_dense():
    assert ranks_by_compare([2, 5, 2, -1], lambda x, y: (x > y) - (x < y)).tolist() == [1, 0, 1, 2]
