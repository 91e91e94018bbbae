"""Optimisation under LTL, RM, FTR, FTLR, TLO, FPR and PO (issue 13): finite-memory optima
(LTL ``Pmax`` cross-checked against Storm), stationary searches certified by the
finite-memory bound, the example where the stationary optimum is strictly below ``Pmax``,
and the local searches of the trajectory- and policy-level formalisms."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from objspec import FiniteMDP, Policy
from objspec.environments.generators import random_mdp
from objspec.environments.strategies import (
    labelled_mdps,
    lottery_functions,
    lottery_orderings,
    ltl_specs,
    policy_functions,
    policy_orderings,
    reward_machines,
    trajectory_functions,
)
from objspec.errors import InvalidPolicyError, InvalidSpecificationError
from objspec.formalisms import (
    LinearTemporalLogic,
    PolicyFunction,
    PolicyOrdering,
    RewardMachine,
    TrajectoryFunction,
    TrajectoryLotteryFunction,
    TrajectoryLotteryOrdering,
)
from objspec.formalisms.optimisation import deterministic_count
from objspec.ltl.optimise import FiniteMemoryPolicy, certified_maximal_satisfaction
from objspec.ltl.parser import parse_formula
from objspec.ltl.syntax import Not
from objspec.ltl.translation import translate
from objspec.mdp.policy import deterministic_policies
from objspec.mdp.strategies import mdps

SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def memory_example() -> FiniteMDP:
    """``F a & F b`` needs memory: state 0 chooses between ``A`` (labelled ``a``, action 0)
    and ``B`` (labelled ``b``, action 1); from ``A`` and ``B`` the run returns to state 0
    with probability 1/2 and falls into the sink 3 otherwise."""
    P = np.zeros((4, 2, 4))
    P[0, 0, 1] = 1
    P[0, 1, 2] = 1
    P[1, :, 0] = P[1, :, 3] = 0.5
    P[2, :, 0] = P[2, :, 3] = 0.5
    P[3, :, 3] = 1
    return FiniteMDP(P, [1, 0, 0, 0], labels={1: ["a"], 2: ["b"]})


def _stationary(p: Any) -> Policy:
    """Action 0 with probability ``p`` in state 0 (the other states do not matter)."""
    q = 1 - p
    return Policy(np.array([[p, q], [1, 0], [1, 0], [1, 0]], dtype=object)
                  if isinstance(p, Fraction) else [[p, q], [1, 0], [1, 0], [1, 0]])


def test_stationary_optimum_strictly_below_pmax() -> None:
    env = memory_example()
    spec = LinearTemporalLogic("F a & F b")
    memory = spec.optimise(env, policies="finite-memory", exact=True)
    assert memory.guarantee == "exact" and memory.value == Fraction(1, 2)
    assert isinstance(memory.policy, FiniteMemoryPolicy)
    ev = spec.compile(env, exact=True)
    # deterministic stationary policies never see both a and b; mixing does, but a
    # stationary policy cannot first visit A and then B: J(p) = 3p(1-p) / ((2-p)(1+p))
    assert all(ev.exact_value(pi) == 0 for pi in deterministic_policies(env))
    assert ev.exact_value(_stationary(Fraction(1, 2))) == Fraction(1, 3)
    grid = ev.values([_stationary(p) for p in np.linspace(0, 1, 201)]) \
        if not ev.exact else np.array([float(ev.exact_value(_stationary(Fraction(i, 200))))
                                       for i in range(201)])
    assert grid.max() <= 1 / 3 + 1e-12
    found = spec.optimise(env, seed=0)
    assert found.guarantee == "local" and found.test
    assert 1 / 3 - 0.01 <= float(found.value) <= 1 / 3 + 1e-12 < 0.5
    assert "bounds the stationary optimum" in found.evidence


def test_finite_memory_policies_are_evaluated_and_checked() -> None:
    env = memory_example()
    spec = LinearTemporalLogic("F a & F b")
    best = spec.optimise(env, policies="finite-memory")
    ev = spec.compile(env, exact=False)
    assert abs(ev.value(best.policy) - 0.5) <= 1e-12
    assert ev.values([best.policy, best.policy]).tolist() == [ev.value(best.policy)] * 2
    assert spec.compile(env, exact=True).exact_value(best.policy) == Fraction(1, 2)
    other = FiniteMemoryPolicy(translate("F a"), np.full((4, 3, 2), 0.5))
    with pytest.raises(InvalidPolicyError, match="another automaton"):
        ev.value(other)
    bad = FiniteMemoryPolicy(best.policy.automaton, best.policy.action_probabilities[:, :, :1])
    with pytest.raises(InvalidPolicyError, match="shaped"):
        ev.value(bad)
    table = best.policy.action_probabilities.copy()
    table[0, 0] = [0.7, 0.7]
    with pytest.raises(InvalidPolicyError, match="sums"):
        ev.value(FiniteMemoryPolicy(best.policy.automaton, table))


def test_certified_maximal_satisfaction_on_the_example() -> None:
    c = certified_maximal_satisfaction(memory_example(), "F a & F b", exact=True)
    assert c.exact_probability == Fraction(1, 2)
    assert 0 <= c.bound <= 1e-10 and c.upper_bound >= 0.5


@st.composite
def ltl_problems(draw: st.DrawFn, max_states: int = 3) -> tuple[FiniteMDP, Any]:
    env = draw(labelled_mdps(("a", "b"), transition_labels=draw(st.booleans()),
                             max_states=max_states, max_actions=2))
    return env, draw(ltl_specs(env, max_leaves=4))


def _random_policies(env: FiniteMDP, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = rng.exponential(size=(n, env.n_states, env.n_actions)) * env.enabled
    return w / w.sum(axis=2, keepdims=True)


def _check_dominates(spec: Any, env: FiniteMDP, found: Any) -> None:
    """The optimum is at least every deterministic policy; with an exact or certified
    guarantee also at least every policy of a random stochastic sample (within bound)."""
    ev = spec.compile(env, exact=False)
    value = float(found.value) if found.value is not None else None
    det = ev.values(list(deterministic_policies(env)))
    tol = ev.tie_tolerance + (float(found.bound) if found.bound is not None else 0.0)
    assert value is not None and value >= det.max() - tol
    if found.guarantee in ("exact", "certified"):
        assert value >= ev.values(_random_policies(env, 20, 1)).max() - tol


@SETTINGS
@given(ltl_problems())
def test_ltl_optima_dominate(problem: tuple[FiniteMDP, Any]) -> None:
    env, spec = problem
    stationary = spec.optimise(env, seed=0)
    memory = spec.optimise(env, policies="finite-memory")
    assert memory.guarantee in ("exact", "certified") and memory.policies == "finite-memory"
    _check_dominates(spec, env, stationary)
    _check_dominates(spec, env, memory)
    # finite memory is at least as good as any stationary policy
    assert memory.value >= stationary.value - 1e-9 - memory.bound
    if stationary.guarantee in ("exact", "certified"):
        assert abs(memory.value - stationary.value) <= 1e-6


@st.composite
def p_labelled(draw: st.DrawFn) -> FiniteMDP:
    base = draw(mdps(max_states=4, max_actions=3, masked=draw(st.booleans()), exact=True))
    marked = draw(st.sets(st.integers(0, base.n_states - 1)))
    transitions = base.exact_transitions() if base.is_exact else base.transitions
    initial = base.exact_initial() if base.is_exact else base.initial
    return FiniteMDP(transitions, initial, labels={s: ["p"] for s in marked},
                     propositions=["p"], enabled=base.enabled)


@SETTINGS
@given(p_labelled(), st.sampled_from(["F p", "G p", "G F p", "F G p"]), st.booleans())
def test_reachability_and_safety_are_certified_by_stationary_policies(
        env: FiniteMDP, formula: str, exact: bool) -> None:
    """For reachability, safety, Buchi and co-Buchi conditions on state labels a
    deterministic stationary policy attains Pmax: the stationary search closes the gap
    (by enumeration on these small environments)."""
    found = LinearTemporalLogic(formula).optimise(env, exact=exact)
    assert found.guarantee == ("exact" if exact else "certified"), found
    if exact:
        pmax = LinearTemporalLogic(formula).optimise(env, policies="finite-memory",
                                                     exact=True)
        assert found.value == pmax.value


def test_large_reachability_is_certified_by_projection() -> None:
    """Too many deterministic policies to enumerate: the projection of the Pmax policy
    still certifies ``F goal``."""
    env = random_mdp(40, 3, 3, seed=5)
    labels = {s: ["goal"] for s in (7, 21)}
    env = FiniteMDP(env.transitions, env.initial, labels=labels)
    assert deterministic_count(env) > 10 ** 6
    found = LinearTemporalLogic("F goal").optimise(env)
    assert found.guarantee == "certified" and found.bound <= 1e-6


@st.composite
def rm_problems(draw: st.DrawFn, exact: bool = False) -> tuple[FiniteMDP, Any]:
    env = draw(labelled_mdps(("a", "b"), transition_labels=draw(st.booleans()),
                             max_states=3, max_actions=2, exact=exact))
    return env, draw(reward_machines(env, max_machine_states=3))


@SETTINGS
@given(rm_problems())
def test_reward_machine_optima_dominate(problem: tuple[FiniteMDP, Any]) -> None:
    env, spec = problem
    stationary = spec.optimise(env, seed=0)
    memory = spec.optimise(env, policies="finite-memory")
    assert memory.guarantee == "certified" and isinstance(memory.policy, FiniteMemoryPolicy)
    _check_dominates(spec, env, stationary)
    _check_dominates(spec, env, memory)
    assert memory.value >= stationary.value - 1e-9 - memory.bound


@settings(max_examples=8, deadline=None)
@given(rm_problems(exact=True))
def test_reward_machine_exact_optimum(problem: tuple[FiniteMDP, Any]) -> None:
    env, spec = problem
    memory = spec.optimise(env, policies="finite-memory", exact=True)
    approx = spec.optimise(env, policies="finite-memory")
    assert memory.guarantee == "exact" and isinstance(memory.value, Fraction)
    assert abs(float(memory.value) - approx.value) <= approx.bound + 1e-9


def test_reward_machine_needs_memory() -> None:
    """A machine paying for ``a`` then ``b``: the product optimum uses the machine state;
    the stationary search reports the gap."""
    env = memory_example()
    rm = RewardMachine([(0, 1, "a", 0), (0, 0, "!a", 0), (1, 2, "b", 1), (1, 1, "!b", 0),
                        (2, 2, "true", 0)], 0, Fraction(9, 10))
    memory = rm.optimise(env, policies="finite-memory", exact=True)
    stationary = rm.optimise(env, exact=True, seed=0)
    assert memory.guarantee == "exact"
    assert stationary.value < memory.value
    assert stationary.guarantee in ("local", "heuristic")


# ---------------------------------------------------------------- Storm


def test_pmax_agrees_with_storm() -> None:
    pytest.importorskip("stormpy")
    from ltl_reference import storm_maximal_probability

    rng = np.random.default_rng(3)
    formulas = ["F a & F b", "G F a", "F G !b", "a U b", "G (a -> X b)", "F (a & X X b)",
                "G F a & G F b"]
    for i in range(12):
        base = random_mdp(6, 2, 3, seed=i)
        labels = {s: [p for p in ("a", "b") if rng.random() < 0.4] for s in range(6)}
        env = FiniteMDP(base.transitions, base.initial, labels=labels,
                        propositions=["a", "b"])
        f = formulas[i % len(formulas)]
        found = LinearTemporalLogic(f).optimise(env, policies="finite-memory")
        storm = storm_maximal_probability(env, parse_formula(f))
        assert abs(found.value - storm) <= 1e-8, f
        assert found.bound <= 1e-8


# ---------------------------------------------------------------- other formalisms


def _small_env(draw: st.DrawFn) -> FiniteMDP:
    return draw(labelled_mdps(("a",), max_states=3, max_actions=2))


@st.composite
def other_problems(draw: st.DrawFn) -> tuple[FiniteMDP, Any]:
    env = _small_env(draw)
    kind = draw(st.sampled_from(["FTR", "FTLR", "TLO", "FPR", "PO"]))
    strategy = {"FTR": lambda e: trajectory_functions(e, max_horizon=2),
                "FTLR": lottery_functions, "TLO": lottery_orderings,
                "FPR": policy_functions, "PO": policy_orderings}[kind]
    return env, draw(strategy(env))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(other_problems())
def test_local_searches_beat_every_deterministic_policy(problem: tuple[FiniteMDP, Any]
                                                        ) -> None:
    env, spec = problem
    found = spec.optimise(env, seed=1)
    assert found.guarantee in ("local", "heuristic")
    assert "coordinate ascent" in found.method
    ev = spec.compile(env)
    batch = list(deterministic_policies(env))
    if hasattr(ev, "valuation"):
        assert float(found.value) >= ev.values(batch).max() - ev.tie_tolerance
    else:  # an ordering: no deterministic policy is strictly better
        assert all(ev.compare(pi, found.policy) <= 0 for pi in batch)


@pytest.mark.parametrize("spec", [
    TrajectoryFunction(lambda s, a: float(len(s)), horizon=2),
    TrajectoryLotteryFunction(lambda lottery: 0.0),
    TrajectoryLotteryOrdering(lambda p, q: 0),
    PolicyFunction(lambda pi: 0.0),
    PolicyOrdering(lambda p, q: 0),
])
def test_finite_memory_has_no_meaning_here(spec: Any) -> None:
    env = random_mdp(2, 2, 2, seed=0)
    with pytest.raises(InvalidSpecificationError, match="finite-memory"):
        spec.optimise(env, policies="finite-memory")


def test_monte_carlo_search_is_deterministic() -> None:
    """Common random numbers: the estimate is a function of the policy, so two searches
    with the same seed agree exactly."""
    env = random_mdp(3, 2, 3, seed=2)
    r = np.random.default_rng(0).normal(size=3)
    spec = TrajectoryFunction(lambda s, a: float(r[s].sum()), horizon=4,
                              method="monte carlo", n_samples=200, seed=7)
    first, second = spec.optimise(env, seed=3), spec.optimise(env, seed=3)
    assert "monte carlo" in first.method and "common random numbers" in first.method
    assert first.policy == second.policy and first.value == second.value


def _lp_pmax(rows: Any, enabled: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``Pmax(F target)`` by the textbook linear program (Baier & Katoen 2008, 10.6.1):
    minimise ``sum x`` subject to ``x >= P_a x`` off the target, ``x = 1`` on it, ``x = 0``
    where the target is unreachable."""
    import scipy.sparse as sp
    from scipy.optimize import linprog

    from objspec.mdp.graph import adjacency, reachable

    K, A = enabled.shape
    coo = sp.coo_matrix(rows)
    can = reachable(adjacency(K, coo.row // A, coo.col), np.flatnonzero(target),
                    backward=True)
    pairs = [(k, a) for k in range(K) for a in range(A)
             if enabled[k, a] and can[k] and not target[k]]
    dense = rows.toarray()
    a_ub = np.zeros((len(pairs), K))
    for i, (k, a) in enumerate(pairs):
        a_ub[i] = dense[k * A + a]
        a_ub[i, k] -= 1.0
    bounds = [(1.0, 1.0) if target[k] else (0.0, 1.0) if can[k] else (0.0, 0.0)
              for k in range(K)]
    res = linprog(np.ones(K), A_ub=a_ub if pairs else None,
                  b_ub=np.zeros(len(pairs)) if pairs else None, bounds=bounds,
                  method="highs")
    assert res.status == 0
    return np.asarray(res.x)


@pytest.mark.parametrize("solver", ["dense", "sparse LU", "BiCGSTAB"])
@pytest.mark.parametrize("seed", range(12))
def test_max_reachability_agrees_with_the_linear_program(
    seed: int, solver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quotient policy iteration (dense, sparse LU or BiCGSTAB solves) gives the LP's
    Pmax, its policy attains it, and its upper bound is a proven pre-fixed point above it."""
    import scipy.sparse as sp

    import objspec.mdp.reachability as module

    if solver != "dense":
        monkeypatch.setattr(module, "DENSE_MAX_NODES", 0)
    if solver == "BiCGSTAB":
        monkeypatch.setattr(module, "ITERATIVE_MIN_UNKNOWNS", 0)
        monkeypatch.setattr(module, "DIRECT_MAX_ENVELOPE", -1)
    rng = np.random.default_rng(seed)
    K, A = int(rng.integers(3, 30)), int(rng.integers(1, 4))
    dense = np.zeros((K * A, K))
    for r in range(K * A):
        succ = rng.choice(K, size=int(rng.integers(1, 4)), replace=False)
        dense[r, succ] = rng.dirichlet(np.ones(succ.size))
    for k in rng.choice(K, size=max(1, K // 5), replace=False):  # absorbing states
        dense[k * A:(k + 1) * A] = 0.0
        dense[k * A:(k + 1) * A, k] = 1.0
    enabled = rng.random((K, A)) < 0.8
    enabled[np.arange(K), rng.integers(0, A, size=K)] = True
    dense[~enabled.reshape(-1)] = 0.0
    target = rng.random(K) < 0.2
    rows = sp.csr_matrix(dense)
    solved = module.max_reachability(rows, enabled, target)
    want = _lp_pmax(rows, enabled, target)
    np.testing.assert_allclose(solved.values, want, atol=1e-7)
    assert enabled[np.arange(K), solved.choice].all()
    # the policy's own reachability probabilities (a dense solve) are the values
    chain = dense[np.arange(K) * A + solved.choice]
    chain[target] = 0.0
    # every state of positive value, including those decided as Pmax = 1 by the graph
    # algorithm (solved.maybe excludes them), must get it from the policy
    m = np.flatnonzero((solved.values > 0) & ~target)
    own = target.astype(float)
    if m.size:
        own[m] = np.linalg.solve(np.eye(m.size) - chain[np.ix_(m, m)],
                                 chain[np.ix_(m, np.flatnonzero(target))].sum(axis=1))
    np.testing.assert_allclose(solved.values, own, atol=1e-10)
    upper, _ = solved.upper_bound(lambda x: float((x - solved.values).max(initial=0.0)), 0.0,
                                  1e-10, 100_000)
    # above Pmax (the LP's, to its precision) and above the policy's exact values (a dense
    # solve; the BiCGSTAB values themselves are only within the solver's tolerance, 4e-12
    # above them for seed 0 with this machine's scipy)
    assert (upper >= want - 1e-9).all() and (upper >= own - 1e-12).all()
    assert (upper - solved.values).max(initial=0.0) <= 1e-9


def test_ascent_is_skipped_beyond_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    import objspec.formalisms.temporal_logic as module

    monkeypatch.setattr(module, "ASCENT_BUDGET", 1)
    found = LinearTemporalLogic("F a & F b").optimise(memory_example())
    assert found.guarantee == "heuristic" and "skipped" in found.evidence
    # the best candidate (the average of the Pmax policy over its memory states mixes A
    # and B), not improved by an ascent: at most the stationary optimum 1/3 (which the
    # average reaches when the Pmax policy's memory states split A and B evenly)
    assert 0 < float(found.value) <= 1 / 3 + 1e-12


def test_reward_machine_minimisation_is_the_least_value() -> None:
    """``minimise`` gives the least expected machine reward over (finite-memory) policies:
    below every deterministic stationary policy, attained by its own greedy policy, and the
    negation of the maximum of the negated machine."""
    from objspec.environments.generators import random_labelled_mdp
    from objspec.formalisms import RewardMachine
    from objspec.mdp.policy import deterministic_policies

    env = random_labelled_mdp(3, 2, ("a",), 2, seed=1)
    edges = [(0, 1, "a", 1.0), (0, 0, "!a", -0.5), (1, 1, "true", 2.0)]
    ev = RewardMachine(edges, 0, 0.8).compile(env)
    low = ev.minimise()
    assert all(ev.value(p) >= low.value - 1e-8 for p in deterministic_policies(env))
    assert abs(low.policy_value - low.value) <= low.error_bound + 1e-9
    negated = RewardMachine([(u, v, g, -r) for u, v, g, r in edges], 0, 0.8).compile(env)
    assert low.value == pytest.approx(-negated.optimise().value, abs=1e-8)


#: formulas the fast path of maximal_satisfaction solves without an automaton
FAST_FORMULAS = ["F a", "!F a", "G a", "!G (a | b)", "a U b", "(a & !b) U (b | !a)", "X a",
                 "X X X !a", "!X X (a -> b)", "a", "!(a xor b)", "true", "F false",
                 "G !(a <-> b)"]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("text", FAST_FORMULAS)
def test_fast_paths_agree_with_the_product_method(text: str, seed: int) -> None:
    """``F``, ``U``, ``G`` and ``X^n`` over propositional formulas skip the automaton: the
    values agree with the product method's, the (lazily built) policy attains them, and
    Pmin agrees too."""
    import objspec.ltl.optimise as module
    from objspec.environments.generators import random_labelled_mdp

    env = random_labelled_mdp(9, 2, ("a", "b"), 3, seed=seed)
    formula = parse_formula(text)
    fast = module.maximal_satisfaction(env, text)
    assert isinstance(fast, module._FastMaximalSatisfaction)
    general = module.maximal_satisfaction(env, translate(formula, sorted(formula.atoms())))
    np.testing.assert_allclose(fast.state_values, general.state_values, rtol=0, atol=1e-10)
    assert fast.probability == pytest.approx(general.probability, abs=1e-10)
    spec = LinearTemporalLogic(text)
    assert spec.compile(env, exact=False).value(fast.policy) == pytest.approx(
        fast.probability, abs=1e-9)
    low = module.minimal_satisfaction(env, text)
    worst = module.maximal_satisfaction(env, translate(Not(formula), sorted(formula.atoms())))
    np.testing.assert_allclose(low.state_values, 1.0 - worst.state_values, rtol=0, atol=1e-10)
    assert LinearTemporalLogic(low.negation).compile(env, exact=False).value(
        low.policy) == pytest.approx(1.0 - low.probability, abs=1e-9)


def test_formulas_outside_the_fast_paths_use_the_automaton() -> None:
    import objspec.ltl.optimise as module
    from objspec.environments.generators import random_labelled_mdp

    env = random_labelled_mdp(5, 2, ("a", "b"), 2, seed=0)
    for text in ("F G F a", "G F a & b", "F (a & X b)", "a U (b U a)", "X F a"):
        assert not isinstance(module.maximal_satisfaction(env, text),
                              module._FastMaximalSatisfaction)
    # Boolean combinations of G F / F G have their own automaton-free path
    # (objspec.ltl.prefix_independent)
    for text in ("F G a", "G F a", "G F a -> G F b"):
        assert isinstance(module.maximal_satisfaction(env, text),
                          module._FastMaximalSatisfaction)
