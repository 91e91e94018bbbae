"""Optimising under any formalism: the :class:`Optimum` record, the options, and the generic
searches every optimiser can fall back on.

``spec.optimise(env)`` (:meth:`objspec.formalisms.base.Specification.optimise`) looks up the
optimiser the formalism registers (:attr:`~objspec.formalisms.registry.FormalismInfo.optimiser`,
an :class:`Optimiser`), runs it, and re-evaluates the policy it returns with the
formalism's own evaluator before handing back an :class:`Optimum`. The result says what it
guarantees, from the strongest to the weakest (:data:`GUARANTEES`):

* ``"exact"``: optimal among the policies asked for, verified in rational arithmetic (or by
  a finite exhaustive argument);
* ``"certified"``: ``optimum - value <= bound``, with ``bound`` proven (a duality gap, a
  value-iteration residual bound);
* ``"local"``: a local optimum; ``test`` names the optimality test that was passed;
* ``"heuristic"``: the best policy found, nothing proven (a time limit ran out, or the
  formalism admits no better method here).

The paper's policy class is the stationary policies (``policies="stationary"``, the
default). Where a finite-memory policy can do strictly better (LTL, reward machines, inner
nonlinear rewards over a horizon), an optimiser may accept ``policies="finite-memory"``.

Examples
--------
>>> import numpy as np
>>> from objspec import FiniteMDP
>>> from objspec.formalisms import PolicyFunction
>>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
>>> env = FiniteMDP(P, [1.0, 0.0])
>>> spec = PolicyFunction(lambda pi: float(pi.probabilities[0, 1] * (1 - pi.probabilities[1, 1])))
>>> opt = spec.optimise(env, seed=0)
>>> opt.policy.probabilities.tolist(), float(opt.value), opt.guarantee
([[0.0, 1.0], [1.0, 0.0]], 1.0, 'local')
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from objspec.errors import InvalidSpecificationError, SolverError
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy

if TYPE_CHECKING:
    from objspec.formalisms.base import Specification

__all__ = [
    "Guarantee",
    "GUARANTEES",
    "PolicyClass",
    "Optimum",
    "OptimiseOptions",
    "Optimiser",
    "optimise",
    "generic_optimise",
    "GENERIC",
    "deterministic_count",
    "exhaustive_deterministic",
    "coordinate_ascent",
    "EXHAUSTIVE_LIMIT",
]

Guarantee = Literal["exact", "certified", "local", "heuristic"]
#: The guarantees, strongest first.
GUARANTEES: tuple[str, ...] = ("exact", "certified", "local", "heuristic")
PolicyClass = Literal["stationary", "finite-memory"]

#: Most deterministic stationary policies :func:`exhaustive_deterministic` enumerates.
EXHAUSTIVE_LIMIT = 4096


@dataclass(frozen=True)
class Optimum:
    """The result of ``spec.optimise(env)``.

    Attributes
    ----------
    policy : Policy or FiniteMemoryPolicy
        The policy found (stationary unless ``policies="finite-memory"`` was asked for).
    value : float, Fraction or None
        Its value under the formalism's own evaluator (a Fraction when evaluated exactly);
        None for ordering formalisms, which have no values (see ``evidence``).
    guarantee : {"exact", "certified", "local", "heuristic"}
        What is proven about it (module docstring).
    method : str
        How it was found.
    bound : float, Fraction or None
        For ``"certified"``: a proven bound on ``optimum - value``; 0 for ``"exact"``; None
        otherwise.
    test : str or None
        For ``"local"``: the local-optimality test the policy passed.
    evidence : str
        What else was checked (for ordering formalisms: how the policy was ranked).
    iterations : int
        Iterations (sweeps, candidates, solver steps) the method used.
    seconds : float
        Wall-clock time of the optimisation, re-evaluation included.
    policies : {"stationary", "finite-memory"}
        The policy class searched.
    """

    policy: Any
    value: Any
    guarantee: Guarantee
    method: str
    bound: Any = None
    test: str | None = None
    evidence: str = ""
    iterations: int = 0
    seconds: float = 0.0
    policies: PolicyClass = "stationary"

    def __post_init__(self) -> None:
        if self.guarantee not in GUARANTEES:
            raise InvalidSpecificationError(
                f"guarantee {self.guarantee!r} is not one of {', '.join(GUARANTEES)}")

    def __str__(self) -> str:
        value = "no value (an ordering)" if self.value is None else f"value {self.value}"
        extra = (f", bound {self.bound}" if self.guarantee == "certified" else
                 f", test: {self.test}" if self.guarantee == "local" and self.test else "")
        return f"{self.guarantee} optimum by {self.method}: {value}{extra}"


@dataclass(frozen=True)
class OptimiseOptions:
    """The validated options of one ``optimise`` call (see
    :meth:`~objspec.formalisms.base.Specification.optimise`).

    ``deadline`` is a :func:`time.monotonic` time, or None without a time limit.
    """

    policies: PolicyClass = "stationary"
    exact: bool = False
    seed: int | None = None
    time_limit: float | None = None
    deadline: float | None = None

    @classmethod
    def make(cls, policies: Any = "stationary", exact: Any = False, seed: Any = None,
             time_limit: Any = None) -> OptimiseOptions:
        """Validated options; raises :class:`InvalidSpecificationError` naming the bad one."""
        if policies not in ("stationary", "finite-memory"):
            raise InvalidSpecificationError(
                f"policies = {policies!r}; choose 'stationary' (the paper's class) or "
                "'finite-memory'")
        if not isinstance(exact, (bool, np.bool_)):
            raise InvalidSpecificationError(f"exact must be True or False, got {exact!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int,
                                                                                 np.integer))):
            raise InvalidSpecificationError(f"seed must be an integer or None, got {seed!r}")
        if time_limit is not None:
            if isinstance(time_limit, bool) or not isinstance(time_limit, (int, float,
                                                                          np.floating,
                                                                          np.integer)):
                raise InvalidSpecificationError(
                    f"time_limit must be a number of seconds or None, got {time_limit!r}")
            if not math.isfinite(time_limit) or time_limit <= 0:
                raise InvalidSpecificationError(
                    f"time_limit must be positive and finite, got {time_limit!r}")
        deadline = None if time_limit is None else time.monotonic() + float(time_limit)
        return cls(policies, bool(exact), None if seed is None else int(seed),
                   None if time_limit is None else float(time_limit), deadline)

    def expired(self) -> bool:
        """Whether the time limit has run out."""
        return self.deadline is not None and time.monotonic() >= self.deadline

    def rng(self) -> np.random.Generator:
        """A generator seeded by ``seed`` (0 when no seed was given: results reproduce)."""
        return np.random.default_rng(0 if self.seed is None else self.seed)


@dataclass(frozen=True)
class Optimiser:
    """An optimiser a formalism registers (``formalism(..., optimiser=...)``).

    Attributes
    ----------
    function : callable
        ``function(spec, env, options) -> Optimum``; the value it reports is replaced by the
        formalism evaluator's (and must agree with it).
    method : str
        The method, as the tractability table names it.
    guarantee : str
        The strongest guarantee the method gives for stationary policies (it may give a
        weaker one on some inputs, e.g. ``"local"`` for a non-concave function).
    complexity : str
        The complexity statement, with its reference.
    finite_memory : bool
        Whether ``policies="finite-memory"`` is meaningful and supported.
    """

    function: Callable[[Any, FiniteMDP, OptimiseOptions], Optimum] = field(repr=False)
    method: str
    guarantee: Guarantee
    complexity: str
    finite_memory: bool = False


def optimise(spec: Specification, env: FiniteMDP, *, policies: Any = "stationary",
             exact: Any = False, seed: Any = None, time_limit: Any = None) -> Optimum:
    """Optimise ``spec`` in ``env`` with the optimiser its formalism registers.

    The returned policy is re-evaluated with ``spec``'s own evaluator (exactly when
    ``exact``); the reported value is that evaluation.

    Raises
    ------
    InvalidModelError
        If ``env`` is not a :class:`~objspec.mdp.model.FiniteMDP`.
    InvalidSpecificationError
        For bad options, or ``policies="finite-memory"`` where the formalism has no
        finite-memory optimiser.
    SolverError
        If the optimiser's value disagrees with the evaluator's (a bug).
    """
    from objspec.errors import InvalidModelError
    from objspec.formalisms.registry import formalism_info

    if not isinstance(env, FiniteMDP):
        raise InvalidModelError(f"optimise needs a FiniteMDP, got {type(env).__name__}")
    options = OptimiseOptions.make(policies, exact, seed, time_limit)
    info = formalism_info(spec)
    optimiser = info.optimiser if info.optimiser is not None else GENERIC
    if options.policies == "finite-memory" and not optimiser.finite_memory:
        raise InvalidSpecificationError(
            f"policies='finite-memory' has no meaning for {info.acronym} here: its optimiser "
            f"({optimiser.method}) searches stationary policies, the paper's class")
    start = time.perf_counter()
    found = optimiser.function(spec, env, options)
    checked = reevaluate(spec, env, found, exact=options.exact)
    return replace(checked, seconds=time.perf_counter() - start)


def reevaluate(spec: Any, env: FiniteMDP, found: Optimum, *, exact: bool) -> Optimum:
    """``found`` with its value recomputed by ``spec``'s evaluator (in rationals when
    ``exact``); raises :class:`SolverError` if the optimiser reported a different value."""
    # without exact, floats: an evaluator that is exact by default (LTL, RM on rational
    # environments) would refuse a searched policy whose float rows are not exact rationals
    ev = spec.compile(env, exact=True) if exact else _float_evaluator(spec, env)
    if not getattr(ev, "exact", False) and exact:
        raise InvalidSpecificationError(
            f"{type(spec).__name__} cannot be evaluated exactly here; optimise without exact")
    if not hasattr(ev, "valuation"):  # an ordering: no value to check
        return replace(found, value=None)
    if ev.exact:
        value: Any = ev.exact_value(found.policy)
    else:
        val = ev.valuation([found.policy] if isinstance(found.policy, Policy) else
                           found.policy)
        value = float(val.values[0])
    if found.value is not None:
        tol = float(getattr(ev, "tie_tolerance", 1e-9)) + 1e-9 * max(1.0, abs(float(value)))
        if abs(float(found.value) - float(value)) > tol:
            raise SolverError(
                f"the optimiser ({found.method}) reported {found.value} but the evaluator of "
                f"{type(spec).__name__} gives {value}")
    return replace(found, value=value)


# ---------------------------------------------------------------- generic searches


def _float_evaluator(spec: Any, env: FiniteMDP) -> Any:
    """The evaluator a search uses: in floats where the formalism has a float mode (exact
    evaluators need policies whose rows are exact rationals, which searches do not make)."""
    try:
        return spec.compile(env, exact=False)
    except InvalidSpecificationError:
        return spec.compile(env)


def deterministic_count(env: FiniteMDP) -> int:
    """The number of deterministic stationary policies (product of enabled actions)."""
    return math.prod(int(env.enabled[s].sum()) for s in range(env.n_states))


def _deterministic_batches(env: FiniteMDP, size: int = 256) -> Iterator[np.ndarray]:
    choices = [np.flatnonzero(env.enabled[s]).tolist() for s in range(env.n_states)]
    batch: list[np.ndarray] = []
    eye = np.eye(env.n_actions)
    for actions in itertools.product(*choices):
        batch.append(eye[list(actions)])
        if len(batch) == size:
            yield np.stack(batch)
            batch = []
    if batch:
        yield np.stack(batch)


def _better(ev: Any, p: np.ndarray, q: np.ndarray) -> bool:
    """Whether ``p`` is strictly better than ``q`` under ``ev``."""
    return bool(ev.compare(Policy(p), Policy(q)) > 0)


def exhaustive_deterministic(
    spec: Any, env: FiniteMDP, options: OptimiseOptions, *, limit: int = EXHAUSTIVE_LIMIT
) -> tuple[np.ndarray, int, bool] | None:
    """The best deterministic stationary policy by enumeration, or None when there are more
    than ``limit``. Returns ``(policy [S, A], number evaluated, complete)``; ``complete`` is
    False when the time limit stopped the enumeration."""
    if deterministic_count(env) > limit:
        return None
    ev = _float_evaluator(spec, env)
    best: np.ndarray | None = None
    seen = 0
    for batch in _deterministic_batches(env):
        if options.expired() and best is not None:
            return best, seen, False
        seen += len(batch)
        if hasattr(ev, "valuation"):
            vals = ev.valuation(batch).values
            cand = batch[int(np.argmax(vals))]
        else:
            cand = batch[int(np.argmin(ev.rank(batch)))]
        if best is None or _better(ev, cand, best):
            best = cand
    assert best is not None  # every state has an enabled action
    return best, seen, True


def _moves(pi: np.ndarray, enabled: np.ndarray, steps: tuple[float, ...]) -> np.ndarray:
    """Every policy that moves one state's row towards one enabled action by one step."""
    out = []
    S, A = pi.shape
    for s in range(S):
        for a in np.flatnonzero(enabled[s]):
            target = np.zeros(A)
            target[a] = 1.0
            if np.array_equal(pi[s], target):
                continue
            for t in steps:
                q = pi.copy()
                q[s] = (1 - t) * pi[s] + t * target
                out.append(q)
    return np.stack(out) if out else np.empty((0, S, A))


def coordinate_ascent(
    spec: Any, env: FiniteMDP, start: np.ndarray, options: OptimiseOptions, *,
    steps: tuple[float, ...] = (1.0, 0.5, 0.25, 0.125, 0.0625), max_sweeps: int = 200,
    chunk: int = 256,
) -> tuple[np.ndarray, int, bool]:
    """Improve ``start`` by moving one state's action distribution towards one action at a
    time (every move of every state tried in one batch, the best strictly improving one
    taken; for orderings, the first strictly better one of a chunk). Candidates are evaluated
    in chunks of ``chunk``, and the time limit is checked between chunks. Returns
    ``(policy, sweeps, converged)``; ``converged`` means no move of size in ``steps``
    improves (strictly, under the evaluator's tie rule): the local test."""
    ev = _float_evaluator(spec, env)
    pi = np.asarray(start, dtype=np.float64)
    sweeps = 0
    while sweeps < max_sweeps:
        if options.expired():
            return pi, sweeps, False
        sweeps += 1
        cands = _moves(pi, env.enabled, steps)
        if not len(cands):
            return pi, sweeps, True
        best, stopped = None, False
        for lo in range(0, len(cands), chunk):  # the time limit is checked between chunks
            if lo and options.expired():
                stopped = True
                break
            batch = np.concatenate([pi[None], cands[lo:lo + chunk]])
            if hasattr(ev, "valuation"):
                val = ev.valuation(batch)
                i = int(np.argmax(val.values[1:]))
                gain = val.values[1 + i] - val.values[0]
                if gain > val.tie_tolerance and (best is None or gain > best[0]):
                    best = (gain, lo + i)
            else:
                ranks = ev.rank(batch)
                i = int(np.argmin(ranks[1:]))
                if ranks[1 + i] < ranks[0] and best is None:
                    best = (0.0, lo + i)
        if best is None:
            return pi, sweeps, not stopped
        pi = cands[best[1]]
    return pi, sweeps, False


def _random_policy(env: FiniteMDP, rng: np.random.Generator) -> np.ndarray:
    w = rng.exponential(size=(env.n_states, env.n_actions)) * env.enabled
    return w / w.sum(axis=1, keepdims=True)


def generic_optimise(spec: Any, env: FiniteMDP, options: OptimiseOptions, *,
                     restarts: int = 3) -> Optimum:
    """Search any formalism: the best deterministic policy by enumeration (when there are
    at most :data:`EXHAUSTIVE_LIMIT`), then :func:`coordinate_ascent` from it and from
    ``restarts`` seeded random stochastic policies; the best local optimum is returned.

    The guarantee is ``"local"`` (no single-state move towards an action by a step of
    1, 1/2, ..., 1/16 improves) when the ascent converged from the returned start, else
    ``"heuristic"``.
    """
    rng = options.rng()
    ev = _float_evaluator(spec, env)
    starts: list[np.ndarray] = []
    iterations = 0
    ex = exhaustive_deterministic(spec, env, options)
    if ex is not None:
        starts.append(ex[0])
        iterations += ex[1]
    else:
        starts.append(np.eye(env.n_actions)[[int(np.flatnonzero(env.enabled[s])[0])
                                            for s in range(env.n_states)]])
    starts += [_random_policy(env, rng) for _ in range(restarts)]
    best: tuple[np.ndarray, bool] | None = None
    for s0 in starts:
        if options.expired() and best is not None:
            break
        pi, sweeps, converged = coordinate_ascent(spec, env, s0, options)
        iterations += sweeps
        if best is None or _better(ev, pi, best[0]):
            best = (pi, converged)
    assert best is not None
    pi, converged = best
    test = ("no move of one state's action distribution towards an action by a step of "
            "1, 1/2, 1/4, 1/8 or 1/16 improves it") if converged else None
    evidence = (f"best of {ex[1]} deterministic policies" if ex is not None else
                f"{deterministic_count(env)} deterministic policies: too many to enumerate")
    return Optimum(Policy(pi), None, "local" if converged else "heuristic",
                   "exhaustive deterministic + coordinate ascent", None, test,
                   evidence + f"; ascent from {len(starts)} starts", iterations)


#: The optimiser of formalisms that register no better one (local guarantee at best).
GENERIC = Optimiser(
    generic_optimise, "exhaustive deterministic + coordinate ascent", "local",
    "no polynomial method known in general (paper, arXiv 2310.11840, Section 5): a local "
    "search; exhaustive search over the |A|^|S| deterministic policies when small")

