"""Chapter 5, Monte Carlo methods, on Blackjack (Example 5.1): Figures 5.1, 5.2 and 5.3.

Blackjack is Gymnasium's ``Blackjack-v1`` with ``sab=True``, played many episodes at a time by
:mod:`rlsuite.vecenv.blackjack` (the env in a Python loop would take minutes for the book's
500,000 episodes); the methods are the numpy functions of :mod:`rlsuite.learning.montecarlo`. The
exact values come from :func:`rlsuite.vecenv.blackjack.exact_values`, a recursion over the hands
of the infinite deck: v_π of the policy that sticks on 20 and 21 (v_π(13, dealer 2, usable ace)
= −0.27720, the book's −0.27726), and v*, q* and π*.

Tables are drawn as the book draws them: rows player sum 21 (top) down to 12, columns the dealer's
showing card A, 2, …, 10; a policy is 1 where it hits and 0 where it sticks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rlsuite.learning.montecarlo import first_visit_prediction, monte_carlo_es, off_policy_errors
from rlsuite.tools.book import Figure
from rlsuite.vecenv.blackjack import exact_values, stick_on

SUMS, DEALER = slice(21, 11, -1), slice(1, 11)  # rows 21 … 12, columns A … 10
ACE = {"usable ace": 1, "no usable ace": 0}
SHORT, LONG = 10_000, 500_000
ES_EPISODES, ES_BATCH = 500_000, 1000
OFF_STATE, OFF_TRUE, OFF_EPISODES = (13, 2, 1), -0.27726, 10_000
# Figure 5.2's π*, rows 21 … 12, columns A … 10: 1 = hit
BOOK_POLICY = {
    "usable ace": [[0] * 10] * 3 + [[1, 0, 0, 0, 0, 0, 0, 0, 1, 1]] + [[1] * 10] * 6,
    "no usable ace": [[0] * 10] * 5 + [[1, 0, 0, 0, 0, 0, 1, 1, 1, 1]] * 4 + [[1, 1, 1, 0, 0, 0, 1, 1, 1, 1]],
}
DEALER_CARDS = ["A", *map(str, range(2, 11))]
# the tables' axes as the book draws them: player sum 21 at the top, the dealer's card A … 10
AXES = {"rows": list(range(21, 11, -1)), "columns": DEALER_CARDS, "ylabel": "player sum", "xlabel": "dealer showing"}


def table(values: np.ndarray, usable: int, decimals: int = 2) -> list[list[float]]:
    """A (32, 11, 2) table's part the book draws: rows sum 21 … 12, columns dealer A … 10."""
    return np.round(values[SUMS, DEALER, usable], decimals).tolist()


def _range(values: np.ndarray) -> str:
    return f"{values.min():+.2f} … {values.max():+.2f}"


def fig5_1(runs: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    """First-visit MC prediction of the policy that sticks on 20 and 21, after 10,000 and 500,000 episodes."""
    policy = stick_on(20)
    estimates = [first_visit_prediction(policy, (SHORT, LONG), np.random.default_rng(seed)) for seed in range(runs)]
    mean = {n: np.mean([e[n] for e in estimates], axis=0) for n in (SHORT, LONG)}
    exact, _ = exact_values(policy)
    panels = {f"{name}, after {n:,} episodes": table(mean[n], u) for name, u in ACE.items() for n in (SHORT, LONG)}
    error = {n: np.abs(mean[n] - exact)[12:21, 1:11].max() for n in (SHORT, LONG)}  # 21 with an ace: naturals mix in
    log(f"   max |V − v_π| over sums 12–20: {error[SHORT]:.3f} after {SHORT:,}, {error[LONG]:.3f} after {LONG:,}")
    big = mean[LONG]
    return {
        "runs": runs,
        "x": DEALER_CARDS,
        "panels": panels,
        "book": [
            ["v, sums 20–21, dealer 2–9, after 500,000", "≈ +0.6 … +0.95", _range(big[20:22, 2:10])],
            ["v, sums 12–19, no usable ace, dealer 10, after 500,000", "≈ −0.6 … −0.7", _range(big[12:20, 10, 0])],
            [
                "v(13, dealer 2, usable ace): exact (recursion) / after 500,000",
                f"{OFF_TRUE} (Example 5.4)",
                f"{exact[13, 2, 1]:.5f} / {big[13, 2, 1]:.3f}",
            ],
            [
                "max |V − v_π| over sums 12–20, after 10,000 / 500,000 (v_π exact, by recursion)",
                "noisy / smooth (usable ace noisiest)",
                f"{error[SHORT]:.2f} / {error[LONG]:.3f}",
            ],
        ],
        "notes": "Rows: player sum 21 (top) … 12; columns: dealer showing A, 2, …, 10. "
        "Gymnasium's Blackjack-v1 (sab=True) rules, played in numpy; first-visit MC, mean return per state.",
        "plot": {name: {"decimals": 1, **AXES} for name in panels},
    }


def fig5_2(runs: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Monte Carlo ES: the greedy policy and max_a Q after ES_EPISODES episodes, beside the book's π*."""
    results = [monte_carlo_es(ES_EPISODES, np.random.default_rng(seed), ES_BATCH) for seed in range(runs)]
    q, policy, _ = results[0]
    v_star, q_star = exact_values()
    exact_policy = (q_star[..., 1] > q_star[..., 0]).astype(float)
    differ = [
        sum(int((np.asarray(table(p, u, 0)) != BOOK_POLICY[name]).sum()) for name, u in ACE.items())
        for _, p, _ in results
    ]
    exact_differ = sum(
        int((np.asarray(table(exact_policy, u, 0)) != BOOK_POLICY[name]).sum()) for name, u in ACE.items()
    )
    value_error = [float(np.abs(r[0].max(axis=-1) - v_star)[12:22, 1:11].max()) for r in results]
    log(f"   π* cells that differ from the book's: {differ} of 200; exact π*: {exact_differ}")
    panels: dict[str, Any] = {}
    for name, u in ACE.items():
        panels[f"π*, {name}"] = table(policy, u, 0)
        panels[f"v*, {name}"] = table(q.max(axis=-1), u)
    return {
        "runs": runs,
        "x": DEALER_CARDS,
        "panels": panels,
        "book": [
            [
                "π* cells (of 200) that differ from the book's",
                "0",
                f"{np.mean(differ):g}" + (f" (runs: {differ})" if runs > 1 else ""),
            ],
            ["exact π* (q* by recursion) against the book's π*", "—", f"{exact_differ} cells differ"],
            ["no usable ace: sticks from", "17 vs A, 7–10; 13 vs 2–3; 12 vs 4–6", _stick_from(policy, 0)],
            ["usable ace: sticks from", "19 vs A, 9, 10; 18 vs 2–8", _stick_from(policy, 1)],
            ["max |max_a Q − v*| over sums 12–21", "—", f"{np.mean(value_error):.3f}"],
        ],
        "notes": f"Monte Carlo ES, {ES_EPISODES:,} episodes, exploring starts uniform over the 200 states, the policy "
        f"improved after every {ES_BATCH} episodes (the book: after each). Policy: 1 = hit, 0 = stick; rows: player "
        "sum 21 (top) … 12; columns: dealer showing A, 2, …, 10.",
        "plot": {name: {"decimals": 0 if name.startswith("π") else 1, **AXES} for name in panels},
    }


def _stick_from(policy: np.ndarray, usable: int) -> str:
    """For each dealer card, the smallest sum from which the policy sticks (to 21), as "A:17 2:13 …"."""
    out = []
    for d, card in zip(range(1, 11), DEALER_CARDS):
        sticks = [s for s in range(12, 22) if all(policy[t, d, usable] == 0 for t in range(s, 22))]
        out.append(f"{card}:{min(sticks) if sticks else '—'}")
    return " ".join(out)


def fig5_3(runs: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Off-policy prediction of v(13, dealer 2, usable ace): ordinary against weighted importance sampling."""
    ordinary, weighted = off_policy_errors(
        stick_on(20), OFF_STATE, OFF_TRUE, OFF_EPISODES, runs, np.random.default_rng(0)
    )
    shown = np.unique(np.round(np.logspace(0, np.log10(OFF_EPISODES), 200)).astype(int))
    at = {n: (ordinary[n - 1], weighted[n - 1]) for n in (1, 10, 100, 1000, 10_000) if n <= OFF_EPISODES}
    log("   MSE ordinary / weighted: " + ", ".join(f"{n}: {o:.3f} / {w:.3f}" for n, (o, w) in at.items()))
    book = {
        1: "ordinary high, weighted much lower",
        10: "ordinary high, weighted lower",
        100: "both falling, weighted lower",
        1000: "both near 0",
        10_000: "both ≈ 0",
    }
    return {
        "runs": runs,
        "x": shown.tolist(),
        "xlabel": "Episodes (log scale)",
        "panels": {
            "Mean square error (average over runs)": {
                "Ordinary importance sampling": np.round(ordinary[shown - 1], 5).tolist(),
                "Weighted importance sampling": np.round(weighted[shown - 1], 5).tolist(),
            }
        },
        "book": [
            [f"MSE after {n:,} episodes, ordinary / weighted", book[n], f"{o:.3f} / {w:.4f}"]
            for n, (o, w) in at.items()
        ],
        "notes": "Behaviour: hit or stick at random; target: stick on 20 and 21; the state (13, dealer 2, usable "
        f"ace), v = {OFF_TRUE} (the book's). With ρ = 0 or 2^T, ordinary importance sampling has a heavy tail: its "
        f"expected squared error after one episode is about 10, above the plot's top, and its mean over {runs} runs "
        "is itself noisy.",
        "plot": {"Mean square error (average over runs)": {"xscale": "log", "ylim": [0, 5]}},
    }


FIGURES = [
    Figure("fig5.1", "Figure 5.1: first-visit MC prediction of the stick-on-20 policy on Blackjack", 1, fig5_1),
    Figure("fig5.2", "Figure 5.2: Monte Carlo ES on Blackjack, π* and v*", 1, fig5_2),
    Figure("fig5.3", "Figure 5.3: ordinary and weighted importance sampling", 100, fig5_3),
]
