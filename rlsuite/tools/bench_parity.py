"""``rlsuite bench --suite parity``: do rlsuite's DQN and DDPG learn as Stable-Baselines3's do, over many seeds?

Each case trains one algorithm on one env with its preset three ways, every seed evaluated every
``eval_freq`` env steps by ``eval_episodes`` deterministic episodes:

* **rlsuite**: all seeds in one stacked run (member k is the single-seed run of seed k);
* **SB3**: Stable-Baselines3 driven directly — ``stable_baselines3.DQN("MlpPolicy", env, ...)`` with
  the same hyperparameters, ``learn`` with a callback that evaluates with SB3's ``evaluate_policy``;
* **sb3:ALGO**: the same SB3 algorithm through rlsuite's runner (``--agent sb3:DQN``): rlsuite's env
  handling and evaluation around SB3's learning.

For each side: the final evaluation and the area under the evaluation curve (the mean of its
evaluations: far less of a lottery than the last one), their IQM with a 95 % bootstrap CI, and the
two-sided Mann-Whitney U test of rlsuite against each SB3 side. The SB3 runs are independent
processes, spread over the machine's cores; the stacked run is one of them.

    rlsuite bench --suite parity [--seeds N] [--only dqn ddpg] [--out DIR]

writes DIR/parity.md, DIR/parity.json and DIR/curves/parity-CASE.png (mean and 95 % CI band of
the evaluation return per side).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.core.stats import iqm_ci
from rlsuite.tools import report


@dataclass(frozen=True)
class ParityCase:
    key: str
    agent: str
    env: str
    algo: str  # Stable-Baselines3's class of the same algorithm
    seeds: int  # the default of --seeds
    eval_freq: int
    runner_seeds: int | None = None  # seeds through sb3:ALGO (default: all)
    steps: int | None = None  # default: the preset's


CASES = {
    "dqn": ParityCase("dqn", "dqn", "CartPole-v1", "DQN", seeds=64, eval_freq=5000, runner_seeds=16),
    "ddpg": ParityCase("ddpg", "ddpg", "Pendulum-v1", "DDPG", seeds=16, eval_freq=2000, runner_seeds=0),
}
HELP = (
    "parity: rlsuite's DQN (CartPole) and DDPG (Pendulum) against Stable-Baselines3's over many seeds, "
    f"into OUT/parity.md (--only {' '.join(CASES)}; --seeds N for every case, default "
    + ", ".join(f"{c.key} {c.seeds}" for c in CASES.values())
    + ")"
)
EVAL_EPISODES = 10
SIDES = ("rlsuite", "SB3", "sb3:ALGO")


def _preset(case: ParityCase) -> tuple[int, dict[str, Any]]:
    from rlsuite.agents import preset

    found = preset(case.agent, case.env)
    return int(case.steps or found["steps"]), dict(found.get("hyperparameters", {}))


# ----- the three sides, each in a process of its own -----------------------------------------------
def run_rlsuite(case: ParityCase, seeds: int, run_dir: str) -> list[tuple[list[int], list[float]]]:
    """All seeds stacked in one run; each member's evaluation curve (steps, returns)."""
    import torch

    from rlsuite.agents import make_agent

    torch.set_num_threads(1)
    steps, _ = _preset(case)
    agent = make_agent(case.agent, case.env, seeds=seeds)
    results = agent.learn(
        steps, run_dir=run_dir, overwrite=True, progress=False, log_images=False, torch_threads=1,
        eval_freq=case.eval_freq, eval_episodes=EVAL_EPISODES, checkpoint_every=10**12, save_replay=False,
    )  # fmt: skip
    results = results if isinstance(results, list) else [results]
    return [_curve(r.run_dir) for r in results]


def run_sb3(case: ParityCase, seed: int) -> tuple[list[int], list[float]]:
    """Stable-Baselines3 itself on the preset's hyperparameters: the evaluation curve of one seed."""
    import gymnasium as gym
    import stable_baselines3
    import torch
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    torch.set_num_threads(1)
    steps, hyper = _preset(case)
    kwargs = sb3_kwargs(hyper, gym.make(case.env).action_space)
    model = getattr(stable_baselines3, case.algo)("MlpPolicy", gym.make(case.env), seed=seed, device="cpu", **kwargs)
    eval_env = DummyVecEnv([lambda: Monitor(gym.make(case.env))])
    eval_env.seed(10**6 + seed)
    curve: tuple[list[int], list[float]] = ([], [])

    class Evaluate(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps % case.eval_freq == 0 and self.num_timesteps <= steps:
                mean, _ = evaluate_policy(self.model, eval_env, n_eval_episodes=EVAL_EPISODES, deterministic=True)
                curve[0].append(self.num_timesteps)
                curve[1].append(float(mean))
            return True

    model.learn(steps, callback=Evaluate())
    return curve


def sb3_kwargs(hyper: dict[str, Any], action_space) -> dict[str, Any]:
    """The preset's hyperparameters as SB3's constructor takes them (net_arch in policy_kwargs; the
    Gaussian action noise of std ``noise_std`` in the normalised action range)."""
    kwargs = dict(hyper)
    kwargs["policy_kwargs"] = {"net_arch": kwargs.pop("net_arch")}
    noise_std = kwargs.pop("noise_std", None)
    kwargs.pop("noise_type", None)  # the presets' DDPG noise is Gaussian
    if noise_std is not None:
        from stable_baselines3.common.noise import NormalActionNoise

        n = action_space.shape[0]
        kwargs["action_noise"] = NormalActionNoise(np.zeros(n), noise_std * np.ones(n))
    return kwargs


def run_runner(case: ParityCase, seed: int, run_dir: str) -> tuple[list[int], list[float]]:
    """The SB3 algorithm through ``sb3:ALGO``: one seed's evaluation curve."""
    import torch

    from rlsuite.agents import agent_class, make_agent

    torch.set_num_threads(1)
    steps, hyper = _preset(case)
    accepted = agent_class(f"sb3:{case.algo}").accepted_keys()
    agent = make_agent(
        f"sb3:{case.algo}", case.env, seed=seed, use_preset=False, **{k: v for k, v in hyper.items() if k in accepted}
    )
    agent.learn(
        steps, run_dir=run_dir, overwrite=True, progress=False, torch_threads=1, eval_freq=case.eval_freq,
        eval_episodes=EVAL_EPISODES, checkpoint_every=10**12,
    )  # fmt: skip
    return _curve(run_dir)


def _curve(run_dir) -> tuple[list[int], list[float]]:
    steps, values = report.read_curve(run_dir, "eval/mean_return")
    return steps.tolist(), values.tolist()


# ----- a case -------------------------------------------------------------------------------------
def run_case(case: ParityCase, seeds: int, out: Path, log=print, workers: int | None = None) -> dict[str, Any]:
    """The three sides of a case, their curves, statistics and plot."""
    runner_seeds = seeds if case.runner_seeds is None else min(case.runner_seeds, seeds)
    workers = workers or max(os.cpu_count() or 1, 1)
    start = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        ours = pool.submit(run_rlsuite, case, seeds, str(out / "runs" / f"parity-{case.key}" / "rlsuite"))
        direct = [pool.submit(run_sb3, case, s) for s in range(seeds)]
        runner = [
            pool.submit(run_runner, case, s, str(out / "runs" / f"parity-{case.key}" / f"sb3-s{s}"))
            for s in range(runner_seeds)
        ]
        curves = {
            "rlsuite": ours.result(),
            "SB3": [f.result() for f in direct],
            f"sb3:{case.algo}": [f.result() for f in runner],
        }
    sides = {}
    for side, runs in curves.items():
        if runs:
            sides[side] = _statistics(runs)
            log(
                f"   {side:<9} {len(runs)} seeds: final IQM {report.fmt_ci(*sides[side]['final_iqm'])}, "
                f"area IQM {report.fmt_ci(*sides[side]['area_iqm'])}"
            )
    tests = {side: _mann_whitney(sides["rlsuite"], sides[side]) for side in sides if side != "rlsuite"}
    steps, _ = _preset(case)
    plot = report.plot_curves(
        {side: [(np.array(s), np.array(v)) for s, v in runs] for side, runs in curves.items() if runs},
        out / "curves" / f"parity-{case.key}.png",
        f"{case.agent} on {case.env}: evaluation return (mean, 95% CI)",
        ylabel="evaluation return",
    )
    return {
        "case": case.key,
        "agent": case.agent,
        "env": case.env,
        "steps": steps,
        "eval_freq": case.eval_freq,
        "hyperparameters": _preset(case)[1],
        "wall_s": round(time.perf_counter() - start, 1),
        "workers": workers,
        "sides": sides,
        "tests": tests,
        "curves": curves,
        "plot": str(plot.relative_to(out)),
    }


def _statistics(runs: list[tuple[list[int], list[float]]]) -> dict[str, Any]:
    """The final evaluation and the area under the evaluation curve (the mean of the evaluations) per
    seed, with their IQM and 95 % CI."""
    final = [values[-1] if values else float("nan") for _, values in runs]
    area = [float(np.mean(values)) if values else float("nan") for _, values in runs]
    return {"final": final, "area": area, "final_iqm": iqm_ci(final), "area_iqm": iqm_ci(area)}


def _mann_whitney(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, float]:
    """Two-sided Mann-Whitney U p-values of the final evaluations and of the areas."""
    from scipy.stats import mannwhitneyu

    return {what: float(mannwhitneyu(ours[what], theirs[what]).pvalue) for what in ("final", "area")}


# ----- the report ---------------------------------------------------------------------------------
def markdown(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        "# Parity: rlsuite's DQN and DDPG against Stable-Baselines3's, over many seeds",
        "",
        f"`{meta['command']}` on {meta['machine']}, {meta['date']}; Stable-Baselines3 {meta['sb3']}, one torch "
        "thread per run.",
        "",
        "Each side trains the agent's preset for the env, every seed evaluated every `eval_freq` steps by "
        f"{EVAL_EPISODES} deterministic episodes. **rlsuite**: all seeds stacked in one run. **SB3**: "
        "Stable-Baselines3 driven directly (its own `learn`, evaluated by its `evaluate_policy`). "
        "**sb3:ALGO**: the same algorithm through rlsuite's runner. *final*: the last evaluation; *area*: the "
        "mean of all the evaluations of a seed (the area under its evaluation curve over the run's length). "
        "IQM with its 95 % bootstrap CI over seeds; *p*: the two-sided Mann-Whitney U test of rlsuite's "
        "seeds against that side's.",
        "",
    ]
    for res in results:
        hyper = ", ".join(f"{k}={v}" for k, v in res["hyperparameters"].items())
        lines += [
            f"## {res['agent']} on {res['env']}, {res['steps']:,} steps, an evaluation every {res['eval_freq']:,}",
            "",
            f"Hyperparameters (the preset): {hyper}. Wall time {res['wall_s'] / 60:.0f} min on {res['workers']} "
            "processes.",
            "",
            "| side | seeds | final IQM [95% CI] | p (final) | area IQM [95% CI] | p (area) |",
            "|---|---|---|---|---|---|",
        ]
        for side, s in res["sides"].items():
            test = res["tests"].get(side)
            p_final, p_area = (f"{test['final']:.3f}", f"{test['area']:.3f}") if test else ("—", "—")
            lines.append(
                f"| {side} | {len(s['final'])} | {report.fmt_ci(*s['final_iqm'])} | {p_final} | "
                f"{report.fmt_ci(*s['area_iqm'])} | {p_area} |"
            )
        lines += ["", f"![{res['case']}]({res['plot']})", ""]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """``rlsuite bench --suite parity [--seeds N] [--only CASE ...] [--out DIR]``."""
    import stable_baselines3

    report.check_suite_args(args.only, args.seeds, list(CASES), "a case of the parity suite")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for case in CASES.values():
        if args.only and case.key not in args.only:
            continue
        print(f"== {case.key}: {case.agent} on {case.env}", flush=True)
        results.append(run_case(case, args.seeds or case.seeds, out, log=lambda line: print(line, flush=True)))
    command = (
        "rlsuite bench --suite parity"
        + (f" --seeds {args.seeds}" if args.seeds else "")
        + (f" --only {' '.join(args.only)}" if args.only else "")
    )
    meta = {
        "command": command,
        "date": time.strftime("%Y-%m-%d"),
        "machine": report.cpu_name(),
        "sb3": stable_baselines3.__version__,
    }
    (out / "parity.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1, default=float))
    (out / "parity.md").write_text(markdown(results, meta))
    print(f"wrote {out / 'parity.md'}, parity.json and curves/")
    return 0
