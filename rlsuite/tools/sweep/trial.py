"""One trial, one configuration trained on one seed: what a worker runs, whatever the backend.

A ``Trial`` is everything a worker needs (it crosses process and Ray boundaries, so it holds
only plain values); a ``TrialResult`` is what the worker sends back; a ``TrialRecord`` is the
trial's line in sweep.json.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlsuite.tools.sweep.spec import SweepSpec, route


@dataclass
class Trial:
    """One configuration × seed, ready to train into ``run_dir`` (an absolute path)."""

    key: str  # "<configuration>/seed_<s>", also the run directory relative to the sweep's
    env: str
    agent: str
    seed: int
    steps: int
    run_dir: str
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    loop: dict[str, Any] = field(default_factory=dict)
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=list)  # a stacked trial: these seeds in one run (key = the configuration)

    def member_keys(self) -> list[str]:
        """The (configuration, seed) trials this one runs: itself, or each seed of a stacked trial."""
        return [f"{self.key}/seed_{s}" for s in self.seeds] if self.seeds else [self.key]

    @classmethod
    def build(cls, spec: SweepSpec, config: str, params: dict[str, Any], seed: int, out: Path) -> Trial:
        """The trial of configuration ``config`` (its grid values ``params``) on ``seed``; ``out`` is the
        sweep directory as an absolute path (a Ray worker may run where the relative one means nothing)."""
        key = f"{config}/seed_{seed}"
        hyper, loop, env_kwargs = route(params, spec)
        return cls(
            key=key,
            env=spec.env,
            agent=spec.agent,
            seed=seed,
            steps=spec.steps,
            run_dir=str(out / key),
            hyperparameters=hyper,
            loop=loop,
            env_kwargs=env_kwargs,
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trial:
        return cls(**data)


def stack_trials(trials: list[Trial], seeds: list[int] | None = None) -> list[Trial]:
    """One trial per configuration that trains its seeds stacked in one run (``<configuration>/seed_<s>``
    run directories, as separate trials have them), in the order the configurations first appear.

    With ``seeds`` (all the sweep's seeds), a configuration some of whose seeds are not in ``trials``
    (they finished) runs the others one by one instead, each going on from its own checkpoints: a
    stacked run of fewer seeds in that directory would not be the run their checkpoints belong to."""
    by_config: dict[str, list[Trial]] = {}
    for trial in trials:
        by_config.setdefault(trial.key.rsplit("/seed_", 1)[0], []).append(trial)
    stacked = []
    for config, group in by_config.items():
        first = group[0]
        if len(group) == 1 or (seeds is not None and len(group) < len(seeds)):
            stacked.extend(group)  # one seed is an ordinary run, in its own <configuration>/seed_<s>
            continue
        stacked.append(
            dataclasses.replace(
                first, key=config, run_dir=str(Path(first.run_dir).parent), seeds=[t.seed for t in group]
            )
        )
    return stacked


def finished(summary: dict[str, Any] | None, steps: int) -> bool:
    """Whether ``summary`` is that of a run that ended on its own: not interrupted, and it trained its
    ``steps`` (or stopped at its ``max_episodes``). Anything else goes on from its checkpoints."""
    if not summary or summary.get("interrupted", True) or summary.get("stop_reason") == "interrupted":
        return False
    try:
        return summary.get("stop_reason") == "max_episodes" or int(summary.get("steps", 0)) >= steps
    except (TypeError, ValueError):  # a summary that is not rlsuite's: the trial runs again
        return False


@dataclass
class TrialResult:
    """How a trial ended: ``status`` is done, failed or interrupted; ``summary`` is the run's summary.json
    (a stacked trial: ``members``, each seed's trial key -> its run's summary.json)."""

    status: str
    summary: dict[str, Any] | None = None
    error: str | None = None
    wall_s: float | None = None
    members: dict[str, dict[str, Any]] | None = None

    @classmethod
    def failed(cls, error: str) -> TrialResult:
        """A trial whose worker reported nothing (it died, or Ray lost it)."""
        return cls(status="failed", error=error)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialResult:
        return cls(
            status=data["status"],
            summary=data.get("summary"),
            error=data.get("error"),
            wall_s=data.get("wall_s"),
            members=data.get("members"),
        )

    def per_member(self, trial: Trial) -> list[tuple[str, TrialResult]]:
        """(key, result) of each (configuration, seed) trial that ``trial`` ran."""
        if not trial.seeds:
            return [(trial.key, self)]
        out = []
        for key in trial.member_keys():
            summary = (self.members or {}).get(key)
            if summary is None:
                out.append((key, TrialResult(self.status, None, self.error, self.wall_s)))
            elif "error" in summary:  # its env raised: this seed failed alone
                out.append((key, TrialResult("failed", summary, one_line(str(summary["error"])), self.wall_s)))
            else:
                status = "done" if finished(summary, trial.steps) else "interrupted"
                out.append((key, TrialResult(status, summary, None, self.wall_s)))
        return out


@dataclass
class TrialRecord:
    """A trial's entry in sweep.json: pending until its result is recorded."""

    key: str
    config: str
    seed: int
    status: str = "pending"
    error: str | None = None
    summary: dict[str, Any] | None = None
    wall_s: float | None = None

    def record(self, result: TrialResult) -> None:
        self.status, self.error, self.summary = result.status, result.error, result.summary
        self.wall_s = round(result.wall_s, 3) if result.wall_s is not None else None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialRecord:
        return cls(**data)


def run_trial(trial: Trial) -> TrialResult:
    """Train one (configuration, seed), or a stacked trial's seeds, into its run directory; never raises."""
    t0 = time.perf_counter()
    try:
        if trial.seeds:
            try:
                members = _train_stacked(trial)
            except Exception:  # noqa: BLE001  (one member's fault stops them all: each seed then runs alone)
                return _seed_by_seed(trial, t0)
            errors = [f"seed {seed}: {s['error']}" for seed, s in zip(trial.seeds, members.values()) if "error" in s]
            if errors:  # one member's env raised: that seed failed, the others finished
                return TrialResult("failed", None, one_line("; ".join(errors)), time.perf_counter() - t0, members)
            done = all(finished(s, trial.steps) for s in members.values())
            return TrialResult("done" if done else "interrupted", None, None, time.perf_counter() - t0, members)
        summary = _train(trial)
        status = "done" if finished(summary, trial.steps) else "interrupted"
        return TrialResult(status, summary, None, time.perf_counter() - t0)
    except KeyboardInterrupt:
        return TrialResult("interrupted", None, "interrupted", time.perf_counter() - t0)
    except BaseException as exc:  # noqa: BLE001  (a trial's failure is data for the table)
        return TrialResult("failed", None, one_line(exc), time.perf_counter() - t0)


def _seed_by_seed(trial: Trial, t0: float) -> TrialResult:
    """A stacked trial that failed, run again seed by seed (each from its member's checkpoints, where it
    has some), so that one failing member fails that member only and the others finish."""
    members, errors = {}, []
    for seed, key in zip(trial.seeds, trial.member_keys()):
        alone = dataclasses.replace(
            trial, key=key, seed=seed, run_dir=str(Path(trial.run_dir) / f"seed_{seed}"), seeds=[]
        )
        try:
            members[key] = _train(alone)
        except Exception as exc:  # noqa: BLE001  (this member's failure is data for the table)
            errors.append(f"seed {seed}: {one_line(exc)}")
    if not errors:  # the stacked run's fault did not come back in any member alone
        done = all(finished(s, trial.steps) for s in members.values())
        return TrialResult("done" if done else "interrupted", None, None, time.perf_counter() - t0, members)
    return TrialResult("failed", None, "; ".join(errors), time.perf_counter() - t0, members)


def _train(trial: Trial) -> dict[str, Any]:
    import torch

    from rlsuite.agents import make_agent
    from rlsuite.driver.checkpoint import latest_checkpoint

    torch.set_num_threads(1)  # the workers share the cores; one thread each is fastest and exact
    run_dir = Path(trial.run_dir)
    # an earlier attempt that was stopped or killed goes on from its newest checkpoint, as
    # `rlsuite train --resume` does; one that left no checkpoint starts afresh
    resume = run_dir.is_dir() and latest_checkpoint(run_dir) is not None
    if run_dir.exists() and not resume:
        shutil.rmtree(run_dir)
    agent = make_agent(
        trial.agent, trial.env, seed=trial.seed, env_kwargs=trial.env_kwargs or None, **trial.hyperparameters
    )
    loop = {**trial.loop, "torch_threads": 1}
    return agent.learn(trial.steps, run_dir=run_dir, resume=resume, progress=False, **loop).summary


def _train_stacked(trial: Trial) -> dict[str, dict[str, Any]]:
    """A stacked trial: its seeds as the members of one agent, into ``<configuration>/seed_<s>``."""
    import torch

    from rlsuite.agents import make_agent
    from rlsuite.driver.checkpoint import latest_checkpoint

    torch.set_num_threads(1)
    run_dir = Path(trial.run_dir)
    members = [run_dir / f"seed_{s}" for s in trial.seeds]
    # an earlier attempt that was stopped (its summary says interrupted) or killed goes on from its
    # members' newest checkpoints; one that left a member without any starts afresh
    resume = all(m.is_dir() and latest_checkpoint(m) is not None for m in members)
    if not resume:  # what an earlier attempt left goes; a run of other seeds in this directory is not touched
        for path in [*members, *(run_dir / name for name in ("summary.json", "config.yaml", "curves.png"))]:
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    agent = make_agent(
        trial.agent, trial.env, seeds=trial.seeds, env_kwargs=trial.env_kwargs or None, **trial.hyperparameters
    )
    loop = {**trial.loop, "torch_threads": 1}
    results = agent.learn(trial.steps, run_dir=run_dir, resume=resume, progress=False, **loop)
    results = results if isinstance(results, list) else [results]
    return {key: r.summary for key, r in zip(trial.member_keys(), results)}


def one_line(exc: BaseException) -> str:
    """An exception as one line for the table: ``TypeName: message``."""
    text = " ".join(str(exc).split()) or "(no message)"
    return f"{type(exc).__name__}: {text}"


OnDone = Callable[[Trial, TrialResult], None]  # what a backend calls as each trial ends
