"""``sweep(...)``: check the arguments, open or resume the sweep directory, run the trials on the
chosen backend and write the report."""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlsuite.core.envspec import saved_env
from rlsuite.core.errors import RLSuiteError
from rlsuite.driver.rundir import RunDirLock
from rlsuite.tools.runargs import new_run_dir
from rlsuite.tools.sweep.local import Terminated, run_local, sigterm_stops_sweep
from rlsuite.tools.sweep.optuna_search import import_optuna, optuna_local, optuna_ray
from rlsuite.tools.sweep.ray_backend import RaySession, import_ray, run_ray_grid
from rlsuite.tools.sweep.report import write_report
from rlsuite.tools.sweep.spec import SweepSpec, build_spec, config_name, grid_configs
from rlsuite.tools.sweep.state import SweepState, lock_sweep
from rlsuite.tools.sweep.trial import Trial, TrialRecord, TrialResult, stack_trials


@dataclass
class SweepResult:
    """What a sweep returns: its directory, one row per configuration and one record per trial."""

    out: Path
    rows: list[dict[str, Any]]
    trials: list[TrialRecord]
    ran: list[str] = field(default_factory=list)  # the trials that ran in this call, "config/seed_s"
    best: dict[str, Any] | None = None  # the best configuration's row (by the metric's mean)
    interrupted: bool = False
    signal: str | None = None  # what stopped it: "SIGINT" (Ctrl-C) or "SIGTERM"

    @property
    def failed(self) -> list[TrialRecord]:
        return [t for t in self.trials if t.status != "done"]


def sweep(
    env: str | None = None,
    agent: str | None = None,
    steps: int | None = None,
    seeds: int = 3,
    seed_list: list[int] | None = None,
    grid: dict[str, Any] | None = None,
    search: str | None = None,
    trials: int = 10,
    metric: str = "eval_mean_return",
    direction: str = "maximize",
    backend: str = "local",
    address: str | None = None,
    workers: int | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    env_kwargs: dict[str, Any] | None = None,
    loop: dict[str, Any] | None = None,
    hyperparameters: dict[str, Any] | None = None,
    optuna_seed: int = 0,
    trial_timeout: float | None = None,
    progress: bool = True,
    stacked: bool = True,
) -> SweepResult:
    """Train ``agent`` on ``env`` for every configuration × seed and tabulate the results.

    ``grid`` maps a hyperparameter, a loop setting or ``env.KWARG`` to a list of values (the
    grid is their product); with ``search="optuna"`` a value may also be a range
    ``"log:1e-4:1e-2"``, ``"float:0.1:0.9"`` or ``"int:1:8"`` and Optuna picks ``trials``
    configurations. ``seeds=K`` runs seeds 0..K-1 (or give ``seed_list``). ``hyperparameters``,
    ``loop`` and ``env_kwargs`` are fixed for every trial. ``resume=True`` with ``out`` set to an
    earlier sweep's directory reruns only its unfinished trials (the spec comes from its sweep.json),
    each from its checkpoints; a directory another process is sweeping is refused. On the local
    backend, Ctrl-C or SIGTERM stops the trials cleanly (``interrupted``, ``signal``): they resume later.
    ``trial_timeout`` (seconds, None for no limit) kills a trial that runs longer and reports it
    failed, "timed out"; the other trials go on. ``progress`` prints a line per trial to stderr.
    A configuration's seeds train stacked, one run of K members (``stacked=False``: one process per
    seed), a grid's and Optuna's alike.
    """
    _check_backend(backend, workers, address, trial_timeout)
    if resume:
        state, lock = _resumed_state(out, env)
    else:
        if not env or not agent:
            raise RLSuiteError("a sweep needs --env and --agent.")
        spec = build_spec(
            env,
            agent,
            steps,
            seeds,
            seed_list,
            grid,
            search,
            trials,
            metric,
            direction,
            env_kwargs,
            loop,
            hyperparameters,
            optuna_seed,
            stacked,
        )
        state, lock = _new_state(Path(out) if out is not None else new_run_dir(spec.env, agent, "sweep"), spec)
    try:
        return _run_sweep(state, backend, address, workers, trial_timeout, progress, resume)
    finally:
        lock.release()


def _run_sweep(
    state: SweepState,
    backend: str,
    address: str | None,
    workers: int | None,
    trial_timeout: float | None,
    progress: bool,
    resume: bool,
) -> SweepResult:
    """Run the sweep of ``state``, whose directory this process has locked, and write its report."""
    state.save()
    _check_extras(state, backend, resume)
    if backend == "local":
        workers = _local_workers(state, workers)
    report = _Progress(state, progress)
    t0 = time.perf_counter()
    if progress:
        _announce(state, backend, workers)
    stopped_by = _run(state, backend, address, workers, trial_timeout, report.on_done)
    interrupted = stopped_by is not None
    state.save(interrupted)
    rows, best = write_report(state, interrupted)
    if progress:
        how = "done" if not interrupted else "interrupted" if stopped_by == "SIGINT" else f"stopped by {stopped_by}"
        resume_hint = f"; resume it with rlsuite sweep --resume {state.out}" if interrupted else ""
        print(
            f"sweep {how} in {time.perf_counter() - t0:.1f} s: {state.out / 'sweep.md'} "
            f"(tensorboard --logdir {state.out}){resume_hint}",
            file=sys.stderr,
        )
    return SweepResult(state.out, rows, list(state.trials.values()), report.ran, best, interrupted, stopped_by)


def _resumed_state(out: str | Path | None, env: str | None) -> tuple[SweepState, RunDirLock]:
    """An earlier sweep's state, from its sweep.json, and the lock on its directory; a module:Class env
    it names runs only when the user names it again (``env``): sweep.json is data."""
    if out is None:
        raise RLSuiteError("resume needs the sweep directory; give it as out= (or --resume DIR).")
    out = Path(out)
    if not out.is_dir():
        SweepState.load(out)  # says, in one line, that it is no sweep
    lock = lock_sweep(out)
    try:
        state = SweepState.load(out)
        named = saved_env(state.spec.env, out / "sweep.json", env)
        if named != state.spec.env:
            raise RLSuiteError(
                f"cannot resume {out} on {named!r}: it sweeps {state.spec.env!r}; resume with its own "
                "env (or leave --env out) or start a new sweep."
            )
    except BaseException:
        lock.release()
        raise
    return state, lock


def _local_workers(state: SweepState, workers: int | None) -> int:
    """``workers``, or one per core but no more than there are runs to spread over them."""
    if workers:
        return int(workers)
    spec = state.spec
    if spec.search:
        runs = spec.trials * (1 if spec.stacked else len(spec.seeds))
    else:
        runs = len(state.configs) if spec.stacked else len(state.trials)
    return max(1, min(os.cpu_count() or 1, runs))


def _announce(state: SweepState, backend: str, workers: int | None) -> None:
    total = state.spec.trials * len(state.spec.seeds) if state.spec.search else len(state.trials)
    at_once = f", {workers} at a time" if workers else ""
    print(f"sweep {state.out}: {total} trials on the {backend} backend{at_once}", file=sys.stderr, flush=True)


def _check_backend(backend: str, workers: int | None, address: str | None, trial_timeout: float | None) -> None:
    if backend not in ("local", "ray"):
        raise RLSuiteError(f"backend {backend!r} is not known; use local or ray.")
    if workers is not None and int(workers) < 1:
        raise RLSuiteError(f"--workers {workers} is less than 1; give how many trials run at once.")
    if address and backend != "ray":
        raise RLSuiteError("--address connects to a Ray cluster; add --backend ray to use it.")
    if trial_timeout is not None and (
        isinstance(trial_timeout, bool) or not isinstance(trial_timeout, (int, float)) or not trial_timeout > 0
    ):
        raise RLSuiteError(
            f"--trial-timeout {trial_timeout} is not a positive number of seconds; give how long "
            "a trial may run before the sweep kills it, or leave it out for no limit."
        )


def _new_state(out: Path, spec: SweepSpec) -> tuple[SweepState, RunDirLock]:
    """A new sweep directory, locked; a grid's configurations are all known up front, Optuna's come as it asks."""
    if (out / "sweep.json").exists():
        raise RLSuiteError(f"{out} already holds a sweep; resume it with --resume {out} or choose another --out.")
    out.mkdir(parents=True, exist_ok=True)
    lock = lock_sweep(out)
    if (out / "sweep.json").exists():  # another sweep started in it meanwhile
        lock.release()
        raise RLSuiteError(f"{out} already holds a sweep; resume it with --resume {out} or choose another --out.")
    state = SweepState(out, spec)
    if not spec.search:
        for index, params in enumerate(grid_configs(spec.grid)):
            name = config_name(params)
            if name in state.configs:  # two values that print alike
                name = f"{name}-{index}"
            state.add_config(name, params)
    return state, lock


def _check_extras(state: SweepState, backend: str, resume: bool) -> None:
    """Ray and Optuna are optional: say which one is missing before any trial starts."""
    if state.spec.search and backend == "ray":
        import_ray()  # say so before Optuna is imported
        if resume and state.configs:
            raise RLSuiteError(
                f"resuming an Optuna sweep on the ray backend is not supported; resume {state.out} "
                "with --backend local, or start a new sweep."
            )
    if state.spec.search:
        import_optuna()


class _Progress:
    """Records each trial's result in sweep.json as it ends and, with ``progress``, prints a line for it."""

    def __init__(self, state: SweepState, progress: bool):
        self.state, self.progress = state, progress
        self.ran: list[str] = []

    def on_done(self, trial: Trial, result: TrialResult) -> None:
        for key, mine in result.per_member(trial):  # a stacked trial: each of its seeds
            self.state.record(key, mine)
            self.ran.append(key)
            if self.progress:
                s = mine.summary or {}
                detail = (
                    f"eval {s.get('eval_mean_return', math.nan):.3f}, {s.get('sps', 0):.0f} steps/s"
                    if mine.status == "done"
                    else mine.error or _stopped_short(s, trial.steps)
                )
                print(f"[{len(self.ran)}] {key}: {mine.status} ({detail})", file=sys.stderr, flush=True)


def _stopped_short(summary: dict[str, Any], steps: int) -> str:
    """Why a run that wrote its summary is not finished: the signal that stopped it, else how far it got."""
    name = summary.get("signal") or ("SIGINT" if summary.get("interrupted", True) else None)
    if name:
        return f"stopped by {'Ctrl-C' if name == 'SIGINT' else name}"
    return f"stopped at step {summary.get('steps')} of {steps}"


def _grouped(state: SweepState) -> list[Trial]:
    """The unfinished trials of a grid: each configuration's seeds stacked in one trial (one process, one
    agent of K members), or one trial per seed with ``stacked`` off."""
    todo = state.unfinished()
    return stack_trials(todo, state.spec.seeds) if state.spec.stacked else todo


def _run(
    state: SweepState, backend: str, address: str | None, workers: int | None, timeout: float | None, on_done
) -> str | None:
    """Run the sweep's unfinished trials (and, for Optuna, the rest of its trials); returns the signal
    that stopped it ("SIGINT" for Ctrl-C, or "SIGTERM"), None if it ran them all."""
    if backend == "local":
        with sigterm_stops_sweep():  # not on Ray, which handles the driver's signals itself
            try:
                if not state.spec.search:
                    todo = iter(_grouped(state))
                    return run_local(lambda: next(todo, None), workers, on_done, timeout)
                return optuna_local(state, state.unfinished(), workers, on_done, timeout)
            except Terminated:  # outside the pool (Optuna asking): no worker to stop
                return "SIGTERM"
    session = RaySession(address, workers)
    try:
        if state.spec.search:
            optuna_ray(state, session, workers, on_done, timeout)
        else:
            todo = _grouped(state)
            if todo:
                run_ray_grid(state, todo, session, workers, on_done, timeout)
    finally:
        session.close()
    return None
