"""Supervised training of any network on arrays: the mini-batch loop, schedules and early stopping.

    from rlsuite.nets.networks import MLP
    model = nn.Sequential(MLP(2, [64, 64]), nn.Linear(64, 2))
    history = fit(model, x, y, loss="cross_entropy", epochs=50, early_stopping_patience=5)
    print(history.val_accuracy[history.best_epoch])

The optimisers and learning-rate schedules are torch's own; :func:`fit` only wires them up,
validates names and records what happened in a :class:`History`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.optim import lr_scheduler

from rlsuite.core.errors import RLSuiteError, did_you_mean

ArrayLike = np.ndarray | torch.Tensor
LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

LOSSES = ("cross_entropy", "mse")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
SCHEDULERS = ("exponential", "cosine", "inverse_time", "warmup")
SCHEDULER_KWARGS: dict[str, tuple[str, ...]] = {
    "exponential": ("gamma",),
    "cosine": ("T_max", "eta_min"),
    "inverse_time": ("decay",),
    "warmup": ("warmup_steps",),
}

# Evaluation needs no gradients, so it can use bigger batches than training for speed; the
# result does not depend on the batch size beyond float rounding.
EVALUATION_BATCH_SIZE = 1024


@dataclass
class History:
    """What :func:`fit` did, one entry per epoch run (index 0 is the first epoch).

    ``train_loss`` is the mean loss over the epoch's mini-batches (training mode, so with
    dropout active); ``val_loss`` and ``val_accuracy`` are measured after the epoch in
    evaluation mode. ``val_accuracy`` is None unless the loss is ``"cross_entropy"``, and
    ``val_loss`` is empty when there is no validation data. ``learning_rate`` is the rate
    used during each epoch. ``best_epoch`` is the epoch of the lowest validation loss (the
    last epoch without validation data); ``stopped_early`` says whether early stopping ended
    training before ``epochs``.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] | None = None
    learning_rate: list[float] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False


# --------------------------------------------------------------------------- validation


def _choose(what: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        hint = did_you_mean(value, choices) if isinstance(value, str) else ""
        raise RLSuiteError(f"unknown {what} {value!r}{hint}; choose one of {', '.join(repr(c) for c in choices)}.")
    return value


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise RLSuiteError(message)


def _as_tensor(name: str, data: ArrayLike) -> torch.Tensor:
    try:
        tensor = torch.as_tensor(data)
    except (TypeError, ValueError, RuntimeError):
        raise RLSuiteError(f"{name} must be a numpy array or a tensor, not {type(data).__name__}.") from None
    _require(tensor.dim() >= 1, f"{name} must have a leading sample dimension, got a scalar.")
    # float64 numpy arrays are common; the networks hold float32 weights. Integer and uint8
    # data (class labels, indices, images) pass unchanged: the networks scale or embed them.
    if tensor.is_floating_point() and tensor.dtype != torch.get_default_dtype():
        tensor = tensor.to(torch.get_default_dtype())
    return tensor


def _loss_function(loss: str | LossFunction) -> LossFunction:
    if callable(loss):
        return loss
    return _cross_entropy if _choose("loss", loss, LOSSES) == "cross_entropy" else _mse


def _cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    # Classes live on the last axis so that per-step logits (B, T, C) with labels (B, T) work too.
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1).long())


def _mse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    # Broadcasting (B, 1) against (B,) would silently compare every pair, so match shapes first.
    if targets.shape != outputs.shape and targets.numel() == outputs.numel():
        targets = targets.reshape(outputs.shape)
    return F.mse_loss(outputs, targets.to(outputs.dtype))


def _make_optimizer(
    name: str, parameters: list[nn.Parameter], learning_rate: float, momentum: float, weight_decay: float
) -> torch.optim.Optimizer:
    name = _choose("optimizer", name, OPTIMIZERS)
    if name == "adam":
        return torch.optim.Adam(parameters, lr=learning_rate, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=learning_rate, momentum=momentum, weight_decay=weight_decay)
    return torch.optim.RMSprop(parameters, lr=learning_rate, weight_decay=weight_decay)


def _make_scheduler(
    name: str | None, optimizer: torch.optim.Optimizer, kwargs: Mapping[str, Any] | None, epochs: int
) -> lr_scheduler.LRScheduler | None:
    if name is None:
        _require(not kwargs, f"scheduler_kwargs={dict(kwargs or {})!r} were given without a scheduler.")
        return None
    name = _choose("scheduler", name, SCHEDULERS)
    kwargs = dict(kwargs or {})
    allowed = SCHEDULER_KWARGS[name]
    for key, value in kwargs.items():
        _require(
            key in allowed,
            f"scheduler {name!r} takes no argument {key!r}{did_you_mean(str(key), allowed)}; "
            f"it takes {', '.join(allowed)}.",
        )
        _require(
            isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
            f"scheduler argument {key}={value!r} must be a finite number.",
        )
    if name == "exponential":
        gamma = float(kwargs.get("gamma", 0.9))
        _require(0.0 < gamma <= 1.0, f"exponential scheduler gamma={gamma!r} must be in (0, 1].")
        return lr_scheduler.ExponentialLR(optimizer, gamma=gamma)
    if name == "cosine":
        t_max = kwargs.get("T_max", epochs)
        _require(isinstance(t_max, int) and t_max >= 1, f"cosine scheduler T_max={t_max!r} must be a positive integer.")
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=t_max, eta_min=float(kwargs.get("eta_min", 0.0)))
    if name == "inverse_time":
        decay = float(kwargs.get("decay", 0.1))
        _require(decay >= 0.0, f"inverse_time scheduler decay={decay!r} must be non-negative.")
        return lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0 / (1.0 + decay * epoch))
    warmup_steps = kwargs.get("warmup_steps", max(1, epochs // 10))
    _require(
        isinstance(warmup_steps, int) and warmup_steps >= 1,
        f"warmup scheduler warmup_steps={warmup_steps!r} must be a positive integer.",
    )
    return lr_scheduler.LambdaLR(optimizer, lambda epoch: min(1.0, (epoch + 1) / warmup_steps))


def _split(
    inputs: torch.Tensor, targets: torch.Tensor, validation_split: float, generator: torch.Generator
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor] | None]:
    _require(
        0.0 <= validation_split < 1.0, f"validation_split={validation_split!r} must be in [0, 1)."
    )
    n = inputs.shape[0]
    n_val = math.ceil(n * validation_split) if validation_split > 0 else 0
    if n_val == 0:
        return (inputs, targets), None
    _require(n_val < n, f"validation_split={validation_split} leaves no training samples out of {n}.")
    order = torch.randperm(n, generator=generator)
    train_index, val_index = order[n_val:], order[:n_val]
    return (inputs[train_index], targets[train_index]), (inputs[val_index], targets[val_index])


# --------------------------------------------------------------------------- evaluation


def _model_device(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def _outputs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    # Sequence backbones return (features, recurrent state); the features are the prediction.
    out = model(x)
    return out[0] if isinstance(out, tuple) else out


def _evaluate(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    loss_function: LossFunction | None,
    with_accuracy: bool,
) -> tuple[float | None, float | None]:
    """(mean loss or None without a loss function, accuracy or None), in evaluation mode."""
    device = _model_device(model)
    was_training = model.training
    model.eval()
    total_loss, correct, counted = 0.0, 0, 0
    try:
        with torch.no_grad():
            for start in range(0, inputs.shape[0], EVALUATION_BATCH_SIZE):
                x = inputs[start:start + EVALUATION_BATCH_SIZE].to(device)
                y = targets[start:start + EVALUATION_BATCH_SIZE].to(device)
                outputs = _outputs(model, x)
                if loss_function is not None:
                    total_loss += float(loss_function(outputs, y)) * x.shape[0]
                if with_accuracy:
                    correct += int((outputs.argmax(dim=-1) == y.reshape(outputs.shape[:-1])).sum())
                    counted += y.numel()
    finally:
        model.train(was_training)
    mean_loss = total_loss / inputs.shape[0] if loss_function is not None else None
    return mean_loss, (correct / counted if with_accuracy else None)


def evaluate_loss(
    model: nn.Module, inputs: ArrayLike, targets: ArrayLike, loss: str | LossFunction = "cross_entropy"
) -> float:
    """Mean ``loss`` of ``model`` on (inputs, targets), in evaluation mode, without gradients."""
    x, y = _as_tensor("inputs", inputs), _as_tensor("targets", targets)
    return _evaluate(model, x, y, _loss_function(loss), with_accuracy=False)[0]


def accuracy(model: nn.Module, inputs: ArrayLike, targets: ArrayLike) -> float:
    """Fraction of targets equal to the arg-max of the model's output over its last axis.

    Per-step outputs (B, T, C) with per-step labels (B, T) count every step.
    """
    x, y = _as_tensor("inputs", inputs), _as_tensor("targets", targets)
    return _evaluate(model, x, y, None, with_accuracy=True)[1]


# --------------------------------------------------------------------------- training


def fit(
    model: nn.Module,
    inputs: ArrayLike,
    targets: ArrayLike,
    *,
    loss: str | LossFunction = "cross_entropy",
    optimizer: str = "adam",
    learning_rate: float = 1e-3,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    scheduler: str | None = None,
    scheduler_kwargs: Mapping[str, Any] | None = None,
    epochs: int = 10,
    batch_size: int = 64,
    validation_split: float = 0.1,
    validation: tuple[ArrayLike, ArrayLike] | None = None,
    early_stopping_patience: int | None = None,
    seed: int = 0,
    log_dir: str | None = None,
) -> History:
    """Train ``model`` in place on (inputs, targets) with mini-batch gradient descent.

    ``inputs`` and ``targets`` are numpy arrays or tensors with samples on the first axis;
    uint8 images pass unchanged (the network scales them). ``loss`` is ``"cross_entropy"``
    (the model returns logits with classes on the last axis, targets are class indices),
    ``"mse"`` or a callable ``loss(outputs, targets) -> scalar``. A model that returns a tuple,
    such as :class:`rlsuite.nets.networks.RNN`, is judged on its first element.

    ``optimizer`` is ``"adam"``, ``"sgd"`` (with ``momentum``) or ``"rmsprop"``;
    ``weight_decay`` is an L2 penalty on all parameters. ``scheduler`` changes the rate once
    per epoch, epoch t counted from 0, by a torch scheduler:

    * ``"exponential"``: ``lr0 * gamma**t`` (``gamma=0.9``);
    * ``"cosine"``: ``eta_min + (lr0 - eta_min) * (1 + cos(pi * t / T_max)) / 2``
      (``T_max=epochs``, ``eta_min=0``);
    * ``"inverse_time"``: ``lr0 / (1 + decay * t)`` (``decay=0.1``);
    * ``"warmup"``: linear warm-up ``lr0 * min(1, (t + 1) / warmup_steps)``
      (``warmup_steps=max(1, epochs // 10)``);

    with the bracketed defaults overridable through ``scheduler_kwargs``.

    Validation data is ``validation=(x, y)`` when given, else a random ``validation_split``
    fraction of the inputs held out. With ``early_stopping_patience=p``, training stops after
    p epochs without a new lowest validation loss, and the weights of the best epoch are put
    back into ``model`` (also when the epochs run out first). Without it the final weights stay.

    ``seed`` fixes the split, the batch order and dropout masks without touching torch's
    global random state. ``log_dir`` writes TensorBoard scalars ``supervised/train_loss``,
    ``supervised/val_loss``, ``supervised/val_accuracy`` and ``supervised/learning_rate``,
    one point per epoch.
    """
    loss_function = _loss_function(loss)
    classification = loss == "cross_entropy"
    _require(isinstance(epochs, int) and epochs >= 1, f"epochs={epochs!r} must be a positive integer.")
    _require(isinstance(batch_size, int) and batch_size >= 1, f"batch_size={batch_size!r} must be a positive integer.")
    _require(learning_rate > 0, f"learning_rate={learning_rate!r} must be positive.")
    _require(weight_decay >= 0, f"weight_decay={weight_decay!r} must be non-negative.")
    _require(
        early_stopping_patience is None or (isinstance(early_stopping_patience, int) and early_stopping_patience >= 1),
        f"early_stopping_patience={early_stopping_patience!r} must be None or a positive integer.",
    )
    parameters = [p for p in model.parameters() if p.requires_grad]
    _require(bool(parameters), f"model {type(model).__name__} has no trainable parameters.")

    x_all, y_all = _as_tensor("inputs", inputs), _as_tensor("targets", targets)
    _require(
        x_all.shape[0] == y_all.shape[0],
        f"inputs hold {x_all.shape[0]} samples but targets hold {y_all.shape[0]}.",
    )
    generator = torch.Generator().manual_seed(seed)
    if validation is not None:
        _require(
            isinstance(validation, (tuple, list)) and len(validation) == 2,
            "validation must be a pair (inputs, targets).",
        )
        train_data = (x_all, y_all)
        val_data = (_as_tensor("validation inputs", validation[0]), _as_tensor("validation targets", validation[1]))
    else:
        train_data, val_data = _split(x_all, y_all, validation_split, generator)
    _require(
        early_stopping_patience is None or val_data is not None,
        "early stopping needs validation data; pass validation=(x, y) or a validation_split above 0.",
    )

    optim = _make_optimizer(optimizer, parameters, learning_rate, momentum, weight_decay)
    schedule = _make_scheduler(scheduler, optim, scheduler_kwargs, epochs)
    history = History(val_accuracy=[] if classification and val_data is not None else None)
    writer = _summary_writer(log_dir)
    device = _model_device(model)
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            _train(model, train_data, val_data, loss_function, optim, schedule, epochs, batch_size,
                   early_stopping_patience, generator, history, writer)
    finally:
        if writer is not None:
            writer.close()
    return history


def _summary_writer(log_dir: str | None) -> Any:
    if log_dir is None:
        return None
    # Imported here because the TensorBoard import costs about a second that most callers don't need.
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(log_dir))


def _train(
    model: nn.Module,
    train_data: tuple[torch.Tensor, torch.Tensor],
    val_data: tuple[torch.Tensor, torch.Tensor] | None,
    loss_function: LossFunction,
    optim: torch.optim.Optimizer,
    schedule: lr_scheduler.LRScheduler | None,
    epochs: int,
    batch_size: int,
    patience: int | None,
    generator: torch.Generator,
    history: History,
    writer: Any,
) -> None:
    device = _model_device(model)
    x_train, y_train = train_data
    n_train = x_train.shape[0]
    best_loss, best_state, epochs_without_improvement = math.inf, None, 0
    model.train()
    for epoch in range(epochs):
        history.learning_rate.append(optim.param_groups[0]["lr"])
        order = torch.randperm(n_train, generator=generator)
        total_loss = 0.0
        for start in range(0, n_train, batch_size):
            batch = order[start:start + batch_size]
            x, y = x_train[batch].to(device), y_train[batch].to(device)
            optim.zero_grad(set_to_none=True)
            batch_loss = loss_function(_outputs(model, x), y)
            batch_loss.backward()
            optim.step()
            total_loss += batch_loss.item() * batch.shape[0]
        history.train_loss.append(total_loss / n_train)
        if schedule is not None:
            schedule.step()

        if val_data is not None:
            val_loss, val_accuracy = _evaluate(model, *val_data, loss_function, history.val_accuracy is not None)
            history.val_loss.append(val_loss)
            if history.val_accuracy is not None:
                history.val_accuracy.append(val_accuracy)
            if val_loss < best_loss:
                best_loss, history.best_epoch, epochs_without_improvement = val_loss, epoch, 0
                if patience is not None:
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                epochs_without_improvement += 1
        else:
            history.best_epoch = epoch
        _log_epoch(writer, history, epoch)
        if patience is not None and epochs_without_improvement >= patience:
            history.stopped_early = epoch < epochs - 1
            break

    if best_state is not None:
        model.load_state_dict(best_state)


def _log_epoch(writer: Any, history: History, epoch: int) -> None:
    if writer is None:
        return
    writer.add_scalar("supervised/train_loss", history.train_loss[-1], epoch)
    writer.add_scalar("supervised/learning_rate", history.learning_rate[-1], epoch)
    if len(history.val_loss) > epoch:
        writer.add_scalar("supervised/val_loss", history.val_loss[-1], epoch)
    if history.val_accuracy:
        writer.add_scalar("supervised/val_accuracy", history.val_accuracy[-1], epoch)
