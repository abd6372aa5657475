"""The local backend: one worker process per trial on this machine, at most ``workers`` at a time.

A process per trial tells exactly which trial a killed or crashed worker was running: that
trial is reported as failed and the others go on. Workers are forked from a server that has
already imported rlsuite and torch, so each starts in milliseconds.

The sweep stops a worker itself in two cases, and says so rather than reporting a death:
- a trial that runs longer than ``trial_timeout`` seconds gets SIGTERM, then SIGKILL
  ``KILL_AFTER_S`` later, and is reported failed, "timed out after S s";
- on Ctrl-C, the workers (which got the Ctrl-C too when it came from the terminal) have
  ``CLEAN_STOP_S`` to stop their runs cleanly (checkpoint, summary); the rest get SIGTERM, then
  SIGKILL, and every trial cut short is reported interrupted. A second Ctrl-C kills them at once.
"""

from __future__ import annotations

import math
import multiprocessing
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any

from rlsuite.tools.sweep.trial import OnDone, Trial, TrialResult, run_trial

CLEAN_STOP_S = 2.0  # after Ctrl-C: how long workers may take to stop their runs cleanly
KILL_AFTER_S = 2.0  # after SIGTERM: how long before SIGKILL
INTERRUPTED = "Interrupted: the sweep was stopped (Ctrl-C) and ended this trial's worker"


def timed_out(seconds: float) -> str:
    """The error of a trial the sweep killed for running longer than ``seconds``."""
    return f"TimedOut: the trial timed out after {seconds:g} s (the trial timeout) and the sweep killed its worker"


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
    """Why a worker that the sweep did not stop ended without a result."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        why = {
            "SIGKILL": "out of memory, or killed by hand",
            "SIGTERM": "killed by hand or by a job scheduler",
            "SIGINT": "stopped by Ctrl-C",
        }.get(name, "it crashed")
        return f"WorkerDied: the worker process was killed by {name} ({why})"
    return f"WorkerDied: the worker process exited with status {exitcode} without a result"


@dataclass
class _Worker:
    """One running trial's process, the pipe its result comes through, and whether the sweep is stopping it."""

    process: Any
    conn: Any
    trial: Trial
    started: float
    received: TrialResult | None = None  # what the worker sent
    result: TrialResult | None = None  # the trial's outcome, once its process has ended
    stop_status: str | None = None  # "failed" (timed out) or "interrupted" (Ctrl-C) once the sweep stops it
    stop_error: str | None = None
    next_signal_at: float = math.inf
    signals_sent: int = 0

    def stop(self, status: str, error: str, now: float, grace: float = 0.0) -> None:
        """Stop this worker: SIGTERM after ``grace`` seconds, SIGKILL ``KILL_AFTER_S`` after that."""
        if self.stop_status is None:
            self.stop_status, self.stop_error, self.next_signal_at = status, error, now + grace

    def deadline(self, timeout: float | None) -> float:
        """When this worker next needs attention: its timeout, or its next signal while it is being stopped."""
        if self.stop_status is None:
            return self.started + timeout if timeout else math.inf
        return self.next_signal_at

    def signal(self, now: float) -> None:
        """The next signal: SIGTERM first, SIGKILL ``KILL_AFTER_S`` later."""
        if self.signals_sent == 0:
            self.process.terminate()
        else:
            self.process.kill()
        self.signals_sent += 1
        self.next_signal_at = now + KILL_AFTER_S if self.signals_sent == 1 else math.inf

    def receive(self) -> None:
        """Read the result off the pipe, if the worker sent one (read as soon as it comes, so a large
        result cannot block the worker on a full pipe)."""
        if self.conn.closed:
            return
        try:
            if self.conn.poll():
                self.received = self.conn.recv()
        except (EOFError, OSError):
            pass
        self.conn.close()

    def outcome(self) -> TrialResult:
        """The trial's result: what the worker sent, unless the sweep stopped it or it died first."""
        result, wall = self.received, time.monotonic() - self.started
        if self.stop_status is None:
            return result or TrialResult("failed", None, _death(self.process.exitcode), wall)
        if result is None or (self.stop_status == "failed" and result.status != "done"):
            return TrialResult(self.stop_status, result.summary if result else None, self.stop_error, wall)
        return result  # it finished, or stopped cleanly on the Ctrl-C, before the sweep's signals


class _Workers:
    """The running workers, keyed by their process sentinels; reports each trial as its process ends."""

    def __init__(self, on_done: OnDone, trial_timeout: float | None = None):
        self.ctx = _mp_context()
        self.on_done, self.timeout = on_done, trial_timeout
        self.running: dict[Any, _Worker] = {}  # process sentinel -> worker

    def start(self, trial: Trial) -> None:
        receive, send = self.ctx.Pipe(duplex=False)
        process = self.ctx.Process(target=_child, args=(send, trial), name=f"rlsuite-trial {trial.key}")
        try:
            process.start()
        finally:  # even on a Ctrl-C during the start, a worker that started is one the sweep stops
            send.close()
            if process.pid is not None:
                self.running[process.sentinel] = _Worker(process, receive, trial, time.monotonic())
            else:
                receive.close()

    def finish(self, sentinel) -> None:
        worker = self.running[sentinel]
        if worker.result is None:
            worker.process.join()
            worker.receive()
            worker.result = worker.outcome()
        self.on_done(worker.trial, worker.result)  # a Ctrl-C in here reports it again, not never
        self.running.pop(sentinel)

    def poll(self) -> None:
        """Wait for a worker to send or end, or for the next deadline; report the workers that ended,
        start stopping those past their timeout and send the signals that are due."""
        pipes = {w.conn: w for w in self.running.values() if not w.conn.closed}
        due = min((w.deadline(self.timeout) for w in self.running.values()), default=math.inf)
        timeout = None if due == math.inf else max(due - time.monotonic(), 0.0)
        ready = wait([*self.running, *pipes], timeout=timeout)
        for item in ready:
            if item in pipes:
                pipes[item].receive()
        for item in ready:
            if item in self.running:
                self.finish(item)
        now = time.monotonic()
        for worker in self.running.values():
            if self.timeout and worker.stop_status is None and now - worker.started >= self.timeout:
                worker.stop("failed", timed_out(self.timeout), now)
            if now >= worker.next_signal_at:
                worker.signal(now)

    def drain(self) -> None:
        """After Ctrl-C: every worker has ``CLEAN_STOP_S`` to stop on its own, then gets SIGTERM and
        SIGKILL; a second Ctrl-C sends SIGKILL at once."""
        now = time.monotonic()
        for worker in self.running.values():
            worker.stop("interrupted", INTERRUPTED, now, grace=CLEAN_STOP_S)
        while self.running:
            try:
                self.poll()
            except KeyboardInterrupt:
                for worker in self.running.values():
                    if worker.signals_sent < 2:
                        worker.signals_sent = 1
                        worker.signal(time.monotonic())


def run_local(
    next_trial: Callable[[], Trial | None], workers: int, on_done: OnDone, trial_timeout: float | None = None
) -> bool:
    """Run trials from ``next_trial`` (None: nothing more to start now) on ``workers`` processes,
    killing any that runs longer than ``trial_timeout`` seconds (None: no limit).

    Returns True if the sweep was interrupted (Ctrl-C).
    """
    pool = _Workers(on_done, trial_timeout)
    try:
        while True:
            while len(pool.running) < workers:
                trial = next_trial()
                if trial is None:
                    break
                pool.start(trial)
            if not pool.running:
                return False
            pool.poll()
    except KeyboardInterrupt:
        pool.drain()
        return True


def run_in_worker(trial: Trial, trial_timeout: float | None) -> TrialResult:
    """One trial with a time limit, in a worker process of its own (None: in this process, no limit).
    The Ray backend runs its trials through this."""
    if trial_timeout is None:
        return run_trial(trial)
    results: list[TrialResult] = []
    todo = iter([trial])
    run_local(lambda: next(todo, None), 1, lambda _, result: results.append(result), trial_timeout)
    return results[0] if results else TrialResult("interrupted", None, INTERRUPTED)
