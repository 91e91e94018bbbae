"""Exceptions raised by objspec.

Every error objspec raises on bad input is an :class:`ObjspecError`, itself a
:class:`ValueError`, so ``except ValueError`` keeps working for callers that do not
know objspec. Messages name what was wrong and where (state, action, value).

Examples
--------
>>> from objspec.errors import InvalidModelError, ObjspecError
>>> issubclass(InvalidModelError, ObjspecError) and issubclass(ObjspecError, ValueError)
True
"""

from __future__ import annotations

__all__ = [
    "ObjspecError",
    "InvalidModelError",
    "InvalidPolicyError",
    "ResetNeededError",
    "InvalidSpecificationError",
    "LTLSyntaxError",
    "TranslationLimitError",
    "AlphabetTooLargeError",
    "NotExpressibleError",
    "InconsistentComparisonsError",
    "NoFitFoundError",
    "CertificateError",
    "SolverError",
    "NotTractableError",
    "StudyError",
    "ForeignResultsError",
    "SchedulerUnreachableError",
]


class ObjspecError(ValueError):
    """Base class of every error objspec raises on bad input or a failed check."""


class InvalidModelError(ObjspecError):
    """A finite MDP (transitions, initial distribution, labels, names) is malformed."""


class InvalidPolicyError(ObjspecError):
    """A policy has the wrong shape or its rows are not probability distributions."""


class ResetNeededError(ObjspecError):
    """An environment was stepped before its first ``reset()`` (gymnasium's contract)."""


class InvalidSpecificationError(ObjspecError):
    """An objective specification is malformed or does not fit the environment.

    Raised for wrong reward shapes, discounts outside their range, non-finite values
    returned by user functions, orders that are detectably not total preorders, and
    specifications used with an environment of another size.
    """


class LTLSyntaxError(InvalidSpecificationError):
    """An LTL formula or propositional guard could not be parsed.

    Attributes
    ----------
    text : str
        The text that was parsed.
    position : int
        Zero-based character offset of the error in ``text``.
    """

    def __init__(self, message: str, text: str = "", position: int = 0) -> None:
        self.text = text
        self.position = position
        if text:
            caret = " " * position + "^"
            message = f"{message} at position {position}:\n  {text}\n  {caret}"
        super().__init__(message)


class TranslationLimitError(InvalidSpecificationError):
    """An LTL formula is beyond the built-in translator's limits (size, states or time).

    The message names the limit that was hit and how to supply the automaton instead (a
    deterministic automaton in HOA format, e.g. from Spot's ``ltl2tgba``).
    """


class AlphabetTooLargeError(TranslationLimitError):
    """An automaton's alphabet is too large for what was asked of it: a dense table over all
    ``2**k`` letters of an automaton kept factored over more than 16 propositions (its
    ``successors``/``marks``, HOA export, drawings), more than 62 propositions in all (letters
    are int64 bitmasks), or a block of propositions that cannot be split and has more than 16.
    """


class NotExpressibleError(ObjspecError):
    """Not expressible: the target formalism cannot express the source formalism (a proved
    separation), or no specification of a formalism explains some comparisons
    (``objspec.learning.fit``). ``certificate`` is the proof when there is one to check
    (:class:`objspec.learning.ImpossibilityCertificate`; ``certificate.check()``)."""

    def __init__(self, message: str, certificate: object = None) -> None:
        super().__init__(message)
        self.certificate = certificate


class InconsistentComparisonsError(NotExpressibleError):
    """Comparisons that no total preorder satisfies: ``cycle`` is a cycle of comparisons
    (each an ``objspec.learning.Comparison``) with a strict one, so no formalism explains
    them."""

    def __init__(self, message: str, cycle: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.cycle = cycle


class NoFitFoundError(ObjspecError):
    """A bounded search for a specification found none (e.g. no LTL formula up to a size):
    not a proof that none exists. ``bound`` says how far the search went."""

    def __init__(self, message: str, bound: object = None) -> None:
        super().__init__(message)
        self.bound = bound


class CertificateError(ObjspecError):
    """A separation certificate or construction check failed when re-checked."""


class NotTractableError(ObjspecError):
    """An exact answer was asked for on an instance too large for the method that gives it
    (the message says how large, e.g. the number of deterministic policies to enumerate,
    and what to use instead)."""


class SolverError(ObjspecError):
    """A numerical solve failed on a valid input: no method reached a finite, certified
    result (every iterative method broke down and the direct fallback failed too), or a
    requested tolerance (``tol``/``rtol``) cannot be certified in float64 arithmetic.

    It is not an :class:`InvalidSpecificationError`: the model and the specification are
    fine, the numerics are not.
    """


class StudyError(ObjspecError):
    """A study (``objspec.studies``) is malformed: TOML that does not parse, an unknown key,
    formalism or environment generator, a value of the wrong type or range."""


class ForeignResultsError(StudyError):
    """A results folder holds the results of another study (its stored fingerprint differs),
    so resuming into it would mix two studies; nothing is written."""


class SchedulerUnreachableError(StudyError):
    """The Dask scheduler given by address did not answer within the timeout; nothing was
    written."""
