"""Conversion of user arrays to float64 that refuses what float64 would silently change.

``numpy.array(x, dtype=float64)`` drops imaginary parts (with only a warning), parses
numeric strings such as ``"1.5"`` and raises bare ``TypeError``/``ValueError`` otherwise.
:func:`real_array` turns each of these into the caller's named :mod:`objspec.errors` class,
with the index of the first offending entry.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

__all__ = ["real_array"]


def _entry(arr: np.ndarray, flat_index: int) -> str:
    """``[i, j] = value`` for the entry at ``flat_index`` of ``arr`` (``= value`` for 0-d)."""
    index = np.unravel_index(flat_index, arr.shape) if arr.ndim else ()
    value = arr[index]
    value = value.item() if isinstance(value, np.generic) else value
    shown = repr(value)[:60]
    return f"{[int(i) for i in index]} = {shown}" if arr.ndim else f" = {shown}"


def real_array(values: Any, what: str, error: type[Exception]) -> np.ndarray:
    """``values`` as a float64 array, or ``error`` if an entry is not a real number.

    Complex entries (a complex array whose imaginary parts are all zero is accepted),
    strings, ``None`` and other non-numbers raise ``error`` naming ``what`` and the index of
    the first offending entry. Non-finite entries are left for the caller to judge.

    Examples
    --------
    >>> from objspec.errors import InvalidModelError
    >>> real_array([1, 0.5], "initial", InvalidModelError)
    array([1. , 0.5])
    >>> real_array([1, 1 + 2j], "initial", InvalidModelError)
    Traceback (most recent call last):
    ...
    objspec.errors.InvalidModelError: initial[1] = (1+2j) is complex; entries must be real numbers
    >>> real_array(["0.5", "x"], "reward", InvalidModelError)
    Traceback (most recent call last):
    ...
    objspec.errors.InvalidModelError: reward[0] = '0.5' is a string; entries must be numbers
    """
    try:
        raw = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise error(f"{what} must be a numeric array: {exc}") from None
    if raw.dtype.kind in "USa":
        raise error(f"{what}{_entry(raw, 0)} is a string; entries must be numbers")
    if raw.dtype.kind == "c":
        bad = np.flatnonzero(raw.imag)
        if bad.size:
            raise error(
                f"{what}{_entry(raw, int(bad[0]))} is complex; entries must be real numbers"
            )
        raw = raw.real
    if raw.dtype == object:
        for k, x in enumerate(raw.ravel()):
            if isinstance(x, (str, bytes)):
                raise error(f"{what}{_entry(raw, k)} is a string; entries must be numbers")
            if isinstance(x, complex | np.complexfloating) and x.imag != 0:
                raise error(f"{what}{_entry(raw, k)} is complex; entries must be real numbers")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", np.exceptions.ComplexWarning)
            return np.array(raw, dtype=np.float64)
    except (TypeError, ValueError, np.exceptions.ComplexWarning) as exc:
        raise error(f"{what} must be a numeric array: {exc}") from None
