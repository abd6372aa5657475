"""DQN and DDPG with K members: stacked networks, per-member replay, streams and clipping.

The agents are stepped here by hand on a Gymnasium vector env of K × n envs (same-step autoreset,
envs seeded as the loop seeds them), so these tests check the agents alone, whatever the loop does.
"""

import gymnasium as gym
import numpy as np
import pytest
import torch
from agents.ddpg import DDPG
from agents.dqn import DQN

import rlsuite
from rlsuite.core.errors import RLSuiteError
from rlsuite.core.transition import Transition
from rlsuite.driver.memberstate import DoneMembers, member_arrays
from rlsuite.vecenv.vector import env_seeds

CARTPOLE = gym.make("CartPole-v1")
PENDULUM = gym.make("Pendulum-v1")
SMALL_DQN = dict(
    learning_starts=50,
    train_freq=2,
    batch_size=16,
    buffer_size=500,
    target_update_interval=50,
    net_arch=[32, 32],
    exploration_fraction=0.5,
    learning_rate=1e-3,
)


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def dqn(seeds, **settings):
    return DQN(
        CARTPOLE.observation_space,
        CARTPOLE.action_space,
        DQN.make_config({**SMALL_DQN, **settings}),
        seeds=seeds,
        env="CartPole-v1",
    )


def ddpg(seeds, **settings):
    config = DDPG.make_config({"learning_starts": 100, "batch_size": 32, "net_arch": [32, 32], **settings})
    return DDPG(PENDULUM.observation_space, PENDULUM.action_space, config, seeds=seeds, env="Pendulum-v1")


def drive(agent, steps, n_envs=1, env_id="CartPole-v1", followers=(), done=None):
    """Step ``agent`` on K × n_envs envs for ``steps`` steps. Each follower (agent, k) acts on member k's rows
    and observes member k's transitions (k None: all rows); returns the share of its actions that agreed.
    ``done`` (DoneMembers) puts back the state of members that are done after each step, as the loop does."""
    envs = gym.make_vec(
        env_id,
        num_envs=agent.n_members * n_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
    )
    obs, _ = envs.reset(seed=env_seeds(agent.seeds, n_envs))
    for one in [agent, *(f for f, _ in followers)]:
        one.begin(steps * n_envs)
    rows = [slice(None) if k is None else slice(k * n_envs, (k + 1) * n_envs) for _, k in followers]
    agreed = np.zeros(len(followers))
    for _ in range(steps):
        actions = agent.act(obs, None)
        for i, ((follower, _), own) in enumerate(zip(followers, rows)):
            agreed[i] += np.array_equal(follower.act(obs[own], None), actions[own])
        next_obs, reward, terminated, truncated, info = envs.step(actions)
        real = next_obs.copy()
        for i in np.flatnonzero(info.get("_final_obs", [])):
            real[i] = info["final_obs"][i]
        batch = Transition(obs, actions, reward, real, terminated, truncated)
        agent.observe(batch)
        if done is not None:
            done.restore()
        for (follower, _), own in zip(followers, rows):
            follower.observe(
                Transition(
                    *(
                        None if v is None else v[own]
                        for v in (
                            batch.obs,
                            batch.action,
                            batch.reward,
                            batch.next_obs,
                            batch.terminated,
                            batch.truncated,
                        )
                    ),
                    None,
                    None,
                )
            )
        obs = next_obs
    envs.close()
    return agreed / steps


def member_state(agent, k):
    return member_arrays(agent.state_parts(), k, agent.n_members)


def assert_same(a, b, exact=True):
    assert a.keys() == b.keys()
    for key in a:
        if exact:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-4, atol=1e-5, err_msg=key)


def test_dqn_with_three_members_learns_cartpole():
    agent = dqn(
        [3, 7, 11],
        learning_starts=500,
        train_freq=4,
        gradient_steps=4,
        batch_size=64,
        buffer_size=10_000,
        target_update_interval=250,
        net_arch=[64, 64],
        exploration_fraction=0.2,
        learning_rate=2.3e-3,
    )
    assert agent.q_net.members == 3
    before = torch.random.get_rng_state()
    drive(agent, 4000)
    assert torch.equal(torch.random.get_rng_state(), before)  # the global torch generator is not used
    returns = [rlsuite.evaluate(agent.member(k), episodes=5, seed=0)[0] for k in range(3)]
    assert min(returns) >= 100, returns  # a random policy balances for about 22 steps


def test_members_start_as_single_networks_and_leave_torchs_generator_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    agent = dqn([3, 7, 11])
    assert torch.equal(torch.rand(3), expected)
    for k, seed in enumerate([3, 7, 11]):
        assert_same(member_state(agent, k), dqn([seed]).state_tensors())
    torch.testing.assert_close(agent.target_net.head.advantage.weight, agent.q_net.head.advantage.weight)


def test_dqn_member_is_the_same_beside_other_seeds():
    beside_7, beside_11 = dqn([3, 7]), dqn([3, 11])
    for agent in (beside_7, beside_11):
        drive(agent, 300, n_envs=2)
        assert agent.num_timesteps == 600 and len(agent.buffer) == 2 * 500  # buffer_size transitions each
    assert_same(member_state(beside_7, 0), member_state(beside_11, 0))
    assert not np.array_equal(
        member_state(beside_7, 1)["q_net.head.advantage.weight"],
        member_state(beside_11, 1)["q_net.head.advantage.weight"],
    )
    assert beside_7.member_extra_state(0) == beside_11.member_extra_state(0)
    np.testing.assert_array_equal(beside_7.member_replay_arrays(0)["obs"], beside_11.member_replay_arrays(0)["obs"])


def test_a_member_matches_a_single_seed_run_trained_alike():
    """Member 1 of [3, 7, 11] against a one-member agent of seed 7 fed member 1's transitions: the same
    random draws, actions and replay, and weights equal to float32 rounding. Not bit for bit: a stacked
    network multiplies with torch.baddbmm and a single one with nn.Linear's addmm, whose kernels sum
    in different orders (about 1e-7 apart after a few hundred updates)."""
    stacked, single = dqn([3, 7, 11]), dqn([7])
    agreed = drive(stacked, 300, n_envs=2, followers=[(single, 1)])
    assert agreed[0] > 0.97
    mine, theirs = member_state(stacked, 1), single.state_tensors()
    assert {k for k in mine if k.startswith("optimizer.")} == {k for k in theirs if k.startswith("optimizer.")}
    assert_same(mine, theirs, exact=False)
    assert stacked.member_extra_state(1) == single.extra_state() | {"rng": single.rng.state()}
    np.testing.assert_array_equal(stacked.member_replay_arrays(1)["rewards"], single.replay_arrays()["rewards"])


def test_clipping_is_per_member():
    """Member 1's rewards are a million times larger, so its gradient is clipped hard; member 0's is not touched."""

    def trained(scale):
        agent = dqn([3, 7], learning_starts=0, train_freq=1, max_grad_norm=1.0)
        rng = np.random.default_rng(0)
        for _ in range(40):
            obs = rng.normal(size=(2, 4)).astype(np.float32)
            reward = np.array([1.0, scale])
            agent.observe(
                Transition(obs, rng.integers(0, 2, 2), reward, obs + 0.1, np.zeros(2, bool), np.zeros(2, bool))
            )
        return agent

    calm, wild = trained(1.0), trained(1e6)
    assert_same(member_state(calm, 0), member_state(wild, 0))
    calm_1, wild_1 = member_state(calm, 1), member_state(wild, 1)
    assert not np.array_equal(calm_1["q_net.head.advantage.bias"], wild_1["q_net.head.advantage.bias"])
    # and the clipping itself: member 1's norm is cut to 1 while member 0's small gradient stays as it was
    wild.optimizer.zero_grad()
    batch = wild.replay_batches(1)[0]
    q = wild.q_net(batch.obs).gather(-1, batch.action.long().unsqueeze(-1)).squeeze(-1)
    (q * torch.tensor([[1e-3], [1e6]])).mean(dim=-1).sum().backward()
    before = [p.grad.clone() for p in wild._params]
    norms = wild.clip_per_member(wild._params, 1.0)
    assert norms[0] < 1.0 < norms[1]
    for p, g in zip(wild._params, before):
        torch.testing.assert_close(p.grad[0], g[0], rtol=0, atol=0)
    after = torch.linalg.vector_norm(torch.cat([p.grad[1].reshape(-1) for p in wild._params]))
    assert after == pytest.approx(1.0, rel=1e-4)


def test_a_member_saves_loads_and_goes_back_in_exactly(tmp_path):
    agent = dqn([3, 7, 11])
    drive(agent, 150, n_envs=2)
    single = agent.member(1)
    assert single.n_members == 1 and single.seed == 7 and single.num_timesteps == agent.num_timesteps
    assert_same(single.state_tensors(), member_state(agent, 1))
    assert any(".exp_avg_sq" in k for k in single.state_tensors())
    single.save(tmp_path / "member")
    loaded = rlsuite.load(tmp_path / "member")
    assert_same(loaded.state_tensors(), single.state_tensors())
    obs = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(obs), single.predict(obs))
    np.testing.assert_array_equal(agent.predict(np.repeat(obs[:1], 3, axis=0))[1], single.predict(obs[0]))

    # a fresh agent of the same seeds takes every member back in and goes on exactly as the original
    again = dqn([3, 7, 11])
    for k, member in enumerate(agent.members):
        again.load_member(k, member)
    for k in range(3):
        assert_same(member_state(again, k), member_state(agent, k))
    assert again.extra_state() == agent.extra_state()
    for name, array in agent.replay_arrays().items():
        np.testing.assert_array_equal(again.replay_arrays()[name], array, err_msg=name)
    agreed = drive(agent, 100, n_envs=2, followers=[(again, None)])
    assert agreed[0] == 1.0
    assert_same(again.state_tensors(), agent.state_tensors())

    with pytest.raises(RLSuiteError, match="not one of the 3 members"):
        agent.member(3)


def test_a_member_the_loop_marks_done_keeps_its_state():
    agent, alone = dqn([3, 7]), dqn([3, 7])
    drive(agent, 100)
    drive(alone, 100)
    frozen = member_state(agent, 1)
    done = DoneMembers(agent)
    done.stop(1)
    drive(agent, 100, done=done)
    now = member_state(agent, 1)
    # Adam's step count is one for all members (one per parameter tensor): it shows the run's
    assert now.pop("optimizer.0.step") == frozen.pop("optimizer.0.step") + 100 // 2  # train_freq=2
    assert_same(
        {k: v for k, v in now.items() if not k.endswith(".step")},
        {k: v for k, v in frozen.items() if not k.endswith(".step")},
    )
    drive(alone, 100)  # member 0 went on as it would have beside a member that learns
    assert_same(member_state(agent, 0), member_state(alone, 0))


@pytest.mark.parametrize("noise_type", ["normal", "ornstein-uhlenbeck"])
def test_ddpg_member_is_the_same_beside_other_seeds(noise_type):
    beside_7, beside_11 = ddpg([3, 7], noise_type=noise_type), ddpg([3, 11], noise_type=noise_type)
    for agent in (beside_7, beside_11):
        drive(agent, 300, env_id="Pendulum-v1")
        assert agent.actor.members == 2
    assert_same(member_state(beside_7, 0), member_state(beside_11, 0))
    assert beside_7.member_extra_state(0) == beside_11.member_extra_state(0)
    assert not np.array_equal(
        member_state(beside_7, 1)["actor.head.linear.weight"], member_state(beside_11, 1)["actor.head.linear.weight"]
    )
    single = beside_7.member(0)
    if noise_type == "ornstein-uhlenbeck":
        np.testing.assert_array_equal(single.noise.state, beside_7.noise.state[:1])
    assert_same(member_state(ddpg([11, 3]), 1), ddpg([3], noise_type=noise_type).state_tensors())
    again = ddpg([3, 7], noise_type=noise_type)  # both optimizers' moments and the noise go back in
    for k, member in enumerate(beside_7.members):
        again.load_member(k, member)
    assert_same(again.state_tensors(), beside_7.state_tensors())
    assert again.extra_state() == beside_7.extra_state()


@pytest.mark.parametrize("env_id", ["rlsuite/WalkToT-v0", "rlsuite/WalkToTPixels-v0"])
def test_one_hot_and_pixel_members_are_independent(env_id):
    env = rlsuite.make_env(env_id)
    config = DQN.make_config(
        {"learning_starts": 20, "batch_size": 8, "buffer_size": 200, "train_freq": 2, "net_arch": [16], "features": 32}
    )

    def make(seeds):
        return DQN(env.observation_space, env.action_space, config, seeds=seeds, env=env_id)

    beside_7, beside_11 = make([3, 7]), make([3, 11])
    assert_same(member_state(beside_7, 0), make([3]).state_tensors())
    for agent in (beside_7, beside_11):
        drive(agent, 60, env_id=env_id)
    assert_same(member_state(beside_7, 0), member_state(beside_11, 0))
