"""Regularised RL (RRL): a Markov reward minus a policy regulariser at every step."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from objspec.errors import InvalidSpecificationError
from objspec.formalisms._sampling import quadratic, random_discount, random_reward
from objspec.formalisms._support import as_reward, expected_reward, reachable_states
from objspec.formalisms.base import RealValuedEvaluator, Specification, Valuation
from objspec.formalisms.reading import SpecificationFields
from objspec.formalisms.registry import SpecificationReader, formalism
from objspec.formalisms.regularisers import Regulariser, as_regulariser
from objspec.mdp.evaluation import evaluate, state_visitation
from objspec.mdp.exact import exact_expected_return, exact_state_visitation
from objspec.mdp.model import FiniteMDP, to_fraction
from objspec.mdp.policy import Policy
from objspec.mdp.rewards import check_discount

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["RegularisedRL", "RRL"]


class RegularisedRL(Specification):
    r"""Regularised RL (RRL): reward minus ``alpha`` times a regulariser of the policy.

    **Definition** (docs/theory.md#def-rrl; Subramani et al., ICLR 2024,
    arXiv 2310.11840). A specification is ``(R, F, alpha, gamma)`` with a regulariser
    ``F: Delta(A) -> R`` (e.g. negative entropy, KL to a reference) and a weight
    ``alpha`` in ``R``:

    .. math:: J(\pi) = E\Big[\sum_t \gamma^t \big(R(x_t) - \alpha F(\pi(\cdot|s_t))\big)\Big]
              = \langle R, m_\gamma^\pi \rangle - \alpha \sum_s d_\gamma^\pi(s) F(\pi(\cdot|s)).

    States the policy never reaches have ``d(s) = 0`` and contribute nothing; ``F`` is not
    evaluated there (reachability is read exactly from the supports).

    **Evaluation.** ``<R, m>`` and ``d`` of all policies come from batched linear solves
    (certified about ``1e-12`` relative); built-in regularisers are evaluated on the whole
    batch with numpy, a user callable once per (policy, reachable state). Float ties:
    within ``1e-9 * max(1, max |J|)``. ``compile(env, exact=True)`` computes ``<R, m>``,
    ``d`` and ``alpha`` exactly and calls ``F`` on Fraction distributions; it is available
    for rational regularisers (user callables returning rationals) and raises for
    entropy and KL, whose values are irrational.

    Parameters
    ----------
    reward : array_like
        ``[S]``, ``[S, A]`` or ``[S, A, S]``.
    regulariser : callable or objspec.formalisms.regularisers.Regulariser
        ``F`` on one 1-D action distribution, or ``negative_entropy`` / ``kl_to(ref)``.
    alpha : float or Fraction
        Weight of the regulariser (any finite real).
    gamma : float or Fraction
        Discount in ``[0, 1)``.

    Examples
    --------
    N4: with ``R = 0``, negative entropy and ``alpha = 1`` on E3,
    ``J = H(pi(s0)) + gamma / (1 - gamma) H(pi(s1))``:

    >>> import numpy as np
    >>> from objspec.environments import E3
    >>> from objspec.formalisms.regularisers import negative_entropy
    >>> spec = RegularisedRL(np.zeros(2), negative_entropy, alpha=1.0, gamma=0.5)
    >>> value = spec.compile(E3()).value([[0.5, 0.5], [0.5, 0.5]])
    >>> bool(np.isclose(value, 2 * np.log(2)))
    True
    """


    def __init__(self, reward: Any, regulariser: Any, alpha: Any, gamma: Any) -> None:
        self.reward = as_reward(reward)
        self.regulariser: Regulariser = as_regulariser(regulariser)
        try:
            a = float(alpha)
        except (TypeError, ValueError):
            raise InvalidSpecificationError(f"alpha = {alpha!r} is not a number") from None
        if not np.isfinite(a):
            raise InvalidSpecificationError(f"alpha = {alpha!r} is not finite")
        check_discount(gamma)
        self.alpha = alpha
        self.gamma = gamma

    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> RegularisedEvaluator:
        """Evaluator in ``env``; ``exact=True`` needs a rational regulariser."""
        return RegularisedEvaluator(self, env, exact=bool(exact))

    def __repr__(self) -> str:
        return (
            f"RegularisedRL(reward shape {list(self.reward.shape)}, "
            f"regulariser={self.regulariser!r}, alpha={self.alpha}, gamma={self.gamma})"
        )


class RegularisedEvaluator(RealValuedEvaluator[RegularisedRL]):
    """Evaluator of a :class:`RegularisedRL`."""

    def __init__(self, spec: RegularisedRL, env: FiniteMDP, *, exact: bool) -> None:
        super().__init__(spec, env)
        self._spec = spec
        self._reward = expected_reward(env, spec.reward)  # [S, A]
        spec.regulariser.check_environment(env.n_states, env.n_actions)
        if exact and not spec.regulariser.rational:
            raise InvalidSpecificationError(
                f"regulariser {spec.regulariser!r} has irrational values (logarithms); RRL "
                "with it cannot be evaluated in exact arithmetic: compile without exact=True"
            )
        self.exact = exact
        self.method = "exact rational" if exact else "linear solve"
        self.tie_tolerance = 1e-9

    def valuation(self, policies: Any) -> Valuation:
        pi = self._batch(policies)
        gamma = float(self._spec.gamma)
        returns = np.atleast_1d(evaluate(self.env, pi, self._reward, gamma).returns)
        d = state_visitation(self.env, pi, gamma).reshape(pi.shape[0], -1)
        mask = reachable_states(self.env, pi)
        reg = self._spec.regulariser.values(pi, mask)
        vals = returns - float(self._spec.alpha) * (np.where(mask, d, 0.0) * reg).sum(axis=1)
        return self._valued(vals, relative=1e-9)

    def exact_value(self, policy: Policy) -> Fraction:
        spec = self._spec
        ret = Fraction(exact_expected_return(self.env, policy, spec.reward, spec.gamma))
        d = exact_state_visitation(self.env, policy, spec.gamma)
        probs = policy.exact_probabilities()
        mask = reachable_states(self.env, policy.probabilities[None])[0]
        total = Fraction(0)
        for s in np.flatnonzero(mask):
            total += d[s] * spec.regulariser.exact_value(probs[s].copy(), int(s))
        return ret - to_fraction(spec.alpha) * total


RRL = RegularisedRL


# ---------------------------------------------------------------- registration


def _strategy_rrl(env: FiniteMDP, **options: Any) -> SearchStrategy[Any]:
    """:class:`~objspec.formalisms.RegularisedRL` specifications: negative entropy or KL
    to a random full-support reference policy, weight ``alpha`` in ``[-2, 2]``.

    The hypothesis strategy this formalism registers (``options`` are passed to it); see
    :func:`objspec.environments.strategies.regularised`.
    """
    from hypothesis import strategies as st

    from objspec.mdp.strategies import discounts, policies, rewards

    @st.composite
    def regularised(draw: st.DrawFn, env: FiniteMDP) -> Any:
        from objspec.formalisms import RegularisedRL, regularisers

        if draw(st.booleans()):
            reg: Any = regularisers.negative_entropy
        else:
            reference = draw(policies(env, "interior"))
            reg = regularisers.kl_to(reference.probabilities)
        alpha = draw(st.floats(-2.0, 2.0, allow_nan=False))
        return RegularisedRL(draw(rewards(env)), reg, alpha, draw(discounts()))

    return regularised(env, **options)


def _sample_rrl(env: FiniteMDP, rng: np.random.Generator) -> Any:
    alpha = Fraction(int(rng.integers(-2, 3)), 2)
    return RegularisedRL(random_reward(rng, env), quadratic, alpha, random_discount(rng))


def _read_rrl(fields: SpecificationFields) -> RegularisedRL:
    from objspec import expressions
    from objspec.formalisms import regularisers

    text = fields.raw("regulariser")
    reg: Any = (regularisers.negative_entropy if text == "negative_entropy" else
                expressions.distribution_function(text, fields.n_actions,
                                                  where=fields.path("regulariser")))
    return RegularisedRL(fields.array("reward"), reg, fields.number("alpha"),
                         fields.number("gamma"))


formalism(
    "RRL",
    name="regularised RL",
    level="occupancy",
    exact=True,
    strategy=_strategy_rrl,
    sampler=_sample_rrl,
    reader=SpecificationReader(("reward", "regulariser", "alpha", "gamma"), _read_rrl),
)(RegularisedRL)
