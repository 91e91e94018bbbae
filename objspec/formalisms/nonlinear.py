"""Nonlinear Markov rewards: outer (ONMR) and inner (INMR).

Both apply a function ``f: R -> R`` to a discounted return; they differ in *where*
(docs/theory.md#definitions):

* ONMR, :class:`OuterNonlinearMarkovReward`: outside the expectation,
  ``J(pi) = f(E[G]) = f(<R, m_gamma^pi>)``;
* INMR, :class:`InnerNonlinearMarkovReward`: inside, ``J(pi) = E[f(G)]``
  (expected-utility, risk-sensitive RL).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from objspec.formalisms._fit_invariance import (
    LinearStatistic,
    PiecewiseLinear,
    fit_by_invariance,
    occupancy_invariance,
)
from objspec.formalisms._occupancy_optimise import ONMR_OPTIMISER
from objspec.formalisms._sampling import (
    absorbing_zero,
    random_discount,
    random_reward,
    random_scalar_function,
)
from objspec.formalisms._support import (
    StatisticEvaluator,
    as_reward,
    check_callable,
    describe_callable,
    expected_reward,
)
from objspec.formalisms.base import Specification
from objspec.formalisms.fitting import Comparisons, Fit, FitOptions, Fitter
from objspec.formalisms.optimisation import GENERIC
from objspec.formalisms.reading import SpecificationFields
from objspec.formalisms.registry import SpecificationReader, formalism
from objspec.formalisms.trajectory import Method, ReturnFunctionEvaluator, ReturnFunctionOptions
from objspec.mdp.evaluation import evaluate
from objspec.mdp.exact import exact_expected_return
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy
from objspec.mdp.rewards import check_discount

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["OuterNonlinearMarkovReward", "ONMR", "InnerNonlinearMarkovReward", "INMR"]


class OuterNonlinearMarkovReward(Specification):
    r"""Outer nonlinear Markov reward (ONMR): a function of the expected return.

    **Definition** (docs/theory.md#def-onmr; Subramani et al., ICLR 2024,
    arXiv 2310.11840). A specification is ``(R, f, gamma)`` with a reward
    ``R: S x A x S -> R``, any ``f: R -> R`` and ``gamma`` in ``[0, 1)``:

    .. math:: J(\pi) = f\big(E_{\xi \sim L_\pi}[\textstyle\sum_t \gamma^t R(x_t)]\big)
              = f(\langle R, m_\gamma^\pi \rangle).

    Example: "get the expected return close to ``c``" is ``f(x) = -(x - c)^2``.

    **Evaluation.** The expected returns of all policies come from one batched linear
    solve (:func:`objspec.mdp.evaluate`, certified error about ``1e-12`` relative); ``f``
    is then called once per policy with a float. Float ties: values within
    ``1e-9 * max(1, max |J|)``. With ``compile(env, exact=True)`` the expected return is
    computed as a :class:`~fractions.Fraction` (:mod:`objspec.mdp.exact`), ``f`` is applied
    to it and results are compared exactly: exact whenever ``f`` returns rationals on
    rationals (a float result is taken as the dyadic rational it is).

    Parameters
    ----------
    reward : array_like
        ``[S]``, ``[S, A]`` or ``[S, A, S]``.
    f : callable
        ``f(x) -> real``; must return a finite real for every achievable expected return.
    gamma : float or Fraction
        Discount in ``[0, 1)``.

    Raises
    ------
    InvalidSpecificationError
        Wrong reward shape, non-finite reward, discount outside ``[0, 1)``, ``f`` not
        callable; at evaluation, a non-finite ``f`` value or an environment of another size.

    Examples
    --------
    E3 with ``R = 1[(s0, a, s1)]`` and ``f(x) = -(x - 1/2)^2`` gives ``J = -(p - 1/2)^2``:

    >>> from fractions import Fraction as F
    >>> import numpy as np
    >>> from objspec import Policy
    >>> from objspec.environments import E3
    >>> R = np.zeros((2, 2, 2)); R[0, 0, 1] = 1
    >>> spec = OuterNonlinearMarkovReward(R, lambda x: -(x - F(1, 2)) ** 2, gamma=F(1, 2))
    >>> ev = spec.compile(E3())
    >>> ev.values([[[0.25, 0.75], [1.0, 0.0]], [[0.5, 0.5], [1.0, 0.0]]])
    array([-0.0625,  0.    ])
    >>> spec.compile(E3(), exact=True).exact_value(Policy([[F(1, 4), F(3, 4)], [1, 0]]))
    Fraction(-1, 16)
    """

    def __init__(self, reward: Any, f: Callable[[Any], Any], gamma: Any) -> None:
        self.reward = as_reward(reward)
        self.f = check_callable(f, "ONMR function f")
        check_discount(gamma)
        self.gamma = gamma

    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> OuterNonlinearEvaluator:
        """Evaluator in ``env``; ``exact=True`` evaluates the return and ties in rationals."""
        return OuterNonlinearEvaluator(self, env, exact=bool(exact))

    def __repr__(self) -> str:
        return (
            f"OuterNonlinearMarkovReward(reward shape {list(self.reward.shape)}, "
            f"f={describe_callable(self.f)}, gamma={self.gamma})"
        )


class OuterNonlinearEvaluator(StatisticEvaluator[OuterNonlinearMarkovReward]):
    """Evaluator of an :class:`OuterNonlinearMarkovReward`; the statistic is ``E[G]``."""

    def __init__(self, spec: OuterNonlinearMarkovReward, env: FiniteMDP, *, exact: bool) -> None:
        super().__init__(spec, env, spec.f, exact=exact, method="linear solve")
        self._reward = expected_reward(env, spec.reward)  # [S, A]: E[G] needs no more
        self._spec = spec

    def statistics(self, policies: np.ndarray) -> list[Any]:
        ev = evaluate(self.env, policies, self._reward, float(self._spec.gamma))
        return [float(x) for x in np.atleast_1d(ev.returns)]

    def exact_statistic(self, policy: Policy) -> Fraction:
        return Fraction(
            exact_expected_return(self.env, policy, self._spec.reward, self._spec.gamma)
        )


ONMR = OuterNonlinearMarkovReward


class InnerNonlinearMarkovReward(ReturnFunctionOptions, Specification):
    r"""Inner nonlinear Markov reward (INMR): the expected utility of the return.

    **Definition** (docs/theory.md#def-inmr; Subramani et al., ICLR 2024,
    arXiv 2310.11840). A specification is ``(R, f, gamma)`` with any ``f: R -> R``:

    .. math:: J(\pi) = E_{\xi \sim L_\pi}\big[f(G_R^\gamma(\xi))\big],
              \qquad G_R^\gamma(\xi) = \sum_t \gamma^t R(x_t).

    The nonlinearity acts on each trajectory's return (risk-sensitive / expected-utility
    RL). INMR is as expressive as IMORL and FTR (docs/theory.md#c-ftr-to-inmr).

    **Evaluation** (:class:`~objspec.formalisms.trajectory.ReturnFunctionEvaluator`):
    exact when the return takes finitely many values (every trajectory stops collecting
    non-zero reward after finitely many steps, e.g. absorbing zero-reward states, or
    ``gamma = 0``): dynamic programming over ``(state, partial return)`` atoms, ``f`` called
    once per distinct return, and in rationals with ``compile(env, exact=True)``.
    Otherwise Monte Carlo with common random numbers, ``n_samples`` trajectories per policy
    cut where ``gamma^H max|R| / (1 - gamma) <= truncation``; the evaluator's ``method``
    says which, and ``evaluator.valuation(policies)`` gives the batch's ``standard_errors``
    and ``error_bound`` (``4`` standard errors plus ``lipschitz`` times the truncation
    bound).

    Parameters
    ----------
    reward : array_like
        ``[S]``, ``[S, A]`` or ``[S, A, S]``.
    f : callable
        ``f(x) -> real`` on returns ``x``.
    gamma : float or Fraction
        Discount in ``[0, 1)``.
    method : {"auto", "exact", "monte carlo"}
    n_samples, seed, truncation, lipschitz, max_atoms, max_steps
        Monte Carlo and distribution limits (see above).

    Examples
    --------
    E3 with ``R = 1[(s0, a, s1)]``: the return is Bernoulli(p), so ``E[f(G)]`` is affine in
    ``p`` (docs/theory.md#l1) although ``f`` is not.

    >>> import numpy as np
    >>> from objspec.environments import E3
    >>> R = np.zeros((2, 2, 2)); R[0, 0, 1] = 1
    >>> ev = InnerNonlinearMarkovReward(R, lambda x: -(x - 0.5) ** 2, 0.9).compile(E3())
    >>> ev.values([[[0.0, 1.0], [1, 0]], [[0.5, 0.5], [1, 0]], [[1.0, 0.0], [1, 0]]])
    array([-0.25, -0.25, -0.25])
    >>> ev.method
    'return distribution'
    """

    def __init__(
        self,
        reward: Any,
        f: Callable[[Any], Any],
        gamma: Any,
        *,
        method: Method = "auto",
        n_samples: int = 4000,
        seed: int = 0,
        truncation: float = 1e-6,
        lipschitz: float = 1.0,
        max_atoms: int = 20_000,
        max_steps: int = 10_000,
    ) -> None:
        self.reward = as_reward(reward)
        self.f = check_callable(f, "INMR function f")
        check_discount(gamma)
        self.gamma = gamma
        self._set_options(method, n_samples, seed, truncation, lipschitz, max_atoms, max_steps)

    @property
    def rewards_stacked(self) -> np.ndarray:
        """The reward with a leading axis of length 1."""
        return self.reward[None]

    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> ReturnFunctionEvaluator:
        """Evaluator in ``env``; ``exact=True`` needs finitely many return values."""
        return ReturnFunctionEvaluator(self, env, exact=bool(exact), scalar=True)

    def __repr__(self) -> str:
        return (
            f"InnerNonlinearMarkovReward(reward shape {list(self.reward.shape)}, "
            f"f={describe_callable(self.f)}, gamma={self.gamma})"
        )


INMR = InnerNonlinearMarkovReward


# ---------------------------------------------------------------- registration


def _strategy_inmr(env: FiniteMDP, **options: Any) -> SearchStrategy[Any]:
    """:class:`~objspec.formalisms.InnerNonlinearMarkovReward` specifications whose
    evaluation is exact (``method="exact"``, return distribution) on ``env``.

    The hypothesis strategy this formalism registers (``options`` are passed to it); see
    :func:`objspec.environments.strategies.inner_nonlinear`.
    """
    from hypothesis import strategies as st

    from objspec.formalisms._strategies import finite_return_setup, scalar_functions

    @st.composite
    def inner_nonlinear(draw: st.DrawFn, env: FiniteMDP) -> Any:

        reward, gamma = draw(finite_return_setup(env, None))
        return InnerNonlinearMarkovReward(reward, draw(scalar_functions()), gamma, method="exact")

    return inner_nonlinear(env, **options)


def _sample_inmr(env: FiniteMDP, rng: np.random.Generator) -> Any:
    return InnerNonlinearMarkovReward(absorbing_zero(env, random_reward(rng, env)),
                                      random_scalar_function(rng), random_discount(rng))


def _read_inmr(fields: SpecificationFields) -> InnerNonlinearMarkovReward:
    from objspec import expressions

    f = expressions.scalar_function(fields.raw("f"), where=fields.path("f"))
    return InnerNonlinearMarkovReward(fields.array("reward"), f, fields.number("gamma"))


def fit_inmr(env: FiniteMDP, data: Comparisons, options: FitOptions) -> Fit:
    """Fit ``f`` of an INMR specification with the reward given (docs/learning.md#inmr).

    With ``reward=`` given and finitely many returns, ``J(pi) = sum_g P_pi(G = g) f(g)`` is
    linear in ``f``'s values at the returns: a max-margin LP; the fitted ``f`` is piecewise
    linear through them (:class:`objspec.formalisms._fit_returns.ReturnTable`).

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> import numpy as np
    >>> from objspec import Policy
    >>> from objspec.environments import E4
    >>> from objspec.learning import Comparisons, fit
    >>> R = np.zeros((3, 2)); R[0, 0] = R[1, 0] = 1
    >>> pols = [Policy([[p, 1 - p], [p, 1 - p], [1, 0]]) for p in (F(0), F(1, 2), F(1))]
    >>> data = Comparisons(policies=pols, pairs=[(1, 0, ">"), (1, 2, ">")])
    >>> result = fit("INMR", E4(), data, gamma=F(1, 2), reward=R, exact=True)
    >>> result.spec.compile(E4(), exact=True).compare(pols[1], pols[0])
    1
    """
    from objspec.formalisms._fit_returns import fit_return_function

    def build(reward: Any, f: Any, gamma: Any) -> InnerNonlinearMarkovReward:
        return InnerNonlinearMarkovReward(reward, f, gamma)

    return fit_return_function(env, data, options, build, acronym="INMR", keyword="reward",
                               scalar=True, validate=lambda r: as_reward(r)[None])


formalism(
    "INMR",
    optimiser=GENERIC,
    fitter=Fitter(fit_inmr, "max-margin LP over the return distribution of a given reward "
                  "(f piecewise linear through its fitted values; HiGHS); exact verification "
                  "in rationals; certificate by Motzkin multipliers, relative to the reward",
                  decides=False),
    name="inner nonlinear Markov rewards",
    level="trajectory",
    exact=True,
    acyclic_sampler=True,
    expectation=True,
    strategy=_strategy_inmr,
    sampler=_sample_inmr,
    reader=SpecificationReader(("reward", "f", "gamma"), _read_inmr),
)(InnerNonlinearMarkovReward)


def _strategy_onmr(env: FiniteMDP, **options: Any) -> SearchStrategy[Any]:
    """:class:`~objspec.formalisms.OuterNonlinearMarkovReward` specifications.

    The hypothesis strategy this formalism registers (``options`` are passed to it); see
    :func:`objspec.environments.strategies.outer_nonlinear`.
    """
    from hypothesis import strategies as st

    from objspec.formalisms._strategies import scalar_functions
    from objspec.mdp.strategies import discounts, rewards

    @st.composite
    def outer_nonlinear(draw: st.DrawFn, env: FiniteMDP) -> Any:

        return OuterNonlinearMarkovReward(
            draw(rewards(env)), draw(scalar_functions()), draw(discounts())
        )

    return outer_nonlinear(env, **options)


def _sample_onmr(env: FiniteMDP, rng: np.random.Generator) -> Any:
    return OuterNonlinearMarkovReward(random_reward(rng, env), random_scalar_function(rng),
                                      random_discount(rng))


def fit_outer_nonlinear(env: FiniteMDP, data: Comparisons, options: FitOptions) -> Fit:
    """An ONMR ``(r, f, gamma)`` that orders the data, or a certificate that none does.

    ``J(pi) = f(<r, m_gamma^pi>)`` depends on ``pi`` only through its occupancy measure, so
    policies with equal measures tie; conversely any ordering that ties them is realised:
    ``r`` is a rational reward (max ``|r| <= 1``) whose value is injective on the data's
    distinct occupancy measures and ``f`` the explicit
    :class:`~objspec.formalisms._fit_invariance.PiecewiseLinear` map from those values to
    the classes' heights (docs/learning.md#invariance). ``f`` need not be monotone: ties
    between policies with different measures are made by ``f``, not by ``r``.

    Examples
    --------
    E3: the return ``p = pi(a|s0)`` peaked at ``1/2`` (N3's ordering) is ONMR, not MR.

    >>> from fractions import Fraction as F
    >>> from objspec.environments import E3
    >>> from objspec.learning import Comparisons, fit
    >>> pols = [[[F(p), 1 - F(p)], [1, 0]] for p in (0, F(1, 2), 1)]
    >>> data = Comparisons(policies=pols, pairs=[(1, 0, ">"), (1, 2, ">"), (0, 2, "=")])
    >>> result = fit("ONMR", E3(), data, gamma=F(1, 2))
    >>> result.spec.compile(E3(), exact=True).rank(pols).tolist()
    [1, 0, 1]
    """
    gamma = options.need_gamma("ONMR")
    S, A = env.n_states, env.n_actions

    def build(ell: LinearStatistic, g: PiecewiseLinear) -> OuterNonlinearMarkovReward:
        reward = np.array(ell.weights, dtype=object).reshape(S, A)
        return OuterNonlinearMarkovReward(reward, g, gamma)

    return fit_by_invariance(
        "ONMR", env, data, options, invariance=occupancy_invariance(gamma, "ONMR"),
        build=build, real_valued=True,
        method="exact occupancy classes; a reward injective on them and a piecewise linear f",
        description=f"outer nonlinear Markov reward (gamma = {gamma})")


def _read_onmr(fields: SpecificationFields) -> OuterNonlinearMarkovReward:
    from objspec import expressions

    f = expressions.scalar_function(fields.raw("f"), where=fields.path("f"))
    return OuterNonlinearMarkovReward(fields.array("reward"), f, fields.number("gamma"))


formalism(
    "ONMR",
    optimiser=ONMR_OPTIMISER,
    name="outer nonlinear Markov rewards",
    level="occupancy",
    exact=True,
    strategy=_strategy_onmr,
    sampler=_sample_onmr,
    reader=SpecificationReader(("reward", "f", "gamma"), _read_onmr),
    fitter=Fitter(fit_outer_nonlinear, "exact occupancy-measure classes (equal measures must "
                  "tie); an injective rational reward and an explicit piecewise linear f; "
                  "certificate on the classes' one-hot features"),
)(OuterNonlinearMarkovReward)
