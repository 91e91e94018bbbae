"""Linear temporal logic (LTL): the probability that the label word satisfies a formula.

**Optimisation** (``spec.optimise(env)``, registered below as :data:`LTL_OPTIMISER`).

* ``policies="finite-memory"``: ``Pmax`` on the product with the deterministic automaton
  (:func:`objspec.ltl.optimise.certified_maximal_satisfaction`), returned as a
  :class:`~objspec.ltl.optimise.FiniteMemoryPolicy` whose memory is the automaton state,
  which the evaluator accepts. ``"certified"``: the bound is an interval-iteration upper
  bound on ``Pmax`` minus the policy's probability; ``"exact"`` with ``exact=True`` when the
  rational fixed-point test passes (products of at most 600 undecided states).
* ``policies="stationary"`` (the paper's class, arXiv 2310.11840):
  :func:`stationary_below_memory_optimum`. ``Pmax`` bounds every policy, so a stationary
  policy that reaches it is optimal (``"certified"``, or ``"exact"`` in rationals). For
  reachability, safety and Buchi/co-Buchi/parity conditions on state labels a
  deterministic stationary policy attains ``Pmax``, and one is found (by projecting the
  ``Pmax`` policy onto the initial memory state, or by enumeration). Otherwise memory can
  matter and randomisation can beat every deterministic stationary policy: coordinate
  ascent, ``"local"``, with the gap to ``Pmax`` in ``evidence``.

Example where the stationary optimum is strictly below ``Pmax`` (and every deterministic
stationary policy scores 0): state 0 chooses ``A`` (labelled ``a``) or ``B`` (labelled
``b``); from both the run returns to 0 with probability 1/2, else it is lost. For
``F a & F b``, ``Pmax = 1/2`` (first ``A``, then ``B``); playing ``A`` with probability
``p`` gives ``3p(1-p) / ((2-p)(1+p))``, at most 1/3.

>>> import numpy as np
>>> from objspec import FiniteMDP
>>> P = np.zeros((4, 2, 4)); P[0, 0, 1] = P[0, 1, 2] = 1; P[3, :, 3] = 1
>>> P[1, :, 0] = P[1, :, 3] = P[2, :, 0] = P[2, :, 3] = 0.5
>>> env = FiniteMDP(P, [1, 0, 0, 0], labels={1: ["a"], 2: ["b"]})
>>> spec = LinearTemporalLogic("F a & F b")
>>> best = spec.optimise(env, policies="finite-memory", exact=True)
>>> best.guarantee, best.value
('exact', Fraction(1, 2))
>>> stationary = spec.optimise(env, seed=0)
>>> stationary.guarantee, round(float(stationary.value), 2)
('local', 0.33)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from objspec.errors import InvalidModelError, InvalidSpecificationError
from objspec.formalisms.base import RealValuedEvaluator, Specification, Valuation
from objspec.formalisms.fitting import Comparisons, Fit, FitOptions, Fitter
from objspec.formalisms.optimisation import (
    EXHAUSTIVE_LIMIT,
    OptimiseOptions,
    Optimiser,
    Optimum,
    coordinate_ascent,
    deterministic_count,
    exhaustive_deterministic,
)
from objspec.formalisms.reading import SpecificationFields
from objspec.formalisms.registry import SpecificationReader, formalism
from objspec.ltl.automaton import DeterministicAutomaton
from objspec.ltl.optimise import (
    FiniteMemoryPolicy,
    MaximalSatisfaction,
    MinimalSatisfaction,
    certified_maximal_satisfaction,
    check_finite_memory_policy,
    exact_finite_memory_probability,
    finite_memory_policy_probability,
    maximal_satisfaction,
    minimal_satisfaction,
)
from objspec.ltl.parser import check_propositions, parse_formula
from objspec.ltl.prefix_independent import (
    StreettForm,
    prefix_independent_pmax,
    stationary_satisfaction,
    streett_form,
)
from objspec.ltl.product import (
    MAX_EXACT_STATES,
    ProductSkeleton,
    exact_satisfaction_probabilities,
    satisfaction_probabilities,
    shared_skeleton,
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
        #: The formula as a disjunction of ``F G b & G F a_1 & ...`` conjunctions when it is
        #: a Boolean combination of ``G F a`` / ``F G a`` read on state labels
        #: (:func:`objspec.ltl.prefix_independent.streett_form`), else None.
        self.streett_form = prefix_independent_form(spec, self.labelled_env)
        self._automaton: DeterministicAutomaton | None = None
        self._skeleton: ProductSkeleton | None = None
        if self.streett_form is None:
            self._automaton = spec.automaton_for(self.labelled_env)
        if exact is None:
            exact = env.is_exact and self.skeleton.n_states <= MAX_EXACT_STATES
        self.exact = exact
        self.method = ("exact rational" if exact else "product chain + sparse LU"
                       if self.streett_form is None else
                       "bottom SCCs of the chain judged by the formula + sparse solve")
        self.tie_tolerance = 1e-9

    @property
    def automaton(self) -> DeterministicAutomaton:
        """The deterministic automaton of the formula (translated on first use when the
        formula is in the automaton-free fragment)."""
        if self._automaton is None:
            self._automaton = self.spec.automaton_for(self.labelled_env)
        return self._automaton

    @property
    def skeleton(self) -> ProductSkeleton:
        """The product of the environment with :attr:`automaton` (built on first use)."""
        if self._skeleton is None:
            self._skeleton = shared_skeleton(self.labelled_env, self.automaton)
        return self._skeleton

    def valuation(self, policies: Any) -> Valuation:
        """Satisfaction probabilities of a batch of policies, float64 ``[N]``.

        The batch may also be one :class:`~objspec.ltl.optimise.FiniteMemoryPolicy` (or a
        list of them) whose memory is this specification's automaton, as
        ``spec.optimise(env, policies="finite-memory")`` returns: it is evaluated on the
        product ``S x Q``. Stationary policies of a formula in the automaton-free fragment
        (:attr:`streett_form`) are evaluated on their own chains, without the automaton
        (:func:`objspec.ltl.prefix_independent.stationary_satisfaction`).
        """
        memory = _finite_memory_batch(policies)
        if memory is not None:
            probs = []
            for pol in memory:
                check_finite_memory_policy(self.labelled_env, pol, self.automaton)
                probs.append(finite_memory_policy_probability(self.labelled_env, pol,
                                                              skeleton=self.skeleton))
            return self._valued(probs)
        if self.streett_form is not None:
            return self._valued(stationary_satisfaction(self.labelled_env, self.streett_form,
                                                        self._batch(policies)))
        vals = satisfaction_probabilities(
            self.labelled_env, self.automaton, self._batch(policies), skeleton=self.skeleton
        )
        return self._valued(vals)

    def value(self, policy: Any) -> float:
        """``J(policy)`` as a float (a stationary or a finite-memory policy)."""
        if isinstance(policy, FiniteMemoryPolicy):
            return float(self.valuation(policy).values[0])
        return super().value(policy)

    def exact_value(self, policy: Any) -> Fraction:
        """The satisfaction probability as an exact Fraction (of a stationary policy, or
        of a finite-memory policy whose memory is this specification's automaton)."""
        if isinstance(policy, FiniteMemoryPolicy):
            check_finite_memory_policy(self.labelled_env, policy, self.automaton)
            return exact_finite_memory_probability(self.labelled_env, policy,
                                                   skeleton=self.skeleton)
        (value,) = exact_satisfaction_probabilities(
            self.labelled_env, self.automaton, policy, skeleton=self.skeleton
        )
        return value

    def maximal_satisfaction(self) -> MaximalSatisfaction:
        """``Pmax`` over all (finite-memory) policies and an optimal policy; see
        :func:`objspec.ltl.optimise.maximal_satisfaction`."""
        return maximal_satisfaction(self.labelled_env, self.automaton)

    def minimal_satisfaction(self) -> MinimalSatisfaction:
        """``Pmin = 1 - Pmax(!phi)`` and a policy attaining it; see
        :func:`objspec.ltl.optimise.minimal_satisfaction` (needs the formula, not only an
        automaton)."""
        if self.spec.formula is None:
            raise InvalidSpecificationError(
                "minimal_satisfaction needs the LTL formula; this specification was given "
                "as an automaton (complement it and use maximal_satisfaction)")
        return minimal_satisfaction(self.labelled_env, self.spec.formula)


LTL = LinearTemporalLogic


def prefix_independent_form(spec: LinearTemporalLogic, env: FiniteMDP) -> StreettForm | None:
    """The formula of ``spec`` as a disjunction of ``F G b & G F a_1 & ...`` conjunctions
    (:func:`objspec.ltl.prefix_independent.streett_form`) when it is a Boolean combination
    of ``G F a`` and ``F G a`` and ``env`` (the labelled environment) has state labels,
    else None (an automaton given directly, transition labels, other formulas). Checks the
    formula's propositions against ``env``'s alphabet.

    Raises
    ------
    InvalidSpecificationError
        If the formula mentions a proposition outside the alphabet.
    """
    if spec.formula is None or env.state_labels is None:
        return None
    check_propositions(spec.formula, env.propositions, f"the LTL formula {str(spec.formula)!r}")
    return streett_form(spec.formula)


def _finite_memory_batch(policies: Any) -> list[FiniteMemoryPolicy] | None:
    """``policies`` as a list of finite-memory policies, or None if it is not one."""
    if isinstance(policies, FiniteMemoryPolicy):
        return [policies]
    if (isinstance(policies, list | tuple) and policies
            and all(isinstance(p, FiniteMemoryPolicy) for p in policies)):
        return list(policies)
    return None


# ---------------------------------------------------------------- optimisation

#: Most product entries times policies one coordinate-ascent sweep of the stationary LTL and
#: RM search may evaluate (beyond it the ascent is skipped: see
#: :func:`stationary_below_memory_optimum`).
ASCENT_BUDGET = 200_000_000

#: The relative gap below which a stationary policy is reported as certified optimal by
#: the finite-memory optimum (which bounds every policy, stationary or not).
CERTIFY_GAP = 1e-6


def memory_projections(table: np.ndarray, env_state: np.ndarray, machine_state: np.ndarray,
                       n_states: int, initial: int = 0) -> list[np.ndarray]:
    """Stationary policies read off a finite-memory policy ``table`` ``[S, Q + 1, A]``
    on the product states ``(env_state[k], machine_state[k])`` (in breadth-first order
    from ``mu0``): in each environment state, the distribution of its product state with
    the initial memory ``initial`` if it has one, else of its first product state; and the
    average over its product states. States outside the product keep memory ``initial``'s
    row (they are never reached).

    For reachability ``F p`` and safety ``G p`` with state labels, the runs stay in the
    initial memory state until they are decided, so the first projection of an optimal
    finite-memory policy is an optimal stationary policy.
    """
    first_pol = table[:, initial, :].copy()
    order = np.lexsort((np.arange(env_state.size), machine_state != initial, env_state))
    states, first = np.unique(env_state[order], return_index=True)
    first_k = order[first]
    first_pol[states] = table[states, machine_state[first_k]]
    rows = table[env_state, machine_state]
    total = np.zeros_like(first_pol)
    np.add.at(total, env_state, rows)
    counts = np.bincount(env_state, minlength=n_states)
    mean_pol = first_pol.copy()
    mean_pol[states] = total[states] / counts[states, None]
    return [first_pol, mean_pol]


def exact_policy(pi: np.ndarray) -> Policy:
    """``pi`` as a Policy with rational rows (each row's floats, converted exactly, divided
    by their exact sum), so that exact evaluation accepts it; the identity for rows that
    already sum to exactly 1."""
    out = np.empty(pi.shape, dtype=object)
    for s, row in enumerate(np.asarray(pi, dtype=np.float64)):
        fr = [Fraction(float(x)) for x in row]
        total = sum(fr)
        out[s] = [x / total for x in fr]
    return Policy(out)


def stationary_below_memory_optimum(
    spec: Specification, env: FiniteMDP, options: OptimiseOptions, *,
    candidates: list[np.ndarray], upper: float, exact_upper: Any, iterations: int,
    method: str, product_entries: int, restarts: int = 2,
) -> Optimum:
    """The stationary search of LTL and RM, given the finite-memory optimum.

    The finite-memory optimum bounds every policy: ``upper`` is a proven upper bound on it
    (``exact_upper`` the exact optimum, or None). The best of ``candidates`` (stationary
    policies read off the finite-memory optimum) and of every deterministic stationary
    policy (when there are at most
    :data:`~objspec.formalisms.optimisation.EXHAUSTIVE_LIMIT`) is taken. If it reaches the
    bound (within :data:`CERTIFY_GAP`, relative), it is optimal among all policies, so among
    the stationary ones: ``"exact"`` when its exact value equals ``exact_upper``, else
    ``"certified"`` with ``bound = upper - value``. Otherwise memory may matter, and
    stochastic stationary policies may beat every deterministic one: coordinate ascent
    (:func:`~objspec.formalisms.optimisation.coordinate_ascent`) from it and from
    ``restarts`` seeded random policies; ``"local"`` (or ``"heuristic"`` if the time limit
    stopped it), with the gap to the bound stated in ``evidence``. One sweep of the ascent
    evaluates about ``5 |S| |A|`` policies on the product (``product_entries`` entries
    each); when that exceeds :data:`ASCENT_BUDGET` entries the ascent is skipped and the
    best candidate is returned as ``"heuristic"`` (run with a smaller environment, or read
    the finite-memory optimum).
    """
    ev: Any = spec.compile(env)
    starts = [np.asarray(c, dtype=np.float64) for c in candidates]
    evidence: list[str] = [f"{len(candidates)} stationary projections of the finite-memory "
                           "optimum"]
    count = deterministic_count(env)
    ex = exhaustive_deterministic(spec, env, options) if count <= EXHAUSTIVE_LIMIT else None
    if ex is not None:
        starts.append(ex[0])
        iterations += ex[1]
        evidence.append(f"best of {ex[1]} deterministic policies"
                        + ("" if ex[2] else " (stopped by the time limit)"))
    else:
        evidence.append(f"{count} deterministic policies: too many to enumerate")
    vals = ev.valuation(np.stack(starts)).values
    i = int(np.argmax(vals))
    best, value = starts[i], float(vals[i])
    gap = upper - value
    if gap <= CERTIFY_GAP * max(1.0, abs(upper)):
        if options.exact and exact_upper is not None:
            policy = exact_policy(best)
            exact_value = spec.compile(env, exact=True).exact_value(policy)  # type: ignore[attr-defined]
            if exact_value == exact_upper:
                return Optimum(policy, exact_value, "exact", method, 0, None,
                               "; ".join(evidence) + "; its exact value equals the exact "
                               "finite-memory optimum, which bounds every policy",
                               iterations)
        return Optimum(exact_policy(best), value,
                       "certified", method, max(0.0, gap), None,
                       "; ".join(evidence) + f"; the finite-memory optimum is at most "
                       f"{upper!r}, which bounds every policy", iterations)
    moves = 5 * int(env.enabled.sum())
    if moves * max(1, product_entries) > ASCENT_BUDGET:
        evidence.append(f"coordinate ascent skipped: one sweep would evaluate {moves} "
                        f"policies on a product of {product_entries} entries")
        evidence.append(f"the finite-memory optimum (at most {upper:.6g}) bounds the "
                        f"stationary optimum: this policy is at most "
                        f"{max(0.0, gap):.3g} below it")
        return Optimum(exact_policy(best), value, "heuristic", method, None, None,
                       "; ".join(evidence), iterations)
    rng = options.rng()
    w = [rng.exponential(size=(env.n_states, env.n_actions)) * env.enabled
         for _ in range(restarts)]
    ascent = [best] + [x / x.sum(axis=1, keepdims=True) for x in w]
    found: list[tuple[np.ndarray, bool]] = []
    for s0 in ascent:
        if options.expired() and found:
            break
        pi, sweeps, converged = coordinate_ascent(spec, env, s0, options)
        iterations += sweeps
        found.append((pi, converged))
    vals = ev.valuation(np.stack([p for p, _ in found])).values
    j = int(np.argmax(vals))
    pi, converged = found[j]
    value = float(vals[j])
    test = ("no move of one state's action distribution towards an action by a step of "
            "1, 1/2, 1/4, 1/8 or 1/16 improves it") if converged else None
    evidence.append(f"coordinate ascent from {len(found)} starts")
    evidence.append(f"the finite-memory optimum (at most {upper:.6g}) bounds the stationary "
                    f"optimum: this policy is at most {max(0.0, upper - value):.3g} below it")
    return Optimum(exact_policy(pi), value,
                   "local" if converged else "heuristic", method, None, test,
                   "; ".join(evidence), iterations)


_PMAX_METHOD = ("Pmax on the product with a deterministic automaton (accepting end "
                "components, policy iteration from a proper policy), pre-fixed-point bound")
_LTL_STATIONARY_METHOD = ("Pmax bound; projected Pmax policy + exhaustive deterministic; "
                          "coordinate ascent when the bound is not reached")


_STREETT_METHOD = ("Pmax without an automaton (a Boolean combination of G F a / F G a on "
                   "state labels): maximal reachability of the good end components, policy "
                   "iteration from a proper policy, pre-fixed-point bound; a stationary "
                   "policy attains it")

#: Precision and sweep limit of the upper bound of the automaton-free ``Pmax`` (those of
#: :func:`~objspec.ltl.optimise.certified_maximal_satisfaction`).
BOUND_TOLERANCE, BOUND_SWEEPS = 1e-10, 100_000


def _optimise_prefix_independent(env: FiniteMDP, form: StreettForm, options: OptimiseOptions
                                 ) -> Optimum:
    """``Pmax`` of a Boolean combination of ``G F a`` / ``F G a`` without an automaton
    (:func:`objspec.ltl.prefix_independent.prefix_independent_pmax`). The optimal policy is
    stationary, so it answers both policy classes: it is returned as a :class:`Policy` (a
    finite-memory policy with one memory state), ``"certified"`` with the bound of a
    pre-fixed point of the Bellman operator of reaching the good end components."""
    solved = prefix_independent_pmax(env, form)
    upper, sweeps = solved.upper_bound(BOUND_TOLERANCE, BOUND_SWEEPS)
    value = solved.probability
    return Optimum(Policy(solved.policy), value, "certified", _STREETT_METHOD,
                   max(0.0, upper - value), None,
                   f"Pmax <= {upper!r} (a pre-fixed point of the Bellman operator of reaching "
                   "the good end components, whose maximal probability is Pmax of the "
                   "formula); the policy is stationary, so it is optimal among stationary "
                   "and finite-memory policies alike",
                   solved.reachability.iterations + sweeps, policies=options.policies)


def _optimise_ltl(spec: LinearTemporalLogic, env: FiniteMDP, options: OptimiseOptions
                  ) -> Optimum:
    """The registered LTL optimiser: ``Pmax`` (finite memory) or the stationary search
    (:func:`stationary_below_memory_optimum`)."""
    labelled = spec.environment_for(env)
    form = None if options.exact else prefix_independent_form(spec, labelled)
    if form is not None:
        return _optimise_prefix_independent(labelled, form, options)
    automaton = spec.automaton_for(labelled)
    cert = certified_maximal_satisfaction(labelled, automaton, exact=options.exact)
    result = cert.result
    if options.policies == "finite-memory":
        if cert.exact_probability is not None:
            return Optimum(result.policy, cert.exact_probability, "exact", _PMAX_METHOD, 0,
                           None, "rational check: the policy's probabilities from every "
                           "product state are a fixed point of the Bellman operator of "
                           "reaching the accepting end components", cert.iterations,
                           policies="finite-memory")
        return Optimum(result.policy, result.probability, "certified", _PMAX_METHOD,
                       cert.bound, None, f"Pmax <= {cert.upper_bound!r} (a pre-fixed point of "
                       "the Bellman operator on the product with end components collapsed)",
                       cert.iterations,
                       policies="finite-memory")
    sk = LinearTemporalLogicEvaluator(spec, env, exact=False).skeleton
    candidates = memory_projections(np.asarray(result.policy.action_probabilities),
                                    sk.env_state, sk.machine_state, env.n_states,
                                    automaton.initial)
    return stationary_below_memory_optimum(
        spec, env, options, candidates=candidates, upper=cert.upper_bound,
        exact_upper=cert.exact_probability, iterations=cert.iterations,
        method=_LTL_STATIONARY_METHOD, product_entries=int(sk.entry_source.size))


LTL_OPTIMISER = Optimiser(
    _optimise_ltl, _LTL_STATIONARY_METHOD, "certified",
    "finite memory: Pmax is polynomial in the MDP and doubly exponential in the formula "
    "(Courcoubetis & Yannakakis 1995; Baier & Katoen 2008, section 10.6.4); stationary "
    "policies: for reachability, safety and Buchi/co-Buchi/parity conditions on state "
    "labels a deterministic stationary policy attains Pmax (Baier & Katoen 2008, section "
    "10.6; Chatterjee, Jurdzinski & Henzinger 2004), so a certificate is found; in general "
    "the stationary optimum can need randomisation and lie strictly below Pmax, and no "
    "polynomial method is known: local search (the paper, arXiv 2310.11840, leaves "
    "optimisation out of scope)",
    finite_memory=True)


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


def fit_ltl(env: FiniteMDP, data: Comparisons, options: FitOptions) -> Fit:
    """Fit an LTL formula (docs/learning.md#ltl): the smallest one that orders the data.

    Formulas over the propositions the environment's labels use are tried by increasing
    size (syntax-tree nodes, keyword ``max_size=``, default 4), one per simplifier normal
    form, Dwyer et al.'s specification patterns first at each size
    (:mod:`objspec.ltl.enumeration`); each is evaluated on all the policies at once and the
    first whose satisfaction probabilities satisfy every comparison is returned (verified
    in rationals with ``exact=True``, and whenever the environment and the policies are
    given in rationals). Keywords ``time_limit=`` (seconds) and
    ``propositions=`` (the atoms to use). No formula up to the bound is a bounded answer,
    :class:`~objspec.errors.NoFitFoundError` with ``bound``; a proof that none exists
    (:class:`~objspec.errors.NotExpressibleError` with a certificate) comes from lemma
    L-LTL-det or from the FTR certificates (prefix probabilities, L1), see
    :mod:`objspec.formalisms._fit_ltl`.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.learning import Comparisons, fit
    >>> P = np.zeros((3, 2, 3)); P[0, 0, 1] = P[0, 1, 2] = 1; P[1, :, 1] = P[2, :, 2] = 1
    >>> env = FiniteMDP(P, [1, 0, 0], labels={1: ["goal"], 2: ["trap"]})
    >>> go, avoid = [[1, 0], [1, 0], [1, 0]], [[0, 1], [1, 0], [1, 0]]
    >>> result = fit("LTL", env, Comparisons(policies=[go, avoid], pairs=[(0, 1, ">")]),
    ...              exact=True)
    >>> result.spec, result.margin, result.details["size"]
    (LinearTemporalLogic('Fgoal'), Fraction(1, 1), 2)
    """
    from objspec.formalisms._fit_ltl import fit_temporal_logic

    return fit_temporal_logic(env, data, options, LinearTemporalLogic)


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
    gymnasium=lambda spec, env: ("automaton", spec.automaton_for(env), 1.0),
    expectation=True,
    strategy=_strategy_ltl,
    sampler=_sample_ltl,
    reader=SpecificationReader(("formula",), _read_ltl),
    optimiser=LTL_OPTIMISER,
    fitter=Fitter(fit_ltl, "the smallest formula by size (syntax-tree nodes) over the "
                  "environment's propositions, Dwyer's specification patterns first; a miss "
                  "is bounded (NoFitFoundError with the size searched) unless lemma "
                  "L-LTL-det or an FTR certificate (prefix probabilities, L1) proves it",
                  decides=False),
)(LinearTemporalLogic)
