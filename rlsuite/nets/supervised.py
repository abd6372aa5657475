"""Supervised training of any network on arrays: the mini-batch loop, schedules and early stopping.

    from rlsuite.nets import MLP, fit
    model = nn.Sequential(MLP(2, [64, 64]), nn.Linear(64, 2))
    history = fit(model, x, y, loss="cross_entropy", epochs=50, early_stopping_patience=5)
    print(history.val_accuracy[history.best_epoch])

Error bars at about the cost of one run: a model built with ``members=K`` (every layer
stacked, :mod:`rlsuite.nets.stacked`) and ``fit(..., members=K)`` train K independent runs::

    model = nn.Sequential(MLP(2, [64, 64], members=8), QHead(64, 2, members=8))
    history = fit(model, x, y, members=8, epochs=50, early_stopping_patience=5)
    best = [run.val_accuracy[run.best_epoch] for run in history.members]

Member k draws its split and batch order from its own seed; the K mini-batches go through
the model in one forward pass as (K, B, ...), and the loss minimised is the sum of the
members' mean losses, so each member's gradient, and its (elementwise) optimiser step, is
its own. Each member stops early on its own validation loss and ends with its best weights.

The optimisers and learning-rate schedules are torch's own; :func:`fit` only wires them up,
validates names and records what happened in a :class:`History`. Data handling lives in
:mod:`rlsuite.nets.data`; the losses, their evaluation, :class:`History` and the TensorBoard
records in :mod:`rlsuite.nets.metrics`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.optim import lr_scheduler

from rlsuite.core.errors import did_you_mean
from rlsuite.nets.checks import choose, require
from rlsuite.nets.data import ArrayLike, MemberData, Pair, member_seeds, training_data
from rlsuite.nets.metrics import (
    History,
    LossFunction,
    check_member_model,
    evaluate,
    evaluate_members,
    log_epoch,
    log_members_epoch,
    member_losses,
    model_device,
    model_outputs,
    resolve_loss,
    summary_writer,
)
from rlsuite.nets.stacked import load_member, members_state

OPTIMIZERS = ("adam", "sgd", "rmsprop")
SCHEDULERS = ("exponential", "cosine", "inverse_time", "warmup")
SCHEDULER_KWARGS: dict[str, tuple[str, ...]] = {
    "exponential": ("gamma",),
    "cosine": ("T_max", "eta_min"),
    "inverse_time": ("decay",),
    "warmup": ("warmup_steps",),
}


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
    members: int = 1,
    seeds: Sequence[int] | None = None,
) -> History:
    """Train ``model`` in place on (inputs, targets) with mini-batch gradient descent.

    ``inputs`` and ``targets`` are numpy arrays or tensors with samples on the first axis;
    uint8 images pass unchanged (the network scales them). ``loss`` is ``"cross_entropy"``
    (the model returns logits with classes on the last axis, targets are class indices),
    ``"mse"`` or a callable ``loss(outputs, targets) -> scalar``. A model that returns a tuple,
    such as :class:`rlsuite.nets.recurrent.RNN`, is judged on its first element.

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

    ``members=K`` trains a model built with ``members=K`` as K independent runs at once: member
    k, seeded by ``seeds[k]`` (default ``numpy.random.SeedSequence(seed).spawn(K)``), ends as a
    fit of it alone with ``seed=seeds[k]`` would (dropout masks aside). See :class:`History`.
    """
    loss_function = resolve_loss(loss)
    parameters = _trainable_parameters(model, epochs, batch_size, learning_rate, weight_decay, early_stopping_patience)
    members = check_member_model(model, members)
    seeds = member_seeds(members, seed, seeds) if members > 1 or seeds is not None else [seed]
    data, generators, has_validation = training_data(
        inputs, targets, validation, validation_split, seeds, early_stopping_patience
    )
    optim = _make_optimizer(optimizer, parameters, learning_rate, momentum, weight_decay)
    schedule = _make_scheduler(scheduler, optim, scheduler_kwargs, epochs)
    history = History.for_seeds(seeds, with_accuracy=loss == "cross_entropy" and has_validation)
    with _seeded(model, seeds[0] if members == 1 else seed), _writer(log_dir) as writer:
        arguments = (loss_function, optim, schedule, epochs, batch_size, early_stopping_patience)
        if isinstance(data, MemberData):
            _train_members(model, data, *arguments, generators, history, writer)
        else:
            train_data, val_data = data
            _train(model, train_data, val_data, *arguments, generators[0], history, writer)
    return history


@contextmanager
def _seeded(model: nn.Module, seed: int) -> Iterator[None]:
    """Inside, torch draws from ``seed`` (on the model's device too); torch's global random state outside
    is left as it was."""
    device = model_device(model)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


@contextmanager
def _writer(log_dir: str | None) -> Iterator[Any]:
    """A TensorBoard writer for ``log_dir`` (None without one), closed on the way out."""
    writer = summary_writer(log_dir)
    try:
        yield writer
    finally:
        if writer is not None:
            writer.close()


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
            if history.val_accuracy is not None and val_accuracy is not None:
                history.val_accuracy.append(val_accuracy)
            if val_loss < best_loss:
                best_loss, history.best_epoch, epochs_without_improvement = val_loss, epoch, 0
                if patience is not None:
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                epochs_without_improvement += 1
        else:
            history.best_epoch = epoch
        log_epoch(writer, history, epoch)
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
        batch = order[start : start + batch_size]
        x, y = x_train[batch].to(device), y_train[batch].to(device)
        optim.zero_grad(set_to_none=True)
        batch_loss = loss_function(model_outputs(model, x), y)
        batch_loss.backward()
        optim.step()
        total_loss += batch_loss.item() * batch.shape[0]
    return total_loss / n_train


# --------------------------------------------------------------------------- K members at once


def _train_members(
    model: nn.Module,
    data: MemberData,
    loss_function: LossFunction,
    optim: torch.optim.Optimizer,
    schedule: lr_scheduler.LRScheduler | None,
    epochs: int,
    batch_size: int,
    patience: int | None,
    generators: list[torch.Generator],
    history: History,
    writer: Any,
) -> None:
    """:func:`_train` for K members: each records, stops early and keeps its best weights on its own.

    A member that stopped leaves the loss, is no longer recorded, and gets its best weights
    back at the end (Adam's momentum would still move it a little meanwhile).
    """
    runs = history.members
    best_loss, waited = [math.inf] * len(runs), [0] * len(runs)
    best_state: list[dict[str, torch.Tensor] | None] = [None] * len(runs)
    training = list(range(len(runs)))
    model.train()
    for epoch in range(epochs):
        rate = optim.param_groups[0]["lr"]
        history.learning_rate.append(rate)
        train_loss = _train_members_epoch(model, data, loss_function, optim, batch_size, generators, training)
        if schedule is not None:
            schedule.step()
        if data.validation is not None:
            val_loss, val_accuracy = evaluate_members(
                model, *data.validation, loss_function, runs[0].val_accuracy is not None
            )
        for k in training:
            run = runs[k]
            run.learning_rate.append(rate)
            run.train_loss.append(train_loss[k])
            if data.validation is None:
                run.best_epoch = epoch
                continue
            run.val_loss.append(val_loss[k])
            if val_accuracy is not None and run.val_accuracy is not None:
                run.val_accuracy.append(val_accuracy[k])
            if val_loss[k] < best_loss[k]:
                best_loss[k], run.best_epoch, waited[k] = val_loss[k], epoch, 0
                if patience is not None:
                    best_state[k] = members_state(model, k)
            else:
                waited[k] += 1
            run.stopped_early = patience is not None and waited[k] >= patience and epoch < epochs - 1
        log_members_epoch(writer, history, epoch)
        training = [k for k in training if patience is None or waited[k] < patience]
        if not training:
            break

    for k, state in enumerate(best_state):
        if state is not None:
            load_member(model, k, state)
    history.stopped_early = all(run.stopped_early for run in runs)


def _train_members_epoch(
    model: nn.Module,
    data: MemberData,
    loss_function: LossFunction,
    optim: torch.optim.Optimizer,
    batch_size: int,
    generators: list[torch.Generator],
    training: list[int],
) -> list[float]:
    """One pass over every member's training data; each member's mean loss per sample.

    The loss minimised is the sum of the members' mean losses, so each member's gradient is its
    own; members that stopped early add nothing to it.
    """
    device = model_device(model)
    learning = torch.tensor(training, device=device)
    total = torch.zeros(len(generators), dtype=torch.float64, device=device)
    for x, y in data.batches(generators, batch_size):
        optim.zero_grad(set_to_none=True)
        losses = member_losses(loss_function, model_outputs(model, x.to(device)), y.to(device))
        losses.index_select(0, learning).sum().backward()
        optim.step()
        total += losses.detach().double() * x.shape[1]
    return (total / data.train_index.shape[1]).tolist()
