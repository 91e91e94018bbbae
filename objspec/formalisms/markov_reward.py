"""Markov rewards (MR), the bottom of the expressivity preorder."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from objspec.errors import InvalidSpecificationError
from objspec.formalisms._fit_linear import (
    fit_linear,
    occupancy_feature_map,
    occupancy_features,
    policies_of,
)
from objspec.formalisms._sampling import random_discount, random_reward
from objspec.formalisms.base import RealValuedEvaluator, Specification, Valuation
from objspec.formalisms.fitting import Comparisons, Fit, FitOptions, Fitter
from objspec.formalisms.optimisation import OptimiseOptions, Optimiser, Optimum
from objspec.formalisms.reading import SpecificationFields
from objspec.formalisms.registry import SpecificationReader, formalism
from objspec.mdp.arrays import real_array
from objspec.mdp.evaluation import evaluate
from objspec.mdp.exact import exact_discount, exact_expected_return
from objspec.mdp.model import FiniteMDP, rational_array
from objspec.mdp.policy import Policy
from objspec.mdp.rewards import check_discount, normalize_rewards

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["MarkovReward", "MR", "inverse_rl"]


class MarkovReward(Specification):
    r"""Markov reward (MR): a reward function with a discount.

    **Definition** (docs/theory.md#def-mr; Subramani et al., ICLR 2024,
    arXiv 2310.11840). A specification is ``(R, gamma)`` with ``R: S x A x S -> R`` and
    ``gamma`` in ``[0, 1)``. A policy's value is

    .. math:: J(\pi) = E_{\xi \sim L_\pi}\Big[\sum_{t \ge 0} \gamma^t R(s_t, a_t, s_{t+1})\Big]
              = \langle R, m_\gamma^\pi \rangle,

    and ``pi1`` is preferred to ``pi2`` iff ``J(pi1) > J(pi2)``.

    **Evaluation.** Exact up to rounding: one batched linear solve
    ``(I - gamma P_pi) V = r_pi`` for all policies (:func:`objspec.mdp.evaluate`) with a
    certified error bound; ties are values within ``tie_tolerance`` (at least twice the
    certified bound). With ``compile(env, exact=True)`` values and ties are computed in
    exact rational arithmetic (:mod:`objspec.mdp.exact`).

    Parameters
    ----------
    reward : array_like
        ``[S]`` (depends on ``s_t``), ``[S, A]`` or ``[S, A, S]``.
    gamma : float or Fraction
        Discount in ``[0, 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.formalisms import MarkovReward
    >>> env = FiniteMDP(np.ones((1, 2, 1)), [1.0])
    >>> ev = MarkovReward([[1.0, 0.0]], gamma=0.5).compile(env)
    >>> ev.values([Policy([[1.0, 0.0]]), Policy([[0.5, 0.5]])])
    array([2., 1.])
    >>> ev.compare(Policy([[0.0, 1.0]]), Policy([[0.5, 0.5]]))
    -1
    """

    def __init__(self, reward: Any, gamma: Any) -> None:
        exact = rational_array(reward)
        arr = (
            exact if exact is not None
            else real_array(reward, "reward", InvalidSpecificationError)
        )
        if arr.ndim not in (1, 2, 3):
            raise InvalidSpecificationError(
                f"reward must be shaped [S], [S, A] or [S, A, S]; got {arr.shape}"
            )
        if arr.dtype != object and not np.all(np.isfinite(arr)):
            idx = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
            raise InvalidSpecificationError(f"reward{list(idx)} = {arr[idx]} is not finite")
        check_discount(gamma)
        self.reward = arr
        self.gamma = gamma

    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> MarkovRewardEvaluator:
        """Evaluator in ``env``; ``exact=True`` decides values and ties in rationals."""
        return MarkovRewardEvaluator(self, env, exact=bool(exact))

    def __repr__(self) -> str:
        return f"MarkovReward(reward shape {list(self.reward.shape)}, gamma={self.gamma})"


class MarkovRewardEvaluator(RealValuedEvaluator[MarkovReward]):
    """Evaluator of a :class:`MarkovReward` in one environment."""

    def __init__(self, spec: MarkovReward, env: FiniteMDP, *, exact: bool = False) -> None:
        super().__init__(spec, env)
        self._reward, _, _ = normalize_rewards(
            env, spec.reward.astype(np.float64), batched=False
        )
        self._gamma = float(spec.gamma)
        self.exact = exact
        self.method = "exact rational" if exact else "linear solve"
        scale = float(np.abs(self._reward).max(initial=0.0)) / (1.0 - self._gamma)
        self.tie_tolerance = 1e-10 * max(1.0, scale)

    def valuation(self, policies: Any) -> Valuation:
        ev = evaluate(self.env, self._batch(policies), self._reward[0], self._gamma)
        return self._valued(np.atleast_1d(ev.returns), 2.0 * ev.error_bound)

    def exact_value(self, policy: Policy) -> Any:
        spec = self.spec
        assert isinstance(spec, MarkovReward)
        return exact_expected_return(self.env, policy, spec.reward, spec.gamma)


MR = MarkovReward


# ---------------------------------------------------------------- optimisation


def optimise_discounted(env: FiniteMDP, reward: Any, gamma: Any, options: OptimiseOptions,
                        *, what: str = "") -> Optimum:
    """The best stationary policy for ``max E[sum_t gamma^t R(x_t)]`` (the MR optimiser).

    Without ``exact``: :func:`objspec.mdp.optimal_values` (value iteration extrapolated to
    the MacQueen midpoint, then policy iteration where it is slow) returns a deterministic
    policy ``pi`` with ``max_s V*(s) - V_pi(s) <= policy_error_bound``, proven by the
    MacQueen bounds (Puterman 1994, section 6.6.3). Since ``V*`` dominates every
    stationary policy's values state by state, ``J* - J(pi) = mu0 . (V* - V_pi)`` is at
    most that bound: the result is ``"certified"`` with it as ``bound``.

    With ``exact``: Howard's policy iteration in rational arithmetic
    (:func:`objspec.mdp.exact_control.exact_policy_iteration`), started from the float
    policy; it stops at a policy whose exact values solve the Bellman optimality equation,
    so it is optimal (``"exact"``, ``bound`` 0, the value a Fraction).

    ``what`` is prefixed to the method name (the RRL optimiser reuses this function).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
    >>> opt = optimise_discounted(FiniteMDP(P, [1.0, 0.0]), [[0, 0], [1, 0]], 0.5,
    ...                           OptimiseOptions.make(exact=True))
    >>> opt.guarantee, opt.value, opt.policy.probabilities.tolist()
    ('exact', Fraction(2, 3), [[0.0, 1.0], [1.0, 0.0]])
    """
    from objspec.mdp.control import optimal_values

    floats = np.asarray(np.asarray(reward, dtype=object).astype(np.float64))
    g = float(gamma)
    scale = float(np.abs(floats).max(initial=0.0)) / (1.0 - g)
    sol = optimal_values(env, floats, g, tol=1e-9 * max(1.0, scale))
    A = env.n_actions
    if options.exact:
        from objspec.mdp.exact_control import exact_policy_iteration

        ex = exact_policy_iteration(env, reward, gamma, start=sol.policies)
        value = sum(ex.values * env.exact_initial(), Fraction(0))
        return Optimum(Policy.deterministic(ex.actions, A), value, "exact",
                       what + "exact policy iteration in rationals", Fraction(0),
                       evidence="the exact values of the policy solve the Bellman "
                                "optimality equation (no action improves in any state)",
                       iterations=sol.iterations + ex.iterations)
    certified = bool(np.all(sol.optimal_certified))
    return Optimum(Policy.deterministic(np.asarray(sol.policies), A), None, "certified",
                   what + f"certified {sol.method.replace('_', ' ')}",
                   float(sol.policy_error_bound),
                   evidence=("MacQueen bounds: max_s V*(s) - V_pi(s) <= bound" +
                             ("; every chosen action is also certified optimal"
                              if certified else "")),
                   iterations=sol.iterations)


def _optimise_mr(spec: MarkovReward, env: FiniteMDP, options: OptimiseOptions) -> Optimum:
    return optimise_discounted(env, spec.reward, spec.gamma, options)


#: The MR optimiser: certified value/policy iteration, exact policy iteration on request.
MR_OPTIMISER = Optimiser(
    _optimise_mr,
    "certified value/policy iteration (MacQueen bounds); exact policy iteration in "
    "rationals with exact=True",
    "exact",
    "polynomial: linear programming (Puterman 1994, section 6.9); policy iteration is "
    "strongly polynomial for a fixed discount (Ye 2011)",
)


def fit_markov_reward(env: FiniteMDP, data: Comparisons, options: FitOptions) -> Fit:
    """Fit a Markov reward (docs/learning.md#mr); the discount is taken as given.

    * Policy comparisons: the max-margin reward ``r[S, A]`` with ``max |r| <= 1`` (LP over
      discounted occupancy measures), exact on request, an exact certificate otherwise.
    * ``demonstrations``: inverse RL, Ng and Russell's LP
      (:func:`objspec.formalisms._fit_reward_learning.fit_demonstrations`; keyword ``l1=``
      for its L1 penalty, default 0), together with any comparisons.
    * Trajectory comparisons: the same LP over discounted transition counts; the fitted
      reward is ``[S, A, S]`` over the transitions the trajectories take (0 elsewhere), or
      ``[S, A]`` when a trajectory lacks its last state.
    * ``method="bradley-terry"``: the L2-regularised maximum-likelihood reward of the
      Bradley--Terry model ``P(i > j) = sigmoid(beta (J_i - J_j))`` (keywords ``beta=``,
      default 1, and ``l2=``, default 0.01) for noisy data, contradictory comparisons (strict
      cycles) included; comparisons it orders the wrong way are reported violated.
      ``method="lp"`` (the default) is the max-margin LP.
    """
    from objspec.formalisms._fit_reward_learning import (
        fit_bradley_terry,
        fit_demonstrations,
        trajectory_feature_map,
        trajectory_features,
        trajectory_keys,
        transition_reward,
    )

    gamma = options.need_gamma("MR")
    method = options.take("method", "lp")
    S, A = env.n_states, env.n_actions
    description = f"Markov reward (gamma = {exact_discount(gamma)})"
    if method not in ("lp", "bradley-terry"):
        raise InvalidSpecificationError(
            f"fit(MR): unknown method={method!r} (use 'lp', the max-margin LP, or "
            "'bradley-terry')")
    if data.demonstrations and (method != "lp" or data.trajectories is not None):
        raise InvalidSpecificationError(
            "fit(MR): demonstrations are fitted by the inverse RL LP (method='lp') between "
            "policies only")

    if method == "bradley-terry" and (options.exact or options.margin is not None):
        raise InvalidSpecificationError(
            "fit(MR): method='bradley-terry' is a floating-point maximum-likelihood fit: "
            "exact= and margin= apply to the max-margin LP (method='lp')")

    def build(c: np.ndarray) -> MarkovReward:
        return MarkovReward(np.asarray(c).reshape(S, A), gamma)

    if data.trajectories is not None:
        trajectories = data.trajectories
        keys = trajectory_keys(trajectories)

        def build_t(c: np.ndarray) -> MarkovReward:
            return MarkovReward(transition_reward(env, keys, list(c)), gamma)

        transition_reward(env, keys, [0.0] * len(keys))  # the size check, before any work

        def features() -> Any:
            return trajectory_features(trajectories, keys, float(gamma))

        if method == "bradley-terry":
            return fit_bradley_terry(features(), data, build_t,
                                     beta=options.take("beta", 1.0),
                                     l2=options.take("l2", 1e-2))
        return fit_linear(
            "MR", env, data, options,
            features=features,
            feature_map=trajectory_feature_map(keys, gamma),
            build=build_t,
            method="max-margin LP over discounted transition counts of the trajectories "
                   "(HiGHS)" + (", soft (L1 slack)" if options.soft else ""),
            normalisation="max |R| <= 1 over the transitions the trajectories take",
            description=description,
        )
    policies = policies_of(data, "MR")
    if method == "bradley-terry":
        return fit_bradley_terry(occupancy_features(env, policies, float(gamma)), data, build,
                                 beta=options.take("beta", 1.0), l2=options.take("l2", 1e-2))
    if data.demonstrations:
        l1 = options.take("l1", 0.0)
        try:
            l1f = float(l1)
        except (TypeError, ValueError):
            raise InvalidSpecificationError(f"fit(MR): l1={l1!r} is not a number") from None
        return fit_demonstrations(env, data, options, gamma, build, l1=l1f)
    return fit_linear(
        "MR", env, data, options,
        features=lambda: occupancy_features(env, policies, float(gamma)),
        feature_map=occupancy_feature_map(gamma),
        build=build,
        method="max-margin LP over the discounted occupancy measure (HiGHS)" + (
            ", soft (L1 slack)" if options.soft else ""),
        normalisation="max |r(s, a)| <= 1",
        description=description,
    )


def inverse_rl(env: FiniteMDP, policy: Any, gamma: Any, *, l1: float = 0.0,
               exact: bool = False) -> Fit:
    """Inverse RL (Ng and Russell, ICML 2000): a reward under which ``policy`` is optimal.

    A thin wrapper of ``fit("MR", env, Comparisons(policies=[policy],
    demonstrations=[0]), gamma=gamma, l1=l1, exact=exact)``: the reward ``r[S, A]``
    (``max |r| <= 1``) that makes ``policy`` optimal in every state with the largest total
    per-state margin (minus ``l1 * sum |r|``); degenerate rewards (no action strictly
    worse anywhere, e.g. ``r = 0``) are excluded.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
    >>> env = FiniteMDP(P, [1.0, 0.0])
    >>> go = Policy([[0.0, 1.0], [0.0, 1.0]])
    >>> result = inverse_rl(env, go, 0.5, exact=True)
    >>> result.exact, result.margin > 0
    (True, True)
    >>> result.spec.optimise(env).policy.probabilities.tolist()
    [[0.0, 1.0], [0.0, 1.0]]
    """
    data = Comparisons(policies=[policy], demonstrations=[0])
    data.validate(env)
    return fit_markov_reward(env, data, FitOptions(gamma=gamma, exact=exact,
                                                   extra={"l1": l1}))


# ---------------------------------------------------------------- registration


def _strategy_mr(env: FiniteMDP, **options: Any) -> SearchStrategy[Any]:
    """:class:`~objspec.formalisms.MarkovReward` specifications for ``env``.

    The hypothesis strategy this formalism registers (``options`` are passed to it); see
    :func:`objspec.environments.strategies.markov_rewards`.
    """
    from hypothesis import strategies as st

    from objspec.mdp.strategies import discounts, rewards

    @st.composite
    def markov_rewards(draw: st.DrawFn, env: FiniteMDP) -> Any:

        return MarkovReward(draw(rewards(env)), draw(discounts()))

    return markov_rewards(env, **options)


def _sample_mr(env: FiniteMDP, rng: np.random.Generator) -> Any:
    return MarkovReward(random_reward(rng, env), random_discount(rng))


def _read_mr(fields: SpecificationFields) -> MarkovReward:
    return MarkovReward(fields.array("reward"), fields.number("gamma"))


formalism(
    "MR",
    name="Markov rewards",
    level="trajectory",
    exact=True,
    gymnasium=lambda spec, env: ("reward", spec.reward, float(spec.gamma)),
    expectation=True,
    strategy=_strategy_mr,
    sampler=_sample_mr,
    reader=SpecificationReader(("reward", "gamma"), _read_mr),
    optimiser=MR_OPTIMISER,
    fitter=Fitter(fit_markov_reward, "max-margin LP over discounted occupancy measures "
                  "(HiGHS); exact verification in rationals; certificate by Motzkin "
                  "multipliers; trajectory comparisons over discounted transition counts; "
                  "inverse RL from demonstrations (Ng and Russell's LP); Bradley-Terry "
                  "maximum likelihood with method='bradley-terry'"),
)(MarkovReward)
