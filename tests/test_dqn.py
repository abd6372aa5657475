import numpy as np
import pytest
import torch
from tests.test_logging import scalars
from torch import nn

import rlsuite
from rlsuite.core.errors import RLSuiteError
from rlsuite.core.transition import Transition
from rlsuite.nets.torchutil import polyak_update


class FixedQ(nn.Module):
    """A stand-in target network that returns the given Q-values whatever the input."""

    def __init__(self, values):
        super().__init__()
        self.values = torch.tensor(values, dtype=torch.float32)

    def forward(self, obs):
        return self.values


def greedy_path(agent, env_id, steps=10):
    env = rlsuite.make_env(env_id)
    obs, info = env.reset(seed=0)
    path = []
    for _ in range(steps):
        action = agent.predict(obs, action_mask=info.get("action_mask"))
        path.append(action)
        obs, _, terminated, _, info = env.step(action)
        if terminated:
            break
    return path


def test_td_targets_by_hand():
    agent = rlsuite.make_agent("dqn", "CartPole-v1", seed=0, gamma=0.5)
    agent.target_net = FixedQ([[1.0, 3.0], [2.0, -1.0], [4.0, 0.0]])
    reward = torch.tensor([1.0, 0.0, -1.0])
    terminated = torch.tensor([0.0, 1.0, 0.0])  # the third is truncated: it still bootstraps
    y = agent.td_targets(reward, torch.zeros(3, 4), terminated, None)
    np.testing.assert_allclose(y.numpy(), [1 + 0.5 * 3, 0.0, -1 + 0.5 * 4])
    mask = torch.tensor([[True, False], [True, True], [False, True]])
    y = agent.td_targets(reward, torch.zeros(3, 4), terminated, mask)
    np.testing.assert_allclose(y.numpy(), [1 + 0.5 * 1, 0.0, -1 + 0.5 * 0])


def test_double_q_evaluates_the_online_argmax_with_the_target():
    agent = rlsuite.make_agent("dqn", "CartPole-v1", seed=0, gamma=0.5, double_q=True)
    agent.target_net = FixedQ([[1.0, 3.0], [2.0, -1.0]])
    agent.q_net = FixedQ([[5.0, 0.0], [0.0, 5.0]])
    y = agent.td_targets(torch.zeros(2), torch.zeros(2, 4), torch.zeros(2), None)
    np.testing.assert_allclose(y.numpy(), [0.5 * 1.0, 0.5 * -1.0])


def test_target_is_untouched_between_updates_and_equal_after_a_hard_update():
    agent = rlsuite.make_agent(
        "dqn",
        "CartPole-v1",
        seed=0,
        learning_starts=50,
        train_freq=1,
        target_update_interval=120,
        batch_size=16,
        use_preset=False,
    )
    before = [p.clone() for p in agent.target_net.parameters()]
    agent.learn(110, eval_freq=10**6)
    online_changed = any(not torch.equal(p, q) for p, q in zip(agent.q_net.parameters(), before))
    assert online_changed
    assert all(torch.equal(p, q) for p, q in zip(agent.target_net.parameters(), before))
    polyak_update(agent.q_net, agent.target_net, tau=1.0)
    assert all(torch.equal(p, q) for p, q in zip(agent.target_net.parameters(), agent.q_net.parameters()))


def test_polyak_update_formula():
    torch.manual_seed(0)
    online, target = nn.Linear(3, 2), nn.Linear(3, 2)
    old = [p.clone() for p in target.parameters()]
    polyak_update(online, target, tau=0.1)
    for new, o, p in zip(target.parameters(), old, online.parameters()):
        torch.testing.assert_close(new, 0.1 * p + 0.9 * o)


def test_polyak_update_follows_loaded_weights_and_another_online_net():
    torch.manual_seed(0)
    online, other, target = nn.Linear(3, 2), nn.Linear(3, 2), nn.Linear(3, 2)
    polyak_update(online, target, tau=1.0)  # lists the pair's tensors
    online.load_state_dict(other.state_dict())  # in place: the listed tensors are the loaded ones
    polyak_update(online, target, tau=1.0)
    torch.testing.assert_close(target.state_dict(), other.state_dict())
    with torch.no_grad():
        other.weight.add_(1.0)
    polyak_update(other, target, tau=1.0)  # another online module: its own tensors
    torch.testing.assert_close(target.weight, other.weight)


def test_solves_walk_to_t_from_one_hot_states():
    agent = rlsuite.make_agent("dqn", "rlsuite/WalkToT-v0", seed=0)
    result = agent.learn(3000)
    assert result.summary["eval_mean_return"] == 1.0
    assert greedy_path(agent, "rlsuite/WalkToT-v0") == [1] * 5


def test_solves_walk_to_t_from_pixels():
    env = rlsuite.make_env("rlsuite/WalkToTPixels-v0")
    assert env.observation_space.dtype == np.uint8 and env.observation_space.shape == (4, 24, 3)
    agent = rlsuite.make_agent("dqn", "rlsuite/WalkToTPixels-v0", seed=0)
    assert agent.q_net.backbone.__class__.__name__ == "NatureCNN"
    agent.learn(1500)
    assert greedy_path(agent, "rlsuite/WalkToTPixels-v0") == [1] * 5


def test_cartpole_smoke_run_logs_the_dqn_tags(tmp_path):
    agent = rlsuite.make_agent(
        "dqn",
        "CartPole-v1",
        seed=0,
        learning_starts=200,
        train_freq=4,
        gradient_steps=1,
        batch_size=32,
        buffer_size=1000,
        target_update_interval=100,
        net_arch=[32, 32],
        exploration_fraction=0.8,
        use_preset=False,
    )
    result = agent.learn(1000, run_dir=tmp_path / "run", log_interval=250)
    tags = scalars(tmp_path / "run")
    for tag in ["losses/td_loss", "losses/q_values", "charts/epsilon", "charts/episodic_return", "eval/mean_return"]:
        assert tag in tags, tag
    eps = [e.value for e in tags["charts/epsilon"]]
    assert eps[0] > eps[-1] == pytest.approx(0.05)
    assert result.summary["steps"] == 1000
    loaded = rlsuite.load(tmp_path / "run")
    obs = np.zeros(4, dtype=np.float32)
    assert loaded.predict(obs) == agent.predict(obs)


def test_masks_are_honoured():
    agent = rlsuite.make_agent("dqn", "rlsuite/RecyclingRobot-v0", seed=0, learning_starts=0)
    agent.begin(100)
    high = np.array([[1, 1, 0]], dtype=np.int8)
    assert {int(agent.act(np.array([0]), high)[0]) for _ in range(200)} == {0, 1}
    agent.learn(600)
    assert all(agent.predict(0, action_mask=high[0]) != 2 for _ in range(5))


def test_errors():
    with pytest.raises(RLSuiteError, match="Discrete action space"):
        rlsuite.make_agent("dqn", "Pendulum-v1")
    with pytest.raises(RLSuiteError, match="batch_size=64 is larger than buffer_size=10"):
        rlsuite.make_agent("dqn", "CartPole-v1", batch_size=64, buffer_size=10)
    with pytest.raises(RLSuiteError, match="did you mean 'target_update_interval'"):
        rlsuite.make_agent("dqn", "CartPole-v1", target_update_intervall=5)


def test_a_training_round_moves_the_weights_as_stable_baselines3_dqn_does_on_the_same_minibatches():
    # the same network, replay and minibatches: rlsuite's update (Huber loss, clipping, Adam) is SB3's
    import gymnasium as gym
    from stable_baselines3 import DQN
    from stable_baselines3.common.logger import configure
    from stable_baselines3.common.type_aliases import ReplayBufferSamples

    settings = dict(learning_rate=2e-3, batch_size=32, gamma=0.99, max_grad_norm=0.5)
    ours = rlsuite.make_agent(
        "dqn", "CartPole-v1", seed=0, net_arch=[32, 32], use_preset=False, learning_starts=10**6, **settings
    )
    theirs = DQN("MlpPolicy", gym.make("CartPole-v1"), policy_kwargs={"net_arch": [32, 32]}, device="cpu", **settings)
    theirs.set_logger(configure(None, []))
    with torch.no_grad():
        for net, mine in ((theirs.q_net, ours.q_net), (theirs.q_net_target, ours.target_net)):
            for p, q in zip(net.parameters(), mine.parameters(), strict=True):
                p.copy_(q)
    rng = np.random.default_rng(0)
    for _ in range(300):  # random transitions, some of them terminal
        obs = rng.normal(size=(1, 4)).astype(np.float32)
        ours.observe(
            Transition(
                obs,
                rng.integers(0, 2, 1),
                rng.normal(size=1),
                rng.normal(size=(1, 4)).astype(np.float32),
                rng.random(1) < 0.1,
                np.zeros(1, bool),
                None,
                None,
            )
        )
    batches = ours.buffer.sample_batches(20, 32, ours.rng)
    ours.replay_batches = lambda steps: batches
    replayed = iter(batches)

    def sample(batch_size, env=None):
        b = next(replayed)
        return ReplayBufferSamples(
            b.obs[0],
            b.action[0].long()[:, None],
            b.next_obs[0],
            b.terminated[0].float()[:, None],
            b.reward[0].float()[:, None],
        )

    theirs.replay_buffer.sample = sample
    ours.train_round(20)
    theirs.train(20, 32)
    for p, q in zip(theirs.q_net.parameters(), ours.q_net.parameters(), strict=True):
        torch.testing.assert_close(q, p, atol=1e-6, rtol=1e-5)
    assert any((p - q).abs().max() > 1e-3 for p, q in zip(theirs.q_net.parameters(), ours.target_net.parameters()))
