"""The structural lemmas of docs/theory.md#separations as exact linear feature maps.

Each :class:`Lemma` states a property that every specification of some formalisms has in
environments meeting a structural precondition, in the form used by finite certificates:
*on a finite set of policies meeting the precondition, every such specification's value
(or, for ordering formalisms, some real representation of its ordering on that finite set)
is* ``J(pi) = <phi(pi), c>`` *for some coefficient vector* ``c``. ``phi`` is computed exactly
(Fractions); preconditions are decided exactly on the support graph of the environment.

* ``L1`` (multi-affine at once-visited decisions): every FTR specification, hence every
  INMR, IMORL, RM, LTL, LAR and MR specification.
* ``L3`` (additive separability when actions do not move the state): every RRL
  specification, hence every MR specification.
* ``L3-partial`` (separability of inert states whose visitation no policy changes): every
  RRL specification, hence every MR specification.
* ``L-LAR`` (transient, action-inert states are invisible to limit averages): LAR.
* ``L7`` (only behaviour on reachable states matters): every trajectory-lottery-level
  formalism (TLO and everything below it).

One lemma is not linear and has its own form, :class:`ClassBoundLemma`: it bounds how many
classes a formalism's ordering can have on a set of policies.

* ``L-LTL-det`` (LTL is two-valued on deterministic runs): in a deterministic environment
  every deterministic stationary policy has LTL value 0 or 1.

Examples
--------
>>> from objspec.environments import E3
>>> from objspec import Policy
>>> once_visited_states(E3())
(0,)
>>> [str(x) for x in L1.features(E3(), Policy([[0.5, 0.5], [1.0, 0.0]]), (0,))]
['1/2', '1/2']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from objspec import structural
from objspec.structural import (
    action_inert_states,
    ancestors,
    deterministic_environment,
    deterministic_policy,
    once_visited_states,
    reachable_states,
)

__all__ = [
    "Lemma",
    "L1",
    "L3",
    "L_LAR",
    "L7",
    "L3_PARTIAL",
    "ancestors",
    "LEMMAS",
    "expressible_by",
    "ClassBoundLemma",
    "L_LTL_DET",
    "CLASS_BOUND_LEMMAS",
    "deterministic_environment",
    "deterministic_policy",
    "once_visited_states",
    "action_inert_states",
    "reachable_states",
]


def expressible_by(formalisms: Sequence[str]) -> tuple[str, ...]:
    """``formalisms`` and every formalism they can express by a chain of registered
    constructions (the construction graph's ancestors), in registry order.

    Examples
    --------
    >>> expressible_by(("RRL",))
    ('MR', 'RRL')
    """
    from objspec.formalisms.registry import formalism_names
    from objspec.reductions import construction_catalogue  # noqa: F401  (registers them)
    from objspec.reductions.registry import registered_constructions

    below: dict[str, set[str]] = {}
    for c in registered_constructions():
        below.setdefault(c.target, set()).add(c.source)
    seen = set(formalisms)
    stack = list(formalisms)
    while stack:
        for b in below.get(stack.pop(), ()):
            if b not in seen:
                seen.add(b)
                stack.append(b)
    return tuple(a for a in formalism_names() if a in seen)


@dataclass(frozen=True)
class Lemma(structural.StructuralLemma):
    """A structural lemma usable in finite certificates (a
    :class:`objspec.structural.StructuralLemma`).

    The lemma constrains the orderings of :attr:`formalisms`: those it is proved for and
    every formalism they can express (by registered constructions), since an ordering of
    such a formalism is an ordering of one it is proved for.
    """

    @property
    def formalisms(self) -> tuple[str, ...]:
        """The formalisms whose orderings the lemma constrains (see the class docstring)."""
        return expressible_by(self.proved_for)

    @classmethod
    def of(cls, lemma: structural.StructuralLemma) -> Lemma:
        """The lemma ``lemma`` with :attr:`formalisms`."""
        return cls(lemma.name, lemma.proved_for, lemma.statement, lemma._check, lemma._features)


@dataclass(frozen=True)
class ClassBoundLemma(structural.StructuralClassBound):
    """A lemma bounding the number of classes of an ordering on a set of policies
    (:class:`objspec.structural.StructuralClassBound`), with the formalisms it constrains."""

    @property
    def formalisms(self) -> tuple[str, ...]:
        """The formalisms whose orderings the lemma constrains."""
        return expressible_by(self.proved_for)


L1 = Lemma.of(structural.L1)
L3 = Lemma.of(structural.L3)
L_LAR = Lemma.of(structural.L_LAR)
L7 = Lemma.of(structural.L7)
L3_PARTIAL = Lemma.of(structural.L3_PARTIAL)
LEMMAS: dict[str, Lemma] = {lem.name: lem for lem in (L1, L3, L_LAR, L7, L3_PARTIAL)}

L_LTL_DET = ClassBoundLemma(
    structural.L_LTL_DET.name, structural.L_LTL_DET.proved_for, structural.L_LTL_DET.bound,
    structural.L_LTL_DET.statement, structural.L_LTL_DET._check)

CLASS_BOUND_LEMMAS: dict[str, ClassBoundLemma] = {L_LTL_DET.name: L_LTL_DET}
