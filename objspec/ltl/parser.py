"""A lark parser for LTL in Spot's syntax, and for propositional guards.

Parsing is iterative (LALR, formulas built at each reduction), so there is no limit on the
nesting depth or the number of operands beyond memory.

Grammar (loosest first, as in Spot): ``->`` and ``<->`` (right-associative), ``|``, ``xor``,
``&`` (left-associative), the binary temporal operators ``U R W M`` (right-associative), then the
prefix operators ``! X F G``, which bind tighter than every binary operator. Atoms are
``[a-z_][a-zA-Z0-9_]*`` or double-quoted strings; ``true``/``false`` (also ``1``/``0``) are
constants. Spot's alternative spellings ``&&``, ``||``, ``=>``, ``<=>``, ``^``, ``~``, ``[]`` and
``<>`` are accepted too.

Examples
--------
>>> from objspec.ltl.parser import parse_formula
>>> str(parse_formula("G (request -> F grant)"))
'G(request -> Fgrant)'
>>> parse_formula("a U b U c") == parse_formula("a U (b U c)")
True
>>> parse_formula("F a U b") == parse_formula("(F a) U b")
True
>>> parse_formula("a &")
Traceback (most recent call last):
...
objspec.errors.LTLSyntaxError: unexpected end of formula at position 3:
  a &
     ^
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from objspec.errors import InvalidSpecificationError, LTLSyntaxError
from objspec.ltl import syntax as s
from objspec.ltl.caches import register_cache

__all__ = ["parse_formula", "parse_guard", "check_propositions"]

_GRAMMAR = r"""
?start: implication

?implication: disjunction
    | disjunction IMPLIES implication     -> implies
    | disjunction EQUIV implication       -> equivalent

?disjunction: exclusive
    | disjunction OR exclusive            -> or_

?exclusive: conjunction
    | exclusive XOR conjunction           -> xor
    | exclusive CARET conjunction         -> xor

?conjunction: temporal
    | conjunction AND temporal            -> and_

?temporal: unary
    | unary UNTIL temporal                -> until
    | unary RELEASE temporal              -> release
    | unary WEAKUNTIL temporal            -> weak_until
    | unary STRONGRELEASE temporal        -> strong_release

?unary: primary
    | NOT unary                           -> not_
    | NEXT unary                          -> next_
    | FINALLY unary                       -> finally_
    | GLOBALLY unary                      -> globally

?primary: NAME                            -> atom
    | ESCAPED_NAME                        -> quoted_atom
    | TRUE                                -> true
    | ONE                                 -> true
    | FALSE                               -> false
    | ZERO                                -> false
    | "(" implication ")"

IMPLIES: "->" | "=>"
EQUIV: "<->" | "<=>"
OR: "||" | "|"
XOR: "xor"
CARET: "^"
AND: "&&" | "&"
UNTIL: "U"
RELEASE: "R" | "V"
WEAKUNTIL: "W"
STRONGRELEASE: "M"
NOT: "!" | "~"
NEXT: "X"
FINALLY: "F" | "<>"
GLOBALLY: "G" | "[]"
TRUE: "true"
ONE: "1"
FALSE: "false"
ZERO: "0"
NAME: /[a-z_][a-zA-Z0-9_]*/
ESCAPED_NAME: /"[^"]+"/

%import common.WS
%ignore WS
"""

class _Builder(Transformer[Token, s.Formula]):
    def atom(self, items: list[Token]) -> s.Formula:
        return s.Atom(str(items[0]))

    def quoted_atom(self, items: list[Token]) -> s.Formula:
        return s.Atom(str(items[0])[1:-1])

    def true(self, items: list[Token]) -> s.Formula:
        return s.TRUE

    def false(self, items: list[Token]) -> s.Formula:
        return s.FALSE

    def not_(self, items: list[s.Formula]) -> s.Formula:
        return s.Not(items[1])

    def next_(self, items: list[s.Formula]) -> s.Formula:
        return s.Next(items[1])

    def finally_(self, items: list[s.Formula]) -> s.Formula:
        return s.Finally(items[1])

    def globally(self, items: list[s.Formula]) -> s.Formula:
        return s.Globally(items[1])

    def implies(self, items: list[s.Formula]) -> s.Formula:
        return s.Implies(items[0], items[2])

    def equivalent(self, items: list[s.Formula]) -> s.Formula:
        return s.Equivalent(items[0], items[2])

    def or_(self, items: list[s.Formula]) -> s.Formula:
        return s.Or(items[0], items[2])

    def xor(self, items: list[s.Formula]) -> s.Formula:
        return s.Xor(items[0], items[2])

    def and_(self, items: list[s.Formula]) -> s.Formula:
        return s.And(items[0], items[2])

    def until(self, items: list[s.Formula]) -> s.Formula:
        return s.Until(items[0], items[2])

    def release(self, items: list[s.Formula]) -> s.Formula:
        return s.Release(items[0], items[2])

    def weak_until(self, items: list[s.Formula]) -> s.Formula:
        return s.WeakUntil(items[0], items[2])

    def strong_release(self, items: list[s.Formula]) -> s.Formula:
        return s.StrongRelease(items[0], items[2])


_LARK_OPTIONS: dict[str, Any] = {"parser": "lalr", "lexer": "basic",
                                 "maybe_placeholders": False}


def grammar_digest() -> str:
    """SHA-256 of the grammar, the lark version and the parser options: the key of the
    precomputed parser tables (:mod:`objspec.ltl._parser_tables`)."""
    import hashlib

    import lark

    key = repr((_GRAMMAR, lark.__version__, sorted(_LARK_OPTIONS.items())))
    return hashlib.sha256(key.encode()).hexdigest()


def parser_tables() -> tuple[Any, Any]:
    """The LALR tables of the grammar, computed by lark (tens of milliseconds), as the plain
    data (dicts, lists, strings, numbers) that ``Lark.memo_serialize`` gives; written to
    :mod:`objspec.ltl._parser_tables` by ``python scripts/generate_parser_tables.py`` and
    checked against it by the tests."""
    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    return Lark(_GRAMMAR, **_LARK_OPTIONS).memo_serialize([TerminalDef, Rule])


@lru_cache(maxsize=1)
def _parser() -> Lark:
    # The LALR parser calls the builder at each reduction (lark's inline transformer), so
    # formulas are built bottom-up with the parser's explicit stack: no parse tree, and no
    # recursive tree walk, whatever the nesting depth. Building the LALR tables takes lark
    # tens of milliseconds (more than a whole Pmax on a 2,000-state MDP), so they are
    # loaded from the precomputed module when it was made from this grammar, lark version
    # and options (else built here).
    from objspec.ltl import _parser_tables as tables

    if tables.DIGEST == grammar_digest():
        data, memo = json.loads(tables.TABLES, object_hook=_integer_keys)
        return Lark._load_from_dict(data, memo, transformer=_Builder())
    return Lark(_GRAMMAR, **_LARK_OPTIONS, transformer=_Builder())


def _integer_keys(obj: dict[str, Any]) -> dict[Any, Any]:
    """JSON object keys back to the integers they were (state and memo numbers; lark's
    terminal and rule names are never all digits)."""
    return {int(k) if k.isdigit() else k: v for k, v in obj.items()}


def parser_tables_json() -> str:
    """:func:`parser_tables` as the JSON text stored in :mod:`objspec.ltl._parser_tables`
    (one string constant: compiling and loading it takes well under a millisecond)."""
    return json.dumps(parser_tables(), sort_keys=True, separators=(",", ":"))


def write_parser_tables(path: str) -> None:
    """Write the module :mod:`objspec.ltl._parser_tables` (``DIGEST``, ``TABLES``) to
    ``path``."""
    with open(path, "w", encoding="utf-8") as out:
        out.write('"""LALR tables of the grammar of objspec.ltl.parser (JSON), generated by\n'
                  '``python scripts/generate_parser_tables.py``: do not edit; regenerate '
                  'after changing\nthe grammar or upgrading lark (a stale table is not used: '
                  'the parser is then built\nfrom the grammar)."""\n\n')
        out.write("# ruff: noqa\n")
        out.write(f"DIGEST = {grammar_digest()!r}\n")
        out.write(f"TABLES = {parser_tables_json()!r}\n")


def _describe(token: Token) -> str:
    if token.type in ("NAME", "ESCAPED_NAME"):
        return f"atom {str(token)!r}"
    return repr(str(token))


#: Prefix operators applied to one atom (``F "goal"``, ``G !bad``, ``X X p``): the commonest
#: formulas, read without the LALR parser. Whitespace is the grammar's (``common.WS``);
#: the atom is a quoted name or a bare name that does not begin with the keywords ``true``,
#: ``false`` or ``xor`` (those, and everything else, go to the parser).
_PREFIX_CHAIN = re.compile(
    r'[ \t\f\r\n]*((?:(?:[!~XFG]|<>|\[\])[ \t\f\r\n]*)*)'
    r'("[^"]+"|[a-z_][a-zA-Z0-9_]*)[ \t\f\r\n]*')
_PREFIX_OPERATOR = re.compile(r"[!~XFG]|<>|\[\]")
_PREFIX_BUILD: dict[str, Any] = {"!": s.Not, "~": s.Not, "X": s.Next, "F": s.Finally,
                                 "<>": s.Finally, "G": s.Globally, "[]": s.Globally}


def _prefix_chain(text: str) -> s.Formula | None:
    """The formula of ``text`` if it is prefix operators (``! ~ X F G <> []``) applied to
    one atom, built as the parser builds it; else None."""
    match = _PREFIX_CHAIN.fullmatch(text)
    if match is None:
        return None
    name = match.group(2)
    if name.startswith(("true", "false", "xor")):  # the lexer may split these
        return None
    formula: s.Formula = s.Atom(name[1:-1] if name.startswith('"') else name)
    for operator in reversed(_PREFIX_OPERATOR.findall(match.group(1))):
        formula = _PREFIX_BUILD[operator](formula)
    return formula


@lru_cache(maxsize=4096)
def _parse_cached(text: str) -> s.Formula:
    if not text.strip():
        # LTLSyntaxError appends "at position ..." only for non-empty text
        raise LTLSyntaxError("empty formula" if text else "empty formula at position 0", text, 0)
    fast = _prefix_chain(text)
    if fast is not None:
        return fast
    try:
        result = _parser().parse(text)
    except UnexpectedEOF:
        raise LTLSyntaxError("unexpected end of formula", text, len(text)) from None
    except UnexpectedToken as exc:
        token = exc.token
        if token.type == "$END":
            raise LTLSyntaxError("unexpected end of formula", text, len(text)) from None
        pos = token.start_pos if token.start_pos is not None else 0
        raise LTLSyntaxError(f"unexpected {_describe(token)}", text, pos) from None
    except UnexpectedCharacters as exc:
        pos = exc.pos_in_stream or 0
        raise LTLSyntaxError(f"unexpected character {text[pos]!r}", text, pos) from None
    except UnexpectedInput as exc:  # any other lark error carries a position too
        pos = getattr(exc, "pos_in_stream", 0) or 0
        raise LTLSyntaxError(f"cannot parse: {exc}", text, pos) from None
    assert isinstance(result, s.Formula)
    return result


register_cache(_parse_cached.cache_clear)


def parse_formula(text: str | s.Formula) -> s.Formula:
    """Parse an LTL formula written in Spot's syntax.

    Parameters
    ----------
    text : str or Formula
        The formula; a :class:`~objspec.ltl.syntax.Formula` is returned unchanged.

    Returns
    -------
    Formula
        The immutable syntax tree.

    Raises
    ------
    LTLSyntaxError
        With the zero-based ``position`` of the offending character or token.

    Examples
    --------
    >>> parse_formula('G F "a b" & X !c')
    And(Globally(Finally(Atom('a b'))), Next(Not(Atom('c'))))
    """
    if isinstance(text, s.Formula):
        return text
    if not isinstance(text, str):
        raise InvalidSpecificationError(
            f"an LTL formula must be a string or a Formula; got {type(text).__name__}"
        )
    return _parse_cached(text)


def parse_guard(text: str | s.Formula) -> s.Formula:
    """Parse a propositional guard (an LTL formula without temporal operators).

    Python's ``True``/``False`` (as written in reward_machines files) are accepted as
    ``true``/``false``.

    Raises
    ------
    LTLSyntaxError
        If the text does not parse or contains a temporal operator (with its position).

    Examples
    --------
    >>> str(parse_guard("a & !b | True"))
    'a & !b | true'
    >>> parse_guard("F a")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    objspec.errors.LTLSyntaxError: a guard must be propositional; found ... 'F' at position 0:
      F a
      ^
    """
    if isinstance(text, s.Formula):
        formula = text
        source = str(text)
    else:
        if not isinstance(text, str):
            raise InvalidSpecificationError(
                f"a guard must be a string or a Formula; got {type(text).__name__}"
            )
        source = text
        normalised = _replace_python_constants(text)
        formula = parse_formula(normalised)
    for sub in formula.subformulas():
        if isinstance(sub, s.UnaryOperator | s.BinaryOperator) and sub.temporal:
            pos = _find_operator(source, sub.symbol)
            raise LTLSyntaxError(
                f"a guard must be propositional; found the temporal operator {sub.symbol!r}",
                source,
                pos,
            )
    return formula


def _replace_python_constants(text: str) -> str:
    out = []
    i = 0
    while i < len(text):
        if text[i] == '"':
            j = text.find('"', i + 1)
            j = len(text) - 1 if j < 0 else j
            out.append(text[i : j + 1])
            i = j + 1
            continue
        for word in ("True", "False"):
            end = i + len(word)
            before_ok = i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")
            after_ok = end >= len(text) or not (text[end].isalnum() or text[end] == "_")
            if text.startswith(word, i) and before_ok and after_ok:
                out.append(word.lower())
                i = end
                break
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _find_operator(text: str, symbol: str) -> int:
    in_quote = False
    for i, ch in enumerate(text):
        if ch == '"':
            in_quote = not in_quote
        elif not in_quote and ch == symbol:
            return i
    return 0


def check_propositions(formula: s.Formula, propositions: Iterable[str], what: str) -> None:
    """Raise if ``formula`` mentions a proposition that is not in ``propositions``.

    Examples
    --------
    >>> check_propositions(parse_formula("F goal"), ["goal"], "formula")
    >>> check_propositions(parse_formula("F gaol"), ["goal"], "formula")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    objspec.errors.InvalidSpecificationError: formula mentions the proposition 'gaol', ...
    """
    known = set(propositions)
    missing = sorted(formula.atoms() - known)
    if missing:
        have = ", ".join(repr(p) for p in sorted(known)) or "none"
        names = ", ".join(repr(m) for m in missing)
        noun = "proposition" if len(missing) == 1 else "propositions"
        raise InvalidSpecificationError(
            f"{what} mentions the {noun} {names}, which the environment does not have "
            f"(its propositions: {have})"
        )
