"""rlsuite: a reinforcement-learning gym and agent suite.

    import rlsuite
    agent = rlsuite.make_agent("qlearning", "rlsuite/WalkToT-v0", seed=0)
    agent.learn(total_steps=2_000, run_dir="runs/walk")
    mean, std = rlsuite.evaluate(agent, "rlsuite/WalkToT-v0", episodes=10, seed=0)

The package is layered; each layer imports only the ones below it:

    tools/      the command line, sweeps, benchmarks, reports, the demo
    agents/     one file per algorithm and the registry (make_agent, load)
    envs/       rlsuite's Gymnasium environments
    integrations/  Stable-Baselines3's algorithms through rlsuite's runs
    learning/   the agent base and what agents are built from: tabular and off-policy bases, replay, noise
    driver/     the one loop and the run machinery: members, evaluation, checkpoints, logging, run directories
    nets/, vecenv/, media/
                network backbones and heads, supervised fit; vector envs and the P simulator;
                pictures and recording
    core/       errors, validated configs, env specs, spaces, schedules, exploration, the exact solver
"""

from __future__ import annotations

import rlsuite.envs  # noqa: F401  (registers rlsuite's env ids with Gymnasium)
from rlsuite.agents import load, make_agent
from rlsuite.core import __version__
from rlsuite.core.envspec import make_env
from rlsuite.core.errors import RLSuiteError
from rlsuite.core.solver import solve
from rlsuite.driver.evaluation import evaluate
from rlsuite.tools.sweep import sweep

__all__ = ["RLSuiteError", "evaluate", "load", "make_agent", "make_env", "solve", "sweep", "__version__"]
