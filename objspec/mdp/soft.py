"""Soft (entropy- or KL-regularised) optimal control with a certified bound.

For a temperature ``alpha > 0``, a reference ``rho(. | s)`` (uniform weights 1 for the
entropy) and expected rewards ``r(s, a)``, the regularised value of a stationary policy is

.. math:: V_\\pi(s) = E_\\pi\\Big[\\sum_t \\gamma^t \\big(r(s_t, a_t)
          - \\alpha \\sum_a \\pi(a|s_t) \\log \\frac{\\pi(a|s_t)}{\\rho(a|s_t)}\\big)
          \\Big| s_0 = s\\Big],

(negative entropy for ``rho = 1``, KL to ``rho`` otherwise). The soft Bellman operator

.. math:: (T V)(s) = \\max_{p \\in \\Delta(A_s)} \\sum_a p_a Q_V(s, a)
          - \\alpha\\, KL(p \\| \\rho) = \\alpha \\log \\sum_a \\rho(a|s)
          \\exp(Q_V(s,a) / \\alpha), \\qquad Q_V = r + \\gamma P V,

is attained by the softmax policy ``p_a \\propto \\rho(a|s) \\exp(Q_V(s,a)/\\alpha)``
(Gibbs variational principle). ``T`` is monotone and ``T(V + c) = T V + gamma c``, so the
MacQueen bounds of :mod:`objspec.mdp.control` hold for it unchanged: with ``d = T V - V``,
both the optimal regularised values ``V*`` and the values of the softmax policy of ``V``
lie in ``[T V + gamma/(1-gamma) min d, T V + gamma/(1-gamma) max d]`` (for the policy
apply the same argument to its own affine operator ``T_pi``, which agrees with ``T`` at
``V``). Hence ``V*(s) - V_pi(s) <= gamma/(1-gamma) (max d - min d)`` in every state, which
is the certified bound (plus a rounding margin); ``V*`` dominates every stationary
policy's values state by state (Geist, Scherrer and Pietquin, *A theory of regularized
Markov decision processes*, ICML 2019), so the same number bounds the loss in
``mu0 . V``. Iteration: ``V`` is moved to the MacQueen midpoint after every sweep.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from objspec.errors import InvalidSpecificationError, SolverError
from objspec.mdp.model import FiniteMDP
from objspec.mdp.rewards import check_discount

__all__ = ["SoftSolution", "soft_value_iteration"]

EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class SoftSolution:
    """Result of :func:`soft_value_iteration`.

    Attributes
    ----------
    values : numpy.ndarray
        ``[S]``: within ``error_bound`` of the optimal regularised values ``V*``.
    policy : numpy.ndarray
        ``[S, A]``: the softmax policy, at most ``policy_error_bound`` below ``V*`` in every
        state.
    error_bound, policy_error_bound : float
        Certified sup-norm bounds (module docstring).
    iterations : int
        Soft Bellman sweeps.
    converged : bool
        Whether ``policy_error_bound <= tol`` was reached (else the sweep budget or the
        deadline stopped the iteration; the bounds are still valid).
    """

    values: np.ndarray
    policy: np.ndarray
    error_bound: float
    policy_error_bound: float
    iterations: int
    converged: bool


def _soft_backup(env: FiniteMDP, r: np.ndarray, log_ref: np.ndarray, V: np.ndarray,
                 gamma: float, alpha: float) -> tuple[np.ndarray, np.ndarray, float]:
    """``T V``, the softmax policy of ``V`` and ``max |Q|`` (for the rounding margin)."""
    S, A = r.shape
    Q = r + gamma * np.asarray(env.transition_matrix @ V).reshape(S, A)
    Y = Q + alpha * log_ref  # -inf where the action is not allowed
    top = Y.max(axis=1)
    with np.errstate(over="ignore", under="ignore"):  # a tiny alpha: exp(-inf) = 0
        W = np.exp((Y - top[:, None]) / alpha)
    total = W.sum(axis=1)  # >= 1: the maximiser contributes exp(0)
    TV = top + alpha * np.log(total)
    finite = np.isfinite(Y)
    qmax = max(float(np.abs(np.where(finite, Q, 0.0)).max(initial=0.0)),
               float(np.abs(np.where(finite, Y, 0.0)).max(initial=0.0)))
    return TV, W / total[:, None], qmax


def soft_value_iteration(env: FiniteMDP, r: np.ndarray, gamma: float, alpha: float,
                         reference: np.ndarray | None = None, *, tol: float = 1e-9,
                         max_sweeps: int = 1_000_000, deadline: float | None = None
                         ) -> SoftSolution:
    """Optimal entropy- or KL-regularised values and the optimal (softmax) policy.

    Parameters
    ----------
    env : FiniteMDP
    r : numpy.ndarray
        ``[S, A]`` expected one-step rewards.
    gamma : float
        Discount in ``[0, 1)``.
    alpha : float
        Temperature, ``> 0``.
    reference : numpy.ndarray, optional
        ``[A]`` or ``[S, A]`` reference distribution for KL; None for the entropy.
    tol : float
        Target for ``policy_error_bound``.
    max_sweeps : int
        Most sweeps.
    deadline : float, optional
        A :func:`time.monotonic` time after which the iteration stops (bounds stay valid).

    Returns
    -------
    SoftSolution

    Raises
    ------
    InvalidSpecificationError
        If ``alpha <= 0``, or if a state has no enabled action that the reference allows.
    SolverError
        If the values overflow.

    Examples
    --------
    One state, two actions with rewards 0 and 1, entropy weight 1, ``gamma = 0.5``:
    ``V* = log(1 + e) / (1 - gamma)``.

    >>> import numpy as np
    >>> from objspec import FiniteMDP
    >>> from objspec.mdp.soft import soft_value_iteration
    >>> sol = soft_value_iteration(FiniteMDP(np.ones((1, 2, 1)), [1.0]), np.array([[0.0, 1.0]]),
    ...                            0.5, 1.0)
    >>> bool(abs(sol.values[0] - 2 * np.log(1 + np.e)) < 1e-9), sol.policy.round(4).tolist()
    (True, [[0.2689, 0.7311]])
    """
    gamma = check_discount(gamma)
    if not (np.isfinite(alpha) and alpha > 0):
        raise InvalidSpecificationError(f"soft value iteration needs alpha > 0, got {alpha}")
    S, A = env.n_states, env.n_actions
    allowed = env.enabled.copy()
    if reference is None:
        log_ref = np.zeros((S, A))
    else:
        ref = np.broadcast_to(np.asarray(reference, dtype=np.float64), (S, A))
        allowed &= ref > 0
        log_ref = np.log(np.where(ref > 0, ref, 1.0))
    empty = ~allowed.any(axis=1)
    if empty.any():
        s = int(np.argmax(empty))
        raise InvalidSpecificationError(
            f"the KL reference gives probability 0 to every enabled action of state {s}: "
            "every policy has an infinite regulariser there")
    log_ref = np.where(allowed, log_ref, -np.inf)
    indptr = env.transition_matrix.indptr
    n = int((indptr[1:] - indptr[:-1]).max())
    k = gamma / (1.0 - gamma)
    V = np.zeros(S)
    bound = policy_bound = np.inf
    policy = np.zeros((S, A))
    sweeps = 0
    converged = False
    while sweeps < max_sweeps:
        TV, policy, qmax = _soft_backup(env, r, log_ref, V, gamma, alpha)
        sweeps += 1
        d = TV - V
        lo, hi = float(d.min()), float(d.max())
        scale = max(float(np.abs(V).max()), float(np.abs(TV).max()), qmax)
        margin = (n + A + 8) * EPS * scale * (1.0 + 2.0 * k)
        if not (np.isfinite(lo) and np.isfinite(hi) and np.isfinite(scale)):
            raise SolverError("soft value iteration overflowed: rescale the reward")
        bound = k * (hi - lo) / 2.0 + margin
        policy_bound = k * (hi - lo) + 2.0 * margin
        V = TV + k * (lo + hi) / 2.0
        if policy_bound <= tol or (hi - lo) * k <= margin:
            converged = policy_bound <= tol
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
    return SoftSolution(V, policy, float(bound), float(policy_bound), sweeps, converged)
