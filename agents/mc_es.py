"""Monte Carlo ES: Monte Carlo control with exploring starts (Sutton & Barto, section 5.3).

    first action of an episode: uniformly at random (the exploring start); then greedy in Q
    at the episode's end, for each pair (S_t, A_t) at its first visit, t = T-1 … 0:
        G <- gamma * G + R_{t+1}
        N(S_t, A_t) <- N(S_t, A_t) + 1
        Q(S_t, A_t) <- Q(S_t, A_t) + (G - Q(S_t, A_t)) / N(S_t, A_t)      (the mean of its returns)

The policy is greedy in Q, so improving it is acting on the new Q. The loop's env chooses the start
states, so the exploring start here is the first action only: the book's Blackjack figure (5.2) also
draws the start state uniformly, which :func:`rlsuite.learning.montecarlo.monte_carlo_es` does. With
``epsilon`` > 0 the actions after the first are ε-greedy (on-policy first-visit MC control, section
5.4); with ``sample_average`` off, Q moves by a constant step, Q += α (G − Q). An episode that the
time limit truncates is learned from as it stands: Monte Carlo has no value to bootstrap from.

Each env keeps its episode so far (states, actions, rewards) until the episode ends; those rows go
into checkpoints, so a resumed run finishes its episodes as it would have. The table and the
greedy choice are :class:`~rlsuite.learning.tabular.TabularAgent`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsuite.core.config import hp
from rlsuite.core.exploration import epsilon_greedy
from rlsuite.core.transition import Transition
from rlsuite.learning.tabular import TabularAgent, TabularConfig

EPISODE_ROWS = ("episode_states", "episode_actions", "episode_rewards")


@dataclass
class MonteCarloESConfig(TabularConfig):
    learning_rate: float = hp(
        0.1, low=0.0, high=1.0, low_open=True, doc="step size alpha, used only with sample_average off"
    )
    gamma: float = hp(1.0, low=0.0, high=1.0, doc="discount")
    epsilon: float = hp(0.0, low=0.0, high=1.0, doc="after the random first action: 0 greedy (MC ES), > 0 ε-greedy")
    sample_average: bool = hp(True, doc="Q(s, a) is the mean of its returns, as the book's; False: constant alpha")


class MonteCarloES(TabularAgent[MonteCarloESConfig]):
    name = "mc_es"
    summary = "tabular Monte Carlo ES: first-visit returns averaged, a random first action per episode"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counts = np.zeros_like(self.tables)  # N(s, a): the returns averaged into Q(s, a)
        self._starting: np.ndarray | None = None  # per env: its next action is an episode's first
        self._episode: dict[str, np.ndarray] | None = None  # per env: the episode so far, padded

    def next_values(
        self, members: np.ndarray, next_rows: np.ndarray, allowed: np.ndarray | None, batch: Transition
    ) -> np.ndarray:
        """Not used: Monte Carlo learns from returns, never from a next state's value."""
        return np.zeros(len(next_rows))

    def act(self, obs: np.ndarray, mask: np.ndarray | None, explore: bool = True) -> np.ndarray:
        actions = super().act(obs, mask, explore)
        if not explore:
            return actions
        n = len(actions)
        if self._starting is None or len(self._starting) != n:
            self._starting = np.ones(n, dtype=bool)
        # drawn every step, used where an episode starts: each member's stream advances alike
        first = epsilon_greedy(lambda: None, self.n_actions, n, 1.0, self.rng, mask)
        return np.where(self._starting, first, actions)

    def observe(self, batch: Transition) -> None:
        n = len(batch.reward)
        if self._episode is None or len(self._episode["episode_lengths"]) != n:
            self._episode = self._empty_episodes(n, 16)
        ep = self._episode
        at = ep["episode_lengths"]
        if at.max() >= ep["episode_states"].shape[1]:
            self._widen(2 * ep["episode_states"].shape[1])
        everyone = np.arange(n)
        ep["episode_states"][everyone, at] = self.rows(batch.obs)
        ep["episode_actions"][everyone, at] = batch.action
        ep["episode_rewards"][everyone, at] = batch.reward
        at += 1
        ended = np.logical_or(batch.terminated, batch.truncated)
        members = self.members_of(n)
        for i in np.flatnonzero(ended):
            self._learn_episode(int(members[i]), i)
        at[ended] = 0
        self._starting = ended.copy()
        self.num_timesteps += n // self.n_members
        return None

    def _learn_episode(self, member: int, i: int) -> None:
        """Env i's finished episode: Q(s, a) towards the return after each pair's first visit."""
        length = int(self._episode["episode_lengths"][i])
        states = self._episode["episode_states"][i, :length]
        actions = self._episode["episode_actions"][i, :length]
        rewards = self._episode["episode_rewards"][i, :length]
        returns, g = np.empty(length), 0.0
        for t in range(length - 1, -1, -1):
            g = self.config.gamma * g + rewards[t]
            returns[t] = g
        _, first = np.unique(states * self.n_actions + actions, return_index=True)
        s, a = states[first], actions[first]
        self.counts[member, s, a] += 1
        step = 1.0 / self.counts[member, s, a] if self.config.sample_average else self.config.learning_rate
        q = self.tables[member]
        q[s, a] += step * (returns[first] - q[s, a])

    def _empty_episodes(self, n: int, width: int) -> dict[str, np.ndarray]:
        return {
            "episode_states": np.zeros((n, width), dtype=np.int64),
            "episode_actions": np.zeros((n, width), dtype=np.int64),
            "episode_rewards": np.zeros((n, width)),
            "episode_lengths": np.zeros(n, dtype=np.int64),
        }

    def _widen(self, width: int) -> None:
        """Room for episodes of ``width`` steps in every env's row."""
        for name in EPISODE_ROWS:
            old = self._episode[name]
            if old.shape[1] < width:
                self._episode[name] = np.zeros((len(old), width), dtype=old.dtype)
                self._episode[name][:, : old.shape[1]] = old

    # ----- checkpoints: the episodes under way are per-env rows ---------------------------------------
    def state_parts(self) -> dict[str, Any]:
        return {"q_table": self.tables, "counts": self.counts}

    def env_row_state(self) -> dict[str, np.ndarray | None]:
        rows = dict(self._episode) if self._episode is not None else dict.fromkeys((*EPISODE_ROWS, "episode_lengths"))
        return {**rows, "starting": self._starting}

    def load_env_row_state(self, rows: dict[str, np.ndarray | None]) -> None:
        starting = rows.get("starting")
        self._starting = None if starting is None else np.asarray(starting, dtype=bool)
        if any(rows.get(name) is None for name in (*EPISODE_ROWS, "episode_lengths")):
            self._episode = None
            return
        dtypes = {"episode_rewards": np.float64}
        self._episode = {
            name: np.asarray(rows[name], dtype=dtypes.get(name, np.int64))
            for name in (*EPISODE_ROWS, "episode_lengths")
        }

    def load_member_extra_state(self, k: int, state: dict[str, Any]) -> None:
        """Member k's rows in, its episodes padded to the width of the others' (or theirs widened)."""
        saved = state.get("episode_states")
        if saved is not None and self._episode is not None:
            width = max(self._episode["episode_states"].shape[1], len(saved[0]) if saved else 0)
            self._widen(width)
            state = dict(state)
            for name in EPISODE_ROWS:
                state[name] = [list(row) + [0] * (width - len(row)) for row in state[name]]
        super().load_member_extra_state(k, state)
