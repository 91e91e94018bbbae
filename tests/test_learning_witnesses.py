"""The separation witnesses as learning data (issue 15).

Each finite separation witness (docs/theory.md#separations) is a set of policies that a
B-specification orders in a way no A-specification can. Fed to ``fit(A)``, its comparisons
must give an impossibility certificate that checks exactly; tampering with one multiplier or
one comparison must make ``check()`` fail. And the certificate's reason is the witness's:
the features are those of the lemma the witness uses, or a complete parametrisation of A
(which proves at least as much).
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest

from objspec.errors import CertificateError, NotExpressibleError
from objspec.learning import Comparisons, ImpossibilityCertificate, fit
from objspec.reductions import separations
from objspec.reductions.separation_catalogue import FiniteWitness, Witness, b_comparisons

FINITE = [w for w in separations() if isinstance(w, FiniteWitness)]


def witness_data(w: Witness) -> tuple[object, Comparisons]:
    env, spec, pols = w.environment(), w.specification(), w.policy_list()
    comp, exact = b_comparisons(spec, env, pols)
    n = len(pols)
    pairs = [(i, j, ">") for i in range(n) for j in range(n) if comp[i, j] > 0]
    if exact:  # a float tie is no proof of equality: only exact ties are data
        pairs += [(i, j, "=") for i in range(n) for j in range(i + 1, n) if comp[i, j] == 0]
    return env, Comparisons(policies=pols, pairs=pairs)


def certificate(w: Witness) -> ImpossibilityCertificate:
    env, data = witness_data(w)
    with pytest.raises(NotExpressibleError) as info:
        fit(w.a, env, data, gamma=Fraction(1, 2))
    cert = info.value.certificate
    assert isinstance(cert, ImpossibilityCertificate)
    return cert


def test_every_finite_witness_is_covered() -> None:
    assert {w.a for w in FINITE} >= {"TLO", "FTR", "RRL", "LAR"}
    assert len(FINITE) >= 10


@pytest.mark.parametrize("w", FINITE, ids=lambda w: w.name)
def test_witness_comparisons_give_a_certificate_that_checks(w: FiniteWitness) -> None:
    cert = certificate(w)
    cert.check()
    assert cert.formalism == w.a
    assert cert.comparisons and all(c.relation in (">", "=") for c in cert.comparisons)
    assert "cannot all hold for any" in cert.explanation() or (
        "this comparison" in cert.explanation() and len(cert.comparisons) == 1)


@pytest.mark.parametrize("w", FINITE, ids=lambda w: w.name)
def test_tampering_with_a_witness_certificate_is_caught(w: FiniteWitness) -> None:
    cert = certificate(w)
    k = next(k for k, z in enumerate(cert.strict_multipliers) if z != 0)
    zs = list(cert.strict_multipliers)
    outright = sum(1 for z in zs if z != 0) + sum(1 for y in cert.tie_multipliers if y) == 1
    if outright:
        # one strict comparison between policies with equal features ("0 > 0" outright):
        # any positive weight proves it, so the tamper is to drop it
        zs[k] = Fraction(0)
    else:  # a minimal subset: every difference is non-zero, so one changed weight leaves
        zs[k] = zs[k] * 2 + 1  # a non-zero residue
    with pytest.raises(CertificateError):
        dataclasses.replace(cert, strict_multipliers=tuple(zs)).check()
    strict = [n for n, c in enumerate(cert.comparisons) if c.relation == ">"]
    comps = list(cert.comparisons)
    c = comps[strict[0]]
    comps[strict[0]] = dataclasses.replace(c, first=c.second, second=c.first)
    if not outright:  # reversed, "x > y" between equal features is as impossible
        with pytest.raises(CertificateError):
            dataclasses.replace(cert, comparisons=tuple(comps)).check()
    comps = list(cert.comparisons)
    comps[strict[0]] = dataclasses.replace(c, relation="=")
    with pytest.raises(CertificateError):
        dataclasses.replace(cert, comparisons=tuple(comps)).check()
    feats = [list(r) for r in cert.features]
    feats[0][0] += 1
    with pytest.raises(CertificateError, match="recomputed"):
        dataclasses.replace(cert, features=tuple(tuple(r) for r in feats)).check()


@pytest.mark.parametrize("w", FINITE, ids=lambda w: w.name)
def test_the_top_formalism_fits_each_witness(w: FiniteWitness) -> None:
    """The data is not inconsistent: FPR, the top of the diagram, explains it, so the
    certificate is about A, not about the data."""
    env, data = witness_data(w)
    result = fit("FPR", env, data)
    ev = result.spec.compile(env)
    for c in data.comparisons:
        got = ev.compare(data.policies[c.first], data.policies[c.second])
        assert got == (1 if c.relation == ">" else 0)
