"""n-step Sarsa: on-policy TD control with n-step returns (Sutton & Barto, section 7.2).

    G = R_{τ+1} + γ R_{τ+2} + … + γ^{n−1} R_{τ+n} + γ^n Q(S_{τ+n}, A_{τ+n})
    Q(S_τ, A_τ) <- Q(S_τ, A_τ) + alpha * [G − Q(S_τ, A_τ)]

Each env keeps its last n steps (S, A, R). Once it holds n, the oldest is updated and dropped;
when an episode ends, every step it still holds is updated, oldest first, with the rewards up to the
end (no Q term after a terminal state; after a truncation, Q(S', A') of the true final state). The
next action A' is Sarsa's: drawn ε-greedily from Q when S' arrives and then played by the next
``act`` (:class:`~rlsuite.agents.sarsa.Sarsa`), so ``n_steps=1`` is exactly one-step Sarsa.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsuite.agents.sarsa import Sarsa
from rlsuite.core.config import hp
from rlsuite.core.exploration import as_bool
from rlsuite.core.transition import Transition
from rlsuite.learning.tabular import TabularConfig

_ROWS = ("steps_states", "steps_actions", "steps_rewards", "steps_held")


@dataclass
class NStepSarsaConfig(TabularConfig):
    n_steps: int = hp(4, low=1, high=10_000, doc="n: the rewards summed before bootstrapping from Q")


class NStepSarsa(Sarsa):
    name = "nstep_sarsa"
    summary = "tabular n-step Sarsa: on-policy TD control with n-step returns"
    Config = NStepSarsaConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        n = self.config.n_steps
        # per env: its last n steps, oldest first and right-aligned; held: how many are waiting
        self._states = self._actions = self._rewards = self._held = None
        # G's rewards part for a step in column c: sum over j >= c of γ^(j - c) R_j, as one matmul
        power = np.arange(n)[None, :] - np.arange(n)[:, None]
        self._weights = np.where(power >= 0, self.config.gamma ** np.maximum(power, 0), 0.0).T
        self._discounts = self.config.gamma ** (n - np.arange(n, dtype=float))  # γ^(n − c)

    def observe(self, batch: Transition) -> None:
        n_rows, n = len(batch.reward), self.config.n_steps
        members, rows, next_rows = self.members_of(n_rows), self.rows(batch.obs), self.rows(batch.next_obs)
        allowed = None if batch.next_mask is None else as_bool(batch.next_mask)
        self.next_values(members, next_rows, allowed, batch)  # draws A', which the next act() plays
        self._remember(rows, np.asarray(batch.action, dtype=np.int64), np.asarray(batch.reward, dtype=float))
        ended = np.logical_or(batch.terminated, batch.truncated)
        sums = self._rewards @ self._weights  # (rows, n): each column's rewards up to the newest
        keeps = ~np.asarray(batch.terminated, dtype=bool)
        per_member = n_rows // self.n_members
        env = np.arange(n_rows) % per_member
        for column in range(n):  # oldest first: each update reads Q as the earlier ones left it
            due = np.where(ended, column >= n - self._held, (self._held == n) & (column == 0))
            if not due.any():
                continue
            bootstrap = np.where(keeps, self.tables[members, next_rows, self._next_actions], 0.0)
            targets = sums[:, column] + self._discounts[column] * bootstrap
            for j in range(per_member):  # env by env, in case two envs of a member share (s, a)
                picked = np.flatnonzero(due & (env == j))
                s, a = self._states[picked, column], self._actions[picked, column]
                self.update(members[picked], s, a, targets[picked], picked)
        self._held = np.where(ended, 0, np.where(self._held == n, n - 1, self._held))
        self.num_timesteps += per_member
        return None

    def _remember(self, rows: np.ndarray, actions: np.ndarray, rewards: np.ndarray) -> None:
        """Append this step to every env's last n steps (the oldest falls out)."""
        if self._held is None or len(self._held) != len(rows):
            n = self.config.n_steps
            self._states, self._actions = np.zeros((len(rows), n), np.int64), np.zeros((len(rows), n), np.int64)
            self._rewards, self._held = np.zeros((len(rows), n)), np.zeros(len(rows), np.int64)
        for held, new in ((self._states, rows), (self._actions, actions), (self._rewards, rewards)):
            held[:, :-1] = held[:, 1:]
            held[:, -1] = new
        self._held = np.minimum(self._held + 1, self.config.n_steps)

    def env_row_state(self) -> dict[str, np.ndarray | None]:
        """Sarsa's A' rows and every env's last n steps."""
        mine = (self._states, self._actions, self._rewards, self._held)
        return {**super().env_row_state(), **dict(zip(_ROWS, mine))}

    def load_env_row_state(self, rows: dict[str, np.ndarray | None]) -> None:
        super().load_env_row_state(rows)
        if rows.get("steps_held") is None:
            self._states = self._actions = self._rewards = self._held = None
            return
        self._states, self._actions = (np.asarray(rows[k], dtype=np.int64) for k in _ROWS[:2])
        self._rewards, self._held = np.asarray(rows[_ROWS[2]], dtype=float), np.asarray(rows[_ROWS[3]], np.int64)
