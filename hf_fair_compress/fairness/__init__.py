"""Fairness constraints for compression: probes, differentiable surrogates, penalty and Lagrangian handling."""

from .objective import FairnessObjective, build_probes
from .probes import CounterfactualPair, GroupText, ProbeSet, StereotypePair
from .surrogates import jensen_shannon, margin_penalty, spread, symmetric_kl

__all__ = [
    "CounterfactualPair",
    "FairnessObjective",
    "GroupText",
    "ProbeSet",
    "StereotypePair",
    "build_probes",
    "jensen_shannon",
    "margin_penalty",
    "spread",
    "symmetric_kl",
]
