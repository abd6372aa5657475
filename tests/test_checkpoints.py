import json
import math
import pickle
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from tests.test_logging import scalars

import rlsuite
from rlsuite.core.errors import RLSuiteError

CLI = [sys.executable, "-m", "rlsuite"]
SMALL_DQN = [
    "--set",
    "net_arch=[32]",
    "--set",
    "learning_starts=200",
    "--set",
    "buffer_size=5000",
    "--set",
    "train_freq=4",
    "--set",
    "gradient_steps=1",
    "--set",
    "batch_size=32",
    "--set",
    "target_update_interval=200",
    "--set",
    "log_interval=250",
    "--no-progress",
]


def test_sigkill_then_resume_reaches_the_requested_steps(tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [
            *CLI,
            "train",
            "--env",
            "CartPole-v1",
            "--agent",
            "dqn",
            "--steps",
            "8000",
            "--checkpoint-every",
            "1000",
            "--run-dir",
            str(run_dir),
            *SMALL_DQN,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    second = run_dir / "checkpoints" / f"step_{2000:012d}"
    deadline = time.monotonic() + 240
    while not (second / "agent.json").exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run_dir / "summary.json").exists()
    latest = sorted((run_dir / "checkpoints").glob("step_*"))[-1]
    assert rlsuite.load(latest).num_timesteps == int(latest.name.split("_")[1])  # the newest loads

    done = subprocess.run(
        [*CLI, "train", "--resume", str(run_dir), "--no-progress"], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["steps"] == 8000
    assert rlsuite.load(run_dir).num_timesteps == 8000
    for tag, events in scalars(run_dir).items():
        steps = [e.step for e in events]
        assert steps == sorted(set(steps)), f"{tag} replays or doubles points: {steps}"
    assert [e.step for e in scalars(run_dir)["charts/SPS"]] == list(range(250, 8001, 250))


@pytest.mark.parametrize("seeds", [[4], [4, 9]], ids=["one seed", "two seeds"])
def test_tabular_resume_at_an_episode_boundary_is_exact(tmp_path, seeds):
    def agent():  # sampled rewards: real envs stepped (a Gymnasium vector env for two), not the P simulator
        return rlsuite.make_agent(
            "qlearning", "rlsuite/RecyclingRobot-v0", seeds=seeds, gamma=0.9, env_kwargs={"reward_mode": "sampled"}
        )

    whole = agent()
    whole.learn(1000, run_dir=tmp_path / "whole", checkpoint_every=300)
    first = agent()
    first.learn(600, run_dir=tmp_path / "split", checkpoint_every=300)  # 100-step episodes: 600 is a boundary
    second = agent()
    second.learn(1000, run_dir=tmp_path / "split", resume=True, checkpoint_every=300)
    np.testing.assert_array_equal(second.q_table, whole.q_table)
    for _k, seed in enumerate(seeds):
        member = tmp_path / "split" / (f"seed_{seed}" if len(seeds) > 1 else "")
        summary = json.loads((member / "summary.json").read_text())
        assert summary["steps"] == 1000 and summary["episodes"] == 10


def test_dqn_resume_restores_the_replay_buffer(tmp_path):
    agent = rlsuite.make_agent("dqn", "CartPole-v1", seed=0, learning_starts=100, net_arch=[16], use_preset=False)
    agent.learn(500, run_dir=tmp_path / "run")
    again = rlsuite.make_agent("dqn", "CartPole-v1", seed=0, learning_starts=100, net_arch=[16], use_preset=False)
    again.learn(700, run_dir=tmp_path / "run", resume=True)
    assert len(again.buffer) == 700
    np.testing.assert_array_equal(again.buffer.obs[:500], agent.buffer.obs[:500])


def test_same_seed_gives_identical_weights_and_scalars(tmp_path):
    runs = []
    for name in ("a", "b"):
        agent = rlsuite.make_agent(
            "dqn", "CartPole-v1", seed=3, learning_starts=100, net_arch=[32], train_freq=2, use_preset=False
        )
        agent.learn(1500, run_dir=tmp_path / name, log_interval=100)
        runs.append((agent.state_tensors(), scalars(tmp_path / name)))
    (weights_a, tags_a), (weights_b, tags_b) = runs
    assert weights_a.keys() == weights_b.keys()
    for key in weights_a:
        np.testing.assert_array_equal(weights_a[key], weights_b[key])
    assert tags_a.keys() == tags_b.keys()
    for tag in tags_a:
        if tag != "charts/SPS":  # wall-clock speed is the one scalar that differs
            assert [(e.step, e.value) for e in tags_a[tag]] == [(e.step, e.value) for e in tags_b[tag]], tag


class Boom:
    def __reduce__(self):
        return (open, (str(Path.cwd() / "PWNED"), "w"))


@pytest.mark.parametrize("target", ["tensors.safetensors", "agent.json", "replay.npz"])
def test_a_pickle_payload_is_refused_and_never_runs(tmp_path, target):
    agent = rlsuite.make_agent("dqn", "CartPole-v1", seed=0, learning_starts=10, net_arch=[8], use_preset=False)
    agent.learn(50, run_dir=tmp_path / "run", checkpoint_every=50)
    ckpt = sorted((tmp_path / "run" / "checkpoints").glob("step_*"))[-1]
    (ckpt / target).write_bytes(pickle.dumps(Boom()))
    with pytest.raises(RLSuiteError, match="corrupt|not written by rlsuite"):
        if target == "replay.npz":
            again = rlsuite.make_agent("dqn", "CartPole-v1", seed=0, learning_starts=10, net_arch=[8], use_preset=False)
            again.learn(60, run_dir=tmp_path / "run", resume=True)
        else:
            rlsuite.load(ckpt)
    assert not (Path.cwd() / "PWNED").exists()


def test_truncated_foreign_and_mismatched_checkpoints(tmp_path):
    agent = rlsuite.make_agent("qlearning", "rlsuite/WalkToT-v0", seed=0)
    agent.save(tmp_path / "model")
    data = (tmp_path / "model" / "tensors.safetensors").read_bytes()
    (tmp_path / "model" / "tensors.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(RLSuiteError, match="corrupt or truncated"):
        rlsuite.load(tmp_path / "model")
    agent.save(tmp_path / "other")
    (tmp_path / "other" / "agent.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(RLSuiteError, match="not written by rlsuite"):
        rlsuite.load(tmp_path / "other")
    agent.learn(100, run_dir=tmp_path / "run")
    bigger = rlsuite.make_agent("qlearning", "rlsuite/WalkToT-v0", env_kwargs={"n_cells": 8})
    with pytest.raises(RLSuiteError, match="another observation space"):
        bigger.learn(200, run_dir=tmp_path / "run", resume=True)
    robot = rlsuite.make_agent("dqn", "rlsuite/WalkToT-v0")
    with pytest.raises(RLSuiteError, match="for agent 'qlearning', not 'dqn'"):
        robot.learn(200, run_dir=tmp_path / "run", resume=True)


class FaultyEnv(gym.Env):
    """Counts steps; reward or observation turns NaN at `bad_step`, or rewards explode."""

    def __init__(self, bad_step=50, what="reward"):
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.bad_step, self.what, self.t = bad_step, what, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.t += 1
        bad = self.t == self.bad_step
        obs = np.full(2, np.nan if bad and self.what == "observation" else 0.0, np.float32)
        reward = {"reward": np.nan if bad else 0.0, "huge": 3e38}.get(self.what, 0.0)
        return obs, reward, False, self.t % 10 == 0, {}


@pytest.mark.parametrize(
    "what,needle",
    [
        ("reward", "non-finite reward at step 50"),
        ("observation", "non-finite observation at step 50"),
        ("huge", "non-finite td loss (losses/td_loss)"),
    ],
)
def test_numerical_faults_stop_the_run_and_keep_the_last_good_checkpoint(tmp_path, what, needle):
    agent = rlsuite.make_agent(
        "dqn", FaultyEnv(what=what), seed=0, learning_starts=30, batch_size=8, train_freq=1, loss="mse", net_arch=[8]
    )
    with pytest.raises(RLSuiteError, match=re.escape(needle)) as info:
        agent.learn(400, run_dir=tmp_path / "run", checkpoint_every=20, eval_episodes=1)
    kept = sorted((tmp_path / "run" / "checkpoints").glob("step_*"))
    assert kept and str(kept[-1]) in str(info.value)
    assert int(kept[-1].name.split("_")[1]) < (50 if what != "huge" else 31)
    rlsuite.load(kept[-1])


@pytest.mark.parametrize("seeds", [None, 2])
def test_resuming_a_finished_run_logs_no_point_twice(tmp_path, seeds):
    def agent():
        return rlsuite.make_agent("qlearning", "rlsuite/RecyclingRobot-v0", seed=0, seeds=seeds, gamma=0.9)

    run = tmp_path / "run"
    agent().learn(300, run_dir=run, eval_freq=100)
    agent().learn(300, run_dir=run, resume=True, eval_freq=100)  # finished: nothing left to do
    member = run / "seed_0" if seeds else run
    points = scalars(member)
    for tag in ("eval/mean_return", "hparam/eval_mean_return"):
        steps = [e.step for e in points[tag]]
        assert len(steps) == len(set(steps)), (tag, steps)
    summary = json.loads((member / "summary.json").read_text())
    assert summary["steps"] == 300 and math.isfinite(summary["eval_mean_return"])


def test_a_reader_takes_the_newest_checkpoint_again_when_a_training_run_prunes_its_own(tmp_path, monkeypatch):
    import shutil

    run = tmp_path / "run"
    rlsuite.make_agent("qlearning", "rlsuite/RecyclingRobot-v0", seed=0).learn(300, run_dir=run, checkpoint_every=100)
    real, opened = rlsuite.agents._load_checkpoint, []

    def racing(path, device, env):
        opened.append(path.name)
        if len(opened) == 1:  # meanwhile the run writes a newer checkpoint and prunes this one
            newer = path.with_name("step_000000000400")
            shutil.copytree(path, newer)
            meta = json.loads((newer / "agent.json").read_text())
            (newer / "agent.json").write_text(json.dumps({**meta, "loop": {**meta["loop"], "step": 400}}))
            shutil.rmtree(path)
            raise RLSuiteError(f"{path} is not an rlsuite checkpoint")
        return real(path, device, env)

    monkeypatch.setattr(rlsuite.agents, "_load_checkpoint", racing)
    assert rlsuite.load(run).q_table.shape == (2, 3)  # the robot's 2 states, 3 actions
    assert opened == ["step_000000000300", "step_000000000400"]


@pytest.mark.parametrize("seeds", [None, 2])
def test_signals_during_the_final_evaluation_cut_it_short_and_every_summary_is_written(tmp_path, monkeypatch, seeds):
    import os

    from rlsuite.driver import members
    from rlsuite.driver.checkpoint import latest_checkpoint

    def signalled(real):
        def evaluate(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGTERM)  # as the final evaluation starts, twice
            os.kill(os.getpid(), signal.SIGINT)
            return real(*args, **kwargs)

        return evaluate

    monkeypatch.setattr(members, "evaluate_members", signalled(members.evaluate_members))
    agent = rlsuite.make_agent("qlearning", "rlsuite/RecyclingRobot-v0", seed=0, seeds=seeds)
    agent.learn(200, run_dir=tmp_path / "run", eval_freq=10**6)  # no evaluation before the final one
    for member in [tmp_path / "run" / "seed_0", tmp_path / "run" / "seed_1"] if seeds else [tmp_path / "run"]:
        summary = json.loads((member / "summary.json").read_text())
        assert summary["steps"] == 200 and summary["signal"] == "SIGTERM" and summary["final_eval_cut"]
        assert math.isnan(summary["eval_mean_return"]) and latest_checkpoint(member).name.endswith("200")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handlers are put back


@pytest.mark.parametrize("steps, killed_at, common", [(600, 5, 200), (500, 8, 400)])
def test_a_kill_between_members_checkpoint_writes_leaves_a_step_common_to_all(
    tmp_path, monkeypatch, steps, killed_at, common
):
    """keep_checkpoints=1 and three members: a member's new checkpoint used to prune its older one
    before the others wrote theirs, so a kill in between left no step common to all to resume from.
    Killed at the second member's write of step 400, or of the final checkpoint (step 500)."""
    from rlsuite.driver import checkpoint, run

    calls = []

    def dies_mid_way(*args, **kwargs):
        calls.append(args[2])
        if len(calls) == killed_at:
            raise SystemExit("killed")
        return checkpoint.save_checkpoint(*args, **kwargs)

    monkeypatch.setattr(run, "save_checkpoint", dies_mid_way)
    agent = rlsuite.make_agent("qlearning", "rlsuite/RecyclingRobot-v0", seeds=3)
    with pytest.raises(SystemExit):
        agent.learn(steps, run_dir=tmp_path / "run", checkpoint_every=200, keep_checkpoints=1)
    assert calls[-2:] == [calls[-1]] * 2 and calls[-1] > common  # one member wrote the newer step
    names = [{p.name for p in checkpoint.checkpoints(tmp_path / "run" / f"seed_{s}")} for s in range(3)]
    assert set.intersection(*names) == {f"step_{common:012d}"}, names
    monkeypatch.undo()
    again = rlsuite.make_agent("qlearning", "rlsuite/RecyclingRobot-v0", seeds=3)
    results = again.learn(steps, run_dir=tmp_path / "run", resume=True, checkpoint_every=200, keep_checkpoints=1)
    assert [r.summary["steps"] for r in results] == [steps] * 3
    assert all(len(checkpoint.checkpoints(tmp_path / "run" / f"seed_{s}")) == 1 for s in range(3))
