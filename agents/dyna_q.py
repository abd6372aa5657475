"""Tabular Dyna-Q and Dyna-Q+ (Sutton & Barto, section 8.2 and 8.3).

Every real step does three things, as the book's box reads:

    (d) direct RL:  Q(S, A) <- Q(S, A) + alpha * [R + gamma * max_a Q(S', a) - Q(S, A)]
    (e) model:      Model(S, A) <- R, S'  (the env is taken to be deterministic)
    (f) planning, n times:  S, A <- a pair the model knows, drawn uniformly
                            R, S' <- Model(S, A)
                            Q(S, A) <- Q(S, A) + alpha * [R + gamma * max_a Q(S', a) - Q(S, A)]

Dyna-Q+ (``kappa`` > 0) plans with the reward R + kappa * sqrt(tau), tau the steps since (S, A) was
last taken for real, so pairs left untried for long look worth a visit again (Figure 8.4's blocked
path, Figure 8.5's shortcut). As in the book's footnote, Dyna-Q+ also lets planning consider the
actions never taken in a state once that state has been visited, modelled as leading back to the
same state with reward 0 (their tau counts from that first visit).

The model remembers whether a transition terminated (no bootstrap then) and A(S') when the env gives
``info["action_mask"]``. Each member has its own model and draws its own planning pairs from its own
stream, one uniform per planning step whatever happens elsewhere. ε-greedy behaviour, the table and
the direct update are :class:`~rlsuite.learning.tabular.TabularAgent`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsuite.core.config import hp
from rlsuite.core.exploration import as_bool, masked
from rlsuite.core.streams import below
from rlsuite.core.transition import Transition
from rlsuite.learning.tabular import TabularAgent, TabularConfig


@dataclass
class DynaQConfig(TabularConfig):
    planning_steps: int = hp(5, low=0, high=100_000, doc="n: planning updates from the model per real step")
    kappa: float = hp(0.0, low=0.0, doc="Dyna-Q+ bonus: planning rewards R + kappa * sqrt(tau); 0 = Dyna-Q")


class DynaQ(TabularAgent[DynaQConfig]):
    name = "dyna_q"
    summary = "tabular Dyna-Q (Dyna-Q+ with kappa > 0): Q-learning plus planning from a learned model"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        k, n_s, n_a = self.tables.shape
        self.model_next = np.zeros((k, n_s, n_a), dtype=np.int64)  # Model(s, a): the next state's row
        self.model_reward = np.zeros((k, n_s, n_a))  # Model(s, a): the reward
        self.model_terminated = np.zeros((k, n_s, n_a), dtype=bool)
        self.in_model = np.zeros((k, n_s, n_a), dtype=bool)
        self.known = np.zeros((k, n_s * n_a), dtype=np.int64)  # s * A + a of the pairs in the model, in order
        self.n_known = np.zeros(k, dtype=np.int64)  # member k knows known[k, :n_known[k]]
        self.last_tried = np.zeros((k, n_s, n_a), dtype=np.int64)  # the step (s, a) was last taken for real
        self.allowed = np.ones((k, n_s, n_a), dtype=bool)  # A(s) as the env's masks showed it

    def next_values(
        self, members: np.ndarray, next_rows: np.ndarray, allowed: np.ndarray | None, batch: Transition
    ) -> np.ndarray:
        """max over A(S') of Q(S', a), as Q-learning."""
        return masked(self.tables[members, next_rows], allowed).max(axis=1)

    def observe(self, batch: Transition) -> None:
        super().observe(batch)  # (d) the direct update; counts the step
        n = len(batch.reward)
        per_member = n // self.n_members
        members, rows, next_rows = self.members_of(n), self.rows(batch.obs), self.rows(batch.next_obs)
        if batch.mask is not None:
            self.allowed[members, rows] = as_bool(batch.mask)
        if batch.next_mask is not None:
            self.allowed[members, next_rows] = as_bool(batch.next_mask)
        actions, rewards = np.asarray(batch.action, dtype=np.int64), np.asarray(batch.reward, dtype=np.float64)
        for j in range(per_member):  # (e) env by env: two envs of a member may share (s, a)
            picked = slice(j, None, per_member)
            m, s, a = members[picked], rows[picked], actions[picked]
            if self.config.kappa > 0:
                self._add_untried(m, s)
            self._add(m, s, a)
            self.model_next[m, s, a], self.model_reward[m, s, a] = next_rows[picked], rewards[picked]
            self.model_terminated[m, s, a] = np.asarray(batch.terminated)[picked]
            self.last_tried[m, s, a] = self.num_timesteps
        if self.config.planning_steps:
            self._plan(self.config.planning_steps * per_member)  # (f)
        return None

    def _add(self, m: np.ndarray, s: np.ndarray, a: np.ndarray) -> None:
        """Put (s, a) in member m's list of known pairs, where it is not yet (one row per member)."""
        new = ~self.in_model[m, s, a]
        if new.any():
            m, s, a = m[new], s[new], a[new]
            self.in_model[m, s, a] = True
            self.known[m, self.n_known[m]] = s * self.n_actions + a
            self.n_known[m] += 1

    def _add_untried(self, m: np.ndarray, s: np.ndarray) -> None:
        """Dyna-Q+: at a member's first visit to s, every action in A(s) joins the model, leading back to s
        with reward 0 (a real transition then overwrites the one taken)."""
        first = ~self.in_model[m, s].any(axis=1)
        m, s = m[first], s[first]
        for a in range(self.n_actions):
            ok = self.allowed[m, s, a]
            mk, sk, ak = m[ok], s[ok], np.full(int(ok.sum()), a)
            self._add(mk, sk, ak)
            self.model_next[mk, sk, ak], self.model_reward[mk, sk, ak] = sk, 0.0
            self.last_tried[mk, sk, ak] = self.num_timesteps

    def _plan(self, n: int) -> None:
        """``n`` planning updates per member, each from a pair drawn uniformly from those its model knows.
        The model does not change while planning, so every update's pair, reward and next state are looked
        up at once; the Q-values then go update by update (flat indices into the K·S·A table)."""
        k, n_s, n_a = self.tables.shape
        members = np.flatnonzero(self.n_known)
        uniforms = self.rng.random((k, n))[members].T  # (n, M): every member draws, so its stream advances alike
        base = members * (n_s * n_a)
        flat = base + self.known.reshape(-1)[base + below(uniforms, self.n_known[members])]  # (S, A) at S * A + A
        reward = self.model_reward.reshape(-1)[flat]
        if self.config.kappa > 0:  # Dyna-Q+: R + kappa * sqrt(tau)
            reward += self.config.kappa * np.sqrt(self.num_timesteps - self.last_tried.reshape(-1)[flat])
        next_rows = members * n_s + self.model_next.reshape(-1)[flat]
        discount = self.config.gamma * ~self.model_terminated.reshape(-1)[flat]  # 0 where the episode ended
        allowed = None if self.allowed.all() else self.allowed.reshape(k * n_s, n_a)
        q, q_rows, alpha = self.tables.reshape(-1), self.tables.reshape(k * n_s, n_a), self.config.learning_rate
        for i in range(n):
            next_q = q_rows[next_rows[i]] if allowed is None else masked(q_rows[next_rows[i]], allowed[next_rows[i]])
            target = reward[i] + discount[i] * np.maximum.reduce(next_q, axis=1)  # A(S') is never empty: finite
            q[flat[i]] += alpha * (target - q[flat[i]])

    def logged_scalars(self) -> dict[str, Any]:
        return {**super().logged_scalars(), "dyna/model_pairs": self.n_known.astype(np.float64)}

    def state_parts(self) -> dict[str, Any]:
        return {
            "q_table": self.tables,
            "model_next": self.model_next,
            "model_reward": self.model_reward,
            "model_terminated": self.model_terminated,
            "in_model": self.in_model,
            "known": self.known,
            "n_known": self.n_known,
            "last_tried": self.last_tried,
            "allowed": self.allowed,
        }
