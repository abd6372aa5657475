"""What a run reports: curves flushed however it stops, why it stopped, HPARAMS across runs,
the progress display, and the evaluation cut-off."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tensorboard import context as tb_context
from tensorboard.backend.event_processing.data_provider import MultiplexerDataProvider
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.plugin_event_multiplexer import EventMultiplexer
from tensorboard.plugins import base_plugin
from tensorboard.plugins.hparams import api_pb2, backend_context, get_experiment, list_session_groups, metadata
from tensorboard.util import tensor_util
from tests.conftest import ConstantRewardEnv

import rlsuite
from rlsuite.driver.logger import Progress


def _accumulator(run_dir: Path) -> EventAccumulator:
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def _summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


# ----- flushing and stop_reason ---------------------------------------------------------------------
def test_curves_are_flushed_when_max_episodes_stops_the_run_before_the_first_log_interval(tmp_path):
    agent = rlsuite.make_agent("qlearning", "rlsuite/WalkToT-v0", seed=8, learning_rate=0.1, gamma=0.8, epsilon=0.1)
    result = agent.learn(10_000, run_dir=tmp_path / "run", max_episodes=13)
    assert result.summary["episodes"] == 13 and result.summary["steps"] < 1000  # the log interval is never reached
    assert result.summary["stop_reason"] == "max_episodes" and not result.summary["interrupted"]
    tags = _accumulator(tmp_path / "run").Tags()["scalars"]
    for tag in ["charts/episodic_return", "charts/episodic_length", "tabular/q_error", "charts/epsilon", "charts/SPS"]:
        assert tag in tags, tag
    assert _summary(tmp_path / "run")["stop_reason"] == "max_episodes"


def test_stop_reason_is_steps_when_the_run_reaches_its_steps(tmp_path):
    agent = rlsuite.make_agent("qlearning", "rlsuite/WalkToT-v0", seed=0)
    assert agent.learn(300, run_dir=tmp_path / "run").summary["stop_reason"] == "steps"


class CtrlCEnv(ConstantRewardEnv):
    """Sends the process a SIGINT (as Ctrl-C does) at its ``at``-th step."""

    def __init__(self, at: int):
        super().__init__(episode_steps=4)
        self.at, self.steps = at, 0

    def step(self, action):
        self.steps += 1
        if self.steps == self.at:
            signal.raise_signal(signal.SIGINT)
        return super().step(action)


def test_ctrl_c_stops_the_run_with_stop_reason_interrupted_and_flushes_the_curves(tmp_path):
    agent = rlsuite.make_agent("qlearning", CtrlCEnv(at=50), seed=0)
    result = agent.learn(5000, run_dir=tmp_path / "run")
    assert result.summary["interrupted"] and result.summary["stop_reason"] == "interrupted"
    assert result.summary["steps"] == 50
    assert [e.step for e in _accumulator(tmp_path / "run").Scalars("charts/episodic_return")] == [50]


def test_sb3_runner_reports_max_episodes(tmp_path):
    agent = rlsuite.make_agent("sb3:DQN", "rlsuite/WalkToT-v0", seed=0, learning_starts=50)
    result = agent.learn(5000, run_dir=tmp_path / "run", max_episodes=3, eval_episodes=1)
    assert result.summary["stop_reason"] == "max_episodes" and result.summary["episodes"] == 3
    assert "charts/episodic_return" in _accumulator(tmp_path / "run").Tags()["scalars"]


def test_the_sb3_runner_and_the_loop_log_evaluate_and_checkpoint_on_one_schedule(tmp_path):
    """One scheduler and one evaluator for every trainable: the same settings give the same steps."""
    settings = dict(eval_freq=200, eval_episodes=2, checkpoint_every=300, keep_checkpoints=10, log_interval=100)
    steps = {}
    for name in ("qlearning", "sb3:DQN"):
        run = tmp_path / name.replace(":", "_")
        agent = rlsuite.make_agent(name, "rlsuite/WalkToT-v0", seed=0)
        agent.learn(700, run_dir=run, **settings)
        acc = _accumulator(run)
        steps[name] = (
            [e.step for e in acc.Scalars("eval/mean_return")],
            [e.step for e in acc.Scalars("charts/SPS")],
            sorted(p.name for p in (run / "checkpoints").iterdir()),
        )
    assert steps["sb3:DQN"] == steps["qlearning"]
    evaluations, logs, _ = steps["qlearning"]
    assert evaluations == [200, 400, 600, 700] and logs == [100, 200, 300, 400, 500, 600, 700]


# ----- HPARAMS ---------------------------------------------------------------------------------------
def _hparams_plugin(logdir: Path) -> backend_context.Context:
    """TensorBoard's hparams backend over ``logdir``, as ``tensorboard --logdir`` builds it."""
    multiplexer = EventMultiplexer().AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    provider = MultiplexerDataProvider(multiplexer, str(logdir))
    return backend_context.Context(base_plugin.TBContext(data_provider=provider, logdir=str(logdir)))


def test_hparams_columns_cover_all_runs_of_a_logdir_and_differ_where_runs_differ(tmp_path):
    for gamma in (0.8, 0.9):
        agent = rlsuite.make_agent("qlearning", "rlsuite/WalkToT-v0", seed=0, gamma=gamma)
        agent.learn(200, run_dir=tmp_path / "logdir" / f"gamma{gamma}", log_interval=100)
    plugin = _hparams_plugin(tmp_path / "logdir")
    experiment = get_experiment.Handler(tb_context.RequestContext(), plugin, "", api_pb2.GetExperimentRequest()).run()
    infos = {info.name: info for info in experiment.hparam_infos}
    assert {"env", "agent", "seed", "gamma", "learning_rate", "epsilon"} <= set(infos)
    gamma = infos["gamma"]
    assert gamma.differs and (gamma.domain_interval.min_value, gamma.domain_interval.max_value) == (0.8, 0.9)
    assert not infos["learning_rate"].differs and not infos["seed"].differs
    assert list(v.string_value for v in infos["env"].domain_discrete.values) == ["rlsuite/WalkToT-v0"]
    assert list(v.string_value for v in infos["agent"].domain_discrete.values) == ["qlearning"]
    metrics = {m.name.tag for m in experiment.metric_infos}
    assert {"hparam/eval_mean_return", "eval/mean_return", "charts/episodic_return"} <= metrics

    request = api_pb2.ListSessionGroupsRequest(
        start_index=0, slice_size=10, allowed_statuses=[api_pb2.STATUS_SUCCESS, api_pb2.STATUS_UNKNOWN]
    )
    groups = list_session_groups.Handler(tb_context.RequestContext(), plugin, "", request).run().session_groups
    assert {g.name: g.hparams["gamma"].number_value for g in groups} == {"gamma0.8": 0.8, "gamma0.9": 0.9}


def test_each_run_holds_its_session_but_no_experiment_summary(tmp_path):
    agent = rlsuite.make_agent("qlearning", "rlsuite/WalkToT-v0", seed=3, gamma=0.8)
    agent.learn(200, run_dir=tmp_path / "run", log_interval=100)
    assert sorted(p.name for p in (tmp_path / "run").iterdir() if p.is_dir()) == ["checkpoints"]  # no "." sub-run
    acc = _accumulator(tmp_path / "run")
    content = acc.PluginTagToContent(metadata.PLUGIN_NAME)
    assert metadata.EXPERIMENT_TAG not in content
    start = metadata.parse_session_start_info_plugin_data(content[metadata.SESSION_START_INFO_TAG])
    assert start.hparams["env"].string_value == "rlsuite/WalkToT-v0"
    assert start.hparams["agent"].string_value == "qlearning"
    assert start.hparams["seed"].number_value == 3
    assert start.hparams["gamma"].number_value == pytest.approx(0.8)
    assert metadata.SESSION_END_INFO_TAG in content
    # the text table names the run and its loop settings too
    text = tensor_util.make_ndarray(acc.Tensors("hyperparameters/text_summary")[0].tensor_proto).item().decode()
    for row in [
        "|env|rlsuite/WalkToT-v0|",
        "|agent|qlearning|",
        "|seed|3|",
        "|steps|200|",
        "|gamma|0.8|",
        "|loop.log_interval|100|",
        "|loop.eval_max_steps|10000|",
    ]:
        assert row in text, row


# ----- progress display ------------------------------------------------------------------------------
def test_plain_progress_lines_show_exploration_eval_and_loss(capsys):
    progress = Progress(1000, 0, enabled=True, plain_every_s=0)
    progress.update(
        500,
        1234.0,
        0.5,
        {
            "charts/epsilon": 0.25,
            "eval/mean_return": 0.75,
            "losses/td_loss": 0.0125,
            "losses/q_values": 3.0,
            "charts/SPS": 1234.0,
        },
    )
    progress.update(
        600,
        1234.0,
        None,
        {
            "charts/noise_scale": 0.1,
            "eval/mean_return": float("nan"),
            "losses/actor_loss": 2.0,
            "losses/critic_loss": 1.5,
        },
    )
    first, second = capsys.readouterr().err.splitlines()
    assert first == "step 500/1000  1234 steps/s  return=0.5 eps=0.25 eval=0.75 loss=0.0125"
    assert second == "step 600/1000  1234 steps/s  return=n/a noise=0.1 loss=1.5"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses a Linux pseudo-terminal")
def test_a_bar_renders_on_a_terminal_of_unknown_size():
    import pty

    main, child = pty.openpty()  # a new pseudo-terminal reports 0 x 0, as under `script` in CI
    code = (
        "from rlsuite.driver.logger import Progress\n"
        "p = Progress(100, 0, True)\n"
        "p.update(50, 10.0, 0.5, {'charts/epsilon': 0.1})\n"
        "p.close()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        stdin=child,
        stdout=child,
        stderr=child,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    os.close(child)
    out = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # EIO once the child side is closed and drained
            break
        if not chunk:
            break
        out += chunk
    os.close(main)
    assert proc.returncode == 0, out.decode(errors="replace")
    assert "50/100" in out.decode(errors="replace") and "eps=0.1" in out.decode(errors="replace")


# ----- evaluation cut-off ------------------------------------------------------------------------------
def test_eval_max_steps_cuts_evaluation_episodes(tmp_path):
    agent = rlsuite.make_agent("qlearning", ConstantRewardEnv(episode_steps=1000), seed=0)
    result = agent.learn(20, eval_max_steps=7, eval_episodes=2)  # reward 1 a step; episodes never end by themselves
    assert result.summary["eval_mean_return"] == 7.0
    with pytest.raises(rlsuite.RLSuiteError):
        agent.learn(20, eval_max_steps=0)
