"""Small torch helpers the neural agents share: target updates and array-only state."""

from __future__ import annotations

from typing import Any

import numpy as np
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

    The same arithmetic as ``torch.nn.utils.clip_grad_norm_``; for the small networks of RL
    its argument handling costs more than the arithmetic, so the update calls this instead.
    """
    total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
    torch._foreach_mul_(grads, torch.clamp(max_norm / (total + 1e-6), max=1.0))


def module_arrays(prefix: str, module: nn.Module) -> dict[str, np.ndarray]:
    return {f"{prefix}.{k}": v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}


def load_module_arrays(prefix: str, module: nn.Module, arrays: dict[str, np.ndarray]) -> None:
    state = {k[len(prefix) + 1 :]: torch.from_numpy(np.array(v)) for k, v in arrays.items() if k.startswith(prefix + ".")}
    module.load_state_dict(state)


def optimizer_arrays(prefix: str, optimizer: torch.optim.Optimizer) -> dict[str, np.ndarray]:
    """The optimiser's per-parameter state (e.g. Adam's moments and step) as named arrays."""
    out = {}
    for index, state in optimizer.state_dict()["state"].items():
        for key, value in state.items():
            out[f"{prefix}.{index}.{key}"] = torch.as_tensor(value).detach().cpu().numpy().copy()
    return out


def load_optimizer_arrays(prefix: str, optimizer: torch.optim.Optimizer, arrays: dict[str, np.ndarray]) -> None:
    state_dict = optimizer.state_dict()
    state: dict[int, dict[str, Any]] = {}
    for name, value in arrays.items():
        if not name.startswith(prefix + "."):
            continue
        index, key = name[len(prefix) + 1 :].split(".", 1)
        state.setdefault(int(index), {})[key] = torch.from_numpy(np.array(value))
    state_dict["state"] = state
    optimizer.load_state_dict(state_dict)
