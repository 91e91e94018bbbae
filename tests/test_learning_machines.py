"""Fitting RM (given skeleton), FTR, INMR and IMORL (given rewards) to comparisons.

Data comes from random specifications of each formalism (the registered samplers) on
random small rational environments (acyclic ones where returns must take finitely many
values); the fitted specification must order the data as given, exactly in ``exact`` mode.
Certificates must check and fail when tampered with; the separation witnesses N3, N4 and
N8-FTR (whose A is FTR) must give FTR certificates.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction as F
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from objspec import FiniteMDP, Policy
from objspec.environments import E3, E4
from objspec.environments.strategies import reward_machines
from objspec.errors import (
    CertificateError,
    InconsistentComparisonsError,
    InvalidSpecificationError,
    NoFitFoundError,
    NotExpressibleError,
)
from objspec.formalisms import RewardMachine, TrajectoryFunction
from objspec.formalisms._fit_returns import PrefixTable, ReturnTable, late_states
from objspec.formalisms.fitting import Comparison
from objspec.formalisms.registry import formalism_info
from objspec.learning import Comparisons, fit
from objspec.ltl.reward_machines import CompiledRewardMachine
from objspec.mdp.model import to_fraction
from objspec.mdp.sampling import sample_trajectories
from objspec.reductions import separations
from objspec.reductions.checking import random_rational_mdp, rational_policies
from objspec.reductions.separation_catalogue import b_comparisons

SEEDS = st.integers(0, 10_000)


def _pairs(values: list[Any]) -> list[tuple[int, int, str]]:
    n = len(values)
    return [(i, j, ">" if values[i] > values[j] else "<" if values[i] < values[j] else "=")
            for i in range(n) for j in range(i + 1, n)]


def _policy_data(spec: Any, env: FiniteMDP, policies: list[Policy]) -> Comparisons:
    ev = spec.compile(env, exact=True)
    return Comparisons(policies=policies, pairs=_pairs([ev.exact_value(p) for p in policies]))


def _orders_exactly(spec: Any, env: FiniteMDP, data: Comparisons) -> bool:
    ev = spec.compile(env, exact=True)
    vals = [ev.exact_value(p) for p in data.policies or ()]
    return all(vals[c.first] > vals[c.second] if c.relation == ">" else
               vals[c.first] == vals[c.second] for c in data.comparisons)


def _orders_in_floats(spec: Any, env: FiniteMDP, data: Comparisons) -> bool:
    """A float fit: strict gaps positive, ties equal up to the LP's feasibility tolerance."""
    vals = spec.compile(env, exact=False).values(list(data.policies or ()))
    return all(vals[c.first] - vals[c.second] > 0 if c.relation == ">" else
               abs(vals[c.first] - vals[c.second]) <= 1e-6 for c in data.comparisons)


def _tampered_fail(cert: Any) -> None:
    """Changing one multiplier, one comparison or one feature makes ``check()`` fail."""
    cert.check()
    z = list(cert.strict_multipliers)
    k = next(i for i, x in enumerate(z) if x != 0)
    z[k] = -z[k]
    with pytest.raises(CertificateError):
        replace(cert, strict_multipliers=tuple(z)).check()
    feats = [list(r) for r in cert.features]
    feats[0][0] += 1
    with pytest.raises(CertificateError):
        replace(cert, features=tuple(tuple(r) for r in feats)).check()
    comps = list(cert.comparisons)
    for n, c in enumerate(comps):
        if c.relation == ">":
            index = {x: i for i, x in enumerate(cert.item_ids)}
            if cert.features[index[c.first]] != cert.features[index[c.second]]:
                comps[n] = Comparison(c.second, c.first, ">", c.row)
                with pytest.raises(CertificateError):
                    replace(cert, comparisons=tuple(comps)).check()
                break


# ---------------------------------------------------------------------- RM


def _rm_problem(seed: int) -> tuple[FiniteMDP, Any, list[Policy]]:
    rng = np.random.default_rng(seed)
    env = random_rational_mdp(3, 2, seed=seed)
    spec = formalism_info("RM").sampler(env, rng)
    return env, spec, rational_policies(env, 3, seed=seed)[:8]


@settings(max_examples=6)
@given(SEEDS)
def test_rm_fit_with_the_generators_skeleton_orders_the_data(seed: int) -> None:
    env, spec, pols = _rm_problem(seed)
    data = _policy_data(spec, env, pols)
    exact = fit("RM", env, data, machine=spec, exact=True)
    assert exact.exact and exact.margin > 0 and not exact.violated
    assert isinstance(exact.spec, RewardMachine)
    assert _orders_exactly(exact.spec, env, data)
    approx = fit("RM", env, data, machine=spec)
    assert not approx.exact and _orders_in_floats(approx.spec, env, data)
    # the exact margin is that of the LP solution rounded to rationals: at most the optimum
    assert 0 < float(exact.margin) <= float(approx.margin) * (1 + 1e-6)


def test_rm_default_is_the_one_state_machine_and_may_be_refuted() -> None:
    refuted = 0
    for seed in range(12):
        env, spec, pols = _rm_problem(seed)
        data = _policy_data(spec, env, pols)
        try:
            result = fit("RM", env, data, gamma=spec.gamma, exact=True)
        except NotExpressibleError as exc:
            refuted += 1
            cert = exc.certificate
            # relative to the one-state skeleton, or (when FTR itself cannot fit) for every RM
            assert cert.formalism == "RM"
            assert "one-state machine" in str(exc) or "FTR, and so RM" in str(exc)
            _tampered_fail(cert)
            continue
        assert len(result.spec.states) == 1 and _orders_exactly(result.spec, env, data)
    assert refuted >= 1


def _machine_return(rm: RewardMachine, env: FiniteMDP, states: Any, actions: Any) -> F:
    """Reference: walk the machine along a trajectory (state labels) and add the rewards."""
    m = CompiledRewardMachine(rm.edges, rm.initial, rm.gamma, env)
    labels = env.state_labels
    assert labels is not None
    u, weight, total = 0, F(1), F(0)
    for t in range(len(actions)):
        s, a = int(states[t]), int(actions[t])
        letter = sum(1 << i for i, p in enumerate(m.propositions) if p in labels[s])
        e = int(m.edge_of[u, letter])
        if e >= 0:
            r = np.asarray(rm.edges[e].reward, dtype=object)
            x = (r.item() if r.ndim == 0 else r[s] if r.ndim == 1 else r[s, a] if r.ndim == 2
                 else r[s, a, int(states[t + 1])])
            total += weight * to_fraction(x)
        u = int(m.successors[u, letter])
        weight *= to_fraction(rm.gamma)
    return total


@settings(max_examples=6)
@given(st.data(), SEEDS)
def test_rm_constant_edge_rewards_fit_data_from_the_registered_strategy(
        data: st.DataObject, seed: int) -> None:
    # the strategy's machines pay a number per edge: the "constant" class contains them
    env = random_rational_mdp(3, 2, seed=seed)
    spec = data.draw(reward_machines(env))
    pols = rational_policies(env, 3, seed=seed)[:8]
    comparisons = _policy_data(spec, env, pols)
    result = fit("RM", env, comparisons, machine=spec, edge_rewards="constant", exact=True)
    assert all(e.reward_is_constant for e in result.spec.edges)
    assert _orders_exactly(result.spec, env, comparisons)


@settings(max_examples=5)
@given(SEEDS)
def test_rm_fit_on_trajectory_comparisons(seed: int) -> None:
    env, spec, _ = _rm_problem(seed)
    states, actions = sample_trajectories(env, np.full((3, 2), 0.5), 6, 4, seed=seed)
    trajs = [(states[m], actions[m]) for m in range(6)]
    data = Comparisons(trajectories=trajs,
                       pairs=_pairs([_machine_return(spec, env, *t) for t in trajs]))
    result = fit("RM", env, data, machine=spec, exact=True)
    got = [_machine_return(result.spec, env, *t) for t in trajs]
    assert all(got[c.first] > got[c.second] if c.relation == ">" else
               got[c.first] == got[c.second] for c in data.comparisons)


def test_rm_edge_reward_shapes_and_the_doc_machine() -> None:
    P = np.zeros((2, 2, 2))
    P[:, 0, 0] = 1
    P[:, 1, 1] = 1
    env = FiniteMDP(P, [1, 0], labels={0: ["a"], 1: ["b"]})
    go, stay = Policy.deterministic([1, 0], 2), Policy.deterministic([0, 0], 2)
    back = Policy.deterministic([1, 1], 2)
    data = Comparisons(policies=[go, stay, back], pairs=[(0, 1, ">"), (1, 2, ">")])
    for shape in ("constant", "state", "state-action"):
        result = fit("RM", env, data, gamma=F(1, 2), machine=[("u0", "u1", "a"),
                                                                ("u1", "u0", "b")],
                     edge_rewards=shape, exact=True)
        assert result.details["edge_rewards"] == shape
        assert _orders_exactly(result.spec, env, data)


# ---------------------------------------------------------------------- INMR / IMORL / FTR


def _acyclic_problem(seed: int, acronym: str) -> tuple[FiniteMDP, Any, list[Policy]]:
    rng = np.random.default_rng(seed)
    env = random_rational_mdp(4, 2, seed=seed, acyclic=True)
    spec = formalism_info(acronym).sampler(env, rng)
    return env, spec, rational_policies(env, 3, seed=seed)[:8]


@settings(max_examples=5)
@given(SEEDS)
def test_inmr_fit_with_the_given_reward_orders_the_data(seed: int) -> None:
    env, spec, pols = _acyclic_problem(seed, "INMR")
    data = _policy_data(spec, env, pols)
    result = fit("INMR", env, data, gamma=spec.gamma, reward=spec.reward, exact=True)
    assert result.exact and _orders_exactly(result.spec, env, data)
    assert isinstance(result.spec.f, ReturnTable) and result.spec.f.scalar
    approx = fit("INMR", env, data, gamma=spec.gamma, reward=spec.reward)
    assert _orders_in_floats(approx.spec, env, data)


@settings(max_examples=5)
@given(SEEDS)
def test_imorl_fit_with_the_given_rewards_orders_the_data(seed: int) -> None:
    env, spec, pols = _acyclic_problem(seed, "IMORL")
    data = _policy_data(spec, env, pols)
    result = fit("IMORL", env, data, gamma=spec.gamma, rewards=spec.rewards, exact=True)
    assert result.exact and _orders_exactly(result.spec, env, data)
    approx = fit("IMORL", env, data, gamma=spec.gamma, rewards=spec.rewards)
    assert _orders_in_floats(approx.spec, env, data)


@settings(max_examples=5)
@given(SEEDS)
def test_ftr_fit_on_acyclic_environments_orders_the_data(seed: int) -> None:
    env, spec, pols = _acyclic_problem(seed, "FTR")
    data = _policy_data(spec, env, pols)
    result = fit("FTR", env, data, exact=True)
    assert isinstance(result.spec, TrajectoryFunction)
    assert isinstance(result.spec.f, PrefixTable)
    assert result.exact and _orders_exactly(result.spec, env, data)
    approx = fit("FTR", env, data)
    assert _orders_in_floats(approx.spec, env, data)


def test_inmr_certificate_when_equal_return_distributions_are_ranked() -> None:
    # E4: the reward only pays for action a at s0, so policies differing elsewhere have the
    # same return distribution; a strict preference between them is impossible for INMR
    R = np.zeros((3, 2))
    R[0, 0] = 1
    p = [Policy([[F(1, 2), F(1, 2)], [x, 1 - x], [1, 0]]) for x in (F(0), F(1))]
    data = Comparisons(policies=p, pairs=[(0, 1, ">")])
    with pytest.raises(NotExpressibleError) as info:
        fit("INMR", E4(), data, gamma=F(1, 2), reward=R)
    _tampered_fail(info.value.certificate)
    soft = fit("INMR", E4(), data, gamma=F(1, 2), reward=R, soft=True)
    assert [c.row for c in soft.violated] == [0]
    # FTR (which sees the whole trajectory) explains it
    assert _orders_exactly(fit("FTR", E4(), data, exact=True).spec, E4(), data)


def test_inmr_on_trajectories_is_a_function_of_the_return() -> None:
    R = np.zeros((3, 2))
    R[0, 0] = 1
    R[1, 0] = 2
    trajs = [([0, 1, 2], [0, 0]), ([0, 1, 2], [1, 1]), ([0, 1], [1])]  # returns 2, 0, 0
    ok = Comparisons(trajectories=trajs, pairs=[(0, 1, ">"), (2, 1, "=")])
    result = fit("INMR", E4(), ok, gamma=F(1, 2), reward=R, exact=True)
    assert result.spec.f(F(2)) > result.spec.f(F(0))
    bad = Comparisons(trajectories=trajs, pairs=[(2, 1, ">")])  # both return 0
    with pytest.raises(NotExpressibleError):
        fit("INMR", E4(), bad, gamma=F(1, 2), reward=R)


def test_ftr_fits_any_consistent_trajectory_data_by_ranks() -> None:
    trajs = [([0, 1, 2], [0, 0]), ([0, 1, 2], [1, 0]), ([0, 1], [1]), ([0, 1, 2], [1, 1])]
    data = Comparisons(trajectories=trajs, pairs=[(0, 1, ">"), (1, 2, ">"), (2, 3, "="),
                                                  (0, 3, ">")])
    result = fit("FTR", E4(), data, exact=True)
    g = result.spec.f
    vals = [g(*t) for t in trajs]
    assert vals[0] > vals[1] > vals[2] == vals[3] and result.margin == 1
    with pytest.raises(InconsistentComparisonsError):
        fit("FTR", E4(), Comparisons(trajectories=trajs, pairs=[(0, 1, ">"), (1, 0, ">")]))


def _witness_data(w: Any) -> Comparisons:
    """The witness's B-ordering of its policies as comparisons (exact where B allows)."""
    pols = w.policies
    comp, exact = b_comparisons(w.spec, w.env, pols)
    n = len(pols)
    pairs = [(i, j, ">") for i in range(n) for j in range(n) if comp[i, j] > 0]
    if exact:
        pairs += [(i, j, "=") for i in range(n) for j in range(i + 1, n) if comp[i, j] == 0]
    return Comparisons(policies=pols, pairs=pairs)


@pytest.mark.parametrize("name", ["N3", "N4", "N8-FTR"])
def test_separation_witnesses_give_ftr_certificates(name: str) -> None:
    w = next(w for w in separations() if w.name == name)
    assert w.a == "FTR"
    env = w.env
    data = _witness_data(w)
    with pytest.raises(NotExpressibleError) as info:
        fit("FTR", env, data)
    _tampered_fail(info.value.certificate)
    # with no usable horizon (0 steps: the policies differ at s0, visited at step 0) the
    # certificate comes from L1's multi-affine features
    with pytest.raises(NotExpressibleError) as info:
        fit("FTR", env, data, horizon=0)
    cert = info.value.certificate
    assert "L1" in cert.feature_map.name
    _tampered_fail(cert)


def _n7_rm_data() -> tuple[FiniteMDP, Comparisons]:
    """docs/theory.md#n7 (RM part): on E4, -(p + q - 1)^2 ties (0, 1), (1, 0) and (1/2, 1/2)
    and puts (0, 1) above (0, 0) and (1, 0) above (1, 1); by L1 no RM (no FTR) does."""
    half = F(1, 2)
    pols = [Policy([[p, 1 - p], [q, 1 - q], [1, 0]])
            for p, q in ((0, 1), (1, 0), (half, half), (0, 0), (1, 1))]
    return E4(), Comparisons(policies=pols, pairs=[(0, 1, "="), (0, 2, "="), (0, 3, ">"),
                                                   (1, 4, ">")])


@pytest.mark.parametrize("name", ["N7-RM", "N3"])
def test_rm_certificates_for_every_skeleton_come_from_ftr(name: str) -> None:
    if name == "N3":
        w = next(w for w in separations() if w.name == name)
        env, data = w.env, _witness_data(w)
    else:
        env, data = _n7_rm_data()
    with pytest.raises(NotExpressibleError) as info:
        fit("RM", env, data, gamma=F(1, 2))
    cert = info.value.certificate
    assert cert.formalism == "RM" and "FTR, and so RM" in str(info.value)
    _tampered_fail(cert)
    with pytest.raises(NotExpressibleError, match="FTR, and so INMR"):
        fit("INMR", env, data, gamma=F(1, 2), reward=np.zeros((env.n_states, 2)))


def test_ftr_bounded_answer_when_the_policies_differ_on_a_cycle() -> None:
    # E3's s1 is absorbing with two actions: policies differing there are told apart only
    # by steps after the horizon; with horizon 0 nothing is fitted and nothing is proved
    p = [Policy([[1, 0], [x, 1 - x]]) for x in (F(0), F(1))]
    data = Comparisons(policies=p, pairs=[(0, 1, ">")])
    with pytest.raises(NoFitFoundError) as info:
        fit("FTR", E3(), data, horizon=0)
    assert info.value.bound == 0
    assert _orders_exactly(fit("FTR", E3(), data, horizon=2, exact=True).spec, E3(), data)
    assert sorted(late_states(E3(), 1)) == [1]


# ---------------------------------------------------------------------- bad input


def test_bad_input_gets_named_errors() -> None:
    env = E4()
    p = [Policy([[1, 0], [1, 0], [1, 0]]), Policy([[0, 1], [1, 0], [1, 0]])]
    data = Comparisons(policies=p, pairs=[(0, 1, ">")])
    R = np.zeros((3, 2))
    with pytest.raises(InvalidSpecificationError, match="reward=.*must be given|must be given"):
        fit("INMR", env, data, gamma=F(1, 2))
    with pytest.raises(InvalidSpecificationError, match="must be given"):
        fit("IMORL", env, data, gamma=F(1, 2))
    with pytest.raises(InvalidSpecificationError, match="discount"):
        fit("INMR", env, data, reward=R)
    with pytest.raises(InvalidSpecificationError, match="horizon"):
        fit("FTR", env, data, horizon=-1)
    with pytest.raises(InvalidSpecificationError, match="edge_rewards"):
        fit("RM", env, data, gamma=F(1, 2), edge_rewards="transition")
    with pytest.raises(InvalidSpecificationError, match="machine="):
        fit("RM", env, data, gamma=F(1, 2), machine=3)
    with pytest.raises(InvalidSpecificationError, match="unknown keyword"):
        fit("RM", env, data, gamma=F(1, 2), horizon=2)
    rm = RewardMachine([(0, 0, "true", 1)], 0, F(1, 2))
    with pytest.raises(InvalidSpecificationError, match="differs"):
        fit("RM", env, data, gamma=F(1, 3), machine=rm)
    assert fit("RM", env, Comparisons(policies=p, pairs=[(0, 1, "=")]), machine=rm).margin \
        is None
    no_final = Comparisons(trajectories=[([0], [0]), ([0], [1])], pairs=[(0, 1, ">")])
    with pytest.raises(InvalidSpecificationError, match="final state"):
        fit("RM", env, no_final, gamma=F(1, 2))
    # a reward collected on a cycle: infinitely many returns
    cyclic = np.ones((2, 2))
    e3 = [Policy([[1, 0], [1, 0]]), Policy([[0, 1], [1, 0]])]
    with pytest.raises(NoFitFoundError, match="infinitely many"):
        fit("INMR", E3(), Comparisons(policies=e3, pairs=[(0, 1, ">")]), gamma=F(1, 2),
            reward=cyclic)


@settings(max_examples=4)
@given(SEEDS)
def test_ftr_searches_horizons_on_cyclic_environments(seed: int) -> None:
    rng = np.random.default_rng(seed)
    env = random_rational_mdp(3, 2, seed=seed)
    spec = formalism_info("MR").sampler(env, rng)
    pols = rational_policies(env, 3, seed=seed)[:6]
    data = _policy_data(spec, env, pols)
    try:
        result = fit("FTR", env, data)
    except NoFitFoundError as exc:  # a bounded search: it says how far it went
        assert isinstance(exc.bound, int)
        return
    assert _orders_in_floats(result.spec, env, data)


def test_rm_default_machine_on_an_unlabelled_environment_is_the_markov_reward_fit() -> None:
    env = random_rational_mdp(3, 2, seed=5, labels={})
    pols = rational_policies(env, 2, seed=5)[:5]
    mr = formalism_info("MR").sampler(env, np.random.default_rng(5))
    data = _policy_data(mr, env, pols)
    rm = fit("RM", env, data, gamma=mr.gamma, exact=True)
    assert len(rm.spec.states) == 1 and _orders_exactly(rm.spec, env, data)
    # the same LP as the Markov-reward fit (one column per reachable (s, a))
    assert fit("RM", env, data, gamma=mr.gamma).margin == pytest.approx(
        fit("MR", env, data, gamma=mr.gamma).margin, rel=1e-6)


def test_demonstrations_are_refused_by_these_fitters() -> None:
    p = [Policy([[1, 0], [1, 0], [1, 0]]), Policy([[0, 1], [1, 0], [1, 0]])]
    data = Comparisons(policies=p, demonstrations=[0])
    for acronym, kw in (("RM", {"gamma": F(1, 2)}), ("FTR", {}),
                        ("INMR", {"gamma": F(1, 2), "reward": np.zeros((3, 2))})):
        with pytest.raises(InvalidSpecificationError, match="demonstrations"):
            fit(acronym, E4(), data, **kw)


def test_rm_features_reproduce_the_machines_values() -> None:
    from objspec.formalisms._fit_rm import RewardMachineFeatures

    env, _, pols = _rm_problem(7)
    rm = RewardMachine([(0, 1, "p", 1), (0, 0, "!p", F(1, 2)), (1, 1, "q", -1),
                        (1, 0, "!q", 2)], 0, F(1, 2))
    feats = RewardMachineFeatures(rm.edges, rm.initial, rm.gamma, env, "constant")
    exact = feats.exact_features(pols)
    assert np.allclose(feats.float_features(pols).toarray(),
                       np.array([[float(x) for x in row] for row in exact]), atol=1e-10)
    ev = rm.compile(env, exact=True)
    rewards = [rm.edges[e].reward for e in feats.columns]  # "constant": a column per edge
    for p, row in zip(pols, exact, strict=True):
        assert sum((x * r for x, r in zip(row, rewards, strict=True)), F(0)) == \
            ev.exact_value(p)


def test_float_policies_fit_and_an_impossible_fit_says_what_a_proof_needs() -> None:
    # rows that do not sum to 1 exactly in rationals: fits work, certificates cannot
    third = 1 / 3
    p = [Policy([[third, 1 - third], [third, 1 - third], [1.0, 0.0]]),
         Policy([[third, 1 - third], [1 - third, third], [1.0, 0.0]])]
    assert sum(F(x) for x in p[0].probabilities[0]) != 1
    R = np.zeros((3, 2))
    R[0, 0] = 1
    data = Comparisons(policies=p, pairs=[(0, 1, ">")])
    assert _orders_in_floats(fit("FTR", E4(), data).spec, E4(), data)
    with pytest.raises(NoFitFoundError, match="given exactly"):
        fit("INMR", E4(), data, gamma=F(1, 2), reward=R)
