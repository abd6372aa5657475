"""``rlsuite sweep``: the subcommand's arguments and what it runs."""

from __future__ import annotations

import argparse

from rlsuite.tools.runargs import DEFAULT_STEPS, parse_set, route_settings
from rlsuite.tools.sweep.driver import sweep
from rlsuite.tools.sweep.spec import parse_grid


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``sweep`` subcommand to ``rlsuite``'s subparsers."""
    p = subparsers.add_parser(
        "sweep",
        help="train over seeds and hyperparameters, locally or on Ray",
        description="Train every configuration x seed; write sweep.md, sweep.csv, "
        "curves.png and one run directory per trial.",
    )
    p.add_argument("--env", help="Gymnasium id, module:Class or module:EnvId")
    p.add_argument("--agent", help="agent name (see `rlsuite list`)")
    p.add_argument("--steps", type=int, help=f"env steps per trial (default: the preset's, else {DEFAULT_STEPS})")
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=int, default=3, metavar="K", help="run seeds 0..K-1 (default 3)")
    seeds.add_argument("--seed-list", type=int, nargs="+", metavar="S", help="run exactly these seeds")
    p.add_argument(
        "--grid",
        action="append",
        metavar="KEY=V1,V2",
        help="values to sweep (repeatable; the grid is their product); with --search optuna also "
        "KEY=log:LOW:HIGH, KEY=float:LOW:HIGH or KEY=int:LOW:HIGH",
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="fix a hyperparameter, a loop setting or env.KWARG for every trial (repeatable)",
    )
    p.add_argument("--search", choices=["optuna"], help="let Optuna pick the configurations from the --grid space")
    p.add_argument("--trials", type=int, default=10, metavar="T", help="configurations Optuna tries (default 10)")
    p.add_argument("--metric", default="eval_mean_return", help="summary.json key Optuna optimises")
    p.add_argument("--direction", choices=["maximize", "minimize"], default="maximize")
    p.add_argument("--backend", choices=["local", "ray"], default="local")
    p.add_argument("--address", help="Ray cluster address (e.g. auto or HOST:6379); default: start a local Ray")
    p.add_argument("--workers", type=int, metavar="W", help="trials at once (default: the CPU count)")
    p.add_argument(
        "--trial-timeout",
        type=float,
        metavar="SECONDS",
        help="kill a trial that runs longer and report it timed out; the others go on (default: no limit)",
    )
    p.add_argument(
        "--per-seed-process",
        action="store_true",
        help="one process per seed (default: each configuration's seeds train stacked in one run)",
    )
    p.add_argument("--out", help="sweep directory (default: runs/<env>-<agent>-sweep-<time>)")
    p.add_argument("--resume", metavar="SWEEP_DIR", help="rerun only the unfinished trials of this sweep")
    return p


def run(args: argparse.Namespace) -> int:
    """The ``sweep`` subcommand; returns the exit status."""
    hyper, loop, env_kwargs = route_settings(parse_set(args.set or []), agent=args.agent, env=args.env)
    try:
        result = sweep(
            env=args.env,
            agent=args.agent,
            steps=args.steps,
            seeds=args.seeds,
            seed_list=args.seed_list,
            grid=parse_grid(args.grid or []),
            search=args.search,
            trials=args.trials,
            metric=args.metric,
            direction=args.direction,
            backend=args.backend,
            address=args.address,
            workers=args.workers,
            out=args.resume or args.out,
            resume=args.resume is not None,
            env_kwargs=env_kwargs,
            loop=loop,
            hyperparameters=hyper,
            trial_timeout=args.trial_timeout,
            progress=True,
            stacked=not args.per_seed_process,
        )
    except KeyboardInterrupt:
        return 130
    if result.signal == "SIGTERM":  # a job scheduler or kill: one line on stderr (the sweep's last) is enough
        return 143
    print((result.out / "sweep.md").read_text())
    if result.interrupted:
        return 130
    return 1 if result.failed else 0
