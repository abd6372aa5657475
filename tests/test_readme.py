"""The README's Python is run here, block by block, so that a copied example works: each block as
it is written, with only the run lengths scaled down where a block trains for minutes (the
replacements are listed, and each must be found, so an edited README fails here rather than
drifting). The figures the README quotes beside its code come from these runs."""

import re
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np

import rlsuite
from rlsuite import agents

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)

# block (by its first line) -> replacements that shorten its runs
SCALED = {
    'import rlsuite\n\nagents = rlsuite.make_agent("dqn"': [("total_steps=50_000", "total_steps=600")],
    "import rlsuite\n\nif __name__": [("steps=20_000, seeds=5", "steps=300, seeds=2")],
    "import numpy as np\nfrom torch import nn": [("epochs=30", "epochs=10")],
}


class MyEnv(gym.Env):
    """The README's "your own environment": a corridor of ``size`` cells."""

    def __init__(self, size: int = 5):
        self.size, self.s = size, 0
        self.observation_space, self.action_space = gym.spaces.Discrete(size), gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = 0
        return 0, {}

    def step(self, action):
        self.s = max(0, min(self.s + (1 if action else -1), self.size - 1))
        return self.s, float(self.s == self.size - 1), self.s == self.size - 1, False, {}


def block(start: str) -> str:
    found = [b for b in BLOCKS if b.startswith(start)]
    assert len(found) == 1, f"README has {len(found)} python blocks starting {start!r}"
    code = found[0]
    for old, new in SCALED.get(start, []):
        assert old in code, f"README block {start!r} no longer has {old!r}; update SCALED"
        code = code.replace(old, new)
    return code


def run(start: str) -> dict:
    namespace = (
        {"__name__": "__main__", "MyEnv": MyEnv, "rlsuite": rlsuite} if "MyEnv" in start else {"__name__": "__main__"}
    )
    exec(compile(block(start), f"README:{start[:30]}", "exec"), namespace)
    return namespace


def test_every_python_block_is_run_here():
    starts = [
        key
        for key in (
            *SCALED,
            "import rlsuite\n\nagent =",
            "from rlsuite.nets import QHead",
            "import gymnasium as gym",
            'agent = rlsuite.make_agent("qlearning", MyEnv',
            "# agents/my_expected_sarsa.py",
        )
    ]
    for code in BLOCKS:
        assert any(code.startswith(s) for s in starts), f"a README block no test runs: {code[:60]!r}"


def test_quickstart_gives_the_q_error_the_readme_prints():
    ns = run("import rlsuite\n\nagent =")
    printed = float(re.search(r"A\(s\): ([0-9.]+) at this seed", block("import rlsuite\n\nagent =")).group(1))
    assert round(ns["result"].summary["q_error"], 2) == printed
    assert ns["action"] == 0  # search when high, as q* says
    assert np.argmax(ns["q_star"][1]) == 2  # recharge when low


def test_many_seeds_block():
    ns = run('import rlsuite\n\nagents = rlsuite.make_agent("dqn"')
    assert len(ns["results"]) == 8 and [m.seed for m in ns["agents"].members] == list(range(8))


def test_sweep_block():
    ns = run("import rlsuite\n\nif __name__")
    assert isinstance(ns["result"].best["learning_rate"], float)


def test_fit_blocks():
    ns = run("import numpy as np\nfrom torch import nn")
    assert ns["history"].val_accuracy[ns["history"].best_epoch] > 0.8
    ns = {**ns, "__name__": "__main__"}
    exec(compile(block("from rlsuite.nets import QHead"), "README:members", "exec"), ns)
    assert len(ns["best"]) == 8 and np.mean(ns["best"]) > 0.8


def test_backbone_block():
    ns = run("import gymnasium as gym")
    assert tuple(ns["q_values"].shape) == (1, 2) and ns["greedy_action"] in (0, 1)


def test_own_env_block():
    ns = run('agent = rlsuite.make_agent("qlearning", MyEnv')
    assert ns["agent"].q_table.shape == (5, 2)


def test_adding_an_algorithm_as_the_readme_says(monkeypatch):
    Path("my_expected_sarsa.py").write_text(block("# agents/my_expected_sarsa.py"))
    monkeypatch.syspath_prepend(str(Path.cwd()))
    monkeypatch.setitem(agents.REGISTRY, "my_expected_sarsa", "my_expected_sarsa:MyExpectedSarsa")
    try:
        agent = rlsuite.make_agent("my_expected_sarsa", "rlsuite/WalkToT-v0", seed=0, gamma=0.9)
        agent.learn(total_steps=3000, run_dir="runs/mine")
        assert [agent.predict(s) for s in range(5)] == [1] * 5  # walks right, to T
        assert rlsuite.load("runs/mine").name == "my_expected_sarsa"
    finally:
        sys.modules.pop("my_expected_sarsa", None)
