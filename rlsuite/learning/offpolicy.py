"""What replay-based agents (DQN, DDPG) are built from: a replay buffer, SB3's training schedule,
K-member networks.

These are calls with names, not control flow: an algorithm's ``observe`` reads top to bottom in
its own file — :meth:`OffPolicyAgent.store` the transition, :meth:`OffPolicyAgent.every` for a
periodic step such as a target update, :meth:`OffPolicyAgent.gradient_steps_due` for when a
training round runs (Stable-Baselines3's schedule: every ``train_freq`` env steps once more than
``learning_starts`` steps were taken, ``gradient_steps`` updates, −1 = as many as env steps
collected since the last round) — and :meth:`OffPolicyAgent.replay_batches` for its minibatches.

**Members.** The agent trains K members (K = 1 is the ordinary run) with one code path: every
network is built with ``members=K`` and takes (K, B, ...) tensors (:meth:`build_networks`: member
k starts exactly as a single network built under ``torch.manual_seed(seed_k)``, and a one-member
network takes the member axis too); batches come K×n_envs rows, member-major; the replay buffer
holds member k's envs in its own columns and samples each member's minibatches from them with
the member's own random stream; the loss is the sum of each member's own mean loss, so each
member's gradient is its own; clipping is per member (:meth:`clip_per_member`).

:meth:`OffPolicyAgent.learn` checks that ``buffer_size`` fits in the memory available before the
run directory is touched. It checks there rather than in ``__init__``, so that loading a model
trained with a large buffer, to evaluate it on a smaller machine, still works.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from rlsuite.core.errors import RLSuiteError
from rlsuite.core.transition import Transition
from rlsuite.learning.agent import Agent, ConfigT
from rlsuite.learning.framereplay import FrameReplayBuffer, buffer_kind, stores_frames
from rlsuite.learning.memory import available_memory, check_memory, check_network_memory
from rlsuite.learning.replay import Batch, ReplayBuffer
from rlsuite.nets import resolve_device
from rlsuite.nets.memberwise import clip_grad_norm_per_member, with_member_axis
from rlsuite.nets.stacked import StackedLayer, load_member


class OffPolicyAgent(Agent[ConfigT]):
    """Base for replay-based agents; their config has buffer_size, batch_size, learning_starts,
    train_freq, gradient_steps and device."""

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        config: ConfigT | None = None,
        seed: int = 0,
        **kw: Any,
    ):
        super().__init__(observation_space, action_space, config, seed, **kw)
        c = self.config
        if c.batch_size > c.buffer_size:
            raise RLSuiteError(
                f"{self.name} batch_size={c.batch_size} is larger than buffer_size={c.buffer_size}; "
                "make the buffer at least one batch."
            )
        self.device = resolve_device(c.device)
        self.buffer: ReplayBuffer | None = None
        self._n_calls = 0
        self._env_steps_since_train = 0
        self._n_envs = 1  # each member's, as the last stored transition had them

    def build_networks(self, build: Callable[[int], tuple[nn.Module, ...]]) -> tuple[nn.Module, ...]:
        """The agent's networks, ``build(members)``, with K members on the agent's device.

        Member k starts exactly as ``build(1)`` does on the CPU under ``torch.manual_seed(seed_k)``
        (so as the network of a single-seed run of seed k), whatever the other members; torch's
        global random state is left as it was. Every network takes and returns the member axis,
        (K, B, ...), a one-member network too: its plain torch layers get the axis taken off and
        put back around each call (:func:`~rlsuite.nets.stacked.with_member_axis`), so the
        algorithm's code is the same for every K. A network of stacked layers (twin critics, one
        stacked module of two members per agent member) takes the axis as it is.
        """
        self._check_network_memory(build)
        with torch.random.fork_rng(devices=[]):
            singles = []
            for seed in self.seeds:
                torch.default_generator.manual_seed(seed)
                singles.append(build(1))
            if self.n_members == 1:
                return tuple(_taking_member_axis(net).to(self.device) for net in singles[0])
            nets = build(self.n_members)  # its own initial draws are overwritten by the members'
        for k, single in enumerate(singles):
            for net, one in zip(nets, single):
                load_member(net, k, one)
        return tuple(net.to(self.device) for net in nets)

    def _check_network_memory(self, build: Callable[[int], tuple[nn.Module, ...]]) -> None:
        """Size one member's networks on torch's meta device (no memory taken) and refuse, in one line,
        K members' networks that cannot fit before any is allocated."""
        with torch.device("meta"):
            nets = build(1)
        params = [p for net in nets for p in net.parameters()]
        if self.device.type == "cuda":
            available: int | None = torch.cuda.mem_get_info(self.device)[0]
        else:
            available = available_memory()
        n_params = self.n_members * sum(p.numel() for p in params)
        check_network_memory(n_params, params[0].element_size() if params else 4, self.n_members, self.name, available)

    def member_obs(self, obs: np.ndarray) -> torch.Tensor:
        """K × n observations (member-major) as a (K, n, ...) tensor on the agent's device."""
        obs = torch.as_tensor(obs, device=self.device)
        return obs.reshape(self.n_members, obs.shape[0] // self.n_members, *obs.shape[1:])

    def learn(
        self,
        total_steps: int,
        run_dir: str | Path | None = None,
        resume: bool = False,
        progress: bool = False,
        **loop_settings: Any,
    ):
        check_memory(
            self.config.buffer_size * self.n_members,
            self.observation_space,
            self.action_space,
            frames=self._stores_frames(),
        )
        return super().learn(total_steps, run_dir=run_dir, resume=resume, progress=progress, **loop_settings)

    def _stores_frames(self) -> bool:
        """Whether the replay stores each frame of the env's stacked frames once (the Atari preprocessing's)."""
        return stores_frames(self.env, self.observation_space)

    # ----- the schedule's pieces ----------------------------------------------------------------
    def store(self, batch: Transition) -> int:
        """Put a batched transition (n_envs rows per member, member by member) in the replay buffer and
        count it; returns n_envs, the env steps it holds per member."""
        rows = len(batch.reward)
        if rows % self.n_members:
            raise RLSuiteError(
                f"a batch of {rows} transitions does not split over {self.n_members} members; give "
                "n_envs transitions per member, member by member."
            )
        n_envs = rows // self.n_members
        if self.buffer is None:
            n_mask = (
                int(self.action_space.n)
                if batch.next_mask is not None and isinstance(self.action_space, spaces.Discrete)
                else None
            )
            kind = FrameReplayBuffer if self._stores_frames() else ReplayBuffer
            self.buffer = kind(
                max(self.config.buffer_size // n_envs, 2), self.observation_space, self.action_space, rows, n_mask
            )
        masks = self.buffer.masks is not None
        self.buffer.add(
            batch.obs,
            batch.action,
            batch.reward,
            batch.next_obs,
            batch.terminated,
            batch.truncated,
            mask=batch.mask if masks else None,
            next_mask=batch.next_mask if masks else None,
        )
        self.num_timesteps += n_envs
        self._n_calls += 1
        self._env_steps_since_train += n_envs
        self._n_envs = n_envs
        return n_envs

    def every(self, env_steps: int) -> bool:
        """Whether a period of ``env_steps`` env steps (per member) ends with the transition just
        stored; counted in calls of n_envs steps each, as Stable-Baselines3 counts its target updates."""
        return self._n_calls % max(env_steps // self._n_envs, 1) == 0

    def gradient_steps_due(self) -> int:
        """How many gradient steps the training round due now takes: 0 unless ``train_freq`` calls
        passed since the last round and more than ``learning_starts`` steps were taken; else
        ``gradient_steps``, or with −1 the env steps collected since the last round."""
        c = self.config
        if self._n_calls % c.train_freq or self.num_timesteps <= c.learning_starts:
            return 0
        steps = c.gradient_steps if c.gradient_steps >= 0 else self._env_steps_since_train
        self._env_steps_since_train = 0
        return steps

    def replay_batches(self, gradient_steps: int) -> list[Batch]:
        """A round's minibatches as tensors on the device, each (K, batch_size, ...), member k's its own."""
        return self.buffer.sample_batches(gradient_steps, self.config.batch_size, self.rng, self.device)

    def clip_per_member(self, params: Iterable[torch.Tensor], max_norm: float) -> torch.Tensor:
        """Clip each member's gradient to its own global norm ``max_norm``; the K norms before clipping."""
        return clip_grad_norm_per_member(params, max_norm, self.n_members)

    @staticmethod
    def per_member(values: list[torch.Tensor]) -> np.ndarray:
        """The mean over a round of per-member values, each (K,): a numpy array (K,) to log."""
        return torch.stack(values).mean(dim=0).cpu().numpy().astype(np.float64)

    # ----- state ------------------------------------------------------------------------------
    def shared_state(self) -> dict[str, Any]:
        return {
            **super().shared_state(),
            "n_calls": self._n_calls,
            "env_steps_since_train": self._env_steps_since_train,
        }

    def load_shared_state(self, state: dict[str, Any]) -> None:
        super().load_shared_state(state)
        self._n_calls = int(state.get("n_calls", 0))
        self._env_steps_since_train = int(state.get("env_steps_since_train", 0))

    def replay_arrays(self) -> dict[str, np.ndarray] | None:
        return None if self.buffer is None else self.buffer.state_arrays()

    def load_replay_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.buffer = buffer_kind(arrays).from_arrays(arrays, self.observation_space, self.action_space)

    def member_replay_arrays(self, k: int) -> dict[str, np.ndarray] | None:
        return None if self.buffer is None else self.buffer.member_state_arrays(k, self.n_members)

    def load_member_replay_arrays(self, k: int, arrays: dict[str, np.ndarray]) -> None:
        if self.buffer is None or len(self.buffer) == 0:
            kind = buffer_kind(arrays)
            self.buffer = kind.for_members(arrays, self.observation_space, self.action_space, self.n_members)
        self.buffer.load_member_state_arrays(k, self.n_members, arrays)


def _taking_member_axis(net: nn.Module) -> nn.Module:
    """A one-member network that takes the member axis: stacked layers take it already; plain torch
    layers get it taken off and put back around each call."""
    return net if any(isinstance(m, StackedLayer) for m in net.modules()) else with_member_axis(net)
