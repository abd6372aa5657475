"""Network backbones and heads, shared by the agents and by supervised training (``fit``)."""

from rlsuite.nets.networks import (
    MLP,
    RNN,
    ActorHead,
    CriticHead,
    NatureCNN,
    QHead,
    make_backbone,
)

__all__ = ["MLP", "RNN", "ActorHead", "CriticHead", "NatureCNN", "QHead", "make_backbone"]
