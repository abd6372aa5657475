"""The one training loop that drives every agent.

It owns the environments (a Gymnasium vector env with same-step autoreset), episode
statistics (Gymnasium's RecordEpisodeStatistics), periodic deterministic evaluation on a
separate seeded env, TensorBoard logging, checkpoints, the progress display and the summary.
Agents only turn observations into actions and transitions into updates.
"""

from __future__ import annotations

import dataclasses
import json
import math
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import yaml

from rlsuite.training.agent import Agent, Transition
from rlsuite.training.checkpoint import latest_checkpoint, restore_into, save_checkpoint
from rlsuite.core.config import build_config, hp
from rlsuite.core.envspec import env_factory, env_name
from rlsuite.core.errors import RLSuiteError
from rlsuite.training.evaluation import evaluate
from rlsuite.training.logger import Progress, RunLogger
from rlsuite.training.vector import SingleEnvVector, make_vector_env


@dataclass
class LoopSettings:
    """Settings of the loop itself (not of an agent); ``--set`` reaches them too."""

    n_envs: int = hp(1, low=1, doc="environments stepped side by side")
    eval_freq: int = hp(0, low=0, doc="evaluate every N env steps; 0 = ten times per run")
    eval_episodes: int = hp(10, low=1)
    checkpoint_every: int = hp(0, low=0, doc="checkpoint every N env steps; 0 = five times per run")
    keep_checkpoints: int = hp(3, low=1)
    log_interval: int = hp(1000, low=1, doc="env steps between TensorBoard writes")
    max_episodes: int = hp(0, low=0, doc="stop after this many episodes; 0 = no limit")
    torch_threads: int = hp(1, low=0, doc="torch CPU threads; 0 = leave torch's default")
    save_replay: bool = hp(True, doc="put the replay buffer in checkpoints, for exact resume")
    progress: bool = hp(True)

    @classmethod
    def build(cls, values: dict[str, Any]) -> "LoopSettings":
        return build_config(cls, values, owner="the training loop")


LOOP_KEYS = {f.name for f in dataclasses.fields(LoopSettings)}


@dataclass
class TrainResult:
    summary: dict[str, Any]
    episode_returns: list[float] = field(default_factory=list)
    episode_lengths: list[int] = field(default_factory=list)
    run_dir: Path | None = None


class CtrlC:
    """While active, Ctrl-C (SIGINT) sets ``requested`` instead of raising, and the loop stops at
    the end of the step. A KeyboardInterrupt raised inside a TensorBoard write can leave the
    writer unable to close; a second Ctrl-C still raises at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def install(self) -> "CtrlC":
        if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def __enter__(self) -> "CtrlC":
        return self.install()

    def __exit__(self, *exc: Any) -> None:
        self.restore()


def _with_final(batch: Any, dones: np.ndarray, final: np.ndarray) -> Any:
    """``batch`` with the rows of finished envs replaced by their final observations."""
    if len(dones) == 1 and not isinstance(batch, tuple):
        return np.asarray(final[0])[None]
    idx = np.flatnonzero(dones)
    if isinstance(batch, tuple):
        parts = tuple(np.array(p, copy=True) for p in batch)
        for i in idx:
            for part, value in zip(parts, final[i]):
                part[i] = value
        return parts
    out = np.array(batch, copy=True)
    for i in idx:
        out[i] = final[i]
    return out


def _exact_q(agent: Agent, env: gym.Env) -> tuple[np.ndarray, np.ndarray] | None:
    """q* and A(s) for tabular agents on envs that carry ``P`` (for ``tabular/q_error``)."""
    if not hasattr(agent, "q_table") or getattr(env.unwrapped, "P", None) is None:
        return None
    from rlsuite.core.solver import tabular_mdp, value_iteration

    try:
        mdp = tabular_mdp(env)
        if mdp.reward.shape != agent.q_table.shape or agent.config.gamma >= 1:
            return None
        return value_iteration(mdp, agent.config.gamma)[0], mdp.allowed
    except RLSuiteError:
        return None


def run_config(agent: Agent, total_steps: int, settings: LoopSettings) -> dict[str, Any]:
    """Everything needed to rerun a run, as written to ``config.yaml``."""
    return {
        "env": env_name(agent.env),
        "env_kwargs": agent.env_kwargs,
        "agent": agent.name,
        "seed": agent.seed,
        "steps": int(total_steps),
        "hyperparameters": agent.hyperparameters(),
        "loop": {k: v for k, v in dataclasses.asdict(settings).items() if k != "progress"},
    }


def finish_run(agent: Agent, run_dir: Path | None, logger: RunLogger, step: int, total_steps: int, episodes: int,
               wall: float, eval_mean: float, eval_std: float, interrupted: bool, **extra: Any) -> dict[str, Any]:
    """Log the hyperparameters, close the logger and write ``summary.json``; return the summary."""
    summary = {
        "env": env_name(agent.env),
        "agent": agent.name,
        "seed": agent.seed,
        "steps": step,
        "requested_steps": int(total_steps),
        "episodes": episodes,
        "wall_s": round(wall, 3),
        "sps": round(step / wall, 1) if wall > 0 else 0.0,
        "eval_mean_return": eval_mean,
        "eval_std_return": eval_std,
        "interrupted": interrupted,
        **extra,
    }
    logger.hparams(agent.hyperparameters(), {"hparam/eval_mean_return": eval_mean})
    logger.close()
    if run_dir is not None:
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def train(
    agent: Agent,
    total_steps: int,
    run_dir: str | Path | None = None,
    settings: LoopSettings | None = None,
    resume: bool = False,
) -> TrainResult:
    """Train ``agent`` on its env for ``total_steps`` env steps (all envs together)."""
    settings = settings or LoopSettings()
    if total_steps < 0:
        raise RLSuiteError(f"steps={total_steps} is negative; give the number of env steps to train for (>= 0).")
    if agent.env is None:
        raise RLSuiteError("this agent has no env; build it with rlsuite.make_agent(name, env).")
    run_dir = Path(run_dir) if run_dir is not None else None
    if agent.collects_itself:  # Stable-Baselines3 algorithms step their env themselves
        return agent.train_itself(total_steps, run_dir, settings, resume)
    eval_freq = settings.eval_freq or max(total_steps // 10, 1)
    checkpoint_every = settings.checkpoint_every or max(total_steps // 5, 1)
    n_envs = settings.n_envs

    start_step, episodes_done, wall_before, resumed = 0, 0, 0.0, {}
    if resume:
        latest = latest_checkpoint(run_dir) if run_dir is not None else None
        if latest is None:
            raise RLSuiteError(f"cannot resume: {run_dir} holds no checkpoint; start a new run without resume.")
        resumed = restore_into(agent, latest, with_replay=True).get("loop", {})
        start_step = int(resumed.get("step", 0))
        episodes_done = int(resumed.get("episodes", 0))
        wall_before = float(resumed.get("wall_s", 0.0))

    make = env_factory(agent.env, **agent.env_kwargs)
    envs = make_vector_env(make, n_envs)
    eval_env = make()
    exact = _exact_q(agent, eval_env)

    def q_error() -> float:  # max |Q - q*| over the actions in A(s)
        q_star, allowed = exact
        return float(np.abs(agent.q_table - q_star)[allowed].max())

    # points at the checkpoint's own step were logged before it was written; later ones are replayed
    logger = RunLogger(run_dir, purge_step=start_step + 1 if resume else None)

    if settings.torch_threads and "torch" in sys.modules:
        # small networks on a CPU: more threads add synchronisation, not speed (and change results)
        sys.modules["torch"].set_num_threads(settings.torch_threads)
    agent.begin(total_steps)
    agent.num_timesteps = start_step
    obs, infos = envs.reset(seed=agent.seed + start_step)
    if resumed.get("rng_before_reset") is not None and isinstance(envs, SingleEnvVector):
        # the checkpoint was taken at an episode boundary: replay that reset, so the run goes on exactly
        obs, infos = envs.restore_reset(resumed["rng_before_reset"])
    mask = infos.get("action_mask")

    returns: list[float] = []
    lengths: list[int] = []
    recent = deque(maxlen=20)
    progress = Progress(total_steps, start_step, settings.progress)
    eval_mean = eval_std = float("nan")
    step = start_step
    next_log, next_eval, next_ckpt = step + settings.log_interval, step + eval_freq, step + checkpoint_every
    check_obs = isinstance(envs.single_observation_space, gym.spaces.Box) and envs.single_observation_space.dtype.kind == "f"

    def _fault(what: str, at_step: int) -> None:
        last = latest_checkpoint(run_dir) if run_dir is not None else None
        kept = f"the last good checkpoint {last} is kept" if last else "no checkpoint was written yet"
        raise RLSuiteError(f"non-finite {what} at step {at_step}: the run stopped and {kept}; "
                           "lower the learning rate or check the env's numbers.")

    t0 = time.perf_counter()
    interrupted = False
    at_boundary = False  # did the last step end the (single) env's episode?

    def checkpoint() -> None:
        if run_dir is None:
            return
        loop_state = {"step": step, "episodes": episodes_done, "wall_s": wall_before + time.perf_counter() - t0,
                      "rng_before_reset": getattr(envs, "rng_before_reset", None) if at_boundary else None}
        save_checkpoint(agent, run_dir, step, loop_state, settings.keep_checkpoints, with_replay=settings.save_replay)

    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.yaml").write_text(yaml.safe_dump(run_config(agent, total_steps, settings), sort_keys=False))
    ctrl_c = CtrlC().install()  # restored in the finally below
    try:
        while step < total_steps and not ctrl_c.requested:
            actions = agent.act(obs, mask)
            next_obs, rewards, terminated, truncated, infos = envs.step(actions)
            if not all(map(math.isfinite, rewards.tolist())):  # cheaper than numpy for a handful of envs
                _fault("reward", step + n_envs)
            real_next, next_mask = next_obs, infos.get("action_mask")
            at_boundary = "final_obs" in infos
            if at_boundary:  # some episode ended (same-step autoreset puts its last obs here)
                dones = infos["_final_obs"]
                real_next = _with_final(next_obs, dones, infos["final_obs"])
                final_info = infos["final_info"]
                if next_mask is not None:
                    next_mask = _with_final(next_mask, dones, final_info["action_mask"])
                episode = infos["episode"]
                for i in np.flatnonzero(dones).tolist():
                    returns.append(float(episode["r"][i]))
                    lengths.append(int(episode["l"][i]))
                    recent.append(returns[-1])
                    logger.add("charts/episodic_return", returns[-1])
                    logger.add("charts/episodic_length", lengths[-1])
                    metrics = final_info.get("metrics")
                    if metrics:
                        for name, values in metrics.items():
                            if not name.startswith("_") and metrics.get(f"_{name}", np.ones(n_envs, bool))[i]:
                                logger.add(f"env/{name}", float(values[i]))
                episodes_done += int(dones.sum())
            if check_obs and not np.isfinite(real_next).all():
                _fault("observation", step + n_envs)
            metrics = agent.observe(
                Transition(obs, actions, rewards, real_next, terminated, truncated, next_mask)
            )
            if metrics:
                for name, value in metrics.items():
                    if not math.isfinite(value):
                        _fault(f"{name.split('/')[-1].replace('_', ' ')} ({name})", step + n_envs)
                logger.add_many(metrics)
            obs, mask = next_obs, infos.get("action_mask")
            step += n_envs

            if step >= next_log or step >= total_steps:
                next_log += settings.log_interval
                sps = (step - start_step) / max(time.perf_counter() - t0, 1e-9)
                logger.add("charts/SPS", sps)
                logger.add_many(agent.logged_scalars())
                if exact is not None:
                    logger.add("tabular/q_error", q_error())
                logger.flush(step)
                progress.update(step, sps, float(np.mean(recent)) if recent else None)
            if step >= next_eval:
                next_eval += eval_freq
                eval_start = time.perf_counter()
                eval_mean, eval_std = evaluate(agent, eval_env, settings.eval_episodes, seed=agent.seed + 1_000_003)
                logger.write("eval/mean_return", eval_mean, step)
                t0 += time.perf_counter() - eval_start  # evaluation is not training time (wall_s, SPS)
            if step >= next_ckpt:
                next_ckpt += checkpoint_every
                checkpoint()
            if settings.max_episodes and episodes_done >= settings.max_episodes:
                break
    except KeyboardInterrupt:
        interrupted = True
    except RLSuiteError:
        logger.close()  # keep what was logged; the last good checkpoint stays as it is
        raise
    finally:
        progress.close()
        envs.close()
        ctrl_c.restore()
    interrupted = interrupted or ctrl_c.requested

    wall = wall_before + time.perf_counter() - t0
    if math.isnan(eval_mean) or step % eval_freq:
        eval_mean, eval_std = evaluate(agent, eval_env, settings.eval_episodes, seed=agent.seed + 1_000_003)
        logger.write("eval/mean_return", eval_mean, step)
    eval_env.close()
    checkpoint()
    extra = {"q_error": q_error()} if exact is not None else {}
    summary = finish_run(agent, run_dir, logger, step, total_steps, episodes_done, wall, eval_mean, eval_std,
                         interrupted, **extra)
    return TrainResult(summary, returns, lengths, run_dir)
