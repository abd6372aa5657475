import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from tests.test_logging import scalars

import rlsuite
from rlsuite.core.errors import RLSuiteError
from rlsuite.tools import bench, report
from rlsuite.tools.cli import main

CLI = [sys.executable, "-m", "rlsuite"]


# ----- statistics against hand-computed values ------------------------------------------------
def test_iqm_is_the_mean_of_the_middle_half():
    assert report.iqm([1, 2, 3, 4, 5, 6, 7, 8]) == pytest.approx(4.5)  # mean of 3, 4, 5, 6
    assert report.iqm([0, 0, 10, 10, 1000, -1000, 5, 5]) == pytest.approx(5.0)  # mean of 0, 5, 5, 10
    assert report.iqm([2.0, 4.0]) == pytest.approx(3.0)


def test_bootstrap_ci_of_two_runs_spans_both():
    # Resampling [0, 1] gives IQMs 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4, so the 2.5 % and
    # 97.5 % quantiles of the bootstrap distribution are exactly 0 and 1.
    assert report.iqm_ci([0.0, 1.0]) == (0.5, 0.0, 1.0)


def test_bootstrap_ci_edge_cases():
    assert report.iqm_ci([3.0, 3.0, 3.0]) == (3.0, 3.0, 3.0)
    assert report.iqm_ci([7.0]) == (7.0, 7.0, 7.0)
    point, low, high = report.iqm_ci([1, 2, 3, 4, 5, 6, 7, 8])
    assert low < point < high and 1 <= low and high <= 8
    assert all(np.isnan(report.iqm_ci([])))


def test_steps_to_threshold_uses_the_rolling_mean_of_episodes():
    # episodes of 10 steps; with a window of 2, the 4th episode is the first whose pair reaches 5
    assert report.steps_to_threshold([0, 0, 5, 5, 5], [10] * 5, 5, window=2) == 40
    assert report.steps_to_threshold([0, 0, 1], [10] * 3, 5, window=2) is None


def test_curve_band_interpolates_onto_a_common_grid():
    a = (np.array([0, 10]), np.array([0.0, 10.0]))
    b = (np.array([0, 5, 10]), np.array([2.0, 7.0, 12.0]))
    grid, mean, low, high = report.curve_band([a, b], points=3)
    assert grid.tolist() == [0, 5, 10]
    assert mean.tolist() == pytest.approx([1.0, 6.0, 11.0])
    assert (low <= mean).all() and (mean <= high).all()


# ----- Stable-Baselines3 through rlsuite's CLI ------------------------------------------------
@pytest.mark.parametrize("algo", ["sb3:DQN", "sb3:PPO"])
def test_sb3_agents_train_through_the_cli_with_standard_tags(tmp_path, capsys, algo):
    run_dir = tmp_path / "run"
    extra = ["--set", "n_steps=128", "--set", "batch_size=32"] if algo == "sb3:PPO" else ["--set", "learning_starts=50"]
    assert (
        main(
            [
                "train",
                "--env",
                "rlsuite/WalkToT-v0",
                "--agent",
                algo,
                "--steps",
                "400",
                "--run-dir",
                str(run_dir),
                "--no-progress",
                "--set",
                "log_interval=100",
                "--set",
                "eval_episodes=3",
                *extra,
            ]
        )
        == 0
    )
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["agent"] == algo and summary["steps"] >= 400 and summary["episodes"] > 0
    tags = scalars(run_dir)
    for tag in ["charts/episodic_return", "charts/episodic_length", "charts/SPS", "eval/mean_return"]:
        assert tag in tags, tag
    assert ("losses/td_loss" if algo == "sb3:DQN" else "losses/value_loss") in tags
    assert [e.step for e in tags["charts/SPS"]][:3] == [100, 200, 300]
    # the run directory is an ordinary one: eval and load work on it
    capsys.readouterr()
    assert main(["eval", str(run_dir), "--episodes", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["agent"] == algo


def test_sb3_agent_from_python_learns_the_corridor():
    # rlsuite's DQN preset for the corridor, given to SB3's DQN by name
    agent = rlsuite.make_agent(
        "sb3:dqn",
        "rlsuite/WalkToT-v0",
        seed=0,
        learning_starts=200,
        learning_rate=1e-3,
        gamma=0.9,
        batch_size=32,
        buffer_size=5000,
        target_update_interval=100,
        exploration_fraction=0.3,
        exploration_final_eps=0.05,
        net_arch=[32],
    )
    result = agent.learn(3000, eval_episodes=5)
    assert agent.name == "sb3:DQN"
    assert result.summary["eval_mean_return"] == 1.0  # reaches T from the start, every episode
    assert [int(agent.predict(s)) for s in range(5)] == [1] * 5  # right, towards T, from every cell before it


def test_sb3_bad_input_is_one_sentence():
    with pytest.raises(RLSuiteError, match="did you mean 'DQN'"):
        rlsuite.make_agent("sb3:DQM", "CartPole-v1")
    with pytest.raises(RLSuiteError, match="did you mean 'learning_rate'"):
        rlsuite.make_agent("sb3:DQN", "CartPole-v1", learning_rat=1e-3)
    with pytest.raises(RLSuiteError, match="DQN needs a Discrete action space"):
        rlsuite.make_agent("sb3:DQN", "Pendulum-v1")
    agent = rlsuite.make_agent("sb3:PPO", "rlsuite/WalkToT-v0")
    with pytest.raises(RLSuiteError, match="cannot be resumed"):
        agent.learn(10, run_dir="runs/x", resume=True)


# ----- the harness on a tiny suite --------------------------------------------------------------
def test_bench_tiny_suite_writes_table_csv_and_curves(tmp_path):
    out = tmp_path / "bench"
    proc = subprocess.run(
        [*CLI, "bench", "--suite", "tiny", "--seeds", "2", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    with (out / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    # tabular case: rlsuite only; DQN case: rlsuite and SB3, alternating seed by seed
    assert [(r["case"], r["impl"], r["seed"]) for r in rows] == [
        ("walk", "rlsuite", "0"),
        ("walk", "rlsuite", "1"),
        ("walk-dqn", "rlsuite", "0"),
        ("walk-dqn", "sb3:DQN", "0"),
        ("walk-dqn", "rlsuite", "1"),
        ("walk-dqn", "sb3:DQN", "1"),
    ]
    for row in rows:
        assert float(row["wall_s"]) > 0 and float(row["peak_rss_mb"]) > 50 and float(row["floor_s"]) > 0
        assert float(row["eval_return"]) in (0.0, 1.0)
    results = json.loads((out / "results.json").read_text())["results"]
    dqn = results[1]["summary"]
    ratios = [float(s["wall_s"]) / float(o["wall_s"]) for o, s in zip(rows[2::2], rows[3::2])]
    assert dqn["speed_ratios"] == pytest.approx(ratios, rel=1e-2)
    assert dqn["impls"]["rlsuite"]["iqm"] == pytest.approx(report.iqm([float(r["eval_return"]) for r in rows[2::2]]))
    table = (out / "BENCHMARKS.md").read_text()
    assert "| case | implementation |" in table and "sb3:DQN" in table and "rlsuite bench --suite tiny" in table
    main_table = table.split("## Floors")[0]
    assert main_table.count("\n| dqn rlsuite/WalkToT-v0 |") == 2 and main_table.count("\n| qlearning ") == 1
    for name in ("walk", "walk-dqn"):
        png = out / "curves" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"curves/{name}.png" in table


def test_a_malformed_suites_file_is_one_sentence_naming_file_and_case(tmp_path):
    good = (
        "tiny:\n  seeds: 2\n  help: a smoke test\n  cases:\n"
        "    - {key: walk, agent: qlearning, env: rlsuite/WalkToT-v0, threshold: 0.95}\n"
    )
    path = tmp_path / "suites.yaml"
    path.write_text(good)
    assert [c.key for c in bench.load_suites(path)["tiny"].cases] == ["walk"]
    for text, message in [
        (
            good.replace("threshold: 0.95", "treshold: 0.95"),
            r"suite 'tiny', case 'walk' has an unknown key 'treshold' \(did you mean 'threshold'\?\); use only key, ",
        ),
        (good.replace(", threshold: 0.95", ""), "suite 'tiny', case 'walk' lacks threshold; add it"),
        (good.replace("{key: walk, ", "{"), "suite 'tiny', case #1 lacks key; add it"),
        (good.replace("threshold: 0.95", "threshold: high"), "case 'walk' has threshold: 'high'; make it a number"),
        (good.replace("seeds: 2", "seeds: 0"), "suite 'tiny' has seeds: 0; make it a positive whole number"),
        (good + "  colour: red\n", "suite 'tiny' has an unknown key 'colour'"),
        (
            good + "    - {key: walk, agent: dqn, env: CartPole-v1, threshold: 1}\n",
            "case 'walk' has the key of another",
        ),
        ("tiny: [\n", "does not parse as YAML at line 2; fix the syntax there"),
    ]:
        path.write_text(text)
        with pytest.raises(RLSuiteError, match=message) as error:
            bench.load_suites(path)
        sentence = str(error.value)
        assert sentence.startswith(f"bench suites file {path}") and sentence.endswith(".") and "\n" not in sentence
    # the shipped file: the suites the CLI offers
    assert {"quick", "full", "tiny"} <= set(bench.load_suites())


def test_bench_rejects_an_unknown_case(tmp_path):
    proc = subprocess.run([*CLI, "bench", "--only", "cartpol", "--out", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "did you mean 'cartpole'" in proc.stderr and proc.stderr.count("\n") == 1


# ----- the gpu suite: its harness on the CPU (CI has no GPU) -------------------------------------
def test_gpu_suite_check_agrees_on_the_cpu_and_reports(monkeypatch, capsys, tmp_path):
    import torch

    from rlsuite.tools import bench_gpu

    if not torch.cuda.is_available():
        assert main(["bench", "--suite", "gpu", "--out", str(tmp_path)]) == 2
        assert "this machine has none; run it where torch sees a GPU" in capsys.readouterr().err
    monkeypatch.setattr(bench_gpu, "DEVICE", "cpu")  # the same code against itself: no difference at all
    check = bench_gpu.check_case(log=lambda line: None)
    assert [r["relative_difference"] for r in check["updates"]] == [0.0] * 4
    assert [m["same_returns"] for m in check["members"]] == [True, True]
    assert [m["eval_return"] for m in check["members"]] == [1.0, 1.0]
    text = bench_gpu.markdown(
        {"check": check, "atari": {"error": "RLSuiteError: no ale-py"}},
        dict.fromkeys(["command", "gpu", "cpu", "date"], "x"),
    )
    assert "| sac | Pendulum-v1 | 50 | 0.0e+00 |" in text and "failed: RLSuiteError: no ale-py" in text
