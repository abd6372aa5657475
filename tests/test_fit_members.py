"""fit(..., members=K): the K members of a stacked model train as K independent runs at once.

Member k ends with the weights, and the History, of a fit of member k alone with its own seed;
each member stops early on its own; misuse is one RLSuiteError sentence.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.test_supervised import overfitting_regression
from torch import nn

from rlsuite.core.errors import RLSuiteError
from rlsuite.nets import MLP, RNN, History, NatureCNN, QHead, evaluate_loss, fit, members_state

K = 3


def network(members: int, outputs: int, inputs: int = 2, widths: tuple[int, ...] = (16, 16)) -> nn.Module:
    backbone = MLP(inputs, list(widths), members=members)
    return nn.Sequential(backbone, QHead(backbone.out_features, outputs, members=members))


def singles_like(stacked: nn.Module, build) -> list[nn.Module]:
    """Single networks built by ``build``, network k holding member k's weights."""
    singles = []
    for k in range(K):
        single = build()
        single.load_state_dict(members_state(stacked, k))
        singles.append(single)
    return singles


def assert_member_is_single(stacked: nn.Module, k: int, single: nn.Module) -> None:
    member, expected = members_state(stacked, k), single.state_dict()
    assert list(member) == list(expected)
    for key in member:
        assert torch.allclose(member[key], expected[key], atol=1e-5), (k, key)


def assert_same_run(member: History, single: History) -> None:
    assert len(member.train_loss) == len(single.train_loss)
    assert member.best_epoch == single.best_epoch and member.stopped_early == single.stopped_early
    assert member.seeds == single.seeds
    assert member.learning_rate == pytest.approx(single.learning_rate)
    assert member.train_loss == pytest.approx(single.train_loss, rel=1e-4)
    assert member.val_loss == pytest.approx(single.val_loss, rel=1e-4)
    assert (member.val_accuracy is None) == (single.val_accuracy is None)
    if member.val_accuracy is not None:
        assert member.val_accuracy == pytest.approx(single.val_accuracy)


def l1_loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return (outputs.squeeze(-1) - targets).abs().mean()


def regression(n: int = 160) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    return x, (np.sin(3 * x[:, 0]) + x[:, 1] ** 2).astype(np.float32)


def classification(n: int = 160) -> tuple[np.ndarray, np.ndarray]:
    x, _ = regression(n)
    return x, (x[:, 0] * x[:, 1] > 0).astype(np.int64)


# --------------------------------------------------------------------------- member k is its own fit


@pytest.mark.parametrize(
    ("loss", "data", "outputs", "options"),
    [
        ("mse", regression, 1, {"optimizer": "adam", "weight_decay": 1e-3, "scheduler": "cosine"}),
        ("cross_entropy", classification, 2, {"optimizer": "sgd", "scheduler": "exponential"}),
        (l1_loss, regression, 1, {"optimizer": "rmsprop", "learning_rate": 3e-3}),
    ],
    ids=["mse-adam", "cross_entropy-sgd", "callable-rmsprop"],
)
def test_member_k_ends_as_a_single_fit_of_member_k_with_its_seed(loss, data, outputs, options):
    x, y = data()
    torch.manual_seed(0)
    stacked = network(K, outputs)
    singles = singles_like(stacked, lambda: network(1, outputs))
    settings = {"learning_rate": 1e-2, "epochs": 6, "batch_size": 32, "validation_split": 0.25} | options

    history = fit(stacked, x, y, loss=loss, members=K, seed=5, **settings)

    for k, single in enumerate(singles):
        single_history = fit(single, x, y, loss=loss, seed=history.seeds[k], **settings)
        assert_member_is_single(stacked, k, single)
        assert_same_run(history.members[k], single_history)
    # Each member drew its own split and batch order: their losses differ.
    assert len({round(run.train_loss[0], 6) for run in history.members}) == K


def test_a_stacked_cnn_member_ends_as_its_single_fit():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (48, 8, 8, 1)).astype(np.uint8)
    labels = (images[:, :4].mean(axis=(1, 2, 3)) > images[:, 4:].mean(axis=(1, 2, 3))).astype(np.int64)

    def build(members: int) -> nn.Module:
        cnn = NatureCNN((8, 8, 1), features=8, members=members)
        return nn.Sequential(cnn, QHead(8, 2, members=members))

    torch.manual_seed(0)
    stacked = build(2)
    single = build(1)
    single.load_state_dict(members_state(stacked, 1))

    history = fit(stacked, images, labels, members=2, epochs=2, batch_size=16, seed=1)
    fit(single, images, labels, epochs=2, batch_size=16, seed=history.seeds[1])

    assert_member_is_single(stacked, 1, single)


# --------------------------------------------------------------------------- early stopping, member by member


def test_each_member_stops_early_on_its_own_and_ends_with_its_best_weights():
    x, y, x_val, y_val = overfitting_regression()
    torch.manual_seed(0)
    stacked = network(K, 1, inputs=1, widths=(64, 64))
    singles = singles_like(stacked, lambda: network(1, 1, inputs=1, widths=(64, 64)))
    patience = 5
    settings = {
        "loss": "mse",
        "learning_rate": 1e-2,
        "epochs": 300,
        "batch_size": 8,
        "validation": (x_val, y_val),
        "early_stopping_patience": patience,
    }

    history = fit(stacked, x, y, members=K, seed=0, **settings)

    runs = history.members
    assert all(run.stopped_early for run in runs) and history.stopped_early
    assert len({len(run.val_loss) for run in runs}) > 1, "the members should stop at different epochs"
    assert len(history.learning_rate) == max(len(run.val_loss) for run in runs)
    for k, (run, single) in enumerate(zip(runs, singles)):
        assert len(run.val_loss) == run.best_epoch + patience + 1
        assert min(run.val_loss) == run.val_loss[run.best_epoch]
        # The member kept training in the stacked model after it stopped; it got its best weights back.
        member = network(1, 1, inputs=1, widths=(64, 64))
        member.load_state_dict(members_state(stacked, k))
        assert evaluate_loss(member, x_val, y_val, loss="mse") == pytest.approx(run.val_loss[run.best_epoch], rel=1e-5)
        assert_same_run(run, fit(single, x, y, seed=history.seeds[k], **settings))
        assert_member_is_single(stacked, k, single)


# --------------------------------------------------------------------------- seeds and History


def test_member_seeds_are_spawned_from_the_seed_and_can_be_given():
    x, y = classification(64)
    options = {"epochs": 2, "batch_size": 16, "validation_split": 0.25}
    torch.manual_seed(0)
    spawned = fit(network(K, 2), x, y, members=K, seed=11, **options)
    expected = [int(c.generate_state(1)[0]) for c in np.random.SeedSequence(11).spawn(K)]
    torch.manual_seed(0)
    given = fit(network(K, 2), x, y, members=K, seeds=expected, **options)

    assert spawned.seeds == expected and len(set(expected)) == K
    assert [run.seeds for run in spawned.members] == [[s] for s in expected]
    assert spawned == given
    torch.manual_seed(0)
    one = network(1, 2)
    twin = network(1, 2)
    twin.load_state_dict(one.state_dict())
    assert fit(one, x, y, seeds=[expected[0]], **options) == fit(twin, x, y, seed=expected[0], **options)


def test_history_of_k_members_holds_one_history_per_member():
    x, y = classification(80)
    torch.manual_seed(0)
    history = fit(
        network(K, 2),
        x,
        y,
        members=K,
        epochs=4,
        batch_size=16,
        learning_rate=0.1,
        scheduler="exponential",
        scheduler_kwargs={"gamma": 0.5},
    )

    assert isinstance(history, History) and len(history.members) == K
    assert history.learning_rate == pytest.approx([0.1 * 0.5**t for t in range(4)])
    assert (history.train_loss, history.val_loss, history.val_accuracy) == ([], [], None)
    for name in ("train_loss", "val_loss", "val_accuracy", "learning_rate"):
        table = history.per_member(name)
        assert table.shape == (K, 4) and not np.isnan(table).any(), name
        assert table[1].tolist() == pytest.approx(getattr(history.members[1], name)), name
    for run in history.members:
        assert len(run.train_loss) == len(run.val_loss) == len(run.val_accuracy) == 4
        assert run.learning_rate == pytest.approx(history.learning_rate)
    single = fit(network(1, 2), x, y, epochs=2, validation_split=0.0)
    assert single.per_member("train_loss").shape == (1, 2) and np.isnan(single.per_member("val_loss")).all()


def test_per_member_pads_members_that_stopped_with_nan():
    x, y, x_val, y_val = overfitting_regression()
    torch.manual_seed(0)
    history = fit(
        network(K, 1, inputs=1, widths=(64, 64)),
        x,
        y,
        loss="mse",
        learning_rate=1e-2,
        epochs=300,
        batch_size=8,
        validation=(x_val, y_val),
        early_stopping_patience=5,
        members=K,
    )
    table = history.per_member("val_loss")
    assert table.shape == (K, len(history.learning_rate))
    for row, run in zip(table, history.members):
        assert row[: len(run.val_loss)].tolist() == pytest.approx(run.val_loss)
        assert np.isnan(row[len(run.val_loss) :]).all()


def test_a_k_member_fit_leaves_the_global_random_state_alone_and_runs_dropout():
    x, y = classification(64)
    model = nn.Sequential(MLP(2, [16], dropout=0.5, members=K), QHead(16, 2, members=K))
    state = torch.random.get_rng_state()
    history = fit(model, x, y, members=K, epochs=2)
    assert torch.equal(state, torch.random.get_rng_state())
    assert all(np.isfinite(run.train_loss).all() for run in history.members)


# --------------------------------------------------------------------------- recurrent members


class RecurrentClassifier(nn.Module):
    """An RNN and a head on its last step's features, with ``members`` members."""

    def __init__(self, cell: str = "lstm", members: int = 1) -> None:
        super().__init__()
        self.rnn = RNN(2, hidden_size=8, cell=cell, num_layers=2, members=members)
        self.logits = QHead(8, 2, members=members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(self.rnn(x)[0][..., -1, :])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_member_k_of_a_stacked_rnn_is_a_single_rnn_and_k_recurrent_members_learn(cell):
    torch.manual_seed(0)
    stacked = RNN(2, hidden_size=8, cell=cell, num_layers=2, members=K)
    x = torch.randn(K, 5, 7, 2)
    features, state = stacked(x)
    h = state[0] if cell == "lstm" else state
    for k in range(K):
        single = RNN(2, hidden_size=8, cell=cell, num_layers=2)
        single.load_state_dict(members_state(stacked, k))
        mine, their_state = single(x[k])
        torch.testing.assert_close(features[k], mine)
        torch.testing.assert_close(h[k], their_state[0] if cell == "lstm" else their_state)

    rng = np.random.default_rng(0)  # is the sum of the first coordinate over 7 steps positive?
    seqs = rng.normal(size=(400, 7, 2)).astype(np.float32)
    labels = (seqs[:, :, 0].sum(axis=1) > 0).astype(np.int64)
    history = fit(
        RecurrentClassifier(cell, members=K),
        seqs,
        labels,
        members=K,
        epochs=15,
        batch_size=32,
        learning_rate=1e-2,
        seed=0,
    )
    assert min(run.val_accuracy[-1] for run in history.members) >= 0.9  # from 0.78-0.93 after the first epoch


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("model", "kwargs", "named"),
    [
        (lambda: network(K, 2), {"members": 2}, f"holds {K} members but fit got members=2"),
        (lambda: network(K, 2), {}, f"pass members={K}"),
        (lambda: network(1, 2), {"members": K}, f"members={K}"),
        (lambda: nn.Sequential(MLP(2, [8], members=K), nn.Linear(8, 2)), {"members": K}, "shared by all"),
        (lambda: network(K, 2), {"members": 0}, "members=0"),
        (lambda: network(K, 2), {"members": K, "seeds": [1, 2]}, "seeds="),
        (lambda: network(K, 2), {"members": K, "seeds": [1, 2, True]}, "seeds="),
        (lambda: network(K, 2), {"members": K, "seeds": [1, 2, -3]}, "seeds="),
        (lambda: network(K, 2), {"members": K, "seed": -1}, "seed=-1"),
        (
            lambda: network(K, 2),
            {"members": K, "validation_split": 0.0, "early_stopping_patience": 2},
            "early stopping",
        ),
        (lambda: network(K, 2), {"members": K, "n": 0}, "no samples"),
        (lambda: network(K, 2), {"members": K, "n": 1, "validation_split": 0.5}, "leaves no training samples"),
    ],
    ids=[
        "wrong-K",
        "stacked-without-members",
        "single-with-members",
        "shared-layer",
        "members-0",
        "seeds-length",
        "seeds-bool",
        "seeds-negative",
        "negative-seed",
        "early-stopping-no-validation",
        "no-samples",
        "too-few-samples",
    ],
)
def test_misuse_is_one_sentence(model, kwargs, named):
    n = kwargs.pop("n", 10)
    x, y = np.zeros((n, 2), np.float32), np.zeros(n, np.int64)
    with pytest.raises(RLSuiteError) as raised:
        fit(model(), x, y, epochs=1, **kwargs)
    message = str(raised.value)
    assert named in message and "\n" not in message and message.endswith("."), message
