"""Argument checks and weight initialisation shared by the backbones, the heads and ``fit``.

Every value a user can get wrong raises :class:`rlsuite.core.errors.RLSuiteError` with one
sentence that names the bad value and the valid choices.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from torch import nn

from rlsuite.core.errors import RLSuiteError, did_you_mean

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid,
    "softplus": nn.Softplus,
}

INITS: tuple[str, ...] = ("he", "kaiming", "xavier", "orthogonal", "torch")

# The keys make_backbone understands; each backbone ignores the ones that do not concern it,
# so an agent can pass one spec whatever its environment's observation space.
SPEC_KEYS: tuple[str, ...] = ("net_arch", "activation", "init", "layer_norm", "dropout", "features")


# --------------------------------------------------------------------------- validation


def require(condition: bool, message: str) -> None:
    """Raise :class:`RLSuiteError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise RLSuiteError(message)


def choose(what: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, else an :class:`RLSuiteError` listing them."""
    if not isinstance(value, str) or value not in choices:
        hint = did_you_mean(value, choices) if isinstance(value, str) else ""
        raise RLSuiteError(f"unknown {what} {value!r}{hint}; choose one of {', '.join(repr(c) for c in choices)}.")
    return value


def check_activation(name: str) -> str:
    """``name`` if it is a known activation, else an :class:`RLSuiteError`."""
    return choose("activation", name, tuple(ACTIVATIONS))


def check_init(name: str) -> str:
    """``name`` if it is a known weight initialisation, else an :class:`RLSuiteError`."""
    return choose("init", name, INITS)


def check_net_arch(net_arch: Any) -> list[int]:
    """``net_arch`` as a list of positive layer widths, else an :class:`RLSuiteError`."""
    if isinstance(net_arch, (int, str)) or not isinstance(net_arch, Sequence):
        raise RLSuiteError(f"net_arch={net_arch!r} must be a list of layer widths such as [64, 64].")
    for width in net_arch:
        if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
            raise RLSuiteError(
                f"net_arch={list(net_arch)!r} holds the bad width {width!r}; widths must be positive integers."
            )
    return [int(width) for width in net_arch]


def check_dropout(dropout: Any) -> float:
    """``dropout`` as a float in [0, 1), else an :class:`RLSuiteError`."""
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise RLSuiteError(f"dropout={dropout!r} must be a probability in [0, 1).")
    return float(dropout)


def check_positive_int(name: str, value: Any) -> int:
    """``value`` if it is an integer ≥ 1, else an :class:`RLSuiteError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise RLSuiteError(f"{name}={value!r} must be a positive integer.")
    return int(value)


def check_flag(name: str, value: Any) -> bool:
    """``value`` if it is a bool, else an :class:`RLSuiteError` naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise RLSuiteError(f"{name}={value!r} must be True or False.")
    return bool(value)


def check_backbone_spec(spec: Mapping[str, Any] | None) -> dict[str, Any]:
    """A backbone spec (see ``make_backbone``) with every value checked, else an :class:`RLSuiteError`."""
    if spec is None:
        return {}
    if not isinstance(spec, Mapping):
        raise RLSuiteError(f"backbone spec must be a dict such as {{'net_arch': [64, 64]}}, not {type(spec).__name__}.")
    checks: dict[str, Callable[[Any], Any]] = {
        "net_arch": check_net_arch,
        "activation": check_activation,
        "init": check_init,
        "layer_norm": lambda value: check_flag("layer_norm", value),
        "dropout": check_dropout,
        "features": lambda value: check_positive_int("features", value),
    }
    checked = {}
    for key, value in spec.items():
        if key not in checks:
            raise RLSuiteError(
                f"unknown backbone spec key {key!r}{did_you_mean(str(key), SPEC_KEYS)}; "
                f"valid keys: {', '.join(SPEC_KEYS)}."
            )
        checked[key] = checks[key](value)
    return checked


def check_members(members: Any) -> int:
    """``members`` if it is an integer ≥ 1 (the K of a stacked network), else an :class:`RLSuiteError`."""
    if isinstance(members, bool) or not isinstance(members, (int, np.integer)) or members < 1:
        raise RLSuiteError(
            f"members={members!r} must be a positive integer: the number of independent networks stacked, 1 for one."
        )
    return int(members)


# --------------------------------------------------------------------------- initialisation


_GainNonlinearity = Literal["relu", "leaky_relu", "tanh", "sigmoid"]
_GAIN_NONLINEARITIES: dict[str, _GainNonlinearity] = {n: n for n in ("relu", "leaky_relu", "tanh", "sigmoid")}


def _gain_nonlinearity(activation: str) -> _GainNonlinearity:
    # The smooth ReLU relatives (elu, gelu, softplus) keep roughly half the variance, like ReLU.
    return _GAIN_NONLINEARITIES.get(activation, "relu")


def initialize(module: nn.Module, init: str, activation: str) -> None:
    """Initialise the weights of every Linear and Conv2d in ``module`` and zero their biases.

    ``he``/``kaiming`` draws from a normal scaled to the fan-in, ``xavier`` from a uniform scaled
    to fan-in plus fan-out, ``orthogonal`` gives orthogonal matrices; the gain matches
    ``activation`` so activations keep their scale through depth. ``torch`` keeps the layers'
    own default initialisation (uniform in ±1/√fan-in, biases included).
    """
    init = check_init(init)
    if init == "torch":
        return
    nonlinearity = _gain_nonlinearity(check_activation(activation))
    gain = nn.init.calculate_gain(nonlinearity)
    for layer in module.modules():
        if not isinstance(layer, (nn.Linear, nn.Conv2d)):
            continue
        if init in ("he", "kaiming"):
            nn.init.kaiming_normal_(layer.weight, nonlinearity=nonlinearity)
        elif init == "xavier":
            nn.init.xavier_uniform_(layer.weight, gain=gain)
        else:
            nn.init.orthogonal_(layer.weight, gain=gain)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)


def resolve_device(name: str):
    """The torch device for a ``device`` setting: "cpu", "cuda", "cuda:N", or "auto" (cuda where
    there is one, else cpu); a GPU that is not there is an :class:`RLSuiteError`."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name != "cpu" and not (name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit())):
        raise RLSuiteError(f"device={name!r} is not a device; choose cpu, cuda, cuda:N or auto.")
    if name.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(name[5:]) if ":" in name else 0
        if index >= count:
            where = f"only {count} CUDA device(s)" if count else "no CUDA device (or a CPU-only torch)"
            raise RLSuiteError(
                f"device={name!r} asks for a GPU but this machine has {where}; use device='cpu' or device='auto'."
            )
    return torch.device(name)
