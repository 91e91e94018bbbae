"""Property tests for every formalism: ``compare`` is a total preorder, ``rank`` agrees.

Random environments and random policy sets (Dirichlet rows, some deterministic, some
duplicated) are drawn from a hypothesis seed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from objspec.environments import random_mdp, random_policies
from objspec.formalisms import (
    FOMR,
    FPR,
    FTLR,
    FTR,
    GOMORL,
    IMORL,
    INMR,
    LAR,
    MR,
    OMO,
    OMORL,
    ONMR,
    PO,
    RRL,
    TLO,
)
from objspec.formalisms.regularisers import negative_entropy
from objspec.orders import by_key, check_total_preorder, lexicographic


def _rewards(rng, k, S, A):
    return rng.integers(-2, 3, size=(k, S, A, S)).astype(float)


def make_spec(name, rng, S, A):
    gamma = 0.5
    R = _rewards(rng, 2, S, A)
    if name == "MR":
        return MR(R[0], gamma)
    if name == "ONMR":
        return ONMR(R[0], lambda x: np.sin(3 * x), gamma)
    if name == "OMORL":
        return OMORL(R, lambda v: v[0] * v[1], gamma)
    if name == "GOMORL":
        return GOMORL(np.round(R / 2), lexicographic(), gamma)
    if name == "FOMR":
        return FOMR(lambda m: float((m**2).sum()), gamma)
    if name == "OMO":
        return OMO(by_key(lambda m: (round(float(m[0].sum()), 6), float(m.max()))), gamma)
    if name == "RRL":
        return RRL(R[0], negative_entropy, 0.7, gamma)
    if name == "FPR":
        return FPR(lambda pi: pi.probabilities[0, 0] * pi.probabilities[-1, -1])
    if name == "LAR":
        return LAR(R[0])
    if name == "INMR":  # Monte Carlo on random environments (common random numbers)
        return INMR(R[0], lambda x: np.tanh(x), gamma, n_samples=64, seed=1)
    if name == "IMORL":
        return IMORL(R, lambda v: max(v[0], v[1]), gamma, n_samples=64, seed=2)
    if name == "FTR":
        table = rng.normal(size=(S, A))
        return FTR(lambda s, a: float(table[s[:2], a].prod()), horizon=2)
    if name == "FTLR":
        def variance(lottery):
            mean, second = lottery.return_moments(R[0], gamma)
            return second - mean**2

        return FTLR(variance)
    if name == "TLO":
        return TLO(by_key(lambda L: (round(L.expected_return(R[1], gamma), 6),
                                     float(L.reachable.sum()))))
    if name == "PO":
        return PO(by_key(lambda pi: tuple(pi.probabilities.argmax(axis=1))))
    raise AssertionError(name)


NAMES = ["MR", "LAR", "INMR", "IMORL", "FTR", "ONMR", "OMORL", "GOMORL", "RRL", "FTLR",
         "FOMR", "TLO", "OMO", "FPR", "PO"]


def assert_total_preorder_and_rank(ev, policies):
    n = len(policies)
    c = np.array([[ev.compare(policies[i], policies[j]) for j in range(n)] for i in range(n)])
    check_total_preorder(lambda i, j: c[i, j], list(range(n)))
    ranks = ev.rank(np.array(policies))
    for i in range(n):
        for j in range(n):
            assert np.sign(ranks[j] - ranks[i]) == c[i, j], (i, j, ranks, c[i, j])


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=20)
@given(seed=st.integers(0, 2**32 - 1), S=st.integers(1, 4), A=st.integers(2, 3))
def test_compare_is_total_preorder_and_rank_agrees(name, seed, S, A):
    rng = np.random.default_rng(seed)
    env = random_mdp(S, A, min(2, S), seed=rng, initial="first")
    pis = random_policies(env, 4, seed=rng, deterministic_fraction=0.5)
    pis = np.concatenate([pis, pis[:1]])  # duplicates must tie
    spec = make_spec(name, rng, S, A)
    assert_total_preorder_and_rank(spec.compile(env), list(pis))
