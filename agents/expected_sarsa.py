"""Expected Sarsa (Sutton & Barto, section 6.6).

    Q(S, A) <- Q(S, A) + alpha * [R + gamma * sum_a pi(a | S') Q(S', a) - Q(S, A)]

pi is the agent's own ε-greedy policy over A(S'): probability 1 − ε spread over the greedy
actions and ε / |A(S')| on every allowed action. The expectation removes the variance that
Sarsa's sampled next action adds, so a large step size stays stable (the book's Figure 6.3).
The table, the behaviour and the update are :class:`~rlsuite.training.tabular.TabularAgent`'s.
"""

from __future__ import annotations

from rlsuite.core.transition import Transition
from rlsuite.training.tabular import TabularAgent, TabularConfig


class ExpectedSarsa(TabularAgent[TabularConfig]):
    name = "expected_sarsa"
    summary = "tabular Expected Sarsa: the update's expectation under the ε-greedy policy"

    def next_values(self, next_rows: list[int], allowed: list[list[int]], batch: Transition) -> list[float]:
        """E_pi[Q(S', A')] under ε-greedy: (1 − ε) max Q(S', ·) + ε · mean over A(S') of Q(S', ·)."""
        epsilon = self.exploration_rate
        values = []
        for s, actions in zip(next_rows, allowed):
            q = [self.q_table[s, a] for a in actions]
            values.append((1.0 - epsilon) * max(q) + epsilon * sum(q) / len(q))
        return values
