"""Markov-reward learning beyond policy comparisons: demonstrations, noisy data, trajectories.

Three extensions of the MR fitter (:func:`objspec.formalisms.markov_reward.fit_markov_reward`
dispatches to them; the specification class is passed in as ``make``, so this module does
not import the formalism that uses it):

* :func:`fit_demonstrations`: inverse RL from demonstrations, the linear programme of Ng and
  Russell (ICML 2000) -- rewards under which each demonstrated policy is optimal in every
  state, maximising the total per-state margin (minus an optional L1 penalty), the
  degenerate rewards excluded by requiring a positive total margin; combined with policy
  comparisons when both are given.
* :func:`fit_bradley_terry`: the maximum-likelihood reward of the Bradley--Terry model
  ``P(i > j) = sigmoid(beta (J_i - J_j))`` with an L2 penalty (a smooth convex programme),
  for noisy comparisons; comparisons it orders the wrong way are reported violated.
* :func:`trajectory_features` / :func:`trajectory_feature_map`: comparisons between finite
  trajectories, whose discounted return ``sum_t gamma^t R(s_t, a_t, s_{t+1})`` is linear in
  the reward restricted to the transitions the trajectories take (sparse features).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.optimize
import scipy.sparse as sp

from objspec.errors import (
    CertificateError,
    InvalidSpecificationError,
    NoFitFoundError,
    NotExpressibleError,
    NotTractableError,
    SolverError,
)
from objspec.formalisms._fit_linear import exact_occupancy_rows, occupancy_feature_map
from objspec.formalisms.fitting import (
    Comparison,
    Comparisons,
    FeatureMap,
    Fit,
    FitOptions,
    Trajectory,
    certificate_for,
    not_expressible,
)
from objspec.mdp.exact import exact_discount
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy

__all__ = [
    "MAX_DENSE_TRANSITION_REWARD",
    "fit_demonstrations",
    "fit_bradley_terry",
    "trajectory_keys",
    "trajectory_features",
    "trajectory_feature_map",
    "transition_reward",
]

#: Largest ``S * A * S`` for which a trajectory fit returns a dense ``[S, A, S]`` reward
#: (:class:`~objspec.formalisms.MarkovReward` stores rewards densely).
MAX_DENSE_TRANSITION_REWARD = 4_000_000


# ---------------------------------------------------------------------- trajectories

Key = tuple[int, ...]


def _with_next_state(trajectories: Sequence[Trajectory]) -> bool:
    return all(len(t.states) == len(t.actions) + 1 for t in trajectories)


def trajectory_keys(trajectories: Sequence[Trajectory]) -> list[Key]:
    """The transitions the trajectories take, sorted: ``(s, a, s')`` when every trajectory
    has its last state, else ``(s, a)`` (the reward then depends on ``(s, a)`` only).

    Examples
    --------
    >>> trajectory_keys([Trajectory((0, 1, 1), (1, 0)), Trajectory((0, 0), (0,))])
    [(0, 0, 0), (0, 1, 1), (1, 0, 1)]
    """
    full = _with_next_state(trajectories)
    keys: set[Key] = set()
    for tr in trajectories:
        for s, a, nxt in tr.steps():
            keys.add((s, a, nxt) if full else (s, a))  # type: ignore[arg-type]
    return sorted(keys)


def _trajectory_rows(trajectories: Sequence[Trajectory], keys: Sequence[Key],
                     discount: Any, full: bool) -> list[dict[int, Any]]:
    index = {k: n for n, k in enumerate(keys)}
    rows = []
    for tr in trajectories:
        row: dict[int, Any] = {}
        w = discount ** 0
        for s, a, nxt in tr.steps():
            key: Key = (s, a, nxt) if full else (s, a)  # type: ignore[assignment]
            if key not in index:
                raise CertificateError(
                    f"trajectory features: the transition {key} is not among those the "
                    "features list")
            col = index[key]
            row[col] = row.get(col, 0) + w
            w = w * discount
        rows.append(row)
    return rows


def trajectory_features(trajectories: Sequence[Trajectory], keys: Sequence[Key],
                        gamma: float) -> sp.csr_matrix:
    """Sparse ``[N, len(keys)]``: ``sum_t gamma^t [x_t = key]`` for each trajectory.

    Examples
    --------
    >>> tr = [Trajectory((0, 1, 1), (1, 0))]
    >>> trajectory_features(tr, trajectory_keys(tr), 0.5).toarray()
    array([[1. , 0.5]])
    """
    full = len(keys[0]) == 3 if keys else True
    rows = _trajectory_rows(trajectories, keys, float(gamma), full)
    data, ii, jj = [], [], []
    for i, row in enumerate(rows):
        for j, v in row.items():
            ii.append(i)
            jj.append(j)
            data.append(float(v))
    return sp.csr_matrix((data, (ii, jj)), shape=(len(trajectories), len(keys)))


def trajectory_feature_map(keys: Sequence[Key], gamma: Any) -> FeatureMap:
    """Exact discounted-count features of trajectories over the transitions ``keys``.

    Every Markov reward gives a trajectory the return ``sum_t gamma^t R(s_t, a_t,
    s_{t+1}) = <phi(xi), R restricted to keys>``; the columns are fixed by ``keys`` (the
    data's transitions), so every subset of the trajectories has the same feature vectors.

    Examples
    --------
    >>> tr = [Trajectory((0, 1, 1), (1, 0))]
    >>> [str(x) for x in trajectory_feature_map(trajectory_keys(tr), 0.5).compute(None, tr)[0]]
    ['1', '1/2']
    """
    g = exact_discount(gamma)
    keys = list(keys)
    full = len(keys[0]) == 3 if keys else True

    def compute(env: FiniteMDP | None, items: Sequence[Any]) -> list[list[Fraction]]:
        rows = _trajectory_rows(items, keys, g, full)
        return [[Fraction(row.get(j, 0)) for j in range(len(keys))] for row in rows]

    what = "R(s_t, a_t, s_(t+1))" if full else "R(s_t, a_t)"
    return FeatureMap(
        f"discounted transition counts of the trajectories (gamma = {g})",
        f"every Markov reward gives a trajectory the return sum_t gamma^t {what}, linear in "
        f"the reward of the transitions it takes (gamma = {g})",
        compute,
    )


def transition_reward(env: FiniteMDP, keys: Sequence[Key], values: Sequence[Any]) -> np.ndarray:
    """The reward array ``[S, A, S]`` (or ``[S, A]``) with ``values`` at ``keys``, 0 elsewhere.

    Raises
    ------
    NotTractableError
        If ``S * A * S`` exceeds :data:`MAX_DENSE_TRANSITION_REWARD` (the Markov reward is
        stored densely).

    Examples
    --------
    >>> import numpy as np
    >>> env = FiniteMDP(np.ones((1, 2, 1)), [1.0])
    >>> transition_reward(env, [(0, 1, 0)], [2.0])
    array([[[0.],
            [2.]]])
    """
    S, A = env.n_states, env.n_actions
    full = len(keys[0]) == 3 if keys else False
    shape = (S, A, S) if full else (S, A)
    size = math.prod(shape)
    if full and size > MAX_DENSE_TRANSITION_REWARD:
        raise NotTractableError(
            f"trajectory fit: the fitted reward depends on (s, a, s') and would be a dense "
            f"[S, A, S] = {list(shape)} array ({size} entries, above "
            f"{MAX_DENSE_TRANSITION_REWARD}); give trajectories without their last state for "
            "an [S, A] reward, or a smaller environment")
    exact = any(isinstance(v, Fraction) for v in values)
    out = np.zeros(shape, dtype=object if exact else np.float64)
    if exact:
        out[...] = Fraction(0)
    for k, v in zip(keys, values, strict=True):
        out[k] = v
    return out


# ---------------------------------------------------------------------- demonstrations


def _policy_matrix(pi: np.ndarray) -> sp.csr_matrix:
    """``Pi[s, s * A + a] = pi(a|s)``: ``[S, S * A]``."""
    S, A = pi.shape
    rows = np.repeat(np.arange(S), A)
    cols = np.arange(S * A)
    return sp.csr_matrix((pi.ravel(), (rows, cols)), shape=(S, S * A))


def fit_demonstrations(
    env: FiniteMDP,
    data: Comparisons,
    options: FitOptions,
    gamma: Any,
    make: Callable[[Any], Any],
    *,
    l1: float = 0.0,
) -> Fit:
    r"""Inverse RL: a reward ``r[S, A]`` under which each demonstration is optimal.

    Ng and Russell's linear programme (ICML 2000), for possibly stochastic demonstrations
    and together with the data's policy comparisons. A demonstrated policy ``pi`` is
    optimal in every state under ``r`` iff its values satisfy the Bellman optimality
    conditions ``Q^pi(s, a) <= V^pi(s)`` for every state and enabled action, linear in
    ``r`` (``V^pi = (I - gamma P_pi)^{-1} r_pi``, kept as LP variables with the sparse
    equations ``V - gamma P_pi V = r_pi``; ``Q^pi(s, a) = r(s, a) + gamma P(s, a) V``).
    Optimal in every state implies optimal from the initial distribution among all
    stationary policies (the claim ``demonstrations=`` makes); it is the stronger claim
    Ng and Russell fit.

    The programme maximises ``z - l1 * sum |r(s, a)|`` over ``-1 <= r <= 1`` where ``z`` is
    at most each demonstration's total margin ``sum_s min_a (V^pi(s) - Q^pi(s, a))`` (over
    the actions outside ``pi``'s support, at states with such actions) and at most every
    strict comparison's value gap; ties are equalities. Without comparisons and with
    ``l1 = 0`` this is Ng and Russell's objective. **Degenerate rewards are excluded** by
    requiring ``z > 0``: some non-demonstrated action must be strictly worse somewhere
    (the all-zero reward, and every reward under which all policies are optimal, have
    ``z = 0``).

    Raises
    ------
    NotExpressibleError
        The strict comparisons alone admit no Markov reward (exact certificate attached),
        or the demonstrations play every enabled action in every state (then only rewards
        under which every policy is optimal make them optimal everywhere: a proof, no
        certificate object).
    NoFitFoundError
        The LP finds no reward with ``z > 0`` satisfying comparisons and demonstrations
        together (a floating-point conclusion, not an exact certificate).

    Examples
    --------
    >>> import numpy as np
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
    >>> env = FiniteMDP(P, [1.0, 0.0])
    >>> data = Comparisons(policies=[[[0, 1], [0, 1]]], demonstrations=[0])
    >>> result = fit_demonstrations(env, data, FitOptions(gamma=0.5), 0.5, lambda r: r)
    >>> result.margin  # the optimal total margin: 2 per state (|r| <= 1, gamma = 1/2)
    4.0
    >>> bool(result.spec[1, 1] > result.spec[1, 0])
    True
    """
    start = time.perf_counter()
    if data.policies is None:
        raise InvalidSpecificationError(
            "fit(MR): demonstrations are policies; these comparisons are between trajectories")
    data.check_consistent()
    if options.soft:
        raise InvalidSpecificationError(
            "fit(MR): soft=True is not available with demonstrations (their optimality "
            "conditions are hard constraints); drop soft or the demonstrations")
    if not (math.isfinite(l1) and l1 >= 0):
        raise InvalidSpecificationError(f"fit(MR): l1={l1!r} must be finite and >= 0")
    S, A = env.n_states, env.n_actions
    SA = S * A
    g = float(gamma)
    enabled = np.asarray(env.enabled, dtype=bool).ravel()
    P = sp.csr_matrix(env.transition_matrix)  # [S * A, S]
    demos = [data.policies[k] for k in data.demonstrations]
    alts = [(np.asarray(p.probabilities) == 0).ravel() & enabled for p in demos]
    if not any(a.any() for a in alts):
        raise NotExpressibleError(
            "no Markov reward explains the demonstrations without being degenerate: they play "
            "every enabled action in every state, so they are optimal in every state only if "
            "every action's Q-value equals the state's value everywhere, i.e. every policy is "
            "optimal (Ng and Russell's degenerate solution)")
    # variable layout: r (SA) | V_k (S each) | u_k (one per state with alternatives) | z
    #                  | abs (SA, only with l1 > 0)
    n_d = len(demos)
    alt_states = [np.flatnonzero(a.reshape(S, A).any(axis=1)) for a in alts]
    off_v = SA
    off_u = off_v + n_d * S
    n_u = sum(len(x) for x in alt_states)
    off_z = off_u + n_u
    off_abs = off_z + 1
    n_var = off_abs + (SA if l1 > 0 else 0)
    eq_blocks, eq_rhs, ub_blocks, ub_rhs = [], [], [], []

    def block(parts: dict[int, sp.spmatrix], rows: int) -> sp.csr_matrix:
        cols = []
        pos = 0
        for off in sorted(parts):
            if off > pos:
                cols.append(sp.csr_matrix((rows, off - pos)))
            cols.append(sp.csr_matrix(parts[off]))
            pos = off + parts[off].shape[1]
        if pos < n_var:
            cols.append(sp.csr_matrix((rows, n_var - pos)))
        return sp.hstack(cols).tocsr()

    E = sp.csr_matrix((np.ones(SA), (np.arange(SA), np.repeat(np.arange(S), A))),
                      shape=(SA, S))  # (s, a) -> s
    keep = sp.diags(enabled.astype(np.float64)).tocsr()
    u_pos = off_u
    for k, p in enumerate(demos):
        pi = np.asarray(p.probabilities)
        Pi = _policy_matrix(pi)
        P_pi = (Pi @ P).tocsr()
        # V - gamma P_pi V - Pi r = 0
        eq_blocks.append(block({0: -Pi, off_v + k * S: sp.identity(S) - g * P_pi}, S))
        eq_rhs.append(np.zeros(S))
        # Bellman: r(s,a) + gamma P(s,a) V - V(s) <= 0 on enabled pairs
        gap = keep @ block({0: sp.identity(SA), off_v + k * S: g * P - E}, SA)  # Q - V
        ub_blocks.append(gap)
        ub_rhs.append(np.zeros(SA))
        # u_s + Q(s, a) - V(s) <= 0 for alternative actions a at state s
        states = alt_states[k]
        slot = {int(s): u_pos + n for n, s in enumerate(states)}
        idx = np.flatnonzero(alts[k])
        rows_u = sp.csr_matrix((np.ones(len(idx)), (np.arange(len(idx)),
                                                     [slot[int(i // A)] for i in idx])),
                               shape=(len(idx), n_var))
        ub_blocks.append((gap[idx] + rows_u).tocsr())
        ub_rhs.append(np.zeros(len(idx)))
        # z - sum_s u_s <= 0
        row = np.zeros(n_var)
        row[off_z] = 1.0
        row[[slot[int(s)] for s in states]] = -1.0
        ub_blocks.append(sp.csr_matrix(row))
        ub_rhs.append(np.zeros(1))
        u_pos += len(states)
    occ = None
    if data.comparisons:
        from objspec.formalisms._fit_linear import occupancy_features

        occ = occupancy_features(env, data.policies, g)
    for c in data.comparisons:
        d = occ[c.first] - occ[c.second]  # type: ignore[index]
        row = np.zeros(n_var)
        row[:SA] = -d
        if c.relation == ">":
            row[off_z] = 1.0  # z - <d, r> <= 0
            ub_blocks.append(sp.csr_matrix(row))
            ub_rhs.append(np.zeros(1))
        else:
            eq_blocks.append(sp.csr_matrix(row))
            eq_rhs.append(np.zeros(1))
    if l1 > 0:
        eye = sp.identity(SA)
        ub_blocks.append(block({0: eye, off_abs: -eye}, SA))
        ub_blocks.append(block({0: -eye, off_abs: -eye}, SA))
        ub_rhs += [np.zeros(SA), np.zeros(SA)]
    cost = np.zeros(n_var)
    cost[off_z] = -1.0
    if l1 > 0:
        cost[off_abs:] = l1
    bounds = ([(-1.0, 1.0) if e else (0.0, 0.0) for e in enabled] + [(None, None)] * (n_d * S)
              + [(0.0, None)] * n_u + [(None, None)] + [(0.0, 1.0)] * (n_var - off_abs))
    res = scipy.optimize.linprog(
        cost, A_ub=sp.vstack(ub_blocks).tocsr(), b_ub=np.concatenate(ub_rhs),
        A_eq=sp.vstack(eq_blocks).tocsr(), b_eq=np.concatenate(eq_rhs), bounds=bounds,
        method="highs")
    if res.status != 0:
        raise SolverError(f"inverse RL LP: HiGHS stopped with status {res.status}: "
                          f"{res.message}")
    r = np.asarray(res.x[:SA])
    z = float(res.x[off_z])
    scale = 1.0 / (1.0 - g)
    if z <= 1e-9 * scale:
        if data.strict:
            pairs_only = data.subset(data.comparisons)  # without the demonstrations
            cert = certificate_for("MR", env, pairs_only, occupancy_feature_map(gamma),
                                   description=f"Markov reward (gamma = {exact_discount(gamma)})")
            if cert is not None:
                raise not_expressible("MR", cert)
        why = ("together with the comparisons " if data.comparisons else "")
        raise NoFitFoundError(
            f"fit(MR): no reward makes the demonstrations optimal in every state {why}with a "
            f"positive total margin (the LP's optimum is z = {z + 0.0:.3g}): only degenerate "
            "rewards, under which the alternatives tie with the demonstrated actions, remain "
            "(a floating-point LP conclusion, not an exact certificate)", bound=z)
    coefficients: Any = r
    margin: Any = z
    exact = False
    if options.exact:
        coefficients, margin = _exact_demonstrations(env, data, demos, alts, r, gamma)
        exact = True
    spec = make(np.asarray(coefficients).reshape(S, A))
    per_state = [np.asarray(res.x[off_u:off_z])]
    return Fit("MR", spec, margin, (), "inverse RL: Ng and Russell's LP (every demonstration "
               "optimal in every state, total margin maximised" +
               (f", L1 penalty {l1}" if l1 else "") + ", HiGHS)" +
               ("; with the comparisons' gaps" if data.comparisons else ""),
               exact, "max |r(s, a)| <= 1; margin: the smaller of the demonstrations' total "
               "per-state margins and the strict comparisons' gaps",
               time.perf_counter() - start,
               {"coefficients": coefficients, "state_margins": per_state[0],
                "objective": float(-res.fun)})


def _exact_demonstrations(env: FiniteMDP, data: Comparisons, demos: Sequence[Policy],
                          alts: Sequence[np.ndarray], r: np.ndarray,
                          gamma: Any) -> tuple[np.ndarray, Fraction]:
    """Round ``r`` to rationals and verify every condition exactly; the exact margin."""
    from objspec.mdp.exact import exact_values

    S, A = env.n_states, env.n_actions
    g = exact_discount(gamma)
    tau = env.exact_transitions()
    enabled = np.asarray(env.enabled, dtype=bool)
    rows = exact_occupancy_rows(env, data.policies, g) if data.comparisons else []  # type: ignore
    for den in (10**4, 10**6, 10**9, 10**12):
        cand = np.array([Fraction(float(x)).limit_denominator(den) for x in r],
                        dtype=object).reshape(S, A)
        ok = True
        margins: list[Fraction] = []
        for p, alt in zip(demos, alts, strict=True):
            V = exact_values(env, p, cand, g)
            total = Fraction(0)
            alt2 = alt.reshape(S, A)
            for s in range(S):
                worst: Fraction | None = None
                for a in range(A):
                    if not enabled[s, a]:
                        continue
                    q = cand[s, a] + g * sum((tau[s, a, t] * V[t] for t in range(S)),
                                             Fraction(0))
                    gap = V[s] - q
                    if gap < 0:
                        ok = False
                    if alt2[s, a]:
                        worst = gap if worst is None else min(worst, gap)
                if worst is not None:
                    total += worst
            margins.append(total)
        if not ok or min(margins) <= 0:
            continue
        gaps = []
        for c in data.comparisons:
            gap = sum(((x - y) * v for x, y, v in zip(rows[c.first], rows[c.second],
                                                       cand.ravel(), strict=True)), Fraction(0))
            if (c.relation == ">" and gap <= 0) or (c.relation == "=" and gap != 0):
                ok = False
            if c.relation == ">":
                gaps.append(gap)
        if ok:
            return cand, min(margins + gaps)
    raise SolverError(
        "fit(MR): the inverse RL LP's reward could not be verified in rational arithmetic "
        "(rounding breaks an optimality condition that holds with equality, as for "
        "stochastic demonstrations); try exact=False")


# ---------------------------------------------------------------------- Bradley-Terry


def _strict_and_ties(data: Comparisons) -> tuple[list[Comparison], list[Comparison]]:
    return ([c for c in data.comparisons if c.relation == ">"],
            [c for c in data.comparisons if c.relation == "="])


def fit_bradley_terry(
    features: Any,
    data: Comparisons,
    make: Callable[[np.ndarray], Any],
    *,
    beta: float = 1.0,
    l2: float = 1e-2,
    formalism: str = "MR",
) -> Fit:
    r"""Maximum-likelihood reward under the Bradley--Terry model, L2-regularised.

    ``P(i > j) = sigmoid(beta (J_i - J_j))`` with ``J = phi r`` linear in the unknown
    reward; the fit minimises the negative log-likelihood ``sum_(i > j) log(1 +
    exp(-beta (J_i - J_j)))`` plus ``l2 / 2 |r|^2``; a tie counts as half an observation
    each way (``-(log P(i > j) + log P(j > i)) / 2``). The objective is smooth and strictly
    convex (``l2 > 0``), so L-BFGS finds its unique minimiser. Strict comparisons the
    fitted reward orders the wrong way (or not at all) are reported in ``violated``; ties
    are modelled, never exactly satisfied in floating point, and not reported (their gaps
    are in ``details["tie_gaps"]``). Noisy data may contradict itself: a strict cycle is
    not an error here (the likelihood weighs the contradicting comparisons), unlike in the
    max-margin fits.

    Examples
    --------
    >>> import numpy as np
    >>> data = Comparisons(policies=[[[1.0]], [[1.0]], [[1.0]]], pairs=[(0, 1, ">"), (1, 2, ">")])
    >>> fit = fit_bradley_terry(np.eye(3), data, lambda r: r)
    >>> bool(fit.spec[0] > fit.spec[1] > fit.spec[2]), fit.violated
    (True, ())
    """
    start = time.perf_counter()
    for name, v in (("beta", beta), ("l2", l2)):
        try:
            fv = float(v)
        except (TypeError, ValueError):
            raise InvalidSpecificationError(
                f"fit({formalism}): {name}={v!r} is not a number") from None
        if not (math.isfinite(fv) and fv > 0):
            raise InvalidSpecificationError(
                f"fit({formalism}): {name}={v!r} must be positive and finite")
    beta, l2 = float(beta), float(l2)
    strict, ties = _strict_and_ties(data)
    F = sp.csr_matrix(features, dtype=np.float64)

    def diffs(cs: list[Comparison]) -> sp.csr_matrix:
        if not cs:
            return sp.csr_matrix((0, F.shape[1]))
        i = np.array([c.first for c in cs])
        j = np.array([c.second for c in cs])
        return (F[i] - F[j]).tocsr()

    Ds, Dt = diffs(strict), diffs(ties)
    from scipy.special import expit

    def objective(r: np.ndarray) -> tuple[float, np.ndarray]:
        xs = beta * (Ds @ r)
        xt = beta * (Dt @ r)
        val = float(np.logaddexp(0.0, -xs).sum())
        val += 0.5 * float((np.logaddexp(0.0, -xt) + np.logaddexp(0.0, xt)).sum())
        val += 0.5 * l2 * float(r @ r)
        grad = -beta * (Ds.T @ expit(-xs)) + 0.5 * beta * (Dt.T @ (expit(xt) - expit(-xt)))
        return val, np.asarray(grad + l2 * r)

    res = scipy.optimize.minimize(objective, np.zeros(F.shape[1]), jac=True,
                                  method="L-BFGS-B", options={"maxiter": 10_000})
    if not np.all(np.isfinite(res.x)):
        raise SolverError(f"fit({formalism}): Bradley-Terry: L-BFGS diverged ({res.message})")
    r = np.asarray(res.x)
    gaps = np.asarray(Ds @ r)
    tol = 1e-12 * max(1.0, float(np.abs(gaps).max(initial=0.0)))
    violated = tuple(c for c, gp in zip(strict, gaps, strict=True) if gp <= tol)
    kept = [float(gp) for gp in gaps if gp > tol]
    probs = expit(beta * gaps)
    return Fit(formalism, make(r), min(kept) if kept else None, violated,
               f"Bradley-Terry maximum likelihood (beta = {beta}, L2 weight {l2}, L-BFGS)",
               False, "unnormalised: the maximum-likelihood reward (its scale is set by beta "
               "and the L2 weight)", time.perf_counter() - start,
               {"coefficients": r, "negative_log_likelihood": float(res.fun),
                "probabilities": probs, "tie_gaps": np.asarray(Dt @ r),
                "converged": bool(res.success)})
