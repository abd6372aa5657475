"""A sweep's faults: an interrupted trial resumes from its checkpoints, one driver per sweep directory,
no worker outlives its driver (kill -9, SIGTERM, a hung trial's timeout), and workers import the
installed rlsuite whatever folder the sweep starts from."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import gymnasium as gym
import pytest

from rlsuite.core.errors import RLSuiteError
from rlsuite.tools.cli import main
from rlsuite.tools.sweep import sweep

TINY = {"eval_episodes": 2, "log_interval": 100}
ON_PROC = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")


class SelfStoppingEnv(gym.Env):
    """A one-state env that interrupts its own run once, as a Ctrl-C does: at step ``stop_at`` of a
    training env, when ``marker`` does not exist yet, it writes it and sends its process SIGINT."""

    def __init__(self, marker: str = "", stop_at: int = 150):
        self.observation_space = gym.spaces.Discrete(1)
        self.action_space = gym.spaces.Discrete(2)
        self.marker, self.stop_at, self.steps = marker, stop_at, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        self.steps += 1
        if self.marker and self.steps == self.stop_at and not os.path.exists(self.marker):
            Path(self.marker).write_text("stopped")
            os.kill(os.getpid(), signal.SIGINT)
        return 0, 1.0, self.steps % 5 == 0, False, {}


# the env of the sweeps run as a command: a module in the folder the sweep starts from
HANGING_ENV = '''
import os
import re
import subprocess
import time

import gymnasium as gym


class HangingEnv(gym.Env):
    """A one-state env whose step hangs from the fourth step on when ``hang``: it starts a child process,
    writes "<its pid> <the child's pid>" to ``pids`` and sleeps; with ``spin`` it writes its pid only and
    hangs in a regular expression that never ends, holding the GIL (no Python thread of it runs again)."""

    def __init__(self, hang: bool = False, pids: str = "", spin: bool = False):
        self.observation_space = gym.spaces.Discrete(1)
        self.action_space = gym.spaces.Discrete(2)
        self.hang, self.pids, self.spin, self.steps = hang, pids, spin, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        self.steps += 1
        if self.hang and self.steps > 3:
            child = None if self.spin else subprocess.Popen(["sleep", "300"])
            with open(self.pids + ".tmp", "w") as fh:
                fh.write(f"{os.getpid()} {child.pid}" if child else str(os.getpid()))
            os.replace(self.pids + ".tmp", self.pids)
            if self.spin:
                re.match(r"(a+)+$", "a" * 64 + "b")
            time.sleep(3600)
        return 0, 1.0, self.steps % 5 == 0, False, {}
'''
exec(HANGING_ENV)  # HangingEnv here too, for in-process sweeps (their workers import this module)

# as the installed `rlsuite` script runs: the current directory is not on the import path
LAUNCH = "import os, sys; sys.path[:] = [p for p in sys.path if p not in ('', os.getcwd())]; "
LAUNCH += "from rlsuite.tools.cli import main; sys.exit(main())"


def alive(pid: int) -> bool:
    """Is ``pid`` a live process (not gone, not a zombie waiting to be reaped)?"""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def descendants(pid: int) -> set[int]:
    """The live processes below ``pid``: its children, theirs, and so on."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found and alive(child):
                found.add(child)
                todo.append(child)
    return found


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def hanging_pids(path: Path) -> list[int]:
    return [int(p) for p in path.read_text().split()]


class Driver:
    """``rlsuite sweep ARGS`` as a process of its own (its own session), run from ``cwd``; collects its stderr."""

    def __init__(self, cwd: Path, *args: str):
        self.out_file = (cwd / "stdout.txt").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, "sweep", *args],
            cwd=cwd,
            stdout=self.out_file,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.below: set[int] = set()  # the processes under it the test saw, killed by stop() if still there
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stderr), daemon=True)
        self.reader.start()

    def wait(self, seconds: float) -> int:
        self.proc.wait(timeout=seconds)
        self.reader.join(5)
        self.out_file.close()
        return self.proc.returncode

    def record_below(self) -> set[int]:
        self.below = descendants(self.proc.pid)
        return self.below

    def stop(self) -> None:
        """Kill what is left: the driver's session and whatever of its processes outlived it (a failure)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for pid in self.below:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.out_file.close()

    @property
    def stderr(self) -> str:
        return "".join(self.lines)


def hanging_sweep(tmp_path: Path, grid: str, *extra: str) -> tuple[Driver, Path, Path]:
    (tmp_path / "hanging_env.py").write_text(HANGING_ENV)
    pids, out = tmp_path / "pids.txt", tmp_path / "sweep"
    args = ["--env", "hanging_env:HangingEnv", "--agent", "qlearning", "--steps", "50", "--seeds", "1"]
    args += ["--grid", grid, "--set", f"env.pids={pids}", "--set", "eval_episodes=2", "--out", str(out), *extra]
    return Driver(tmp_path, *args), pids, out


@pytest.mark.parametrize("summary_says", ["interrupted", "finished but short of its steps"])
def test_an_interrupted_stacked_configuration_resumes_from_its_checkpoints(tmp_path, summary_says):
    out, marker = tmp_path / "sweep", tmp_path / "stopped"
    loop = {**TINY, "checkpoint_every": 50, "keep_checkpoints": 100}
    env = f"{__name__}:SelfStoppingEnv"
    grid = {"env.stop_at": [100, 10**9]}  # the first configuration's run stops itself; the second finishes
    first = sweep(
        env, "qlearning", steps=250, seeds=2, grid=grid, env_kwargs={"marker": str(marker)}, loop=loop, out=out
    )
    status = {t.key: t.status for t in first.trials}
    assert status == {
        "env.stop_at=100/seed_0": "interrupted",
        "env.stop_at=100/seed_1": "interrupted",
        "env.stop_at=1000000000/seed_0": "done",
        "env.stop_at=1000000000/seed_1": "done",
    }
    stopped = out / "env.stop_at=100"
    assert json.loads((stopped / "summary.json").read_text())["interrupted"]  # the stacked run's own summary
    if summary_says != "interrupted":  # a summary that claims a finish its steps deny is not a finish
        for path in stopped.glob("seed_*/summary.json"):
            summary = json.loads(path.read_text())
            path.write_text(json.dumps({**summary, "interrupted": False, "stop_reason": "steps"}))
    kept = [p for p in stopped.glob("seed_*/*") if p.name != "summary.json"]
    kept += list(stopped.glob("seed_*/checkpoints/step_*"))
    assert len([p for p in kept if p.name.startswith("events.out")]) == 2 and len(kept) > 8
    finished = {p: p.stat().st_mtime_ns for p in (out / "env.stop_at=1000000000").rglob("*") if p.is_file()}

    resumed = sweep(out=out, resume=True, env=env, progress=False)
    assert sorted(resumed.ran) == ["env.stop_at=100/seed_0", "env.stop_at=100/seed_1"] and not resumed.failed
    assert all(p.exists() for p in kept), "the interrupted run's checkpoints and events were deleted: it retrained"
    for seed in (0, 1):
        summary = json.loads((stopped / f"seed_{seed}/summary.json").read_text())
        assert summary["steps"] == 250 and not summary["interrupted"]
        assert len(list((stopped / f"seed_{seed}").glob("events.out.*"))) == 2  # the first attempt's and this one's
    assert {p: p.stat().st_mtime_ns for p in finished} == finished  # the finished configuration is as it was
    assert sweep(out=out, resume=True, env=env, progress=False).ran == []


def test_a_second_driver_on_a_sweep_directory_is_refused_in_one_line(tmp_path, capsys):
    out = tmp_path / "sweep"
    sweep("rlsuite/WalkToT-v0", "qlearning", steps=100, seeds=1, loop=TINY, out=out, progress=False)
    before = (out / "sweep.json").read_bytes()
    holder = subprocess.Popen(  # another driver, as far as the lock can tell
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
            "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, str(os.getpid()).encode()); print('locked', flush=True); "
            "time.sleep(60)",
            str(out / ".lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert main(["sweep", "--resume", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"sweep {out} is being run by another process (pid {holder.pid}); " in err
        assert (out / "sweep.json").read_bytes() == before  # its finished trial stays finished
        with pytest.raises(RLSuiteError, match="is being run by another process"):
            sweep(out=out, resume=True)
    finally:
        holder.kill()
        holder.wait()
    assert sweep(out=out, resume=True, progress=False).ran == []  # the lock went with its holder


@ON_PROC
@pytest.mark.parametrize("spin", [False, True], ids=["sleeping", "holding the GIL"])
def test_a_killed_driver_leaves_no_worker_behind(tmp_path, spin):
    driver, pids, out = hanging_sweep(tmp_path, "env.hang=true", "--set", f"env.spin={spin}")
    try:
        wait_until(pids.exists, 60, "the trial to hang")
        below = driver.record_below()  # the fork server, the hung worker and its child among them
        assert set(hanging_pids(pids)) <= below
        os.kill(driver.proc.pid, signal.SIGKILL)
        driver.wait(10)
        wait_until(lambda: not any(alive(p) for p in below), 10, f"{below} to end with their driver")
    finally:
        driver.stop()


@ON_PROC
def test_sigterm_stops_the_workers_writes_the_report_and_exits_143(tmp_path):
    driver, pids, out = hanging_sweep(tmp_path, "env.hang=false,true", "--workers", "2")
    try:
        wait_until(lambda: "env.hang=False/seed_0: done" in driver.stderr and pids.exists(), 60, driver.stderr)
        below = driver.record_below()
        assert set(hanging_pids(pids)) <= below
        with pytest.raises(RLSuiteError, match=rf"is being run by another process \(pid {driver.proc.pid}\)"):
            # a second driver meanwhile (were it let in, its timeout would end the hung trial it reruns)
            sweep(out=out, resume=True, env="hanging_env:HangingEnv", trial_timeout=5, progress=False)
        t0 = time.monotonic()
        os.kill(driver.proc.pid, signal.SIGTERM)
        assert driver.wait(20) == 143 and time.monotonic() - t0 < 15
        wait_until(lambda: not any(alive(p) for p in below), 5, f"{below} to end with their driver")
    finally:
        driver.stop()
    last = driver.stderr.strip().splitlines()[-1]
    assert "stopped by SIGTERM" in last and f"rlsuite sweep --resume {out}" in last, driver.stderr
    assert "Traceback" not in driver.stderr and (tmp_path / "stdout.txt").read_text() == ""
    state = json.loads((out / "sweep.json").read_text())
    trials = {t["key"]: t for t in state["trials"]}
    assert state["interrupted"] and trials["env.hang=False/seed_0"]["status"] == "done"
    hung = trials["env.hang=True/seed_0"]
    assert hung["status"] == "interrupted" and "SIGTERM" in hung["error"]
    assert "`env.hang=True/seed_0`: interrupted" in (out / "sweep.md").read_text()


@ON_PROC
def test_a_timed_out_trial_is_killed_with_the_processes_it_started(tmp_path):
    pids = tmp_path / "pids.txt"
    result = sweep(
        f"{__name__}:HangingEnv",
        "qlearning",
        steps=50,
        seeds=1,
        env_kwargs={"hang": True, "pids": str(pids)},
        loop=TINY,
        out=tmp_path / "sweep",
        trial_timeout=1,
        progress=False,
    )
    assert "timed out after 1 s" in result.trials[0].error
    worker, child = hanging_pids(pids)
    try:
        wait_until(lambda: not alive(worker) and not alive(child), 5, "the hung trial's child process to end")
    finally:
        for pid in (worker, child):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_workers_import_the_installed_rlsuite_not_a_folder_named_rlsuite_in_the_current_one(tmp_path):
    fake = tmp_path / "rlsuite"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "import pathlib\npathlib.Path(__file__).with_name('IMPORTED').write_text('a clone was imported')\n"
    )
    (tmp_path / "tiny_env.py").write_text(HANGING_ENV)  # a module:Class env from the current folder still resolves
    args = ["--env", "tiny_env:HangingEnv", "--agent", "qlearning", "--steps", "50", "--seeds", "1"]
    driver = Driver(tmp_path, *args, "--set", "eval_episodes=2", "--out", str(tmp_path / "sweep"))
    try:
        assert driver.wait(60) == 0, driver.stderr
    finally:
        driver.stop()
    assert "default/seed_0: done" in driver.stderr and not (fake / "IMPORTED").exists()


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["spec"].update(steps="abc"),
        lambda d: d.update(trials=[1, 2]),
        lambda d: d.update(spec=5),
        lambda d: d.update(configs=[]),
        lambda d: d["spec"].pop("env"),
    ],
)
def test_a_tampered_sweep_json_is_one_line_on_resume(tmp_path, capsys, tamper):
    out = tmp_path / "sweep"
    sweep("rlsuite/WalkToT-v0", "qlearning", steps=50, seeds=1, grid={"gamma": [0.8]}, loop=TINY, out=out)
    data = json.loads((out / "sweep.json").read_text())
    tamper(data)
    (out / "sweep.json").write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["sweep", "--resume", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "its sweep.json is damaged" in err
