"""What rlsuite's grid worlds share: row-major cell numbering, moves, and drawing.

Cells are numbered row-major from the top-left (``state = row * cols + col``) and actions
are 0 = left, 1 = down, 2 = right, 3 = up, as in Gymnasium's FrozenLake.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlsuite.core.errors import RLSuiteError

LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3
ACTION_NAMES = ("left", "down", "right", "up")
_DELTAS = {LEFT: (0, -1), DOWN: (1, 0), RIGHT: (0, 1), UP: (-1, 0)}
RENDER_MODES = ["ansi", "human", "rgb_array"]


def move(state: int, action: int, shape: tuple[int, int]) -> tuple[int, bool]:
    """``(next_state, off_grid)``: the cell ``action`` leads to, or ``state`` itself (and
    ``off_grid`` True) when the move would leave the grid."""
    rows, cols = shape
    row, col = divmod(state, cols)
    d_row, d_col = _DELTAS[action]
    row, col = row + d_row, col + d_col
    if not (0 <= row < rows and 0 <= col < cols):
        return state, True
    return row * cols + col, False


def cell_names(shape: tuple[int, int], labels: dict[int, str] | None = None) -> tuple[str, ...]:
    """``"(row,col)"`` per state, with ``labels`` (e.g. ``{1: "A"}``) appended as ``"A(0,1)"``."""
    labels = labels or {}
    return tuple(f"{labels.get(s, '')}({s // shape[1]},{s % shape[1]})" for s in range(shape[0] * shape[1]))


def check_start(start: int | None, n_states: int, forbidden: tuple[int, ...] = ()) -> int | None:
    """``start`` as an int (or None for a random start), or an RLSuiteError naming the fix."""
    if start is None:
        return None
    if not 0 <= int(start) < n_states:
        raise RLSuiteError(
            f"start={start} is outside the grid; pass a cell index in [0, {n_states - 1}] or None for a random start."
        )
    if int(start) in forbidden:
        raise RLSuiteError(
            f"start={start} is a terminal cell; pass a non-terminal cell index or None for a random start."
        )
    return int(start)


def check_render_mode(render_mode: str | None) -> str | None:
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise RLSuiteError(f"render_mode={render_mode!r} is not supported; use one of {RENDER_MODES}.")
    return render_mode


def text_grid(shape: tuple[int, int], labels: dict[int, str], agent: int) -> str:
    """One line per row, one 3-character cell each: the cell's label (``.`` when it has none),
    in brackets where the agent is."""
    rows, cols = shape
    lines = []
    for row in range(rows):
        cells = []
        for col in range(cols):
            s = row * cols + col
            label = labels.get(s, ".")
            cells.append(f"[{label}]" if s == agent else f" {label} ")
        lines.append("".join(cells).rstrip())
    return "\n".join(lines)


def image_grid(shape: tuple[int, int], colors: dict[int, tuple[int, int, int]], agent: int, px: int) -> np.ndarray:
    """A ``rows * px`` × ``cols * px`` uint8 image: cells grey or their ``colors``, the agent a
    white square inside its cell, black borders between cells."""
    rows, cols = shape
    image = np.full((rows * px, cols * px, 3), 40, dtype=np.uint8)
    for s, color in colors.items():
        row, col = divmod(s, cols)
        image[row * px : (row + 1) * px, col * px : (col + 1) * px] = color
    row, col = divmod(agent, cols)
    inset = max(px // 4, 1) if px >= 4 else 0
    image[row * px + inset : (row + 1) * px - inset, col * px + inset : (col + 1) * px - inset] = 255
    image[::px, :] = 0
    image[:, ::px] = 0
    return image


class GridEnv(gym.Env):
    """What a grid world does once its ``P``, start cells (``_starts``), ``_labels`` and ``_colors``
    are set: it starts in ``start`` or a uniformly drawn start cell, steps by ``P``, allows every
    action everywhere, and draws itself as text or an image."""

    grid_shape: tuple[int, int]
    _labels: dict[int, str]
    _colors: dict[int, tuple[int, int, int]]
    steps_by_P = True  # step() is exactly P, so rlsuite.vecenv.psim may step copies of it by P

    @property
    def initial_state_distrib(self) -> np.ndarray:
        """Where reset() starts, as probabilities over the cells: ``start``, or uniform over the start cells."""
        distribution = np.zeros(self.grid_shape[0] * self.grid_shape[1])
        if self.start is not None:
            distribution[self.start] = 1.0
        else:
            distribution[self._starts] = 1.0 / len(self._starts)
        return distribution

    def action_mask(self, state: int) -> np.ndarray:
        """A(s) as a 0/1 vector: every action is allowed in every cell."""
        return np.ones(len(ACTION_NAMES), dtype=np.int8)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.state = self.start if self.start is not None else int(self.np_random.choice(self._starts))
        if self.render_mode == "human":
            self.render()
        return self.state, {"action_mask": self._mask.copy()}

    def step(self, action):
        _, self.state, reward, terminated = self.P[self.state][int(action)][0]
        if self.render_mode == "human":
            self.render()
        return self.state, reward, terminated, False, {"action_mask": self._mask.copy()}

    def render(self):
        if self.render_mode == "rgb_array":
            return image_grid(self.grid_shape, self._colors, self.state, self.cell_px)
        text = text_grid(self.grid_shape, self._labels, self.state)
        if self.render_mode == "human":
            print(text)
            return None
        return text
