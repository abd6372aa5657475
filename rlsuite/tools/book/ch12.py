"""Chapter 12, eligibility traces: Figures 12.3, 12.6 and 12.8 on the 19-state random walk.

As Figure 7.2 (:mod:`rlsuite.tools.book.ch7`): the random policy's episodes on
rlsuite/RandomWalk19-v0 are drawn once per run from the env's ``P`` (γ = 1, V = 0 at first), every
(λ, α) learns from them as one learner of a numpy function of :mod:`rlsuite.learning.lambda_prediction`,
and the measure is the RMS error over the 19 states at the end of each episode, averaged over the
first 10 episodes and 100 runs. A curve stops before the first α where it diverged (its error past
1, or not finite): the book's curves leave its chart there. Sarsa(λ), the chapter's control method,
is the registered agent ``sarsa_lambda`` (replacing or accumulating traces).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rlsuite.tools.book import Figure
from rlsuite.tools.book.ch7 import ALPHAS, AXIS, sweep

LAMBDAS = (0.0, 0.4, 0.8, 0.9, 0.95, 0.975, 0.99, 1.0)
_TD0 = "TD(0), the same as Figure 7.2's n = 1"
# what the book's figures show, by key: (method, the best λ and error, the shape of the curves, λ = 0)
BOOK = {
    "fig12.3": (
        "offline_lambda_return",
        "intermediate λ best, as n in Figure 7.2",
        "no divergence",
        "offline TD(0): every update at the episode's end",
    ),
    "fig12.6": ("td_lambda", "close to the offline λ-return's at its best", "large λ diverge at large α", _TD0),
    "fig12.8": ("true_online_td_lambda", "close to the offline λ-return's", "curves like Figure 12.3's", _TD0),
}


def lambda_figure(key: str) -> Callable[[int, int, Callable[[str], None]], dict[str, Any]]:
    """The figure function for ``key``: one curve over α per λ of ``LAMBDAS``."""

    def make(runs: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
        from rlsuite.learning import lambda_prediction

        name, book_best, book_shape, book_zero = BOOK[key]
        result = sweep(getattr(lambda_prediction, name), runs, LAMBDAS, "lambda={:g}", log)
        best, top, curves = result["best"], result["top"], result["curves"]
        cut = [label for label, curve in curves.items() if len(curve) < len(ALPHAS)]
        return {
            "runs": runs,
            "x": list(ALPHAS),
            "xlabel": "α",
            "panels": {AXIS: curves},
            "plot": {AXIS: {"ylim": [0.25, 0.55]}},
            "book": [
                ["best λ and its error", book_best, f"{top}: {best[top][0]:.3f} at α = {best[top][1]:g}"],
                ["large α", book_shape, ("diverged: " + ", ".join(cut)) if cut else "no curve diverged"],
                ["λ = 0 at its best", book_zero, f"{best['lambda=0'][0]:.3f} at α = {best['lambda=0'][1]:g}"],
            ],
            "notes": f"One learner per (λ, α); all learn from the same {runs} runs × 10 episodes.",
        }

    return make


FIGURES = [
    Figure(
        "fig12.3", "Figure 12.3: the offline λ-return algorithm on the 19-state walk", 100, lambda_figure("fig12.3")
    ),
    Figure("fig12.6", "Figure 12.6: TD(λ) on the 19-state random walk", 100, lambda_figure("fig12.6")),
    Figure("fig12.8", "Figure 12.8: true online TD(λ) on the 19-state walk", 100, lambda_figure("fig12.8")),
]
