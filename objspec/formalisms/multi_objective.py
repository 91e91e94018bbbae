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

from objspec.errors import InvalidSpecificationError
from objspec.formalisms._fit_invariance import (
    Interpolant,
    LinearStatistic,
    PiecewiseLinear,
    exact_data,
    exact_env,
    fit_by_invariance,
    occupancy_invariance,
    return_vector_invariance,
)
from objspec.formalisms._fit_linear import (
    fit_linear,
    occupancy_feature_map,
    occupancy_features,
)
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
from objspec.formalisms.fitting import Comparisons, FeatureMap, Fit, FitOptions, Fitter
from objspec.formalisms.optimisation import GENERIC
from objspec.formalisms.reading import SpecificationFields
from objspec.formalisms.registry import SpecificationReader, formalism
from objspec.formalisms.trajectory import Method, ReturnFunctionEvaluator, ReturnFunctionOptions
from objspec.mdp.exact import exact_discount, exact_expected_return
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

    def key_function(self) -> OuterMORL | None:
        """The OMORL specification with the same ordering when the order compares a real
        key (:func:`objspec.orders.by_key`; its concavity declaration carried over), else
        None. Its maximisers are this specification's maximal policies, which is how the
        optimiser uses it.

        Examples
        --------
        >>> from objspec import orders
        >>> g = GeneralisedOuterMORL([[1.0], [2.0]], orders.by_key(sum), 0.5)
        >>> type(g.key_function()).__name__
        'OuterMORL'
        """
        from objspec import orders

        order = self.order
        if not isinstance(order, orders.ByKey):
            return None
        return OuterMORL(self.rewards, order.key, self.gamma, concave=order.concave,
                         gradient=order.gradient)

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


def _given_rewards(env: FiniteMDP, options: FitOptions, formalism: str) -> np.ndarray | None:
    """The ``rewards=`` keyword: ``k`` rewards stacked (checked against ``env``), or None."""
    rewards = options.take("rewards")
    if rewards is None:
        return None
    arr = as_rewards(rewards, f"fit({formalism}): rewards")
    expected_reward_batch(env, arr, f"fit({formalism}): rewards")  # shape check
    return arr


def _first(v: Any) -> Any:
    return np.asarray(v, dtype=object).ravel()


def _return_vector_map(rewards: np.ndarray, gamma: Any) -> FeatureMap:
    g = exact_discount(gamma)

    def compute(env: FiniteMDP | None, items: Any) -> list[list[Fraction]]:
        assert env is not None
        return [[Fraction(exact_expected_return(env, p, r, g)) for r in rewards]
                for p in items]

    return FeatureMap(
        f"the expected-return vectors of the {len(rewards)} given rewards (gamma = {g})",
        f"an OMORL specification with these rewards and a linear f has value "
        f"J(pi) = sum_i w_i J_i(pi), linear in the vector of expected returns (gamma = {g})",
        compute)


def fit_outer_morl(env: FiniteMDP, data: Comparisons, options: FitOptions) -> Fit:
    """An OMORL ``(Rvec, f, gamma)`` that orders the data, or a certificate that none does.

    Keywords: ``rewards=`` (``[k, ...]``, the objectives, taken as given) and ``f=``:
    ``"any"`` (default) or ``"linear"``.

    * ``f="linear"`` with ``rewards``: ``J = <w, Jvec(pi)>``, linear in ``w``: the
      max-margin LP over the exact return vectors (``max |w_i| <= 1``), exact verification
      on request, Motzkin certificate otherwise. Without ``rewards`` a linear OMORL is a
      Markov reward: the MR LP, returned as ``k = 1`` objective with ``f(v) = v[0]``.
    * ``f="any"``: ``J`` depends on ``pi`` only through ``Jvec(pi)`` (through the occupancy
      measure when the rewards are free: take ``k = 1``), so the fit interpolates as for
      ONMR: weights injective on the distinct return vectors (or occupancy measures) and an
      explicit piecewise linear ``g``, ``f(v) = g(<w, v>)`` (docs/learning.md#invariance).

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> import numpy as np
    >>> from objspec.environments import E1
    >>> from objspec.learning import Comparisons, fit
    >>> rewards = np.eye(3)[:2][:, None, :]  # R_i = 1[a_i]
    >>> pols = [[[1, 0, 0]], [[0, 1, 0]], [[0, 0, 1]]]
    >>> data = Comparisons(policies=pols, pairs=[(0, 1, ">"), (1, 2, ">")])
    >>> result = fit("OMORL", E1(), data, gamma=F(1, 2), rewards=rewards, f="linear",
    ...              exact=True)
    >>> [str(w) for w in result.spec.f.weights], result.exact
    (['1', '1/2'], True)
    """
    gamma = options.need_gamma("OMORL")
    rewards = _given_rewards(env, options, "OMORL")
    kind = options.take("f", "any")
    if kind not in ("any", "linear"):
        raise InvalidSpecificationError(
            f"fit(OMORL): f={kind!r}; use f='any' (a general function, interpolated) or "
            "f='linear' (weights fitted by the max-margin LP)")
    S, A = env.n_states, env.n_actions
    desc = f"outer multi-objective RL (gamma = {exact_discount(gamma)})"
    if kind == "linear":
        env = exact_env(env)
        exact = exact_data(data, "OMORL")
        pols = exact.policies
        assert pols is not None
        if rewards is None:
            def build_mr(c: np.ndarray) -> OuterMORL:
                return OuterMORL(np.asarray(c).reshape(1, S, A), LinearStatistic([1]), gamma)

            return fit_linear(
                "OMORL", env, exact, options,
                features=lambda: occupancy_features(env, pols, float(gamma)),
                feature_map=occupancy_feature_map(gamma), build=build_mr,
                method="max-margin LP over the discounted occupancy measure (linear f, "
                       "one free objective: a Markov reward)",
                normalisation="max |r(s, a)| <= 1", description=desc + " with linear f")
        given = rewards
        fmap = _return_vector_map(given, gamma)

        def features() -> np.ndarray:
            r_sa = expected_reward_batch(env, given)
            return occupancy_features(env, pols, float(gamma)) @ r_sa.reshape(len(given), -1).T

        def build_w(c: np.ndarray) -> OuterMORL:
            return OuterMORL(given, LinearStatistic([Fraction(x) for x in c]), gamma)

        return fit_linear(
            "OMORL", env, exact, options, features=features, feature_map=fmap, build=build_w,
            method="max-margin LP over the expected-return vectors (linear f)",
            normalisation="max |w_i| <= 1",
            description=desc + f" with these {len(given)} rewards and linear f")
    if rewards is None:
        def build(ell: LinearStatistic, g: PiecewiseLinear) -> OuterMORL:
            reward = np.array(ell.weights, dtype=object).reshape(1, S, A)
            return OuterMORL(reward, Interpolant(_first, LinearStatistic([1]), g, "J_1"),
                             gamma)

        return fit_by_invariance(
            "OMORL", env, data, options, invariance=occupancy_invariance(gamma, "OMORL"),
            build=build, real_valued=True, description=desc,
            method="exact occupancy classes; one objective injective on them and a "
                   "piecewise linear f")
    given_r = rewards

    def build_given(ell: LinearStatistic, g: PiecewiseLinear) -> OuterMORL:
        return OuterMORL(given_r, Interpolant(_first, ell, g, "Jvec"), gamma)

    return fit_by_invariance(
        "OMORL", env, data, options,
        invariance=return_vector_invariance(given_r, gamma, "OMORL"),
        build=build_given, real_valued=True,
        description=desc + f" with these {len(given_r)} rewards",
        method="exact return-vector classes; f = g(<w, Jvec>) with w injective on them and "
               "g piecewise linear")


def fit_generalised_outer_morl(env: FiniteMDP, data: Comparisons, options: FitOptions) -> Fit:
    """A GOMORL ``(Rvec, gamma, >=_k)`` that orders the data, or a certificate that none does.

    With ``rewards=`` given, policies with equal return vectors must tie; without, ``k = 1``
    objective injective on the distinct occupancy measures (every GOMORL ordering is a
    function of the occupancy measure). The order is :func:`objspec.orders.by_key` of
    ``g(<w, v>)``, ``g`` the explicit piecewise linear interpolant of the classes' heights
    (docs/learning.md#invariance); it is a total preorder on all of ``R^k``.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> from objspec.environments import E3
    >>> from objspec.learning import Comparisons, fit
    >>> pols = [[[F(p), 1 - F(p)], [1, 0]] for p in (0, F(1, 2), 1)]
    >>> data = Comparisons(policies=pols, pairs=[(1, 0, ">"), (0, 2, ">")])
    >>> fit("GOMORL", E3(), data, gamma=F(1, 2)).spec.compile(E3()).rank(pols).tolist()
    [1, 0, 2]
    """
    from objspec.orders import by_key

    gamma = options.need_gamma("GOMORL")
    rewards = _given_rewards(env, options, "GOMORL")
    S, A = env.n_states, env.n_actions
    desc = f"generalised outer multi-objective RL (gamma = {exact_discount(gamma)})"
    if rewards is None:
        def build(ell: LinearStatistic, g: PiecewiseLinear) -> GeneralisedOuterMORL:
            reward = np.array(ell.weights, dtype=object).reshape(1, S, A)
            return GeneralisedOuterMORL(
                reward, by_key(Interpolant(_first, LinearStatistic([1]), g, "J_1")), gamma)

        return fit_by_invariance(
            "GOMORL", env, data, options, invariance=occupancy_invariance(gamma, "GOMORL"),
            build=build, real_valued=False, description=desc,
            method="exact occupancy classes; one objective injective on them, ordered by a "
                   "piecewise linear key")
    given = rewards

    def build_given(ell: LinearStatistic, g: PiecewiseLinear) -> GeneralisedOuterMORL:
        return GeneralisedOuterMORL(given, by_key(Interpolant(_first, ell, g, "Jvec")), gamma)

    return fit_by_invariance(
        "GOMORL", env, data, options,
        invariance=return_vector_invariance(given, gamma, "GOMORL"),
        build=build_given, real_valued=False,
        description=desc + f" with these {len(given)} rewards",
        method="exact return-vector classes; ordered by the key g(<w, Jvec>), w injective on "
               "them, g piecewise linear")


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
    fitter=Fitter(fit_outer_morl, "linear f with given rewards: max-margin LP over return "
                  "vectors; general f: exact occupancy (or return-vector) classes and an "
                  "explicit piecewise linear interpolant; certificates on one-hot features"),
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
    fitter=Fitter(fit_generalised_outer_morl, "exact occupancy (or return-vector) classes; "
                  "an order by an explicit piecewise linear key; certificate on the classes' "
                  "one-hot features"),
)(GeneralisedOuterMORL)
