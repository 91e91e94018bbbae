"""Checking constructions: same ordering, ties included, on random environments and policies.

:func:`check_same_ordering` compares the total preorders two specifications induce on a
finite set of policies by their dense ranks (equal ranks <=> the same total preorder on the
set, every strict preference and every tie). Ranks come from evaluators compiled with
``exact=True`` wherever the formalism supports it (rational arithmetic: ties are exact);
otherwise from the float evaluator with its certified tie tolerance, and the result says so.

:func:`random_rational_mdp`, :func:`rational_policies` and :func:`random_spec` produce the
seeded random instances; :func:`verify_construction` runs one construction on several of
them. ``objspec verify`` and the test suite use these.

Examples
--------
>>> from objspec.reductions import constructions
>>> c = next(c for c in constructions() if c.name == "markov_reward_to_outer_nonlinear")
>>> verify_construction(c, seed=0).ok
True
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from objspec.errors import CertificateError, ObjspecError
from objspec.formalisms import MarkovReward
from objspec.formalisms._sampling import absorbing_zero
from objspec.formalisms.registry import formalism_info, registered_formalisms
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy
from objspec.reductions.registry import Construction

__all__ = [
    "OrderingCheck",
    "ConstructionReport",
    "induced_ranks",
    "check_same_ordering",
    "random_rational_mdp",
    "rational_policies",
    "random_spec",
    "check_instance",
    "spec_samplers",
    "acyclic_sources",
    "needs_acyclic",
    "random_spec_for",
    "verify_construction",
]

F = Fraction


def induced_ranks(spec: Any, env: FiniteMDP, policies: list[Policy]) -> tuple[np.ndarray, bool]:
    """Dense ranks of ``policies`` under ``spec`` in ``env`` and whether they are exact."""
    try:
        ev = spec.compile(env, exact=True)
    except (TypeError, ObjspecError):
        ev = spec.compile(env)
    return np.asarray(ev.rank(policies)), bool(getattr(ev, "exact", False))


@dataclass(frozen=True)
class OrderingCheck:
    """Outcome of :func:`check_same_ordering`: ``exact`` tells how ties were decided."""

    n_policies: int
    n_classes: int
    exact: bool


def check_same_ordering(
    source: Any, target: Any, env: FiniteMDP, policies: list[Policy], *, what: str = ""
) -> OrderingCheck:
    """Raise :class:`CertificateError` unless both specs induce the same total preorder.

    Examples
    --------
    >>> import numpy as np
    >>> from objspec import Policy
    >>> from objspec.environments import E1
    >>> from objspec.formalisms import MarkovReward
    >>> pols = [Policy.deterministic([a], 3) for a in range(3)]
    >>> check_same_ordering(MarkovReward([[1, 2, 3]], 0.5), MarkovReward([[2, 4, 6]], 0.9),
    ...                     E1(), pols).n_classes
    3
    """
    r1, e1 = induced_ranks(source, env, policies)
    r2, e2 = induced_ranks(target, env, policies)
    if not np.array_equal(r1, r2):
        i, j = next((i, j) for i in range(len(policies)) for j in range(len(policies))
                    if np.sign(r1[j] - r1[i]) != np.sign(r2[j] - r2[i]))
        raise CertificateError(
            f"{what or 'construction'}: orderings differ on policies {i} and {j} "
            f"(source ranks {r1[i]}, {r1[j]}; target ranks {r2[i]}, {r2[j]}): "
            f"{policies[i]!r} vs {policies[j]!r}"
        )
    return OrderingCheck(len(policies), int(r1.max(initial=-1)) + 1, e1 and e2)


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _simplex(rng: np.random.Generator, n: int, denominator: int = 6, zeros: bool = True) -> list[F]:
    w = rng.integers(0 if zeros else 1, denominator + 1, size=n)
    if w.sum() == 0:
        w[rng.integers(n)] = 1
    total = int(w.sum())
    return [F(int(x), total) for x in w]


def random_rational_mdp(
    n_states: int, n_actions: int, seed: int | np.random.Generator = 0,
    labels: Any = None, *, acyclic: bool = False,
) -> FiniteMDP:
    """A random MDP with rational transition probabilities, start in state 0 or a random
    rational initial distribution, and random state labels over ``p, q`` (unless
    ``labels`` is given). With ``acyclic=True`` state ``s`` moves only to states ``> s``
    and the last state is absorbing (so returns that vanish there take finitely many
    values).

    Examples
    --------
    >>> random_rational_mdp(2, 2, seed=1).is_exact
    True
    """
    rng = _rng(seed)
    tau = np.empty((n_states, n_actions, n_states), dtype=object)
    for s in range(n_states):
        for a in range(n_actions):
            if acyclic and s == n_states - 1:
                tau[s, a] = [F(int(t == s)) for t in range(n_states)]
            elif acyclic:
                tail = _simplex(rng, n_states - s - 1, 3)
                tau[s, a] = [F(0)] * (s + 1) + tail
            else:
                tau[s, a] = _simplex(rng, n_states, 3)
    init = _simplex(rng, n_states, 2) if rng.random() < 0.5 else [
        F(int(s == 0)) for s in range(n_states)]
    if labels is None:
        labels = {s: [x for x in ("p", "q") if rng.random() < 0.5] for s in range(n_states)}
        labels[0] = sorted(set(labels[0]) | {"p"})
        labels[n_states - 1] = sorted(set(labels[n_states - 1]) | {"q"})
    return FiniteMDP(tau, np.array(init, dtype=object), labels=labels)


def rational_policies(env: FiniteMDP, n_random: int, seed: int | np.random.Generator = 0,
                      *, max_deterministic: int = 64) -> list[Policy]:
    """All deterministic policies (if at most ``max_deterministic``), boundary policies
    (a zero in some row) and ``n_random`` random stochastic ones, all with rational entries.

    Examples
    --------
    >>> from objspec.environments import E3
    >>> len(rational_policies(E3(), 3, seed=0))
    7
    """
    rng = _rng(seed)
    S, A = env.n_states, env.n_actions
    choices = [env.enabled_actions(s).tolist() for s in range(S)]  # all, unless masked
    out: list[Policy] = []
    if math.prod(len(c) for c in choices) <= max_deterministic:
        for acts in itertools.product(*choices):
            out.append(Policy(np.array([[F(int(a == b)) for b in range(A)] for a in acts],
                                       dtype=object)))
    for k in range(n_random):
        rows = []
        for s in range(S):
            row = [F(0)] * A
            for a, p in zip(choices[s], _simplex(rng, len(choices[s]), 4, zeros=(k % 2 == 0)),
                            strict=True):
                row[a] = p
            rows.append(row)
        out.append(Policy(np.array(rows, dtype=object)))
    return out


def spec_samplers() -> dict[str, Callable[[FiniteMDP, np.random.Generator], Any]]:
    """Acronym -> seeded rational sampler of every registered formalism that has one
    (:attr:`~objspec.formalisms.registry.FormalismInfo.sampler`)."""
    return {i.acronym: i.sampler for i in registered_formalisms() if i.sampler is not None}


def acyclic_sources() -> frozenset[str]:
    """Formalisms whose sampled specifications are exact only on acyclic environments
    (:attr:`~objspec.formalisms.registry.FormalismInfo.acyclic_sampler`)."""
    return frozenset(i.acronym for i in registered_formalisms() if i.acyclic_sampler)


def needs_acyclic(c: Construction) -> bool:
    """Whether ``c`` is checked on acyclic environments: its source or its target is an
    inner-nonlinear formalism, whose exact evaluator needs finitely many return values."""
    acyclic = acyclic_sources()
    return c.source in acyclic or c.target in acyclic


def random_spec(acronym: str, env: FiniteMDP, seed: int | np.random.Generator = 0) -> Any:
    """A random specification of ``acronym`` for ``env`` (rational data where possible)."""
    sampler = formalism_info(acronym).sampler
    if sampler is None:
        raise CertificateError(f"no random-specification sampler for {acronym}")
    return sampler(env, _rng(seed))


def random_spec_for(c: Construction, env: FiniteMDP,
                    seed: int | np.random.Generator = 0) -> Any:
    """A random source specification for checking ``c``: :func:`random_spec`, with zero
    reward on absorbing self-loops when the target is inner-nonlinear (its exact
    evaluator needs every trajectory to stop collecting reward)."""
    spec = random_spec(c.source, env, seed)
    if c.source == "MR" and c.target in acyclic_sources():
        reward = np.array(spec.reward, dtype=object)
        spec = MarkovReward(absorbing_zero(env, reward), spec.gamma)
    return spec


def check_instance(c: Construction, spec: Any, out: Any, env: FiniteMDP,
                   policies: list[Policy], seed: int = 0) -> OrderingCheck | None:
    """Check one converted instance: semantically (returns None) for constructions that
    carry a :attr:`~objspec.reductions.registry.Construction.semantic_check`, else by
    comparing the induced orderings on ``policies``."""
    if c.semantic_check is not None:
        c.semantic_check(spec, out, env, seed)
        return None
    return check_same_ordering(spec, out, env, policies, what=c.name)


@dataclass
class ConstructionReport:
    """Outcome of :func:`verify_construction`."""

    name: str
    source: str
    target: str
    instances: int = 0
    policies: int = 0
    exact: bool = True
    error: str | None = None
    details: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every instance induced the same ordering."""
        return self.error is None and self.instances > 0


def verify_construction(
    c: Construction, seed: int = 0, *, n_envs: int = 3, n_specs: int = 2, n_random: int = 4
) -> ConstructionReport:
    """Check a construction on ``n_envs`` random rational environments (1 to 3 states, 2 or
    3 actions) with ``n_specs`` random source specs each, comparing the orderings on every
    deterministic policy plus ``n_random`` random rational ones (exact where possible)."""
    rep = ConstructionReport(c.name, c.source, c.target)
    rng = np.random.default_rng(seed)
    try:
        for k in range(n_envs):
            acyclic = needs_acyclic(c)
            env = random_rational_mdp(1 + k % 3 + acyclic, 2 + int(rng.integers(2)), rng,
                                      acyclic=acyclic)
            pols = rational_policies(env, n_random, rng)
            for _ in range(n_specs):
                spec = random_spec_for(c, env, rng)
                out = c(spec, env)
                rep.instances += 1
                chk = check_instance(c, spec, out, env, pols, int(rng.integers(2**31)))
                if chk is None:
                    rep.details.append("checked semantically (exact)")
                    continue
                rep.policies += chk.n_policies
                rep.exact = rep.exact and chk.exact
    except ObjspecError as exc:
        rep.error = f"{type(exc).__name__}: {exc}"
    return rep
