"""The ``rlsuite`` command: list, train, eval, solve, bench, sweep.

Bad input is reported as one line on stderr with exit status 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rlsuite.core.errors import RLSuiteError
from rlsuite.tools.runargs import DEFAULT_STEPS, new_run_dir, parse_set, read_config, route_settings


def cmd_list(args: argparse.Namespace) -> int:
    import gymnasium as gym

    from rlsuite.agents import REGISTRY, agent_class

    print("environments (rlsuite's own; any Gymnasium id or module:Class works too):")
    for env_id in sorted(k for k in gym.registry if k.startswith("rlsuite/")):
        print(f"  {env_id}")
    print("agents:")
    for name in REGISTRY:
        cls = agent_class(name)
        print(f"  {name:<10} {cls.summary}  [{cls.spaces_doc}]")
    from rlsuite.training.sb3 import algorithms

    print(f"  sb3:ALGO   a Stable-Baselines3 algorithm with rlsuite's run handling: "
          f"{', '.join('sb3:' + n for n in sorted(algorithms()))}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from rlsuite.agents import make_agent, preset
    from rlsuite.training.loop import LoopSettings

    resume = args.resume is not None
    config: dict[str, Any] = {}
    if resume:
        run_dir = Path(args.resume)
        if not run_dir.is_dir():
            raise RLSuiteError(f"cannot resume {run_dir}: no such run directory; give one written by rlsuite train.")
        if not (run_dir / "config.yaml").is_file():
            raise RLSuiteError(f"cannot resume {run_dir}: it has no config.yaml; give a run directory written by rlsuite train.")
        config = read_config(str(run_dir / "config.yaml"))
    elif args.config:
        config = read_config(args.config)
    env = args.env or config.get("env")
    agent_name = args.agent or config.get("agent")
    if not env or not agent_name:
        raise RLSuiteError("train needs --env and --agent (or a --config file that names them).")
    seed = args.seed if args.seed is not None else int(config.get("seed", 0))
    hyper, loop, env_kwargs = route_settings(parse_set(args.set or []), config.get("hyperparameters"),
                                             config.get("loop"), config.get("env_kwargs"))
    steps = args.steps if args.steps is not None else config.get("steps")
    if steps is None:
        steps = preset(agent_name, env).get("steps", DEFAULT_STEPS)
    if args.checkpoint_every is not None:
        loop["checkpoint_every"] = args.checkpoint_every
    if int(steps) < 0:
        raise RLSuiteError(f"--steps {steps} is negative; give the number of env steps to train for (>= 0).")
    loop["progress"] = not args.no_progress
    settings = LoopSettings.build(loop)
    # a config file already holds the full hyperparameters; the preset is the base only without one
    agent = make_agent(agent_name, env, seed=seed, env_kwargs=env_kwargs or None,
                               use_preset=not config, **hyper)
    run_dir = Path(args.resume) if resume else Path(args.run_dir) if args.run_dir else new_run_dir(env, agent_name, f"s{seed}")
    print(f"training {agent_name} on {env} for {int(steps)} steps -> {run_dir}", file=sys.stderr)
    result = agent.learn(int(steps), run_dir=run_dir, resume=resume, **vars(settings))
    s = result.summary
    state = "interrupted" if s["interrupted"] else "done"
    print(f"{state}: {s['steps']} steps in {s['wall_s']:.1f} s ({s['sps']:.0f} steps/s), "
          f"eval return {s['eval_mean_return']:.3f} ± {s['eval_std_return']:.3f}; "
          f"run dir {run_dir} (tensorboard --logdir {run_dir.parent})")
    return 130 if s["interrupted"] else 0


def cmd_eval(args: argparse.Namespace) -> int:
    from rlsuite.agents import load
    from rlsuite.training.evaluation import evaluate

    agent = load(args.run_dir)
    if agent.env is None:
        raise RLSuiteError(f"{args.run_dir} does not record its env, so it cannot be evaluated from the command line.")
    mean, std = evaluate(agent, episodes=args.episodes, seed=args.seed)
    result = {"run_dir": str(args.run_dir), "env": agent.env, "agent": agent.name, "episodes": args.episodes,
              "seed": args.seed, "mean_return": mean, "std_return": std}
    print(json.dumps(result) if args.json else f"{agent.name} on {agent.env}: mean return {mean:.3f} ± {std:.3f} over {args.episodes} episodes")
    return 0


def cmd_solve(args: argparse.Namespace) -> int:
    from rlsuite.core.envspec import make_env
    from rlsuite.core.solver import tabular_mdp, value_iteration

    if not 0 <= args.gamma <= 1:
        raise RLSuiteError(f"--gamma {args.gamma} is out of range; choose a discount in [0, 1].")
    env = make_env(args.env)
    mdp = tabular_mdp(env)
    q, v = value_iteration(mdp, args.gamma)
    policy = mdp.greedy(q)
    width = max(len(n) for n in mdp.state_names)
    print(f"{args.env}, gamma={args.gamma}")
    print(f"{'state':<{width}}  {'v*':>10}  policy      q*(" + ", ".join(mdp.action_names) + ")")
    for s, name in enumerate(mdp.state_names):
        qs = ", ".join("—" if not mdp.allowed[s, a] else f"{q[s, a]:.4f}" for a in range(q.shape[1]))
        print(f"{name:<{width}}  {v[s]:>10.4f}  {mdp.action_names[policy[s]]:<10}  ({qs})")
    env.close()
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from rlsuite.tools import bench

    return bench.run(args)


def cmd_sweep(args: argparse.Namespace) -> int:
    from rlsuite.tools.sweep import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rlsuite", description="Train, evaluate and solve RL problems.")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help="environments and agents, with the spaces each agent accepts")

    train = sub.add_parser("train", help="train an agent; writes a run directory under runs/")
    train.add_argument("--env", help="Gymnasium id, module:Class or module:EnvId")
    train.add_argument("--agent", help="agent name (see `rlsuite list`)")
    train.add_argument("--steps", type=int, help=f"env steps (default: the preset's, else {DEFAULT_STEPS})")
    train.add_argument("--seed", type=int)
    train.add_argument("--run-dir", help="where to write the run (default: a new directory under runs/)")
    train.add_argument("--config", help="a YAML file, e.g. a run's config.yaml, to rerun")
    train.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="override a hyperparameter, a loop setting, or env.KWARG (repeatable)")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its newest checkpoint")
    train.add_argument("--checkpoint-every", type=int, metavar="N",
                       help="checkpoint every N env steps (default: five times per run; the last 3 are kept)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar or progress lines")

    ev = sub.add_parser("eval", help="evaluate a trained run deterministically")
    ev.add_argument("run_dir")
    ev.add_argument("--episodes", type=int, default=10)
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--json", action="store_true", help="print one JSON object")

    from rlsuite.tools import bench

    bench.add_arguments(sub.add_parser("bench", help="rlsuite beside Stable-Baselines3: speed, memory, returns, curves"))

    from rlsuite.tools.sweep import add_parser as add_sweep_parser

    add_sweep_parser(sub)

    solve = sub.add_parser("solve", help="exact q*, v* and policy of an env with P")
    solve.add_argument("--env", required=True)
    solve.add_argument("--gamma", type=float, default=0.99)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = {"list": cmd_list, "train": cmd_train, "eval": cmd_eval, "solve": cmd_solve, "bench": cmd_bench,
               "sweep": cmd_sweep}[args.command]
    try:
        return handler(args)
    except RLSuiteError as exc:
        if args.debug:
            raise
        print(f"rlsuite: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
