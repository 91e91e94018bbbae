"""The reward-machine engine: guarded edges, the product chain ``S x U`` and exact values.

A reward machine has states ``U``, an initial state ``u0`` and edges ``(u, u', guard, reward)``:
``guard`` is a propositional formula over the atomic propositions, ``reward`` a number or a
Markov reward array (``[S]``: a function of ``s_t``; ``[S, A]``; ``[S, A, S]``). At step ``t`` the
machine reads the label ``L(x_t)`` of the transition ``x_t = (s_t, a_t, s_{t+1})`` (with state
labels, ``L(s_t)``), takes the edge of ``u_t`` whose guard holds, moves to
``u_{t+1} = u'`` and pays ``reward(x_t)``, discounted by ``gamma^t``. If no guard holds the
machine stays in ``u_t`` and pays 0. Two guards of one state that can hold together are an
error, so the machine is deterministic; parallel edges with different guards are fine. (The
reward_machines project's first-match semantics are compiled into such disjoint guards by
:meth:`objspec.formalisms.RewardMachine.from_text`.)

The value of a policy is ``mu0 . V(., u0)`` where ``V`` solves the linear system of the product
chain on ``S x U``: ``V(s, u) = sum_a pi(a|s) sum_s' tau(s'|s, a) [r_e(s, a, s') +
gamma V(s', u_e)]``, ``e`` the edge taken on ``L(s, a, s')``. It is solved by sparse LU (float64)
or in exact rational arithmetic.

Examples
--------
>>> import numpy as np
>>> from objspec import FiniteMDP, Policy
>>> from objspec.ltl.reward_machines import CompiledRewardMachine
>>> P = np.zeros((2, 1, 2)); P[0, 0] = [0.5, 0.5]; P[1, 0, 1] = 1.0
>>> env = FiniteMDP(P, [1.0, 0.0], labels={1: ["goal"]})
>>> rm = CompiledRewardMachine([(0, 1, "goal", 1.0), (1, 1, "true", 0.0)], 0, 0.5, env)
>>> rm.values(Policy.uniform(2, 1))
array([0.33333333])
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.sparse as sp

from objspec.errors import InvalidSpecificationError, SolverError
from objspec.ltl import product
from objspec.ltl import syntax as s
from objspec.ltl.automaton import AcceptanceConstant, DeterministicAutomaton, guard_letters
from objspec.ltl.parser import check_propositions, parse_guard
from objspec.ltl.product import (
    ProductSkeleton,
    finite_spsolve,
    solve_block_diagonal,
)
from objspec.mdp.chunks import in_chunks, worker_count
from objspec.mdp.exact import solve_rational
from objspec.mdp.graph import adjacency, reachable
from objspec.mdp.linear import check_tolerances
from objspec.mdp.model import FiniteMDP, rational_array, to_fraction
from objspec.mdp.policy import as_policy_batch, exact_policy_batch
from objspec.mdp.rewards import check_discount, normalize_rewards

__all__ = [
    "MachineEdge",
    "parse_edges",
    "guard_letters",
    "CompiledRewardMachine",
    "RewardMachineSolution",
    "MAX_EXACT_STATES",
]

#: Largest product chain solved in exact rational arithmetic.
MAX_EXACT_STATES = 600


@dataclass(frozen=True)
class MachineEdge:
    """One guarded edge ``source --guard / reward--> target`` of a reward machine."""

    source: Hashable
    target: Hashable
    guard: s.Formula
    reward: Any

    @property
    def reward_is_constant(self) -> bool:
        """Whether the reward is a number (rather than a Markov reward array)."""
        return np.ndim(self.reward) == 0


def _check_reward(reward: Any, where: str) -> Any:
    """A finite number (kept exact if rational) or a finite array (kept exact if rational)."""
    if isinstance(reward, bool | np.bool_):
        raise InvalidSpecificationError(f"{where}: reward {reward!r} is a bool, not a number")
    if np.ndim(reward) == 0:
        try:
            value = float(reward)
        except (TypeError, ValueError):
            raise InvalidSpecificationError(f"{where}: reward {reward!r} is not a number") from None
        if not np.isfinite(value):
            raise InvalidSpecificationError(f"{where}: reward {reward!r} is not finite")
        try:
            return to_fraction(reward) if not isinstance(reward, float | np.floating) else value
        except TypeError:
            return value
    try:
        arr = np.asarray(reward, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidSpecificationError(f"{where}: reward is not numeric") from None
    if arr.ndim > 3:
        raise InvalidSpecificationError(
            f"{where}: reward has shape {arr.shape}; expected a number, [S], [S, A] or [S, A, S]"
        )
    if not np.all(np.isfinite(arr)):
        idx = [int(i) for i in np.argwhere(~np.isfinite(arr))[0]]
        raise InvalidSpecificationError(f"{where}: reward{idx} is not finite")
    exact = rational_array(reward)
    return exact if exact is not None else arr


def parse_edges(edges: Iterable[Any]) -> list[MachineEdge]:
    """Validate ``(u, u_next, guard, reward)`` tuples into :class:`MachineEdge` objects.

    Raises
    ------
    InvalidSpecificationError
        On a malformed tuple, a guard with temporal operators or a bad reward (naming the edge).
    """
    out = []
    for i, edge in enumerate(edges):
        if isinstance(edge, MachineEdge):
            out.append(edge)
            continue
        try:
            u, v, guard, reward = edge
        except (TypeError, ValueError):
            raise InvalidSpecificationError(
                f"edge {i} must be a tuple (u, u_next, guard, reward); got {edge!r}"
            ) from None
        for node in (u, v):
            try:
                hash(node)
            except TypeError:
                raise InvalidSpecificationError(
                    f"edge {i}: machine state {node!r} is not hashable"
                ) from None
        where = f"edge {i} ({u!r} -> {v!r})"
        try:
            formula = parse_guard(guard)
        except InvalidSpecificationError as exc:
            raise type(exc)(f"{where}: {exc}") from None
        out.append(MachineEdge(u, v, formula, _check_reward(reward, where)))
    if not out:
        raise InvalidSpecificationError("a reward machine needs at least one edge")
    return out


def machine_tables(
    edges: list[MachineEdge], initial: Hashable
) -> tuple[list[Hashable], tuple[str, ...], np.ndarray, np.ndarray]:
    """States (initial first), propositions, successor and edge-index tables ``[U, 2**k]``.

    The edge index is ``-1`` where no guard holds (the machine stays, reward 0).

    Raises
    ------
    InvalidSpecificationError
        If two guards of one state can hold together (naming both edges and a letter), or the
        initial state is not hashable or has no outgoing edge (the machine would wait there
        forever, worth 0 under every policy).
    """
    try:
        hash(initial)
    except TypeError:
        raise InvalidSpecificationError(
            f"the initial machine state {initial!r} is not hashable; machine states are "
            "hashable values such as 0 or 'u0' (not a list)"
        ) from None
    if not any(e.source == initial for e in edges):
        sources = sorted({repr(e.source) for e in edges})
        raise InvalidSpecificationError(
            f"the initial machine state {initial!r} has no outgoing edge (edges leave "
            f"{', '.join(sources)}); the machine would never move and every policy would be "
            "worth 0"
        )
    states: list[Hashable] = [initial]
    index: dict[Hashable, int] = {initial: 0}
    for e in edges:
        for node in (e.source, e.target):
            if node not in index:
                index[node] = len(states)
                states.append(node)
    props = tuple(sorted(set().union(*(e.guard.atoms() for e in edges))))
    if len(props) > 16:
        raise InvalidSpecificationError(
            f"the guards mention {len(props)} propositions; at most 16 are supported"
        )
    n_letters = 1 << len(props)
    succ = np.tile(np.arange(len(states))[:, None], (1, n_letters))
    edge_of = np.full((len(states), n_letters), -1, dtype=np.int64)
    for i, e in enumerate(edges):
        u = index[e.source]
        holds = guard_letters(e.guard, props)
        clash = holds & (edge_of[u] >= 0)
        if clash.any():
            letter = int(np.argmax(clash))
            other = int(edge_of[u, letter])
            label = "{" + ", ".join(p for j, p in enumerate(props) if letter >> j & 1) + "}"
            raise InvalidSpecificationError(
                f"guards {str(edges[other].guard)!r} (edge {other}) and {str(e.guard)!r} "
                f"(edge {i}) of machine state {e.source!r} both hold on the label {label}; "
                "a reward machine must be deterministic"
            )
        edge_of[u, holds] = i
        succ[u, holds] = index[e.target]
    return states, props, succ, edge_of


class _TableMachine:
    def __init__(self, props: tuple[str, ...], succ: np.ndarray) -> None:
        self.propositions = props
        self.successors = succ
        self.initial = 0


@dataclass(frozen=True)
class RewardMachineSolution:
    """An optimal policy of a reward machine on the product MDP ``S x U``.

    Attributes
    ----------
    value : float
        The optimal expected discounted reward from ``mu0`` (within ``error_bound``).
    values : ndarray ``[S, U]``
        Optimal values of the product states (0 for pairs not reachable from ``mu0``).
    policy : ndarray ``[S, U]`` of int
        An optimal action for every product state: the policy plays ``policy[s_t, u_t]``.
    error_bound : float
        Certified sup-norm bound on the error of ``values``.
    policy_value : float
        The exact (linear-solve) value of ``policy`` from ``mu0``.
    machine_states : list
        The machine states, in the column order of ``values`` and ``policy``.
    """

    value: float
    values: np.ndarray
    policy: np.ndarray
    error_bound: float
    policy_value: float
    machine_states: list[Hashable]


class CompiledRewardMachine:
    """A reward machine bound to an environment: its product skeleton and entry rewards.

    Parameters
    ----------
    edges : iterable of ``(u, u_next, guard, reward)`` or MachineEdge
    initial : hashable
        The initial machine state.
    gamma : float or Fraction
        Discount in ``[0, 1)``.
    env : FiniteMDP
        The labelled environment.

    Raises
    ------
    InvalidSpecificationError
        On overlapping guards, propositions the environment lacks, reward shapes that do not
        fit the environment, or a discount outside ``[0, 1)``.
    """

    def __init__(self, edges: Iterable[Any], initial: Hashable, gamma: Any,
                 env: FiniteMDP) -> None:
        self.edges = parse_edges(edges)
        self.gamma = gamma
        self._gamma = check_discount(gamma)
        self.env = env
        self.states, self.propositions, self.successors, self.edge_of = machine_tables(
            self.edges, initial
        )
        for i, e in enumerate(self.edges):
            check_propositions(e.guard, env.propositions, f"the guard {str(e.guard)!r} of edge {i}")
        self._rewards: list[np.ndarray | float] = []
        for i, e in enumerate(self.edges):
            if e.reward_is_constant:
                self._rewards.append(float(e.reward))
            else:
                arr, kind, _ = normalize_rewards(
                    env, np.asarray(e.reward, dtype=np.float64), batched=False,
                    what=f"the reward of edge {i}",
                )
                full = _broadcast(arr[0], kind, env)
                self._rewards.append(full)
        self.skeleton = ProductSkeleton(env, _TableMachine(self.propositions, self.successors))
        self.entry_reward = self._entry_rewards()
        self._exact_cache: tuple[list[Fraction], list[Fraction]] | None = None
        self._memory: DeterministicAutomaton | None = None

    def _entry_rewards(self) -> np.ndarray:
        sk, env = self.skeleton, self.env
        q = sk.machine_state[sk.entry_source]
        edge = self.edge_of[q, sk.entry_letter]
        out = np.zeros(edge.size)
        matrix = env.transition_matrix
        rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))[sk.entry_env]
        s_now, a_now = rows // env.n_actions, rows % env.n_actions
        s_next = matrix.indices[sk.entry_env]
        for i, r in enumerate(self._rewards):
            sel = edge == i
            if not sel.any():
                continue
            if isinstance(r, float):
                out[sel] = r
            else:
                out[sel] = r[s_now[sel], a_now[sel], s_next[sel]]
        return out

    def values(self, policies: Any, *, workers: int | None = None) -> np.ndarray:
        """Expected discounted reward of each policy (float64 ``[N]``).

        Products of at most ``objspec.ltl.product.DIRECT_MAX_UNKNOWNS`` states are solved
        by sparse LU, larger ones by the batched iterative solver
        :func:`objspec.ltl.product.solve_block_diagonal` (relative residual ``1e-12``,
        sparse LU as the fallback). The batch is cut into chunks solved by ``workers``
        threads, as in :func:`objspec.ltl.product.satisfaction_probabilities`; the values do
        not depend on ``workers``.
        """
        env = self.env
        batch, _ = as_policy_batch(policies, env.n_states, env.n_actions, enabled=env.enabled)
        out = in_chunks(batch.shape[0], self.skeleton.entry_env.size, worker_count(workers),
                        lambda lo, hi: self._solve_block(batch[lo:hi]))
        if not np.all(np.isfinite(out)):
            i = int(np.argmax(~np.isfinite(out)))
            raise InvalidSpecificationError(
                f"the reward-machine value of policy {i} is not finite (singular system)"
            )
        return out

    def _solve_block(self, batch: np.ndarray) -> np.ndarray:
        sk = self.skeleton
        return self._solve_entries(batch[:, sk.env_state[sk.entry_source], sk.entry_action])

    def entry_values(self, w: np.ndarray) -> np.ndarray:
        """Values (float64 ``[N]``, from ``mu0``) of policies on the product given by the
        probability ``w[n, e]`` with which policy ``n`` takes the action of entry ``e`` in
        its product state: finite-memory policies whose memory is the machine state.

        Raises
        ------
        InvalidSpecificationError
            If a value is not finite (singular system).
        """
        w = np.asarray(w, dtype=np.float64)
        if w.ndim != 2 or w.shape[1] != self.skeleton.entry_source.size:
            raise InvalidSpecificationError(
                f"entry weights must be shaped [N, {self.skeleton.entry_source.size}]; got "
                f"{list(w.shape)}")
        out = self._solve_entries(w)
        if not np.all(np.isfinite(out)):
            raise InvalidSpecificationError(
                "a reward-machine value is not finite (singular system)")
        return out

    def _solve_entries(self, w: np.ndarray) -> np.ndarray:
        sk = self.skeleton
        K, N = sk.n_states, w.shape[0]
        if K > product.DIRECT_MAX_UNKNOWNS:
            return self._solve_iteratively(w)
        pol, ent = np.nonzero(w > 0)
        src = pol * K + sk.entry_source[ent]
        dst = pol * K + sk.entry_target[ent]
        prob = w[pol, ent] * sk.entry_probability[ent]
        n = N * K
        roots = (np.arange(N)[:, None] * K + sk.initial_states[None, :]).ravel()
        reach = reachable(adjacency(n, src, dst), roots)
        idx = np.flatnonzero(reach)
        pos = np.full(n, -1, dtype=np.int64)
        pos[idx] = np.arange(idx.size)
        keep = reach[src]
        m = idx.size
        matrix = sp.identity(m, format="csr") - self._gamma * sp.csr_matrix(
            (prob[keep], (pos[src[keep]], pos[dst[keep]])), shape=(m, m)
        )
        rhs = np.bincount(pos[src[keep]], weights=prob[keep] * self.entry_reward[ent[keep]],
                          minlength=m)
        v = np.zeros(n)
        v[idx] = finite_spsolve(matrix.tocsc(), rhs)
        return v[roots].reshape(N, -1) @ sk.initial_weights

    def _solve_iteratively(self, w: np.ndarray) -> np.ndarray:
        """Large products: ``(I - gamma P) V = r`` for all policies at once. With the
        self-loops on the diagonal ``D = I - gamma diag(P)``, the Jacobi-scaled system
        ``(I - gamma P_off D^-1) y = r``, ``V = D^-1 y``, goes to
        :func:`objspec.ltl.product.solve_block_diagonal` (sparse LU fills in on random MDPs);
        a policy whose residual stays too large is solved by LU."""
        sk = self.skeleton
        K, N = sk.n_states, w.shape[0]
        used = w > 0
        pol, ent = np.nonzero(used)  # row-major: rows come out sorted
        prob = w[pol, ent] * sk.entry_probability[ent]
        rows = pol * K + sk.entry_source[ent]
        cols = pol * K + sk.entry_target[ent]
        size = N * K
        rhs = np.bincount(rows, weights=prob * self.entry_reward[ent], minlength=size)
        loops = rows == cols
        diagonal = 1.0 - self._gamma * np.bincount(rows[loops], weights=prob[loops],
                                                   minlength=size)
        inverse = 1.0 / diagonal
        off = ~loops
        indptr = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows[off], minlength=size), out=indptr[1:])
        step = sp.csr_matrix(
            (self._gamma * prob[off] * inverse[cols[off]], cols[off], indptr),
            shape=(size, size),
        )
        y, ok = solve_block_diagonal(step, rhs.reshape(N, K))
        v = y * inverse.reshape(N, K)
        for j in np.flatnonzero(~ok).tolist():
            sel = used[j]
            matrix = sp.identity(K, format="csr") - self._gamma * sp.csr_matrix(
                (sk.entry_probability[sel] * w[j, sel],
                 (sk.entry_source[sel], sk.entry_target[sel])), shape=(K, K))
            r = np.bincount(sk.entry_source[sel], minlength=K,
                            weights=sk.entry_probability[sel] * w[j, sel]
                            * self.entry_reward[sel])
            v[j] = finite_spsolve(matrix.tocsc(), r)
        return v[:, sk.initial_states] @ sk.initial_weights

    def exact_values(self, policies: Any) -> list[Fraction]:
        """Values in exact rational arithmetic (one Fraction per policy).

        Rewards, discount, transitions and policies are converted exactly (floats as the
        dyadic rationals they are).
        """
        sk, env = self.skeleton, self.env
        entry_r, entry_p = self._exact_entries()
        out = []
        for pi in exact_policy_batch(policies, env.n_states, env.n_actions, enabled=env.enabled):
            w = [pi[int(s_), int(a_)] for s_, a_ in
                 zip(sk.env_state[sk.entry_source], sk.entry_action, strict=True)]
            out.append(self._exact_from_mu0(self._exact_solve(w, entry_r, entry_p)))
        return out

    def exact_entry_value(self, w: Sequence[Fraction]) -> Fraction:
        """The value from ``mu0``, in rationals, of the policy on the product that takes
        the action of entry ``e`` with probability ``w[e]`` (see :meth:`entry_values`)."""
        entry_r, entry_p = self._exact_entries()
        return self._exact_from_mu0(self._exact_solve(list(w), entry_r, entry_p))

    def _exact_from_mu0(self, v: dict[int, Fraction]) -> Fraction:
        sk, env = self.skeleton, self.env
        mu0 = env.exact_initial()
        total = Fraction(0)
        for k, s0 in zip(sk.initial_states.tolist(), sk.roots.tolist(), strict=True):
            total += mu0[s0] * v.get(k, Fraction(0))
        return total

    def _exact_entries(self) -> tuple[list[Fraction], list[Fraction]]:
        """Exact reward and transition probability of each skeleton entry (cached)."""
        if self._exact_cache is not None:
            return self._exact_cache
        sk, env = self.skeleton, self.env
        tau = env.exact_transitions()
        matrix = env.transition_matrix
        rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))[sk.entry_env]
        A = env.n_actions
        s_now, a_now, s_next = rows // A, rows % A, matrix.indices[sk.entry_env]
        q = sk.machine_state[sk.entry_source]
        edge = self.edge_of[q, sk.entry_letter]
        exact_rewards: list[Fraction | np.ndarray] = []
        for e in self.edges:
            if e.reward_is_constant:
                exact_rewards.append(to_fraction(e.reward))
            else:
                arr = np.asarray(e.reward, dtype=object)
                full = np.empty(arr.shape, dtype=object)
                full.ravel()[:] = [to_fraction(x) for x in arr.ravel()]
                exact_rewards.append(_broadcast(full, full.ndim, env))
        entry_r: list[Fraction] = []
        entry_p: list[Fraction] = []
        for j in range(sk.entry_env.size):
            i = int(edge[j])
            sa, aa, ta = int(s_now[j]), int(a_now[j]), int(s_next[j])
            if i < 0:
                entry_r.append(Fraction(0))
            else:
                r = exact_rewards[i]
                entry_r.append(r if isinstance(r, Fraction) else r[sa, aa, ta])
            entry_p.append(tau[sa, aa, ta])
        self._exact_cache = (entry_r, entry_p)
        return entry_r, entry_p

    def _exact_solve(self, w: list[Fraction], entry_r: list[Fraction],
                     entry_p: list[Fraction], *, everywhere: bool = False
                     ) -> dict[int, Fraction]:
        """Exact values ``{k: V(k)}`` of the product states reachable from ``mu0`` under
        the entry weights ``w`` (of every product state with ``everywhere``)."""
        sk = self.skeleton
        g = to_fraction(self.gamma)
        ent = [j for j in range(len(w)) if w[j] > 0]
        src = sk.entry_source[ent]
        dst = sk.entry_target[ent]
        reach = (np.arange(sk.n_states) if everywhere else np.flatnonzero(
            reachable(adjacency(sk.n_states, src, dst), sk.initial_states)))
        if reach.size > MAX_EXACT_STATES:
            raise InvalidSpecificationError(
                f"exact evaluation needs {reach.size} product states; at most "
                f"{MAX_EXACT_STATES} are solved in rational arithmetic"
            )
        pos = {int(k): i for i, k in enumerate(reach.tolist())}
        m = len(pos)
        system = np.array([[Fraction(int(i == j)) for j in range(m)] for i in range(m)],
                          dtype=object)
        rhs = np.array([Fraction(0)] * m, dtype=object)
        for j in ent:
            row = pos.get(int(sk.entry_source[j]))
            if row is None:
                continue
            p = w[j] * entry_p[j]
            system[row, pos[int(sk.entry_target[j])]] -= g * p
            rhs[row] += p * entry_r[j]
        v = solve_rational(system, rhs)
        return {k: v[i] for k, i in pos.items()}

    def memory_automaton(self) -> DeterministicAutomaton:
        """The machine's transition structure as a deterministic automaton (acceptance
        ``t``): the memory of finite-memory policies whose memory is the machine state
        (:class:`objspec.ltl.optimise.FiniteMemoryPolicy`). Machine state ``i`` is
        ``self.states[i]``."""
        if self._memory is None:
            self._memory = DeterministicAutomaton(
                self.propositions, self.successors, np.zeros_like(self.successors),
                AcceptanceConstant(True), 0, 0,
                state_names=[str(u) for u in self.states], name="reward machine")
        return self._memory

    def exact_optimise(self, choice: np.ndarray, *, max_iterations: int = 1000
                       ) -> tuple[Fraction, np.ndarray, int]:
        """Policy iteration on the product ``S x U`` in rational arithmetic, from the
        deterministic product policy ``choice`` (``[K]`` actions).

        Each step solves the policy's values on every product state exactly and switches a
        state to an action whose exact Q value is strictly larger; when none is, the values
        satisfy the Bellman optimality equation, so the policy is optimal (the Bellman
        operator of a discounted MDP is a contraction: its only fixed point is ``V*``).

        Returns
        -------
        (Fraction, ndarray, int)
            The optimal value from ``mu0``, the optimal product policy ``[K]`` and the
            number of policy-iteration steps.

        Raises
        ------
        InvalidSpecificationError
            With more than :data:`MAX_EXACT_STATES` product states, or if
            ``max_iterations`` steps did not converge.
        """
        sk = self.skeleton
        K, A = sk.n_states, self.env.n_actions
        entry_r, entry_p = self._exact_entries()
        g = to_fraction(self.gamma)
        choice = np.asarray(choice, dtype=np.int64).copy()
        src, act, dst = (sk.entry_source.tolist(), sk.entry_action.tolist(),
                         sk.entry_target.tolist())
        for step in range(1, max_iterations + 1):
            w = [Fraction(int(choice[k] == a)) for k, a in zip(src, act, strict=True)]
            v = self._exact_solve(w, entry_r, entry_p, everywhere=True)
            q: dict[tuple[int, int], Fraction] = {}
            for e, (k, a, d) in enumerate(zip(src, act, dst, strict=True)):
                q[(k, a)] = q.get((k, a), Fraction(0)) + entry_p[e] * (entry_r[e] + g * v[d])
            changed = False
            best: dict[int, tuple[Fraction, int]] = {}
            for (k, a), val in q.items():
                if val > v[k] and (k not in best or val > best[k][0]):
                    best[k] = (val, a)
            for k, (_, a) in best.items():
                choice[k] = a
                changed = True
            if not changed:
                return self._exact_from_mu0(v), choice, step
        raise InvalidSpecificationError(
            f"exact policy iteration did not converge in {max_iterations} steps "
            f"({K} product states, {A} actions)")

    def minimise(self, *, tol: float = 1e-10, max_iterations: int = 1_000_000
                 ) -> RewardMachineSolution:
        """A policy on ``S x U`` minimising the expected discounted machine reward: the
        optimum of the negated rewards (:meth:`optimise`), with its values negated back;
        ``error_bound`` is unchanged."""
        import copy
        import dataclasses

        negated = copy.copy(self)
        negated.entry_reward = -self.entry_reward
        sol = negated.optimise(tol=tol, max_iterations=max_iterations)
        return dataclasses.replace(sol, value=-sol.value, values=-sol.values,
                                   policy_value=-sol.policy_value)

    def optimise(self, *, tol: float = 1e-10, max_iterations: int = 1_000_000
                 ) -> RewardMachineSolution:
        """An optimal policy on the product MDP ``S x U`` by value iteration.

        Stops when the certified bound ``gamma/(1-gamma) * ||V_{n+1} - V_n||`` is below
        ``tol``; the greedy policy is then evaluated exactly by a linear solve.

        Raises
        ------
        InvalidSpecificationError
            If ``max_iterations`` is reached before the bound (the message gives the bound),
            or ``tol`` is not a finite positive number.
        SolverError
            If the values overflow float64.
        """
        tol, _ = check_tolerances(tol, None)
        sk, env = self.skeleton, self.env
        K, A, g = sk.n_states, env.n_actions, self._gamma
        rows = sk.entry_source * A + sk.entry_action
        step = sp.csr_matrix((sk.entry_probability, (rows, sk.entry_target)), shape=(K * A, K))
        r_sa = np.bincount(rows, weights=sk.entry_probability * self.entry_reward,
                           minlength=K * A)
        # disabled actions (zero rows) get -inf: never a maximiser, and -inf is only added
        # to finite numbers, so no nan arises
        blocked = ~env.enabled[sk.env_state]  # [K, A]
        r_sa = np.where(blocked.ravel(), -np.inf, r_sa)
        v = np.zeros(K)
        bound = np.inf
        for _ in range(max_iterations):
            q_values = (r_sa + g * (step @ v)).reshape(K, A)
            new = q_values.max(axis=1)
            delta = float(np.abs(new - v).max(initial=0.0))
            v = new
            bound = g / (1.0 - g) * delta if g > 0 else 0.0
            if bound <= tol:
                break
            if not np.isfinite(bound):  # NaN would never pass "<= tol": stop at once
                raise SolverError(
                    "value iteration on the reward-machine product produced non-finite "
                    "values (they overflow float64: rescale the rewards)"
                )
        else:
            raise InvalidSpecificationError(
                f"value iteration stopped after {max_iterations} iterations with error bound "
                f"{bound:.3g} > tol = {tol:g}"
            )
        q_values = (r_sa + g * (step @ v)).reshape(K, A)
        greedy = q_values.argmax(axis=1)
        chosen = np.zeros((K, A))
        chosen[np.arange(K), greedy] = 1.0
        # the greedy product policy's value from mu0 by a linear solve (sparse LU on small
        # products, the batched iterative solver with an LU fallback on large ones, as for
        # every other policy: LU fills in on large random products)
        policy_value = float(self.entry_values(
            chosen[sk.entry_source, sk.entry_action][None])[0])
        U = len(self.states)
        values = np.zeros((env.n_states, U))
        # unreached (state, machine state) pairs play the first enabled action
        policy = np.repeat(np.argmax(env.enabled, axis=1)[:, None], U, axis=1)
        live = sk.machine_state < U
        values[sk.env_state[live], sk.machine_state[live]] = v[live]
        policy[sk.env_state[live], sk.machine_state[live]] = greedy[live]
        value = float(v[sk.initial_states] @ sk.initial_weights)
        return RewardMachineSolution(value, values, policy, float(bound), policy_value,
                                     list(self.states))


def _broadcast(arr: np.ndarray, kind: int, env: FiniteMDP) -> np.ndarray:
    S, A = env.n_states, env.n_actions
    if kind == 1:
        return np.broadcast_to(arr[:, None, None], (S, A, S))
    if kind == 2:
        return np.broadcast_to(arr[:, :, None], (S, A, S))
    if arr.shape != (S, A, S):
        raise InvalidSpecificationError(
            f"reward has shape {arr.shape}; expected [S], [S, A] or [S, A, S] for S={S}, A={A}"
        )
    return arr
