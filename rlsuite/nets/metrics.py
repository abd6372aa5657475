"""Losses and their evaluation: the loss names :func:`rlsuite.nets.supervised.fit` accepts,
and :func:`evaluate_loss` and :func:`accuracy` of a trained model on arrays."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from rlsuite.nets.checks import choose
from rlsuite.nets.data import ArrayLike, as_tensor

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

LOSSES = ("cross_entropy", "mse")

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


def evaluate(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    loss: LossFunction | None,
    with_accuracy: bool,
) -> tuple[float | None, float | None]:
    """(mean loss or None without a loss function, accuracy or None), in evaluation mode."""
    device = model_device(model)
    was_training = model.training
    model.eval()
    total_loss, correct, counted = 0.0, 0, 0
    try:
        with torch.no_grad():
            for start in range(0, inputs.shape[0], EVALUATION_BATCH_SIZE):
                x = inputs[start:start + EVALUATION_BATCH_SIZE].to(device)
                y = targets[start:start + EVALUATION_BATCH_SIZE].to(device)
                outputs = model_outputs(model, x)
                if loss is not None:
                    total_loss += float(loss(outputs, y)) * x.shape[0]
                if with_accuracy:
                    correct += int((outputs.argmax(dim=-1) == y.reshape(outputs.shape[:-1])).sum())
                    counted += y.numel()
    finally:
        model.train(was_training)
    mean_loss = total_loss / inputs.shape[0] if loss is not None else None
    return mean_loss, (correct / counted if with_accuracy else None)


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
    return evaluate(model, x, y, None, with_accuracy=True)[1]
