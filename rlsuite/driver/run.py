"""One run's bookkeeping: one member's run of :class:`~rlsuite.driver.members.MemberRuns`, which
keeps the K members' runs on one schedule (:class:`RunSchedule`) and evaluates them together, for
the training loop and the Stable-Baselines3 runner alike.

:class:`Run` owns what is the same however the env steps are taken: the run directory
(``config.yaml``, checkpoints, ``summary.json``), the TensorBoard logger (scalars, and the agent's
pictures unless ``log_images`` is off: at every log while they take under :data:`PICTURE_SHARE`
of the training time, and always at the first and the last), the progress display, episode
statistics, the clock (evaluation and recording are not training time) and the final summary.

With ``video_every=N`` the run records one deterministic evaluation episode (the first episode
of an evaluation) every N env steps and at the end, on an ``rgb_array`` env made like the
evaluation env, to ``RUN_DIR/videos/step_<N>.gif`` and TensorBoard's ``videos/eval``.

A run owns its directory while it runs (:mod:`rlsuite.driver.rundir`: an OS lock on
``RUN/.lock``, released by :meth:`Run.finish`, :meth:`Run.abort` or the OS when the process dies),
and SIGTERM stops it as Ctrl-C does: a checkpoint, a summary, ``stop_reason: "interrupted"``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from rlsuite.core.envspec import env_factory, env_name
from rlsuite.core.errors import RLSuiteError
from rlsuite.driver.checkpoint import latest_checkpoint, save_checkpoint
from rlsuite.driver.ctrlc import late_signal, stop_requested
from rlsuite.driver.logger import Progress, RunLogger, event_byte_seconds
from rlsuite.driver.rundir import RunDirLock, claim_run_dir, refuse_link, write_text
from rlsuite.driver.settings import NOT_RECORDED, LoopSettings, RunSchedule, TrainResult
from rlsuite.media.recording import gif_bytes, record_episode, rgb_array_env
from rlsuite.vecenv.vector import ProtocolCheck

if TYPE_CHECKING:
    from rlsuite.learning.agent import Agent

#: the agent's pictures may take this share of the training time (drawing, encoding, the event writer's
#: time for their bytes); a log past it goes without pictures. The first and the last log always have them.
PICTURE_SHARE = 0.02


@dataclass
class PictureClock:
    """Seconds spent on pictures (each run's first pictures aside): one for the runs of all of an agent's
    members, so that K members' pictures together stay within PICTURE_SHARE of the training time."""

    spent: float = 0.0


class Run:
    """The run directory, schedule, logger, progress, episode statistics and clock of one run."""

    def __init__(
        self,
        agent: Agent,
        total_steps: int,
        run_dir: Path | None,
        settings: LoopSettings,
        resumed: dict[str, Any] | None = None,
        lock: RunDirLock | None = None,
        pictures: PictureClock | None = None,
        prunes: bool = True,
    ) -> None:
        """``lock``: the run directory as :func:`claim_run_dir` returned it, where the caller claimed it
        already (the loop does, before reading the checkpoint it resumes); else it is claimed here.
        ``pictures``: the picture time shared with other members' runs (else this run's own).
        ``prunes``: whether a checkpoint prunes the older ones (else the caller does)."""
        resumed = resumed or {}
        self.prunes = prunes
        self.pictures = pictures or PictureClock()
        if run_dir is not None and lock is None:
            lock = claim_run_dir(run_dir, resume=bool(resumed), overwrite=settings.overwrite)
        self.lock = lock
        try:
            self._start(agent, total_steps, run_dir, settings, resumed)
        except BaseException:
            if getattr(self, "logger", None) is not None:
                self.logger.close()
            if getattr(self, "video_env", None) is not None:
                self.video_env.close()
            if lock is not None:
                lock.release()
            raise

    def _start(
        self, agent: Agent, total_steps: int, run_dir: Path | None, settings: LoopSettings, resumed: dict[str, Any]
    ) -> None:
        self.agent, self.total_steps, self.run_dir, self.settings = agent, int(total_steps), run_dir, settings
        self.start_step = self.step = int(resumed.get("step", 0))
        self.episodes = int(resumed.get("episodes", 0))
        self.failure: str | None = None  # the error of this member's env, where it raised (K members)
        self.schedule = RunSchedule.build(settings, self.total_steps, agent.seed, self.start_step)
        self.recorded_at, self.last_images = -1, {}
        self.pictures_logged = 0  # how often this run logged pictures
        # made first: an env that cannot render rgb_array is one line before anything is written
        self.video_env = rgb_array_env(agent.env, agent.env_kwargs) if settings.video_every and run_dir else None
        # points at the checkpoint's own step were logged before it was written; later ones are replayed
        self.logger = RunLogger(run_dir, purge_step=self.start_step + 1 if resumed else None)
        self.progress = Progress(self.total_steps, self.start_step, settings.progress)
        self._env: ProtocolCheck | None = None  # made when first asked for
        self.returns: list[float] = []
        self.lengths: list[int] = []
        self.recent: deque[float] = deque(maxlen=20)
        self.last_eval, self.evaluated_at, self.logged_at = (math.nan, math.nan), -1, self.start_step
        if "evaluated_at" in resumed:  # a checkpoint written after an evaluation at its step: not logged twice
            self.evaluated_at = int(resumed["evaluated_at"])
            self.last_eval = tuple(float(x) for x in resumed["last_eval"])
        self.hparams_at = int(resumed.get("hparams_at", -1))  # the step the hparams summary was written at
        self.wall_before, self.t0 = float(resumed.get("wall_s", 0.0)), time.perf_counter()
        self.eval_s = float(resumed.get("eval_s", 0.0))  # evaluating and recording: not training time
        if run_dir is not None and not (resumed and (run_dir / "config.yaml").is_file()):
            # a resumed run keeps the config.yaml that describes it
            write_text(run_dir / "config.yaml", yaml.safe_dump(self.config(), sort_keys=False))

    @property
    def env(self) -> ProtocolCheck:
        """An env made like the training envs at first use (the agent's ``begin`` gets it)."""
        if self._env is None:
            self._env = ProtocolCheck(env_factory(self.agent.env, **self.agent.env_kwargs)(), env_name(self.agent.env))
        return self._env

    def close_env(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None

    def config(self) -> dict[str, Any]:
        """Everything needed to rerun this run, as written to ``config.yaml``."""
        return {
            "env": env_name(self.agent.env),
            "env_kwargs": self.agent.env_kwargs,
            "agent": self.agent.name,
            "seed": self.agent.seed,
            "steps": self.total_steps,
            "hyperparameters": self.agent.hyperparameters(),
            "loop": {k: v for k, v in dataclasses.asdict(self.settings).items() if k not in NOT_RECORDED},
        }

    # ----- during the run -------------------------------------------------------------------
    def add_episode(self, episode_return: float, length: int, metrics: dict[str, float] | None = None) -> None:
        self.returns.append(episode_return)
        self.lengths.append(length)
        self.recent.append(episode_return)
        self.episodes += 1
        self.logger.add("charts/episodic_return", episode_return)
        self.logger.add("charts/episodic_length", length)
        for name, value in (metrics or {}).items():
            self.logger.add(f"env/{name}", value)

    @property
    def episode_limit_reached(self) -> bool:
        return bool(self.settings.max_episodes) and self.episodes >= self.settings.max_episodes

    def training_seconds(self) -> float:
        return time.perf_counter() - self.t0

    def log(self, final: bool = False) -> None:
        sps = (self.step - self.start_step) / max(self.training_seconds(), 1e-9)
        self.logger.add("charts/SPS", sps)
        self.logger.add_many(self.agent.logged_scalars())
        means = self.logger.flush(self.step)  # the agent's scalars and the losses of this interval
        if (
            self.settings.log_images
            and self.logger.writes
            and (final or self.pictures.spent <= PICTURE_SHARE * self.training_seconds())
        ):
            self.log_images()
        self.logged_at = self.step
        self.progress.update(
            self.step,
            sps,
            float(np.mean(self.recent)) if self.recent else None,
            {**means, "eval/mean_return": self.last_eval[0], "time/eval_s": self.eval_s},
        )

    def log_images(self) -> None:
        """Write the agent's pictures; one the same as the last written under its tag is left out (it
        would show nothing new, and every byte of an event file costs time on TensorBoard's writer).
        Their cost counts towards PICTURE_SHARE, but for the first pictures' (fonts, caches)."""
        start, written = time.perf_counter(), 0
        for tag, image in self.agent.logged_images().items():
            if not np.array_equal(image, self.last_images.get(tag)):
                written += self.logger.image(tag, image, self.step)
                self.last_images[tag] = image
        if self.pictures_logged:
            self.pictures.spent += time.perf_counter() - start + written * event_byte_seconds()
        self.pictures_logged += 1

    def record_eval(self, result: tuple[float, float], seconds: float) -> None:
        """Log an evaluation's (mean, std) at this step; its ``seconds`` are not training time."""
        self.last_eval = result
        self.evaluated_at = self.step
        if not math.isfinite(self.last_eval[0]) and not stop_requested():  # nan: a signal cut it before an episode
            self.fault("evaluation return", self.step)
        self.logger.write("eval/mean_return", self.last_eval[0], self.step)
        self.t0 += seconds  # evaluation is not training time (wall_s, SPS)
        self.eval_s += seconds

    def record(self) -> None:
        """Record one deterministic evaluation episode to ``videos/step_<N>.gif`` and ``videos/eval``."""
        if self.video_env is None:
            return
        start = time.perf_counter()
        frames = record_episode(
            self.agent.single(), self.video_env, self.schedule.eval_seed, self.settings.eval_max_steps
        )
        gif = gif_bytes(frames, self.video_env.metadata.get("render_fps") or 4)
        videos = self.run_dir / "videos"
        refuse_link(videos)
        videos.mkdir(exist_ok=True)
        refuse_link(videos / f"step_{self.step}.gif")
        (videos / f"step_{self.step}.gif").write_bytes(gif)
        self.logger.encoded_image("videos/eval", gif, frames[0].shape[0], frames[0].shape[1], self.step)
        self.recorded_at = self.step
        self.t0 += time.perf_counter() - start  # recording is not training time (wall_s, SPS)
        self.eval_s += time.perf_counter() - start

    def checkpoint(self, loop_state: dict[str, Any] | None = None) -> None:
        if self.run_dir is None:
            return
        state = {
            "step": self.step,
            "episodes": self.episodes,
            "wall_s": self.wall_before + self.training_seconds(),
            "eval_s": self.eval_s,
            "evaluated_at": self.evaluated_at,
            "last_eval": [float(x) for x in self.last_eval],
            "hparams_at": self.hparams_at,
            **(loop_state or {}),
        }
        save_checkpoint(
            self.agent.single(),
            self.run_dir,
            self.step,
            state,
            self.settings.keep_checkpoints if self.prunes else None,
            with_replay=self.settings.save_replay,
        )

    def fault(self, what: str, step: int) -> None:
        """Stop the run on a non-finite number, keeping the last good checkpoint."""
        last = latest_checkpoint(self.run_dir) if self.run_dir is not None else None
        kept = f"the last good checkpoint {last} is kept" if last else "no checkpoint was written yet"
        raise RLSuiteError(
            f"non-finite {what} at step {step}: the run stopped and {kept}; "
            "lower the learning rate or check the env's numbers."
        )

    # ----- the end ----------------------------------------------------------------------------
    def abort(self) -> None:
        """Close after a fault: write what was gathered since the last write (episodes, losses);
        the last good checkpoint stays as it is, and the run directory is given up."""
        try:
            if self.step > self.logged_at:
                self.logger.flush(self.step)
                self.logged_at = self.step
            self.progress.close()
            self.logger.close()
            self.close_env()
            if self.video_env is not None:
                self.video_env.close()
        finally:
            self.release()

    def release(self) -> None:
        """Give up the run directory (idempotent)."""
        if self.lock is not None:
            self.lock.release()

    def stop_reason(self, interrupted: bool) -> str:
        """Why the run stopped: ``env error`` (its env raised; one member of several), ``interrupted``
        (Ctrl-C), ``max_episodes``, or ``steps`` (it ran them all)."""
        if self.failure is not None:
            return "env error"
        if interrupted:
            return "interrupted"
        return "max_episodes" if self.episode_limit_reached and self.step < self.total_steps else "steps"

    def finish(
        self, interrupted: bool, loop_state: dict[str, Any] | None = None, signal_name: str | None = None
    ) -> TrainResult:
        """Flush the curves (also when no logging interval was reached), checkpoint, and write
        ``summary.json``, however the run stopped; its final evaluation was recorded before
        (:meth:`MemberRuns.finish <rlsuite.driver.members.MemberRuns.finish>` evaluates all members at once).
        ``signal_name`` ("SIGINT" or "SIGTERM") is the signal that interrupted the run, where one did;
        the summary records it as ``signal``."""
        try:
            return self._finish(interrupted, loop_state, (signal_name or "SIGINT") if interrupted else None)
        except BaseException:
            self.abort()
            raise
        finally:
            self.release()

    def _finish(self, interrupted: bool, loop_state: dict[str, Any] | None, signal_name: str | None) -> TrainResult:
        wall = self.wall_before + self.training_seconds()
        if self.step > self.logged_at:
            self.log(final=True)
        self.progress.close()
        self.close_env()
        if self.video_env is not None:
            if self.recorded_at != self.step:
                self.record()
            self.video_env.close()
        eval_mean, eval_std = self.last_eval
        if self.hparams_at != self.step:  # before the checkpoint, which records it: a resume does not write it twice
            config = self.config()
            columns = {
                **config["hyperparameters"],
                "env": config["env"],
                "agent": config["agent"],
                "seed": config["seed"],
            }
            table = {k: v for k, v in config.items() if k not in ("hyperparameters", "loop")}
            table.update({**config["hyperparameters"], **{f"loop.{k}": v for k, v in config["loop"].items()}})
            self.logger.hparams(columns, {"hparam/eval_mean_return": eval_mean}, self.step, table)
            self.hparams_at = self.step
        if self.failure is None:  # a failed member's newest checkpoint is its last good state: resumed from there
            self.checkpoint(loop_state)
        summary = {
            "env": env_name(self.agent.env),
            "agent": self.agent.name,
            "seed": self.agent.seed,
            "steps": self.step,
            "requested_steps": self.total_steps,
            "episodes": self.episodes,
            "wall_s": round(wall, 3),
            "sps": round(self.step / wall, 1) if wall > 0 else 0.0,
            "eval_s": round(self.eval_s, 3),
            "eval_mean_return": eval_mean,
            "eval_std_return": eval_std,
            "interrupted": interrupted,
            "stop_reason": self.stop_reason(interrupted),
            **self.agent.summary_metrics(),
        }
        if self.failure is not None:
            summary["error"] = self.failure
        if signal_name or late_signal():
            summary["signal"] = signal_name or late_signal()
        if stop_requested():
            summary["final_eval_cut"] = True  # a signal while the run finished: evaluated on fewer episodes
        self.logger.close()
        if self.run_dir is not None:
            write_text(self.run_dir / "summary.json", json.dumps(summary, indent=1))
        return TrainResult(summary, self.returns, self.lengths, self.run_dir)
