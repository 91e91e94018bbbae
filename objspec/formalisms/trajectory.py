"""Trajectory-level formalisms: functions of trajectories (FTR), functions (FTLR) and
orderings (TLO) of trajectory lotteries, and the return-function engine behind INMR and
IMORL.

See :mod:`objspec.formalisms.lottery` for the :class:`TrajectoryLottery` object and the
evaluation engines (prefix enumeration, finite return distributions, Monte Carlo).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from objspec.errors import InvalidSpecificationError
from objspec.formalisms._fit_invariance import (
    Interpolant,
    LinearStatistic,
    PiecewiseLinear,
    fit_by_invariance,
    lottery_invariance,
    lottery_occupancy,
)
from objspec.formalisms._sampling import random_discount, random_reward
from objspec.formalisms._support import (
    OrderEvaluator,
    call_user,
    check_callable,
    describe_callable,
    exact_real,
    exact_result,
    fit_rewards,
    real_result,
    reward_scale,
    rewards_at,
    transition_reward_values,
    user_real,
)
from objspec.formalisms.base import RealValuedEvaluator, Specification, Valuation
from objspec.formalisms.fitting import Comparisons, Fit, FitOptions, Fitter
from objspec.formalisms.lottery import (
    MAX_PREFIXES,
    Prefixes,
    TrajectoryLottery,
    enumerate_prefixes,
    exact_prefix_probabilities,
    prefix_probabilities,
    return_distribution,
    truncation_bound,
    truncation_horizon,
)
from objspec.formalisms.optimisation import (
    OptimiseOptions,
    Optimiser,
    Optimum,
    generic_optimise,
)
from objspec.formalisms.registry import formalism
from objspec.mdp.exact import exact_discount, exact_rewards
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy
from objspec.mdp.sampling import sample_trajectories
from objspec.orders import (
    Order,
    as_order,
    from_comparator,
)

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = [
    "TrajectoryFunction",
    "FTR",
    "TrajectoryLotteryFunction",
    "FTLR",
    "TrajectoryLotteryOrdering",
    "TLO",
    "TrajectoryLottery",
    "ReturnFunctionEvaluator",
]

Method = Literal["auto", "exact", "monte carlo"]
_METHODS = ("auto", "exact", "monte carlo")

#: ``method="auto"`` looks for a finite return distribution only while ``S * A * S`` is at
#: most this: that engine works on dense ``[S, A, S]`` arrays. Larger models use Monte
#: Carlo, whose sampling and reward look-ups are O(non-zeros).
RETURN_DISTRIBUTION_MAX = 4_000_000



def _expectation_formalisms() -> list[str]:
    """Formalisms whose value is the expectation of a function of the trajectory (they
    register ``expectation=True``; docs/theory.md#embeddings)."""
    from objspec.formalisms.registry import registered_formalisms

    return [i.acronym for i in registered_formalisms() if i.expectation]


def _check_method(method: str) -> None:
    if method not in _METHODS:
        raise InvalidSpecificationError(f"method = {method!r} must be one of {_METHODS}")


def _check_samples(n_samples: Any) -> int:
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer) or n_samples < 2:
        raise InvalidSpecificationError(f"n_samples = {n_samples!r} must be an integer >= 2")
    return int(n_samples)


#: Monte Carlo error bounds are this many standard errors plus the truncation bound.
CONFIDENCE_Z = 4.0


class TrajectoryFunction(Specification):
    r"""Functions from trajectories to reals (FTR): ``J(pi) = E[f(xi)]``.

    **Definition** (docs/theory.md#def-ftr; Subramani et al., ICLR 2024,
    arXiv 2310.11840). A specification is a (bounded, measurable) ``f: Xi -> R`` on
    infinite trajectories ``xi = (s_0, a_0, s_1, ...)``:

    .. math:: J(\pi) = E_{\xi \sim L_\pi}[f(\xi)].

    Expectations of trajectory utilities are exactly the VNM expected-utility form.

    Forms of ``f`` accepted:

    * ``TrajectoryFunction(f, horizon)``: ``f(states, actions)`` of the prefix
      ``s_0..s_H, a_0..a_{H-1}`` (int arrays ``[H + 1]`` and ``[H]``; with
      ``vectorized=True`` batches ``[P, H + 1]`` and ``[P, H]`` returning ``[P]``). If
      ``f`` really depends on the whole infinite trajectory, pass ``tail_bound``: a bound
      on ``|f(xi) - f(prefix_H(xi))|`` (e.g. ``gamma^H max|R| / (1 - gamma)`` for a
      discounted sum); it is added to the stated error.
    * ``TrajectoryFunction.of(spec)``: ``f`` given by another trajectory-level
      specification whose value is an expectation over trajectories (MR, LAR, LTL, RM,
      INMR, IMORL: docs/theory.md#embeddings), e.g. a reward machine's discounted return or
      the indicator that the label word satisfies an LTL formula. Evaluation is that
      specification's own exact engine (the product chain for automata and reward
      machines).

    **Evaluation.** ``method="auto"`` (default) enumerates every prefix of ``horizon``
    steps with positive probability in the environment (at most ``max_prefixes``), calls
    ``f`` once per prefix and weights it by the prefix probability of each policy (one
    batched product over all policies): exact up to rounding, or in rationals with
    ``compile(env, exact=True)``; the stated error is ``tail_bound``. With too many
    prefixes (or ``method="monte carlo"``), it samples ``n_samples`` trajectories per
    policy with common random numbers (``seed``); ``evaluator.valuation(policies)``
    returns the values with each policy's ``standard_errors`` and the batch's
    ``error_bound = 4 * max standard error + tail_bound``. ``method`` and (for
    enumeration) ``error_bound`` are attributes of the compiled evaluator.

    Parameters
    ----------
    f : callable
        ``f(states, actions) -> real`` on a prefix of ``horizon`` steps.
    horizon : int
        Number of steps ``H`` that ``f`` reads.
    tail_bound : float
        Bound on how much the steps after ``H`` can change ``f`` (0: ``f`` depends on the
        first ``H`` steps only).
    vectorized : bool
        Whether ``f`` takes batches of prefixes.
    method : {"auto", "exact", "monte carlo"}
    n_samples : int
        Trajectories per policy for Monte Carlo.
    seed : int
        Seed of the Monte Carlo sampler (the same for every policy).
    max_prefixes : int
        Most prefixes enumerated before switching to Monte Carlo ("auto") or raising.

    Examples
    --------
    N6 on E4: ``f = 1[a_0 = a_1]`` gives ``pq + (1 - p)(1 - q)``.

    >>> from objspec.environments import E4
    >>> spec = TrajectoryFunction(lambda s, a: float(a[0] == a[1]), horizon=2)
    >>> ev = spec.compile(E4())
    >>> ev.values([[[0.5, 0.5], [0.3, 0.7], [1, 0]], [[0.9, 0.1], [0.8, 0.2], [1, 0]]])
    array([0.5 , 0.74])
    >>> ev.method, ev.error_bound
    ('prefix enumeration', 0.0)
    """

    def __init__(
        self,
        f: Callable[[np.ndarray, np.ndarray], Any],
        horizon: int,
        *,
        tail_bound: float = 0.0,
        vectorized: bool = False,
        method: Method = "auto",
        n_samples: int = 4000,
        seed: int = 0,
        max_prefixes: int = MAX_PREFIXES,
    ) -> None:
        self.f: Callable[..., Any] | None = check_callable(f, "FTR function f")
        if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 0:
            raise InvalidSpecificationError(f"horizon = {horizon!r} must be an integer >= 0")
        tb = float(tail_bound)
        if not np.isfinite(tb) or tb < 0:
            raise InvalidSpecificationError(f"tail_bound = {tail_bound!r} must be finite, >= 0")
        _check_method(method)
        self.horizon = int(horizon)
        self.tail_bound = tb
        self.vectorized = bool(vectorized)
        self.method = method
        self.n_samples = _check_samples(n_samples)
        self.seed = seed
        self.max_prefixes = int(max_prefixes)
        self.inner: Specification | None = None

    @classmethod
    def of(cls, spec: Specification) -> TrajectoryFunction:
        """The FTR specification ``f(xi)`` whose expectation is ``spec``'s value.

        ``spec`` must be a real-valued specification whose value is an expectation over
        trajectories (MR, LAR, LTL, RM, INMR, IMORL, FTR); its own evaluator is used.

        Examples
        --------
        >>> import numpy as np
        >>> from objspec.environments import E3
        >>> from objspec.formalisms import MarkovReward
        >>> ftr = TrajectoryFunction.of(MarkovReward([[1.0, 0.0], [0.0, 0.0]], 0.5))
        >>> float(ftr.compile(E3()).value([[0.25, 0.75], [1, 0]]))
        0.25
        """
        acronym = getattr(spec, "acronym", None)
        allowed = _expectation_formalisms()
        if not isinstance(spec, Specification) or acronym not in allowed:
            raise InvalidSpecificationError(
                f"TrajectoryFunction.of needs a specification whose value is an expectation "
                f"over trajectories ({sorted(allowed)}); got {spec!r}"
            )
        out = cls.__new__(cls)
        out.f = None
        out.horizon = 0
        out.tail_bound = 0.0
        out.vectorized = False
        out.method = "auto"
        out.n_samples = 2
        out.seed = 0
        out.max_prefixes = MAX_PREFIXES
        out.inner = spec
        return out

    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> RealValuedEvaluator:
        """Evaluator in ``env`` (see the class docstring for methods and exactness)."""
        if self.inner is not None:
            return DelegatedTrajectoryEvaluator(self, env, exact=bool(exact))
        return TrajectoryFunctionEvaluator(self, env, exact=bool(exact))

    def __repr__(self) -> str:
        if self.inner is not None:
            return f"TrajectoryFunction.of({self.inner!r})"
        return (
            f"TrajectoryFunction(f={describe_callable(self.f)}, horizon={self.horizon}, "
            f"tail_bound={self.tail_bound})"
        )


class TrajectoryFunctionEvaluator(RealValuedEvaluator[TrajectoryFunction]):
    """Evaluator of a prefix-function :class:`TrajectoryFunction`.

    Attributes
    ----------
    method : str
        ``"prefix enumeration"``, ``"exact rational prefix enumeration"`` or
        ``"monte carlo"``.
    error_bound : float
        Stated bound on ``|value - J|`` for enumeration (``tail_bound``). For Monte Carlo it
        depends on the batch: the :class:`~objspec.formalisms.base.Valuation` returned by
        :meth:`valuation` holds it (``4 * max standard error + tail_bound``) and the
        per-policy ``standard_errors``; this attribute is then ``tail_bound`` only.
    """

    def __init__(self, spec: TrajectoryFunction, env: FiniteMDP, *, exact: bool) -> None:
        super().__init__(spec, env)
        self._spec = spec
        if spec.f is None:
            raise InvalidSpecificationError(f"{spec!r} has no trajectory function")
        self._fn: Callable[..., Any] = spec.f
        if exact and spec.tail_bound > 0:
            raise InvalidSpecificationError(
                f"exact=True needs a function of a bounded prefix (tail_bound = 0); with "
                f"tail_bound = {spec.tail_bound} values are only known within that bound"
            )
        self.exact = exact
        self.error_bound = spec.tail_bound
        self._mc_cache: dict[Any, tuple[float, float]] = {}
        self._prefixes: Prefixes | None = None
        self._fvals: list[Any] | None = None
        if spec.method != "monte carlo":
            try:
                self._prefixes = enumerate_prefixes(env, spec.horizon,
                                                    max_prefixes=spec.max_prefixes)
            except InvalidSpecificationError:
                if spec.method == "exact" or exact:
                    raise
        if self._prefixes is not None:
            self.method = "exact rational prefix enumeration" if exact else "prefix enumeration"
            self.tie_tolerance = 1e-9
        else:
            if exact:
                raise InvalidSpecificationError(
                    "exact=True needs prefix enumeration; Monte Carlo is an estimate"
                )
            self.method = "monte carlo"
            self.tie_tolerance = 0.0

    def _what(self) -> str:
        return f"FTR function {describe_callable(self._fn)}"

    def _prefix_values(self) -> list[Any]:
        assert self._prefixes is not None
        if self._fvals is None:
            self._fvals = self._prefixes.apply(
                self._fn, vectorized=self._spec.vectorized, exact=self.exact,
                what=self._what(),
            )
        return self._fvals

    def valuation(self, policies: Any) -> Valuation:
        pi = self._batch(policies)
        if self._prefixes is not None:
            fvals = np.array([float(v) for v in self._prefix_values()])
            vals = prefix_probabilities(pi, self._prefixes) @ fvals
            return self._valued(vals, relative=1e-9)
        means, errors = self._monte_carlo(pi)
        bound = CONFIDENCE_Z * float(errors.max(initial=0.0)) + self._spec.tail_bound
        return Valuation(self._checked(means), self.tie_tolerance, bound, errors)

    def _monte_carlo(self, pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        spec = self._spec
        means = np.empty(pi.shape[0])
        errors = np.empty(pi.shape[0])
        # one sampler call per policy with the same seed: common random numbers make the
        # estimate a function of the lottery (equal lotteries tie exactly)
        for n in range(pi.shape[0]):
            key = TrajectoryLottery(self.env, pi[n]).key
            if key in self._mc_cache:  # the estimate is a function of the lottery
                means[n], errors[n] = self._mc_cache[key]
                continue
            states, actions = sample_trajectories(self.env, pi[n], spec.n_samples, spec.horizon,
                                                  seed=spec.seed)
            if spec.vectorized:
                raw = np.asarray(call_user(self._fn, states, actions,
                                           what=f"vectorized {self._what()} (policy {n})"),
                                 dtype=np.float64)
                if raw.shape != (spec.n_samples,):
                    raise InvalidSpecificationError(
                        f"vectorized {self._what()} returned shape {raw.shape}; expected "
                        f"[{spec.n_samples}]"
                    )
                for i in np.flatnonzero(~np.isfinite(raw))[:1]:
                    user_real(raw[i], f"{self._what()} on sampled trajectory {i}")
            else:
                raw = np.array([
                    real_result(self._fn, states[m], actions[m],
                                what=f"{self._what()} on sampled trajectory {m}")
                    for m in range(spec.n_samples)
                ])
            means[n] = raw.mean()
            errors[n] = raw.std(ddof=1) / np.sqrt(spec.n_samples)
            self._mc_cache[key] = (float(means[n]), float(errors[n]))
        return means, errors

    def exact_value(self, policy: Policy) -> Fraction:
        assert self._prefixes is not None
        probs = exact_prefix_probabilities(self.env, policy, self._prefixes)
        return sum((p * v for p, v in zip(probs, self._prefix_values(), strict=True)),
                   Fraction(0))


class DelegatedTrajectoryEvaluator(RealValuedEvaluator[TrajectoryFunction]):
    """Evaluator of ``TrajectoryFunction.of(spec)``: ``spec``'s own evaluator."""

    def __init__(self, spec: TrajectoryFunction, env: FiniteMDP, *, exact: bool) -> None:
        super().__init__(spec, env)
        assert spec.inner is not None
        compile_inner: Any = spec.inner.compile
        self.inner: Any = compile_inner(env, exact=exact) if exact else compile_inner(env)
        self.exact = bool(getattr(self.inner, "exact", False))
        self.method = f"{getattr(self.inner, 'method', 'exact')} (via {spec.inner.acronym})"
        self.tie_tolerance = float(getattr(self.inner, "tie_tolerance", 1e-9))
        self.error_bound = float(getattr(self.inner, "error_bound", 0.0))

    def valuation(self, policies: Any) -> Valuation:
        inner = self.inner.valuation(policies)
        return Valuation(self._checked(inner.values), inner.tie_tolerance, inner.error_bound,
                         inner.standard_errors)

    def exact_value(self, policy: Policy) -> Any:
        return self.inner.exact_value(policy)

    def compare(self, p: Any, q: Any) -> int:
        return int(self.inner.compare(p, q))

    def rank(self, policies: Any) -> np.ndarray:
        return np.asarray(self.inner.rank(policies))


# ---------------------------------------------------------------------- INMR / IMORL engine
class ReturnFunctionEvaluator(RealValuedEvaluator[Any]):
    """``J(pi) = E[f(Gvec(xi))]`` for a vector of discounted returns (INMR, IMORL).

    Methods, chosen at compile time (``method="auto"``):

    * ``"return distribution"``: when the return takes finitely many values (every
      trajectory's return is fixed once it can reach no non-zero reward, or ``gamma = 0``;
      see :func:`objspec.formalisms.lottery.return_distribution`). Checked on the policy
      that takes every action, whose atoms contain every other policy's; exact up to
      rounding, or exactly in rationals with ``exact=True``. ``f`` is called once per
      distinct return value.
    * ``"monte carlo"``: ``n_samples`` trajectories per policy (common random numbers),
      cut at the horizon ``H`` where ``gamma^H max|R| / (1 - gamma) <= truncation``; the
      only method ``"auto"`` tries when ``S * A * S > RETURN_DISTRIBUTION_MAX`` (the
      distribution engine is dense), and O(non-zeros) in memory: rewards are kept at the
      transitions' non-zeros (:func:`~objspec.formalisms._support.transition_reward_values`);
      the batch's :class:`~objspec.formalisms.base.Valuation` states
      ``error_bound = 4 * max standard error + lipschitz * truncation bound`` (the
      truncation term bounds the error of ``f`` when ``f`` is ``lipschitz``-Lipschitz) and
      the per-policy ``standard_errors``; the evaluator's ``error_bound`` attribute is the
      truncation term alone.
    """

    def __init__(
        self,
        spec: Any,
        env: FiniteMDP,
        *,
        exact: bool,
        scalar: bool,
    ) -> None:
        super().__init__(spec, env)
        self._spec = spec
        self._scalar = scalar
        # the rewards at the transitions' non-zeros serve Monte Carlo; the dense [k, S, A, S]
        # form only the return-distribution engine, which is meant for small models
        self._values = transition_reward_values(env, spec.rewards_stacked)
        self._rewards: np.ndarray | None = None
        self._gamma = float(spec.gamma)
        self.exact = exact
        self._cache: dict[Any, Any] = {}
        self._mc_cache: dict[Any, tuple[float, float]] = {}
        finite = False
        small = env.n_states**2 * env.n_actions <= RETURN_DISTRIBUTION_MAX
        if spec.method == "exact" or exact or (spec.method == "auto" and small):
            self._rewards = fit_rewards(env, spec.rewards_stacked)
            uniform = env.enabled / env.n_enabled[:, None]
            finite = return_distribution(
                env, uniform, self._rewards, self._gamma,
                max_atoms=spec.max_atoms, max_steps=spec.max_steps,
            ) is not None
            if not finite and (spec.method == "exact" or exact):
                raise InvalidSpecificationError(
                    f"{type(spec).__name__}: the return does not take finitely many values "
                    f"within max_atoms = {spec.max_atoms} and max_steps = {spec.max_steps}; "
                    "exact evaluation is not available (use Monte Carlo)"
                )
        rmax = reward_scale(spec.rewards_stacked)
        if finite:
            self.method = "exact rational return distribution" if exact else "return distribution"
            self.error_bound = 0.0
            self.tie_tolerance = 1e-9
        else:
            self.method = "monte carlo"
            self.horizon = truncation_horizon(self._gamma, rmax, spec.truncation)
            self.truncation_bound = truncation_bound(self._gamma, rmax, self.horizon)
            self.error_bound = spec.lipschitz * self.truncation_bound
            self.tie_tolerance = 0.0

    def _what(self) -> str:
        return f"{type(self._spec).__name__} function {describe_callable(self._spec.f)}"

    def _f(self, G: tuple[Any, ...], exact: bool) -> Any:
        key = (exact, G)
        if key not in self._cache:
            arg: Any = G[0] if self._scalar else np.array(G, dtype=object if exact else float)
            conv = exact_real if exact else user_real
            self._cache[key] = conv(call_user(self._spec.f, arg, what=self._what()), self._what())
        return self._cache[key]

    def valuation(self, policies: Any) -> Valuation:
        pi = self._batch(policies)
        if self.method == "monte carlo":
            means, errors = self._monte_carlo(pi)
            bound = (CONFIDENCE_Z * float(errors.max(initial=0.0))
                     + self._spec.lipschitz * self.truncation_bound)
            return Valuation(self._checked(means), self.tie_tolerance, bound, errors)
        vals = np.empty(pi.shape[0])
        for n in range(pi.shape[0]):
            assert self._rewards is not None  # set whenever the distribution is finite
            dist = return_distribution(self.env, pi[n], self._rewards, self._gamma,
                                       max_atoms=self._spec.max_atoms,
                                       max_steps=self._spec.max_steps)
            assert dist is not None  # its atoms are among the uniform policy's
            vals[n] = sum(p * self._f(G, False) for G, p in dist.items())
        return self._valued(vals, relative=1e-9)

    def _monte_carlo(self, pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        spec = self._spec
        means = np.empty(pi.shape[0])
        errors = np.empty(pi.shape[0])
        for n in range(pi.shape[0]):  # same seed per policy: common random numbers
            key = TrajectoryLottery(self.env, pi[n]).key
            if key not in self._mc_cache:  # the estimate is a function of the lottery
                states, actions = sample_trajectories(self.env, pi[n], spec.n_samples,
                                                      self.horizon, seed=spec.seed)
                steps = rewards_at(self.env, self._values, states[:, :-1], actions,
                                   states[:, 1:])  # [k, M, H]
                G = (steps @ self._gamma ** np.arange(self.horizon, dtype=np.float64)).T
                raw = np.array([
                    real_result(spec.f, g[0] if self._scalar else g,
                                what=f"{self._what()} (sample {m})")
                    for m, g in enumerate(G)
                ])
                self._mc_cache[key] = (raw.mean(), raw.std(ddof=1) / np.sqrt(spec.n_samples))
            means[n], errors[n] = self._mc_cache[key]
        return means, errors

    def exact_value(self, policy: Policy) -> Fraction:
        spec = self._spec
        rewards = np.array([exact_rewards(self.env, r) for r in spec.rewards_stacked])
        dist = return_distribution(self.env, policy.exact_probabilities(), rewards,
                                   exact_discount(spec.gamma), exact=True,
                                   max_atoms=spec.max_atoms, max_steps=spec.max_steps)
        if dist is None:  # pragma: no cover - excluded at compile time
            raise InvalidSpecificationError("the return distribution is not finite")
        return sum((p * self._f(G, True) for G, p in dist.items()), Fraction(0))


class ReturnFunctionOptions:
    """Keyword options shared by INMR and IMORL (see :class:`ReturnFunctionEvaluator`)."""

    def _set_options(
        self,
        method: Method,
        n_samples: int,
        seed: int,
        truncation: float,
        lipschitz: float,
        max_atoms: int,
        max_steps: int,
    ) -> None:
        _check_method(method)
        self.method = method
        self.n_samples = _check_samples(n_samples)
        self.seed = seed
        for name, value in (("truncation", truncation), ("lipschitz", lipschitz)):
            v = float(value)
            if not np.isfinite(v) or v < 0 or (name == "truncation" and v == 0):
                raise InvalidSpecificationError(f"{name} = {value!r} must be finite and > 0")
        self.truncation = float(truncation)
        self.lipschitz = float(lipschitz)
        self.max_atoms = int(max_atoms)
        self.max_steps = int(max_steps)


# ---------------------------------------------------------------------- FTLR and TLO
class TrajectoryLotteryFunction(Specification):
    r"""Functions from trajectory lotteries to reals (FTLR): ``J(pi) = F(L_pi)``.

    **Definition** (docs/theory.md#def-ftlr; Subramani et al., ICLR 2024,
    arXiv 2310.11840). A specification is any ``F: Delta(Xi) -> R``, for example the
    variance of the return. As expressive as OMORL and FOMR.

    ``F`` receives a :class:`~objspec.formalisms.lottery.TrajectoryLottery` (the
    environment plus the policy on its reachable states; equal lotteries compare equal),
    whose methods give prefix probabilities, expectations of prefix functions, occupancy
    measures, return moments and distributions, long-run averages and samples.

    **Evaluation.** ``F`` is called once per policy. Its exactness is that of the lottery
    methods it uses: with ``compile(env, exact=True)`` the lottery computes in rationals
    and ``F``'s results are compared exactly (a float result is taken as the dyadic
    rational it is); otherwise ties are values within ``1e-9 * max(1, max |J|)``.

    Parameters
    ----------
    f : callable
        ``f(lottery) -> real``.

    Examples
    --------
    Variance of the return on E3 with ``R = 1[(s0, a, s1)]`` is ``p (1 - p)``:

    >>> import numpy as np
    >>> from objspec.environments import E3
    >>> R = np.zeros((2, 2, 2)); R[0, 0, 1] = 1
    >>> def variance(lottery):
    ...     mean, second = lottery.return_moments(R, 0.9)
    ...     return second - mean**2
    >>> ev = TrajectoryLotteryFunction(variance).compile(E3())
    >>> np.round(ev.values([[[0.5, 0.5], [1, 0]], [[0.1, 0.9], [1, 0]]]), 12)
    array([0.25, 0.09])
    """

    def __init__(self, f: Callable[[TrajectoryLottery], Any]) -> None:
        self.f = check_callable(f, "FTLR function f")

    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> TrajectoryLotteryFunctionEvaluator:
        """Evaluator in ``env``; ``exact=True`` hands ``f`` exact lotteries."""
        return TrajectoryLotteryFunctionEvaluator(self, env, exact=bool(exact))

    def __repr__(self) -> str:
        return f"TrajectoryLotteryFunction(f={describe_callable(self.f)})"


class TrajectoryLotteryFunctionEvaluator(RealValuedEvaluator[TrajectoryLotteryFunction]):
    """Evaluator of a :class:`TrajectoryLotteryFunction`."""

    def __init__(self, spec: TrajectoryLotteryFunction, env: FiniteMDP, *, exact: bool) -> None:
        super().__init__(spec, env)
        self._f = spec.f
        self.exact = exact
        self.method = "exact rational lottery" if exact else "function of the lottery"
        self.tie_tolerance = 1e-9

    def lotteries(self, policies: Any) -> list[TrajectoryLottery]:
        """The trajectory lottery of every policy of a batch."""
        return [TrajectoryLottery(self.env, p, exact=self.exact)
                for p in self._policy_list(policies)]

    def valuation(self, policies: Any) -> Valuation:
        pols = [TrajectoryLottery(self.env, p) for p in self._batch(policies)]
        what = f"FTLR function {describe_callable(self._f)}"
        cache: dict[TrajectoryLottery, float] = {}
        vals = []
        for i, lot in enumerate(pols):
            if lot not in cache:
                cache[lot] = real_result(self._f, lot, what=f"{what} (policy {i})")
            vals.append(cache[lot])
        return self._valued(np.array(vals), relative=1e-9)

    def exact_value(self, policy: Policy) -> Fraction:
        lot = TrajectoryLottery(self.env, policy, exact=True)
        what = f"FTLR function {describe_callable(self._f)}"
        return exact_result(self._f, lot, what=what)


class TrajectoryLotteryOrdering(Specification):
    r"""Trajectory lottery orderings (TLO): a total preorder on trajectory lotteries.

    **Definition** (docs/theory.md#def-tlo; Subramani et al., ICLR 2024,
    arXiv 2310.11840). A specification is a total preorder ``>=_L`` on ``Delta(Xi)``;
    ``pi1`` is preferred to ``pi2`` iff ``L_pi1 >=_L L_pi2``. As expressive as GOMORL
    and OMO.

    **Evaluation.** The order is applied to
    :class:`~objspec.formalisms.lottery.TrajectoryLottery` objects (exact ones with
    ``compile(env, exact=True)``). Equal lotteries (policies that agree on every reachable
    state) are tied without calling the order, as reflexivity requires; everything else is
    as exact as the lottery methods the order uses.

    Parameters
    ----------
    order : objspec.orders.Order or callable
        A total preorder on lotteries, e.g. ``objspec.orders.by_key(lambda L: ...)``.

    Examples
    --------
    Mean first, then lower variance (a lexicographic mean-variance order) on E3:

    >>> import numpy as np
    >>> from objspec.environments import E3
    >>> from objspec.orders import by_key
    >>> R = np.zeros((2, 2)); R[0, 0] = 1; R[1, 0] = 1
    >>> def key(lottery):
    ...     mean, second = lottery.return_moments(R, 0.5)
    ...     return (round(mean, 9), -round(second - mean**2, 9))
    >>> ev = TrajectoryLotteryOrdering(by_key(key)).compile(E3())
    >>> ev.rank([[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0.5, 0.5], [0.5, 0.5]]])
    array([0, 0, 1])
    """

    real_valued = False

    def __init__(self, order: Order | Callable[[Any, Any], Any]) -> None:
        self.order = as_order(order)

    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> TrajectoryLotteryOrderingEvaluator:
        """Evaluator in ``env``; ``exact=True`` hands the order exact lotteries."""
        return TrajectoryLotteryOrderingEvaluator(self, env, exact=bool(exact))

    def __repr__(self) -> str:
        return f"TrajectoryLotteryOrdering(order={self.order!r})"


class TrajectoryLotteryOrderingEvaluator(OrderEvaluator[TrajectoryLotteryOrdering]):
    """Evaluator of a :class:`TrajectoryLotteryOrdering`."""

    def __init__(self, spec: TrajectoryLotteryOrdering, env: FiniteMDP, *, exact: bool) -> None:
        super().__init__(spec, env, spec.order, exact=exact)
        self.method = "exact rational lottery" if exact else "order on lotteries"

    def objects(self, policies: Any) -> list[Any]:
        """The trajectory lottery of every policy."""
        return [TrajectoryLottery(self.env, p) for p in self._batch(policies)]

    def exact_objects(self, policies: list[Policy]) -> list[Any]:
        return [TrajectoryLottery(self.env, p, exact=True) for p in policies]

    def _cmp(self, x: TrajectoryLottery, y: TrajectoryLottery) -> int:
        return 0 if x == y else self.order.compare(x, y)

    def checked_order(self) -> Order:
        """The order on lotteries, with equal lotteries tied whatever the user order says."""
        return from_comparator(self._cmp)


FTR = TrajectoryFunction
FTLR = TrajectoryLotteryFunction
TLO = TrajectoryLotteryOrdering


# ---------------------------------------------------------------- registration


def _strategy_ftr(env: FiniteMDP, **options: Any) -> SearchStrategy[Any]:
    """:class:`~objspec.formalisms.TrajectoryFunction` specifications of a short prefix
    (horizon 1..``max_horizon``), evaluated exactly by prefix enumeration: a sum or a
    product of per-step weights ``W[t, s_t, a_t]``, or "the same action at steps 0 and 1".

    The hypothesis strategy this formalism registers (``options`` are passed to it); see
    :func:`objspec.environments.strategies.trajectory_functions`.
    """
    from hypothesis import strategies as st

    from objspec.mdp.strategies import rewards

    @st.composite
    def trajectory_functions(draw: st.DrawFn, env: FiniteMDP, max_horizon: int = 3) -> Any:

        horizon = draw(st.integers(1, max_horizon))
        W = np.stack([draw(rewards(env, "state_action", integers=True, min_value=-2, max_value=2))
                      for _ in range(horizon)])
        kind = draw(st.sampled_from(["sum", "product", "same"] if horizon >= 2 else ["sum"]))
        steps = np.arange(horizon)

        def f(states: Any, actions: Any) -> float:
            s = np.asarray(states, dtype=np.int64)[:horizon]
            a = np.asarray(actions, dtype=np.int64)[:horizon]
            if kind == "same":
                return float(a[0] == a[1])
            terms = W[steps, s, a]
            return float(terms.sum() if kind == "sum" else terms.prod())

        return TrajectoryFunction(f, horizon)

    return trajectory_functions(env, **options)


def _sample_ftr(env: FiniteMDP, rng: np.random.Generator) -> Any:
    table = rng.integers(-3, 4, size=(env.n_actions, env.n_states, env.n_actions))

    def f(states: Any, actions: Any) -> Any:
        return Fraction(int(table[actions[0], states[1], actions[1]]))

    return TrajectoryFunction(f, 2)


def _search(kind: str) -> Callable[[Any, FiniteMDP, OptimiseOptions], Optimum]:
    """The registered optimiser function of a trajectory-level formalism: the generic
    search (:func:`~objspec.formalisms.optimisation.generic_optimise`) whose method names
    how the values were computed (``kind``: what the formalism is)."""

    def run(spec: Any, env: FiniteMDP, options: OptimiseOptions) -> Optimum:
        found = generic_optimise(spec, env, options)
        ev = spec.compile(env)
        how = getattr(ev, "method", "its evaluator")
        note = (" (common random numbers: every policy is estimated on the same seed, so the "
                "search is deterministic; the value is an estimate within the evaluator's "
                "stated error)" if how == "monte carlo" else "")
        return replace(found, method=f"{found.method} on {kind} ({how}){note}")

    return run


def _trajectory_optimiser(kind: str, complexity: str) -> Optimiser:
    return Optimiser(_search(kind), "exhaustive deterministic + coordinate ascent", "local",
                     complexity)


#: FTR: expected value of a trajectory function.
FTR_OPTIMISER = _trajectory_optimiser(
    "E f(trajectory)",
    "no general method: FTR contains every trajectory-level formalism (LTL, RM, INMR, "
    "LAR; arXiv 2310.11840, docs/theory.md#diagram), including stationary control with "
    "a hidden machine state (memoryless control of a POMDP is NP-hard: Vlassis, Littman & "
    "Barber 2012); with prefix enumeration J is a polynomial of degree up to the horizon "
    "in the policy's entries. Local search over stationary policies: exhaustive over the "
    "|A|^|S| deterministic ones when small, coordinate ascent on exact (prefix "
    "enumeration) or common-random-number Monte Carlo values")

#: FTLR: a function of the trajectory lottery.
FTLR_OPTIMISER = _trajectory_optimiser(
    "f(trajectory lottery)",
    "no general method: f is an arbitrary function of the trajectory lottery "
    "(arXiv 2310.11840, docs/theory.md#def-ftlr), so only black-box search applies; "
    "exhaustive over deterministic policies when small, coordinate ascent from them and "
    "seeded restarts")

#: TLO: an ordering of trajectory lotteries.
TLO_OPTIMISER = _trajectory_optimiser(
    "an ordering of trajectory lotteries",
    "no general method: an arbitrary total preorder on trajectory lotteries "
    "(arXiv 2310.11840, docs/theory.md#def-tlo) is only available through comparisons; "
    "exhaustive over deterministic policies when small, coordinate ascent on ranks")


def fit_ftr(env: FiniteMDP, data: Comparisons, options: FitOptions) -> Fit:
    """Fit a trajectory function (docs/learning.md#ftr): a table of its values on prefixes.

    For fixed policies ``J(pi) = sum_h P_pi(h) G(h)`` over the prefixes ``h`` of ``horizon``
    steps (keyword ``horizon=``; default the smallest horizon after which the compared
    policies agree everywhere reachable), so the fit is a max-margin LP over the prefix
    probabilities (:mod:`objspec.formalisms._fit_returns`). Without a horizon on policies
    that differ arbitrarily late, a certificate comes from L1 when its precondition holds,
    else :class:`~objspec.errors.NoFitFoundError`. Trajectory comparisons: ``G`` = ranks.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> from objspec import Policy
    >>> from objspec.environments import E3
    >>> from objspec.learning import Comparisons, fit
    >>> pols = [Policy([[p, 1 - p], [1, 0]]) for p in (F(0), F(1, 2), F(1))]
    >>> data = Comparisons(policies=pols, pairs=[(2, 1, ">"), (1, 0, ">")])
    >>> result = fit("FTR", E3(), data, exact=True)
    >>> result.details["horizon"], result.spec.compile(E3(), exact=True).compare(pols[2], pols[1])
    (1, 1)
    """
    from objspec.formalisms._fit_returns import fit_trajectory_function

    return fit_trajectory_function(env, data, options, TrajectoryFunction)


formalism(
    "FTR",
    name="functions from trajectories to reals",
    level="trajectory",
    exact=True,
    expectation=True,
    strategy=_strategy_ftr,
    sampler=_sample_ftr,
    optimiser=FTR_OPTIMISER,
    fitter=Fitter(fit_ftr, "max-margin LP over prefix probabilities (a table of G on the "
                  "prefixes of a horizon; HiGHS); exact verification in rationals; "
                  "certificate on the prefix features or L1's multi-affine features; ranks "
                  "for trajectory comparisons", decides=False),
)(TrajectoryFunction)


def _strategy_ftlr(env: FiniteMDP, **options: Any) -> SearchStrategy[Any]:
    """:class:`~objspec.formalisms.TrajectoryLotteryFunction` specifications: nonlinear
    functions of two lottery statistics (:class:`~objspec.formalisms.lottery.TrajectoryLottery`
    occupancy measure or return moments): their product, a mean-variance trade-off
    ``x - lam * y``, or a peak ``-(x - c)^2``. Exact with exact lotteries (Fractions in,
    Fractions out).

    The hypothesis strategy this formalism registers (``options`` are passed to it); see
    :func:`objspec.environments.strategies.lottery_functions`.
    """
    from hypothesis import strategies as st

    from objspec.formalisms._strategies import lottery_statistics

    @st.composite
    def lottery_functions(draw: st.DrawFn, env: FiniteMDP) -> Any:

        stats = draw(lottery_statistics(env))
        kind = draw(st.sampled_from(["product", "trade-off", "peak"]))
        lam = Fraction(draw(st.integers(-4, 4)), 2)
        c = Fraction(draw(st.integers(-4, 4)), 2)

        def f(lottery: Any) -> Any:
            x, y = stats(lottery)
            if kind == "product":
                return x * y
            if kind == "trade-off":
                return x - (lam if isinstance(y, Fraction) else float(lam)) * y
            centre = c if isinstance(x, Fraction) else float(c)
            return -((x - centre) ** 2)

        return TrajectoryLotteryFunction(f)

    return lottery_functions(env, **options)


def fit_lottery_function(env: FiniteMDP, data: Comparisons, options: FitOptions) -> Fit:
    """An FTLR ``F`` that orders the data, or a certificate that none does.

    ``J(pi) = F(L_pi)``: policies with equal trajectory lotteries (equal reachable states
    and equal behaviour there, lemma L7) tie, and every ordering that ties them is realised
    by ``F(L) = g(<r, m_L>)``, ``m_L`` the lottery's state-action occupancy measure at
    ``gamma = 1/2`` (which determines the lottery), ``r`` injective on the data's distinct
    lotteries and ``g`` piecewise linear (docs/learning.md#invariance). No discount is
    involved (``gamma=`` is ignored).

    Examples
    --------
    >>> from objspec.environments import E2
    >>> from objspec.learning import Comparisons, fit
    >>> pols = [[[1, 0], [1, 0]], [[0, 1], [1, 0]]]
    >>> result = fit("FTLR", E2(), Comparisons(policies=pols, pairs=[(1, 0, ">")]))
    >>> result.spec.compile(E2()).rank(pols).tolist()
    [1, 0]
    """

    def build(ell: LinearStatistic, g: PiecewiseLinear) -> TrajectoryLotteryFunction:
        return TrajectoryLotteryFunction(
            Interpolant(lottery_occupancy, ell, g, "m_1/2(s, a) of the lottery"))

    return fit_by_invariance(
        "FTLR", env, data, options, invariance=lottery_invariance("FTLR"), build=build,
        real_valued=True, description="function of trajectory lotteries",
        method="exact lottery classes (lemma L7); F(L) = g(<r, m_1/2(L)>) with r injective "
               "on them and g piecewise linear")


def _sample_ftlr(env: FiniteMDP, rng: np.random.Generator) -> Any:
    r1, r2, gamma = random_reward(rng, env), random_reward(rng, env), random_discount(rng)

    def f(lottery: Any) -> Any:
        mean = lottery.expected_return(r1, gamma)
        return mean - lottery.expected_return(r2, gamma) ** 2

    return TrajectoryLotteryFunction(f)


formalism(
    "FTLR",
    name="functions from trajectory lotteries to reals",
    level="lottery",
    exact=True,
    strategy=_strategy_ftlr,
    sampler=_sample_ftlr,
    optimiser=FTLR_OPTIMISER,
    fitter=Fitter(fit_lottery_function, "exact trajectory-lottery classes (lemma L7); an "
                  "explicit interpolant of the lottery's occupancy measure; certificate on "
                  "the classes' one-hot features"),
)(TrajectoryLotteryFunction)


def _strategy_tlo(env: FiniteMDP, **options: Any) -> SearchStrategy[Any]:
    """:class:`~objspec.formalisms.TrajectoryLotteryOrdering` specifications: orders by key
    (:func:`objspec.orders.by_key`) on two lottery statistics (occupancy-measure statistics,
    or mean and variance of a return), lexicographic with random signs (e.g. mean first,
    then lower variance) or by a weighted sum. Float statistics are rounded to 9 decimals
    so that rounding noise does not decide the lexicographic tie-break; exact lotteries
    give exact keys.

    The hypothesis strategy this formalism registers (``options`` are passed to it); see
    :func:`objspec.environments.strategies.lottery_orderings`.
    """
    from hypothesis import strategies as st

    from objspec.formalisms._strategies import lottery_statistics

    @st.composite
    def lottery_orderings(draw: st.DrawFn, env: FiniteMDP) -> Any:
        from objspec import orders

        stats = draw(lottery_statistics(env))
        signs = draw(st.lists(st.sampled_from([1, -1]), min_size=2, max_size=2))
        lexicographic = draw(st.booleans())
        weight = Fraction(draw(st.integers(-4, 4)), 2)

        def key(lottery: Any) -> tuple[Any, ...]:
            x, y = (v if isinstance(v, Fraction) else round(float(v), 9) for v in stats(lottery))
            if lexicographic:
                return (signs[0] * x, signs[1] * y)
            w = weight if isinstance(y, Fraction) else float(weight)
            total = x + w * y
            return (total if isinstance(total, Fraction) else round(total, 9),)

        return TrajectoryLotteryOrdering(orders.by_key(key))

    return lottery_orderings(env, **options)


def fit_lottery_ordering(env: FiniteMDP, data: Comparisons, options: FitOptions) -> Fit:
    """A TLO that orders the data, or a certificate that none does.

    As :func:`fit_lottery_function`, with the order :func:`objspec.orders.by_key` of
    ``g(<r, m_1/2(L)>)``. Separation N2 fed to it gives a certificate (lemma L7).

    Examples
    --------
    N2 on E2: two policies that differ only at the unreachable state cannot be ordered.

    >>> from objspec.environments import E2
    >>> from objspec.errors import NotExpressibleError
    >>> from objspec.learning import Comparisons, fit
    >>> data = Comparisons(policies=[[[1, 0], [1, 0]], [[1, 0], [0, 1]]], pairs=[(0, 1, ">")])
    >>> try:
    ...     fit("TLO", E2(), data)
    ... except NotExpressibleError as exc:
    ...     exc.certificate.check()
    ...     print(exc.certificate.strict_multipliers)
    (Fraction(1, 1),)
    """
    from objspec.orders import by_key

    def build(ell: LinearStatistic, g: PiecewiseLinear) -> TrajectoryLotteryOrdering:
        return TrajectoryLotteryOrdering(
            by_key(Interpolant(lottery_occupancy, ell, g, "m_1/2(s, a) of the lottery")))

    return fit_by_invariance(
        "TLO", env, data, options, invariance=lottery_invariance("TLO"), build=build,
        real_valued=False, description="trajectory lottery ordering",
        method="exact lottery classes (lemma L7); ordered by the key g(<r, m_1/2(L)>), r "
               "injective on them, g piecewise linear")


def _sample_tlo(env: FiniteMDP, rng: np.random.Generator) -> Any:
    from objspec import orders

    r1, r2, gamma = random_reward(rng, env), random_reward(rng, env), random_discount(rng)

    def key(lottery: Any) -> Any:
        return [lottery.expected_return(r1, gamma), lottery.expected_return(r2, gamma)]

    return TrajectoryLotteryOrdering(orders.pullback(orders.lexicographic(), key))


formalism(
    "TLO",
    name="trajectory lottery orderings",
    level="lottery",
    exact=True,
    strategy=_strategy_tlo,
    sampler=_sample_tlo,
    optimiser=TLO_OPTIMISER,
    fitter=Fitter(fit_lottery_ordering, "exact trajectory-lottery classes (lemma L7); an "
                  "order by an explicit key of the lottery's occupancy measure; certificate "
                  "on the classes' one-hot features"),
)(TrajectoryLotteryOrdering)
