"""Directed-graph algorithms over sparse adjacency: reachability, strongly connected
components, bottom components and the edges that lie on cycles.

Every qualitative analysis in objspec reduces to these few questions about a support graph
(an edge wherever a probability is positive): which states a policy reaches, which
recurrent classes (bottom strongly connected components, BSCCs) a chain ends in, which
product states can reach an accepting BSCC, which automaton transitions a run can take
infinitely often. They are answered here once, in ``O(nodes + edges)`` time and memory,
on a :class:`scipy.sparse.csr_matrix` (any stored entry is an edge, whatever its value)
with the C routines of :mod:`scipy.sparse.csgraph`; nothing dense of size ``nodes^2`` is
formed.

Examples
--------
>>> import numpy as np
>>> g = adjacency(4, np.array([0, 1, 1, 2]), np.array([1, 0, 2, 3]))
>>> reachable(g, [1]).tolist(), reachable(g, [2], backward=True).tolist()
([True, True, True, True], [True, True, True, False])
>>> labels, bottom = bottom_components(g)
>>> [bool(bottom[labels[v]]) for v in range(4)]
[False, False, False, True]
>>> edges_on_cycles(4, np.array([0, 1, 1, 2]), np.array([1, 0, 2, 3])).tolist()
[True, True, False, False]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

__all__ = [
    "adjacency",
    "stable_order",
    "breadth_first_order",
    "reachable",
    "strongly_connected_components",
    "bottom_components",
    "edges_on_cycles",
]


def adjacency(n: int, source: np.ndarray, target: np.ndarray) -> sp.csr_matrix:
    """The 0/1 adjacency matrix of the edges ``source[i] -> target[i]`` on ``n`` nodes.

    Parameters
    ----------
    n : int
        Number of nodes.
    source, target : ndarray ``[E]`` of int
        The edges' endpoints (repeated edges are merged).

    Returns
    -------
    scipy.sparse.csr_matrix
        ``[n, n]`` float64 ones, in canonical form (each row's targets sorted, no repeated
        entry): the form :mod:`scipy.sparse.csgraph` works in, so it does not convert the
        graph again on every call (it used to receive int8 graphs and copy each one to a
        deduplicated float64 matrix).

    Examples
    --------
    >>> import numpy as np
    >>> adjacency(3, np.array([2, 0, 2]), np.array([0, 1, 0])).toarray().tolist()
    [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    """
    source = np.asarray(source, dtype=np.int64)
    target = np.asarray(target, dtype=np.int64)
    if source.size and np.any(source[1:] < source[:-1]):
        order = stable_order(source, n)
        source, target = source[order], target[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(source, minlength=n), out=indptr[1:])
    graph = sp.csr_matrix((np.ones(target.size), target, indptr), shape=(n, n))
    # repeated edges must be merged: scipy's strong-components search can loop forever on
    # a float64 graph with repeats
    graph.sum_duplicates()
    graph.data[:] = 1.0
    return graph


def stable_order(keys: np.ndarray, n: int) -> np.ndarray:
    """``numpy.argsort(keys, kind="stable")`` for integer keys in ``[0, n)``: with at most
    65,536 distinct values the keys are sorted as 16-bit integers, for which numpy's stable
    sort is a radix sort (linear time, several times faster than the merge sort of 64-bit
    keys).

    Examples
    --------
    >>> stable_order(np.array([2, 0, 2, 1]), 3).tolist()
    [1, 3, 0, 2]
    """
    keys = np.asarray(keys)
    if n <= 1 << 16:
        keys = keys.astype(np.uint16)
    return np.argsort(keys, kind="stable")


def _structure(graph: sp.spmatrix, backward: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(indptr, indices)`` of the CSR structure of ``graph`` or, if ``backward``, of its
    transpose (the CSC structure of ``graph``, no transpose is formed)."""
    m = graph.tocsc() if backward else graph.tocsr()
    return m.indptr, m.indices


def breadth_first_order(
    graph: sp.spmatrix, roots: Sequence[int] | np.ndarray, *, backward: bool = False
) -> np.ndarray:
    """The nodes reachable from ``roots`` (roots included), in breadth-first order.

    Parameters
    ----------
    graph : scipy.sparse matrix
        ``[n, n]``; every stored entry is an edge ``row -> column``.
    roots : sequence of int
        The start nodes; the search visits them first, in this order.
    backward : bool, default False
        Follow edges against their direction (the nodes that can reach ``roots``).

    Returns
    -------
    numpy.ndarray
        int: each reachable node once, in the order a breadth-first search from a virtual
        node joined to every root meets them.

    Examples
    --------
    >>> import numpy as np
    >>> g = adjacency(4, np.array([0, 0, 2]), np.array([2, 1, 3]))
    >>> breadth_first_order(g, [0]).tolist(), breadth_first_order(g, [3], backward=True).tolist()
    ([0, 1, 2, 3], [3, 2, 0])
    """
    indptr, indices = _structure(graph, backward)
    n = indptr.size - 1
    roots = np.asarray(roots, dtype=np.int64).reshape(-1)
    if roots.size == 0:
        return np.zeros(0, dtype=np.int64)
    ip = np.empty(n + 2, dtype=indptr.dtype)
    ip[: n + 1] = indptr
    ip[n + 1] = indptr[-1] + roots.size
    extended = sp.csr_matrix(
        (np.ones(int(ip[-1])),
         np.concatenate([indices, roots.astype(indices.dtype)]), ip),
        shape=(n + 1, n + 1),
    )
    extended.sum_duplicates()  # canonical float64: csgraph then uses it as it is
    order = csgraph.breadth_first_order(extended, n, directed=True, return_predecessors=False)
    return np.asarray(order[1:], dtype=np.int64)


def reachable(
    graph: sp.spmatrix, roots: Sequence[int] | np.ndarray, *, backward: bool = False
) -> np.ndarray:
    """Boolean mask of the nodes reachable from ``roots`` (roots included).

    Parameters
    ----------
    graph : scipy.sparse matrix
        ``[n, n]``; every stored entry is an edge ``row -> column``.
    roots : sequence of int
        The start nodes (may be empty).
    backward : bool, default False
        Follow edges against their direction: the nodes from which ``roots`` can be
        reached.

    Returns
    -------
    numpy.ndarray
        ``[n]`` bool.

    Examples
    --------
    >>> import numpy as np
    >>> g = adjacency(3, np.array([0, 1]), np.array([1, 2]))
    >>> reachable(g, [1]).tolist(), reachable(g, [1], backward=True).tolist()
    ([False, True, True], [True, True, False])
    """
    mask = np.zeros(graph.shape[0], dtype=bool)
    mask[breadth_first_order(graph, roots, backward=backward)] = True
    return mask


def strongly_connected_components(graph: sp.spmatrix) -> tuple[int, np.ndarray]:
    """The strongly connected components (SCCs) of a directed graph.

    Parameters
    ----------
    graph : scipy.sparse matrix
        ``[n, n]``; every stored entry is an edge ``row -> column``.

    Returns
    -------
    n_components : int
    labels : numpy.ndarray
        ``[n]`` int: the component of each node. Labels are those of
        :func:`scipy.sparse.csgraph.connected_components` (Pearce's algorithm), which
        number the components so that an edge between two components goes to the smaller
        label whenever the search order allows; callers relying on it must check it.

    Examples
    --------
    >>> import numpy as np
    >>> n, labels = strongly_connected_components(
    ...     adjacency(3, np.array([0, 1, 1]), np.array([1, 0, 2])))
    >>> n, bool(labels[0] == labels[1]), bool(labels[1] == labels[2])
    (2, True, False)
    """
    n_comp, labels = csgraph.connected_components(graph, directed=True, connection="strong")
    return int(n_comp), labels


def bottom_components(graph: sp.spmatrix) -> tuple[np.ndarray, np.ndarray]:
    """The SCCs of a directed graph and which of them are bottom (no edge leaves them).

    In the support graph of a Markov chain the bottom SCCs are its recurrent classes:
    almost every run ends in one and takes each of its edges infinitely often.

    Parameters
    ----------
    graph : scipy.sparse matrix
        ``[n, n]``; every stored entry is an edge ``row -> column``.

    Returns
    -------
    labels : numpy.ndarray
        ``[n]`` int, as :func:`strongly_connected_components`.
    bottom : numpy.ndarray
        ``[n_components]`` bool.

    Examples
    --------
    >>> import numpy as np
    >>> labels, bottom = bottom_components(adjacency(3, np.array([0, 1]), np.array([1, 1])))
    >>> [bool(bottom[labels[v]]) for v in range(3)]
    [False, True, True]
    """
    n_comp, labels = strongly_connected_components(graph)
    if n_comp == 1:  # strongly connected: the one component is bottom
        return labels, np.ones(1, dtype=bool)
    indptr, indices = _structure(graph, backward=False)
    source_label = np.repeat(labels, np.diff(indptr))
    target_label = labels[indices]
    bottom = np.ones(n_comp, dtype=bool)
    bottom[source_label[source_label != target_label]] = False
    return labels, bottom


def edges_on_cycles(n: int, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Which edges ``source[i] -> target[i]`` lie on a cycle (inside one SCC).

    An edge lies on a cycle iff its endpoints are in the same strongly connected
    component (a self-loop always does). These are the edges an infinite path can take
    infinitely often.

    Parameters
    ----------
    n : int
        Number of nodes.
    source, target : ndarray ``[E]`` of int
        The edges.

    Returns
    -------
    numpy.ndarray
        ``[E]`` bool.

    Examples
    --------
    >>> import numpy as np
    >>> edges_on_cycles(3, np.array([0, 1, 1, 2]), np.array([1, 0, 2, 2])).tolist()
    [True, True, False, True]
    """
    source = np.asarray(source, dtype=np.int64)
    target = np.asarray(target, dtype=np.int64)
    _, labels = strongly_connected_components(adjacency(n, source, target))
    return np.asarray(labels[source] == labels[target])
