"""The local backend: one worker process per trial on this machine, at most ``workers`` at a time.

A process per trial tells exactly which trial a killed or crashed worker was running: that
trial is reported as failed and the others go on. Workers are forked from a server that has
already imported rlsuite and torch, so each starts in milliseconds.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from multiprocessing.connection import wait
from typing import Any, Callable

from rlsuite.tools.sweep.trial import OnDone, Trial, TrialResult, run_trial


def _child(conn, trial: Trial) -> None:
    conn.send(run_trial(trial))
    conn.close()


def _mp_context():
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["rlsuite", "torch"])  # each trial forks from a warm interpreter
        return ctx
    return multiprocessing.get_context("spawn")


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"WorkerDied: the worker process was killed by {name} (out of memory, or killed by hand)"
    return f"WorkerDied: the worker process exited with status {exitcode} without a result"


class _Workers:
    """The running worker processes, keyed by their sentinels; reports each trial as its process ends."""

    def __init__(self, on_done: OnDone):
        self.ctx = _mp_context()
        self.on_done = on_done
        self.running: dict[Any, tuple[Any, Any, Trial]] = {}  # sentinel -> (process, connection, trial)

    def start(self, trial: Trial) -> None:
        receive, send = self.ctx.Pipe(duplex=False)
        process = self.ctx.Process(target=_child, args=(send, trial), name=f"rlsuite-trial {trial.key}")
        process.start()
        send.close()
        self.running[process.sentinel] = (process, receive, trial)

    def finish(self, sentinel) -> None:
        process, conn, trial = self.running.pop(sentinel)
        process.join()
        result = None
        try:
            if conn.poll():
                result = conn.recv()
        except (EOFError, OSError):
            pass
        conn.close()
        if result is None:
            result = TrialResult.failed(_death(process.exitcode))
        self.on_done(trial, result)

    def drain(self) -> None:
        """After Ctrl-C: the workers got it too and each stops its run cleanly (checkpoint, summary)
        and reports; those still running after a minute are terminated."""
        deadline = time.monotonic() + 60
        while self.running:
            ready = wait(list(self.running), timeout=max(deadline - time.monotonic(), 0))
            if not ready:
                for process, _, _ in self.running.values():
                    process.terminate()
                ready = wait(list(self.running), timeout=10)
            for sentinel in ready:
                self.finish(sentinel)


def run_local(next_trial: Callable[[], Trial | None], workers: int, on_done: OnDone) -> bool:
    """Run trials from ``next_trial`` (None: nothing more to start now) on ``workers`` processes.

    Returns True if the sweep was interrupted (Ctrl-C).
    """
    pool = _Workers(on_done)
    try:
        while True:
            while len(pool.running) < workers:
                trial = next_trial()
                if trial is None:
                    break
                pool.start(trial)
            if not pool.running:
                return False
            for sentinel in wait(list(pool.running)):
                pool.finish(sentinel)
    except KeyboardInterrupt:
        pool.drain()
        return True
