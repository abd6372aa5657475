"""Tabular Q-learning (Watkins), eq. (1.15) of the RL chapter.

    Q(S, A) <- Q(S, A) + alpha * [R + gamma * max_a Q(S', a) - Q(S, A)]

ε-greedy behaviour with random tie-breaking among equal Q-values; the max and the action
choice range over A(s) when the env gives ``info["action_mask"]``. A terminated transition
does not bootstrap; a truncated one bootstraps from its true final state. The table, the
behaviour and the update loop are :class:`~rlsuite.training.tabular.TabularAgent`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlsuite.core.config import hp
from rlsuite.training.tabular import TabularAgent


@dataclass
class QLearningConfig:
    learning_rate: float = hp(0.1, low=0.0, high=1.0, low_open=True, doc="step size alpha")
    gamma: float = hp(0.99, low=0.0, high=1.0, doc="discount")
    epsilon: float = hp(0.1, low=0.0, high=1.0, doc="fixed exploration rate (when exploration_fraction is 0)")
    exploration_fraction: float = hp(0.0, low=0.0, high=1.0, doc="fraction of training over which epsilon decays; 0 = fixed epsilon")
    exploration_initial_eps: float = hp(1.0, low=0.0, high=1.0)
    exploration_final_eps: float = hp(0.05, low=0.0, high=1.0)
    initial_q: float = hp(0.0, doc="initial value of every Q(s, a)")


class QLearning(TabularAgent[QLearningConfig]):
    name = "qlearning"
    summary = "tabular Q-learning with ε-greedy exploration"

    def next_value(self, q_next: list[float], allowed: list[int]) -> float:
        """max over A(s') of Q(S', a): the greedy policy's value, whatever the behaviour does."""
        return max(q_next[a] for a in allowed)
