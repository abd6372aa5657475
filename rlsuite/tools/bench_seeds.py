"""``rlsuite bench --suite seeds``: what K seeds in one stacked run cost, against the same seeds
trained one after another — rlsuite's single-seed runs and, for DQN, Stable-Baselines3's.

* ``cliff``: Q-learning on CliffWalking-v1 (α 0.5, ε 0.1, γ 1, Sutton & Barto's Example 6.6),
  1000 seeds × 500 episodes in one run, against single runs one after another (a few timed,
  the rest extrapolated), and the mean online return over episodes 100–500 (the book: about −50).
  The seeds trained alone are checked to give the stacked members' returns exactly.
* ``cartpole``: DQN on CartPole-v1 with the rl-zoo preset, 8 seeds × 50k steps in one run, against
  8 single-seed rlsuite runs and 8 Stable-Baselines3 runs one after another (2 of each timed, the
  rest extrapolated); the IQM of the members' final evaluation returns.
* ``update``: the per-member cost of one DQN gradient step (the CartPole preset's 4-256-256-2
  network, batch 64) for K = 1, 8, 32 stacked members, against the GEMM floor (the step's
  multiply-adds at the speed this machine's batched matmul reaches).

Everything runs on one torch thread, in this process; times are the wall time of ``learn`` (its
evaluations included, on both sides). It writes OUT/seeds.md and OUT/seeds.json.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.core.stats import iqm_ci
from rlsuite.tools import report

CASES = ("cliff", "cartpole", "update")
HELP = (
    f"seeds: K seeds stacked in one run against the same seeds one after another, into OUT/seeds.md "
    f"(--only {' '.join(CASES)}; --seeds K: the cliff case's seeds, default 1000)"
)
CLIFF = dict(learning_rate=0.5, gamma=1.0, epsilon=0.1, use_preset=False)
QUIET = dict(progress=False, log_images=False, torch_threads=1)


def _learn(agent, steps: int, **settings: Any) -> list[Any]:
    results = agent.learn(steps, **{**QUIET, **settings})
    return results if isinstance(results, list) else [results]


def cliff_case(seeds: int = 1000, episodes: int = 500, alone: int = 5, log: Callable = print) -> dict[str, Any]:
    from rlsuite.agents import make_agent

    settings = dict(max_episodes=episodes, eval_episodes=1, eval_max_steps=1000)
    agent = make_agent("qlearning", "CliffWalking-v1", seeds=seeds, **CLIFF)
    start = time.perf_counter()
    stacked = _learn(agent, 10**7, **settings)
    stacked_s = time.perf_counter() - start
    singles, exact = [], True
    for seed in range(alone):
        one = make_agent("qlearning", "CliffWalking-v1", seed=seed, **CLIFF)
        start = time.perf_counter()
        result = _learn(one, 10**7, **settings)[0]
        singles.append(time.perf_counter() - start)
        exact &= result.episode_returns == stacked[seed].episode_returns
    first = min(100, episodes // 5 + 1)  # the book's window: episodes 100-500 of 500
    returns = np.array([r.episode_returns[first - 1 : episodes] for r in stacked])
    sequential = float(np.mean(singles)) * seeds
    log(
        f"   {seeds} seeds stacked {stacked_s:.1f} s; one seed {np.mean(singles):.2f} s → {seeds} one after another "
        f"≈ {sequential:.0f} s: {sequential / stacked_s:.0f}×; online return (episodes {first}–{episodes}) "
        f"{returns.mean():.1f}"
    )
    return {
        "seeds": seeds,
        "episodes": episodes,
        "stacked_s": stacked_s,
        "single_s": singles,
        "sequential_s": sequential,
        "speedup": sequential / stacked_s,
        "online_return": float(returns.mean()),
        "window": [first, episodes],
        "alone_equals_stacked": bool(exact),
        "timed_alone": alone,
    }


def cartpole_case(seeds: int = 8, steps: int = 50_000, alone: int = 2, log: Callable = print) -> dict[str, Any]:
    from rlsuite.agents import agent_class, make_agent, preset

    agent = make_agent("dqn", "CartPole-v1", seeds=seeds)
    start = time.perf_counter()
    stacked = _learn(agent, steps)
    stacked_s = time.perf_counter() - start
    returns = [r.summary["eval_mean_return"] for r in stacked]
    iqm, low, high = iqm_ci(returns)
    sb3 = agent_class("sb3:DQN")
    hyper = {k: v for k, v in preset("dqn", "CartPole-v1")["hyperparameters"].items() if k in sb3.accepted_keys()}
    times: dict[str, list[float]] = {"rlsuite": [], "sb3": []}
    for seed in range(alone):
        for impl, one in (
            ("rlsuite", make_agent("dqn", "CartPole-v1", seed=seed)),
            ("sb3", make_agent("sb3:DQN", "CartPole-v1", seed=seed, use_preset=False, **hyper)),
        ):
            start = time.perf_counter()
            _learn(one, steps)
            times[impl].append(time.perf_counter() - start)
    ours, theirs = float(np.mean(times["rlsuite"])) * seeds, float(np.mean(times["sb3"])) * seeds
    log(
        f"   {seeds} seeds stacked {stacked_s:.0f} s; one after another: rlsuite ≈ {ours:.0f} s "
        f"({ours / stacked_s:.1f}×), SB3 ≈ {theirs:.0f} s ({theirs / stacked_s:.1f}×); eval IQM {iqm:.0f} "
        f"[{low:.0f}, {high:.0f}]"
    )
    return {
        "seeds": seeds,
        "steps": steps,
        "stacked_s": stacked_s,
        "rlsuite_single_s": times["rlsuite"],
        "sb3_single_s": times["sb3"],
        "vs_rlsuite": ours / stacked_s,
        "vs_sb3": theirs / stacked_s,
        "eval_returns": returns,
        "eval_iqm": iqm,
        "eval_iqm_ci95": [low, high],
        "timed_alone": alone,
    }


def update_case(ks: tuple[int, ...] = (1, 8, 32), steps: int = 200, log: Callable = print) -> dict[str, Any]:
    """Seconds per member of one gradient step of the CartPole preset's DQN, and the GEMM floor."""
    import torch

    from rlsuite.agents import make_agent
    from rlsuite.core.transition import Transition

    torch.set_num_threads(1)
    rows = []
    for k in ks:
        agent = make_agent("dqn", "CartPole-v1", seeds=k, learning_starts=0, train_freq=10**9, gradient_steps=1)
        rng = np.random.default_rng(0)
        agent.begin(10**6)
        for _ in range(300):  # random transitions for the replay buffer
            obs = rng.normal(size=(k, 4)).astype(np.float32)
            agent.observe(
                Transition(
                    obs, rng.integers(0, 2, k), np.ones(k), obs, np.zeros(k, bool), np.zeros(k, bool), None, None
                )
            )
        agent.train_round(20)  # warm-up
        start = time.perf_counter()
        agent.train_round(steps)
        per_member = (time.perf_counter() - start) / steps / k
        rows.append({"members": k, "per_member_ms": per_member * 1e3, "floor_ms": _gemm_floor_s(k) * 1e3})
        log(f"   K={k}: {per_member * 1e3:.3f} ms per member per update (floor {rows[-1]['floor_ms']:.3f} ms)")
    return {"rows": rows}


def _gemm_floor_s(
    k: int,
    batch: int = 64,
    widths: tuple[int, ...] = (4, 256, 256, 2),
    repeats: int = 200,
    sync: Callable[[], None] = lambda: None,
) -> float:
    """Seconds per member of one update's matmuls alone: forward and backward of the online net on the
    batch (3 × its multiply-adds) and the target net's forward (1 ×), timed as batched matmuls on
    torch's default device (``sync`` waits for it)."""
    import torch

    mats = [(torch.randn(k, batch, a), torch.randn(k, a, b)) for a, b in zip(widths[:-1], widths[1:])]
    for x, w in mats:
        torch.bmm(x, w)
    sync()
    start = time.perf_counter()
    for _ in range(repeats):
        for x, w in mats:
            torch.bmm(x, w)
    sync()
    one_pass = (time.perf_counter() - start) / repeats
    return 4 * one_pass / k


def markdown(results: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        "# Seeds as an axis: K seeds in one run",
        "",
        f"`{meta['command']}` on {meta['machine']}, {meta['date']}; "
        "one torch thread; wall time of `learn` (evaluations included, on both sides).",
        "",
    ]
    if "cliff" in results:
        c = results["cliff"]
        lines += [
            "## Q-learning, CliffWalking-v1, Example 6.6",
            "",
            f"{c['seeds']} seeds × {c['episodes']} episodes in one run: **{c['stacked_s']:.1f} s**; one seed alone "
            f"{np.mean(c['single_s']):.2f} s (mean of {c['timed_alone']}), so {c['seeds']} one after another ≈ "
            f"{c['sequential_s']:.0f} s: **{c['speedup']:.0f}× faster**. Mean online return over episodes "
            f"{c['window'][0]}–{c['window'][1]}: **{c['online_return']:.1f}** (the book: about −50). "
            "Seeds trained alone give "
            f"the stacked members' returns exactly: {c['alone_equals_stacked']}.",
            "",
        ]
    if "cartpole" in results:
        c = results["cartpole"]
        lines += [
            "## DQN, CartPole-v1, rl-zoo preset",
            "",
            f"{c['seeds']} seeds × {c['steps']:,} steps in one run: **{c['stacked_s']:.0f} s**. One after another "
            f"(mean of {c['timed_alone']} timed runs × {c['seeds']}): "
            f"rlsuite ≈ {np.mean(c['rlsuite_single_s']) * c['seeds']:.0f} s "
            f"(**{c['vs_rlsuite']:.1f}×**), Stable-Baselines3 ≈ {np.mean(c['sb3_single_s']) * c['seeds']:.0f} s "
            f"(**{c['vs_sb3']:.1f}×**). Final evaluation returns {[round(r) for r in c['eval_returns']]}: IQM "
            f"**{c['eval_iqm']:.0f}** [95 % CI {c['eval_iqm_ci95'][0]:.0f}, {c['eval_iqm_ci95'][1]:.0f}].",
            "",
        ]
    if "update" in results:
        lines += [
            "## One DQN update per member (4-256-256-2, batch 64)",
            "",
            "| K | ms per member | GEMM floor ms |",
            "|---|---|---|",
        ]
        lines += [
            f"| {r['members']} | {r['per_member_ms']:.3f} | {r['floor_ms']:.3f} |" for r in results["update"]["rows"]
        ]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """``rlsuite bench --suite seeds [--seeds K] [--only CASE ...] [--out DIR]``."""
    report.check_suite_args(args.only, args.seeds, CASES, "a case of the seeds suite")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = lambda line: print(line, flush=True)  # noqa: E731
    results: dict[str, Any] = {}
    for key in CASES:
        if args.only and key not in args.only:
            continue
        print(f"== {key}", flush=True)
        results[key] = (
            cliff_case(args.seeds or 1000, log=log)
            if key == "cliff"
            else cartpole_case(log=log)
            if key == "cartpole"
            else update_case(log=log)
        )
    command = (
        "rlsuite bench --suite seeds"
        + (f" --seeds {args.seeds}" if args.seeds else "")
        + (f" --only {' '.join(args.only)}" if args.only else "")
    )
    meta = {"command": command, "date": time.strftime("%Y-%m-%d"), "machine": report.cpu_name()}
    (out / "seeds.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1, default=float))
    (out / "seeds.md").write_text(markdown(results, meta))
    print(f"wrote {out / 'seeds.md'} and seeds.json")
    return 0
