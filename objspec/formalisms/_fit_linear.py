"""Fitting formalisms whose value is linear in their unknown parameters (max-margin LPs).

For a fixed policy, a Markov reward's value ``J(pi) = <m_pi, r>`` is linear in the reward
(``m_pi``: the discounted state-action occupancy measure), and so are limit-average rewards
(long-run occupancy), regularised RL with a given regulariser (plus a fixed term), linear
multi-objective RL (value vectors) and reward machines with a given skeleton (product
occupancy). :func:`fit_linear` solves the max-margin LP of
:func:`objspec.formalisms.fitting.max_margin` on float features, verifies exactly on request,
and when the LP finds no positive margin returns the exact certificate of
:func:`objspec.formalisms.fitting.certificate_for`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from objspec.errors import InvalidSpecificationError, NoFitFoundError, SolverError
from objspec.formalisms.fitting import (
    Comparisons,
    FeatureMap,
    Fit,
    FitOptions,
    LinearFit,
    certificate_for,
    max_margin,
    not_expressible,
)
from objspec.mdp.evaluation import state_action_occupancy
from objspec.mdp.exact import exact_discount, exact_state_visitation
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy

__all__ = [
    "fit_linear",
    "policies_of",
    "occupancy_features",
    "occupancy_feature_map",
    "exact_occupancy_rows",
    "long_run_occupancy_features",
    "long_run_feature_map",
]


def policies_of(data: Comparisons, formalism: str) -> tuple[Policy, ...]:
    if data.policies is None:
        raise InvalidSpecificationError(
            f"fit({formalism}): these comparisons are between trajectories; this fitter "
            "compares policies")
    return data.policies


def fit_linear(
    formalism: str,
    env: FiniteMDP,
    data: Comparisons,
    options: FitOptions,
    *,
    features: Callable[[], Any],
    feature_map: FeatureMap,
    build: Callable[[np.ndarray], Any],
    method: str,
    normalisation: str,
    description: str,
    details: dict[str, Any] | None = None,
) -> Fit:
    """The shared workflow of linear fitters.

    ``features()`` gives the float feature matrix ``[items, d]`` (dense or scipy sparse),
    ``feature_map`` the exact features (for exact verification and certificates) and
    ``build(c)`` the specification with coefficients ``c`` (floats, or Fractions when the
    fit is exact).
    """
    start = time.perf_counter()
    if data.demonstrations:
        raise InvalidSpecificationError(
            f"fit({formalism}): demonstrations are fitted for Markov rewards only (inverse "
            "RL, fit('MR', ...)); this fitter compares policies")
    if not options.soft:  # a soft fit takes noisy data, strict cycles included
        data.check_consistent()
    feats = features()
    items = data.items

    def exact_rows() -> list[list[Fraction]]:
        return feature_map.compute(env, items)

    lf: LinearFit | None = max_margin(
        feats, data, positive=feature_map.positive, margin=options.margin, soft=options.soft,
        exact_features=exact_rows if options.exact else None)
    if lf is None:
        cert = certificate_for(formalism, env, data, feature_map, description=description)
        if cert is not None:
            raise not_expressible(formalism, cert)
        if options.exact:
            raise SolverError(
                f"fit({formalism}): the LP's margin is positive but could not be verified in "
                "rational arithmetic, and no exact certificate of infeasibility exists; try "
                "exact=False")
        raise NoFitFoundError(
            f"fit({formalism}): the largest margin is below the LP's tolerance, yet no exact "
            "certificate of infeasibility exists: the data is explained only with a margin "
            "too small to resolve in floating point (try exact=True)")
    if options.margin is not None and not options.soft and lf.margin is not None and (
            float(lf.margin) < float(options.margin)):
        raise NoFitFoundError(
            f"fit({formalism}): the largest achievable margin is {float(lf.margin):.6g} "
            f"({normalisation}), below the requested margin={options.margin}",
            bound=lf.margin)
    spec = build(lf.coefficients)
    return Fit(formalism, spec, lf.margin, lf.violated, method, lf.exact, normalisation,
               time.perf_counter() - start, {"coefficients": lf.coefficients, **(details or {})})


# ---------------------------------------------------------------------- Markov rewards


def occupancy_features(env: FiniteMDP, policies: Sequence[Policy], gamma: float) -> np.ndarray:
    """Float discounted state-action occupancy ``m_pi(s, a)`` of each policy, ``[N, S * A]``."""
    m = state_action_occupancy(env, list(policies), float(gamma))
    return np.asarray(m).reshape(len(policies), -1)


def exact_occupancy_rows(env: FiniteMDP, policies: Sequence[Policy],
                         gamma: Any) -> list[list[Fraction]]:
    """Exact discounted state-action occupancy rows ``m_pi(s, a)`` (Fractions).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> env = FiniteMDP(np.ones((1, 2, 1)), [1.0])
    >>> [str(x) for x in exact_occupancy_rows(env, [Policy([[0.5, 0.5]])], Fraction(1, 2))[0]]
    ['1', '1']
    """
    rows = []
    for p in policies:
        pi = p.exact_probabilities()
        d = exact_state_visitation(env, p, gamma)
        rows.append([d[s] * pi[s, a] for s in range(env.n_states)
                     for a in range(env.n_actions)])
    return rows


def occupancy_feature_map(gamma: Any) -> FeatureMap:
    """Exact discounted occupancy features: ``J_r(pi) = <m_pi, r>`` for every Markov reward."""
    g = exact_discount(gamma)

    def compute(env: FiniteMDP | None, items: Sequence[Any]) -> list[list[Fraction]]:
        assert env is not None
        return exact_occupancy_rows(env, items, g)

    return FeatureMap(
        f"the discounted occupancy measure (gamma = {g})",
        f"every Markov reward's value is J(pi) = sum_(s, a) m_pi(s, a) r(s, a), linear in "
        f"the discounted occupancy measure m_pi (gamma = {g})",
        compute,
    )


# ---------------------------------------------------------------------- limit-average rewards


def long_run_occupancy_features(env: FiniteMDP, policies: Sequence[Policy]) -> np.ndarray:
    """Float long-run state-action occupancy ``x_pi(s, a) = (mu0 P*_pi)(s) pi(a|s)``, ``[N, S*A]``.

    ``P*_pi`` is the Cesaro limit of the induced chain (:mod:`objspec.mdp.longrun`: recurrent
    classes read exactly from the support graph, stationary distributions and absorption
    probabilities by linear solves), so ``J_LAR(pi) = <x_pi, r>`` for every reward ``r``.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
    >>> long_run_occupancy_features(FiniteMDP(P, [1.0, 0.0]), [Policy([[0, 1], [0, 1]])])
    array([[0., 0., 0., 1.]])
    """
    from objspec.mdp.linear import induced_chain_sparse
    from objspec.mdp.longrun import _structure

    S, A = env.n_states, env.n_actions
    out = np.zeros((len(policies), S * A))
    for n, p in enumerate(policies):
        pi = p.probabilities
        _, stationary, absorb = _structure(induced_chain_sparse(env, pi))
        mu = (env.initial @ absorb) @ stationary
        out[n] = (mu[:, None] * pi).ravel()
    return out


def _exact_long_run_rows(env: FiniteMDP, policies: Sequence[Any]) -> list[list[Fraction]]:
    from objspec.mdp.exact import exact_induced_chain
    from objspec.mdp.longrun import exact_cesaro_limit

    mu0 = env.exact_initial()
    S, A = env.n_states, env.n_actions
    rows = []
    for p in policies:
        pi = p.exact_probabilities()
        p_star = exact_cesaro_limit(exact_induced_chain(env, p))
        mu = [sum((mu0[s] * p_star[s, t] for s in range(S)), Fraction(0)) for t in range(S)]
        rows.append([Fraction(mu[s]) * Fraction(pi[s, a]) for s in range(S) for a in range(A)])
    return rows


def long_run_feature_map() -> FeatureMap:
    """Exact long-run occupancy features: ``J_LAR(pi) = <x_pi, r>`` for every reward.

    ``x_pi(s, a) = (mu0 P*_pi)(s) pi(a|s)`` with ``P*_pi`` the exact Cesaro limit
    (:func:`objspec.mdp.longrun.exact_cesaro_limit`); the long-run average of
    ``R(s, a, s')`` is that of its expectation ``r(s, a) = sum_s' tau(s'|s, a) R(s, a, s')``.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> P = np.zeros((2, 1, 2)); P[0, 0, 1] = P[1, 0, 0] = 1.0
    >>> fm = long_run_feature_map()
    >>> [str(x) for x in fm.compute(FiniteMDP(P, [1.0, 0.0]), [Policy([[1.0], [1.0]])])[0]]
    ['1/2', '1/2']
    """

    def compute(env: FiniteMDP | None, items: Sequence[Any]) -> list[list[Fraction]]:
        assert env is not None
        return _exact_long_run_rows(env, items)

    return FeatureMap(
        "the long-run state-action occupancy (exact Cesaro limit)",
        "every limit-average reward's value is J(pi) = sum_(s, a) x_pi(s, a) r(s, a), linear "
        "in the long-run occupancy x_pi(s, a) = (mu0 P*_pi)(s) pi(a|s), where P*_pi is the "
        "Cesaro limit of the chain pi induces",
        compute,
    )
