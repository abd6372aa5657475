"""fit() on generated data: each backbone learns a task it is built for, and the training
machinery (early stopping, schedules, logging, validation of names) does what it documents."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from rlsuite.core.errors import RLSuiteError
from rlsuite.nets import MLP, RNN, History, NatureCNN, accuracy, evaluate_loss, fit


def two_spirals(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved 1.5-turn spirals; the label says which arm a point lies on."""
    t = np.sqrt(rng.uniform(0, 1, n)) * 3 * np.pi
    label = rng.integers(0, 2, n)
    angle = t + np.pi * label
    radius = t / (3 * np.pi)
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1) + rng.normal(0, 0.02, (n, 2))
    return points.astype(np.float32), label


def bright_square_images(n: int, rng: np.random.Generator, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Noisy dark (H, W, 1) uint8 images with a 4×4 white square; the label is its quadrant."""
    images = rng.integers(0, 60, (n, size, size, 1)).astype(np.uint8)
    quadrant = rng.integers(0, 4, n)
    half, side = size // 2, 4
    for image, q in zip(images, quadrant):
        row = (q // 2) * half + rng.integers(0, half - side + 1)
        col = (q % 2) * half + rng.integers(0, half - side + 1)
        image[row : row + side, col : col + side] = 255
    return images, quadrant


def remember_first_symbol(n: int, rng: np.random.Generator, symbols: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """One-hot symbol sequences plus a start flag; the label is the first symbol.

    Every later step shows a random distractor symbol, so the last step says nothing about the
    label and a model must carry the first symbol across ``length - 1`` steps.
    """
    sequence = rng.integers(0, symbols, (n, length))
    inputs = np.zeros((n, length, symbols + 1), np.float32)
    inputs[np.arange(n)[:, None], np.arange(length)[None, :], sequence] = 1.0
    inputs[:, 0, symbols] = 1.0
    return inputs, sequence[:, 0]


class LastStepClassifier(nn.Module):
    """A recurrent backbone read out at the final step."""

    def __init__(self, input_size: int, classes: int, cell: str = "lstm") -> None:
        super().__init__()
        self.backbone = RNN(input_size, hidden_size=32, cell=cell)
        self.logits = nn.Linear(self.backbone.out_features, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features, _ = self.backbone(x)
        return self.logits(features[:, -1])


def classifier(backbone: nn.Module, classes: int) -> nn.Module:
    return nn.Sequential(backbone, nn.Linear(backbone.out_features, classes))


# --------------------------------------------------------------------------- learning


def test_mlp_separates_two_spirals():
    rng = np.random.default_rng(0)
    x, y = two_spirals(1500, rng)
    x_test, y_test = two_spirals(1000, rng)
    model = classifier(MLP(2, [64, 64]), 2)

    history = fit(model, x, y, learning_rate=1e-2, epochs=40, validation_split=0.1)

    assert accuracy(model, x_test, y_test) >= 0.95
    assert history.val_accuracy[-1] >= 0.95


def test_cnn_finds_the_quadrant_of_a_bright_square():
    rng = np.random.default_rng(1)
    images, quadrant = bright_square_images(800, rng)
    test_images, test_quadrant = bright_square_images(400, rng)
    backbone = NatureCNN(images.shape[1:], features=64)
    model = classifier(backbone, 4)

    fit(model, images, quadrant, epochs=3, validation_split=0.0)

    assert backbone.channels_last and backbone.uses_small_image_stack
    assert accuracy(model, test_images, test_quadrant) >= 0.95


def test_lstm_remembers_the_first_symbol_where_the_last_step_alone_cannot():
    symbols, length = 2, 12
    rng = np.random.default_rng(2)
    x, y = remember_first_symbol(2000, rng, symbols, length)
    x_test, y_test = remember_first_symbol(1000, rng, symbols, length)

    recurrent = LastStepClassifier(symbols + 1, symbols)
    fit(recurrent, x, y, learning_rate=3e-3, batch_size=32, epochs=8, validation_split=0.0)
    last_step_only = classifier(MLP(symbols + 1, [32]), symbols)
    fit(last_step_only, x[:, -1], y, learning_rate=1e-2, epochs=5, validation_split=0.0)

    assert accuracy(recurrent, x_test, y_test) >= 0.95
    assert accuracy(last_step_only, x_test[:, -1], y_test) <= 0.6


def test_a_model_returning_a_tuple_is_trained_on_its_first_element():
    # A GRU regressing the running mean of its input: every step has a target.
    rng = np.random.default_rng(3)
    x = rng.normal(size=(256, 8, 1)).astype(np.float32)
    running_mean = np.cumsum(x, axis=1) / np.arange(1, 9)[None, :, None]
    model = RNN(1, hidden_size=1, cell="gru")

    history = fit(model, x, running_mean, loss="mse", learning_rate=3e-2, epochs=10, validation_split=0.25)

    assert history.val_accuracy is None
    assert history.val_loss[-1] < 0.5 * history.val_loss[0]


# --------------------------------------------------------------------------- early stopping


def overfitting_regression() -> tuple[np.ndarray, ...]:
    """20 noisy samples of sin(3x) for training and clean ones for validation: a wide MLP
    first fits the curve, then the noise, so the validation loss falls and then rises."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (20, 1)).astype(np.float32)
    y = np.sin(3 * x[:, 0]) + rng.normal(0, 0.5, 20)
    x_val = rng.uniform(-1, 1, (200, 1)).astype(np.float32)
    return x, y, x_val, np.sin(3 * x_val[:, 0])


def test_early_stopping_stops_and_restores_the_best_weights():
    x, y, x_val, y_val = overfitting_regression()
    model = nn.Sequential(MLP(1, [128, 128]), nn.Linear(128, 1))
    patience = 10

    history = fit(
        model,
        x,
        y,
        loss="mse",
        learning_rate=1e-2,
        epochs=300,
        batch_size=20,
        validation=(x_val, y_val),
        early_stopping_patience=patience,
    )

    assert history.stopped_early
    assert 0 < history.best_epoch
    assert len(history.val_loss) == history.best_epoch + patience + 1
    assert min(history.val_loss) == history.val_loss[history.best_epoch]
    assert history.val_loss[-1] > history.val_loss[history.best_epoch]
    restored_loss = evaluate_loss(model, x_val, y_val, loss="mse")
    assert restored_loss == pytest.approx(history.val_loss[history.best_epoch], rel=1e-6)


def test_without_early_stopping_the_final_weights_stay():
    x, y, x_val, y_val = overfitting_regression()
    model = nn.Sequential(MLP(1, [128, 128]), nn.Linear(128, 1))

    history = fit(model, x, y, loss="mse", learning_rate=1e-2, epochs=20, batch_size=20, validation=(x_val, y_val))

    assert not history.stopped_early and len(history.val_loss) == 20
    assert evaluate_loss(model, x_val, y_val, loss="mse") == pytest.approx(history.val_loss[-1], rel=1e-6)


def test_early_stopping_needs_validation_data():
    x, y, _, _ = overfitting_regression()
    with pytest.raises(RLSuiteError, match="validation"):
        fit(nn.Linear(1, 1), x, y, loss="mse", validation_split=0.0, early_stopping_patience=3)


# --------------------------------------------------------------------------- schedules


LR0, EPOCHS = 0.1, 8


@pytest.mark.parametrize(
    ("scheduler", "kwargs", "expected"),
    [
        (None, None, lambda t: LR0),
        ("exponential", {"gamma": 0.5}, lambda t: LR0 * 0.5**t),
        ("exponential", None, lambda t: LR0 * 0.9**t),
        ("cosine", None, lambda t: LR0 * (1 + math.cos(math.pi * t / EPOCHS)) / 2),
        ("cosine", {"T_max": 4, "eta_min": 0.01}, lambda t: 0.01 + (LR0 - 0.01) * (1 + math.cos(math.pi * t / 4)) / 2),
        ("inverse_time", {"decay": 0.5}, lambda t: LR0 / (1 + 0.5 * t)),
        ("warmup", {"warmup_steps": 4}, lambda t: LR0 * min(1.0, (t + 1) / 4)),
    ],
)
def test_each_scheduler_follows_its_formula(scheduler, kwargs, expected):
    x = np.linspace(-1, 1, 32, dtype=np.float32)[:, None]

    history = fit(
        nn.Linear(1, 1),
        x,
        2 * x,
        loss="mse",
        optimizer="sgd",
        learning_rate=LR0,
        scheduler=scheduler,
        scheduler_kwargs=kwargs,
        epochs=EPOCHS,
        validation_split=0.0,
    )

    assert history.learning_rate == pytest.approx([expected(t) for t in range(EPOCHS)], rel=1e-6, abs=1e-12)


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_every_optimizer_reduces_the_loss(optimizer):
    x = np.linspace(-1, 1, 64, dtype=np.float32)[:, None]
    history = fit(
        nn.Linear(1, 1),
        x,
        3 * x - 1,
        loss="mse",
        optimizer=optimizer,
        learning_rate=1e-2,
        weight_decay=1e-4,
        epochs=5,
        validation_split=0.0,
    )
    assert history.train_loss[-1] < history.train_loss[0]


# --------------------------------------------------------------------------- plumbing


def test_same_seed_same_history_and_tensor_inputs_match_numpy():
    rng = np.random.default_rng(4)
    x, y = two_spirals(300, rng)
    histories = []
    for inputs, targets in [(x, y), (torch.from_numpy(x), torch.from_numpy(y))]:
        torch.manual_seed(0)
        model = classifier(MLP(2, [16], dropout=0.1), 2)
        histories.append(fit(model, inputs, targets, epochs=3, seed=7))
    assert histories[0] == histories[1]
    assert isinstance(histories[0], History) and len(histories[0].train_loss) == 3


def test_fit_leaves_the_global_random_state_alone():
    x = np.zeros((16, 1), np.float32)
    model = nn.Sequential(nn.Dropout(0.5), nn.Linear(1, 1))
    state = torch.random.get_rng_state()
    fit(model, x, x, loss="mse", epochs=2)
    assert torch.equal(state, torch.random.get_rng_state())


def test_tensorboard_gets_one_point_per_epoch_for_every_tag(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    rng = np.random.default_rng(5)
    x, y = two_spirals(200, rng)
    fit(classifier(MLP(2, [8]), 2), x, y, epochs=3, log_dir=str(tmp_path))

    events = EventAccumulator(str(tmp_path))
    events.Reload()
    tags = ["supervised/train_loss", "supervised/val_loss", "supervised/val_accuracy", "supervised/learning_rate"]
    assert set(tags) <= set(events.Tags()["scalars"])
    assert all([e.step for e in events.Scalars(tag)] == [0, 1, 2] for tag in tags)


def test_uint8_images_reach_the_network_unscaled():
    seen = []

    class Recorder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(x.dtype)
            return self.linear(x.float().flatten(1))

    images = np.full((8, 2, 2), 200, np.uint8)
    fit(Recorder(), images, np.zeros(8, np.int64), epochs=1, validation_split=0.0)
    assert seen == [torch.uint8]


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"loss": "crossentropy"}, "cross_entropy"),
        ({"optimizer": "adamw"}, "adam"),
        ({"scheduler": "cosin"}, "cosine"),
        ({"scheduler": "exponential", "scheduler_kwargs": {"gama": 0.5}}, "gamma"),
        ({"scheduler": "exponential", "scheduler_kwargs": {"gamma": "slow"}}, "gamma"),
        ({"scheduler": "exponential", "scheduler_kwargs": {"gamma": 1.5}}, "gamma"),
        ({"scheduler_kwargs": {"gamma": 0.5}}, "scheduler"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": -1}, "batch_size"),
        ({"validation_split": 1.0}, "validation_split"),
        ({"early_stopping_patience": 0}, "early_stopping_patience"),
    ],
)
def test_bad_arguments_raise_one_sentence(kwargs, named):
    x = np.zeros((10, 1), np.float32)
    with pytest.raises(RLSuiteError) as raised:
        fit(nn.Linear(1, 2), x, np.zeros(10, np.int64), **kwargs)
    message = str(raised.value)
    assert named in message and "\n" not in message and message.endswith(".")


def test_mismatched_sample_counts_raise():
    with pytest.raises(RLSuiteError, match="10 samples but targets hold 9"):
        fit(nn.Linear(1, 2), np.zeros((10, 1), np.float32), np.zeros(9, np.int64))
