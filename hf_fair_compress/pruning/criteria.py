"""Importance criteria. Every score is returned in [out, in] layout (see `targets.py`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
import torch.distributed as dist
from torch import nn

from .targets import PruneTarget


def magnitude_scores(targets: list[PruneTarget]) -> dict[str, torch.Tensor]:
    return {t.name: t.to_out_in(t.weight.detach()).abs() for t in targets}


def _all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum statistics over data-parallel ranks so every rank derives the same masks from all the data."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def _move(batch: Mapping[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


@torch.no_grad()
def input_square_norms(
    model: nn.Module, modules: Mapping[str, nn.Module], batches: Iterable[Mapping[str, torch.Tensor]]
) -> dict[str, torch.Tensor]:
    """Sum over calibration tokens of x_j^2 for every input feature j of each module (Wanda's ||X_j||^2)."""
    sums: dict[str, torch.Tensor] = {}

    def hook_for(name: str):
        def hook(_module, args):
            x = args[0].detach()
            x = x.reshape(-1, x.shape[-1]).float()
            total = x.pow(2).sum(0)
            sums[name] = sums[name] + total if name in sums else total

        return hook

    handles = [m.register_forward_pre_hook(hook_for(n)) for n, m in modules.items()]
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        for batch in batches:
            batch = _move(batch, device)
            batch.pop("labels", None)
            model(**batch)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    if not sums:
        raise RuntimeError("calibration saw no batches; the training dataset is empty")
    return {name: _all_reduce_sum(s) for name, s in sums.items()}


def wanda_scores(
    targets: list[PruneTarget], square_norms: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """|W_ij| * ||X_j||_2 (Sun et al. 2023)."""
    scores = {}
    for t in targets:
        w = t.to_out_in(t.weight.detach()).abs().float()
        scores[t.name] = w * square_norms[t.name].sqrt().to(w.device).unsqueeze(0)
    return scores


def snip_scores(
    model: nn.Module, targets: list[PruneTarget], batches: Iterable[Mapping[str, torch.Tensor]]
) -> dict[str, torch.Tensor]:
    """|W * dL/dW| accumulated over calibration batches (Lee et al. 2019, connection sensitivity)."""
    device = next(model.parameters()).device
    saved = {n: p.grad for n, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    was_training = model.training
    model.eval()  # no dropout: the sensitivity of the deterministic network
    scores = {t.name: torch.zeros_like(t.weight, dtype=torch.float32) for t in targets}
    seen = 0
    try:
        for batch in batches:
            batch = _move(batch, device)
            with torch.enable_grad():  # callers may hold no_grad while they rebuild masks
                loss = model(**batch).loss
                loss.backward()
            for t in targets:
                scores[t.name] += (t.weight.detach() * t.weight.grad).abs().float()
            model.zero_grad(set_to_none=True)
            seen += 1
    finally:
        model.train(was_training)
        for n, p in model.named_parameters():
            p.grad = saved.get(n)
    if not seen:
        raise RuntimeError("calibration saw no batches; the training dataset is empty")
    return {t.name: t.to_out_in(_all_reduce_sum(scores[t.name])) for t in targets}
