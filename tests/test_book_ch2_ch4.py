"""Sutton & Barto chapters 2 and 4: the bandit testbed and agents, Jack's car rental and the gambler's
problem (their ``P`` against their sampled dynamics, DP answers against independent loops), and the
figures at small run counts against the book's curves."""

import json
import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import rlsuite
from rlsuite.core.errors import RLSuiteError
from rlsuite.core.solver import solve, tabular_mdp
from rlsuite.core.transition import Transition
from rlsuite.envs import bandit
from rlsuite.envs.jacks_car_rental import JacksCarRentalEnv
from rlsuite.tools.book import ch2, ch4

IDS = ["rlsuite/Bandit-v0", "rlsuite/BanditNonstationary-v0", "rlsuite/JacksCarRental-v0", "rlsuite/GamblersProblem-v0"]


@pytest.mark.parametrize("env_id", IDS)
def test_check_env_passes(env_id):
    env = gym.make(env_id).unwrapped
    check_env(env, skip_render_check=False)
    sb3_check_env(env, warn=True)
    for s in range(0, env.observation_space.n, 37):  # P's rows are distributions; masks are int8
        for a in range(env.action_space.n):
            assert sum(p for p, *_ in env.P[s][a]) == pytest.approx(1.0)
        if hasattr(env, "action_mask"):
            assert env.action_mask(s).dtype == np.int8


# ----- the testbed ---------------------------------------------------------------------------------
def test_bandit_p_holds_the_true_values_that_the_pulls_average_to():
    env = rlsuite.make_env("rlsuite/Bandit-v0")
    _, info = env.reset(seed=5)
    q_star = np.array([env.unwrapped.P[0][a][0][2] for a in range(10)])
    assert info["optimal_action"] == int(np.argmax(q_star))
    np.testing.assert_allclose(solve(env, gamma=0.0)[1], [q_star.max()])  # v* of the one state, at γ = 0
    for arm in (0, int(np.argmax(q_star))):
        rewards = np.array([env.step(arm)[1] for _ in range(4000)])
        assert abs(rewards.mean() - q_star[arm]) < 4 / math.sqrt(4000)  # unit-variance noise
        assert 0.93 < rewards.std() < 1.07
    env.reset(seed=6)
    assert not np.allclose([env.unwrapped.P[0][a][0][2] for a in range(10)], q_star)  # a new problem
    fixed = rlsuite.make_env("rlsuite/Bandit-v0", problem_seed=3)
    fixed.reset(seed=1)
    first = fixed.unwrapped.q_star.copy()
    fixed.reset(seed=2)
    np.testing.assert_array_equal(fixed.unwrapped.q_star, first)  # one problem for every episode


def test_nonstationary_bandit_walks_from_equal_values():
    env = rlsuite.make_env("rlsuite/BanditNonstationary-v0")
    env.reset(seed=0)
    assert np.all(env.unwrapped.q_star == 0.0)
    steps = [env.unwrapped.q_star.copy()]
    for _ in range(2000):
        env.step(0)
        steps.append(env.unwrapped.q_star.copy())
    increments = np.diff(np.array(steps), axis=0)
    assert 0.0095 < increments.std() < 0.0105 and abs(increments.mean()) < 0.001
    assert env.unwrapped.P[0][3][0][2] == env.unwrapped.q_star[3]


def test_testbed_runs_are_their_seeds_alone():
    bed = bandit.Testbed(range(4000), mean=4.0)
    assert abs(bed.q_star.mean() - 4.0) < 0.03 and 0.97 < bed.q_star.std() < 1.03
    np.testing.assert_array_equal(bandit.Testbed([3]).q_star[0], bandit.Testbed([1, 3]).q_star[1])
    best = bed.q_star.argmax(axis=1)
    rewards, optimal = bed.pull(best)
    assert optimal.all() and abs((rewards - bed.q_star.max(axis=1)).mean()) < 0.05
    walking = bandit.Testbed(range(2000), initial_std=0.0, walk_std=0.01)
    walking.pull(np.zeros(2000, np.int64))
    assert 0.0095 < walking.q_star.std() < 0.0105
    with pytest.raises(RLSuiteError, match="k=0 is not a number of arms"):
        bandit.BanditEnv(k=0)


# ----- the bandit agents, update by update ---------------------------------------------------------
def agent(name, seeds=1, **hyper):
    return rlsuite.make_agent(name, "rlsuite/Bandit-v0", seeds=seeds, use_preset=False, **hyper)


def pull(bandit, arms, rewards):
    arms, rewards = np.atleast_1d(arms), np.atleast_1d(np.asarray(rewards, dtype=float))
    zero, no = np.zeros(len(arms), np.int64), np.zeros(len(arms), bool)
    bandit.observe(Transition(zero, arms, rewards, zero, no, no))


def test_sample_averages_and_a_constant_step_size():
    averaging = agent("bandit_epsilon_greedy")
    for r in (1.0, 2.0, 6.0):
        pull(averaging, 2, r)
    assert averaging.q_table[0, 2] == pytest.approx(3.0) and averaging.counts[0, 0, 2] == 3
    constant = agent("bandit_epsilon_greedy", learning_rate=0.1, initial_q=5.0)
    pull(constant, 1, 0.0)
    pull(constant, 1, 2.0)
    assert constant.q_table[0, 1] == pytest.approx(4.5 + 0.1 * (2.0 - 4.5))  # 5 → 4.5 → 4.25
    assert constant.q_table[0, 0] == 5.0


def test_epsilon_greedy_breaks_ties_at_random_and_explores_at_rate_epsilon():
    greedy = agent("bandit_epsilon_greedy", seeds=400, epsilon=0.0)
    greedy.tables[:, 0, [3, 7]] = 1.0
    arms = greedy.act(np.zeros(400, np.int64), None)
    assert set(arms.tolist()) == {3, 7} and 150 < (arms == 3).sum() < 250
    assert greedy.predict(np.zeros(400, np.int64)).tolist() == [3] * 400  # deterministic: the lowest
    exploring = agent("bandit_epsilon_greedy", seeds=4000, epsilon=0.2)
    exploring.tables[:, 0, 4] = 1.0
    arms = exploring.act(np.zeros(4000, np.int64), None)
    assert 0.78 < (arms == 4).mean() < 0.86  # 1 − ε + ε / 10


def test_ucb_tries_every_arm_then_picks_the_largest_bound():
    ucb = agent("bandit_ucb", c=2.0)
    ucb.tables[0, 0, :] = 0.0
    tried = []
    for _ in range(10):
        a = int(ucb.act(np.zeros(1, np.int64), None)[0])
        tried.append(a)
        pull(ucb, a, 0.0)
    assert sorted(tried) == list(range(10))
    # Q = (1, 0.5, 0 …), N = (4, 1, 1 …), t = 14: 1 + 2 sqrt(ln 14 / 4) < 0 + 2 sqrt(ln 14) < 0.5 + 2 sqrt(ln 14)
    ucb.tables[0, 0, :2], ucb.counts[0, 0, :2] = [1.0, 0.5], [4, 1]
    assert int(ucb.act(np.zeros(1, np.int64), None)[0]) == 1
    ucb.tables[0, 0, :2], ucb.counts[0, 0, :2] = [3.0, 0.5], [4, 1]  # 3 + 1.62 > 0.5 + 3.25
    assert int(ucb.act(np.zeros(1, np.int64), None)[0]) == 0


def test_gradient_bandit_update_with_and_without_baseline():
    with_baseline = agent("bandit_gradient", learning_rate=0.1)
    pull(with_baseline, 0, 1.0)  # Rbar_1 = R_1: no step
    assert np.all(with_baseline.q_table == 0.0) and with_baseline.average_reward[0, 0] == 1.0
    pull(with_baseline, 0, 3.0)  # R − Rbar = 2, pi = 0.1 each
    h = with_baseline.q_table[0]
    assert h[0] == pytest.approx(0.1 * 2 * 0.9) and h[1] == pytest.approx(-0.1 * 2 * 0.1)
    assert with_baseline.average_reward[0, 0] == pytest.approx(2.0)
    plain = agent("bandit_gradient", learning_rate=0.4, baseline=False)
    pull(plain, 5, 1.0)
    assert plain.q_table[0, 5] == pytest.approx(0.4 * 0.9) and plain.q_table[0, 0] == pytest.approx(-0.04)
    probs = plain.policy(plain.tables[:, 0], None)[0]
    arms = agent("bandit_gradient", seeds=4000, learning_rate=0.4)
    arms.tables[:] = plain.tables[0]
    drawn = arms.act(np.zeros(4000, np.int64), None)
    assert abs((drawn == 5).mean() - probs[5]) < 0.025


@pytest.mark.parametrize("name", ["bandit_epsilon_greedy", "bandit_ucb", "bandit_gradient"])
def test_bandit_agents_pull_only_allowed_arms(name):
    bandit_agent = agent(name, seeds=300)
    mask = np.zeros((300, 10), np.int8)
    mask[:, [2, 5]] = 1
    for _ in range(3):
        arms = bandit_agent.act(np.zeros(300, np.int64), mask)
        assert set(arms.tolist()) == {2, 5}
        zero, no = np.zeros(300, np.int64), np.zeros(300, bool)
        bandit_agent.observe(Transition(zero, arms, np.ones(300), zero, no, no, mask, mask))
    assert set(bandit_agent.predict(np.zeros(300, np.int64), action_mask=mask).tolist()) <= {2, 5}


# ----- the chapter-2 figures at 200 runs (the book: 2000) ------------------------------------------
def test_epsilon_greedy_curves_of_figure_2_2():
    tail = {}
    for epsilon in (0.0, 0.1):
        reward, optimal = ch2.bandit_runs("bandit_epsilon_greedy", {"epsilon": epsilon}, {}, 200, 1000)
        tail[epsilon] = reward[-100:].mean(), optimal[-100:].mean()
    assert 1.25 < tail[0.1][0] < 1.5 and 0.7 < tail[0.1][1] < 0.9  # the book: ≈ 1.4, ≈ 80 %
    assert 0.85 < tail[0.0][0] < 1.2 and 0.25 < tail[0.0][1] < 0.45  # the book: ≈ 1.0, ≈ 35 %


def test_ucb_and_optimistic_spikes_and_the_gradient_baseline():
    reward, _ = ch2.bandit_runs("bandit_ucb", {"c": 2.0}, {}, 200, 300)
    assert int(np.argmax(reward[:20])) + 1 == 11 and reward[10] > 0.95  # Figure 2.4: every arm once, then the best
    _, optimal = ch2.bandit_runs(
        "bandit_epsilon_greedy", {"epsilon": 0.0, "initial_q": 5.0, "learning_rate": 0.1}, {}, 200, 1000
    )
    assert (
        10 <= int(np.argmax(optimal[:20])) + 1 <= 12 and optimal[-100:].mean() > 0.75
    )  # Figure 2.3: ≈ 85 % at 2000 runs
    gradient = {}
    for baseline in (True, False):
        hyper = {"learning_rate": 0.1, "baseline": baseline}
        gradient[baseline] = ch2.bandit_runs("bandit_gradient", hyper, {"mean": 4.0}, 200, 1000)[1][-100:].mean()
    assert gradient[True] > 0.7 and 0.35 < gradient[False] < 0.7  # Figure 2.5: ≈ 80 % against ≈ 55 %


def test_two_points_of_the_parameter_study_of_figure_2_6():
    ucb = ch2.bandit_runs("bandit_ucb", {"c": 1.0}, {}, 200, 1000)[0].mean()
    greedy = ch2.bandit_runs("bandit_epsilon_greedy", {"epsilon": 1 / 16}, {}, 200, 1000)[0].mean()
    assert 1.38 < ucb < 1.56 and 1.22 < greedy < 1.4 and ucb > greedy + 0.05  # the book: ≈ 1.5 and ≈ 1.3


def test_a_chapter_2_figure_keeps_the_contract():
    fig = ch2.fig2_4(20, 1, lambda line: None)
    assert fig["runs"] == 20 and fig["x"][0] == 1 and len(fig["x"]) == 1000
    assert set(fig["panels"]["average reward"]) == {"UCB c=2", "epsilon-greedy epsilon=0.1"}
    assert all(len(row) == 3 for row in fig["book"])


def test_the_suite_writes_a_bandit_and_a_dp_figure(tmp_path):
    from rlsuite.tools import textbook

    textbook.write(tmp_path, only=["fig2.4", "fig4.3"], runs=5, workers=1, log=lambda line: None)
    data = json.loads((tmp_path / "textbook" / "textbook.json").read_text())
    assert data["fig2.4"]["runs"] == 5 and data["fig4.3"]["runs"] == 0 and data["fig4.3"]["wall_s"] >= 0
    assert set(data["fig4.3"]["panels"]["value estimates"]) >= {"sweep 1", "sweep 2", "sweep 3", "sweep 32"}
    assert (tmp_path / "textbook" / "fig2.4.png").stat().st_size > 0 and (tmp_path / "textbook" / "fig4.3.png").exists()
    assert "Figure 4.3" in (tmp_path / "textbook.md").read_text()


# ----- Jack's car rental -----------------------------------------------------------------------------
def test_jacks_p_against_its_sampled_days():
    env = JacksCarRentalEnv()
    env.reset(seed=1)
    s, a = 10 * 21 + 4, 5 + 2  # (10, 4): move 2 cars to the second location
    reward, prob = env.outcome(s, a)
    rows = env.P[s][a]
    assert sum(p for p, *_ in rows) == pytest.approx(1.0) and all(r == reward for _, _, r, _ in rows)
    days, rewards = np.zeros(21 * 21), []
    for _ in range(4000):
        env.state = s
        s_next, r, *_ = env.step(a)
        days[s_next] += 1
        rewards.append(r)
    by_first = (days.reshape(21, 21).sum(axis=1) / 4000, prob.reshape(21, 21).sum(axis=1))
    assert np.abs(by_first[0] - by_first[1]).sum() < 0.1  # total variation of the first location's count
    assert abs(np.mean(rewards) - reward) < 4 * np.std(rewards) / math.sqrt(4000)
    assert env.action_mask(2 * 21 + 1).tolist() == [0] * 4 + [1] * 4 + [0] * 3  # moves −1 … 2


def independent_jacks(limit=30):
    """v* and the optimal moves of Jack's car rental from per-location loops over every request and
    return count up to ``limit`` (Poisson tails beyond it are negligible), by value iteration."""

    def day(requests, returns):
        pmf = [[math.exp(-lam) * lam**k / math.factorial(k) for k in range(limit)] for lam in (requests, returns)]
        rent, nxt = np.zeros(21), np.zeros((21, 21))
        for c in range(21):
            for q in range(limit):
                rented = min(q, c)
                rent[c] += pmf[0][q] * rented
                for t in range(limit):
                    nxt[c, min(c - rented + t, 20)] += pmf[0][q] * pmf[1][t]
        return rent, nxt

    (rent1, p1), (rent2, p2) = day(3, 3), day(4, 2)
    n1, n2 = np.meshgrid(np.arange(21), np.arange(21), indexing="ij")
    moves = np.arange(-5, 6)
    c1 = np.minimum(n1[..., None] - moves, 20)
    c2 = np.minimum(n2[..., None] + moves, 20)
    feasible = (c1 >= 0) & (c2 >= 0) & (n2[..., None] + moves >= 0) & (n1[..., None] - moves >= 0)
    c1, c2 = np.clip(c1, 0, 20), np.clip(c2, 0, 20)
    v = np.zeros((21, 21))
    for _ in range(1000):
        q = 10 * (rent1[c1] + rent2[c2]) - 2 * np.abs(moves) + 0.9 * (p1 @ v @ p2.T)[c1, c2]
        q = np.where(feasible, q, -np.inf)
        v_new = q.max(axis=2)
        if np.abs(v_new - v).max() < 1e-10:
            break
        v = v_new
    return v_new, moves[q.argmax(axis=2)]


def test_jacks_v_star_and_policy_against_an_independent_loop():
    policies, v = ch4.jacks_policies()
    v_check, moves_check = independent_jacks()
    for n1, n2 in ((0, 0), (20, 20), (10, 10), (20, 0), (3, 17)):
        assert v[21 * n1 + n2] == pytest.approx(v_check[n1, n2], abs=1e-6)
    np.testing.assert_array_equal(policies[-1].reshape(21, 21), moves_check)
    assert len(policies) == 5 and not policies[0].any()  # π0 … π4, π0 moves nothing, as in the book
    assert 420 < v.min() < 423 and policies[-1].max() == 5


# ----- the gambler's problem -------------------------------------------------------------------------
def test_gamblers_p_against_its_sampled_flips():
    env = rlsuite.make_env("rlsuite/GamblersProblem-v0")
    env.reset(seed=0)
    wins = 0
    for _ in range(4000):
        env.unwrapped.state = 30
        s, r, terminated, *_ = env.step(20)
        wins += s == 50
        assert (s, r, terminated) in ((50, 0.0, False), (10, 0.0, False))
    assert abs(wins / 4000 - 0.4) < 0.03
    mdp = tabular_mdp(env)
    assert mdp.reward[75, 25] == pytest.approx(0.4) and mdp.allowed[30].sum() == 30 and not mdp.allowed[30, 0]
    env.unwrapped.state = 40
    assert env.step(41)[0] == 40  # a stake beyond min(s, 100 − s): no bet


def test_gamblers_values_and_policy_against_bold_play():
    estimates, v, policy, _ = ch4.gambler_sweeps()
    bold = np.zeros(101)  # bold play, optimal for p_h < 0.5: evaluated by a plain loop
    bold[100] = 1.0
    for _ in range(200):
        for s in range(1, 100):
            stake = min(s, 100 - s)
            bold[s] = 0.4 * bold[s + stake] + 0.6 * bold[s - stake]
    np.testing.assert_allclose(v[1:100], bold[1:100], atol=1e-9)
    assert [policy[s] for s in (25, 50, 75)] == [25, 50, 25]
    for s in (10, 13, 40, 63, 99):  # the smallest stake whose one-step look-ahead is best, by a plain loop
        look = [0.4 * (1.0 if s + a == 100 else bold[s + a]) + 0.6 * bold[s - a] for a in range(1, min(s, 100 - s) + 1)]
        assert policy[s] == 1 + next(a for a, x in enumerate(look) if x >= max(look) - 1e-9)
    assert estimates[1][1:50].max() == 0.0 and estimates[1][50] == pytest.approx(0.4)  # in place: one sweep
