"""TensorBoard logging and console progress for the training loop.

Scalars are aggregated between flushes (mean per tag), so the cost of writing events is paid
once per logging interval, not once per step.

Pictures (:meth:`RunLogger.image`, PNG) and animations (:meth:`RunLogger.encoded_image`, GIF) go to
TensorBoard's IMAGES tab as image summaries written straight to the event file: TensorBoard
shows an animated GIF when an image summary's bytes are one.

Hyperparameters go to TensorBoard's HPARAMS as one session per run: each run directory holds its
own session-start info (its values) and no experiment summary, so for a ``--logdir`` with several
runs TensorBoard builds the columns from all runs' values and marks those that differ.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from tensorboard.compat.proto.summary_pb2 import Summary
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams as hparams_summaries
from tqdm import tqdm

from rlsuite.media.pictures import png_bytes

#: tqdm's size where the terminal does not say its own (``script`` and some CI terminals report 0 x 0,
#: which tqdm takes as "no room" and prints nothing)
FALLBACK_COLUMNS, FALLBACK_ROWS = 100, 24


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

    @property
    def writes(self) -> bool:
        """Does this logger write an event file (a run with a run directory)?"""
        return self.writer is not None

    def image(self, tag: str, image, step: int) -> int:
        """Write one picture (an HxWx3 uint8 array) now, as a PNG; return the bytes written."""
        if self.writer is None:
            return 0
        data = png_bytes(image)
        self.encoded_image(tag, data, image.shape[0], image.shape[1], step)
        return len(data)

    def encoded_image(self, tag: str, data: bytes, height: int, width: int, step: int) -> None:
        """Write an encoded image (PNG, or GIF for an animation) now; ``height`` × ``width`` are its pixels."""
        if self.writer is not None:
            value = Summary.Value(
                tag=tag,
                image=Summary.Image(height=int(height), width=int(width), colorspace=3, encoded_image_string=data),
            )
            self.writer._get_file_writer().add_summary(Summary(value=[value]), step)

    def flush(self, step: int) -> dict[str, float]:
        """Write the mean of every accumulated tag at ``step``; return the means."""
        means = {tag: self._sums[tag] / self._counts[tag] for tag in self._sums}
        if self.writer is not None:
            for tag, value in means.items():
                self.writer.add_scalar(tag, value, step)
        self._sums.clear()
        self._counts.clear()
        return means

    def hparams(
        self, columns: dict[str, Any], metrics: dict[str, float], step: int, table: dict[str, Any] | None = None
    ) -> None:
        """Write this run's HPARAMS session (``columns``: name -> value), the ``metrics`` as scalars at
        ``step``, and ``table`` (default ``columns``) as the text summary ``hyperparameters``.

        Only the session-start and session-end infos are written, never an experiment summary:
        TensorBoard uses the first experiment summary it finds for the whole logdir, which would
        pin the columns to one run's names and values; without one it builds the experiment from
        every run's session (all names, each value seen, ``differs`` where runs differ).
        """
        if self.writer is None:
            return
        rows = "\n".join(f"|{k}|{_cell(v)}|" for k, v in (columns if table is None else table).items())
        self.writer.add_text("hyperparameters", "|parameter|value|\n|-|-|\n" + rows)
        clean = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and math.isfinite(v)}
        _experiment, session_start, session_end = hparams_summaries(
            {k: _hparam_value(v) for k, v in columns.items()}, clean
        )
        self.writer.file_writer.add_summary(session_start, step)
        self.writer.file_writer.add_summary(session_end, step)
        for tag, value in clean.items():
            self.writer.add_scalar(tag, value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@functools.lru_cache(maxsize=1)
def event_byte_seconds() -> float:
    """Seconds TensorBoard's event writer spends per byte written, measured once. Its CRC32C is pure
    Python (about 0.1 µs a byte), run on the writer's thread, which holds the GIL: an event's bytes
    cost the training loop that time, whichever thread spends it."""
    from tensorboard.summary.writer import record_writer

    data, best = bytes(4096), math.inf
    for _ in range(3):
        start = time.perf_counter()
        record_writer.masked_crc32c(data)
        best = min(best, time.perf_counter() - start)
    return best / len(data)


def _hparam_value(value: Any) -> int | float | str:
    """A value HPARAMS can show: numbers as numbers, anything else (bools, None, lists) as text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return value if isinstance(value, str) else str(value)


def _cell(value: Any) -> str:
    """A value for one markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")


class Progress:
    """A tqdm bar on a terminal; plain periodic lines otherwise (logs, CI, pipes).

    A terminal that does not report its size (``script``, some CI runners say 0 x 0) gets a bar
    :data:`FALLBACK_COLUMNS` wide. After the recent return the bar shows, where the run has
    them, the exploration rate (``eps``, or ``noise`` for action noise), the last evaluation's
    mean return (``eval``) and the latest loss mean (``loss``).

    The bar's rate (it/s) is wall-clock and includes the time spent evaluating, which the bar shows
    beside it (``evaluating=…s``); the steps/s of the plain lines, of ``charts/SPS`` and of the final
    summary count training time only, and the summary reports the evaluation's seconds (``eval_s``).
    """

    def __init__(self, total: int, initial: int, enabled: bool, plain_every_s: float = 10.0) -> None:
        self.enabled = enabled
        self.bar = None
        self.total = total
        self.plain_every_s = plain_every_s
        self._last_plain = time.monotonic()
        if enabled and sys.stderr.isatty():
            size = (
                {"dynamic_ncols": True} if _stderr_size_known() else {"ncols": FALLBACK_COLUMNS, "nrows": FALLBACK_ROWS}
            )
            self.bar = tqdm(total=total, initial=initial, unit="step", smoothing=0.1, file=sys.stderr, **size)

    def update(
        self, step: int, steps_per_s: float, recent_return: float | None, scalars: dict[str, float] | None = None
    ) -> None:
        """Show ``step``; ``scalars`` are the run's latest values by tag (``charts/epsilon``,
        ``charts/noise_scale``, ``eval/mean_return``, ``losses/...``), of which a few are shown."""
        if not self.enabled:
            return
        ret = "n/a" if recent_return is None else f"{recent_return:.3g}"
        postfix = " ".join([f"return={ret}", *_postfix_items(scalars or {})])
        if self.bar is not None:
            self.bar.n = step
            self.bar.set_postfix_str(postfix, refresh=False)
            self.bar.refresh()
        elif time.monotonic() - self._last_plain >= self.plain_every_s:
            self._last_plain = time.monotonic()
            print(f"step {step}/{self.total}  {steps_per_s:.0f} steps/s  {postfix}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


#: the losses shown in the progress display, first found first; else any ``losses/*_loss`` or ``losses/loss``
MAIN_LOSSES = ("losses/td_loss", "losses/critic_loss", "losses/loss", "losses/value_loss")


def _postfix_items(scalars: dict[str, float]) -> list[str]:
    """``eps=…``/``noise=…``, ``eval=…`` and ``loss=…`` for the values in ``scalars`` that are finite."""
    losses = [t for t in MAIN_LOSSES if t in scalars] + sorted(
        t for t in scalars if t.startswith("losses/") and t.endswith("loss")
    )
    shown = [("eps", "charts/epsilon"), ("noise", "charts/noise_scale"), ("eval", "eval/mean_return")]
    shown += [("loss", losses[0])] if losses else []
    items = [
        f"{name}={scalars[tag]:.3g}"
        for name, tag in shown
        if tag in scalars and isinstance(scalars[tag], (int, float)) and math.isfinite(scalars[tag])
    ]
    if scalars.get("time/eval_s"):  # the bar's wall-clock rate includes it: say how much
        items.append(f"evaluating={scalars['time/eval_s']:.0f}s")
    return items


def _stderr_size_known() -> bool:
    """Does the terminal on stderr report its size?"""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return size.columns > 0 and size.lines > 0
