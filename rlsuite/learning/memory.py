"""How much memory a replay buffer and an agent's networks take, checked against what the machine has
before they are allocated."""

from __future__ import annotations

import math
import os

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlsuite.core.errors import RLSuiteError


def transition_bytes(
    observation_space: gym.Space, action_space: gym.Space, n_mask_actions: int | None = None, frames: bool = False
) -> int:
    """Bytes one stored transition takes: its observation, its final observation (counted only for
    observations smaller than a memory page, whose pages all get written; ``np.zeros`` backs a large
    one's pages only for the steps that ended an episode), action, reward, flags and masks; with
    ``frames``, the newest frame of stacked frames and its age
    (:class:`~rlsuite.learning.framereplay.FrameReplayBuffer`)."""
    if frames:
        obs, final = math.prod(observation_space.shape[1:]) + 1, 0
    else:
        obs = math.prod(observation_space.shape or ()) * np.dtype(observation_space.dtype).itemsize
        final = obs if obs < _page_size() else 0
    action = math.prod(action_space.shape or ()) * np.dtype(action_space.dtype).itemsize
    masks = 2 * n_mask_actions if n_mask_actions else 0
    return obs + final + action + 4 + 4 + 1 + masks  # + float32 reward, float32 terminated, bool ended


def _page_size() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 4096


def available_memory() -> int | None:
    """Bytes of memory this process can still get: MemAvailable (/proc/meminfo), else the free pages,
    capped by a cgroup (v2) limit; None where the system does not say."""
    found = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    found = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if found is None:
        try:
            found = os.sysconf("SC_AVPHYS_PAGES") * _page_size()
        except (AttributeError, ValueError, OSError):
            return None
    try:
        limit = open("/sys/fs/cgroup/memory.max").read().strip()
        if limit != "max":
            found = min(found, int(limit) - int(open("/sys/fs/cgroup/memory.current").read()))
    except (OSError, ValueError):
        pass
    return found


def check_memory(
    transitions: int,
    observation_space: gym.Space,
    action_space: gym.Space,
    n_mask_actions: int | None = None,
    setting: str = "buffer_size",
    frames: bool = False,
) -> None:
    """One line if a buffer of ``transitions`` transitions does not fit in the memory available."""
    if isinstance(observation_space, (spaces.Dict, spaces.Tuple)):
        return  # refused by the buffer itself
    each = transition_bytes(observation_space, action_space, n_mask_actions, frames)
    need, available = transitions * each, available_memory()
    if available is not None and need > available:
        fits = max(int(available * 0.8) // each, 1)
        raise RLSuiteError(
            f"the replay buffer ({setting}={transitions:,} transitions of {each:,} bytes) needs "
            f"{need / 1e9:,.1f} GB but {available / 1e9:,.1f} GB of memory is available; choose a "
            f"smaller {setting} (at most about {fits:,} here), e.g. --set {setting}={fits}."
        )


def check_network_memory(n_params: int, bytes_each: int, members: int, name: str, available: int | None) -> None:
    """One line if ``members`` members' networks of ``n_params`` parameters in all do not fit in the
    ``available`` bytes: their weights, gradients and an optimizer's two moments (Adam's), four copies."""
    need = 4 * n_params * bytes_each
    if available is not None and need > available:
        raise RLSuiteError(
            f"{name}'s networks for {members:,} member{'s' if members > 1 else ''} hold {n_params:,} parameters, "
            f"whose weights, gradients and optimizer moments need {need / 1e9:,.1f} GB but "
            f"{available / 1e9:,.1f} GB of memory is available; choose smaller networks (net_arch) or fewer seeds."
        )
