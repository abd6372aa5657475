"""Training a stacked network member by member: per-member gradient clipping, and the member
axis for a network of one member built of plain torch layers (:mod:`rlsuite.nets.stacked`)."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from rlsuite.core.errors import RLSuiteError
from rlsuite.nets.checks import check_members


@torch.no_grad()
def clip_grad_norm_per_member(parameters: Iterable[torch.Tensor], max_norm: float, members: int) -> torch.Tensor:
    """Clip each member's gradient to a global L2 norm of at most ``max_norm``, member by member.

    Every parameter carries the member axis first, as in the stacked layers. Member k's norm is
    taken over its slices of all the gradients and, if above ``max_norm``, member k's slices
    are scaled down by its own factor, so clipping one member never touches another: the
    result equals ``torch.nn.utils.clip_grad_norm_`` applied to each member's network apart.
    With ``members=1`` the parameters need no member axis and this is that torch function.
    Returns the K norms before clipping, shape (K,).
    """
    members = check_members(members)
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(members)
    for grad in grads:
        if members > 1 and (grad.dim() == 0 or grad.shape[0] != members):
            raise RLSuiteError(
                f"a gradient of shape {tuple(grad.shape)} has no leading member axis of size {members}; "
                "clip_grad_norm_per_member takes the parameters of a stacked network."
            )
    if members == 1:  # one norm per tensor is the member's: torch's fused per-list kernels
        total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
        torch._foreach_mul_(grads, torch.clamp(max_norm / (total + 1e-6), max=1.0))
        return total.reshape(1)
    norms = torch.stack([torch.linalg.vector_norm(grad.reshape(members, -1), dim=1) for grad in grads])
    total = torch.linalg.vector_norm(norms, dim=0)
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for grad in grads:
        grad.mul_(scale.reshape(members, *[1] * (grad.dim() - 1)))
    return total


def _off_member_axis(module: nn.Module, args: tuple) -> tuple:
    return tuple(a[0] if torch.is_tensor(a) else a for a in args)


def _on_member_axis(module: nn.Module, args: tuple, output):
    if isinstance(output, tuple):
        return tuple(o[None] if torch.is_tensor(o) else o for o in output)
    return output[None]


def with_member_axis(module: nn.Module) -> nn.Module:
    """``module`` (built with one member, of plain torch layers that take (B, ...)) taking and returning
    a leading member axis of one, (1, B, ...), as a stacked module of K members takes (K, B, ...): the
    axis comes off every tensor argument and back onto the output around each call. The module's
    parameters and state dict stay those of the single module (forward hooks, kept by a deep copy)."""
    module.register_forward_pre_hook(_off_member_axis)
    module.register_forward_hook(_on_member_axis)
    return module
