"""Upper-confidence-bound action selection for bandits (Sutton & Barto, section 2.7, eq. 2.10).

    A_t = argmax_a [ Q_t(a) + c * sqrt(ln t / N_t(a)) ]
    Q(A) <- Q(A) + alpha * [R - Q(A)]     alpha = 1 / N(A) (sample averages) or a constant

An arm never pulled (N(a) = 0) is a maximizing arm, so each is tried once first; ties are broken at
random. t counts the pulls in that state so far, this one included. The table, counts and update
are :class:`~rlsuite.learning.bandit.BanditAgent`'s; what makes it UCB is :meth:`choose`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlsuite.core.config import hp
from rlsuite.learning.bandit import BanditAgent


@dataclass
class UCBBanditConfig:
    c: float = hp(2.0, low=0.0, doc="degree of exploration: the width of the confidence bound")
    learning_rate: float = hp(0.0, low=0.0, high=1.0, doc="constant step size alpha; 0: sample averages, 1 / N(a)")
    initial_q: float = hp(0.0, doc="Q1, every estimate before the first pull")


class UCBBandit(BanditAgent[UCBBanditConfig]):
    name = "bandit_ucb"
    summary = "UCB bandit: the arm of the largest upper confidence bound Q(a) + c sqrt(ln t / N(a))"

    def choose(self, members: np.ndarray, rows: np.ndarray, allowed: np.ndarray | None, explore: bool) -> np.ndarray:
        """The arm of the largest upper bound (an untried arm first); the greedy arm when not exploring."""
        q = self.tables[members, rows]
        if not explore:
            return self.best_arms(q, allowed, None)
        n = self.counts[members, rows]
        t = n.sum(axis=1, keepdims=True) + 1
        with np.errstate(divide="ignore", invalid="ignore"):
            bonus = self.config.c * np.sqrt(np.log(t) / n)  # N(a) = 0: +inf, a maximizing arm
        return self.best_arms(np.where(n == 0, np.inf, q + bonus), allowed, self.rng.random(len(rows)))

    def learn_from(
        self, members: np.ndarray, s: np.ndarray, a: np.ndarray, r: np.ndarray, allowed: np.ndarray | None
    ) -> None:
        """The incremental average of the arm's rewards (or a constant-α step toward R)."""
        self.average_toward(members, s, a, r)
