"""Tabular prediction with λ-returns and eligibility traces (Sutton & Barto, chapter 12) as plain
numpy functions on the episodes of :mod:`rlsuite.learning.prediction`: the offline λ-return
algorithm, TD(λ) with accumulating traces and true online TD(λ) with dutch traces.

Each takes one (λ, α) pair per learner and returns the values after every episode,
``(learners, runs, episodes + 1, states)``, as the methods of :mod:`rlsuite.learning.prediction`
do (and through the same loop). In the tabular case a state's feature vector is one-hot, so
``w`` is V itself, ``v̂(s) = V(s)`` and the gradient is the indicator of S_t:

* offline λ-return (12.4): at the episode's end, G^λ_t from the values the episode started with,
  by G^λ_t = R_{t+1} + γ [(1 − λ) V(S_{t+1}) + λ G^λ_{t+1}] (G^λ_{T−1} = R_T), then
  V(S_t) += α [G^λ_t − V(S_t)] for t = 0 … T−1 in order;
* TD(λ) (12.5–12.7): z ← γλ z + 1_{S_t}, δ = R_{t+1} + γ V(S_{t+1}) − V(S_t), V += α δ z;
* true online TD(λ) (12.11 and the book's box): z ← γλ z + (1 − αγλ z(S_t)) 1_{S_t},
  V += α (δ + V(S_t) − V_old) z − α (V(S_t) − V_old) 1_{S_t}, V_old ← V(S_{t+1}).

The traces start at 0 in every episode. A step size too large for λ diverges; the values then
overflow to ±inf or nan, which the errors show as such (numpy's overflow warnings are silenced).
"""

from __future__ import annotations

import numpy as np

from rlsuite.learning.prediction import Episode, Episodes, learn_by_steps


def _settings(lambdas: np.ndarray, alphas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """λ and α as (learners, 1) columns, broadcasting against (learners, runs)."""
    return np.asarray(lambdas, dtype=float)[:, None], np.asarray(alphas, dtype=float)[:, None]


def offline_lambda_return(
    episodes: Episodes, lambdas: np.ndarray, alphas: np.ndarray, v0: float = 0.0, gamma: float = 1.0
) -> np.ndarray:
    """The offline λ-return algorithm with one learner per (λ, α) pair: the values after every episode."""
    lam, alpha = _settings(lambdas, alphas)

    def at_end(v: np.ndarray, end: int, episode: Episode, runs: int) -> None:
        index = np.arange(runs)
        target = np.zeros((len(lam), runs, end + 1))  # G^λ_t; 0 from T on
        for t in range(end - 1, -1, -1):
            s_next = episode.states[:, t + 1]
            g = episode.rewards[:, t] + gamma * ((1 - lam) * v[:, index, s_next] + lam * target[:, :, t + 1])
            target[:, :, t] = np.where(t < episode.lengths, g, 0.0)
        for t in range(end):
            live = int((episode.lengths > t).sum())
            mine, s = v[:, :live], episode.states[:live, t]
            mine[:, np.arange(live), s] += alpha * (target[:, :live, t] - mine[:, np.arange(live), s])

    with np.errstate(over="ignore", invalid="ignore"):
        return learn_by_steps(episodes, len(lam), v0, gamma, at_end=at_end)


def td_lambda(
    episodes: Episodes, lambdas: np.ndarray, alphas: np.ndarray, v0: float = 0.0, gamma: float = 1.0
) -> np.ndarray:
    """TD(λ) with accumulating traces, one learner per (λ, α) pair: the values after every episode."""
    lam, alpha = _settings(lambdas, alphas)
    decay = (gamma * lam)[..., None]
    traces = np.zeros((len(lam), episodes.runs, episodes.n_states))

    def step(v: np.ndarray, t: int, episode: Episode, live: int) -> None:
        if t == 0:
            traces.fill(0.0)
        z, runs = traces[:, :live], np.arange(live)
        s, s_next = episode.states[:live, t], episode.states[:live, t + 1]
        delta = episode.rewards[:live, t] + gamma * v[:, runs, s_next] - v[:, runs, s]
        z *= decay
        z[:, runs, s] += 1.0
        v += (alpha * delta)[..., None] * z

    with np.errstate(over="ignore", invalid="ignore"):
        return learn_by_steps(episodes, len(lam), v0, gamma, step)


def true_online_td_lambda(
    episodes: Episodes, lambdas: np.ndarray, alphas: np.ndarray, v0: float = 0.0, gamma: float = 1.0
) -> np.ndarray:
    """True online TD(λ) with dutch traces, one learner per (λ, α) pair: the values after every episode."""
    lam, alpha = _settings(lambdas, alphas)
    decay = (gamma * lam)[..., None]
    traces = np.zeros((len(lam), episodes.runs, episodes.n_states))
    v_old = np.zeros((len(lam), episodes.runs))

    def step(v: np.ndarray, t: int, episode: Episode, live: int) -> None:
        if t == 0:
            traces.fill(0.0)
            v_old.fill(0.0)
        z, old, runs = traces[:, :live], v_old[:, :live], np.arange(live)
        s, s_next = episode.states[:live, t], episode.states[:live, t + 1]
        value, value_next = v[:, runs, s], v[:, runs, s_next]
        delta = episode.rewards[:live, t] + gamma * value_next - value
        dutch = 1.0 - alpha * gamma * lam * z[:, runs, s]
        z *= decay
        z[:, runs, s] += dutch
        v += (alpha * (delta + value - old))[..., None] * z
        v[:, runs, s] -= alpha * (value - old)
        old[:] = value_next

    with np.errstate(over="ignore", invalid="ignore"):
        return learn_by_steps(episodes, len(lam), v0, gamma, step)
