"""The local backend: one worker process per trial on this machine, at most ``workers`` at a time.

A process per trial tells exactly which trial a killed or crashed worker was running: that
trial is reported as failed and the others go on. Workers are forked from a server that has
already imported rlsuite and torch, so each starts in milliseconds; each leads a process group
of its own and dies with the driver (``worker``).

The sweep stops a worker itself in two cases, and says so rather than reporting a death:
- a trial that runs longer than ``trial_timeout`` seconds gets SIGTERM, then its process group
  SIGKILL ``KILL_AFTER_S`` later, and is reported failed, "timed out after S s";
- on Ctrl-C (SIGINT) or SIGTERM to the driver, every worker gets that signal at once and has
  ``CLEAN_STOP_S`` to stop its run cleanly (checkpoint, summary), then SIGTERM, then its group
  SIGKILL; every trial cut short is reported interrupted, and resumes from its checkpoint. A
  second Ctrl-C kills them at once.
SIGTERM stops the sweep only while :func:`sigterm_stops_sweep` is in force (the driver's main
thread); it is raised in the driver as :class:`Terminated`, a KeyboardInterrupt.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any

from rlsuite.tools.sweep.trial import OnDone, Trial, TrialResult, run_trial
from rlsuite.tools.sweep.worker import SAFE_PATH, become_worker, kill_group, mp_context, signal_worker

CLEAN_STOP_S = 2.0  # after Ctrl-C or SIGTERM: how long workers may take to stop their runs cleanly
KILL_AFTER_S = 2.0  # after SIGTERM: how long before SIGKILL
KILL = getattr(signal, "SIGKILL", signal.SIGTERM)  # Windows has no SIGKILL: its workers are terminated
INTERRUPTED = "Interrupted: the sweep was stopped (Ctrl-C) and ended this trial's worker"


class Terminated(KeyboardInterrupt):
    """SIGTERM to the driver: the sweep stops as on Ctrl-C (its trials stop cleanly and resume later)."""


@contextmanager
def sigterm_stops_sweep() -> Iterator[None]:
    """While in force, SIGTERM raises :class:`Terminated` in the driver instead of killing it, so
    that it stops its workers and writes its report (in the main thread only: signal handlers live there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum, frame):
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def interrupted_error(signum: int) -> str:
    """The error of a trial cut short because the sweep was stopped by ``signum``."""
    return INTERRUPTED if signum == signal.SIGINT else INTERRUPTED.replace("Ctrl-C", signal.Signals(signum).name)


def timed_out(seconds: float) -> str:
    """The error of a trial the sweep killed for running longer than ``seconds``."""
    return f"TimedOut: the trial timed out after {seconds:g} s (the trial timeout) and the sweep killed its worker"


def _child(conn, trial: Trial, safe_path: str | None) -> None:
    become_worker(safe_path)
    conn.send(run_trial(trial))
    conn.close()


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
    signals: list[tuple[float, int]] = field(default_factory=list)  # (when, signal) still to send

    def stop(self, status: str, error: str, now: float, signals: list[tuple[float, int]]) -> None:
        """Stop this worker: each of ``signals`` (delay after the one before, signal) in turn."""
        if self.stop_status is None:
            self.stop_status, self.stop_error = status, error
            for delay, signum in signals:
                now += delay
                self.signals.append((now, signum))

    def deadline(self, timeout: float | None) -> float:
        """When this worker next needs attention: its timeout, or its next signal while it is being stopped."""
        if self.stop_status is None:
            return self.started + timeout if timeout else math.inf
        return self.signals[0][0] if self.signals else math.inf

    def send_due(self, now: float) -> None:
        """Send the signals that are due."""
        while self.signals and self.signals[0][0] <= now:
            signal_worker(self.process, self.signals.pop(0)[1])

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
        self.ctx = mp_context()
        self.on_done, self.timeout = on_done, trial_timeout
        self.running: dict[Any, _Worker] = {}  # process sentinel -> worker

    def start(self, trial: Trial) -> None:
        receive, send = self.ctx.Pipe(duplex=False)
        args = (send, trial, os.environ.get(SAFE_PATH))
        process = self.ctx.Process(target=_child, args=args, name=f"rlsuite-trial {trial.key}")
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
            kill_group(worker.process.pid)  # what the trial started and left running goes with it
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
                worker.stop("failed", timed_out(self.timeout), now, [(0.0, signal.SIGTERM), (KILL_AFTER_S, KILL)])
            worker.send_due(now)

    def drain(self, signum: int) -> None:
        """The sweep was stopped by ``signum`` (SIGINT: Ctrl-C, or SIGTERM): every worker gets it at once
        and has ``CLEAN_STOP_S`` to stop on its own, then gets SIGTERM and SIGKILL; a second Ctrl-C
        sends SIGKILL at once."""
        now = time.monotonic()
        signals = [(0.0, signum), (CLEAN_STOP_S, signal.SIGTERM), (KILL_AFTER_S, KILL)]
        for worker in self.running.values():
            worker.stop("interrupted", interrupted_error(signum), now, signals)
        while self.running:
            try:
                self.poll()
            except KeyboardInterrupt:
                for worker in self.running.values():
                    worker.signals = [(0.0, KILL)]
                    worker.send_due(time.monotonic())


def run_local(
    next_trial: Callable[[], Trial | None], workers: int, on_done: OnDone, trial_timeout: float | None = None
) -> str | None:
    """Run trials from ``next_trial`` (None: nothing more to start now) on ``workers`` processes,
    killing any that runs longer than ``trial_timeout`` seconds (None: no limit).

    Returns the name of the signal that stopped the sweep ("SIGINT" for Ctrl-C, or "SIGTERM"), None
    if it ran every trial.
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
                return None
            pool.poll()
    except KeyboardInterrupt as exc:
        signum = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
        pool.drain(signum)
        return signum.name


def run_in_worker(trial: Trial, trial_timeout: float | None) -> TrialResult:
    """One trial with a time limit, in a worker process of its own (None: in this process, no limit).
    The Ray backend runs its trials through this."""
    if trial_timeout is None:
        return run_trial(trial)
    results: list[TrialResult] = []
    todo = iter([trial])
    run_local(lambda: next(todo, None), 1, lambda _, result: results.append(result), trial_timeout)
    return results[0] if results else TrialResult("interrupted", None, INTERRUPTED)
