import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from scipy.stats import chisquare
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import rlsuite  # noqa: F401
from rlsuite.envs import RecyclingRobotEnv, WalkToTEnv
from rlsuite.envs.recycling_robot import HIGH, LOW, RECHARGE, SEARCH, WAIT

LEFT, RIGHT = 0, 1


def test_walk_to_t_dynamics_step_by_step():
    env = gym.make("rlsuite/WalkToT-v0", render_mode="ansi")
    obs, info = env.reset(seed=0)
    assert obs == 0 and env.render() == "u - - - - T"
    assert info["action_mask"].tolist() == [0, 1]
    assert env.step(LEFT)[:4] == (0, 0.0, False, False)  # into the wall: stays put
    for cell in range(1, 5):
        obs, reward, terminated, truncated, info = env.step(RIGHT)
        assert (obs, reward, terminated, truncated) == (cell, 0.0, False, False)
        assert info["action_mask"].tolist() == [1, 1]
    assert env.render() == "- - - - u T"
    obs, reward, terminated, truncated, _ = env.step(RIGHT)
    assert (obs, reward, terminated, truncated) == (5, 1.0, True, False)
    assert env.render() == "- - - - - T"


def test_walk_to_t_time_limit_truncates():
    env = gym.make("rlsuite/WalkToT-v0", max_episode_steps=7)
    env.reset(seed=0)
    for _ in range(6):
        assert env.step(LEFT)[3] is False
    assert env.step(LEFT)[3] is True


def test_walk_to_t_rgb_and_random_start():
    env = gym.make("rlsuite/WalkToT-v0", n_cells=4, render_mode="rgb_array", random_start=True, cell_px=5)
    starts = [env.reset(seed=s)[0] for s in range(50)]
    assert set(starts) == {0, 1, 2}
    assert starts == [env.reset(seed=s)[0] for s in range(50)]
    image = env.render()
    assert image.shape == (5, 20, 3) and image.dtype == np.uint8
    agent_cell = env.unwrapped.state
    assert (image[1:, agent_cell * 5 + 1 : agent_cell * 5 + 5] == 255).all()


def test_walk_to_t_rejects_bad_length():
    with pytest.raises(ValueError, match="n_cells"):
        WalkToTEnv(n_cells=1)


def test_recycling_robot_table_and_wasted_recharge():
    env = RecyclingRobotEnv(alpha=0.7, beta=0.2, r_search=3.0, r_wait=1.0)
    env.reset(seed=0)
    assert env.P[HIGH][SEARCH] == [(0.7, HIGH, 3.0, False), (pytest.approx(0.3), LOW, 3.0, False)]
    assert env.P[LOW][SEARCH] == [(0.8, HIGH, -3.0, False), (0.2, LOW, 3.0, False)]
    assert env.P[LOW][RECHARGE] == [(1.0, HIGH, 0.0, False)]
    assert env.step(RECHARGE)[:4] == (HIGH, 0.0, False, False)  # not in A(high): a wasted step
    assert env.step(WAIT)[:2] == (HIGH, 1.0)
    assert env.action_mask(HIGH).tolist() == [1, 1, 0] and env.action_mask(LOW).tolist() == [1, 1, 1]
    assert env.state_names == ("high", "low") and env.action_names == ("search", "wait", "recharge")


@pytest.mark.parametrize(
    "env", [WalkToTEnv(), WalkToTEnv(n_cells=9), RecyclingRobotEnv(), RecyclingRobotEnv(alpha=0.3, beta=0.9)]
)
def test_p_rows_sum_to_one(env):
    for s, actions in env.P.items():
        for a, outcomes in actions.items():
            assert sum(p for p, *_ in outcomes) == pytest.approx(1.0), (s, a)


@pytest.mark.parametrize("state,action", [(HIGH, SEARCH), (LOW, SEARCH), (LOW, RECHARGE)])
def test_recycling_robot_samples_match_p(state, action):
    env = RecyclingRobotEnv(alpha=0.8, beta=0.4)
    env.reset(seed=123)
    n = 4000
    counts = np.zeros(2)
    for _ in range(n):
        env.state = state
        counts[env.step(action)[0]] += 1
    expected = np.zeros(2)
    for p, s_next, _, _ in env.P[state][action]:
        expected[s_next] += p * n
    keep = expected > 0
    assert counts[~keep].sum() == 0
    if keep.sum() > 1:
        assert chisquare(counts[keep], expected[keep]).pvalue > 0.001


def test_sampled_rewards_have_the_table_mean():
    env = RecyclingRobotEnv(reward_mode="sampled", alpha=1.0, r_search=2.5)
    env.reset(seed=1)
    rewards = np.array([env.step(SEARCH)[1] for _ in range(4000)])
    assert np.all(rewards == np.round(rewards)) and rewards.min() >= 0
    assert abs(rewards.mean() - 2.5) < 0.1
    env.state = LOW
    env.beta = 0.0
    env.P[LOW][SEARCH] = [(1.0, HIGH, env.rescue_reward, False), (0.0, LOW, 2.5, False)]
    assert env.step(SEARCH)[1] == -3.0  # a rescue is never a can count


@pytest.mark.parametrize("env_id", ["rlsuite/WalkToT-v0", "rlsuite/RecyclingRobot-v0"])
def test_seeding_reproduces_trajectories(env_id):
    def rollout(seed):
        env = gym.make(env_id, **({"random_start": True} if "Walk" in env_id else {"reward_mode": "sampled"}))
        obs, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        trace = [obs]
        for _ in range(60):
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            trace += [obs, reward]
            if terminated or truncated:
                trace.append(env.reset()[0])
        return trace

    assert rollout(3) == rollout(3)
    assert rollout(3) != rollout(4)


@pytest.mark.parametrize("env_id", ["rlsuite/WalkToT-v0", "rlsuite/RecyclingRobot-v0"])
def test_check_env_passes(env_id):
    env = gym.make(env_id).unwrapped
    check_env(env, skip_render_check=False)
    sb3_check_env(env, warn=True)
