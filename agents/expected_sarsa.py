"""Expected Sarsa (Sutton & Barto, section 6.6).

    Q(S, A) <- Q(S, A) + alpha * [R + gamma * sum_a pi(a | S') Q(S', a) - Q(S, A)]

pi is the agent's own ε-greedy policy over A(S'): probability 1 − ε spread over the greedy
actions and ε / |A(S')| on every allowed action. The expectation removes the variance that
Sarsa's sampled next action adds, so a large step size stays stable (the book's Figure 6.3).
The table, the behaviour and the update are :class:`~rlsuite.learning.tabular.TabularAgent`'s.
"""

from __future__ import annotations

import numpy as np

from rlsuite.core.exploration import masked
from rlsuite.core.transition import Transition
from rlsuite.learning.tabular import TabularAgent, TabularConfig


class ExpectedSarsa(TabularAgent[TabularConfig]):
    name = "expected_sarsa"
    summary = "tabular Expected Sarsa: the update's expectation under the ε-greedy policy"

    def next_values(
        self, members: np.ndarray, next_rows: np.ndarray, allowed: np.ndarray | None, batch: Transition
    ) -> np.ndarray:
        """E_pi[Q(S', A')] under ε-greedy: (1 − ε) max Q(S', ·) + ε · mean over A(S') of Q(S', ·)."""
        epsilon = self.exploration_rate
        q = self.tables[members, next_rows]
        if allowed is None:
            return (1.0 - epsilon) * q.max(axis=1) + epsilon * q.mean(axis=1)
        count = np.maximum(allowed.sum(axis=1), 1)
        mean = np.where(allowed, q, 0.0).sum(axis=1) / count
        return (1.0 - epsilon) * masked(q, allowed).max(axis=1) + epsilon * mean
