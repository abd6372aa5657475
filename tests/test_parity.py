"""rlsuite's DQN and DDPG run Stable-Baselines3's schedule step for step: the ε of every action, the
env steps at which training rounds run (and their gradient steps) and those at which DQN's target
moves; and the parity benchmark's statistics."""

import gymnasium as gym
import numpy as np
import pytest
import stable_baselines3
import stable_baselines3.dqn.dqn as sb3_dqn
import torch
from stable_baselines3.common.noise import NormalActionNoise

import rlsuite.agents.dqn as dqn_module
from rlsuite.agents import make_agent
from rlsuite.tools import bench_parity

DQN_HYPER = dict(
    learning_rate=1e-3,
    batch_size=32,
    buffer_size=10_000,
    learning_starts=300,
    gamma=0.99,
    target_update_interval=10,
    train_freq=64,
    gradient_steps=4,
    exploration_fraction=0.5,
    exploration_final_eps=0.04,
)
STEPS = 1280  # whole rounds of train_freq: SB3 collects whole rounds, so it would otherwise run on past STEPS
QUIET = dict(progress=False, log_images=False, eval_freq=10**9, eval_episodes=1, checkpoint_every=10**9)


def record_rounds(model, log):
    """Wrap ``model``'s training round (SB3's ``train``, rlsuite's ``train_round``) to log
    (env step, gradient steps)."""
    name = "train_round" if hasattr(model, "train_round") else "train"
    real = getattr(model, name)

    def wrapped(gradient_steps, *args, **kwargs):
        log.append((model.num_timesteps, gradient_steps))
        return real(gradient_steps, *args, **kwargs)

    setattr(model, name, wrapped)


def sb3_dqn_schedule(monkeypatch):
    model = stable_baselines3.DQN(
        "MlpPolicy", gym.make("CartPole-v1"), seed=0, policy_kwargs={"net_arch": [16]}, **DQN_HYPER
    )
    eps, rounds, targets = [], [], set()
    real_sample, real_polyak = model._sample_action, sb3_dqn.polyak_update

    def sample(learning_starts, *args, **kwargs):  # SB3 acts uniformly at random before learning_starts
        eps.append(1.0 if model.num_timesteps < learning_starts else model.exploration_rate)
        return real_sample(learning_starts, *args, **kwargs)

    def polyak(*args):
        targets.add(model.num_timesteps)  # called twice a target update: parameters, then batch-norm statistics
        return real_polyak(*args)

    model._sample_action = sample
    monkeypatch.setattr(sb3_dqn, "polyak_update", polyak)
    record_rounds(model, rounds)
    model.learn(STEPS)
    return eps, rounds, sorted(targets)


def rlsuite_dqn_schedule(monkeypatch):
    agent = make_agent("dqn", "CartPole-v1", seed=0, use_preset=False, net_arch=[16], **DQN_HYPER)
    eps, rounds, targets = [], [], []
    real_greedy, real_polyak = dqn_module.epsilon_greedy, dqn_module.polyak_update

    def greedy(q_values, n_actions, n, epsilon, *args):
        eps.append(epsilon)
        return real_greedy(q_values, n_actions, n, epsilon, *args)

    def polyak(*args):
        targets.append(agent.num_timesteps)
        return real_polyak(*args)

    monkeypatch.setattr(dqn_module, "epsilon_greedy", greedy)
    monkeypatch.setattr(dqn_module, "polyak_update", polyak)
    record_rounds(agent, rounds)
    agent.learn(STEPS, **QUIET)
    return eps[:STEPS], rounds, targets  # after STEPS: the final evaluation's greedy actions


def test_dqn_runs_stable_baselines3_schedule_step_for_step(monkeypatch):
    sb3_eps, sb3_rounds, sb3_targets = sb3_dqn_schedule(monkeypatch)
    eps, rounds, targets = rlsuite_dqn_schedule(monkeypatch)
    assert len(sb3_eps) == len(eps) == STEPS
    np.testing.assert_allclose(eps, sb3_eps, rtol=0, atol=1e-12)  # the ε of each of the 1280 actions
    assert eps[0] == 1.0 and eps[-1] == pytest.approx(0.04) and 0.04 < eps[500] < 1.0
    # a round every 64 env steps once more than 300 were taken: the first at 320
    assert rounds == sb3_rounds == [(step, 4) for step in range(320, STEPS + 1, 64)]
    assert targets == sb3_targets == list(range(10, STEPS + 1, 10))


def test_ddpg_trains_on_stable_baselines3_steps(monkeypatch):
    hyper = dict(learning_starts=100, train_freq=3, gradient_steps=2, batch_size=32, buffer_size=1000)
    model = stable_baselines3.DDPG(
        "MlpPolicy",
        gym.make("Pendulum-v1"),
        seed=0,
        policy_kwargs={"net_arch": [16]},
        action_noise=NormalActionNoise(np.zeros(1), 0.1 * np.ones(1)),
        **hyper,
    )
    agent = make_agent("ddpg", "Pendulum-v1", seed=0, use_preset=False, net_arch=[16], noise_std=0.1, **hyper)
    sb3_rounds, rounds = [], []
    record_rounds(model, sb3_rounds)
    record_rounds(agent, rounds)
    model.learn(300)
    agent.learn(300, **QUIET)
    assert rounds == sb3_rounds == [(step, 2) for step in range(102, 301, 3)]


def test_parity_statistics_and_sb3_arguments():
    runs = [([5, 10], [1.0, 3.0]), ([5, 10], [2.0, 2.0]), ([5, 10], [0.0, 10.0])]
    stats = bench_parity._statistics(runs)
    assert stats["final"] == [3.0, 2.0, 10.0] and stats["area"] == [2.0, 2.0, 5.0]
    assert stats["final_iqm"][1] <= stats["final_iqm"][0] <= stats["final_iqm"][2]
    same = bench_parity._mann_whitney(stats, stats)
    apart = bench_parity._mann_whitney(
        {"final": [1.0] * 8, "area": list(range(8))}, {"final": [9.0] * 8, "area": list(range(10, 18))}
    )
    assert same == {"final": 1.0, "area": 1.0} and apart["final"] < 0.01 and apart["area"] < 0.01
    kwargs = bench_parity.sb3_kwargs(
        {"net_arch": [400, 300], "noise_std": 0.1, "noise_type": "normal", "gamma": 0.98},
        gym.spaces.Box(-2.0, 2.0, (1,)),
    )
    assert kwargs["policy_kwargs"] == {"net_arch": [400, 300]} and kwargs["gamma"] == 0.98
    assert isinstance(kwargs["action_noise"], NormalActionNoise) and "noise_std" not in kwargs


def test_dqn_learns_from_stable_baselines3s_data_exactly_as_it_does(monkeypatch):
    """SB3's DQN trains on CartPole (episodes cut at 20 steps, so truncations happen) and records each
    transition it stores, each minibatch's indices and its weights after each round. rlsuite's DQN,
    from the same initial weights and with SB3's Adam kernel (rlsuite's fused one rounds differently),
    observes the same transitions and draws the same minibatches: its weights equal SB3's bit for bit
    after every round — storage, episode ends, targets, schedule and update are SB3's."""
    from stable_baselines3.common.buffers import ReplayBuffer as SB3Buffer

    from rlsuite.core.transition import Transition

    model = stable_baselines3.DQN(
        "MlpPolicy", gym.make("CartPole-v1", max_episode_steps=20), seed=3, policy_kwargs={"net_arch": [16]},
        **DQN_HYPER,
    )  # fmt: skip
    start = {k: v.clone() for k, v in model.q_net.state_dict().items()}
    stored, batches, weights = [], [], []
    real_add, real_get = SB3Buffer.add, SB3Buffer._get_samples

    def add(self, obs, next_obs, action, reward, done, infos):
        truncated = bool(infos[0].get("TimeLimit.truncated", False))
        stored.append(
            (obs.copy(), action.copy(), reward.copy(), next_obs.copy(), bool(done[0]) and not truncated, truncated)
        )
        return real_add(self, obs, next_obs, action, reward, done, infos)

    def get(self, batch_inds, env=None):
        batches.append(batch_inds.copy())
        return real_get(self, batch_inds, env)

    monkeypatch.setattr(SB3Buffer, "add", add)
    monkeypatch.setattr(SB3Buffer, "_get_samples", get)
    real_train = model.train

    def train(gradient_steps, batch_size):
        real_train(gradient_steps, batch_size)
        weights.append((len(stored), {k: v.clone() for k, v in model.q_net.state_dict().items()}))

    model.train = train
    model.learn(STEPS)
    assert sum(t[5] for t in stored) >= 3 and sum(t[4] for t in stored) >= 10  # truncations and terminations

    agent = make_agent("dqn", "CartPole-v1", seed=0, use_preset=False, net_arch=[16], **DQN_HYPER)
    names = dict(zip(start, [k for k in agent.q_net.state_dict()]))  # q_net.0 ... q_net.4 -> backbone ..., head
    with torch.no_grad():
        for theirs, ours in names.items():
            agent.q_net.state_dict()[ours].copy_(start[theirs])
        agent.target_net.load_state_dict(agent.q_net.state_dict())
    agent.optimizer = torch.optim.Adam(agent._params, lr=DQN_HYPER["learning_rate"], foreach=False)
    agent.begin(STEPS)
    drawn = iter(batches)

    def sample(n_batches, batch_size, rng):
        slots = np.concatenate([next(drawn) for _ in range(n_batches)])
        return agent.buffer._gather(slots, np.zeros_like(slots)).reshape(n_batches, 1, batch_size)

    rounds = iter(weights)
    due, expected = next(rounds)
    for step, (obs, action, reward, next_obs, terminated, truncated) in enumerate(stored, start=1):
        transition = Transition(
            obs, action, reward.astype(np.float64), next_obs, np.array([terminated]), np.array([truncated])
        )
        if agent.buffer is not None:
            agent.buffer.sample = sample
        agent.observe(transition)
        if step == due:
            mine = agent.q_net.state_dict()
            for theirs, ours in names.items():
                assert torch.equal(mine[ours], expected[theirs]), (step, ours)
            due, expected = next(rounds, (None, None))
    assert due is None  # every round compared
