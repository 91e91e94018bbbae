"""Benchmark: concave FOMR by Frank-Wolfe (``spec.optimise``) vs a cvxpy solve of the same
problem over the occupancy polytope.

Run as ``python benchmarks/bench_optimise_occupancy.py`` (``--states N`` to change the
size, default 2,000; needs cvxpy with the Clarabel solver for the comparison). Not a test.

Model: a random MDP with ``N`` states, 2 actions and 5 successors per state-action
(``objspec.environments.random_mdp``, seed 0), discount 0.9. Objective (FOMR, concave):
``f(m) = -(<W1, m> - c1)^2 - (<W2, m> - c2)^2 - 0.1 (<W3, m> - c3)^2`` with random
``[S, A, S]`` weights ``W_i`` and targets ``c_i`` placed inside the achievable range, so
the optimum is a stochastic policy. objspec stops on a certified Frank-Wolfe duality gap
of 1e-6; cvxpy (Clarabel, default tolerances ~1e-8) maximises the same function of the
state-action occupancy ``m(s, a)`` under ``sum_a m(s, a) - gamma P^T m = mu0, m >= 0``.
Both answers are re-evaluated by the FOMR evaluator (cvxpy's through the policy
``m(s, a) / sum_b m(s, b)``). The same problem is also solved as OMORL (``f`` of the three
expected returns), where a Frank-Wolfe step needs no dense ``[S, A, S]`` gradient.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from objspec.environments import random_mdp
from objspec.formalisms import FOMR, OMORL
from objspec.mdp import optimal_values
from objspec.mdp.occupancy_polytope import policy_from_occupancy, polytope_constraints


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--states", type=int, default=2000)
    args = parser.parse_args()
    S, A, gamma = args.states, 2, 0.9
    env = random_mdp(S, A, 5, seed=0)
    rng = np.random.default_rng(1)
    tau = env.transitions
    Ws = [rng.uniform(-1, 1, size=(S, A, S)) * (tau > 0) for _ in range(3)]
    w_sa = [np.asarray((W * tau).sum(axis=2)).ravel() for W in Ws]
    cs = []
    for w in w_sa:  # a target strictly inside the achievable interval
        hi = float(env.initial @ optimal_values(env, w.reshape(S, A), gamma).values)
        lo = -float(env.initial @ optimal_values(env, -w.reshape(S, A), gamma).values)
        cs.append(lo + 0.3 * (hi - lo))
    weights = (1.0, 1.0, 0.1)

    def f(m: np.ndarray) -> float:
        m = np.asarray(m, dtype=float)
        return -sum(k * (float(np.vdot(W, m)) - c) ** 2
                    for k, W, c in zip(weights, Ws, cs, strict=True))

    def gradient(m: np.ndarray) -> np.ndarray:
        m = np.asarray(m, dtype=float)
        out = np.zeros_like(m)
        for k, W, c in zip(weights, Ws, cs, strict=True):
            out -= 2 * k * (float(np.vdot(W, m)) - c) * W
        return out

    spec = FOMR(f, gamma, concave=True, gradient=gradient)
    t0 = time.perf_counter()
    opt = spec.optimise(env)
    t_fw = time.perf_counter() - t0
    print(f"MDP: {S} states, {A} actions, 5 successors, gamma {gamma}")
    print(f"objspec FOMR Frank-Wolfe:  {t_fw:8.2f} s  value {float(opt.value):.10f}  "
          f"guarantee {opt.guarantee}, bound {float(opt.bound):.2e}  ({opt.evidence})")
    # the same problem as OMORL: f of the three expected returns <W_i, m>
    omorl = OMORL(np.stack([w.reshape(S, A) for w in w_sa]),
                  lambda v: -sum(k * (float(x) - c) ** 2
                                 for k, x, c in zip(weights, v, cs, strict=True)),
                  gamma, concave=True,
                  gradient=lambda v: np.array([-2 * k * (float(x) - c)
                                               for k, x, c in zip(weights, v, cs, strict=True)]))
    t0 = time.perf_counter()
    opt2 = omorl.optimise(env)
    t_om = time.perf_counter() - t0
    print(f"objspec OMORL Frank-Wolfe: {t_om:8.2f} s  value {float(opt2.value):.10f}  "
          f"guarantee {opt2.guarantee}, bound {float(opt2.bound):.2e}  ({opt2.evidence})")
    try:
        import cvxpy as cp
    except ImportError:
        print("cvxpy not installed: no comparison")
        return
    t0 = time.perf_counter()
    A_eq, b = polytope_constraints(env, gamma)
    m = cp.Variable(S * A)
    obj = -sum(k * cp.square(w @ m - c) for k, w, c in zip(weights, w_sa, cs, strict=True))
    prob = cp.Problem(cp.Maximize(obj), [A_eq @ m == b, m >= 0])
    prob.solve(solver=cp.CLARABEL)
    t_cvx = time.perf_counter() - t0
    pol = policy_from_occupancy(env, np.asarray(m.value).reshape(S, A))
    val = float(spec.compile(env).values([pol])[0])
    print(f"cvxpy (Clarabel):          {t_cvx:8.2f} s  value {val:.10f}  (solver objective "
          f"{float(prob.value):.10f}, no certificate checked)")
    print(f"cvxpy time / FOMR Frank-Wolfe time {t_cvx / t_fw:.2f}; / OMORL Frank-Wolfe time "
          f"{t_cvx / t_om:.2f}; value difference (FOMR - cvxpy) {float(opt.value) - val:+.2e}")


if __name__ == "__main__":
    main()
