"""A replay buffer for stacked frames that stores each frame once.

An observation of the Atari preprocessing (:mod:`rlsuite.core.atari`) is the last C = 4 frames,
(C, 84, 84) uint8, and shares C − 1 of them with the one before it. :class:`FrameReplayBuffer`
keeps, per slot and env, the newest frame of the slot's observation and its age in the episode
(capped at C − 1), and rebuilds an observation from the frames of the slots before it; an episode's
first observation repeats its first frame (Gymnasium's ``FrameStackObservation`` pads so). The
final observation of an episode is the last one shifted by one frame: only that frame is kept, for
the transitions that ended. So a transition costs one 84×84 frame and a few bytes, 7.1 kB instead
of 28 kB (1 M transitions: 7.1 GB). Every stored observation is checked against what the buffer
will rebuild from it, so a sampled (obs, next_obs) pair is the env's exactly.

Once the buffer is full, the C − 1 oldest slots are not sampled: the frames before them are
already overwritten.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rlsuite.core.envspec import EnvSpec
from rlsuite.core.errors import RLSuiteError
from rlsuite.learning.replay import ReplayBuffer


def stores_frames(env: EnvSpec | None, observation_space: gym.Space) -> bool:
    """Whether ``env``'s observations are stacked frames this buffer can hold: the ALE's, preprocessed."""
    from rlsuite.core.atari import FRAME_STACK, is_atari

    shape = getattr(observation_space, "shape", None)
    return (
        isinstance(env, str)
        and env in gym.registry
        and is_atari(env)
        and isinstance(observation_space, gym.spaces.Box)
        and observation_space.dtype == np.uint8
        and shape is not None
        and len(shape) == 3
        and shape[0] == FRAME_STACK
    )


def buffer_kind(arrays: dict[str, np.ndarray]) -> type[ReplayBuffer]:
    """The buffer class whose :meth:`~ReplayBuffer.state_arrays` these are (a checkpoint's replay.npz)."""
    return FrameReplayBuffer if "frames" in arrays else ReplayBuffer


class FrameReplayBuffer(ReplayBuffer):
    """:class:`~rlsuite.learning.replay.ReplayBuffer` of stacked-frame observations, each frame stored once."""

    frame_storage = True

    def _allocate_obs(self, observation_space: gym.Space) -> None:
        self.stack, *frame = observation_space.shape
        if self.capacity <= self.stack:
            raise RLSuiteError(f"a replay buffer of stacked frames needs more than {self.stack} slots per env.")
        shape = (self.capacity, self.n_envs)
        self.frames = np.zeros(shape + tuple(frame), dtype=np.uint8)
        self.age = np.zeros(shape, dtype=np.uint8)  # steps since the episode's first observation, at most C − 1
        self.final_frames = np.zeros_like(self.frames)  # pages written only for the transitions that ended
        self.starts = np.ones(self.n_envs, dtype=bool)  # whether the next stored obs begins an episode

    def _store_obs(self, p: int, nxt: int, obs: np.ndarray, next_obs: np.ndarray, ended: np.ndarray) -> None:
        obs, next_obs = np.asarray(obs), np.asarray(next_obs)
        begin = self.starts
        if begin.any():
            first = obs[begin]
            if not (first == first[:, -1:]).all():
                raise self._not_frames("an episode's first observation does not repeat its first frame")
            self.frames[p][begin] = first[:, -1]
            self.age[p][begin] = 0
        if not (next_obs[:, :-1] == obs[:, 1:]).all():
            raise self._not_frames("a next observation is not the observation shifted by one frame")
        if ended.any():
            self.final_frames[p][ended] = next_obs[ended, -1]
        going = ~ended
        self.frames[nxt][going] = next_obs[going, -1]
        self.age[nxt][going] = np.minimum(self.age[p][going] + 1, self.stack - 1)
        self.starts = np.asarray(ended, dtype=bool).copy()

    def _not_frames(self, what: str) -> RLSuiteError:
        return RLSuiteError(
            f"the replay buffer of stacked frames got observations that are not a frame stack ({what}); "
            "it holds the Atari preprocessing's observations only."
        )

    def _obs_at(self, slots: np.ndarray, envs: np.ndarray) -> np.ndarray:
        back = np.arange(self.stack - 1, -1, -1)[None, :]
        rows = (slots[:, None] - np.minimum(back, self.age[slots, envs][:, None])) % self.capacity
        return self.frames[rows, envs[:, None]]

    def _next_obs_at(self, slots: np.ndarray, envs: np.ndarray, ended: np.ndarray) -> np.ndarray:
        next_obs = self._obs_at((slots + 1) % self.capacity, envs)
        if ended.any():
            last = self._obs_at(slots[ended], envs[ended])
            next_obs[ended] = np.concatenate([last[:, 1:], self.final_frames[slots[ended], envs[ended]][:, None]], 1)
        return next_obs

    def _oldest_unsampled(self) -> int:
        return self.stack  # the slot written ahead, and the C − 1 after it whose older frames are gone

    # ----- checkpoints --------------------------------------------------------------------------
    def _obs_arrays(self, used: int, ahead: int) -> dict[str, np.ndarray]:
        slots, envs = np.nonzero(self.ended[:used])
        return {
            "frames": self.frames[:ahead],
            "age": self.age[:ahead],
            "final_index": np.stack([slots, envs], axis=1).astype(np.int64),
            "final_frames": self.final_frames[slots, envs],
            "starts": self.starts,
        }

    def _load_obs_arrays(self, arrays: dict[str, np.ndarray], columns: slice | None = None) -> None:
        columns = columns or slice(0, self.n_envs)
        self.frames[: len(arrays["frames"]), columns] = arrays["frames"]
        self.age[: len(arrays["age"]), columns] = arrays["age"]
        slots, envs = arrays["final_index"].T if len(arrays["final_index"]) else (np.zeros(0, int),) * 2
        self.final_frames[slots, envs + columns.start] = arrays["final_frames"]
        self.starts[columns] = arrays["starts"]

    def _member_obs_arrays(self, arrays: dict[str, np.ndarray], columns: slice) -> dict[str, np.ndarray]:
        index = arrays["final_index"]
        mine = (index[:, 1] >= columns.start) & (index[:, 1] < columns.stop)
        return {
            "frames": arrays["frames"][:, columns].copy(),
            "age": arrays["age"][:, columns].copy(),
            "final_index": index[mine] - np.array([0, columns.start]),
            "final_frames": arrays["final_frames"][mine],
            "starts": arrays["starts"][columns].copy(),
        }

    @staticmethod
    def obs_shapes(observation_space: gym.Space) -> dict[str, tuple[int, ...]]:
        return {"frames": tuple(observation_space.shape[1:]), "age": ()}
