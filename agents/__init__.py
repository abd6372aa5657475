"""The agent registry: a name maps to ``module:Class``; presets live in presets/<name>.yaml."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml

from rlsuite.errors import RLSuiteError, did_you_mean

REGISTRY: dict[str, str] = {
    "qlearning": "rlsuite.agents.qlearning:QLearning",
    "dqn": "rlsuite.agents.dqn:DQN",
    "ddpg": "rlsuite.agents.ddpg:DDPG",
}

PRESET_DIR = Path(__file__).parent / "presets"


def agent_class(name: str):
    """The class registered under ``name``; ``sb3:ALGO`` is Stable-Baselines3's ALGO (agents/sb3.py)."""
    if name.startswith("sb3:"):
        from rlsuite.agents.sb3 import sb3_agent_class

        return sb3_agent_class(name[4:])
    if name not in REGISTRY:
        raise RLSuiteError(
            f"unknown agent {name!r}{did_you_mean(name, REGISTRY)}; choose one of {', '.join(REGISTRY)}, "
            "or sb3:ALGO for a Stable-Baselines3 algorithm (e.g. sb3:PPO)."
        )
    module_name, _, cls_name = REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module_name), cls_name)


def preset(agent: str, env_id: str) -> dict[str, Any]:
    """Tuned settings for ``agent`` on ``env_id``: ``{"hyperparameters": {...}, "steps": N}`` or {}."""
    path = PRESET_DIR / f"{agent}.yaml"
    if not path.exists():
        return {}
    presets = yaml.safe_load(path.read_text()) or {}
    return dict(presets.get(env_id, {}))


def agents_for(observation_space, action_space) -> list[str]:
    """Names of the registered agents that can train on these spaces."""
    return [name for name in REGISTRY if agent_class(name).supports(observation_space, action_space) is None]
