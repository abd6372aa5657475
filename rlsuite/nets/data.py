"""Labelled arrays for :func:`rlsuite.nets.supervised.fit`: tensors from user data, the validation
hold-out, and for a K-member fit each member's own split, batch order and seed."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
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
    require(x.shape[0] >= 1, "inputs and targets hold no samples; pass at least one (input, target) pair.")
    return x, y


def split_indices(
    n: int, validation_split: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(training indices, validation indices) of a random ``validation_split`` fraction of ``n``
    samples (rounded up) held out, or None when nothing is held out (then nothing is drawn)."""
    require(0.0 <= validation_split < 1.0, f"validation_split={validation_split!r} must be in [0, 1).")
    n_val = math.ceil(n * validation_split) if validation_split > 0 else 0
    if n_val == 0:
        return None
    require(
        n_val < n,
        f"validation_split={validation_split} leaves no training samples out of {n}; "
        "pass more samples or a smaller validation_split.",
    )
    order = torch.randperm(n, generator=generator)
    return order[n_val:], order[:n_val]


def split_validation(
    inputs: torch.Tensor, targets: torch.Tensor, validation_split: float, generator: torch.Generator
) -> tuple[Pair, Pair | None]:
    """A random ``validation_split`` fraction (rounded up) held out: (training pair, validation pair or None)."""
    split = split_indices(inputs.shape[0], validation_split, generator)
    if split is None:
        return (inputs, targets), None
    train_index, val_index = split
    return (inputs[train_index], targets[train_index]), (inputs[val_index], targets[val_index])


def validation_pair(validation: Any) -> Pair:
    """An explicit ``validation=(x, y)`` as tensors, else an :class:`RLSuiteError`."""
    require(
        isinstance(validation, (tuple, list)) and len(validation) == 2,
        "validation must be a pair (inputs, targets).",
    )
    return as_tensor("validation inputs", validation[0]), as_tensor("validation targets", validation[1])


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
    return (inputs, targets), validation_pair(validation)


# --------------------------------------------------------------------------- K members


def member_seeds(members: int, seed: Any, seeds: Sequence[Any] | None) -> list[int]:
    """The K members' seeds: ``seeds`` checked, else K seeds spawned from ``seed`` by numpy's
    ``SeedSequence(seed).spawn(K)``, so the members' streams are independent (not seed, seed+1, ...)."""
    if seeds is None:
        require(
            isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and int(seed) >= 0,
            f"seed={seed!r} must be a non-negative integer to derive the seeds of {members} members.",
        )
        return [int(child.generate_state(1)[0]) for child in np.random.SeedSequence(int(seed)).spawn(members)]
    ok = isinstance(seeds, Sequence) and not isinstance(seeds, str) and len(seeds) == members
    ok = ok and all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and 0 <= s < 2**63 for s in seeds)
    require(ok, f"seeds={seeds!r} must be a list of {members} non-negative integers, one per member, or None.")
    return [int(s) for s in seeds]


@dataclass
class MemberData:
    """K members' views of one data set: member k trains on ``inputs[train_index[k]]``.

    ``train_index`` is (K, n_train), one row per member (every member holds out the same number
    of samples, so the rows are equally long); ``validation`` is member-stacked (K, n_val, ...)
    inputs and targets, or None.
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    train_index: torch.Tensor
    validation: Pair | None

    def batches(self, generators: Sequence[torch.Generator], batch_size: int) -> Iterator[Pair]:
        """One epoch of member-stacked mini-batches (K, B, ...), member k's order drawn from ``generators[k]``."""
        n_train = self.train_index.shape[1]
        order = torch.stack(
            [row[torch.randperm(n_train, generator=generator)] for row, generator in zip(self.train_index, generators)]
        )
        for start in range(0, n_train, batch_size):
            index = order[:, start : start + batch_size]
            yield self.inputs[index], self.targets[index]


def member_data(
    inputs: torch.Tensor,
    targets: torch.Tensor,
    validation: Any,
    validation_split: float,
    generators: Sequence[torch.Generator],
) -> MemberData:
    """Each member's training and validation data, as :func:`train_and_validation` makes it for a
    single fit seeded like the member: an explicit ``validation=(x, y)`` is shared by all members,
    a ``validation_split`` is drawn by each member's own generator."""
    members, n = len(generators), inputs.shape[0]
    everything = torch.arange(n).expand(members, n)
    if validation is not None:
        x_val, y_val = validation_pair(validation)
        stacked = (x_val.expand(members, *x_val.shape), y_val.expand(members, *y_val.shape))
        return MemberData(inputs, targets, everything, stacked)
    splits = [split_indices(n, validation_split, generator) for generator in generators]
    # whether anything is held out depends on n and validation_split alone, so all members agree
    held_out = [split for split in splits if split is not None]
    if not held_out:
        return MemberData(inputs, targets, everything, None)
    train_index = torch.stack([train for train, _ in held_out])
    val_index = torch.stack([val for _, val in held_out])
    return MemberData(inputs, targets, train_index, (inputs[val_index], targets[val_index]))


def training_data(
    inputs: ArrayLike,
    targets: ArrayLike,
    validation: Any,
    validation_split: float,
    seeds: Sequence[int],
    patience: int | None,
) -> tuple[tuple[Pair, Pair | None] | MemberData, list[torch.Generator], bool]:
    """What ``fit`` trains on: (the data, one generator per seed, whether there is validation data).

    The data is a (training pair, validation pair or None) for one seed, a :class:`MemberData`
    for K; early stopping (a ``patience``) without validation data is an :class:`RLSuiteError`.
    """
    x_all, y_all = sample_pairs(inputs, targets)
    generators = [torch.Generator().manual_seed(seed) for seed in seeds]
    data: tuple[Pair, Pair | None] | MemberData
    if len(generators) == 1:
        data = train_and_validation(x_all, y_all, validation, validation_split, generators[0])
        has_validation = data[1] is not None
    else:
        data = member_data(x_all, y_all, validation, validation_split, generators)
        has_validation = data.validation is not None
    require(
        patience is None or has_validation,
        "early stopping needs validation data; pass validation=(x, y) or a validation_split above 0.",
    )
    return data, generators, has_validation
