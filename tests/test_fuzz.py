"""A property-based fuzz of the command line and of ``--config`` files: whatever the argument vector or
the YAML document, ``rlsuite`` exits 0 or 2, shows no traceback, does not hang, writes nothing outside
its working directory and runs nothing a file names, and a refusal is one line ``rlsuite: error: ...``
(argparse's own usage errors: the usage, then one ``rlsuite CMD: error: ...`` line).

The grammar knows the real subcommands and options and mixes valid small values with hostile ones.
Training stays tiny (``--steps`` up to 6, ``--no-progress``, a ``--run-dir`` in the example's own
directory), and where a large *valid* number would only mean a long run (steps, episodes, seeds,
buffer sizes) the fuzz never draws one: such numbers go only where they must be refused. Examples are
derandomized, so CI runs the same ones every time; each example runs under an alarm, so a hang fails.
"""

import contextlib
import dataclasses
import io
import re
import shutil
import signal
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rlsuite.agents import agent_class
from rlsuite.driver.loop import LOOP_KEYS
from rlsuite.tools.cli import main

TIME_LIMIT_S = 30  # a tiny run takes well under a second; this much only on a very busy machine
# conftest's autouse fixtures are function-scoped: every example makes its own directory instead
HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]
SETTINGS = settings(deadline=None, derandomize=True, database=None, suppress_health_check=HEALTH)
ERROR_LINE = re.compile(r"rlsuite(?: [\w-]+)?: error: .*\S")
HUGE = [str(2**63), str(2**64), "1" + "0" * 400, "1" + "0" * 5000]  # where valid, only a long run: refused or kept out
HOSTILE_NUMBERS = [
    "-" + "9" * 400, "-1", "-0", "0", "1e99", "1e999", "nan", "inf", "-inf", "0x10", "1_0", "1.5", "", " ", "٣",
]  # fmt: skip
HOSTILE_TEXT = [
    "", " ", "=", "a=b=c", "x\ny", "é", "🙂", "\udcff", "a\udc80b", "-", "--", "-h", "'", '"', "{", "[", "[[[[",
    "*alias", "!!python/object/apply:os.system ['touch CANARY']", "no/such/path", "x" * 300, "run/../run", ".",
]  # fmt: skip
ENVS = ["rlsuite/WalkToT-v0", "rlsuite/RecyclingRobot-v0", "rlsuite/GridWorld-v0", "FrozenLake-v1", "CartPole-v1"]
HOSTILE_ENVS = [
    "os:system", "builtins:exec", "subprocess:Popen", "rlsuite.tools.cli:main", "gymnasium:Env", "gymnasium:Wrapper",
    "no_such_module:Env", ":", ":Env", "os:", ".rel:Env", "a..b:C", "CartPol-v1", "rlsuite/", "rlsuite/Nope-v0",
    "ALE/Nope-v5", "MinAtar/Nope-v1", "os:CartPole-v1", "gymnasium.envs.toy_text.frozen_lake:FrozenLakeEnv",
]  # fmt: skip
AGENTS = ["qlearning", "sarsa", "expected_sarsa", "double_qlearning", "dqn"]
HOSTILE_AGENTS = ["", "qlearnin", "sb3:", "sb3:NOPE", "os:system", "QLEARNING", "ddpg"]
WRAPPERS = [
    "FlattenObservation", "TimeLimit(max_episode_steps=2)", "TimeLimit(max_episode_steps=-1)",
    "TimeLimit(max_episode_steps=1" + "0" * 5000 + ")", "TimeLimit(**{})", "__import__('os').system('touch CANARY')",
    "os.system", "NormalizeObservation", "RecordEpisodeStatistics(buffer_length=-1)", "TimeLimit(", "HumanRendering",
    "TimeLimit(max_episode_steps=1e99)", "TransformReward(func=1)", "ClipAction", "StickyAction(block_size=0)",
]  # fmt: skip
ENV_ARGS = ["n_cells", "is_slippery", "map_name", "desc", "max_episode_steps", "render_mode", "wrappers", "nope"]
ENV_VALUES = ["zz", "SFFG", ["SF", "HG"], "rgb_array", "human", "ansi", ["FlattenObservation"], ["TimeLimit(x=1)"]]
TABULAR = ["qlearning", "sarsa", "expected_sarsa", "double_qlearning"]
PAIRS = [(env, agent) for env in ENVS[:4] for agent in TABULAR] + [("CartPole-v1", "dqn"), (ENVS[0], "dqn")]


def agent_names(agent: str) -> list[str]:
    return [f.name for f in dataclasses.fields(agent_class(agent).Config)]


HYPER_KEYS = sorted({name for agent in AGENTS for name in agent_names(agent)})
LOOPS, ENV_KEYS = sorted(LOOP_KEYS), [f"env.{name}" for name in ENV_ARGS]


def inside(path: str) -> str:
    """``path`` kept inside the example's directory: the tests may run as root, where "/x" is writable."""
    return path.lstrip("/").replace("..", "._")


text = st.text(st.characters(blacklist_characters="\x00"), max_size=12).map(inside)  # argv holds anything but NUL
hostile = st.sampled_from(HOSTILE_TEXT) | text


def one_in(n: int) -> st.SearchStrategy[bool]:
    """True one time in ``n``, shrinking to False (``st.integers`` leans to its ends, ``st.one_of`` dedupes)."""
    return st.sampled_from([False] * (n - 1) + [True])


def mostly(valid: st.SearchStrategy, bad: st.SearchStrategy, n: int = 4) -> st.SearchStrategy:
    """``valid``, but one time in ``n`` ``bad``: an example with one bad part gets into the code behind."""
    return one_in(n).flatmap(lambda is_bad: bad if is_bad else valid)


def number(valid: st.SearchStrategy[int], n: int = 4, huge: bool = True) -> st.SearchStrategy[str]:
    """A numeric option's value: mostly valid and small, else refused (``huge`` ones where they must be)."""
    return mostly(valid.map(str), st.sampled_from(HOSTILE_NUMBERS + HUGE * huge) | hostile, n)


# A value that a setting may take without meaning a long run: small, negative, non-finite, of the
# wrong type; huge numbers only where they must be refused (steps, seeds, names that are no setting).
SAFE = [0.0, 0.5, 1.0, -0.5, 1e-300, float("nan"), float("inf"), float("-inf"), "cuda", "auto", "mse", "1e99"]
safe_scalar = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(SAFE + ENV_VALUES) | text
safe_value = st.recursive(safe_scalar, lambda inner: st.lists(inner, max_size=3), max_leaves=6)
any_scalar = safe_scalar | st.sampled_from([2**63, 2**64, 10**400, -(10**400), 1e308])
map_key = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([1.5, 2**64, 10**400]) | text
any_value = st.recursive(
    any_scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(map_key, inner, max_size=3), max_leaves=12
)


@st.composite
def set_item(draw, agent: str | None = None) -> str:
    """A ``--set`` item: mostly a name of ``agent``, the loop or an env with a safe value, else anything."""
    if draw(one_in(5)):
        return draw(st.sampled_from(["", "=1", " =1", "nope=1", "env.=1", "lr=0.1", "gamma", "env.x=y=z"]) | hostile)
    name = draw(st.sampled_from((HYPER_KEYS if agent is None else agent_names(agent)) + LOOPS + ENV_KEYS))
    return f"{name}={yaml.safe_dump(draw(safe_value), default_flow_style=True).strip()}"


def workdir_paths(valid: list[str]) -> st.SearchStrategy[str]:
    """Paths in the example's directory: mostly ``valid``, else another there, one that is not, an odd name."""
    others = st.sampled_from(["run", "seeds", "empty", "file.txt", "c.yaml", "nope", "run/checkpoints"]) | hostile
    return mostly(st.sampled_from(valid), others)


@st.composite
def train_argv(draw) -> list[str]:
    argv = ["train", "--no-progress", "--run-dir", draw(mostly(st.just("new"), st.just("run") | hostile))]
    env, agent = draw(st.sampled_from(PAIRS))
    if not draw(one_in(10)):
        argv += ["--env", draw(mostly(st.just(env), st.sampled_from(HOSTILE_ENVS) | hostile | st.sampled_from(ENVS)))]
    if not draw(one_in(10)):
        argv += ["--agent", draw(mostly(st.just(agent), st.sampled_from(HOSTILE_AGENTS) | hostile, n=6))]
    # a valid large step count is a long run: only small ones, and numbers that must be refused
    argv += ["--steps", draw(number(st.integers(0, 6), n=6))]  # each step may evaluate 10 episodes
    for option, values in (
        ("--seed", number(st.integers(0, 2**63 - 1))),
        ("--seeds", number(st.integers(1, 3))),
        ("--checkpoint-every", number(st.integers(0, 10**20))),
        ("--config", workdir_paths(["c.yaml"])),
        ("--resume", workdir_paths(["run", "seeds"])),
        ("--wrapper", st.sampled_from(WRAPPERS) | hostile),
    ):
        if draw(one_in(6)):
            argv += [option, draw(values)]
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3]))):
        argv += ["--set", draw(set_item(agent))]
    if draw(one_in(10)):
        argv += ["--seed-list", *draw(st.lists(number(st.integers(0, 2**63 - 1)), min_size=1, max_size=3))]
    if draw(one_in(5)):
        argv.append("--overwrite")
    return argv


@st.composite
def other_argv(draw) -> list[str]:
    """eval, solve, watch, record, plot and list; bench and sweep with options they refuse before any work."""
    command = draw(st.sampled_from(["eval", "solve", "watch", "record", "plot", "list", "bench", "sweep"]))
    episodes = number(st.integers(1, 2), huge=False)  # many episodes are a long evaluation, not a fault
    members = number(st.integers(0, 3))
    fps = number(st.integers(1, 99)) | st.sampled_from(["0.001", "0.01", "1e-300", "1e300", "1000"])
    policies = st.sampled_from(["random", "p.npy"])
    envs = st.sampled_from(ENVS + HOSTILE_ENVS)  # the runs' own is ENVS[0]
    videos = mostly(st.sampled_from(["v.gif", "v.mp4", "v.png"]), hostile)
    outs = mostly(st.sampled_from(["c.png", "run/c.png", "new/c.png"]), hostile)
    options = {
        "eval": [("--episodes", episodes), ("--seed", number(st.integers(0, 9))), ("--env", envs)],
        "solve": [("--gamma", number(st.integers(0, 1))), ("--policy", mostly(policies, text))],
        "watch": [("--episodes", episodes), ("--member", members), ("--env", envs), ("--fps", fps)],
        "record": [("--episodes", episodes), ("--out", videos), ("--fps", fps), ("--env", envs)],
        "plot": [("--tag", mostly(st.sampled_from(["eval/mean_return", "charts/SPS"]), hostile)), ("--out", outs)],
        "bench": [("--suite", st.sampled_from(["quick", "textbook", "seeds", "nope"]) | hostile)],
    }.get(command, [])  # fmt: skip
    argv = [command]
    if command in ("eval", "watch", "record", "plot"):
        argv.append(draw(workdir_paths(["run", "seeds"])))
    if command == "solve":
        argv += ["--env", draw(mostly(st.sampled_from(ENVS[:4]), st.sampled_from(HOSTILE_ENVS + ENVS) | hostile))]
        argv += [x for _ in range(draw(st.integers(0, 2))) for x in ("--set", draw(set_item()))]
    if command == "bench":  # a bad --only or --seeds is refused before any case runs; never a real benchmark
        argv += ["--only", draw(st.sampled_from(["nope", "cartpol"]) | text.filter(lambda s: s.strip()))]
        argv += ["--seeds", draw(number(st.integers(-3, 0)))]
    if command == "sweep":  # an unknown backend is refused before any trial starts
        argv += ["--backend", draw(st.sampled_from(["nope", "", "Local"])), "--env", "rlsuite/WalkToT-v0"]
    for option, values in options:
        if draw(st.booleans()):
            argv += [option, draw(values)]
    if draw(one_in(10)):
        argv.insert(draw(st.integers(0, len(argv))), draw(hostile))
    return argv


CONFIG_KEYS = ["env", "agent", "steps", "seed", "seeds", "hyperparameters", "loop", "env_kwargs"]
TAGS = [
    "!!python/object/apply:os.system ['touch CANARY']", "!!python/object/new:os.system ['touch CANARY']",
    "!!python/name:os.system", "!!python/module:os", "!!binary aGVsbG8=", "!!set {a, b}", "!!omap [a: 1, b: 2]",
    "!!timestamp 2001-12-14", "!!float nan", "!!int 0x7fffffffffffffffff", "!!str 3", "!custom x", "&a [*a]",
]  # fmt: skip
# "billion laughs": nine levels of nine aliases, 1 kB that a reader who expands it finds 9**9 items in
LAUGHS = "[" + ", ".join(f"&l{i} [{', '.join([f'*l{i - 1}' if i else 'x'] * 9)}]" for i in range(9)) + "]"
WALK, LAKE = "env: rlsuite/WalkToT-v0\nagent: qlearning\n", "env: FrozenLake-v1\nagent: qlearning\n"
RAW_DOCS = [
    "[" * 5000 + "]" * 5000, "hyperparameters: " + "{a: " * 3000 + "1" + "}" * 3000, WALK + "loop: &a {eval_freq: *a}",
    "env: " + "x" * 100_000, "--- {env: CartPole-v1}\n--- {agent: dqn}\n", WALK + "\tsteps: 1", "\ufeff" + WALK,
    WALK + "<<: {steps: 1}", WALK + "steps: 1" + "0" * 5000, WALK + "seed: 1" + "0" * 400, "",
]  # fmt: skip


@st.composite
def config_doc(draw) -> object:
    """A config mapping: mostly the real keys with valid or safe values, else random keys and any value."""
    if draw(one_in(10)):
        return draw(any_value)
    env, agent = draw(st.sampled_from(PAIRS))
    junk = st.dictionaries(map_key, any_value, max_size=2) | any_value

    def settings_of(names: list[str], n: int) -> st.SearchStrategy:
        return mostly(st.dictionaries(st.sampled_from(names), safe_value, max_size=n), junk)

    values = {
        "env": mostly(st.just(env), st.sampled_from(HOSTILE_ENVS + ENVS) | any_value),
        "agent": mostly(st.just(agent), st.sampled_from(HOSTILE_AGENTS) | any_value),
        "steps": mostly(st.integers(0, 10**6), any_scalar),  # the command line's --steps decides how long a run is
        "seed": mostly(st.integers(0, 2**63 - 1), any_scalar),
        "seeds": mostly(st.lists(st.integers(0, 9), min_size=1, max_size=3), st.lists(any_scalar, max_size=3) | junk),
        "hyperparameters": settings_of(agent_names(agent), 3),
        "loop": settings_of(LOOPS, 3),
        "env_kwargs": settings_of(ENV_ARGS, 2),
    }
    doc = {key: draw(strategy) for key, strategy in values.items() if not draw(one_in(5))}
    if draw(one_in(8)):  # keys of no config: misspelt, an env id or agent name, anything
        doc.update(draw(st.dictionaries(st.sampled_from(["hyperparameter", "CartPole-v1", "dqn"]) | text, any_value)))
    return doc


@st.composite
def config_text(draw) -> str | bytes:
    """A ``--config`` file: mostly a dumped document, else a YAML tag, a pathological one, any text or bytes."""
    kind = draw(st.sampled_from(["dump"] * 6 + ["tag", "raw", "bytes", "text"]))
    if kind == "dump":
        style = draw(st.sampled_from([None, True, False]))
        return yaml.safe_dump(draw(config_doc()), allow_unicode=draw(st.booleans()), default_flow_style=style)
    if kind == "tag":
        return f"{WALK}{draw(st.sampled_from(CONFIG_KEYS))}: {draw(st.sampled_from(TAGS))}\n"
    if kind == "raw":
        return draw(st.sampled_from(RAW_DOCS))
    if kind == "bytes":
        return draw(st.binary(max_size=40)) + b"\nenv: \xff\xfe"
    return draw(st.text(max_size=200))


class Hang(BaseException):
    """An example ran past TIME_LIMIT_S; not an Exception, so no handler in rlsuite swallows it."""


@contextlib.contextmanager
def time_limit(seconds: float, what: str):
    def fire(signum, frame):
        raise Hang(f"{what}: no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A directory for the examples: ``template/`` (what each example's directory starts as: a run, a
    run of two seeds, an empty directory, a file, a config) and the canary no example may create."""
    base = tmp_path_factory.mktemp("fuzz")
    (template := base / "template").mkdir()
    tiny = ["train", "--env", "rlsuite/WalkToT-v0", "--agent", "qlearning", "--no-progress", "--steps", "30"]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main([*tiny, "--run-dir", str(template / "run")]) == 0
        assert main([*tiny, "--seeds", "2", "--run-dir", str(template / "seeds")]) == 0
    (template / "empty").mkdir()
    (template / "file.txt").write_text("not a run\n")
    shutil.copy(template / "run" / "config.yaml", template / "c.yaml")
    np.save(template / "p.npy", np.zeros((2, 2)))
    return base


def run_cli(argv: list[str], workdir: Path) -> tuple[object, str, str]:
    """(exit status, stdout, stderr) of ``rlsuite ARGV`` run in ``workdir``, through streams encoded as a
    terminal's: stdout strict UTF-8, as Python opens it under a UTF-8 locale, stderr backslash-escaped."""
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="backslashreplace", write_through=True)
    with contextlib.chdir(workdir), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            with time_limit(TIME_LIMIT_S, f"rlsuite {argv!r}"):
                code = main(argv)
        except SystemExit as exc:  # argparse: a usage error exits 2, --help 0
            code = exc.code
    return code, out_bytes.getvalue().decode(errors="replace"), err_bytes.getvalue().decode(errors="replace")


def check_run(base: Path, argv: list[str], config: str | bytes | None = None, config_path: str = "c.yaml") -> None:
    """Run ``argv`` in a fresh copy of the template (``config`` in ``config_path``); check the module doc's claims."""
    canary = base / "canary"
    workdir = Path(tempfile.mkdtemp(dir=base))
    try:
        for entry in (base / "template").iterdir():  # the runs only where named: copying them takes the time
            if entry.is_file():
                shutil.copy(entry, workdir)
            elif any(entry.name in arg for arg in [*argv, config_path]):
                shutil.copytree(entry, workdir / entry.name)
        if config is not None:
            data = config if isinstance(config, bytes) else config.replace("CANARY", str(canary)).encode()
            (workdir / config_path).write_bytes(data)
        argv = [arg.replace("CANARY", str(canary)) for arg in argv]
        code, out, err = run_cli(argv, workdir)
        shown = f"rlsuite {argv!r} exited {code}; stderr:\n{err[-3000:]}"
        assert code in (0, 2), shown
        assert "Traceback" not in err, shown
        if code == 2:
            lines = [line for line in err.split("\n") if line.strip()]  # a terminal breaks lines at \n only
            assert lines and ERROR_LINE.match(lines[-1]), shown
            assert sum(bool(ERROR_LINE.match(line)) for line in lines) == 1, shown
        assert not canary.exists(), f"rlsuite {argv!r} ran what it was given: {canary} exists"
        assert sorted(base.iterdir()) == sorted([base / "template", workdir]), f"rlsuite {argv!r} wrote outside"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        canary.unlink(missing_ok=True)


def train(*extra: str, env: str = "rlsuite/WalkToT-v0") -> list[str]:
    """A tiny valid ``train`` command line, plus ``extra``."""
    return ["train", "--no-progress", "--run-dir", "new", "--env", env, "--agent", "qlearning", "--steps", "1", *extra]


def config_case(config: str | bytes, mode: str = "config") -> dict:
    """The arguments of test_config_files for ``config`` read in ``mode``, nothing else given."""
    return {"config": config, "mode": mode, "steps": 1, "extra": [], "env": "", "item": ""}


# The inputs that gave a traceback or a hang before they were fixed, each run every time.
@settings(SETTINGS, max_examples=100)
@example(argv=train("--checkpoint-every", "1" + "0" * 400))  # float(10**400) overflowed in the loop's settings
@example(argv=train("--steps", str(2**64)))  # trained until killed
@example(argv=train("--seeds", str(2**64)))  # walked range(2**64) to count the seeds
@example(argv=train(env=":Env"))  # importlib: ValueError, empty module name
@example(argv=train(env=".rel:Env"))  # importlib: TypeError, a relative import
@example(argv=train(env="gymnasium:Env"))  # an Env without spaces: AttributeError
@example(argv=train("--set", "env.map_name=zz", env="FrozenLake-v1"))  # KeyError from FrozenLake
@example(argv=train("--steps", "9", "--set", "env.render_mode=human", env="FrozenLake-v1"))  # pygame.error
@example(argv=train("--set", "env.render_mode=ansi", "--set", "video_every=1"))  # render_mode given twice
@example(argv=train("--set", "gamma=1" + "0" * 5000))  # YAML's int of 5000 digits: ValueError
@example(argv=train("--config", "x\ny"))  # a message of two lines
@example(argv=train("--run-dir", "\udcff"))  # a name not UTF-8: UnicodeEncodeError in TensorBoard's writer
@given(argv=train_argv())
def test_train_command_lines(base, argv):
    check_run(base, argv)


@settings(SETTINGS, max_examples=120)
@example(argv=["eval", "run", "--env", "rlsuite/GridWorld-v0"])  # another env's spaces: IndexError in the Q-table
@example(argv=["list", "x\ny"])  # argparse's message quoted the newline
@example(argv=["record", "run", "--fps", "1e-300"])  # OverflowError in Pillow's GIF writer
@given(argv=other_argv())
def test_other_command_lines(base, argv):
    check_run(base, argv)


@settings(SETTINGS, max_examples=120)
@example(**config_case("steps: 1" + "0" * 5000))  # YAML's int(): ValueError past 4300 digits
@example(**config_case("seed: 1" + "0" * 400))  # float(10**400): OverflowError
@example(**config_case(f"{LAKE}hyperparameters:\n  learning_rate: {LAUGHS}"))  # the message's repr of 9**9 items
@example(**config_case(f"{LAKE}env_kwargs:\n  desc: {LAUGHS}"))  # FrozenLake's map of 9**9 cells
@example(**config_case(b"env: \xff"))  # UnicodeDecodeError
@example(**config_case(b"seeds: \xff", "eval"))  # UnicodeDecodeError in eval's look at the seeds
@example(**config_case("x: 1\nfalse: 2\n"))  # sorted() of a str and a bool
@example(**config_case(WALK + "env_kwargs: {null: 1}"))  # make_env(**{None: 1}): TypeError
@example(**config_case(WALK + "hyperparameters: {null: 1}"))  # make_agent(**{None: 1}): TypeError
@example(**config_case(WALK + "seed: null\n", "resume"))  # int(None)
@given(
    config=config_text(),
    mode=st.sampled_from(["config", "config", "resume", "eval"]),
    steps=st.integers(0, 6),
    extra=st.lists(st.sampled_from(["--env", "--set"]), max_size=2),
    env=st.sampled_from(ENVS + HOSTILE_ENVS),
    item=set_item(),
)
def test_config_files(base, config, mode, steps, extra, env, item):
    """A --config file, and a run directory's config.yaml as --resume and eval read it."""
    argv, path = {
        "config": (["train", "--config", "c.yaml", "--run-dir", "new"], "c.yaml"),
        "resume": (["train", "--resume", "run"], "run/config.yaml"),
        "eval": (["eval", "seeds", "--episodes", "1"], "seeds/config.yaml"),
    }[mode]
    if mode != "eval":
        argv += ["--steps", str(steps), "--no-progress"]
        argv += [x for option in extra for x in (option, env if option == "--env" else item)]
    check_run(base, argv, config, path)
