"""Stable-Baselines3 algorithms trained through rlsuite's run handling: ``--agent sb3:DQN``, ``sb3:PPO``, ...

Stable-Baselines3 steps its environment itself, so it does not go through rlsuite's loop; this
runner hands it rlsuite's env, runs ``model.learn``, and a callback feeds the same
runs the loop feeds (:class:`~rlsuite.driver.members.MemberRuns`): the same schedule, TensorBoard tags,
evaluation (:func:`rlsuite.evaluate`), checkpoints (the policy's weights as safetensors, no
pickle), progress display and ``summary.json``. Users can so put an SB3 algorithm beside an
rlsuite one on their own env and compare like with like.

Hyperparameters are the algorithm's own constructor arguments (``--set learning_rate=1e-3``),
plus ``policy`` (default ``MlpPolicy``, ``CnnPolicy`` for uint8 images, ``MultiInputPolicy`` for dict observations),
``net_arch`` (goes into ``policy_kwargs``), and ``noise_std`` with ``noise_type`` (``normal``
or ``ornstein-uhlenbeck``) for action noise in the normalised action range, as rlsuite's DDPG
takes them, for algorithms that have ``action_noise``.
"""

from __future__ import annotations

import inspect
from functools import cache
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from rlsuite.core.envspec import env_factory, make_env
from rlsuite.core.errors import RLSuiteError, did_you_mean
from rlsuite.driver.ctrlc import CtrlC
from rlsuite.driver.members import MemberRuns
from rlsuite.driver.settings import LoopSettings, TrainResult, set_torch_threads
from rlsuite.learning.agent import Trainable
from rlsuite.nets.backbones import is_image_space

EXTRA_KEYS = {"policy", "net_arch", "noise_std", "noise_type"}
# constructor arguments the adapter sets itself
RESERVED = {"env", "seed", "device", "verbose", "tensorboard_log", "_init_setup_model", "action_noise"}
# action spaces per algorithm (SB3 checks them only once a model is built)
ACTION_SPACES = {
    "DQN": (gym.spaces.Discrete,),
    "DDPG": (gym.spaces.Box,),
    "TD3": (gym.spaces.Box,),
    "SAC": (gym.spaces.Box,),
}
# SB3's logger keys -> rlsuite's tags
TAGS = {
    "rollout/exploration_rate": "charts/epsilon",
    "train/actor_loss": "losses/actor_loss",
    "train/critic_loss": "losses/critic_loss",
    "train/learning_rate": "charts/learning_rate",
}
SKIPPED = {"train/n_updates", "train/clip_range", "time/fps"}


def algorithms() -> dict[str, type]:
    """SB3's algorithm classes by name."""
    import stable_baselines3
    from stable_baselines3.common.base_class import BaseAlgorithm

    return {
        name: obj
        for name, obj in vars(stable_baselines3).items()
        if inspect.isclass(obj) and issubclass(obj, BaseAlgorithm)
    }


@cache
def sb3_runner_class(algo: str) -> type[SB3Runner]:
    """The runner class for ``sb3:ALGO`` (the name is matched case-insensitively)."""
    found = {name.lower(): name for name in algorithms()}
    if algo.lower() not in found:
        raise RLSuiteError(
            f"unknown Stable-Baselines3 algorithm {algo!r}{did_you_mean(algo, found.values())}; "
            f"choose one of {', '.join('sb3:' + n for n in sorted(found.values()))}."
        )
    name = found[algo.lower()]
    return type(
        f"SB3{name}",
        (SB3Runner,),
        {
            "algo": name,
            "name": f"sb3:{name}",
            "summary": f"Stable-Baselines3's {name}, trained through rlsuite's run handling",
        },
    )


class SB3Runner(Trainable):
    """One Stable-Baselines3 algorithm (``algo``) with rlsuite's run directory, tags and checkpoints."""

    algo = "DQN"
    spaces_doc = "the spaces the Stable-Baselines3 algorithm accepts"

    def __init__(
        self,
        observation_space,
        action_space,
        config: dict[str, Any] | None = None,
        seed: int = 0,
        env=None,
        env_kwargs=None,
    ) -> None:
        super().__init__(observation_space, action_space, seed, env, env_kwargs)
        self.config = dict(config or {})
        self.model = None

    # ----- configuration ----------------------------------------------------------------------
    @classmethod
    def algorithm(cls):
        return algorithms()[cls.algo]

    @classmethod
    def accepted_keys(cls) -> set[str]:
        params = set(inspect.signature(cls.algorithm().__init__).parameters) - {"self"} - RESERVED
        return params | EXTRA_KEYS

    @classmethod
    def make_config(cls, values: dict[str, Any]) -> dict[str, Any]:
        accepted = cls.accepted_keys()
        for key in values:
            if key not in accepted:
                raise RLSuiteError(
                    f"{cls.name} has no hyperparameter {key!r}{did_you_mean(key, accepted)}; "
                    f"it takes {cls.algo}'s constructor arguments, plus net_arch, noise_std and noise_type."
                )
        return dict(values)

    def hyperparameters(self) -> dict[str, Any]:
        return dict(self.config)

    @classmethod
    def supports(cls, observation_space: gym.Space, action_space: gym.Space) -> str | None:
        allowed = ACTION_SPACES.get(cls.algo)
        if allowed and not isinstance(action_space, allowed):
            return f"{cls.algo} needs a {' or '.join(a.__name__ for a in allowed)} action space"
        if isinstance(observation_space, gym.spaces.Tuple):
            return "Stable-Baselines3 does not take Tuple observation spaces"
        return None

    # ----- the model ----------------------------------------------------------------------------
    def _policy_kwargs(self, kwargs: dict[str, Any]) -> None:
        """rlsuite's spellings (net_arch, noise_std, noise_type) as SB3's constructor arguments."""
        if "net_arch" in kwargs:  # a list, or a dict such as {pi: [64], vf: [64]} for actor-critic policies
            net_arch = kwargs.pop("net_arch")
            kwargs["policy_kwargs"] = {
                **kwargs.get("policy_kwargs", {}),
                "net_arch": dict(net_arch) if isinstance(net_arch, dict) else list(net_arch),
            }
        noise_std, noise_type = kwargs.pop("noise_std", None), kwargs.pop("noise_type", "normal")
        if noise_std is not None and "action_noise" in inspect.signature(self.algorithm().__init__).parameters:
            from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

            noises = {"normal": NormalActionNoise, "ornstein-uhlenbeck": OrnsteinUhlenbeckActionNoise}
            if noise_type not in noises:
                raise RLSuiteError(
                    f"{self.name} noise_type={noise_type!r} is unknown; use normal or ornstein-uhlenbeck."
                )
            n = int(np.prod(self.action_space.shape))
            kwargs["action_noise"] = noises[noise_type](np.zeros(n), float(noise_std) * np.ones(n))

    def build(self, env) -> Any:
        """The SB3 model on ``env`` (an env or SB3 VecEnv), with this runner's hyperparameters."""
        from stable_baselines3.common.logger import Logger

        kwargs = dict(self.config)
        default_policy = (
            "MultiInputPolicy"
            if isinstance(self.observation_space, gym.spaces.Dict)
            else "CnnPolicy"
            if is_image_space(self.observation_space) and self.observation_space.dtype == np.uint8
            else "MlpPolicy"
        )
        policy = kwargs.pop("policy", default_policy)
        self._policy_kwargs(kwargs)
        try:
            model = self.algorithm()(policy, env, seed=self.seed, device="cpu", verbose=0, **kwargs)
        except (AssertionError, ValueError, TypeError, KeyError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RLSuiteError(f"{self.name} rejected its settings: {first}") from None
        model.set_logger(Logger(folder=None, output_formats=[]))  # values are read by logged_scalars
        self.model = model
        return model

    def _ensure_model(self):
        if self.model is None:
            self.build(make_env(self.env, **self.env_kwargs))
        return self.model

    def predict(self, obs: Any, deterministic: bool = True, action_mask: np.ndarray | None = None) -> Any:
        action, _ = self._ensure_model().predict(obs, deterministic=deterministic)
        return action

    def act(self, obs: Any, mask: np.ndarray | None = None, explore: bool = True) -> Any:
        """Actions for a batch of observations (the runs' evaluation asks with ``explore=False``)."""
        action, _ = self._ensure_model().predict(obs, deterministic=not explore)
        return action

    def state_parts(self) -> dict[str, Any]:
        return {"policy": self._ensure_model().policy}

    def logged_scalars(self) -> dict[str, float]:
        """SB3's latest training values under rlsuite's tags."""
        out = {}
        for key, value in self._ensure_model().logger.name_to_value.items():
            if key in SKIPPED or not isinstance(value, (int, float)):
                continue
            tag = TAGS.get(key) or (
                "losses/td_loss" if key == "train/loss" and self.algo == "DQN" else key.replace("train/", "losses/", 1)
            )
            out[tag] = float(value)
        return out

    # ----- training -----------------------------------------------------------------------------
    def learn(
        self,
        total_steps: int,
        run_dir: str | Path | None = None,
        resume: bool = False,
        progress: bool = False,
        **loop_settings: Any,
    ) -> TrainResult:
        from stable_baselines3.common.env_util import make_vec_env

        if resume:
            raise RLSuiteError(
                f"{self.name} runs cannot be resumed (SB3 keeps its own training state); start a new run."
            )
        settings = LoopSettings.build({**loop_settings, "progress": progress})
        model = self.build(
            make_vec_env(env_factory(self.env, True, **self.env_kwargs), n_envs=settings.n_envs, seed=self.seed)
        )
        set_torch_threads(settings.torch_threads)
        # the loop's own schedule, evaluator and summaries: SB3 takes the steps, MemberRuns does the rest
        runs = MemberRuns(self, total_steps, Path(run_dir) if run_dir is not None else None, settings, [], None)
        callback = _RunCallback(self, runs)
        ctrl_c = callback.ctrl_c.install()
        interrupted = False
        try:
            model.learn(total_steps, callback=callback, log_interval=None, progress_bar=False)
        except KeyboardInterrupt:
            interrupted = True
        except BaseException:
            runs.abort()  # close the event file and release the run directory
            raise
        finally:
            model.env.close()
            ctrl_c.restore()
        finishing = CtrlC(finishing=True).install()  # a signal now cuts the final evaluation, never the summaries
        try:
            return runs.finish(
                interrupted or ctrl_c.requested, None, ctrl_c.signal or ("SIGINT" if interrupted else None)
            )
        finally:
            finishing.restore()


class _RunCallback(BaseCallback):
    """Feeds SB3's finished episodes and step count to the runs, which log, evaluate and checkpoint
    on the loop's schedule."""

    def __init__(self, runner: SB3Runner, runs: MemberRuns) -> None:
        super().__init__()
        self.runner, self.runs = runner, runs
        self.ctrl_c = CtrlC()

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            episode = info.get("episode")
            if episode is not None:
                metrics = {name: float(value) for name, value in (info.get("metrics") or {}).items()}
                self.runs.add_episode(0, float(episode["r"]), int(episode["l"]), metrics)
        self.runner.num_timesteps = self.num_timesteps  # the runner's own count, saved in its checkpoints
        self.runs.after_step(self.num_timesteps, _no_loop_state)
        return not (self.ctrl_c.requested or self.runs.all_done)


def _no_loop_state(k: int) -> dict[str, Any]:
    """SB3 keeps its envs' state itself: a checkpoint has nothing of the loop's to hold."""
    return {}
