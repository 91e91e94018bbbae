"""Hypothesis strategies for the LTL tests: random formulas and lasso words.

Not collected as tests (no ``test_`` prefix).
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from objspec.ltl import syntax as s

UNARY = (s.Not, s.Next, s.Finally, s.Globally)
BINARY = (
    s.And, s.Or, s.Implies, s.Equivalent, s.Xor,
    s.Until, s.Release, s.WeakUntil, s.StrongRelease,
)


@st.composite
def formulas(
    draw: st.DrawFn, depth: int = 4, atoms: Sequence[str] = ("a", "b", "c"),
    constants: bool = True,
) -> s.Formula:
    """Random LTL formulas of nesting depth at most ``depth`` with every operator."""
    leaf_choices: list[s.Formula] = [s.Atom(a) for a in atoms]
    if constants or not leaf_choices:
        leaf_choices += [s.TRUE, s.FALSE]
    if depth == 0 or draw(st.integers(0, 4)) == 0:
        return draw(st.sampled_from(leaf_choices))
    op = draw(st.sampled_from(UNARY + BINARY))
    if op in UNARY:
        return op(draw(formulas(depth - 1, atoms, constants)))
    return op(draw(formulas(depth - 1, atoms, constants)),
              draw(formulas(depth - 1, atoms, constants)))


def letters(atoms: Sequence[str] = ("a", "b", "c")) -> st.SearchStrategy[frozenset[str]]:
    """Random letters (sets of atoms)."""
    return st.frozensets(st.sampled_from(list(atoms)))


def lassos(
    atoms: Sequence[str] = ("a", "b", "c"),
) -> st.SearchStrategy[tuple[list[frozenset[str]], list[frozenset[str]]]]:
    """Random ultimately periodic words ``(prefix, cycle)``."""
    return st.tuples(
        st.lists(letters(atoms), max_size=4), st.lists(letters(atoms), min_size=1, max_size=4)
    )
