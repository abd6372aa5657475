"""``make demo``: a tour in seconds — exact solutions, Q-learning on rlsuite's own envs, TensorBoard,
and what the agents learned as pictures: a GIF of the corridor agent's greedy walk and the robot's
learned Q beside the exact q*, and 100 seeds of Q-learning on CliffWalking trained in one run. It ends
by listing every path it wrote."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np

from rlsuite.agents import make_agent
from rlsuite.core.envspec import make_env
from rlsuite.core.solver import solve, tabular_mdp
from rlsuite.media.pictures import layout_of, q_picture, save_png
from rlsuite.media.recording import gif_bytes, record_episode, rgb_array_env

RUNS = Path("runs")
WRITTEN: list[Path] = []  # every run directory and file the demo wrote, printed at the end


def fresh(name: str) -> Path:
    path = RUNS / name
    shutil.rmtree(path, ignore_errors=True)
    WRITTEN.append(path)
    return path


def write_gif(agent, path: Path) -> None:
    """One greedy episode of ``agent`` on its env, as a GIF: the reset frame, then one frame per step."""
    env = rgb_array_env(agent.env, agent.env_kwargs)
    try:
        frames = record_episode(agent, env, seed=0, max_steps=100)
        path.write_bytes(gif_bytes(frames, env.metadata.get("render_fps") or 4))
    finally:
        env.close()
    WRITTEN.append(path)
    print(f"  greedy walk: {path} ({len(frames)} frames)")


def write_q_pictures(agent, env_id: str, q_star: np.ndarray, path: Path) -> None:
    """The learned Q heatmap beside the exact q*, as one PNG."""
    env = make_env(env_id)
    layout, allowed = layout_of(env, *agent.q_table.shape), tabular_mdp(env).allowed
    left, right = q_picture(agent.q_table, layout, allowed, "learned Q"), q_picture(q_star, layout, allowed, "exact q*")
    height = max(left.shape[0], right.shape[0])
    pad = [np.pad(p, ((0, height - p.shape[0]), (0, 12), (0, 0)), constant_values=255) for p in (left, right)]
    save_png(np.hstack(pad), path)
    WRITTEN.append(path)
    print(f"  Q beside q*: {path}")


def show_policy(env_id: str, policy: np.ndarray, exact: np.ndarray) -> None:
    mdp = tabular_mdp(make_env(env_id))
    print(f"  {'state':<6} {'learned':<9} exact")
    for s, name in enumerate(mdp.state_names):
        print(f"  {name:<6} {mdp.action_names[policy[s]]:<9} {mdp.action_names[exact[s]]}")


def main() -> None:
    print("== The recycling robot, solved exactly (gamma = 0.9) ==")
    robot = "rlsuite/RecyclingRobot-v0"
    q_star, v_star, exact = solve(robot, gamma=0.9)
    mdp = tabular_mdp(make_env(robot))
    for s, name in enumerate(mdp.state_names):
        print(f"  v*({name}) = {v_star[s]:.3f}   best action: {mdp.action_names[exact[s]]}")

    print("\n== The seed's walk-to-T experiment: Q-learning, 13 episodes, eps 0.1, alpha 0.1, gamma 0.8 ==")
    walk = "rlsuite/WalkToT-v0"
    agent = make_agent("qlearning", walk, seed=8, learning_rate=0.1, gamma=0.8, epsilon=0.1)
    result = agent.learn(10_000, run_dir=fresh("demo-walktot-qlearning"), max_episodes=13, log_interval=10)
    print("  episode lengths:", result.episode_lengths)
    print("  Q-table (left, right); the seed printed right = 0.002646, 0.017490, 0.085685 for cells 0-2:")
    for s, row in enumerate(agent.q_table):
        print(f"    {s}  {row[0]:.6f}  {row[1]:.6f}")
    write_gif(agent, result.run_dir / "greedy-walk.gif")

    print("\n== Q-learning on the recycling robot (20,000 steps, gamma 0.9) ==")
    agent = make_agent("qlearning", robot, seed=0, gamma=0.9)
    result = agent.learn(20_000, run_dir=fresh("demo-robot-qlearning"))
    print(f"  max |Q - q*| = {result.summary['q_error']:.3f} (q* ranges up to {np.abs(q_star).max():.1f})")
    show_policy(robot, np.where(mdp.allowed, agent.q_table, -np.inf).argmax(axis=1), exact)
    write_q_pictures(agent, robot, q_star, result.run_dir / "q-values.png")

    print("\n== DQN on the corridor's one-hot states (3,000 steps) ==")
    agent = make_agent("dqn", walk, seed=0)
    result = agent.learn(3_000, run_dir=fresh("demo-walktot-dqn"))
    env = make_env(walk, render_mode="ansi")
    obs, info = env.reset(seed=0)
    print("  greedy walk:", env.render())
    for _ in range(10):
        obs, _, terminated, _, info = env.step(agent.predict(obs, action_mask=info["action_mask"]))
        print("              ", env.render())
        if terminated:
            break
    print(f"  eval return {result.summary['eval_mean_return']:.2f} at {result.summary['sps']:.0f} steps/s")

    print("\n== DDPG on the continuous corridor (2,500 steps) ==")
    agent = make_agent("ddpg", "rlsuite/WalkToTContinuous-v0", seed=0)
    result = agent.learn(2_500, run_dir=fresh("demo-walktot-continuous-ddpg"))
    positions = [0.0]
    env = make_env("rlsuite/WalkToTContinuous-v0")
    obs, _ = env.reset(seed=0)
    for _ in range(10):
        obs, _, terminated, _, _ = env.step(agent.predict(obs))
        positions.append(round(float(obs[0]), 2))
        if terminated:
            break
    print(f"  greedy positions: {positions}; eval return {result.summary['eval_mean_return']:.2f} (best 0.95)")

    print("\n== 100 seeds in one run: Q-learning on CliffWalking, 200 episodes each (Sutton & Barto 6.6) ==")
    agent = make_agent(
        "qlearning", "CliffWalking-v1", seeds=100, use_preset=False, learning_rate=0.5, gamma=1.0, epsilon=0.1
    )
    start = time.perf_counter()
    results = agent.learn(
        10**6,
        run_dir=fresh("demo-cliff-100-seeds"),
        max_episodes=200,
        eval_episodes=1,
        eval_max_steps=100,
        log_images=False,
    )
    online = np.mean([r.episode_returns[100:] for r in results])
    aggregate = json.loads((results[0].run_dir.parent / "summary.json").read_text())
    print(
        f"  {time.perf_counter() - start:.1f} s for 100 seeds; online return over episodes 101-200 {online:.1f} "
        f"(the book: about -50); greedy return IQM {aggregate['eval_iqm_return']:.0f} "
        f"[95% CI {aggregate['eval_iqm_ci95'][0]:.0f}, {aggregate['eval_iqm_ci95'][1]:.0f}]; one run per seed in "
        f"{results[0].run_dir.parent}/seed_<s>/"
    )

    print("\nWritten:")
    for path in WRITTEN:
        print(f"  {path}{'/' if path.is_dir() else ''}")
    print("\nWatch the curves and pictures (IMAGES tab):  .venv/bin/tensorboard --logdir runs")


if __name__ == "__main__":
    main()
