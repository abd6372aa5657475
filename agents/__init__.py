"""The agent registry: a name maps to ``module:Class``; presets live in presets/<name>.yaml.

Adding an algorithm is one file in this folder and one line in ``REGISTRY``.
"""

from __future__ import annotations

import fnmatch
import importlib
from pathlib import Path
from typing import Any

import yaml

from rlsuite.core.envspec import EnvSpec, env_name, make_env
from rlsuite.core.errors import RLSuiteError, did_you_mean

REGISTRY: dict[str, str] = {
    "qlearning": "rlsuite.agents.qlearning:QLearning",
    "sarsa": "rlsuite.agents.sarsa:Sarsa",
    "expected_sarsa": "rlsuite.agents.expected_sarsa:ExpectedSarsa",
    "double_qlearning": "rlsuite.agents.double_qlearning:DoubleQLearning",
    "bandit_epsilon_greedy": "rlsuite.agents.bandit_epsilon_greedy:EpsilonGreedyBandit",
    "bandit_ucb": "rlsuite.agents.bandit_ucb:UCBBandit",
    "bandit_gradient": "rlsuite.agents.bandit_gradient:GradientBandit",
    "nstep_sarsa": "rlsuite.agents.nstep_sarsa:NStepSarsa",
    "sarsa_lambda": "rlsuite.agents.sarsa_lambda:SarsaLambda",
    "dyna_q": "rlsuite.agents.dyna_q:DynaQ",
    "mc_es": "rlsuite.agents.mc_es:MonteCarloES",
    "dqn": "rlsuite.agents.dqn:DQN",
    "ddpg": "rlsuite.agents.ddpg:DDPG",
    "td3": "rlsuite.agents.td3:TD3",
    "sac": "rlsuite.agents.sac:SAC",
}

PRESET_DIR = Path(__file__).parent / "presets"


def agent_class(name: str):
    """The class registered under ``name``; ``sb3:ALGO`` is Stable-Baselines3's ALGO (integrations/sb3.py)."""
    if name.startswith("sb3:"):
        from rlsuite.integrations.sb3 import sb3_runner_class

        return sb3_runner_class(name[4:])
    if name not in REGISTRY:
        raise RLSuiteError(
            f"unknown agent {name!r}{did_you_mean(name, REGISTRY)}; choose one of {', '.join(REGISTRY)}, "
            "or sb3:ALGO for a Stable-Baselines3 algorithm (e.g. sb3:PPO)."
        )
    module_name, _, cls_name = REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module_name), cls_name)


def preset(agent: str, env_id: str) -> dict[str, Any]:
    """Tuned settings for ``agent`` on ``env_id``: ``{"hyperparameters": {...}, "steps": N}`` or {}; a
    preset may also hold ``loop`` settings (the CLI's base) and ``env_wrapper``, Gymnasium wrappers the
    env is made in unless the user gives their own (``env_kwargs={"wrappers": [...]}``).

    A preset's key is an env id, or a pattern of ids (``ALE/*-v5``: every game) that an id with no
    preset of its own takes."""
    path = PRESET_DIR / f"{agent}.yaml"
    if not path.exists():
        return {}
    presets = yaml.safe_load(path.read_text()) or {}
    if env_id in presets:
        return dict(presets[env_id])
    return next((dict(v) for k, v in presets.items() if "*" in k and fnmatch.fnmatchcase(env_id, k)), {})


def agents_for(observation_space, action_space) -> list[str]:
    """Names of the registered agents that can train on these spaces."""
    return [name for name in REGISTRY if agent_class(name).supports(observation_space, action_space) is None]


def make_agent(
    name: str,
    env: EnvSpec,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    use_preset: bool = True,
    seeds: int | list[int] | None = None,
    **hyperparameters: Any,
):
    """Build agent ``name`` for ``env`` with validated hyperparameters.

    ``env`` is a Gymnasium id, ``module:Class`` / ``module:EnvId`` or an env instance. The
    agent's tuned preset for that env (agents/presets/NAME.yaml) is the base and the keyword
    hyperparameters override it; ``use_preset=False`` starts from the class defaults.

    ``seeds=K`` (seeds ``seed`` .. ``seed + K - 1``) or ``seeds=[3, 7, 11]`` builds one agent of K
    members: K independent runs of the algorithm trained in lockstep (``agent.members`` are
    single-seed views; ``learn`` returns one result per member).
    """
    cls = agent_class(name)
    member_seeds = member_seed_list(seed, seeds)
    if len(member_seeds) > 1 and name.startswith("sb3:"):
        raise RLSuiteError(
            f"{name} trains one seed per run; give one seed (seed=S), or run seeds side by side with rlsuite sweep."
        )
    tuned = preset(name, env_name(env)) if use_preset else {}
    if tuned.get("env_wrapper") and "wrappers" not in (env_kwargs or {}):  # a preset's wrappers, as rl-zoo's
        env_kwargs = {**(env_kwargs or {}), "wrappers": list(tuned["env_wrapper"])}
    probe = make_env(env, **(env_kwargs or {}))
    try:
        reason = cls.supports(probe.observation_space, probe.action_space)
        if reason is not None:
            fits = agents_for(probe.observation_space, probe.action_space)
            hint = f"use {' or '.join(repr(a) for a in fits)}" if fits else _no_agent_hint(probe)
            raise RLSuiteError(f"agent {name!r} cannot train on {env_name(env)}: {reason}; {hint}.")
        values = dict(tuned.get("hyperparameters", {}))
        values.update(hyperparameters)
        config = cls.make_config(values)
        if len(member_seeds) > 1:
            return cls(
                probe.observation_space, probe.action_space, config, seeds=member_seeds, env=env, env_kwargs=env_kwargs
            )
        return cls(
            probe.observation_space, probe.action_space, config, seed=member_seeds[0], env=env, env_kwargs=env_kwargs
        )
    finally:
        if probe is not env:
            probe.close()


def _no_agent_hint(env) -> str:
    """What to do about spaces no rlsuite agent takes: the wrapper that flattens them, or an SB3 algorithm."""
    from gymnasium import spaces

    if isinstance(env.observation_space, (spaces.Dict, spaces.Tuple)):
        flat = agents_for(spaces.flatten_space(env.observation_space), env.action_space)
        if flat:
            return (
                "flatten its observations first, --wrapper FlattenObservation (Python: env_kwargs={'wrappers': "
                f"['FlattenObservation']}}), then use {' or '.join(repr(a) for a in flat)}"
            )
    return "no rlsuite agent takes these spaces; a Stable-Baselines3 algorithm may, e.g. --agent sb3:PPO"


def member_seed_list(seed: int, seeds: int | list[int] | None) -> list[int]:
    """The members' seeds: ``[seed]``, ``seed .. seed + K - 1`` for ``seeds=K``, or the list given."""
    from rlsuite.learning.agent import MAX_MEMBERS, check_seeds

    if seeds is None:
        return check_seeds([seed])
    if isinstance(seeds, bool) or (isinstance(seeds, int) and seeds < 1):
        raise RLSuiteError(
            f"seeds={seeds!r} must be a count of at least 1 or a list of seeds, e.g. seeds=8 or seeds=[3, 7, 11]."
        )
    if isinstance(seeds, int) and seeds > MAX_MEMBERS:  # before the range is walked: --seeds 2**64 never ends
        raise RLSuiteError(f"seeds={seeds} is too many; a run trains 1 to {MAX_MEMBERS:,} seeds.")
    return check_seeds(range(seed, seed + seeds) if isinstance(seeds, int) else seeds)


def load(path: str | Path, device: str | None = None, env: EnvSpec | None = None):
    """An agent from a model directory (``agent.save``) or a run directory (its newest checkpoint).

    A neural agent goes onto ``device`` ("cpu", "cuda", "cuda:N", "auto"); by default onto the
    device it was trained on where this machine has it, else the CPU — a checkpoint loads anywhere.

    The agent's env is the one the checkpoint names, if that is a registered id. A checkpoint is
    data, so a ``module:Class`` env it names is never imported on its word: pass the same spec as
    ``env`` to confirm it (or another env, an id or an instance, to use that instead).
    """
    from rlsuite.driver.checkpoint import find_checkpoint

    given = Path(path)
    for attempt in range(3):
        path = find_checkpoint(given)
        try:
            return _load_checkpoint(path, device, env)
        except RLSuiteError:
            # a run that is still training prunes its oldest checkpoint as it writes a new one: take the newest again
            if attempt == 2 or path == given or path.exists():
                raise


def _load_checkpoint(path: Path, device: str | None, env: EnvSpec | None):
    from rlsuite.core.envspec import saved_env
    from rlsuite.core.spaces import space_from_json
    from rlsuite.driver.checkpoint import read_checkpoint, restore_into

    meta, _ = read_checkpoint(path)
    try:
        cls = agent_class(meta["agent"])
        obs_space = space_from_json(meta["observation_space"])
        act_space = space_from_json(meta["action_space"])
        config = cls.make_config(_on_device(meta["hyperparameters"], device))
        saved = meta["env"]
        if saved is not None or env is not None:
            saved = saved_env(saved, path / "agent.json", env)
        if env is not None and env != meta["env"]:  # another env than the run's: it must have the run's spaces
            _check_spaces(saved, meta["env_kwargs"], obs_space, act_space, path)
        agent = cls(obs_space, act_space, config, seed=meta["seed"], env=saved, env_kwargs=meta["env_kwargs"])
    except RLSuiteError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise RLSuiteError(f"checkpoint {path} is corrupt: agent.json lacks or mangles {exc}.") from None
    restore_into(agent, path)
    return agent


def _check_spaces(env: EnvSpec, env_kwargs: Any, obs_space: Any, act_space: Any, path: Path) -> None:
    """One line unless ``env`` (with the run's env arguments) has the spaces the checkpoint was trained on."""
    from rlsuite.core.envspec import env_name, make_env

    try:
        made = make_env(env, **(env_kwargs if isinstance(env_kwargs, dict) else {}))
    except RLSuiteError:  # the run's env arguments do not fit it: making it to play says so, in one line
        return
    spaces = made.observation_space, made.action_space
    if isinstance(env, str):  # an instance is the caller's to close
        made.close()
    if spaces != (obs_space, act_space):
        raise RLSuiteError(
            f"env {env_name(env)} has observations {spaces[0]} and actions {spaces[1]}, but {path} was trained "
            f"on {obs_space} and {act_space}; give an env with the run's spaces, or leave out --env."
        )


def _on_device(hyperparameters: dict[str, Any], device: str | None) -> dict[str, Any]:
    """The saved hyperparameters with ``device`` set, or the saved device made one this machine has."""
    if not isinstance(hyperparameters, dict) or "device" not in hyperparameters:
        return hyperparameters
    saved = str(hyperparameters["device"])
    if device is None:
        import torch

        device = saved if saved in ("cpu", "auto") or torch.cuda.is_available() else "cpu"
    return {**hyperparameters, "device": device}
