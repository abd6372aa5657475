"""Sarsa: on-policy TD control (Sutton & Barto, section 6.4).

    Q(S, A) <- Q(S, A) + alpha * [R + gamma * Q(S', A') - Q(S, A)]

A' is the action the agent takes next in S', drawn ε-greedily from Q when S' arrives and then
played by the next ``act``, so the update learns the value of the ε-greedy policy it follows
(on CliffWalking: the safe path away from the edge, where Q-learning takes the edge). When the
episode ended in S' (terminated: no bootstrap; truncated: A' is drawn for the bootstrap but not
played), the next ``act`` draws afresh for the new episode. The table, the behaviour and the
update are :class:`~rlsuite.learning.tabular.TabularAgent`'s.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlsuite.core.exploration import epsilon_greedy
from rlsuite.core.transition import Transition
from rlsuite.learning.tabular import TabularAgent, TabularConfig


class Sarsa(TabularAgent[TabularConfig]):
    name = "sarsa"
    summary = "tabular Sarsa: on-policy TD control, bootstrapping from the next action taken"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._next_actions: np.ndarray | None = None  # A' per env, played by the next act()
        self._fresh: np.ndarray | None = None  # envs whose episode ended: their next act() draws anew

    def next_values(
        self, members: np.ndarray, next_rows: np.ndarray, allowed: np.ndarray | None, batch: Transition
    ) -> np.ndarray:
        """Q(S', A') for A' drawn now from the ε-greedy policy in S'."""
        q = self.tables[members, next_rows]
        actions = epsilon_greedy(
            lambda: q,
            self.n_actions,
            len(next_rows),
            self.exploration_rate,
            self.rng,
            batch.next_mask,
            random_ties=True,
        )
        self._next_actions, self._fresh = actions, np.logical_or(batch.terminated, batch.truncated)
        return q[np.arange(len(actions)), actions]

    def act(self, obs: np.ndarray, mask: np.ndarray | None, explore: bool = True) -> np.ndarray:
        if not explore or self._next_actions is None:
            return super().act(obs, mask, explore)
        actions, fresh = self._next_actions, self._fresh
        self._next_actions = self._fresh = None
        # drawn every step, used where an episode just ended: each member's random stream advances the
        # same whatever the other members' episodes do
        return np.where(fresh, super().act(obs, mask, explore), actions)

    def env_row_state(self) -> dict[str, np.ndarray | None]:
        """A' of every env, drawn but not yet played, and which envs draw afresh instead."""
        return {"next_actions": self._next_actions, "fresh": self._fresh}

    def load_env_row_state(self, rows: dict[str, np.ndarray | None]) -> None:
        actions, fresh = rows.get("next_actions"), rows.get("fresh")
        self._next_actions = None if actions is None else np.asarray(actions, dtype=np.int64)
        self._fresh = (
            None
            if actions is None
            else (np.ones(len(actions), bool) if fresh is None else np.asarray(fresh, dtype=bool))
        )
