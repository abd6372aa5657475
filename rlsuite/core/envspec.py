"""Turning what a user passes as an environment into a Gymnasium env."""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable
from typing import Any

import gymnasium as gym

from rlsuite.core.errors import RLSuiteError, did_you_mean

EnvSpec = str | gym.Env


def env_name(env: EnvSpec) -> str:
    """A printable name: the id for strings and registered envs, the class name otherwise."""
    if isinstance(env, str):
        return env
    return env.spec.id if env.spec is not None else type(env.unwrapped).__name__


def _make_from_string(spec: str, **kwargs: Any) -> gym.Env:
    if ":" in spec and not spec.startswith("rlsuite/"):
        module_name, _, attr = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise RLSuiteError(
                f"env {spec!r}: module {module_name!r} does not import ({exc}); "
                "check the module path and that it is importable from here."
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
        except (TypeError, ValueError) as exc:
            raise RLSuiteError(f"env {spec!r} rejected its arguments {kwargs}: {exc}") from None
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
    except (TypeError, ValueError) as exc:
        raise RLSuiteError(f"env {spec!r} rejected its arguments {kwargs}: {exc}") from None


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
