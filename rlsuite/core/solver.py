"""Exact solution of finite MDPs that expose ``P`` in Gymnasium's toy-text format.

``P[s][a] = [(prob, next_state, reward, terminated), ...]`` is what FrozenLake, Taxi,
CliffWalking and rlsuite's own environments carry. Actions outside A(s) (per the env's
``action_mask(state)``, when it has one) are left out of every max.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from rlsuite.core.errors import RLSuiteError


@dataclass(frozen=True)
class TabularMDP:
    """Dense arrays of a finite MDP.

    ``reward[s, a]`` is the expected reward, ``continuation[s, a, s']`` is
    p(s' | s, a) for transitions that do not terminate (so bootstrapping stops at terminals),
    ``allowed[s, a]`` is A(s).
    """

    reward: np.ndarray
    continuation: np.ndarray
    allowed: np.ndarray
    state_names: tuple[str, ...]
    action_names: tuple[str, ...]

    @property
    def n_states(self) -> int:
        return self.reward.shape[0]

    def q_from_v(self, v: np.ndarray, gamma: float) -> np.ndarray:
        return self.reward + gamma * self.continuation @ v

    def greedy(self, q: np.ndarray) -> np.ndarray:
        return np.where(self.allowed, q, -np.inf).argmax(axis=1)


def tabular_mdp(env: gym.Env) -> TabularMDP:
    """Read ``P`` (and A(s), state and action names) off an environment."""
    base = env.unwrapped
    P = getattr(base, "P", None)
    if P is None or not isinstance(env.observation_space, gym.spaces.Discrete):
        raise RLSuiteError(
            f"{env.spec.id if env.spec else type(base).__name__} has no transition table `P`: "
            "the exact solver needs a finite MDP with `P[s][a] = [(prob, next_state, reward, terminated), ...]`."
        )
    n_s, n_a = env.observation_space.n, env.action_space.n
    reward = np.zeros((n_s, n_a))
    continuation = np.zeros((n_s, n_a, n_s))
    for s in range(n_s):
        for a in range(n_a):
            for prob, s_next, r, terminated in P[s][a]:
                reward[s, a] += prob * r
                if not terminated:
                    continuation[s, a, s_next] += prob
    if hasattr(base, "action_mask"):
        allowed = np.array([base.action_mask(s) for s in range(n_s)], dtype=bool)
        allowed[~allowed.any(axis=1)] = True  # a state with no allowed action: keep them all
    else:
        allowed = np.ones((n_s, n_a), dtype=bool)
    state_names, action_names = names(env)
    return TabularMDP(reward, continuation, allowed, state_names, action_names)


def names(env: gym.Env) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(state names, action names) of an env with Discrete spaces: the env's own ``state_names``
    and ``action_names``, Gymnasium's FrozenLake, CliffWalking and Taxi spelled out, else indices."""
    base = env.unwrapped
    n_s = int(getattr(env.observation_space, "n", 0))
    n_a = int(getattr(env.action_space, "n", 0))
    toy_states, toy_actions = _toy_text_names(base)
    states = getattr(base, "state_names", None) or toy_states or [str(s) for s in range(n_s)]
    actions = getattr(base, "action_names", None) or toy_actions or [str(a) for a in range(n_a)]
    return tuple(states), tuple(actions)


def _toy_text_names(base: gym.Env) -> tuple[list[str] | None, list[str] | None]:
    """Names for Gymnasium's toy-text grids, in their docstrings' action order; states as (row,col)."""
    kind = type(base).__name__
    if kind == "FrozenLakeEnv":  # the tile is S(tart), F(rozen), H(ole) or G(oal)
        return ([f"({r},{c}){base.desc[r, c].decode()}" for r in range(base.nrow) for c in range(base.ncol)],
                ["left", "down", "right", "up"])
    if kind == "CliffWalkingEnv":
        rows, cols = base.shape
        return [f"({r},{c})" for r in range(rows) for c in range(cols)], ["up", "right", "down", "left"]
    if kind == "TaxiEnv":  # taxi (row,col), p: where the passenger waits (or taxi), d: the destination
        places = ("R", "G", "Y", "B", "taxi")

        def taxi_state(s: int) -> str:
            row, col, passenger, destination = tuple(base.decode(s))
            return f"({row},{col}) p:{places[passenger]} d:{places[destination]}"

        return ([taxi_state(s) for s in range(base.observation_space.n)],
                ["south", "north", "east", "west", "pickup", "dropoff"])
    return None, None


def value_iteration(mdp: TabularMDP, gamma: float, tol: float = 1e-10, max_iter: int = 100_000):
    """(q*, v*) by value iteration, to within ``tol`` of the fixed point in max norm."""
    v = np.zeros(mdp.n_states)
    for _ in range(max_iter):
        q = mdp.q_from_v(v, gamma)
        v_new = np.where(mdp.allowed, q, -np.inf).max(axis=1)
        delta = np.abs(v_new - v).max()
        v = v_new
        # contraction bound: |v - v*| <= gamma * delta / (1 - gamma)
        if delta * (gamma / (1 - gamma) if gamma < 1 else 1.0) < tol:
            break
    else:
        raise RLSuiteError(
            f"value iteration did not converge in {max_iter} sweeps at gamma={gamma}; "
            "use gamma < 1 for a continuing task."
        )
    return mdp.q_from_v(v, gamma), v


def policy_iteration(mdp: TabularMDP, gamma: float, max_iter: int = 10_000):
    """(q*, v*, policy) by policy iteration with exact policy evaluation (needs gamma < 1)."""
    if not 0 <= gamma < 1:
        raise RLSuiteError(f"policy iteration needs gamma in [0, 1), got {gamma}.")
    states = np.arange(mdp.n_states)
    policy = mdp.allowed.argmax(axis=1)  # first allowed action
    for _ in range(max_iter):
        a = policy
        v = np.linalg.solve(np.eye(mdp.n_states) - gamma * mdp.continuation[states, a], mdp.reward[states, a])
        q = mdp.q_from_v(v, gamma)
        masked = np.where(mdp.allowed, q, -np.inf)
        # switch only on a strict improvement, so ties cannot make it cycle
        improve = masked.max(axis=1) > masked[states, policy] + 1e-12
        if not improve.any():
            return q, v, policy
        policy = np.where(improve, masked.argmax(axis=1), policy)
    raise RLSuiteError(f"policy iteration did not converge in {max_iter} steps.")


def solve(env: gym.Env | str, gamma: float = 0.99) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact ``(q_star, v_star, policy)`` of a finite MDP with ``P``, by value iteration.

    ``env`` is an env instance or anything ``rlsuite.make_env`` accepts. ``q_star`` is
    states × actions (entries for actions outside A(s) are their one-step values, never used in
    a max), ``policy`` the greedy action per state (lowest index on ties).
    """
    from rlsuite.core.envspec import make_env

    if not 0 <= gamma <= 1:
        raise RLSuiteError(f"gamma={gamma} is out of range; choose a discount in [0, 1].")
    env = make_env(env) if not isinstance(env, gym.Env) else env
    mdp = tabular_mdp(env)
    q, v = value_iteration(mdp, gamma)
    return q, v, mdp.greedy(q)
