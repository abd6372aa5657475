"""A sweep's state on disk: sweep.json, rewritten as trials end, and what resuming reads back.

sweep.json holds the spec, every configuration's grid values and every trial's record. A trial
counts as finished only when its run directory holds the summary of a run that ran its steps
uninterrupted, so a resumed sweep reruns exactly the trials that were killed, stopped or never
started (from their checkpoints, where they have some).

One driver at a time: :func:`lock_sweep` takes an OS lock on the sweep directory (``SWEEP/.lock``,
a run directory's lock) for as long as the sweep runs; the OS drops it when the driver dies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rlsuite.core.errors import RLSuiteError
from rlsuite.driver.rundir import DirectoryInUse, RunDirLock
from rlsuite.tools.sweep.spec import SweepSpec
from rlsuite.tools.sweep.trial import Trial, TrialRecord, TrialResult, finished


def lock_sweep(out: Path) -> RunDirLock:
    """Make the sweep directory ``out`` this process's while it runs: a second driver (a second
    ``--resume``) would rerun its trials and record them failed. Refused in one line naming the owner."""
    try:
        return RunDirLock(out)
    except DirectoryInUse as exc:
        raise RLSuiteError(
            f"sweep {out} is being run by another process (pid {exc.owner}); wait for it or stop it "
            f"(it resumes with rlsuite sweep --resume {out}), or choose another --out."
        ) from None


def _plain(value: Any) -> Any:
    """A value JSON cannot write as it is: numpy scalars and arrays as numbers and lists (so that
    a resumed sweep reads back the types it wrote), anything else as text."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


class SweepState:
    """The spec, the configurations (name -> grid values) and the trials' records ("name/seed_s" -> record)."""

    def __init__(self, out: Path, spec: SweepSpec):
        self.out, self.spec = out, spec
        self.configs: dict[str, dict[str, Any]] = {}
        self.trials: dict[str, TrialRecord] = {}

    def add_config(self, name: str, params: dict[str, Any]) -> list[Trial]:
        """Add a configuration; returns its trials that were not recorded yet, one per seed."""
        self.configs[name] = params
        new = []
        for seed in self.spec.seeds:
            key = f"{name}/seed_{seed}"
            if key in self.trials:
                continue
            self.trials[key] = TrialRecord(key=key, config=name, seed=seed)
            new.append(self.trial(key))
        return new

    def trial(self, key: str) -> Trial:
        """What a worker needs to run the trial ``key``."""
        record = self.trials[key]
        return Trial.build(self.spec, record.config, self.configs[record.config], record.seed, self.out.resolve())

    def records(self, config: str) -> list[TrialRecord]:
        """The records of one configuration's trials, in seed order."""
        return [t for t in self.trials.values() if t.config == config]

    def record(self, key: str, result: TrialResult) -> None:
        self.trials[key].record(result)
        self.save()

    def is_finished(self, key: str) -> bool:
        """A trial is finished when its run directory holds a summary of a run that ran its steps uninterrupted."""
        path = self.out / key / "summary.json"
        try:
            summary = json.loads(path.read_text())
        except (OSError, ValueError):
            return False
        if not isinstance(summary, dict) or not finished(summary, self.spec.steps):
            return False
        record = self.trials[key]
        record.status, record.error, record.summary = "done", None, summary
        return True

    def unfinished(self) -> list[Trial]:
        """The trials to run now: those whose run directory has no finished summary."""
        return [self.trial(key) for key in self.trials if not self.is_finished(key)]

    def save(self, interrupted: bool = False) -> None:
        data = {
            "spec": self.spec.to_dict(),
            "configs": self.configs,
            "trials": [t.to_dict() for t in self.trials.values()],
            "interrupted": interrupted,
        }
        tmp = self.out / "sweep.json.tmp"
        tmp.write_text(json.dumps(data, indent=1, default=_plain))
        tmp.replace(self.out / "sweep.json")

    @classmethod
    def load(cls, out: Path) -> SweepState:
        path = out / "sweep.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            raise RLSuiteError(
                f"cannot resume {out}: it holds no readable sweep.json; give a directory written by rlsuite sweep."
            ) from None
        try:
            state = cls(out, SweepSpec.from_dict(data["spec"]))
            state.configs = data["configs"]
            state.trials = {t["key"]: TrialRecord.from_dict(t) for t in data["trials"]}
            _check_types(state)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RLSuiteError(
                f"cannot resume {out}: its sweep.json is damaged ({type(exc).__name__}: {exc}); restore it or "
                "start the sweep anew with another --out."
            ) from None
        return state


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_types(state: SweepState) -> None:
    """What a resumed sweep takes from sweep.json has the types rlsuite wrote (a TypeError otherwise)."""
    spec = state.spec
    if not (isinstance(spec.env, str) and isinstance(spec.agent, str) and _whole(spec.steps)):
        raise TypeError("spec.env, spec.agent and spec.steps must be two names and a step count")
    if not (isinstance(spec.seeds, list) and spec.seeds and all(_whole(s) for s in spec.seeds)):
        raise TypeError("spec.seeds must be a list of seeds")
    for name in ("grid", "env_kwargs", "loop", "hyperparameters"):
        if not isinstance(getattr(spec, name), dict):
            raise TypeError(f"spec.{name} must be a mapping")
    if not isinstance(state.configs, dict):
        raise TypeError("configs must be a mapping")
