"""Schedules of a value over training progress."""

from __future__ import annotations


def linear_schedule(initial: float, final: float, fraction: float, step: int, total_steps: int) -> float:
    """``initial`` → ``final`` linearly over the first ``fraction`` of ``total_steps``, then ``final``.

    The same shape and meaning as Stable-Baselines3's exploration schedule.
    """
    if fraction <= 0:
        return final
    progress = min(step / (fraction * max(total_steps, 1)), 1.0)
    return initial + progress * (final - initial)
