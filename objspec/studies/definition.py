"""What a study is: environment generators, source and target formalisms, policies, seeds.

A :class:`Study` is declared in TOML (:func:`load_study`, :func:`parse_study`) or built in
Python. It enumerates its tasks (:meth:`Study.task_ids`): one task per environment generator,
source formalism, environment index and specification index for the random generators, and
one per separation witness for the ``"witness"`` generator (docs/theory.md#separations). Every
seed is derived from the study seed and a key naming what it seeds (:func:`task_rng`), so a
task's result does not depend on which worker runs it, or when.

Examples
--------
>>> study = parse_study('''
... name = "demo"
... seed = 1
... instances = 2
... sources = ["MR", "LAR"]
... targets = ["MR"]
... [[environments]]
... generator = "random_rational_mdp"
... states = 2
... ''')
>>> study.task_ids()[:2]
('00-LAR-e00000-s000', '00-LAR-e00001-s000')
>>> len(study.task_ids()), study.fingerprint() == parse_study(study.to_toml()).fingerprint()
(4, True)
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from objspec.errors import InvalidSpecificationError, StudyError
from objspec.formalisms.registry import formalism_info, formalism_names

__all__ = [
    "GENERATORS",
    "EnvironmentGenerator",
    "PolicySampling",
    "Study",
    "load_study",
    "parse_study",
    "task_rng",
]

#: The environment generators a study may name: seeded random MDPs
#: (:func:`objspec.reductions.checking.random_rational_mdp`, exact, labelled over ``p, q``;
#: :func:`objspec.environments.generators.random_mdp`;
#: :func:`objspec.environments.generators.random_labelled_mdp`) and the separation witnesses'
#: environments with their policies and specifications (``"witness"``).
GENERATORS: tuple[str, ...] = ("random_rational_mdp", "random_mdp", "random_labelled_mdp",
                               "witness")
_LABELLED = {"random_rational_mdp", "random_labelled_mdp", "witness"}

#: The version of the row schema (:mod:`objspec.studies.tasks`); part of the fingerprint.
ROW_FORMAT = 1


def task_rng(seed: int, key: str) -> np.random.Generator:
    """The random generator of ``key`` (a task or environment id) in a study seeded ``seed``.

    Examples
    --------
    >>> a, b = task_rng(0, "00-MR-e00001-s000"), task_rng(0, "00-MR-e00001-s000")
    >>> int(a.integers(1 << 30)) == int(b.integers(1 << 30))
    True
    """
    digest = hashlib.sha256(key.encode()).digest()
    words = [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]
    return np.random.default_rng(np.random.SeedSequence([int(seed), *words]))


@dataclass(frozen=True)
class EnvironmentGenerator:
    """One family of environments.

    Attributes
    ----------
    generator : str
        One of :data:`GENERATORS`.
    states, actions : int
        Size of the random environments.
    successors : int or None
        Successors per state-action pair (``random_mdp``, ``random_labelled_mdp``; None: all).
    density : float
        Probability that a proposition holds in a state (``random_labelled_mdp``).
    propositions : tuple of str
        The labels' alphabet (``random_labelled_mdp``).
    acyclic : bool or None
        ``random_rational_mdp`` only: moves only to later states (the last absorbing). None:
        exactly for sources whose sampler needs it (inner nonlinear formalisms,
        :attr:`~objspec.formalisms.registry.FormalismInfo.acyclic_sampler`).
    witnesses : tuple of str
        ``witness`` only: the separation witnesses to run (``("all",)``: every registered one).
    """

    generator: str
    states: int = 3
    actions: int = 2
    successors: int | None = None
    density: float = 0.5
    propositions: tuple[str, ...] = ("p", "q")
    acyclic: bool | None = None
    witnesses: tuple[str, ...] = ("all",)

    def __post_init__(self) -> None:
        if self.generator not in GENERATORS:
            raise StudyError(f"study: unknown environment generator {self.generator!r}; "
                             f"expected one of {', '.join(GENERATORS)}")
        if self.states < 1 or self.actions < 1:
            raise StudyError(f"study: {self.generator} needs states >= 1 and actions >= 1, got "
                             f"{self.states}, {self.actions}")
        if self.successors is not None and not 1 <= self.successors <= self.states:
            raise StudyError(f"study: successors = {self.successors} is outside "
                             f"1..{self.states}")
        if not 0.0 <= self.density <= 1.0:
            raise StudyError(f"study: density = {self.density} is outside [0, 1]")

    @property
    def labelled(self) -> bool:
        """Whether its environments carry state labels (needed by LTL and RM sources)."""
        return self.generator in _LABELLED

    def label(self) -> str:
        """A short name for tables, e.g. ``random_rational_mdp(3x2)``."""
        if self.generator == "witness":
            return "witness"
        return f"{self.generator}({self.states}x{self.actions})"


@dataclass(frozen=True)
class PolicySampling:
    """The policies each instance compares.

    Attributes
    ----------
    random : int
        Random stochastic policies with rational entries.
    max_deterministic : int
        Every deterministic policy too, when there are at most this many (0: none).
    """

    random: int = 4
    max_deterministic: int = 8

    def __post_init__(self) -> None:
        if self.random < 0 or self.max_deterministic < 0:
            raise StudyError("study: policies.random and policies.max_deterministic must be "
                             ">= 0")


@dataclass(frozen=True)
class Study:
    """A quantitative expressivity study (docs/studies.md).

    Attributes
    ----------
    name : str
        A label.
    sources, targets : tuple of str
        Acronyms: sources are sampled with their registered samplers
        (:attr:`~objspec.formalisms.registry.FormalismInfo.sampler`); every target is fitted
        (:func:`objspec.learning.fit`) on every instance.
    environments : tuple of EnvironmentGenerator
    instances : int
        Environments per random generator (and source).
    specs_per_environment : int
        Source specifications sampled per environment.
    seed : int
        The study seed; every task's seed derives from it and the task id.
    policies : PolicySampling
    gamma : Fraction
        The discount given to targets when the source specification has none (a source's own
        discount is passed on, so that a construction that keeps the discount applies).
    exact : bool
        Fit with ``exact=True`` (verification in rationals).
    check_certificates : bool
        Re-check every impossibility certificate (``certificate.check()``).
    target_options : mapping
        Acronym -> formalism-specific keywords for ``fit`` (e.g. ``{"LTL": {"max_size": 4}}``).

    Examples
    --------
    >>> study = Study("py", sources=("MR", "RRL"), targets=("MR",), instances=3,
    ...               environments=(EnvironmentGenerator("random_mdp", states=4),))
    >>> len(study.task_ids()), study.gamma
    (6, Fraction(9, 10))
    >>> Study("bad", sources=("MR",), targets=("XYZ",), environments=())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    objspec.errors.StudyError: study: targets: unknown formalism 'XYZ'; expected one of ...
    """

    name: str
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    environments: tuple[EnvironmentGenerator, ...]
    instances: int = 10
    specs_per_environment: int = 1
    seed: int = 0
    policies: PolicySampling = field(default_factory=PolicySampling)
    gamma: Fraction = Fraction(9, 10)
    exact: bool = False
    check_certificates: bool = True
    target_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", tuple(_acronym(s, "sources") for s in self.sources))
        object.__setattr__(self, "targets", tuple(_acronym(t, "targets") for t in self.targets))
        object.__setattr__(self, "gamma", _gamma(self.gamma))
        if not self.targets:
            raise StudyError("study: targets is empty")
        if not self.environments:
            raise StudyError("study: no [[environments]]")
        if self.instances < 0 or self.specs_per_environment < 1:
            raise StudyError("study: instances must be >= 0 and specs_per_environment >= 1")
        for s in self.sources:
            info = formalism_info(s)
            if info.sampler is None:
                raise StudyError(f"study: source {s} has no registered sampler")
            unlabelled = [g.generator for g in self.environments
                          if not g.labelled and g.generator != "witness"]
            if info.needs_propositions and unlabelled:
                raise StudyError(f"study: source {s} reads labels, but {unlabelled[0]} "
                                 "generates unlabelled environments")
        options = {}
        for name, opts in dict(self.target_options).items():
            acr = _acronym(name, "target_options")
            if acr not in self.targets:
                raise StudyError(f"study: target_options.{name}: {acr} is not a target")
            options[acr] = dict(opts)
        object.__setattr__(self, "target_options", options)
        for g in self.environments:
            if g.generator == "witness":
                _witnesses(g.witnesses)

    # ------------------------------------------------------------------ tasks

    def task_ids(self) -> tuple[str, ...]:
        """Every task id, sorted (ids sort in the order the report lists them)."""
        ids: list[str] = []
        for k, g in enumerate(self.environments):
            if g.generator == "witness":
                ids.extend(f"{k:02d}-w-{w.name}" for w in _witnesses(g.witnesses))
                continue
            ids.extend(f"{k:02d}-{s}-e{e:05d}-s{j:03d}" for s in self.sources
                       for e in range(self.instances) for j in range(self.specs_per_environment))
        return tuple(sorted(ids))

    # ------------------------------------------------------------- identity

    def to_dict(self) -> dict[str, Any]:
        """The study as plain data (the TOML document's content)."""
        out = asdict(self)
        out["gamma"] = str(self.gamma)
        out["environments"] = [
            {k: (list(v) if isinstance(v, tuple) else v) for k, v in e.items() if v is not None}
            for e in out["environments"]]
        out["sources"], out["targets"] = list(self.sources), list(self.targets)
        out["target_options"] = {k: dict(v) for k, v in self.target_options.items()}
        return out

    def fingerprint(self) -> str:
        """SHA-256 of the canonical study and the row format (what a results folder is tied
        to: a folder written with another row format is refused like another study's)."""
        text = json.dumps({"study": self.to_dict(), "rows": ROW_FORMAT}, sort_keys=True,
                          default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def to_toml(self) -> str:
        """The study as a TOML document that :func:`parse_study` reads back."""
        d = self.to_dict()
        lines = [f"{k} = {_toml_value(d[k])}" for k in
                 ("name", "seed", "instances", "specs_per_environment", "sources", "targets",
                  "gamma", "exact", "check_certificates")]
        lines += ["", "[policies]", *(f"{k} = {_toml_value(v)}"
                                      for k, v in d["policies"].items())]
        for env in d["environments"]:
            lines += ["", "[[environments]]",
                      *(f"{k} = {_toml_value(v)}" for k, v in env.items())]
        for acr, opts in d["target_options"].items():
            lines += ["", f"[target_options.{acr}]",
                      *(f"{k} = {_toml_value(v)}" for k, v in opts.items())]
        return "\n".join(lines) + "\n"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def _acronym(name: Any, where: str) -> str:
    if not isinstance(name, str):
        raise StudyError(f"study: {where}: expected formalism acronyms, got {name!r}")
    try:
        return formalism_info(name).acronym
    except InvalidSpecificationError:
        raise StudyError(f"study: {where}: unknown formalism {name!r}; expected one of "
                         f"{', '.join(formalism_names())}") from None


def _gamma(value: Any) -> Fraction:
    try:
        g = Fraction(str(value)) if not isinstance(value, Fraction) else value
    except (ValueError, ZeroDivisionError):
        raise StudyError(f"study: gamma = {value!r} is not a number") from None
    if not 0 <= g < 1:
        raise StudyError(f"study: gamma = {value} is outside [0, 1)")
    return g


def _witnesses(names: Sequence[str]) -> list[Any]:
    """The registered separation witnesses named (all for ``("all",)``), in registry order."""
    from objspec.reductions import separations

    known = {w.name: w for w in separations()}
    if tuple(names) == ("all",):
        return list(known.values())
    missing = [n for n in names if n not in known]
    if missing:
        raise StudyError(f"study: unknown separation witness {missing[0]!r}; expected one of "
                         f"{', '.join(known)} or \"all\"")
    return [known[n] for n in names]


# ---------------------------------------------------------------------- reading

_STUDY_KEYS = {"name", "seed", "instances", "specs_per_environment", "sources", "targets",
               "gamma", "exact", "check_certificates", "policies", "environments",
               "target_options"}


def _typed(table: Mapping[str, Any], key: str, kind: type | tuple[type, ...],
           where: str) -> Any:
    value = table[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # TOML booleans are Python ints: a flag where a number is expected is an error too
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise StudyError(f"study: {where}{key} = {value!r}: expected {_kind_name(kind)}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


_ENV_TYPES: dict[str, type | tuple[type, ...]] = {
    "generator": str, "states": int, "actions": int, "successors": int,
    "density": (int, float), "propositions": list, "acyclic": bool, "witnesses": list}
_POLICY_TYPES: dict[str, type | tuple[type, ...]] = {"random": int, "max_deterministic": int}
_TOP_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str, "seed": int, "instances": int, "specs_per_environment": int,
    "sources": list, "targets": list, "gamma": (str, int, float), "exact": bool,
    "check_certificates": bool, "policies": dict, "environments": list,
    "target_options": dict}


def _checked_table(table: Any, types: Mapping[str, type | tuple[type, ...]],
                   where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise StudyError(f"study: {where or 'the document'} must be a table")
    unknown = sorted(set(table) - set(types))
    if unknown:
        raise StudyError(f"study: unknown key {where}{unknown[0]!r}; expected one of "
                         f"{', '.join(sorted(types))}")
    return {k: _typed(table, k, types[k], where) for k in table}


def parse_study(text: str) -> Study:
    """A :class:`Study` from a TOML document (docs/studies.md gives the keys).

    Raises
    ------
    StudyError
        Malformed TOML (with the parser's line and column), an unknown key, formalism,
        generator or witness, a value of the wrong type or range.
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StudyError(f"study: malformed TOML: {exc}") from None
    top = _checked_table(doc, _TOP_TYPES, "")
    for key in ("sources", "targets", "environments"):
        if key not in top:
            raise StudyError(f"study: missing key {key!r}")
    envs = []
    for n, e in enumerate(top.pop("environments")):
        env = _checked_table(e, _ENV_TYPES, f"environments[{n}].")
        if "generator" not in env:
            raise StudyError(f"study: environments[{n}] has no generator")
        for key in ("propositions", "witnesses"):
            if key in env:
                env[key] = tuple(str(x) for x in env[key])
        envs.append(EnvironmentGenerator(**env))
    policies = PolicySampling(**_checked_table(top.pop("policies", {}), _POLICY_TYPES,
                                               "policies."))
    options = top.pop("target_options", {})
    for acr, opts in options.items():
        if not isinstance(opts, dict):
            raise StudyError(f"study: target_options.{acr} must be a table")
    return Study(name=top.pop("name", "study"), sources=tuple(top.pop("sources")),
                 targets=tuple(top.pop("targets")), environments=tuple(envs),
                 policies=policies, target_options=options, **top)


def load_study(path: str | Path) -> Study:
    """:func:`parse_study` of a TOML file.

    Raises
    ------
    StudyError
        The file cannot be read, or :func:`parse_study` rejects it.
    """
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise StudyError(f"study: cannot read {str(path)!r}: {exc}") from None
    return parse_study(text)
