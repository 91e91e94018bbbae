"""Reward machines (RM): finite-state machines that read labels and pay Markov rewards."""

from __future__ import annotations

import ast
from collections.abc import Hashable, Iterable
from fractions import Fraction
from typing import Any

import numpy as np

from objspec.errors import InvalidSpecificationError
from objspec.formalisms.base import RealValuedEvaluator, Specification
from objspec.ltl import syntax as s
from objspec.ltl.parser import parse_guard
from objspec.ltl.rendering import DrawnGraph, graph_to_dot, graph_to_svg
from objspec.ltl.reward_machines import (
    MAX_EXACT_STATES,
    CompiledRewardMachine,
    MachineEdge,
    RewardMachineSolution,
    machine_tables,
    parse_edges,
)
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy
from objspec.mdp.rewards import check_discount

__all__ = ["RewardMachine", "RM"]

#: The machine state that ``from_text`` uses for "episode over" (reward_machines' ``-1``).
TERMINAL = -1


class RewardMachine(Specification):
    r"""Reward machine (RM): a finite automaton over labels that emits Markov rewards.

    **Definition** (paper-notes section 2.2, item 4; Toro Icarte et al. style; Subramani et
    al., "On the Expressivity of Objective-Specification Formalisms in Reinforcement
    Learning", ICLR 2024, arXiv 2310.11840). A specification is
    ``(U, u0, delta_U, delta_R, gamma)`` over the environment's propositions and labelling
    ``L``: machine states ``U`` with start ``u0``, a transition function
    ``delta_U: U x 2^AP -> U`` and rewards ``delta_R`` giving each edge a Markov reward
    ``S x A x S -> R``. Along a trajectory, ``u_{t+1} = delta_U(u_t, L(x_t))`` and
    ``r_t = delta_R(u_t, u_{t+1})(x_t)`` for ``x_t = (s_t, a_t, s_{t+1})``; a policy's value is

    .. math:: J(\pi) = E_{\xi \sim L_\pi}\Big[\sum_{t \ge 0} \gamma^t r_t\Big].

    Here ``delta_U`` and ``delta_R`` are given by guarded edges ``(u, u_next, guard,
    reward)``: ``guard`` is a propositional formula in the LTL syntax (``"a & !b"``,
    ``"true"``), ``reward`` a number or an array ``[S]`` (a function of ``s_t``), ``[S, A]`` or
    ``[S, A, S]``. Parallel edges with different guards are allowed. A label that no guard of
    ``u`` matches leaves the machine in ``u`` with reward 0; two guards of one state that can
    hold together are an error. With state labels, ``L(x_t) = L(s_t)``.

    **Evaluation.** Exact up to float64 rounding: the product chain on ``S x U`` reachable
    from ``mu0`` is built once per environment, and each policy's values solve
    ``(I - gamma P) V = r`` by sparse LU, all policies of a batch in one block-diagonal
    system. ``compile(env, exact=True)`` solves in rational arithmetic and decides ties
    exactly. :meth:`RewardMachineEvaluator.optimise` finds an optimal policy on ``S x U``.

    Parameters
    ----------
    edges : iterable of ``(u, u_next, guard, reward)``
    initial : hashable
        The initial machine state ``u0``.
    gamma : float or Fraction
        Discount in ``[0, 1)``.

    Raises
    ------
    InvalidSpecificationError
        On malformed edges, overlapping guards of one state, temporal operators in a guard
        (:class:`~objspec.errors.LTLSyntaxError`), non-finite rewards or a bad discount; at
        ``compile`` time on propositions the environment lacks or reward shapes that do not fit.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.formalisms.reward_machine import RM
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1; P[:, 1, 1] = 1
    >>> env = FiniteMDP(P, [1, 0], labels={0: ["a"], 1: ["b"]})
    >>> rm = RM([("u0", "u1", "a", 0), ("u1", "u0", "b", 1)], "u0", 0.5)  # pays for a then b
    >>> ev = rm.compile(env)
    >>> ev.values([Policy.deterministic([1, 0], 2), Policy.deterministic([0, 0], 2)])
    array([0.66666667, 0.        ])
    >>> RM([(0, 1, "a", 1), (0, 2, "a | b", 0)], 0, 0.9)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    objspec.errors.InvalidSpecificationError: guards 'a' (edge 0) and 'a | b' (edge 1) ...
    """

    acronym = "RM"

    def __init__(self, edges: Iterable[Any], initial: Hashable, gamma: Any) -> None:
        self.edges: list[MachineEdge] = parse_edges(edges)
        self.initial = initial
        check_discount(gamma)
        self.gamma = gamma
        self.states, self.propositions, _, _ = machine_tables(self.edges, initial)

    @classmethod
    def from_text(cls, text: str, gamma: Any) -> RewardMachine:
        """Read the plain-text format of the reward_machines project (Toro Icarte et al.).

        The first line is the initial state, the second the list of terminal states, then one
        ``(u, u_next, 'guard', ConstantRewardFunction(r))`` per line; guards use ``&``, ``|``,
        ``!`` and ``True``. That project's semantics are kept: edges out of terminal states are
        ignored, and both entering a terminal state and a label that no guard of ``u`` matches
        lead to an absorbing state (``-1``, as in the project) that pays 0. Edges into a
        terminal state pay their reward.

        Examples
        --------
        >>> rm = RewardMachine.from_text('''0
        ... [2]
        ... (0, 1, '!a&b', ConstantRewardFunction(0))
        ... (0, 0, '!a&!b', ConstantRewardFunction(0))
        ... (1, 2, 'a', ConstantRewardFunction(1))
        ... (1, 1, '!a', ConstantRewardFunction(0))
        ... ''', gamma=0.9)
        >>> sorted(map(str, rm.states))
        ['-1', '0', '1']
        """
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        if len(lines) < 2:
            raise InvalidSpecificationError(
                "reward-machine text needs an initial state line and a terminal-states line"
            )
        initial = _literal(lines[0], 1)
        terminal = _literal(lines[1], 2)
        if not isinstance(terminal, list | tuple | set):
            raise InvalidSpecificationError(
                f"line 2 must be the list of terminal states; got {lines[1]!r}"
            )
        terminals = set(terminal)
        edges: list[tuple[Any, Any, s.Formula, Any]] = []
        guards: dict[Any, list[s.Formula]] = {}
        for number, line in enumerate(lines[2:], start=3):
            u, v, guard_text, reward = _parse_edge_line(line, number)
            if u in terminals:
                continue
            try:
                guard = parse_guard(guard_text)
            except InvalidSpecificationError as exc:
                raise type(exc)(f"line {number}: {exc}") from None
            edges.append((u, TERMINAL if v in terminals else v, guard, reward))
            guards.setdefault(u, []).append(guard)
        if not edges:
            raise InvalidSpecificationError("reward-machine text has no edges")
        if initial in terminals:
            initial = TERMINAL
        for u in [initial] + [e[1] for e in edges]:
            if u != TERMINAL:
                guards.setdefault(u, [])
        for u, gs in guards.items():
            unmatched: s.Formula = s.TRUE
            for g in gs:
                unmatched = s.And(unmatched, s.Not(g))
            edges.append((u, TERMINAL, unmatched, 0))
        edges.append((TERMINAL, TERMINAL, s.TRUE, 0))
        return cls(_drop_unsatisfiable(edges), initial, gamma)

    def compile(self, env: FiniteMDP, *, exact: bool | None = None) -> RewardMachineEvaluator:
        """Evaluator in ``env``.

        ``exact=True`` decides comparisons and ranks in rational arithmetic; ``None``
        (default) does so when the environment was given in rationals and the product chain
        is small.
        """
        return RewardMachineEvaluator(self, env, exact=exact)

    def drawn_graph(self) -> DrawnGraph:
        """The machine as a drawable graph (edges labelled ``guard / reward``)."""
        index = {u: i for i, u in enumerate(self.states)}
        edges = []
        for e in self.edges:
            reward = (f"{e.reward:g}" if isinstance(e.reward, float) else str(e.reward)) \
                if e.reward_is_constant else f"R{list(np.shape(e.reward))}"
            edges.append((index[e.source], index[e.target], f"{e.guard} / {reward}"))
        return DrawnGraph(
            title="reward machine",
            nodes=[str(u) for u in self.states],
            initial=0,
            edges=edges,
            caption=f"reward machine, gamma = {self.gamma}",
        )

    def to_dot(self) -> str:
        """Graphviz DOT text of the machine."""
        return graph_to_dot(self.drawn_graph(), "reward_machine")

    def _repr_svg_(self) -> str:
        return graph_to_svg(self.drawn_graph())

    def __repr__(self) -> str:
        return (
            f"RewardMachine({len(self.states)} states, {len(self.edges)} edges, "
            f"initial={self.initial!r}, gamma={self.gamma})"
        )


def _literal(text: str, line: int) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise InvalidSpecificationError(
            f"line {line} of the reward-machine text is not a Python literal: {text!r}"
        ) from None


def _parse_edge_line(line: str, number: int) -> tuple[Any, Any, str, Any]:
    try:
        node = ast.parse(line, mode="eval").body
    except SyntaxError:
        raise InvalidSpecificationError(
            f"line {number} is not an edge (u, u_next, 'guard', ConstantRewardFunction(r)): "
            f"{line!r}"
        ) from None
    if not isinstance(node, ast.Tuple) or len(node.elts) != 4:
        raise InvalidSpecificationError(
            f"line {number} must be a 4-tuple (u, u_next, 'guard', ConstantRewardFunction(r)): "
            f"{line!r}"
        )
    u_node, v_node, guard_node, reward_node = node.elts
    try:
        u, v, guard = (ast.literal_eval(x) for x in (u_node, v_node, guard_node))
    except ValueError:
        raise InvalidSpecificationError(
            f"line {number}: states and guard must be literals: {line!r}"
        ) from None
    if not isinstance(guard, str):
        raise InvalidSpecificationError(f"line {number}: the guard must be a string: {line!r}")
    if not (
        isinstance(reward_node, ast.Call)
        and isinstance(reward_node.func, ast.Name)
        and reward_node.func.id == "ConstantRewardFunction"
        and len(reward_node.args) == 1
    ):
        raise InvalidSpecificationError(
            f"line {number}: only ConstantRewardFunction(r) rewards are supported: {line!r}"
        )
    try:
        reward = ast.literal_eval(reward_node.args[0])
    except ValueError:
        raise InvalidSpecificationError(f"line {number}: the reward must be a number") from None
    return u, v, guard, reward


def _drop_unsatisfiable(
    edges: list[tuple[Any, Any, s.Formula, Any]]
) -> list[tuple[Any, Any, s.Formula, Any]]:
    from objspec.ltl.reward_machines import guard_letters

    out = []
    for e in edges:
        props = sorted(e[2].atoms())
        if guard_letters(e[2], props).any():
            out.append(e)
    return out


class RewardMachineEvaluator(RealValuedEvaluator):
    """Evaluator of a :class:`RewardMachine` in one environment."""

    def __init__(self, spec: RewardMachine, env: FiniteMDP, *, exact: bool | None = None) -> None:
        super().__init__(spec, env)
        self.machine = CompiledRewardMachine(spec.edges, spec.initial, spec.gamma, env)
        if exact is None:
            exact = env.is_exact and self.machine.skeleton.n_states <= MAX_EXACT_STATES
        self.exact = exact
        self.method = "exact rational" if exact else "product chain + sparse LU"
        scale = max(
            [abs(float(x)) for e in spec.edges for x in np.ravel(np.asarray(e.reward, float))]
            + [0.0]
        ) / (1.0 - float(spec.gamma))
        self.tie_tolerance = 1e-9 * max(1.0, scale)

    def values(self, policies: Any) -> np.ndarray:
        """Expected discounted machine reward of each policy, float64 ``[N]``."""
        return self._checked(self.machine.values(self._batch(policies)))

    def exact_value(self, policy: Policy) -> Fraction:
        """The value as an exact Fraction."""
        (value,) = self.machine.exact_values(policy)
        return value

    def optimise(self, *, tol: float = 1e-10) -> RewardMachineSolution:
        """An optimal policy on ``S x U`` (value iteration with a certified bound)."""
        return self.machine.optimise(tol=tol)


RM = RewardMachine
