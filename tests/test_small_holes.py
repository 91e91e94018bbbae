"""Regressions for the small holes of the hardening issue: each input gets a named error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from objspec import FiniteMDP, Policy
from objspec.environments import SpecEnv
from objspec.errors import (
    InvalidModelError,
    InvalidPolicyError,
    InvalidSpecificationError,
    ResetNeededError,
)
from objspec.formalisms import FOMR, FPR, GOMORL, LAR, MR, OMO, ONMR, RRL
from objspec.orders import by_key, from_comparator

ROOT = Path(__file__).resolve().parents[1]


def _env() -> FiniteMDP:
    P = np.zeros((3, 3, 3))
    for a in range(3):
        P[:, a, a] = 1.0
    return FiniteMDP(P, [1.0, 0.0, 0.0])


def test_complex_transitions_are_refused_dense_and_sparse() -> None:
    P = np.zeros((2, 2, 2), dtype=complex)
    P[:, :, 0] = 1 + 1e-3j
    dense = r"transitions\[0, 0, 0\] = \(1\+0\.001j\) is complex"
    with pytest.raises(InvalidModelError, match=dense):
        FiniteMDP(P, [1.0, 0.0])
    with pytest.raises(InvalidModelError, match=r"row 0 \(s\*A \+ a\), column 0 .* is complex"):
        FiniteMDP(sp.csr_matrix(P.reshape(4, 2)), [1.0, 0.0])
    with pytest.raises(InvalidModelError, match=r"initial\[1\] = 1j is complex"):
        FiniteMDP(np.ones((2, 1, 2)) / 2, [1.0, 1j])


def test_complex_with_zero_imaginary_part_is_a_real_number() -> None:
    P = np.zeros((2, 2, 2), dtype=complex)
    P[:, :, 1] = 1.0
    env = FiniteMDP(P, [1.0, 0.0])
    assert env.transitions.dtype == np.float64


def test_complex_policy_is_refused() -> None:
    with pytest.raises(InvalidPolicyError, match=r"\[0, 0\] = \(0\.5\+1j\) is complex"):
        Policy([[0.5 + 1j, 0.5]])
    with pytest.raises(InvalidPolicyError, match="is complex"):
        MR(np.zeros(3), 0.9).compile(_env()).values(np.full((1, 3, 3), 1 / 3 + 1j))


@pytest.mark.parametrize(
    "make",
    [
        lambda r: MR(r, 0.9),
        lambda r: LAR(r),
        lambda r: ONMR(r, lambda x: x, 0.9),
        lambda r: RRL(r, lambda d: 0.0, 0.5, 0.9),
    ],
    ids=["MR", "LAR", "ONMR", "RRL"],
)
@pytest.mark.parametrize("reward", [np.array(["0", "1", "0"]), ["0", "x", "1"]], ids=str)
def test_string_rewards_get_a_named_error(make: Any, reward: Any) -> None:
    with pytest.raises(InvalidSpecificationError, match=r"reward\[0\] = '0' is a string"):
        make(reward).compile(_env()).values([Policy.uniform(3, 3)])


def _boom(*args: Any) -> float:
    raise ZeroDivisionError("boom")


@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize(
    "spec, what",
    [
        (ONMR(np.array([0.0, 1.0, 0.0]), _boom, 0.9), "OuterNonlinearMarkovReward function _boom"),
        (FPR(_boom), "FPR function _boom"),
        (FOMR(_boom, 0.9), "OccupancyMeasureFunction function _boom"),
        (RRL(np.zeros(3), _boom, 0.5, 0.9), "regulariser"),
    ],
    ids=["ONMR", "FPR", "FOMR", "RRL"],
)
def test_user_function_errors_name_the_function_policy_and_argument(
    spec: Any, what: str, exact: bool
) -> None:
    with pytest.raises(InvalidSpecificationError) as info:
        spec.compile(_env(), exact=exact).values([Policy.uniform(3, 3)])
    message = str(info.value)
    assert what in message and "raised ZeroDivisionError (boom) on the argument" in message
    assert isinstance(info.value.__cause__, ZeroDivisionError)


def _rock_paper_scissors_on_vectors() -> Any:
    def kind(x: Any) -> int:
        return 0 if max(x) < 1e-9 else (1 if x[0] > x[1] else 2)

    return from_comparator(lambda x, y: [0, 1, -1][(kind(x) - kind(y)) % 3])


def test_a_comparator_that_is_not_transitive_is_refused_by_compare() -> None:
    rewards = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    ev = GOMORL(rewards, _rock_paper_scissors_on_vectors(), 0.9).compile(_env())
    stay, to_1 = Policy.deterministic([0, 0, 0], 3), Policy.deterministic([1, 1, 1], 3)
    with pytest.raises(InvalidSpecificationError, match="not transitive"):
        ev.compare(stay, to_1)


def test_a_transitive_comparator_is_accepted() -> None:
    rewards = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    ev = GOMORL(rewards, from_comparator(lambda x, y: np.sign(x[0] - y[0])), 0.9).compile(_env())
    assert ev.compare(Policy.deterministic([1, 1, 1], 3), Policy.deterministic([0, 0, 0], 3)) == 1
    order = OMO(by_key(lambda m: round(float(m.sum()), 6)), 0.9).compile(_env())
    assert order.compare(Policy.uniform(3, 3), Policy.deterministic([0, 0, 0], 3)) == 0


def test_spec_env_step_before_reset_is_refused() -> None:
    env = SpecEnv(_env(), MR(np.array([1.0, 0.0, 0.0]), 0.9))
    with pytest.raises(ResetNeededError, match="before reset"):
        env.step(0)
    env.reset(seed=0)
    assert env.step(1)[1] == 1.0


def test_doctests_collect_without_the_torch_extra(tmp_path: Path) -> None:
    (tmp_path / "torch.py").write_text('raise ImportError("torch is not installed")\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "objspec/mdp"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "torch_backend" not in done.stdout


def test_the_comparator_sample_respects_disabled_actions() -> None:
    P = np.zeros((3, 3, 3))
    for a in range(3):
        P[:, a, a] = 1.0
    P[0, 0] = 0.0  # action 0 is disabled in state 0
    enabled = np.ones((3, 3), dtype=bool)
    enabled[0, 0] = False
    env = FiniteMDP(P, [1.0, 0.0, 0.0], enabled=enabled)
    rewards = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    ev = GOMORL(rewards, from_comparator(lambda x, y: np.sign(x[0] - y[0])), 0.9).compile(env)
    assert ev.compare(Policy.deterministic([1, 1, 1], 3), Policy.deterministic([2, 0, 0], 3)) == 1
    cyclic = from_comparator(lambda x, y: [0, 1, -1][(int(np.argmax(x)) - int(np.argmax(y))) % 3])
    bad = GOMORL(np.eye(3), cyclic, 0.9).compile(env)  # each state's visits; argmax cycles
    with pytest.raises(InvalidSpecificationError, match="not transitive"):
        bad.rank([Policy.deterministic([1, 1, 1], 3)] * 70)  # a batch past CHECK_LIMIT
