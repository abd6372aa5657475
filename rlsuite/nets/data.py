"""Labelled arrays for :func:`rlsuite.nets.supervised.fit`: tensors from user data and the validation hold-out."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from rlsuite.core.errors import RLSuiteError
from rlsuite.nets.checks import require

ArrayLike = np.ndarray | torch.Tensor
Pair = tuple[torch.Tensor, torch.Tensor]


def as_tensor(name: str, data: ArrayLike) -> torch.Tensor:
    """``data`` as a tensor with a leading sample dimension, else an :class:`RLSuiteError` naming ``name``."""
    try:
        tensor = torch.as_tensor(data)
    except (TypeError, ValueError, RuntimeError):
        raise RLSuiteError(f"{name} must be a numpy array or a tensor, not {type(data).__name__}.") from None
    require(tensor.dim() >= 1, f"{name} must have a leading sample dimension, got a scalar.")
    # float64 numpy arrays are common; the networks hold float32 weights. Integer and uint8
    # data (class labels, indices, images) pass unchanged: the networks scale or embed them.
    if tensor.is_floating_point() and tensor.dtype != torch.get_default_dtype():
        tensor = tensor.to(torch.get_default_dtype())
    return tensor


def sample_pairs(inputs: ArrayLike, targets: ArrayLike) -> Pair:
    """(inputs, targets) as tensors holding the same number of samples, else an :class:`RLSuiteError`."""
    x, y = as_tensor("inputs", inputs), as_tensor("targets", targets)
    require(x.shape[0] == y.shape[0], f"inputs hold {x.shape[0]} samples but targets hold {y.shape[0]}.")
    return x, y


def split_validation(
    inputs: torch.Tensor, targets: torch.Tensor, validation_split: float, generator: torch.Generator
) -> tuple[Pair, Pair | None]:
    """A random ``validation_split`` fraction (rounded up) held out: (training pair, validation pair or None)."""
    require(0.0 <= validation_split < 1.0, f"validation_split={validation_split!r} must be in [0, 1).")
    n = inputs.shape[0]
    n_val = math.ceil(n * validation_split) if validation_split > 0 else 0
    if n_val == 0:
        return (inputs, targets), None
    require(n_val < n, f"validation_split={validation_split} leaves no training samples out of {n}.")
    order = torch.randperm(n, generator=generator)
    train_index, val_index = order[n_val:], order[:n_val]
    return (inputs[train_index], targets[train_index]), (inputs[val_index], targets[val_index])


def train_and_validation(
    inputs: torch.Tensor,
    targets: torch.Tensor,
    validation: Any,
    validation_split: float,
    generator: torch.Generator,
) -> tuple[Pair, Pair | None]:
    """The training pair and the validation pair (None without validation data).

    An explicit ``validation=(x, y)`` leaves every input for training; otherwise
    :func:`split_validation` holds out a ``validation_split`` fraction.
    """
    if validation is None:
        return split_validation(inputs, targets, validation_split, generator)
    require(
        isinstance(validation, (tuple, list)) and len(validation) == 2,
        "validation must be a pair (inputs, targets).",
    )
    return (inputs, targets), (as_tensor("validation inputs", validation[0]), as_tensor("validation targets", validation[1]))
