"""TD3: twin delayed DDPG (Fujimoto et al. 2018), DDPG with three changes against overestimation.

    twin critics:      y = r + gamma (1 − terminated) min_i Q'_i(s', ã'),  both critics regress on y
    target smoothing:  ã' = clip(mu'(s') + clip(eps, −c, c), low, high),  eps ~ N(0, sigma²)
    delayed updates:   the actor and the targets move every ``policy_delay``-th critic update;
                       the actor maximises Q_1(s, mu(s)), targets as DDPG's: theta' ← tau theta + (1 − tau) theta'

Acting is DDPG's: uniform random actions for the first ``learning_starts`` steps, then mu(s) plus
exploration noise (``noise_std``), clipped to the bounds. ``target_policy_noise`` and
``target_noise_clip`` (sigma and c) are fractions of half the action range, as ``noise_std`` is, so
they mean what they mean for actions in [−1, 1]. The smoothing noise comes from each member's own
random stream.

The twin critics are one stacked critic of two members (:class:`TwinCritic`), so both are one
batched forward; with K seeds, one critic of 2K members.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn

from rlsuite.agents.ddpg import DDPG, Critic, DDPGConfig
from rlsuite.core.config import hp
from rlsuite.nets.backbones import MLP, as_float
from rlsuite.nets.stacked import StackedLinear, grouped
from rlsuite.nets.torchutil import polyak_update


@dataclass
class TD3Config(DDPGConfig):
    policy_delay: int = hp(2, low=1, doc="critic updates per actor and target update")
    target_policy_noise: float = hp(0.2, low=0.0, doc="std of the target action's smoothing noise (of half the range)")
    target_noise_clip: float = hp(0.5, low=0.0, doc="the smoothing noise is clipped to ± this (of half the range)")


class TwinCritic(nn.Module):
    """Q_1(s, a) and Q_2(s, a): one :class:`~rlsuite.agents.ddpg.Critic` of two stacked members per
    agent member, (K, B, ...) → (K, 2, B). Member k of the agent is the critic's members 2k and 2k + 1
    (:func:`~rlsuite.nets.stacked.grouped`), so it saves and loads as the twin critics of one seed."""

    def __init__(self, observation_space: gym.Space, action_space: spaces.Box, config: Any, members: int = 1) -> None:
        super().__init__()
        self.q = Critic(observation_space, action_space, config, members=2 * members)
        grouped(self, 2)
        layers, backbone = list(self.q.head.hidden.layers), self.q.backbone
        plain = (nn.ReLU, nn.Tanh, nn.ELU, nn.LeakyReLU, nn.GELU, StackedLinear)
        # Q_1 runs alone on its weights' slices where the backbone is the identity (vector observations)
        self._q1_sliceable = (
            isinstance(backbone, MLP) and not backbone.layers and all(isinstance(m, plain) for m in layers)
        )

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        k = self.members
        return self.q(_twice(obs, k), _twice(action, k)).reshape(k, 2, -1)

    def first(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Q_1(s, a) alone, (K, B): what the actor's loss needs, at half the arithmetic. For vector
        observations (the critic's backbone is the identity) its layers run on Q_1's slices of the
        stacked weights; otherwise (an image backbone, layer norm) both run and Q_2 is dropped."""
        if not self._q1_sliceable:
            return self(obs, action)[:, 0]
        head = self.q.head
        x = torch.cat([as_float(obs), action.reshape(*obs.shape[:2], head.action_dim).float()], dim=-1)
        for layer in [*head.hidden.layers, head.output]:
            x = torch.baddbmm(layer.bias[0::2], x, layer.weight[0::2]) if isinstance(layer, StackedLinear) else layer(x)
        return x.squeeze(-1)


def _twice(x: torch.Tensor, members: int) -> torch.Tensor:
    """(K, B, ...) → (2K, B, ...): each member's rows for both of its critics."""
    return x.unsqueeze(1).expand(members, 2, *x.shape[1:]).reshape(2 * members, *x.shape[1:])


class TD3(DDPG):
    name = "td3"
    summary = "TD3: DDPG with twin critics, target policy smoothing and delayed actor updates"
    Config = TD3Config
    critic_class = TwinCritic

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        config: TD3Config | None = None,
        seed: int = 0,
        **kw: Any,
    ):
        super().__init__(observation_space, action_space, config, seed, **kw)
        half_range = (self.high - self.low) / 2
        self._half_range = torch.as_tensor(half_range, dtype=torch.float32, device=self.device)
        self._low = torch.as_tensor(self.low, dtype=torch.float32, device=self.device)
        self._high = torch.as_tensor(self.high, dtype=torch.float32, device=self.device)
        self._n_updates = 0

    def smoothing_noise(self, batch_size: int) -> torch.Tensor:
        """clip(eps, −c, c) · half range, eps ~ N(0, sigma²): (K, B, *action_shape), member k's from its stream."""
        c, k = self.config, self.n_members
        eps = self.rng.normal((k * batch_size, *self.action_space.shape), std=c.target_policy_noise)
        eps = torch.as_tensor(eps.reshape(k, batch_size, *self.action_space.shape), dtype=torch.float32)
        return eps.clamp(-c.target_noise_clip, c.target_noise_clip).to(self.device) * self._half_range

    def td_targets(self, reward: torch.Tensor, next_obs: torch.Tensor, terminated: torch.Tensor) -> torch.Tensor:
        """y = r + gamma (1 − terminated) min(Q'_1, Q'_2)(s', ã') with the smoothed target action ã'."""
        with torch.no_grad():
            noise = self.smoothing_noise(reward.shape[1])
            next_action = torch.clamp(self.actor_target(next_obs) + noise, self._low, self._high)
            next_q = self.critic_target(next_obs, next_action).min(dim=1).values  # (K, B)
            return reward + self.config.gamma * (1.0 - terminated) * next_q

    def train_round(self, gradient_steps: int) -> dict[str, Any]:
        """``gradient_steps`` critic updates; every ``policy_delay``-th also updates the actor (on Q_1)
        and moves both targets. Each member's losses are its own means, summed over the members."""
        c = self.config
        critic_losses, actor_losses, q_means = [], [], []
        for batch in self.replay_batches(gradient_steps):
            self._n_updates += 1
            obs, actions = batch.obs, batch.action.float()
            target = self.td_targets(batch.reward, batch.next_obs, batch.terminated)
            q = self.critic(obs, actions)  # (K, 2, B)
            critic_loss = F.mse_loss(q, target[:, None].expand_as(q), reduction="none").mean(dim=-1).sum(dim=1)
            self.critic_optimizer.zero_grad(set_to_none=True)
            critic_loss.sum().backward()
            self.critic_optimizer.step()
            critic_losses.append(critic_loss.detach())
            q_means.append(q.detach()[:, 0].mean(dim=-1))
            if self._n_updates % c.policy_delay:
                continue

            self.critic.requires_grad_(False)  # the actor's gradient flows through Q_1; its weights need none
            actor_loss = -self.critic.first(obs, self.actor(obs)).mean(dim=-1)
            self.actor_optimizer.zero_grad(set_to_none=True)
            actor_loss.sum().backward()
            self.actor_optimizer.step()
            self.critic.requires_grad_(True)
            polyak_update(self.critic, self.critic_target, c.tau)
            polyak_update(self.actor, self.actor_target, c.tau)
            actor_losses.append(actor_loss.detach())
        logs = {"losses/critic_loss": self.per_member(critic_losses), "losses/q_values": self.per_member(q_means)}
        if actor_losses:
            logs["losses/actor_loss"] = self.per_member(actor_losses)
        return logs

    def shared_state(self) -> dict[str, Any]:
        return {**super().shared_state(), "n_updates": self._n_updates}

    def load_shared_state(self, state: dict[str, Any]) -> None:
        super().load_shared_state(state)
        self._n_updates = int(state.get("n_updates", 0))
