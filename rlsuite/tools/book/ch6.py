"""Chapter 6, temporal-difference learning: Example 6.2, Figure 6.2, Example 6.5 and Figure 6.3 (the
chapter's Example 6.6 and Figure 6.5 are :mod:`rlsuite.tools.textbook`'s).

* Example 6.2 and Figure 6.2: prediction on the 5-state random walk (rlsuite/RandomWalk-v0, γ = 1,
  V = 0.5 at first), by the numpy functions of :mod:`rlsuite.learning.prediction`: the episodes
  of each run are drawn once from the env's ``P`` and every method and step size learns from the
  same ones (100 runs of 100 episodes, as the book).
* Example 6.5: Sarsa (ε = 0.1, α = 0.5, γ = 1) on rlsuite/WindyGridWorld-v0 for 8000 steps,
  ``make_agent("sarsa", ..., seeds=runs).learn(8000)``; the book shows one run, we average 10.
* Figure 6.3: Sarsa, Expected Sarsa and Q-learning on CliffWalking-v1 (ε = 0.1, γ = 1) for α = 0.1
  … 1.0, one stacked run of many seeds per (method, α), spread over the worker processes. The book
  averages the first 100 episodes over 50 000 runs (interim) and 100 000 episodes over 10 runs
  (asymptotic); we run 50 runs of 500 episodes and take episodes 1–100 (interim) and 251–500
  (asymptotic, once learning has settled).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rlsuite.tools.book import Figure, greedy_length, run_all

WALK = "rlsuite/RandomWalk-v0"
TD_ALPHAS, MC_ALPHAS, WALK_EPISODES, WALK_V0 = (0.05, 0.1, 0.15), (0.01, 0.02, 0.03, 0.04), 100, 0.5
WINDY, WINDY_STEPS, WINDY_RUNS = "rlsuite/WindyGridWorld-v0", 8000, 10
CLIFF, CLIFF_ALPHAS, CLIFF_EPISODES, INTERIM = "CliffWalking-v1", tuple(np.round(np.arange(1, 11) / 10, 1)), 500, 100
CLIFF_RUNS = 50  # the book: 50 000 runs (interim) and 10 runs of 100 000 episodes (asymptotic)
CLIFF_METHODS = {"sarsa": "Sarsa", "expected_sarsa": "Expected Sarsa", "qlearning": "Q-learning"}
QUIET = {"eval_episodes": 1, "eval_max_steps": 100, "log_images": False}


def walk_episodes(env_id: str, runs: int, episodes: int):
    """(the episodes of the random policy on ``env_id``, its true values)."""
    from rlsuite.core.envspec import make_env
    from rlsuite.learning.prediction import sample_episodes

    env = make_env(env_id)
    try:
        return sample_episodes(env, runs, episodes), env.unwrapped.true_values()
    finally:
        env.close()


def mean_rms(history: np.ndarray, true_values: np.ndarray, terminal: np.ndarray) -> np.ndarray:
    """The RMS error over the non-terminal states, averaged over the runs: (learners, episodes + 1)."""
    from rlsuite.learning.prediction import rms_error

    return rms_error(history, true_values, terminal).mean(axis=1)


def _curve(values: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in values]


# ----- Example 6.2 -----------------------------------------------------------------------------------
def example_6_2(runs: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    """TD(0) against constant-α MC on the 5-state walk: one run's TD values, and the RMS error."""
    from rlsuite.learning.prediction import constant_alpha_mc, td0

    episodes, true = walk_episodes(WALK, runs, WALK_EPISODES)
    td = td0(episodes, TD_ALPHAS, v0=WALK_V0)
    mc = constant_alpha_mc(episodes, MC_ALPHAS, v0=WALK_V0)
    td_rms, mc_rms = mean_rms(td, true, episodes.terminal), mean_rms(mc, true, episodes.terminal)
    inner = ~episodes.terminal
    one_run = td[TD_ALPHAS.index(0.1), 0]  # run 0, α = 0.1: the left panel is one run in the book
    values = {str(e): _curve(one_run[e, inner]) for e in (0, 1, 10, 100) if e <= WALK_EPISODES}
    rms = {f"TD alpha={a:g}": _curve(td_rms[i]) for i, a in enumerate(TD_ALPHAS)}
    rms |= {f"MC alpha={a:g}": _curve(mc_rms[i]) for i, a in enumerate(MC_ALPHAS)}
    last = {label: curve[-1] for label, curve in rms.items()}
    best_mc = min(v for k, v in last.items() if k.startswith("MC"))
    log(f"   RMS at episode {WALK_EPISODES}: " + ", ".join(f"{k} {v:.3f}" for k, v in last.items()))
    return {
        "runs": runs,
        "x": list(range(WALK_EPISODES + 1)),
        "xlabel": "walks / episodes",
        "panels": {"estimated value": values | {"true values": _curve(true[inner])}, "RMS error": rms},
        "plot": {
            "estimated value": {"x": list("ABCDE"), "xlabel": "state"},
            "RMS error": {"ylim": [0, 0.25]},
        },
        "book": [
            ["RMS error before learning (V = 0.5)", "0.236 (where every curve starts)", f"{td_rms[0, 0]:.3f}"],
            ["TD, α = 0.1: values after 100 episodes", "close to 1/6 … 5/6", _values_text(values["100"])],
            [
                "RMS error at episode 100",
                "every TD curve below every MC curve",
                f"TD {min(v for k, v in last.items() if k.startswith('TD')):.3f}–"
                f"{max(v for k, v in last.items() if k.startswith('TD')):.3f}, MC ≥ {best_mc:.3f}",
            ],
            ["TD, α = 0.15", "fastest at first, then levels off highest of TD", _shape(rms["TD alpha=0.15"])],
        ],
        "notes": (
            f"Every method and step size learns from the same {runs} × {WALK_EPISODES} episodes (the random "
            "policy's, drawn from the env's P); the left panel is run 0 of TD(0) with α = 0.1."
        ),
    }


def _values_text(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values) + "  (true: 0.17 0.33 0.50 0.67 0.83)"


def _shape(curve: list[float]) -> str:
    low = int(np.argmin(curve))
    return f"lowest {curve[low]:.3f} at episode {low}, {curve[-1]:.3f} at {len(curve) - 1}"


# ----- Figure 6.2 ------------------------------------------------------------------------------------
def figure_6_2(runs: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Batch TD(0) against batch MC on the 5-state walk: the RMS error after every episode."""
    from rlsuite.learning.prediction import batch_mc, batch_td

    episodes, true = walk_episodes(WALK, runs, WALK_EPISODES)
    td = mean_rms(batch_td(episodes, v0=WALK_V0), true, episodes.terminal)[0]
    mc = mean_rms(batch_mc(episodes, v0=WALK_V0), true, episodes.terminal)[0]
    below = int((td[1:] < mc[1:]).sum())
    log(
        f"   batch TD below batch MC after {below} of {WALK_EPISODES} episodes; at the end {td[-1]:.3f} vs {mc[-1]:.3f}"
    )
    return {
        "runs": runs,
        "x": list(range(WALK_EPISODES + 1)),
        "xlabel": "walks / episodes",
        "panels": {"RMS error": {"TD": _curve(td), "MC": _curve(mc)}},
        "plot": {"RMS error": {"ylim": [0, 0.25]}},
        "book": [
            ["batch TD below batch MC", "throughout", f"after {below} of {WALK_EPISODES} episodes"],
            ["RMS error at episode 100", "TD lower than MC", f"TD {td[-1]:.3f}, MC {mc[-1]:.3f}"],
        ],
        "notes": (
            "Batch updating to convergence after every episode, computed as the fixed point it converges to: "
            "for TD(0) the certainty-equivalence estimate (v of the maximum-likelihood model of all "
            "transitions so far), for MC each state's mean return over its visits."
        ),
    }


# ----- Example 6.5 -----------------------------------------------------------------------------------
def windy_runs(seeds: tuple[int, ...], steps: int) -> dict[str, Any]:
    """Sarsa on the windy gridworld: each run's episode lengths and its greedy path's length."""
    from rlsuite.agents import make_agent
    from rlsuite.core.envspec import make_env

    agent = make_agent("sarsa", WINDY, seeds=list(seeds), use_preset=False, learning_rate=0.5, gamma=1.0, epsilon=0.1)
    results = agent.learn(steps, **QUIET)
    results = results if isinstance(results, list) else [results]
    world = make_env(WINDY).unwrapped
    tables = agent.q_table.reshape(len(seeds), *agent.q_table.shape[-2:])
    return {
        "lengths": [list(r.episode_lengths) for r in results],
        "greedy": [greedy_length(tables[k], world.P, world.start) for k in range(len(seeds))],
    }


def example_6_5(runs: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Episodes completed against time steps, Sarsa on the windy gridworld."""
    done = windy_runs(tuple(range(runs)), WINDY_STEPS)
    steps = np.arange(0, WINDY_STEPS + 1, 20)
    ends = [np.cumsum(lengths) for lengths in done["lengths"]]
    completed = np.array([np.searchsorted(end, steps, side="right") for end in ends])  # runs × steps
    late = [
        np.mean([n for n, end in zip(lengths, e) if end > WINDY_STEPS - 2000])
        for lengths, e in zip(done["lengths"], ends)
    ]
    greedy = [g for g in done["greedy"] if g is not None]
    by_end = completed[:, -1]
    log(f"   {by_end.mean():.0f} episodes by step {WINDY_STEPS}; {greedy.count(15)} of {runs} greedy paths optimal")
    return {
        "runs": runs,
        "x": steps.tolist(),
        "xlabel": "time steps",
        "panels": {"episodes": {"Sarsa": _curve(completed.mean(axis=0))}},
        "book": [
            [
                f"episodes by step {WINDY_STEPS}",
                "≈ 170 (one run)",
                f"{by_end.mean():.0f} (runs: {by_end.min()}–{by_end.max()})",
            ],
            [
                "greedy path from S to G",
                "15 steps, optimal",
                f"{greedy.count(15)} of {runs} runs take 15, {len(greedy) - greedy.count(15)} more; "
                f"{runs - len(greedy)} loop (their greedy policy is not yet settled at α = 0.5)",
            ],
            [
                "ε-greedy episode length late on",
                "about 17 steps",
                f"{np.mean(late):.1f} (episodes ending after step {WINDY_STEPS - 2000})",
            ],
            ["slope of the curve", "increases: episodes get shorter", _slopes(completed.mean(axis=0), steps)],
        ],
        "notes": f"The mean over {runs} runs (the book shows one); a run's episodes end at its cumulative lengths.",
    }


def _slopes(curve: np.ndarray, steps: np.ndarray) -> str:
    quarter = len(steps) // 4
    rates = [(curve[i + quarter] - curve[i]) / (steps[i + quarter] - steps[i]) * 1000 for i in (0, 3 * quarter - 1)]
    return f"{rates[0]:.1f} episodes per 1000 steps in the first quarter, {rates[1]:.1f} in the last"


# ----- Figure 6.3 ------------------------------------------------------------------------------------
def cliff_returns(method: str, alpha: float, seeds: tuple[int, ...], episodes: int) -> np.ndarray:
    """(runs, episodes): each run's online return per episode of ``method`` on CliffWalking, step size α."""
    from rlsuite.agents import make_agent

    agent = make_agent(method, CLIFF, seeds=list(seeds), use_preset=False, learning_rate=alpha, gamma=1.0, epsilon=0.1)
    results = agent.learn(10**8, max_episodes=episodes, **QUIET)
    results = results if isinstance(results, list) else [results]
    return np.array([r.episode_returns[:episodes] for r in results], dtype=float)


def figure_6_3(runs: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Interim and asymptotic performance of the three TD control methods against α."""

    jobs = [(m, a, tuple(range(runs)), CLIFF_EPISODES) for m in CLIFF_METHODS for a in CLIFF_ALPHAS]
    jobs.sort(key=lambda job: (job[0] != "sarsa", -job[1]))  # the longest first: Sarsa with a large α
    returns = dict(zip(((m, a) for m, a, *_ in jobs), run_all(cliff_returns, jobs, workers)))
    curves = {}
    for m, label in CLIFF_METHODS.items():
        curves[f"{label} interim"] = _curve([returns[m, a][:, :INTERIM].mean() for a in CLIFF_ALPHAS])
        curves[f"{label} asymptotic"] = _curve([returns[m, a][:, CLIFF_EPISODES // 2 :].mean() for a in CLIFF_ALPHAS])
    log("   " + ", ".join(f"{k} {min(v):.0f}…{max(v):.0f}" for k, v in curves.items()))
    es, sarsa, q = (curves[f"{CLIFF_METHODS[m]} asymptotic"] for m in ("expected_sarsa", "sarsa", "qlearning"))
    return {
        "runs": runs,
        "x": list(CLIFF_ALPHAS),
        "xlabel": "α",
        "panels": {"sum of rewards per episode": curves},
        "plot": {"sum of rewards per episode": {"ylim": [-160, 0]}},
        "book": [
            [
                "runs",
                "interim 50 000 × 100 episodes; asymptotic 10 × 100 000 episodes",
                f"{runs} × {CLIFF_EPISODES} episodes: interim 1–{INTERIM}, asymptotic {CLIFF_EPISODES // 2 + 1}–"
                f"{CLIFF_EPISODES}",
            ],
            ["Expected Sarsa asymptotic", "the highest, flat over α", f"{min(es):.0f} … {max(es):.0f}"],
            [
                "Q-learning asymptotic",
                "flat, well below (≈ −50: the edge path with falls)",
                f"{min(q):.0f} … {max(q):.0f}",
            ],
            [
                "Sarsa asymptotic",
                "near Expected Sarsa at small α, falls off at large α",
                f"{sarsa[0]:.0f} at α = 0.1, {sarsa[-1]:.0f} at α = 1",
            ],
            [
                "interim (first 100 episodes), at its best",
                "Expected Sarsa highest at large α; Q-learning lowest",
                ", ".join(_best_alpha(label, curves[f"{label} interim"]) for label in CLIFF_METHODS.values()),
            ],
        ],
        "notes": (
            f"Online return (exploration included), ε = 0.1. Fewer runs and episodes than the book's: {runs} runs of "
            f"{CLIFF_EPISODES} episodes per (method, α); asymptotic is the mean over the second half of each run."
        ),
    }


def _best_alpha(label: str, curve: list[float]) -> str:
    best = int(np.argmax(curve))
    return f"{label} {curve[best]:.0f} at α = {CLIFF_ALPHAS[best]:g}"


FIGURES = [
    Figure("ex6.2", "Example 6.2: TD(0) vs constant-α MC on the random walk", 100, example_6_2),
    Figure("fig6.2", "Figure 6.2: batch TD(0) vs batch MC on the random walk", 100, figure_6_2),
    Figure("ex6.5", "Example 6.5: Sarsa on the windy gridworld", WINDY_RUNS, example_6_5),
    Figure("fig6.3", "Figure 6.3: TD control on cliff walking", CLIFF_RUNS, figure_6_3),
]
