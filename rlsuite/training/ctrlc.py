"""Ctrl-C and SIGTERM stop a run cleanly: at the end of the step, with a checkpoint and a summary."""

from __future__ import annotations

import signal
import threading
from typing import Any


class CtrlC:
    """While installed, Ctrl-C (SIGINT) and SIGTERM set ``requested`` (and ``signal``, the signal's
    name) instead of raising or killing, and the run stops at the end of the step with a checkpoint
    and a summary. A KeyboardInterrupt raised inside a TensorBoard write can leave the writer unable
    to close; a second signal still raises KeyboardInterrupt at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = False
        self.signal: str | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.signal = signal.Signals(signum).name

    def install(self) -> CtrlC:
        if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def restore(self) -> None:
        for signum, previous in self._previous.items():
            if previous is not None:  # None: a handler not set from Python, which cannot be put back
                signal.signal(signum, previous)
        self._previous = {}
