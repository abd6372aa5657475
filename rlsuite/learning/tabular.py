"""What the tabular agents share: the Q-table, ε-greedy behaviour, masks, and the error against q*.

A tabular algorithm subclasses :class:`TabularAgent` and writes one method, the values of the
next states its update bootstraps from (Q-learning: the max over A(s')). The update itself,

    Q(S, A) <- Q(S, A) + alpha * [R + gamma * (1 - terminated) * next_value(S') - Q(S, A)],

is here: a terminated transition does not bootstrap, a truncated one bootstraps from its true
final state, and the next values range over A(s') when the env gives ``info["action_mask"]``.
They share :class:`TabularConfig`: learning_rate, gamma, epsilon, the exploration schedule and
initial_q, and what the run logs about the table: ``tabular/q_error`` against q* and the pictures
of :meth:`TabularAgent.logged_images` (:mod:`rlsuite.media.pictures`).
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
from rlsuite.core.exploration import as_bool, epsilon_greedy
from rlsuite.core.schedules import linear_schedule
from rlsuite.core.transition import Transition
from rlsuite.learning.agent import Agent, ConfigT
from rlsuite.media.pictures import Layout, layout_of, policy_picture, q_picture, state_values, value_picture


@dataclass
class TabularConfig:
    learning_rate: float = hp(0.1, low=0.0, high=1.0, low_open=True, doc="step size alpha")
    gamma: float = hp(0.99, low=0.0, high=1.0, doc="discount")
    epsilon: float = hp(0.1, low=0.0, high=1.0, doc="fixed exploration rate (when exploration_fraction is 0)")
    exploration_fraction: float = hp(
        0.0, low=0.0, high=1.0, doc="fraction of training over which epsilon decays; 0 = fixed epsilon"
    )
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
    """Q-tables (members × states × actions) with ε-greedy behaviour; subclasses give :meth:`next_values`.

    Every array has the member axis first, and a batch of K × n rows (n envs per member, member by
    member) is one numpy operation per step for all K members: a thousand seeds cost about what
    a handful do. ``q_table`` is (S, A) with one member and (K, S, A) with several.
    """

    spaces_doc = "obs: Discrete or Tuple of Discrete; actions: Discrete"

    @classmethod
    def supports(cls, observation_space: gym.Space, action_space: gym.Space) -> str | None:
        if discrete_dims(observation_space) is None:
            shown = (
                f"a Box of shape {observation_space.shape}"
                if isinstance(observation_space, spaces.Box)
                else observation_space
            )
            return f"tabular {cls.name} needs Discrete observations, not {shown}"
        if not isinstance(action_space, spaces.Discrete):
            return f"tabular {cls.name} needs Discrete actions, not {action_space}"
        return None

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        config: ConfigT | None = None,
        seed: int = 0,
        **kw: Any,
    ) -> None:
        super().__init__(observation_space, action_space, config, seed, **kw)
        self._dims = discrete_dims(observation_space)
        spaces_ = observation_space.spaces if isinstance(observation_space, spaces.Tuple) else (observation_space,)
        self._starts = np.array([int(s.start) for s in spaces_])
        self.n_actions = int(action_space.n)
        n_states = int(np.prod(self._dims))
        self.tables = np.full((self.n_members, n_states, self.n_actions), self.config.initial_q, dtype=np.float64)
        self._member_rows: dict[int, np.ndarray] = {}
        self._exact: tuple[np.ndarray, np.ndarray] | None = None  # q* and A(s), when the env has P
        self._terminal: np.ndarray | None = None  # the terminal states, when the env has P
        self._layout = Layout(n_states, self.n_actions)  # names and map for the pictures (begin reads them off the env)
        self._star_due = np.zeros(
            self.n_members, bool
        )  # the exact solution's picture: once per member, at its first log

    @property
    def q_table(self) -> np.ndarray:
        """Q(s, a): (S, A) with one member, (K, S, A) with K (a view: writing to it writes the table)."""
        return self.tables[0] if self.n_members == 1 else self.tables

    @abstractmethod
    def next_values(
        self, members: np.ndarray, next_rows: np.ndarray, allowed: np.ndarray | None, batch: Transition
    ) -> np.ndarray:
        """The value of each next state the update bootstraps from, row by row of the batch:
        ``members`` and ``next_rows`` index the tables, ``allowed`` (rows × actions, or None for all)
        is A(s'). Rows where the transition terminated are ignored."""

    # ----- acting -------------------------------------------------------------------------
    def rows(self, obs: Any) -> np.ndarray:
        """Observations (batched) → row indices of the Q-table."""
        if len(self._dims) == 1:
            rows = np.asarray(obs).reshape(-1)
            return rows - self._starts[0] if self._starts[0] else rows
        columns = [np.asarray(o, dtype=np.int64).reshape(-1) - s for o, s in zip(obs, self._starts)]
        return np.ravel_multi_index(columns, self._dims)

    def members_of(self, n: int) -> np.ndarray:
        """The member of each of ``n`` batch rows (member-major: K blocks of n / K rows)."""
        members = self._member_rows.get(n)
        if members is None:
            members = self._member_rows[n] = np.repeat(np.arange(self.n_members), n // self.n_members)
        return members

    @property
    def exploration_rate(self) -> float:
        c = self.config
        if c.exploration_fraction == 0:
            return c.epsilon
        return linear_schedule(
            c.exploration_initial_eps,
            c.exploration_final_eps,
            c.exploration_fraction,
            self.num_timesteps,
            self.total_steps,
        )

    def act(self, obs: np.ndarray, mask: np.ndarray | None, explore: bool = True) -> np.ndarray:
        rows = self.rows(obs)
        members = self.members_of(len(rows))
        epsilon = self.exploration_rate if explore else 0.0
        # ties among equal values are broken at random while exploring (an all-zero table has no favourite)
        return epsilon_greedy(
            lambda: self.tables[members, rows], self.n_actions, len(rows), epsilon, self.rng, mask, random_ties=explore
        )

    # ----- learning -----------------------------------------------------------------------
    def observe(self, batch: Transition) -> None:
        n = len(batch.reward)
        members, rows, next_rows = self.members_of(n), self.rows(batch.obs), self.rows(batch.next_obs)
        allowed = None if batch.next_mask is None else as_bool(batch.next_mask)
        values = self.next_values(members, next_rows, allowed, batch)
        bootstrap = np.where(batch.terminated, 0.0, values)  # a terminal state's value (maybe -inf) is not used
        targets = np.asarray(batch.reward, dtype=np.float64) + self.config.gamma * bootstrap
        actions = np.asarray(batch.action, dtype=np.int64)
        per_member = n // self.n_members
        for j in range(per_member):  # env by env, in case two envs of a member share (s, a)
            picked: Any = slice(j, None, per_member) if per_member > 1 else slice(None)
            self.update(members[picked], rows[picked], actions[picked], targets[picked], picked)
        self.num_timesteps += per_member
        return None

    def update(self, members: np.ndarray, s: np.ndarray, a: np.ndarray, targets: np.ndarray, picked: Any) -> None:
        """Q(S, A) one step towards ``targets`` for these rows of the batch (no two the same (member, S, A);
        ``picked`` selects them from the batch, for subclasses that keep per-row choices)."""
        q = self.tables
        current = q[members, s, a]
        q[members, s, a] = current + self.config.learning_rate * (targets - current)

    # ----- diagnostics against the exact solution -------------------------------------------
    def begin(self, total_steps: int, env: gym.Env | None = None, step: int | None = None) -> None:
        super().begin(total_steps, env, step)
        self._exact, self._terminal = None, None
        self._star_due[:] = False
        self._layout = layout_of(env, *self.tables.shape[1:])
        if env is None or getattr(env.unwrapped, "P", None) is None or self.config.gamma >= 1:
            return
        from rlsuite.core.solver import tabular_mdp, value_iteration

        try:
            mdp = tabular_mdp(env)
        except RLSuiteError:
            return
        if mdp.reward.shape == self.tables.shape[1:]:
            self._exact = value_iteration(mdp, self.config.gamma)[0], mdp.allowed
            self._terminal = getattr(mdp, "terminal", None)
            self._star_due[:] = True

    def q_error(self) -> np.ndarray | None:
        """max |Q − q*| over the actions in A(s), one per member, when the env's exact solution is known."""
        if self._exact is None:
            return None
        q_star, allowed = self._exact
        return np.abs(self.tables - q_star)[:, allowed].max(axis=1)

    def logged_scalars(self) -> dict[str, Any]:
        error = self.q_error()
        return {"charts/epsilon": self.exploration_rate, **({} if error is None else {"tabular/q_error": error})}

    def summary_metrics(self) -> dict[str, Any]:
        error = self.q_error()
        return {} if error is None else {"q_error": error}

    def logged_images(self, member: int = 0) -> dict[str, np.ndarray]:
        """``tabular/q_values`` (the Q heatmap); on a grid env ``tabular/value`` and ``tabular/policy``
        (V and the greedy arrows on the map); once, where the env has ``P``, the exact solution beside
        them: ``tabular/value_star`` on a grid env, else ``tabular/q_star``."""
        layout, allowed, table = self._layout, None if self._exact is None else self._exact[1], self.tables[member]
        images = {"tabular/q_values": q_picture(table, layout, allowed)}
        if layout.grid is not None:
            images["tabular/value"] = value_picture(state_values(table, allowed), layout)
            images["tabular/policy"] = policy_picture(table, layout, allowed, self._terminal)
        if self._star_due[member] and self._exact is not None:
            self._star_due[member] = False
            q_star = self._exact[0]
            if layout.grid is not None:
                images["tabular/value_star"] = value_picture(state_values(q_star, allowed), layout, "V*(s), exact")
            else:
                images["tabular/q_star"] = q_picture(q_star, layout, allowed, "q*(s, a), exact")
        return images

    def state_parts(self) -> dict[str, Any]:
        return {"q_table": self.tables}
