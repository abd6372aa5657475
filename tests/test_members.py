"""Seeds as an axis, tabular and run layout: K members in one run are K independent runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import rlsuite
from rlsuite.core.streams import Streams
from rlsuite.driver.members import evaluate_members

WALK = dict(learning_rate=0.1, gamma=0.8, epsilon=0.1)
CLIFF = dict(learning_rate=0.5, gamma=1.0, epsilon=0.1, use_preset=False)
QUICK = dict(eval_episodes=1, eval_max_steps=100, progress=False)  # an untrained greedy policy may never reach G


def test_streams_do_not_depend_on_their_neighbours():
    alone, beside = Streams([3]), Streams([7, 3])
    assert np.array_equal(alone.random((1, 5))[0], beside.random((2, 5))[1])
    assert np.array_equal(alone.random((4, 3)), beside.random((8, 3))[4:])
    z = Streams([0]).normal((1, 200_000))
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01


@pytest.mark.parametrize("name", ["qlearning", "sarsa", "expected_sarsa", "double_qlearning"])
def test_a_member_is_the_run_of_its_seed_alone(name):
    """Seed 7 beside 3 and 5, beside 11, and alone: the same table, exactly."""
    runs = []
    for seeds in ([3, 7, 5], [11, 7]):
        agent = rlsuite.make_agent(name, "CliffWalking-v1", seeds=seeds, **CLIFF)
        agent.learn(3000, **QUICK)
        runs.append(agent.q_table[seeds.index(7)])
    single = rlsuite.make_agent(name, "CliffWalking-v1", seed=7, **CLIFF)
    single.learn(3000, **QUICK)
    assert np.array_equal(runs[0], runs[1]) and np.array_equal(runs[0], single.q_table)
    assert not np.array_equal(runs[0], agent.q_table[0])  # seed 11 learned something else


def test_three_members_learn_the_corridor_and_the_robot():
    walk = rlsuite.make_agent("qlearning", "rlsuite/WalkToT-v0", seeds=3, **WALK)
    results = walk.learn(3000, progress=False)
    assert [r.summary["seed"] for r in results] == [0, 1, 2]
    assert all(r.summary["eval_mean_return"] == 1.0 for r in results)
    greedy = walk.q_table.argmax(axis=2)  # (K, S): every member walks right in every cell but T
    assert (greedy[:, :5] == 1).all()
    robot = rlsuite.make_agent(
        "qlearning", "rlsuite/RecyclingRobot-v0", seeds=[1, 2, 3], gamma=0.9, learning_rate=0.1, epsilon=0.2
    )
    results = robot.learn(20_000, progress=False)
    assert all(r.summary["q_error"] < 1.0 for r in results)
    assert robot.q_table.shape == (3, 2, 3)


def test_max_episodes_stops_each_member_as_its_own_run_would():
    agent = rlsuite.make_agent("qlearning", "CliffWalking-v1", seeds=[4, 9], **CLIFF)
    results = agent.learn(100_000, max_episodes=30, **QUICK)
    single = rlsuite.make_agent("qlearning", "CliffWalking-v1", seed=9, **CLIFF)
    alone = single.learn(100_000, max_episodes=30, **QUICK)
    assert [len(r.episode_returns) for r in results] == [30, 30]
    assert results[1].episode_returns == alone.episode_returns
    assert results[1].summary["steps"] == alone.summary["steps"]
    assert np.array_equal(agent.q_table[1], single.q_table)  # it stopped learning when its count was reached
    assert results[1].summary["eval_mean_return"] == alone.summary["eval_mean_return"]


def test_the_parent_summary_gives_each_members_steps(tmp_path):
    agent = rlsuite.make_agent("qlearning", "CliffWalking-v1", seeds=[4, 9], **CLIFF)
    results = agent.learn(100_000, run_dir=tmp_path / "run", max_episodes=30, **QUICK)
    parent = json.loads((tmp_path / "run" / "summary.json").read_text())
    steps = {str(r.summary["seed"]): r.summary["steps"] for r in results}
    assert parent["member_steps"] == steps and parent["steps"] == max(steps.values())


def test_members_are_single_seed_agents_that_save_load_and_evaluate(tmp_path):
    agent = rlsuite.make_agent("qlearning", "rlsuite/WalkToT-v0", seeds=[2, 5], **WALK)
    agent.learn(2000, progress=False)
    member = agent.members[1]
    assert member.seed == 5 and member.q_table.shape == (6, 2)
    assert np.array_equal(member.q_table, agent.q_table[1])
    member.save(tmp_path / "m")
    again = rlsuite.load(tmp_path / "m")
    assert np.array_equal(again.q_table, agent.q_table[1])
    assert rlsuite.evaluate(member, episodes=2) == (1.0, 0.0)
    with pytest.raises(rlsuite.RLSuiteError, match="agent.members"):
        agent.predict(0)


def test_batched_evaluation_equals_evaluating_each_member():
    agent = rlsuite.make_agent(
        "qlearning", "FrozenLake-v1", seeds=[0, 1, 2], learning_rate=0.2, gamma=0.95, epsilon=0.2
    )
    agent.learn(4000, progress=False)
    together = evaluate_members(agent, [10, 11, 12], episodes=5, max_steps=50)
    apart = [rlsuite.evaluate(agent.members[k], episodes=5, seed=10 + k, max_steps=50) for k in range(3)]
    assert np.allclose(together, apart)


def test_bad_seeds_are_one_line():
    for seeds, words in (
        (0, "count of at least 1"),
        ([1, 1], "more than once"),
        ([-1], r"in \[0, 2\*\*63\)"),
        ("3", "list"),
    ):
        with pytest.raises(rlsuite.RLSuiteError, match=words):
            rlsuite.make_agent("qlearning", "rlsuite/WalkToT-v0", seeds=seeds)
    with pytest.raises(rlsuite.RLSuiteError, match="one seed per run"):
        rlsuite.make_agent("sb3:DQN", "CartPole-v1", seeds=2)


def _rlsuite(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rlsuite", *args], capture_output=True, text=True, timeout=120, **kw)


def test_cli_seeds_write_one_run_per_seed_and_the_aggregate(tmp_path):
    run = tmp_path / "run"
    done = _rlsuite(
        "train",
        "--env",
        "rlsuite/WalkToT-v0",
        "--agent",
        "qlearning",
        "--seed-list",
        "3",
        "8",
        "--steps",
        "1500",
        "--run-dir",
        str(run),
        "--no-progress",
    )
    assert done.returncode == 0, done.stderr
    assert "2 seeds" in done.stdout and "IQM" in done.stdout
    for seed in (3, 8):
        member = run / f"seed_{seed}"
        assert {"config.yaml", "summary.json", "checkpoints"} <= {p.name for p in member.iterdir()}
        assert any(p.name.startswith("events.out.tfevents") for p in member.iterdir())
        assert json.loads((member / "summary.json").read_text())["seed"] == seed
        assert rlsuite.load(member).seed == seed
    summary = json.loads((run / "summary.json").read_text())
    assert summary["seeds"] == [3, 8] and summary["members"] == 2
    assert summary["eval_iqm_ci95"][0] <= summary["eval_iqm_return"] <= summary["eval_iqm_ci95"][1]
    assert (run / "curves.png").is_file()
    assert "seeds" in (run / "config.yaml").read_text()
    with pytest.raises(rlsuite.RLSuiteError, match="several seeds .*seed_3, seed_8.*load one of them"):
        rlsuite.load(run)
    evaluated = _rlsuite("eval", str(run), "--episodes", "2", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    result = json.loads(evaluated.stdout)
    assert [m["seed"] for m in result["members"]] == [3, 8] and result["mean_return"] == 1.0


def _kill_after_first_checkpoints(args: list[str], run, seeds, timeout: float) -> None:
    """``rlsuite train ARGS --run-dir RUN``, killed with SIGKILL once every seed has a complete checkpoint."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlsuite", "train", *args, "--run-dir", str(run)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + timeout
    while not all(any((run / f"seed_{s}" / "checkpoints").glob("step_*/agent.json")) for s in seeds):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_a_killed_run_of_two_seeds_resumes_to_the_same_tables(tmp_path):
    """kill -9 after the first checkpoints, resume: the tables equal an uninterrupted run's."""
    args = [
        "--env",
        "CliffWalking-v1",
        "--agent",
        "qlearning",
        "--seed-list",
        "5",
        "6",
        "--steps",
        "60000",
        "--set",
        "learning_rate=0.5",
        "--set",
        "gamma=1.0",
        "--set",
        "epsilon=0.1",
        "--checkpoint-every",
        "2000",
        "--set",
        "eval_episodes=1",
        "--set",
        "eval_max_steps=100",
        "--no-progress",
    ]
    whole = tmp_path / "whole"
    assert _rlsuite("train", *args, "--run-dir", str(whole)).returncode == 0
    run = tmp_path / "killed"
    _kill_after_first_checkpoints(args, run, (5, 6), timeout=60)
    assert not (run / "summary.json").exists()
    resumed = _rlsuite("train", "--resume", str(run), "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    for seed in (5, 6):
        a, b = rlsuite.load(whole / f"seed_{seed}"), rlsuite.load(run / f"seed_{seed}")
        assert np.array_equal(a.q_table, b.q_table)


def test_dqn_with_two_seeds_from_the_command_line_is_killed_resumed_and_evaluated(tmp_path):
    args = [
        "--env",
        "CartPole-v1",
        "--agent",
        "dqn",
        "--seeds",
        "2",
        "--steps",
        "3000",
        "--checkpoint-every",
        "500",
        "--set",
        "learning_starts=200",
        "--set",
        "net_arch=[32]",
        "--set",
        "train_freq=4",
        "--set",
        "gradient_steps=1",
        "--set",
        "eval_episodes=2",
        "--no-progress",
    ]
    run = tmp_path / "dqn2"
    _kill_after_first_checkpoints(args, run, (0, 1), timeout=90)
    resumed = _rlsuite("train", "--resume", str(run), "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming dqn" in resumed.stderr and "2 seeds" in resumed.stdout
    summary = json.loads((run / "summary.json").read_text())
    assert summary["seeds"] == [0, 1] and summary["steps"] == 3000 and not summary["interrupted"]
    for seed in (0, 1):
        member = rlsuite.load(run / f"seed_{seed}")
        assert member.seed == seed and member.num_timesteps == 3000
        assert json.loads((run / f"seed_{seed}" / "summary.json").read_text())["steps"] == 3000


def test_a_sweep_trains_each_configurations_seeds_stacked(tmp_path):
    out = tmp_path / "sweep"
    result = rlsuite.sweep(
        "rlsuite/WalkToT-v0",
        "qlearning",
        steps=300,
        seeds=3,
        grid={"learning_rate": [0.1, 0.5]},
        loop={"eval_episodes": 1},
        out=out,
        workers=1,
        progress=False,
    )
    assert sorted(result.ran) == sorted(f"learning_rate={lr}/seed_{s}" for lr in (0.1, 0.5) for s in range(3))
    assert not result.failed
    for config in ("learning_rate=0.1", "learning_rate=0.5"):
        assert "seeds:" in (out / config / "config.yaml").read_text()  # one run of three members
        for seed in range(3):
            assert json.loads((out / config / f"seed_{seed}" / "summary.json").read_text())["seed"] == seed
    apart = rlsuite.sweep(
        "rlsuite/WalkToT-v0",
        "qlearning",
        steps=300,
        seeds=3,
        grid={"learning_rate": [0.1, 0.5]},
        loop={"eval_episodes": 1},
        out=tmp_path / "apart",
        workers=2,
        progress=False,
        stacked=False,
    )
    assert not (tmp_path / "apart" / "learning_rate=0.1" / "config.yaml").exists()
    assert [r["mean_return"] for r in apart.rows] == [r["mean_return"] for r in result.rows]


def test_sigterm_stops_every_member_with_a_checkpoint_and_the_run_resumes(tmp_path):
    run = tmp_path / "term"
    args = [
        "--env",
        "CliffWalking-v1",
        "--agent",
        "qlearning",
        "--seeds",
        "3",
        "--steps",
        "3000000",
        "--set",
        "eval_episodes=1",
        "--set",
        "eval_max_steps=100",
        "--no-progress",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlsuite", "train", *args, "--run-dir", str(run)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (run / "seed_2").is_dir():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "interrupted" in out and f"rlsuite train --resume {run}" in out
    summary = json.loads((run / "summary.json").read_text())
    assert summary["interrupted"] and summary["steps"] < 3_000_000
    for seed in range(3):
        member = json.loads((run / f"seed_{seed}" / "summary.json").read_text())
        assert member["stop_reason"] == "interrupted" and member["signal"] == "SIGTERM"
        assert member["steps"] == summary["steps"]
    resumed = _rlsuite("train", "--resume", str(run), "--steps", str(summary["steps"] + 3000), "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run / "summary.json").read_text())["steps"] == summary["steps"] + 3000


def test_the_seeds_bench_measures_stacked_against_one_after_another(tmp_path):
    from rlsuite.tools import bench_seeds

    cliff = bench_seeds.cliff_case(seeds=6, episodes=20, alone=2, log=lambda line: None)
    assert cliff["alone_equals_stacked"] and cliff["speedup"] > 0 and cliff["online_return"] < 0
    update = bench_seeds.update_case(ks=(1, 2), steps=3, log=lambda line: None)
    assert [r["members"] for r in update["rows"]] == [1, 2] and all(r["floor_ms"] > 0 for r in update["rows"])
    text = bench_seeds.markdown({"cliff": cliff, "update": update}, {"command": "c", "machine": "m", "date": "d"})
    assert "CliffWalking" in text and "| 2 |" in text
    with pytest.raises(rlsuite.RLSuiteError, match="not a case of the seeds suite"):
        _ = bench_seeds.run(type("Args", (), {"only": ["cartpol"], "seeds": None, "out": str(tmp_path)})())


def test_eval_of_a_many_seed_run_takes_exactly_the_members_its_config_names(tmp_path, capsys):
    import shutil

    from rlsuite.tools.cli import main

    run = tmp_path / "run"
    rlsuite.make_agent("qlearning", "rlsuite/WalkToT-v0", seeds=[2, 5], **WALK).learn(300, run_dir=run, **QUICK)
    assert main(["eval", str(run), "--episodes", "1"]) == 0
    shutil.copytree(run / "seed_5", run / "seed_99")  # a stray member copied in
    assert main(["eval", str(run), "--episodes", "1"]) == 2
    assert "holds seed_99, which it does not name" in capsys.readouterr().err
    shutil.rmtree(run / "seed_99")
    (run / "seed_5").rename(run / "seed_3")  # a member removed, another under the wrong name
    assert main(["eval", str(run), "--episodes", "1"]) == 2
    assert "lacks seed_5; holds seed_3" in capsys.readouterr().err
    (run / "seed_2").rename(run / "seed_5")
    (run / "seed_3").rename(run / "seed_2")  # every seed named, each in the other's directory
    assert main(["eval", str(run), "--episodes", "1"]) == 2
    assert "holds a member trained with seed 5, not 2" in capsys.readouterr().err
