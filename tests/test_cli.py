import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

CLI = [sys.executable, "-m", "rlsuite"]


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_list_names_envs_agents_and_spaces():
    out = run("list").stdout
    assert "rlsuite/WalkToT-v0" in out and "rlsuite/RecyclingRobot-v0" in out
    assert "qlearning" in out and "Discrete" in out


def test_solve_prints_names():
    out = run("solve", "--env", "rlsuite/RecyclingRobot-v0", "--gamma", "0.9").stdout
    assert "high" in out and "low" in out and "recharge" in out and "16.9492" in out


def test_train_eval_and_rerun_from_config(tmp_path):
    run_dir = tmp_path / "walk"
    proc = run(
        "train",
        "--env",
        "rlsuite/WalkToT-v0",
        "--agent",
        "qlearning",
        "--steps",
        "1500",
        "--seed",
        "3",
        "--run-dir",
        str(run_dir),
        "--set",
        "gamma=0.8",
        "--set",
        "env.n_cells=5",
        "--set",
        "log_interval=500",
    )
    assert "done: 1500 steps" in proc.stdout
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["hyperparameters"]["gamma"] == 0.8 and config["env_kwargs"] == {"n_cells": 5}
    assert config["loop"]["log_interval"] == 500
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["steps"] == 1500 and summary["eval_mean_return"] == 1.0
    assert list((run_dir / "checkpoints").glob("step_*"))

    ev = json.loads(run("eval", str(run_dir), "--episodes", "3", "--json").stdout)
    assert ev["mean_return"] == 1.0 and ev["episodes"] == 3

    rerun = tmp_path / "rerun"
    run("train", "--config", str(run_dir / "config.yaml"), "--run-dir", str(rerun), "--no-progress")
    assert yaml.safe_load((rerun / "config.yaml").read_text()) == config
    first = json.loads((run_dir / "summary.json").read_text())
    second = json.loads((rerun / "summary.json").read_text())
    assert first["eval_mean_return"] == second["eval_mean_return"] and first["episodes"] == second["episodes"]


def test_default_run_dir_is_under_runs(tmp_path):
    run("train", "--env", "rlsuite/WalkToT-v0", "--agent", "qlearning", "--steps", "200", "--no-progress")
    (made,) = Path("runs").iterdir()
    assert made.name.startswith("WalkToT-v0-qlearning-s0-") and (made / "summary.json").exists()


@pytest.mark.parametrize(
    "args,needle",
    [
        (["train", "--env", "CartPol-v1", "--agent", "qlearning"], "did you mean 'CartPole-v1'"),
        (["train", "--env", "rlsuite/WalkToT-v0", "--agent", "qlearnin"], "unknown agent 'qlearnin'"),
        (["train", "--env", "rlsuite/WalkToT-v0", "--agent", "qlearning", "--set", "gama=0.9"], "did you mean 'gamma'"),
        (["train", "--env", "rlsuite/WalkToT-v0", "--agent", "qlearning", "--set", "gamma=2"], "out of range"),
        (["train", "--env", "rlsuite/WalkToT-v0", "--agent", "qlearning", "--steps", "-5"], "negative"),
        (["train", "--env", "CartPole-v1", "--agent", "qlearning"], "Discrete observations"),
        (["train", "--env", "no_such_module:Env", "--agent", "qlearning"], "does not import"),
        (["train", "--config", "broken.yaml"], "does not parse"),
        (["eval", "no/such/run"], "does not exist"),
        (["train", "--resume", "no/such/run"], "no such run directory"),
        (["eval", "corrupt"], "corrupt or truncated"),
        (
            ["train", "--env", "CartPole-v1", "--agent", "dqn", "--set", "batch_size=64", "--set", "buffer_size=8"],
            "larger than buffer_size",
        ),
        (["solve", "--env", "CartPole-v1"], "finite MDP"),
    ],
)
def test_bad_input_is_one_line_with_exit_code_2(args, needle):
    Path("broken.yaml").write_text("env: [unclosed\n")
    if "corrupt" in args:
        run("train", "--env", "rlsuite/WalkToT-v0", "--agent", "qlearning", "--steps", "50", "--run-dir", "corrupt")
        for tensors in Path("corrupt").glob("checkpoints/*/tensors.safetensors"):
            tensors.write_bytes(b"\x00" * 5)
    proc = run(*args, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr


def test_ctrl_c_stops_cleanly_with_a_checkpoint(tmp_path):
    run_dir = tmp_path / "long"
    proc = subprocess.Popen(
        [
            *CLI,
            "train",
            "--env",
            "rlsuite/RecyclingRobot-v0",
            "--agent",
            "qlearning",
            "--steps",
            "100000000",
            "--run-dir",
            str(run_dir),
            "--no-progress",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (run_dir / "config.yaml").exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["interrupted"] is True and 0 < summary["steps"] < 100000000
    (ckpt,) = (run_dir / "checkpoints").glob("step_*")
    assert int(ckpt.name.split("_")[1]) == summary["steps"]
    assert list(run_dir.glob("events.out.tfevents.*"))


def test_debug_shows_the_traceback():
    proc = run("--debug", "train", "--env", "CartPol-v1", "--agent", "qlearning", check=False)
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "RLSuiteError" in proc.stderr
