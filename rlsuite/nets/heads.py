"""Heads: modules that turn a backbone's features into what an agent needs.

:class:`QHead` gives Q-values for discrete actions, :class:`ActorHead` a bounded continuous
action, :class:`CriticHead` the value of a (features, action) pair. Each takes the
backbone's ``out_features`` as its input width.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from rlsuite.core.errors import RLSuiteError
from rlsuite.nets.backbones import DEFAULT_NET_ARCH, MLP, as_float
from rlsuite.nets.checks import check_flag, check_positive_int


class QHead(nn.Module):
    """Features (B, in_features) → Q-values (B, n_actions).

    With ``dueling=True`` the head has a value stream V and an advantage stream A and returns
    ``V + A - mean(A)``: subtracting the mean makes V and A identifiable, because any constant
    could otherwise move between them.
    """

    def __init__(self, in_features: int, n_actions: int, dueling: bool = False) -> None:
        super().__init__()
        in_features = check_positive_int("in_features", in_features)
        self.n_actions = check_positive_int("n_actions", n_actions)
        self.dueling = check_flag("dueling", dueling)
        self.advantage = nn.Linear(in_features, self.n_actions)
        self.value = nn.Linear(in_features, 1) if self.dueling else None

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, in_features) → (B, n_actions)."""
        advantage = self.advantage(features)
        if self.value is None:
            return advantage
        return self.value(features) + advantage - advantage.mean(dim=-1, keepdim=True)


def _bound_tensor(name: str, bound: Any) -> torch.Tensor:
    if isinstance(bound, torch.Tensor):
        bound = bound.detach().cpu()
    values = torch.as_tensor(np.asarray(bound, dtype=np.float64))
    if not torch.isfinite(values).all():
        raise RLSuiteError(f"{name}={bound!r} must be finite; a squashed actor needs a bounded action space.")
    return values.to(torch.get_default_dtype())


class ActorHead(nn.Module):
    """Features (B, in_features) → a deterministic action (B, *action_shape) inside [low, high].

    A Linear layer is squashed by tanh into (-1, 1) and mapped affinely onto
    ``[action_low, action_high]``, so asymmetric bounds like [-2, 0.5] work. Bounds may be
    scalars, numpy arrays or tensors; they are buffers, so they follow ``.to(device)`` and are
    saved with the state dict. The last layer starts with tiny weights so that early actions
    sit near the middle of the range, where tanh is not saturated.
    """

    def __init__(self, in_features: int, action_low: Any, action_high: Any) -> None:
        super().__init__()
        low, high = _bound_tensor("action_low", action_low), _bound_tensor("action_high", action_high)
        try:
            low, high = torch.broadcast_tensors(low, high)
        except RuntimeError:
            raise RLSuiteError(
                f"action_low shape {tuple(low.shape)} and action_high shape {tuple(high.shape)} do not match."
            ) from None
        if (low > high).any():
            raise RLSuiteError(f"action_low={action_low!r} exceeds action_high={action_high!r} somewhere.")
        self.register_buffer("action_low", low.clone())
        self.register_buffer("action_high", high.clone())
        self.action_shape = tuple(low.shape)
        self.linear = nn.Linear(check_positive_int("in_features", in_features), max(1, low.numel()))
        nn.init.uniform_(self.linear.weight, -3e-3, 3e-3)
        nn.init.zeros_(self.linear.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, in_features) → (B, *action_shape)."""
        squashed = torch.tanh(self.linear(features)).reshape(features.shape[0], *self.action_shape)
        return self.action_low + (squashed + 1.0) * 0.5 * (self.action_high - self.action_low)


class CriticHead(nn.Module):
    """(features (B, backbone_features), action (B, *action_shape)) → Q-value of shape (B,).

    Features and the flattened action are concatenated and go through an :class:`MLP` of
    ``net_arch`` and a final Linear to one unit; the trailing unit dimension is dropped so the
    result lines up with reward and done vectors of shape (B,).
    """

    def __init__(
        self,
        backbone_features: int,
        action_dim: int,
        net_arch: Sequence[int] = DEFAULT_NET_ARCH,
        activation: str = "relu",
        init: str = "he",
    ) -> None:
        super().__init__()
        self.action_dim = check_positive_int("action_dim", action_dim)
        in_features = check_positive_int("backbone_features", backbone_features) + self.action_dim
        self.hidden = MLP(in_features, net_arch, activation=activation, init=init)
        self.output = nn.Linear(self.hidden.out_features, 1)

    def forward(self, features: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """(B, backbone_features), (B, *action_shape) → (B,)."""
        action = as_float(action).reshape(action.shape[0], self.action_dim)
        return self.output(self.hidden(torch.cat([features, action], dim=-1))).squeeze(-1)
