"""``search="optuna"``: Optuna's TPE sampler picks the configurations instead of a grid.

Each configuration Optuna asks for is trained on every seed; the objective is the mean of the
spec's metric across the seeds that finished. A configuration's seeds train stacked, in one run
of K members (the spec's ``stacked``; off, one run per seed). On the local backend Optuna runs
in this process (ask/tell) and the configurations' runs go to the worker pool; on Ray it is Ray
Tune's OptunaSearch, one Tune trial per configuration running its seeds' run (or runs in turn).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from rlsuite.core.errors import RLSuiteError
from rlsuite.tools.sweep.local import run_in_worker, run_local
from rlsuite.tools.sweep.ray_backend import RaySession, fit, lost, run_config, trial_dirname
from rlsuite.tools.sweep.spec import SweepSpec, config_name, parse_range
from rlsuite.tools.sweep.state import SweepState
from rlsuite.tools.sweep.trial import OnDone, Trial, TrialResult, stack_trials


def import_optuna():
    """The optuna module with its logging quietened, or a one-line RLSuiteError saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise RLSuiteError(
            "--search optuna needs Optuna, which is not installed; "
            "install it with pip install 'rlsuite[ray]' (or pip install optuna)."
        ) from None
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
            kind, low, high = parse_range(key, values)
            out[key] = (
                optuna.distributions.IntDistribution(low, high)
                if kind == "int"
                else optuna.distributions.FloatDistribution(low, high, log=kind == "log")
            )
        else:
            out[key] = optuna.distributions.CategoricalDistribution([_encode(v) for v in values])
    return out


def _objective(state: SweepState, name: str) -> float | None:
    """The mean of the metric over a configuration's finished seeds; None while any is pending."""
    records = state.records(name)
    if any(t.status == "pending" for t in records):
        return None
    values = [float(t.summary.get(state.spec.metric, math.nan)) for t in records if t.status == "done"]
    values = [v for v in values if math.isfinite(v)]
    return sum(values) / len(values) if values else math.nan


def _study(optuna, state: SweepState, todo: list[Trial], distributions: dict[str, Any]):
    """A new study; on resume, the finished configurations inform the sampler (unfinished ones rerun as they were)."""
    spec = state.spec
    study = optuna.create_study(direction=spec.direction, sampler=optuna.samplers.TPESampler(seed=spec.optuna_seed))
    rerun = {t.key.split("/")[0] for t in todo}
    for name, params in state.configs.items():
        value = _objective(state, name) if name not in rerun else None
        if value is not None and math.isfinite(value):
            encoded = {k: _encode(v) for k, v in params.items()}
            study.add_trial(optuna.trial.create_trial(params=encoded, distributions=distributions, value=value))
    return study


def optuna_local(
    state: SweepState, todo: list[Trial], workers: int, on_done: OnDone, trial_timeout: float | None = None
) -> str | None:
    """Optuna ask/tell in this process; a configuration's run (its seeds stacked, or one run per seed
    in parallel) goes to the pool.

    ``todo`` are the unfinished trials of a resumed sweep. Returns the signal that stopped it, if one did.
    """
    optuna = import_optuna()
    spec = state.spec
    distributions = _distributions(optuna, spec.grid)
    study = _study(optuna, state, todo, distributions)
    asked: dict[str, Any] = {}  # config name -> optuna trial, for the configurations of this call

    def group(trials: list[Trial]) -> list[Trial]:
        return stack_trials(trials, spec.seeds) if spec.stacked else trials

    queue = group(list(todo))
    for trial in todo:
        state.trials[trial.key].status = "pending"

    def next_trial() -> Trial | None:
        if not queue and len(state.configs) < spec.trials:
            optuna_trial = study.ask(distributions)
            params = {k: _decode(optuna_trial.params[k]) for k in spec.grid}
            name = config_name(params, index=len(state.configs))
            asked[name] = optuna_trial
            queue.extend(group(state.add_config(name, params)))
            state.save()
        return queue.pop(0) if queue else None

    def done(trial: Trial, result: TrialResult) -> None:
        on_done(trial, result)
        name = trial.key.split("/")[0]
        value = _objective(state, name)
        if value is not None and name in asked:
            optuna_trial = asked.pop(name)
            if math.isfinite(value):
                study.tell(optuna_trial, value)
            else:
                study.tell(optuna_trial, state=optuna.trial.TrialState.FAIL)

    return run_local(next_trial, workers, done, trial_timeout)


# ---------------------------------------------------------------------------------------------
# Optuna on Ray
# ---------------------------------------------------------------------------------------------


def _search_name(trial_id: str, params: dict[str, Any]) -> str:
    """``trial_<Tune's trial id>-<values>``: the id keeps two draws of the same values apart."""
    return f"trial_{trial_id.rsplit('_', 1)[-1]}-{config_name(params)}"


def _search_trainable(config: dict[str, Any], context: dict[str, Any]) -> None:
    """One Optuna configuration on Ray: its seeds stacked in one run (or one run per seed, in turn);
    the objective is the mean over its seeds."""
    from ray import tune

    params = {context["names"][k]: _decode(v) for k, v in config.items() if k in context["names"]}
    name = _search_name(tune.get_context().get_trial_id(), params)
    spec = SweepSpec.from_dict(context["spec"])
    trials = [Trial.build(spec, name, params, seed, Path(context["out"])) for seed in spec.seeds]
    results, values = [], []
    for trial in stack_trials(trials) if spec.stacked else trials:
        for key, result in run_in_worker(trial, context["timeout"]).per_member(trial):
            results.append({"key": key, **result.to_dict()})
            if result.status == "done":
                values.append(float(result.summary.get(spec.metric, float("nan"))))
    objective = sum(values) / len(values) if values else float("nan")
    tune.report(
        {
            "objective": objective,
            "name": name,
            "params": json.dumps(params, default=str),
            "results": json.dumps(results, default=str),
        }
    )


def optuna_ray(
    state: SweepState, session: RaySession, workers: int | None, on_done: OnDone, trial_timeout: float | None = None
) -> None:
    """Ray Tune's OptunaSearch: one Tune trial per configuration, running its seeds in turn."""
    optuna = import_optuna()
    from ray.tune.search.optuna import OptunaSearch

    tune, spec = session.tune, state.spec
    names = {f"p{i}": key for i, key in enumerate(spec.grid)}  # Tune treats '/' and '.' in keys specially
    space = {f"p{i}": dist for i, dist in enumerate(_distributions(optuna, spec.grid).values())}
    searcher = OptunaSearch(
        space=space, metric="objective", mode="max" if spec.direction == "maximize" else "min", seed=spec.optuna_seed
    )
    context = {"spec": spec.to_dict(), "names": names, "out": str(state.out.resolve()), "timeout": trial_timeout}
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(_search_trainable, context=context), {"cpu": 1}),
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            num_samples=spec.trials,
            max_concurrent_trials=workers or None,
            reuse_actors=True,
            trial_dirname_creator=trial_dirname,
        ),
        run_config=run_config(tune, state.out, f"optuna-{time.strftime('%Y%m%d-%H%M%S')}"),
    )
    for result in fit(tuner):
        metrics = result.metrics or {}
        if "results" not in metrics:
            params = {names[k]: _decode(v) for k, v in result.config.items() if k in names}
            name = _search_name(Path(result.path).name, params)
            for trial in state.add_config(name, params):
                on_done(trial, lost(result))
            continue
        state.add_config(metrics["name"], json.loads(metrics["params"]))
        for outcome in json.loads(metrics["results"]):
            on_done(state.trial(outcome["key"]), TrialResult.from_dict(outcome))
