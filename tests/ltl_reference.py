"""Independent references for the LTL tests: lasso-word semantics and Storm oracles.

Not collected as tests (no ``test_`` prefix); imported by ``tests/test_ltl_*.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

from objspec.ltl import syntax as s


def holds_on_lasso(
    f: s.Formula, prefix: Sequence[frozenset[str]], cycle: Sequence[frozenset[str]]
) -> bool:
    """Whether ``prefix cycle^omega`` satisfies ``f``, by direct evaluation of the semantics.

    Positions ``0 .. n-1`` with ``n = len(prefix) + len(cycle)``; the successor of ``n-1`` is
    ``len(prefix)``. Until is computed as a least fixpoint over these finitely many positions.
    """
    word = list(prefix) + list(cycle)
    n = len(word)
    loop = len(prefix)

    def nxt(i: int) -> int:
        return i + 1 if i + 1 < n else loop

    memo: dict[s.Formula, list[bool]] = {}

    def ev(g: s.Formula) -> list[bool]:
        if g in memo:
            return memo[g]
        if isinstance(g, s.Constant):
            out = [g.value] * n
        elif isinstance(g, s.Atom):
            out = [g.name in word[i] for i in range(n)]
        elif isinstance(g, s.Not):
            out = [not v for v in ev(g.operand)]
        elif isinstance(g, s.And):
            out = [a and b for a, b in zip(ev(g.left), ev(g.right), strict=True)]
        elif isinstance(g, s.Or):
            out = [a or b for a, b in zip(ev(g.left), ev(g.right), strict=True)]
        elif isinstance(g, s.Implies):
            out = [(not a) or b for a, b in zip(ev(g.left), ev(g.right), strict=True)]
        elif isinstance(g, s.Equivalent):
            out = [a == b for a, b in zip(ev(g.left), ev(g.right), strict=True)]
        elif isinstance(g, s.Xor):
            out = [a != b for a, b in zip(ev(g.left), ev(g.right), strict=True)]
        elif isinstance(g, s.Next):
            inner = ev(g.operand)
            out = [inner[nxt(i)] for i in range(n)]
        elif isinstance(g, s.Finally):
            out = until([True] * n, ev(g.operand))
        elif isinstance(g, s.Globally):
            out = [not v for v in until([True] * n, [not v for v in ev(g.operand)])]
        elif isinstance(g, s.Until):
            out = until(ev(g.left), ev(g.right))
        elif isinstance(g, s.Release):
            a, b = ev(g.left), ev(g.right)
            out = [not v for v in until([not x for x in a], [not x for x in b])]
        elif isinstance(g, s.WeakUntil):
            a, b = ev(g.left), ev(g.right)
            u = until(a, b)
            gl = [not v for v in until([True] * n, [not x for x in a])]
            out = [x or y for x, y in zip(u, gl, strict=True)]
        elif isinstance(g, s.StrongRelease):
            a, b = ev(g.left), ev(g.right)
            out = until(b, [x and y for x, y in zip(a, b, strict=True)])
        else:
            raise TypeError(g)
        memo[g] = out
        return out

    def until(a: list[bool], b: list[bool]) -> list[bool]:
        val = list(b)
        changed = True
        while changed:
            changed = False
            for i in range(n):
                if not val[i] and a[i] and val[nxt(i)]:
                    val[i] = True
                    changed = True
        return val

    return ev(f)[0]
