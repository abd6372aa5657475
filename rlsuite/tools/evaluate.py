"""``rlsuite eval``: a run's agent played deterministically; on a run of several seeds, every seed
and the aggregate; on a sweep, the list of its trial runs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rlsuite.core.errors import RLSuiteError

#: the --env option of the commands that read a run (eval, watch, record, train --resume / --config)
ENV_HELP = (
    "the env, if the run's is a module:Class: a run directory is data, so rlsuite imports only a module "
    "you name yourself (default: the run's own env, when it is a registered id)"
)


def cmd_eval(args: argparse.Namespace) -> int:
    import numpy as np

    from rlsuite.agents import load
    from rlsuite.driver.evaluation import evaluate_episodes

    if (Path(args.run_dir) / "sweep.json").is_file():
        raise _sweep_dir_error(Path(args.run_dir))
    if member_dirs(Path(args.run_dir)):
        return _eval_members(args)
    agent = load(args.run_dir, env=args.env)
    if agent.env is None:
        raise RLSuiteError(f"{args.run_dir} does not record its env, so it cannot be evaluated from the command line.")
    returns, lengths = evaluate_episodes(agent, episodes=args.episodes, seed=args.seed)
    mean, std, mean_length = float(np.mean(returns)), float(np.std(returns)), float(np.mean(lengths))
    result = {
        "run_dir": str(args.run_dir),
        "env": agent.env,
        "agent": agent.name,
        "episodes": args.episodes,
        "seed": args.seed,
        "mean_return": mean,
        "std_return": std,
        "mean_length": mean_length,
    }
    print(
        json.dumps(result)
        if args.json
        else f"{agent.name} on {agent.env}: mean return {mean:.3f} ± {std:.3f}, "
        f"mean length {mean_length:.1f} steps over {args.episodes} episodes"
    )
    return 0


def member_dirs(path: Path) -> list[tuple[int, Path]]:
    """The seed_<s> runs of a run of several seeds (none for an ordinary run directory)."""
    from rlsuite.driver.checkpoint import latest_checkpoint
    from rlsuite.tools.plot import seed_members

    if not path.is_dir() or latest_checkpoint(path) is not None:
        return []
    members = [(seed, d) for seed, d in seed_members(path) if latest_checkpoint(d) is not None]
    named = _config_seeds(path)
    if members and named is not None and sorted(named) != [seed for seed, _ in members]:
        found = {seed for seed, _ in members}
        missing, stray = sorted(set(named) - found), sorted(found - set(named))
        what = "; ".join(
            part
            for part in (
                f"lacks {', '.join(f'seed_{s}' for s in missing)}" if missing else "",
                f"holds {', '.join(f'seed_{s}' for s in stray)}, which it does not name" if stray else "",
            )
            if part
        )
        raise RLSuiteError(
            f"{path} is a run of seeds {sorted(named)} (its config.yaml) but {what}; put back the run's own "
            "members, or evaluate one member directory."
        )
    return members


def _config_seeds(path: Path) -> list[int] | None:
    """The seeds a run of several seeds names in its config.yaml (None where it names none)."""
    import yaml

    try:
        seeds = yaml.safe_load((path / "config.yaml").read_text()).get("seeds")
    except (OSError, yaml.YAMLError, AttributeError, ValueError, RecursionError):  # ValueError: not UTF-8, say
        return None
    return [int(s) for s in seeds] if isinstance(seeds, list) and all(isinstance(s, int) for s in seeds) else None


def _eval_members(args: argparse.Namespace) -> int:
    """``rlsuite eval RUN`` on a run of several seeds: every member, then the mean and IQM across them."""
    import numpy as np

    from rlsuite.agents import load
    from rlsuite.core.stats import iqm_ci
    from rlsuite.driver.evaluation import evaluate_episodes

    rows = []
    for seed, path in member_dirs(Path(args.run_dir)):
        agent = load(path, env=args.env)
        if agent.seed != seed:
            raise RLSuiteError(
                f"{path} holds a member trained with seed {agent.seed}, not {seed}; a member's directory is "
                "seed_<its seed>: put back the run's own members."
            )
        returns, lengths = evaluate_episodes(agent, episodes=args.episodes, seed=args.seed)
        rows.append(
            {
                "seed": seed,
                "mean_return": float(np.mean(returns)),
                "std_return": float(np.std(returns)),
                "mean_length": float(np.mean(lengths)),
            }
        )
        if not args.json:
            print(
                f"  seed {seed}: mean return {rows[-1]['mean_return']:.3f} ± {rows[-1]['std_return']:.3f}, "
                f"mean length {rows[-1]['mean_length']:.1f}"
            )
    means = [r["mean_return"] for r in rows]
    point, low, high = iqm_ci(means)
    result = {
        "run_dir": str(args.run_dir),
        "env": agent.env,
        "agent": agent.name,
        "episodes": args.episodes,
        "seed": args.seed,
        "members": rows,
        "mean_return": float(np.mean(means)),
        "iqm_return": point,
        "iqm_ci95": [low, high],
    }
    print(
        json.dumps(result)
        if args.json
        else f"{agent.name} on {agent.env}, {len(rows)} seeds: mean return "
        f"{result['mean_return']:.3f}, IQM {point:.3f} [95% CI {low:.3f}, {high:.3f}] over {args.episodes} "
        "episodes each"
    )
    return 0


def _sweep_dir_error(path: Path, shown: int = 10) -> RLSuiteError:
    """What ``rlsuite eval SWEEP_DIR`` says: the sweep's trial run directories, to evaluate one of."""
    from rlsuite.driver.checkpoint import latest_checkpoint

    trials = sorted(d.parent for d in path.rglob("checkpoints") if latest_checkpoint(d.parent) is not None)
    if not trials:
        return RLSuiteError(
            f"{path} is a sweep directory whose trials hold no checkpoint yet; finish it with "
            f"rlsuite sweep --resume {path}, then evaluate one of its trial directories."
        )
    more = f" and {len(trials) - shown} more" if len(trials) > shown else ""
    listed = ", ".join(str(t) for t in trials[:shown]) + more
    return RLSuiteError(
        f"{path} is a sweep directory, not a run; its trial runs are {listed}: "
        f"evaluate one of them, e.g. rlsuite eval {trials[0]}."
    )
