"""LTL formulas by increasing size, one per simplifier normal form, Dwyer's patterns first.

The LTL fitter (``objspec.learning.fit("LTL", ...)``) looks for the *smallest* formula whose
satisfaction probabilities order the data as given. This module is its search space:

* :func:`formula_nodes`: the size of a formula, the number of nodes of its syntax tree
  (operators, atoms and constants: ``G(q -> F p)`` has 5);
* :func:`normal_form`: a syntactic normal form: :func:`~objspec.ltl.simplify.simplify` of the
  negation normal form, with the operands of every ``&`` and ``|`` chain sorted. Every step is
  an LTL equivalence, so formulas with the same normal form have the same language (the
  converse does not hold: it is a cheap, sound deduplication, not a decision procedure);
* :func:`dwyer_patterns`: the property specification patterns of Dwyer, Avrunin and Corbett
  ("Patterns in property specifications for finite-state verification", ICSE 1999) in the
  global scope, plus the before/after scopes of absence and existence and the recurrence and
  persistence patterns, instantiated over the propositions;
* :func:`enumerate_formulas`: every formula up to a size, by increasing size, skipping a
  formula whose normal form an earlier one had; at each size the patterns of that size come
  first. Larger formulas are built from the kept representatives only, which loses nothing:
  an equivalence of subformulas is an equivalence of every context they occur in.

Examples
--------
>>> from objspec.ltl.parser import parse_formula
>>> formula_nodes(parse_formula("G(q -> F p)"))
5
>>> str(normal_form(parse_formula("q & !!p"))) == str(normal_form(parse_formula("p & q")))
True
>>> [(n, str(f)) for n, f in enumerate_formulas(["p"], 2)][:5]
[(1, 'p'), (1, 'true'), (1, 'false'), (2, 'Fp'), (2, 'Gp')]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from objspec.errors import InvalidSpecificationError
from objspec.ltl import syntax as s
from objspec.ltl.simplify import negation_normal_form, simplify

__all__ = [
    "formula_nodes",
    "normal_form",
    "dwyer_patterns",
    "enumerate_formulas",
    "UNARY",
    "BINARY",
]

#: The unary operators the search builds formulas with.
UNARY: tuple[type[s.UnaryOperator], ...] = (s.Not, s.Next, s.Finally, s.Globally)
#: The binary operators the search builds formulas with (``&`` and ``|`` are commutative:
#: one operand order is built).
BINARY: tuple[type[s.BinaryOperator], ...] = (s.And, s.Or, s.Implies, s.Until, s.WeakUntil,
                                              s.Release)
_COMMUTATIVE = (s.And, s.Or)


def formula_nodes(f: s.Formula) -> int:
    """The number of nodes of ``f``'s syntax tree (operators, atoms and constants).

    Examples
    --------
    >>> from objspec.ltl.parser import parse_formula
    >>> formula_nodes(parse_formula("p")), formula_nodes(parse_formula("!q U p"))
    (1, 4)
    """
    count = 0
    stack = [f]
    while stack:
        g = stack.pop()
        count += 1
        stack.extend(g.children())
    return count


def _sorted_junctions(f: s.Formula) -> s.Formula:
    """``f`` with the operands of every ``&``/``|`` chain sorted by their text (recursively)."""
    kids = f.children()
    if not kids:
        return f
    if isinstance(f, _COMMUTATIVE):
        kind = type(f)
        parts: list[s.Formula] = []
        stack: list[s.Formula] = [f]
        while stack:
            g = stack.pop()
            if type(g) is kind:
                stack.extend(g.children())
            else:
                parts.append(_sorted_junctions(g))
        parts = sorted(set(parts), key=str)
        out = parts[0]
        for p in parts[1:]:
            out = kind(out, p)
        return out
    new = tuple(_sorted_junctions(k) for k in kids)
    return type(f)(*new)


def normal_form(f: s.Formula) -> s.Formula:
    """A syntactic normal form of ``f``: simplified negation normal form, ``&``/``|``
    operands sorted. Equal normal forms mean equivalent formulas.

    Examples
    --------
    >>> from objspec.ltl.parser import parse_formula
    >>> str(normal_form(parse_formula("!F p"))), str(normal_form(parse_formula("q -> p")))
    ('G!p', '!q | p')
    """
    return _sorted_junctions(simplify(negation_normal_form(f)))


def _pattern_texts(props: Sequence[str]) -> list[str]:
    out: list[str] = []
    for p in props:
        out += [f"F {p}", f"G {p}", f"G !{p}", f"G F {p}", f"F G {p}"]
    for p in props:
        for q in props:
            if p == q:
                continue
            out += [
                f"!{p} W {q}",            # precedence: q precedes p
                f"!{q} U {p}",            # existence of p, q absent until then
                f"G({q} -> F {p})",       # response: q is answered by p
                f"G({q} -> G !{p})",      # absence of p after q
                f"F {q} -> (!{p} U {q})",  # absence of p before q
                f"G({q} -> F G {p})",     # persistence after q
                f"!{q} W ({p} & !{q})",   # existence of p before q
            ]
    return out


def dwyer_patterns(propositions: Sequence[str]) -> list[s.Formula]:
    """Dwyer et al.'s specification patterns over ``propositions``, smallest first.

    Global scope: absence ``G !p``, existence ``F p``, universality ``G p``, precedence
    ``!p W q`` (``q`` precedes ``p``), response ``G(q -> F p)``, existence until ``!q U p``;
    scoped: absence after ``G(q -> G !p)``, absence before ``F q -> (!p U q)``, existence
    before ``!q W (p & !q)``, persistence after ``G(q -> F G p)``; recurrence ``G F p`` and
    persistence ``F G p``.

    Examples
    --------
    >>> [str(f) for f in dwyer_patterns(["p"])]
    ['Fp', 'Gp', 'G!p', 'GFp', 'FGp']
    """
    from objspec.ltl.parser import parse_formula

    names = _atom_names(propositions)
    atoms = {n: f"p{i}" for i, n in enumerate(names)}
    out: list[s.Formula] = []
    for text in _pattern_texts([atoms[n] for n in names]):
        f = parse_formula(text)
        out.append(_rename(f, {v: k for k, v in atoms.items()}))
    return sorted(out, key=formula_nodes)


def _rename(f: s.Formula, names: dict[str, str]) -> s.Formula:
    if isinstance(f, s.Atom):
        return s.Atom(names.get(f.name, f.name))
    kids = f.children()
    if not kids:
        return f
    return type(f)(*(_rename(k, names) for k in kids))


def _atom_names(propositions: Sequence[str]) -> list[str]:
    if isinstance(propositions, str):
        raise InvalidSpecificationError(
            "propositions must be a sequence of names, not one string")
    names = list(dict.fromkeys(propositions))
    for n in names:
        if not isinstance(n, str) or not n or '"' in n:
            raise InvalidSpecificationError(f"proposition {n!r} is not a valid atom name")
    return names


def enumerate_formulas(
    propositions: Sequence[str],
    max_size: int,
    *,
    patterns: bool = True,
    stop: Callable[[], bool] | None = None,
) -> Iterator[tuple[int, s.Formula]]:
    """``(size, formula)`` for every formula of at most ``max_size`` nodes, up to normal form.

    Sizes increase; within a size, Dwyer's patterns (:func:`dwyer_patterns`) of that size
    come first, then the others (atoms ``propositions``, ``true``, ``false``; operators
    :data:`UNARY` and :data:`BINARY`). A formula is skipped when an earlier one has the same
    :func:`normal_form`. ``stop()``, when given, is asked between formulas; the enumeration
    ends when it returns True.

    Examples
    --------
    >>> sizes = [n for n, _ in enumerate_formulas(["p", "q"], 3)]
    >>> sizes == sorted(sizes), sizes.count(1)
    (True, 4)
    """
    names = _atom_names(propositions)
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
        raise InvalidSpecificationError(f"max_size={max_size!r} must be an integer >= 1")
    seen: set[s.Formula] = set()
    reps: dict[int, list[s.Formula]] = {}
    seeds: dict[int, list[s.Formula]] = {}
    if patterns:
        for f in dwyer_patterns(names):
            seeds.setdefault(formula_nodes(f), []).append(f)

    def keep(f: s.Formula, size: int) -> bool:
        key = normal_form(f)
        if key in seen:
            return False
        seen.add(key)
        reps.setdefault(size, []).append(f)
        return True

    for size in range(1, max_size + 1):
        reps.setdefault(size, [])
        for f in seeds.get(size, ()):
            if stop is not None and stop():
                return
            if keep(f, size):
                yield size, f
        for f in _candidates(names, size, reps):
            if stop is not None and stop():
                return
            if keep(f, size):
                yield size, f


def _candidates(names: list[str], size: int, reps: dict[int, list[s.Formula]]
                ) -> Iterator[s.Formula]:
    if size == 1:
        yield from (s.Atom(n) for n in names)
        yield s.TRUE
        yield s.FALSE
        return
    for op in UNARY:
        for g in list(reps[size - 1]):
            yield op(g)
    for op2 in BINARY:
        for k in range(1, size - 1):
            m = size - 1 - k
            if op2 in _COMMUTATIVE and k > m:
                continue
            left, right = list(reps[k]), list(reps[m])
            for i, g in enumerate(left):
                for j, h in enumerate(right):
                    if op2 in _COMMUTATIVE and k == m and j <= i:
                        continue
                    yield op2(g, h)
