"""The numpy kernels of the policy solves of :mod:`objspec.mdp.linear`.

Dense batched LU (:func:`dense_numpy`) and the batched Krylov solver (:func:`krylov_numpy`:
extrapolated Richardson handing slow columns to :func:`batched_bicgstab`). They sit below
:mod:`objspec.mdp.backends` (whose numpy backend runs them) and :mod:`objspec.mdp.linear`
(which picks a method, certifies the result and re-exports these names), so that neither of
those two imports the other's importer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from objspec.mdp.model import FiniteMDP

__all__ = ["batched_bicgstab", "dense_numpy", "induced_chain_dense", "krylov_numpy"]


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


#: BiCGSTAB declares a breakdown when ``|<r_hat, r>|`` or ``|<r_hat, A p>|`` falls below this
#: fraction of the product of the norms of its two vectors (the method's scalars then lose
#: every correct digit), and restarts with the current residual as the shadow vector.
BREAKDOWN_RATIO = 1e-20


#: Restarts allowed per system (after a breakdown or a non-finite iterate) before the system
#: is given up and left to the caller's fallback.
MAX_RESTARTS = 4


#: Every this many iterations BiCGSTAB projects, from the reduction of its best residual over
#: the window, how many iterations a system still needs; a system that cannot reach its target
#: within ``max_iter`` at that rate (or did not improve at all) stops early and is left to the
#: caller's fallback, instead of spending the whole budget (e.g. on a long cycle, where no
#: Krylov method beats ``gamma`` per iteration).
STAGNATION_WINDOW = 50


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
    is at most its ``target``.

    Robustness (per system, the others are not disturbed):

    * a *breakdown* (``<r_hat, r>`` or ``<r_hat, A p>`` below :data:`BREAKDOWN_RATIO` times
      the norms, or zero) restarts the system with its current residual as the new shadow
      vector;
    * a *non-finite* scalar or residual restores the best iterate seen so far, recomputes its
      residual and restarts;
    * after :data:`MAX_RESTARTS` restarts, or when the residual stagnates (see
      :data:`STAGNATION_WINDOW`), the system stops.

    Every comparison is written so that NaN fails it (``not (norm <= target)``), and the
    returned array is always finite: for every system the iterate with the smallest
    (recursive) residual seen. Callers must still check the *true* residual of what is
    returned (it may be above ``target``) and fall back to another method.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[2.0, 1.0], [1.0, 3.0]])
    >>> b = np.array([[1.0, 0.0], [2.0, 1.0]])  # two right-hand sides, as columns
    >>> x = batched_bicgstab(lambda v: A @ v, b, np.full(2, 1e-14),
    ...                      lambda r: np.abs(r).max(axis=0), 100)
    >>> bool(np.allclose(A @ x, b, atol=1e-13, rtol=0))
    True

    A cyclic shift breaks plain BiCGSTAB down at once (the shadow vector stays orthogonal
    to every Krylov vector); the restarts recover:

    >>> S = 6
    >>> A = np.eye(S) - 0.5 * np.roll(np.eye(S), 1, axis=1)
    >>> b = np.zeros((S, 1)); b[0] = 1.0
    >>> x = batched_bicgstab(lambda v: A @ v, b, np.full(1, 1e-14),
    ...                      lambda r: np.abs(r).max(axis=0), 100)
    >>> bool(np.isfinite(x).all() and np.abs(A @ x - b).max() < 1e-12)
    True
    """
    axis = systems_axis
    spec = "ij,ij->j" if axis == 1 else "ij,ij->i"
    other = 1 - axis

    def per(c: np.ndarray) -> np.ndarray:  # one value per system, broadcast over b
        return c if axis == 1 else c[:, None]

    def dot(u: np.ndarray, w: np.ndarray) -> np.ndarray:
        return np.einsum(spec, u, w)

    def two_norm(u: np.ndarray) -> np.ndarray:
        return np.sqrt(np.einsum(spec, u, u))

    C = b.shape[axis]
    x = np.zeros_like(b) if x0 is None else np.array(x0, dtype=np.float64, copy=True)
    r = b - apply(x) if x0 is not None else b.copy()
    with np.errstate(all="ignore"):
        r_norm = norm(r)
    finite = np.isfinite(r_norm) & np.isfinite(x).all(axis=other)
    if not finite.all():  # a non-finite start: start from 0 instead
        x[...] = np.where(per(finite), x, 0.0)
        r = np.where(per(finite), r, b)
        r_norm = norm(r)
    # a finite iterate to fall back on (refreshed at every stagnation check): best_x
    best_x = x.copy()
    best = r_norm.copy()
    r_hat = r.copy()
    rhat_norm = two_norm(r_hat)
    rho = np.ones(C)
    alpha = np.ones(C)
    omega = np.ones(C)
    v = np.zeros_like(x)
    p = np.zeros_like(x)
    scratch = np.empty_like(x)
    done = r_norm <= target
    restarts = np.zeros(C, dtype=np.int64)
    window_best = best.copy()
    pending = np.zeros(C, dtype=bool)  # <r_hat, A p> vanished last iteration: restart
    for it in range(max_iter):
        if done.all():
            break
        live = ~done
        with np.errstate(all="ignore"):
            rho_new = dot(r_hat, r)
            # a breakdown: restart with the current residual as the shadow vector
            brk = live & (
                pending | ~(np.abs(rho_new) > BREAKDOWN_RATIO * rhat_norm * two_norm(r))
            )
            if brk.any():
                restarts += brk
                r_hat = np.where(per(brk), r, r_hat)
                rhat_norm = two_norm(r_hat)
                p[...] = np.where(per(brk), 0.0, p)
                v[...] = np.where(per(brk), 0.0, v)
                rho = np.where(brk, 1.0, rho)
                alpha = np.where(brk, 1.0, alpha)
                omega = np.where(brk, 1.0, omega)
                rho_new = np.where(brk, dot(r, r), rho_new)
                done = done | (restarts > MAX_RESTARTS) | ~(rho_new > 0.0) & brk
                live = ~done
            beta = np.where(live, (rho_new / rho) * (alpha / omega), 0.0)
            beta = np.where(np.isfinite(beta), beta, 0.0)
            # p = r + beta (p - omega v), in place
            np.multiply(v, per(omega), out=scratch)
            p -= scratch
            p *= per(beta)
            p += r
            phat = p if diagonal is None else p / diagonal
            v = apply(phat)
            denom = dot(r_hat, v)
            # alpha = rho / <r_hat, A p> beyond 1 / BREAKDOWN_RATIO: a (near) breakdown
            ok = live & (np.abs(denom) * (1.0 / BREAKDOWN_RATIO) > np.abs(rho_new))
            alpha = np.where(ok, rho_new / np.where(ok, denom, 1.0), 0.0)
            s = r - per(alpha) * v
            np.multiply(phat, per(alpha), out=scratch)
            if not ok.all():  # finished or broken systems: no update (0 * NaN would be NaN)
                s = np.where(per(ok), s, r)
                np.copyto(scratch, 0.0, where=per(~ok))
            x += scratch
            s_norm = norm(s)
            half_done = ok & (s_norm <= target)
            shat = s if diagonal is None else s / diagonal
            t = apply(shat)
            tt = dot(t, t)
            ok2 = ok & ~half_done & (tt > 0.0) & np.isfinite(tt)
            omega = np.where(ok2, dot(t, s) / np.where(ok2, tt, 1.0), 0.0)
            np.multiply(shat, per(omega), out=scratch)
            if not ok2.all():
                np.copyto(scratch, 0.0, where=per(~ok2))
            x += scratch
            r = np.where(per(ok2), s - per(omega) * t, s)
            rho = rho_new
            r_norm = norm(r)
        # non-finite anywhere in a system: back to its best iterate, then restart
        sane = np.isfinite(r_norm) & np.isfinite(alpha) & np.isfinite(omega)
        broken = live & ~sane
        if broken.any():
            x[...] = np.where(per(broken), best_x, x)
            r = np.where(per(broken), b - apply(x), r)
            r_norm = np.where(broken, norm(r), r_norm)
            restarts += broken
            r_hat = np.where(per(broken), r, r_hat)
            rhat_norm = two_norm(r_hat)
            p[...] = np.where(per(broken), 0.0, p)
            v[...] = np.where(per(broken), 0.0, v)
            rho = np.where(broken, 1.0, rho)
            alpha = np.where(broken, 1.0, alpha)
            omega = np.where(broken, 1.0, omega)
            done = done | (restarts > MAX_RESTARTS)
        pending = live & ~ok
        done = done | half_done | (r_norm <= target)
        if (it + 1) % STAGNATION_WINDOW == 0:
            improved = live & (r_norm < best)
            np.copyto(best_x, x, where=per(improved))
            best = np.where(improved, r_norm, best)
            with np.errstate(all="ignore"):
                rate = best / window_best  # reduction of the best residual over the window
                needed = np.log(np.maximum(target, 1e-300) / best) / np.log(rate)
            left = (max_iter - it - 1) / STAGNATION_WINDOW
            hopeless = ~(rate < 1.0) | ~(needed <= left)
            done = done | (hopeless & ~(best <= target))
            window_best = best.copy()
    # return, per system, the best iterate (the last one when it is as good)
    final_better = (r_norm <= best) & np.isfinite(x).all(axis=other)
    return np.where(per(final_better), x, best_x)


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
