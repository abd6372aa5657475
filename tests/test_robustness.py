"""Run directories nothing can corrupt, and every fault a clear line: one test per failure as it was
reproduced (two runs into one directory, a finished run overwritten, SIGTERM, envs that break the
Gymnasium API, tampered or linked checkpoints, orphaned temporary files, an all-zero action mask,
absurd settings)."""

import json
import os
import signal
import subprocess
import sys
import time

import gymnasium as gym
import numpy as np
import pytest

import rlsuite
from rlsuite.core.errors import RLSuiteError
from rlsuite.driver.checkpoint import latest_checkpoint
from rlsuite.driver.rundir import claim_run_dir

CLI = [sys.executable, "-m", "rlsuite"]
SLOW_RUN = [
    "train",
    "--env",
    "rlsuite/RecyclingRobot-v0",
    "--agent",
    "qlearning",
    "--steps",
    str(10**8),
    "--no-progress",
]


def qlearning(**kw):
    return rlsuite.make_agent("qlearning", "rlsuite/WalkToT-v0", seed=0, **kw)


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def wait_for(predicate, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)


# ----- one owner per run directory ----------------------------------------------------------------
def test_a_second_run_into_a_busy_directory_names_the_owner(tmp_path):
    run_dir = tmp_path / "run"
    first = subprocess.Popen(
        [*CLI, *SLOW_RUN, "--run-dir", str(run_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        lock = run_dir / ".lock"
        wait_for(lambda: lock.exists() and lock.read_text().strip(), first)
        assert lock.read_text().strip() == str(first.pid)
        second = subprocess.run(
            [*CLI, *SLOW_RUN, "--run-dir", str(run_dir)], capture_output=True, text=True, timeout=120
        )
        assert second.returncode == 2
        errors = [line for line in second.stderr.splitlines() if line.startswith("rlsuite: error")]
        assert len(errors) == 1 and f"PID {first.pid}" in errors[0] and "in use" in errors[0], second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # the killed owner's lock is stale: the OS released it, and the next run goes ahead
    result = rlsuite.make_agent("qlearning", "rlsuite/RecyclingRobot-v0").learn(20, run_dir=run_dir, overwrite=True)
    assert result.summary["steps"] == 20


def test_the_lock_is_held_in_process_and_given_back(tmp_path):
    lock = claim_run_dir(tmp_path / "run")
    with pytest.raises(RLSuiteError, match=f"in use by another process \\(PID {os.getpid()}\\)"):
        claim_run_dir(tmp_path / "run")
    lock.release()
    claim_run_dir(tmp_path / "run").release()
    (tmp_path / "run" / ".lock").write_text("999999\n")  # a dead process's PID, not locked: no obstacle
    claim_run_dir(tmp_path / "run").release()


def test_a_fault_gives_the_directory_back(tmp_path):
    bad = rlsuite.make_agent("qlearning", BrokenEnv("none_reward"))
    with pytest.raises(RLSuiteError):
        bad.learn(20, run_dir=tmp_path / "run")
    claim_run_dir(tmp_path / "run", resume=True).release()  # the lock is given back (the run it began stays)


def test_a_many_seed_run_killed_before_its_first_checkpoint_is_still_a_run(tmp_path):
    """kill -9 before any checkpoint leaves the parent's config.yaml and the members' events: a new
    run into it is refused (it used to be accepted, and its config and summaries mixed with the old)."""
    run_dir = tmp_path / "run"
    slow = [*SLOW_RUN, "--seeds", "2", "--set", "checkpoint_every=1000000000", "--set", "log_interval=100"]
    proc = subprocess.Popen(
        [*CLI, *slow, "--run-dir", str(run_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(lambda: any((run_dir / "seed_1").glob("events.out.tfevents.*")), proc)
    finally:
        proc.kill()
        proc.wait()
    config = (run_dir / "config.yaml").read_text()
    assert not (run_dir / "summary.json").exists() and not (run_dir / "checkpoints").exists()
    again = rlsuite.make_agent("qlearning", "rlsuite/RecyclingRobot-v0", seeds=2, learning_rate=0.5)
    with pytest.raises(RLSuiteError, match="already holds a run") as info:
        again.learn(300, run_dir=run_dir)
    assert "--resume" in one_line(info) and (run_dir / "config.yaml").read_text() == config


# ----- a finished run is never clobbered ----------------------------------------------------------
def test_a_finished_run_is_refused_and_overwrite_moves_it_aside(tmp_path):
    run_dir = tmp_path / "run"
    qlearning().learn(50, run_dir=run_dir)
    before = (run_dir / "summary.json").read_text()
    with pytest.raises(RLSuiteError, match="already holds a run") as info:
        qlearning().learn(80, run_dir=run_dir)
    assert "overwrite" in one_line(info) and (run_dir / "summary.json").read_text() == before
    from rlsuite.tools.cli import main

    assert (
        main(
            [
                "train",
                "--env",
                "rlsuite/WalkToT-v0",
                "--agent",
                "qlearning",
                "--steps",
                "80",
                "--run-dir",
                str(run_dir),
                "--set",
                "overwrite=true",
                "--no-progress",
            ]
        )
        == 0
    )
    (aside,) = tmp_path.glob("run.old-*")
    assert (aside / "summary.json").read_text() == before and latest_checkpoint(aside).name.endswith("50")
    assert json.loads((run_dir / "summary.json").read_text())["steps"] == 80
    assert "overwrite" not in (run_dir / "config.yaml").read_text()  # a setting of the call, not of the run


def test_pruning_keeps_the_newest_by_step_number(tmp_path):
    ckpts = tmp_path / "run" / "checkpoints"
    for name in ("step_9", "step_10", "notes"):
        (ckpts / name).mkdir(parents=True)
        (ckpts / name / "agent.json").write_text("{}")
    assert latest_checkpoint(tmp_path / "run").name == "step_10"  # by name, step_9 would be the newest


# ----- SIGTERM --------------------------------------------------------------------------------------
def test_sigterm_stops_like_ctrl_c_with_a_checkpoint_and_a_summary(tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [*CLI, *SLOW_RUN, "--run-dir", str(run_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    wait_for(lambda: (run_dir / "config.yaml").exists(), proc)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode in (130, 143), err  # 143 once the CLI tells SIGTERM from SIGINT
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stop_reason"] == "interrupted" and summary["signal"] == "SIGTERM" and summary["interrupted"]
    assert int(latest_checkpoint(run_dir).name.split("_")[1]) == summary["steps"] > 0
    assert (run_dir / ".lock").read_text() == ""


# ----- envs that break the Gymnasium API -----------------------------------------------------------
class BrokenEnv(gym.Env):
    """A Discrete env that breaks the API in one way (``how``) from step ``bad_step`` on."""

    def __init__(self, how: str, bad_step: int = 3):
        self.observation_space = gym.spaces.Discrete(4)
        self.action_space = gym.spaces.Discrete(2)
        self.how, self.bad_step, self.t = how, bad_step, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0 if self.how == "reset_tuple" else (0, {})

    def step(self, action):
        self.t += 1
        bad = self.t >= self.bad_step
        obs, reward, info = 1, 1.0, {}
        if bad and self.how == "step_tuple":
            return obs, reward, False, info  # the old four-item API
        if bad and self.how == "none_reward":
            reward = None
        if bad and self.how == "array_reward":
            reward = np.array([1.0, 2.0])
        if bad and self.how == "info":
            info = ["not", "a", "dict"]
        return obs, reward, False, self.t % 10 == 0, info


@pytest.mark.parametrize(
    "how,needle",
    [
        ("reset_tuple", "at step 0: reset() returned a value of type int"),
        ("step_tuple", "at step 3: step() returned a tuple of 4 items"),
        ("none_reward", "at step 3: step() returned a reward that is None"),
        ("array_reward", "at step 3: step() returned a reward that is an array of shape (2,)"),
        ("info", "at step 3: step() returned an info that is a value of type list"),
    ],
)
def test_an_env_that_breaks_the_api_is_one_line_naming_it_and_the_step(tmp_path, how, needle):
    agent = rlsuite.make_agent("qlearning", BrokenEnv(how))
    with pytest.raises(RLSuiteError) as info:
        agent.learn(50, run_dir=tmp_path / "run")
    text = one_line(info)
    assert "env 'BrokenEnv' broke the Gymnasium API" in text and needle in text and "Gymnasium expects" in text


def test_vector_envs_are_checked_too(tmp_path):
    agent = rlsuite.make_agent("qlearning", BrokenEnv("none_reward"))
    with pytest.raises(RLSuiteError, match=r"env 'BrokenEnv' broke the Gymnasium API at step 3: .*reward that is None"):
        agent.learn(50, n_envs=2)


class BoxEnv(gym.Env):
    """A float32 Box env returning float64 observations (cast) or the wrong shape (refused)."""

    def __init__(self, shape=(2,), dtype=np.float64):
        self.observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.shape, self.dtype, self.t = shape, dtype, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(self.shape, self.dtype), {}

    def step(self, action):
        self.t += 1
        return np.full(self.shape, 0.5, self.dtype), 1.0, False, self.t >= 5, {}


def test_float64_observations_for_a_float32_box_are_cast_with_one_warning(tmp_path):
    agent = rlsuite.make_agent("dqn", BoxEnv(), learning_starts=20, batch_size=8, net_arch=[8], use_preset=False)
    with pytest.warns(UserWarning, match="returns float64 observations .* casts them to float32") as record:
        result = agent.learn(60, run_dir=tmp_path / "run")
    assert result.summary["steps"] == 60 and agent.buffer.obs.dtype == np.float32
    assert len([w for w in record if "casts them" in str(w.message)]) == 1


def test_an_observation_of_the_wrong_shape_is_one_line(tmp_path):
    agent = rlsuite.make_agent("dqn", BoxEnv(shape=(3,), dtype=np.float32), net_arch=[8], use_preset=False)
    with pytest.raises(
        RLSuiteError,
        match=r"env 'BoxEnv' broke .* at step 0: reset\(\) returned an observation that "
        r"is an array of shape \(3,\)",
    ):
        agent.learn(20, run_dir=tmp_path / "run")


class MaskedEnv(BrokenEnv):
    """Gives an action mask; at step ``bad_step`` it allows no action."""

    def __init__(self, bad_step: int = 4):
        super().__init__("fine", bad_step)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return 0, {"action_mask": np.ones(2, np.int8)}

    def step(self, action):
        obs, reward, terminated, truncated, _ = super().step(action)
        return (
            obs,
            reward,
            terminated,
            truncated,
            {"action_mask": np.array([0, 0] if self.t == self.bad_step else [1, 0], np.int8)},
        )


def test_an_all_zero_action_mask_is_its_own_message(tmp_path):
    agent = rlsuite.make_agent("qlearning", MaskedEnv())
    with pytest.raises(RLSuiteError) as info:
        agent.learn(50, run_dir=tmp_path / "run")
    assert one_line(info).startswith(
        "the env's action mask at step 4 allows no action; every state needs at least one allowed action"
    )


# ----- checkpoints: integrity, links, leftovers ----------------------------------------------------
def test_a_tampered_byte_in_the_weights_is_refused(tmp_path):
    agent = qlearning()
    agent.save(tmp_path / "model")
    meta = json.loads((tmp_path / "model" / "agent.json").read_text())
    assert set(meta["files"]) == {"tensors.safetensors"} and len(meta["files"]["tensors.safetensors"]) == 64
    tensors = tmp_path / "model" / "tensors.safetensors"
    data = bytearray(tensors.read_bytes())
    data[-3] ^= 0x01  # one bit of one weight: still parses
    tensors.write_bytes(bytes(data))
    with pytest.raises(RLSuiteError, match="tensors.safetensors does not match the SHA-256 recorded in agent.json"):
        rlsuite.load(tmp_path / "model")


def test_a_tampered_replay_buffer_is_refused_on_resume(tmp_path):
    def dqn():
        return rlsuite.make_agent("dqn", "CartPole-v1", seed=0, learning_starts=20, net_arch=[8], use_preset=False)

    dqn().learn(40, run_dir=tmp_path / "run", checkpoint_every=40)
    replay = latest_checkpoint(tmp_path / "run") / "replay.npz"
    data = bytearray(replay.read_bytes())
    data[len(data) // 2] ^= 0x01
    replay.write_bytes(bytes(data))
    with pytest.raises(RLSuiteError, match="replay.npz does not match the SHA-256"):
        dqn().learn(60, run_dir=tmp_path / "run", resume=True)


def test_non_finite_weights_and_out_of_range_counters_are_refused(tmp_path):
    agent = qlearning()
    agent.q_table[2, 1] = np.nan
    agent.save(tmp_path / "nan")
    with pytest.raises(RLSuiteError, match="non-finite numbers .* in q_table"):
        rlsuite.load(tmp_path / "nan")
    qlearning().learn(30, run_dir=tmp_path / "run")
    meta_file = latest_checkpoint(tmp_path / "run") / "agent.json"
    good = json.loads(meta_file.read_text())
    for key, value, needle in [
        ("seed", -1, "seed=-1"),
        ("seed", 2**64, "seed=18446744073709551616"),
        ("loop", {**good["loop"], "step": -5}, "loop.step=-5"),
        ("loop", {**good["loop"], "step": 20}, "loop.step=20"),  # not the step the checkpoint is named by (30)
        ("loop", {**good["loop"], "episodes": 1.5}, "loop.episodes=1.5"),
        ("loop", {**good["loop"], "rng_before_reset": [1, 2]}, r"loop.rng_before_reset=\[1, 2\]"),
    ]:
        meta_file.write_text(json.dumps({**good, key: value}))
        with pytest.raises(RLSuiteError, match=f"{needle}, which must be"):
            qlearning().learn(60, run_dir=tmp_path / "run", resume=True)


def test_links_inside_a_run_directory_are_refused(tmp_path):
    run_dir = tmp_path / "run"
    qlearning().learn(30, run_dir=run_dir)
    ckpt = latest_checkpoint(run_dir)
    elsewhere = tmp_path / "elsewhere"
    ckpt.rename(elsewhere)
    ckpt.symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(RLSuiteError, match="is a symbolic link; rlsuite never follows"):
        rlsuite.load(run_dir)
    with pytest.raises(RLSuiteError, match="is a symbolic link"):
        qlearning().learn(60, run_dir=run_dir, resume=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "fresh").mkdir()
    (tmp_path / "fresh" / "config.yaml").symlink_to(victim)
    with pytest.raises(RLSuiteError, match="config.yaml is a symbolic link"):
        qlearning().learn(30, run_dir=tmp_path / "fresh")
    assert victim.read_text() == "keep me"


def test_orphaned_temporary_checkpoints_are_removed_when_a_run_starts(tmp_path):
    run_dir = tmp_path / "run"
    qlearning().learn(30, run_dir=run_dir)
    ckpts = run_dir / "checkpoints"
    orphans = [ckpts / ".step_000000000040.tmp-k2j4x", ckpts / ".step_000000000030.old-4242"]
    for orphan in orphans:
        orphan.mkdir()
        (orphan / "tensors.safetensors").write_bytes(b"half")
    (run_dir / ".summary.json.tmp-4242").write_text("{")
    qlearning().learn(60, run_dir=run_dir, resume=True)
    assert not any(p.exists() for p in orphans) and not (run_dir / ".summary.json.tmp-4242").exists()
    assert all(p.name.startswith("step_") for p in ckpts.iterdir())


# ----- settings out of range ------------------------------------------------------------------------
def test_absurd_torch_threads_are_refused():
    with pytest.raises(RLSuiteError, match="torch_threads=100000 is out of range"):
        qlearning().learn(10, torch_threads=100000)


def test_a_replay_buffer_larger_than_memory_is_refused_before_the_run_directory(tmp_path):
    agent = rlsuite.make_agent("dqn", "CartPole-v1", buffer_size=10**12, use_preset=False)
    with pytest.raises(RLSuiteError) as info:
        agent.learn(100, run_dir=tmp_path / "run")
    text = one_line(info)
    assert "buffer_size=1,000,000,000,000" in text and " GB" in text and "smaller buffer_size" in text
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "name, env, settings, needle",
    [
        ("dqn", "CartPole-v1", {"net_arch": [10**12]}, "dqn's networks for 1 member hold 7,000,000,000,002 parameters"),
        ("ddpg", "Pendulum-v1", {"net_arch": [10**6, 10**4]}, "ddpg's networks for 1 member"),
        ("sac", "Pendulum-v1", {"net_arch": [10**6, 10**4]}, "sac's networks for 1 member"),
        ("dqn", "CartPole-v1", {"seeds": 20_000}, "dqn's networks for 20,000 members"),
    ],
)
def test_networks_that_cannot_fit_are_refused_before_they_are_allocated(monkeypatch, name, env, settings, needle):
    from rlsuite.learning import offpolicy

    monkeypatch.setattr(offpolicy, "available_memory", lambda: 10**9)  # 1 GB left
    rlsuite.make_agent(name, env, seed=0)  # the preset's networks fit
    start = time.perf_counter()
    with pytest.raises(RLSuiteError, match="choose smaller networks") as info:
        rlsuite.make_agent(name, env, **settings)
    assert needle in one_line(info) and "1.0 GB of memory is available" in one_line(info)
    assert time.perf_counter() - start < 20  # sized, not allocated


def test_resume_refuses_another_env_other_hyperparameters_or_n_envs_and_keeps_config_yaml(tmp_path):
    import rlsuite
    from rlsuite.core.errors import RLSuiteError

    run = tmp_path / "run"
    rlsuite.make_agent("qlearning", "rlsuite/RecyclingRobot-v0", seed=0, gamma=0.9).learn(500, run_dir=run)
    original = (run / "config.yaml").read_text()
    with pytest.raises(RLSuiteError, match=r"other hyperparameters: gamma=0.9 \(asked 0.8\)"):
        rlsuite.make_agent("qlearning", "rlsuite/RecyclingRobot-v0", seed=0, gamma=0.8).learn(
            1000, run_dir=run, resume=True
        )
    with pytest.raises(RLSuiteError, match="it trained on 'rlsuite/RecyclingRobot-v0'"):
        rlsuite.make_agent(
            "qlearning", "rlsuite/RecyclingRobot-v0", seed=0, gamma=0.9, env_kwargs={"alpha": 0.5}
        ).learn(1000, run_dir=run, resume=True)
    with pytest.raises(RLSuiteError, match="resume with n_envs=1"):
        rlsuite.make_agent("qlearning", "rlsuite/RecyclingRobot-v0", seed=0, gamma=0.9).learn(
            1000, run_dir=run, resume=True, n_envs=2
        )
    result = rlsuite.make_agent("qlearning", "rlsuite/RecyclingRobot-v0", seed=0, gamma=0.9).learn(
        1000, run_dir=run, resume=True, eval_freq=100
    )
    assert result.summary["steps"] == 1000 and (run / "config.yaml").read_text() == original


@pytest.mark.parametrize(
    "line, message",
    [
        ("seed: abc", "seed: 'abc' must be a whole number"),
        ("hyperparameters: 5", "hyperparameters: 5 must be a mapping"),
        ("agent: [1]", "agent: [1] must be a name"),
    ],
)
def test_config_file_mistakes_are_one_line(tmp_path, capsys, line, message):
    from rlsuite.tools.cli import main

    config = tmp_path / "c.yaml"
    config.write_text(f"env: rlsuite/WalkToT-v0\n{'agent: qlearning' if 'agent' not in line else ''}\n{line}\n")
    assert main(["train", "--config", str(config), "--no-progress", "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_steps_in_a_config_file_may_be_written_1e3_and_bad_env_arguments_are_one_line(tmp_path, capsys):
    from rlsuite.tools.cli import main

    config = tmp_path / "c.yaml"
    config.write_text('env: rlsuite/WalkToT-v0\nagent: qlearning\nsteps: "1e3"\n')
    assert main(["train", "--config", str(config), "--no-progress", "--run-dir", str(tmp_path / "run")]) == 0
    assert (
        main(
            [
                "train",
                "--env",
                "rlsuite/WalkToT-v0",
                "--agent",
                "qlearning",
                "--set",
                "env.render_mode=7",
                "--no-progress",
                "--run-dir",
                str(tmp_path / "other"),
            ]
        )
        == 2
    )
    assert "rejected its arguments {'render_mode': 7}" in capsys.readouterr().err


def test_steps_beyond_what_a_checkpoint_holds_are_one_line_in_python_too():
    for steps, needle in [(-1, "is negative"), (2**64, "is too many")]:
        with pytest.raises(RLSuiteError, match=needle) as info:
            qlearning().learn(steps)
        assert "0 to 2**63 - 1" in one_line(info)


# ----- one member's env raises: that member fails alone --------------------------------------------
class FailingEnv(gym.Env):
    """Four states visited at random; the copy reset with seed ``bad_seed`` raises from step ``bad_step`` on."""

    def __init__(self, bad_seed: int, bad_step: int = 120):
        self.observation_space, self.action_space = gym.spaces.Discrete(4), gym.spaces.Discrete(2)
        self.bad_seed, self.bad_step, self.t, self.seeded = bad_seed, bad_step, 0, None

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.seeded = seed if seed is not None else self.seeded
        return 0, {}

    def step(self, action):
        self.t += 1
        if self.seeded == self.bad_seed and self.t >= self.bad_step:
            raise RuntimeError("sensor unplugged")
        return int(self.np_random.integers(4)), float(action), False, self.t % 10 == 0, {}


def test_an_env_error_of_one_member_fails_that_member_only(tmp_path, capsys):
    from rlsuite.tools.cli import _report_members

    run_dir = tmp_path / "run"
    agent = rlsuite.make_agent("qlearning", FailingEnv(bad_seed=1), seeds=3, learning_rate=0.5, epsilon=0.5)
    before = agent.member(1).state_tensors()
    results = agent.learn(400, run_dir=run_dir, progress=False, log_images=False, eval_episodes=1)
    summaries = [r.summary for r in results]
    assert [s["stop_reason"] for s in summaries] == ["steps", "env error", "steps"]
    assert [s["steps"] for s in summaries] == [400, 119, 400]  # seed 1 stopped before the step it could not take
    error = "env 'FailingEnv' raised RuntimeError in step() at step 120: sensor unplugged"
    assert summaries[1]["error"] == error and "error" not in summaries[0]
    # it learned until then, and nothing after: as seed 1 alone trained for the 119 steps its env could take
    alone = rlsuite.make_agent("qlearning", FailingEnv(bad_seed=-1), seed=1, learning_rate=0.5, epsilon=0.5)
    alone.learn(119, progress=False, log_images=False, eval_episodes=1)
    held = agent.member(1).state_tensors()["q_table"]
    assert not np.array_equal(before["q_table"], held)
    np.testing.assert_array_equal(held, alone.state_tensors()["q_table"])
    total = json.loads((run_dir / "summary.json").read_text())
    assert total["failed"] == {"1": error} and total["eval_returns"]["1"] == summaries[1]["eval_mean_return"]
    assert total["eval_mean_return"] == np.mean([summaries[0]["eval_mean_return"], summaries[2]["eval_mean_return"]])
    assert _report_members(results, run_dir) == 2
    assert f"error: seed 1 failed alone: {error}; the other members went on" in capsys.readouterr().err
    # its newest checkpoint is its last good state: the run resumes from a step common to all once the env is mended
    assert max(int(c.name.split("_")[1]) for c in (run_dir / "seed_1" / "checkpoints").iterdir()) < 120
    with pytest.raises(RuntimeError, match="sensor unplugged"):  # one member alone: the error is the run's
        rlsuite.make_agent("qlearning", FailingEnv(bad_seed=0)).learn(400, progress=False)


def test_an_evaluation_env_error_of_one_member_fails_that_member_only():
    from rlsuite.driver.settings import EVAL_SEED_OFFSET

    # seed 2's evaluation env raises at its first evaluation (step 100): seed 2 fails there, the others go on
    env = FailingEnv(bad_seed=2 + EVAL_SEED_OFFSET, bad_step=5)
    results = rlsuite.make_agent("qlearning", env, seeds=3).learn(400, progress=False, eval_freq=100, eval_episodes=1)
    assert [(r.summary["steps"], r.summary["stop_reason"]) for r in results] == [
        (400, "steps"),
        (400, "steps"),
        (100, "env error"),
    ]
    assert "raised RuntimeError in step() at step 5: sensor unplugged" in results[2].summary["error"]
