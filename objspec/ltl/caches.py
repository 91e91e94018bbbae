"""The memo tables of the LTL engine, and :func:`clear_caches`, which empties all of them.

The translator memoises a lot, process-wide: the parsed formula of each text, the DNF and
the ``af`` successors of each formula, syntactic implication between formulas, the
interned DNF atoms, and the automaton of each translated formula. Every module that keeps
such a table registers how to empty it (:func:`register_cache`), so that one call frees
them all, e.g. between the phases of a long-running process or in a benchmark that times
translations from a cold start. Results do not depend on what is cached: the automaton of a
formula is the same before and after a clear.

Examples
--------
>>> from objspec.ltl.translation import translate
>>> a = translate("G (a -> F b)")
>>> clear_caches()
>>> b = translate("G (a -> F b)")
>>> a is b, a.n_states == b.n_states
(False, True)
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["clear_caches", "register_cache"]

_CLEARERS: list[Callable[[], None]] = []
_LOCK = threading.Lock()


def register_cache(clear: Callable[[], None]) -> Callable[[], None]:
    """Have :func:`clear_caches` call ``clear`` (returned unchanged); for the engine's own
    modules, e.g. ``register_cache(memoised_function.cache_clear)``.

    Examples
    --------
    >>> from functools import lru_cache
    >>> @lru_cache
    ... def square(x: int) -> int:
    ...     return x * x
    >>> _ = register_cache(square.cache_clear)
    >>> square(3), square.cache_info().currsize
    (9, 1)
    >>> clear_caches(); square.cache_info().currsize
    0
    """
    with _LOCK:
        _CLEARERS.append(clear)
    return clear


def clear_caches() -> None:
    """Empty every memo table of the LTL engine.

    This frees the memory of everything cached so far: parsed formulas, DNFs, ``af``
    successors, implication tests, interned atoms and translated automata (see
    :mod:`objspec.ltl.after` and :func:`objspec.ltl.translation.translate`). Later calls
    recompute what they need and give the same results. Do not call it while another
    thread is translating a formula (that translation's interned atoms would be dropped
    under it).

    Examples
    --------
    >>> from objspec.ltl.translation import translate
    >>> _ = translate("F a")
    >>> clear_caches()
    """
    with _LOCK:
        clearers = list(_CLEARERS)
    for clear in clearers:
        clear()
