"""The one training loop that drives every agent.

It owns the environments (a Gymnasium vector env with same-step autoreset and Gymnasium's
episode statistics) and the step: act, ``env.step``, hand the transition to the agent. The
run's bookkeeping — schedule, evaluation, logging, checkpoints, summary — is
:class:`~rlsuite.driver.run.Run`'s. The loop calls the agent's interface only
(``begin``, ``act``, ``observe`` and the hooks the run calls); it knows no particular agent.

The run directory is claimed (locked and checked, :mod:`rlsuite.driver.rundir`) before anything
reads or writes it, the checkpoint a resumed run starts from included. SIGINT and SIGTERM stop the
run at the end of a step, with a checkpoint and a summary; any other way out gives the directory up.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
import yaml

from rlsuite.core.envspec import env_factory, env_name
from rlsuite.core.errors import RLSuiteError
from rlsuite.core.transition import Transition
from rlsuite.driver.checkpoint import MAX_INT, checkpoints, read_checkpoint, restore_into
from rlsuite.driver.ctrlc import CtrlC
from rlsuite.driver.members import MemberRuns, member_dir
from rlsuite.driver.rundir import claim_run_dir
from rlsuite.driver.settings import LOOP_KEYS, LoopSettings, TrainResult, set_torch_threads
from rlsuite.vecenv.psim import PVectorEnv
from rlsuite.vecenv.vector import env_seeds, make_vector_env, replay_resets, single_envs

if TYPE_CHECKING:
    from rlsuite.learning.agent import Agent

__all__ = ["LOOP_KEYS", "LoopSettings", "TrainResult", "train"]


def train(
    agent: Agent,
    total_steps: int,
    run_dir: str | Path | None = None,
    settings: LoopSettings | None = None,
    resume: bool = False,
) -> TrainResult | list[TrainResult]:
    """Train ``agent`` on its env for ``total_steps`` env steps per member (all of a member's envs
    together). One member: its :class:`TrainResult`; K members: one per member, in seed order."""
    settings = settings or LoopSettings()
    if not 0 <= total_steps < MAX_INT:  # 2**64 would train until killed, and no checkpoint holds such a step
        raise RLSuiteError(
            f"steps={total_steps} is {'negative' if total_steps < 0 else 'too many'}; give the number of env "
            "steps to train for, 0 to 2**63 - 1."
        )
    if agent.env is None:
        raise RLSuiteError("this agent has no env; build it with rlsuite.make_agent(name, env).")
    runs, envs, resumed = _start(agent, total_steps, Path(run_dir) if run_dir is not None else None, settings, resume)
    ctrl_c = CtrlC().install()
    stepper = None
    try:
        set_torch_threads(settings.torch_threads)
        agent.begin(total_steps, runs.runs[0].env, runs.step)
        stepper = Stepper(agent, envs, runs, resumed)
        while runs.step < total_steps and not ctrl_c.requested and not runs.all_done:
            stepper.step()
            runs.after_step(stepper.step_count, stepper.loop_state)
        interrupted = ctrl_c.requested
    except KeyboardInterrupt:
        interrupted = True
    except BaseException:
        runs.abort()
        raise
    finally:
        envs.close()
        ctrl_c.restore()
    signal_name = ctrl_c.signal or ("SIGINT" if interrupted else None)  # a KeyboardInterrupt is a SIGINT
    finishing = CtrlC(finishing=True).install()  # a signal now cuts the final evaluation, never the summaries
    try:
        return runs.finish(interrupted, stepper.loop_state if stepper is not None else None, signal_name)
    finally:
        finishing.restore()


def _start(
    agent: Agent, total_steps: int, run_dir: Path | None, settings: LoopSettings, resume: bool
) -> tuple[MemberRuns, gym.vector.VectorEnv, list[dict[str, Any]]]:
    """Claim the run directory, restore the checkpoints a resumed run goes on from, make the envs and
    the members' runs; on any failure give back what was taken."""
    lock = claim_run_dir(run_dir, resume, settings.overwrite) if run_dir is not None else None
    envs = None
    try:
        resumed = _restore(agent, run_dir, settings.n_envs) if resume else []
        envs = make_vector_env(
            env_factory(agent.env, True, **agent.env_kwargs), agent.n_members * settings.n_envs, env_name(agent.env)
        )
        runs = MemberRuns(agent, total_steps, run_dir, settings, resumed, lock)
    except BaseException:
        if lock is not None:
            lock.release()
        if envs is not None:
            envs.close()
        raise
    return runs, envs, resumed


def _restore(agent: Agent, run_dir: Path | None, n_envs: int) -> list[dict[str, Any]]:
    """Load each member's checkpoint at the newest step they all reached into ``agent``; return each
    member's loop counters."""
    if run_dir is None:
        raise RLSuiteError("cannot resume without a run directory; pass the run_dir of the run to resume.")
    _refuse_other_seeds(agent, run_dir)
    dirs = [member_dir(run_dir, agent.seeds, k) for k in range(agent.n_members)]
    complete = [{c.name: c for c in checkpoints(d) if (c / "agent.json").is_file()} for d in dirs]
    common = sorted(set.intersection(*(set(c) for c in complete)))
    if not common:
        raise RLSuiteError(
            f"cannot resume: {run_dir} holds no checkpoint{' common to all its members' if len(dirs) > 1 else ''}"
            "; start a new run without resume."
        )
    loops = []
    for k, path in enumerate(dirs):
        latest = complete[k][common[-1]]  # the newest step every member reached (names sort by step: zero-padded)
        single = agent if agent.n_members == 1 else agent.blank_member(k)
        loops.append(restore_into(single, latest, with_replay=True).get("loop", {}))  # refuses another agent or spaces
        _refuse_changes(single, path, latest, n_envs)
        if single is not agent:
            agent.load_member(k, single)
    return loops


def _refuse_other_seeds(agent: Agent, run_dir: Path) -> None:
    """A run of several members resumes with the same seeds (its config.yaml lists them)."""
    config = run_dir / "config.yaml"
    saved = (yaml.safe_load(config.read_text()) or {}) if config.is_file() else {}
    seeds = saved.get("seeds", [saved.get("seed", agent.seed)] if "seed" in saved else None)
    if seeds is not None and list(seeds) != agent.seeds:
        raise RLSuiteError(
            f"cannot resume {run_dir} with seeds {agent.seeds}: it trained seeds {list(seeds)}; "
            "resume with its own seeds (rlsuite train --resume RUN_DIR reads them from its config.yaml)."
        )


def _refuse_changes(agent: Agent, run_dir: Path, checkpoint: Path, n_envs: int) -> None:
    """A resumed run is the same run: the same env (and arguments) and the same hyperparameters
    (the device may change); else one line naming what differs."""
    meta = read_checkpoint(checkpoint)[0]
    if meta.get("env") != env_name(agent.env) or (meta.get("env_kwargs") or {}) != agent.env_kwargs:
        raise RLSuiteError(
            f"cannot resume {run_dir}: it trained on {meta.get('env')!r} {meta.get('env_kwargs') or ''}, "
            f"not {env_name(agent.env)!r} {agent.env_kwargs or ''}; resume with its own env or start a new run."
        )
    config = run_dir / "config.yaml"
    before = (yaml.safe_load(config.read_text()) or {}).get("loop", {}).get("n_envs") if config.is_file() else None
    if before is not None and before != n_envs:
        raise RLSuiteError(
            f"cannot resume {run_dir} with n_envs={n_envs}: it ran {before} envs side by side, and its "
            f"replay and episodes are laid out for them; resume with n_envs={before}."
        )
    saved, mine = dict(meta.get("hyperparameters") or {}), agent.hyperparameters()
    changed = sorted(k for k in set(saved) | set(mine) if k != "device" and saved.get(k) != mine.get(k))
    if changed:
        shown = ", ".join(f"{k}={saved.get(k)!r} (asked {mine.get(k)!r})" for k in changed)
        raise RLSuiteError(
            f"cannot resume {run_dir} with other hyperparameters: {shown}; resume with the run's own "
            "(drop the --set) or start a new run, e.g. with --config RUN_DIR/config.yaml."
        )


class Stepper:
    """Steps the vector env (n_envs per member, member by member) with the agent's actions and hands
    each transition to the agent; each ended episode goes to its member's run."""

    def __init__(
        self, agent: Agent, envs: gym.vector.VectorEnv, runs: MemberRuns, resumed: list[dict[str, Any]] | None = None
    ) -> None:
        self.agent, self.envs, self.runs = agent, envs, runs
        self.n_envs = envs.num_envs // agent.n_members  # per member
        self.step_count = runs.step
        self.singles = single_envs(envs)
        self.failed: list[tuple[Any, str]] = []  # (env, its error) of envs that raised: their members fail alone
        for env in self.singles:
            env.steps = runs.step  # the env's faults name the run's step
            env.isolate = self.failed if agent.n_members > 1 else None
        seeds: list[int | None] = list(env_seeds(agent.seeds, self.n_envs, runs.step))
        # a member whose checkpoint was taken at an episode boundary of all its envs replays those resets,
        # so it goes on exactly; the others start new episodes from seeds offset by the step
        replay_resets(envs, seeds, self._boundary_states(resumed or []))
        self.obs, infos = envs.reset(seed=seeds)
        if isinstance(envs, PVectorEnv) and resumed and all(r.get("envs") for r in resumed):
            for k, loop in enumerate(resumed):  # each member's envs go on where its checkpoint left them
                envs.load_state(loop["envs"], self._rows(k))
            self.obs, infos = envs.current()
        self.mask = infos.get("action_mask")
        self.mask_row_bytes = 0  # set by the first check of a mask
        if self.mask is not None:
            self._check_mask(self.mask, runs.step)
        self.ended: np.ndarray | None = None  # the envs whose episodes the last step ended, if any
        space = envs.single_observation_space
        self.check_obs = isinstance(space, gym.spaces.Box) and space.dtype.kind == "f"
        # are all rewards finite? Python floats for a handful of envs (0.3 µs against numpy's 2), numpy for
        # many (a thousand members: 1.8 µs against 29)
        self.finite = (
            (lambda r: all(map(math.isfinite, r.tolist())))
            if envs.num_envs <= 64
            else (lambda r: bool(np.isfinite(r).all()))
        )

    def _rows(self, k: int) -> slice:
        return slice(k * self.n_envs, (k + 1) * self.n_envs)

    def _boundary_states(self, resumed: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
        """{env row: generator state before its reset} of the members checkpointed at an episode boundary."""
        states = {}
        for k, loop in enumerate(resumed):
            saved = loop.get("rng_before_reset")
            if saved is not None and self.singles:
                saved = [saved] if isinstance(saved, dict) else saved
                states.update(zip(range(self._rows(k).start, self._rows(k).stop), saved))
        return states

    def loop_state(self, k: int = 0) -> dict[str, Any]:
        """What member k's checkpoint needs besides the run's counters to go on exactly: the P
        simulator's state, or, when the last step ended the episodes of all the member's envs (which
        then reset), the generator states before those resets (one env: a dict; more: a list)."""
        rows = self._rows(k)
        if isinstance(self.envs, PVectorEnv):
            return {"envs": self.envs.member_state(rows)}
        if self.ended is None or not self.ended[rows].all():
            return {"rng_before_reset": None}
        states = [env.rng_before_reset for env in self.singles[rows]]
        return {"rng_before_reset": states[0] if len(states) == 1 else states}

    def step(self) -> None:
        actions = self.agent.act(self.obs, self.mask)
        next_obs, rewards, terminated, truncated, infos = self.envs.step(actions)
        at = self.step_count + self.n_envs
        while self.failed:  # held before it learns from the step its env could not take
            env, error = self.failed.pop()
            self.runs.fail_member(self.singles.index(env) // self.n_envs, error)
        if not self.finite(rewards):
            self.runs.fault("reward", at)
        real_next, next_mask = next_obs, infos.get("action_mask")
        self.ended = infos.get("_final_obs")
        if self.ended is not None:  # some episode ended (same-step autoreset puts its last obs here)
            real_next, next_mask = self._episodes_ended(infos, next_obs, next_mask)
        if self.check_obs and not np.isfinite(real_next).all():
            self.runs.fault("observation", at)
        metrics = self.agent.observe(
            Transition(self.obs, actions, rewards, real_next, terminated, truncated, self.mask, next_mask)
        )
        self.runs.after_observe()
        if metrics:
            for name, value in metrics.items():
                if not np.isfinite(value).all():
                    self.runs.fault(f"{name.split('/')[-1].replace('_', ' ')} ({name})", at)
            self.runs.add_metrics(metrics)
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
            raise RLSuiteError(
                f"the env's action mask at step {at} allows no action; every state needs at least one "
                f"allowed action (env {env_name(self.agent.env)!r} gave info['action_mask'] all zero)."
            )

    def _episodes_ended(self, infos: dict[str, Any], next_obs: Any, next_mask: Any) -> tuple[Any, Any]:
        """Record the finished episodes in their members' runs; return the true next observations and masks."""
        dones, final_info = infos["_final_obs"], infos["final_info"]
        real_next = _with_final(next_obs, dones, infos["final_obs"])
        if next_mask is not None:
            next_mask = _with_final(next_mask, dones, final_info["action_mask"])
        episode, metrics = infos["episode"], final_info.get("metrics") or {}
        n_all, ended = len(dones), np.flatnonzero(dones).tolist()
        returns, lengths = episode["r"].tolist(), episode["l"].tolist()
        if "_life_lost" in final_info or "_game_return" in final_info:  # an Atari game's lives: whole games count
            ended, returns, lengths = _whole_games(final_info, ended, returns, lengths)
        for i in ended:
            r, length = returns[i], lengths[i]
            mine = (
                {
                    name: float(values[i])
                    for name, values in metrics.items()
                    if not name.startswith("_") and metrics.get(f"_{name}", np.ones(n_all, bool))[i]
                }
                if metrics
                else {}
            )
            self.runs.add_episode(i // self.n_envs, r, length, mine)
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


def _whole_games(final_info: dict[str, Any], ended: list[int], returns: list, lengths: list) -> tuple[list, list, list]:
    """The episodes that ended a game, with the game's raw score and length: an env whose episodes are
    the lives of a game (the ALE's in training, :mod:`rlsuite.core.atari`) ends an episode at a lost life
    (``info["life_lost"]``) and reports the whole game (``info["game_return"]``, ``"game_length"``)."""
    lost = final_info.get("_life_lost", np.zeros(len(returns), bool))
    games = final_info.get("_game_return", np.zeros(len(returns), bool))
    returns, lengths = list(returns), list(lengths)
    for i in ended:
        if games[i]:
            returns[i], lengths[i] = float(final_info["game_return"][i]), int(final_info["game_length"][i])
    return [i for i in ended if not lost[i]], returns, lengths
