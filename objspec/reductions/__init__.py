"""Executable expressivity: constructions, conversion chains and separation witnesses.

* :func:`constructions` lists every registered construction (source, target, whether it
  needs the environment, reference; the proof is the function's docstring);
* :func:`convert` turns a specification into one of another formalism that induces the same
  ordering, following the shortest chain of constructions;
* :func:`separations` lists every separation witness; ``witness.check()`` re-checks it;
* :func:`five_way_witnesses` gives the abstract's five-way claim as one witness per
  formalism (RRL, ONMR, RM, LTL, LAR), each checked against the other four
  (:mod:`objspec.reductions.fiveway`).

Examples
--------
>>> import numpy as np
>>> from objspec.formalisms import MarkovReward
>>> from objspec.reductions import convert
>>> convert(MarkovReward(np.ones((1, 2)), 0.5), "MR").acronym
'MR'
"""

from __future__ import annotations

from collections import deque
from typing import Any

from objspec.errors import (
    InvalidModelError,
    InvalidSpecificationError,
    NotExpressibleError,
    ObjspecError,
)
from objspec.reductions import construction_catalogue as _construction_catalogue  # noqa: F401
from objspec.reductions.fiveway import FiveWayWitness, five_way_witnesses
from objspec.reductions.registry import (
    FORMALISMS,
    Construction,
    EnvironmentRequiredError,
    acronym_of,
    registered_constructions,
)
from objspec.reductions.separation_catalogue import (
    AnalyticWitness,
    FiniteWitness,
    Witness,
    WitnessReport,
    registered_separations,
)
from objspec.reductions.verdicts import decide as _decide

__all__ = [
    "FORMALISMS",
    "Construction",
    "EnvironmentRequiredError",
    "Witness",
    "FiniteWitness",
    "AnalyticWitness",
    "WitnessReport",
    "constructions",
    "separations",
    "conversion_chain",
    "convert",
    "FiveWayWitness",
    "five_way_witnesses",
    "five_way_lines",
]


def constructions() -> tuple[Construction, ...]:
    """Every registered construction: ``source``, ``target``, ``needs_env``, ``reference``.

    Examples
    --------
    >>> from objspec.reductions import constructions
    >>> len({(c.source, c.target) for c in constructions()}) == len(constructions())
    True
    """
    return registered_constructions()


def separations() -> tuple[Witness, ...]:
    """Every separation witness: ``witness.a`` cannot express ``witness.spec`` (of ``witness.b``).

    Examples
    --------
    >>> from objspec.reductions import separations
    >>> sorted({w.b for w in separations()})[:3]
    ['FPR', 'GOMORL', 'LAR']
    """
    return registered_separations()


def five_way_lines() -> tuple[list[str], int]:
    """Check the five-way witnesses (:mod:`objspec.reductions.fiveway`) and report them
    as lines for ``objspec verify``; returns ``(lines, number of failed checks)``.

    A part that is not established by a checked witness is reported as such (it is not a
    failed check: nothing was claimed). A checked part that fails is a failed check.

    Examples
    --------
    ``objspec verify`` prints the lines; checking all five takes a few seconds.

    >>> lines, failed = five_way_lines()  # doctest: +SKIP
    >>> failed, lines[-3]  # doctest: +SKIP
    (0, '  5 of 5 single witnesses checked against all four others')
    """
    lines: list[str] = []
    failed, complete = 0, 0
    missing: list[str] = []
    for w in five_way_witnesses():
        try:
            rep = w.check()
        except ObjspecError as exc:
            failed += 1
            lines.append(f"  FAIL {w.formalism:<5} {w.name:<4} {exc}")
            continue
        complete += rep.complete
        parts = ", ".join(f"{p.against} {p.status}" for p in w.parts)
        lines.append(f"  {'ok  ' if rep.complete else 'part'} {w.formalism:<5} {w.name:<4} "
                     f"({w.description}): {parts}")
        missing += [f"{p.against} cannot express {w.name} ({w.formalism}): {p.status}, "
                    f"{p.note}" for p in w.parts
                    if p.status not in ("certificate", "refuter", "analytic")]
    lines.append(f"  {complete} of 5 single witnesses checked against all four others"
                 + (f"; {failed} FAILED" if failed else ""))
    lines += [f"  not established: {m}" for m in missing]
    return lines, failed


def conversion_chain(source: Any, target: Any, *, env_free: bool = False) -> list[Construction]:
    """The shortest chain of constructions from ``source`` to ``target`` (acronyms or classes).

    With ``env_free=True`` only constructions that do not need the environment are used.
    Raises :class:`NotExpressibleError` if there is no chain.

    Examples
    --------
    >>> [c.name for c in conversion_chain("MR", "ONMR")]
    ['markov_reward_to_outer_nonlinear']
    """
    src, dst = acronym_of(source), acronym_of(target)
    if src == dst:
        return []
    prev: dict[str, Construction] = {}
    queue = deque([src])
    seen = {src}
    while queue:
        node = queue.popleft()
        for c in registered_constructions():
            if c.source != node or c.target in seen or (env_free and c.requires_env):
                continue
            prev[c.target] = c
            seen.add(c.target)
            if c.target == dst:
                chain = [c]
                while chain[0].source != src:
                    chain.insert(0, prev[chain[0].source])
                return chain
            queue.append(c.target)
    raise NotExpressibleError(_why_not(src, dst, env_free))


def _why_not(src: str, dst: str, env_free: bool) -> str:
    verdict = _decide(dst, src)
    if verdict.holds is False:
        return f"{dst} cannot express {src}: {verdict.evidence}"
    if verdict.holds and env_free:
        return (f"every chain of constructions from {src} to {dst} needs the environment; "
                "pass env=FiniteMDP(...)")
    return f"no chain of constructions from {src} to {dst} is registered ({verdict.evidence})"


def convert(spec: Any, to: Any, env: Any = None) -> Any:
    """A specification of formalism ``to`` inducing the same ordering as ``spec``.

    Follows the shortest chain of registered constructions (only environment-free ones when
    ``env`` is None, if such a chain exists). Exact specifications (rational data and
    discount) on exact environments convert to specifications evaluated exactly; float ones
    are converted and evaluated in floats.

    Parameters
    ----------
    spec : Specification
        The specification to convert.
    to : str or type
        Target formalism: an acronym such as ``"FOMR"`` or a formalism class.
    env : FiniteMDP, optional
        Needed when every chain uses a construction that depends on the environment (its
        dynamics, or only its size and labels). It is checked up front: ``spec`` must fit it.

    Raises
    ------
    NotExpressibleError
        If ``to`` cannot express ``spec``'s formalism (a separation witness, named in the
        message) or no chain is registered.
    EnvironmentRequiredError
        If every chain needs the environment and ``env`` is None.
    InvalidModelError
        If ``env`` is not a :class:`~objspec.FiniteMDP`.
    InvalidSpecificationError
        If ``spec`` does not fit ``env`` (the message names both sizes), or objspec cannot
        build the target specification although it exists (INMR and IMORL from LTL, RM,
        LAR and multi-objective IMORL: the message says why and what to use instead).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.formalisms import MarkovReward
    >>> from objspec.reductions import convert
    >>> convert(MarkovReward(np.ones((1, 2)), 0.5), "OMO").acronym
    'OMO'
    >>> convert(MarkovReward(np.ones((1, 2)), 0.5), "IMORL").acronym
    'IMORL'
    """
    src, dst = acronym_of(spec), acronym_of(to)
    if getattr(spec, "acronym", None) != src:
        raise InvalidSpecificationError(
            f"convert: {spec!r} is not a specification (give an instance of a formalism class)")
    if env is not None:
        _check_fits(spec, env, src, dst)
    if env is None:
        try:
            chain = conversion_chain(src, dst, env_free=True)
        except NotExpressibleError:
            chain = conversion_chain(src, dst)
            needs = next(c for c in chain if c.requires_env)
            what = "dynamics" if needs.needs_env else "size (S, A) and labels, not its dynamics"
            path = " -> ".join([src, *(c.target for c in chain)])
            raise EnvironmentRequiredError(
                f"converting {src} to {dst} needs the environment's {what} (chain {path}, "
                f"step {needs.source} -> {needs.target}: {needs.name}); pass env=FiniteMDP(...)"
            ) from None
    else:
        chain = conversion_chain(src, dst)
    _check_buildable(spec, src, dst, chain)
    out = spec
    for c in chain:
        out = c(out, env)
    return out


def _check_fits(spec: Any, env: Any, src: str, dst: str) -> None:
    """Raise up front if ``env`` is not an environment ``spec`` can be evaluated in."""
    from objspec.mdp.model import FiniteMDP

    if not isinstance(env, FiniteMDP):
        raise InvalidModelError(
            f"convert({src} -> {dst}): env must be a FiniteMDP; got {type(env).__name__}")
    try:
        spec.compile(env)
    except InvalidSpecificationError as exc:
        raise type(exc)(
            f"convert({src} -> {dst}): the {src} specification does not fit the environment "
            f"({env.n_states} states, {env.n_actions} actions): {exc}"
        ) from None


def _check_buildable(spec: Any, src: str, dst: str, chain: list[Construction]) -> None:
    """Refuse, naming the user's formalisms, chains that objspec can prove but not build."""
    from objspec.reductions.construction_catalogue import not_digit_encodable

    if not any(c.name == "trajectory_function_to_inner_nonlinear" for c in chain):
        return
    inner = spec if src != "FTR" else getattr(spec, "inner", None)
    acr = getattr(inner, "acronym", None)
    if acr in ("LTL", "RM", "LAR") or (
        acr == "IMORL" and len(getattr(inner, "rewards", ())) > 1
    ):
        raise InvalidSpecificationError(
            f"convert({src} -> {dst}): {not_digit_encodable(acr, dst)}")
