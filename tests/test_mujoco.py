"""Gymnasium's MuJoCo tasks by id (the mujoco extra, installed by make): they train, their notices
are shown once, and without the package the id fails in one line that names the extra."""

import subprocess
import sys

import numpy as np
import pytest

import rlsuite

SMALL = dict(learning_starts=50, batch_size=16, buffer_size=1000, net_arch=[16])


@pytest.mark.parametrize("name", ["ddpg", "td3", "sac"])
def test_a_mujoco_task_trains_by_id(name, tmp_path):
    agent = rlsuite.make_agent(name, "Hopper-v5", seed=0, use_preset=False, **SMALL)
    assert agent.observation_space.dtype == np.float64  # MuJoCo's, taken by the networks as float32
    result = agent.learn(120, run_dir=tmp_path / "run", eval_episodes=1, eval_max_steps=20, progress=False)
    assert result.summary["steps"] == 120
    loaded = rlsuite.load(tmp_path / "run")
    obs = np.linspace(-1, 1, 11)
    np.testing.assert_array_equal(loaded.predict(obs), agent.predict(obs))


def test_the_presets_cover_the_mujoco_tasks():
    for name in ("ddpg", "td3", "sac"):
        for env_id in ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Ant-v5", "Humanoid-v5"):
            preset = rlsuite.agents.preset(name, env_id)
            assert preset["steps"] == 1_000_000 and preset["hyperparameters"]["batch_size"] == 256, (name, env_id)


def run_python(code, cwd=None):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_mujoco_notices_are_shown_once_per_process_and_written_nowhere(tmp_path):
    made = run_python(
        "from rlsuite.core.envspec import make_env\n"
        "for _ in range(4): make_env('HalfCheetah-v5').close()\n"
        "print('made')",
        cwd=tmp_path,
    )
    assert made.returncode == 0 and made.stdout.strip() == "made", made.stderr
    assert made.stderr.count("deprecated") == 1, made.stderr  # four envs made, the notice shown once
    assert list(tmp_path.iterdir()) == []  # no MUJOCO_LOG.TXT in the current directory


def test_without_mujoco_the_id_fails_in_one_line_naming_the_extra():
    failed = run_python(
        "import sys; sys.modules['mujoco'] = None\n"
        "from rlsuite.tools.cli import main\n"
        "sys.exit(main(['train', '--env', 'Hopper-v5', '--agent', 'td3', '--steps', '10']))"
    )
    assert failed.returncode == 2
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'rlsuite[mujoco]'" in lines[0], failed.stderr
