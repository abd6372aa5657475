"""Gymnasium spaces as JSON (for checkpoints) and back."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from rlsuite.core.errors import RLSuiteError


def space_to_json(space: spaces.Space) -> dict[str, Any]:
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.Box):
        return {
            "type": "Box",
            "shape": list(space.shape),
            "low": _bound(space.low),
            "high": _bound(space.high),
            "dtype": str(space.dtype),
        }
    if isinstance(space, spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": space.nvec.tolist()}
    if isinstance(space, spaces.MultiBinary):
        return {"type": "MultiBinary", "n": np.asarray(space.n).tolist()}
    if isinstance(space, spaces.Tuple):
        return {"type": "Tuple", "spaces": [space_to_json(s) for s in space.spaces]}
    raise RLSuiteError(f"cannot save an agent for the space {space}; wrap the env with gymnasium's FlattenObservation.")


def _bound(bound: np.ndarray) -> Any:
    """A Box bound as JSON: one number where every element is the same (an image's 0 and 255), else the list."""
    flat = bound.reshape(-1)
    if flat.size and (flat == flat[0]).all():
        return flat[0].item()
    return bound.tolist()


def space_from_json(data: dict[str, Any]) -> spaces.Space:
    kind = data["type"]
    if kind == "Discrete":
        return spaces.Discrete(data["n"], start=data["start"])
    if kind == "Box":
        shape = tuple(data["shape"]) if "shape" in data else None  # older checkpoints: full bounds, no shape
        low, high = (np.array(data[k], dtype=data["dtype"]) for k in ("low", "high"))
        if shape is not None:
            low, high = np.broadcast_to(low, shape).copy(), np.broadcast_to(high, shape).copy()
        return spaces.Box(low, high, dtype=data["dtype"])
    if kind == "MultiDiscrete":
        return spaces.MultiDiscrete(data["nvec"])
    if kind == "MultiBinary":
        return spaces.MultiBinary(data["n"])
    if kind == "Tuple":
        return spaces.Tuple([space_from_json(s) for s in data["spaces"]])
    raise RLSuiteError(f"unknown space type {kind!r} in a checkpoint; load a checkpoint written by rlsuite.")
