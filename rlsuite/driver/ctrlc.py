"""Ctrl-C and SIGTERM stop a run cleanly: at the end of the step, with a checkpoint and a summary."""

from __future__ import annotations

import signal
import threading
from typing import Any


class CtrlC:
    """While installed, Ctrl-C (SIGINT) and SIGTERM set ``requested`` (and ``signal``, the signal's
    name) instead of raising or killing, and the run stops at the end of the step with a checkpoint
    and a summary. A KeyboardInterrupt raised inside a TensorBoard write can leave the writer unable
    to close; a second signal still raises KeyboardInterrupt at once.

    ``finishing=True`` guards the end of a run (the final evaluation, checkpoint and summaries): a
    signal there cuts the final evaluation short (:func:`stop_requested`, which evaluation polls) and
    every later one is ignored, so the summaries are always written."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, finishing: bool = False) -> None:
        self.requested = False
        self.signal: str | None = None
        self.finishing = finishing
        self._previous: dict[int, Any] = {}

    def _handle(self, signum, frame) -> None:
        if self.requested:
            if self.finishing:
                return
            raise KeyboardInterrupt
        self.requested = True
        self.signal = signal.Signals(signum).name

    def install(self) -> CtrlC:
        global _finishing
        if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
            if self.finishing:
                _finishing = self
        return self

    def restore(self) -> None:
        global _finishing
        for signum, previous in self._previous.items():
            if previous is not None:  # None: a handler not set from Python, which cannot be put back
                signal.signal(signum, previous)
        self._previous = {}
        if _finishing is self:
            _finishing = None


_finishing: CtrlC | None = None  # the handler guarding the end of a run, while one is installed


def stop_requested() -> bool:
    """Whether a signal came while a run was finishing: its final evaluation stops at once."""
    return _finishing is not None and _finishing.requested


def late_signal() -> str | None:
    """The signal that came while a run was finishing, if one did."""
    return _finishing.signal if _finishing is not None else None
