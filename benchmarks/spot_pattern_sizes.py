"""Spot's published automaton sizes for the specification-pattern sets (data, not a benchmark).

The number of states of ``ltl2tgba -D`` (Spot's deterministic automaton: transition-based
generalized Buchi, or parity when no deterministic generalized Buchi automaton exists;
incomplete, no rejecting sink) for each pattern formula of the sets of
:data:`objspec.ltl.families.PATTERNS` and for its negation ``!f``.

Source: the expected output of Spot's own test ``tests/core/ltl2tgba2.test`` in Spot 2.9.6
(LRDE), which runs ``genltl --dac --eh --sb --hkrss --p``,
adds the negations and removes duplicate formulas (``ltlfilt -u``), so a formula equal to an
earlier one has no entry (``-`` below): 320 formulas, 1,143 states in all. Only the
numbers are taken, in the form ``set index states-of-f states-of-!f``.
"""

from __future__ import annotations

_TABLE = """
dac 1 1 2
dac 2 3 3
dac 3 2 3
dac 4 3 4
dac 5 2 3
dac 6 2 1
dac 7 2 2
dac 8 3 2
dac 9 2 3
dac 10 2 3
dac 11 5 6
dac 12 7 7
dac 13 6 7
dac 14 7 8
dac 15 6 7
dac 16 1 2
dac 17 3 3
dac 18 2 3
dac 19 3 4
dac 20 2 3
dac 21 2 2
dac 22 3 3
dac 23 5 3
dac 24 3 4
dac 25 2 3
dac 26 2 2
dac 27 3 3
dac 28 3 3
dac 29 3 4
dac 30 3 4
dac 31 3 3
dac 32 4 4
dac 33 4 4
dac 34 4 5
dac 35 3 4
dac 36 3 3
dac 37 4 4
dac 38 4 4
dac 39 4 5
dac 40 3 4
dac 41 4 3
dac 42 6 5
dac 43 5 4
dac 44 10 5
dac 45 10 4
dac 46 4 3
dac 47 4 4
dac 48 3 4
dac 49 4 5
dac 50 6 8
dac 51 4 3
dac 52 4 4
dac 53 3 4
dac 54 4 5
dac 55 6 11
eh 1 2 4
eh 2 4 4
eh 3 8 8
eh 4 2 2
eh 5 4 3
eh 6 3 2
eh 7 3 2
eh 8 2 3
eh 9 1 5
eh 10 1 6
eh 11 2 2
eh 12 4 6
sb 1 2 2
sb 2 3 -
sb 3 3 -
sb 4 3 -
sb 5 3 2
sb 6 4 4
sb 7 3 4
sb 8 2 -
sb 9 3 3
sb 10 2 2
sb 11 1 1
sb 12 1 1
sb 13 2 2
sb 14 2 2
sb 16 3 2
sb 17 1 3
sb 18 1 3
sb 19 4 3
sb 20 5 5
sb 21 4 -
sb 22 3 -
sb 23 6 -
sb 24 4 -
sb 25 3 4
sb 26 1 2
sb 27 2 2
hkrss 1 1 3
hkrss 2 1 3
hkrss 3 4 5
hkrss 4 16 17
hkrss 6 1 3
hkrss 7 2 2
hkrss 8 1 1
hkrss 9 2 2
hkrss 11 2 2
hkrss 12 2 2
hkrss 13 16 5
hkrss 14 1 2
hkrss 15 1 2
hkrss 16 1 2
hkrss 17 1 2
hkrss 18 1 2
hkrss 19 1 2
hkrss 20 1 2
hkrss 21 2 2
hkrss 22 2 2
hkrss 23 1 2
hkrss 24 1 2
hkrss 25 1 2
hkrss 26 1 2
hkrss 27 1 2
hkrss 28 1 2
hkrss 29 3 4
hkrss 30 5 6
hkrss 31 1 1
hkrss 32 3 4
hkrss 33 3 4
hkrss 34 2 3
hkrss 35 2 3
hkrss 36 34 19
hkrss 37 2 3
hkrss 38 2 3
hkrss 39 3 4
hkrss 40 4 5
hkrss 41 6 7
hkrss 42 6 7
hkrss 43 8 9
hkrss 44 6 7
hkrss 45 12 13
hkrss 46 5 6
hkrss 47 5 6
hkrss 48 2 3
hkrss 49 2 2
hkrss 50 2 2
hkrss 51 2 3
hkrss 52 4 5
hkrss 53 3 4
hkrss 54 3 4
hkrss 55 5 6
p 2 4 2
p 3 2 3
p 4 2 1
p 5 1 2
p 6 4 4
p 7 4 5
p 8 2 3
p 9 1 2
p 10 2 2
p 11 2 3
p 12 3 2
p 13 3 4
p 14 2 3
p 15 2 3
p 16 2 2
p 17 3 4
p 18 5 6
p 20 1 3
"""


def _parse() -> dict[tuple[str, int, bool], int]:
    out: dict[tuple[str, int, bool], int] = {}
    for line in _TABLE.split("\n"):
        if not line.strip():
            continue
        name, index, positive, negated = line.split()
        for value, negation in ((positive, False), (negated, True)):
            if value != "-":
                out[(name, int(index), negation)] = int(value)
    return out


#: ``SPOT_D_STATES[(set, n, negated)]``: states of Spot's ``ltl2tgba -D`` automaton for
#: pattern ``n`` of ``set`` (``negated``: for its negation). Formulas Spot's table omits
#: (duplicates of earlier ones) have no key.
SPOT_D_STATES: dict[tuple[str, int, bool], int] = _parse()

#: The formulas whose Spot automaton has one state and no transition (contradictions); their
#: negations (the positive patterns) are tautologies.
CONTRADICTIONS: tuple[tuple[str, int, bool], ...] = (
    ("sb", 11, True), ("sb", 12, True), ("hkrss", 8, True), ("hkrss", 31, True),
)

assert len(SPOT_D_STATES) == 320 and sum(SPOT_D_STATES.values()) == 1143
