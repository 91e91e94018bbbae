"""Validation and evaluator helpers shared by the formalism modules (not public API)."""

from __future__ import annotations

import abc
import math
import numbers
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from objspec.errors import InvalidSpecificationError, ObjspecError
from objspec.formalisms.base import Evaluator, RealValuedEvaluator, S, Valuation
from objspec.mdp.arrays import real_array
from objspec.mdp.model import FiniteMDP, rational_array, to_fraction
from objspec.mdp.policy import Policy
from objspec.mdp.reachability import reachable_from_supports
from objspec.mdp.rewards import expected_rewards, normalize_rewards
from objspec.orders import (
    Comparator,
    Order,
    as_order,
    check_total_preorder,
    ranks_by_compare,
)

#: Batches up to this size are checked for total-preorder violations of user comparators.
CHECK_LIMIT = 64
#: Deterministic policies on which a user comparator is checked before its first use.
SAMPLE_CHECK_POLICIES = 12

__all__ = [
    "as_reward",
    "as_rewards",
    "fit_reward",
    "fit_rewards",
    "expected_reward",
    "expected_reward_batch",
    "reward_scale",
    "expected_return_vectors",
    "transition_reward_values",
    "rewards_at",
    "user_real",
    "exact_real",
    "reachable_states",
    "OrderEvaluator",
    "StatisticEvaluator",
    "call_user",
    "exact_result",
    "real_result",
    "describe_callable",
]


def as_reward(reward: Any, what: str = "reward") -> np.ndarray:
    """One reward ``[S]``, ``[S, A]`` or ``[S, A, S]``: Fractions kept (object), else float64."""
    exact = rational_array(reward)
    if exact is not None:
        arr = exact
    else:
        arr = real_array(reward, what, InvalidSpecificationError)
    if arr.ndim not in (1, 2, 3):
        raise InvalidSpecificationError(
            f"{what} must be shaped [S], [S, A] or [S, A, S]; got shape {arr.shape}"
        )
    _check_finite(arr, what)
    return arr


def as_rewards(rewards: Any, what: str = "rewards") -> np.ndarray:
    """``k`` rewards stacked on a leading axis: ``[k, S]``, ``[k, S, A]`` or ``[k, S, A, S]``."""
    exact = rational_array(rewards)
    if exact is not None:
        arr = exact
    else:
        arr = real_array(rewards, what, InvalidSpecificationError)
    if arr.ndim not in (2, 3, 4) or arr.shape[0] == 0:
        raise InvalidSpecificationError(
            f"{what} must be k >= 1 rewards stacked on a leading axis, shaped [k, S], "
            f"[k, S, A] or [k, S, A, S]; got shape {arr.shape}"
        )
    _check_finite(arr, what)
    return arr


def _check_finite(arr: np.ndarray, what: str) -> None:
    if arr.dtype == object:
        return
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InvalidSpecificationError(f"{what}{list(idx)} = {arr[idx]} is not finite")


def fit_reward(env: FiniteMDP, reward: np.ndarray, what: str = "reward") -> np.ndarray:
    """The reward as a float ``[S, A, S]`` array for ``env``; raises if the sizes differ.

    Dense by design: only for the trajectory-lottery engines, which work on small models.
    Formalisms that need only expectations use :func:`expected_reward`.
    """
    arr, _, _ = normalize_rewards(env, reward.astype(np.float64), batched=False, what=what)
    return _broadcast(env, arr)[0]


def fit_rewards(env: FiniteMDP, rewards: np.ndarray, what: str = "rewards") -> np.ndarray:
    """``k`` rewards as a float ``[k, S, A, S]`` array for ``env`` (dense, see fit_reward)."""
    arr, _, _ = normalize_rewards(env, rewards.astype(np.float64), batched=True, what=what)
    return _broadcast(env, arr)


def _broadcast(env: FiniteMDP, arr: np.ndarray) -> np.ndarray:
    S, A = env.n_states, env.n_actions
    if arr.ndim == 2:
        return np.broadcast_to(arr[:, :, None, None], (arr.shape[0], S, A, S)).copy()
    if arr.ndim == 3:
        return np.broadcast_to(arr[:, :, :, None], (arr.shape[0], S, A, S)).copy()
    return arr


def expected_reward(env: FiniteMDP, reward: np.ndarray, what: str = "reward") -> np.ndarray:
    """``[S, A]``: the expected one-step reward ``r(s, a) = sum_t tau(t|s, a) R(s, a, t)``.

    Checks the shape against ``env`` (raising :class:`InvalidSpecificationError`). Every
    expectation of a Markov reward (discounted return, gain, occupancy inner product)
    depends on ``R`` only through ``r``; ``[S, A, S]`` rewards are read at the non-zeros of
    the transition matrix only, and nothing of size ``[S, A, S]`` is built.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.environments import E3
    >>> expected_reward(E3(), np.array([1.0, 0.0]))
    array([[1., 1.],
           [0., 0.]])
    """
    return expected_reward_batch(env, reward[None], what)[0]


def expected_reward_batch(env: FiniteMDP, rewards: np.ndarray, what: str = "rewards"
                          ) -> np.ndarray:
    """``[k, S, A]``: :func:`expected_reward` of ``k`` rewards stacked on a leading axis."""
    arr, kind, _ = normalize_rewards(env, rewards.astype(np.float64), batched=True, what=what)
    return expected_rewards(env, arr, kind)


def transition_reward_values(env: FiniteMDP, rewards: np.ndarray, what: str = "rewards"
                             ) -> np.ndarray:
    """``[k, nnz]``: ``k`` stacked rewards at the non-zeros of ``env.transition_matrix``.

    Column ``j`` is the transition ``(s, a, t)`` of the ``j``-th stored entry (CSR order).
    Rewards on transitions of probability 0 never occur on a trajectory, so these values
    determine every return; ``[S, A, S]`` rewards are only read there. See
    :func:`rewards_at` for the look-up.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.environments import E3
    >>> transition_reward_values(E3(), np.array([[1.0, 0.0]]))
    array([[1., 1., 0., 0.]])
    """
    arr, kind, _ = normalize_rewards(env, rewards.astype(np.float64), batched=True, what=what)
    S, A = env.n_states, env.n_actions
    P = env.transition_matrix
    pair = np.repeat(np.arange(S * A), np.diff(P.indptr))
    if kind == 1:
        return arr[:, pair // A]
    if kind == 2:
        return arr.reshape(-1, S * A)[:, pair]
    return arr.reshape(-1, S * A, S)[:, pair, P.indices]


def rewards_at(env: FiniteMDP, values: np.ndarray, s: np.ndarray, a: np.ndarray,
               t: np.ndarray) -> np.ndarray:
    """``[k, *shape]``: the rewards of :func:`transition_reward_values` at transitions
    ``(s, a, t)`` of positive probability (arrays of one shape), by binary search."""
    S, A = env.n_states, env.n_actions
    P = env.transition_matrix
    keys = np.repeat(np.arange(S * A, dtype=np.int64), np.diff(P.indptr)) * S + P.indices
    wanted = (np.asarray(s, dtype=np.int64) * A + a) * S + t
    return values[:, np.searchsorted(keys, wanted)]


def reward_scale(reward: np.ndarray) -> float:
    """``max |R|`` over the given entries (0 for an empty array), as a float."""
    return float(np.abs(reward.astype(np.float64)).max(initial=0.0))


def expected_return_vectors(
    env: FiniteMDP, policies: np.ndarray, r_sa: np.ndarray, gamma: Any
) -> np.ndarray:
    """``[N, k]`` expected discounted returns of ``N`` policies for ``k`` rewards ``[k, S, A]``.

    One batched solve of ``(I - gamma P_pi) V = r_pi`` with ``k`` right-hand sides
    (:func:`objspec.mdp.linear.solve_policy_systems`, certified about ``1e-12``
    relative). Takes expected rewards, so no reward shape needs guessing.
    """
    from objspec.mdp.linear import solve_policy_systems
    from objspec.mdp.rewards import check_discount

    rhs = np.einsum("nsa,ksa->nsk", policies, r_sa)
    sol = solve_policy_systems(env, policies, rhs, check_discount(float(gamma)))
    return np.einsum("nsk,s->nk", sol.x, env.initial)


def exact_reward_tensor(env: FiniteMDP, reward: np.ndarray) -> np.ndarray:
    """One reward as a Fraction ``[S, A, S]`` array (floats converted exactly)."""
    from objspec.mdp.exact import exact_rewards

    expected_reward(env, reward)  # shape check with the library's message
    return exact_rewards(env, reward)


def user_real(result: Any, what: str) -> float:
    """A user function's result as a finite float; raises naming ``what`` otherwise."""
    if isinstance(result, np.ndarray) and result.size == 1:
        result = result.reshape(()).item()
    if isinstance(result, bool) or not isinstance(
        result, numbers.Real | np.floating | np.integer
    ):
        try:
            import sympy

            if isinstance(result, sympy.Expr) and result.is_number and result.is_real:
                result = float(result)
            else:
                raise TypeError
        except TypeError:
            raise InvalidSpecificationError(
                f"{what} returned {result!r}, not a real number"
            ) from None
    value = float(result)
    if not math.isfinite(value):
        raise InvalidSpecificationError(f"{what} returned the non-finite value {value}")
    return value


def exact_real(result: Any, what: str) -> Fraction:
    """A user function's result as an exact Fraction.

    Rationals (``int``, ``Fraction``, sympy ``Rational``) are kept exactly; a float is
    taken as the dyadic rational it is. Non-finite and non-real results raise.
    """
    if isinstance(result, np.ndarray) and result.size == 1:
        result = result.reshape(()).item()
    if isinstance(result, float | np.floating):
        return Fraction(user_real(result, what))  # rejects nan and inf
    try:
        if not isinstance(result, bool):
            return to_fraction(result)
    except TypeError:
        pass
    return Fraction(user_real(result, what))


def _short(arg: Any) -> str:
    text = " ".join(repr(arg).split())
    return text if len(text) <= 120 else text[:117] + "..."


def call_user(fn: Callable[..., Any], *args: Any, what: str) -> Any:
    """``fn(*args)`` for a user-supplied function; its exceptions become named errors.

    An exception raised by ``fn`` (other than an :class:`~objspec.errors.ObjspecError`) is
    re-raised as :class:`~objspec.errors.InvalidSpecificationError` whose message names
    ``what`` (the function and the policy or sample being evaluated) and the argument; the
    original exception is kept as ``__cause__``.

    Examples
    --------
    >>> try:
    ...     call_user(lambda x: 1 / x, 0, what="ONMR function f (policy 2)")
    ... except InvalidSpecificationError as exc:
    ...     print(exc)
    ONMR function f (policy 2) raised ZeroDivisionError (division by zero) on the argument 0
    """
    try:
        return fn(*args)
    except ObjspecError:
        raise
    except Exception as exc:
        shown = ", ".join(_short(a) for a in args)
        raise InvalidSpecificationError(
            f"{what} raised {type(exc).__name__} ({exc}) on the argument {shown}"
        ) from exc


def real_result(fn: Callable[..., Any], *args: Any, what: str) -> float:
    """:func:`call_user`, then :func:`user_real` on the result: a finite float, or a named
    error naming ``what``."""
    return user_real(call_user(fn, *args, what=what), what)


def exact_result(fn: Callable[..., Any], *args: Any, what: str) -> Fraction:
    """:func:`call_user`, then :func:`exact_real` on the result: an exact Fraction."""
    return exact_real(call_user(fn, *args, what=what), what)


def describe_callable(fn: Any) -> str:
    """A short name for messages and reprs."""
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn))


def check_callable(fn: Any, what: str) -> Callable[..., Any]:
    if not callable(fn):
        raise InvalidSpecificationError(f"{what} must be callable; got {fn!r}")
    return fn


def reachable_states(env: FiniteMDP, policies: np.ndarray) -> np.ndarray:
    """``[N, S]`` boolean: states reached with positive probability under each policy.

    Read from the supports exactly (no thresholding); see
    :func:`objspec.mdp.reachability.reachable_states`.
    """
    enabled = np.asarray(policies).reshape(-1, env.n_states, env.n_actions) != 0
    return reachable_from_supports(env, enabled)


class OrderEvaluator(Evaluator[S]):
    """Evaluator of an ordering formalism: a total preorder applied to per-policy objects.

    Subclasses implement :meth:`objects` (batched where possible) and, for exact mode,
    :meth:`exact_objects`. ``compare`` and ``rank`` apply the order to these objects.
    """

    method: str = "exact"

    def __init__(self, spec: S, env: FiniteMDP, order: Order, *, exact: bool) -> None:
        super().__init__(spec, env)
        self.order = as_order(order)
        self.exact = exact
        self._sample_checked = not isinstance(self.order, Comparator)

    def checked_order(self) -> Order:
        """The order that :meth:`compare` applies to the objects (checked for user comparators)."""
        return self.order

    def _check_comparator(self, objects: list[Any]) -> None:
        """For a user comparator, check a total preorder on ``objects`` and, once, on a sample.

        The sample is the compared objects of ``SAMPLE_CHECK_POLICIES`` deterministic
        policies of the environment (each action everywhere, then seeded random choices), so
        a comparator that is not transitive (or not antisymmetric in sign) on the objects
        this environment produces is refused at its first use, also by :meth:`compare`,
        which sees only two objects. A pass certifies the
        objects checked only.
        """
        if not isinstance(self.order, Comparator):
            return
        if not self._sample_checked:
            objects = [*self._all(_policy_sample(self.env)), *objects]
            self._sample_checked = True
        if len(objects) <= CHECK_LIMIT + SAMPLE_CHECK_POLICIES:
            check_total_preorder(self.checked_order(), objects)

    @abc.abstractmethod
    def objects(self, policies: Any) -> list[Any]:
        """The compared object of every policy of a batch (floating point)."""

    @abc.abstractmethod
    def exact_objects(self, policies: list[Policy]) -> list[Any]:
        """The compared objects in exact arithmetic (used when compiled with ``exact=True``)."""

    def _all(self, policies: Any) -> list[Any]:
        if self.exact:
            return self.exact_objects(self._policy_list(policies))
        return self.objects(policies)

    def compare(self, p: Any, q: Any) -> int:
        x, y = self._all([_as_policy(p), _as_policy(q)])
        self._check_comparator([x, y])
        return self.checked_order().compare(x, y)

    def rank(self, policies: Any) -> np.ndarray:
        """Dense ranks; an order from a user comparator is first checked on the batch.

        For a :class:`~objspec.orders.Comparator` (not a total preorder by construction)
        and batches of at most ``CHECK_LIMIT`` policies, :func:`check_total_preorder` runs
        on the compared objects, so a violation raises instead of giving arbitrary ranks.
        """
        objects = self._all(policies)
        self._check_comparator(objects if len(objects) <= CHECK_LIMIT else [])
        return ranks_by_compare(objects, self.checked_order().compare)

    def check(self, policies: Any) -> None:
        """Raise :class:`~objspec.errors.InvalidSpecificationError` unless the order is a
        total preorder on the objects of these policies (see
        :func:`objspec.orders.check_total_preorder`)."""
        check_total_preorder(self.order, self._all(policies))


def _policy_sample(env: FiniteMDP) -> list[Policy]:
    """Deterministic policies on enabled actions: the ``k``-th enabled action of every state
    for each ``k``, then seeded random choices."""
    rng = np.random.default_rng(0)
    choices = [np.flatnonzero(env.enabled[s]) for s in range(env.n_states)]
    widest = max(c.size for c in choices)
    rows = [[int(c[k % c.size]) for c in choices]
            for k in range(min(widest, SAMPLE_CHECK_POLICIES))]
    rows += [[int(rng.choice(c)) for c in choices]
             for _ in range(SAMPLE_CHECK_POLICIES - len(rows))]
    unique = {tuple(row) for row in rows}
    return [Policy.deterministic(list(row), env.n_actions) for row in sorted(unique)]


def _as_policy(p: Any) -> Policy:
    return p if isinstance(p, Policy) else Policy(p)


class StatisticEvaluator(RealValuedEvaluator[S]):
    """``J(pi) = fn(stat(pi))``: a user function of a statistic computed batched.

    Subclasses implement :meth:`statistics` (floating point, one batched computation for
    all policies) and :meth:`exact_statistic` (rational). ``fn`` is called once per
    policy; its results must be finite reals. In floating point, values within
    ``tie_tolerance = 1e-9 * max(1, max |J|)`` are tied; this covers the rounding of the
    statistic only when ``fn`` is moderately continuous, so for certified ties compile
    with ``exact=True``: ``fn`` then receives the statistic in Fractions and its results
    are compared exactly (a float result taken as the dyadic rational it is).
    """

    def __init__(
        self,
        spec: S,
        env: FiniteMDP,
        fn: Callable[[Any], Any],
        *,
        exact: bool,
        method: str,
    ) -> None:
        super().__init__(spec, env)
        self.fn = fn
        self.exact = exact
        self.method = "exact rational" if exact else method
        self.tie_tolerance = 1e-9

    @abc.abstractmethod
    def statistics(self, policies: np.ndarray) -> list[Any]:
        """The statistic of every policy of an ``[N, S, A]`` batch."""

    @abc.abstractmethod
    def exact_statistic(self, policy: Policy) -> Any:
        """The statistic of one policy in exact arithmetic."""

    def _what(self) -> str:
        return f"{type(self.spec).__name__} function {describe_callable(self.fn)}"

    def valuation(self, policies: Any) -> Valuation:
        stats = self.statistics(self._batch(policies))
        what = self._what()
        vals = np.array(
            [real_result(self.fn, x, what=f"{what} (policy {i})") for i, x in enumerate(stats)]
        )
        return self._valued(vals, relative=1e-9)

    def exact_value(self, policy: Policy) -> Fraction:
        what = self._what()
        return exact_result(self.fn, self.exact_statistic(policy), what=what)
