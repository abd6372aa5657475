"""Tabular agents beside Q-learning: each is one file in agents/ on TabularAgent's seams."""

import numpy as np
import pytest

import rlsuite
from rlsuite.core.transition import Transition


def one_step(agent, s, a, r, s2, terminated=False, next_mask=None):
    agent.observe(Transition(np.array([s]), np.array([a]), np.array([r]), np.array([s2]), np.array([terminated]),
                             np.array([False]), None, None if next_mask is None else np.array([next_mask])))


def test_expected_sarsa_update_by_hand():
    agent = rlsuite.make_agent("expected_sarsa", "rlsuite/RecyclingRobot-v0", seed=0, learning_rate=0.5, gamma=0.9,
                               epsilon=0.2, use_preset=False)
    agent.q_table[1] = [1.0, 4.0, -2.0]  # state low: search, wait, recharge
    one_step(agent, 0, 0, 2.0, 1)
    # E[Q(low, .)] = 0.8 * 4 + 0.2 * (1 + 4 - 2) / 3 = 3.4; target 2 + 0.9 * 3.4 = 5.06; Q <- 0 + 0.5 * 5.06
    assert agent.q_table[0, 0] == pytest.approx(2.53)
    agent.q_table[0] = [6.0, 1.0, 0.0]
    one_step(agent, 1, 1, 0.0, 0, next_mask=[1, 1, 0])  # in high only search and wait are allowed
    # E[Q(high, .)] over A(high) = 0.8 * 6 + 0.2 * (6 + 1) / 2 = 5.5; Q(low, wait) <- 4 + 0.5 * (0.9 * 5.5 - 4)
    assert agent.q_table[1, 1] == pytest.approx(4.0 + 0.5 * (0.9 * 5.5 - 4.0))
    one_step(agent, 1, 2, 1.0, 0, terminated=True)  # a terminated transition does not bootstrap
    assert agent.q_table[1, 2] == pytest.approx(-2.0 + 0.5 * (1.0 + 2.0))


def test_q_learning_update_by_hand():
    agent = rlsuite.make_agent("qlearning", "rlsuite/RecyclingRobot-v0", seed=0, learning_rate=0.5, gamma=0.9,
                               use_preset=False)
    agent.q_table[1] = [1.0, 4.0, -2.0]
    one_step(agent, 0, 0, 2.0, 1)
    assert agent.q_table[0, 0] == pytest.approx(0.5 * (2.0 + 0.9 * 4.0))


def test_expected_sarsa_learns_the_corridor():
    agent = rlsuite.make_agent("expected_sarsa", "rlsuite/WalkToT-v0", seed=0, gamma=0.8)
    result = agent.learn(3000)
    assert result.summary["eval_mean_return"] == 1.0
    assert [agent.predict(s) for s in range(5)] == [1] * 5
    assert "q_error" in result.summary  # the exact solution is known for the corridor


def test_a_new_tabular_agent_saves_and_loads(tmp_path):
    agent = rlsuite.make_agent("expected_sarsa", "rlsuite/RecyclingRobot-v0", seed=0, gamma=0.9)
    agent.learn(1000)
    agent.save(tmp_path / "model")
    loaded = rlsuite.load(tmp_path / "model")
    assert type(loaded).__name__ == "ExpectedSarsa" and loaded.config == agent.config
    np.testing.assert_array_equal(loaded.q_table, agent.q_table)
