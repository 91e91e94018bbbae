"""The construction checker (:mod:`objspec.reductions.checking`): ordering comparison and the
seeded random instances it runs on.

Two kinds of tests: the documented guarantees of each generator (rational, stochastic,
acyclic when asked, labelled, value ranges) and of the comparison (it names the first
disagreeing pair, counts tie classes, says whether ties were exact); and *fingerprints* of
the seeded streams, so that ``objspec verify --seed N`` keeps checking the same instances.
A fingerprint is the sha256 of the exact values (or dense ranks, for ordering formalisms) of
three seeded specifications on eleven fixed policies; when a generator is changed on
purpose, print ``spec_fingerprint(acronym)`` and update the table.
"""

from __future__ import annotations

import dataclasses
import hashlib
from fractions import Fraction as F
from typing import Any

import numpy as np
import pytest

from objspec import Policy
from objspec.environments import E1, E3
from objspec.errors import CertificateError
from objspec.formalisms import MarkovReward, OuterNonlinearMarkovReward
from objspec.reductions import Construction, constructions
from objspec.reductions.checking import (
    ConstructionReport,
    OrderingCheck,
    _simplex,
    acyclic_sources,
    check_instance,
    check_same_ordering,
    induced_ranks,
    random_rational_mdp,
    random_spec,
    rational_policies,
    spec_samplers,
    verify_construction,
)

BY_NAME = {c.name: c for c in constructions()}


def _digest(obj: Any) -> str:
    return hashlib.sha256(repr(obj).encode()).hexdigest()[:16]


def spec_fingerprint(acronym: str) -> str:
    env = random_rational_mdp(3, 2, seed=5, acyclic=acronym in acyclic_sources())
    pols = rational_policies(env, 3, seed=1)
    out = []
    for seed in range(3):
        spec = random_spec(acronym, env, seed)
        ev = spec.compile(env, exact=True)
        if hasattr(ev, "exact_value"):
            out.append([str(ev.exact_value(p)) for p in pols])
        else:
            out.append([int(r) for r in induced_ranks(spec, env, pols)[0]])
    return _digest(out)


def env_fingerprint(n_states: int, n_actions: int, seed: int, acyclic: bool) -> str:
    env = random_rational_mdp(n_states, n_actions, seed, acyclic=acyclic)
    pols = rational_policies(env, 4, seed)
    labels = [sorted(x) for x in env.state_labels or ()]
    return _digest((env.exact_transitions().tolist(), env.exact_initial().tolist(), labels,
                    [p.exact_probabilities().tolist() for p in pols]))


SPEC_FINGERPRINTS: dict[str, str] = {
    "FOMR": "69fcce6973ac11e7",
    "FPR": "ec1d0f1a14a79bff",
    "FTLR": "69fcce6973ac11e7",
    "FTR": "0bdb9ff784e60ef1",
    "GOMORL": "101ed680e5be9193",
    "IMORL": "de760fa9b6778a7c",
    "INMR": "36307f5cac61fe46",
    "LAR": "ce81371bd120c425",
    "LTL": "7cbcde9fda4ab824",
    "MR": "38be1659335f95db",
    "OMO": "101ed680e5be9193",
    "OMORL": "f609a0a1906d899f",
    "ONMR": "126f7fc8b01153ca",
    "RM": "e3a9fd14d84bcc34",
    "RRL": "b2acf9ce0a204da0",
    "TLO": "101ed680e5be9193",
}

ENV_FINGERPRINTS: dict[tuple[int, int, int, bool], str] = {
    (1, 2, 0, False): "fcb4bcfdecbce04b",
    (2, 2, 1, False): "e37edc53273a34d0",
    (3, 2, 2, False): "49d01657c079f043",
    (3, 3, 3, False): "d72099c8511a9581",
    (2, 2, 4, True): "456e868da9c4c4a1",
    (4, 2, 5, True): "e7a606e3c4e6fad6",
}


# ---------------------------------------------------------------- generators


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("acyclic", [False, True])
def test_random_rational_mdp_guarantees(seed: int, acyclic: bool) -> None:
    n = 2 + seed % 3
    env = random_rational_mdp(n, 2 + seed % 2, seed, acyclic=acyclic)
    assert env.is_exact and env.n_states == n and env.n_actions == 2 + seed % 2
    tau, mu = env.exact_transitions(), env.exact_initial()
    assert all(isinstance(x, F) for x in tau.ravel()) and all(isinstance(x, F) for x in mu)
    assert all(sum(tau[s, a]) == 1 for s in range(n) for a in range(env.n_actions))
    assert sum(mu) == 1 and all(x >= 0 for x in mu)
    # transition probabilities have denominators dividing 3 * n (weights 0..3)
    assert all(x.denominator <= 3 * n for x in tau.ravel())
    assert mu[0] == 1 or all(x.denominator <= 2 * n for x in mu)
    labels = env.state_labels
    assert "p" in labels[0] and "q" in labels[n - 1]
    assert all(labels[s] <= {"p", "q"} for s in range(n))
    if acyclic:
        for s in range(n):
            for a in range(env.n_actions):
                if s == n - 1:
                    assert tau[s, a, s] == 1
                else:
                    assert all(tau[s, a, t] == 0 for t in range(s + 1))


def test_random_rational_mdp_keeps_given_labels() -> None:
    labels = {0: ["r"], 1: []}
    env = random_rational_mdp(2, 2, 0, labels=labels)
    assert env.state_labels == (frozenset({"r"}), frozenset())


def test_random_rational_mdp_draws_both_kinds_of_start() -> None:
    starts = {random_rational_mdp(3, 2, seed).exact_initial()[0] == 1 for seed in range(12)}
    assert starts == {True, False}


def test_seeds_and_generators_are_interchangeable() -> None:
    a = random_rational_mdp(3, 2, 7)
    b = random_rational_mdp(3, 2, np.random.default_rng(7))
    assert a.exact_transitions().tolist() == b.exact_transitions().tolist()


def test_simplex_rows() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        row = _simplex(rng, 3, 4)
        assert sum(row) == 1 and all(x >= 0 for x in row) and len(row) == 3
        assert all(x.denominator <= 12 for x in row)
        assert all(x > 0 for x in _simplex(rng, 3, 4, zeros=False))
    assert any(0 in _simplex(rng, 3, 1) for _ in range(50))
    # a zero weight vector is repaired to a point mass, never a division by zero
    one = _simplex(np.random.default_rng(0), 1, 0)
    assert one == [F(1)]


def test_rational_policies_counts_and_kinds() -> None:
    env = E3()
    pols = rational_policies(env, 3, seed=0)
    assert len(pols) == 4 + 3
    det = [p.exact_probabilities().tolist() for p in pols[:4]]
    assert det == [[[F(int(a == b)) for b in range(2)] for a in acts]
                   for acts in [(0, 0), (0, 1), (1, 0), (1, 1)]]
    assert all(isinstance(x, F) for p in pols for x in p.exact_probabilities().ravel())
    # odd-numbered random policies have full support
    assert all(x > 0 for x in pols[5].exact_probabilities().ravel())
    assert len(rational_policies(env, 2, seed=0, max_deterministic=3)) == 2
    assert len(rational_policies(env, 2, seed=0, max_deterministic=4)) == 6
    big = random_rational_mdp(3, 5, 0)  # 125 deterministic policies > 64
    assert len(rational_policies(big, 2, seed=0)) == 2


def test_random_spec_value_ranges() -> None:
    env = random_rational_mdp(2, 2, 3)
    gammas, rewards = set(), set()
    for seed in range(40):
        mr = random_spec("MR", env, seed)
        gammas.add(F(mr.gamma))
        rewards |= {F(x) for x in np.asarray(mr.reward).ravel()}
    assert gammas == {F(1, 2), F(2, 3), F(9, 10), F(1, 3)}
    assert rewards == {F(v) for v in range(-2, 3)}


def test_generator_defaults() -> None:
    env = random_rational_mdp(3, 2)
    assert env.exact_transitions().tolist() == random_rational_mdp(
        3, 2, 0, acyclic=False).exact_transitions().tolist()
    pols = [p.exact_probabilities().tolist() for p in rational_policies(env, 2)]
    assert pols == [p.exact_probabilities().tolist() for p in rational_policies(env, 2, 0)]
    assert repr(random_spec("MR", env).reward) == repr(random_spec("MR", env, 0).reward)
    four = random_rational_mdp(2, 8)  # 64 deterministic policies: still enumerated
    assert len(rational_policies(four, 0)) == 64
    big = random_rational_mdp(1, 65)
    assert len(rational_policies(big, 1)) == 1


def test_random_spec_rejects_unknown_acronyms() -> None:
    with pytest.raises(CertificateError, match="no random-specification sampler for PO"):
        random_spec("PO", E3())


def test_quadratic_regulariser() -> None:
    from objspec.formalisms._sampling import quadratic as _quadratic

    assert _quadratic([F(1, 2), F(1, 2)]) == F(-1, 2)
    assert isinstance(_quadratic([F(1, 2), F(1, 2)]), F)
    assert _quadratic([0.25, 0.75]) == pytest.approx(-0.375)


@pytest.mark.parametrize("acronym", sorted(spec_samplers()))
def test_seeded_specification_streams_are_stable(acronym: str) -> None:
    assert spec_fingerprint(acronym) == SPEC_FINGERPRINTS[acronym]


@pytest.mark.parametrize("key", sorted(ENV_FINGERPRINTS))
def test_seeded_environment_streams_are_stable(key: tuple[int, int, int, bool]) -> None:
    assert env_fingerprint(*key) == ENV_FINGERPRINTS[key]


def test_absorbing_states_pay_nothing_in_acyclic_sources() -> None:
    env = random_rational_mdp(3, 2, 0, acyclic=True)
    for acronym in ("INMR", "IMORL"):
        for seed in range(5):
            spec = random_spec(acronym, env, seed)
            rewards = np.asarray(getattr(spec, "reward", getattr(spec, "rewards", None)))
            rewards = rewards.reshape(-1, 3, 2, 3)
            assert all(r[2, a, 2] == 0 for r in rewards for a in range(2))
            assert any(r[s, a, t] != 0 for r in rewards for s in range(2) for a in range(2)
                       for t in range(3))


# ---------------------------------------------------------------- ordering comparison


def test_check_same_ordering_accepts_rescaled_rewards() -> None:
    pols = [Policy.deterministic([a], 3) for a in range(3)]
    chk = check_same_ordering(MarkovReward([[1, 2, 3]], F(1, 2)),
                              MarkovReward([[2, 4, 6]], F(9, 10)), E1(), pols)
    assert chk == OrderingCheck(3, 3, True)


def test_check_same_ordering_counts_tie_classes() -> None:
    pols = [Policy.deterministic([a], 3) for a in range(3)]
    chk = check_same_ordering(MarkovReward([[1, 1, 3]], F(1, 2)),
                              MarkovReward([[0, 0, 5]], F(1, 2)), E1(), pols)
    assert chk.n_classes == 2 and chk.n_policies == 3
    one = check_same_ordering(MarkovReward([[1, 1, 3]], F(1, 2)),
                              MarkovReward([[0, 0, 5]], F(1, 2)), E1(), pols[:2])
    assert one == OrderingCheck(2, 1, True)


@pytest.mark.parametrize(("r1", "r2", "pair"), [
    ([1, 2, 3], [1, 3, 2], "1 and 2"),   # a strict preference reversed
    ([1, 1, 3], [1, 2, 3], "0 and 1"),   # a tie broken
    ([1, 2, 3], [2, 2, 3], "0 and 1"),   # a strict preference made a tie
    ([3, 2, 1], [3, 2, 4], "0 and 2"),
])
def test_check_same_ordering_names_the_first_disagreement(r1: list[int], r2: list[int],
                                                          pair: str) -> None:
    pols = [Policy.deterministic([a], 3) for a in range(3)]
    with pytest.raises(CertificateError, match=f"demo: orderings differ on policies {pair} "):
        check_same_ordering(MarkovReward([r1], F(1, 2)), MarkovReward([r2], F(1, 2)), E1(),
                            pols, what="demo")
    with pytest.raises(CertificateError, match="^construction: orderings differ"):
        check_same_ordering(MarkovReward([r1], F(1, 2)), MarkovReward([r2], F(1, 2)), E1(),
                            pols)


def test_induced_ranks_say_whether_ties_are_exact() -> None:
    pols = [Policy.deterministic([a], 3) for a in range(3)]
    ranks, exact = induced_ranks(MarkovReward([[3, 1, 3]], F(1, 2)), E1(), pols)
    assert exact and ranks.tolist() == [0, 1, 0]  # rank 0 is the best

    class FloatOnly:
        """A spec whose evaluator has no exact mode (compile(exact=True) raises)."""

        def __init__(self) -> None:
            self.inner = MarkovReward([[3, 1, 3]], 0.5)

        def compile(self, env: Any, **kw: Any) -> Any:
            if kw.get("exact"):
                raise TypeError("no exact mode")
            return self.inner.compile(env)

    class Bare:
        """An evaluator that only ranks (no ``exact`` attribute): not exact."""

        def compile(self, env: Any, **kw: Any) -> Any:
            if kw.get("exact"):
                raise TypeError("no exact mode")
            ev = MarkovReward([[3, 1, 3]], 0.5).compile(env)
            return type("Ranker", (), {"rank": staticmethod(ev.rank)})()

    assert induced_ranks(Bare(), E1(), pols)[1] is False
    ranks, exact = induced_ranks(FloatOnly(), E1(), pols)
    assert not exact and ranks.tolist() == [0, 1, 0]
    chk = check_same_ordering(FloatOnly(), MarkovReward([[3, 1, 3]], F(1, 2)), E1(), pols)
    assert chk.exact is False


# ---------------------------------------------------------------- running constructions


def test_verify_construction_on_a_good_construction() -> None:
    c = BY_NAME["markov_reward_to_outer_nonlinear"]
    rep = verify_construction(c, seed=0, n_envs=2, n_specs=2, n_random=2)
    assert rep.ok and rep.error is None and rep.exact
    assert (rep.name, rep.source, rep.target) == (c.name, "MR", "ONMR")
    assert rep.instances == 4 and rep.details == []
    assert rep.policies >= 4 * 2


def test_verify_construction_catches_a_wrong_construction() -> None:
    def wrong(spec: MarkovReward) -> OuterNonlinearMarkovReward:
        return OuterNonlinearMarkovReward(spec.reward, lambda x: -x, spec.gamma)

    c = BY_NAME["markov_reward_to_outer_nonlinear"]
    bad = Construction(c.name, c.source, c.target, c.needs_env, c.reference, wrong)
    rep = verify_construction(bad, seed=0, n_envs=1, n_specs=1)
    assert not rep.ok
    assert rep.error is not None and rep.error.startswith("CertificateError: ")
    assert "orderings differ" in rep.error


def test_a_report_with_no_instance_is_not_ok() -> None:
    assert not ConstructionReport("x", "MR", "ONMR").ok
    assert ConstructionReport("x", "MR", "ONMR", instances=1).ok
    assert not ConstructionReport("x", "MR", "ONMR", instances=1, error="boom").ok


def test_semantic_checks_are_used_for_the_digit_encoding() -> None:
    name = "trajectory_function_to_inner_nonlinear"
    assert {c.name for c in BY_NAME.values() if c.semantic_check is not None} == {name}
    c = BY_NAME[name]
    env = random_rational_mdp(2, 2, 0, acyclic=True)
    spec = random_spec("FTR", env, 0)
    assert check_instance(c, spec, c(spec, env), env, [], seed=0) is None
    rep = verify_construction(c, seed=0, n_envs=1, n_specs=1)
    assert rep.ok and rep.details == ["checked semantically (exact)"] and rep.policies == 0


def test_check_instance_compares_orderings_otherwise() -> None:
    c = BY_NAME["markov_reward_to_outer_nonlinear"]
    env = E1()
    pols = [Policy.deterministic([a], 3) for a in range(3)]
    spec = MarkovReward([[1, 2, 3]], F(1, 2))
    chk = check_instance(c, spec, c(spec, env), env, pols)
    assert chk == OrderingCheck(3, 3, True)
    other = MarkovReward([[3, 2, 1]], F(1, 2))
    with pytest.raises(CertificateError, match=f"^{c.name}: orderings differ"):
        check_instance(c, spec, c(other, env), env, pols)


def _recording(source: str, seen: list[Any]) -> Construction:
    """The identity construction on ``source``, recording every instance it is given."""

    def identity(spec: Any, env: Any) -> Any:
        seen.append((env.n_states, env.n_actions, env.exact_transitions().tolist(),
                     env.exact_initial().tolist(), repr(getattr(spec, "reward", None))))
        return spec

    return Construction(f"identity_{source}", source, source, True, "test", identity)


@pytest.mark.parametrize(("source", "fingerprint", "policies"), [
    ("MR", "95c7827da7ed63f7", 62), ("INMR", "b5c28baa0275ba88", 48)])
def test_verify_construction_draws_the_documented_instances(source: str, fingerprint: str,
                                                           policies: int) -> None:
    """Defaults: 3 environments of 1 to 3 states (one more for acyclic sources, which get
    acyclic environments) and 2 or 3 actions, 2 specs each, every deterministic policy (up
    to 64) plus 4 random ones; the seeded draw is pinned by a fingerprint."""
    seen: list[Any] = []
    rep = verify_construction(_recording(source, seen), seed=11)
    assert rep.ok and rep.instances == 6 and len(seen) == 6
    sizes = [(n, a) for n, a, *_ in seen]
    acyclic = source in acyclic_sources()
    assert [n for n, _ in sizes] == [1 + k // 2 % 3 + acyclic for k in range(6)]
    assert all(a in (2, 3) for _, a in sizes)
    if acyclic:
        assert all(tau[n - 1][0][n - 1] == 1 and tau[0][0][0] == 0 for n, _, tau, *_ in seen)
    assert rep.policies == policies == sum(2 * (a**n * (a**n <= 64) + 4) for n, a in sizes[::2])
    assert _digest(seen) == fingerprint


def test_the_digit_check_passes_its_seed_on(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    cons = sys.modules["objspec.reductions.construction_catalogue"]
    calls: list[Any] = []
    monkeypatch.setattr(cons, "check_digit_encoding", lambda *args: calls.append(args) or 5)
    check = BY_NAME["trajectory_function_to_inner_nonlinear"].semantic_check
    assert check is not None and check("s", "t", "env", 7) == 5
    assert calls == [("s", "t", "env", 7)]


def test_check_instance_passes_the_seed_to_semantic_checks(
        monkeypatch: pytest.MonkeyPatch) -> None:
    name = "trajectory_function_to_inner_nonlinear"
    calls: list[Any] = []
    c = dataclasses.replace(BY_NAME[name],
                            semantic_check=lambda *args: calls.append(args) or 1)
    assert check_instance(c, "s", "t", "env", []) is None  # type: ignore[arg-type]
    assert check_instance(c, "s", "t", "env", [], seed=9) is None  # type: ignore[arg-type]
    assert calls == [("s", "t", "env", 0), ("s", "t", "env", 9)]


SCALAR_FORMS = {
    "concave": lambda x, c: -((x - c) ** 2),
    "cubic": lambda x, c: x * x * x - 2 * x,
    "step": lambda x, c: 1 if x > c else 0,
    "kink": lambda x, c: -abs(x - c),
}
VECTOR_FORMS = {
    "product": lambda v, c: v[0] * v[1],
    "trade-off": lambda v, c: v[0] - (v[1] - c) ** 2,
    "max": lambda v, c: max(v[0], v[1]),
    "threshold": lambda v, c: (1 if v[0] > c else 0) * 100 + v[1],
}


def _identify(fn: Any, forms: dict[str, Any], points: list[Any], cs: list[F]) -> set[tuple]:
    return {(name, c) for name, form in forms.items() for c in cs
            if all(fn(p) == form(p, c) for p in points)}


def test_random_outer_and_vector_functions_come_from_the_documented_menus() -> None:
    """Every drawn function is one of the four forms with a centre ``c`` in the documented
    range (halves in [-3/2, 3/2], resp. [-1, 1]), and every form is drawn."""
    from objspec.formalisms._sampling import random_scalar_function as _scalar_fn
    from objspec.formalisms._sampling import random_vector_function as _vector_fn

    rng = np.random.default_rng(0)
    xs = [F(k, 4) for k in range(-9, 10)]
    scalar_cs = [F(k, 2) for k in range(-3, 4)]
    seen = set()
    for _ in range(80):
        found = _identify(_scalar_fn(rng), SCALAR_FORMS, xs, scalar_cs)
        assert found, "a drawn outer function matches no documented form"
        seen |= {name for name, _ in found}
    assert seen == set(SCALAR_FORMS)
    vs = [(a, b) for a in xs for b in xs[1::6]]
    vector_cs = [F(k, 2) for k in range(-2, 3)]
    seen = set()
    for _ in range(80):
        found = _identify(_vector_fn(rng), VECTOR_FORMS, vs, vector_cs)
        assert found, "a drawn vector function matches no documented form"
        seen |= {name for name, _ in found}
    assert seen == set(VECTOR_FORMS)


def test_verify_construction_defaults_and_more_environments() -> None:
    """The default seed is 0; environment k has 1 + k % 3 states (plus one if acyclic)."""
    seen0: list[Any] = []
    seen_default: list[Any] = []
    verify_construction(_recording("MR", seen0), seed=0)
    verify_construction(_recording("MR", seen_default))
    assert seen0 == seen_default
    seen: list[Any] = []
    rep = verify_construction(_recording("MR", seen), seed=3, n_envs=5, n_specs=1, n_random=1)
    assert rep.instances == 5 and [n for n, *_ in seen] == [1, 2, 3, 1, 2]


def test_one_inexact_instance_makes_the_report_inexact() -> None:
    class FloatTarget:
        acronym = "MR"

        def __init__(self, spec: Any) -> None:
            self.spec = spec

        def compile(self, env: Any, **kw: Any) -> Any:
            if kw.get("exact"):
                raise TypeError("no exact mode")
            return self.spec.compile(env)

    calls: list[int] = []

    def sometimes_float(spec: Any, env: Any) -> Any:
        calls.append(1)
        return FloatTarget(spec) if len(calls) == 2 else spec

    c = Construction("float_once", "MR", "MR", True, "test", sometimes_float)
    rep = verify_construction(c, seed=0, n_envs=2, n_specs=1)
    assert rep.ok and rep.instances == 2 and rep.exact is False
    assert verify_construction(_recording("MR", []), seed=0).exact is True


def test_semantic_checks_get_fresh_seeds_below_two_to_the_31(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seeds: list[int] = []
    c = dataclasses.replace(_recording("MR", []),
                            semantic_check=lambda s, t, env, seed: seeds.append(seed) or 1)
    rep = verify_construction(c, seed=4)
    assert rep.ok and len(seeds) == 6 and all(0 <= x < 2**31 for x in seeds)
    assert _digest(seeds) == "104be19be9093f7d"
