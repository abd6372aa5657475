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

from rlsuite.core.transition import Transition
from rlsuite.training.tabular import TabularAgent, TabularConfig


class DoubleQLearning(TabularAgent[TabularConfig]):
    name = "double_qlearning"
    summary = "tabular Double Q-learning: two tables, one picks the next action and the other values it"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.q1, self.q2 = self.q_table.copy(), self.q_table.copy()
        self._update_first = np.zeros(0, dtype=bool)  # per row of the batch: update Q1 (else Q2)

    def next_values(self, next_rows: list[int], allowed: list[list[int]], batch: Transition) -> list[float]:
        """Q_other(S', argmax over A(S') of Q_this(S', ·)), with a coin flip per row choosing "this"."""
        self._update_first = self.rng.random(len(next_rows)) < 0.5
        values = []
        for s, actions, first in zip(next_rows, allowed, self._update_first.tolist()):
            this, other = (self.q1, self.q2) if first else (self.q2, self.q1)
            q = this[s].tolist()
            best = max(actions, key=lambda a: q[a])
            values.append(float(other[s, best]))
        return values

    def update(self, i: int, s: int, a: int, target: float) -> None:
        table = self.q1 if self._update_first[i] else self.q2
        table[s, a] += self.config.learning_rate * (target - table[s, a])
        self.q_table[s, a] = (self.q1[s, a] + self.q2[s, a]) / 2

    def state_parts(self) -> dict[str, Any]:
        return {"q1": self.q1, "q2": self.q2, "q_table": self.q_table}
