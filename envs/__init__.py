"""rlsuite's custom Gymnasium environments, registered under the ``rlsuite/`` namespace."""

from gymnasium.envs.registration import register, registry

from rlsuite.envs.gridworld import GridWorldEnv
from rlsuite.envs.gridworld4x4 import GridWorld4x4Env
from rlsuite.envs.maximization_bias import MaximizationBiasEnv
from rlsuite.envs.recycling_robot import RecyclingRobotEnv
from rlsuite.envs.walk_to_t import WalkToTEnv
from rlsuite.envs.walk_to_t_continuous import WalkToTContinuousEnv

__all__ = [
    "GridWorld4x4Env",
    "GridWorldEnv",
    "MaximizationBiasEnv",
    "RecyclingRobotEnv",
    "WalkToTContinuousEnv",
    "WalkToTEnv",
]

if "rlsuite/WalkToT-v0" not in registry:
    register("rlsuite/WalkToT-v0", entry_point="rlsuite.envs.walk_to_t:WalkToTEnv", max_episode_steps=100)
    register(
        "rlsuite/WalkToTPixels-v0",
        entry_point="rlsuite.envs.walk_to_t:make_pixel_walk_to_t",
        max_episode_steps=100,
    )
    register(
        "rlsuite/WalkToTContinuous-v0",
        entry_point="rlsuite.envs.walk_to_t_continuous:WalkToTContinuousEnv",
        max_episode_steps=50,
    )
    register(
        "rlsuite/RecyclingRobot-v0",
        entry_point="rlsuite.envs.recycling_robot:RecyclingRobotEnv",
        max_episode_steps=100,
    )
    register("rlsuite/GridWorld-v0", entry_point="rlsuite.envs.gridworld:GridWorldEnv", max_episode_steps=100)
    register("rlsuite/GridWorld4x4-v0", entry_point="rlsuite.envs.gridworld4x4:GridWorld4x4Env", max_episode_steps=100)
    register(
        "rlsuite/MaximizationBias-v0",
        entry_point="rlsuite.envs.maximization_bias:MaximizationBiasEnv",
        max_episode_steps=100,
    )
