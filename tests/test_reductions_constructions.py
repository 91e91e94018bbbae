"""Proof-checker for the constructions: same total preorder, ties included, exactly."""

from __future__ import annotations

import zlib
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from objspec.environments import E3
from objspec.errors import CertificateError, InvalidSpecificationError, NotExpressibleError
from objspec.formalisms import MarkovReward, OccupancyMeasureFunction
from objspec.reductions import EnvironmentRequiredError, constructions, conversion_chain, convert
from objspec.reductions.checking import (
    acyclic_sources,
    check_instance,
    check_same_ordering,
    needs_acyclic,
    random_rational_mdp,
    random_spec,
    random_spec_for,
    rational_policies,
    verify_construction,
)
from objspec.reductions.construction_catalogue import inner_product, recover_policy
from objspec.reductions.registry import Construction

ALL = constructions()


@pytest.mark.parametrize("c", ALL, ids=[c.name for c in ALL])
def test_construction_preserves_ordering_seeded(c: Construction) -> None:
    rep = verify_construction(c, seed=1234, n_envs=3, n_specs=2)
    assert rep.ok, rep.error
    assert rep.exact, f"{c.name} was not checked exactly"


@pytest.mark.parametrize("c", ALL, ids=[c.name for c in ALL])
@settings(max_examples=5)
@given(seed=st.integers(0, 2**31), n_states=st.integers(1, 3), n_actions=st.integers(2, 3))
def test_construction_preserves_ordering_random(
    c: Construction, seed: int, n_states: int, n_actions: int
) -> None:
    rng = np.random.default_rng(seed)
    acyclic = needs_acyclic(c)
    env = random_rational_mdp(n_states + acyclic, n_actions, rng, acyclic=acyclic)
    pols = rational_policies(env, 3, rng)
    spec = random_spec_for(c, env, rng)
    check_instance(c, spec, c(spec, env), env, pols, seed)


def test_every_construction_documents_its_proof() -> None:
    for c in ALL:
        assert "Proof" in c.doc and "Examples" in c.doc, c.name
        assert c.reference.startswith("docs/theory.md#"), c.name


def test_a_wrong_construction_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Negating the outer function breaks MR -> ONMR; the checker must notice."""
    from objspec.formalisms import OuterNonlinearMarkovReward

    def wrong(spec: MarkovReward) -> OuterNonlinearMarkovReward:
        return OuterNonlinearMarkovReward(spec.reward, lambda x: -x, spec.gamma)

    c = next(c for c in ALL if c.name == "markov_reward_to_outer_nonlinear")
    bad = Construction(c.name, c.source, c.target, c.needs_env, c.reference, wrong)
    assert not verify_construction(bad, seed=3).ok


def test_a_subtly_wrong_regulariser_construction_is_caught() -> None:
    """Dropping the d(s) weight in RRL -> FOMR changes ties/strictness on some instance."""
    from objspec.formalisms import RegularisedRL

    def wrong(spec: RegularisedRL) -> OccupancyMeasureFunction:
        reg, alpha, reward = spec.regulariser, spec.alpha, np.asarray(spec.reward)

        def f(m: np.ndarray) -> object:
            d, pi = recover_policy(np.asarray(m))
            total = inner_product(reward, m)
            for s in range(len(d)):
                if d[s] > 0:
                    total -= F(alpha) * reg.exact_value(pi[s], s)
            return total

        return OccupancyMeasureFunction(f, spec.gamma)

    c = next(c for c in ALL if c.name == "regularised_to_occupancy_function")
    bad = Construction(c.name, c.source, c.target, c.needs_env, c.reference, wrong)
    assert not verify_construction(bad, seed=5, n_envs=6, n_specs=3).ok


def test_check_same_ordering_detects_a_broken_tie() -> None:
    env = E3()
    pols = rational_policies(env, 0)
    a = MarkovReward(np.zeros((2, 2)), F(1, 2))
    b = MarkovReward(np.array([[0, 0], [0, F(1, 10**12)]], dtype=object), F(1, 2))
    with pytest.raises(CertificateError, match="orderings differ"):
        check_same_ordering(a, b, env, pols)


def test_convert_follows_the_shortest_chain() -> None:
    spec = MarkovReward(np.array([[1, 0], [0, 2]]), F(1, 2))
    out = convert(spec, "OMO")
    assert out.acronym == "OMO"
    chain = conversion_chain("MR", "OMO")
    assert chain[0].source == "MR" and chain[-1].target == "OMO"
    assert all(x.target == y.source for x, y in zip(chain, chain[1:], strict=False))
    env = E3()
    check_same_ordering(spec, out, env, rational_policies(env, 4, seed=1))


def test_convert_needs_env_when_every_chain_does() -> None:
    spec = OccupancyMeasureFunction(lambda m: float(np.sum(m)), F(1, 2))
    with pytest.raises(EnvironmentRequiredError, match="pass env"):
        convert(spec, "FPR")
    assert convert(spec, "FPR", env=E3()).acronym == "FPR"


def test_convert_refuses_inexpressible_targets() -> None:
    spec = OccupancyMeasureFunction(lambda m: float(np.sum(m)), F(1, 2))
    with pytest.raises(NotExpressibleError, match="cannot express"):
        convert(spec, "MR")


def test_convert_rejects_unknown_formalism_and_wrong_source() -> None:
    spec = MarkovReward(np.zeros(2), 0.5)
    with pytest.raises(InvalidSpecificationError, match="unknown formalism"):
        convert(spec, "XYZ")
    c = next(c for c in ALL if c.source == "ONMR")
    with pytest.raises(InvalidSpecificationError, match="converts ONMR"):
        c(spec)


def test_policy_recovery_is_exact() -> None:
    env = random_rational_mdp(3, 2, seed=7)
    from objspec.mdp.exact import exact_occupancy_measure

    for pi in rational_policies(env, 4, seed=2):
        d, rec = recover_policy(np.asarray(exact_occupancy_measure(env, pi, F(1, 2))))
        for s in range(3):
            if d[s] > 0:
                assert list(rec[s]) == list(pi.exact_probabilities()[s])


def test_digit_encoding_round_trip_and_a_wrong_discount_is_caught() -> None:
    from objspec.environments import E4
    from objspec.formalisms import InnerNonlinearMarkovReward, TrajectoryFunction
    from objspec.reductions.construction_catalogue import (
        check_digit_encoding,
        decode_prefix,
        encode_prefix,
        trajectory_function_to_inner_nonlinear,
    )

    env = E4()
    ftr = TrajectoryFunction(lambda s, a: int(a[0]) * 2 + int(a[1]) + int(a[2]), horizon=3)
    good = trajectory_function_to_inner_nonlinear(ftr, env)
    assert check_digit_encoding(ftr, good, env) == 8
    assert decode_prefix(env, encode_prefix(env, [0, 1, 2, 2], [1, 0, 1]), 3) == (
        [0, 1, 2, 2], [1, 0, 1])
    # gamma = 1/n (too large): the tail can reach the next digit, decoding breaks.
    n = env.n_states * env.n_actions * env.n_states
    bad = InnerNonlinearMarkovReward(good.reward, good.f, F(1, n))
    with pytest.raises((CertificateError, InvalidSpecificationError)):
        check_digit_encoding(ftr, bad, env)


@pytest.mark.parametrize("c", ALL, ids=[c.name for c in ALL])
def test_checker_rejects_the_conversion_of_a_different_spec(c: Construction) -> None:
    """Feeding the check the converted output of *another* random spec must fail on some
    instance: the checker can tell orderings apart for every construction."""
    rng = np.random.default_rng(99)
    acyclic = needs_acyclic(c)
    caught = 0
    for k in range(6):
        env = random_rational_mdp(2 + acyclic + k % 2, 2, rng, acyclic=acyclic)
        pols = rational_policies(env, 4, rng)
        spec, other = random_spec_for(c, env, rng), random_spec_for(c, env, rng)
        try:
            check_instance(c, spec, c(other, env), env, pols, k)
        except CertificateError:
            caught += 1
    assert caught >= 1


def _chain_pairs() -> list[tuple[str, str]]:
    from objspec.hasse import verdicts
    from objspec.reductions.checking import spec_samplers

    return [(a, b) for (b, a), v in sorted(verdicts().items())
            if v.holds and a != b and a in spec_samplers()
            and "trajectory_function_to_inner_nonlinear" not in v.chain]


@pytest.mark.parametrize(("source", "target"), _chain_pairs())
def test_convert_chains_preserve_the_ordering(source: str, target: str) -> None:
    """Every proved pair whose chain can be evaluated exactly: convert a random spec along
    the shortest chain and compare orderings (chains through the digit encoding are checked
    construction by construction above)."""
    rng = np.random.default_rng(zlib.crc32(f"{source}->{target}".encode()))
    acyclic = source in acyclic_sources()
    env = random_rational_mdp(2 + acyclic, 2, rng, acyclic=acyclic)
    spec = random_spec(source, env, rng)
    out = convert(spec, target, env=env)
    assert out.acronym == target
    check_same_ordering(spec, out, env, rational_policies(env, 3, rng), what=f"{source}->{target}")
