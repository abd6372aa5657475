"""The one training loop that drives every agent.

It owns the environments (a Gymnasium vector env with same-step autoreset and Gymnasium's
episode statistics) and the step: act, ``env.step``, hand the transition to the agent. The
run's bookkeeping — schedule, evaluation, logging, checkpoints, summary — is
:class:`~rlsuite.training.run.Run`'s. The loop calls the agent's interface only
(``begin``, ``act``, ``observe`` and the hooks the run calls); it knows no particular agent.

The run directory is claimed (locked and checked, :mod:`rlsuite.training.rundir`) before anything
reads or writes it, the checkpoint a resumed run starts from included. SIGINT and SIGTERM stop the
run at the end of a step, with a checkpoint and a summary; any other way out gives the directory up.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
import yaml

from rlsuite.core.envspec import env_factory, env_name
from rlsuite.core.errors import RLSuiteError
from rlsuite.core.transition import Transition
from rlsuite.training.checkpoint import latest_checkpoint, read_checkpoint, restore_into
from rlsuite.training.run import LOOP_KEYS, CtrlC, LoopSettings, Run, TrainResult
from rlsuite.training.rundir import claim_run_dir
from rlsuite.training.vector import SingleEnvVector, make_vector_env

if TYPE_CHECKING:
    from rlsuite.training.agent import Agent

__all__ = ["LOOP_KEYS", "LoopSettings", "TrainResult", "train"]


def train(agent: "Agent", total_steps: int, run_dir: str | Path | None = None, settings: LoopSettings | None = None,
          resume: bool = False) -> TrainResult:
    """Train ``agent`` on its env for ``total_steps`` env steps (all envs together)."""
    settings = settings or LoopSettings()
    if total_steps < 0:
        raise RLSuiteError(f"steps={total_steps} is negative; give the number of env steps to train for (>= 0).")
    if agent.env is None:
        raise RLSuiteError("this agent has no env; build it with rlsuite.make_agent(name, env).")
    run, envs, resumed = _start(agent, total_steps, Path(run_dir) if run_dir is not None else None, settings, resume)
    ctrl_c = CtrlC().install()
    stepper = None
    try:
        set_torch_threads(settings.torch_threads)
        agent.begin(total_steps, run.eval_env)
        agent.num_timesteps = run.step
        stepper = Stepper(agent, envs, run, resumed.get("rng_before_reset"))
        while run.step < total_steps and not ctrl_c.requested and not run.episode_limit_reached:
            stepper.step()
            run.after_step(stepper.step_count, stepper.loop_state)
        interrupted = ctrl_c.requested
    except KeyboardInterrupt:
        interrupted = True
    except BaseException:
        run.abort()
        raise
    finally:
        envs.close()
        ctrl_c.restore()
    signal_name = ctrl_c.signal or ("SIGINT" if interrupted else None)  # a KeyboardInterrupt is a SIGINT
    return run.finish(interrupted, stepper.loop_state() if stepper is not None else None, signal_name)


def _start(agent: "Agent", total_steps: int, run_dir: Path | None, settings: LoopSettings,
           resume: bool) -> tuple[Run, gym.vector.VectorEnv, dict[str, Any]]:
    """Claim the run directory, restore the checkpoint a resumed run goes on from, make the envs and
    the run; on any failure give back what was taken."""
    lock = claim_run_dir(run_dir, resume, settings.overwrite) if run_dir is not None else None
    envs = None
    try:
        resumed = _restore(agent, run_dir, settings.n_envs) if resume else {}
        envs = make_vector_env(env_factory(agent.env, **agent.env_kwargs), settings.n_envs, env_name(agent.env))
        run = Run(agent, total_steps, run_dir, settings, resumed, lock)
    except BaseException:
        if lock is not None:
            lock.release()
        if envs is not None:
            envs.close()
        raise
    return run, envs, resumed


def _restore(agent: "Agent", run_dir: Path | None, n_envs: int) -> dict[str, Any]:
    """Load the newest checkpoint of ``run_dir`` into ``agent``; return the loop's counters."""
    latest = latest_checkpoint(run_dir) if run_dir is not None else None
    if latest is None:
        raise RLSuiteError(f"cannot resume: {run_dir} holds no checkpoint; start a new run without resume.")
    loop = restore_into(agent, latest, with_replay=True).get("loop", {})  # refuses another agent or spaces
    _refuse_changes(agent, run_dir, latest, n_envs)
    return loop


def _refuse_changes(agent: "Agent", run_dir: Path, checkpoint: Path, n_envs: int) -> None:
    """A resumed run is the same run: the same env (and arguments) and the same hyperparameters
    (the device may change); else one line naming what differs."""
    meta = read_checkpoint(checkpoint)[0]
    if meta.get("env") != env_name(agent.env) or (meta.get("env_kwargs") or {}) != agent.env_kwargs:
        raise RLSuiteError(f"cannot resume {run_dir}: it trained on {meta.get('env')!r} {meta.get('env_kwargs') or ''}, "
                           f"not {env_name(agent.env)!r} {agent.env_kwargs or ''}; resume with its own env or start a new run.")
    config = run_dir / "config.yaml"
    before = (yaml.safe_load(config.read_text()) or {}).get("loop", {}).get("n_envs") if config.is_file() else None
    if before is not None and before != n_envs:
        raise RLSuiteError(f"cannot resume {run_dir} with n_envs={n_envs}: it ran {before} envs side by side, and its "
                           f"replay and episodes are laid out for them; resume with n_envs={before}.")
    saved, mine = dict(meta.get("hyperparameters") or {}), agent.hyperparameters()
    changed = sorted(k for k in set(saved) | set(mine) if k != "device" and saved.get(k) != mine.get(k))
    if changed:
        shown = ", ".join(f"{k}={saved.get(k)!r} (asked {mine.get(k)!r})" for k in changed)
        raise RLSuiteError(f"cannot resume {run_dir} with other hyperparameters: {shown}; resume with the run's own "
                           "(drop the --set) or start a new run, e.g. with --config RUN_DIR/config.yaml.")


def set_torch_threads(threads: int) -> None:
    """Small networks on a CPU: more threads add synchronisation, not speed (and change results)."""
    if threads and "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


class Stepper:
    """Steps the vector env with the agent's actions and hands each transition to the agent."""

    def __init__(self, agent: "Agent", envs: gym.vector.VectorEnv, run: Run, rng_before_reset: Any = None) -> None:
        self.agent, self.envs, self.run = agent, envs, run
        self.n_envs = envs.num_envs
        self.step_count = run.step
        self.obs, infos = envs.reset(seed=agent.seed + run.step)
        if isinstance(envs, SingleEnvVector):
            envs.env.steps = run.step  # the env's faults name the run's step
            if rng_before_reset is not None:
                # the checkpoint was taken at an episode boundary: replay that reset, so the run goes on exactly
                self.obs, infos = envs.restore_reset(rng_before_reset)
        self.mask = infos.get("action_mask")
        self.mask_row_bytes = 0  # set by the first check of a mask
        if self.mask is not None:
            self._check_mask(self.mask, run.step)
        self.at_boundary = False  # did the last step end the (single) env's episode?
        space = envs.single_observation_space
        self.check_obs = isinstance(space, gym.spaces.Box) and space.dtype.kind == "f"

    def loop_state(self) -> dict[str, Any]:
        """What a checkpoint needs besides the run's counters to go on exactly."""
        return {"rng_before_reset": getattr(self.envs, "rng_before_reset", None) if self.at_boundary else None}

    def step(self) -> None:
        actions = self.agent.act(self.obs, self.mask)
        next_obs, rewards, terminated, truncated, infos = self.envs.step(actions)
        at = self.step_count + self.n_envs
        if not all(map(math.isfinite, rewards.tolist())):  # cheaper than numpy for a handful of envs
            self.run.fault("reward", at)
        real_next, next_mask = next_obs, infos.get("action_mask")
        self.at_boundary = "final_obs" in infos
        if self.at_boundary:  # some episode ended (same-step autoreset puts its last obs here)
            real_next, next_mask = self._episodes_ended(infos, next_obs, next_mask)
        if self.check_obs and not np.isfinite(real_next).all():
            self.run.fault("observation", at)
        metrics = self.agent.observe(Transition(self.obs, actions, rewards, real_next, terminated, truncated,
                                                self.mask, next_mask))
        if metrics:
            for name, value in metrics.items():
                if not math.isfinite(value):
                    self.run.fault(f"{name.split('/')[-1].replace('_', ' ')} ({name})", at)
            self.run.logger.add_many(metrics)
        self.obs, self.mask = next_obs, infos.get("action_mask")
        # a row with no allowed action has at least a row's worth of zero bytes: most steps stop here
        if self.mask is not None and self.mask.tobytes().count(0) >= self.mask_row_bytes:
            self._check_mask(self.mask, at)
        self.step_count = at

    def _check_mask(self, mask: np.ndarray, at: int) -> None:
        """One line if a row of ``mask`` (one per env) allows no action."""
        mask = np.asarray(mask)
        self.mask_row_bytes = mask.shape[-1] * mask.itemsize if mask.ndim else 1
        if not mask.reshape(mask.shape[0] if mask.ndim > 1 else 1, -1).any(axis=1).all():
            raise RLSuiteError(f"the env's action mask at step {at} allows no action; every state needs at least one "
                               f"allowed action (env {env_name(self.agent.env)!r} gave info['action_mask'] all zero).")

    def _episodes_ended(self, infos: dict[str, Any], next_obs: Any, next_mask: Any) -> tuple[Any, Any]:
        """Record the finished episodes; return the true next observations and masks."""
        dones, final_info = infos["_final_obs"], infos["final_info"]
        real_next = _with_final(next_obs, dones, infos["final_obs"])
        if next_mask is not None:
            next_mask = _with_final(next_mask, dones, final_info["action_mask"])
        episode, metrics = infos["episode"], final_info.get("metrics") or {}
        for i in np.flatnonzero(dones).tolist():
            mine = {name: float(values[i]) for name, values in metrics.items()
                    if not name.startswith("_") and metrics.get(f"_{name}", np.ones(self.n_envs, bool))[i]}
            self.run.add_episode(float(episode["r"][i]), int(episode["l"][i]), mine)
        return real_next, next_mask


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
