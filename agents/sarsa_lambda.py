"""Sarsa(λ): on-policy TD control with eligibility traces (Sutton & Barto, section 12.7, tabular).

    δ = R + γ Q(S', A') − Q(S, A)            (δ = R − Q(S, A) when S' is terminal)
    z(S, A) <- z(S, A) + 1   (accumulating)   or   z(S, A) <- 1   (replacing, the default)
    Q <- Q + alpha * δ * z
    z <- γ λ z

Every env has its own trace table z (states × actions), cleared when its episode ends, so one
step's TD error updates every pair the episode visited, each as much as its trace says: λ = 0 is
one-step Sarsa, λ → 1 approaches Monte Carlo. Replacing traces (the book's choice for binary
features, Figure 12.10) keep a pair revisited in a loop from piling up credit. A' is Sarsa's
(:class:`~rlsuite.agents.sarsa.Sarsa`): drawn ε-greedily when S' arrives and played by the next
``act``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsuite.agents.sarsa import Sarsa
from rlsuite.core.config import hp
from rlsuite.core.transition import Transition
from rlsuite.learning.tabular import TabularConfig


@dataclass
class SarsaLambdaConfig(TabularConfig):
    trace_decay: float = hp(0.9, low=0.0, high=1.0, doc="λ: how much of a trace is left after each step")
    traces: str = hp("replacing", choices=("replacing", "accumulating"), doc="z(S, A) set to 1, or 1 added")


class SarsaLambda(Sarsa):
    name = "sarsa_lambda"
    summary = "tabular Sarsa(λ): on-policy TD control with eligibility traces (replacing or accumulating)"
    Config = SarsaLambdaConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._traces: np.ndarray | None = None  # (K × n_envs, S, A): z of every env

    def next_values(
        self, members: np.ndarray, next_rows: np.ndarray, allowed: np.ndarray | None, batch: Transition
    ) -> np.ndarray:
        """Sarsa's Q(S', A'); the envs' traces are made on the first step."""
        if self._traces is None or len(self._traces) != len(next_rows):
            self._traces = np.zeros((len(next_rows), *self.tables.shape[1:]))
        return super().next_values(members, next_rows, allowed, batch)

    def update(self, members: np.ndarray, s: np.ndarray, a: np.ndarray, targets: np.ndarray, picked: Any) -> None:
        """One step of every picked env: its trace marks (S, A), Q moves by α δ z, the trace decays."""
        envs = np.arange(len(self._traces))[picked]
        z, q, c = self._traces, self.tables, self.config
        delta = targets - q[members, s, a]
        if c.traces == "accumulating":
            z[envs, s, a] += 1.0
        else:
            z[envs, s, a] = 1.0
        q[members] += c.learning_rate * delta[:, None, None] * z[envs]
        z[envs] *= c.gamma * c.trace_decay
        z[envs[self._fresh[envs]]] = 0.0  # the episode ended: the next one starts with no trace

    def env_row_state(self) -> dict[str, np.ndarray | None]:
        """Sarsa's A' rows and every env's trace table."""
        return {**super().env_row_state(), "traces": self._traces}

    def load_env_row_state(self, rows: dict[str, np.ndarray | None]) -> None:
        super().load_env_row_state(rows)
        traces = rows.get("traces")
        self._traces = None if traces is None else np.asarray(traces, dtype=float)
