"""TensorBoard logging and console progress for the training loop.

Scalars are aggregated between flushes (mean per tag), so the cost of writing events is paid
once per logging interval, not once per step.
"""

from __future__ import annotations

import math
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm


class RunLogger:
    """Accumulates scalars and writes their means to TensorBoard at :meth:`flush`."""

    def __init__(self, run_dir: Path | None, purge_step: int | None = None) -> None:
        self.writer = SummaryWriter(str(run_dir), purge_step=purge_step) if run_dir is not None else None
        self._sums: dict[str, float] = defaultdict(float)
        self._counts: dict[str, int] = defaultdict(int)

    def add(self, tag: str, value: float) -> None:
        self._sums[tag] += value
        self._counts[tag] += 1

    def add_many(self, metrics: dict[str, float]) -> None:
        for tag, value in metrics.items():
            self._sums[tag] += value
            self._counts[tag] += 1

    def write(self, tag: str, value: float, step: int) -> None:
        """Write one scalar now (evaluation results and other rare events)."""
        if self.writer is not None:
            self.writer.add_scalar(tag, value, step)

    def flush(self, step: int) -> dict[str, float]:
        """Write the mean of every accumulated tag at ``step``; return the means."""
        means = {tag: self._sums[tag] / self._counts[tag] for tag in self._sums}
        if self.writer is not None:
            for tag, value in means.items():
                self.writer.add_scalar(tag, value, step)
        self._sums.clear()
        self._counts.clear()
        return means

    def hparams(self, hyperparameters: dict[str, Any], metrics: dict[str, float]) -> None:
        if self.writer is None:
            return
        flat = {k: (v if isinstance(v, (int, float, str, bool)) else str(v)) for k, v in hyperparameters.items()}
        table = "|parameter|value|\n|-|-|\n" + "\n".join(f"|{k}|{v}|" for k, v in flat.items())
        self.writer.add_text("hyperparameters", table)
        clean = {k: v for k, v in metrics.items() if isinstance(v, float) and math.isfinite(v)}
        self.writer.add_hparams(flat, clean, run_name=".")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class Progress:
    """A tqdm bar on a terminal; plain periodic lines otherwise (logs, CI, pipes)."""

    def __init__(self, total: int, initial: int, enabled: bool, plain_every_s: float = 10.0) -> None:
        self.enabled = enabled
        self.bar = None
        self.total = total
        self.plain_every_s = plain_every_s
        self._last_plain = time.monotonic()
        if enabled and sys.stderr.isatty():
            self.bar = tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True, smoothing=0.1)

    def update(self, step: int, steps_per_s: float, recent_return: float | None) -> None:
        if not self.enabled:
            return
        ret = "n/a" if recent_return is None else f"{recent_return:.3g}"
        if self.bar is not None:
            self.bar.n = step
            self.bar.set_postfix_str(f"return={ret}", refresh=False)
            self.bar.refresh()
        elif time.monotonic() - self._last_plain >= self.plain_every_s:
            self._last_plain = time.monotonic()
            print(f"step {step}/{self.total}  {steps_per_s:.0f} steps/s  recent return {ret}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
