"""Occupancy-measure formalisms: functions (FOMR) and orderings (OMO) of ``m_gamma^pi``.

The discounted occupancy measure of a policy is
``m(s, a, s') = sum_t gamma^t P(x_t = (s, a, s')) = d(s) pi(a|s) tau(s'|s, a)``
(docs/theory.md#policies), an ``[S, A, S]`` array.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from objspec.formalisms._fit_invariance import (
    Interpolant,
    LinearStatistic,
    PiecewiseLinear,
    fit_by_invariance,
    occupancy_invariance,
    state_action_occupancy,
)
from objspec.formalisms._occupancy_optimise import (
    FOMR_OPTIMISER,
    ORDERING_OPTIMISER,
    check_flag,
)
from objspec.formalisms._sampling import random_discount, random_weights
from objspec.formalisms._support import (
    OrderEvaluator,
    StatisticEvaluator,
    check_callable,
    describe_callable,
)
from objspec.formalisms.base import Specification
from objspec.formalisms.fitting import Comparisons, Fit, FitOptions, Fitter
from objspec.formalisms.registry import formalism
from objspec.mdp.evaluation import occupancy_measure
from objspec.mdp.evaluation import state_action_occupancy as _sa_occupancy
from objspec.mdp.exact import exact_occupancy_measure
from objspec.mdp.model import FiniteMDP
from objspec.mdp.occupancy_polytope import sparse_occupancy_measure
from objspec.mdp.policy import Policy
from objspec.mdp.rewards import check_discount
from objspec.orders import Order, as_order

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = [
    "OccupancyMeasureFunction",
    "FOMR",
    "OccupancyMeasureOrdering",
    "OMO",
]


def _occupancies(env: FiniteMDP, policies: np.ndarray, gamma: Any) -> list[np.ndarray]:
    m = occupancy_measure(env, policies, float(gamma))
    return list(np.asarray(m).reshape(policies.shape[0], *m.shape[-3:]))


class OccupancyMeasureFunction(Specification):
    r"""Functions from occupancy measures to reals (FOMR).

    **Definition** (docs/theory.md#def-fomr; Subramani et al., ICLR 2024,
    arXiv 2310.11840). A specification is ``(f, gamma)`` with any
    ``f: R^{S x A x S} -> R`` (only its values on achievable measures matter):

    .. math:: J(\pi) = f(m_\gamma^\pi).

    Convex / general-utility RL lives here; FOMR is as expressive as OMORL and FTLR.

    **Evaluation.** The occupancy measures of all policies come from one batched linear
    solve (:func:`objspec.mdp.occupancy_measure`, certified about ``1e-12`` relative);
    ``f`` is called once per policy with a float ``[S, A, S]`` array. Float ties: within
    ``1e-9 * max(1, max |J|)``. With ``compile(env, exact=True)``, ``f`` receives an object
    array of :class:`~fractions.Fraction` (:func:`objspec.mdp.exact.exact_occupancy_measure`)
    and its results are compared exactly.

    Parameters
    ----------
    f : callable
        ``f(m) -> real`` for ``m`` shaped ``[S, A, S]``.
    gamma : float or Fraction
        Discount in ``[0, 1)``.
    concave : bool, keyword-only
        A promise that ``f`` is concave (on the achievable measures). Only :meth:`optimise`
        uses it: concave ``f`` is maximised by Frank-Wolfe over occupancy measures, with a
        certified duality gap when ``gradient`` is given.
    gradient : callable, optional, keyword-only
        ``gradient(m) -> [S, A, S]``, the gradient of ``f`` (without it a finite-difference
        gradient is used and nothing is certified). Only its entries on ``tau``'s support
        matter (``m`` is zero elsewhere).
    sparse : bool, keyword-only
        The form in which ``f`` and ``gradient`` receive the measure. ``False`` (default):
        a dense ``[S, A, S]`` array, memory ``O(S^2 A)`` per call, for small models.
        ``True``: a ``scipy.sparse.csr_array`` of shape ``(S*A, S)`` (row ``s*A + a``,
        column ``s'``: the layout of ``env.transition_matrix``) holding ``m`` on ``tau``'s
        non-zeros only (:func:`objspec.mdp.occupancy_polytope.sparse_occupancy_measure`),
        memory ``O(nnz)``: use it for large models. ``gradient`` then returns a sparse
        matrix or an array shaped ``(S*A, S)`` or ``[S, A, S]``; only its entries on
        ``tau``'s support are read. Under ``compile(env, exact=True)`` (small models) a
        sparse ``f`` receives the exact measure as a dense object array of Fractions in the
        same ``(S*A, S)`` layout (scipy.sparse cannot hold Fractions), so write ``f`` with
        operations both accept (``m @ v``, ``m.sum(axis=1)``, ``m[i, j]``).

    Examples
    --------
    The variance-like objective ``m(s0, a, s1) * (1 - m(s0, a, s1))`` on E3 is ``p (1 - p)``:

    >>> from objspec.environments import E3
    >>> spec = OccupancyMeasureFunction(lambda m: m[0, 0, 1] * (1 - m[0, 0, 1]), gamma=0.9)
    >>> spec.compile(E3()).values([[[0.5, 0.5], [1, 0]], [[1.0, 0.0], [1, 0]]])
    array([0.25, 0.  ])

    The same objective in the sparse form (row ``s*A + a = 0``, column ``s' = 1``):

    >>> sparse = OccupancyMeasureFunction(lambda m: m[0, 1] * (1 - m[0, 1]), gamma=0.9,
    ...                                   sparse=True)
    >>> sparse.compile(E3()).values([[[0.5, 0.5], [1, 0]], [[1.0, 0.0], [1, 0]]])
    array([0.25, 0.  ])

    A concave ``f`` of the state-action occupancy ``x(s, a) = sum_s' m(s, a, s')`` with
    its gradient, maximised by Frank-Wolfe with a certified duality gap:

    >>> import numpy as np
    >>> from objspec.environments import random_mdp
    >>> env = random_mdp(50, 2, 3, seed=0)
    >>> R = np.random.default_rng(0).random(100)
    >>> f = lambda m: float(R @ m.sum(axis=1) - 0.25 * np.sum(m.sum(axis=1) ** 2))
    >>> grad = lambda m: np.broadcast_to((R - 0.5 * m.sum(axis=1))[:, None], m.shape)
    >>> opt = OccupancyMeasureFunction(f, 0.9, concave=True, gradient=grad,
    ...                                sparse=True).optimise(env)
    >>> opt.guarantee, opt.bound <= 1e-6
    ('certified', True)
    """

    def __init__(self, f: Callable[[Any], Any], gamma: Any, *, concave: bool = False,
                 gradient: Callable[[Any], Any] | None = None,
                 sparse: bool = False) -> None:
        self.f = check_callable(f, "FOMR function f")
        check_discount(gamma)
        self.gamma = gamma
        self.concave = check_flag(concave, "FOMR concave")
        self.gradient = None if gradient is None else check_callable(gradient,
                                                                     "FOMR gradient")
        self.sparse = check_flag(sparse, "FOMR sparse")

    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> OccupancyFunctionEvaluator:
        """Evaluator in ``env``; ``exact=True`` passes Fraction occupancy measures to ``f``."""
        return OccupancyFunctionEvaluator(self, env, exact=bool(exact))

    def __repr__(self) -> str:
        return (f"OccupancyMeasureFunction(f={describe_callable(self.f)}, gamma={self.gamma}"
                + (", sparse=True)" if self.sparse else ")"))


class OccupancyFunctionEvaluator(StatisticEvaluator[OccupancyMeasureFunction]):
    """Evaluator of an :class:`OccupancyMeasureFunction`; the statistic is ``m_gamma^pi``."""

    def __init__(self, spec: OccupancyMeasureFunction, env: FiniteMDP, *, exact: bool) -> None:
        super().__init__(spec, env, spec.f, exact=exact, method="linear solve")
        self._gamma = spec.gamma
        self._sparse = spec.sparse

    def statistics(self, policies: np.ndarray) -> list[Any]:
        if self._sparse:  # O(nnz) per policy: the (S*A, S) sparse form
            x = _sa_occupancy(self.env, policies, float(self._gamma))
            x = np.asarray(x).reshape(policies.shape[0], -1)
            return [sparse_occupancy_measure(self.env, row) for row in x]
        return _occupancies(self.env, policies, self._gamma)

    def exact_statistic(self, policy: Policy) -> np.ndarray:
        m = np.asarray(exact_occupancy_measure(self.env, policy, self._gamma))
        if self._sparse:
            return m.reshape(self.env.n_states * self.env.n_actions, self.env.n_states)
        return m


class OccupancyMeasureOrdering(Specification):
    r"""Occupancy measure orderings (OMO): a total preorder on occupancy measures.

    **Definition** (docs/theory.md#def-omo; Subramani et al., ICLR 2024,
    arXiv 2310.11840). A specification is ``(>=_M, gamma)`` with ``>=_M`` a total preorder
    on ``R^{S x A x S}``:

    .. math:: \pi_1 \succeq \pi_2 \iff m_\gamma^{\pi_1} \succeq_M m_\gamma^{\pi_2}.

    As expressive as GOMORL and TLO.

    **Evaluation.** Occupancy measures from one batched linear solve (floats, certified
    about ``1e-12`` relative), compared by the order; rounding can split a mathematical
    tie, so compile with ``exact=True`` to compare exact Fraction arrays.

    Parameters
    ----------
    order : objspec.orders.Order or callable
        A total preorder on ``[S, A, S]`` arrays (``objspec.orders.lexicographic()``
        flattens them in C order; ``objspec.orders.by_key(fn)`` compares ``fn(m)``).
    gamma : float or Fraction
        Discount in ``[0, 1)``.

    Examples
    --------
    >>> from objspec.environments import E3
    >>> from objspec.orders import by_key
    >>> spec = OccupancyMeasureOrdering(by_key(lambda m: (m[0, 0, 1], m[1, 1, 1])), gamma=0.5)
    >>> spec.compile(E3()).compare([[1, 0], [0, 1]], [[1, 0], [1, 0]])
    1
    """

    real_valued = False

    def __init__(self, order: Order | Callable[[Any, Any], Any], gamma: Any) -> None:
        self.order = as_order(order)
        check_discount(gamma)
        self.gamma = gamma

    def key_function(self) -> OccupancyMeasureFunction | None:
        """The FOMR specification with the same ordering when the order compares a real
        key declared concave with its gradient (:func:`objspec.orders.by_key`), else None.
        Its maximisers are this specification's maximal policies, which is how the
        optimiser uses it.

        Examples
        --------
        >>> import numpy as np
        >>> from objspec import orders
        >>> o = OccupancyMeasureOrdering(orders.by_key(np.sum), 0.5)
        >>> o.key_function() is None  # not declared concave
        True
        """
        from objspec import orders

        order = self.order
        if not (isinstance(order, orders.ByKey) and order.concave
                and order.gradient is not None):
            return None
        return OccupancyMeasureFunction(order.key, self.gamma, concave=True,
                                        gradient=order.gradient)

    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> OccupancyOrderingEvaluator:
        """Evaluator in ``env``; ``exact=True`` compares Fraction occupancy measures."""
        return OccupancyOrderingEvaluator(self, env, exact=bool(exact))

    def __repr__(self) -> str:
        return f"OccupancyMeasureOrdering(order={self.order!r}, gamma={self.gamma})"


class OccupancyOrderingEvaluator(OrderEvaluator[OccupancyMeasureOrdering]):
    """Evaluator of an :class:`OccupancyMeasureOrdering`."""

    def __init__(self, spec: OccupancyMeasureOrdering, env: FiniteMDP, *, exact: bool) -> None:
        super().__init__(spec, env, spec.order, exact=exact)
        self._gamma = spec.gamma
        self.method = "exact rational" if exact else "linear solve"

    def objects(self, policies: Any) -> list[Any]:
        """The occupancy measure ``[S, A, S]`` of every policy."""
        return _occupancies(self.env, self._batch(policies), self._gamma)

    def exact_objects(self, policies: list[Policy]) -> list[Any]:
        return [np.asarray(exact_occupancy_measure(self.env, p, self._gamma)) for p in policies]


FOMR = OccupancyMeasureFunction
OMO = OccupancyMeasureOrdering


# ---------------------------------------------------------------- registration


def _strategy_fomr(env: FiniteMDP, **options: Any) -> SearchStrategy[Any]:
    """:class:`~objspec.formalisms.OccupancyMeasureFunction` specifications: a linear
    statistic ``<w, m>`` passed through a peak, or the negative squared distance of
    ``m`` to a random target.

    The hypothesis strategy this formalism registers (``options`` are passed to it); see
    :func:`objspec.environments.strategies.occupancy_functions`.
    """
    from hypothesis import strategies as st

    from objspec.mdp.strategies import discounts, rewards

    @st.composite
    def occupancy_functions(draw: st.DrawFn, env: FiniteMDP) -> Any:

        w = draw(rewards(env, "transition"))
        if draw(st.booleans()):
            c = draw(st.floats(-2.0, 2.0, allow_nan=False))

            def f(m: Any) -> float:
                return -((float(np.sum(w * np.asarray(m, dtype=float))) - c) ** 2)
        else:

            def f(m: Any) -> float:
                return -float(np.sum((np.asarray(m, dtype=float) - w) ** 2))

        return OccupancyMeasureFunction(f, draw(discounts()))

    return occupancy_functions(env, **options)


def fit_occupancy_function(env: FiniteMDP, data: Comparisons, options: FitOptions) -> Fit:
    """An FOMR ``(f, gamma)`` that orders the data, or a certificate that none does.

    ``J(pi) = f(m_gamma^pi)``: policies with equal occupancy measures tie, and every
    ordering that ties them is realised by ``f(m) = g(<r, m>)`` with ``r`` a rational
    weight injective on the data's distinct measures and ``g`` the
    explicit piecewise linear interpolant of the classes' heights; ``f`` is defined on
    every measure, not only the data's (docs/learning.md#invariance).

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> from objspec.environments import E3
    >>> from objspec.learning import Comparisons, fit
    >>> pols = [[[F(p), 1 - F(p)], [1, 0]] for p in (0, F(1, 2), 1)]
    >>> data = Comparisons(policies=pols, pairs=[(1, 0, ">"), (1, 2, ">"), (0, 2, "=")])
    >>> fit("FOMR", E3(), data, gamma=F(1, 2)).spec.compile(E3()).rank(pols).tolist()
    [1, 0, 1]
    """
    gamma = options.need_gamma("FOMR")

    def build(ell: LinearStatistic, g: PiecewiseLinear) -> OccupancyMeasureFunction:
        return OccupancyMeasureFunction(Interpolant(state_action_occupancy, ell, g, "m(s, a)"),
                                        gamma)

    return fit_by_invariance(
        "FOMR", env, data, options, invariance=occupancy_invariance(gamma, "FOMR"),
        build=build, real_valued=True,
        description=f"function of the occupancy measure (gamma = {gamma})",
        method="exact occupancy classes; f(m) = g(<r, m>) with r injective on them and g "
               "piecewise linear")


def _sample_fomr(env: FiniteMDP, rng: np.random.Generator) -> Any:
    w, u = random_weights(rng, (env.n_states, env.n_actions, env.n_states)), random_weights(
        rng, (env.n_states, env.n_actions, env.n_states))

    def f(m: Any) -> Any:
        m = np.asarray(m)
        lin = sum((a * b for a, b in zip(w.ravel(), m.ravel(), strict=True)), Fraction(0) * 0)
        quad = sum((a * b for a, b in zip(u.ravel(), m.ravel(), strict=True)), Fraction(0) * 0)
        return lin - quad * quad

    return OccupancyMeasureFunction(f, random_discount(rng))


formalism(
    "FOMR",
    optimiser=FOMR_OPTIMISER,
    name="functions from occupancy measures to reals",
    level="occupancy",
    exact=True,
    strategy=_strategy_fomr,
    sampler=_sample_fomr,
    fitter=Fitter(fit_occupancy_function, "exact occupancy-measure classes; an explicit "
                  "interpolant g(<r, m>); certificate on the classes' one-hot features"),
)(OccupancyMeasureFunction)


def _strategy_omo(env: FiniteMDP, **options: Any) -> SearchStrategy[Any]:
    """:class:`~objspec.formalisms.OccupancyMeasureOrdering` specifications: the
    lexicographic order of two linear statistics of the occupancy measure.

    The hypothesis strategy this formalism registers (``options`` are passed to it); see
    :func:`objspec.environments.strategies.occupancy_orderings`.
    """
    from hypothesis import strategies as st

    from objspec.mdp.strategies import discounts, rewards

    @st.composite
    def occupancy_orderings(draw: st.DrawFn, env: FiniteMDP) -> Any:
        from objspec import orders

        w1 = draw(rewards(env, "transition"))
        w2 = draw(rewards(env, "transition"))

        def stats(m: Any) -> list[float]:
            arr = np.asarray(m, dtype=float)
            return [float(np.sum(w1 * arr)), float(np.sum(w2 * arr))]

        return OccupancyMeasureOrdering(orders.pullback(orders.lexicographic(), stats),
                                        draw(discounts()))

    return occupancy_orderings(env, **options)


def fit_occupancy_ordering(env: FiniteMDP, data: Comparisons, options: FitOptions) -> Fit:
    """An OMO ``(>=_M, gamma)`` that orders the data, or a certificate that none does.

    As :func:`fit_occupancy_function`, with the order :func:`objspec.orders.by_key` of
    ``g(<r, m>)`` (a total preorder on all measures).

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> from objspec.environments import E3
    >>> from objspec.learning import Comparisons, fit
    >>> pols = [[[F(p), 1 - F(p)], [1, 0]] for p in (0, F(1, 2), 1)]
    >>> data = Comparisons(policies=pols, pairs=[(2, 1, ">"), (0, 1, "=")])
    >>> fit("OMO", E3(), data, gamma=F(1, 2)).spec.compile(E3()).rank(pols).tolist()
    [1, 1, 0]
    """
    from objspec.orders import by_key

    gamma = options.need_gamma("OMO")

    def build(ell: LinearStatistic, g: PiecewiseLinear) -> OccupancyMeasureOrdering:
        return OccupancyMeasureOrdering(
            by_key(Interpolant(state_action_occupancy, ell, g, "m(s, a)")), gamma)

    return fit_by_invariance(
        "OMO", env, data, options, invariance=occupancy_invariance(gamma, "OMO"),
        build=build, real_valued=False,
        description=f"occupancy measure ordering (gamma = {gamma})",
        method="exact occupancy classes; ordered by the key g(<r, m>), r injective on them, "
               "g piecewise linear")


def _sample_omo(env: FiniteMDP, rng: np.random.Generator) -> Any:
    from objspec import orders

    w, u = random_weights(rng, (env.n_states, env.n_actions, env.n_states)), random_weights(
        rng, (env.n_states, env.n_actions, env.n_states))

    def key(m: Any) -> Any:
        m = np.asarray(m).ravel()
        return [sum((a * b for a, b in zip(w.ravel(), m, strict=True)), Fraction(0) * 0),
                sum((a * b for a, b in zip(u.ravel(), m, strict=True)), Fraction(0) * 0)]

    return OccupancyMeasureOrdering(orders.pullback(orders.lexicographic(), key),
                                    random_discount(rng))


formalism(
    "OMO",
    optimiser=ORDERING_OPTIMISER,
    name="occupancy measure orderings",
    level="occupancy",
    exact=True,
    strategy=_strategy_omo,
    sampler=_sample_omo,
    fitter=Fitter(fit_occupancy_ordering, "exact occupancy-measure classes; an order by an "
                  "explicit key g(<r, m>); certificate on the classes' one-hot features"),
)(OccupancyMeasureOrdering)
