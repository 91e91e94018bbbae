"""The recipes of docs/contributing.md, followed in a test: a throwaway 18th formalism, a
throwaway construction pair and a throwaway witness, registered from this file alone.

The formalism ("doubled Markov rewards", DMR: ``J = 2 J_MR``) is registered with
:func:`objspec.formalisms.registry.formalism`, with one construction from MR and one back;
it must then appear in the hypothesis strategies, the CLI reader, ``objspec verify``, the
Hasse diagram (in MR's class) and the gymnasium adapter, with no other file edited.
Everything is unregistered at the end, and the paper's 17 formalisms come out as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from objspec.environments import E3
from objspec.environments import strategies as ost
from objspec.formalisms import MarkovReward, RealValuedEvaluator, Specification, Valuation
from objspec.formalisms._sampling import random_discount, random_reward
from objspec.formalisms.reading import SpecificationFields
from objspec.formalisms.registry import (
    SpecificationReader,
    formalism,
    formalism_info,
    formalism_names,
    unregister,
)
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy
from objspec.mdp.strategies import discounts, rewards
from objspec.reductions.lemmas import L_LAR
from objspec.reductions.registry import construction, unregister_construction
from objspec.reductions.separation_catalogue import separation, unregister_separation


class DoubledMarkovReward(Specification):
    """``J(pi) = 2 E[sum_t gamma^t R(x_t)]``: an MR specification, doubled."""

    real_valued = True

    def __init__(self, reward: Any, gamma: Any) -> None:
        self.inner = MarkovReward(reward, gamma)

    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> DoubledEvaluator:
        return DoubledEvaluator(self, env, bool(exact))


class DoubledEvaluator(RealValuedEvaluator[DoubledMarkovReward]):
    def __init__(self, spec: DoubledMarkovReward, env: FiniteMDP, exact: bool) -> None:
        super().__init__(spec, env)
        self.inner: Any = spec.inner.compile(env, exact=exact)
        self.exact = exact

    def valuation(self, policies: Any) -> Valuation:
        inner = self.inner.valuation(policies)
        return Valuation(2 * inner.values, 2 * inner.tie_tolerance)

    def exact_value(self, policy: Policy) -> Any:
        return 2 * self.inner.exact_value(policy)


def _strategy(env: FiniteMDP, **options: Any) -> st.SearchStrategy[DoubledMarkovReward]:
    return st.builds(DoubledMarkovReward, rewards(env), discounts())


def _sample(env: FiniteMDP, rng: np.random.Generator) -> DoubledMarkovReward:
    return DoubledMarkovReward(random_reward(rng, env), random_discount(rng))


def _read(fields: SpecificationFields) -> DoubledMarkovReward:
    return DoubledMarkovReward(fields.array("reward"), fields.number("gamma"))


def mr_to_doubled(spec: MarkovReward) -> DoubledMarkovReward:
    """Doubling is strictly increasing: the same ordering."""
    return DoubledMarkovReward(spec.reward, spec.gamma)


def doubled_to_mr(spec: DoubledMarkovReward) -> MarkovReward:
    """Halving is strictly increasing: the same ordering."""
    return MarkovReward(spec.inner.reward, spec.inner.gamma)


def doubled_on_e3() -> DoubledMarkovReward:
    """LAR ignores the once-visited, action-inert s0 of E3 (L-LAR); this reward pays for
    action a there, so the doubled return increases with p."""
    reward = np.zeros((2, 2, 2), dtype=object)
    reward[0, 0, 1] = Fraction(1)
    return DoubledMarkovReward(reward, Fraction(1, 2))


def _e3_p(ps: list[Any]) -> list[Policy]:
    return [Policy(np.array([[p, 1 - p], [1, 0]], dtype=object)) for p in map(Fraction, ps)]


@pytest.fixture
def doubled() -> Iterator[type[DoubledMarkovReward]]:
    from objspec.reductions import verdicts

    formalism("DMR", name="doubled Markov rewards", level="trajectory", exact=True,
              strategy=_strategy, sampler=_sample,
              reader=SpecificationReader(("reward", "gamma"), _read),
              gymnasium=lambda spec, env: ("reward", 2 * np.asarray(spec.inner.reward, float),
                                           float(spec.inner.gamma)))(DoubledMarkovReward)
    construction(MarkovReward, DoubledMarkovReward, reference="docs/theory.md#c-mr-to-onmr")(
        mr_to_doubled)
    construction(DoubledMarkovReward, MarkovReward, reference="docs/theory.md#c-mr-to-onmr")(
        doubled_to_mr)
    separation(id="DMR-LAR", a="LAR", b=DoubledMarkovReward, environment=E3,
               policies=lambda: _e3_p([0, 1]), reference="docs/theory.md#n12", lemma=L_LAR,
               states=(0,))(doubled_on_e3)
    try:
        yield DoubledMarkovReward
    finally:
        unregister_separation("DMR-LAR")
        unregister_construction("mr_to_doubled")
        unregister_construction("doubled_to_mr")
        unregister("DMR")
        verdicts._compute.cache_clear()


def test_the_registry_knows_it(doubled: type[DoubledMarkovReward]) -> None:
    info = formalism_info("doubled Markov rewards")
    assert info.cls is doubled and info.acronym == "DMR" and doubled.acronym == "DMR"
    assert formalism_names()[-1] == "DMR" and len(formalism_names()) == 18
    assert "DMR" in ost.FORMALISMS


def test_it_appears_in_the_strategies(doubled: type[DoubledMarkovReward]) -> None:
    seen: list[str] = []

    @settings(max_examples=30, database=None, derandomize=True)
    @given(ost.specs(E3()))
    def draw_any(spec: Any) -> None:
        seen.append(spec.acronym)

    draw_any()
    assert "DMR" in seen

    @settings(max_examples=5, database=None)
    @given(ost.specs(E3(), ["DMR"]))
    def draw_it(spec: Any) -> None:
        ev = spec.compile(E3())
        assert ev.values([[[1, 0], [1, 0]]]).shape == (1,)

    draw_it()


def test_it_appears_in_the_cli_reader(doubled: type[DoubledMarkovReward], tmp_path: Any) -> None:
    from objspec.cli import main, spec_from_json

    spec = spec_from_json({"formalism": "DMR", "reward": [[0, 1], [0, 0]], "gamma": "1/2"}, 2,
                          exact=True)
    assert isinstance(spec, doubled)
    problem = {
        "environment": {"transitions": [[[0, 1], [1, 0]], [[0, 1], [0, 1]]],
                        "initial": [1, 0]},
        "specification": {"formalism": "doubled markov rewards", "reward": [[0, 1], [0, 0]],
                          "gamma": 0.5},
        "policies": [[[1, 0], [1, 0]], [[0, 1], [1, 0]]],
    }
    path = tmp_path / "p.json"
    path.write_text(json.dumps(problem))
    assert main(["evaluate", str(path)]) == 0


def test_it_appears_in_verify_and_the_hasse_diagram(
        doubled: type[DoubledMarkovReward], capsys: pytest.CaptureFixture[str]) -> None:
    from objspec import hasse
    from objspec.cli import main

    status = main(["verify", "--envs", "1", "-o", "", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert status == 0 and data["ok"] and not data["undecided"]
    names = {c["name"] for c in data["constructions"]}
    assert {"mr_to_doubled", "doubled_to_mr"} <= names
    assert all(c["ok"] for c in data["constructions"])
    assert next(w for w in data["witnesses"] if w["name"] == "DMR-LAR")["ok"]
    assert data["table"]["DMR"]["MR"] == "Y" and data["table"]["MR"]["DMR"] == "Y"
    assert data["table"]["LAR"]["DMR"] == "N" and data["table"]["RM"]["DMR"] == "Y"
    assert len(hasse.verdicts()) == 18 * 18
    assert {"DMR", "MR"} in [set(c) for c in hasse.equivalence_classes()]
    assert len(hasse.equivalence_classes()) == 11


def test_unregistering_restores_the_paper(doubled: type[DoubledMarkovReward]) -> None:
    from objspec import hasse
    from objspec.reductions import verdicts

    unregister("DMR")
    unregister_construction("mr_to_doubled")
    unregister_construction("doubled_to_mr")
    unregister_separation("DMR-LAR")
    verdicts._compute.cache_clear()
    assert len(formalism_names()) == 17 and "DMR" not in ost.FORMALISMS
    assert len(hasse.verdicts()) == 17 * 17 and not hasse.undecided_pairs()


def test_it_appears_in_the_gymnasium_adapter(doubled: type[DoubledMarkovReward]) -> None:
    from objspec.environments.gym_adapter import SpecEnv

    env = E3()
    reward = np.zeros((2, 2))
    reward[0, 0] = 1.0
    sim = SpecEnv(env, doubled(reward, 0.5))
    sim.reset(seed=0)
    _, r, *_ = sim.step(0)
    assert sim.kind == "DMR" and sim.mechanism == "reward" and r == 2.0
