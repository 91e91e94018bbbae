"""An exact oracle for Motzkin certificates, independent of :mod:`objspec.reductions`.

The tampering tests compare the library's certificate checks with this oracle. Nothing here
imports the code under test: validity of given multipliers is re-derived with sympy matrices,
and whether a strict/tie system has *any* certificate is decided by two exact rational LPs
(a small phase-I simplex in Fractions, no floating point), the primal and the Motzkin dual,
which must disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import sympy

Pair = tuple[int, int]


def _rat(x: Fraction | int) -> sympy.Rational:
    x = Fraction(x)
    return sympy.Rational(x.numerator, x.denominator)


def difference_rows(features: Sequence[Sequence[Fraction]], pairs: Sequence[Pair]) -> sympy.Matrix:
    """One row ``phi_i - phi_j`` per pair (exact)."""
    dim = len(features[0])
    def entry(r: int, k: int) -> sympy.Rational:
        i, j = pairs[r]
        return _rat(features[i][k]) - _rat(features[j][k])

    return sympy.Matrix(len(pairs), dim, entry)


def multipliers_valid(features: Sequence[Sequence[Fraction]], strict: Sequence[Pair],
                      ties: Sequence[Pair], z: Sequence[Fraction], y: Sequence[Fraction]) -> bool:
    """Whether ``(z, y)`` proves the system infeasible: every constraint has a multiplier, every
    pair names a policy, all feature vectors have one length, ``z >= 0``, ``z != 0`` and the
    weighted differences cancel in every feature (exact)."""
    n = len(features)
    if n == 0 or len(z) != len(strict) or len(y) != len(ties):
        return False
    if len({len(row) for row in features}) != 1:
        return False
    if any(not (0 <= i < n and 0 <= j < n) for i, j in [*strict, *ties]):
        return False
    if any(Fraction(v) < 0 for v in z) or sum(Fraction(v) for v in z) <= 0:
        return False
    w = sympy.Matrix([[_rat(v) for v in [*z, *y]]])
    d = difference_rows(features, [*strict, *ties])
    return bool(all(x == 0 for x in w * d))


def phase_one(a: list[list[Fraction]], b: list[Fraction]) -> list[Fraction] | None:
    """A point ``x >= 0`` with ``a x = b``, or ``None`` if there is none.

    Phase I of the simplex method in exact rational arithmetic with Bland's rule (which
    cannot cycle): minimise the sum of artificial variables. The point returned is checked
    exactly before it is returned.
    """
    m, n = len(a), len(a[0]) if a else 0
    rows = [[Fraction(v) for v in r] if bi >= 0 else [-Fraction(v) for v in r]
            for r, bi in zip(a, b, strict=True)]
    rhs = [abs(Fraction(bi)) for bi in b]
    # tableau columns: n original, m artificial; basis starts with the artificials
    tab = [r + [Fraction(int(k == i)) for k in range(m)] for i, r in enumerate(rows)]
    basis = [n + i for i in range(m)]
    cost = [Fraction(0)] * n + [Fraction(1)] * m
    while True:
        reduced = [cost[j] - sum((cost[basis[i]] * tab[i][j] for i in range(m)), Fraction(0))
                   for j in range(n + m)]
        enter = next((j for j in range(n + m) if reduced[j] < 0), None)
        if enter is None:
            break
        ratios = [(rhs[i] / tab[i][enter], basis[i], i) for i in range(m) if tab[i][enter] > 0]
        if not ratios:  # unbounded below: impossible, the objective is >= 0
            raise AssertionError("phase I objective unbounded")
        _, _, leave = min(ratios)
        piv = tab[leave][enter]
        tab[leave] = [v / piv for v in tab[leave]]
        rhs[leave] /= piv
        for i in range(m):
            if i != leave and tab[i][enter] != 0:
                f = tab[i][enter]
                tab[i] = [v - f * w for v, w in zip(tab[i], tab[leave], strict=True)]
                rhs[i] -= f * rhs[leave]
        basis[leave] = enter
    x = [Fraction(0)] * (n + m)
    for i, j in enumerate(basis):
        x[j] = rhs[i]
    if any(x[n:]):
        return None
    point = x[:n]
    assert all(v >= 0 for v in point)
    assert all(sum((Fraction(aij) * xj for aij, xj in zip(r, point, strict=True)), Fraction(0))
               == bi for r, bi in zip(a, b, strict=True))
    return point


def system_feasible(features: Sequence[Sequence[Fraction]], strict: Sequence[Pair],
                    ties: Sequence[Pair]) -> bool:
    """Whether some ``c`` has ``(phi_i - phi_j) c > 0`` on ``strict`` and ``= 0`` on ``ties``.

    Decided by two exact LPs (:func:`phase_one`): the primal (``>= 1`` by homogeneity) and
    the Motzkin dual (``z >= 0``, ``sum z = 1``, ``z D_s + y D_t = 0``). Exactly one is
    feasible; the function asserts it, so a broken oracle cannot pass silently.
    """
    if not strict:
        return True
    dim = len(features[0])
    ds = [[Fraction(v) for v in r] for r in difference_rows(features, strict).tolist()]
    dt = [[Fraction(v) for v in r] for r in difference_rows(features, ties).tolist()] if ties \
        else []
    n_s, n_t = len(ds), len(dt)
    zero = Fraction(0)
    # primal: variables c+ (dim), c- (dim), slack (n_s) >= 0
    a = [r + [-v for v in r] + [Fraction(-int(k == i)) for k in range(n_s)]
         for i, r in enumerate(ds)]
    a += [r + [-v for v in r] + [zero] * n_s for r in dt]
    primal = phase_one(a, [Fraction(1)] * n_s + [zero] * n_t) is not None
    # dual: variables z (n_s), y+ (n_t), y- (n_t) >= 0
    a = [[ds[i][k] for i in range(n_s)] + [dt[i][k] for i in range(n_t)]
         + [-dt[i][k] for i in range(n_t)] for k in range(dim)]
    a.append([Fraction(1)] * n_s + [zero] * (2 * n_t))
    point = phase_one(a, [zero] * dim + [Fraction(1)])
    dual = point is not None
    if point is not None:
        y = [p - q for p, q in zip(point[n_s:n_s + n_t], point[n_s + n_t:], strict=True)]
        assert multipliers_valid(features, strict, ties, point[:n_s], y)
    assert primal != dual, "Motzkin's alternative violated: the oracle is broken"
    return primal
