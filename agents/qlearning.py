"""Tabular Q-learning (Watkins), eq. (1.15) of the RL chapter.

    Q(S, A) <- Q(S, A) + alpha * [R + gamma * max_a Q(S', a) - Q(S, A)]

ε-greedy behaviour with random tie-breaking among equal Q-values; the max and the action
choice range over A(s) when the env gives ``info["action_mask"]``. A terminated transition
does not bootstrap; a truncated one bootstraps from its true final state.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlsuite.training.agent import Agent, Transition
from rlsuite.core.config import hp
from rlsuite.core.schedules import linear_schedule


@dataclass
class QLearningConfig:
    learning_rate: float = hp(0.1, low=0.0, high=1.0, low_open=True, doc="step size alpha")
    gamma: float = hp(0.99, low=0.0, high=1.0, doc="discount")
    epsilon: float = hp(0.1, low=0.0, high=1.0, doc="fixed exploration rate (when exploration_fraction is 0)")
    exploration_fraction: float = hp(0.0, low=0.0, high=1.0, doc="fraction of training over which epsilon decays; 0 = fixed epsilon")
    exploration_initial_eps: float = hp(1.0, low=0.0, high=1.0)
    exploration_final_eps: float = hp(0.05, low=0.0, high=1.0)
    initial_q: float = hp(0.0, doc="initial value of every Q(s, a)")


def _discrete_dims(space: gym.Space) -> tuple[int, ...] | None:
    if isinstance(space, spaces.Discrete):
        return (int(space.n),)
    if isinstance(space, spaces.Tuple) and all(isinstance(s, spaces.Discrete) for s in space.spaces):
        return tuple(int(s.n) for s in space.spaces)
    return None


class QLearning(Agent):
    name = "qlearning"
    summary = "tabular Q-learning with ε-greedy exploration"
    spaces_doc = "obs: Discrete or Tuple of Discrete; actions: Discrete"
    Config = QLearningConfig

    @classmethod
    def supports(cls, observation_space: gym.Space, action_space: gym.Space) -> str | None:
        if _discrete_dims(observation_space) is None:
            shown = f"a Box of shape {observation_space.shape}" if isinstance(observation_space, spaces.Box) else observation_space
            return f"tabular Q-learning needs Discrete observations, not {shown}"
        if not isinstance(action_space, spaces.Discrete):
            return f"tabular Q-learning needs Discrete actions, not {action_space}"
        return None

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config=None, seed: int = 0, **kw: Any):
        super().__init__(observation_space, action_space, config, seed, **kw)
        self._dims = _discrete_dims(observation_space)
        spaces_ = observation_space.spaces if isinstance(observation_space, spaces.Tuple) else (observation_space,)
        self._starts = np.array([int(s.start) for s in spaces_])
        self.n_actions = int(action_space.n)
        self._all_actions = list(range(self.n_actions))
        self._start = int(self._starts[0])
        self._allowed_cache: dict[bytes, list[list[int]]] = {}
        self.py_rng = random.Random(self.seed)
        self.q_table = np.full((int(np.prod(self._dims)), self.n_actions), self.config.initial_q, dtype=np.float64)

    def _rows(self, obs: Any) -> list[int]:
        """Observations (batched) → row indices of the Q-table, as Python ints."""
        if len(self._dims) == 1:
            rows = (obs if isinstance(obs, np.ndarray) and obs.ndim == 1 else np.asarray(obs).reshape(-1)).tolist()
            return [r - self._start for r in rows] if self._start else rows
        columns = [np.asarray(o, dtype=np.int64).reshape(-1) - s for o, s in zip(obs, self._starts)]
        return np.ravel_multi_index(columns, self._dims).tolist()

    @property
    def exploration_rate(self) -> float:
        c = self.config
        if c.exploration_fraction == 0:
            return c.epsilon
        return linear_schedule(c.exploration_initial_eps, c.exploration_final_eps, c.exploration_fraction,
                               self.num_timesteps, self.total_steps)

    # Per-row Python rather than numpy: with two or three actions a numpy call costs more than
    # the arithmetic, and the agent would dominate the step time of a toy-text env.
    def _choose(self, row: int, allowed: list[int], epsilon: float, random_ties: bool) -> int:
        if epsilon and self.py_rng.random() < epsilon:
            return self.py_rng.choice(allowed)
        q = self.q_table[row].tolist()
        best = max(q[a] for a in allowed)
        ties = [a for a in allowed if q[a] == best]
        return self.py_rng.choice(ties) if random_ties and len(ties) > 1 else ties[0]

    def _allowed(self, mask: np.ndarray | None, n_rows: int) -> list[list[int]]:
        if mask is None:
            return [self._all_actions] * n_rows
        mask = np.asarray(mask)
        key = mask.tobytes()
        allowed = self._allowed_cache.get(key)  # masks repeat: convert each distinct one once
        if allowed is None:
            allowed = [[a for a, m in enumerate(row) if m] or self._all_actions
                       for row in mask.reshape(n_rows, -1).tolist()]
            if len(self._allowed_cache) < 4096:
                self._allowed_cache[key] = allowed
        return allowed

    def act(self, obs: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        rows = self._rows(obs)
        eps = self.exploration_rate
        allowed = self._allowed(mask, len(rows))
        return np.array([self._choose(r, a, eps, True) for r, a in zip(rows, allowed)])

    def observe(self, batch: Transition) -> None:
        c, q = self.config, self.q_table
        rows, next_rows = self._rows(batch.obs), self._rows(batch.next_obs)
        allowed = self._allowed(batch.next_mask, len(rows))
        for i, (s, s2) in enumerate(zip(rows, next_rows)):  # in order, in case two envs share (s, a)
            target = float(batch.reward[i])
            if not batch.terminated[i]:
                q_next = q[s2].tolist()
                target += c.gamma * max(q_next[a] for a in allowed[i])
            a = int(batch.action[i])
            q[s, a] += c.learning_rate * (target - q[s, a])
        self.num_timesteps += len(rows)
        return None

    def predict(self, obs: Any, deterministic: bool = True, action_mask: np.ndarray | None = None) -> Any:
        single = np.ndim(obs) == 0 or (len(self._dims) > 1 and np.ndim(obs[0]) == 0)
        rows = self._rows(obs)
        eps = 0.0 if deterministic else self.exploration_rate
        actions = [self._choose(r, a, eps, not deterministic) for r, a in zip(rows, self._allowed(action_mask, len(rows)))]
        return actions[0] if single else np.array(actions)

    def logged_scalars(self) -> dict[str, float]:
        return {"charts/epsilon": self.exploration_rate}

    def state_tensors(self) -> dict[str, np.ndarray]:
        return {"q_table": self.q_table}

    def load_state_tensors(self, tensors: dict[str, np.ndarray]) -> None:
        self.q_table[...] = tensors["q_table"]

    def extra_state(self) -> dict[str, Any]:
        version, internal, gauss = self.py_rng.getstate()
        return {**super().extra_state(), "py_rng": [version, list(internal), gauss]}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        super().load_extra_state(state)
        if "py_rng" in state:
            version, internal, gauss = state["py_rng"]
            self.py_rng.setstate((version, tuple(internal), gauss))
