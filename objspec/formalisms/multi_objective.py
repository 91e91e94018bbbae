"""Multi-objective RL: outer (OMORL), generalised outer (GOMORL) and inner (IMORL).

A multi-objective specification has ``k`` rewards ``R_1, ..., R_k`` stacked on a leading
axis and one discount (docs/theory.md#definitions). Write
``J_i(pi) = <R_i, m_gamma^pi>`` and ``G_i(xi) = sum_t gamma^t R_i(x_t)``.

* OMORL, :class:`OuterMORL`: ``J(pi) = f(J_1(pi), ..., J_k(pi))``;
* GOMORL, :class:`GeneralisedOuterMORL`: ``pi1 >= pi2`` iff ``Jvec(pi1) >=_k Jvec(pi2)``
  for a total preorder ``>=_k`` on ``R^k`` (:mod:`objspec.orders`);
* IMORL, :class:`InnerMORL`: ``J(pi) = E[f(G_1(xi), ..., G_k(xi))]``.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from objspec.formalisms._occupancy_optimise import (
    OMORL_OPTIMISER,
    ORDERING_OPTIMISER,
    check_flag,
)
from objspec.formalisms._sampling import (
    absorbing_zero,
    random_discount,
    random_reward,
    random_vector_function,
)
from objspec.formalisms._support import (
    OrderEvaluator,
    StatisticEvaluator,
    as_rewards,
    check_callable,
    describe_callable,
    expected_return_vectors,
    expected_reward_batch,
)
from objspec.formalisms.base import Specification
from objspec.formalisms.fitting import Comparisons, Fit, FitOptions, Fitter
from objspec.formalisms.optimisation import GENERIC
from objspec.formalisms.reading import SpecificationFields
from objspec.formalisms.registry import SpecificationReader, formalism
from objspec.formalisms.trajectory import Method, ReturnFunctionEvaluator, ReturnFunctionOptions
from objspec.mdp.exact import exact_expected_return
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy
from objspec.mdp.rewards import check_discount
from objspec.orders import Order, as_order

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["OuterMORL", "OMORL", "GeneralisedOuterMORL", "GOMORL", "InnerMORL", "IMORL"]


def _exact_return_vector(env: FiniteMDP, policy: Policy, rewards: np.ndarray, gamma: Any
                         ) -> np.ndarray:
    out = np.empty(rewards.shape[0], dtype=object)
    for i in range(rewards.shape[0]):
        out[i] = Fraction(exact_expected_return(env, policy, rewards[i], gamma))
    return out


class OuterMORL(Specification):
    r"""Outer multi-objective RL (OMORL): a function of the vector of expected returns.

    **Definition** (docs/theory.md#def-omorl; Subramani et al., ICLR 2024,
    arXiv 2310.11840). A specification is ``(k, Rvec, f, gamma)`` with
    ``Rvec: S x A x S -> R^k`` and any ``f: R^k -> R``:

    .. math:: J(\pi) = f\big(J_{R_1}^\gamma(\pi), \dots, J_{R_k}^\gamma(\pi)\big),
              \qquad J_{R_i}^\gamma(\pi) = \langle R_i, m_\gamma^\pi \rangle.

    Covers linear scalarisation, penalties, products, min/max and concave utilities.

    **Evaluation.** All ``k`` expected returns of all policies come from one batched linear
    solve (certified, about ``1e-12`` relative); ``f`` is called once per policy with a
    float array ``[k]``. Float ties: within ``1e-9 * max(1, max |J|)``. With
    ``compile(env, exact=True)``, ``f`` receives an object array of
    :class:`~fractions.Fraction` and its results are compared exactly (a float result is
    taken as the dyadic rational it is).

    Parameters
    ----------
    rewards : array_like
        ``[k, S]``, ``[k, S, A]`` or ``[k, S, A, S]``.
    f : callable
        ``f(v) -> real`` with ``v`` of length ``k``.
    gamma : float or Fraction
        Discount in ``[0, 1)``.
    concave : bool, keyword-only
        A promise that ``f`` is concave (on the achievable return vectors). Only
        :meth:`optimise` uses it: concave ``f`` is maximised by Frank-Wolfe over occupancy
        measures with a certified duality gap. A symbolic ``f`` (a formula, or a callable
        that accepts sympy symbols) of degree at most 2 with a negative semidefinite
        Hessian is recognised as concave without it.
    gradient : callable, optional, keyword-only
        ``gradient(v) -> [k]``, the gradient of ``f`` (for the certified Frank-Wolfe gap;
        computed with sympy when ``f`` is symbolic).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.environments import E1
    >>> rewards = np.eye(3)[:2][:, None, :]  # R_1 = 1[a1], R_2 = 1[a2], shaped [2, S=1, A=3]
    >>> spec = OuterMORL(rewards, lambda v: min(v), gamma=0.5)
    >>> spec.compile(E1()).values([[[0.5, 0.5, 0.0]], [[1.0, 0.0, 0.0]]])
    array([1., 0.])
    """

    def __init__(self, rewards: Any, f: Callable[[Any], Any], gamma: Any, *,
                 concave: bool = False, gradient: Callable[[Any], Any] | None = None) -> None:
        self.rewards = as_rewards(rewards)
        self.f = check_callable(f, "OMORL function f")
        check_discount(gamma)
        self.gamma = gamma
        self.concave = check_flag(concave, "OMORL concave")
        self.gradient = None if gradient is None else check_callable(gradient,
                                                                     "OMORL gradient")

    @property
    def k(self) -> int:
        """Number of objectives."""
        return int(self.rewards.shape[0])

    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> OuterMORLEvaluator:
        """Evaluator in ``env``; ``exact=True`` passes Fraction vectors to ``f``."""
        return OuterMORLEvaluator(self, env, exact=bool(exact))

    def __repr__(self) -> str:
        return (
            f"OuterMORL(k={self.k}, rewards shape {list(self.rewards.shape)}, "
            f"f={describe_callable(self.f)}, gamma={self.gamma})"
        )


class OuterMORLEvaluator(StatisticEvaluator[OuterMORL]):
    """Evaluator of an :class:`OuterMORL`; the statistic is the vector of expected returns."""

    def __init__(self, spec: OuterMORL, env: FiniteMDP, *, exact: bool) -> None:
        super().__init__(spec, env, spec.f, exact=exact, method="linear solve")
        self._rewards = expected_reward_batch(env, spec.rewards)  # [k, S, A]
        self._spec = spec

    def statistics(self, policies: np.ndarray) -> list[Any]:
        return list(expected_return_vectors(self.env, policies, self._rewards, self._spec.gamma))

    def exact_statistic(self, policy: Policy) -> np.ndarray:
        return _exact_return_vector(self.env, policy, self._spec.rewards, self._spec.gamma)


class GeneralisedOuterMORL(Specification):
    r"""Generalised outer multi-objective RL (GOMORL): a total preorder on return vectors.

    **Definition** (docs/theory.md#def-gomorl; Subramani et al., ICLR 2024,
    arXiv 2310.11840). A specification is ``(k, Rvec, gamma, >=_k)`` with ``>=_k`` any
    total preorder on ``R^k``:

    .. math:: \pi_1 \succeq \pi_2 \iff \vec J(\pi_1) \succeq_k \vec J(\pi_2).

    Covers lexicographic MORL, thresholded lexicographic and constrained objectives, and
    orders that no real function represents (lexicographic on ``R^2``, N1).

    **Evaluation.** The vectors ``Jvec`` of all policies come from one batched linear solve
    (floats, certified about ``1e-12`` relative), then the order compares them. Floating
    point rounding can split a mathematical tie: compile with ``exact=True`` to compare
    exact :class:`~fractions.Fraction` vectors (certified ties).

    Parameters
    ----------
    rewards : array_like
        ``[k, S]``, ``[k, S, A]`` or ``[k, S, A, S]``.
    order : objspec.orders.Order or callable
        A total preorder on length-``k`` vectors (e.g. ``objspec.orders.lexicographic()``);
        a plain comparator ``cmp(u, v)`` is wrapped by ``objspec.orders.from_comparator``.
    gamma : float or Fraction
        Discount in ``[0, 1)``.

    Examples
    --------
    N1: lexicographic on ``(pi(a1), pi(a2))`` in E1.

    >>> import numpy as np
    >>> from objspec.environments import E1
    >>> from objspec.orders import lexicographic
    >>> spec = GeneralisedOuterMORL(np.eye(3)[:2][:, None, :], lexicographic(), gamma=0.5)
    >>> spec.compile(E1()).rank([[[0.5, 0.0, 0.5]], [[0.5, 0.5, 0.0]], [[0.0, 1.0, 0.0]]])
    array([1, 0, 2])
    """

    real_valued = False

    def __init__(self, rewards: Any, order: Order | Callable[[Any, Any], Any], gamma: Any
                 ) -> None:
        self.rewards = as_rewards(rewards)
        self.order = as_order(order)
        check_discount(gamma)
        self.gamma = gamma

    @property
    def k(self) -> int:
        """Number of objectives."""
        return int(self.rewards.shape[0])

    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> GeneralisedOuterMORLEvaluator:
        """Evaluator in ``env``; ``exact=True`` compares Fraction return vectors."""
        return GeneralisedOuterMORLEvaluator(self, env, exact=bool(exact))

    def __repr__(self) -> str:
        return (
            f"GeneralisedOuterMORL(k={self.k}, rewards shape {list(self.rewards.shape)}, "
            f"order={self.order!r}, gamma={self.gamma})"
        )


class GeneralisedOuterMORLEvaluator(OrderEvaluator[GeneralisedOuterMORL]):
    """Evaluator of a :class:`GeneralisedOuterMORL`: the order on return vectors."""

    def __init__(self, spec: GeneralisedOuterMORL, env: FiniteMDP, *, exact: bool) -> None:
        super().__init__(spec, env, spec.order, exact=exact)
        self._rewards = expected_reward_batch(env, spec.rewards)  # [k, S, A]
        self._spec = spec
        self.method = "exact rational" if exact else "linear solve"

    def objects(self, policies: Any) -> list[Any]:
        """The expected-return vector ``[k]`` of every policy."""
        return list(
            expected_return_vectors(self.env, self._batch(policies), self._rewards,
                                    self._spec.gamma)
        )

    def exact_objects(self, policies: list[Policy]) -> list[Any]:
        return [
            _exact_return_vector(self.env, p, self._spec.rewards, self._spec.gamma)
            for p in policies
        ]

    def return_vectors(self, policies: Any) -> np.ndarray:
        """``[N, k]`` float expected returns (the compared vectors)."""
        return np.array(self.objects(policies))


OMORL = OuterMORL
GOMORL = GeneralisedOuterMORL


class InnerMORL(ReturnFunctionOptions, Specification):
    r"""Inner multi-objective RL (IMORL): the expected utility of the vector of returns.

    **Definition** (docs/theory.md#def-imorl; Subramani et al., ICLR 2024,
    arXiv 2310.11840). A specification is ``(k, Rvec, f, gamma)`` with
    ``f: R^k -> R``:

    .. math:: J(\pi) = E_{\xi \sim L_\pi}\big[f(G_{R_1}^\gamma(\xi), \dots,
              G_{R_k}^\gamma(\xi))\big].

    As expressive as INMR and FTR (docs/theory.md#c-ftr-to-inmr).

    **Evaluation** (:class:`~objspec.formalisms.trajectory.ReturnFunctionEvaluator`):
    exact when the return vector takes finitely many values (dynamic programming over
    ``(state, partial return vector)`` atoms; rationals with ``compile(env, exact=True)``),
    else Monte Carlo with a stated ``error_bound``, exactly as for
    :class:`~objspec.formalisms.InnerNonlinearMarkovReward`. ``f`` receives a float array
    ``[k]`` (an object array of Fractions in exact mode).

    Parameters
    ----------
    rewards : array_like
        ``[k, S]``, ``[k, S, A]`` or ``[k, S, A, S]``.
    f : callable
        ``f(v) -> real`` with ``v`` of length ``k``.
    gamma : float or Fraction
        Discount in ``[0, 1)``.
    method, n_samples, seed, truncation, lipschitz, max_atoms, max_steps
        As for INMR.

    Examples
    --------
    N6 on E4: reward ``R_t = 1[a at s_t]`` for ``t = 0, 1``; ``f`` tests equality of the
    two actions, so ``J = pq + (1 - p)(1 - q)``.

    >>> import numpy as np
    >>> from objspec.environments import E4
    >>> R = np.zeros((2, 3, 2)); R[0, 0, 0] = 1; R[1, 1, 0] = 1
    >>> spec = InnerMORL(R, lambda v: float((v[0] > 0) == (v[1] > 0)), 0.5)
    >>> spec.compile(E4()).values([[[0.9, 0.1], [0.8, 0.2], [1, 0]]])
    array([0.74])
    """

    def __init__(
        self,
        rewards: Any,
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
        self.rewards = as_rewards(rewards)
        self.f = check_callable(f, "IMORL function f")
        check_discount(gamma)
        self.gamma = gamma
        self._set_options(method, n_samples, seed, truncation, lipschitz, max_atoms, max_steps)

    @property
    def k(self) -> int:
        """Number of objectives."""
        return int(self.rewards.shape[0])

    @property
    def rewards_stacked(self) -> np.ndarray:
        """The ``k`` rewards (leading axis)."""
        return self.rewards

    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> ReturnFunctionEvaluator:
        """Evaluator in ``env``; ``exact=True`` needs finitely many return vectors."""
        return ReturnFunctionEvaluator(self, env, exact=bool(exact), scalar=False)

    def __repr__(self) -> str:
        return (
            f"InnerMORL(k={self.k}, rewards shape {list(self.rewards.shape)}, "
            f"f={describe_callable(self.f)}, gamma={self.gamma})"
        )


IMORL = InnerMORL


# ---------------------------------------------------------------- registration


def _strategy_imorl(env: FiniteMDP, **options: Any) -> SearchStrategy[Any]:
    """:class:`~objspec.formalisms.InnerMORL` specifications with ``k`` in 1..3, exact on
    ``env`` (``method="exact"``) for the reasons given in :func:`inner_nonlinear`; ``f``
    is a weighted sum, a minimum or a distance to a target of the return vector (the
    OMORL functions, here applied inside the expectation).

    The hypothesis strategy this formalism registers (``options`` are passed to it); see
    :func:`objspec.environments.strategies.inner_morl`.
    """
    from hypothesis import strategies as st

    from objspec.formalisms._strategies import finite_return_setup, vector_functions

    @st.composite
    def inner_morl(draw: st.DrawFn, env: FiniteMDP) -> Any:

        k = draw(st.integers(1, 3))
        stacked, gamma = draw(finite_return_setup(env, k))
        return InnerMORL(stacked, draw(vector_functions(k)), gamma, method="exact")

    return inner_morl(env, **options)


def _sample_imorl(env: FiniteMDP, rng: np.random.Generator) -> Any:
    rewards = np.stack([absorbing_zero(env, random_reward(rng, env)) for _ in range(2)])
    return InnerMORL(rewards, random_vector_function(rng), random_discount(rng))


def fit_imorl(env: FiniteMDP, data: Comparisons, options: FitOptions) -> Fit:
    """Fit ``f`` of an IMORL specification with the rewards given (docs/learning.md#inmr).

    With ``rewards=`` (``[k, ...]``) given and finitely many return vectors, ``J`` is linear
    in ``f``'s values at them: a max-margin LP; the fitted ``f`` takes the value of the
    nearest return vector (:class:`objspec.formalisms._fit_returns.ReturnTable`).

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> import numpy as np
    >>> from objspec import Policy
    >>> from objspec.environments import E4
    >>> from objspec.learning import Comparisons, fit
    >>> R = np.zeros((2, 3, 2)); R[0, 0, 0] = 1; R[1, 1, 0] = 1
    >>> pols = [Policy([[p, 1 - p], [q, 1 - q], [1, 0]]) for p, q in ((1, 1), (1, 0), (0, 0))]
    >>> data = Comparisons(policies=pols, pairs=[(0, 1, ">"), (2, 1, ">")])
    >>> result = fit("IMORL", E4(), data, gamma=F(1, 2), rewards=R, exact=True)
    >>> result.spec.compile(E4(), exact=True).compare(pols[2], pols[1])
    1
    """
    from objspec.formalisms._fit_returns import fit_return_function

    def build(rewards: Any, f: Any, gamma: Any) -> InnerMORL:
        return InnerMORL(rewards, f, gamma)

    return fit_return_function(env, data, options, build, acronym="IMORL", keyword="rewards",
                               scalar=False, validate=as_rewards)


formalism(
    "IMORL",
    optimiser=GENERIC,
    fitter=Fitter(fit_imorl, "max-margin LP over the distribution of the return vector of "
                  "given rewards (f: value of the nearest return vector; HiGHS); exact "
                  "verification in rationals; certificate by Motzkin multipliers, relative to "
                  "the rewards", decides=False),
    name="inner multi-objective RL",
    level="trajectory",
    exact=True,
    acyclic_sampler=True,
    expectation=True,
    strategy=_strategy_imorl,
    sampler=_sample_imorl,
)(InnerMORL)


def _strategy_omorl(env: FiniteMDP, **options: Any) -> SearchStrategy[Any]:
    """:class:`~objspec.formalisms.OuterMORL` specifications with ``k`` in 1..3.

    The hypothesis strategy this formalism registers (``options`` are passed to it); see
    :func:`objspec.environments.strategies.outer_morl`.
    """
    from hypothesis import strategies as st

    from objspec.formalisms._strategies import vector_functions
    from objspec.mdp.strategies import discounts, reward_vectors

    @st.composite
    def outer_morl(draw: st.DrawFn, env: FiniteMDP) -> Any:

        stacked = draw(reward_vectors(env))
        return OuterMORL(stacked, draw(vector_functions(len(stacked))), draw(discounts()))

    return outer_morl(env, **options)


def _sample_omorl(env: FiniteMDP, rng: np.random.Generator) -> Any:
    rewards = np.stack([random_reward(rng, env), random_reward(rng, env)])
    return OuterMORL(rewards, random_vector_function(rng), random_discount(rng))


def _read_omorl(fields: SpecificationFields) -> OuterMORL:
    from objspec import expressions

    rewards = fields.array("rewards", ndims=(2, 3, 4))
    f = expressions.vector_function(fields.raw("f"), rewards.shape[0], where=fields.path("f"))
    return OuterMORL(rewards, f, fields.number("gamma"))


formalism(
    "OMORL",
    optimiser=OMORL_OPTIMISER,
    name="outer multi-objective RL",
    level="occupancy",
    exact=True,
    strategy=_strategy_omorl,
    sampler=_sample_omorl,
    reader=SpecificationReader(("rewards", "f", "gamma"), _read_omorl),
)(OuterMORL)


def _strategy_gomorl(env: FiniteMDP, **options: Any) -> SearchStrategy[Any]:
    """:class:`~objspec.formalisms.GeneralisedOuterMORL` specifications: lexicographic
    (with random signs), thresholded lexicographic, or a weighted key.

    The hypothesis strategy this formalism registers (``options`` are passed to it); see
    :func:`objspec.environments.strategies.generalised_outer_morl`.
    """
    from hypothesis import strategies as st

    from objspec.formalisms._strategies import vector_orders
    from objspec.mdp.strategies import discounts, reward_vectors

    @st.composite
    def generalised_outer_morl(draw: st.DrawFn, env: FiniteMDP) -> Any:

        stacked = draw(reward_vectors(env))
        return GeneralisedOuterMORL(stacked, draw(vector_orders(len(stacked))), draw(discounts()))

    return generalised_outer_morl(env, **options)


def _sample_gomorl(env: FiniteMDP, rng: np.random.Generator) -> Any:
    from objspec import orders

    rewards = np.stack([random_reward(rng, env), random_reward(rng, env)])
    return GeneralisedOuterMORL(rewards, orders.lexicographic(), random_discount(rng))


def _read_gomorl(fields: SpecificationFields) -> GeneralisedOuterMORL:
    from objspec import orders

    return GeneralisedOuterMORL(fields.array("rewards", ndims=(2, 3, 4)), orders.lexicographic(),
                                fields.number("gamma"))


formalism(
    "GOMORL",
    optimiser=ORDERING_OPTIMISER,
    name="generalised outer multi-objective RL",
    level="occupancy",
    exact=True,
    strategy=_strategy_gomorl,
    sampler=_sample_gomorl,
    reader=SpecificationReader(("rewards", "gamma"), _read_gomorl),
)(GeneralisedOuterMORL)
