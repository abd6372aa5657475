"""SAC: soft actor-critic with automatic entropy tuning (Haarnoja et al. 2018, "Soft Actor-Critic
Algorithms and Applications"), for continuous actions.

    actor:    a = tanh(u),  u = mean(s) + std(s) · eps,  eps ~ N(0, I)    (mapped onto [low, high])
              log pi(a|s) = log N(u; mean, std²) − sum_i log(1 − tanh(u_i)² + 1e-6)
              minimise  E[ alpha log pi(a|s) − min_i Q_i(s, a) ]
    critics:  minimise  ½ sum_i (Q_i(s, a) − y)²,
              y = r + gamma (1 − terminated) (min_i Q'_i(s', a') − alpha log pi(a'|s')),  a' ~ pi(·|s')
    alpha:    minimise  −log alpha · (log pi(a|s) + target_entropy),  target_entropy = −dim(A)
    targets:  theta' ← tau theta + (1 − tau) theta'  every ``target_update_interval`` updates

The first ``learning_starts`` steps take uniform random actions; after that, acting samples the
policy. ``predict(deterministic=True)`` and evaluation act on tanh(mean). ``log_std`` is clamped
to [−20, 2]. ``ent_coef`` > 0 fixes alpha instead of learning it. The critics are DDPG's, twin
and stacked as TD3's (:class:`~rlsuite.agents.td3.TwinCritic`); they take actions in the env's
units. The policy's noise comes from each member's own random stream, so with K seeds member k
is the run of its seed alone, with its own alpha.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn

from rlsuite.agents.ddpg import DDPG
from rlsuite.agents.td3 import TwinCritic
from rlsuite.core.config import hp
from rlsuite.core.transition import Transition
from rlsuite.learning.offpolicy import OffPolicyAgent
from rlsuite.nets import make_backbone
from rlsuite.nets.stacked import StackedLayer, StackedLinear, stack_members
from rlsuite.nets.torchutil import polyak_update

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0


@dataclass
class SACConfig:
    learning_rate: float = hp(3e-4, low=0.0, low_open=True, doc="actor, critic and alpha rate")
    buffer_size: int = hp(1_000_000, low=1)
    learning_starts: int = hp(100, low=0)
    batch_size: int = hp(256, low=1)
    tau: float = hp(0.005, low=0.0, high=1.0, low_open=True)
    gamma: float = hp(0.99, low=0.0, high=1.0)
    train_freq: int = hp(1, low=1)
    gradient_steps: int = hp(1, low=-1, doc="-1 = as many as env steps collected")
    ent_coef: float = hp(0.0, low=0.0, doc="a fixed entropy coefficient alpha; 0 = learned")
    ent_coef_init: float = hp(1.0, low=0.0, low_open=True, doc="alpha's start when it is learned")
    target_update_interval: int = hp(1, low=1, doc="gradient steps between target updates")
    net_arch: list = hp([256, 256], low=1)
    activation: str = hp("relu", choices=("relu", "tanh", "elu", "leaky_relu", "gelu"))
    init: str = hp("torch", choices=("torch", "he", "xavier", "orthogonal"), doc="weight initialisation")
    device: str = hp(
        "cpu", doc="cpu, cuda, cuda:N, or auto (cuda where there is one); the replay buffer stays in host memory"
    )


class GaussianActor(nn.Module):
    """The policy's mean and log std: the observation's MLP (``net_arch``), then one linear layer to
    both; (K, B, ...) → two (K, B, dim(A)), log std clamped to [LOG_STD_MIN, LOG_STD_MAX]."""

    def __init__(self, observation_space: gym.Space, action_space: spaces.Box, config: SACConfig, members: int = 1):
        super().__init__()
        spec = {"net_arch": config.net_arch, "activation": config.activation, "init": config.init}
        self.members = members
        self.action_dim = int(np.prod(action_space.shape))
        self.backbone = make_backbone(observation_space, spec, members=members)
        width = self.backbone.out_features
        if members == 1:
            self.mean_log_std = nn.Linear(width, 2 * self.action_dim)
            return
        self.mean_log_std = StackedLinear(width, 2 * self.action_dim, members)
        stack_members(self, [GaussianActor(observation_space, action_space, config) for _ in range(members)])

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_std = self.mean_log_std(self.backbone(obs)).chunk(2, dim=-1)
        return mean, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)


class LogAlpha(StackedLayer):
    """log alpha of each of K members, (K,): a stacked layer, so it saves and moves as a member's own."""

    def __init__(self, members: int, init: float) -> None:
        super().__init__()
        self.members = members
        self.log_alpha = nn.Parameter(torch.full((members,), math.log(init)))

    def forward(self) -> torch.Tensor:
        return self.log_alpha

    def _member_state(self, k: int) -> dict[str, torch.Tensor]:
        return {"log_alpha": self.log_alpha[k : k + 1].clone()}

    def _load_member_(self, k: int, state: Mapping[str, torch.Tensor]) -> None:
        self.log_alpha[k : k + 1].copy_(state["log_alpha"])


class SAC(OffPolicyAgent[SACConfig]):
    name = "sac"
    summary = "SAC: soft actor-critic with twin critics and a learned entropy coefficient"
    spaces_doc = DDPG.spaces_doc
    supports = classmethod(DDPG.supports.__func__)

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        config: SACConfig | None = None,
        seed: int = 0,
        **kw: Any,
    ):
        super().__init__(observation_space, action_space, config, seed, **kw)
        c = self.config
        self.low = action_space.low.astype(np.float64)
        self.high = action_space.high.astype(np.float64)
        self._low = torch.as_tensor(self.low, dtype=torch.float32, device=self.device)
        self._half_range = torch.as_tensor((self.high - self.low) / 2, dtype=torch.float32, device=self.device)
        self.actor, self.critic = self.build_networks(
            lambda members: (
                GaussianActor(observation_space, action_space, c, members),
                TwinCritic(observation_space, action_space, c, members),
            )
        )
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=c.learning_rate, fused=True)
        self.critic_optimizer = torch.optim.Adam(self.critic.parameters(), lr=c.learning_rate, fused=True)
        self.log_alpha = LogAlpha(self.n_members, c.ent_coef or c.ent_coef_init).to(self.device)
        self.alpha_optimizer = None
        if c.ent_coef == 0:
            self.alpha_optimizer = torch.optim.Adam(self.log_alpha.parameters(), lr=c.learning_rate)
        else:
            self.log_alpha.requires_grad_(False)
        self.target_entropy = -float(np.prod(action_space.shape))
        self._n_updates = 0

    # ----- the policy ---------------------------------------------------------------------------
    def standard_normal(self, rows: int) -> torch.Tensor:
        """eps ~ N(0, I) of shape (K, rows, dim(A)), member k's from its own stream."""
        k, dim = self.n_members, self.actor.action_dim
        return torch.as_tensor(self.rng.normal((k * rows, dim)).reshape(k, rows, dim), dtype=torch.float32)

    def sample(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """An action of the policy in the env's units, (K, B, *action_shape), and its log prob (K, B)."""
        mean, log_std = self.actor(obs)
        eps = self.standard_normal(mean.shape[1]).to(mean.device)
        u = mean + log_std.exp() * eps
        squashed = torch.tanh(u)
        gaussian = (-0.5 * eps.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(dim=-1)
        log_prob = gaussian - torch.log(1.0 - squashed.pow(2) + 1e-6).sum(dim=-1)
        return self._to_env_units(squashed), log_prob

    def _to_env_units(self, squashed: torch.Tensor) -> torch.Tensor:
        action = self._low + (squashed + 1.0) * self._half_range
        return action.reshape(*squashed.shape[:-1], *self.action_space.shape)

    def act(self, obs: np.ndarray, mask: np.ndarray | None, explore: bool = True) -> np.ndarray:
        """A sample of the policy while exploring (uniformly random until ``learning_starts``), else
        tanh of its mean; member-major rows, each member's noise from its own stream."""
        n = len(obs)
        if explore and self.num_timesteps < self.config.learning_starts:
            actions = self.rng.uniform(self.low, self.high, size=(n, *self.action_space.shape))
            return actions.astype(self.action_space.dtype)
        with torch.inference_mode():
            member_obs = self.member_obs(obs)
            if explore:
                actions = self.sample(member_obs)[0]
            else:
                actions = self._to_env_units(torch.tanh(self.actor(member_obs)[0]))
            actions = actions.reshape(n, *self.action_space.shape).cpu().numpy().astype(np.float64)
        return np.clip(actions, self.low, self.high).astype(self.action_space.dtype)

    # ----- learning -----------------------------------------------------------------------------
    def observe(self, batch: Transition) -> dict[str, Any] | None:
        """Store the transition; every ``train_freq`` steps after ``learning_starts``, a training round."""
        self.store(batch)
        gradient_steps = self.gradient_steps_due()
        return self.train_round(gradient_steps) if gradient_steps else None

    def td_targets(
        self, reward: torch.Tensor, next_obs: torch.Tensor, terminated: torch.Tensor, alpha: torch.Tensor
    ) -> torch.Tensor:
        """y = r + gamma (1 − terminated) (min_i Q'_i(s', a') − alpha log pi(a'|s')), a' a fresh sample."""
        with torch.no_grad():
            next_action, next_log_prob = self.sample(next_obs)
            next_q = self.critic_target(next_obs, next_action).min(dim=1).values  # (K, B)
            return reward + self.config.gamma * (1.0 - terminated) * (next_q - alpha[:, None] * next_log_prob)

    def train_round(self, gradient_steps: int) -> dict[str, Any]:
        """``gradient_steps`` updates of alpha, the critics and the actor, in Stable-Baselines3's order;
        each member's losses are its own means, summed over the members."""
        c = self.config
        logs: dict[str, list[torch.Tensor]] = {"critic": [], "actor": [], "alpha": [], "alpha_loss": [], "q": []}
        for batch in self.replay_batches(gradient_steps):
            self._n_updates += 1
            obs, actions = batch.obs, batch.action.float()
            action_pi, log_prob = self.sample(obs)  # (K, B, ...), (K, B)
            alpha = self.log_alpha().detach().exp()  # the alpha of this update, before alpha moves
            if self.alpha_optimizer is not None:
                alpha_loss = -(self.log_alpha()[:, None] * (log_prob + self.target_entropy).detach()).mean(dim=-1)
                self.alpha_optimizer.zero_grad(set_to_none=True)
                alpha_loss.sum().backward()
                self.alpha_optimizer.step()
                logs["alpha_loss"].append(alpha_loss.detach())

            target = self.td_targets(batch.reward, batch.next_obs, batch.terminated, alpha)
            q = self.critic(obs, actions)  # (K, 2, B)
            critic_loss = 0.5 * F.mse_loss(q, target[:, None].expand_as(q), reduction="none").mean(dim=-1).sum(dim=1)
            self.critic_optimizer.zero_grad(set_to_none=True)
            critic_loss.sum().backward()
            self.critic_optimizer.step()

            # the actor's gradient flows through the critics; their weights need none
            self.critic.requires_grad_(False)
            min_q_pi = self.critic(obs, action_pi).min(dim=1).values
            actor_loss = (alpha[:, None] * log_prob - min_q_pi).mean(dim=-1)
            self.actor_optimizer.zero_grad(set_to_none=True)
            actor_loss.sum().backward()
            self.actor_optimizer.step()
            self.critic.requires_grad_(True)
            if self._n_updates % c.target_update_interval == 0:
                polyak_update(self.critic, self.critic_target, c.tau)
            for key, value in (("critic", critic_loss), ("actor", actor_loss), ("alpha", alpha), ("q", q[:, 0])):
                logs[key].append(value.detach().reshape(self.n_members, -1).mean(dim=-1))
        out = {
            "losses/critic_loss": self.per_member(logs["critic"]),
            "losses/actor_loss": self.per_member(logs["actor"]),
            "losses/ent_coef": self.per_member(logs["alpha"]),
            "losses/q_values": self.per_member(logs["q"]),
        }
        if logs["alpha_loss"]:
            out["losses/ent_coef_loss"] = self.per_member(logs["alpha_loss"])
        return out

    # ----- state --------------------------------------------------------------------------------
    def state_parts(self) -> dict[str, Any]:
        parts = {
            "actor": self.actor,
            "critic": self.critic,
            "critic_target": self.critic_target,
            "log_alpha": self.log_alpha,
            "actor_optimizer": self.actor_optimizer,
            "critic_optimizer": self.critic_optimizer,
        }
        if self.alpha_optimizer is not None:
            parts["alpha_optimizer"] = self.alpha_optimizer
        return parts

    def shared_state(self) -> dict[str, Any]:
        return {**super().shared_state(), "n_updates": self._n_updates}

    def load_shared_state(self, state: dict[str, Any]) -> None:
        super().load_shared_state(state)
        self._n_updates = int(state.get("n_updates", 0))
