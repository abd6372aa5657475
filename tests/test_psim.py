"""PVectorEnv (rlsuite.vecenv.psim) against the real Gymnasium stack it stands in for."""

import json

import gymnasium as gym
import numpy as np
import pytest

import rlsuite  # noqa: F401  (registers the rlsuite/ envs)
from rlsuite.core.errors import RLSuiteError
from rlsuite.vecenv.psim import PVectorEnv, p_vector_env

SAME_STEP = gym.vector.AutoresetMode.SAME_STEP
CLIFF_TO_GOAL = [0] + [1] * 11 + [2]  # up, right x 11, down: CliffWalking's start to its goal


def maker(env_id, **kwargs):
    return lambda: gym.make(env_id, **kwargs)


def real_stack(make, n):
    return gym.wrappers.vector.RecordEpisodeStatistics(gym.vector.SyncVectorEnv([make] * n, autoreset_mode=SAME_STEP))


def assert_same(real, sim, what):
    assert type(real) is type(sim), what
    if isinstance(real, dict):
        assert real.keys() == sim.keys(), what
        for key in real:
            assert_same(real[key], sim[key], f"{what}[{key!r}]")
    elif isinstance(real, np.ndarray):
        assert real.dtype == sim.dtype and real.shape == sim.shape, what
        if real.dtype == object:
            assert real.tolist() == sim.tolist() and [type(x) for x in real] == [type(x) for x in sim], what
        else:
            assert np.array_equal(real, sim), what
    else:
        assert real == sim, what


def assert_same_infos(real, sim, done, synced):
    """Same keys, dtypes and values, but for what Gymnasium itself leaves loose: the episodes' wall
    time, the dtype of "prob" on a step where env 0 reset (its reset gives an int), and, where the
    start is drawn (synced), what belongs to the new episodes' first states."""
    real, sim = dict(real), dict(sim)
    assert real.keys() == sim.keys()
    if "episode" in real:
        assert sim["episode"]["t"].dtype == np.float64
        real["episode"], sim["episode"] = dict(real["episode"]), dict(sim["episode"])
        del real["episode"]["t"], sim["episode"]["t"]
    if "prob" in real and done[0]:
        assert np.array_equal(real.pop("prob"), sim.pop("prob"))
    if synced and "action_mask" in real:
        assert np.array_equal(real.pop("action_mask")[~done], sim.pop("action_mask")[~done])
    assert_same(real, sim, "infos")


def sync(real, obs, rows, support):
    """Put the real envs of ``rows`` in the start states PVectorEnv drew (checked against the support)."""
    for i in np.flatnonzero(rows):
        assert int(obs[i]) in support
        base = real.env.envs[i].unwrapped
        setattr(base, "s" if hasattr(base, "s") else "state", int(obs[i]))


def compare_with_real(make, n, steps, seed=0, scripted=None):
    """Step the real stack and PVectorEnv with the same random actions; every output must agree.
    Where the start state is drawn, the real envs are put in PVectorEnv's start states."""
    real, sim = real_stack(make, n), p_vector_env(make, n)
    assert isinstance(sim, PVectorEnv)
    assert sim.single_observation_space == real.single_observation_space
    assert sim.action_space == real.action_space and sim.observation_space == real.observation_space
    assert sim.metadata == real.metadata
    probe = make()
    support, n_actions = set(np.flatnonzero(probe.unwrapped.initial_state_distrib > 0)), probe.action_space.n
    synced = len(support) > 1
    (obs_r, info_r), (obs_s, info_s) = real.reset(seed=seed), sim.reset(seed=seed)
    if synced:
        sync(real, obs_s, np.ones(n, dtype=bool), support)
        if "action_mask" in info_s:
            assert np.array_equal(info_s["action_mask"], [probe.unwrapped.action_mask(s) for s in obs_s])
    else:
        assert_same(obs_r, obs_s, "reset obs")
        assert_same_infos(info_r, info_s, np.zeros(n, dtype=bool), False)
    rng, ends = np.random.default_rng(seed), np.zeros(2, dtype=int)
    for t in range(steps):
        actions = rng.integers(n_actions, size=n)
        if scripted:
            actions[0] = scripted[t % len(scripted)]
        obs_r, *out_r, info_r = real.step(actions)
        obs_s, *out_s, info_s = sim.step(actions)
        for name, a, b in zip(("reward", "terminated", "truncated"), out_r, out_s):
            assert_same(a, b, f"step {t} {name}")
        done = out_s[1] | out_s[2]
        assert_same(obs_r[~done] if synced else obs_r, obs_s[~done] if synced else obs_s, f"step {t} obs")
        assert_same_infos(info_r, info_s, done, synced)
        if synced:
            sync(real, obs_s, done, support)
        ends += [out_s[1].sum(), out_s[2].sum()]
    return ends


@pytest.mark.parametrize(
    "make, n, scripted",
    [
        (maker("CliffWalking-v1", max_episode_steps=40), 4, CLIFF_TO_GOAL),
        (maker("rlsuite/WalkToT-v0", max_episode_steps=15), 5, None),
        (maker("rlsuite/WalkToT-v0", max_episode_steps=15, random_start=True), 5, None),
        (maker("rlsuite/GridWorld4x4-v0", max_episode_steps=12), 5, None),
        (maker("rlsuite/GridWorld4x4-v0", max_episode_steps=12, start=5), 3, None),
        (maker("rlsuite/MaximizationBias-v0", max_episode_steps=3, b_std=0.0), 4, None),
    ],
)
def test_episodic_envs_step_as_the_real_stack(make, n, scripted):
    terminations, truncations = compare_with_real(make, n, steps=250, scripted=scripted)
    assert terminations > 0 and truncations > 0  # both kinds of episode end were compared


@pytest.mark.parametrize(
    "make",
    [
        maker("rlsuite/GridWorld-v0", max_episode_steps=20),
        maker("rlsuite/GridWorld-v0", max_episode_steps=20, start=0),
        maker("Taxi-v4", max_episode_steps=25),
    ],
)
def test_continuing_and_masked_envs_step_as_the_real_stack(make):
    assert compare_with_real(make, 4, steps=120, seed=3)[1] > 0


def test_frozen_lake_slippery_next_states_follow_P():
    n = 20_000
    sim = p_vector_env(maker("FrozenLake-v1"), n)
    P = gym.make("FrozenLake-v1").unwrapped.P
    sim.reset(seed=0)
    for state, action in ((0, 2), (6, 0), (14, 2)):
        saved = sim.state()
        sim.load_state(dict(saved, states=[state] * n))
        obs, _, terminated, _, infos = sim.step(np.full(n, action))
        if "final_obs" in infos:  # a hole or the goal: the episode ended, its last state is in final_obs
            ended = infos["_final_obs"]
            obs = np.where(ended, infos["final_obs"], obs).astype(int)
            assert np.all(infos["prob"][ended] == 1) and np.allclose(infos["final_info"]["prob"][ended], 1 / 3)
        assert np.allclose(infos["prob"][~terminated], 1 / 3)
        for prob, s_next, _reward, term in P[state][action]:
            landed = obs == s_next
            assert abs(landed.mean() - prob) < 4 * np.sqrt(prob * (1 - prob) / n)
            assert np.all(terminated[landed] == term)
        sim.load_state(saved)


class TenWayEnv(gym.Env):
    """A user's env that declares ``steps_by_P``: from state 0, action 0 goes to each of 10 states with
    probability 0.1 (whose running sum stops short of 1.0 in floats); everything else goes to 0."""

    steps_by_P = True
    observation_space, action_space = gym.spaces.Discrete(11), gym.spaces.Discrete(2)
    initial_state_distrib = np.eye(11)[0]
    P = {s: {a: [(1.0, 0, 0.0, False)] for a in range(2)} for s in range(11)}
    P[0][0] = [(0.1, s, float(s), s == 10) for s in range(1, 11)]


def test_a_users_env_with_steps_by_P_and_rounded_probabilities():
    sim = p_vector_env(TenWayEnv, 10_000)
    assert sim.tables.cdf.shape == (11, 2, 10) and np.all(sim.tables.cdf[:, :, -1] == 1.0)
    assert np.cumsum([0.1] * 10)[-1] < 1.0 and np.all(sim.tables.cdf[0, 1, :] == 1.0)  # padding never drawn
    sim.reset(seed=0)
    obs, reward, terminated, _, infos = sim.step(np.zeros(10_000, dtype=int))
    obs = np.where(terminated, infos.get("final_obs", obs), obs).astype(int)
    assert set(obs.tolist()) == set(range(1, 11)) and np.array_equal(reward, obs) and np.all(terminated == (obs == 10))
    assert "action_mask" not in infos and "prob" not in infos  # it has no masks, and only toy text reports prob


def test_taxi_starts_where_the_real_taxi_starts():
    real = gym.make("Taxi-v4")
    support = set(np.flatnonzero(real.unwrapped.initial_state_distrib > 0))
    obs, infos = p_vector_env(maker("Taxi-v4"), 20_000).reset(seed=1)
    assert set(obs.tolist()) == support  # 300 start states, each drawn ~67 times
    assert {real.reset(seed=s)[0] for s in range(500)} <= support
    assert np.array_equal(infos["action_mask"], [real.unwrapped.action_mask(s) for s in obs])


def test_an_envs_trajectory_depends_on_its_seed_and_actions_only():
    def trajectory(seeds, index):
        sim = p_vector_env(maker("FrozenLake-v1", max_episode_steps=8), len(seeds))
        obs, _ = sim.reset(seed=seeds)
        mine, others = np.random.default_rng(0), np.random.default_rng(len(seeds))
        steps = [int(obs[index])]
        for _ in range(150):
            actions = others.integers(4, size=len(seeds))
            actions[index] = mine.integers(4)
            obs, reward, terminated, truncated, _ = sim.step(actions)
            steps.append((int(obs[index]), float(reward[index]), bool(terminated[index]), bool(truncated[index])))
        return steps

    assert trajectory([5, 1, 2], 0) == trajectory([9, 8, 7, 6, 5, 4, 3], 4)
    assert trajectory([5, 1, 2], 0) != trajectory([6, 1, 2], 0)


def test_int_seed_seeds_env_i_with_seed_plus_i_and_none_continues():
    a, b = p_vector_env(maker("FrozenLake-v1"), 3), p_vector_env(maker("FrozenLake-v1"), 3)
    a.reset(seed=10)
    b.reset(seed=[10, 11, 12])
    assert a.state() == b.state()
    for _ in range(20):
        actions = np.array([0, 1, 2])
        assert all(np.array_equal(x, y) for x, y in zip(a.step(actions)[:4], b.step(actions)[:4]))
    a.reset()
    b.reset()
    assert a.state() == b.state() and a.state()["counters"] != [1, 1, 1]
    a.reset(seed=10)  # seeding again starts the streams afresh
    b = p_vector_env(maker("FrozenLake-v1"), 3)
    b.reset(seed=10)
    assert a.state() == b.state()


def test_reset_mask_resets_only_those_envs():
    make = maker("rlsuite/WalkToT-v0", max_episode_steps=6)
    sim, real = p_vector_env(make, 4), gym.vector.SyncVectorEnv([make] * 4, autoreset_mode=SAME_STEP)
    sim.reset(seed=0)
    real.reset(seed=0)
    for _ in range(3):
        obs_s, *_ = sim.step(np.ones(4, dtype=int))
        real.step(np.ones(4, dtype=int))
    mask = np.array([True, False, True, False])
    options = {"reset_mask": mask}
    obs_s, info_s = sim.reset(options=options)
    obs_r, info_r = real.reset(options={"reset_mask": mask})
    assert_same(obs_r, obs_s, "obs")
    assert_same_infos(info_r, info_s, mask, False)
    assert obs_s.tolist() == [0, 3, 0, 3] and "reset_mask" in options  # the caller's options stay
    assert sim.state()["elapsed"] == [0, 3, 0, 3] and sim.state()["returns"] == [0.0] * 4
    for _ in range(2):  # 3 more steps would end the episodes of envs 1 and 3 by the time limit
        obs_s, _, _, truncated, _ = sim.step(np.zeros(4, dtype=int))
    obs_s, _, _, truncated, infos = sim.step(np.zeros(4, dtype=int))
    assert truncated.tolist() == [False, True, False, True] and infos["episode"]["l"].tolist() == [0, 6, 0, 6]


def test_state_round_trips_through_json_and_goes_on_identically():
    make, rng = maker("FrozenLake-v1", max_episode_steps=10), np.random.default_rng(0)
    sim = p_vector_env(make, 5)
    sim.reset(seed=4)

    def go_on(envs, steps=30):  # envs: (env, rows it mirrors); every one must give sim's numbers
        for _ in range(steps):
            actions = rng.integers(4, size=5)
            out = sim.step(actions)
            for env, rows in envs:
                again = env.step(actions[rows])
                assert all(np.array_equal(x[rows], y) for x, y in zip(out[:4], again[:4]))
                lengths = out[4]["episode"]["l"][rows] if "episode" in out[4] else 0 * again[2]
                assert np.array_equal(lengths, again[4]["episode"]["l"] if "episode" in again[4] else 0 * again[2])

    go_on([])
    saved = json.loads(json.dumps(sim.state()))
    resumed, part = p_vector_env(make, 5), p_vector_env(make, 2)
    resumed.reset(seed=99)
    resumed.step(np.zeros(5, dtype=int))  # what it did before must not matter
    resumed.load_state(saved)
    part.load_state(json.loads(json.dumps(sim.member_state(slice(1, 3)))))
    go_on([(resumed, slice(None)), (part, slice(1, 3))])
    mask = np.array([True, False, False, True, False])
    assert np.array_equal(sim.reset(options={"reset_mask": mask})[0], resumed.reset(options={"reset_mask": mask})[0])
    fresh = p_vector_env(make, 5)  # draws from the counters alone, with no block of draws ahead
    fresh.load_state(sim.state())
    go_on([(resumed, slice(None)), (fresh, slice(None))])
    assert sim.state() == resumed.state() == fresh.state()
    with pytest.raises(RLSuiteError, match="same env and n_envs"):
        p_vector_env(make, 4).load_state(saved)


@pytest.mark.parametrize(
    "make",
    [
        maker("rlsuite/RecyclingRobot-v0", reward_mode="sampled"),  # P holds the Poisson rewards' means
        maker("rlsuite/MaximizationBias-v0"),  # B's rewards are normal draws around P's mean
        lambda: gym.wrappers.TransformReward(gym.make("CliffWalking-v1"), lambda r: 2 * r),
        lambda: gym.Wrapper(gym.make("CliffWalking-v1")),
        maker("CliffWalking-v1", render_mode="rgb_array"),
        maker("Taxi-v4", fickle_passenger=True),  # the fickle passenger changes destination outside P
        maker("CartPole-v1"),
        maker("rlsuite/WalkToTContinuous-v0"),
    ],
)
def test_envs_not_stepped_exactly_by_P_are_refused(make):
    assert p_vector_env(make, 3) is None


def test_qualifying_envs_and_the_probe_env_is_closed():
    closed = []

    def make():
        env = gym.make("rlsuite/RecyclingRobot-v0")
        env.unwrapped.close = lambda: closed.append(True)
        return env

    sim = p_vector_env(make, 2, name="robot")
    assert isinstance(sim, PVectorEnv) and closed == [True] and sim.tables.max_steps == 100
    assert isinstance(p_vector_env(maker("CliffWalkingSlippery-v1"), 2), PVectorEnv)
    assert isinstance(p_vector_env(maker("Taxi-v4", is_rainy=True), 2), PVectorEnv)


def test_misuse_is_one_line_naming_the_fix():
    sim = p_vector_env(maker("CliffWalking-v1"), 3, name="cliff")
    with pytest.raises(RLSuiteError, match="before reset"):
        sim.step(np.zeros(3, dtype=int))
    sim.reset(seed=0)
    with pytest.raises(RLSuiteError, match=r"outside Discrete\(4\)"):
        sim.step(np.array([0, 4, -1]))
    with pytest.raises(RLSuiteError, match="one per env"):
        sim.step(np.zeros(2, dtype=int))
    with pytest.raises(RLSuiteError, match="bool array"):
        sim.reset(options={"reset_mask": np.array([1, 0, 1])})
    with pytest.raises(RLSuiteError, match="n_envs"):
        p_vector_env(maker("CliffWalking-v1"), 0)
