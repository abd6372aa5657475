"""Stable-Baselines3 algorithms as rlsuite agents: ``--agent sb3:DQN``, ``sb3:PPO``, ``sb3:SAC``, ...

Stable-Baselines3 steps its environment itself, so this adapter hands it rlsuite's env and runs
``model.learn``. A callback does what rlsuite's loop does for its own agents: the same
TensorBoard tags, periodic evaluation with :func:`rlsuite.evaluate`, checkpoints (the policy's
weights as safetensors, no pickle), the progress display and ``summary.json``. Users can so put
an SB3 algorithm beside an rlsuite one on their own env and compare like with like.

Hyperparameters are the algorithm's own constructor arguments (``--set learning_rate=1e-3``),
plus ``policy`` (default ``MlpPolicy``, ``MultiInputPolicy`` for dict observations),
``net_arch`` (goes into ``policy_kwargs``), and ``noise_std`` with ``noise_type`` (``normal``
or ``ornstein-uhlenbeck``) for action noise in the normalised action range, as rlsuite's DDPG
takes them, for algorithms that have ``action_noise``.
"""

from __future__ import annotations

import inspect
import math
import sys
import time
from functools import cache
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import yaml
from stable_baselines3.common.callbacks import BaseCallback

from rlsuite.training.agent import Agent
from rlsuite.core.errors import RLSuiteError, did_you_mean

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

    return {name: obj for name, obj in vars(stable_baselines3).items()
            if inspect.isclass(obj) and issubclass(obj, BaseAlgorithm)}


@cache
def sb3_runner_class(algo: str) -> type["SB3Agent"]:
    """The agent class for ``sb3:ALGO`` (the name is matched case-insensitively)."""
    found = {name.lower(): name for name in algorithms()}
    if algo.lower() not in found:
        raise RLSuiteError(f"unknown Stable-Baselines3 algorithm {algo!r}{did_you_mean(algo, found.values())}; "
                           f"choose one of {', '.join('sb3:' + n for n in sorted(found.values()))}.")
    name = found[algo.lower()]
    return type(f"SB3{name}", (SB3Agent,), {"algo": name, "name": f"sb3:{name}",
                                             "summary": f"Stable-Baselines3's {name}, trained through rlsuite's run handling"})


class SB3Agent(Agent):
    """One Stable-Baselines3 algorithm (``algo``) behind rlsuite's agent interface."""

    algo = "DQN"
    collects_itself = True
    spaces_doc = "the spaces the Stable-Baselines3 algorithm accepts"

    def __init__(self, observation_space, action_space, config=None, seed=0, env=None, env_kwargs=None) -> None:
        super().__init__(observation_space, action_space, config if config is not None else {}, seed, env, env_kwargs)
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
                raise RLSuiteError(f"{cls.name} has no hyperparameter {key!r}{did_you_mean(key, accepted)}; "
                                   f"it takes {cls.algo}'s constructor arguments, plus net_arch, noise_std and noise_type.")
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
    def build(self, env) -> Any:
        """The SB3 model on ``env`` (an env or SB3 VecEnv), with this agent's hyperparameters."""
        from stable_baselines3.common.logger import Logger

        kwargs = dict(self.config)
        default_policy = "MultiInputPolicy" if isinstance(self.observation_space, gym.spaces.Dict) else "MlpPolicy"
        policy = kwargs.pop("policy", default_policy)
        if "net_arch" in kwargs:  # a list, or a dict such as {pi: [64], vf: [64]} for actor-critic policies
            net_arch = kwargs.pop("net_arch")
            kwargs["policy_kwargs"] = {**kwargs.get("policy_kwargs", {}),
                                       "net_arch": dict(net_arch) if isinstance(net_arch, dict) else list(net_arch)}
        noise_std, noise_type = kwargs.pop("noise_std", None), kwargs.pop("noise_type", "normal")
        if noise_std is not None and "action_noise" in inspect.signature(self.algorithm().__init__).parameters:
            from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

            noises = {"normal": NormalActionNoise, "ornstein-uhlenbeck": OrnsteinUhlenbeckActionNoise}
            if noise_type not in noises:
                raise RLSuiteError(f"{self.name} noise_type={noise_type!r} is unknown; use normal or ornstein-uhlenbeck.")
            n = int(np.prod(self.action_space.shape))
            kwargs["action_noise"] = noises[noise_type](np.zeros(n), float(noise_std) * np.ones(n))
        try:
            model = self.algorithm()(policy, env, seed=self.seed, device="cpu", verbose=0, **kwargs)
        except (AssertionError, ValueError, TypeError, KeyError) as exc:
            raise RLSuiteError(f"{self.name} rejected its settings: {exc}") from None
        model.set_logger(Logger(folder=None, output_formats=[]))  # values are read by the callback
        self.model = model
        return model

    def _ensure_model(self):
        if self.model is None:
            from rlsuite.core.envspec import make_env

            self.build(make_env(self.env, **self.env_kwargs))
        return self.model

    def predict(self, obs: Any, deterministic: bool = True, action_mask: np.ndarray | None = None) -> Any:
        action, _ = self._ensure_model().predict(obs, deterministic=deterministic)
        return action

    def act(self, obs, mask):
        raise RLSuiteError(f"{self.name} collects its own experience; train it with learn() or rlsuite train.")

    observe = act

    def state_tensors(self) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy() for k, v in self._ensure_model().policy.state_dict().items()}

    def load_state_tensors(self, tensors: dict[str, np.ndarray]) -> None:
        import torch

        self._ensure_model().policy.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in tensors.items()})

    # ----- training -----------------------------------------------------------------------------
    def train_itself(self, total_steps: int, run_dir: Path | None, settings, resume: bool):
        from stable_baselines3.common.env_util import make_vec_env

        from rlsuite.core.envspec import env_factory
        from rlsuite.training.logger import RunLogger
        from rlsuite.training.loop import TrainResult, finish_run, run_config

        if resume:
            raise RLSuiteError(f"{self.name} runs cannot be resumed (SB3 keeps its own training state); start a new run.")
        make = env_factory(self.env, **self.env_kwargs)
        model = self.build(make_vec_env(make, n_envs=settings.n_envs, seed=self.seed))
        if settings.torch_threads and "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(settings.torch_threads)
        if run_dir is not None:
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "config.yaml").write_text(yaml.safe_dump(run_config(self, total_steps, settings), sort_keys=False))
        logger = RunLogger(run_dir)
        callback = _LoopCallback(self, total_steps, run_dir, settings, logger, make())
        interrupted = False
        try:
            with callback.ctrl_c:
                model.learn(total_steps, callback=callback, log_interval=None, progress_bar=False)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            model.env.close()
        interrupted = interrupted or callback.ctrl_c.requested
        wall = time.perf_counter() - callback.t0
        step = model.num_timesteps
        callback.flush(step)  # what the last update recorded after the last logged step
        callback.progress.close()
        self.num_timesteps = step
        eval_mean, eval_std = callback.last_eval
        if math.isnan(eval_mean) or step != callback.last_eval_step:
            eval_mean, eval_std = callback.evaluate(step)
        callback.eval_env.close()
        callback.checkpoint(step)
        summary = finish_run(self, run_dir, logger, step, total_steps, callback.episodes, wall, eval_mean, eval_std,
                             interrupted)
        return TrainResult(summary, callback.returns, callback.lengths, run_dir)


class _LoopCallback(BaseCallback):
    """Episode statistics, logging, evaluation and checkpoints at the loop's intervals."""

    def __init__(self, agent: SB3Agent, total_steps: int, run_dir: Path | None, settings, logger, eval_env) -> None:
        from rlsuite.training.logger import Progress
        from rlsuite.training.loop import CtrlC

        super().__init__()
        self.agent, self.run_dir, self.settings, self.log, self.eval_env = agent, run_dir, settings, logger, eval_env
        self.eval_freq = settings.eval_freq or max(total_steps // 10, 1)
        self.checkpoint_every = settings.checkpoint_every or max(total_steps // 5, 1)
        self.next_log, self.next_eval, self.next_ckpt = settings.log_interval, self.eval_freq, self.checkpoint_every
        self.progress = Progress(total_steps, 0, settings.progress)
        self.ctrl_c = CtrlC()
        self.returns: list[float] = []
        self.lengths: list[int] = []
        self.episodes = 0
        self.last_eval, self.last_eval_step = (float("nan"), float("nan")), -1
        self.t0 = time.perf_counter()

    def evaluate(self, step: int) -> tuple[float, float]:
        from rlsuite.training.evaluation import evaluate

        start = time.perf_counter()
        self.last_eval = evaluate(self.agent, self.eval_env, self.settings.eval_episodes, seed=self.agent.seed + 1_000_003)
        self.t0 += time.perf_counter() - start  # evaluation is not training time, as in rlsuite's loop
        self.last_eval_step = step
        self.log.write("eval/mean_return", self.last_eval[0], step)
        return self.last_eval

    def checkpoint(self, step: int) -> None:
        from rlsuite.training.checkpoint import save_checkpoint

        if self.run_dir is None:
            return
        self.agent.num_timesteps = step
        save_checkpoint(self.agent, self.run_dir, step, {"step": step, "episodes": self.episodes},
                        self.settings.keep_checkpoints)

    def flush(self, step: int) -> None:
        """Write the accumulated scalars and SB3's latest training values under rlsuite's tags."""
        sps = step / max(time.perf_counter() - self.t0, 1e-9)
        self.log.add("charts/SPS", sps)
        for key, value in self.model.logger.name_to_value.items():
            if key in SKIPPED or not isinstance(value, (int, float)):
                continue
            tag = TAGS.get(key) or ("losses/td_loss" if key == "train/loss" and self.agent.algo == "DQN"
                                    else key.replace("train/", "losses/", 1))
            self.log.add(tag, float(value))
        self.log.flush(step)
        self.progress.update(step, sps, float(np.mean(self.returns[-20:])) if self.returns else None)

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            episode = info.get("episode")
            if episode is None:
                continue
            self.returns.append(float(episode["r"]))
            self.lengths.append(int(episode["l"]))
            self.episodes += 1
            self.log.add("charts/episodic_return", self.returns[-1])
            self.log.add("charts/episodic_length", self.lengths[-1])
            for name, value in (info.get("metrics") or {}).items():
                self.log.add(f"env/{name}", float(value))
        step = self.num_timesteps
        if step >= self.next_log:
            self.next_log += self.settings.log_interval
            self.flush(step)
        if step >= self.next_eval:
            self.next_eval += self.eval_freq
            self.evaluate(step)
        if step >= self.next_ckpt:
            self.next_ckpt += self.checkpoint_every
            self.checkpoint(step)
        return not (self.ctrl_c.requested or self.settings.max_episodes and self.episodes >= self.settings.max_episodes)
