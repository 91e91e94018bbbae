"""Backends: selection, and the torch kernels against numpy (float64, same numbers)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from test_mdp_strategies import random_policies, random_sparse_mdp

from objspec.errors import ObjspecError
from objspec.mdp import FiniteMDP, evaluate, optimal_values, state_visitation
from objspec.mdp.backends import available_backends, get_backend, set_backend, use_backend
from objspec.mdp.kernels import NUMPY, KrylovReport, krylov_solve
from objspec.mdp.linear import certify, solve_policy_systems


def test_default_backend_and_context_manager() -> None:
    assert get_backend().name == "numpy"
    with use_backend("numpy") as backend:
        assert backend.name == "numpy"
    assert "numpy" in available_backends()


def test_unknown_backend_raises() -> None:
    with pytest.raises(ObjspecError, match="unknown backend 'jax'"):
        set_backend("jax")
    with pytest.raises(ObjspecError, match="unknown backend"), use_backend("cupy"):
        pass
    assert get_backend().name == "numpy"


def test_numpy_bellman_max_layout_and_first_maximiser() -> None:
    env = random_sparse_mdp(np.random.default_rng(0), 5, 3, 2)
    r = np.zeros((5, 3, 2))
    r[:, 2, 0] = 1.0  # reward 0: action 2 is best; reward 1: all tie, first one wins
    values, actions = get_backend().bellman_max(env, r, np.zeros((5, 2)), 0.9)
    assert values.shape == actions.shape == (5, 2)
    assert (actions[:, 0] == 2).all() and (actions[:, 1] == 0).all()
    assert np.array_equal(values[:, 0], np.ones(5))


@pytest.fixture
def torch_backend() -> str:
    pytest.importorskip("torch")
    assert "torch" in available_backends()
    return "torch"


@pytest.mark.parametrize("method", ["direct", "krylov"])
def test_torch_evaluation_matches_numpy(torch_backend: str, method: str) -> None:
    rng = np.random.default_rng(1)
    S, A = 150, 3
    env = random_sparse_mdp(rng, S, A, 4)
    pis = random_policies(rng, 6, S, A)
    pis[0] = random_policies(rng, 1, S, A, deterministic=True)[0]
    R = rng.normal(size=(3, S, A))
    ref = evaluate(env, pis, R, 0.99, tol=1e-13, method=method)
    d_ref = state_visitation(env, pis, 0.99, tol=1e-13, method=method)
    with use_backend(torch_backend) as backend:
        assert backend.name == "torch"
        got = evaluate(env, pis, R, 0.99, tol=1e-13, method=method)
        d_got = state_visitation(env, pis, 0.99, tol=1e-13, method=method)
    assert np.abs(got.values - ref.values).max() <= 1e-10
    assert np.abs(d_got - d_ref).max() <= 1e-10


def test_torch_control_matches_numpy(torch_backend: str) -> None:
    rng = np.random.default_rng(2)
    env = random_sparse_mdp(rng, 200, 4, 5)
    R = rng.random((8, 200, 4))
    ref = optimal_values(env, R, 0.99, tol=1e-10)
    with use_backend(torch_backend):
        got = optimal_values(env, R, 0.99, tol=1e-10)
    assert np.abs(got.values - ref.values).max() <= got.error_bound + ref.error_bound
    assert np.array_equal(got.policies, ref.policies)
    assert got.error_bound <= 1e-10


def test_torch_bellman_max_ties_pick_first_action(torch_backend: str) -> None:
    from objspec.mdp.torch_backend import TorchBackend

    env = random_sparse_mdp(np.random.default_rng(3), 7, 3, 2)
    r = np.ones((7, 3, 1))  # exact ties between all actions
    values, actions = TorchBackend().bellman_max(env, r, np.zeros((7, 1)), 0.5)
    assert np.array_equal(values, np.ones((7, 1)))
    assert (actions == 0).all()


def test_importing_objspec_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, objspec, objspec.mdp.linear, objspec.mdp.backends, objspec.mdp.kernels\n"
        "from objspec.mdp import evaluate\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def _periodic_env(blocks: int, size: int, seed: int) -> FiniteMDP:
    """Block-cyclic chain: Richardson stalls on it, so BiCGSTAB does the work."""
    rng = np.random.default_rng(seed)
    S = blocks * size
    s = np.repeat(np.arange(S), 2)
    nxt = ((s // size + 1) % blocks) * size
    cols = np.concatenate([rng.choice(size, 2, replace=False) for _ in range(S)]) + nxt
    w = rng.random((S, 2)) + 0.1
    P = sp.csr_matrix(((w / w.sum(axis=1, keepdims=True)).ravel(), (s, cols)), shape=(S, S))
    return FiniteMDP(P, np.full(S, 1.0 / S))


def _same_run(env: FiniteMDP, pi: np.ndarray, rhs: np.ndarray, gamma: float,
              transpose: bool) -> KrylovReport:
    from objspec.mdp.torch_backend import TorchBackend

    x_np, rep_np = krylov_solve(NUMPY, env, pi, rhs, gamma, transpose, 1e-12, 1000)
    x_t, rep_t = krylov_solve(TorchBackend("cpu").xp, env, pi, rhs, gamma, transpose,
                              1e-12, 1000)
    # the same steps: rounding may move a stopping test by at most one iteration
    assert rep_t.handed_over == rep_np.handed_over
    assert abs(rep_t.sweeps - rep_np.sweeps) <= 1
    assert abs(rep_t.iterations - rep_np.iterations) <= 1
    assert rep_t.restarts == rep_np.restarts
    mid_np, bound_np = certify(env, pi, rhs, x_np, gamma, transpose)
    mid_t, bound_t = certify(env, pi, rhs, x_t, gamma, transpose)
    scale = np.maximum(1.0, np.abs(rhs).max(axis=1)) / (1.0 - gamma)
    assert (bound_np <= 1e-10 * scale).all() and (bound_t <= 1e-10 * scale).all()
    diff = np.abs(mid_t - mid_np)
    gap = diff.sum(axis=1) if transpose else diff.max(axis=1)
    assert (gap <= bound_np + bound_t).all()  # both within their certified bounds
    return rep_np


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("gamma", [0.9, 0.999])
def test_torch_runs_the_numpy_iteration_on_random_chains(
    torch_backend: str, seed: int, gamma: float
) -> None:
    rng = np.random.default_rng(seed)
    env = random_sparse_mdp(rng, 300, 3, 3)
    report = _same_run(env, random_policies(rng, 5, 300, 3), rng.normal(size=(5, 300, 2)),
                       gamma, False)
    assert report.sweeps > 0


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("transpose", [False, True])
def test_torch_runs_the_numpy_bicgstab_on_periodic_chains(
    torch_backend: str, seed: int, transpose: bool
) -> None:
    env = _periodic_env(4, 50, seed)
    rhs = np.random.default_rng(seed).normal(size=(1, env.n_states, 3))
    report = _same_run(env, np.ones((1, env.n_states, 1)), rhs, 0.99, transpose)
    assert report.handed_over == 3 and report.iterations > 0  # BiCGSTAB did the work


@pytest.mark.parametrize("transpose", [False, True])
def test_torch_recovers_from_a_breakdown_on_a_long_ring(
    torch_backend: str, transpose: bool
) -> None:
    from objspec.mdp.torch_backend import TorchBackend

    S, gamma = 2000, 0.9  # deterministic ring: BiCGSTAB breaks down, LU certifies
    s = np.arange(S)
    env = FiniteMDP(sp.csr_matrix((np.ones(S), (s, (s + 1) % S)), shape=(S, S)), np.eye(S)[0])
    pi = np.ones((1, S, 1))
    rhs = np.zeros((1, S, 1))
    rhs[0, S // 2] = 1.0
    x, report = krylov_solve(TorchBackend("cpu").xp, env, pi, rhs, gamma, transpose, 1e-12,
                             1000)
    # BiCGSTAB broke down and restarted (rather than stopping) and returns a finite iterate
    assert np.isfinite(x).all() and report.handed_over == 1 and report.restarts >= 1
    ref = solve_policy_systems(env, pi, rhs, gamma, transpose=transpose, method="krylov")
    with use_backend(torch_backend):
        got = solve_policy_systems(env, pi, rhs, gamma, transpose=transpose, method="krylov")
    # whether the restarted iterate certifies depends on rounding; the result always does
    assert got.method.startswith("krylov") and ref.method.startswith("krylov")
    assert np.abs(got.x - ref.x).max() <= got.error_bound.max() + ref.error_bound.max()
    assert got.error_bound.max() <= 1e-10
