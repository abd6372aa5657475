"""The environments the training loop steps.

``n_envs > 1`` uses Gymnasium's ``SyncVectorEnv`` with same-step autoreset and its vector
``RecordEpisodeStatistics``. With one env (the default) the loop steps
:class:`SingleEnvVector`, which speaks the same vector-env protocol for a batch of one but
skips the per-step info merging that costs SyncVectorEnv about 20 µs a step, several times
the cost of a toy-text env's own step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import batch_space


class SingleEnvVector(gym.vector.VectorEnv):
    """One env as a same-step-autoreset vector env of size 1, with Gymnasium's episode statistics.

    Returns what ``RecordEpisodeStatistics(SyncVectorEnv([make], autoreset_mode=SAME_STEP))``
    returns: batched observations, rewards and flags; ``final_obs``/``final_info`` and
    ``episode`` = {"r", "l"} in the infos of a step that ends an episode.
    """

    metadata = {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}

    def __init__(self, make: Callable[[], gym.Env]) -> None:
        self.env = gym.wrappers.RecordEpisodeStatistics(make())
        self.num_envs = 1
        self.single_observation_space = self.env.observation_space
        self.single_action_space = self.env.action_space
        self.observation_space = batch_space(self.single_observation_space, 1)
        self.action_space = batch_space(self.single_action_space, 1)
        self._tuple_obs = isinstance(self.single_observation_space, spaces.Tuple)
        self._true = np.ones(1, dtype=bool)
        self._false = np.zeros(1, dtype=bool)
        self.rng_before_reset: dict[str, Any] | None = None

    def _batch(self, obs: Any) -> Any:
        if self._tuple_obs:
            return tuple(np.array([o]) for o in obs)
        return np.asarray(obs)[None]

    def _batch_info(self, info: dict[str, Any]) -> dict[str, Any]:
        if info.keys() == {"action_mask"}:  # the common case, without the generic merge
            return {"action_mask": info["action_mask"][None], "_action_mask": self._true}
        return self._add_info({}, info, 0) if info else {}

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        if isinstance(seed, list):
            seed = seed[0]
        obs, info = self.env.reset(seed=seed, options=options)
        return self._batch(obs), self._batch_info(info)

    def step(self, actions):
        obs, reward, terminated, truncated, info = self.env.step(actions[0])
        if terminated or truncated:
            episode = info.pop("episode")
            final_obs = np.empty(1, dtype=object)
            final_obs[0] = obs
            final_info = self._batch_info(info)
            # kept so a checkpoint taken now can replay this reset exactly on resume
            self.rng_before_reset = self.env.unwrapped.np_random.bit_generator.state  # a fresh dict
            obs, info = self.env.reset()
            infos = self._batch_info(info)
            infos.update(
                final_obs=final_obs,
                _final_obs=self._true,
                final_info=final_info,
                _final_info=self._true,
                episode={"r": np.array([episode["r"]]), "l": np.array([episode["l"]])},
                _episode=self._true,
            )
        else:
            infos = self._batch_info(info)
        return (
            self._batch(obs),
            np.array([reward], dtype=np.float64),
            self._true if terminated else self._false,
            self._true if truncated else self._false,
            infos,
        )

    def restore_reset(self, rng_state: dict[str, Any]):
        """Reset as the checkpointed run did at an episode boundary: same RNG state, same first obs."""
        self.env.unwrapped.np_random.bit_generator.state = rng_state
        obs, info = self.env.reset()
        return self._batch(obs), self._batch_info(info)

    def close_extras(self, **kwargs: Any) -> None:
        self.env.close()


def make_vector_env(make: Callable[[], gym.Env], n_envs: int) -> gym.vector.VectorEnv:
    """``n_envs`` copies of ``make()`` with same-step autoreset and episode statistics."""
    if n_envs == 1:
        return SingleEnvVector(make)
    envs = gym.vector.SyncVectorEnv([make] * n_envs, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    return gym.wrappers.vector.RecordEpisodeStatistics(envs)
