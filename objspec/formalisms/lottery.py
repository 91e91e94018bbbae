"""Trajectory lotteries and the engines that evaluate functions of trajectories.

Running a stationary policy ``pi`` in ``E`` gives a probability measure ``L_pi`` on
infinite trajectories ``xi = (s_0, a_0, s_1, a_1, ...)``: the *trajectory lottery*
(docs/theory.md#policies). :class:`TrajectoryLottery` represents it canonically as the
environment plus the policy restricted to the states it reaches with positive
probability: two policies give the same lottery iff they agree on those states
(docs/theory.md#l7 and docs/theory.md#lottery-representation), and equality and hashing
follow that rule.

Engines (used by FTR, INMR, IMORL, FTLR and TLO):

* **Prefix enumeration** (exact): every trajectory prefix of length ``H`` with positive
  probability in the environment is listed once; its probability under each policy is
  ``mu0(s_0) prod_t pi(a_t|s_t) tau(s_{t+1}|s_t, a_t)``, a product computed for a whole
  batch of policies at once. Expectations of functions of the first ``H`` steps are then
  exact (in rationals with ``exact=True``).
* **Finite return distributions** (exact): dynamic programming over atoms
  ``(state, partial return)``; an atom is final once its state can no longer reach a
  transition with non-zero reward (or once ``gamma^t = 0``). When every atom becomes final
  within ``max_steps`` steps and at most ``max_atoms`` atoms are alive, the return takes
  finitely many values and the distribution is exact.
* **Monte Carlo** (estimate): :func:`objspec.mdp.sampling.sample_trajectories`, seeded and
  vectorised over trajectories. Each policy is sampled with the *same* seed (common
  random numbers), so the estimate is a deterministic function of the lottery: equal
  lotteries get equal estimates and comparisons have less variance. The error is stated as
  a standard error plus the deterministic truncation bound
  ``gamma^H max|R| / (1 - gamma)`` on discounted returns cut at ``H`` steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from objspec.errors import InvalidSpecificationError
from objspec.formalisms._support import reachable_states
from objspec.mdp.evaluation import evaluate, occupancy_measure, state_visitation
from objspec.mdp.exact import (
    exact_discount,
    exact_expected_return,
    exact_occupancy_measure,
    exact_state_visitation,
    solve_rational,
)
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy
from objspec.mdp.sampling import Trajectories, sample_trajectories

__all__ = [
    "TrajectoryLottery",
    "Prefixes",
    "enumerate_prefixes",
    "prefix_probabilities",
    "exact_prefix_probabilities",
    "return_distribution",
    "sample_return_vectors",
    "truncation_horizon",
    "truncation_bound",
]

#: Default cap on the number of prefixes listed by :func:`enumerate_prefixes`.
MAX_PREFIXES = 200_000


def _same_env(a: FiniteMDP, b: FiniteMDP) -> bool:
    if a is b:
        return True
    return (
        a.n_states == b.n_states
        and a.n_actions == b.n_actions
        and np.array_equal(a.initial, b.initial)
        and (a.transition_matrix != b.transition_matrix).nnz == 0
    )


class TrajectoryLottery:
    """The distribution ``L_pi`` over trajectories of a policy in an environment.

    Canonical form: the environment, the set of states reached with positive probability,
    and the policy's action distributions on those states. Rows of unreachable states do
    not matter and are replaced by the uniform distribution in :attr:`policy`.

    Parameters
    ----------
    env : FiniteMDP
    policy : Policy or array_like ``[S, A]``
    exact : bool
        Whether the quantitative methods compute in exact rationals (Fractions).

    Examples
    --------
    Two policies of E2 that differ only at the unreachable ``s1`` give the same lottery:

    >>> from objspec.environments import E2, E3
    >>> TrajectoryLottery(E2(), [[1, 0], [1, 0]]) == TrajectoryLottery(E2(), [[1, 0], [0, 1]])
    True
    >>> lot = TrajectoryLottery(E3(), [[0.25, 0.75], [1, 0]])
    >>> lot.reachable.tolist()
    [True, True]
    >>> lot.prefix_probability([0, 1], [0])  # s0, a, s1
    0.25
    """

    __slots__ = ("env", "exact", "reachable", "policy", "_key", "_hash")

    def __init__(self, env: FiniteMDP, policy: Any, *, exact: bool = False) -> None:
        pol = policy if isinstance(policy, Policy) else Policy(policy)
        probs = pol.probabilities
        if probs.shape != (env.n_states, env.n_actions):
            raise InvalidSpecificationError(
                f"policy is shaped {list(probs.shape)}, but the environment has "
                f"{env.n_states} states and {env.n_actions} actions"
            )
        self.env = env
        self.exact = exact
        self.reachable: np.ndarray = reachable_states(env, probs[None])[0]
        self.reachable.flags.writeable = False
        # unreachable states: uniform over the enabled actions (all, unless masked)
        counts = env.n_enabled
        if exact:
            rows = pol.exact_probabilities().copy()
            for s in np.flatnonzero(~self.reachable).tolist():
                share = Fraction(1, int(counts[s]))
                rows[s] = [share if on else Fraction(0) for on in env.enabled[s]]
        else:
            rows = probs.copy()
            rows[~self.reachable] = (env.enabled / counts[:, None])[~self.reachable]
        self.policy = Policy(rows)
        self._key: tuple[Any, ...] = (
            self.reachable.tobytes(),
            tuple(map(tuple, rows[self.reachable])) if exact else probs[self.reachable].tobytes(),
        )
        self._hash: int | None = None

    # ------------------------------------------------------------------ identity
    @property
    def key(self) -> tuple[Any, ...]:
        """Canonical key: reachable-state mask and the policy rows on those states.

        Equal for two policies of the same environment iff their lotteries are equal.
        """
        return self._key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TrajectoryLottery):
            return NotImplemented
        return self._key == other._key and _same_env(self.env, other.env)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self._key)
        return self._hash

    def __repr__(self) -> str:
        states = np.flatnonzero(self.reachable).tolist()
        return f"<TrajectoryLottery on reachable states {states} of {self.env!r}>"

    # ------------------------------------------------------------------ probabilities
    def prefix_probability(self, states: Any, actions: Any) -> Any:
        """``P(s_0, a_0, ..., s_n)`` (or ending with an action if ``len(actions) == len(states)``).

        A Fraction with ``exact=True``, else a float.
        """
        s = [int(x) for x in states]
        a = [int(x) for x in actions]
        if not (len(a) == len(s) or len(a) == len(s) - 1) or not s:
            raise InvalidSpecificationError(
                f"a prefix has n states and n or n - 1 actions; got {len(s)} and {len(a)}"
            )
        if self.exact:
            mu, tau, pi = self.env.exact_initial(), self.env.exact_transitions(), (
                self.policy.exact_probabilities())
            one: Any = Fraction(1)
        else:
            mu, tau, pi = self.env.initial, self.env.transitions, self.policy.probabilities
            one = 1.0
        prob = one * mu[s[0]]
        for t, act in enumerate(a):
            prob = prob * pi[s[t], act]
            if t + 1 < len(s):
                prob = prob * tau[s[t], act, s[t + 1]]
        return prob if self.exact else float(prob)

    def expectation(
        self, f: Callable[[np.ndarray, np.ndarray], Any], horizon: int, *,
        vectorized: bool = False, max_prefixes: int = MAX_PREFIXES,
    ) -> Any:
        """``E[f(s_0..s_H, a_0..a_{H-1})]`` exactly, by enumerating the prefixes of length ``H``.

        ``f`` receives the state array ``[H + 1]`` and action array ``[H]`` of one prefix
        (with ``vectorized=True``: ``[P, H + 1]`` and ``[P, H]``, returning ``[P]``).

        Examples
        --------
        >>> from objspec.environments import E4
        >>> lot = TrajectoryLottery(E4(), [[0.5, 0.5], [0.25, 0.75], [1, 0]])
        >>> lot.expectation(lambda s, a: float(a[0] == a[1]), horizon=2)  # same action twice
        0.5
        """
        prefixes = enumerate_prefixes(self.env, horizon, max_prefixes=max_prefixes,
                                      policies=self.policy.probabilities[None])
        fvals = prefixes.apply(f, vectorized=vectorized, exact=self.exact, what="function")
        if self.exact:
            probs = exact_prefix_probabilities(self.env, self.policy, prefixes)
            return sum((p * v for p, v in zip(probs, fvals, strict=True)), Fraction(0))
        probs_f = prefix_probabilities(self.policy.probabilities[None], prefixes)[0]
        return float(probs_f @ np.asarray(fvals, dtype=np.float64))

    # ------------------------------------------------------------------ discounted statistics
    def occupancy_measure(self, gamma: Any) -> np.ndarray:
        """``m_gamma(s, a, s')``, ``[S, A, S]`` (Fractions with ``exact=True``)."""
        if self.exact:
            return np.asarray(exact_occupancy_measure(self.env, self.policy, gamma))
        return np.asarray(occupancy_measure(self.env, self.policy, float(gamma)))

    def state_visitation(self, gamma: Any) -> np.ndarray:
        """``d_gamma(s) = sum_t gamma^t P(s_t = s)``, ``[S]``."""
        if self.exact:
            return np.asarray(exact_state_visitation(self.env, self.policy, gamma))
        return np.asarray(state_visitation(self.env, self.policy, float(gamma)))

    def expected_return(self, reward: Any, gamma: Any) -> Any:
        """``E[sum_t gamma^t R(x_t)]`` (Fraction with ``exact=True``)."""
        if self.exact:
            return Fraction(exact_expected_return(self.env, self.policy, reward, gamma))
        return float(evaluate(self.env, self.policy, reward, float(gamma)).returns)

    def return_moments(self, reward: Any, gamma: Any) -> tuple[Any, Any]:
        """Mean and second moment of the discounted return ``G = sum_t gamma^t R(x_t)``.

        Two linear systems: ``V = r_pi + gamma P V`` and
        ``W = E[R^2] + 2 gamma E[R V(s')] + gamma^2 P W`` (per state), read at ``mu0``.
        Exact in rationals with ``exact=True``; else a direct solve.

        Examples
        --------
        E3 with ``R = 1[(s0, a, s1)]``: ``G`` is Bernoulli(p), variance ``p (1 - p)``.

        >>> import numpy as np
        >>> from objspec.environments import E3
        >>> R = np.zeros((2, 2, 2)); R[0, 0, 1] = 1
        >>> mean, second = TrajectoryLottery(E3(), [[0.25, 0.75], [1, 0]]).return_moments(R, 0.9)
        >>> round(mean, 12), round(second - mean**2, 12)
        (0.25, 0.1875)
        """
        from objspec.formalisms._support import as_reward, fit_reward

        arr = as_reward(reward)
        S = self.env.n_states
        if self.exact:
            from objspec.mdp.exact import exact_rewards

            fit_reward(self.env, arr)
            R = exact_rewards(self.env, arr)
            tau = self.env.exact_transitions()
            pi = self.policy.exact_probabilities()
            g = exact_discount(gamma)
            P = np.einsum("sa,sat->st", pi, tau)
            weights = pi[:, :, None] * tau  # [S, A, S]
            eye = np.array([[Fraction(int(i == j)) for j in range(S)] for i in range(S)],
                           dtype=object)
            V = solve_rational(eye - g * P, (weights * R).sum(axis=(1, 2)))
            rhs = (weights * (R * R + 2 * g * R * V[None, None, :])).sum(axis=(1, 2))
            W = solve_rational(eye - g * g * P, rhs)
            mu = self.env.exact_initial()
            return sum(mu * V, Fraction(0)), sum(mu * W, Fraction(0))
        Rf = fit_reward(self.env, arr)
        gf = float(gamma)
        weights_f = self.policy.probabilities[:, :, None] * self.env.transitions
        Pf = weights_f.sum(axis=1)
        Vf = np.linalg.solve(np.eye(S) - gf * Pf, (weights_f * Rf).sum(axis=(1, 2)))
        rhs_f = (weights_f * (Rf * Rf + 2 * gf * Rf * Vf[None, None, :])).sum(axis=(1, 2))
        Wf = np.linalg.solve(np.eye(S) - gf * gf * Pf, rhs_f)
        return float(self.env.initial @ Vf), float(self.env.initial @ Wf)

    def return_distribution(
        self, reward: Any, gamma: Any, *, max_atoms: int = 20_000, max_steps: int = 10_000
    ) -> dict[Any, Any] | None:
        """The exact distribution ``{return: probability}`` of ``G``, or ``None``.

        ``None`` when the return does not take finitely many values within the limits (see
        :func:`return_distribution`). Keys are floats (Fractions with ``exact=True``).

        Examples
        --------
        >>> import numpy as np
        >>> from objspec.environments import E3
        >>> R = np.zeros((2, 2, 2)); R[0, 0, 1] = 1
        >>> TrajectoryLottery(E3(), [[0.25, 0.75], [1, 0]]).return_distribution(R, 0.5)
        {1.0: 0.25, 0.0: 0.75}
        """
        from objspec.formalisms._support import as_reward, fit_reward

        arr = as_reward(reward)
        if self.exact:
            from objspec.mdp.exact import exact_rewards

            fit_reward(self.env, arr)
            rewards = exact_rewards(self.env, arr)[None]
            probs: np.ndarray = self.policy.exact_probabilities()
            g: Any = exact_discount(gamma)
        else:
            rewards = fit_reward(self.env, arr)[None]
            probs = self.policy.probabilities
            g = float(gamma)
        dist = return_distribution(self.env, probs, rewards, g, exact=self.exact,
                                   max_atoms=max_atoms, max_steps=max_steps)
        if dist is None:
            return None
        return {k[0]: v for k, v in dist.items()}

    def sample(self, n_trajectories: int, horizon: int, *, seed: Any = 0) -> Trajectories:
        """``n_trajectories`` sampled trajectories of ``horizon`` steps (seeded)."""
        return sample_trajectories(self.env, self.policy, n_trajectories, horizon, seed=seed)

    def long_run_average(self, reward: Any) -> Any:
        """``lim (1/N) E[sum_{t<N} R(x_t)]`` (:mod:`objspec.mdp.longrun`)."""
        from objspec.mdp.longrun import exact_long_run_average, long_run_average

        if self.exact:
            return exact_long_run_average(self.env, self.policy, reward)
        return float(long_run_average(self.env, self.policy, reward))


# ---------------------------------------------------------------------- prefix enumeration
class Prefixes:
    """All prefixes ``(s_0, a_0, ..., s_H)`` of positive probability, with their env factor.

    Attributes
    ----------
    states : numpy.ndarray
        ``[P, H + 1]`` ints.
    actions : numpy.ndarray
        ``[P, H]`` ints.
    env_probability : numpy.ndarray
        ``[P]``: ``mu0(s_0) prod_t tau(s_{t+1} | s_t, a_t)``.
    """

    def __init__(self, states: np.ndarray, actions: np.ndarray, env_probability: np.ndarray
                 ) -> None:
        self.states = states
        self.actions = actions
        self.env_probability = env_probability

    def __len__(self) -> int:
        return int(self.states.shape[0])

    def apply(self, f: Callable[..., Any], *, vectorized: bool, exact: bool, what: str
              ) -> list[Any]:
        """``f`` on every prefix, validated (finite reals; exact Fractions if ``exact``)."""
        from objspec.formalisms._support import exact_real, user_real

        conv = exact_real if exact else user_real
        if vectorized:
            out = np.asarray(f(self.states, self.actions))
            if out.shape != (len(self),):
                raise InvalidSpecificationError(
                    f"vectorized {what} returned shape {out.shape}; expected [{len(self)}]"
                )
            return [conv(v, f"{what} on prefix {i}") for i, v in enumerate(out.tolist())]
        return [
            conv(f(self.states[i], self.actions[i]), f"{what} on prefix {i}")
            for i in range(len(self))
        ]


def enumerate_prefixes(
    env: FiniteMDP, horizon: int, *, max_prefixes: int = MAX_PREFIXES,
    policies: np.ndarray | None = None,
) -> Prefixes:
    """Every prefix of ``horizon`` steps with positive probability.

    Without ``policies`` every action is allowed; with ``policies [N, S, A]`` only actions
    some policy takes. Raises :class:`~objspec.errors.InvalidSpecificationError` when there
    are more than ``max_prefixes`` (use Monte Carlo then).

    Examples
    --------
    >>> from objspec.environments import E3
    >>> pre = enumerate_prefixes(E3(), 2)
    >>> len(pre), pre.states[0].tolist(), pre.actions[0].tolist()
    (4, [0, 1, 1], [0, 0])
    """
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 0:
        raise InvalidSpecificationError(f"horizon = {horizon!r} must be an integer >= 0")
    S, A = env.n_states, env.n_actions
    allowed: np.ndarray = (
        np.ones((S, A), dtype=bool) if policies is None else np.asarray((policies > 0).any(axis=0))
    )
    tau = env.transitions
    s0 = np.flatnonzero(env.initial > 0)
    states = s0[:, None]
    actions = np.zeros((len(s0), 0), dtype=np.int64)
    prob = env.initial[s0].astype(np.float64)
    succ = [[np.flatnonzero(tau[s, a] > 0) for a in range(A)] for s in range(S)]
    for _ in range(int(horizon)):
        rows_s, rows_a, rows_n, idx = [], [], [], []
        last = states[:, -1]
        for s in np.unique(last):
            members = np.flatnonzero(last == s)
            for a in np.flatnonzero(allowed[s]):
                nxt = succ[s][a]
                rows_s.append(np.repeat(members, len(nxt)))
                rows_a.append(np.full(len(members) * len(nxt), a))
                rows_n.append(np.tile(nxt, len(members)))
                idx.append(np.full(len(members) * len(nxt), s))
        parent = np.concatenate(rows_s) if rows_s else np.zeros(0, dtype=np.int64)
        if parent.size > max_prefixes:
            raise InvalidSpecificationError(
                f"{parent.size} prefixes of length <= {horizon} exceed max_prefixes = "
                f"{max_prefixes}; use Monte Carlo (method='monte carlo') or a larger limit"
            )
        act = np.concatenate(rows_a).astype(np.int64)
        nxt_s = np.concatenate(rows_n).astype(np.int64)
        from_s = np.concatenate(idx).astype(np.int64)
        order = np.lexsort((nxt_s, act, parent))
        parent, act, nxt_s, from_s = parent[order], act[order], nxt_s[order], from_s[order]
        states = np.concatenate([states[parent], nxt_s[:, None]], axis=1)
        actions = np.concatenate([actions[parent], act[:, None]], axis=1)
        prob = prob[parent] * tau[from_s, act, nxt_s]
    return Prefixes(states.astype(np.int64), actions, prob)


def prefix_probabilities(policies: np.ndarray, prefixes: Prefixes) -> np.ndarray:
    """``[N, P]``: probability of every prefix under every policy of ``[N, S, A]``, batched.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.environments import E3
    >>> pre = enumerate_prefixes(E3(), 1)
    >>> prefix_probabilities(np.array([[[0.25, 0.75], [1.0, 0.0]]]), pre)
    array([[0.25, 0.75]])
    """
    if prefixes.actions.shape[1] == 0:
        return np.broadcast_to(prefixes.env_probability, (policies.shape[0], len(prefixes)))
    taken = policies[:, prefixes.states[:, :-1], prefixes.actions]  # [N, P, H]
    return np.asarray(taken.prod(axis=2) * prefixes.env_probability[None, :])


def exact_prefix_probabilities(env: FiniteMDP, policy: Policy, prefixes: Prefixes
                               ) -> list[Fraction]:
    """Exact probability of every prefix under one policy (Fractions).

    Examples
    --------
    >>> from fractions import Fraction as F
    >>> from objspec.environments import E3
    >>> pi = Policy([[F(1, 3), F(2, 3)], [F(1), F(0)]])
    >>> [str(p) for p in exact_prefix_probabilities(E3(), pi, enumerate_prefixes(E3(), 1))]
    ['1/3', '2/3']
    """
    mu, tau, pi = env.exact_initial(), env.exact_transitions(), policy.exact_probabilities()
    out = []
    for states, actions in zip(prefixes.states.tolist(), prefixes.actions.tolist(), strict=True):
        prob = mu[states[0]]
        for t, a in enumerate(actions):
            prob = prob * pi[states[t], a] * tau[states[t], a, states[t + 1]]
        out.append(Fraction(prob))
    return out


# ---------------------------------------------------------------------- return distributions
def _zero_reward_closed(env: FiniteMDP, probs: np.ndarray, rewards: np.ndarray) -> np.ndarray:
    """States from which no transition with non-zero reward is reachable under ``probs``."""
    from scipy.sparse import csr_matrix

    from objspec.mdp.graph import reachable

    S = env.n_states
    step = (probs != 0)[:, :, None] & (env.transitions > 0)  # [S, A, S]
    nonzero = np.array(
        [[[any(r != 0 for r in rewards[:, s, a, t]) for t in range(S)]
          for a in range(env.n_actions)] for s in range(S)]
    ) if rewards.dtype == object else (rewards != 0).any(axis=0)
    bad = (step & nonzero).any(axis=(1, 2))
    succ = step.any(axis=1)  # [S, S]
    return ~reachable(csr_matrix(succ), np.flatnonzero(bad), backward=True)


def _open_cycle(env: FiniteMDP, probs: np.ndarray, closed: np.ndarray) -> bool:
    """Whether a reachable cycle avoids the zero-reward-closed states (read exactly)."""
    from scipy.sparse import csr_matrix

    from objspec.mdp.graph import strongly_connected_components

    step = ((probs != 0)[:, :, None] & (env.transitions > 0)).any(axis=1)  # [S, S]
    reach = reachable_states(env, (probs != 0).astype(np.float64)[None])[0]
    live = reach & ~closed
    sub = step[np.ix_(live, live)]
    if not sub.size:
        return False
    if np.any(np.diag(sub)):
        return True
    n, labels = strongly_connected_components(csr_matrix(sub))
    return bool(n < sub.shape[0])


def return_distribution(
    env: FiniteMDP,
    probs: np.ndarray,
    rewards: np.ndarray,
    gamma: Any,
    *,
    exact: bool = False,
    max_atoms: int = 20_000,
    max_steps: int = 10_000,
) -> dict[tuple[Any, ...], Any] | None:
    """Exact distribution of the vector return ``G_i = sum_t gamma^t R_i(x_t)``, or ``None``.

    ``probs`` is one policy ``[S, A]`` and ``rewards`` is ``[k, S, A, S]`` (Fractions and
    a Fraction ``gamma`` with ``exact=True``). Dynamic programming over atoms
    ``(state, partial return vector)``; an atom is final when its state can reach no
    transition with non-zero reward, or when ``gamma^t = 0``. Returns ``None`` at once when
    a reachable cycle of the support graph avoids those final states (then trajectories can
    collect reward for ever; decided exactly from the supports), and also if more than
    ``max_atoms`` atoms are alive at once or atoms are still alive after ``max_steps``.
    Without such a cycle every atom is final within ``S`` steps.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.environments import E4
    >>> R = np.zeros((1, 3, 2, 3)); R[0, :2, 0, :] = 1  # 1 for action a at s0 and s1
    >>> dist = return_distribution(E4(), np.full((3, 2), 0.5), R, 0.5)
    >>> sorted(dist.items())
    [((0.0,), 0.25), ((0.5,), 0.25), ((1.0,), 0.25), ((1.5,), 0.25)]
    """
    S, A = env.n_states, env.n_actions
    k = rewards.shape[0]
    if exact:
        mu = env.exact_initial()
        tau = env.exact_transitions()
        zero: Any = Fraction(0)
        discount: Any = Fraction(1)
    else:
        mu, tau = env.initial, env.transitions
        zero, discount = 0.0, 1.0
    closed = _zero_reward_closed(env, probs, rewards)
    if not (isinstance(gamma, int | float | Fraction) and gamma == 0) and _open_cycle(
        env, probs, closed
    ):
        return None  # trajectories can collect reward forever: infinitely many steps
    conv: Callable[[Any], Any] = Fraction if exact else float
    moves = [
        [(a, t, conv(probs[s, a] * tau[s, a, t]), tuple(conv(x) for x in rewards[:, s, a, t]))
         for a in range(A) if probs[s, a] != 0 for t in range(S) if tau[s, a, t] != 0]
        for s in range(S)
    ]
    atoms: dict[tuple[int, tuple[Any, ...]], Any] = {}
    for s in range(S):
        if mu[s] != 0:
            atoms[(s, (zero,) * k)] = conv(mu[s])
    final: dict[tuple[Any, ...], Any] = {}
    for step in range(max_steps + 1):
        alive: dict[tuple[int, tuple[Any, ...]], Any] = {}
        for (s, G), p in atoms.items():
            if closed[s] or (step > 0 and discount == 0):
                final[G] = final.get(G, zero) + p
            else:
                alive[(s, G)] = p
        if not alive:
            return final
        if step == max_steps:
            return None
        new: dict[tuple[int, tuple[Any, ...]], Any] = {}
        for (s, G), p in alive.items():
            for _, t, w, r in moves[s]:
                G2 = tuple(g + discount * ri for g, ri in zip(G, r, strict=True))
                key = (t, G2)
                new[key] = new.get(key, zero) + p * w
            if len(new) > max_atoms:
                return None
        atoms = new
        discount = discount * gamma
    return None  # pragma: no cover - the loop returns


# ---------------------------------------------------------------------- Monte Carlo
def truncation_bound(gamma: float, rmax: float, horizon: int) -> float:
    """``gamma^H max|R| / (1 - gamma)``: the most a discounted return changes after ``H`` steps.

    Examples
    --------
    >>> truncation_bound(0.5, 1.0, 3)
    0.25
    """
    return float(gamma**horizon * rmax / (1.0 - gamma))


def truncation_horizon(gamma: float, rmax: float, tolerance: float) -> int:
    """Smallest ``H`` with ``gamma^H max|R| / (1 - gamma) <= tolerance``.

    Examples
    --------
    >>> truncation_horizon(0.5, 1.0, 1e-3)
    11
    """
    if rmax == 0 or gamma == 0:
        return 1
    need = math.log(tolerance * (1.0 - gamma) / rmax) / math.log(gamma)
    return max(1, math.ceil(need))


def sample_return_vectors(
    env: FiniteMDP, policy: np.ndarray, rewards: np.ndarray, gamma: float,
    n_samples: int, horizon: int, seed: Any,
) -> np.ndarray:
    """``[M, k]`` discounted returns of ``M`` trajectories cut at ``horizon`` steps.

    ``rewards`` is ``[k, S, A, S]``; ``seed`` seeds :func:`sample_trajectories`.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec.environments import E1
    >>> R = np.ones((1, 1, 3, 1))
    >>> sample_return_vectors(E1(), np.full((1, 3), 1 / 3), R, 0.5, 2, 3, seed=0)
    array([[1.75],
           [1.75]])
    """
    states, actions = sample_trajectories(env, policy, n_samples, horizon, seed=seed)
    per_step = rewards[:, states[:, :-1], actions, states[:, 1:]]  # [k, M, H]
    weights = gamma ** np.arange(horizon, dtype=np.float64)
    return np.asarray((per_step @ weights).T)

