"""Statistics, tables and learning-curve plots shared by ``rlsuite bench`` and ``rlsuite sweep``.

Across seeds we report the interquartile mean (IQM: the mean of the middle 50 % of the runs,
robust to one lucky or unlucky seed) with a 95 % percentile-bootstrap confidence interval,
the method recommended for few-run RL comparisons (Agarwal et al., 2021).
"""

from __future__ import annotations

import csv
import math
import os
import platform
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.core.stats import iqm, iqm_ci  # noqa: F401  (re-exported: the report's statistics)

RETURN_TAG = "charts/episodic_return"


def steps_to_threshold(
    returns: Sequence[float], lengths: Sequence[int], threshold: float, window: int = 10
) -> int | None:
    """The env step at which the mean of the last ``window`` training episodes first reaches
    ``threshold``; None if it never does."""
    if len(returns) < window:
        return None
    rolling = np.convolve(np.asarray(returns, float), np.ones(window) / window, mode="valid")
    hits = np.flatnonzero(rolling >= threshold)
    if hits.size == 0:
        return None
    return int(np.cumsum(lengths)[hits[0] + window - 1])


def read_curve(run_dir: str | Path, tag: str = RETURN_TAG) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of one scalar tag from a run directory's TensorBoard event files."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    if tag not in acc.Tags().get("scalars", []):
        return np.zeros(0, int), np.zeros(0)
    events = acc.Scalars(tag)
    return np.array([e.step for e in events]), np.array([e.value for e in events], float)


def curve_band(
    curves: Iterable[tuple[np.ndarray, np.ndarray]], points: int = 100, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(grid, mean, low, high) of several runs' curves interpolated onto a common step grid;
    the band is a percentile-bootstrap CI of the mean across runs at each grid point."""
    curves = [(s, v) for s, v in curves if len(s) > 0]
    if not curves:
        empty = np.zeros(0)
        return empty, empty, empty, empty
    first = max(s[0] for s, _ in curves)
    last = min(s[-1] for s, _ in curves)
    grid = np.linspace(first, last, points) if last > first else np.array([float(first)])
    ys = np.stack([np.interp(grid, s, v) for s, v in curves])  # runs × points
    mean = ys.mean(axis=0)
    if len(ys) == 1:
        return grid, mean, mean, mean
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(ys), size=(2000, len(ys)))
    boot = ys[picks].mean(axis=1)  # resamples × points
    alpha = (1 - confidence) / 2
    low, high = np.quantile(boot, [alpha, 1 - alpha], axis=0)
    return grid, mean, low, high


def plot_curves(
    groups: dict[str, list[Any]], path: str | Path, title: str, tag: str = RETURN_TAG, ylabel: str = "episodic return"
) -> Path:
    """A PNG with one line (mean over runs) and a 95 % CI band per group of runs: run directories
    (their ``tag`` curves are read), or curves already at hand as (steps, values) arrays."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    for label, run_dirs in groups.items():
        grid, mean, low, high = curve_band(d if isinstance(d, tuple) else read_curve(d, tag) for d in run_dirs)
        if grid.size == 0:
            continue
        (line,) = ax.plot(grid, mean, label=f"{label} (n={len(run_dirs)})")
        ax.fill_between(grid, low, high, color=line.get_color(), alpha=0.25, linewidth=0)
    ax.set_title(title)
    ax.set_xlabel("env steps")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def check_suite_args(only: list[str] | None, seeds: int | None, keys: Sequence[str], what: str) -> None:
    """One line for a ``--only`` key that is not one of ``keys`` (``what``: e.g. "a case of the quick
    suite") or a ``--seeds`` below 1: the checks every ``rlsuite bench`` suite makes."""
    from rlsuite.core.errors import RLSuiteError, did_you_mean

    for key in only or []:
        if key not in keys:
            raise RLSuiteError(f"--only {key!r} is not {what}{did_you_mean(key, keys)}; choose from {', '.join(keys)}.")
    if seeds is not None and seeds < 1:
        raise RLSuiteError(f"--seeds {seeds} must be at least 1.")


def fmt(value: Any, digits: int = 3) -> str:
    """A table cell: numbers to ``digits`` significant figures, None and NaN as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 10**digits else f"{value:.0f}"
    return str(value)


def fmt_ci(point: float, low: float, high: float) -> str:
    """``IQM [low, high]`` for a table cell."""
    if math.isnan(point):
        return "—"
    return f"{fmt(point)} [{fmt(low)}, {fmt(high)}]"


def markdown_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A GitHub-flavoured markdown table of ``rows`` with these column keys as headers."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(fmt(row.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def write_csv(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Rows (dicts) as CSV, with the union of their keys as columns in first-seen order."""
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def cpu_name() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), for the machine line of a benchmark report."""
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def machine_info() -> dict[str, Any]:
    """The machine and versions a benchmark ran on, for its report."""
    import gymnasium
    import stable_baselines3
    import torch

    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "gymnasium": gymnasium.__version__,
        "numpy": np.__version__,
        "stable_baselines3": stable_baselines3.__version__,
        "torch_threads": 1,
    }
