"""Batched linear solves ``(I - gamma P_pi) X = B`` for many policies at once.

Two methods, chosen by :func:`solve_policy_systems` (``method="auto"``):

* ``"direct"``: dense batched LU (``numpy.linalg.solve`` over an ``[N, S, S]`` stack); used
  for small state spaces, where it is exact to rounding.
* ``"krylov"``: iterative, on all ``N * M`` systems at once, whose only heavy step is one
  sparse product ``P @ X`` with ``X`` holding every column (no Python loop over policies):
  extrapolated Richardson (value iteration with MacQueen midpoints) for value systems,
  handing slowly mixing columns to a batched, Jacobi-preconditioned BiCGSTAB (per-column
  scalars), which also solves the transposed systems. Columns that do not reach the
  target fall back to a sparse LU solve.

Both return a **certified** error bound from the true residual ``R = B - (I - gamma P_pi) X``
(see :func:`certify`): for value systems the MacQueen/Porteus interval, whose width is
``gamma * span(R) / (1 - gamma)`` (the solution is moved to its midpoint); for the
transposed system (state visitation) ``||R||_1 / (1 - gamma)`` in the 1-norm. Both include a
margin for the rounding of ``R``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from objspec.mdp.model import FiniteMDP

__all__ = [
    "LinearSolution",
    "certify",
    "solve_policy_systems",
    "induced_chain_dense",
    "induced_chain_sparse",
]

Method = Literal["auto", "direct", "krylov"]

#: Use dense batched LU when S is at most this and N * S**3 stays below DENSE_WORK. Beyond,
#: the batched iterative solver wins, and by far on a loaded machine, where multithreaded
#: LAPACK on many small systems slows down by an order of magnitude.
DENSE_MAX_STATES = 64
DENSE_WORK = 3e7


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
    """``P_pi[n, s, t] = sum_a pi[n, s, a] tau(t | s, a)`` as a dense ``[N, S, S]`` array.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.mdp.linear import induced_chain_dense
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
    >>> induced_chain_dense(FiniteMDP(P, [1.0, 0.0]), np.full((1, 2, 2), 0.5))
    array([[[0.5, 0.5],
            [0.5, 0.5]]])
    """
    return np.einsum("nsa,sat->nst", pi, env.transitions, optimize=True)


def induced_chain_sparse(env: FiniteMDP, pi_row: np.ndarray) -> sp.csr_matrix:
    """The chain of one policy (``pi_row`` shaped ``[S, A]``) as a CSR matrix ``(S, S)``.

    Explicit zeros are removed, so the sparsity pattern is the chain's support graph.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.mdp.linear import induced_chain_sparse
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
    >>> induced_chain_sparse(FiniteMDP(P, [1.0, 0.0]), np.array([[1.0, 0.0], [0.0, 1.0]])).nnz
    2
    """
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

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.mdp.linear import solve_policy_systems
    >>> env = FiniteMDP(np.ones((1, 1, 1)), [1.0])
    >>> sol = solve_policy_systems(env, np.ones((1, 1, 1)), np.ones((1, 1, 1)), 0.5)
    >>> float(sol.x[0, 0, 0]), sol.method, bool(sol.error_bound[0, 0] < 1e-13)
    (2.0, 'direct', True)
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
    x, bound, margin = _certify(env, pi, rhs, x, gamma, transpose)
    scale = np.maximum(1.0, _residual_norm(rhs, transpose)) / (1.0 - gamma)
    # only the part of the bound a better solve could remove counts: rounding stays anyway
    bad = bound - margin > tol * scale * 10.0
    if bad.any():
        x, bound = _direct_fallback(env, pi, rhs, gamma, transpose, x, bound, bad)
    return LinearSolution(x=x, error_bound=bound, method=method)


def _rounding_margin(
    env: FiniteMDP, rhs: np.ndarray, x: np.ndarray, gamma: float, transpose: bool
) -> np.ndarray:
    """Bound on the rounding error of the computed residual, propagated to the solution.

    Each residual entry is a sum of at most ``n`` terms (``n`` = largest support of a row
    of ``P_pi``, at most ``A`` times the largest support of a row of ``P``, plus two).
    """
    indptr = env.transition_matrix.indptr
    n = env.n_actions * int((indptr[1:] - indptr[:-1]).max()) + 2
    eps = np.finfo(np.float64).eps
    size = _residual_norm(np.abs(rhs), transpose) + 2.0 * _residual_norm(np.abs(x), transpose)
    return 2.0 * n * eps * size / (1.0 - gamma)


def certify(
    env: FiniteMDP,
    pi: np.ndarray,
    rhs: np.ndarray,
    x: np.ndarray,
    gamma: float,
    transpose: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """A certified error bound for any approximate solution ``x`` (and a corrected ``x``).

    With the true residual ``d = B - (I - gamma P_pi) x``:

    * value systems: ``(I - gamma P_pi)^{-1}`` is non-negative with row sums
      ``1 / (1 - gamma)``, so, column by column, with ``d`` in ``[lo, hi]``, the solution lies in
      ``[x + d + gamma lo / (1 - gamma), x + d + gamma hi / (1 - gamma)]`` (MacQueen/Porteus
      bounds). ``x`` is replaced by the midpoint and the bound is
      ``gamma (hi - lo) / (2 (1 - gamma))``: the span, not the size, of the residual counts;
    * transposed systems: ``||(I - gamma P_pi)^{-T}||_1 <= 1 / (1 - gamma)``, so the 1-norm
      error is at most ``||d||_1 / (1 - gamma)``.

    Both bounds include a margin for the rounding of the residual itself.

    Returns
    -------
    x : numpy.ndarray
        ``[N, S, M]``, the midpoint for value systems, ``x`` unchanged otherwise.
    bound : numpy.ndarray
        ``[N, M]``.

    Examples
    --------
    A rough guess of the value ``2`` of a one-state chain with reward 1 and discount 1/2 is
    corrected exactly (a constant error is removed by the midpoint):

    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.mdp.linear import certify
    >>> env = FiniteMDP(np.ones((1, 1, 1)), [1.0])
    >>> one, guess = np.ones((1, 1, 1)), np.full((1, 1, 1), 5.0)
    >>> x, bound = certify(env, one, one, guess, 0.5, transpose=False)
    >>> float(x[0, 0, 0]), bool(bound[0, 0] < 1e-13)
    (2.0, True)
    """
    x, bound, _ = _certify(env, pi, rhs, x, gamma, transpose)
    return x, bound


def _certify(
    env: FiniteMDP,
    pi: np.ndarray,
    rhs: np.ndarray,
    x: np.ndarray,
    gamma: float,
    transpose: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`certify`, also returning the rounding margin included in the bound."""
    res = rhs - apply_policy_operator(env, pi, x, gamma, transpose)
    margin = _rounding_margin(env, rhs, x, gamma, transpose)
    if transpose:
        return x, _residual_norm(res, transpose) / (1.0 - gamma) + margin, margin
    lo, hi = res.min(axis=1), res.max(axis=1)  # [N, M]
    k = gamma / (1.0 - gamma)
    mid = x + res + (k * (lo + hi) / 2.0)[:, None, :]
    return mid, k * (hi - lo) / 2.0 + margin, margin


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
        w = pi.transpose(1, 2, 0)
        self.w = np.ascontiguousarray(w if M == 1 else np.repeat(w, M, axis=2))

    def columns(self, cols: np.ndarray) -> _ChainOperator:
        """The operator restricted to the columns ``cols``."""
        out = object.__new__(_ChainOperator)
        out.S, out.A, out.P, out.PT = self.S, self.A, self.P, self.PT
        out.w = np.ascontiguousarray(self.w[:, :, cols])
        return out

    def __call__(self, v: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        S, A = self.S, self.A
        if self.PT is not None:
            res = np.asarray(self.PT @ (v[:, None, :] * self.w).reshape(S * A, -1))
            if out is None:
                return res
            out[...] = res
            return out
        q = np.asarray(self.P @ v).reshape(S, A, -1)
        return np.einsum("sac,sac->sc", q, self.w, out=out)


def _jacobi_diagonal(env: FiniteMDP, pi: np.ndarray, gamma: float) -> np.ndarray:
    S, A = env.n_states, env.n_actions
    self_loop = np.asarray(
        env.transition_matrix[np.arange(S * A), np.repeat(np.arange(S), A)]
    ).reshape(S, A)
    return 1.0 - gamma * np.einsum("nsa,sa->ns", pi, self_loop)


#: Extrapolated Richardson hands a column to BiCGSTAB once its residual span shrinks by less
#: than this factor per sweep (BiCGSTAB needs two operator applications per iteration).
RICHARDSON_STALL_RATE = 0.7


def _span_norm(v: np.ndarray, gamma: float) -> np.ndarray:
    """``gamma * span(v) / 2`` per column: what the MacQueen bound charges for residual ``v``."""
    return gamma * (v.max(axis=0) - v.min(axis=0)) / 2.0


def _extrapolated_richardson(
    chain: _ChainOperator,
    b: np.ndarray,
    gamma: float,
    target: np.ndarray,
    max_iter: int,
    transpose: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Richardson iteration ``x <- b + gamma P x`` with the slow Perron mode removed.

    The only eigenvalue of ``gamma P_pi`` near 1 is ``gamma`` itself; every other one lies
    within ``gamma |lambda_2|``. Each sweep removes that mode exactly:

    * value systems (``P = P_pi``, right eigenvector ``1``): with ``d = b - (I - gamma P) x``
      in ``[lo, hi]``, the solution lies in ``[x + d + gamma lo / (1 - gamma),
      x + d + gamma hi / (1 - gamma)]`` (MacQueen/Porteus bounds); the iterate jumps to the
      midpoint, and convergence is measured by ``gamma * span(d) / 2``;
    * transposed systems (``P = P_pi^T``, left eigenvector the stationary distribution): the
      mass of the solution is known exactly, ``1^T x = 1^T b / (1 - gamma)``; restoring it after
      every sweep keeps the error in the zero-mass subspace, which holds no Perron component.
      Convergence is measured by ``||d||_1``.

    The error then contracts like the chain mixes, not like ``gamma``: well-mixing chains
    converge in a few dozen sweeps with one operator application each (for a spectrum in a
    disk around 0 no Krylov method does better per application). Returns ``(x, stalled
    columns)``; stalled columns (contracting slower than :data:`RICHARDSON_STALL_RATE` per
    sweep) are left to BiCGSTAB.
    """
    S, C = b.shape
    k = gamma / (1.0 - gamma)
    x = np.zeros((S, C))
    active = np.arange(C)
    x_act, b_act, op = x.copy(), b, chain
    mass = b.sum(axis=0) / (1.0 - gamma)  # transposed systems: exact 1^T x
    d = np.empty((S, C))
    prev = np.full(C, np.inf)
    rates = np.zeros((3, C))
    finished = np.zeros(C, dtype=bool)  # converged, still in the batch until compaction
    stalled: list[np.ndarray] = []
    for sweep in range(max_iter):
        op(x_act, out=d)
        d *= gamma
        d += b_act
        d -= x_act
        x_act += d
        if transpose:
            size = np.abs(d).sum(axis=0)
            x_act += ((mass - x_act.sum(axis=0)) / S)[None, :]
        else:
            lo, hi = d.min(axis=0), d.max(axis=0)
            x_act += (k * (lo + hi) / 2.0)[None, :]
            size = gamma * (hi - lo) / 2.0
        rates[sweep % 3] = size / np.where(prev > 0, prev, 1.0)
        prev = size
        finished |= size <= target[active]
        rate = np.exp(np.log(rates + 1e-300).mean(axis=0))  # geometric mean, last 3 sweeps
        slow = ~finished & (sweep >= 5) & (rate > RICHARDSON_STALL_RATE)
        leave = finished | slow
        # compact the batch only when it shrinks enough to pay for the copies
        if leave.all() or (leave.sum() * 4 >= active.size):
            x[:, active[leave]] = x_act[:, leave]
            if slow.any():
                stalled.append(active[slow])
            keep = ~leave
            active = active[keep]
            if not active.size:
                break
            x_act = np.ascontiguousarray(x_act[:, keep])
            b_act = np.ascontiguousarray(b_act[:, keep])
            mass = mass[keep]
            d = np.empty_like(x_act)
            prev, rates = prev[keep], np.ascontiguousarray(rates[:, keep])
            finished = finished[keep]
            op = chain.columns(active)
    else:
        x[:, active] = x_act
        stalled.append(active[~finished])
    rest = np.concatenate(stalled) if stalled else np.zeros(0, dtype=np.int64)
    return x, np.sort(rest)


def batched_bicgstab(
    apply: Callable[[np.ndarray], np.ndarray],
    b: np.ndarray,
    target: np.ndarray,
    norm: Callable[[np.ndarray], np.ndarray],
    max_iter: int,
    *,
    x0: np.ndarray | None = None,
    diagonal: np.ndarray | None = None,
    systems_axis: int = 1,
) -> np.ndarray:
    """BiCGSTAB on many independent linear systems ``A_c x_c = b_c`` at once.

    ``b`` is 2-D; system ``c`` is ``b[:, c]`` (``systems_axis=1``) or ``b[c]``
    (``systems_axis=0``), and ``apply`` maps such arrays to ``A x`` for all systems. Every
    scalar of the method is a vector over the systems, so an iteration costs two calls of
    ``apply`` for all of them. Jacobi-preconditioned by ``diagonal`` (broadcastable to
    ``b``) when given; started from ``x0`` (default 0). ``norm`` maps a residual array to one
    value per system; a system stops once its residual, or the half-step residual ``s``,
    is at most its ``target``, or at a breakdown (a denominator below ``1e-300``): callers
    check the true residual of what is returned and fall back to a direct solve.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[2.0, 1.0], [1.0, 3.0]])
    >>> b = np.array([[1.0, 0.0], [2.0, 1.0]])  # two right-hand sides, as columns
    >>> x = batched_bicgstab(lambda v: A @ v, b, np.full(2, 1e-14),
    ...                      lambda r: np.abs(r).max(axis=0), 100)
    >>> bool(np.allclose(A @ x, b, atol=1e-13, rtol=0))
    True
    """
    spec = "ij,ij->j" if systems_axis == 1 else "ij,ij->i"

    def per(c: np.ndarray) -> np.ndarray:  # one value per system, broadcast over b
        return c if systems_axis == 1 else c[:, None]

    C = b.shape[systems_axis]
    x = np.zeros_like(b) if x0 is None else x0.copy()
    r = b - apply(x) if x0 is not None else b.copy()
    r_hat = r.copy()
    rho = np.ones(C)
    alpha = np.ones(C)
    omega = np.ones(C)
    v = np.zeros_like(x)
    p = np.zeros_like(x)
    scratch = np.empty_like(x)
    done = norm(r) <= target
    tiny = 1e-300
    for _ in range(max_iter):
        if done.all():
            break
        live = ~done
        rho_new = np.einsum(spec, r_hat, r)
        safe = live & (np.abs(rho) > tiny) & (np.abs(omega) > tiny)
        beta = np.where(
            safe, (rho_new / np.where(safe, rho, 1.0)) * (alpha / np.where(safe, omega, 1.0)), 0.0
        )
        # p = r + beta (p - omega v), in place (the same operations, so the same rounding)
        np.multiply(v, per(omega), out=scratch)
        p -= scratch
        p *= per(beta)
        p += r
        phat = p if diagonal is None else p / diagonal
        v = apply(phat)
        denom = np.einsum(spec, r_hat, v)
        ok = live & (np.abs(denom) > tiny)
        alpha = np.where(ok, rho_new / np.where(ok, denom, 1.0), 0.0)
        s = r - per(alpha) * v
        np.multiply(phat, per(alpha), out=scratch)
        x += scratch
        half_done = norm(s) <= target
        shat = s if diagonal is None else s / diagonal
        t = apply(shat)
        tt = np.einsum(spec, t, t)
        ok2 = ok & ~half_done & (tt > tiny)
        omega = np.where(ok2, np.einsum(spec, t, s) / np.where(ok2, tt, 1.0), 0.0)
        np.multiply(shat, per(omega), out=scratch)
        x += scratch
        r = np.where(per(ok2), s - per(omega) * t, s)
        rho = rho_new
        # a stalled system (ok False) stops here and is left to the caller's fallback
        done = done | half_done | (norm(r) <= target) | ~ok
    return x


def krylov_numpy(
    env: FiniteMDP,
    pi: np.ndarray,
    rhs: np.ndarray,
    gamma: float,
    transpose: bool,
    tol: float,
    max_iter: int,
) -> np.ndarray:
    """Batched iterative solve of the policy systems (numpy/scipy).

    Works in a state-major layout ``[S, C]`` with one column per (policy, right-hand side)
    pair, so that each operator application is one sparse product plus one elementwise
    weighting by the policies.

    Every column first runs extrapolated Richardson iteration (one operator application
    per sweep, the Perron mode removed exactly: MacQueen midpoints for value systems, exact
    mass for transposed ones, see :func:`_extrapolated_richardson`); columns whose chains
    mix slowly continue with Jacobi-preconditioned BiCGSTAB, warm-started. Convergence is
    measured as the certificate of :func:`certify` charges it: ``gamma * span(residual) / 2``
    for value systems, ``||residual||_1`` for transposed ones, never below the rounding
    floor of the residual.
    """
    N, S, M = rhs.shape
    chain = _ChainOperator(env, pi, M, transpose)
    b = np.ascontiguousarray(rhs.transpose(1, 0, 2).reshape(S, N * M))

    def jacobi() -> np.ndarray:
        return np.asarray(_jacobi_diagonal(env, pi, gamma).T.repeat(M, axis=1))  # [S, C]

    # Residuals cannot be computed more accurately than the rounding of P_pi x: aiming below
    # that floor would only stall (the certificate adds it as a margin anyway).
    indptr = env.transition_matrix.indptr
    n = env.n_actions * int((indptr[1:] - indptr[:-1]).max()) + 3
    eps = np.finfo(np.float64).eps
    def norm(v: np.ndarray) -> np.ndarray:
        return np.abs(v).sum(axis=0) if transpose else _span_norm(v, gamma)

    size = np.abs(b).sum(axis=0) if transpose else np.abs(b).max(axis=0)
    target = np.maximum(tol * np.maximum(1.0, size), 4.0 * n * eps * size / (1.0 - gamma))
    x, rest = _extrapolated_richardson(chain, b, gamma, target, max_iter, transpose)
    if rest.size:
        op_chain = chain.columns(rest)
        x[:, rest] = batched_bicgstab(
            lambda v: v - gamma * op_chain(v),
            np.ascontiguousarray(b[:, rest]),
            target[rest],
            norm,
            max_iter,
            x0=np.ascontiguousarray(x[:, rest]),
            diagonal=np.ascontiguousarray(jacobi()[:, rest]),
        )
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
        solved = lu.solve(rhs[n])[None]
        xn, bn = certify(env, pi[n : n + 1], rhs[n : n + 1], solved, gamma, transpose)
        x[n], bound[n] = xn[0], bn[0]
    return x, bound
