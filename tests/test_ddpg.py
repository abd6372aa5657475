import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env
from tests.test_logging import scalars

import rlsuite
from rlsuite.core.errors import RLSuiteError
from rlsuite.core.streams import Streams
from rlsuite.envs import WalkToTContinuousEnv
from rlsuite.learning.noise import OrnsteinUhlenbeckNoise
from rlsuite.nets.torchutil import polyak_update


class AsymmetricEnv(WalkToTContinuousEnv):
    """The continuous corridor with a velocity range of [-2, 0.5]."""

    def __init__(self):
        super().__init__()
        self.action_space = spaces.Box(-2.0, 0.5, shape=(1,), dtype=np.float32)


def test_continuous_corridor_dynamics_and_checks():
    env = WalkToTContinuousEnv(render_mode="ansi")
    check_env(gym.make("rlsuite/WalkToTContinuous-v0").unwrapped)
    obs, _ = env.reset(seed=0)
    assert obs.tolist() == [0.0] and env.render().startswith("u - - - - T")
    assert env.step(np.array([-1.0]))[:3] == (pytest.approx([0.0]), pytest.approx(-0.01), False)
    for _ in range(4):
        obs, reward, terminated, *_ = env.step(np.array([1.0]))
        assert not terminated
    obs, reward, terminated, *_ = env.step(np.array([0.7]))
    assert terminated and reward == pytest.approx(0.99) and obs[0] == pytest.approx(4.7)
    rgb = WalkToTContinuousEnv(render_mode="rgb_array")
    rgb.reset(seed=0)
    assert rgb.render().shape == (8, 48, 3)


def test_soft_update_formula():
    agent = rlsuite.make_agent("ddpg", "Pendulum-v1", seed=0, tau=0.005)
    with torch.no_grad():
        for p in agent.actor.parameters():
            p.add_(1.0)
    old = [p.clone() for p in agent.actor_target.parameters()]
    polyak_update(agent.actor, agent.actor_target, agent.config.tau)
    for new, o, p in zip(agent.actor_target.parameters(), old, agent.actor.parameters()):
        torch.testing.assert_close(new, 0.005 * p + 0.995 * o)


def test_noise_only_in_collection():
    agent = rlsuite.make_agent("ddpg", "Pendulum-v1", seed=0, learning_starts=0, noise_std=0.5)
    agent.begin(1000)
    obs = np.array([[1.0, 0.0, 0.3]], dtype=np.float32)
    deterministic = {float(agent.predict(obs[0])[0]) for _ in range(5)}
    assert len(deterministic) == 1
    noisy = {float(agent.act(obs, None)[0, 0]) for _ in range(5)}
    assert len(noisy) == 5
    # the target action is the target actor's output itself, with no noise (batches are (members, B, ...))
    next_obs = torch.tensor(obs)[None]
    y1 = agent.td_targets(torch.zeros(1, 1), next_obs, torch.zeros(1, 1))
    y2 = agent.td_targets(torch.zeros(1, 1), next_obs, torch.zeros(1, 1))
    expected = agent.config.gamma * agent.critic_target(next_obs, agent.actor_target(next_obs))
    torch.testing.assert_close(y1, y2)
    torch.testing.assert_close(y1, expected.detach())
    # and evaluation is deterministic
    assert rlsuite.evaluate(agent, episodes=2, seed=3) == rlsuite.evaluate(agent, episodes=2, seed=3)


def test_ou_noise_reverts_to_its_mean():
    noise = OrnsteinUhlenbeckNoise(0.3, (2000, 1), Streams([0]), theta=0.15, dt=1e-2)
    noise.state[...] = 5.0
    for _ in range(200):
        noise()
    # E[x_t] = x_0 (1 - theta dt)^t
    assert noise.state.mean() == pytest.approx(5.0 * (1 - 0.15 * 0.01) ** 200, abs=0.05)
    for _ in range(20_000):
        noise()
    stationary_std = 0.3 * np.sqrt(0.01 / (1 - (1 - 0.15 * 0.01) ** 2))
    assert abs(noise.state.mean()) < 0.15
    assert noise.state.std() == pytest.approx(stationary_std, rel=0.1)
    noise.reset(np.array([True] * 1000 + [False] * 1000))
    assert (noise.state[:1000] == 0).all() and (noise.state[1000:] != 0).all()


@pytest.mark.parametrize("noise_type", ["normal", "ornstein-uhlenbeck"])
def test_actions_stay_inside_asymmetric_bounds(noise_type):
    env = gym.wrappers.TimeLimit(AsymmetricEnv(), max_episode_steps=50)
    agent = rlsuite.make_agent(
        "ddpg", env, seed=0, learning_starts=50, noise_std=3.0, noise_type=noise_type, net_arch=[16], batch_size=16
    )
    agent.begin(400)
    rng = np.random.default_rng(0)
    for step in range(300):
        obs = rng.uniform(0, 5, size=(4, 1)).astype(np.float32)
        agent.num_timesteps = step
        actions = agent.act(obs, None)
        assert actions.dtype == np.float32 and actions.min() >= -2.0 and actions.max() <= 0.5
    assert ((agent.predict(obs) >= -2.0) & (agent.predict(obs) <= 0.5)).all()
    agent.learn(300)


def test_solves_the_continuous_corridor():
    agent = rlsuite.make_agent("ddpg", "rlsuite/WalkToTContinuous-v0", seed=0)
    result = agent.learn(2500)
    assert result.summary["eval_mean_return"] == pytest.approx(0.95)  # T in the minimum 5 steps


def test_pendulum_smoke_run_logs_the_ddpg_tags(tmp_path):
    agent = rlsuite.make_agent(
        "ddpg",
        "Pendulum-v1",
        seed=0,
        learning_starts=100,
        batch_size=32,
        net_arch=[32, 32],
        noise_decay_fraction=0.5,
        noise_final_scale=0.2,
    )
    agent.learn(600, run_dir=tmp_path / "run", log_interval=200, eval_freq=600, eval_episodes=2)
    tags = scalars(tmp_path / "run")
    for tag in ["losses/actor_loss", "losses/critic_loss", "losses/q_values", "charts/noise_scale", "eval/mean_return"]:
        assert tag in tags, tag
    scale = [e.value for e in tags["charts/noise_scale"]]
    assert scale[0] > scale[-1] == pytest.approx(0.1 * 0.2)
    loaded = rlsuite.load(tmp_path / "run")
    obs = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(obs), agent.predict(obs))


def test_wrong_action_space_names_the_agent_that_fits():
    with pytest.raises(RLSuiteError, match=r"Box action space.*use 'qlearning' or 'dqn'|Box action space.*use 'dqn'"):
        rlsuite.make_agent("ddpg", "CartPole-v1")
    with pytest.raises(RLSuiteError, match="use 'dqn'"):
        rlsuite.make_agent("ddpg", "CartPole-v1")
    with pytest.raises(RLSuiteError, match="use 'ddpg'"):
        rlsuite.make_agent("dqn", "Pendulum-v1")
