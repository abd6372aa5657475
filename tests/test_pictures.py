"""Watching the agent: tabular pictures and evaluation videos in TensorBoard (and a real server serving them)."""

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import gymnasium as gym
import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import rlsuite
from rlsuite.driver import run as run_module
from rlsuite.media.pictures import layout_of, policy_picture, q_picture, value_picture

TABULAR_TAGS = {"tabular/q_values", "tabular/value", "tabular/policy", "tabular/value_star"}


def images(run_dir) -> dict[str, list]:
    acc = EventAccumulator(str(run_dir), size_guidance={"images": 0})
    acc.Reload()
    return {tag: acc.Images(tag) for tag in acc.Tags()["images"]}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A FrozenLake run with pictures and a corridor run with videos, trained once for the module."""
    root = tmp_path_factory.mktemp("runs")
    lake = rlsuite.make_agent(
        "qlearning", "FrozenLake-v1", env_kwargs={"is_slippery": False}, seed=0, gamma=0.9, epsilon=0.5
    )
    lake.learn(3000, run_dir=root / "lake", log_interval=1000)
    walk = rlsuite.make_agent("qlearning", "rlsuite/WalkToT-v0", seed=0)
    walk.learn(2000, run_dir=root / "walk", video_every=1000, log_interval=1000)
    return root


def test_tabular_runs_carry_the_pictures(runs):
    logged = images(runs / "lake")
    assert TABULAR_TAGS <= set(logged)
    assert [e.step for e in logged["tabular/value_star"]] == [1000]  # the exact solution, once
    assert logged["tabular/q_values"][0].step == 1000
    for tag in TABULAR_TAGS:
        picture = Image.open(io.BytesIO(logged[tag][-1].encoded_image_string))
        assert picture.format == "PNG" and picture.size == (logged[tag][-1].width, logged[tag][-1].height)


@pytest.mark.parametrize("share, steps", [(1e9, list(range(100, 1001, 100))), (0.0, [100, 200, 1000])])
def test_pictures_keep_to_their_share_of_the_time(tmp_path, monkeypatch, share, steps):
    """Past PICTURE_SHARE of the training time a log goes without pictures; the first two (the first
    is not counted) and the last always have them."""
    monkeypatch.setattr(run_module, "PICTURE_SHARE", share)
    agent = rlsuite.make_agent("qlearning", "rlsuite/GridWorld-v0", seed=0, gamma=0.9)
    agent.learn(1000, run_dir=tmp_path / "run", log_interval=100)
    assert [e.step for e in images(tmp_path / "run")["tabular/value"]] == steps


def test_log_images_off_writes_none(tmp_path):
    agent = rlsuite.make_agent("qlearning", "FrozenLake-v1", env_kwargs={"is_slippery": False}, seed=0)
    agent.learn(500, run_dir=tmp_path / "run", log_interval=250, log_images=False)
    assert images(tmp_path / "run") == {}


def test_video_every_writes_gifs_and_animated_images(runs):
    videos = images(runs / "walk")["videos/eval"]
    assert [e.step for e in videos] == [1000, 2000]
    final = Image.open(io.BytesIO(videos[-1].encoded_image_string))
    assert final.format == "GIF" and final.n_frames == 6  # the greedy walk: 5 steps, plus the reset frame
    assert sorted(p.name for p in (runs / "walk" / "videos").iterdir()) == ["step_1000.gif", "step_2000.gif"]
    with Image.open(runs / "walk" / "videos" / "step_2000.gif") as gif:
        assert gif.n_frames == 6 and gif.info.get("loop") == 0


def test_recording_is_not_training_time(tmp_path, monkeypatch):
    real = run_module.record_episode

    def slow(*args, **kwargs):
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(run_module, "record_episode", slow)
    agent = rlsuite.make_agent("qlearning", "rlsuite/WalkToT-v0", seed=0)
    result = agent.learn(300, run_dir=tmp_path / "run", video_every=100)
    assert len(list((tmp_path / "run" / "videos").iterdir())) == 3
    assert result.summary["wall_s"] < 0.4  # three recordings slept 0.9 s


def test_video_every_needs_rgb_array(tmp_path):
    agent = rlsuite.make_agent("qlearning", "rlsuite/RecyclingRobot-v0", seed=0)
    with pytest.raises(rlsuite.RLSuiteError, match=r"video_every needs .*rgb_array.*RecyclingRobot-v0") as caught:
        agent.learn(100, run_dir=tmp_path / "run", video_every=50)
    assert "\n" not in str(caught.value)


class DeclaredGrid(gym.Env):
    """Six states on a 2 × 3 grid, declared with ``grid_shape``."""

    grid_shape = (2, 3)
    action_names = ("left", "down", "right", "up")
    state_names = ("S(0,0)", "(0,1)", "(0,2)", "(1,0)", "(1,1)", "G(1,2)")

    def __init__(self):
        self.observation_space = gym.spaces.Discrete(6)
        self.action_space = gym.spaces.Discrete(4)


@pytest.mark.parametrize(
    "env, kwargs, grid, kinds",
    [
        ("FrozenLake-v1", {"is_slippery": False}, (4, 4), {5: "hole", 7: "hole", 11: "hole", 12: "hole", 15: "goal"}),
        ("CliffWalking-v1", {}, (4, 12), {**{s: "cliff" for s in range(37, 47)}, 47: "goal"}),
        ("rlsuite/WalkToT-v0", {}, (1, 6), {5: "goal"}),
        ("rlsuite/GridWorld-v0", {}, (5, 5), {}),
        ("rlsuite/GridWorld4x4-v0", {}, (4, 4), {0: "goal", 15: "goal"}),
        ("rlsuite/RecyclingRobot-v0", {}, None, {}),
        (DeclaredGrid(), {}, (2, 3), {5: "goal"}),
    ],
)
def test_which_envs_lie_on_a_grid(env, kwargs, grid, kinds):
    env = rlsuite.make_env(env, **kwargs)
    n_s, n_a = int(env.observation_space.n), int(env.action_space.n)
    layout = layout_of(env, n_s, n_a)
    assert layout.grid == grid and layout.kinds == kinds
    q = np.random.default_rng(0).normal(size=(n_s, n_a))
    assert q_picture(q, layout).dtype == np.uint8
    if grid is not None:
        for picture in (value_picture(q.max(axis=1), layout), policy_picture(q, layout)):
            assert picture.ndim == 3 and picture.shape[2] == 3 and picture.dtype == np.uint8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(base: str, path: str, **query) -> tuple[bytes, str]:
    url = f"{base}{path}?{urllib.parse.urlencode(query)}" if query else f"{base}{path}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read(), response.headers.get("Content-Type", "")


def test_tensorboard_serves_pictures_videos_and_curves(runs):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(runs), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )
    base = f"http://127.0.0.1:{port}/data/plugin"
    try:
        deadline, tags = time.monotonic() + 60, {}
        while not (TABULAR_TAGS <= set(tags.get("lake", {})) and "videos/eval" in tags.get("walk", {})):
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"tensorboard did not serve the runs' images (it served {tags})")
            time.sleep(0.5)
            try:
                tags = json.loads(_get(base, "/images/tags")[0])
            except OSError:
                pass
        for run, tag, mime in [("lake", "tabular/policy", "image/png"), ("walk", "videos/eval", "image/gif")]:
            listing = json.loads(_get(base, "/images/images", run=run, tag=tag)[0])
            data, content_type = _get(base, "/images/individualImage?" + listing[-1]["query"])
            assert content_type.startswith(mime) and Image.open(io.BytesIO(data)).format == mime.split("/")[1].upper()
        curve = json.loads(_get(base, "/scalars/scalars", run="lake", tag="tabular/q_error")[0])
        assert [point[1] for point in curve] == [1000, 2000, 3000]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
