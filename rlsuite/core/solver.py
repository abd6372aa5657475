"""Exact solution of finite MDPs that expose ``P`` in Gymnasium's toy-text format.

``P[s][a] = [(prob, next_state, reward, terminated), ...]`` is what FrozenLake, Taxi,
CliffWalking and rlsuite's own environments carry. Actions outside A(s) (per the env's
``action_mask(state)``, when it has one) are left out of every max.

``solve(env, gamma)`` gives q*, v* and a greedy policy (value iteration);
``solve(env, gamma, policy="random")`` (or an array) gives q_π and v_π of that policy, exactly,
by one linear solve (policy evaluation, Sutton & Barto's eq. 4.4 solved in closed form).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import gymnasium as gym
import numpy as np

from rlsuite.core.errors import RLSuiteError

if TYPE_CHECKING:
    from gymnasium.envs.toy_text import CliffWalkingEnv, FrozenLakeEnv, TaxiEnv


@dataclass(frozen=True)
class TabularMDP:
    """Dense arrays of a finite MDP.

    ``reward[s, a]`` is the expected reward, ``continuation[s, a, s']`` is
    p(s' | s, a) for transitions that do not terminate (so bootstrapping stops at terminals),
    ``allowed[s, a]`` is A(s), ``terminal[s]`` marks the terminal states: absorbing ones (every action stays, reward 0,
    terminated, as toy-text ``P`` writes them) and those entered only by terminating transitions.
    """

    reward: np.ndarray
    continuation: np.ndarray
    allowed: np.ndarray
    state_names: tuple[str, ...]
    action_names: tuple[str, ...]
    terminal: np.ndarray | None = None

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
    name = env.spec.id if env.spec else type(base).__name__
    if P is None or not isinstance(env.observation_space, gym.spaces.Discrete):
        raise RLSuiteError(
            f"{name} has no transition table `P`: "
            "the exact solver needs a finite MDP with `P[s][a] = [(prob, next_state, reward, terminated), ...]`."
        )
    if not isinstance(env.action_space, gym.spaces.Discrete):
        raise RLSuiteError(
            f"{name} has a {type(env.action_space).__name__} action space: the exact solver needs Discrete actions."
        )
    n_s, n_a = env.observation_space.n, env.action_space.n
    reward = np.zeros((n_s, n_a))
    continuation = np.zeros((n_s, n_a, n_s))
    absorbing = np.ones(n_s, dtype=bool)  # every action stays, with reward 0, terminated
    entered, entered_alive = np.zeros(n_s, dtype=bool), np.zeros(n_s, dtype=bool)
    for s in range(n_s):
        for a in range(n_a):
            for prob, s_next, r, terminated in P[s][a]:
                reward[s, a] += prob * r
                absorbing[s] &= bool(s_next == s and r == 0 and terminated)
                if prob > 0 and not (s_next == s and terminated):
                    entered[s_next] = True
                    entered_alive[s_next] |= not terminated
                if not terminated:
                    continuation[s, a, s_next] += prob
    if hasattr(base, "action_mask"):
        allowed = np.array([base.action_mask(s) for s in range(n_s)], dtype=bool)
        allowed[~allowed.any(axis=1)] = True  # a state with no allowed action: keep them all
    else:
        allowed = np.ones((n_s, n_a), dtype=bool)
    state_names, action_names = names(env)
    return TabularMDP(reward, continuation, allowed, state_names, action_names, absorbing | (entered & ~entered_alive))


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
    # the envs are told apart by class name, which does not narrow their type; hence the casts
    kind = type(base).__name__
    if kind == "FrozenLakeEnv":  # the tile is S(tart), F(rozen), H(ole) or G(oal)
        lake = cast("FrozenLakeEnv", base)
        # Gymnasium annotates desc as the list of rows it is given; it holds that list as a byte array
        desc = cast(np.ndarray, lake.desc)
        return (
            [f"({r},{c}){desc[r, c].decode()}" for r in range(lake.nrow) for c in range(lake.ncol)],
            ["left", "down", "right", "up"],
        )
    if kind == "CliffWalkingEnv":
        rows, cols = cast("CliffWalkingEnv", base).shape
        return [f"({r},{c})" for r in range(rows) for c in range(cols)], ["up", "right", "down", "left"]
    if kind == "TaxiEnv":  # taxi (row,col), p: where the passenger waits (or taxi), d: the destination
        places = ("R", "G", "Y", "B", "taxi")
        taxi = cast("TaxiEnv", base)

        def taxi_state(s: int) -> str:
            row, col, passenger, destination = tuple(taxi.decode(s))
            return f"({row},{col}) p:{places[passenger]} d:{places[destination]}"

        return (
            [taxi_state(s) for s in range(cast(gym.spaces.Discrete, taxi.observation_space).n)],
            ["south", "north", "east", "west", "pickup", "dropoff"],
        )
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


def policy_iteration(
    mdp: TabularMDP,
    gamma: float,
    max_iter: int = 10_000,
    policy: np.ndarray | None = None,
    visit: Callable[[np.ndarray, np.ndarray], None] | None = None,
):
    """(q*, v*, policy) by policy iteration with exact policy evaluation (needs gamma < 1), from
    ``policy`` (one action per state; by default the first allowed action), calling
    ``visit(policy, v_policy)`` for each policy it evaluates: π0, π1, ... as the book draws them."""
    if not 0 <= gamma < 1:
        raise RLSuiteError(f"policy iteration needs gamma in [0, 1), got {gamma}.")
    states = np.arange(mdp.n_states)
    policy = mdp.allowed.argmax(axis=1) if policy is None else np.asarray(policy, dtype=np.int64)
    for _ in range(max_iter):
        a = policy
        v = np.linalg.solve(np.eye(mdp.n_states) - gamma * mdp.continuation[states, a], mdp.reward[states, a])
        if visit is not None:
            visit(policy.copy(), v)
        q = mdp.q_from_v(v, gamma)
        masked = np.where(mdp.allowed, q, -np.inf)
        # switch only on a strict improvement, so ties cannot make it cycle
        improve = masked.max(axis=1) > masked[states, policy] + 1e-12
        if not improve.any():
            return q, v, policy
        policy = np.where(improve, masked.argmax(axis=1), policy)
    raise RLSuiteError(f"policy iteration did not converge in {max_iter} steps.")


def policy_matrix(mdp: TabularMDP, policy: str | np.ndarray, where: str = "the env") -> np.ndarray:
    """π as a states × actions array of probabilities: ``"random"`` (uniform over A(s)), a
    states × actions array of probabilities, or one action per state; anything else is an error."""
    n_s, n_a = mdp.reward.shape
    want = (
        f'give "random", a ({n_s}, {n_a}) array of action probabilities (rows summing to 1) '
        f"or an array of {n_s} actions"
    )
    if isinstance(policy, str):
        if policy != "random":
            raise RLSuiteError(f"policy={policy!r} is not a policy {where} knows; {want}.")
        return mdp.allowed / mdp.allowed.sum(axis=1, keepdims=True)
    try:
        pi = np.asarray(policy, dtype=float)
    except (TypeError, ValueError):
        raise RLSuiteError(f"policy of type {type(policy).__name__} is not an array of numbers; {want}.") from None
    if pi.shape == (n_s,):  # one action per state
        if not np.all((pi == np.round(pi)) & (pi >= 0) & (pi < n_a)):
            raise RLSuiteError(
                f"policy holds {n_s} entries, one per state, but not all are actions 0 … {n_a - 1}; {want}."
            )
        return np.eye(n_a)[pi.astype(int)]
    if pi.shape != (n_s, n_a):
        raise RLSuiteError(f"policy has shape {pi.shape}, but {where} has {n_s} states and {n_a} actions; {want}.")
    bad = np.flatnonzero(~np.isfinite(pi).all(axis=1) | (pi < 0).any(axis=1) | ~np.isclose(pi.sum(axis=1), 1.0))
    if bad.size:
        s, more = int(bad[0]), f" ({bad.size} such rows)" if bad.size > 1 else ""
        raise RLSuiteError(
            f"policy row {s} ({mdp.state_names[s]}) is {np.round(pi[s], 4).tolist()}, not "
            f"probabilities (each >= 0, summing to 1){more}; {want}."
        )
    return pi


def policy_evaluation(mdp: TabularMDP, pi: np.ndarray, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """(q_π, v_π) exactly: ``(I − γ P_π) v = r_π`` solved over the non-terminal states, whose
    values terminal states (fixed at 0) do not enter. At γ = 1 every state must reach an end
    under π, else the system is singular and this says from which state π runs for ever."""
    terminal = mdp.terminal if mdp.terminal is not None else np.zeros(mdp.n_states, dtype=bool)
    live = np.flatnonzero(~terminal)
    p_pi = np.einsum("sa,sat->st", pi, mdp.continuation)[np.ix_(live, live)]
    r_pi = (pi * mdp.reward).sum(axis=1)[live]
    if gamma == 1:
        ends = p_pi.sum(axis=1) < 1 - 1e-12  # the episode can end from here
        step = p_pi > 0
        while True:  # states that reach an end, backwards from those that end
            more = ends | (step & ends[None, :]).any(axis=1)
            if (more == ends).all():
                break
            ends = more
        if not ends.all():
            s, others = int(live[np.flatnonzero(~ends)[0]]), int((~ends).sum()) - 1
            raise RLSuiteError(
                f"at gamma=1 the policy never ends an episode from state {mdp.state_names[s]}"
                f"{f' or {others} other states' if others else ''}, so its values are infinite "
                "(the linear system is singular); use gamma < 1 or a policy that reaches a "
                "terminal state from every state."
            )
    v = np.zeros(mdp.n_states)
    v[live] = np.linalg.solve(np.eye(live.size) - gamma * p_pi, r_pi)
    q = mdp.q_from_v(v, gamma)
    q[terminal] = 0.0
    return q, v


def solve(
    env: gym.Env | str, gamma: float = 0.99, policy: str | np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact ``(q_star, v_star, policy)`` of a finite MDP with ``P``, by value iteration; with
    ``policy``, exact ``(q_pi, v_pi, pi)`` of that policy instead (policy evaluation).

    ``env`` is an env instance or anything ``rlsuite.make_env`` accepts. ``q_star`` is
    states × actions (entries for actions outside A(s) are their one-step values, never used in
    a max), ``policy`` the greedy action per state (lowest index on ties).

    ``policy`` is ``"random"`` (uniform over A(s)), a states × actions array of action
    probabilities, or an array of one action per state (e.g. a greedy policy ``solve`` returned).
    The values come from one linear solve, so γ = 1 works on an episodic task whose policy ends
    every episode. Terminal states (absorbing with reward 0, as toy-text ``P`` marks them, or
    entered only by terminating transitions) have value 0; ``pi`` is returned as probabilities.
    """
    from rlsuite.core.envspec import make_env

    if not 0 <= gamma <= 1:
        raise RLSuiteError(f"gamma={gamma} is out of range; choose a discount in [0, 1].")
    env = make_env(env) if not isinstance(env, gym.Env) else env
    mdp = tabular_mdp(env)
    if policy is not None:
        pi = policy_matrix(mdp, policy, env.spec.id if env.spec else type(env.unwrapped).__name__)
        q, v = policy_evaluation(mdp, pi, gamma)
        return q, v, pi
    q, v = value_iteration(mdp, gamma)
    return q, v, mdp.greedy(q)
