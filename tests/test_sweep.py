import argparse
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import gymnasium as gym
import pytest
import yaml

from rlsuite.core.errors import RLSuiteError
from rlsuite.tools.report import iqm_ci
from rlsuite.tools.sweep import add_parser, parse_grid, run, sweep

WALK = "rlsuite/WalkToT-v0"
TINY = {"eval_episodes": 2, "log_interval": 100}  # loop settings that keep a trial well under a second


class DyingEnv(gym.Env):
    """A one-state env whose worker dies (SIGKILL, as by the OOM killer) on reset when ``die``."""

    def __init__(self, die: bool = False):
        self.observation_space = gym.spaces.Discrete(1)
        self.action_space = gym.spaces.Discrete(2)
        self.die = die

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if self.die:
            os.kill(os.getpid(), signal.SIGKILL)
        return 0, {}

    def step(self, action):
        return 0, 1.0, True, False, {}


class FailsForOneSeed(gym.Env):
    """A one-state env that raises at its third step in the env first reset with the seed ``bad``."""

    def __init__(self, bad: int = -1):
        self.observation_space = gym.spaces.Discrete(1)
        self.action_space = gym.spaces.Discrete(2)
        self.bad, self.first_seed, self.steps = bad, None, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.first_seed = seed if self.first_seed is None else self.first_seed
        return 0, {}

    def step(self, action):
        self.steps += 1
        if self.first_seed == self.bad and self.steps > 2:
            raise RuntimeError(f"the env of seed {self.bad} broke")
        return 0, 1.0, self.steps % 5 == 0, False, {}


HANGING_ENV = '''
import time

import gymnasium as gym


class HangingEnv(gym.Env):
    """A one-state env whose step hangs (sleeps for an hour) from the fourth step on when ``hang``."""

    def __init__(self, hang: bool = False):
        self.observation_space = gym.spaces.Discrete(1)
        self.action_space = gym.spaces.Discrete(2)
        self.hang, self.steps = hang, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        self.steps += 1
        if self.hang and self.steps > 3:
            time.sleep(3600)
        return 0, 1.0, self.steps % 5 == 0, False, {}
'''
exec(HANGING_ENV)  # HangingEnv here too, for in-process sweeps (their workers import this module)


def summaries(out: Path) -> dict[str, dict]:
    return {str(p.parent.relative_to(out)): json.loads(p.read_text()) for p in out.glob("*/seed_*/summary.json")}


def test_grid_of_two_by_two_by_two_seeds_gives_eight_runs_and_the_table(tmp_path):
    out = tmp_path / "sweep"
    result = sweep(
        WALK,
        "qlearning",
        steps=300,
        seeds=2,
        grid={"learning_rate": [0.1, 0.5], "gamma": [0.8, 0.9]},
        loop=TINY,
        out=out,
        workers=2,
    )
    runs = summaries(out)
    assert len(runs) == 8 and len(result.ran) == 8 and not result.failed
    for run_dir in runs:  # ordinary run directories: TensorBoard events, config, checkpoints
        assert list((out / run_dir).glob("events.out.tfevents.*")) and (out / run_dir / "config.yaml").exists()
        assert list((out / run_dir / "checkpoints").glob("step_*"))
    assert "learning_rate=0.5,gamma=0.9/seed_1" in runs
    assert [r["config"] for r in result.rows] == [
        "learning_rate=0.1,gamma=0.8",
        "learning_rate=0.1,gamma=0.9",
        "learning_rate=0.5,gamma=0.8",
        "learning_rate=0.5,gamma=0.9",
    ]
    for row in result.rows:
        returns = [runs[f"{row['config']}/seed_{s}"]["eval_mean_return"] for s in (0, 1)]
        sps = [runs[f"{row['config']}/seed_{s}"]["sps"] for s in (0, 1)]
        assert row["seeds_done"] == 2 and row["seeds_failed"] == 0 and row["errors"] is None
        assert row["mean_return"] == pytest.approx(sum(returns) / 2)
        assert (row["iqm_return"], row["ci_low"], row["ci_high"]) == pytest.approx(iqm_ci(returns))
        assert row["sps"] == pytest.approx(sum(sps) / 2)
    config = yaml.safe_load((out / "learning_rate=0.5,gamma=0.9/seed_1/config.yaml").read_text())
    assert config["seed"] == 1 and config["hyperparameters"]["learning_rate"] == 0.5
    assert config["hyperparameters"]["gamma"] == 0.9 and config["loop"]["eval_episodes"] == 2

    table = (out / "sweep.md").read_text()
    assert table.count("| learning_rate=") == 4 and "2/2" in table and "IQM [95% CI]" in table
    csv_lines = (out / "sweep.csv").read_text().splitlines()
    assert len(csv_lines) == 5 and csv_lines[0].startswith("config,learning_rate,gamma,seeds_done")
    assert (out / "curves.png").stat().st_size > 1000
    state = json.loads((out / "sweep.json").read_text())
    assert state["spec"]["seeds"] == [0, 1] and {t["status"] for t in state["trials"]} == {"done"}


def test_a_failing_and_a_killed_trial_are_reported_and_the_others_finish(tmp_path):
    out = tmp_path / "fails"
    # a hyperparameter out of range is refused up front; an env argument the env rejects fails its trial
    result = sweep(WALK, "qlearning", steps=200, seeds=1, grid={"env.n_cells": [4, 0, 5]}, loop=TINY, out=out)
    rows = {r["config"]: r for r in result.rows}
    assert rows["env.n_cells=4"]["seeds_done"] == 1 and rows["env.n_cells=5"]["seeds_done"] == 1
    bad = rows["env.n_cells=0"]
    assert bad["seeds_done"] == 0 and bad["seeds_failed"] == 1 and math.isnan(bad["mean_return"])
    assert "RLSuiteError" in bad["errors"] and "too small" in bad["errors"]
    table = (out / "sweep.md").read_text()
    assert "env.n_cells=0/seed_0`: failed" in table and "too small" in table

    out = tmp_path / "killed"
    result = sweep(
        f"{__name__}:DyingEnv",
        "qlearning",
        steps=50,
        seeds=1,
        grid={"env.die": [False, True]},
        loop=TINY,
        out=out,
        workers=2,
    )
    rows = {r["config"]: r for r in result.rows}
    assert rows["env.die=False"]["seeds_done"] == 1
    assert rows["env.die=True"]["seeds_failed"] == 1 and "killed by SIGKILL" in rows["env.die=True"]["errors"]


def test_one_failing_member_of_a_stacked_configuration_fails_that_member_only(tmp_path):
    out = tmp_path / "sweep"
    env = f"{__name__}:FailsForOneSeed"
    result = sweep(env, "qlearning", steps=100, seeds=3, grid={"env.bad": [1]}, loop=TINY, out=out)
    (row,) = result.rows
    assert row["seeds_done"] == 2 and row["seeds_failed"] == 1 and "the env of seed 1 broke" in row["errors"]
    runs = summaries(out)  # seed 1's summary says where and why it stopped; the others ran all their steps
    assert sorted(runs) == ["env.bad=1/seed_0", "env.bad=1/seed_1", "env.bad=1/seed_2"]
    assert runs["env.bad=1/seed_1"]["stop_reason"] == "env error" and runs["env.bad=1/seed_1"]["steps"] == 2
    assert runs["env.bad=1/seed_0"]["steps"] == runs["env.bad=1/seed_2"]["steps"] == 100


def test_resume_reruns_only_the_unfinished_trials(tmp_path):
    out = tmp_path / "resume"
    sweep(WALK, "qlearning", steps=200, seeds=3, loop=TINY, out=out, workers=2)
    (out / "default/seed_1/summary.json").unlink()  # as if the trial had been killed mid-run
    before = {p: p.stat().st_mtime_ns for p in out.glob("default/seed_*/summary.json")}
    result = sweep(out=out, resume=True, workers=2)
    assert result.ran == ["default/seed_1"] and not result.failed
    assert {p: p.stat().st_mtime_ns for p in before} == before
    assert (out / "default/seed_1/summary.json").exists() and result.rows[0]["seeds_done"] == 3
    assert sweep(out=out, resume=True).ran == []


def test_optuna_search_on_the_local_backend(tmp_path):
    out = tmp_path / "optuna"
    result = sweep(
        WALK,
        "qlearning",
        steps=200,
        seeds=2,
        search="optuna",
        trials=3,
        loop=TINY,
        out=out,
        grid={"learning_rate": "log:0.01:0.5", "gamma": [0.8, 0.9], "epsilon": "float:0.05:0.3"},
    )
    assert len(result.rows) == 3 and len(summaries(out)) == 6 and not result.failed
    for row in result.rows:
        assert row["config"].startswith("trial_") and 0.01 <= row["learning_rate"] <= 0.5
        assert row["gamma"] in (0.8, 0.9) and row["seeds_done"] == 2
        assert json.loads((out / row["config"] / "summary.json").read_text())["members"] == 2  # its seeds stacked
    assert result.best is not None and "Optuna search, 3 trials" in (out / "sweep.md").read_text()
    assert isinstance(result.best["learning_rate"], float) and isinstance(result.best["gamma"], float)


def _ray_processes() -> set[int]:
    found = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if any(
                name in cmdline
                for name in (
                    b"raylet",
                    b"gcs_server",
                    b"ray::",
                    b"ray/dashboard",
                    b"default_worker.py",
                    b"log_monitor.py",
                )
            ):
                found.add(int(proc.name))
    return found


def test_ray_backend_runs_the_same_sweep_and_leaves_no_ray_behind(tmp_path):
    ray = pytest.importorskip("ray")
    before = _ray_processes()
    out = tmp_path / "ray"
    result = sweep(
        WALK,
        "qlearning",
        steps=300,
        seeds=2,
        grid={"learning_rate": [0.1, 0.5], "gamma": [0.8, 0.9]},
        loop=TINY,
        out=out,
        backend="ray",
        workers=2,
    )
    runs = summaries(out)
    assert len(runs) == 8 and not result.failed and len(result.rows) == 4
    for row in result.rows:
        returns = [runs[f"{row['config']}/seed_{s}"]["eval_mean_return"] for s in (0, 1)]
        assert row["seeds_done"] == 2 and row["mean_return"] == pytest.approx(sum(returns) / 2)
    assert not ray.is_initialized()
    assert not (Path.home() / "ray_results").exists() or not any(
        p.stat().st_mtime > time.time() - 600 for p in (Path.home() / "ray_results").iterdir()
    )
    deadline = time.monotonic() + 30
    while _ray_processes() - before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _ray_processes() - before


def test_optuna_search_on_ray_uses_a_running_ray_and_leaves_it_running(tmp_path):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        out = tmp_path / "ray-optuna"
        result = sweep(
            WALK,
            "qlearning",
            steps=200,
            seeds=2,
            search="optuna",
            trials=2,
            loop=TINY,
            out=out,
            grid={"learning_rate": "log:0.01:0.5", "gamma": [0.8, 0.9]},
            backend="ray",
            workers=2,
        )
        assert ray.is_initialized()  # the sweep did not start it, so it does not shut it down
        assert len(result.rows) == 2 and len(summaries(out)) == 4 and not result.failed
        assert all(r["config"].startswith("trial_") and r["seeds_done"] == 2 for r in result.rows)
    finally:
        ray.shutdown()


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="rlsuite")
    add_parser(parser.add_subparsers(dest="command"))
    return run(parser.parse_args(["sweep", *argv]))


def test_cli_sweep_with_set_and_grid(tmp_path, capsys):
    out = tmp_path / "cli"
    status = cli(
        "--env",
        WALK,
        "--agent",
        "qlearning",
        "--steps",
        "200",
        "--seed-list",
        "3",
        "5",
        "--grid",
        "learning_rate=0.1,0.5",
        "--set",
        "gamma=0.8",
        "--set",
        "eval_episodes=2",
        "--set",
        "env.n_cells=4",
        "--out",
        str(out),
        "--workers",
        "2",
    )
    assert status == 0 and "| learning_rate=0.5 |" in capsys.readouterr().out
    assert sorted(summaries(out)) == [
        "learning_rate=0.1/seed_3",
        "learning_rate=0.1/seed_5",
        "learning_rate=0.5/seed_3",
        "learning_rate=0.5/seed_5",
    ]
    spec = json.loads((out / "sweep.json").read_text())["spec"]
    assert spec["hyperparameters"] == {"gamma": 0.8} and spec["env_kwargs"] == {"n_cells": 4}
    assert spec["loop"] == {"eval_episodes": 2}


def test_grid_values_keep_lists_together():
    assert parse_grid(["net_arch=[64,64],[256,256]", "gamma=0.9,0.99", "learning_rate=log:1e-4:1e-2"]) == {
        "net_arch": [[64, 64], [256, 256]],
        "gamma": [0.9, 0.99],
        "learning_rate": "log:1e-4:1e-2",
    }


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["--seeds", "0"], "--seeds 0 is less than 1"),
        (["--grid", "learning_rate"], "is not key=v1,v2"),
        (["--grid", "learnin_rate=0.1,0.2"], "did you mean 'learning_rate'"),
        (["--grid", "learning_rate=log:1e-4:1e-2"], "needs --search optuna"),
        (["--grid", "learning_rate=log:0:1", "--search", "optuna"], "is not valid"),
        (["--set", "gama=0.9"], "did you mean 'gamma'"),
        (["--workers", "0"], "--workers 0 is less than 1"),
        (["--address", "auto"], "add --backend ray"),
        (["--grid", "gamma=0.9,2,3"], "grid value gamma=2.0 would fail its trials"),  # up front, not every trial
        (["--grid", "eval_episodes=2,-1"], "grid value eval_episodes=-1 would fail its trials"),
    ],
)
def test_bad_input_is_one_sentence(argv, needle):
    with pytest.raises(RLSuiteError) as info:
        cli("--env", WALK, "--agent", "qlearning", "--steps", "10", *argv)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_resume_of_something_that_is_not_a_sweep():
    with pytest.raises(RLSuiteError, match="no readable sweep.json"):
        cli("--resume", "no/such/sweep")


def test_ray_missing_is_one_line(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(RLSuiteError, match=r"pip install 'rlsuite\[ray\]'"):
        sweep(WALK, "qlearning", steps=10, seeds=1, backend="ray", out="x")


def test_the_best_configuration_keeps_its_types_after_a_resume_too(tmp_path, capsys):
    out = tmp_path / "types"
    grid = parse_grid(["learning_rate=1e-1,5e-1", "gamma=1", "eval_episodes=2", "save_replay=true"])
    result = sweep(WALK, "qlearning", steps=200, seeds=1, grid=grid, loop={"log_interval": 100}, out=out, workers=2)
    assert "learning_rate=0.5,gamma=1,eval_episodes=2,save_replay=True/seed_0: done" in capsys.readouterr().err
    (out / result.trials[0].key / "summary.json").unlink()  # the resume reruns one trial
    resumed = sweep(out=out, resume=True, progress=False)
    assert resumed.ran == [result.trials[0].key] and capsys.readouterr().err == ""
    for best in (result.best, resumed.best):
        assert isinstance(best["learning_rate"], float) and best["learning_rate"] in (0.1, 0.5)
        assert isinstance(best["gamma"], float) and best["gamma"] == 1.0  # a float hyperparameter given as 1
        assert type(best["eval_episodes"]) is int and best["save_replay"] is True
    assert "| 0.1 | 1 | 2 | True |" in (out / "sweep.md").read_text()


def test_a_hanging_trial_times_out_and_the_others_finish(tmp_path, capsys):
    out = tmp_path / "timeout"
    t0 = time.monotonic()
    status = cli(
        "--env",
        f"{__name__}:HangingEnv",
        "--agent",
        "qlearning",
        "--steps",
        "50",
        "--seeds",
        "1",
        "--grid",
        "env.hang=false,true",
        "--set",
        "eval_episodes=2",
        "--trial-timeout",
        "3",
        "--out",
        str(out),
        "--workers",
        "2",
    )
    assert status == 1 and 3 <= time.monotonic() - t0 < 30
    trials = {t["key"]: t for t in json.loads((out / "sweep.json").read_text())["trials"]}
    assert trials["env.hang=False/seed_0"]["status"] == "done"
    hung = trials["env.hang=True/seed_0"]
    assert hung["status"] == "failed" and "timed out after 3 s" in hung["error"] and 3 <= hung["wall_s"] < 10
    table = (out / "sweep.md").read_text()
    assert "timed out after 3 s" in table and "SIGTERM" not in table and "SIGKILL" not in table
    assert "env.hang=True/seed_0: failed (TimedOut: the trial timed out after 3 s" in capsys.readouterr().err


@pytest.mark.parametrize("bad", [0, -1, "3", True])
def test_a_trial_timeout_is_a_positive_number(bad):
    with pytest.raises(RLSuiteError, match="is not a positive number of seconds"):
        sweep(WALK, "qlearning", steps=10, seeds=1, trial_timeout=bad, out="x")


def test_ctrl_c_ends_a_sweep_with_a_hanging_trial_within_seconds(tmp_path):
    (tmp_path / "hanging_env.py").write_text(HANGING_ENV)
    out = tmp_path / "ctrl-c"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    cmd = [
        sys.executable,
        "-m",
        "rlsuite",
        "sweep",
        "--env",
        "hanging_env:HangingEnv",
        "--agent",
        "qlearning",
        "--steps",
        "50",
        "--seeds",
        "1",
        "--grid",
        "env.hang=false,true",
        "--set",
        "eval_episodes=2",
        "--out",
        str(out),
        "--workers",
        "2",
    ]
    # a session of its own: SIGINT to its process group reaches the sweep and its workers, as Ctrl-C in a terminal
    stdout_file = tmp_path / "stdout.txt"
    with stdout_file.open("w") as stdout:
        proc = subprocess.Popen(cmd, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True, start_new_session=True)
    lines, finished = [], threading.Event()

    def read_stderr():
        for line in proc.stderr:
            lines.append(line)
            if "env.hang=False/seed_0: done" in line:
                finished.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        assert finished.wait(120), "".join(lines)
        time.sleep(0.5)  # the hanging trial started with the other one and hangs by now
        t0 = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    reader.join(5)
    assert proc.returncode == 130 and elapsed < 10, "".join(lines)
    stdout = stdout_file.read_text()
    state = json.loads((out / "sweep.json").read_text())
    trials = {t["key"]: t for t in state["trials"]}
    assert state["interrupted"] and trials["env.hang=False/seed_0"]["status"] == "done"
    hung = trials["env.hang=True/seed_0"]
    assert hung["status"] == "interrupted" and "Ctrl-C" in hung["error"]
    assert "SIGTERM" not in stdout and "out of memory" not in stdout and "The sweep was interrupted." in stdout
    assert "env.hang=True/seed_0: interrupted" in "".join(lines)


def test_the_trial_timeout_on_the_ray_backend(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    (tmp_path / "hanging_env.py").write_text(HANGING_ENV)
    monkeypatch.syspath_prepend(str(tmp_path))
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(tmp_path)}},
    )  # the Ray workers import hanging_env too
    try:
        result = sweep(
            "hanging_env:HangingEnv",
            "qlearning",
            steps=50,
            seeds=1,
            grid={"env.hang": [False, True]},
            loop=TINY,
            out=tmp_path / "ray-timeout",
            backend="ray",
            workers=2,
            trial_timeout=3,
        )
    finally:
        ray.shutdown()
    rows = {r["config"]: r for r in result.rows}
    assert rows["env.hang=False"]["seeds_done"] == 1 and "timed out after 3 s" in rows["env.hang=True"]["errors"]
