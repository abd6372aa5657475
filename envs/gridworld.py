"""Sutton & Barto's 5×5 gridworld (Example 3.5, Figures 3.2 and 3.5), a continuing task.

Cells are numbered row-major from the top-left (state = 5 * row + col) and actions are
0 = left, 1 = down, 2 = right, 3 = up, as in Gymnasium's FrozenLake.

* From A = (0, 1) = state 1, every action moves to A′ = (4, 1) = state 21 with reward +10.
* From B = (0, 3) = state 3, every action moves to B′ = (2, 3) = state 13 with reward +5.
* An action that would take the agent off the grid leaves it where it is, with reward −1.
* Every other move goes to the neighbouring cell with reward 0.

All four actions are allowed everywhere (walking into the edge is part of the problem), so
``action_mask`` is all ones. The task never terminates; the registered time limit
(``max_episode_steps=100``) truncates it. With gamma = 0.9, ``rlsuite.solve`` gives the book's
v* (Figure 3.5; v*(A) = 24.4).
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from rlsuite.envs._grid import ACTION_NAMES, GridEnv, cell_names, check_render_mode, check_start, move

A, A_PRIME, B, B_PRIME = 1, 21, 3, 13
JUMPS = {A: (A_PRIME, 10.0), B: (B_PRIME, 5.0)}  # state -> (where every action goes, reward)
OFF_GRID_REWARD = -1.0


class GridWorldEnv(GridEnv):
    """``rlsuite/GridWorld-v0``: observation is the cell index (0-24), actions 0-3 = left, down, right, up.

    Args:
        start: the start cell; None (the default) draws it uniformly from all 25 cells with the
            env's ``np_random`` at every reset.
        render_mode: "ansi" / "human" draw the grid as text (``A``, ``B`` the special cells,
            ``a``, ``b`` their targets A′, B′, the agent's cell in brackets); "rgb_array" draws a
            ``5 * cell_px`` square image (A red, A′ pink, B blue, B′ light blue, agent white).
        cell_px: side of one cell in the "rgb_array" image, in pixels.

    ``P`` holds the dynamics in Gymnasium's toy-text format and ``grid_shape`` is (5, 5).
    """

    metadata = {"render_modes": ["ansi", "human", "rgb_array"], "render_fps": 4}
    grid_shape = (5, 5)
    action_names = ACTION_NAMES
    state_names = cell_names(grid_shape, {A: "A", A_PRIME: "A'", B: "B", B_PRIME: "B'"})
    _labels = {A: "A", A_PRIME: "a", B: "B", B_PRIME: "b"}
    _colors = {A: (200, 60, 60), A_PRIME: (230, 150, 150), B: (60, 90, 220), B_PRIME: (150, 170, 240)}

    def __init__(self, start: int | None = None, render_mode: str | None = None, cell_px: int = 8) -> None:
        n_states = self.grid_shape[0] * self.grid_shape[1]
        self.start = check_start(start, n_states)
        self.render_mode = check_render_mode(render_mode)
        self.cell_px = int(cell_px)
        self.observation_space = spaces.Discrete(n_states)
        self.action_space = spaces.Discrete(len(ACTION_NAMES))
        self.P = {s: {a: [self._transition(s, a)] for a in range(len(ACTION_NAMES))} for s in range(n_states)}
        self._starts = np.arange(n_states)
        self._mask = np.ones(len(ACTION_NAMES), dtype=np.int8)
        self.state = 0

    def _transition(self, state: int, action: int) -> tuple[float, int, float, bool]:
        if state in JUMPS:
            next_state, reward = JUMPS[state]
            return (1.0, next_state, reward, False)
        next_state, off_grid = move(state, action, self.grid_shape)
        return (1.0, next_state, OFF_GRID_REWARD if off_grid else 0.0, False)
