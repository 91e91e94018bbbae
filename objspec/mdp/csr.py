"""Low-overhead products and row selections of CSR matrices, for tight iterations.

Value iteration and the power iteration do one sparse matrix-vector product per sweep, on
matrices with a few thousand rows, where scipy's ``matrix @ vector`` spends a large part
of its time in Python-level dispatch (type checks, shape checks, a fresh result array).
:func:`matvec_add` calls scipy's compiled CSR kernel directly and accumulates into a
caller-owned array (so ``out = r + M x`` needs no temporary), and falls back to the public
``out += matrix @ x`` whenever that kernel is not available (it lives in a private scipy
module) or the arrays are not of the types it takes. The kernel adds the products of a
row to ``out[i]`` one by one, the fallback adds their sum: the two differ by rounding only,
within the bound ``(k + 1) eps (|out[i]| + sum_j |m[i, j] x[j]|)`` (``k`` stored entries in
the row) that covers either order.

Examples
--------
>>> import numpy as np
>>> import scipy.sparse as sp
>>> from objspec.mdp.csr import matvec_add, select_rows
>>> m = sp.csr_matrix(np.array([[0.5, 0.5], [0.0, 1.0], [1.0, 0.0]]))
>>> out = np.array([1.0, 2.0, 3.0])
>>> matvec_add(m, np.array([2.0, 4.0]), out).tolist()
[4.0, 6.0, 5.0]
>>> select_rows(m, np.array([2, 0])).toarray().tolist()
[[1.0, 0.0], [0.5, 0.5]]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["matvec_add", "matvec_adder", "select_rows", "transpose"]

_kernel: Any
try:  # scipy's compiled CSR kernels (private module; the public operators call them)
    from scipy.sparse import _sparsetools

    _kernel = _sparsetools
except ImportError:  # pragma: no cover - depends on the scipy build
    _kernel = None


def _direct(m: sp.csr_matrix) -> bool:
    """Whether ``m``'s arrays suit the compiled kernels as they are (no conversion)."""
    return (_kernel is not None and m.data.dtype == np.float64
            and m.indices.dtype == m.indptr.dtype)


def matvec_adder(m: sp.csr_matrix) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A function ``add(x, out)`` doing ``out += m @ x`` in place (and returning ``out``),
    for a CSR ``m`` of shape ``[R, C]``, ``x`` and ``out`` float64 vectors of sizes ``C``
    and ``R``; ``m`` is inspected once, here, not on every call.

    Raises
    ------
    ValueError
        From ``add``, if ``x`` or ``out`` has the wrong shape (or ``out`` the wrong dtype).

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> add = matvec_adder(sp.csr_matrix(np.array([[0.0, 2.0], [3.0, 4.0]])))
    >>> add(np.array([1.0, 1.0]), np.zeros(2)).tolist()
    [2.0, 7.0]
    """
    rows, cols = m.shape
    if not _direct(m):
        def fallback(x: np.ndarray, out: np.ndarray) -> np.ndarray:
            out += m @ x
            return out

        return fallback
    kernel = _kernel.csr_matvec
    indptr, indices, data = m.indptr, m.indices, m.data

    def add(x: np.ndarray, out: np.ndarray) -> np.ndarray:
        # the kernel trusts the sizes (it indexes x by m's columns): checked here
        if x.shape != (cols,) or out.shape != (rows,):
            raise ValueError(f"matvec_add: shapes {x.shape} and {out.shape} do not fit a "
                             f"[{rows}, {cols}] matrix")
        kernel(rows, cols, indptr, indices, data, x, out)
        return out

    return add


def matvec_add(m: sp.csr_matrix, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out += m @ x`` in place, for a CSR ``m`` of shape ``[R, C]``; returns ``out``.

    One call of :func:`matvec_adder`; loops should build the adder once.

    Parameters
    ----------
    m : scipy.sparse.csr_matrix
        ``[R, C]``.
    x : numpy.ndarray
        ``[C]`` float64.
    out : numpy.ndarray
        ``[R]`` float64, updated in place.

    Returns
    -------
    numpy.ndarray
        ``out``.
    """
    return matvec_adder(m)(x, out)


def transpose(m: sp.csr_matrix) -> sp.csr_matrix:
    """``m.T`` as a CSR matrix (sorted indices), from one compiled CSR-to-CSC conversion.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> transpose(sp.csr_matrix(np.array([[0.0, 2.0], [3.0, 4.0]]))).toarray().tolist()
    [[0.0, 3.0], [2.0, 4.0]]
    """
    rows, cols = m.shape
    if not _direct(m):
        return sp.csr_matrix(m.T)
    indptr = np.empty(cols + 1, dtype=m.indptr.dtype)
    indices = np.empty(m.nnz, dtype=m.indices.dtype)
    data = np.empty(m.nnz, dtype=np.float64)
    _kernel.csr_tocsc(rows, cols, m.indptr, m.indices, m.data, indptr, indices, data)
    out = sp.csr_matrix((data, indices, indptr), shape=(cols, rows))
    if m.has_canonical_format:  # the conversion lists each column's rows in order
        out.has_canonical_format = True
    return out


def select_rows(m: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    """The rows ``rows`` of a CSR matrix, in that order, as a CSR matrix.

    Each selected row keeps its stored entries as they are (values, order, explicit
    zeros), so the result is in canonical form whenever ``m`` is.

    Parameters
    ----------
    m : scipy.sparse.csr_matrix
    rows : numpy.ndarray
        ``[K]`` ints in ``0 .. m.shape[0] - 1``.
    """
    ip = m.indptr
    rows = np.asarray(rows, dtype=ip.dtype)
    counts = ip[rows + 1] - ip[rows]
    indptr = np.empty(rows.size + 1, dtype=ip.dtype)
    indptr[0] = 0
    np.cumsum(counts, out=indptr[1:])
    nnz = int(indptr[-1])
    if _direct(m):
        indices = np.empty(nnz, dtype=m.indices.dtype)
        data = np.empty(nnz, dtype=np.float64)
        _kernel.csr_row_index(rows.size, rows, ip, m.indices, m.data, indices, data)
    else:
        take = np.repeat(ip[rows] - indptr[:-1], counts) + np.arange(nnz, dtype=ip.dtype)
        indices, data = m.indices[take], m.data[take]
    out = sp.csr_matrix((data, indices, indptr), shape=(rows.size, m.shape[1]))
    if m.has_canonical_format:  # rows copied as they are: sorted, without duplicates
        out.has_canonical_format = True
    return out
