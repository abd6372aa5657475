"""``rlsuite bench --suite textbook``: figures of Sutton & Barto's *Reinforcement Learning: An
Introduction* (2nd ed.), reproduced with rlsuite and set beside the book's numbers.

* Figures 3.2 and 3.5: v of the random policy and v* on GridWorld (γ = 0.9), and Figure 4.1:
  v of the random policy on GridWorld4x4 (γ = 1); exact, from ``solve`` (a linear solve for
  v_π, value iteration for v*).
* Example 6.6: the online return per episode of Sarsa, Q-learning and Expected Sarsa on
  CliffWalking-v1 (ε = 0.1, α = 0.5, γ = 1, 500 episodes), and each method's greedy path.
* Figure 6.5: how often Q-learning and Double Q-learning go left from A on
  MaximizationBias-v0 (ε = 0.1, α = 0.1, γ = 1, 300 episodes).

The learning figures train each method's runs the way a user would, as one run of many seeds:
``make_agent(..., seeds=runs).learn(...)``, one method per worker process. It writes OUT/textbook.md,
OUT/textbook/*.png and OUT/textbook/textbook.json (the per-episode means). ``--seeds N`` sets the runs per method of
both learning figures (defaults: 100 for Example 6.6, 1000 for Figure 6.5); ``--only`` picks
figures by key (fig3.2, fig3.5, fig4.1, ex6.6, fig6.5, and the chapters' keys).

The figures of chapters 2, 4, 5, 6, 7, 8 and 12 come from :mod:`rlsuite.tools.book` (one module a
chapter, one function a figure); ``--seeds N`` sets their runs too, where a figure has runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.tools import book, report

FIGURES = ("fig3.2", "fig3.5", "fig4.1", "ex6.6", "fig6.5", *book.keys())
CLIFF_RUNS, BIAS_RUNS, CLIFF_EPISODES, BIAS_EPISODES = 100, 1000, 500, 300
HELP = (
    f"textbook: Sutton & Barto's figures beside the book's numbers, into OUT/textbook.md (--only "
    f"{' '.join(FIGURES)}; --seeds N: runs per method, default {CLIFF_RUNS} for ex6.6 and {BIAS_RUNS} for fig6.5)"
)
CLIFF = "CliffWalking-v1"
BIAS = "rlsuite/MaximizationBias-v0"
CLIFF_METHODS = {"sarsa": "Sarsa", "qlearning": "Q-learning", "expected_sarsa": "Expected Sarsa"}
BIAS_METHODS = {"qlearning": "Q-learning", "double_qlearning": "Double Q-learning"}
# the book's numbers, as its figures print them
BOOK_3_2 = [
    [3.3, 8.8, 4.4, 5.3, 1.5],
    [1.5, 3.0, 2.3, 1.9, 0.5],
    [0.1, 0.7, 0.7, 0.4, -0.4],
    [-1.0, -0.4, -0.4, -0.6, -1.2],
    [-1.9, -1.3, -1.2, -1.4, -2.0],
]
BOOK_3_5 = [
    [22.0, 24.4, 22.0, 19.4, 17.5],
    [19.8, 22.0, 19.8, 17.8, 16.0],
    [17.8, 19.8, 17.8, 16.0, 14.4],
    [16.0, 17.8, 16.0, 14.4, 13.0],
    [14.4, 16.0, 14.4, 13.0, 11.7],
]
BOOK_4_1 = [[0, -14, -20, -22], [-14, -18, -20, -20], [-20, -20, -18, -14], [-22, -20, -14, 0]]
# key: (title, env, gamma, policy, the book's grid, decimals it prints)
EXACT = {
    "fig3.2": (
        "Figure 3.2: v of the equiprobable random policy on GridWorld, γ = 0.9",
        "rlsuite/GridWorld-v0",
        0.9,
        "random",
        BOOK_3_2,
        1,
    ),
    "fig3.5": ("Figure 3.5: v* on GridWorld, γ = 0.9", "rlsuite/GridWorld-v0", 0.9, None, BOOK_3_5, 1),
    "fig4.1": (
        "Figure 4.1: v of the equiprobable random policy on GridWorld4x4, γ = 1",
        "rlsuite/GridWorld4x4-v0",
        1.0,
        "random",
        BOOK_4_1,
        0,
    ),
}
ARROWS = "↑→↓←"  # CliffWalking's actions: 0 up, 1 right, 2 down, 3 left
CLIFF_START, CLIFF_GOAL, CLIFF_SHAPE = 36, 47, (4, 12)


# ----- the exact figures --------------------------------------------------------------------------
def exact_figure(key: str) -> dict[str, Any]:
    """One of Figures 3.2, 3.5, 4.1: the solver's grid, rounded as the book prints it, beside the book's."""
    from rlsuite.core.solver import solve

    title, env_id, gamma, policy, book, decimals = EXACT[key]
    start = time.perf_counter()
    _, v, _ = solve(env_id, gamma, policy=policy)
    seconds = time.perf_counter() - start
    ours = np.round(v.reshape(np.shape(book)), decimals) + 0.0  # + 0.0: no -0.0
    command = f"rlsuite solve --env {env_id} --gamma {gamma:g}" + (f" --policy {policy}" if policy else "")
    return {
        "key": key,
        "title": title,
        "command": command,
        "values": ours.tolist(),
        "book": book,
        "decimals": decimals,
        "matches": int((ours == np.asarray(book)).sum()),
        "cells": ours.size,
        "seconds": seconds,
    }


# ----- one method's runs, stacked (its seeds the members of one agent), in a worker process ------------
def cliff_run(method: str, seeds: tuple[int, ...], episodes: int) -> list[tuple[list[float], np.ndarray, float]]:
    """Per seed: (online return per episode, final Q-table, seconds: the run's share) on CliffWalking, as in
    Example 6.6."""
    from rlsuite.agents import make_agent

    start = time.perf_counter()
    agent = make_agent(method, CLIFF, seeds=list(seeds), use_preset=False, learning_rate=0.5, gamma=1.0, epsilon=0.1)
    results = _as_list(agent.learn(10**6, max_episodes=episodes, eval_episodes=1, eval_max_steps=1000))
    share = (time.perf_counter() - start) / len(seeds)
    tables = agent.q_table.reshape(len(seeds), *agent.q_table.shape[-2:])
    return [(list(r.episode_returns[:episodes]), tables[k].copy(), share) for k, r in enumerate(results)]


def bias_run(method: str, seeds: tuple[int, ...], episodes: int) -> list[tuple[np.ndarray, float]]:
    """Per seed: (went left from A, per episode; seconds: the run's share) on MaximizationBias, as in
    Figure 6.5. An episode that goes left lasts two steps (A → B → end); one that goes right, one."""
    from rlsuite.agents import make_agent

    start = time.perf_counter()
    agent = make_agent(method, BIAS, seeds=list(seeds), use_preset=False, learning_rate=0.1, gamma=1.0, epsilon=0.1)
    results = _as_list(agent.learn(10**6, max_episodes=episodes, eval_episodes=1))
    share = (time.perf_counter() - start) / len(seeds)
    return [(np.asarray(r.episode_lengths[:episodes]) == 2, share) for r in results]


def _as_list(results: Any) -> list[Any]:
    return results if isinstance(results, list) else [results]


run_all = book.run_all  # fn(*job) for every job over worker processes


# ----- Example 6.6 -----------------------------------------------------------------------------------
def greedy_path(q: np.ndarray, P: dict, limit: int = 100) -> tuple[list[tuple[int, int]], bool]:
    """The greedy policy's (state, action) pairs from the start, and whether it reaches the goal
    within ``limit`` steps (a step into the cliff goes back to the start, as in the book)."""
    s, path = CLIFF_START, []
    for _ in range(limit):
        a = int(np.argmax(q[s]))
        path.append((s, a))
        _, s, _, terminated = P[s][a][0]
        s = int(s)
        if terminated:
            return path, True
    return path, False


def path_text(path: list[tuple[int, int]]) -> str:
    """The 4 × 12 grid as text: S start, G goal, C cliff, arrows along the path."""
    rows, cols = CLIFF_SHAPE
    cells = [["."] * cols for _ in range(rows)]
    cells[-1] = ["S"] + ["C"] * (cols - 2) + ["G"]
    for s, a in path:
        r, c = divmod(s, cols)
        cells[r][c] = ARROWS[a]
    return "\n".join(" ".join(row) for row in cells)


def cliff_figure(runs: int, episodes: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    from rlsuite.core.envspec import make_env

    env = make_env(CLIFF)
    P = env.unwrapped.P
    env.close()
    start = time.perf_counter()
    jobs = [(method, tuple(range(runs)), episodes) for method in CLIFF_METHODS]  # one stacked run per method
    done = [run for method_runs in run_all(cliff_run, jobs, workers) for run in method_runs]
    wall = time.perf_counter() - start
    window = max(1, episodes // 5)  # the first and the last fifth: episodes 1–100 and 401–500 of 500
    methods = {}
    for i, (method, label) in enumerate(CLIFF_METHODS.items()):
        mine = done[i * runs : (i + 1) * runs]
        returns = np.array([r[0] for r in mine])  # runs × episodes
        paths = [greedy_path(r[1], P) for r in mine]
        common, count = Counter(tuple(p) for p, _ in paths).most_common(1)[0]
        top_rows = Counter(min(s // CLIFF_SHAPE[1] for s, _ in p) for p, reached in paths if reached)
        methods[method] = {
            "label": label,
            "returns": returns,
            "early": mean_ci(returns[:, :window].mean(axis=1)),
            "late": mean_ci(returns[:, -window:].mean(axis=1)),
            "path": list(common),
            "path_runs": count,
            "path_text": path_text(list(common)),
            "reached": sum(reached for _, reached in paths),
            "top_rows": dict(sorted(top_rows.items())),
            "cpu_s": sum(r[2] for r in mine),
        }
        log(f"   {label}: online return {methods[method]['late'][0]:.1f} over the last {window} episodes")
    return {"runs": runs, "episodes": episodes, "window": window, "wall_s": wall, "methods": methods}


# ----- Figure 6.5 ------------------------------------------------------------------------------------
def bias_figure(runs: int, episodes: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    start = time.perf_counter()
    jobs = [(method, tuple(range(runs)), episodes) for method in BIAS_METHODS]  # one stacked run per method
    done = [run for method_runs in run_all(bias_run, jobs, workers) for run in method_runs]
    wall = time.perf_counter() - start
    methods = {}
    for i, (method, label) in enumerate(BIAS_METHODS.items()):
        mine = done[i * runs : (i + 1) * runs]
        left = np.array([r[0] for r in mine], dtype=float)  # runs × episodes
        methods[method] = {"label": label, "left": left, "rate": left.mean(axis=0), "cpu_s": sum(r[1] for r in mine)}
        log(f"   {label}: {100 * left[:, -1].mean():.1f} % left in episode {episodes}")
    shown = sorted({k for k in (1, 10, 50, 100, 200, 300) if k <= episodes} | {episodes})
    return {"runs": runs, "episodes": episodes, "wall_s": wall, "methods": methods, "shown": shown}


def mean_ci(values: np.ndarray) -> tuple[float, float]:
    """(mean, half-width of its normal 95 % confidence interval)."""
    values = np.asarray(values, dtype=float)
    half = 1.96 * values.std(ddof=1) / np.sqrt(values.size) if values.size > 1 else float("nan")
    return float(values.mean()), float(half)


# ----- the whole suite -------------------------------------------------------------------------------
def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def write(
    out: str | Path,
    only: list[str] | None = None,
    cliff_runs: int = CLIFF_RUNS,
    bias_runs: int = BIAS_RUNS,
    runs: int | None = None,
    cliff_episodes: int = CLIFF_EPISODES,
    bias_episodes: int = BIAS_EPISODES,
    workers: int | None = None,
    command: str = "rlsuite bench --suite textbook",
    log: Callable[[str], None] = print,
) -> Path:
    """Run the chosen figures (all by default) and write OUT/textbook.md, OUT/textbook/*.png and
    OUT/textbook/textbook.json; returns the markdown's path."""
    from rlsuite.tools import textbook_figures as figures

    only = list(only or FIGURES)
    workers = workers or default_workers()
    out = Path(out)
    (out / "textbook").mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results: dict[str, Any] = {}
    chapters = {f.key: f for f in book.chapters()}
    for key in FIGURES:
        if key not in only:
            continue
        log(f"== {key}")
        if key in chapters:
            results[key] = book.run_figure(chapters[key], runs, workers, log)
        elif key in EXACT:
            results[key] = exact_figure(key)
        elif key == "ex6.6":
            results[key] = cliff_figure(cliff_runs, cliff_episodes, workers, log)
        else:
            results[key] = bias_figure(bias_runs, bias_episodes, workers, log)
    classic = {k: r for k, r in results.items() if k not in chapters}
    plots = figures.plot_all(classic, out / "textbook")
    pngs = {k: book.plot(r, out / "textbook" / f"{k}.png") for k, r in results.items() if k in chapters}
    meta = {
        "command": command,
        "date": time.strftime("%Y-%m-%d"),
        "workers": workers,
        "machine": machine(),
        "total_s": time.perf_counter() - start,
    }
    (out / "textbook" / "textbook.json").write_text(
        json.dumps({**summary(classic, meta), **{k: results[k] for k in pngs}}, indent=1)
    )
    path = out / "textbook.md"
    page = figures.markdown(
        classic, meta, {k: str(p.relative_to(out)) for k, p in plots.items()}, {k: results[k] for k in pngs}
    )
    page += "".join("\n" + book.markdown(k, results[k], str(png.relative_to(out))) for k, png in pngs.items())
    path.write_text(page)
    return path


def summary(results: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """The numbers behind the figures as plain JSON: grids, per-episode means, paths."""
    out: dict[str, Any] = {"meta": meta}
    for key, res in results.items():
        if key in EXACT:
            out[key] = {k: res[k] for k in ("values", "book", "matches", "cells", "command")}
        elif key == "ex6.6":
            out[key] = {
                "runs": res["runs"],
                "episodes": res["episodes"],
                "wall_s": res["wall_s"],
                **{
                    m: {
                        "mean_return": r["returns"].mean(axis=0).round(3).tolist(),
                        "path": r["path"],
                        "path_runs": r["path_runs"],
                        "reached": r["reached"],
                    }
                    for m, r in res["methods"].items()
                },
            }
        else:
            out[key] = {
                "runs": res["runs"],
                "episodes": res["episodes"],
                "wall_s": res["wall_s"],
                **{m: {"left_rate": r["rate"].round(4).tolist()} for m, r in res["methods"].items()},
            }
    return out


def machine() -> str:
    import gymnasium

    return (
        f"{report.cpu_name()}, {os.cpu_count()} cores, {platform.platform()}; Python {platform.python_version()}, "
        f"NumPy {np.__version__}, Gymnasium {gymnasium.__version__}"
    )


def run(args: argparse.Namespace) -> int:
    """``rlsuite bench --suite textbook [--seeds N] [--only KEY ...] [--out DIR]``."""
    report.check_suite_args(args.only, args.seeds, FIGURES, "a figure of the textbook suite")
    command = (
        "rlsuite bench --suite textbook"
        + (f" --seeds {args.seeds}" if args.seeds else "")
        + (f" --only {' '.join(args.only)}" if args.only else "")
    )
    path = write(
        args.out,
        args.only,
        cliff_runs=args.seeds or CLIFF_RUNS,
        bias_runs=args.seeds or BIAS_RUNS,
        runs=args.seeds,
        command=command,
        log=lambda line: print(line, flush=True),
    )
    print(f"wrote {path} and its plots under {path.parent / 'textbook'}")
    return 0
