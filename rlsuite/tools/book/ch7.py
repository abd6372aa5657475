"""Chapter 7, n-step bootstrapping: Figure 7.2, n-step TD on the 19-state random walk.

The episodes of the random policy on rlsuite/RandomWalk19-v0 (rewards −1 and +1, γ = 1, V = 0 at
first) are drawn once per run from the env's ``P``; n-step TD (:func:`rlsuite.learning.prediction.
nstep_td`) learns from them with every n = 1, 2, 4, …, 512 and step size α at once, one learner per
(n, α). The measure is the book's: the RMS error over the 19 states at the end of each episode,
averaged over the first 10 episodes and the runs (100, as the book). n-step Sarsa, the chapter's
control method, is the registered agent ``nstep_sarsa``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rlsuite.tools.book import Figure

WALK19, EPISODES = "rlsuite/RandomWalk19-v0", 10
ALPHAS = tuple(float(a) for a in np.round(np.r_[0.0, 0.025, 0.05, 0.075, np.arange(0.1, 1.0001, 0.05)], 3))
NS = tuple(2**k for k in range(10))
AXIS = "average RMS error over 19 states and first 10 episodes"
DIVERGED = 1.0  # a curve stops before the first α whose error is past this (or not finite): it diverged


def sweep(method: Callable, runs: int, settings: tuple, label: str, log: Callable[[str], None]) -> dict[str, Any]:
    """``method(episodes, setting_per_learner, alpha_per_learner)`` for every setting × α of ``ALPHAS``
    on the 19-state walk: the curves over α by ``label`` ("n=4"), and the best point of each."""
    from rlsuite.learning.prediction import rms_error
    from rlsuite.tools.book.ch6 import walk_episodes

    episodes, true = walk_episodes(WALK19, runs, EPISODES)
    grid, alphas = np.meshgrid(np.asarray(settings, dtype=float), ALPHAS, indexing="ij")
    history = method(episodes, grid.ravel(), alphas.ravel())
    with np.errstate(over="ignore", invalid="ignore"):
        errors = rms_error(history[:, :, 1 : EPISODES + 1], true, episodes.terminal).mean(axis=(1, 2))
    errors = errors.reshape(grid.shape)
    curves, best = {}, {}
    for setting, row in zip(settings, errors):
        bad = np.flatnonzero(~np.isfinite(row) | (row > DIVERGED))
        kept = row[: bad[0]] if len(bad) else row
        curves[label.format(setting)] = [round(float(e), 4) for e in kept]
        low = int(np.argmin(kept))
        best[label.format(setting)] = (float(kept[low]), ALPHAS[low])
    top = min(best, key=lambda k: best[k][0])
    log(f"   lowest: {top} {best[top][0]:.3f} at α = {best[top][1]:g}")
    return {"curves": curves, "best": best, "top": top}


def figure_7_2(runs: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    """n-step TD on the 19-state walk: the error over the first 10 episodes against α, one curve per n."""
    from rlsuite.learning.prediction import nstep_td

    result = sweep(nstep_td, runs, NS, "n={:g}", log)
    best, top = result["best"], result["top"]
    return {
        "runs": runs,
        "x": list(ALPHAS),
        "xlabel": "α",
        "panels": {AXIS: result["curves"]},
        "plot": {AXIS: {"ylim": [0.25, 0.55]}},
        "book": [
            ["best n", "n = 4 (intermediate n work best)", f"{top}"],
            ["lowest error", "≈ 0.25–0.3, n = 4 near α ≈ 0.3–0.4", f"{best[top][0]:.3f} at α = {best[top][1]:g}"],
            ["n = 1 (TD(0)) at its best", "at large α: falls nearly all the way to α = 1", _point(best["n=1"])],
            ["n = 512 (≈ Monte Carlo) at its best", "at small α, then rises off the chart", _point(best["n=512"])],
        ],
        "notes": (
            f"One learner per (n, α); all learn from the same {runs} runs × {EPISODES} episodes of the random "
            "policy, drawn from the env's P."
        ),
    }


def _point(best: tuple[float, float]) -> str:
    return f"{best[0]:.3f} at α = {best[1]:g}"


FIGURES = [Figure("fig7.2", "Figure 7.2: n-step TD on the 19-state random walk", 100, figure_7_2)]
