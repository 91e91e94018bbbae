"""The formalism registry: one :class:`FormalismInfo` per formalism, filled where it is defined.

Each formalism class is registered by the :func:`formalism` decorator in its own module:
its acronym, aliases, level, exactness, and the pieces of knowledge the rest of objspec
derives from it (the hypothesis strategy, the seeded sampler used to check constructions,
the JSON reader of ``objspec evaluate``, gymnasium-adapter support). Nothing else keeps a
per-formalism table: :mod:`objspec.environments.strategies`, :mod:`objspec.reductions`,
:mod:`objspec.hasse` and :mod:`objspec.cli` read this registry. docs/contributing.md gives
the recipe for a new formalism.

Examples
--------
>>> from objspec.formalisms import MarkovReward
>>> info = formalism_info("mr")
>>> info.cls is MarkovReward, info.level, info.exact
(True, 'trajectory', True)
>>> formalism_info("MarkovReward").acronym
'MR'
>>> formalism_names()[:4]
('MR', 'LAR', 'LTL', 'RM')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from objspec.errors import InvalidSpecificationError

if TYPE_CHECKING:
    import numpy as np
    from hypothesis.strategies import SearchStrategy

    from objspec.formalisms.fitting import Fitter
    from objspec.formalisms.optimisation import Optimiser
    from objspec.formalisms.reading import SpecificationFields
    from objspec.mdp.model import FiniteMDP

__all__ = [
    "Level",
    "LEVELS",
    "PAPER_ORDER",
    "FormalismInfo",
    "SpecificationReader",
    "formalism",
    "formalism_info",
    "formalism_names",
    "registered_formalisms",
    "unregister",
]

#: What a formalism's specification is a function (or ordering) of, from the least to the
#: most information: a trajectory (values are expectations over trajectories), the
#: trajectory lottery, the occupancy measure, or the policy itself.
Level = Literal["trajectory", "lottery", "occupancy", "policy"]
LEVELS: tuple[str, ...] = ("trajectory", "occupancy", "lottery", "policy")

#: The paper's 17 formalisms in the order objspec lists them (bottom-ish first,
#: docs/theory.md#formalisms). A formalism registered outside this list comes after them,
#: in registration order.
PAPER_ORDER: tuple[str, ...] = (
    "MR", "LAR", "LTL", "RM", "INMR", "ONMR", "IMORL", "OMORL", "GOMORL", "RRL", "FTR",
    "FTLR", "FOMR", "TLO", "OMO", "FPR", "PO",
)

Spec = TypeVar("Spec", bound=type)


@dataclass(frozen=True)
class SpecificationReader:
    """How ``objspec evaluate`` reads a specification of one formalism from JSON.

    Attributes
    ----------
    keys : tuple of str
        The keys the ``"specification"`` object may have (besides ``"formalism"``).
    build : callable
        ``build(fields) -> Specification`` with a
        :class:`~objspec.formalisms.reading.SpecificationFields` over the object; it reads
        numbers, arrays and expressions through ``fields`` (named errors, never ``eval``).
    optional : tuple of str
        Keys of ``keys`` that may be missing.
    """

    keys: tuple[str, ...]
    build: Callable[[SpecificationFields], Any] = field(repr=False)
    optional: tuple[str, ...] = ()


@dataclass(frozen=True)
class FormalismInfo:
    """Everything objspec knows about one formalism, registered with its class.

    Attributes
    ----------
    acronym : str
        The paper's abbreviation (``"MR"``); also an alias of the class in
        :mod:`objspec.formalisms`.
    cls : type
        The :class:`~objspec.formalisms.base.Specification` subclass.
    name : str
        The formalism's name in words (``"Markov rewards"``).
    aliases : tuple of str
        Other names accepted by :func:`formalism_info` (case- and punctuation-insensitive),
        besides the acronym, the class name and ``name``.
    level : {"trajectory", "lottery", "occupancy", "policy"}
        What the specification is a function or ordering of (:data:`Level`). Formalisms
        below ``"policy"`` see only the trajectory lottery (docs/theory.md#l7), so their
        evaluators evaluate canonical policies.
    real_valued : bool
        Whether specifications have a value ``J`` (else they are orderings).
    exact : bool
        Whether ``compile(env, exact=True)`` is supported (rational arithmetic).
    needs_propositions : bool
        Whether specifications read the environment's labels (LTL, RM): strategies and
        samplers only draw them for labelled environments.
    strategy : callable or None
        ``strategy(env, **options) -> SearchStrategy`` of specifications for ``env``
        (hypothesis; imported lazily, so registering costs nothing at import time).
    sampler : callable or None
        ``sampler(env, rng) -> Specification``: a seeded random specification with rational
        parameters, used to check constructions exactly (:mod:`objspec.reductions.checking`).
    acyclic_sampler : bool
        The sampler's specifications are only exact on environments where every trajectory
        stops collecting reward (inner nonlinear formalisms): constructions from or to the
        formalism are checked on acyclic environments.
    reader : SpecificationReader or None
        How ``objspec evaluate`` reads it from JSON (None: not readable from files).
    gymnasium : callable or None
        How :class:`~objspec.environments.gym_adapter.SpecEnv` pays it as a reward signal:
        ``gymnasium(spec, env) -> (mechanism, payload, gamma)`` with mechanism
        ``"reward"`` (payload: a Markov reward, ``[S]``, ``[S, A]`` or ``[S, A, S]``),
        ``"automaton"`` (payload: a deterministic automaton; reward 1 when it accepts) or
        ``"machine"`` (payload: the reward-machine specification itself); None: not
        simulable step by step.
    expectation : bool
        Whether ``J(pi) = E[G(xi)]`` for a function ``G`` of the trajectory, so that
        ``TrajectoryFunction.of(spec)`` expresses it directly (docs/theory.md#def-ftr).
    optimiser : Optimiser or None
        How ``spec.optimise(env)`` searches (:class:`~objspec.formalisms.optimisation.
        Optimiser`: the function, method, guarantee and complexity statement); None: the
        generic local search (:data:`~objspec.formalisms.optimisation.GENERIC`).
    fitter : Fitter or None
        How ``objspec.learning.fit`` fits a specification of the formalism to comparisons
        (:class:`~objspec.formalisms.fitting.Fitter`); None: not fittable.
    """

    acronym: str
    cls: type
    name: str
    aliases: tuple[str, ...]
    level: Level
    real_valued: bool
    exact: bool
    needs_propositions: bool = False
    strategy: Callable[..., SearchStrategy[Any]] | None = field(default=None, repr=False)
    sampler: Callable[[FiniteMDP, np.random.Generator], Any] | None = field(
        default=None, repr=False)
    acyclic_sampler: bool = False
    reader: SpecificationReader | None = field(default=None, repr=False)
    gymnasium: Callable[[Any, Any], tuple[str, Any, float]] | None = field(
        default=None, repr=False)
    expectation: bool = False
    optimiser: Optimiser | None = field(default=None, repr=False)
    fitter: Fitter | None = field(default=None, repr=False)

    @property
    def policy_level(self) -> bool:
        """Whether the formalism sees the policy itself (not only the trajectory lottery)."""
        return self.level == "policy"

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the formalism is known by: acronym, class name, name and aliases."""
        return tuple(dict.fromkeys((self.acronym, self.cls.__name__, self.name, *self.aliases)))


_REGISTRY: dict[str, FormalismInfo] = {}


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def formalism(
    acronym: str,
    *,
    name: str,
    level: Level,
    aliases: tuple[str, ...] = (),
    exact: bool = False,
    needs_propositions: bool = False,
    strategy: Callable[..., SearchStrategy[Any]] | None = None,
    sampler: Callable[[FiniteMDP, np.random.Generator], Any] | None = None,
    acyclic_sampler: bool = False,
    reader: SpecificationReader | None = None,
    gymnasium: Callable[[Any, Any], tuple[str, Any, float]] | None = None,
    expectation: bool = False,
    optimiser: Optimiser | None = None,
    fitter: Fitter | None = None,
) -> Callable[[Spec], Spec]:
    """Class decorator registering a formalism (see :class:`FormalismInfo` for the fields).

    Sets the class's ``acronym`` and ``policy_level`` attributes and records a
    :class:`FormalismInfo` (``real_valued`` is read from the class).

    Raises
    ------
    InvalidSpecificationError
        If the acronym or a name is already taken by another formalism, or the level is not
        one of :data:`LEVELS`.

    Examples
    --------
    >>> from objspec.formalisms.base import Specification
    >>> @formalism("DEMO", name="a demonstration", level="policy")
    ... class Demo(Specification):
    ...     real_valued = False
    ...     def compile(self, env, *, exact=None):
    ...         raise InvalidSpecificationError("demo")
    >>> formalism_info("demo").cls is Demo, Demo.acronym, Demo.policy_level
    (True, 'DEMO', True)
    >>> unregister("DEMO")
    """
    if level not in LEVELS:
        raise InvalidSpecificationError(
            f"formalism {acronym}: level {level!r} is not one of {', '.join(LEVELS)}")

    def register(cls: Spec) -> Spec:
        if acronym in _REGISTRY and _REGISTRY[acronym].cls is not cls:
            raise InvalidSpecificationError(
                f"the acronym {acronym!r} is already registered for "
                f"{_REGISTRY[acronym].cls.__name__}")
        cls.acronym = acronym  # type: ignore[attr-defined]
        cls.policy_level = level == "policy"  # type: ignore[attr-defined]
        info = FormalismInfo(
            acronym, cls, name, tuple(aliases), level,
            bool(getattr(cls, "real_valued", True)), exact, needs_propositions, strategy,
            sampler, acyclic_sampler, reader, gymnasium, expectation, optimiser, fitter)
        taken = {_key(n): i.acronym for i in _REGISTRY.values() if i.acronym != acronym
                 for n in i.names}
        clash = [n for n in info.names if _key(n) in taken]
        if clash:
            raise InvalidSpecificationError(
                f"formalism {acronym}: the name {clash[0]!r} is already used by "
                f"{taken[_key(clash[0])]}")
        _REGISTRY[acronym] = info
        return cls

    return register


def unregister(acronym: str) -> None:
    """Remove a registered formalism (for throwaway formalisms in tests and examples)."""
    _REGISTRY.pop(acronym, None)


def _ensure_loaded() -> None:
    import objspec.formalisms  # noqa: F401  (registers the paper's 17)


def registered_formalisms() -> tuple[FormalismInfo, ...]:
    """Every registered formalism: the paper's 17 in :data:`PAPER_ORDER`, then the others
    in registration order."""
    _ensure_loaded()
    rank = {a: i for i, a in enumerate(PAPER_ORDER)}
    infos = list(_REGISTRY.values())
    return tuple(sorted(infos, key=lambda i: rank.get(i.acronym, len(rank) + infos.index(i))))


def formalism_names() -> tuple[str, ...]:
    """The acronyms of :func:`registered_formalisms`, in the same order."""
    return tuple(i.acronym for i in registered_formalisms())


def formalism_info(name: Any) -> FormalismInfo:
    """The :class:`FormalismInfo` of a formalism given by acronym, class name or alias
    (case- and punctuation-insensitive), class, or specification.

    Raises
    ------
    InvalidSpecificationError
        For a name that no registered formalism has.
    """
    _ensure_loaded()
    if not isinstance(name, str):
        acr = getattr(name, "acronym", None)
        if isinstance(acr, str) and acr in _REGISTRY:
            return _REGISTRY[acr]
        raise InvalidSpecificationError(
            f"{name!r} is not a formalism (give an acronym such as 'MR', a formalism class "
            "or a specification)")
    if name in _REGISTRY:
        return _REGISTRY[name]
    key = _key(name)
    for info in _REGISTRY.values():
        if any(_key(n) == key for n in info.names):
            return info
    raise InvalidSpecificationError(
        f"unknown formalism {name!r}; expected one of {', '.join(formalism_names())}")
