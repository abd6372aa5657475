"""Deterministic evaluation on a separate, seeded environment."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rlsuite.core.envspec import EnvSpec, make_env
from rlsuite.core.errors import RLSuiteError
from rlsuite.core.streams import check_seed
from rlsuite.driver.ctrlc import stop_requested


def evaluate(
    agent,
    env: EnvSpec | None = None,
    episodes: int = 10,
    seed: int = 0,
    deterministic: bool = True,
    max_steps: int = 10_000,
) -> tuple[float, float]:
    """Mean and standard deviation of the return over ``episodes`` episodes.

    ``env`` defaults to the agent's own env; the first reset is seeded with ``seed``, so the
    same call gives the same numbers. An episode that neither terminates nor truncates is cut
    after ``max_steps`` steps, so an env without a time limit cannot hang evaluation. A signal
    while a training run finishes stops it at once, with the episodes done so far (nan for none).
    """
    returns, _ = evaluate_episodes(agent, env, episodes, seed, deterministic, max_steps)
    return float(np.mean(returns)), float(np.std(returns))


def evaluate_episodes(
    agent,
    env: EnvSpec | None = None,
    episodes: int = 10,
    seed: int = 0,
    deterministic: bool = True,
    max_steps: int = 10_000,
) -> tuple[list[float], list[int]]:
    """The return and the length (steps) of each of ``episodes`` episodes, run as :func:`evaluate` runs them."""
    if episodes < 1:
        raise RLSuiteError(f"episodes={episodes} must be at least 1.")
    check_seed(seed, "the evaluation seed")
    own = env is None or not isinstance(env, gym.Env)
    env = make_env(agent.env if env is None else env, **(agent.env_kwargs if env is None else {}))
    returns, lengths = [], []
    try:
        obs, info = env.reset(seed=seed)
        for _ in range(episodes):
            total, done, steps = 0.0, False, 0
            while not done and steps < max_steps and not stop_requested():
                action = agent.predict(obs, deterministic=deterministic, action_mask=info.get("action_mask"))
                obs, reward, terminated, truncated, info = env.step(action)
                total += float(reward)
                done = terminated or truncated
                steps += 1
            if stop_requested():  # a signal while the run finishes: the episodes so far, or none (nan)
                break
            returns.append(total)
            lengths.append(steps)
            obs, info = env.reset()
    finally:
        if own:
            env.close()
    return (returns, lengths) if returns else ([float("nan")], [0])
