"""``rlsuite plot``: learning curves of runs from their TensorBoard logs.

Each RUN_DIR is one of

* a run directory (``rlsuite train``): one line;
* a directory of ``seed_<s>/`` runs of one configuration: their mean with a 95 % CI band;
* a directory holding runs further down, such as a sweep (``<sweep>/<configuration>/seed_<s>``):
  a band for each directory of ``seed_<s>`` runs, a line for every other run.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from rlsuite.core.errors import RLSuiteError
from rlsuite.tools.report import RETURN_TAG, plot_curves, read_curve

SEED_DIR = re.compile(r"seed_(-?\d+)")
EVENTS = "events.out.tfevents.*"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``plot`` subcommand to ``rlsuite``'s subparsers."""
    p = subparsers.add_parser(
        "plot",
        help="learning curves from runs' TensorBoard logs, as a PNG",
        description="Plot a TensorBoard scalar of one or more runs against env steps: one "
        "line per run, the mean and a 95 %% CI band for a directory of "
        "seed_<s> runs (or each configuration of a sweep).",
    )
    p.add_argument(
        "run_dirs",
        nargs="+",
        metavar="RUN_DIR",
        help="a run directory, a directory of seed_<s> runs, or a sweep directory",
    )
    p.add_argument("--tag", default=RETURN_TAG, help=f"the TensorBoard scalar to plot (default {RETURN_TAG})")
    p.add_argument(
        "--out",
        metavar="FILE.png",
        help="where to write the plot (default: RUN_DIR/curves.png for one directory, "
        "else curves.png in the current directory)",
    )
    p.set_defaults(handler=run)
    return p


def run(args: argparse.Namespace) -> int:
    """The ``plot`` subcommand; returns the exit status."""
    print(plot_runs(args.run_dirs, tag=args.tag, out=args.out))
    return 0


def seed_members(path: Path) -> list[tuple[int, Path]]:
    """``(seed, directory)`` of the ``seed_<s>/`` subdirectories of ``path``, by seed."""
    if not path.is_dir():
        return []
    found = [(int(m.group(1)), d) for d in path.iterdir() if d.is_dir() and (m := SEED_DIR.fullmatch(d.name))]
    return sorted(found)


def has_events(path: Path) -> bool:
    """Whether ``path`` itself holds TensorBoard event files."""
    return any(path.glob(EVENTS))


def run_groups(path: Path) -> dict[str, list[Path]]:
    """The runs under ``path``, grouped: label -> run directories whose curves make one band."""
    if not path.is_dir():
        raise RLSuiteError(
            f"{path} is not a directory; give a run directory written by rlsuite train, "
            "a directory of seed_<s> runs, or a sweep directory."
        )
    if has_events(path):
        return {str(path): [path]}
    runs = sorted({p.parent for p in path.rglob(EVENTS)})
    if not runs:
        raise RLSuiteError(
            f"{path} holds no TensorBoard logs (events.out.tfevents.* files); give a run directory "
            "written by rlsuite train, a directory of seed_<s> runs, or a sweep directory."
        )
    groups: dict[str, list[Path]] = {}
    for run_dir in runs:
        seeded = SEED_DIR.fullmatch(run_dir.name) is not None
        parent = run_dir.parent if seeded else run_dir
        label = str(path) if parent == path else f"{path}/{parent.relative_to(path).as_posix()}"
        groups.setdefault(label, []).append(run_dir)
    return groups


def scalar_tags(run_dir: Path) -> list[str]:
    """The scalar tags in a run directory's TensorBoard logs."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 1})
    acc.Reload()
    return sorted(acc.Tags().get("scalars", []))


def plot_runs(run_dirs: list[str | Path], tag: str = RETURN_TAG, out: str | Path | None = None) -> Path:
    """Write the curves of ``tag`` for these runs (see the module doc) to a PNG; returns its path."""
    groups: dict[str, list[Path]] = {}
    for given in run_dirs:
        groups.update(run_groups(Path(given)))
    with_data = {label: [d for d in dirs if len(read_curve(d, tag)[0])] for label, dirs in groups.items()}
    with_data = {label: dirs for label, dirs in with_data.items() if dirs}
    if not with_data:
        first = next(iter(groups.values()))[0]
        tags = scalar_tags(first)
        raise RLSuiteError(
            f"none of the runs logged {tag!r}; {first} has the tags "
            f"{', '.join(tags) or '(none)'}: choose one with --tag."
        )
    for label in groups.keys() - with_data.keys():
        print(f"rlsuite plot: {label} logged no {tag!r}; left out", file=sys.stderr)
    if out is None:
        out = Path(run_dirs[0]) / "curves.png" if len(run_dirs) == 1 else Path("curves.png")
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise RLSuiteError(f"--out {out}: plot writes PNG files; give a name ending in .png.")
    ylabel = "episodic return" if tag == RETURN_TAG else tag
    return plot_curves(with_data, out, title=tag, tag=tag, ylabel=ylabel)
