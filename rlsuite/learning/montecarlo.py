"""Monte Carlo methods of Sutton & Barto's chapter 5 on Blackjack, as plain numpy functions over many
episodes at once (:func:`rlsuite.vecenv.blackjack.play` plays them): first-visit MC prediction,
Monte Carlo ES, and off-policy prediction by ordinary and weighted importance sampling.

Blackjack's episodes are undiscounted and reward only their last step, so every step's return G_t
is the episode's reward. No state comes back within an episode (without a change of the usable-ace
flag each hit raises the sum), so first visits are all the visits and one ``bincount`` over the
played states sums the returns of a whole batch of episodes.

* First-visit MC prediction: V(s) = the mean of the returns that followed the visits to s.
* Monte Carlo ES: exploring starts (the 200 states of sums 12–21 equally likely, the first action
  at random), then the greedy policy; Q(s, a) the mean of all returns after (s, a). The book
  improves the policy after each episode; here after each batch of ``batch`` episodes (one numpy
  pass each). The policy starts as the book's, sticking on 20 and 21, and a tie keeps it.
* Off-policy prediction of one state: the behaviour hits or sticks at random, the target policy is
  deterministic, so the ratio ρ = Π π(A_t|S_t) / b(A_t|S_t) is 0 or 2^T. Ordinary importance sampling
  estimates V = Σ ρ_i G_i / n, weighted importance sampling Σ ρ_i G_i / Σ ρ_i (0 while Σ ρ_i = 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rlsuite.vecenv.blackjack import SHAPE, Episodes, play, stick_on

N_STATES = int(np.prod(SHAPE))


def _visits(episodes: Episodes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(states, actions, returns) of every step of every episode, flat."""
    valid = episodes.states >= 0
    returns = np.broadcast_to(episodes.reward[:, None], valid.shape)
    return episodes.states[valid].astype(np.int64), episodes.actions[valid].astype(np.int64), returns[valid]


def first_visit_prediction(
    policy: np.ndarray, checkpoints: Sequence[int], rng: np.random.Generator, chunk: int = 100_000
) -> dict[int, np.ndarray]:
    """V of ``policy`` (hit probabilities) by first-visit MC, after each of ``checkpoints`` episodes
    (dealt as Gymnasium deals them): {episodes: (32, 11, 2) table}; a state never visited is 0."""
    sums, counts, done, out = np.zeros(N_STATES), np.zeros(N_STATES), 0, {}
    for target in sorted(checkpoints):
        while done < target:
            n = min(chunk, target - done)
            states, _, returns = _visits(play(policy, n, rng))
            sums += np.bincount(states, weights=returns, minlength=N_STATES)
            counts += np.bincount(states, minlength=N_STATES)
            done += n
        out[target] = (sums / np.maximum(counts, 1)).reshape(SHAPE)
    return out


def monte_carlo_es(
    episodes: int, rng: np.random.Generator, batch: int = 1000
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Monte Carlo ES for ``episodes`` episodes: (Q (32, 11, 2, 2) by action 0 stick / 1 hit, the greedy
    policy (32, 11, 2), 1 = hit, and the visit counts of (s, a))."""
    policy = stick_on(20)
    sums, counts = np.zeros(2 * N_STATES), np.zeros(2 * N_STATES)
    for start in range(0, episodes, batch):
        states, actions, returns = _visits(play(policy, min(batch, episodes - start), rng, "uniform", True))
        pairs = 2 * states + actions
        sums += np.bincount(pairs, weights=returns, minlength=2 * N_STATES)
        counts += np.bincount(pairs, minlength=2 * N_STATES)
        q = (sums / np.maximum(counts, 1)).reshape(*SHAPE, 2)
        policy = np.where(q[..., 1] > q[..., 0], 1.0, np.where(q[..., 1] < q[..., 0], 0.0, policy))
    return q, policy, counts.reshape(*SHAPE, 2)


def off_policy_errors(
    target: np.ndarray,
    start: tuple[int, int, int],
    true_value: float,
    episodes: int,
    runs: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean squared error over ``runs`` of the ordinary and of the weighted importance-sampling estimate
    of v_target(``start``) after each of 1..``episodes`` episodes of the random behaviour policy:
    two arrays of shape (episodes,)."""
    target_hits = target.reshape(-1) > 0.5  # the target policy is deterministic
    ordinary, weighted = np.zeros(episodes), np.zeros(episodes)
    for first in range(0, runs, chunk := max(1, 100_000 // episodes)):  # ~100k episodes at a time
        some = min(chunk, runs - first)
        played = play(np.full(SHAPE, 0.5), some * episodes, rng, start)
        valid = played.states >= 0
        follows = ~valid | ((played.actions == 1) == target_hits[np.where(valid, played.states, 0)])
        rho = np.where(follows.all(axis=1), 2.0**played.lengths, 0.0).reshape(some, episodes)
        sums = np.cumsum(rho * played.reward.reshape(some, episodes), axis=1)
        weights = np.cumsum(rho, axis=1)
        by_ratio = np.divide(sums, weights, out=np.zeros_like(weights), where=weights > 0)
        ordinary += ((sums / np.arange(1, episodes + 1) - true_value) ** 2).sum(axis=0)
        weighted += ((by_ratio - true_value) ** 2).sum(axis=0)
    return ordinary / runs, weighted / runs
