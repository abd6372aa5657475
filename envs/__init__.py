"""rlsuite's custom Gymnasium environments, registered under the ``rlsuite/`` namespace."""

from gymnasium.envs.registration import register, registry

from rlsuite.envs.bandit import BanditEnv
from rlsuite.envs.dyna_maze import DynaMazeEnv
from rlsuite.envs.gamblers_problem import GamblersProblemEnv
from rlsuite.envs.gridworld import GridWorldEnv
from rlsuite.envs.gridworld4x4 import GridWorld4x4Env
from rlsuite.envs.jacks_car_rental import JacksCarRentalEnv
from rlsuite.envs.maximization_bias import MaximizationBiasEnv
from rlsuite.envs.random_walk import RandomWalkEnv
from rlsuite.envs.recycling_robot import RecyclingRobotEnv
from rlsuite.envs.walk_to_t import WalkToTEnv
from rlsuite.envs.walk_to_t_continuous import WalkToTContinuousEnv
from rlsuite.envs.windy_gridworld import WindyGridWorldEnv

__all__ = [
    "BanditEnv",
    "DynaMazeEnv",
    "GamblersProblemEnv",
    "GridWorld4x4Env",
    "GridWorldEnv",
    "JacksCarRentalEnv",
    "MaximizationBiasEnv",
    "RandomWalkEnv",
    "RecyclingRobotEnv",
    "WalkToTContinuousEnv",
    "WalkToTEnv",
    "WindyGridWorldEnv",
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

if "rlsuite/DynaMaze-v0" not in registry:  # chapter 8's mazes: no time limit, as in the book
    register("rlsuite/DynaMaze-v0", entry_point="rlsuite.envs.dyna_maze:DynaMazeEnv", kwargs={"layout": "dyna"})
    register("rlsuite/BlockingMaze-v0", entry_point="rlsuite.envs.dyna_maze:DynaMazeEnv", kwargs={"layout": "blocking"})
    register("rlsuite/ShortcutMaze-v0", entry_point="rlsuite.envs.dyna_maze:DynaMazeEnv", kwargs={"layout": "shortcut"})

if "rlsuite/RandomWalk-v0" not in registry:  # chapters 6, 7 and 12: no time limit, as in the book
    register("rlsuite/RandomWalk-v0", entry_point="rlsuite.envs.random_walk:RandomWalkEnv")
    register(
        "rlsuite/RandomWalk19-v0",
        entry_point="rlsuite.envs.random_walk:RandomWalkEnv",
        kwargs={"n_states": 19, "left_reward": -1.0, "right_reward": 1.0},
    )
    register("rlsuite/WindyGridWorld-v0", entry_point="rlsuite.envs.windy_gridworld:WindyGridWorldEnv")

if "rlsuite/Bandit-v0" not in registry:  # chapter 2's 10-armed testbed: an episode is one 1000-step run
    register("rlsuite/Bandit-v0", entry_point="rlsuite.envs.bandit:BanditEnv", max_episode_steps=1000)
    register(
        "rlsuite/BanditNonstationary-v0",
        entry_point="rlsuite.envs.bandit:BanditEnv",
        kwargs={"initial_std": 0.0, "walk_std": 0.01},
        max_episode_steps=10000,
    )
    register(  # chapter 4's dynamic-programming examples
        "rlsuite/JacksCarRental-v0",
        entry_point="rlsuite.envs.jacks_car_rental:JacksCarRentalEnv",
        max_episode_steps=100,
    )
    register(
        "rlsuite/GamblersProblem-v0",
        entry_point="rlsuite.envs.gamblers_problem:GamblersProblemEnv",
        max_episode_steps=1000,
    )
