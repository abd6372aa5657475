"""Tabular agents beside Q-learning: each is one file in agents/ on TabularAgent's seams."""

import numpy as np
import pytest

import rlsuite
from rlsuite.core.transition import Transition


def one_step(agent, s, a, r, s2, terminated=False, next_mask=None):
    agent.observe(
        Transition(
            np.array([s]),
            np.array([a]),
            np.array([r]),
            np.array([s2]),
            np.array([terminated]),
            np.array([False]),
            None,
            None if next_mask is None else np.array([next_mask]),
        )
    )


def test_expected_sarsa_update_by_hand():
    agent = rlsuite.make_agent(
        "expected_sarsa",
        "rlsuite/RecyclingRobot-v0",
        seed=0,
        learning_rate=0.5,
        gamma=0.9,
        epsilon=0.2,
        use_preset=False,
    )
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
    agent = rlsuite.make_agent(
        "qlearning", "rlsuite/RecyclingRobot-v0", seed=0, learning_rate=0.5, gamma=0.9, use_preset=False
    )
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


def test_sarsa_bootstraps_from_the_action_it_then_takes():
    agent = rlsuite.make_agent(
        "sarsa", "rlsuite/RecyclingRobot-v0", seed=0, learning_rate=0.5, gamma=0.9, epsilon=0.0, use_preset=False
    )
    agent.q_table[1] = [1.0, 4.0, -2.0]
    one_step(agent, 0, 0, 2.0, 1)  # greedy in low: wait (4.0)
    assert agent.q_table[0, 0] == pytest.approx(0.5 * (2.0 + 0.9 * 4.0))
    assert agent.act(np.array([1]), None).tolist() == [1]  # the A' it bootstrapped from is the action it plays
    agent.config.epsilon = 1.0  # all-random behaviour: the target uses whichever A' was drawn, and act plays it
    before = agent.q_table.copy()
    one_step(agent, 0, 1, 0.0, 1)
    played = int(agent.act(np.array([1]), None)[0])
    assert agent.q_table[0, 1] == pytest.approx(before[0, 1] + 0.5 * (0.9 * before[1, played] - before[0, 1]))


def test_double_q_learning_update_by_hand():
    agent = rlsuite.make_agent(
        "double_qlearning", "rlsuite/RecyclingRobot-v0", seed=0, learning_rate=0.5, gamma=0.9, use_preset=False
    )
    agent.q1[1] = [1.0, 4.0, -2.0]  # Q1 picks wait in low ...
    agent.q2[1] = [3.0, 2.0, 0.0]  # ... Q2 picks search
    flips = []
    for _ in range(40):
        q1, q2 = agent.q1.copy(), agent.q2.copy()
        one_step(agent, 0, 0, 1.0, 1)
        if agent.q1[0, 0] != q1[0, 0]:  # Q1 updated, towards 1 + 0.9 * Q2(low, wait)
            assert agent.q1[0, 0] == pytest.approx(q1[0, 0] + 0.5 * (1.0 + 0.9 * q2[1, 1] - q1[0, 0]))
            assert agent.q2[0, 0] == q2[0, 0]
            flips.append(1)
        else:  # Q2 updated, towards 1 + 0.9 * Q1(low, search)
            assert agent.q2[0, 0] == pytest.approx(q2[0, 0] + 0.5 * (1.0 + 0.9 * q1[1, 0] - q2[0, 0]))
            flips.append(2)
        assert agent.q_table[0, 0] == pytest.approx((agent.q1[0, 0] + agent.q2[0, 0]) / 2)
    assert 10 < flips.count(1) < 30  # a fair coin chooses the table


def greedy_cliff_path(agent):
    env = rlsuite.make_env("CliffWalking-v1")
    s, _ = env.reset(seed=0)
    path = [int(s)]
    for _ in range(30):
        s, _, terminated, _, _ = env.step(agent.predict(s))
        path.append(int(s))
        if terminated:
            break
    return path


def test_sarsa_walks_the_safe_path_and_q_learning_the_edge_on_the_cliff():
    paths = {}
    for name in ("sarsa", "qlearning"):
        agent = rlsuite.make_agent(
            name, "CliffWalking-v1", seed=2, learning_rate=0.5, gamma=1.0, epsilon=0.1, use_preset=False
        )
        agent.learn(10**6, max_episodes=500, eval_episodes=1)
        paths[name] = greedy_cliff_path(agent)
    assert paths["qlearning"][-1] == 47 and paths["sarsa"][-1] == 47  # both reach the goal
    rows = {name: min(s // 12 for s in path) for name, path in paths.items()}
    assert rows["qlearning"] == 2 and len(paths["qlearning"]) == 14  # along the edge: 13 steps, the optimum
    assert rows["sarsa"] < 2  # at least one row further from the cliff


def left_rate(name, runs=60, episodes=200):
    """The share of episodes that went left from A (two steps: A -> B -> end), per episode, over runs."""
    lefts = np.zeros(episodes)
    for seed in range(runs):
        agent = rlsuite.make_agent(
            name, "rlsuite/MaximizationBias-v0", seed=seed, learning_rate=0.1, gamma=1.0, epsilon=0.1, use_preset=False
        )
        result = agent.learn(10**6, max_episodes=episodes, eval_episodes=1)
        lefts += np.array(result.episode_lengths[:episodes]) == 2
    return lefts / runs


def test_double_q_learning_overcomes_the_maximization_bias():
    q_learning, double_q = left_rate("qlearning"), left_rate("double_qlearning")
    late = slice(100, 200)
    # the optimum takes left only when exploring: 5 % (ε / 2)
    assert abs(double_q[late].mean() - 0.05) < abs(q_learning[late].mean() - 0.05)
    assert q_learning[:20].mean() > 0.3  # Q-learning is drawn to B's noisy maximum at first
