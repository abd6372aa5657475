"""How a run is described on the command line, shared by ``rlsuite train`` and ``rlsuite sweep``.

``--set KEY=VALUE`` values, their routing to the agent, the loop or the env, ``--config`` files
and the default run directory under ``runs/`` live here, so that the commands agree on them and
neither command module has to import the other.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from rlsuite.core.errors import RLSuiteError

DEFAULT_STEPS = 10_000


def parse_set(items: list[str]) -> dict[str, Any]:
    """``["learning_rate=0.05", "env.n_cells=4"]`` -> ``{"learning_rate": 0.05, "env.n_cells": 4}`` (YAML values)."""
    values = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise RLSuiteError(f"--set {item!r} is not key=value; write it like --set learning_rate=0.05.")
        try:
            values[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError:
            values[key.strip()] = raw
    return values


def route_settings(values: dict[str, Any], hyperparameters: dict | None = None, loop: dict | None = None,
                   env_kwargs: dict | None = None) -> tuple[dict, dict, dict]:
    """``--set`` values on top of (hyperparameters, loop settings, env kwargs): ``env.KWARG`` goes
    to the env, a loop setting to the loop, anything else to the agent."""
    from rlsuite.training.loop import LOOP_KEYS

    hyper, loop, env_kwargs = dict(hyperparameters or {}), dict(loop or {}), dict(env_kwargs or {})
    for key, value in values.items():
        if key.startswith("env."):
            env_kwargs[key[4:]] = value
        elif key in LOOP_KEYS:
            loop[key] = value
        else:
            hyper[key] = value
    return hyper, loop, env_kwargs


def read_config(path: str) -> dict[str, Any]:
    """A ``--config`` YAML file (e.g. a run's config.yaml) as a dict, its keys checked."""
    file = Path(path)
    if not file.is_file():
        raise RLSuiteError(f"config file {path} does not exist; give the path of a YAML file such as a run's config.yaml.")
    try:
        data = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise RLSuiteError(f"config file {path} does not parse as YAML{where}; fix the syntax there.") from None
    if not isinstance(data, dict):
        raise RLSuiteError(f"config file {path} must be a YAML mapping with keys env, agent, hyperparameters, ...")
    unknown = set(data) - {"env", "env_kwargs", "agent", "seed", "steps", "hyperparameters", "loop"}
    if unknown:
        raise RLSuiteError(f"config file {path} has unknown keys {sorted(unknown)}; allowed: env, env_kwargs, agent, seed, steps, hyperparameters, loop.")
    return data


def new_run_dir(env: str, agent: str, kind: str) -> Path:
    """A directory under runs/ that does not exist yet, e.g. ``runs/CartPole-v1-dqn-s0-20260101-120000``."""
    short = env.split("/")[-1].split(":")[-1]
    base = Path("runs") / f"{short}-{agent.replace(':', '-')}-{kind}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path
