"""Limit-average rewards (LAR): the long-run average of a Markov reward, no discount."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from objspec.formalisms._sampling import random_reward
from objspec.formalisms._support import as_reward, expected_reward, reward_scale
from objspec.formalisms.base import RealValuedEvaluator, Specification, Valuation
from objspec.formalisms.optimisation import OptimiseOptions, Optimiser, Optimum
from objspec.formalisms.reading import SpecificationFields
from objspec.formalisms.registry import SpecificationReader, formalism
from objspec.mdp.longrun import exact_long_run_average, long_run_average
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy

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
        pi = self._batch(policies)
        return self._valued(np.atleast_1d(long_run_average(self.env, pi, self._reward)))

    def exact_value(self, policy: Policy) -> Fraction:
        return exact_long_run_average(self.env, policy, self._spec.reward)


LAR = LimitAverageReward


# ---------------------------------------------------------------- optimisation


def _optimise_lar(spec: LimitAverageReward, env: FiniteMDP,
                  options: OptimiseOptions) -> Optimum:
    """A gain-optimal stationary policy (stationary deterministic policies suffice on
    finite MDPs, also multichain ones: Puterman 1994, Theorem 9.1.8).

    The multichain linear program (:func:`objspec.mdp.gain.gain_optimal_policy`, Puterman
    1994, section 9.3) gives a deterministic policy optimal from every state. Without
    ``exact`` the result is ``"certified"``: :func:`objspec.mdp.gain.gain_upper_bound`
    turns the program's dual values into a proven upper bound ``U >= max_pi J(pi)``, and
    ``bound = U - J(policy)`` plus the evaluator's tie tolerance. With ``exact``,
    multichain policy iteration in rationals
    (:func:`objspec.mdp.exact_control.exact_multichain_policy_iteration`) starts from that
    policy and stops at one whose exact gain and bias solve the multichain optimality
    equations (``"exact"``, the value a Fraction).

    Examples
    --------
    >>> from objspec.environments import E7
    >>> opt = LimitAverageReward([1, 0]).optimise(E7(), exact=True)
    >>> opt.guarantee, opt.value
    ('exact', Fraction(1, 1))
    """
    from objspec.mdp.gain import gain_optimal_policy, gain_upper_bound

    ev = spec.compile(env)
    r = expected_reward(env, spec.reward)
    sol = gain_optimal_policy(env, r)
    A = env.n_actions
    if options.exact:
        from objspec.mdp.exact_control import exact_multichain_policy_iteration

        ex = exact_multichain_policy_iteration(env, spec.reward, start=sol.actions)
        value = sum(ex.values * env.exact_initial(), Fraction(0))
        return Optimum(Policy.deterministic(ex.actions, A), value, "exact",
                       "multichain LP + exact multichain policy iteration in rationals",
                       Fraction(0),
                       evidence="the exact gain and bias of the policy solve the multichain "
                                "optimality equations (no action improves either)",
                       iterations=sol.iterations + ex.iterations)
    policy = Policy.deterministic(sol.actions, A)
    value = float(ev.valuation([policy]).values[0])
    scale = max(1.0, reward_scale(spec.reward))
    u, sweeps = gain_upper_bound(env, r, sol.bias, deadline=options.deadline,
                                 target=1e-12 * scale)
    upper = float(env.initial @ u) + env.n_states * 1e-16 * float(np.abs(u).max())
    bound = max(0.0, upper - value) + ev.tie_tolerance
    return Optimum(policy, value, "certified", "multichain LP (HiGHS) + superharmonic bound",
                   bound, evidence=f"proven upper bound {upper!r} on the optimal gain "
                                   f"(superharmonic majorant, {sweeps} sweeps)",
                   iterations=sol.iterations + sweeps)


#: The LAR optimiser: the multichain linear program, certified or verified exactly.
LAR_OPTIMISER = Optimiser(
    _optimise_lar,
    "multichain LP (HiGHS) with a superharmonic upper bound; exact multichain policy "
    "iteration in rationals with exact=True",
    "exact",
    "polynomial: linear programming (Puterman 1994, section 9.3)",
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
    gymnasium=True,
    expectation=True,
    strategy=_strategy_lar,
    sampler=_sample_lar,
    reader=SpecificationReader(("reward",), _read_lar),
    optimiser=LAR_OPTIMISER,
)(LimitAverageReward)
