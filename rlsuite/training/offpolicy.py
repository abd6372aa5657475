"""What DQN and DDPG share: K members, a replay buffer filled every step and SB3-style training rounds.

Every transition goes into the buffer; every ``train_freq`` env steps, once more than
``learning_starts`` steps were taken, the agent runs ``gradient_steps`` updates
(−1 = as many as env steps collected since the last round). Subclasses write the update
(:meth:`train_round`) and any per-step work such as target updates (:meth:`after_step`).

**Members.** The agent trains K members (K = 1 is the ordinary run) with one code path: every
network is built with ``members=K`` and takes (K, B, ...) tensors (:meth:`build_networks`: member
k starts exactly as a single network built under ``torch.manual_seed(seed_k)``); batches come
K×n_envs rows, member-major; the replay buffer holds member k's envs in its own columns and
samples each member's minibatches from them with the member's own random stream; the loss is the
sum of each member's own mean loss, so each member's gradient is its own; clipping is per member.
A member the loop marks done (``learning[k]`` False) keeps the weights, targets and optimizer
moments it had then: its updates are still computed with the others' (slicing it out of the
stacked arithmetic would cost more) and undone after each step that changed weights
(:meth:`_hold_done_members`, a copy of its state: ≈0.3 ms per training round for the 4-256-256-2
Q-network at K = 8); its transitions are still stored.

:meth:`OffPolicyAgent.learn` checks that ``buffer_size`` fits in the memory available before the
run directory is touched. It checks there rather than in ``__init__``, so that loading a model
trained with a large buffer, to evaluate it on a smaller machine, still works.
"""

from __future__ import annotations

from abc import abstractmethod
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
from rlsuite.nets import resolve_device
from rlsuite.nets.stacked import clip_grad_norm_per_member, load_member
from rlsuite.training.agent import Agent, ConfigT
from rlsuite.training.replay import Batch, ReplayBuffer, check_memory


class OffPolicyAgent(Agent[ConfigT]):
    """Base for replay-based agents; their config has buffer_size, batch_size, learning_starts,
    train_freq, gradient_steps and device."""

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: ConfigT | None = None,
                 seed: int = 0, **kw: Any):
        super().__init__(observation_space, action_space, config, seed, **kw)
        c = self.config
        if c.batch_size > c.buffer_size:
            raise RLSuiteError(f"{self.name} batch_size={c.batch_size} is larger than buffer_size={c.buffer_size}; "
                               "make the buffer at least one batch.")
        self.device = resolve_device(c.device)
        self.buffer: ReplayBuffer | None = None
        self._n_calls = 0
        self._env_steps_since_train = 0
        self._held: tuple[tuple[int, ...], list[tuple[torch.Tensor, torch.Tensor]]] = ((), [])

    def build_networks(self, build: Callable[[int], tuple[nn.Module, ...]]) -> tuple[nn.Module, ...]:
        """The agent's networks, ``build(members)``, with K members on the agent's device.

        Member k starts exactly as ``build(1)`` does on the CPU under ``torch.manual_seed(seed_k)``
        (so as the network of a single-seed run of seed k), whatever the other members; torch's
        global random state is left as it was.
        """
        with torch.random.fork_rng(devices=[]):
            singles = []
            for seed in self.seeds:
                torch.default_generator.manual_seed(seed)
                singles.append(build(1))
            nets = build(self.n_members)  # its own initial draws are overwritten by the members'
        for k, single in enumerate(singles):
            for net, one in zip(nets, single):
                load_member(net, k, one)
        return tuple(net.to(self.device) for net in nets)

    def member_obs(self, obs: np.ndarray) -> torch.Tensor:
        """K × n observations (member-major) as a (K, n, ...) tensor on the agent's device."""
        obs = torch.as_tensor(obs, device=self.device)
        return obs.reshape(self.n_members, obs.shape[0] // self.n_members, *obs.shape[1:])

    def learn(self, total_steps: int, run_dir: str | Path | None = None, resume: bool = False,
              progress: bool = False, **loop_settings: Any):
        check_memory(self.config.buffer_size * self.n_members, self.observation_space, self.action_space)
        return super().learn(total_steps, run_dir=run_dir, resume=resume, progress=progress, **loop_settings)

    # ----- the step ---------------------------------------------------------------------------
    def observe(self, batch: Transition) -> dict[str, Any] | None:
        c = self.config
        rows = len(batch.reward)
        if rows % self.n_members:
            raise RLSuiteError(f"a batch of {rows} transitions does not split over {self.n_members} members; give "
                               "n_envs transitions per member, member by member.")
        n_envs = rows // self.n_members  # each member's
        if self.buffer is None:
            n_mask = int(self.action_space.n) if batch.next_mask is not None and isinstance(
                self.action_space, spaces.Discrete) else None
            self.buffer = ReplayBuffer(max(c.buffer_size // n_envs, 2), self.observation_space, self.action_space,
                                       rows, n_mask)
        masks = self.buffer.masks is not None
        self.buffer.add(batch.obs, batch.action, batch.reward, batch.next_obs, batch.terminated, batch.truncated,
                        mask=batch.mask if masks else None, next_mask=batch.next_mask if masks else None)
        self.num_timesteps += n_envs
        self._n_calls += 1
        self._env_steps_since_train += n_envs
        held = self._hold_done_members()
        changed = self.after_step(batch)
        metrics = None
        if not (self._n_calls % c.train_freq or self.num_timesteps <= c.learning_starts):
            steps = c.gradient_steps if c.gradient_steps >= 0 else self._env_steps_since_train
            self._env_steps_since_train = 0
            if steps > 0:
                metrics, changed = self.train_round(steps), True
        if held and changed:
            self._restore_done_members()
        return metrics

    def after_step(self, batch: Transition) -> bool:
        """Per-step work after the transition is stored (nothing by default); whether it changed a
        network's weights (a target update), so that members that are done get theirs back."""
        return False

    @abstractmethod
    def train_round(self, gradient_steps: int) -> dict[str, Any]:
        """Run ``gradient_steps`` updates on replayed batches; return the metrics to log (one per member)."""

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

    # ----- members the loop marked done ----------------------------------------------------------
    def _member_tensors(self) -> list[torch.Tensor]:
        """Every tensor of per-member state, member axis first: the modules' parameters (targets
        included) and the optimizer states shaped like their parameters (Adam's moments)."""
        tensors: list[torch.Tensor] = []
        for part in self.state_parts().values():
            if isinstance(part, nn.Module):
                tensors.extend(part.parameters())
            elif isinstance(part, torch.optim.Optimizer):
                for group in part.param_groups:
                    for p in group["params"]:
                        tensors.extend(v for v in part.state.get(p, {}).values()
                                       if torch.is_tensor(v) and v.shape == p.shape)
        return tensors

    @torch.no_grad()
    def _hold_done_members(self) -> bool:
        """Keep the state of the members that are done (``learning`` False) as it is now, when they
        are new (see :meth:`_restore_done_members`); whether any member is done."""
        if not self._held[0] and self.learning.all():
            return False
        done = tuple(np.flatnonzero(~self.learning).tolist())
        if done != self._held[0]:
            self._restore_done_members()  # those held before go back to their state first
            self._held = (), []
            if not done:
                return False
            index = torch.tensor(done, dtype=torch.long, device=self.device)
            self._held = done, [(t, t.view(self.n_members, -1).index_select(0, index)) for t in self._member_tensors()]
        return bool(done)

    @torch.no_grad()
    def _restore_done_members(self) -> None:
        """Put the held members' state back (an optimizer moment that did not exist then goes to zero)."""
        done, saved = self._held
        if not done:
            return
        index = torch.tensor(done, dtype=torch.long, device=self.device)
        before = {id(t): (t, values) for t, values in saved}
        for tensor in self._member_tensors():
            flat = tensor.view(self.n_members, -1)
            held = before.get(id(tensor))
            if held is not None and held[0] is tensor:
                flat.index_copy_(0, index, held[1])
            else:
                flat.index_fill_(0, index, 0.0)

    # ----- state ------------------------------------------------------------------------------
    def _counters(self) -> dict[str, int]:
        """The step counters behind the training rounds, the same for every member."""
        return {"n_calls": self._n_calls, "env_steps_since_train": self._env_steps_since_train}

    def _load_counters(self, state: dict[str, Any]) -> None:
        self._n_calls = int(state.get("n_calls", 0))
        self._env_steps_since_train = int(state.get("env_steps_since_train", 0))

    def extra_state(self) -> dict[str, Any]:
        return {**super().extra_state(), **self._counters()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        super().load_extra_state(state)
        self._load_counters(state)

    def member_extra_state(self, k: int) -> dict[str, Any]:
        return {**super().member_extra_state(k), **self._counters()}

    def load_member_extra_state(self, k: int, state: dict[str, Any]) -> None:
        super().load_member_extra_state(k, state)
        self._load_counters(state)

    def replay_arrays(self) -> dict[str, np.ndarray] | None:
        return None if self.buffer is None else self.buffer.state_arrays()

    def load_replay_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.buffer = ReplayBuffer.from_arrays(arrays, self.observation_space, self.action_space)

    def member_replay_arrays(self, k: int) -> dict[str, np.ndarray] | None:
        return None if self.buffer is None else self.buffer.member_state_arrays(k, self.n_members)

    def load_member_replay_arrays(self, k: int, arrays: dict[str, np.ndarray]) -> None:
        if self.buffer is None or len(self.buffer) == 0:
            self.buffer = ReplayBuffer.for_members(arrays, self.observation_space, self.action_space, self.n_members)
        self.buffer.load_member_state_arrays(k, self.n_members, arrays)
