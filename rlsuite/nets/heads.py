"""Heads: modules that turn a backbone's features into what an agent needs.

:class:`QHead` gives Q-values for discrete actions, :class:`ActorHead` a bounded continuous
action, :class:`CriticHead` the value of a (features, action) pair. Each takes the
backbone's ``out_features`` as its input width.

Each head takes ``members=K`` to hold K independent heads stacked (:mod:`rlsuite.nets.stacked`),
to sit on a backbone built with the same ``members``: every input and output then carries a
leading member axis, (K, B, ...), and member k starts as the k-th of K single heads built one
after another.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from rlsuite.core.errors import RLSuiteError
from rlsuite.nets.backbones import DEFAULT_NET_ARCH, MLP, as_float
from rlsuite.nets.checks import check_flag, check_members, check_positive_int
from rlsuite.nets.stacked import StackedLinear, require_member_axis, stack_members


class QHead(nn.Module):
    """Features (B, in_features) → Q-values (B, n_actions).

    With ``dueling=True`` the head has a value stream V and an advantage stream A and returns
    ``V + A - mean(A)``: subtracting the mean makes V and A identifiable, because any constant
    could otherwise move between them.
    """

    advantage: nn.Linear | StackedLinear
    value: nn.Linear | StackedLinear | None

    def __init__(self, in_features: int, n_actions: int, dueling: bool = False, members: int = 1) -> None:
        super().__init__()
        in_features = check_positive_int("in_features", in_features)
        self.n_actions = check_positive_int("n_actions", n_actions)
        self.dueling = check_flag("dueling", dueling)
        self.members = members = check_members(members)
        if members == 1:
            self.advantage = nn.Linear(in_features, self.n_actions)
            self.value = nn.Linear(in_features, 1) if self.dueling else None
            return
        self.advantage = StackedLinear(in_features, self.n_actions, members)
        self.value = StackedLinear(in_features, 1, members) if self.dueling else None
        stack_members(self, [QHead(in_features, n_actions, dueling) for _ in range(members)])

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, in_features) → (B, n_actions); with K members (K, B, in_features) → (K, B, n_actions)."""
        if self.members > 1:
            require_member_axis(features, self.members, "QHead")
        advantage = self.advantage(features)
        if self.value is None:
            return advantage
        return self.value(features) + advantage - advantage.mean(dim=-1, keepdim=True)


def _bound_array(name: str, bound: Any) -> np.ndarray:
    if isinstance(bound, torch.Tensor):
        bound = bound.detach().cpu()
    values = np.asarray(bound, dtype=np.float64)
    if not np.isfinite(values).all():
        raise RLSuiteError(f"{name}={bound!r} must be finite; a squashed actor needs a bounded action space.")
    return values


class ActorHead(nn.Module):
    """Features (B, in_features) → a deterministic action (B, *action_shape) inside [low, high].

    A Linear layer is squashed by tanh into (-1, 1) and mapped affinely onto
    ``[action_low, action_high]``, so asymmetric bounds like [-2, 0.5] work. Bounds may be
    scalars, numpy arrays or tensors; they are buffers, so they follow ``.to(device)`` and are
    saved with the state dict. The last layer starts with tiny weights so that early actions
    sit near the middle of the range, where tanh is not saturated. With K members, all share
    the bounds and map (K, B, in_features) → (K, B, *action_shape).
    """

    action_low: torch.Tensor
    action_high: torch.Tensor
    linear: nn.Linear | StackedLinear

    def __init__(self, in_features: int, action_low: Any, action_high: Any, members: int = 1) -> None:
        super().__init__()
        self.members = members = check_members(members)
        # checked in numpy: the bounds are the env's, and a network sized on torch's meta device has no values
        low_array, high_array = _bound_array("action_low", action_low), _bound_array("action_high", action_high)
        try:
            low_array, high_array = np.broadcast_arrays(low_array, high_array)
        except ValueError:
            raise RLSuiteError(
                f"action_low shape {low_array.shape} and action_high shape {high_array.shape} do not match."
            ) from None
        if (low_array > high_array).any():
            raise RLSuiteError(f"action_low={action_low!r} exceeds action_high={action_high!r} somewhere.")
        low, high = (torch.tensor(a, dtype=torch.get_default_dtype()) for a in (low_array, high_array))
        self.register_buffer("action_low", low)
        self.register_buffer("action_high", high)
        self.action_shape = tuple(low.shape)
        in_features = check_positive_int("in_features", in_features)
        if members > 1:
            self.linear = StackedLinear(in_features, max(1, low.numel()), members)
            stack_members(self, [ActorHead(in_features, low, high) for _ in range(members)])
            return
        self.linear = nn.Linear(in_features, max(1, low.numel()))
        nn.init.uniform_(self.linear.weight, -3e-3, 3e-3)
        nn.init.zeros_(self.linear.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, in_features) → (B, *action_shape); with K members (K, B, ...) → (K, B, ...)."""
        if self.members > 1:
            require_member_axis(features, self.members, "ActorHead")
        squashed = torch.tanh(self.linear(features)).reshape(*features.shape[:-1], *self.action_shape)
        return self.action_low + (squashed + 1.0) * 0.5 * (self.action_high - self.action_low)


class CriticHead(nn.Module):
    """(features (B, backbone_features), action (B, *action_shape)) → Q-value of shape (B,).

    Features and the flattened action are concatenated and go through an :class:`MLP` of
    ``net_arch`` and a final Linear to one unit; the trailing unit dimension is dropped so the
    result lines up with reward and done vectors of shape (B,). With K members: (features
    (K, B, backbone_features), action (K, B, *action_shape)) → (K, B).
    """

    output: nn.Linear | StackedLinear

    def __init__(
        self,
        backbone_features: int,
        action_dim: int,
        net_arch: Sequence[int] = DEFAULT_NET_ARCH,
        activation: str = "relu",
        init: str = "he",
        members: int = 1,
    ) -> None:
        super().__init__()
        self.action_dim = check_positive_int("action_dim", action_dim)
        in_features = check_positive_int("backbone_features", backbone_features) + self.action_dim
        self.members = members = check_members(members)
        if members == 1:
            self.hidden = MLP(in_features, net_arch, activation=activation, init=init)
            self.output = nn.Linear(self.hidden.out_features, 1)
            return
        singles = [CriticHead(backbone_features, action_dim, net_arch, activation, init) for _ in range(members)]
        # The stacked MLP draws its own K members' weights; throw those draws away, so that
        # building K members draws exactly what building K single heads draws.
        with torch.random.fork_rng(devices=[]):
            self.hidden = MLP(in_features, net_arch, activation=activation, init=init, members=members)
        self.output = StackedLinear(self.hidden.out_features, 1, members)
        stack_members(self, singles)

    def forward(self, features: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """(B, backbone_features), (B, *action_shape) → (B,); with K members (K, B, ...) → (K, B)."""
        if self.members > 1:
            require_member_axis(features, self.members, "CriticHead")
            require_member_axis(action, self.members, "CriticHead's action", min_dim=2)
            action = as_float(action).reshape(*features.shape[:-1], self.action_dim)
        else:
            action = as_float(action).reshape(action.shape[0], self.action_dim)
        return self.output(self.hidden(torch.cat([features, action], dim=-1))).squeeze(-1)
