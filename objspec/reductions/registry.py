"""The registries of constructions and separation witnesses, and the formalism list.

A :class:`Construction` turns a specification of a weaker formalism ``source`` (and, where
``needs_env``, the environment) into a specification of ``target`` that induces the same
total preorder on policies; registering it is evidence for ``target >= source``. A
separation witness (:class:`objspec.reductions.separation_catalogue.Witness`) is evidence that
``a`` cannot express some ordering of ``b``. The expressivity preorder
(:mod:`objspec.hasse`) is computed from these two registries and nothing else.

Examples
--------
>>> from objspec.reductions import constructions
>>> c = next(c for c in constructions() if (c.source, c.target) == ("FOMR", "FPR"))
>>> c.needs_env
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, overload

from objspec.errors import InvalidSpecificationError
from objspec.formalisms.registry import formalism_info, formalism_names

__all__ = [
    "FORMALISMS",
    "Construction",
    "EnvironmentRequiredError",
    "construction",
    "registered_constructions",
    "formalism_class",
    "acronym_of",
]

P = ParamSpec("P")
T = TypeVar("T")


class _Formalisms(Sequence[str]):
    """The acronyms of every registered formalism (:mod:`objspec.formalisms.registry`), read
    on every access: the paper's 17 in objspec's order, then any registered later."""

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[str, ...]: ...

    def __getitem__(self, i: int | slice) -> str | tuple[str, ...]:
        return formalism_names()[i]

    def __len__(self) -> int:
        return len(formalism_names())

    def __iter__(self) -> Iterator[str]:
        return iter(formalism_names())

    def __contains__(self, x: object) -> bool:
        return x in formalism_names()

    def __eq__(self, other: object) -> bool:
        return tuple(self) == (tuple(other) if isinstance(other, Sequence) else other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(formalism_names())


#: The acronyms of the registered formalisms, bottom-ish first (docs/theory.md#formalisms);
#: a live view of :func:`objspec.formalisms.registry.formalism_names`.
FORMALISMS: Sequence[str] = _Formalisms()


class EnvironmentRequiredError(InvalidSpecificationError):
    """A construction that depends on the environment (``needs_env``) was called without one."""


@dataclass(frozen=True)
class Construction:
    """One registered construction ``source -> target``.

    Attributes
    ----------
    name : str
        The Python function's name, e.g. ``"markov_reward_to_reward_machine"``.
    source, target : str
        Acronyms of the formalisms (``target`` can express every ``source`` ordering).
    needs_env : bool
        Whether the output depends on the environment (``tau``, ``mu0``), not only on its
        size.
    reference : str
        Where the proof is (an anchor of ``docs/theory.md``); the proof itself is the function's
        docstring.
    function : callable
        ``function(spec, env)`` when ``needs_env`` or ``needs_size``, else
        ``function(spec)``.
    needs_size : bool
        The output depends on ``(S, A)`` only (for instance one indicator reward per
        transition), or also on the labels (which objspec keeps in the environment, while
        the paper puts the labelling in LTL and RM specifications), so an environment must
        be passed to read them, but not its dynamics ``tau, mu0``.
    semantic_check : callable or None
        An extra exact check beyond "same ordering": ``check(source_spec, target_spec, env,
        seed) -> int`` (the number of checks made; raises
        :class:`~objspec.errors.CertificateError` on a failure). For instance the digit
        encoding of FTR -> INMR is decoded and compared trajectory by trajectory.
    """

    name: str
    source: str
    target: str
    needs_env: bool
    reference: str
    function: Callable[..., Any] = field(repr=False, compare=False)
    needs_size: bool = False
    semantic_check: Callable[[Any, Any, Any, int], int] | None = field(
        default=None, repr=False, compare=False)

    @property
    def source_class(self) -> type:
        """The class of the source formalism."""
        return formalism_info(self.source).cls

    @property
    def target_class(self) -> type:
        """The class of the target formalism."""
        return formalism_info(self.target).cls

    @property
    def requires_env(self) -> bool:
        """Whether an ``env`` argument must be given (for its dynamics or its size)."""
        return self.needs_env or self.needs_size

    def __call__(self, spec: Any, env: Any = None) -> Any:
        """Apply the construction; raises if ``spec`` is not a ``source`` specification."""
        got = getattr(spec, "acronym", type(spec).__name__)
        if got != self.source:
            raise InvalidSpecificationError(
                f"{self.name} converts {self.source} specifications; got a {got} specification"
            )
        if self.requires_env:
            if env is None:
                what = "dynamics" if self.needs_env else "size (S, A) and labels"
                raise EnvironmentRequiredError(
                    f"{self.name} ({self.source} -> {self.target}) depends on the environment's "
                    f"{what}; pass env=FiniteMDP(...)"
                )
            return self.function(spec, env)
        return self.function(spec)

    @property
    def doc(self) -> str:
        """The construction's docstring (its proof)."""
        return self.function.__doc__ or ""


_CONSTRUCTIONS: list[Construction] = []


def construction(
    source: type | str, target: type | str, *, needs_env: bool = False,
    needs_size: bool = False, reference: str,
    semantic_check: Callable[[Any, Any, Any, int], int] | None = None,
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorator registering a construction function ``source -> target``.

    ``source`` and ``target`` are the formalism classes (or acronyms); annotate the function
    ``(spec: Source[, env: FiniteMDP]) -> Target`` so that mypy checks it.

    Raises
    ------
    InvalidSpecificationError
        If ``source`` or ``target`` is not a registered formalism.
    """
    src, tgt = acronym_of(source), acronym_of(target)

    def register(func: Callable[P, T]) -> Callable[P, T]:
        _CONSTRUCTIONS.append(
            Construction(func.__name__, src, tgt, needs_env, reference, func, needs_size,
                         semantic_check)
        )
        return func

    return register


def unregister_construction(name: str) -> None:
    """Remove the constructions named ``name`` (for throwaway constructions in tests)."""
    _CONSTRUCTIONS[:] = [c for c in _CONSTRUCTIONS if c.name != name]


def registered_constructions() -> tuple[Construction, ...]:
    """Every registered construction, in registration order."""
    return tuple(_CONSTRUCTIONS)


def formalism_class(acronym: str) -> type:
    """The class implementing ``acronym`` (or any name of the formalism; see
    :func:`objspec.formalisms.registry.formalism_info`)."""
    return formalism_info(acronym).cls


def acronym_of(formalism: Any) -> str:
    """The acronym of a formalism given as an acronym or name, a class or a specification."""
    return formalism_info(formalism).acronym
