"""What the tabular agents share: the Q-table, ε-greedy behaviour, masks, and the error against q*.

A tabular algorithm subclasses :class:`TabularAgent` and writes one method, the values of the
next states its update bootstraps from (Q-learning: the max over A(s')). The update itself,

    Q(S, A) <- Q(S, A) + alpha * [R + gamma * (1 - terminated) * next_value(S') - Q(S, A)],

is here: a terminated transition does not bootstrap, a truncated one bootstraps from its true
final state, and the next values range over A(s') when the env gives ``info["action_mask"]``.
They share :class:`TabularConfig`: learning_rate, gamma, epsilon, the exploration schedule and
initial_q, and what the run logs about the table: ``tabular/q_error`` against q* and the pictures
of :meth:`TabularAgent.logged_images` (:mod:`rlsuite.training.pictures`).
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlsuite.core.config import hp
from rlsuite.core.errors import RLSuiteError
from rlsuite.core.exploration import epsilon_greedy
from rlsuite.core.schedules import linear_schedule
from rlsuite.core.transition import Transition
from rlsuite.training.agent import Agent, ConfigT
from rlsuite.training.pictures import Layout, layout_of, policy_picture, q_picture, state_values, value_picture


@dataclass
class TabularConfig:
    learning_rate: float = hp(0.1, low=0.0, high=1.0, low_open=True, doc="step size alpha")
    gamma: float = hp(0.99, low=0.0, high=1.0, doc="discount")
    epsilon: float = hp(0.1, low=0.0, high=1.0, doc="fixed exploration rate (when exploration_fraction is 0)")
    exploration_fraction: float = hp(0.0, low=0.0, high=1.0, doc="fraction of training over which epsilon decays; 0 = fixed epsilon")
    exploration_initial_eps: float = hp(1.0, low=0.0, high=1.0)
    exploration_final_eps: float = hp(0.05, low=0.0, high=1.0)
    initial_q: float = hp(0.0, doc="initial value of every Q(s, a)")


def discrete_dims(space: gym.Space) -> tuple[int, ...] | None:
    """The sizes of a Discrete or Tuple-of-Discrete space, else None."""
    if isinstance(space, spaces.Discrete):
        return (int(space.n),)
    if isinstance(space, spaces.Tuple) and all(isinstance(s, spaces.Discrete) for s in space.spaces):
        return tuple(int(s.n) for s in space.spaces)
    return None


class TabularAgent(Agent[ConfigT]):
    """A Q-table (states × actions) with ε-greedy behaviour; subclasses give :meth:`next_value`."""

    spaces_doc = "obs: Discrete or Tuple of Discrete; actions: Discrete"

    @classmethod
    def supports(cls, observation_space: gym.Space, action_space: gym.Space) -> str | None:
        if discrete_dims(observation_space) is None:
            shown = f"a Box of shape {observation_space.shape}" if isinstance(observation_space, spaces.Box) else observation_space
            return f"tabular {cls.name} needs Discrete observations, not {shown}"
        if not isinstance(action_space, spaces.Discrete):
            return f"tabular {cls.name} needs Discrete actions, not {action_space}"
        return None

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: ConfigT | None = None,
                 seed: int = 0, **kw: Any) -> None:
        super().__init__(observation_space, action_space, config, seed, **kw)
        self._dims = discrete_dims(observation_space)
        spaces_ = observation_space.spaces if isinstance(observation_space, spaces.Tuple) else (observation_space,)
        self._starts = np.array([int(s.start) for s in spaces_])
        self.n_actions = int(action_space.n)
        self._all_actions = list(range(self.n_actions))
        self._allowed_cache: dict[bytes, list[list[int]]] = {}
        self.q_table = np.full((int(np.prod(self._dims)), self.n_actions), self.config.initial_q, dtype=np.float64)
        self._exact: tuple[np.ndarray, np.ndarray] | None = None  # q* and A(s), when the env has P
        self._terminal: np.ndarray | None = None  # the terminal states, when the env has P
        self._layout = Layout(*self.q_table.shape)  # names and map for the pictures (begin reads them off the env)
        self._star_due = False  # the exact solution's picture is logged once, at the first log

    @abstractmethod
    def next_values(self, next_rows: list[int], allowed: list[list[int]], batch: Transition) -> list[float]:
        """The value of each next state that the update bootstraps from, given its row of the table
        and A(s') (ignored where the transition terminated)."""

    # ----- acting -------------------------------------------------------------------------
    def rows(self, obs: Any) -> np.ndarray:
        """Observations (batched) → row indices of the Q-table."""
        if len(self._dims) == 1:
            rows = np.asarray(obs).reshape(-1)
            return rows - self._starts[0] if self._starts[0] else rows
        columns = [np.asarray(o, dtype=np.int64).reshape(-1) - s for o, s in zip(obs, self._starts)]
        return np.ravel_multi_index(columns, self._dims)

    @property
    def exploration_rate(self) -> float:
        c = self.config
        if c.exploration_fraction == 0:
            return c.epsilon
        return linear_schedule(c.exploration_initial_eps, c.exploration_final_eps, c.exploration_fraction,
                               self.num_timesteps, self.total_steps)

    def act(self, obs: np.ndarray, mask: np.ndarray | None, explore: bool = True) -> np.ndarray:
        rows = self.rows(obs)
        epsilon = self.exploration_rate if explore else 0.0
        # ties among equal values are broken at random while exploring (an all-zero table has no favourite)
        return epsilon_greedy(lambda: self.q_table[rows], self.n_actions, len(rows), epsilon, self.rng, mask,
                              random_ties=explore)

    # ----- learning -----------------------------------------------------------------------
    # Per-row Python rather than numpy: with two or three actions a numpy call costs more than
    # the arithmetic, and the agent would dominate the step time of a toy-text env.
    def observe(self, batch: Transition) -> None:
        gamma = self.config.gamma
        rows, next_rows = self.rows(batch.obs).tolist(), self.rows(batch.next_obs).tolist()
        values = self.next_values(next_rows, self._allowed(batch.next_mask, len(rows)), batch)
        for i, s in enumerate(rows):  # in order, in case two envs share (s, a)
            target = float(batch.reward[i])
            if not batch.terminated[i]:
                target += gamma * values[i]
            self.update(i, s, int(batch.action[i]), target)
        self.num_timesteps += len(rows)
        return None

    def update(self, i: int, s: int, a: int, target: float) -> None:
        """One step of Q(S, A) towards ``target`` for row ``i`` of the batch."""
        q = self.q_table
        q[s, a] += self.config.learning_rate * (target - q[s, a])

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

    # ----- diagnostics against the exact solution -------------------------------------------
    def begin(self, total_steps: int, env: gym.Env | None = None) -> None:
        super().begin(total_steps, env)
        self._exact, self._terminal, self._star_due = None, None, False
        self._layout = layout_of(env, *self.q_table.shape)
        if env is None or getattr(env.unwrapped, "P", None) is None or self.config.gamma >= 1:
            return
        from rlsuite.core.solver import tabular_mdp, value_iteration

        try:
            mdp = tabular_mdp(env)
        except RLSuiteError:
            return
        if mdp.reward.shape == self.q_table.shape:
            self._exact = value_iteration(mdp, self.config.gamma)[0], mdp.allowed
            self._terminal, self._star_due = getattr(mdp, "terminal", None), True

    def q_error(self) -> float | None:
        """max |Q − q*| over the actions in A(s), when the env's exact solution is known."""
        if self._exact is None:
            return None
        q_star, allowed = self._exact
        return float(np.abs(self.q_table - q_star)[allowed].max())

    def logged_scalars(self) -> dict[str, float]:
        error = self.q_error()
        return {"charts/epsilon": self.exploration_rate, **({} if error is None else {"tabular/q_error": error})}

    def summary_metrics(self) -> dict[str, float]:
        error = self.q_error()
        return {} if error is None else {"q_error": error}

    def logged_images(self) -> dict[str, np.ndarray]:
        """``tabular/q_values`` (the Q heatmap); on a grid env ``tabular/value`` and ``tabular/policy``
        (V and the greedy arrows on the map); once, where the env has ``P``, the exact solution beside
        them: ``tabular/value_star`` on a grid env, else ``tabular/q_star``."""
        layout, allowed = self._layout, None if self._exact is None else self._exact[1]
        images = {"tabular/q_values": q_picture(self.q_table, layout, allowed)}
        if layout.grid is not None:
            images["tabular/value"] = value_picture(state_values(self.q_table, allowed), layout)
            images["tabular/policy"] = policy_picture(self.q_table, layout, allowed, self._terminal)
        if self._star_due and self._exact is not None:
            self._star_due = False
            q_star = self._exact[0]
            if layout.grid is not None:
                images["tabular/value_star"] = value_picture(state_values(q_star, allowed), layout, "V*(s), exact")
            else:
                images["tabular/q_star"] = q_picture(q_star, layout, allowed, "q*(s, a), exact")
        return images

    def state_parts(self) -> dict[str, Any]:
        return {"q_table": self.q_table}
