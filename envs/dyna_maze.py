"""Sutton & Barto's mazes of chapter 8: the Dyna maze (Example 8.1, Figure 8.2) and the blocking and
shortcut mazes (Examples 8.2 and 8.3, Figures 8.4 and 8.5), episodic tasks on a 6 × 9 grid.

Cells are numbered row-major from the top-left (state = 9 * row + col) and actions are
0 = left, 1 = down, 2 = right, 3 = up, as in Gymnasium's FrozenLake. A move into a wall (the
grid's edge or an obstacle cell) leaves the agent where it is. Every reward is 0 except +1 on the
move into the goal G, which ends the episode; the next episode starts again at S. Obstacle cells
are states the agent never enters; they stay in the state numbering so the grid keeps its shape.
The goal is absorbing in ``P`` (every action stays, reward 0, ``terminated`` True).

* ``layout="dyna"`` (rlsuite/DynaMaze-v0): S = (2, 0), G = (0, 8), walls in column 2 (rows 1–3),
  column 7 (rows 0–2) and at (4, 5).
* ``layout="blocking"`` (rlsuite/BlockingMaze-v0): S = (5, 3), G = (0, 8), a wall along row 3 with
  a gap on the right (column 8); after ``switch_step`` env steps the gap moves to the far left
  (column 0), blocking the short path (the book switches after 1000 steps).
* ``layout="shortcut"`` (rlsuite/ShortcutMaze-v0): the same S and G, the wall's gap on the left
  (column 0); after ``switch_step`` env steps a second gap opens on the right (column 8), a
  shortcut (the book switches after 3000 steps).

A changing maze counts the steps of its own lifetime across episodes and resets (the book's
"time steps"), and switches layout once that count reaches ``switch_step``. The training loop gives
each member of a K-member run its own env instances and steps them all in lockstep, so every
member's maze changes at the same step of its run, as in the book's averaged runs. Two things
follow: an env made afresh (an evaluation env, or the envs of a resumed run) starts with the first
layout again, and ``P`` describes the layout in force now, so a changing maze is stepped as an
ordinary env, not from its ``P`` (``steps_by_P`` is False), while the fixed Dyna maze is.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from rlsuite.core.errors import RLSuiteError
from rlsuite.envs._grid import ACTION_NAMES, GridEnv, cell_names, check_render_mode, move

SHAPE = (6, 9)
GOAL_REWARD = 1.0
# layout -> (start, goal, walls before the switch, walls after it, the book's switch step), cells as (row, col)
LAYOUTS: dict[str, tuple[tuple[int, int], tuple[int, int], list, list, int | None]] = {
    "dyna": ((2, 0), (0, 8), [(1, 2), (2, 2), (3, 2), (4, 5), (0, 7), (1, 7), (2, 7)], [], None),
    "blocking": ((5, 3), (0, 8), [(3, c) for c in range(0, 8)], [(3, c) for c in range(1, 9)], 1000),
    "shortcut": ((5, 3), (0, 8), [(3, c) for c in range(1, 9)], [(3, c) for c in range(1, 8)], 3000),
}


def _cell(row_col: tuple[int, int]) -> int:
    return row_col[0] * SHAPE[1] + row_col[1]


class DynaMazeEnv(GridEnv):
    """``rlsuite/DynaMaze-v0``, ``rlsuite/BlockingMaze-v0``, ``rlsuite/ShortcutMaze-v0``: observation
    is the cell index (0-53), actions 0-3 = left, down, right, up.

    Args:
        layout: "dyna", "blocking" or "shortcut" (see the module's text).
        switch_step: after this many env steps the blocking and shortcut mazes change to their
            second layout; None takes the book's (1000 blocking, 3000 shortcut). The Dyna maze
            never changes.
        render_mode: "ansi" / "human" draw the grid as text (``#`` walls, ``S`` and ``G``, the
            agent's cell in brackets); "rgb_array" draws a ``6 * cell_px`` × ``9 * cell_px`` image.
        cell_px: side of one cell in the "rgb_array" image, in pixels.

    ``P`` holds the current layout's dynamics in Gymnasium's toy-text format; ``grid_shape`` is (6, 9).
    """

    metadata = {"render_modes": ["ansi", "human", "rgb_array"], "render_fps": 4}
    grid_shape = SHAPE
    action_names = ACTION_NAMES

    def __init__(
        self,
        layout: str = "dyna",
        switch_step: int | None = None,
        render_mode: str | None = None,
        cell_px: int = 8,
    ) -> None:
        if layout not in LAYOUTS:
            raise RLSuiteError(f"layout={layout!r} is not a maze; choose one of {', '.join(LAYOUTS)}.")
        start, goal, before, after, book_switch = LAYOUTS[layout]
        if switch_step is not None and (isinstance(switch_step, bool) or int(switch_step) < 0):
            raise RLSuiteError(f"switch_step={switch_step!r} is not a step; pass a whole number >= 0, or None.")
        self.layout = layout
        self.switch_step = None if not after else int(book_switch if switch_step is None else switch_step)
        self.render_mode = check_render_mode(render_mode)
        self.cell_px = int(cell_px)
        self.start, self.goal = _cell(start), _cell(goal)
        self.observation_space = spaces.Discrete(SHAPE[0] * SHAPE[1])
        self.action_space = spaces.Discrete(len(ACTION_NAMES))
        self._walls = [frozenset(map(_cell, before)), frozenset(map(_cell, after or before))]
        self._tables = [self._table(w) for w in self._walls]
        self._starts = np.array([self.start])
        self._mask = np.ones(len(ACTION_NAMES), dtype=np.int8)
        self.steps_taken = 0  # env steps over the env's lifetime: the clock of the layout switch
        self.state = self.start
        self.state_names = cell_names(SHAPE, {self.start: "S", self.goal: "G"})

    @property
    def changed(self) -> bool:
        """Whether the maze has switched to its second layout."""
        return self.switch_step is not None and self.steps_taken >= self.switch_step

    @property
    def walls(self) -> frozenset[int]:
        """The obstacle cells of the layout in force."""
        return self._walls[self.changed]

    @property
    def P(self) -> dict[int, dict[int, list[tuple[float, int, float, bool]]]]:
        """The dynamics of the layout in force, in Gymnasium's toy-text format."""
        return self._tables[self.changed]

    @property
    def steps_by_P(self) -> bool:
        """Whether step() is exactly P: only for a maze that never changes."""
        return self.switch_step is None

    @property
    def _labels(self) -> dict[int, str]:
        return {**{w: "#" for w in self.walls}, self.start: "S", self.goal: "G"}

    @property
    def _colors(self) -> dict[int, tuple[int, int, int]]:
        return {**{w: (0, 0, 0) for w in self.walls}, self.start: (150, 170, 240), self.goal: (0, 200, 0)}

    def _table(self, walls: frozenset[int]) -> dict[int, dict[int, list[tuple[float, int, float, bool]]]]:
        return {
            s: {a: [self._transition(s, a, walls)] for a in range(len(ACTION_NAMES))}
            for s in range(SHAPE[0] * SHAPE[1])
        }

    def _transition(self, state: int, action: int, walls: frozenset[int]) -> tuple[float, int, float, bool]:
        if state == self.goal:  # absorbing, as in Gymnasium's toy-text envs
            return (1.0, state, 0.0, True)
        next_state, _ = move(state, action, SHAPE)
        if next_state in walls:
            next_state = state
        return (1.0, next_state, GOAL_REWARD if next_state == self.goal else 0.0, next_state == self.goal)

    def step(self, action):
        result = super().step(action)
        self.steps_taken += 1
        return result
