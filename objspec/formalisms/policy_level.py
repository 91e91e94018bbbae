"""Policy-level formalisms: functions of policies (FPR) and policy orderings (PO).

These are the only formalisms that see what a policy does in states it never reaches
(docs/theory.md#n2): they act on the policy itself, not on its trajectory lottery.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from objspec.formalisms._fit_invariance import (
    Interpolant,
    LinearStatistic,
    PiecewiseLinear,
    fit_by_invariance,
    policy_invariance,
    policy_rows,
)
from objspec.formalisms._sampling import random_weights
from objspec.formalisms._support import (
    OrderEvaluator,
    check_callable,
    describe_callable,
    exact_result,
    real_result,
)
from objspec.formalisms.base import RealValuedEvaluator, Specification, Valuation
from objspec.formalisms.fitting import Comparisons, Fit, FitOptions, Fitter
from objspec.formalisms.optimisation import (
    OptimiseOptions,
    Optimiser,
    Optimum,
    generic_optimise,
)
from objspec.formalisms.registry import formalism
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy
from objspec.orders import Order, as_order

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["PolicyFunction", "FPR", "PolicyOrdering", "PO"]


class PolicyFunction(Specification):
    r"""Functions from policies to reals (FPR).

    **Definition** (docs/theory.md#def-fpr; the name is reconstructed, [R]).
    A specification is any ``f: Pi -> R``; ``J(pi) = f(pi)``. Unlike every formalism
    below it, FPR can distinguish policies that differ only at unreachable states.

    **Evaluation.** ``f`` is called once per policy with a :class:`~objspec.Policy` (use
    ``policy.probabilities`` or, for exact work, ``policy.exact_probabilities()``). Its
    results are compared as returned, with no tolerance: exact (``exact = True``); a float
    result is taken as the dyadic rational it is. ``compile(env, exact=...)`` accepts the
    flag for uniformity; it changes nothing.

    Parameters
    ----------
    f : callable
        ``f(policy) -> real``; must return a finite real.

    Examples
    --------
    N2 on E2: ``f(pi) = pi(a | s1)`` at the unreachable state ``s1``.

    >>> from objspec.environments import E2
    >>> spec = PolicyFunction(lambda pi: pi.probabilities[1, 0])
    >>> ev = spec.compile(E2())
    >>> ev.values([[[1, 0], [0.25, 0.75]], [[1, 0], [1, 0]]])
    array([0.25, 1.  ])
    >>> ev.compare([[1, 0], [0.25, 0.75]], [[1, 0], [1, 0]])
    -1
    """

    def __init__(self, f: Callable[[Policy], Any]) -> None:
        self.f = check_callable(f, "FPR function f")

    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> PolicyFunctionEvaluator:
        """Evaluator in ``env`` (always exact: ``f`` is applied to the policies)."""
        return PolicyFunctionEvaluator(self, env)

    def __repr__(self) -> str:
        return f"PolicyFunction(f={describe_callable(self.f)})"


class PolicyFunctionEvaluator(RealValuedEvaluator[PolicyFunction]):
    """Evaluator of a :class:`PolicyFunction`; ties are exact."""

    exact = True
    method = "direct"
    tie_tolerance = 0.0

    def __init__(self, spec: PolicyFunction, env: FiniteMDP) -> None:
        super().__init__(spec, env)
        self._f = spec.f

    def valuation(self, policies: Any) -> Valuation:
        items = self._policy_list(policies)
        what = f"FPR function {describe_callable(self._f)}"
        return self._valued(
            np.array([real_result(self._f, p, what=f"{what} (policy {i})")
                      for i, p in enumerate(items)])
        )

    def exact_value(self, policy: Policy) -> Fraction:
        what = f"FPR function {describe_callable(self._f)}"
        return exact_result(self._f, policy, what=what)


class PolicyOrdering(Specification):
    r"""Policy orderings (PO): any total preorder on policies, the most expressive formalism.

    **Definition** (docs/theory.md#def-po; Reviewer 3 of the paper: "a complete
    ordering over all possible policies ... is the most expressive"). A specification is a
    total preorder ``>=`` on ``Pi``; ``pi1`` is preferred to ``pi2`` iff ``pi1 >= pi2``.

    **Evaluation.** The order is applied to :class:`~objspec.Policy` objects directly:
    exact (no numerical computation by objspec).

    Parameters
    ----------
    order : objspec.orders.Order or callable
        A total preorder on policies, e.g.
        ``objspec.orders.by_key(lambda pi: (pi.probabilities[0, 0], -pi.probabilities[1, 1]))``.

    Examples
    --------
    >>> from objspec.environments import E2
    >>> from objspec.orders import by_key
    >>> spec = PolicyOrdering(by_key(lambda pi: tuple(pi.probabilities[:, 0])))
    >>> spec.compile(E2()).rank([[[1, 0], [0, 1]], [[1, 0], [1, 0]], [[0, 1], [1, 0]]])
    array([1, 0, 2])
    """

    real_valued = False

    def __init__(self, order: Order | Callable[[Any, Any], Any]) -> None:
        self.order = as_order(order)

    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> PolicyOrderingEvaluator:
        """Evaluator in ``env`` (always exact)."""
        return PolicyOrderingEvaluator(self, env)

    def __repr__(self) -> str:
        return f"PolicyOrdering(order={self.order!r})"


class PolicyOrderingEvaluator(OrderEvaluator[PolicyOrdering]):
    """Evaluator of a :class:`PolicyOrdering`."""

    method = "direct"

    def __init__(self, spec: PolicyOrdering, env: FiniteMDP) -> None:
        super().__init__(spec, env, spec.order, exact=True)

    def objects(self, policies: Any) -> list[Any]:
        """The policies themselves, as :class:`~objspec.Policy` objects."""
        return list(self._policy_list(policies))

    def exact_objects(self, policies: list[Policy]) -> list[Any]:
        return list(policies)


FPR = PolicyFunction
PO = PolicyOrdering


# ---------------------------------------------------------------- registration


def _strategy_fpr(env: FiniteMDP, **options: Any) -> SearchStrategy[Any]:
    """:class:`~objspec.formalisms.PolicyFunction` specifications ``f(pi) = <W, pi>``
    (they see unreachable states, unlike every lottery-level formalism).

    The hypothesis strategy this formalism registers (``options`` are passed to it); see
    :func:`objspec.environments.strategies.policy_functions`.
    """
    from hypothesis import strategies as st

    from objspec.mdp.strategies import rewards

    @st.composite
    def policy_functions(draw: st.DrawFn, env: FiniteMDP) -> Any:

        W = draw(rewards(env, "state_action"))
        return PolicyFunction(lambda pi: float(np.sum(W * pi.probabilities)))

    return policy_functions(env, **options)


def _sample_fpr(env: FiniteMDP, rng: np.random.Generator) -> Any:
    w = random_weights(rng, (env.n_states, env.n_actions))

    def f(pi: Policy) -> Any:
        if pi._exact is None:  # a float policy (a search): the same function in floats
            lin_f = float(np.sum(w.astype(float) * pi.probabilities))
            return lin_f * lin_f - lin_f
        p = pi.exact_probabilities()
        lin = sum((a * b for a, b in zip(w.ravel(), p.ravel(), strict=True)), Fraction(0))
        return lin * lin - lin

    return PolicyFunction(f)


def fit_policy_function(env: FiniteMDP, data: Comparisons, options: FitOptions) -> Fit:
    """An FPR ``f`` that orders the data (any consistent data fits).

    ``f(pi) = g(<W, pi>)`` with ``W`` a rational ``[S, A]`` weight injective on the data's
    distinct policies and ``g`` the explicit piecewise linear interpolant
    of their heights in the data's order (docs/learning.md#invariance). Only the same
    policy listed twice and ordered strictly has no fit (a certificate says so).

    Examples
    --------
    N2 on E2: FPR sees the unreachable state ``s1``.

    >>> from objspec.environments import E2
    >>> from objspec.learning import Comparisons, fit
    >>> pols = [[[1, 0], [1, 0]], [[1, 0], [0, 1]]]
    >>> result = fit("FPR", E2(), Comparisons(policies=pols, pairs=[(0, 1, ">")]))
    >>> result.spec.compile(E2()).rank(pols).tolist()
    [0, 1]
    """

    def build(ell: LinearStatistic, g: PiecewiseLinear) -> PolicyFunction:
        return PolicyFunction(Interpolant(policy_rows, ell, g, "pi(a|s)"))

    return fit_by_invariance(
        "FPR", env, data, options, invariance=policy_invariance("FPR"), build=build,
        real_valued=True, description="function of policies",
        method="f(pi) = g(<W, pi>) with W injective on the distinct policies and g "
               "piecewise linear")


def fit_policy_ordering(env: FiniteMDP, data: Comparisons, options: FitOptions) -> Fit:
    """A PO that orders the data: :func:`objspec.orders.by_key` of FPR's ``g(<W, pi>)``.

    Examples
    --------
    >>> from objspec.environments import E2
    >>> from objspec.learning import Comparisons, fit
    >>> pols = [[[1, 0], [1, 0]], [[1, 0], [0, 1]]]
    >>> spec = fit("PO", E2(), Comparisons(policies=pols, pairs=[(1, 0, ">")])).spec
    >>> spec  # doctest: +ELLIPSIS
    PolicyOrdering(order=by_key(g(<w, pi(a|s)>), g = PiecewiseLinear(...)))
    >>> spec.compile(E2()).rank(pols).tolist()
    [1, 0]
    """
    from objspec.orders import by_key

    def build(ell: LinearStatistic, g: PiecewiseLinear) -> PolicyOrdering:
        return PolicyOrdering(by_key(Interpolant(policy_rows, ell, g, "pi(a|s)")))

    return fit_by_invariance(
        "PO", env, data, options, invariance=policy_invariance("PO"), build=build,
        real_valued=False, description="policy ordering",
        method="ordered by the key g(<W, pi>), W injective on the distinct policies, g "
               "piecewise linear")


def _policy_search(spec: Any, env: FiniteMDP, options: OptimiseOptions) -> Optimum:
    """The registered optimiser of FPR and PO: the generic search
    (:func:`~objspec.formalisms.optimisation.generic_optimise`) on the policy itself."""
    found = generic_optimise(spec, env, options)
    return replace(found, method=f"{found.method} on a function or order of the policy")


#: FPR: an arbitrary function of the policy.
FPR_OPTIMISER = Optimiser(
    _policy_search, "exhaustive deterministic + coordinate ascent", "local",
    "no general method: J is an arbitrary function of the policy (arXiv 2310.11840, "
    "docs/theory.md#def-fpr), known only through evaluations (a black box; not even "
    "continuous in general); exhaustive over the |A|^|S| deterministic policies when "
    "small, coordinate ascent from them and seeded restarts")

#: PO: an arbitrary total preorder on policies.
PO_OPTIMISER = Optimiser(
    _policy_search, "exhaustive deterministic + coordinate ascent", "local",
    "no general method: an arbitrary total preorder on policies (arXiv 2310.11840, "
    "docs/theory.md#def-po), known only through comparisons, need not have a maximum "
    "over stationary policies; exhaustive over deterministic policies when small, "
    "coordinate ascent on ranks")


formalism(
    "FPR",
    name="functions from policies to reals",
    level="policy",
    exact=True,
    strategy=_strategy_fpr,
    sampler=_sample_fpr,
    optimiser=FPR_OPTIMISER,
    fitter=Fitter(fit_policy_function, "an explicit interpolant g(<W, pi>) of the data's "
                  "order (any consistent data fits)"),
)(PolicyFunction)


def _strategy_po(env: FiniteMDP, **options: Any) -> SearchStrategy[Any]:
    """:class:`~objspec.formalisms.PolicyOrdering` specifications: lexicographic on the
    action probabilities of the states, in a random state order.

    The hypothesis strategy this formalism registers (``options`` are passed to it); see
    :func:`objspec.environments.strategies.policy_orderings`.
    """
    from hypothesis import strategies as st

    @st.composite
    def policy_orderings(draw: st.DrawFn, env: FiniteMDP) -> Any:
        from objspec import orders

        order = draw(st.permutations(list(range(env.n_states))))
        return PolicyOrdering(
            orders.pullback(
                orders.lexicographic(),
                lambda pi: [float(x) for s in order for x in pi.probabilities[s]],
            )
        )

    return policy_orderings(env, **options)


formalism(
    "PO",
    name="policy orderings",
    level="policy",
    exact=True,
    strategy=_strategy_po,
    optimiser=PO_OPTIMISER,
    fitter=Fitter(fit_policy_ordering, "an order by an explicit key g(<W, pi>) extending the "
                  "data's order (any consistent data fits)"),
)(PolicyOrdering)
