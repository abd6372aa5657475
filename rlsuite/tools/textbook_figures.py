"""The textbook suite's figures: its PNG plots and the markdown page (textbook.md) that sets the
numbers beside the book's. The numbers themselves come from :mod:`rlsuite.tools.textbook`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.tools import report

BOOK_CLIFF = {
    "sarsa": "≈ −25 (the safer path)",
    "qlearning": "≈ −50 (the optimal path, with falls)",
    "expected_sarsa": "— (not in the figure; above Sarsa in Figure 6.3)",
}
BOOK_BIAS = "Q-learning: ~70 %+ early, well above 5 % for long; Double Q-learning: approaches 5 %"
SMOOTH = 10  # episodes in the moving average of the cliff-walking curves


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    _pyplot().close(fig)
    return path


# ----- plots -----------------------------------------------------------------------------------------
def plot_all(results: dict[str, Any], folder: Path) -> dict[str, Path]:
    """Every plot the results allow, by name: values (the exact grids), cliff_walking, cliff_paths,
    maximization_bias."""
    plots = {}
    grids = [
        (r["title"].split(":")[0], np.asarray(r["values"]), r["decimals"]) for k, r in results.items() if "values" in r
    ]
    if grids:
        plots["values"] = plot_grids(grids, folder / "value_grids.png")
    if "ex6.6" in results:
        plots["cliff_walking"] = plot_cliff_curves(results["ex6.6"], folder / "cliff_walking.png")
        plots["cliff_paths"] = plot_cliff_paths(results["ex6.6"], folder / "cliff_paths.png")
    if "fig6.5" in results:
        plots["maximization_bias"] = plot_bias(results["fig6.5"], folder / "maximization_bias.png")
    return plots


def plot_grids(grids: list[tuple[str, np.ndarray, int]], path: Path) -> Path:
    """The state-value grids side by side, each cell labelled with its value."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(grids), figsize=(3.6 * len(grids), 3.6), dpi=100, squeeze=False)
    for ax, (title, values, decimals) in zip(axes[0], grids):
        ax.imshow(values, cmap="RdYlGn")
        for (r, c), x in np.ndenumerate(values):
            ax.text(c, r, f"{x:.{decimals}f}", ha="center", va="center", fontsize=9)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    return _save(fig, path)


def plot_cliff_curves(res: dict[str, Any], path: Path) -> Path:
    """Example 6.6's figure: online return per episode, a moving average over runs with a 95 % band."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    window = min(SMOOTH, res["episodes"])
    kernel = np.ones(window) / window
    for m in res["methods"].values():
        smooth = [np.convolve(r, kernel, mode="valid") for r in m["returns"]]
        x = np.arange(window, res["episodes"] + 1)
        grid, mean, low, high = report.curve_band(((x, s) for s in smooth), points=len(x))
        (line,) = ax.plot(grid, mean, label=m["label"])
        ax.fill_between(grid, low, high, color=line.get_color(), alpha=0.25, linewidth=0)
    ax.set_ylim(-100, -10)
    ax.set_xlabel("episode")
    ax.set_ylabel("sum of rewards during episode")
    ax.set_title(f"Cliff walking, ε = 0.1, α = 0.5 ({res['runs']} runs, {window}-episode moving average)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return _save(fig, path)


def plot_cliff_paths(res: dict[str, Any], path: Path) -> Path:
    """Each method's most common greedy path on the 4 × 12 grid: the cliff grey, the path as arrows."""
    plt = _pyplot()
    rows, cols = 4, 12
    methods = list(res["methods"].values())
    fig, axes = plt.subplots(len(methods), 1, figsize=(6.4, 1.9 * len(methods)), dpi=100, squeeze=False)
    moves = {0: (0, -1), 1: (1, 0), 2: (0, 1), 3: (-1, 0)}  # (dx, dy) in image coordinates: up, right, down, left
    for ax, m in zip(axes[:, 0], methods):
        image = np.ones((rows, cols, 3))
        image[rows - 1, 1 : cols - 1] = 0.6
        image[rows - 1, 0], image[rows - 1, cols - 1] = (0.7, 0.85, 1.0), (0.6, 0.9, 0.6)
        ax.imshow(image)
        ax.text(0, rows - 1, "S", ha="center", va="center", fontsize=9, alpha=0.5)
        ax.text(cols - 1, rows - 1, "G", ha="center", va="center", fontsize=9)
        for s, a in m["path"]:
            r, c = divmod(s, cols)
            dx, dy = moves[a]
            ax.annotate(
                "",
                xy=(c + 0.8 * dx, r + 0.8 * dy),
                xytext=(c, r),
                arrowprops={"arrowstyle": "->", "color": "tab:red", "lw": 1.5},
            )
        ax.set_xticks(np.arange(-0.5, cols), minor=True)
        ax.set_yticks(np.arange(-0.5, rows), minor=True)
        ax.grid(which="minor", color="0.8")
        ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        ax.set_title(f"{m['label']}: greedy path of {m['path_runs']} of {res['runs']} runs", fontsize=10)
    return _save(fig, path)


def plot_bias(res: dict[str, Any], path: Path) -> Path:
    """Figure 6.5: % left actions from A per episode, with a 95 % binomial band and the 5 % optimum."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    x = np.arange(1, res["episodes"] + 1)
    for m in res["methods"].values():
        rate = m["rate"]
        half = 1.96 * np.sqrt(rate * (1 - rate) / res["runs"])
        (line,) = ax.plot(x, 100 * rate, label=m["label"], lw=1)
        ax.fill_between(x, 100 * (rate - half), 100 * (rate + half), color=line.get_color(), alpha=0.2, linewidth=0)
    ax.axhline(5, color="k", ls="--", lw=1, label="optimal (ε / 2 = 5 %)")
    ax.set_ylim(0, 100)
    ax.set_xlabel("episode")
    ax.set_ylabel("% left actions from A")
    ax.set_title(f"Maximization bias, ε = 0.1, α = 0.1 ({res['runs']} runs)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right")
    return _save(fig, path)


# ----- the page --------------------------------------------------------------------------------------
def _grid(values: list[list[float]], decimals: int) -> list[str]:
    cells = [[f"{x:.{decimals}f}" for x in row] for row in values]
    width = max(len(c) for row in cells for c in row)
    return [" ".join(c.rjust(width) for c in row) for row in cells]


def exact_section(res: dict[str, Any]) -> str:
    ours, book = _grid(res["values"], res["decimals"]), _grid(res["book"], res["decimals"])
    width = max(len("rlsuite"), len(ours[0]))
    lines = [f"{'rlsuite':<{width}}   the book"] + [f"{a:<{width}}   {b}" for a, b in zip(ours, book)]
    verdict = (
        "all cells equal the book's"
        if res["matches"] == res["cells"]
        else f"{res['matches']} of {res['cells']} cells equal the book's"
    )
    return (
        f"## {res['title']}\n\n`{res['command']}` (exact; {1000 * res['seconds']:.0f} ms)\n\n```\n"
        + "\n".join(lines)
        + f"\n```\n\nTo {'one decimal' if res['decimals'] else 'the integers the book shows'}, "
        f"{verdict}.\n"
    )


def cliff_section(res: dict[str, Any], plots: dict[str, str]) -> str:
    n, w, runs = res["episodes"], res["window"], res["runs"]
    rows = []
    for key, m in res["methods"].items():
        rows.append(
            {
                "method": m["label"],
                f"episodes 1–{w}": _pm(*m["early"]),
                f"episodes {n - w + 1}–{n}": _pm(*m["late"]),
                "the book (later episodes)": BOOK_CLIFF[key],
                "greedy path reaches G": f"{m['reached']}/{runs}",
                "drawn path's runs": f"{m['path_runs']}/{runs}",
                "path's top row (runs)": ", ".join(f"row {r + 1}: {c}" for r, c in m["top_rows"].items()) or "—",
            }
        )
    paths = "\n\n".join(f"{m['label']}:\n\n```\n{m['path_text']}\n```" for m in res["methods"].values())
    stuck = [f"{m['label']} {runs - m['reached']}" for m in res["methods"].values() if m["reached"] < runs]
    if stuck:
        paths += (
            "\n\nA greedy path that does not reach G loops for ever, most often by bumping into a wall "
            f"(runs: {', '.join(stuck)}). With α = 0.5 the estimates stay noisy, and Sarsa's are those of "
            "its ε-greedy behaviour, which does reach G: the online return above is the book's measure."
        )
    cpu = sum(m["cpu_s"] for m in res["methods"].values())
    return f"""## Example 6.6: cliff walking (Sarsa, Q-learning, Expected Sarsa)

`{CLIFF_COMMAND}` — CliffWalking-v1, ε = 0.1, α = 0.5, γ = 1, {n} episodes;
{runs} runs per method ({3 * runs} in all), {res["wall_s"]:.0f} s wall ({cpu:.0f} s of CPU). Each run is
`make_agent(METHOD, "CliffWalking-v1", learning_rate=0.5, gamma=1.0, epsilon=0.1).learn(10**6, max_episodes={n})`.

Online return: the sum of rewards of each training episode (exploration included), mean over the
runs of the per-run mean over the episodes named, ± a 95 % confidence interval.

{report.markdown_table(rows, list(rows[0]))}

![cliff walking]({plots.get("cliff_walking", "")})

Each method's greedy path after training (the path of the most runs; rows counted from the top, the
cliff `C` on row 4):

{paths}

![greedy paths]({plots.get("cliff_paths", "")})
"""


def bias_section(res: dict[str, Any], plots: dict[str, str]) -> str:
    runs, methods = res["runs"], list(res["methods"].values())
    rows = []
    for k in res["shown"]:
        row: dict[str, Any] = {"episode": k}
        for m in methods:
            p = float(m["rate"][k - 1])
            row[f"{m['label']} % left"] = _pm(100 * p, 100 * 1.96 * np.sqrt(p * (1 - p) / runs))
        rows.append(row)
    rows.append(
        {
            "episode": f"mean 1–{res['episodes']}",
            **{f"{m['label']} % left": f"{100 * m['rate'].mean():.1f}" for m in methods},
        }
    )
    cpu = sum(m["cpu_s"] for m in methods)
    return f"""## Figure 6.5: maximization bias (Q-learning vs Double Q-learning)

`{BIAS_COMMAND}` — MaximizationBias-v0 (B has 10 actions, rewards N(−0.1, 1)), ε = 0.1, α = 0.1,
γ = 1, {res["episodes"]} episodes; {runs} runs per method ({2 * runs} in all), {res["wall_s"]:.0f} s wall
({cpu:.0f} s of CPU). An episode went left when it lasted two steps (A → B → end).

% of runs whose episode k went left from A, ± a 95 % binomial interval. The optimum under ε-greedy
is ε / 2 = 5 %. The book (10,000 runs): {BOOK_BIAS}.

{report.markdown_table(rows, list(rows[0]))}

![maximization bias]({plots.get("maximization_bias", "")})
"""


CLIFF_COMMAND = "rlsuite bench --suite textbook --only ex6.6"
BIAS_COMMAND = "rlsuite bench --suite textbook --only fig6.5"


def _pm(value: float, half: float) -> str:
    return f"{value:.1f}" if np.isnan(half) else f"{value:.1f} ± {half:.1f}"


def markdown(
    results: dict[str, Any], meta: dict[str, Any], plots: dict[str, str], chapters: dict[str, Any] | None = None
) -> str:
    """textbook.md's head and the classic figures: how it was made, a line per figure with its runs and
    time (``chapters``' figures too: their sections follow, from :mod:`rlsuite.tools.book`), the figures."""
    timing = []
    for key, res in results.items():
        runs = "exact" if "values" in res else f"{res['runs']} per method"
        seconds = res.get("seconds", res.get("wall_s", 0.0))
        timing.append(
            {
                "figure": res.get("title", key).split(":")[0]
                if "values" in res
                else {"ex6.6": "Example 6.6", "fig6.5": "Figure 6.5"}[key],
                "runs": runs,
                "episodes": res.get("episodes", "—"),
                "wall s": f"{seconds:.3g}",
            }
        )
    for res in (chapters or {}).values():
        runs = f"{res['runs']}" if res["runs"] else "exact"
        timing.append(
            {"figure": res["title"].split(":")[0], "runs": runs, "episodes": "—", "wall s": f"{res['wall_s']:.3g}"}
        )
    sections = [
        exact_section(r) if "values" in r else cliff_section(r, plots) if k == "ex6.6" else bias_section(r, plots)
        for k, r in results.items()
    ]
    grids = f"\n![the value grids]({plots['values']})\n" if "values" in plots else ""
    return (
        f"""# Sutton & Barto's figures, reproduced with rlsuite

Measured with `{meta["command"]}` on {meta["date"]}, {meta["workers"]} worker process(es), {meta["total_s"]:.0f} s
in all. Machine: {meta["machine"]}.

The figures are those of Sutton & Barto, *Reinforcement Learning: An Introduction* (2nd ed., 2018).
The exact ones come from `rlsuite.solve`; the learning ones of chapters 3 and 6 train every run
through `make_agent(...).learn(...)`, seeds 0 … N−1 per method, and each chapter figure says in its
notes how its runs are made. The numbers behind every figure: `textbook/textbook.json`.

{report.markdown_table(timing, list(timing[0]) if timing else [])}
"""
        + grids
        + "\n"
        + "\n".join(sections)
    )
