"""Linear temporal logic (LTL): the probability that the label word satisfies a formula."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from objspec.errors import InvalidModelError, InvalidSpecificationError
from objspec.formalisms.base import RealValuedEvaluator, Specification, Valuation
from objspec.formalisms.reading import SpecificationFields
from objspec.formalisms.registry import SpecificationReader, formalism
from objspec.ltl.automaton import DeterministicAutomaton
from objspec.ltl.optimise import MaximalSatisfaction, maximal_satisfaction
from objspec.ltl.parser import check_propositions, parse_formula
from objspec.ltl.product import (
    MAX_EXACT_STATES,
    ProductSkeleton,
    exact_satisfaction_probabilities,
    satisfaction_probabilities,
)
from objspec.ltl.syntax import Formula
from objspec.ltl.translation import MAX_STATES, TIME_LIMIT, translate
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy
    from numpy.random import Generator

__all__ = ["LinearTemporalLogic", "LTL", "Labelling"]

#: A specification's own labelling: ``{state: names}`` (state labels) or a callable
#: ``(s, a, s_next) -> names`` (transition labels), as ``FiniteMDP(labels=...)`` takes.
Labelling = Mapping[Any, Iterable[str]] | Callable[[int, int, int], Iterable[str]]


def check_labelling(
    labelling: Labelling | None, propositions: Iterable[str] | None, what: str
) -> tuple[Labelling | None, tuple[str, ...] | None]:
    """Validate the form of a specification's labelling and alphabet (contents are checked
    against the environment at ``compile`` time)."""
    if labelling is not None and not (isinstance(labelling, Mapping) or callable(labelling)):
        raise InvalidSpecificationError(
            f"the labelling of {what} must be None (the environment's), a mapping "
            f"{{state: names}} or a callable (s, a, s_next) -> names; "
            f"got {type(labelling).__name__}"
        )
    if propositions is None:
        return labelling, None
    if labelling is None:
        raise InvalidSpecificationError(
            f"{what}: propositions= declares the alphabet of the specification's own "
            "labelling; without labelling= the environment's alphabet is used "
            "(declare it with FiniteMDP(..., propositions=[...]))"
        )
    if isinstance(propositions, str):
        raise InvalidSpecificationError(
            f"{what}: propositions must be an iterable of names, not one string"
        )
    try:
        props = tuple(propositions)
    except TypeError:
        raise InvalidSpecificationError(
            f"{what}: propositions must be an iterable of names; got {propositions!r}"
        ) from None
    return labelling, props


def labelled_environment(
    env: FiniteMDP, labelling: Labelling | None, propositions: tuple[str, ...] | None,
    what: str,
) -> FiniteMDP:
    """``env`` itself, or ``env`` read through the specification's own labelling
    (:meth:`FiniteMDP.with_labels`: transitions shared, labels replaced)."""
    if labelling is None:
        return env
    try:
        return env.with_labels(labelling, propositions=propositions)
    except InvalidModelError as exc:
        raise InvalidSpecificationError(f"the labelling of {what}: {exc}") from None


class LinearTemporalLogic(Specification):
    r"""Linear temporal logic (LTL): maximise the probability of satisfying a formula.

    **Definition** (docs/theory.md#def-ltl; Subramani et al., "On the Expressivity of
    Objective-Specification Formalisms in Reinforcement Learning", ICLR 2024,
    arXiv 2310.11840). A specification is an LTL formula ``phi`` over atomic propositions
    ``AP``, read through the environment's labelling ``L``. A policy's value is

    .. math:: J(\pi) = P_{\xi \sim L_\pi}\big(L(x_0) L(x_1) L(x_2) \ldots \models \varphi\big),

    the probability that the infinite label word satisfies ``phi`` (standard semantics on
    infinite words; full LTL with ``X F G U R W M``). With state labels the word is
    ``L(s_0) L(s_1) ...`` (as in PRISM/Storm), with transition labels
    ``L(s_0, a_0, s_1) L(s_1, a_1, s_2) ...``. ``pi1`` is preferred to ``pi2`` iff
    ``J(pi1) > J(pi2)``.

    **Evaluation.** ``phi`` is simplified and translated once into a deterministic
    Emerson-Lei automaton (:func:`objspec.ltl.translation.translate`, the Esparza-Křetínský
    master-theorem construction); the automaton may also be given directly, e.g. read from
    HOA (:meth:`DeterministicAutomaton.from_hoa`), and is then evaluated the same way. For each
    policy, the product of the induced Markov chain with the automaton is analysed exactly:
    bottom SCCs from the exact supports, each classified by the acceptance condition, then
    one sparse linear solve for the probability of reaching an accepting one
    (:mod:`objspec.ltl.product`). Policies are solved together as one block-diagonal system.
    Values are exact up to float64 rounding of the linear solve; with
    ``compile(env, exact=True)`` they are exact rationals, and ties are decided exactly.

    **Labelling.** The labelling ``L`` belongs to the specification ``(AP, L, phi)``
    (docs/theory.md#labelling): ``labelling=`` gives it, in the forms ``FiniteMDP(labels=...)``
    accepts (``{state: names}`` for state labels, a callable ``(s, a, s_next) -> names`` for
    transition labels), and ``propositions=`` its alphabet ``AP`` when it is larger than what
    the labelling uses. By default (``labelling=None``) the environment's labels and alphabet
    are used. A proposition of the alphabet that holds nowhere is false on every step (so
    ``F p`` has value 0 and ``G !p`` value 1); a proposition outside the alphabet is an
    error, which catches misspelt names.

    Parameters
    ----------
    formula : str, Formula or DeterministicAutomaton
        The objective, in Spot's syntax (``"G (request -> F grant)"``), or an automaton.
    max_states, time_limit : int, float or None, keyword-only
        The translation budget, passed to :func:`objspec.ltl.translation.translate`
        (defaults 200,000 states and 60 s).
    labelling : mapping or callable, optional
        The specification's own labelling; default: the environment's.
    propositions : iterable of str, optional
        The alphabet of ``labelling`` (default: the propositions it uses). Only with
        ``labelling``.

    Raises
    ------
    LTLSyntaxError
        If the formula does not parse (with the position).
    InvalidSpecificationError
        If ``labelling`` has the wrong form; at ``compile`` time, if the formula mentions a
        proposition outside the alphabet, or the labelling does not fit the environment.
    TranslationLimitError
        At ``compile`` time, if the formula is beyond the translator's budget or limits
        (the message says how to give a HOA automaton instead).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.formalisms.temporal_logic import LTL
    >>> P = np.zeros((3, 2, 3)); P[0, 0] = [0, 0.5, 0.5]; P[0, 1] = [0, 0.9, 0.1]
    >>> P[1, :, 1] = 1; P[2, :, 2] = 1
    >>> env = FiniteMDP(P, [1, 0, 0], labels={1: ["goal"], 2: ["trap"]})
    >>> ev = LTL("F goal & G !trap").compile(env)
    >>> ev.values([Policy.deterministic([0, 0, 0], 2), Policy.deterministic([1, 0, 0], 2)])
    array([0.5, 0.9])
    >>> round(ev.maximal_satisfaction().probability, 9)
    0.9
    >>> LTL("F hit", labelling={2: ["hit"]}).compile(env).value(Policy.deterministic([1, 0, 0], 2))
    0.1
    """


    def __init__(
        self,
        formula: str | Formula | DeterministicAutomaton,
        *,
        labelling: Labelling | None = None,
        propositions: Iterable[str] | None = None,
        max_states: int = MAX_STATES,
        time_limit: float | None = TIME_LIMIT,
    ) -> None:
        self.labelling, self.label_propositions = check_labelling(
            labelling, propositions, "the LTL specification"
        )
        self.max_states = max_states
        self.time_limit = time_limit
        self.automaton: DeterministicAutomaton | None
        self.formula: Formula | None
        if isinstance(formula, DeterministicAutomaton):
            self.automaton = formula
            self.formula = None
        else:
            self.formula = parse_formula(formula)
            self.automaton = None

    @property
    def text(self) -> str:
        """The formula in Spot syntax, or a description of the automaton."""
        if self.formula is not None:
            return str(self.formula)
        assert self.automaton is not None
        return repr(self.automaton)

    def environment_for(self, env: FiniteMDP) -> FiniteMDP:
        """``env`` as this specification reads it: with its own labelling, if it has one."""
        return labelled_environment(
            env, self.labelling, self.label_propositions, f"the specification {self!r}"
        )

    def automaton_for(self, env: FiniteMDP) -> DeterministicAutomaton:
        """The deterministic automaton used in ``env`` (translated once and cached).

        ``env`` is the labelled environment (:meth:`environment_for`); its alphabet is
        checked.
        """
        if self.automaton is not None:
            missing = sorted(set(self.automaton.propositions) - set(env.propositions))
            if missing:
                raise InvalidSpecificationError(
                    f"the automaton reads the proposition(s) {', '.join(map(repr, missing))}, "
                    f"which the environment does not have (its propositions: "
                    f"{', '.join(map(repr, env.propositions)) or 'none'})"
                )
            return self.automaton
        assert self.formula is not None
        check_propositions(self.formula, env.propositions, f"the LTL formula {str(self.formula)!r}")
        return translate(self.formula, sorted(self.formula.atoms()),
                         max_states=self.max_states, time_limit=self.time_limit)

    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> LinearTemporalLogicEvaluator:
        """Evaluator in ``env``.

        ``exact=True`` decides comparisons and ranks in rational arithmetic (``exact_value``);
        ``None`` (default) does so when the environment was given in rationals and the
        product is small (at most :data:`objspec.ltl.product.MAX_EXACT_STATES` states).
        """
        return LinearTemporalLogicEvaluator(self, env, exact=exact)

    def _repr_svg_(self) -> str:
        aut = self.automaton if self.automaton is not None else translate(
            self.formula or "true", max_states=self.max_states, time_limit=self.time_limit)
        return aut._repr_svg_()

    def __repr__(self) -> str:
        what = repr(str(self.formula)) if self.formula is not None else repr(self.automaton)
        if self.labelling is not None:
            what += ", labelling=<own>"
        return f"LinearTemporalLogic({what})"


class LinearTemporalLogicEvaluator(RealValuedEvaluator[LinearTemporalLogic]):
    """Evaluator of a :class:`LinearTemporalLogic` specification in one environment."""

    def __init__(
        self, spec: LinearTemporalLogic, env: FiniteMDP, *, exact: bool | None = None
    ) -> None:
        super().__init__(spec, env)
        #: The environment read through the specification's labelling (``env`` by default).
        self.labelled_env = spec.environment_for(env)
        self.automaton = spec.automaton_for(self.labelled_env)
        self.skeleton = ProductSkeleton(self.labelled_env, self.automaton)
        if exact is None:
            exact = env.is_exact and self.skeleton.n_states <= MAX_EXACT_STATES
        self.exact = exact
        self.method = "exact rational" if exact else "product chain + sparse LU"
        self.tie_tolerance = 1e-9

    def valuation(self, policies: Any) -> Valuation:
        """Satisfaction probabilities of a batch of policies, float64 ``[N]``."""
        vals = satisfaction_probabilities(
            self.labelled_env, self.automaton, self._batch(policies), skeleton=self.skeleton
        )
        return self._valued(vals)

    def exact_value(self, policy: Policy) -> Fraction:
        """The satisfaction probability as an exact Fraction."""
        (value,) = exact_satisfaction_probabilities(
            self.labelled_env, self.automaton, policy, skeleton=self.skeleton
        )
        return value

    def maximal_satisfaction(self) -> MaximalSatisfaction:
        """``Pmax`` over all (finite-memory) policies and an optimal policy; see
        :func:`objspec.ltl.optimise.maximal_satisfaction`."""
        return maximal_satisfaction(self.labelled_env, self.automaton)


LTL = LinearTemporalLogic


# ---------------------------------------------------------------- registration


def _strategy_ltl(env: FiniteMDP, **options: Any) -> SearchStrategy[Any]:
    """:class:`~objspec.formalisms.LinearTemporalLogic` specifications over ``env``'s
    propositions.

    The hypothesis strategy this formalism registers (``options`` are passed to it); see
    :func:`objspec.environments.strategies.ltl_specs`.
    """
    from hypothesis import strategies as st

    from objspec.formalisms._strategies import ltl_formulas

    @st.composite
    def ltl_specs(draw: st.DrawFn, env: FiniteMDP, max_leaves: int = 5) -> Any:

        return LinearTemporalLogic(draw(ltl_formulas(env.propositions, max_leaves)))

    return ltl_specs(env, **options)


#: The formulas :func:`_sample_ltl` draws from (over the propositions ``p`` and ``q``).
_SAMPLE_FORMULAS = ("F p", "G p", "p U q", "X (p | q)", "G F p", "F G !q",
                    "(p & X p) | (!p & X !p)")


def _sample_ltl(env: FiniteMDP, rng: Generator) -> Any:
    return LinearTemporalLogic(_SAMPLE_FORMULAS[int(rng.integers(len(_SAMPLE_FORMULAS)))])


def _read_ltl(fields: SpecificationFields) -> LinearTemporalLogic:
    text = fields.text("formula", "an LTL formula")
    with fields.errors_at("formula"):
        return LinearTemporalLogic(text)


formalism(
    "LTL",
    name="linear temporal logic",
    level="trajectory",
    exact=True,
    needs_propositions=True,
    gymnasium=True,
    expectation=True,
    strategy=_strategy_ltl,
    sampler=_sample_ltl,
    reader=SpecificationReader(("formula",), _read_ltl),
)(LinearTemporalLogic)
