import numpy as np
import pytest
from tests.conftest import ConstantRewardEnv

import rlsuite
from rlsuite.core.errors import RLSuiteError


def test_converges_on_the_recycling_robot():
    q_star, _, exact = rlsuite.solve("rlsuite/RecyclingRobot-v0", gamma=0.9)
    agent = rlsuite.make_agent("qlearning", "rlsuite/RecyclingRobot-v0", seed=0, gamma=0.9)
    result = agent.learn(20_000)
    allowed = np.array([[1, 1, 0], [1, 1, 1]], dtype=bool)
    error = np.abs(agent.q_table - q_star)[allowed].max()
    assert error <= 0.05 * np.abs(q_star).max()
    assert result.summary["q_error"] == pytest.approx(error)
    greedy = np.where(allowed, agent.q_table, -np.inf).argmax(axis=1)
    assert greedy.tolist() == exact.tolist() == [0, 2]


def test_the_seeds_walk_to_t_experiment():
    """Greedy rate 0.9, step size 0.1, discount 0.8, 13 episodes from cell 0."""
    agent = rlsuite.make_agent("qlearning", "rlsuite/WalkToT-v0", seed=8, learning_rate=0.1, gamma=0.8, epsilon=0.1)
    result = agent.learn(10_000, max_episodes=13)
    lengths = result.episode_lengths
    assert len(lengths) == 13 and lengths[0] > 5 and lengths[-8:] == [5] * 8
    # at this seed the table equals the one the seed's program printed
    np.testing.assert_allclose(agent.q_table[:3, 1], [0.002646, 0.017490, 0.085685], atol=5e-7)
    assert [agent.predict(s) for s in range(5)] == [1] * 5


def test_masks_are_honoured():
    agent = rlsuite.make_agent("qlearning", "rlsuite/RecyclingRobot-v0", seed=0, epsilon=1.0)
    high_mask = np.array([[1, 1, 0]], dtype=np.int8)
    actions = {int(agent.act(np.array([0]), high_mask)[0]) for _ in range(300)}
    assert actions == {0, 1}
    agent.learn(3000)
    assert agent.q_table[0, 2] == 0.0  # recharge in high was never tried
    assert agent.predict(0, action_mask=high_mask[0]) != 2


def test_truncation_bootstraps_from_the_final_state():
    agent = rlsuite.make_agent("qlearning", ConstantRewardEnv(episode_steps=5), seed=0, gamma=0.9, learning_rate=0.2)
    agent.learn(3000)
    np.testing.assert_allclose(agent.q_table[0], 10.0, atol=0.05)
    # treating the time limit as terminal would give about (1 - 0.9**k) / 0.1 averaged over k = 1..5, near 3.7


def test_same_seed_same_table():
    tables = []
    for _ in range(2):
        agent = rlsuite.make_agent("qlearning", "rlsuite/RecyclingRobot-v0", seed=7, gamma=0.9)
        agent.learn(3000)
        tables.append(agent.q_table.copy())
    np.testing.assert_array_equal(*tables)
    other = rlsuite.make_agent("qlearning", "rlsuite/RecyclingRobot-v0", seed=8, gamma=0.9)
    other.learn(3000)
    assert not np.array_equal(tables[0], other.q_table)


def test_epsilon_schedule_and_tuple_observations():
    agent = rlsuite.make_agent(
        "qlearning",
        "Blackjack-v1",
        seed=0,
        exploration_fraction=0.5,
        exploration_initial_eps=1.0,
        exploration_final_eps=0.1,
    )
    assert agent.q_table.shape == (32 * 11 * 2, 2)
    agent.begin(1000)
    agent.num_timesteps = 250
    assert agent.exploration_rate == pytest.approx(0.55)
    result = agent.learn(2000)
    assert result.summary["steps"] == 2000 and np.abs(agent.q_table).sum() > 0
    assert agent.predict((20, 5, 0)) in (0, 1)


def test_several_envs_side_by_side():
    agent = rlsuite.make_agent("qlearning", "rlsuite/WalkToT-v0", seed=0, gamma=0.8)
    result = agent.learn(4000, n_envs=4)
    assert result.summary["steps"] == 4000 and result.summary["eval_mean_return"] == 1.0


def test_save_and_load_round_trip(tmp_path):
    agent = rlsuite.make_agent("qlearning", "rlsuite/RecyclingRobot-v0", seed=0, gamma=0.9)
    agent.learn(2000)
    agent.save(tmp_path / "model")
    loaded = rlsuite.load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.q_table, agent.q_table)
    assert loaded.config == agent.config and loaded.env == "rlsuite/RecyclingRobot-v0"
    assert rlsuite.evaluate(loaded, episodes=3, seed=1) == rlsuite.evaluate(agent, episodes=3, seed=1)


def test_bad_hyperparameters_and_spaces():
    with pytest.raises(RLSuiteError, match=r"did you mean 'learning_rate'.*valid names"):
        rlsuite.make_agent("qlearning", "rlsuite/WalkToT-v0", learning_rat=0.1)
    with pytest.raises(RLSuiteError, match=r"gamma=1.5 is out of range; choose \[0, 1\]"):
        rlsuite.make_agent("qlearning", "rlsuite/WalkToT-v0", gamma=1.5)
    with pytest.raises(RLSuiteError, match=r"learning_rate=0.0 is out of range; choose \(0, 1\]"):
        rlsuite.make_agent("qlearning", "rlsuite/WalkToT-v0", learning_rate=0)
    with pytest.raises(RLSuiteError, match="Discrete observations"):
        rlsuite.make_agent("qlearning", "CartPole-v1")
    with pytest.raises(RLSuiteError, match="unknown agent 'qlearn'"):
        rlsuite.make_agent("qlearn", "CartPole-v1")
