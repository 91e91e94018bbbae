r"""Optimisers of the occupancy-level formalisms ONMR, OMORL, FOMR, GOMORL and OMO.

Every one works on the discounted occupancy polytope ``M_gamma`` of the stationary
policies (:mod:`objspec.mdp.occupancy_polytope`; docs/theory.md#policies), where all five
formalisms live (Subramani et al., ICLR 2024, arXiv 2310.11840, Section 3: their objectives
depend on a policy only through ``m_gamma^pi``).

* **ONMR** (:func:`optimise_onmr`). ``J_R(M_gamma) = [V_min, V_max]`` is an interval (a
  linear image of a convex set), found by two control solves (``R`` and ``-R``). ``f`` is
  maximised on it: exactly with sympy when ``f`` is a rational function given symbolically
  (a formula of :mod:`objspec.expressions`, or a callable that accepts a sympy symbol):
  candidates are the endpoints and the real roots of the numerator of ``f'``; otherwise by
  a grid of 2049 points refined by Brent's method (heuristic). The maximiser ``t`` is
  attained by the policy of the occupancy measure ``(1 - c) m_min + c m_max`` with
  ``c = (t - V_min) / (V_max - V_min)`` (exact in rationals with ``exact=True``).
  Guarantee: ``exact`` (exact endpoints by policy iteration verified in rationals, rational
  maximiser), ``certified`` (bound from the certified float endpoints, or from rounding an
  irrational maximiser), else ``heuristic``. Cost: two control solves plus the scalar
  search.
* **OMORL and FOMR** (:func:`optimise_function`). For concave ``f`` (declared with
  ``concave=True``, or proven: a symbolic OMORL ``f`` of degree at most 2 with a negative
  semidefinite Hessian) with a known gradient (``gradient=``, or symbolic), blended
  conditional gradients (Frank-Wolfe with corrective steps on the active vertices;
  :func:`objspec.mdp.occupancy_polytope.frank_wolfe`) whose linear oracle is discounted
  optimal control (value iteration warm-started from the previous call, with MacQueen's
  certified bounds); the duality gap is a certified bound (Jaggi 2013; Braun, Pokutta, Tu
  and Wright 2019). FOMR with ``sparse=True`` passes ``f`` and ``gradient`` the
  ``(S*A, S)`` sparse measure (memory ``O(nnz)`` per call); the dense form builds an
  ``[S, A, S]`` array per call, so it suits small models only. Without a gradient a
  finite-difference one is used and the result is ``heuristic``. Non-concave ``f``:
  coordinate ascent from the vertices optimal for each objective and from the generic
  starts (``local``).
* **GOMORL and OMO** (:func:`optimise_ordering`). Lexicographic orders (with signs, no
  tolerance), ``by_key`` and pull-backs through linear maps (recognised symbolically), and
  their reversals become a sequence of control problems with successive elimination of
  non-optimal actions (:func:`objspec.mdp.occupancy_polytope.lexicographic_actions`),
  verified in rationals (``exact``) on models of at most :data:`EXACT_STATES` states with
  rational probabilities, or with ``exact=True``; on float models the answer is tested
  by coordinate ascent (``local``). Thresholded lexicographic and constrained GOMORL
  orders: a sequence of linear programs over occupancy measures (HiGHS) gives a start
  that competes with the generic search (``local`` or ``heuristic``: float constraints at
  a threshold are not verified). Other orders: the generic search.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np

from objspec.errors import InvalidSpecificationError
from objspec.formalisms._support import expected_reward, expected_reward_batch
from objspec.formalisms.optimisation import (
    Guarantee,
    OptimiseOptions,
    Optimiser,
    Optimum,
    coordinate_ascent,
    generic_optimise,
)
from objspec.mdp.control import optimal_values
from objspec.mdp.evaluation import state_action_occupancy
from objspec.mdp.exact import exact_discount, exact_state_visitation, has_exact_model
from objspec.mdp.model import FiniteMDP
from objspec.mdp.occupancy_polytope import (
    exact_expected_rewards,
    exact_policy_iteration,
    frank_wolfe,
    lexicographic_actions,
    policy_from_occupancy,
    sparse_occupancy_measure,
)
from objspec.mdp.policy import Policy

__all__ = [
    "symbolic_function",
    "optimise_onmr",
    "optimise_function",
    "optimise_ordering",
    "ONMR_OPTIMISER",
    "OMORL_OPTIMISER",
    "FOMR_OPTIMISER",
    "ORDERING_OPTIMISER",
    "EXACT_STATES",
    "check_flag",
    "GRID_POINTS",
    "fomr_chain_gradient",
]

#: Largest model whose lexicographic optimum is verified in rationals without ``exact=True``.
EXACT_STATES = 40
#: Points of the grid of the scalar search for a non-symbolic ONMR ``f``.
GRID_POINTS = 2049


def check_flag(value: Any, what: str) -> bool:
    """``value`` if it is a bool, else :class:`InvalidSpecificationError`.

    Examples
    --------
    >>> check_flag(True, "concave")
    True
    """
    if not isinstance(value, bool | np.bool_):
        raise InvalidSpecificationError(f"{what} must be True or False; got {value!r}")
    return bool(value)


# ---------------------------------------------------------------- symbolic functions


def _tree_to_sympy(node: Any, symbols: list[Any]) -> Any:
    """The sympy expression of a syntax tree of :mod:`objspec.expressions`."""
    import sympy

    from objspec import expressions as ex

    if isinstance(node, ex._Num):
        return sympy.Rational(node.value.numerator, node.value.denominator)
    if isinstance(node, ex._Var):
        return symbols[node.slot]
    if isinstance(node, ex._Neg):
        return -_tree_to_sympy(node.operand, symbols)
    if isinstance(node, ex._Chain):
        out = _tree_to_sympy(node.first, symbols)
        for op, operand in node.rest:
            other = _tree_to_sympy(operand, symbols)
            out = (out + other if op == "+" else out - other if op == "-" else
                   out * other if op == "*" else out / other)
        return out
    if isinstance(node, ex._Pow):
        return _tree_to_sympy(node.base, symbols) ** _tree_to_sympy(node.exponent, symbols)
    if isinstance(node, ex._Call):
        fns = {"exp": sympy.exp, "log": sympy.log, "sqrt": sympy.sqrt, "abs": sympy.Abs,
               "min": sympy.Min, "max": sympy.Max, "sin": sympy.sin, "cos": sympy.cos,
               "tanh": sympy.tanh}
        return fns[node.name](*[_tree_to_sympy(a, symbols) for a in node.args])
    raise TypeError(f"unknown expression node {node!r}")


def symbolic_function(f: Any, n: int, *, vector: bool) -> tuple[Any, list[Any]] | None:
    """``(expr, symbols)``: ``f`` as a sympy expression in ``n`` real symbols, or None.

    A formula of :mod:`objspec.expressions` is converted from its syntax tree; another
    callable is called with a sympy symbol (``vector=False``) or an object array of ``n``
    symbols, and accepted only if it returns a sympy expression in those symbols that
    agrees with ``f`` at three rational points.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> symbolic_function(lambda x: -(x - F(1, 2)) ** 2, 1, vector=False)[0]
    -(x0 - 1/2)**2
    >>> symbolic_function(lambda v: max(v), 2, vector=True) is None
    True
    """
    import sympy

    symbols = [sympy.Symbol(f"x{i}", real=True) for i in range(n)]
    expression = getattr(f, "expression", None)
    tree = getattr(expression, "_tree", None)
    if tree is not None and getattr(expression, "n_args", None) == n:
        try:
            return _tree_to_sympy(tree, symbols), symbols
        except (TypeError, KeyError):
            return None
    try:
        arg: Any = symbols[0] if not vector else np.array(symbols, dtype=object)
        expr = f(arg)
        expr = sympy.sympify(expr) if not isinstance(expr, sympy.Basic) else expr
        if not isinstance(expr, sympy.Expr) or not expr.free_symbols <= set(symbols):
            return None
        for trial in ((Fraction(1, 3),), (Fraction(-2, 7),), (Fraction(5, 4),)):
            point = [trial[0] + Fraction(i, 11) for i in range(n)]
            want = f(point[0] if not vector else np.array(point, dtype=object))
            got = expr.subs(dict(zip(symbols, [sympy.Rational(p.numerator, p.denominator)
                                               for p in point], strict=True)))
            if abs(float(got) - float(want)) > 1e-9 * max(1.0, abs(float(want))):
                return None
    except Exception:  # noqa: BLE001 - any failure means "not symbolic"
        return None
    return expr, symbols


def _rational(x: Any) -> Any:
    import sympy

    q = Fraction(x)
    return sympy.Rational(q.numerator, q.denominator)


def _to_fraction(x: Any) -> Fraction:
    import sympy

    if isinstance(x, sympy.Rational):
        return Fraction(int(x.p), int(x.q))
    return Fraction(x)


# ---------------------------------------------------------------- ONMR


def _symbolic_maximum(expr: Any, x: Any, lo: Any, hi: Any) -> tuple[Any, Any] | None:
    """``(argmax, max)`` of the rational function ``expr`` on ``[lo, hi]`` (sympy
    numbers), or None when ``expr`` is not a rational function or has a pole there."""
    import sympy

    if not expr.is_rational_function(x):
        return None
    num, den = sympy.fraction(sympy.together(expr))
    if den.has(x) and any(lo <= r <= hi for r in sympy.Poly(den, x).real_roots()):
        return None
    candidates = [lo, hi]
    dnum = sympy.fraction(sympy.together(sympy.diff(expr, x)))[0]
    if dnum.has(x):
        candidates += [r for r in sympy.Poly(dnum, x).real_roots() if lo < r < hi]
    values = [expr.subs(x, c) for c in candidates]
    best = max(range(len(candidates)), key=lambda i: sympy.N(values[i], 60))
    return candidates[best], values[best]


def _grid_maximum(f: Any, lo: float, hi: float) -> float:
    """Argmax of ``f`` on ``[lo, hi]`` by a grid of :data:`GRID_POINTS` points and Brent's
    method around the best one (tolerance ``1e-12`` relative)."""
    from scipy.optimize import minimize_scalar

    if hi <= lo:
        return lo
    grid = np.linspace(lo, hi, GRID_POINTS)
    vals = np.array([float(f(float(x))) for x in grid])
    i = int(np.argmax(vals))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, GRID_POINTS - 1)]
    res = minimize_scalar(lambda x: -float(f(float(x))), bounds=(a, b), method="bounded",
                          options={"xatol": 1e-12 * max(1.0, abs(hi - lo))})
    if res.success and -float(res.fun) > vals[i]:
        return float(res.x)
    return float(grid[i])


def optimise_onmr(spec: Any, env: FiniteMDP, options: OptimiseOptions) -> Optimum:
    """Optimise an ONMR specification: interval of expected returns, scalar maximisation
    of ``f`` on it, and a mixed policy attaining the maximiser (module docstring)."""
    import sympy

    gamma = spec.gamma
    r = expected_reward(env, spec.reward)
    sol = optimal_values(env, np.stack([r, -r]), float(gamma), tol=1e-10, batched=True)
    acts = [np.asarray(sol.policies[1]), np.asarray(sol.policies[0])]  # min, max
    mu0 = np.asarray(env.initial, dtype=np.float64)
    sym = symbolic_function(spec.f, 1, vector=False)
    eye = np.eye(env.n_actions)
    if options.exact:
        g = exact_discount(gamma)
        r_exact = exact_expected_rewards(env, spec.reward)
        ends = []
        for k, sign in ((0, -1), (1, 1)):
            a_k, V, _ = exact_policy_iteration(env, sign * r_exact, g, env.enabled, acts[k])
            acts[k] = a_k
            ends.append(sign * sum((p * v for p, v in zip(env.exact_initial(), V, strict=True)),
                                   Fraction(0)))
        v0, v1 = ends
        lo_out, hi_out = v0, v1
        occ = [np.asarray(exact_state_visitation(env, eye[a], g))[:, None] * eye[a].astype(
            int).astype(object) for a in acts]
    else:
        occ = [np.asarray(state_action_occupancy(env, eye[a], float(gamma))) for a in acts]
        v0, v1 = (float(np.sum(o * r)) for o in occ)
        # certified outer interval of the achievable returns
        lo_out = -(float(mu0 @ sol.values[1]) + float(sol.error_bounds[1]))
        hi_out = float(mu0 @ sol.values[0]) + float(sol.error_bounds[0])
        lo_out, hi_out = min(lo_out, v0), max(hi_out, v1)
    guarantee: Guarantee = "heuristic"
    bound: Any = None
    method = "interval by two control solves + grid/Brent scalar search + occupancy mixture"
    evidence = f"achievable expected returns [{float(v0):.12g}, {float(v1):.12g}]"
    t: Any
    if sym is not None:
        expr, (x,) = sym
        found = None
        try:
            found = _symbolic_maximum(expr, x, _rational(lo_out), _rational(hi_out))
        except (TypeError, ValueError, sympy.PolynomialError, NotImplementedError):
            found = None
        if found is not None:
            arg, top = found
            t_exact = arg
            if options.exact and not t_exact.is_Rational:
                t_exact = _rational(Fraction(str(sympy.N(arg, 40))).limit_denominator(10**30))
            t = (_to_fraction(t_exact) if options.exact and t_exact.is_Rational
                 else float(sympy.N(t_exact, 30)))
            t = min(max(t, v0), v1)
            method = ("interval by two control solves + exact maximisation of the rational "
                      "function f (sympy) + occupancy mixture")
            achieved = expr.subs(x, _rational(t))
            gap = sympy.N(top - achieved, 30)
            if options.exact and gap == 0:
                guarantee, bound = "exact", 0
            else:
                guarantee = "certified"
                slope = abs(float(sympy.N(sympy.diff(expr, x).subs(x, _rational(t)), 15)))
                # float mode: the policy's return is within ~1e-11 relative of t
                slack = 0.0 if options.exact else (
                    1e-11 * max(1.0, abs(float(t))) * max(1.0, slope)
                    + 1e-12 * max(1.0, abs(float(sympy.N(top)))))
                bound = max(float(gap) + slack, 0.0)
            evidence += f"; max of f on the certified interval = {sympy.N(top, 15)}"
        else:
            t = _grid_maximum(spec.f, float(v0), float(v1))
    else:
        t = _grid_maximum(spec.f, float(v0), float(v1))
    if guarantee == "heuristic":
        evidence += f"; f searched on a grid of {GRID_POINTS} points refined by Brent's method"
        if options.exact:
            t = Fraction(t)
            t = min(max(t, v0), v1)
    if v1 == v0:
        c: Any = 0
    else:
        c = (t - v0) / (v1 - v0)
    m = (1 - c) * occ[0] + c * occ[1]
    policy = policy_from_occupancy(env, m, fallback=eye[acts[1]])
    value = spec.f(t)
    return Optimum(policy, value, guarantee, method, bound, None, evidence, 2)


ONMR_OPTIMISER = Optimiser(
    optimise_onmr,
    "interval of expected returns (two control solves), maximise f on it, occupancy mixture",
    "exact",
    "two discounted control solves (polynomial: Puterman 1994, Section 6.9) plus a scalar "
    "maximisation; exact for rational f (sympy real roots), heuristic grid search "
    "otherwise (arXiv 2310.11840, ONMR: J depends on pi only through <R, m>)",
)


# ---------------------------------------------------------------- OMORL and FOMR


def _hessian_nsd(expr: Any, symbols: list[Any]) -> bool:
    """Whether ``expr`` is a polynomial of degree at most 2 with a negative
    semidefinite (constant) Hessian: then it is concave."""
    import sympy

    try:
        poly = sympy.Poly(expr, *symbols)
    except sympy.PolynomialError:
        return False
    if poly.total_degree() > 2:
        return False
    H = sympy.hessian(expr, symbols)
    return bool(H.is_negative_semidefinite)


def concavity_of(f: Any, k: int, *, concave: bool = False, gradient: Any = None
                 ) -> tuple[bool, Any]:
    """``(concave, gradient)`` of a function of a ``k``-vector: a declared gradient is kept
    as it is; otherwise both are read from ``f``'s symbolic form where it has one (a
    quadratic with a negative semidefinite Hessian is concave; the gradient is the
    lambdified symbolic one), and a declared ``concave`` stays True.

    Examples
    --------
    >>> c, g = concavity_of(lambda v: -v[0] ** 2 - v[1] ** 2, 2)
    >>> c, [float(x) for x in g([1.0, -2.0])]
    (True, [-2.0, 4.0])
    """
    if gradient is not None:
        return concave, gradient
    sym = symbolic_function(f, k, vector=True)
    if sym is None:
        return concave, None
    import sympy

    expr, symbols = sym
    lam = sympy.lambdify([symbols], [sympy.diff(expr, s) for s in symbols], "numpy")

    def grad(v: Any) -> np.ndarray:
        return np.asarray(lam(list(np.asarray(v, dtype=np.float64))), dtype=np.float64)

    return concave or _hessian_nsd(expr, symbols), grad


def _finite_difference(F: Any, x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for i in range(len(x)):
        h = 1e-6 * max(1.0, abs(float(x[i])))
        e = np.zeros_like(x)
        e[i] = h
        out[i] = (float(F(x + e)) - float(F(x - e))) / (2 * h)
    return out


def _checked_vector(value: Any, n: int, what: str) -> np.ndarray:
    """``value`` as a finite float vector of length ``n``, else
    :class:`InvalidSpecificationError` naming ``what``."""
    try:
        out = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidSpecificationError(f"{what} must return {n} reals; got {value!r}") from exc
    if out.shape != (n,):
        raise InvalidSpecificationError(f"{what} must return {n} reals; got shape {out.shape}")
    if not np.isfinite(out).all():
        raise InvalidSpecificationError(f"{what} returned a value that is not finite")
    return out


def fomr_chain_gradient(env: FiniteMDP, g: Any, rows: np.ndarray, cols: np.ndarray,
                        probs: np.ndarray) -> np.ndarray:
    """The gradient of ``x -> f(m(x))`` with ``m(s, a, s') = x(s, a) tau(s'|s, a)``, from
    the gradient ``g`` of ``f`` with respect to ``m``:
    ``d f / d x(s, a) = sum_s' g(s, a, s') tau(s'|s, a)`` (flattened ``[S*A]``).

    ``g`` is a scipy.sparse matrix ``(S*A, S)`` or an array shaped ``(S*A, S)`` or
    ``[S, A, S]``; only its entries on ``tau``'s support (``rows``, ``cols``, ``probs``:
    the non-zeros of ``env.transition_matrix``) are read. Anything else, or a non-finite
    result, is an :class:`InvalidSpecificationError`.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> env = FiniteMDP(np.full((2, 1, 2), 0.5), [1.0, 0.0])
    >>> tau = env.transition_matrix
    >>> rows = np.repeat(np.arange(2), np.diff(tau.indptr))
    >>> fomr_chain_gradient(env, np.array([[1.0, 3.0], [0.0, 2.0]]), rows, tau.indices,
    ...                     tau.data).tolist()
    [2.0, 1.0]
    """
    import scipy.sparse as sp

    S, A = env.n_states, env.n_actions
    if sp.issparse(g):
        if g.shape != (S * A, S):
            raise InvalidSpecificationError(
                f"a sparse FOMR gradient must be shaped ({S * A}, {S}); got {g.shape}")
        out = np.asarray(sp.csr_array(g).multiply(env.transition_matrix).sum(axis=1),
                         dtype=np.float64).ravel()
    else:
        try:
            arr = np.asarray(g, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidSpecificationError(
                f"the FOMR gradient must return an array shaped [{S}, {A}, {S}] or "
                f"({S * A}, {S}); got {type(g).__name__}") from exc
        if arr.shape not in ((S, A, S), (S * A, S)):
            raise InvalidSpecificationError(
                f"the FOMR gradient must return an array shaped [{S}, {A}, {S}] or "
                f"({S * A}, {S}); got shape {arr.shape}")
        arr = arr.reshape(S * A, S)
        out = np.bincount(rows, weights=arr[rows, cols] * probs,
                          minlength=S * A).astype(np.float64)
    if not np.isfinite(out).all():
        raise InvalidSpecificationError("the FOMR gradient returned a value that is not finite")
    return out


def optimise_function(spec: Any, env: FiniteMDP, options: OptimiseOptions) -> Optimum:
    """Optimise an OMORL or FOMR specification (module docstring)."""
    S, A = env.n_states, env.n_actions
    gamma = float(spec.gamma)
    omorl = hasattr(spec, "rewards")
    gradient = getattr(spec, "gradient", None)
    concave = bool(getattr(spec, "concave", False))
    starts: list[np.ndarray] = []
    if omorl:
        r = expected_reward_batch(env, spec.rewards)  # [k, S, A]
        Rmat = r.reshape(r.shape[0], S * A)
        sym_grad = None
        if gradient is None:
            concave, sym_grad = concavity_of(spec.f, r.shape[0], concave=concave)

        def F(x: np.ndarray) -> float:
            return float(spec.f(Rmat @ x))

        def grad_v(v: np.ndarray) -> np.ndarray:
            if gradient is not None:
                return _checked_vector(gradient(v), len(v), "OMORL gradient")
            assert sym_grad is not None
            return np.asarray(sym_grad(v), dtype=np.float64)

        exact_grad = gradient is not None or sym_grad is not None

        def G(x: np.ndarray) -> np.ndarray:
            v = Rmat @ x
            gv = grad_v(v) if exact_grad else _finite_difference(
                lambda u: float(spec.f(u)), v)
            return np.asarray(Rmat.T @ gv)

        sol = optimal_values(env, np.concatenate([r, -r]), gamma, batched=True)
        starts = [np.asarray(p) for p in sol.policies]
    else:
        tau = env.transition_matrix  # the measure lives on tau's non-zeros
        rows = np.repeat(np.arange(S * A), np.diff(tau.indptr))
        cols, probs = tau.indices, tau.data
        sparse_form = bool(getattr(spec, "sparse", False))

        def measure(x: np.ndarray) -> Any:
            if sparse_form:  # O(nnz): the (S*A, S) sparse form
                return sparse_occupancy_measure(env, x)
            m = np.zeros((S * A, S))
            m[rows, cols] = x[rows] * probs
            return m.reshape(S, A, S)

        def F(x: np.ndarray) -> float:
            return float(spec.f(measure(x)))

        exact_grad = gradient is not None

        def G(x: np.ndarray) -> np.ndarray:
            if gradient is not None:
                return fomr_chain_gradient(env, gradient(measure(x)), rows, cols, probs)
            return _finite_difference(F, x)

        uniform = np.where(env.enabled, 1.0, 0.0)
        uniform /= uniform.sum(axis=1, keepdims=True)
        x_u = np.asarray(state_action_occupancy(env, uniform, gamma)).ravel()
        starts = [np.asarray(optimal_values(env, G(x_u).reshape(S, A), gamma).policies)]
    starts.append(np.array([int(np.flatnonzero(env.enabled[s])[0]) for s in range(S)]))
    ev = spec.compile(env)
    if concave and (exact_grad or omorl or S * A <= 256):
        # FOMR: the vertex optimal for the gradient at the uniform policy's occupancy is
        # the one start (each start costs a policy evaluation)
        res = frank_wolfe(env, gamma, F, G, starts if omorl else starts[:1], tol=1e-6,
                          expired=options.expired)
        policy = policy_from_occupancy(env, res.occupancy, fallback=np.eye(A)[starts[0]])
        value = float(ev.values([policy])[0])
        bound = res.gap + max(0.0, res.value - value)
        if exact_grad:
            return Optimum(policy, value, "certified", "blended conditional gradients "
                           "(Frank-Wolfe) over the occupancy polytope, optimal control as "
                           "linear oracle", bound,
                           None, f"Frank-Wolfe duality gap {res.gap:.3g} "
                           f"({'converged' if res.converged else 'stopped'} after "
                           f"{res.iterations} iterations; {len(res.vertices)} active "
                           "vertices)", res.iterations)
        return Optimum(policy, value, "heuristic", "blended Frank-Wolfe with a "
                       "finite-difference gradient", None, None,
                       f"approximate duality gap {res.gap:.3g} (the gradient is not exact, "
                       "so nothing is certified)", res.iterations)
    found = generic_optimise(spec, env, options)
    best, converged, iterations = np.asarray(found.policy.probabilities), \
        found.guarantee == "local", found.iterations
    for a in starts:
        if options.expired():
            break
        pi, sweeps, conv = coordinate_ascent(spec, env, np.eye(A)[a], options)
        iterations += sweeps
        if ev.compare(Policy(pi), Policy(best)) > 0:
            best, converged = pi, conv
    test = ("no move of one state's action distribution towards an action by a step of "
            "1, 1/2, 1/4, 1/8 or 1/16 improves it") if converged else None
    return Optimum(Policy(best), None, "local" if converged else "heuristic",
                   "coordinate ascent from the occupancy vertices of each objective and "
                   "the generic starts", None, test,
                   ("f declared concave, but without a gradient on a model this large: "
                    if concave else "f not known to be concave: ") + found.evidence,
                   iterations)


_FW_COMPLEXITY = (
    "concave f: Frank-Wolfe, gap O(1/t) (Jaggi 2013), linear for strongly concave f on the "
    "polytope (Lacoste-Julien and Jaggi 2015), each step one discounted control solve; "
    "general f: NP-hard to optimise even for quadratic f (non-concave quadratic "
    "programming over a polytope), local search (arXiv 2310.11840, occupancy formalisms)")

OMORL_OPTIMISER = Optimiser(
    optimise_function, "Frank-Wolfe over occupancy measures (concave f); coordinate ascent "
    "from vertices otherwise", "certified", _FW_COMPLEXITY)
FOMR_OPTIMISER = OMORL_OPTIMISER


# ---------------------------------------------------------------- GOMORL and OMO


Row = dict[int, Fraction]  # a sparse coefficient vector: component -> coefficient


def _linear_map(fn: Any, n: int, shape: tuple[int, ...]) -> list[Row] | None:
    """Sparse coefficient rows when ``fn`` (called with an object array of ``n`` sympy
    symbols shaped ``shape``) returns a real or tuple of reals, each linear in them (an
    affine constant does not change an order); else None."""
    import sympy

    if n > 4096:
        return None
    symbols = [sympy.Symbol(f"y{i}", real=True) for i in range(n)]
    index = {sym: i for i, sym in enumerate(symbols)}
    try:
        out = fn(np.array(symbols, dtype=object).reshape(shape))
        if isinstance(out, np.ndarray):
            out = list(out.ravel())  # an array of statistics (a reshape, say): in order
        items = list(out) if isinstance(out, tuple | list) else [out]
        rows: list[Row] = []
        for item in items:
            e = sympy.expand(sympy.sympify(item))
            if not e.free_symbols <= set(symbols):
                return None
            poly = sympy.Poly(e, *sorted(e.free_symbols, key=lambda z: index[z]))
            if e.free_symbols and poly.total_degree() > 1:
                return None
            row: Row = {}
            for sym in e.free_symbols:
                c = poly.coeff_monomial(sym)
                row[index[sym]] = (_to_fraction(c) if c.is_Rational else Fraction(float(c)))
            rows.append(row)
        return rows
    except Exception:  # noqa: BLE001 - any failure means "not recognised"
        return None


def _lexicographic_rows(order: Any, n: int, shape: tuple[int, ...]) -> list[Row] | None:
    """The rows (sparse coefficient vectors over the ``n`` compared components) of a
    lexicographic order equal to ``order``, or None if it is not recognised."""
    from objspec import orders

    if isinstance(order, orders.Lexicographic):
        if order.tolerance != 0:
            return None
        signs = order.signs or (1,) * n
        if len(signs) != n:
            return None
        return [{i: Fraction(signs[i])} for i in range(n)]
    if isinstance(order, orders.Reversed):
        inner = _lexicographic_rows(order.order, n, shape)
        return None if inner is None else [{i: -c for i, c in row.items()} for row in inner]
    if isinstance(order, orders.ByKey):
        return _linear_map(order.key, n, shape)
    if isinstance(order, orders.Pullback):
        lin = _linear_map(order.fn, n, shape)
        if lin is None:
            return None
        inner = _lexicographic_rows(order.order, len(lin), (len(lin),))
        if inner is None:
            return None
        out: list[Row] = []
        for row in inner:
            combined: Row = {}
            for j, cj in row.items():
                for i, ci in lin[j].items():
                    combined[i] = combined.get(i, Fraction(0)) + cj * ci
            out.append(combined)
        return out
    return None


def _lp_stages(spec: Any, env: FiniteMDP) -> list[tuple[np.ndarray, Any]] | None:
    """The LP stages of a thresholded lexicographic or constrained GOMORL order."""
    from objspec import orders

    order = spec.order
    r = expected_reward_batch(env, spec.rewards)  # [k, S, A]
    k = r.shape[0]
    if isinstance(order, orders.ThresholdedLexicographic):
        caps = list(order.thresholds) + [None] * (k - len(order.thresholds))
        return [(r[i], caps[i]) for i in range(k)]
    if isinstance(order, orders.Constrained):
        # each constraint up to its bound (feasibility first), then the objective
        return ([(r[i], b) for i, b in order.constraints]
                + [(r[order.objective], None)])
    return None


def _ordering_search(spec: Any, env: FiniteMDP, options: OptimiseOptions,
                     gomorl: bool) -> Optimum:
    """Orders not recognised as lexicographic in linear statistics: the generic search,
    and for thresholded lexicographic and constrained GOMORL orders also a sequence of
    linear programs (:func:`objspec.mdp.occupancy_polytope.sequential_lp`) whose policy,
    improved by coordinate ascent, competes; the best under the order is returned."""
    from objspec.mdp.occupancy_polytope import sequential_lp

    found = generic_optimise(spec, env, options)
    evidence = "order not recognised as lexicographic in linear statistics: " + found.evidence
    stages = _lp_stages(spec, env) if gomorl else None
    if stages is not None:
        m = sequential_lp(env, float(spec.gamma), stages)
        if m is not None:
            start = policy_from_occupancy(env, m).probabilities
            pi, sweeps, converged = coordinate_ascent(spec, env, start, options)
            ev = spec.compile(env)
            evidence += f"; a sequence of {len(stages)} linear programs gave another start"
            if ev.compare(Policy(pi), found.policy) > 0:
                test = ("no move of one state's action distribution towards an action by a "
                        "step of 1, 1/2, 1/4, 1/8 or 1/16 improves it") if converged else None
                return Optimum(Policy(pi), None, "local" if converged else "heuristic",
                               "sequence of linear programs over occupancy measures + "
                               "coordinate ascent", None, test,
                               evidence + " (the better one)", found.iterations + sweeps)
    return Optimum(found.policy, None, found.guarantee, found.method, None, found.test,
                   evidence, found.iterations)


def _by_concave_key(spec: Any, env: FiniteMDP, options: OptimiseOptions
                    ) -> Optimum | None:
    """An order by a real key (:func:`objspec.orders.by_key`) has the key's maximisers as
    its maximal elements, so it is optimised as OMORL (GOMORL) or FOMR (OMO) with that key
    as ``f``; used when that optimiser certifies its answer (a key declared concave with
    its gradient, or concave by its symbolic form for GOMORL). None otherwise."""
    as_function = spec.key_function()
    if as_function is None:
        return None
    if hasattr(as_function, "rewards"):  # OMORL: only when concavity is established
        concave, grad = concavity_of(as_function.f, int(as_function.rewards.shape[0]),
                                     concave=as_function.concave,
                                     gradient=as_function.gradient)
        if not (concave and grad is not None):
            return None
        if as_function.gradient is None:  # carry what was read, not to read it again
            as_function = type(as_function)(as_function.rewards, as_function.f,
                                            as_function.gamma, concave=True, gradient=grad)
    try:
        found = optimise_function(as_function, env, options)
    except InvalidSpecificationError:  # a key that is not real-valued (a tuple, say)
        return None
    if found.guarantee not in ("exact", "certified"):
        return None
    return Optimum(found.policy, None, found.guarantee,
                   "order by a concave key, maximised as a function: " + found.method,
                   found.bound, found.test,
                   "the order compares key values, so the key's maximiser is maximal "
                   "(the bound is in key value): " + found.evidence, found.iterations)


def optimise_ordering(spec: Any, env: FiniteMDP, options: OptimiseOptions) -> Optimum:
    """Optimise a GOMORL or OMO specification (module docstring)."""
    S, A = env.n_states, env.n_actions
    gomorl = hasattr(spec, "rewards")
    n = int(spec.rewards.shape[0]) if gomorl else S * A * S
    rows = _lexicographic_rows(spec.order, n, (n,) if gomorl else (S, A, S))
    if rows is None:
        by_key = _by_concave_key(spec, env, options)
        if by_key is not None:
            return by_key
        return _ordering_search(spec, env, options, gomorl)
    exact = options.exact or (S <= EXACT_STATES and has_exact_model(env))
    if gomorl:
        base = ([exact_expected_rewards(env, spec.rewards[i]) for i in range(n)] if exact
                else list(expected_reward_batch(env, spec.rewards)))
    else:
        tau = env.exact_transitions() if exact else env.transitions
    def stage_rewards() -> Iterator[np.ndarray]:
        for row in rows:
            r = np.zeros((S, A), dtype=object if exact else np.float64)
            if exact:
                r[...] = Fraction(0)
            for i, c in row.items():
                if c == 0:
                    continue
                if gomorl:
                    r = r + (c if exact else float(c)) * base[i]
                else:
                    s_, a_, t_ = np.unravel_index(i, (S, A, S))
                    r[s_, a_] += (c if exact else float(c)) * tau[s_, a_, t_]
            yield r

    mask, acts, stages = lexicographic_actions(env, stage_rewards(), spec.gamma, exact=exact)
    policy = Policy.deterministic(acts, A)
    guarantee: Guarantee = "exact" if exact else "heuristic"
    test = None
    if not exact and S * A <= 1024:
        # the float answer cannot be verified in rationals: at least test local optimality
        pi, sweeps, converged = coordinate_ascent(spec, env, policy.probabilities, options)
        policy = Policy(pi)
        if converged:
            guarantee = "local"
            test = ("no move of one state's action distribution towards an action by a step "
                    "of 1, 1/2, 1/4, 1/8 or 1/16 improves it")
    return Optimum(
        policy, None, guarantee,
        "lexicographic control by successive elimination of non-optimal actions",
        0 if exact else None, test,
        f"{stages} of {len(rows)} lexicographic stages read"
        + (" (the rest decided: one action left per state)" if stages < len(rows) else "")
        + ("; every stage verified by exact policy iteration in rationals" if exact else
           "; float stages (actions within 1e-9 of optimal kept): not verified"),
        stages)


ORDERING_OPTIMISER = Optimiser(
    optimise_ordering,
    "lexicographic control by successive action elimination (exact in rationals); "
    "an order by a concave key as that function (Frank-Wolfe, certified); "
    "generic search for other orders", "exact",
    "k discounted control solves for k lexicographic objectives (polynomial; Gabor, "
    "Kalmar and Szepesvari 1998), each verified by exact policy iteration; an order by a "
    "concave key: a concave maximisation over the occupancy polytope (as OMORL/FOMR); "
    "other orders: no general method (arXiv 2310.11840, ordering formalisms), local search")
