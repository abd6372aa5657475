"""Network backbones and heads, shared by the agents and by supervised training (``fit``).

:mod:`~rlsuite.nets.backbones` holds the backbones and :func:`make_backbone`,
:mod:`~rlsuite.nets.heads` the agent heads, :mod:`~rlsuite.nets.supervised` :func:`fit`,
:mod:`~rlsuite.nets.metrics` the losses and their evaluation; :mod:`~rlsuite.nets.checks` and
:mod:`~rlsuite.nets.data` are the argument checks and array handling beneath them.
"""

from rlsuite.nets.backbones import (
    MLP,
    RNN,
    Chain,
    FlattenBatch,
    NatureCNN,
    OneHot,
    is_image_space,
    make_backbone,
)
from rlsuite.nets.checks import ACTIVATIONS
from rlsuite.nets.heads import ActorHead, CriticHead, QHead
from rlsuite.nets.metrics import accuracy, evaluate_loss
from rlsuite.nets.supervised import History, fit

__all__ = [
    "ACTIVATIONS",
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
    "accuracy",
    "evaluate_loss",
    "fit",
    "is_image_space",
    "make_backbone",
]
