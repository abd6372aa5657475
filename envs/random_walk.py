"""Sutton & Barto's random walk: the 5-state walk of Example 6.2 and the 19-state walk of
Chapters 7 and 12 (Figures 6.2, 7.2, 12.3, 12.6, 12.8).

A row of ``n_states`` non-terminal cells between two terminal ends. States are numbered left to
right: 0 is the left end, 1 … ``n_states`` the walk (A … E in the 5-state walk), ``n_states + 1``
the right end. Every episode starts in the centre cell (C; cell 10 of 19). Actions are 0 = left
and 1 = right, each a move of one cell; stepping onto an end terminates the episode with
``left_reward`` or ``right_reward``, every other step gives 0. The book's walk is this env under
the equiprobable random policy: ``rlsuite.solve(id, gamma=1.0, policy="random")`` gives its true
values, 1/6 … 5/6 for Example 6.2 (rewards 0 and +1) and −0.9, −0.8, …, 0.9 for the 19-state
walk (rewards −1 and +1).

In ``P`` the two ends are absorbing (every action stays with reward 0 and ``terminated`` True), as
in Gymnasium's toy-text envs. Both actions are allowed everywhere.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from rlsuite.core.errors import RLSuiteError
from rlsuite.envs._grid import GridEnv, check_render_mode

LEFT, RIGHT = 0, 1


class RandomWalkEnv(GridEnv):
    """``rlsuite/RandomWalk-v0`` (5 states, rewards 0 / +1) and ``rlsuite/RandomWalk19-v0`` (19
    states, rewards −1 / +1): observation is the cell (0 and ``n_states + 1`` the ends), actions
    0 = left, 1 = right.

    Args:
        n_states: non-terminal cells, an odd number >= 3 so that the walk has a centre.
        left_reward: the reward for stepping onto the left end.
        right_reward: the reward for stepping onto the right end.
        render_mode: "ansi" / "human" draw ``T A B C D E T`` (the 5-state walk's letters; cell
            numbers for longer walks) with the agent's cell in brackets; "rgb_array" draws a
            ``cell_px`` × ``(n_states + 2) * cell_px`` image (ends green, agent white).
        cell_px: side of one cell in the "rgb_array" image, in pixels.
    """

    metadata = {"render_modes": ["ansi", "human", "rgb_array"], "render_fps": 4}
    action_names = ("left", "right")

    def __init__(
        self,
        n_states: int = 5,
        left_reward: float = 0.0,
        right_reward: float = 1.0,
        render_mode: str | None = None,
        cell_px: int = 8,
    ) -> None:
        if int(n_states) != n_states or n_states < 3 or n_states % 2 == 0:
            raise RLSuiteError(
                f"n_states={n_states} has no centre cell; pass an odd number >= 3 (the book uses 5 and 19)."
            )
        self.n_states = int(n_states)
        self.left_reward, self.right_reward = float(left_reward), float(right_reward)
        self.render_mode = check_render_mode(render_mode)
        self.cell_px = int(cell_px)
        ends = (0, self.n_states + 1)
        self.grid_shape = (1, self.n_states + 2)
        self.start = (self.n_states + 1) // 2
        letters = [chr(ord("A") + i) for i in range(self.n_states)] if self.n_states <= 26 else []
        names = letters if self.n_states <= 7 else [str(s) for s in range(1, self.n_states + 1)]
        self.state_names = ("left end", *names, "right end")
        self._labels = {ends[0]: "T", ends[1]: "T", **{s: names[s - 1][-1] for s in range(1, self.n_states + 1)}}
        self._colors = {end: (0, 200, 0) for end in ends}
        self.observation_space = spaces.Discrete(self.n_states + 2)
        self.action_space = spaces.Discrete(2)
        self.P = {s: {a: [self._transition(s, a)] for a in (LEFT, RIGHT)} for s in range(self.n_states + 2)}
        self._starts = np.array([self.start])
        self._mask = np.ones(2, dtype=np.int8)
        self.state = self.start

    def _transition(self, state: int, action: int) -> tuple[float, int, float, bool]:
        if state in (0, self.n_states + 1):  # absorbing, as in Gymnasium's toy-text envs
            return (1.0, state, 0.0, True)
        next_state = state - 1 if action == LEFT else state + 1
        if next_state == 0:
            return (1.0, 0, self.left_reward, True)
        if next_state == self.n_states + 1:
            return (1.0, next_state, self.right_reward, True)
        return (1.0, next_state, 0.0, False)

    def action_mask(self, state: int) -> np.ndarray:
        """A(s) as a 0/1 vector: both moves are allowed in every cell."""
        return np.ones(2, dtype=np.int8)

    def true_values(self) -> np.ndarray:
        """v of the equiprobable random policy (γ = 1) for every cell, the ends 0: linear between
        the two end rewards, the closed form of the book's true values."""
        cells = np.arange(self.n_states + 2) / (self.n_states + 1)
        values = self.left_reward + (self.right_reward - self.left_reward) * cells
        values[[0, -1]] = 0.0
        return values
