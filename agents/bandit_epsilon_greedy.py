"""ε-greedy action-value methods for bandits (Sutton & Barto, sections 2.2–2.6).

    A = argmax_a Q(a)  with probability 1 − ε (ties broken at random), else a random arm
    Q(A) <- Q(A) + alpha * [R - Q(A)]     alpha = 1 / N(A) (sample averages) or a constant

``learning_rate=0`` (the default) is the sample average of each arm's rewards, eq. (2.3); a constant
step size, eq. (2.5), weights recent rewards more and tracks a non-stationary problem. ``initial_q``
is Q1: 5 with ε = 0 is Figure 2.3's optimistic greedy method. The table, counts and update are
:class:`~rlsuite.learning.bandit.BanditAgent`'s; what makes it ε-greedy is :meth:`choose`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlsuite.core.config import hp
from rlsuite.core.exploration import masked
from rlsuite.learning.bandit import BanditAgent, one_of


@dataclass
class EpsilonGreedyBanditConfig:
    epsilon: float = hp(0.1, low=0.0, high=1.0, doc="probability of a random arm")
    learning_rate: float = hp(0.0, low=0.0, high=1.0, doc="constant step size alpha; 0: sample averages, 1 / N(a)")
    initial_q: float = hp(0.0, doc="Q1, every estimate before the first pull (optimistic when high)")


class EpsilonGreedyBandit(BanditAgent[EpsilonGreedyBanditConfig]):
    name = "bandit_epsilon_greedy"
    summary = "ε-greedy bandit: sample-average or constant-step action values, optional optimistic Q1"

    def choose(self, members: np.ndarray, rows: np.ndarray, allowed: np.ndarray | None, explore: bool) -> np.ndarray:
        """With probability ε a uniformly random allowed arm, else a greedy one (a random one among ties)."""
        q = self.tables[members, rows]
        if not explore:
            return self.best_arms(q, allowed, None)
        u = self.rng.random((len(rows), 2))  # the explore decision, and the choice among the candidates
        q = masked(q, allowed)
        greedy = q == q.max(axis=1, keepdims=True)
        anything = np.ones_like(greedy) if allowed is None else allowed
        return one_of(np.where((u[:, 0] < self.config.epsilon)[:, None], anything, greedy), u[:, 1])

    def learn_from(
        self, members: np.ndarray, s: np.ndarray, a: np.ndarray, r: np.ndarray, allowed: np.ndarray | None
    ) -> None:
        """The incremental average of the arm's rewards (or a constant-α step toward R)."""
        self.average_toward(members, s, a, r)
