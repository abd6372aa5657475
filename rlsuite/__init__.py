"""rlsuite: a reinforcement-learning gym and agent suite.

    import rlsuite
    agent = rlsuite.make_agent("qlearning", "rlsuite/WalkToT-v0", seed=0)
    agent.learn(total_steps=2_000, run_dir="runs/walk")
    mean, std = rlsuite.evaluate(agent, "rlsuite/WalkToT-v0", episodes=10, seed=0)
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import Any

import rlsuite.envs  # noqa: F401  (registers rlsuite/WalkToT-v0 and rlsuite/RecyclingRobot-v0)
from rlsuite.checkpoint import load_agent as load
from rlsuite.envutil import EnvSpec, make_env
from rlsuite.errors import RLSuiteError
from rlsuite.evaluation import evaluate
from rlsuite.solver import solve
from rlsuite.sweep import sweep

__all__ = ["RLSuiteError", "evaluate", "load", "make_agent", "make_env", "solve", "sweep", "__version__"]


def make_agent(name: str, env: EnvSpec, seed: int = 0, env_kwargs: dict[str, Any] | None = None,
               use_preset: bool = True, **hyperparameters: Any):
    """Build agent ``name`` for ``env`` with validated hyperparameters.

    ``env`` is a Gymnasium id, ``module:Class`` / ``module:EnvId`` or an env instance. The
    agent's tuned preset for that env (agents/presets/NAME.yaml) is the base and the keyword
    hyperparameters override it; ``use_preset=False`` starts from the class defaults.
    """
    from rlsuite.agents import agent_class, preset
    from rlsuite.envutil import env_name

    cls = agent_class(name)
    probe = make_env(env, **(env_kwargs or {}))
    try:
        reason = cls.supports(probe.observation_space, probe.action_space)
        if reason is not None:
            from rlsuite.agents import agents_for

            fits = agents_for(probe.observation_space, probe.action_space)
            hint = f"use {' or '.join(repr(a) for a in fits)}" if fits else "no rlsuite agent handles these spaces"
            raise RLSuiteError(f"agent {name!r} cannot train on {env_name(env)}: {reason}; {hint}.")
        values = dict(preset(name, env_name(env)).get("hyperparameters", {})) if use_preset else {}
        values.update(hyperparameters)
        config = cls.make_config(values)
        return cls(probe.observation_space, probe.action_space, config, seed=seed, env=env, env_kwargs=env_kwargs)
    finally:
        if probe is not env:
            probe.close()
