"""The runs of a K-member agent: one ordinary run (and run directory) per member, kept in lockstep.

The loop trains K members as one agent, but each member's run is a run of its own: its
:class:`~rlsuite.driver.run.Run` has its episodes, logger, evaluations, checkpoints and
``summary.json``, in ``RUN/seed_<s>/`` (with one member: in ``RUN`` itself). :class:`MemberRuns`
keeps them on one schedule and hands each what is its own: the episodes of its envs, its
element of every per-member metric, its evaluation. A member that reached ``max_episodes``
finishes its run there and stops learning while the others go on.

Evaluation is batched (:func:`evaluate_members`): member k's evaluation env is seeded as its
single-seed run's would be, and all K play their episodes in lockstep with one ``act`` per step,
so member k's numbers are those of ``rlsuite.evaluate`` on member k alone. The loop and the
Stable-Baselines3 runner (one member, its steps taken by SB3) both drive their runs through
:class:`MemberRuns`: one scheduler and one evaluator for every trainable.

With several members, ``RUN/config.yaml`` holds the run with its ``seeds`` (rerun or resume it
from there) and ``RUN/summary.json`` the aggregate over members: the mean, the IQM and its
95 % bootstrap confidence interval of the final evaluation returns, each seed's return and the
total steps per second.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from rlsuite.core.envspec import env_factory, env_name
from rlsuite.core.stats import iqm_ci
from rlsuite.driver.checkpoint import prune_checkpoints
from rlsuite.driver.ctrlc import stop_requested
from rlsuite.driver.logger import Progress
from rlsuite.driver.memberstate import DoneMembers
from rlsuite.driver.run import PictureClock, Run
from rlsuite.driver.rundir import RunDirLock, claim_member_dir, write_text
from rlsuite.driver.settings import LoopSettings, TrainResult
from rlsuite.vecenv.vector import make_vector_env, single_envs

if TYPE_CHECKING:
    from rlsuite.learning.agent import Agent


def pick(values: dict[str, Any], k: int) -> dict[str, float]:
    """Member k's numbers out of ``values``: an array's element k, a number as it is."""
    return {name: float(v[k]) if isinstance(v, np.ndarray) and v.ndim else float(v) for name, v in values.items()}


def member_dir(run_dir: Path | None, seeds: list[int], k: int) -> Path | None:
    """Member k's run directory: the run directory itself with one member, ``RUN/seed_<s>`` with several."""
    if run_dir is None or len(seeds) == 1:
        return run_dir
    return run_dir / f"seed_{seeds[k]}"


class MemberView:
    """Member k of a K-member agent, as its run sees it (names, its scalars, its pictures, itself)."""

    def __init__(self, agent: Agent, k: int, cache: dict[str, Any]) -> None:
        self.agent, self.k, self.cache = agent, k, cache
        self.name, self.env, self.env_kwargs, self.seed = agent.name, agent.env, agent.env_kwargs, agent.seeds[k]

    def hyperparameters(self) -> dict[str, Any]:
        return self.agent.hyperparameters()

    def logged_scalars(self) -> dict[str, float]:
        return pick(self.cache["scalars"], self.k)

    def summary_metrics(self) -> dict[str, float]:
        return pick(self.cache["summary"], self.k)

    def logged_images(self) -> dict[str, np.ndarray]:
        return self.agent.logged_images(self.k)

    def single(self):
        return self.agent.member(self.k)


class _HeldByParent:
    """A member directory's lock: the parent run directory's lock covers it."""

    def release(self) -> None:
        pass


class MemberRuns:
    """K runs on one schedule; see the module's text."""

    def __init__(
        self,
        agent: Agent,
        total_steps: int,
        run_dir: Path | None,
        settings: LoopSettings,
        resumed: list[dict[str, Any]],
        lock: RunDirLock | None,
    ) -> None:
        self.agent, self.run_dir, self.settings, self.lock = agent, run_dir, settings, lock
        self.cache: dict[str, Any] = {"scalars": {}, "summary": {}}
        seeds, k_all = agent.seeds, agent.n_members
        self.runs: list[Run] = []
        pictures = PictureClock()  # all members' pictures share one 2 % of the training time
        try:
            for k in range(k_all):
                path = member_dir(run_dir, seeds, k)
                if path is not None and k_all > 1:
                    claim_member_dir(path)
                quiet = settings if k == 0 and k_all == 1 else LoopSettings(**{**vars(settings), "progress": False})
                self.runs.append(
                    Run(
                        MemberView(agent, k, self.cache),
                        total_steps,
                        path,
                        quiet,
                        resumed[k] if resumed else None,
                        lock if k_all == 1 else _HeldByParent(),
                        pictures,
                        prunes=k_all == 1,  # K members: pruned once all wrote, so a step common to all stays
                    )
                )
        except BaseException:
            self.release()
            raise
        self.schedule = self.runs[0].schedule
        self.step = self.runs[0].step
        self.progress = Progress(total_steps, self.step, settings.progress) if k_all > 1 else None
        self.done = np.zeros(k_all, bool)  # members that learn no more (max_episodes, or the run ended)
        self.held = DoneMembers(agent)  # their state, put back after every step while the others learn
        self.stopping: list[int] = []  # members whose last episode ended in this step
        if run_dir is not None and k_all > 1 and not (resumed and (run_dir / "config.yaml").is_file()):
            # the members' config with their seeds in place of the seed: rerun it with --config, resume it
            config = {
                ("seeds" if key == "seed" else key): (seeds if key == "seed" else value)
                for key, value in self.runs[0].config().items()
            }
            write_text(run_dir / "config.yaml", yaml.safe_dump(config, sort_keys=False))

    # ----- during the run -------------------------------------------------------------------
    def add_episode(self, k: int, episode_return: float, length: int, metrics: dict[str, float]) -> None:
        if self.done[k]:
            return
        run = self.runs[k]
        run.add_episode(episode_return, length, metrics)
        if run.episode_limit_reached:
            self.stop_member(k)

    def add_metrics(self, metrics: dict[str, Any]) -> None:
        for k, run in enumerate(self.runs):
            if not self.done[k]:
                run.logger.add_many(pick(metrics, k))

    def fault(self, what: str, step: int) -> None:
        self.runs[0].fault(what, step)

    @property
    def all_done(self) -> bool:
        return bool(self.done.all())

    def stop_member(self, k: int) -> None:
        """Member k reached ``max_episodes``: it learns and records no more. Its run ends at this step
        (evaluated, checkpointed and summarised with the others at the end: it no longer changes)."""
        self.done[k] = True
        self.stopping.append(k)
        self.runs[k].step = self.step + self.runs[k].settings.n_envs  # the step that ended its last episode

    def fail_member(self, k: int, error: str) -> None:
        """Member k's env raised ``error`` in this step: that member stops as it was before the step (it
        learns and records no more, and its summary names the error); the others go on."""
        if self.done[k]:
            return
        self.held.stop(k)
        self.done[k] = True
        self.runs[k].failure, self.runs[k].step = error, self.step

    def after_observe(self) -> None:
        """After the agent learned from a step: the members that are done get their state back, and
        those whose last episode ended in it (which they learned from) are held from now on."""
        self.held.restore()
        if self.stopping and not self.done.all():
            for k in self.stopping:
                self.held.stop(k)
        self.stopping = []

    def after_step(self, step: int, loop_state) -> None:
        """Log, evaluate and checkpoint the members still learning where the schedule says so."""
        self.step = step
        log, evaluate = self.schedule.log_due(step), self.schedule.eval_due(step)
        checkpoint, video = self.schedule.checkpoint_due(step), self.schedule.video_due(step)
        if not (log or evaluate or checkpoint or video):
            return
        live = np.flatnonzero(~self.done).tolist()
        for k in live:
            self.runs[k].step = step
        if log:
            self.cache["scalars"] = self.agent.logged_scalars()
            for k in live:
                self.runs[k].log(final=step >= self.schedule.total_steps)  # its scalars: from the cache
            if self.progress is not None:  # several members: one bar, all members' steps and recent returns
                first = self.runs[0]
                sps = len(self.runs) * (step - first.start_step) / max(first.training_seconds(), 1e-9)
                recent = [r for k in live for r in self.runs[k].recent]
                self.progress.update(step, sps, float(np.mean(recent)) if recent else None, {})
        if evaluate:
            self.evaluate(live)
        for k in live if checkpoint else ():
            self.runs[k].checkpoint(loop_state(k))
        if checkpoint:
            self.prune()
        for k in live if video else ():
            self.runs[k].record()

    def prune(self) -> None:
        """With several members, each keeps its newest ``keep_checkpoints`` only once all have written
        their newest: a kill between two members' writes leaves a step common to all to resume from."""
        if len(self.runs) > 1:
            for run in self.runs:
                if run.run_dir is not None:
                    prune_checkpoints(run.run_dir, self.settings.keep_checkpoints)

    def evaluate(self, members: list[int]) -> None:
        """Evaluate these members together (one ``act`` per step for all K), each as its own run would."""
        if not members:
            return
        start = time.perf_counter()
        failures: dict[int, str] = {}
        results = evaluate_members(
            self.agent,
            [self.runs[k].schedule.eval_seed for k in range(len(self.runs))],
            self.settings.eval_episodes,
            self.settings.eval_max_steps,
            failures,
        )
        seconds = time.perf_counter() - start
        for k in members:
            if k in failures:  # its evaluation env raised: the member fails, the others go on
                self.fail_member(k, failures[k])
            else:
                self.runs[k].record_eval(results[k], seconds)

    # ----- the end ----------------------------------------------------------------------------
    def finish(self, interrupted: bool, loop_state, signal_name: str | None) -> TrainResult | list[TrainResult]:
        """Finish every member's run (one batched evaluation for them all), then write the aggregate."""
        try:
            for k in np.flatnonzero(~self.done).tolist():
                self.runs[k].step = self.step
            self.cache.update(scalars=self.agent.logged_scalars(), summary=self.agent.summary_metrics())
            for run in self.runs:
                if run.step > run.logged_at:
                    run.log(final=True)
            self.evaluate([k for k, run in enumerate(self.runs) if run.evaluated_at != run.step and not run.failure])
            results = []
            for k, run in enumerate(self.runs):
                stopped = interrupted and not self.done[k]  # a member done before the interrupt finished
                self.done[k] = True
                results.append(
                    run.finish(stopped, loop_state(k) if loop_state else None, signal_name if stopped else None)
                )
            self.prune()
        except BaseException:
            self.abort()
            raise
        finally:
            if self.progress is not None:
                self.progress.close()
            self.release()
        if len(results) == 1:
            return results[0]
        if self.run_dir is not None:
            summary = aggregate([r.summary for r in results])
            write_text(self.run_dir / "summary.json", json.dumps(summary, indent=1))
        return results

    def abort(self) -> None:
        try:
            for run in self.runs:
                run.abort()
        finally:
            self.release()

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()


def aggregate(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of several members in one summary: each seed's final evaluation, their mean, IQM and 95 % CI."""
    failed = {str(s["seed"]): s["error"] for s in summaries if "error" in s}
    returns = [float(s["eval_mean_return"]) for s in summaries if "error" not in s]  # the members that finished
    point, low, high = iqm_ci(returns) if returns else (math.nan, math.nan, math.nan)
    first = summaries[0]
    wall = max(float(s["wall_s"]) for s in summaries)
    steps = sum(int(s["steps"]) for s in summaries)
    return {
        "env": first["env"],
        "agent": first["agent"],
        "seeds": [s["seed"] for s in summaries],
        "members": len(summaries),
        "steps": max(int(s["steps"]) for s in summaries),  # members that stop at max_episodes run fewer
        "member_steps": {str(s["seed"]): int(s["steps"]) for s in summaries},
        "requested_steps": first["requested_steps"],
        "wall_s": round(wall, 3),
        "sps": round(steps / wall, 1) if wall > 0 else 0.0,
        "eval_s": max(float(s.get("eval_s", 0.0)) for s in summaries),
        "eval_mean_return": float(np.mean(returns)) if returns else math.nan,
        "eval_std_across_seeds": float(np.std(returns)) if returns else math.nan,
        "eval_iqm_return": point,
        "eval_iqm_ci95": [low, high],
        "eval_returns": {str(s["seed"]): s["eval_mean_return"] for s in summaries},
        "interrupted": any(s["interrupted"] for s in summaries),
        "stop_reasons": sorted({s["stop_reason"] for s in summaries}),
        **({"failed": failed} if failed else {}),
    }


def evaluate_members(
    agent: Agent, seeds: list[int], episodes: int, max_steps: int, failures: dict[int, str] | None = None
) -> list[tuple[float, float]]:
    """(mean, std) of the return of each member over ``episodes`` deterministic episodes on its own
    env, seeded with ``seeds[k]`` as :func:`~rlsuite.driver.evaluation.evaluate` seeds it; all
    members step together. An episode not over after ``max_steps`` steps is cut. With several
    members, one whose env raises gets (nan, nan) and its error in ``failures``; the others go on."""
    k_all = agent.n_members
    envs = make_vector_env(
        env_factory(agent.env, **agent.env_kwargs), k_all, env_name(agent.env), simulate="deterministic"
    )
    returns: list[list[float]] = [[] for _ in range(k_all)]
    failed: list[tuple[Any, str]] = []  # a member's env that raises ends that member's evaluation only
    singles = single_envs(envs)
    for env in singles if k_all > 1 else ():
        env.isolate = failed
    try:
        obs, infos = envs.reset(seed=list(seeds))
        total, length = np.zeros(k_all), np.zeros(k_all, dtype=np.int64)
        while min(map(len, returns)) < episodes and not stop_requested():
            actions = agent.act(obs, infos.get("action_mask"), explore=False)
            obs, reward, terminated, truncated, infos = envs.step(actions)
            while failed:
                env, error = failed.pop()
                returns[singles.index(env)] = [math.nan] * episodes
                if failures is not None:
                    failures[singles.index(env)] = error
            total += reward
            length += 1
            ended = np.logical_or(terminated, truncated)
            cut = ~ended & (length >= max_steps)
            for k in np.flatnonzero(ended | cut).tolist():
                returns[k].append(float(total[k]))
            total[ended | cut], length[ended | cut] = 0.0, 0
            if cut.any():
                obs, infos = _reset_some(envs, cut, obs, infos)
    finally:
        envs.close()
    return [(float(np.mean(r[:episodes])), float(np.std(r[:episodes]))) if r else (math.nan, math.nan) for r in returns]


def _reset_some(envs, which: np.ndarray, obs: Any, infos: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Reset the envs marked in ``which`` (an evaluation episode cut short), keeping the others' obs."""
    new_obs, new_infos = envs.reset(options={"reset_mask": which})
    if len(which) == 1:
        return new_obs, new_infos
    obs = np.where(which.reshape(-1, *[1] * (np.ndim(obs) - 1)), new_obs, obs)
    if "action_mask" in infos and "action_mask" in new_infos:
        infos = {**infos, "action_mask": np.where(which[:, None], new_infos["action_mask"], infos["action_mask"])}
    return obs, infos
