"""``rlsuite bench`` (``make bench``): rlsuite's speed and learning figures, measured side by side.

Each neural case trains rlsuite's agent and its Stable-Baselines3 counterpart (through
``sb3:ALGO``, so both get the same env handling, evaluation and TensorBoard tags) with the same
hyperparameters, seeds and torch thread count, alternating A B A B so that drift of a shared
machine hits both. Every run is its own process, which gives its peak memory. Tabular cases
have no SB3 counterpart; they compare against the floor.

The floor of a case is what its work costs with nothing around it: the env stepped with random
actions, plus the agent's ``observe`` (its updates) timed alone on random transitions past its
warm-up, scaled to the run's steps. The suites are data: bench_suites.yaml beside this module.

    rlsuite bench [--suite quick|full|tiny|textbook] [--seeds N] [--only CASE ...] [--out DIR]

writes DIR/BENCHMARKS.md, DIR/results.csv (one row per run), DIR/results.json and
DIR/curves/CASE.png (mean and 95 % CI band of the training return per implementation).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from rlsuite.core.errors import RLSuiteError, did_you_mean
from rlsuite.tools import bench_gpu, bench_parity, bench_seeds, report, textbook
from rlsuite.tools.bench_floor import env_floor_s, update_floor_s

RUN_SETTINGS = {
    "eval_freq": 10**12,
    "checkpoint_every": 10**12,
    "eval_episodes": 10,
    "save_replay": False,
    "torch_threads": 1,
    "log_interval": 1000,
    "overwrite": True,
}


@dataclass
class Case:
    """One benchmark case: an agent on an env, and what counts as solved."""

    key: str
    agent: str
    env: str
    threshold: float
    steps: int | None = None  # None: the preset's
    sb3: str | None = None  # the SB3 algorithm beside it, if any
    hyperparameters: dict[str, Any] = field(default_factory=dict)  # on top of the preset
    log_interval: int = 1000


SUITES_FILE = Path(__file__).with_name("bench_suites.yaml")
# the keys of a suite and of a case in the suites file: the types each may have, and those in words
SUITE_KEYS = {"seeds": (int, "a positive whole number"), "help": (str, "a string"), "cases": (list, "a list of cases")}
CASE_KEYS = {
    "key": (str, "a string"),
    "agent": (str, "a string"),
    "env": (str, "a string"),
    "threshold": ((int, float), "a number"),
    "steps": ((int, type(None)), "a whole number or null"),
    "sb3": ((str, type(None)), "a string or null"),
    "hyperparameters": (dict, "a mapping"),
    "log_interval": (int, "a positive whole number"),
}


# a named list of cases, with the number of seeds it runs by default and its words in --suite's help
class Suite(NamedTuple):
    name: str
    seeds: int
    help: str
    cases: list[Case]


def load_suites(path: str | Path = SUITES_FILE) -> dict[str, Suite]:
    """The suites of ``path`` (bench_suites.yaml beside this module), in the file's order, checked."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = (
            f"cannot be read ({exc.strerror}); check the path"
            if isinstance(exc, OSError)
            else f"does not parse as YAML{f' at line {mark.line + 1}' if mark else ''}; fix the syntax there"
        )
        raise RLSuiteError(f"bench suites file {path} {problem}.") from None
    if not isinstance(data, dict) or not data:
        raise RLSuiteError(f"bench suites file {path} must map suite names to suites; write it like {SUITES_FILE}.")
    required = [f.name for f in fields(Case) if f.default is MISSING and f.default_factory is MISSING]
    suites: dict[str, Suite] = {}
    for name, body in data.items():
        where = f"bench suites file {path}: suite {name!r}"
        _check(body, SUITE_KEYS, list(SUITE_KEYS), where)
        cases: list[Case] = []
        for number, raw in enumerate(body["cases"], 1):
            named = isinstance(raw, dict) and isinstance(raw.get("key"), str)
            case = f"{where}, case {raw['key']!r}" if named else f"{where}, case #{number}"
            _check(raw, CASE_KEYS, required, case)
            if raw["key"] in [c.key for c in cases]:
                raise RLSuiteError(f"{case} has the key of another case of the suite; give each case its own key.")
            cases.append(Case(**raw))
        suites[str(name)] = Suite(str(name), body["seeds"], body["help"], cases)
    return suites


def _check(data: Any, spec: dict[str, tuple[Any, str]], required: list[str], where: str) -> None:
    """Raise the one-sentence error if ``data`` is not a mapping of ``spec``'s keys with each ``required`` one."""
    if not isinstance(data, dict):
        raise RLSuiteError(f"{where} is not a mapping; write it as key: value lines with {', '.join(spec)}.")
    for key, value in data.items():
        if key not in spec:
            raise RLSuiteError(
                f"{where} has an unknown key {key!r}{did_you_mean(str(key), spec)}; use only {', '.join(spec)}."
            )
        types, words = spec[key]
        if not isinstance(value, types) or isinstance(value, bool) or (types is int and value < 1):  # a count
            raise RLSuiteError(f"{where} has {key}: {value!r}; make it {words}.")
    missing = [key for key in required if key not in data]
    if missing:
        raise RLSuiteError(f"{where} lacks {' and '.join(missing)}; add it, as each needs {', '.join(required)}.")


# ----- one run, in its own process ------------------------------------------------------------
def _run(impl: str, case: Case, seed: int, run_dir: str) -> dict[str, Any]:
    """Train one implementation on one seed; runs in a fresh process (spawn) for its peak RSS."""
    from rlsuite.agents import agent_class, make_agent, preset

    if impl == "rlsuite":
        agent = make_agent(case.agent, case.env, seed=seed, **case.hyperparameters)
    else:
        cls = agent_class(f"sb3:{impl.split(':')[1]}")
        hyper = {**preset(case.agent, case.env).get("hyperparameters", {}), **case.hyperparameters}
        accepted = cls.accepted_keys()  # the same hyperparameters, mapped by name
        agent = make_agent(
            cls.name, case.env, seed=seed, use_preset=False, **{k: v for k, v in hyper.items() if k in accepted}
        )
    steps = case.steps or preset(case.agent, case.env)["steps"]
    result = agent.learn(steps, run_dir=run_dir, **{**RUN_SETTINGS, "log_interval": case.log_interval})
    s = result.summary
    return {
        "case": case.key,
        "impl": impl,
        "seed": seed,
        "steps": s["steps"],
        "wall_s": s["wall_s"],
        "sps": s["sps"],
        "eval_return": s["eval_mean_return"],
        "steps_to_threshold": report.steps_to_threshold(result.episode_returns, result.episode_lengths, case.threshold),
        "peak_rss_mb": peak_rss_mb(),
        "run_dir": run_dir,
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM belongs to the process image, whereas
    getrusage's maximum carries over from the parent of a freshly spawned process."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_isolated(impl: str, case: Case, seed: int, run_dir: Path) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(_run, (impl, case, seed, str(run_dir)))


def run_case(case: Case, seeds: int, out: Path, log=print) -> dict[str, Any]:
    from rlsuite.agents import preset

    steps = case.steps or preset(case.agent, case.env)["steps"]
    impls = ["rlsuite"] + ([f"sb3:{case.sb3}"] if case.sb3 else [])
    # the floor is the least the work can cost: measured before and after the runs, the smaller counts
    env_s, update_s = env_floor_s(case.env, steps), update_floor_s(case, steps)
    runs: list[dict[str, Any]] = []
    for seed in range(seeds):
        for impl in impls:  # A B A B: machine drift hits both
            row = run_isolated(impl, case, seed, out / "runs" / case.key / f"{impl.replace(':', '-')}-s{seed}")
            log(
                f"   {impl:<9} seed {seed}: {row['sps']:.0f} steps/s, eval return {row['eval_return']:.4g}, "
                f"peak RSS {row['peak_rss_mb']:.0f} MB"
            )
            runs.append(row)
    env_s, update_s = min(env_s, env_floor_s(case.env, steps)), min(update_s, update_floor_s(case, steps))
    floor = env_s + update_s
    for row in runs:
        row.update(floor_s=round(floor, 3), wall_over_floor=round(row["wall_s"] / floor, 2))
    summary = {
        "case": case.key,
        "agent": case.agent,
        "env": case.env,
        "steps": steps,
        "seeds": seeds,
        "threshold": case.threshold,
        "floor_env_s": round(env_s, 3),
        "floor_update_s": round(update_s, 3),
        "floor_s": round(floor, 3),
        "impls": {},
    }
    for impl in impls:
        mine = [r for r in runs if r["impl"] == impl]
        returns = [r["eval_return"] for r in mine]
        reached = [r["steps_to_threshold"] for r in mine if r["steps_to_threshold"] is not None]
        point, low, high = report.iqm_ci(returns)
        summary["impls"][impl] = {
            "sps_median": statistics.median(r["sps"] for r in mine),
            "wall_s_median": statistics.median(r["wall_s"] for r in mine),
            "wall_over_floor": round(statistics.median(r["wall_s"] for r in mine) / floor, 2),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in mine),
            "returns": returns,
            "iqm": point,
            "ci_low": low,
            "ci_high": high,
            "steps_to_threshold_median": statistics.median(reached) if reached else None,
            "reached": len(reached),
        }
    if case.sb3:
        ours = {r["seed"]: r for r in runs if r["impl"] == "rlsuite"}
        ratios = [round(r["wall_s"] / ours[r["seed"]]["wall_s"], 3) for r in runs if r["impl"] != "rlsuite"]
        summary.update(speed_ratios=ratios, speed_ratio_median=statistics.median(ratios))
    groups = {impl: [Path(r["run_dir"]) for r in runs if r["impl"] == impl] for impl in impls}
    curve = report.plot_curves(
        groups, out / "curves" / f"{case.key}.png", f"{case.agent} on {case.env}: training return (mean, 95% CI)"
    )
    summary["curve"] = str(curve.relative_to(out))
    return {"summary": summary, "runs": runs}


# ----- the report -------------------------------------------------------------------------------
def markdown(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    rows = []
    for res in results:
        s = res["summary"]
        for impl, m in s["impls"].items():
            rows.append(
                {
                    "case": f"{s['agent']} {s['env']}",
                    "implementation": impl,
                    "steps": s["steps"],
                    "steps/s": m["sps_median"],
                    "speed vs SB3": (
                        "—"
                        if impl != "rlsuite" or "speed_ratio_median" not in s
                        else f"{s['speed_ratio_median']:.2f}× ({', '.join(f'{r:.2f}' for r in s['speed_ratios'])})"
                    ),
                    "wall / floor": m["wall_over_floor"],
                    "peak RSS MB": m["peak_rss_mb"],
                    "eval return IQM [95% CI]": report.fmt_ci(m["iqm"], m["ci_low"], m["ci_high"]),
                    "per seed": ", ".join(report.fmt(r, 4) for r in m["returns"]),
                    "steps to threshold": (
                        f"{report.fmt(m['steps_to_threshold_median'])} ({m['reached']}/{s['seeds']})"
                    ),
                }
            )
    columns = list(rows[0]) if rows else []
    floors = [
        {
            "case": f"{r['summary']['agent']} {r['summary']['env']}",
            "threshold": r["summary"]["threshold"],
            "env alone s": r["summary"]["floor_env_s"],
            "updates alone s": r["summary"]["floor_update_s"],
            "floor s": r["summary"]["floor_s"],
        }
        for r in results
    ]
    curves = "\n".join(f"![{r['summary']['case']}]({r['summary']['curve']})" for r in results)
    m = meta["machine"]
    return f"""# rlsuite benchmarks

Measured with `{meta["command"]}` on {meta["date"]}.

Machine: {m["cpu"]}, {m["cores"]} cores, {m["os"]}. Python {m["python"]}, torch {m["torch"]}
(CPU, {m["torch_threads"]} thread), Gymnasium {m["gymnasium"]}, NumPy {m["numpy"]},
Stable-Baselines3 {m["stable_baselines3"]}.

Each neural case trains rlsuite's agent and Stable-Baselines3's (through `--agent sb3:ALGO`)
with the same tuned hyperparameters, seeds (0 … N−1) and one torch thread, alternating the two
seed by seed. Every run is a fresh process.

## How to read the table

- **steps/s**: env steps per second of training, median over seeds (evaluation excluded).
- **speed vs SB3**: SB3's wall time over rlsuite's for the same seed, median (per seed in brackets);
  above 1 means rlsuite is faster.
- **wall / floor**: median wall time over the floor, the time the same work takes with nothing
  around it (the env stepped with random actions, plus rlsuite's own updates timed alone). 1.0
  would be no overhead at all.
- **peak RSS**: the largest resident memory of any seed's process, MB.
- **eval return**: deterministic return over 10 episodes after training, per seed; the IQM
  (interquartile mean) across seeds with its 95 % percentile-bootstrap confidence interval.
- **steps to threshold**: the env step at which the mean of the last 10 training episodes first
  reached the case's threshold, median over the seeds that did (how many did, in brackets).

{report.markdown_table(rows, columns)}

## Floors

{report.markdown_table(floors, list(floors[0]) if floors else [])}

## Learning curves

Training episodic return from the runs' TensorBoard logs: mean across seeds with a 95 %
bootstrap confidence band.

{curves}

Raw numbers: `results.csv` (one row per run) and `results.json`.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rlsuite bench", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    try:
        suites = load_suites()
    except RLSuiteError:  # a broken suites file: `rlsuite bench` reports it, the other commands still work
        suites = {}
    parser.add_argument(
        "--suite",
        choices=sorted([*suites, "textbook", "seeds", "parity", "gpu"]) if suites else None,
        default="quick",
        help="; ".join(
            [f"{s.name}: {s.help}" for s in suites.values()]
            + [textbook.HELP, bench_seeds.HELP, bench_parity.HELP, bench_gpu.HELP]
        ),
    )
    parser.add_argument(
        "--seeds",
        type=int,
        help="seeds per case (default: "
        + ", ".join(f"{s.name} {s.seeds}" for s in suites.values())
        + "; textbook: see --suite)",
    )
    parser.add_argument("--only", nargs="*", metavar="CASE", help="run only these cases (by key, e.g. cartpole)")
    parser.add_argument("--out", default="benchmarks", help="where to write BENCHMARKS.md, results.csv and curves/")


def run(args: argparse.Namespace) -> int:
    # not lists of cases
    special = {"textbook": textbook, "seeds": bench_seeds, "parity": bench_parity, "gpu": bench_gpu}
    if args.suite in special:
        return special[args.suite].run(args)
    suite = load_suites()[args.suite]  # a name from the file: --suite's choices
    seeds = args.seeds if args.seeds is not None else suite.seeds
    report.check_suite_args(args.only, seeds, [c.key for c in suite.cases], f"a case of the {args.suite} suite")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = f"rlsuite bench --suite {args.suite} --seeds {seeds}" + (
        f" --only {' '.join(args.only)}" if args.only else ""
    )
    results = []
    for case in suite.cases:
        if args.only and case.key not in args.only:
            continue
        print(f"== {case.key}: {case.agent} on {case.env}", flush=True)
        results.append(run_case(case, seeds, out, log=lambda line: print(line, flush=True)))
    meta = {"command": command, "date": time.strftime("%Y-%m-%d"), "machine": report.machine_info()}
    (out / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1, default=str))
    report.write_csv([row for r in results for row in r["runs"]], out / "results.csv")
    (out / "BENCHMARKS.md").write_text(markdown(results, meta))
    print(f"wrote {out / 'BENCHMARKS.md'}, results.csv, results.json and curves/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
