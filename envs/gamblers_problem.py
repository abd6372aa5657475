"""The gambler's problem (Sutton & Barto, Example 4.3, Figure 4.3), an episodic finite MDP.

A gambler with capital s (the state, 0 … 100) stakes a whole number of dollars on a coin flip:
heads (probability ``p_h``, 0.4 in the book) wins the stake, tails loses it. The episode ends at
0 (ruin) or 100 (the goal); reaching the goal gives reward +1, every other transition 0, so with
γ = 1 the value of a state is the probability of reaching the goal from it.

The action is the stake. A(s) = 1 … min(s, 100 − s) (``info["action_mask"]``, ``action_mask(state)``);
the book's action set also holds the stake 0, which bets nothing, and so does every stake outside
A(s) here: the capital stays as it is, with reward 0. The stake 0 is never strictly better than a
real bet, and would make every state a tie between itself and the best stake. The states 0 and 100
are absorbing in ``P`` (every action stays, reward 0, terminated), as in Gymnasium's toy-text envs.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlsuite.core.errors import RLSuiteError

GOAL = 100


class GamblersProblemEnv(gym.Env):
    """``rlsuite/GamblersProblem-v0``: observation the capital 0 … 100, action the stake 0 … 50.

    Args:
        p_h: the probability that the coin comes up heads (the gambler wins the stake).
        start: the capital to start with (1 … 99); None (the default) draws it uniformly at every reset.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}
    steps_by_P = True  # step() is exactly P, so rlsuite.vecenv.psim may step copies of it by P

    def __init__(self, p_h: float = 0.4, start: int | None = None, render_mode: str | None = None) -> None:
        if not 0 <= p_h <= 1:
            raise RLSuiteError(f"p_h={p_h!r} is not a probability; choose a value in [0, 1] (the book: 0.4).")
        if start is not None and not (isinstance(start, (int, np.integer)) and 0 < start < GOAL):
            raise RLSuiteError(f"start={start!r} is not a capital to play from; pass 1 … {GOAL - 1}, or None.")
        if render_mode not in (None, "ansi"):
            raise RLSuiteError(f"render_mode={render_mode!r} is not supported; use None or 'ansi'.")
        self.p_h, self.start, self.render_mode = float(p_h), start, render_mode
        self.observation_space = spaces.Discrete(GOAL + 1)
        self.action_space = spaces.Discrete(GOAL // 2 + 1)
        self.state_names = tuple(f"${s}" for s in range(GOAL + 1))
        self.action_names = tuple(f"stake {a}" for a in range(GOAL // 2 + 1))
        self.P = {s: {a: self._outcomes(s, a) for a in range(GOAL // 2 + 1)} for s in range(GOAL + 1)}
        self.state = GOAL // 2

    def _outcomes(self, s: int, stake: int) -> list[tuple[float, int, float, bool]]:
        if s in (0, GOAL):  # absorbing, as in Gymnasium's toy-text envs
            return [(1.0, s, 0.0, True)]
        if not self.action_mask(s)[stake]:
            return [(1.0, s, 0.0, False)]  # no bet
        win, lose = s + stake, s - stake
        return [(self.p_h, win, float(win == GOAL), win == GOAL), (1.0 - self.p_h, lose, 0.0, lose == 0)]

    def action_mask(self, state: int) -> np.ndarray:
        """A(s) as a 0/1 vector: the stakes 1 … min(s, 100 − s); every stake at the ends."""
        stakes = np.arange(GOAL // 2 + 1)
        if state in (0, GOAL):
            return np.ones(len(stakes), dtype=np.int8)
        return ((stakes >= 1) & (stakes <= min(state, GOAL - state))).astype(np.int8)

    @property
    def initial_state_distrib(self) -> np.ndarray:
        """Where reset() starts, as probabilities over the capitals: ``start``, or uniform over 1 … 99."""
        distribution = np.zeros(GOAL + 1)
        if self.start is not None:
            distribution[self.start] = 1.0
        else:
            distribution[1:GOAL] = 1.0 / (GOAL - 1)
        return distribution

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.state = self.start if self.start is not None else int(self.np_random.integers(1, GOAL))
        return self.state, {"action_mask": self.action_mask(self.state)}

    def step(self, action):
        outcomes = self.P[self.state][int(action)]
        k = 0 if len(outcomes) == 1 or self.np_random.random() < outcomes[0][0] else 1
        _, self.state, reward, terminated = outcomes[k]
        return self.state, reward, terminated, False, {"action_mask": self.action_mask(self.state)}

    def render(self):
        return f"capital ${self.state}"
