"""Stacked layers: K independent members of one network, run together by batched matmuls.

rlsuite trains K seeds of an agent at once by making the seeds an axis of every network. A
module built with ``members=K`` holds the weights of K independent members stacked on a
leading axis and takes input with a leading member axis, (K, B, ...) → (K, B, ...): member k
sees only slice k of the input and its own slice of every parameter. One stacked update then
costs a handful of batched matmuls instead of K small ones: on one CPU thread a DQN update
of the CartPole network (4-256-256-2, batch 64) costs about 1.1 ms for one network and about
0.75 ms per member with 8 members stacked, against about 0.45 ms of matrix multiplies per
member either way (``rlsuite bench --suite seeds --only update``).

Every stacked parameter has the member axis first, so optimisers (Adam, SGD, RMSprop) and
:func:`rlsuite.nets.torchutil.polyak_update`, all elementwise, act on each member as they
would on a single network; gradient clipping is not elementwise, so it has its own per-member
form, :func:`~rlsuite.nets.memberwise.clip_grad_norm_per_member`. :func:`members_state` and :func:`load_member` move one
member between a stacked module and the equivalent single-member module (same class,
``members=1``), whose state dict has the same keys.

The layers here take the place of ``nn.Linear``, ``nn.LayerNorm`` and ``nn.Conv2d`` when
``members > 1``; with ``members=1`` the backbones and heads keep their plain torch layers, so
single networks and their checkpoints are unchanged.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from rlsuite.core.errors import RLSuiteError
from rlsuite.nets.checks import check_members


def require_member_axis(x: torch.Tensor, members: int, what: str, min_dim: int = 3, max_dim: int = 99) -> None:
    """Raise :class:`RLSuiteError` unless ``x`` has a leading member axis of size ``members``.

    Without one the input has fewer axes than ``what`` takes with members (``min_dim``), or a
    first axis of another size; ``max_dim`` bounds the axes from above.
    """
    if not min_dim <= x.dim() <= max_dim or x.shape[0] != members:
        raise RLSuiteError(
            f"a {members}-member {what} takes input with a leading member axis, ({members}, B, ...), "
            f"got shape {tuple(x.shape)}; stack one batch per member on a new first axis."
        )


class StackedLayer(nn.Module, ABC):
    """Base of the stacked layers: ``members`` and the move of one member in and out.

    A layer of ``group`` × K members seen as K members of ``group`` each (:func:`grouped`: the
    twin critics of one agent member, say) moves member k as the rows ``group·k .. group·k +
    group − 1`` of every parameter, kept stacked: the state of the same module built for one
    member, whose layers hold ``group`` members."""

    members: int
    group: int = 1

    def member_state(self, k: int) -> dict[str, torch.Tensor]:
        """Member k's parameters, named and shaped as in the equivalent torch layer (or, grouped, as in
        the equivalent layer of ``group`` members)."""
        if self.group == 1:
            return self._member_state(k)
        rows = slice(self.group * k, self.group * (k + 1))
        return {leaf: p[rows].clone() for leaf, p in self.named_parameters(recurse=False)}

    @torch.no_grad()
    def load_member_(self, k: int, state: Mapping[str, torch.Tensor]) -> None:
        """Overwrite member k's parameters with ``state``, as :meth:`member_state` returns it."""
        if self.group == 1:
            self._load_member_(k, state)
            return
        rows = slice(self.group * k, self.group * (k + 1))
        for leaf, p in self.named_parameters(recurse=False):
            p[rows].copy_(state[leaf])

    @abstractmethod
    def _member_state(self, k: int) -> dict[str, torch.Tensor]:
        """Member k's parameters, named and shaped as in the equivalent torch layer."""

    @abstractmethod
    def _load_member_(self, k: int, state: Mapping[str, torch.Tensor]) -> None:
        """Overwrite member k's parameters with ``state``, as :meth:`_member_state` returns it."""


def grouped(module: nn.Module, group: int) -> nn.Module:
    """``module``, of ``group`` × K stacked members, as K members of ``group`` each: member k (for
    checkpoints, member views and held members) is its stacked members group·k .. group·k + group − 1,
    in the layout of the same module of ``group`` members. ``module.members`` becomes K."""
    layers = [layer for layer in module.modules() if isinstance(layer, StackedLayer)]
    total = members_of(module)
    if group < 1 or total % group or not layers:
        raise RLSuiteError(f"a module of {total} stacked members does not split into groups of {group}.")
    for layer in layers:
        layer.group = group
    # torch types Module.__setattr__ for tensors and modules only; a plain int is set as on any object
    module.members = total // group  # type: ignore[assignment]
    return module


class _FewOutputs(torch.autograd.Function):
    """bias + x @ weight for (K, B, in) @ (K, in, out) with out < B, such as a Q-head's 2 actions
    on a batch of 64: the CPU's batched GEMM is several times slower when the product has few
    columns, so every product here is taken with the long side as columns: forward as
    (biasᵀ + weightᵀ xᵀ)ᵀ, the weight's gradient as (gradᵀ x)ᵀ, and the input's as grad weightᵀ,
    which comes out contiguous for the activation before it."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        return torch.baddbmm(bias.mT, weight.mT, x.mT).mT

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        grad_x = torch.bmm(grad, weight.mT) if ctx.needs_input_grad[0] else None
        grad_weight = torch.bmm(grad.mT, x).mT.contiguous() if ctx.needs_input_grad[1] else None
        grad_bias = grad.sum(dim=1, keepdim=True) if ctx.needs_input_grad[2] else None
        return grad_x, grad_weight, grad_bias


class StackedLinear(StackedLayer):
    """K Linear layers: weight (K, in, out), bias (K, 1, out); (K, B, in) → (K, B, out).

    ``forward`` is one ``torch.baddbmm(bias, x, weight)`` (its transpose for fewer outputs than
    rows). Input with more batch axes, (K, B1, B2, ..., in), is flattened to (K, B, in) and back.
    Parameters start uninitialised: the modules that hold a StackedLinear fill each member from a
    single-member twin, so every member starts as a single network would.
    """

    def __init__(self, in_features: int, out_features: int, members: int) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.members = check_members(members)
        self.weight = nn.Parameter(torch.empty(members, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(members, 1, out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(K, ..., in_features) → (K, ..., out_features)."""
        if x.dim() == 3 and x.shape[0] == self.members:
            return self._affine(x)
        require_member_axis(x, self.members, "StackedLinear")
        return self._affine(x.reshape(self.members, -1, x.shape[-1])).reshape(*x.shape[:-1], self.out_features)

    def _affine(self, x: torch.Tensor) -> torch.Tensor:
        """bias + x @ weight on (K, B, in); a layer with fewer outputs than rows goes by :class:`_FewOutputs`."""
        if x.shape[1] > self.out_features:
            return _FewOutputs.apply(x, self.weight, self.bias)
        return torch.baddbmm(self.bias, x, self.weight)

    def _member_state(self, k: int) -> dict[str, torch.Tensor]:
        return {
            "weight": self.weight[k].T.clone(memory_format=torch.contiguous_format),
            "bias": self.bias[k, 0].clone(),
        }

    @torch.no_grad()
    def _load_member_(self, k: int, state: Mapping[str, torch.Tensor]) -> None:
        self.weight[k].copy_(state["weight"].T)
        self.bias[k, 0].copy_(state["bias"])

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, members={self.members}"


class StackedLayerNorm(StackedLayer):
    """K LayerNorms over the last axis of (K, B, width), each with its own scale and shift.

    Scale and shift are (K, 1, width), starting at one and zero as in ``nn.LayerNorm``.
    """

    def __init__(self, width: int, members: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.width, self.eps = width, eps
        self.members = check_members(members)
        self.weight = nn.Parameter(torch.ones(members, 1, width))
        self.bias = nn.Parameter(torch.zeros(members, 1, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(K, B, width) → (K, B, width)."""
        return torch.addcmul(self.bias, F.layer_norm(x, (self.width,), eps=self.eps), self.weight)

    def _member_state(self, k: int) -> dict[str, torch.Tensor]:
        return {"weight": self.weight[k, 0].clone(), "bias": self.bias[k, 0].clone()}

    @torch.no_grad()
    def _load_member_(self, k: int, state: Mapping[str, torch.Tensor]) -> None:
        self.weight[k, 0].copy_(state["weight"])
        self.bias[k, 0].copy_(state["bias"])


class StackedConv2d(StackedLayer):
    """K Conv2d layers, run as one grouped convolution (``groups=K``) or one member at a time.

    Weight (K, out, in, kh, kw), bias (K, out). ``forward`` is the grouped convolution, on the
    *grouped layout* (B, K·C, H, W) with member k's channels in block k, so a stack of these
    layers passes images from one to the next without reshaping; :class:`UngroupMembers` turns
    the last one's output into (K, B, features). :meth:`member_forward` is member k's own
    convolution on (B, C, H, W). :func:`run_conv_stack` picks between the two.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel: int, stride: int, padding: int, members: int
    ) -> None:
        super().__init__()
        self.members = check_members(members)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.stride, self.padding = stride, padding
        self.weight = nn.Parameter(torch.empty(members, out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.empty(members, out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, K·in_channels, H, W) → (B, K·out_channels, H', W')."""
        weight = self.weight.reshape(-1, *self.weight.shape[2:])
        return F.conv2d(x, weight, self.bias.reshape(-1), self.stride, self.padding, groups=self.members)

    def member_forward(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """One member's convolution, (B, in_channels, H, W) → (B, out_channels, H', W')."""
        return F.conv2d(x, weight, bias, self.stride, self.padding)

    def _member_state(self, k: int) -> dict[str, torch.Tensor]:
        return {"weight": self.weight[k].clone(), "bias": self.bias[k].clone()}

    @torch.no_grad()
    def _load_member_(self, k: int, state: Mapping[str, torch.Tensor]) -> None:
        self.weight[k].copy_(state["weight"])
        self.bias[k].copy_(state["bias"])

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={tuple(self.weight.shape[3:])}, "
            f"stride={self.stride}, padding={self.padding}, members={self.members}"
        )


def group_members(x: torch.Tensor) -> torch.Tensor:
    """Images (K, B, C, H, W) → the grouped layout (B, K·C, H, W) of :class:`StackedConv2d`."""
    members, batch, channels = x.shape[:3]
    return x.transpose(0, 1).reshape(batch, members * channels, *x.shape[3:])


class UngroupMembers(nn.Module):
    """The grouped layout (B, K·C, H, W) → (K, B, C·H·W): ``nn.Flatten`` for stacked images.

    Member k's features come out in the order ``nn.Flatten`` gives a single network's.
    """

    def __init__(self, members: int) -> None:
        super().__init__()
        self.members = check_members(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, K·C, H, W) → (K, B, C·H·W)."""
        return x.reshape(x.shape[0], self.members, -1).transpose(0, 1)


# Measured on one CPU thread (Nature stack on 4×36×36, small stack on 1×16×16, K = 8 and 32):
# the grouped convolution is the faster way for up to about 4 images per member, 1.5-2× at
# one image (acting), since it makes 3 calls where the loop makes 3·K; for training batches
# (32 images) torch's grouped kernel was 1.1-2.5× slower than a convolution per member, and
# 2× slower forward alone. Off the CPU (unmeasured) one grouped kernel beats K launches.
GROUPED_CONV_MAX_BATCH = 4


def run_conv_stack(stack: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """Images (K, B, C, H, W) through a stack of :class:`StackedConv2d`, activations and a final
    :class:`UngroupMembers` → (K, B, features), the fastest way for the batch size.

    Up to :data:`GROUPED_CONV_MAX_BATCH` images per member (or off the CPU), one grouped
    convolution per layer; above it, each member's images through each member's layers in turn.
    Both compute the same function of the same parameters.
    """
    members, batch = x.shape[:2]
    if batch <= GROUPED_CONV_MAX_BATCH or x.device.type != "cpu":
        return stack(group_members(x))
    convs = {
        id(layer): (layer.weight.unbind(0), layer.bias.unbind(0)) for layer in stack if isinstance(layer, StackedConv2d)
    }
    outputs = []
    for k in range(members):
        h = x[k]
        for layer in stack:
            if isinstance(layer, StackedConv2d):
                weights, biases = convs[id(layer)]
                h = layer.member_forward(h, weights[k], biases[k])
            else:
                h = h.flatten(1) if isinstance(layer, UngroupMembers) else layer(h)
        outputs.append(h)
    return torch.stack(outputs)


# --------------------------------------------------------------------------- one member in and out


def members_of(module: nn.Module) -> int:
    """How many members ``module`` holds: its ``members`` attribute, else its stacked layers', else 1."""
    members = getattr(module, "members", None)
    if isinstance(members, int):
        return members
    found = {layer.members for layer in module.modules() if isinstance(layer, StackedLayer)}
    if len(found) > 1:
        raise RLSuiteError(f"{type(module).__name__} mixes stacked layers of {sorted(found)} members.")
    return found.pop() if found else 1


def _check_member_index(module: nn.Module, k: int) -> int:
    members = members_of(module)
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < members:
        raise RLSuiteError(f"member k={k!r} is not one of the {members} members 0..{members - 1}.")
    return members


def _stacked_layers(module: nn.Module) -> dict[str, StackedLayer]:
    return {name: layer for name, layer in module.named_modules() if isinstance(layer, StackedLayer)}


def _prefixed(name: str, leaf: str) -> str:
    return f"{name}.{leaf}" if name else leaf


@torch.no_grad()
def members_state(module: nn.Module, k: int) -> dict[str, torch.Tensor]:
    """Member k of ``module`` as the state dict of the equivalent single-member module.

    The keys, shapes and order are those of the same class built with ``members=1``, so
    ``single.load_state_dict(members_state(stacked, k))`` gives a network that computes what
    member k computes. Buffers shared by all members (an actor's action bounds) are copied as
    they are. The tensors are copies, detached from ``module``.
    """
    _check_member_index(module, k)
    stacked = _stacked_layers(module)
    state: dict[str, torch.Tensor] = {}
    done: set[str] = set()
    for key, value in module.state_dict().items():
        owner = key.rpartition(".")[0]
        if owner not in stacked:
            state[key] = value.detach().clone()
        elif owner not in done:
            done.add(owner)
            state.update({_prefixed(owner, leaf): t for leaf, t in stacked[owner].member_state(k).items()})
    return state


@torch.no_grad()
def load_member(module: nn.Module, k: int, single: nn.Module | Mapping[str, torch.Tensor]) -> None:
    """Put a single-member network (or its state dict) into ``module`` as member k.

    The inverse of :func:`members_state`: the keys and shapes must be exactly those of
    ``members_state(module, k)``. Shared buffers are overwritten with the single network's.
    """
    _check_member_index(module, k)
    state = single.state_dict() if isinstance(single, nn.Module) else dict(single)
    expected = members_state(module, k)
    wrong = sorted(set(expected) ^ set(state))
    wrong += [key for key in expected if key in state and tuple(state[key].shape) != tuple(expected[key].shape)]
    if wrong:
        raise RLSuiteError(
            f"the single network does not match a member of this {type(module).__name__}: "
            f"keys {', '.join(wrong[:4])}{' and more' if len(wrong) > 4 else ''} are missing, extra or "
            "of another shape; build it from the same class and arguments with members=1."
        )
    stacked = _stacked_layers(module)
    own = module.state_dict()
    by_owner: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        owner, _, leaf = key.rpartition(".")
        if owner in stacked:
            by_owner.setdefault(owner, {})[leaf] = value
        else:
            own[key].copy_(value)
    for owner, layer_state in by_owner.items():
        stacked[owner].load_member_(k, layer_state)


def stack_members(module: nn.Module, singles: Sequence[nn.Module]) -> None:
    """Fill ``module``'s members from ``singles``, member k from ``singles[k]``."""
    for k, single in enumerate(singles):
        load_member(module, k, single)
