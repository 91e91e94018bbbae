"""Tampering tests for the exact Motzkin certificates (:mod:`objspec.reductions.certificates`).

Every single-entry perturbation of a registered witness's certificate (a feature entry, a
multiplier, a constraint's policy index) must be rejected by ``verify()``, *unless* the
independent exact oracle in ``tests/exact_lp.py`` (which does not import the code under test)
says the perturbed object is still a valid certificate: then ``verify()`` must accept it.
Likewise ``farkas_certificate`` must find a certificate exactly when the oracle's exact LPs
say the strict/tie system is infeasible.
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from fractions import Fraction as F

import pytest
from exact_lp import multipliers_valid, phase_one, system_feasible
from hypothesis import example, given
from hypothesis import strategies as st

from objspec.errors import CertificateError
from objspec.reductions import FiniteWitness, separations
from objspec.reductions.certificates import FarkasCertificate, farkas_certificate

FINITE = [w for w in separations() if isinstance(w, FiniteWitness)]
NAMES = [w.name for w in FINITE]


@functools.cache
def certificate(name: str) -> FarkasCertificate:
    w = next(w for w in FINITE if w.name == name)
    cert = w.check().certificate
    assert cert is not None
    return cert


for _name in NAMES:  # computed once at import (mutation testing forks after collection)
    certificate(_name)


def oracle(cert: FarkasCertificate) -> bool:
    return multipliers_valid(cert.features, cert.strict, cert.ties, cert.strict_multipliers,
                             cert.tie_multipliers)


def assert_verdict(cert: FarkasCertificate) -> None:
    """``verify()`` accepts ``cert`` iff the independent oracle does."""
    if oracle(cert):
        cert.verify()
    else:
        with pytest.raises(CertificateError):
            cert.verify()


# ---------------------------------------------------------------- targeted checks


def test_the_registered_certificates_are_valid_for_the_oracle() -> None:
    for name in NAMES:
        cert = certificate(name)
        assert oracle(cert), name
        assert not system_feasible(cert.features, cert.strict, cert.ties), name


def test_a_negative_strict_multiplier_is_rejected() -> None:
    """Weights that cancel and sum to a positive number, one of them negative: adding a
    strict inequality with a negative weight flips it, so this proves nothing."""
    phi = ((F(1),), (F(0),))
    cert = FarkasCertificate(phi, ((0, 1), (0, 1)), ((0, 1),), (F(2), F(-1)), (F(-1),))
    assert not oracle(cert)
    with pytest.raises(CertificateError, match="^certificate: a strict multiplier is negative$"):
        cert.verify()


def test_multipliers_must_cancel_in_every_feature() -> None:
    """Feature 0 does not cancel, feature 1 does: rejected (one non-cancelling feature is
    enough)."""
    phi = ((F(1), F(0)), (F(0), F(0)))
    cert = FarkasCertificate(phi, ((0, 1),), (), (F(1),), ())
    with pytest.raises(CertificateError, match=r"^certificate: the weighted constraints do not "
                                               r"cancel \(feature 0: 1\)$"):
        cert.verify()
    phi = ((F(0), F(1)), (F(0), F(0)))
    with pytest.raises(CertificateError, match="feature 1: 1"):
        replace(cert, features=phi).verify()


def test_all_zero_strict_multipliers_are_rejected() -> None:
    phi = ((F(1),), (F(1),))
    cert = FarkasCertificate(phi, ((0, 1),), ((0, 1),), (F(0),), (F(1),))
    with pytest.raises(CertificateError,
                       match="^certificate: the strict multipliers are all zero$"):
        cert.verify()


@pytest.mark.parametrize("z, y", [((F(1), F(1)), ()), ((F(1),), (F(0),)), ((F(1),), ())])
def test_one_multiplier_per_constraint(z: tuple[F, ...], y: tuple[F, ...]) -> None:
    phi = ((F(1),), (F(1),))
    ties = ((0, 1),) if len(y) == 0 and len(z) == 1 else ()
    cert = FarkasCertificate(phi, ((0, 1),), ties, z, y)
    with pytest.raises(CertificateError,
                       match="^certificate: one multiplier per constraint is required$"):
        cert.verify()


def test_a_malformed_certificate_is_a_certificate_error() -> None:
    """Ragged feature vectors or a pair naming no policy: a clear CertificateError, never an
    IndexError and never an accepted certificate (extra entries of a longer row were once
    ignored)."""
    ragged = FarkasCertificate(((F(0),), (F(0), F(1))), ((1, 0),), (), (F(1),), ())
    assert not oracle(ragged)
    with pytest.raises(CertificateError, match="^certificate: feature vector 1 has length 2, "
                                               "policy 0's 1$"):
        ragged.verify()
    short = FarkasCertificate(((F(0), F(1)), (F(0),)), ((1, 0),), (), (F(1),), ())
    with pytest.raises(CertificateError, match="length"):
        short.verify()
    for pair in [(0, 2), (2, 0), (-1, 0), (0, -2)]:
        bad = FarkasCertificate(((F(0),), (F(0),)), (pair,), (), (F(1),), ())
        msg = re.escape(f"certificate: pair {pair} names no policy (there are 2)")
        with pytest.raises(CertificateError, match=f"^{msg}$"):
            bad.verify()
        tie = FarkasCertificate(((F(0),), (F(0),)), ((0, 1),), (pair,), (F(1),), (F(0),))
        with pytest.raises(CertificateError, match="policy"):
            tie.verify()
    with pytest.raises(CertificateError,
                       match=r"^certificate: no policies \(the feature list is empty\)$"):
        FarkasCertificate((), ((0, 0),), (), (F(1),), ()).verify()


def test_farkas_certificate_refuses_ragged_features() -> None:
    with pytest.raises(CertificateError, match="feature vector 1 has length 1"):
        farkas_certificate([[F(0), F(1)], [F(1)]], strict=[(1, 0)], ties=[])
    with pytest.raises(CertificateError, match="feature vector 2 has length 3"):
        farkas_certificate([[F(0), F(1)], [F(1), F(0)], [F(1), F(0), F(0)]],
                           strict=[(1, 0)], ties=[(0, 2)])


def test_the_module_example() -> None:
    phi = [[F(0), F(1)], [F(1, 2), F(1, 2)], [F(1), F(0)]]
    cert = farkas_certificate(phi, strict=[(1, 0), (1, 2)], ties=[])
    assert cert is not None and oracle(cert)
    assert cert.strict_multipliers == (F(1, 2), F(1, 2))
    assert cert.features == tuple(tuple(r) for r in phi)
    assert cert.strict == ((1, 0), (1, 2)) and cert.ties == ()


def test_no_strict_pair_means_no_certificate() -> None:
    phi = [[F(0)], [F(1)]]
    assert farkas_certificate(phi, strict=[], ties=[(0, 1)]) is None
    assert system_feasible(phi, [], [(0, 1)])


def test_ties_alone_can_complete_a_certificate() -> None:
    """Strict 1 > 0 and ties 1 ~ 2 ~ 0 in one feature: y must be non-zero."""
    phi = [[F(0)], [F(1)], [F(1)]]
    cert = farkas_certificate(phi, strict=[(1, 0)], ties=[(1, 2), (2, 0)])
    assert cert is not None and oracle(cert)
    assert cert.tie_multipliers[1] != 0


def test_a_certificate_found_with_a_two_dimensional_null_space() -> None:
    """Several strict pairs with the same difference: the exact null space of the support has
    dimension > 1 and the multipliers come from the float solution."""
    phi = [[F(0), F(0)], [F(1), F(0)], [F(2), F(0)], [F(1), F(1)]]
    strict = [(1, 0), (2, 1), (0, 2), (3, 0)]
    cert = farkas_certificate(phi, strict, [(3, 1)])
    assert cert is not None and oracle(cert)
    assert not system_feasible(phi, strict, [(3, 1)])


# ---------------------------------------------------------------- property tests

FIELDS = ("features", "strict_multipliers", "tie_multipliers", "strict", "ties")
small = st.fractions(min_value=-3, max_value=3, max_denominator=4)


@st.composite
def perturbed(draw: st.DrawFn) -> FarkasCertificate:
    cert = certificate(draw(st.sampled_from(NAMES)))
    fields = [f for f in FIELDS if len(getattr(cert, f))]
    what = draw(st.sampled_from(fields))
    if what == "features":
        i = draw(st.integers(0, len(cert.features) - 1))
        k = draw(st.integers(0, len(cert.features[i]) - 1))
        row = list(cert.features[i])
        row[k] = draw(small.filter(lambda v: v != row[k]))
        feats = list(cert.features)
        feats[i] = tuple(row)
        return replace(cert, features=tuple(feats))
    values = list(getattr(cert, what))
    k = draw(st.integers(0, len(values) - 1))
    if what in ("strict", "ties"):
        n = len(cert.features)
        side = draw(st.integers(0, 1))
        pair = list(values[k])
        pair[side] = draw(st.integers(0, n - 1).filter(lambda v: v != pair[side]))
        values[k] = tuple(pair)
    else:
        values[k] = draw(small.filter(lambda v: v != values[k]))
    return replace(cert, **{what: tuple(values)})


@given(perturbed())
@example(replace(certificate("N3"), strict_multipliers=(F(1), F(-1))))
@example(replace(certificate("N3"), strict_multipliers=(F(1), F(1, 2))))  # still valid
@example(replace(certificate("N8-FTR"), tie_multipliers=(F(1, 3), F(1, 3), F(5))))
def test_single_entry_tampering_is_rejected_unless_still_valid(cert: FarkasCertificate) -> None:
    assert_verdict(cert)


@st.composite
def perturbed_system(draw: st.DrawFn) -> tuple[list[list[F]], list[tuple[int, int]],
                                               list[tuple[int, int]]]:
    cert = certificate(draw(st.sampled_from(NAMES)))
    feats = [list(r) for r in cert.features]
    strict, ties = list(cert.strict), list(cert.ties)
    what = draw(st.sampled_from(["feature", "drop_strict", "strict_to_tie", "tie_to_strict",
                                 "drop_tie"]))
    if what == "feature":
        i = draw(st.integers(0, len(feats) - 1))
        k = draw(st.integers(0, len(feats[i]) - 1))
        feats[i][k] = draw(small)
    elif what in ("drop_strict", "strict_to_tie") and len(strict) > 1:
        pair = strict.pop(draw(st.integers(0, len(strict) - 1)))
        if what == "strict_to_tie":
            ties.append(pair)
    elif what in ("tie_to_strict", "drop_tie") and ties:
        pair = ties.pop(draw(st.integers(0, len(ties) - 1)))
        if what == "tie_to_strict":
            strict.append(pair if draw(st.booleans()) else pair[::-1])
    return feats, strict, ties


@given(perturbed_system())
def test_farkas_certificate_agrees_with_the_exact_lp(
    system: tuple[list[list[F]], list[tuple[int, int]], list[tuple[int, int]]]
) -> None:
    """A certificate is found iff the exact LPs say none of the ``c`` exists, and a found
    certificate is valid for the oracle."""
    feats, strict, ties = system
    cert = farkas_certificate(feats, strict, ties)
    feasible = system_feasible(feats, strict, ties)
    assert (cert is None) == feasible
    if cert is not None:
        assert oracle(cert)
        cert.verify()


@pytest.mark.parametrize(("ties", "z", "y"), [
    ((), (10**7, 1), ()),
    (((0, 1),), (10**7,), (-1,)),
])
def test_a_float_solution_too_small_to_rationalise(ties: tuple, z: tuple, y: tuple) -> None:
    """Differences -1/K and (+-)1 with K = 10^7: the float multipliers rationalise to 0, and
    the exact null-space vector (scaled by +1 or -1, whichever makes z >= 0) is used."""
    k = 10**7
    phi = [[F(0)], [F(1)], [F(-1, k) if ties else F(1, k)]]
    strict = [(2, 0)] if ties else [(0, 2), (1, 0)]
    cert = farkas_certificate(phi, strict, list(ties))
    assert cert is not None and oracle(cert)
    assert (cert.strict_multipliers, cert.tie_multipliers) == (z, y)


def test_multipliers_are_the_rationalised_lp_solution() -> None:
    """The LP's multipliers sum to 1; they are rationalised finely enough to keep it."""
    cert = farkas_certificate([[F(0)], [F(1)], [F(1, 99)]], [(0, 2), (1, 0)], [])
    assert cert is not None and cert.strict_multipliers == (F(99, 100), F(1, 100))


def test_phase_one_oracle_on_known_systems() -> None:
    """The oracle itself: a feasible and an infeasible standard-form system."""
    assert phase_one([[F(1), F(1)]], [F(1)]) is not None
    assert phase_one([[F(1), F(1)], [F(1), F(1)]], [F(1), F(2)]) is None
    assert phase_one([[F(-1), F(0)]], [F(1)]) is None
