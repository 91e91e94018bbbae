"""Fitting the edge rewards of a reward machine with a given skeleton (docs/learning.md#rm).

A reward machine ``(U, u0, delta_U, delta_R, gamma)`` whose transition structure
``(U, u0, delta_U)`` is fixed has a value that is *linear in its edge rewards* for every
fixed policy: along a trajectory the machine's path is determined, and

.. math:: J(\\pi) = \\sum_{(e, s, a)} \\rho_\\pi(e, s, a)\\, r_e(s, a),

where ``rho_pi(e, s, a) = sum_t gamma^t P(edge e taken at step t, s_t = s, a_t = a)`` is the
discounted occupancy of the product chain ``S x U`` (Toro Icarte et al.'s cross product,
:class:`objspec.ltl.product.ProductSkeleton`) aggregated per machine edge. Fitting the edge
rewards is therefore the max-margin LP of :func:`objspec.formalisms._fit_linear.fit_linear`
on these features (exact in rationals on request), and when it is infeasible the Motzkin
certificate proves that no reward machine *with this skeleton* (and this reward shape)
explains the comparisons.

A finite trajectory drives the machine deterministically, so its discounted machine return
``sum_t gamma^t r_{e_t}(s_t, a_t)`` is linear in the same parameters with features
``gamma^t`` at the ``(e_t, s_t, a_t)`` it visits.

This module gets the :class:`~objspec.formalisms.RewardMachine` class passed in (the
formalism module imports this one).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.sparse as sp

from objspec.errors import (
    InvalidPolicyError,
    InvalidSpecificationError,
    NoFitFoundError,
    NotExpressibleError,
)
from objspec.formalisms._fit_linear import fit_linear
from objspec.formalisms._fit_returns import expectation_certificate
from objspec.formalisms.fitting import (
    Comparisons,
    FeatureMap,
    Fit,
    FitOptions,
    Trajectory,
    not_expressible,
)
from objspec.ltl.product import environment_letters, finite_spsolve, solve_block_diagonal
from objspec.ltl.reward_machines import MAX_EXACT_STATES, CompiledRewardMachine, MachineEdge
from objspec.mdp.exact import exact_discount, solve_rational
from objspec.mdp.graph import adjacency, reachable
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy

__all__ = ["EDGE_REWARD_SHAPES", "fit_reward_machine", "RewardMachineFeatures"]

#: The parametrisations of the edge rewards: one number per edge, a function of ``s_t``, or
#: of ``(s_t, a_t)`` (the default).
EDGE_REWARD_SHAPES = ("constant", "state", "state-action")

#: Policies whose product visitations are solved in one block-diagonal system.
CHUNK = 64


class RewardMachineFeatures:
    """The product of ``env`` with a machine skeleton, and the edge-reward features.

    Parameters
    ----------
    edges : sequence of MachineEdge
        The skeleton's edges (their rewards are ignored).
    initial : hashable
        The initial machine state.
    gamma : float or Fraction
        The discount.
    env : FiniteMDP
        The environment as the machine reads it (its own labelling applied).
    shape : {"constant", "state", "state-action"}
        What each edge's reward is a function of.

    Examples
    --------
    A machine paying for ``a`` then ``b``: the edge features of "go" (a, b, a, ...) are the
    discounted counts of each edge, ``1 + 1/4 + ...`` and ``1/2 + 1/8 + ...``.

    >>> import numpy as np
    >>> from fractions import Fraction as F
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.formalisms import RewardMachine
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1; P[:, 1, 1] = 1
    >>> env = FiniteMDP(P, [1, 0], labels={0: ["a"], 1: ["b"]})
    >>> rm = RewardMachine([("u0", "u1", "a", 0), ("u1", "u0", "b", 1)], "u0", F(1, 2))
    >>> feats = RewardMachineFeatures(rm.edges, rm.initial, rm.gamma, env, "constant")
    >>> [str(x) for x in feats.exact_features([Policy([[0, 1], [1, 0]])])[0]]
    ['4/3', '2/3']
    """

    def __init__(self, edges: Sequence[MachineEdge], initial: Any, gamma: Any, env: FiniteMDP,
                 shape: str) -> None:
        self.env = env
        self.shape = shape
        self.gamma = gamma
        zero = [MachineEdge(e.source, e.target, e.guard, 0) for e in edges]
        self.machine = CompiledRewardMachine(zero, initial, gamma, env)
        self.n_edges = len(zero)
        sk = self.machine.skeleton
        self.skeleton = sk
        q = sk.machine_state[sk.entry_source]
        live = q < len(self.machine.states)
        edge = np.full(sk.entry_source.size, -1, dtype=np.int64)
        edge[live] = self.machine.edge_of[q[live], sk.entry_letter[live]]
        self.entry_edge = edge
        s = sk.env_state[sk.entry_source]
        keys = self._keys(edge, s, sk.entry_action)
        paid = edge >= 0
        self.columns: list[int] = sorted(set(keys[paid].tolist()))
        pos = {k: i for i, k in enumerate(self.columns)}
        self.entry_column = np.array([pos[k] if p else -1 for k, p in
                                      zip(keys.tolist(), paid.tolist(), strict=True)],
                                     dtype=np.int64)

    def _keys(self, edge: np.ndarray, s: np.ndarray, a: np.ndarray) -> np.ndarray:
        S, A = self.env.n_states, self.env.n_actions
        if self.shape == "constant":
            return edge
        if self.shape == "state":
            return edge * S + s
        return (edge * S + s) * A + a

    @property
    def dimension(self) -> int:
        """Number of fitted parameters (edge rewards that some trajectory can collect)."""
        return len(self.columns)

    # ------------------------------------------------------------------ policies

    def float_features(self, policies: Sequence[Policy]) -> sp.csr_matrix:
        """``[N, d]`` discounted product occupancy aggregated per parameter (float).

        The visitations ``d = (I - gamma P_pi^T)^-1 mu`` of a chunk of policies are solved
        together by :func:`objspec.ltl.product.solve_block_diagonal` (BiCGSTAB; sparse LU
        fills in on random products), with sparse LU for a system that misses the tolerance.
        """
        sk = self.skeleton
        K = sk.n_states
        g = float(self.gamma)
        mu = np.zeros(K)
        np.add.at(mu, sk.initial_states, sk.initial_weights)
        paid = self.entry_column >= 0
        src = sk.env_state[sk.entry_source]
        rows: list[np.ndarray] = []
        for lo in range(0, len(policies), CHUNK):
            chunk = policies[lo:lo + CHUNK]
            w = np.stack([p.probabilities[src, sk.entry_action] for p in chunk])
            w = w * sk.entry_probability[None, :]  # [n, E]
            n = len(chunk)
            pol, ent = np.nonzero(w > 0)
            # block n: q[target, source] = gamma * w (the transposed chain)
            q = sp.csr_matrix((g * w[pol, ent], (pol * K + sk.entry_target[ent],
                                                 pol * K + sk.entry_source[ent])),
                              shape=(n * K, n * K))
            d, ok = solve_block_diagonal(q, np.tile(mu, (n, 1)))
            for j in np.flatnonzero(~ok).tolist():
                used = w[j] > 0
                step = sp.csr_matrix((w[j, used], (sk.entry_target[used],
                                                   sk.entry_source[used])), shape=(K, K))
                d[j] = finite_spsolve((sp.identity(K, format="csc") - g * step).tocsc(), mu)
            occ = d[:, sk.entry_source] * w  # [n, E]
            for j in range(n):
                rows.append(np.bincount(self.entry_column[paid], weights=occ[j, paid],
                                        minlength=self.dimension))
        return sp.csr_matrix(np.vstack(rows)) if rows else sp.csr_matrix((0, self.dimension))

    def exact_features(self, policies: Sequence[Policy]) -> list[list[Fraction]]:
        """The same features in rational arithmetic (product chains up to
        :data:`~objspec.ltl.reward_machines.MAX_EXACT_STATES` reachable states)."""
        sk = self.skeleton
        g = exact_discount(self.gamma)
        _, entry_p = self.machine._exact_entries()
        mu0 = self.env.exact_initial()
        out = []
        for p in policies:
            pi = p.exact_probabilities()
            w = [pi[int(s), int(a)] * entry_p[j] for j, (s, a) in enumerate(zip(
                sk.env_state[sk.entry_source].tolist(), sk.entry_action.tolist(),
                strict=True))]
            ent = [j for j, x in enumerate(w) if x != 0]
            src, dst = sk.entry_source[ent], sk.entry_target[ent]
            reach = np.flatnonzero(reachable(adjacency(sk.n_states, src, dst),
                                             sk.initial_states))
            if reach.size > MAX_EXACT_STATES:
                raise InvalidSpecificationError(
                    f"exact reward-machine features need {reach.size} product states; at most "
                    f"{MAX_EXACT_STATES} are solved in rational arithmetic (use exact=False)")
            pos = {int(k): i for i, k in enumerate(reach.tolist())}
            m = len(pos)
            system = np.array([[Fraction(int(i == j)) for j in range(m)] for i in range(m)],
                              dtype=object)
            rhs = np.array([Fraction(0)] * m, dtype=object)
            for k, s0 in zip(sk.initial_states.tolist(), sk.roots.tolist(), strict=True):
                rhs[pos[k]] += mu0[s0]
            for j in ent:
                a, b = pos.get(int(sk.entry_source[j])), pos.get(int(sk.entry_target[j]))
                if a is None or b is None:
                    continue
                system[b, a] -= g * w[j]  # d = mu + gamma P^T d
            d = solve_rational(system, rhs) if m else np.zeros(0, dtype=object)
            row = [Fraction(0)] * self.dimension
            for j in ent:
                c = int(self.entry_column[j])
                k = pos.get(int(sk.entry_source[j]))
                if c >= 0 and k is not None:
                    row[c] += d[k] * w[j]
            out.append(row)
        return out

    # ------------------------------------------------------------------ trajectories

    def trajectory_features(self, trajectories: Sequence[Trajectory], exact: bool
                            ) -> list[list[Any]]:
        """``sum_t gamma^t`` at the parameter of each step's edge (Fractions if ``exact``).

        Parameters are indexed over every edge (not only those the product reaches from
        ``mu0``): a trajectory may start anywhere.
        """
        env = self.env
        S, A = env.n_states, env.n_actions
        letters = environment_letters(env, tuple(self.machine.propositions))
        matrix = env.transition_matrix
        size = self.n_edges * {"constant": 1, "state": S, "state-action": S * A}[self.shape]
        g: Any = exact_discount(self.gamma) if exact else float(self.gamma)
        out = []
        for k, tr in enumerate(trajectories):
            row: list[Any] = [Fraction(0) if exact else 0.0] * size
            u, weight = 0, (Fraction(1) if exact else 1.0)
            for t, (s, a, nxt) in enumerate(tr.steps()):
                if nxt is None:
                    raise InvalidSpecificationError(
                        f"fit(RM): trajectory {k} has no state after its last action; the "
                        "machine reads the label of every transition (give the final state)")
                r = s * A + a
                lo, hi = matrix.indptr[r], matrix.indptr[r + 1]
                hit = np.flatnonzero(matrix.indices[lo:hi] == nxt)
                if not hit.size:
                    raise InvalidSpecificationError(
                        f"fit(RM): trajectory {k} step {t} ({s} -({a})-> {nxt}) is not a "
                        "transition of the environment")
                letter = int(letters[lo + int(hit[0])])
                e = int(self.machine.edge_of[u, letter])
                if e >= 0:
                    key = int(self._keys(np.array([e]), np.array([s]), np.array([a]))[0])
                    row[key] += weight
                u = int(self.machine.successors[u, letter])
                weight = weight * g
            out.append(row)
        return out

    def trajectory_size(self) -> int:
        """Number of trajectory parameters (every edge, every state/action)."""
        S, A = self.env.n_states, self.env.n_actions
        return self.n_edges * {"constant": 1, "state": S, "state-action": S * A}[self.shape]

    # ------------------------------------------------------------------ rewards

    def edge_rewards(self, c: Any, columns: Sequence[int]) -> list[Any]:
        """The reward of every edge from the parameter vector ``c`` over ``columns`` (keys)."""
        S, A = self.env.n_states, self.env.n_actions
        exact = len(c) > 0 and isinstance(c[0], Fraction)
        zero: Any = Fraction(0) if exact else 0.0
        out: list[Any] = []
        for _ in range(self.n_edges):
            if self.shape == "constant":
                out.append(zero)
            elif self.shape == "state":
                out.append(np.full(S, zero, dtype=object if exact else np.float64))
            else:
                out.append(np.full((S, A), zero, dtype=object if exact else np.float64))
        for key, value in zip(columns, c, strict=True):
            v = value if exact else float(value)
            if self.shape == "constant":
                out[key] = v
            elif self.shape == "state":
                e, s = divmod(int(key), S)
                out[e][s] = v
            else:
                es, a = divmod(int(key), A)
                e, s = divmod(es, S)
                out[e][s, a] = v
        return out


def _machine_skeleton(machine: Any, rm_class: Any, gamma: Any
                      ) -> tuple[list[MachineEdge], Any, Any, Any]:
    """``(edges, initial, labelling, propositions)`` of the ``machine=`` keyword."""
    if isinstance(machine, rm_class):
        return (list(machine.edges), machine.initial, machine.labelling,
                machine.label_propositions)
    try:
        raw = list(machine)
    except TypeError:
        raise InvalidSpecificationError(
            "fit(RM): machine= must be a RewardMachine (its rewards are ignored) or a list of "
            f"(u, u_next, guard) edges; got {type(machine).__name__}") from None
    edges = []
    for i, e in enumerate(raw):
        try:
            u, v, guard = e[:3]
        except (TypeError, ValueError):
            raise InvalidSpecificationError(
                f"fit(RM): machine edge {i} must be (u, u_next, guard); got {e!r}") from None
        edges.append((u, v, guard, 0))
    if not edges:
        raise InvalidSpecificationError("fit(RM): machine= has no edges")
    skeleton = rm_class(edges, edges[0][0], gamma)
    return list(skeleton.edges), skeleton.initial, None, None


def fit_reward_machine(env: FiniteMDP, data: Comparisons, options: FitOptions,
                       rm_class: Any) -> Fit:
    """Max-margin edge rewards of a reward machine with a given skeleton.

    Keywords read from ``options``: ``machine`` (a RewardMachine whose rewards are ignored,
    or a list of ``(u, u_next, guard)`` edges whose first source is the initial state;
    default: the one-state machine ``[(0, 0, "true")]``, whose fit is the Markov reward fit
    lifted to a machine) and ``edge_rewards`` (one of :data:`EDGE_REWARD_SHAPES`, default
    ``"state-action"``). The discount is ``gamma=``, or the given machine's.
    """
    machine = options.take("machine")
    shape = options.take("edge_rewards", "state-action")
    if data.demonstrations:
        raise InvalidSpecificationError(
            "fit(RM): demonstrations are not used by this fitter; give comparisons "
            "(pairs or a ranking)")
    if shape not in EDGE_REWARD_SHAPES:
        raise InvalidSpecificationError(
            f"fit(RM): edge_rewards={shape!r} must be one of {EDGE_REWARD_SHAPES}")
    if options.gamma is None and isinstance(machine, rm_class):
        options.gamma = machine.gamma
    gamma = options.need_gamma("RM")
    if isinstance(machine, rm_class) and exact_discount(machine.gamma) != exact_discount(gamma):
        raise InvalidSpecificationError(
            f"fit(RM): gamma={gamma} differs from the machine's discount {machine.gamma}; give "
            "one of them")
    if machine is None:
        edges, initial, labelling, props = (
            [MachineEdge(0, 0, _true(), 0)], 0, None, None)
        what = "the one-state machine"
    else:
        edges, initial, labelling, props = _machine_skeleton(machine, rm_class, gamma)
        what = f"the given {len({e.source for e in edges} | {e.target for e in edges})}-state " \
               "machine"
    skeleton_spec = rm_class([(e.source, e.target, e.guard, 0) for e in edges], initial, gamma,
                             labelling=labelling, propositions=props)
    labelled = skeleton_spec.environment_for(env)
    feats = RewardMachineFeatures(skeleton_spec.edges, initial, gamma, labelled, shape)
    g = exact_discount(gamma)
    trajectories = data.trajectories is not None

    def build(c: Any) -> Any:
        columns = (list(range(feats.trajectory_size())) if trajectories else feats.columns)
        rewards = feats.edge_rewards(list(c), columns)
        return rm_class([(e.source, e.target, e.guard, r)
                         for e, r in zip(skeleton_spec.edges, rewards, strict=True)],
                        initial, gamma, labelling=labelling, propositions=props)

    if trajectories:
        def compute(_env: FiniteMDP | None, items: Sequence[Any]) -> list[list[Fraction]]:
            return feats.trajectory_features(items, exact=True)

        def floats() -> Any:
            return np.array(feats.trajectory_features(data.trajectories or (), exact=False),
                            dtype=np.float64).reshape(data.n_items, feats.trajectory_size())
        statement = (f"a trajectory drives {what} deterministically, so every reward machine "
                     f"with this skeleton gives it the return sum_t gamma^t r_(e_t)(x_t), "
                     f"linear in the edge rewards (gamma = {g})")
    else:
        policies = data.policies or ()

        def compute(_env: FiniteMDP | None, items: Sequence[Any]) -> list[list[Fraction]]:
            return feats.exact_features(items)

        def floats() -> Any:
            return feats.float_features(policies)
        statement = (f"every reward machine with the skeleton of {what} has the value "
                     f"J(pi) = sum_(e, s, a) rho_pi(e, s, a) r_e(s, a), linear in the edge "
                     f"rewards, with rho_pi the discounted occupancy of the product S x U per "
                     f"edge (gamma = {g})" + (
                         "; rewards of (s, a, s') add nothing, as the edge fixes the machine "
                         "state and each edge's reward can be replaced by its expectation "
                         "over s' given (s, a) and the edge" if shape == "state-action" else ""))
    fmap = FeatureMap(f"the product occupancy per machine edge ({shape} edge rewards)",
                      statement, compute)
    if not trajectories and feats.dimension == 0:
        raise InvalidSpecificationError(
            "fit(RM): no edge of the machine is ever taken from the initial states; there is "
            "no reward to fit")
    try:
        return _fit(env, data, options, floats, fmap, build, trajectories, shape, what, g,
                    skeleton_spec)
    except NotExpressibleError as exc:
        # a proof for every reward machine (any skeleton) when FTR itself cannot fit
        wide = expectation_certificate("RM", env, data)
        if wide is not None:
            raise not_expressible("RM", wide) from None
        raise exc from None
    except InvalidPolicyError as exc:
        if options.exact:
            raise
        raise NoFitFoundError(
            f"fit(RM): the LP found no positive margin, and an exact certificate that none "
            f"exists needs policies given exactly (rows summing to 1 in rationals): {exc}"
        ) from None


def _fit(env: FiniteMDP, data: Comparisons, options: FitOptions, floats: Any,
         fmap: FeatureMap, build: Any, trajectories: bool, shape: str, what: str,
         g: Fraction, skeleton_spec: Any) -> Fit:
    return fit_linear(
        "RM", env, data, options,
        features=floats, feature_map=fmap, build=build,
        method=("max-margin LP over the product occupancy per machine edge (HiGHS)"
                if not trajectories else
                "max-margin LP over the discounted machine returns of the trajectories "
                "(HiGHS)") + (", soft (L1 slack)" if options.soft else ""),
        normalisation=f"max |edge reward| <= 1 ({shape} edge rewards)",
        description=f"reward machine with {what}'s skeleton and {shape} edge rewards "
                    f"(gamma = {g})",
        details={"machine": skeleton_spec, "edge_rewards": shape},
    )


def _true() -> Any:
    from objspec.ltl import syntax as s

    return s.TRUE

