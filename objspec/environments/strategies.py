"""Hypothesis strategies for objspec objects: MDPs, policies, rewards and specifications.

Public and composable, in hypothesis's own style: every strategy here is an ordinary
``SearchStrategy``, and the ones that depend on an environment take it as an argument,
so they chain with ``.flatmap``::

    from hypothesis import given
    from objspec.environments import strategies as ost

    @given(ost.mdps().flatmap(lambda env: st.tuples(st.just(env), ost.policies(env))))
    def test_something(env_and_policy): ...

or use the ready-made pairs :func:`mdp_and_policies` and :func:`mdp_and_specs`.

Overview
--------
* environments: :func:`mdps` (optionally deterministic, sparse, exact), :func:`labelled_mdps`;
* policies: :func:`policies` (``kind`` = ``"any"``, ``"deterministic"``, ``"boundary"``,
  ``"interior"``), :func:`policy_batches`;
* rewards and discounts: :func:`rewards`, :func:`reward_vectors`, :func:`discounts`;
* specifications of every formalism, for one environment: :func:`markov_rewards`,
  :func:`limit_average_rewards`, :func:`outer_nonlinear`, :func:`outer_morl`,
  :func:`generalised_outer_morl`, :func:`regularised`, :func:`occupancy_functions`,
  :func:`occupancy_orderings`, :func:`trajectory_functions`, :func:`inner_nonlinear`,
  :func:`inner_morl`, :func:`lottery_functions`, :func:`lottery_orderings`,
  :func:`policy_functions`, :func:`policy_orderings`,
  :func:`ltl_formulas`, :func:`ltl_specs`, :func:`reward_machines`; and :func:`specs`
  (any of them, or those named).

Boundary policies (some actions with probability exactly 0) and deterministic ones are
drawn often on purpose: several separations of the paper live on the boundary of the
policy simplex (docs/theory.md#testing).

Examples
--------
>>> from hypothesis import given, settings
>>> @settings(max_examples=5, database=None)
... @given(mdp_and_policies(max_states=3))
... def check(pair):
...     env, pi = pair
...     assert pi.probabilities.shape == (env.n_states, env.n_actions)
>>> check()
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any, Literal

import numpy as np
from hypothesis import strategies as st

from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy

__all__ = [
    "mdps",
    "labelled_mdps",
    "policies",
    "policy_batches",
    "rewards",
    "reward_vectors",
    "discounts",
    "markov_rewards",
    "limit_average_rewards",
    "outer_nonlinear",
    "outer_morl",
    "generalised_outer_morl",
    "regularised",
    "occupancy_functions",
    "occupancy_orderings",
    "policy_functions",
    "policy_orderings",
    "trajectory_functions",
    "transient_states",
    "inner_nonlinear",
    "inner_morl",
    "lottery_functions",
    "lottery_orderings",
    "ltl_formulas",
    "ltl_specs",
    "reward_machines",
    "specs",
    "FORMALISMS",
    "mdp_and_policies",
    "mdp_and_specs",
]

PolicyKind = Literal["any", "deterministic", "boundary", "interior"]
RewardShape = Literal["any", "state", "state_action", "transition"]

_WEIGHT = st.integers(min_value=1, max_value=6)


def _distribution(
    draw: st.DrawFn, n: int, *, zeros: bool, exact: bool
) -> list[Fraction] | np.ndarray:
    """A probability vector of length ``n``: small integer weights, normalised."""
    lo = 0 if zeros else 1
    weights = draw(st.lists(st.integers(lo, 6), min_size=n, max_size=n))
    if sum(weights) == 0:
        weights[draw(st.integers(0, n - 1))] = 1
    total = sum(weights)
    if exact:
        return [Fraction(w, total) for w in weights]
    return np.asarray(weights, dtype=float) / total


# ---------------------------------------------------------------- environments


@st.composite
def mdps(
    draw: st.DrawFn,
    min_states: int = 1,
    max_states: int = 5,
    min_actions: int = 1,
    max_actions: int = 3,
    *,
    deterministic: bool = False,
    max_successors: int | None = None,
    initial: Literal["any", "first", "uniform"] = "any",
    exact: bool = False,
    sparse: bool = False,
    masked: bool = False,
) -> FiniteMDP:
    """Random finite MDPs.

    Transition rows are normalised small integer weights (so they are exact rationals when
    ``exact=True``), and rows with zeros are common: unreachable states, absorbing states
    and deterministic moves all occur.

    Parameters
    ----------
    min_states, max_states, min_actions, max_actions : int
        Size bounds.
    deterministic : bool
        Every ``(s, a)`` has one successor.
    max_successors : int, optional
        At most this many successors per ``(s, a)``.
    initial : {"any", "first", "uniform"}
        ``"first"`` starts in state 0, ``"uniform"`` uniformly; ``"any"`` draws a
        distribution (possibly with unreachable states).
    exact : bool
        Build the MDP from :class:`fractions.Fraction` entries (exact evaluation).
    sparse : bool
        Pass the transitions as a scipy.sparse ``(S*A, S)`` matrix.
    masked : bool
        Draw a random :attr:`FiniteMDP.enabled` mask too (every state keeps at least one
        action; states with fewer actions are common), as in PRISM/Storm models.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, database=None)
    ... @given(mdps(max_states=3, exact=True))
    ... def check(env):
    ...     assert env.is_exact and env.n_states <= 3
    >>> check()
    >>> @settings(max_examples=5, database=None)
    ... @given(mdps(max_states=3, masked=True))
    ... def check_masked(env):
    ...     assert (env.n_enabled >= 1).all()
    >>> check_masked()
    """
    S = draw(st.integers(min_states, max_states))
    A = draw(st.integers(min_actions, max_actions))
    rows: list[Any] = []
    for _ in range(S * A):
        if deterministic:
            row: Any = [Fraction(0)] * S if exact else np.zeros(S)
            row[draw(st.integers(0, S - 1))] = Fraction(1) if exact else 1.0
        else:
            k = S if max_successors is None else max(1, min(max_successors, S))
            support = draw(st.lists(st.integers(0, S - 1), min_size=1, max_size=k, unique=True))
            probs = _distribution(draw, len(support), zeros=False, exact=exact)
            row = [Fraction(0)] * S if exact else np.zeros(S)
            for t, p in zip(support, probs, strict=True):
                row[t] = p
        rows.append(row)
    if initial == "first":
        init: Any = [Fraction(1) if exact else 1.0] + [Fraction(0) if exact else 0.0] * (S - 1)
    elif initial == "uniform":
        init = [Fraction(1, S)] * S if exact else np.full(S, 1.0 / S)
    else:
        init = _distribution(draw, S, zeros=True, exact=exact)
    enabled: np.ndarray | None = None
    if masked:
        enabled = np.array(
            draw(st.lists(st.booleans(), min_size=S * A, max_size=S * A)), dtype=bool
        ).reshape(S, A)
        for s in np.flatnonzero(~enabled.any(axis=1)).tolist():
            enabled[s, draw(st.integers(0, A - 1))] = True
        for s, a in np.argwhere(~enabled).tolist():
            rows[s * A + a] = [Fraction(0)] * S if exact else np.zeros(S)
    if exact:
        transitions: Any = np.array(rows, dtype=object).reshape(S, A, S)
        return FiniteMDP(transitions, np.array(init, dtype=object), enabled=enabled)
    dense = np.array(rows, dtype=float).reshape(S, A, S)
    if sparse:
        import scipy.sparse as sp

        return FiniteMDP(
            sp.csr_matrix(dense.reshape(S * A, S)), np.asarray(init, dtype=float),
            enabled=enabled,
        )
    return FiniteMDP(dense, np.asarray(init, dtype=float), enabled=enabled)


@st.composite
def labelled_mdps(
    draw: st.DrawFn,
    propositions: Sequence[str] = ("a", "b"),
    *,
    transition_labels: bool = False,
    **mdp_kwargs: Any,
) -> FiniteMDP:
    """Random MDPs (:func:`mdps`, same keyword arguments) with random labels.

    State labels by default; with ``transition_labels=True`` each transition
    ``(s, a, s')`` gets its own random label set (the paper's general labelling).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, database=None)
    ... @given(labelled_mdps(("p",), transition_labels=True))
    ... def check(env):
    ...     assert set(env.propositions) <= {"p"} and env.state_labels is None
    >>> check()
    """
    base = draw(mdps(**mdp_kwargs))
    props = list(propositions)
    transitions: Any = base.exact_transitions() if base.is_exact else base.transitions
    init: Any = base.exact_initial() if base.is_exact else base.initial
    subsets = st.lists(st.sampled_from(props), unique=True) if props else st.just([])
    enabled = None if base.all_enabled else base.enabled
    if not transition_labels:
        labels = {s: draw(subsets) for s in range(base.n_states)}
        return FiniteMDP(transitions, init, labels=labels, enabled=enabled)
    table = {
        (s, a, t): frozenset(draw(subsets))
        for s in range(base.n_states)
        for a in range(base.n_actions)
        for t in range(base.n_states)
    }

    def label(s: int, a: int, t: int) -> frozenset[str]:
        return table[(s, a, t)]

    return FiniteMDP(transitions, init, labels=label, enabled=enabled)


# ---------------------------------------------------------------- policies


def _shape(env_or_shape: FiniteMDP | tuple[int, int]) -> tuple[int, int]:
    if isinstance(env_or_shape, FiniteMDP):
        return env_or_shape.n_states, env_or_shape.n_actions
    S, A = env_or_shape
    return int(S), int(A)


@st.composite
def policies(
    draw: st.DrawFn,
    env_or_shape: FiniteMDP | tuple[int, int],
    kind: PolicyKind = "any",
    *,
    exact: bool = False,
) -> Policy:
    """Policies for an environment (or an ``(S, A)`` shape).

    ``kind``: ``"deterministic"``; ``"boundary"`` (every row has a zero when ``A > 1``:
    the faces of the simplex); ``"interior"`` (full support); ``"any"`` mixes all three,
    row by row. ``exact=True`` gives Fraction probabilities. For an environment with
    disabled actions (:attr:`FiniteMDP.enabled`) every row is drawn over the enabled
    actions of its state only ("interior" then means full support on them).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, database=None)
    ... @given(policies((3, 2), "deterministic"))
    ... def check(pi):
    ...     assert pi.is_deterministic
    >>> check()
    """
    S, A = _shape(env_or_shape)
    mask = env_or_shape.enabled if isinstance(env_or_shape, FiniteMDP) else None
    rows = []
    for s in range(S):
        row_kind = kind if kind != "any" else draw(
            st.sampled_from(["deterministic", "boundary", "interior"])
        )
        on = list(range(A)) if mask is None else np.flatnonzero(mask[s]).tolist()
        k = len(on)
        if row_kind == "deterministic" or k == 1:
            sub: Any = [Fraction(0)] * k if exact else np.zeros(k)
            sub[draw(st.integers(0, k - 1))] = Fraction(1) if exact else 1.0
        elif row_kind == "boundary":
            zero = draw(st.integers(0, k - 1))
            inner = _distribution(draw, k - 1, zeros=True, exact=exact)
            sub = list(inner[:zero]) + [Fraction(0) if exact else 0.0] + list(inner[zero:])
        else:
            sub = _distribution(draw, k, zeros=False, exact=exact)
        row: list[Any] = [Fraction(0) if exact else 0.0] * A
        for a, p in zip(on, sub, strict=True):
            row[a] = p
        rows.append(row)
    return Policy(np.array(rows, dtype=object) if exact else np.array(rows, dtype=float))


def policy_batches(
    env_or_shape: FiniteMDP | tuple[int, int],
    min_size: int = 1,
    max_size: int = 6,
    kind: PolicyKind = "any",
) -> st.SearchStrategy[list[Policy]]:
    """Lists of policies (batches) for one environment.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=3, database=None)
    ... @given(policy_batches((2, 2), 2, 3))
    ... def check(batch):
    ...     assert 2 <= len(batch) <= 3
    >>> check()
    """
    return st.lists(policies(env_or_shape, kind), min_size=min_size, max_size=max_size)


# ---------------------------------------------------------------- rewards


@st.composite
def rewards(
    draw: st.DrawFn,
    env_or_shape: FiniteMDP | tuple[int, int],
    shape: RewardShape = "any",
    *,
    min_value: float = -1.0,
    max_value: float = 1.0,
    integers: bool = False,
) -> np.ndarray:
    """Markov rewards ``[S]``, ``[S, A]`` or ``[S, A, S]`` (``shape``), finite values in
    ``[min_value, max_value]``; ``integers=True`` draws integer values (exact ties).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, database=None)
    ... @given(rewards((2, 3), "state_action"))
    ... def check(r):
    ...     assert r.shape == (2, 3) and abs(r).max() <= 1
    >>> check()
    """
    S, A = _shape(env_or_shape)
    if shape == "any":
        shape = draw(st.sampled_from(["state", "state_action", "transition"]))
    dims = {"state": (S,), "state_action": (S, A), "transition": (S, A, S)}[shape]
    n = int(np.prod(dims))
    if integers:
        values: list[float] = draw(
            st.lists(st.integers(math.ceil(min_value), math.floor(max_value)), min_size=n,
                     max_size=n)
        )
    else:
        values = draw(
            st.lists(
                st.floats(min_value, max_value, allow_nan=False, allow_infinity=False, width=32),
                min_size=n, max_size=n,
            )
        )
    return np.asarray(values, dtype=float).reshape(dims)


def reward_vectors(
    env_or_shape: FiniteMDP | tuple[int, int],
    k: int | None = None,
    shape: RewardShape = "state_action",
) -> st.SearchStrategy[np.ndarray]:
    """``k`` stacked rewards ``[k, ...]`` (``k`` drawn from 1..3 if not given), for MORL."""
    count = st.just(k) if k is not None else st.integers(1, 3)
    fixed: RewardShape = shape if shape != "any" else "state_action"
    return count.flatmap(
        lambda n: st.lists(rewards(env_or_shape, fixed), min_size=n, max_size=n).map(np.stack)
    )


def discounts(min_value: float = 0.1, max_value: float = 0.95) -> st.SearchStrategy[float]:
    """Discount factors in ``[min_value, max_value]`` (kept away from 1 for conditioning)."""
    return st.floats(min_value, max_value, allow_nan=False)


# ---------------------------------------------------------------- specifications

_Real = Callable[[Any], Any]


def _scalar_functions() -> st.SearchStrategy[_Real]:
    """Named real functions for ONMR: identity, peaks, sigmoids, steps, cubes."""

    def peak(c: float) -> _Real:
        return lambda x: -((x - c) ** 2)

    def step(c: float) -> _Real:
        return lambda x: 1.0 if x >= c else 0.0

    def squash(k: float) -> _Real:
        return lambda x: math.tanh(k * x)

    centre = st.floats(-2.0, 2.0, allow_nan=False)
    return st.one_of(
        st.just(lambda x: x),
        centre.map(peak),
        centre.map(step),
        st.floats(0.1, 3.0).map(squash),
        st.just(lambda x: x**3),
    )


def _vector_functions(k: int) -> st.SearchStrategy[_Real]:
    """Functions of ``k`` expected returns for OMORL: weighted sums, min, distance to a target."""

    def weighted(w: list[float]) -> _Real:
        return lambda v: float(np.dot(w, np.asarray(v, dtype=float)))

    def distance(c: list[float]) -> _Real:
        return lambda v: -float(np.sum((np.asarray(v, dtype=float) - c) ** 2))

    vec = st.lists(st.floats(-2.0, 2.0, allow_nan=False), min_size=k, max_size=k)
    return st.one_of(
        vec.map(weighted),
        vec.map(distance),
        st.just(lambda v: float(np.min(np.asarray(v, dtype=float)))),
    )


def _vector_orders(k: int) -> st.SearchStrategy[Any]:
    from objspec import orders

    signs = st.lists(st.sampled_from([1, -1]), min_size=k, max_size=k)
    thresholds = st.lists(st.floats(-2.0, 2.0, allow_nan=False), min_size=k, max_size=k)
    weights = st.lists(st.floats(-2.0, 2.0, allow_nan=False), min_size=k, max_size=k)
    return st.one_of(
        signs.map(lambda s: orders.lexicographic(s)),
        thresholds.map(orders.thresholded_lexicographic),
        weights.map(lambda w: orders.by_key(lambda v: float(np.dot(w, np.asarray(v, float))))),
    )


@st.composite
def markov_rewards(draw: st.DrawFn, env: FiniteMDP) -> Any:
    """:class:`~objspec.formalisms.MarkovReward` specifications for ``env``."""
    from objspec.formalisms import MarkovReward

    return MarkovReward(draw(rewards(env)), draw(discounts()))


@st.composite
def limit_average_rewards(draw: st.DrawFn, env: FiniteMDP) -> Any:
    """:class:`~objspec.formalisms.LimitAverageReward` specifications (integer rewards
    are drawn half the time, so exact ties between long-run averages occur)."""
    from objspec.formalisms.limit_average import LimitAverageReward

    return LimitAverageReward(draw(rewards(env, integers=draw(st.booleans()))))


@st.composite
def outer_nonlinear(draw: st.DrawFn, env: FiniteMDP) -> Any:
    """:class:`~objspec.formalisms.OuterNonlinearMarkovReward` specifications."""
    from objspec.formalisms import OuterNonlinearMarkovReward

    return OuterNonlinearMarkovReward(
        draw(rewards(env)), draw(_scalar_functions()), draw(discounts())
    )


@st.composite
def outer_morl(draw: st.DrawFn, env: FiniteMDP) -> Any:
    """:class:`~objspec.formalisms.OuterMORL` specifications with ``k`` in 1..3."""
    from objspec.formalisms import OuterMORL

    stacked = draw(reward_vectors(env))
    return OuterMORL(stacked, draw(_vector_functions(len(stacked))), draw(discounts()))


@st.composite
def generalised_outer_morl(draw: st.DrawFn, env: FiniteMDP) -> Any:
    """:class:`~objspec.formalisms.GeneralisedOuterMORL` specifications: lexicographic
    (with random signs), thresholded lexicographic, or a weighted key."""
    from objspec.formalisms import GeneralisedOuterMORL

    stacked = draw(reward_vectors(env))
    return GeneralisedOuterMORL(stacked, draw(_vector_orders(len(stacked))), draw(discounts()))


@st.composite
def regularised(draw: st.DrawFn, env: FiniteMDP) -> Any:
    """:class:`~objspec.formalisms.RegularisedRL` specifications: negative entropy or KL
    to a random full-support reference policy, weight ``alpha`` in ``[-2, 2]``."""
    from objspec.formalisms import RegularisedRL, regularisers

    if draw(st.booleans()):
        reg: Any = regularisers.negative_entropy
    else:
        reference = draw(policies(env, "interior"))
        reg = regularisers.kl_to(reference.probabilities)
    alpha = draw(st.floats(-2.0, 2.0, allow_nan=False))
    return RegularisedRL(draw(rewards(env)), reg, alpha, draw(discounts()))


@st.composite
def occupancy_functions(draw: st.DrawFn, env: FiniteMDP) -> Any:
    """:class:`~objspec.formalisms.OccupancyMeasureFunction` specifications: a linear
    statistic ``<w, m>`` passed through a peak, or the negative squared distance of
    ``m`` to a random target."""
    from objspec.formalisms import OccupancyMeasureFunction

    w = draw(rewards(env, "transition"))
    if draw(st.booleans()):
        c = draw(st.floats(-2.0, 2.0, allow_nan=False))

        def f(m: Any) -> float:
            return -((float(np.sum(w * np.asarray(m, dtype=float))) - c) ** 2)
    else:

        def f(m: Any) -> float:
            return -float(np.sum((np.asarray(m, dtype=float) - w) ** 2))

    return OccupancyMeasureFunction(f, draw(discounts()))


@st.composite
def occupancy_orderings(draw: st.DrawFn, env: FiniteMDP) -> Any:
    """:class:`~objspec.formalisms.OccupancyMeasureOrdering` specifications: the
    lexicographic order of two linear statistics of the occupancy measure."""
    from objspec import orders
    from objspec.formalisms import OccupancyMeasureOrdering

    w1 = draw(rewards(env, "transition"))
    w2 = draw(rewards(env, "transition"))

    def stats(m: Any) -> list[float]:
        arr = np.asarray(m, dtype=float)
        return [float(np.sum(w1 * arr)), float(np.sum(w2 * arr))]

    return OccupancyMeasureOrdering(orders.pullback(orders.lexicographic(), stats),
                                    draw(discounts()))


@st.composite
def policy_functions(draw: st.DrawFn, env: FiniteMDP) -> Any:
    """:class:`~objspec.formalisms.PolicyFunction` specifications ``f(pi) = <W, pi>``
    (they see unreachable states, unlike every lottery-level formalism)."""
    from objspec.formalisms import PolicyFunction

    W = draw(rewards(env, "state_action"))
    return PolicyFunction(lambda pi: float(np.sum(W * pi.probabilities)))


@st.composite
def policy_orderings(draw: st.DrawFn, env: FiniteMDP) -> Any:
    """:class:`~objspec.formalisms.PolicyOrdering` specifications: lexicographic on the
    action probabilities of the states, in a random state order."""
    from objspec import orders
    from objspec.formalisms import PolicyOrdering

    order = draw(st.permutations(list(range(env.n_states))))
    return PolicyOrdering(
        orders.pullback(
            orders.lexicographic(),
            lambda pi: [float(x) for s in order for x in pi.probabilities[s]],
        )
    )


@st.composite
def trajectory_functions(draw: st.DrawFn, env: FiniteMDP, max_horizon: int = 3) -> Any:
    """:class:`~objspec.formalisms.TrajectoryFunction` specifications of a short prefix
    (horizon 1..``max_horizon``), evaluated exactly by prefix enumeration: a sum or a
    product of per-step weights ``W[t, s_t, a_t]``, or "the same action at steps 0 and 1"."""
    from objspec.formalisms.trajectory import TrajectoryFunction

    horizon = draw(st.integers(1, max_horizon))
    W = np.stack([draw(rewards(env, "state_action", integers=True, min_value=-2, max_value=2))
                  for _ in range(horizon)])
    kind = draw(st.sampled_from(["sum", "product", "same"] if horizon >= 2 else ["sum"]))
    steps = np.arange(horizon)

    def f(states: Any, actions: Any) -> float:
        s = np.asarray(states, dtype=np.int64)[:horizon]
        a = np.asarray(actions, dtype=np.int64)[:horizon]
        if kind == "same":
            return float(a[0] == a[1])
        terms = W[steps, s, a]
        return float(terms.sum() if kind == "sum" else terms.prod())

    return TrajectoryFunction(f, horizon)


def transient_states(env: FiniteMDP) -> np.ndarray:
    """States that every policy leaves for ever: ``[S]`` bool.

    A state is transient here when no path of the support graph (every action allowed)
    leads to it from a state that lies on a cycle, itself included. A reward that is zero
    on every transition out of the other states is collected on finitely many steps by
    every trajectory, so its return takes finitely many values (for every discount): the
    condition :func:`objspec.formalisms.lottery.return_distribution` decides.

    Examples
    --------
    >>> from objspec.environments import E3
    >>> transient_states(E3()).tolist()  # s0 is left for ever; s1 is absorbing
    [True, False]
    """
    S = env.n_states
    step = np.asarray((np.asarray(env.transitions) > 0).any(axis=1), dtype=np.int64)
    reach: np.ndarray = step > 0  # [S, S]: paths of length >= 1
    for _ in range(S):
        new = reach | ((reach.astype(np.int64) @ step) > 0)
        if np.array_equal(new, reach):
            break
        reach = new
    cyclic = np.diag(reach).copy()
    after_cycle = (reach & cyclic[:, None]).any(axis=0)
    return np.asarray(~cyclic & ~after_cycle)


@st.composite
def _finite_return_setup(
    draw: st.DrawFn, env: FiniteMDP, k: int | None
) -> tuple[np.ndarray, float]:
    """Rewards (``[S, A, S]``, or ``[k, S, A, S]`` when ``k`` is given) and a discount
    whose return takes finitely many values on ``env``: either ``gamma = 0`` (only the
    first transition counts) or a positive discount with rewards zero on every transition
    out of a non-transient state (:func:`transient_states`)."""
    transient = transient_states(env)
    count = 1 if k is None else k
    integers: bool = draw(st.booleans())
    stacked = np.stack([
        draw(rewards(env, "transition", integers=integers, min_value=-2.0, max_value=2.0))
        for _ in range(count)
    ])
    if bool(transient.any()) and draw(st.booleans()):
        stacked[:, ~transient] = 0.0
        gamma = draw(discounts())
    else:
        gamma = 0.0
    return (stacked[0] if k is None else stacked), gamma


@st.composite
def inner_nonlinear(draw: st.DrawFn, env: FiniteMDP) -> Any:
    """:class:`~objspec.formalisms.InnerNonlinearMarkovReward` specifications whose
    evaluation is exact (``method="exact"``, return distribution) on ``env``.

    The return takes finitely many values: either ``gamma = 0`` (the utility of the first
    transition's reward), or ``gamma`` in ``[0.1, 0.95]`` with a reward that is zero out
    of every state some trajectory can stay in or come back to (:func:`transient_states`;
    drawn only when ``env`` has such states). The utility ``f`` is one of the ONMR
    functions (peaks, steps, sigmoids, cubes, identity). Compiled on *another*
    environment of the same size the return may not be finite; ``method="exact"`` then
    raises :class:`~objspec.errors.InvalidSpecificationError`.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from objspec.environments import E3
    >>> @settings(max_examples=5, database=None)
    ... @given(inner_nonlinear(E3()))
    ... def check(spec):
    ...     assert "return distribution" in spec.compile(E3()).method
    >>> check()
    """
    from objspec.formalisms import InnerNonlinearMarkovReward

    reward, gamma = draw(_finite_return_setup(env, None))
    return InnerNonlinearMarkovReward(reward, draw(_scalar_functions()), gamma, method="exact")


@st.composite
def inner_morl(draw: st.DrawFn, env: FiniteMDP) -> Any:
    """:class:`~objspec.formalisms.InnerMORL` specifications with ``k`` in 1..3, exact on
    ``env`` (``method="exact"``) for the reasons given in :func:`inner_nonlinear`; ``f``
    is a weighted sum, a minimum or a distance to a target of the return vector (the
    OMORL functions, here applied inside the expectation).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from objspec.environments import E4
    >>> @settings(max_examples=5, database=None)
    ... @given(inner_morl(E4()))
    ... def check(spec):
    ...     assert 1 <= spec.k <= 3 and "return distribution" in spec.compile(E4()).method
    >>> check()
    """
    from objspec.formalisms import InnerMORL

    k = draw(st.integers(1, 3))
    stacked, gamma = draw(_finite_return_setup(env, k))
    return InnerMORL(stacked, draw(_vector_functions(k)), gamma, method="exact")


def _dot(w: np.ndarray, m: Any) -> Any:
    """``<w, m>``: a Fraction when ``m`` holds Fractions (exact lotteries), else a float."""
    arr = np.asarray(m)
    if arr.dtype == object:
        return sum((Fraction(float(x)) * y for x, y in zip(w.ravel().tolist(),
                                                           arr.ravel().tolist(), strict=True)),
                   Fraction(0))
    return float(np.sum(w * arr))


@st.composite
def _lottery_statistics(draw: st.DrawFn, env: FiniteMDP) -> Callable[[Any], tuple[Any, Any]]:
    """Two statistics of a lottery: linear statistics ``<w1, m>``, ``<w2, m>`` of its
    occupancy measure, or the mean and the variance of a discounted return. Fractions
    when the lottery is exact, floats otherwise."""
    gamma = draw(discounts())
    if draw(st.booleans()):
        w1 = draw(rewards(env, "transition"))
        w2 = draw(rewards(env, "transition"))

        def occupancy(lottery: Any) -> tuple[Any, Any]:
            m = lottery.occupancy_measure(gamma)
            return _dot(w1, m), _dot(w2, m)

        return occupancy
    reward = draw(rewards(env))

    def moments(lottery: Any) -> tuple[Any, Any]:
        mean, second = lottery.return_moments(reward, gamma)
        return mean, second - mean * mean

    return moments


@st.composite
def lottery_functions(draw: st.DrawFn, env: FiniteMDP) -> Any:
    """:class:`~objspec.formalisms.TrajectoryLotteryFunction` specifications: nonlinear
    functions of two lottery statistics (:class:`~objspec.formalisms.lottery.TrajectoryLottery`
    occupancy measure or return moments): their product, a mean-variance trade-off
    ``x - lam * y``, or a peak ``-(x - c)^2``. Exact with exact lotteries (Fractions in,
    Fractions out).

    Examples
    --------
    Policies of E2 that differ only at the unreachable ``s1`` have the same lottery:

    >>> from hypothesis import given, settings
    >>> from objspec.environments import E2
    >>> @settings(max_examples=5, database=None)
    ... @given(lottery_functions(E2()))
    ... def check(spec):
    ...     ev = spec.compile(E2())
    ...     assert ev.rank([[[1, 0], [1, 0]], [[1, 0], [0, 1]]]).tolist() == [0, 0]
    >>> check()
    """
    from objspec.formalisms import TrajectoryLotteryFunction

    stats = draw(_lottery_statistics(env))
    kind = draw(st.sampled_from(["product", "trade-off", "peak"]))
    lam = Fraction(draw(st.integers(-4, 4)), 2)
    c = Fraction(draw(st.integers(-4, 4)), 2)

    def f(lottery: Any) -> Any:
        x, y = stats(lottery)
        if kind == "product":
            return x * y
        if kind == "trade-off":
            return x - (lam if isinstance(y, Fraction) else float(lam)) * y
        centre = c if isinstance(x, Fraction) else float(c)
        return -((x - centre) ** 2)

    return TrajectoryLotteryFunction(f)


@st.composite
def lottery_orderings(draw: st.DrawFn, env: FiniteMDP) -> Any:
    """:class:`~objspec.formalisms.TrajectoryLotteryOrdering` specifications: orders by key
    (:func:`objspec.orders.by_key`) on two lottery statistics (occupancy-measure statistics,
    or mean and variance of a return), lexicographic with random signs (e.g. mean first,
    then lower variance) or by a weighted sum. Float statistics are rounded to 9 decimals
    so that rounding noise does not decide the lexicographic tie-break; exact lotteries
    give exact keys.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from objspec.environments import E2
    >>> @settings(max_examples=5, database=None)
    ... @given(lottery_orderings(E2()))
    ... def check(spec):
    ...     ev = spec.compile(E2())
    ...     assert ev.compare([[0.5, 0.5], [1, 0]], [[0.5, 0.5], [0, 1]]) == 0
    >>> check()
    """
    from objspec import orders
    from objspec.formalisms import TrajectoryLotteryOrdering

    stats = draw(_lottery_statistics(env))
    signs = draw(st.lists(st.sampled_from([1, -1]), min_size=2, max_size=2))
    lexicographic = draw(st.booleans())
    weight = Fraction(draw(st.integers(-4, 4)), 2)

    def key(lottery: Any) -> tuple[Any, ...]:
        x, y = (v if isinstance(v, Fraction) else round(float(v), 9) for v in stats(lottery))
        if lexicographic:
            return (signs[0] * x, signs[1] * y)
        w = weight if isinstance(y, Fraction) else float(weight)
        total = x + w * y
        return (total if isinstance(total, Fraction) else round(total, 9),)

    return TrajectoryLotteryOrdering(orders.by_key(key))

def ltl_formulas(
    propositions: Sequence[str] = ("a", "b"), max_leaves: int = 6
) -> st.SearchStrategy[str]:
    """LTL formulas (Spot syntax, fully parenthesised) over ``propositions``.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, database=None)
    ... @given(ltl_formulas(("p",)))
    ... def check(text):
    ...     assert text.count("(") == text.count(")")
    >>> check()
    """
    atoms = st.sampled_from(list(propositions) or ["true"]) | st.sampled_from(["true", "false"])

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        unary = st.tuples(st.sampled_from(["!", "X", "F", "G"]), inner).map(
            lambda t: f"{t[0]}({t[1]})"
        )
        binary = st.tuples(inner, st.sampled_from(["&", "|", "U", "R", "->"]), inner).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"
        )
        return unary | binary

    return st.recursive(atoms, extend, max_leaves=max_leaves)


@st.composite
def ltl_specs(draw: st.DrawFn, env: FiniteMDP, max_leaves: int = 5) -> Any:
    """:class:`~objspec.formalisms.LinearTemporalLogic` specifications over ``env``'s
    propositions."""
    from objspec.formalisms.temporal_logic import LinearTemporalLogic

    return LinearTemporalLogic(draw(ltl_formulas(env.propositions, max_leaves)))


@st.composite
def reward_machines(
    draw: st.DrawFn, env: FiniteMDP, max_machine_states: int = 3, *, allow_unmatched: bool = True
) -> Any:
    """:class:`~objspec.formalisms.RewardMachine` specifications over ``env``'s propositions.

    Each machine state tests one proposition ``p`` (edges ``p`` and ``!p``) or none
    (one ``true`` edge), so its guards are mutually exclusive. With ``allow_unmatched``
    the ``!p`` edge is sometimes left out, exercising the rule that an unmatched label
    keeps the machine where it is with reward 0. Rewards are numbers in ``[-1, 1]``.
    """
    from objspec.formalisms.reward_machine import RewardMachine

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


#: Strategy factory of each formalism acronym (those whose class exists).
FORMALISMS: dict[str, Callable[[FiniteMDP], st.SearchStrategy[Any]]] = {
    "MR": markov_rewards,
    "LAR": limit_average_rewards,
    "ONMR": outer_nonlinear,
    "OMORL": outer_morl,
    "GOMORL": generalised_outer_morl,
    "RRL": regularised,
    "FOMR": occupancy_functions,
    "OMO": occupancy_orderings,
    "FTR": trajectory_functions,
    "FPR": policy_functions,
    "PO": policy_orderings,
    "LTL": ltl_specs,
    "RM": reward_machines,
    "INMR": inner_nonlinear,
    "IMORL": inner_morl,
    "FTLR": lottery_functions,
    "TLO": lottery_orderings,
}


def specs(env: FiniteMDP, formalisms: Sequence[str] | None = None) -> st.SearchStrategy[Any]:
    """Specifications for ``env`` in any of ``formalisms`` (acronyms; default: all of
    :data:`FORMALISMS`, LTL and RM only when ``env`` has propositions).

    Raises
    ------
    InvalidSpecificationError
        On an acronym without a strategy.
    """
    from objspec.errors import InvalidSpecificationError

    names = list(formalisms) if formalisms is not None else [
        n for n in FORMALISMS if env.propositions or n not in ("LTL", "RM")
    ]
    unknown = [n for n in names if n not in FORMALISMS]
    if unknown:
        raise InvalidSpecificationError(
            f"no strategy for {unknown}; strategies exist for {sorted(FORMALISMS)}"
        )
    return st.one_of([FORMALISMS[n](env) for n in names])


def mdp_and_policies(
    n_policies: int | None = None, kind: PolicyKind = "any", **mdp_kwargs: Any
) -> st.SearchStrategy[Any]:
    """``(env, policy)`` pairs, or ``(env, [policies])`` when ``n_policies`` is given.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=3, database=None)
    ... @given(mdp_and_policies(n_policies=2))
    ... def check(pair):
    ...     env, batch = pair
    ...     assert len(batch) == 2
    >>> check()
    """

    def attach(env: FiniteMDP) -> st.SearchStrategy[Any]:
        if n_policies is None:
            return st.tuples(st.just(env), policies(env, kind))
        return st.tuples(st.just(env), policy_batches(env, n_policies, n_policies, kind))

    return mdps(**mdp_kwargs).flatmap(attach)


def mdp_and_specs(
    formalisms: Sequence[str] | None = None,
    propositions: Sequence[str] = ("a", "b"),
    **mdp_kwargs: Any,
) -> st.SearchStrategy[tuple[FiniteMDP, Any]]:
    """``(env, spec)`` pairs: a labelled MDP and a specification written for it."""
    return labelled_mdps(propositions, **mdp_kwargs).flatmap(
        lambda env: st.tuples(st.just(env), specs(env, formalisms))
    )
