"""The budget of an LTL translation: a state limit and a deadline, and the errors past them.

:func:`objspec.ltl.translation.translate` sets both for the duration of one translation
(:func:`translation_budget`); the constructions check them while they explore states
(:func:`check_time`, :func:`state_budget`), and the attempt at a complement runs under a
lower state limit (:func:`state_limit`). Both are context variables, so concurrent
translations in different threads keep their own budgets. Past a limit a construction raises
:class:`~objspec.errors.TranslationLimitError`, whose message says how to supply a
deterministic automaton in HOA format instead (:data:`HOA_ADVICE`).

Examples
--------
>>> with translation_budget(10, None):
...     state_budget()
10
>>> state_budget() == MAX_STATES
True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from objspec.errors import TranslationLimitError
from objspec.ltl import syntax as s

__all__ = [
    "MAX_STATES",
    "TIME_LIMIT",
    "HOA_ADVICE",
    "state_budget",
    "state_limit",
    "translation_budget",
    "check_time",
    "too_many_states",
]

#: Default of :func:`~objspec.ltl.translation.translate`'s ``max_states``: the largest
#: number of automaton states (of one part, one product or one master-theorem product
#: before minimisation) built before giving up.
MAX_STATES = 200_000
#: Default of :func:`~objspec.ltl.translation.translate`'s ``time_limit``, in seconds.
TIME_LIMIT = 60.0
#: How to get an automaton the translator cannot build, quoted in its limit errors.
HOA_ADVICE = (
    "translate it with an external tool instead, e.g. Spot's `ltl2tgba -D -G -H 'FORMULA'` "
    "(a deterministic automaton in HOA format), and give the automaton to the objective: "
    "LinearTemporalLogic(DeterministicAutomaton.from_hoa(text)) "
    "(objspec.ltl.automaton, objspec.ltl.hoa)"
)
#: The state limit in force (lower while trying the complement of a negation).
_STATE_BUDGET: ContextVar[int] = ContextVar("_STATE_BUDGET", default=MAX_STATES)
#: The ``time.monotonic()`` deadline in force and the time limit it came from, or None.
_DEADLINE: ContextVar[tuple[float, float] | None] = ContextVar("_DEADLINE", default=None)
#: The progress callback in force and the ``time.monotonic()`` start of the translation.
_PROGRESS: ContextVar[tuple[Callable[[int, float], None], float] | None] = ContextVar(
    "_PROGRESS", default=None
)


def state_budget() -> int:
    """The largest number of states a construction may build now.

    Examples
    --------
    >>> state_budget() == MAX_STATES
    True
    """
    return _STATE_BUDGET.get()


@contextmanager
def state_limit(max_states: int) -> Iterator[None]:
    """Run the block under the state limit ``max_states`` (the deadline is kept).

    Examples
    --------
    >>> with state_limit(7):
    ...     state_budget()
    7
    """
    token = _STATE_BUDGET.set(max_states)
    try:
        yield
    finally:
        _STATE_BUDGET.reset(token)


@contextmanager
def translation_budget(
    max_states: int,
    time_limit: float | None,
    progress: Callable[[int, float], None] | None = None,
) -> Iterator[None]:
    """Run the block under a state limit and a deadline ``time_limit`` seconds from now
    (``None``: no deadline); ``progress(states, seconds)``, if given, is called by
    :func:`check_time` with the states built so far by the construction that checks and
    the seconds since the block started.

    Examples
    --------
    >>> with translation_budget(5, 1e-9):
    ...     time.sleep(1e-3)
    ...     check_time(s.Atom("a"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    objspec.errors.TranslationLimitError: translating a took more than 1e-09 s (time_limit); ...
    """
    deadline = None if time_limit is None else (time.monotonic() + time_limit, time_limit)
    budget_token = _STATE_BUDGET.set(max_states)
    deadline_token = _DEADLINE.set(deadline)
    progress_token = _PROGRESS.set(None if progress is None else (progress, time.monotonic()))
    try:
        yield
    finally:
        _PROGRESS.reset(progress_token)
        _DEADLINE.reset(deadline_token)
        _STATE_BUDGET.reset(budget_token)


def too_many_states(phi: s.Formula) -> TranslationLimitError:
    """The error to raise when the automaton of ``phi`` outgrows :func:`state_budget`.

    Examples
    --------
    >>> str(too_many_states(s.Atom("a")))[:42]
    'the automaton of a exceeds 200000 states ('
    """
    return TranslationLimitError(
        f"the automaton of {phi} exceeds {_STATE_BUDGET.get()} states (max_states); the "
        f"formula is too large for the built-in translator: {HOA_ADVICE}"
    )


def check_time(phi: s.Formula, states: int | None = None) -> None:
    """Raise :class:`~objspec.errors.TranslationLimitError` once the deadline in force
    (while translating ``phi``) has passed; report ``states`` (the states built so far by
    the calling construction) to the progress callback in force, if any.

    Examples
    --------
    >>> check_time(s.Atom("a"))  # no deadline outside a translation
    >>> seen = []
    >>> with translation_budget(5, None, progress=lambda n, t: seen.append(n)):
    ...     check_time(s.Atom("a"), 3)
    >>> seen
    [3]
    """
    progress = _PROGRESS.get()
    if progress is not None and states is not None:
        progress[0](states, time.monotonic() - progress[1])
    deadline = _DEADLINE.get()
    if deadline is not None and time.monotonic() > deadline[0]:
        raise TranslationLimitError(
            f"translating {phi} took more than {deadline[1]:g} s (time_limit); the formula "
            f"is too large for the built-in translator: {HOA_ADVICE}"
        )
