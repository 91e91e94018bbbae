"""Exact certificates of non-expressivity: Motzkin/Farkas multipliers in rational arithmetic.

A *finite* separation certificate says: on a finite set of policies ``pi_0, ..., pi_{N-1}``
of an environment, the B-specification strictly prefers ``pi_i`` to ``pi_j`` for every
pair in ``strict`` and ties every pair in ``ties``; and a structural lemma
(docs/theory.md#lemmas) says that every A-specification's value is linear in known features,
``J_A(pi) = <phi(pi), c>`` for some unknown coefficient vector ``c``. Then no A-spec
induces the B-ordering if the linear system

.. math:: (\\phi_i - \\phi_j) \\cdot c > 0 \\;\\; ((i, j) \\in \\text{strict}), \\qquad
          (\\phi_i - \\phi_j) \\cdot c = 0 \\;\\; ((i, j) \\in \\text{ties})

has no solution. By Motzkin's transposition theorem it has none iff there are ``z >= 0``,
``z != 0`` and ``y`` with ``sum_k z_k (phi_i - phi_j) + sum_l y_l (phi_i - phi_j) = 0``:
adding the strict inequalities with weights ``z`` and the equalities with weights ``y``
gives ``0 > 0``. The multipliers are found with a floating-point LP (HiGHS via
:func:`scipy.optimize.linprog`), then made exact (an exact rational null-space basis of the
support, sympy) and **verified in exact rational arithmetic**: nothing in a certificate's
verification uses floating point.

Examples
--------
Three policies of a once-visited decision, ``p = 0, 1/2, 1``; an affine value
``J = p c_0 + (1 - p) c_1`` cannot put ``p = 1/2`` strictly above both ends:

>>> from fractions import Fraction as F
>>> phi = [[F(0), F(1)], [F(1, 2), F(1, 2)], [F(1), F(0)]]
>>> cert = farkas_certificate(phi, strict=[(1, 0), (1, 2)], ties=[])
>>> cert.verify()
>>> [str(z) for z in cert.strict_multipliers]
['1/2', '1/2']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import scipy.optimize
from sympy import QQ
from sympy.polys.matrices import DomainMatrix

from objspec.errors import CertificateError

__all__ = ["FarkasCertificate", "farkas_certificate", "exact_kernel"]

Pair = tuple[int, int]


@dataclass(frozen=True)
class FarkasCertificate:
    """Exact Motzkin multipliers proving a strict/tie system infeasible.

    Attributes
    ----------
    features : tuple of tuple of Fraction
        ``phi(pi_i)`` for every policy of the finite set.
    strict, ties : tuple of (int, int)
        Pairs ``(i, j)``: ``pi_i`` strictly preferred to ``pi_j`` / tied with it.
    strict_multipliers, tie_multipliers : tuple of Fraction
        ``z`` (non-negative, not all zero) and ``y`` (any sign).
    """

    features: tuple[tuple[Fraction, ...], ...]
    strict: tuple[Pair, ...]
    ties: tuple[Pair, ...]
    strict_multipliers: tuple[Fraction, ...]
    tie_multipliers: tuple[Fraction, ...]

    def verify(self) -> None:
        """Check the multipliers exactly; raise :class:`CertificateError` if they fail.

        Checked in exact rational arithmetic: one multiplier per constraint, feature vectors
        of one length, every pair naming a policy, ``z >= 0``, ``z != 0`` and cancellation
        of the weighted differences in every feature.
        """
        if len(self.strict_multipliers) != len(self.strict) or len(self.tie_multipliers) != len(
            self.ties
        ):
            raise CertificateError("certificate: one multiplier per constraint is required")
        n = len(self.features)
        if n == 0:
            raise CertificateError("certificate: no policies (the feature list is empty)")
        dim = len(self.features[0])
        for i, row in enumerate(self.features):
            if len(row) != dim:
                raise CertificateError(
                    f"certificate: feature vector {i} has length {len(row)}, policy 0's {dim}")
        for i, j in self.strict + self.ties:
            if not (0 <= i < n and 0 <= j < n):
                raise CertificateError(
                    f"certificate: pair ({i}, {j}) names no policy (there are {n})")
        if any(z < 0 for z in self.strict_multipliers):
            raise CertificateError("certificate: a strict multiplier is negative")
        if sum(self.strict_multipliers) <= 0:
            raise CertificateError("certificate: the strict multipliers are all zero")
        total = [Fraction(0)] * dim
        rows = list(zip(self.strict, self.strict_multipliers, strict=True)) + list(
            zip(self.ties, self.tie_multipliers, strict=True)
        )
        for (i, j), w in rows:
            fi, fj = self.features[i], self.features[j]
            for k in range(dim):
                total[k] += w * (fi[k] - fj[k])
        if any(t != 0 for t in total):
            k = next(k for k, t in enumerate(total) if t != 0)
            raise CertificateError(
                f"certificate: the weighted constraints do not cancel (feature {k}: {total[k]})"
            )


def _exact_nullspace(columns: list[list[Fraction]]) -> list[list[Fraction]]:
    """Exact basis of ``{w : sum_c w_c * columns[c] = 0}`` (sympy's DomainMatrix over QQ:
    fraction-free elimination, far faster than ``sympy.Matrix`` on dense rational data)."""
    if not columns:
        return []
    dim = len(columns[0])
    rows = [[QQ(columns[c][r].numerator, columns[c][r].denominator)
             for c in range(len(columns))] for r in range(dim)]
    basis = DomainMatrix(rows, (dim, len(columns)), QQ).nullspace().to_list()
    return [[Fraction(int(x.numerator), int(x.denominator)) for x in v] for v in basis]


def exact_kernel(rows: Sequence[Sequence[Fraction]]) -> list[list[Fraction]]:
    """Exact basis of ``{c : <row, c> = 0 for every row}`` (rows of one length, Fractions).

    Examples
    --------
    >>> [[str(x) for x in v] for v in exact_kernel([[Fraction(1), Fraction(-1)]])]
    [['1', '1']]
    """
    if not rows:
        return []
    dim = len(rows[0])
    return _exact_nullspace([[Fraction(row[k]) for row in rows] for k in range(dim)])


def farkas_certificate(
    features: Sequence[Sequence[Fraction]],
    strict: Sequence[Pair],
    ties: Sequence[Pair],
) -> FarkasCertificate | None:
    """Find exact Motzkin multipliers for the strict/tie system, or ``None`` if it is feasible.

    Parameters
    ----------
    features : sequence of sequence of Fraction
        ``phi(pi_i)`` for each policy (all of one length).
    strict, ties : sequence of (int, int)
        Index pairs into ``features``.

    Returns
    -------
    FarkasCertificate or None
        A verified certificate, or ``None`` when the LP finds the system feasible (then
        some linear ``c`` realises the ordering: no certificate exists).

    Raises
    ------
    CertificateError
        If the feature vectors do not all have one length.
    """
    feats = tuple(tuple(Fraction(x) for x in row) for row in features)
    for i, row in enumerate(feats):
        if len(row) != len(feats[0]):
            raise CertificateError(
                f"certificate: feature vector {i} has length {len(row)}, policy 0's "
                f"{len(feats[0])}")
    if not strict:
        return None
    cols = [[fi - fj for fi, fj in zip(feats[i], feats[j], strict=True)] for i, j in strict]
    tcols = [[fi - fj for fi, fj in zip(feats[i], feats[j], strict=True)] for i, j in ties]
    dim = len(feats[0])
    n_s, n_t = len(cols), len(tcols)
    mat = np.array([[float(x) for x in col] for col in cols + tcols]).T.reshape(dim, n_s + n_t)
    a_eq = np.vstack([mat, np.concatenate([np.ones(n_s), np.zeros(n_t)])[None]])
    b_eq = np.concatenate([np.zeros(dim), [1.0]])
    bounds = [(0, None)] * n_s + [(None, None)] * n_t
    res = scipy.optimize.linprog(
        np.zeros(n_s + n_t), A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs"
    )
    if res.status != 0:
        return None
    w = np.asarray(res.x)
    support = [k for k in range(n_s) if w[k] > 1e-9] + list(range(n_s, n_s + n_t))
    basis = _exact_nullspace([(cols + tcols)[k] for k in support])
    if not basis:
        return None
    b_float = np.array([[float(x) for x in v] for v in basis]).T
    lam, *_ = np.linalg.lstsq(b_float, w[support], rcond=None)
    candidates = [[Fraction(float(x)).limit_denominator(10**6) for x in lam]]
    if len(basis) == 1:
        candidates.append([Fraction(1)])
        candidates.append([Fraction(-1)])
    for coeffs in candidates:
        vec = [sum((c * v[r] for c, v in zip(coeffs, basis, strict=True)), Fraction(0))
               for r in range(len(support))]
        z = [Fraction(0)] * n_s
        y = [Fraction(0)] * n_t
        for k, val in zip(support, vec, strict=True):
            if k < n_s:
                z[k] = val
            else:
                y[k - n_s] = val
        cert = FarkasCertificate(feats, tuple(strict), tuple(ties), tuple(z), tuple(y))
        try:
            cert.verify()
        except CertificateError:
            continue
        return cert
    return None
