"""Sutton & Barto chapters 6, 7 and 12: the random walks and the windy gridworld, the prediction
functions (TD(0), constant-α MC, batch TD/MC, n-step TD, offline λ-return, TD(λ), true online
TD(λ)), the n-step Sarsa and Sarsa(λ) agents, and small-run versions of the figures."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rlsuite
from rlsuite.core.errors import RLSuiteError
from rlsuite.core.transition import Transition
from rlsuite.envs import RandomWalkEnv, WindyGridWorldEnv
from rlsuite.learning import lambda_prediction as lp
from rlsuite.learning import prediction as pr
from rlsuite.tools.book import ch6, ch7, ch12

QUIET = lambda line: None  # noqa: E731


# ----- the envs ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("env_id", ["rlsuite/RandomWalk-v0", "rlsuite/RandomWalk19-v0", "rlsuite/WindyGridWorld-v0"])
def test_env_checks_and_p_matches_the_sampled_steps(env_id):
    env = gym.make(env_id).unwrapped
    check_env(env, skip_render_check=False)
    env.reset(seed=0)
    for s in range(env.observation_space.n):
        for a in range(env.action_space.n):
            (prob, s_next, reward, terminated), *more = env.P[s][a]
            assert prob == 1.0 and not more  # deterministic moves
            env.state = s
            assert env.step(a)[:3] == (s_next, reward, terminated), (s, a)


def test_random_walk_true_values_are_the_books_and_the_solvers():
    _, v, _ = rlsuite.solve("rlsuite/RandomWalk-v0", gamma=1.0, policy="random")
    np.testing.assert_allclose(v[1:6], np.arange(1, 6) / 6, atol=1e-12)
    np.testing.assert_allclose(v, RandomWalkEnv().true_values(), atol=1e-12)
    _, v19, _ = rlsuite.solve("rlsuite/RandomWalk19-v0", gamma=1.0, policy="random")
    np.testing.assert_allclose(v19[1:20], np.arange(-9, 10) / 10, atol=1e-12)
    env = RandomWalkEnv(n_states=19, left_reward=-1.0, right_reward=1.0)
    np.testing.assert_allclose(v19, env.true_values(), atol=1e-12)
    assert env.reset(seed=1)[0] == 10 and env.state_names[3] == "3" and RandomWalkEnv().state_names[3] == "C"
    with pytest.raises(RLSuiteError, match="n_states=4 has no centre cell"):
        RandomWalkEnv(n_states=4)


def test_windy_gridworld_wind_and_the_15_step_optimum():
    P = WindyGridWorldEnv().P
    left, down, right, up = 0, 1, 2, 3
    assert P[38][left][0][1:] == (27, -1.0, False)  # right of G, left: just above G (the book's example)
    assert P[48][left][0][1:] == (37, -1.0, True) and P[37][up][0] == (1.0, 37, 0.0, True)
    assert P[36][right][0][1] == 17  # wind 2 in column 6: a step right ends two rows up
    assert P[6][up][0][1] == 6 and P[66][down][0][1] == 56  # clipped at the top; wind 2 beats a step down
    _, v, _ = rlsuite.solve("rlsuite/WindyGridWorld-v0", gamma=1.0)
    assert v[30] == -15.0  # the shortest episode takes 15 steps


# ----- the prediction functions ----------------------------------------------------------------------
def one_episode(states, rewards, n_states=7):
    """Episodes of one run holding one hand-made episode of the 5-state walk."""
    terminal = np.zeros(n_states, bool)
    terminal[[0, n_states - 1]] = True
    return pr.Episodes(
        np.array([[states]]), np.array([[rewards]], float), np.array([[len(rewards)]]), terminal, n_states
    )


def test_each_method_on_a_hand_made_episode():
    ep = one_episode([3, 4, 5, 6], [0, 0, 1])  # C, D, E, right end
    last = lambda h: h[0, 0, -1, 3:6].round(6).tolist()  # noqa: E731
    assert last(pr.td0(ep, [0.1], v0=0.5)) == [0.5, 0.5, 0.55]
    assert last(pr.constant_alpha_mc(ep, [0.1], v0=0.5)) == [0.55, 0.55, 0.55]
    assert last(pr.nstep_td(ep, [2], [0.1], v0=0.5)) == [0.5, 0.55, 0.55]  # G_0:2 = V(E) = 0.5, the rest MC
    # λ = 0.5: G^λ = 0.625, 0.75, 1 for C, D, E; TD(λ) and true online reach the same with one reward at the end
    for method in (lp.offline_lambda_return, lp.td_lambda, lp.true_online_td_lambda):
        assert last(method(ep, [0.5], [0.1], v0=0.5)) == [0.5125, 0.525, 0.55], method.__name__


def reference_td_lambda(states, rewards, lam, alpha, n_states, true_online=False):
    """The book's boxes for one run, line by line (γ = 1, V = 0 at first)."""
    v = np.zeros(n_states)
    for ep_states, ep_rewards in zip(states, rewards):
        z, v_old = np.zeros(n_states), 0.0
        for t, r in enumerate(ep_rewards):
            s, s2 = ep_states[t], ep_states[t + 1]
            x, x2 = np.eye(n_states)[s], np.eye(n_states)[s2] * (t + 1 < len(ep_rewards))
            value, value2 = v @ x, v @ x2
            delta = r + value2 - value
            if true_online:
                z = lam * z + (1 - alpha * lam * z @ x) * x
                v = v + alpha * (delta + value - v_old) * z - alpha * (value - v_old) * x
                v_old = value2
            else:
                z = lam * z + x
                v = v + alpha * delta * z
    return v


def test_traces_match_the_books_boxes_and_the_special_cases():
    env = gym.make("rlsuite/RandomWalk-v0")
    ep = pr.sample_episodes(env, runs=3, episodes=4)
    lams, alphas = np.array([0.0, 0.6, 0.9]), np.array([0.2, 0.3, 0.1])
    for true_online, method in ((False, lp.td_lambda), (True, lp.true_online_td_lambda)):
        history = method(ep, lams, alphas)
        for run in range(3):
            episodes = [
                (ep.states[run, e, : ep.lengths[run, e] + 1], ep.rewards[run, e, : ep.lengths[run, e]])
                for e in range(4)
            ]
            for i, (lam, alpha) in enumerate(zip(lams, alphas)):
                expected = reference_td_lambda(*zip(*episodes), lam, alpha, 7, true_online)
                np.testing.assert_allclose(history[i, run, -1], expected, atol=1e-12)
    td = pr.td0(ep, [0.2])
    np.testing.assert_allclose(lp.td_lambda(ep, [0.0], [0.2]), td, atol=1e-12)  # λ = 0 is TD(0) …
    np.testing.assert_allclose(pr.nstep_td(ep, [1], [0.2]), td, atol=1e-12)  # … and so is n = 1
    mc = pr.constant_alpha_mc(ep, [0.2])
    np.testing.assert_allclose(lp.offline_lambda_return(ep, [1.0], [0.2]), mc, atol=1e-12)  # λ = 1: MC
    np.testing.assert_allclose(pr.nstep_td(ep, [1000], [0.2]), mc, atol=1e-12)  # n past the end: MC


def test_episodes_are_the_random_walks_and_a_runs_own():
    env = gym.make("rlsuite/RandomWalk-v0")
    ep = pr.sample_episodes(env, runs=40, episodes=50)
    assert (ep.states[:, :, 0] == 3).all() and ep.terminal.tolist() == [True] + [False] * 5 + [True]
    assert 8.0 < ep.lengths.mean() < 10.0  # 3 × 3 = 9 steps from the centre on average
    ends = np.take_along_axis(ep.states, ep.lengths[..., None], axis=2)[..., 0]
    np.testing.assert_array_equal(ep.rewards.sum(axis=2), ends == 6)  # +1 only on the right
    assert np.isclose((ends == 6).mean(), 0.5, atol=0.05)
    few = pr.sample_episodes(env, runs=3, episodes=50)
    np.testing.assert_array_equal(few.lengths, ep.lengths[:3])  # run r's episodes are its seed's alone


def test_episodes_need_an_env_with_p_and_a_policy_that_ends_them():
    with pytest.raises(RLSuiteError, match="does not step by its P"):
        pr.sample_episodes(gym.make("CartPole-v1"), 2, 2)
    with pytest.raises(RLSuiteError, match="has not ended after max_steps=50 steps"):
        pr.sample_episodes(gym.make("rlsuite/GridWorld-v0"), 2, 2, max_steps=50)  # a continuing task


def iterated_batch_td(ep, run, episodes, alpha=0.01, sweeps=5000, v0=0.5):
    """The book's batch TD(0): sweep all the episodes so far, summing the increments, until still."""
    v = np.full(ep.n_states, v0)
    v[ep.terminal] = 0.0
    for _ in range(sweeps):
        change = np.zeros_like(v)
        for e in range(episodes):
            for t in range(ep.lengths[run, e]):
                s, s2 = ep.states[run, e, t], ep.states[run, e, t + 1]
                change[s] += alpha * (ep.rewards[run, e, t] + v[s2] - v[s])
        v += change
    return v


def test_batch_values_are_the_fixed_points_of_batch_updating():
    ep = pr.sample_episodes(gym.make("rlsuite/RandomWalk-v0"), runs=2, episodes=3)
    td, mc = pr.batch_td(ep, v0=0.5), pr.batch_mc(ep, v0=0.5)
    np.testing.assert_allclose(td[0, 1, 3], iterated_batch_td(ep, 1, 3), atol=1e-6)
    g = ep.rewards[1, :3].sum(axis=1)  # one reward per episode: every visit's return is the episode's
    visits = [(s, g[e]) for e in range(3) for s in ep.states[1, e, : ep.lengths[1, e]]]
    for s in range(1, 6):
        seen = [ret for state, ret in visits if state == s]
        assert mc[0, 1, 3, s] == pytest.approx(np.mean(seen) if seen else 0.5)


# ----- the agents ------------------------------------------------------------------------------------
def feed(agent, steps):
    """Transitions (s, a, r, s', terminated) straight into ``agent.observe``, one env."""
    for s, a, r, s2, done in steps:
        agent.observe(
            Transition(np.array([s]), np.array([a]), np.array([r]), np.array([s2]), np.array([done]), np.array([False]))
        )


def test_nstep_sarsa_update_by_hand():
    agent = rlsuite.make_agent(
        "nstep_sarsa", "rlsuite/WalkToT-v0", use_preset=False, n_steps=2, learning_rate=0.5, gamma=0.9, epsilon=0.0
    )
    q = agent.q_table
    q[:] = [[0.0, 0.1], [0.0, 0.2], [0.0, 0.4], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
    feed(agent, [(0, 1, 0.0, 1, False)])
    assert q[0, 1] == 0.1  # one step held: nothing yet
    feed(agent, [(1, 1, 0.0, 2, False)])
    assert q[0, 1] == pytest.approx(0.1 + 0.5 * (0.81 * 0.4 - 0.1))  # G = 0 + 0.9·0 + 0.9²·Q(2, right)
    feed(agent, [(2, 1, 1.0, 3, True)])  # the end: both held steps, with the rewards up to it
    assert q[1, 1] == pytest.approx(0.2 + 0.5 * (0.9 - 0.2)) and q[2, 1] == pytest.approx(0.4 + 0.5 * 0.6)


@pytest.mark.parametrize("traces", ["replacing", "accumulating"])
def test_sarsa_lambda_update_by_hand(traces):
    agent = rlsuite.make_agent(
        "sarsa_lambda",
        "rlsuite/WalkToT-v0",
        use_preset=False,
        trace_decay=0.5,
        learning_rate=0.5,
        gamma=0.9,
        epsilon=0.0,
        traces=traces,
    )
    q = agent.q_table
    q[:] = [[0.0, 0.3], [0.2, 0.6], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
    feed(agent, [(0, 1, 0.0, 1, False)])  # δ = 0.9 · 0.6 − 0.3 = 0.24
    assert q[0, 1] == pytest.approx(0.42)
    feed(agent, [(1, 1, 1.0, 2, True)])  # δ = 1 − 0.6 = 0.4; z(0, right) = γλ = 0.45
    assert q[1, 1] == pytest.approx(0.8) and q[0, 1] == pytest.approx(0.42 + 0.5 * 0.4 * 0.45)
    q[:] = [[0.0, 0.5], [0.9, 0.1], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
    feed(agent, [(0, 1, 0.0, 1, False), (1, 0, 0.0, 0, False)])  # a new episode: no trace left over
    # in (0, right) again: z = 1 (replacing) or 1 + γλ·γλ (accumulating); δ = 0.9 · Q(0, right) − Q(0, right)
    before = q[0, 1]
    feed(agent, [(0, 1, 0.0, 2, True)])
    trace = 1.0 if traces == "replacing" else 1.0 + 0.45**2
    assert q[0, 1] == pytest.approx(before + 0.5 * (0.0 - before) * trace)


def test_nstep_sarsa_with_one_step_is_sarsa():
    runs = {}
    for name, extra in (("sarsa", {}), ("nstep_sarsa", {"n_steps": 1})):
        agent = rlsuite.make_agent(
            name, "CliffWalking-v1", seeds=2, use_preset=False, learning_rate=0.5, gamma=1.0, epsilon=0.1, **extra
        )
        agent.learn(600, eval_episodes=1, eval_max_steps=20, log_images=False)
        runs[name] = agent.q_table.copy()
    np.testing.assert_array_equal(runs["sarsa"], runs["nstep_sarsa"])


# ----- the figures at a few runs ------------------------------------------------------------------------
def test_example_6_2_and_figure_6_2_land_near_the_book():
    fig = ch6.example_6_2(20, 1, QUIET)
    rms = fig["panels"]["RMS error"]
    assert rms["TD alpha=0.1"][0] == pytest.approx(0.2357, abs=1e-4)
    tail = {k: np.mean(v[-20:]) for k, v in rms.items()}
    assert max(v for k, v in tail.items() if k.startswith("TD")) < min(v for k, v in tail.items() if k[:2] == "MC")
    assert 0.02 < tail["TD alpha=0.05"] < 0.07 and 0.07 < tail["MC alpha=0.01"] < 0.14
    assert np.abs(np.subtract(fig["panels"]["estimated value"]["100"], np.arange(1, 6) / 6)).max() < 0.15
    batch = ch6.figure_6_2(20, 1, QUIET)["panels"]["RMS error"]
    assert np.mean(np.less(batch["TD"][1:], batch["MC"][1:])) > 0.9 and 0.02 < batch["TD"][-1] < 0.07


def test_example_6_5_and_the_cliff_methods_land_near_the_book():
    fig = ch6.example_6_5(3, 1, QUIET)
    assert 125 < fig["panels"]["episodes"]["Sarsa"][-1] < 190  # the book: about 170 by step 8000
    expected = ch6.cliff_returns("expected_sarsa", 0.5, (0, 1, 2), 150)[:, 75:].mean()
    q = ch6.cliff_returns("qlearning", 0.5, (0, 1, 2), 150)[:, 75:].mean()
    assert -30 < expected < -15 and -60 < q < -40  # Figure 6.3: ≈ −20 and ≈ −50, asymptotically


def test_figure_7_2_and_chapter_12_land_near_the_book():
    fig = ch7.figure_7_2(12, 1, QUIET)
    curves = fig["panels"][ch7.AXIS]
    assert fig["book"][0][2] in ("n=4", "n=8") and 0.22 < min(curves["n=4"]) < 0.32
    assert np.argmin(curves["n=1"]) > np.argmin(curves["n=4"]) > np.argmin(curves["n=64"])  # larger n, smaller α
    for key, diverges in (("fig12.3", False), ("fig12.6", True), ("fig12.8", False)):
        curves = ch12.lambda_figure(key)(12, 1, QUIET)["panels"][ch7.AXIS]
        best = min(min(c) for c in curves.values())
        assert 0.22 < best < 0.32 and min(curves["lambda=0.8"]) < min(curves["lambda=0"]) - 0.05, key
        assert (len(curves["lambda=1"]) < len(ch7.ALPHAS)) == diverges, key
