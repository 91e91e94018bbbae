"""Exact rational evaluation for small MDPs.

The same quantities as :mod:`objspec.mdp.evaluation`, computed in exact rational
arithmetic (sympy's ``DomainMatrix`` over ``QQ``) and returned as
:class:`fractions.Fraction` objects. Transition probabilities, policies, rewards and the
discount are converted exactly: rationals (``Fraction``, ``int``, sympy ``Rational``) as
given, floats as the dyadic rationals they are (so ``0.1`` is not ``1/10``: give
``Fraction(1, 10)`` when you mean it). The separation certificates rely on this module.

Cost grows like ``S**3`` big-rational operations per policy: meant for ``S`` up to a few
dozen states.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
from sympy import QQ
from sympy.polys.matrices import DomainMatrix

from objspec.errors import InvalidModelError, InvalidSpecificationError
from objspec.mdp.model import FiniteMDP, rational_array, to_fraction
from objspec.mdp.policy import exact_policy_batch

__all__ = [
    "exact_discount",
    "exact_rewards",
    "exact_induced_chain",
    "exact_state_visitation",
    "exact_values",
    "exact_expected_return",
    "exact_occupancy_measure",
    "solve_rational",
    "has_exact_model",
]


def has_exact_model(env: FiniteMDP) -> bool:
    """Whether ``env``'s transitions and initial distribution have an exact rational meaning
    (as given: Fractions, or floats whose rows sum to exactly 1 as rationals).

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> P = np.zeros((3, 1, 3)); P[:, 0, 0] = 1.0
    >>> has_exact_model(FiniteMDP(P, [1.0, 0.0, 0.0]))
    True
    >>> has_exact_model(FiniteMDP(P, [0.7, 0.1, 0.2]))  # 7/10 + 1/10 + 2/10 != 1 exactly
    False
    """
    try:
        env.exact_transitions()
        env.exact_initial()
    except InvalidModelError:
        return False
    return True


def exact_discount(gamma: Any) -> Fraction:
    """The discount as a Fraction in ``[0, 1)``; floats are converted exactly."""
    try:
        g = to_fraction(gamma)
    except TypeError:
        raise InvalidSpecificationError(f"discount gamma = {gamma!r} is not a number") from None
    if not 0 <= g < 1:
        raise InvalidSpecificationError(f"discount gamma = {gamma!r} is outside [0, 1)")
    return g


def exact_rewards(env: FiniteMDP, reward: Any) -> np.ndarray:
    """One reward as a Fraction array ``[S, A, S]`` (``[S]``/``[S, A]`` are broadcast)."""
    exact = rational_array(reward)
    arr = np.asarray(reward, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise InvalidSpecificationError("reward has a non-finite entry")
    if exact is None:
        exact = np.empty(arr.shape, dtype=object)
        exact.ravel()[:] = [Fraction(float(x)) for x in arr.ravel()]
    S, A = env.n_states, env.n_actions
    if exact.shape == (S,):
        exact = np.broadcast_to(exact[:, None, None], (S, A, S))
    elif exact.shape == (S, A):
        exact = np.broadcast_to(exact[:, :, None], (S, A, S))
    elif exact.shape != (S, A, S):
        raise InvalidSpecificationError(
            f"reward has shape {exact.shape}; expected [S], [S, A] or [S, A, S] for S={S}, A={A}"
        )
    return np.array(exact, dtype=object)


def _to_dm(rows: Sequence[Sequence[Fraction]]) -> DomainMatrix:
    return DomainMatrix(
        [[QQ(int(x.numerator), int(x.denominator)) for x in row] for row in rows],
        (len(rows), len(rows[0]) if rows else 0),
        QQ,
    )


def _from_dm(m: DomainMatrix) -> np.ndarray:
    rows = m.to_list()
    out = np.empty((len(rows), len(rows[0]) if rows else 0), dtype=object)
    for i, row in enumerate(rows):
        for j, x in enumerate(row):
            out[i, j] = Fraction(int(x.numerator), int(x.denominator))
    return out


def solve_rational(matrix: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``matrix @ x = rhs`` exactly; both are Fraction arrays (``rhs`` 1-D or 2-D).

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> import numpy as np
    >>> from objspec.mdp.exact import solve_rational
    >>> A = np.array([[F(2), F(1)], [F(1), F(3)]], dtype=object)
    >>> [str(x) for x in solve_rational(A, np.array([F(1), F(0)], dtype=object))]
    ['3/5', '-1/5']
    """
    one_d = rhs.ndim == 1
    b = rhs[:, None] if one_d else rhs
    x = _from_dm(_to_dm(matrix.tolist()).lu_solve(_to_dm(b.tolist())))
    return x[:, 0] if one_d else x


def exact_induced_chain(env: FiniteMDP, policy: Any) -> np.ndarray:
    """``P_pi`` as an ``[S, S]`` Fraction array for one policy."""
    (pi,) = exact_policy_batch(policy, env.n_states, env.n_actions, enabled=env.enabled)
    tau = env.exact_transitions()
    S, A = env.n_states, env.n_actions
    out = np.empty((S, S), dtype=object)
    for s in range(S):
        for t in range(S):
            out[s, t] = sum((pi[s, a] * tau[s, a, t] for a in range(A)), Fraction(0))
    return out


def _policies(env: FiniteMDP, policies: Any) -> tuple[list[np.ndarray], bool]:
    from objspec.mdp.policy import Policy

    single = isinstance(policies, Policy) or (
        not isinstance(policies, Policy) and np.ndim(np.asarray(policies, dtype=object)) == 2
    )
    return exact_policy_batch(policies, env.n_states, env.n_actions, enabled=env.enabled), single


def _chain_of(env: FiniteMDP, pi: np.ndarray) -> np.ndarray:
    tau = env.exact_transitions()
    return np.einsum("sa,sat->st", pi, tau)


def exact_state_visitation(env: FiniteMDP, policies: Any, gamma: Any) -> np.ndarray:
    """Exact ``d(s) = sum_t gamma^t P(s_t = s)``, shape ``(N?, S)`` of Fractions.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp.exact import exact_state_visitation
    >>> P = np.array([[[F(1, 2), F(1, 2)]], [[F(0), F(1)]]], dtype=object)
    >>> env = FiniteMDP(P, [F(1), F(0)])
    >>> [str(x) for x in exact_state_visitation(env, Policy([[1.0], [1.0]]), F(1, 2))]
    ['4/3', '2/3']
    """
    g = exact_discount(gamma)
    pis, single = _policies(env, policies)
    mu0 = env.exact_initial()
    S = env.n_states
    eye = np.array([[Fraction(int(i == j)) for j in range(S)] for i in range(S)], dtype=object)
    out = [solve_rational((eye - g * _chain_of(env, pi)).T, mu0) for pi in pis]
    return out[0] if single else np.array(out, dtype=object)


def exact_values(env: FiniteMDP, policies: Any, reward: Any, gamma: Any) -> np.ndarray:
    """Exact state values ``V_pi`` for one reward, shape ``(N?, S)`` of Fractions.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp.exact import exact_values
    >>> env = FiniteMDP(np.ones((1, 1, 1)), [1.0])
    >>> exact_values(env, Policy([[1.0]]), [F(1, 3)], F(1, 2))
    array([Fraction(2, 3)], dtype=object)
    """
    g = exact_discount(gamma)
    pis, single = _policies(env, policies)
    R = exact_rewards(env, reward)
    tau = env.exact_transitions()
    r_sa = (tau * R).sum(axis=2)
    S = env.n_states
    eye = np.array([[Fraction(int(i == j)) for j in range(S)] for i in range(S)], dtype=object)
    out = [
        solve_rational(eye - g * _chain_of(env, pi), (pi * r_sa).sum(axis=1)) for pi in pis
    ]
    return out[0] if single else np.array(out, dtype=object)


def exact_expected_return(env: FiniteMDP, policies: Any, reward: Any, gamma: Any) -> Any:
    """Exact ``J_R(pi) = mu0 . V_pi``: a Fraction, or an object array ``[N]`` for a batch.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp.exact import exact_expected_return
    >>> env = FiniteMDP(np.ones((1, 2, 1)), [1.0])
    >>> exact_expected_return(env, Policy([[F(1, 3), F(2, 3)]]), [[1, 0]], F(1, 2))
    Fraction(2, 3)
    """
    values = exact_values(env, policies, reward, gamma)
    mu0 = env.exact_initial()
    if values.ndim == 1:
        return sum(values * mu0, Fraction(0))
    return np.array([sum(v * mu0, Fraction(0)) for v in values], dtype=object)


def exact_occupancy_measure(env: FiniteMDP, policies: Any, gamma: Any) -> np.ndarray:
    """Exact occupancy measure ``m(s, a, s')``, shape ``(N?, S, A, S)`` of Fractions.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp.exact import exact_occupancy_measure
    >>> env = FiniteMDP(np.ones((1, 2, 1)), [1.0])
    >>> exact_occupancy_measure(env, Policy([[F(1, 3), F(2, 3)]]), F(1, 2))[0, :, 0]
    array([Fraction(2, 3), Fraction(4, 3)], dtype=object)
    """
    pis, single = _policies(env, policies)
    tau = env.exact_transitions()
    out = []
    for pi in pis:
        d = exact_state_visitation(env, pi, gamma)
        out.append(d[:, None, None] * pi[:, :, None] * tau)
    return out[0] if single else np.array(out, dtype=object)
