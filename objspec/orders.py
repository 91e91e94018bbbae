"""Total preorders for the ordering formalisms (GOMORL, OMO, TLO, PO).

The ordering formalisms of the paper (docs/theory.md#definitions)
are specified by a *total preorder* on some set: vectors of expected returns (GOMORL),
occupancy measures (OMO), trajectory lotteries (TLO) or policies (PO). A total preorder
``>=`` is complete (``x >= y`` or ``y >= x``) and transitive; ties are allowed.

An :class:`Order` here is a comparator object: ``order.compare(x, y)`` is ``1`` when ``x``
is strictly preferred, ``-1`` when ``y`` is, and ``0`` for a tie. The constructors below
return orders that are total preorders *by construction*:

* :func:`lexicographic`: compare component by component (Skalse et al. 2022);
* :func:`thresholded_lexicographic`: lexicographic after capping component ``i`` at its
  threshold ``t_i`` (a threshold met counts as fully satisfied);
* :func:`constrained`: feasible before infeasible; feasible ones by the objective,
  infeasible ones by their total violation, then by the objective (constrained MDPs);
* :func:`by_key`: compare ``key(x)``, a real or a tuple of reals (lexicographically);
* :func:`pullback`: compare ``fn(x)`` under another order (the conversions of
  docs/theory.md#ordering-class are pull-backs, and a pull-back of a total preorder is a
  total preorder).

An order built from a user comparator (:func:`from_comparator`) is not checked at
construction; :func:`check_total_preorder` tests one on samples and raises
:class:`~objspec.errors.InvalidSpecificationError` on a violation of reflexivity,
antisymmetry of strict preference, or transitivity.

Comparisons are exact on the values given: with Fractions (exact evaluators) ties are
exact; with floats, two values differing by rounding are *not* tied (give ``tolerance``
to :func:`lexicographic` only if you accept that a tolerance can break transitivity on
chains of near-ties: it is then checked only on the samples you pass to
:func:`check_total_preorder`).

Examples
--------
>>> from objspec.orders import lexicographic, by_key, check_total_preorder
>>> lex = lexicographic()
>>> lex.compare([1, 0], [0, 5]), lex.compare([1, 2], [1, 2])
(1, 0)
>>> by_key(lambda v: -abs(v[0])).compare([0.5], [-0.1])
-1
>>> lex.rank([[0, 1], [1, 0], [0, 1]]).tolist()
[1, 0, 1]
"""

from __future__ import annotations

import abc
import functools
import math
import numbers
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from objspec.errors import InvalidSpecificationError

__all__ = [
    "Order",
    "Lexicographic",
    "ThresholdedLexicographic",
    "Constrained",
    "ByKey",
    "Comparator",
    "Pullback",
    "Reversed",
    "lexicographic",
    "thresholded_lexicographic",
    "constrained",
    "by_key",
    "from_comparator",
    "pullback",
    "reverse",
    "as_order",
    "comparison_matrix",
    "ranks_by_compare",
    "check_total_preorder",
]


def _sign(x: Any) -> int:
    return int(x > 0) - int(x < 0)


def _real(x: Any, what: str) -> Any:
    """A finite real scalar (Fractions and ints kept exact), else InvalidSpecificationError."""
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, numbers.Rational):
        if isinstance(x, Fraction | int):
            return x
        return Fraction(int(x.numerator), int(x.denominator))
    if isinstance(x, numbers.Real | np.floating | np.integer):
        value = float(x)
        if not math.isfinite(value):
            raise InvalidSpecificationError(f"{what} is {value}, not a finite real number")
        return value
    try:
        import sympy

        if isinstance(x, sympy.Rational):
            return Fraction(int(x.p), int(x.q))
        if isinstance(x, sympy.Expr) and x.is_real and x.is_number:
            value = float(x)
            if math.isfinite(value):
                return value
    except ImportError:  # pragma: no cover - sympy is a dependency
        pass
    if isinstance(x, np.ndarray) and x.ndim == 0:
        return _real(x.item(), what)
    raise InvalidSpecificationError(f"{what} is {x!r}, not a finite real number")


def _vector(x: Any, what: str) -> list[Any]:
    """Flatten a scalar, sequence or array into a list of finite reals."""
    arr = np.asarray(x, dtype=object)
    return [_real(v, f"{what} entry {i}") for i, v in enumerate(arr.ravel())]


def ranks_by_compare(items: Sequence[Any], compare: Callable[[Any, Any], int]) -> np.ndarray:
    """Dense ranks (``0`` best, ties shared) of ``items`` under a comparator.

    Sorts with ``O(N log N)`` comparisons; consistent with ``compare`` whenever it is a
    total preorder.

    Examples
    --------
    >>> ranks_by_compare([3, 1, 3, 2], lambda x, y: (x > y) - (x < y)).tolist()
    [0, 2, 0, 1]
    """

    def by_preference(i: int, j: int) -> int:
        return compare(items[j], items[i])

    order = sorted(range(len(items)), key=functools.cmp_to_key(by_preference))
    ranks = np.empty(len(items), dtype=np.int64)
    current = 0
    for pos, idx in enumerate(order):
        if pos > 0 and compare(items[order[pos - 1]], items[idx]) != 0:
            current += 1
        ranks[idx] = current
    return ranks


class Order(abc.ABC):
    """A total preorder given as a comparator: ``compare(x, y)`` in ``{1, 0, -1}``."""

    @abc.abstractmethod
    def compare(self, x: Any, y: Any) -> int:
        """``1`` if ``x`` is strictly preferred to ``y``, ``-1`` if ``y`` is, ``0`` if tied."""

    def __call__(self, x: Any, y: Any) -> int:
        return self.compare(x, y)

    def rank(self, items: Sequence[Any]) -> np.ndarray:
        """Dense ranks of ``items``: ``0`` for the best class, tied items share a rank.

        Uses ``O(N log N)`` comparisons; the result is consistent with :meth:`compare`
        whenever the order is a total preorder.
        """
        return ranks_by_compare(list(items), self.compare)


class Lexicographic(Order):
    """Component-by-component comparison of real vectors, larger is better.

    ``signs[i] = -1`` makes component ``i`` a cost (smaller is better). Inputs are
    flattened, so ``[S, A, S]`` occupancy arrays compare in C order. ``tolerance`` (default
    0) treats components within it as equal; with ``tolerance > 0`` the relation is only a
    total preorder if no chain of near-ties occurs (check with
    :func:`check_total_preorder`).
    """

    def __init__(self, signs: Sequence[int] | None = None, tolerance: float = 0.0) -> None:
        if signs is not None:
            signs = [int(s) for s in signs]
            if any(s not in (1, -1) for s in signs):
                raise InvalidSpecificationError(
                    f"lexicographic signs must be +1 or -1; got {signs}"
                )
        tol = float(tolerance)
        if not math.isfinite(tol) or tol < 0:
            raise InvalidSpecificationError(f"tolerance = {tolerance!r} must be finite and >= 0")
        self.signs = None if signs is None else tuple(signs)
        self.tolerance = tol

    def compare(self, x: Any, y: Any) -> int:
        u, v = _vector(x, "first argument"), _vector(y, "second argument")
        if len(u) != len(v):
            raise InvalidSpecificationError(
                f"lexicographic order compares vectors of lengths {len(u)} and {len(v)}"
            )
        if self.signs is not None and len(self.signs) != len(u):
            raise InvalidSpecificationError(
                f"lexicographic order has {len(self.signs)} signs but the vectors have "
                f"{len(u)} components"
            )
        for i, (a, b) in enumerate(zip(u, v, strict=True)):
            diff = a - b
            if abs(diff) > self.tolerance:
                sign = 1 if self.signs is None else self.signs[i]
                return sign * _sign(diff)
        return 0

    def __repr__(self) -> str:
        return f"lexicographic(signs={self.signs}, tolerance={self.tolerance})"


class ThresholdedLexicographic(Order):
    """Lexicographic order after capping component ``i`` at ``thresholds[i]``.

    A component at or above its threshold counts as satisfied, so the comparison moves on
    to the next component (thresholded lexicographic MORL). ``None`` means no threshold;
    the last component is typically uncapped. A pull-back of the lexicographic order
    through a map, hence a total preorder.
    """

    def __init__(self, thresholds: Sequence[Any]) -> None:
        self.thresholds = tuple(
            None if t is None else _real(t, f"threshold {i}") for i, t in enumerate(thresholds)
        )
        if not self.thresholds:
            raise InvalidSpecificationError(
                "thresholded_lexicographic needs at least one threshold"
            )
        self._lex = Lexicographic()

    def _cap(self, x: Any) -> list[Any]:
        u = _vector(x, "argument")
        if len(u) < len(self.thresholds):
            raise InvalidSpecificationError(
                f"thresholded_lexicographic has {len(self.thresholds)} thresholds but the vector "
                f"has {len(u)} components"
            )
        return [
            v if i >= len(self.thresholds) or self.thresholds[i] is None
            else min(v, self.thresholds[i])
            for i, v in enumerate(u)
        ]

    def compare(self, x: Any, y: Any) -> int:
        return self._lex.compare(self._cap(x), self._cap(y))

    def __repr__(self) -> str:
        return f"thresholded_lexicographic({list(self.thresholds)})"


class Constrained(Order):
    """Feasibility first, then the objective.

    A vector ``v`` is feasible when ``v[i] >= bound`` for every ``(i, bound)`` in
    ``constraints``. Feasible vectors beat infeasible ones; feasible vectors compare by
    ``v[objective]``; infeasible ones by their total violation
    ``sum_i max(0, bound_i - v[i])`` (smaller is better), then by ``v[objective]``. This
    is the comparison of a key tuple, so a total preorder.
    """

    def __init__(self, objective: int, constraints: Sequence[tuple[int, Any]]) -> None:
        self.objective = int(objective)
        self.constraints = tuple((int(i), _real(b, f"bound of constraint {i}"))
                                 for i, b in constraints)
        if not self.constraints:
            raise InvalidSpecificationError("constrained order needs at least one constraint")

    def key(self, x: Any) -> tuple[Any, ...]:
        """``(feasible, -violation, objective)``: compared lexicographically."""
        u = _vector(x, "argument")
        for i in [self.objective, *(c for c, _ in self.constraints)]:
            if not 0 <= i < len(u):
                raise InvalidSpecificationError(
                    f"constrained order refers to component {i} of a vector of length {len(u)}"
                )
        violation = sum((max(0, b - u[i]) for i, b in self.constraints), 0)
        return (int(violation == 0), -violation, u[self.objective])

    def compare(self, x: Any, y: Any) -> int:
        kx, ky = self.key(x), self.key(y)
        return int(kx > ky) - int(kx < ky)

    def __repr__(self) -> str:
        return f"constrained(objective={self.objective}, constraints={list(self.constraints)})"


class ByKey(Order):
    """Compare ``key(x)``: a finite real, or a tuple of finite reals (lexicographically).

    ``key`` results are validated: a non-finite or non-real result raises
    :class:`~objspec.errors.InvalidSpecificationError`.

    ``concave`` and ``gradient`` declare, for a real-valued key, that it is concave and
    what its gradient is (as for OMORL and FOMR): the GOMORL and OMO optimisers then
    maximise the key by Frank-Wolfe with a certified gap, since an order by a real key
    has the key's maximisers as its maximal elements. They do not change comparisons.
    """

    def __init__(self, key: Callable[[Any], Any], *, concave: bool = False,
                 gradient: Callable[[Any], Any] | None = None) -> None:
        if not callable(key):
            raise InvalidSpecificationError(f"by_key needs a callable; got {key!r}")
        if not isinstance(concave, bool):
            raise InvalidSpecificationError(f"by_key: concave must be True or False; got "
                                            f"{concave!r}")
        if gradient is not None and not callable(gradient):
            raise InvalidSpecificationError(f"by_key: the gradient must be callable; got "
                                            f"{gradient!r}")
        self.key = key
        self.concave = concave
        self.gradient = gradient

    def _key(self, x: Any) -> tuple[Any, ...]:
        k = self.key(x)
        if isinstance(k, tuple | list | np.ndarray):
            return tuple(_vector(k, "key"))
        return (_real(k, "key"),)

    def compare(self, x: Any, y: Any) -> int:
        kx, ky = self._key(x), self._key(y)
        if len(kx) != len(ky):
            raise InvalidSpecificationError(
                f"by_key returned keys of different lengths {len(kx)} and {len(ky)}"
            )
        return int(kx > ky) - int(kx < ky)

    def __repr__(self) -> str:
        return f"by_key({getattr(self.key, '__name__', self.key)!r})"


class Comparator(Order):
    """An order from a user comparator ``cmp(x, y)`` whose sign is the preference.

    Nothing guarantees a total preorder: test it with :func:`check_total_preorder`.
    """

    def __init__(self, cmp: Callable[[Any, Any], Any]) -> None:
        if not callable(cmp):
            raise InvalidSpecificationError(f"from_comparator needs a callable; got {cmp!r}")
        self.cmp = cmp

    def compare(self, x: Any, y: Any) -> int:
        return _sign(_real(self.cmp(x, y), "comparator result"))

    def __repr__(self) -> str:
        return f"from_comparator({getattr(self.cmp, '__name__', self.cmp)!r})"


class Pullback(Order):
    """``x >= y`` iff ``fn(x) >= fn(y)`` under ``order``."""

    def __init__(self, order: Order, fn: Callable[[Any], Any]) -> None:
        self.order = as_order(order)
        if not callable(fn):
            raise InvalidSpecificationError(f"pullback needs a callable; got {fn!r}")
        self.fn = fn

    def compare(self, x: Any, y: Any) -> int:
        return self.order.compare(self.fn(x), self.fn(y))

    def __repr__(self) -> str:
        return f"pullback({self.order!r}, {getattr(self.fn, '__name__', self.fn)!r})"


class Reversed(Order):
    """The opposite order: ``x >= y`` iff ``y >= x`` under ``order``."""

    def __init__(self, order: Order) -> None:
        self.order = as_order(order)

    def compare(self, x: Any, y: Any) -> int:
        return self.order.compare(y, x)

    def __repr__(self) -> str:
        return f"reverse({self.order!r})"


def lexicographic(signs: Sequence[int] | None = None, *, tolerance: float = 0.0) -> Lexicographic:
    """Lexicographic order on real vectors (larger first; ``signs[i] = -1`` for costs).

    Examples
    --------
    >>> lexicographic().compare([0.5, 0.0], [0.5, 0.25])
    -1
    >>> lexicographic(signs=[1, -1]).compare([0.5, 0.0], [0.5, 0.25])
    1
    """
    return Lexicographic(signs, tolerance)


def thresholded_lexicographic(thresholds: Sequence[Any]) -> ThresholdedLexicographic:
    """Lexicographic order with component ``i`` capped at ``thresholds[i]`` (``None``: no cap).

    Examples
    --------
    >>> order = thresholded_lexicographic([0.5, None])
    >>> order.compare([0.9, 0.0], [0.6, 1.0])  # both meet 0.5: decided by component 1
    -1
    >>> order.compare([0.4, 9.0], [0.5, 0.0])
    -1
    """
    return ThresholdedLexicographic(thresholds)


def constrained(objective: int, constraints: Sequence[tuple[int, Any]]) -> Constrained:
    """Feasibility first (``v[i] >= bound`` for each constraint), then ``v[objective]``.

    Examples
    --------
    >>> order = constrained(0, [(1, 0.5)])
    >>> order.compare([1.0, 0.4], [0.0, 0.6])  # infeasible vs feasible
    -1
    >>> order.compare([1.0, 0.6], [0.0, 0.9])
    1
    """
    return Constrained(objective, constraints)


def by_key(key: Callable[[Any], Any], *, concave: bool = False,
           gradient: Callable[[Any], Any] | None = None) -> ByKey:
    """Compare ``key(x)`` (a real or a tuple of reals), larger is better; ``concave`` and
    ``gradient`` declare a concave real key for the optimisers (:class:`ByKey`).

    Examples
    --------
    >>> by_key(lambda v: (round(v[0]), -v[1])).compare([1.2, 3.0], [0.9, 0.0])
    -1
    """
    return ByKey(key, concave=concave, gradient=gradient)


def from_comparator(cmp: Callable[[Any, Any], Any]) -> Comparator:
    """An order from a comparator whose sign is the preference (checked only on samples).

    Examples
    --------
    >>> order = from_comparator(lambda x, y: x[0] - y[0])
    >>> order.compare([2.0], [1.0])
    1
    """
    return Comparator(cmp)


def pullback(order: Order | Callable[[Any, Any], Any], fn: Callable[[Any], Any]) -> Pullback:
    """The order ``x >= y`` iff ``fn(x) >= fn(y)``; a total preorder if ``order`` is one.

    Examples
    --------
    >>> pullback(lexicographic(), lambda m: [m[1], m[0]]).compare([0, 1], [1, 0])
    1
    """
    return Pullback(as_order(order), fn)


def reverse(order: Order | Callable[[Any, Any], Any]) -> Reversed:
    """The opposite order.

    Examples
    --------
    >>> reverse(lexicographic()).compare([1], [0])
    -1
    """
    return Reversed(as_order(order))


def as_order(order: Any) -> Order:
    """An :class:`Order` as is; a comparator callable wrapped by :func:`from_comparator`.

    Examples
    --------
    >>> as_order(lambda x, y: y - x).compare(1, 2)
    1
    """
    if isinstance(order, Order):
        return order
    if callable(order):
        return Comparator(order)
    raise InvalidSpecificationError(
        f"an order must be an objspec.orders.Order or a comparator callable; got {order!r}"
    )


def comparison_matrix(order: Any, samples: Sequence[Any]) -> np.ndarray:
    """``C[i, j] = order.compare(samples[i], samples[j])`` as an int array.

    Examples
    --------
    >>> comparison_matrix(lexicographic(), [[0], [1]]).tolist()
    [[0, -1], [1, 0]]
    """
    o = as_order(order)
    items = list(samples)
    n = len(items)
    out = np.zeros((n, n), dtype=np.int64)
    for i in range(n):
        for j in range(n):
            c = o.compare(items[i], items[j])
            if c not in (-1, 0, 1):
                raise InvalidSpecificationError(
                    f"order.compare(samples[{i}], samples[{j}]) returned {c!r}, not -1, 0 or 1"
                )
            out[i, j] = c
    return out


def check_total_preorder(order: Any, samples: Sequence[Any]) -> None:
    """Raise unless ``order`` is a total preorder on ``samples``.

    Checks, on all pairs and triples of ``samples`` (``N**2`` comparisons, the triples
    by boolean matrix products):

    * reflexivity: ``compare(x, x) == 0``;
    * consistency (completeness of one relation): ``compare(x, y) == -compare(y, x)``;
    * transitivity: ``x >= y`` and ``y >= z`` imply ``x >= z``.

    A pass only certifies the samples; a failure is a proof that ``order`` is not a total
    preorder.

    Raises
    ------
    InvalidSpecificationError
        Naming the first violation and the sample indices involved.

    Examples
    --------
    >>> check_total_preorder(lexicographic(), [[0, 1], [1, 0], [0, 0]])
    >>> rock_paper_scissors = from_comparator(lambda x, y: [0, 1, -1][(x - y) % 3])
    >>> check_total_preorder(rock_paper_scissors, [0, 1, 2])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    objspec.errors.InvalidSpecificationError: order is not transitive: samples[0] >= ...
    """
    c = comparison_matrix(order, samples)
    diag = np.flatnonzero(np.diag(c) != 0)
    if diag.size:
        i = int(diag[0])
        raise InvalidSpecificationError(
            f"order is not reflexive: compare(samples[{i}], samples[{i}]) = {int(c[i, i])}"
        )
    asym = np.argwhere(c != -c.T)
    if asym.size:
        i, j = (int(v) for v in asym[0])
        raise InvalidSpecificationError(
            f"order is inconsistent: compare(samples[{i}], samples[{j}]) = {int(c[i, j])} but "
            f"compare(samples[{j}], samples[{i}]) = {int(c[j, i])}"
        )
    weak = (c >= 0).astype(np.int64)
    through = weak @ weak  # through[i, k] > 0 iff i >= j >= k for some j
    bad = np.argwhere((through > 0) & (weak == 0))
    if bad.size:
        i, k = (int(v) for v in bad[0])
        j = int(np.flatnonzero((weak[i] > 0) & (weak[:, k] > 0))[0])
        raise InvalidSpecificationError(
            f"order is not transitive: samples[{i}] >= samples[{j}] and samples[{j}] >= "
            f"samples[{k}] but not samples[{i}] >= samples[{k}]"
        )
