import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlsuite.training.replay import ReplayBuffer


def fill(buffer, steps, n_envs=1, end_every=3):
    """Obs t for env e is 100 * e + t; episodes end every `end_every` steps with final obs -obs-1."""
    for t in range(steps):
        obs = np.array([[100 * e + t] for e in range(n_envs)], dtype=np.float32)
        ended = np.full(n_envs, (t + 1) % end_every == 0)
        next_obs = np.where(ended[:, None], -(obs + 1), obs + 1)
        buffer.add(obs, np.full(n_envs, t % 2), np.full(n_envs, float(t)), next_obs,
                   terminated=ended & (t % 2 == 0), truncated=ended & (t % 2 == 1))


def test_next_obs_is_the_following_obs_or_the_final_one():
    buffer = ReplayBuffer(50, spaces.Box(-1e9, 1e9, (1,), np.float32), spaces.Discrete(2))
    fill(buffer, 20)
    batch = buffer.sample(500, np.random.default_rng(0))
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
    batch = buffer.sample(2000, np.random.default_rng(1))
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
    batch = buffer.sample(64, rng)
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
    a, b = buffer.sample(32, np.random.default_rng(3)), copy.sample(32, np.random.default_rng(3))
    np.testing.assert_array_equal(a.next_obs, b.next_obs)
    assert len(copy) == len(buffer) == 8


def test_a_partly_filled_buffer_round_trips_through_its_filled_part():
    buffer = ReplayBuffer(100, gym.spaces.Discrete(5), spaces.Discrete(2), n_mask_actions=2)
    for t in range(7):
        buffer.add(np.array([t % 5]), [1], [t], np.array([(t + 1) % 5]), [False], [t == 3], mask=[[1, 0]],
                   next_mask=[[0, 1]])
    arrays = buffer.state_arrays()
    assert len(arrays["rewards"]) == 7 and len(arrays["obs"]) == 8  # the slots written, and the obs written ahead
    copy = ReplayBuffer.from_arrays(arrays, gym.spaces.Discrete(5), spaces.Discrete(2))
    assert copy.capacity == 100 and len(copy) == 7
    a, b = buffer.sample(64, np.random.default_rng(3)), copy.sample(64, np.random.default_rng(3))
    for name in ("obs", "action", "reward", "next_obs", "terminated", "next_mask"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_checkpoints_hold_the_filled_part_of_a_large_buffer(tmp_path):
    import rlsuite

    agent = rlsuite.make_agent("dqn", "CartPole-v1", seed=0, buffer_size=1_000_000, learning_starts=10**9,
                               use_preset=False)
    agent.learn(600, run_dir=tmp_path / "run", eval_episodes=1)
    replay = next((tmp_path / "run" / "checkpoints").glob("step_*")) / "replay.npz"
    assert replay.stat().st_size < 200_000  # 600 transitions of CartPole, not a million slots (≈ 50 MB)
    resumed = rlsuite.make_agent("dqn", "CartPole-v1", seed=0, buffer_size=1_000_000, learning_starts=10**9,
                                 use_preset=False)
    resumed.learn(700, run_dir=tmp_path / "run", resume=True, eval_episodes=1)
    assert resumed.buffer.capacity == 1_000_000 and len(resumed.buffer) == 700
