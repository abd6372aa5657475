"""Small torch helpers the neural agents share: target-network updates and gradient clipping."""

from __future__ import annotations

import weakref

import torch
from torch import Tensor, nn

# target module -> (its online module, the online parameters, the target's, the buffer pairs): listing a
# network's tensors walks its modules, which cost several times the copy of a small network's weights
_Pairs = tuple[nn.Module, list[Tensor], list[Tensor], list[tuple[Tensor, Tensor]]]
_PAIRS: weakref.WeakKeyDictionary[nn.Module, _Pairs] = weakref.WeakKeyDictionary()


@torch.no_grad()
def polyak_update(online: nn.Module, target: nn.Module, tau: float) -> None:
    """target ← tau · online + (1 − tau) · target, parameter by parameter (tau = 1: a hard copy).

    The two networks' tensors are listed once per pair of modules; loading a state dict or moving
    a module to a device keeps its tensors, so the lists stay those of the modules."""
    pairs = _PAIRS.get(target)
    if pairs is None or pairs[0] is not online:
        buffers = list(zip(online.buffers(), target.buffers()))
        pairs = _PAIRS[target] = (online, list(online.parameters()), list(target.parameters()), buffers)
    _, online_params, target_params, buffers = pairs
    if tau >= 1.0:
        torch._foreach_copy_(target_params, online_params)
    else:
        torch._foreach_lerp_(target_params, online_params, tau)
    for src, dst in buffers:
        dst.copy_(src)
