"""The agent interface the training loop drives.

An agent turns observations into actions and transitions into updates; it never steps an
environment and never writes a log. It returns metrics, and the loop logs them.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from rlsuite.core.config import build_config
from rlsuite.core.envspec import EnvSpec, env_name


@dataclass(slots=True)
class Transition:
    """One vector-env step, batched over envs.

    ``next_obs`` is the true next observation, also for envs whose episode just ended (the
    loop takes it from ``final_obs``), so a truncated transition can bootstrap from it;
    ``terminated`` says when not to bootstrap. ``next_mask`` is the action mask of
    ``next_obs`` when the env gives masks.
    """

    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    next_mask: np.ndarray | None = None


class Agent(ABC):
    """Base class: spaces, validated hyperparameters (``self.config``) and a seeded RNG.

    Subclasses set ``name``, ``Config`` (a dataclass of :func:`rlsuite.core.config.hp` fields) and
    implement :meth:`supports`, :meth:`act`, :meth:`predict`, :meth:`observe`,
    :meth:`state_tensors` and :meth:`load_state_tensors`.
    """

    name: ClassVar[str]
    Config: ClassVar[type]
    summary: ClassVar[str] = ""
    spaces_doc: ClassVar[str] = ""
    #: True for adapters of libraries that step the env themselves (agents/sb3.py); the loop then
    #: calls ``train_itself(total_steps, run_dir, settings, resume)`` instead of act/observe.
    collects_itself: ClassVar[bool] = False

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        config: Any = None,
        seed: int = 0,
        env: EnvSpec | None = None,
        env_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.observation_space = observation_space
        self.action_space = action_space
        self.config = config if config is not None else self.Config()
        self.seed = int(seed)
        self.env = env
        self.env_kwargs = dict(env_kwargs or {})
        self.rng = np.random.default_rng(self.seed)
        self.num_timesteps = 0
        self.total_steps = 1

    # ----- what the loop calls -------------------------------------------------------------
    @classmethod
    @abstractmethod
    def supports(cls, observation_space: gym.Space, action_space: gym.Space) -> str | None:
        """None if the agent handles these spaces, else a short reason why not."""

    @classmethod
    def make_config(cls, values: dict[str, Any]) -> Any:
        return build_config(cls.Config, values, owner=cls.name)

    def begin(self, total_steps: int) -> None:
        """Called once before training, with the number of env steps the run will take."""
        self.total_steps = max(int(total_steps), 1)

    @abstractmethod
    def act(self, obs: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """Exploratory actions for a batch of observations (one per env)."""

    @abstractmethod
    def observe(self, batch: Transition) -> dict[str, float] | None:
        """Learn from one batched transition; return metrics to log, or None."""

    @abstractmethod
    def predict(self, obs: Any, deterministic: bool = True, action_mask: np.ndarray | None = None) -> Any:
        """The action for one observation (or a batch), as Stable-Baselines3's predict returns it."""

    def logged_scalars(self) -> dict[str, float]:
        """Scalars the loop logs at every logging interval (e.g. the exploration rate)."""
        return {}

    # ----- persistence ----------------------------------------------------------------------
    @abstractmethod
    def state_tensors(self) -> dict[str, np.ndarray]:
        """Every array the agent needs to continue (weights, tables, optimiser moments)."""

    @abstractmethod
    def load_state_tensors(self, tensors: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`state_tensors` returned."""

    def extra_state(self) -> dict[str, Any]:
        """JSON-serialisable state besides the arrays (counters, RNG states)."""
        return {"num_timesteps": self.num_timesteps, "rng": self.rng.bit_generator.state}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.num_timesteps = int(state.get("num_timesteps", 0))
        if "rng" in state:
            self.rng.bit_generator.state = state["rng"]

    def replay_arrays(self) -> dict[str, np.ndarray] | None:
        """The replay buffer's arrays for a resumable checkpoint (None for agents without one)."""
        buffer = getattr(self, "buffer", None)
        return None if buffer is None else buffer.state_arrays()

    def load_replay_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        from rlsuite.training.replay import ReplayBuffer

        self.buffer = ReplayBuffer.from_arrays(arrays, self.observation_space, self.action_space)

    def hyperparameters(self) -> dict[str, Any]:
        return dataclasses.asdict(self.config)

    # ----- the user's API -------------------------------------------------------------------
    def learn(
        self,
        total_steps: int,
        run_dir: str | Path | None = None,
        resume: bool = False,
        progress: bool = False,
        **loop_settings: Any,
    ):
        """Train for ``total_steps`` env steps; logs, checkpoints and a summary go to ``run_dir``."""
        from rlsuite.training.loop import LoopSettings, train

        settings = LoopSettings.build(loop_settings)
        settings.progress = progress
        return train(self, total_steps, run_dir=run_dir, settings=settings, resume=resume)

    def save(self, path: str | Path) -> Path:
        """Write the agent to the directory ``path`` (safetensors + JSON, no pickle)."""
        from rlsuite.training.checkpoint import save_agent

        return save_agent(self, Path(path))

    def __repr__(self) -> str:
        env = env_name(self.env) if self.env is not None else "?"
        return f"{type(self).__name__}(env={env!r}, seed={self.seed}, {self.config})"
