"""Chapter 8, planning and learning with tabular methods: Figures 8.2, 8.4 and 8.5.

Every figure trains the registered ``dyna_q`` agent the way a user would, each method's runs as one
run of many seeds (``make_agent("dyna_q", MAZE, seeds=runs, ...).learn(...)``), one method per worker
process. Dyna-Q+ is the same agent with ``kappa`` > 0.

* Figure 8.2: the Dyna maze (rlsuite/DynaMaze-v0), n = 0, 5, 50 planning steps, α = 0.1, ε = 0.1,
  γ = 0.95, steps per episode over episodes 2–50 (30 runs, as the book).
* Figures 8.4 and 8.5: the blocking maze (switch after 1000 steps, 3000 steps in all) and the
  shortcut maze (switch after 3000, 6000 in all), cumulative reward over the time steps, Dyna-Q
  against Dyna-Q+. The book gives no parameters or run count for these two; we use α = 1 (the mazes
  are deterministic), n = 50, ε = 0.1, γ = 0.95, κ = 10⁻³ for Dyna-Q+, and 20 runs.

A maze's reward is 1 on reaching the goal and 0 otherwise, so a run's cumulative reward after t
steps is the number of its episodes that ended by step t.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rlsuite.tools.book import Figure, greedy_length, run_all

GAMMA, EPSILON = 0.95, 0.1
EPISODES_8_2, PLANNING_8_2 = 50, (0, 5, 50)
CHANGING = {"alpha": 1.0, "planning_steps": 50, "kappa": 1e-3}  # Figures 8.4 and 8.5: our choice
METHODS = {"Dyna-Q+": CHANGING["kappa"], "Dyna-Q": 0.0}
QUIET = {"eval_episodes": 1, "eval_max_steps": 100, "log_images": False}


def dyna_runs(env_id: str, runs: int, steps: int, episodes: int, settings: dict[str, float]) -> dict[str, Any]:
    """One stacked run of ``runs`` seeds of ``dyna_q`` (``settings``: alpha, planning_steps, kappa):
    each run's episode lengths and its greedy path length from S in the maze's final layout."""
    from rlsuite.agents import make_agent
    from rlsuite.core.envspec import make_env

    agent = make_agent(
        "dyna_q",
        env_id,
        seeds=runs,
        use_preset=False,
        learning_rate=settings["alpha"],
        gamma=GAMMA,
        epsilon=EPSILON,
        planning_steps=int(settings["planning_steps"]),
        kappa=settings["kappa"],
    )
    results = agent.learn(steps, max_episodes=episodes, eval_freq=steps, **QUIET)
    results = results if isinstance(results, list) else [results]
    maze = make_env(env_id).unwrapped
    maze.steps_taken = steps  # the layout in force at the end of the runs
    tables = agent.q_table.reshape(runs, *agent.q_table.shape[-2:])
    return {
        "lengths": [list(r.episode_lengths) for r in results],
        "greedy": [greedy_length(tables[k], maze.P, maze.start, 200) or 200 for k in range(runs)],
    }


def recovery(cumulative: np.ndarray, switch: int, more: float = 5.0) -> int | str:
    """Steps after ``switch`` until the mean cumulative reward has grown by ``more``; "never" if it does not."""
    later = np.flatnonzero(cumulative[switch:] >= cumulative[switch - 1] + more)
    return int(later[0]) + 1 if later.size else "never"


def cumulative_reward(lengths: list[int], steps: int) -> np.ndarray:
    """Reward collected by each of the steps 1..``steps``: the episodes (each ending with reward 1) ended by then."""
    ends = np.cumsum(lengths)
    return np.searchsorted(ends, np.arange(1, steps + 1), side="right").astype(float)


# ----- Figure 8.2 ------------------------------------------------------------------------------------
def fig8_2(runs: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Steps per episode of Dyna-Q on the Dyna maze, for 0, 5 and 50 planning steps."""
    settings = [{"alpha": 0.1, "planning_steps": n, "kappa": 0.0} for n in PLANNING_8_2]
    jobs = [("rlsuite/DynaMaze-v0", runs, 10**7, EPISODES_8_2, s) for s in settings]
    done_by_n = run_all(dyna_runs, jobs[::-1], workers)[::-1]  # the longest (n = 50) starts first
    curves, firsts = {}, {}
    for n, done in zip(PLANNING_8_2, done_by_n):
        mean = np.array([r[:EPISODES_8_2] for r in done["lengths"]], dtype=float).mean(axis=0)
        curves[f"planning steps={n}"] = mean[1:].round(2).tolist()  # the book draws episodes 2..50
        below = np.flatnonzero(mean[1:] <= 20)
        firsts[n] = int(below[0]) + 2 if below.size else None
        log(f"   n={n}: {mean[1]:.0f} steps in episode 2, {mean[2]:.1f} in episode 3, {mean[-1]:.1f} in episode 50")
    c = curves
    return {
        "runs": runs,
        "x": list(range(2, EPISODES_8_2 + 1)),
        "xlabel": "Episodes",
        "panels": {"Steps per episode": curves},
        "book": [
            ["n = 50: steps in episode 3", "≈ 16 (the shortest path is 14)", f"{c['planning steps=50'][1]:.1f}"],
            ["n = 5: steps in episode 5", "≈ 25–30", f"{c['planning steps=5'][3]:.1f}"],
            ["n = 0: steps in episode 2", "≈ 800 (the axis top)", f"{c['planning steps=0'][0]:.0f}"],
            ["first episode at ≤ 20 steps, n = 0 / 5 / 50", "≈ 25 / ≈ 5 / 3", " / ".join(map(str, firsts.values()))],
            ["steps in episode 50, all n", "≈ 14–18", " / ".join(f"{v[-1]:.1f}" for v in c.values())],
        ],
        "notes": f"Dyna-Q, α = 0.1, ε = 0.1, γ = 0.95; mean over {runs} runs.",
        "plot": {"Steps per episode": {"ylim": [0, 800]}},
    }


# ----- Figures 8.4 and 8.5 ---------------------------------------------------------------------------
def changing_maze(env_id: str, runs: int, steps: int, switch: int, workers: int, log: Callable[[str], None]):
    """Dyna-Q+ and Dyna-Q on a changing maze: (mean cumulative reward per method, greedy path lengths)."""
    jobs = [(env_id, runs, steps, 0, {**CHANGING, "kappa": kappa}) for kappa in METHODS.values()]
    cumulative, greedy = {}, {}
    for label, done in zip(METHODS, run_all(dyna_runs, jobs, workers)):
        cumulative[label] = np.mean([cumulative_reward(r, steps) for r in done["lengths"]], axis=0)
        greedy[label] = done["greedy"]
        at = cumulative[label]
        log(f"   {label}: cumulative reward {at[switch - 1]:.1f} at the switch, {at[-1]:.1f} at {steps}")
    return cumulative, greedy


def changing_figure(cumulative: dict[str, np.ndarray], runs: int, steps: int, every: int) -> dict[str, Any]:
    """The JSON of Figure 8.4 or 8.5: cumulative reward every ``every`` steps."""
    return {
        "runs": runs,
        "x": list(range(every, steps + 1, every)),
        "xlabel": "Time steps",
        "panels": {"Cumulative reward": {k: v[every - 1 :: every].round(2).tolist() for k, v in cumulative.items()}},
    }


def fig8_4(runs: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Dyna-Q against Dyna-Q+ on the blocking maze (the wall moves after 1000 steps)."""
    steps, switch = 3000, 1000
    cum, _ = changing_maze("rlsuite/BlockingMaze-v0", runs, steps, switch, workers, log)
    q, plus = cum["Dyna-Q"], cum["Dyna-Q+"]
    out = changing_figure(cum, runs, steps, 10)
    out["book"] = [
        ["cumulative reward at 3000 steps, Dyna-Q+ / Dyna-Q", "≈ 150 / below Dyna-Q+", f"{plus[-1]:.1f} / {q[-1]:.1f}"],
        [
            "steps after the switch until 5 more rewards (finding the new path), Dyna-Q+ / Dyna-Q",
            "Dyna-Q+ sooner (a flat stretch for both)",
            f"{recovery(plus, switch)} / {recovery(q, switch)}",
        ],
        [
            "reward in steps 1001–3000, Dyna-Q+ / Dyna-Q",
            "Dyna-Q+ more",
            f"{plus[-1] - plus[switch - 1]:.1f} / {q[-1] - q[switch - 1]:.1f}",
        ],
        [
            "cumulative reward at the switch (1000 steps), Dyna-Q+ / Dyna-Q",
            "about equal",
            f"{plus[999]:.1f} / {q[999]:.1f}",
        ],
    ]
    out["notes"] = (
        f"Dyna-Q and Dyna-Q+ (κ = {CHANGING['kappa']:g}), α = 1, n = {CHANGING['planning_steps']}, ε = 0.1, γ = 0.95; "
        f"mean over {runs} runs (the book gives neither parameters nor run count). The gap on the right closes "
        "after 1000 steps and one opens on the left."
    )
    return out


def fig8_5(runs: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Dyna-Q against Dyna-Q+ on the shortcut maze (a shorter path opens after 3000 steps)."""
    steps, switch = 6000, 3000
    cum, greedy = changing_maze("rlsuite/ShortcutMaze-v0", runs, steps, switch, workers, log)
    q, plus = cum["Dyna-Q"], cum["Dyna-Q+"]
    # the shortcut takes 10 steps, the long way round 16
    shortcut = {k: sum(length <= 12 for length in v) for k, v in greedy.items()}
    out = changing_figure(cum, runs, steps, 20)
    out["book"] = [
        [
            "cumulative reward at 6000 steps, Dyna-Q+ / Dyna-Q",
            "Dyna-Q+ above, the gap widening after 3000",
            f"{plus[-1]:.1f} / {q[-1]:.1f}",
        ],
        [
            "reward per step over steps 5001–6000, Dyna-Q+ / Dyna-Q",
            "Dyna-Q+ steeper (the 10-step shortcut)",
            f"{plus[-1] - plus[4999]:.0f} / {q[-1] - q[4999]:.0f} per 1000",
        ],
        [
            "runs whose greedy path takes the shortcut at the end, Dyna-Q+ / Dyna-Q",
            "Dyna-Q+ finds it, Dyna-Q never",
            f"{shortcut['Dyna-Q+']} / {shortcut['Dyna-Q']} of {runs}",
        ],
    ]
    out["notes"] = (
        f"Dyna-Q and Dyna-Q+ (κ = {CHANGING['kappa']:g}), α = 1, n = {CHANGING['planning_steps']}, ε = 0.1, γ = 0.95; "
        f"mean over {runs} runs (the book gives neither parameters nor run count). A gap opens on the right "
        "after 3000 steps: a 10-step path where the old one takes 16."
    )
    return out


FIGURES = [
    Figure("fig8.2", "Figure 8.2: Dyna-Q on the Dyna maze, 0, 5 and 50 planning steps", 30, fig8_2),
    Figure("fig8.4", "Figure 8.4: Dyna-Q and Dyna-Q+ on the blocking maze", 20, fig8_4),
    Figure("fig8.5", "Figure 8.5: Dyna-Q and Dyna-Q+ on the shortcut maze", 20, fig8_5),
]
