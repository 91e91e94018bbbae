"""Labelled gridworlds built from text layouts, and the office world of reward machines.

Two layout formats are read by :func:`gridworld`:

* **cell layouts** (the default): one character per cell. ``#`` is a wall cell, ``.`` or
  a space is an empty floor cell, ``S`` is a start cell (the initial distribution is
  uniform over the ``S`` cells; without any, it is uniform over all floor cells), and any
  other character is a floor cell whose labels come from ``labels`` (by default a
  lower-case letter labels its cell with itself, e.g. ``g`` gives the proposition
  ``"g"``).
* **thin-wall layouts** (``thin_walls=True``): cells sit at odd rows and odd columns of a
  ``(2H+1) x (2W+1)`` character grid; the characters between two cells are walls when
  they are one of ``|``, ``-``, ``+`` or ``#`` and openings when they are a space. This is
  the format of mazes whose walls lie *between* cells, such as the office world.

Actions are ``up, right, down, left`` (the order of the reward_machines project). A move
into a wall or off the grid leaves the agent where it is. With ``slip > 0`` the intended
move happens with probability ``1 - slip`` and each of the two perpendicular moves with
probability ``slip / 2`` (``slip = 2/3`` is FrozenLake's "slippery" ice).

Labels are state labels by default (``label_on="state"``: the transition
``(s, a, s')`` carries the labels of ``s``, PRISM's and Storm's convention). With
``label_on="enter"`` they are transition labels ``L(s, a, s') = labels(s')``: the event is
seen on entering a cell, which is the convention of the reward_machines project. The two
give the same orderings for every reward machine whose start state loops on the start
cell's labels; values differ by one factor ``gamma``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import numpy as np

from objspec.errors import InvalidModelError
from objspec.mdp.model import FiniteMDP

__all__ = [
    "ACTIONS",
    "GridWorld",
    "gridworld",
    "parse_layout",
    "office_world",
    "OFFICE_LAYOUT",
    "OFFICE_RM_TEXTS",
]

#: Action names, in index order.
ACTIONS: tuple[str, ...] = ("up", "right", "down", "left")
_MOVES: tuple[tuple[int, int], ...] = ((-1, 0), (0, 1), (1, 0), (0, -1))
_WALL_CHARS = frozenset("|-+#")

LabelOn = Literal["state", "enter"]


class GridWorld:
    """The parsed geometry of a gridworld: cells, walls, labels and start cells.

    Built by :func:`parse_layout`; :func:`gridworld` turns it into a :class:`FiniteMDP`.

    Attributes
    ----------
    shape : tuple of int
        ``(rows, cols)`` of the cell grid.
    cells : list of tuple of int
        Floor cells ``(row, col)`` in row-major order; state ``i`` is ``cells[i]``.
    labels : list of frozenset of str
        Propositions of each floor cell.
    starts : list of int
        States of the start cells.
    symbols : list of str
        The layout character of each floor cell.

    Examples
    --------
    >>> world = parse_layout(["S.g", ".#."])
    >>> world.shape, len(world.cells), world.labels[2]
    ((2, 3), 5, frozenset({'g'}))
    """

    def __init__(
        self,
        shape: tuple[int, int],
        cells: list[tuple[int, int]],
        symbols: list[str],
        labels: list[frozenset[str]],
        starts: list[int],
        blocked: set[tuple[int, int, int]],
    ) -> None:
        self.shape = shape
        self.cells = cells
        self.symbols = symbols
        self.labels = labels
        self.starts = starts
        self._blocked = blocked
        self.index = {cell: i for i, cell in enumerate(cells)}

    def move(self, state: int, action: int) -> int:
        """The cell reached from ``state`` by a successful ``action`` (itself if blocked)."""
        row, col = self.cells[state]
        if (row, col, action) in self._blocked:
            return state
        dr, dc = _MOVES[action]
        target = (row + dr, col + dc)
        return self.index.get(target, state)

    def state_of(self, row: int, col: int) -> int:
        """The state index of the floor cell ``(row, col)``."""
        if (row, col) not in self.index:
            raise InvalidModelError(f"cell ({row}, {col}) is not a floor cell of the layout")
        return self.index[(row, col)]


def _lines(layout: str | Sequence[str]) -> list[str]:
    if isinstance(layout, str):
        lines = layout.split("\n")
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
    else:
        lines = [str(x) for x in layout]
    if not lines:
        raise InvalidModelError("the layout is empty")
    return lines


def _cell_labels(
    symbol: str, labels: Mapping[str, str | Iterable[str]] | None, where: str
) -> frozenset[str]:
    if labels is not None and symbol in labels:
        value = labels[symbol]
        names = [value] if isinstance(value, str) else list(value)
        for name in names:
            if not isinstance(name, str) or not name:
                raise InvalidModelError(f"labels[{symbol!r}] contains {name!r}, not a name")
        return frozenset(names)
    if symbol.islower() and symbol.isalpha():
        return frozenset({symbol})
    if symbol in ".S ":
        return frozenset()
    raise InvalidModelError(
        f"layout character {symbol!r} at {where} has no meaning: use '#', '.', 'S', a "
        "lower-case letter, or give it labels=..."
    )


def parse_layout(
    layout: str | Sequence[str],
    *,
    labels: Mapping[str, str | Iterable[str]] | None = None,
    thin_walls: bool = False,
) -> GridWorld:
    """Parse a text layout into a :class:`GridWorld` (see the module docstring for the formats).

    Raises
    ------
    InvalidModelError
        On ragged rows, a layout without floor cells, an unknown character (naming its row
        and column), or a thin-wall layout whose size is not ``(2H+1) x (2W+1)``.

    Examples
    --------
    >>> parse_layout('''
    ... +-+-+
    ... |S|g|
    ... + +-+
    ... |. .|
    ... +-+-+''', thin_walls=True).move(0, 1)
    0
    """
    lines = _lines(layout)
    width = max(len(line) for line in lines)
    lines = [line.ljust(width) for line in lines]
    cells: list[tuple[int, int]] = []
    symbols: list[str] = []
    cell_labels: list[frozenset[str]] = []
    starts: list[int] = []
    blocked: set[tuple[int, int, int]] = set()
    if not thin_walls:
        shape = (len(lines), width)
        for r, line in enumerate(lines):
            for c, ch in enumerate(line):
                if ch == "#":
                    continue
                where = f"row {r}, column {c}"
                cell_labels.append(_cell_labels(ch, labels, where))
                if ch == "S":
                    starts.append(len(cells))
                cells.append((r, c))
                symbols.append(ch)
    else:
        if len(lines) % 2 == 0 or width % 2 == 0 or len(lines) < 3 or width < 3:
            raise InvalidModelError(
                f"a thin-wall layout must be (2H+1) x (2W+1) characters; got "
                f"{len(lines)} x {width}"
            )
        shape = ((len(lines) - 1) // 2, (width - 1) // 2)
        for r in range(shape[0]):
            for c in range(shape[1]):
                ch = lines[2 * r + 1][2 * c + 1]
                if ch in _WALL_CHARS:
                    raise InvalidModelError(
                        f"thin-wall layout: cell ({r}, {c}) at text row {2 * r + 1}, column "
                        f"{2 * c + 1} holds the wall character {ch!r}"
                    )
                where = f"text row {2 * r + 1}, column {2 * c + 1}"
                cell_labels.append(_cell_labels(ch, labels, where))
                if ch == "S":
                    starts.append(len(cells))
                cells.append((r, c))
                symbols.append(ch)
                for action, (dr, dc) in enumerate(_MOVES):
                    if lines[2 * r + 1 + dr][2 * c + 1 + dc] in _WALL_CHARS:
                        blocked.add((r, c, action))
    if not cells:
        raise InvalidModelError("the layout has no floor cells")
    return GridWorld(shape, cells, symbols, cell_labels, starts, blocked)


def gridworld(
    layout: str | Sequence[str],
    *,
    slip: float = 0.0,
    labels: Mapping[str, str | Iterable[str]] | None = None,
    absorbing: str | Iterable[str] = (),
    thin_walls: bool = False,
    label_on: LabelOn = "state",
) -> FiniteMDP:
    """A labelled gridworld MDP from a text layout.

    Parameters
    ----------
    layout : str or sequence of str
        The map (module docstring). State ``i`` is the ``i``-th floor cell in row-major
        order, named ``"(row,col)"``.
    slip : float
        Probability in ``[0, 1]`` that the move goes to one of the two perpendicular
        directions (``slip / 2`` each) instead of the intended one.
    labels : mapping, optional
        Layout character -> proposition name or names, e.g. ``{"H": "hole", "G": "goal"}``.
        Lower-case letters label their cell with themselves unless mapped here.
    absorbing : str or iterable of str
        Layout characters whose cells are absorbing (every action stays), e.g. ``"HG"``.
    thin_walls : bool
        Read a thin-wall layout (walls between cells) instead of a cell layout.
    label_on : {"state", "enter"}
        State labels (PRISM convention), or transition labels ``L(s, a, s') = labels(s')``
        (reward_machines convention).

    Returns
    -------
    FiniteMDP
        Actions ``up, right, down, left``.

    Raises
    ------
    InvalidModelError
        On a bad layout, ``slip`` outside ``[0, 1]``, or an unknown ``label_on``.

    Examples
    --------
    >>> env = gridworld('''
    ... S.g
    ... .#x
    ... ''', slip=0.2, absorbing="gx")
    >>> env.n_states, env.n_actions, env.propositions
    (5, 4, ('g', 'x'))
    >>> env.transitions[0, 1].round(2).tolist()   # "right" from the start cell
    [0.1, 0.8, 0.0, 0.1, 0.0]
    """
    slip_value = float(slip)
    if not np.isfinite(slip_value) or not 0.0 <= slip_value <= 1.0:
        raise InvalidModelError(f"slip = {slip!r} is outside [0, 1]")
    if label_on not in ("state", "enter"):
        raise InvalidModelError(f"label_on must be 'state' or 'enter'; got {label_on!r}")
    world = parse_layout(layout, labels=labels, thin_walls=thin_walls)
    absorbing_chars = set(absorbing)
    n = len(world.cells)
    P = np.zeros((n, len(ACTIONS), n))
    for s in range(n):
        if world.symbols[s] in absorbing_chars:
            P[s, :, s] = 1.0
            continue
        for a in range(len(ACTIONS)):
            P[s, a, world.move(s, a)] += 1.0 - slip_value
            for side in ((a + 1) % 4, (a - 1) % 4):
                P[s, a, world.move(s, side)] += slip_value / 2.0
    initial = np.zeros(n)
    initial[world.starts or list(range(n))] = 1.0
    initial /= initial.sum()
    names = [f"({r},{c})" for r, c in world.cells]
    if label_on == "state":
        state_labels = {s: sorted(world.labels[s]) for s in range(n) if world.labels[s]}
        return FiniteMDP(P, initial, labels=state_labels, state_names=names,
                         action_names=ACTIONS)
    cell_labels = world.labels

    def enter_labels(s: int, a: int, s_next: int) -> frozenset[str]:
        return cell_labels[s_next]

    return FiniteMDP(P, initial, labels=enter_labels, state_names=names, action_names=ACTIONS)


#: The office world of Toro Icarte et al. (reward_machines project, ``office_world.py``)
#: as a thin-wall layout: 9 rows by 12 columns of cells in 3x3 rooms, doors between rooms.
#: ``a``-``d`` are the four patrol corners, ``e`` the mail room, ``f`` the two coffee
#: machines, ``g`` the office, ``n`` the decorations (plants) that must not be touched and
#: ``S`` the agent's start. Row ``r``, column ``c`` is the project's ``(x, y) = (c, 8 - r)``.
OFFICE_LAYOUT = """
+-+-+-+-+-+-+-+-+-+-+-+-+
|. . .|. . .|. . .|. . .|
+     +     +     +     +
|. b . . n . . n . . c .|
+     +     +     +     +
|. . .|f . .|. . .|. . .|
+-+ +-+-+ +-+-+ +-+-+ +-+
|. . .|. . .|. . .|. . .|
+     +     +     +     +
|. n .|. g .|. e .|. n .|
+     +     +     +     +
|. . .|. . .|. . .|. . .|
+-+ +-+-+-+-+-+-+-+-+ +-+
|. . .|. . .|. . f|. . .|
+     +     +     +     +
|. a S . n . . n . . d .|
+     +     +     +     +
|. . .|. . .|. . .|. . .|
+-+-+-+-+-+-+-+-+-+-+-+-+
"""

#: The office world's four reward machines, in the text format of the reward_machines
#: project (``reward_machines/envs/grids/reward_machines/office/t1.txt`` .. ``t4.txt``):
#: deliver coffee to the office, deliver mail to the office, patrol ``a, b, c, d`` in
#: order, and deliver both coffee and mail. Touching a decoration (``n``) matches no guard,
#: which ends the task with reward 0.
OFFICE_RM_TEXTS: dict[str, str] = {
    "coffee": """0 # initial state
[2] # terminal state
(0,0,'!f&!n',ConstantRewardFunction(0))
(0,1,'f&!n',ConstantRewardFunction(0))
(1,1,'!g&!n',ConstantRewardFunction(0))
(1,2,'g&!n',ConstantRewardFunction(1))
""",
    "mail": """0 # initial state
[2] # terminal state
(0,0,'!e&!n',ConstantRewardFunction(0))
(0,1,'e&!n',ConstantRewardFunction(0))
(1,1,'!g&!n',ConstantRewardFunction(0))
(1,2,'g&!n',ConstantRewardFunction(1))
""",
    "patrol": """0 # initial state
[4] # terminal state
(0,0,'!a&!n',ConstantRewardFunction(0))
(0,1,'a&!n',ConstantRewardFunction(0))
(1,1,'!b&!n',ConstantRewardFunction(0))
(1,2,'b&!n',ConstantRewardFunction(0))
(2,2,'!c&!n',ConstantRewardFunction(0))
(2,3,'c&!n',ConstantRewardFunction(0))
(3,3,'!d&!n',ConstantRewardFunction(0))
(3,4,'d&!n',ConstantRewardFunction(1))
""",
    "coffee_and_mail": """0 # initial state
[1] # terminal state
(0,0,'!e&!f&!n',ConstantRewardFunction(0))
(0,2,'e&!n',ConstantRewardFunction(0))
(0,3,'!e&f&!n',ConstantRewardFunction(0))
(2,2,'!f&!n',ConstantRewardFunction(0))
(2,4,'f&!n',ConstantRewardFunction(0))
(3,3,'!e&!n',ConstantRewardFunction(0))
(3,4,'e&!n',ConstantRewardFunction(0))
(4,1,'g&!n',ConstantRewardFunction(1))
(4,4,'!g&!n',ConstantRewardFunction(0))
""",
}


def office_world(*, slip: float = 0.0, label_on: LabelOn = "enter") -> FiniteMDP:
    """The office world of the reward_machines project (Toro Icarte et al., ICML 2018).

    108 cells (9 rows x 12 columns, 3x3 rooms with doors), four deterministic actions
    ``up, right, down, left``; the agent starts at the project's ``(2, 1)``. Its
    propositions are ``a, b, c, d`` (room corners), ``e`` (mail), ``f`` (coffee), ``g``
    (office) and ``n`` (decorations). By default the labels are seen on entering a cell
    (``label_on="enter"``), as in the project, where the reward machine reads the events
    of the position reached by each step. The project's environment never terminates by
    itself: episodes end when the reward machine reaches a terminal state.

    Parameters
    ----------
    slip : float
        Probability of a perpendicular move (0 in the original).
    label_on : {"enter", "state"}
        See :func:`gridworld`.

    Examples
    --------
    >>> env = office_world()
    >>> env.n_states, env.n_actions, env.propositions
    (108, 4, ('a', 'b', 'c', 'd', 'e', 'f', 'g', 'n'))
    >>> env.state_names[int(env.initial.argmax())]   # the project's (x, y) = (2, 1)
    '(7,2)'
    """
    return gridworld(OFFICE_LAYOUT, slip=slip, thin_walls=True, label_on=label_on)
