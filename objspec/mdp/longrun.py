"""Long-run (limit-average) quantities of Markov chains and policies, computed exactly.

For a Markov chain ``P`` on ``S`` states the Cesaro limit

.. math:: P^* = \\lim_{N \\to \\infty} \\frac{1}{N} \\sum_{t < N} P^t

always exists (also for periodic chains) and the long-run average reward (the *gain*) of a
policy ``pi`` with expected one-step reward ``r_pi`` is ``g(s) = (P^*_pi r_pi)(s)``, or
``mu0 . P^*_pi r_pi`` from the initial distribution (paper-notes section 1.2, LAR).

Method (no discount close to 1 is used anywhere, so ties stay ties):

1. **Recurrent classes** are the bottom strongly connected components of the support
   graph ``{(s, t) : P[s, t] > 0}``; the graph is read from the entries exactly (never
   thresholded) and decomposed with :func:`scipy.sparse.csgraph.connected_components`.
2. **Stationary distributions**: on each recurrent class ``C`` the restricted chain
   ``P_CC`` is stochastic and irreducible, so ``pi_C (I - P_CC) = 0, pi_C 1 = 1`` has a unique
   solution; it is solved directly (one equation of the singular system replaced by the
   normalisation) with a dense or sparse LU factorisation.
3. **Absorption probabilities** ``B[s, c] = P(reach class c | s_0 = s)`` solve
   ``(I - P_TT) B_T = P_TC`` on the transient states ``T``. Entries are set to exactly 0
   where the support graph shows that ``c`` is unreachable from ``s``, and to exactly 1
   where ``c`` is the only reachable class.
4. ``P^* = B Pi`` where row ``c`` of ``Pi`` is the stationary distribution of class ``c``
   (Kemeny and Snell, *Finite Markov Chains*, 1960; Puterman, *Markov Decision
   Processes*, 1994, section A.4).

The ``exact_*`` functions run the same steps in rational arithmetic
(:func:`objspec.mdp.exact.solve_rational`) and return :class:`fractions.Fraction` objects.

Examples
--------
A periodic chain has a Cesaro limit though ``P^t`` does not converge:

>>> import numpy as np
>>> from objspec.mdp.longrun import cesaro_limit, recurrent_classes
>>> flip = np.array([[0.0, 1.0], [1.0, 0.0]])
>>> cesaro_limit(flip)
array([[0.5, 0.5],
       [0.5, 0.5]])
>>> recurrent_classes(np.array([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
[array([1]), array([2])]
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import scipy.sparse.linalg as spla

from objspec.errors import InvalidModelError
from objspec.mdp.model import ROW_TOLERANCE, FiniteMDP
from objspec.mdp.policy import as_policy_batch

__all__ = [
    "recurrent_classes",
    "stationary_distributions",
    "absorption_probabilities",
    "cesaro_limit",
    "long_run_average",
    "long_run_average_values",
    "exact_cesaro_limit",
    "exact_long_run_average",
    "exact_long_run_average_values",
]

#: Blocks of at most this many states are factorised densely (LAPACK), larger ones with
#: sparse LU (which fills in badly on well-mixing chains, so dense wins up to here).
DENSE_BLOCK = 3000


# ---------------------------------------------------------------------------- structure
def _is_object(chain: Any) -> bool:
    return isinstance(chain, np.ndarray) and chain.dtype == object


def _as_float_chain(chain: Any) -> sp.csr_matrix:
    """Validate a float chain and return it as CSR (explicit zeros removed)."""
    if sp.issparse(chain):
        m = sp.csr_matrix(chain, dtype=np.float64)
    else:
        try:
            dense = np.asarray(chain, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidModelError(f"chain must be numeric: {exc}") from None
        if dense.ndim != 2:
            raise InvalidModelError(f"chain must be shaped [S, S]; got {dense.shape}")
        m = sp.csr_matrix(dense)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise InvalidModelError(f"chain must be shaped [S, S] with S >= 1; got {m.shape}")
    m.sum_duplicates()
    data = m.data
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    for mask, what in ((~np.isfinite(data), "is not finite"), (data < 0, "is negative")):
        if mask.any():
            k = int(np.argmax(mask))
            raise InvalidModelError(f"chain[{rows[k]}, {m.indices[k]}] = {data[k]} {what}")
    m.eliminate_zeros()
    sums = np.asarray(m.sum(axis=1)).ravel()
    off = np.abs(sums - 1.0) > ROW_TOLERANCE
    if off.any():
        s = int(np.argmax(off))
        raise InvalidModelError(
            f"chain row {s} sums to {sums[s]:.12g}, not 1 (tolerance {ROW_TOLERANCE:g})"
        )
    return m


def _as_fraction_chain(chain: Any) -> np.ndarray:
    """Validate a chain of rationals and return an ``[S, S]`` object array of Fractions."""
    from objspec.mdp.model import to_fraction

    arr = np.asarray(chain.toarray() if sp.issparse(chain) else chain, dtype=object)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise InvalidModelError(f"chain must be shaped [S, S] with S >= 1; got {arr.shape}")
    n = int(arr.shape[0])
    out = np.empty((n, n), dtype=object)
    for s, t in np.ndindex(n, n):
        x = arr[s, t]
        try:
            out[s, t] = to_fraction(x)
        except TypeError:
            raise InvalidModelError(f"chain[{s}, {t}] = {x!r} is not a rational number") from None
        if out[s, t] < 0:
            raise InvalidModelError(f"chain[{s}, {t}] = {x} is negative")
    for s in range(n):
        total = sum(out[s], Fraction(0))
        if total != 1:
            raise InvalidModelError(f"chain row {s} sums to {total}, not exactly 1")
    return out


def _support(chain: Any) -> sp.csr_matrix:
    """The support graph ``{(s, t) : P[s, t] > 0}`` of a (validated) chain as CSR."""
    if _is_object(chain):
        arr = _as_fraction_chain(chain)
        mask = np.vectorize(lambda x: x != 0, otypes=[bool])(arr)
        return sp.csr_matrix(mask.astype(np.int8))
    m = _as_float_chain(chain)
    return sp.csr_matrix((np.ones_like(m.data, dtype=np.int8), m.indices, m.indptr), m.shape)


def _classes_of(graph: sp.csr_matrix) -> list[np.ndarray]:
    n_comp, comp = csgraph.connected_components(graph, directed=True, connection="strong")
    coo = graph.tocoo()
    leaving = comp[coo.row] != comp[coo.col]
    not_bottom = np.zeros(n_comp, dtype=bool)
    not_bottom[comp[coo.row[leaving]]] = True
    classes = [np.flatnonzero(comp == c) for c in range(n_comp) if not not_bottom[c]]
    classes.sort(key=lambda members: int(members[0]))
    return classes


def recurrent_classes(chain: Any) -> list[np.ndarray]:
    """The recurrent classes (bottom strongly connected components) of a Markov chain.

    Parameters
    ----------
    chain : array_like or scipy.sparse matrix
        ``[S, S]`` row-stochastic matrix (floats, or an object array of Fractions).

    Returns
    -------
    list of numpy.ndarray
        Sorted state indices of each class, classes ordered by their smallest state.

    Raises
    ------
    InvalidModelError
        If ``chain`` is not square or a row is not a probability distribution.

    Notes
    -----
    The support graph is read exactly: any entry ``> 0``, however small, is an edge.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.mdp.longrun import recurrent_classes
    >>> P = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.5, 0.0, 0.5]])
    >>> recurrent_classes(P)
    [array([0, 1])]
    """
    return _classes_of(_support(chain))


def _reachers(graph: sp.csr_matrix, classes: list[np.ndarray]) -> np.ndarray:
    """``[S, n_classes]`` bool: can state ``s`` reach class ``c`` (in the support graph)."""
    reverse = graph.T.tocsr()
    out = np.zeros((graph.shape[0], len(classes)), dtype=bool)
    for c, members in enumerate(classes):
        order = csgraph.breadth_first_order(
            reverse, int(members[0]), directed=True, return_predecessors=False
        )
        out[order, c] = True
    return out


# ---------------------------------------------------------------------------- float solves
def _solve(matrix: sp.spmatrix | np.ndarray, rhs: np.ndarray) -> np.ndarray:
    if isinstance(matrix, np.ndarray):
        return np.linalg.solve(matrix, rhs)
    if matrix.shape[0] <= DENSE_BLOCK:
        return np.linalg.solve(matrix.toarray(), rhs)
    lu = spla.splu(sp.csc_matrix(matrix))
    return np.asarray(lu.solve(np.ascontiguousarray(rhs)))


def _stationary_on(m: sp.csr_matrix, members: np.ndarray) -> np.ndarray:
    """Stationary distribution of the irreducible chain restricted to ``members``."""
    k = members.size
    if k == 1:
        return np.ones(1)
    block = m[members][:, members]
    rhs = np.zeros(k)
    rhs[-1] = 1.0
    if k <= DENSE_BLOCK:
        system = np.eye(k) - block.toarray().T
        system[k - 1, :] = 1.0
        pi = _solve(system, rhs)
    else:
        lower = (sp.identity(k, format="csr") - block).T.tocsr()[: k - 1]
        ones = sp.csr_matrix(np.ones((1, k)))
        pi = _solve(sp.vstack([lower, ones], format="csc"), rhs)
    # stationary probabilities of a recurrent class are positive; clip rounding only
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


def _structure(
    m: sp.csr_matrix,
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Classes, stationary rows ``[n_classes, S]`` and absorption ``[S, n_classes]``."""
    S = m.shape[0]
    graph = sp.csr_matrix((np.ones_like(m.data, dtype=np.int8), m.indices, m.indptr), m.shape)
    classes = _classes_of(graph)
    n = len(classes)
    stationary = np.zeros((n, S))
    for c, members in enumerate(classes):
        stationary[c, members] = _stationary_on(m, members)
    absorb = np.zeros((S, n))
    if n == 1:
        absorb[:, 0] = 1.0
        return classes, stationary, absorb
    recurrent = np.zeros(S, dtype=bool)
    for c, members in enumerate(classes):
        absorb[members, c] = 1.0
        recurrent[members] = True
    transient = np.flatnonzero(~recurrent)
    if transient.size:
        reach = _reachers(graph, classes)[transient]
        to_class = np.zeros((S, n))
        for c, members in enumerate(classes):
            to_class[members, c] = 1.0
        rows = m[transient]
        system = sp.identity(transient.size, format="csr") - rows[:, transient]
        rhs = np.asarray(rows @ to_class)
        b = np.clip(_solve(system.tocsr(), rhs), 0.0, 1.0)
        b[~reach] = 0.0
        only = reach.sum(axis=1) == 1
        b[only] = reach[only].astype(np.float64)
        absorb[transient] = b
    return classes, stationary, absorb


def stationary_distributions(chain: Any) -> list[np.ndarray]:
    """The stationary distribution of each recurrent class.

    Parameters
    ----------
    chain : array_like or scipy.sparse matrix
        ``[S, S]`` row-stochastic matrix.

    Returns
    -------
    list of numpy.ndarray
        One length-``S`` vector per class of :func:`recurrent_classes` (same order), zero
        outside its class. Every stationary distribution of ``chain`` is a convex
        combination of these.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.mdp.longrun import stationary_distributions
    >>> P = np.array([[0.5, 0.5, 0.0], [0.25, 0.75, 0.0], [0.0, 0.0, 1.0]])
    >>> [d.round(6) for d in stationary_distributions(P)]
    [array([0.333333, 0.666667, 0.      ]), array([0., 0., 1.])]
    """
    m = _as_float_chain(chain)
    _, stationary, _ = _structure(m)
    return list(stationary)


def absorption_probabilities(chain: Any) -> np.ndarray:
    """``B[s, c]``: probability that the chain started in ``s`` enters recurrent class ``c``.

    Returns
    -------
    numpy.ndarray
        ``[S, n_classes]``, rows summing to 1, classes ordered as in
        :func:`recurrent_classes`.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.mdp.longrun import absorption_probabilities
    >>> P = np.array([[0.5, 0.25, 0.25], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> absorption_probabilities(P)
    array([[0.5, 0.5],
           [1. , 0. ],
           [0. , 1. ]])
    """
    m = _as_float_chain(chain)
    _, _, absorb = _structure(m)
    return absorb


def cesaro_limit(chain: Any) -> np.ndarray:
    """The Cesaro limit ``P* = lim_N (1/N) sum_{t<N} P^t`` of a Markov chain, dense ``[S, S]``.

    Computed as ``P* = B Pi`` from absorption probabilities and stationary distributions
    (see the module docstring), never by powering or discounting.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.mdp.longrun import cesaro_limit
    >>> P = np.array([[0.0, 0.5, 0.5], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> cesaro_limit(P)
    array([[0. , 0.5, 0.5],
           [0. , 1. , 0. ],
           [0. , 0. , 1. ]])
    """
    m = _as_float_chain(chain)
    _, stationary, absorb = _structure(m)
    return absorb @ stationary


# ---------------------------------------------------------------------------- policies
def _gains(env: FiniteMDP, policies: Any, rewards: Any) -> tuple[np.ndarray, bool, bool]:
    """``[N, K, S]`` per-state gains of every policy for every reward."""
    from objspec.mdp.linear import induced_chain_sparse
    from objspec.mdp.rewards import expected_rewards, normalize_rewards

    pi, single_pi = as_policy_batch(policies, env.n_states, env.n_actions, enabled=env.enabled)
    arr, kind, single_r = normalize_rewards(env, rewards)
    r = expected_rewards(env, arr, kind)
    r_pi = np.einsum("nsa,ksa->nks", pi, r)
    out = np.empty_like(r_pi)
    # The class structure differs between policies, so this loop is inherent: each policy's
    # support graph is decomposed on its own (all K rewards share the decomposition).
    for n in range(pi.shape[0]):
        chain = induced_chain_sparse(env, pi[n])
        _, stationary, absorb = _structure(chain)
        class_gain = stationary @ r_pi[n].T  # [n_classes, K]
        out[n] = (absorb @ class_gain).T
    return out, single_pi, single_r


def _squeeze(out: np.ndarray, single_pi: bool, single_r: bool) -> np.ndarray:
    if single_r:
        out = out[:, 0]
    if single_pi:
        out = out[0]
    return out


def long_run_average_values(env: FiniteMDP, policies: Any, rewards: Any) -> np.ndarray:
    """Per-state long-run average reward ``g_pi(s) = (P*_pi r_pi)(s)``, shape ``(N?, K?, S)``.

    ``g_pi(s) = lim_N (1/N) E[sum_{t<N} R(x_t) | s_0 = s]`` (the limit exists for stationary
    policies on finite MDPs). Rewards are shaped as for
    :func:`objspec.mdp.evaluation.evaluate`.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp.longrun import long_run_average_values
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
    >>> env = FiniteMDP(P, [1.0, 0.0])
    >>> long_run_average_values(env, Policy([[0.5, 0.5], [0.0, 1.0]]), [0.0, 1.0])
    array([1., 1.])
    """
    out, single_pi, single_r = _gains(env, policies, rewards)
    return _squeeze(out, single_pi, single_r)


def long_run_average(env: FiniteMDP, policies: Any, rewards: Any) -> np.ndarray:
    """Long-run average reward (gain) from the initial distribution, shape ``(N?, K?)``.

    ``J(pi) = mu0 . P*_pi r_pi``, batched like :func:`objspec.mdp.evaluation.evaluate`:
    a single policy drops the ``N`` axis and a single reward the ``K`` axis.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp.longrun import long_run_average
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1.0; P[:, 1, 1] = 1.0
    >>> env = FiniteMDP(P, [1.0, 0.0])
    >>> stay, move = Policy.deterministic([0, 1], 2), Policy.deterministic([1, 1], 2)
    >>> long_run_average(env, [stay, move], [[2.0, 0.0], [0.0, 1.0]])
    array([2., 1.])
    """
    out, single_pi, single_r = _gains(env, policies, rewards)
    return _squeeze(out @ env.initial, single_pi, single_r)


# ---------------------------------------------------------------------------- exact
def _exact_identity(n: int) -> np.ndarray:
    return np.array([[Fraction(int(i == j)) for j in range(n)] for i in range(n)], dtype=object)


def exact_cesaro_limit(chain_fractions: Any) -> np.ndarray:
    """The Cesaro limit ``P*`` in exact rational arithmetic, an ``[S, S]`` Fraction array.

    Same method as :func:`cesaro_limit`, with every solve done by
    :func:`objspec.mdp.exact.solve_rational`.

    Parameters
    ----------
    chain_fractions : array_like
        ``[S, S]`` rational row-stochastic matrix (Fractions, ints, sympy Rationals; floats
        are taken as the dyadic rationals they are). Rows must sum to exactly 1.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> from objspec.mdp.longrun import exact_cesaro_limit
    >>> P = [[F(1, 3), F(2, 3)], [F(1), F(0)]]
    >>> [[str(x) for x in row] for row in exact_cesaro_limit(P)]
    [['3/5', '2/5'], ['3/5', '2/5']]
    """
    from objspec.mdp.exact import solve_rational

    P = _as_fraction_chain(chain_fractions)
    S = P.shape[0]
    mask = np.vectorize(lambda x: x != 0, otypes=[bool])(P)
    graph = sp.csr_matrix(mask.astype(np.int8))
    classes = _classes_of(graph)
    n = len(classes)
    stationary = np.full((n, S), Fraction(0), dtype=object)
    for c, members in enumerate(classes):
        k = members.size
        system = (_exact_identity(k) - P[np.ix_(members, members)]).T.copy()
        system[k - 1, :] = Fraction(1)
        rhs = np.array([Fraction(0)] * (k - 1) + [Fraction(1)], dtype=object)
        stationary[c, members] = solve_rational(system, rhs)
    absorb = np.full((S, n), Fraction(0), dtype=object)
    recurrent = np.zeros(S, dtype=bool)
    for c, members in enumerate(classes):
        absorb[members, c] = Fraction(1)
        recurrent[members] = True
    transient = np.flatnonzero(~recurrent)
    if transient.size and n == 1:
        absorb[transient, 0] = Fraction(1)
    elif transient.size:
        to_class = np.full((S, n), Fraction(0), dtype=object)
        for c, members in enumerate(classes):
            to_class[members, c] = Fraction(1)
        rows = P[transient]
        system = _exact_identity(transient.size) - rows[:, transient]
        absorb[transient] = solve_rational(system, rows.dot(to_class))
    return absorb.dot(stationary)


def _exact_policy_rewards(env: FiniteMDP, policy: Any, reward: Any) -> np.ndarray:
    from objspec.mdp.exact import exact_rewards
    from objspec.mdp.policy import exact_policy_batch

    (pi,) = exact_policy_batch(policy, env.n_states, env.n_actions, enabled=env.enabled)
    R = exact_rewards(env, reward)
    r_sa = (env.exact_transitions() * R).sum(axis=2)
    return (pi * r_sa).sum(axis=1)


def exact_long_run_average_values(env: FiniteMDP, policy: Any, reward: Any) -> np.ndarray:
    """Exact per-state gains ``P*_pi r_pi`` of one policy for one reward (Fraction ``[S]``).

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp.longrun import exact_long_run_average_values
    >>> env = FiniteMDP(np.ones((1, 2, 1)), [1.0])
    >>> exact_long_run_average_values(env, Policy([[F(1, 3), F(2, 3)]]), [[1, 0]])
    array([Fraction(1, 3)], dtype=object)
    """
    from objspec.mdp.exact import exact_induced_chain

    p_star = exact_cesaro_limit(exact_induced_chain(env, policy))
    return np.asarray(p_star.dot(_exact_policy_rewards(env, policy, reward)), dtype=object)


def exact_long_run_average(env: FiniteMDP, policy: Any, reward: Any) -> Fraction:
    """Exact long-run average reward ``mu0 . P*_pi r_pi`` of one policy, a Fraction.

    Transitions, initial distribution, policy and reward are converted exactly (see
    :mod:`objspec.mdp.exact`); meant for small MDPs.

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.mdp.longrun import exact_long_run_average
    >>> P = np.zeros((2, 1, 2)); P[0, 0, 1] = P[1, 0, 0] = 1.0
    >>> exact_long_run_average(FiniteMDP(P, [1.0, 0.0]), Policy([[1.0], [1.0]]), [F(1), F(0)])
    Fraction(1, 2)
    """
    values = exact_long_run_average_values(env, policy, reward)
    return sum(values * env.exact_initial(), Fraction(0))
