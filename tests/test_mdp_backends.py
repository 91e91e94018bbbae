"""Backends: selection, and the torch kernels against numpy (float64, same numbers)."""

from __future__ import annotations

import numpy as np
import pytest
from test_mdp_strategies import random_policies, random_sparse_mdp

from objspec.errors import ObjspecError
from objspec.mdp import evaluate, optimal_values, state_visitation
from objspec.mdp.backends import available_backends, get_backend, set_backend, use_backend


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
