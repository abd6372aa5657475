"""A sweep's results: one row per configuration, the best one, sweep.md, sweep.csv and curves.png.

A row holds the configuration's grid values (as given, so ``best`` has floats, ints, bools and
lists; only sweep.md prints them as text), how many seeds finished or failed, the mean and
the IQM with 95 % bootstrap CI of the final eval return across its seeds, steps/s and the
failed seeds' errors. The statistics and the plotting are ``rlsuite.tools.report``'s.
"""

from __future__ import annotations

import math
from typing import Any

from rlsuite.tools.report import fmt, fmt_ci, iqm_ci, markdown_table, plot_curves, write_csv
from rlsuite.tools.sweep.spec import value_text
from rlsuite.tools.sweep.state import SweepState


def _row(state: SweepState, name: str, params: dict[str, Any]) -> dict[str, Any]:
    records = state.records(name)
    done = [t for t in records if t.status == "done"]
    returns = [float(t.summary["eval_mean_return"]) for t in done]
    point, low, high = iqm_ci(returns)
    failed = [t for t in records if t.status != "done"]
    row: dict[str, Any] = {
        "config": name,
        **params,  # the values as given: 0.001 stays a float
        "seeds_done": len(done),
        "seeds_failed": len(failed),
        "mean_return": sum(returns) / len(returns) if returns else math.nan,
        "iqm_return": point,
        "ci_low": low,
        "ci_high": high,
        "sps": sum(t.summary["sps"] for t in done) / len(done) if done else math.nan,
    }
    metric = state.spec.metric
    if metric != "eval_mean_return":
        values = [float(t.summary.get(metric, math.nan)) for t in done]
        row[f"mean_{metric}"] = sum(values) / len(values) if values else math.nan
    row["errors"] = "; ".join(f"seed {t.seed}: {t.status}: {t.error or ''}".rstrip(": ") for t in failed) or None
    return row


def rows(state: SweepState) -> list[dict[str, Any]]:
    """One row per configuration, in the order the configurations were added."""
    return [_row(state, name, params) for name, params in state.configs.items()]


def best(state: SweepState, table: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The row with the best mean of the spec's metric (None when no configuration has one)."""
    metric = state.spec.metric
    column = "mean_return" if metric == "eval_mean_return" else f"mean_{metric}"
    scored = [r for r in table if isinstance(r.get(column), float) and math.isfinite(r[column])]
    if not scored:
        return None
    pick = max if state.spec.direction == "maximize" else min
    return pick(scored, key=lambda r: r[column])


def _markdown(state: SweepState, table: list[dict[str, Any]], top: dict[str, Any] | None, interrupted: bool) -> str:
    spec = state.spec
    params = [k for k in dict.fromkeys(k for p in state.configs.values() for k in p)]
    shown = [
        {
            **r,
            **{k: value_text(r[k]) for k in params if k in r},
            "IQM [95% CI]": fmt_ci(r["iqm_return"], r["ci_low"], r["ci_high"]),
            "seeds": f"{r['seeds_done']}/{r['seeds_done'] + r['seeds_failed']}",
            "steps/s": fmt(r["sps"], 4),
        }
        for r in table
    ]
    extra = [f"mean_{spec.metric}"] if spec.metric != "eval_mean_return" else []
    columns = ["config", *params, "seeds", "mean_return", "IQM [95% CI]", *extra, "steps/s"]
    lines = [
        f"# Sweep: {spec.agent} on {spec.env}",
        "",
        (
            f"{spec.steps} steps per trial, seeds {spec.seeds}, "
            f"{'Optuna search, ' + str(spec.trials) + ' trials' if spec.search else 'grid search'}; "
            "final eval return across seeds: mean and IQM with 95 % bootstrap CI."
        ),
        "",
        markdown_table(shown, columns),
        "",
    ]
    if top is not None:
        lines += [f"Best configuration by {spec.metric} ({spec.direction}): `{top['config']}`.", ""]
    failed = [t for t in state.trials.values() if t.status != "done"]
    if failed:
        lines += ["## Failed or unfinished trials", ""]
        lines += [f"- `{t.key}`: {t.status}" + (f" — {t.error}" if t.error else "") for t in failed]
        lines += ["", "Rerun them with `rlsuite sweep --resume " + str(state.out) + "`.", ""]
    if interrupted:
        lines += ["The sweep was interrupted.", ""]
    return "\n".join(lines)


def write_report(state: SweepState, interrupted: bool = False) -> tuple[list[dict], dict | None]:
    """sweep.md, sweep.csv and curves.png from the trials' summaries and event files; returns (rows, best)."""
    table = rows(state)
    top = best(state, table)
    write_csv(table, state.out / "sweep.csv")
    (state.out / "sweep.md").write_text(_markdown(state, table, top, interrupted))
    groups = {name: [state.out / t.key for t in state.records(name) if t.status == "done"] for name in state.configs}
    groups = {name: dirs for name, dirs in groups.items() if dirs}
    if groups:
        plot_curves(groups, state.out / "curves.png", f"{state.spec.agent} on {state.spec.env}")
    return table, top
