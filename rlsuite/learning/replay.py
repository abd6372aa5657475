"""A preallocated numpy ring buffer of transitions, shared by the off-policy agents.

Observations keep their dtype (uint8 pixels stay uint8) and each is stored once: the next
observation of a transition is the observation of the following slot, written ahead of time,
except when the episode ended — then the true final observation goes to ``final_obs``. That
array is allocated with ``np.zeros``, whose pages the OS only backs when written, so it costs
memory only for the slots that ended an episode when observations are large (images).

Before allocating, the buffer's size is compared with the memory available (:func:`check_memory`),
so a ``buffer_size`` too large for the machine is one line, not an out-of-memory kill later on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlsuite.core.errors import RLSuiteError
from rlsuite.core.streams import Streams, below
from rlsuite.learning.memory import check_memory


@dataclass
class Batch:
    """Sampled transitions, as numpy arrays or (after :meth:`as_tensors`) torch tensors; a sample of K
    members has a leading member axis, (K, B, ...)."""

    obs: Any
    action: Any
    reward: Any
    next_obs: Any
    terminated: Any
    next_mask: Any | None

    def as_tensors(self, device: Any = None) -> Batch:
        """The same transitions as torch tensors (masks as bool): on the CPU they share the arrays'
        memory; on another ``device`` they are copied there."""
        import torch

        def tensor(array: np.ndarray):
            return torch.from_numpy(array) if device is None else torch.from_numpy(array).to(device, non_blocking=True)

        mask = None if self.next_mask is None else tensor(self.next_mask.astype(bool))
        return Batch(
            tensor(self.obs),
            tensor(self.action),
            tensor(self.reward),
            tensor(self.next_obs),
            tensor(self.terminated),
            mask,
        )

    def _fields(self) -> tuple[Any, ...]:
        return self.obs, self.action, self.reward, self.next_obs, self.terminated, self.next_mask

    def reshape(self, *lead: int) -> Batch:
        """The same transitions with the leading (transition) axis split into ``lead`` axes."""
        return Batch(*(None if v is None else v.reshape(*lead, *v.shape[1:]) for v in self._fields()))

    def unstack(self) -> list[Batch]:
        """One batch per index of the leading axis (views, no copies)."""
        return [Batch(*(None if v is None else v[i] for v in self._fields())) for i in range(len(self.reward))]


class ReplayBuffer:
    """Holds the last ``capacity`` env steps of ``n_envs`` envs (``capacity * n_envs`` transitions).

    An agent of K members stores K blocks of envs side by side (member k's are columns
    k*n .. (k+1)*n - 1 of every array) and samples each member from its own block with its own
    random stream (:meth:`sample`); :meth:`member_state_arrays` gives one member's part as a
    buffer of its envs alone holds it."""

    def __init__(
        self,
        capacity: int,
        observation_space: gym.Space,
        action_space: gym.Space,
        n_envs: int = 1,
        n_mask_actions: int | None = None,
    ) -> None:
        if isinstance(observation_space, (spaces.Dict, spaces.Tuple)):
            raise RLSuiteError(
                f"the replay buffer stores array observations, not {observation_space}; "
                "wrap the env with gymnasium.wrappers.FlattenObservation first."
            )
        self.capacity = int(capacity)
        self.n_envs = int(n_envs)
        check_memory(
            self.capacity * self.n_envs, observation_space, action_space, n_mask_actions, frames=self.frame_storage
        )
        shape = (self.capacity, self.n_envs)
        self._allocate_obs(observation_space)
        act_shape = action_space.shape or ()
        self.actions = np.zeros(shape + act_shape, dtype=action_space.dtype)
        self.rewards = np.zeros(shape, dtype=np.float32)
        self.terminated = np.zeros(shape, dtype=np.float32)
        self.ended = np.zeros(shape, dtype=bool)  # terminated or truncated: next obs is in final_obs
        self.masks = None if n_mask_actions is None else np.ones(shape + (n_mask_actions,), dtype=np.int8)
        self.final_masks = None if n_mask_actions is None else np.ones_like(self.masks)
        self.pos = 0
        self.full = False

    frame_storage = False  # a FrameReplayBuffer (framereplay.py) stores each frame of stacked frames once

    def _allocate_obs(self, observation_space: gym.Space) -> None:
        self.obs = np.zeros((self.capacity, self.n_envs, *(observation_space.shape or ())), observation_space.dtype)
        self.final_obs = np.zeros_like(self.obs)

    def __len__(self) -> int:
        return (self.capacity if self.full else self.pos) * self.n_envs

    def add(
        self,
        obs: Any,
        action: Any,
        reward: Any,
        next_obs: Any,
        terminated: Any,
        truncated: Any,
        mask: Any = None,
        next_mask: Any = None,
    ) -> None:
        """Store one vector-env step; ``next_obs`` is the true next observation (final ones included)."""
        p, nxt = self.pos, (self.pos + 1) % self.capacity
        ended = np.logical_or(terminated, truncated)
        self._store_obs(p, nxt, obs, next_obs, ended)
        self.actions[p] = action
        self.rewards[p] = reward
        self.terminated[p] = terminated
        self.ended[p] = ended
        if self.masks is not None:
            self.masks[p] = 1 if mask is None else mask
            if next_mask is not None:
                if ended.any():
                    self.final_masks[p][ended] = np.asarray(next_mask)[ended]
                    self.masks[nxt][~ended] = np.asarray(next_mask)[~ended]
                else:
                    self.masks[nxt] = next_mask
        self.pos = nxt
        self.full = self.full or nxt == 0

    def _store_obs(self, p: int, nxt: int, obs: Any, next_obs: Any, ended: np.ndarray) -> None:
        """Written ahead: the next slot's obs is this transition's next obs for envs that go on.
        Envs whose episode ended get their reset obs there with the next add."""
        self.obs[p] = obs
        if ended.any():
            self.final_obs[p][ended] = np.asarray(next_obs)[ended]
            self.obs[nxt][~ended] = np.asarray(next_obs)[~ended]
        else:
            self.obs[nxt] = next_obs

    def sample_batches(self, n_batches: int, batch_size: int, rng: Streams, device: Any = None) -> list[Batch]:
        """``n_batches`` minibatches for one training round, each (K, batch_size, ...) with member k's
        from its own envs' transitions (:meth:`sample`), drawn at once: one index draw, one
        gather and (for a GPU ``device``) one copy per round instead of one per gradient step.
        The buffer itself stays in host memory."""
        device = None if device is None or str(device) == "cpu" else device
        return self.sample(n_batches, batch_size, rng).as_tensors(device).unstack()

    def sample(self, n_batches: int, batch_size: int, rng: Streams) -> Batch:
        """``n_batches`` × ``batch_size`` transitions per member drawn uniformly with replacement, as
        (n_batches, K, batch_size, ...) arrays.

        ``rng`` holds K streams, one per member; the buffer's envs are K blocks of n_envs / K (member
        k's are columns k*n .. (k+1)*n - 1), and member k draws its slots and envs from its own stream
        among its own columns only (its n_batches * batch_size draws in a row), so its sample does not
        depend on the other members."""
        members = len(rng)
        if self.n_envs % members:
            raise RLSuiteError(f"a replay buffer of {self.n_envs} envs does not split over {members} members.")
        if self.pos == 0 and not self.full:
            raise RLSuiteError("the replay buffer is empty; store a transition before sampling.")
        own = self.n_envs // members
        per_member = n_batches * batch_size
        u = rng.random((members * per_member, 2))  # (slot, env) uniforms, member-major
        skip = self._oldest_unsampled()
        high = self.capacity - skip if self.full else self.pos
        slots = below(u[:, 0], high)
        if self.full:  # the slot at pos had its obs overwritten ahead of time: its transition is gone
            slots = (self.pos + skip + slots) % self.capacity
        envs = below(u[:, 1], own)
        envs += np.repeat(np.arange(members, dtype=np.int64) * own, per_member)
        # batch-major order, so that each gradient step's (K, B) batch is one contiguous block
        order = (members, n_batches, batch_size)
        slots, envs = (a.reshape(order).transpose(1, 0, 2).ravel() for a in (slots, envs))
        return self._gather(slots, envs).reshape(n_batches, members, batch_size)

    def _oldest_unsampled(self) -> int:
        """How many of the oldest slots of a full buffer are not sampled: the one written ahead."""
        return 1

    def _obs_at(self, slots: np.ndarray, envs: np.ndarray) -> np.ndarray:
        return self.obs[slots, envs]

    def _next_obs_at(self, slots: np.ndarray, envs: np.ndarray, ended: np.ndarray) -> np.ndarray:
        next_obs = self.obs[(slots + 1) % self.capacity, envs]
        if ended.any():
            next_obs[ended] = self.final_obs[slots[ended], envs[ended]]
        return next_obs

    def _gather(self, slots: np.ndarray, envs: np.ndarray) -> Batch:
        """The transitions at (slot, env) pairs, with the next observation (and mask) of each."""
        ended = self.ended[slots, envs]
        following = (slots + 1) % self.capacity
        next_obs = self._next_obs_at(slots, envs, ended)
        next_mask = None
        if self.masks is not None:
            next_mask = self.masks[following, envs]
            if ended.any():
                next_mask[ended] = self.final_masks[slots[ended], envs[ended]]
        return Batch(
            self._obs_at(slots, envs),
            self.actions[slots, envs],
            self.rewards[slots, envs],
            next_obs,
            self.terminated[slots, envs],
            next_mask,
        )

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The filled part of the buffer as plain arrays (for checkpoints as .npz, no objects).

        Until the buffer has wrapped, only the slots written so far are kept (plus the next
        slot's observation, written ahead), so a large, mostly empty buffer checkpoints small.
        """
        used = self.capacity if self.full else self.pos
        ahead = self.capacity if self.full else min(self.pos + 1, self.capacity)
        arrays = {
            **self._obs_arrays(used, ahead),
            "actions": self.actions[:used],
            "rewards": self.rewards[:used],
            "terminated": self.terminated[:used],
            "ended": self.ended[:used],
            "cursor": np.array([self.pos, int(self.full), self.capacity], dtype=np.int64),
        }
        if self.masks is not None:
            arrays.update(masks=self.masks[:ahead], final_masks=self.final_masks[:used])
        return arrays

    def _obs_arrays(self, used: int, ahead: int) -> dict[str, np.ndarray]:
        return {"obs": self.obs[:ahead], "final_obs": self.final_obs[:used]}

    def _load_obs_arrays(self, arrays: dict[str, np.ndarray], columns: slice | None = None) -> None:
        columns = columns or slice(0, self.n_envs)
        for name in ("obs", "final_obs"):
            getattr(self, name)[: len(arrays[name]), columns] = arrays[name]

    def _member_obs_arrays(self, arrays: dict[str, np.ndarray], columns: slice) -> dict[str, np.ndarray]:
        return {name: arrays[name][:, columns].copy() for name in ("obs", "final_obs")}

    @staticmethod
    def obs_shapes(observation_space: gym.Space) -> dict[str, tuple[int, ...]]:
        """The per-(slot, env) shape of each observation array a checkpoint holds."""
        shape = observation_space.shape or ()
        return {"obs": shape, "final_obs": shape}

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, np.ndarray], observation_space: gym.Space, action_space: gym.Space
    ) -> ReplayBuffer:
        """A buffer rebuilt from :meth:`state_arrays`, its cursor and shapes checked first."""
        buffer = cls.for_members(arrays, observation_space, action_space, 1)
        buffer.load_state_arrays(arrays)
        return buffer

    @classmethod
    def for_members(
        cls, arrays: dict[str, np.ndarray], observation_space: gym.Space, action_space: gym.Space, members: int
    ) -> ReplayBuffer:
        """An empty buffer for ``members`` blocks of the envs of ``arrays`` (one member's :meth:`state_arrays`,
        checked first), with its capacity and cursor: :meth:`load_member_state_arrays` fills it."""
        cursor = arrays["cursor"]
        capacity = int(cursor[2]) if len(cursor) > 2 else len(arrays["rewards"])  # older checkpoints: all slots
        n_envs = arrays["rewards"].shape[1]
        n_mask = arrays["masks"].shape[-1] if "masks" in arrays else None
        _check_arrays(arrays, capacity, n_envs, cls.obs_shapes(observation_space), action_space)
        buffer = cls(capacity, observation_space, action_space, members * n_envs, n_mask)
        buffer.pos, buffer.full = int(cursor[0]), bool(cursor[1])
        return buffer

    _NAMES = ("actions", "rewards", "terminated", "ended", "masks", "final_masks")

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self._load_obs_arrays(arrays)
        for name in self._NAMES:
            if name in arrays and getattr(self, name) is not None:
                getattr(self, name)[: len(arrays[name])] = arrays[name]
        self.pos, self.full = int(arrays["cursor"][0]), bool(arrays["cursor"][1])

    # ----- one member's envs ------------------------------------------------------------------
    def _member_columns(self, k: int, members: int) -> slice:
        if self.n_envs % members or not 0 <= k < members:
            raise RLSuiteError(f"member {k} is not one of {members} members sharing this buffer's {self.n_envs} envs.")
        own = self.n_envs // members
        return slice(k * own, (k + 1) * own)

    def member_state_arrays(self, k: int, members: int) -> dict[str, np.ndarray]:
        """Member k's part of :meth:`state_arrays` (its block of n_envs / members envs), as a buffer of
        those envs alone gives them."""
        columns = self._member_columns(k, members)
        arrays = self.state_arrays()
        obs = self._member_obs_arrays(arrays, columns)
        rest = {name: a if name == "cursor" else a[:, columns].copy() for name, a in arrays.items() if name not in obs}
        return {**rest, **obs}

    def load_member_state_arrays(self, k: int, members: int, arrays: dict[str, np.ndarray]) -> None:
        """Put a one-member buffer's :meth:`state_arrays` in as member k's envs. The members of a run
        step together, so its cursor must be this buffer's."""
        columns = self._member_columns(k, members)
        cursor = arrays["cursor"]
        theirs = (int(cursor[0]), bool(cursor[1]), int(cursor[2]) if len(cursor) > 2 else len(arrays["rewards"]))
        if theirs != (self.pos, self.full, self.capacity):
            raise RLSuiteError(
                f"member {k}'s replay data stands at slot {theirs[0]} of {theirs[2]} (full: {theirs[1]}), "
                f"the other members' at slot {self.pos} of {self.capacity} (full: {self.full}); load "
                "the members' checkpoints of one step."
            )
        self._load_obs_arrays(arrays, columns)
        for name in self._NAMES:
            mine, array = getattr(self, name), arrays.get(name)
            if mine is None or array is None:
                continue
            if array.shape[1:] != (columns.stop - columns.start, *mine.shape[2:]) or len(array) > self.capacity:
                raise RLSuiteError(
                    f"member {k}'s replay {name} has shape {array.shape}, which does not fit this "
                    f"buffer's {mine.shape} split over {members} members; it comes from another run."
                )
            mine[: len(array), columns] = array


def _check_arrays(
    arrays: dict[str, np.ndarray], capacity: int, n_envs: int, obs_shapes: dict[str, tuple], action_space: gym.Space
) -> None:
    """The saved buffer's cursor lies within its capacity and its arrays have the shapes it needs."""
    cursor = arrays["cursor"]
    pos, full = int(cursor[0]), int(cursor[1])
    used = capacity if full else pos
    shapes = {
        **obs_shapes,
        "actions": (action_space.shape or ()),
        "rewards": (),
        "terminated": (),
        "ended": (),
    }
    problem = None
    if cursor.ndim != 1 or cursor.dtype.kind not in "iu" or len(cursor) not in (2, 3):
        problem = "its cursor is not 2 or 3 integers"
    elif not (1 <= capacity < 2**40 and 0 <= pos < capacity and full in (0, 1) and n_envs >= 1):
        problem = f"its cursor (position {pos}, full {full}, capacity {capacity}) lies outside the buffer"
    else:
        for name, tail in shapes.items():
            array = arrays[name]
            if (
                array.ndim != 2 + len(tail)
                or tuple(array.shape[1:]) != (n_envs, *tail)
                or not (used <= len(array) <= capacity)
            ):
                problem = f"its {name} array has shape {array.shape}, not ({used}..{capacity}, {n_envs}, ...{tail})"
                break
    if problem:
        raise RLSuiteError(
            f"the replay buffer in the checkpoint is corrupt: {problem}; resume from another "
            "checkpoint or start a new run."
        )
