"""Array backends for the batched evaluation kernels.

objspec computes with numpy/scipy by default. The heavy kernels (dense batched solves and
the batched Krylov iteration of :mod:`objspec.mdp.linear`) can instead run on torch in
float64, on CUDA when a GPU is present, giving the same numbers to about ``1e-10``. The
iterative solve is one kernel, :func:`objspec.mdp.kernels.krylov_solve`, which each backend
runs over its own array namespace (numpy here, torch tensors in
:mod:`objspec.mdp.torch_backend`, imported only when ``"torch"`` is selected).

How a backend is chosen, first match wins:

1. :func:`use_backend` as a context manager, or :func:`set_backend` (process-wide);
2. the environment variable ``OBJSPEC_BACKEND`` (``numpy`` or ``torch``) read at import;
3. ``numpy``.

Results are always returned as numpy arrays, so callers never see torch tensors, and every
result is certified on the numpy side (:func:`objspec.mdp.linear.certify`,
:func:`objspec.mdp.control.bellman_optimality_bounds`), whichever backend computed it.

``"torch"`` needs the optional dependency (``pip install 'objspec[gpu]'``); asking for it
without torch raises :class:`~objspec.errors.ObjspecError`, and
:func:`available_backends` lists only what can be loaded (the test suite skips the torch
tests then). A backend implements the :class:`Backend` protocol: ``dense_policy_solve``,
``krylov_policy_solve`` and ``bellman_max`` (the last in an ``[S, A, K]`` reward layout,
see its docstring).

Examples
--------
>>> from objspec.mdp.backends import get_backend, use_backend
>>> get_backend().name
'numpy'
>>> with use_backend("numpy"):
...     get_backend().name
'numpy'
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Protocol

import numpy as np

from objspec.errors import ObjspecError
from objspec.mdp.kernels import NUMPY, dense_numpy, krylov_solve
from objspec.mdp.model import FiniteMDP

__all__ = [
    "Backend",
    "NumpyBackend",
    "available_backends",
    "get_backend",
    "set_backend",
    "use_backend",
]


class Backend(Protocol):
    """The kernels a backend provides. Inputs and outputs are numpy float64 arrays."""

    name: str

    def dense_policy_solve(
        self, env: FiniteMDP, pi: np.ndarray, rhs: np.ndarray, gamma: float, transpose: bool
    ) -> np.ndarray: ...

    def krylov_policy_solve(
        self,
        env: FiniteMDP,
        pi: np.ndarray,
        rhs: np.ndarray,
        gamma: float,
        transpose: bool,
        tol: float,
        max_iter: int,
    ) -> np.ndarray: ...

    def bellman_max(
        self, env: FiniteMDP, r: np.ndarray, values: np.ndarray, gamma: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """One Bellman optimality backup for ``K`` rewards at once.

        ``r`` is ``[S, A, K]`` (expected one-step rewards, reward index last) and ``values``
        is ``[S, K]``; returns ``(T V, greedy actions)``, both ``[S, K]``. The reward index is
        last so that ``P @ values`` is one sparse-times-dense product whose result reshapes
        to ``[S, A, K]`` without a copy.
        """
        ...


class NumpyBackend:
    """numpy/scipy kernels (the default)."""

    name = "numpy"

    def dense_policy_solve(
        self, env: FiniteMDP, pi: np.ndarray, rhs: np.ndarray, gamma: float, transpose: bool
    ) -> np.ndarray:
        return dense_numpy(env, pi, rhs, gamma, transpose)

    def krylov_policy_solve(
        self,
        env: FiniteMDP,
        pi: np.ndarray,
        rhs: np.ndarray,
        gamma: float,
        transpose: bool,
        tol: float,
        max_iter: int,
    ) -> np.ndarray:
        return krylov_solve(NUMPY, env, pi, rhs, gamma, transpose, tol, max_iter)[0]

    def bellman_max(
        self, env: FiniteMDP, r: np.ndarray, values: np.ndarray, gamma: float
    ) -> tuple[np.ndarray, np.ndarray]:
        S, A, K = r.shape
        q = np.asarray(env.transition_matrix @ values).reshape(S, A, K)
        q *= gamma
        q += r
        # a loop over the few actions on contiguous [S, K] slices beats max/argmax over the
        # middle axis by several times; strict ">" keeps the first maximiser, like argmax
        best = q[:, 0, :].copy()
        actions = np.zeros((S, K), dtype=np.int64)
        for a in range(1, A):
            qa = q[:, a, :]
            better = qa > best
            actions[better] = a
            np.maximum(best, qa, out=best)
        return best, actions


_BACKENDS: dict[str, Backend] = {"numpy": NumpyBackend()}
_current: list[str] = [os.environ.get("OBJSPEC_BACKEND", "numpy").strip().lower() or "numpy"]


def _load(name: str) -> Backend:
    if name in _BACKENDS:
        return _BACKENDS[name]
    if name == "torch":
        try:
            from objspec.mdp.torch_backend import TorchBackend
        except ImportError as exc:
            raise ObjspecError(
                "the torch backend needs torch: pip install 'objspec[gpu]'"
            ) from exc
        _BACKENDS["torch"] = TorchBackend()
        return _BACKENDS["torch"]
    raise ObjspecError(f"unknown backend {name!r}; choose one of 'numpy', 'torch'")


def available_backends() -> list[str]:
    """Names of the backends that can be used in this process."""
    names = ["numpy"]
    try:
        import torch  # noqa: F401

        names.append("torch")
    except ImportError:
        pass
    return names


def get_backend() -> Backend:
    """The backend in force (see the module docstring for how it is chosen)."""
    return _load(_current[-1])


def set_backend(name: str) -> None:
    """Choose the process-wide backend: ``"numpy"`` or ``"torch"``."""
    _load(name)
    _current[0] = name
    del _current[1:]


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[Backend]:
    """Use backend ``name`` inside a ``with`` block."""
    backend = _load(name)
    _current.append(name)
    try:
        yield backend
    finally:
        _current.pop()
