"""Which modules get pruned, and a uniform [out, in] view of their weights.

GPT-2 uses `transformers.pytorch_utils.Conv1D`, whose weight is stored [in, out], the transpose of
`nn.Linear`. Every criterion works on the [out, in] view returned here so that "a row" always means
"an output neuron", whatever the layer type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn
from transformers.pytorch_utils import Conv1D

from ..errors import FairCompressError


@dataclass
class PruneTarget:
    name: str
    module: nn.Module

    @property
    def is_conv1d(self) -> bool:
        return isinstance(self.module, Conv1D)

    @property
    def weight(self) -> nn.Parameter:
        return self.module.weight

    def to_out_in(self, tensor: torch.Tensor) -> torch.Tensor:
        """View a weight-shaped tensor as [out, in]."""
        return tensor.t() if self.is_conv1d else tensor

    def from_out_in(self, tensor: torch.Tensor) -> torch.Tensor:
        """Inverse of `to_out_in`, back to the parameter's own layout."""
        return tensor.t() if self.is_conv1d else tensor

    @property
    def in_features(self) -> int:
        return self.weight.shape[0] if self.is_conv1d else self.weight.shape[1]

    @property
    def out_features(self) -> int:
        return self.weight.shape[1] if self.is_conv1d else self.weight.shape[0]


def find_targets(model: nn.Module, patterns: Iterable[str], method: str = "pruning") -> list[PruneTarget]:
    """Modules whose qualified name matches any regex. Only Linear and Conv1D layers can be pruned."""
    compiled = [re.compile(p) for p in patterns]
    targets: list[PruneTarget] = []
    rejected: list[str] = []
    for name, module in model.named_modules():
        if not any(p.search(name) for p in compiled):
            continue
        if isinstance(module, (nn.Linear, Conv1D)):
            targets.append(PruneTarget(name, module))
        elif any(isinstance(child, (nn.Linear, Conv1D)) for child in module.children()):
            continue  # a container matched by a loose regex; its children may match on their own
        else:
            rejected.append(f"{name} ({type(module).__name__})")
    if rejected:
        raise FairCompressError(
            f"{method} can only prune nn.Linear or Conv1D layers, but the targets match {rejected[0]}; "
            "narrow pruning.targets"
        )
    if not targets:
        raise FairCompressError(
            f"{method} found no module matching pruning.targets {list(patterns)} in {type(model).__name__}; "
            "set pruning.targets to regexes over this model's module names"
        )
    return targets
