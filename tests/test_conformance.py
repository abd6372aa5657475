"""One contract for every registered agent (and every one added later: one registry line, and the
agent gets these tests). Each runs on a small env that fits its spaces, with K = 1 and K = 2
members: learn into a run directory, resume from a checkpoint, save and load each member and the
whole, predict the same after loading, every declared state part through a checkpoint and back,
member k the run of its seed alone, a member that is done kept as it was."""

import gymnasium as gym
import numpy as np
import pytest

import rlsuite
from rlsuite.agents import REGISTRY, agent_class
from rlsuite.core.envspec import make_env
from rlsuite.driver.checkpoint import latest_checkpoint

QUIET = {"progress": False, "eval_episodes": 1, "eval_max_steps": 50, "log_images": False}
# the env and settings each kind of agent is checked on: small, and quick to learn something
FITS = [
    ("rlsuite/WalkToT-v0", {"learning_rate": 0.5, "gamma": 0.9, "epsilon": 0.2}),
    (
        "CartPole-v1",
        {
            "learning_starts": 60,
            "buffer_size": 2000,
            "batch_size": 16,
            "net_arch": [16, 16],
            "train_freq": 2,
            "target_update_interval": 50,
        },
    ),
    (
        "rlsuite/WalkToTContinuous-v0",
        {
            "learning_starts": 60,
            "buffer_size": 2000,
            "batch_size": 16,
            "net_arch": [16, 16],
            "noise_type": "ornstein-uhlenbeck",
        },
    ),
    ("rlsuite/WalkToTContinuous-v0", {"learning_starts": 60, "buffer_size": 2000, "batch_size": 16, "net_arch": [16]}),
    ("rlsuite/Bandit-v0", {"learning_rate": 0.1}),  # the bandit agents (no gamma, no epsilon of theirs)
]
STEPS = 300


def setting(name: str) -> tuple[str, dict]:
    """The first of FITS whose env the agent takes and whose settings are all its hyperparameters."""
    cls = agent_class(name)
    for env_id, values in FITS:
        env = make_env(env_id)
        fits = cls.supports(env.observation_space, env.action_space) is None
        env.close()
        if fits and set(values) <= set(cls.Config.__dataclass_fields__):
            return env_id, values
    pytest.fail(f"agent {name!r} fits none of the conformance envs; add one that suits it to FITS")


def build(name: str, **kw):
    env_id, values = setting(name)
    return rlsuite.make_agent(name, env_id, use_preset=False, **values, **kw)


def observations(agent, n: int = 8) -> np.ndarray:
    env = make_env(agent.env)
    obs = [env.reset(seed=i)[0] for i in range(n)]
    env.close()
    return np.stack(obs)


def same_state(a, b, exact: bool = True) -> None:
    ta, tb = a.state_tensors(), b.state_tensors()
    assert ta.keys() == tb.keys()
    for key in ta:
        if exact:
            np.testing.assert_array_equal(ta[key], tb[key], err_msg=key)
        else:
            np.testing.assert_allclose(ta[key], tb[key], atol=1e-4, err_msg=key)


@pytest.fixture(params=sorted(REGISTRY))
def name(request):
    return request.param


def test_learns_resumes_and_round_trips_with_one_member(name, tmp_path):
    agent = build(name, seed=3)
    result = agent.learn(STEPS, run_dir=tmp_path / "run", checkpoint_every=100, **QUIET)
    assert result.summary["steps"] == STEPS and np.isfinite(result.summary["eval_mean_return"])
    assert (tmp_path / "run" / "summary.json").is_file() and latest_checkpoint(tmp_path / "run") is not None
    # every declared part through a checkpoint and back: arrays, counters, per-env rows, predictions
    loaded = rlsuite.load(tmp_path / "run")
    same_state(loaded, agent)
    assert loaded.extra_state() == agent.extra_state()
    obs = observations(agent)
    np.testing.assert_array_equal(loaded.predict(obs), agent.predict(obs))
    # resume: a new agent goes on from the run's checkpoint to the new length
    again = build(name, seed=3)
    resumed = again.learn(STEPS + 100, run_dir=tmp_path / "run", resume=True, checkpoint_every=100, **QUIET)
    assert resumed.summary["steps"] == STEPS + 100 and again.num_timesteps == STEPS + 100


def test_two_members_are_two_runs_of_their_own_seeds(name, tmp_path):
    agent = build(name, seeds=[3, 7])
    results = agent.learn(STEPS, run_dir=tmp_path / "two", checkpoint_every=100, **QUIET)
    assert [r.summary["seed"] for r in results] == [3, 7]
    beside = build(name, seeds=[11, 7])
    beside.learn(STEPS, **QUIET)
    same_state(agent.members[1], beside.members[1])  # seed 7's run does not depend on its neighbour
    alone = build(name, seed=7)
    alone.learn(STEPS, **QUIET)
    # tables exactly; stacked networks sum in another order than plain layers: to float rounding
    same_state(agent.members[1], alone, exact=name in ("qlearning", "sarsa", "expected_sarsa", "double_qlearning"))
    # each member saves, loads and predicts as itself; the whole goes back together member by member
    obs = observations(agent)
    for k, member in enumerate(agent.members):
        member.save(tmp_path / f"m{k}")
        loaded = rlsuite.load(tmp_path / f"m{k}")
        same_state(loaded, member)
        assert loaded.extra_state() == member.extra_state()
        np.testing.assert_array_equal(loaded.predict(obs), member.predict(obs))
    whole = build(name, seeds=[3, 7])
    for k in range(2):
        whole.load_member(k, rlsuite.load(tmp_path / "two" / f"seed_{[3, 7][k]}"))
    same_state(whole, agent)
    assert whole.extra_state() == agent.extra_state()
    # the run resumes from the step both members reached
    again = build(name, seeds=[3, 7])
    results = again.learn(STEPS + 100, run_dir=tmp_path / "two", resume=True, checkpoint_every=100, **QUIET)
    assert [r.summary["steps"] for r in results] == [STEPS + 100] * 2


def test_a_member_that_is_done_keeps_its_state(name):
    agent = build(name, seeds=[3, 7])
    results = agent.learn(STEPS, max_episodes=2, **QUIET)
    alone = build(name, seed=7)
    single = alone.learn(STEPS, max_episodes=2, **QUIET)
    assert results[1].episode_returns == single.episode_returns
    same_state(agent.members[1], alone, exact=name in ("qlearning", "sarsa", "expected_sarsa", "double_qlearning"))


def float64_version(env_id: str) -> gym.Env:
    """``env_id`` with its Box observations as float64, as every MuJoCo env and many users' envs give them."""
    env = gym.make(env_id)
    low, high = env.observation_space.low.astype(np.float64), env.observation_space.high.astype(np.float64)
    return gym.wrappers.TransformObservation(
        env, lambda o: o.astype(np.float64), gym.spaces.Box(low, high, dtype=np.float64)
    )


def takes_boxes(name: str) -> bool:
    env_id, _ = setting(name)
    return isinstance(make_env(env_id).observation_space, gym.spaces.Box)


@pytest.mark.parametrize("box_agent", [n for n in sorted(REGISTRY) if takes_boxes(n)])
def test_float64_box_observations_train(box_agent, tmp_path):
    env_id, values = setting(box_agent)
    agent = rlsuite.make_agent(box_agent, float64_version(env_id), seed=0, use_preset=False, **values)
    result = agent.learn(STEPS, run_dir=tmp_path / "f64", **QUIET)
    assert result.summary["steps"] == STEPS and np.isfinite(result.summary["eval_mean_return"])
    obs = np.stack([float64_version(env_id).reset(seed=i)[0] for i in range(4)])
    assert obs.dtype == np.float64 and len(agent.predict(obs)) == 4
