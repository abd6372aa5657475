"""What a sweep trains: the spec, grid values and search ranges, configuration names.

The spec is checked once, in the calling process, before any trial starts: a misspelled grid
key, a bad range or an agent that cannot be built on the env is one ``RLSuiteError`` rather
than the same failure in every trial.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from rlsuite.core.errors import RLSuiteError, did_you_mean
from rlsuite.tools.runargs import DEFAULT_STEPS, route_settings

RANGE_KINDS = ("log", "float", "int")
EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")  # 1e-3, which YAML 1.1 reads as text


@dataclass
class SweepSpec:
    """A sweep's fixed description, as sweep.json stores it under ``spec``.

    ``grid`` maps a hyperparameter, a loop setting or ``env.KWARG`` to a list of values, or (with
    ``search="optuna"``) to a range such as ``"log:1e-4:1e-2"``; ``trials`` is how many
    configurations Optuna tries (None for a grid).
    """

    env: str
    agent: str
    steps: int
    seeds: list[int]
    grid: dict[str, Any] = field(default_factory=dict)
    search: str | None = None
    trials: int | None = None
    metric: str = "eval_mean_return"
    direction: str = "maximize"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    loop: dict[str, Any] = field(default_factory=dict)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    optuna_seed: int = 0
    stacked: bool = True  # a grid's seeds as the members of one run per configuration

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SweepSpec:
        return cls(**data)


# ---------------------------------------------------------------------------------------------
# Grid values and search ranges
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
            raise RLSuiteError(
                f"--grid {item!r} is not key=v1,v2,...; write it like --grid learning_rate=0.1,0.5 "
                "(or learning_rate=log:1e-4:1e-2 with --search optuna)."
            )
        if raw.split(":", 1)[0] in RANGE_KINDS:
            grid[key] = raw.strip()
            continue
        grid[key] = [grid_value(text) for text in split_values(raw)]
    return grid


def grid_value(text: str) -> Any:
    """One value of ``--grid`` as YAML reads it, except that ``1e-3`` is a float, not text."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return _numbers(value)


def _numbers(value: Any) -> Any:
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, str) and EXPONENT.fullmatch(value.strip()):
        return float(value)
    return value


def parse_range(key: str, text: str) -> tuple[str, float, float]:
    """``"log:1e-4:1e-2"`` -> ("log", 1e-4, 1e-2); int ranges have int bounds."""
    kind, *bounds = text.split(":")
    try:
        low, high = (int(b) if kind == "int" else float(b) for b in bounds)
    except ValueError:
        low = high = None
    if kind not in RANGE_KINDS or low is None or not low < high or (kind == "log" and low <= 0):
        raise RLSuiteError(
            f"grid range {key}={text!r} is not valid; write log:LOW:HIGH (0 < LOW < HIGH), "
            "float:LOW:HIGH or int:LOW:HIGH."
        )
    return kind, low, high


def check_grid(grid: dict[str, Any], search: str | None, agent: str) -> dict[str, Any]:
    """The grid with its keys checked against the agent's hyperparameters and the loop settings."""
    from rlsuite.agents import agent_class
    from rlsuite.driver.loop import LOOP_KEYS

    cls = agent_class(agent)
    fields = [] if hasattr(cls, "accepted_keys") else dataclasses.fields(cls.Config)
    known = (
        cls.accepted_keys()
        if hasattr(cls, "accepted_keys")  # sb3:ALGO
        else {f.name for f in fields}
    ) | LOOP_KEYS
    floats = {f.name for f in fields if isinstance(f.default, float)}  # learning_rate=1 is the float 1.0
    checked = {}
    for key, values in (grid or {}).items():
        if not key.startswith("env.") and key not in known:
            raise RLSuiteError(
                f"grid key {key!r} is not a hyperparameter of {agent}, a loop setting or env.KWARG"
                f"{did_you_mean(key, known)}; check its spelling."
            )
        if isinstance(values, str):
            if search is None:
                raise RLSuiteError(
                    f"grid range {key}={values!r} needs --search optuna; "
                    "a grid search takes a list of values such as learning_rate=0.1,0.5."
                )
            parse_range(key, values)
            checked[key] = values
        elif isinstance(values, (list, tuple)) and len(values) > 0:
            checked[key] = [float(v) if key in floats and type(v) is int else v for v in values]
        else:
            raise RLSuiteError(f"grid key {key!r} has no values; give a non-empty list such as {key}=[v1, v2].")
    return checked


def _check_grid_values(grid: dict[str, list], probe: Any, hyperparameters: dict, loop: dict) -> None:
    """Each value of a grid checked as its trials would check it, once here rather than failing every
    trial that holds it: hyperparameters by the agent's config, loop settings by the loop's."""
    from rlsuite.driver.loop import LOOP_KEYS
    from rlsuite.driver.settings import LoopSettings

    for key, values in grid.items():
        for value in values:
            try:
                if key in LOOP_KEYS:
                    LoopSettings.build({**loop, key: value, "progress": False})
                elif not key.startswith("env.") and hasattr(probe, "make_config"):
                    probe.make_config({**probe.hyperparameters(), **hyperparameters, key: value})
            except RLSuiteError as exc:
                raise RLSuiteError(f"grid value {key}={value!r} would fail its trials: {exc}") from None


def grid_configs(grid: dict[str, list]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, the first key varying slowest."""
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def route(params: dict[str, Any], spec: SweepSpec) -> tuple[dict, dict, dict]:
    """A configuration's (hyperparameters, loop settings, env kwargs), fixed values overridden by params."""
    return route_settings(params, spec.hyperparameters, spec.loop, spec.env_kwargs)


# ---------------------------------------------------------------------------------------------
# Configuration names
# ---------------------------------------------------------------------------------------------


def value_text(value: Any) -> str:
    """A value as it appears in names and tables: floats to 6 digits, lists joined by ``x``."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return "x".join(value_text(v) for v in value)
    return str(value)


def config_name(params: dict[str, Any], index: int | None = None) -> str:
    """A readable directory name, e.g. ``learning_rate=0.1,gamma=0.9`` (``default`` for none)."""
    name = ",".join(f"{k}={value_text(v)}" for k, v in params.items()) or "default"
    name = re.sub(r"[^A-Za-z0-9._=,+-]", "_", name)
    if len(name) > 120:  # file names have limits; keep it readable and unique
        name = name[:100] + "-" + hashlib.sha1(name.encode()).hexdigest()[:8]
    return name if index is None else f"trial_{index:03d}-{name}"


# ---------------------------------------------------------------------------------------------
# Building the spec
# ---------------------------------------------------------------------------------------------


def _seed_values(seeds: int, seed_list: list[int] | None) -> list[int]:
    if seed_list is not None:
        values = [int(s) for s in seed_list]
        if not values or len(set(values)) != len(values):
            raise RLSuiteError(f"seed list {seed_list} must be non-empty and without repeats; e.g. --seed-list 0 1 2.")
        return values
    if int(seeds) < 1:
        raise RLSuiteError(f"--seeds {seeds} is less than 1; give how many seeds (0, 1, ...) each configuration runs.")
    return list(range(int(seeds)))


def build_spec(
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
    stacked=True,
) -> SweepSpec:
    """Check a new sweep's arguments and build its spec (the agent is built once, on the first seed)."""
    from rlsuite.agents import make_agent, preset
    from rlsuite.core.envspec import env_name
    from rlsuite.driver.loop import LoopSettings

    if not isinstance(env, str):
        raise RLSuiteError(
            "a sweep needs the env as a Gymnasium id or module:Class string, "
            "because every worker builds its own; register your env or pass its import path."
        )
    seed_values = _seed_values(seeds, seed_list)
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
    grid = check_grid(grid or {}, search, agent)
    loop = dict(loop or {})
    LoopSettings.build({**loop, "progress": False})  # misspelled or out-of-range loop settings fail here, once
    # the agent, the env and the fixed hyperparameters are checked once here rather than failing every trial
    probe = make_agent(agent, env, seed=seed_values[0], env_kwargs=env_kwargs or None, **(hyperparameters or {}))
    if search is None:
        _check_grid_values(grid, probe, hyperparameters or {}, loop)
    del probe
    return SweepSpec(
        env=env_name(env),
        agent=agent,
        steps=int(steps),
        seeds=seed_values,
        grid=grid,
        search=search,
        trials=int(trials) if search else None,
        metric=metric,
        direction=direction,
        env_kwargs=dict(env_kwargs or {}),
        loop=loop,
        hyperparameters=dict(hyperparameters or {}),
        optuna_seed=int(optuna_seed),
        stacked=bool(stacked) and not agent.startswith("sb3:"),
    )
