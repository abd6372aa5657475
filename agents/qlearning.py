"""Tabular Q-learning (Watkins), eq. (1.15) of the RL chapter.

    Q(S, A) <- Q(S, A) + alpha * [R + gamma * max_a Q(S', a) - Q(S, A)]

ε-greedy behaviour with random tie-breaking among equal Q-values; the max and the action
choice range over A(s) when the env gives ``info["action_mask"]``. A terminated transition
does not bootstrap; a truncated one bootstraps from its true final state. The table, the
behaviour and the update are :class:`~rlsuite.learning.tabular.TabularAgent`'s; what makes it
Q-learning is the max below.
"""

from __future__ import annotations

import numpy as np

from rlsuite.core.exploration import masked
from rlsuite.core.transition import Transition
from rlsuite.learning.tabular import TabularAgent, TabularConfig


class QLearning(TabularAgent[TabularConfig]):
    name = "qlearning"
    summary = "tabular Q-learning with ε-greedy exploration"

    def next_values(
        self, members: np.ndarray, next_rows: np.ndarray, allowed: np.ndarray | None, batch: Transition
    ) -> np.ndarray:
        """max over A(S') of Q(S', a): the greedy policy's value, whatever the behaviour does."""
        return masked(self.tables[members, next_rows], allowed).max(axis=1)
