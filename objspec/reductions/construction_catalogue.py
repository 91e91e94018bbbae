"""The constructions of docs/theory.md#constructions: one function per edge, proof in the docstring.

Every function maps a specification of the weaker formalism (and, where registered with
``needs_env``, the environment) to a specification of the stronger one that induces the same
total preorder on policies, ties included. ``needs_size`` marks constructions whose output
depends only on ``(S, A)``: they read the size from the ``env`` argument.

Examples
--------
>>> import numpy as np
>>> from fractions import Fraction as F
>>> from objspec import Policy
>>> from objspec.environments import E3
>>> from objspec.formalisms import MarkovReward
>>> mr = MarkovReward([[1, 0], [0, 0]], F(1, 2))
>>> onmr = markov_reward_to_outer_nonlinear(mr)
>>> pi = Policy([[F(1, 3), F(2, 3)], [1, 0]])
>>> onmr.compile(E3(), exact=True).exact_value(pi) == mr.compile(E3(), exact=True).exact_value(pi)
True
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from objspec.errors import InvalidModelError, InvalidPolicyError
from objspec.formalisms import (
    GeneralisedOuterMORL,
    InnerMORL,
    InnerNonlinearMarkovReward,
    LimitAverageReward,
    LinearTemporalLogic,
    MarkovReward,
    OccupancyMeasureFunction,
    OccupancyMeasureOrdering,
    OuterMORL,
    OuterNonlinearMarkovReward,
    PolicyFunction,
    PolicyOrdering,
    RegularisedRL,
    RewardMachine,
    TrajectoryFunction,
    TrajectoryLotteryFunction,
    TrajectoryLotteryOrdering,
)
from objspec.formalisms._support import OrderEvaluator, StatisticEvaluator
from objspec.formalisms.regularisers import perspective_supergradient, regulariser_floor
from objspec.mdp.evaluation import occupancy_measure
from objspec.mdp.exact import exact_occupancy_measure, has_exact_model
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy
from objspec.mdp.reachability import canonical_policies
from objspec.reductions.registry import construction

__all__ = [
    "markov_reward_to_outer_nonlinear",
    "markov_reward_to_regularised",
    "markov_reward_to_inner_nonlinear",
    "outer_nonlinear_to_outer_morl",
    "outer_morl_to_occupancy_function",
    "occupancy_function_to_outer_morl",
    "outer_morl_to_generalised",
    "generalised_to_occupancy_ordering",
    "occupancy_ordering_to_generalised",
    "occupancy_function_to_occupancy_ordering",
    "regularised_to_occupancy_function",
    "occupancy_function_to_policy_function",
    "occupancy_ordering_to_policy_ordering",
    "policy_function_to_policy_ordering",
    "trajectory_lottery_function_to_occupancy_function",
    "lottery_ordering_to_occupancy_ordering",
    "inner_product",
    "recover_policy",
    "policy_occupancy",
    "lottery_of_occupancy",
    "is_exact_number",
    "exact_mode",
    "OccupancyPolicyFunction",
    "OccupancyPolicyOrdering",
    "not_digit_encodable",
    "zero_regulariser",
]


# ---------------------------------------------------------------- helpers


def inner_product(reward: np.ndarray, m: np.ndarray) -> Any:
    """``<R, m>`` for a reward ``[S]``, ``[S, A]`` or ``[S, A, S]`` and an occupancy
    ``[S, A, S]``; exact (Fractions) when both are.

    Examples
    --------
    >>> import numpy as np
    >>> inner_product(np.array([1.0, 2.0]), np.ones((2, 1, 2)))
    6.0
    """
    m = np.asarray(m)
    terms = (_full_shape(np.asarray(reward), m.shape) * m).ravel()
    total: Any = Fraction(0) if m.dtype == object else 0.0
    for x in terms:
        total = total + x
    return total if m.dtype == object else float(total)


def recover_policy(
    m: np.ndarray, enabled: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(d, pi)`` from an occupancy measure: ``d(s) = sum_{a,s'} m(s,a,s')`` and
    ``pi(a|s) = sum_{s'} m(s,a,s') / d(s)`` where ``d(s) > 0`` (uniform elsewhere: over
    the actions ``enabled`` ``[S, A]`` marks, if given, else over all actions).

    Exact when ``m`` holds Fractions (the policy-recovery step of docs/theory.md#occupancy-class).

    Examples
    --------
    >>> import numpy as np
    >>> d, pi = recover_policy(np.array([[[0.5], [1.5]]]))
    >>> d.tolist(), pi.tolist()
    ([2.0], [[0.25, 0.75]])
    """
    m = np.asarray(m)
    sa = m.sum(axis=2)
    d = sa.sum(axis=1)
    S, A = sa.shape
    exact = m.dtype == object
    pi = np.empty((S, A), dtype=object if exact else np.float64)
    for s in range(S):
        if d[s] > 0:
            pi[s] = [x / d[s] for x in sa[s]]
        else:
            on = [True] * A if enabled is None else [bool(x) for x in enabled[s]]
            k = sum(on)
            share = Fraction(1, k) if exact else 1.0 / k
            pi[s] = [share if x else (Fraction(0) if exact else 0.0) for x in on]
    return d, pi


def zero_regulariser(dist: Any) -> int:
    """``F = 0`` (rational): RRL with it is plain discounted reward."""
    return 0


def _identity(x: Any) -> Any:
    return x


def _on_first_component(f: Any) -> Any:
    """``v -> f(v[0])``: a function of a scalar as a function of a 1-vector (k = 1)."""

    def first(v: Any) -> Any:
        return f(v[0])

    return first


def _as_one_vector(f: Any) -> Any:
    """``x -> f([x])``: a function of a 1-vector as a function of a scalar (k = 1)."""

    def of_scalar(x: Any) -> Any:
        return f(np.array([x], dtype=object if isinstance(x, Fraction) else np.float64))

    return of_scalar


def not_digit_encodable(acronym: str, target: str = "INMR") -> str:
    """Why objspec builds no ``target`` (INMR or IMORL) specification from a ``acronym``
    one: the message of ``convert`` for LTL, RM, LAR and IMORL with ``k > 1``.

    Examples
    --------
    >>> not_digit_encodable("LTL").split(",")[0]
    'INMR can express every LTL ordering (INMR = FTR >= LTL)'
    """
    what = "a multi-objective IMORL" if acronym == "IMORL" else f"a {acronym}"
    return (
        f"{target} can express every {acronym} ordering ({target} = FTR >= {acronym}), but "
        "objspec cannot build the specification: it encodes a whole trajectory in one "
        "discounted return (docs/theory.md#c-ftr-to-inmr) and decodes a finite prefix, while "
        "the value of "
        f"{what} specification depends on the whole infinite trajectory; convert to 'FTR' "
        f"instead (the same ordering, in {target}'s equivalence class)"
    )


def _gamma_of(spec: Any) -> Any:
    return spec.gamma


#: Above this many state-action pairs the policy-level constructions compute occupancy
#: measures in floating point even for exact specifications (rational solves grow too fast).
EXACT_SIZE_LIMIT = 64


def is_exact_number(x: Any) -> bool:
    """Whether ``x`` is an exact rational (an ``int`` or a :class:`~fractions.Fraction`, not a
    ``bool`` or a float): the test for "exact specification" used by the constructions.

    Examples
    --------
    >>> is_exact_number(Fraction(1, 2)), is_exact_number(0.5), is_exact_number(1)
    (True, False, True)
    """
    return isinstance(x, int | np.integer | Fraction) and not isinstance(x, bool | np.bool_)


def policy_occupancy(env: FiniteMDP, policy: Any, gamma: Any) -> np.ndarray:
    """``m_gamma^pi`` in ``env``: exact for exact specifications, else in floats.

    Exact rational arithmetic (an object array of Fractions) is used when ``gamma`` is an
    exact rational (:func:`is_exact_number`), ``S * A <= EXACT_SIZE_LIMIT`` and both the
    environment and the policy have an exact rational meaning (every float is a dyadic
    rational; a row such as ``[0.1, 0.9]`` does not sum to exactly 1 and has none).
    Otherwise the float solver of :func:`objspec.mdp.occupancy_measure` is used on the
    canonical policy (uniform on unreached states, so two policies with the same
    trajectory lottery give bit-identical measures, lemma L7). A float specification on a
    float environment is therefore evaluated in floats, an exact one on an exact
    environment exactly.

    Examples
    --------
    >>> from objspec.environments import E3
    >>> policy_occupancy(E3(), [[0.25, 0.75], [1.0, 0.0]], 0.5)[0, :, 1].tolist()
    [0.25, 0.75]
    >>> policy_occupancy(E3(), [[0.25, 0.75], [1.0, 0.0]], Fraction(1, 2))[0, 0, 1]
    Fraction(1, 4)
    """
    pi = policy if isinstance(policy, Policy) else Policy(policy)
    if is_exact_number(gamma) and env.n_states * env.n_actions <= EXACT_SIZE_LIMIT:
        try:
            return np.asarray(exact_occupancy_measure(env, pi, gamma))
        except (InvalidModelError, InvalidPolicyError):
            pass  # no exact meaning: evaluate in floats, as the source's float evaluator does
    batch = canonical_policies(env, pi.probabilities[None])
    return np.asarray(occupancy_measure(env, batch, float(gamma)))[0]


def _indicator_rewards(env: FiniteMDP) -> np.ndarray:
    S, A = env.n_states, env.n_actions
    n = S * A * S
    rewards = np.zeros((n, S, A, S), dtype=object)
    rewards[...] = Fraction(0)
    for i in range(n):
        rewards.reshape(n, n)[i, i] = Fraction(1)
    return rewards


def exact_mode(env: FiniteMDP, gamma: Any) -> bool:
    """Whether a policy-level construction's output is evaluated exactly in ``env``: the
    specification is exact (``gamma`` rational), ``S * A <= EXACT_SIZE_LIMIT`` and the
    environment has an exact rational meaning.

    Examples
    --------
    >>> from objspec.environments import E3
    >>> exact_mode(E3(), Fraction(1, 2)), exact_mode(E3(), 0.5)
    (True, False)
    """
    if not is_exact_number(gamma) or env.n_states * env.n_actions > EXACT_SIZE_LIMIT:
        return False
    return has_exact_model(env)


def _batched_occupancies(env: FiniteMDP, policies: np.ndarray, gamma: Any) -> list[np.ndarray]:
    """Float occupancy measures of a batch of canonical policies, one batched solve (the
    computation of the FOMR and OMO float evaluators, so the values agree to the bit)."""
    pis = canonical_policies(env, policies)
    m = np.asarray(occupancy_measure(env, pis, float(gamma)))
    return list(m.reshape(pis.shape[0], *m.shape[-3:]))


class OccupancyPolicyFunction(PolicyFunction):
    """The FPR specification ``f'(pi) = f(m_gamma^pi)`` (in the environment ``env``) that
    :func:`occupancy_function_to_policy_function` builds.

    An ordinary :class:`~objspec.formalisms.PolicyFunction` (``f`` is a function of the
    policy), whose evaluator follows the source: for an exact specification on an exact
    environment (:func:`exact_mode`) values are exact rationals and ties exact; otherwise
    the occupancy measures come from the same batched float solve as the FOMR evaluator
    and values closer than ``1e-9 * max(1, max |J|)`` are tied, as FOMR's float evaluator
    does (``compile(env, exact=False)`` forces this).

    Examples
    --------
    >>> from objspec.environments import E3
    >>> fpr = OccupancyPolicyFunction(np.sum, 0.5, E3())
    >>> fpr.compile(E3()).exact, fpr.compile(E3()).values([[[1, 0], [1, 0]]]).tolist()
    (False, [2.0])
    """

    def __init__(self, f: Any, gamma: Any, env: FiniteMDP) -> None:
        self.occupancy_function = f
        self.gamma = gamma
        self.env = env
        super().__init__(self._of_policy)

    def _of_policy(self, pi: Policy) -> Any:
        return self.occupancy_function(policy_occupancy(self.env, pi, self.gamma))

    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> Any:
        """Exact evaluator for an exact specification on an exact environment, else float."""
        if exact is not False and exact_mode(self.env, self.gamma):
            return super()._evaluator(env, exact)
        return _OccupancyFunctionFloatEvaluator(self, env)


class _OccupancyFunctionFloatEvaluator(StatisticEvaluator[OccupancyPolicyFunction]):
    """Float evaluator of :class:`OccupancyPolicyFunction` (FOMR's tie tolerance)."""

    def __init__(self, spec: OccupancyPolicyFunction, env: FiniteMDP) -> None:
        super().__init__(spec, env, spec.occupancy_function, exact=False, method="linear solve")
        self._spec = spec

    def statistics(self, policies: np.ndarray) -> list[Any]:
        return _batched_occupancies(self._spec.env, policies, self._spec.gamma)

    def exact_statistic(self, policy: Policy) -> Any:
        raise InvalidModelError("this FPR specification was compiled for float evaluation")


class OccupancyPolicyOrdering(PolicyOrdering):
    """The PO specification ``pi >= pi'`` iff ``m^pi >=_M m^pi'`` (in ``env``) that
    :func:`occupancy_ordering_to_policy_ordering` builds.

    An ordinary :class:`~objspec.formalisms.PolicyOrdering` (the order is pulled back
    through ``pi -> m_gamma^pi``), whose evaluator follows the source: exact occupancy
    measures for an exact specification on an exact environment (:func:`exact_mode`),
    otherwise the same batched float solve as the OMO evaluator, so the two compare the
    same float arrays (``compile(env, exact=False)`` forces this).

    Examples
    --------
    >>> from objspec import orders
    >>> from objspec.environments import E3
    >>> po = OccupancyPolicyOrdering(orders.by_key(lambda m: float(m[0, 0].sum())), 0.5, E3())
    >>> po.compile(E3()).rank([[[0.25, 0.75], [1, 0]], [[1, 0], [1, 0]]]).tolist()
    [1, 0]
    """

    def __init__(self, order: Any, gamma: Any, env: FiniteMDP) -> None:
        from objspec import orders

        self.occupancy_order = order
        self.gamma = gamma
        self.env = env

        def occupancy(pi: Policy) -> Any:
            return policy_occupancy(env, pi, gamma)

        super().__init__(orders.pullback(order, occupancy))

    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> Any:
        """Exact evaluator for an exact specification on an exact environment, else float."""
        if exact is not False and exact_mode(self.env, self.gamma):
            return super()._evaluator(env, exact)
        return _OccupancyOrderFloatEvaluator(self, env)


class _OccupancyOrderFloatEvaluator(OrderEvaluator[OccupancyPolicyOrdering]):
    """Float evaluator of :class:`OccupancyPolicyOrdering` (OMO's float objects)."""

    method = "linear solve"

    def __init__(self, spec: OccupancyPolicyOrdering, env: FiniteMDP) -> None:
        super().__init__(spec, env, spec.occupancy_order, exact=False)
        self._spec = spec

    def objects(self, policies: Any) -> list[Any]:
        return _batched_occupancies(self._spec.env, self._batch(policies), self._spec.gamma)

    def exact_objects(self, policies: list[Policy]) -> list[Any]:
        raise InvalidModelError("this PO specification was compiled for float evaluation")


# ---------------------------------------------------------------- 4.1 embeddings


@construction(MarkovReward, OuterNonlinearMarkovReward, reference="docs/theory.md#c-mr-to-onmr")
def markov_reward_to_outer_nonlinear(spec: MarkovReward) -> OuterNonlinearMarkovReward:
    """MR as ONMR with the identity as outer function.

    Proof: ``J_ONMR = f(<R, m>) = <R, m> = J_MR`` for ``f = id`` and the same ``R, gamma``,
    so the two values, hence the two orderings, are equal in every environment.

    Examples
    --------
    >>> from objspec.formalisms import MarkovReward
    >>> markov_reward_to_outer_nonlinear(MarkovReward([1.0], 0.5)).acronym
    'ONMR'
    """
    return OuterNonlinearMarkovReward(spec.reward, _identity, spec.gamma)


@construction(MarkovReward, RegularisedRL, reference="docs/theory.md#c-mr-to-rrl")
def markov_reward_to_regularised(spec: MarkovReward) -> RegularisedRL:
    """MR as RRL with ``alpha = 0`` and ``F = 0``.

    Proof: ``J_RRL = <R, m> - 0 * sum_s d(s) F(pi(s)) = J_MR``.

    Examples
    --------
    >>> from objspec.formalisms import MarkovReward
    >>> markov_reward_to_regularised(MarkovReward([1.0], 0.5)).alpha
    0
    """
    return RegularisedRL(spec.reward, zero_regulariser, 0, spec.gamma)


@construction(MarkovReward, InnerNonlinearMarkovReward, reference="docs/theory.md#c-mr-to-inmr")
def markov_reward_to_inner_nonlinear(spec: MarkovReward) -> InnerNonlinearMarkovReward:
    """MR as INMR with the identity as inner function.

    Proof: ``J_INMR = E[f(G_R(xi))] = E[G_R(xi)] = <R, m> = J_MR`` for ``f = id`` and the
    same ``R, gamma`` (expectation is linear), in every environment.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> from objspec import Policy
    >>> from objspec.environments import E3
    >>> from objspec.formalisms import MarkovReward
    >>> mr = MarkovReward([[1, 0], [0, 0]], F(1, 2))
    >>> inmr = markov_reward_to_inner_nonlinear(mr)
    >>> pi = Policy([[F(1, 3), F(2, 3)], [1, 0]])
    >>> inmr.compile(E3(), exact=True).exact_value(pi)
    Fraction(1, 3)
    """
    return InnerNonlinearMarkovReward(spec.reward, _identity, spec.gamma)


@construction(OuterNonlinearMarkovReward, OuterMORL, reference="docs/theory.md#c-onmr-to-omorl")
def outer_nonlinear_to_outer_morl(spec: OuterNonlinearMarkovReward) -> OuterMORL:
    """ONMR as OMORL with ``k = 1``.

    Proof: the OMORL statistic is the length-1 vector ``(<R, m>)``; with
    ``f'(v) = f(v[0])`` the values are equal.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.formalisms import OuterNonlinearMarkovReward
    >>> outer_nonlinear_to_outer_morl(OuterNonlinearMarkovReward([1.0], abs, 0.5)).rewards.shape
    (1, 1)
    """
    rewards = np.asarray(spec.reward)[None]
    return OuterMORL(rewards, _on_first_component(spec.f), spec.gamma)


# ---------------------------------------------------------------- 4.3 OMORL = FOMR


@construction(OuterMORL, OccupancyMeasureFunction, reference="docs/theory.md#c-omorl-to-fomr")
def outer_morl_to_occupancy_function(spec: OuterMORL) -> OccupancyMeasureFunction:
    """OMORL as a function of the occupancy measure.

    Proof: ``J_{R_i}(pi) = <R_i, m_gamma^pi>``, so with the same ``gamma`` and
    ``f'(m) = f(<R_1, m>, ..., <R_k, m>)`` we get ``J_FOMR(pi) = f'(m_gamma^pi) = J_OMORL(pi)``
    in every environment (exact when ``m`` is given in Fractions).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.formalisms import OuterMORL
    >>> fomr = outer_morl_to_occupancy_function(OuterMORL([[1.0], [2.0]], sum, 0.5))
    >>> float(fomr.f(np.ones((1, 1, 1))))
    3.0
    """
    from objspec.formalisms._occupancy_optimise import concavity_of

    rewards = np.asarray(spec.rewards)
    f = spec.f

    def of_m(m: Any) -> Any:
        m = np.asarray(m)
        vec = np.array([inner_product(r, m) for r in rewards],
                       dtype=object if m.dtype == object else np.float64)
        return f(vec)

    # f concave (declared or symbolic) makes f' concave (a concave function of a linear
    # map); its gradient is sum_i df/dv_i R_i (the chain rule)
    concave, grad_f = concavity_of(f, len(rewards), concave=spec.concave,
                                   gradient=spec.gradient)
    if grad_f is None:
        return OccupancyMeasureFunction(of_m, spec.gamma, concave=concave)

    def gradient(m: Any) -> Any:
        m = np.asarray(m, dtype=np.float64)
        g = np.asarray(grad_f(np.array([float(inner_product(r, m)) for r in rewards])),
                       dtype=np.float64)
        return sum(g[i] * _full_shape(rewards[i].astype(np.float64), m.shape)
                   for i in range(len(rewards)))

    return OccupancyMeasureFunction(of_m, spec.gamma, concave=concave, gradient=gradient)


def _full_shape(reward: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A reward ``[S]``, ``[S, A]`` or ``[S, A, S]`` broadcast to ``[S, A, S]``."""
    r = reward[:, None, None] if reward.ndim == 1 else (
        reward[:, :, None] if reward.ndim == 2 else reward)
    return np.broadcast_to(r, shape)


@construction(OccupancyMeasureFunction, OuterMORL,
              needs_size=True, reference="docs/theory.md#c-fomr-to-omorl")
def occupancy_function_to_outer_morl(spec: OccupancyMeasureFunction, env: FiniteMDP) -> OuterMORL:
    """A function of the occupancy measure as OMORL with one indicator reward per transition.

    Proof: take ``k = |S x A x S|`` rewards ``R_i = 1[x = x_i]`` and the same ``gamma``.
    Then ``J_{R_i}(pi) = <R_i, m_gamma^pi> = m_gamma^pi(x_i)``: the vector of expected returns
    *is* the occupancy measure (flattened), and ``f'(v) = f(reshape(v))`` gives
    ``J_OMORL = J_FOMR``. Only ``(S, A)`` is read from ``env``.

    Examples
    --------
    >>> from objspec.environments import E3
    >>> from objspec.formalisms import OccupancyMeasureFunction
    >>> omorl = occupancy_function_to_outer_morl(OccupancyMeasureFunction(np.sum, 0.5), E3())
    >>> omorl.rewards.shape
    (8, 2, 2, 2)
    """
    shape = (env.n_states, env.n_actions, env.n_states)
    f, grad = spec.f, spec.gradient

    def of_vector(v: Any) -> Any:
        return f(np.asarray(v).reshape(shape))

    def gradient(v: Any) -> Any:  # the same function, so the same (reshaped) gradient
        assert grad is not None
        return np.asarray(grad(np.asarray(v, dtype=np.float64).reshape(shape)),
                          dtype=np.float64).ravel()

    return OuterMORL(_indicator_rewards(env), of_vector, spec.gamma, concave=spec.concave,
                     gradient=None if grad is None else gradient)


@construction(RegularisedRL, OccupancyMeasureFunction, reference="docs/theory.md#c-rrl-to-fomr")
def regularised_to_occupancy_function(spec: RegularisedRL) -> OccupancyMeasureFunction:
    """Regularised RL as a function of the occupancy measure (OM >= RRL).

    Proof: ``J_RRL = <R, m> - alpha sum_s d(s) F(pi(.|s))`` with ``d(s) = sum_{a,s'} m(s,a,s')``
    and, where ``d(s) > 0``, ``pi(a|s) = sum_{s'} m(s,a,s') / d(s)`` (``m(s,a,s') =
    d(s) pi(a|s) tau(s'|s,a)`` and ``tau(.|s,a)`` sums to 1). States with ``d(s) = 0`` contribute
    nothing. So ``f(m) = <R, m> - alpha sum_{s: d(s) > 0} d(s) F(pi_m(.|s))`` equals ``J_RRL``
    on every achievable ``m``, in every environment; no dynamics are needed. With Fraction
    ``m`` and a rational regulariser the value is exact.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.environments import E3
    >>> from objspec.formalisms import RegularisedRL
    >>> from objspec.formalisms.regularisers import negative_entropy
    >>> rrl = RegularisedRL(np.zeros(2), negative_entropy, 1.0, 0.5)
    >>> fomr = regularised_to_occupancy_function(rrl)
    >>> pi = [[0.5, 0.5], [0.5, 0.5]]
    >>> bool(np.isclose(fomr.compile(E3()).value(pi), rrl.compile(E3()).value(pi)))
    True
    """
    reward = np.asarray(spec.reward)
    reg = spec.regulariser
    alpha = spec.alpha

    def of_m(m: Any) -> Any:
        m = np.asarray(m)
        d, pi = recover_policy(m)
        exact = m.dtype == object and getattr(reg, "rational", False)
        a = Fraction(alpha) if exact else float(alpha)
        total = inner_product(reward, m)
        if not exact:
            total = float(total)
        for s in range(len(d)):
            if d[s] > 0:
                F = reg.exact_value(pi[s], s) if exact else reg(np.asarray(pi[s], float), s)
                total = total - a * (d[s] if exact else float(d[s])) * F
        return total

    # F convex and alpha >= 0: f is concave (the perspective d F(x / d) is convex). With
    # F's gradient g and minimum, a supergradient of f at m is, at (s, a, s'),
    # R - alpha (F(p) + g_a - <p, g>) where d(s) > 0 (p = pi_m(.|s)) and R - alpha min F
    # elsewhere (d F(x / d) >= d min F): regularisers.perspective_supergradient, as in the
    # RRL optimiser
    concave = bool(getattr(reg, "convex", False)) and float(alpha) >= 0
    if not (concave and float(alpha) > 0):
        return OccupancyMeasureFunction(of_m, spec.gamma, concave=concave)

    def gradient(m: Any) -> Any:
        m = np.asarray(m, dtype=np.float64)
        S, A = m.shape[0], m.shape[1]
        G = perspective_supergradient(reg, m.sum(axis=2), regulariser_floor(reg, S, A))
        full = _full_shape(reward.astype(np.float64), m.shape)
        return full - float(alpha) * G[:, :, None]

    return OccupancyMeasureFunction(of_m, spec.gamma, concave=True, gradient=gradient)


# ---------------------------------------------------------------- 4.4 orders


@construction(OuterMORL, GeneralisedOuterMORL, reference="docs/theory.md#c-omorl-to-gomorl")
def outer_morl_to_generalised(spec: OuterMORL) -> GeneralisedOuterMORL:
    """OMORL as GOMORL: order return vectors by ``f``.

    Proof: ``v >=_k w iff f(v) >= f(w)`` is a total preorder on ``R^k`` (pulled back from
    ``>=`` on the reals), and ``J(v1) >= J(v2)`` iff ``v1 >=_k v2``.

    Examples
    --------
    >>> from objspec.formalisms import OuterMORL
    >>> g = outer_morl_to_generalised(OuterMORL([[1.0], [2.0]], sum, 0.5))
    >>> g.order.compare([1.0, 2.0], [3.0, -1.0])
    1
    """
    from objspec import orders

    return GeneralisedOuterMORL(spec.rewards, orders.by_key(spec.f, concave=spec.concave,
                                                           gradient=spec.gradient), spec.gamma)


@construction(GeneralisedOuterMORL, OccupancyMeasureOrdering,
              reference="docs/theory.md#c-gomorl-to-omo")
def generalised_to_occupancy_ordering(spec: GeneralisedOuterMORL) -> OccupancyMeasureOrdering:
    """GOMORL as an ordering of occupancy measures (pull-back through the returns).

    Proof: ``m >=_M m'`` iff ``(<R_i, m>)_i >=_k (<R_i, m'>)_i``. A pull-back of a total
    preorder through any map is a total preorder, and at ``m = m_gamma^pi`` the compared
    vectors are exactly GOMORL's expected-return vectors.

    Examples
    --------
    >>> from objspec import orders
    >>> from objspec.formalisms import GeneralisedOuterMORL
    >>> omo = generalised_to_occupancy_ordering(
    ...     GeneralisedOuterMORL([[1.0], [2.0]], orders.lexicographic(), 0.5))
    >>> omo.acronym
    'OMO'
    """
    from objspec import orders

    rewards = np.asarray(spec.rewards)

    def returns(m: Any) -> list[Any]:
        return [inner_product(r, m) for r in rewards]

    return OccupancyMeasureOrdering(orders.pullback(spec.order, returns), spec.gamma)


@construction(OccupancyMeasureOrdering, GeneralisedOuterMORL,
              needs_size=True, reference="docs/theory.md#c-omo-to-gomorl")
def occupancy_ordering_to_generalised(
    spec: OccupancyMeasureOrdering, env: FiniteMDP
) -> GeneralisedOuterMORL:
    """An ordering of occupancy measures as GOMORL with indicator rewards.

    Proof: with ``R_i = 1[x = x_i]`` for every transition ``x_i`` the expected-return vector
    is the flattened occupancy measure, so ordering vectors by ``>=_M`` after reshaping
    gives the OMO ordering. Only ``(S, A)`` is read from ``env``.

    Examples
    --------
    >>> from objspec import orders
    >>> from objspec.environments import E3
    >>> from objspec.formalisms import OccupancyMeasureOrdering
    >>> g = occupancy_ordering_to_generalised(
    ...     OccupancyMeasureOrdering(orders.by_key(np.sum), 0.5), E3())
    >>> g.rewards.shape[0]
    8
    """
    from objspec import orders

    shape = (env.n_states, env.n_actions, env.n_states)

    def reshape(v: Any) -> Any:
        return np.asarray(v).reshape(shape)

    return GeneralisedOuterMORL(
        _indicator_rewards(env), orders.pullback(spec.order, reshape), spec.gamma
    )


@construction(OccupancyMeasureFunction, OccupancyMeasureOrdering,
              reference="docs/theory.md#c-fomr-to-omo")
def occupancy_function_to_occupancy_ordering(
    spec: OccupancyMeasureFunction
) -> OccupancyMeasureOrdering:
    """A function of the occupancy measure as an ordering: compare by ``f``.

    Proof: ``m >=_M m'`` iff ``f(m) >= f(m')`` is a total preorder and induces exactly the
    FOMR ordering.

    Examples
    --------
    >>> from objspec.formalisms import OccupancyMeasureFunction
    >>> occupancy_function_to_occupancy_ordering(OccupancyMeasureFunction(np.sum, 0.5)).acronym
    'OMO'
    """
    from objspec import orders

    return OccupancyMeasureOrdering(orders.by_key(spec.f, concave=spec.concave,
                                                  gradient=spec.gradient), spec.gamma)


# ---------------------------------------------------------------- 4.5 upper part


@construction(OccupancyMeasureFunction, PolicyFunction,
              needs_env=True, reference="docs/theory.md#c-fomr-to-fpr")
def occupancy_function_to_policy_function(
    spec: OccupancyMeasureFunction, env: FiniteMDP
) -> PolicyFunction:
    """A function of the occupancy measure as a function of the policy (in ``env``).

    Proof: ``f'(pi) = f(m_gamma^pi)`` with ``m`` computed in ``env``; trivially equal values.
    The result is an :class:`OccupancyPolicyFunction`: exact (Fraction measures, exact
    ties) for an exact specification (rational ``gamma``) on an exact environment with
    ``S * A <= 64``; otherwise in floats, with the FOMR float evaluator's batched solve and
    tie tolerance (a float specification on a float environment converts and evaluates in
    floats; ``f`` then receives float arrays).

    Examples
    --------
    >>> from objspec.environments import E3
    >>> from objspec.formalisms import OccupancyMeasureFunction
    >>> fpr = occupancy_function_to_policy_function(OccupancyMeasureFunction(np.sum, 0.5), E3())
    >>> fpr.compile(E3()).value([[1.0, 0.0], [1.0, 0.0]])
    2.0
    """
    return OccupancyPolicyFunction(spec.f, spec.gamma, env)


@construction(OccupancyMeasureOrdering, PolicyOrdering,
              needs_env=True, reference="docs/theory.md#c-omo-to-po")
def occupancy_ordering_to_policy_ordering(
    spec: OccupancyMeasureOrdering, env: FiniteMDP
) -> PolicyOrdering:
    """An ordering of occupancy measures as an ordering of policies (in ``env``).

    Proof: ``pi >= pi'`` iff ``m_gamma^pi >=_M m_gamma^pi'``: the pull-back of a total
    preorder, equal to the OMO ordering by definition. The result is an
    :class:`OccupancyPolicyOrdering`: exact measures for an exact specification on an
    exact environment, otherwise the OMO float evaluator's batched float measures.

    Examples
    --------
    >>> from objspec import orders
    >>> from objspec.environments import E3
    >>> from objspec.formalisms import OccupancyMeasureOrdering
    >>> po = occupancy_ordering_to_policy_ordering(
    ...     OccupancyMeasureOrdering(orders.by_key(np.sum), 0.5), E3())
    >>> po.acronym
    'PO'
    """
    return OccupancyPolicyOrdering(spec.order, spec.gamma, env)


@construction(PolicyFunction, PolicyOrdering, reference="docs/theory.md#c-fpr-to-po")
def policy_function_to_policy_ordering(spec: PolicyFunction) -> PolicyOrdering:
    """A function of policies as an ordering: compare by ``f``.

    Proof: ``pi >= pi'`` iff ``f(pi) >= f(pi')`` is a total preorder inducing the FPR
    ordering.

    Examples
    --------
    >>> from objspec.formalisms import PolicyFunction
    >>> policy_function_to_policy_ordering(PolicyFunction(lambda pi: 0.0)).acronym
    'PO'
    """
    from objspec import orders

    return PolicyOrdering(orders.by_key(spec.f))


# ---------------------------------------------------------------- trajectory level


def _ftr_of(spec: Any) -> Any:
    return TrajectoryFunction.of(spec)


@construction(LimitAverageReward, TrajectoryFunction, reference="docs/theory.md#c-lar-to-ftr")
def limit_average_to_trajectory_function(spec: LimitAverageReward) -> TrajectoryFunction:
    """LAR as the expectation of a trajectory function.

    Proof: ``f(xi) = liminf_N (1/N) sum_{t<N} R(x_t)``. For a stationary policy in a finite
    MDP the pathwise average converges almost surely (to the recurrent class's average) and
    is bounded by ``max |R|``, so by dominated convergence ``E[f] = lim_N (1/N) E[sum_{t<N}
    R(x_t)] = J_LAR``. The FTR object evaluates ``E[f]`` with LAR's exact long-run engine
    (``TrajectoryFunction.of``), as docs/theory.md#exact-evaluation advises (never from a
    finite prefix).

    Examples
    --------
    >>> from objspec.formalisms import LimitAverageReward
    >>> limit_average_to_trajectory_function(LimitAverageReward([1.0, 0.0])).acronym
    'FTR'
    """
    return _ftr_of(spec)


@construction(LinearTemporalLogic, TrajectoryFunction, reference="docs/theory.md#c-ltl-to-ftr")
def ltl_to_trajectory_function(spec: LinearTemporalLogic) -> TrajectoryFunction:
    """LTL as the expectation of the indicator ``f(xi) = 1[L(xi) |= phi]``.

    Proof: ``J_LTL(pi) = P(L(xi) |= phi) = E[1[L(xi) |= phi]]``; the indicator is a
    measurable function of the trajectory (omega-regular sets are Borel). Evaluated with the
    LTL product-automaton engine (``TrajectoryFunction.of``).

    Examples
    --------
    >>> from objspec import Policy
    >>> from objspec.environments import E3
    >>> from objspec.formalisms import LinearTemporalLogic
    >>> env = E3(labels={1: ["goal"]})
    >>> ftr = ltl_to_trajectory_function(LinearTemporalLogic("F goal"))
    >>> float(ftr.compile(env).value(Policy([[0.5, 0.5], [1, 0]])))
    1.0
    """
    return _ftr_of(spec)


@construction(RewardMachine, TrajectoryFunction, reference="docs/theory.md#c-rm-to-ftr")
def reward_machine_to_trajectory_function(spec: RewardMachine) -> TrajectoryFunction:
    """A reward machine as the expectation of its discounted return.

    Proof: the machine state ``u_t`` is a deterministic function of ``L(x_0) ... L(x_{t-1})``,
    so ``f(xi) = sum_t gamma^t delta_R(u_t, u_{t+1})(x_t)`` is a bounded function of ``xi``
    and ``J_RM = E[f]``. Evaluated on the product chain (``TrajectoryFunction.of``).

    Examples
    --------
    >>> from objspec import Policy
    >>> from objspec.environments import E3
    >>> from objspec.formalisms import RewardMachine
    >>> rm = RewardMachine([(0, 1, "true", 1), (1, 1, "true", 0)], 0, 0.5)
    >>> float(reward_machine_to_trajectory_function(rm).compile(E3()).value(
    ...     Policy([[1, 0], [1, 0]])))
    1.0
    """
    return _ftr_of(spec)


@construction(MarkovReward, RewardMachine, reference="docs/theory.md#c-mr-to-rm")
def markov_reward_to_reward_machine(spec: MarkovReward) -> RewardMachine:
    """MR as a one-state reward machine.

    Proof: one machine state ``u0`` with the edge ``u0 -> u0`` guarded by ``true`` paying
    ``R``; the machine never moves, so ``r_t = R(x_t)`` and ``J_RM = J_MR`` with the same
    ``gamma``.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> from objspec import Policy
    >>> from objspec.environments import E3
    >>> from objspec.formalisms import MarkovReward
    >>> mr = MarkovReward([[1, 0], [0, 2]], F(1, 2))
    >>> rm = markov_reward_to_reward_machine(mr)
    >>> pi = Policy([[F(1, 3), F(2, 3)], [0, 1]])
    >>> rm.compile(E3(), exact=True).exact_value(pi) == mr.compile(E3(), exact=True).exact_value(pi)
    True
    """
    return RewardMachine([(0, 0, "true", spec.reward)], 0, spec.gamma)


@construction(TrajectoryFunction, TrajectoryLotteryFunction,
              reference="docs/theory.md#c-ftr-to-ftlr")
def trajectory_function_to_lottery_function(spec: TrajectoryFunction) -> TrajectoryLotteryFunction:
    """FTR as a function of the trajectory lottery: ``F(L) = E_{xi ~ L}[f(xi)]``.

    Proof: ``J_FTR(pi) = E_{L_pi}[f]`` depends on ``pi`` only through ``L_pi``; ``F`` computes
    it from the lottery (the lottery's environment and its canonical policy, exact when the
    lottery is exact).

    Examples
    --------
    >>> from objspec.environments import E4
    >>> from objspec.formalisms import TrajectoryFunction
    >>> ftr = TrajectoryFunction(lambda s, a: float(a[0] == a[1]), horizon=2)
    >>> ftlr = trajectory_function_to_lottery_function(ftr)
    >>> pi = [[0.5, 0.5], [0.3, 0.7], [1, 0]]
    >>> float(ftlr.compile(E4()).value(pi)), float(ftr.compile(E4()).value(pi))
    (0.5, 0.5)
    """

    def of_lottery(lottery: Any) -> Any:
        ev: Any = spec.compile(lottery.env, exact=lottery.exact)
        if lottery.exact:
            return ev.exact_value(lottery.policy)
        return ev.value(lottery.policy)

    return TrajectoryLotteryFunction(of_lottery)


@construction(OccupancyMeasureFunction, TrajectoryLotteryFunction,
              reference="docs/theory.md#c-fomr-to-ftlr")
def occupancy_function_to_lottery_function(
    spec: OccupancyMeasureFunction
) -> TrajectoryLotteryFunction:
    """A function of the occupancy measure as a function of the lottery.

    Proof: ``m_gamma^pi(x) = E_{xi ~ L_pi}[sum_t gamma^t 1(x_t = x)]`` is a function of the
    lottery alone, so ``F(L) = f(M_gamma(L))`` equals ``J_FOMR``.

    Examples
    --------
    >>> from objspec.environments import E3
    >>> from objspec.formalisms import OccupancyMeasureFunction
    >>> ftlr = occupancy_function_to_lottery_function(
    ...     OccupancyMeasureFunction(lambda m: float(m[0, 0].sum()), 0.5))
    >>> float(ftlr.compile(E3()).value([[0.25, 0.75], [1, 0]]))
    0.25
    """
    f, gamma = spec.f, spec.gamma

    def of_lottery(lottery: Any) -> Any:
        return f(lottery.occupancy_measure(gamma))

    return TrajectoryLotteryFunction(of_lottery)


def _labels_of(env: FiniteMDP) -> Any:
    """``env``'s labelling in a form :class:`FiniteMDP` accepts (state or transition labels)."""
    if not env.propositions:
        return None
    if env.has_state_labels:
        labels = env.state_labels
        assert labels is not None
        return {s: sorted(labels[s]) for s in range(env.n_states)}
    return env.label


def lottery_of_occupancy(m: Any, gamma: Any, like: FiniteMDP) -> Any:
    """The trajectory lottery whose occupancy measure (discount ``gamma > 0``) is ``m``.

    Reconstructs, from ``m`` and ``gamma`` alone, everything the lottery depends on:

    * ``d(s) = sum_{a,s'} m(s, a, s')`` and, where ``d(s) > 0``,
      ``pi(a|s) = sum_{s'} m(s, a, s') / d(s)`` (uniform where ``d(s) = 0``);
    * ``tau(s'|s, a) = m(s, a, s') / sum_{s''} m(s, a, s'')`` on every pair with
      ``m(s, a, .) > 0``, i.e. every state-action pair the policy ever uses (pairs never
      used do not enter the lottery: an unused action moves like a used one of its state,
      and a state never reached loops);
    * ``mu0(s') = d(s') - gamma sum_{s,a} m(s, a, s')`` (the flow equation
      ``d = mu0 + gamma P_pi^T d``).

    The trajectory law is built from ``mu0``, ``pi`` on reached states and ``tau`` on used
    pairs only, so the lottery of ``pi`` in the reconstructed environment equals ``L_pi`` in
    the original one: the occupancy measure determines the lottery, without the dynamics.
    ``like`` supplies only ``(S, A)``, the labels (objspec keeps the paper's labelling
    function in the environment) and the names. Exact (Fractions) when ``m`` is; in floats,
    entries of ``mu0`` within ``1e-10`` (relative to the total mass) of 0 are rounding and
    set to 0. If the recovered ``mu0`` is not a distribution, ``m`` is not an occupancy
    measure for ``gamma`` and :class:`InvalidSpecificationError` is raised.

    Examples
    --------
    >>> from objspec.environments import E3
    >>> from objspec.mdp.exact import exact_occupancy_measure
    >>> pi = Policy([[Fraction(1, 4), Fraction(3, 4)], [1, 0]])
    >>> m = exact_occupancy_measure(E3(), pi, Fraction(1, 2))
    >>> L = lottery_of_occupancy(m, Fraction(1, 2), E3())
    >>> L.prefix_probability([0, 1], [0])
    Fraction(1, 4)
    """
    from objspec.errors import InvalidSpecificationError
    from objspec.formalisms.lottery import TrajectoryLottery

    m = np.asarray(m)
    S, A = like.n_states, like.n_actions
    if m.shape != (S, A, S):
        raise InvalidSpecificationError(
            f"occupancy measure has shape {m.shape}; the environment has {S} states, {A} actions"
        )
    exact = m.dtype == object
    g = Fraction(gamma) if exact else float(gamma)
    zero: Any = Fraction(0) if exact else 0.0
    one: Any = Fraction(1) if exact else 1.0
    d, pi = recover_policy(m, like.enabled)
    sa = m.sum(axis=2)
    tau = np.empty((S, A, S), dtype=object if exact else np.float64)
    for s in range(S):
        used = [a for a in range(A) if sa[s, a] > 0]
        for a in range(A):
            b = a if a in used else (used[0] if used else None)
            if not like.enabled[s, a]:  # a disabled pair keeps its all-zero row
                tau[s, a] = [zero] * S
            elif b is None:  # a state never reached: any row will do
                tau[s, a] = [one if t == s else zero for t in range(S)]
            else:  # an unused action moves like a used one (no new cycles)
                tau[s, a] = [x / sa[s, b] for x in m[s, b]]
    inflow = m.sum(axis=(0, 1))
    mu0 = np.array([d[t] - g * inflow[t] for t in range(S)], dtype=object if exact else float)
    if not exact:
        tol = 1e-10 * max(1.0, float(np.sum(d)))
        if np.any(mu0 < -tol):
            t = int(np.argmin(mu0))
            raise InvalidSpecificationError(
                f"not an occupancy measure for gamma = {gamma}: the initial mass of state {t} "
                f"would be {mu0[t]}"
            )
        mu0 = np.where(np.abs(mu0) <= tol, 0.0, mu0)
    total = sum(mu0, zero)
    if any(x < 0 for x in mu0) or (total != 1 if exact else abs(total - 1) > 1e-9):
        raise InvalidSpecificationError(
            f"not an occupancy measure for gamma = {gamma}: the initial masses "
            f"d - gamma * inflow = {[str(x) if exact else float(x) for x in mu0]} are not a "
            "distribution"
        )
    env = FiniteMDP(tau, mu0, labels=_labels_of(like), state_names=like.state_names,
                    action_names=like.action_names,
                    enabled=None if like.all_enabled else like.enabled,
                    propositions=like.propositions)
    return TrajectoryLottery(env, Policy(pi), exact=exact)


@construction(TrajectoryLotteryFunction, OccupancyMeasureFunction, needs_size=True,
              reference="docs/theory.md#c-ftlr-to-fomr")
def trajectory_lottery_function_to_occupancy_function(
    spec: TrajectoryLotteryFunction, env: FiniteMDP
) -> OccupancyMeasureFunction:
    """A function of the trajectory lottery as a function of the occupancy measure.

    Proof: fix ``gamma = 1/2`` (any ``gamma > 0`` works). :func:`lottery_of_occupancy`
    recovers, from ``m = m_gamma^pi`` alone, the policy on the reached states
    (``pi(a|s) = sum_{s'} m(s, a, s') / d(s)``), the transition probabilities of every
    state-action pair the policy uses (``m(s, a, s') / m(s, a)``) and the initial
    distribution (``mu0 = d - gamma sum_{s,a} m(s, a, .)``). The trajectory law is a
    product of exactly these numbers, so the recovered lottery is ``L_pi`` (states never
    reached do not matter, L7) and ``f'(m) = F(lottery_of_occupancy(m)) = J_FTLR(pi)``.
    No dynamics are read from ``env``: only its size and its labels (objspec keeps the
    paper's labelling function, part of LTL and RM specifications, in the environment).
    Off the achievable set ``f'`` is whatever this formula gives (irrelevant to the
    ordering). Exact (Fractions) when ``m`` is.

    Examples
    --------
    >>> from objspec.environments import E3
    >>> from objspec.formalisms import TrajectoryLotteryFunction
    >>> ftlr = TrajectoryLotteryFunction(lambda L: L.prefix_probability([0, 1], [0]))
    >>> fomr = trajectory_lottery_function_to_occupancy_function(ftlr, E3())
    >>> float(fomr.compile(E3()).value([[0.25, 0.75], [1, 0]]))
    0.25
    """
    F = spec.f
    gamma = Fraction(1, 2)

    def of_m(m: Any) -> Any:
        return F(lottery_of_occupancy(m, gamma, env))

    return OccupancyMeasureFunction(of_m, gamma)


@construction(TrajectoryLotteryFunction, TrajectoryLotteryOrdering,
              reference="docs/theory.md#c-ftlr-to-tlo")
def lottery_function_to_lottery_ordering(
    spec: TrajectoryLotteryFunction
) -> TrajectoryLotteryOrdering:
    """A function of lotteries as an ordering of lotteries: compare by ``F``.

    Proof: ``L >=_L L'`` iff ``F(L) >= F(L')`` is a total preorder inducing the FTLR ordering.

    Examples
    --------
    >>> from objspec.environments import E3
    >>> from objspec.formalisms import TrajectoryLotteryFunction
    >>> ftlr = TrajectoryLotteryFunction(lambda L: L.prefix_probability([0, 1], [0]))
    >>> lottery_function_to_lottery_ordering(ftlr).compile(E3()).rank(
    ...     [[[0.25, 0.75], [1, 0]], [[1, 0], [1, 0]]]).tolist()
    [1, 0]
    """
    from objspec import orders

    return TrajectoryLotteryOrdering(orders.by_key(spec.f))


@construction(OccupancyMeasureOrdering, TrajectoryLotteryOrdering,
              reference="docs/theory.md#c-omo-to-tlo")
def occupancy_ordering_to_lottery_ordering(
    spec: OccupancyMeasureOrdering
) -> TrajectoryLotteryOrdering:
    """An ordering of occupancy measures as an ordering of lotteries.

    Proof: ``L >=_L L'`` iff ``M_gamma(L) >=_M M_gamma(L')``: a pull-back of a total
    preorder, equal to the OMO ordering because ``m_gamma^pi = M_gamma(L_pi)``.

    Examples
    --------
    >>> from objspec import orders
    >>> from objspec.environments import E3
    >>> from objspec.formalisms import OccupancyMeasureOrdering
    >>> omo = OccupancyMeasureOrdering(orders.by_key(lambda m: float(m[0, 0].sum())), 0.5)
    >>> occupancy_ordering_to_lottery_ordering(omo).compile(E3()).rank(
    ...     [[[0.25, 0.75], [1, 0]], [[1, 0], [1, 0]]]).tolist()
    [1, 0]
    """
    from objspec import orders

    gamma = spec.gamma

    def occupancy(lottery: Any) -> Any:
        return lottery.occupancy_measure(gamma)

    return TrajectoryLotteryOrdering(orders.pullback(spec.order, occupancy))


@construction(TrajectoryLotteryOrdering, OccupancyMeasureOrdering, needs_size=True,
              reference="docs/theory.md#c-tlo-to-omo")
def lottery_ordering_to_occupancy_ordering(
    spec: TrajectoryLotteryOrdering, env: FiniteMDP
) -> OccupancyMeasureOrdering:
    """An ordering of lotteries as an ordering of occupancy measures.

    Proof: ``m >=_M m'`` iff ``Phi(m) >=_L Phi(m')`` with the lottery-recovery map
    ``Phi = lottery_of_occupancy(., 1/2)`` of
    :func:`trajectory_lottery_function_to_occupancy_function` (``gamma = 1/2``; the
    occupancy measure determines the lottery, no dynamics needed). A pull-back of a total
    preorder through a map is a total preorder on all of ``R^{S x A x S}``, and on
    achievable ``m = m^pi`` it compares ``L_pi``. Only the size and labels of ``env`` are
    read.

    Examples
    --------
    >>> from objspec import orders
    >>> from objspec.environments import E3
    >>> from objspec.formalisms import TrajectoryLotteryOrdering
    >>> tlo = TrajectoryLotteryOrdering(orders.by_key(lambda L: L.prefix_probability([0, 1], [1])))
    >>> lottery_ordering_to_occupancy_ordering(tlo, E3()).compile(E3()).rank(
    ...     [[[0.25, 0.75], [1, 0]], [[1, 0], [1, 0]]]).tolist()
    [0, 1]
    """
    from objspec import orders

    gamma = Fraction(1, 2)

    def lottery(m: Any) -> Any:
        return lottery_of_occupancy(m, gamma, env)

    return OccupancyMeasureOrdering(orders.pullback(spec.order, lottery), gamma)


# ---------------------------------------------------------------- 4.2 digit encoding


def transition_index(env: FiniteMDP, s: int, a: int, s_next: int) -> int:
    """``idx(s, a, s') = (s A + a) S + s'``: a bijection onto ``0 .. |S x A x S| - 1``."""
    return (s * env.n_actions + a) * env.n_states + s_next


def encode_prefix(env: FiniteMDP, states: Any, actions: Any) -> Fraction:
    """``sum_t gamma^t idx(x_t)`` with ``gamma = 1/(n+1)`` over a finite prefix, exactly.

    Examples
    --------
    >>> from objspec.environments import E3
    >>> encode_prefix(E3(), [0, 1, 1], [1, 0])  # idx(s0,b,s1) = 3, idx(s1,a,s1) = 5
    Fraction(32, 9)
    """
    n = env.n_states * env.n_actions * env.n_states
    g = Fraction(1, n + 1)
    total, w = Fraction(0), Fraction(1)
    for t, a in enumerate(actions):
        total += w * transition_index(env, int(states[t]), int(a), int(states[t + 1]))
        w *= g
    return total


def decode_prefix(env: FiniteMDP, value: Any, horizon: int) -> tuple[list[int], list[int]]:
    """The first ``horizon`` transitions of the trajectory whose digit-encoded return is
    ``value`` (docs/theory.md#c-ftr-to-inmr): ``idx(x_0) = floor(G)``, then
    ``G <- (G - idx(x_0)) (n + 1)``.

    Each tail is in ``[0, (n - 1)/n]`` of a digit, at least ``1/n`` below the next digit,
    so the digit is ``floor(y + 1/(2n))``: exact for Fraction input, and for a float robust
    to rounding errors below ``1/(2n)`` in either direction (a tail of exactly 0, which a
    float return can undershoot, no longer drops to the previous digit).

    Examples
    --------
    >>> from objspec.environments import E3
    >>> decode_prefix(E3(), encode_prefix(E3(), [0, 1, 1], [1, 0]), 2)
    ([0, 1, 1], [1, 0])
    """
    import math

    from objspec.errors import InvalidSpecificationError

    S, A = env.n_states, env.n_actions
    n = S * A * S
    y = value
    states: list[int] = []
    actions: list[int] = []
    half = Fraction(1, 2 * n) if isinstance(y, Fraction) else 0.5 / n
    for t in range(horizon):
        d = math.floor(y + half)
        if not 0 <= d < n:
            raise InvalidSpecificationError(
                f"{value!r} is not a digit-encoded return (digit {d} at step {t})")
        s, rest = divmod(d, A * S)
        a, s_next = divmod(rest, S)
        if states and states[-1] != s:
            raise InvalidSpecificationError(
                f"{value!r} is not a digit-encoded trajectory (step {t} starts in {s}, "
                f"previous step ended in {states[-1]})")
        if not states:
            states.append(int(s))
        actions.append(int(a))
        states.append(int(s_next))
        y = (y - d) * (n + 1)
    if horizon == 0:
        states.append(int(math.floor(y)) // (A * S) if 0 <= y < n else 0)
    return states, actions


@construction(TrajectoryFunction, InnerNonlinearMarkovReward, needs_size=True,
              reference="docs/theory.md#c-ftr-to-inmr",
              # the target can only be evaluated by Monte Carlo: decode the digits instead
              semantic_check=lambda src, out, env, seed: check_digit_encoding(src, out, env,
                                                                               seed))
def trajectory_function_to_inner_nonlinear(
    spec: TrajectoryFunction, env: FiniteMDP
) -> InnerNonlinearMarkovReward:
    """FTR as INMR by encoding the whole trajectory in one discounted return.

    Proof (docs/theory.md#c-ftr-to-inmr): with ``n = |S x A x S|``, ``R(x) = idx(x)`` and
    ``gamma = 1/(n+1)``, ``G(xi) = sum_t gamma^t idx(x_t)`` is a base-``(n+1)`` expansion with
    digits in ``0..n-1``; the tail after digit ``t`` is at most ``(n-1)/n`` of one unit of
    that digit, so ``idx(x_0) = floor(G)`` and recursively every digit is recovered: ``G`` is
    injective on trajectories (``x_t`` overlaps ``x_{t+1}``, so the transition sequence is
    the trajectory). With ``g(y) = f(G^{-1}(y))`` we get ``E[g(G(xi))] = E[f(xi)]`` for every
    policy in every environment of this size. Here ``f`` reads a prefix of ``horizon``
    steps, so ``g`` decodes that many digits (exactly for Fraction ``y``). FTR
    specifications given as ``TrajectoryFunction.of(MR)`` become ``INMR(R, id, gamma)``
    and ``TrajectoryFunction.of(INMR)`` the INMR itself (both exact and cheaper); for
    ``.of(LTL | RM | LAR | IMORL)`` the per-trajectory function is not available as a
    prefix function and an :class:`InvalidSpecificationError` is raised saying so
    (:func:`not_digit_encodable`; ``.of(IMORL)`` with ``k = 1`` becomes the INMR with the
    same reward).

    The INMR return then takes infinitely many values, so INMR's evaluator uses Monte
    Carlo on it; the construction is checked exactly by :func:`check_digit_encoding`.

    Examples
    --------
    >>> from objspec.environments import E4
    >>> from objspec.formalisms import TrajectoryFunction
    >>> ftr = TrajectoryFunction(lambda s, a: int(a[0] == a[1]), horizon=2)
    >>> inmr = trajectory_function_to_inner_nonlinear(ftr, E4())
    >>> inmr.gamma
    Fraction(1, 19)
    >>> same = encode_prefix(E4(), [0, 1, 2], [1, 1])
    >>> inmr.f(same), inmr.f(encode_prefix(E4(), [0, 1, 2], [0, 1]))
    (1, 0)
    """
    from objspec.errors import InvalidSpecificationError

    inner = getattr(spec, "inner", None)
    if inner is not None:
        if inner.acronym == "MR":
            return InnerNonlinearMarkovReward(inner.reward, _identity, inner.gamma)
        if inner.acronym == "INMR":
            return inner
        if inner.acronym == "IMORL" and np.asarray(inner.rewards).shape[0] == 1:
            return InnerNonlinearMarkovReward(np.asarray(inner.rewards)[0],
                                           _as_one_vector(inner.f), inner.gamma)
        raise InvalidSpecificationError(not_digit_encodable(inner.acronym))
    S, A = env.n_states, env.n_actions
    n = S * A * S
    reward = np.empty((S, A, S), dtype=object)
    for s in range(S):
        for a in range(A):
            for t in range(S):
                reward[s, a, t] = Fraction(transition_index(env, s, a, t))
    horizon, f, vectorized = spec.horizon, spec.f, spec.vectorized
    if f is None:  # checked above: a delegating FTR is converted through its inner spec
        raise InvalidSpecificationError(f"{spec!r} has no trajectory function to encode")

    def g(y: Any) -> Any:
        states, actions = decode_prefix(env, y, horizon)
        st, ac = np.array(states), np.array(actions, dtype=np.int64)
        if vectorized:
            return np.asarray(f(st[None], ac[None])).reshape(-1)[0]
        return f(st, ac)

    return InnerNonlinearMarkovReward(reward, g, Fraction(1, n + 1))


def check_digit_encoding(source: Any, target: Any, env: FiniteMDP, seed: int = 0) -> int:
    """Check :func:`trajectory_function_to_inner_nonlinear` exactly; return the number of
    prefixes checked.

    For every positive-probability prefix of ``horizon`` steps (any policy), the INMR
    function ``g`` must return ``f(prefix)`` at the prefix's return (the target's own
    reward and discount) plus the smallest and (just below) the largest tail any
    continuation can give, and at a random rational tail in between. Since ``g(G(xi))``
    then equals ``f(xi)`` on every trajectory, ``J_INMR = J_FTR`` for every policy (exact
    rational arithmetic; no sampling).

    Examples
    --------
    >>> from objspec.environments import E3
    >>> from objspec.formalisms import TrajectoryFunction
    >>> ftr = TrajectoryFunction(lambda s, a: int(a[0]), horizon=2)
    >>> check_digit_encoding(ftr, trajectory_function_to_inner_nonlinear(ftr, E3()), E3())
    4
    """
    from objspec.errors import CertificateError
    from objspec.formalisms.lottery import enumerate_prefixes
    from objspec.mdp.exact import exact_discount, exact_rewards

    H = source.horizon
    gamma = exact_discount(target.gamma)
    reward = exact_rewards(env, target.reward)
    lo_r, hi_r = min(reward.ravel()), max(reward.ravel())
    rng = np.random.default_rng(seed)
    prefixes = enumerate_prefixes(env, H)
    count = 0
    for states, actions in zip(prefixes.states, prefixes.actions, strict=True):
        want = source.f(np.asarray(states), np.asarray(actions, dtype=np.int64))
        base, w = Fraction(0), Fraction(1)
        for t in range(H):
            base += w * reward[int(states[t]), int(actions[t]), int(states[t + 1])]
            w *= gamma
        lo, hi = w * lo_r / (1 - gamma), w * hi_r / (1 - gamma)
        mid = lo + (hi - lo) * Fraction(int(rng.integers(1, 1000)), 1000)
        for tail in (lo, hi * Fraction(999_999, 1_000_000) + lo / 1_000_000, mid):
            got = target.f(base + tail)
            if got != want:
                raise CertificateError(
                    f"digit encoding: prefix {list(states)}, {list(actions)} decodes to value "
                    f"{got}, but f gives {want}"
                )
        count += 1
    return count


@construction(InnerNonlinearMarkovReward, InnerMORL, reference="docs/theory.md#c-inmr-to-imorl")
def inner_nonlinear_to_inner_morl(spec: InnerNonlinearMarkovReward) -> InnerMORL:
    """INMR as IMORL with ``k = 1``.

    Proof: the IMORL return vector is ``(G_R(xi))``; ``f'(v) = f(v[0])`` gives
    ``E[f'(G_vec)] = E[f(G_R)]``.

    Examples
    --------
    >>> from objspec.formalisms import InnerNonlinearMarkovReward
    >>> inner_nonlinear_to_inner_morl(InnerNonlinearMarkovReward([1.0], abs, 0.5)).acronym
    'IMORL'
    """
    rewards = np.asarray(spec.reward)[None]
    return InnerMORL(rewards, _on_first_component(spec.f), spec.gamma)


@construction(InnerMORL, TrajectoryFunction, reference="docs/theory.md#c-imorl-to-ftr")
def inner_morl_to_trajectory_function(spec: InnerMORL) -> TrajectoryFunction:
    """IMORL as FTR: ``f'(xi) = f(G_vec(xi))``.

    Proof: ``G_vec`` is a (bounded, continuous) function of the trajectory, so
    ``J_IMORL = E[f(G_vec(xi))] = E[f'(xi)]``. Evaluated with IMORL's own engine
    (``TrajectoryFunction.of``).

    Examples
    --------
    >>> from objspec.formalisms import InnerMORL
    >>> inner_morl_to_trajectory_function(InnerMORL([[1.0]], sum, 0.5)).acronym
    'FTR'
    """
    return _ftr_of(spec)


@construction(TrajectoryLotteryFunction, PolicyFunction,
              needs_env=True, reference="docs/theory.md#c-ftlr-to-fpr")
def lottery_function_to_policy_function(
    spec: TrajectoryLotteryFunction, env: FiniteMDP
) -> PolicyFunction:
    """A function of lotteries as a function of policies (in ``env``): ``f(pi) = F(L_pi)``.

    Proof: equal values by definition; the lottery is built exactly for environments with
    rational probabilities.

    Examples
    --------
    >>> from objspec.environments import E3
    >>> from objspec.formalisms import TrajectoryLotteryFunction
    >>> ftlr = TrajectoryLotteryFunction(lambda L: L.prefix_probability([0, 1], [0]))
    >>> float(lottery_function_to_policy_function(ftlr, E3()).compile(E3()).value(
    ...     [[0.25, 0.75], [1, 0]]))
    0.25
    """
    from objspec.formalisms.lottery import TrajectoryLottery

    F = spec.f

    def of_policy(pi: Policy) -> Any:
        return F(TrajectoryLottery(env, pi, exact=env.is_exact))

    return PolicyFunction(of_policy)


@construction(TrajectoryLotteryOrdering, PolicyOrdering,
              needs_env=True, reference="docs/theory.md#c-tlo-to-po")
def lottery_ordering_to_policy_ordering(
    spec: TrajectoryLotteryOrdering, env: FiniteMDP
) -> PolicyOrdering:
    """An ordering of lotteries as an ordering of policies (in ``env``): pull back through
    ``pi -> L_pi``.

    Proof: the pull-back of a total preorder is a total preorder, and it compares ``L_pi``
    exactly as TLO does.

    Examples
    --------
    >>> from objspec import orders
    >>> from objspec.environments import E3
    >>> from objspec.formalisms import TrajectoryLotteryOrdering
    >>> tlo = TrajectoryLotteryOrdering(orders.by_key(lambda L: L.prefix_probability([0, 1], [1])))
    >>> lottery_ordering_to_policy_ordering(tlo, E3()).compile(E3()).rank(
    ...     [[[0.25, 0.75], [1, 0]], [[1, 0], [1, 0]]]).tolist()
    [0, 1]
    """
    from objspec import orders
    from objspec.formalisms.lottery import TrajectoryLottery

    def lottery(pi: Policy) -> Any:
        return TrajectoryLottery(env, pi, exact=env.is_exact)

    return PolicyOrdering(orders.pullback(spec.order, lottery))
