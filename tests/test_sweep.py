import argparse
import json
import math
import os
import signal
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


def summaries(out: Path) -> dict[str, dict]:
    return {str(p.parent.relative_to(out)): json.loads(p.read_text()) for p in out.glob("*/seed_*/summary.json")}


def test_grid_of_two_by_two_by_two_seeds_gives_eight_runs_and_the_table(tmp_path):
    out = tmp_path / "sweep"
    result = sweep(WALK, "qlearning", steps=300, seeds=2, grid={"learning_rate": [0.1, 0.5], "gamma": [0.8, 0.9]},
                   loop=TINY, out=out, workers=2)
    runs = summaries(out)
    assert len(runs) == 8 and len(result.ran) == 8 and not result.failed
    for run_dir in runs:  # ordinary run directories: TensorBoard events, config, checkpoints
        assert list((out / run_dir).glob("events.out.tfevents.*")) and (out / run_dir / "config.yaml").exists()
        assert list((out / run_dir / "checkpoints").glob("step_*"))
    assert "learning_rate=0.5,gamma=0.9/seed_1" in runs
    assert [r["config"] for r in result.rows] == ["learning_rate=0.1,gamma=0.8", "learning_rate=0.1,gamma=0.9",
                                                  "learning_rate=0.5,gamma=0.8", "learning_rate=0.5,gamma=0.9"]
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
    result = sweep(WALK, "qlearning", steps=200, seeds=1, grid={"learning_rate": [0.1, 2.0, 0.3]}, loop=TINY, out=out)
    rows = {r["config"]: r for r in result.rows}
    assert rows["learning_rate=0.1"]["seeds_done"] == 1 and rows["learning_rate=0.3"]["seeds_done"] == 1
    bad = rows["learning_rate=2"]
    assert bad["seeds_done"] == 0 and bad["seeds_failed"] == 1 and math.isnan(bad["mean_return"])
    assert "RLSuiteError" in bad["errors"] and "out of range" in bad["errors"]
    table = (out / "sweep.md").read_text()
    assert "learning_rate=2/seed_0`: failed" in table and "out of range" in table

    out = tmp_path / "killed"
    result = sweep(f"{__name__}:DyingEnv", "qlearning", steps=50, seeds=1, grid={"env.die": [False, True]},
                   loop=TINY, out=out, workers=2)
    rows = {r["config"]: r for r in result.rows}
    assert rows["env.die=False"]["seeds_done"] == 1
    assert rows["env.die=True"]["seeds_failed"] == 1 and "killed by SIGKILL" in rows["env.die=True"]["errors"]


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
    result = sweep(WALK, "qlearning", steps=200, seeds=2, search="optuna", trials=3, loop=TINY, out=out,
                   grid={"learning_rate": "log:0.01:0.5", "gamma": [0.8, 0.9], "epsilon": "float:0.05:0.3"})
    assert len(result.rows) == 3 and len(summaries(out)) == 6 and not result.failed
    for row in result.rows:
        assert row["config"].startswith("trial_") and 0.01 <= float(row["learning_rate"]) <= 0.5
        assert row["gamma"] in ("0.8", "0.9") and row["seeds_done"] == 2
    assert result.best is not None and "Optuna search, 3 trials" in (out / "sweep.md").read_text()


def _ray_processes() -> set[int]:
    found = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if any(name in cmdline for name in (b"raylet", b"gcs_server", b"ray::", b"ray/dashboard",
                                                b"default_worker.py", b"log_monitor.py")):
                found.add(int(proc.name))
    return found


def test_ray_backend_runs_the_same_sweep_and_leaves_no_ray_behind(tmp_path):
    ray = pytest.importorskip("ray")
    before = _ray_processes()
    out = tmp_path / "ray"
    result = sweep(WALK, "qlearning", steps=300, seeds=2, grid={"learning_rate": [0.1, 0.5], "gamma": [0.8, 0.9]},
                   loop=TINY, out=out, backend="ray", workers=2)
    runs = summaries(out)
    assert len(runs) == 8 and not result.failed and len(result.rows) == 4
    for row in result.rows:
        returns = [runs[f"{row['config']}/seed_{s}"]["eval_mean_return"] for s in (0, 1)]
        assert row["seeds_done"] == 2 and row["mean_return"] == pytest.approx(sum(returns) / 2)
    assert not ray.is_initialized()
    assert not (Path.home() / "ray_results").exists() or not any(
        p.stat().st_mtime > time.time() - 600 for p in (Path.home() / "ray_results").iterdir())
    deadline = time.monotonic() + 30
    while _ray_processes() - before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _ray_processes() - before


def test_optuna_search_on_ray_uses_a_running_ray_and_leaves_it_running(tmp_path):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        out = tmp_path / "ray-optuna"
        result = sweep(WALK, "qlearning", steps=200, seeds=2, search="optuna", trials=2, loop=TINY, out=out,
                       grid={"learning_rate": "log:0.01:0.5", "gamma": [0.8, 0.9]}, backend="ray", workers=2)
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
    status = cli("--env", WALK, "--agent", "qlearning", "--steps", "200", "--seed-list", "3", "5",
                 "--grid", "learning_rate=0.1,0.5", "--set", "gamma=0.8", "--set", "eval_episodes=2",
                 "--set", "env.n_cells=4", "--out", str(out), "--workers", "2")
    assert status == 0 and "| learning_rate=0.5 |" in capsys.readouterr().out
    assert sorted(summaries(out)) == ["learning_rate=0.1/seed_3", "learning_rate=0.1/seed_5",
                                      "learning_rate=0.5/seed_3", "learning_rate=0.5/seed_5"]
    spec = json.loads((out / "sweep.json").read_text())["spec"]
    assert spec["hyperparameters"] == {"gamma": 0.8} and spec["env_kwargs"] == {"n_cells": 4}
    assert spec["loop"] == {"eval_episodes": 2}


def test_grid_values_keep_lists_together():
    assert parse_grid(["net_arch=[64,64],[256,256]", "gamma=0.9,0.99", "learning_rate=log:1e-4:1e-2"]) == {
        "net_arch": [[64, 64], [256, 256]], "gamma": [0.9, 0.99], "learning_rate": "log:1e-4:1e-2"}


@pytest.mark.parametrize("argv,needle", [
    (["--seeds", "0"], "--seeds 0 is less than 1"),
    (["--grid", "learning_rate"], "is not key=v1,v2"),
    (["--grid", "learnin_rate=0.1,0.2"], "did you mean 'learning_rate'"),
    (["--grid", "learning_rate=log:1e-4:1e-2"], "needs --search optuna"),
    (["--grid", "learning_rate=log:0:1", "--search", "optuna"], "is not valid"),
    (["--set", "gama=0.9"], "did you mean 'gamma'"),
    (["--workers", "0"], "--workers 0 is less than 1"),
    (["--address", "auto"], "add --backend ray"),
])
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
