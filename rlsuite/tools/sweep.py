"""Sweeps over seeds and hyperparameters: ``rlsuite sweep`` and ``rlsuite.tools.sweep(...)``.

rlsuite does not schedule anything itself. A sweep is a list of trials (one configuration,
one seed); each trial is an ordinary ``rlsuite.training.loop.train`` run written to
``<sweep dir>/<configuration>/seed_<s>``, so TensorBoard pointed at the sweep directory shows
every trial side by side and every other rlsuite command works on a trial's run directory.

Backends run the trials:
- ``local`` (default): one worker process per trial on this machine, at most ``workers`` at a
  time, each on one torch thread. A process per trial (forked from a server that has already
  imported rlsuite and torch, so it starts in milliseconds) tells exactly which trial a killed
  or crashed worker was running: that trial is reported as failed and the others go on.
- ``ray``: Ray Tune trials, on an existing cluster (``address``) or on a local Ray instance
  that is started for the sweep and shut down after it. Ray is the optional extra
  ``rlsuite[ray]``.

``search="optuna"`` replaces the grid by Optuna's TPE sampler: ``trials`` configurations, each
trained on every seed, the objective being the mean of ``metric`` across the seeds. On the
local backend Optuna runs in this process (ask/tell); on Ray it is Ray Tune's OptunaSearch.

The sweep writes ``sweep.json`` (the spec and every trial's status), ``sweep.md`` and
``sweep.csv`` (one row per configuration: mean, IQM with 95 % bootstrap CI of the final eval
return across seeds, steps/s, failures with their errors) and ``curves.png``. ``resume=True``
on a sweep directory reruns only the trials whose run directory has no finished summary.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import re
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Callable

import yaml

from rlsuite.core.errors import RLSuiteError, did_you_mean

DEFAULT_STEPS = 10_000
SPEC_KEYS = ("env", "agent", "steps", "seeds", "grid", "search", "trials", "metric", "direction",
             "env_kwargs", "loop", "hyperparameters", "optuna_seed")
RANGE_KINDS = ("log", "float", "int")


# ---------------------------------------------------------------------------------------------
# One trial: what a worker runs, whatever the backend
# ---------------------------------------------------------------------------------------------

def run_trial(trial: dict[str, Any]) -> dict[str, Any]:
    """Train one (configuration, seed) into its run directory; never raises.

    ``trial`` holds env, agent, seed, steps, run_dir (absolute), env_kwargs, loop and
    hyperparameters. Returns ``{"status": "done" | "failed" | "interrupted", "summary", "error"}``.
    """
    t0 = time.perf_counter()
    try:
        import torch

        from rlsuite.agents import make_agent
        from rlsuite.training.checkpoint import latest_checkpoint
        from rlsuite.training.loop import LoopSettings, train

        torch.set_num_threads(1)  # the workers share the cores; one thread each is fastest and exact
        run_dir = Path(trial["run_dir"])
        # an earlier attempt that was stopped or killed goes on from its newest checkpoint, as
        # `rlsuite train --resume` does; one that left no checkpoint starts afresh
        resume = run_dir.is_dir() and latest_checkpoint(run_dir) is not None
        if run_dir.exists() and not resume:
            shutil.rmtree(run_dir)
        settings = LoopSettings.build({**trial["loop"], "progress": False, "torch_threads": 1})
        agent = make_agent(trial["agent"], trial["env"], seed=trial["seed"],
                                   env_kwargs=trial["env_kwargs"] or None, **trial["hyperparameters"])
        summary = train(agent, trial["steps"], run_dir=run_dir, settings=settings, resume=resume).summary
        status = "interrupted" if summary["interrupted"] else "done"
        return {"status": status, "summary": summary, "error": None, "wall_s": time.perf_counter() - t0}
    except KeyboardInterrupt:
        return {"status": "interrupted", "summary": None, "error": "interrupted", "wall_s": time.perf_counter() - t0}
    except BaseException as exc:  # noqa: BLE001  (a trial's failure is data for the table)
        return {"status": "failed", "summary": None, "error": _one_line(exc), "wall_s": time.perf_counter() - t0}


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "(no message)"
    return f"{type(exc).__name__}: {text}"


# ---------------------------------------------------------------------------------------------
# The spec: grid values, search ranges, configuration names
# ---------------------------------------------------------------------------------------------

def split_values(raw: str) -> list[str]:
    """``"0.1,0.5"`` -> ["0.1", "0.5"]; commas inside brackets stay (``[64,64],[256,256]``)."""
    parts, depth, current = [], 0, ""
    for char in raw:
        depth += char in "[{("
        depth -= char in "]})"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p.strip() for p in parts]


def parse_grid(items: list[str]) -> dict[str, Any]:
    """``["learning_rate=0.1,0.5", "gamma=float:0.8:0.99"]`` -> a grid dict (values or range strings)."""
    grid: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key or not raw.strip():
            raise RLSuiteError(f"--grid {item!r} is not key=v1,v2,...; write it like --grid learning_rate=0.1,0.5 "
                               "(or learning_rate=log:1e-4:1e-2 with --search optuna).")
        if raw.split(":", 1)[0] in RANGE_KINDS:
            grid[key] = raw.strip()
            continue
        values = []
        for text in split_values(raw):
            try:
                values.append(yaml.safe_load(text))
            except yaml.YAMLError:
                values.append(text)
        grid[key] = values
    return grid


def _parse_range(key: str, text: str) -> tuple[str, float, float]:
    kind, *bounds = text.split(":")
    try:
        low, high = (int(b) if kind == "int" else float(b) for b in bounds)
    except ValueError:
        low = high = None
    if kind not in RANGE_KINDS or low is None or not low < high or (kind == "log" and low <= 0):
        raise RLSuiteError(f"grid range {key}={text!r} is not valid; write log:LOW:HIGH (0 < LOW < HIGH), "
                           "float:LOW:HIGH or int:LOW:HIGH.")
    return kind, low, high


def _check_grid(grid: dict[str, Any], search: str | None, agent: str) -> dict[str, Any]:
    from rlsuite.agents import agent_class
    from rlsuite.training.loop import LOOP_KEYS

    cls = agent_class(agent)
    known = (cls.accepted_keys() if hasattr(cls, "accepted_keys")  # sb3:ALGO
             else {f.name for f in dataclasses.fields(cls.Config)}) | LOOP_KEYS
    checked = {}
    for key, values in (grid or {}).items():
        if not key.startswith("env.") and key not in known:
            raise RLSuiteError(f"grid key {key!r} is not a hyperparameter of {agent}, a loop setting or env.KWARG"
                               f"{did_you_mean(key, known)}; check its spelling.")
        if isinstance(values, str):
            if search is None:
                raise RLSuiteError(f"grid range {key}={values!r} needs --search optuna; "
                                   "a grid search takes a list of values such as learning_rate=0.1,0.5.")
            _parse_range(key, values)
            checked[key] = values
        elif isinstance(values, (list, tuple)) and len(values) > 0:
            checked[key] = list(values)
        else:
            raise RLSuiteError(f"grid key {key!r} has no values; give a non-empty list such as {key}=[v1, v2].")
    return checked


def _route(params: dict[str, Any], spec: dict[str, Any]) -> tuple[dict, dict, dict]:
    """A configuration's (hyperparameters, loop settings, env kwargs), fixed values overridden by params."""
    from rlsuite.tools.cli import route_settings

    return route_settings(params, spec["hyperparameters"], spec["loop"], spec["env_kwargs"])


def _value_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return "x".join(_value_text(v) for v in value)
    return str(value)


def config_name(params: dict[str, Any], index: int | None = None) -> str:
    """A readable directory name, e.g. ``learning_rate=0.1,gamma=0.9`` (``default`` for none)."""
    name = ",".join(f"{k}={_value_text(v)}" for k, v in params.items()) or "default"
    name = re.sub(r"[^A-Za-z0-9._=,+-]", "_", name)
    if len(name) > 120:  # file names have limits; keep it readable and unique
        name = name[:100] + "-" + hashlib.sha1(name.encode()).hexdigest()[:8]
    return name if index is None else f"trial_{index:03d}-{name}"


def _grid_configs(grid: dict[str, list]) -> list[dict[str, Any]]:
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


# ---------------------------------------------------------------------------------------------
# Sweep state: sweep.json
# ---------------------------------------------------------------------------------------------

@dataclass
class SweepResult:
    """What a sweep returns: its directory, one row per configuration and one per trial."""

    out: Path
    rows: list[dict[str, Any]]
    trials: list[dict[str, Any]]
    ran: list[str] = field(default_factory=list)  # the trials that ran in this call, "config/seed_s"
    best: dict[str, Any] | None = None  # the best configuration's row (by the metric's mean)
    interrupted: bool = False

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [t for t in self.trials if t["status"] != "done"]


class _State:
    """sweep.json: the spec, the configurations and every trial's status, rewritten as trials end."""

    def __init__(self, out: Path, spec: dict[str, Any]):
        self.out, self.spec = out, spec
        self.configs: dict[str, dict[str, Any]] = {}  # name -> params
        self.trials: dict[str, dict[str, Any]] = {}  # "name/seed_s" -> record

    def add_config(self, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        self.configs[name] = params
        new = []
        for seed in self.spec["seeds"]:
            key = f"{name}/seed_{seed}"
            if key in self.trials:
                continue
            self.trials[key] = {"key": key, "config": name, "seed": seed, "status": "pending", "error": None,
                                "summary": None, "wall_s": None}
            new.append(self.trial_payload(key))
        return new

    def trial_payload(self, key: str) -> dict[str, Any]:
        record = self.trials[key]
        hyper, loop, env_kwargs = _route(self.configs[record["config"]], self.spec)
        return {"key": key, "env": self.spec["env"], "agent": self.spec["agent"], "seed": record["seed"],
                "steps": self.spec["steps"], "run_dir": str((self.out / key).resolve()),
                "hyperparameters": hyper, "loop": loop, "env_kwargs": env_kwargs}

    def record(self, key: str, result: dict[str, Any]) -> None:
        self.trials[key].update(status=result["status"], error=result["error"], summary=result["summary"],
                                wall_s=round(result["wall_s"], 3) if result.get("wall_s") is not None else None)
        self.save()

    def is_finished(self, key: str) -> bool:
        """A trial is finished when its run directory holds a summary of an uninterrupted run."""
        path = self.out / key / "summary.json"
        try:
            summary = json.loads(path.read_text())
        except (OSError, ValueError):
            return False
        if summary.get("interrupted", True):
            return False
        self.trials[key].update(status="done", error=None, summary=summary)
        return True

    def save(self, interrupted: bool = False) -> None:
        data = {"spec": self.spec, "configs": self.configs, "trials": list(self.trials.values()),
                "interrupted": interrupted}
        tmp = self.out / "sweep.json.tmp"
        tmp.write_text(json.dumps(data, indent=1, default=str))
        tmp.replace(self.out / "sweep.json")

    @classmethod
    def load(cls, out: Path) -> "_State":
        path = out / "sweep.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            raise RLSuiteError(f"cannot resume {out}: it holds no readable sweep.json; "
                               "give a directory written by rlsuite sweep.") from None
        state = cls(out, data["spec"])
        state.configs = data["configs"]
        state.trials = {t["key"]: t for t in data["trials"]}
        return state


# ---------------------------------------------------------------------------------------------
# Local backend: one process per trial, at most `workers` at a time
# ---------------------------------------------------------------------------------------------

def _child(conn, trial: dict[str, Any]) -> None:
    conn.send(run_trial(trial))
    conn.close()


def _mp_context():
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["rlsuite", "torch"])  # each trial forks from a warm interpreter
        return ctx
    return multiprocessing.get_context("spawn")


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"WorkerDied: the worker process was killed by {name} (out of memory, or killed by hand)"
    return f"WorkerDied: the worker process exited with status {exitcode} without a result"


def _run_local(next_trial: Callable[[], dict | None], workers: int,
               on_done: Callable[[dict, dict], None]) -> bool:
    """Run trials from ``next_trial`` (None: nothing more to start now) on ``workers`` processes.

    Returns True if the sweep was interrupted (Ctrl-C).
    """
    ctx = _mp_context()
    running: dict[Any, tuple[Any, Any, dict]] = {}  # sentinel -> (process, connection, trial)
    interrupted = False

    def finish(sentinel) -> None:
        process, conn, trial = running.pop(sentinel)
        process.join()
        result = None
        try:
            if conn.poll():
                result = conn.recv()
        except (EOFError, OSError):
            pass
        conn.close()
        if result is None:
            result = {"status": "failed", "summary": None, "error": _death(process.exitcode), "wall_s": None}
        on_done(trial, result)

    try:
        while True:
            while not interrupted and len(running) < workers:
                trial = next_trial()
                if trial is None:
                    break
                receive, send = ctx.Pipe(duplex=False)
                process = ctx.Process(target=_child, args=(send, trial), name=f"rlsuite-trial {trial['key']}")
                process.start()
                send.close()
                running[process.sentinel] = (process, receive, trial)
            if not running:
                return interrupted
            for sentinel in wait(list(running)):
                finish(sentinel)
    except KeyboardInterrupt:
        # the workers got Ctrl-C too: each stops its run cleanly (checkpoint, summary) and reports
        deadline = time.monotonic() + 60
        while running:
            ready = wait(list(running), timeout=max(deadline - time.monotonic(), 0))
            if not ready:
                for process, _, _ in running.values():
                    process.terminate()
                ready = wait(list(running), timeout=10)
            for sentinel in ready:
                finish(sentinel)
        return True


# ---------------------------------------------------------------------------------------------
# Ray backend: Ray Tune trials
# ---------------------------------------------------------------------------------------------

def _import_ray():
    try:
        import ray
        from ray import tune
    except ImportError:
        raise RLSuiteError("the ray backend needs Ray, which is not installed; "
                           "install it with pip install 'rlsuite[ray]' or use --backend local.") from None
    return ray, tune


def _ray_grid_trainable(config: dict[str, Any]) -> None:
    from ray import tune

    result = run_trial(config["trial"])
    tune.report({"key": config["trial"]["key"], "result": json.dumps(result, default=str)})


def _ray_search_trainable(config: dict[str, Any], context: dict[str, Any]) -> None:
    """One Optuna configuration on Ray: all of its seeds in turn, the objective is their mean."""
    from ray import tune

    params = {context["names"][k]: _decode(v) for k, v in config.items() if k in context["names"]}
    name = _search_name(tune.get_context().get_trial_id(), params)
    spec = context["spec"]
    hyper, loop, env_kwargs = _route(params, spec)
    results, values = [], []
    for seed in spec["seeds"]:
        key = f"{name}/seed_{seed}"
        trial = {"key": key, "env": spec["env"], "agent": spec["agent"], "seed": seed, "steps": spec["steps"],
                 "run_dir": str(Path(context["out"]) / key), "hyperparameters": hyper, "loop": loop,
                 "env_kwargs": env_kwargs}
        result = run_trial(trial)
        results.append({"key": key, "seed": seed, **result})
        if result["status"] == "done":
            values.append(float(result["summary"].get(spec["metric"], float("nan"))))
    objective = sum(values) / len(values) if values else float("nan")
    tune.report({"objective": objective, "name": name, "params": json.dumps(params, default=str),
                 "results": json.dumps(results, default=str)})


def _search_name(trial_id: str, params: dict[str, Any]) -> str:
    """``trial_<Tune's trial id>-<values>``: the id keeps two draws of the same values apart."""
    return f"trial_{trial_id.rsplit('_', 1)[-1]}-{config_name(params)}"


class _RaySession:
    """``ray.init`` for the sweep; shuts down only an instance this sweep started."""

    def __init__(self, address: str | None, workers: int | None):
        self.ray, self.tune = _import_ray()
        self.started = False
        if self.ray.is_initialized():
            return
        if address:
            self.ray.init(address=address, log_to_driver=False)
        else:
            self.ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False, log_to_driver=False,
                          configure_logging=False)
        self.started = True

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


def _run_config(tune, out: Path, name: str):
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

    # Tune's own files go to <sweep>/.ray, not ~/ray_results; its TensorBoard logger is left out
    # (TUNE_DISABLE_AUTO_CALLBACK_LOGGERS) so that TensorBoard on the sweep shows rlsuite's runs only
    return tune.RunConfig(name=name, storage_path=str((out / ".ray").resolve()), verbose=0,
                          callbacks=[JsonLoggerCallback(), CSVLoggerCallback()],
                          failure_config=tune.FailureConfig(max_failures=0))


def _trial_dirname(trial) -> str:
    return trial.trial_id


def _fit(tuner):
    """``tuner.fit()`` without Tune's automatic loggers (they would add a TensorBoard logger) or banners."""
    settings = {"TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1", "RAY_AIR_NEW_OUTPUT": "0"}  # and no banner
    before = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        return tuner.fit()
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _run_ray_grid(state: _State, todo: list[dict], session: _RaySession, workers: int | None,
                  on_done: Callable[[dict, dict], None]) -> None:
    tune = session.tune
    by_key = {t["key"]: t for t in todo}
    trainable = tune.with_resources(_ray_grid_trainable, {"cpu": 1})
    tuner = tune.Tuner(
        trainable,
        param_space={"trial": tune.grid_search(todo)},
        tune_config=tune.TuneConfig(max_concurrent_trials=workers or None, reuse_actors=True,
                                    trial_dirname_creator=_trial_dirname),
        run_config=_run_config(tune, state.out, f"grid-{time.strftime('%Y%m%d-%H%M%S')}"),
    )
    for result in _fit(tuner):
        key = result.config["trial"]["key"]
        if result.error is not None or "result" not in (result.metrics or {}):
            outcome = {"status": "failed", "summary": None, "wall_s": None,
                       "error": _one_line(result.error) if result.error else "the Ray trial reported nothing"}
        else:
            outcome = json.loads(result.metrics["result"])
        on_done(by_key[key], outcome)


# ---------------------------------------------------------------------------------------------
# Optuna
# ---------------------------------------------------------------------------------------------

def _import_optuna():
    try:
        import optuna
    except ImportError:
        raise RLSuiteError("--search optuna needs Optuna, which is not installed; "
                           "install it with pip install 'rlsuite[ray]' (or pip install optuna).") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _encode(value: Any) -> Any:  # Optuna's categorical choices must be scalars
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _distributions(optuna, grid: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, values in grid.items():
        if isinstance(values, str):
            kind, low, high = _parse_range(key, values)
            out[key] = (optuna.distributions.IntDistribution(low, high) if kind == "int" else
                        optuna.distributions.FloatDistribution(low, high, log=kind == "log"))
        else:
            out[key] = optuna.distributions.CategoricalDistribution([_encode(v) for v in values])
    return out


def _objective(state: _State, name: str) -> float | None:
    """The mean of the metric over a configuration's finished seeds; None while any is pending."""
    records = [t for t in state.trials.values() if t["config"] == name]
    if any(t["status"] == "pending" for t in records):
        return None
    values = [float(t["summary"].get(state.spec["metric"], math.nan)) for t in records if t["status"] == "done"]
    values = [v for v in values if math.isfinite(v)]
    return sum(values) / len(values) if values else math.nan


# ---------------------------------------------------------------------------------------------
# The table, the curves
# ---------------------------------------------------------------------------------------------

def _rows(state: _State) -> list[dict[str, Any]]:
    from rlsuite.tools.report import iqm_ci

    rows = []
    for name, params in state.configs.items():
        records = [t for t in state.trials.values() if t["config"] == name]
        done = [t for t in records if t["status"] == "done"]
        returns = [float(t["summary"]["eval_mean_return"]) for t in done]
        point, low, high = iqm_ci(returns)
        failed = [t for t in records if t["status"] != "done"]
        row: dict[str, Any] = {"config": name, **{k: _value_text(v) for k, v in params.items()},
                               "seeds_done": len(done), "seeds_failed": len(failed),
                               "mean_return": sum(returns) / len(returns) if returns else math.nan,
                               "iqm_return": point, "ci_low": low, "ci_high": high,
                               "sps": sum(t["summary"]["sps"] for t in done) / len(done) if done else math.nan}
        metric = state.spec["metric"]
        if metric != "eval_mean_return":
            values = [float(t["summary"].get(metric, math.nan)) for t in done]
            row[f"mean_{metric}"] = sum(values) / len(values) if values else math.nan
        row["errors"] = "; ".join(f"seed {t['seed']}: {t['status']}: {t['error'] or ''}".rstrip(": ")
                                  for t in failed) or None
        rows.append(row)
    return rows


def _best(state: _State, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    metric = state.spec["metric"]
    column = "mean_return" if metric == "eval_mean_return" else f"mean_{metric}"
    scored = [r for r in rows if isinstance(r.get(column), float) and math.isfinite(r[column])]
    if not scored:
        return None
    pick = max if state.spec["direction"] == "maximize" else min
    return pick(scored, key=lambda r: r[column])


def write_report(state: _State, interrupted: bool = False) -> tuple[list[dict], dict | None]:
    """sweep.md, sweep.csv and curves.png from the trials' summaries and event files."""
    from rlsuite.tools.report import fmt, fmt_ci, markdown_table, plot_curves, write_csv

    rows = _rows(state)
    best = _best(state, rows)
    write_csv(rows, state.out / "sweep.csv")
    spec = state.spec
    params = [k for k in dict.fromkeys(k for p in state.configs.values() for k in p)]
    shown = [{**r, "IQM [95% CI]": fmt_ci(r["iqm_return"], r["ci_low"], r["ci_high"]),
              "seeds": f"{r['seeds_done']}/{r['seeds_done'] + r['seeds_failed']}",
              "steps/s": fmt(r["sps"], 4)} for r in rows]
    extra = [f"mean_{spec['metric']}"] if spec["metric"] != "eval_mean_return" else []
    columns = ["config", *params, "seeds", "mean_return", "IQM [95% CI]", *extra, "steps/s"]
    lines = [f"# Sweep: {spec['agent']} on {spec['env']}", "",
             (f"{spec['steps']} steps per trial, seeds {spec['seeds']}, "
              f"{'Optuna search, ' + str(spec['trials']) + ' trials' if spec['search'] else 'grid search'}; "
              "final eval return across seeds: mean and IQM with 95 % bootstrap CI."), "",
             markdown_table(shown, columns), ""]
    if best is not None:
        lines += [f"Best configuration by {spec['metric']} ({spec['direction']}): `{best['config']}`.", ""]
    failed = [t for t in state.trials.values() if t["status"] != "done"]
    if failed:
        lines += ["## Failed or unfinished trials", ""]
        lines += [f"- `{t['key']}`: {t['status']}" + (f" — {t['error']}" if t["error"] else "") for t in failed]
        lines += ["", "Rerun them with `rlsuite sweep --resume " + str(state.out) + "`.", ""]
    if interrupted:
        lines += ["The sweep was interrupted.", ""]
    (state.out / "sweep.md").write_text("\n".join(lines))
    groups = {name: [state.out / t["key"] for t in state.trials.values()
                     if t["config"] == name and t["status"] == "done"] for name in state.configs}
    groups = {name: dirs for name, dirs in groups.items() if dirs}
    if groups:
        plot_curves(groups, state.out / "curves.png", f"{spec['agent']} on {spec['env']}")
    return rows, best


# ---------------------------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------------------------

def _build_spec(env, agent, steps, seeds, seed_list, grid, search, trials, metric, direction,
                env_kwargs, loop, hyperparameters, optuna_seed) -> dict[str, Any]:
    from rlsuite.agents import make_agent
    from rlsuite.agents import preset
    from rlsuite.core.envspec import env_name
    from rlsuite.training.loop import LoopSettings

    if not isinstance(env, str):
        raise RLSuiteError("a sweep needs the env as a Gymnasium id or module:Class string, "
                           "because every worker builds its own; register your env or pass its import path.")
    if seed_list is not None:
        seed_values = [int(s) for s in seed_list]
        if not seed_values or len(set(seed_values)) != len(seed_values):
            raise RLSuiteError(f"seed list {seed_list} must be non-empty and without repeats; e.g. --seed-list 0 1 2.")
    else:
        if int(seeds) < 1:
            raise RLSuiteError(f"--seeds {seeds} is less than 1; give how many seeds (0, 1, ...) each configuration runs.")
        seed_values = list(range(int(seeds)))
    if search not in (None, "optuna"):
        raise RLSuiteError(f"--search {search!r} is not known; use --search optuna, or leave it out for a grid.")
    if search and int(trials) < 1:
        raise RLSuiteError(f"--trials {trials} is less than 1; give how many configurations Optuna tries.")
    if direction not in ("maximize", "minimize"):
        raise RLSuiteError(f"direction {direction!r} is not known; use maximize or minimize.")
    if steps is None:
        steps = preset(agent, env).get("steps", DEFAULT_STEPS)
    if int(steps) < 0:
        raise RLSuiteError(f"--steps {steps} is negative; give the number of env steps per trial (>= 0).")
    grid = _check_grid(grid or {}, search, agent)
    loop = dict(loop or {})
    LoopSettings.build({**loop, "progress": False})  # misspelled or out-of-range loop settings fail here, once
    # the agent, the env and the fixed hyperparameters are checked once here rather than failing every trial
    probe = make_agent(agent, env, seed=seed_values[0], env_kwargs=env_kwargs or None, **(hyperparameters or {}))
    del probe
    return {"env": env_name(env), "agent": agent, "steps": int(steps), "seeds": seed_values, "grid": grid,
            "search": search, "trials": int(trials) if search else None, "metric": metric,
            "direction": direction, "env_kwargs": dict(env_kwargs or {}), "loop": loop,
            "hyperparameters": dict(hyperparameters or {}), "optuna_seed": int(optuna_seed)}


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
    progress: bool = False,
) -> SweepResult:
    """Train ``agent`` on ``env`` for every configuration × seed and tabulate the results.

    ``grid`` maps a hyperparameter, a loop setting or ``env.KWARG`` to a list of values (the
    grid is their product); with ``search="optuna"`` a value may also be a range
    ``"log:1e-4:1e-2"``, ``"float:0.1:0.9"`` or ``"int:1:8"`` and Optuna picks ``trials``
    configurations. ``seeds=K`` runs seeds 0..K-1 (or give ``seed_list``). ``hyperparameters``,
    ``loop`` and ``env_kwargs`` are fixed for every trial. ``resume=True`` with ``out`` set to an
    earlier sweep's directory reruns only its unfinished trials (the spec comes from its sweep.json).
    """
    if backend not in ("local", "ray"):
        raise RLSuiteError(f"backend {backend!r} is not known; use local or ray.")
    if workers is not None and int(workers) < 1:
        raise RLSuiteError(f"--workers {workers} is less than 1; give how many trials run at once.")
    if address and backend != "ray":
        raise RLSuiteError("--address connects to a Ray cluster; add --backend ray to use it.")
    if resume:
        if out is None:
            raise RLSuiteError("resume needs the sweep directory; give it as out= (or --resume DIR).")
        out = Path(out)
        state = _State.load(out)
    else:
        if not env or not agent:
            raise RLSuiteError("a sweep needs --env and --agent.")
        spec = _build_spec(env, agent, steps, seeds, seed_list, grid, search, trials, metric, direction,
                           env_kwargs, loop, hyperparameters, optuna_seed)
        from rlsuite.tools.cli import new_run_dir

        out = Path(out) if out is not None else new_run_dir(spec["env"], agent, "sweep")
        if (out / "sweep.json").exists():
            raise RLSuiteError(f"{out} already holds a sweep; resume it with --resume {out} or choose another --out.")
        out.mkdir(parents=True, exist_ok=True)
        state = _State(out, spec)
        if not spec["search"]:
            for index, params in enumerate(_grid_configs(spec["grid"])):
                name = config_name(params)
                if name in state.configs:  # two values that print alike
                    name = f"{name}-{index}"
                state.add_config(name, params)
    state.save()
    spec = state.spec
    if spec["search"] and backend == "ray":
        _import_ray()  # say so before Optuna is imported
        if resume and state.configs:
            raise RLSuiteError(f"resuming an Optuna sweep on the ray backend is not supported; resume {out} "
                               "with --backend local, or start a new sweep.")
    if spec["search"]:
        _import_optuna()
    n_trials_hint = len(state.trials) or len(spec["seeds"]) * (spec["trials"] or 1)
    if backend == "local":
        workers = int(workers) if workers else max(1, min(os.cpu_count() or 1, n_trials_hint))

    ran: list[str] = []
    total = [0]

    def on_done(trial: dict, result: dict) -> None:
        state.record(trial["key"], result)
        ran.append(trial["key"])
        if progress:
            total[0] += 1
            s = result.get("summary") or {}
            detail = (f"eval {s.get('eval_mean_return', math.nan):.3f}, {s.get('sps', 0):.0f} steps/s"
                      if result["status"] == "done" else result["error"] or "stopped by Ctrl-C")
            print(f"[{total[0]}] {trial['key']}: {result['status']} ({detail})", file=sys.stderr, flush=True)

    def unfinished() -> list[dict]:
        return [state.trial_payload(k) for k in state.trials if not state.is_finished(k)]

    interrupted = False
    t0 = time.perf_counter()
    if backend == "local" and not spec["search"]:
        todo = iter(unfinished())
        interrupted = _run_local(lambda: next(todo, None), workers, on_done)
    elif backend == "local":
        interrupted = _optuna_local(state, unfinished(), workers, on_done)
    else:
        session = _RaySession(address, workers)
        try:
            if spec["search"]:
                _optuna_ray(state, session, workers, on_done)
            else:
                todo = unfinished()
                if todo:
                    _run_ray_grid(state, todo, session, workers, on_done)
        finally:
            session.close()
    state.save(interrupted)
    rows, best = write_report(state, interrupted)
    if progress:
        print(f"sweep {'interrupted' if interrupted else 'done'} in {time.perf_counter() - t0:.1f} s: "
              f"{out / 'sweep.md'} (tensorboard --logdir {out})", file=sys.stderr)
    return SweepResult(out, rows, list(state.trials.values()), ran, best, interrupted)


def _optuna_local(state: _State, todo: list[dict], workers: int, on_done) -> bool:
    """Optuna ask/tell in this process; a configuration's seeds run in parallel on the pool."""
    optuna = _import_optuna()
    spec = state.spec
    distributions = _distributions(optuna, spec["grid"])
    study = optuna.create_study(direction=spec["direction"],
                                sampler=optuna.samplers.TPESampler(seed=spec["optuna_seed"]))
    asked: dict[str, Any] = {}  # config name -> optuna trial, for the configurations of this call
    # on resume, finished configurations inform the sampler; unfinished ones are rerun as they were
    rerun = {t["key"].split("/")[0] for t in todo}
    for name, params in state.configs.items():
        value = _objective(state, name) if name not in rerun else None
        if value is not None and math.isfinite(value):
            encoded = {k: _encode(v) for k, v in params.items()}
            study.add_trial(optuna.trial.create_trial(params=encoded, distributions=distributions, value=value))
    queue = list(todo)
    for trial in todo:
        state.trials[trial["key"]]["status"] = "pending"

    def next_trial() -> dict | None:
        if not queue and len(state.configs) < spec["trials"]:
            optuna_trial = study.ask(distributions)
            params = {k: _decode(optuna_trial.params[k]) for k in spec["grid"]}
            name = config_name(params, index=len(state.configs))
            asked[name] = optuna_trial
            queue.extend(state.add_config(name, params))
            state.save()
        return queue.pop(0) if queue else None

    def done(trial: dict, result: dict) -> None:
        on_done(trial, result)
        name = trial["key"].split("/")[0]
        value = _objective(state, name)
        if value is not None and name in asked:
            optuna_trial = asked.pop(name)
            if math.isfinite(value):
                study.tell(optuna_trial, value)
            else:
                study.tell(optuna_trial, state=optuna.trial.TrialState.FAIL)

    return _run_local(next_trial, workers, done)


def _optuna_ray(state: _State, session: _RaySession, workers: int | None, on_done) -> None:
    """Ray Tune's OptunaSearch: one Tune trial per configuration, running its seeds in turn."""
    optuna = _import_optuna()
    from ray.tune.search.optuna import OptunaSearch

    tune, spec = session.tune, state.spec
    keys = list(spec["grid"])
    names = {f"p{i}": key for i, key in enumerate(keys)}  # Tune treats '/' and '.' in keys specially
    space = {f"p{i}": dist for i, dist in enumerate(_distributions(optuna, spec["grid"]).values())}
    searcher = OptunaSearch(space=space, metric="objective", mode="max" if spec["direction"] == "maximize" else "min",
                            seed=spec["optuna_seed"])
    context = {"spec": spec, "names": names, "out": str(state.out.resolve())}
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(_ray_search_trainable, context=context), {"cpu": 1}),
        tune_config=tune.TuneConfig(search_alg=searcher, num_samples=spec["trials"],
                                    max_concurrent_trials=workers or None, reuse_actors=True,
                                    trial_dirname_creator=_trial_dirname),
        run_config=_run_config(tune, state.out, f"optuna-{time.strftime('%Y%m%d-%H%M%S')}"),
    )
    for result in _fit(tuner):
        metrics = result.metrics or {}
        if "results" not in metrics:
            params = {names[k]: _decode(v) for k, v in result.config.items() if k in names}
            name = _search_name(Path(result.path).name, params)
            for trial in state.add_config(name, params):
                on_done(trial, {"status": "failed", "summary": None, "wall_s": None,
                                "error": _one_line(result.error) if result.error else "the Ray trial reported nothing"})
            continue
        params = json.loads(metrics["params"])
        state.add_config(metrics["name"], params)
        for outcome in json.loads(metrics["results"]):
            on_done({"key": outcome["key"]}, outcome)


# ---------------------------------------------------------------------------------------------
# Command line: `rlsuite sweep`
# ---------------------------------------------------------------------------------------------

def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``sweep`` subcommand to ``rlsuite``'s subparsers."""
    p = subparsers.add_parser("sweep", help="train over seeds and hyperparameters, locally or on Ray",
                              description="Train every configuration x seed; write sweep.md, sweep.csv, "
                                          "curves.png and one run directory per trial.")
    p.add_argument("--env", help="Gymnasium id, module:Class or module:EnvId")
    p.add_argument("--agent", help="agent name (see `rlsuite list`)")
    p.add_argument("--steps", type=int, help=f"env steps per trial (default: the preset's, else {DEFAULT_STEPS})")
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=int, default=3, metavar="K", help="run seeds 0..K-1 (default 3)")
    seeds.add_argument("--seed-list", type=int, nargs="+", metavar="S", help="run exactly these seeds")
    p.add_argument("--grid", action="append", metavar="KEY=V1,V2",
                   help="values to sweep (repeatable; the grid is their product); with --search optuna also "
                        "KEY=log:LOW:HIGH, KEY=float:LOW:HIGH or KEY=int:LOW:HIGH")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="fix a hyperparameter, a loop setting or env.KWARG for every trial (repeatable)")
    p.add_argument("--search", choices=["optuna"], help="let Optuna pick the configurations from the --grid space")
    p.add_argument("--trials", type=int, default=10, metavar="T", help="configurations Optuna tries (default 10)")
    p.add_argument("--metric", default="eval_mean_return", help="summary.json key Optuna optimises")
    p.add_argument("--direction", choices=["maximize", "minimize"], default="maximize")
    p.add_argument("--backend", choices=["local", "ray"], default="local")
    p.add_argument("--address", help="Ray cluster address (e.g. auto or HOST:6379); default: start a local Ray")
    p.add_argument("--workers", type=int, metavar="W", help="trials at once (default: the CPU count)")
    p.add_argument("--out", help="sweep directory (default: runs/<env>-<agent>-sweep-<time>)")
    p.add_argument("--resume", metavar="SWEEP_DIR", help="rerun only the unfinished trials of this sweep")
    return p


def run(args: argparse.Namespace) -> int:
    """The ``sweep`` subcommand; returns the exit status."""
    from rlsuite.tools.cli import _parse_set, route_settings

    hyper, loop, env_kwargs = route_settings(_parse_set(args.set or []))
    try:
        result = sweep(env=args.env, agent=args.agent, steps=args.steps, seeds=args.seeds, seed_list=args.seed_list,
                       grid=parse_grid(args.grid or []), search=args.search, trials=args.trials, metric=args.metric,
                       direction=args.direction, backend=args.backend, address=args.address, workers=args.workers,
                       out=args.resume or args.out, resume=args.resume is not None, env_kwargs=env_kwargs,
                       loop=loop, hyperparameters=hyper, progress=True)
    except KeyboardInterrupt:
        return 130
    print((result.out / "sweep.md").read_text())
    if result.interrupted:
        return 130
    return 1 if result.failed else 0
