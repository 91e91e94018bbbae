"""Cross-formalism invariant of optimisation: a construction ``A -> B`` preserves the
ordering, so the maximal elements too. Where the optimisers of both ``A`` and ``B`` state an
``exact`` or ``certified`` optimum, the policy ``B``'s optimiser returns for the converted
specification must be optimal for the original one (within the stated bounds)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from objspec.formalisms.registry import formalism_info
from objspec.reductions import constructions
from objspec.reductions.checking import needs_acyclic, random_rational_mdp, random_spec_for

STRONG = ("exact", "certified")


def _strong(acronym: str) -> bool:
    opt = formalism_info(acronym).optimiser
    return opt is not None and opt.guarantee in STRONG


PAIRS = [c for c in constructions() if _strong(c.source) and _strong(c.target)]


def _concave_source(c: Any, env: Any, rng: np.random.Generator) -> Any:
    """A source specification whose optimiser can state a strong guarantee (a concave
    function, a lexicographic order), for the constructions whose sampled sources are
    generally not concave; None to use the registered sampler."""
    from fractions import Fraction as F

    from objspec import orders
    from objspec.formalisms import (
        GeneralisedOuterMORL,
        OccupancyMeasureFunction,
        OccupancyMeasureOrdering,
        OuterMORL,
        OuterNonlinearMarkovReward,
    )

    S, A = env.n_states, env.n_actions
    R = np.vectorize(F, otypes=[object])(rng.integers(-2, 3, size=(2, S, A, S)))
    half = F(1, 2)
    if c.source == "ONMR":
        return OuterNonlinearMarkovReward(R[0], lambda x: -(x - half) ** 2, half)
    if c.source == "OMORL":
        return OuterMORL(R, lambda v: -(v[0] - 1) ** 2 - (v[1] + half) ** 2, half)
    if c.source == "FOMR":
        W = R[0].astype(float)

        def f(m: Any) -> Any:
            return -float(np.sum((np.asarray(m, dtype=float) - W) ** 2))

        def grad(m: Any) -> Any:
            return -2 * (np.asarray(m, dtype=float) - W)

        return OccupancyMeasureFunction(f, half, concave=True, gradient=grad)
    if c.source == "RRL":
        from objspec.formalisms import RegularisedRL
        from objspec.formalisms.regularisers import squared_distance_to

        return RegularisedRL(R[0], squared_distance_to(), half, half)
    if c.source == "GOMORL":
        return GeneralisedOuterMORL(R, orders.lexicographic(), half)
    if c.source == "OMO":
        key = R.reshape(2, -1)

        def stats(m: Any) -> list[Any]:
            flat = np.asarray(m, dtype=object).ravel()
            return [sum(k * x for k, x in zip(key[i], flat, strict=True)) for i in range(2)]

        return OccupancyMeasureOrdering(orders.pullback(orders.lexicographic(), stats), half)
    return None


def _value(spec: Any, env: Any, policy: Any) -> float:
    return float(spec.compile(env).value(policy))


def test_there_are_pairs_to_check() -> None:
    names = {(c.source, c.target) for c in PAIRS}
    assert ("MR", "ONMR") in names and ("MR", "RM") in names and len(PAIRS) >= 6


@pytest.mark.parametrize("c", PAIRS, ids=lambda c: c.name)
def test_the_target_optimum_is_optimal_for_the_source(c: Any) -> None:
    """Every pair, on three random environments: the sources are concave functions or
    lexicographic orders where the registered sampler's are not, and the constructions
    carry concavity and gradients over (a concave f of a linear map, an order by a
    concave key), so both optimisers must state a strong guarantee."""
    for seed in range(3):
        rng = np.random.default_rng(seed)
        acyclic = needs_acyclic(c)
        env = random_rational_mdp(2 + seed % 2, 2, rng, acyclic=acyclic)
        spec = _concave_source(c, env, rng) or random_spec_for(c, env, rng)
        out = c(spec, env)
        target = out.optimise(env, seed=0, time_limit=30)
        source = spec.optimise(env, seed=0, time_limit=30)
        assert target.guarantee in STRONG, (c.name, seed, target.method, target.evidence)
        assert source.guarantee in STRONG, (c.name, seed, source.method, source.evidence)
        if not formalism_info(spec).real_valued:  # an ordering: compare the two optima
            cmp = spec.compile(env).compare(target.policy, source.policy)
            assert cmp >= 0, (c.name, seed)
            continue
        best = _value(spec, env, source.policy)
        got = _value(spec, env, target.policy)
        scale = max(1.0, abs(best))
        slack = float(source.bound or 0) + float(target.bound or 0) + 1e-6 * scale
        assert got >= best - slack, (c.name, seed, got, best)
