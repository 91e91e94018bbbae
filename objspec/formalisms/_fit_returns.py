"""Fitting expectations of functions of the trajectory: FTR, and INMR/IMORL with given rewards.

Each of these formalisms values a policy by ``J(pi) = E_pi[G(xi)]`` for an unknown function
``G`` of the trajectory; for fixed policies ``J`` is *linear in G's values*
(docs/learning.md#ftr):

* **FTR over a horizon H**: with ``G`` a function of the first ``H`` steps,
  ``J(pi) = sum_h P_pi(h) G(h)`` over the finitely many ``H``-step prefixes ``h``
  (:func:`objspec.formalisms.lottery.enumerate_prefixes`); the fitted ``G`` is an explicit
  table (:class:`PrefixTable`). Every FTR specification has this form on policies that agree
  on the states reachable after step ``H`` (``E[f | h]`` is then the same function of ``h``
  for all of them), so a certificate on those features proves that *no* FTR specification
  fits; otherwise only the horizon-``H`` class is ruled out and the fitter falls back on the
  structural lemma L1 (docs/theory.md#l1: multi-affine features at once-visited decisions).
* **INMR / IMORL with a given reward (vector)**: ``J(pi) = sum_g P_pi(G = g) f(g)`` over the
  finitely many returns ``g`` (:func:`objspec.formalisms.lottery.return_distribution`); the
  fitted ``f`` is a :class:`ReturnTable` (piecewise linear through the fitted values for one
  return, nearest return for vectors).
* **Trajectory comparisons**: FTR fits any consistent data with ``G`` = the rank of the
  trajectory's class; INMR/IMORL are linear in ``f``'s values at the trajectories' returns.

This module gets the formalism classes passed in (the formalism modules import it).
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any, NoReturn

import numpy as np
import scipy.sparse as sp

from objspec.errors import (
    CertificateError,
    InvalidPolicyError,
    InvalidSpecificationError,
    NoFitFoundError,
    NotExpressibleError,
    SolverError,
)
from objspec.formalisms._fit_linear import fit_linear, policies_of
from objspec.formalisms.fitting import (
    Comparisons,
    FeatureMap,
    Fit,
    FitOptions,
    Trajectory,
    certificate_for,
    max_margin,
    not_expressible,
)
from objspec.formalisms.lottery import (
    enumerate_prefixes,
    exact_prefix_probabilities,
    prefix_probabilities,
    return_distribution,
)
from objspec.mdp.exact import exact_discount, exact_rewards
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy
from objspec.structural import L1, once_visited_states

__all__ = [
    "PrefixTable",
    "ReturnTable",
    "fit_trajectory_function",
    "fit_return_function",
    "expectation_certificate",
    "MAX_FIT_PREFIXES",
    "MAX_SEARCHED_HORIZONS",
    "MAX_L1_FEATURES",
]

#: Most prefixes (LP columns) the FTR fitter enumerates.
MAX_FIT_PREFIXES = 20_000
#: Policies whose prefix probabilities are computed in one batch.
CHUNK = 32
#: Most horizons the FTR fitter tries when none is given and none is known to suffice.
MAX_SEARCHED_HORIZONS = 8
#: Most multi-affine L1 features (``|A| ** |D|``) an FTR certificate uses.
MAX_L1_FEATURES = 4096


# ---------------------------------------------------------------------- fitted functions


class PrefixTable:
    """A trajectory function given by a table: ``G(states, actions)`` of a finite prefix.

    ``entries`` maps ``(states, actions)`` tuples to values. Called with a prefix (arrays
    as :class:`~objspec.formalisms.TrajectoryFunction` passes them), it returns the value of
    the longest entry that is a prefix of it (entries may have different lengths, as data
    trajectories do), and ``default`` when none is.

    Examples
    --------
    >>> g = PrefixTable({((0, 1), (0,)): 2, ((0, 1), (1,)): -1})
    >>> g([0, 1], [1]), g([0, 2], [0])
    (-1, 0)
    """

    def __init__(self, entries: dict[tuple[tuple[int, ...], tuple[int, ...]], Any],
                 default: Any = 0) -> None:
        self.entries = dict(entries)
        self.default = default
        self._lengths = sorted({(len(s), len(a)) for s, a in self.entries}, key=lambda x: (
            x[1], x[0]), reverse=True)

    def __call__(self, states: Any, actions: Any) -> Any:
        s = tuple(int(x) for x in np.asarray(states).ravel())
        a = tuple(int(x) for x in np.asarray(actions).ravel())
        for ns, na in self._lengths:
            if ns <= len(s) and na <= len(a):
                v = self.entries.get((s[:ns], a[:na]))
                if v is not None:
                    return v
        return self.default

    def __repr__(self) -> str:
        return f"PrefixTable({len(self.entries)} prefixes)"


class ReturnTable:
    """A function of the (vector) return given by its values at finitely many returns.

    One return (``k = 1``, INMR): piecewise linear through ``(atom, value)`` points, constant
    beyond the ends, exact in rationals on Fraction arguments. Vectors (IMORL): the value of
    the nearest atom (max-norm), exact on an atom given in Fractions.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> f = ReturnTable([(F(0),), (F(1),)], [F(1), F(3)], scalar=True)
    >>> f(F(1, 2)), f(2.0)
    (Fraction(2, 1), 3.0)
    """

    def __init__(self, atoms: Sequence[tuple[Any, ...]], values: Sequence[Any], *,
                 scalar: bool) -> None:
        if len(atoms) != len(values) or not atoms:
            raise InvalidSpecificationError("ReturnTable: need as many values as atoms (>= 1)")
        order = sorted(range(len(atoms)), key=lambda i: tuple(atoms[i]))
        self.atoms = [tuple(atoms[i]) for i in order]
        self.values = [values[i] for i in order]
        self.scalar = scalar
        self._float_atoms = np.array([[float(x) for x in a] for a in self.atoms])
        self._float_values = np.array([float(v) for v in self.values])
        self._exact = {a: v for a, v in zip(self.atoms, self.values, strict=True)}

    def __call__(self, x: Any) -> Any:
        if self.scalar:
            if isinstance(x, Fraction | int) and not isinstance(x, bool):
                xs = [a[0] for a in self.atoms]
                i = bisect.bisect_left(xs, x)
                if i < len(xs) and xs[i] == x:
                    return self.values[i]
                if i == 0:
                    return self.values[0]
                if i == len(xs):
                    return self.values[-1]
                lo, hi = Fraction(xs[i - 1]), Fraction(xs[i])
                t = (Fraction(x) - lo) / (hi - lo)
                return Fraction(self.values[i - 1]) * (1 - t) + Fraction(self.values[i]) * t
            return float(np.interp(float(x), self._float_atoms[:, 0], self._float_values))
        arr = np.asarray(x, dtype=object).ravel()
        if all(isinstance(v, Fraction | int) and not isinstance(v, bool) for v in arr):
            hit = self._exact.get(tuple(Fraction(v) for v in arr))
            if hit is not None:
                return hit
        xf = np.array([float(v) for v in arr])
        i = int(np.argmin(np.abs(self._float_atoms - xf[None, :]).max(axis=1)))
        v = self.values[i]
        return v if isinstance(v, Fraction) and arr.dtype == object and all(
            isinstance(w, Fraction) for w in arr) else float(v)

    def __repr__(self) -> str:
        kind = "piecewise linear" if self.scalar else "nearest return"
        return f"ReturnTable({len(self.atoms)} returns, {kind})"


# ---------------------------------------------------------------------- ranks


def _ranks(data: Comparisons) -> dict[int, int]:
    """Integer ranks of the compared items: tied items equal, ``i > j`` gives a larger rank.

    The rank of a class is the length of the longest chain of strict comparisons below it
    (the data is consistent, so the strict graph between tie classes is acyclic).
    """
    parent = list(range(data.n_items))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in data.ties:
        parent[find(i)] = find(j)
    below: dict[int, set[int]] = {}
    items = {x for c in data.comparisons for x in (c.first, c.second)}
    for i, j in data.strict:
        below.setdefault(find(i), set()).add(find(j))
    memo: dict[int, int] = {}

    def rank(c: int) -> int:
        stack = [(c, False)]
        while stack:
            node, done = stack.pop()
            if node in memo:
                continue
            kids = below.get(node, set())
            if done or not kids:
                memo[node] = 1 + max((memo[k] for k in kids), default=-1)
                continue
            stack.append((node, True))
            stack.extend((k, False) for k in kids if k not in memo)
        return memo[c]

    return {x: rank(find(x)) for x in items}


# ---------------------------------------------------------------------- FTR


def late_states(env: FiniteMDP, horizon: int) -> frozenset[int]:
    """States reachable (under some actions) at some step ``t >= horizon``: the forward
    closure of the states reachable at exactly step ``horizon``.

    Examples
    --------
    >>> from objspec.environments import E3
    >>> sorted(late_states(E3(), 0)), sorted(late_states(E3(), 1))
    ([0, 1], [1])
    """
    m = env.transition_matrix
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr)) // env.n_actions
    succ = sp.csr_matrix((np.ones(m.nnz), (rows, m.indices)),
                         shape=(env.n_states, env.n_states)).T.tocsr()  # [next, now]
    now = np.asarray(env.initial > 0)
    for _ in range(int(horizon)):
        now = (succ @ now.astype(np.float64)) > 0
    seen = now.copy()
    frontier = now
    while frontier.any():
        nxt = ((succ @ frontier.astype(np.float64)) > 0) & ~seen
        seen |= nxt
        frontier = nxt
    return frozenset(int(s) for s in np.flatnonzero(seen))


def _rows(policy: Policy) -> Any:
    """The policy's rows as given: exact Fractions when they are exact distributions, else
    the floats (equal floats are equal numbers; only exact certificates need Fractions)."""
    try:
        return policy.exact_probabilities()
    except InvalidPolicyError:
        return policy.probabilities


def _agree_on(policies: Sequence[Policy], states: frozenset[int]) -> bool:
    if not policies:
        return True
    ref = _rows(policies[0])
    for p in policies[1:]:
        pi = _rows(p)
        if any(list(pi[s]) != list(ref[s]) for s in states):
            return False
    return True


def _default_horizon(env: FiniteMDP, policies: Sequence[Policy]) -> int | None:
    """The smallest ``H`` such that the policies agree on every state reachable after step
    ``H`` (so ``H``-step prefix functions are as expressive as any FTR on them), or None."""
    for h in range(0, _horizon_cap(env)):
        if _agree_on(policies, late_states(env, h)):
            return h
    return None


def _horizon_cap(env: FiniteMDP) -> int:
    return min(env.n_states * env.n_states + 1, 64)


def _settled_horizon(env: FiniteMDP) -> int:
    """The smallest ``H`` after which the states reachable late no longer shrink (on an
    acyclic environment: the depth at which every trajectory is absorbed)."""
    cap = _horizon_cap(env)
    final = late_states(env, cap)
    return next(h for h in range(cap + 1) if late_states(env, h) == final)


def _prefix_feature_map(env: FiniteMDP, horizon: int, prefixes: Any) -> FeatureMap:
    late = late_states(env, horizon)

    def compute(e: FiniteMDP | None, items: Sequence[Any]) -> list[list[Fraction]]:
        assert e is not None
        return [exact_prefix_probabilities(e, p, prefixes) for p in items]

    def precondition(e: FiniteMDP | None, items: Sequence[Any]) -> None:
        if not _agree_on(list(items), late):
            raise CertificateError(
                f"FTR prefix features: the policies differ at a state reachable after step "
                f"{horizon}, so E[f | prefix] may depend on the policy")

    return FeatureMap(
        f"the probabilities of the {len(prefixes)} prefixes of {horizon} steps",
        f"every FTR value is J(pi) = sum_h P_pi(h) E[f | h] over the {horizon}-step prefixes h, "
        f"and E[f | h] is the same for these policies because they agree on every state "
        f"reachable after step {horizon}",
        compute, precondition)


def _l1_feature_map(env: FiniteMDP, policies: Sequence[Policy]) -> FeatureMap | None:
    """L1's multi-affine features on the states where the policies differ, or None."""
    if not policies:
        return None
    ref = _rows(policies[0])
    rows = [_rows(p) for p in policies]
    differ = tuple(s for s in range(env.n_states)
                   if any(list(pi[s]) != list(ref[s]) for pi in rows))
    once = set(once_visited_states(env))
    if any(s not in once for s in differ) or env.n_actions ** len(differ) > MAX_L1_FEATURES:
        return None

    def compute(e: FiniteMDP | None, items: Sequence[Any]) -> list[list[Fraction]]:
        assert e is not None
        return L1.feature_matrix(e, list(items), differ)

    def precondition(e: FiniteMDP | None, items: Sequence[Any]) -> None:
        assert e is not None
        L1.check_precondition(e, list(items), differ)

    return FeatureMap(
        f"L1's multi-affine features at the once-visited states {list(differ)}",
        f"the policies differ only at the states {list(differ)}, which no trajectory visits "
        "twice, so by L1 (docs/theory.md#l1) every FTR value is sum over action tuples a of "
        "prod_s pi(a_s|s) c_a, multi-affine in the policy there",
        compute, precondition)


def fit_trajectory_function(env: FiniteMDP, data: Comparisons, options: FitOptions,
                            ftr_class: type) -> Fit:
    """Fit an FTR specification (docs/learning.md#ftr); the class is passed in.

    Keyword ``horizon=``: fit a function of the first ``horizon`` steps. Default: the
    smallest horizon after which the compared policies agree everywhere reachable (then
    prefix functions lose nothing and a failure is proved); if there is none, increasing
    horizons from the one after which the reachable states settle, while the prefixes
    number at most :data:`MAX_FIT_PREFIXES` (a bounded search).
    """
    start = time.perf_counter()
    horizon = options.take("horizon")
    data.check_consistent()
    if data.demonstrations:
        raise InvalidSpecificationError(
            "fit(FTR): demonstrations are not used by this fitter; give comparisons "
            "(pairs or a ranking)")
    if horizon is not None and (isinstance(horizon, bool) or not isinstance(
            horizon, int | np.integer) or horizon < 0):
        raise InvalidSpecificationError(f"fit(FTR): horizon={horizon!r} must be an integer >= 0")
    if data.trajectories is not None:
        return _fit_ftr_trajectories(data, options, ftr_class, start)
    policies = list(policies_of(data, "FTR"))
    if horizon is not None:
        candidates = [int(horizon)]
    else:
        found = _default_horizon(env, policies)
        if found is not None:
            candidates = [found]
        else:
            first = _settled_horizon(env)
            candidates = list(range(first, first + MAX_SEARCHED_HORIZONS))
    batch = np.stack([p.probabilities for p in policies])

    def probabilities(prefixes: Any) -> np.ndarray:
        # chunks of policies: the product over steps is [chunk, prefixes, horizon]
        return np.vstack([prefix_probabilities(batch[i:i + CHUNK], prefixes)
                          for i in range(0, len(policies), CHUNK)])

    tried: int | None = None
    why = ""
    for h in candidates:
        decides = _agree_on(policies, late_states(env, h))
        try:
            prefixes = enumerate_prefixes(env, h, max_prefixes=MAX_FIT_PREFIXES)
        except InvalidSpecificationError:
            if tried is None:
                raise NoFitFoundError(
                    f"fit(FTR): more than {MAX_FIT_PREFIXES} prefixes of {h} steps; use a "
                    "shorter horizon", bound=h) from None
            break
        tried = h
        fmap = _prefix_feature_map(env, h, prefixes)
        feats = probabilities(prefixes)

        def exact_rows(fmap: FeatureMap = fmap) -> list[list[Fraction]]:
            return fmap.compute(env, policies)

        lf = max_margin(feats, data, margin=options.margin, soft=options.soft,
                        exact_features=exact_rows if options.exact else None)
        if lf is not None:
            return _ftr_result(data, options, ftr_class, start, lf, prefixes, h, decides)
        if decides:
            cert = _certificate("FTR", env, data, fmap, "trajectory function")
            if cert is not None:
                raise not_expressible("FTR", cert)
        if options.exact and max_margin(feats, data) is not None:
            raise SolverError(
                f"fit(FTR): the LP's margin at horizon {h} is positive but could not be "
                "verified in rational arithmetic; try exact=False")
        why = (f"no function of the first {h} steps explains the data" + (
            "" if decides else " (the policies differ at states reachable after step "
            f"{h}, so a longer horizon may: pass horizon=)"))
        if decides:
            break
    if len(candidates) > 1:
        why = (f"no function of the first {candidates[0]}..{tried} steps explains the data "
               "(the policies differ at states visited arbitrarily late: pass a longer "
               "horizon=)")
    _raise_l1(env, data, policies, why, bound=tried)


def _ftr_result(data: Comparisons, options: FitOptions, ftr_class: type, start: float,
                lf: Any, prefixes: Any, h: int, decides: bool) -> Fit:
    if options.margin is not None and not options.soft and lf.margin is not None and (
            float(lf.margin) < float(options.margin)):
        raise NoFitFoundError(
            f"fit(FTR): the largest achievable margin is {float(lf.margin):.6g} (max |G| <= 1 "
            f"on the prefixes), below the requested margin={options.margin}", bound=lf.margin)
    values = list(lf.coefficients)
    table = PrefixTable({(tuple(s), tuple(a)): (v if lf.exact else float(v))
                         for s, a, v in zip(prefixes.states.tolist(), prefixes.actions.tolist(),
                                            values, strict=True)},
                        default=Fraction(0) if lf.exact else 0.0)
    spec = ftr_class(table, h)
    return Fit("FTR", spec, lf.margin, lf.violated,
               f"max-margin LP over the probabilities of the {len(prefixes)} prefixes of {h} "
               "steps (HiGHS)" + (", soft (L1 slack)" if options.soft else ""), lf.exact,
               "max |G(prefix)| <= 1", time.perf_counter() - start,
               {"coefficients": lf.coefficients, "horizon": h, "decides": decides})


def _certificate(formalism: str, env: FiniteMDP, data: Comparisons, fmap: FeatureMap,
                 description: str) -> Any:
    """:func:`certificate_for`, with a named error when the policies are not exact."""
    try:
        return certificate_for(formalism, env, data, fmap, description=description)
    except InvalidPolicyError as exc:
        raise NoFitFoundError(
            f"fit({formalism}): no fit was found, and an exact certificate that none exists "
            f"needs policies given exactly (rows summing to 1 in rationals): {exc}") from None


def _raise_l1(env: FiniteMDP, data: Comparisons, policies: Sequence[Policy], why: str,
              bound: Any = None) -> NoReturn:
    fmap = _l1_feature_map(env, policies)
    if fmap is not None:
        cert = _certificate("FTR", env, data, fmap, "trajectory function")
        if cert is not None:
            raise not_expressible("FTR", cert)
    raise NoFitFoundError(f"fit(FTR): {why}; no certificate that no FTR specification fits "
                          "exists on L1's features either", bound=bound)


def expectation_certificate(formalism: str, env: FiniteMDP, data: Comparisons) -> Any:
    """A certificate that no FTR specification explains policy comparisons, or None.

    Every formalism whose value is an expectation over trajectories (RM, INMR, IMORL, MR,
    LTL, ...) is expressed by FTR (docs/theory.md#embeddings), so the certificate also
    proves that no specification of ``formalism`` explains them, whatever its machine or
    reward. Used by fitters whose own LP fixes part of the specification (a machine
    skeleton, a reward) before falling back on a certificate relative to that part. Tries
    the prefix features at the horizon after which the policies agree (exact), then L1.

    Examples
    --------
    N3 (docs/theory.md#n3): on E3, ``p = 1/2`` above ``p = 0`` and tied ``p = 0, 1``.

    >>> from fractions import Fraction as F
    >>> from objspec import Policy
    >>> from objspec.environments import E3
    >>> pols = [Policy([[p, 1 - p], [1, 0]]) for p in (F(0), F(1, 2), F(1))]
    >>> data = Comparisons(policies=pols, pairs=[(1, 0, ">"), (0, 2, "=")])
    >>> cert = expectation_certificate("RM", E3(), data)
    >>> cert.check(), cert.description
    (None, 'trajectory-expectation (FTR, and so RM)')
    """
    if data.policies is None:
        return None
    try:
        return _expectation_certificate(formalism, env, data)
    except InvalidPolicyError:  # exact features need policies given exactly
        return None


def _expectation_certificate(formalism: str, env: FiniteMDP, data: Comparisons) -> Any:
    policies = list(data.policies or ())
    description = (f"trajectory-expectation (FTR, and so {formalism})" if formalism != "FTR"
                   else "trajectory function")
    h = _default_horizon(env, policies)
    if h is not None:
        try:
            prefixes = enumerate_prefixes(env, h, max_prefixes=MAX_FIT_PREFIXES)
        except InvalidSpecificationError:
            prefixes = None
        if prefixes is not None:
            cert = certificate_for(formalism, env, data, _prefix_feature_map(env, h, prefixes),
                                   description=description)
            if cert is not None:
                return cert
    fmap = _l1_feature_map(env, policies)
    if fmap is not None:
        return certificate_for(formalism, env, data, fmap, description=description)
    return None


def _fit_ftr_trajectories(data: Comparisons, options: FitOptions, ftr_class: type,
                          start: float) -> Fit:
    """G = the rank of each trajectory's class: every consistent trajectory data fits (so a
    soft fit violates nothing either)."""
    ranks = _ranks(data)
    trajs = data.trajectories or ()
    exact = options.exact
    table = PrefixTable({(trajs[k].states, trajs[k].actions): (Fraction(r) if exact else float(r))
                         for k, r in ranks.items()}, default=Fraction(0) if exact else 0.0)
    horizon = max((len(t.actions) for t in trajs), default=0)
    margin: Any = Fraction(1) if exact else 1.0
    if options.margin is not None and float(options.margin) > 1.0:  # ranks scale freely
        scale: Any = Fraction(options.margin) if exact else float(options.margin)
        margin = margin * scale
        table = PrefixTable({k: v * scale for k, v in table.entries.items()},
                            default=table.default)
    return Fit("FTR", ftr_class(table, horizon), margin if data.strict else None, (),
               "ranks of the trajectories' classes (a table)", exact,
               "integer ranks (G(i) - G(j) >= 1 for i > j)", time.perf_counter() - start,
               {"ranks": ranks})


# ---------------------------------------------------------------------- INMR / IMORL


def _stacked(rewards: Any, k: int | None) -> np.ndarray:
    arr = np.asarray(rewards, dtype=object)
    return arr[None] if k is None else arr


def fit_return_function(env: FiniteMDP, data: Comparisons, options: FitOptions,
                        build_spec: Callable[[Any, ReturnTable, Any], Any], *, acronym: str,
                        keyword: str, scalar: bool, validate: Callable[[Any], np.ndarray]
                        ) -> Fit:
    """Fit ``f`` of INMR (``scalar``) or IMORL with the reward(s) ``keyword=`` given.

    ``validate(rewards)`` checks and returns the stacked rewards ``[k, ...]``;
    ``build_spec(rewards, f, gamma)`` makes the specification.
    """
    given = options.take(keyword)
    if data.demonstrations:
        raise InvalidSpecificationError(
            f"fit({acronym}): demonstrations are not used by this fitter; give comparisons "
            "(pairs or a ranking)")
    if given is None:
        raise InvalidSpecificationError(
            f"fit({acronym}): the {'reward' if scalar else 'rewards'} must be given "
            f"({keyword}=...); {acronym} is fitted as a function f of the return(s) of known "
            "rewards (docs/learning.md#inmr)")
    gamma = options.need_gamma(acronym)
    stacked = validate(given)
    g = exact_discount(gamma)
    ex = np.array([exact_rewards(env, r) for r in stacked])  # [k, S, A, S] Fractions
    if data.trajectories is not None:
        return _fit_return_trajectories(env, data, options, build_spec, acronym, scalar,
                                        given, gamma, ex, g)
    policies = list(policies_of(data, acronym))
    uniform = np.array([[Fraction(int(env.enabled[s, a]), int(env.n_enabled[s]))
                         for a in range(env.n_actions)] for s in range(env.n_states)],
                       dtype=object)
    full = return_distribution(env, uniform, ex, g, exact=True)
    if full is None:
        raise NoFitFoundError(
            f"fit({acronym}): the return under this reward takes infinitely many values "
            "(a reachable cycle keeps collecting reward); the fitter needs finitely many "
            "(e.g. zero reward on absorbing states, or gamma = 0)")
    atoms = sorted(full)
    index = {a: i for i, a in enumerate(atoms)}
    float_atoms = np.array([[float(x) for x in a] for a in atoms])
    scale = max(1.0, float(np.abs(float_atoms).max(initial=0.0)))
    fl = np.array([[[[float(x) for x in row] for row in sa] for sa in r] for r in ex])

    def compute(_e: FiniteMDP | None, items: Sequence[Any]) -> list[list[Fraction]]:
        out = []
        for p in items:
            dist = return_distribution(env, p.exact_probabilities(), ex, g, exact=True)
            assert dist is not None  # its atoms are among the uniform policy's
            row = [Fraction(0)] * len(atoms)
            for a, prob in dist.items():
                row[index[a]] += prob
            out.append(row)
        return out

    def floats() -> np.ndarray:
        from scipy.spatial import cKDTree

        tree = cKDTree(float_atoms)
        out = np.zeros((len(policies), len(atoms)))
        for n, p in enumerate(policies):
            dist = return_distribution(env, p.probabilities, fl, float(gamma))
            assert dist is not None  # its atoms are among the uniform policy's
            points = np.array(list(dist), dtype=np.float64).reshape(len(dist), -1)
            gap, nearest = tree.query(points, p=np.inf)
            if np.any(gap > 1e-9 * scale):
                raise NoFitFoundError(
                    f"fit({acronym}): a float return matches no exact return (rounding); "
                    "try exact=True")
            np.add.at(out[n], nearest, np.array(list(dist.values()), dtype=np.float64))
        return out

    what = "return" if scalar else "return vector"
    fmap = FeatureMap(
        f"the distribution of the {what} over its {len(atoms)} values",
        f"every {acronym} specification with these rewards (gamma = {g}) has the value "
        f"J(pi) = sum_g P_pi(G = g) f(g) over the finitely many {what}s g, linear in f's values",
        compute)

    def build(c: Any) -> Any:
        vals = [v if isinstance(v, Fraction) else float(v) for v in c]
        return build_spec(given, ReturnTable(atoms, vals, scalar=scalar), gamma)

    try:
        return fit_linear(
            acronym, env, data, options, features=floats, feature_map=fmap, build=build,
            method=f"max-margin LP over the {what} distribution (HiGHS)" + (
                ", soft (L1 slack)" if options.soft else ""),
            normalisation=f"max |f(g)| <= 1 on the {len(atoms)} {what}s",
            description=f"{acronym} (f of the given {what}, gamma = {g})",
            details={"returns": atoms})
    except NotExpressibleError as exc:
        wide = expectation_certificate(acronym, env, data)
        if wide is not None:
            raise not_expressible(acronym, wide) from None
        raise exc from None
    except InvalidPolicyError as exc:
        if options.exact:
            raise
        raise NoFitFoundError(
            f"fit({acronym}): the LP found no positive margin, and an exact certificate that "
            f"none exists needs policies given exactly (rows summing to 1 in rationals): {exc}"
        ) from None


def _trajectory_return(ex: np.ndarray, g: Fraction, tr: Trajectory, k: int, acronym: str
                       ) -> tuple[Fraction, ...]:
    total = [Fraction(0)] * ex.shape[0]
    w = Fraction(1)
    for s, a, nxt in tr.steps():
        if nxt is None:
            vals = {tuple(ex[:, s, a, x]) for x in range(ex.shape[3])}
            if len(vals) != 1:
                raise InvalidSpecificationError(
                    f"fit({acronym}): trajectory {k} has no state after its last action and "
                    "the reward depends on it")
            r = next(iter(vals))
        else:
            r = tuple(ex[:, s, a, nxt])
        total = [x + w * y for x, y in zip(total, r, strict=True)]
        w *= g
    return tuple(total)


def _fit_return_trajectories(env: FiniteMDP, data: Comparisons, options: FitOptions,
                             build_spec: Callable[[Any, ReturnTable, Any], Any], acronym: str,
                             scalar: bool, given: Any, gamma: Any, ex: np.ndarray,
                             g: Fraction) -> Fit:
    trajs = data.trajectories or ()
    returns = [_trajectory_return(ex, g, t, k, acronym) for k, t in enumerate(trajs)]
    atoms = sorted(set(returns))
    index = {a: i for i, a in enumerate(atoms)}
    of_item = {id(t): r for t, r in zip(trajs, returns, strict=True)}

    def compute(_e: FiniteMDP | None, items: Sequence[Any]) -> list[list[Fraction]]:
        out = []
        for t in items:
            r = of_item.get(id(t))
            if r is None:
                r = _trajectory_return(ex, g, t, -1, acronym)
            row = [Fraction(0)] * len(atoms)
            if r in index:
                row[index[r]] = Fraction(1)
            out.append(row)
        return out

    what = "return" if scalar else "return vector"
    fmap = FeatureMap(
        f"the indicator of each trajectory's {what}",
        f"every {acronym} specification with these rewards values a trajectory by f(G), a "
        f"function of its {what} G (gamma = {g})", compute)

    def build(c: Any) -> Any:
        vals = [v if isinstance(v, Fraction) else float(v) for v in c]
        return build_spec(given, ReturnTable(atoms, vals, scalar=scalar), gamma)

    return fit_linear(
        acronym, env, data, options,
        features=lambda: np.array([[float(x) for x in row] for row in compute(env, trajs)]),
        feature_map=fmap, build=build,
        method=f"max-margin LP over f's values at the trajectories' {what}s (HiGHS)",
        normalisation=f"max |f(g)| <= 1 on the {len(atoms)} {what}s",
        description=f"{acronym} (f of the given {what}, gamma = {g})",
        details={"returns": atoms})
