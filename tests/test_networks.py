"""Backbones and heads: shapes for every observation space, the documented behaviour of each
module, and one-sentence errors for every bad spec."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from rlsuite.core.errors import RLSuiteError
from rlsuite.nets import (
    ACTIVATIONS,
    MLP,
    RNN,
    ActorHead,
    CriticHead,
    FlattenBatch,
    NatureCNN,
    OneHot,
    QHead,
    make_backbone,
)

BATCH = 5


def sample_batch(space: spaces.Space, seed: int = 0) -> torch.Tensor:
    space.seed(seed)
    return torch.as_tensor(np.stack([space.sample() for _ in range(BATCH)]))


# --------------------------------------------------------------------------- make_backbone


@pytest.mark.parametrize(
    ("space", "first_stage"),
    [
        (spaces.Box(-1, 1, (4,)), MLP),
        (spaces.Box(0, 255, (40, 40, 3), np.uint8), NatureCNN),
        (spaces.Box(0, 255, (4, 36, 36), np.uint8), NatureCNN),
        (spaces.Box(0, 255, (8, 48, 3), np.uint8), NatureCNN),
        (spaces.Box(0, 255, (1, 16, 16), np.uint8), NatureCNN),
        (spaces.Discrete(6), OneHot),
        (spaces.Discrete(3, start=-1), OneHot),
        (spaces.Box(-1, 1, (3, 4)), FlattenBatch),
        (spaces.Box(-1, 1, (2, 3, 4)), FlattenBatch),
        (spaces.Box(-1, 1, ()), FlattenBatch),
        (spaces.MultiBinary(7), FlattenBatch),
    ],
    ids=str,
)
def test_every_space_kind_gives_a_batch_of_features(space, first_stage):
    # One spec for every space, as an agent passes its hyperparameters unchanged.
    backbone = make_backbone(space, {"net_arch": [32, 16], "features": 24})

    features = backbone(sample_batch(space))

    stages = list(backbone) if isinstance(backbone, nn.Sequential) else [backbone]
    assert isinstance(stages[0], first_stage)
    assert features.shape == (BATCH, backbone.out_features)
    assert backbone.out_features == (24 if first_stage is NatureCNN else 16)
    assert torch.isfinite(features).all()


@pytest.mark.parametrize(
    ("shape", "channels_last", "nature_stack"),
    [
        ((84, 84, 4), True, True),
        ((4, 84, 84), False, True),
        ((3, 40, 36), False, True),
        ((8, 48, 3), True, False),
        ((16, 16, 1), True, False),
        ((2, 8, 8), False, False),
    ],
)
def test_cnn_detects_layout_and_picks_a_stack_that_fits(shape, channels_last, nature_stack):
    cnn = NatureCNN(shape, features=32)
    images = torch.randint(0, 256, (BATCH, *shape), dtype=torch.uint8)

    assert cnn.channels_last is channels_last
    assert cnn.uses_small_image_stack is not nature_stack
    assert cnn(images).shape == (BATCH, 32)


def test_nature_stack_is_the_published_one():
    cnn = NatureCNN((84, 84, 4))
    convs = [m for m in cnn.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.stride) for c in convs] == [
        (32, (8, 8), (4, 4)),
        (64, (4, 4), (2, 2)),
        (64, (3, 3), (1, 1)),
    ]
    assert cnn.linear[0].in_features == 64 * 7 * 7 and cnn.out_features == 512


def test_cnn_layout_can_be_overridden():
    # (4, 4, 3) reads as channel-first by default; the caller knows better.
    cnn = NatureCNN((4, 4, 3), channels_last=True, features=8)
    assert cnn.channels_last and cnn.convs[0].in_channels == 3
    assert cnn(torch.zeros(BATCH, 4, 4, 3)).shape == (BATCH, 8)


def test_cnn_scales_uint8_but_not_float():
    cnn = NatureCNN((16, 16, 1), features=8)
    images = torch.randint(0, 256, (BATCH, 16, 16, 1), dtype=torch.uint8)
    assert torch.allclose(cnn(images), cnn(images.float() / 255.0))


def test_image_backbone_is_the_cnn_alone_and_takes_float_input():
    space = spaces.Box(0, 255, (36, 36, 3), np.uint8)
    backbone = make_backbone(space, {"features": 16, "net_arch": [8], "activation": "elu"})
    images = sample_batch(space)
    assert isinstance(backbone, NatureCNN) and backbone.out_features == 16
    assert isinstance(backbone.convs[1], nn.ELU)
    assert torch.allclose(backbone(images), backbone(images.float() / 255.0))


def test_discrete_observations_are_one_hot_encoded():
    backbone = make_backbone(spaces.Discrete(4, start=2), {"net_arch": []})
    indices = torch.tensor([2, 5, 3])
    expected = torch.eye(4)[[0, 3, 1]]
    assert torch.equal(backbone(indices), expected)
    assert torch.equal(backbone(indices.float().unsqueeze(1)), expected)


@pytest.mark.parametrize("indices", [torch.tensor([0, 2]), torch.tensor([[0], [2]]), torch.tensor([0.0, 2.0])])
def test_one_hot_takes_int_or_float_indices_of_shape_b_or_b1(indices):
    assert torch.equal(OneHot(3)(indices), torch.tensor([[1.0, 0, 0], [0, 0, 1]]))


@pytest.mark.parametrize(
    "space",
    [spaces.Dict({"position": spaces.Box(-1, 1, (2,))}), spaces.Tuple((spaces.Discrete(2), spaces.Discrete(3)))],
    ids=["Dict", "Tuple"],
)
def test_composite_spaces_point_to_flatten_observation(space):
    with pytest.raises(RLSuiteError, match=r"gymnasium\.wrappers\.FlattenObservation"):
        make_backbone(space)


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ({"net_arch": [64, -1]}, "net_arch"),
        ({"net_arch": [0]}, "net_arch"),
        ({"net_arch": 64}, "net_arch"),
        ({"activation": "rleu"}, "'relu'"),
        ({"activation": "swish"}, "activation"),
        ({"init": "xavir"}, "'xavier'"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"layer_norm": "yes"}, "layer_norm"),
        ({"features": 0}, "features"),
        ({"net_arc": [64]}, "'net_arch'"),
        ({"hidden": [64]}, "hidden"),
    ],
)
def test_bad_specs_raise_one_sentence_naming_the_problem(spec, named):
    with pytest.raises(RLSuiteError) as raised:
        make_backbone(spaces.Box(-1, 1, (3,)), spec)
    message = str(raised.value)
    assert named in message and "\n" not in message and message.endswith(".")


def test_bad_values_given_to_the_classes_directly_raise_too():
    with pytest.raises(RLSuiteError, match="activation"):
        MLP(3, activation="relux")
    with pytest.raises(RLSuiteError, match="cell"):
        RNN(3, cell="lstn")
    with pytest.raises(RLSuiteError, match="observation_shape"):
        NatureCNN((84, 84))


# --------------------------------------------------------------------------- MLP, RNN


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("init", ["he", "kaiming", "xavier", "orthogonal"])
def test_mlp_builds_with_every_activation_and_init(activation, init):
    mlp = MLP(3, [8, 4], activation=activation, init=init)
    assert mlp(torch.randn(BATCH, 3)).shape == (BATCH, 4)
    assert all((layer.bias == 0).all() for layer in mlp.modules() if isinstance(layer, nn.Linear))


def test_mlp_with_no_layers_is_the_identity():
    mlp = MLP(3, [])
    x = torch.randn(BATCH, 3)
    assert mlp.out_features == 3 and torch.equal(mlp(x), x)


def test_mlp_layer_norm_and_dropout_are_where_asked():
    mlp = MLP(3, [8, 8], layer_norm=True, dropout=0.5)
    kinds = [type(m) for m in mlp.layers]
    assert kinds == [nn.Linear, nn.LayerNorm, nn.ReLU, nn.Dropout] * 2
    assert not any(isinstance(m, (nn.LayerNorm, nn.Dropout)) for m in MLP(3, [8]).modules())


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_rnn_returns_every_step_and_a_state_that_continues_the_sequence(cell):
    rnn = RNN(3, hidden_size=6, cell=cell, num_layers=2)
    x = torch.randn(BATCH, 7, 3)

    features, _ = rnn(x)
    first_half, state = rnn(x[:, :4])
    second_half, _ = rnn(x[:, 4:], state)

    assert rnn.out_features == 6 and features.shape == (BATCH, 7, 6)
    assert torch.allclose(torch.cat([first_half, second_half], dim=1), features, atol=1e-6)
    from_zero, _ = rnn(x, rnn.initial_state(BATCH))
    assert torch.allclose(from_zero, features)


def test_lstm_forget_gate_starts_open():
    rnn = RNN(3, hidden_size=4, cell="lstm")
    layer = rnn.recurrent
    total_bias = layer.bias_ih_l0 + layer.bias_hh_l0
    assert torch.equal(total_bias, torch.tensor([0.0] * 4 + [1.0] * 4 + [0.0] * 8))


# --------------------------------------------------------------------------- heads


@pytest.mark.parametrize("dueling", [False, True])
def test_q_head_gives_one_value_per_action(dueling):
    head = QHead(16, 5, dueling=dueling)
    assert head(torch.randn(BATCH, 16)).shape == (BATCH, 5)


def test_dueling_q_values_average_to_the_state_value():
    head = QHead(16, 5, dueling=True)
    features = torch.randn(BATCH, 16)
    q = head(features)
    assert torch.allclose(q.mean(dim=1, keepdim=True), head.value(features), atol=1e-6)
    advantage = head.advantage(features)
    assert torch.allclose(q - q.mean(dim=1, keepdim=True), advantage - advantage.mean(dim=1, keepdim=True), atol=1e-6)


@pytest.mark.parametrize(
    "space", [spaces.Box(-1, 1, (4,)), spaces.Box(0, 255, (36, 36, 4), np.uint8), spaces.Discrete(9)], ids=str
)
def test_q_network_from_backbone_and_head(space):
    backbone = make_backbone(space, {"net_arch": [32, 32], "activation": "relu", "features": 64})
    q_network = nn.Sequential(backbone, QHead(backbone.out_features, 3, dueling=True))
    assert q_network(sample_batch(space)).shape == (BATCH, 3)


ASYMMETRIC_LOW, ASYMMETRIC_HIGH = np.array([-2.0], np.float32), np.array([0.5], np.float32)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e4, 1e4, allow_nan=False, width=32), min_size=8, max_size=8),
    st.floats(0.01, 1e3),
)
def test_actor_head_stays_within_asymmetric_bounds(feature_values, weight_scale):
    torch.manual_seed(0)
    head = ActorHead(8, ASYMMETRIC_LOW, ASYMMETRIC_HIGH)
    with torch.no_grad():
        head.linear.weight.mul_(weight_scale)
    action = head(torch.tensor([feature_values]))
    assert action.shape == (1, 1)
    assert ASYMMETRIC_LOW[0] <= action.item() <= ASYMMETRIC_HIGH[0]


def test_actor_head_maps_the_tanh_range_onto_the_bounds():
    head = ActorHead(1, torch.tensor([-2.0, 0.0]), torch.tensor([0.5, 3.0]))
    with torch.no_grad():
        head.linear.weight.fill_(1.0)
    actions = head(torch.tensor([[-100.0], [0.0], [100.0]]))
    expected = torch.tensor([[-2.0, 0.0], [-0.75, 1.5], [0.5, 3.0]])
    assert torch.allclose(actions, expected)


def test_actor_head_bounds_are_buffers_that_follow_the_module():
    head = ActorHead(4, np.array([-1.0, -2.0]), np.array([1.0, 0.5]))
    assert {"action_low", "action_high"} <= set(head.state_dict())
    assert head.double().action_low.dtype == torch.float64
    assert head(torch.randn(BATCH, 4, dtype=torch.float64)).shape == (BATCH, 2)


def test_actor_head_keeps_a_multidimensional_action_shape():
    head = ActorHead(4, -np.ones((2, 3)), np.ones((2, 3)))
    assert head(torch.randn(BATCH, 4)).shape == (BATCH, 2, 3)


@pytest.mark.parametrize(
    ("low", "high", "complaint"),
    [(-np.inf, 1.0, "finite"), (1.0, -1.0, "exceeds"), (np.zeros(2), np.ones(3), "do not match")],
)
def test_actor_head_rejects_unusable_bounds(low, high, complaint):
    with pytest.raises(RLSuiteError, match=complaint):
        ActorHead(4, low, high)


def test_critic_head_scores_a_feature_action_pair_with_one_number():
    critic = CriticHead(16, 3, net_arch=[32, 32])
    q = critic(torch.randn(BATCH, 16), torch.randn(BATCH, 3))
    assert q.shape == (BATCH,)
    q.sum().backward()
    assert critic.output.weight.grad is not None
