"""Sutton & Barto's 4×4 gridworld (Example 4.1, Figure 4.1), an episodic shortest-path task.

Cells are numbered row-major from the top-left (state = 4 * row + col) and actions are
0 = left, 1 = down, 2 = right, 3 = up, as in Gymnasium's FrozenLake. The top-left and
bottom-right corners (states 0 and 15) are terminal; every transition gives reward −1,
including the one into a terminal cell, and an action that would take the agent off the grid
leaves it where it is (still −1). In ``P`` the terminal cells are absorbing: every action there
stays put with reward 0 and ``terminated`` True, as in Gymnasium's toy-text envs.

All four actions are allowed everywhere, so ``action_mask`` is all ones. Episodes start in a
non-terminal cell drawn uniformly with the env's ``np_random``; the registered time limit
(``max_episode_steps=100``) truncates an episode that wanders. With gamma = 1 the
equiprobable random policy has the values of Figure 4.1 (−14, −20, −22, ...).
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from rlsuite.envs._grid import ACTION_NAMES, GridEnv, cell_names, check_render_mode, check_start, move

TERMINALS = (0, 15)
STEP_REWARD = -1.0


class GridWorld4x4Env(GridEnv):
    """``rlsuite/GridWorld4x4-v0``: observation is the cell index (0-15), actions 0-3 = left, down, right, up.

    Args:
        start: the start cell (not 0 or 15); None (the default) draws it uniformly from the 14
            non-terminal cells with the env's ``np_random`` at every reset.
        render_mode: "ansi" / "human" draw the grid as text (``T`` the terminal cells, the
            agent's cell in brackets); "rgb_array" draws a ``4 * cell_px`` square image
            (terminals green, agent white).
        cell_px: side of one cell in the "rgb_array" image, in pixels.

    ``P`` holds the dynamics in Gymnasium's toy-text format and ``grid_shape`` is (4, 4).
    """

    metadata = {"render_modes": ["ansi", "human", "rgb_array"], "render_fps": 4}
    grid_shape = (4, 4)
    action_names = ACTION_NAMES
    state_names = cell_names(grid_shape, {t: "T" for t in TERMINALS})
    _labels = {t: "T" for t in TERMINALS}
    _colors = {t: (0, 200, 0) for t in TERMINALS}

    def __init__(self, start: int | None = None, render_mode: str | None = None, cell_px: int = 8) -> None:
        n_states = self.grid_shape[0] * self.grid_shape[1]
        self.start = check_start(start, n_states, forbidden=TERMINALS)
        self.render_mode = check_render_mode(render_mode)
        self.cell_px = int(cell_px)
        self.observation_space = spaces.Discrete(n_states)
        self.action_space = spaces.Discrete(len(ACTION_NAMES))
        self.P = {s: {a: [self._transition(s, a)] for a in range(len(ACTION_NAMES))} for s in range(n_states)}
        self._starts = np.array([s for s in range(n_states) if s not in TERMINALS])
        self._mask = np.ones(len(ACTION_NAMES), dtype=np.int8)
        self.state = int(self._starts[0])

    def _transition(self, state: int, action: int) -> tuple[float, int, float, bool]:
        if state in TERMINALS:  # absorbing, as in Gymnasium's toy-text envs
            return (1.0, state, 0.0, True)
        next_state, _ = move(state, action, self.grid_shape)
        return (1.0, next_state, STEP_REWARD, next_state in TERMINALS)
