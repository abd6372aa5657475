"""DDPG: deterministic policy gradients with deep networks, for continuous actions.

    critic:  minimise (Q(s, a) − y)²,  y = r + gamma (1 − terminated) Q'(s', mu'(s'))
    actor:   maximise Q(s, mu(s))
    targets: theta' ← tau theta + (1 − tau) theta'   after every gradient step

Exploration noise is added to the actor's action while collecting experience only — never in
``predict(deterministic=True)``, in evaluation, or in the target action mu'(s'). Noise lives in
the actor's normalised action range [−1, 1] (``noise_std`` is a fraction of half the range, as
rl-zoo presets mean it), and the noisy action is clipped to the bounds. The first
``learning_starts`` steps take uniform random actions.

With K seeds (:mod:`rlsuite.learning.offpolicy`) actor, critic and targets hold K members; each
member's noise (and Ornstein-Uhlenbeck state) and random actions come from its own stream.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn

from rlsuite.core.config import hp
from rlsuite.core.schedules import linear_schedule
from rlsuite.core.transition import Transition
from rlsuite.learning.noise import NormalNoise, OrnsteinUhlenbeckNoise
from rlsuite.learning.offpolicy import OffPolicyAgent
from rlsuite.nets import ActorHead, CriticHead, make_backbone
from rlsuite.nets.torchutil import polyak_update


@dataclass
class DDPGConfig:
    learning_rate: float = hp(1e-3, low=0.0, low_open=True, doc="actor and critic rate unless set apart")
    actor_learning_rate: float = hp(0.0, low=0.0, doc="0 = learning_rate")
    critic_learning_rate: float = hp(0.0, low=0.0, doc="0 = learning_rate")
    buffer_size: int = hp(1_000_000, low=1)
    learning_starts: int = hp(100, low=0)
    batch_size: int = hp(256, low=1)
    tau: float = hp(0.005, low=0.0, high=1.0, low_open=True)
    gamma: float = hp(0.99, low=0.0, high=1.0)
    train_freq: int = hp(1, low=1)
    gradient_steps: int = hp(1, low=-1, doc="-1 = as many as env steps collected")
    net_arch: list = hp([400, 300], low=1)
    activation: str = hp("relu", choices=("relu", "tanh", "elu", "leaky_relu", "gelu"))
    init: str = hp("torch", choices=("torch", "he", "xavier", "orthogonal"), doc="weight initialisation")
    device: str = hp(
        "cpu", doc="cpu, cuda, cuda:N, or auto (cuda where there is one); the replay buffer stays in host memory"
    )
    noise_type: str = hp("normal", choices=("normal", "ornstein-uhlenbeck", "none"))
    noise_std: float = hp(0.1, low=0.0)
    noise_theta: float = hp(0.15, low=0.0)
    noise_final_scale: float = hp(1.0, low=0.0, doc="noise multiplier at the end of the decay")
    noise_decay_fraction: float = hp(
        0.0, low=0.0, high=1.0, doc="fraction of training over which noise decays; 0 = none"
    )


class Actor(nn.Module):
    """mu(s) with ``members`` members: observations (K, B, ...) → actions (K, B, *action_shape)."""

    def __init__(
        self, observation_space: gym.Space, action_space: spaces.Box, config: DDPGConfig, members: int = 1
    ) -> None:
        super().__init__()
        spec = {"net_arch": config.net_arch, "activation": config.activation, "init": config.init}
        self.members = members
        self.backbone = make_backbone(observation_space, spec, members=members)
        self.head = ActorHead(self.backbone.out_features, action_space.low, action_space.high, members=members)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(obs))


class Critic(nn.Module):
    """Q(s, a): the observation's backbone (identity for vectors, the CNN for images), then an
    MLP over the features concatenated with the action; with ``members`` members (K, B, ...) → (K, B)."""

    def __init__(
        self, observation_space: gym.Space, action_space: spaces.Box, config: DDPGConfig, members: int = 1
    ) -> None:
        super().__init__()
        spec = {"net_arch": [], "activation": config.activation, "init": config.init}
        self.members = members
        self.backbone = make_backbone(observation_space, spec, members=members)
        self.head = CriticHead(
            self.backbone.out_features,
            int(np.prod(action_space.shape)),
            net_arch=config.net_arch,
            activation=config.activation,
            init=config.init,
            members=members,
        )

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(obs), action)


class DDPG(OffPolicyAgent[DDPGConfig]):
    name = "ddpg"
    summary = "DDPG with soft target updates and exploration noise"
    spaces_doc = "obs: Box (vector or image) or Discrete; actions: bounded Box"
    critic_class: type[nn.Module] = Critic

    @classmethod
    def supports(cls, observation_space: gym.Space, action_space: gym.Space) -> str | None:
        if not isinstance(action_space, spaces.Box):
            return f"{cls.__name__} outputs continuous actions and needs a Box action space, not {action_space}"
        if not (np.all(np.isfinite(action_space.low)) and np.all(np.isfinite(action_space.high))):
            return f"{cls.__name__} squashes actions into the bounds, so the action Box must be bounded"
        if not isinstance(observation_space, (spaces.Box, spaces.Discrete, spaces.MultiBinary)):
            return (
                f"{cls.__name__} needs Box or Discrete observations, not {type(observation_space).__name__} "
                "(flatten it first)"
            )
        return None

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        config: DDPGConfig | None = None,
        seed: int = 0,
        **kw: Any,
    ):
        super().__init__(observation_space, action_space, config, seed, **kw)
        c = self.config
        self.low = action_space.low.astype(np.float64)
        self.high = action_space.high.astype(np.float64)
        # as in a single run: the actor's initial draws first, then the critic's, from the member's seed
        self.actor, self.critic = self.build_networks(
            lambda members: (
                Actor(observation_space, action_space, c, members),
                self.critic_class(observation_space, action_space, c, members),
            )
        )
        self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self._actor_params, self._critic_params = list(self.actor.parameters()), list(self.critic.parameters())
        self.actor_optimizer = torch.optim.Adam(
            self._actor_params, lr=c.actor_learning_rate or c.learning_rate, fused=True
        )
        self.critic_optimizer = torch.optim.Adam(
            self._critic_params, lr=c.critic_learning_rate or c.learning_rate, fused=True
        )
        self.noise = None

    # ----- acting -------------------------------------------------------------------------
    @property
    def noise_scale(self) -> float:
        c = self.config
        if c.noise_decay_fraction == 0:
            return 1.0
        return linear_schedule(1.0, c.noise_final_scale, c.noise_decay_fraction, self.num_timesteps, self.total_steps)

    def _deterministic(self, obs: np.ndarray) -> np.ndarray:
        """mu(s) of K × n observations (member-major) by their members' actors: (K × n, *action_shape)."""
        with torch.inference_mode():
            actions = self.actor(self.member_obs(obs))
            return actions.reshape(len(obs), *actions.shape[2:]).cpu().numpy().astype(np.float64)

    def act(self, obs: np.ndarray, mask: np.ndarray | None, explore: bool = True) -> np.ndarray:
        """mu(s), plus exploration noise while exploring; uniformly random until ``learning_starts``.
        Noise and random actions come from each member's own stream."""
        if not explore:
            return np.clip(self._deterministic(obs), self.low, self.high).astype(self.action_space.dtype)
        n = len(obs)
        shape = (n, *self.action_space.shape)
        if self.noise is None or self.noise.shape != shape:
            make = OrnsteinUhlenbeckNoise if self.config.noise_type == "ornstein-uhlenbeck" else NormalNoise
            extra = {"theta": self.config.noise_theta} if make is OrnsteinUhlenbeckNoise else {}
            self.noise = make(self.config.noise_std, shape, self.rng, **extra)
        if self.num_timesteps < self.config.learning_starts:
            actions = self.rng.uniform(self.low, self.high, size=shape)
        else:
            actions = self._deterministic(obs)
            if self.config.noise_type != "none":
                half_range = (self.high - self.low) / 2
                actions = actions + self.noise_scale * self.noise() * half_range
        return np.clip(actions, self.low, self.high).astype(self.action_space.dtype)

    # ----- learning -----------------------------------------------------------------------
    def observe(self, batch: Transition) -> dict[str, Any] | None:
        """Store the transition (a new episode starts its noise process afresh); every ``train_freq``
        steps after ``learning_starts``, a training round, whose every update moves the targets."""
        self.store(batch)
        ended = np.logical_or(batch.terminated, batch.truncated)
        if self.noise is not None and ended.any():
            self.noise.reset(ended)
        gradient_steps = self.gradient_steps_due()
        return self.train_round(gradient_steps) if gradient_steps else None

    def td_targets(self, reward: torch.Tensor, next_obs: torch.Tensor, terminated: torch.Tensor) -> torch.Tensor:
        """y = r + gamma (1 − terminated) Q'(s', mu'(s')) — the target action carries no noise."""
        with torch.no_grad():
            next_q = self.critic_target(next_obs, self.actor_target(next_obs))
            return reward + self.config.gamma * (1.0 - terminated) * next_q

    def train_round(self, gradient_steps: int) -> dict[str, Any]:
        """``gradient_steps`` updates of all members: each member's losses are means over its own
        batch, and their sums are minimised, so each member's gradients are its own."""
        c = self.config
        critic_losses, actor_losses, q_means = [], [], []
        for batch in self.replay_batches(gradient_steps):
            obs, actions = batch.obs, batch.action.float()
            target = self.td_targets(batch.reward, batch.next_obs, batch.terminated)
            q = self.critic(obs, actions)  # (K, B)
            critic_loss = F.mse_loss(q, target, reduction="none").mean(dim=-1)  # (K,)
            self.critic_optimizer.zero_grad(set_to_none=True)
            critic_loss.sum().backward()
            self.critic_optimizer.step()

            # the actor's gradient flows through the critic, but the critic's weights need none
            self.critic.requires_grad_(False)
            actor_loss = -self.critic(obs, self.actor(obs)).mean(dim=-1)
            self.actor_optimizer.zero_grad(set_to_none=True)
            actor_loss.sum().backward()
            self.actor_optimizer.step()
            self.critic.requires_grad_(True)

            polyak_update(self.critic, self.critic_target, c.tau)
            polyak_update(self.actor, self.actor_target, c.tau)
            critic_losses.append(critic_loss.detach())
            actor_losses.append(actor_loss.detach())
            q_means.append(q.detach().mean(dim=-1))
        return {
            "losses/critic_loss": self.per_member(critic_losses),
            "losses/actor_loss": self.per_member(actor_losses),
            "losses/q_values": self.per_member(q_means),
        }

    def logged_scalars(self) -> dict[str, float]:
        return {"charts/noise_scale": self.noise_scale * self.config.noise_std}

    # ----- state --------------------------------------------------------------------------
    def state_parts(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "critic": self.critic,
            "actor_target": self.actor_target,
            "critic_target": self.critic_target,
            "actor_optimizer": self.actor_optimizer,
            "critic_optimizer": self.critic_optimizer,
        }

    def env_row_state(self) -> dict[str, np.ndarray | None]:
        """The Ornstein-Uhlenbeck process of every env (None for Gaussian noise, or before the first act)."""
        return {"ou_state": self.noise.state if isinstance(self.noise, OrnsteinUhlenbeckNoise) else None}

    def load_env_row_state(self, rows: dict[str, np.ndarray | None]) -> None:
        ou = rows.get("ou_state")
        if ou is None or ou is self.env_row_state()["ou_state"]:
            return
        ou = np.asarray(ou, dtype=np.float64)
        self.noise = OrnsteinUhlenbeckNoise(self.config.noise_std, ou.shape, self.rng, self.config.noise_theta)
        self.noise.state[...] = ou
