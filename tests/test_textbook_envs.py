"""Sutton & Barto's small worlds: GridWorld (Ex. 3.5), GridWorld4x4 (Ex. 4.1), MaximizationBias (Ex. 6.7)."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from scipy.stats import chisquare
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import rlsuite
from rlsuite.core.errors import RLSuiteError
from rlsuite.envs import GridWorld4x4Env, GridWorldEnv, MaximizationBiasEnv
from rlsuite.envs.maximization_bias import TERMINAL, A, B

LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3
IDS = ["rlsuite/GridWorld-v0", "rlsuite/GridWorld4x4-v0", "rlsuite/MaximizationBias-v0"]


def all_envs():
    return [
        GridWorldEnv(),
        GridWorld4x4Env(),
        MaximizationBiasEnv(),
        MaximizationBiasEnv(n_b_actions=1),
        MaximizationBiasEnv(n_b_actions=4, b_std=0.0),
    ]


def random_policy_values(env, gamma):
    """v_π of the equiprobable random policy, solved exactly from ``P``."""
    n_s, n_a = env.observation_space.n, env.action_space.n
    r, p = np.zeros(n_s), np.zeros((n_s, n_s))
    for s in range(n_s):
        for a in range(n_a):
            for prob, s_next, reward, terminated in env.P[s][a]:
                r[s] += prob * reward / n_a
                if not terminated:
                    p[s, s_next] += prob / n_a
    return np.linalg.solve(np.eye(n_s) - gamma * p, r)


@pytest.mark.parametrize("env_id", IDS)
def test_check_env_passes(env_id):
    env = gym.make(env_id).unwrapped
    check_env(env, skip_render_check=False)
    sb3_check_env(env, warn=True)


@pytest.mark.parametrize("env", all_envs(), ids=lambda e: f"{type(e).__name__}-{e.action_space.n}")
def test_p_rows_sum_to_one_and_masks_are_int8(env):
    for s in range(env.observation_space.n):
        assert set(env.P[s]) == set(range(env.action_space.n))
        for a, outcomes in env.P[s].items():
            assert sum(p for p, *_ in outcomes) == pytest.approx(1.0), (s, a)
            assert all(env.observation_space.contains(s_next) for _, s_next, _, _ in outcomes)
        mask = env.action_mask(s)
        assert mask.dtype == np.int8 and mask.shape == (env.action_space.n,)
    assert len(env.state_names) == env.observation_space.n and len(env.action_names) == env.action_space.n


@pytest.mark.parametrize("env", all_envs(), ids=lambda e: f"{type(e).__name__}-{e.action_space.n}")
def test_sampled_transitions_match_p(env):
    env.reset(seed=7)
    n = 200
    random_reward = isinstance(env, MaximizationBiasEnv) and env.b_std > 0
    for s in range(env.observation_space.n):
        for a in range(env.action_space.n):
            outcomes = env.P[s][a]
            seen = []
            for _ in range(n):
                env.state = s
                next_state, reward, terminated, truncated, info = env.step(a)
                assert truncated is False and info["action_mask"].tolist() == env.action_mask(next_state).tolist()
                seen.append((next_state, terminated))
                if not (random_reward and s == B and a < env.n_b_actions):
                    assert (next_state, reward, terminated) in [o[1:] for o in outcomes], (s, a)
            keys = sorted({o[1::2] for o in outcomes})
            counts = np.array([seen.count(k) for k in keys])
            assert counts.sum() == n, (s, a, outcomes)
            expected = np.array([sum(p for p, s2, _, t in outcomes if (s2, t) == k) for k in keys]) * n
            if len(keys) > 1:
                assert chisquare(counts, expected).pvalue > 0.001


def test_gridworld_special_cells_and_edges():
    env = GridWorldEnv()
    env.reset(seed=0)
    for a in range(4):
        assert env.P[1][a] == [(1.0, 21, 10.0, False)]  # A -> A' with +10, whatever the action
        assert env.P[3][a] == [(1.0, 13, 5.0, False)]  # B -> B' with +5
    assert env.P[0][LEFT] == [(1.0, 0, -1.0, False)] and env.P[0][UP] == [(1.0, 0, -1.0, False)]
    assert env.P[24][DOWN] == [(1.0, 24, -1.0, False)] and env.P[24][RIGHT] == [(1.0, 24, -1.0, False)]
    assert env.P[0][RIGHT] == [(1.0, 1, 0.0, False)] and env.P[0][DOWN] == [(1.0, 5, 0.0, False)]
    assert env.P[12][UP] == [(1.0, 7, 0.0, False)] and env.P[12][LEFT] == [(1.0, 11, 0.0, False)]
    env.state = 1
    assert env.step(UP)[:4] == (21, 10.0, False, False)
    env.state = 3
    assert env.step(DOWN)[:4] == (13, 5.0, False, False)
    assert env.grid_shape == (5, 5) and env.action_names == ("left", "down", "right", "up")
    assert env.state_names[1] == "A(0,1)" and env.state_names[21] == "A'(4,1)"
    assert all(env.action_mask(s).tolist() == [1, 1, 1, 1] for s in range(25))


def test_gridworld_values_match_the_book():
    _, v_star, _ = rlsuite.solve("rlsuite/GridWorld-v0", gamma=0.9)
    assert round(v_star[1], 1) == 24.4
    assert np.round(v_star[:5], 1).tolist() == [22.0, 24.4, 22.0, 19.4, 17.5]  # Figure 3.5
    v_random = random_policy_values(GridWorldEnv(), gamma=0.9)
    assert np.round(v_random[:5], 1).tolist() == [3.3, 8.8, 4.4, 5.3, 1.5]  # Figure 3.2
    assert np.round(v_random[20:], 1).tolist() == [-1.9, -1.3, -1.2, -1.4, -2.0]


def test_gridworld_starts_and_time_limit():
    env = gym.make("rlsuite/GridWorld-v0")
    starts = [env.reset(seed=s)[0] for s in range(400)]
    assert set(starts) == set(range(25))
    assert starts == [env.reset(seed=s)[0] for s in range(400)]
    fixed = gym.make("rlsuite/GridWorld-v0", start=12)
    assert {fixed.reset(seed=s)[0] for s in range(20)} == {12}
    for t in range(1, 101):
        _, _, terminated, truncated, _ = fixed.step(t % 4)
        assert terminated is False and truncated is (t == 100)


def test_gridworld4x4_terminals_and_rewards():
    env = GridWorld4x4Env()
    for t in (0, 15):
        assert all(env.P[t][a] == [(1.0, t, 0.0, True)] for a in range(4))  # absorbing
    for s in range(1, 15):
        for a in range(4):
            [(_, s_next, reward, terminated)] = env.P[s][a]
            assert reward == -1.0 and terminated == (s_next in (0, 15))
    assert env.P[1][LEFT] == [(1.0, 0, -1.0, True)] and env.P[14][RIGHT] == [(1.0, 15, -1.0, True)]
    assert env.P[3][UP] == [(1.0, 3, -1.0, False)] and env.P[3][RIGHT] == [(1.0, 3, -1.0, False)]
    assert env.P[5][DOWN] == [(1.0, 9, -1.0, False)]
    env.reset(seed=0)
    env.state = 4
    assert env.step(UP)[:4] == (0, -1.0, True, False)
    assert env.grid_shape == (4, 4) and env.state_names[0] == "T(0,0)"
    assert all(env.action_mask(s).tolist() == [1, 1, 1, 1] for s in range(16))


def test_gridworld4x4_values_match_the_book():
    v_random = random_policy_values(GridWorld4x4Env(), gamma=1.0)
    figure_4_1 = [[0, -14, -20, -22], [-14, -18, -20, -20], [-20, -20, -18, -14], [-22, -20, -14, 0]]
    assert np.round(v_random).reshape(4, 4).tolist() == figure_4_1
    _, v_star, _ = rlsuite.solve("rlsuite/GridWorld4x4-v0", gamma=1.0)
    rows, cols = np.divmod(np.arange(16), 4)
    assert v_star.tolist() == (-np.minimum(rows + cols, 6 - rows - cols)).tolist()  # minus the steps to a corner


def test_gridworld4x4_starts_and_time_limit():
    env = gym.make("rlsuite/GridWorld4x4-v0")
    assert {env.reset(seed=s)[0] for s in range(300)} == set(range(1, 15))
    env = gym.make("rlsuite/GridWorld4x4-v0", start=3)
    assert env.reset(seed=0)[0] == 3
    for t in range(1, 101):
        _, _, terminated, truncated, _ = env.step(UP)  # into the top wall for ever
        assert terminated is False and truncated is (t == 100)


def test_maximization_bias_dynamics_and_masks():
    env = MaximizationBiasEnv()
    assert env.action_space.n == 10 and env.observation_space.n == 3
    assert env.state_names == ("A", "B", "terminal") and env.action_names[:3] == ("left/b0", "right/b1", "b2")
    assert env.P[A][1] == [(1.0, TERMINAL, 0.0, True)] and env.P[A][0] == [(1.0, B, 0.0, False)]
    assert all(env.P[B][a] == [(1.0, TERMINAL, -0.1, True)] for a in range(10))
    assert env.action_mask(A).tolist() == [1, 1] + [0] * 8 and env.action_mask(B).tolist() == [1] * 10
    obs, info = env.reset(seed=0)
    assert obs == A and info["action_mask"].tolist() == [1, 1] + [0] * 8
    assert env.step(1)[:4] == (TERMINAL, 0.0, True, False)  # right ends with 0
    env.reset()
    obs, reward, terminated, _, info = env.step(0)  # left goes to B
    assert (obs, reward, terminated) == (B, 0.0, False) and info["action_mask"].tolist() == [1] * 10
    env.reset()
    assert env.step(5)[:4] == (A, 0.0, False, False)  # outside A(A): a wasted step
    small = MaximizationBiasEnv(n_b_actions=1)
    assert small.action_space.n == 2 and small.action_mask(B).tolist() == [1, 0]
    assert small.P[B][1] == [(1.0, B, 0.0, False)]


def test_maximization_bias_rewards_are_normal_around_the_mean():
    env = MaximizationBiasEnv()
    env.reset(seed=3)
    rewards = []
    for i in range(5000):
        env.state = B
        s_next, reward, terminated, _, _ = env.step(i % 10)
        assert s_next == TERMINAL and terminated
        rewards.append(reward)
    rewards = np.array(rewards)
    assert abs(rewards.mean() + 0.1) < 0.06 and abs(rewards.std() - 1.0) < 0.05
    _, v_star, policy = rlsuite.solve("rlsuite/MaximizationBias-v0", gamma=1.0)
    assert v_star[:2].tolist() == pytest.approx([0.0, -0.1]) and policy[A] == 1


def test_maximization_bias_seeding_and_start():
    def rewards(seed):
        env = gym.make("rlsuite/MaximizationBias-v0")
        out = []
        for i in range(20):
            assert env.reset(seed=seed if i == 0 else None)[0] == A
            env.step(0)
            out.append(env.step(i % 10)[1])
        return out

    assert rewards(1) == rewards(1) and rewards(1) != rewards(2)


def test_ansi_and_rgb_renders():
    grid = GridWorldEnv(start=12, render_mode="ansi")
    grid.reset(seed=0)
    assert grid.render().splitlines() == [
        " .  A  .  B  .",
        " .  .  .  .  .",
        " .  . [.] b  .",
        " .  .  .  .  .",
        " .  a  .  .  .",
    ]
    small = GridWorld4x4Env(start=5, render_mode="ansi")
    small.reset(seed=0)
    assert small.render() == " T  .  .  .\n . [.] .  .\n .  .  .  .\n .  .  .  T"
    bias = MaximizationBiasEnv(render_mode="ansi")
    bias.reset(seed=0)
    assert bias.render() == " T  B [A] T"
    bias.step(0)
    assert bias.render() == " T [B] A  T"
    bias.step(3)
    assert bias.render() == "[T] B  A  T"
    for env, shape in (
        (GridWorldEnv(render_mode="rgb_array", cell_px=6), (30, 30, 3)),
        (GridWorld4x4Env(render_mode="rgb_array", cell_px=6), (24, 24, 3)),
        (MaximizationBiasEnv(render_mode="rgb_array", cell_px=6), (6, 24, 3)),
    ):
        env.reset(seed=0)
        image = env.render()
        assert image.shape == shape and image.dtype == np.uint8 and (image == 255).any()


def test_human_render_prints(capsys):
    env = GridWorld4x4Env(start=1, render_mode="human")
    env.reset(seed=0)
    assert "[.]" in capsys.readouterr().out


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: GridWorldEnv(start=25), "start=25"),
        (lambda: GridWorld4x4Env(start=15), "start=15"),
        (lambda: GridWorld4x4Env(start=-1), "start=-1"),
        (lambda: MaximizationBiasEnv(n_b_actions=0), "n_b_actions=0"),
        (lambda: MaximizationBiasEnv(b_std=-1.0), "b_std=-1.0"),
        (lambda: GridWorldEnv(render_mode="rgb"), "render_mode='rgb'"),
    ],
)
def test_bad_arguments_name_the_value(make, match):
    with pytest.raises(RLSuiteError, match=match):
        make()
