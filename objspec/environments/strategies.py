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

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from objspec.formalisms._strategies import ltl_formulas, transient_states
from objspec.formalisms.registry import formalism_info, registered_formalisms
from objspec.mdp.model import FiniteMDP
from objspec.mdp.strategies import (
    PolicyKind,
    RewardShape,
    discounts,
    labelled_mdps,
    mdps,
    policies,
    policy_batches,
    reward_vectors,
    rewards,
)

__all__ = [
    "PolicyKind",
    "RewardShape",
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
    "strategy_for",
    "FORMALISMS",
    "mdp_and_policies",
    "mdp_and_specs",
]


def _registered(acronym: str, env: FiniteMDP, **options: Any) -> st.SearchStrategy[Any]:
    strategy = formalism_info(acronym).strategy
    assert strategy is not None  # every formalism of the paper registers one
    return strategy(env, **options)


def strategy_for(formalism: Any, env: FiniteMDP, **options: Any) -> st.SearchStrategy[Any]:
    """The registered strategy of ``formalism`` (acronym, name or class) for ``env``.

    Raises
    ------
    InvalidSpecificationError
        For an unknown formalism, or one that registers no strategy.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from objspec.environments import E3
    >>> @settings(max_examples=3, database=None)
    ... @given(strategy_for("MarkovReward", E3()))
    ... def check(spec):
    ...     assert spec.acronym == "MR"
    >>> check()
    """
    from objspec.errors import InvalidSpecificationError

    info = formalism_info(formalism)
    if info.strategy is None:
        raise InvalidSpecificationError(f"formalism {info.acronym} registers no strategy")
    return info.strategy(env, **options)


class _RegisteredStrategies(Mapping[str, Callable[[FiniteMDP], st.SearchStrategy[Any]]]):
    """Acronym -> strategy factory of every registered formalism that has one, read from
    the registry on every access (a formalism registered later appears)."""

    def _table(self) -> dict[str, Callable[[FiniteMDP], st.SearchStrategy[Any]]]:
        return {i.acronym: i.strategy for i in registered_formalisms() if i.strategy is not None}

    def __getitem__(self, key: str) -> Callable[[FiniteMDP], st.SearchStrategy[Any]]:
        return self._table()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


#: Strategy factory of each formalism acronym (derived from the formalism registry).
FORMALISMS: Mapping[str, Callable[[FiniteMDP], st.SearchStrategy[Any]]] = (
    _RegisteredStrategies())


def markov_rewards(env: FiniteMDP) -> st.SearchStrategy[Any]:
    """:class:`~objspec.formalisms.MarkovReward` specifications for ``env``.

    The strategy MR registers (:attr:`~objspec.formalisms.registry.FormalismInfo.strategy`).
    """
    return _registered("MR", env)


def limit_average_rewards(env: FiniteMDP) -> st.SearchStrategy[Any]:
    """:class:`~objspec.formalisms.LimitAverageReward` specifications (integer rewards
    are drawn half the time, so exact ties between long-run averages occur).

    The strategy LAR registers (:attr:`~objspec.formalisms.registry.FormalismInfo.strategy`).
    """
    return _registered("LAR", env)


def outer_nonlinear(env: FiniteMDP) -> st.SearchStrategy[Any]:
    """:class:`~objspec.formalisms.OuterNonlinearMarkovReward` specifications.

    The strategy ONMR registers (:attr:`~objspec.formalisms.registry.FormalismInfo.strategy`).
    """
    return _registered("ONMR", env)


def outer_morl(env: FiniteMDP) -> st.SearchStrategy[Any]:
    """:class:`~objspec.formalisms.OuterMORL` specifications with ``k`` in 1..3.

    The strategy OMORL registers (:attr:`~objspec.formalisms.registry.FormalismInfo.strategy`).
    """
    return _registered("OMORL", env)


def generalised_outer_morl(env: FiniteMDP) -> st.SearchStrategy[Any]:
    """:class:`~objspec.formalisms.GeneralisedOuterMORL` specifications: lexicographic
    (with random signs), thresholded lexicographic, or a weighted key.

    The strategy GOMORL registers (:attr:`~objspec.formalisms.registry.FormalismInfo.strategy`).
    """
    return _registered("GOMORL", env)


def regularised(env: FiniteMDP) -> st.SearchStrategy[Any]:
    """:class:`~objspec.formalisms.RegularisedRL` specifications: negative entropy or KL
    to a random full-support reference policy, weight ``alpha`` in ``[-2, 2]``.

    The strategy RRL registers (:attr:`~objspec.formalisms.registry.FormalismInfo.strategy`).
    """
    return _registered("RRL", env)


def occupancy_functions(env: FiniteMDP) -> st.SearchStrategy[Any]:
    """:class:`~objspec.formalisms.OccupancyMeasureFunction` specifications: a linear
    statistic ``<w, m>`` passed through a peak, or the negative squared distance of
    ``m`` to a random target.

    The strategy FOMR registers (:attr:`~objspec.formalisms.registry.FormalismInfo.strategy`).
    """
    return _registered("FOMR", env)


def occupancy_orderings(env: FiniteMDP) -> st.SearchStrategy[Any]:
    """:class:`~objspec.formalisms.OccupancyMeasureOrdering` specifications: the
    lexicographic order of two linear statistics of the occupancy measure.

    The strategy OMO registers (:attr:`~objspec.formalisms.registry.FormalismInfo.strategy`).
    """
    return _registered("OMO", env)


def policy_functions(env: FiniteMDP) -> st.SearchStrategy[Any]:
    """:class:`~objspec.formalisms.PolicyFunction` specifications ``f(pi) = <W, pi>``
    (they see unreachable states, unlike every lottery-level formalism).

    The strategy FPR registers (:attr:`~objspec.formalisms.registry.FormalismInfo.strategy`).
    """
    return _registered("FPR", env)


def policy_orderings(env: FiniteMDP) -> st.SearchStrategy[Any]:
    """:class:`~objspec.formalisms.PolicyOrdering` specifications: lexicographic on the
    action probabilities of the states, in a random state order.

    The strategy PO registers (:attr:`~objspec.formalisms.registry.FormalismInfo.strategy`).
    """
    return _registered("PO", env)


def trajectory_functions(env: FiniteMDP, max_horizon: int = 3) -> st.SearchStrategy[Any]:
    """:class:`~objspec.formalisms.TrajectoryFunction` specifications of a short prefix
    (horizon 1..``max_horizon``), evaluated exactly by prefix enumeration: a sum or a
    product of per-step weights ``W[t, s_t, a_t]``, or "the same action at steps 0 and 1".

    The strategy FTR registers (:attr:`~objspec.formalisms.registry.FormalismInfo.strategy`).
    """
    return _registered("FTR", env, max_horizon=max_horizon)


def inner_nonlinear(env: FiniteMDP) -> st.SearchStrategy[Any]:
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

    The strategy INMR registers (:attr:`~objspec.formalisms.registry.FormalismInfo.strategy`).
    """
    return _registered("INMR", env)


def inner_morl(env: FiniteMDP) -> st.SearchStrategy[Any]:
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

    The strategy IMORL registers (:attr:`~objspec.formalisms.registry.FormalismInfo.strategy`).
    """
    return _registered("IMORL", env)


def lottery_functions(env: FiniteMDP) -> st.SearchStrategy[Any]:
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

    The strategy FTLR registers (:attr:`~objspec.formalisms.registry.FormalismInfo.strategy`).
    """
    return _registered("FTLR", env)


def lottery_orderings(env: FiniteMDP) -> st.SearchStrategy[Any]:
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

    The strategy TLO registers (:attr:`~objspec.formalisms.registry.FormalismInfo.strategy`).
    """
    return _registered("TLO", env)


def ltl_specs(env: FiniteMDP, max_leaves: int = 5) -> st.SearchStrategy[Any]:
    """:class:`~objspec.formalisms.LinearTemporalLogic` specifications over ``env``'s
    propositions.

    The strategy LTL registers (:attr:`~objspec.formalisms.registry.FormalismInfo.strategy`).
    """
    return _registered("LTL", env, max_leaves=max_leaves)


def reward_machines(
    env: FiniteMDP, max_machine_states: int = 3, *, allow_unmatched: bool = True
) -> st.SearchStrategy[Any]:
    """:class:`~objspec.formalisms.RewardMachine` specifications over ``env``'s propositions.

    Each machine state tests one proposition ``p`` (edges ``p`` and ``!p``) or none
    (one ``true`` edge), so its guards are mutually exclusive. With ``allow_unmatched``
    the ``!p`` edge is sometimes left out, exercising the rule that an unmatched label
    keeps the machine where it is with reward 0. Rewards are numbers in ``[-1, 1]``.

    The strategy RM registers (:attr:`~objspec.formalisms.registry.FormalismInfo.strategy`).
    """
    return _registered("RM", env, max_machine_states=max_machine_states,
                       allow_unmatched=allow_unmatched)


def specs(env: FiniteMDP, formalisms: Sequence[Any] | None = None) -> st.SearchStrategy[Any]:
    """Specifications for ``env`` in any of ``formalisms`` (acronyms, names or classes;
    default: every registered formalism with a strategy, those that read labels (LTL, RM)
    only when ``env`` has propositions).

    Raises
    ------
    InvalidSpecificationError
        On an unknown formalism or one without a strategy.
    """
    from objspec.errors import InvalidSpecificationError

    if formalisms is None:
        infos = [i for i in registered_formalisms() if i.strategy is not None
                 and (env.propositions or not i.needs_propositions)]
    else:
        infos = [formalism_info(f) for f in formalisms]
        missing = [i.acronym for i in infos if i.strategy is None]
        if missing:
            raise InvalidSpecificationError(
                f"no strategy for {missing}; strategies exist for "
                f"{[i.acronym for i in registered_formalisms() if i.strategy is not None]}")
    return st.one_of([i.strategy(env) for i in infos if i.strategy is not None])


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
