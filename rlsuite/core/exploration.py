"""ε-greedy action choice, written once for every value-based agent (tabular and neural)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def random_allowed(n_actions: int, n: int, mask: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """``n`` actions drawn uniformly from each row's allowed actions (all actions without a mask)."""
    if mask is None:
        return rng.integers(0, n_actions, size=n)
    return (np.asarray(mask, dtype=bool) * (1.0 + rng.random((n, n_actions)))).argmax(axis=1)


def greedy(values: np.ndarray, mask: np.ndarray | None = None, rng: np.random.Generator | None = None) -> np.ndarray:
    """The best allowed action of each row of ``values`` (N, A); ties go to the lowest action, or to
    a uniformly random one of the tied actions when ``rng`` is given."""
    if mask is not None:
        values = np.where(np.asarray(mask, dtype=bool), values, -np.inf)
    if rng is None:
        return values.argmax(axis=1)
    best = values == values.max(axis=1, keepdims=True)
    return (best * (1.0 + rng.random(values.shape))).argmax(axis=1)


def epsilon_greedy(values: Callable[[], np.ndarray], n_actions: int, n: int, epsilon: float,
                   rng: np.random.Generator, mask: np.ndarray | None = None, random_ties: bool = False) -> np.ndarray:
    """``n`` actions: per row, with probability ``epsilon`` a random allowed action, else the greedy one.

    ``values()`` returns the (n, n_actions) action values; it is called only when some row acts
    greedily, so a Q-network's forward is skipped on fully random steps. ``epsilon`` = 0 draws
    nothing from ``rng`` (a deterministic action leaves the agent's random stream as it was).
    """
    if epsilon <= 0:
        return greedy(values(), mask)
    explore = rng.random(n) < epsilon
    if explore.all():
        return random_allowed(n_actions, n, mask, rng)
    actions = greedy(values(), mask, rng if random_ties else None)
    if explore.any():
        actions = np.where(explore, random_allowed(n_actions, n, mask, rng), actions)
    return actions
