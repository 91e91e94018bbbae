"""Long-run (limit-average) quantities of Markov chains and policies, computed exactly.

For a Markov chain ``P`` on ``S`` states the Cesaro limit

.. math:: P^* = \\lim_{N \\to \\infty} \\frac{1}{N} \\sum_{t < N} P^t

always exists (also for periodic chains) and the long-run average reward (the *gain*) of a
policy ``pi`` with expected one-step reward ``r_pi`` is ``g(s) = (P^*_pi r_pi)(s)``, or
``mu0 . P^*_pi r_pi`` from the initial distribution (docs/theory.md#policies, LAR).

Method (no discount close to 1 is used anywhere, so ties stay ties):

1. **Recurrent classes** are the bottom strongly connected components of the support
   graph ``{(s, t) : P[s, t] > 0}``; the graph is read from the entries exactly (never
   thresholded) and decomposed with :func:`objspec.mdp.graph.bottom_components`.
2. **Stationary distributions**: on each recurrent class ``C`` the restricted chain
   ``P_CC`` is stochastic and irreducible, so ``pi_C (I - P_CC) = 0, pi_C 1 = 1`` has a unique
   solution. Classes of more than ``POWER_BLOCK`` states first try the power iteration
   ``pi <- pi P_CC`` (one sparse product a sweep; fast on well-mixing chains, given up on
   periodic or slowly mixing ones). Up to ``DENSE_BLOCK`` states the system is otherwise
   solved densely (one equation of the singular system replaced by the normalisation);
   larger classes by BiCGSTAB on the nonsingular ``(I - P_CC^T + w 1^T) pi = w`` (``w``
   uniform), falling back to a sparse LU of the renewal system (visits between returns
   to one state). The residual
   ``||pi (I - P_CC)||_1 <= STATIONARY_TOLERANCE`` is checked; a failure raises
   :class:`~objspec.errors.ObjspecError`, never returns NaN.
3. **Absorption probabilities** ``B[s, c] = P(reach class c | s_0 = s)`` solve
   ``(I - P_TT) B_T = P_TC`` on the transient states ``T``. Entries are set to exactly 0
   where the support graph shows that ``c`` is unreachable from ``s``, and to exactly 1
   where ``c`` is the only reachable class.
4. ``P^* = B Pi`` where row ``c`` of ``Pi`` is the stationary distribution of class ``c``
   (Kemeny and Snell, *Finite Markov Chains*, 1960; Puterman, *Markov Decision
   Processes*, 1994, section A.4).

Gains of policies (:func:`long_run_average`, :func:`long_run_average_values`) form neither
``B`` nor ``P*``: recurrent states get their class's gain ``pi_c . r``, a transient state
that can reach only one class gets that gain exactly (from the support graph), and the
other transient states solve ``(I - P) g = 0`` with those values as boundary, one
right-hand side per reward. Memory is ``O(non-zeros)``; transient systems are solved
densely when small, by sparse LU when their strong components are small (nearly
triangular systems, such as protocol models), else by batched BiCGSTAB with an LU
fallback, each with a checked residual.

The ``exact_*`` functions run the same steps in rational arithmetic
(:func:`objspec.mdp.exact.solve_rational`) and return :class:`fractions.Fraction` objects.

Examples
--------
A periodic chain has a Cesaro limit though ``P^t`` does not converge:

>>> import numpy as np
>>> from objspec.mdp.longrun import cesaro_limit, recurrent_classes
>>> flip = np.array([[0.0, 1.0], [1.0, 0.0]])
>>> cesaro_limit(flip)
array([[0.5, 0.5],
       [0.5, 0.5]])
>>> recurrent_classes(np.array([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
[array([1]), array([2])]
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from objspec.errors import InvalidModelError, ObjspecError
from objspec.mdp.csr import matvec_adder, transpose
from objspec.mdp.graph import bottom_components, reachable
from objspec.mdp.model import ROW_TOLERANCE, FiniteMDP
from objspec.mdp.policy import as_policy_batch

__all__ = [
    "recurrent_classes",
    "stationary_distributions",
    "absorption_probabilities",
    "cesaro_limit",
    "long_run_average",
    "long_run_average_values",
    "policy_gains",
    "exact_cesaro_limit",
    "exact_long_run_average",
    "exact_long_run_average_values",
]

#: Systems of at most this many states are solved densely (LAPACK). Larger ones go to
#: batched BiCGSTAB (fast on well-mixing chains, where sparse LU fills in badly), with a
#: sparse LU as the fallback (fast on structured chains, where Krylov methods are slow).
DENSE_BLOCK = 500

#: Recurrent classes of more than this many states first try the power iteration (fast on
#: well-mixing chains; its residual is checked like every other solve's).
POWER_BLOCK = 100

#: Most power-iteration sweeps before the Krylov or dense solve takes over.
POWER_ITERATIONS = 500

#: Sweeps between two residual checks of the power iteration.
POWER_CHECK = 8

#: BiCGSTAB iterations before falling back to sparse LU.
KRYLOV_ITERATIONS = 400

#: Relative 1-norm residual that BiCGSTAB aims at.
RESIDUAL_TARGET = 1e-14

#: Largest accepted ``||pi (I - P)||_1`` of a computed stationary distribution.
STATIONARY_TOLERANCE = 1e-10

#: Largest accepted relative 1-norm residual of a transient (absorption or gain) solve.
TRANSIENT_TOLERANCE = 1e-10


# ---------------------------------------------------------------------------- structure
def _is_object(chain: Any) -> bool:
    return isinstance(chain, np.ndarray) and chain.dtype == object


def _as_float_chain(chain: Any) -> sp.csr_matrix:
    """Validate a float chain and return it as CSR (explicit zeros removed)."""
    if sp.issparse(chain):
        m = sp.csr_matrix(chain, dtype=np.float64)
    else:
        try:
            dense = np.asarray(chain, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidModelError(f"chain must be numeric: {exc}") from None
        if dense.ndim != 2:
            raise InvalidModelError(f"chain must be shaped [S, S]; got {dense.shape}")
        m = sp.csr_matrix(dense)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise InvalidModelError(f"chain must be shaped [S, S] with S >= 1; got {m.shape}")
    m.sum_duplicates()
    data = m.data
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    for mask, what in ((~np.isfinite(data), "is not finite"), (data < 0, "is negative")):
        if mask.any():
            k = int(np.argmax(mask))
            raise InvalidModelError(f"chain[{rows[k]}, {m.indices[k]}] = {data[k]} {what}")
    m.eliminate_zeros()
    sums = np.asarray(m.sum(axis=1)).ravel()
    off = np.abs(sums - 1.0) > ROW_TOLERANCE
    if off.any():
        s = int(np.argmax(off))
        raise InvalidModelError(
            f"chain row {s} sums to {sums[s]:.12g}, not 1 (tolerance {ROW_TOLERANCE:g})"
        )
    return m


def _as_fraction_chain(chain: Any) -> np.ndarray:
    """Validate a chain of rationals and return an ``[S, S]`` object array of Fractions."""
    from objspec.mdp.model import to_fraction

    arr = np.asarray(chain.toarray() if sp.issparse(chain) else chain, dtype=object)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise InvalidModelError(f"chain must be shaped [S, S] with S >= 1; got {arr.shape}")
    n = int(arr.shape[0])
    out = np.empty((n, n), dtype=object)
    for s, t in np.ndindex(n, n):
        x = arr[s, t]
        try:
            out[s, t] = to_fraction(x)
        except TypeError:
            raise InvalidModelError(f"chain[{s}, {t}] = {x!r} is not a rational number") from None
        if out[s, t] < 0:
            raise InvalidModelError(f"chain[{s}, {t}] = {x} is negative")
    for s in range(n):
        total = sum(out[s], Fraction(0))
        if total != 1:
            raise InvalidModelError(f"chain row {s} sums to {total}, not exactly 1")
    return out


def _support(chain: Any) -> sp.csr_matrix:
    """The support graph ``{(s, t) : P[s, t] > 0}`` of a (validated) chain as CSR."""
    if _is_object(chain):
        arr = _as_fraction_chain(chain)
        mask = np.vectorize(lambda x: x != 0, otypes=[bool])(arr)
        return sp.csr_matrix(mask.astype(np.int8))
    m = _as_float_chain(chain)
    return sp.csr_matrix((np.ones_like(m.data, dtype=np.int8), m.indices, m.indptr), m.shape)


def _classes_of(graph: sp.csr_matrix) -> list[np.ndarray]:
    return _bottom_classes(*bottom_components(graph))


def recurrent_classes(chain: Any) -> list[np.ndarray]:
    """The recurrent classes (bottom strongly connected components) of a Markov chain.

    Parameters
    ----------
    chain : array_like or scipy.sparse matrix
        ``[S, S]`` row-stochastic matrix (floats, or an object array of Fractions).

    Returns
    -------
    list of numpy.ndarray
        Sorted state indices of each class, classes ordered by their smallest state.

    Raises
    ------
    InvalidModelError
        If ``chain`` is not square or a row is not a probability distribution.

    Notes
    -----
    The support graph is read exactly: any entry ``> 0``, however small, is an edge.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.mdp.longrun import recurrent_classes
    >>> P = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.5, 0.0, 0.5]])
    >>> recurrent_classes(P)
    [array([0, 1])]
    """
    return _classes_of(_support(chain))


def _reachers(graph: sp.csr_matrix, classes: list[np.ndarray]) -> np.ndarray:
    """``[S, n_classes]`` bool: can state ``s`` reach class ``c`` (in the support graph)."""
    reverse = graph.tocsc()  # the reversed graph's CSR structure, for every search
    out = np.zeros((graph.shape[0], len(classes)), dtype=bool)
    for c, members in enumerate(classes):
        out[:, c] = reachable(reverse, [int(members[0])], backward=True)
    return out


# ---------------------------------------------------------------------------- float solves
def _solve_dense_or_lu(matrix: sp.csr_matrix, rhs: np.ndarray) -> np.ndarray:
    if matrix.shape[0] <= DENSE_BLOCK:
        return np.asarray(np.linalg.solve(matrix.toarray(), rhs))
    lu = spla.splu(sp.csc_matrix(matrix))
    return np.asarray(lu.solve(np.ascontiguousarray(rhs)))


def _krylov(
    apply: Any, rhs: np.ndarray, diagonal: np.ndarray, x0: np.ndarray, target: np.ndarray
) -> np.ndarray:
    from objspec.mdp.linear import batched_bicgstab

    return batched_bicgstab(
        apply, rhs, target, lambda r: np.abs(r).sum(axis=0), KRYLOV_ITERATIONS,
        x0=x0, diagonal=diagonal[:, None],
    )


def _stationary_residual(block: sp.csr_matrix, pi: np.ndarray) -> float:
    return float(np.abs(pi - block.T @ pi).sum())


def _stationary_on(m: sp.csr_matrix, members: np.ndarray) -> np.ndarray:
    """Stationary distribution of the irreducible chain restricted to ``members``.

    More than ``POWER_BLOCK`` states: first the power iteration
    (:func:`_power_stationary`; a class of at least half the states is iterated in place
    on the whole chain, which it never leaves, instead of being cut out). Otherwise, up to
    ``DENSE_BLOCK`` states: one dense solve of ``pi (I - P) = 0`` with one equation
    replaced by ``pi 1 = 1``. Larger classes: BiCGSTAB on the nonsingular rank-one update
    ``(I - P^T + w 1^T) pi = w``, ``w = 1/k`` (it has the same solution, and its spectrum is
    that of ``I - P^T`` with the eigenvalue 0 moved to 1), with a sparse LU of the renewal
    system (expected visits between returns to one state, Kemeny and Snell 1960) as the
    fallback. The residual ``||pi (I - P)||_1`` is checked either way.
    """
    k = members.size
    if k == 1:
        return np.ones(1)
    S = m.shape[0]
    if k > POWER_BLOCK and 2 * k >= S:
        # a class this large is iterated in place: it is closed, so mass started on it
        # stays on it (exactly: no entry leads out) and the residual on the whole chain is
        # the residual on the class, checked by _power_stationary
        start = np.zeros(S)
        start[members] = 1.0 / k
        full = _power_stationary(m, start)
        if full is not None:
            return np.asarray(full[members])
    block = m if k == S else m[members][:, members].tocsr()
    pi: np.ndarray | None = None
    if POWER_BLOCK < k and 2 * k < S:
        pi = _power_stationary(block, np.full(k, 1.0 / k))
        if pi is not None:
            return pi
    if pi is None and k > DENSE_BLOCK:
        transposed = block.T.tocsr()
        w = np.full((k, 1), 1.0 / k)

        def apply(x: np.ndarray) -> np.ndarray:
            return np.asarray(x - transposed @ x + w * x.sum(axis=0))

        x = _krylov(apply, w, 1.0 - block.diagonal() + 1.0 / k, w.copy(),
                    np.array([RESIDUAL_TARGET]))[:, 0]
        pi = _normalised(x)
        if not _stationary_residual(block, pi) <= STATIONARY_TOLERANCE:
            pi = None
    if pi is None and k <= DENSE_BLOCK:
        system = np.eye(k) - block.toarray().T
        system[k - 1, :] = 1.0
        rhs = np.zeros(k)
        rhs[-1] = 1.0
        pi = _normalised(np.linalg.solve(system, rhs))
    elif pi is None:
        # renewal: x_j = expected visits to j between two visits to state 0 of the class,
        # (I - Q^T) x = P[0, rest]^T with Q = P without state 0; sparse, no dense row to fill
        rest = block[1:]
        system = (sp.identity(k - 1, format="csr") - rest[:, 1:]).T.tocsr()
        rhs = np.asarray(block[0, 1:].toarray()).ravel()
        pi = _normalised(np.concatenate([[1.0], _solve_dense_or_lu(system, rhs)]))
    residual = _stationary_residual(block, pi)
    if not residual <= STATIONARY_TOLERANCE:
        raise ObjspecError(
            f"the stationary distribution of a recurrent class of {k} states (first state "
            f"{int(members[0])}) was not found to tolerance: residual {residual:.3g} > "
            f"{STATIONARY_TOLERANCE:g}"
        )
    return pi


def _power_stationary(block: sp.csr_matrix, x: np.ndarray) -> np.ndarray | None:
    """The power iteration ``pi <- pi P`` from the distribution ``x``, or ``None``.

    Converges geometrically at the rate of the second-largest eigenvalue modulus of an
    irreducible aperiodic chain, one sparse product per sweep. Stops at a residual
    ``||pi P - pi||_1 <= RESIDUAL_TARGET``; the residual is measured every
    :data:`POWER_CHECK` sweeps, and once two measurements give the observed rate, at the
    sweep where that rate predicts the target (if sooner). Gives up (``None``) as soon as
    the observed rate predicts that :data:`POWER_ITERATIONS` sweeps will not reach the
    target (periodic or slowly mixing chains, left to the Krylov and LU solves), unless the
    residual is already at rounding level (below ``1e-12``). The returned distribution's
    residual ``||pi P - pi||_1`` is computed once more after normalisation and must be at
    most :data:`STATIONARY_TOLERANCE` (else ``None``).
    """
    # CSR products are several times faster than CSC ones
    add_product = matvec_adder(transpose(block))
    x = np.array(x, dtype=np.float64)
    y = np.empty_like(x)
    previous, previous_sweep = np.inf, 0
    check = POWER_CHECK
    for sweep in range(1, POWER_ITERATIONS + 1):
        y.fill(0.0)
        add_product(x, y)
        if sweep == check:
            residual = float(np.abs(y - x).sum())
            done = residual <= RESIDUAL_TARGET
            check = sweep + POWER_CHECK
            if not done and previous_sweep:
                # observed contraction per sweep, and the sweeps it needs to the target
                rate = (residual / previous) ** (1.0 / (sweep - previous_sweep))
                needed = (np.log(RESIDUAL_TARGET / residual) / np.log(rate) if rate < 1.0
                          else np.inf)
                if sweep + needed > POWER_ITERATIONS:
                    if residual > 1e-12:
                        return None
                    done = True
                else:
                    check = sweep + max(1, min(POWER_CHECK, int(np.ceil(needed))))
            if done:
                pi = _normalised(y)
                y.fill(0.0)
                add_product(pi, y)
                ok = float(np.abs(y - pi).sum()) <= STATIONARY_TOLERANCE
                return pi if ok else None
            previous, previous_sweep = residual, sweep
        x, y = y, x
    return None


def _normalised(x: np.ndarray) -> np.ndarray:
    # stationary probabilities of a recurrent class are positive; clip rounding only
    pi = np.clip(np.nan_to_num(x, nan=0.0), 0.0, None)
    total = pi.sum()
    return pi / total if total > 0 else np.full(x.size, 1.0 / x.size)


def _solve_transient(system: sp.csr_matrix, rhs: np.ndarray, *, direct: bool) -> np.ndarray:
    """Solve ``(I - P_TT) X = B`` on transient states, checking the true residual.

    ``I - P_TT`` is a nonsingular M-matrix. Small systems, and ``direct`` ones (whose
    strongly connected components are all small, so that the system is nearly
    triangular and LU does not fill in), are solved directly; others by batched BiCGSTAB
    (all columns at once), with a sparse LU for columns it leaves unsolved.
    """
    n = system.shape[0]
    scale = np.maximum(np.abs(rhs).sum(axis=0), 1e-300)
    if n <= DENSE_BLOCK or direct:
        x = _solve_dense_or_lu(system, rhs)
    else:
        x = _krylov(lambda v: np.asarray(system @ v), rhs, system.diagonal(),
                    np.zeros_like(rhs), RESIDUAL_TARGET * scale)
        bad = ~(np.abs(rhs - system @ x).sum(axis=0) <= TRANSIENT_TOLERANCE * scale)
        if bad.any():
            x[:, bad] = _solve_dense_or_lu(system, rhs[:, bad])
    residual = np.nan_to_num(np.abs(rhs - system @ x).sum(axis=0) / scale, nan=np.inf)
    if not np.all(residual <= TRANSIENT_TOLERANCE):
        raise ObjspecError(
            f"the linear system on {n} transient states was not solved to tolerance: relative "
            f"residual {float(residual.max()):.3g} > {TRANSIENT_TOLERANCE:g}"
        )
    return x


def _support_graph(m: sp.csr_matrix) -> sp.csr_matrix:
    """The support graph of a chain whose explicit zeros were removed (every stored entry
    is an edge): the chain itself when its entries are float64 and non-zero (what
    scipy.sparse.csgraph works on without a conversion), else the pattern with weights 1."""
    if m.data.dtype == np.float64 and m.data.all():
        return m
    return sp.csr_matrix((np.ones(m.nnz), m.indices, m.indptr), m.shape)


def _single_class(
    graph: sp.csr_matrix, comp: np.ndarray, n_comp: int, classes: list[np.ndarray]
) -> np.ndarray:
    """``[S]``: the only recurrent class state ``s`` can reach, or -1 if it reaches several.

    Read from the support graph, never from computed probabilities: one pass over the
    condensation DAG, sinks first, carrying the smallest and largest class index each
    component reaches (``O(edges)``; no ``[S, n_classes]`` table). scipy numbers strong
    components so that every edge of the condensation goes to a smaller label; this is
    checked, and without it the components are processed level by level instead.
    """
    coo = graph.tocoo()
    cu, cv = comp[coo.row], comp[coo.col]
    leaving = cu != cv
    pairs = np.unique(cu[leaving].astype(np.int64) * n_comp + cv[leaving])
    src, dst = pairs // n_comp, pairs % n_comp
    lo = np.full(n_comp, len(classes), dtype=np.int64)
    hi = np.full(n_comp, -1, dtype=np.int64)
    for c, members in enumerate(classes):
        lo[comp[members[0]]] = hi[comp[members[0]]] = c
    if np.all(src > dst):
        _sweep(lo, hi, src, dst, n_comp)
    else:
        _levels(lo, hi, src, dst, n_comp)
    single = np.where(lo == hi, lo, -1)
    return single[comp]


def _sweep(lo: np.ndarray, hi: np.ndarray, src: np.ndarray, dst: np.ndarray, n: int) -> None:
    """Fill ``lo``/``hi`` in increasing label order (every edge goes to a smaller label)."""
    ptr = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n))]).tolist()
    succ = dst.tolist()
    low, high = lo.tolist(), hi.tolist()
    for u in np.flatnonzero(np.diff(ptr)).tolist():
        a, b = ptr[u], ptr[u + 1]
        if b - a == 1:
            v = succ[a]
            low[u], high[u] = low[v], high[v]
        else:
            low[u] = min([low[v] for v in succ[a:b]])
            high[u] = max([high[v] for v in succ[a:b]])
    lo[:] = low
    hi[:] = high


def _levels(lo: np.ndarray, hi: np.ndarray, src: np.ndarray, dst: np.ndarray, n: int) -> None:
    """Fill ``lo``/``hi`` in reverse topological levels (one numpy round per level)."""
    remaining = np.bincount(src, minlength=n)
    rev_src = src[np.argsort(dst, kind="stable")]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(dst, minlength=n))])
    frontier = np.flatnonzero(remaining == 0)
    while frontier.size:
        counts = indptr[frontier + 1] - indptr[frontier]
        total = int(counts.sum())
        if not total:
            break
        idx = np.repeat(indptr[frontier] - np.cumsum(counts) + counts, counts) + np.arange(total)
        heads = np.repeat(frontier, counts)
        tails = rev_src[idx]
        np.minimum.at(lo, tails, lo[heads])
        np.maximum.at(hi, tails, hi[heads])
        np.subtract.at(remaining, tails, 1)
        tails = np.unique(tails)
        frontier = tails[remaining[tails] == 0]


def _chain_gains(m: sp.csr_matrix, r: np.ndarray) -> np.ndarray:
    """``[S, K]`` gains ``P* r`` of a chain for ``K`` one-step reward vectors ``r [S, K]``.

    Recurrent states get their class's gain ``pi_c . r``; a transient state that can reach
    only one class gets that class's gain exactly (read from the support graph); the
    remaining transient states solve ``(I - P_RR) g_R = P_R,rest g_rest``, since the gain
    is harmonic (``g = P g``). Nothing of size ``[S, n_classes]`` or ``[S, S]`` is formed.
    """
    S = m.shape[0]
    graph = _support_graph(m)
    comp, bottom = bottom_components(graph)
    n_comp = bottom.size
    classes = _bottom_classes(comp, bottom)
    g = np.zeros((S, r.shape[1]))
    known = np.zeros(S, dtype=bool)
    class_gain = np.empty((len(classes), r.shape[1]))
    for c, members in enumerate(classes):
        class_gain[c] = _stationary_on(m, members) @ r[members]
        g[members] = class_gain[c]
        known[members] = True
    if known.all():
        return g
    if len(classes) == 1:
        g[~known] = class_gain[0]
        return g
    single = _single_class(graph, comp, n_comp, classes)
    snap = ~known & (single >= 0)
    g[snap] = class_gain[single[snap]]
    known |= snap
    rest = np.flatnonzero(~known)
    if rest.size:
        rows = m[rest]
        system = (sp.identity(rest.size, format="csr") - rows[:, rest]).tocsr()
        rhs = np.asarray(rows[:, np.flatnonzero(known)] @ g[known])
        largest = int(np.bincount(comp[rest]).max())
        g[rest] = _solve_transient(system, rhs, direct=largest <= DENSE_BLOCK)
    return g


def _bottom_classes(comp: np.ndarray, is_bottom: np.ndarray) -> list[np.ndarray]:
    """The states of each bottom component (``comp``, ``is_bottom`` from
    :func:`objspec.mdp.graph.bottom_components`), classes ordered by their smallest state."""
    bottoms = np.flatnonzero(is_bottom)
    if bottoms.size == 1:  # one recurrent class (unichain): no sort needed
        return [np.flatnonzero(comp == bottoms[0])]
    states = np.flatnonzero(is_bottom[comp])
    labels = comp[states]
    order = np.argsort(labels, kind="stable")
    groups = np.split(states[order], np.flatnonzero(np.diff(labels[order])) + 1)
    groups.sort(key=lambda members: int(members[0]))
    return groups


def _structure(
    m: sp.csr_matrix,
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Classes, stationary rows ``[n_classes, S]`` and absorption ``[S, n_classes]``."""
    S = m.shape[0]
    graph = _support_graph(m)
    comp, bottom = bottom_components(graph)
    classes = _bottom_classes(comp, bottom)
    n = len(classes)
    stationary = np.zeros((n, S))
    for c, members in enumerate(classes):
        stationary[c, members] = _stationary_on(m, members)
    absorb = np.zeros((S, n))
    if n == 1:
        absorb[:, 0] = 1.0
        return classes, stationary, absorb
    recurrent = np.zeros(S, dtype=bool)
    for c, members in enumerate(classes):
        absorb[members, c] = 1.0
        recurrent[members] = True
    transient = np.flatnonzero(~recurrent)
    if transient.size:
        reach = _reachers(graph, classes)[transient]
        to_class = np.zeros((S, n))
        for c, members in enumerate(classes):
            to_class[members, c] = 1.0
        rows = m[transient]
        system = (sp.identity(transient.size, format="csr") - rows[:, transient]).tocsr()
        rhs = np.asarray(rows @ to_class)
        direct = int(np.bincount(comp[transient]).max()) <= DENSE_BLOCK
        b = np.clip(_solve_transient(system, rhs, direct=direct), 0.0, 1.0)
        b[~reach] = 0.0
        only = reach.sum(axis=1) == 1
        b[only] = reach[only].astype(np.float64)
        absorb[transient] = b
    return classes, stationary, absorb


def stationary_distributions(chain: Any) -> list[np.ndarray]:
    """The stationary distribution of each recurrent class.

    Parameters
    ----------
    chain : array_like or scipy.sparse matrix
        ``[S, S]`` row-stochastic matrix.

    Returns
    -------
    list of numpy.ndarray
        One length-``S`` vector per class of :func:`recurrent_classes` (same order), zero
        outside its class. Every stationary distribution of ``chain`` is a convex
        combination of these.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.mdp.longrun import stationary_distributions
    >>> P = np.array([[0.5, 0.5, 0.0], [0.25, 0.75, 0.0], [0.0, 0.0, 1.0]])
    >>> [d.round(6) for d in stationary_distributions(P)]
    [array([0.333333, 0.666667, 0.      ]), array([0., 0., 1.])]
    """
    m = _as_float_chain(chain)
    _, stationary, _ = _structure(m)
    return list(stationary)


def absorption_probabilities(chain: Any) -> np.ndarray:
    """``B[s, c]``: probability that the chain started in ``s`` enters recurrent class ``c``.

    Returns
    -------
    numpy.ndarray
        ``[S, n_classes]``, rows summing to 1, classes ordered as in
        :func:`recurrent_classes`.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.mdp.longrun import absorption_probabilities
    >>> P = np.array([[0.5, 0.25, 0.25], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> absorption_probabilities(P)
    array([[0.5, 0.5],
           [1. , 0. ],
           [0. , 1. ]])
    """
    m = _as_float_chain(chain)
    _, _, absorb = _structure(m)
    return absorb


def cesaro_limit(chain: Any) -> np.ndarray:
    """The Cesaro limit ``P* = lim_N (1/N) sum_{t<N} P^t`` of a Markov chain, dense ``[S, S]``.

    Computed as ``P* = B Pi`` from absorption probabilities and stationary distributions
    (see the module docstring), never by powering or discounting.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.mdp.longrun import cesaro_limit
    >>> P = np.array([[0.0, 0.5, 0.5], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> cesaro_limit(P)
    array([[0. , 0.5, 0.5],
           [0. , 1. , 0. ],
           [0. , 0. , 1. ]])
    """
    m = _as_float_chain(chain)
    _, stationary, absorb = _structure(m)
    return absorb @ stationary


# ---------------------------------------------------------------------------- policies
def _gains(env: FiniteMDP, policies: Any, rewards: Any) -> tuple[np.ndarray, bool, bool]:
    """``[N, K, S]`` per-state gains of every policy for every reward."""
    from objspec.mdp.linear import induced_chain_sparse
    from objspec.mdp.rewards import expected_rewards, normalize_rewards

    pi, single_pi = as_policy_batch(policies, env.n_states, env.n_actions, enabled=env.enabled)
    arr, kind, single_r = normalize_rewards(env, rewards)
    r = expected_rewards(env, arr, kind)
    r_pi = np.einsum("nsa,ksa->nks", pi, r)
    out = np.empty_like(r_pi)
    # The class structure differs between policies, so this loop is inherent: each policy's
    # support graph is decomposed on its own (all K rewards share the decomposition).
    for n in range(pi.shape[0]):
        out[n] = _chain_gains(induced_chain_sparse(env, pi[n]), r_pi[n].T).T
    return out, single_pi, single_r


def policy_gains(env: FiniteMDP, batch: np.ndarray, r_sa: np.ndarray) -> np.ndarray:
    """``[N]`` gains ``mu0 . P*_pi r_pi`` of a validated ``[N, S, A]`` policy batch for one
    expected reward ``r_sa [S, A]``: :func:`long_run_average` without its conversions.

    For callers that validated both already (the LAR evaluator checks the policies and
    computes the expected reward once, at compile time); same method and precision.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
    >>> env = FiniteMDP(P, [1.0, 0.0])
    >>> stay, move = np.eye(2)[[0, 1]], np.eye(2)[[1, 1]]
    >>> policy_gains(env, np.stack([stay, move]), np.array([[2.0, 0.0], [0.0, 1.0]]))
    array([2., 1.])
    """
    from objspec.mdp.linear import induced_chain_sparse

    r_pi = (batch * r_sa[None]).sum(axis=2)  # [N, S]
    out = np.empty(batch.shape[0])
    for n in range(batch.shape[0]):
        g = _chain_gains(induced_chain_sparse(env, batch[n]), r_pi[n][:, None])[:, 0]
        out[n] = env.initial @ g
    return out


def _squeeze(out: np.ndarray, single_pi: bool, single_r: bool) -> np.ndarray:
    if single_r:
        out = out[:, 0]
    if single_pi:
        out = out[0]
    return out


def long_run_average_values(env: FiniteMDP, policies: Any, rewards: Any) -> np.ndarray:
    """Per-state long-run average reward ``g_pi(s) = (P*_pi r_pi)(s)``, shape ``(N?, K?, S)``.

    ``g_pi(s) = lim_N (1/N) E[sum_{t<N} R(x_t) | s_0 = s]`` (the limit exists for stationary
    policies on finite MDPs). Rewards are shaped as for
    :func:`objspec.mdp.evaluation.evaluate`.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp.longrun import long_run_average_values
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
    >>> env = FiniteMDP(P, [1.0, 0.0])
    >>> long_run_average_values(env, Policy([[0.5, 0.5], [0.0, 1.0]]), [0.0, 1.0])
    array([1., 1.])
    """
    out, single_pi, single_r = _gains(env, policies, rewards)
    return _squeeze(out, single_pi, single_r)


def long_run_average(env: FiniteMDP, policies: Any, rewards: Any) -> np.ndarray:
    """Long-run average reward (gain) from the initial distribution, shape ``(N?, K?)``.

    ``J(pi) = mu0 . P*_pi r_pi``, batched like :func:`objspec.mdp.evaluation.evaluate`:
    a single policy drops the ``N`` axis and a single reward the ``K`` axis.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp.longrun import long_run_average
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
    >>> env = FiniteMDP(P, [1.0, 0.0])
    >>> stay, move = Policy.deterministic([0, 1], 2), Policy.deterministic([1, 1], 2)
    >>> long_run_average(env, [stay, move], [[2.0, 0.0], [0.0, 1.0]])
    array([2., 1.])
    """
    out, single_pi, single_r = _gains(env, policies, rewards)
    return _squeeze(out @ env.initial, single_pi, single_r)


# ---------------------------------------------------------------------------- exact
def _exact_identity(n: int) -> np.ndarray:
    return np.array([[Fraction(int(i == j)) for j in range(n)] for i in range(n)], dtype=object)


def exact_cesaro_limit(chain_fractions: Any) -> np.ndarray:
    """The Cesaro limit ``P*`` in exact rational arithmetic, an ``[S, S]`` Fraction array.

    Same method as :func:`cesaro_limit`, with every solve done by
    :func:`objspec.mdp.exact.solve_rational`.

    Parameters
    ----------
    chain_fractions : array_like
        ``[S, S]`` rational row-stochastic matrix (Fractions, ints, sympy Rationals; floats
        are taken as the dyadic rationals they are). Rows must sum to exactly 1.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> from objspec.mdp.longrun import exact_cesaro_limit
    >>> P = [[F(1, 3), F(2, 3)], [F(1), F(0)]]
    >>> [[str(x) for x in row] for row in exact_cesaro_limit(P)]
    [['3/5', '2/5'], ['3/5', '2/5']]
    """
    from objspec.mdp.exact import solve_rational

    P = _as_fraction_chain(chain_fractions)
    S = P.shape[0]
    mask = np.vectorize(lambda x: x != 0, otypes=[bool])(P)
    graph = sp.csr_matrix(mask.astype(np.int8))
    classes = _classes_of(graph)
    n = len(classes)
    stationary = np.full((n, S), Fraction(0), dtype=object)
    for c, members in enumerate(classes):
        k = members.size
        system = (_exact_identity(k) - P[np.ix_(members, members)]).T.copy()
        system[k - 1, :] = Fraction(1)
        rhs = np.array([Fraction(0)] * (k - 1) + [Fraction(1)], dtype=object)
        stationary[c, members] = solve_rational(system, rhs)
    absorb = np.full((S, n), Fraction(0), dtype=object)
    recurrent = np.zeros(S, dtype=bool)
    for c, members in enumerate(classes):
        absorb[members, c] = Fraction(1)
        recurrent[members] = True
    transient = np.flatnonzero(~recurrent)
    if transient.size and n == 1:
        absorb[transient, 0] = Fraction(1)
    elif transient.size:
        to_class = np.full((S, n), Fraction(0), dtype=object)
        for c, members in enumerate(classes):
            to_class[members, c] = Fraction(1)
        rows = P[transient]
        system = _exact_identity(transient.size) - rows[:, transient]
        absorb[transient] = solve_rational(system, rows.dot(to_class))
    return absorb.dot(stationary)


def _exact_policy_rewards(env: FiniteMDP, policy: Any, reward: Any) -> np.ndarray:
    from objspec.mdp.exact import exact_rewards
    from objspec.mdp.policy import exact_policy_batch

    (pi,) = exact_policy_batch(policy, env.n_states, env.n_actions, enabled=env.enabled)
    R = exact_rewards(env, reward)
    r_sa = (env.exact_transitions() * R).sum(axis=2)
    return (pi * r_sa).sum(axis=1)


def exact_long_run_average_values(env: FiniteMDP, policy: Any, reward: Any) -> np.ndarray:
    """Exact per-state gains ``P*_pi r_pi`` of one policy for one reward (Fraction ``[S]``).

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp.longrun import exact_long_run_average_values
    >>> env = FiniteMDP(np.ones((1, 2, 1)), [1.0])
    >>> exact_long_run_average_values(env, Policy([[F(1, 3), F(2, 3)]]), [[1, 0]])
    array([Fraction(1, 3)], dtype=object)
    """
    from objspec.mdp.exact import exact_induced_chain

    p_star = exact_cesaro_limit(exact_induced_chain(env, policy))
    return np.asarray(p_star.dot(_exact_policy_rewards(env, policy, reward)), dtype=object)


def exact_long_run_average(env: FiniteMDP, policy: Any, reward: Any) -> Fraction:
    """Exact long-run average reward ``mu0 . P*_pi r_pi`` of one policy, a Fraction.

    Transitions, initial distribution, policy and reward are converted exactly (see
    :mod:`objspec.mdp.exact`); meant for small MDPs.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp.longrun import exact_long_run_average
    >>> P = np.zeros((2, 1, 2)); P[0, 0, 1] = P[1, 0, 0] = 1.0
    >>> exact_long_run_average(FiniteMDP(P, [1.0, 0.0]), Policy([[1.0], [1.0]]), [F(1), F(0)])
    Fraction(1, 2)
    """
    values = exact_long_run_average_values(env, policy, reward)
    return sum(values * env.exact_initial(), Fraction(0))
