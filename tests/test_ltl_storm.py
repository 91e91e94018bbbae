"""Satisfaction probabilities and Pmax cross-checked against Storm (stormpy 2.0.0).

Storm is run with Gauss-Seidel / policy iteration at an absolute precision of 1e-14 (its
defaults stop near 1e-6), so its values are accurate to about 1e-13. objspec must agree to
1e-8 on random formulas (depth up to 4, every operator), random labelled MDPs (state and
transition labels) and random policies, and on the Dwyer et al. specification patterns with
all five scopes.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from ltl_reference import (
    chain_probability,
    storm_chain,
    storm_maximal_probability,
    storm_probabilities,
    storm_probability,
    with_time_limit,
)
from ltl_strategies import formulas

from objspec import FiniteMDP, Policy
from objspec.environments.generators import random_labelled_mdp, random_policies
from objspec.environments.strategies import labelled_mdps, policies
from objspec.errors import InvalidSpecificationError
from objspec.formalisms.temporal_logic import LTL, LinearTemporalLogic
from objspec.ltl import syntax as s
from objspec.ltl.hoa import from_hoa, to_hoa
from objspec.ltl.optimise import finite_memory_policy_probability, maximal_satisfaction
from objspec.ltl.parser import parse_formula
from objspec.ltl.product import (
    exact_satisfaction_probabilities,
    satisfaction_probabilities,
)
from objspec.ltl.simplify import simplify
from objspec.ltl.translation import translate

pytest.importorskip("stormpy")

TOL = 1e-8
ATOMS = ("a", "b", "c")


#: Formulas with more operators than this are checked by Storm in a separate process with a
#: time limit: Storm (via Spot) sometimes needs minutes and many GB for one of them.
ISOLATE_ABOVE = 6
STORM_SECONDS = 8.0


def _oracle(fn, *args):  # type: ignore[no-untyped-def]
    """Storm's value; Storm 2.0.0 crashes on a few formulas ("Invalid item count of state
    labeling"): then the simplified (equivalent) formula is tried, else the example is
    skipped, as it is when Storm runs out of time."""
    *head, f = args
    for candidate in (f, simplify(f)):
        try:
            if candidate.size() > ISOLATE_ABOVE:
                return with_time_limit(STORM_SECONDS, fn, *head, candidate)
            return fn(*head, candidate)
        except RuntimeError as exc:
            if "item count" not in str(exc):
                raise
        except TimeoutError:
            continue
    reject()
    raise AssertionError("unreachable")


def _storm(env: FiniteMDP, batch: list[Policy], f: s.Formula) -> list[float]:
    return _oracle(storm_probabilities, env, [p.probabilities for p in batch], f)


def _storm_max(env: FiniteMDP, f: s.Formula) -> float:
    return _oracle(storm_maximal_probability, env, f)


@st.composite
def problems(draw: st.DrawFn, depth: int = 4) -> tuple[s.Formula, FiniteMDP, list[Policy]]:
    env = draw(labelled_mdps(ATOMS, transition_labels=draw(st.booleans()), max_states=4))
    f = draw(formulas(depth, env.propositions))
    batch = draw(st.lists(policies(env), min_size=1, max_size=3))
    return f, env, batch


@settings(max_examples=40)
@given(problems())
def test_satisfaction_probabilities_agree_with_storm(problem: tuple) -> None:
    f, env, batch = problem
    ours = LTL(f).compile(env, exact=False).values(batch)
    theirs = np.asarray(_storm(env, batch, f))
    for value, storm, pi in zip(ours, theirs, batch, strict=True):
        if abs(value - storm) > TOL:  # Storm is not trusted alone: the oracle decides
            P, labels, mu0 = storm_chain(env, pi.probabilities)
            truth = float(chain_probability(f, P.tolist(), labels, mu0.tolist()))
            assert abs(value - truth) <= TOL, (str(f), value, storm, truth)


@settings(max_examples=25)
@given(problems(depth=3))
def test_maximal_satisfaction_agrees_with_storm(problem: tuple) -> None:
    f, env, _ = problem
    result = maximal_satisfaction(env, f)
    assert abs(result.probability - _storm_max(env, f)) <= TOL, str(f)
    # the returned finite-memory policy attains the optimum; the LP agrees to its tolerance
    assert abs(finite_memory_policy_probability(env, result.policy) - result.probability) <= TOL
    assert abs(result.lp_probability - result.probability) <= 1e-6
    assert np.allclose(result.policy.action_probabilities.sum(axis=-1), 1.0)


DWYER = {
    "absence": {
        "globally": "G !p",
        "before R": "F r -> (!p U r)",
        "after Q": "G (q -> G !p)",
        "between Q and R": "G ((q & !r & F r) -> (!p U r))",
        "after Q until R": "G (q & !r -> (!p W r))",
    },
    "existence": {
        "globally": "F p",
        "before R": "!r W (p & !r)",
        "after Q": "G !q | F (q & F p)",
        "between Q and R": "G (q & !r -> (!r W (p & !r)))",
        "after Q until R": "G (q & !r -> (!r U (p & !r)))",
    },
    "universality": {
        "globally": "G p",
        "before R": "F r -> (p U r)",
        "after Q": "G (q -> G p)",
        "between Q and R": "G ((q & !r & F r) -> (p U r))",
        "after Q until R": "G (q & !r -> (p W r))",
    },
    "precedence": {
        "globally": "!p W s",
        "before R": "F r -> (!p U (s | r))",
        "after Q": "G !q | F (q & (!p W s))",
        "between Q and R": "G ((q & !r & F r) -> (!p U (s | r)))",
        "after Q until R": "G (q & !r -> (!p W (s | r)))",
    },
    "response": {
        "globally": "G (p -> F s)",
        "before R": "F r -> (p -> (!r U (s & !r))) U r",
        "after Q": "G (q -> G (p -> F s))",
        "between Q and R": "G ((q & !r & F r) -> (p -> (!r U (s & !r))) U r)",
        "after Q until R": "G (q & !r -> ((p -> (!r U (s & !r))) W r))",
    },
}
PATTERNS = [(name, scope, text) for name, scopes in DWYER.items() for scope, text in scopes.items()]
DWYER_ENVS = [
    random_labelled_mdp(6, 2, ("p", "q", "r", "s"), 3, density=0.35, seed=seed)
    for seed in (11, 12)
]


@pytest.mark.parametrize(("pattern", "scope", "text"), PATTERNS)
def test_dwyer_patterns_agree_with_storm(pattern: str, scope: str, text: str) -> None:
    f = parse_formula(text)
    for env in DWYER_ENVS:
        batch = random_policies(env, 3, seed=5, deterministic_fraction=0.34)
        ours = satisfaction_probabilities(env, translate(f, sorted(f.atoms())), batch)
        for pi, value in zip(batch, ours, strict=True):
            assert abs(value - storm_probability(env, pi, f)) <= TOL, (pattern, scope)
        assert abs(maximal_satisfaction(env, f).probability
                   - storm_maximal_probability(env, f)) <= TOL, (pattern, scope)


@settings(max_examples=20)
@given(problems(depth=3))
def test_hoa_round_trip_preserves_probabilities(problem: tuple) -> None:
    f, env, batch = problem
    direct = LTL(f).compile(env, exact=False)
    via_hoa = LTL(from_hoa(to_hoa(translate(f, env.propositions)))).compile(env, exact=False)
    assert np.allclose(direct.values(batch), via_hoa.values(batch), atol=1e-12, rtol=0)


@settings(max_examples=20)
@given(st.data())
def test_exact_mode_matches_float_mode(data: st.DataObject) -> None:
    env = data.draw(labelled_mdps(ATOMS, exact=True, max_states=4,
                                  transition_labels=data.draw(st.booleans())))
    f = data.draw(formulas(3, env.propositions))
    pi = data.draw(policies(env, exact=True))
    aut = translate(f, sorted(f.atoms()))
    (exact,) = exact_satisfaction_probabilities(env, aut, pi)
    assert isinstance(exact, Fraction) and 0 <= exact <= 1
    assert abs(float(exact) - satisfaction_probabilities(env, aut, pi)[0]) <= 1e-12
    ev = LTL(f).compile(env)  # rational environment: exact comparisons by default
    assert ev.exact and ev.exact_value(pi) == exact


def test_label_semantics_state_versus_transition() -> None:
    # One state, two actions: action 0 is labelled "a" on the transition, action 1 is not.
    P = np.ones((1, 2, 1))
    trans = FiniteMDP(P, [1.0], labels=lambda s_, a, t: ["a"] if a == 0 else [])
    ev = LTL("G F a & F G !a").compile(trans)
    assert ev.values([Policy([[1.0, 0.0]]), Policy([[0.5, 0.5]])]).tolist() == [0.0, 0.0]
    ev = LTL("G F a").compile(trans)
    assert ev.values([Policy([[1.0, 0.0]]), Policy([[0.0, 1.0]]),
                      Policy([[0.5, 0.5]])]).tolist() == [1.0, 0.0, 1.0]
    # State labels: the word starts with L(s0), as in Storm.
    P2 = np.zeros((2, 1, 2))
    P2[0, 0, 1] = P2[1, 0, 1] = 1.0
    states = FiniteMDP(P2, [1.0, 0.0], labels={0: ["a"]})
    assert LTL("a & X !a").compile(states).values(Policy.uniform(2, 1)).tolist() == [1.0]


def test_formalism_class_contract() -> None:
    env = random_labelled_mdp(5, 2, ("a", "b"), 2, seed=3)
    batch = random_policies(env, 8, seed=4, deterministic_fraction=0.5)
    ev = LinearTemporalLogic("G F a | F G b").compile(env)
    vals = ev.values(batch)
    assert vals.shape == (8,) and np.all((vals >= 0) & (vals <= 1))
    ranks = ev.rank(batch)
    assert ranks[np.argmax(vals)] == 0
    i, j = int(np.argmax(vals)), int(np.argmin(vals))
    assert ev.compare(batch[i], batch[j]) == (1 if vals[i] - vals[j] > 1e-9 else 0)
    assert ev.value(batch[0]) == pytest.approx(vals[0], abs=1e-15)
    assert LTL is LinearTemporalLogic
    with pytest.raises(InvalidSpecificationError, match="'zz'"):
        LTL("F zz").compile(env)
    with pytest.raises(InvalidSpecificationError, match="position 3"):
        LTL("F (")
    assert LTL("G F a")._repr_svg_().startswith("<svg")
    hoa_spec = LTL(from_hoa(to_hoa(translate("G F a | F G b"))))
    assert np.allclose(hoa_spec.compile(env).values(batch), vals, atol=1e-12, rtol=0)
    with pytest.raises(InvalidSpecificationError, match="'zz'"):
        LTL(translate("F zz")).compile(env)


@pytest.mark.parametrize("sparse_policy_actions", [0.0, 1e9])
@settings(max_examples=15)
@given(problem=problems())
def test_iterative_solvers_agree_with_storm(problem: tuple, sparse_policy_actions: float) -> None:
    """Large products use a batched BiCGSTAB (two operator forms); force them on small ones."""
    import objspec.ltl.product as product

    f, env, batch = problem
    saved = product.DIRECT_MAX_UNKNOWNS, product.SPARSE_POLICY_ACTIONS
    product.DIRECT_MAX_UNKNOWNS, product.SPARSE_POLICY_ACTIONS = 0, sparse_policy_actions
    try:
        ours = LTL(f).compile(env, exact=False).values(batch)
    finally:
        product.DIRECT_MAX_UNKNOWNS, product.SPARSE_POLICY_ACTIONS = saved
    assert np.abs(ours - _storm(env, batch, f)).max() <= TOL, str(f)


def test_chunks_and_threads_do_not_change_the_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch is cut into chunks solved by worker threads: the number of workers does not
    change a bit of the values, the chunking changes them by rounding at most, and they
    equal Storm's; bad ``workers`` are refused."""
    import objspec.ltl.product as product
    import objspec.mdp.chunks as chunks
    from objspec.errors import ObjspecError

    env = random_labelled_mdp(60, 3, ATOMS, 3, density=0.3, seed=11)
    f = parse_formula("G (a -> F b) & F G !c")
    aut = translate(f)
    mixed = random_policies(env, 12, seed=12, deterministic_fraction=0.5)
    deterministic = random_policies(env, 12, seed=13, deterministic_fraction=1.0)
    values = []
    for direct in (1500, 0):  # sparse LU, then the iterative solvers
        monkeypatch.setattr(product, "DIRECT_MAX_UNKNOWNS", direct)
        for batch in (mixed, deterministic):
            monkeypatch.setattr(chunks, "CHUNK_ENTRIES", 1_500_000)  # one chunk
            whole = satisfaction_probabilities(env, aut, batch, workers=1)
            monkeypatch.setattr(chunks, "CHUNK_ENTRIES", 1)  # one policy per chunk
            single = satisfaction_probabilities(env, aut, batch, workers=1)
            assert np.abs(single - whole).max() <= 1e-14
            for workers in (2, 5):
                assert np.array_equal(
                    satisfaction_probabilities(env, aut, batch, workers=workers), single
                )
            values.append(whole)
    theirs = _storm(env, [Policy(p) for p in np.concatenate([mixed, deterministic])], f)
    for pair in (values[:2], values[2:]):
        assert np.abs(np.concatenate(pair) - theirs).max() <= TOL
    for bad in (0, -2, 1.5, True, "2"):
        with pytest.raises(ObjspecError, match="workers"):
            satisfaction_probabilities(env, aut, mixed, workers=bad)


@pytest.mark.parametrize("direct", [1500, 0])
def test_states_of_probability_one_are_decided_by_the_graph(
    direct: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transient state that cannot reach a rejecting BSCC has probability exactly 1 (and
    one that cannot reach an accepting BSCC exactly 0), without a linear solve, as in
    Storm's prob0/prob1 precomputation; the undecided states in between are solved."""
    import objspec.ltl.product as product

    monkeypatch.setattr(product, "DIRECT_MAX_UNKNOWNS", direct)
    # 0 -> {1, 2} at random; 1 -> 3 (labelled a, absorbing); 2 -> 2 or 3; 4: absorbing, no a
    P = np.zeros((5, 2, 5))
    P[0, 0, [1, 2]] = [1 / 3, 2 / 3]
    P[0, 1, 4] = 1.0
    P[1, :, 3] = 1.0
    P[2, :, [2, 3]] = [[0.5, 0.5], [0.5, 0.5]]
    P[3, :, 3] = 1.0
    P[4, :, 4] = 1.0
    env = FiniteMDP(P, [1.0, 0, 0, 0, 0], labels={3: ["a"]})
    batch = np.array([[[1.0, 0.0]] * 5, [[0.0, 1.0]] * 5, [[0.5, 0.5]] * 5])
    aut = translate("F a")
    assert satisfaction_probabilities(env, aut, batch).tolist() == [1.0, 0.0, 0.5]
    sk = product.ProductSkeleton(env, aut)
    sure, maybe = product.chain_structure(
        sk, aut, batch[:, sk.env_state[sk.entry_source], sk.entry_action] > 0
    )
    at = {int(st): k for k, st in enumerate(sk.env_state) if sk.machine_state[k] == aut.initial}
    assert sure[0, at[0]] and sure[0, at[2]] and not maybe[0].any()
    assert maybe[2, at[0]] and sure[2, at[1]] and not sure[2, at[0]]


def test_probabilities_stay_in_the_unit_interval_when_mu0_sums_to_one_by_rounding() -> None:
    """A uniform initial distribution over 20 states sums to 1 only up to rounding; Pmax and
    the satisfaction probabilities of a formula that surely holds are still at most 1."""
    props = tuple(f"p{i}" for i in range(3))
    env = random_labelled_mdp(20, 2, props, 3, density=0.3, seed=1)
    assert float(np.sum(env.initial)) > 1.0  # the premise: mu0 = 0.05 x 20 exceeds 1
    formula = "G F p0 | F G !p0"
    result = maximal_satisfaction(env, formula)
    assert result.probability == 1.0 and result.lp_probability <= 1.0
    assert finite_memory_policy_probability(env, result.policy) == 1.0
    batch = random_policies(env, 4, seed=2)
    assert satisfaction_probabilities(env, translate(formula), batch).tolist() == [1.0] * 4


def _storm_min(env: FiniteMDP, f: s.Formula) -> float:
    """Storm's ``Pmin`` (state labels only: the transition-label encoding maximises the
    first action by hand)."""
    import stormpy
    from ltl_reference import _storm_mdp, storm_environment, storm_text

    tau = np.asarray(env.transitions)
    S, A = env.n_states, env.n_actions
    rows = [[{t: tau[s_, a, t] for t in np.flatnonzero(tau[s_, a])} for a in range(A)]
            for s_ in range(S)]
    mdp = _storm_mdp(rows, [set(x) for x in env.state_labels], env.propositions)
    prop = stormpy.parse_properties(f"Pmin=? [ {storm_text(f, env.propositions)} ]")[0]
    result = stormpy.model_checking(mdp, prop, environment=storm_environment())
    return float(np.asarray(env.initial) @ np.array(result.get_value_vector()))


@settings(max_examples=20)
@given(data=st.data())
def test_minimal_satisfaction_agrees_with_storm(data: st.DataObject) -> None:
    """``Pmin = 1 - Pmax(!f)``, against Storm's own ``Pmin`` (adjudicated by the oracle is
    not needed here: a disagreement would show in Pmax as well)."""
    from objspec.ltl.optimise import minimal_satisfaction

    env = data.draw(labelled_mdps(ATOMS, max_states=4))
    f = data.draw(formulas(3, env.propositions))
    result = minimal_satisfaction(env, f)
    assert abs(result.probability - _oracle(_storm_min, env, f)) <= TOL, str(f)
    # the policy attains it: its probability of !f is 1 - Pmin
    assert abs(finite_memory_policy_probability(env, result.policy)
               - (1 - result.probability)) <= TOL
