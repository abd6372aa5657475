"""Independent random streams, one per member (or env), drawn together in one numpy operation.

A run of K seeds needs K random streams that do not depend on each other: seed 3's draws
must be the same whether it trains beside seed 7 or beside seed 11. K numpy Generators would
give that, at one Python call per member per draw, which is most of a step's time for a
thousand tabular seeds. :class:`Streams` gives it at one numpy operation for all K:
stream k is SplitMix64 (Steele, Lea & Flood, 2014) started from a 64-bit key that
``numpy.random.SeedSequence(seed_k)`` derives from its seed, and its n-th number is
``mix(key + n * golden)``. So the n-th draw of a stream is a function of its key and n alone,
streams of different seeds start 2^64-spaced keys apart at random (no ``seed + i``
sub-streams that overlap), and the state of a stream is one counter.

Rows are member-major: ``random((n, m))`` with n = K * r gives member k rows
``k*r .. (k+1)*r - 1``, drawn from its own stream; each member's counter advances by r * m.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from rlsuite.core.errors import RLSuiteError

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 1.0 / (1 << 53)
_AHEAD = 1 << 18  # uniforms drawn ahead at most, over all members


def stream_key(seed: int, *spawn: int) -> int:
    """The 64-bit key of the stream of ``seed`` (and of a child stream ``spawn``, e.g. an env's index)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise RLSuiteError(f"seed={seed!r} must be a whole number >= 0.")
    sequence = np.random.SeedSequence(int(seed), spawn_key=tuple(int(s) for s in spawn))
    return int(sequence.generate_state(1, np.uint64)[0])


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's output function, on uint64 arrays (wrapping arithmetic)."""
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


def below(u: np.ndarray, high: Any) -> np.ndarray:
    """Uniforms ``u`` in [0, 1) as whole numbers in [0, high) (``high`` broadcasts against ``u``)."""
    return np.minimum((u * high).astype(np.int64), np.asarray(high) - 1)


class Streams:
    """K independent streams of uniform, normal and integer draws; see the module's text."""

    _ahead: np.ndarray | None = None  # uniforms drawn ahead: (K, block), from the counters at the time
    _used = 0

    def __init__(self, seeds: Sequence[int], spawn: Sequence[int] = ()) -> None:
        self.seeds = [int(s) for s in seeds]
        if not self.seeds:
            raise RLSuiteError("Streams needs at least one seed.")
        self.keys = np.array([stream_key(s, *spawn) for s in self.seeds], dtype=np.uint64)
        self.counters = np.zeros(len(self.seeds), dtype=np.uint64)

    @property
    def counters(self) -> np.ndarray:
        """How many numbers each stream has given. Touching them from outside (to read or to set one)
        forgets what was drawn ahead, so the next draw starts from them."""
        self._settle()
        return self._counters

    @counters.setter
    def counters(self, value: np.ndarray) -> None:
        self._ahead = None
        self._counters = np.asarray(value, dtype=np.uint64)

    def __len__(self) -> int:
        return len(self.seeds)

    def _settle(self) -> None:
        """Count in the counters what was used of the block drawn ahead, and forget the rest."""
        if self._ahead is not None:
            self._counters = self._base + np.uint64(self._used)
            self._ahead = None

    def _draw(self, start: np.ndarray, per_member: int) -> np.ndarray:
        """(K, per_member) uint64: numbers start + 1, start + 2, ... of each stream."""
        n = np.arange(1, per_member + 1, dtype=np.uint64)
        with np.errstate(over="ignore"):
            return _mix(self.keys[:, None] + (start[:, None] + n[None, :]) * _GOLDEN)

    def bits(self, per_member: int) -> np.ndarray:
        """(K, per_member) uint64 draws; each member's counter advances by ``per_member``."""
        self._settle()
        out = self._draw(self._counters, per_member)
        self._counters = self._counters + np.uint64(per_member)
        return out

    def random(self, shape: int | tuple[int, ...]) -> np.ndarray:
        """Uniforms in [0, 1) of ``shape``, whose first axis is K × rows (member-major).

        Small draws are served from a block drawn ahead (the n-th number of a stream depends on its
        key and n alone, so this changes no number; it saves the fixed cost of a numpy call per draw)."""
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        k = len(self.keys)
        if not shape or shape[0] % k:
            raise RLSuiteError(
                f"a draw of shape {shape} does not split over {k} members; its first axis must be a multiple of {k}."
            )
        per_member = math.prod(shape) // k
        block = max(min(1024, _AHEAD // k), 1)
        if per_member > block:
            return self._unit(self.bits(per_member)).reshape(shape)
        if self._ahead is None or self._used + per_member > block:
            self._settle()
            self._base = self._counters
            self._ahead, self._used = self._unit(self._draw(self._base, block)), 0
        out = self._ahead[:, self._used : self._used + per_member]
        self._used += per_member
        return out.reshape(shape)

    @staticmethod
    def _unit(bits: np.ndarray) -> np.ndarray:
        return (bits >> _S11).astype(np.float64) * _TO_UNIT

    def set_counter(self, k: int, count: int) -> None:
        """Put member k's stream at its ``count``-th number (a member restored from its own checkpoint)."""
        self.counters[k] = np.uint64(count)

    def normal(self, shape: int | tuple[int, ...], std: float = 1.0) -> np.ndarray:
        """Normal draws N(0, std²) of ``shape`` (Box–Muller on two uniforms each)."""
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        u = self.random((shape[0], 2 * math.prod(shape[1:])))
        u1, u2 = u[:, 0::2], u[:, 1::2]
        z = np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)
        return (std * z).reshape(shape)

    def uniform(self, low: Any, high: Any, size: tuple[int, ...]) -> np.ndarray:
        """Uniforms in [low, high) of ``size`` (``low``/``high`` broadcast over the last axes)."""
        return low + (np.asarray(high) - low) * self.random(size)

    # ----- members and checkpoints -------------------------------------------------------------
    def member(self, k: int) -> Streams:
        """Member k's stream alone, where it stands now."""
        out = Streams.__new__(Streams)
        out.seeds, out.keys, out.counters = (
            [self.seeds[k]],
            self.keys[k : k + 1].copy(),
            self.counters[k : k + 1].copy(),
        )
        return out

    def state(self) -> dict[str, Any]:
        return {"keys": [int(x) for x in self.keys], "counters": [int(x) for x in self.counters]}

    def load_state(self, state: Any) -> None:
        """Put back what :meth:`state` returned (a numpy Generator's state from an older checkpoint is
        not a state of these streams: the streams then start afresh)."""
        if not isinstance(state, dict) or "counters" not in state:
            return
        counters = state["counters"]
        if not isinstance(counters, list) or len(counters) != len(self.keys):
            raise RLSuiteError(
                f"a checkpoint's random streams hold {len(counters) if isinstance(counters, list) else '?'} "
                f"members, not {len(self.keys)}; resume with the run's own seeds."
            )
        self.counters = np.array([int(c) for c in counters], dtype=np.uint64)


#: seeds lie in [0, MAX_SEED) everywhere: the range a checkpoint's counters hold
MAX_SEED = 2**63


def check_seed(seed: Any, what: str = "seed") -> int:
    """``seed`` as an int in [0, MAX_SEED), the one range of seeds everywhere, or one line saying what is wrong."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < MAX_SEED:
        raise RLSuiteError(f"{what} {seed!r} must be a whole number in [0, 2**63), the range a checkpoint holds.")
    return int(seed)
