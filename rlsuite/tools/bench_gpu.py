"""``rlsuite bench --suite gpu``: the neural agents on a CUDA device — that the device path computes
what the CPU path does, and what K seeds cost there.

* ``check``: one stretch of training (150 real transitions, 50 updates) of DQN on CartPole and of
  DDPG, TD3 and SAC on Pendulum, on the CPU and on ``cuda`` from the same state and minibatches:
  the relative difference of every network and optimizer tensor; and DQN on the walk-to-T with
  K = 2 members on ``cuda`` against each seed trained alone there (the same returns, the same
  weights to rounding) and the greedy path learned.
* ``seeds``: DQN on CartPole (the rl-zoo preset, 10 000 steps) with K = 1, 8, 64 members stacked:
  wall time per member; one update per member for K = 1, 8, 64 against a minimal eager update in
  plain torch (the same network, batch, Adam, Huber loss and clipping) and the GEMM floor.
* ``atari``: DQN with the Pong preset (the Nature network, the standard preprocessing), K = 1
  and 8, 6 000 steps with updates from step 1 000: training steps/s per member, and the
  preprocessed env alone.
* ``mujoco``: DDPG, TD3 and SAC with the HalfCheetah-v5 preset, K = 1 and 16, 3 000 steps with
  updates from step 1 000: training steps/s per member.

A case that fails is reported with its one-line error and the others still run. It writes
OUT/gpu.md and OUT/gpu.json (after each case, so a run cut short keeps what it measured).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.tools import report

CASES = ("check", "seeds", "atari", "mujoco")
HELP = f"gpu: the device path on cuda — CPU agreement and K seeds' cost, into OUT/gpu.md (--only {' '.join(CASES)})"
DEVICE = "cuda"  # what the suite measures (a CPU run of it checks the harness)
SHORT = dict(progress=False, log_images=False, eval_freq=10**9, eval_episodes=1, eval_max_steps=200)


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _relative_difference(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """The largest ‖a − b‖ / ‖b‖ over the float tensors both hold."""
    worst = 0.0
    for name, x in a.items():
        y = b[name]
        if np.issubdtype(np.asarray(y).dtype, np.floating) and np.asarray(y).size:
            x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
            worst = max(worst, float(np.linalg.norm(x - y) / max(np.linalg.norm(y), 1e-12)))
    return worst


def check_case(log=print) -> dict[str, Any]:
    from rlsuite.agents import make_agent
    from rlsuite.tools.bench_floor import _random_transitions

    rows = []
    for agent_name, env in (
        ("dqn", "CartPole-v1"),
        ("ddpg", "Pendulum-v1"),
        ("td3", "Pendulum-v1"),
        ("sac", "Pendulum-v1"),
    ):
        settings = dict(learning_starts=100, train_freq=1, gradient_steps=1, batch_size=64, use_preset=False)
        transitions = _random_transitions(env, 150)
        states = {}
        for device in ("cpu", DEVICE):
            agent = make_agent(agent_name, env, seed=0, device=device, **settings)
            agent.begin(10**6)
            for t in transitions:
                agent.observe(t)
            states[device] = agent.state_tensors()
        diff = _relative_difference(states[DEVICE], states["cpu"])
        rows.append({"agent": agent_name, "env": env, "updates": 50, "relative_difference": diff})
        log(f"   {agent_name} on {env}: cuda against cpu after 50 updates, relative difference {diff:.2e}")
    stacked = make_agent("dqn", "rlsuite/WalkToT-v0", seeds=2, device=DEVICE)
    results = stacked.learn(3000, **SHORT)
    members = []
    for k, seed in enumerate((0, 1)):
        alone = make_agent("dqn", "rlsuite/WalkToT-v0", seed=seed, device=DEVICE)
        one = alone.learn(3000, **SHORT)
        members.append(
            {
                "seed": seed,
                "same_returns": one.episode_returns == results[k].episode_returns,
                "relative_difference": _relative_difference(stacked.member(k).state_tensors(), alone.state_tensors()),
                "eval_return": results[k].summary["eval_mean_return"],
                "greedy_path": [int(stacked.member(k).predict(s)) for s in range(5)],
            }
        )
        log(f"   walk-to-T K=2 on cuda, member {k} against seed {seed} alone: {members[-1]}")
    return {"updates": rows, "members": members}


def _dqn_minimal_update_s(device: str, steps: int, batch: int = 64) -> float:
    """Seconds per update of a minimal eager DQN step in plain torch: the CartPole preset's network,
    a minibatch drawn on the host and copied over, Huber loss, clipping and fused Adam."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    def mlp():
        return nn.Sequential(nn.Linear(4, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 2)).to(device)

    q, target = mlp(), mlp()
    optimizer = torch.optim.Adam(q.parameters(), lr=2.3e-3, fused=device != "cpu")
    rng = np.random.default_rng(0)
    n = 10_000
    data = [rng.normal(size=(n, 4)).astype(np.float32), rng.integers(0, 2, n), rng.normal(size=n).astype(np.float32)]
    data.append(rng.normal(size=(n, 4)).astype(np.float32))
    data.append((rng.random(n) < 0.05).astype(np.float32))

    def update():
        i = rng.integers(0, n, batch)
        obs, action, reward, next_obs, done = (torch.as_tensor(x[i]).to(device, non_blocking=True) for x in data)
        with torch.no_grad():
            y = reward + 0.99 * (1 - done) * target(next_obs).max(dim=1).values
        loss = F.smooth_l1_loss(q(obs).gather(1, action.long().unsqueeze(1)).squeeze(1), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(q.parameters(), 10.0)
        optimizer.step()

    for _ in range(20):
        update()
    _sync()
    start = time.perf_counter()
    for _ in range(steps):
        update()
    _sync()
    return (time.perf_counter() - start) / steps


def seeds_case(log=print) -> dict[str, Any]:
    import torch

    from rlsuite.agents import make_agent
    from rlsuite.core.transition import Transition
    from rlsuite.tools.bench_seeds import _gemm_floor_s

    runs = []
    for k in (1, 8, 64):
        agent = make_agent("dqn", "CartPole-v1", seeds=k, device=DEVICE)
        start = time.perf_counter()
        results = agent.learn(10_000, **SHORT)
        wall = time.perf_counter() - start
        results = results if isinstance(results, list) else [results]
        runs.append({"members": k, "steps": 10_000, "wall_s": wall, "per_member_s": wall / k})
        log(f"   CartPole 10k steps, K={k} on cuda: {wall:.1f} s, {wall / k:.2f} s per member")
    updates = []
    plain = _dqn_minimal_update_s(DEVICE, 500)
    for k in (1, 8, 64):
        agent = make_agent("dqn", "CartPole-v1", seeds=k, device=DEVICE, learning_starts=0, train_freq=10**9)
        rng = np.random.default_rng(0)
        agent.begin(10**6)
        for _ in range(300):
            obs = rng.normal(size=(k, 4)).astype(np.float32)
            agent.observe(
                Transition(
                    obs, rng.integers(0, 2, k), np.ones(k), obs, np.zeros(k, bool), np.zeros(k, bool), None, None
                )
            )
        agent.train_round(20)
        _sync()
        start = time.perf_counter()
        agent.train_round(500)
        _sync()
        per_member = (time.perf_counter() - start) / 500 / k
        with torch.device(DEVICE):
            floor = _gemm_floor_s(k, repeats=200, sync=_sync)
        updates.append({"members": k, "per_member_ms": per_member * 1e3, "floor_ms": floor * 1e3})
        log(f"   one update, K={k}: {per_member * 1e3:.3f} ms per member (plain torch K=1: {plain * 1e3:.3f} ms)")
    return {"runs": runs, "updates": updates, "plain_torch_ms": plain * 1e3}


def _steps_per_s(agent_name: str, env: str, k: int, steps: int, **hyper: Any) -> dict[str, Any]:
    from rlsuite.agents import make_agent

    agent = make_agent(agent_name, env, seeds=k, device=DEVICE, **hyper)
    start = time.perf_counter()
    results = agent.learn(steps, **SHORT)
    wall = time.perf_counter() - start
    summary = (results if isinstance(results, list) else [results])[0].summary
    train_s = wall - float(summary.get("eval_s", 0.0))
    return {
        "agent": agent_name,
        "env": env,
        "members": k,
        "steps": steps,
        "wall_s": wall,
        "train_s": train_s,
        "steps_per_s_per_member": steps / train_s,
        "env_steps_per_s": steps * k / train_s,
    }


def atari_case(log=print) -> dict[str, Any]:
    from rlsuite.tools.bench_floor import env_floor_s

    alone = 3000 / env_floor_s("ALE/Pong-v5", 3000)
    log(f"   Pong, preprocessed env alone: {alone:.0f} steps/s")
    rows = []
    for k in (1, 8):
        rows.append(_steps_per_s("dqn", "ALE/Pong-v5", k, 6000, learning_starts=1000, buffer_size=20_000))
        log(f"   Pong DQN K={k} on cuda: {rows[-1]['steps_per_s_per_member']:.0f} steps/s per member")
    return {"env_alone_steps_per_s": alone, "runs": rows}


def mujoco_case(log=print) -> dict[str, Any]:
    rows = []
    for agent_name in ("ddpg", "td3", "sac"):
        for k in (1, 16):
            rows.append(_steps_per_s(agent_name, "HalfCheetah-v5", k, 3000, learning_starts=1000, buffer_size=10_000))
            log(f"   HalfCheetah {agent_name} K={k} on cuda: {rows[-1]['steps_per_s_per_member']:.0f} steps/s a member")
    return {"runs": rows}


def markdown(results: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = ["# rlsuite on a GPU", "", f"`{meta['command']}` on {meta['gpu']} ({meta['cpu']}), {meta['date']}.", ""]
    for key, value in results.items():
        if "error" in value:
            lines += [f"## {key}", "", f"failed: {value['error']}", ""]
    if "check" in results and "updates" in results["check"]:
        lines += [
            "## The device path against the CPU",
            "",
            "| agent | env | updates | relative difference |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {r['agent']} | {r['env']} | {r['updates']} | {r['relative_difference']:.1e} |"
            for r in results["check"]["updates"]
        ]
        lines += ["", "DQN on the walk-to-T, K = 2 on cuda against each seed alone on cuda:", ""]
        lines += [
            f"- seed {m['seed']}: same training returns {m['same_returns']}, weights' relative difference "
            f"{m['relative_difference']:.1e}, final evaluation {m['eval_return']}, greedy path {m['greedy_path']}"
            for m in results["check"]["members"]
        ]
        lines.append("")
    if "seeds" in results and "runs" in results["seeds"]:
        s = results["seeds"]
        lines += [
            "## K seeds of DQN on CartPole (10 000 steps, rl-zoo preset)",
            "",
            "| K | wall s | s per member |",
            "|---|---|---|",
        ]
        lines += [f"| {r['members']} | {r['wall_s']:.1f} | {r['per_member_s']:.2f} |" for r in s["runs"]]
        lines += [
            "",
            f"One update (4-256-256-2, batch 64); a minimal eager update in plain torch: {s['plain_torch_ms']:.3f} ms.",
            "",
            "| K | ms per member | GEMM floor ms per member |",
            "|---|---|---|",
        ]
        lines += [f"| {r['members']} | {r['per_member_ms']:.3f} | {r['floor_ms']:.3f} |" for r in s["updates"]]
        lines.append("")
    for key, title in (
        ("atari", "DQN on Pong (preset, updates from step 1 000)"),
        ("mujoco", "HalfCheetah-v5 (preset, updates from step 1 000)"),
    ):
        if key in results and "runs" in results[key]:
            lines += [f"## {title}", ""]
            if "env_alone_steps_per_s" in results[key]:
                lines += [f"The preprocessed env alone: {results[key]['env_alone_steps_per_s']:.0f} steps/s.", ""]
            lines += [
                "| agent | K | steps | training s | steps/s per member | env steps/s |",
                "|---|---|---|---|---|---|",
            ]
            lines += [
                f"| {r['agent']} | {r['members']} | {r['steps']} | {r['train_s']:.1f} | "
                f"{r['steps_per_s_per_member']:.0f} | {r['env_steps_per_s']:.0f} |"
                for r in results[key]["runs"]
            ]
            lines.append("")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """``rlsuite bench --suite gpu [--only CASE ...] [--out DIR]``."""
    import torch

    from rlsuite.core.errors import RLSuiteError

    report.check_suite_args(args.only, args.seeds, CASES, "a case of the gpu suite")
    if not torch.cuda.is_available():
        raise RLSuiteError(
            "--suite gpu measures the cuda device, and this machine has none; run it where torch sees a GPU."
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = "rlsuite bench --suite gpu" + (f" --only {' '.join(args.only)}" if args.only else "")
    meta = {
        "command": command,
        "date": time.strftime("%Y-%m-%d"),
        "cpu": report.cpu_name(),
        "gpu": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
    }
    cases = {"check": check_case, "seeds": seeds_case, "atari": atari_case, "mujoco": mujoco_case}
    results: dict[str, Any] = {}
    for key in CASES:
        if args.only and key not in args.only:
            continue
        print(f"== {key}", flush=True)
        start = time.perf_counter()
        try:
            results[key] = cases[key](log=lambda line: print(line, flush=True))
        except Exception as exc:  # noqa: BLE001 - the report says which case failed and the others run
            results[key] = {"error": f"{type(exc).__name__}: {exc}"}
            print(f"   failed: {results[key]['error']}", flush=True)
        results[key]["case_s"] = time.perf_counter() - start
        (out / "gpu.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1, default=float))
        (out / "gpu.md").write_text(markdown(results, meta))
    print(f"wrote {out / 'gpu.md'} and gpu.json")
    return 0
