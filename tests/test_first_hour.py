"""What a new user meets in the first hour: envs from the current directory, `list`, `solve`
names and pipes, resume hints, Q-tables, did-you-mean for every kind of setting, eval of a sweep."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rlsuite.driver.loop as loop_module
from rlsuite.agents import make_agent
from rlsuite.core.errors import RLSuiteError
from rlsuite.driver.evaluation import evaluate, evaluate_episodes
from rlsuite.tools.cli import main

SCRIPT = Path(sys.executable).parent / "rlsuite"

CHAIN = '''
import gymnasium as gym


class MyEnv(gym.Env):
    """A chain of n states; action 1 moves right, reaching the end pays 1."""

    def __init__(self, n=3):
        self.observation_space = gym.spaces.Discrete(n)
        self.action_space = gym.spaces.Discrete(2)
        self.n = n
        # one long name per state, so that `solve` writes far more than a pipe holds
        self.state_names = tuple(f"state{s}-" + "x" * 120 for s in range(n))
        self.P = {s: {a: [(1.0, min(s + a, n - 1), float(min(s + a, n - 1) == n - 1), min(s + a, n - 1) == n - 1)]
                      for a in range(2)} for s in range(n)}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = 0
        return 0, {}

    def step(self, action):
        self.s = min(self.s + int(action), self.n - 1)
        done = self.s == self.n - 1
        return self.s, float(done), done, False, {}
'''


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_module_class_resolves_from_the_current_directory_with_the_installed_script():
    Path("mymod.py").write_text(CHAIN)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [
            str(SCRIPT),
            "train",
            "--env",
            "mymod:MyEnv",
            "--agent",
            "qlearning",
            "--steps",
            "60",
            "--no-progress",
            "--run-dir",
            "run",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "done: 60 steps" in proc.stdout and "Q-table" in proc.stdout


def test_solve_survives_a_closed_pipe():
    Path("mymod.py").write_text(CHAIN)  # 1000 states x ~140 characters: more than a pipe buffers
    proc = subprocess.Popen(
        [str(SCRIPT), "solve", "--env", "mymod:MyEnv", "--set", "env.n=1000", "--gamma", "0.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = [proc.stdout.readline() for _ in range(2)]
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert lines[1].startswith("state") and "Traceback" not in err and err == ""
    assert proc.returncode == 141


@pytest.mark.parametrize(
    "setting,needle",
    [
        ("eval_frq=1000", "did you mean the loop setting 'eval_freq'"),
        ("lr=0.05", "did you mean 'learning_rate'"),
        ("discount=0.9", "did you mean 'gamma'"),
        ("is_slippery=False", "did you mean the env argument 'env.is_slippery'"),
    ],
)
def test_an_unknown_setting_is_matched_against_every_kind_of_name(capsys, setting, needle):
    code, _, err = cli(capsys, "train", "--env", "FrozenLake-v1", "--agent", "qlearning", "--set", setting)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and needle in lines[0]
    assert "loop settings (" in lines[0] and "env.is_slippery" in lines[0]


def test_aliases_reach_the_python_api_too():
    with pytest.raises(RLSuiteError, match="did you mean 'learning_rate'"):
        make_agent("dqn", "CartPole-v1", lr=1e-3)
    with pytest.raises(RLSuiteError, match="did you mean 'exploration_final_eps'"):
        make_agent("dqn", "CartPole-v1", epsilon=0.1)
    with pytest.raises(RLSuiteError, match="did you mean 'is_slippery'"):
        make_agent("qlearning", "FrozenLake-v1", env_kwargs={"is_slipery": False})


def test_eval_of_a_sweep_directory_lists_its_trials(capsys):
    for seed in (0, 1):
        make_agent("qlearning", "rlsuite/WalkToT-v0", seed=seed).learn(40, run_dir=f"sw/default/seed_{seed}")
    Path("sw/sweep.json").write_text("{}")
    code, _, err = cli(capsys, "eval", "sw")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "sw/default/seed_0, sw/default/seed_1" in err and "evaluate one of them" in err

    code, out, _ = cli(capsys, "eval", "sw/default/seed_0", "--episodes", "3", "--json")
    result = json.loads(out)
    assert code == 0 and result["mean_length"] >= 1 and result["episodes"] == 3
    code, out, _ = cli(capsys, "eval", "sw/default/seed_0", "--episodes", "3")
    assert "mean length" in out


def test_evaluate_episodes_gives_returns_and_lengths():
    agent = make_agent("qlearning", "rlsuite/WalkToT-v0")
    returns, lengths = evaluate_episodes(agent, episodes=4, seed=1, max_steps=7)
    assert len(returns) == len(lengths) == 4 and all(1 <= n <= 7 for n in lengths)
    mean, _ = evaluate(agent, episodes=4, seed=1, max_steps=7)
    assert mean == pytest.approx(sum(returns) / 4)


def test_list_shows_each_envs_spaces_and_agents(capsys):
    code, out, _ = cli(capsys, "list")
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip().startswith("rlsuite/")}
    assert code == 0
    assert "Discrete(2)" in lines["rlsuite/RecyclingRobot-v0"] and "Discrete(3)" in lines["rlsuite/RecyclingRobot-v0"]
    assert "qlearning" in lines["rlsuite/RecyclingRobot-v0"]
    assert "Box(" in lines["rlsuite/WalkToTContinuous-v0"] and "ddpg" in lines["rlsuite/WalkToTContinuous-v0"]
    assert "qlearning" not in lines["rlsuite/WalkToTContinuous-v0"]


def test_solve_names_actions_and_takes_env_arguments(capsys):
    code, out, _ = cli(capsys, "solve", "--env", "FrozenLake-v1", "--set", "env.is_slippery=False", "--gamma", "0.9")
    assert code == 0 and "is_slippery=False" in out and "q*(left, down, right, up)" in out
    start = next(line for line in out.splitlines() if line.startswith("(0,0)S"))
    assert start.split()[2] == "down" and "0.5905" in start  # deterministic: 0.9 ** 5 from the start

    code, out, _ = cli(capsys, "solve", "--env", "CliffWalking-v1", "--gamma", "0.9")
    assert "q*(up, right, down, left)" in out
    code, _, err = cli(capsys, "solve", "--env", "FrozenLake-v1", "--set", "gamma=0.9")
    assert code == 2 and "env.NAME=VALUE" in err


def test_train_prints_the_q_table_and_why_it_stopped(capsys):
    code, out, _ = cli(
        capsys,
        "train",
        "--env",
        "rlsuite/RecyclingRobot-v0",
        "--agent",
        "qlearning",
        "--steps",
        "500",
        "--no-progress",
        "--run-dir",
        "r",
        "--set",
        "max_episodes=2",
    )
    assert code == 0 and "Q-table" in out and "recharge" in out and "high" in out
    assert "stopped after 2 episodes (max_episodes)" in out


def test_interrupt_hints_at_resume_and_the_resumed_banner_says_from_where(capsys, monkeypatch):
    code, _, _ = cli(
        capsys,
        "train",
        "--env",
        "rlsuite/WalkToT-v0",
        "--agent",
        "qlearning",
        "--steps",
        "100",
        "--no-progress",
        "--run-dir",
        "w",
    )
    assert code == 0
    code, _, err = cli(capsys, "train", "--resume", "w", "--steps", "150", "--no-progress")
    assert code == 0 and "from step 100 of 150" in err

    class PressedCtrlC(loop_module.CtrlC):
        def install(self):
            self.requested = True
            return self

    monkeypatch.setattr(loop_module, "CtrlC", PressedCtrlC)
    code, out, _ = cli(capsys, "train", "--resume", "w", "--steps", "300", "--no-progress")
    assert code == 130 and "interrupted" in out and "rlsuite train --resume w" in out


def test_resume_without_a_checkpoint_says_how_to_start_again(capsys):
    Path("bare").mkdir()
    Path("bare/config.yaml").write_text("env: rlsuite/WalkToT-v0\nagent: qlearning\n")
    code, _, err = cli(capsys, "train", "--resume", "bare")
    assert code == 2 and "holds no checkpoint" in err and "--config bare/config.yaml" in err
