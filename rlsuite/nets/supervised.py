"""Supervised training of any network on arrays: the mini-batch loop, schedules and early stopping.

    from rlsuite.nets import MLP, fit
    model = nn.Sequential(MLP(2, [64, 64]), nn.Linear(64, 2))
    history = fit(model, x, y, loss="cross_entropy", epochs=50, early_stopping_patience=5)
    print(history.val_accuracy[history.best_epoch])

The optimisers and learning-rate schedules are torch's own; :func:`fit` only wires them up,
validates names and records what happened in a :class:`History`. Data handling lives in
:mod:`rlsuite.nets.data`, the losses and their evaluation in :mod:`rlsuite.nets.metrics`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.optim import lr_scheduler

from rlsuite.core.errors import did_you_mean
from rlsuite.nets.checks import choose, require
from rlsuite.nets.data import ArrayLike, Pair, sample_pairs, train_and_validation
from rlsuite.nets.metrics import LossFunction, evaluate, model_device, model_outputs, resolve_loss

OPTIMIZERS = ("adam", "sgd", "rmsprop")
SCHEDULERS = ("exponential", "cosine", "inverse_time", "warmup")
SCHEDULER_KWARGS: dict[str, tuple[str, ...]] = {
    "exponential": ("gamma",),
    "cosine": ("T_max", "eta_min"),
    "inverse_time": ("decay",),
    "warmup": ("warmup_steps",),
}


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


# --------------------------------------------------------------------------- optimisers and schedules


def _make_optimizer(
    name: str, parameters: list[nn.Parameter], learning_rate: float, momentum: float, weight_decay: float
) -> torch.optim.Optimizer:
    name = choose("optimizer", name, OPTIMIZERS)
    if name == "adam":
        return torch.optim.Adam(parameters, lr=learning_rate, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=learning_rate, momentum=momentum, weight_decay=weight_decay)
    return torch.optim.RMSprop(parameters, lr=learning_rate, weight_decay=weight_decay)


def _make_scheduler(
    name: str | None, optimizer: torch.optim.Optimizer, kwargs: Mapping[str, Any] | None, epochs: int
) -> lr_scheduler.LRScheduler | None:
    if name is None:
        require(not kwargs, f"scheduler_kwargs={dict(kwargs or {})!r} were given without a scheduler.")
        return None
    name = choose("scheduler", name, SCHEDULERS)
    kwargs = dict(kwargs or {})
    allowed = SCHEDULER_KWARGS[name]
    for key, value in kwargs.items():
        require(
            key in allowed,
            f"scheduler {name!r} takes no argument {key!r}{did_you_mean(str(key), allowed)}; "
            f"it takes {', '.join(allowed)}.",
        )
        require(
            isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
            f"scheduler argument {key}={value!r} must be a finite number.",
        )
    if name == "exponential":
        gamma = float(kwargs.get("gamma", 0.9))
        require(0.0 < gamma <= 1.0, f"exponential scheduler gamma={gamma!r} must be in (0, 1].")
        return lr_scheduler.ExponentialLR(optimizer, gamma=gamma)
    if name == "cosine":
        t_max = kwargs.get("T_max", epochs)
        require(isinstance(t_max, int) and t_max >= 1, f"cosine scheduler T_max={t_max!r} must be a positive integer.")
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=t_max, eta_min=float(kwargs.get("eta_min", 0.0)))
    if name == "inverse_time":
        decay = float(kwargs.get("decay", 0.1))
        require(decay >= 0.0, f"inverse_time scheduler decay={decay!r} must be non-negative.")
        return lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0 / (1.0 + decay * epoch))
    warmup_steps = kwargs.get("warmup_steps", max(1, epochs // 10))
    require(
        isinstance(warmup_steps, int) and warmup_steps >= 1,
        f"warmup scheduler warmup_steps={warmup_steps!r} must be a positive integer.",
    )
    return lr_scheduler.LambdaLR(optimizer, lambda epoch: min(1.0, (epoch + 1) / warmup_steps))


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
    such as :class:`rlsuite.nets.backbones.RNN`, is judged on its first element.

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
    loss_function = resolve_loss(loss)
    parameters = _trainable_parameters(model, epochs, batch_size, learning_rate, weight_decay, early_stopping_patience)
    x_all, y_all = sample_pairs(inputs, targets)
    generator = torch.Generator().manual_seed(seed)
    train_data, val_data = train_and_validation(x_all, y_all, validation, validation_split, generator)
    require(
        early_stopping_patience is None or val_data is not None,
        "early stopping needs validation data; pass validation=(x, y) or a validation_split above 0.",
    )

    optim = _make_optimizer(optimizer, parameters, learning_rate, momentum, weight_decay)
    schedule = _make_scheduler(scheduler, optim, scheduler_kwargs, epochs)
    history = History(val_accuracy=[] if loss == "cross_entropy" and val_data is not None else None)
    writer = _summary_writer(log_dir)
    device = model_device(model)
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            _train(model, train_data, val_data, loss_function, optim, schedule, epochs, batch_size,
                   early_stopping_patience, generator, history, writer)
    finally:
        if writer is not None:
            writer.close()
    return history


def _trainable_parameters(
    model: nn.Module,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    weight_decay: float,
    early_stopping_patience: int | None,
) -> list[nn.Parameter]:
    """The parameters ``fit`` trains, once its numeric arguments have passed their checks."""
    require(isinstance(epochs, int) and epochs >= 1, f"epochs={epochs!r} must be a positive integer.")
    require(isinstance(batch_size, int) and batch_size >= 1, f"batch_size={batch_size!r} must be a positive integer.")
    require(learning_rate > 0, f"learning_rate={learning_rate!r} must be positive.")
    require(weight_decay >= 0, f"weight_decay={weight_decay!r} must be non-negative.")
    require(
        early_stopping_patience is None or (isinstance(early_stopping_patience, int) and early_stopping_patience >= 1),
        f"early_stopping_patience={early_stopping_patience!r} must be None or a positive integer.",
    )
    parameters = [p for p in model.parameters() if p.requires_grad]
    require(bool(parameters), f"model {type(model).__name__} has no trainable parameters.")
    return parameters


def _summary_writer(log_dir: str | None) -> Any:
    if log_dir is None:
        return None
    # Imported here because the TensorBoard import costs about a second that most callers don't need.
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(log_dir))


def _train(
    model: nn.Module,
    train_data: Pair,
    val_data: Pair | None,
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
    best_loss, best_state, epochs_without_improvement = math.inf, None, 0
    model.train()
    for epoch in range(epochs):
        history.learning_rate.append(optim.param_groups[0]["lr"])
        history.train_loss.append(_train_epoch(model, train_data, loss_function, optim, batch_size, generator))
        if schedule is not None:
            schedule.step()

        if val_data is not None:
            val_loss, val_accuracy = evaluate(model, *val_data, loss_function, history.val_accuracy is not None)
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


def _train_epoch(
    model: nn.Module,
    train_data: Pair,
    loss_function: LossFunction,
    optim: torch.optim.Optimizer,
    batch_size: int,
    generator: torch.Generator,
) -> float:
    """One pass over the training data in shuffled mini-batches; the mean loss per sample."""
    device = model_device(model)
    x_train, y_train = train_data
    n_train = x_train.shape[0]
    order = torch.randperm(n_train, generator=generator)
    total_loss = 0.0
    for start in range(0, n_train, batch_size):
        batch = order[start:start + batch_size]
        x, y = x_train[batch].to(device), y_train[batch].to(device)
        optim.zero_grad(set_to_none=True)
        batch_loss = loss_function(model_outputs(model, x), y)
        batch_loss.backward()
        optim.step()
        total_loss += batch_loss.item() * batch.shape[0]
    return total_loss / n_train


def _log_epoch(writer: Any, history: History, epoch: int) -> None:
    if writer is None:
        return
    writer.add_scalar("supervised/train_loss", history.train_loss[-1], epoch)
    writer.add_scalar("supervised/learning_rate", history.learning_rate[-1], epoch)
    if len(history.val_loss) > epoch:
        writer.add_scalar("supervised/val_loss", history.val_loss[-1], epoch)
    if history.val_accuracy:
        writer.add_scalar("supervised/val_accuracy", history.val_accuracy[-1], epoch)
