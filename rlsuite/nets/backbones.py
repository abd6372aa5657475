"""Backbones: modules that turn an observation batch into a feature vector of width ``out_features``.

The same backbone class is trained on labelled data by :func:`rlsuite.nets.supervised.fit` and
used inside an agent through :func:`make_backbone`, with a head from :mod:`rlsuite.nets.heads`
on top::

    backbone = make_backbone(env.observation_space, {"net_arch": [64, 64]})
    q_network = nn.Sequential(backbone, QHead(backbone.out_features, env.action_space.n))

Every backbone takes ``members=K`` to hold K independent networks at once, input and output
carrying a leading member axis (K, B, ...); see :mod:`rlsuite.nets.stacked` (and, for the RNN,
:mod:`rlsuite.nets.recurrent`).

Every value a user can get wrong raises :class:`rlsuite.core.errors.RLSuiteError` with one
sentence that names the bad value and the valid choices.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, TypeGuard

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from torch import nn
from torch.nn import functional as F

from rlsuite.core.errors import RLSuiteError
from rlsuite.nets.checks import (
    ACTIVATIONS,
    check_activation,
    check_backbone_spec,
    check_dropout,
    check_flag,
    check_members,
    check_net_arch,
    check_positive_int,
    choose,
    initialize,
)
from rlsuite.nets.stacked import (
    StackedConv2d,
    StackedLayerNorm,
    StackedLinear,
    UngroupMembers,
    require_member_axis,
    run_conv_stack,
    stack_members,
)

DEFAULT_NET_ARCH: tuple[int, ...] = (64, 64)


def as_float(x: torch.Tensor) -> torch.Tensor:
    """``x`` in torch's default float type, the networks' (float32): the one place where observations of
    any real dtype — float64 (every MuJoCo env), float16, ints, bools — meet the weights."""
    dtype = torch.get_default_dtype()
    return x if x.dtype == dtype else x.to(dtype)


# --------------------------------------------------------------------------- backbones


class MLP(nn.Module):
    """Fully connected layers: Linear → [LayerNorm] → activation → [Dropout], per width.

    The output is the last hidden layer, so ``out_features == net_arch[-1]``; an empty
    ``net_arch`` is the identity with ``out_features == in_features``. Integer inputs are
    cast to float, so a Box of ints or a MultiBinary needs no preprocessing.

    ``members=K`` stacks K independent MLPs: input (K, ..., in_features) → (K, ...,
    out_features), and member k starts with the weights of the k-th of K single MLPs built
    one after another, whatever ``init``.
    """

    def __init__(
        self,
        in_features: int,
        net_arch: Sequence[int] = DEFAULT_NET_ARCH,
        activation: str = "relu",
        init: str = "he",
        layer_norm: bool = False,
        dropout: float = 0.0,
        members: int = 1,
    ) -> None:
        super().__init__()
        in_features = check_positive_int("in_features", in_features)
        widths = check_net_arch(net_arch)
        activation_class = ACTIVATIONS[check_activation(activation)]
        dropout = check_dropout(dropout)
        layer_norm = check_flag("layer_norm", layer_norm)
        self.members = members = check_members(members)

        layers: list[nn.Module] = []
        width_in = in_features
        for width in widths:
            layers.append(nn.Linear(width_in, width) if members == 1 else StackedLinear(width_in, width, members))
            if layer_norm:
                layers.append(nn.LayerNorm(width) if members == 1 else StackedLayerNorm(width, members))
            layers.append(activation_class())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width_in = width
        self.layers = nn.Sequential(*layers)
        self.in_features = in_features
        self.out_features = width_in
        if members == 1:
            initialize(self, init, activation)
        else:
            stack_members(
                self, [MLP(in_features, widths, activation, init, layer_norm, dropout) for _ in range(members)]
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., in_features) → (..., out_features); with K members (K, ..., in) → (K, ..., out)."""
        if self.members > 1:
            require_member_axis(x, self.members, "MLP")
            if x.dim() > 3:
                flat = as_float(x).reshape(self.members, -1, x.shape[-1])
                return self.layers(flat).reshape(*x.shape[:-1], self.out_features)
        return self.layers(as_float(x))


def _conv_output_shape(stack: nn.Module, channels: int, height: int, width: int) -> torch.Size:
    with torch.no_grad():
        return stack(torch.zeros(1, channels, height, width)).shape


class NatureCNN(nn.Module):
    """The Nature-DQN convolutional stack followed by one Linear layer of ``features`` units.

    Convolutions: 32 filters 8×8 stride 4, 64 filters 4×4 stride 2, 64 filters 3×3 stride 1,
    each followed by ``activation``; then flatten → Linear → ``activation``. The flatten width
    comes from one dummy forward pass, so any image at least 36×36 pixels works.

    Images smaller than 36 pixels on a side cannot pass the Nature kernels (the stack would
    shrink them below one pixel), so they get a small stack instead of an error: three padded
    3×3 convolutions with 32, 64, 64 filters and strides 1, 2, 2. Padding keeps every size
    valid down to 1×1, and the two stride-2 layers keep the flattened width (and so the Linear
    layer) small. ``stack="minatar"`` is the MinAtar paper's network instead: one 3×3
    convolution of 16 filters (then the Linear layer, 128 units in the paper), which
    :func:`make_backbone` picks for boolean images. ``stack`` and ``uses_small_image_stack`` say
    which stack was built.

    Input is a batch (B, H, W, C) when ``channels_last`` else (B, C, H, W), in the layout of
    ``observation_shape``. ``channels_last=None`` guesses it: channel-last when the last
    dimension is ≤ 4 and the first is > 4. uint8 input is scaled to [0, 1] inside ``forward``
    so replay buffers can store bytes; float input is used as given.

    ``members=K`` stacks K independent CNNs, input (K, B, *observation_shape) → (K, B,
    features), member k starting as the k-th of K single CNNs built one after another. On a
    CPU the members' convolutions run as one grouped convolution for a few images per member
    (acting) and one member at a time for training batches, whichever was faster there
    (:func:`rlsuite.nets.stacked.run_conv_stack`).
    """

    NATURE_MIN_SIZE = 36
    #: (filters, kernel, stride, padding) of each convolution
    STACKS = {
        "nature": [(32, 8, 4, 0), (64, 4, 2, 0), (64, 3, 1, 0)],
        "small": [(32, 3, 1, 1), (64, 3, 2, 1), (64, 3, 2, 1)],
        "minatar": [(16, 3, 1, 0)],  # Young & Tian (2019): one 3×3 convolution of 16 filters
    }

    def __init__(
        self,
        observation_shape: Sequence[int],
        channels_last: bool | None = None,
        features: int = 512,
        activation: str = "relu",
        init: str = "orthogonal",
        members: int = 1,
        stack: str = "auto",
    ) -> None:
        super().__init__()
        self.members = members = check_members(members)
        shape = tuple(int(d) for d in observation_shape)
        if len(shape) != 3 or min(shape) < 1:
            raise RLSuiteError(
                f"NatureCNN needs an image shape (H, W, C) or (C, H, W), got observation_shape={shape!r}."
            )
        if channels_last is None:
            channels_last = shape[-1] <= 4 and shape[0] > 4
        self.channels_last = check_flag("channels_last", channels_last)
        channels, height, width = (shape[2], shape[0], shape[1]) if self.channels_last else shape
        features = check_positive_int("features", features)
        activation_class = ACTIVATIONS[check_activation(activation)]

        if stack == "auto":
            stack = "small" if min(height, width) < self.NATURE_MIN_SIZE else "nature"
        self.stack = choose("convolution stack", stack, tuple(self.STACKS))
        self.uses_small_image_stack = self.stack != "nature"
        kernels = self.STACKS[self.stack]
        stacked = members > 1
        conv = partial(StackedConv2d, members=members) if stacked else nn.Conv2d
        conv_layers: list[nn.Module] = []
        channels_in = channels
        for filters, kernel, stride, padding in kernels:
            conv_layers += [conv(channels_in, filters, kernel, stride, padding), activation_class()]
            channels_in = filters
        self.convs = nn.Sequential(*conv_layers, UngroupMembers(members) if stacked else nn.Flatten())
        flat_width = _conv_output_shape(self.convs, members * channels, height, width)[-1]
        linear = StackedLinear(flat_width, features, members) if stacked else nn.Linear(flat_width, features)
        self.linear = nn.Sequential(linear, activation_class())
        self.observation_shape = shape
        self.out_features = features
        if stacked:
            stack_members(
                self,
                [NatureCNN(shape, self.channels_last, features, activation, init, stack=stack) for _ in range(members)],
            )
        else:
            initialize(self, init, activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, *observation_shape) uint8 or float → (B, features); with K members (K, B, ...) → (K, B, ...)."""
        if self.members > 1:
            require_member_axis(x, self.members, "NatureCNN", min_dim=5, max_dim=5)
        x = x.to(torch.get_default_dtype()) / 255.0 if x.dtype == torch.uint8 else as_float(x)
        if self.members == 1:
            return self.linear(self.convs(x.permute(0, 3, 1, 2) if self.channels_last else x))
        return self.linear(run_conv_stack(self.convs, x.permute(0, 1, 4, 2, 3) if self.channels_last else x))


class OneHot(nn.Module):
    """Index tensor of shape (B,) or (B, 1), int or float, → one-hot float (B, n).

    ``start`` is subtracted first, matching ``gymnasium.spaces.Discrete(n, start=...)``. With
    ``members=K`` the input has a leading member axis: (K, B) or (K, B, 1) → (K, B, n).
    """

    def __init__(self, n: int, start: int = 0, members: int = 1) -> None:
        super().__init__()
        self.n = check_positive_int("n", n)
        self.start = int(start)
        self.out_features = self.n
        self.members = check_members(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B,) or (B, 1) → (B, n); with K members (K, B) or (K, B, 1) → (K, B, n)."""
        if self.members > 1:
            require_member_axis(x, self.members, "OneHot", min_dim=2, max_dim=3)
        if x.dim() == (2 if self.members == 1 else 3) and x.shape[-1] == 1:
            x = x.squeeze(-1)
        indices = x.round().long() if x.is_floating_point() else x.long()
        return F.one_hot(indices - self.start, self.n).to(torch.get_default_dtype())


class FlattenBatch(nn.Module):
    """(B, *shape) → (B, prod(shape)); a scalar observation (B,) becomes (B, 1).

    With ``members=K``: (K, B, *shape) → (K, B, prod(shape)).
    """

    def __init__(self, shape: Sequence[int], members: int = 1) -> None:
        super().__init__()
        self.out_features = max(1, math.prod(shape))
        self.members = check_members(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, *shape) → (B, out_features); with K members (K, B, *shape) → (K, B, out_features)."""
        if self.members == 1:
            return x.reshape(x.shape[0], self.out_features)
        require_member_axis(x, self.members, "FlattenBatch", min_dim=2)
        return x.reshape(self.members, x.shape[1], self.out_features)


class Chain(nn.Sequential):
    """Modules applied in order; ``out_features`` is the last module's."""

    def __init__(self, *modules: nn.Module) -> None:
        super().__init__(*modules)
        # Read back from self, not from the arguments: slicing a Sequential rebuilds it from a dict.
        self.out_features = list(self)[-1].out_features
        self.members = getattr(list(self)[-1], "members", 1)


# --------------------------------------------------------------------------- make_backbone


def is_image_space(space: gym.Space) -> TypeGuard[spaces.Box]:
    """True for a 3-D uint8 or boolean Box: an image in (H, W, C) or (C, H, W) layout (boolean: one
    channel per kind of object, as MinAtar's)."""
    return isinstance(space, spaces.Box) and len(space.shape) == 3 and space.dtype in (np.uint8, np.bool_)


def make_backbone(observation_space: gym.Space, spec: Mapping[str, Any] | None = None, members: int = 1) -> nn.Module:
    """The backbone for ``observation_space``, configured by ``spec``.

    =========================================  =====================================
    space                                      backbone
    =========================================  =====================================
    1-D ``Box``                                :class:`MLP`
    3-D ``uint8`` or ``bool`` ``Box`` (image)  :class:`NatureCNN` (bool: MinAtar's network)
    ``Discrete``                               :class:`OneHot` → :class:`MLP`
    any other ``Box``, ``MultiBinary``         :class:`FlattenBatch` → :class:`MLP`
    ``Dict``, ``Tuple`` and others             :class:`RLSuiteError`
    =========================================  =====================================

    ``spec`` keys (all optional), validated whatever the space:

    * ``activation`` (default ``"relu"``) and ``init`` (default ``"he"`` for MLPs,
      ``"orthogonal"`` for the CNN) apply to every backbone;
    * ``net_arch`` (hidden widths, default [64, 64]), ``layer_norm`` and ``dropout`` shape the
      MLP of non-image spaces;
    * ``features`` (default 512) is the width of the CNN's last layer for images.

    One spec fits every space, so an agent passes its hyperparameters unchanged. An image gets
    the CNN alone, as in Nature DQN: its ``features`` go straight to the agent's head.

    The returned module has ``out_features`` and takes a batch (B, *space.shape) of float or
    uint8 values (Discrete: (B,) or (B, 1) indices). ``members=K`` builds K independent
    backbones stacked, taking and returning a leading member axis: (K, B, *space.shape).
    """
    members = check_members(members)
    options = check_backbone_spec(spec)
    mlp_options: dict[str, Any] = {
        key: options[key] for key in ("activation", "layer_norm", "dropout") if key in options
    }
    mlp_options["init"] = options.get("init", "he")
    mlp_options["members"] = members
    net_arch = options.get("net_arch", list(DEFAULT_NET_ARCH))

    if is_image_space(observation_space):
        return NatureCNN(
            observation_space.shape,
            features=options.get("features", 512),
            activation=options.get("activation", "relu"),
            init=options.get("init", "orthogonal"),
            members=members,
            stack="minatar" if observation_space.dtype == np.bool_ else "auto",
        )
    if isinstance(observation_space, spaces.Box) and len(observation_space.shape) == 1:
        return MLP(observation_space.shape[0], net_arch, **mlp_options)
    if isinstance(observation_space, spaces.Discrete):
        one_hot = OneHot(int(observation_space.n), start=int(observation_space.start), members=members)
        return Chain(one_hot, MLP(one_hot.out_features, net_arch, **mlp_options))
    if isinstance(observation_space, (spaces.Box, spaces.MultiBinary)):
        flatten = FlattenBatch(observation_space.shape, members=members)
        return Chain(flatten, MLP(flatten.out_features, net_arch, **mlp_options))
    raise RLSuiteError(
        f"no backbone for a {type(observation_space).__name__} observation space; "
        "wrap the env in gymnasium.wrappers.FlattenObservation to turn it into a flat Box."
    )
