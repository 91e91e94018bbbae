"""The max-margin LP's two formulations (comparison rows of feature differences, or item
values ``v = Phi c`` compared by two non-zeros each) and its two HiGHS methods (simplex,
interior point) find the same optimum as the LP written out directly."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import objspec.formalisms.fitting as fitting
from objspec.learning import Comparisons


def reference_margin(features: np.ndarray, data: Comparisons) -> float:
    """max t s.t. <phi_i - phi_j, c> >= t (strict), = 0 (ties), |c| <= 1, t <= 1 (the
    optimal t, which is the largest smallest gap when it is below the cap 1)."""
    dim = features.shape[1]
    strict, ties = list(data.strict), list(data.ties)
    a_ub = np.array([np.append(features[j] - features[i], 1.0) for i, j in strict])
    a_eq = np.array([np.append(features[i] - features[j], 0.0) for i, j in ties]) if ties \
        else None
    cost = np.zeros(dim + 1)
    cost[-1] = -1.0
    res = scipy.optimize.linprog(cost, A_ub=a_ub, b_ub=np.zeros(len(strict)), A_eq=a_eq,
                                 b_eq=np.zeros(len(ties)) if ties else None,
                                 bounds=[(-1, 1)] * dim + [(None, 1)], method="highs")
    assert res.status == 0
    return float(res.x[-1])


@st.composite
def problems(draw: st.DrawFn) -> tuple[np.ndarray, Comparisons]:
    n, dim = draw(st.integers(3, 6)), draw(st.integers(2, 8))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, dim))
    if draw(st.booleans()):
        features[:, rng.integers(dim)] = 0.0  # some sparsity
    values = features @ rng.normal(size=dim)
    m = draw(st.integers(1, 25))
    pairs = []
    for _ in range(m):
        i, j = (int(x) for x in rng.integers(n, size=2))
        if i != j:
            pairs.append((i, j, ">" if values[i] > values[j] else "<"))
    if not pairs:
        pairs = [(0, 1, ">" if values[0] > values[1] else "<")]
    if draw(st.booleans()):  # a tie the reference can satisfy: equal items
        features[n - 1] = features[n - 2]
        pairs.append((n - 1, n - 2, "="))
    return features, Comparisons(policies=[[[1.0]]] * n, pairs=pairs)


@given(problems(), st.booleans(), st.booleans())
def test_formulations_and_methods_agree(problem: tuple[np.ndarray, Comparisons],
                                        sparse: bool, ipm: bool) -> None:
    features, data = problem
    ref = reference_margin(features, data)
    old = fitting.IPM_NONZEROS
    fitting.IPM_NONZEROS = 0 if ipm else old
    try:
        got = fitting.max_margin(sp.csr_matrix(features) if sparse else features, data)
    finally:
        fitting.IPM_NONZEROS = old
    if ref <= 1e-9 * max(1.0, float(np.abs(features).max())):
        assert got is None
    elif ref < 1.0 - 1e-9:  # the optimum: the largest smallest gap
        assert got is not None and got.margin == pytest.approx(ref, rel=1e-7, abs=1e-9)
    else:  # t is capped at 1: any c with every gap >= 1 is optimal
        assert got is not None and got.margin >= 1.0 - 1e-7


def test_the_value_formulation_is_chosen_for_many_comparisons_of_few_items() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(4, 50))
    strict = [(0, 1), (1, 2), (2, 3), (0, 2), (1, 3), (0, 3)] * 3
    assert fitting._value_link(features, strict, []) is not None
    assert fitting._value_link(features, strict[:1], []) is None
    values = features @ rng.normal(size=50)
    order = np.argsort(-values)
    data = Comparisons(policies=[[[1.0]]] * 4,
                       pairs=[(int(order[i]), int(order[j]), ">") for i, j in strict])
    got = fitting.max_margin(features, data)
    assert got is not None
    assert got.margin == pytest.approx(reference_margin(features, data), rel=1e-9)
