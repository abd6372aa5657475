"""Chapter 2, multi-armed bandits: Figures 2.2–2.6 on the 10-armed testbed (2000 runs × 1000 steps).

Each method is a registered agent (``bandit_epsilon_greedy``, ``bandit_ucb``, ``bandit_gradient``)
made with ``make_agent(NAME, "rlsuite/Bandit-v0", seeds=runs, ...)``: one agent whose members are
the runs. The figures drive the agent's own hooks (``act``, then ``observe`` with the reward) against
:class:`rlsuite.envs.bandit.Testbed`, the testbed's 2000 problems stepped in numpy, rather than
through ``learn``: 2000 Gymnasium envs and the loop's bookkeeping for 2000 members cost tens of
milliseconds a step, where the whole step here costs one or two. Run k's problem and its agent's
random stream come from seed k alone, so every method meets the same 2000 problems. One method (one
setting) per worker process.

* Figure 2.2: ε-greedy, sample averages, ε = 0, 0.01, 0.1.
* Figure 2.3: optimistic greedy (Q1 = 5, ε = 0) against realistic ε-greedy (Q1 = 0, ε = 0.1), α = 0.1.
* Figure 2.4: UCB (c = 2) against ε-greedy (ε = 0.1), sample averages.
* Figure 2.5: the gradient bandit, α = 0.1 and 0.4, with and without baseline; q*(a) ~ N(4, 1).
* Figure 2.6: the average reward over the first 1000 steps against each method's parameter,
  1/128 … 4 in powers of 2, as the book's sweep.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rlsuite.tools.book import Figure, run_all

RUNS, STEPS = 2000, 1000
STEPS_AXIS = "steps"
REWARD, OPTIMAL = "average reward", "% optimal action"
# Figure 2.6: each method's parameter range, as powers of 2 (the book's sweep)
SWEEP = {
    "epsilon-greedy": ("bandit_epsilon_greedy", "epsilon", range(-7, -1), {}),
    "gradient bandit": ("bandit_gradient", "learning_rate", range(-5, 2), {}),
    "UCB": ("bandit_ucb", "c", range(-4, 3), {}),
    "greedy with optimistic initialization alpha=0.1": (
        "bandit_epsilon_greedy",
        "initial_q",
        range(-2, 3),
        {"epsilon": 0.0, "learning_rate": 0.1},
    ),
}
POWERS = range(-7, 3)
READ_OFF = " The book's numbers are read off its figure: approximate."


def bandit_runs(agent_name: str, hyper: dict[str, Any], testbed: dict[str, float], runs: int, steps: int):
    """``runs`` runs of one bandit method (``hyper``: its hyperparameters) on the testbed (``testbed``:
    :class:`~rlsuite.envs.bandit.Testbed`'s arguments): (mean reward, fraction of optimal pulls), each
    an array over the steps, averaged over the runs."""
    from rlsuite.agents import make_agent
    from rlsuite.core.transition import Transition
    from rlsuite.envs.bandit import Testbed

    agent = make_agent(agent_name, "rlsuite/Bandit-v0", seeds=runs, use_preset=False, **hyper)
    agent.begin(steps)
    problems = Testbed(agent.seeds, **testbed)
    state, going = np.zeros(runs, dtype=np.int64), np.zeros(runs, dtype=bool)
    rewards, optimal = np.zeros(steps), np.zeros(steps)
    for t in range(steps):
        arms = agent.act(state, None)
        reward, best = problems.pull(arms)
        agent.observe(Transition(state, arms, reward, state, going, going))
        rewards[t], optimal[t] = reward.mean(), best.mean()
    return rewards, optimal


def run_methods(
    methods: dict[str, tuple[str, dict[str, Any]]], testbed: dict[str, float], runs: int, workers: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every method (label: (agent, hyperparameters)), one per worker: label → (mean reward, optimal)."""

    jobs = [(agent, hyper, testbed, runs, STEPS) for agent, hyper in methods.values()]
    return dict(zip(methods, run_all(bandit_runs, jobs, workers)))


def curves(done: dict[str, tuple[np.ndarray, np.ndarray]], which: int, scale: float = 1.0) -> dict[str, list]:
    """One panel's curves: the reward (``which`` 0) or the optimal fraction (1, as % with ``scale`` 100)."""
    return {label: np.round(scale * pair[which], 4).tolist() for label, pair in done.items()}


def tail(values: np.ndarray, n: int = 100) -> float:
    """The mean of the last ``n`` steps: a figure's end, read with less noise than one step gives."""
    return float(np.mean(values[-n:]))


def figure(runs: int, panels: dict[str, dict[str, list]], book: list[list[str]], notes: str) -> dict[str, Any]:
    """The figure's JSON over steps 1 … 1000."""
    return {
        "runs": runs,
        "x": list(range(1, STEPS + 1)),
        "xlabel": STEPS_AXIS,
        "panels": panels,
        "book": book,
        "notes": notes + READ_OFF,
        "plot": {OPTIMAL: {"ylim": [0, 100]}, REWARD: {"ylim": [0, 1.6]}},
    }


def fig2_2(runs: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    """ε-greedy with sample averages, ε = 0, 0.01, 0.1: average reward and % optimal action."""
    methods = {f"epsilon={e:g}": ("bandit_epsilon_greedy", {"epsilon": e}) for e in (0.0, 0.01, 0.1)}
    done = run_methods(methods, {}, runs, workers)
    book_numbers = {
        "epsilon=0.1": ("≈ 1.4", "≈ 80 %"),
        "epsilon=0.01": ("≈ 1.3", "≈ 55 %"),
        "epsilon=0": ("≈ 1.0", "≈ 35 %"),
    }
    book = []
    for label, (reward_book, optimal_book) in book_numbers.items():
        reward, optimal = done[label]
        book.append([f"{label}: average reward, steps 901–1000", reward_book, f"{tail(reward):.2f}"])
        book.append([f"{label}: % optimal action, steps 901–1000", optimal_book, f"{100 * tail(optimal):.0f} %"])
        log(f"   {label}: reward {tail(reward):.2f}, optimal {100 * tail(optimal):.0f} %")
    notes = "Sample-average estimates, Q1 = 0, ties broken at random."
    return figure(runs, {REWARD: curves(done, 0), OPTIMAL: curves(done, 1, 100)}, book, notes)


def fig2_3(runs: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Optimistic greedy (Q1 = 5) against realistic ε-greedy (Q1 = 0, ε = 0.1), α = 0.1: % optimal action."""
    optimistic, realistic = "optimistic greedy Q1=5, epsilon=0", "realistic epsilon-greedy Q1=0, epsilon=0.1"
    methods = {
        optimistic: ("bandit_epsilon_greedy", {"epsilon": 0.0, "initial_q": 5.0, "learning_rate": 0.1}),
        realistic: ("bandit_epsilon_greedy", {"epsilon": 0.1, "initial_q": 0.0, "learning_rate": 0.1}),
    }
    done = run_methods(methods, {}, runs, workers)
    first = done[optimistic][1][:20]
    spike = int(np.argmax(first)) + 1
    book = [
        [
            "optimistic: spike of % optimal early on (step)",
            "a spike near step 11",
            f"step {spike}: {100 * first.max():.0f} %",
        ],
        ["optimistic: % optimal, steps 901–1000", "above realistic", f"{100 * tail(done[optimistic][1]):.0f} %"],
        ["realistic: % optimal, steps 901–1000", "≈ 75–80 %", f"{100 * tail(done[realistic][1]):.0f} %"],
    ]
    log(f"   optimistic {100 * tail(done[optimistic][1]):.0f} %, realistic {100 * tail(done[realistic][1]):.0f} %")
    notes = "Both with a constant step size α = 0.1; greedy ties broken at random."
    return figure(runs, {OPTIMAL: curves(done, 1, 100)}, book, notes)


def fig2_4(runs: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    """UCB (c = 2) against ε-greedy (ε = 0.1), sample averages: average reward."""
    ucb, greedy = "UCB c=2", "epsilon-greedy epsilon=0.1"
    methods = {ucb: ("bandit_ucb", {"c": 2.0}), greedy: ("bandit_epsilon_greedy", {"epsilon": 0.1})}
    done = run_methods(methods, {}, runs, workers)
    first = done[ucb][0][:20]
    book = [
        [
            "UCB: spike of the average reward early on (step)",
            "a spike at step 11",
            f"step {int(np.argmax(first)) + 1}: {first.max():.2f}",
        ],
        ["UCB: average reward, steps 901–1000", "≈ 1.5, above ε-greedy", f"{tail(done[ucb][0]):.2f}"],
        ["ε-greedy: average reward, steps 901–1000", "≈ 1.35", f"{tail(done[greedy][0]):.2f}"],
    ]
    log(f"   UCB {tail(done[ucb][0]):.2f}, epsilon-greedy {tail(done[greedy][0]):.2f}")
    notes = "Untried arms first (N(a) = 0 maximizes the bound), then the largest Q(a) + 2 sqrt(ln t / N(a))."
    return figure(runs, {REWARD: curves(done, 0)}, book, notes)


def fig2_5(runs: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    """The gradient bandit, α = 0.1 and 0.4, with and without baseline, q*(a) ~ N(4, 1): % optimal action."""
    methods = {
        f"alpha={alpha:g} {'with' if baseline else 'without'} baseline": (
            "bandit_gradient",
            {"learning_rate": alpha, "baseline": baseline},
        )
        for baseline in (True, False)
        for alpha in (0.1, 0.4)
    }
    done = run_methods(methods, {"mean": 4.0}, runs, workers)
    book_numbers = {
        "alpha=0.1 with baseline": "≈ 80 % (the best)",
        "alpha=0.4 with baseline": "≈ 75 %",
        "alpha=0.1 without baseline": "≈ 55 %",
        "alpha=0.4 without baseline": "≈ 30 % (the worst)",
    }
    book = [
        [f"{label}: % optimal, steps 901–1000", book_numbers[label], f"{100 * tail(done[label][1]):.0f} %"]
        for label in methods
    ]
    for row in book:
        log(f"   {row[0]}: {row[2]}")
    notes = "The testbed's true values are drawn from N(4, 1); the baseline is the average of the rewards before."
    return figure(runs, {OPTIMAL: curves(done, 1, 100)}, book, notes)


def fig2_6(runs: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    """The parameter study: average reward over the first 1000 steps against ε, α, c or Q0."""

    jobs, where = [], []
    for label, (agent, name, powers, fixed) in SWEEP.items():
        for p in powers:
            jobs.append((agent, {**fixed, name: 2.0**p}, {}, runs, STEPS))
            where.append((label, p))
    done = run_all(bandit_runs, jobs, workers)
    panel: dict[str, list] = {label: [None] * len(POWERS) for label in SWEEP}
    for (label, p), (reward, _) in zip(where, done):
        panel[label][p - POWERS[0]] = round(float(reward.mean()), 4)
    best = {label: max((v, 2.0**p) for v, p in zip(values, POWERS) if v is not None) for label, values in panel.items()}
    book_numbers = {
        "epsilon-greedy": "≈ 1.3 near ε = 1/16",
        "gradient bandit": "≈ 1.4 near α = 1/8 … 1/4",
        "UCB": "≈ 1.5 near c = 1 (the best method)",
        "greedy with optimistic initialization alpha=0.1": "≈ 1.4 near Q0 = 1",
    }
    book = [
        [f"{label}: best average reward", book_numbers[label], f"{v:.2f} at {_power(x)}"]
        for label, (v, x) in best.items()
    ]
    for row in book:
        log(f"   {row[0]}: {row[2]}")
    return {
        "runs": runs,
        "x": [2.0**p for p in POWERS],
        "xlabel": "ε, α, c, Q0 (log scale, 1/128 … 4)",
        "panels": {"average reward over first 1000 steps": panel},
        "book": book,
        "notes": (
            "Each point is the mean reward over all runs and the first 1000 steps; ε-greedy and UCB use "
            "sample averages, the gradient bandit its baseline." + READ_OFF
        ),
        "plot": {"average reward over first 1000 steps": {"xscale": "log", "ylim": [1.0, 1.5]}},
    }


def _power(x: float) -> str:
    """2^k as the book labels its axis: 1/128, …, 1, 2, 4."""
    return f"1/{round(1 / x)}" if x < 1 else f"{x:g}"


FIGURES = [
    Figure("fig2.2", "Figure 2.2: ε-greedy action-value methods on the 10-armed testbed", RUNS, fig2_2),
    Figure("fig2.3", "Figure 2.3: optimistic initial values on the 10-armed testbed", RUNS, fig2_3),
    Figure("fig2.4", "Figure 2.4: UCB action selection on the 10-armed testbed", RUNS, fig2_4),
    Figure("fig2.5", "Figure 2.5: the gradient bandit, with and without baseline", RUNS, fig2_5),
    Figure("fig2.6", "Figure 2.6: a parameter study of the bandit algorithms", RUNS, fig2_6),
]
