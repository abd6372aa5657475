"""The ALE and MinAtar by id (the atari and minatar extras, installed by make), the standard Atari
preprocessing against Gymnasium's own wrappers, whole games in training, the image networks, and
Gymnasium wrappers by name."""

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

import rlsuite
from rlsuite.core.envspec import make_env
from rlsuite.core.errors import RLSuiteError
from rlsuite.core.wrappers import parse_wrapper
from rlsuite.tools.cli import main


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


# ----------------------------------------------------------------------------------------- ids
@pytest.mark.parametrize(
    "env_id, shape, dtype",
    [
        ("ALE/Pong-v5", (4, 84, 84), np.uint8),
        ("BreakoutNoFrameskip-v4", (4, 84, 84), np.uint8),
        ("MinAtar/Breakout-v1", (10, 10, 4), np.bool_),
    ],
)
def test_ale_and_minatar_ids_resolve(env_id, shape, dtype):
    env = make_env(env_id)
    assert env.observation_space.shape == shape and env.observation_space.dtype == dtype
    obs, _ = env.reset(seed=0)
    assert obs.shape == shape and obs.dtype == dtype
    env.close()


@pytest.mark.parametrize(
    "package, env_id, extra",
    [("ale_py", "ALE/Pong-v5", "atari"), ("minatar", "MinAtar/Breakout-v1", "minatar")],
)
def test_without_the_package_the_id_fails_in_one_line_naming_the_extra(package, env_id, extra):
    failed = run_python(
        f"import sys; sys.modules[{package!r}] = None\n"
        "from rlsuite.tools.cli import main\n"
        f"sys.exit(main(['train', '--env', {env_id!r}, '--agent', 'dqn', '--steps', '10']))"
    )
    lines = failed.stderr.strip().splitlines()
    assert failed.returncode == 2 and len(lines) == 1, failed.stderr
    assert f"pip install 'rlsuite[{extra}]'" in lines[0]


def test_run_names_keep_the_game(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    steps = ["--steps", "30", "--set", "learning_starts=1000", "--set", "buffer_size=200", "--no-progress"]
    assert main(["train", "--env", "MinAtar/Breakout-v1", "--agent", "dqn", *steps, "--set", "eval_episodes=1"]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert run.name.startswith("Breakout-v1-dqn-s0-")
    assert "s evaluating" in capsys.readouterr().out


# ----------------------------------------------------------------------------------------- preprocessing
def gymnasium_atari(env_id):
    """The standard preprocessing written with Gymnasium's own wrappers alone."""
    env = gym.make(env_id, frameskip=1)
    env = gym.wrappers.AtariPreprocessing(env, noop_max=30, frame_skip=4, screen_size=84)
    return gym.wrappers.FrameStackObservation(env, 4)


def test_the_preprocessing_equals_gymnasiums_wrappers_on_a_fixed_seed():
    # MsPacman waits for no FIRE, so both stacks step the same actions from the same seed
    ours, theirs = make_env("ALE/MsPacman-v5"), gymnasium_atari("ALE/MsPacman-v5")
    a, _ = ours.reset(seed=3)
    b, _ = theirs.reset(seed=3)
    np.testing.assert_array_equal(a, b)
    rng = np.random.default_rng(0)
    for _ in range(200):
        action = int(rng.integers(ours.action_space.n))
        a, ra, ta, ua, _ = ours.step(action)
        b, rb, tb, ub, _ = theirs.step(action)
        np.testing.assert_array_equal(a, b)
        assert (ra, ta, ua) == (rb, tb, ub)
    assert a.shape == (4, 84, 84) and a.dtype == np.uint8 and a.any()


def test_games_that_wait_for_fire_get_it_after_reset():
    ours, theirs = make_env("ALE/Breakout-v5"), gymnasium_atari("ALE/Breakout-v5")
    a, _ = ours.reset(seed=5)
    theirs.reset(seed=5)
    for action in (1, 2):  # FIRE, then UP, as the preprocessing presses them
        b, *_ = theirs.step(action)
    for frame in a:  # the first observation is the frame after FIRE and UP, four times
        np.testing.assert_array_equal(frame, b[-1])


def play(env, steps, seed=0):
    """Random play; (rewards, terminations, infos at episode ends)."""
    env.reset(seed=seed)
    env.action_space.seed(seed)
    rewards, ends = [], []
    for _ in range(steps):
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        rewards.append(reward)
        if terminated or truncated:
            ends.append(info)
            env.reset()
    return rewards, ends


def test_a_lost_life_ends_an_episode_in_training_only_and_games_keep_their_raw_score():
    rewards, ends = play(make_env("ALE/Breakout-v5", for_training=True), 800)
    lives = [e for e in ends if e.get("life_lost")]
    games = [e for e in ends if "game_return" in e]
    assert len(lives) >= 4 * len(games) >= 4  # five lives a game: four of them end an episode, the fifth the game
    assert all("game_return" not in e for e in lives)
    assert set(rewards) <= {-1.0, 0.0, 1.0}  # clipped to their sign in training
    rewards, ends = play(make_env("ALE/Breakout-v5"), 800)
    assert ends and not any(e.get("life_lost") for e in ends)  # evaluation plays whole games
    assert all(e["game_length"] > 100 for e in ends)


def test_training_records_whole_games_with_their_raw_scores():
    agent = rlsuite.make_agent("dqn", "ALE/Breakout-v5", seed=0, learning_starts=10**6, buffer_size=100)
    result = agent.learn(700, eval_episodes=1, eval_max_steps=50)
    assert result.episode_returns and sum(result.episode_lengths) <= 700
    assert all(length > 100 for length in result.episode_lengths)  # games of ~170 steps, not lives of ~30
    assert all(float(r).is_integer() and r >= 0 for r in result.episode_returns)


# ----------------------------------------------------------------------------------------- networks
def test_the_nature_network_for_atari_and_the_minatar_network():
    pong = rlsuite.make_agent("dqn", "ALE/Pong-v5", use_preset=False, buffer_size=100)
    backbone = pong.q_net.backbone
    assert backbone.stack == "nature"
    assert sum(p.numel() for p in backbone.parameters()) == 1_684_128  # with the Q head: 1.69 M
    minatar = rlsuite.make_agent("dqn", "MinAtar/Breakout-v1", buffer_size=100)  # the preset: 128 features
    convs = [m for m in minatar.q_net.backbone.modules() if isinstance(m, __import__("torch").nn.Conv2d)]
    assert minatar.q_net.backbone.stack == "minatar" and len(convs) == 1
    assert (convs[0].out_channels, convs[0].kernel_size) == (16, (3, 3)) and minatar.q_net.backbone.out_features == 128


def test_presets_are_picked_by_id_for_every_game():
    for env_id in ("ALE/Pong-v5", "ALE/Breakout-v5", "SeaquestNoFrameskip-v4"):
        preset = rlsuite.agents.preset("dqn", env_id)
        assert preset["steps"] == 10_000_000 and preset["hyperparameters"]["target_update_interval"] == 1000
        assert preset["loop"]["eval_episodes"] == 5
    assert rlsuite.agents.preset("dqn", "MinAtar/SpaceInvaders-v1")["hyperparameters"]["features"] == 128


def test_two_minatar_members_learn_something():
    agent = rlsuite.make_agent(
        "dqn",
        "MinAtar/Breakout-v1",
        seeds=2,
        buffer_size=5000,
        learning_starts=500,
        target_update_interval=500,
        exploration_fraction=0.3,
        learning_rate=1e-3,
        train_freq=1,
    )
    results = agent.learn(4000, eval_episodes=10)
    assert min(r.summary["eval_mean_return"] for r in results) >= 1.0  # random play scores 0.44


# ----------------------------------------------------------------------------------------- wrappers
class DictEnv(gym.Env):
    """Walk right to the end of a 5-cell corridor, observed as a dict."""

    observation_space = spaces.Dict({"pos": spaces.Box(0, 5, (1,), np.float32), "goal": spaces.Discrete(2)})
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = 0
        return self._obs(), {}

    def _obs(self):
        return {"pos": np.array([float(self.x)], np.float32), "goal": 1}

    def step(self, action):
        self.x = max(0, self.x + (1 if action == 1 else -1))
        return self._obs(), (1.0 if self.x >= 5 else -0.01), self.x >= 5, False, {}


def test_a_dict_env_is_refused_with_the_wrapper_to_use_and_trains_through_it(tmp_path, monkeypatch):
    with pytest.raises(RLSuiteError, match=r"--wrapper FlattenObservation"):
        rlsuite.make_agent("dqn", DictEnv())
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "dict_env.py").write_text(
        "from tests.test_atari import DictEnv\n"
        "import gymnasium as gym\n"
        "gym.register('DictCorridor-v0', entry_point=DictEnv, max_episode_steps=50)\n"
    )
    settings = ["--set", "learning_starts=50", "--set", "buffer_size=500", "--set", "net_arch=[16]", "--no-progress"]
    run = tmp_path / "run"
    args = ["train", "--env", "dict_env:DictCorridor-v0", "--agent", "dqn", "--steps", "200", "--run-dir", str(run)]
    assert (
        main([*args, "--wrapper", "FlattenObservation", "--wrapper", "TimeLimit(max_episode_steps=20)", *settings]) == 0
    )
    loaded = rlsuite.load(run, env="dict_env:DictCorridor-v0")
    assert loaded.env_kwargs["wrappers"] == ["FlattenObservation", "TimeLimit(max_episode_steps=20)"]
    assert loaded.observation_space.shape == (3,)  # the position and the one-hot goal


def test_wrapper_specs_are_literals_of_gymnasiums_wrappers():
    assert parse_wrapper("gymnasium.wrappers.TimeLimit(max_episode_steps=5)") == ("TimeLimit", {"max_episode_steps": 5})
    assert parse_wrapper({"RescaleAction": {"min_action": -1, "max_action": 1}})[0] == "RescaleAction"
    with pytest.raises(RLSuiteError, match="literal"):
        parse_wrapper("TimeLimit(max_episode_steps=__import__('os').getpid())")
    with pytest.raises(RLSuiteError, match="unknown wrapper 'os.system'"):
        make_env("CartPole-v1", wrappers=["os.system"])
    with pytest.raises(RLSuiteError, match="did you mean 'FlattenObservation'"):
        make_env("CartPole-v1", wrappers=["FlatenObservation"])


# ----------------------------------------------------------------------------------------- replay
def test_a_stacked_frame_transition_costs_one_frame():
    from rlsuite.learning.memory import transition_bytes

    obs = spaces.Box(0, 255, (4, 84, 84), np.uint8)
    each = transition_bytes(obs, spaces.Discrete(6), frames=True)
    assert each * 1_000_000 <= 7.5e9  # 1 M Atari transitions in 7.1 GB (every observation whole: 28 GB)
    assert transition_bytes(obs, spaces.Discrete(6)) > 3.9 * each


def test_sampled_pairs_are_the_envs_over_lives_games_and_wrap_around():
    from rlsuite.core.streams import Streams
    from rlsuite.learning.framereplay import FrameReplayBuffer, buffer_kind

    envs = [make_env("ALE/Breakout-v5", for_training=True) for _ in range(2)]
    obs = np.stack([env.reset(seed=i)[0] for i, env in enumerate(envs)])
    buffer = FrameReplayBuffer(40, envs[0].observation_space, envs[0].action_space, n_envs=2)
    truth, rng, ends = {}, np.random.default_rng(0), 0
    for _ in range(300):  # the buffer wraps seven times; lives are lost, games end
        actions = rng.integers(4, size=2)
        steps = [env.step(int(a)) for env, a in zip(envs, actions)]
        next_obs = np.stack([s[0] for s in steps])
        terminated, truncated = np.array([s[2] for s in steps]), np.array([s[3] for s in steps])
        buffer.add(obs, actions, np.zeros(2), next_obs, terminated, truncated)
        for e in range(2):
            truth[(buffer.pos - 1) % 40, e] = (obs[e].copy(), next_obs[e].copy())
        ends += int((terminated | truncated).sum())
        obs = np.stack([env.reset()[0] if t or u else o for env, t, u, o in zip(envs, terminated, truncated, next_obs)])
    assert ends >= 4
    saved = buffer.state_arrays()
    again = buffer_kind(saved).from_arrays(saved, envs[0].observation_space, envs[0].action_space)
    assert sum(a.nbytes for a in saved.values()) < 40 * 2 * 84 * 84 * 1.3  # about a frame a transition
    slots = (buffer.pos + 4 + np.arange(36)) % 40  # every slot that is sampled once the buffer is full
    for b in (buffer, again):
        for e in range(2):
            batch = b._gather(slots, np.full(36, e))
            for i, slot in enumerate(slots):
                np.testing.assert_array_equal(batch.obs[i], truth[slot, e][0])
                np.testing.assert_array_equal(batch.next_obs[i], truth[slot, e][1])
    sample = buffer.sample(1, 64, Streams([0]))
    assert sample.obs.shape == (1, 1, 64, 4, 84, 84)
    member = buffer.member_state_arrays(1, 2)
    alone = buffer_kind(member).from_arrays(member, envs[0].observation_space, envs[0].action_space)
    batch = alone._gather(slots, np.zeros(36, int))
    for i, slot in enumerate(slots):
        np.testing.assert_array_equal(batch.next_obs[i], truth[slot, 1][1])


def test_an_atari_checkpoint_is_compact(tmp_path):
    agent = rlsuite.make_agent("dqn", "ALE/Breakout-v5", seed=0, learning_starts=10**6, buffer_size=5000)
    agent.learn(600, run_dir=tmp_path / "run", eval_episodes=1, eval_max_steps=20, save_replay=True)
    (checkpoint,) = sorted((tmp_path / "run" / "checkpoints").iterdir())[-1:]
    assert (checkpoint / "replay.npz").stat().st_size < 600 * 8_000  # a frame a transition: 5 000 in 40 MB
    assert (checkpoint / "agent.json").stat().st_size < 20_000  # the (4, 84, 84) space's bounds are two numbers
    from rlsuite.learning.framereplay import buffer_kind

    with np.load(checkpoint / "replay.npz", allow_pickle=False) as saved:
        buffer = buffer_kind(saved).from_arrays(dict(saved), agent.observation_space, agent.action_space)
    assert type(buffer).__name__ == "FrameReplayBuffer" and len(buffer) == 600
    again = rlsuite.make_agent("dqn", "ALE/Breakout-v5", seed=0, learning_starts=10**6, buffer_size=5000)
    again.learn(700, run_dir=tmp_path / "run", resume=True, eval_episodes=1, eval_max_steps=20)
    assert len(again.buffer) == 700  # the saved frames went on


def test_wrappers_apply_to_an_env_instance_too():
    agent = rlsuite.make_agent(
        "dqn",
        DictEnv(),
        env_kwargs={"wrappers": ["FlattenObservation", "TimeLimit(max_episode_steps=20)"]},
        learning_starts=20,
        buffer_size=200,
        net_arch=[8],
    )
    result = agent.learn(100, eval_episodes=1)
    assert agent.observation_space.shape == (3,) and max(result.episode_lengths) <= 20


def test_frames_reach_the_network_as_bytes_and_acting_is_one_forward():
    agent = rlsuite.make_agent("dqn", "ALE/Breakout-v5", seeds=2, learning_starts=40, buffer_size=200, train_freq=1)
    seen = []
    agent.q_net.backbone.register_forward_pre_hook(lambda module, args: seen.append((args[0].dtype, args[0].shape)))
    agent.learn(60, n_envs=2, eval_episodes=1, eval_max_steps=5)
    acting = [shape for dtype, shape in seen if shape[1] == 2]  # (K, n_envs, 4, 84, 84): all envs in one forward
    training = [shape for dtype, shape in seen if shape[1] == agent.config.batch_size]
    assert acting and training and all(dtype == torch.uint8 for dtype, _ in seen)  # scaled inside the network


def test_a_presets_env_wrapper_applies_unless_the_user_gives_wrappers(monkeypatch):
    monkeypatch.setattr(rlsuite.agents, "preset", lambda agent, env: {"env_wrapper": ["FlattenObservation"]})
    agent = rlsuite.make_agent("dqn", DictEnv(), buffer_size=100)
    assert agent.env_kwargs["wrappers"] == ["FlattenObservation"] and agent.observation_space.shape == (3,)
    with pytest.raises(RLSuiteError, match="--wrapper FlattenObservation"):
        rlsuite.make_agent("dqn", DictEnv(), env_kwargs={"wrappers": ["TimeLimit(max_episode_steps=5)"]})


def test_stable_baselines3_takes_minatar_with_its_mlp_and_its_refusals_are_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["train", "--env", "MinAtar/Breakout-v1", "--agent", "sb3:DQN", "--steps", "60", "--no-progress"]
    assert main([*args, "--set", "learning_starts=30", "--set", "eval_episodes=1"]) == 0
    assert main([*args, "--set", "policy=CnnPolicy"]) == 2  # SB3's NatureCNN takes no boolean frames
    error = [line for line in capsys.readouterr().err.splitlines() if line.startswith("rlsuite: error")]
    assert len(error) == 1 and error[0].endswith(
        "NatureCNN only with images not with Box(False, True, (10, 10, 4), bool)"
    )
