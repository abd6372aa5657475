"""Sutton & Barto's recycling robot (Example 1 of the RL chapter), a two-state continuing MDP.

States: high = 0, low = 1 (battery level). Actions: search = 0, wait = 1, recharge = 2.

=====  ========  =====  =============  ===============
s      a         s'     p(s' | s, a)   r(s, a, s')
=====  ========  =====  =============  ===============
high   search    high   alpha          r_search
high   search    low    1 - alpha      r_search
low    search    high   1 - beta       rescue_reward
low    search    low    beta           r_search
high   wait      high   1              r_wait
low    wait      low    1              r_wait
low    recharge  high   1              0
=====  ========  =====  =============  ===============

``recharge`` is not in A(high): ``info["action_mask"]`` says so, and an agent that ignores masks
and sends it anyway wastes the step (the robot stays high and gets reward 0).

The task never terminates; the registered time limit truncates it.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlsuite.core.errors import RLSuiteError

HIGH, LOW = 0, 1
SEARCH, WAIT, RECHARGE = 0, 1, 2


class RecyclingRobotEnv(gym.Env):
    """``rlsuite/RecyclingRobot-v0``.

    Args:
        alpha: probability that searching from high leaves the battery high.
        beta: probability that searching from low leaves the battery low (else it is rescued).
        r_search: expected number of cans collected while searching.
        r_wait: expected number of cans collected while waiting (the book assumes r_wait < r_search).
        rescue_reward: reward when the battery runs flat and the robot must be rescued.
        reward_mode: "expected" gives the table's expected rewards; "sampled" draws the number
            of cans from a Poisson distribution with that mean (``P`` still holds expectations).
    """

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 4}
    state_names = ("high", "low")
    action_names = ("search", "wait", "recharge")

    def __init__(
        self,
        alpha: float = 0.8,
        beta: float = 0.4,
        r_search: float = 2.0,
        r_wait: float = 0.5,
        rescue_reward: float = -3.0,
        reward_mode: str = "expected",
        render_mode: str | None = None,
    ) -> None:
        for name, p in (("alpha", alpha), ("beta", beta)):
            if not 0.0 <= p <= 1.0:
                raise RLSuiteError(f"{name}={p} is not a probability; choose a value in [0, 1].")
        if reward_mode not in ("expected", "sampled"):
            raise RLSuiteError(f"reward_mode={reward_mode!r} is unknown; use 'expected' or 'sampled'.")
        if reward_mode == "sampled" and min(r_search, r_wait) < 0:
            raise RLSuiteError("reward_mode='sampled' draws can counts, so r_search and r_wait must be >= 0.")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise RLSuiteError(
                f"render_mode={render_mode!r} is not supported; use one of {self.metadata['render_modes']}."
            )
        self.alpha, self.beta = float(alpha), float(beta)
        self.r_search, self.r_wait = float(r_search), float(r_wait)
        self.rescue_reward = float(rescue_reward)
        self.reward_mode = reward_mode
        self.render_mode = render_mode
        self.observation_space = spaces.Discrete(2)
        self.action_space = spaces.Discrete(3)
        a, b, rs, rw = self.alpha, self.beta, self.r_search, self.r_wait
        self.P = {
            HIGH: {
                SEARCH: [(a, HIGH, rs, False), (1 - a, LOW, rs, False)],
                WAIT: [(1.0, HIGH, rw, False)],
                RECHARGE: [(1.0, HIGH, 0.0, False)],  # not in A(high): a wasted step
            },
            LOW: {
                SEARCH: [(1 - b, HIGH, self.rescue_reward, False), (b, LOW, rs, False)],
                WAIT: [(1.0, LOW, rw, False)],
                RECHARGE: [(1.0, HIGH, 0.0, False)],
            },
        }
        self._masks = np.array([self.action_mask(HIGH), self.action_mask(LOW)], dtype=np.int8)
        self.state = HIGH

    @property
    def steps_by_P(self) -> bool:
        """Whether step() is exactly a draw from P: not when rewards are sampled (P holds their means)."""
        return self.reward_mode == "expected"

    @property
    def initial_state_distrib(self) -> np.ndarray:
        """Where reset() starts, as probabilities over the states: always high."""
        return np.array([1.0, 0.0])

    def action_mask(self, state: int) -> np.ndarray:
        """A(s) as a 0/1 vector: recharge is allowed only when the battery is low."""
        return np.array([1, 1, int(state == LOW)], dtype=np.int8)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.state = HIGH
        if self.render_mode == "human":
            self.render()
        return self.state, {"action_mask": self._masks[self.state].copy()}

    def step(self, action):
        action = int(action)
        outcomes = self.P[self.state][action]
        k = 0 if len(outcomes) == 1 else int(self.np_random.random() >= outcomes[0][0])
        rescued = self.state == LOW and action == SEARCH and k == 0
        _, self.state, reward, _ = outcomes[k]
        if self.reward_mode == "sampled" and action != RECHARGE and not rescued:
            reward = float(self.np_random.poisson(reward))  # cans collected
        if self.render_mode == "human":
            self.render()
        return self.state, float(reward), False, False, {"action_mask": self._masks[self.state].copy()}

    def render(self):
        line = f"battery: {self.state_names[self.state]}"
        if self.render_mode == "human":
            print(line)
            return None
        return line
