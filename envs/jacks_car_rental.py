"""Jack's car rental (Sutton & Barto, Example 4.2, Figure 4.2), a continuing finite MDP.

Jack manages two locations with at most 20 cars each. The state is the number of cars at each
location at the end of a day, ``state = 21 * n1 + n2`` (n1 at the first location). Overnight he
moves up to 5 cars between them, $2 a car: action ``a`` moves ``a - 5`` cars from the first location
to the second (negative: from the second to the first). Next day the requests at each location are
Poisson (means 3 and 4); each car rented earns $10, a request with no car left is lost; the returns
(Poisson, means 3 and 2) are available the day after. A location never holds more than 20 cars:
extra cars, moved or returned, go back to the nationwide company. γ = 0.9 in the book.

A(s) is the moves the locations can supply, −min(5, n2) … min(5, n1); ``info["action_mask"]`` and
``action_mask(state)`` say so. A move beyond the cars there moves the cars there (and costs them).

``P`` is exact, with no truncation of the Poisson tails: a location with c cars rents min(requests, c),
so every request count ≥ c is one outcome (its tail probability), and every count of returns that
fills the location to 20 is one outcome too. ``P[s][a]`` lists the next states with their
probabilities and, as the reward, the expected reward r(s, a) (the reward itself depends on the
rentals, not on the next state alone); the same numbers as dense arrays are :meth:`dynamics`. ``P``
is computed per (s, a) when read, from those arrays: 441 states × 11 actions × up to 441 next
states would be two million tuples held for nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from itertools import repeat
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlsuite.core.errors import RLSuiteError

MAX_CARS, MAX_MOVE = 20, 5
RENT, MOVE_COST = 10.0, 2.0
REQUESTS, RETURNS = (3.0, 4.0), (3.0, 2.0)  # Poisson means at the first and the second location
N = MAX_CARS + 1  # car counts 0 … 20


def poisson(mean: float, n: int) -> np.ndarray:
    """P(X = k) for k = 0 … n − 1 of a Poisson(mean) X."""
    return np.array(
        [math.exp(-mean + k * math.log(mean) - math.lgamma(k + 1)) if mean > 0 else float(k == 0) for k in range(n)]
    )


def location(requests: float, returns: float) -> tuple[np.ndarray, np.ndarray]:
    """One location's day from c cars (c = 0 … 20 after the move): the expected cars rented (21,),
    and p(next count | c) (21 × 21), exact: the tails of both Poisson counts are lumped where they
    saturate (all cars rented, the location full)."""
    p_req, p_ret = poisson(requests, N + 1), poisson(returns, N + 1)
    rented_mean = np.zeros(N)
    after_rent = np.zeros((N, N))  # p(cars left after rentals | c)
    for c in range(N):
        p = p_req[:c].tolist() + [1.0 - p_req[:c].sum()]  # rented 0 … c − 1, and c (requests >= c)
        rented_mean[c] = float(np.dot(np.arange(c + 1), p))
        after_rent[c, c - np.arange(c + 1)] = p
    refill = np.zeros((N, N))  # p(next count | left after rentals)
    for left in range(N):
        room = MAX_CARS - left
        refill[left, left:MAX_CARS] = p_ret[:room]
        refill[left, MAX_CARS] = 1.0 - p_ret[:room].sum()  # returns >= room fill the location
    return rented_mean, after_rent @ refill


class _Outcomes(Mapping):
    """``P[s]``: action → [(prob, next_state, expected reward, False), ...], built when read."""

    def __init__(self, env: JacksCarRentalEnv, state: int) -> None:
        self.env, self.state = env, state

    def __getitem__(self, action: int) -> list[tuple[float, int, float, bool]]:
        reward, prob = self.env.outcome(self.state, int(action))
        states = np.flatnonzero(prob)
        return list(zip(prob[states].tolist(), states.tolist(), repeat(reward), repeat(False)))

    def __iter__(self) -> Iterator[int]:
        return iter(range(2 * MAX_MOVE + 1))

    def __len__(self) -> int:
        return 2 * MAX_MOVE + 1


class _TransitionTable(Mapping):
    """``P``: state → :class:`_Outcomes`."""

    def __init__(self, env: JacksCarRentalEnv) -> None:
        self.env = env

    def __getitem__(self, state: int) -> _Outcomes:
        if not 0 <= int(state) < N * N:
            raise KeyError(state)
        return _Outcomes(self.env, int(state))

    def __iter__(self) -> Iterator[int]:
        return iter(range(N * N))

    def __len__(self) -> int:
        return N * N


class JacksCarRentalEnv(gym.Env):
    """``rlsuite/JacksCarRental-v0``: observation ``21 * n1 + n2``, action ``a``: move ``a − 5`` cars
    from the first location to the second.

    Args:
        start: the state to start in; None (the default) draws one uniformly at every reset.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}
    state_names = tuple(f"({n1},{n2})" for n1 in range(N) for n2 in range(N))
    action_names = tuple(f"move {m:+d}" for m in range(-MAX_MOVE, MAX_MOVE + 1))

    def __init__(self, start: int | None = None, render_mode: str | None = None) -> None:
        if start is not None and not (isinstance(start, (int, np.integer)) and 0 <= start < N * N):
            raise RLSuiteError(f"start={start!r} is not a state; pass 21 * n1 + n2 with 0 <= n1, n2 <= 20, or None.")
        if render_mode not in (None, "ansi"):
            raise RLSuiteError(f"render_mode={render_mode!r} is not supported; use None or 'ansi'.")
        self.start, self.render_mode = start, render_mode
        self.observation_space = spaces.Discrete(N * N)
        self.action_space = spaces.Discrete(2 * MAX_MOVE + 1)
        self._days = [location(REQUESTS[i], RETURNS[i]) for i in range(2)]
        self.P = _TransitionTable(self)
        self.state = 0

    @staticmethod
    def cars(state: int) -> tuple[int, int]:
        """(cars at the first location, cars at the second)."""
        return divmod(int(state), N)

    def moved(self, state: int, action: int) -> int:
        """The cars actually moved from the first location to the second: the action's move, as far as the cars go."""
        n1, n2 = self.cars(state)
        return int(np.clip(action - MAX_MOVE, -n2, n1))

    def action_mask(self, state: int) -> np.ndarray:
        """A(s) as a 0/1 vector: the moves of at most 5 cars that the locations hold."""
        n1, n2 = self.cars(state)
        moves = np.arange(-MAX_MOVE, MAX_MOVE + 1)
        return ((moves >= -n2) & (moves <= n1)).astype(np.int8)

    def outcome(self, state: int, action: int) -> tuple[float, np.ndarray]:
        """(r(s, a), p(s' | s, a) over the 441 states) of one state and action."""
        n1, n2 = self.cars(state)
        m = self.moved(state, action)
        c1, c2 = min(n1 - m, MAX_CARS), min(n2 + m, MAX_CARS)
        (rent1, next1), (rent2, next2) = self._days
        reward = RENT * (rent1[c1] + rent2[c2]) - MOVE_COST * abs(m)
        return float(reward), np.outer(next1[c1], next2[c2]).reshape(-1)

    def dynamics(self) -> tuple[np.ndarray, np.ndarray]:
        """(r(s, a) as states × actions, p(s' | s, a) as states × actions × states): ``P`` as arrays."""
        n_s, n_a = N * N, 2 * MAX_MOVE + 1
        reward, prob = np.zeros((n_s, n_a)), np.zeros((n_s, n_a, n_s))
        for s in range(n_s):
            for a in range(n_a):
                reward[s, a], prob[s, a] = self.outcome(s, a)
        return reward, prob

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.state = self.start if self.start is not None else int(self.np_random.integers(N * N))
        return self.state, {"action_mask": self.action_mask(self.state)}

    def step(self, action):
        n1, n2 = self.cars(self.state)
        m = self.moved(self.state, int(action))
        reward, cars = -MOVE_COST * abs(m), [min(n1 - m, MAX_CARS), min(n2 + m, MAX_CARS)]
        for i in range(2):
            rented = min(int(self.np_random.poisson(REQUESTS[i])), cars[i])
            reward += RENT * rented
            cars[i] = min(cars[i] - rented + int(self.np_random.poisson(RETURNS[i])), MAX_CARS)
        self.state = cars[0] * N + cars[1]
        return self.state, float(reward), False, False, {"action_mask": self.action_mask(self.state)}

    def render(self):
        n1, n2 = self.cars(self.state)
        return f"first location: {n1} cars, second location: {n2} cars"
