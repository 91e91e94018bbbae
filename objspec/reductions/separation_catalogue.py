"""Separation witnesses: orderings a formalism B expresses and a formalism A cannot.

Each witness (docs/theory.md#separations, N1-N13, some split by the pair they prove) holds an
environment, a B-specification, the formalism A, the policies involved and a certificate;
``witness.check()`` re-checks it and raises :class:`objspec.errors.CertificateError` if
anything fails.

Two kinds of certificate:

* :class:`FiniteWitness` (exact): the B-ordering of a finite set of policies, computed in
  exact rational arithmetic where B's evaluator supports it (otherwise only strict
  preferences larger than the evaluator's certified error are used), contradicts a
  structural lemma of A (:mod:`objspec.reductions.lemmas`): the linear system "some
  ``J_A = <phi, c>`` induces this ordering" is infeasible, proved by Motzkin multipliers
  verified exactly (:mod:`objspec.reductions.certificates`).
* :class:`AnalyticWitness`: no finite certificate exists (lexicographic orders,
  irrational weights, continuity). The proof is in the docstring; ``check()`` verifies its
  premises about the B-ordering exactly and, where the proof is constructive, runs its
  *refuter* (a function that, given the parameters of any A-specification, returns two
  policies the A-spec and the B-spec order differently) on seeded sample A-specs. The test
  suite runs the refuters on random A-specs with hypothesis.

Examples
--------
>>> from objspec.reductions import separations
>>> w = next(w for w in separations() if w.name == "N3")
>>> (w.a, w.b)
('FTR', 'ONMR')
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import sympy

from objspec import environments
from objspec.errors import CertificateError, InvalidSpecificationError, ObjspecError
from objspec.formalisms import (
    GeneralisedOuterMORL,
    LimitAverageReward,
    LinearTemporalLogic,
    MarkovReward,
    OuterNonlinearMarkovReward,
    PolicyFunction,
    RegularisedRL,
    RewardMachine,
)
from objspec.mdp.exact import exact_expected_return
from objspec.mdp.longrun import exact_long_run_average
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy
from objspec.reductions.certificates import FarkasCertificate, farkas_certificate
from objspec.reductions.lemmas import L1, L3, L7, L_LAR, L_LTL_DET, ClassBoundLemma, Lemma

__all__ = [
    "Witness",
    "FiniteWitness",
    "AnalyticWitness",
    "ChainWitness",
    "WitnessReport",
    "quadratic_regulariser",
    "registered_separations",
    "b_comparisons",
]

F = Fraction


def quadratic_regulariser(dist: Any) -> Any:
    """``F(pi) = sum_a pi(a)^2 - 1``: a strictly convex regulariser with rational values.

    Used instead of negative entropy where a witness must be checked exactly: the values
    stay rational on rational policies, and ``-F`` is strictly concave with its unique
    maximum at the uniform distribution, which is all the witnesses use.

    Examples
    --------
    >>> quadratic_regulariser([Fraction(1, 2), Fraction(1, 2)])
    Fraction(-1, 2)
    """
    return sum((x * x for x in dist), Fraction(0) if isinstance(dist[0], Fraction) else 0.0) - 1


@dataclass(frozen=True)
class WitnessReport:
    """What ``check()`` verified.

    Attributes
    ----------
    name, a, b : str
        The witness and the pair ``(A, B)`` it separates.
    kind : str
        ``"finite"`` or ``"analytic"``.
    exact : bool
        Whether every B-comparison used was decided in exact rational arithmetic.
    facts : tuple of str
        The verified facts, one line each.
    certificate : FarkasCertificate or None
        The exact multipliers (finite witnesses).
    """

    name: str
    a: str
    b: str
    kind: str
    exact: bool
    facts: tuple[str, ...]
    certificate: FarkasCertificate | None = None

    def __str__(self) -> str:
        head = f"{self.name}: {self.a} cannot express this {self.b} ordering [{self.kind}, "
        head += "exact]" if self.exact else "certified tolerance]"
        return "\n  ".join([head, *self.facts])


def b_comparisons(spec: Any, env: FiniteMDP, policies: Sequence[Policy]) -> tuple[np.ndarray, bool]:
    """Pairwise comparisons ``C[i, j] in {-1, 0, 1}`` of a B-spec on policies.

    Uses ``spec.compile(env, exact=True)`` where the formalism supports it (exact rational
    values), else the float evaluator. Returns ``(C, exact)``; when ``exact`` is False only
    the strict entries are meaningful (a float tie is not a proof of equality).
    """
    n = len(policies)
    try:
        ev = spec.compile(env, exact=True)
    except (TypeError, ObjspecError):
        ev = spec.compile(env)
    exact = bool(getattr(ev, "exact", False))
    if exact and hasattr(ev, "exact_value"):
        vals = [ev.exact_value(p) for p in policies]
        comp = np.array([[int(vals[i] > vals[j]) - int(vals[i] < vals[j]) for j in range(n)]
                         for i in range(n)])
        return comp, True
    comp = np.zeros((n, n), dtype=int)
    for i in range(n):
        for j in range(i + 1, n):
            c = ev.compare(policies[i], policies[j])
            comp[i, j], comp[j, i] = c, -c
    return comp, exact


@dataclass
class Witness(abc.ABC):
    """A separation witness: ``a`` cannot express the ordering ``spec`` (of ``b``) induces.

    The witness also separates every A' below ``a`` from every B' above ``b``.
    """

    name: str
    a: str
    b: str
    reference: str
    environment: Callable[[], FiniteMDP] = field(repr=False)
    specification: Callable[[], Any] = field(repr=False)
    policy_list: Callable[[], list[Policy]] = field(repr=False)
    proof: str = field(default="", repr=False)

    @property
    def env(self) -> FiniteMDP:
        """The witness environment."""
        return self.environment()

    @property
    def spec(self) -> Any:
        """The B-specification (built on access; raises if B is not implemented yet)."""
        try:
            return self.specification()
        except ObjspecError as exc:
            raise CertificateError(f"{self.name}: cannot build the {self.b} spec: {exc}") from exc

    @property
    def policies(self) -> list[Policy]:
        """The policies the certificate uses."""
        return self.policy_list()

    @abc.abstractmethod
    def check(self) -> WitnessReport:
        """Re-check the certificate; raise :class:`CertificateError` if it fails."""


@dataclass
class FiniteWitness(Witness):
    """A witness with an exact finite certificate (lemma + Motzkin multipliers)."""

    lemma: Lemma = field(default=L1, repr=False)
    states: tuple[int, ...] = ()

    def check(self) -> WitnessReport:
        """Verify: B's ordering of the policies (exact where possible), the lemma's
        precondition (exact), and exact Motzkin multipliers showing no ``J_A = <phi, c>``
        induces it."""
        if self.a not in self.lemma.formalisms:
            raise CertificateError(
                f"{self.name}: lemma {self.lemma.name} is not proved for {self.a}")
        env, pols = self.env, self.policies
        comp, exact = b_comparisons(self.spec, env, pols)
        n = len(pols)
        strict = [(i, j) for i in range(n) for j in range(n) if comp[i, j] > 0]
        ties = ([(i, j) for i in range(n) for j in range(i + 1, n) if comp[i, j] == 0]
                if exact else [])
        feats = self.lemma.feature_matrix(env, pols, self.states)
        cert = farkas_certificate(feats, strict, ties)
        if cert is None:
            raise CertificateError(
                f"{self.name}: the {self.b} ordering of the {n} policies is consistent with "
                f"lemma {self.lemma.name}; no certificate that {self.a} cannot express it"
            )
        cert.verify()
        facts = (
            f"{self.b} ordering of {n} policies: {len(strict)} strict pairs, {len(ties)} ties "
            f"({'exact rational' if exact else 'float, strict pairs beyond the certified error'})",
            f"lemma {self.lemma.name} applies (states {list(self.states)}): J_{self.a} = <phi, c>, "
            f"{len(feats[0])} features",
            "Motzkin multipliers verified exactly: "
            f"z = {[str(z) for z in cert.strict_multipliers if z]}, "
            f"y = {[str(y) for y in cert.tie_multipliers if y]}",
        )
        return WitnessReport(self.name, self.a, self.b, "finite", exact, facts, cert)


def strict_chain(comp: np.ndarray, length: int) -> list[int] | None:
    """Indices ``i_1, ..., i_length`` with ``comp[i_k, i_(k+1)] > 0`` for every k (a strict
    chain, best first), or None if the comparisons contain none that long.

    Examples
    --------
    >>> strict_chain(np.array([[0, 1, 1], [-1, 0, 1], [-1, -1, 0]]), 3)
    [0, 1, 2]
    >>> strict_chain(np.array([[0, 0, 1], [0, 0, 1], [-1, -1, 0]]), 3) is None
    True
    """
    n = len(comp)
    # longest strict chain starting at i, by memoised search (the strict relation is acyclic)
    best: dict[int, list[int]] = {}
    order = sorted(range(n), key=lambda i: int((comp[i] > 0).sum()))
    for i in order:
        tails = [best[j] for j in range(n) if comp[i, j] > 0 and j in best]
        best[i] = [i, *max(tails, key=len, default=[])]
    chain = max(best.values(), key=len, default=[])
    return chain[:length] if len(chain) >= length else None


@dataclass
class ChainWitness(Witness):
    """A witness by a class-counting lemma (:class:`~objspec.reductions.lemmas.ClassBoundLemma`).

    The lemma says every A-specification takes at most ``bound`` values on policies meeting
    its precondition; ``check()`` decides the precondition exactly and finds a strict chain of
    ``bound + 1`` of the policies in the B-ordering (exact rational comparisons, or float
    comparisons whose strict pairs lie beyond the certified error). The last step is
    counting: ``bound + 1`` strictly ordered policies need ``bound + 1`` values.
    """

    lemma: ClassBoundLemma = field(default=L_LTL_DET, repr=False)

    def check(self) -> WitnessReport:
        """Verify the lemma's precondition and a strict chain of ``bound + 1`` policies."""
        if self.a not in self.lemma.formalisms:
            raise CertificateError(
                f"{self.name}: lemma {self.lemma.name} is not proved for {self.a}")
        env, pols = self.env, self.policies
        self.lemma.check_precondition(env, pols)
        comp, exact = b_comparisons(self.spec, env, pols)
        need = self.lemma.bound + 1
        chain = strict_chain(comp, need)
        if chain is None:
            raise CertificateError(
                f"{self.name}: the {self.b} ordering of the {len(pols)} policies has no strict "
                f"chain of {need}; lemma {self.lemma.name} does not exclude {self.a}")
        facts = (
            f"lemma {self.lemma.name} applies (decided exactly): every {self.a} specification "
            f"takes at most {self.lemma.bound} values on these {len(pols)} policies",
            f"{self.b} ordering: policies {chain} are strictly decreasing "
            f"({'exact rational' if exact else 'float, beyond the certified error'}), "
            f"{need} values needed",
        )
        return WitnessReport(self.name, self.a, self.b, "finite", exact, facts)


@dataclass
class AnalyticWitness(Witness):
    """A witness whose proof is analytic (in :attr:`proof`).

    ``premises`` verifies the facts about the B-ordering the proof uses (exactly) and
    returns them as lines. ``refuter``, where the proof is constructive, maps the
    parameters of an A-specification to two policies ordered differently by A and B;
    ``refuter_check`` verifies such a pair exactly; ``samples`` are the seeded A-parameters
    ``check()`` runs it on.
    """

    premises: Callable[[Witness], list[str]] = field(default=lambda w: [], repr=False)
    refuter: Callable[[Any], tuple[Policy, Policy]] | None = field(default=None, repr=False)
    refuter_check: Callable[[Any, Policy, Policy], str] | None = field(default=None, repr=False)
    samples: Callable[[], list[Any]] = field(default=lambda: [], repr=False)

    def refute(self, params: Any) -> tuple[Policy, Policy, str]:
        """Two policies that the A-spec with ``params`` orders unlike B, and why (exact)."""
        if self.refuter is None or self.refuter_check is None:
            raise CertificateError(f"{self.name}: the proof is not constructive (no refuter)")
        p1, p2 = self.refuter(params)
        return p1, p2, self.refuter_check(params, p1, p2)

    def check(self) -> WitnessReport:
        """Verify the proof's premises on the B-ordering exactly and run the refuter (if
        any) on the seeded sample A-specifications."""
        try:
            facts = list(self.premises(self))
            samples = self.samples() if self.refuter is not None else []
            for params in samples:
                self.refute(params)
        except CertificateError:
            raise
        except ObjspecError as exc:
            raise CertificateError(f"{self.name}: {exc}") from exc
        if self.refuter is not None:
            facts.append(f"refuter defeated {len(samples)} sample specifications of {self.a} or "
                         "formalisms below it (exact)")
        facts.append("analytic step: see the proof in the witness docstring")
        return WitnessReport(self.name, self.a, self.b, "analytic", True, tuple(facts))


# ---------------------------------------------------------------- helpers


def _pol(rows: Sequence[Sequence[Any]]) -> Policy:
    return Policy(np.array([[F(x) for x in row] for row in rows], dtype=object))


def _det(actions: Sequence[int], n_actions: int) -> Policy:
    return _pol([[int(a == b) for b in range(n_actions)] for a in actions])


def _exact_values(spec: Any, env: FiniteMDP, policies: Sequence[Policy]) -> list[Any]:
    ev = spec.compile(env, exact=True)
    return [ev.exact_value(p) for p in policies]


def _require(cond: bool, name: str, what: str) -> None:
    if not cond:
        raise CertificateError(f"{name}: premise failed: {what}")


def _alpha_on_action_a(s: int, a: int, s_next: int) -> tuple[str, ...]:
    return ("alpha",) if a == 0 else ()


# ---------------------------------------------------------------- N1 / N2


def _n1_spec() -> Any:
    from objspec import orders

    rewards = np.zeros((2, 1, 3, 1))
    rewards[0, 0, 0, 0] = 1.0
    rewards[1, 0, 1, 0] = 1.0
    return GeneralisedOuterMORL(rewards, orders.lexicographic(), F(1, 2))


def _n1_premises(w: Witness) -> list[str]:
    env = w.env
    grid = [F(k, 8) for k in range(1, 4)]
    pols = [_pol([[p, x, 1 - p - x]]) for p in grid for x in (F(0), F(1, 8), F(1, 4))]
    comp, exact = b_comparisons(w.spec, env, pols)
    for i, pi in enumerate(pols):
        for j, pj in enumerate(pols):
            ki = tuple(pi.exact_probabilities()[0][:2])
            kj = tuple(pj.exact_probabilities()[0][:2])
            want = int(ki > kj) - int(ki < kj)
            if exact or want != 0:
                _require(comp[i, j] == want, w.name,
                         f"GOMORL compares {ki} and {kj} as {comp[i, j]}, lexicographic "
                         f"gives {want}")
    return [
        f"GOMORL ordering on {len(pols)} policies equals the lexicographic order of "
        "(pi(a1), pi(a2)) (" + ("exact)" if exact else "float)"),
        "for every p, the policies with pi(a1) = p are not all tied (non-degenerate intervals)",
    ]


N1_PROOF = """N1 (FPR cannot express GOMORL). E1, GOMORL with k = 2, R1 = 1[a1], R2 = 1[a2], the
lexicographic order: pi is ranked by pi(a1), then by pi(a2). Suppose a real f represents it.
For each p in (0, 1/2) the policies with pi(a1) = p and pi(a2) in [0, 1 - p] are strictly
ordered, so I_p = [f(p, 0), f(p, 1 - p)] is a non-degenerate interval; for p < p' every
policy of p is strictly below every policy of p', so the I_p are pairwise disjoint. Each
contains a distinct rational: uncountably many disjoint intervals in R, impossible (L6,
Debreu). So no real-valued formalism (FPR and everything below it) expresses the ordering."""


def _n2_spec() -> Any:
    return PolicyFunction(lambda pi: pi.probabilities[1, 0])


# ---------------------------------------------------------------- ONMR refuters (L2)


def _ell(env: FiniteMDP, reward: Any, gamma: Any, policy: Policy) -> Fraction:
    return Fraction(exact_expected_return(env, policy, reward, gamma))


def _onmr_check_factory(w_name: str, env_f: Callable[[], FiniteMDP],
                        spec_f: Callable[[], Any]) -> Callable[[Any, Policy, Policy], str]:
    def check(params: Any, p1: Policy, p2: Policy) -> str:
        reward, gamma = params
        env = env_f()
        l1, l2 = _ell(env, reward, gamma, p1), _ell(env, reward, gamma, p2)
        _require(l1 == l2, w_name, f"refuter pair has different linear statistics {l1} != {l2}")
        comp, exact = b_comparisons(spec_f(), env, [p1, p2])
        _require(comp[0, 1] != 0, w_name, "refuter pair is not strictly ordered by B")
        return f"ell = {l1} for both, B strict ({'exact' if exact else 'certified'})"

    return check


def _sample_rewards(shape: tuple[int, ...], extra: list[np.ndarray]) -> Callable[[], list[Any]]:
    def samples() -> list[Any]:
        rng = np.random.default_rng(20231018)
        out: list[Any] = [(r, F(1, 2)) for r in extra]
        for _ in range(6):
            r = rng.integers(-3, 4, size=shape).astype(object)
            out.append((np.vectorize(F)(r), F(int(rng.integers(1, 9)), 10)))
        return out

    return samples


def _n5_refuter(params: Any) -> tuple[Policy, Policy]:
    reward, gamma = params
    env = environments.E1()
    c = [_ell(env, reward, gamma, _det([a], 3)) for a in range(3)]
    cross = [c[2] - c[1], c[0] - c[2], c[1] - c[0]]  # (1, 1, 1) x c
    if all(x == 0 for x in cross):
        cross = [F(1), F(-1), F(0)]
    scale = max(abs(x) for x in cross)
    third = F(1, 3)
    return _pol([[third] * 3]), _pol([[third + x / (6 * scale) for x in cross]])


def _n5_spec() -> Any:
    return RegularisedRL(np.zeros((1, 3)), quadratic_regulariser, 1, F(1, 2))


def _n8_spec() -> Any:
    return RegularisedRL(np.zeros((2, 3)), quadratic_regulariser, 1, F(1, 2))


def _e5_s0(rows: Sequence[Sequence[Any]]) -> list[Policy]:
    return [_pol([row, [1, 0, 0]]) for row in rows]


def _n8_policies() -> list[Policy]:
    third = F(1, 3)
    return _e5_s0([[1, 0, 0], [0, 1, 0], [0, 0, 1], [third, third, third]])


def _n8_refuter(params: Any) -> tuple[Policy, Policy]:
    """ell is affine in pi(.|s0) with pi(.|s1) fixed: move along a zero-sum direction of
    the s0-simplex orthogonal to the per-action statistic, from the uniform row."""
    reward, gamma = params
    env = environments.E5()
    c = [_ell(env, reward, gamma, _e5_s0([[int(b == a) for b in range(3)]])[0])
         for a in range(3)]
    cross = [c[2] - c[1], c[0] - c[2], c[1] - c[0]]
    if all(x == 0 for x in cross):
        cross = [F(1), F(-1), F(0)]
    scale = max(abs(x) for x in cross)
    third = F(1, 3)
    return (_e5_s0([[third] * 3])[0],
            _e5_s0([[third + x / (6 * scale) for x in cross]])[0])


N8_PROOF = """N8 (RRL-unique: a strictly concave regulariser at a once-visited 3-action state). E5,
R = 0, alpha = 1, F(pi) = sum pi^2 - 1: with pi(.|s1) fixed, J is strictly concave in
pi(.|s0) with its unique maximum at the uniform row. FTR: by L1 J_FTR is affine in pi(.|s0),
and the uniform row is the average of the three vertices, so it cannot beat all three
(finite certificate). ONMR: ell is affine in pi(.|s0), so as in N5 it is constant along a
zero-sum direction through the uniform row, where J changes strictly (refuter)."""


def _e4_labelled() -> FiniteMDP:
    return environments.E4(labels=_alpha_on_action_a)


def _n6_ltl() -> Any:
    return LinearTemporalLogic("(alpha & X alpha) | (!alpha & X !alpha)")


def _n6_rm() -> Any:
    edges = [
        (0, 1, "alpha", 0), (0, 2, "!alpha", 0),
        (1, 3, "alpha", 1), (1, 3, "!alpha", 0),
        (2, 3, "!alpha", 1), (2, 3, "alpha", 0),
        (3, 3, "true", 0),
    ]
    return RewardMachine(edges, 0, F(1, 2))


def _e4_pqr(p: Any, q: Any, r: Any) -> Policy:
    return _pol([[p, 1 - p], [q, 1 - q], [r, 1 - r]])


def _n6_refuter(params: Any) -> tuple[Policy, Policy]:
    """ONMR's ell = A p + B q + C r + D is affine in (p, q, r) on E4 (d is constant)."""
    reward, gamma = params
    env = environments.E4()
    base = _ell(env, reward, gamma, _e4_pqr(0, 0, 0))
    A = _ell(env, reward, gamma, _e4_pqr(1, 0, 0)) - base
    B = _ell(env, reward, gamma, _e4_pqr(0, 1, 0)) - base
    C = _ell(env, reward, gamma, _e4_pqr(0, 0, 1)) - base
    half = F(1, 2)
    if A == 0:  # ell ignores p: flip p with q = 1 (same action vs different action)
        return _e4_pqr(1, 1, half), _e4_pqr(0, 1, half)
    if B == 0:
        return _e4_pqr(1, 1, half), _e4_pqr(1, 0, half)
    if C != 0:  # r absorbs a change of q at p = 1
        delta = min(F(1, 2), abs(C) / (2 * abs(B)))
        return _e4_pqr(1, 1, half), _e4_pqr(1, 1 - delta, half + B * delta / C)
    t = min(F(1, 4) / abs(B), F(1, 4) / abs(A))  # move along (B, -A) from the centre
    return _e4_pqr(half, half, half), _e4_pqr(half + t * B, half - t * A, half)


N5_PROOF = """N5 (ONMR cannot express RRL). E1, RRL with R = 0, alpha = 1 and a strictly convex F
(here F(pi) = sum pi^2 - 1, rational): J = -F(pi) / (1 - gamma), uniquely maximal at the
uniform policy u. Any ONMR spec has J = f(ell(pi)) with ell(pi) = <c, pi> / (1 - gamma)
affine on the simplex (L2). Take delta = (1,1,1) x c (or any zero-sum delta if c is
constant): it sums to zero and <c, delta> = 0, so ell(u) = ell(u + eps delta) and ONMR ties
u with u + eps delta, which RRL ranks strictly below u. The refuter builds exactly that pair."""

N6_PROOF = """N6 (ONMR and RRL cannot express "the same action at s0 and s1"). E4 with alpha on
action a. LTL (alpha & X alpha) | (!alpha & X !alpha) and the reward machine paying 1 at t = 1
when a1 = a0 both rank by P(same) = pq + (1-p)(1-q) (the RM value is gamma P(same)).
ONMR: ell = A p + B q + C r + D is affine in (p, q, r) because m is (d is constant in E4).
If A = 0 flip p at q = 1; if B = 0 flip q at p = 1 (P changes by 1, ell does not); if C != 0
change q by delta and r by B delta / C; if C = 0 move along (B, -A) from (1/2, 1/2): P
changes by -4 t^2 A B != 0. In every case ONMR ties two policies the task ranks strictly
(the refuter returns them). RRL: by L3 (all actions move alike in E4) J_RRL is additively
separable, but the task prefers q = 1 when p = 1 and q = 0 when p = 0: the finite certificate
checks exactly that."""


# ---------------------------------------------------------------- N10


def _ab_labels(s: int, a: int, s_next: int) -> tuple[str, ...]:
    return (("a",), ("b",), ())[a]


def _n10_env() -> FiniteMDP:
    return environments.E4(3, labels=_ab_labels)


#: sqrt(2) as the nearest double: the weight the RM object can hold (see N10_PROOF).
SQRT2_FLOAT = Fraction(float(sympy.sqrt(2)))


def _n10_spec() -> Any:
    edges = [
        (0, 1, "a & !b", 0), (0, 2, "b & !a", 0), (0, 3, "(a & b) | (!a & !b)", 0),
        (1, 3, "a & !b", 1), (1, 3, "!a | b", 0),
        (2, 3, "b & !a", SQRT2_FLOAT), (2, 3, "!b | a", 0),
        (3, 3, "true", 0),
    ]
    return RewardMachine(edges, 0, F(1, 2))


def _e4p(p0: Sequence[Any], p1: Sequence[Any]) -> Policy:
    return _pol([p0, p1, [1, 0, 0]])


_VERTS = ([1, 0, 0], [0, 1, 0], [0, 0, 1])


def _n10_policies() -> list[Policy]:
    return [_e4p(_VERTS[i], _VERTS[j]) for i in range(2) for j in range(2)]


def _n10_refuter(params: Any) -> tuple[Policy, Policy]:
    """ell is affine in pi(.|s1) with pi(.|s0), pi(.|s2) fixed: a zero-sum direction dq with
    <B, dq> = 0 exists; at p = e_a the RM ranks by q_a, at p = e_b by q_b, and dq cannot
    vanish in both (zero-sum)."""
    reward, gamma = params
    env = environments.E4(3)
    third = F(1, 3)
    uniform = [third] * 3
    c = [_ell(env, reward, gamma, _e4p(_VERTS[0], _VERTS[a])) for a in range(3)]
    cross = [c[2] - c[1], c[0] - c[2], c[1] - c[0]]
    if all(x == 0 for x in cross):
        cross = [F(1), F(-1), F(0)]
    scale = max(abs(x) for x in cross)
    moved = [third + x / (6 * scale) for x in cross]
    p = _VERTS[0] if cross[0] != 0 else _VERTS[1]
    return _e4p(p, uniform), _e4p(p, moved)


N10_PROOF = """N10 (RM-unique: "the same action at s0 and s1", with weight 1 for a and w for b). E4'
(three actions) with labels a, b on the actions; the reward machine pays 1 at t = 1 if
a0 = a1 = a and w if a0 = a1 = b, so J = gamma (p_a q_a + w p_b q_b). LAR: s0 and s1 are
transient and action-inert, so LAR ties policies differing there (L-LAR, finite
certificate). RRL: at p = e_a the task ranks q by q_a, at p = e_b by q_b: not additively
separable (L3, finite certificate). ONMR: ell is affine in q, so some zero-sum direction dq
keeps ell fixed, and J changes along it at p = e_a or at p = e_b (refuter). LTL: with w
irrational (sqrt 2) the argument of N11 applies on the line p = uniform. The RM object can
only hold rational weights: it uses sqrt 2 rounded to a double, which is all the LAR, RRL and
ONMR certificates need (they hold for every w > 0); the LTL claim is about the real sqrt 2 and
rests on N11's proof, so no N10-LTL witness is registered (N11 already gives LTL cannot
express MR, hence RM)."""


# ---------------------------------------------------------------- N9, N11, N13 premises


def _e6_labels(s: int, a: int, s_next: int) -> tuple[str, ...]:
    out = []
    if s == 0 and a == 0:
        out.append("alpha")
    if s == 1 and s_next == 2:
        out.append("beta")
    return tuple(out)


def _n9_env() -> FiniteMDP:
    return environments.E6(labels=_e6_labels)


def _n9_spec() -> Any:
    return LinearTemporalLogic("alpha <-> F beta")


def _e6_pq(p: Any, q: Any) -> Policy:
    return _pol([[p, 1 - p], [1 - q, q], [1, 0]])


def _n9_premises(w: Witness) -> list[str]:
    env = w.env
    pts = [(p, q) for q in (F(0), F(1, 1024), F(1, 2), F(1)) for p in (F(0), F(1, 3), F(1))]
    pols = [_e6_pq(p, q) for p, q in pts]
    comp, exact = b_comparisons(w.spec, env, pols)
    for i, (pi_, qi) in enumerate(pts):
        for j, (pj, qj) in enumerate(pts):
            if qi == qj and pi_ != pj:
                want = (1 if pi_ > pj else -1) * (1 if qi > 0 else -1)
                _require(comp[i, j] == want, w.name,
                         f"LTL order at q = {qi} of p = {pi_} vs {pj} is {comp[i, j]}, want {want}")
    return [
        "LTL value ranks p increasing for q > 0 (down to q = 1/1024) and decreasing at q = 0 ("
        + ("exact)" if exact else "certified)")
    ]


def _exact_a(spec: Any, env: FiniteMDP) -> Callable[[Policy], Any]:
    ev = spec.compile(env, exact=True)
    if not getattr(ev, "exact", False) or not hasattr(ev, "exact_value"):
        raise CertificateError(f"{spec!r} cannot be evaluated exactly: refuter needs exact values")
    return ev.exact_value


#: Halvings tried by the continuity refuters before giving up (continuity guarantees an end).
CONTINUITY_STEPS = 200


def _n9_refuter(a_spec: Any) -> tuple[Policy, Policy]:
    """For a continuous A (RM, MR): at q = 0 LTL prefers p = 0; for q > 0 it prefers p = 1.
    Continuity of J_A(1, q) - J_A(0, q) at q = 0 means some q = 2^-k already fails."""
    J = _exact_a(a_spec, _n9_env())
    if not J(_e6_pq(0, 0)) > J(_e6_pq(1, 0)):
        return _e6_pq(0, 0), _e6_pq(1, 0)
    for k in range(CONTINUITY_STEPS):
        q = F(1, 2**k)
        if not J(_e6_pq(1, q)) > J(_e6_pq(0, q)):
            return _e6_pq(1, q), _e6_pq(0, q)
    raise CertificateError(f"N9 refuter: no disagreement down to q = 2^-{CONTINUITY_STEPS}")


def _disagreement_check(name: str, env_f: Callable[[], FiniteMDP],
                        spec_f: Callable[[], Any]) -> Callable[[Any, Policy, Policy], str]:
    def check(a_spec: Any, p1: Policy, p2: Policy) -> str:
        env = env_f()
        J = _exact_a(a_spec, env)
        a_cmp = int(J(p1) > J(p2)) - int(J(p1) < J(p2))
        comp, exact = b_comparisons(spec_f(), env, [p1, p2])
        _require(exact, name, "B ordering of the refuter pair is not exact")
        _require(a_cmp != comp[0, 1], name, f"A and B agree on the refuter pair ({a_cmp})")
        return f"A compares {a_cmp}, B compares {comp[0, 1]} (exact)"

    return check


def _n13_refuter(a_spec: Any) -> tuple[Policy, Policy]:
    """For a continuous A (RM, MR): B ties each ray, ranks slope 1 above slope 1/2; both rays
    converge to the origin, so A cannot stay constant on both."""
    J = _exact_a(a_spec, environments.E7())
    top, low = _e7_q(F(1), F(1)), _e7_q(F(1), F(1, 2))
    a, b = J(top), J(low)
    if not a > b:
        return top, low
    for k in range(1, CONTINUITY_STEPS):
        t = F(1, 2**k)
        if J(_e7_q(t, t)) != a:
            return _e7_q(t, t), top
        if J(_e7_q(t, t / 2)) != b:
            return _e7_q(t, t / 2), low
    raise CertificateError(f"N13 refuter: no disagreement down to t = 2^-{CONTINUITY_STEPS}")


def continuous_samples(env_f: Callable[[], FiniteMDP]) -> Callable[[], list[Any]]:
    """Seeded continuous A-specifications for the continuity refuters: random Markov rewards
    and, when the formalism is available, reward machines built from them."""

    def samples() -> list[Any]:
        env = env_f()
        rng = np.random.default_rng(7)
        out: list[Any] = [MarkovReward(np.zeros((env.n_states, env.n_actions)),
                                                F(1, 2))]
        for _ in range(5):
            r = rng.integers(-3, 4, size=(env.n_states, env.n_actions, env.n_states))
            out.append(MarkovReward(np.vectorize(F, otypes=[object])(r),
                                             F(int(rng.integers(1, 10)), 10)))
        try:
            rm = RewardMachine
        except ObjspecError:
            return out
        out.append(rm([(0, 0, "true", out[1].reward)], 0, F(1, 2)))
        if env.propositions:
            p = env.propositions[0]
            out.append(rm([(0, 1, p, 1), (0, 0, f"!{p}", 0), (1, 1, "true", out[2].reward)], 0,
                          F(2, 3)))
        return out

    return samples


N9_PROOF = """N9 (RM cannot express "alpha iff eventually beta"). E6, alpha on action a at s0,
beta on entering s2; J = p if q > 0, and 1 - p if q = 0. Any RM value is continuous in the
policy (L4: discounted sums of bounded rewards converge uniformly, and the product chain's
transition probabilities are polynomial in pi). By L1 (s0 is visited once) J_RM = p c_a(q) +
(1 - p) c_b(q) with c_a, c_b continuous. Matching requires c_a(q) > c_b(q) for every q > 0
and c_a(0) < c_b(0), contradicting continuity at q = 0."""


SQRT2 = sympy.sqrt(2)


def _n11_premises(lar: bool) -> Callable[[Witness], list[str]]:
    def premises(w: Witness) -> list[str]:
        x2, x3 = sympy.symbols("x2 x3", nonnegative=True)
        env = w.env
        weights = [sympy.Integer(0), sympy.Integer(1), SQRT2]
        for a in range(3):
            pol = _det([a], 3)
            unit = [F(int(b == a)) for b in range(3)]
            if lar:
                val = exact_long_run_average(env, pol, [unit])
            else:
                val = exact_expected_return(env, pol, [unit], F(1, 2)) * F(1, 2)
            _require(val == 1, w.name, f"indicator reward of a{a + 1} does not give value 1")
        value = weights[1] * x2 + weights[2] * x3
        _require(not sympy.nsimplify(weights[2]).is_rational, w.name, "weight ratio is rational")
        return [
            f"J is the exact linear function {value} of (pi(a2), pi(a3)) "
            + ("(limit average)" if lar else "(times (1 - gamma))"),
            "the weight ratio sqrt(2) is irrational (sympy, exact)",
        ]

    return premises


N11_PROOF = """N11 (LTL cannot express J = pi(a2) + sqrt(2) pi(a3) on E1; as MR with reward
(0, 1, sqrt 2), or as LAR with the same reward). Suppose P(phi) = h(pi(a2) + sqrt2 pi(a3))
with h strictly increasing, for some labelling and formula. On a line pi(a3) = t (t rational),
x -> P(pi(a2) = x) is a rational function r_t with rational coefficients (L5: product with a
deterministic automaton; the graph depends only on the support; Cramer's rule). Then
r_t1(y - sqrt2 t1) = r_t2(y - sqrt2 t2) on an interval, hence as rational functions over
Q(sqrt2); applying sqrt2 -> -sqrt2 gives r_t2(w + delta) = r_t2(w - delta) with
delta = sqrt2 (t1 - t2) != 0, so r_t2 is periodic, hence constant: contradiction.
Caveat: objspec's MarkovReward stores rewards as floats or rationals, so the B-spec object
holds sqrt2 rounded to a double, a rational weight; the proof is about the real sqrt2, whose
ordering the premises check symbolically."""


def _n11_spec(lar: bool) -> Callable[[], Any]:
    def spec() -> Any:
        reward = [[0.0, 1.0, float(SQRT2)]]
        if lar:
            return LimitAverageReward(reward)
        return MarkovReward(reward, F(1, 2))

    return spec


def _e7_q(q1: Any, q2: Any) -> Policy:
    return _pol([[1 - q1, q1], [1 - q2, q2]])


def _n13_spec() -> Any:
    reward = np.zeros((2, 2, 2), dtype=object)
    reward[0] = F(1)
    return LimitAverageReward(reward)


def _n13_premises(w: Witness) -> list[str]:
    env = w.env
    reward = np.zeros((2, 2, 2), dtype=object)
    reward[0] = F(1)
    rays = [F(1, 3), F(1), F(3)]
    seen = []
    for c in rays:
        vals = {exact_long_run_average(env, _e7_q(t, t * c / 3), reward) for t in (F(1), F(1, 8),
                                                                                  F(1, 1000))}
        _require(len(vals) == 1, w.name, f"LAR value not constant on the ray of slope {c}")
        seen.append(vals.pop())
    _require(seen == sorted(seen) and len(set(seen)) == 3, w.name, "not increasing in slope")
    _require(exact_long_run_average(env, _e7_q(0, 0), reward) == 1, w.name, "origin value != 1")
    comp, _ = b_comparisons(w.spec, env, [_e7_q(F(1), F(1, 9)), _e7_q(F(1), F(1, 3)),
                                          _e7_q(F(1), F(1))])
    _require(comp[1, 0] > 0 and comp[2, 1] > 0, w.name, "LAR spec does not rank by slope")
    return [
        "exact LAR value q2/(q1+q2) constant on 3 rays (t = 1, 1/8, 1/1000), strictly "
        "increasing in the slope, and 1 at the origin",
        "the LAR specification's evaluator ranks policies by slope",
    ]


N13_PROOF = """N13 (RM, ONMR, RRL cannot express the long-run frequency of s1 on E7). J = mu1 =
q2 / (q1 + q2), 1 at the origin: constant on rays from the origin, increasing in the slope.
RM and ONMR: their value (RM) or inner statistic (ONMR's ell) is continuous on the closed
square (L4). Distinct rays need pairwise disjoint images, each an interval with the origin's
value in its closure; at most three disjoint intervals share a closure point, but there are
uncountably many rays. RRL: on the slice q2 = 0 all q1 > 0 are tied (mu1 = 0), which forces
the per-state term G1(q1) = rbar1(q1) - alpha F(q1) to be affine on (0, 1]; F is shared, so
G2 is affine too; along any ray lambda (q1, q2) with lambda -> 0+, J tends to
G1(0+) / (1 - gamma), independent of the ray, yet J must be constant on each ray and strictly
increasing in slope."""


# ---------------------------------------------------------------- the registry


def _n3_spec() -> Any:
    reward = np.zeros((2, 2, 2), dtype=object)
    reward[0, 0, 1] = F(1)
    return OuterNonlinearMarkovReward(reward, lambda x: -((x - F(1, 2)) ** 2), F(1, 2))


def _n4_spec() -> Any:
    return RegularisedRL(np.zeros((2, 2)), quadratic_regulariser, 1, F(1, 2))


def _n7_spec() -> Any:
    reward = np.zeros((3, 2, 3), dtype=object)
    reward[0, 0, :] = F(1)
    reward[1, 0, :] = F(2)
    return OuterNonlinearMarkovReward(reward, lambda x: -((x - 1) ** 2), F(1, 2))


def _n12_mr() -> Any:
    reward = np.zeros((2, 2, 2), dtype=object)
    reward[0, 0, 1] = F(1)
    return MarkovReward(reward, F(1, 2))


def _e3_alpha(s: int, a: int, s_next: int) -> tuple[str, ...]:
    return ("alpha",) if (s, a) == (0, 0) else ()


def _xor_policies() -> list[Policy]:
    return [_e4_pqr(p, q, 1) for p in (0, 1) for q in (0, 1)]


def _e3_p(ps: Sequence[Any], q: Any = 1) -> Callable[[], list[Policy]]:
    return lambda: [_pol([[p, 1 - p], [q, 1 - q]]) for p in ps]


_WITNESSES: list[Witness] = []


def separation(
    *,
    id: str,
    a: type | str,
    b: type | str,
    environment: Callable[[], FiniteMDP],
    policies: Callable[[], list[Policy]],
    reference: str,
    proof: str | None = None,
    lemma: Lemma | ClassBoundLemma | None = None,
    states: tuple[int, ...] = (),
    premises: Callable[[Witness], list[str]] | None = None,
    refuter: Callable[[Any], tuple[Policy, Policy]] | None = None,
    refuter_check: Callable[[Any, Policy, Policy], str] | None = None,
    samples: Callable[[], list[Any]] | None = None,
) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Decorator registering a separation witness for the B-specification it decorates.

    The decorated function builds the B-specification (``b``'s ordering that ``a`` cannot
    express); the witness is ``a`` cannot express it on ``environment()``, shown on
    ``policies()``. Its kind follows from the fields: with a :class:`~objspec.reductions.
    lemmas.Lemma`, a :class:`FiniteWitness` (exact Motzkin certificate against the lemma on
    ``states``); with a :class:`~objspec.reductions.lemmas.ClassBoundLemma`, a
    :class:`ChainWitness`; without a lemma, an :class:`AnalyticWitness` (``premises``,
    optionally a constructive ``refuter`` with its ``refuter_check`` run on ``samples``).
    ``proof`` defaults to the function's docstring. The function is returned unchanged, so
    several witnesses can share one specification.

    Parameters
    ----------
    id : str
        The witness's name (``"N3"``), unique; an anchor ``w-<id>`` of docs/theory.md.
    a, b : type or str
        The formalism that cannot express the ordering, and the specification's formalism
        (classes or acronyms).
    reference : str
        Where the proof is: an anchor of docs/theory.md or the paper.

    Raises
    ------
    InvalidSpecificationError
        For an unknown formalism, an id already registered, or analytic-only fields given
        with a lemma.

    Examples
    --------
    >>> from objspec.environments import E3
    >>> from objspec.formalisms import MarkovReward
    >>> @separation(id="DEMO", a="LAR", b=MarkovReward, environment=E3,
    ...             policies=_e3_p([0, 1]), reference="docs/theory.md#n12", lemma=L_LAR,
    ...             states=(0,), proof="L-LAR: the limit average ignores s0")
    ... def demo_spec() -> MarkovReward:
    ...     # LAR ignores the once-visited s0 of E3; this reward pays for action a there
    ...     return MarkovReward([[[0, 1], [0, 0]], [[0, 0], [0, 0]]], F(1, 2))
    >>> registered_separations()[-1].check().kind
    'finite'
    >>> unregister_separation("DEMO")
    """
    from objspec.reductions.registry import acronym_of

    src, tgt = acronym_of(a), acronym_of(b)
    if lemma is not None and (premises or refuter or refuter_check or samples):
        raise InvalidSpecificationError(
            f"witness {id}: premises, refuter and samples belong to analytic witnesses; a "
            "witness with a lemma is checked by its certificate")

    def register(spec: Callable[[], Any]) -> Callable[[], Any]:
        if any(w.name == id for w in _WITNESSES):
            raise InvalidSpecificationError(f"a separation witness named {id!r} is registered")
        text = proof if proof is not None else (spec.__doc__ or "")
        w: Witness
        if isinstance(lemma, ClassBoundLemma):
            w = ChainWitness(id, src, tgt, reference, environment, spec, policies, text,
                             lemma=lemma)
        elif lemma is not None:
            w = FiniteWitness(id, src, tgt, reference, environment, spec, policies, text,
                              lemma=lemma, states=states)
        else:
            w = AnalyticWitness(id, src, tgt, reference, environment, spec, policies, text,
                                premises=premises or (lambda w: []), refuter=refuter,
                                refuter_check=refuter_check, samples=samples or (lambda: []))
        _WITNESSES.append(w)
        return spec

    return register


def unregister_separation(id: str) -> None:
    """Remove a registered witness (for throwaway witnesses in tests and examples)."""
    _WITNESSES[:] = [w for w in _WITNESSES if w.name != id]


def registered_separations() -> tuple[Witness, ...]:
    """Every registered separation witness, in registration order."""
    return tuple(_WITNESSES)


# ---------------------------------------------------------------- the catalogue
# One declaration per witness, in the order objspec reports them.

_ONMR_E4_SAMPLES = _sample_rewards((3, 2, 3), [np.zeros((3, 2, 3), dtype=object)])


separation(id="N1",
           a="FPR",
           b="GOMORL",
           environment=environments.E1,
           policies=lambda: [_pol([[F(1, 4), F(1, 4), F(1, 2)]]), _pol([[F(1, 4), F(0), F(3, 4)]])],
           reference="docs/theory.md#n1",
           proof=N1_PROOF,
           premises=_n1_premises)(_n1_spec)

separation(id="N2",
           a="TLO",
           b="FPR",
           environment=environments.E2,
           policies=lambda: [_det([0, 0], 2), _det([0, 1], 2)],
           reference="docs/theory.md#n2",
           proof="N2 (TLO cannot express FPR). E2: s1 is unreachable. FPR f(pi) = pi(a|s1) "
                 "ranks two policies differing only at s1 strictly; by L7 every lottery-level "
                 "formalism ties them.",
           lemma=L7)(_n2_spec)

separation(id="N3",
           a="FTR",
           b="ONMR",
           environment=environments.E3,
           policies=_e3_p([0, F(1, 2), 1]),
           reference="docs/theory.md#n3",
           proof="N3 (FTR cannot express ONMR). E3, R = 1[(s0, a, s1)], f(x) = -(x - 1/2)^2: "
                 "J = -(p - 1/2)^2 ranks p = 1/2 strictly above p = 0 and p = 1. By L1 J_FTR is "
                 "affine in p (s0 is visited once), and an affine function is at most the "
                 "larger of its end values at the midpoint.",
           lemma=L1,
           states=(0,))(_n3_spec)

separation(id="N4",
           a="FTR",
           b="RRL",
           environment=environments.E3,
           policies=_e3_p([0, F(1, 2), 1]),
           reference="docs/theory.md#n4",
           proof="N4 (FTR cannot express RRL). E3, R = 0, alpha = 1, F(pi) = sum pi^2 - 1: "
                 "for fixed q, J is strictly concave in p with its maximum at p = 1/2; J_FTR is "
                 "affine in p (L1).",
           lemma=L1,
           states=(0,))(_n4_spec)

separation(id="N5",
           a="ONMR",
           b="RRL",
           environment=environments.E1,
           policies=lambda: [_pol([[F(1, 3)] * 3])],
           reference="docs/theory.md#n5",
           proof=N5_PROOF,
           refuter=_n5_refuter,
           refuter_check=_onmr_check_factory("N5", environments.E1, _n5_spec),
           samples=_sample_rewards((1, 3, 1), [np.zeros((1, 3, 1), dtype=object),
                                               np.ones((1, 3, 1), dtype=object)]))(_n5_spec)

separation(id="N8-FTR",
           a="FTR",
           b="RRL",
           environment=environments.E5,
           policies=_n8_policies,
           reference="docs/theory.md#n8",
           proof=N8_PROOF,
           lemma=L1,
           states=(0,))(_n8_spec)

separation(id="N8-ONMR",
           a="ONMR",
           b="RRL",
           environment=environments.E5,
           policies=_n8_policies,
           reference="docs/theory.md#n8",
           proof=N8_PROOF,
           refuter=_n8_refuter,
           refuter_check=_onmr_check_factory("N8-ONMR", environments.E5, _n8_spec),
           samples=_sample_rewards((2, 3, 2), [np.zeros((2, 3, 2), dtype=object)]))(_n8_spec)

separation(id="N6-ONMR-LTL",
           a="ONMR",
           b="LTL",
           environment=_e4_labelled,
           policies=_xor_policies,
           reference="docs/theory.md#n6",
           proof=N6_PROOF,
           refuter=_n6_refuter,
           refuter_check=_onmr_check_factory("N6-ONMR-LTL", _e4_labelled, _n6_ltl),
           samples=_ONMR_E4_SAMPLES)(_n6_ltl)

separation(id="N6-ONMR-RM",
           a="ONMR",
           b="RM",
           environment=_e4_labelled,
           policies=_xor_policies,
           reference="docs/theory.md#n6",
           proof=N6_PROOF,
           refuter=_n6_refuter,
           refuter_check=_onmr_check_factory("N6-ONMR-RM", _e4_labelled, _n6_rm),
           samples=_ONMR_E4_SAMPLES)(_n6_rm)

separation(id="N6-RRL-LTL",
           a="RRL",
           b="LTL",
           environment=_e4_labelled,
           policies=_xor_policies,
           reference="docs/theory.md#n6",
           proof=N6_PROOF,
           lemma=L3)(_n6_ltl)

separation(id="N6-RRL-RM",
           a="RRL",
           b="RM",
           environment=_e4_labelled,
           policies=_xor_policies,
           reference="docs/theory.md#n6",
           proof=N6_PROOF,
           lemma=L3)(_n6_rm)

separation(id="N7",
           a="RRL",
           b="ONMR",
           environment=environments.E4,
           policies=_xor_policies,
           reference="docs/theory.md#n7",
           proof="N7 (RRL cannot express ONMR). E4, R = 1[a at s0] + (1/gamma) 1[a at s1] so "
                 "ell = p + q, f(x) = -(x - 1)^2: at p = 0 q = 1 is best, at p = 1 q = 0 is best, "
                 "contradicting additive separability (L3).",
           lemma=L3)(_n7_spec)

separation(id="N10-LAR",
           a="LAR",
           b="RM",
           environment=_n10_env,
           policies=_n10_policies,
           reference="docs/theory.md#n10",
           proof=N10_PROOF,
           lemma=L_LAR,
           states=(0, 1))(_n10_spec)

separation(id="N10-RRL",
           a="RRL",
           b="RM",
           environment=_n10_env,
           policies=_n10_policies,
           reference="docs/theory.md#n10",
           proof=N10_PROOF,
           lemma=L3)(_n10_spec)

separation(id="N10-ONMR",
           a="ONMR",
           b="RM",
           environment=_n10_env,
           policies=_n10_policies,
           reference="docs/theory.md#n10",
           proof=N10_PROOF,
           refuter=_n10_refuter,
           refuter_check=_onmr_check_factory("N10-ONMR", _n10_env, _n10_spec),
           samples=_sample_rewards((3, 3, 3), [np.zeros((3, 3, 3), dtype=object)]))(_n10_spec)

separation(id="N9",
           a="RM",
           b="LTL",
           environment=_n9_env,
           policies=lambda: [_e6_pq(0, 0), _e6_pq(1, 0)],
           reference="docs/theory.md#n9",
           proof=N9_PROOF,
           premises=_n9_premises,
           refuter=_n9_refuter,
           refuter_check=_disagreement_check("N9", _n9_env, _n9_spec),
           samples=continuous_samples(_n9_env))(_n9_spec)

separation(id="N11",
           a="LTL",
           b="MR",
           environment=environments.E1,
           policies=lambda: [_det([a], 3) for a in range(3)],
           reference="docs/theory.md#n11",
           proof=N11_PROOF,
           premises=_n11_premises(False))(_n11_spec(False))

separation(id="N11-LAR",
           a="LTL",
           b="LAR",
           environment=environments.E1,
           policies=lambda: [_det([a], 3) for a in range(3)],
           reference="docs/theory.md#n11",
           proof=N11_PROOF,
           premises=_n11_premises(True))(_n11_spec(True))

separation(id="N12",
           a="LAR",
           b="MR",
           environment=environments.E3,
           policies=_e3_p([0, 1]),
           reference="docs/theory.md#n12",
           proof="N12 (LAR cannot express MR). E3, R = 1[(s0, a, s1)]: J increases with p; LAR "
                 "ignores the once-visited, action-inert s0 (L-LAR).",
           lemma=L_LAR,
           states=(0,))(_n12_mr)

separation(id="N12-LTL",
           a="LAR",
           b="LTL",
           environment=lambda: environments.E3(
                       labels=_e3_alpha),
           policies=_e3_p([0, 1]),
           reference="docs/theory.md#n12",
           proof="N12 (LAR cannot express LTL). E3 with alpha on (s0, a): P(alpha) = p; LAR "
                 "ignores s0 (L-LAR).",
           lemma=L_LAR,
           states=(0,))(lambda: LinearTemporalLogic("alpha"))

separation(id="N13-RM",
           a="RM",
           b="LAR",
           environment=environments.E7,
           policies=lambda: [_e7_q(F(1), F(1)), _e7_q(F(1, 2), F(1, 2))],
           reference="docs/theory.md#n13",
           proof=N13_PROOF,
           premises=_n13_premises,
           refuter=_n13_refuter,
           refuter_check=_disagreement_check("N13-RM", environments.E7, _n13_spec),
           samples=continuous_samples(environments.E7))(_n13_spec)

for a in ("ONMR", "RRL"):
    separation(id=f"N13-{a}",
               a=a,
               b="LAR",
               environment=environments.E7,
               policies=lambda: [_e7_q(F(1), F(1)), _e7_q(F(1, 2), F(1, 2))],
               reference="docs/theory.md#n13",
               proof=N13_PROOF,
               premises=_n13_premises)(_n13_spec)
