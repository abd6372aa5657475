"""The ``rlsuite`` command: list, train, eval, solve, watch, record, plot, bench, sweep.

Bad input is reported as one line on stderr with exit status 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from pathlib import Path
from typing import Any

from rlsuite.core.errors import RLSuiteError, one_line
from rlsuite.tools.evaluate import ENV_HELP, cmd_eval, member_dirs
from rlsuite.tools.runargs import DEFAULT_STEPS, OneLineParser, new_run_dir, parse_set, read_config, route_settings


def cmd_list(args: argparse.Namespace) -> int:
    import gymnasium as gym

    from rlsuite.agents import REGISTRY, agent_class, agents_for
    from rlsuite.core.envspec import make_env

    print(
        "environments (rlsuite's own; any Gymnasium id or module:Class works too), with their spaces and "
        "the agents that take them:"
    )
    rows = [("id", "observations", "actions", "agents")]
    for env_id in sorted(k for k in gym.registry if k.startswith("rlsuite/")):
        env = make_env(env_id)
        obs, act = env.observation_space, env.action_space
        env.close()
        rows.append((env_id, str(obs), str(act), ", ".join(agents_for(obs, act)) or "none of rlsuite's; try sb3:ALGO"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  " + "  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths)) + "  " + row[3])
    print("agents:")
    width = max(len(name) for name in ("sb3:ALGO", *REGISTRY))
    for name in REGISTRY:
        cls = agent_class(name)
        print(f"  {name:<{width}} {cls.summary}  [{cls.spaces_doc}]")
    from rlsuite.integrations.sb3 import algorithms

    print(
        f"  {'sb3:ALGO':<{width}} a Stable-Baselines3 algorithm with rlsuite's run handling: "
        f"{', '.join('sb3:' + n for n in sorted(algorithms()))}"
    )
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from rlsuite.agents import make_agent, preset
    from rlsuite.core.envspec import saved_env
    from rlsuite.driver.loop import LoopSettings

    resume = args.resume is not None
    if resume and args.config:
        raise RLSuiteError(
            "--config and --resume do not go together: a resumed run keeps its own config.yaml; resume it "
            "alone, or start a new run with --config."
        )
    config = _resume_config(Path(args.resume)) if resume else read_config(args.config) if args.config else {}
    source = Path(args.resume) / "config.yaml" if resume else args.config
    env = saved_env(config["env"], source, args.env) if config.get("env") is not None else args.env
    agent_name = args.agent or config.get("agent")
    if not env or not agent_name:
        raise RLSuiteError("train needs --env and --agent (or a --config file that names them).")
    seed = args.seed if args.seed is not None else int(config.get("seed") or 0)  # `seed: null` is the default
    seeds = args.seed_list or (args.seeds if args.seeds is not None else None)
    if seeds is None and args.seed is None and config.get("seeds"):
        seeds = config["seeds"]
    hyper, loop, env_kwargs = route_settings(
        parse_set(args.set or []),
        config.get("hyperparameters"),
        config.get("loop"),
        config.get("env_kwargs"),
        agent=agent_name,
        env=env,
    )
    if args.wrapper:
        env_kwargs["wrappers"] = [*env_kwargs.get("wrappers", []), *args.wrapper]
    if not config:  # the preset's loop settings (an Atari preset's sparser evaluation) under the user's
        loop = {**preset(agent_name, env).get("loop", {}), **loop}
    steps = args.steps if args.steps is not None else config.get("steps")
    if steps is None:
        steps = preset(agent_name, env).get("steps", DEFAULT_STEPS)
    if args.checkpoint_every is not None:
        loop["checkpoint_every"] = args.checkpoint_every
    if not 0 <= int(steps) < 2**63:  # 2**64 would train until killed, and no checkpoint holds such a step
        raise RLSuiteError(f"--steps {steps} is {'negative' if int(steps) < 0 else 'too many'}; give 0 to 2**63 - 1.")
    loop["progress"] = not args.no_progress
    if args.overwrite:
        loop["overwrite"] = True
    settings = LoopSettings.build(loop)
    # a config file already holds the full hyperparameters; the preset is the base only without one
    agent = make_agent(
        agent_name, env, seed=seed, seeds=seeds, env_kwargs=env_kwargs or None, use_preset=not config, **hyper
    )
    tag = f"s{seed}" if agent.n_members == 1 else f"seeds{agent.n_members}"
    run_dir = Path(args.resume) if resume else Path(args.run_dir) if args.run_dir else new_run_dir(env, agent_name, tag)
    if resume:
        print(f"resuming {agent_name} on {env} -> {run_dir} {_resume_point(run_dir, int(steps))}", file=sys.stderr)
    else:
        print(f"training {agent_name} on {env} for {int(steps)} steps -> {run_dir}", file=sys.stderr)
    result = agent.learn(int(steps), run_dir=run_dir, resume=resume, **vars(settings))
    _write_curves(run_dir, result if isinstance(result, list) and not resume else None)
    if isinstance(result, list):
        return _report_members(result, run_dir)
    _print_q_table(agent)
    s = result.summary
    state = "interrupted" if s["interrupted"] else "done"
    if s.get("stop_reason") == "max_episodes":
        state = f"stopped after {s['episodes']} episodes (max_episodes)"
    print(
        f"{state}: {s['steps']} steps in {s['wall_s']:.1f} s ({s['sps']:.0f} steps/s) "
        f"and {s['eval_s']:.1f} s evaluating, "
        f"eval return {s['eval_mean_return']:.3f} ± {s['eval_std_return']:.3f}; "
        f"run dir {run_dir} (tensorboard --logdir {run_dir.parent})"
    )
    if s["interrupted"]:
        print(f"continue it with: rlsuite train --resume {run_dir}")
    if s.get("signal"):  # interrupted, or a signal cut the final evaluation short
        return 143 if s["signal"] == "SIGTERM" else 130  # 128 + the signal's number, as shells report it
    return 0


def _report_members(results: list[Any], run_dir: Path) -> int:
    """The final lines of a run of several members: the aggregate of RUN/summary.json, the exit status."""
    summary = json.loads((run_dir / "summary.json").read_text())
    low, high = summary["eval_iqm_ci95"]
    state = "interrupted" if summary["interrupted"] else "done"
    print(
        f"{state}: {summary['members']} seeds × {summary['steps']} steps in {summary['wall_s']:.1f} s "
        f"({summary['sps']:.0f} steps/s in all) and {summary['eval_s']:.1f} s evaluating; "
        f"eval return mean {summary['eval_mean_return']:.3f}, "
        f"IQM {summary['eval_iqm_return']:.3f} [95% CI {low:.3f}, {high:.3f}]; run dir {run_dir} "
        f"(one seed_<s>/ run per seed; tensorboard --logdir {run_dir})"
    )
    signals = {r.summary.get("signal") for r in results} - {None}
    if summary["interrupted"]:
        print(f"continue it with: rlsuite train --resume {run_dir}")
    for seed, error in summary.get("failed", {}).items():  # the others finished; resume once the env is mended
        print(f"error: seed {seed} failed alone: {error}; the other members went on", file=sys.stderr)
    return (143 if "SIGTERM" in signals else 130) if signals else 2 if summary.get("failed") else 0


def _write_curves(run_dir: Path, results: list[Any] | None = None) -> None:
    """``RUN_DIR/curves.png``: the run's learning curve (several seeds: their mean and 95 % CI band), for a
    look without a TensorBoard server. A new run of several seeds draws from its results at hand rather
    than reading back every member's event files."""
    import numpy as np

    from rlsuite.tools.plot import plot_runs
    from rlsuite.tools.report import RETURN_TAG, plot_curves

    if results:
        curves = [(np.cumsum(r.episode_lengths), np.asarray(r.episode_returns)) for r in results if r.episode_returns]
        if curves:
            plot_curves({f"{results[0].summary['agent']}, seeds": curves}, run_dir / "curves.png", title=RETURN_TAG)
        return
    try:
        plot_runs([run_dir], out=run_dir / "curves.png")
    except RLSuiteError:  # no episode ended, so there is no curve to draw
        pass


def _resume_config(run_dir: Path) -> dict[str, Any]:
    """The config.yaml of a run directory that ``--resume`` can continue."""
    from rlsuite.driver.checkpoint import latest_checkpoint

    if not run_dir.is_dir():
        raise RLSuiteError(f"cannot resume {run_dir}: no such run directory; give one written by rlsuite train.")
    if not (run_dir / "config.yaml").is_file():
        raise RLSuiteError(
            f"cannot resume {run_dir}: it has no config.yaml; give a run directory written by rlsuite train."
        )
    if latest_checkpoint(run_dir) is None and not member_dirs(run_dir):
        raise RLSuiteError(
            f"cannot resume {run_dir}: it holds no checkpoint yet (it stopped before its first); "
            f"train it anew with rlsuite train --config {run_dir / 'config.yaml'}."
        )
    return read_config(str(run_dir / "config.yaml"))


def _resume_point(run_dir: Path, steps: int) -> str:
    """``from step N of M`` for the banner of a resumed run: the newest step all its members reached,
    the one the run goes on from."""
    from rlsuite.driver.checkpoint import checkpoints, read_checkpoint

    dirs = [d for _, d in member_dirs(run_dir)] or [run_dir]
    complete = [{c.name: c for c in checkpoints(d) if (c / "agent.json").is_file()} for d in dirs]
    common = sorted(set.intersection(*(set(c) for c in complete)))
    if not common:
        return "(its members have no checkpoint in common)"
    done = int(read_checkpoint(complete[0][common[-1]])[0].get("loop", {}).get("step", 0))
    if done >= steps:
        return f"at step {done} of {steps}: nothing left to train; give --steps N above {done} to train further"
    return f"from step {done} of {steps}"


def _print_q_table(agent: Any, max_rows: int = 40) -> None:
    """A tabular agent's Q-table with state and action names (``*``: the greedy action, ``—``: not in
    A(s)); more than ``max_rows`` states are summarised. Agents without a table print nothing."""
    import numpy as np

    from rlsuite.core.envspec import make_env
    from rlsuite.core.solver import names

    q = getattr(agent, "q_table", None)
    if q is None or agent.env is None:
        return
    n_s, n_a = q.shape
    if n_s > max_rows:
        initial = getattr(getattr(agent, "config", None), "initial_q", 0.0)
        print(
            f"Q-table: {n_s} states × {n_a} actions, too many to print; values from {q.min():.4f} to {q.max():.4f}, "
            f"{int((q != initial).any(axis=1).sum())} states updated (all of it: rlsuite.load(RUN_DIR).q_table)"
        )
        return
    env = make_env(agent.env, **agent.env_kwargs)
    try:
        states, actions = names(env)
        mask = getattr(env.unwrapped, "action_mask", None)  # A(s), as the exact solver reads it
        allowed = np.ones_like(q, dtype=bool)
        if callable(mask) and len(states) == n_s:
            allowed = np.array([mask(s) for s in range(n_s)], dtype=bool).reshape(q.shape)
            allowed[~allowed.any(axis=1)] = True
    finally:
        env.close()
    states = states if len(states) == n_s else tuple(str(s) for s in range(n_s))
    actions = actions if len(actions) == n_a else tuple(str(a) for a in range(n_a))
    width, col = max(map(len, ("state", *states))), max(10, *(len(a) + 2 for a in actions))
    print("Q-table (* the greedy action" + (", — not allowed there):" if not allowed.all() else "):"))
    print(f"  {'state':<{width}}" + "".join(f"{a:>{col}} " for a in actions))
    for s, name in enumerate(states):
        row = np.where(allowed[s], q[s], -np.inf)
        best = row.argmax() if (row == row.max()).sum() == 1 else -1  # no mark on a tie
        cells = (
            "—".rjust(col) + " " if not allowed[s, a] else f"{q[s, a]:>{col}.4f}" + ("*" if a == best else " ")
            for a in range(n_a)
        )
        print(f"  {name:<{width}}" + "".join(cells))


def cmd_bench(args: argparse.Namespace) -> int:
    from rlsuite.tools import bench

    return bench.run(args)


def cmd_sweep(args: argparse.Namespace) -> int:
    from rlsuite.tools.sweep import run

    return run(args)


def _add_train_parser(sub) -> None:
    train = sub.add_parser("train", help="train an agent; writes a run directory under runs/")
    train.add_argument(
        "--env",
        help="Gymnasium id, module:Class or module:EnvId; with --resume or --config, "
        "a module:Class env of the file's must be named here again (a file is data)",
    )
    train.add_argument("--agent", help="agent name (see `rlsuite list`)")
    train.add_argument("--steps", type=int, help=f"env steps (default: the preset's, else {DEFAULT_STEPS})")
    train.add_argument("--seed", type=int)
    many = train.add_mutually_exclusive_group()
    many.add_argument(
        "--seeds",
        type=int,
        metavar="K",
        help="train K seeds (--seed, --seed + 1, ...) in one run, stacked; RUN_DIR/seed_<s>/ per seed",
    )
    many.add_argument("--seed-list", type=int, nargs="+", metavar="S", help="train these seeds in one run, stacked")
    train.add_argument("--run-dir", help="where to write the run (default: a new directory under runs/)")
    train.add_argument("--config", help="a YAML file, e.g. a run's config.yaml, to rerun")
    train.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a hyperparameter, a loop setting, or env.KWARG (repeatable)",
    )
    train.add_argument(
        "--wrapper",
        action="append",
        metavar="WRAPPER",
        help="put the env in a Gymnasium wrapper, e.g. FlattenObservation or 'TimeLimit(max_episode_steps=200)' "
        "(repeatable, innermost first)",
    )
    train.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its newest checkpoint")
    train.add_argument(
        "--checkpoint-every",
        type=int,
        metavar="N",
        help="checkpoint every N env steps (default: five times per run; the last 3 are kept)",
    )
    train.add_argument("--no-progress", action="store_true", help="no progress bar or progress lines")
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="train into a run directory that holds another run, moving that run aside to RUN_DIR.old-<time>",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="rlsuite", description="Train, evaluate and solve RL problems.")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help="environments and agents, with the spaces each agent accepts")

    _add_train_parser(sub)

    ev = sub.add_parser("eval", help="evaluate a trained run deterministically")
    ev.add_argument("run_dir")
    ev.add_argument("--episodes", type=int, default=10)
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument("--env", help=ENV_HELP)

    from rlsuite.tools import bench

    bench.add_arguments(
        sub.add_parser("bench", help="rlsuite beside Stable-Baselines3: speed, memory, returns, curves")
    )

    from rlsuite.tools.sweep import add_parser as add_sweep_parser

    add_sweep_parser(sub)

    from rlsuite.tools import plot, watch

    watch.add_parser(sub)  # watch and record
    plot.add_parser(sub)

    from rlsuite.tools import solve

    solve.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = {
        "list": cmd_list,
        "train": cmd_train,
        "eval": cmd_eval,
        "bench": cmd_bench,
        "sweep": cmd_sweep,
    }.get(args.command) or args.handler
    try:
        status = handler(args)
        sys.stdout.flush()  # a reader that went away shows here, not as a traceback at exit
        return status
    except BrokenPipeError:
        # e.g. `rlsuite solve ... | head`: stop quietly, with the status of a command killed by SIGPIPE
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (RLSuiteError, OSError, MemoryError, RecursionError) as exc:
        if args.debug:
            raise
        print(f"rlsuite: error: {one_line(fault_line(exc))}", file=sys.stderr)
        return 2


#: what to do about an OSError, by its errno
_OS_FIXES = {
    errno.ENOSPC: "free some disk space and resume (the newest complete checkpoint is kept)",
    errno.EDQUOT: "free some disk space and resume (the newest complete checkpoint is kept)",
    errno.EACCES: "choose a directory you may write to (--run-dir / --out) or fix its permissions",
    errno.EPERM: "choose a directory you may write to (--run-dir / --out) or fix its permissions",
    errno.EROFS: "choose a directory on a writable disk (--run-dir / --out)",
    errno.ENAMETOOLONG: "choose a shorter --run-dir / --out",
    errno.ENOENT: "check the path",
}


def fault_line(exc: BaseException) -> str:
    """One sentence for a fault: rlsuite's own message, or what the OS, memory or recursion limit said
    and what to do about it."""
    if isinstance(exc, RLSuiteError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory; lower buffer_size, net_arch, batch_size or the number of seeds."
    if isinstance(exc, RecursionError):
        return "an input nests too deeply (a config, spec or checkpoint file); give a plain one."
    where = f" on {exc.filename}" if getattr(exc, "filename", None) else ""
    fix = _OS_FIXES.get(exc.errno, "check the path and the disk")
    return f"{exc.strerror or type(exc).__name__}{where}; {fix}."


if __name__ == "__main__":
    sys.exit(main())
