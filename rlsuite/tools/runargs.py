"""How a run is described on the command line, shared by ``rlsuite train`` and ``rlsuite sweep``.

``--set KEY=VALUE`` values, their routing to the agent, the loop or the env, ``--config`` files
and the default run directory under ``runs/`` live here, so that the commands agree on them and
neither command module has to import the other.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import yaml

from rlsuite.core.config import unknown_name
from rlsuite.core.envspec import env_arguments
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


def route_settings(
    values: dict[str, Any],
    hyperparameters: dict | None = None,
    loop: dict | None = None,
    env_kwargs: dict | None = None,
    *,
    agent: str | None = None,
    env: str | None = None,
) -> tuple[dict, dict, dict]:
    """``--set`` values on top of (hyperparameters, loop settings, env kwargs): ``env.KWARG`` goes
    to the env, a loop setting to the loop, anything else to the agent.

    With ``agent`` (and ``env``), a name that is none of the agent's hyperparameters, the loop
    settings and the env's arguments is an error suggesting the closest of them all."""
    from rlsuite.driver.loop import LOOP_KEYS

    hyper, loop, env_kwargs = dict(hyperparameters or {}), dict(loop or {}), dict(env_kwargs or {})
    for key, value in values.items():
        if key.startswith("env."):
            env_kwargs[key[4:]] = value
        elif key in LOOP_KEYS:
            loop[key] = value
        else:
            if agent is not None:
                _check_hyperparameter(key, agent, env, LOOP_KEYS)
            hyper[key] = value
    return hyper, loop, env_kwargs


def _check_hyperparameter(key: str, agent: str, env: str | None, loop_keys: set[str]) -> None:
    from rlsuite.agents import agent_class

    cls = agent_class(agent)
    config = getattr(cls, "Config", None)
    names = (
        [f.name for f in dataclasses.fields(config)]
        if dataclasses.is_dataclass(config)
        else sorted(cls.accepted_keys())
        if hasattr(cls, "accepted_keys")
        else None
    )
    if names is None or key in names:
        return
    others = {"loop setting": loop_keys}
    env_args = env_arguments(env) if env is not None else None
    if env_args is not None:
        others["env argument"] = [f"env.{name}" for name in env_args]
    raise unknown_name(key, agent, names, others)


def read_config(path: str) -> dict[str, Any]:
    """A ``--config`` YAML file (e.g. a run's config.yaml) as a dict, its keys checked."""
    file = Path(path)
    if not file.is_file():
        raise RLSuiteError(
            f"config file {path} does not exist; give the path of a YAML file such as a run's config.yaml."
        )
    try:
        data = yaml.safe_load(file.read_text())
    except RecursionError:
        raise RLSuiteError(f"config file {path} nests too deeply to be a run's config; give a plain one.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise RLSuiteError(f"config file {path} does not parse as YAML{where}; fix the syntax there.") from None
    if not isinstance(data, dict):
        raise RLSuiteError(f"config file {path} must be a YAML mapping with keys env, agent, hyperparameters, ...")
    unknown = set(data) - {"env", "env_kwargs", "agent", "seed", "seeds", "steps", "hyperparameters", "loop"}
    if unknown:
        raise RLSuiteError(
            f"config file {path} has unknown keys {sorted(unknown)}; allowed: env, env_kwargs, agent, seed, seeds, "
            "steps, hyperparameters, loop."
        )
    for key in ("env", "agent"):
        if key in data and not isinstance(data[key], str):
            raise RLSuiteError(
                f"config file {path}: {key}: {data[key]!r} must be a name such as "
                f"{'CartPole-v1' if key == 'env' else 'dqn'}."
            )
    for key in ("env_kwargs", "hyperparameters", "loop"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise RLSuiteError(f"config file {path}: {key}: {data[key]!r} must be a mapping of names to values.")
    for key in ("seed", "steps"):
        if data.get(key) is not None:
            data[key] = _whole_number(path, key, data[key])
    if data.get("seeds") is not None:
        if not isinstance(data["seeds"], list) or not data["seeds"]:
            raise RLSuiteError(f"config file {path}: seeds: {data['seeds']!r} must be a list of seeds, e.g. [0, 1, 2].")
        data["seeds"] = [_whole_number(path, "seeds", s) for s in data["seeds"]]
    return data


def _whole_number(path: str, key: str, value: Any) -> int:
    """``value`` as a non-negative int (``1e3`` and ``"1e3"`` are 1000), or one sentence naming it."""
    try:
        number = float(value)
        if isinstance(value, bool) or not number.is_integer() or number < 0:
            raise ValueError
    except (TypeError, ValueError):
        raise RLSuiteError(
            f"config file {path}: {key}: {value!r} must be a whole number >= 0, e.g. {key}: 1000."
        ) from None
    return int(number)


def new_run_dir(env: str, agent: str, kind: str) -> Path:
    """A directory under runs/ that does not exist yet, e.g. ``runs/CartPole-v1-dqn-s0-20260101-120000``."""
    short = env.split("/")[-1].split(":")[-1]
    base = Path("runs") / f"{short}-{agent.replace(':', '-')}-{kind}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path
