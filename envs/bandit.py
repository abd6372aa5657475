"""Sutton & Barto's k-armed testbed (section 2.3, Figures 2.2–2.6), stationary or not (Exercise 2.5).

A bandit is a one-state continuing task: the observation is always 0 and the actions are the k
arms. Pulling arm a gives a reward drawn from N(q*(a), 1). Each episode is one problem of the
testbed: ``reset`` draws the true values q*(a) from N(mean, initial_std²) (the book: N(0, 1), or
N(4, 1) for Figure 2.5). With ``walk_std`` > 0 the problem is non-stationary: after every step each
q*(a) takes an independent N(0, walk_std²) step (Exercise 2.5: all start equal, initial_std = 0,
and walk with walk_std = 0.01). The task never terminates; the registered time limit (1000 steps,
the book's run) truncates it, and the next episode is a new problem, unless ``problem_seed`` fixes
one problem for every episode (so that an evaluation faces the problem the agent trained on).

``P[0][a] = [(1.0, 0, q*(a), False)]`` holds the current expected rewards, so ``rlsuite.solve(env,
gamma=0)`` gives q* exactly; ``info["optimal_action"]`` names an arm of the largest q*(a).

:class:`Testbed` is the same problem for many runs at once in numpy (run k draws from its own
random stream, keyed by its seed): what the chapter-2 figures pull their thousands of arms from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlsuite.core.errors import RLSuiteError
from rlsuite.core.streams import Streams

_SPAWN = 0x62616E64  # "band": the testbed's streams stay apart from an agent's streams of the same seed


def check_testbed(k: int, initial_std: float, walk_std: float) -> int:
    """``k`` as an int, or one line naming the bad argument."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise RLSuiteError(f"k={k!r} is not a number of arms; pass a whole number >= 1 (the book's testbed: 10).")
    for name, value in (("initial_std", initial_std), ("walk_std", walk_std)):
        if not value >= 0:
            raise RLSuiteError(f"{name}={value!r} is not a standard deviation; choose a value >= 0.")
    return int(k)


class BanditEnv(gym.Env):
    """``rlsuite/Bandit-v0`` (stationary) and ``rlsuite/BanditNonstationary-v0`` (Exercise 2.5).

    Args:
        k: the number of arms (the book: 10).
        mean: the mean of the true values q*(a) at the start of an episode.
        initial_std: their standard deviation (0: every arm starts at ``mean``).
        walk_std: the standard deviation of each q*(a)'s random-walk step after every pull; 0 keeps
            the problem stationary.
        problem_seed: None (the default) draws a new problem at every reset, with the env's
            ``np_random``; a seed draws the same problem at every reset (its rewards stay random).
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}
    state_names = ("bandit",)

    def __init__(
        self,
        k: int = 10,
        mean: float = 0.0,
        initial_std: float = 1.0,
        walk_std: float = 0.0,
        problem_seed: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        self.k = check_testbed(k, initial_std, walk_std)
        if problem_seed is not None and not (isinstance(problem_seed, (int, np.integer)) and problem_seed >= 0):
            raise RLSuiteError(f"problem_seed={problem_seed!r} is not a seed; pass a whole number >= 0, or None.")
        self.problem_seed = problem_seed
        if render_mode not in (None, "ansi"):
            raise RLSuiteError(f"render_mode={render_mode!r} is not supported; use None or 'ansi'.")
        self.mean, self.initial_std, self.walk_std = float(mean), float(initial_std), float(walk_std)
        self.render_mode = render_mode
        self.observation_space = spaces.Discrete(1)
        self.action_space = spaces.Discrete(self.k)
        self.action_names = tuple(f"arm {a}" for a in range(self.k))
        self.q_star = np.full(self.k, self.mean)
        self.P: dict[int, dict[int, list[tuple[float, int, float, bool]]]] = {0: {}}
        self._set_p()

    def _set_p(self) -> None:
        self.P[0] = {a: [(1.0, 0, float(q), False)] for a, q in enumerate(self.q_star)}

    def _info(self) -> dict[str, Any]:
        return {"optimal_action": int(np.argmax(self.q_star))}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        draw = self.np_random if self.problem_seed is None else np.random.default_rng(self.problem_seed)
        self.q_star = self.mean + self.initial_std * draw.standard_normal(self.k)
        self._set_p()
        return 0, self._info()

    def step(self, action):
        action = int(action)
        if not 0 <= action < self.k:
            raise RLSuiteError(f"action {action} is not an arm of this {self.k}-armed bandit; pull 0 … {self.k - 1}.")
        reward = float(self.q_star[action] + self.np_random.standard_normal())
        if self.walk_std > 0:
            self.q_star = self.q_star + self.walk_std * self.np_random.standard_normal(self.k)
            self._set_p()
        return 0, reward, False, False, self._info()

    def render(self):
        return "q*: " + " ".join(f"{q:+.2f}" for q in self.q_star)


class Testbed:
    """``len(seeds)`` runs of the k-armed testbed at once, one problem per run, stepped in numpy.

    Run k's true values and rewards come from its own stream (:class:`rlsuite.core.streams.Streams`,
    keyed by ``seeds[k]``), so a run is the same whichever runs sit beside it. The arguments are
    :class:`BanditEnv`'s.
    """

    def __init__(
        self, seeds: Sequence[int], k: int = 10, mean: float = 0.0, initial_std: float = 1.0, walk_std: float = 0.0
    ) -> None:
        self.k = check_testbed(k, initial_std, walk_std)
        self.walk_std = float(walk_std)
        self.streams = Streams(seeds, spawn=(_SPAWN,))
        self.runs = len(seeds)
        self.q_star = mean + initial_std * self.streams.normal((self.runs, self.k))
        self._rows = np.arange(self.runs)

    def optimal(self, actions: np.ndarray) -> np.ndarray:
        """Whether each run's arm has the largest true value of its problem (ties all count)."""
        return self.q_star[self._rows, actions] >= self.q_star.max(axis=1)

    def pull(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rewards, whether each arm was optimal), one per run; then a non-stationary testbed's values walk."""
        optimal = self.optimal(actions)
        rewards = self.q_star[self._rows, actions] + self.streams.normal((self.runs, 1))[:, 0]
        if self.walk_std > 0:
            self.q_star = self.q_star + self.streams.normal((self.runs, self.k), self.walk_std)
        return rewards, optimal
