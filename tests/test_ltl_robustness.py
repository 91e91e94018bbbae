"""LTL robustness: formulas of any depth or width, nested co-safety under G F, budgets.

Deep formulas (a thousand nested ``X``, 500 nested ``G F``, 2,000 operands of ``! & |``)
must be parsed, printed, compared, hashed, simplified and translated without Python
recursion; ``G F`` of nested co-safety (and ``F G`` of nested safety) must translate to
its small automaton; and ``translate`` must stop with a named error at its budget.
"""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest
from ltl_reference import holds_on_lasso

from objspec.errors import InvalidSpecificationError, ObjspecError, TranslationLimitError
from objspec.ltl import syntax as s
from objspec.ltl.parser import parse_formula
from objspec.ltl.simplify import negation_normal_form, simplify
from objspec.ltl.translation import HOA_ADVICE, translate

DEEP = {
    "next": ("X " * 1000 + "a", 1001),
    "recurrence": ("G F " * 500 + "a", 1001),
    "negation": ("!" * 2000 + "a", 2001),
    "conjunction": (" & ".join(f"p{i % 10}" for i in range(2000)), 2000),
    "disjunction": (" | ".join(f"p{i % 10}" for i in range(2000)), 2000),
    "parentheses": ("(" * 2000 + "a" + ")" * 2000, 1),
    "until": (" U ".join(f"p{i % 3}" for i in range(2000)), 2000),
}


@pytest.mark.parametrize("name", sorted(DEEP))
def test_deep_formulas_parse_print_compare_and_hash(name: str) -> None:
    text, depth = DEEP[name]
    f = parse_formula(text)
    assert f.depth() == depth
    again = parse_formula(text + " ")  # not the cached object
    assert f is not again and f == again and hash(f) == hash(again)
    assert {f: 1}[again] == 1
    assert parse_formula(str(f)) == f
    assert repr(f).count("(") >= depth - 1
    assert len(f.to_storm()) > len(str(f)) // 2
    assert len(f.subformulas()) <= f.size() + 10
    copy = pickle.loads(pickle.dumps(parse_formula("X " * 50 + "(a U !b)")))
    assert copy == parse_formula("X " * 50 + "(a U !b)")
    assert hash(copy) == hash(parse_formula("X " * 50 + "(a U !b)"))


def test_deep_formulas_differing_at_the_bottom_are_unequal() -> None:
    f, g = parse_formula("X " * 1000 + "a"), parse_formula("X " * 1000 + "b")
    assert f != g and not (f == g)
    assert parse_formula("!" * 2000 + "a") != parse_formula("!" * 2001 + "a")


@pytest.mark.parametrize(
    ("name", "simplified"),
    [("recurrence", "GFa"), ("negation", "a"),
     ("conjunction", " & ".join(f"p{i}" for i in range(10))),
     ("disjunction", " | ".join(f"p{i}" for i in range(10)))],
)
def test_deep_formulas_simplify(name: str, simplified: str) -> None:
    f = parse_formula(DEEP[name][0])
    assert str(simplify(f)) == simplified
    assert str(negation_normal_form(s.Not(f))) == str(
        negation_normal_form(s.Not(parse_formula(simplified)))
    )


def test_deep_next_chains_simplify_and_translate() -> None:
    f = parse_formula(DEEP["next"][0])
    assert simplify(f) == f
    assert str(simplify(parse_formula("G " + "X " * 1000 + "F a"))) == "GFa"
    assert simplify(parse_formula("F " + "X " * 1000 + "a")) == parse_formula(
        "X " * 1000 + "F a"
    )
    merged = simplify(parse_formula("X " * 1000 + "a & " + "X " * 1000 + "b"))
    assert merged == parse_formula("X " * 1000 + "(a & b)")
    aut = translate(f)
    letter_a, empty = frozenset({"a"}), frozenset[str]()
    assert aut.accepts_lasso([empty] * 1000 + [letter_a], [empty])
    assert not aut.accepts_lasso([empty] * 999 + [letter_a], [empty])


@pytest.mark.parametrize("name", ["recurrence", "negation", "conjunction", "disjunction"])
def test_deep_formulas_translate(name: str) -> None:
    f = parse_formula(DEEP[name][0])
    aut = translate(f)
    g = simplify(f)
    props = sorted(f.atoms())
    rng = np.random.default_rng(3)
    for _ in range(20):
        prefix = [frozenset(p for p in props if rng.random() < 0.5) for _ in range(2)]
        cycle = [frozenset(p for p in props if rng.random() < 0.5) for _ in range(2)]
        assert aut.accepts_lasso(prefix, cycle) == holds_on_lasso(g, prefix, cycle)


def test_deep_formulas_under_x_are_decomposed_without_recursion() -> None:
    aut = translate("X " * 500 + "(G (a -> F b) & F G c)")
    assert aut.n_states >= 500
    a, b, c = frozenset("a"), frozenset("b"), frozenset("c")
    assert aut.accepts_lasso([frozenset()] * 500, [a | c, b | c])
    assert not aut.accepts_lasso([frozenset()] * 500, [a | c, c])


def _nested(k: int, outer: str, inner: str, atom: str = "p") -> str:
    text = f"{atom}{k - 1}"
    for i in range(k - 2, -1, -1):
        text = f"{atom}{i} {outer} {inner} ({text})"
    return text


def test_recurrence_of_nested_cosafety_is_small() -> None:
    # 9 fixpoint operators; the master theorem's product of one monitor per F took
    # minutes and gigabytes; the restarted co-safety monitor has one state per stage;
    # G F (p & F q) = G F p & G F q makes it one state with a set per proposition (Spot's)
    f = parse_formula(f"G F ({_nested(8, '&', 'F')})")
    aut = translate(f, max_states=1_000)
    assert aut.n_states == 1 and aut.n_sets == 8
    monitor = translate(f"G F (a & X ({_nested(6, '&', 'F')}))", max_states=1_000)
    assert monitor.n_states <= 8 and str(monitor.acceptance) == "Inf(0)"
    letters = [frozenset({f"p{i}"}) for i in range(8)]
    assert aut.accepts_lasso([], letters)
    assert aut.accepts_lasso([], letters[::-1])  # p0 ... p7 across iterations of the cycle
    assert not aut.accepts_lasso([], letters[:3] + letters[4:])
    assert not aut.accepts_lasso(letters * 3, [frozenset()])


def test_persistence_of_nested_safety_is_small() -> None:
    f = parse_formula(f"F G ({_nested(8, '|', 'G', 'q')})")
    aut = translate(f, max_states=1_000)
    assert aut.n_states == 8 and str(aut.acceptance) == "Fin(0)"


def test_response_with_nested_cosafety_is_small() -> None:
    # G (a -> F (p0 & F (p1 & ...))): one breakpoint monitor instead of the master
    # theorem's product of a monitor per F (80 states at depth 5, minutes at depth 8)
    f = parse_formula(f"G (a -> F ({_nested(8, '&', 'F')}))")
    aut = translate(f, max_states=2_000)
    assert aut.n_states <= 40 and str(aut.acceptance) == "Inf(0)"
    letters = [frozenset({f"p{i}"}) for i in range(8)]
    request = frozenset({"a"})
    assert aut.accepts_lasso([], [request] + letters)
    assert not aut.accepts_lasso([request], [frozenset()])
    assert not aut.accepts_lasso([], [request] + letters[:5] + letters[6:])
    assert aut.accepts_lasso([request] + letters, [frozenset()])


ATOMS = ("a", "b", "c")
LETTERS = [frozenset(x) for r in range(4) for x in itertools.combinations(ATOMS, r)]


def _words() -> list[tuple[list[frozenset[str]], list[frozenset[str]]]]:
    rng = np.random.default_rng(11)
    return [([LETTERS[i] for i in rng.integers(0, 8, size=rng.integers(0, 4))],
             [LETTERS[i] for i in rng.integers(0, 8, size=rng.integers(1, 5))])
            for _ in range(300)]


WORDS = _words()


@pytest.mark.parametrize(
    "text",
    [
        "G F (a & F (b & F c))",
        "G F (a & X F (b & X c))",
        "G F (a U (b & F !c))",
        "G F ((a | X b) M (c & F a))",
        "G F (X X a & F (b & X !c))",
        "F G (a | G (b | G c))",
        "F G (a R (b | X G !c))",
        "F G ((a & X b) W (c | G !a))",
        "G F (a & F (b & F c)) & F G (!a | X G b)",
        "G F (a & F b) | F G (c | G a)",
        "G (a -> F (b & F c))",
        "G (a -> F (b & F (c & F a)))",
        "G (a -> F (b | X X c))",
        "G (a -> (F b & F c))",
        "G (!a | X X F b)",
        "G ((a U b) | X (c M b))",
        "G (a -> F (b & F c)) & G F (a & F (c & X b))",
        "X X G F (a & F (b & X c))",
    ],
)
def test_recurrence_and_persistence_parts_keep_the_language(text: str) -> None:
    f = parse_formula(text)
    aut = translate(f, ATOMS)
    for prefix, cycle in WORDS:
        assert aut.accepts_lasso(prefix, cycle) == holds_on_lasso(f, prefix, cycle), (
            text, prefix, cycle
        )


def test_translate_stops_at_max_states_with_a_pointer_to_hoa() -> None:
    # a formula of its own: an automaton already cached (docs/ltl.md translates
    # "G (a -> X X X X b)") is returned whatever the budget
    with pytest.raises(TranslationLimitError, match="max_states") as info:
        translate("G (b -> X X X X a)", max_states=5)
    message = str(info.value)
    assert "too large for the built-in translator" in message
    assert "ltl2tgba" in message and "DeterministicAutomaton.from_hoa" in message
    assert HOA_ADVICE in message
    assert isinstance(info.value, InvalidSpecificationError)
    assert isinstance(info.value, ObjspecError)
    # within the budget the same formula translates (and is then cached)
    assert translate("G (b -> X X X X a)").n_states > 5


def test_translate_stops_at_its_time_limit() -> None:
    with pytest.raises(TranslationLimitError, match="time_limit") as info:
        translate("G (a -> F (b & X X c)) & G F (c U X b)", time_limit=1e-9)
    assert "ltl2tgba" in str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [{"max_states": 0}, {"max_states": 2.5}, {"max_states": True}, {"time_limit": 0},
     {"time_limit": -1.0}, {"time_limit": float("nan")}, {"time_limit": "1"}],
)
def test_bad_budgets_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidSpecificationError, match="max_states|time_limit"):
        translate("F a", **kwargs)  # type: ignore[arg-type]


def test_other_limits_are_translation_limit_errors() -> None:
    deep = "a"
    for i in range(16):
        deep = f"(({deep}) U {ATOMS[i % 3]}) R {ATOMS[(i + 1) % 3]}"
    with pytest.raises(TranslationLimitError, match="fixpoint subformulas.*ltl2tgba"):
        translate(deep, ATOMS)


def test_the_ltl_objective_passes_its_budget_to_the_translator() -> None:
    from objspec.formalisms.temporal_logic import LTL
    from objspec.mdp.model import FiniteMDP

    transitions = np.zeros((2, 1, 2))
    transitions[:, 0, 1] = 1.0
    env = FiniteMDP(transitions, [1.0, 0.0], labels={1: ["a", "b"]})
    with pytest.raises(TranslationLimitError, match="max_states"):
        LTL("G (a -> X X X X X b)", max_states=3).compile(env)
    assert LTL("G (a -> X X X X X b)").compile(env).automaton.n_states > 3


def test_the_proposition_limit_is_a_named_translation_limit() -> None:
    """The one remaining limit (more than 16 propositions in one part of a formula that
    cannot be split at a top-level & or | into parts over disjoint propositions: automata
    are explicit over the letters of each part) raises AlphabetTooLargeError, a
    TranslationLimitError; an environment with many more labels is fine when the formula
    uses few of them."""
    from objspec import FiniteMDP
    from objspec.errors import AlphabetTooLargeError, TranslationLimitError
    from objspec.ltl.optimise import maximal_satisfaction
    from objspec.ltl.translation import translate

    with pytest.raises(AlphabetTooLargeError, match="at most 16") as info:
        translate("F (" + " & ".join(f"p{i}" for i in range(17)) + ")")
    assert isinstance(info.value, TranslationLimitError)
    P = np.zeros((2, 1, 2))
    P[0, 0, 1] = 1.0
    P[1, 0, 1] = 1.0
    labels = {1: [f"q{i}" for i in range(40)] + ["goal"]}
    env = FiniteMDP(P, [1.0, 0.0], labels=labels)
    assert maximal_satisfaction(env, "F goal").probability == pytest.approx(1.0)


def test_finish_honours_the_translation_deadline() -> None:
    # the minimisation rounds after a product check the deadline (they took seconds on
    # gh-q n=9 without looking at it)
    import numpy as np

    from objspec.errors import TranslationLimitError
    from objspec.ltl import operations as ops
    from objspec.ltl import syntax as s
    from objspec.ltl.automaton import parse_acceptance
    from objspec.ltl.budget import translation_budget

    succ = np.array([[1, 1], [0, 0]])
    table = np.zeros((4, 1), dtype=bool)
    table[0, 0] = True
    with translation_budget(10, 1e-9), pytest.raises(TranslationLimitError, match="time_limit"):
        ops.finish(s.Atom("a"), ("a",), succ, table, parse_acceptance("Inf(0)"), 0)
    out = ops.finish(s.Atom("a"), ("a",), succ, table, parse_acceptance("Inf(0)"), 0)
    assert out.n_states >= 1
