"""Sutton & Barto's maximization-bias MDP (Example 6.7, Figure 6.5).

States: A = 0 (the start), B = 1, and one terminal state 2 that both ends lead to.
The action space is ``Discrete(max(2, n_b_actions))`` and its numbering depends on the state:

* in A, 0 = left (to B, reward 0) and 1 = right (the episode ends, reward 0);
* in B, each of the actions 0 … n_b_actions − 1 ends the episode with a reward drawn from
  N(b_mean, b_std²), by default N(−0.1, 1). ``P`` holds the mean, b_mean, as the reward.

An action outside A(s) (2 and up in A, n_b_actions and up in B) is not refused: like the
recycling robot's recharge when the battery is high, it wastes the step, staying where it is
with reward 0. ``info["action_mask"]`` and ``action_mask(state)`` mark A(s); the terminal state
is absorbing (in ``P`` every action there stays with reward 0 and ``terminated`` True) and its
mask is all ones. Every episode starts in A and lasts one or two steps; the registered time
limit (``max_episode_steps=100``) only matters for a policy that keeps wasting steps.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlsuite.core.errors import RLSuiteError
from rlsuite.envs._grid import check_render_mode, image_grid, text_grid

A, B, TERMINAL = 0, 1, 2
LEFT, RIGHT = 0, 1  # in A
# render cells, left to right as in the book's figure: terminal, B, A, terminal
_LEFT_END, _B_CELL, _A_CELL, _RIGHT_END = 0, 1, 2, 3


class MaximizationBiasEnv(gym.Env):
    """``rlsuite/MaximizationBias-v0``: observation 0 = A, 1 = B, 2 = terminal.

    Args:
        n_b_actions: how many actions B offers (at least 1; the book uses "many", here 10).
        b_mean: mean of the reward for each of B's actions.
        b_std: standard deviation of that reward (0 makes it deterministic).
        render_mode: "ansi" / "human" draw ``T  B  A  T`` with the agent's cell in brackets;
            "rgb_array" draws a ``cell_px`` × ``4 * cell_px`` image (ends green, agent white).
        cell_px: side of one cell in the "rgb_array" image, in pixels.
    """

    metadata = {"render_modes": ["ansi", "human", "rgb_array"], "render_fps": 4}
    state_names = ("A", "B", "terminal")
    action_names: tuple[str, ...]
    _labels = {_LEFT_END: "T", _B_CELL: "B", _A_CELL: "A", _RIGHT_END: "T"}
    _colors = {_LEFT_END: (0, 200, 0), _RIGHT_END: (0, 200, 0)}

    def __init__(
        self,
        n_b_actions: int = 10,
        b_mean: float = -0.1,
        b_std: float = 1.0,
        render_mode: str | None = None,
        cell_px: int = 8,
    ) -> None:
        if int(n_b_actions) < 1:
            raise RLSuiteError(
                f"n_b_actions={n_b_actions} is too small; pass n_b_actions >= 1 (B needs at least one action)."
            )
        if not b_std >= 0:
            raise RLSuiteError(f"b_std={b_std} is not a standard deviation; choose a value >= 0.")
        self.n_b_actions = int(n_b_actions)
        self.b_mean, self.b_std = float(b_mean), float(b_std)
        self.render_mode = check_render_mode(render_mode)
        self.cell_px = int(cell_px)
        n_actions = max(2, self.n_b_actions)
        self.observation_space = spaces.Discrete(3)
        self.action_space = spaces.Discrete(n_actions)
        self.action_names = tuple(self._action_name(a) for a in range(n_actions))
        self._masks = np.array([self.action_mask(s) for s in (A, B, TERMINAL)], dtype=np.int8)
        self.P = {s: {a: [self._transition(s, a)] for a in range(n_actions)} for s in (A, B, TERMINAL)}
        self.state, self._exit = A, _RIGHT_END  # _exit: which end the render shows the terminal state at

    def _action_name(self, action: int) -> str:
        names = [("left", "right")[action]] if action < 2 else []
        names += [f"b{action}"] if action < self.n_b_actions else []
        return "/".join(names)

    def _transition(self, state: int, action: int) -> tuple[float, int, float, bool]:
        if state == TERMINAL:  # absorbing, as in Gymnasium's toy-text envs
            return (1.0, TERMINAL, 0.0, True)
        if not self._masks[state][action]:
            return (1.0, state, 0.0, False)  # outside A(s): a wasted step
        if state == A:
            return (1.0, B, 0.0, False) if action == LEFT else (1.0, TERMINAL, 0.0, True)
        return (1.0, TERMINAL, self.b_mean, True)

    @property
    def steps_by_P(self) -> bool:
        """Whether step() is exactly a draw from P: only when B's rewards are not random (b_std = 0)."""
        return self.b_std == 0

    @property
    def initial_state_distrib(self) -> np.ndarray:
        """Where reset() starts, as probabilities over the states: always A."""
        return np.array([1.0, 0.0, 0.0])

    def action_mask(self, state: int) -> np.ndarray:
        """A(s) as a 0/1 vector: left and right in A, the first ``n_b_actions`` in B, all at the end."""
        n_actions = max(2, self.n_b_actions)
        if state == A:
            allowed = 2
        elif state == B:
            allowed = self.n_b_actions
        else:
            allowed = n_actions
        return (np.arange(n_actions) < allowed).astype(np.int8)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.state = A
        if self.render_mode == "human":
            self.render()
        return self.state, {"action_mask": self._masks[self.state].copy()}

    def step(self, action):
        action = int(action)
        state = self.state
        _, self.state, reward, terminated = self.P[state][action][0]
        if state == B and action < self.n_b_actions:
            reward = float(self.np_random.normal(self.b_mean, self.b_std))
            self._exit = _LEFT_END
        elif state == A and self.state == TERMINAL:
            self._exit = _RIGHT_END
        if self.render_mode == "human":
            self.render()
        return self.state, reward, terminated, False, {"action_mask": self._masks[self.state].copy()}

    def render(self):
        cell = {A: _A_CELL, B: _B_CELL}.get(self.state, self._exit)
        if self.render_mode == "rgb_array":
            return image_grid((1, 4), self._colors, cell, self.cell_px)
        text = text_grid((1, 4), self._labels, cell)
        if self.render_mode == "human":
            print(text)
            return None
        return text
