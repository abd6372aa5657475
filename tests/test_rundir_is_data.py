"""A run directory is data: loading, evaluating, watching or resuming a run never imports a module or
calls anything the person at the keyboard did not name (the attack: a tampered agent.json, config.yaml
or sweep.json naming ``os:system`` with a shell command as its argument)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

import rlsuite
from rlsuite.core.errors import RLSuiteError
from rlsuite.driver.checkpoint import latest_checkpoint
from rlsuite.tools.cli import main

ATTACK = {"env": "os:system", "env_kwargs": {"command": "touch PWNED"}}
# a module in the current directory that leaves a mark when it is imported
EVIL = 'from pathlib import Path\nPath("IMPORTED").touch()\nimport gymnasium\nEnv = gymnasium.Env\n'
MY_ENV = """
import gymnasium as gym


class Chain(gym.Env):
    def __init__(self, n=3):
        self.n, self.s = n, 0
        self.observation_space, self.action_space = gym.spaces.Discrete(n), gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = 0
        return 0, {}

    def step(self, action):
        self.s = min(self.s + int(action), self.n - 1)
        return self.s, float(self.s == self.n - 1), self.s == self.n - 1, False, {}


def not_an_env(**kwargs):
    Path("CALLED").touch()
"""


def cli(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err


def untouched() -> bool:
    return not Path("PWNED").exists() and not Path("IMPORTED").exists() and not Path("CALLED").exists()


@pytest.fixture
def run(capsys) -> Path:
    code, err = cli(
        capsys,
        "train",
        "--env",
        "rlsuite/WalkToT-v0",
        "--agent",
        "qlearning",
        "--steps",
        "200",
        "--no-progress",
        "--run-dir",
        "run",
    )
    assert code == 0, err
    return Path("run")


def tamper_checkpoint(run: Path, env: str, env_kwargs: dict) -> None:
    meta_file = latest_checkpoint(run) / "agent.json"
    meta = json.loads(meta_file.read_text())
    meta.update(env=env, env_kwargs=env_kwargs)
    meta_file.write_text(json.dumps(meta))


def tamper_config(path: Path, env: str, env_kwargs: dict) -> None:
    config = yaml.safe_load(path.read_text())
    config.update(env=env, env_kwargs=env_kwargs)
    path.write_text(yaml.safe_dump(config))


@pytest.mark.parametrize("command", [["eval"], ["watch", "--terminal"], ["record"]])
def test_a_checkpoint_naming_a_module_runs_nothing(run, capsys, command):
    tamper_checkpoint(run, **ATTACK)
    code, err = cli(capsys, command[0], str(run), *command[1:])
    assert code == 2 and untouched()
    assert "'os:system'" in err and "--env os:system" in err and err.count("\n") == 1
    Path("evil.py").write_text(EVIL)
    tamper_checkpoint(run, "evil:Env", {})
    code, err = cli(capsys, command[0], str(run), *command[1:])
    assert code == 2 and untouched(), err


def test_a_resumed_or_rerun_config_naming_a_module_runs_nothing(run, capsys):
    tamper_config(run / "config.yaml", **ATTACK)
    code, err = cli(capsys, "train", "--resume", str(run), "--no-progress")
    assert code == 2 and untouched() and "--env os:system" in err
    code, err = cli(capsys, "train", "--config", str(run / "config.yaml"), "--no-progress", "--run-dir", "other")
    assert code == 2 and untouched() and "--env os:system" in err
    # named by the user, it is still checked to be an Env class before anything is called
    code, err = cli(capsys, "train", "--resume", str(run), "--env", "os:system", "--no-progress")
    assert code == 2 and untouched() and "not a gymnasium.Env subclass" in err


def test_load_refuses_a_module_env_until_it_is_named(run):
    tamper_checkpoint(run, **ATTACK)
    with pytest.raises(RLSuiteError, match="env='os:system'"):
        rlsuite.load(run)
    with pytest.raises(RLSuiteError, match="not a gymnasium.Env subclass"):
        rlsuite.load(run, env="os:system")
    assert untouched()
    agent = rlsuite.load(run, env="rlsuite/WalkToT-v0")  # another env the user names is used instead
    assert agent.env == "rlsuite/WalkToT-v0"


def test_an_env_the_user_names_is_checked_before_it_is_called(capsys):
    Path("mymod.py").write_text(MY_ENV)
    with pytest.raises(RLSuiteError, match="not a gymnasium.Env subclass"):
        rlsuite.make_env("mymod:not_an_env")
    assert untouched()


def test_a_module_env_run_works_once_the_user_names_it(capsys):
    Path("mymod.py").write_text(MY_ENV)
    code, err = cli(
        capsys,
        "train",
        "--env",
        "mymod:Chain",
        "--agent",
        "qlearning",
        "--steps",
        "300",
        "--no-progress",
        "--run-dir",
        "chain",
        "--set",
        "env.n=4",
    )
    assert code == 0, err
    code, err = cli(capsys, "eval", "chain")
    assert code == 2 and "--env mymod:Chain" in err
    code, err = cli(capsys, "eval", "chain", "--env", "mymod:Chain", "--json")
    assert code == 0, err
    code, err = cli(capsys, "train", "--resume", "chain", "--steps", "400", "--no-progress")
    assert code == 2 and "--env mymod:Chain" in err
    code, err = cli(capsys, "train", "--resume", "chain", "--env", "mymod:Chain", "--steps", "400", "--no-progress")
    assert code == 0, err
    assert rlsuite.load("chain", env="mymod:Chain").num_timesteps == 400


def test_a_resumed_sweep_naming_a_module_runs_nothing(capsys):
    result = rlsuite.sweep(
        "rlsuite/WalkToT-v0",
        "qlearning",
        steps=50,
        seeds=1,
        grid={"gamma": [0.9]},
        out="sweep",
        progress=False,
        workers=1,
    )
    assert not result.failed
    state = json.loads(Path("sweep/sweep.json").read_text())
    state["spec"]["env"] = "os:system"
    state["spec"]["env_kwargs"] = {"command": "touch PWNED"}
    for trial in state["trials"]:
        trial["status"] = "pending"
    Path("sweep/sweep.json").write_text(json.dumps(state))
    code, err = cli(capsys, "sweep", "--resume", "sweep")
    assert code == 2 and untouched() and "--env os:system" in err


@pytest.mark.parametrize("seed", [str(2**63), str(2**64), "-1"])
def test_one_range_for_seeds_everywhere(capsys, seed):
    """A seed a checkpoint could not hold is refused before the run starts, in one line."""
    code, err = cli(
        capsys,
        "train",
        "--env",
        "rlsuite/WalkToT-v0",
        "--agent",
        "qlearning",
        "--steps",
        "10",
        "--no-progress",
        "--seed",
        seed,
        "--run-dir",
        "big",
    )
    assert code == 2 and err.count("\n") == 1 and "[0, 2**63)" in err
    assert not Path("big").exists()


def dqn_run(capsys, path="dqn") -> Path:
    code, err = cli(
        capsys,
        "train",
        "--env",
        "CartPole-v1",
        "--agent",
        "dqn",
        "--steps",
        "300",
        "--no-progress",
        "--run-dir",
        path,
        "--set",
        "learning_starts=50",
        "--set",
        "buffer_size=1000",
        "--set",
        "eval_episodes=1",
    )
    assert code == 0, err
    return Path(path)


def test_a_file_a_checkpoint_lists_must_be_there(capsys):
    run = dqn_run(capsys)
    (latest_checkpoint(run) / "replay.npz").unlink()
    code, err = cli(capsys, "train", "--resume", str(run), "--steps", "400", "--no-progress")
    assert code == 2 and err.count("\n") == 1 and "lists 'replay.npz', which is not there" in err


def test_a_tensor_of_another_dtype_is_refused_even_with_its_checksum_redone(capsys):
    from safetensors.numpy import load_file, save_file

    from rlsuite.driver.checkpoint import sha256_of

    run = dqn_run(capsys)
    checkpoint = latest_checkpoint(run)
    tensors = {
        k: (v.astype(np.int8) if v.dtype == np.float32 else v)
        for k, v in load_file(checkpoint / "tensors.safetensors").items()
    }
    save_file(tensors, checkpoint / "tensors.safetensors")
    meta = json.loads((checkpoint / "agent.json").read_text())
    meta["files"]["tensors.safetensors"] = sha256_of(checkpoint / "tensors.safetensors")
    (checkpoint / "agent.json").write_text(json.dumps(meta))
    code, err = cli(capsys, "eval", str(run))
    assert code == 2 and err.count("\n") == 1 and "as int8, not the float32 rlsuite writes" in err


def test_files_that_nest_too_deeply_are_one_line(run, capsys):
    (latest_checkpoint(run) / "agent.json").write_text("[" * 100_000 + "]" * 100_000)
    code, err = cli(capsys, "eval", str(run))
    assert code == 2 and err.count("\n") == 1 and "nests too deeply" in err
    Path("deep.yaml").write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    code, err = cli(capsys, "train", "--config", "deep.yaml", "--no-progress")
    assert code == 2 and err.count("\n") == 1 and "deep.yaml" in err


def test_config_with_resume_and_a_bad_eval_seed_are_one_line(run, capsys):
    code, err = cli(capsys, "train", "--resume", str(run), "--config", str(run / "config.yaml"))
    assert code == 2 and "do not go together" in err
    code, err = cli(capsys, "eval", str(run), "--seed", "-1")
    assert code == 2 and err.count("\n") == 1 and "[0, 2**63)" in err


def test_a_run_dir_name_the_filesystem_refuses_is_one_line(capsys):
    code, err = cli(
        capsys,
        "train",
        "--env",
        "rlsuite/WalkToT-v0",
        "--agent",
        "qlearning",
        "--steps",
        "10",
        "--no-progress",
        "--run-dir",
        "x" * 300,
    )
    last = err.strip().splitlines()[-1]  # after the line that says where the run goes
    assert code == 2 and last.startswith("rlsuite: error:") and "File name too long" in last
    assert "shorter --run-dir" in last and "Traceback" not in err


def test_the_resume_banner_names_the_step_every_member_goes_on_from(capsys):
    code, err = cli(
        capsys,
        "train",
        "--env",
        "rlsuite/WalkToT-v0",
        "--agent",
        "qlearning",
        "--seed-list",
        "3",
        "7",
        "--steps",
        "600",
        "--checkpoint-every",
        "200",
        "--no-progress",
        "--run-dir",
        "two",
    )
    assert code == 0, err
    newest = latest_checkpoint(Path("two/seed_7"))
    shutil.rmtree(newest)  # as a kill between two members' checkpoint writes leaves it
    code, err = cli(capsys, "train", "--resume", "two", "--steps", "800", "--no-progress")
    assert code == 0, err
    assert "from step 400 of 800" in err
