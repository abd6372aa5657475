"""A local sweep's worker processes: how they start, how they die with the driver, how they are stopped.

A worker never outlives its sweep and never imports another rlsuite than the sweep's:

- It leads a process group of its own, so that the sweep stops a trial together with everything
  the trial started (a hung env's subprocesses), and a Ctrl-C in the terminal reaches the driver
  only, which stops its trials itself (``signal_worker``).
- It dies with the driver, kill -9 included: a thread waits on the pipe only the driver holds
  open (``multiprocessing.parent_process().sentinel``) and kills the worker's group once it is
  closed. On Linux the kernel also kills the worker when the fork server it was forked from exits
  (PR_SET_PDEATHSIG), so that a trial hung without releasing the GIL dies too: the server exits
  once every holder of its "alive" pipe is gone, the driver and, unless they let it go as
  ``become_worker`` does, the workers it forked.
- The fork server the workers are forked from (one interpreter that has already imported
  rlsuite and torch) starts as ``python -c``, which puts the current directory first on the
  import path: a folder named ``rlsuite`` there (a clone) would be what every trial imports. It
  is started with ``PYTHONSAFEPATH`` set, so trials import the rlsuite the driver imported, whatever
  the current directory; ``module:Class`` envs still resolve from the driver's current directory
  (``import_from_cwd``), which each worker starts in.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from multiprocessing.connection import wait

SAFE_PATH = "PYTHONSAFEPATH"
PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


def mp_context():
    """The multiprocessing context the workers start from: a fork server that preloaded rlsuite and
    torch (each trial forks from a warm interpreter in milliseconds), else spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    # under -E the server would ignore PYTHONSAFEPATH: it preloads nothing, and each worker imports
    # rlsuite after taking the driver's import path
    isolated = sys.flags.safe_path or not sys.flags.ignore_environment
    ctx.set_forkserver_preload(["rlsuite", "torch"] if isolated else [])
    _start_forkserver()
    return ctx


def _start_forkserver() -> None:
    """Start the fork server (once per process) without the current directory on its import path."""
    from multiprocessing import forkserver

    saved = os.environ.get(SAFE_PATH)
    os.environ[SAFE_PATH] = "1"
    try:
        forkserver.ensure_running()
    finally:
        if saved is None:
            os.environ.pop(SAFE_PATH, None)
        else:
            os.environ[SAFE_PATH] = saved


def become_worker(safe_path: str | None) -> None:
    """What a worker does first: lead its own process group and die with the driver. ``safe_path`` is
    the driver's PYTHONSAFEPATH (None: unset), put back so that what the trial runs sees the user's."""
    if safe_path is None:
        os.environ.pop(SAFE_PATH, None)
    else:
        os.environ[SAFE_PATH] = safe_path
    if os.name != "posix":
        return
    _release_forkserver()
    try:
        os.setpgid(0, 0)
    except OSError:  # already a group or session leader: it is stopped as a process, not as a group
        pass
    _kernel_kills_orphan()
    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None)
    if sentinel is not None:
        threading.Thread(target=_die_with, args=(sentinel,), name="rlsuite-sweep-watchdog", daemon=True).start()


def _release_forkserver() -> None:
    """Close this worker's copy of the fork server's "alive" pipe (it came with the fork): while a
    worker holds one, the server outlives the driver and its parent-death signal never comes. A
    trial that asks for a fork server of its own starts a new one (this one's pid is not known here)."""
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    fd = getattr(server, "_forkserver_alive_fd", None)
    if isinstance(fd, int):
        try:
            os.close(fd)
        except OSError:
            pass
        server._forkserver_alive_fd = None


def _kernel_kills_orphan() -> None:
    """Linux: SIGKILL this process when its parent (the fork server) exits."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        zero = ctypes.c_ulong(0)
        libc.prctl(ctypes.c_int(PR_SET_PDEATHSIG), ctypes.c_ulong(signal.SIGKILL), zero, zero, zero)
    except (OSError, AttributeError):  # no prctl: the watchdog thread alone stops the worker
        pass


def _die_with(sentinel: int) -> None:
    """Wait until the driver is gone (its end of the pipe closes), then kill this worker's group."""
    try:
        wait([sentinel])
    except OSError:
        return
    _kill_own_group()


def _kill_own_group() -> None:
    if os.getpgid(0) == os.getpid():
        os.killpg(os.getpid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def signal_worker(process, signum: int) -> None:
    """Send ``signum`` to a worker (a started ``multiprocessing.Process``): SIGKILL to its whole process
    group (the trial and what it started), any other signal (a request to stop cleanly) to the worker alone."""
    if os.name != "posix":
        process.terminate()
        return
    try:
        if signum == signal.SIGKILL:
            kill_group(process.pid)
        os.kill(process.pid, signum)
    except ProcessLookupError:
        pass


def kill_group(pid: int) -> None:
    """SIGKILL what is left of a worker's process group (its group has the worker's pid); nothing if none is."""
    if os.name != "posix":
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):  # no such group (any more): the worker is alone
        pass
