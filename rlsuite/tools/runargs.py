"""How a run is described on the command line, shared by ``rlsuite train`` and ``rlsuite sweep``.

``--set KEY=VALUE`` values, their routing to the agent, the loop or the env, ``--config`` files
and the default run directory under ``runs/`` live here, so that the commands agree on them and
neither command module has to import the other.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from rlsuite.core.config import unknown_name
from rlsuite.core.envspec import env_arguments
from rlsuite.core.errors import RLSuiteError, one_line

DEFAULT_STEPS = 10_000
#: steps, seeds and counts lie below 2**63, the range a checkpoint's counters hold
MAX_STEPS = 2**63


class OneLineParser(argparse.ArgumentParser):
    """argparse's parser, whose error stays one line (it quotes an unknown argument as given, newline and
    all), and which takes UTF-8 arguments only."""

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        for arg in sys.argv[1:] if args is None else args:
            try:
                arg.encode()
            except UnicodeEncodeError:  # bytes not UTF-8 come as surrogates, which no log, YAML or JSON file takes
                self.error(f"argument {arg!r} is not UTF-8 text; give paths and names in UTF-8.")
        return super().parse_known_args(args, namespace)

    def error(self, message: str):  # type: ignore[override]
        super().error(one_line(message))


def parse_set(items: list[str]) -> dict[str, Any]:
    """``["learning_rate=0.05", "env.n_cells=4"]`` -> ``{"learning_rate": 0.05, "env.n_cells": 4}`` (YAML values)."""
    values = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise RLSuiteError(f"--set {item!r} is not key=value; write it like --set learning_rate=0.05.")
        try:
            values[key.strip()] = yaml.safe_load(raw)
        except (yaml.YAMLError, ValueError):  # ValueError: an int of more than 4300 digits
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
        data = yaml.load(file.read_text(), Loader=_ConfigLoader)  # a SafeLoader: it builds no Python objects
    except RecursionError:
        raise RLSuiteError(f"config file {path} nests too deeply to be a run's config; give a plain one.") from None
    except _Unbounded as exc:
        raise RLSuiteError(f"config file {path} {exc}; give a plain one, such as a run's config.yaml.") from None
    except UnicodeDecodeError:
        raise RLSuiteError(
            f"config file {path} is not UTF-8 text; give a YAML file such as a run's config.yaml."
        ) from None
    except ValueError:  # PyYAML turns digits into an int itself, and Python refuses more than 4300 of them
        raise RLSuiteError(f"config file {path} holds a number too long to read; give a plain one.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise RLSuiteError(f"config file {path} does not parse as YAML{where}; fix the syntax there.") from None
    if not isinstance(data, dict):
        raise RLSuiteError(f"config file {path} must be a YAML mapping with keys env, agent, hyperparameters, ...")
    unknown = set(data) - {"env", "env_kwargs", "agent", "seed", "seeds", "steps", "hyperparameters", "loop"}
    if unknown:
        raise RLSuiteError(
            f"config file {path} has unknown keys {sorted(unknown, key=repr)}; allowed: env, env_kwargs, agent, seed, "
            "seeds, steps, hyperparameters, loop."
        )
    for key in ("env", "agent"):
        if key in data and not isinstance(data[key], str):
            raise RLSuiteError(
                f"config file {path}: {key}: {data[key]!r} must be a name such as "
                f"{'CartPole-v1' if key == 'env' else 'dqn'}."
            )
    for key in ("env_kwargs", "hyperparameters", "loop"):
        value = data.get(key)  # its names are strings: {null: 1} would reach f(**kwargs)
        if value is not None and not (isinstance(value, dict) and all(isinstance(name, str) for name in value)):
            raise RLSuiteError(f"config file {path}: {key}: {value!r} must be a mapping of names to values.")
    for key in ("seed", "steps"):
        if data.get(key) is not None:
            data[key] = _whole_number(path, key, data[key])
    if data.get("seeds") is not None:
        if not isinstance(data["seeds"], list) or not data["seeds"]:
            raise RLSuiteError(f"config file {path}: seeds: {data['seeds']!r} must be a list of seeds, e.g. [0, 1, 2].")
        data["seeds"] = [_whole_number(path, "seeds", s) for s in data["seeds"]]
    return data


#: values a config may hold with its YAML aliases expanded: a run's config.yaml holds a few dozen, while 1 kB of
#: nested aliases ("billion laughs") holds 9**9 that a message or an env's constructor would never finish walking
MAX_CONFIG_VALUES = 100_000


class _Unbounded(Exception):
    """A config whose YAML aliases make it contain itself or expand beyond MAX_CONFIG_VALUES."""


class _ConfigLoader(yaml.SafeLoader):
    """``yaml.safe_load``'s loader that counts each node with its aliases expanded, without expanding them."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.sizes: dict[int, int] = {}  # id of a node -> its values, aliases expanded

    def compose_node(self, parent: Any, index: Any) -> Any:
        alias = self.check_event(yaml.AliasEvent)
        node = super().compose_node(parent, index)
        if alias:  # the anchored node again: counted where it appears, unless it is still being read
            if id(node) not in self.sizes:
                raise _Unbounded("contains itself through a YAML alias (&name ... *name)")
            return node
        children = node.value if isinstance(node, yaml.SequenceNode) else []
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        self.sizes[id(node)] = 1 + sum(self.sizes[id(child)] for child in children)
        if self.sizes[id(node)] > MAX_CONFIG_VALUES:
            raise _Unbounded(f"expands through its YAML aliases to more than {MAX_CONFIG_VALUES:,} values")
        return node


def _whole_number(path: str, key: str, value: Any) -> int:
    """``value`` as an int in [0, 2**63) (``1e3`` and ``"1e3"`` are 1000), or one sentence naming it."""
    try:
        number = value if isinstance(value, int) else float(value)  # an int stays exact: 2**63 is no 2.0**63
        if isinstance(value, bool) or not float(number).is_integer() or not 0 <= number < MAX_STEPS:
            raise ValueError
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int beyond floats, e.g. 10**400
        raise RLSuiteError(
            f"config file {path}: {key}: {value!r} must be a whole number in [0, 2**63), e.g. {key}: 1000."
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
