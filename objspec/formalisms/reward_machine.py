"""Reward machines (RM): finite-state machines that read labels and pay Markov rewards.

**Optimisation** (``spec.optimise(env)``, registered below as :data:`RM_OPTIMISER`).

* ``policies="finite-memory"``: the optimum on the product ``S x U`` (a discounted MDP):
  value iteration until the certified bound ``gamma/(1-gamma) ||V_{n+1} - V_n||`` is below
  1e-10, the greedy policy evaluated by a linear solve; ``"certified"`` with ``bound`` = VI
  value + its error bound - the policy's value. With ``exact=True``, policy iteration in
  rationals from that policy
  (:meth:`~objspec.ltl.reward_machines.CompiledRewardMachine.exact_optimise`) ends with
  exact values satisfying the Bellman optimality equation: ``"exact"``. The policy is a
  :class:`~objspec.ltl.optimise.FiniteMemoryPolicy` whose memory is the machine state,
  which the evaluator accepts.
* ``policies="stationary"`` (the paper's class, arXiv 2310.11840): the same search as LTL
  (:func:`~objspec.formalisms.temporal_logic.stationary_below_memory_optimum`) with the
  product optimum as the bound: ``"certified"``/``"exact"`` when a stationary policy reaches
  it, else coordinate ascent (``"local"``). A stationary policy does not see the machine
  state, as in memoryless control of a POMDP.

Examples
--------
>>> import numpy as np
>>> from fractions import Fraction
>>> from objspec import FiniteMDP
>>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1; P[:, 1, 1] = 1
>>> env = FiniteMDP(P, [1, 0], labels={0: ["a"], 1: ["b"]})
>>> rm = RewardMachine([("u0", "u1", "a", 0), ("u1", "u0", "b", 1)], "u0", Fraction(1, 2))
>>> rm.optimise(env, policies="finite-memory", exact=True).value
Fraction(2, 3)
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Hashable, Iterable
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from objspec.errors import InvalidSpecificationError
from objspec.formalisms._sampling import random_discount, random_reward
from objspec.formalisms.base import RealValuedEvaluator, Specification, Valuation
from objspec.formalisms.fitting import Comparisons, Fit, FitOptions, Fitter
from objspec.formalisms.optimisation import OptimiseOptions, Optimiser, Optimum
from objspec.formalisms.reading import SpecificationFields, read_number, show
from objspec.formalisms.registry import SpecificationReader, formalism
from objspec.formalisms.temporal_logic import (
    Labelling,
    _finite_memory_batch,
    check_labelling,
    labelled_environment,
    memory_projections,
    stationary_below_memory_optimum,
)
from objspec.ltl import syntax as s
from objspec.ltl.hoa import _cubes
from objspec.ltl.optimise import (
    FiniteMemoryPolicy,
    check_finite_memory_policy,
    exact_product_rows,
    product_row_weights,
    reward_machine_policy,
)
from objspec.ltl.rendering import DrawnGraph, graph_to_dot, graph_to_svg
from objspec.ltl.reward_machines import (
    MAX_EXACT_STATES,
    CompiledRewardMachine,
    MachineEdge,
    RewardMachineSolution,
    _check_reward,
    guard_letters,
    machine_tables,
    parse_edges,
)
from objspec.mdp.model import FiniteMDP
from objspec.mdp.rewards import check_discount

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["RewardMachine", "RM"]

#: The machine state that ``from_text`` uses for "episode over" (reward_machines' ``-1``).
TERMINAL = -1


class RewardMachine(Specification):
    r"""Reward machine (RM): a finite automaton over labels that emits Markov rewards.

    **Definition** (docs/theory.md#def-rm; Toro Icarte et al. style; Subramani et
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
    hold together are an error. With state labels, ``L(x_t) = L(s_t)``. (Machines read by
    :meth:`from_text` follow the reward_machines project instead: first matching line,
    unmatched labels end the episode; see there.)

    **Labelling.** The propositions and labelling ``(P, L)`` belong to the specification
    (docs/theory.md#labelling): ``labelling=`` gives the machine its own, in the forms
    ``FiniteMDP(labels=...)`` accepts, and ``propositions=`` its alphabet; by default the
    environment's are used. Guards may mention any proposition of the alphabet, including
    ones that hold nowhere (they are false on every step); a name outside the alphabet is
    an error.

    **Evaluation.** Exact up to float64 rounding: the product chain on ``S x U`` reachable
    from ``mu0`` is built once per environment, and each policy's values solve
    ``(I - gamma P) V = r`` by sparse LU, all policies of a batch in one block-diagonal
    system. ``compile(env, exact=True)`` solves in rational arithmetic and decides ties
    exactly. :meth:`RewardMachineEvaluator.optimise` finds an optimal policy on ``S x U``.

    Parameters
    ----------
    edges : iterable of ``(u, u_next, guard, reward)``
    initial : hashable
        The initial machine state ``u0``; it must have an outgoing edge.
    gamma : float or Fraction
        Discount in ``[0, 1)``.
    labelling : mapping or callable, optional
        The specification's own labelling; default: the environment's.
    propositions : iterable of str, optional
        The alphabet of ``labelling`` (default: the propositions it uses). Only with
        ``labelling``.

    Raises
    ------
    InvalidSpecificationError
        On malformed edges, overlapping guards of one state, temporal operators in a guard
        (:class:`~objspec.errors.LTLSyntaxError`), non-finite rewards, a bad discount, an
        unhashable initial state or one without outgoing edges (every policy would be worth
        0); at ``compile`` time on propositions outside the alphabet or reward shapes that do
        not fit.

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

    def __init__(
        self,
        edges: Iterable[Any],
        initial: Hashable,
        gamma: Any,
        *,
        labelling: Labelling | None = None,
        propositions: Iterable[str] | None = None,
    ) -> None:
        self.edges: list[MachineEdge] = parse_edges(edges)
        self.initial = initial
        check_discount(gamma)
        self.gamma = gamma
        self.labelling, self.label_propositions = check_labelling(
            labelling, propositions, "the reward machine"
        )
        self.states, self.propositions, _, _ = machine_tables(self.edges, initial)

    def environment_for(self, env: FiniteMDP) -> FiniteMDP:
        """``env`` as this machine reads it: with its own labelling, if it has one."""
        return labelled_environment(
            env, self.labelling, self.label_propositions, f"the reward machine {self!r}"
        )

    @classmethod
    def from_text(
        cls,
        text: str,
        gamma: Any,
        *,
        labelling: Labelling | None = None,
        propositions: Iterable[str] | None = None,
    ) -> RewardMachine:
        """Read the plain-text format of the reward_machines project (Toro Icarte et al.).

        The first line is the initial state, the second the list of terminal states, then one
        ``(u, u_next, 'guard', ConstantRewardFunction(r))`` per line. Guards are that
        project's DNF: ``|`` splits first, then ``&``, then leading ``!``; the literals are
        proposition names and ``True``/``False`` (no spaces, no parentheses).

        The machine follows the semantics of that project's ``RewardMachine`` class:

        * edges out of terminal states are ignored; every terminal state is one absorbing
          state ``-1`` (:data:`TERMINAL`) that pays 0 from then on (the episode is over);
        * a later line for the same pair ``(u, u_next)`` replaces the guard and reward of the
          earlier one, which keeps its place in the order (lines from ``u`` into two
          different terminal states are the same pair ``(u, -1)``);
        * **first match**: from ``u`` the machine takes the first line (in that order) whose
          guard holds, so guards may overlap;
        * **no match**: a label set that no guard of ``u`` matches moves the machine to
          ``-1`` and pays the reward of ``u``'s line into a terminal state if it has one
          (0 otherwise). In the office world's coffee task, touching a decoration after the
          coffee therefore pays 1, as in the original.

        The result is a deterministic machine with disjoint guards (each line's guard minus
        the earlier ones, and the unmatched labels as an edge into ``-1``), so everything
        else (evaluation, products, optimisation) treats it like any machine. Propositions
        are compared as names: the project's worlds pass their events as a string of
        one-character names, for which its substring test is the same membership test.

        Parameters
        ----------
        text : str
            The machine file's contents.
        gamma : float or Fraction
            Discount in ``[0, 1)``.
        labelling, propositions : optional
            The specification's own labelling, as for :class:`RewardMachine`.

        Raises
        ------
        InvalidSpecificationError
            On lines that are not in the format, guards outside its DNF syntax, rewards other
            than ``ConstantRewardFunction(r)``, an initial state that is terminal or has no
            lines, or a reachable non-terminal state without lines (the original class fails
            with ``KeyError`` there).

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
        >>> [(e.source, e.target, str(e.guard)) for e in rm.edges if e.source == 0]
        [(0, 1, '!a & b'), (0, 0, '!a & !b'), (0, -1, 'a')]
        """
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        if len(lines) < 2:
            raise InvalidSpecificationError(
                "reward-machine text needs an initial state line and a terminal-states line"
            )
        initial = _literal(lines[0], 1)
        terminal = _literal(lines[1], 2)
        if not isinstance(terminal, list | tuple | set | frozenset):
            raise InvalidSpecificationError(
                f"line 2 must be the list of terminal states; got {lines[1]!r}"
            )
        for node in terminal:
            _check_hashable(node, f"terminal state {node!r} (line 2)")
        terminals = set(terminal)
        _check_hashable(initial, "the initial state (line 1)")
        if initial in terminals or initial == TERMINAL:
            raise InvalidSpecificationError(
                f"the initial state {initial!r} is terminal; the reward_machines project "
                "cannot start an episode there"
            )
        # u -> {u_next: (guard, reward, line)}, in the project's dict order
        delta: dict[Any, dict[Any, tuple[s.Formula, Any, int]]] = {}
        for number, line in enumerate(lines[2:], start=3):
            u, v, guard_text, reward = _parse_edge_line(line, number)
            _check_hashable(u, f"line {number}: machine state {u!r}")
            _check_hashable(v, f"line {number}: machine state {v!r}")
            if u in terminals or u == TERMINAL:
                continue
            guard = _dnf_guard(guard_text, f"line {number}")
            _check_reward(reward, f"line {number}")
            target = TERMINAL if v in terminals else v
            delta.setdefault(u, {})[target] = (guard, reward, number)
        if initial not in delta:
            raise InvalidSpecificationError(
                f"the initial state {initial!r} has no lines (edges); the reward_machines "
                "project fails on its first step"
            )
        props = tuple(sorted(set().union(*(g.atoms() for d in delta.values()
                                           for g, _, _ in d.values()))))
        if len(props) > 16:
            raise InvalidSpecificationError(
                f"the guards mention {len(props)} propositions; at most 16 are supported"
            )
        edges: list[tuple[Any, Any, s.Formula, Any]] = []
        successors: dict[Any, set[Any]] = {}
        for u, out in delta.items():
            taken = np.zeros(1 << len(props), dtype=bool)
            kept: dict[Any, tuple[np.ndarray, Any]] = {}
            for v, (guard, reward, _) in out.items():
                letters = guard_letters(guard, props) & ~taken
                taken |= letters
                kept[v] = (letters, reward)
            if not taken.all():
                letters, reward = kept.get(TERMINAL, (np.zeros_like(taken), 0))
                kept[TERMINAL] = (letters | ~taken, reward)
            successors[u] = {v for v, (letters, _) in kept.items() if letters.any()}
            for v, (letters, reward) in kept.items():
                if letters.any():
                    edges.append((u, v, _letters_formula(letters, props), reward))
        reached, frontier = {initial}, [initial]
        while frontier:
            u = frontier.pop()
            for v in successors.get(u, ()):
                if v == TERMINAL or v in reached:
                    continue
                if v not in delta:
                    entered = next(n for w, (_, _, n) in delta[u].items() if w == v)
                    raise InvalidSpecificationError(
                        f"machine state {v!r} (entered on line {entered}) is not terminal and has "
                        "no lines; the reward_machines project fails with KeyError there"
                    )
                reached.add(v)
                frontier.append(v)
        if any(e[1] == TERMINAL for e in edges):
            edges.append((TERMINAL, TERMINAL, s.TRUE, 0))
        return cls(edges, initial, gamma, labelling=labelling, propositions=propositions)

    def _evaluator(self, env: FiniteMDP, exact: bool | None) -> RewardMachineEvaluator:
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
        own = ", labelling=<own>" if self.labelling is not None else ""
        return (
            f"RewardMachine({len(self.states)} states, {len(self.edges)} edges, "
            f"initial={self.initial!r}, gamma={self.gamma}{own})"
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


_DNF_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _dnf_guard(text: str, where: str) -> s.Formula:
    """A guard in the reward_machines DNF (its ``evaluate_dnf``): split on ``|``, then on
    ``&``, then strip leading ``!``; literals are names, ``True`` and ``False``."""
    if "|" in text:
        parts = [_dnf_guard(part, where) for part in text.split("|")]
        return functools.reduce(s.Or, parts)
    if "&" in text:
        parts = [_dnf_guard(part, where) for part in text.split("&")]
        return functools.reduce(s.And, parts)
    if text.startswith("!"):
        return s.Not(_dnf_guard(text[1:], where))
    if text == "True":
        return s.TRUE
    if text == "False":
        return s.FALSE
    if not _DNF_NAME.match(text) or text in ("true", "false"):
        raise InvalidSpecificationError(
            f"{where}: {text!r} is not a proposition name; reward_machines guards are "
            "disjunctions (|) of conjunctions (&) of names, !names, True and False, without "
            "spaces or parentheses"
        )
    return s.Atom(text)


def _letters_formula(letters: np.ndarray, props: tuple[str, ...]) -> s.Formula:
    """A small propositional formula true exactly on ``letters`` (bitmasks over ``props``)."""
    if letters.all():
        return s.TRUE
    chosen = np.flatnonzero(letters).tolist()
    if len(props) > 10:  # the prime-cube cover is quadratic in the letters: list them
        cubes = [((1 << len(props)) - 1, m) for m in chosen]
    else:
        cubes = _cubes(chosen, len(props))
    terms: list[s.Formula] = []
    for care, value in cubes:
        lits: list[s.Formula] = [
            s.Atom(p) if value >> i & 1 else s.Not(s.Atom(p))
            for i, p in enumerate(props) if care >> i & 1
        ]
        terms.append(functools.reduce(s.And, lits) if lits else s.TRUE)
    return functools.reduce(s.Or, terms)


def _check_hashable(node: Any, what: str) -> None:
    try:
        hash(node)
    except TypeError:
        raise InvalidSpecificationError(
            f"{what} must be hashable (a machine state); got {node!r}"
        ) from None


class RewardMachineEvaluator(RealValuedEvaluator[RewardMachine]):
    """Evaluator of a :class:`RewardMachine` in one environment."""

    def __init__(self, spec: RewardMachine, env: FiniteMDP, *, exact: bool | None = None) -> None:
        super().__init__(spec, env)
        #: The environment read through the machine's labelling (``env`` by default).
        self.labelled_env = spec.environment_for(env)
        self.machine = CompiledRewardMachine(spec.edges, spec.initial, spec.gamma,
                                             self.labelled_env)
        if exact is None:
            exact = env.is_exact and self.machine.skeleton.n_states <= MAX_EXACT_STATES
        self.exact = exact
        self.method = "exact rational" if exact else "product chain + sparse LU"
        scale = max(
            [abs(float(x)) for e in spec.edges for x in np.ravel(np.asarray(e.reward, float))]
            + [0.0]
        ) / (1.0 - float(spec.gamma))
        self.tie_tolerance = 1e-9 * max(1.0, scale)

    def valuation(self, policies: Any) -> Valuation:
        """Expected discounted machine reward of each policy, float64 ``[N]``.

        The batch may also be one :class:`~objspec.ltl.optimise.FiniteMemoryPolicy` (or a
        list of them) whose memory is the machine state (its automaton is
        ``self.machine.memory_automaton()``), as ``spec.optimise(env,
        policies="finite-memory")`` returns: it is evaluated on the product ``S x U``.
        """
        memory = _finite_memory_batch(policies)
        if memory is not None:
            sk = self.machine.skeleton
            w = []
            for pol in memory:
                check_finite_memory_policy(self.labelled_env, pol, sk.machine)
                w.append(product_row_weights(sk, pol)[sk.entry_source, sk.entry_action])
            return self._valued(self.machine.entry_values(np.stack(w)))
        return self._valued(self.machine.values(self._batch(policies)))

    def value(self, policy: Any) -> float:
        """``J(policy)`` as a float (a stationary or a finite-memory policy)."""
        if isinstance(policy, FiniteMemoryPolicy):
            return float(self.valuation(policy).values[0])
        return super().value(policy)

    def exact_value(self, policy: Any) -> Fraction:
        """The value as an exact Fraction (of a stationary policy, or of a finite-memory
        policy whose memory is the machine state)."""
        if isinstance(policy, FiniteMemoryPolicy):
            sk = self.machine.skeleton
            check_finite_memory_policy(self.labelled_env, policy, sk.machine)
            rows = exact_product_rows(sk, policy)
            return self.machine.exact_entry_value(
                [rows[k, a] for k, a in zip(sk.entry_source.tolist(), sk.entry_action.tolist(),
                                            strict=True)])
        (value,) = self.machine.exact_values(policy)
        return value

    def optimise(self, *, tol: float = 1e-10) -> RewardMachineSolution:
        """An optimal policy on ``S x U`` (value iteration with a certified bound)."""
        return self.machine.optimise(tol=tol)

    def minimise(self, *, tol: float = 1e-10) -> RewardMachineSolution:
        """A policy on ``S x U`` with the least expected discounted machine reward
        (value iteration on the negated rewards, certified bound)."""
        return self.machine.minimise(tol=tol)


RM = RewardMachine


_RM_METHOD = ("value iteration on the product S x U (certified bound); exact policy "
              "iteration in rationals with exact=True")
_RM_STATIONARY_METHOD = ("product optimum as bound; projected product policy + exhaustive "
                         "deterministic; coordinate ascent when the bound is not reached")


def _optimise_rm(spec: RewardMachine, env: FiniteMDP, options: OptimiseOptions) -> Optimum:
    """The registered RM optimiser: the optimum on ``S x U`` (finite memory: the machine
    state), or the stationary search
    (:func:`~objspec.formalisms.temporal_logic.stationary_below_memory_optimum`)."""
    ev = RewardMachineEvaluator(spec, env, exact=False)
    machine = ev.machine
    sk = machine.skeleton
    sol = machine.optimise()
    actions = sol.policy
    iterations = 1
    upper = sol.value + sol.error_bound
    bound = max(0.0, upper - sol.policy_value)
    exact_upper = None
    if options.exact:
        choice = actions[sk.env_state, sk.machine_state]
        exact_upper, choice, steps = machine.exact_optimise(choice)
        iterations += steps
        actions = actions.copy()
        actions[sk.env_state, sk.machine_state] = choice
    policy = reward_machine_policy(machine, actions)
    if options.policies == "finite-memory":
        if exact_upper is not None:
            return Optimum(policy, exact_upper, "exact", _RM_METHOD, 0, None,
                           "rational policy iteration: the policy's exact values satisfy "
                           "the Bellman optimality equation on S x U", iterations,
                           policies="finite-memory")
        return Optimum(policy, sol.policy_value, "certified", _RM_METHOD, bound, None,
                       f"value-iteration error bound {sol.error_bound:.3g} on the optimal "
                       "values; bound = VI value + error bound - the policy's value",
                       iterations, policies="finite-memory")
    candidates = memory_projections(np.asarray(policy.action_probabilities), sk.env_state,
                                    sk.machine_state, env.n_states, 0)
    return stationary_below_memory_optimum(
        spec, env, options, candidates=candidates, upper=upper, exact_upper=exact_upper,
        iterations=iterations, method=_RM_STATIONARY_METHOD,
        product_entries=int(sk.entry_source.size))


RM_OPTIMISER = Optimiser(
    _optimise_rm, _RM_STATIONARY_METHOD, "certified",
    "finite memory (the machine state): a discounted MDP on S x U, polynomial for fixed "
    "discount (value iteration; policy iteration: Puterman 1994; Ye 2011); stationary "
    "policies on S: the machine state is hidden from them, as in memoryless control of a "
    "partially observable MDP, where optimisation is NP-hard (Vlassis, Littman & Barber "
    "2012); certified when a stationary policy reaches the product optimum, else local "
    "search (the paper, arXiv 2310.11840, leaves optimisation out of scope)",
    finite_memory=True)


def fit_rm(env: FiniteMDP, data: Comparisons, options: FitOptions) -> Fit:
    """Max-margin edge rewards of a reward machine with a given skeleton (docs/learning.md#rm).

    For fixed policies the value is linear in the edge rewards (the product occupancy per
    edge; :mod:`objspec.formalisms._fit_rm`). Keywords: ``machine=`` (a
    :class:`RewardMachine` whose rewards are ignored, or ``(u, u_next, guard)`` edges whose
    first source is the initial state; default the one-state machine, which makes the fit
    the Markov-reward fit lifted to a machine), ``edge_rewards=`` (``"constant"``,
    ``"state"`` or ``"state-action"``, the default); ``gamma=`` or the machine's discount.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import FiniteMDP, Policy
    >>> from objspec.learning import Comparisons, fit
    >>> P = np.zeros((2, 2, 2)); P[:, 0, 0] = 1; P[:, 1, 1] = 1
    >>> env = FiniteMDP(P, [1, 0], labels={0: ["a"], 1: ["b"]})
    >>> skeleton = [("u0", "u1", "a"), ("u1", "u0", "b")]
    >>> go, stay = Policy.deterministic([1, 0], 2), Policy.deterministic([0, 0], 2)
    >>> result = fit("RM", env, Comparisons(policies=[go, stay], pairs=[(0, 1, ">")]),
    ...              gamma=0.5, machine=skeleton, edge_rewards="constant", exact=True)
    >>> result.spec.compile(env, exact=True).compare(go, stay)
    1
    """
    from objspec.formalisms._fit_rm import fit_reward_machine

    return fit_reward_machine(env, data, options, RewardMachine)


# ---------------------------------------------------------------- registration


def _strategy_rm(env: FiniteMDP, **options: Any) -> SearchStrategy[Any]:
    """:class:`~objspec.formalisms.RewardMachine` specifications over ``env``'s propositions.

    The hypothesis strategy this formalism registers (``options`` are passed to it); see
    :func:`objspec.environments.strategies.reward_machines`.
    """
    from hypothesis import strategies as st

    from objspec.mdp.strategies import discounts

    @st.composite
    def reward_machines(
        draw: st.DrawFn, env: FiniteMDP, max_machine_states: int = 3, *,
        allow_unmatched: bool = True
    ) -> Any:

        n = draw(st.integers(1, max_machine_states))
        props = list(env.propositions)
        reward = st.floats(-1.0, 1.0, allow_nan=False, width=32)
        edges = []
        for u in range(n):
            test = draw(st.sampled_from([None, *props])) if props else None
            if test is None:
                edges.append((u, draw(st.integers(0, n - 1)), "true", draw(reward)))
                continue
            edges.append((u, draw(st.integers(0, n - 1)), test, draw(reward)))
            if not allow_unmatched or draw(st.booleans()):
                edges.append((u, draw(st.integers(0, n - 1)), f"!{test}", draw(reward)))
        return RewardMachine(edges, 0, draw(discounts()))

    return reward_machines(env, **options)


def _sample_rm(env: FiniteMDP, rng: np.random.Generator) -> Any:
    def pay() -> Any:
        return Fraction(int(rng.integers(-2, 3)))

    edges = [(0, 1, "p", pay()), (0, 0, "!p", pay()), (1, 1, "q", random_reward(rng, env)),
             (1, 0, "!q", pay())]
    return RewardMachine(edges, 0, random_discount(rng))


def _json_machine_state(x: Any, where: str) -> int | str:
    if isinstance(x, int) and not isinstance(x, bool):
        return x
    if isinstance(x, str) and x:
        return int(x) if x.isdigit() else x
    raise InvalidSpecificationError(
        f"{where}: a machine state is an integer or a name, got {show(x)}")


def _json_edges(raw: Any, where: str, exact: bool) -> list[tuple[Any, Any, str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise InvalidSpecificationError(
            f"{where}: expected a non-empty list of [u, u_next, guard, reward], got {show(raw)}")
    edges = []
    for i, e in enumerate(raw):
        here = f"{where}[{i}]"
        if not isinstance(e, list) or len(e) != 4:
            got = f"{len(e)} entries" if isinstance(e, list) else show(e)
            raise InvalidSpecificationError(
                f"{here}: expected [u, u_next, guard, reward], got {got}")
        u, v, guard, reward = e
        if not isinstance(guard, str):
            raise InvalidSpecificationError(
                f"{here}: the guard is a propositional formula string, got {show(guard)}")
        edges.append((_json_machine_state(u, f"{here}[0]"), _json_machine_state(v, f"{here}[1]"),
                      guard, read_number(reward, f"{here}[3]", exact)))
    return edges


def _read_rm(fields: SpecificationFields) -> RewardMachine:
    edges = _json_edges(fields.raw("edges"), fields.path("edges"), fields.exact)
    initial = _json_machine_state(fields.raw("initial", 0), fields.path("initial"))
    states = list(dict.fromkeys(s for e in edges for s in e[:2]))
    if initial not in states:
        raise InvalidSpecificationError(
            f"{fields.path('initial')}: {initial!r} is not a machine state of the edges "
            f"({', '.join(repr(s) for s in states)})")
    with fields.errors_at("edges"):
        return RewardMachine(edges, initial, fields.number("gamma"))


formalism(
    "RM",
    name="reward machines",
    level="trajectory",
    exact=True,
    needs_propositions=True,
    gymnasium=lambda spec, env: ("machine", spec, float(spec.gamma)),
    expectation=True,
    strategy=_strategy_rm,
    sampler=_sample_rm,
    reader=SpecificationReader(("edges", "initial", "gamma"), _read_rm, optional=("initial",)),
    optimiser=RM_OPTIMISER,
    fitter=Fitter(fit_rm, "max-margin LP over the product occupancy per machine edge (a given "
                  "skeleton; default the one-state machine) or the trajectories' machine "
                  "returns (HiGHS); exact verification in rationals; certificate by Motzkin "
                  "multipliers, relative to the skeleton", decides=False),
)(RewardMachine)
