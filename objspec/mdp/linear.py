"""Batched linear solves ``(I - gamma P_pi) X = B`` for many policies at once.

Two methods, chosen by :func:`solve_policy_systems` (``method="auto"``):

* ``"direct"``: dense batched LU (``numpy.linalg.solve`` over an ``[N, S, S]`` stack); used
  for small state spaces, where it is exact to rounding.
* ``"krylov"``: a BiCGSTAB iteration run on all ``N * M`` systems at once (per-column
  scalars, Jacobi preconditioning), whose only heavy step is one sparse product
  ``P @ X`` with ``X`` holding every column. No Python loop over policies. Columns that do
  not reach the target residual fall back to a sparse LU solve.

Both return a **certified** error bound from the true residual ``R = B - (I - gamma P_pi) X``:
since ``||(I - gamma P_pi)^{-1}||_inf <= 1 / (1 - gamma)`` for a stochastic ``P_pi``, the
value error is at most ``||R||_inf / (1 - gamma)``; for the transposed system (state
visitation) the same bound holds in the 1-norm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from objspec.mdp.model import FiniteMDP

__all__ = ["LinearSolution", "solve_policy_systems", "induced_chain_dense", "induced_chain_sparse"]

Method = Literal["auto", "direct", "krylov"]

#: Use dense batched LU when S is at most this and N * S**3 stays below DENSE_WORK.
DENSE_MAX_STATES = 300
DENSE_WORK = 2e9


@dataclass(frozen=True)
class LinearSolution:
    """Solution of a batch of policy systems.

    Attributes
    ----------
    x : numpy.ndarray
        ``[N, S, M]`` solutions.
    error_bound : numpy.ndarray
        ``[N, M]`` certified bounds on the solution error (sup norm for the value system,
        1-norm for the transposed system).
    method : str
        ``"direct"`` or ``"krylov"``.
    """

    x: np.ndarray
    error_bound: np.ndarray
    method: str


def induced_chain_dense(env: FiniteMDP, pi: np.ndarray) -> np.ndarray:
    """``P_pi[n, s, t] = sum_a pi[n, s, a] tau(t | s, a)`` as a dense ``[N, S, S]`` array."""
    return np.einsum("nsa,sat->nst", pi, env.transitions, optimize=True)


def induced_chain_sparse(env: FiniteMDP, pi_row: np.ndarray) -> sp.csr_matrix:
    """The chain of one policy (``pi_row`` shaped ``[S, A]``) as a CSR matrix ``(S, S)``."""
    S, A = env.n_states, env.n_actions
    weights = sp.csr_matrix(
        (pi_row.ravel(), (np.repeat(np.arange(S), A), np.arange(S * A))), shape=(S, S * A)
    )
    chain = (weights @ env.transition_matrix).tocsr()
    chain.eliminate_zeros()
    return chain


def _use_direct(env: FiniteMDP, n_policies: int) -> bool:
    S = env.n_states
    return S <= DENSE_MAX_STATES and n_policies * float(S) ** 3 <= DENSE_WORK


def _residual_norm(res: np.ndarray, transpose: bool) -> np.ndarray:
    # res: [N, S, M]; sup norm over states for values, 1-norm for visitation
    return np.abs(res).sum(axis=1) if transpose else np.abs(res).max(axis=1)


def solve_policy_systems(
    env: FiniteMDP,
    pi: np.ndarray,
    rhs: np.ndarray,
    gamma: float,
    *,
    transpose: bool = False,
    tol: float = 1e-12,
    method: Method = "auto",
    max_iter: int = 1000,
) -> LinearSolution:
    """Solve ``(I - gamma P_pi) X = B`` (or its transpose) for a batch of policies.

    Parameters
    ----------
    env : FiniteMDP
    pi : numpy.ndarray
        ``[N, S, A]`` validated policies.
    rhs : numpy.ndarray
        ``[N, S, M]`` right-hand sides (or ``[1, S, M]``, shared by all policies).
    gamma : float
        Discount in ``[0, 1)``.
    transpose : bool
        Solve ``(I - gamma P_pi)^T X = B`` (state visitation) instead.
    tol : float
        Relative target: the certified error bound is driven below
        ``tol * max(1, ||B||) / (1 - gamma)`` for every column.
    method : {"auto", "direct", "krylov"}

    Returns
    -------
    LinearSolution
    """
    N = pi.shape[0]
    S = env.n_states
    rhs = np.broadcast_to(rhs, (N, S, rhs.shape[2])).astype(np.float64)
    if method == "auto":
        method = "direct" if _use_direct(env, N) else "krylov"
    from objspec.mdp.backends import get_backend

    backend = get_backend()
    if method == "direct":
        x = backend.dense_policy_solve(env, pi, rhs, gamma, transpose)
    else:
        x = backend.krylov_policy_solve(env, pi, rhs, gamma, transpose, tol, max_iter)
    x = np.asarray(x, dtype=np.float64)
    res = rhs - apply_policy_operator(env, pi, x, gamma, transpose)
    bound = _residual_norm(res, transpose) / (1.0 - gamma)
    scale = np.maximum(1.0, _residual_norm(rhs, transpose)) / (1.0 - gamma)
    bad = bound > tol * scale * 10.0
    if bad.any():
        x, bound = _direct_fallback(env, pi, rhs, gamma, transpose, x, bound, bad)
    return LinearSolution(x=x, error_bound=bound, method=method)


def apply_policy_operator(
    env: FiniteMDP, pi: np.ndarray, x: np.ndarray, gamma: float, transpose: bool
) -> np.ndarray:
    """``(I - gamma P_pi) X`` (or the transpose) for every policy; ``x`` is ``[N, S, M]``."""
    return x - gamma * apply_chain(env, pi, x, transpose)


def apply_chain(env: FiniteMDP, pi: np.ndarray, x: np.ndarray, transpose: bool) -> np.ndarray:
    """``P_pi X`` (or ``P_pi^T X``) for every policy at once, with one sparse product.

    ``pi`` is ``[N, S, A]`` and ``x`` is ``[N, S, M]``; returns ``[N, S, M]``.
    """
    N, S, M = x.shape
    chain = _ChainOperator(env, pi, M, transpose)
    out = chain(np.ascontiguousarray(x.transpose(1, 0, 2).reshape(S, N * M)))
    return out.reshape(S, N, M).transpose(1, 0, 2)


class _ChainOperator:
    """``v -> P_pi v`` (or ``P_pi^T v``) on a state-major block ``v[S, C]``.

    Column ``c`` belongs to policy ``c // M``; the policy weights are expanded once.
    """

    def __init__(self, env: FiniteMDP, pi: np.ndarray, M: int, transpose: bool) -> None:
        self.S, self.A = env.n_states, env.n_actions
        self.P = env.transition_matrix
        self.PT = self.P.T.tocsr() if transpose else None
        self.w = np.ascontiguousarray(np.repeat(pi.transpose(1, 2, 0), M, axis=2))

    def __call__(self, v: np.ndarray) -> np.ndarray:
        S, A = self.S, self.A
        if self.PT is not None:
            return np.asarray(self.PT @ (v[:, None, :] * self.w).reshape(S * A, -1))
        return np.einsum("sac,sac->sc", np.asarray(self.P @ v).reshape(S, A, -1), self.w)


def _jacobi_diagonal(env: FiniteMDP, pi: np.ndarray, gamma: float) -> np.ndarray:
    S, A = env.n_states, env.n_actions
    self_loop = np.asarray(
        env.transition_matrix[np.arange(S * A), np.repeat(np.arange(S), A)]
    ).reshape(S, A)
    return 1.0 - gamma * np.einsum("nsa,sa->ns", pi, self_loop)


def krylov_numpy(
    env: FiniteMDP,
    pi: np.ndarray,
    rhs: np.ndarray,
    gamma: float,
    transpose: bool,
    tol: float,
    max_iter: int,
) -> np.ndarray:
    """Batched, Jacobi-preconditioned BiCGSTAB with per-column scalars (numpy/scipy).

    Works in a state-major layout ``[S, C]`` with one column per (policy, right-hand side)
    pair, so that each operator application is one sparse product plus one elementwise
    weighting by the policies.
    """
    N, S, M = rhs.shape
    chain = _ChainOperator(env, pi, M, transpose)
    diag = _jacobi_diagonal(env, pi, gamma).T.repeat(M, axis=1)  # [S, C]

    def op(v: np.ndarray) -> np.ndarray:
        return v - gamma * chain(v)

    def norm(v: np.ndarray) -> np.ndarray:
        return np.abs(v).sum(axis=0) if transpose else np.abs(v).max(axis=0)

    b = rhs.transpose(1, 0, 2).reshape(S, N * M)
    # error bound ||r|| / (1 - gamma) <= tol * max(1, ||b||) / (1 - gamma)
    target = tol * np.maximum(1.0, norm(b))
    x = b / diag
    r = b - op(x)
    r_hat = r.copy()
    rho = np.ones(N * M)
    alpha = np.ones(N * M)
    omega = np.ones(N * M)
    v = np.zeros_like(x)
    p = np.zeros_like(x)
    done = norm(r) <= target
    tiny = 1e-300
    for _ in range(max_iter):
        if done.all():
            break
        live = ~done
        rho_new = np.einsum("sc,sc->c", r_hat, r)
        safe = live & (np.abs(rho) > tiny) & (np.abs(omega) > tiny)
        beta = np.where(
            safe, (rho_new / np.where(safe, rho, 1.0)) * (alpha / np.where(safe, omega, 1.0)), 0.0
        )
        p = r + beta * (p - omega * v)
        phat = p / diag
        v = op(phat)
        denom = np.einsum("sc,sc->c", r_hat, v)
        ok = live & (np.abs(denom) > tiny)
        alpha = np.where(ok, rho_new / np.where(ok, denom, 1.0), 0.0)
        s = r - alpha * v
        x = x + alpha * phat
        half_done = norm(s) <= target
        shat = s / diag
        t = op(shat)
        tt = np.einsum("sc,sc->c", t, t)
        ok2 = ok & ~half_done & (tt > tiny)
        omega = np.where(ok2, np.einsum("sc,sc->c", t, s) / np.where(ok2, tt, 1.0), 0.0)
        x = x + omega * shat
        r = np.where(ok2, s - omega * t, s)
        rho = rho_new
        # a stalled column (ok False) stops here and is left to the direct fallback
        done = done | half_done | (norm(r) <= target) | ~ok
    return x.reshape(S, N, M).transpose(1, 0, 2)


def dense_numpy(
    env: FiniteMDP, pi: np.ndarray, rhs: np.ndarray, gamma: float, transpose: bool
) -> np.ndarray:
    """Dense batched LU solve of ``(I - gamma P_pi) X = B`` for every policy."""
    chains = induced_chain_dense(env, pi)
    if transpose:
        chains = chains.transpose(0, 2, 1)
    system = np.eye(env.n_states)[None] - gamma * chains
    return np.linalg.solve(system, rhs)


def _direct_fallback(
    env: FiniteMDP,
    pi: np.ndarray,
    rhs: np.ndarray,
    gamma: float,
    transpose: bool,
    x: np.ndarray,
    bound: np.ndarray,
    bad: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    x = x.copy()
    bound = bound.copy()
    eye = sp.identity(env.n_states, format="csc")
    for n in np.flatnonzero(bad.any(axis=1)):
        chain = induced_chain_sparse(env, pi[n])
        system = (eye - gamma * (chain.T if transpose else chain)).tocsc()
        lu = spla.splu(system)
        x[n] = lu.solve(rhs[n])
        res = rhs[n] - apply_policy_operator(env, pi[n : n + 1], x[n : n + 1], gamma, transpose)[0]
        bound[n] = _residual_norm(res[None], transpose)[0] / (1.0 - gamma)
    return x, bound
