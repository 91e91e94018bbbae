"""Benchmark: concave FOMR and OMORL by Frank-Wolfe (``spec.optimise``) vs a cvxpy solve of
the same problem over the occupancy polytope, in one run at several sizes.

Run as ``python benchmarks/bench_optimise_occupancy.py`` (``--states 100,500,2000`` by
default; ``--tol`` the reference's gap tolerance, default 1e-6; needs cvxpy with the
Clarabel solver for the comparison). Not a test.

Model: a random MDP with ``N`` states, 2 actions and 5 successors per state-action
(``objspec.environments.random_mdp``, seed 0, sparse), discount 0.9. Objective (FOMR,
concave): ``f(m) = -(<W1, m> - c1)^2 - (<W2, m> - c2)^2 - 0.1 (<W3, m> - c3)^2`` with
random weights ``W_i`` on the support of ``tau`` (sparse ``(S*A, S)`` matrices) and
targets ``c_i`` placed inside the achievable range, so the optimum is a stochastic policy.
The FOMR specification uses ``sparse=True``: ``f`` and its gradient receive the sparse
``(S*A, S)`` measure, memory ``O(nnz)``. objspec stops on a certified Frank-Wolfe duality
gap of 1e-6; cvxpy (Clarabel, ``tol_gap_abs = tol_gap_rel = --tol``) maximises the same
function of the state-action occupancy ``m(s, a)`` under
``sum_a m(s, a) - gamma P^T m = mu0, m >= 0``. Both answers are re-evaluated by the FOMR
evaluator (cvxpy's through the policy ``m(s, a) / sum_b m(s, b)``). The same problem is
also solved as OMORL (``f`` of the three expected returns). A 5-state instance is solved
first, untimed (imports, solver set-up). Times are wall-clock on a shared machine: compare
the ratios, measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from objspec.environments import random_mdp
from objspec.formalisms import FOMR, OMORL
from objspec.mdp import optimal_values
from objspec.mdp.occupancy_polytope import policy_from_occupancy, polytope_constraints


def run(S: int, tol: float) -> None:
    A, gamma = 2, 0.9
    env = random_mdp(S, A, 5, seed=0)
    rng = np.random.default_rng(1)
    tau = sp.csr_array(env.transition_matrix)
    Ws = []
    for _ in range(3):  # random weights on tau's support, in its (S*A, S) layout
        W = tau.copy()
        W.data = rng.uniform(-1, 1, size=W.nnz)
        Ws.append(W)
    w_sa = [np.asarray(W.multiply(tau).sum(axis=1)).ravel() for W in Ws]  # <W, m> = <w, x>
    cs = []
    for w in w_sa:  # a target strictly inside the achievable interval
        hi = float(env.initial @ optimal_values(env, w.reshape(S, A), gamma).values)
        lo = -float(env.initial @ optimal_values(env, -w.reshape(S, A), gamma).values)
        cs.append(lo + 0.3 * (hi - lo))
    weights = (1.0, 1.0, 0.1)

    def f(m: Any) -> float:  # m: the sparse (S*A, S) measure (or its dense exact form)
        return -sum(k * (float(W.multiply(m).sum()) - c) ** 2
                    for k, W, c in zip(weights, Ws, cs, strict=True))

    def gradient(m: Any) -> Any:
        out = sp.csr_array((S * A, S))
        for k, W, c in zip(weights, Ws, cs, strict=True):
            out = out - 2 * k * (float(W.multiply(m).sum()) - c) * W
        return out

    spec = FOMR(f, gamma, concave=True, gradient=gradient, sparse=True)
    t0 = time.perf_counter()
    opt = spec.optimise(env)
    t_fw = time.perf_counter() - t0
    print(f"MDP: {S} states, {A} actions, 5 successors, gamma {gamma}")
    print(f"  objspec FOMR Frank-Wolfe:  {t_fw:8.3f} s  value {float(opt.value):.10g}  "
          f"guarantee {opt.guarantee}, bound {float(opt.bound):.2e}  ({opt.evidence})")
    omorl = OMORL(np.stack([w.reshape(S, A) for w in w_sa]),
                  lambda v: -sum(k * (float(x) - c) ** 2
                                 for k, x, c in zip(weights, v, cs, strict=True)),
                  gamma, concave=True,
                  gradient=lambda v: np.array([-2 * k * (float(x) - c)
                                               for k, x, c in zip(weights, v, cs, strict=True)]))
    t0 = time.perf_counter()
    opt2 = omorl.optimise(env)
    t_om = time.perf_counter() - t0
    print(f"  objspec OMORL Frank-Wolfe: {t_om:8.3f} s  value {float(opt2.value):.10g}  "
          f"guarantee {opt2.guarantee}, bound {float(opt2.bound):.2e}  ({opt2.evidence})")
    try:
        import cvxpy as cp
    except ImportError:
        print("  cvxpy not installed: no comparison")
        return
    t0 = time.perf_counter()
    A_eq, b = polytope_constraints(env, gamma)
    m = cp.Variable(S * A)
    obj = -sum(k * cp.square(w @ m - c) for k, w, c in zip(weights, w_sa, cs, strict=True))
    prob = cp.Problem(cp.Maximize(obj), [A_eq @ m == b, m >= 0])
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=tol, tol_gap_rel=tol)
    t_cvx = time.perf_counter() - t0
    pol = policy_from_occupancy(env, np.asarray(m.value).reshape(S, A))
    val = float(spec.compile(env).values([pol])[0])
    print(f"  cvxpy (Clarabel, tol {tol:g}): {t_cvx:6.3f} s  value {val:.10g}  (solver "
          f"objective {float(prob.value):.10g}, no certificate checked)")
    print(f"  cvxpy time / FOMR time {t_cvx / t_fw:.2f}x; / OMORL time {t_cvx / t_om:.2f}x; "
          f"value difference (FOMR - cvxpy) {float(opt.value) - val:+.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--states", default="100,500,2000",
                        help="comma-separated model sizes")
    parser.add_argument("--tol", type=float, default=1e-6,
                        help="Clarabel's gap tolerances (objspec certifies a gap of 1e-6)")
    args = parser.parse_args()
    with contextlib.redirect_stdout(io.StringIO()):  # untimed warm-up: imports, set-up
        run(5, args.tol)
    for n in args.states.split(","):
        if n.strip():
            run(int(n), args.tol)


if __name__ == "__main__":
    main()
