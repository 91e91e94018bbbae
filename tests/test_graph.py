"""objspec.mdp.graph against networkx on random directed graphs."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

from objspec.mdp.graph import (
    adjacency,
    bottom_components,
    breadth_first_order,
    edges_on_cycles,
    reachable,
    stable_order,
    strongly_connected_components,
)


@st.composite
def digraphs(draw: st.DrawFn) -> tuple[int, np.ndarray, np.ndarray]:
    """``(n, source, target)``: up to 12 nodes, repeated edges and self-loops allowed, the
    edges in random order."""
    n = draw(st.integers(1, 12))
    edges = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                          max_size=3 * n))
    src = np.array([u for u, _ in edges], dtype=np.int64)
    dst = np.array([v for _, v in edges], dtype=np.int64)
    return n, src, dst


def _nx(n: int, src: np.ndarray, dst: np.ndarray) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from(zip(src.tolist(), dst.tolist(), strict=True))
    return g


def _partition(labels: np.ndarray) -> set[frozenset[int]]:
    return {frozenset(np.flatnonzero(labels == c).tolist()) for c in np.unique(labels)}


@settings(max_examples=150, deadline=None)
@given(digraphs())
@example((3, np.array([0, 1, 1]), np.array([1, 0, 2])))
def test_strongly_connected_components_match_networkx(graph: tuple) -> None:
    n, src, dst = graph
    n_comp, labels = strongly_connected_components(adjacency(n, src, dst))
    expected = {frozenset(c) for c in nx.strongly_connected_components(_nx(n, src, dst))}
    assert _partition(labels) == expected
    assert n_comp == len(expected) and labels.shape == (n,)


@settings(max_examples=150, deadline=None)
@given(digraphs())
def test_bottom_components_match_networkx(graph: tuple) -> None:
    n, src, dst = graph
    labels, bottom = bottom_components(adjacency(n, src, dst))
    g = _nx(n, src, dst)
    cond = nx.condensation(g)
    expected = {frozenset(cond.nodes[c]["members"]) for c in cond if cond.out_degree(c) == 0}
    got = {frozenset(np.flatnonzero(labels == c).tolist()) for c in np.flatnonzero(bottom)}
    assert got == expected
    assert bottom.shape == (int(labels.max()) + 1,)


@settings(max_examples=150, deadline=None)
@given(digraphs(), st.data())
def test_reachability_matches_networkx(graph: tuple, data: st.DataObject) -> None:
    n, src, dst = graph
    roots = data.draw(st.lists(st.integers(0, n - 1), max_size=3))
    g = _nx(n, src, dst)
    m = adjacency(n, src, dst)
    forward = set(roots).union(*(nx.descendants(g, r) for r in roots))
    backward = set(roots).union(*(nx.ancestors(g, r) for r in roots))
    assert set(np.flatnonzero(reachable(m, roots)).tolist()) == forward
    assert set(np.flatnonzero(reachable(m, roots, backward=True)).tolist()) == backward
    # any sparse format and stored values give the same answer (every entry is an edge)
    weighted = sp.csc_matrix((np.linspace(0.1, 1.0, src.size), (src, dst)), shape=(n, n))
    assert np.array_equal(reachable(weighted, roots), reachable(m, roots))
    assert np.array_equal(reachable(weighted, roots, backward=True),
                          reachable(m, roots, backward=True))
    order = breadth_first_order(m, roots)
    assert sorted(order.tolist()) == sorted(forward)  # each reachable node once
    first = len(set(roots))
    assert set(order[:first].tolist()) == set(roots)  # roots come first


@settings(max_examples=150, deadline=None)
@given(digraphs())
@example((2, np.array([0, 1, 1]), np.array([0, 0, 1])))
def test_edges_on_cycles_match_networkx(graph: tuple) -> None:
    n, src, dst = graph
    g = _nx(n, src, dst)
    expected = [u == v or nx.has_path(g, v, u) for u, v in zip(src.tolist(), dst.tolist(),
                                                              strict=True)]
    assert edges_on_cycles(n, src, dst).tolist() == expected


def test_adjacency_is_canonical_float64() -> None:
    # the form scipy.sparse.csgraph works in (it used to copy every int8 graph to it):
    # repeated edges merged, each row's targets sorted, float64 ones
    m = adjacency(3, np.array([2, 0, 2, 0]), np.array([1, 2, 0, 2]))
    assert m.shape == (3, 3) and m.dtype == np.float64 and m.has_canonical_format
    assert m.indptr.tolist() == [0, 1, 1, 3]
    assert m.indices.tolist() == [2, 0, 1]
    assert m.data.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("backward", [False, True])
def test_no_roots_reach_nothing(backward: bool) -> None:
    m = adjacency(4, np.array([0, 1]), np.array([1, 2]))
    assert not reachable(m, [], backward=backward).any()
    assert breadth_first_order(m, np.array([], dtype=np.int64)).size == 0


def test_a_long_chain_is_searched_without_recursion() -> None:
    n = 200_000
    src = np.arange(n - 1)
    m = adjacency(n, src, src + 1)
    assert reachable(m, [0]).all() and reachable(m, [n - 1], backward=True).all()
    n_comp, _ = strongly_connected_components(m)
    assert n_comp == n
    assert not edges_on_cycles(n, src, src + 1).any()


@pytest.mark.parametrize("n", [1, 3, 2000, 1 << 16, (1 << 16) + 1, 200_000])
def test_stable_order_is_a_stable_argsort(n: int) -> None:
    """Keys below 2**16 are sorted as 16-bit integers (radix sort), larger ones as given:
    both give numpy's stable argsort."""
    rng = np.random.default_rng(n)
    keys = rng.integers(0, n, size=5000)
    assert np.array_equal(stable_order(keys, n), np.argsort(keys, kind="stable"))
