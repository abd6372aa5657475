"""Turning what a user passes as an environment into a Gymnasium env."""

from __future__ import annotations

import copy
import importlib
import inspect
import os
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import load_env_creator

from rlsuite.core.errors import RLSuiteError, did_you_mean

EnvSpec = str | gym.Env


def env_name(env: EnvSpec) -> str:
    """A printable name: the id for strings and registered envs, the class name otherwise."""
    if isinstance(env, str):
        return env
    return env.spec.id if env.spec is not None else type(env.unwrapped).__name__


def import_from_cwd(module_name: str) -> ModuleType:
    """Import ``module_name`` looking in the current directory first, as ``python -m`` does, also
    when run from the installed ``rlsuite`` script (whose sys.path lacks the current directory)."""
    cwd = os.getcwd()
    added = "" not in sys.path and cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(module_name)
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)


def env_arguments(env: EnvSpec) -> list[str] | None:
    """The keyword arguments ``make_env(env, **kwargs)`` accepts, or None where that cannot be told
    (an env instance, an unknown id, a constructor taking ``**kwargs``)."""
    if not isinstance(env, str):
        return None
    extra: set[str] = set()
    try:
        module_name, _, attr = env.partition(":") if ":" in env and not env.startswith("rlsuite/") else ("", "", env)
        target = getattr(import_from_cwd(module_name), attr, None) if module_name else None
        if target is None:  # a registered id: gym.make passes its kwargs to the entry point
            entry = gym.spec(attr).entry_point
            target = load_env_creator(entry) if isinstance(entry, str) else entry
            extra = {"max_episode_steps", "disable_env_checker"}
        params = list(inspect.signature(target).parameters.values())
    except Exception:  # best effort: make_env reports a bad env itself
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return sorted(extra | {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)})


def _rejected(spec: str, kwargs: dict[str, Any], exc: Exception) -> RLSuiteError:
    names = env_arguments(spec)
    unknown = [k for k in kwargs if names is not None and k not in names]
    if unknown:
        return RLSuiteError(f"env {spec!r} has no argument {unknown[0]!r}{did_you_mean(unknown[0], names)}; "
                            f"its arguments are {', '.join(names) or '(none)'}.")
    return RLSuiteError(f"env {spec!r} rejected its arguments {kwargs}: {exc}")


def _make_from_string(spec: str, **kwargs: Any) -> gym.Env:
    if ":" in spec and not spec.startswith("rlsuite/"):
        module_name, _, attr = spec.partition(":")
        try:
            module = import_from_cwd(module_name)
        except ImportError as exc:
            raise RLSuiteError(
                f"env {spec!r}: module {module_name!r} does not import ({exc}); check the module path "
                f"(looked up from the current directory {os.getcwd()} and the installed packages)."
            ) from exc
        target = getattr(module, attr, None)
        if target is None:
            if attr in gym.registry:  # module:EnvId — the module registers the id on import
                return gym.make(attr, **kwargs)
            raise RLSuiteError(
                f"env {spec!r}: {module_name!r} has no class or registered id {attr!r}; "
                "give module:Class or module:EnvId."
            )
        try:
            env = target(**kwargs)
        except (TypeError, ValueError, AttributeError) as exc:
            raise _rejected(spec, kwargs, exc) from None
        if not isinstance(env, gym.Env):
            raise RLSuiteError(f"env {spec!r} made a {type(env).__name__}, not a gymnasium.Env; point it at an Env class.")
        return env
    if spec not in gym.registry:
        raise RLSuiteError(
            f"unknown env id {spec!r}{did_you_mean(spec, gym.registry.keys())}; "
            "run `rlsuite list` for the registered ids or pass module:Class."
        )
    try:
        return gym.make(spec, **kwargs)
    except (TypeError, ValueError, AttributeError) as exc:
        raise _rejected(spec, kwargs, exc) from None


def make_env(env: EnvSpec, **kwargs: Any) -> gym.Env:
    """A fresh env from a Gymnasium id, ``module:Class`` / ``module:EnvId`` or an env instance."""
    if isinstance(env, gym.Env):
        return env
    if not isinstance(env, str):
        raise RLSuiteError(f"env must be a Gymnasium id, 'module:Class' or a gymnasium.Env, not {type(env).__name__}.")
    return _make_from_string(env, **kwargs)


def env_factory(env: EnvSpec, **kwargs: Any) -> Callable[[], gym.Env]:
    """A function that builds independent copies of ``env`` (for vector and evaluation envs)."""
    if isinstance(env, gym.Env):
        if env.spec is not None and env.spec.id in gym.registry:
            spec = env.spec
            return lambda: gym.make(spec)
        template = env
        return lambda: copy.deepcopy(template)
    make_env(env, **kwargs).close()  # fail here, with a clear message, not inside a vector env
    return lambda: make_env(env, **kwargs)
