"""The gradient bandit algorithm (Sutton & Barto, section 2.8, eqs. 2.11–2.12).

    pi(a) = exp H(a) / sum_b exp H(b)                            (soft-max over the preferences)
    H(A) <- H(A) + alpha * (R - Rbar) * (1 - pi(A))
    H(a) <- H(a) - alpha * (R - Rbar) * pi(a)          for a != A

Rbar, the baseline, is the average of the rewards before this one (Rbar_1 = R_1), per state;
``baseline=False`` fixes it at 0, Figure 2.5's other pair of curves. The preferences sit in the
table of :class:`~rlsuite.learning.bandit.BanditAgent` (all 0 at the start: every arm equally
likely); the greedy arm, when not exploring, is the most preferred.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsuite.core.config import hp
from rlsuite.core.exploration import masked
from rlsuite.learning.bandit import BanditAgent


@dataclass
class GradientBanditConfig:
    learning_rate: float = hp(0.1, low=0.0, low_open=True, doc="step size alpha of the preference update")
    baseline: bool = hp(True, doc="subtract the average reward so far (Rbar) from each reward")


class GradientBandit(BanditAgent[GradientBanditConfig]):
    name = "bandit_gradient"
    summary = "gradient bandit: soft-max over preferences, stochastic gradient ascent on the expected reward"
    table_title = "H(s, a)"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.average_reward = np.zeros(self.tables.shape[:2])  # Rbar per member and state

    def policy(self, h: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
        """pi over the allowed arms: the soft-max of the preferences ``h`` (rows × arms)."""
        h = masked(h, allowed)
        e = np.exp(h - h.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def choose(self, members: np.ndarray, rows: np.ndarray, allowed: np.ndarray | None, explore: bool) -> np.ndarray:
        """An arm drawn from pi; the most preferred when not exploring."""
        h = self.tables[members, rows]
        if not explore:
            return self.best_arms(h, allowed, None)
        cumulative = self.policy(h, allowed).cumsum(axis=1)
        u = self.rng.random((len(rows), 1))
        return np.minimum((cumulative <= u * cumulative[:, -1:]).sum(axis=1), self.n_actions - 1)

    def learn_from(
        self, members: np.ndarray, s: np.ndarray, a: np.ndarray, r: np.ndarray, allowed: np.ndarray | None
    ) -> None:
        """H ← H + α (R − Rbar)(1{a = A} − pi), then Rbar takes R into its average."""
        pulls = self.counts[members, s].sum(axis=1)
        if self.config.baseline:
            seen = self.average_reward[members, s]
            baseline = np.where(pulls == 0, r, seen)
            self.average_reward[members, s] = baseline + (r - baseline) / (pulls + 1)
        else:
            baseline = 0.0
        pi = self.policy(self.tables[members, s], allowed)
        pi[np.arange(len(a)), a] -= 1.0
        self.tables[members, s] -= self.config.learning_rate * (r - baseline)[:, None] * pi
        self.counts[members, s, a] += 1

    def state_parts(self) -> dict[str, Any]:
        return {**super().state_parts(), "average_reward": self.average_reward}
