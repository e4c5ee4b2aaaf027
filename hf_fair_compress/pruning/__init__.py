"""Pruning engine: criteria, mask selection, schedules, structured surgery, and the `Pruner` that drives them."""

from .masking import apply_masks, export_state_dict, iter_masks, strip_masks
from .pruner import Pruner
from .targets import PruneTarget, find_targets

__all__ = [
    "Pruner",
    "PruneTarget",
    "apply_masks",
    "export_state_dict",
    "find_targets",
    "iter_masks",
    "strip_masks",
]
