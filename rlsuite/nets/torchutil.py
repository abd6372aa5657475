"""Small torch helpers the neural agents share: target-network updates and gradient clipping."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def polyak_update(online: nn.Module, target: nn.Module, tau: float) -> None:
    """target ← tau · online + (1 − tau) · target, parameter by parameter (tau = 1: a hard copy)."""
    online_params, target_params = list(online.parameters()), list(target.parameters())
    if tau >= 1.0:
        torch._foreach_copy_(target_params, online_params)
    else:
        torch._foreach_lerp_(target_params, online_params, tau)
    for src, dst in zip(online.buffers(), target.buffers()):
        dst.copy_(src)
