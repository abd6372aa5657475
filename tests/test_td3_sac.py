"""TD3 and SAC: their targets and updates by hand-computed numbers, one training round against
Stable-Baselines3's on the same networks, minibatches and noise, and a short Pendulum run that learns."""

import copy
import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

import rlsuite
from rlsuite.agents.ddpg import Critic
from rlsuite.core.transition import Transition
from rlsuite.nets.stacked import StackedLayer, members_state


class SmallBoxEnv(gym.Env):
    """3 observations, 2 actions in [-1, 1]: where Stable-Baselines3's action scaling is the identity."""

    observation_space = spaces.Box(-np.inf, np.inf, shape=(3,), dtype=np.float32)
    action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(3, np.float32), {}

    def step(self, action):
        return np.zeros(3, np.float32), 0.0, False, False, {}


def fill(agent, n=300, seed=0):
    """``n`` random transitions in the agent's replay buffer, some of them terminal."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        agent.observe(
            Transition(
                rng.normal(size=(1, 3)).astype(np.float32),
                rng.uniform(-1, 1, size=(1, 2)).astype(np.float32),
                rng.normal(size=1),
                rng.normal(size=(1, 3)).astype(np.float32),
                rng.random(1) < 0.1,
                np.zeros(1, bool),
                None,
                None,
            )
        )


def make(name, **kw):
    settings = dict(net_arch=[16, 16], batch_size=8, learning_starts=10**6, learning_rate=1e-2, use_preset=False)
    return rlsuite.make_agent(name, SmallBoxEnv(), seed=0, **{**settings, **kw})


def twin_q(agent, twin, obs, action):
    """Q_1 and Q_2 of a one-seed TwinCritic, each computed by a single DDPG critic holding its weights."""
    both = copy.deepcopy(twin.q)
    for layer in both.modules():
        if isinstance(layer, StackedLayer):
            layer.group = 1  # its two members apart
    out = []
    for i in range(2):
        single = Critic(SmallBoxEnv.observation_space, SmallBoxEnv.action_space, agent.config)
        single.load_state_dict(members_state(both, i))
        out.append(single(obs, action))
    return out


# ----------------------------------------------------------------------------------------- TD3
def test_td3_target_is_the_min_of_the_twin_targets_at_the_clipped_smoothed_action():
    agent = make("td3", target_policy_noise=0.2, target_noise_clip=0.5, gamma=0.9)
    eps = np.array([[3.0, -0.1], [-4.0, 0.05]])  # the first clipped to ±0.5 on both sides, the second not
    agent.rng.normal = lambda shape, std=1.0: std * eps.reshape(shape)
    next_obs = torch.tensor([[0.5, -1.0, 2.0], [1.0, 0.0, -0.3]])
    reward, terminated = torch.tensor([[1.0, -2.0]]), torch.tensor([[0.0, 1.0]])
    y = agent.td_targets(reward, next_obs[None], terminated)

    noise = np.array([[0.5, -0.02], [-0.5, 0.01]])  # 0.2 eps, clipped to ±0.5 (half the range is 1)
    with torch.no_grad():
        mu = agent.actor_target(next_obs[None])[0]
        smoothed = torch.clamp(mu + torch.tensor(noise, dtype=torch.float32), -1.0, 1.0)
        q1, q2 = twin_q(agent, agent.critic_target, next_obs, smoothed)
    expected = torch.tensor([1.0, -2.0]) + 0.9 * torch.tensor([1.0, 0.0]) * torch.minimum(q1, q2)
    torch.testing.assert_close(y[0], expected)
    assert not torch.equal(q1, q2)  # two critics of their own


def test_td3_moves_the_actor_and_the_targets_every_policy_delay_updates():
    agent = make("td3", policy_delay=3, tau=0.5)
    fill(agent, 50)
    snapshot = lambda: [p.clone() for p in [*agent.actor.parameters(), *agent.critic_target.parameters()]]  # noqa: E731
    critic_before = [p.clone() for p in agent.critic.parameters()]
    for update in range(1, 7):
        before = snapshot()
        logs = agent.train_round(1)
        moved = any(not torch.equal(a, b) for a, b in zip(before, snapshot()))
        assert moved == (update % 3 == 0), update
        assert ("losses/actor_loss" in logs) == moved
    assert all(not torch.equal(a, b) for a, b in zip(critic_before, agent.critic.parameters()))


def sb3_model(algorithm, **settings):
    """Stable-Baselines3's ``algorithm`` with the settings :func:`make` gives ours (gamma 0.95, tau 0.05)."""
    from stable_baselines3.common.logger import configure

    model = algorithm(
        "MlpPolicy",
        SmallBoxEnv(),
        learning_rate=1e-2,
        batch_size=8,
        gamma=0.95,
        tau=0.05,
        policy_kwargs={"net_arch": [16, 16]},
        device="cpu",
        **settings,
    )
    model.set_logger(configure(None, []))
    return model


def _pairs(ours, theirs_critic):
    """(Stable-Baselines3's Linear, our twin critic's stacked layer, twin i) of each layer: its Linear
    holds (out, in) weights, our stacked layers (member, in, out)."""
    stacked = [m for m in ours.critic.q.modules() if hasattr(m, "members") and hasattr(m, "weight")]
    for i, q_net in enumerate(theirs_critic.q_networks):
        linears = [m for m in q_net if isinstance(m, torch.nn.Linear)]
        yield from ((lin, layer, i) for lin, layer in zip(linears, stacked, strict=True))


@torch.no_grad()
def _critics_to_sb3(ours, theirs_critic):
    for lin, layer, i in _pairs(ours, theirs_critic):
        lin.weight.copy_(layer.weight[i].T)
        lin.bias.copy_(layer.bias[i, 0])


def _same_critics(ours, theirs_critic):
    for lin, layer, i in _pairs(ours, theirs_critic):
        torch.testing.assert_close(layer.weight[i].T, lin.weight, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(layer.bias[i, 0], lin.bias, atol=1e-5, rtol=1e-4)


def _replay_into(theirs, batches):
    from stable_baselines3.common.type_aliases import ReplayBufferSamples

    replayed = iter(batches)

    def sample(batch_size, env=None):
        b = next(replayed)
        return ReplayBufferSamples(
            b.obs[0], b.action[0], b.next_obs[0], b.terminated[0].float()[:, None], b.reward[0].float()[:, None]
        )

    theirs.replay_buffer.sample = sample


def test_a_td3_training_round_equals_stable_baselines3s_on_the_same_minibatches_and_noise(monkeypatch):
    from stable_baselines3 import TD3

    ours = make("td3", policy_delay=2, gamma=0.95, tau=0.05)
    theirs = sb3_model(TD3, policy_delay=2)
    with torch.no_grad():
        for p, q in zip(theirs.actor.mu.parameters(), ours.actor.parameters(), strict=True):
            p.copy_(q)
    _critics_to_sb3(ours, theirs.critic)
    theirs.actor_target.load_state_dict(theirs.actor.state_dict())
    theirs.critic_target.load_state_dict(theirs.critic.state_dict())
    fill(ours)
    batches = ours.buffer.sample_batches(6, 8, ours.rng)
    ours.replay_batches = lambda steps: batches
    _replay_into(theirs, batches)
    z = [torch.randn(8, 2) for _ in range(6)]  # the smoothing noise's standard normals, one per update
    ours_z, theirs_z = iter(z), iter(z)
    ours.rng.normal = lambda shape, std=1.0: std * next(ours_z).numpy().astype(np.float64).reshape(shape)
    monkeypatch.setattr(
        torch.Tensor, "normal_", lambda self, mean=0.0, std=1.0: self.copy_(mean + std * next(theirs_z))
    )

    ours.train_round(6)
    theirs.train(6, 8)
    for p, q in zip(theirs.actor.mu.parameters(), ours.actor.parameters(), strict=True):
        torch.testing.assert_close(q, p, atol=1e-5, rtol=1e-4)
    _same_critics(ours, theirs.critic)
    for p, q in zip(theirs.actor_target.mu.parameters(), ours.actor_target.parameters(), strict=True):
        torch.testing.assert_close(q, p, atol=1e-5, rtol=1e-4)


# ----------------------------------------------------------------------------------------- SAC
def test_sac_log_prob_is_the_gaussians_less_the_tanh_correction():
    agent = make("sac")
    eps = torch.tensor([[[0.3, -1.2], [2.0, 0.1]]])
    agent.standard_normal = lambda rows: eps
    obs = torch.tensor([[[0.1, 0.2, 0.3], [-1.0, 0.5, 2.0]]])
    action, log_prob = agent.sample(obs)
    with torch.no_grad():
        mean, log_std = agent.actor(obs)
        u = mean + log_std.exp() * eps
        expected = torch.zeros(2)
        for b in range(2):
            for i in range(2):
                m, s, x = mean[0, b, i].item(), log_std[0, b, i].exp().item(), u[0, b, i].item()
                normal = -((x - m) ** 2) / (2 * s * s) - math.log(s) - 0.5 * math.log(2 * math.pi)
                expected[b] += normal - math.log(1 - math.tanh(x) ** 2 + 1e-6)
    torch.testing.assert_close(log_prob[0], expected)
    torch.testing.assert_close(action, torch.tanh(u))  # bounds [-1, 1]: the env's units are tanh's
    # and predict is the tanh of the mean, with no noise
    np.testing.assert_allclose(agent.predict(obs[0, 0].numpy()), torch.tanh(mean[0, 0]).numpy(), atol=1e-6)


def test_sac_alpha_moves_toward_the_target_entropy():
    agent = make("sac", learning_rate=0.01)
    fill(agent, 50)
    assert agent.target_entropy == -2.0
    log_prob = {}
    sample = agent.sample
    agent.sample = lambda obs: log_prob.setdefault(len(log_prob), sample(obs))  # record the policy's log probs
    agent.train_round(1)
    entropy_gap = (log_prob[0][1] + agent.target_entropy).mean().item()
    # Adam's first step moves log alpha by the rate against the sign of its gradient, −(log pi + target)
    assert agent.log_alpha().item() == pytest.approx(-0.01 * np.sign(-entropy_gap), abs=1e-6)


def test_a_fixed_entropy_coefficient_is_not_learned():
    agent = make("sac", ent_coef=0.2)
    fill(agent, 50)
    agent.train_round(3)
    assert agent.alpha_optimizer is None and "alpha_optimizer" not in agent.state_parts()
    assert agent.log_alpha().exp().item() == pytest.approx(0.2)


def test_a_sac_training_round_equals_stable_baselines3s_on_the_same_minibatches_and_noise(monkeypatch):
    from stable_baselines3 import SAC

    ours = make("sac", gamma=0.95, tau=0.05)
    theirs = sb3_model(SAC)
    actor = theirs.actor
    with torch.no_grad():
        for p, q in zip(actor.latent_pi.parameters(), ours.actor.backbone.parameters(), strict=True):
            p.copy_(q)
        head = ours.actor.mean_log_std
        actor.mu.weight.copy_(head.weight[:2]), actor.mu.bias.copy_(head.bias[:2])
        actor.log_std.weight.copy_(head.weight[2:]), actor.log_std.bias.copy_(head.bias[2:])
    _critics_to_sb3(ours, theirs.critic)
    theirs.critic_target.load_state_dict(theirs.critic.state_dict())
    fill(ours)
    batches = ours.buffer.sample_batches(5, 8, ours.rng)
    ours.replay_batches = lambda steps: batches
    _replay_into(theirs, batches)
    z = [torch.randn(8, 2) for _ in range(10)]  # the policy's standard normals: obs, then next obs, each update
    ours_z, theirs_z = iter(z), iter(z)
    ours.standard_normal = lambda rows: next(ours_z)[None]
    monkeypatch.setattr(
        torch.distributions.Normal, "rsample", lambda self, sample_shape=(): self.loc + self.scale * next(theirs_z)
    )

    ours.train_round(5)
    theirs.train(5, 8)
    for p, q in zip(actor.latent_pi.parameters(), ours.actor.backbone.parameters(), strict=True):
        torch.testing.assert_close(q, p, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(ours.actor.mean_log_std.weight[:2], actor.mu.weight, atol=1e-5, rtol=1e-4)
    _same_critics(ours, theirs.critic)
    torch.testing.assert_close(ours.log_alpha(), theirs.log_ent_coef.detach(), atol=1e-6, rtol=1e-5)


# ----------------------------------------------------------------------------------------- learning
@pytest.mark.parametrize("name", ["td3", "sac"])
def test_solves_the_continuous_corridor(name):
    result = rlsuite.make_agent(name, "rlsuite/WalkToTContinuous-v0", seed=0).learn(2500)  # the preset
    assert result.summary["eval_mean_return"] == pytest.approx(0.95, abs=0.011)  # T in the minimum 5 steps


def test_a_short_sac_pendulum_run_learns():
    agent = rlsuite.make_agent(
        "sac", "Pendulum-v1", seed=0, learning_starts=200, net_arch=[64, 64], learning_rate=1e-3, batch_size=64
    )
    result = agent.learn(3000, eval_freq=3000, eval_episodes=5)
    assert result.summary["eval_mean_return"] > -1000  # a random policy scores about -1 200 to -1 500


@pytest.mark.parametrize("seeds", [None, 3])
def test_td3s_actor_loss_reads_q1_alone_as_the_twins_give_it(seeds):
    agent = make("td3", seeds=seeds)
    k = agent.n_members
    obs, action = torch.randn(k, 5, 3), torch.rand(k, 5, 2) * 2 - 1
    torch.testing.assert_close(agent.critic.first(obs, action), agent.critic(obs, action)[:, 0])
