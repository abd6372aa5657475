"""Gymnasium's wrappers by name, around any env: ``--wrapper FlattenObservation``, repeated, with
arguments (``--wrapper "TimeLimit(max_episode_steps=200)"``).

The wrappers an env is made with travel in its keyword arguments under ``wrappers`` (a list, the
innermost first), so they are saved with a run and come back with it. A name resolves only among
``gymnasium.wrappers`` (with or without that prefix) and only to a ``gymnasium.Wrapper`` class, and
arguments are literals (numbers, strings, lists, ...), read without evaluating anything: a saved
run naming wrappers imports nothing but Gymnasium and runs no code of its own.
"""

from __future__ import annotations

import ast
import inspect
from typing import Any

import gymnasium as gym

from rlsuite.core.errors import RLSuiteError, did_you_mean

PREFIX = "gymnasium.wrappers."


def wrapper_names() -> list[str]:
    """The env wrappers Gymnasium offers, by name."""
    return sorted(
        name
        for name in dir(gym.wrappers)
        if inspect.isclass(getattr(gym.wrappers, name)) and issubclass(getattr(gym.wrappers, name), gym.Wrapper)
    )


def parse_wrapper(spec: Any) -> tuple[str, dict[str, Any]]:
    """(name, keyword arguments) of ``"Name"``, ``"Name(key=value, ...)"``, ``{"Name": {...}}``, ``["Name", {...}]``."""
    if isinstance(spec, dict) and len(spec) == 1:
        ((name, kwargs),) = spec.items()
    elif isinstance(spec, (list, tuple)) and len(spec) == 2 and isinstance(spec[1], dict):
        name, kwargs = spec
    elif isinstance(spec, str):
        name, kwargs = _parse_call(spec)
    else:
        raise RLSuiteError(
            f"wrapper {spec!r} is not a wrapper spec; give a name, e.g. FlattenObservation, or a call with "
            "literal arguments, e.g. TimeLimit(max_episode_steps=200)."
        )
    if not isinstance(name, str) or not isinstance(kwargs, dict):
        raise RLSuiteError(f"wrapper {spec!r} needs a name and a mapping of arguments.")
    return name.removeprefix(PREFIX), dict(kwargs)


def _parse_call(text: str) -> tuple[str, dict[str, Any]]:
    try:
        node = ast.parse(text.strip(), mode="eval").body
        if isinstance(node, (ast.Name, ast.Attribute)):
            return ast.unparse(node), {}
        if isinstance(node, ast.Call) and not node.args:
            # a keyword without a name is a **mapping, which is not a literal argument
            named = [(k.arg, k.value) for k in node.keywords if k.arg]
            if len(named) == len(node.keywords):
                return ast.unparse(node.func), {arg: ast.literal_eval(value) for arg, value in named}
    except (SyntaxError, ValueError):
        pass
    raise RLSuiteError(
        f"wrapper {text!r} does not read as Name or Name(key=value, ...) with literal values; write it "
        "like TimeLimit(max_episode_steps=200)."
    )


def wrapper_class(name: str) -> type[gym.Wrapper]:
    """The ``gymnasium.wrappers`` class ``name``; nothing else resolves."""
    target = getattr(gym.wrappers, name, None) if name.isidentifier() else None
    if not (inspect.isclass(target) and issubclass(target, gym.Wrapper)):
        raise RLSuiteError(
            f"unknown wrapper {name!r}{did_you_mean(name, wrapper_names())}; wrappers are Gymnasium's "
            "(gymnasium.wrappers), e.g. FlattenObservation, TimeLimit, RescaleAction."
        )
    return target


def check_wrappers(wrappers: Any) -> list[Any]:
    """``wrappers`` as a list whose every item resolves (one line naming the first that does not)."""
    if not isinstance(wrappers, (list, tuple)):
        raise RLSuiteError(f"wrappers={wrappers!r} must be a list of wrappers, e.g. ['FlattenObservation'].")
    for spec in wrappers:
        wrapper_class(parse_wrapper(spec)[0])
    return list(wrappers)


def apply_wrappers(env: gym.Env, wrappers: list[Any]) -> gym.Env:
    """``env`` inside each of ``wrappers`` in turn (the first innermost)."""
    for spec in check_wrappers(wrappers):
        name, kwargs = parse_wrapper(spec)
        try:
            env = wrapper_class(name)(env, **kwargs)
        except (TypeError, ValueError, AssertionError, gym.error.Error) as exc:
            env.close()
            raise RLSuiteError(f"wrapper {name} rejected the env or its arguments {kwargs}: {exc}") from None
    return env
