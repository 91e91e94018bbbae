"""Parametrised LTL formula families, as defined in the documentation of Spot's ``genltl``.

Each family maps a size ``n >= 1`` to a formula (:class:`~objspec.ltl.syntax.Formula`);
they are the usual scalability benchmarks of LTL translators (``benchmarks/bench_ltl.py``
times objspec's translation on them). The definitions, with the references Spot gives:

========================  =====================================================================
``and-f``                 ``F p1 & F p2 & ... & F pn``
``and-fg`` / ``and-gf``   ``FG p1 & ... & FG pn`` / ``GF p1 & ... & GF pn``
``or-g`` / ``or-fg``      ``G p1 | ... | G pn`` / ``FG p1 | ... | FG pn``
``or-gf``                 ``GF p1 | ... | GF pn``
``ccj-alpha``             ``F(p1 & F(p2 & ... F pn)) & F(q1 & F(q2 & ... F qn))`` (Cichoń,
                          Czubak, Jasiński 2009)
``ccj-beta``              ``F(p & X(p & X(p & ... X p))) & F(q & X(q & ... X q))`` (n p's)
``ccj-beta-prime``        ``F(p & X p & XX p & ... X^(n-1) p) & F(q & ... X^(n-1) q)``
``gh-q``                  ``(F p1 | G p2) & (F p2 | G p3) & ... & (F pn | G p(n+1))``
                          (Geldenhuys, Hansen 2006)
``gh-r``                  ``(GF p1 | FG p2) & ... & (GF pn | FG p(n+1))``
``go-theta``              ``!((GF p1 & ... & GF pn) -> G(q -> F r))`` (Gastin, Oddoux 2001)
``gxf-and``               ``G(p0 & XF(p1 & XF(p2 & ... XF pn)))``
``fxg-or``                ``F(p0 | XG(p1 | XG(p2 | ... XG pn)))``
``gf-equiv``              ``(GF a1 & ... & GF an) <-> GF z``
``gf-implies``            ``(GF a1 & ... & GF an) -> GF z``
``ms-phi-h``              ``FG(a | b) | FG(!a | X b) | FG(a | XX b) | ...`` (n+1 disjuncts;
                          Müller, Sickert 2017)
``ms-phi-r``              ``(FG an & GF bn) | ((FG a(n-1) | GF b(n-1)) & (...))``
``ms-phi-s``              ``(FG an | GF bn) & ((FG a(n-1) & GF b(n-1)) | (...))``
``rv-counter``            an ``n``-bit binary counter (Rozier, Vardi 2007): marker ``m`` every
                          ``n`` steps, bits ``b`` initially 0, each value the previous plus 1
``sejk-j``                ``(GF a1 & ... & GF an) -> (GF b1 & ... & GF bn)`` (Sickert, Esparza,
                          Jaax, Křetínský 2016)
``sejk-k``                ``(GF a1 | FG b1) & ... & (GF an | FG bn)``
``tv-f1`` / ``tv-f2``     ``G(p -> (q | X q | ... | X^(n-1) q))`` / ``G(p -> (q | X(q | ... X q)))``
                          (Tabakov, Vardi 2010)
``tv-g1`` / ``tv-g2``     the same with ``&``
``u-left`` / ``u-right``  ``((p1 U p2) U p3) ... U pn`` / ``p1 U (p2 U (... U pn))``
``r-left`` / ``r-right``  the same with ``R``
========================  =====================================================================

Examples
--------
>>> str(family("and-f", 3))
'Fp1 & Fp2 & Fp3'
>>> str(family("ccj-alpha", 2))
'F(p1 & Fp2) & F(q1 & Fq2)'
>>> len(FAMILIES) >= 25
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from objspec.errors import InvalidSpecificationError
from objspec.ltl import syntax as s
from objspec.ltl.parser import parse_formula

__all__ = ["FAMILIES", "PATTERNS", "family", "pattern"]


def _ap(name: str, i: int | None = None) -> s.Atom:
    return s.Atom(name if i is None else f"{name}{i}")


def _fold(kind: type, items: Sequence[s.Formula]) -> s.Formula:
    """``items[0] kind items[1] kind ...``, left-nested."""
    out = items[0]
    for f in items[1:]:
        out = kind(out, f)
    return out


def _next(f: s.Formula, k: int) -> s.Formula:
    for _ in range(k):
        f = s.Next(f)
    return f


def _each(n: int, make: Callable[[s.Atom], s.Formula], kind: type, name: str = "p") -> s.Formula:
    return _fold(kind, [make(_ap(name, i)) for i in range(1, n + 1)])


def _chain_f(name: str, n: int) -> s.Formula:
    """``F(x1 & F(x2 & ... F xn))``."""
    out: s.Formula = s.Finally(_ap(name, n))
    for i in range(n - 1, 0, -1):
        out = s.Finally(s.And(_ap(name, i), out))
    return out


def _nested_x(p: s.Formula, n: int, kind: type) -> s.Formula:
    """``p kind X(p kind X(... X p))`` with ``n`` occurrences of ``p``."""
    out = p
    for _ in range(n - 1):
        out = kind(p, s.Next(out))
    return out


def _spread_x(p: s.Formula, n: int, kind: type) -> s.Formula:
    """``p kind X p kind XX p ... X^(n-1) p``."""
    return _fold(kind, [_next(p, k) for k in range(n)])


def _gf(f: s.Formula) -> s.Formula:
    return s.Globally(s.Finally(f))


def _fg(f: s.Formula) -> s.Formula:
    return s.Finally(s.Globally(f))


def _gh_q(n: int) -> s.Formula:
    return _fold(s.And, [s.Or(s.Finally(_ap("p", i)), s.Globally(_ap("p", i + 1)))
                         for i in range(1, n + 1)])


def _gh_r(n: int) -> s.Formula:
    return _fold(s.And, [s.Or(_gf(_ap("p", i)), _fg(_ap("p", i + 1)))
                         for i in range(1, n + 1)])


def _gxf_and(n: int) -> s.Formula:
    out: s.Formula = _ap("p", n)
    for i in range(n - 1, -1, -1):
        out = s.And(_ap("p", i), s.Next(s.Finally(out)))
    return s.Globally(out)


def _fxg_or(n: int) -> s.Formula:
    out: s.Formula = _ap("p", n)
    for i in range(n - 1, -1, -1):
        out = s.Or(_ap("p", i), s.Next(s.Globally(out)))
    return s.Finally(out)


def _ms_phi_h(n: int) -> s.Formula:
    a: s.Formula = _ap("a")
    b: s.Formula = _ap("b")
    parts: list[s.Formula] = []
    for _ in range(n + 1):
        parts.append(_fg(s.Or(a, b)))
        a = s.Not(a) if isinstance(a, s.Atom) else _ap("a")
        b = s.Next(b)
    return _fold(s.Or, parts)


def _ms_phi_rs(n: int, r: bool) -> s.Formula:
    """``ms-phi-r`` (``r``) or ``ms-phi-s``: levels ``n, n-1, ..., 0`` alternating."""
    def top(i: int, conj: bool) -> s.Formula:
        kind = s.And if conj else s.Or
        return kind(_fg(_ap("a", i)), _gf(_ap("b", i)))

    flags = [r if (n - i) % 2 == 0 else not r for i in range(n + 1)]
    out = top(0, flags[0])
    for i in range(1, n + 1):
        out = s.Or(out, top(i, True)) if flags[i] else s.And(out, top(i, False))
    return out


def _rv_counter(n: int) -> s.Formula:
    """The ``n``-bit counter of Rozier and Vardi: ``m`` marks the least significant bit
    of each ``n``-bit value, the bits ``b`` start at 0, and each value is the previous
    one plus 1 (least significant bit first)."""
    b, m = _ap("b"), _ap("m")
    nb, nm = s.Not(b), s.Not(m)
    marker_steps: list[s.Formula] = [_next(nm, i) for i in range(1, n)] + [_next(m, n)]
    marker = s.And(m, s.Globally(s.Implies(m, _fold(s.And, marker_steps))))
    zero = _fold(s.And, [_next(nb, i) for i in range(n)])
    xn1_b, xn_b = _next(b, n - 1), _next(b, n)
    xn1_nb, xn_nb = _next(nb, n - 1), _next(nb, n)
    copy = s.Until(s.And(nm, s.Equivalent(b, xn_b)), m)
    flip_zero = s.Globally(s.Implies(s.And(m, nb), s.And(s.Next(xn1_b), s.Next(copy))))
    carry = s.Until(
        s.And(s.And(b, nm), xn_nb),
        s.Or(m, s.And(s.And(nm, nb), s.And(s.Next(xn1_b), s.Next(copy)))),
    )
    flip_one = s.Globally(s.Implies(s.And(m, b), s.And(s.Next(xn1_nb), s.Next(carry))))
    return _fold(s.And, [marker, zero, flip_zero, flip_one])


def _binary(kind: type, n: int, right: bool) -> s.Formula:
    atoms = [_ap("p", i) for i in range(1, n + 1)]
    if not right:
        return _fold(kind, atoms)
    out = atoms[-1]
    for a in reversed(atoms[:-1]):
        out = kind(a, out)
    return out


#: Every family by its ``genltl`` option name: ``FAMILIES[name](n)`` is the formula.
FAMILIES: dict[str, Callable[[int], s.Formula]] = {
    "and-f": lambda n: _each(n, s.Finally, s.And),
    "and-fg": lambda n: _each(n, _fg, s.And),
    "and-gf": lambda n: _each(n, _gf, s.And),
    "or-g": lambda n: _each(n, s.Globally, s.Or),
    "or-fg": lambda n: _each(n, _fg, s.Or),
    "or-gf": lambda n: _each(n, _gf, s.Or),
    "ccj-alpha": lambda n: s.And(_chain_f("p", n), _chain_f("q", n)),
    "ccj-beta": lambda n: s.And(s.Finally(_nested_x(_ap("p"), n, s.And)),
                                s.Finally(_nested_x(_ap("q"), n, s.And))),
    "ccj-beta-prime": lambda n: s.And(s.Finally(_spread_x(_ap("p"), n, s.And)),
                                      s.Finally(_spread_x(_ap("q"), n, s.And))),
    "gh-q": _gh_q,
    "gh-r": _gh_r,
    "go-theta": lambda n: s.Not(s.Implies(
        _each(n, _gf, s.And), s.Globally(s.Implies(_ap("q"), s.Finally(_ap("r")))))),
    "gxf-and": _gxf_and,
    "fxg-or": _fxg_or,
    "gf-equiv": lambda n: s.Equivalent(_each(n, _gf, s.And, "a"), _gf(_ap("z"))),
    "gf-implies": lambda n: s.Implies(_each(n, _gf, s.And, "a"), _gf(_ap("z"))),
    "ms-phi-h": _ms_phi_h,
    "ms-phi-r": lambda n: _ms_phi_rs(n, True),
    "ms-phi-s": lambda n: _ms_phi_rs(n, False),
    "rv-counter": _rv_counter,
    "sejk-j": lambda n: s.Implies(_each(n, _gf, s.And, "a"), _each(n, _gf, s.And, "b")),
    "sejk-k": lambda n: _fold(s.And, [s.Or(_gf(_ap("a", i)), _fg(_ap("b", i)))
                                      for i in range(1, n + 1)]),
    "tv-f1": lambda n: s.Globally(s.Implies(_ap("p"), _spread_x(_ap("q"), n, s.Or))),
    "tv-f2": lambda n: s.Globally(s.Implies(_ap("p"), _nested_x(_ap("q"), n, s.Or))),
    "tv-g1": lambda n: s.Globally(s.Implies(_ap("p"), _spread_x(_ap("q"), n, s.And))),
    "tv-g2": lambda n: s.Globally(s.Implies(_ap("p"), _nested_x(_ap("q"), n, s.And))),
    "u-left": lambda n: _binary(s.Until, n, False),
    "u-right": lambda n: _binary(s.Until, n, True),
    "r-left": lambda n: _binary(s.Release, n, False),
    "r-right": lambda n: _binary(s.Release, n, True),
}


def family(name: str, n: int) -> s.Formula:
    """The formula of size ``n`` of the family ``name`` (a key of :data:`FAMILIES`).

    Raises
    ------
    InvalidSpecificationError
        If the family is unknown or ``n`` is not a positive int.

    Examples
    --------
    >>> str(family("gh-q", 2))
    '(Fp1 | Gp2) & (Fp2 | Gp3)'
    >>> str(family("u-left", 3)), str(family("u-right", 3))  # U is right-associative
    ('(p1 U p2) U p3', 'p1 U p2 U p3')
    >>> family("nope", 1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    objspec.errors.InvalidSpecificationError: unknown formula family 'nope'; ...
    """
    if name not in FAMILIES:
        raise InvalidSpecificationError(
            f"unknown formula family {name!r}; known: {', '.join(sorted(FAMILIES))}"
        )
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidSpecificationError(f"a family's size must be a positive int; got {n!r}")
    return FAMILIES[name](n)


#: The specification-pattern sets of Spot's ``genltl`` (``--dac-patterns`` ...), each a tuple
#: of formulas in Spot's syntax, pattern ``n`` at index ``n - 1``; the propositions are named
#: ``p0, p1, ...``. Sources: ``dac`` Dwyer, Avrunin and Corbett (ICSE 1999), 55 patterns;
#: ``eh`` Etessami and Holzmann (CONCUR 2000), 12; ``sb`` Somenzi and Bloem (CAV 2000), 27;
#: ``hkrss`` Holeček, Kratochvíla, Řehák, Šafránek and Šimeček (2004), 55; ``p`` Pelánek
#: (SPIN 2007, the BEEM database), 20. ``benchmarks/bench_ltl.py --patterns`` compares the
#: sizes of objspec's automata for them with Spot's.
PATTERNS: dict[str, tuple[str, ...]] = {
    "dac": (
        "G!p0",
        "Fp2 -> (!p0 U p2)",
        "G(p1 -> G!p0)",
        "G((p1 & !p2 & Fp2) -> (!p0 U p2))",
        "G(p1 & !p2 -> (!p0 W p2))",
        "Fp0",
        "!p2 W (p0 & !p2)",
        "G!p1 | F(p1 & Fp0)",
        "G(p1 & !p2 -> (!p2 W (p0 & !p2)))",
        "G(p1 & !p2 -> (!p2 U (p0 & !p2)))",
        "!p0 W (p0 W (!p0 W (p0 W G!p0)))",
        "Fp2 -> ((!p0 & !p2) U (p2 | ((p0 & !p2) U (p2 | ((!p0 & !p2) U (p2 | ((p0 & !p2) "
        "U (p2 | (!p0 U p2)))))))))",
        "Fp1 -> (!p1 U (p1 & (!p0 W (p0 W (!p0 W (p0 W G!p0))))))",
        "G((p1 & Fp2) -> ((!p0 & !p2) U (p2 | ((p0 & !p2) U (p2 | ((!p0 & !p2) U (p2 | "
        "((p0 & !p2) U (p2 | (!p0 U p2))))))))))",
        "G(p1 -> ((!p0 & !p2) U (p2 | ((p0 & !p2) U (p2 | ((!p0 & !p2) U (p2 | ((p0 & !p2) "
        "U (p2 | (!p0 W p2) | Gp0)))))))))",
        "Gp0",
        "Fp2 -> (p0 U p2)",
        "G(p1 -> Gp0)",
        "G((p1 & !p2 & Fp2) -> (p0 U p2))",
        "G(p1 & !p2 -> (p0 W p2))",
        "!p0 W p3",
        "Fp2 -> (!p0 U (p3 | p2))",
        "G!p1 | F(p1 & (!p0 W p3))",
        "G((p1 & !p2 & Fp2) -> (!p0 U (p3 | p2)))",
        "G(p1 & !p2 -> (!p0 W (p3 | p2)))",
        "G(p0 -> Fp3)",
        "Fp2 -> (p0 -> (!p2 U (p3 & !p2))) U p2",
        "G(p1 -> G(p0 -> Fp3))",
        "G((p1 & !p2 & Fp2) -> ((p0 -> (!p2 U (p3 & !p2))) U p2))",
        "G(p1 & !p2 -> ((p0 -> (!p2 U (p3 & !p2))) W p2))",
        "Fp0 -> (!p0 U (p3 & !p0 & X(!p0 U p4)))",
        "Fp2 -> (!p0 U (p2 | (p3 & !p0 & X(!p0 U p4))))",
        "G!p1 | (!p1 U (p1 & Fp0 -> (!p0 U (p3 & !p0 & X(!p0 U p4)))))",
        "G((p1 & Fp2) -> (!p0 U (p2 | (p3 & !p0 & X(!p0 U p4)))))",
        "G(p1 -> (Fp0 -> (!p0 U (p2 | (p3 & !p0 & X(!p0 U p4))))))",
        "F(p3 & XFp4) -> (!p3 U p0)",
        "Fp2 -> (!(p3 & !p2 & X(!p2 U (p4 & !p2))) U (p2 | p0))",
        "G!p1 | (!p1 U (p1 & (F(p3 & XFp4) -> (!p3 U p0))))",
        "G((p1 & Fp2) -> (!(p3 & !p2 & X(!p2 U (p4 & !p2))) U (p2 | p0)))",
        "G(p1 -> (!(p3 & !p2 & X(!p2 U (p4 & !p2))) U (p2 | p0) | G!(p3 & XFp4)))",
        "G(p3 & XFp4 -> XF(p4 & Fp0))",
        "Fp2 -> (p3 & X(!p2 U p4) -> X(!p2 U (p4 & Fp0))) U p2",
        "G(p1 -> G(p3 & XFp4 -> X(!p4 U (p4 & Fp0))))",
        "G((p1 & Fp2) -> (p3 & X(!p2 U p4) -> X(!p2 U (p4 & Fp0))) U p2)",
        "G(p1 -> (p3 & X(!p2 U p4) -> X(!p2 U (p4 & Fp0))) U (p2 | G(p3 & X(!p2 U p4) -> "
        "X(!p2 U (p4 & Fp0)))))",
        "G(p0 -> F(p3 & XFp4))",
        "Fp2 -> (p0 -> (!p2 U (p3 & !p2 & X(!p2 U p4)))) U p2",
        "G(p1 -> G(p0 -> (p3 & XFp4)))",
        "G((p1 & Fp2) -> (p0 -> (!p2 U (p3 & !p2 & X(!p2 U p4)))) U p2)",
        "G(p1 -> (p0 -> (!p2 U (p3 & !p2 & X(!p2 U p4)))) U (p2 | G(p0 -> (p3 & XFp4))))",
        "G(p0 -> F(p3 & !p5 & X(!p5 U p4)))",
        "Fp2 -> (p0 -> (!p2 U (p3 & !p2 & !p5 & X((!p2 & !p5) U p4)))) U p2",
        "G(p1 -> G(p0 -> (p3 & !p5 & X(!p5 U p4))))",
        "G((p1 & Fp2) -> (p0 -> (!p2 U (p3 & !p2 & !p5 & X((!p2 & !p5) U p4)))) U p2)",
        "G(p1 -> (p0 -> (!p2 U (p3 & !p2 & !p5 & X((!p2 & !p5) U p4)))) U (p2 | G(p0 -> "
        "(p3 & !p5 & X(!p5 U p4)))))",
    ),
    "eh": (
        "p0 U (p1 & Gp2)",
        "p0 U (p1 & X(p2 U p3))",
        "p0 U (p1 & X(p2 & F(p3 & XF(p4 & XF(p5 & XFp6)))))",
        "F(p0 & XGp1)",
        "F(p0 & X(p1 & XFp2))",
        "F(p0 & X(p1 U p2))",
        "FGp0 | GFp1",
        "G(p0 -> (p1 U p2))",
        "G(p0 & XF(p1 & XF(p2 & XFp3)))",
        "GFp0 & GFp1 & GFp2 & GFp3 & GFp4",
        "(p0 U (p1 U p2)) | (p1 U (p2 U p0)) | (p2 U (p0 U p1))",
        "G(p0 -> (p1 U (Gp2 | Gp3)))",
    ),
    "sb": (
        "p0 U p1",
        "p0 U (p1 U p2)",
        "!(p0 U (p1 U p2))",
        "GFp0 -> GFp1",
        "Fp0 U Gp1",
        "Gp0 U p1",
        "!(FFp0 <-> Fp1)",
        "!(GFp0 -> GFp1)",
        "!(GFp0 <-> GFp1)",
        "p0 R (p0 | p1)",
        "(Xp0 U Xp1) | !X(p0 U p1)",
        "(Xp0 U p1) | !X(p0 U (p0 & p1))",
        "G(p0 -> Fp1) & ((Xp0 U p1) | !X(p0 U (p0 & p1)))",
        "G(p0 -> Fp1) & ((Xp0 U Xp1) | !X(p0 U p1))",
        "G(p0 -> Fp1)",
        "!G(p0 -> X(p1 R p2))",
        "!(FGp0 | FGp1)",
        "G(Fp0 & Fp1)",
        "Fp0 & F!p0",
        "(Xp1 & p2) R X(((p3 U p0) R p2) U (p3 R p2))",
        "(G(p1 | GFp0) & G(p2 | GF!p0)) | Gp1 | Gp2",
        "(G(p1 | FGp0) & G(p2 | FG!p0)) | Gp1 | Gp2",
        "!((G(p1 | GFp0) & G(p2 | GF!p0)) | Gp1 | Gp2)",
        "!((G(p1 | FGp0) & G(p2 | FG!p0)) | Gp1 | Gp2)",
        "G(p1 | XGp0) & G(p2 | XG!p0)",
        "G(p1 | (Xp0 & X!p0))",
        "(p0 U p0) | (p1 U p0)",
    ),
    "hkrss": (
        "G(Fp0 & F!p0)",
        "GFp0 & GF!p0",
        "GF(!(p1 <-> Xp1) | !(p0 <-> Xp0))",
        "GF(!(p1 <-> Xp1) | !(p0 <-> Xp0) | !(p2 <-> Xp2) | !(p3 <-> Xp3))",
        "G!p0",
        "G((p0 -> F!p0) & (!p0 -> Fp0))",
        "G(p0 -> F(p0 & p1))",
        "G(p0 -> F((!p0 & p1 & p2 & p3) -> Fp4))",
        "G(p0 -> F!p1)",
        "G(p0 -> Fp1)",
        "G(p0 -> F(p1 -> Fp2))",
        "G(p0 -> F((p1 & p2) -> Fp3))",
        "G((p0 -> Fp1) & (p2 -> Fp3) & (p4 -> Fp5) & (p6 -> Fp7))",
        "G(!p0 & !p1)",
        "G!(p0 & p1)",
        "G(p0 -> p1)",
        "G((p0 -> !p1) & (p1 -> !p0))",
        "G(!p0 -> (p1 <-> !p2))",
        "G((!p0 & (p1 | p2 | p3)) -> p4)",
        "G((p0 & p1) -> (p2 | !(p3 & p4)))",
        "G((!p0 & p1 & !p2 & !p3 & !p4) -> F(!p5 & !p6 & !p7 & !p8))",
        "G((p0 & p1 & !p2 & !p3 & !p4) -> F(p5 & !p6 & !p7 & !p8))",
        "G(!p0 -> !(p1 & p2 & p3 & p4 & p5))",
        "G(!p0 -> ((p1 & p2 & p3 & p4) -> !p5))",
        "G((p0 & p1) -> (p2 | p3 | !(p4 & p5)))",
        "G((!p0 & (p1 | p2 | p3 | p4)) -> (!p5 <-> p6))",
        "G((p0 & p1) -> (p2 | p3 | p4 | !(p5 & p6)))",
        "G((p0 & p1) -> (p2 | p3 | p4 | p5 | !(p6 & p7)))",
        "G((p0 & p1 & !p2 & Xp2) -> X(p3 | X(!p1 | p3)))",
        "G((p0 & p1 & !p2 & Xp2) -> X(X!p1 | (p2 U (!p2 U (p2 U (!p1 | p3))))))",
        "G(p0 & p1 & !p2 & Xp2) -> X(X!p1 | (p2 U (!p2 U (p2 U (!p1 | p3)))))",
        "G(p0 -> (p1 U (!p1 U (!p2 | p3))))",
        "G(p0 -> (p1 U (!p1 U (p2 | p3))))",
        "G((!p0 & p1) -> Xp2)",
        "G(p0 -> X(p0 | p1))",
        "G((!(p1 <-> Xp1) | !(p0 <-> Xp0) | !(p2 <-> Xp2) | !(p3 <-> Xp3)) -> (X!p4 & "
        "X(!(!(p1 <-> Xp1) | !(p0 <-> Xp0) | !(p2 <-> Xp2) | !(p3 <-> Xp3)) U p4)))",
        "G((p0 & !p1 & Xp1 & Xp0) -> (p2 -> Xp3))",
        "G(p0 -> X(!p0 U p1))",
        "G((!p0 & Xp0) -> X((p0 U p1) | Gp0))",
        "G((!p0 & Xp0) -> X(p0 U (p0 & !p1 & X(p0 & p1))))",
        "G((!p0 & Xp0) -> X(p0 U (p0 & !p1 & X(p0 & p1 & (p0 U (p0 & !p1 & X(p0 & p1)))))))",
        "G((p0 & X!p0) -> X(!p0 U (!p0 & !p1 & X(!p0 & p1 & (!p0 U (!p0 & !p1 & "
        "X(!p0 & p1)))))))",
        "G((p0 & X!p0) -> X(!p0 U (!p0 & !p1 & X(!p0 & p1 & (!p0 U (!p0 & !p1 & X(!p0 & p1 "
        "& (!p0 U (!p0 & !p1 & X(!p0 & p1))))))))))",
        "G((!p0 & Xp0) -> X(!(!p0 & Xp0) U (!p1 & Xp1)))",
        "G(!p0 | X(!p0 | X(!p0 | X(!p0 | X(!p0 | X(!p0 | X(!p0 | X(!p0 | X(!p0 | X(!p0 | "
        "X(!p0 | X(!p0 | X!p0))))))))))))",
        "G((Xp0 -> p0) -> (p1 <-> Xp1))",
        "G((Xp0 -> p0) -> ((p1 -> Xp1) & (!p1 -> X!p1)))",
        "!p0 U G!((p1 & p2) | (p3 & p4) | (p2 & p3) | (p2 & p4) | (p1 & p4) | (p1 & p3))",
        "!p0 U p1",
        "(p0 U p1) | Gp0",
        "p0 & XG!p0",
        "XG(p0 -> (G!p1 | (!Xp1 U p2)))",
        "XG((p0 & !p1) -> (G!p1 | (!p1 U p2)))",
        "XG((p0 & p1) -> ((p1 U p2) | Gp1))",
        "Xp0 & G((!p0 & Xp0) -> XXp0)",
    ),
    "p": (
        "G(p0 -> Fp1)",
        "(GFp1 & GFp0) -> GFp2",
        "G(p0 -> (p1 & (p2 U p3)))",
        "F(p0 | p1)",
        "GF(p0 | p1)",
        "(p0 U p1) -> ((p2 U p3) | Gp2)",
        "G(p0 -> (!p1 U (p1 U (!p1 & (p2 R !p1)))))",
        "G(p0 -> (p1 R !p2))",
        "G(!p0 -> Fp0)",
        "G(p0 -> F(p1 | p2))",
        "!(!(p0 | p1) U p2) & G(p3 -> !(!(p0 | p1) U p2))",
        "G!p0 -> G!p1",
        "G(p0 -> (G!p1 | (!p2 U p1)))",
        "G(p0 -> (p1 R (p1 | !p2)))",
        "G((p0 & p1) -> (!p1 R (p0 | !p1)))",
        "G(p0 -> F(p1 & p2))",
        "G(p0 -> (!p1 U (p1 U (p1 & p2))))",
        "G(p0 -> (!p1 U (p1 U (!p1 U (p1 U (p1 & p2))))))",
        "GFp0 -> GFp1",
        "GF(p0 | p1) & GF(p1 | p2)",
    ),
}


def pattern(name: str, n: int) -> s.Formula:
    """Pattern ``n`` (from 1) of the pattern set ``name`` (a key of :data:`PATTERNS`).

    Raises
    ------
    InvalidSpecificationError
        If the set is unknown or ``n`` is outside ``1 .. len(PATTERNS[name])``.

    Examples
    --------
    >>> str(pattern("dac", 2))
    'Fp2 -> !p0 U p2'
    >>> [len(PATTERNS[k]) for k in ("dac", "eh", "sb", "hkrss", "p")]
    [55, 12, 27, 55, 20]
    >>> pattern("sb", 28)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    objspec.errors.InvalidSpecificationError: no pattern sb 28; ...
    """
    if name not in PATTERNS:
        raise InvalidSpecificationError(
            f"unknown pattern set {name!r}; known: {', '.join(sorted(PATTERNS))}"
        )
    texts = PATTERNS[name]
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(texts):
        raise InvalidSpecificationError(
            f"no pattern {name} {n!r}; the set has patterns 1 to {len(texts)}"
        )
    return parse_formula(texts[n - 1])
