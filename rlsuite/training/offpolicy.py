"""What DQN and DDPG share: a replay buffer filled every step and SB3-style training rounds.

Every transition goes into the buffer; every ``train_freq`` env steps, once more than
``learning_starts`` steps were taken, the agent runs ``gradient_steps`` updates
(−1 = as many as env steps collected since the last round). Subclasses write the update
(:meth:`train_round`) and any per-step work such as target updates (:meth:`after_step`).

:meth:`OffPolicyAgent.learn` checks that ``buffer_size`` fits in the memory available before the
run directory is touched. It checks there rather than in ``__init__``, so that loading a model
trained with a large buffer, to evaluate it on a smaller machine, still works.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from rlsuite.core.errors import RLSuiteError
from rlsuite.core.transition import Transition
from rlsuite.training.agent import Agent, ConfigT
from rlsuite.training.replay import ReplayBuffer, check_memory


class OffPolicyAgent(Agent[ConfigT]):
    """Base for replay-based agents; their config has buffer_size, batch_size, learning_starts,
    train_freq and gradient_steps."""

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: ConfigT | None = None,
                 seed: int = 0, **kw: Any):
        super().__init__(observation_space, action_space, config, seed, **kw)
        c = self.config
        if c.batch_size > c.buffer_size:
            raise RLSuiteError(f"{self.name} batch_size={c.batch_size} is larger than buffer_size={c.buffer_size}; "
                               "make the buffer at least one batch.")
        torch.manual_seed(self.seed)  # network initialisation draws from torch's global generator
        self.buffer: ReplayBuffer | None = None
        self._n_calls = 0
        self._env_steps_since_train = 0

    def learn(self, total_steps: int, run_dir: str | Path | None = None, resume: bool = False,
              progress: bool = False, **loop_settings: Any):
        check_memory(self.config.buffer_size, self.observation_space, self.action_space)
        return super().learn(total_steps, run_dir=run_dir, resume=resume, progress=progress, **loop_settings)

    def observe(self, batch: Transition) -> dict[str, float] | None:
        c = self.config
        n_envs = len(batch.reward)
        if self.buffer is None:
            n_mask = int(self.action_space.n) if batch.next_mask is not None and isinstance(
                self.action_space, spaces.Discrete) else None
            self.buffer = ReplayBuffer(max(c.buffer_size // n_envs, 2), self.observation_space, self.action_space,
                                       n_envs, n_mask)
        masks = self.buffer.masks is not None
        self.buffer.add(batch.obs, batch.action, batch.reward, batch.next_obs, batch.terminated, batch.truncated,
                        mask=batch.mask if masks else None, next_mask=batch.next_mask if masks else None)
        self.num_timesteps += n_envs
        self._n_calls += 1
        self._env_steps_since_train += n_envs
        self.after_step(batch)
        if self._n_calls % c.train_freq or self.num_timesteps <= c.learning_starts:
            return None
        steps = c.gradient_steps if c.gradient_steps >= 0 else self._env_steps_since_train
        self._env_steps_since_train = 0
        return self.train_round(steps) if steps > 0 else None

    def after_step(self, batch: Transition) -> None:
        """Per-step work after the transition is stored (nothing by default)."""

    @abstractmethod
    def train_round(self, gradient_steps: int) -> dict[str, float]:
        """Run ``gradient_steps`` updates on replayed batches; return the metrics to log."""

    def extra_state(self) -> dict[str, Any]:
        return {**super().extra_state(), "n_calls": self._n_calls, "env_steps_since_train": self._env_steps_since_train}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        super().load_extra_state(state)
        self._n_calls = int(state.get("n_calls", 0))
        self._env_steps_since_train = int(state.get("env_steps_since_train", 0))

    def replay_arrays(self) -> dict[str, np.ndarray] | None:
        return None if self.buffer is None else self.buffer.state_arrays()

    def load_replay_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.buffer = ReplayBuffer.from_arrays(arrays, self.observation_space, self.action_space)
