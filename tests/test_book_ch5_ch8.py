"""Sutton & Barto's chapters 5 and 8: the mazes (Examples 8.1–8.3), Dyna-Q / Dyna-Q+, the numpy
Blackjack against Gymnasium's Blackjack-v1 (sab=True), the Monte Carlo methods, and small-run
versions of Figures 5.1–5.3, 8.2, 8.4 and 8.5 against the book's curves at fixed seeds."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from scipy.stats import chi2_contingency

import rlsuite
from rlsuite.core.errors import RLSuiteError
from rlsuite.core.transition import Transition
from rlsuite.envs import DynaMazeEnv
from rlsuite.learning.montecarlo import first_visit_prediction, monte_carlo_es, off_policy_errors
from rlsuite.tools.book import ch5, ch8
from rlsuite.vecenv.blackjack import SHAPE, exact_values, play, stick_on
from rlsuite.vecenv.ptables import p_tables

LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3
MAZES = ["rlsuite/DynaMaze-v0", "rlsuite/BlockingMaze-v0", "rlsuite/ShortcutMaze-v0"]


def quiet(log):
    return None


# ----- the mazes ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("env_id", MAZES)
def test_maze_passes_the_env_checker_and_steps_as_its_P(env_id):
    env = gym.make(env_id).unwrapped
    check_env(env, skip_render_check=False)
    maze = DynaMazeEnv(env.layout)
    for s in range(54):
        for a in range(4):
            maze.reset()
            maze.state = s
            obs, reward, terminated, truncated, _ = maze.step(a)
            assert [(1.0, obs, reward, terminated)] == maze.P[s][a] and not truncated


@pytest.mark.parametrize(
    "env_id, before, after",
    [("rlsuite/DynaMaze-v0", 14, 14), ("rlsuite/BlockingMaze-v0", 10, 16), ("rlsuite/ShortcutMaze-v0", 16, 10)],
)
def test_shortest_paths_are_the_books(env_id, before, after):
    """v*(S) = γ^(L − 1) for a shortest path of L steps (the goal's reward 1 on the last)."""
    env = gym.make(env_id).unwrapped
    lengths = []
    for steps_taken in (0, 10**6):
        env.steps_taken = steps_taken
        _, v, _ = rlsuite.solve(env, gamma=0.95)
        lengths.append(1 + np.log(v[env.start]) / np.log(0.95))
    np.testing.assert_allclose(lengths, [before, after], atol=1e-9)


def test_a_changing_maze_switches_after_its_steps_across_episodes():
    env = DynaMazeEnv("blocking", switch_step=5)
    assert not env.steps_by_P and DynaMazeEnv("dyna").steps_by_P
    assert p_tables(gym.make("rlsuite/DynaMaze-v0")) is not None  # the fixed maze steps in numpy
    assert p_tables(gym.make("rlsuite/BlockingMaze-v0")) is None  # a changing one as itself
    env.reset(seed=0)
    gap_before, gap_after = 3 * 9 + 8, 3 * 9 + 0
    assert gap_after in env.walls and gap_before not in env.walls
    for _ in range(3):
        env.step(LEFT)
    env.reset()  # the clock goes on across episodes
    env.step(LEFT)
    assert not env.changed
    env.step(LEFT)
    assert env.changed and gap_before in env.walls and gap_after not in env.walls
    assert DynaMazeEnv("shortcut").switch_step == 3000 and DynaMazeEnv("dyna", switch_step=9).switch_step is None
    with pytest.raises(RLSuiteError, match="layout='spiral'"):
        DynaMazeEnv("spiral")


# ----- Dyna-Q ------------------------------------------------------------------------------------------
def one_step(agent, s, a, r, s_next, terminated):
    arr = np.array
    agent.observe(Transition(arr([s]), arr([a]), arr([r]), arr([s_next]), arr([terminated]), arr([False])))


def test_dyna_q_update_and_planning_by_hand():
    agent = rlsuite.make_agent(
        "dyna_q", "rlsuite/DynaMaze-v0", use_preset=False, learning_rate=0.5, gamma=0.9, planning_steps=3
    )
    q = agent.q_table
    q[19, :] = [0.0, 0.2, 0.4, 0.1]
    # (d) direct: 0.5 * (0 + 0.9 * 0.4) = 0.18, then (f) three planning updates of the one pair the model knows
    one_step(agent, 18, RIGHT, 0.0, 19, False)
    expected = 0.18
    for _ in range(3):
        expected += 0.5 * (0.9 * 0.4 - expected)
    assert q[18, RIGHT] == pytest.approx(expected)
    assert agent.n_known.tolist() == [1] and agent.model_next[0, 18, RIGHT] == 19 and q[18, LEFT] == 0
    # a terminal transition does not bootstrap: 1 + 2 updates towards R = 1
    agent = rlsuite.make_agent(
        "dyna_q", "rlsuite/DynaMaze-v0", use_preset=False, learning_rate=0.5, gamma=0.9, planning_steps=2
    )
    agent.q_table[8, :] = 5.0
    one_step(agent, 7, RIGHT, 1.0, 8, True)
    assert agent.model_terminated[0, 7, RIGHT] and agent.q_table[7, RIGHT] == pytest.approx(1 - 0.5**3)


def test_dyna_q_plus_plans_with_the_bonus_and_untried_actions():
    agent = rlsuite.make_agent(
        "dyna_q", "rlsuite/DynaMaze-v0", use_preset=False, learning_rate=1.0, gamma=0.5, planning_steps=0, kappa=0.1
    )
    one_step(agent, 18, RIGHT, 0.0, 19, False)
    assert agent.n_known.tolist() == [4]  # every action of the visited state joins the model
    assert agent.model_next[0, 18].tolist() == [18, 18, 19, 18] and agent.last_tried[0, 18].tolist() == [1] * 4
    for _ in range(15):
        one_step(agent, 40, UP, 0.0, 31, False)
    assert agent.n_known.tolist() == [8] and agent.last_tried[0, 40, UP] == 16
    agent.config.planning_steps = 1
    before = agent.q_table.copy()
    one_step(agent, 40, UP, 0.0, 31, False)  # Q stays 0 but for the one planning update
    (s, a), *others = np.argwhere(agent.q_table != before)
    assert not others
    tau = 17 - agent.last_tried[0, s, a]
    # R + κ√τ + γ max Q(S'), with α = 1
    target = agent.model_reward[0, s, a] + 0.1 * np.sqrt(tau) + 0.5 * before[agent.model_next[0, s, a]].max()
    assert tau > 0 and agent.q_table[s, a] == pytest.approx(target)


def test_dyna_q_plus_members_are_their_own_seeds():
    settings = dict(use_preset=False, learning_rate=1.0, planning_steps=5, kappa=1e-3, gamma=0.95)
    loop = dict(eval_episodes=1, eval_max_steps=20, log_images=False)
    both = rlsuite.make_agent("dyna_q", "rlsuite/BlockingMaze-v0", seeds=[3, 7], **settings)
    both.learn(200, **loop)
    for k, seed in enumerate((3, 7)):
        alone = rlsuite.make_agent("dyna_q", "rlsuite/BlockingMaze-v0", seed=seed, **settings)
        alone.learn(200, **loop)
        np.testing.assert_array_equal(both.q_table[k], alone.q_table)


# ----- Monte Carlo ES, the agent ------------------------------------------------------------------------
def test_mc_es_averages_first_visit_returns_by_hand():
    agent = rlsuite.make_agent("mc_es", "rlsuite/DynaMaze-v0", use_preset=False, gamma=0.5)
    # one episode: (18, right) at t = 0 and again at t = 2; returns G0 = 0.25, G1 = 0.5, G2 = 1
    for s, a, r, s_next, done in ((18, RIGHT, 0.0, 19, False), (19, LEFT, 0.0, 18, False), (18, RIGHT, 1.0, 19, True)):
        one_step(agent, s, a, r, s_next, done)
    q = agent.q_table
    assert q[18, RIGHT] == pytest.approx(0.25) and q[19, LEFT] == pytest.approx(0.5)  # first visits only
    assert agent.counts[0, 18, RIGHT] == 1
    one_step(agent, 18, RIGHT, 1.0, 19, True)  # a second return, 1: the mean is (0.25 + 1) / 2
    assert q[18, RIGHT] == pytest.approx(0.625) and agent.counts[0, 18, RIGHT] == 2
    constant = rlsuite.make_agent("mc_es", "rlsuite/DynaMaze-v0", use_preset=False, sample_average=False)
    one_step(constant, 18, RIGHT, 1.0, 19, True)
    assert constant.q_table[18, RIGHT] == pytest.approx(0.1)


def test_mc_es_explores_the_first_action_only():
    agent = rlsuite.make_agent("mc_es", "rlsuite/DynaMaze-v0", use_preset=False)
    agent.q_table[18] = [0.0, 0.0, 1.0, 0.0]
    first = [int(agent.act(np.array([18]), None)[0]) for _ in range(400)]  # still the episode's first action
    assert set(first) == {0, 1, 2, 3} and max(np.bincount(first)) < 140
    one_step(agent, 18, RIGHT, 0.0, 19, False)
    assert all(agent.act(np.array([18]), None)[0] == RIGHT for _ in range(50))  # then greedy
    assert agent.predict(18) == RIGHT


# ----- Blackjack in numpy against Gymnasium's -------------------------------------------------------------
def gymnasium_episodes(policy, n):
    env = gym.make("Blackjack-v1", sab=True)
    first, rewards, lengths = [], [], []
    for i in range(n):
        obs, _ = env.reset(seed=i)
        first.append(obs[0])
        done, length = False, 0
        while not done:
            obs, reward, terminated, truncated, _ = env.step(int(policy[obs] > 0.5))
            done, length = terminated or truncated, length + 1
        rewards.append(reward)
        lengths.append(length)
    return np.array(first), np.array(rewards), np.array(lengths)


def test_numpy_blackjack_plays_as_gymnasiums():
    """Chi-square tests of the first player sum, the rewards and the episode lengths of the stick-on-20
    policy: 4000 Gymnasium episodes against 200,000 of ours (fixed seeds)."""
    policy = stick_on(20)
    first, rewards, lengths = gymnasium_episodes(policy, 4000)
    ours = play(policy, 200_000, np.random.default_rng(1))
    our_first = ours.states[:, 0] // (SHAPE[1] * SHAPE[2])
    for theirs, mine, values in (
        (first, our_first, range(4, 22)),
        (rewards, ours.reward, (-1.0, 0.0, 1.0)),
        (np.minimum(lengths, 4), np.minimum(ours.lengths, 4), range(1, 5)),
    ):
        table = [[np.sum(theirs == v) for v in values], [np.sum(mine == v) for v in values]]
        assert chi2_contingency(table)[1] > 0.001, table


def test_exact_values_give_the_books_numbers():
    v, _ = exact_values(stick_on(20))
    assert v[13, 2, 1] == pytest.approx(-0.27726, abs=2e-4)  # the book's state of Figure 5.3
    _, q_star = exact_values()
    policy = (q_star[..., 1] > q_star[..., 0]).astype(int)
    for name, usable in ch5.ACE.items():  # π* of Figure 5.2, cell by cell
        assert np.asarray(ch5.table(policy, usable, 0)).tolist() == ch5.BOOK_POLICY[name]


def test_first_visit_mc_converges_to_v_pi():
    v, _ = exact_values(stick_on(20))
    estimate = first_visit_prediction(stick_on(20), [200_000], np.random.default_rng(0))[200_000]
    assert np.abs(estimate - v)[12:21, 1:11, 0].max() < 0.06  # no usable ace: thousands of visits each


def test_monte_carlo_es_finds_pi_star_but_for_a_few_close_cells():
    q, policy, counts = monte_carlo_es(200_000, np.random.default_rng(0), batch=500)
    assert counts[12:22, 1:11].min() > 50
    differ = sum(int((np.asarray(ch5.table(policy, u, 0)) != ch5.BOOK_POLICY[n]).sum()) for n, u in ch5.ACE.items())
    assert differ <= 12
    v_star, _ = exact_values()
    assert np.abs(q.max(axis=-1) - v_star)[12:22, 1:11].mean() < 0.05


def test_off_policy_importance_sampling_by_hand_and_over_runs():
    ordinary, weighted = off_policy_errors(stick_on(20), (13, 2, 1), -0.27726, 1000, 40, np.random.default_rng(0))
    assert weighted[0] < 0.5 < ordinary[:3].mean()  # weighted starts low, ordinary high
    assert ordinary[-1] < 0.05 and weighted[-1] < 0.05
    # one run of 50 episodes by hand: ρ = Π π(A|S) / 0.5, π hitting below 20
    ordinary, weighted = off_policy_errors(stick_on(20), (13, 2, 1), 0.0, 50, 1, np.random.default_rng(5))
    played = play(np.full(SHAPE, 0.5), 50, np.random.default_rng(5), (13, 2, 1))
    rho_g, rho = [], []
    for states, actions, reward in zip(played.states, played.actions, played.reward):
        ratio = 1.0
        for s, a in zip(states[states >= 0], actions[actions >= 0]):
            player_sum = s // (SHAPE[1] * SHAPE[2])
            ratio *= (a == (player_sum < 20)) / 0.5
        rho_g.append(ratio * reward)
        rho.append(ratio)
    by_hand = np.cumsum(rho_g) / np.arange(1, 51)
    weights = np.cumsum(rho)
    by_hand_weighted = np.where(weights > 0, np.cumsum(rho_g) / np.where(weights > 0, weights, 1), 0.0)
    np.testing.assert_allclose(ordinary, by_hand**2)
    np.testing.assert_allclose(weighted, by_hand_weighted**2)
    assert 0 < (np.array(rho) > 0).sum() < 50


# ----- the figures, small -----------------------------------------------------------------------------
def test_fig5_small_runs_land_near_the_book():
    one = ch5.fig5_1(1, 1, quiet)
    big = np.asarray(one["panels"]["no usable ace, after 500,000 episodes"])
    assert big[:2, 1:9].min() > 0.6 and -0.8 < big[2:, -1].mean() < -0.5  # 20–21 vs dealer 2–9 high; low vs a 10
    three = ch5.fig5_3(10, 1, quiet)
    curves = three["panels"]["Mean square error (average over runs)"]
    assert curves["Weighted importance sampling"][-1] < 0.01 and curves["Ordinary importance sampling"][-1] < 0.02


def test_fig8_2_small_run_lands_near_the_book():
    out = ch8.fig8_2(5, 1, quiet)
    curves = out["panels"]["Steps per episode"]
    assert curves["planning steps=50"][1] < 30  # episode 3: about 16 in the book
    assert curves["planning steps=0"][0] > 200 and np.mean(curves["planning steps=0"][-10:]) < 30
    assert curves["planning steps=5"][3] < curves["planning steps=0"][3]


def test_dyna_q_plus_finds_the_blocking_mazes_new_path_sooner():
    settings = {**ch8.CHANGING, "planning_steps": 10}
    lengths = {
        label: ch8.dyna_runs("rlsuite/BlockingMaze-v0", 4, 2000, 0, {**settings, "kappa": kappa})["lengths"]
        for label, kappa in ch8.METHODS.items()
    }
    after = {
        k: np.mean([ch8.cumulative_reward(r, 2000)[-1] - ch8.cumulative_reward(r, 2000)[999] for r in v])
        for k, v in lengths.items()
    }
    assert after["Dyna-Q+"] > after["Dyna-Q"]
