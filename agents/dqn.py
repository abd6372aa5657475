"""DQN: an ε-greedy Q-network trained on minibatches from a replay buffer against a target network.

    y = r + gamma * (1 - terminated) * max_a' Q_target(s', a')        (double_q: a' = argmax Q(s', ·))
    loss = Huber(Q(s, a), y)

Hyperparameters carry the names and meanings Stable-Baselines3 users know, so a config moves
over unchanged: every ``train_freq`` env steps after ``learning_starts``, ``gradient_steps``
Adam steps on ``batch_size`` transitions; every ``target_update_interval`` env steps the
target moves towards the online net by ``tau`` (1 = a hard copy).

A truncated transition bootstraps from its true final observation; only ``terminated``
stops the bootstrap. Action masks (``info["action_mask"]``) restrict both the ε-greedy
choice and the max in the target.

The whole algorithm is in this file, top to bottom: acting (:meth:`DQN.act`), the schedule
(:meth:`DQN.observe`: store, move the target, train), the target (:meth:`DQN.td_targets`) and the
update (:meth:`DQN.train_round`). The replay buffer, the schedule's counters and the member
machinery are calls into :mod:`rlsuite.learning.offpolicy`. With K seeds the Q-network and its
target hold K members (stacked weights, (K, B, ...) batches, K = 1 included): one forward acts for
K × n_envs observations, each member explores with its own random stream, learns from its own
replay and keeps its own Adam moments and gradient norm.
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
from rlsuite.core.exploration import epsilon_greedy
from rlsuite.core.schedules import linear_schedule
from rlsuite.core.transition import Transition
from rlsuite.learning.offpolicy import OffPolicyAgent
from rlsuite.nets import QHead, make_backbone
from rlsuite.nets.torchutil import polyak_update


@dataclass
class DQNConfig:
    learning_rate: float = hp(1e-4, low=0.0, low_open=True)
    buffer_size: int = hp(1_000_000, low=1)
    learning_starts: int = hp(100, low=0)
    batch_size: int = hp(32, low=1)
    tau: float = hp(1.0, low=0.0, high=1.0, low_open=True, doc="1 = hard copy, < 1 = Polyak averaging")
    gamma: float = hp(0.99, low=0.0, high=1.0)
    train_freq: int = hp(4, low=1, doc="env steps between training rounds")
    gradient_steps: int = hp(1, low=-1, doc="gradient steps per round; -1 = as many as env steps collected")
    target_update_interval: int = hp(10_000, low=1, doc="env steps between target updates")
    exploration_fraction: float = hp(0.1, low=0.0, high=1.0)
    exploration_initial_eps: float = hp(1.0, low=0.0, high=1.0)
    exploration_final_eps: float = hp(0.05, low=0.0, high=1.0)
    max_grad_norm: float = hp(10.0, low=0.0, low_open=True)
    net_arch: list = hp([64, 64], low=1)
    activation: str = hp("relu", choices=("relu", "tanh", "elu", "leaky_relu", "gelu"))
    init: str = hp("torch", choices=("torch", "he", "xavier", "orthogonal"), doc="weight initialisation")
    device: str = hp(
        "cpu", doc="cpu, cuda, cuda:N, or auto (cuda where there is one); the replay buffer stays in host memory"
    )
    features: int = hp(512, low=1, doc="width of the CNN's feature layer (image observations)")
    loss: str = hp("huber", choices=("huber", "mse"))
    double_q: bool = hp(False)
    dueling: bool = hp(False)


class QNetwork(nn.Module):
    """Backbone chosen by the observation space (MLP, CNN for images, one-hot MLP) + Q head, with
    ``members`` members: observations (K, B, ...) → Q-values (K, B, n_actions)."""

    def __init__(self, observation_space: gym.Space, n_actions: int, config: DQNConfig, members: int = 1) -> None:
        super().__init__()
        spec = {
            "net_arch": config.net_arch,
            "activation": config.activation,
            "features": config.features,
            "init": config.init,
        }
        self.members = members
        self.backbone = make_backbone(observation_space, spec, members=members)
        self.head = QHead(self.backbone.out_features, n_actions, dueling=config.dueling, members=members)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(obs))


class DQN(OffPolicyAgent[DQNConfig]):
    name = "dqn"
    summary = "DQN with experience replay and a target network (double and dueling options)"
    spaces_doc = "obs: Box (vector or image) or Discrete; actions: Discrete"

    @classmethod
    def supports(cls, observation_space: gym.Space, action_space: gym.Space) -> str | None:
        if not isinstance(action_space, spaces.Discrete):
            return f"DQN picks one of finitely many actions and needs a Discrete action space, not {action_space}"
        if not isinstance(observation_space, (spaces.Box, spaces.Discrete, spaces.MultiBinary)):
            return f"DQN needs Box or Discrete observations, not {type(observation_space).__name__} (flatten it first)"
        return None

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        config: DQNConfig | None = None,
        seed: int = 0,
        **kw: Any,
    ):
        super().__init__(observation_space, action_space, config, seed, **kw)
        c = self.config
        self.n_actions = int(action_space.n)
        (self.q_net,) = self.build_networks(lambda members: (QNetwork(observation_space, self.n_actions, c, members),))
        self.target_net = copy.deepcopy(self.q_net).requires_grad_(False)
        self._params = list(self.q_net.parameters())
        # fused Adam: one kernel for all parameters instead of several small ops per tensor; elementwise,
        # so each member's moments are its own
        self.optimizer = torch.optim.Adam(self._params, lr=c.learning_rate, fused=True)

    # ----- acting -------------------------------------------------------------------------
    @property
    def exploration_rate(self) -> float:
        c = self.config
        return linear_schedule(
            c.exploration_initial_eps,
            c.exploration_final_eps,
            c.exploration_fraction,
            self.num_timesteps,
            self.total_steps,
        )

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """Q(s, ·) of K × n observations (member-major) by their members' networks: (K × n, n_actions)."""
        with torch.inference_mode():
            return self.q_net(self.member_obs(obs)).reshape(-1, self.n_actions).cpu().numpy()

    def act(self, obs: np.ndarray, mask: np.ndarray | None, explore: bool = True) -> np.ndarray:
        """ε-greedy on Q(s, ·) over A(s), each member from its own stream; uniformly random until
        ``learning_starts``."""
        epsilon = 0.0
        if explore:
            epsilon = 1.0 if self.num_timesteps < self.config.learning_starts else self.exploration_rate
        return epsilon_greedy(lambda: self.q_values(obs), self.n_actions, len(obs), epsilon, self.rng, mask)

    # ----- learning -----------------------------------------------------------------------
    def observe(self, batch: Transition) -> dict[str, Any] | None:
        """Store the transition; every ``target_update_interval`` env steps move the target towards
        the online net; every ``train_freq`` steps after ``learning_starts``, a training round."""
        self.store(batch)
        if self.every(self.config.target_update_interval):
            polyak_update(self.q_net, self.target_net, self.config.tau)
        gradient_steps = self.gradient_steps_due()
        return self.train_round(gradient_steps) if gradient_steps else None

    def td_targets(
        self, reward: torch.Tensor, next_obs: torch.Tensor, terminated: torch.Tensor, next_mask: torch.Tensor | None
    ) -> torch.Tensor:
        """y = r + gamma (1 − terminated) max over A(s') of Q_target(s', ·) (double_q: at argmax of Q),
        on (K, B) batches (any leading axes: the actions are the last axis of the Q-values)."""
        with torch.no_grad():
            next_q = self.target_net(next_obs)
            if self.config.double_q:
                online = self.q_net(next_obs)
                if next_mask is not None:
                    online = online.masked_fill(~next_mask, -torch.inf)
                best = next_q.gather(-1, online.argmax(dim=-1, keepdim=True)).squeeze(-1)
            else:
                if next_mask is not None:
                    next_q = next_q.masked_fill(~next_mask, -torch.inf)
                best = next_q.max(dim=-1).values
            best = torch.where(terminated > 0, 0.0, best)  # a terminal state may allow no action (max = -inf)
            return reward + self.config.gamma * best

    def train_round(self, gradient_steps: int) -> dict[str, Any]:
        """``gradient_steps`` updates of all members; the target nets stay fixed during the round.
        Each member's loss is the mean over its own batch; their sum is minimised, so each member's
        gradient is its own, and clipped to its own norm."""
        c = self.config
        loss_fn = F.smooth_l1_loss if c.loss == "huber" else F.mse_loss
        losses, q_means = [], []
        for batch in self.replay_batches(gradient_steps):
            target = self.td_targets(batch.reward, batch.next_obs, batch.terminated, batch.next_mask)
            q = self.q_net(batch.obs).gather(-1, batch.action.long().unsqueeze(-1)).squeeze(-1)  # (K, B)
            loss = loss_fn(q, target, reduction="none").mean(dim=-1)  # (K,)
            self.optimizer.zero_grad(set_to_none=True)
            loss.sum().backward()
            self.clip_per_member(self._params, c.max_grad_norm)
            self.optimizer.step()
            losses.append(loss.detach())
            q_means.append(q.detach().mean(dim=-1))
        return {"losses/td_loss": self.per_member(losses), "losses/q_values": self.per_member(q_means)}

    def logged_scalars(self) -> dict[str, float]:
        return {"charts/epsilon": self.exploration_rate}

    def state_parts(self) -> dict[str, Any]:
        return {"q_net": self.q_net, "target_net": self.target_net, "optimizer": self.optimizer}
