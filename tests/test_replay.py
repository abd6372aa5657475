import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from rlsuite.core.errors import RLSuiteError
from rlsuite.core.streams import Streams
from rlsuite.learning.replay import ReplayBuffer


def one(seed):
    """One member's random stream."""
    return Streams([seed])


def draw(buffer, n, seed):
    """``n`` transitions of a one-member buffer, as (n, ...) arrays."""
    batch = buffer.sample(1, n, one(seed)).unstack()[0]
    assert batch.reward.shape[:1] == (1,)
    return batch.unstack()[0]


def fill(buffer, steps, n_envs=1, end_every=3):
    """Obs t for env e is 100 * e + t; episodes end every `end_every` steps with final obs -obs-1."""
    for t in range(steps):
        obs = np.array([[100 * e + t] for e in range(n_envs)], dtype=np.float32)
        ended = np.full(n_envs, (t + 1) % end_every == 0)
        next_obs = np.where(ended[:, None], -(obs + 1), obs + 1)
        buffer.add(
            obs,
            np.full(n_envs, t % 2),
            np.full(n_envs, float(t)),
            next_obs,
            terminated=ended & (t % 2 == 0),
            truncated=ended & (t % 2 == 1),
        )


def test_next_obs_is_the_following_obs_or_the_final_one():
    buffer = ReplayBuffer(50, spaces.Box(-1e9, 1e9, (1,), np.float32), spaces.Discrete(2))
    fill(buffer, 20)
    batch = draw(buffer, 500, 0)
    t = batch.reward.astype(int)
    np.testing.assert_array_equal(batch.obs[:, 0], t)
    ended = (t + 1) % 3 == 0
    np.testing.assert_array_equal(batch.next_obs[:, 0], np.where(ended, -(t + 1), t + 1))
    np.testing.assert_array_equal(batch.terminated, (ended & (t % 2 == 0)).astype(np.float32))
    np.testing.assert_array_equal(batch.action, t % 2)
    assert set(t) == set(range(20))


def test_wraparound_never_returns_an_overwritten_transition():
    buffer = ReplayBuffer(8, spaces.Box(-1e9, 1e9, (1,), np.float32), spaces.Discrete(2), n_envs=2)
    fill(buffer, 27, n_envs=2)
    assert len(buffer) == 16
    batch = draw(buffer, 2000, 1)
    t = batch.reward.astype(int)
    assert set(t) == set(range(27 - 7, 27))  # the oldest slot was overwritten ahead of time
    env = (batch.obs[:, 0] - t) // 100
    assert set(env) == {0, 1}
    ended = (t + 1) % 3 == 0
    expected = np.where(ended, -(batch.obs[:, 0] + 1), batch.obs[:, 0] + 1)
    np.testing.assert_array_equal(batch.next_obs[:, 0], expected)


def test_uint8_pixels_stay_uint8_and_masks_follow_the_obs():
    space = spaces.Box(0, 255, (4, 6, 3), np.uint8)
    buffer = ReplayBuffer(10, space, spaces.Discrete(3), n_mask_actions=3)
    assert buffer.obs.dtype == np.uint8
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (1, 4, 6, 3), dtype=np.uint8) for _ in range(5)]
    masks = [np.array([[1, 1, t % 2]], dtype=np.int8) for t in range(5)]
    for t in range(4):
        buffer.add(frames[t], [0], [t], frames[t + 1], [False], [False], mask=masks[t], next_mask=masks[t + 1])
    batch = draw(buffer, 64, 0)
    for i, t in enumerate(batch.reward.astype(int)):
        np.testing.assert_array_equal(batch.next_obs[i], frames[t + 1][0])
        np.testing.assert_array_equal(batch.next_mask[i], masks[t + 1][0])
    assert batch.obs.dtype == np.uint8


def test_state_arrays_round_trip():
    buffer = ReplayBuffer(8, gym.spaces.Discrete(5), spaces.Discrete(2))
    for t in range(11):
        buffer.add(np.array([t % 5]), [1], [t], np.array([(t + 1) % 5]), [False], [t % 4 == 3])
    copy = ReplayBuffer(8, gym.spaces.Discrete(5), spaces.Discrete(2))
    copy.load_state_arrays(buffer.state_arrays())
    a, b = draw(buffer, 32, 3), draw(copy, 32, 3)
    np.testing.assert_array_equal(a.next_obs, b.next_obs)
    assert len(copy) == len(buffer) == 8


def test_a_partly_filled_buffer_round_trips_through_its_filled_part():
    buffer = ReplayBuffer(100, gym.spaces.Discrete(5), spaces.Discrete(2), n_mask_actions=2)
    for t in range(7):
        buffer.add(
            np.array([t % 5]), [1], [t], np.array([(t + 1) % 5]), [False], [t == 3], mask=[[1, 0]], next_mask=[[0, 1]]
        )
    arrays = buffer.state_arrays()
    assert len(arrays["rewards"]) == 7 and len(arrays["obs"]) == 8  # the slots written, and the obs written ahead
    copy = ReplayBuffer.from_arrays(arrays, gym.spaces.Discrete(5), spaces.Discrete(2))
    assert copy.capacity == 100 and len(copy) == 7
    a, b = draw(buffer, 64, 3), draw(copy, 64, 3)
    for name in ("obs", "action", "reward", "next_obs", "terminated", "next_mask"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_checkpoints_hold_the_filled_part_of_a_large_buffer(tmp_path):
    import rlsuite

    agent = rlsuite.make_agent(
        "dqn", "CartPole-v1", seed=0, buffer_size=1_000_000, learning_starts=10**9, use_preset=False
    )
    agent.learn(600, run_dir=tmp_path / "run", eval_episodes=1)
    replay = next((tmp_path / "run" / "checkpoints").glob("step_*")) / "replay.npz"
    assert replay.stat().st_size < 200_000  # 600 transitions of CartPole, not a million slots (≈ 50 MB)
    resumed = rlsuite.make_agent(
        "dqn", "CartPole-v1", seed=0, buffer_size=1_000_000, learning_starts=10**9, use_preset=False
    )
    resumed.learn(700, run_dir=tmp_path / "run", resume=True, eval_episodes=1)
    assert resumed.buffer.capacity == 1_000_000 and len(resumed.buffer) == 700


def test_members_sample_their_own_envs_with_their_own_streams():
    space = spaces.Box(-1e9, 1e9, (1,), np.float32)
    buffer = ReplayBuffer(8, space, spaces.Discrete(2), n_envs=3 * 2)  # 3 members of 2 envs
    fill(buffer, 11, n_envs=6)
    batch = buffer.sample(1, 400, Streams([5, 6, 7])).unstack()[0]
    assert batch.obs.shape == (3, 400, 1)
    env = (batch.obs[..., 0] - batch.reward) // 100
    for k in range(3):
        assert set(env[k].astype(int)) == {2 * k, 2 * k + 1}
    # member 1 (seed 6) draws the same slots and envs (within its block) beside other seeds
    other = buffer.sample(1, 400, Streams([9, 6, 4])).unstack()[0]
    np.testing.assert_array_equal(other.obs[1], batch.obs[1])
    # and a round of 3 batches is the 3 batches drawn one after another
    streams = Streams([5, 6, 7])
    singles = [buffer.sample(1, 16, streams).unstack()[0] for _ in range(3)]
    rounds = buffer.sample_batches(3, 16, Streams([5, 6, 7]))
    for single, batch in zip(singles, rounds):
        assert tuple(batch.obs.shape) == (3, 16, 1)
        np.testing.assert_array_equal(batch.next_obs.numpy(), single.next_obs)


def test_a_members_replay_moves_out_and_back_in():
    space = spaces.Box(-1e9, 1e9, (1,), np.float32)
    buffer = ReplayBuffer(8, space, spaces.Discrete(2), n_envs=4)  # 2 members of 2 envs
    fill(buffer, 5, n_envs=4)
    mine = buffer.member_state_arrays(1, 2)
    assert mine["obs"].shape == (6, 2, 1) and mine["rewards"].shape == (5, 2)
    alone = ReplayBuffer.from_arrays(mine, space, spaces.Discrete(2))
    np.testing.assert_array_equal(alone.obs[:6, :, 0], buffer.obs[:6, 2:, 0])
    again = ReplayBuffer.for_members(mine, space, spaces.Discrete(2), 2)
    again.load_member_state_arrays(1, 2, mine)
    again.load_member_state_arrays(0, 2, buffer.member_state_arrays(0, 2))
    for name in ("obs", "final_obs", "actions", "rewards", "terminated", "ended"):
        np.testing.assert_array_equal(getattr(again, name), getattr(buffer, name))
    fill(alone, 1, n_envs=2)
    with pytest.raises(RLSuiteError, match="load the members' checkpoints of one step"):
        again.load_member_state_arrays(1, 2, alone.state_arrays())
