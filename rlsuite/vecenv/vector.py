"""The environments the training loop steps, each checked against the Gymnasium API.

``n_envs > 1`` uses Gymnasium's ``SyncVectorEnv`` with same-step autoreset and its vector
``RecordEpisodeStatistics``. With one env (the default) the loop steps
:class:`SingleEnvVector`, which speaks the same vector-env protocol for a batch of one but
skips the per-step info merging that costs SyncVectorEnv about 20 µs a step, several times
the cost of a toy-text env's own step.

Every env is wrapped in :class:`ProtocolCheck`: an env that breaks the Gymnasium API (``reset``
not returning ``(obs, info)``, ``step`` not a 5-tuple, a reward that is no scalar, an info that
is no dict, an observation that does not fit the observation space) stops the run with one line
naming the env and the step, instead of a traceback from deep inside numpy or the agent.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import batch_space

from rlsuite.core.envspec import env_name
from rlsuite.core.errors import RLSuiteError, one_line
from rlsuite.core.streams import stream_key

# the types a well-behaved env returns: these pass with a type comparison each
_REWARDS = frozenset({float, int, np.float64, np.float32, np.int64})
_FLAGS = frozenset({bool, np.bool_})
_INTS = frozenset({int, np.int64})
_GYMNASIUM_DIR = os.path.dirname(gym.__file__) + os.sep
_EXPECTED = {
    "reset()": "reset() to return (obs, info) with info a dict",
    "step()": "step() to return (obs, reward, terminated, truncated, info): a scalar reward, "
    "bool flags and a dict info",
}
_warned: set[tuple[str, str, str]] = set()


def _describe(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} items"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"a value of type {type(value).__name__}"


class ProtocolCheck(gym.Wrapper):
    """Checks every ``reset`` and ``step`` of an env against the Gymnasium API.

    The common path is a few type comparisons per step. An observation whose dtype casts safely
    to the space's (float64 for a float32 ``Box``, as Gymnasium's own checker warns about) is
    cast, with one warning; anything else the API does not allow is one :class:`RLSuiteError`
    line naming the env, the step and what Gymnasium expects.
    """

    def __init__(self, env: gym.Env, name: str | None = None) -> None:
        super().__init__(env)
        self.name = name or env_name(env)
        self.steps = 0  # step() calls so far; the training loop sets it on resume
        self.rng_before_reset: dict[str, Any] | None = None  # the generator's state before the last unseeded reset
        space = env.observation_space
        self._space = space
        self._shape, self._dtype = space.shape, space.dtype
        if isinstance(space, spaces.Discrete):
            self._kind = "int"
        elif isinstance(space, (spaces.Tuple, spaces.Dict)):
            self._kind = type(space).__name__.lower()
        elif space.shape is not None and space.dtype is not None:
            self._kind = "array"
        else:  # Text, Graph, ...: not checked
            self._kind = "any"
        self._fits = getattr(self, f"_fits_{self._kind}")
        # K members stacked: the loop gives each env a list to report its failure into (isolate), and an env
        # that raises then fails its member only: it reports, and from then on repeats its last observation
        self.isolate: list[tuple[ProtocolCheck, str]] | None = None
        self.failure: str | None = None
        self._last_obs: Any = None

    # ----- the common path ----------------------------------------------------------------------
    def _fits_array(self, obs: Any) -> bool:
        return type(obs) is np.ndarray and obs.dtype is self._dtype and obs.shape == self._shape

    def _fits_int(self, obs: Any) -> bool:
        return type(obs) in _INTS

    def _fits_tuple(self, obs: Any) -> bool:
        return type(obs) is tuple and len(obs) == len(self._space.spaces)

    def _fits_dict(self, obs: Any) -> bool:
        return isinstance(obs, dict) and obs.keys() == self._space.spaces.keys()

    def _fits_any(self, obs: Any) -> bool:
        return True

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if self.isolate is None:
            return self._reset(seed, options)
        if self.failure is None:
            try:
                self._last_obs, info = self._reset(seed, options)
                return self._last_obs, info
            except Exception as exc:
                self._fail(exc, "reset()")
        return self._last_obs, {}

    def step(self, action: Any):
        if self.isolate is None:
            return self._step(action)
        if self.failure is None:
            try:
                result = self._step(action)
                self._last_obs = result[0]
                return result
            except Exception as exc:
                self._fail(exc, "step()")
        return self._last_obs, 0.0, False, True, {}  # an episode cut at each step: its member learns no more

    def _fail(self, exc: Exception, call: str) -> None:
        """Record this env's error as its member's failure, in one line (raised where there is nothing to repeat)."""
        if self._last_obs is None or self.isolate is None:
            raise exc
        text = (str(exc).strip().splitlines() or [""])[0]
        self.failure = one_line(
            text
            if isinstance(exc, RLSuiteError)
            else f"env {self.name!r} raised {type(exc).__name__} in {call} at step {self.steps}: {text}"
        )
        self.isolate.append((self, self.failure))

    def _reset(self, seed: int | None, options: dict[str, Any] | None):
        if seed is None:  # kept so a checkpoint taken at this episode boundary can replay the reset on resume
            self.rng_before_reset = self.env.unwrapped.np_random.bit_generator.state  # a fresh dict
        try:
            result = self.env.reset(seed=seed, options=options)
        except (AssertionError, ValueError, TypeError, gym.error.Error) as exc:
            fault = self._gymnasium_fault(exc, "reset()")
            if fault is None:
                raise
            raise fault from None
        if type(result) is not tuple or len(result) != 2:
            raise self._fault("reset()", _describe(result))
        obs, info = result
        if not isinstance(info, dict):
            raise self._fault("reset()", f"an info that is {_describe(info)}")
        return (obs if self._fits(obs) else self._observation(obs, "reset()")), info

    def _step(self, action: Any):
        self.steps += 1
        try:
            result = self.env.step(action)
        except (AssertionError, ValueError, TypeError, gym.error.Error) as exc:
            fault = self._gymnasium_fault(exc, "step()")
            if fault is None:
                raise
            raise fault from None
        if type(result) is tuple and len(result) == 5:
            obs, reward, terminated, truncated, info = result
            if (
                type(reward) in _REWARDS
                and type(terminated) in _FLAGS
                and type(truncated) in _FLAGS
                and type(info) is dict
                and self._fits(obs)
            ):
                return result
        return self._checked_step(result)

    # ----- everything else ----------------------------------------------------------------------
    def _fault(self, call: str, what: str) -> RLSuiteError:
        return RLSuiteError(
            f"env {self.name!r} broke the Gymnasium API at step {self.steps}: {call} returned {what}; "
            f"Gymnasium expects {_EXPECTED[call]}, and observations that fit {self._space}."
        )

    def _gymnasium_fault(self, exc: BaseException, call: str) -> RLSuiteError | None:
        """An error raised inside Gymnasium's own wrappers or checker (which sit between this and the
        env) as one line; None for an error from the env's own code, which is raised as it is."""
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is None or not tb.tb_frame.f_code.co_filename.startswith(_GYMNASIUM_DIR):
            return None
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return RLSuiteError(
            f"env {self.name!r} broke the Gymnasium API at step {self.steps}: Gymnasium stopped its "
            f"{call} ({text}); Gymnasium expects {_EXPECTED[call]}."
        )

    def _checked_step(self, result: Any):
        if not isinstance(result, tuple) or len(result) != 5:
            raise self._fault("step()", _describe(result))
        obs, reward, terminated, truncated, info = result
        if isinstance(reward, np.ndarray) and reward.ndim == 0 and reward.dtype.kind in "biuf":
            reward = reward.item()
        if not isinstance(reward, (int, float, np.integer, np.floating)):
            raise self._fault("step()", f"a reward that is {_describe(reward)}")
        flags = []
        for label, flag in (("terminated", terminated), ("truncated", truncated)):
            if isinstance(flag, np.ndarray) and flag.ndim == 0:
                flag = flag.item()
            if not isinstance(flag, (bool, np.bool_, int, np.integer)) or flag not in (0, 1):
                raise self._fault("step()", f"{label}={flag!r:.40}")
            flags.append(bool(flag))
        if not isinstance(info, dict):
            raise self._fault("step()", f"an info that is {_describe(info)}")
        obs = obs if self._fits(obs) else self._observation(obs, "step()")
        return obs, reward, flags[0], flags[1], info

    def _observation(self, obs: Any, call: str) -> Any:
        """``obs`` cast to the space's dtype where that is safe; else one line."""
        if self._kind == "int":
            if isinstance(obs, (int, np.integer)) or (
                isinstance(obs, np.ndarray) and obs.shape == () and obs.dtype.kind in "iu"
            ):
                return int(obs)
            raise self._fault(call, f"an observation that is {_describe(obs)}")
        if self._kind != "array":
            raise self._fault(call, f"an observation that is {_describe(obs)}")
        array = obs if isinstance(obs, np.ndarray) else np.asarray(obs)
        if obs is None or array.shape != self._shape:
            raise self._fault(call, f"an observation that is {_describe(array if obs is not None else obs)}")
        if array.dtype != self._dtype:
            if array.dtype.kind in "OSUV" or not np.can_cast(array.dtype, self._dtype, "same_kind"):
                raise self._fault(call, f"{array.dtype} observations, which do not cast safely to {self._dtype}")
            key = (self.name, str(array.dtype), str(self._dtype))
            if key not in _warned:
                _warned.add(key)
                warnings.warn(
                    f"env {self.name!r} returns {array.dtype} observations for its {self._dtype} "
                    f"observation space; rlsuite casts them to {self._dtype} (return {self._dtype} arrays, "
                    "or declare the space's dtype, to stop this).",
                    UserWarning,
                    stacklevel=3,
                )
            array = array.astype(self._dtype)
        return array


class SingleEnvVector(gym.vector.VectorEnv):
    """One env as a same-step-autoreset vector env of size 1, with Gymnasium's episode statistics.

    Returns what ``RecordEpisodeStatistics(SyncVectorEnv([make], autoreset_mode=SAME_STEP))``
    returns: batched observations, rewards and flags; ``final_obs``/``final_info`` and
    ``episode`` = {"r", "l"} in the infos of a step that ends an episode. The episode
    statistics are counted here, as ``RecordEpisodeStatistics`` counts them, to keep the step short.
    """

    metadata = {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}

    def __init__(self, make: Callable[[], gym.Env], name: str | None = None) -> None:
        self.env = ProtocolCheck(make(), name)
        self.num_envs = 1
        self.single_observation_space = self.env.observation_space
        self.single_action_space = self.env.action_space
        self.observation_space = batch_space(self.single_observation_space, 1)
        self.action_space = batch_space(self.single_action_space, 1)
        self._tuple_obs = isinstance(self.single_observation_space, spaces.Tuple)
        self._true = np.ones(1, dtype=bool)
        self._false = np.zeros(1, dtype=bool)
        self._return, self._length = 0.0, 0

    def _batch(self, obs: Any) -> Any:
        if self._tuple_obs:
            return tuple(np.array([o]) for o in obs)
        return np.asarray(obs)[None]

    def _batch_info(self, info: dict[str, Any]) -> dict[str, Any]:
        if info.keys() == {"action_mask"}:  # the common case, without the generic merge
            return {"action_mask": info["action_mask"][None], "_action_mask": self._true}
        return self._add_info({}, info, 0) if info else {}

    def _reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._return, self._length = 0.0, 0
        return obs, info

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        if isinstance(seed, list):
            seed = seed[0]
        if options and "reset_mask" in options:  # the one env is the one to reset
            options = {k: v for k, v in options.items() if k != "reset_mask"} or None
        obs, info = self._reset(seed, options)
        return self._batch(obs), self._batch_info(info)

    def step(self, actions):
        obs, reward, terminated, truncated, info = self.env.step(actions[0])
        self._return += reward
        self._length += 1
        if terminated or truncated:
            episode = {"r": np.array([self._return]), "l": np.array([self._length])}
            final_obs = np.empty(1, dtype=object)
            final_obs[0] = obs
            final_info = self._batch_info(info)
            obs, info = self._reset()
            infos = self._batch_info(info)
            infos.update(
                final_obs=final_obs,
                _final_obs=self._true,
                final_info=final_info,
                _final_info=self._true,
                episode=episode,
                _episode=self._true,
            )
        else:
            infos = self._batch_info(info)
        return (
            self._batch(obs),
            np.array([reward], dtype=np.float64),
            self._true if terminated else self._false,
            self._true if truncated else self._false,
            infos,
        )

    def close_extras(self, **kwargs: Any) -> None:
        self.env.close()


def single_envs(envs: gym.vector.VectorEnv) -> list[ProtocolCheck]:
    """The checked single envs inside a vector env of :func:`make_vector_env` (none in a P simulator)."""
    if isinstance(envs, SingleEnvVector):
        return [envs.env]
    return list(getattr(envs.unwrapped, "envs", []))


def replay_resets(envs: gym.vector.VectorEnv, seeds: list[int | None], states: dict[int, dict[str, Any]]) -> None:
    """Make the resets of the envs at ``states``' rows those a checkpointed run did at an episode
    boundary: each env's generator goes back to its state then and its seed becomes None."""
    singles = single_envs(envs)
    for i, state in states.items():
        try:
            singles[i].unwrapped.np_random.bit_generator.state = state
        except (TypeError, ValueError, KeyError) as exc:
            raise RLSuiteError(
                f"the checkpoint's loop.rng_before_reset is not a valid generator state ({exc}); "
                "resume from another checkpoint."
            ) from None
        seeds[i] = None


def env_seeds(seeds: list[int], n_envs: int, offset: int = 0) -> list[int]:
    """The reset seeds of n_envs envs per member, member by member: a member's first env gets its
    seed (+ ``offset``, the run's step on resume), its others seeds derived from it by
    ``SeedSequence`` — never another member's seed + i."""
    out = []
    for seed in seeds:
        out.append(seed + offset)
        out.extend((stream_key(seed, j) + offset) % 2**32 for j in range(1, n_envs))
    return out


def _deterministic(tables: Any) -> bool:
    """Does this MDP have one start state and one outcome per (s, a)? (Then stepping it by ``P`` gives
    the real env's trajectories, whatever the random streams.)"""
    starts = np.count_nonzero(np.diff(tables.initial_cdf, prepend=0.0))
    return starts == 1 and bool(np.all(tables.prob.max(axis=-1) == 1.0))


def make_vector_env(
    make: Callable[[], gym.Env], n_envs: int, name: str | None = None, simulate: bool | str = True
) -> gym.vector.VectorEnv:
    """``n_envs`` copies of ``make()`` with same-step autoreset and episode statistics, each checked
    by :class:`ProtocolCheck` (``name`` names the env in its messages). Copies of an env that steps
    exactly by its ``P`` table (Gymnasium's toy text, rlsuite's envs) are one
    :class:`~rlsuite.vecenv.psim.PVectorEnv`, one copy or many, so a member's run is the same alone
    or beside others; ``simulate="deterministic"`` only where that gives the real env's trajectories
    (evaluation: its numbers are those of ``rlsuite.evaluate``), False never."""
    if simulate:
        from rlsuite.vecenv.psim import p_vector_env

        simulated = p_vector_env(make, n_envs, name)  # a finite MDP stepped from its P: one numpy step for all envs
        # a deterministic MDP steps the same either way: one copy of it is quicker stepped for real
        exact = simulated is not None and _deterministic(simulated.tables)
        if simulated is not None and (simulate is True or exact) and not (exact and n_envs == 1):
            return simulated
    if n_envs == 1:
        return SingleEnvVector(make, name)

    def checked() -> gym.Env:
        return ProtocolCheck(make(), name)

    envs = gym.vector.SyncVectorEnv([checked] * n_envs, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    return gym.wrappers.vector.RecordEpisodeStatistics(envs)
