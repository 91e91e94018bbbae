"""Fitting LTL: the smallest formula whose satisfaction probabilities order the data.

An LTL specification's value is the probability that the label word satisfies a formula
(docs/theory.md#def-ltl). It is not linear in any finite set of parameters, so the fitter is
a search (docs/learning.md#ltl): formulas over the propositions the environment's labels use,
by increasing size (nodes of the syntax tree), one per simplifier normal form, Dwyer et al.'s
specification patterns first at each size (:mod:`objspec.ltl.enumeration`). Each candidate
is compiled once and evaluated on all the data's policies together; the first whose values
satisfy every comparison (strict gaps beyond the evaluator's certified tie tolerance, ties
within it) is returned, verified in rational arithmetic with ``exact=True``.

A miss is a *bounded* answer (:class:`~objspec.errors.NoFitFoundError` with ``bound``, the
largest size searched completely): larger formulas were not tried. It is a proof only where
a lemma gives one, and then :class:`~objspec.errors.NotExpressibleError` carries a
certificate:

* L-LTL-det (docs/theory.md#l-ltl-det): in a deterministic environment a deterministic policy
  has LTL value 0 or 1, and every LTL value is a probability, so data that puts such a
  policy strictly between two others is impossible
  (:class:`~objspec.formalisms.fitting.ClassBoundCertificate`);
* every LTL value is the expectation of a function of the trajectory (LTL is expressed by
  FTR, docs/theory.md#embeddings): the FTR certificates on prefix probabilities or on L1's
  multi-affine features (:func:`objspec.formalisms._fit_returns.expectation_certificate`).

The specification class is passed in (temporal_logic.py imports this module).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from objspec.errors import (
    InvalidModelError,
    InvalidPolicyError,
    InvalidSpecificationError,
    NoFitFoundError,
)
from objspec.formalisms._fit_returns import expectation_certificate
from objspec.formalisms.fitting import (
    ClassBoundCertificate,
    Comparison,
    Comparisons,
    Fit,
    FitOptions,
    not_expressible,
)
from objspec.ltl.enumeration import dwyer_patterns, enumerate_formulas
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy
from objspec.structural import L_LTL_DET, deterministic_environment, deterministic_policy

__all__ = [
    "fit_temporal_logic",
    "used_propositions",
    "ltl_det_certificate",
    "DEFAULT_MAX_SIZE",
]

#: The largest formula size (syntax-tree nodes) searched when ``max_size=`` is not given.
DEFAULT_MAX_SIZE = 4

_RANGE = ("every LTL value is a probability in [0, 1], and by lemma L-LTL-det "
          "(docs/theory.md#l-ltl-det) a deterministic policy in a deterministic environment "
          "generates one trajectory, so its value is 0 or 1: nothing lies strictly below "
          "and strictly above it")


def used_propositions(env: FiniteMDP) -> tuple[str, ...]:
    """The propositions that hold somewhere in ``env``'s labels (sorted).

    A proposition of the alphabet that holds nowhere is false on every step: formulas
    over it are equivalent to formulas without it, so the search leaves it out.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> env = FiniteMDP(np.ones((2, 1, 2)) / 2, [1, 0], labels={1: ["goal"]},
    ...                 propositions=["goal", "lava"])
    >>> used_propositions(env)
    ('goal',)
    """
    labels = env.state_labels
    found: set[str] = set()
    if labels is not None:
        for ls in labels:
            found |= ls
    else:
        m = env.transition_matrix.tocoo()
        A = env.n_actions
        for row, nxt in zip(m.row.tolist(), m.col.tolist(), strict=True):
            found |= env.label(row // A, row % A, nxt)
    return tuple(sorted(found))


# ---------------------------------------------------------------------- L-LTL-det


#: Largest ``S * A * S`` on which the L-LTL-det certificate is sought (its exact check of
#: the environment's determinism reads the dense transition table).
LTL_DET_MAX_ENTRIES = 4_000_000


def _one_successor(env: FiniteMDP) -> bool:
    """A sparse pre-check of determinism: one initial state, one successor per enabled
    action (exactness is decided afterwards by the lemma)."""
    if int(np.count_nonzero(env.initial)) != 1:
        return False
    m = env.transition_matrix.copy()
    m.eliminate_zeros()
    counts = np.diff(m.indptr)
    enabled = np.asarray(env.enabled).ravel()
    return bool(np.all(counts[enabled] == 1))


def _strict_path(adj: dict[int, list[tuple[int, Comparison, bool]]], start: int
                 ) -> list[Comparison] | None:
    """The shortest walk from ``start`` along ``adj`` that takes a strict step, or None."""
    parent: dict[tuple[int, bool], tuple[tuple[int, bool], Comparison]] = {}
    frontier = deque([(start, False)])
    seen = {(start, False)}
    while frontier:
        node = frontier.popleft()
        if node[1]:
            out: list[Comparison] = []
            while node != (start, False):
                prev, c = parent[node]
                out.append(c)
                node = prev
            return out[::-1]
        for nxt, c, strict in adj.get(node[0], ()):
            state = (nxt, node[1] or strict)
            if state not in seen:
                seen.add(state)
                parent[state] = (node, c)
                frontier.append(state)
    return None


def ltl_det_certificate(env: FiniteMDP, data: Comparisons) -> ClassBoundCertificate | None:
    """A certificate by lemma L-LTL-det that no LTL formula explains ``data``, or None.

    In a deterministic environment, the value of a deterministic policy is 0 or 1, the ends
    of the range of every LTL value (a probability). Comparisons that lead, through ``>``
    and ``=`` steps, from some item strictly down to such a policy and from it strictly down
    to another item are impossible; three strictly ordered deterministic policies (the
    five-way witnesses N10-LTL and N13-LTL) are a special case.

    Examples
    --------
    N13-LTL (docs/theory.md#n13): on the deterministic E7, never switch, always switch and
    switch to s2 and stay have long-run fractions 1, 1/2 and 0 of time in s1.

    >>> from objspec.environments import E7
    >>> pols = [[[1, 0], [1, 0]], [[0, 1], [0, 1]], [[0, 1], [1, 0]]]
    >>> data = Comparisons(policies=pols, pairs=[(0, 1, ">"), (1, 2, ">")])
    >>> cert = ltl_det_certificate(E7(), data)
    >>> cert.pivot, cert.check()
    (1, None)
    """
    if data.policies is None or not data.strict or not _one_successor(env):
        return None
    if env.n_states * env.n_actions * env.n_states > LTL_DET_MAX_ENTRIES:
        return None  # the lemma's exact check reads the dense transition table
    try:
        if not deterministic_environment(env):
            return None
    except InvalidModelError:
        return None
    fwd: dict[int, list[tuple[int, Comparison, bool]]] = {}
    back: dict[int, list[tuple[int, Comparison, bool]]] = {}
    for c in data.comparisons:
        strict = c.relation == ">"
        fwd.setdefault(c.first, []).append((c.second, c, strict))
        back.setdefault(c.second, []).append((c.first, c, strict))
        if not strict:
            fwd.setdefault(c.second, []).append((c.first, c, False))
            back.setdefault(c.first, []).append((c.second, c, False))
    candidates = sorted({x for c in data.comparisons for x in (c.first, c.second)})
    for d in candidates:
        if d not in fwd or d not in back:
            continue
        try:
            if not deterministic_policy(data.policies[d]):
                continue
        except InvalidPolicyError:
            continue
        below = _strict_path(fwd, d)
        above = _strict_path(back, d)
        if below is None or above is None:
            continue
        chain = tuple(reversed(above)) + tuple(below)
        start = d
        for c in above:  # walk back up to the chain's first item
            start = c.first if start == c.second else c.second
        ids = tuple(dict.fromkeys(x for c in chain for x in (c.first, c.second)))
        cert = ClassBoundCertificate(
            "LTL", chain, d, start, ids, tuple(data.policies[k] for k in ids), env,
            L_LTL_DET, _RANGE, "LTL")
        cert.check()
        return cert
    return None


# ---------------------------------------------------------------------- the search


def _check_options(env: FiniteMDP, data: Comparisons, options: FitOptions
                   ) -> tuple[int, float | None, tuple[str, ...]]:
    max_size = options.take("max_size", DEFAULT_MAX_SIZE)
    time_limit = options.take("time_limit")
    props = options.take("propositions")
    if isinstance(max_size, bool) or not isinstance(max_size, int | np.integer) or max_size < 1:
        raise InvalidSpecificationError(
            f"fit(LTL): max_size={max_size!r} must be an integer >= 1 (the most syntax-tree "
            "nodes of a formula)")
    if time_limit is not None:
        try:
            tl = float(time_limit)
        except (TypeError, ValueError):
            raise InvalidSpecificationError(
                f"fit(LTL): time_limit={time_limit!r} is not a number of seconds") from None
        if not math.isfinite(tl) or tl <= 0:
            raise InvalidSpecificationError(
                f"fit(LTL): time_limit={time_limit!r} must be positive and finite")
        time_limit = tl
    if props is None:
        chosen = used_propositions(env)
    else:
        if isinstance(props, str):
            raise InvalidSpecificationError(
                "fit(LTL): propositions= must be a sequence of names, not one string")
        try:
            chosen = tuple(dict.fromkeys(props))
        except TypeError:
            raise InvalidSpecificationError(
                f"fit(LTL): propositions={props!r} is not a sequence of names") from None
        unknown = [p for p in chosen if p not in env.propositions]
        if unknown:
            raise InvalidSpecificationError(
                f"fit(LTL): proposition(s) {', '.join(map(repr, unknown))} are not in the "
                f"environment's alphabet ({', '.join(map(repr, env.propositions)) or 'none'})")
    if data.trajectories is not None:
        raise InvalidSpecificationError(
            "fit(LTL): these comparisons are between finite trajectories, and a finite "
            "trajectory does not determine whether an LTL formula holds (LTL is read on "
            "infinite label words, docs/theory.md#def-ltl); compare policies")
    if data.demonstrations:
        raise InvalidSpecificationError(
            "fit(LTL): demonstrations are not used by this fitter; give comparisons "
            "(pairs or a ranking)")
    return int(max_size), time_limit, chosen


def _gaps(values: Sequence[Any], data: Comparisons) -> tuple[list[Any], list[Any]]:
    strict = [values[i] - values[j] for i, j in data.strict]
    ties = [values[i] - values[j] for i, j in data.ties]
    return strict, ties


def _violated(values: Sequence[Any], data: Comparisons, tol: Any) -> tuple[Comparison, ...]:
    out = []
    for c in data.comparisons:
        g = values[c.first] - values[c.second]
        if (c.relation == ">" and g <= tol) or (c.relation == "=" and abs(g) > tol):
            out.append(c)
    return tuple(out)


def _exact_values(spec: Any, env: FiniteMDP, policies: Sequence[Policy], required: bool
                  ) -> list[Fraction] | None:
    """Exact satisfaction probabilities; when not ``required``, None where the evaluator
    would not decide exactly by default (a large product)."""
    ev = spec.compile(env, exact=True if required else None)
    if not ev.exact:
        return None
    return [ev.exact_value(p) for p in policies]


def _rational(policies: Sequence[Policy]) -> bool:
    try:
        for p in policies:
            p.exact_probabilities()
    except InvalidPolicyError:
        return False
    return True


def fit_temporal_logic(env: FiniteMDP, data: Comparisons, options: FitOptions,
                       ltl_class: type) -> Fit:
    """Fit an LTL formula (docs/learning.md#ltl); the specification class is passed in.

    Keywords: ``max_size=`` (default :data:`DEFAULT_MAX_SIZE` nodes), ``time_limit=``
    (seconds, default none), ``propositions=`` (the atoms to build formulas from; default
    :func:`used_propositions`). ``margin=``: the smallest accepted strict gap between
    satisfaction probabilities. ``soft=True``: the formula with the fewest violated
    comparisons up to the bound (the first perfect one ends the search). ``gamma`` is not
    used (LTL has no discount).
    """
    start = time.perf_counter()
    max_size, time_limit, props = _check_options(env, data, options)
    if not options.soft:
        data.check_consistent()
    policies = list(data.policies or ())
    # rational input: the winner is confirmed exactly even when exact=True was not asked
    confirm = bool(options.exact) or (env.is_exact and _rational(policies))
    det = None if options.soft else ltl_det_certificate(env, data)
    if det is not None:
        raise not_expressible("LTL", det)
    batch = np.stack([p.probabilities for p in policies])
    deadline = None if time_limit is None else start + time_limit
    timed_out = False

    def stop() -> bool:
        nonlocal timed_out
        if deadline is not None and time.perf_counter() > deadline:
            timed_out = True
        return timed_out

    want = options.margin
    patterns = {f for f in dwyer_patterns(props)}
    tried = 0
    current = 0
    best: tuple[int, Any, tuple[Comparison, ...], int] | None = None  # soft: fewest violated
    for size, formula in enumerate_formulas(props, max_size, stop=stop):
        current = size
        tried += 1
        spec = ltl_class(formula)
        val = spec.compile(env, exact=False).valuation(batch)
        values, tol = val.values, val.tie_tolerance
        violated = _violated(values, data, tol)
        if violated:
            if options.soft and (best is None or len(violated) < len(best[2])):
                best = (size, formula, violated, tried)
            continue
        strict, _ = _gaps(values, data)
        if want is not None and strict and float(min(strict)) < float(want):
            continue
        margin: Any = float(min(strict)) if strict else None
        exact = False
        ex = _exact_values(spec, env, policies, options.exact) if confirm else None
        if ex is not None:
            if _violated(ex, data, Fraction(0)):
                continue
            s_ex, _ = _gaps(ex, data)
            margin = min(s_ex) if s_ex else None
            if want is not None and margin is not None and margin < Fraction(want):
                continue
            exact = True
        return _result(spec, formula, size, margin, (), exact, tried, max_size, props,
                       formula in patterns, start, options)
    if timed_out:
        searched = max(current - 1, 0)
        why = (f"the time limit ({time_limit} s) stopped the search during size {current}"
               if current else f"the time limit ({time_limit} s) stopped the search")
    else:
        searched = max_size
        why = ""
    if best is not None:
        size, formula, _, _ = best
        spec = ltl_class(formula)
        kept: list[Any]
        ex = _exact_values(spec, env, policies, options.exact) if confirm else None
        exact = ex is not None
        if ex is not None:
            violated = _violated(ex, data, Fraction(0))
            kept = [ex[c.first] - ex[c.second] for c in data.comparisons
                    if c.relation == ">" and c not in violated]
        else:
            val = spec.compile(env, exact=False).valuation(batch)
            violated = _violated(val.values, data, val.tie_tolerance)
            kept = [float(val.values[c.first] - val.values[c.second])
                    for c in data.comparisons if c.relation == ">" and c not in violated]
        return _result(spec, formula, size, min(kept) if kept else None, violated, exact,
                       tried, searched, props, formula in patterns, start, options)
    cert: Any = None
    try:
        cert = expectation_certificate("LTL", env, data)
    except NoFitFoundError:
        cert = None
    if cert is not None:
        raise not_expressible("LTL", cert)
    names = "{" + ", ".join(props) + "}"
    margin_note = (f" with a margin of at least {want}" if want is not None else "")
    raise NoFitFoundError(
        f"fit(LTL): no LTL formula up to size {searched} over propositions {names} explains "
        f"the data{margin_note} ({tried} formulas tried{'; ' + why if why else ''}); larger "
        "formulas were not searched, and no certificate proves that none exists (pass "
        "max_size= to search further)", bound=searched)


def _result(spec: Any, formula: Any, size: int, margin: Any,
            violated: tuple[Comparison, ...], exact: bool, tried: int, max_size: int,
            props: tuple[str, ...], pattern: bool, start: float, options: FitOptions) -> Fit:
    how = "verified in rational arithmetic" if exact else "float values, certified tie tolerance"
    return Fit(
        "LTL", spec, margin, violated,
        f"smallest formula by size, Dwyer patterns first ({how})" + (
            ", soft (fewest violated comparisons)" if options.soft else ""),
        exact, "satisfaction probabilities in [0, 1]", time.perf_counter() - start,
        {"formula": str(formula), "size": size, "max_size": max_size, "candidates": tried,
         "pattern": pattern, "propositions": props})

