"""The Ray backend: every trial is a Ray Tune trial, on an existing cluster or a local Ray.

Ray is the optional extra ``rlsuite[ray]``. A local Ray instance is started for the sweep and
shut down after it; a cluster given by ``address`` (or a Ray the caller already started) is left
running. Tune's own files go to ``<sweep>/.ray`` so that TensorBoard on the sweep directory shows
rlsuite's runs only. Tune's stop criteria are checked only when a trial reports, which a hanging
trial never does, so a trial timeout is kept inside the Tune trial: the rlsuite trial runs in a
worker process of its own there (``local.run_in_worker``), killed when its time is up.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from rlsuite.core.errors import RLSuiteError
from rlsuite.tools.sweep.local import run_in_worker
from rlsuite.tools.sweep.state import SweepState
from rlsuite.tools.sweep.trial import OnDone, Trial, TrialResult, one_line


def import_ray():
    """``(ray, ray.tune)``, or a one-line RLSuiteError saying how to install Ray."""
    try:
        import ray
        from ray import tune
    except ImportError:
        raise RLSuiteError(
            "the ray backend needs Ray, which is not installed; "
            "install it with pip install 'rlsuite[ray]' or use --backend local."
        ) from None
    return ray, tune


class RaySession:
    """``ray.init`` for the sweep; shuts down only an instance this sweep started."""

    def __init__(self, address: str | None, workers: int | None):
        self.ray, self.tune = import_ray()
        self.started = False
        if self.ray.is_initialized():
            return
        if address:
            self.ray.init(address=address, log_to_driver=False)
        else:
            self.ray.init(
                num_cpus=workers or os.cpu_count(),
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        self.started = True

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


def run_config(tune, out: Path, name: str):
    """Tune's RunConfig for one fit: files under ``<sweep>/.ray``, JSON and CSV loggers only, no retries."""
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

    # Tune's own files go to <sweep>/.ray, not ~/ray_results; its TensorBoard logger is left out
    # (TUNE_DISABLE_AUTO_CALLBACK_LOGGERS) so that TensorBoard on the sweep shows rlsuite's runs only
    return tune.RunConfig(
        name=name,
        storage_path=str((out / ".ray").resolve()),
        verbose=0,
        callbacks=[JsonLoggerCallback(), CSVLoggerCallback()],
        failure_config=tune.FailureConfig(max_failures=0),
    )


def trial_dirname(trial) -> str:
    """Tune's directory for a trial: its id (the default name holds the whole config)."""
    return trial.trial_id


def fit(tuner):
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


def lost(result) -> TrialResult:
    """The outcome of a Tune trial that reported nothing: its error, if Tune has one."""
    return TrialResult.failed(one_line(result.error) if result.error else "the Ray trial reported nothing")


def _grid_trainable(config: dict[str, Any]) -> None:
    from ray import tune

    result = run_in_worker(Trial.from_dict(config["trial"]), config["timeout"])
    tune.report({"key": config["trial"]["key"], "result": json.dumps(result.to_dict(), default=str)})


def run_ray_grid(
    state: SweepState,
    todo: list[Trial],
    session: RaySession,
    workers: int | None,
    on_done: OnDone,
    trial_timeout: float | None = None,
) -> None:
    """Run the grid trials ``todo`` as Tune trials, ``workers`` at a time (None: as many as Ray fits);
    with ``trial_timeout``, each in a worker process of its own that is killed when time is up."""
    tune = session.tune
    by_key = {t.key: t for t in todo}
    trainable = tune.with_resources(_grid_trainable, {"cpu": 1})
    tuner = tune.Tuner(
        trainable,
        param_space={"trial": tune.grid_search([t.to_dict() for t in todo]), "timeout": trial_timeout},
        tune_config=tune.TuneConfig(
            max_concurrent_trials=workers or None, reuse_actors=True, trial_dirname_creator=trial_dirname
        ),
        run_config=run_config(tune, state.out, f"grid-{time.strftime('%Y%m%d-%H%M%S')}"),
    )
    for result in fit(tuner):
        key = result.config["trial"]["key"]
        if result.error is not None or "result" not in (result.metrics or {}):
            outcome = lost(result)
        else:
            outcome = TrialResult.from_dict(json.loads(result.metrics["result"]))
        on_done(by_key[key], outcome)
