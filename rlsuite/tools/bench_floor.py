"""The floor a benchmark case is set beside: the env stepped alone, and the agent's updates timed alone
on random transitions (``rlsuite bench``'s tabular cases)."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rlsuite.tools.bench import Case


def env_floor_s(env_id: str, steps: int, seed: int = 0) -> float:
    """Seconds for ``steps`` steps of the env alone: random actions, reset at episode ends."""
    from rlsuite.core.envspec import make_env

    env = make_env(env_id)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    env.close()
    return time.perf_counter() - start


def _random_transitions(env_id: str, n: int, seed: int = 0) -> list:
    """``n`` transitions of the env under random actions, each a batch of one env."""
    from rlsuite.core.envspec import make_env
    from rlsuite.core.transition import Transition

    env = make_env(env_id)
    obs, info = env.reset(seed=seed)
    env.action_space.seed(seed)
    out = []
    for _ in range(n):
        action = env.action_space.sample()
        next_obs, reward, terminated, truncated, next_info = env.step(action)
        step = dict(
            obs=obs,
            action=action,
            reward=np.float32(reward),
            next_obs=next_obs,
            terminated=terminated,
            truncated=truncated,
            mask=info.get("action_mask"),
            next_mask=next_info.get("action_mask"),
        )
        out.append(Transition(**{k: None if v is None else np.asarray(v)[None] for k, v in step.items()}))
        obs, info = env.reset() if terminated or truncated else (next_obs, next_info)
    env.close()
    return out


def update_floor_s(case: Case, steps: int, rounds: int = 100, per_step: int = 20_000) -> float:
    """Seconds the run's updates cost alone: ``agent.observe`` per random transition once past the
    warm-up (over ``rounds`` training rounds, or ``per_step`` transitions for an agent with no
    ``train_freq``, which updates on each), times the run's steps after ``learning_starts``."""
    import torch

    from rlsuite.agents import make_agent

    torch.set_num_threads(1)
    agent = make_agent(case.agent, case.env, seed=0, **case.hyperparameters)
    config = asdict(agent.config)
    starts, every = config.get("learning_starts", 0), config.get("train_freq", 0)
    # untimed: a couple of batches and the first round (with gradient_steps=-1, a long one) past learning_starts
    warm_up = starts + max(2 * config.get("batch_size", 0), every)
    timed = rounds * every if every else per_step
    transitions = _random_transitions(case.env, warm_up + timed)
    agent.begin(steps)
    for t in transitions[:warm_up]:
        agent.observe(t)
    start = time.perf_counter()
    for t in transitions[warm_up:]:
        agent.observe(t)
    return (time.perf_counter() - start) / timed * max(steps - starts, 0)


# ----- a case -----------------------------------------------------------------------------------
