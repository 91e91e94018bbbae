"""The iterative and dense kernels of the policy solves of :mod:`objspec.mdp.linear`.

The iterative kernels -- extrapolated Richardson (:func:`_extrapolated_richardson`) handing
slow columns to the batched BiCGSTAB (:func:`batched_bicgstab`), both driven by
:func:`krylov_solve` -- are written once over an :class:`ArrayNamespace`: a handful of array
operations (reductions, ``where``, ``isfinite``, in-place copies, ...) plus a
:class:`ChainOperator` (``v -> P_pi v``). :data:`NUMPY` implements it with numpy/scipy; the
torch backend (:mod:`objspec.mdp.torch_backend`) implements it with torch tensors, so both
backends run the same iteration: the same convergence norm, the same Richardson phase, the
same restarts, best-iterate bookkeeping and acceptance tests.

Layering: :mod:`objspec.mdp.linear` (which picks a method, certifies the result and falls
back) imports :mod:`objspec.mdp.backends`, which imports this module; this module imports
neither, and never torch.

Examples
--------
>>> import numpy as np
>>> from objspec.mdp.kernels import NUMPY
>>> v = NUMPY.asarray([[1.0, -2.0], [3.0, 0.5]])
>>> NUMPY.amax(v, 0).tolist(), NUMPY.dot(v, v, 1).tolist()
([3.0, 0.5], [5.0, 9.25])
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from objspec.mdp.model import FiniteMDP

__all__ = [
    "NUMPY",
    "ArrayNamespace",
    "ChainOperator",
    "KrylovReport",
    "NumpyNamespace",
    "batched_bicgstab",
    "dense_numpy",
    "induced_chain_dense",
    "krylov_numpy",
    "krylov_solve",
]

#: An array of the namespace in use (``numpy.ndarray`` or ``torch.Tensor``).
Array = Any


class ChainOperator(Protocol):
    """``v -> P_pi v`` (or ``P_pi^T v``) on a state-major block ``v[S, C]`` of one namespace.

    Column ``c`` belongs to policy ``c // M`` (``M`` right-hand sides per policy).
    """

    def __call__(self, v: Array, out: Array | None = None) -> Array: ...

    def columns(self, cols: Array) -> ChainOperator:
        """The operator restricted to the columns ``cols`` (an index array)."""
        ...


class ArrayNamespace(Protocol):
    """The array operations the iterative kernels use; all arrays are float64 unless named.

    ``axis`` always names the axis *reduced over*. Index arrays are int64, masks bool.
    Arithmetic, comparisons, ``~ & |``, in-place ``+= -= *=``, slicing, integer and mask
    indexing (also as assignment targets) and ``.all() .any() .sum()`` are used directly on
    the arrays: numpy arrays and torch tensors agree on them.
    """

    name: str

    def asarray(self, a: Any) -> Array:
        """A float64 array of this namespace from a numpy array (or nested lists)."""
        ...

    def to_numpy(self, a: Array) -> np.ndarray: ...

    def chain(self, env: FiniteMDP, pi: np.ndarray, M: int, transpose: bool) -> ChainOperator:
        """The :class:`ChainOperator` of the policies ``pi`` (``[N, S, A]``) on ``env``."""
        ...

    def zeros(self, shape: tuple[int, ...]) -> Array: ...
    def full(self, shape: tuple[int, ...], value: float) -> Array: ...
    def empty(self, shape: tuple[int, ...]) -> Array: ...
    def zeros_like(self, a: Array) -> Array: ...
    def empty_like(self, a: Array) -> Array: ...
    def counters(self, n: int) -> Array:
        """``n`` int64 zeros."""
        ...

    def flags(self, n: int) -> Array:
        """``n`` bool ``False``."""
        ...

    def arange(self, n: int) -> Array: ...
    def copy(self, a: Array) -> Array:
        """A float64 copy of ``a`` (an array of this namespace)."""
        ...

    def contiguous(self, a: Array) -> Array: ...
    def where(self, cond: Array, a: Array | float, b: Array | float) -> Array: ...
    def isfinite(self, a: Array) -> Array: ...
    def abs(self, a: Array) -> Array: ...
    def sqrt(self, a: Array) -> Array: ...
    def log(self, a: Array) -> Array: ...
    def exp(self, a: Array) -> Array: ...
    def maximum(self, a: Array, b: Array | float) -> Array: ...
    def amax(self, a: Array, axis: int) -> Array: ...
    def amin(self, a: Array, axis: int) -> Array: ...
    def sum(self, a: Array, axis: int) -> Array: ...
    def mean(self, a: Array, axis: int) -> Array: ...
    def all(self, a: Array, axis: int) -> Array: ...
    def dot(self, u: Array, w: Array, axis: int) -> Array:
        """``sum(u * w)`` over ``axis``: one inner product per system."""
        ...

    def concat(self, parts: Sequence[Array]) -> Array: ...
    def sort(self, a: Array) -> Array: ...
    def copyto(self, dst: Array, src: Array | float, where: Array) -> None:
        """``dst[where] = src`` in place (``where`` and ``src`` broadcast to ``dst``)."""
        ...

    def multiply(self, a: Array, b: Array, out: Array) -> Array: ...
    def errstate(self) -> contextlib.AbstractContextManager[Any]:
        """Silences floating-point warnings (NaN and inf are handled explicitly)."""
        ...


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
    """``v -> P_pi v`` (or ``P_pi^T v``) on a state-major block ``v[S, C]`` (numpy/scipy).

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


class NumpyNamespace:
    """:class:`ArrayNamespace` on numpy arrays, with scipy's sparse products."""

    name = "numpy"

    def asarray(self, a: Any) -> np.ndarray:
        return np.ascontiguousarray(a, dtype=np.float64)

    def to_numpy(self, a: np.ndarray) -> np.ndarray:
        return np.asarray(a)

    def chain(self, env: FiniteMDP, pi: np.ndarray, M: int, transpose: bool) -> ChainOperator:
        return _ChainOperator(env, pi, M, transpose)

    def zeros(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.zeros(shape)

    def full(self, shape: tuple[int, ...], value: float) -> np.ndarray:
        return np.full(shape, value, dtype=np.float64)

    def empty(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.empty(shape)

    def zeros_like(self, a: np.ndarray) -> np.ndarray:
        return np.zeros_like(a)

    def empty_like(self, a: np.ndarray) -> np.ndarray:
        return np.empty_like(a)

    def counters(self, n: int) -> np.ndarray:
        return np.zeros(n, dtype=np.int64)

    def flags(self, n: int) -> np.ndarray:
        return np.zeros(n, dtype=bool)

    def arange(self, n: int) -> np.ndarray:
        return np.arange(n)

    def copy(self, a: np.ndarray) -> np.ndarray:
        return np.array(a, dtype=np.float64, copy=True)

    def contiguous(self, a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a)

    def where(self, cond: np.ndarray, a: Any, b: Any) -> np.ndarray:
        return np.where(cond, a, b)

    def isfinite(self, a: np.ndarray) -> np.ndarray:
        return np.isfinite(a)

    def abs(self, a: np.ndarray) -> np.ndarray:
        return np.abs(a)

    def sqrt(self, a: np.ndarray) -> np.ndarray:
        return np.sqrt(a)

    def log(self, a: np.ndarray) -> np.ndarray:
        return np.log(a)

    def exp(self, a: np.ndarray) -> np.ndarray:
        return np.exp(a)

    def maximum(self, a: np.ndarray, b: Any) -> np.ndarray:
        return np.maximum(a, b)

    def amax(self, a: np.ndarray, axis: int) -> np.ndarray:
        return a.max(axis=axis)

    def amin(self, a: np.ndarray, axis: int) -> np.ndarray:
        return a.min(axis=axis)

    def sum(self, a: np.ndarray, axis: int) -> np.ndarray:
        return a.sum(axis=axis)

    def mean(self, a: np.ndarray, axis: int) -> np.ndarray:
        return a.mean(axis=axis)

    def all(self, a: np.ndarray, axis: int) -> np.ndarray:
        return np.asarray(a.all(axis=axis))

    def dot(self, u: np.ndarray, w: np.ndarray, axis: int) -> np.ndarray:
        return np.einsum("ij,ij->j" if axis == 0 else "ij,ij->i", u, w)

    def concat(self, parts: Sequence[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts)

    def sort(self, a: np.ndarray) -> np.ndarray:
        return np.sort(a)

    def copyto(self, dst: np.ndarray, src: Any, where: np.ndarray) -> None:
        np.copyto(dst, src, where=where)

    def multiply(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.multiply(a, b, out=out)

    def errstate(self) -> contextlib.AbstractContextManager[Any]:
        return np.errstate(all="ignore")


#: The numpy/scipy :class:`ArrayNamespace` (the default of every kernel).
NUMPY = NumpyNamespace()


def _jacobi_diagonal(env: FiniteMDP, pi: np.ndarray, gamma: float) -> np.ndarray:
    """``[N, S]``: the diagonal ``1 - gamma P_pi[s, s]`` of every policy's system."""
    S, A = env.n_states, env.n_actions
    self_loop = np.asarray(
        env.transition_matrix[np.arange(S * A), np.repeat(np.arange(S), A)]
    ).reshape(S, A)
    return 1.0 - gamma * np.einsum("nsa,sa->ns", pi, self_loop)


#: Extrapolated Richardson hands a column to BiCGSTAB once its residual span shrinks by less
#: than this factor per sweep (BiCGSTAB needs two operator applications per iteration).
RICHARDSON_STALL_RATE = 0.7


def _span_norm(v: Array, gamma: float, xp: ArrayNamespace = NUMPY) -> Array:
    """``gamma * span(v) / 2`` per column: what the MacQueen bound charges for residual ``v``."""
    return gamma * (xp.amax(v, 0) - xp.amin(v, 0)) / 2.0


def _extrapolated_richardson(
    chain: ChainOperator,
    b: Array,
    gamma: float,
    target: Array,
    max_iter: int,
    transpose: bool = False,
    xp: ArrayNamespace = NUMPY,
) -> tuple[Array, Array, int]:
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
    columns, sweeps)``; stalled columns (contracting slower than
    :data:`RICHARDSON_STALL_RATE` per sweep) are left to BiCGSTAB.
    """
    S, C = b.shape
    k = gamma / (1.0 - gamma)
    x = xp.zeros((S, C))
    active = xp.arange(C)
    x_act, b_act, op = xp.copy(x), b, chain
    mass = xp.sum(b, 0) / (1.0 - gamma)  # transposed systems: exact 1^T x
    d = xp.empty((S, C))
    prev = xp.full((C,), np.inf)
    rates = xp.zeros((3, C))
    finished = xp.flags(C)  # converged, still in the batch until compaction
    stalled: list[Array] = []
    sweeps = 0
    for sweep in range(max_iter):
        sweeps = sweep + 1
        op(x_act, out=d)
        d *= gamma
        d += b_act
        d -= x_act
        x_act += d
        if transpose:
            size = xp.sum(xp.abs(d), 0)
            x_act += ((mass - xp.sum(x_act, 0)) / S)[None, :]
        else:
            lo, hi = xp.amin(d, 0), xp.amax(d, 0)
            x_act += (k * (lo + hi) / 2.0)[None, :]
            size = gamma * (hi - lo) / 2.0
        rates[sweep % 3] = size / xp.where(prev > 0, prev, 1.0)
        prev = size
        finished |= size <= target[active]
        rate = xp.exp(xp.mean(xp.log(rates + 1e-300), 0))  # geometric mean, last 3 sweeps
        slow = ~finished & (rate > RICHARDSON_STALL_RATE) & (sweep >= 5)
        leave = finished | slow
        # compact the batch only when it shrinks enough to pay for the copies
        if bool(leave.all()) or int(leave.sum()) * 4 >= len(active):
            x[:, active[leave]] = x_act[:, leave]
            if bool(slow.any()):
                stalled.append(active[slow])
            keep = ~leave
            active = active[keep]
            if not len(active):
                break
            x_act = xp.contiguous(x_act[:, keep])
            b_act = xp.contiguous(b_act[:, keep])
            mass = mass[keep]
            d = xp.empty_like(x_act)
            prev, rates = prev[keep], xp.contiguous(rates[:, keep])
            finished = finished[keep]
            op = chain.columns(active)
    else:
        x[:, active] = x_act
        stalled.append(active[~finished])
    rest = xp.sort(xp.concat(stalled)) if stalled else xp.arange(0)
    return x, rest, sweeps


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


@dataclass(frozen=True)
class KrylovReport:
    """What :func:`krylov_solve` did (for tests and diagnostics; the same on every backend
    up to rounding).

    Attributes
    ----------
    sweeps : int
        Extrapolated Richardson sweeps (the batch's longest-running column).
    handed_over : int
        Columns handed to BiCGSTAB.
    iterations : int
        BiCGSTAB iterations (0 when no column was handed over).
    restarts : int
        BiCGSTAB restarts, summed over the columns (breakdowns and non-finite iterates).
    """

    sweeps: int
    handed_over: int
    iterations: int
    restarts: int


def batched_bicgstab(
    apply: Callable[[Array], Array],
    b: Array,
    target: Array,
    norm: Callable[[Array], Array],
    max_iter: int,
    *,
    x0: Array | None = None,
    diagonal: Array | None = None,
    systems_axis: int = 1,
    xp: ArrayNamespace = NUMPY,
) -> Array:
    """BiCGSTAB on many independent linear systems ``A_c x_c = b_c`` at once.

    ``b`` is 2-D; system ``c`` is ``b[:, c]`` (``systems_axis=1``) or ``b[c]``
    (``systems_axis=0``), and ``apply`` maps such arrays to ``A x`` for all systems. Every
    scalar of the method is a vector over the systems, so an iteration costs two calls of
    ``apply`` for all of them. Jacobi-preconditioned by ``diagonal`` (broadcastable to
    ``b``) when given; started from ``x0`` (default 0). ``norm`` maps a residual array to one
    value per system; a system stops once its residual, or the half-step residual ``s``,
    is at most its ``target``. All arrays belong to the namespace ``xp`` (numpy by default;
    see :class:`ArrayNamespace`).

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
    x, _, _ = _bicgstab(
        xp, apply, b, target, norm, max_iter, x0=x0, diagonal=diagonal, systems_axis=systems_axis
    )
    return x


def _bicgstab(
    xp: ArrayNamespace,
    apply: Callable[[Array], Array],
    b: Array,
    target: Array,
    norm: Callable[[Array], Array],
    max_iter: int,
    *,
    x0: Array | None,
    diagonal: Array | None,
    systems_axis: int,
) -> tuple[Array, int, int]:
    """:func:`batched_bicgstab`, also returning ``(iterations, restarts)``."""
    axis = systems_axis
    other = 1 - axis

    def per(c: Array) -> Array:  # one value per system, broadcast over b
        return c if axis == 1 else c[:, None]

    def dot(u: Array, w: Array) -> Array:
        return xp.dot(u, w, other)

    def two_norm(u: Array) -> Array:
        return xp.sqrt(dot(u, u))

    C = b.shape[axis]
    x = xp.zeros_like(b) if x0 is None else xp.copy(x0)
    r = b - apply(x) if x0 is not None else xp.copy(b)
    with xp.errstate():
        r_norm = norm(r)
    finite = xp.isfinite(r_norm) & xp.all(xp.isfinite(x), other)
    if not bool(finite.all()):  # a non-finite start: start from 0 instead
        x[...] = xp.where(per(finite), x, 0.0)
        r = xp.where(per(finite), r, b)
        r_norm = norm(r)
    # a finite iterate to fall back on (refreshed at every stagnation check): best_x
    best_x = xp.copy(x)
    best = xp.copy(r_norm)
    r_hat = xp.copy(r)
    rhat_norm = two_norm(r_hat)
    rho = xp.full((C,), 1.0)
    alpha = xp.full((C,), 1.0)
    omega = xp.full((C,), 1.0)
    v = xp.zeros_like(x)
    p = xp.zeros_like(x)
    scratch = xp.empty_like(x)
    done = r_norm <= target
    restarts = xp.counters(C)
    window_best = xp.copy(best)
    pending = xp.flags(C)  # <r_hat, A p> vanished last iteration: restart

    def restart(mask: Array) -> Array:
        """Restart the systems in ``mask`` with the current residual as the shadow vector;
        returns the systems that have now used up :data:`MAX_RESTARTS`."""
        nonlocal r_hat, rhat_norm, rho, alpha, omega
        restarts[...] += mask
        r_hat = xp.where(per(mask), r, r_hat)
        rhat_norm = two_norm(r_hat)
        p[...] = xp.where(per(mask), 0.0, p)
        v[...] = xp.where(per(mask), 0.0, v)
        rho = xp.where(mask, 1.0, rho)
        alpha = xp.where(mask, 1.0, alpha)
        omega = xp.where(mask, 1.0, omega)
        return restarts > MAX_RESTARTS

    iterations = 0
    for it in range(max_iter):
        if bool(done.all()):
            break
        iterations = it + 1
        live = ~done
        with xp.errstate():
            rho_new = dot(r_hat, r)
            # a breakdown: restart with the current residual as the shadow vector
            brk = live & (
                pending | ~(xp.abs(rho_new) > BREAKDOWN_RATIO * rhat_norm * two_norm(r))
            )
            if bool(brk.any()):
                exhausted = restart(brk)
                rho_new = xp.where(brk, dot(r, r), rho_new)
                done = done | exhausted | ~(rho_new > 0.0) & brk
                live = ~done
            beta = xp.where(live, (rho_new / rho) * (alpha / omega), 0.0)
            beta = xp.where(xp.isfinite(beta), beta, 0.0)
            # p = r + beta (p - omega v), in place
            xp.multiply(v, per(omega), out=scratch)
            p -= scratch
            p *= per(beta)
            p += r
            phat = p if diagonal is None else p / diagonal
            v = apply(phat)
            denom = dot(r_hat, v)
            # alpha = rho / <r_hat, A p> beyond 1 / BREAKDOWN_RATIO: a (near) breakdown
            ok = live & (xp.abs(denom) * (1.0 / BREAKDOWN_RATIO) > xp.abs(rho_new))
            alpha = xp.where(ok, rho_new / xp.where(ok, denom, 1.0), 0.0)
            s = r - per(alpha) * v
            xp.multiply(phat, per(alpha), out=scratch)
            if not bool(ok.all()):  # finished or broken systems: no update (0 * NaN is NaN)
                s = xp.where(per(ok), s, r)
                xp.copyto(scratch, 0.0, where=per(~ok))
            x += scratch
            s_norm = norm(s)
            half_done = ok & (s_norm <= target)
            shat = s if diagonal is None else s / diagonal
            t = apply(shat)
            tt = dot(t, t)
            ok2 = ok & ~half_done & (tt > 0.0) & xp.isfinite(tt)
            omega = xp.where(ok2, dot(t, s) / xp.where(ok2, tt, 1.0), 0.0)
            xp.multiply(shat, per(omega), out=scratch)
            if not bool(ok2.all()):
                xp.copyto(scratch, 0.0, where=per(~ok2))
            x += scratch
            r = xp.where(per(ok2), s - per(omega) * t, s)
            rho = rho_new
            r_norm = norm(r)
            # non-finite anywhere in a system: back to its best iterate, then restart
            sane = xp.isfinite(r_norm) & xp.isfinite(alpha) & xp.isfinite(omega)
            broken = live & ~sane
            if bool(broken.any()):
                x[...] = xp.where(per(broken), best_x, x)
                r = xp.where(per(broken), b - apply(x), r)
                r_norm = xp.where(broken, norm(r), r_norm)
                done = done | restart(broken)
        pending = live & ~ok
        done = done | half_done | (r_norm <= target)
        if (it + 1) % STAGNATION_WINDOW == 0:
            improved = live & (r_norm < best)
            xp.copyto(best_x, x, where=per(improved))
            best = xp.where(improved, r_norm, best)
            with xp.errstate():
                rate = best / window_best  # reduction of the best residual over the window
                needed = xp.log(xp.maximum(target, 1e-300) / best) / xp.log(rate)
            left = (max_iter - it - 1) / STAGNATION_WINDOW
            hopeless = ~(rate < 1.0) | ~(needed <= left)
            done = done | (hopeless & ~(best <= target))
            window_best = xp.copy(best)
    # return, per system, the best iterate (the last one when it is as good)
    final_better = (r_norm <= best) & xp.all(xp.isfinite(x), other)
    return xp.where(per(final_better), x, best_x), iterations, int(restarts.sum())


def krylov_solve(
    xp: ArrayNamespace,
    env: FiniteMDP,
    pi: np.ndarray,
    rhs: np.ndarray,
    gamma: float,
    transpose: bool,
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, KrylovReport]:
    """Batched iterative solve of the policy systems in the array namespace ``xp``.

    Works in a state-major layout ``[S, C]`` with one column per (policy, right-hand side)
    pair, so that each operator application is one sparse product plus one elementwise
    weighting by the policies (``xp.chain``).

    Every column first runs extrapolated Richardson iteration (one operator application
    per sweep, the Perron mode removed exactly: MacQueen midpoints for value systems, exact
    mass for transposed ones, see :func:`_extrapolated_richardson`); columns whose chains
    mix slowly continue with Jacobi-preconditioned BiCGSTAB (:func:`batched_bicgstab`),
    warm-started. Convergence is measured as :func:`objspec.mdp.linear.certify` charges it:
    ``gamma * span(residual) / 2`` for value systems, ``||residual||_1`` for transposed ones,
    never below the rounding floor of the residual. Inputs and the returned ``[N, S, M]``
    solution are numpy arrays, whatever ``xp`` is.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.mdp.kernels import NUMPY, krylov_solve
    >>> env = FiniteMDP(np.full((2, 1, 2), 0.5), [1.0, 0.0])
    >>> x, report = krylov_solve(NUMPY, env, np.ones((1, 2, 1)), np.ones((1, 2, 1)), 0.5,
    ...                          False, 1e-12, 100)
    >>> x[0, :, 0].tolist(), report.handed_over
    ([2.0, 2.0], 0)
    """
    N, S, M = rhs.shape
    chain = xp.chain(env, pi, M, transpose)
    b = xp.asarray(rhs.transpose(1, 0, 2).reshape(S, N * M))

    # Residuals cannot be computed more accurately than the rounding of P_pi x: aiming below
    # that floor would only stall (the certificate adds it as a margin anyway).
    indptr = env.transition_matrix.indptr
    n = env.n_actions * int((indptr[1:] - indptr[:-1]).max()) + 3
    eps = float(np.finfo(np.float64).eps)

    def norm(v: Array) -> Array:
        return xp.sum(xp.abs(v), 0) if transpose else _span_norm(v, gamma, xp)

    size = xp.sum(xp.abs(b), 0) if transpose else xp.amax(xp.abs(b), 0)
    target = xp.maximum(tol * xp.maximum(size, 1.0), 4.0 * n * eps * size / (1.0 - gamma))
    x, rest, sweeps = _extrapolated_richardson(chain, b, gamma, target, max_iter, transpose, xp)
    iterations = restarts = 0
    if len(rest):
        op_chain = chain.columns(rest)
        jacobi = xp.asarray(_jacobi_diagonal(env, pi, gamma).T.repeat(M, axis=1))  # [S, C]
        x[:, rest], iterations, restarts = _bicgstab(
            xp,
            lambda v: v - gamma * op_chain(v),
            xp.contiguous(b[:, rest]),
            target[rest],
            norm,
            max_iter,
            x0=xp.contiguous(x[:, rest]),
            diagonal=xp.contiguous(jacobi[:, rest]),
            systems_axis=1,
        )
    out = xp.to_numpy(x).reshape(S, N, M).transpose(1, 0, 2)
    return out, KrylovReport(sweeps, len(rest), iterations, restarts)


def krylov_numpy(
    env: FiniteMDP,
    pi: np.ndarray,
    rhs: np.ndarray,
    gamma: float,
    transpose: bool,
    tol: float,
    max_iter: int,
) -> np.ndarray:
    """:func:`krylov_solve` on numpy/scipy (the numpy backend's iterative solve)."""
    return krylov_solve(NUMPY, env, pi, rhs, gamma, transpose, tol, max_iter)[0]


def dense_numpy(
    env: FiniteMDP, pi: np.ndarray, rhs: np.ndarray, gamma: float, transpose: bool
) -> np.ndarray:
    """Dense batched LU solve of ``(I - gamma P_pi) X = B`` for every policy."""
    chains = induced_chain_dense(env, pi)
    if transpose:
        chains = chains.transpose(0, 2, 1)
    system = np.eye(env.n_states)[None] - gamma * chains
    return np.linalg.solve(system, rhs)
