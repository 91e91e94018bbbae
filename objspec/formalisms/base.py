"""The specification and evaluator protocol shared by all 17 formalisms.

A :class:`Specification` is one objective written in some formalism. In an environment
``E`` it induces a total preorder over stationary policies (docs/theory.md#orderings);
``spec.compile(env)`` returns an :class:`Evaluator` for that preorder with

* ``compare(p, q) -> int``: ``1`` if ``p`` is strictly preferred, ``-1`` if ``q`` is, ``0``
  for a tie;
* ``rank(policies) -> ndarray``: dense ranks, ``0`` for the best class, ties sharing a rank.

Real-valued formalisms compile to a :class:`RealValuedEvaluator`, which also has
``value(policy)`` and ``values(policies)`` (batched) and decides ties with a stated
tolerance, or exactly in rational arithmetic when ``exact=True``.
"""

from __future__ import annotations

import abc
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import numpy as np

from objspec.errors import InvalidModelError, InvalidSpecificationError
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy, as_policy_batch
from objspec.mdp.reachability import canonical_policies

if TYPE_CHECKING:
    from objspec.formalisms.optimisation import Optimum

__all__ = ["Specification", "Evaluator", "RealValuedEvaluator", "Valuation", "S", "dense_ranks"]


class Specification(abc.ABC):
    """An objective specification in one of the paper's formalisms.

    Subclasses are registered with :func:`objspec.formalisms.registry.formalism` (which
    sets ``acronym``), set ``real_valued``, and implement :meth:`_evaluator`;
    :meth:`compile` is the same for every formalism.
    """

    acronym: ClassVar[str]
    real_valued: ClassVar[bool] = True
    #: True for formalisms that see the policy itself (FPR, PO). False for those that see
    #: only the trajectory lottery: their evaluators evaluate
    #: :func:`objspec.mdp.reachability.canonical_policies`, so that policies agreeing on
    #: the states they reach (docs/theory.md#l7) get bit-identical values.
    policy_level: ClassVar[bool] = False

    def compile(self, env: FiniteMDP, *, exact: bool | None = None) -> Evaluator[Any]:
        """Return an evaluator of the ordering this specification induces in ``env``.

        Parameters
        ----------
        env : FiniteMDP
            The environment (its size must match the specification's arrays).
        exact : bool or None
            ``True``: decide every comparison in rational arithmetic (``exact_value``);
            ``False``: floats, ties within a certified tolerance; ``None``: the formalism's
            default (floats for most; exact where it is cheap, see the class docstring).

        Raises
        ------
        InvalidModelError
            If ``env`` is not a :class:`~objspec.mdp.model.FiniteMDP`.
        InvalidSpecificationError
            If ``exact`` is not a bool or None, or the specification cannot be evaluated in
            ``env`` (as asked).
        """
        if not isinstance(env, FiniteMDP):
            raise InvalidModelError(
                f"{type(self).__name__}.compile needs a FiniteMDP, got {type(env).__name__}")
        if exact is not None and not isinstance(exact, (bool, np.bool_)):
            raise InvalidSpecificationError(
                f"exact must be True, False or None, got {exact!r}")
        return self._evaluator(env, None if exact is None else bool(exact))

    def optimise(self, env: FiniteMDP, *, policies: str = "stationary", exact: bool = False,
                 seed: int | None = None, time_limit: float | None = None) -> Optimum:
        """The best policy this specification's formalism can find in ``env``, with what is
        guaranteed about it (:class:`~objspec.formalisms.optimisation.Optimum`).

        Parameters
        ----------
        env : FiniteMDP
        policies : {"stationary", "finite-memory"}
            The policy class: stationary (the paper's class) or, where the formalism's
            optimiser supports it, finite-memory policies.
        exact : bool
            Verify (and where the method allows, compute) in rational arithmetic.
        seed : int or None
            Seed of randomised searches (restarts); results reproduce for a given seed.
        time_limit : float or None
            Seconds; a search stopped by it returns its best policy with the guarantee
            ``"heuristic"``.

        Raises
        ------
        InvalidSpecificationError
            For a bad option, or ``"finite-memory"`` where it has no meaning.

        Examples
        --------
        >>> import numpy as np
        >>> from objspec import FiniteMDP
        >>> from objspec.formalisms import MarkovReward
        >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
        >>> opt = MarkovReward([[0.0, 1.0], [0.0, 0.0]], 0.5).optimise(FiniteMDP(P, [1, 0]))
        >>> opt.guarantee in ("exact", "certified", "local"), round(float(opt.value), 6)
        (True, 1.333333)
        """
        from objspec.formalisms.optimisation import optimise

        return optimise(self, env, policies=policies, exact=exact, seed=seed,
                        time_limit=time_limit)

    @abc.abstractmethod
    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> Evaluator[Any]:
        """The evaluator in ``env`` (``env`` and ``exact`` already validated)."""

    @property
    def formalism(self) -> str:
        """The paper's acronym of this specification's formalism."""
        return self.acronym


S = TypeVar("S", bound=Specification)


class Evaluator(abc.ABC, Generic[S]):
    """The total preorder a specification induces on the policies of one environment.

    Generic in the specification type: ``Evaluator[MarkovReward]`` has ``spec`` typed as a
    :class:`~objspec.formalisms.MarkovReward`.
    """

    #: Whether ``compare`` decides ties exactly (rational arithmetic or a structural test).
    exact: bool = False

    def __init__(self, spec: S, env: FiniteMDP) -> None:
        self.spec: S = spec
        self.env = env

    def _batch(self, policies: Any) -> np.ndarray:
        """Validated ``[N, S, A]`` batch; canonical off the reached states unless the
        specification is policy-level (see :attr:`Specification.policy_level`)."""
        env = self.env
        pi, _ = as_policy_batch(policies, env.n_states, env.n_actions, enabled=env.enabled)
        if not getattr(self.spec, "policy_level", False):
            pi = canonical_policies(self.env, pi)
        return pi

    def _policy_list(self, policies: Any) -> list[Policy]:
        """Policies of a batch as :class:`Policy` objects, keeping exact (Fraction) data."""
        if isinstance(policies, Policy):
            items: list[Any] = [policies]
        elif isinstance(policies, np.ndarray) and policies.dtype != object:
            items = list(self._batch(policies))
        else:
            seq = list(policies)
            nested = seq and (isinstance(seq[0], Policy) or np.ndim(seq[0]) == 2)
            items = seq if nested else [seq]
        out = [p if isinstance(p, Policy) else Policy(p) for p in items]
        self._batch(out)  # shape check against the environment
        return out

    @abc.abstractmethod
    def compare(self, p: Any, q: Any) -> int:
        """``1`` if ``p`` is strictly preferred to ``q``, ``-1`` if ``q`` is, ``0`` if tied."""

    def rank(self, policies: Any) -> np.ndarray:
        """Dense ranks of a batch of policies: 0 for the best class, ties share a rank.

        The default sorts with :meth:`compare` (``O(N log N)`` comparisons).
        """
        pi = self._policy_list(policies)

        def better_first(i: int, j: int) -> int:
            return self.compare(pi[j], pi[i])

        order = sorted(range(len(pi)), key=functools.cmp_to_key(better_first))
        ranks = np.empty(len(pi), dtype=np.int64)
        current = 0
        for pos, idx in enumerate(order):
            if pos > 0 and self.compare(pi[order[pos - 1]], pi[idx]) != 0:
                current += 1
            ranks[idx] = current
        return ranks

    def best(self, policies: Any) -> list[int]:
        """Indices of the best policies (rank 0) of a batch."""
        return [int(i) for i in np.flatnonzero(self.rank(policies) == 0)]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.spec!r} on {self.env!r}>"


def dense_ranks(values: np.ndarray, tolerance: float) -> np.ndarray:
    """Dense ranks of real values, larger is better; values within ``tolerance`` of the
    first (largest) member of a class join that class.

    Examples
    --------
    >>> dense_ranks(np.array([1.0, 3.0, 3.0 + 1e-15, 2.0]), 1e-12)
    array([2, 0, 0, 1])
    """
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values), dtype=np.int64)
    current = -1
    head = np.inf
    for idx in order:
        if current < 0 or head - values[idx] > tolerance:
            current += 1
            head = values[idx]
        ranks[idx] = current
    return ranks


@dataclass(frozen=True)
class Valuation:
    """The values of one batch of policies and the tolerance that decides their ties.

    Returned by :meth:`RealValuedEvaluator.valuation`. The tolerance belongs to the batch
    (it covers the certified error of *these* values, which can grow with their magnitude),
    so evaluating a batch never changes how a later batch is compared.

    Attributes
    ----------
    values : ndarray
        float64 ``[N]``, finite.
    tie_tolerance : float
        Values closer than this are reported as ties.
    error_bound : float or None
        The stated bound on ``|values - J|`` for this batch, where the evaluator states one
        that depends on the batch (Monte Carlo); None otherwise (see the evaluator).
    standard_errors : ndarray or None
        Per-policy standard errors of a Monte Carlo estimate; None for other methods.

    Examples
    --------
    >>> Valuation(np.array([1.0, 2.0]), 1e-9).values
    array([1., 2.])
    """

    values: np.ndarray
    tie_tolerance: float
    error_bound: float | None = None
    standard_errors: np.ndarray | None = None


class RealValuedEvaluator(Evaluator[S]):
    """An evaluator for a formalism with a policy evaluation function ``J``.

    ``pi1`` is preferred to ``pi2`` iff ``J(pi1) > J(pi2)``. Floating-point values are
    compared with the certified ``tie_tolerance``: values closer than it are reported as
    ties. Evaluators compiled with ``exact=True`` override :meth:`exact_value` and decide
    every comparison in rational arithmetic.
    """

    #: Values within this distance are reported as ties (covers the certified error); a
    #: batch's :class:`Valuation` may widen it for that batch only.
    tie_tolerance: float = 1e-9
    #: How values are computed, e.g. ``"linear solve"``, ``"exact rational"``, ``"monte carlo"``.
    method: str = "exact"

    @abc.abstractmethod
    def valuation(self, policies: Any) -> Valuation:
        """``J`` of every policy of a batch (computed batched) with the tie tolerance that
        covers their certified error. Does not change the evaluator."""

    def values(self, policies: Any) -> np.ndarray:
        """``J`` of every policy of a batch, computed batched; float64 ``[N]``."""
        return self.valuation(policies).values

    def value(self, policy: Any) -> float:
        """``J(policy)`` as a float."""
        return float(self.values(self._batch(policy))[0])

    def exact_value(self, policy: Policy) -> Any:
        """``J(policy)`` in exact arithmetic; only evaluators with ``exact = True`` have it."""
        raise InvalidSpecificationError(
            f"{type(self.spec).__name__} was not compiled for exact evaluation"
        )

    def _valued(self, vals: Any, tolerance: float = 0.0, *, relative: float = 0.0) -> Valuation:
        """A :class:`Valuation` of checked (finite) values whose tie tolerance is the
        evaluator's, ``tolerance``, or ``relative * max(1, max |J|)``, whichever is largest."""
        checked = self._checked(vals)
        tol = max(self.tie_tolerance, tolerance,
                  relative * float(np.abs(checked).max(initial=1.0)) if relative else 0.0)
        return Valuation(checked, tol)

    def _checked(self, vals: np.ndarray) -> np.ndarray:
        vals = np.asarray(vals, dtype=np.float64)
        if not np.all(np.isfinite(vals)):
            i = int(np.argmax(~np.isfinite(vals)))
            raise InvalidSpecificationError(
                f"{type(self.spec).__name__} gave the non-finite value {vals[i]} for policy {i}"
            )
        return vals

    def compare(self, p: Any, q: Any) -> int:
        if self.exact:
            pp, qq = self._policy_list([p, q])
            vp, vq = self.exact_value(pp), self.exact_value(qq)
            return int(vp > vq) - int(vp < vq)
        pair, _ = as_policy_batch(
            [Policy(p), Policy(q)], self.env.n_states, self.env.n_actions,
            enabled=self.env.enabled,
        )
        val = self.valuation(pair)  # makes the pair canonical once
        vp, vq = val.values
        if abs(vp - vq) <= val.tie_tolerance:
            return 0
        return 1 if vp > vq else -1

    def rank(self, policies: Any) -> np.ndarray:
        if self.exact:
            exact_vals = [self.exact_value(p) for p in self._policy_list(policies)]
            levels = sorted(set(exact_vals), reverse=True)
            index = {v: i for i, v in enumerate(levels)}
            return np.array([index[v] for v in exact_vals], dtype=np.int64)
        val = self.valuation(self._batch(policies))
        return dense_ranks(val.values, val.tie_tolerance)
