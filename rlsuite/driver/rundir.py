"""A run directory that nothing can corrupt: one owner at a time, no clobbered runs, no links followed.

:func:`claim_run_dir` is what a :class:`~rlsuite.driver.run.Run` does before it writes anything:

* it takes an OS lock (``fcntl.flock``) on ``RUN/.lock``, which holds the owner's PID. The lock
  goes with the process: :meth:`RunDirLock.release` at the end of a run, the OS on a crash or
  ``kill -9``, so a lock left by a killed process never blocks. A second process gets one line
  naming the owner's PID.
* a new run into a directory that holds any trace of another run (``config.yaml``,
  ``summary.json``, checkpoints, event files, or a member's run in ``seed_*/``) is refused,
  unless it resumes that run or passes ``overwrite``, which moves the old run aside to
  ``RUN.old-<time>`` (it is never deleted).
* a symbolic link where rlsuite reads or writes (``checkpoints/`` and what is in it,
  ``config.yaml``, ``summary.json``, ``.lock``) is refused, never followed or overwritten.
* temporary files and directories a killed run left behind (``checkpoints/.step_*.tmp-*``,
  ``checkpoints/.*.old-*``, ``.summary.json.tmp-*``) are removed.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from rlsuite.core.errors import RLSuiteError

try:
    import fcntl
except ImportError:  # not on Windows: runs there go unlocked
    fcntl = None  # type: ignore[assignment]

LOCK = ".lock"
#: the files and directories of a run that rlsuite writes; none of them may be a link
OWN_NAMES = ("config.yaml", "summary.json", "checkpoints", LOCK)


def refuse_link(path: Path) -> None:
    """One line if ``path`` is a symbolic link: rlsuite never follows or overwrites one inside a run."""
    if path.is_symlink():
        raise RLSuiteError(
            f"{path} is a symbolic link; rlsuite never follows or overwrites links inside a run "
            "directory: replace it with the real file or directory, or choose another run directory."
        )


class DirectoryInUse(RLSuiteError):
    """The directory's lock is held by another process, whose PID is ``owner``."""

    def __init__(self, message: str, owner: str) -> None:
        super().__init__(message)
        self.owner = owner


class RunDirLock:
    """An exclusive ``flock`` on ``RUN/.lock`` held by this process; the file holds its PID."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.fd: int | None = None
        path = run_dir / LOCK
        refuse_link(path)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as exc:
            raise RLSuiteError(
                f"cannot open the lock file {path} ({exc.strerror}); "
                "make the run directory writable or choose another one."
            ) from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.lseek(fd, 0, os.SEEK_SET)
                owner = "".join(c for c in os.read(fd, 32).decode(errors="replace") if c.isdigit()) or "unknown"
                os.close(fd)
                raise DirectoryInUse(
                    f"run directory {run_dir} is in use by another process (PID {owner}), which holds "
                    f"the lock {path}; wait for that run to end or stop it, or choose another run "
                    "directory.",
                    owner,
                ) from None
            except OSError:  # a file system without locks (some network mounts): go on unlocked
                pass
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd

    def release(self) -> None:
        """Give the directory up (idempotent). The file stays, empty: deleting it would let two
        processes lock two different files of the same name."""
        if self.fd is not None:
            fd, self.fd = self.fd, None
            try:
                os.ftruncate(fd, 0)
            finally:
                os.close(fd)  # closing releases the flock


def holds_a_run(run_dir: Path) -> bool:
    """Does ``run_dir`` hold any trace of a run: its config, summary, checkpoints or TensorBoard
    events, or a member's run (``seed_*/``)? A many-seed run killed before its first checkpoint has
    only its config and its members' events, and is a run all the same."""
    if (run_dir / "config.yaml").exists() or (run_dir / "summary.json").exists():
        return True
    ckpts = run_dir / "checkpoints"
    if (ckpts.is_dir() and any(ckpts.glob("step_*"))) or any(run_dir.glob("events.out.tfevents.*")):
        return True
    return any(holds_a_run(member) for member in run_dir.glob("seed_*") if member.is_dir() and not member.is_symlink())


def check_links(run_dir: Path) -> None:
    """Refuse a link among the run's own files, its checkpoints and their files."""
    for name in OWN_NAMES:
        refuse_link(run_dir / name)
    ckpts = run_dir / "checkpoints"
    if ckpts.is_dir():
        for ckpt in ckpts.glob("step_*"):
            refuse_link(ckpt)
            if ckpt.is_dir():
                for file in ckpt.iterdir():
                    refuse_link(file)


def remove_orphans(run_dir: Path) -> None:
    """Remove what a killed run left half-written: temporary checkpoint directories, checkpoints
    that were being replaced, temporary summaries. Only the owner of the lock calls this."""
    leftovers = [*run_dir.glob(".*.tmp-*")]
    ckpts = run_dir / "checkpoints"
    if ckpts.is_dir() and not ckpts.is_symlink():
        leftovers += [*ckpts.glob(".step_*.tmp-*"), *ckpts.glob(".*.old-*")]
    for path in leftovers:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _move_aside(run_dir: Path, lock: RunDirLock) -> RunDirLock:
    """Rename the run in ``run_dir`` to ``RUN.old-<time>`` and lock a fresh, empty ``run_dir``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside, n = run_dir.with_name(f"{run_dir.name}.old-{stamp}"), 1
    while aside.exists():
        n += 1
        aside = run_dir.with_name(f"{run_dir.name}.old-{stamp}-{n}")
    try:
        os.rename(run_dir, aside)
    except OSError as exc:
        raise RLSuiteError(
            f"cannot move the earlier run in {run_dir} aside to {aside} ({exc.strerror}); "
            "move or delete it yourself, or choose another run directory."
        ) from None
    try:
        run_dir.mkdir(parents=True)
        fresh = RunDirLock(run_dir)
    finally:
        lock.release()
    print(f"rlsuite: moved the earlier run in {run_dir} aside to {aside}", file=sys.stderr)
    return fresh


def claim_run_dir(run_dir: Path, resume: bool = False, overwrite: bool = False) -> RunDirLock:
    """Make ``run_dir`` this process's: lock it, check it, clean it (see the module's doc)."""
    run_dir = Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise RLSuiteError(
            f"run directory {run_dir} is a file, not a directory; choose another run directory."
        ) from None
    lock = RunDirLock(run_dir)
    try:
        check_links(run_dir)
        if not resume and holds_a_run(run_dir):
            if not overwrite:
                raise RLSuiteError(
                    f"run directory {run_dir} already holds a run (a config, summary, checkpoints, events or members); "
                    "resume it (--resume / resume=True), pass overwrite (--set overwrite=true / "
                    "overwrite=True) to move it aside to RUN.old-<time>, or choose another run "
                    "directory."
                )
            lock = _move_aside(run_dir, lock)
        remove_orphans(run_dir)
    except BaseException:
        lock.release()
        raise
    return lock


def claim_member_dir(run_dir: Path) -> None:
    """Make a member's directory inside a run directory this process has claimed (the parent's lock
    covers it): create it, refuse links, clean what a killed run left half-written."""
    refuse_link(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise RLSuiteError(
            f"{run_dir} is a file, not a member's run directory; move it away or choose another run directory."
        ) from None
    check_links(run_dir)
    remove_orphans(run_dir)


def write_text(path: Path, text: str) -> None:
    """Write a run's file whole or not at all (a temporary file renamed over it); never through a link."""
    refuse_link(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)  # replaces a name, never follows it
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
