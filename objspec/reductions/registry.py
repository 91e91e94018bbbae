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

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from objspec.errors import InvalidSpecificationError

__all__ = [
    "FORMALISMS",
    "Construction",
    "EnvironmentRequiredError",
    "construction",
    "registered_constructions",
    "formalism_class",
    "acronym_of",
]

#: The paper's 17 formalisms, bottom-ish first (docs/theory.md#formalisms).
FORMALISMS: tuple[str, ...] = (
    "MR", "LAR", "LTL", "RM", "INMR", "ONMR", "IMORL", "OMORL", "GOMORL", "RRL", "FTR",
    "FTLR", "FOMR", "TLO", "OMO", "FPR", "PO",
)


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
    """

    name: str
    source: str
    target: str
    needs_env: bool
    reference: str
    function: Callable[..., Any] = field(repr=False, compare=False)
    needs_size: bool = False

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
    source: str, target: str, *, needs_env: bool = False, needs_size: bool = False,
    reference: str,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering a construction function ``source -> target``."""
    for acr in (source, target):
        if acr not in FORMALISMS:
            raise InvalidSpecificationError(f"unknown formalism {acr!r}")

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        _CONSTRUCTIONS.append(
            Construction(func.__name__, source, target, needs_env, reference, func, needs_size)
        )
        return func

    return register


def registered_constructions() -> tuple[Construction, ...]:
    """Every registered construction, in registration order."""
    return tuple(_CONSTRUCTIONS)


def formalism_class(acronym: str) -> type:
    """The class implementing ``acronym`` (looked up in :mod:`objspec.formalisms`)."""
    import objspec.formalisms as formalisms

    if acronym not in FORMALISMS:
        raise InvalidSpecificationError(
            f"unknown formalism {acronym!r}; expected one of {', '.join(FORMALISMS)}"
        )
    cls = getattr(formalisms, acronym, None)
    if cls is None:
        raise InvalidSpecificationError(
            f"formalism {acronym} is not implemented in objspec.formalisms"
        )
    return cls


def acronym_of(formalism: Any) -> str:
    """The acronym of a formalism given as an acronym, a class or a specification."""
    if isinstance(formalism, str):
        key = formalism.upper()
        if key not in FORMALISMS:
            raise InvalidSpecificationError(
                f"unknown formalism {formalism!r}; expected one of {', '.join(FORMALISMS)}"
            )
        return key
    acr = getattr(formalism, "acronym", None)
    if isinstance(acr, str) and acr in FORMALISMS:
        return acr
    raise InvalidSpecificationError(
        f"{formalism!r} is not a formalism (give an acronym such as 'MR' or a formalism class)"
    )
