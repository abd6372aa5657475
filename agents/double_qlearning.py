"""Double Q-learning (van Hasselt; Sutton & Barto, section 6.7).

    with probability 1/2:  Q1(S, A) <- Q1(S, A) + alpha * [R + gamma * Q2(S', argmax_a Q1(S', a)) - Q1(S, A)]
    else:                  Q2(S, A) <- Q2(S, A) + alpha * [R + gamma * Q1(S', argmax_a Q2(S', a)) - Q2(S, A)]

One table picks the next action and the other values it, so the noise that makes a max of
estimates too high (the maximization bias, the book's Example 6.7) no longer feeds the target.
Behaviour is ε-greedy on Q1 + Q2. ``q_table`` is their mean (Q1 + Q2) / 2 — the same greedy
actions as the sum, on the scale of q*, so ``tabular/q_error`` compares like with like.
The argmax ranges over A(S'), ties broken towards the lowest action.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlsuite.core.exploration import masked
from rlsuite.core.transition import Transition
from rlsuite.learning.tabular import TabularAgent, TabularConfig


class DoubleQLearning(TabularAgent[TabularConfig]):
    name = "double_qlearning"
    summary = "tabular Double Q-learning: two tables, one picks the next action and the other values it"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tables1, self.tables2 = self.tables.copy(), self.tables.copy()  # (K, S, A) each
        self._update_first = np.zeros(0, dtype=bool)  # per row of the batch: update Q1 (else Q2)

    def next_values(
        self, members: np.ndarray, next_rows: np.ndarray, allowed: np.ndarray | None, batch: Transition
    ) -> np.ndarray:
        """Q_other(S', argmax over A(S') of Q_this(S', ·)), with a coin flip per row choosing "this"."""
        self._update_first = first = self.rng.random((len(next_rows), 1))[:, 0] < 0.5
        q1, q2 = self.tables1[members, next_rows], self.tables2[members, next_rows]
        this, other = np.where(first[:, None], q1, q2), np.where(first[:, None], q2, q1)
        best = masked(this, allowed).argmax(axis=1)
        return other[np.arange(len(best)), best]

    def update(self, members: np.ndarray, s: np.ndarray, a: np.ndarray, targets: np.ndarray, picked: Any) -> None:
        first = self._update_first[picked]
        alpha = self.config.learning_rate
        for table, rows in ((self.tables1, first), (self.tables2, ~first)):
            m, s_, a_ = members[rows], s[rows], a[rows]
            table[m, s_, a_] += alpha * (targets[rows] - table[m, s_, a_])
        self.tables[members, s, a] = (self.tables1[members, s, a] + self.tables2[members, s, a]) / 2

    def state_parts(self) -> dict[str, Any]:
        return {"q1": self.tables1, "q2": self.tables2, "q_table": self.tables}

    @property
    def q1(self) -> np.ndarray:
        """Q1: (S, A) with one member, (K, S, A) with K (a view)."""
        return self.tables1[0] if self.n_members == 1 else self.tables1

    @property
    def q2(self) -> np.ndarray:
        """Q2: (S, A) with one member, (K, S, A) with K (a view)."""
        return self.tables2[0] if self.n_members == 1 else self.tables2
