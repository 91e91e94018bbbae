"""The torch backend: the kernels of :mod:`objspec.mdp.backends` on torch, in float64.

Runs on CUDA when ``torch.cuda.is_available()`` and on the CPU otherwise (or on the device
given to :class:`TorchBackend`). Every computation is float64, so results agree with the
numpy backend to about ``1e-10`` (both are certified by the same residual check in
:func:`objspec.mdp.linear.solve_policy_systems`). Inputs and outputs are numpy arrays; the
sparse transition matrix of an environment is copied to the device once and cached.

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

import warnings
import weakref
from typing import Any

import numpy as np
import torch

from objspec.mdp.kernels import _jacobi_diagonal
from objspec.mdp.model import FiniteMDP

__all__ = ["TorchBackend"]


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
        self.device = torch.device(device)
        self._matrices: weakref.WeakKeyDictionary[FiniteMDP, dict[str, torch.Tensor]] = (
            weakref.WeakKeyDictionary()
        )

    # ------------------------------------------------------------------ helpers
    def _tensor(self, x: np.ndarray) -> torch.Tensor:
        arr = np.ascontiguousarray(x, dtype=np.float64)
        if not arr.flags.writeable:  # torch cannot wrap read-only memory
            arr = arr.copy()
        return torch.as_tensor(arr, device=self.device)

    def _csr(self, env: FiniteMDP, transpose: bool = False) -> torch.Tensor:
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

    def _dense_transitions(self, env: FiniteMDP) -> torch.Tensor:
        cache = self._matrices.setdefault(env, {})
        if "dense" not in cache:
            cache["dense"] = self._tensor(env.transitions)
        return cache["dense"]

    # ------------------------------------------------------------------ kernels
    def dense_policy_solve(
        self, env: FiniteMDP, pi: np.ndarray, rhs: np.ndarray, gamma: float, transpose: bool
    ) -> np.ndarray:
        """Batched dense LU solve of ``(I - gamma P_pi) X = B`` (or its transpose)."""
        tau = self._dense_transitions(env)
        chains = torch.einsum("nsa,sat->nst", self._tensor(pi), tau)
        if transpose:
            chains = chains.transpose(1, 2)
        eye = torch.eye(env.n_states, dtype=torch.float64, device=self.device)
        system = eye.unsqueeze(0) - gamma * chains
        out = torch.linalg.solve(system, self._tensor(rhs))
        return np.asarray(out.cpu().numpy())

    def _chain(
        self, env: FiniteMDP, w: torch.Tensor, v: torch.Tensor, transpose: bool
    ) -> torch.Tensor:
        S, A = env.n_states, env.n_actions
        if transpose:
            return self._csr(env, True) @ (v[:, None, :] * w).reshape(S * A, -1)
        return torch.einsum("sac,sac->sc", (self._csr(env) @ v).reshape(S, A, -1), w)

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
        """Batched Jacobi-preconditioned BiCGSTAB, as :func:`objspec.mdp.linear.krylov_numpy`.

        A system stops at a breakdown or a non-finite iterate (and non-finite columns are
        returned as zeros); :func:`objspec.mdp.linear.solve_policy_systems` certifies the
        result and solves such systems again by sparse LU. With ``method="auto"``,
        deterministic chains never get here (they are summed exactly by the power series).
        """
        N, S, M = rhs.shape
        w = self._tensor(np.repeat(pi.transpose(1, 2, 0), M, axis=2))
        diag = self._tensor(_jacobi_diagonal(env, pi, gamma).T.repeat(M, axis=1))

        def op(v: torch.Tensor) -> torch.Tensor:
            return v - gamma * self._chain(env, w, v, transpose)

        def norm(v: torch.Tensor) -> torch.Tensor:
            return v.abs().sum(dim=0) if transpose else v.abs().amax(dim=0)

        def dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return (a * b).sum(dim=0)

        b = self._tensor(rhs.transpose(1, 0, 2).reshape(S, N * M))
        # as in krylov_numpy: never aim below the rounding floor of the residual
        indptr = env.transition_matrix.indptr
        n = env.n_actions * int((indptr[1:] - indptr[:-1]).max()) + 3
        size = norm(b)
        floor = 4.0 * n * float(np.finfo(np.float64).eps) * size / (1.0 - gamma)
        target = torch.maximum(tol * torch.clamp(size, min=1.0), floor)
        x = b / diag
        r = b - op(x)
        r_hat = r.clone()
        C = N * M
        ones = torch.ones(C, dtype=torch.float64, device=self.device)
        zeros = torch.zeros(C, dtype=torch.float64, device=self.device)
        rho, alpha, omega = ones.clone(), ones.clone(), ones.clone()
        v = torch.zeros_like(x)
        p = torch.zeros_like(x)
        done = norm(r) <= target
        tiny = 1e-300
        for _ in range(max_iter):
            if bool(done.all()):
                break
            live = ~done
            rho_new = dot(r_hat, r)
            safe = live & (rho.abs() > tiny) & (omega.abs() > tiny)
            beta = torch.where(
                safe,
                (rho_new / torch.where(safe, rho, ones)) * (alpha / torch.where(safe, omega, ones)),
                zeros,
            )
            p = r + beta * (p - omega * v)
            phat = p / diag
            v = op(phat)
            denom = dot(r_hat, v)
            ok = live & (denom.abs() > tiny) & torch.isfinite(denom)
            alpha = torch.where(ok, rho_new / torch.where(ok, denom, ones), zeros)
            s = r - alpha * v
            x = x + alpha * phat
            half_done = norm(s) <= target
            shat = s / diag
            t = op(shat)
            tt = dot(t, t)
            ok2 = ok & ~half_done & (tt > tiny)
            omega = torch.where(ok2, dot(t, s) / torch.where(ok2, tt, ones), zeros)
            x = x + omega * shat
            r = torch.where(ok2, s - omega * t, s)
            rho = rho_new
            # NaN fails every "<=": a non-finite system is stopped explicitly, and so is a
            # breakdown (~ok); both are left to the certified fallback on the numpy side
            r_norm = norm(r)
            finite = torch.isfinite(r_norm) & torch.isfinite(alpha) & torch.isfinite(omega)
            done = done | half_done | (r_norm <= target) | ~ok | ~finite
        # never hand back a non-finite iterate: such systems restart from 0 in the fallback
        x = torch.where(torch.isfinite(x).all(dim=0), x, torch.zeros_like(x))
        out = x.cpu().numpy().reshape(S, N, M).transpose(1, 0, 2)
        return np.ascontiguousarray(out)

    def bellman_max(
        self, env: FiniteMDP, r: np.ndarray, values: np.ndarray, gamma: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """One Bellman optimality backup; ``r`` is ``[S, A, K]``, ``values`` ``[S, K]``."""
        S, A, K = r.shape
        q = (self._csr(env) @ self._tensor(values)).reshape(S, A, K) * gamma + self._tensor(r)
        # first maximiser, like numpy's argmax (torch.max may return any of tied indices)
        best = q[:, 0, :].clone()
        actions = torch.zeros((S, K), dtype=torch.int64, device=self.device)
        for a in range(1, A):
            better = q[:, a, :] > best
            actions[better] = a
            best = torch.maximum(best, q[:, a, :])
        return best.cpu().numpy(), actions.cpu().numpy()
