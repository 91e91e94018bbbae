"""The abstract's five-way claim as single witnesses, one per formalism.

The paper's abstract (arXiv 2310.11840) states that each of Regularised RL, (Outer)
Nonlinear Markov Rewards, Reward Machines, Linear Temporal Logic and Limit Average Rewards
can express a task that none of the other four can. The pairwise witnesses of
:mod:`objspec.reductions.separation_catalogue` prove the twenty facts "X cannot express some
Y-ordering", but with different orderings. Here each formalism Y gets **one**
specification, on one environment, and for each of the other four formalisms X a checked
reason why X cannot express *that* ordering:

* ``certificate``: a :class:`~objspec.reductions.separation_catalogue.FiniteWitness`: exact
  Motzkin multipliers against a structural lemma of X
  (:mod:`objspec.reductions.lemmas`), verified in rational arithmetic; or a
  :class:`~objspec.reductions.separation_catalogue.ChainWitness`: a class-counting lemma of
  X whose precondition is decided exactly, and a strict chain longer than its bound;
* ``refuter``: an :class:`~objspec.reductions.separation_catalogue.AnalyticWitness` whose
  constructive proof is run on seeded X-specifications (exact), with the premises of the
  analytic step checked exactly;
* ``analytic``: an analytic witness whose premises are checked exactly but whose
  final step (continuity or counting) is a proof in its docstring;
* ``not checked`` / ``open``: the part is not established by a checked witness in objspec,
  and the report says why. Nothing is counted as proved that is not.

Every part's witness must use the same environment and specification objects (the same
builder functions) as the five-way witness itself: :meth:`FiveWayWitness.check` refuses
a part that would prove a fact about another ordering.

Examples
--------
>>> [w.formalism for w in five_way_witnesses()]
['RRL', 'ONMR', 'RM', 'LTL', 'LAR']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from objspec import environments
from objspec.errors import CertificateError
from objspec.mdp.model import FiniteMDP
from objspec.mdp.policy import Policy
from objspec.reductions.lemmas import L1, L3_PARTIAL, L_LAR, L_LTL_DET
from objspec.reductions.separation_catalogue import (
    CONTINUITY_STEPS,
    AnalyticWitness,
    ChainWitness,
    FiniteWitness,
    Witness,
    WitnessReport,
    _e4_pqr,
    _e6_pq,
    _e7_q,
    _ell,
    _n7_spec,
    _n8_policies,
    _n8_spec,
    _n9_env,
    _n9_spec,
    _n10_env,
    _n10_policies,
    _n10_spec,
    _n13_spec,
    _onmr_check_factory,
    _sample_rewards,
    registered_separations,
)

__all__ = [
    "FIVE",
    "FiveWayPart",
    "FiveWayWitness",
    "FiveWayReport",
    "five_way_witnesses",
    "check_five_way",
]

F = Fraction

#: The five formalisms of the abstract's claim, in the abstract's order.
FIVE: tuple[str, ...] = ("RRL", "ONMR", "RM", "LTL", "LAR")

#: Statuses that count as a checked proof.
CHECKED = ("certificate", "refuter", "analytic")


@dataclass(frozen=True)
class FiveWayPart:
    """Why ``against`` cannot express the five-way witness's ordering.

    Attributes
    ----------
    against : str
        The formalism that cannot express it.
    status : str
        ``"certificate"``, ``"refuter"``, ``"analytic"`` (checked, see the module
        docstring), ``"not checked"`` or ``"open"``.
    witness : Witness or None
        The witness checked for this part (None for unchecked or open parts).
    note : str
        One line: the lemma or argument, or why the part is not checked.
    """

    against: str
    status: str
    witness: Witness | None = field(default=None, repr=False)
    note: str = ""


@dataclass(frozen=True)
class FiveWayReport:
    """Outcome of :meth:`FiveWayWitness.check`: one line per part, and whether the
    witness is complete (all four parts checked)."""

    formalism: str
    name: str
    lines: tuple[str, ...]
    reports: tuple[WitnessReport, ...]
    complete: bool

    def __str__(self) -> str:
        state = "complete" if self.complete else "INCOMPLETE"
        return "\n  ".join([f"{self.formalism} ({self.name}): {state}", *self.lines])


@dataclass(frozen=True)
class FiveWayWitness:
    """One specification of ``formalism`` that none of the other four formalisms of the
    five-way claim can express, with one part per other formalism."""

    formalism: str
    name: str
    reference: str
    environment: Callable[[], FiniteMDP] = field(repr=False)
    specification: Callable[[], Any] = field(repr=False)
    parts: tuple[FiveWayPart, ...] = field(repr=False)
    description: str = ""

    def check(self) -> FiveWayReport:
        """Check every part; raise :class:`CertificateError` if a checked part fails, a
        part's witness is about another specification or environment, or the parts do not
        cover the other four formalisms exactly once."""
        others = sorted(x for x in FIVE if x != self.formalism)
        covered = sorted(p.against for p in self.parts)
        if covered != others:
            raise CertificateError(
                f"five-way {self.formalism}: the parts cover {covered}, not the other four "
                f"formalisms {others}")
        lines: list[str] = []
        reports: list[WitnessReport] = []
        complete = True
        for part in self.parts:
            if part.status not in CHECKED:
                complete = False
                lines.append(f"{part.against:<5} {part.status.upper()}: {part.note}")
                continue
            w = part.witness
            if w is None:
                raise CertificateError(
                    f"five-way {self.formalism}: part {part.against} claims {part.status} "
                    "without a witness")
            if w.environment is not self.environment or w.specification is not self.specification:
                raise CertificateError(
                    f"five-way {self.formalism}: the witness {w.name} of part {part.against} "
                    "is about another environment or specification (not a single witness)")
            if w.b != self.formalism or w.a != part.against:
                raise CertificateError(
                    f"five-way {self.formalism}: witness {w.name} proves {w.a} cannot express "
                    f"{w.b}, not {part.against} cannot express {self.formalism}")
            kind = "finite" if part.status == "certificate" else "analytic"
            if (isinstance(w, (FiniteWitness, ChainWitness))) != (kind == "finite") or (
                    part.status == "refuter" and getattr(w, "refuter", None) is None):
                raise CertificateError(
                    f"five-way {self.formalism}: witness {w.name} is not a {part.status}")
            rep = w.check()
            reports.append(rep)
            lines.append(f"{part.against:<5} {part.status} ({w.name}): {part.note}")
        return FiveWayReport(self.formalism, self.name, tuple(lines), tuple(reports), complete)


# ---------------------------------------------------------------- the new parts


def _registered(name: str) -> Witness:
    return next(w for w in registered_separations() if w.name == name)


def _e4_pq(p: Any, q: Any) -> Policy:
    return _e4_pqr(p, q, 1)


def _n7_policies() -> list[Policy]:
    half = F(1, 2)
    return [_e4_pq(0, 1), _e4_pq(1, 0), _e4_pq(half, half), _e4_pq(0, 0), _e4_pq(1, 1)]


def _n9_pq(pairs: list[tuple[int, int]]) -> Callable[[], list[Policy]]:
    return lambda: [_e6_pq(p, q) for p, q in pairs]


def _n9_onmr_refuter(params: Any) -> tuple[Policy, Policy]:
    """ONMR ties policies with equal ``ell`` (L2). On E6, s0 is visited once and both of
    its actions lead to s1, so ``ell(p, q) = c p + g(q)`` with ``g`` continuous. If
    ``c = 0``, flip ``p`` at ``q = 1``. Else take ``q' = 2^-k`` with
    ``|delta| < |c| / 2`` for ``delta = g(q') - g(0)`` (continuity), and ``p, p'`` with
    ``c (p - p') = delta``: then ``ell`` is equal while the LTL values ``1 - p`` (at q = 0)
    and ``p'`` (at q') differ, because ``p + p' != 1``."""
    reward, gamma = params
    env = _n9_env()

    def ell(p: Any, q: Any) -> Fraction:
        return _ell(env, reward, gamma, _e6_pq(p, q))

    c = ell(1, 0) - ell(0, 0)
    if c == 0:
        return _e6_pq(1, 1), _e6_pq(0, 1)
    for k in range(CONTINUITY_STEPS):
        q = F(1, 2**k)
        delta = (ell(0, q) - ell(0, 0)) / c
        if abs(delta) < F(1, 2):
            p_prime = F(1, 4) if delta >= 0 else F(3, 4)
            return _e6_pq(p_prime + delta, 0), _e6_pq(p_prime, q)
    raise CertificateError(f"N9 ONMR refuter: ell not continuous down to q = "
                           f"2^-{CONTINUITY_STEPS}")


N9_ONMR_PROOF = """N9 (ONMR cannot express "alpha iff eventually beta"). E6; J = p if q > 0 and
1 - p if q = 0. Any ONMR spec is J = f(ell(pi)) with ell linear in the occupancy measure, so
it ties every two policies with equal ell (L2). s0 is visited once and both actions lead to
s1, so ell(p, q) = c p + g(q) with g continuous (L4). If c = 0, p does not move ell but moves
J at q = 1. Else continuity gives q' > 0 with |g(q') - g(0)| < |c| / 2, and p, p' with
c (p - p') = g(q') - g(0) and p + p' != 1: ell(p, 0) = ell(p', q') while J is 1 - p and p'.
The refuter builds that pair for each sample specification; the check verifies ell equal and
the LTL comparison strict, exactly."""

N9_RRL_PROOF = """N9 (RRL cannot express "alpha iff eventually beta"). E6: s0 is the initial state,
nothing leads to it and both its actions lead to s1, so by L3-partial J_RRL = g(pi(.|s0)) +
H(pi(.|s1), pi(.|s2)): the ranking of the choices at s0 cannot depend on the choice at s1.
The LTL ordering prefers p = 0 at q = 0 and p = 1 at q = 1 (finite certificate)."""

N7_FTR_PROOF = """N7 (RM, LTL and LAR cannot express the ONMR ordering -(p + q - 1)^2 on E4). s0 and
s1 are visited once, so by L1 every FTR value (hence RM, LTL, LAR) is bilinear,
J = A p q + B p + C q + D for fixed r. The ties (0, 1) ~ (1, 0) ~ (1/2, 1/2) force B = C and
A = 0, and then (0, 1) > (0, 0) needs B > 0 while (1, 0) > (1, 1) needs B < 0 (finite
certificate)."""

N8_FTR_PROOF = """N8 (RM, LTL and LAR cannot express the RRL ordering of the regulariser at the
once-visited 3-action state of E5). By L1 every FTR value (hence RM, LTL, LAR) is affine in
pi(.|s0); the uniform row is the average of the three vertices, so it cannot be strictly
better than all three, as the RRL ordering has it (finite certificate)."""

N9_LAR_PROOF = """N9 (LAR cannot express "alpha iff eventually beta"). s0 of E6 is visited once and
both its actions lead to s1, so by L-LAR the limit average does not depend on p; the LTL value
does (p at q = 1; finite certificate)."""

N10_LTL_PROOF = """N10 (LTL cannot express the RM ordering on E4'). E4' is deterministic, so each
deterministic policy has LTL value 0 or 1 (L-LTL-det): an LTL ordering has at most two
classes on deterministic policies. The reward machine pays gamma w (b twice), gamma (a
twice) and 0 (a then b): three strictly ordered deterministic policies, for every weight
w > 1 (the double nearest sqrt 2 included). Exact rational comparison."""

N13_LTL_PROOF = """N13 (LTL cannot express the long-run fraction of time in s1 on E7). E7 is
deterministic, so each deterministic policy has LTL value 0 or 1 (L-LTL-det). The fraction
is 1 (never switch), 1/2 (always switch) and 0 (switch to s2 and stay there): three
strictly ordered deterministic policies. Exact rational comparison."""


def _n13_deterministic() -> list[Policy]:
    return [_e7_q(0, 0), _e7_q(1, 1), _e7_q(1, 0)]


def _build() -> list[FiveWayWitness]:
    e4, e5, e7 = environments.E4, environments.E5, environments.E7
    rrl_parts = [
        FiveWayPart("ONMR", "refuter", _registered("N8-ONMR"),
                    "ell is affine in pi(.|s0): a zero-sum direction keeps it fixed (L2)"),
        *[FiveWayPart(a, "certificate", FiniteWitness(
            f"N8-{a}", a, "RRL", "docs/theory.md#n8", e5, _n8_spec, _n8_policies,
            N8_FTR_PROOF, lemma=L1, states=(0,)), "L1: affine at the once-visited s0")
          for a in ("RM", "LTL", "LAR")],
    ]
    onmr_parts = [
        FiveWayPart("RRL", "certificate", _registered("N7"),
                    "L3: additively separable, but the best q depends on p"),
        *[FiveWayPart(a, "certificate", FiniteWitness(
            f"N7-{a}", a, "ONMR", "docs/theory.md#n7", e4, _n7_spec, _n7_policies,
            N7_FTR_PROOF, lemma=L1, states=(0, 1)), "L1: bilinear in (p, q), never peaked "
            "on p + q = 1") for a in ("RM", "LTL", "LAR")],
    ]
    rm_parts = [
        FiveWayPart("LAR", "certificate", _registered("N10-LAR"),
                    "L-LAR: s0 and s1 are transient and action-inert"),
        FiveWayPart("RRL", "certificate", _registered("N10-RRL"),
                    "L3: the best q depends on p"),
        FiveWayPart("ONMR", "refuter", _registered("N10-ONMR"),
                    "ell is affine in pi(.|s1): a zero-sum direction keeps it fixed (L2)"),
        FiveWayPart("LTL", "certificate", ChainWitness(
            "N10-LTL", "LTL", "RM", "docs/theory.md#n10", _n10_env, _n10_spec, _n10_policies,
            N10_LTL_PROOF, lemma=L_LTL_DET), "L-LTL-det: three strictly ordered deterministic "
            "policies on a deterministic environment"),
    ]
    n9_env, n9_spec = _n9_env, _n9_spec
    ltl_parts = [
        FiveWayPart("RM", "refuter", _registered("N9"),
                    "continuity (L4) at q = 0"),
        FiveWayPart("LAR", "certificate", FiniteWitness(
            "N9-LAR", "LAR", "LTL", "docs/theory.md#n9", n9_env, n9_spec,
            _n9_pq([(0, 1), (1, 1)]), N9_LAR_PROOF, lemma=L_LAR, states=(0,)),
            "L-LAR: the limit average ignores the once-visited s0"),
        FiveWayPart("ONMR", "refuter", AnalyticWitness(
            "N9-ONMR", "ONMR", "LTL", "docs/theory.md#n9", n9_env, n9_spec,
            _n9_pq([(0, 0), (1, 0)]), N9_ONMR_PROOF, refuter=_n9_onmr_refuter,
            refuter_check=_onmr_check_factory("N9-ONMR", n9_env, n9_spec),
            samples=_sample_rewards((3, 2, 3), [np.zeros((3, 2, 3), dtype=object)])),
            "ell(p, q) = c p + g(q) with g continuous: equal ell, different LTL value"),
        FiveWayPart("RRL", "certificate", FiniteWitness(
            "N9-RRL", "RRL", "LTL", "docs/theory.md#n9", n9_env, n9_spec,
            _n9_pq([(0, 0), (1, 0), (0, 1), (1, 1)]), N9_RRL_PROOF, lemma=L3_PARTIAL,
            states=(0,)), "L3-partial: the ranking at s0 cannot depend on q"),
    ]
    lar_parts = [
        FiveWayPart("RM", "refuter", _registered("N13-RM"),
                    "continuity (L4): rays from the origin"),
        FiveWayPart("ONMR", "analytic", _registered("N13-ONMR"),
                    "continuity of ell: uncountably many rays share a closure point"),
        FiveWayPart("RRL", "analytic", _registered("N13-RRL"),
                    "ties on q2 = 0 force affine per-state terms; all rays share one limit"),
        FiveWayPart("LTL", "certificate", ChainWitness(
            "N13-LTL", "LTL", "LAR", "docs/theory.md#n13", e7, _n13_spec, _n13_deterministic,
            N13_LTL_PROOF, lemma=L_LTL_DET), "L-LTL-det: long-run fractions 1, 1/2 and 0 on "
            "deterministic policies"),
    ]
    return [
        FiveWayWitness("RRL", "N8", "docs/theory.md#n8", e5, _n8_spec, tuple(rrl_parts),
                       "E5: a strictly convex regulariser at a once-visited 3-action state"),
        FiveWayWitness("ONMR", "N7", "docs/theory.md#n7", e4, _n7_spec, tuple(onmr_parts),
                       "E4: expected return p + q as close as possible to 1"),
        FiveWayWitness("RM", "N10", "docs/theory.md#n10", _n10_env, _n10_spec,
                       tuple(rm_parts), "E4': the same action twice, weights 1 and sqrt 2"),
        FiveWayWitness("LTL", "N9", "docs/theory.md#n9", n9_env, n9_spec, tuple(ltl_parts),
                       "E6: alpha (first action a) iff eventually beta (leave s1)"),
        FiveWayWitness("LAR", "N13", "docs/theory.md#n13", e7, _n13_spec,
                       tuple(lar_parts), "E7: the long-run fraction of time in s1"),
    ]


_FIVE_WAY: list[FiveWayWitness] | None = None


def five_way_witnesses() -> tuple[FiveWayWitness, ...]:
    """The five single witnesses of the abstract's five-way claim, in the order of
    :data:`FIVE`.

    Examples
    --------
    >>> w = five_way_witnesses()[1]
    >>> w.formalism, sorted(p.against for p in w.parts)
    ('ONMR', ['LAR', 'LTL', 'RM', 'RRL'])
    """
    global _FIVE_WAY
    if _FIVE_WAY is None:
        _FIVE_WAY = _build()
    return tuple(_FIVE_WAY)


def check_five_way() -> list[FiveWayReport]:
    """Check the five witnesses (raises :class:`CertificateError` if a checked part fails).

    Examples
    --------
    >>> [r.complete for r in check_five_way()]  # doctest: +SKIP
    [True, True, True, True, True]
    """
    return [w.check() for w in five_way_witnesses()]
