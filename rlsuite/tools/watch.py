"""``rlsuite watch`` and ``rlsuite record``: see what a trained agent does.

Both play the agent's deterministic policy, as ``rlsuite eval`` does: the first reset is seeded
with ``--seed``, so ``watch``, ``record`` and ``eval`` with one seed show the same episodes.

* ``watch`` opens the env's window (``render_mode="human"``) where it has one and a display
  exists, else redraws its text (``"ansi"``) frames in place in the terminal; piped, it prints
  every frame once, without cursor codes.
* ``record`` writes the env's ``"rgb_array"`` frames, one per step plus the reset frame, to a GIF
  (Pillow) or an MP4 (the ffmpeg that imageio-ffmpeg ships). Small images are scaled up by a whole
  factor, so a corridor of 8-pixel cells is big enough to see.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlsuite.core.errors import RLSuiteError
from rlsuite.media.recording import gif_bytes, quiet_pygame, upscale
from rlsuite.tools.evaluate import ENV_HELP
from rlsuite.tools.plot import seed_members

MAX_STEPS = 10_000  # an episode is cut here, as evaluation cuts it, so an env without a time limit cannot hang
ANSI_CODE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
Show = Callable[[int, int, Any, float], None]  # (episode, step, action or None after a reset, return so far)


def add_parser(subparsers) -> None:
    """Add the ``watch`` and ``record`` subcommands to ``rlsuite``'s subparsers."""
    w = subparsers.add_parser(
        "watch",
        help="play a trained agent's policy in a window or the terminal",
        description="Play the trained agent's deterministic policy: in the env's window "
        "where it has one and a display exists, else as text in the terminal.",
    )
    w.add_argument("run_dir", metavar="RUN_DIR")
    _episode_arguments(w, episodes=3)
    w.add_argument(
        "--terminal", action="store_true", help="draw text frames in the terminal even where a window could open"
    )
    w.set_defaults(handler=run_watch)
    r = subparsers.add_parser(
        "record",
        help="render a trained agent's episodes to a GIF or MP4",
        description="Render the env's rgb_array frames of deterministic episodes to a file: "
        "one frame per step plus the reset frame.",
    )
    r.add_argument("run_dir", metavar="RUN_DIR")
    r.add_argument("--out", metavar="FILE.gif|FILE.mp4", help="where to write (default RUN_DIR/videos/eval.gif)")
    _episode_arguments(r, episodes=1)
    r.set_defaults(handler=run_record)


def _episode_arguments(p: argparse.ArgumentParser, episodes: int) -> None:
    p.add_argument("--episodes", type=int, default=episodes, help=f"episodes to play (default {episodes})")
    p.add_argument("--seed", type=int, default=0, help="seed of the first reset, as for rlsuite eval (default 0)")
    p.add_argument("--fps", type=float, help="frames per second (default: the env's render_fps, else 4)")
    p.add_argument("--member", type=int, metavar="S", help="in a directory of seed_<s> runs, the run of seed S")
    p.add_argument("--env", help=ENV_HELP)


def pick_run(path: Path, member: int | None) -> Path:
    """The run directory to play: ``path``, or one of its ``seed_<s>/`` runs (``member``, asked on a
    terminal, else the first, said on stderr)."""
    from rlsuite.driver.checkpoint import latest_checkpoint

    members = {seed: d for seed, d in seed_members(path) if latest_checkpoint(d) is not None}
    if not members:
        if member is not None:
            raise RLSuiteError(
                f"--member {member}: {path} holds no seed_<s> runs with a checkpoint; "
                "give --member only for a directory of seed_<s> runs."
            )
        return path
    seeds = ", ".join(str(s) for s in members)
    if member is None and sys.stdin.isatty():
        try:
            answer = input(f"{path} holds the runs of seeds {seeds}; which one? [{next(iter(members))}] ").strip()
        except EOFError:  # Ctrl-D: the default
            answer = ""
        except KeyboardInterrupt:
            raise RLSuiteError("no seed chosen; give one with --member S.") from None
        try:
            member = int(answer) if answer else next(iter(members))
        except ValueError:
            raise RLSuiteError(f"{answer!r} is not a seed; choose one of {seeds}.") from None
    elif member is None:
        member = next(iter(members))
        print(
            f"{path} holds the runs of seeds {seeds}; showing seed_{member} (choose another with --member S)",
            file=sys.stderr,
        )
    if member not in members:
        raise RLSuiteError(f"{path} has no run of seed {member}; its seeds are {seeds}.")
    return members[member]


def load_run(run_dir: str, member: int | None, env: str | None = None) -> tuple[Path, Any]:
    """(run directory, trained agent) of what ``watch`` / ``record`` were pointed at."""
    from rlsuite.agents import load

    path = pick_run(Path(run_dir), member)
    if (path / "sweep.json").is_file():
        configs = sorted(d for d in path.iterdir() if d.is_dir() and seed_members(d))
        example = f", e.g. rlsuite watch {configs[0]}" if configs else ""
        raise RLSuiteError(
            f"{path} is a sweep directory, not a run; give one of its configuration directories "
            f"(or one of their seed_<s> runs){example}."
        )
    agent = load(path, env=env)
    if agent.env is None:
        raise RLSuiteError(f"{path} does not record its env, so its agent cannot be replayed from the command line.")
    return path, agent


def render_modes(agent) -> tuple[list[str], bool]:
    """The render modes the agent's env declares (``metadata["render_modes"]``), and whether its
    "human" mode is a window: rlsuite's own envs print text there instead."""
    from rlsuite.core.envspec import make_env

    env = make_env(agent.env, **agent.env_kwargs)
    try:
        modes = list(env.metadata.get("render_modes") or [])
        return modes, "human" in modes and not type(env.unwrapped).__module__.startswith("rlsuite.envs")
    finally:
        env.close()


def make_render_env(agent, mode: str, fps: float | None):
    """The agent's env rendering in ``mode``, at ``fps`` where given."""
    from rlsuite.core.envspec import make_env

    env = make_env(agent.env, **{**agent.env_kwargs, "render_mode": mode})
    if fps is not None:  # a window paces itself by render_fps; an instance copy leaves the class's alone
        env.unwrapped.metadata = {**env.unwrapped.metadata, "render_fps": fps}
    return env


def play(agent, env, episodes: int, seed: int, show: Show) -> list[tuple[float, int]]:
    """Play ``episodes`` deterministic episodes, calling ``show`` after each reset and step and
    printing each episode's return and length; returns ``(return, length)`` per episode."""
    results = []
    from rlsuite.core.streams import check_seed

    obs, info = env.reset(seed=check_seed(seed, "--seed"))
    for episode in range(1, episodes + 1):
        total, steps, done = 0.0, 0, False
        show(episode, 0, None, total)
        while not done and steps < MAX_STEPS:
            action = agent.predict(obs, deterministic=True, action_mask=info.get("action_mask"))
            obs, reward, terminated, truncated, info = env.step(action)
            total, steps, done = total + float(reward), steps + 1, terminated or truncated
            show(episode, steps, action, total)
        results.append((total, steps))
        print(f"episode {episode}: return {total:.3f}, length {steps} steps", flush=True)
        if episode < episodes:
            obs, info = env.reset()
    return results


def _check(args: argparse.Namespace) -> None:
    if args.episodes < 1:
        raise RLSuiteError(f"--episodes {args.episodes} must be at least 1.")
    if args.fps is not None and not 0.01 <= args.fps <= 1000:  # a GIF frame lasts <= 655 s; ffmpeg takes no 1e300
        raise RLSuiteError(f"--fps {args.fps} is out of range; choose 0.01 to 1000 frames per second.")


def _display() -> bool:
    """Whether a window can open: a display is set and pygame imports."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        importlib.import_module("pygame")
    except Exception:  # missing, or its SDL libraries are
        return False
    return True


def run_watch(args: argparse.Namespace) -> int:
    """The ``watch`` subcommand; returns the exit status."""
    _check(args)
    _, agent = load_run(args.run_dir, args.member, args.env)
    with quiet_pygame(offscreen=False):
        return _watch(agent, args)


def _watch(agent, args: argparse.Namespace) -> int:
    from rlsuite.core.envspec import env_name

    modes, has_window = render_modes(agent)
    window = not args.terminal and has_window and _display()
    if not window and "ansi" not in modes:
        if has_window:
            why = (
                "it draws no text, only a window (drop --terminal)"
                if args.terminal
                else "it draws only in a "
                "window, and no display is set (DISPLAY / WAYLAND_DISPLAY) or pygame does not import"
            )
        else:
            why = "it renders neither a window nor text"
        hint = f"; rlsuite record {args.run_dir} writes a GIF" if "rgb_array" in modes else ""
        raise RLSuiteError(
            f"cannot watch {env_name(agent.env)}: {why} (render modes: {', '.join(modes) or 'none'}){hint}."
        )
    env = make_render_env(agent, "human" if window else "ansi", args.fps if window else None)
    fps = args.fps or env.metadata.get("render_fps") or 4
    view = TextView(env, args.episodes, fps, tty=sys.stdout.isatty()) if not window else None
    try:
        play(agent, env, args.episodes, args.seed, view.show if view else lambda *_: None)
    except KeyboardInterrupt:
        print()
        return 130
    finally:
        if view:
            view.close()
        env.close()
    return 0


class TextView:
    """Text frames in the terminal: redrawn in place on a TTY at ``fps``, else printed one after another."""

    def __init__(self, env, episodes: int, fps: float, tty: bool) -> None:
        self.env, self.episodes, self.fps, self.tty = env, episodes, fps, tty
        self.lines = 0  # screen lines of the frame on screen, to move up over
        self.action_names = getattr(env.unwrapped, "action_names", None)

    def show(self, episode: int, step: int, action: Any, total: float) -> None:
        frame = self.env.render()
        frame = frame.getvalue() if hasattr(frame, "getvalue") else str(frame)
        head = f"episode {episode}/{self.episodes}  step {step}"
        if action is not None:
            head += f"  action {_action_name(action, self.action_names)}"
        head += f"  return {total:g}"
        text = f"{head}\n{frame.strip(chr(10))}"
        if not self.tty:
            print(text + "\n", flush=True)
            return
        if step == 0:
            self.lines = 0  # keep the last frame of the episode before, and its return line, on screen
        rows, columns = shutil.get_terminal_size()[::-1]
        up = f"\x1b[{self.lines}A\r\x1b[J" if self.lines else ""
        if self.lines >= rows:  # the frame was taller than the screen: moving up cannot reach its top
            up = "\x1b[H\x1b[J"
        sys.stdout.write(("\x1b[?25l" if step == 0 else "") + up + text + "\n")
        sys.stdout.flush()
        self.lines = _screen_lines(text, columns)
        time.sleep(1 / self.fps)

    def close(self) -> None:
        if self.tty:
            sys.stdout.write("\x1b[?25h")  # the cursor back
            sys.stdout.flush()


def _action_name(action: Any, names: Any) -> str:
    try:
        index = int(action)
    except (TypeError, ValueError):
        return str(action)
    return str(names[index]) if names is not None and 0 <= index < len(names) else str(index)


def _screen_lines(text: str, columns: int) -> int:
    """Lines ``text`` takes on a terminal ``columns`` wide (long lines wrap; colour codes take no room)."""
    visible = (len(ANSI_CODE.sub("", line)) for line in text.split("\n"))
    return sum(max(1, -(-n // max(columns, 1))) for n in visible)


def run_record(args: argparse.Namespace) -> int:
    """The ``record`` subcommand; returns the exit status."""
    from rlsuite.core.envspec import env_name

    _check(args)
    run_dir, agent = load_run(args.run_dir, args.member, args.env)
    out = Path(args.out) if args.out else run_dir / "videos" / "eval.gif"
    writer = _writer(out)
    modes, _ = render_modes(agent)
    if "rgb_array" not in modes:
        watch = (
            f"; rlsuite watch {args.run_dir} shows it in the terminal"
            if "ansi" in modes
            else "; rlsuite watch shows it"
            if "human" in modes
            else ""
        )
        raise RLSuiteError(
            f"{env_name(agent.env)} cannot render rgb_array frames (render modes: "
            f"{', '.join(modes) or 'none'}), so there is nothing to record{watch}."
        )
    frames: list = []
    with quiet_pygame(offscreen=True):
        env = make_render_env(agent, "rgb_array", None)
        fps = args.fps or env.metadata.get("render_fps") or 4
        try:
            play(agent, env, args.episodes, args.seed, lambda *_: frames.append(_scaled(env.render())))
        except KeyboardInterrupt:
            print(f"interrupted: nothing written to {out}")
            return 130
        finally:
            env.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    writer(frames, out, fps)
    print(f"{out} ({len(frames)} frames at {fps:g} fps)")
    return 0


def _writer(out: Path) -> Callable[[list, Path, float], None]:
    """The function that writes frames to ``out``, by its suffix; checked before any episode is played."""
    suffix = out.suffix.lower()
    if suffix == ".gif":
        return _write_gif
    if suffix == ".mp4":
        try:
            importlib.import_module("imageio_ffmpeg")
        except ImportError:
            raise RLSuiteError(
                "writing MP4 needs imageio-ffmpeg (pip install imageio-ffmpeg); GIF works as it is: --out FILE.gif."
            ) from None
        return _write_mp4
    raise RLSuiteError(f"--out {out}: record writes .gif or .mp4 files; give a name ending in one of them.")


def _scaled(frame: Any):
    """An HxWx3 uint8 frame scaled up to be seen (:func:`~rlsuite.media.recording.upscale`)."""
    if frame is None:
        raise RLSuiteError("the env's render() returned None in rgb_array mode; it must return an image array.")
    return upscale(frame)


def _write_gif(frames: list, out: Path, fps: float) -> None:
    out.write_bytes(gif_bytes(frames, fps))


def _write_mp4(frames: list, out: Path, fps: float) -> None:
    import imageio_ffmpeg
    import numpy as np

    h, w = frames[0].shape[:2]
    pad = ((0, h % 2), (0, w % 2), (0, 0))  # H.264 in yuv420p needs even sides
    writer = imageio_ffmpeg.write_frames(
        str(out), (w + w % 2, h + h % 2), fps=fps, macro_block_size=2, quality=7, ffmpeg_log_level="error"
    )
    writer.send(None)  # start ffmpeg
    try:
        for frame in frames:
            writer.send(np.ascontiguousarray(np.pad(frame, pad, mode="edge")))
    finally:
        writer.close()
