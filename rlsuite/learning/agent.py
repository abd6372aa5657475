"""The agent base class: what the loop calls, what a checkpoint holds, and the user's API.

An agent turns observations into actions and transitions into updates; it never steps an
environment and never writes a log. It returns metrics, and the loop logs them. A subclass
declares its hyperparameters as the type argument (``class DQN(OffPolicyAgent[DQNConfig])``),
the state a checkpoint must hold — arrays in :meth:`~Trainable.state_parts`, counters in
:meth:`Agent.shared_state`, per-env rows in :meth:`Agent.env_row_state` — and writes
:meth:`Agent.act` and :meth:`Agent.observe`; everything else here is shared.

The loop drives the agent from outside, through these calls only: ``begin`` (the run's length,
an env like the training envs, the step it starts from), ``act``, ``observe`` and the hooks the run
reads (``logged_scalars``, ``summary_metrics``, ``logged_images``). It never sets an attribute of
the agent. Members are the framework's business: an agent is written for K members through
stacked networks or arrays with the member axis first, and this class saves and loads each
member's part of the state it declares.
"""

from __future__ import annotations

import dataclasses
import typing
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

import gymnasium as gym
import numpy as np

from rlsuite.core.config import build_config
from rlsuite.core.envspec import EnvSpec, env_name
from rlsuite.core.errors import RLSuiteError
from rlsuite.core.streams import Streams, check_seed
from rlsuite.core.transition import Transition
from rlsuite.driver.checkpoint import load_parts, parts_to_arrays, save_agent
from rlsuite.driver.loop import train
from rlsuite.driver.memberstate import load_member_arrays, member_arrays
from rlsuite.driver.settings import LoopSettings

ConfigT = TypeVar("ConfigT")
#: at most this many members in one run (a thousand tabular seeds is a normal use)
MAX_MEMBERS = 100_000


def check_seeds(seeds: Any) -> list[int]:
    """``seeds`` as a list of distinct whole numbers >= 0, or one line saying what is wrong."""
    if isinstance(seeds, (int, np.integer)) or isinstance(seeds, (str, bytes)):
        raise RLSuiteError(
            f"seeds={seeds!r} must be a list of seeds, e.g. seeds=[0, 1, 2]; make_agent(..., seeds=K) takes a count."
        )
    out = []
    for s in seeds:
        out.append(check_seed(s))
    if not out or len(out) > MAX_MEMBERS:
        raise RLSuiteError(f"a run needs 1 to {MAX_MEMBERS:,} seeds, not {len(out)}.")
    if len(set(out)) != len(out):
        twice = sorted({s for s in out if out.count(s) > 1})
        raise RLSuiteError(f"seeds {twice} appear more than once; each member needs its own seed.")
    return out


class Trainable(ABC):
    """What rlsuite trains, checkpoints and evaluates: an rlsuite :class:`Agent`, or a
    Stable-Baselines3 algorithm run through rlsuite (integrations/sb3.py). A checkpoint holds its
    :meth:`state_parts` (arrays) and :meth:`extra_state` (JSON); saving and loading are generic."""

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    spaces_doc: ClassVar[str] = ""

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        seed: int = 0,
        env: EnvSpec | None = None,
        env_kwargs: dict[str, Any] | None = None,
        seeds: Sequence[int] | None = None,
    ) -> None:
        self.observation_space = observation_space
        self.action_space = action_space
        self.seeds = check_seeds(seeds if seeds is not None else [seed])
        self.seed = self.seeds[0]
        self.n_members = len(self.seeds)
        self.env = env
        self.env_kwargs = dict(env_kwargs or {})
        self.num_timesteps = 0

    @classmethod
    @abstractmethod
    def supports(cls, observation_space: gym.Space, action_space: gym.Space) -> str | None:
        """None if this handles these spaces, else a short reason why not."""

    @classmethod
    @abstractmethod
    def make_config(cls, values: dict[str, Any]) -> Any:
        """The validated hyperparameters from a user's ``values``."""

    @abstractmethod
    def hyperparameters(self) -> dict[str, Any]:
        """The hyperparameters as plain values (config.yaml, checkpoints, TensorBoard)."""

    @abstractmethod
    def predict(self, obs: Any, deterministic: bool = True, action_mask: np.ndarray | None = None) -> Any:
        """The action for one observation (or a batch), as Stable-Baselines3's predict returns it."""

    @abstractmethod
    def learn(
        self,
        total_steps: int,
        run_dir: str | Path | None = None,
        resume: bool = False,
        progress: bool = False,
        **loop_settings: Any,
    ):
        """Train for ``total_steps`` env steps; logs, checkpoints and a summary go to ``run_dir``."""

    def logged_scalars(self) -> dict[str, Any]:
        """Scalars logged at every logging interval (the exploration rate, an error against the
        exact solution, ...): a number shared by all members, or an array with one per member."""
        return {}

    def summary_metrics(self) -> dict[str, Any]:
        """Figures of its own for each member's ``summary.json`` (numbers, or one per member)."""
        return {}

    def logged_images(self, member: int = 0) -> dict[str, np.ndarray]:
        """Member ``member``'s pictures (HxWx3 uint8 arrays, by TensorBoard tag) logged at the logging
        intervals, unless the loop setting ``log_images`` is off. Drawing them should take a few
        milliseconds at most: the run gives pictures PICTURE_SHARE (2 %) of the training time and leaves
        them out of the logs past it."""
        return {}

    # ----- members ----------------------------------------------------------------------------
    @property
    def members(self) -> list[Trainable]:
        """One single-seed agent per member, in seed order (see :meth:`member`)."""
        return [self.member(k) for k in range(self.n_members)]

    def single(self) -> Trainable:
        """This one-member agent (a run evaluates, records and checkpoints what this returns)."""
        return self.member(0)

    def member(self, k: int) -> Trainable:
        """Member ``k`` as a single-seed agent of its own: ``predict``, ``save``, ``rlsuite.evaluate``
        work on it. With one member that is this agent; with several it is a copy of member k's state
        as it is now (training the stacked agent further does not change it)."""
        if k != 0 or self.n_members != 1:
            raise RLSuiteError(f"member k={k!r} is not one of the {self.n_members} members 0..{self.n_members - 1}.")
        return self

    # ----- persistence ----------------------------------------------------------------------
    @abstractmethod
    def state_parts(self) -> dict[str, Any]:
        """What a checkpoint holds, by name: torch modules, torch optimizers and numpy arrays
        (restored in place). Saving and loading are generic from this."""

    def state_tensors(self) -> dict[str, np.ndarray]:
        """Every array of :meth:`state_parts` by name."""
        return parts_to_arrays(self.state_parts())

    def load_state_tensors(self, tensors: dict[str, np.ndarray]) -> None:
        load_parts(self.state_parts(), tensors)

    def extra_state(self) -> dict[str, Any]:
        """JSON-serialisable state besides the arrays (counters, RNG states)."""
        return {"num_timesteps": self.num_timesteps}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.num_timesteps = int(state.get("num_timesteps", 0))

    def replay_arrays(self) -> dict[str, np.ndarray] | None:
        """The replay buffer's arrays for a resumable checkpoint (None without one)."""
        return None

    def load_replay_arrays(self, arrays: dict[str, np.ndarray]) -> None:  # noqa: B027 (nothing to restore by default)
        """Restore what :meth:`replay_arrays` returned."""

    def save(self, path: str | Path) -> Path:
        """Write to the directory ``path`` (safetensors + JSON, no pickle)."""
        return save_agent(self, Path(path))

    def __repr__(self) -> str:
        env = env_name(self.env) if self.env is not None else "?"
        return f"{type(self).__name__}(env={env!r}, seed={self.seed}, {self.hyperparameters()})"


class Agent(Trainable, Generic[ConfigT]):
    """An rlsuite algorithm: validated hyperparameters (``self.config``), a seeded RNG, and the
    hooks the loop calls."""

    Config: ClassVar[type]  # taken from the type argument: Agent[TabularConfig] -> TabularConfig

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in cls.__dict__.get("__orig_bases__", ()):  # its own, not a parent's
            args = typing.get_args(base)
            if args and dataclasses.is_dataclass(args[0]):
                cls.Config = args[0]

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        config: ConfigT | None = None,
        seed: int = 0,
        env: EnvSpec | None = None,
        env_kwargs: dict[str, Any] | None = None,
        seeds: Sequence[int] | None = None,
    ) -> None:
        super().__init__(observation_space, action_space, seed, env, env_kwargs, seeds)
        self.config: ConfigT = config if config is not None else self.Config()
        self.rng = Streams(self.seeds)  # one random stream per member, drawn together
        self.total_steps = 1

    # ----- what the loop calls -------------------------------------------------------------
    @classmethod
    def make_config(cls, values: dict[str, Any]) -> ConfigT:
        return build_config(cls.Config, values, owner=cls.name)

    def hyperparameters(self) -> dict[str, Any]:
        return dataclasses.asdict(self.config)

    def begin(self, total_steps: int, env: gym.Env | None = None, step: int | None = None) -> None:
        """Called once before training with the run's length, an env like the training envs (for
        agents that compare themselves against something the env knows, such as its ``P``) and the
        step the run starts from (a resumed run's; None keeps the agent's count)."""
        self.total_steps = max(int(total_steps), 1)
        if step is not None:
            self.num_timesteps = int(step)

    @abstractmethod
    def act(self, obs: np.ndarray, mask: np.ndarray | None, explore: bool = True) -> np.ndarray:
        """Actions for a batch of observations (one per env): exploratory while training
        (``explore``), the learned policy's otherwise. ``mask`` (one row per observation) marks
        the allowed actions."""

    @abstractmethod
    def observe(self, batch: Transition) -> dict[str, float] | None:
        """Learn from one batched transition; return metrics to log, or None."""

    # ----- the user's API -------------------------------------------------------------------
    def predict(self, obs: Any, deterministic: bool = True, action_mask: np.ndarray | None = None) -> Any:
        batch, single = self._as_batch(obs)
        n = len(batch[0]) if isinstance(batch, tuple) else len(batch)
        if n % self.n_members:
            raise RLSuiteError(
                f"this agent holds {self.n_members} members, so predict takes a multiple of "
                f"{self.n_members} observations (member by member), not {n}; or predict with one "
                "member: agent.members[k].predict(obs)."
            )
        mask = None if action_mask is None else np.asarray(action_mask).reshape(n, -1)
        actions = self.act(batch, mask, explore=not deterministic)
        if not single:
            return actions
        return actions[0].item() if np.ndim(actions[0]) == 0 else actions[0]

    def _as_batch(self, obs: Any) -> tuple[Any, bool]:
        """(a batch of observations, whether ``obs`` was a single one)."""
        if isinstance(self.observation_space, gym.spaces.Tuple):
            single = np.ndim(obs[0]) == 0
            return (tuple(np.array([o]) for o in obs) if single else obs), single
        obs = np.asarray(obs)
        single = obs.shape == (self.observation_space.shape or ())
        return (obs[None] if single else obs), single

    def learn(
        self,
        total_steps: int,
        run_dir: str | Path | None = None,
        resume: bool = False,
        progress: bool = False,
        **loop_settings: Any,
    ):
        settings = LoopSettings.build({**loop_settings, "progress": progress})
        return train(self, total_steps, run_dir=run_dir, settings=settings, resume=resume)

    # ----- members ----------------------------------------------------------------------------
    def member(self, k: int) -> Agent:
        if self.n_members == 1:
            return super().member(k)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < self.n_members:
            raise RLSuiteError(f"member k={k!r} is not one of the {self.n_members} members 0..{self.n_members - 1}.")
        single = self.blank_member(k)
        single.total_steps = self.total_steps
        single.load_state_tensors(member_arrays(self.state_parts(), k, self.n_members))
        single.load_extra_state(self.member_extra_state(k))
        replay = self.member_replay_arrays(k)
        if replay is not None:
            single.load_replay_arrays(replay)
        return single

    def blank_member(self, k: int) -> Agent:
        """A new single-seed agent for member k (its seed, this config; freshly initialised)."""
        return type(self)(
            self.observation_space,
            self.action_space,
            self.config,
            seeds=[self.seeds[k]],
            env=self.env,
            env_kwargs=self.env_kwargs,
        )

    def load_member(self, k: int, single: Agent) -> None:
        """Put the single-seed agent ``single`` (e.g. restored from member k's checkpoint) in as member k."""
        load_member_arrays(self.state_parts(), k, self.n_members, single.state_tensors())
        self.load_member_extra_state(k, single.extra_state())
        replay = single.replay_arrays()
        if replay is not None:
            self.load_member_replay_arrays(k, replay)

    def member_extra_state(self, k: int) -> dict[str, Any]:
        """Member k's part of :meth:`extra_state`: the shared counters, its random stream, its env rows."""
        rows = {
            name: None if a is None else a[self._rows_of_member(k, len(a))].tolist()
            for name, a in self.env_row_state().items()
        }
        return {**self.shared_state(), "rng": self.rng.member(k).state(), **rows}

    def load_member_extra_state(self, k: int, state: dict[str, Any]) -> None:
        self.load_shared_state(state)
        rng = state.get("rng")
        if isinstance(rng, dict) and isinstance(rng.get("counters"), list) and len(rng["counters"]) == 1:
            self.rng.set_counter(k, int(rng["counters"][0]))
        rows = {}
        for name, now in self.env_row_state().items():
            if state.get(name) is None:
                rows[name] = now
                continue
            mine = np.asarray(state[name])
            if now is None or len(now) != len(mine) * self.n_members:  # the others' rows come with their checkpoints
                now = np.zeros((len(mine) * self.n_members, *mine.shape[1:]), dtype=mine.dtype)
            now[self._rows_of_member(k, len(now))] = mine
            rows[name] = now
        self.load_env_row_state(rows)

    def _rows_of_member(self, k: int, n_rows: int) -> slice:
        per_member = n_rows // self.n_members
        return slice(k * per_member, (k + 1) * per_member)

    def member_replay_arrays(self, k: int) -> dict[str, np.ndarray] | None:
        """Member k's replay data, as a single-seed agent holds it (None without replay)."""
        return None

    def load_member_replay_arrays(self, k: int, arrays: dict[str, np.ndarray]) -> None:
        """Put a single-seed agent's replay data in as member k's."""

    # ----- persistence ----------------------------------------------------------------------
    def shared_state(self) -> dict[str, Any]:
        """JSON state that all members share (step counters); subclasses add theirs to ``super()``'s."""
        return {"num_timesteps": self.num_timesteps}

    def load_shared_state(self, state: dict[str, Any]) -> None:
        self.num_timesteps = int(state.get("num_timesteps", 0))

    def env_row_state(self) -> dict[str, np.ndarray | None]:
        """State with one row per env, K × n_envs rows member by member (a noise process, the next
        actions of an on-policy agent), None where there is none yet; each member's rows go in its
        checkpoint."""
        return {}

    def load_env_row_state(self, rows: dict[str, np.ndarray | None]) -> None:
        """Take back what :meth:`env_row_state` returned (arrays of all K members' rows)."""

    def extra_state(self) -> dict[str, Any]:
        rows = {name: None if a is None else a.tolist() for name, a in self.env_row_state().items()}
        return {**self.shared_state(), "rng": self.rng.state(), **rows}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.load_shared_state(state)
        if "rng" in state:
            self.rng.load_state(state["rng"])
        self.load_env_row_state(
            {name: None if state.get(name) is None else np.asarray(state[name]) for name in self.env_row_state()}
        )

    def __repr__(self) -> str:
        env = env_name(self.env) if self.env is not None else "?"
        seeds = f"seed={self.seed}" if self.n_members == 1 else f"seeds={self.seeds}"
        return f"{type(self).__name__}(env={env!r}, {seeds}, {self.config})"
