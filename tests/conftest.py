import gymnasium as gym
import numpy as np
import pytest
import torch


class ConstantRewardEnv(gym.Env):
    """One state, reward 1 every step, never terminates: only the time limit ends an episode.

    With gamma = 0.9 the true Q is 1 / (1 - 0.9) = 10 for both actions; an agent that treats
    truncation as termination learns the mean remaining return of the short episodes instead.
    At the end of each episode it reports ``info["metrics"]``.
    """

    metadata = {"render_modes": []}

    def __init__(self, episode_steps: int = 5):
        self.observation_space = gym.spaces.Discrete(1)
        self.action_space = gym.spaces.Discrete(2)
        self.episode_steps = episode_steps
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return 0, {}

    def step(self, action):
        self.t += 1
        truncated = self.t >= self.episode_steps
        info = {"metrics": {"steps_seen": float(self.t)}} if truncated else {}
        return 0, 1.0, False, truncated, info


@pytest.fixture
def constant_env():
    return ConstantRewardEnv()


@pytest.fixture(autouse=True)
def _in_tmp_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.seterr(all="ignore")


@pytest.fixture(autouse=True)
def _seeded_single_thread():
    # The networks in the tests are small: on one thread they run several times faster than
    # with two threads contending on a busy two-core machine, and results are reproducible.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)
