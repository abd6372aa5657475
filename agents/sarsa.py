"""Sarsa: on-policy TD control (Sutton & Barto, section 6.4).

    Q(S, A) <- Q(S, A) + alpha * [R + gamma * Q(S', A') - Q(S, A)]

A' is the action the agent takes next in S', drawn ε-greedily from Q when S' arrives and then
played by the next ``act``, so the update learns the value of the ε-greedy policy it follows
(on CliffWalking: the safe path away from the edge, where Q-learning takes the edge). When the
episode ended in S' (terminated: no bootstrap; truncated: A' is drawn for the bootstrap but not
played), the next ``act`` draws afresh for the new episode. The table, the behaviour and the
update are :class:`~rlsuite.training.tabular.TabularAgent`'s.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlsuite.core.exploration import epsilon_greedy
from rlsuite.core.transition import Transition
from rlsuite.training.tabular import TabularAgent, TabularConfig


class Sarsa(TabularAgent[TabularConfig]):
    name = "sarsa"
    summary = "tabular Sarsa: on-policy TD control, bootstrapping from the next action taken"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._next_actions: np.ndarray | None = None  # A' per env, played by the next act()
        self._fresh: np.ndarray | None = None  # envs whose episode ended: their next act() draws anew

    def next_values(self, members: np.ndarray, next_rows: np.ndarray, allowed: np.ndarray | None,
                    batch: Transition) -> np.ndarray:
        """Q(S', A') for A' drawn now from the ε-greedy policy in S'."""
        q = self.tables[members, next_rows]
        actions = epsilon_greedy(lambda: q, self.n_actions, len(next_rows), self.exploration_rate, self.rng,
                                 batch.next_mask, random_ties=True)
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

    def extra_state(self) -> dict[str, Any]:
        pending = None if self._next_actions is None else [self._next_actions.tolist(), self._fresh.tolist()]
        return {**super().extra_state(), "next_actions": pending}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        super().load_extra_state(state)
        pending = state.get("next_actions")
        self._next_actions = None if pending is None else np.array(pending[0], dtype=np.int64)
        self._fresh = None if pending is None else np.array(pending[1], dtype=bool)

    def member_extra_state(self, k: int) -> dict[str, Any]:
        state = super().member_extra_state(k)
        if self._next_actions is not None:
            rows = slice(k * len(self._fresh) // self.n_members, (k + 1) * len(self._fresh) // self.n_members)
            state["next_actions"] = [self._next_actions[rows].tolist(), self._fresh[rows].tolist()]
        return state

    def load_member_extra_state(self, k: int, state: dict[str, Any]) -> None:
        super().load_member_extra_state(k, state)
        pending = state.get("next_actions")
        if pending is None:
            return
        n = len(pending[0])
        if self._next_actions is None:  # the other members' pending actions come with their own checkpoints
            self._next_actions = np.zeros(n * self.n_members, dtype=np.int64)
            self._fresh = np.ones(n * self.n_members, dtype=bool)
        self._next_actions[k * n:(k + 1) * n] = pending[0]
        self._fresh[k * n:(k + 1) * n] = pending[1]
