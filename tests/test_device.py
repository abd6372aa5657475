"""The device setting of the neural agents; CI has no GPU, so the CUDA path is checked for its errors."""

import json

import numpy as np
import pytest
import torch

import rlsuite
from rlsuite.core.errors import RLSuiteError

NO_GPU = not torch.cuda.is_available()


@pytest.mark.parametrize("agent", ["dqn", "ddpg"])
def test_cuda_without_a_gpu_is_one_line(agent):
    env = "CartPole-v1" if agent == "dqn" else "Pendulum-v1"
    if NO_GPU:
        with pytest.raises(
            RLSuiteError,
            match=r"device='cuda' asks for a GPU but this machine has no CUDA device.*"
            r"use device='cpu' or device='auto'",
        ) as info:
            rlsuite.make_agent(agent, env, device="cuda")
        assert "\n" not in str(info.value)
        with pytest.raises(RLSuiteError, match=r"device='cuda' asks for a GPU"):
            rlsuite.make_agent(agent, env, device="cuda", seeds=3)  # K members: the same one line
    with pytest.raises(RLSuiteError, match="is not a device; choose cpu, cuda, cuda:N or auto"):
        rlsuite.make_agent(agent, env, device="gpu0")
    with pytest.raises(RLSuiteError, match="device='cuda:99' asks for a GPU"):
        rlsuite.make_agent(agent, env, device="cuda:99")


def test_auto_trains_on_what_there_is_and_a_gpu_checkpoint_loads_on_the_cpu(tmp_path):
    agent = rlsuite.make_agent("dqn", "rlsuite/WalkToT-v0", seed=0, device="auto")
    assert agent.device.type == ("cpu" if NO_GPU else "cuda")
    result = agent.learn(3000, run_dir=tmp_path / "run")
    assert result.summary["eval_mean_return"] == 1.0
    agent.save(tmp_path / "model")
    meta_path = tmp_path / "model" / "agent.json"
    meta = json.loads(meta_path.read_text())
    meta["hyperparameters"]["device"] = "cuda"  # as if it had been trained on a GPU
    meta_path.write_text(json.dumps(meta))
    loaded = rlsuite.load(tmp_path / "model")
    assert loaded.device.type == ("cpu" if NO_GPU else "cuda")
    on_cpu = rlsuite.load(tmp_path / "model", device="cpu")
    assert on_cpu.device.type == "cpu"
    obs = np.arange(6)
    assert [on_cpu.predict(s) for s in obs[:5]] == [agent.predict(s) for s in obs[:5]] == [1] * 5
