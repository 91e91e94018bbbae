"""Fitting linear formalisms beyond plain MR comparisons: LAR, RRL, and MR from
demonstrations (inverse RL), noisy data (Bradley-Terry) and trajectory comparisons."""

from __future__ import annotations

import itertools
from dataclasses import replace
from fractions import Fraction as F
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from objspec import FiniteMDP, Policy
from objspec.environments import E3, E7
from objspec.environments.strategies import limit_average_rewards
from objspec.errors import (
    CertificateError,
    InconsistentComparisonsError,
    InvalidPolicyError,
    InvalidSpecificationError,
    NoFitFoundError,
    NotExpressibleError,
    NotTractableError,
)
from objspec.formalisms import LimitAverageReward, MarkovReward, RegularisedRL
from objspec.formalisms.markov_reward import inverse_rl
from objspec.formalisms.registry import formalism_info
from objspec.formalisms.regularisers import negative_entropy, squared_distance_to
from objspec.learning import Comparisons, fit
from objspec.mdp.exact import exact_discount, exact_values
from objspec.mdp.strategies import mdps, policies

SMALL = settings(max_examples=12)


def pairs_from_values(values: list[Any]) -> list[tuple[int, int, str]]:
    """Every pair of items compared by exact values (ties as ``=``)."""
    out = []
    for i, j in itertools.combinations(range(len(values)), 2):
        out.append((i, j, ">" if values[i] > values[j] else "<" if values[i] < values[j]
                    else "="))
    return out


def min_gap(values: list[Any]) -> float:
    gaps = [abs(float(a - b)) for a, b in itertools.combinations(values, 2) if a != b]
    return min(gaps, default=1.0)


def orders_as_given(spec: Any, env: FiniteMDP, data: Comparisons) -> None:
    """The fitted specification, compiled exactly, satisfies every comparison."""
    ev = spec.compile(env, exact=True)
    vals = [ev.exact_value(p) for p in data.policies]
    for c in data.comparisons:
        if c.relation == ">":
            assert vals[c.first] > vals[c.second], c
        else:
            assert vals[c.first] == vals[c.second], c


def tamper_checks(cert: Any) -> None:
    """The certificate checks; one changed multiplier, comparison or feature does not."""
    cert.check()
    m = list(cert.strict_multipliers)
    m[0] = F(0)  # the rest of a minimal infeasible set is feasible: no longer a proof
    with pytest.raises(CertificateError):
        replace(cert, strict_multipliers=tuple(m)).check()
    comps = list(cert.comparisons)
    k = next(n for n, c in enumerate(comps) if c.relation == ">")
    c = comps[k]
    comps[k] = replace(c, relation="=")
    with pytest.raises(CertificateError):
        replace(cert, comparisons=tuple(comps)).check()
    if len(comps) > 1:  # reversing one comparison of a minimal set breaks the cancellation
        comps[k] = replace(c, first=c.second, second=c.first)
        with pytest.raises(CertificateError):
            replace(cert, comparisons=tuple(comps)).check()
    feats = [list(row) for row in cert.features]
    feats[0][0] += 1
    with pytest.raises(CertificateError):
        replace(cert, features=tuple(tuple(r) for r in feats)).check()


def two_step() -> FiniteMDP:
    """State 0 (two actions, both to the absorbing state 1); state 1 has two self-loops."""
    P = np.zeros((2, 2, 2))
    P[0, :, 1] = 1.0
    P[1, :, 1] = 1.0
    return FiniteMDP(P, [1.0, 0.0])


def switch() -> FiniteMDP:
    """Action 0 stays, action 1 moves to the other state."""
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[0, 1, 1] = P[1, 0, 1] = P[1, 1, 0] = 1.0
    return FiniteMDP(P, [1.0, 0.0])


# ---------------------------------------------------------------------- LAR


@SMALL
@given(st.data())
def test_lar_fit_explains_data_from_a_random_lar(data: st.DataObject) -> None:
    env = data.draw(mdps(max_states=3, max_actions=2, exact=True))
    gen = data.draw(limit_average_rewards(env))
    pols = [data.draw(policies(env, exact=True)) for _ in range(4)]
    ev = gen.compile(env, exact=True)
    vals = [ev.exact_value(p) for p in pols]
    assume(min_gap(vals) > 1e-6)
    cmp = Comparisons(policies=pols, pairs=pairs_from_values(vals))
    result = fit("LAR", env, cmp, exact=True)
    assert result.exact and isinstance(result.spec, LimitAverageReward)
    assert not result.violated
    orders_as_given(result.spec, env, cmp)


def pinned(feats: list[Any], data: Comparisons, h: int, k: int) -> str | None:
    """What the data forces between items ``h`` and ``k`` for every linear ``c`` (exact
    Farkas decisions): ``">"``, ``"<"``, ``"="`` or None (not pinned down)."""
    from objspec.certificates import farkas_certificate

    strict, ties = list(data.strict), list(data.ties)

    def impossible(extra_strict: list[Any], extra_ties: list[Any]) -> bool:
        return farkas_certificate(feats, strict + extra_strict, ties + extra_ties) is not None

    if impossible([(k, h)], []) and impossible([], [(k, h)]):
        return ">"
    if impossible([(h, k)], []) and impossible([], [(h, k)]):
        return "<"
    if impossible([(h, k)], []) and impossible([(k, h)], []):
        return "="
    return None


@SMALL
@given(st.data())
def test_lar_fit_orders_held_out_policies_where_the_data_pins_them(
        data: st.DataObject) -> None:
    """A held-out policy that differs from a data policy only where that policy spends no
    long-run time (and random ones): wherever the data forces its order against a data
    policy for every limit-average reward, the fit orders it the same way as the generator
    (both are such rewards)."""
    from objspec.formalisms._fit_linear import long_run_feature_map

    env = data.draw(mdps(max_states=3, max_actions=2, exact=True))
    gen = data.draw(limit_average_rewards(env))
    pols = [data.draw(policies(env, exact=True)) for _ in range(3)]
    ev = gen.compile(env, exact=True)
    vals = [ev.exact_value(p) for p in pols]
    assume(min_gap(vals) > 1e-6)
    cmp = Comparisons(policies=pols, pairs=pairs_from_values(vals))
    result = fit("LAR", env, cmp, exact=True)
    fitted = result.spec.compile(env, exact=True)
    fm = long_run_feature_map()
    base = pols[0].exact_probabilities().copy()
    visited = [x != 0 for x in fm.compute(env, [pols[0]])[0]]
    for s in range(env.n_states):  # change the rows of states with no long-run time
        if not any(visited[s * env.n_actions:(s + 1) * env.n_actions]):
            base[s] = base[s][::-1] if env.enabled[s].all() else base[s]
    held = [Policy(base), data.draw(policies(env, exact=True))]
    feats = fm.compute(env, pols + held)
    seen = 0
    for n, h in enumerate(held):
        for k in range(len(pols)):
            forced = pinned(feats, cmp, len(pols) + n, k)
            if forced is None:
                continue
            sign = {">": 1, "=": 0, "<": -1}[forced]
            want = ev.exact_value(h) - vals[k]  # the generator obeys what the data forces
            got = fitted.exact_value(h) - fitted.exact_value(pols[k])
            assert (want > 0) - (want < 0) == sign
            assert (got > 0) - (got < 0) == sign
            seen += 1
    assert seen >= 1  # the copy of policy 0 always ties with it


def test_lar_float_fit_and_gamma_is_not_used() -> None:
    stay, leave = [[1, 0], [1, 0]], [[0, 1], [1, 0]]
    data = Comparisons(policies=[stay, leave], pairs=[(1, 0, ">")])
    result = fit("LAR", E7(), data, gamma=0.9)
    assert not result.exact and result.margin > 0
    assert result.spec.compile(E7()).compare(leave, stay) == 1


def test_lar_certificate_transient_choice_does_not_matter() -> None:
    env = two_step()
    a, b = [[1, 0], [1, 0]], [[0, 1], [1, 0]]
    data = Comparisons(policies=[a, b], pairs=[(0, 1, ">")])
    with pytest.raises(NotExpressibleError) as info:
        fit("LAR", env, data)
    cert = info.value.certificate
    assert cert.formalism == "LAR" and "limit-average" in repr(cert)
    tamper_checks(cert)
    # MR (discounted) explains the same data: the first step counts
    assert fit("MR", env, data, gamma=0.5).consistent


def test_lar_soft_reports_the_violated_comparison() -> None:
    env = two_step()
    a, b = [[1, 0], [1, 0]], [[0, 1], [1, 0]]
    c = [[1, 0], [0, 1]]
    data = Comparisons(policies=[a, b, c], pairs=[(0, 1, ">"), (2, 0, ">")])
    result = fit("LAR", env, data, soft=True)
    assert [str(x) for x in result.violated] == ["0 > 1"]


# ---------------------------------------------------------------------- RRL


@SMALL
@given(st.data())
def test_rrl_fit_explains_data_from_a_random_rrl(data: st.DataObject) -> None:
    env = data.draw(mdps(max_states=3, max_actions=2, exact=True))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    gen = formalism_info("RRL").sampler(env, rng)
    pols = [data.draw(policies(env, exact=True)) for _ in range(4)]
    ev = gen.compile(env, exact=True)
    vals = [ev.exact_value(p) for p in pols]
    assume(min_gap(vals) > 1e-6)
    cmp = Comparisons(policies=pols, pairs=pairs_from_values(vals))
    for kw in ({"alpha": gen.alpha}, {}):
        result = fit("RRL", env, cmp, gamma=gen.gamma, regulariser=gen.regulariser,
                     exact=True, **kw)
        assert result.exact and isinstance(result.spec, RegularisedRL)
        assert result.spec.regulariser is gen.regulariser
        if kw:
            assert result.spec.alpha == gen.alpha and result.details["scale"] > 0
        orders_as_given(result.spec, env, cmp)


def test_rrl_l3_certificate_for_any_regulariser() -> None:
    P = np.zeros((2, 2, 2))
    P[0, :, 1] = P[1, :, 0] = 1.0
    env = FiniteMDP(P, [1.0, 0.0])  # every action has the same successor: lemma L3 applies
    a, b = [1, 0], [0, 1]
    data = Comparisons(policies=[[a, a], [b, a], [b, b], [a, b]],
                       pairs=[(0, 1, ">"), (2, 3, ">")])
    for kw in ({}, {"regulariser": None}, {"regulariser": negative_entropy},
               {"regulariser": negative_entropy, "alpha": 0.5}):
        with pytest.raises(NotExpressibleError) as info:
            fit("RRL", env, data, gamma=0.5, **kw)
        cert = info.value.certificate
        assert "any regulariser" in cert.description
        tamper_checks(cert)


def test_rrl_certificate_with_a_given_rational_regulariser() -> None:
    env = switch()
    stay = [[1, 0], [1, 0]]
    same = Comparisons(policies=[stay, stay], pairs=[(0, 1, ">")])
    with pytest.raises(NotExpressibleError) as info:
        fit("RRL", env, same, gamma=F(1, 2), regulariser=squared_distance_to(), alpha=1,
            exact=True)
    assert "alpha = 1" in info.value.certificate.description
    tamper_checks(info.value.certificate)


def test_rrl_positive_scale_certificate() -> None:
    """One state, self-loops: J = (r . p - alpha F(p)) / (1 - gamma), F the squared
    distance to uniform (1/2 at both vertices, 0 at uniform). ``e_0 = e_1`` forces
    ``r_0 = r_1``, and then ``e_0 > uniform`` needs ``alpha < 0``: with ``alpha = 1`` the
    certificate uses the positivity of the regulariser's scale."""
    env = FiniteMDP(np.ones((1, 2, 1)), [1.0])
    p0, p1, u = [[1, 0]], [[0, 1]], [[F(1, 2), F(1, 2)]]
    data = Comparisons(policies=[p0, p1, u], pairs=[(0, 1, "="), (0, 2, ">")])
    with pytest.raises(NotExpressibleError) as info:
        fit("RRL", env, data, gamma=F(1, 2), regulariser=squared_distance_to(), alpha=1)
    cert = info.value.certificate
    assert cert.feature_map.positive == (2,)
    cert.check()
    assert "positivity" in cert.explanation()
    # with alpha fitted (any sign) the data is explained: alpha < 0 favours the vertices
    result = fit("RRL", env, data, gamma=F(1, 2), regulariser=squared_distance_to(),
                 exact=True)
    assert result.spec.alpha < 0
    orders_as_given(result.spec, env, data)


def test_rrl_entropy_float_fit_and_exact_refused() -> None:
    mixed, pure = [[0.5, 0.5], [1, 0]], [[1, 0], [1, 0]]
    data = Comparisons(policies=[mixed, pure], pairs=[(0, 1, ">")])
    result = fit("RRL", E3(), data, gamma=0.5, regulariser=negative_entropy, alpha=1.0)
    assert result.spec.compile(E3()).compare(mixed, pure) == 1
    with pytest.raises(InvalidSpecificationError, match="irrational"):
        fit("RRL", E3(), data, gamma=0.5, regulariser=negative_entropy, exact=True)


def test_rrl_any_regulariser_without_l3_falls_back_to_the_default() -> None:
    env = switch()  # actions move: L3 does not apply
    stay, go = [[1, 0], [1, 0]], [[0, 1], [0, 1]]
    data = Comparisons(policies=[stay, go], pairs=[(1, 0, ">")])
    result = fit("RRL", env, data, gamma=0.5)
    assert "squared_distance_to" in repr(result.spec.regulariser)
    assert result.spec.compile(env).compare(go, stay) == 1
    same = Comparisons(policies=[stay, stay], pairs=[(0, 1, ">")])
    with pytest.raises(NoFitFoundError, match="not excluded"):
        fit("RRL", env, same, gamma=0.5)


# ---------------------------------------------------------------------- MR: inverse RL


def bellman_ok(env: FiniteMDP, policy: Policy, reward: Any, gamma: Any) -> bool:
    """Exact check: ``Q^pi(s, a) <= V^pi(s)`` for every state and enabled action."""
    g = exact_discount(gamma)
    V = exact_values(env, policy, reward, g)
    tau = env.exact_transitions()
    R = np.asarray(reward, dtype=object)
    for s in range(env.n_states):
        for a in np.flatnonzero(env.enabled[s]):
            q = F(R[s, a]) + g * sum((tau[s, a, t] * V[t] for t in range(env.n_states)), F(0))
            if q > V[s]:
                return False
    return True


@SMALL
@given(st.data())
def test_inverse_rl_makes_a_deterministic_demonstration_optimal(data: st.DataObject) -> None:
    env = data.draw(mdps(max_states=4, max_actions=3, masked=True, exact=True))
    pi = data.draw(policies(env, "deterministic"))
    assume(any(env.enabled[s].sum() > 1 for s in range(env.n_states)))
    result = inverse_rl(env, pi, F(1, 2), exact=True)
    assert result.exact and result.margin > 0
    assert bellman_ok(env, pi, result.spec.reward, F(1, 2))
    # every alternative is strictly worse at some state (the reward is not degenerate)
    assert float(result.details["state_margins"].sum()) > 0


def test_inverse_rl_recovers_the_optimal_policy_of_a_known_reward() -> None:
    rng = np.random.default_rng(3)
    for _ in range(5):
        W = rng.integers(0, 3, size=(4, 2, 4))
        W[W.sum(axis=2) == 0, 0] = 1
        P = np.array([[[F(int(w), int(row.sum())) for w in row] for row in Ws] for Ws in W],
                     dtype=object)
        env = FiniteMDP(P, [1, 0, 0, 0])
        truth = MarkovReward(rng.integers(-2, 3, size=(4, 2)), F(2, 3))
        opt = truth.optimise(env, exact=True).policy
        result = fit("MR", env, Comparisons(policies=[opt], demonstrations=[0]), gamma=F(2, 3),
                     exact=True)
        assert bellman_ok(env, opt, result.spec.reward, F(2, 3))
        best = result.spec.optimise(env, exact=True)
        assert best.value == result.spec.compile(env, exact=True).exact_value(opt)


def test_inverse_rl_stochastic_demo_l1_and_pairs() -> None:
    env = switch()
    demo = [[F(1, 2), F(1, 2)], [0, 1]]
    stay = [[0, 1], [1, 0]]  # moves to state 1 and stays there
    result = fit("MR", env, Comparisons(policies=[demo, stay], demonstrations=[0],
                                        pairs=[(0, 1, ">")]), gamma=0.5, l1=0.1)
    assert result.margin > 0
    r = result.spec.reward
    ev = result.spec.compile(env)
    assert ev.compare(demo, stay) == 1
    # the demonstration's optimality: no deterministic policy is better
    from objspec.mdp.policy import deterministic_policies

    best = max(ev.values(list(deterministic_policies(env))))
    assert ev.values([demo])[0] >= best - 1e-9
    assert np.abs(r).max() <= 1 + 1e-9
    # a mixed state forces its actions to tie: "demo > stay in state 0" is impossible
    with pytest.raises(NoFitFoundError):
        fit("MR", env, Comparisons(policies=[demo, [[1, 0], [1, 0]]], demonstrations=[0],
                                   pairs=[(0, 1, ">")]), gamma=0.5)


def test_inverse_rl_exact_with_a_stochastic_demonstration() -> None:
    env = FiniteMDP(np.array([[[F(1, 3), F(2, 3)], [1, 0]], [[0, 1], [F(1, 2), F(1, 2)]]],
                             dtype=object), [1, 0])
    demo = Policy([[F(1, 2), F(1, 2)], [0, 1]])
    result = inverse_rl(env, demo, F(3, 4), exact=True)
    assert result.exact and result.margin > 0
    assert bellman_ok(env, demo, result.spec.reward, F(3, 4))


def test_inverse_rl_degenerate_and_contradicted_demonstrations() -> None:
    env = switch()
    mix = [[0.5, 0.5], [0.5, 0.5]]
    with pytest.raises(NotExpressibleError, match="degenerate"):
        fit("MR", env, Comparisons(policies=[mix], demonstrations=[0]), gamma=0.5)
    go, stay = [[0, 1], [0, 1]], [[1, 0], [1, 0]]
    # go is claimed optimal but stay strictly better: only ties remain -> no fit
    with pytest.raises(NoFitFoundError, match="degenerate"):
        fit("MR", env, Comparisons(policies=[go, stay], demonstrations=[0],
                                   pairs=[(1, 0, ">")]), gamma=0.5)
    # the comparisons alone are impossible: the exact certificate is raised
    with pytest.raises(NotExpressibleError) as info:
        fit("MR", env, Comparisons(policies=[go, stay, go], demonstrations=[0],
                                   pairs=[(0, 1, ">"), (1, 2, ">")]), gamma=0.5)
    tamper_checks(info.value.certificate)


# ---------------------------------------------------------------------- MR: Bradley-Terry


def test_bradley_terry_recovers_the_ordering_on_clean_data() -> None:
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(8):
        P = rng.integers(0, 3, size=(3, 2, 3)).astype(float)
        P[P.sum(axis=2) == 0, 0] = 1.0
        env = FiniteMDP(P / P.sum(axis=2, keepdims=True), [1.0, 0, 0])
        truth = MarkovReward(rng.uniform(-1, 1, size=(3, 2)), 0.5)
        pols = [Policy(rng.dirichlet(np.ones(2), size=3)) for _ in range(6)]
        vals = truth.compile(env).values(pols)
        order = np.argsort(-vals)
        if np.min(np.abs(np.diff(vals[order]))) < 1e-3:
            continue
        pairs = [(int(order[k]), int(order[k + 1]), ">") for k in range(len(order) - 1)]
        data = Comparisons(policies=pols, pairs=pairs)
        result = fit("MR", env, data, gamma=0.5, method="bradley-terry", l2=1e-6, beta=5)
        assert result.violated == ()
        fitted = result.spec.compile(env).values(pols)
        assert list(np.argsort(-fitted)) == list(order)
        probs = result.details["probabilities"]
        assert np.all(probs > 0.5)
        checked += 1
    assert checked >= 4


def test_bradley_terry_reports_noise_and_accepts_contradictions() -> None:
    env = switch()
    stay, go = [[1, 0], [1, 0]], [[0, 1], [0, 1]]
    pairs = [(1, 0, ">")] * 5 + [(0, 1, ">")]  # one noisy label: a strict cycle
    data = Comparisons(policies=[stay, go], pairs=pairs)
    with pytest.raises(InconsistentComparisonsError):
        fit("MR", env, data, gamma=0.5)
    result = fit("MR", env, data, gamma=0.5, method="bradley-terry")
    assert [c.row for c in result.violated] == [5]
    assert result.spec.compile(env).compare(go, stay) == 1
    assert 0.5 < result.details["probabilities"][0] < 1.0
    tied = fit("MR", env, Comparisons(policies=[stay, go], pairs=[(0, 1, "=")]), gamma=0.5,
               method="bradley-terry")
    assert abs(tied.details["tie_gaps"][0]) < 1e-6


# ---------------------------------------------------------------------- MR: trajectories


def sample_trajectory(env: FiniteMDP, rng: np.random.Generator, steps: int) -> Any:
    s = int(rng.choice(env.n_states, p=env.initial))
    states, actions = [s], []
    for _ in range(steps):
        a = int(rng.choice(np.flatnonzero(env.enabled[s])))
        s = int(rng.choice(env.n_states, p=env.transitions[s, a]))
        actions.append(a)
        states.append(s)
    return states, actions


def trajectory_return(reward: Any, tr: Any, gamma: Any, full: bool = True) -> Any:
    states, actions = tr
    g = exact_discount(gamma)
    R = np.asarray(reward, dtype=object)
    total, w = F(0), F(1)
    for t, a in enumerate(actions):
        x = R[states[t], a, states[t + 1]] if full else R[states[t], a]
        total += w * F(x)
        w *= g
    return total


@SMALL
@given(st.data())
def test_trajectory_fit_orders_trajectories_of_a_random_reward(data: st.DataObject) -> None:
    env = data.draw(mdps(max_states=3, max_actions=2))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    truth = rng.integers(-2, 3, size=(env.n_states, env.n_actions, env.n_states))
    trs = [sample_trajectory(env, rng, int(rng.integers(1, 5))) for _ in range(5)]
    vals = [trajectory_return(truth, tr, F(1, 2)) for tr in trs]
    cmp = Comparisons(trajectories=trs, pairs=pairs_from_values(vals))
    result = fit("MR", env, cmp, gamma=F(1, 2), exact=True)
    assert result.exact and result.spec.reward.shape == (env.n_states, env.n_actions,
                                                          env.n_states)
    fitted = [trajectory_return(result.spec.reward, tr, F(1, 2)) for tr in trs]
    for c in cmp.comparisons:
        if c.relation == ">":
            assert fitted[c.first] > fitted[c.second]
        else:
            assert fitted[c.first] == fitted[c.second]


def test_trajectory_certificate_and_state_action_rewards() -> None:
    env = switch()
    a, b = ([0, 0, 1], [0, 1]), ([0, 1, 1], [1, 0])
    data = Comparisons(trajectories=[a, b, a], pairs=[(0, 1, ">"), (1, 2, ">")])
    with pytest.raises(NotExpressibleError) as info:
        fit("MR", env, data, gamma=0.5)
    tamper_checks(info.value.certificate)
    # without the last state the reward depends on (s, a) only
    short = Comparisons(trajectories=[([0, 0], [0, 1]), ([0, 1], [1, 0])], pairs=[(0, 1, ">")])
    result = fit("MR", env, short, gamma=0.5, exact=True)
    assert result.spec.reward.shape == (2, 2)
    assert trajectory_return(result.spec.reward, ([0, 0], [0, 1]), 0.5, full=False) > \
        trajectory_return(result.spec.reward, ([0, 1], [1, 0]), 0.5, full=False)
    noisy = fit("MR", env, Comparisons(trajectories=[a, b], pairs=[(0, 1, ">")] * 3 +
                                       [(1, 0, ">")]), gamma=0.5, method="bradley-terry")
    assert [c.row for c in noisy.violated] == [3]


def test_trajectory_reward_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import objspec.formalisms._fit_reward_learning as mod

    monkeypatch.setattr(mod, "MAX_DENSE_TRANSITION_REWARD", 4)
    data = Comparisons(trajectories=[([0, 0, 1], [0, 1]), ([0, 1, 1], [1, 0])],
                       pairs=[(0, 1, ">")])
    with pytest.raises(NotTractableError, match="S, A, S"):
        fit("MR", switch(), data, gamma=0.5)


# ---------------------------------------------------------------------- bad input


def test_bad_input_gets_named_errors() -> None:
    env = switch()
    stay, go = [[1, 0], [1, 0]], [[0, 1], [0, 1]]
    data = Comparisons(policies=[stay, go], pairs=[(1, 0, ">")])
    trajs = Comparisons(trajectories=[([0, 0, 1], [0, 1]), ([0, 1, 1], [1, 0])],
                        pairs=[(0, 1, ">")])
    with pytest.raises(InvalidSpecificationError, match="gamma"):
        fit("RRL", env, data, regulariser=negative_entropy)
    with pytest.raises(InvalidSpecificationError, match="outside"):
        fit("RRL", env, data, gamma=1.0)
    with pytest.raises(InvalidSpecificationError, match="outside"):
        fit("MR", env, data, gamma=-0.1, method="bradley-terry")
    with pytest.raises(InvalidSpecificationError, match="trajectories"):
        fit("LAR", env, trajs)
    with pytest.raises(InvalidSpecificationError, match="trajectories"):
        fit("RRL", env, trajs, gamma=0.5)
    with pytest.raises(InvalidPolicyError):
        Comparisons(policies=[[[np.nan, 1.0], [1, 0]], stay], pairs=[(0, 1, ">")])
    with pytest.raises(InvalidSpecificationError, match="alpha"):
        fit("RRL", env, data, gamma=0.5, regulariser=squared_distance_to(), alpha=np.nan)
    with pytest.raises(InvalidSpecificationError, match="alpha"):
        fit("RRL", env, data, gamma=0.5, alpha=1.0)
    with pytest.raises(InvalidSpecificationError, match="regulariser"):
        fit("RRL", env, data, gamma=0.5, regulariser="entropy")
    with pytest.raises(InvalidSpecificationError, match="method"):
        fit("MR", env, data, gamma=0.5, method="svm")
    with pytest.raises(InvalidSpecificationError, match="bradley-terry"):
        fit("MR", env, data, gamma=0.5, method="bradley-terry", exact=True)
    with pytest.raises(InvalidSpecificationError, match="beta"):
        fit("MR", env, data, gamma=0.5, method="bradley-terry", beta=0)
    with pytest.raises(InvalidSpecificationError, match="l2"):
        fit("MR", env, data, gamma=0.5, method="bradley-terry", l2=float("nan"))
    demo = Comparisons(policies=[stay, go], demonstrations=[0])
    with pytest.raises(InvalidSpecificationError, match="demonstrations"):
        fit("LAR", env, demo)
    with pytest.raises(InvalidSpecificationError, match="demonstrations"):
        fit("RRL", env, demo, gamma=0.5, regulariser=squared_distance_to())
    with pytest.raises(InvalidSpecificationError, match="l1"):
        fit("MR", env, demo, gamma=0.5, l1=-1)
    with pytest.raises(InvalidSpecificationError, match="soft"):
        fit("MR", env, demo, gamma=0.5, soft=True)
    with pytest.raises(InvalidSpecificationError, match="unknown keyword"):
        fit("MR", env, data, gamma=0.5, l1=0.5)  # l1 is read only with demonstrations
    with pytest.raises(InvalidSpecificationError, match="unknown keyword"):
        fit("LAR", env, data, alpha=1)
