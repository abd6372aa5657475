"""Losses and their evaluation: the loss names :func:`rlsuite.nets.supervised.fit` accepts,
:func:`evaluate_loss` and :func:`accuracy` of a trained model on arrays, and the :class:`History`
and TensorBoard scalars in which ``fit`` records them; for a stacked model (``members=K``) each
member's own loss and accuracy, and the check that it can be fitted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rlsuite.nets.checks import check_members, choose, require
from rlsuite.nets.data import ArrayLike, as_tensor
from rlsuite.nets.stacked import StackedLayer, members_of

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

LOSSES = ("cross_entropy", "mse")


@dataclass
class History:
    """What :func:`fit` did, one entry per epoch run (index 0 is the first epoch).

    ``train_loss`` is the mean loss over the epoch's mini-batches (training mode, so with
    dropout active); ``val_loss`` and ``val_accuracy`` are measured after the epoch in
    evaluation mode. ``val_accuracy`` is None unless the loss is ``"cross_entropy"``, and
    ``val_loss`` is empty when there is no validation data. ``learning_rate`` is the rate
    used during each epoch. ``best_epoch`` is the epoch of the lowest validation loss (the
    last epoch without validation data); ``stopped_early`` says whether early stopping ended
    training before ``epochs``. ``seeds`` is ``[seed]``.

    A K-member fit (``members=K``) returns one History whose ``members`` holds K of them, member
    k's as a fit of member k alone with ``seed=seeds[k]`` would return it (its own epochs, best
    epoch and early stop); its own ``seeds`` holds the K seeds, ``learning_rate`` the rate of
    every epoch run, ``stopped_early`` whether every member stopped early, and its per-epoch
    ``train_loss``, ``val_loss``, ``val_accuracy`` and ``best_epoch`` stay empty, None and 0.
    :meth:`per_member` gives any of them as a (K, epochs) array for error bars.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] | None = None
    learning_rate: list[float] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    seeds: list[int] = field(default_factory=list)
    members: list[History] = field(default_factory=list)

    @classmethod
    def for_seeds(cls, seeds: list[int], with_accuracy: bool) -> History:
        """An empty History for one seed, or one holding an empty History per member for K seeds."""
        runs = [cls(val_accuracy=[] if with_accuracy else None, seeds=[seed]) for seed in seeds]
        return runs[0] if len(runs) == 1 else cls(seeds=list(seeds), members=runs)

    def per_member(self, name: str) -> np.ndarray:
        """``name`` (``"train_loss"``, ``"val_loss"``, ``"val_accuracy"`` or ``"learning_rate"``) of
        every member, shape (K, epochs run), NaN after a member stopped and where it was not measured;
        a single fit's History is its one member, (1, epochs)."""
        name = choose("History field", name, ("train_loss", "val_loss", "val_accuracy", "learning_rate"))
        runs = self.members or [self]
        table = np.full((len(runs), len(self.learning_rate)), np.nan)
        for row, run in zip(table, runs):
            values = getattr(run, name) or []
            row[: len(values)] = values
        return table


# Evaluation needs no gradients, so it can use bigger batches than training for speed; the
# result does not depend on the batch size beyond float rounding.
EVALUATION_BATCH_SIZE = 1024


def resolve_loss(loss: str | LossFunction) -> LossFunction:
    """The loss named by ``loss`` (one of :data:`LOSSES`), or ``loss`` itself if it is callable."""
    if callable(loss):
        return loss
    return _cross_entropy if choose("loss", loss, LOSSES) == "cross_entropy" else _mse


def _cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    # Classes live on the last axis so that per-step logits (B, T, C) with labels (B, T) work too.
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1).long())


def _mse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    # Broadcasting (B, 1) against (B,) would silently compare every pair, so match shapes first.
    if targets.shape != outputs.shape and targets.numel() == outputs.numel():
        targets = targets.reshape(outputs.shape)
    return F.mse_loss(outputs, targets.to(outputs.dtype))


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (the CPU for a model without parameters)."""
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def model_outputs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``model(x)``; for a model that returns a tuple, its first element."""
    # Sequence backbones return (features, recurrent state); the features are the prediction.
    out = model(x)
    return out[0] if isinstance(out, tuple) else out


def _evaluation_sums(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    loss: LossFunction | None,
    with_accuracy: bool,
) -> tuple[float, int, int]:
    """(loss summed over the samples, correct predictions, targets counted) in evaluation mode; the
    loss is 0 without a loss function, the counts 0 without ``with_accuracy``."""
    device = model_device(model)
    was_training = model.training
    model.eval()
    total_loss, correct, counted = 0.0, 0, 0
    try:
        with torch.no_grad():
            for start in range(0, inputs.shape[0], EVALUATION_BATCH_SIZE):
                x = inputs[start : start + EVALUATION_BATCH_SIZE].to(device)
                y = targets[start : start + EVALUATION_BATCH_SIZE].to(device)
                outputs = model_outputs(model, x)
                if loss is not None:
                    total_loss += float(loss(outputs, y)) * x.shape[0]
                if with_accuracy:
                    correct += int((outputs.argmax(dim=-1) == y.reshape(outputs.shape[:-1])).sum())
                    counted += y.numel()
    finally:
        model.train(was_training)
    return total_loss, correct, counted


def evaluate(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss: LossFunction, with_accuracy: bool
) -> tuple[float, float | None]:
    """(mean loss, accuracy or None without ``with_accuracy``), in evaluation mode."""
    total_loss, correct, counted = _evaluation_sums(model, inputs, targets, loss, with_accuracy)
    return total_loss / inputs.shape[0], (correct / counted if with_accuracy else None)


def evaluate_loss(
    model: nn.Module, inputs: ArrayLike, targets: ArrayLike, loss: str | LossFunction = "cross_entropy"
) -> float:
    """Mean ``loss`` of ``model`` on (inputs, targets), in evaluation mode, without gradients."""
    x, y = as_tensor("inputs", inputs), as_tensor("targets", targets)
    return evaluate(model, x, y, resolve_loss(loss), with_accuracy=False)[0]


def accuracy(model: nn.Module, inputs: ArrayLike, targets: ArrayLike) -> float:
    """Fraction of targets equal to the arg-max of the model's output over its last axis.

    Per-step outputs (B, T, C) with per-step labels (B, T) count every step.
    """
    x, y = as_tensor("inputs", inputs), as_tensor("targets", targets)
    _, correct, counted = _evaluation_sums(model, x, y, None, with_accuracy=True)
    return correct / counted


# --------------------------------------------------------------------------- K members


def check_member_model(model: nn.Module, members: int) -> int:
    """``members`` if ``model`` holds that many independent members, else an :class:`RLSuiteError`.

    Every trainable parameter must belong to a stacked layer: a plain layer in a K-member model
    would be one set of weights shared by all members, and the members would not be independent.
    """
    members = check_members(members)
    held = members_of(model)
    require(
        held == members,
        f"the model holds {held} member{'s' if held > 1 else ''} but fit got members={members}; pass members={held}, "
        f"or build every layer of the model with members={members}.",
    )
    for name, module in model.named_modules():
        if members == 1 or isinstance(module, StackedLayer):
            continue
        for leaf, parameter in module.named_parameters(recurse=False):
            require(
                not parameter.requires_grad,
                f"parameter {name + '.' + leaf if name else leaf!r} of {type(module).__name__} is one set of weights "
                f"shared by all {members} members; build that layer with members={members} "
                f"(for example QHead(width, outputs, members={members}) in place of nn.Linear).",
            )
    return members


def member_losses(loss: LossFunction, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Each member's mean loss, shape (K,), for member-stacked outputs (K, B, ...) and targets (K, B, ...).

    The named losses are computed for all members at once; a callable ``loss`` is called once per member.
    """
    members = outputs.shape[0]
    if loss is _cross_entropy:
        logits = outputs.reshape(-1, outputs.shape[-1])
        per_sample = F.cross_entropy(logits, targets.reshape(-1).long(), reduction="none")
    elif loss is _mse:
        if targets.shape != outputs.shape and targets.numel() == outputs.numel():
            targets = targets.reshape(outputs.shape)
        per_sample = F.mse_loss(outputs, targets.to(outputs.dtype), reduction="none")
    else:
        return torch.stack([loss(outputs[k], targets[k]) for k in range(members)])
    return per_sample.reshape(members, -1).mean(dim=1)


def evaluate_members(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss: LossFunction, with_accuracy: bool
) -> tuple[list[float], list[float] | None]:
    """(each member's mean loss, each member's accuracy or None) of a stacked model in evaluation
    mode, member k judged on ``inputs[k]`` and ``targets[k]``."""
    device = model_device(model)
    was_training = model.training
    model.eval()
    members, n = inputs.shape[:2]
    total_loss = torch.zeros(members, dtype=torch.float64, device=device)
    correct = torch.zeros(members, dtype=torch.float64, device=device)
    try:
        with torch.no_grad():
            for start in range(0, n, EVALUATION_BATCH_SIZE):
                x = inputs[:, start : start + EVALUATION_BATCH_SIZE].to(device)
                y = targets[:, start : start + EVALUATION_BATCH_SIZE].to(device)
                outputs = model_outputs(model, x)
                total_loss += member_losses(loss, outputs, y).double() * x.shape[1]
                if with_accuracy:
                    hits = outputs.argmax(dim=-1) == y.reshape(outputs.shape[:-1])
                    correct += hits.reshape(members, -1).sum(dim=1).double()
    finally:
        model.train(was_training)
    per_member = targets[0].numel()
    return (total_loss / n).tolist(), ((correct / per_member).tolist() if with_accuracy else None)


# --------------------------------------------------------------------------- TensorBoard


def summary_writer(log_dir: str | None) -> Any:
    if log_dir is None:
        return None
    # Imported here because the TensorBoard import costs about a second that most callers don't need.
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(log_dir))


def log_epoch(writer: Any, history: History, epoch: int) -> None:
    if writer is None:
        return
    writer.add_scalar("supervised/train_loss", history.train_loss[-1], epoch)
    writer.add_scalar("supervised/learning_rate", history.learning_rate[-1], epoch)
    if len(history.val_loss) > epoch:
        writer.add_scalar("supervised/val_loss", history.val_loss[-1], epoch)
    if history.val_accuracy:
        writer.add_scalar("supervised/val_accuracy", history.val_accuracy[-1], epoch)


def log_members_epoch(writer: Any, history: History, epoch: int) -> None:
    if writer is None:
        return
    writer.add_scalar("supervised/learning_rate", history.learning_rate[-1], epoch)
    for k, run in enumerate(history.members):
        if len(run.train_loss) <= epoch:
            continue
        for name in ("train_loss", "val_loss", "val_accuracy"):
            if getattr(run, name):
                writer.add_scalar(f"supervised/{name}/member_{k}", getattr(run, name)[-1], epoch)
