"""The low-overhead CSR helpers (objspec.mdp.csr) against scipy's public operators, on
both of their paths (scipy's compiled kernels and the public fallback)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from objspec.mdp import csr
from objspec.mdp.csr import matvec_add, matvec_adder, select_rows, transpose


@st.composite
def csr_matrices(draw: st.DrawFn) -> sp.csr_matrix:
    """Small CSR matrices: empty rows, unsorted indices and duplicates sometimes, int32 or
    int64 indices, float64 (the kernels' type) or float32 (the fallback's) entries."""
    rows, cols = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    nnz = draw(st.integers(0, 3 * rows))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    r, c = rng.integers(0, rows, nnz), rng.integers(0, cols, nnz)
    m = sp.csr_matrix((rng.normal(size=nnz), (r, c)), shape=(rows, cols))
    if draw(st.booleans()):  # keep duplicates, in the given order
        order = np.argsort(r, kind="stable")
        indptr = np.concatenate([[0], np.cumsum(np.bincount(r, minlength=rows))])
        m = sp.csr_matrix((rng.normal(size=nnz)[order], c[order], indptr), shape=(rows, cols))
    if draw(st.booleans()):
        m.indices = m.indices.astype(np.int64)
        m.indptr = m.indptr.astype(np.int64)
    if draw(st.booleans()):
        m = m.astype(np.float32)
    return m


@pytest.fixture(params=["kernel", "fallback"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "fallback":
        monkeypatch.setattr(csr, "_kernel", None)
    else:
        assert csr._kernel is not None, "scipy's compiled kernels are expected here"
    return str(request.param)


#: the path fixture patches the module once per test, the same for every example
FIXTURE_OK = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@FIXTURE_OK
@given(m=csr_matrices(), seed=st.integers(0, 100))
def test_matvec_add_is_out_plus_the_product(path: str, m: sp.csr_matrix, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, out = rng.normal(size=m.shape[1]), rng.normal(size=m.shape[0])
    want = out + m.toarray().astype(np.float64) @ x
    got = matvec_add(m, x, out)
    assert got is out
    row_sums = np.abs(m.toarray()).sum(axis=1).max()
    scale = 1.0 + np.abs(out).max(initial=0) + row_sums * np.abs(x).max()
    assert np.abs(got - want).max(initial=0) <= 1e-6 * scale  # float32 matrices round


@FIXTURE_OK
@given(m=csr_matrices())
def test_transpose_and_select_rows_equal_scipy(path: str, m: sp.csr_matrix) -> None:
    t = transpose(m)
    assert sp.isspmatrix_csr(t) and t.shape == m.shape[::-1]
    assert np.array_equal(t.toarray(), m.toarray().T)
    rng = np.random.default_rng(m.nnz)
    rows = rng.integers(0, m.shape[0], size=2 * m.shape[0])  # repeats, any order
    got = select_rows(m, rows)
    assert sp.isspmatrix_csr(got) and got.shape == (rows.size, m.shape[1])
    assert np.array_equal(got.toarray(), m.toarray()[rows])
    # rows are copied as they are: stored entries (and their order) are kept
    for k, s in enumerate(rows):
        a, b = got.indptr[k], got.indptr[k + 1]
        assert np.array_equal(got.indices[a:b], m.indices[m.indptr[s]:m.indptr[s + 1]])
        assert np.array_equal(got.data[a:b], m.data[m.indptr[s]:m.indptr[s + 1]])


def test_canonical_flags_are_true_facts(path: str) -> None:
    m = sp.csr_matrix(np.array([[0.0, 2.0, 1.0], [3.0, 0.0, 4.0]]))
    assert m.has_canonical_format
    for out in (transpose(m), select_rows(m, np.array([1, 0, 1]))):
        assert out.has_canonical_format
        copy = out.copy()
        copy.has_canonical_format = False
        copy.sum_duplicates()  # re-derives the canonical form: nothing may change
        assert np.array_equal(copy.indices, out.indices)
        assert np.array_equal(copy.indptr, out.indptr)


def test_the_product_refuses_vectors_of_the_wrong_size(path: str) -> None:
    m = sp.csr_matrix(np.ones((3, 2)))
    add = matvec_adder(m)
    with pytest.raises(ValueError):
        add(np.ones(3), np.zeros(3))
    with pytest.raises(ValueError):
        add(np.ones(2), np.zeros(2))
    assert add(np.ones(2), np.zeros(3)).tolist() == [2.0, 2.0, 2.0]
