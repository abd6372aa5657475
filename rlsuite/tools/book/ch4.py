"""Chapter 4, dynamic programming: Figures 4.2 (Jack's car rental) and 4.3 (the gambler's problem).

Both are exact: no runs, the envs' ``P`` and the solver.

* Figure 4.2: policy iteration (:func:`rlsuite.core.solver.policy_iteration`, exact evaluation by a
  linear solve) on rlsuite/JacksCarRental-v0 at γ = 0.9 from π0 = move no cars; the policies
  π0, π1, … it evaluates, and v*. ``P`` is exact (the Poisson tails are lumped where they saturate),
  read from the env's dense :meth:`~rlsuite.envs.jacks_car_rental.JacksCarRentalEnv.dynamics`.
* Figure 4.3: value iteration on rlsuite/GamblersProblem-v0 (p_h = 0.4, γ = 1), in place, capital
  1 to 99 in order, as the book's algorithm: the estimates after sweeps 1, 2, 3 and 32, the final
  value function and the final policy. Many stakes tie for the best in many states; the policy
  shown takes the smallest stake among those within 1e-9 of the best.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rlsuite.tools.book import Figure

JACK_GAMMA = 0.9
GAMBLER_SWEEPS = (1, 2, 3, 32)
TIE = 1e-9  # stakes within this of the best count as ties (the values converge to 1e-12)


# ----- Figure 4.2: Jack's car rental -------------------------------------------------------------
def jacks_policies() -> tuple[list[np.ndarray], np.ndarray]:
    """Policy iteration from π0 = no moves: (the policies evaluated, as moves per state; v*)."""
    from rlsuite.core.solver import TabularMDP, policy_iteration
    from rlsuite.envs.jacks_car_rental import MAX_MOVE, JacksCarRentalEnv

    env = JacksCarRentalEnv()
    reward, prob = env.dynamics()
    allowed = np.array([env.action_mask(s) for s in range(env.observation_space.n)], dtype=bool)
    mdp = TabularMDP(reward, prob, allowed, env.state_names, env.action_names)
    policies: list[np.ndarray] = []
    start = np.full(mdp.n_states, MAX_MOVE)  # action 5: move 0 cars
    _, v, _ = policy_iteration(mdp, JACK_GAMMA, policy=start, visit=lambda pi, _: policies.append(pi - MAX_MOVE))
    return policies, v


def as_drawn(values: np.ndarray) -> list[list[float]]:
    """A 441-state array as the book draws it: rows from 20 cars at the first location down to 0,
    columns 0 … 20 cars at the second."""
    return np.asarray(values).reshape(21, 21)[::-1].tolist()


def fig4_2(runs: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    """The policies π0 … π4 of policy iteration on Jack's car rental, and v*."""
    policies, v = jacks_policies()
    final = policies[-1].reshape(21, 21)
    panels: dict[str, Any] = {f"π{k}": as_drawn(pi) for k, pi in enumerate(policies)}
    panels["v*"] = as_drawn(np.round(v, 1))
    log(f"   {len(policies)} policies; v* from {v.min():.1f} to {v.max():.1f}")
    book = [
        ["policies until stable (π0 = no moves)", "π0 … π4", f"π0 … π{len(policies) - 1}"],
        ["π4: cars moved, first → second (negative: back)", "−4 … 5", f"{_signed(final.min())} … {final.max()}"],
        ["π4 at (20, 0) / (0, 20) cars", "5 / −4 (read off the figure)", f"{final[20, 0]} / {_signed(final[0, 20])}"],
        ["v*: smallest and largest (the figure's axis)", "≈ 420 … 612", f"{v.min():.0f} … {v.max():.0f}"],
    ]
    notes = (
        "Exact P: a location rents min(requests, cars), so the request counts at or above its cars are one "
        "outcome, and the returns that fill it to 20 are one outcome; no Poisson tail is cut off. Truncating "
        "the counts at 10 without renormalising, as some implementations do, loses probability each day "
        "and lowers v* by a few percent. Rows: cars at the first location, 20 at the top; columns: cars at "
        "the second location, 0 … 20."
    )
    return {
        "runs": 0,
        "x": list(range(21)),
        "xlabel": "#cars at second location",
        "panels": panels,
        "book": book,
        "notes": notes,
        "plot": {
            name: {
                "rows": list(range(20, -1, -1)),
                "columns": list(range(21)),
                "ylabel": "#cars at first location",
                "xlabel": "#cars at second location",
                **({"vmin": -5, "vmax": 5} if name.startswith("π") else {}),
            }
            for name in panels
        },
    }


def _signed(n: int) -> str:
    """A whole number with a real minus sign, as the book prints it."""
    return f"{n}".replace("-", "−")


# ----- Figure 4.3: the gambler's problem ---------------------------------------------------------
def gambler_sweeps(p_h: float = 0.4, shown: tuple[int, ...] = GAMBLER_SWEEPS, theta: float = 1e-12):
    """In-place value iteration over capital 1 … 99: ({sweep: V after it}, final V, final policy, sweeps
    until the largest change fell below ``theta``). Sweeps go on to the last of ``shown`` at least."""
    from rlsuite.core.solver import tabular_mdp
    from rlsuite.envs.gamblers_problem import GOAL, GamblersProblemEnv

    mdp = tabular_mdp(GamblersProblemEnv(p_h=p_h))
    v, estimates, converged, sweep = np.zeros(GOAL + 1), {}, None, 0
    while converged is None or sweep < max(shown):
        sweep += 1
        delta = 0.0
        for s in range(1, GOAL):
            best = (mdp.reward[s] + mdp.continuation[s] @ v)[mdp.allowed[s]].max()
            delta, v[s] = max(delta, abs(best - v[s])), best
        if sweep in shown:
            estimates[sweep] = v.copy()
        if converged is None and delta < theta:
            converged = sweep
    q = np.where(mdp.allowed, mdp.q_from_v(v, 1.0), -np.inf)
    policy = np.array([np.flatnonzero(q[s] >= q[s].max() - TIE)[0] for s in range(GOAL + 1)])
    return estimates, v, policy, converged


def fig4_3(runs: int, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Value iteration on the gambler's problem (p_h = 0.4): the sweeps' estimates and the final policy."""
    estimates, v, policy, converged = gambler_sweeps()
    capital = slice(1, 100)
    values = {f"sweep {k}": np.round(e[capital], 6).tolist() for k, e in estimates.items()}
    values["final value function"] = np.round(v[capital], 6).tolist()
    spikes = [int(s) for s in range(1, 100) if policy[s] >= max(policy[s - 1], policy[s + 1]) + 5]
    log(f"   converged after {converged} sweeps; the policy's spikes at {spikes}")
    book = [
        ["final policy: stakes at capital 25, 50, 75", "25, 50, 25", ", ".join(str(policy[s]) for s in (25, 50, 75))],
        ["final policy: where it spikes", "25, 50, 75", ", ".join(map(str, spikes))],
        ["v*(25), v*(50), v*(75)", "0.16, 0.4, 0.64 (bold play)", ", ".join(f"{v[s]:.4f}" for s in (25, 50, 75))],
    ]
    notes = (
        f"In-place sweeps, capital 1 to 99 in order (the values stop changing, to 1e-12, after {converged}). "
        "Many stakes are optimal in many states: the policy takes the smallest stake within 1e-9 of the "
        "best, which draws the book's figure. The stake 0 (bet nothing) is left out of A(s)."
    )
    return {
        "runs": 0,
        "x": list(range(1, 100)),
        "xlabel": "capital",
        "panels": {"value estimates": values, "final policy": {"stake": policy[capital].tolist()}},
        "book": book,
        "notes": notes,
    }


FIGURES = [
    Figure("fig4.2", "Figure 4.2: policy iteration on Jack's car rental (Example 4.2)", 0, fig4_2),
    Figure("fig4.3", "Figure 4.3: value iteration on the gambler's problem (Example 4.3), p_h = 0.4", 0, fig4_3),
]
