"""N copies of a finite MDP stepped from its transition table ``P``, in numpy, as one vector env.

Gymnasium's toy-text envs and rlsuite's finite envs hold their whole dynamics in ``P[s][a] =
[(prob, next_state, reward, terminated), ...]``. A thousand copies through ``SyncVectorEnv`` cost a
thousand Python ``step`` calls plus the info merging; :class:`PVectorEnv` steps them all with a few
numpy operations on tables read once from ``P``:

* ``P`` becomes (S, A, M) arrays (probability, cumulative probability, next state, reward,
  terminated; M = the most outcomes of any (s, a), padded with probability 0). A transition is an
  inverse-CDF draw: outcome k = #{cumulative <= u}, as Gymnasium's ``categorical_sample``; the
  initial state is drawn the same way from ``initial_state_distrib``.
* Randomness: env i has its own stream (:class:`rlsuite.core.streams.Streams`, keyed by its reset
  seed), so one call draws for all envs, and env i's trajectory depends on its seed and actions
  only, not on N or on the other envs. Every step draws 2 uniforms per env (the transition, and the
  initial state should it autoreset), every reset 1, so each stream advances the same whatever
  happens elsewhere; where nothing is random the counters advance without drawing. Steps draw a block
  ahead (changing no number). These are not Gymnasium's ``np_random`` streams: a stochastic env's
  trajectories differ from the real env's for the same seed, with the same distribution.
* The protocol is what the loop gets from ``RecordEpisodeStatistics(SyncVectorEnv(...,
  autoreset_mode=SAME_STEP))``: int64 observations, float64 rewards, bool flags; infos with
  ``action_mask`` (where the env has an ``action_mask(state)`` method), ``prob`` (Gymnasium's
  toy-text envs report it), and on a step that ends episodes ``final_obs``, ``final_info`` and
  ``episode`` = {"r", "l", "t"}, each with its ``_key`` flags; the time limit truncates as ``TimeLimit``.

:func:`p_vector_env` decides whether an env may be stepped this way: only where ``P`` is exactly
the env (Gymnasium's three toy-text envs, or an env declaring ``steps_by_P``), wrapped in nothing
but Gymnasium's own ``TimeLimit``/``OrderEnforcing``/``PassiveEnvChecker``, and not rendering.
:meth:`PVectorEnv.state` and :meth:`PVectorEnv.load_state` checkpoint it exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import batch_space

from rlsuite.core.envspec import env_name
from rlsuite.core.errors import RLSuiteError
from rlsuite.core.streams import Streams, stream_key
from rlsuite.vecenv.ptables import PTables, p_tables

# the dtype of the "prob" each of Gymnasium's P-stepped envs returns from reset() (1 or 1.0)
_SPAWN = 0x656E76  # "env": env streams stay apart from an agent's streams of the same seed
_STATE_FIELDS = ("states", "elapsed", "returns", "seeds", "keys", "counters")  # elapsed: the episode's length
_SAME_STEP = gym.vector.AutoresetMode.SAME_STEP


def p_vector_env(make: Callable[[], gym.Env], n_envs: int, name: str | None = None) -> PVectorEnv | None:
    """``n_envs`` copies of ``make()`` stepped by its ``P`` as a :class:`PVectorEnv`, or None where
    the env does not qualify (see the module's text). The probe env is closed either way."""
    if isinstance(n_envs, bool) or not isinstance(n_envs, (int, np.integer)) or n_envs < 1:
        raise RLSuiteError(f"n_envs={n_envs!r} is not a number of envs; pass a whole number >= 1.")
    env = make()
    try:
        tables = p_tables(env)
        name = name or env_name(env)
    finally:
        env.close()
    return None if tables is None else PVectorEnv(tables, int(n_envs), name)


class PVectorEnv(gym.vector.VectorEnv):
    """``n_envs`` copies of a finite MDP, stepped together from its :class:`PTables`; the protocol is
    that of Gymnasium's same-step-autoreset vector env with episode statistics (module's text)."""

    def __init__(self, tables: PTables, n_envs: int, name: str = "env") -> None:
        self.tables, self.name = tables, name
        n = self.num_envs = int(n_envs)
        n_s, n_a, m = tables.prob.shape
        self._n_actions, self._m = n_a, m
        self.single_observation_space = spaces.Discrete(n_s)
        self.single_action_space = spaces.Discrete(n_a)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = dict(tables.metadata, autoreset_mode=_SAME_STEP)
        self.render_mode = None
        # row = s * A + a indexes the (S*A,) columns of cdf; outcome = row * M + k the flat (S*A*M,) tables
        self._cdf_columns = tables.cdf.reshape(n_s * n_a, m)[:, :-1].T.copy()  # the last is always 1
        self._prob, self._next = tables.prob.reshape(-1), tables.next_state.reshape(-1)
        self._reward, self._term = tables.reward.reshape(-1), tables.terminated.reshape(-1)
        starts = np.flatnonzero(np.diff(tables.initial_cdf, prepend=0.0) > 0)
        self._fixed_start = int(starts[0]) if len(starts) == 1 else None
        self._draws = m > 1 or self._fixed_start is None  # whether any step needs its uniforms
        self.streams: Streams | None = None
        self._ahead: np.ndarray | None = None  # uniforms drawn ahead for the coming steps
        self._ahead_steps, self._used = max(1, min(256, 16_384 // self.num_envs)), 0
        self._states: np.ndarray | None = None
        # per env: steps and return of the episode so far, and when it started (for episode["t"])
        self._elapsed, self._returns, self._started = np.zeros(n, dtype=np.int64), np.zeros(n), np.zeros(n)

    # ----- reset --------------------------------------------------------------------------------
    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        """Reset every env, or those of ``options["reset_mask"]``; an int seed seeds env i with
        seed + i, a list one seed per env, None continues each env's stream."""
        mask = self._reset_mask(options)
        if self._states is None and mask is not None:
            raise RLSuiteError(
                f"env {self.name!r} was reset with a reset_mask before a full reset; call reset() without one first."
            )
        rows = np.arange(self.num_envs) if mask is None else np.flatnonzero(mask)
        self._reseed(rows, self._seeds(seed))
        if self._states is None:
            self._states = np.zeros(self.num_envs, dtype=np.int64)
        u = self._draw(rows, 1)
        self._start(rows, None if u is None else u[:, 0])
        prob = None if self.tables.reset_prob is None else np.ones(self.num_envs, dtype=self.tables.reset_prob)
        return self._states.copy(), self._env_infos(self._states, prob, mask)

    def _reset_mask(self, options: dict[str, Any] | None) -> np.ndarray | None:
        mask = (options or {}).get("reset_mask")
        if mask is None:
            return None
        if not (
            isinstance(mask, np.ndarray) and mask.dtype == np.bool_ and mask.shape == (self.num_envs,) and mask.any()
        ):
            raise RLSuiteError(
                f"options['reset_mask'] for env {self.name!r} is not a bool array of shape "
                f"({self.num_envs},) with a True; pass one flag per env, True for those to reset."
            )
        return mask.copy()

    def _seeds(self, seed: Any) -> list[int | None]:
        n = self.num_envs
        if seed is None:
            return [None] * n
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            return [int(seed) + i for i in range(n)]
        if isinstance(seed, (list, tuple)) and len(seed) == n:
            return list(seed)
        raise RLSuiteError(
            f"seed={seed!r:.60} for env {self.name!r} is not a seed; pass a whole number, "
            f"a list of {n} of them, or None."
        )

    def _reseed(self, rows: np.ndarray, seeds: list[int | None]) -> None:
        """Start afresh the streams of ``rows`` that have a seed (all of them, on the first reset)."""
        if self.streams is None:  # unseeded envs draw their seeds from the OS, as Gymnasium does
            fresh = np.random.SeedSequence().generate_state(self.num_envs, np.uint64)
            self.streams = Streams([int(f) if s is None else s for s, f in zip(seeds, fresh)], spawn=(_SPAWN,))
            return
        for i in rows:
            if seeds[i] is not None:
                self.streams.seeds[i] = int(seeds[i])
                self.streams.keys[i] = np.uint64(stream_key(seeds[i], _SPAWN))
                self.streams.counters[i] = 0

    def _draw(self, rows: np.ndarray, per_env: int) -> np.ndarray | None:
        """(len(rows), per_env) uniforms, each row from its env's stream; None, having advanced the
        counters alike, where nothing in this MDP is random."""
        self._ahead = None  # the rows' streams move on apart from the others
        part = _rows_of(self.streams, rows)
        u = part.random((len(rows), per_env)) if self._draws else None
        self.streams.counters[rows] = part.counters if self._draws else part.counters + np.uint64(per_env)
        return u

    def _step_uniforms(self) -> np.ndarray | None:
        """(N, 2) uniforms for a step, from a block of steps drawn at once (one numpy call per block);
        the streams' counters count the draws used."""
        if self._draws and (self._ahead is None or self._used == self._ahead.shape[1]):
            self._ahead = _rows_of(self.streams, slice(None)).random((self.num_envs, 2 * self._ahead_steps))
            self._used = 0
        self.streams.counters += np.uint64(2)
        if not self._draws:
            return None
        self._used += 2
        return self._ahead[:, self._used - 2 : self._used]

    def _start(self, rows: np.ndarray, u: np.ndarray | None) -> None:
        """Begin new episodes in ``rows``, drawing their start states with the uniforms ``u``."""
        if self._fixed_start is not None:
            self._states[rows] = self._fixed_start
        else:
            self._states[rows] = np.searchsorted(self.tables.initial_cdf, u, side="right")
        self._elapsed[rows], self._returns[rows] = 0, 0.0
        self._started[rows] = time.perf_counter()

    # ----- step ---------------------------------------------------------------------------------
    def step(self, actions: Any):
        """One step of every env; an env whose episode ends starts its next one in the same step."""
        if self._states is None:
            raise RLSuiteError(f"env {self.name!r} was stepped before reset(); call reset() first.")
        row = self._states * self._n_actions + self._actions(actions)
        u = self._step_uniforms()
        outcome = row if self._m == 1 else row * self._m + self._outcome(row, u[:, 0])
        states, rewards, terminated = self._next[outcome], self._reward[outcome], self._term[outcome]
        self._states = states
        self._elapsed += 1
        self._returns += rewards
        limit = self.tables.max_steps  # as TimeLimit: truncated once the episode has limit steps
        truncated = self._elapsed >= limit if limit is not None else np.zeros(self.num_envs, dtype=bool)
        done = terminated | truncated
        prob = None if self.tables.reset_prob is None else self._prob[outcome]
        infos = self._end_episodes(done, prob, u) if done.any() else self._env_infos(states, prob, None)
        return self._states.copy(), rewards, terminated, truncated, infos

    def _outcome(self, row: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Inverse CDF: the number of outcomes of (s, a) = ``row`` whose cumulative probability is <= u."""
        k = (self._cdf_columns[0][row] <= u).astype(np.int64)
        for column in self._cdf_columns[1:]:
            k += column[row] <= u
        return k

    def _actions(self, actions: Any) -> np.ndarray:
        a = np.asarray(actions)
        n, n_a = self.num_envs, self._n_actions
        if a.shape != (n,) or a.dtype.kind not in "iu":
            raise RLSuiteError(
                f"actions for env {self.name!r} are {a.dtype} of shape {a.shape}; pass {n} whole "
                f"numbers in [0, {n_a - 1}], one per env."
            )
        a = a.astype(np.int64, copy=False)
        if (a.view(np.uint64) >= n_a).any():  # negatives wrap to huge numbers
            bad = a[(a < 0) | (a >= n_a)]
            raise RLSuiteError(
                f"actions {bad[:5].tolist()} for env {self.name!r} are outside Discrete({n_a}); "
                f"pass actions in [0, {n_a - 1}]."
            )
        return a

    def _end_episodes(self, done: np.ndarray, prob: np.ndarray | None, u: np.ndarray | None) -> dict[str, Any]:
        """Infos of a step that ends the episodes of ``done``, whose envs then start anew."""
        rows = np.flatnonzero(done)
        final_obs = np.full(self.num_envs, None, dtype=object)
        final_obs[rows] = self._states[rows].tolist()
        final_info = self._env_infos(self._states, prob, done)
        episode = {
            "r": np.where(done, self._returns, 0.0),
            "l": np.where(done, self._elapsed, 0),
            "t": np.where(done, np.round(time.perf_counter() - self._started, 6), 0.0),
        }
        self._start(rows, None if u is None else u[rows, 1])
        prob = None if prob is None else np.where(done, 1.0, prob)  # what the new episodes' resets report
        infos = {"final_obs": final_obs, "_final_obs": done, "final_info": final_info, "_final_info": done.copy()}
        infos.update(self._env_infos(self._states, prob, None))
        infos.update(episode=episode, _episode=done.copy())
        return infos

    def _env_infos(self, states: np.ndarray, prob: np.ndarray | None, present: np.ndarray | None) -> dict[str, Any]:
        """The envs' own infos batched as Gymnasium batches them: ``prob`` (where given) and
        ``action_mask`` (where the env has masks), for the envs of ``present`` (None: all)."""
        infos: dict[str, Any] = {}
        flags = np.ones(self.num_envs, dtype=bool) if present is None else present
        if prob is not None:
            infos["prob"] = prob if present is None else np.where(present, prob, 0).astype(prob.dtype)
            infos["_prob"] = flags.copy()
        if self.tables.masks is not None:
            masks = self.tables.masks[states]
            if present is not None:
                masks[~present] = 0
            infos["action_mask"], infos["_action_mask"] = masks, flags.copy()
        return infos

    # ----- checkpoints --------------------------------------------------------------------------
    def current(self) -> tuple[np.ndarray, dict[str, Any]]:
        """The observations and infos as they stand (after :meth:`load_state`), as ``reset`` gives them."""
        return self._states.copy(), self._env_infos(self._states, None, None)

    def state(self) -> dict[str, Any]:
        """Everything needed to go on exactly, as JSON-able lists (one entry per env)."""
        return self.member_state(slice(None))

    def member_state(self, rows: slice) -> dict[str, Any]:
        """:meth:`state` of the envs in ``rows`` alone (e.g. one seed's block of envs)."""
        if self._states is None:
            raise RLSuiteError(f"env {self.name!r} has no state before reset(); call reset() first.")
        n_s, n_a, _ = self.tables.prob.shape
        columns = (
            self._states,
            self._elapsed,
            self._returns,
            np.array(self.streams.seeds, dtype=object),
            self.streams.keys,
            self.streams.counters,
        )
        state = {name: column[rows].tolist() for name, column in zip(_STATE_FIELDS, columns)}
        return {"n_states": n_s, "n_actions": n_a, **state}

    def load_state(self, state: dict[str, Any], rows: slice | None = None) -> None:
        """Go on from what :meth:`state` (or :meth:`member_state`, loaded into ``rows``) returned."""
        rows = slice(None) if rows is None else rows
        n = len(range(*rows.indices(self.num_envs)))
        n_s, n_a, _ = self.tables.prob.shape
        if (
            not isinstance(state, dict)
            or (state.get("n_states"), state.get("n_actions")) != (n_s, n_a)
            or any(not isinstance(state.get(f), list) or len(state[f]) != n for f in _STATE_FIELDS)
            or not all(isinstance(s, int) and 0 <= s < n_s for s in state["states"])
        ):
            raise RLSuiteError(
                f"the state given to env {self.name!r} is not one of {n} envs of {n_s} states and "
                f"{n_a} actions; load a state saved from the same env and n_envs."
            )
        if self._states is None:
            if n != self.num_envs:
                raise RLSuiteError(
                    f"env {self.name!r} can load {n} of its {self.num_envs} envs only after a full "
                    "reset or state; reset() or load a full state first."
                )
            self._states = np.zeros(self.num_envs, dtype=np.int64)
            self.streams = Streams([0] * self.num_envs, spawn=(_SPAWN,))
        self._ahead = None
        self._states[rows], self._elapsed[rows] = state["states"], state["elapsed"]
        self._returns[rows] = state["returns"]
        self.streams.seeds[rows] = [int(s) for s in state["seeds"]]
        self.streams.keys[rows] = np.array([int(k) for k in state["keys"]], dtype=np.uint64)
        self.streams.counters[rows] = np.array([int(c) for c in state["counters"]], dtype=np.uint64)
        self._started[rows] = time.perf_counter()


def _rows_of(streams: Streams, rows: np.ndarray | slice) -> Streams:
    """The streams of ``rows`` alone, where they stand (a copy: write its counters back)."""
    part = Streams.__new__(Streams)
    part.seeds = np.array(streams.seeds, dtype=object)[rows].tolist()
    part.keys, part.counters = streams.keys[rows].copy(), streams.counters[rows].copy()
    return part
