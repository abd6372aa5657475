"""Stacked networks (``members=K``): member k of a stacked module computes, starts, trains and
clips exactly as a single network would, and every misuse is a one-sentence RLSuiteError."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from gymnasium import spaces
from torch import nn
from torch.nn import functional as F

from rlsuite.core.errors import RLSuiteError
from rlsuite.nets import (
    MLP,
    RNN,
    ActorHead,
    Chain,
    CriticHead,
    FlattenBatch,
    NatureCNN,
    OneHot,
    QHead,
    StackedLinear,
    clip_grad_norm_per_member,
    load_member,
    make_backbone,
    members_of,
    members_state,
)
from rlsuite.nets.stacked import GROUPED_CONV_MAX_BATCH
from rlsuite.nets.torchutil import polyak_update

K, BATCH = 3, 5


def q_network(space: spaces.Space, members: int, dueling: bool = False, spec: dict | None = None) -> nn.Sequential:
    backbone = make_backbone(space, spec or {"net_arch": [16, 8], "features": 12}, members=members)
    return nn.Sequential(backbone, QHead(backbone.out_features, 3, dueling=dueling, members=members))


def member_batches(space: spaces.Space, members: int = K, seed: int = 0) -> torch.Tensor:
    """(members, BATCH, *space.shape): a different batch for every member."""
    space.seed(seed)
    return torch.as_tensor(np.stack([[space.sample() for _ in range(BATCH)] for _ in range(members)]))


def single_like(stacked: nn.Module, k: int, build) -> nn.Module:
    """A single-member network built by ``build`` and loaded with member k of ``stacked``."""
    single = build()
    single.load_state_dict(members_state(stacked, k))
    return single


def assert_states_equal(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for key in a:
        assert a[key].shape == b[key].shape, key
        assert torch.equal(a[key], b[key]), key


# --------------------------------------------------------------------------- member k is a single network

SPACES = [
    spaces.Box(-1, 1, (4,)),
    spaces.Box(0, 255, (36, 36, 4), np.uint8),
    spaces.Box(0, 255, (4, 36, 36), np.uint8),
    spaces.Box(0, 255, (1, 16, 16), np.uint8),
    spaces.Discrete(6, start=1),
    spaces.Box(-1, 1, (3, 2)),
    spaces.MultiBinary(5),
]


@pytest.mark.parametrize("space", SPACES, ids=str)
@pytest.mark.parametrize("dueling", [False, True], ids=["plain", "dueling"])
def test_member_k_of_a_stacked_q_network_is_a_single_q_network(space, dueling):
    torch.manual_seed(0)
    stacked = q_network(space, K, dueling)
    x = member_batches(space)

    q = stacked(x)

    assert q.shape == (K, BATCH, 3)
    for k in range(K):
        single = single_like(stacked, k, lambda: q_network(space, 1, dueling))
        assert torch.allclose(q[k], single(x[k]), atol=1e-5), k


@pytest.mark.parametrize("shape", [(36, 36, 4), (4, 36, 36), (12, 12, 3)], ids=str)
def test_stacked_cnn_computes_the_same_grouped_or_member_by_member(shape):
    # A few images per member go through one grouped convolution, a training batch through
    # each member's convolutions in turn; both are the same function.
    torch.manual_seed(0)
    cnn = NatureCNN(shape, features=16, members=K)
    images = torch.randint(0, 256, (K, GROUPED_CONV_MAX_BATCH + 3, *shape), dtype=torch.uint8)

    whole = cnn(images)

    for start in range(0, images.shape[1], 2):
        assert torch.allclose(cnn(images[:, start : start + 2]), whole[:, start : start + 2], atol=1e-5)
    single = single_like(cnn, 1, lambda: NatureCNN(shape, features=16))
    assert torch.allclose(cnn(images[:, :1])[1], single(images[1, :1]), atol=1e-5)


def test_member_k_of_a_stacked_mlp_with_layer_norm_is_a_single_mlp():
    torch.manual_seed(0)
    stacked = MLP(4, [16, 8], layer_norm=True, dropout=0.0, members=K)
    with torch.no_grad():  # move the norms' scale and shift off their starting values
        for _name, p in stacked.named_parameters():
            p.add_(0.1 * torch.randn_like(p))
    x = torch.randn(K, BATCH, 4)
    for k in range(K):
        single = single_like(stacked, k, lambda: MLP(4, [16, 8], layer_norm=True))
        assert torch.allclose(stacked(x)[k], single(x[k]), atol=1e-5)


def test_actor_head_members_share_bounds_and_act_as_single_heads():
    torch.manual_seed(0)
    low, high = np.array([-2.0, 0.0]), np.array([0.5, 3.0])
    stacked = ActorHead(8, low, high, members=K)
    with torch.no_grad():
        stacked.linear.weight.mul_(300.0)  # reach the saturated ends of tanh too
    features = torch.randn(K, BATCH, 8)

    actions = stacked(features)

    assert actions.shape == (K, BATCH, 2)
    assert (actions >= torch.tensor(low, dtype=torch.float32)).all()
    assert (actions <= torch.tensor(high, dtype=torch.float32)).all()
    for k in range(K):
        single = single_like(stacked, k, lambda: ActorHead(8, low, high))
        assert torch.allclose(actions[k], single(features[k]), atol=1e-6)


def test_actor_head_keeps_a_multidimensional_action_shape_per_member():
    head = ActorHead(4, -np.ones((2, 3)), np.ones((2, 3)), members=K)
    assert head(torch.randn(K, BATCH, 4)).shape == (K, BATCH, 2, 3)


@pytest.mark.parametrize("action_shape", [(2,), ()], ids=["vector", "scalar"])
def test_critic_head_member_k_scores_as_a_single_critic(action_shape):
    torch.manual_seed(0)
    action_dim = max(1, int(np.prod(action_shape)))
    stacked = CriticHead(6, action_dim, net_arch=[16, 16], members=K)
    features, actions = torch.randn(K, BATCH, 6), torch.randn(K, BATCH, *action_shape)

    q = stacked(features, actions)

    assert q.shape == (K, BATCH)
    for k in range(K):
        single = single_like(stacked, k, lambda: CriticHead(6, action_dim, net_arch=[16, 16]))
        assert torch.allclose(q[k], single(features[k], actions[k]), atol=1e-5)


def test_stacked_mlp_takes_extra_batch_axes():
    mlp = MLP(4, [8], members=K)
    x = torch.randn(K, 2, BATCH, 4)
    assert torch.allclose(mlp(x), mlp(x.reshape(K, -1, 4)).reshape(K, 2, BATCH, 8))
    linear = StackedLinear(4, 2, K)
    nn.init.normal_(linear.weight), nn.init.normal_(linear.bias)
    assert torch.allclose(linear(x), linear(x.reshape(K, -1, 4)).reshape(K, 2, BATCH, 2))


def test_members_state_has_the_keys_shapes_and_order_of_a_single_network():
    for stacked, single in [
        (q_network(SPACES[1], K, dueling=True), q_network(SPACES[1], 1, dueling=True)),
        (MLP(3, [8, 8], layer_norm=True, members=K), MLP(3, [8, 8], layer_norm=True)),
        (ActorHead(4, -1.0, 1.0, members=K), ActorHead(4, -1.0, 1.0)),
        (CriticHead(4, 2, members=K), CriticHead(4, 2)),
    ]:
        state, expected = members_state(stacked, K - 1), single.state_dict()
        assert list(state) == list(expected)
        assert [v.shape for v in state.values()] == [v.shape for v in expected.values()]


# --------------------------------------------------------------------------- initialisation


@pytest.mark.parametrize("init", ["torch", "he", "xavier", "orthogonal"])
def test_members_start_as_single_networks_built_one_after_another(init):
    builders = {
        "mlp": lambda m: MLP(4, [16, 8], init=init, members=m),
        "q head": lambda m: QHead(8, 3, dueling=True, members=m),
        "cnn": lambda m: NatureCNN((4, 36, 36), features=16, init=init, members=m),
        "small cnn": lambda m: NatureCNN((12, 12, 3), features=16, init=init, members=m),
        "actor": lambda m: ActorHead(8, -1.0, 1.0, members=m),
        "critic": lambda m: CriticHead(8, 2, net_arch=[16], init=init, members=m),
    }
    for name, build in builders.items():
        torch.manual_seed(7)
        stacked = build(K)
        after_stacked = torch.get_rng_state()
        torch.manual_seed(7)
        singles = [build(1) for _ in range(K)]

        assert torch.equal(after_stacked, torch.get_rng_state()), f"{name} draws differently"
        for k, single in enumerate(singles):
            assert_states_equal(members_state(stacked, k), single.state_dict())
        first, second = members_state(stacked, 0), members_state(stacked, 1)
        assert any(not torch.equal(first[key], second[key]) for key in first if key.endswith("weight")), name


def test_one_member_is_the_plain_torch_network():
    torch.manual_seed(3)
    network = q_network(SPACES[0], 1, dueling=True)
    assert not any(isinstance(m, StackedLinear) for m in network.modules())
    assert members_of(network) == 1
    assert_states_equal(members_state(network, 0), network.state_dict())


# --------------------------------------------------------------------------- moving members in and out


def test_load_member_puts_one_network_in_and_leaves_the_others():
    torch.manual_seed(0)
    stacked = q_network(SPACES[3], K, dueling=True)
    before = [members_state(stacked, k) for k in range(K)]
    replacement = q_network(SPACES[3], 1, dueling=True)

    load_member(stacked, 1, replacement)

    assert_states_equal(members_state(stacked, 1), replacement.state_dict())
    for k in (0, 2):
        assert_states_equal(members_state(stacked, k), before[k])
    load_member(stacked, 1, before[1])  # a state dict works too
    assert_states_equal(members_state(stacked, 1), before[1])


def test_members_of_reads_composed_modules():
    assert members_of(q_network(SPACES[0], K)) == K
    assert members_of(make_backbone(spaces.Discrete(4), members=K)) == K
    assert members_of(nn.Sequential(MLP(3, [4], members=2), nn.ReLU())) == 2
    with pytest.raises(RLSuiteError, match="mixes"):
        members_of(nn.Sequential(MLP(3, [4], members=2), MLP(4, [4], members=3)))


@pytest.mark.parametrize("k", [-1, K, 1.0, True])
def test_a_member_index_outside_the_members_is_refused(k):
    with pytest.raises(RLSuiteError, match="member k="):
        members_state(MLP(3, [4], members=K), k)


def test_a_single_network_that_does_not_fit_is_refused():
    stacked = MLP(3, [4, 4], members=K)
    for wrong in (MLP(3, [4]), MLP(3, [4, 5]), MLP(3, [4, 4], layer_norm=True)):
        with pytest.raises(RLSuiteError, match="members=1") as raised:
            load_member(stacked, 0, wrong)
        assert "\n" not in str(raised.value)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("members", [0, -2, 1.5, "3", True, None])
def test_members_must_be_a_positive_integer(members):
    for build in (
        lambda: MLP(3, members=members),
        lambda: QHead(4, 2, members=members),
        lambda: ActorHead(4, -1.0, 1.0, members=members),
        lambda: CriticHead(4, 2, members=members),
        lambda: NatureCNN((4, 36, 36), members=members),
        lambda: OneHot(3, members=members),
        lambda: FlattenBatch((2, 3), members=members),
        lambda: make_backbone(spaces.Box(-1, 1, (3,)), members=members),
        lambda: clip_grad_norm_per_member([], 1.0, members),
    ):
        with pytest.raises(RLSuiteError, match="members=") as raised:
            build()
        message = str(raised.value)
        assert "\n" not in message and message.endswith(".")


@pytest.mark.parametrize(
    ("module", "bad_input"),
    [
        (MLP(4, [8], members=K), torch.zeros(BATCH, 4)),
        (MLP(4, [8], members=K), torch.zeros(K, 4)),
        (MLP(4, [8], members=K), torch.zeros(K + 1, BATCH, 4)),
        (QHead(4, 2, members=K), torch.zeros(BATCH, 4)),
        (QHead(4, 2, dueling=True, members=K), torch.zeros(2, BATCH, 4)),
        (ActorHead(4, -1.0, 1.0, members=K), torch.zeros(BATCH, 4)),
        (NatureCNN((4, 36, 36), features=8, members=K), torch.zeros(BATCH, 4, 36, 36)),
        (NatureCNN((36, 36, 4), features=8, members=K), torch.zeros(BATCH, 36, 36, 4, dtype=torch.uint8)),
        (OneHot(4, members=K), torch.zeros(BATCH, dtype=torch.long)),
        (FlattenBatch((2, 3), members=K), torch.zeros(BATCH, 2, 3)),
        (StackedLinear(4, 2, K), torch.zeros(BATCH, 4)),
        (make_backbone(spaces.Discrete(4), members=K), torch.zeros(BATCH, dtype=torch.long)),
        (RNN(4, hidden_size=3, members=K), torch.zeros(BATCH, 5, 4)),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, nn.Module) else str(tuple(value.shape)),
)
def test_input_without_the_member_axis_is_one_sentence(module, bad_input):
    with pytest.raises(RLSuiteError, match=rf"{K}-member .*leading member axis") as raised:
        module(bad_input)
    assert "\n" not in str(raised.value)


def test_critic_refuses_features_or_actions_without_the_member_axis():
    critic = CriticHead(4, 2, members=K)
    with pytest.raises(RLSuiteError, match="member axis"):
        critic(torch.zeros(BATCH, 4), torch.zeros(K, BATCH, 2))
    with pytest.raises(RLSuiteError, match="action"):
        critic(torch.zeros(K, BATCH, 4), torch.zeros(BATCH, 2))


def test_chain_and_one_hot_take_both_index_layouts():
    backbone = make_backbone(spaces.Discrete(4, start=2), {"net_arch": []}, members=K)
    indices = torch.tensor([[2, 5], [3, 3], [4, 2]])
    expected = torch.eye(4)[indices - 2]
    assert isinstance(backbone, Chain) and backbone.members == K
    assert torch.equal(backbone(indices), expected)
    assert torch.equal(backbone(indices.float().unsqueeze(-1)), expected)


# --------------------------------------------------------------------------- training, member by member


def separate(stacked: nn.Module, build) -> list[nn.Module]:
    return [single_like(stacked, k, build) for k in range(members_of(stacked))]


def test_per_member_clipping_equals_torch_clipping_each_member_apart():
    torch.manual_seed(0)
    stacked = q_network(SPACES[1], K, dueling=True)
    singles = separate(stacked, lambda: q_network(SPACES[1], 1, dueling=True))
    x = member_batches(SPACES[1])
    scales = torch.tensor([1e-3, 1.0, 50.0])  # one member under the limit, the others above
    (stacked(x).pow(2).mean(dim=(1, 2)) * scales).sum().backward()
    for k, single in enumerate(singles):
        (single(x[k]).pow(2).mean() * scales[k]).backward()
    max_norm = 0.5

    norms = clip_grad_norm_per_member(stacked.parameters(), max_norm, K)

    for k, single in enumerate(singles):
        expected_norm = torch.nn.utils.clip_grad_norm_(single.parameters(), max_norm)
        assert torch.allclose(norms[k], expected_norm, rtol=1e-4)
        clipped = {name: p.grad for name, p in single.named_parameters()}
        stacked_k = _member_grads(stacked, k)
        for name, grad in clipped.items():
            assert torch.allclose(stacked_k[name], grad, rtol=1e-4, atol=1e-7), name
    assert norms[0] < max_norm < norms[2]


def _member_grads(stacked: nn.Module, k: int) -> dict[str, torch.Tensor]:
    """Member k's gradients, named and shaped as a single network's parameters."""
    with_grads = copy.deepcopy(stacked)
    with torch.no_grad():
        for p, source in zip(with_grads.parameters(), stacked.parameters()):
            p.copy_(source.grad)
    return members_state(with_grads, k)


def test_per_member_clipping_with_one_member_is_torch_clipping():
    torch.manual_seed(0)
    network = MLP(4, [16, 8])
    twin = copy.deepcopy(network)
    x = torch.randn(BATCH, 4)
    network(x).pow(2).sum().backward()
    twin(x).pow(2).sum().backward()

    norm = clip_grad_norm_per_member(network.parameters(), 0.1, 1)

    assert torch.allclose(norm[0], torch.nn.utils.clip_grad_norm_(twin.parameters(), 0.1))
    for p, q in zip(network.parameters(), twin.parameters()):
        assert torch.allclose(p.grad, q.grad)
    before = [p.grad.clone() for p in network.parameters()]
    clip_grad_norm_per_member(network.parameters(), 1.0, 1)  # under the bound now: untouched
    for p, grad in zip(network.parameters(), before):
        torch.testing.assert_close(p.grad, grad)


def test_per_member_clipping_refuses_parameters_without_the_member_axis():
    network = MLP(4, [8])
    network(torch.randn(BATCH, 4)).sum().backward()
    with pytest.raises(RLSuiteError, match="member axis"):
        clip_grad_norm_per_member(network.parameters(), 1.0, K)


def test_a_soft_target_update_of_a_stacked_network_is_one_per_member():
    torch.manual_seed(0)
    online, target = ActorHead(6, -1.0, 1.0, members=K), ActorHead(6, -1.0, 1.0, members=K)
    singles_online = separate(online, lambda: ActorHead(6, -1.0, 1.0))
    singles_target = separate(target, lambda: ActorHead(6, -1.0, 1.0))

    polyak_update(online, target, 0.05)

    for k in range(K):
        polyak_update(singles_online[k], singles_target[k], 0.05)
        assert_close_states(members_state(target, k), singles_target[k].state_dict())


def assert_close_states(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for key in a:
        assert torch.allclose(a[key], b[key], rtol=1e-5, atol=1e-7), key


@pytest.mark.parametrize("implementation", ["foreach", "fused"])
def test_adam_on_a_stacked_mlp_steps_each_member_as_its_own_adam(implementation):
    torch.manual_seed(0)
    stacked = MLP(4, [16, 8], members=K)
    singles = separate(stacked, lambda: MLP(4, [16, 8]))
    options = {implementation: True, "lr": 1e-2}
    optimizers = [torch.optim.Adam(stacked.parameters(), **options)]
    optimizers += [torch.optim.Adam(single.parameters(), **options) for single in singles]
    x, y = torch.randn(K, BATCH, 4), torch.randn(K, BATCH, 8)

    for _ in range(3):  # more than one step, so Adam's moments take part
        for optimizer in optimizers:
            optimizer.zero_grad()
        F.mse_loss(stacked(x), y, reduction="none").mean(dim=(1, 2)).sum().backward()
        for k, single in enumerate(singles):
            F.mse_loss(single(x[k]), y[k]).backward()
        for optimizer in optimizers:
            optimizer.step()

    for k, single in enumerate(singles):
        assert_close_states(members_state(stacked, k), single.state_dict())


def test_a_dqn_update_of_stacked_members_is_k_separate_updates():
    """Huber loss on Q(s, a), per-member clipping and Adam: the update the DQN agent makes."""
    torch.manual_seed(0)
    stacked = q_network(SPACES[0], K, spec={"net_arch": [32, 32]})
    singles = separate(stacked, lambda: q_network(SPACES[0], 1, spec={"net_arch": [32, 32]}))
    optimizers = [torch.optim.Adam(n.parameters(), lr=1e-3) for n in (stacked, *singles)]
    obs, actions, targets = member_batches(SPACES[0]), torch.randint(0, 3, (K, BATCH)), 10 * torch.randn(K, BATCH)

    q = stacked(obs).gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    F.smooth_l1_loss(q, targets, reduction="none").mean(dim=1).sum().backward()
    clip_grad_norm_per_member(stacked.parameters(), 1.0, K)
    for k, single in enumerate(singles):
        q_k = single(obs[k]).gather(-1, actions[k].unsqueeze(-1)).squeeze(-1)
        F.smooth_l1_loss(q_k, targets[k]).backward()
        torch.nn.utils.clip_grad_norm_(single.parameters(), 1.0)
    for optimizer in optimizers:
        optimizer.step()

    for k, single in enumerate(singles):
        assert_close_states(members_state(stacked, k), single.state_dict())


@pytest.mark.parametrize("rows", [1, 2, 64], ids=["one row", "as many rows as outputs", "more rows than outputs"])
def test_a_stacked_linear_layer_computes_and_differentiates_as_member_by_member_linear_layers(rows):
    # more rows than outputs takes the transposed products: the same numbers, forward and backward
    torch.manual_seed(0)
    layer = StackedLinear(16, 2, members=3).double()
    with torch.no_grad():
        layer.weight.normal_()
        layer.bias.normal_()
    x = torch.randn(3, rows, 16, dtype=torch.double, requires_grad=True)
    out = layer(x)
    expected = torch.stack([F.linear(x[k], layer.weight[k].T, layer.bias[k, 0]) for k in range(3)])
    torch.testing.assert_close(out, expected)
    assert torch.autograd.gradcheck(layer, (x,))
    grad = torch.randn_like(out)
    mine = torch.autograd.grad(out, (x, layer.weight, layer.bias), grad)
    theirs = torch.autograd.grad(expected, (x, layer.weight, layer.bias), grad)
    for a, b in zip(mine, theirs):
        torch.testing.assert_close(a, b)
