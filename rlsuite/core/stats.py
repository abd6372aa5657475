"""Statistics across runs (seeds): the interquartile mean and its bootstrap confidence interval.

The IQM is the mean of the middle 50 % of the runs, robust to one lucky or unlucky seed; its
95 % percentile-bootstrap confidence interval is the method recommended for few-run RL
comparisons (Agarwal et al., 2021). The run of many seeds, the benchmarks and the sweeps all
report with these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def iqm(values: Sequence[float] | np.ndarray) -> float:
    """Interquartile mean: the mean after cutting the lowest and highest 25 % of the values."""
    from scipy import stats

    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return float("nan")
    return float(stats.trim_mean(data, 0.25))


def iqm_ci(
    values: Sequence[float], confidence: float = 0.95, n_resamples: int = 5000, seed: int = 0
) -> tuple[float, float, float]:
    """(IQM, low, high): the IQM and its percentile-bootstrap confidence interval over runs."""
    from scipy import stats

    data = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if data.size == 0:
        return float("nan"), float("nan"), float("nan")
    point = iqm(data)
    if data.size == 1 or np.all(data == data[0]):
        return point, point, point
    rng = np.random.default_rng(seed)
    samples = data[rng.integers(0, data.size, size=(n_resamples, data.size))]
    boot = stats.trim_mean(samples, 0.25, axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(boot, [alpha, 1 - alpha])
    return point, float(low), float(high)
