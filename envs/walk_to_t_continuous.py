"""The walk-to-T corridor with a continuous position and a velocity action.

The agent starts at position 0 of a corridor of length ``length`` and chooses a velocity in
[−1, 1] each step; the position moves by it and stays inside [0, length]. Reaching the target
cell (within ``goal_radius`` of ``length``) gives reward 1 and terminates; every step costs
``step_cost``, so faster is better.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlsuite.core.errors import RLSuiteError


class WalkToTContinuousEnv(gym.Env):
    """``rlsuite/WalkToTContinuous-v0``: observation ``[position]``, action ``[velocity]``."""

    metadata = {"render_modes": ["ansi", "human", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        length: float = 5.0,
        goal_radius: float = 0.5,
        step_cost: float = 0.01,
        random_start: bool = False,
        render_mode: str | None = None,
        cell_px: int = 8,
    ) -> None:
        if length <= goal_radius or goal_radius <= 0:
            raise RLSuiteError(f"length={length} and goal_radius={goal_radius}: need 0 < goal_radius < length.")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise RLSuiteError(
                f"render_mode={render_mode!r} is not supported; use one of {self.metadata['render_modes']}."
            )
        self.length, self.goal_radius, self.step_cost = float(length), float(goal_radius), float(step_cost)
        self.random_start, self.render_mode, self.cell_px = bool(random_start), render_mode, int(cell_px)
        self.observation_space = spaces.Box(0.0, self.length, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.position = 0.0

    def _obs(self) -> np.ndarray:
        return np.array([self.position], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        goal_start = self.length - self.goal_radius
        self.position = float(self.np_random.uniform(0.0, goal_start)) if self.random_start else 0.0
        if self.render_mode == "human":
            self.render()
        return self._obs(), {}

    def step(self, action):
        velocity = float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], -1.0, 1.0))
        self.position = min(max(self.position + velocity, 0.0), self.length)
        reached = self.position >= self.length - self.goal_radius
        reward = (1.0 if reached else 0.0) - self.step_cost
        if self.render_mode == "human":
            self.render()
        return self._obs(), reward, reached, False, {}

    def render(self):
        n_cells = int(round(self.length)) + 1
        if self.render_mode == "rgb_array":
            px = self.cell_px
            image = np.full((px, px * n_cells, 3), 40, dtype=np.uint8)
            image[:, (n_cells - 1) * px :] = (0, 200, 0)
            x = int(round(self.position / self.length * (n_cells - 1) * px))
            image[:, max(x - px // 2, 0) : x + px // 2 + 1] = 255
            return image
        cells = ["-"] * (n_cells - 1) + ["T"]
        if self.position < self.length - self.goal_radius:
            cells[int(round(self.position))] = "u"
        line = " ".join(cells) + f"   x={self.position:.2f}"
        if self.render_mode == "human":
            print(line)
            return None
        return line
