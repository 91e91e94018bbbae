"""Batched linear solves ``(I - gamma P_pi) X = B`` for many policies at once.

Methods, chosen by :func:`solve_policy_systems` (``method="auto"``):

* ``"direct"``: dense batched LU (``numpy.linalg.solve`` over an ``[N, S, S]`` stack); used
  for small state spaces, where it is exact to rounding.
* ``"power"``: for policies whose chain is deterministic (one successor per state: cycles,
  paths, permutations), the Neumann series summed by doubling
  (:func:`power_series_solve`), exact to rounding in about 60 ``O(S)`` steps whatever
  ``gamma`` is. Krylov methods cannot beat ``gamma`` per iteration on a long cycle, and
  BiCGSTAB breaks down on one.
* ``"krylov"``: iterative, on all ``N * M`` systems at once, whose only heavy step is one
  sparse product ``P @ X`` with ``X`` holding every column (no Python loop over policies):
  extrapolated Richardson (value iteration with MacQueen midpoints) for value systems,
  handing slowly mixing columns to a batched, Jacobi-preconditioned BiCGSTAB (per-column
  scalars, restarts on breakdown, recovery from non-finite iterates, early stop on
  stagnation: :func:`batched_bicgstab`), which also solves the transposed systems.
* ``"sparse_lu"``: the fallback. Every result above is certified from its true residual;
  columns whose bound misses the target -- NaN included: every acceptance test is written
  so that NaN fails it -- are solved again by sparse LU and certified again. A result that
  is still not finite raises :class:`~objspec.errors.SolverError`; NaN is never returned.

The certified error bound comes from the true residual ``R = B - (I - gamma P_pi) X``
(see :func:`certify`): for value systems the MacQueen/Porteus interval, whose width is
``gamma * span(R) / (1 - gamma)`` (the solution is moved to its midpoint, except for exact
methods); for the transposed system (state visitation) ``||R||_1 / (1 - gamma)`` in the
1-norm. Both include a margin for the rounding of ``R``. With ``rtol``,
:func:`solve_relative` certifies every entry relatively instead (rare events).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from objspec.errors import InvalidSpecificationError, SolverError
from objspec.mdp.backends import get_backend
from objspec.mdp.csr import select_rows
from objspec.mdp.kernels import (
    _ChainOperator,
    _jacobi_diagonal,  # noqa: F401 (re-exported)
    batched_bicgstab,  # noqa: F401 (re-exported)
    dense_numpy,  # noqa: F401 (re-exported)
    induced_chain_dense,  # noqa: F401 (re-exported)
    krylov_numpy,  # noqa: F401 (re-exported)
)
from objspec.mdp.model import FiniteMDP

__all__ = [
    "LinearSolution",
    "certify",
    "check_tolerances",
    "deterministic_chains",
    "power_series_solve",
    "solve_policy_systems",
    "solve_relative",
    "induced_chain_dense",
    "induced_chain_sparse",
    "envelope_of",
    "matrix_envelope",
    "ordered_splu",
    "policy_system",
    "splu_in_order",
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
        What was used, ``"+"``-joined: ``"direct"`` (dense LU), ``"power"`` (power series on
        deterministic chains), ``"krylov"``, ``"sparse_lu"`` (direct fallback or the
        ``rtol`` path).
    relative_error_bound : numpy.ndarray or None
        ``[N, M]``, only when ``rtol`` was asked: ``max_s |x - x_true| / |x_true|`` is at
        most this, state by state (``inf`` where a true value may be zero and only the
        absolute part of the target was certified); see :func:`solve_relative`.
    """

    x: np.ndarray
    error_bound: np.ndarray
    method: str
    relative_error_bound: np.ndarray | None = None


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
    acts = pi_row.argmax(axis=1)
    rows = np.arange(S) * A + acts
    if bool(np.all(pi_row.ravel()[rows] == 1.0)) and np.count_nonzero(pi_row) == S:
        # deterministic (a 1 in every row, and no other non-zero): the chain's rows are
        # rows of the transition matrix, copied as they are (1.0 * p == p exactly)
        chain = select_rows(env.transition_matrix, rows)
        if chain.data.all():  # no explicit zeros to remove
            return chain
    else:
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


def check_tolerances(tol: object, rtol: object) -> tuple[float, float | None]:
    """Validate ``tol`` and ``rtol``; returns ``(tol, rtol)`` with ``tol`` defaulted.

    ``tol`` defaults to ``1e-12`` without ``rtol`` and to ``0`` with it (the target is then
    purely relative). ``tol`` must be a finite number, positive without ``rtol`` and
    non-negative with it; ``rtol`` (when given) a finite positive number.

    Raises
    ------
    InvalidSpecificationError
        On a negative, zero (where not allowed), NaN, infinite or non-numeric value.

    Examples
    --------
    >>> from objspec.mdp.linear import check_tolerances
    >>> check_tolerances(None, None), check_tolerances(None, 1e-6)
    ((1e-12, None), (0.0, 1e-06))
    >>> check_tolerances(float("nan"), None)
    Traceback (most recent call last):
    ...
    objspec.errors.InvalidSpecificationError: tol = nan must be a finite positive number
    """

    def number(value: object, name: str, zero_ok: bool) -> float:
        what = "non-negative" if zero_ok else "positive"
        message = f"{name} = {value!r} must be a finite {what} number"
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise InvalidSpecificationError(message)
        v = float(value)
        if not np.isfinite(v) or v < 0.0 or (v == 0.0 and not zero_ok):
            raise InvalidSpecificationError(message)
        return v

    r = None if rtol is None else number(rtol, "rtol", zero_ok=False)
    if tol is None:
        return (1e-12 if r is None else 0.0), r
    return number(tol, "tol", zero_ok=r is not None), r


def deterministic_chains(
    env: FiniteMDP, pi: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which policies induce a *deterministic* chain (one successor per state), and which.

    A chain ``P_pi`` is deterministic when every action the policy uses in ``s`` (``pi > 0``)
    leads to one and the same state ``succ[s]`` (permutations, cycles, chains, and trees
    hanging off cycles). Its row ``s`` is then ``weight[s]`` (``= sum_a pi(a|s)``, one up to
    the rounding of ``pi``) at column ``succ[s]``.

    Returns
    -------
    mask : numpy.ndarray
        ``[N]`` bools.
    succ : numpy.ndarray
        ``[N, S]`` successors (meaningful where ``mask``).
    weight : numpy.ndarray
        ``[N, S]`` row weights (meaningful where ``mask``).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.mdp.linear import deterministic_chains
    >>> P = np.zeros((3, 2, 3)); P[:, 0, :] = np.roll(np.eye(3), 1, axis=1); P[:, 1, :] = 1 / 3
    >>> env = FiniteMDP(P, [1.0, 0.0, 0.0])
    >>> ring, uniform = np.eye(2)[[0, 0, 0]], np.full((3, 2), 0.5)
    >>> mask, succ, weight = deterministic_chains(env, np.stack([ring, uniform]))
    >>> mask.tolist(), succ[0].tolist(), weight[0].tolist()
    ([True, False], [1, 2, 0], [1.0, 1.0, 1.0])
    """
    S, A = env.n_states, env.n_actions
    P = env.transition_matrix
    indptr = P.indptr
    nnz = (indptr[1:] - indptr[:-1]).reshape(S, A)
    head = np.minimum(indptr[:-1], max(P.nnz - 1, 0))
    first = P.indices[head].reshape(S, A)
    value = P.data[head].reshape(S, A)
    used = pi > 0.0
    single = np.all(~used | (nnz == 1)[None], axis=2)
    hi = np.where(used, first[None], -1).max(axis=2)
    lo = np.where(used, first[None], S).min(axis=2)
    mask = (single & (hi == lo)).all(axis=1)
    weight = np.einsum("nsa,sa->ns", pi, value)
    return mask, np.clip(hi, 0, S - 1), weight


def power_series_solve(
    succ: np.ndarray, weight: np.ndarray, gamma: float, b: np.ndarray, transpose: bool
) -> np.ndarray:
    """Solve ``(I - gamma C) x = b`` (or the transpose) for a deterministic chain ``C``.

    ``C[s, succ[s]] = weight[s]``. The Neumann series ``x = sum_t (gamma C)^t b`` is summed
    by doubling: ``(gamma C)^(2^k)`` is again one successor per state (``succ`` composed
    with itself ``2^k`` times) with a weight (the product along the path), so after ``k``
    steps ``2^k`` terms are summed with ``O(S M)`` work each. The loop stops when every
    weight has underflowed to zero (``gamma^(2^k) < 1e-323``: at most about 60 steps even for
    ``gamma = 1 - 2^-53``), so the truncation is below the smallest float. Cycles of any
    length, trees feeding into them and long paths are all handled the same way; no Krylov
    iteration (which cannot beat ``gamma`` per step on a cycle) is involved.

    For ``b >= 0`` every term is non-negative, so each entry is computed to a *relative*
    accuracy of about ``4 k eps`` however small it is (rare events).

    Examples
    --------
    A ring of 4 states with reward 1 in state 0 and ``gamma = 1/2``:
    ``x[0] = 1 / (1 - 1/16) = 16/15`` and ``x[s] = 2^(s - 4) x[0] = 2^s / 15`` for ``s >= 1``
    (state ``s`` reaches state 0 after ``4 - s`` steps).

    >>> import numpy as np
    >>> from objspec.mdp.linear import power_series_solve
    >>> succ, weight = np.array([1, 2, 3, 0]), np.ones(4)
    >>> x = power_series_solve(succ, weight, 0.5, np.array([[1.0], [0.0], [0.0], [0.0]]), False)
    >>> (x[:, 0] * 15).tolist()
    [16.0, 2.0, 4.0, 8.0]
    """
    S = succ.shape[0]
    x = np.array(b, dtype=np.float64, copy=True)
    g = gamma * np.asarray(weight, dtype=np.float64)
    cur = np.asarray(succ, dtype=np.int64).copy()
    for _ in range(80):
        if not g.any():
            break
        if transpose:  # x += ((gamma C)^(2^k))^T x: mass of s moves to cur[s]
            for m in range(x.shape[1]):
                x[:, m] += np.bincount(cur, weights=g * x[:, m], minlength=S)
        else:
            x = x + g[:, None] * x[cur]
        g = g * g[cur]
        cur = cur[cur]
    return x


def solve_policy_systems(
    env: FiniteMDP,
    pi: np.ndarray,
    rhs: np.ndarray,
    gamma: float,
    *,
    transpose: bool = False,
    tol: float | None = None,
    rtol: float | None = None,
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
    tol : float, optional
        Scaled absolute target: the certified error bound is driven below
        ``tol * max(1, ||B||) / (1 - gamma)`` for every column (sup norm for value systems,
        1-norm for transposed ones). Default ``1e-12``, or ``0`` when ``rtol`` is given.
    rtol : float, optional
        Elementwise relative target (see :func:`solve_relative`): when given, every entry
        is certified to satisfy ``|X - X_true| <= tol * max(1, ||B||) / (1 - gamma) + rtol
        * |X_true|``, and :class:`~objspec.errors.SolverError` is raised when that cannot be
        certified.
    method : {"auto", "direct", "krylov"}
        ``"auto"``: dense LU for small models; else the power series for policies whose
        chain is deterministic (:func:`power_series_solve`, exact on cycles) and the
        Krylov solver of the backend in force (:func:`objspec.mdp.kernels.krylov_solve`)
        for the others.

    Returns
    -------
    LinearSolution
        ``method`` names what was used, ``"+"``-joined (``"sparse_lu"`` when the direct
        fallback was needed).

    Raises
    ------
    InvalidSpecificationError
        On an invalid ``tol``/``rtol``.
    SolverError
        When no method produced a finite solution (never observed; a NaN is never
        returned), or ``rtol`` could not be certified.

    Notes
    -----
    Every result, whichever method produced it, is certified from its true residual
    (:func:`certify`). Columns whose bound is not below the target -- including every
    column with a NaN or infinite entry, since the tests are written so that NaN fails
    them -- are solved again by sparse LU and certified again.

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
    tol_value, rtol_value = check_tolerances(tol, rtol)
    if method not in ("auto", "direct", "krylov"):
        raise InvalidSpecificationError(
            f"method = {method!r}; choose 'auto', 'direct' or 'krylov'"
        )
    N = pi.shape[0]
    S = env.n_states
    rhs = np.broadcast_to(rhs, (N, S, rhs.shape[2])).astype(np.float64)
    if not np.isfinite(rhs).all():
        raise InvalidSpecificationError("the right-hand side has NaN or infinite entries")
    if rtol_value is not None:
        return solve_relative(env, pi, rhs, gamma, transpose, tol_value, rtol_value)
    backend = get_backend()
    used: list[str] = []
    det = np.zeros(N, dtype=bool)
    with np.errstate(all="ignore"):  # non-finite results are caught below
        if method == "direct" or (method == "auto" and _use_direct(env, N)):
            x = np.asarray(backend.dense_policy_solve(env, pi, rhs, gamma, transpose))
            used.append("direct")
        else:
            x = np.empty(rhs.shape)
            if method == "auto":
                det, succ, weight = deterministic_chains(env, pi)
                for n in np.flatnonzero(det).tolist():
                    x[n] = power_series_solve(succ[n], weight[n], gamma, rhs[n], transpose)
                if det.any():
                    used.append("power")
            if not det.all():
                rest = np.flatnonzero(~det)
                x[rest] = backend.krylov_policy_solve(
                    env, pi[rest], rhs[rest], gamma, transpose, tol_value, max_iter
                )
                used.append("krylov")
        x = np.asarray(x, dtype=np.float64)
        x, bound, margin = _certify(env, pi, rhs, x, gamma, transpose, keep=det)
        scale = np.maximum(1.0, _residual_norm(rhs, transpose)) / (1.0 - gamma)
        # only the part of the bound a better solve could remove counts: rounding stays
        # anyway, and a residual at the rounding level of its own computation cannot be
        # improved on. Written so that NaN fails the test: a NaN bound takes the fallback.
        bad = ~(bound - margin <= np.maximum(tol_value * scale * 10.0, margin))
        if bad.any():
            x, bound = _direct_fallback(env, pi, rhs, gamma, transpose, x, bound, bad)
            used.append("sparse_lu")
    if not (np.isfinite(x).all() and np.isfinite(bound).all()):
        if float(np.abs(rhs).max(initial=0.0)) / (1.0 - gamma) > 1e300:
            raise SolverError(
                "the solution overflows float64 (max |B| / (1 - gamma) > 1e300): rescale "
                "the rewards"
            )
        raise SolverError(
            "the policy systems could not be solved to a finite, certified result by any "
            f"method ({'+'.join(used)}); please report this model"
        )
    return LinearSolution(x=x, error_bound=bound, method="+".join(used))


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
    keep: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`certify`, also returning the rounding margin included in the bound.

    For the policies where ``keep`` (``[N]`` bools) holds, value-system solutions are not
    moved to the midpoint (the shift by a constant would spoil the relative accuracy of
    tiny entries of an accurate solution, e.g. one from :func:`power_series_solve`); their
    bound is ``max_s max(|d_s + gamma lo / (1 - gamma)|, |d_s + gamma hi / (1 - gamma)|)``,
    from the same MacQueen interval ``x_true - x in [d + gamma lo/(1-gamma), d + gamma
    hi/(1-gamma)]``.
    """
    res = rhs - apply_policy_operator(env, pi, x, gamma, transpose)
    margin = _rounding_margin(env, rhs, x, gamma, transpose)
    if transpose:
        return x, _residual_norm(res, transpose) / (1.0 - gamma) + margin, margin
    lo, hi = res.min(axis=1), res.max(axis=1)  # [N, M]
    k = gamma / (1.0 - gamma)
    mid = x + res + (k * (lo + hi) / 2.0)[:, None, :]
    bound = k * (hi - lo) / 2.0 + margin
    if keep is not None and keep.any():
        low = np.abs(res + (k * lo)[:, None, :]).max(axis=1)
        high = np.abs(res + (k * hi)[:, None, :]).max(axis=1)
        mid = np.where(keep[:, None, None], x, mid)
        bound = np.where(keep[:, None], np.maximum(low, high) + margin, bound)
    return mid, bound, margin


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


#: :func:`ordered_splu` keeps the given order of the unknowns when the matrix's envelope
#: is at most this many times its entries plus its size (so the factors stay within that
#: many times the matrix); else it orders the columns by COLAMD.
NATURAL_ORDER_ENVELOPE = 160


def matrix_envelope(matrix: sp.spmatrix) -> int:
    """The envelope (profile) of a square sparse matrix: ``sum_i (i - first column of row
    i)`` below the diagonal plus ``sum_j (j - first row of column j)`` above it (each term
    at least 0). Gaussian elimination without pivoting fills in only inside it, so it
    bounds the factors' size in the given order (George and Liu 1981, section 4.2).

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> matrix_envelope(sp.csc_matrix(np.array([[1.0, 0, 1], [0, 1, 0], [1, 0, 1]])))
    4
    """
    csc = matrix if sp.isspmatrix_csc(matrix) else sp.csc_matrix(matrix)
    csr = matrix if sp.isspmatrix_csr(matrix) else csc.tocsr()
    return envelope_of(csc, csr)


def envelope_of(csc: sp.csc_matrix, csr: sp.csr_matrix) -> int:
    """:func:`matrix_envelope` of a matrix given in both compressed forms."""
    span = np.arange(csc.shape[0])
    total = 0
    # the first row of each column (CSC) and the first column of each row (CSR): a
    # segment minimum per non-empty row or column (an empty one contributes nothing)
    for compressed in (csc, csr):
        nonempty = np.diff(compressed.indptr) > 0
        first = span.copy()
        if nonempty.any():
            first[nonempty] = np.minimum.reduceat(compressed.indices,
                                                  compressed.indptr[:-1][nonempty])
        total += int(np.maximum(span - first, 0).sum())
    return total


def policy_system(matrix: sp.csr_matrix, rows: np.ndarray, gamma: float) -> sp.csr_matrix:
    """``I - gamma * matrix[rows]`` (the rows ``rows`` of a CSR matrix, one per unknown) as
    CSR, built by index arithmetic instead of sparse row indexing and sparse arithmetic:
    each row's entries scaled by ``-gamma``, then its diagonal entry ``1``. A row with a
    self-loop then holds its diagonal twice; CSR products, ``diagonal``,
    :func:`matrix_envelope` and SuperLU (which sums repeated entries) read it as their
    sum.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> P = sp.csr_matrix(np.array([[0.5, 0.5], [0.0, 1.0], [1.0, 0.0]]))
    >>> policy_system(P, np.array([2, 0]), 0.5).toarray().tolist()
    [[0.5, 0.0], [-0.25, 0.75]]
    """
    n = rows.size
    starts = matrix.indptr[rows]
    counts = matrix.indptr[rows + 1] - starts
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts + 1, out=indptr[1:])
    total = int(indptr[-1])
    is_diagonal = np.zeros(total, dtype=bool)
    is_diagonal[indptr[1:] - 1] = True
    source = np.repeat(starts - indptr[:-1], counts + 1) + np.arange(total)
    indices = np.empty(total, dtype=matrix.indices.dtype)
    data = np.empty(total)
    off = ~is_diagonal
    indices[off] = matrix.indices[source[off]]
    data[off] = matrix.data[source[off]] * -gamma
    indices[is_diagonal] = np.arange(n)
    data[is_diagonal] = 1.0
    return sp.csr_matrix((data, indices, indptr), shape=(n, n))


def ordered_splu(matrix: sp.spmatrix) -> spla.SuperLU:
    """SuperLU factorisation of a square sparse M-matrix (``I - P`` for a substochastic
    ``P`` with ``I - P`` non-singular, e.g. ``I - gamma P_pi``) in a column order chosen
    for it.

    Models built by state-space exploration (PRISM, Storm, products with automata) number
    their states in search order, which keeps the envelope (:func:`matrix_envelope`) small:
    there, when the envelope is at most :data:`NATURAL_ORDER_ENVELOPE` times the entries
    plus the size, the given order is kept (SuperLU's ``NATURAL``) with diagonal pivots
    (``diag_pivot_thresh=0``: an M-matrix needs no row exchanges, its leading principal
    minors are positive), so the factors lie inside the envelope and the ordering pass is
    spared (on the PRISM models Storm ships it halves the factorisation time). Other
    matrices (random graphs) are ordered by COLAMD with partial pivoting, SuperLU's
    default. Either way it is an exact LU factorisation up to rounding.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> lu = ordered_splu(sp.csc_matrix(np.array([[2.0, -1.0], [0.0, 1.0]])))
    >>> lu.solve(np.array([1.0, 1.0])).tolist()
    [1.0, 1.0]
    """
    csc = matrix if sp.isspmatrix_csc(matrix) else sp.csc_matrix(matrix)
    return splu_in_order(csc, matrix_envelope(csc))


def splu_in_order(csc: sp.csc_matrix, envelope: int) -> spla.SuperLU:
    """:func:`ordered_splu` of a CSC matrix whose :func:`matrix_envelope` is known."""
    if envelope <= NATURAL_ORDER_ENVELOPE * (csc.nnz + csc.shape[0]):
        return spla.splu(csc, permc_spec="NATURAL", diag_pivot_thresh=0.0)
    return spla.splu(csc, permc_spec="COLAMD")


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
        # an LU solution is accurate entry by entry: keep it (no midpoint shift)
        xn, bn, _ = _certify(
            env, pi[n : n + 1], rhs[n : n + 1], solved, gamma, transpose, keep=np.ones(1, bool)
        )
        x[n], bound[n] = xn[0], bn[0]
    return x, bound


#: With ``rtol``, entries whose magnitude is at most this are certified absolutely, to
#: within this value: near float64's underflow threshold (``2.2e-308``) relative precision
#: is lost, and true values far below it are not even representable.
UNDERFLOW_FLOOR = 1e-290


#: Rounding of one residual entry ``b - (x - gamma P x)``: a sum of ``n`` products plus three
#: operations, each within ``eps``; doubled for the rounding of the magnitudes themselves.
def _unit_roundoff(row_nnz: int) -> float:
    return 2.0 * (row_nnz + 4) * float(np.finfo(np.float64).eps)


def _system_solver(
    op: sp.csr_matrix,
    gamma: float,
    transpose: bool,
    succ: np.ndarray | None,
    weight: np.ndarray,
) -> Callable[[np.ndarray], np.ndarray]:
    """``y -> (I - gamma op)^{-1} y``: the power series when the chain is deterministic
    (``succ`` given), else sparse LU with diagonal pivots (``I - gamma op`` is a diagonally
    dominant M-matrix, so no pivoting is needed and elimination is componentwise stable)."""
    if succ is not None:
        succ_n = succ

        def power(y: np.ndarray) -> np.ndarray:
            return power_series_solve(succ_n, weight, gamma, y, transpose)

        return power
    system = (sp.identity(op.shape[0], format="csr") - gamma * op).tocsc()
    lu = spla.splu(system, permc_spec="COLAMD", diag_pivot_thresh=0.0)

    def direct(y: np.ndarray) -> np.ndarray:
        return np.asarray(lu.solve(np.ascontiguousarray(y))).reshape(y.shape)

    return direct


def solve_relative(
    env: FiniteMDP,
    pi: np.ndarray,
    rhs: np.ndarray,
    gamma: float,
    transpose: bool,
    tol: float,
    rtol: float,
) -> LinearSolution:
    """Solve the policy systems with an *elementwise* relative certificate.

    For each policy, ``A = I - gamma P_pi`` (or ``A^T``) is solved by sparse LU (diagonal
    pivots: ``A`` is a diagonally dominant M-matrix, so elimination is componentwise stable)
    or, for deterministic chains, by :func:`power_series_solve`; two steps of iterative
    refinement follow. Then, with ``A^{-1} >= 0`` entrywise:

    1. the computed residual ``d`` of ``x`` and its rounding give ``g = |d| + nu h + eta >=
       |b - A x|`` entrywise, where ``h = |b| + |x| + gamma P |x| + f`` (``f`` =
       :data:`UNDERFLOW_FLOOR`), ``nu`` bounds the relative rounding
       (:func:`_unit_roundoff`) and ``eta`` the absolute rounding of subnormal results; let
       ``beta = max g / h``;
    2. ``w ~ A^{-1} h`` is computed and *checked*: the smallest ``c`` with
       ``A (c w) >= h`` entrywise, evaluated with a rounding margin, makes ``c w`` a
       supersolution, hence ``c w >= A^{-1} h`` (the check fails, and nothing is
       certified, if ``A w`` is not positive where needed);
    3. so ``|x - x_true| = |A^{-1}(b - A x)| <= A^{-1} g <= beta c w =: a``, entrywise.

    What is certified, for every state ``s`` and column: ``|x_s - x_true_s| <= a_s``, hence
    ``|x_s - x_true_s| <= a_s / (|x_s| - a_s) |x_true_s|`` where ``a_s < |x_s|``. The
    result is accepted when ``a_s <= tol * max(1, ||b||) / (1 - gamma) + rtol * (|x_s| -
    a_s) + f`` for every ``s``; otherwise :class:`~objspec.errors.SolverError` is raised.
    The floor ``f = 1e-290`` only matters for entries near or below float64's underflow
    threshold (e.g. ``0.9^10000``), which are thus certified absolutely to within ``f``. ``a``
    is about ``eps`` times the componentwise condition number of the system, which does not
    depend on the size of the values (``a`` scales with ``x``), so values of ``1e-60`` come
    back with the same relative accuracy as values of 1; it grows like ``1 / (1 - gamma)``
    (at ``gamma = 0.999999`` about ``1e-8`` can be certified). True values that cancel to
    zero (rewards of both signs) cannot be certified relatively: give a ``tol > 0`` for them.

    Returns
    -------
    LinearSolution
        ``error_bound`` is ``max_s a_s`` and ``relative_error_bound`` is
        ``max_s a_s / (|x_s| - a_s)`` over the entries with ``|x_s| > f`` (``inf`` where
        ``a_s >= |x_s|``); an entry with ``|x_s| <= f`` counts ``0`` if ``a_s <= f`` (it is
        certified absolutely) and ``inf`` otherwise.

    Examples
    --------
    A chain ``0 -> 1 -> ... -> 99 -> 99`` with reward 1 in state 99 only and
    ``gamma = 0.25``: ``x_0 = 0.25^99 * 4/3`` (about ``2.4e-60``) comes back to full
    relative accuracy (an absolute ``1e-12`` would allow any value below it):

    >>> import numpy as np, scipy.sparse as sp
    >>> from objspec import FiniteMDP
    >>> from objspec.mdp.linear import solve_relative
    >>> S = 100
    >>> P = sp.csr_matrix((np.ones(S), (np.arange(S), np.minimum(np.arange(S) + 1, S - 1))))
    >>> env = FiniteMDP(P, np.eye(S)[0])
    >>> b = np.zeros((1, S, 1)); b[0, -1, 0] = 1.0
    >>> sol = solve_relative(env, np.ones((1, S, 1)), b, 0.25, False, 0.0, 1e-10)
    >>> exact = 0.25 ** 99 * 4 / 3
    >>> bool(abs(sol.x[0, 0, 0] - exact) <= 1e-13 * exact)
    True
    >>> bool(sol.relative_error_bound[0, 0] < 1e-12)
    True
    """
    N, S, M = rhs.shape
    det, succ, weight = deterministic_chains(env, pi)
    xs = np.empty((N, S, M))
    bounds = np.empty((N, M))
    rels = np.empty((N, M))
    scale = np.maximum(1.0, _residual_norm(rhs, transpose)) / (1.0 - gamma)  # [N, M]
    used = "power" if det.all() else ("sparse_lu" if not det.any() else "power+sparse_lu")
    for n in range(N):
        chain = induced_chain_sparse(env, pi[n])
        op = chain.T.tocsr() if transpose else chain
        row_nnz = int(np.diff(op.indptr).max(initial=1))
        nu = _unit_roundoff(row_nnz)
        eta = 4.0 * (row_nnz + 4) * float(np.finfo(np.float64).smallest_subnormal)
        solve = _system_solver(op, gamma, transpose, succ[n] if det[n] else None, weight[n])

        def apply(v: np.ndarray, op: sp.csr_matrix = op) -> np.ndarray:
            return v - gamma * np.asarray(op @ v)

        b = rhs[n]
        with np.errstate(all="ignore"):
            x = solve(b)
            for _ in range(2):  # iterative refinement (componentwise backward stability)
                x = x + solve(b - apply(x))
            d = b - apply(x)
            # h > 0 everywhere (UNDERFLOW_FLOOR added), so w = A^{-1} h stays clear of the
            # subnormal range; eta covers the absolute rounding of subnormal results
            h = np.abs(b) + np.abs(x) + gamma * np.asarray(op @ np.abs(x)) + UNDERFLOW_FLOOR
            g = np.abs(d) + nu * h + eta
            beta = (g / h).max(axis=0)
            a = np.full((S, M), np.inf)
            certified = np.isfinite(x).all(axis=0)
            w = np.maximum(solve(h), 0.0)
            for _ in range(2):
                q = apply(w)
                q_lo = q - nu * (w + gamma * np.asarray(op @ w)) - eta
                need = q_lo > 0.0
                if need.all():
                    break
                w = np.maximum(w + solve(h - q), 0.0)  # one refinement, then check again
            c = (h / np.where(need, q_lo, 1.0)).max(axis=0)
            certified &= need.all(axis=0) & np.isfinite(c) & np.isfinite(beta)
            a[:, certified] = (beta * c)[certified] * w[:, certified] * (1.0 + 16 * np.finfo(
                np.float64).eps)
            mag = np.abs(x) - a
            tiny = np.abs(x) <= UNDERFLOW_FLOOR
            rel = np.where(
                tiny,
                np.where(a <= UNDERFLOW_FLOOR, 0.0, np.inf),
                np.where(mag > 0.0, a / np.where(mag > 0, mag, 1.0), np.inf),
            )
            rel = np.where(a == 0.0, 0.0, rel)
            accept = a <= tol * scale[n][None, :] + rtol * np.maximum(mag, 0.0) + UNDERFLOW_FLOOR
        if not (certified.all() and accept.all()):
            col = int(np.flatnonzero(~(certified & accept.all(axis=0)))[0])
            if not certified[col]:
                raise SolverError(
                    f"rtol = {rtol:g} could not be certified for policy {n}, column {col}: "
                    "the entrywise error bound check failed (the system is too badly "
                    "conditioned for float64); use tol instead of rtol"
                )
            s_bad = int(np.flatnonzero(~accept[:, col])[0])
            raise SolverError(
                f"rtol = {rtol:g} could not be certified for policy {n}, column {col}: at "
                f"state {s_bad} the value {x[s_bad, col]:.6g} is only certified to within "
                f"{a[s_bad, col]:.3g}"
                + (" (a true value of 0 cannot be certified relatively; give tol > 0)"
                   if not mag[s_bad, col] > 0 else "")
            )
        xs[n], bounds[n], rels[n] = x, a.max(axis=0), rel.max(axis=0)
    return LinearSolution(x=xs, error_bound=bounds, method=used, relative_error_bound=rels)
