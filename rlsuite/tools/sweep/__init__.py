"""Sweeps over seeds and hyperparameters: ``rlsuite sweep`` and ``rlsuite.tools.sweep(...)``.

rlsuite does not schedule anything itself. A sweep is a list of trials (one configuration,
one seed); each trial is an ordinary ``rlsuite.driver.loop.train`` run written to
``<sweep dir>/<configuration>/seed_<s>``, so TensorBoard pointed at the sweep directory shows
every trial side by side and every other rlsuite command works on a trial's run directory.

Backends run the trials:
- ``local`` (default): one worker process per trial on this machine, at most ``workers`` at a
  time, each on one torch thread (``local``). ``trial_timeout`` kills a trial that runs longer,
  with the processes it started (reported "timed out"); Ctrl-C or SIGTERM ends the sweep within
  seconds, its unfinished trials reported "interrupted" (the CLI exits 130 or 143). A worker never
  outlives the driver, and imports the driver's rlsuite whatever the current directory (``worker``).
- ``ray``: Ray Tune trials, on an existing cluster (``address``) or on a local Ray instance
  that is started for the sweep and shut down after it (``ray_backend``). Ray is the optional
  extra ``rlsuite[ray]``.

``search="optuna"`` replaces the grid by Optuna's TPE sampler: ``trials`` configurations, each
trained on every seed, the objective being the mean of ``metric`` across the seeds
(``optuna_search``).

The sweep writes ``sweep.json`` (the spec and every trial's status, ``state``), ``sweep.md`` and
``sweep.csv`` (one row per configuration: mean, IQM with 95 % bootstrap CI of the final eval
return across seeds, steps/s, failures with their errors) and ``curves.png`` (``report``).
``resume=True`` on a sweep directory reruns only the trials whose run directory has no finished
summary, each from its checkpoints where it has some. One driver at a time runs a sweep directory
(an OS lock on it, ``state``); a second is refused in one line.

The modules: ``spec`` (the spec, grid values and ranges, configuration names), ``trial`` (one
trial and the code a worker runs), ``state``, ``local``, ``worker``, ``ray_backend``, ``optuna_search``,
``report``, ``driver`` (``sweep`` itself) and ``cli`` (``rlsuite sweep``).
"""

from __future__ import annotations

from rlsuite.tools.sweep.cli import add_parser, run
from rlsuite.tools.sweep.driver import SweepResult, sweep
from rlsuite.tools.sweep.spec import SweepSpec, parse_grid
from rlsuite.tools.sweep.trial import Trial, TrialRecord, TrialResult

__all__ = [
    "SweepResult",
    "SweepSpec",
    "Trial",
    "TrialRecord",
    "TrialResult",
    "add_parser",
    "parse_grid",
    "run",
    "sweep",
]
