import gymnasium as gym
import numpy as np
import pytest

import rlsuite
from rlsuite.core.errors import RLSuiteError
from rlsuite.core.solver import policy_iteration, tabular_mdp, value_iteration


def test_recycling_robot_v_star_matches_closed_form():
    alpha, beta, rs, rw, gamma = 0.8, 0.4, 2.0, 0.5, 0.9
    env = gym.make("rlsuite/RecyclingRobot-v0", alpha=alpha, beta=beta, r_search=rs, r_wait=rw)
    q, v, policy = rlsuite.solve(env, gamma=gamma)
    # Guess: search when high, recharge when low. Its Bellman equations
    #   v_h = rs + gamma * (alpha * v_h + (1 - alpha) * v_l),   v_l = gamma * v_h
    # give v_h = rs / (1 - gamma * alpha - gamma**2 * (1 - alpha)).
    v_h = rs / (1 - gamma * alpha - gamma**2 * (1 - alpha))
    v_l = gamma * v_h
    # ...and it is optimal: every other action in A(s) is worse under these values.
    q_h_wait = rw + gamma * v_h
    q_l_search = beta * (rs + gamma * v_l) + (1 - beta) * (-3 + gamma * v_h)
    q_l_wait = rw + gamma * v_l
    assert q_h_wait < v_h and q_l_search < v_l and q_l_wait < v_l
    np.testing.assert_allclose(v, [v_h, v_l], rtol=1e-9)
    np.testing.assert_allclose(q[0, :2], [v_h, q_h_wait], rtol=1e-9)
    np.testing.assert_allclose(q[1], [q_l_search, q_l_wait, v_l], rtol=1e-9)
    assert policy.tolist() == [0, 2]


def test_recharge_is_left_out_of_the_max_in_high():
    # recharging from high would be worth gamma * v_h, more than waiting; A(high) excludes it anyway
    env = gym.make("rlsuite/RecyclingRobot-v0", alpha=0.0, beta=0.0, r_search=0.1, r_wait=0.0)
    q, v, policy = rlsuite.solve(env, gamma=0.9)
    assert policy[0] != 2


@pytest.mark.parametrize(
    "env_id,kwargs,gamma",
    [
        ("FrozenLake-v1", {"map_name": "4x4"}, 0.99),
        ("FrozenLake-v1", {"map_name": "4x4", "is_slippery": False}, 0.9),
        ("Taxi-v4", {}, 0.95),
        ("CliffWalking-v1", {}, 0.9),
        ("rlsuite/WalkToT-v0", {"n_cells": 8}, 0.8),
        ("rlsuite/RecyclingRobot-v0", {"alpha": 0.3, "beta": 0.7}, 0.95),
    ],
)
def test_value_and_policy_iteration_agree(env_id, kwargs, gamma):
    mdp = tabular_mdp(gym.make(env_id, **kwargs))
    q_vi, v_vi = value_iteration(mdp, gamma)
    q_pi, v_pi, policy = policy_iteration(mdp, gamma)
    np.testing.assert_allclose(v_vi, v_pi, atol=1e-7)
    np.testing.assert_allclose(q_vi, q_pi, atol=1e-7)
    chosen = q_vi[np.arange(mdp.n_states), policy]
    np.testing.assert_allclose(chosen, v_vi, atol=1e-7)  # PI's policy is greedy for VI's values


def test_frozen_lake_value_is_known():
    q, v, policy = rlsuite.solve("FrozenLake-v1", gamma=0.99)
    # from the start of slippery 4x4 the optimal success probability discounted at 0.99 is about 0.54
    assert 0.5 < v[0] < 0.6
    assert v[15] == 0.0  # the goal is terminal


def test_walk_to_t_exact_values():
    q, v, policy = rlsuite.solve("rlsuite/WalkToT-v0", gamma=0.8)
    np.testing.assert_allclose(v[:5], 0.8 ** np.arange(4, -1, -1))
    assert policy[:5].tolist() == [1] * 5


def test_solver_needs_p():
    with pytest.raises(RLSuiteError, match="needs a finite MDP with"):
        rlsuite.solve("CartPole-v1", gamma=0.9)
    with pytest.raises(RLSuiteError, match="gamma"):
        rlsuite.solve("FrozenLake-v1", gamma=1.5)
