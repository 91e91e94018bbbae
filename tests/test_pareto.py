"""Exact Pareto fronts (:mod:`objspec.pareto`) and the MO-Gymnasium import."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from objspec import pareto
from objspec.environments.strategies import mdps
from objspec.errors import InvalidSpecificationError, NotTractableError
from objspec.mdp import optimal_values
from objspec.mdp.evaluation import expected_return
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import deterministic_policies


def _values(env: FiniteMDP, pol: Any, R: np.ndarray, gamma: float) -> np.ndarray:
    return np.array([float(expected_return(env, pol, R[i], gamma)) for i in range(len(R))])


@st.composite
def problems(draw: st.DrawFn, k: int | None = None) -> tuple[FiniteMDP, np.ndarray, float]:
    env = draw(mdps(max_states=3, max_actions=3))
    k = k if k is not None else draw(st.integers(1, 3))
    R = np.array(draw(st.lists(st.integers(-2, 2), min_size=k * env.n_states * env.n_actions,
                               max_size=k * env.n_states * env.n_actions)), dtype=float)
    gamma = draw(st.sampled_from([0.5, 0.8, 0.9]))
    return env, R.reshape(k, env.n_states, env.n_actions), gamma


@settings(max_examples=30, deadline=None)
@given(problems())
def test_the_stationary_front_is_exact_on_random_mdps(problem: Any) -> None:
    env, R, gamma = problem
    f = pareto.front(env, R, gamma)
    scale = max(1.0, float(np.abs(R).max())) / (1 - gamma)
    tol = 1e-7 * scale
    # every vertex is attained by its policy
    for p, pol in zip(f.points, f.policies, strict=True):
        assert np.allclose(_values(env, pol, R, gamma), p, atol=tol)
    # no deterministic policy dominates a front point
    for pol in deterministic_policies(env):
        v = _values(env, pol, R, gamma)
        assert not any(np.all(v >= p + tol) for p in f.points)
    # the weighted optimum of random weights lies on the front
    rng = np.random.default_rng(0)
    for _ in range(3):
        w = rng.random(len(R))
        sol = optimal_values(env, np.tensordot(w, R, axes=1), gamma, tol=1e-11)
        best = float(env.initial @ sol.values)
        assert max(float(w @ p) for p in f.points) == pytest.approx(best, abs=tol)
        assert float(w @ _values(env, f.best_for(w), R, gamma)) == pytest.approx(best, abs=tol)


@settings(max_examples=10, deadline=None)
@given(problems(k=1))
def test_one_objective_gives_the_optimum(problem: Any) -> None:
    env, R, gamma = problem
    f = pareto.front(env, R, gamma)
    sol = optimal_values(env, R[0], gamma, tol=1e-11)
    assert len(f) == 1 and f.points[0, 0] == pytest.approx(float(env.initial @ sol.values))


def test_two_objectives_have_facets_with_their_weights() -> None:
    P = np.zeros((1, 3, 1))
    P[0, :, 0] = 1.0
    env = FiniteMDP(P, [1.0])
    three_fifths = Fraction(3, 5)  # (1,0), (0,1), (3/5, 3/5) per step
    R = np.array([[[1, 0, three_fifths]], [[0, 1, three_fifths]]], dtype=object)
    f = pareto.front(env, R, Fraction(1, 2), exact=True)
    assert sorted(map(tuple, f.points.round(9))) == [(0.0, 2.0), (1.2, 1.2), (2.0, 0.0)]
    assert len(f.facets) == 2 and all(np.all(fw > 0) for fw in f.weights)
    assert f.exact_points is not None and (Fraction(12, 10), Fraction(12, 10)) in f.exact_points
    assert f.hypervolume([0, 0]) == pytest.approx(1.44)  # points on the reference add 0
    assert f.hypervolume([-1, -1]) == pytest.approx(3 + 2.2 * 1.2 + 0.8)


def test_deterministic_fronts_can_be_non_convex_and_lassos_match_enumeration(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # a deterministic chain of choices: each state offers "take a reward now" or "go on"
    S, A = 4, 2
    P = np.zeros((S, A, S))
    R = np.zeros((2, S, A, S))
    for s in range(S - 1):
        P[s, 0, S - 1] = 1.0  # stop
        P[s, 1, s + 1] = 1.0  # continue
        R[0, s, 0, S - 1] = float(s * s)
        R[1, s, 0, S - 1] = float(3 - s)
    P[S - 1, :, S - 1] = 1.0
    env = FiniteMDP(P, [1.0, 0.0, 0.0, 0.0])
    enumerated = pareto.front(env, R, 0.9, policies="deterministic")
    monkeypatch.setattr(pareto, "DETERMINISTIC_LIMIT", 0)
    searched = pareto.front(env, R, 0.9, policies="deterministic")
    assert np.allclose(sorted(map(tuple, enumerated.points)), sorted(map(tuple, searched.points)))
    stationary = pareto.front(env, R, 0.9)
    assert len(enumerated.ccs()) <= len(enumerated) and len(enumerated) >= len(stationary)


def test_bad_input_is_named() -> None:
    P = np.zeros((2, 2, 2))
    P[:, 0, 0] = 1.0
    P[:, 1, 1] = 1.0
    env = FiniteMDP(P, [1.0, 0.0])
    with pytest.raises(InvalidSpecificationError, match="k = 0"):
        pareto.front(env, np.zeros((0, 2, 2)), 0.9)
    with pytest.raises(InvalidSpecificationError, match="shaped"):
        pareto.front(env, np.zeros((2, 3, 2)), 0.9)
    with pytest.raises(InvalidSpecificationError, match="gamma"):
        pareto.front(env, np.zeros((2, 2, 2)), 0.0)
    with pytest.raises(InvalidSpecificationError, match="gamma|discount"):
        pareto.front(env, np.zeros((2, 2, 2)), 1.0)
    bad = np.zeros((2, 2, 2))
    bad[1, 0, 1] = np.nan
    with pytest.raises(InvalidSpecificationError, match="not finite"):
        pareto.front(env, bad, 0.9)
    with pytest.raises(InvalidSpecificationError, match="policies"):
        pareto.front(env, np.zeros((2, 2, 2)), 0.9, policies="any")  # type: ignore[arg-type]


def test_a_large_stochastic_deterministic_front_is_not_tractable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    P = np.full((3, 2, 3), 1 / 3)
    env = FiniteMDP(P, [1.0, 0.0, 0.0])
    monkeypatch.setattr(pareto, "DETERMINISTIC_LIMIT", 4)
    with pytest.raises(NotTractableError, match="8 policies"):
        pareto.front(env, np.ones((2, 3, 2)), 0.9, policies="deterministic")


def test_exports(tmp_path: Path) -> None:
    P = np.zeros((2, 2, 2))
    P[:, 0, 0] = 1.0
    P[:, 1, 1] = 1.0
    R = np.zeros((2, 2, 2, 2))
    R[0, 0, 0, 0] = 1.0
    R[1, 1, 1, 1] = 1.0
    f = pareto.front(FiniteMDP(P, [1.0, 0.0]), R, 0.5)
    f.to_csv(tmp_path / "f.csv")
    lines = (tmp_path / "f.csv").read_text().splitlines()
    assert lines[0] == "J_1,J_2,action_s0,action_s1" and len(lines) == 1 + len(f)
    mo = f.to_mo_gymnasium()
    assert all(isinstance(x, np.ndarray) and x.shape == (2,) for x in mo)
    assert "Pareto front" in f._repr_html_()
    import matplotlib

    matplotlib.use("Agg")
    assert f.plot() is not None


def test_deep_sea_treasure_front_is_the_published_one() -> None:
    mo = pytest.importorskip("mo_gymnasium")
    from objspec.environments import from_mo_gymnasium

    mdp, R = from_mo_gymnasium("deep-sea-treasure-v0")
    f = pareto.front(mdp, R, 0.99, policies="deterministic")
    published = np.array(mo.make("deep-sea-treasure-v0").unwrapped.pareto_front(gamma=0.99))
    ours = np.array(sorted(map(tuple, f.points)))
    theirs = np.array(sorted(map(tuple, published)))
    assert len(f) == 10 and ours.shape == theirs.shape
    # MO-Gymnasium's published front is float32 (about 7 significant digits)
    assert np.abs(ours - theirs).max() <= 1e-5 * np.abs(theirs).max()


def test_fruit_tree_front_is_the_published_one() -> None:
    mo = pytest.importorskip("mo_gymnasium")
    from objspec.environments import from_mo_gymnasium

    mdp, R = from_mo_gymnasium("fruit-tree-v0")
    f = pareto.front(mdp, R, 0.99, policies="deterministic")
    published = np.array(mo.make("fruit-tree-v0").unwrapped.pareto_front(gamma=0.99))
    assert np.allclose(np.array(sorted(map(tuple, f.points))),
                       np.array(sorted(map(tuple, published))), atol=1e-5)


def test_random_transitions_are_read_from_the_code() -> None:
    """resource-gathering's enemies attack with probability 0.1 (``random() < 0.1`` in its
    step): the import branches on the comparison and reads 0.1 and 0.9 exactly."""
    pytest.importorskip("mo_gymnasium")
    from objspec.environments import from_mo_gymnasium

    mdp, R = from_mo_gymnasium("resource-gathering-v0")
    P = mdp.transition_matrix
    branching = P.getnnz(axis=1)
    assert branching.max() == 2
    probs = sorted(set(np.round(P.data[P.data < 1], 12)))
    assert probs == [0.1, 0.9]
    assert R.shape == (3, mdp.n_states, 4, mdp.n_states)
    f = pareto.front(mdp, R, 0.9)
    assert len(f) >= 2


def test_randomness_that_cannot_be_read_is_refused() -> None:
    pytest.importorskip("mo_gymnasium")
    import gymnasium as gym

    from objspec.environments import from_mo_gymnasium
    from objspec.errors import InvalidModelError

    class Noisy(gym.Env):  # type: ignore[misc]
        action_space = gym.spaces.Discrete(2)
        observation_space = gym.spaces.Discrete(3)
        reward_space = gym.spaces.Box(0, 1, shape=(2,))
        reward_dim = 2

        def reset(self, seed: Any = None, options: Any = None) -> Any:
            super().reset(seed=seed)
            self.s = 0
            return self.s, {}

        def step(self, a: int) -> Any:
            self.s = int(self.np_random.integers(3))
            return self.s, np.zeros(2), False, False, {}

    with pytest.raises(InvalidModelError, match="integers"):
        from_mo_gymnasium(Noisy())


def test_the_docs_page_prints_what_it_shows(capsys: pytest.CaptureFixture[str]) -> None:
    """docs/pareto.md: each python block prints the text block that follows it."""
    import re

    text = (Path(__file__).resolve().parents[1] / "docs" / "pareto.md").read_text()
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M)
    namespace: dict[str, Any] = {}
    for (lang, code), (nxt_lang, nxt) in zip(blocks, [*blocks[1:], ("", "")], strict=True):
        if lang != "python":
            continue
        exec(compile(code, "docs/pareto.md", "exec"), namespace)
        out = capsys.readouterr().out
        if nxt_lang == "text":
            assert out == nxt


@st.composite
def acyclic_problems(draw: st.DrawFn) -> tuple[FiniteMDP, np.ndarray, float]:
    """Random MDPs whose transition graph is acyclic apart from self-loops: state ``s``
    moves to later states (often to the same ones from different states: shared
    descendants), sometimes stays with some probability, the last state absorbs."""
    S = draw(st.integers(2, 6))
    A = draw(st.integers(1, 3))
    k = draw(st.integers(1, 3))
    P = np.zeros((S, A, S))
    P[S - 1, :, S - 1] = 1.0
    for s in range(S - 1):
        for a in range(A):
            succ = draw(st.sets(st.integers(s + 1, S - 1), min_size=1, max_size=3))
            stay = draw(st.sampled_from([0, 0, 1, 2]))  # weight of a self-loop
            weights = {t: draw(st.integers(1, 3)) for t in succ}
            total = stay + sum(weights.values())
            P[s, a, s] = stay / total
            for t, w in weights.items():
                P[s, a, t] = w / total
    init = np.zeros(S)
    init[0] = 1.0
    if draw(st.booleans()):
        init[: min(2, S)] = 1.0 / min(2, S)
    R = np.array(draw(st.lists(st.integers(-2, 2), min_size=k * S * A, max_size=k * S * A)),
                 dtype=float).reshape(k, S, A)
    return FiniteMDP(P, init), R, draw(st.sampled_from([0.5, 0.9]))


@settings(max_examples=60, deadline=None)
@given(acyclic_problems())
def test_the_acyclic_dynamic_programme_equals_enumeration(problem: Any) -> None:
    env, R, gamma = problem
    assert pareto._is_acyclic(env)
    enumerated = pareto._enumerated_front(env, R, gamma)
    dp = pareto._acyclic_front(env, R, gamma)
    assert len(dp) == len(enumerated)
    for a, b in ((dp.points, enumerated.points), (enumerated.points, dp.points)):
        assert all(np.any(np.all(np.abs(b - p) <= 1e-9, axis=1)) for p in a)
    for p, pol in zip(dp.points, dp.policies, strict=True):
        assert np.allclose(_values(env, pol, R, gamma), p, atol=1e-9)


def _shared_descendant_instance() -> tuple[FiniteMDP, np.ndarray]:
    """s0 moves to s1 or s2 (1/2 each); s1 moves to s2 paying (2, 0) or to the sink s3
    paying (2, 1); s2 pays (0, 2) or (2, 0) and moves to the sink. s2 is shared by s0 and
    s1."""
    P = np.zeros((4, 2, 4))
    P[0, :, 1] = P[0, :, 2] = 0.5
    P[1, 0, 2] = P[1, 1, 3] = 1.0
    P[2:, :, 3] = 1.0
    R = np.zeros((2, 4, 2))
    R[0] = [[0, 1], [2, 2], [0, 2], [0, 0]]
    R[1] = [[0, 0], [0, 1], [2, 0], [0, 0]]
    return FiniteMDP(P, [1.0, 0.0, 0.0, 0.0]), R


def test_pruning_keeps_labels_needed_for_consistency(monkeypatch: pytest.MonkeyPatch) -> None:
    env, R = _shared_descendant_instance()
    enumerated = pareto._enumerated_front(env, R, 0.5)
    exact = pareto._acyclic_front(env, R, 0.5)
    expected = [[2.25, 0.0], [2.0, 0.25], [1.5, 0.75]]
    assert enumerated.points.tolist() == expected and exact.points.tolist() == expected

    def everything_dominated(env: FiniteMDP, order: list[int]) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(env.n_states + 1, np.int64), np.full(env.n_states + 1, 99, np.int64)

    # plain dominance pruning (every key empty) loses (2, 0.25): s1's label "to the sink"
    # (2, 1) ties with "to s2, which pays (0, 2)" and one of them is dropped, but each is the
    # only one consistent with one choice at the shared s2 on s0's other branch
    monkeypatch.setattr(pareto, "_dominator_intervals", everything_dominated)
    assert len(pareto._acyclic_front(env, R, 0.5)) == 2


def test_acyclic_fronts_are_dispatched_and_budgeted(monkeypatch: pytest.MonkeyPatch) -> None:
    env, R = _shared_descendant_instance()
    monkeypatch.setattr(pareto, "DETERMINISTIC_LIMIT", 0)
    f = pareto.front(env, R, 0.5, policies="deterministic")
    assert f.points.tolist() == [[2.25, 0.0], [2.0, 0.25], [1.5, 0.75]]
    monkeypatch.setattr(pareto, "ACYCLIC_LABEL_LIMIT", 3)
    with pytest.raises(NotTractableError, match="labels"):
        pareto.front(env, R, 0.5, policies="deterministic")


def _random_k3(seed: int) -> tuple[FiniteMDP, np.ndarray]:
    from objspec.environments import random_mdp

    env = random_mdp(12, 3, 3, seed=seed)
    return env, np.random.default_rng(seed).normal(size=(3, 12, 3))


@pytest.mark.parametrize("seed", [0, 1])
def test_the_anytime_front_is_an_honest_inner_approximation(seed: int) -> None:
    env, R = _random_k3(seed)
    exact = pareto.front(env, R, 0.9)
    assert exact.complete and len(exact) > 8
    ref = exact.points.min(axis=0) - 1.0
    lo, hi = exact.hypervolume_bounds(ref)
    assert hi == pytest.approx(lo, rel=1e-7)
    for w, u in exact.outer:  # every bound is valid and tight at the front
        best = float((exact.points @ w).max())
        assert best <= u + 1e-9 and u - best <= 1e-7 * (1 + abs(best))
    partial = pareto.front(env, R, 0.9, max_vertices=6)
    assert not partial.complete and 1 <= len(partial) <= 6
    assert "PARTIAL" in repr(partial) and "not the front" in partial._repr_html_()
    scale = float(np.abs(R).max()) / (1 - 0.9)
    for p, pol in zip(partial.points, partial.policies, strict=True):
        assert np.allclose(_values(env, pol, R, 0.9), p, atol=1e-7 * scale)
        # on the exact front: a vertex of it
        assert np.any(np.all(np.abs(exact.points - p) <= 1e-7 * scale, axis=1))
    plo, phi = partial.hypervolume_bounds(ref)
    assert plo <= lo * (1 + 1e-9) and phi >= hi * (1 - 1e-9) and phi - plo > 1e-6 * hi
    assert partial.hypervolume(ref) <= exact.hypervolume(ref) + 1e-9
    assert pareto.front(env, R, 0.9, time_limit=1e-9).complete is False
    everything = pareto.front(env, R, 0.9, max_vertices=10_000, time_limit=1e6)
    assert everything.complete and np.allclose(everything.points, exact.points)


def test_anytime_limits_are_checked() -> None:
    env, R = _random_k3(0)
    with pytest.raises(InvalidSpecificationError, match="max_vertices"):
        pareto.front(env, R, 0.9, max_vertices=0)
    with pytest.raises(InvalidSpecificationError, match="time_limit"):
        pareto.front(env, R, 0.9, time_limit=-1.0)
    with pytest.raises(InvalidSpecificationError, match="anytime"):
        pareto.front(env, R, 0.9, max_vertices=3, exact=True)
    with pytest.raises(InvalidSpecificationError, match="anytime"):
        pareto.front(env, R, 0.9, policies="deterministic", time_limit=1.0)
    f = pareto.front(env, R, 0.9, max_vertices=4)
    with pytest.raises(InvalidSpecificationError, match="below"):
        f.hypervolume_bounds(f.points.max(axis=0))


def test_the_two_objective_search_is_anytime_too() -> None:
    from objspec.environments import random_mdp

    env = random_mdp(30, 3, 3, seed=4)
    R = np.random.default_rng(4).normal(size=(2, 30, 3))
    exact = pareto.front(env, R, 0.9)
    partial = pareto.front(env, R, 0.9, max_vertices=4)
    assert exact.complete and not partial.complete and len(partial) <= 4 < len(exact)
    scale = float(np.abs(R).max()) / (1 - 0.9)
    for p in partial.points:
        assert np.any(np.all(np.abs(exact.points - p) <= 1e-7 * scale, axis=1))
    ref = exact.points.min(axis=0) - 1.0
    lo, hi = exact.hypervolume_bounds(ref)
    plo, phi = partial.hypervolume_bounds(ref)
    assert plo < lo * (1 - 1e-9) and phi >= hi * (1 - 1e-9) and hi == pytest.approx(lo)
    assert exact.found_at is not None and len(exact.found_at) == len(exact)
