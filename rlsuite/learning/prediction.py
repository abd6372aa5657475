"""Tabular prediction — learning v_π of a fixed policy from its episodes — as plain numpy functions
(Sutton & Barto, chapters 6 and 7): TD(0), constant-α Monte Carlo, batch TD(0) and batch Monte
Carlo, and n-step TD. The λ-methods of chapter 12 are in :mod:`rlsuite.learning.lambda_prediction`.

Prediction needs no agent: the policy is fixed, so the episodes can be drawn first
(:func:`sample_episodes`, from an env's ``P``) and every method, step size and run learns from
the same ones. Each method takes :class:`Episodes` and one row of settings per learner (step sizes
α, and n), and works on values of shape (learners, runs, states) in one numpy operation per time
step; it returns the values after every episode, ``(learners, runs, episodes + 1, states)``
(index 0: the initial values). Within an episode the runs are sorted longest first, so step t
touches only the runs whose episode is still going (a prefix, by slicing).

Updates are the book's, with V(terminal) = 0 held fixed:

* TD(0):               V(S_t) += α [R_{t+1} + γ V(S_{t+1}) − V(S_t)], online;
* constant-α MC:       V(S_t) += α [G_t − V(S_t)], t = 0 … T−1 at the episode's end (every visit);
* n-step TD:           V(S_τ) += α [G_{τ:τ+n} − V(S_τ)], τ = 0 … T−1 in order, where
                       G_{τ:τ+n} = R_{τ+1} + … + γ^{n−1} R_{τ+n} + γ^n V(S_{τ+n}) (no V past T);
* batch TD(0) and MC:  after each episode, the values repeated presentation of all episodes so far
                       converges to, in closed form: the certainty-equivalence estimate (v of the
                       maximum-likelihood model) and the mean return of each state's visits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from rlsuite.core.errors import RLSuiteError
from rlsuite.core.streams import Streams
from rlsuite.vecenv.ptables import p_tables


@dataclass(frozen=True)
class Episodes:
    """``runs`` × ``episodes`` episodes, padded to the longest: ``states`` (R, E, L + 1) with S_0 …
    S_T and then S_T repeated, ``rewards`` (R, E, L) with R_1 … R_T and then 0, ``lengths`` (R, E)
    the T of each; ``terminal`` marks the terminal states of the env (V held at 0 there)."""

    states: np.ndarray
    rewards: np.ndarray
    lengths: np.ndarray
    terminal: np.ndarray
    n_states: int

    @property
    def runs(self) -> int:
        """R: the runs."""
        return self.states.shape[0]

    @property
    def count(self) -> int:
        """E: the episodes of each run."""
        return self.states.shape[1]


def sample_episodes(
    env: gym.Env, runs: int, episodes: int, policy: np.ndarray | None = None, max_steps: int = 100_000
) -> Episodes:
    """``episodes`` episodes of ``policy`` (S × A probabilities; None: equiprobable over each state's
    allowed actions) in each of ``runs`` runs of ``env``, drawn from its ``P`` in numpy. Run r's
    episodes come from seed r's random stream alone, so they do not depend on ``runs``. Episodes run to
    their end, past any time limit; one that has not ended after ``max_steps`` steps is an error (the
    policy may never end one)."""
    tables = p_tables(env)
    if tables is None:
        raise RLSuiteError(
            f"{env} does not step by its P (it needs a finite P that is the env, unwrapped or in a TimeLimit); "
            "use a finite env such as rlsuite/RandomWalk-v0."
        )
    n_s, n_a, _ = tables.prob.shape
    if policy is None:
        allowed = np.ones((n_s, n_a)) if tables.masks is None else tables.masks.astype(float)
        policy = allowed / allowed.sum(axis=1, keepdims=True)
    policy_cdf = np.cumsum(policy, axis=1)
    policy_cdf[:, -1] = 1.0
    terminal = np.zeros(n_s, bool)  # the states a terminating transition enters: V = 0 there
    terminal[tables.next_state[tables.terminated & (tables.prob > 0)]] = True
    streams = Streams(range(runs))
    state = np.searchsorted(tables.initial_cdf, streams.random((runs * episodes, 1))[:, 0], side="right")
    states, rewards, lengths = [state], [], np.zeros(runs * episodes, dtype=np.int64)
    alive = ~terminal[state]
    while alive.any():
        if len(rewards) == max_steps:
            raise RLSuiteError(
                f"an episode of the policy on {env} has not ended after max_steps={max_steps} steps; give a "
                "policy that ends every episode, or a larger max_steps."
            )
        u = streams.random((runs * episodes, 2))  # drawn for every walker: each run's stream advances alike
        action = (u[:, :1] >= policy_cdf[state]).sum(axis=1).clip(max=n_a - 1)
        outcome = (u[:, 1:] >= tables.cdf[state, action]).sum(axis=1)
        rewards.append(np.where(alive, tables.reward[state, action, outcome], 0.0))
        state = np.where(alive, tables.next_state[state, action, outcome], state)
        lengths += alive
        alive = alive & ~tables.terminated[states[-1], action, outcome]
        states.append(state)
    shaped = (runs, episodes, -1)
    rewards_a = np.stack(rewards, axis=1).reshape(shaped) if rewards else np.zeros((runs, episodes, 0))
    return Episodes(np.stack(states, axis=1).reshape(shaped), rewards_a, lengths.reshape(runs, episodes), terminal, n_s)


def initial_values(episodes: Episodes, learners: int, v0: float) -> np.ndarray:
    """(learners, runs, states): ``v0`` everywhere but 0 at the terminal states."""
    values = np.full((learners, episodes.runs, episodes.n_states), float(v0))
    values[..., episodes.terminal] = 0.0
    return values


@dataclass(frozen=True)
class Episode:
    """One episode of every run, the runs sorted longest first (``order``): ``states`` (R, L + 1),
    ``rewards`` (R, L), ``lengths`` (R,) and ``returns`` (R, L + 1), G_t with G_t = 0 from T on."""

    order: np.ndarray
    states: np.ndarray
    rewards: np.ndarray
    lengths: np.ndarray
    returns: np.ndarray


def returns_to_go(rewards: np.ndarray, lengths: np.ndarray, gamma: float) -> np.ndarray:
    """G_t = R_{t+1} + γ G_{t+1} for t = 0 … L, with G_t = 0 from T on: (runs, L + 1)."""
    g = np.zeros((rewards.shape[0], rewards.shape[1] + 1))
    for t in range(rewards.shape[1] - 1, -1, -1):
        g[:, t] = rewards[:, t] + gamma * g[:, t + 1]
    g[np.arange(g.shape[1]) >= lengths[:, None]] = 0.0
    return g


def by_episode(episodes: Episodes, gamma: float) -> Iterator[tuple[int, Episode]]:
    """Episode by episode: (e, that episode of every run with the runs sorted longest first)."""
    for e in range(episodes.count):
        order = np.argsort(-episodes.lengths[:, e], kind="stable")
        lengths = episodes.lengths[order, e]
        end = int(lengths.max(initial=0))  # the padding past the longest of them is not needed
        states, rewards = episodes.states[order, e, : end + 1], episodes.rewards[order, e, :end]
        yield e, Episode(order, states, rewards, lengths, returns_to_go(rewards, lengths, gamma))


Step = Callable[[np.ndarray, int, "Episode", int], None]


def learn_by_steps(
    episodes: Episodes, learners: int, v0: float, gamma: float, step: Step | None = None, at_end: Step | None = None
) -> np.ndarray:
    """The loop the methods share: for each episode, ``step(values, t, episode, live)`` for t = 0 …
    T − 1 of the longest, ``values`` (learners, live, states) being those of the ``live`` runs still
    going (the first of the sorted ones); then ``at_end(values, T, episode, runs)`` for all runs.
    Returns the values after every episode: (learners, runs, episodes + 1, states)."""
    values = initial_values(episodes, learners, v0)
    history = np.empty((learners, episodes.runs, episodes.count + 1, episodes.n_states))
    history[:, :, 0] = values
    for e, episode in by_episode(episodes, gamma):
        mine = values[:, episode.order]
        for t in range(episode.rewards.shape[1] if step is not None else 0):
            live = int((episode.lengths > t).sum())
            step(mine[:, :live], t, episode, live)
        if at_end is not None:
            at_end(mine, episode.rewards.shape[1], episode, episodes.runs)
        values[:, episode.order] = mine
        history[:, :, e + 1] = values
    return history


def td0(episodes: Episodes, alphas: np.ndarray, v0: float = 0.0, gamma: float = 1.0) -> np.ndarray:
    """TD(0) with each step size of ``alphas`` (one learner each): the values after every episode."""
    alpha = np.asarray(alphas, dtype=float)[:, None]

    def step(v: np.ndarray, t: int, episode: Episode, live: int) -> None:
        runs, s, s_next = np.arange(live), episode.states[:live, t], episode.states[:live, t + 1]
        v[:, runs, s] += alpha * (episode.rewards[:live, t] + gamma * v[:, runs, s_next] - v[:, runs, s])

    return learn_by_steps(episodes, len(alpha), v0, gamma, step)


def constant_alpha_mc(episodes: Episodes, alphas: np.ndarray, v0: float = 0.0, gamma: float = 1.0) -> np.ndarray:
    """Every-visit constant-α Monte Carlo (the book's (6.1)) with each step size of ``alphas``."""
    alpha = np.asarray(alphas, dtype=float)[:, None]

    def at_end(v: np.ndarray, end: int, episode: Episode, runs: int) -> None:
        for t in range(end):
            live = int((episode.lengths > t).sum())
            mine, s = v[:, :live], episode.states[:live, t]
            mine[:, np.arange(live), s] += alpha * (episode.returns[:live, t] - mine[:, np.arange(live), s])

    return learn_by_steps(episodes, len(alpha), v0, gamma, at_end=at_end)


def nstep_td(episodes: Episodes, ns: np.ndarray, alphas: np.ndarray, v0: float = 0.0, gamma: float = 1.0) -> np.ndarray:
    """n-step TD (the book's (7.2)) with one learner per (n, α) pair of ``ns`` and ``alphas``.

    S_τ is updated in the order τ = 0, 1, …, each update reading V(S_{τ+n}) as the earlier ones left
    it: what the book's algorithm reads when it makes the update at time τ + n − 1."""
    n = np.asarray(ns, dtype=np.int64)[:, None]
    alpha = np.asarray(alphas, dtype=float)[:, None]
    discount = gamma ** n.astype(float)
    learners = np.arange(len(n))[:, None]

    def step(v: np.ndarray, t: int, episode: Episode, live: int) -> None:
        runs, s = np.arange(live), episode.states[:live, t]
        horizon = np.minimum(t + n, episode.lengths[:live])  # (learners, live): τ + n, or T if sooner
        g = episode.returns[:live]
        target = g[:, t] - discount * g[runs, horizon] + discount * v[learners, runs, episode.states[runs, horizon]]
        v[:, runs, s] += alpha * (target - v[:, runs, s])

    return learn_by_steps(episodes, len(n), v0, gamma, step)


def batch_mc(episodes: Episodes, v0: float = 0.0, gamma: float = 1.0) -> np.ndarray:
    """Batch Monte Carlo after every episode: each state's mean return over all its visits so far
    (``v0`` until it is visited). Values (1, runs, episodes + 1, states)."""
    runs, n_s = episodes.runs, episodes.n_states
    total, visits = np.zeros((runs, n_s)), np.zeros((runs, n_s))
    history = np.empty((1, runs, episodes.count + 1, n_s))
    history[0, :, 0] = initial_values(episodes, 1, v0)[0]
    for e in range(episodes.count):
        lengths = episodes.lengths[:, e]
        g = returns_to_go(episodes.rewards[:, e], lengths, gamma)[:, :-1]
        live = np.arange(g.shape[1]) < lengths[:, None]
        run_index = np.broadcast_to(np.arange(runs)[:, None], live.shape)
        np.add.at(total, (run_index[live], episodes.states[:, e, :-1][live]), g[live])
        np.add.at(visits, (run_index[live], episodes.states[:, e, :-1][live]), 1.0)
        values = np.where(visits > 0, total / np.maximum(visits, 1), v0)
        values[:, episodes.terminal] = 0.0
        history[0, :, e + 1] = values
    return history


def batch_td(episodes: Episodes, v0: float = 0.0, gamma: float = 1.0) -> np.ndarray:
    """Batch TD(0) after every episode: v of the maximum-likelihood model of all transitions so far,
    V = r̂ + γ P̂ V on the visited states (``v0`` elsewhere: nothing seen leads there). Values (1,
    runs, episodes + 1, states)."""
    runs, n_s = episodes.runs, episodes.n_states
    counts, reward_sums = np.zeros((runs, n_s, n_s)), np.zeros((runs, n_s))
    history = np.empty((1, runs, episodes.count + 1, n_s))
    history[0, :, 0] = initial_values(episodes, 1, v0)[0]
    eye = np.eye(n_s)
    for e in range(episodes.count):
        lengths = episodes.lengths[:, e]
        states = episodes.states[:, e]
        live = np.arange(states.shape[1] - 1) < lengths[:, None]
        run_index = np.broadcast_to(np.arange(runs)[:, None], live.shape)
        s, s_next = states[:, :-1][live], states[:, 1:][live]
        np.add.at(counts, (run_index[live], s, s_next), 1.0)
        np.add.at(reward_sums, (run_index[live], s), episodes.rewards[:, e][live])
        visits = counts.sum(axis=2)
        seen = (visits > 0) & ~episodes.terminal
        model = counts / np.maximum(visits, 1)[..., None]
        model[..., episodes.terminal] = 0.0  # V(terminal) = 0
        system = np.where(seen[..., None], eye - gamma * model, eye)
        rhs = np.where(seen, reward_sums / np.maximum(visits, 1), np.where(episodes.terminal, 0.0, v0))
        history[0, :, e + 1] = np.linalg.solve(system, rhs[..., None])[..., 0]
    return history


def rms_error(history: np.ndarray, true_values: np.ndarray, terminal: np.ndarray) -> np.ndarray:
    """√(mean over the non-terminal states of (V − v_π)²): one per learner, run and episode."""
    error = history[..., ~terminal] - np.asarray(true_values)[~terminal]
    return np.sqrt((error**2).mean(axis=-1))
