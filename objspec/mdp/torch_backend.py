"""The torch backend: the kernels of :mod:`objspec.mdp.backends` on torch, in float64.

Runs on CUDA when ``torch.cuda.is_available()`` and on the CPU otherwise (or on the device
given to :class:`TorchBackend`). Every computation is float64, so results agree with the
numpy backend to about ``1e-10`` (both are certified by the same residual check in
:func:`objspec.mdp.linear.solve_policy_systems`). The iterative solve is the one kernel of
:mod:`objspec.mdp.kernels` run over :class:`TorchNamespace` (torch tensors), so it takes the
same steps as on numpy. Inputs and outputs are numpy arrays; the sparse transition matrix of
an environment is copied to the device once and cached.

Select it with ``objspec.mdp.backends.use_backend("torch")``, ``set_backend("torch")`` or
``OBJSPEC_BACKEND=torch``.

Examples
--------
>>> import numpy as np
>>> from objspec import FiniteMDP
>>> from objspec.mdp.torch_backend import TorchBackend
>>> env = FiniteMDP(np.ones((1, 2, 1)), [1.0])
>>> backend = TorchBackend(device="cpu")
>>> values, actions = backend.bellman_max(env, np.array([[[1.0], [2.0]]]), np.zeros((1, 1)), 0.5)
>>> values, actions
(array([[2.]]), array([[1]]))
"""

from __future__ import annotations

import contextlib
import warnings
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from objspec.mdp.kernels import ChainOperator, krylov_solve
from objspec.mdp.model import FiniteMDP

__all__ = ["TorchBackend", "TorchNamespace"]


class _TorchChain:
    """``v -> P_pi v`` (or ``P_pi^T v``) on a state-major tensor ``v[S, C]``: one sparse CSR
    product and one weighting by the policies, as the numpy chain operator."""

    def __init__(self, P: torch.Tensor, S: int, A: int, w: torch.Tensor, transpose: bool) -> None:
        self.P, self.S, self.A, self.w, self.transpose = P, S, A, w, transpose

    def columns(self, cols: torch.Tensor) -> _TorchChain:
        """The operator restricted to the columns ``cols``."""
        return _TorchChain(self.P, self.S, self.A, self.w[:, :, cols].contiguous(), self.transpose)

    def __call__(self, v: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        S, A = self.S, self.A
        if self.transpose:
            res = self.P @ (v[:, None, :] * self.w).reshape(S * A, -1)
        else:
            res = torch.einsum("sac,sac->sc", (self.P @ v).reshape(S, A, -1), self.w)
        if out is None:
            return res
        out.copy_(res)
        return out


class TorchNamespace:
    """:class:`~objspec.mdp.kernels.ArrayNamespace` on float64 torch tensors of one device.

    The sparse transition matrix of an environment (and its transpose) is copied to the
    device once and cached for as long as the environment lives.
    """

    name = "torch"

    def __init__(self, device: Any) -> None:
        self.device = torch.device(device)
        self._matrices: weakref.WeakKeyDictionary[FiniteMDP, dict[str, torch.Tensor]] = (
            weakref.WeakKeyDictionary()
        )

    def asarray(self, a: Any) -> torch.Tensor:
        arr = np.ascontiguousarray(a, dtype=np.float64)
        if not arr.flags.writeable:  # torch cannot wrap read-only memory
            arr = arr.copy()
        return torch.as_tensor(arr, device=self.device)

    def to_numpy(self, a: torch.Tensor) -> np.ndarray:
        return np.asarray(a.cpu().numpy())

    def csr(self, env: FiniteMDP, transpose: bool = False) -> torch.Tensor:
        """``env.transition_matrix`` (or its transpose) as a torch CSR tensor (cached)."""
        cache = self._matrices.setdefault(env, {})
        key = "PT" if transpose else "P"
        if key not in cache:
            m = env.transition_matrix.T.tocsr() if transpose else env.transition_matrix
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "CSR support is in beta"
                cache[key] = torch.sparse_csr_tensor(
                    torch.as_tensor(m.indptr.astype(np.int64), device=self.device),
                    torch.as_tensor(m.indices.astype(np.int64), device=self.device),
                    torch.as_tensor(m.data.copy(), dtype=torch.float64, device=self.device),
                    size=m.shape,
                    check_invariants=True,  # once per environment; a valid CSR by construction
                )
        return cache[key]

    def dense_transitions(self, env: FiniteMDP) -> torch.Tensor:
        """``env.transitions`` as a dense ``[S, A, S]`` tensor (cached)."""
        cache = self._matrices.setdefault(env, {})
        if "dense" not in cache:
            cache["dense"] = self.asarray(env.transitions)
        return cache["dense"]

    def chain(self, env: FiniteMDP, pi: np.ndarray, M: int, transpose: bool) -> ChainOperator:
        w = pi.transpose(1, 2, 0)
        w = w if M == 1 else np.repeat(w, M, axis=2)
        return _TorchChain(
            self.csr(env, transpose), env.n_states, env.n_actions, self.asarray(w), transpose
        )

    def zeros(self, shape: tuple[int, ...]) -> torch.Tensor:
        return torch.zeros(shape, dtype=torch.float64, device=self.device)

    def full(self, shape: tuple[int, ...], value: float) -> torch.Tensor:
        return torch.full(shape, value, dtype=torch.float64, device=self.device)

    def empty(self, shape: tuple[int, ...]) -> torch.Tensor:
        return torch.empty(shape, dtype=torch.float64, device=self.device)

    def zeros_like(self, a: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(a)

    def empty_like(self, a: torch.Tensor) -> torch.Tensor:
        return torch.empty_like(a)

    def counters(self, n: int) -> torch.Tensor:
        return torch.zeros(n, dtype=torch.int64, device=self.device)

    def flags(self, n: int) -> torch.Tensor:
        return torch.zeros(n, dtype=torch.bool, device=self.device)

    def arange(self, n: int) -> torch.Tensor:
        return torch.arange(n, dtype=torch.int64, device=self.device)

    def copy(self, a: torch.Tensor) -> torch.Tensor:
        return a.to(torch.float64).clone()

    def contiguous(self, a: torch.Tensor) -> torch.Tensor:
        return a.contiguous()

    def where(self, cond: torch.Tensor, a: Any, b: Any) -> torch.Tensor:
        if not isinstance(a, torch.Tensor) and not isinstance(b, torch.Tensor):
            a = torch.tensor(float(a), dtype=torch.float64, device=self.device)  # not float32
        return torch.where(cond, a, b)

    def isfinite(self, a: torch.Tensor) -> torch.Tensor:
        return torch.isfinite(a)

    def abs(self, a: torch.Tensor) -> torch.Tensor:
        return torch.abs(a)

    def sqrt(self, a: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(a)

    def log(self, a: torch.Tensor) -> torch.Tensor:
        return torch.log(a)

    def exp(self, a: torch.Tensor) -> torch.Tensor:
        return torch.exp(a)

    def maximum(self, a: torch.Tensor, b: Any) -> torch.Tensor:
        if isinstance(b, torch.Tensor):
            return torch.maximum(a, b)
        return torch.clamp(a, min=float(b))

    def amax(self, a: torch.Tensor, axis: int) -> torch.Tensor:
        return torch.amax(a, dim=axis)

    def amin(self, a: torch.Tensor, axis: int) -> torch.Tensor:
        return torch.amin(a, dim=axis)

    def sum(self, a: torch.Tensor, axis: int) -> torch.Tensor:
        return torch.sum(a, dim=axis)

    def mean(self, a: torch.Tensor, axis: int) -> torch.Tensor:
        return torch.mean(a, dim=axis)

    def all(self, a: torch.Tensor, axis: int) -> torch.Tensor:
        return torch.all(a, dim=axis)

    def dot(self, u: torch.Tensor, w: torch.Tensor, axis: int) -> torch.Tensor:
        return torch.einsum("ij,ij->j" if axis == 0 else "ij,ij->i", u, w)

    def concat(self, parts: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.cat(list(parts))

    def sort(self, a: torch.Tensor) -> torch.Tensor:
        return torch.sort(a).values

    def copyto(self, dst: torch.Tensor, src: Any, where: torch.Tensor) -> None:
        if isinstance(src, torch.Tensor):
            dst.copy_(torch.where(where, src, dst))
        else:
            dst.masked_fill_(where, float(src))

    def multiply(self, a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        return torch.mul(a, b, out=out)

    def errstate(self) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()  # torch does not warn on inf/NaN arithmetic


class TorchBackend:
    """torch kernels (float64; CUDA when available).

    Parameters
    ----------
    device : str or torch.device, optional
        Where to compute; default ``"cuda"`` if available, else ``"cpu"``.
    """

    name = "torch"

    def __init__(self, device: Any = None) -> None:
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.xp = TorchNamespace(device)
        self.device = self.xp.device

    # ------------------------------------------------------------------ kernels
    def dense_policy_solve(
        self, env: FiniteMDP, pi: np.ndarray, rhs: np.ndarray, gamma: float, transpose: bool
    ) -> np.ndarray:
        """Batched dense LU solve of ``(I - gamma P_pi) X = B`` (or its transpose)."""
        tau = self.xp.dense_transitions(env)
        chains = torch.einsum("nsa,sat->nst", self.xp.asarray(pi), tau)
        if transpose:
            chains = chains.transpose(1, 2)
        eye = torch.eye(env.n_states, dtype=torch.float64, device=self.device)
        system = eye.unsqueeze(0) - gamma * chains
        out = torch.linalg.solve(system, self.xp.asarray(rhs))
        return self.xp.to_numpy(out)

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
        """The iterative solve of :func:`objspec.mdp.kernels.krylov_solve`, on torch.

        The same extrapolated Richardson phase and the same BiCGSTAB (norm, restarts,
        best iterate, acceptance tests) as the numpy backend, since both run the one kernel;
        :func:`objspec.mdp.linear.solve_policy_systems` certifies the result and solves the
        systems it cannot certify again by sparse LU.
        """
        return krylov_solve(self.xp, env, pi, rhs, gamma, transpose, tol, max_iter)[0]

    def bellman_max(
        self, env: FiniteMDP, r: np.ndarray, values: np.ndarray, gamma: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """One Bellman optimality backup; ``r`` is ``[S, A, K]``, ``values`` ``[S, K]``."""
        S, A, K = r.shape
        xp = self.xp
        q = (xp.csr(env) @ xp.asarray(values)).reshape(S, A, K) * gamma + xp.asarray(r)
        # first maximiser, like numpy's argmax (torch.max may return any of tied indices)
        best = q[:, 0, :].clone()
        actions = torch.zeros((S, K), dtype=torch.int64, device=self.device)
        for a in range(1, A):
            better = q[:, a, :] > best
            actions[better] = a
            best = torch.maximum(best, q[:, a, :])
        return xp.to_numpy(best), actions.cpu().numpy()
