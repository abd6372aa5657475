"""``make bench``: rlsuite's speed and learning figures, measured side by side.

Neural cases run rlsuite and Stable-Baselines3 with the same hyperparameters, seeds and torch
thread count, alternating A B A B so that drift of a shared machine hits both. Tabular cases
compare against the floor: a plain loop that steps the same env with random actions.

    python -m rlsuite.bench [--suite quick|full] [--seeds N] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import rlsuite
from rlsuite.agents import preset

NO_EVAL = {"eval_freq": 10**12, "checkpoint_every": 10**12, "eval_episodes": 10}
SB3_NAMES = ("learning_rate", "buffer_size", "learning_starts", "batch_size", "tau", "gamma", "train_freq",
             "gradient_steps", "target_update_interval", "exploration_fraction", "exploration_initial_eps",
             "exploration_final_eps", "max_grad_norm")


def plain_loop_us(env_id: str, steps: int, seed: int = 0) -> float:
    """µs per step of the floor: gym.make's env stepped with random actions, reset on episode end."""
    env = gym.make(env_id)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    return (time.perf_counter() - start) / steps * 1e6


def tabular_case(env_id: str, steps: int, seeds: int, **hyper: Any) -> dict[str, Any]:
    ours, floor = [], []
    for seed in range(seeds):
        floor.append(plain_loop_us(env_id, steps, seed))
        agent = rlsuite.make_agent("qlearning", env_id, seed=seed, **hyper)
        result = agent.learn(steps, **NO_EVAL)
        ours.append(result.summary["wall_s"] / steps * 1e6)
    us, floor_us = statistics.median(ours), statistics.median(floor)
    return {"case": f"qlearning {env_id}", "steps": steps, "seeds": seeds, "ours_us_per_step": round(us, 2),
            "floor_us_per_step": round(floor_us, 2), "ours_over_floor": round(us / floor_us, 2),
            "speedup_vs_seed_program_800us": round(800 / us, 1)}


def sb3_dqn(env_id: str, hyper: dict[str, Any], steps: int, seed: int):
    from stable_baselines3 import DQN
    from stable_baselines3.common.evaluation import evaluate_policy

    kwargs = {k: hyper[k] for k in SB3_NAMES if k in hyper}
    model = DQN("MlpPolicy", env_id, seed=seed, device="cpu", verbose=0,
                policy_kwargs={"net_arch": list(hyper.get("net_arch", [64, 64]))}, **kwargs)
    start = time.perf_counter()
    model.learn(steps)
    wall = time.perf_counter() - start
    mean, _ = evaluate_policy(model, gym.make(env_id), n_eval_episodes=10, deterministic=True)
    return wall, float(mean)


def sb3_ddpg(env_id: str, hyper: dict[str, Any], steps: int, seed: int):
    from stable_baselines3 import DDPG
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.noise import NormalActionNoise

    env = gym.make(env_id)
    n = int(np.prod(env.action_space.shape))
    names = ("learning_rate", "buffer_size", "learning_starts", "batch_size", "tau", "gamma", "train_freq",
             "gradient_steps")
    kwargs = {k: hyper[k] for k in names if k in hyper}
    noise = NormalActionNoise(np.zeros(n), hyper.get("noise_std", 0.1) * np.ones(n))
    model = DDPG("MlpPolicy", env_id, seed=seed, device="cpu", verbose=0, action_noise=noise,
                 policy_kwargs={"net_arch": list(hyper.get("net_arch", [400, 300]))}, **kwargs)
    start = time.perf_counter()
    model.learn(steps)
    wall = time.perf_counter() - start
    mean, _ = evaluate_policy(model, env, n_eval_episodes=10, deterministic=True)
    return wall, float(mean)


def neural_case(agent_name: str, env_id: str, seeds: int, steps: int | None = None,
                with_sb3: bool = True) -> dict[str, Any]:
    """rlsuite and Stable-Baselines3 on the same preset, seed by seed, alternating."""
    settings = preset(agent_name, env_id)
    hyper, steps = settings["hyperparameters"], steps or settings["steps"]
    rows = []
    for seed in range(seeds):
        agent = rlsuite.make_agent(agent_name, env_id, seed=seed)
        result = agent.learn(steps, **NO_EVAL)
        row = {"seed": seed, "ours_wall_s": result.summary["wall_s"], "ours_return": result.summary["eval_mean_return"]}
        if with_sb3:
            wall, ret = (sb3_dqn if agent_name == "dqn" else sb3_ddpg)(env_id, hyper, steps, seed)
            row.update(sb3_wall_s=round(wall, 2), sb3_return=ret, speed_ratio=round(wall / row["ours_wall_s"], 2))
        rows.append(row)
        print("   ", row, flush=True)
    out = {"case": f"{agent_name} {env_id}", "steps": steps, "seeds": seeds, "runs": rows,
           "ours_sps_median": round(steps / statistics.median(r["ours_wall_s"] for r in rows), 1),
           "ours_return_median": statistics.median(r["ours_return"] for r in rows),
           "ours_returns": [r["ours_return"] for r in rows]}
    if with_sb3:
        out.update(sb3_sps_median=round(steps / statistics.median(r["sb3_wall_s"] for r in rows), 1),
                   sb3_returns=[r["sb3_return"] for r in rows],
                   speed_ratio_median=statistics.median(r["speed_ratio"] for r in rows))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rlsuite.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", choices=("quick", "full"), default="quick")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only", nargs="*",
                        help="cases: walk robot cartpole pendulum acrobot mountaincar mountaincar-continuous")
    parser.add_argument("--out", default="bench-out")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    cases = {
        "walk": lambda: tabular_case("rlsuite/WalkToT-v0", 200_000, 3, gamma=0.8),
        "robot": lambda: tabular_case("rlsuite/RecyclingRobot-v0", 200_000, 3, gamma=0.9),
        "cartpole": lambda: neural_case("dqn", "CartPole-v1", args.seeds),
        "pendulum": lambda: neural_case("ddpg", "Pendulum-v1", args.seeds),
    }
    if args.suite == "full":
        cases["acrobot"] = lambda: neural_case("dqn", "Acrobot-v1", 3, with_sb3=False)
        cases["mountaincar"] = lambda: neural_case("dqn", "MountainCar-v0", 3, with_sb3=False)
        cases["mountaincar-continuous"] = lambda: neural_case("ddpg", "MountainCarContinuous-v0", 5, with_sb3=False)
    results = []
    for name, run in cases.items():
        if args.only and name not in args.only:
            continue
        print(f"== {name}", flush=True)
        results.append(run())
        print(json.dumps({k: v for k, v in results[-1].items() if k != "runs"}), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"machine": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
            "torch_threads": 1, "command": "python -m rlsuite.bench " + " ".join(argv or [])}
    (out / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    print(f"results in {out / 'results.json'}")


if __name__ == "__main__":
    main()
