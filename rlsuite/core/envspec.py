"""Turning what a user passes as an environment into a Gymnasium env."""

from __future__ import annotations

import contextlib
import copy
import importlib
import inspect
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import EnvSpec as EnvSpecType
from gymnasium.envs.registration import load_env_creator

from rlsuite.core.atari import is_atari, make_atari
from rlsuite.core.errors import RLSuiteError, did_you_mean
from rlsuite.core.wrappers import apply_wrappers, check_wrappers

EnvSpec = str | gym.Env


def env_name(env: EnvSpec) -> str:
    """A printable name: the id for strings and registered envs, the class name otherwise."""
    if isinstance(env, str):
        return env
    return env.spec.id if env.spec is not None else type(env.unwrapped).__name__


def import_from_cwd(module_name: str) -> ModuleType:
    """Import ``module_name`` looking in the current directory first, as ``python -m`` does, also
    when run from the installed ``rlsuite`` script (whose sys.path lacks the current directory)."""
    if not all(part.isidentifier() for part in module_name.split(".")):  # importlib: ValueError, TypeError
        raise ImportError(f"{module_name!r} is not a module name such as mypackage.envs")
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
        if not callable(target):
            return None
        params = list(inspect.signature(target).parameters.values())
    except Exception:  # best effort: make_env reports a bad env itself
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return sorted(extra | {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)})


def _rejected(spec: str, kwargs: dict[str, Any], exc: Exception) -> RLSuiteError:
    names = env_arguments(spec)
    if names is not None:
        unknown = [k for k in kwargs if k not in names]
        if unknown:
            return RLSuiteError(
                f"env {spec!r} has no argument {unknown[0]!r}{did_you_mean(unknown[0], names)}; "
                f"its arguments are {', '.join(names) or '(none)'}."
            )
    return RLSuiteError(f"env {spec!r} rejected its arguments {kwargs}: {exc}")


def _make_from_string(spec: str, for_training: bool = False, **kwargs: Any) -> gym.Env:
    if is_module_spec(spec):
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
        if not (inspect.isclass(target) and issubclass(target, gym.Env)):  # checked before anything is called
            raise RLSuiteError(
                f"env {spec!r} names a {type(target).__name__}, not a gymnasium.Env subclass; point it at "
                "an Env class (module:Class) or an id the module registers (module:EnvId)."
            )
        try:
            return target(**kwargs)
        except (TypeError, ValueError, AttributeError, LookupError) as exc:
            raise _rejected(spec, kwargs, exc) from None
    register_package_envs(spec)
    if spec not in gym.registry:
        raise RLSuiteError(
            f"unknown env id {spec!r}{did_you_mean(spec, gym.registry.keys())}; "
            "run `rlsuite list` for the registered ids or pass module:Class."
        )
    try:
        if is_atari(spec):
            with _native_stderr_once():
                return make_atari(spec, training=for_training, **kwargs)
        return gym_make(spec, **kwargs)
    except gym.error.DependencyNotInstalled as exc:
        extra = _extra_of(spec)
        if extra is None:
            raise RLSuiteError(f"env {spec!r} needs a package that is not installed: {exc}") from None
        raise RLSuiteError(
            f"env {spec!r} needs {extra}, which is not installed; pip install 'rlsuite[{extra}]'."
        ) from None
    except (TypeError, ValueError, AttributeError, LookupError) as exc:  # LookupError: FrozenLake's map_name="zz"
        raise _rejected(spec, kwargs, exc) from None


def gym_make(spec: str | EnvSpecType, **kwargs: Any) -> gym.Env:
    """``gymnasium.make``, with MuJoCo's warnings and other packages' notices shown once per process."""
    env_id = spec if isinstance(spec, str) else spec.id
    extra = _extra_of(env_id) if env_id in gym.registry else None
    if extra == "mujoco":
        _mujoco_warnings_once()
    with _native_stderr_once() if extra else contextlib.nullcontext():
        return gym.make(spec, **kwargs)


def _mujoco_warnings_once() -> None:
    """MuJoCo's warnings (HalfCheetah's model uses an attribute it deprecates) go to stderr and to a
    MUJOCO_LOG.TXT it writes in the current directory, at every env creation; with this handler each
    distinct one is shown once per process, and no file is written."""
    try:
        import mujoco
    except ImportError:  # gym.make says what to install
        return
    if mujoco.get_mju_user_warning() is None:
        mujoco.set_mju_user_warning(_show_once)


def _show_once(message: str) -> None:
    if message not in _SHOWN:
        _SHOWN.add(message)
        print(f"MuJoCo: {message}", file=sys.stderr)


#: the rlsuite extra that installs what a registered env's entry point needs
_EXTRAS = {"gymnasium.envs.mujoco": "mujoco", "ale_py": "atari", "minatar": "minatar"}


def register_package_envs(env_id: str) -> None:
    """Register the envs of the package an unregistered id belongs to, on its first use: the ALE's
    (``ALE/<Game>-v5``, ``<Game>NoFrameskip-v4``) and MinAtar's (``MinAtar/<Game>-v1``), neither of
    which registers itself with Gymnasium on its own. Which package is fixed by the id's form; a
    missing package is one line naming the rlsuite extra that installs it."""
    if env_id in gym.registry:
        return
    if env_id.startswith("ALE/") or env_id.endswith(("NoFrameskip-v4", "NoFrameskip-v0")):
        package, extra = "ale_py", "atari"
    elif env_id.startswith("MinAtar/"):
        package, extra = "minatar.gym", "minatar"
    else:
        return
    try:
        with _native_stderr_once():
            module = importlib.import_module(package)
    except ImportError:
        raise RLSuiteError(
            f"env {env_id!r} is one of {package.partition('.')[0]}'s, which is not installed; "
            f"pip install 'rlsuite[{extra}]'."
        ) from None
    if extra == "atari":
        gym.register_envs(module)
    else:
        module.register_envs()


def _extra_of(env_id: str) -> str | None:
    entry = gym.registry[env_id].entry_point
    entry = entry if isinstance(entry, str) else getattr(entry, "__module__", "")
    return next((extra for prefix, extra in _EXTRAS.items() if entry.startswith(prefix)), None)


_SHOWN: set[str] = set()


@contextlib.contextmanager
def _native_stderr_once() -> Iterator[None]:
    """MuJoCo's model compiler and the ALE write notices to the process's stderr from C at every env
    creation (HalfCheetah's model uses an attribute MuJoCo deprecates; the ALE prints its banner); a run
    makes many envs, and the repeats would drown the progress bar, so each such line is shown once per
    process."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no file descriptor behind stderr: nothing to catch
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), fd)
        try:
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            caught.seek(0)
            for line in caught.read().decode(errors="replace").splitlines():
                if line.strip() and line not in _SHOWN:
                    _SHOWN.add(line)
                    print(line, file=sys.stderr)


def is_module_spec(spec: Any) -> bool:
    """Whether ``spec`` is a ``module:Class`` / ``module:EnvId`` string (making it imports the module)."""
    return isinstance(spec, str) and ":" in spec and not spec.startswith("rlsuite/")


def saved_env(spec: Any, source: str | os.PathLike, named: EnvSpec | None = None) -> EnvSpec:
    """The env to use for a spec read from a file (a checkpoint's agent.json, a config.yaml, a sweep.json).

    A file is data: what it names is never imported on its word. A registered id is used as it is;
    a ``module:Class`` / ``module:EnvId`` only when the person at the keyboard names it too
    (``named``: ``--env`` on the command line, ``env=`` in Python), and then only once it resolves,
    before anything is called, to a gymnasium.Env subclass or an id the module registers. An env
    that ``named`` gives otherwise (another id, an instance) is the user's choice and is used instead.
    """
    if named is not None and (not isinstance(named, str) or named != spec):
        return named
    if not isinstance(spec, str) or not spec:
        raise RLSuiteError(
            f"{source} names the env {spec!r}, which is no env id; give the env yourself with --env "
            "ID (Python: env=...)."
        )
    if not is_module_spec(spec):
        return spec  # a registered id (or an unknown one, which make_env reports with close matches)
    if named is None:
        raise RLSuiteError(
            f"{source} names the env {spec!r}, a module:Class that rlsuite would have to import; a run "
            f"directory never makes rlsuite import code, so name it yourself if you trust it: --env "
            f"{spec} (Python: env={spec!r})."
        )
    _check_env_class(spec)
    return spec


def _check_env_class(spec: str) -> None:
    """One line unless ``module:attr`` is a gymnasium.Env subclass or an id the module registers."""
    module_name, _, attr = spec.partition(":")
    try:
        target = getattr(import_from_cwd(module_name), attr, None)
    except ImportError as exc:
        raise RLSuiteError(
            f"env {spec!r}: module {module_name!r} does not import ({exc}); check the module path."
        ) from None
    if not (inspect.isclass(target) and issubclass(target, gym.Env)) and attr not in gym.registry:
        raise RLSuiteError(
            f"env {spec!r} names a {type(target).__name__}, not a gymnasium.Env subclass or a "
            "registered id; give the env module:Class it was trained on."
        )


def make_env(env: EnvSpec, for_training: bool = False, **kwargs: Any) -> gym.Env:
    """A fresh env from a Gymnasium id, ``module:Class`` / ``module:EnvId`` or an env instance.

    ``for_training`` makes the env the training loop steps, which for the ALE's envs adds the
    training-only part of the Atari preprocessing (lives as episodes, rewards clipped to their sign,
    :mod:`rlsuite.core.atari`); every other env is the same either way. ``wrappers=[...]`` among the
    keyword arguments puts the env inside those Gymnasium wrappers (:mod:`rlsuite.core.wrappers`)."""
    wrappers = check_wrappers(kwargs.pop("wrappers")) if "wrappers" in kwargs else []
    if isinstance(env, gym.Env):
        return apply_wrappers(env, wrappers) if wrappers else env
    if not isinstance(env, str):
        raise RLSuiteError(f"env must be a Gymnasium id, 'module:Class' or a gymnasium.Env, not {type(env).__name__}.")
    made = _make_from_string(env, for_training=for_training, **kwargs)
    _check_made(made, env, kwargs.get("render_mode"))
    return apply_wrappers(made, wrappers) if wrappers else made


def _check_made(made: gym.Env, spec: str, render_mode: Any) -> None:
    """One line for an env that cannot be used as made: one without spaces (a module:Class such as
    gymnasium:Env), or a window to render in (render_mode="human") where no display is set."""
    for name in ("observation_space", "action_space"):
        if not isinstance(getattr(made, name, None), gym.spaces.Space):
            made.close()
            raise RLSuiteError(f"env {spec!r} has no {name} once made; an Env sets self.{name} in its __init__.")
    headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if render_mode == "human" and headless and not type(made.unwrapped).__module__.startswith("rlsuite."):
        made.close()  # rlsuite's own envs print their human frames; the others open a window at the first step
        raise RLSuiteError(
            f"env {spec!r} with render_mode='human' draws in a window, and no display is set (DISPLAY / "
            "WAYLAND_DISPLAY); leave render_mode out (rlsuite record RUN_DIR writes a GIF of a trained agent)."
        )


def env_factory(env: EnvSpec, for_training: bool = False, **kwargs: Any) -> Callable[[], gym.Env]:
    """A function that builds independent copies of ``env`` (for vector and evaluation envs;
    ``for_training`` as :func:`make_env` takes it)."""
    if isinstance(env, gym.Env):
        wrappers = check_wrappers(kwargs["wrappers"]) if "wrappers" in kwargs else []
        if env.spec is not None and env.spec.id in gym.registry:
            spec = env.spec
            return lambda: apply_wrappers(gym_make(spec), wrappers)
        template = env
        return lambda: apply_wrappers(copy.deepcopy(template), wrappers)
    make_env(env, for_training, **kwargs).close()  # fail here, with a clear message, not inside a vector env
    return lambda: make_env(env, for_training, **kwargs)
