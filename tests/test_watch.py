"""Watch the agent, and see what it learned: ``rlsuite watch``, ``record`` and ``plot``."""

import io
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from rlsuite.agents import make_agent
from rlsuite.core.envspec import make_env
from rlsuite.tools.cli import main
from rlsuite.tools.watch import TextView

CLI = [sys.executable, "-m", "rlsuite"]
CORRIDOR = "rlsuite/WalkToT-v0"  # the greedy episode after 2000 steps: five steps right to T

TEXT_ONLY = '''
import gymnasium as gym


class TextOnly(gym.Env):
    """Two steps right to the end of a 3-cell chain; draws text only."""

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, render_mode=None):
        self.observation_space = gym.spaces.Discrete(3)
        self.action_space = gym.spaces.Discrete(2)
        self.render_mode = render_mode
        self.s = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = 0
        return 0, {}

    def step(self, action):
        self.s = min(self.s + int(action), 2)
        return self.s, float(self.s == 2), self.s == 2, False, {}

    def render(self):
        return "".join("x" if i == self.s else "." for i in range(3))
'''


def train(run_dir: Path, steps: int = 2000, seed: int = 0, env: str = CORRIDOR) -> Path:
    make_agent("qlearning", env, seed=seed).learn(steps, run_dir=run_dir)
    return run_dir


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def run(tmp_path) -> Path:
    return train(tmp_path / "run")


def test_record_writes_a_gif_with_one_frame_per_step_plus_the_reset_frame(run, capsys):
    code, out, _ = cli(capsys, "record", run)
    assert code == 0
    gif = run / "videos" / "eval.gif"
    assert str(gif) in out and "episode 1: return 1.000, length 5 steps" in out
    with Image.open(gif) as image:
        assert image.format == "GIF" and image.n_frames == 6
    code, out, _ = cli(capsys, "record", run, "--episodes", "2", "--out", "two.gif")
    assert code == 0 and "12 frames" in out
    with Image.open("two.gif") as image:
        assert image.n_frames == 12


def test_record_mp4_or_a_clear_error(run, capsys):
    pytest.importorskip("imageio_ffmpeg")
    import imageio_ffmpeg

    code, out, err = cli(capsys, "record", run, "--out", "walk.mp4", "--fps", "5")
    assert code == 0, err
    frames, seconds = imageio_ffmpeg.count_frames_and_secs("walk.mp4")
    assert frames == 6 and seconds == pytest.approx(6 / 5, abs=0.3)
    code, _, err = cli(capsys, "record", run, "--out", "walk.avi")
    assert code == 2 and ".gif or .mp4" in err and len(err.strip().splitlines()) == 1


def test_watch_piped_prints_each_frame_without_cursor_codes_and_returns(run):
    proc = subprocess.run(
        [*CLI, "watch", str(run), "--episodes", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "\x1b[" not in out
    assert out.count("u - - - - T") == 2 and out.count("- - - - u T") == 2  # every frame, once
    assert "episode 1: return 1.000, length 5 steps" in out and "episode 2: return 1.000, length 5 steps" in out
    assert "action right" in out


def test_an_env_without_rgb_array_gets_one_line_from_record_and_plays_in_watch(tmp_path, capsys):
    Path("textonly.py").write_text(TEXT_ONLY)
    run = train(tmp_path / "text", steps=300, env="textonly:TextOnly")
    code, _, err = cli(capsys, "record", run, "--env", "textonly:TextOnly")  # a run's module env: named again
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "cannot render rgb_array" in err and "rlsuite watch" in err and "terminal" in err
    assert not (run / "videos").exists()
    code, out, _ = cli(capsys, "watch", run, "--episodes", "1", "--env", "textonly:TextOnly")  # stdout: no terminal
    assert code == 0 and "x.." in out and "..x" in out and "length 2 steps" in out


def test_watch_names_an_env_that_renders_no_text_and_no_window(tmp_path, capsys):
    Path("silent.py").write_text(TEXT_ONLY.replace('["ansi"]', "[]"))
    run = train(tmp_path / "silent", steps=100, env="silent:TextOnly")
    code, _, err = cli(capsys, "watch", run, "--env", "silent:TextOnly")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "renders neither a window nor text" in err


def test_a_directory_of_seed_runs_takes_the_first_and_says_so_or_the_member_asked_for(tmp_path, capsys, monkeypatch):
    parent = tmp_path / "seeds"
    for seed in (3, 1):
        train(parent / f"seed_{seed}", steps=2000, seed=seed)
    monkeypatch.setattr(sys, "stdin", io.StringIO())  # no terminal to ask on, also under pytest -s
    code, out, err = cli(capsys, "watch", parent, "--episodes", "1")
    assert code == 0 and "showing seed_1" in err and "--member" in err and "episode 1:" in out
    code, out, err = cli(capsys, "record", parent, "--member", "3")
    assert code == 0 and (parent / "seed_3" / "videos" / "eval.gif").is_file() and not err
    code, _, err = cli(capsys, "watch", parent, "--member", "7")
    assert code == 2 and "its seeds are 1, 3" in err
    code, out, _ = cli(capsys, "plot", parent)
    assert code == 0 and out.strip() == str(parent / "curves.png")
    assert (parent / "curves.png").is_file()


def test_plot_two_runs_writes_a_png(run, tmp_path, capsys):
    other = train(tmp_path / "other", steps=3000, seed=1)
    code, out, _ = cli(capsys, "plot", run, other)
    assert code == 0 and out.strip() == "curves.png"
    with Image.open("curves.png") as image:
        assert image.format == "PNG" and image.size[0] > 100
    code, out, _ = cli(capsys, "plot", run, "--out", "mine/q.png", "--tag", "tabular/q_error")
    assert code == 0 and Path("mine/q.png").is_file()
    code, _, err = cli(capsys, "plot", run, other, "--tag", "no/such")
    assert code == 2 and "charts/episodic_return" in err and len(err.strip().splitlines()) == 1


def test_on_a_terminal_frames_are_redrawn_in_place(capsys):
    env = make_env(CORRIDOR, render_mode="ansi")
    env.reset(seed=0)
    view = TextView(env, episodes=1, fps=1000, tty=True)
    view.show(1, 0, None, 0.0)
    env.step(1)
    view.show(1, 1, 1, 0.0)
    view.close()
    out = capsys.readouterr().out
    first, second = out.split("u - - - - T\n")
    assert "\x1b[" not in first.replace("\x1b[?25l", "")  # the first frame moves up over nothing
    assert second.startswith("\x1b[2A\r\x1b[J") and "action right" in second and out.endswith("\x1b[?25h")
