"""Regularised RL (RRL): a Markov reward minus a policy regulariser at every step."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from objspec.errors import InvalidSpecificationError
from objspec.formalisms._sampling import quadratic, random_discount, random_reward
from objspec.formalisms._support import as_reward, expected_reward, reachable_states
from objspec.formalisms.base import RealValuedEvaluator, Specification, Valuation
from objspec.formalisms.optimisation import (
    OptimiseOptions,
    Optimiser,
    Optimum,
    generic_optimise,
)
from objspec.formalisms.reading import SpecificationFields
from objspec.formalisms.registry import SpecificationReader, formalism
from objspec.formalisms.regularisers import (
    KLToReference,
    NegativeEntropy,
    Regulariser,
    as_regulariser,
)
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


# ---------------------------------------------------------------- optimisation


def _reference(spec: RegularisedRL, env: FiniteMDP) -> np.ndarray | None:
    """The KL reference as ``[S, A]`` (None for the entropy)."""
    reg = spec.regulariser
    if isinstance(reg, KLToReference):
        return np.broadcast_to(reg.reference, (env.n_states, env.n_actions))
    return None


def _vertex_mdp(spec: RegularisedRL, env: FiniteMDP) -> tuple[FiniteMDP, np.ndarray]:
    """The environment restricted to the actions of finite ``F(e_a)`` and the reward
    ``r(s, a) - alpha F_s(e_a)`` of the deterministic choices (alpha <= 0)."""
    import scipy.sparse as sp

    from objspec.errors import InvalidModelError

    r = expected_reward(env, spec.reward)
    ref = _reference(spec, env)
    if ref is None:  # negative entropy vanishes at the vertices
        return env, r
    allowed = env.enabled & (ref > 0)
    # F_s(e_a) = KL(e_a || ref_s) = -log ref_s(a): -alpha F = alpha log ref
    bonus = float(spec.alpha) * np.log(np.where(ref > 0, ref, 1.0))
    if allowed.all():
        return env, r + bonus
    keep = sp.diags(allowed.ravel().astype(np.float64))
    try:
        sub = FiniteMDP((keep @ env.transition_matrix).tocsr(), env.initial, enabled=allowed)
    except InvalidModelError:
        s = int(np.argmax(~allowed.any(axis=1)))
        raise InvalidSpecificationError(
            f"the KL reference gives probability 0 to every enabled action of state {s}: "
            "every policy has an infinite regulariser there") from None
    return sub, np.where(allowed, r + bonus, 0.0)


def _optimise_rrl(spec: RegularisedRL, env: FiniteMDP, options: OptimiseOptions) -> Optimum:
    """The best stationary policy under RRL, by the strongest method that applies.

    * ``alpha = 0``: ``J`` is the discounted return of ``R``, solved as MR (certified, or
      exact with ``exact``: :func:`objspec.formalisms.markov_reward.optimise_discounted`).
    * Negative entropy or KL with ``alpha > 0`` (a strictly concave regularised
      objective): soft value iteration (:func:`objspec.mdp.soft.soft_value_iteration`),
      ``"certified"`` with the MacQueen bound of the soft Bellman operator. Entropy and KL
      have irrational values, so ``exact`` is refused (by the exact evaluator).
    * Negative entropy or KL with ``alpha < 0``: ``-alpha F`` is convex in the action
      distribution, so in the Bellman equation of the regularised problem (an MDP whose
      actions are distributions ``p`` with reward ``sum_a p_a r(s,a) - alpha F(p)``) the
      maximum over the simplex is attained at a vertex: the optimum is that of the MR with
      reward ``r(s, a) - alpha F_s(e_a)`` (``F(e_a)`` is 0 for the entropy and
      ``-log ref_s(a)`` for KL) over the actions where ``F_s(e_a)`` is finite. Solved by
      certified value/policy iteration.
    * A regulariser declared convex with its gradient and minimum
      (:func:`~objspec.formalisms.regularisers.squared_distance_to`, or a subclass of
      :class:`~objspec.formalisms.regularisers.Regulariser`) with ``alpha > 0``:
      Frank-Wolfe over occupancy measures with a certified duality gap
      (:func:`_frank_wolfe_rrl`).
    * Any other regulariser (a user callable, whose convexity objspec cannot establish):
      the generic search (:func:`objspec.formalisms.optimisation.generic_optimise`,
      ``"local"`` at best).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.environments import E3
    >>> from objspec.formalisms.regularisers import negative_entropy
    >>> opt = RegularisedRL(np.zeros(2), negative_entropy, 1.0, 0.5).optimise(E3())
    >>> opt.guarantee, opt.policy.probabilities.round(6).tolist(), opt.bound < 1e-8
    ('certified', [[0.5, 0.5], [0.5, 0.5]], True)
    """
    from objspec.formalisms.markov_reward import optimise_discounted

    alpha = float(spec.alpha)
    reg = spec.regulariser
    if options.exact:
        spec.compile(env, exact=True)  # raises for entropy and KL (irrational values)
    if alpha == 0.0:
        return optimise_discounted(env, spec.reward, spec.gamma, options,
                                   what="alpha = 0, as MR: ")
    if not isinstance(reg, (NegativeEntropy, KLToReference)):
        if alpha > 0.0 and reg.convex and reg.minimum(env.n_actions, 0) is not None:
            return _frank_wolfe_rrl(spec, env, options)
        return generic_optimise(spec, env, options)
    if alpha < 0.0:
        sub, r = _vertex_mdp(spec, env)
        found = optimise_discounted(sub, r, spec.gamma, options,
                                    what="alpha < 0, convex F: vertex MR, ")
        return found
    from objspec.mdp.soft import soft_value_iteration

    gamma = float(spec.gamma)
    r = expected_reward(env, spec.reward)
    scale = max(1.0, float(np.abs(r).max(initial=0.0)), alpha * np.log(env.n_actions)) / (
        1.0 - gamma)
    sol = soft_value_iteration(env, r, gamma, alpha, _reference(spec, env),
                               tol=1e-9 * scale, deadline=options.deadline)
    kind = "entropy" if isinstance(reg, NegativeEntropy) else "KL"
    return Optimum(Policy(sol.policy), None, "certified", f"soft value iteration ({kind})",
                   float(sol.policy_error_bound),
                   evidence=("MacQueen bounds of the soft Bellman operator: "
                             "max_s V*(s) - V_pi(s) <= bound" +
                             ("" if sol.converged else "; stopped before the target")),
                   iterations=sol.iterations)


def _frank_wolfe_rrl(spec: RegularisedRL, env: FiniteMDP, options: OptimiseOptions) -> Optimum:
    """RRL with a convex regulariser ``F`` (declared, with its gradient and minimum) and
    ``alpha > 0``: in the state-action occupancy ``x`` (``d_s = sum_a x(s, a)``),
    ``J(x) = <r, x> - alpha sum_s d_s F(x_s / d_s)`` is concave (the perspective of a convex
    function is convex), so Frank-Wolfe over the occupancy polytope
    (:func:`objspec.mdp.occupancy_polytope.frank_wolfe`, optimal control as the linear
    oracle) stops with a certified gap ``max J - J(x)``. The supergradient of the
    perspective is ``F(p) + grad F(p)_a - <p, grad F(p)>`` at a visited state
    (``p = x_s / d_s``) and the constant ``min F`` at an unvisited one (a valid
    supergradient there, since ``d F(y/d) >= d min F``)."""
    from objspec.mdp.control import optimal_values
    from objspec.mdp.occupancy_polytope import frank_wolfe, policy_from_occupancy

    S, A = env.n_states, env.n_actions
    gamma, alpha, reg = float(spec.gamma), float(spec.alpha), spec.regulariser
    r = expected_reward(env, spec.reward)  # [S, A]
    floor = np.array([float(reg.minimum(A, s)) for s in range(S)])  # type: ignore[arg-type]
    states = np.arange(S)

    def parts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        X = x.reshape(S, A)
        d = X.sum(axis=1)
        vis = d > 0
        return X, d, vis

    def J(x: np.ndarray) -> float:
        X, d, vis = parts(x)
        P = X[vis] / d[vis, None]
        vals: Any = reg._batch_values(P[:, None, :], states[vis])[:, 0] if vis.any() else []
        return float((X * r).sum() - alpha * float(np.dot(d[vis], vals)))

    def grad(x: np.ndarray) -> np.ndarray:
        X, d, vis = parts(x)
        G = r.copy()
        if vis.any():
            P = X[vis] / d[vis, None]
            Fv = reg._batch_values(P[:, None, :], states[vis])[:, 0]
            g = reg.gradient(P, states[vis])
            assert g is not None  # declared with the convex flag
            G[vis] -= alpha * (Fv[:, None] + g - (P * g).sum(axis=1, keepdims=True))
        G[~vis] -= alpha * floor[~vis, None]
        return G.ravel()

    scale = max(1.0, float(np.abs(r).max(initial=0.0))) / (1.0 - gamma)
    starts = [np.asarray(optimal_values(env, r, gamma, tol=1e-10).policies),
              np.array([int(np.flatnonzero(env.enabled[s])[0]) for s in range(S)])]
    res = frank_wolfe(env, gamma, J, grad, starts, tol=1e-7 * scale, expired=options.expired)
    policy = policy_from_occupancy(env, res.occupancy.reshape(S, A))
    return Optimum(policy, None, "certified",
                   f"Frank-Wolfe over occupancy measures (convex regulariser {reg!r})",
                   float(res.gap) + 1e-9 * scale,
                   evidence=("certified Frank-Wolfe duality gap (concave J: the perspective "
                             "of a convex F)" + ("" if res.converged else
                                                 "; stopped before the target gap")),
                   iterations=res.iterations)


#: The RRL optimiser: soft value iteration for entropy and KL.
RRL_OPTIMISER = Optimiser(
    _optimise_rrl,
    "soft value iteration (entropy, KL, alpha > 0); Frank-Wolfe over occupancy measures "
    "(declared convex regulariser, alpha > 0); certified value iteration on the vertex MDP "
    "(alpha <= 0); generic local search for other regularisers",
    "certified",
    "entropy/KL: soft value iteration, a gamma-contraction, O(log(1/eps) / (1 - gamma)) "
    "sweeps of O(nnz) each (Geist, Scherrer and Pietquin, ICML 2019); declared convex F: a "
    "concave maximisation over the occupancy polytope, Frank-Wolfe with a certified duality "
    "gap, O(1/t) (Jaggi 2013); other regularisers: a local search",
)


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
    optimiser=RRL_OPTIMISER,
)(RegularisedRL)
