"""rlsuite's custom Gymnasium environments, registered under the ``rlsuite/`` namespace."""

from gymnasium.envs.registration import register, registry

from rlsuite.envs.recycling_robot import RecyclingRobotEnv
from rlsuite.envs.walk_to_t import WalkToTEnv
from rlsuite.envs.walk_to_t_continuous import WalkToTContinuousEnv

__all__ = ["RecyclingRobotEnv", "WalkToTContinuousEnv", "WalkToTEnv"]

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
