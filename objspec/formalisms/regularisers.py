"""Policy regularisers ``F`` for regularised RL (RRL).

A regulariser maps one action distribution ``pi(. | s)`` (a 1-D array over actions) to a
real number; RRL subtracts ``alpha F(pi(. | s_t))`` from the reward at every step
(docs/theory.md#def-rrl). Built in:

* :data:`negative_entropy`: ``F(p) = sum_a p_a log p_a`` (with ``0 log 0 = 0``), so
  ``-alpha F`` is an entropy bonus;
* :func:`kl_to`: ``F_s(p) = KL(p || ref(. | s)) = sum_a p_a log(p_a / ref_a)``; with a 1-D
  reference this is one ``F`` shared by all states, as in the paper; with an ``[S, A]``
  reference policy it depends on the state, a generalisation of the paper's definition
  (the paper's ``F`` is the same at every state, which some separation proofs use);
* :func:`squared_distance_to`: ``F(p) = sum_a (p_a - ref_a)^2`` (uniform ``ref`` by
  default): convex and rational, so RRL with it is evaluated exactly and optimised with a
  certified gap;
* any callable on one 1-D distribution, wrapped by :func:`as_regulariser`.

A regulariser that declares ``convex = True`` and implements :meth:`Regulariser.gradient`
and :meth:`Regulariser.minimum` is optimised by Frank-Wolfe over occupancy measures with a
certified duality gap (``RegularisedRL.optimise``); a subclass can declare its own, and a
user callable is declared convex with ``as_regulariser(F, convex=True, gradient=grad_F)``
(the declaration is tested: see :class:`CallableRegulariser`).

Built-ins evaluate a whole ``[N, S, A]`` batch with numpy; a user callable is called once
per (policy, reachable state). Every value must be finite: a regulariser that returns
``inf`` or ``nan`` (KL to a reference that gives probability 0 to an action taken) raises
:class:`~objspec.errors.InvalidSpecificationError` naming the policy and state. Values at
states the policy never reaches are not computed: they are multiplied by a visitation of
exactly 0 (docs/theory.md#occupancy-class).

Examples
--------
>>> import numpy as np
>>> from objspec.formalisms.regularisers import negative_entropy, kl_to
>>> round(float(negative_entropy(np.array([0.5, 0.5]))), 6)
-0.693147
>>> float(kl_to([0.5, 0.5])(np.array([0.5, 0.5])))
0.0
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from objspec.errors import InvalidSpecificationError
from objspec.formalisms._support import (
    call_user,
    describe_callable,
    exact_result,
    real_result,
    user_real,
)

__all__ = [
    "Regulariser",
    "NegativeEntropy",
    "KLToReference",
    "SquaredDistance",
    "CallableRegulariser",
    "squared_distance_to",
    "negative_entropy",
    "kl_to",
    "as_regulariser",
]


class Regulariser(abc.ABC):
    """Base class: ``F`` on action distributions, evaluated on batches of policies.

    Attributes
    ----------
    rational : bool
        Whether ``F`` maps rational distributions to rational numbers, so that RRL can be
        evaluated exactly (``compile(env, exact=True)``). False for entropy and KL.
    """

    rational: bool = False
    #: Whether ``F`` is convex on the simplex (declared; with :meth:`gradient` and
    #: :meth:`minimum` it enables the certified Frank-Wolfe optimiser of RRL).
    convex: bool = False

    def gradient(self, distributions: np.ndarray, states: np.ndarray) -> np.ndarray | None:
        """``grad F`` at ``[M, A]`` distributions (of ``states``), or None when unknown."""
        return None

    def minimum(self, n_actions: int, state: int) -> float | None:
        """``min_p F(p)`` over the simplex at ``state``, or None when unknown."""
        return None

    def __call__(self, distribution: np.ndarray, state: int = 0) -> float:
        """``F(distribution)`` for one 1-D action distribution (at ``state``)."""
        probs = np.asarray(distribution, dtype=np.float64)[None, None, :]
        return float(self._batch_values(probs, np.array([state]))[0, 0])

    def values(self, policies: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``F(pi_n(. | s))`` as ``[N, S]``, computed where ``mask[n, s]``; 0 elsewhere.

        Raises
        ------
        InvalidSpecificationError
            If a computed value is not finite (names the policy and state).
        """
        out = np.zeros(mask.shape)
        rows = np.argwhere(mask)
        if rows.size:
            probs = policies[rows[:, 0], rows[:, 1]][:, None, :]
            vals = self._batch_values(probs, rows[:, 1])[:, 0]
            bad = ~np.isfinite(vals)
            if bad.any():
                n, s = (int(v) for v in rows[int(np.argmax(bad))])
                raise InvalidSpecificationError(
                    f"regulariser {self!r} is {vals[int(np.argmax(bad))]} at state {s} of "
                    f"policy {n} (distribution {policies[n, s].tolist()})"
                )
            out[rows[:, 0], rows[:, 1]] = vals
        return out

    def exact_value(self, distribution: np.ndarray, state: int) -> Fraction:
        """``F`` of a Fraction distribution, exactly; only for ``rational`` regularisers."""
        raise InvalidSpecificationError(
            f"regulariser {self!r} has irrational values (logarithms); RRL with it cannot be "
            "evaluated in exact arithmetic: compile without exact=True"
        )

    @abc.abstractmethod
    def _batch_values(self, probs: np.ndarray, states: np.ndarray) -> np.ndarray:
        """``[M, 1, A]`` distributions at ``states [M]`` -> ``[M, 1]`` values."""

    def check_environment(self, n_states: int, n_actions: int) -> None:
        """Raise if this regulariser does not fit an environment of this size."""
        return None


class NegativeEntropy(Regulariser):
    """``F(p) = sum_a p_a log p_a`` (natural log, ``0 log 0 = 0``); ``-F`` is the entropy."""

    def _batch_values(self, probs: np.ndarray, states: np.ndarray) -> np.ndarray:
        logs = np.log(np.where(probs > 0, probs, 1.0))
        return np.asarray((probs * logs).sum(axis=-1))

    def __repr__(self) -> str:
        return "negative_entropy"


class KLToReference(Regulariser):
    """``F_s(p) = KL(p || ref(. | s))``; ``+inf`` (an error) if ``p`` leaves ``ref``'s support."""

    def __init__(self, reference: Any) -> None:
        from objspec.mdp.policy import Policy

        ref = reference.probabilities if isinstance(reference, Policy) else reference
        try:
            arr = np.array(ref, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidSpecificationError(f"KL reference must be numeric: {exc}") from None
        if arr.ndim == 1:
            Policy(arr[None, :])  # validates the distribution
        elif arr.ndim == 2:
            Policy(arr)
        else:
            raise InvalidSpecificationError(
                f"KL reference must be one distribution [A] or a policy [S, A]; got {arr.shape}"
            )
        self.reference = arr

    def check_environment(self, n_states: int, n_actions: int) -> None:
        expected = (n_actions,) if self.reference.ndim == 1 else (n_states, n_actions)
        if self.reference.shape != expected:
            raise InvalidSpecificationError(
                f"KL reference has shape {list(self.reference.shape)}; the environment needs "
                f"{list(expected)}"
            )

    def _batch_values(self, probs: np.ndarray, states: np.ndarray) -> np.ndarray:
        ref = self.reference if self.reference.ndim == 1 else self.reference[states][:, None, :]
        ref = np.broadcast_to(ref, probs.shape)
        if ref.shape[-1] != probs.shape[-1]:
            raise InvalidSpecificationError(
                f"KL reference has {ref.shape[-1]} actions; the policy has {probs.shape[-1]}"
            )
        pos = probs > 0
        ratio = np.where(pos & (ref > 0), probs / np.where(ref > 0, ref, 1.0), 1.0)
        terms = np.where(pos, probs * np.log(ratio), 0.0)
        # p_a > 0 = ref_a: KL is +inf, reported as a non-finite value by ``values``
        terms = np.where(pos & (ref <= 0), np.inf, terms)
        return np.asarray(terms.sum(axis=-1))

    def __repr__(self) -> str:
        return f"kl_to(reference shaped {list(self.reference.shape)})"


class SquaredDistance(Regulariser):
    """``F(p) = sum_a (p_a - ref_a)^2``: convex, rational, minimal (0) at ``ref``."""

    rational = True
    convex = True

    def __init__(self, reference: Any = None) -> None:
        if reference is None:
            self.reference: np.ndarray | None = None
            return
        ref = np.asarray(reference, dtype=np.float64)
        if ref.ndim != 1 or not np.all(np.isfinite(ref)) or np.any(ref < 0) or \
                abs(ref.sum() - 1) > 1e-9:
            raise InvalidSpecificationError(
                f"squared_distance_to: the reference must be one distribution over actions, "
                f"got {np.asarray(reference).tolist()}")
        self.reference = ref
        self._exact_reference = [Fraction(x) for x in np.asarray(reference, dtype=object)]

    def _ref(self, n_actions: int) -> np.ndarray:
        return np.full(n_actions, 1.0 / n_actions) if self.reference is None else self.reference

    def check_environment(self, n_states: int, n_actions: int) -> None:
        if self.reference is not None and self.reference.shape != (n_actions,):
            raise InvalidSpecificationError(
                f"squared_distance_to: the reference has {self.reference.shape[0]} actions, "
                f"the environment {n_actions}")

    def _batch_values(self, probs: np.ndarray, states: np.ndarray) -> np.ndarray:
        return np.asarray(((probs - self._ref(probs.shape[-1])) ** 2).sum(axis=-1))

    def exact_value(self, distribution: np.ndarray, state: int) -> Fraction:
        n = len(distribution)
        ref = ([Fraction(1, n)] * n if self.reference is None else self._exact_reference)
        return sum(((Fraction(p) - r) ** 2 for p, r in zip(distribution, ref, strict=True)),
                   Fraction(0))

    def gradient(self, distributions: np.ndarray, states: np.ndarray) -> np.ndarray:
        return 2.0 * (distributions - self._ref(distributions.shape[-1]))

    def minimum(self, n_actions: int, state: int) -> float:
        return 0.0

    def __repr__(self) -> str:
        return ("squared_distance_to(uniform)" if self.reference is None else
                f"squared_distance_to({self.reference.tolist()})")


def squared_distance_to(reference: Any = None) -> SquaredDistance:
    """``F(p) = sum_a (p_a - ref_a)^2`` (``ref`` uniform by default): a convex, rational
    regulariser; ``-alpha F`` with ``alpha > 0`` pulls the policy towards ``ref``.

    Examples
    --------
    >>> float(squared_distance_to()(np.array([1.0, 0.0])))
    0.5
    """
    return SquaredDistance(reference)


class CallableRegulariser(Regulariser):
    """A user function of one 1-D action distribution, called per (policy, reachable state).

    Its values are exact when it returns rationals on Fraction input (``exact=True`` passes
    a 1-D object array of Fractions); a float result is taken as the dyadic rational it is.

    A user function may declare itself convex (``convex=True``) with its ``gradient`` (a
    function of one 1-D distribution returning the ``[A]`` gradient) and, optionally, its
    ``minimum`` over the simplex (a number, or a function of the number of actions). RRL
    with ``alpha > 0`` is then optimised by Frank-Wolfe over occupancy measures with a
    certified duality gap. The declaration is checked, not trusted blindly: on the first
    environment (:meth:`check_environment`) the gradient inequality
    ``F(q) >= F(p) + <grad F(p), q - p>`` is tested on pairs among the vertices, the
    uniform distribution and seeded random distributions, and the gradient against central
    differences; a failure (which proves that ``F`` is not convex or the gradient wrong)
    raises :class:`~objspec.errors.InvalidSpecificationError` naming the two
    distributions. Passing the test is evidence, not a proof of convexity. Without
    ``minimum``, a certified lower bound of ``min F`` is computed by Frank-Wolfe on the
    simplex (``F(p) + min_a g_a - <g, p>`` with ``g = grad F(p)``, valid for convex ``F``);
    a lower bound keeps the optimiser's gap certified (it only enters a supergradient at
    unvisited states).
    """

    rational = True

    def __init__(self, fn: Callable[[np.ndarray], Any], *, convex: bool = False,
                 gradient: Callable[[np.ndarray], Any] | None = None,
                 minimum: float | Callable[[int], Any] | None = None) -> None:
        if not callable(fn):
            raise InvalidSpecificationError(f"a regulariser must be callable; got {fn!r}")
        if not isinstance(convex, bool):
            raise InvalidSpecificationError(f"convex must be True or False; got {convex!r}")
        if gradient is not None and not callable(gradient):
            raise InvalidSpecificationError(
                f"the gradient of a regulariser must be callable; got {gradient!r}")
        if convex and gradient is None:
            raise InvalidSpecificationError(
                f"regulariser {describe_callable(fn)} is declared convex without its "
                "gradient: give gradient= (a function of one distribution returning the "
                "[A] gradient) for the certified optimiser, or leave convex=False")
        if minimum is not None and not callable(minimum):
            minimum = user_real(minimum, "the minimum of a regulariser")
        self.fn = fn
        self.convex = convex
        self._gradient = gradient
        self._minimum = minimum
        self._checked: dict[int, float] = {}  # n_actions -> certified lower bound of min F

    def _batch_values(self, probs: np.ndarray, states: np.ndarray) -> np.ndarray:
        out = np.empty((probs.shape[0], 1))
        for i in range(probs.shape[0]):
            row = probs[i, 0].copy()
            what = f"regulariser {self!r} at state {int(states[i])}"
            out[i, 0] = real_result(self.fn, row, what=what)
        return out

    def _grad(self, p: np.ndarray) -> np.ndarray:
        assert self._gradient is not None
        what = f"the gradient of regulariser {self!r}"
        g = np.asarray(call_user(self._gradient, p.copy(), what=what), dtype=np.float64)
        if g.shape != p.shape or not np.all(np.isfinite(g)):
            raise InvalidSpecificationError(
                f"{what} at {p.tolist()} must be {p.shape[0]} finite numbers; got "
                f"{g.tolist()}")
        return g

    def gradient(self, distributions: np.ndarray, states: np.ndarray) -> np.ndarray | None:
        if self._gradient is None:
            return None
        return np.stack([self._grad(np.asarray(p, dtype=np.float64))
                         for p in distributions]) if len(distributions) else \
            np.zeros_like(distributions)

    def minimum(self, n_actions: int, state: int) -> float | None:
        if not self.convex:
            return None
        if n_actions not in self._checked:
            self.check_environment(1, n_actions)
        return self._checked[n_actions]

    def check_environment(self, n_states: int, n_actions: int) -> None:
        """For a declared convex ``F``: test the declaration and compute ``min F`` (class
        docstring); nothing otherwise."""
        if not self.convex or n_actions in self._checked:
            return
        A = n_actions
        F = self.__call__
        rng = np.random.default_rng(0)
        points = [np.eye(A)[a] for a in range(A)] + [np.full(A, 1.0 / A)]
        points += list(rng.dirichlet(np.ones(A), size=12))
        values = [F(p) for p in points]
        grads = [self._grad(p) for p in points]
        for i, p in enumerate(points):
            scale = 1.0 + abs(values[i]) + float(np.abs(grads[i]).max())
            interior = np.all(p > 1e-3)
            if interior:  # the gradient against central differences, along the simplex
                for _ in range(2):
                    d = rng.standard_normal(A)
                    d -= d.mean()
                    d *= 1e-4 / max(np.abs(d).max(), 1e-300)
                    fd = (F(p + d) - F(p - d)) / 2.0
                    if abs(fd - float(grads[i] @ d)) > 1e-3 * 1e-4 * scale + 1e-9 * scale:
                        raise InvalidSpecificationError(
                            f"the gradient of regulariser {self!r} does not match its "
                            f"values at {p.tolist()}: directional derivative "
                            f"{fd / 1e-4:.6g} (central differences) against "
                            f"{float(grads[i] @ d) / 1e-4:.6g} from the gradient")
            for j, q in enumerate(points):
                lower = values[i] + float(grads[i] @ (q - p))
                if values[j] < lower - 1e-9 * (scale + abs(values[j])):
                    raise InvalidSpecificationError(
                        f"regulariser {self!r} is declared convex, but it is not: "
                        f"F({q.tolist()}) = {values[j]:.6g} is below the tangent at "
                        f"{p.tolist()} ({lower:.6g})")
        if self._minimum is not None:
            m = self._minimum(A) if callable(self._minimum) else self._minimum
            self._checked[A] = user_real(m, f"the minimum of regulariser {self!r}")
            if self._checked[A] > min(values) + 1e-12 * (1 + abs(min(values))):
                raise InvalidSpecificationError(
                    f"the minimum {self._checked[A]} given for regulariser {self!r} is above "
                    f"its value {min(values)} at {points[int(np.argmin(values))].tolist()}")
            return
        # Frank-Wolfe on the simplex; the gap gives a certified lower bound of min F
        p = points[int(np.argmin(values))].copy()
        best = -np.inf
        for t in range(2000):
            g = self._grad(p)
            a = int(np.argmin(g))
            gap = float(g @ p - g[a])
            best = max(best, F(p) - gap)
            if gap <= 1e-12 * (1.0 + abs(best)):
                break
            step = 2.0 / (t + 3.0)
            p = (1 - step) * p + step * np.eye(A)[a]
        self._checked[A] = best

    def exact_value(self, distribution: np.ndarray, state: int) -> Fraction:
        what = f"regulariser {self!r} at state {state}"
        return exact_result(self.fn, distribution, what=what)

    def __repr__(self) -> str:
        return describe_callable(self.fn)


def regulariser_floor(reg: Regulariser, n_states: int, n_actions: int) -> np.ndarray:
    """``[S]``: ``min F`` over the simplex at each state (or a certified lower bound), for a
    regulariser declared convex.

    Raises
    ------
    InvalidSpecificationError
        If the regulariser gives no minimum.
    """
    minima = [reg.minimum(n_actions, s) for s in range(n_states)]
    if any(v is None for v in minima):
        raise InvalidSpecificationError(
            f"regulariser {reg!r} is declared convex but has no minimum")
    return np.array([float(v) for v in minima])  # type: ignore[arg-type]


def perspective_supergradient(reg: Regulariser, X: np.ndarray, floor: np.ndarray
                              ) -> np.ndarray:
    """``[S, A]``: a supergradient of ``-sum_s d_s F(x_s / d_s)`` negated, i.e. a subgradient
    of the perspective sum ``x -> sum_s d_s F(x_s / d_s)`` of a convex ``F`` at the
    state-action occupancy ``X`` (``d_s = sum_a X[s, a]``): ``F(p) + grad F(p)_a -
    <p, grad F(p)>`` (``p = x_s / d_s``) where ``d_s > 0``, and ``floor[s]`` (``min F``, see
    :func:`regulariser_floor`) where ``d_s = 0``, since ``d F(y / d) >= d min F``.

    Raises
    ------
    InvalidSpecificationError
        If the regulariser gives no gradient.
    """
    S = X.shape[0]
    d = X.sum(axis=1)
    vis = d > 0
    G = np.empty(X.shape)
    G[~vis] = floor[~vis, None]
    if vis.any():
        states = np.arange(S)[vis]
        P = X[vis] / d[vis, None]
        Fv = reg._batch_values(P[:, None, :], states)[:, 0]
        g = reg.gradient(P, states)
        if g is None:
            raise InvalidSpecificationError(
                f"regulariser {reg!r} is declared convex but has no gradient")
        G[vis] = Fv[:, None] + g - (P * g).sum(axis=1, keepdims=True)
    return G


#: ``F(p) = sum_a p_a log p_a``; RRL with ``alpha > 0`` rewards entropy.
negative_entropy = NegativeEntropy()


def kl_to(reference: Any) -> KLToReference:
    """``F(p) = KL(p || reference)``: ``reference`` a distribution ``[A]`` or a policy ``[S, A]``.

    Examples
    --------
    >>> import numpy as np
    >>> round(kl_to([0.25, 0.75])(np.array([1.0, 0.0])), 6)  # log 4
    1.386294
    """
    return KLToReference(reference)


def as_regulariser(obj: Any, *, convex: bool = False,
                   gradient: Callable[[np.ndarray], Any] | None = None,
                   minimum: float | Callable[[int], Any] | None = None) -> Regulariser:
    """A :class:`Regulariser` as is; a callable on one 1-D distribution wrapped, optionally
    declared convex with its gradient (and minimum): see :class:`CallableRegulariser`.

    Examples
    --------
    >>> as_regulariser(lambda p: float(p @ p))(np.array([0.5, 0.5]))
    0.5
    >>> F = as_regulariser(lambda p: float(p @ p), convex=True, gradient=lambda p: 2 * p)
    >>> round(F.minimum(2, 0), 9)  # min of |p|^2 over the simplex: 1/2
    0.5
    """
    if isinstance(obj, Regulariser):
        if convex or gradient is not None or minimum is not None:
            raise InvalidSpecificationError(
                f"{obj!r} is already a Regulariser: declare convexity, gradient and minimum "
                "on its class, not in as_regulariser")
        return obj
    if callable(obj):
        return CallableRegulariser(obj, convex=convex, gradient=gradient, minimum=minimum)
    raise InvalidSpecificationError(
        f"a regulariser must be a callable on one action distribution or one of "
        f"objspec.formalisms.regularisers; got {obj!r}"
    )
