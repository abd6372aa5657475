"""Network backbones and heads, shared by the agents and by supervised training (``fit``).

:mod:`~rlsuite.nets.backbones` holds the backbones and :func:`make_backbone`,
:mod:`~rlsuite.nets.heads` the agent heads, :mod:`~rlsuite.nets.supervised` :func:`fit`,
:mod:`~rlsuite.nets.metrics` the losses and their evaluation; :mod:`~rlsuite.nets.checks` and
:mod:`~rlsuite.nets.data` are the argument checks and array handling beneath them.
:mod:`~rlsuite.nets.stacked` holds the layers behind ``members=K``, K independent networks
in one module, and the helpers that move one member in and out and clip each member apart.
"""

from rlsuite.nets.backbones import (
    MLP,
    Chain,
    FlattenBatch,
    NatureCNN,
    OneHot,
    is_image_space,
    make_backbone,
)
from rlsuite.nets.checks import ACTIVATIONS, resolve_device
from rlsuite.nets.heads import ActorHead, CriticHead, QHead
from rlsuite.nets.memberwise import clip_grad_norm_per_member
from rlsuite.nets.metrics import accuracy, evaluate_loss
from rlsuite.nets.recurrent import RNN
from rlsuite.nets.stacked import (
    StackedConv2d,
    StackedLayerNorm,
    StackedLinear,
    load_member,
    members_of,
    members_state,
)
from rlsuite.nets.supervised import History, fit

__all__ = [
    "ACTIVATIONS",
    "resolve_device",
    "MLP",
    "RNN",
    "ActorHead",
    "Chain",
    "CriticHead",
    "FlattenBatch",
    "History",
    "NatureCNN",
    "OneHot",
    "QHead",
    "StackedConv2d",
    "StackedLayerNorm",
    "StackedLinear",
    "accuracy",
    "clip_grad_norm_per_member",
    "evaluate_loss",
    "fit",
    "is_image_space",
    "load_member",
    "make_backbone",
    "members_of",
    "members_state",
]
