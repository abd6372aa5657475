"""The walk-to-T corridor ``-----T`` from the Q-learning chapter.

The agent ``u`` starts in cell 0 of a corridor of ``n_cells`` cells and walks left or right
until it reaches the target ``T`` in the last cell. Walking into the left wall stays put.
Reaching ``T`` gives reward 1 and terminates the episode; every other step gives 0.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlsuite.core.errors import RLSuiteError

LEFT, RIGHT = 0, 1


class WalkToTEnv(gym.Env):
    """``rlsuite/WalkToT-v0``: observation is the cell index, actions are 0 = left, 1 = right.

    Args:
        n_cells: corridor length including the target cell (at least 2).
        random_start: start in a uniformly drawn non-target cell instead of cell 0.
        render_mode: "ansi" / "human" draw ``u - - - - T``; "rgb_array" draws a
            ``cell_px`` × ``n_cells * cell_px`` image (agent white, target green).
        cell_px: side of one cell in the "rgb_array" image, in pixels.

    ``info["action_mask"]`` marks the moves that do not walk into a wall, and ``P`` holds the
    dynamics in Gymnasium's toy-text format, so ``rlsuite.solve`` can compute q*.
    """

    metadata = {"render_modes": ["ansi", "human", "rgb_array"], "render_fps": 4}
    state_names: tuple[str, ...]
    action_names = ("left", "right")
    steps_by_P = True  # step() is exactly P, so rlsuite.vecenv.psim may step copies of it by P

    def __init__(
        self,
        n_cells: int = 6,
        random_start: bool = False,
        render_mode: str | None = None,
        cell_px: int = 8,
    ) -> None:
        if int(n_cells) < 2:
            raise RLSuiteError(f"n_cells={n_cells} is too small: the corridor needs at least 2 cells (a start and T).")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise RLSuiteError(
                f"render_mode={render_mode!r} is not supported; use one of {self.metadata['render_modes']}."
            )
        self.n_cells = int(n_cells)
        self.random_start = bool(random_start)
        self.render_mode = render_mode
        self.cell_px = int(cell_px)
        self.target = self.n_cells - 1
        self.observation_space = spaces.Discrete(self.n_cells)
        self.action_space = spaces.Discrete(2)
        self.state_names = tuple(f"cell{i}" for i in range(self.target)) + ("T",)
        self._masks = np.array([self.action_mask(s) for s in range(self.n_cells)], dtype=np.int8)
        self.P = {s: {a: [self._transition(s, a)] for a in (LEFT, RIGHT)} for s in range(self.n_cells)}
        self.state = 0

    @property
    def initial_state_distrib(self) -> np.ndarray:
        """Where reset() starts, as probabilities over the cells: cell 0, or uniform over the non-target cells."""
        distribution = np.zeros(self.n_cells)
        if self.random_start:
            distribution[: self.target] = 1.0 / self.target
        else:
            distribution[0] = 1.0
        return distribution

    def _transition(self, state: int, action: int) -> tuple[float, int, float, bool]:
        if state == self.target:  # absorbing terminal state, as in Gymnasium's toy-text envs
            return (1.0, state, 0.0, True)
        next_state = max(state - 1, 0) if action == LEFT else state + 1
        reached = next_state == self.target
        return (1.0, next_state, 1.0 if reached else 0.0, reached)

    def action_mask(self, state: int) -> np.ndarray:
        """Moves from ``state`` that do not walk into a wall (1 = allowed)."""
        return np.array([state > 0, state < self.target], dtype=np.int8)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.state = int(self.np_random.integers(self.target)) if self.random_start else 0
        if self.render_mode == "human":
            self.render()
        return self.state, {"action_mask": self._masks[self.state].copy()}

    def step(self, action):
        _, self.state, reward, terminated = self.P[self.state][int(action)][0]
        if self.render_mode == "human":
            self.render()
        return self.state, reward, terminated, False, {"action_mask": self._masks[self.state].copy()}

    def render(self):
        if self.render_mode == "rgb_array":
            return self._render_rgb()
        cells = ["-"] * self.target + ["T"]
        if self.state != self.target:
            cells[self.state] = "u"
        line = " ".join(cells)
        if self.render_mode == "human":
            print(line)
            return None
        return line

    def _render_rgb(self) -> np.ndarray:
        px = self.cell_px
        image = np.full((px, px * self.n_cells, 3), 40, dtype=np.uint8)
        image[:, self.target * px : (self.target + 1) * px] = (0, 200, 0)
        if self.state != self.target:
            image[:, self.state * px : (self.state + 1) * px] = 255
        image[:, ::px] = 0  # cell borders, so every cell is visible
        return image


def make_pixel_walk_to_t(cell_px: int = 4, **kwargs: Any) -> gym.Env:
    """``rlsuite/WalkToTPixels-v0``: the corridor observed through its "rgb_array" render only."""
    env = WalkToTEnv(render_mode="rgb_array", cell_px=cell_px, **kwargs)
    return gym.wrappers.AddRenderObservation(env, render_only=True)
