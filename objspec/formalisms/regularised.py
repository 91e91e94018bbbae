"""Regularised RL (RRL): a Markov reward minus a policy regulariser at every step."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from objspec.errors import (
    CertificateError,
    InvalidSpecificationError,
    NoFitFoundError,
    NotExpressibleError,
)
from objspec.formalisms._fit_linear import (
    exact_occupancy_rows,
    fit_linear,
    occupancy_features,
    policies_of,
)
from objspec.formalisms._sampling import quadratic, random_discount, random_reward
from objspec.formalisms._support import as_reward, expected_reward, reachable_states
from objspec.formalisms.base import RealValuedEvaluator, Specification, Valuation
from objspec.formalisms.fitting import (
    Comparisons,
    FeatureMap,
    Fit,
    FitOptions,
    Fitter,
    certificate_for,
    not_expressible,
)
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
    perspective_supergradient,
    regulariser_floor,
    squared_distance_to,
)
from objspec.mdp.evaluation import evaluate, state_visitation
from objspec.mdp.exact import exact_discount, exact_expected_return, exact_state_visitation
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
      (:func:`~objspec.formalisms.regularisers.squared_distance_to`, a subclass of
      :class:`~objspec.formalisms.regularisers.Regulariser`, or a user callable declared
      with ``as_regulariser(F, convex=True, gradient=...)``, whose declaration is tested
      first and refused with a named error when false) with ``alpha > 0``:
      Frank-Wolfe over occupancy measures with a certified duality gap
      (:func:`_frank_wolfe_rrl`).
    * Any other regulariser (an undeclared user callable, whose convexity objspec cannot
      establish):
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
    floor = regulariser_floor(reg, S, A)
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
        return (r - alpha * perspective_supergradient(reg, x.reshape(S, A), floor)).ravel()

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


# ---------------------------------------------------------------- fitting


def _regulariser_term(env: FiniteMDP, policies: Sequence[Policy], reg: Regulariser,
                      gamma: Any) -> np.ndarray:
    """Float ``sum_s d_gamma^pi(s) F(pi(.|s))`` of each policy (``F`` only where reached)."""
    ev = RegularisedEvaluator(RegularisedRL(np.zeros(env.n_states), reg, -1, gamma), env,
                              exact=False)
    return np.atleast_1d(ev.values(list(policies)))


def _regularised_feature_map(reg: Regulariser, alpha: Any, gamma: Any,
                             n_pairs: int) -> FeatureMap:
    """Exact features ``[m_pi, -alpha sum_s d(s) F(pi(.|s))]`` (``alpha`` None: free, ``1``).

    With a given ``alpha`` the last coordinate of ``c`` must be positive (it is the scale
    ``k`` of ``J = (<m, r> - alpha sum d F) / k``); with a free ``alpha`` it is ``alpha``.
    """
    g = exact_discount(gamma)
    a = Fraction(1) if alpha is None else to_fraction(alpha)

    def precondition(env: FiniteMDP | None, items: Sequence[Any]) -> None:
        if not reg.rational:
            raise CertificateError(
                f"regulariser {reg!r} has irrational values: no exact features")

    def compute(env: FiniteMDP | None, items: Sequence[Any]) -> list[list[Fraction]]:
        assert env is not None
        precondition(env, items)
        occ = exact_occupancy_rows(env, items, g)
        ev = RegularisedEvaluator(RegularisedRL(np.zeros(env.n_states), reg, -1, g), env,
                                  exact=True)
        return [row + [-a * Fraction(ev.exact_value(p))] for row, p in zip(occ, items,
                                                                            strict=True)]

    which = "alpha" if alpha is None else f"the scale k of (r, alpha = {a})"
    return FeatureMap(
        f"the discounted occupancy measure and the regulariser term (gamma = {g})",
        f"every regularised RL value with regulariser {reg!r} is J(pi) = sum_(s, a) "
        f"m_pi(s, a) r(s, a) - alpha sum_s d_pi(s) F(pi(.|s)), linear in (r, {which}) "
        f"(m_pi, d_pi: the discounted occupancy and visitation, gamma = {g})",
        compute,
        precondition,
        positive=() if alpha is None else (n_pairs,),
    )


def _l3_feature_map(env: FiniteMDP, policies: Sequence[Policy]) -> FeatureMap:
    """Lemma L3 as a certificate feature map: one-hot per (state, action distribution).

    The columns are fixed by the rows of ``policies`` (the data's), so the features of any
    subset of them are the same vectors (a policy with a row outside this universe is
    refused by ``compute``).
    """
    from objspec.structural import L3

    universe: list[list[tuple[Fraction, ...]]] = []
    for s in range(env.n_states):
        rows = {tuple(Fraction(x) for x in p.exact_probabilities()[s]) for p in policies}
        universe.append(sorted(rows))

    def precondition(env: FiniteMDP | None, items: Sequence[Any]) -> None:
        assert env is not None
        L3.check_precondition(env, list(items), ())

    def compute(env: FiniteMDP | None, items: Sequence[Any]) -> list[list[Fraction]]:
        assert env is not None
        out = []
        for p in items:
            pi = p.exact_probabilities()
            row: list[Fraction] = []
            for s, keys in enumerate(universe):
                key = tuple(Fraction(x) for x in pi[s])
                if key not in keys:
                    raise CertificateError(
                        f"L3 features: the action distribution {[str(x) for x in key]} of "
                        f"state {s} is not among those the features list")
                row.extend(Fraction(int(key == k)) for k in keys)
            out.append(row)
        return out

    return FeatureMap(
        "one-hot (state, action distribution) indicators (lemma L3)",
        "in this environment every action has the same successor distribution in every "
        "state, so the visitation d_gamma does not depend on the policy and every RRL value "
        "(any regulariser, any alpha, any reward) is J(pi) = sum_s g_s(pi(.|s)), additively "
        "separable across states (lemma L3, docs/theory.md#lemmas): linear in one-hot "
        "features per (state, action distribution)",
        compute,
        precondition,
    )


def _l3_certificate(env: FiniteMDP, data: Comparisons) -> Any:
    """The L3 certificate (no RRL with any regulariser), or None where L3 gives none."""
    from objspec.structural import L3

    policies = policies_of(data, "RRL")
    try:
        L3.check_precondition(env, list(policies), ())
    except CertificateError:
        return None
    return certificate_for("RRL", env, data, _l3_feature_map(env, policies),
                           description="regularised RL (any regulariser, any alpha)")


def fit_regularised(env: FiniteMDP, data: Comparisons, options: FitOptions) -> Fit:
    r"""Fit regularised RL: the reward (and ``alpha`` unless given) for a regulariser.

    For fixed policies ``J(pi) = <m_pi, r> - alpha sum_s d_pi(s) F(pi(.|s))`` is affine in
    ``r``: with features ``phi(pi) = [m_pi, -alpha sum_s d_pi(s) F(pi(.|s))]`` and unknown
    ``c = (r, k)``, ``J(pi) = <phi(pi), c>`` at ``k = 1``. Every positive ``k`` orders the
    policies like ``k = 1`` does with reward ``r / k``, so the max-margin LP
    (:func:`objspec.formalisms.fitting.max_margin`) is solved with ``k`` required positive
    (``FeatureMap.positive``) and the fitted reward is ``r / k``. Keywords:

    * ``regulariser=F, alpha=a``: both as given (the formalism's definition with a given
      regulariser and weight); a certificate proves that no reward works with them.
    * ``regulariser=F`` without ``alpha``: ``alpha`` is fitted too (any sign, ``0``
      included): features ``[m_pi, -sum_s d_pi(s) F(pi(.|s))]``, unknown ``(r, alpha)``.
    * no ``regulariser`` (or ``regulariser=None``): *any* regulariser. Where lemma L3
      applies (every action has the same successor distribution in every state,
      :data:`objspec.structural.L3`) every RRL value is additively separable across
      states, and an infeasible L3 system is a certificate that no RRL with any
      regulariser explains the data. Otherwise (or when L3's features can explain the
      data) the fit uses :func:`~objspec.formalisms.regularisers.squared_distance_to`
      (uniform reference) with a fitted ``alpha``; if that fails, the answer is
      :class:`~objspec.errors.NoFitFoundError` (other regularisers are not excluded).

    Entropy and KL regularisers have irrational values: ``exact=True`` is refused for them
    and infeasibility is only certified through L3 (elsewhere a
    :class:`~objspec.errors.NoFitFoundError` says the float LP found no margin).

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> from objspec.environments import E3
    >>> from objspec.formalisms.regularisers import squared_distance_to
    >>> from objspec.learning import Comparisons, fit
    >>> mixed, pure = [[F(1, 2), F(1, 2)], [1, 0]], [[1, 0], [1, 0]]
    >>> data = Comparisons(policies=[mixed, pure], pairs=[(0, 1, ">")])
    >>> result = fit("RRL", E3(), data, gamma=F(1, 2), regulariser=squared_distance_to(),
    ...              alpha=1, exact=True)
    >>> result.exact, result.spec.compile(E3(), exact=True).compare(mixed, pure)
    (True, 1)
    """
    gamma = options.need_gamma("RRL")
    policies = policies_of(data, "RRL")
    given = options.take("regulariser", None)
    alpha = options.take("alpha", None)
    if data.demonstrations:
        raise InvalidSpecificationError(
            "fit(RRL): demonstrations are fitted for Markov rewards only (inverse RL, "
            "fit('MR', ...)); this fitter compares policies")
    if not options.soft:
        data.check_consistent()
    if given is None:
        if alpha is not None:
            raise InvalidSpecificationError(
                "fit(RRL): alpha= is given without regulariser=; without a regulariser the "
                "fit ranges over every regulariser (and so every weight)")
        cert = _l3_certificate(env, data)
        if cert is not None:
            raise not_expressible("RRL", cert)
        try:
            return _fit_rrl_with(env, data, options, policies, squared_distance_to(), None,
                                 gamma, any_regulariser=True)
        except NotExpressibleError as exc:
            raise NoFitFoundError(
                "fit(RRL): no regularised RL with the default regulariser "
                "squared_distance_to(uniform) and any alpha explains the data "
                f"({exc}); other regularisers are not excluded (lemma L3, which covers them "
                "all, does not apply to this environment or cannot separate the data)"
            ) from None
    reg = as_regulariser(given)
    reg.check_environment(env.n_states, env.n_actions)
    if alpha is not None:
        try:
            a = float(alpha)
        except (TypeError, ValueError):
            raise InvalidSpecificationError(f"fit(RRL): alpha={alpha!r} is not a number"
                                            ) from None
        if not np.isfinite(a):
            raise InvalidSpecificationError(f"fit(RRL): alpha={alpha!r} is not finite")
    if options.exact and not reg.rational:
        raise InvalidSpecificationError(
            f"fit(RRL): regulariser {reg!r} has irrational values (logarithms), so the fit "
            "cannot be verified in rational arithmetic: use exact=False, or a rational "
            "regulariser such as squared_distance_to()")
    return _fit_rrl_with(env, data, options, policies, reg, alpha, gamma,
                         any_regulariser=False)


def _fit_rrl_with(env: FiniteMDP, data: Comparisons, options: FitOptions,
                  policies: Sequence[Policy], reg: Regulariser, alpha: Any, gamma: Any,
                  *, any_regulariser: bool) -> Fit:
    S, A = env.n_states, env.n_actions
    SA = S * A
    a_float = 1.0 if alpha is None else float(alpha)

    def features() -> np.ndarray:
        occ = occupancy_features(env, policies, float(gamma))
        term = _regulariser_term(env, policies, reg, gamma)
        return np.hstack([occ, (-a_float * term)[:, None]])

    def build(c: np.ndarray) -> RegularisedRL:
        c = np.asarray(c)
        if alpha is None:
            return RegularisedRL(c[:SA].reshape(S, A), reg, c[SA], gamma)
        k = c[SA]
        return RegularisedRL((c[:SA] / k).reshape(S, A), reg, alpha, gamma)

    fm = _regularised_feature_map(reg, alpha, gamma, SA)
    g = exact_discount(gamma)
    if alpha is None:
        description = f"regularised RL (regulariser {reg!r}, any alpha, gamma = {g})"
        normalisation = "max(|r(s, a)|, |alpha|) <= 1"
    else:
        description = f"regularised RL (regulariser {reg!r}, alpha = {alpha}, gamma = {g})"
        normalisation = ("LP over (r, k) with max(|r(s, a)|, k) <= 1, k > 0; the fitted "
                         "reward is r / k and its value gaps are margin / k "
                         "(details['scale'] = k)")
    method = ("max-margin LP over the discounted occupancy and the regulariser term (HiGHS)"
              + (", soft (L1 slack)" if options.soft else "")
              + ("; any regulariser: lemma L3 checked first, then the default "
                 "squared_distance_to(uniform) with a fitted alpha" if any_regulariser else ""))
    try:
        result = fit_linear(
            "RRL", env, data, options,
            features=features, feature_map=fm, build=build, method=method,
            normalisation=normalisation, description=description)
    except NoFitFoundError as exc:
        if reg.rational or exc.bound is not None:
            raise
        cert = _l3_certificate(env, data)
        if cert is not None:
            raise not_expressible("RRL", cert) from None
        raise NoFitFoundError(
            f"fit(RRL): the LP finds no positive margin for regulariser {reg!r}, but its "
            "values are irrational, so no exact certificate over its features exists (and "
            "lemma L3 does not apply or cannot separate the data): not a proof"
        ) from None
    if alpha is not None:
        scale = result.details["coefficients"][SA]
        from dataclasses import replace

        return replace(result, details={**result.details, "scale": scale})
    return result


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
    fitter=Fitter(fit_regularised, "max-margin LP over the discounted occupancy and the "
                  "regulariser term, the regulariser (and alpha, if given) fixed; lemma L3 "
                  "certificates for any regulariser; exact in rationals for rational "
                  "regularisers", decides=False),
)(RegularisedRL)
