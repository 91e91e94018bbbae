"""The precomputed LALR tables of the LTL parser (objspec/ltl/_parser_tables.py): current
for the grammar, and parsing exactly as the parser lark builds from the grammar."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Lark
from ltl_strategies import formulas

from objspec.errors import LTLSyntaxError
from objspec.ltl import _parser_tables
from objspec.ltl import parser as module
from objspec.ltl import syntax as s


def _built() -> Lark:
    return Lark(module._GRAMMAR, **module._LARK_OPTIONS, transformer=module._Builder())


def test_the_tables_are_current() -> None:
    """Fails after a change of the grammar or of lark: run
    ``python scripts/generate_parser_tables.py`` (until then the parser is built from the
    grammar, correctly but slowly)."""
    assert _parser_tables.DIGEST == module.grammar_digest()
    # lark numbers the LALR states differently from run to run (set iteration order), so
    # the tables are compared by what they parse (below), not as text


def test_the_loaded_parser_is_used() -> None:
    module._parser.cache_clear()
    try:
        parser = module._parser()
        assert parser is module._parser()
        assert parser.parse("G F p & F G !q") == _built().parse("G F p & F G !q")
    finally:
        module._parser.cache_clear()


@settings(max_examples=200, deadline=None)
@given(formulas(4, ("a", "b", "c")))
def test_loaded_and_built_parsers_agree(f: s.Formula) -> None:
    text = str(f)
    assert module._parser().parse(text) == _built().parse(text)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="abFGXUWRM!&|()<->^ tru10\"", max_size=20))
def test_loaded_and_built_parsers_fail_alike(text: str) -> None:
    built = _built()
    try:
        want = built.parse(text)
    except Exception as exc:  # the same lark exception, at the same place, expecting the
        # same tokens (lark lists them in set order, which varies between parsers)
        with pytest.raises(type(exc)) as got:
            module._parser().parse(text)
        for attribute in ("pos_in_stream", "token", "expected", "allowed"):
            assert getattr(got.value, attribute, None) == getattr(exc, attribute, None)
        return
    assert module._parser().parse(text) == want


def test_syntax_errors_keep_their_positions() -> None:
    with pytest.raises(LTLSyntaxError, match="position 12"):
        module.parse_formula("p xor q -> X[2] p")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet='abxFGXU!~&|()<>[] \t\n"truefalsxo_1', max_size=16))
def test_prefix_chains_read_without_the_parser_as_the_parser_reads_them(text: str) -> None:
    # parse_formula reads prefix operators on one atom without lark: wherever that fast
    # path answers, it is the parser's formula; anything else it leaves to the parser
    fast = module._prefix_chain(text)
    if fast is None:
        return
    assert fast == _built().parse(text)


@pytest.mark.parametrize("text", ['F "a b"', "G !bad", "X X X X X p", "Fa", "<> [] ~x",
                                  ' F\tG  "q" ', "FGXa1_B", "! ! a", "F truex"])
def test_prefix_chains_take_the_fast_path(text: str) -> None:
    fast = module._prefix_chain(text)
    assert fast is not None or text == "F truex"  # a keyword's prefix: the parser's
    assert module.parse_formula(text) == _built().parse(text)


@pytest.mark.parametrize("text", ["F true", "G (a)", "F a U b", "X 1", "F", "a b",
                                  "F xor", "!", 'F ""'])
def test_other_texts_are_left_to_the_parser(text: str) -> None:
    assert module._prefix_chain(text) is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["!", "~", "X", "F", "G", "<>", "[]"]), max_size=6),
       st.lists(st.sampled_from(["", " ", "\t", "\n"]), min_size=8, max_size=8),
       st.sampled_from(["a", "p_1", "aUb", '"a b"', '"!"', "truex", "xorg", "_x"]))
def test_composed_prefix_chains_agree_with_the_parser(
    operators: list[str], spaces: list[str], atom: str
) -> None:
    text = spaces[0] + "".join(op + spaces[1 + i % 7] for i, op in enumerate(operators))
    text += atom + spaces[-1]
    fast = module._prefix_chain(text)
    assert fast is not None or atom in ("truex", "xorg")
    if fast is not None:
        assert fast == _built().parse(text)
