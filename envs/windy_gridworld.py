"""Sutton & Barto's windy gridworld (Example 6.5), an undiscounted episodic task.

A 7 × 10 grid, cells numbered row-major from the top-left (state = 10 * row + col); actions are
0 = left, 1 = down, 2 = right, 3 = up, as in Gymnasium's FrozenLake. Every episode starts at
S = (3, 0) = state 30 and ends on reaching the goal G = (3, 7) = state 37. A crosswind blows up
the middle of the grid: a move from a cell in column c is shifted up by WIND[c] cells (0 0 0 1 1
1 2 2 1 0, the strength of the book's figure), and the result is clipped to the grid. Every step
gives reward −1, so the return of an episode is minus its length; the shortest episode takes 15
steps. In ``P`` the goal is absorbing (every action stays with reward 0 and ``terminated`` True).
All four actions are allowed everywhere.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from rlsuite.envs._grid import ACTION_NAMES, DOWN, LEFT, RIGHT, UP, GridEnv, cell_names, check_render_mode

WIND = (0, 0, 0, 1, 1, 1, 2, 2, 1, 0)
START, GOAL = 30, 37
STEP_REWARD = -1.0
_MOVES = {LEFT: (0, -1), DOWN: (1, 0), RIGHT: (0, 1), UP: (-1, 0)}


class WindyGridWorldEnv(GridEnv):
    """``rlsuite/WindyGridWorld-v0``: observation is the cell index (0-69), actions 0-3 = left,
    down, right, up.

    Args:
        render_mode: "ansi" / "human" draw the grid as text (``S``, ``G``, the wind's strength
            ``1`` / ``2`` on the windy columns' cells, the agent's cell in brackets); "rgb_array"
            draws a ``7 * cell_px`` × ``10 * cell_px`` image (windy columns shaded, goal green).
        cell_px: side of one cell in the "rgb_array" image, in pixels.

    ``P`` holds the dynamics in Gymnasium's toy-text format and ``grid_shape`` is (7, 10).
    """

    metadata = {"render_modes": ["ansi", "human", "rgb_array"], "render_fps": 4}
    grid_shape = (7, 10)
    action_names = ACTION_NAMES
    state_names = cell_names(grid_shape, {START: "S", GOAL: "G"})

    def __init__(self, render_mode: str | None = None, cell_px: int = 8) -> None:
        rows, cols = self.grid_shape
        self.start = START
        self.render_mode = check_render_mode(render_mode)
        self.cell_px = int(cell_px)
        self.observation_space = spaces.Discrete(rows * cols)
        self.action_space = spaces.Discrete(len(ACTION_NAMES))
        self.P = {s: {a: [self._transition(s, a)] for a in range(len(ACTION_NAMES))} for s in range(rows * cols)}
        windy = {r * cols + c: str(WIND[c]) for r in range(rows) for c in range(cols) if WIND[c]}
        self._labels = {**windy, START: "S", GOAL: "G"}
        shade = {s: (60 + 40 * int(w), 60 + 40 * int(w), 90 + 40 * int(w)) for s, w in windy.items()}
        self._colors = {**shade, START: (120, 170, 255), GOAL: (0, 200, 0)}
        self._starts = np.array([START])
        self._mask = np.ones(len(ACTION_NAMES), dtype=np.int8)
        self.state = START

    def _transition(self, state: int, action: int) -> tuple[float, int, float, bool]:
        if state == GOAL:  # absorbing, as in Gymnasium's toy-text envs
            return (1.0, GOAL, 0.0, True)
        rows, cols = self.grid_shape
        row, col = divmod(state, cols)
        d_row, d_col = _MOVES[action]
        row = min(max(row + d_row - WIND[col], 0), rows - 1)  # the wind of the column the move starts from
        col = min(max(col + d_col, 0), cols - 1)
        next_state = row * cols + col
        return (1.0, next_state, STEP_REWARD, next_state == GOAL)
