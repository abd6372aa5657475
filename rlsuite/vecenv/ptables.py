"""The transition table ``P`` of a finite MDP read once into arrays (:class:`PTables`), for envs whose
``P`` is exactly the env (Gymnasium's FrozenLake, CliffWalking, Taxi, and rlsuite's envs that declare
``steps_by_P``), under no wrapper that changes what a step does; :mod:`rlsuite.vecenv.psim` steps
copies of them in numpy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.toy_text.cliffwalking import CliffWalkingEnv
from gymnasium.envs.toy_text.frozen_lake import FrozenLakeEnv
from gymnasium.envs.toy_text.taxi import TaxiEnv
from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, TimeLimit

_GYMNASIUM_P_ENVS = {FrozenLakeEnv: np.int64, CliffWalkingEnv: np.int64, TaxiEnv: np.float64}
_NEUTRAL_WRAPPERS = (TimeLimit, OrderEnforcing, PassiveEnvChecker)


@dataclass(frozen=True, eq=False)
class PTables:
    """An MDP's ``P`` as arrays of shape (S, A, M) (see the module's text), its start distribution,
    action masks and time limit: everything a :class:`PVectorEnv` steps by."""

    prob: np.ndarray  # (S, A, M) float64, 0 for padding
    cdf: np.ndarray  # (S, A, M) cumulative, exactly 1 from the last possible outcome on
    next_state: np.ndarray  # (S, A, M) int64
    reward: np.ndarray  # (S, A, M) float64
    terminated: np.ndarray  # (S, A, M) bool
    initial_cdf: np.ndarray  # (S,) cumulative start distribution, exactly 1 from the last start on
    masks: np.ndarray | None  # (S, A) in the env's dtype, or None where the env has no action_mask
    max_steps: int | None  # the time limit, None for none
    reset_prob: type | None  # the dtype of info["prob"] after a reset; None: the env reports no prob
    metadata: dict[str, Any]


def p_tables(env: gym.Env) -> PTables | None:
    """The tables of ``env`` where stepping by ``P`` is exactly stepping the env, else None."""
    base = env.unwrapped
    obs_space, action_space = env.observation_space, env.action_space
    if not (
        isinstance(obs_space, spaces.Discrete)
        and isinstance(action_space, spaces.Discrete)
        and obs_space.start == 0
        and action_space.start == 0
    ):
        return None
    exact = type(base) in _GYMNASIUM_P_ENVS or bool(getattr(base, "steps_by_P", False))
    fickle = getattr(base, "fickle_passenger", False)  # Taxi's passenger then changes destination outside P
    if not exact or fickle or getattr(base, "render_mode", None) is not None:
        return None
    neutral, max_steps = _wrapper_chain(env)
    n_s, n_a = int(obs_space.n), int(action_space.n)
    arrays = _p_arrays(getattr(base, "P", None), n_s, n_a)
    initial_cdf = _cdf(getattr(base, "initial_state_distrib", None), (n_s,))
    masks = _mask_table(base, n_s, n_a)
    if not neutral or arrays is None or initial_cdf is None or masks is False:
        return None
    return PTables(
        *arrays,
        initial_cdf=initial_cdf,
        masks=masks,
        max_steps=max_steps,
        reset_prob=_GYMNASIUM_P_ENVS.get(type(base)),
        metadata=dict(env.metadata),
    )


def _wrapper_chain(env: gym.Env) -> tuple[bool, int | None]:
    """(whether every wrapper around the env is one of Gymnasium's neutral ones, the time limit)."""
    max_steps, layer = None, env
    while layer is not env.unwrapped:
        if type(layer) not in _NEUTRAL_WRAPPERS:
            return False, None
        if isinstance(layer, TimeLimit):
            limit = getattr(layer, "_max_episode_steps", None) or (env.spec and env.spec.max_episode_steps)
            max_steps = int(limit) if max_steps is None else min(max_steps, int(limit))
        layer = layer.env
    return True, max_steps


def _p_arrays(P: Any, n_s: int, n_a: int) -> tuple[np.ndarray, ...] | None:
    """(prob, cdf, next_state, reward, terminated), each (S, A, M), or None for a malformed ``P``."""
    try:
        rows = [list(P[s][a]) for s in range(n_s) for a in range(n_a)]
        m = max(len(row) for row in rows)
        prob, reward = np.zeros((len(rows), m)), np.zeros((len(rows), m))
        next_state, terminated = np.zeros((len(rows), m), dtype=np.int64), np.zeros((len(rows), m), dtype=bool)
        for i, row in enumerate(rows):
            for k, (p, s_next, r, term) in enumerate(row):
                prob[i, k], next_state[i, k], reward[i, k], terminated[i, k] = p, s_next, r, bool(term)
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    if m == 0 or next_state.min() < 0 or next_state.max() >= n_s:
        return None
    cdf = _cdf(prob, prob.shape)
    if cdf is None:
        return None
    return tuple(x.reshape(n_s, n_a, m) for x in (prob, cdf, next_state, reward, terminated))


def _cdf(prob: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """Cumulative probabilities along the last axis, exactly 1 from each row's last possible
    outcome on (so a uniform in [0, 1) never lands on padding); None unless rows sum to 1."""
    try:
        prob = np.asarray(prob, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if prob.shape != shape or not np.all(prob >= 0) or not np.allclose(prob.sum(-1), 1.0, atol=1e-6):
        return None
    cdf = np.cumsum(prob, axis=-1)
    last = prob.shape[-1] - 1 - np.argmax(prob[..., ::-1] > 0, axis=-1)
    cdf[np.arange(prob.shape[-1]) >= last[..., None]] = 1.0
    return cdf


def _mask_table(base: gym.Env, n_s: int, n_a: int) -> np.ndarray | None | bool:
    """``action_mask(s)`` for every state as an (S, A) table; None where the env has none, False
    where its masks are not (A,) vectors."""
    action_mask = getattr(base, "action_mask", None)
    if not callable(action_mask):
        return None
    try:
        table = np.array([np.asarray(action_mask(s)) for s in range(n_s)])
    except (TypeError, ValueError, IndexError, KeyError):
        return False
    return table if table.shape == (n_s, n_a) else False
