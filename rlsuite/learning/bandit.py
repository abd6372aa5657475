"""What the bandit agents of Sutton & Barto's chapter 2 share: a table over the arms and the pull counts.

A bandit method learns from the reward of each pull alone; it never bootstraps from a next state.
On a one-state env (``rlsuite/Bandit-v0``) it is the book's k-armed bandit; on any env with
Discrete observations each state is a bandit of its own (associative search, section 2.9).

:class:`BanditAgent` holds, per member, state and arm, the table the method acts from (action-value
estimates Q, or the gradient bandit's preferences H) and N, how often each arm was pulled. Rows of a
batch are member-major (K blocks of n envs), as for :class:`~rlsuite.learning.tabular.TabularAgent`,
so a thousand runs of the testbed are one numpy operation per step. Subclasses write :meth:`choose`
(the action rule) and :meth:`learn_from` (the update); :meth:`average_toward` is the update of the
action-value methods, eq. (2.3)/(2.5).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlsuite.core.exploration import as_bool, masked
from rlsuite.core.transition import Transition
from rlsuite.learning.agent import Agent, ConfigT
from rlsuite.media.pictures import Layout, layout_of, q_picture


class BanditAgent(Agent[ConfigT]):
    """Members × states × arms tables (``tables``: Q or H; ``counts``: N) and the hooks the loop calls."""

    spaces_doc = "obs: Discrete (a bandit per state; one state: the k-armed bandit); actions: Discrete"
    table_title = "Q(s, a)"  # the name of ``tables`` in TensorBoard's picture

    @classmethod
    def supports(cls, observation_space: gym.Space, action_space: gym.Space) -> str | None:
        if not isinstance(observation_space, spaces.Discrete):
            return f"bandit {cls.name} needs Discrete observations (one bandit per state), not {observation_space}"
        if not isinstance(action_space, spaces.Discrete):
            return f"bandit {cls.name} needs Discrete actions (the arms), not {action_space}"
        return None

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, config: Any = None, **kw: Any) -> None:
        super().__init__(observation_space, action_space, config, **kw)
        self._start = int(observation_space.start)
        self.n_actions = int(action_space.n)
        shape = (self.n_members, int(observation_space.n), self.n_actions)
        self.tables = np.full(shape, self.initial_value(), dtype=np.float64)
        self.counts = np.zeros(shape, dtype=np.int64)
        self._member_rows: dict[int, np.ndarray] = {}
        self._layout = Layout(shape[1], shape[2])

    def initial_value(self) -> float:
        """Every entry of ``tables`` at the start: Q1 (``initial_q``) for the action-value methods."""
        return float(getattr(self.config, "initial_q", 0.0))

    @property
    def q_table(self) -> np.ndarray:
        """The table: (S, A) with one member, (K, S, A) with K (a view)."""
        return self.tables[0] if self.n_members == 1 else self.tables

    def rows(self, obs: Any) -> np.ndarray:
        """Observations (batched) → state indices of the tables."""
        return np.asarray(obs, dtype=np.int64).reshape(-1) - self._start

    def members_of(self, n: int) -> np.ndarray:
        """The member of each of ``n`` batch rows (member-major: K blocks of n / K rows)."""
        members = self._member_rows.get(n)
        if members is None:
            members = self._member_rows[n] = np.repeat(np.arange(self.n_members), n // self.n_members)
        return members

    # ----- acting -------------------------------------------------------------------------------
    def act(self, obs: np.ndarray, mask: np.ndarray | None, explore: bool = True) -> np.ndarray:
        rows = self.rows(obs)
        allowed = None if mask is None else as_bool(np.asarray(mask).reshape(len(rows), -1))
        return self.choose(self.members_of(len(rows)), rows, allowed, explore)

    @abstractmethod
    def choose(self, members: np.ndarray, rows: np.ndarray, allowed: np.ndarray | None, explore: bool) -> np.ndarray:
        """One arm per batch row: the method's behaviour while ``explore``, else its greedy arm.
        ``allowed`` (rows × arms, None for all) marks the arms it may pull."""

    def best_arms(self, values: np.ndarray, allowed: np.ndarray | None, u: np.ndarray | None) -> np.ndarray:
        """Per row the arm of the largest value among the allowed; ties broken at random by one
        uniform per row ``u``, or to the lowest arm without it."""
        values = masked(values, allowed)
        if u is None:
            return values.argmax(axis=1)
        return one_of(values == values.max(axis=1, keepdims=True), u)

    # ----- learning -----------------------------------------------------------------------------
    def observe(self, batch: Transition) -> None:
        n = len(batch.reward)
        members, rows = self.members_of(n), self.rows(batch.obs)
        actions = np.asarray(batch.action, dtype=np.int64).reshape(-1)
        rewards = np.asarray(batch.reward, dtype=np.float64).reshape(-1)
        allowed = None if batch.mask is None else as_bool(np.asarray(batch.mask).reshape(n, -1))
        per_member = n // self.n_members
        for j in range(per_member):  # env by env, in case two envs of a member pull in the same state
            picked = slice(j, None, per_member)
            rows_allowed = None if allowed is None else allowed[picked]
            self.learn_from(members[picked], rows[picked], actions[picked], rewards[picked], rows_allowed)
        self.num_timesteps += per_member
        return None

    @abstractmethod
    def learn_from(
        self, members: np.ndarray, s: np.ndarray, a: np.ndarray, r: np.ndarray, allowed: np.ndarray | None
    ) -> None:
        """Update after pulling arm ``a`` in state ``s`` for reward ``r`` (no two rows the same member)."""

    def average_toward(self, members: np.ndarray, s: np.ndarray, a: np.ndarray, r: np.ndarray) -> None:
        """Q(a) ← Q(a) + α [R − Q(a)] with α = ``learning_rate``, or α = 1 / N(a) (the sample average) for 0."""
        self.counts[members, s, a] += 1
        alpha = self.config.learning_rate or 1.0 / self.counts[members, s, a]
        q = self.tables[members, s, a]
        self.tables[members, s, a] = q + alpha * (r - q)

    # ----- logging and checkpoints --------------------------------------------------------------
    def begin(self, total_steps: int, env: gym.Env | None = None, step: int | None = None) -> None:
        super().begin(total_steps, env, step)
        self._layout = layout_of(env, *self.tables.shape[1:])

    def logged_images(self, member: int = 0) -> dict[str, np.ndarray]:
        """``tabular/q_values``: the table over states × arms as a heatmap (Q, or H for preferences)."""
        return {"tabular/q_values": q_picture(self.tables[member], self._layout, title=self.table_title)}

    def state_parts(self) -> dict[str, Any]:
        return {"q_table": self.tables, "counts": self.counts}


def one_of(candidates: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per row a uniformly random column among the True ones of ``candidates`` (rows × arms, at least
    one True per row), chosen by one uniform per row ``u`` in [0, 1): one draw per row, not one per arm."""
    count = candidates.sum(axis=1)
    arms = candidates.argmax(axis=1)  # the only candidate, in most rows
    many = np.flatnonzero(count > 1)
    if many.size:
        k = (u[many] * count[many]).astype(np.int64)
        arms[many] = (candidates[many].cumsum(axis=1) > k[:, None]).argmax(axis=1)
    return arms
