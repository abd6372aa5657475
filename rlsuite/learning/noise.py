"""Exploration noise for deterministic continuous-action policies (training only).

Both processes work on a batch of envs, shape (K * n_envs, action_dim) for K members
(member-major: member k's envs are rows k*n .. (k+1)*n - 1), and draw from the agent's
:class:`~rlsuite.core.streams.Streams`, one random stream per member: member k's rows come from
its own stream, so its noise does not depend on the other members, and runs are reproducible.
"""

from __future__ import annotations

import numpy as np

from rlsuite.core.streams import Streams


class NormalNoise:
    """Independent Gaussian noise N(0, std²) at every step."""

    def __init__(self, std: float, shape: tuple[int, ...], rng: Streams) -> None:
        self.std, self.shape, self.rng = float(std), shape, rng

    def __call__(self) -> np.ndarray:
        return self.rng.normal(self.shape, self.std)

    def reset(self, envs: np.ndarray | None = None) -> None:
        """Nothing to forget: every draw is independent."""


class OrnsteinUhlenbeckNoise:
    """Temporally correlated noise: x ← x + θ (μ − x) dt + σ √dt · N(0, 1), with μ = 0.

    It drifts back towards 0 at rate θ; ``reset`` sets finished envs back to 0 at an
    episode's start. ``state`` has one row per env (member-major, as the batch).
    """

    def __init__(self, std: float, shape: tuple[int, ...], rng: Streams, theta: float = 0.15, dt: float = 1e-2) -> None:
        self.std, self.shape, self.rng, self.theta, self.dt = float(std), shape, rng, float(theta), float(dt)
        self.state = np.zeros(shape)

    def __call__(self) -> np.ndarray:
        self.state = (
            self.state - self.theta * self.state * self.dt + self.std * np.sqrt(self.dt) * self.rng.normal(self.shape)
        )
        return self.state.copy()

    def reset(self, envs: np.ndarray | None = None) -> None:
        if envs is None:
            self.state[...] = 0.0
        else:
            self.state[envs] = 0.0
