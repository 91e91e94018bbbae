"""Limit-average rewards (LAR): the long-run average of a Markov reward, no discount."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from objspec.formalisms._fit_linear import (
    fit_linear,
    long_run_feature_map,
    long_run_occupancy_features,
    policies_of,
)
from objspec.formalisms._sampling import random_reward
from objspec.formalisms._support import as_reward, expected_reward, reward_scale
from objspec.formalisms.base import RealValuedEvaluator, Specification, Valuation
from objspec.formalisms.fitting import Comparisons, Fit, FitOptions, Fitter
from objspec.formalisms.optimisation import OptimiseOptions, Optimiser, Optimum
from objspec.formalisms.reading import SpecificationFields
from objspec.formalisms.registry import SpecificationReader, formalism
from objspec.mdp.gain import (
    gain_optimal_policy,
    gain_policy_iteration,
    gain_upper_bound,
    gain_value_iteration,
)
from objspec.mdp.longrun import exact_long_run_average, policy_gains
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy, as_policy_batch

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["LimitAverageReward", "LAR"]


class LimitAverageReward(Specification):
    r"""Limit-average reward (LAR): the long-run average of a reward, undiscounted.

    **Definition** (docs/theory.md#def-lar; Subramani et al., ICLR 2024,
    arXiv 2310.11840). A specification is a reward ``R: S x A x S -> R``:

    .. math:: J(\pi) = \lim_{N \to \infty} \frac{1}{N}
              E\Big[\sum_{t < N} R(x_t)\Big] = \mu_0^\top P^*_\pi r_\pi,

    with ``P*`` the Cesaro limit of the induced chain and ``r_pi(s) = E[R(x_t) | s_t = s]``.
    The limit exists for stationary policies on finite MDPs. What a policy does on
    transient states matters only through which recurrent classes it reaches.

    **Evaluation.** :mod:`objspec.mdp.longrun`: recurrent classes read exactly from the
    support graph of each policy's chain, stationary distributions and absorption
    probabilities by direct linear solves; no discount close to 1 is used. Floating point
    values are exact up to rounding (ties within ``1e-9 * max(1, max|R|)``; policies with
    the same support structure and the same long-run behaviour get equal values up to
    rounding). ``compile(env, exact=True)`` runs the same steps in rational arithmetic
    (:func:`objspec.mdp.longrun.exact_long_run_average`): exact values and exact ties.

    Parameters
    ----------
    reward : array_like
        ``[S]``, ``[S, A]`` or ``[S, A, S]``.

    Examples
    --------
    N13 on E7: reward 1 on transitions out of ``s1`` gives ``q2 / (q1 + q2)``.

    >>> from fractions import Fraction as F
    >>> from objspec import Policy
    >>> from objspec.environments import E7
    >>> spec = LimitAverageReward([1, 0])
    >>> ev = spec.compile(E7(), exact=True)
    >>> ev.exact_value(Policy([[F(3, 4), F(1, 4)], [F(1, 2), F(1, 2)]]))  # q1 = 1/4, q2 = 1/2
    Fraction(2, 3)
    >>> ev.exact_value(Policy([[1, 0], [1, 0]]))  # q1 = q2 = 0: stays in s1
    Fraction(1, 1)
    """

    def __init__(self, reward: Any) -> None:
        self.reward = as_reward(reward)

    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> LimitAverageEvaluator:
        """Evaluator in ``env``; ``exact=True`` computes values and ties in rationals."""
        return LimitAverageEvaluator(self, env, exact=bool(exact))

    def __repr__(self) -> str:
        return f"LimitAverageReward(reward shape {list(self.reward.shape)})"


class LimitAverageEvaluator(RealValuedEvaluator[LimitAverageReward]):
    """Evaluator of a :class:`LimitAverageReward`."""

    def __init__(self, spec: LimitAverageReward, env: FiniteMDP, *, exact: bool) -> None:
        super().__init__(spec, env)
        self._spec = spec
        self._reward = expected_reward(env, spec.reward)  # [S, A]: gains need no more
        self.exact = exact
        self.method = "exact rational long-run" if exact else "long-run (recurrent classes)"
        self.tie_tolerance = 1e-9 * max(1.0, reward_scale(spec.reward))

    def valuation(self, policies: Any) -> Valuation:
        # validated but not made canonical off the reached states: the gain from the
        # initial distribution is read on the reached states only, so canonical rows
        # would not change it (and finding the reached states costs a graph search)
        env = self.env
        pi, _ = as_policy_batch(policies, env.n_states, env.n_actions, enabled=env.enabled)
        return self._valued(policy_gains(env, pi, self._reward))

    def exact_value(self, policy: Policy) -> Fraction:
        return exact_long_run_average(self.env, policy, self._spec.reward)


LAR = LimitAverageReward


# ---------------------------------------------------------------- optimisation


def _optimise_lar(spec: LimitAverageReward, env: FiniteMDP,
                  options: OptimiseOptions) -> Optimum:
    """A gain-optimal stationary policy (stationary deterministic policies suffice on
    finite MDPs, also multichain ones: Puterman 1994, Theorem 9.1.8).

    First, relative value iteration (:func:`objspec.mdp.gain.gain_value_iteration`,
    Puterman 1994, section 8.5) until its span bound brackets the gain of its greedy
    policy and the optimal gain, from every state, within :data:`VI_TOLERANCE` (relative
    to ``max |R|``): ``"certified"``, with the bracket's midpoint as the value (the
    evaluator's value is checked against it) and its width as the bound. This is the
    fast path; it succeeds whenever the optimal gain is the same from every state and
    value iteration converges (weakly communicating, aperiodic enough MDPs). Otherwise
    (the span stalls: multichain MDPs whose optimal gain differs between states, or very
    slow mixing), multichain policy iteration in floating point
    (:func:`objspec.mdp.gain.gain_policy_iteration`, Puterman 1994, section 9.2.1, started
    from the optimal policy for the discount 0.999) gives a deterministic policy and its
    bias. Without ``exact`` the result is ``"certified"``:
    :func:`objspec.mdp.gain.gain_upper_bound` turns the bias into a proven upper bound
    ``U >= max_pi J(pi)``, and ``bound = U - J(policy)`` plus the evaluator's tie
    tolerance. If that bound is not small (above ``1e-6`` relative) and the model has at
    most :data:`LP_PAIRS` enabled state-action pairs, the multichain linear program
    (:func:`objspec.mdp.gain.gain_optimal_policy`, Puterman 1994, section 9.3) is solved
    too and the better certified policy kept. With ``exact``, multichain policy iteration
    in rationals (:func:`objspec.mdp.exact_control.exact_multichain_policy_iteration`)
    starts from that policy and stops at one whose exact gain and bias solve the
    multichain optimality equations (``"exact"``, the value a Fraction).

    Examples
    --------
    >>> from objspec.environments import E7
    >>> opt = LimitAverageReward([1, 0]).optimise(E7(), exact=True)
    >>> opt.guarantee, opt.value
    ('exact', Fraction(1, 1))
    """
    r = expected_reward(env, spec.reward)
    scale = max(1.0, reward_scale(spec.reward))
    tie = 1e-9 * scale  # the evaluator's tie tolerance
    A = env.n_actions
    vi = gain_value_iteration(env, r, tol=VI_TOLERANCE * scale, deadline=options.deadline)
    if vi.converged:
        policy = Policy.deterministic(vi.actions, A)
        if options.exact:
            return _exact_lar(spec, env, policy, "relative value iteration", vi.iterations)
        return Optimum(policy, 0.5 * (vi.lower + vi.upper), "certified",
                       "relative value iteration + span bound",
                       (vi.upper - vi.lower) + tie,
                       evidence=(f"span bound after {vi.iterations} sweeps: the policy's gain "
                                 f"is >= {vi.lower!r} and every policy's gain is <= "
                                 f"{vi.upper!r}, from every state"),
                       iterations=vi.iterations)
    ev = LimitAverageEvaluator(spec, env, exact=False)

    def certify(actions: np.ndarray, bias: np.ndarray) -> tuple[Policy, float, float, str]:
        policy = Policy.deterministic(actions, A)
        value = float(ev.valuation([policy]).values[0])
        u, sweeps = gain_upper_bound(env, r, bias, deadline=options.deadline,
                                     target=1e-12 * scale)
        upper = float(env.initial @ u) + env.n_states * 1e-16 * float(np.abs(u).max())
        bound = max(0.0, upper - value) + ev.tie_tolerance
        return policy, value, bound, (f"proven upper bound {upper!r} on the optimal gain "
                                      f"(superharmonic majorant, {sweeps} sweeps)")

    sol = gain_policy_iteration(env, r, deadline=options.deadline)
    method = "multichain policy iteration"
    iterations = vi.iterations + sol.iterations
    policy, value, bound, evidence = certify(sol.actions, sol.bias)
    if bound > 1e-6 * scale and int(env.enabled.sum()) <= LP_PAIRS and not options.expired():
        lp = gain_optimal_policy(env, r)
        iterations += lp.iterations
        found = certify(lp.actions, lp.bias)
        if found[2] < bound:
            policy, value, bound, evidence = found
            sol, method = lp, "multichain LP (HiGHS)"
    if options.exact:
        return _exact_lar(spec, env, policy, method, iterations)
    return Optimum(policy, value, "certified", method + " + superharmonic bound", bound,
                   evidence=evidence, iterations=iterations)


def _exact_lar(spec: LimitAverageReward, env: FiniteMDP, policy: Policy, method: str,
               iterations: int) -> Optimum:
    """Exact multichain policy iteration in rationals started from ``policy``."""
    from objspec.mdp.exact_control import exact_multichain_policy_iteration

    ex = exact_multichain_policy_iteration(env, spec.reward,
                                           start=policy.probabilities.argmax(axis=1))
    exact_value = sum(ex.values * env.exact_initial(), Fraction(0))
    return Optimum(Policy.deterministic(ex.actions, env.n_actions), exact_value, "exact",
                   method + " + exact multichain policy iteration in rationals",
                   Fraction(0),
                   evidence="the exact gain and bias of the policy solve the multichain "
                            "optimality equations (no action improves either)",
                   iterations=iterations + ex.iterations)


#: Width (relative to ``max(1, max |R|)``) of the value-iteration bracket that ends the
#: LAR optimiser's fast path: with the evaluator's tie tolerance ``1e-9`` the bound is
#: ``2e-9`` relative, and the bracket's midpoint is within ``5e-10`` relative of the
#: policy's value, inside the re-evaluation check (``1e-9`` relative plus ``1e-9``
#: absolute) whatever the reward's scale.
VI_TOLERANCE = 1e-9

#: Most enabled state-action pairs for the linear-program fallback of the LAR optimiser.
LP_PAIRS = 1000  # HiGHS needs about a minute for 800 states on this problem

#: The LAR optimiser: multichain policy iteration or LP, certified or verified exactly.
LAR_OPTIMISER = Optimiser(
    _optimise_lar,
    "relative value iteration with the span bound; where the optimal gain differs between "
    "states, multichain policy iteration (LP fallback) with a superharmonic upper bound; exact "
    "multichain policy iteration in rationals with exact=True",
    "exact",
    "polynomial: linear programming (Puterman 1994, section 9.3); multichain policy "
    "iteration terminates finitely (Puterman 1994, section 9.2)",
)


# ---------------------------------------------------------------- fitting


def fit_limit_average(env: FiniteMDP, data: Comparisons, options: FitOptions) -> Fit:
    """Max-margin limit-average reward ``r[S, A]`` with ``max |r| <= 1``.

    ``J_LAR(pi) = <x_pi, r>`` with ``x_pi(s, a) = (mu0 P*_pi)(s) pi(a|s)`` the long-run
    state-action occupancy (``P*_pi``: the Cesaro limit of the induced chain, per initial
    distribution ``mu0``), so the comparisons are linear constraints on ``r``: the
    max-margin LP of :func:`objspec.formalisms.fitting.max_margin`; ``exact=True`` verifies
    with the exact Cesaro limit, and infeasible data gets an exact Motzkin certificate over
    the same features. A limit-average reward has no discount: ``gamma`` is not used (so one
    discount can be passed to every formalism, as ``profile`` does).

    Examples
    --------
    >>> from objspec.environments import E7
    >>> from objspec.learning import Comparisons, fit
    >>> stay, leave = [[1, 0], [1, 0]], [[0, 1], [1, 0]]
    >>> result = fit("LAR", E7(), Comparisons(policies=[stay, leave], pairs=[(1, 0, ">")]),
    ...              exact=True)
    >>> result.exact, result.spec.compile(E7(), exact=True).compare(leave, stay)
    (True, 1)
    """
    policies = policies_of(data, "LAR")
    S, A = env.n_states, env.n_actions

    def build(c: np.ndarray) -> LimitAverageReward:
        return LimitAverageReward(np.asarray(c).reshape(S, A))

    return fit_linear(
        "LAR", env, data, options,
        features=lambda: long_run_occupancy_features(env, policies),
        feature_map=long_run_feature_map(),
        build=build,
        method="max-margin LP over the long-run occupancy (HiGHS)" + (
            ", soft (L1 slack)" if options.soft else ""),
        normalisation="max |r(s, a)| <= 1",
        description="limit-average reward",
    )


# ---------------------------------------------------------------- registration


def _strategy_lar(env: FiniteMDP, **options: Any) -> SearchStrategy[Any]:
    """:class:`~objspec.formalisms.LimitAverageReward` specifications (integer rewards
    are drawn half the time, so exact ties between long-run averages occur).

    The hypothesis strategy this formalism registers (``options`` are passed to it); see
    :func:`objspec.environments.strategies.limit_average_rewards`.
    """
    from hypothesis import strategies as st

    from objspec.mdp.strategies import rewards

    @st.composite
    def limit_average_rewards(draw: st.DrawFn, env: FiniteMDP) -> Any:

        return LimitAverageReward(draw(rewards(env, integers=draw(st.booleans()))))

    return limit_average_rewards(env, **options)


def _sample_lar(env: FiniteMDP, rng: np.random.Generator) -> Any:
    return LimitAverageReward(random_reward(rng, env))


def _read_lar(fields: SpecificationFields) -> LimitAverageReward:
    return LimitAverageReward(fields.array("reward"))


formalism(
    "LAR",
    name="limit-average rewards",
    level="trajectory",
    exact=True,
    gymnasium=lambda spec, env: ("reward", spec.reward, 1.0),
    expectation=True,
    strategy=_strategy_lar,
    sampler=_sample_lar,
    reader=SpecificationReader(("reward",), _read_lar),
    optimiser=LAR_OPTIMISER,
    fitter=Fitter(fit_limit_average, "max-margin LP over long-run (Cesaro) occupancy "
                  "measures (HiGHS); exact verification in rationals; certificate by Motzkin "
                  "multipliers"),
)(LimitAverageReward)
