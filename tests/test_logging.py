import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tests.conftest import ConstantRewardEnv

import rlsuite


def scalars(run_dir: Path) -> dict[str, list]:
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: acc.Scalars(tag) for tag in acc.Tags()["scalars"]}


def test_event_files_hold_the_standard_tags(tmp_path):
    agent = rlsuite.make_agent("qlearning", "rlsuite/RecyclingRobot-v0", seed=0, gamma=0.9)
    agent.learn(5000, run_dir=tmp_path / "run", log_interval=500, eval_freq=1000)
    tags = scalars(tmp_path / "run")
    for tag in [
        "charts/episodic_return",
        "charts/episodic_length",
        "charts/SPS",
        "charts/epsilon",
        "eval/mean_return",
        "tabular/q_error",
    ]:
        assert tag in tags, tag
    assert [e.step for e in tags["charts/SPS"]] == list(range(500, 5001, 500))
    assert [e.step for e in tags["eval/mean_return"]] == list(range(1000, 5001, 1000))
    errors = [e.value for e in tags["tabular/q_error"]]
    assert errors[-1] < errors[0]  # learning shows in the curve
    returns = [e.value for e in tags["charts/episodic_return"]]
    assert all(r > 0 for r in returns)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert {"env", "agent", "seed", "steps", "wall_s", "sps", "eval_mean_return", "eval_std_return"} <= set(summary)
    assert summary["steps"] == 5000


def test_env_metrics_are_logged_under_env(tmp_path):
    agent = rlsuite.make_agent("qlearning", ConstantRewardEnv(episode_steps=4), seed=0)
    agent.learn(400, run_dir=tmp_path / "run", log_interval=100)
    tags = scalars(tmp_path / "run")
    assert [e.value for e in tags["env/steps_seen"]] == [4.0] * 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tensorboard_server_serves_the_run(tmp_path):
    agent = rlsuite.make_agent("qlearning", "rlsuite/WalkToT-v0", seed=0)
    agent.learn(2000, run_dir=tmp_path / "runs" / "walk", log_interval=500)
    port = _free_port()
    tensorboard = Path(sys.executable).with_name("tensorboard")
    proc = subprocess.Popen(
        [str(tensorboard), "--logdir", str(tmp_path / "runs"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )
    url = f"http://127.0.0.1:{port}/data/plugin/scalars/scalars?run=walk&tag=charts%2FSPS"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    series = json.loads(response.read())
                break
            except Exception:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("tensorboard did not serve the run's scalars")
                time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert [point[1] for point in series] == [500, 1000, 1500, 2000]
    assert all(point[2] > 0 for point in series)
