"""What flows from the loop to an agent: one batched vector-env step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(slots=True)
class Transition:
    """One vector-env step, batched over envs.

    ``next_obs`` is the true next observation, also for envs whose episode just ended (the
    loop takes it from ``final_obs``), so a truncated transition can bootstrap from it;
    ``terminated`` says when not to bootstrap. ``mask`` and ``next_mask`` are the action masks
    of ``obs`` and ``next_obs`` when the env gives them (``info["action_mask"]``).
    """

    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    mask: np.ndarray | None = None
    next_mask: np.ndarray | None = None
