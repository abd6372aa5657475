"""What a run is asked to do: the loop's settings (``--set`` reaches them), when a run logs,
evaluates, checkpoints and records (:class:`RunSchedule`), and what it returns (:class:`TrainResult`)."""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlsuite.core.config import build_config, hp

#: evaluation envs are seeded apart from the training envs, whose seeds count up from the run's seed
EVAL_SEED_OFFSET = 1_000_003


def set_torch_threads(threads: int) -> None:
    """Small networks on a CPU: more threads add synchronisation, not speed (and change results)."""
    if threads and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


@dataclass
class LoopSettings:
    """Settings of the loop itself (not of an agent); ``--set`` reaches them too."""

    n_envs: int = hp(1, low=1, high=4096, doc="environments stepped side by side")
    eval_freq: int = hp(0, low=0, doc="evaluate every N env steps; 0 = ten times per run")
    eval_episodes: int = hp(10, low=1)
    eval_max_steps: int = hp(10_000, low=1, doc="evaluation cuts an episode that has not ended after this many steps")
    checkpoint_every: int = hp(0, low=0, doc="checkpoint every N env steps; 0 = five times per run")
    keep_checkpoints: int = hp(3, low=1)
    log_interval: int = hp(1000, low=1, doc="env steps between TensorBoard writes")
    max_episodes: int = hp(0, low=0, doc="stop after this many episodes; 0 = no limit")
    torch_threads: int = hp(
        1,
        low=0,
        high=4 * (os.cpu_count() or 1),
        doc="torch CPU threads (at most 4 per CPU core); 0 = leave torch's default",
    )
    save_replay: bool = hp(True, doc="put the replay buffer in checkpoints, for exact resume")
    overwrite: bool = hp(
        False,
        doc="a new run into a directory that holds another run moves that run aside "
        "to RUN.old-<time> instead of refusing",
    )
    progress: bool = hp(True)
    log_images: bool = hp(
        True,
        doc="log the agent's pictures (tabular agents: the Q heatmap, and V and the greedy "
        "policy on the map of a grid env) at the logs, within 2% of the training time",
    )
    video_every: int = hp(
        0,
        low=0,
        doc="record one deterministic evaluation episode every N env steps and at the "
        "end, to RUN_DIR/videos/ and TensorBoard (needs rgb_array); 0 = off",
    )

    @classmethod
    def build(cls, values: dict[str, Any]) -> LoopSettings:
        return build_config(cls, values, owner="the training loop")


LOOP_KEYS = {f.name for f in dataclasses.fields(LoopSettings)}
#: settings of one invocation, not of the run: config.yaml leaves them out
NOT_RECORDED = ("progress", "overwrite")


@dataclass
class TrainResult:
    summary: dict[str, Any]
    episode_returns: list[float] = field(default_factory=list)
    episode_lengths: list[int] = field(default_factory=list)
    run_dir: Path | None = None


@dataclass
class RunSchedule:
    """When a run logs, evaluates and checkpoints, and the seed its evaluations use."""

    total_steps: int
    log_interval: int
    eval_freq: int
    checkpoint_every: int
    eval_seed: int
    next_log: int = 0
    next_eval: int = 0
    next_checkpoint: int = 0
    video_every: int = 0  # 0: no videos
    next_video: int = 0

    @classmethod
    def build(cls, settings: LoopSettings, total_steps: int, seed: int, start_step: int = 0) -> RunSchedule:
        eval_freq = settings.eval_freq or max(total_steps // 10, 1)
        checkpoint_every = settings.checkpoint_every or max(total_steps // 5, 1)
        return cls(
            total_steps,
            settings.log_interval,
            eval_freq,
            checkpoint_every,
            seed + EVAL_SEED_OFFSET,
            start_step + settings.log_interval,
            start_step + eval_freq,
            start_step + checkpoint_every,
            settings.video_every,
            start_step + settings.video_every,
        )

    def log_due(self, step: int) -> bool:
        due = step >= self.next_log or step >= self.total_steps
        self.next_log += self.log_interval if due else 0
        return due

    def eval_due(self, step: int) -> bool:
        due = step >= self.next_eval
        self.next_eval += self.eval_freq if due else 0
        return due

    def checkpoint_due(self, step: int) -> bool:
        due = step >= self.next_checkpoint
        self.next_checkpoint += self.checkpoint_every if due else 0
        return due

    def video_due(self, step: int) -> bool:
        due = bool(self.video_every) and step >= self.next_video
        self.next_video += self.video_every if due else 0
        return due
