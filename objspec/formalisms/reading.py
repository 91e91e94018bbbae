"""Reading specifications from JSON: numbers, arrays and fields with named errors.

``objspec evaluate`` reads the ``"specification"`` object of a file through the reader each
formalism registers (:class:`~objspec.formalisms.registry.SpecificationReader`). A reader
gets a :class:`SpecificationFields` over the object and reads numbers (``0.5``,
``"1/2"``, exact with ``--exact``), rectangular arrays and strings through it; every
malformed entry raises an :class:`~objspec.errors.ObjspecError` naming its field
(``specification (MR).reward[1][0]: ...``). Formulas in files are parsed by
:mod:`objspec.expressions`, never evaluated as code.

Examples
--------
>>> fields = SpecificationFields({"reward": [[0, 1], [1, 0]], "gamma": "9/10"}, "spec",
...                              exact=True, n_actions=2)
>>> fields.number("gamma"), fields.array("reward").shape
(Fraction(9, 10), (2, 2))
>>> fields.number("reward")
Traceback (most recent call last):
...
objspec.errors.InvalidSpecificationError: spec.reward: expected a number, got [[0, 1], [1, 0]]
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from objspec.errors import InvalidSpecificationError, ObjspecError

__all__ = ["SpecificationFields", "read_number", "read_array", "show", "field_errors",
           "one_line"]

LARGEST = 10**300  # numbers of larger magnitude are refused (floats end near 1.8e308)
_RATIONAL = re.compile(r"^\s*([+-]?\d+)\s*/\s*(\d+)\s*$")
_DECIMAL = re.compile(r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE]([+-]?\d+))?\s*$")

def read_number(x: Any, where: str, exact: bool = False) -> Any:
    """A JSON number (int, float, ``"p/q"`` or decimal string) as int, float or Fraction.

    With ``exact``, floats are accepted only when they are exactly the decimal written
    (``0.5``, not ``0.1``), and returned as Fractions.
    """
    if isinstance(x, bool):
        raise InvalidSpecificationError(f"{where}: expected a number, got {json.dumps(x)}")
    if isinstance(x, int):
        if abs(x) > LARGEST:
            raise InvalidSpecificationError(f"{where}: {show(x)} is out of range")
        return Fraction(x) if exact else x
    if isinstance(x, float):
        if not math.isfinite(x):
            raise InvalidSpecificationError(f"{where}: {x} is not a finite number")
        if exact:
            written = Fraction(repr(x))
            if Fraction(x) != written:
                raise InvalidSpecificationError(
                    f'{where}: {x!r} is a binary float, not exactly {written}; with --exact '
                    f'write it as the string "{written}"'
                )
            return written
        return x
    if isinstance(x, str):
        m = _RATIONAL.match(x)
        value: Fraction | None = None
        if m and len(x) <= 200:
            if int(m.group(2)) == 0:
                raise InvalidSpecificationError(f"{where}: {x!r} divides by zero")
            value = Fraction(int(m.group(1)), int(m.group(2)))
        m = _DECIMAL.match(x)
        if m and len(x) <= 200:
            if m.group(1) is not None and abs(int(m.group(1))) > 400:
                raise InvalidSpecificationError(f"{where}: {x!r} is out of range")
            value = Fraction(x.strip())
        if value is not None:
            if abs(value) > LARGEST or value and abs(value) < 1 / LARGEST:
                raise InvalidSpecificationError(
                    f"{where}: {x!r} is out of range (magnitudes 1e-300..1e300)")
            return value
        raise InvalidSpecificationError(
            f"{where}: {show(x)} is not a number (write numbers as 0.5, \"1/2\" or \"0.5\")"
        )
    raise InvalidSpecificationError(f"{where}: expected a number, got {show(x)}")


def show(x: Any, limit: int = 60) -> str:
    """JSON text of a value, shortened for one-line messages."""
    try:
        text = json.dumps(x)
    except (TypeError, ValueError):
        text = repr(x)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_array(x: Any, where: str, exact: bool = False, ndims: Sequence[int] = (1, 2, 3, 4),
           error: type[ObjspecError] = InvalidSpecificationError) -> np.ndarray:
    """A rectangular nested list of numbers as a float64 array, or Fractions (object).

    Fractions are used when ``exact`` or when some entry is a string; floats next to
    strings are then read as the decimal written (``0.1`` as ``1/10``).
    """
    shape: list[int] = []
    depth = 0
    probe = x
    while isinstance(probe, list):
        if not probe:
            raise error(f"{where}: empty list")
        shape.append(len(probe))
        probe = probe[0]
        depth += 1
    if depth not in ndims:
        want = " or ".join(str(d) for d in ndims)
        raise error(f"{where}: expected a list nested {want} deep, got {show(x)}")
    flat: list[Any] = []

    def walk(v: Any, path: str, level: int) -> None:
        if level == depth:
            if isinstance(v, list):
                raise error(f"{path}: expected a number, got a list")
            flat.append(read_number(v, path, exact))
            return
        if not isinstance(v, list):
            raise error(f"{path}: expected a list of {shape[level]}, got {show(v)}")
        if len(v) != shape[level]:
            raise error(f"{path}: expected {shape[level]} entries (like the first), got "
                        f"{len(v)}")
        for i, u in enumerate(v):
            walk(u, f"{path}[{i}]", level + 1)

    walk(x, where, 0)
    if exact or any(isinstance(v, Fraction) for v in flat):
        data = np.empty(len(flat), dtype=object)
        data[:] = [v if isinstance(v, Fraction) else
                   Fraction(repr(v)) if isinstance(v, float) else Fraction(v) for v in flat]
        return data.reshape(shape)
    return np.array(flat, dtype=np.float64).reshape(shape)


def one_line(exc: BaseException) -> str:
    """The message on one line; a caret display (``LTLSyntaxError``) becomes ``in "text"``."""
    lines = str(exc).split("\n")
    if len(lines) >= 3 and lines[-1].strip() == "^":
        return f'{lines[0].rstrip(":")} in "{lines[-2].strip()}"'
    return " ".join(str(exc).split())


@contextmanager
def field_errors(prefix: str) -> Iterator[None]:
    """Prefix the message of an objspec error raised inside with ``prefix``."""
    try:
        yield
    except ObjspecError as exc:
        message = one_line(exc)
        if not message.startswith(prefix):
            message = f"{prefix}: {message}"
        exc.args = (message,)
        raise


@dataclass(frozen=True)
class SpecificationFields:
    """The ``"specification"`` object of a file, read field by field with named errors.

    Attributes
    ----------
    data : Mapping
        The JSON object (keys already checked against the formalism's reader).
    where : str
        How errors name the object, e.g. ``"specification (MR)"``.
    exact : bool
        Whether numbers must be exact (``--exact``): they are returned as Fractions.
    n_actions : int
        The environment's number of actions (for functions of action distributions).
    """

    data: Mapping[str, Any]
    where: str
    exact: bool = False
    n_actions: int = 1

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def path(self, key: str) -> str:
        """The name of a field in messages: ``"<where>.<key>"``."""
        return f"{self.where}.{key}"

    def raw(self, key: str, default: Any = None) -> Any:
        """The field as parsed JSON (``default`` if it is missing)."""
        return self.data.get(key, default)

    def number(self, key: str) -> Any:
        """The field as a number (:func:`read_number`)."""
        return read_number(self.data[key], self.path(key), self.exact)

    def array(self, key: str, ndims: Sequence[int] = (1, 2, 3, 4)) -> np.ndarray:
        """The field as a rectangular array of numbers (:func:`read_array`)."""
        return read_array(self.data[key], self.path(key), self.exact, ndims=ndims)

    def text(self, key: str, what: str) -> str:
        """The field as a string; ``what`` describes it in the error (``"an LTL formula"``)."""
        value = self.data[key]
        if not isinstance(value, str):
            raise InvalidSpecificationError(
                f"{self.path(key)}: expected {what} string, got {show(value)}")
        return value

    def errors_at(self, key: str | None = None) -> Any:
        """Context manager prefixing errors raised inside with this field's name."""
        return field_errors(self.where if key is None else self.path(key))
