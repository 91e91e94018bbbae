"""Fitting the formalisms that can express any ordering their invariance allows.

ONMR, OMORL (general ``f``), GOMORL, FOMR and OMO value a policy through its discounted
occupancy measure ``m_gamma^pi`` only; TLO and FTLR through its trajectory lottery
``L_pi``; FPR and PO through the policy itself (arXiv 2310.11840, docs/theory.md#definitions).
Each of them can realise *every* total preorder on a finite set of policies that ties the
policies its invariance identifies, and nothing else:

* **Necessity.** A specification's value (or rank) is a function of the invariant (the
  occupancy measure, the lottery, the policy), so policies with equal invariants tie. On
  the compared policies every ordering is then ``<onehot(class(pi)), c>`` for some real
  ``c`` (one coordinate per distinct invariant): comparisons that are inconsistent once
  equal invariants are identified have exact Motzkin multipliers on these one-hot features
  (:func:`objspec.formalisms.fitting.certificate_for`), which ``certificate.check()``
  re-verifies after recomputing the invariants exactly.
* **Sufficiency** (the explicit interpolant). Identify equal invariants and tied policies;
  if the quotient has no strict cycle, give each class its height in the quotient (a total
  preorder extending the data). Choose rational weights ``w`` on which the linear statistic
  ``ell(pi) = <w, x_pi>`` is injective on the distinct invariants ``x`` (``x`` is the
  state-action occupancy measure, the return vector, the occupancy measure at
  ``gamma = 1/2`` of the lottery, or the policy's probabilities), and let ``g`` be the
  piecewise linear function that equals the class's height on a plateau around each data
  value of ``ell`` and interpolates linearly in between (constant beyond the extreme
  values). ``J = g(ell(pi))`` is defined for every policy, exact on rationals, and orders
  the data as given.

**Deciding the classes exactly without solving.** For stationary policies and
``0 < gamma < 1``, ``m_gamma(s, a) = d_gamma(s) pi(a|s)`` with ``d_gamma(s) > 0`` exactly on
the states ``pi`` reaches, so the occupancy measure determines, and is determined by, the
reachable states and ``pi`` there: the occupancy classes are the lottery classes (lemma L7),
decided from the supports and the rational rows. For ``gamma = 0``,
``m_0(s, a) = mu0(s) pi(a|s)``: the rows on the initial states. Return vectors (given
objectives) are computed in rationals.

**Floating point and exactness.** By default the statistic's values on the classes are
computed in floating point and accepted only when their smallest gap exceeds ``1e-6`` of
their scale (the float error is about ``1e-12`` relative); the knots are short dyadic
rationals within ``1/32`` of that gap and the plateau is a quarter of it, so the fitted
specification orders the data the same in floats and in rationals; the fit is checked by
compiling it in floats. With ``exact=True`` (or when no draw of ``w`` is separated enough
in floats) the values are exact rationals and the fit is checked by compiling with
``exact=True`` (``Fit.exact``).

Examples
--------
>>> from fractions import Fraction as F
>>> g = PiecewiseLinear([F(0), F(1)], [F(0), F(2)], F(1, 4))
>>> g(F(1, 2)), g(F(1, 8)), g(5)
(Fraction(1, 1), Fraction(0, 1), Fraction(2, 1))
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import numpy as np

from objspec.errors import (
    InvalidPolicyError,
    InvalidSpecificationError,
    NotExpressibleError,
    SolverError,
)
from objspec.formalisms.fitting import (
    Comparison,
    Comparisons,
    FeatureMap,
    Fit,
    FitOptions,
    certificate_for,
    not_expressible,
)
from objspec.mdp.exact import (
    exact_discount,
    exact_expected_return,
    exact_state_visitation,
    has_exact_model,
)
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy
from objspec.structural import L7

__all__ = [
    "PiecewiseLinear",
    "LinearStatistic",
    "Interpolant",
    "Invariance",
    "occupancy_invariance",
    "return_vector_invariance",
    "lottery_invariance",
    "policy_invariance",
    "fit_by_invariance",
    "exact_data",
    "exact_env",
    "LOTTERY_GAMMA",
    "state_action_occupancy",
    "lottery_occupancy",
    "policy_rows",
]

#: The discount at which a lottery's occupancy measure is read (any value in (0, 1) works).
LOTTERY_GAMMA = Fraction(1, 2)


# ---------------------------------------------------------------------- the interpolant


def _is_exact(x: Any) -> bool:
    return isinstance(x, Fraction | int) and not isinstance(x, bool)


class PiecewiseLinear:
    """``g: R -> R`` piecewise linear through ``(knots[i], values[i])``, flat near the knots.

    ``g(x) = values[i]`` for ``|x - knots[i]| <= plateau``; linear between
    ``knots[i] + plateau`` and ``knots[i + 1] - plateau``; ``values[0]`` below the first
    knot and ``values[-1]`` above the last. Exact on rationals (a Fraction in, a Fraction
    out), float otherwise. The plateau (at most a quarter of the smallest gap between
    knots) keeps rounding errors of ``x`` from moving ``g`` off a data value.

    Parameters
    ----------
    knots : sequence of Fraction
        Strictly increasing.
    values : sequence of Fraction
        One per knot.
    plateau : Fraction
        Half-width of the flat part around each knot, ``0 <= 2 plateau < min gap``.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> g = PiecewiseLinear([F(0), F(2)], [F(1), F(0)], F(1, 2))
    >>> [str(g(F(x, 2))) for x in range(-1, 6)]
    ['1', '1', '1', '1/2', '0', '0', '0']
    >>> g(1.0)
    0.5
    """

    def __init__(self, knots: Sequence[Any], values: Sequence[Any], plateau: Any) -> None:
        self.knots = tuple(Fraction(k) for k in knots)
        self.values = tuple(Fraction(v) for v in values)
        self.plateau = Fraction(plateau)
        if not self.knots or len(self.knots) != len(self.values):
            raise InvalidSpecificationError(
                "piecewise linear function: need as many values as knots (at least one)")
        gaps = [b - a for a, b in zip(self.knots, self.knots[1:], strict=False)]
        if any(g <= 0 for g in gaps):
            raise InvalidSpecificationError(
                "piecewise linear function: the knots must increase strictly")
        if self.plateau < 0 or (gaps and 2 * self.plateau >= min(gaps)):
            raise InvalidSpecificationError(
                "piecewise linear function: the plateau must be non-negative and less than "
                "half the smallest gap between knots")
        self._fknots = [float(k) for k in self.knots]
        self._fvalues = [float(v) for v in self.values]
        self._fplateau = float(self.plateau)

    def __call__(self, x: Any) -> Any:
        if _is_exact(x):
            return self._eval(Fraction(x), self.knots, self.values, self.plateau)
        return float(self._eval(float(x), self._fknots, self._fvalues, self._fplateau))

    @staticmethod
    def _eval(x: Any, knots: Sequence[Any], values: Sequence[Any], h: Any) -> Any:
        if x <= knots[0] + h:
            return values[0]
        for i in range(1, len(knots)):
            if x < knots[i] - h:
                lo, hi = knots[i - 1] + h, knots[i] - h
                t = (x - lo) / (hi - lo)
                return values[i - 1] + t * (values[i] - values[i - 1])
            if x <= knots[i] + h:
                return values[i]
        return values[-1]

    def formula(self) -> str:
        """The function as a formula of :mod:`objspec.expressions` (``min``/``max``)."""
        h = self.plateau
        parts = [str(self.values[0])]
        for i in range(1, len(self.knots)):
            lo, hi = self.knots[i - 1] + h, self.knots[i] - h
            slope = (self.values[i] - self.values[i - 1]) / (hi - lo)
            if slope != 0:
                parts.append(f"({slope})*(min(max(x, {lo}), {hi}) - ({lo}))")
        return " + ".join(parts)

    def __repr__(self) -> str:
        pts = ", ".join(f"{k}->{v}" for k, v in zip(self.knots, self.values, strict=True))
        return f"PiecewiseLinear({pts}; plateau {self.plateau})"


class LinearStatistic:
    """``ell(x) = <w, x>`` over the flattened ``x``: exact when ``x`` holds rationals.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> ell = LinearStatistic([F(1), F(-2)])
    >>> ell(np.array([F(1, 2), F(1, 4)], dtype=object)), ell([0.5, 0.25])
    (Fraction(0, 1), 0.0)
    """

    def __init__(self, weights: Sequence[Any]) -> None:
        self.weights = tuple(Fraction(w) for w in np.asarray(weights, dtype=object).ravel())
        self._float = np.array([float(w) for w in self.weights])

    def __call__(self, x: Any) -> Any:
        arr = np.asarray(x, dtype=object).ravel()
        if arr.shape[0] != len(self.weights):
            raise InvalidSpecificationError(
                f"linear statistic of {len(self.weights)} entries applied to {arr.shape[0]}")
        if all(_is_exact(v) for v in arr):
            return sum((w * Fraction(v) for w, v in zip(self.weights, arr, strict=True)),
                       Fraction(0))
        return float(np.dot(self._float, np.asarray(x, dtype=np.float64).ravel()))

    def __repr__(self) -> str:
        return f"<w, x> with w = [{', '.join(str(w) for w in self.weights)}]"


class Interpolant:
    """``g(ell(read(obj)))``: the fitted function of a formalism's object.

    ``read`` extracts the invariant (a vector) from what the formalism hands its function
    (the return, a return vector, an occupancy measure, a lottery, a policy); ``ell`` is a
    :class:`LinearStatistic` and ``g`` a :class:`PiecewiseLinear`.
    """

    def __init__(self, read: Callable[[Any], Any], ell: LinearStatistic, g: PiecewiseLinear,
                 what: str) -> None:
        self.read = read
        self.ell = ell
        self.g = g
        self.what = what

    def __call__(self, obj: Any) -> Any:
        return self.g(self.ell(self.read(obj)))

    def __repr__(self) -> str:
        return f"g(<w, {self.what}>), g = {self.g!r}"


def _identity(x: Any) -> Any:
    return x


def lottery_occupancy(lottery: Any) -> Any:
    """State-action occupancy ``m(s, a) = d(s) pi(a|s)`` of a lottery at ``LOTTERY_GAMMA``
    (exact for exact lotteries; never the dense ``[S, A, S]`` measure)."""
    d = np.asarray(lottery.state_visitation(LOTTERY_GAMMA))
    if d.dtype == object:
        pi = lottery.policy.exact_probabilities()
        return np.array([[d[s] * pi[s, a] for a in range(pi.shape[1])]
                         for s in range(pi.shape[0])], dtype=object)
    return d[:, None] * lottery.policy.probabilities


def policy_rows(policy: Any) -> Any:
    """The policy's probabilities in rationals (float rows read exactly, renormalised if
    they do not sum to exactly 1), so equal policies give equal statistics."""
    pol = policy if isinstance(policy, Policy) else Policy(policy)
    return _exact_policy(pol).exact_probabilities()


def state_action_occupancy(m: Any) -> Any:
    """``[S, A, S]`` occupancy -> ``[S, A]`` (exact for object arrays)."""
    arr = np.asarray(m)
    if arr.dtype == object:
        return np.array([[sum(arr[s, a], Fraction(0)) for a in range(arr.shape[1])]
                         for s in range(arr.shape[0])], dtype=object)
    return arr.sum(axis=2)


# ---------------------------------------------------------------------- invariances


@dataclass(frozen=True)
class Invariance:
    """What a formalism cannot see: policies with equal ``key(env, pi)`` tie.

    Attributes
    ----------
    name : str
        The invariant in words (``"the trajectory lottery"``).
    key : callable
        ``key(env, policy)``: an exact, hashable class key (equal keys iff equal invariants).
    exact_vector : callable
        ``exact_vector(env, policy)``: Fractions determining the class, the statistic's
        argument when the fit is exact.
    float_vectors : callable
        ``float_vectors(env, policies) -> [N, d]``: the same vectors in floating point
        (computed batched).
    feature_map : FeatureMap
        The one-hot of the classes (the certificates' features).
    """

    name: str
    key: Callable[[FiniteMDP, Policy], Hashable]
    exact_vector: Callable[[FiniteMDP, Policy], tuple[Fraction, ...]]
    float_vectors: Callable[[FiniteMDP, Sequence[Policy]], np.ndarray]
    feature_map: FeatureMap
    needs_exact_env: bool = False


def _one_hot(keys: Sequence[Hashable]) -> list[list[Fraction]]:
    distinct = list(dict.fromkeys(keys))
    return [[Fraction(int(k == d)) for d in distinct] for k in keys]


def _key_map(name: str, statement: str,
             key: Callable[[FiniteMDP, Policy], Hashable]) -> FeatureMap:
    def compute(env: FiniteMDP | None, items: Sequence[Any]) -> list[list[Fraction]]:
        assert env is not None
        return _one_hot([key(env, p) for p in items])

    return FeatureMap(f"the one-hot of {name}", statement, compute)


def _exact_rows(policy: Policy) -> np.ndarray:
    return _exact_policy(policy).exact_probabilities()


def _rows_key(rows: np.ndarray, mask: np.ndarray) -> tuple[Any, ...]:
    return (mask.tobytes(), tuple(tuple(Fraction(x) for x in row) for row in rows[mask]))


def _reached_key(env: FiniteMDP, policy: Policy) -> tuple[Any, ...]:
    """The states ``policy`` reaches (from the supports, exact) and its rows there."""
    from objspec.formalisms._support import reachable_states

    rows = _exact_rows(policy)
    reach = reachable_states(env, (rows != 0).astype(np.float64)[None])[0]
    return _rows_key(rows, np.asarray(reach, dtype=bool))


def _initial_key(env: FiniteMDP, policy: Policy) -> tuple[Any, ...]:
    """The initial states and the policy's rows there (``m_0(s, a) = mu0(s) pi(a|s)``)."""
    return _rows_key(_exact_rows(policy), np.asarray(env.initial) > 0)


def _occupancy_vector(gamma: Fraction) -> Callable[[FiniteMDP, Policy], tuple[Fraction, ...]]:
    def vector(env: FiniteMDP, policy: Policy) -> tuple[Fraction, ...]:
        exact = _exact_policy(policy)
        pi = exact.exact_probabilities()
        d = exact_state_visitation(env, exact, gamma)
        return tuple(Fraction(d[s] * pi[s, a]) for s in range(env.n_states)
                     for a in range(env.n_actions))

    return vector


def _occupancy_floats(gamma: Any) -> Callable[[FiniteMDP, Sequence[Policy]], np.ndarray]:
    def floats(env: FiniteMDP, policies: Sequence[Policy]) -> np.ndarray:
        from objspec.mdp.evaluation import state_action_occupancy as occupancy

        m = occupancy(env, [p.probabilities for p in policies], float(gamma))
        return np.asarray(m, dtype=np.float64).reshape(len(policies), -1)

    return floats


def occupancy_invariance(gamma: Any, formalism: str) -> Invariance:
    """Classes of equal discounted state-action occupancy measure ``m_gamma^pi(s, a)``.

    (``m(s, a, s') = m(s, a) tau(s'|s, a)``, so equal ``[S, A]`` measures are equal
    ``[S, A, S]`` measures.) The class is decided without solving: for ``gamma > 0``,
    ``m(s, a) = d(s) pi(a|s)`` with ``d(s) > 0`` exactly on the states ``pi`` reaches, so
    ``m`` determines and is determined by the reachable states and ``pi`` there; for
    ``gamma = 0``, ``m(s, a) = mu0(s) pi(a|s)`` is ``pi`` on the initial states.

    Examples
    --------
    >>> from objspec.environments import E2
    >>> inv = occupancy_invariance(0.5, "OMO")
    >>> inv.feature_map.compute(E2(), [Policy([[1, 0], [1, 0]]), Policy([[1, 0], [0, 1]])])
    [[Fraction(1, 1)], [Fraction(1, 1)]]
    """
    g = exact_discount(gamma)
    name = f"the discounted occupancy measure (gamma = {g})"
    if g == 0:
        key = _initial_key
        why = ("with gamma = 0, m_pi(s, a) = mu0(s) pi(a|s) is pi on the initial states, "
               "so on these policies its ordering is <e(pi on the initial states), c> with e "
               "the one-hot of the distinct behaviours there")
    else:
        key = _reached_key
        why = ("m_pi(s, a) = d(s) pi(a|s) with d(s) > 0 exactly on the states pi reaches, so "
               "equal measures are equal reachable sets with equal behaviour there, and on "
               "these policies its ordering is <e(reachable set, behaviour there), c> with e "
               "the one-hot of the distinct ones")
    statement = (f"every {formalism} specification with discount {g} ranks a policy by its "
                 f"discounted occupancy measure m_pi only, and {why}")
    return Invariance(name, key, _occupancy_vector(g), _occupancy_floats(g),
                      _key_map(name, statement, key))


def return_vector_invariance(rewards: np.ndarray, gamma: Any, formalism: str) -> Invariance:
    """Classes of equal expected-return vectors ``(J_{R_1}(pi), ..., J_{R_k}(pi))``
    (computed exactly, in rationals)."""
    g = exact_discount(gamma)

    def vector(env: FiniteMDP, policy: Policy) -> tuple[Fraction, ...]:
        exact = _exact_policy(policy)
        return tuple(Fraction(exact_expected_return(env, exact, r, g)) for r in rewards)

    def floats(env: FiniteMDP, policies: Sequence[Policy]) -> np.ndarray:
        from objspec.formalisms._support import expected_reward_batch

        r_sa = expected_reward_batch(env, rewards).reshape(len(rewards), -1)
        return _occupancy_floats(g)(env, policies) @ r_sa.T

    name = f"the expected-return vector of the {len(rewards)} given rewards (gamma = {g})"
    statement = (f"every {formalism} specification with these {len(rewards)} rewards and "
                 f"discount {g} ranks a policy by its vector of expected returns only, so on "
                 f"these policies its ordering is <e(J(pi)), c> with e the one-hot of the "
                 f"distinct return vectors")
    return Invariance(name, vector, vector, floats, _key_map(name, statement, vector), True)


def lottery_invariance(formalism: str) -> Invariance:
    """Classes of equal trajectory lotteries (lemma L7: equal reachable sets and equal
    behaviour there; the certificates' features are :data:`objspec.structural.L7`'s)."""

    def compute(env: FiniteMDP | None, items: Sequence[Any]) -> list[list[Fraction]]:
        assert env is not None
        return L7.feature_matrix(env, list(items), ())

    return Invariance(
        "the trajectory lottery",
        _reached_key,
        _occupancy_vector(LOTTERY_GAMMA),
        _occupancy_floats(LOTTERY_GAMMA),
        FeatureMap(
            "the one-hot of the trajectory lottery (lemma L7)",
            f"every {formalism} specification ranks a policy by its trajectory lottery only, "
            "which depends only on the states it reaches and its behaviour there (lemma L7), "
            "so on these policies its ordering is <e(L_pi), c> with e the one-hot of the "
            "distinct (reachable set, behaviour there)",
            compute))


def _policy_vector(env: FiniteMDP, policy: Policy) -> tuple[Fraction, ...]:
    return tuple(Fraction(x) for x in _exact_rows(policy).ravel())


def _policy_floats(env: FiniteMDP, policies: Sequence[Policy]) -> np.ndarray:
    return np.array([np.asarray(_exact_rows(p), dtype=np.float64).ravel() for p in policies])


def policy_invariance(formalism: str) -> Invariance:
    """Classes of identical policies (FPR and PO see every state)."""
    statement = (f"every {formalism} specification is a function (or ordering) of the policy, "
                 "so identical policies tie and on these policies its ordering is <e(pi), c> "
                 "with e the one-hot of the distinct policies")
    return Invariance("the policy", _policy_vector, _policy_vector, _policy_floats,
                      _key_map("the policy", statement, _policy_vector))


# ---------------------------------------------------------------------- the quotient


class _Union:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _groups(n_items: int, classes: Sequence[int], comps: Sequence[Comparison]) -> list[int]:
    """The group of every item: equal classes and ties joined."""
    uf = _Union(n_items)
    first: dict[int, int] = {}
    for i, k in enumerate(classes):
        if k in first:
            uf.union(first[k], i)
        else:
            first[k] = i
    for c in comps:
        if c.relation == "=":
            uf.union(c.first, c.second)
    return [uf.find(i) for i in range(n_items)]


def _heights(n_items: int, classes: Sequence[int], comps: Sequence[Comparison]
             ) -> dict[int, int] | None:
    """Height of each group (equal class or tied) in the strict quotient; None on a cycle."""
    root = _groups(n_items, classes, comps)
    groups = set(root)
    below: dict[int, set[int]] = {}
    for c in comps:
        if c.relation == ">":
            a, b = root[c.first], root[c.second]
            if a == b:
                return None
            below.setdefault(a, set()).add(b)
    height: dict[int, int] = {}
    state: dict[int, int] = {}

    def visit(g: int) -> bool:
        stack = [(g, iter(sorted(below.get(g, ()))))]
        state[g] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                height[node] = 1 + max((height[b] for b in below.get(node, ())), default=-1)
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return False
            elif state.get(nxt) is None:
                state[nxt] = 1
                stack.append((nxt, iter(sorted(below.get(nxt, ())))))
        return True

    for g in sorted(groups):
        if g not in state and not visit(g):
            return None
    return {i: height[root[i]] for i in range(n_items)}


def _separating_weights(vectors: Sequence[tuple[Fraction, ...]]
                        ) -> tuple[list[Fraction], list[Fraction]]:
    """Rational weights in ``[-1, 1]`` whose statistic is injective on ``vectors`` (distinct),
    checked exactly; the best of a few seeded draws by the smallest relative gap."""
    dim = len(vectors[0])
    rng = np.random.default_rng(0)
    best: tuple[float, list[Fraction], list[Fraction]] | None = None
    for _ in range(64):
        w = [Fraction(int(x), 1024) for x in rng.integers(-1024, 1025, size=dim)]
        vals = [sum((a * b for a, b in zip(w, v, strict=True)), Fraction(0)) for v in vectors]
        ordered = sorted(vals)
        gaps = [b - a for a, b in zip(ordered, ordered[1:], strict=False)]
        if gaps and min(gaps) == 0:
            continue
        scale = max([abs(float(v)) for v in vals] + [1.0])
        score = float(min(gaps)) / scale if gaps else 1.0
        if best is None or score > best[0]:
            best = (score, w, vals)
        if score > 1e-3:
            break
    if best is None:
        # moment weights w_i = t^i: <w, u - v> is a non-zero polynomial in t of degree < dim,
        # so fewer than dim * (pairs) integers t make any pair collide
        t = 2
        while True:
            w = [Fraction(t) ** i for i in range(dim)]
            vals = [sum((a * b for a, b in zip(w, v, strict=True)), Fraction(0))
                    for v in vectors]
            if len(set(vals)) == len(vals):
                return w, vals
            t += 1
    return best[1], best[2]


def _separating_weights_float(vectors: np.ndarray) -> tuple[list[Fraction], list[float]] | None:
    """Weights as :func:`_separating_weights` for float vectors (one row per class): the
    smallest gap between the classes' statistics must exceed ``1e-6`` of their scale, far
    above the float error of the vectors (about ``1e-12`` relative); None if no draw does."""
    n, dim = vectors.shape
    rng = np.random.default_rng(0)
    size = max(1.0, float(np.abs(vectors).max(initial=0.0)))
    best: tuple[float, list[Fraction], list[float]] | None = None
    for _ in range(64):
        ints: list[int] = np.asarray(rng.integers(-1024, 1025, size=dim)).tolist()
        vals = vectors @ (np.array(ints, dtype=np.float64) / 1024.0)
        ordered = np.sort(vals)
        gap = float(np.diff(ordered).min()) if n > 1 else 1.0
        score = gap / (size * max(1.0, sum(abs(x) for x in ints) / 1024.0))
        if score > 1e-6 and (best is None or score > best[0]):
            best = (score, [Fraction(int(x), 1024) for x in ints], [float(v) for v in vals])
        if best is not None and score > 1e-3:
            break
    return None if best is None else (best[1], best[2])


# ---------------------------------------------------------------------- the workflow


def _exact_policy(policy: Policy) -> Policy:
    """``policy`` with rational probabilities: its own, or its float rows read exactly and
    renormalised where they do not sum to exactly 1 (the nearest exact policy)."""
    try:
        policy.exact_probabilities()
        return policy
    except InvalidPolicyError:
        rows = np.empty(policy.probabilities.shape, dtype=object)
        for s, row in enumerate(policy.probabilities):
            exact = [Fraction(float(x)) for x in row]
            total = sum(exact, Fraction(0))
            rows[s] = [x / total for x in exact]
        return Policy(rows)


def exact_env(env: FiniteMDP) -> FiniteMDP:
    """``env`` if its probabilities are rational as given; else the nearest rational model:
    float rows read exactly and renormalised (floats that do not sum to exactly 1 have no
    exact meaning), with the same enabled actions."""
    if has_exact_model(env):
        return env

    def normalised(row: Any) -> list[Fraction]:
        exact = [Fraction(float(x)) for x in row]
        total = sum(exact, Fraction(0))
        return exact if total == 0 else [x / total for x in exact]

    dense = np.asarray(env.transitions)
    P = np.empty(dense.shape, dtype=object)
    for s in range(env.n_states):
        for a in range(env.n_actions):
            P[s, a] = normalised(dense[s, a])
    mu0 = np.array(normalised(env.initial), dtype=object)
    enabled = None if bool(np.all(env.enabled)) else env.enabled
    return FiniteMDP(P, mu0, enabled=enabled)


def exact_data(data: Comparisons, formalism: str) -> Comparisons:
    """The data with every policy rational (see :func:`_exact_policy`); trajectories are a
    named error (these formalisms compare policies)."""
    if data.policies is None:
        raise InvalidSpecificationError(
            f"fit({formalism}): these comparisons are between trajectories, but {formalism} "
            "orders policies (it is not a trajectory-level formalism); compare policies")
    # rational policies, converted once (their exact rows are then stored, not recomputed)
    exact = [Policy(_exact_policy(p).exact_probabilities()) for p in data.policies]
    return Comparisons(policies=exact,
                       pairs=[(c.first, c.second, c.relation) for c in data.comparisons],
                       demonstrations=data.demonstrations)


def _classes(env: FiniteMDP, policies: Sequence[Policy], inv: Invariance
             ) -> tuple[list[int], list[int]]:
    """Class index of every item (by the exact key), and one representative item per class."""
    index: dict[Hashable, int] = {}
    classes, reps = [], []
    for i, p in enumerate(policies):
        k = inv.key(env, p)
        if k not in index:
            index[k] = len(index)
            reps.append(i)
        classes.append(index[k])
    return classes, reps


def _cycle_break(n: int, classes: list[int], comps: list[Comparison]) -> Comparison:
    """A strict comparison whose removal the greedy soft fit makes: the last strict one that
    lies on a cycle of the quotient (found by deleting from the end)."""
    for k in range(len(comps) - 1, -1, -1):
        if comps[k].relation == ">" and _heights(n, classes, comps[:k] + comps[k + 1:]) \
                is not None:
            return comps[k]
    strict = [c for c in comps if c.relation == ">"]
    return strict[-1]


def fit_by_invariance(
    formalism: str,
    env: FiniteMDP,
    data: Comparisons,
    options: FitOptions,
    *,
    invariance: Invariance,
    build: Callable[[LinearStatistic, PiecewiseLinear], Any],
    method: str,
    description: str,
    real_valued: bool,
) -> Fit:
    """The shared workflow (see the module docstring).

    ``build(ell, g)`` returns the specification whose value (or ordering key) is
    ``g(ell(x_pi))`` for the invariant vector ``x_pi``. The fit is verified by compiling the
    specification (with ``exact=True`` when the options ask for it) and checking every
    satisfied comparison. Classes are decided in rationals: float policies (and, where an
    exact model is needed, environments) whose rows do not sum to exactly 1 are read as the
    nearest rational ones (:func:`exact_data`, :func:`exact_env`).
    With ``soft``, comparisons are dropped greedily (the last strict comparison on a cycle
    of the quotient, until none is left; the data's own strict cycles included): a small, not
    necessarily minimum, violated set.
    """
    start = time.perf_counter()
    data = exact_data(data, formalism)
    if not options.soft:  # a soft fit takes noisy data, strict cycles included
        data.check_consistent()
    policies = data.policies
    assert policies is not None
    exact_model: list[FiniteMDP] = []

    def model() -> FiniteMDP:
        if not exact_model:
            exact_model.append(exact_env(env))
        return exact_model[0]

    classes, reps = _classes(model() if invariance.needs_exact_env else env, policies,
                             invariance)
    comps = list(data.comparisons)
    n = data.n_items
    dropped: list[Comparison] = []
    heights = _heights(n, classes, comps)
    while heights is None:
        if not options.soft:
            same: dict[int, list[int]] = {}
            for i, k in enumerate(classes):
                same.setdefault(k, []).append(i)
            shared = [v for v in same.values() if len(v) > 1]
            fmap = invariance.feature_map
            if shared:
                listed = "; ".join(", ".join(str(i) for i in v) for v in shared)
                fmap = replace(fmap, statement=f"{fmap.statement} (in the data, items "
                               f"{listed} have the same {invariance.name[4:]})")
            cert = certificate_for(formalism, model(), data, fmap, description=description)
            if cert is None:  # pragma: no cover - the quotient has a strict cycle
                raise SolverError(f"fit({formalism}): the comparisons are inconsistent once "
                                  f"{invariance.name} is identified, but no certificate was "
                                  "found")
            raise not_expressible(formalism, cert)
        bad = _cycle_break(n, classes, comps)
        comps.remove(bad)
        dropped.append(bad)
        heights = _heights(n, classes, comps)
    # demonstrations: optimal among all policies, so their class must be on top
    top = max(heights.values(), default=0)
    root = _groups(n, classes, comps)
    for d in data.demonstrations:
        above = [c for c in comps if c.relation == ">" and root[c.second] == root[d]]
        if above:
            c = above[0]
            raise NotExpressibleError(
                f"no {description} specification explains the data: item {d} is demonstrated "
                f"optimal, but comparison {c} (row {c.row}) puts item {c.first} strictly "
                f"above an item that every {formalism} specification ties with it ("
                f"{invariance.name}, or a tie in the data)")
        for i in range(n):
            if root[i] == root[d]:
                heights[i] = top
    scale = Fraction(1) if options.margin is None else Fraction(options.margin)
    exact = bool(options.exact)
    found = None
    if not exact:
        found = _separating_weights_float(
            invariance.float_vectors(env, [policies[i] for i in reps]))
    if found is None:  # exact on request, or the classes are too close for floats
        exact = True
        weights, vals = _separating_weights(
            [invariance.exact_vector(model(), policies[i]) for i in reps])
    else:
        weights = found[0]
        # dyadic knots with short denominators, within 1/32 of the smallest gap of the floats
        fv = sorted(found[1])
        gap_f = min((b - a for a, b in zip(fv, fv[1:], strict=False)), default=1.0)
        den = 2 ** max(0, math.ceil(math.log2(16.0 / gap_f)))
        vals = [Fraction(round(v * den), den) for v in found[1]]
    order = sorted(range(len(reps)), key=lambda c: vals[c])
    knots = [vals[c] for c in order]
    values = [scale * heights[reps[c]] for c in order]
    gaps = [b - a for a, b in zip(knots, knots[1:], strict=False)]
    plateau = min(gaps) / 4 if gaps else Fraction(1)
    ell = LinearStatistic(weights)
    g = PiecewiseLinear(knots, values, plateau)
    spec = build(ell, g)
    violated = _verify(formalism, spec, model() if exact else env, policies, comps, dropped,
                       exact=exact)
    margin: Any = None
    if real_valued and any(c.relation == ">" for c in comps):
        margin = scale if exact else float(scale)
    return Fit(formalism, spec, margin, violated, method, exact,
               "data classes take values height * margin (height in the quotient order)"
               if real_valued else "", time.perf_counter() - start,
               {"weights": weights, "statistic": ell, "g": g, "classes": tuple(classes),
                "heights": tuple(heights[i] for i in range(n))})


def _verify(formalism: str, spec: Any, env: FiniteMDP, policies: Sequence[Policy],
            comps: Sequence[Comparison], dropped: Sequence[Comparison], *, exact: bool
            ) -> tuple[Comparison, ...]:
    """Compile (exactly, or in floats) and check every kept comparison; return the dropped
    ones it violates."""
    ev = spec.compile(env, exact=exact)
    used = sorted({x for c in (*comps, *dropped) for x in (c.first, c.second)})
    if not used:
        return ()
    ranks = ev.rank([policies[k] for k in used])
    rank = {k: int(r) for k, r in zip(used, ranks, strict=True)}

    def holds(c: Comparison) -> bool:
        if c.relation == ">":
            return rank[c.first] < rank[c.second]
        return rank[c.first] == rank[c.second]

    bad = [c for c in comps if not holds(c)]
    if bad:  # pragma: no cover - guaranteed by construction
        raise SolverError(f"fit({formalism}): the interpolating specification fails comparison "
                          f"{bad[0]} when checked {'exactly' if exact else 'in floating point'}")
    return tuple(c for c in dropped if not holds(c))
