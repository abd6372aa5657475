"""The tabular chapters of Sutton & Barto's *Reinforcement Learning: An Introduction* (2nd ed.),
one module a chapter (ch2, ch4, ...), each figure one function; ``rlsuite bench --suite textbook``
runs them beside the figures of :mod:`rlsuite.tools.textbook`.

A chapter module holds ``FIGURES``, a list of :class:`Figure`. A figure's function takes the runs
(``--seeds N``, else the book's count), the worker processes and a log line function, and returns
the figure as plain JSON (the suite's contract):

* ``runs`` and ``x`` (the figure's x axis: steps, episodes, α, capital, …);
* ``panels``: by the book's axis title (``"% optimal action"``, ``"RMS error"``, ``"final policy"``,
  …) either curves by the book's legend label (``"epsilon=0.1"``: a list of numbers over ``x``, in
  the book's units) or a surface or table (a nested list, row by row as the book draws it);
* ``book``: the key numbers set beside the book's, ``[what, the book's, ours]`` rows (strings);
* optional ``notes`` (a sentence for the page) and ``plot`` hints per panel: for curves ``ylim``,
  ``xscale``, ``x``, ``xlabel``; for tables ``decimals``, ``vmin``/``vmax``, ``rows``/``columns``
  (tick labels top to bottom, left to right) and ``xlabel``/``ylabel``.

The suite adds ``wall_s``, plots every panel (curves as lines, tables as annotated grids) into
OUT/textbook/KEY.png and writes a section of textbook.md per figure.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Figure:
    key: str  # fig2.2, ex6.2, ...
    title: str  # "Figure 2.2: ε-greedy on the 10-armed testbed"
    runs: int  # the book's run count (0: an exact figure, no runs)
    make: Callable[[int, int, Callable[[str], None]], dict[str, Any]]  # (runs, workers, log) -> the figure


def chapters() -> list[Figure]:
    """Every figure of the chapter modules, in the book's order."""
    import importlib

    figures: list[Figure] = []
    for name in MODULES:
        figures += importlib.import_module(f"rlsuite.tools.book.{name}").FIGURES
    return figures


MODULES: tuple[str, ...] = ("ch2", "ch4", "ch5", "ch6", "ch7", "ch8", "ch12")  # chapter modules, in book order


def keys() -> tuple[str, ...]:
    return tuple(f.key for f in chapters())


def run_all(fn: Callable, jobs: list[tuple], workers: int) -> list[Any]:
    """``fn(*job)`` for every job, in order, over ``workers`` fresh processes (in this one for 1)."""
    if workers <= 1 or len(jobs) <= 1:
        return [fn(*job) for job in jobs]
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(fn, *zip(*jobs), chunksize=max(1, len(jobs) // (workers * 8))))


def greedy_length(q: np.ndarray, P: dict, start: int, limit: int = 100) -> int | None:
    """Steps the greedy policy of ``q`` (ties to the lowest action) takes from ``start`` to the end of an
    episode of a deterministic ``P``; None if it has not ended within ``limit`` steps (it loops)."""
    s = start
    for t in range(1, limit + 1):
        _, s, _, terminated = P[s][int(np.argmax(q[s]))][0]
        if terminated:
            return t
    return None


def run_figure(figure: Figure, runs: int | None, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    start = time.perf_counter()
    result = figure.make(runs or figure.runs, workers, log)
    result["wall_s"] = round(time.perf_counter() - start, 2)
    result["title"] = figure.title
    return result


def _is_curves(panel: Any) -> bool:
    return isinstance(panel, dict)


def plot(result: dict[str, Any], path: Path) -> Path:
    """Every panel of the figure side by side: curves over ``x``, tables as annotated grids."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = result["panels"]
    hints = result.get("plot", {})
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.0), dpi=100, squeeze=False)
    for ax, (name, panel) in zip(axes[0], panels.items()):
        hint = hints.get(name, {})
        if _is_curves(panel):
            x = hint.get("x", result["x"])
            for label, ys in panel.items():
                ax.plot(x[: len(ys)], ys, label=label)
            ax.set_xlabel(hint.get("xlabel", result.get("xlabel", "")))
            ax.set_ylabel(name)
            if "xscale" in hint:
                ax.set_xscale(hint["xscale"])
            if "ylim" in hint:
                ax.set_ylim(*hint["ylim"])
            ax.legend(fontsize=8)
        else:
            grid = np.asarray(panel, dtype=float)
            grid = grid if grid.ndim == 2 else grid[None, :]
            image = ax.imshow(grid, cmap="viridis", aspect="auto", vmin=hint.get("vmin"), vmax=hint.get("vmax"))
            if grid.size <= 400:
                for (r, c), v in np.ndenumerate(grid):
                    ax.text(c, r, f"{v:.{hint.get('decimals', 0)}f}", ha="center", va="center", fontsize=7, color="w")
            else:
                fig.colorbar(image, ax=ax, shrink=0.8)
            for axis, labels in (("y", hint.get("rows")), ("x", hint.get("columns"))):
                if labels is not None:  # the book's labels, top to bottom and left to right (every fifth of many)
                    ticks = list(range(0, len(labels), 1 if len(labels) <= 12 else 5))
                    getattr(ax, f"set_{axis}ticks")(ticks, [str(labels[t]) for t in ticks])
            ax.set_xlabel(hint.get("xlabel", ""))
            ax.set_ylabel(hint.get("ylabel", ""))
            ax.set_title(name)
    fig.suptitle(result["title"])
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def markdown(key: str, result: dict[str, Any], png: str) -> str:
    """The figure's section of textbook.md: its command, runs, wall time, plot and the book's numbers."""
    runs = f"{result['runs']} runs" if result["runs"] else "exact"
    lines = [
        f"## {result['title']}",
        "",
        f"`rlsuite bench --suite textbook --only {key}`: {runs}, {result['wall_s']:.1f} s.",
        "",
        f"![{key}]({png})",
        "",
    ]
    if result.get("notes"):
        lines += [result["notes"], ""]
    if result.get("book"):
        lines += ["| | the book | rlsuite |", "|---|---|---|"]
        lines += [f"| {what} | {book} | {ours} |" for what, book, ours in result["book"]]
        lines.append("")
    return "\n".join(lines)
