"""ε-greedy action choice, written once for every value-based agent (tabular and neural)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def epsilon_greedy(
    values: Callable[[], np.ndarray],
    n_actions: int,
    n: int,
    epsilon: float,
    rng: np.random.Generator,
    mask: np.ndarray | None = None,
    random_ties: bool = False,
) -> np.ndarray:
    """``n`` actions: per row, with probability ``epsilon`` a uniformly random allowed action, else
    the greedy one (the best allowed action; among equal values the lowest, or a random one
    with ``random_ties``).

    ``values()`` returns the (n, n_actions) action values; it is called only when some row acts
    greedily, so a Q-network's forward is skipped on fully random steps. ``mask`` (n, n_actions)
    marks the allowed actions. One draw of (n, 1 + n_actions) uniforms per call serves both the
    explore decision and the choice among candidates (numpy calls, not arithmetic, are the cost
    at these sizes). ``epsilon`` = 0 draws nothing: a deterministic action leaves the agent's
    random stream as it was.
    """
    allowed = None if mask is None else as_bool(mask)
    if epsilon <= 0:
        return masked(values(), allowed).argmax(axis=1)
    u = rng.random((n, n_actions + 1))
    explore, noise = u[:, 0] < epsilon, u[:, 1:]
    if explore.all():
        candidates = np.ones((n, n_actions), bool) if allowed is None else allowed
        return (candidates + noise).argmax(axis=1)
    q = masked(values(), allowed)
    if random_ties:
        q = q == q.max(axis=1, keepdims=True)
    elif not explore.any():
        return q.argmax(axis=1)
    else:
        q = np.arange(n_actions) == q.argmax(axis=1, keepdims=True)
    candidates = np.where(explore[:, None], True if allowed is None else allowed, q)
    return (candidates + noise).argmax(axis=1)


def as_bool(mask: np.ndarray) -> np.ndarray:
    """A 0/1 mask as booleans; an int8 or uint8 one is reinterpreted in place, not converted."""
    mask = np.asarray(mask)
    return mask.view(bool) if mask.dtype in (np.int8, np.uint8) else mask.astype(bool, copy=False)


def masked(values: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    """``values`` (rows × actions) with the actions outside A(s) at −inf (``allowed`` None: all allowed)."""
    return values if allowed is None else np.where(allowed, values, -np.inf)
