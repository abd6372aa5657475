"""The standard Atari preprocessing, applied to the ALE's envs when they are made by id.

The protocol of the DQN paper as Machado et al. (2018) revisit it, and as Stable-Baselines3's
``AtariWrapper`` and CleanRL apply it:

* up to 30 no-op actions after each reset, a frame skip of 4 with the max over the last two
  frames, frames of 84×84 grayscale (Gymnasium's ``AtariPreprocessing``);
* FIRE pressed after a reset in games that wait for it (:class:`FireReset`);
* the last 4 frames stacked, (4, 84, 84) uint8 (Gymnasium's ``FrameStackObservation``);
* in training only: a lost life ends the episode, though the game goes on
  (:class:`EpisodicLife`), and rewards are clipped to their sign.

Evaluation envs play whole games with raw rewards, so evaluation returns are game scores; the
training loop records whole games too (:class:`GameScore`). ``ALE/<Game>-v5`` keeps v5's sticky
actions (the previous action repeats with probability 0.25, Machado et al.'s recommendation);
``<Game>NoFrameskip-v4`` has none. ``preprocessing=False`` in the env's keyword arguments gives
the raw env.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import gymnasium as gym
import numpy as np

if TYPE_CHECKING:
    from ale_py.env import AtariEnv

FRAME_SKIP, NOOP_MAX, SCREEN_SIZE, FRAME_STACK = 4, 30, 84, 4


def is_atari(env_id: str) -> bool:
    """Whether the registered ``env_id`` is one of the ALE's envs."""
    entry = gym.registry[env_id].entry_point
    return (entry if isinstance(entry, str) else getattr(entry, "__module__", "")).startswith("ale_py")


def _ale_env(env: gym.Env) -> AtariEnv:
    # the wrappers here only ever wrap an ALE env, which Gymnasium types as a plain Env
    return cast("AtariEnv", env.unwrapped)


class GameScore(gym.Wrapper):
    """The raw score and length (in agent steps) of every whole game: ``info["game_return"]`` and
    ``info["game_length"]`` at the step that ends it, whatever the wrappers above make of lives and
    rewards."""

    def reset(self, **kwargs: Any):
        self._return, self._length = 0.0, 0
        return self.env.reset(**kwargs)

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._return += float(reward)
        self._length += 1
        if terminated or truncated:
            info = {**info, "game_return": self._return, "game_length": self._length}
        return obs, reward, terminated, truncated, info


class EpisodicLife(gym.Wrapper):
    """A lost life ends the episode (terminated, ``info["life_lost"]``) but not the game: the reset
    that follows continues the game with a no-op step instead of restarting it; only a game that is
    over restarts. The agent learns that losing a life ends its returns; the game runs on to its end."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._lives, self._game_over = 0, True

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._game_over = terminated or truncated
        lives = _ale_env(self.env).ale.lives()
        if 0 < lives < self._lives:
            terminated, info = True, {**info, "life_lost": True}
        self._lives = lives
        return obs, reward, terminated, truncated, info

    def reset(self, **kwargs: Any):
        if self._game_over:
            obs, info = self.env.reset(**kwargs)
        else:
            obs, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:  # the no-op ended the game
                obs, info = self.env.reset(**kwargs)
        self._game_over = False
        self._lives = _ale_env(self.env).ale.lives()
        return obs, info


class FireReset(gym.Wrapper):
    """Press FIRE (then UP) after a reset, for games that wait for FIRE to start (Breakout's ball)."""

    @staticmethod
    def needed(env: gym.Env) -> bool:
        meanings = _ale_env(env).get_action_meanings()
        return len(meanings) >= 3 and meanings[1] == "FIRE"

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        for action in (1, 2):
            obs, _, terminated, truncated, info = self.env.step(action)
            if terminated or truncated:
                obs, info = self.env.reset()
        return obs, info


def preprocess(env: gym.Env, training: bool) -> gym.Env:
    """``env`` (an ALE env with frameskip 1) with the standard preprocessing; in ``training`` also
    lives as episodes and rewards clipped to their sign."""
    env = gym.wrappers.AtariPreprocessing(
        env, noop_max=NOOP_MAX, frame_skip=FRAME_SKIP, screen_size=SCREEN_SIZE, terminal_on_life_loss=False
    )
    env = GameScore(env)
    if training:
        env = EpisodicLife(env)
    if FireReset.needed(env):
        env = FireReset(env)
    if training:
        env = gym.wrappers.TransformReward(env, lambda r: float(np.sign(float(r))))
    return gym.wrappers.FrameStackObservation(env, FRAME_STACK)


def make_atari(env_id: str, training: bool = False, preprocessing: bool = True, **kwargs: Any) -> gym.Env:
    """The ALE env ``env_id`` with the standard preprocessing (``preprocessing=False``: as registered)."""
    if not preprocessing:
        return gym.make(env_id, **kwargs)
    return preprocess(gym.make(env_id, **{**kwargs, "frameskip": 1}), training)
