"""Turn importance scores into keep-masks with an exact number of survivors.

Thresholding alone is not exact when scores tie (pruned weights all score 0), so ties at the threshold are
broken by position, deterministically, which also keeps masks identical across data-parallel ranks.
"""

from __future__ import annotations

import math

import torch


def keep_top_k(scores: torch.Tensor, n_keep: int) -> torch.Tensor:
    """Boolean mask (same shape as `scores`) keeping exactly the `n_keep` highest scores."""
    flat = scores.reshape(-1)
    total = flat.numel()
    n_keep = max(0, min(total, int(n_keep)))
    if n_keep == total:
        return torch.ones_like(scores, dtype=torch.bool)
    if n_keep == 0:
        return torch.zeros_like(scores, dtype=torch.bool)
    flat = flat.float()
    threshold = kth_smallest(flat, total - n_keep)
    keep = flat > threshold
    missing = n_keep - int(keep.sum())
    if missing > 0:  # ties at the threshold: keep the first `missing` of them by position
        tied = torch.nonzero(flat == threshold, as_tuple=False).squeeze(1)
        keep[tied[:missing]] = True
    return keep.view_as(scores)


_EXACT_BELOW = 1 << 20
_SAMPLE = 1 << 16


def kth_smallest(flat: torch.Tensor, k: int) -> torch.Tensor:
    """Exact k-th smallest value (1-based) of a 1-D tensor.

    `torch.kthvalue` over all 85M weights of GPT-2 takes about a second on CPU, which learned-score methods
    would pay at every mask refresh. For large tensors a fixed-seed sample brackets the answer, two counting
    passes confirm the bracket, and `kthvalue` runs only on the few values inside it; the result is the same
    value `kthvalue` gives, it falls back to `kthvalue` when the bracket misses, and it is deterministic.
    """
    total = flat.numel()
    if total <= _EXACT_BELOW:
        return torch.kthvalue(flat.cpu(), k).values.to(flat.device)
    generator = torch.Generator(device="cpu").manual_seed(total)
    index = torch.randint(total, (_SAMPLE,), generator=generator).to(flat.device)
    sample = flat[index].cpu()
    q = k / total
    lo_rank = max(1, int((q - 0.01) * _SAMPLE))
    hi_rank = min(_SAMPLE, int((q + 0.01) * _SAMPLE) + 1)
    lo = torch.kthvalue(sample, lo_rank).values.to(flat.device)
    hi = torch.kthvalue(sample, hi_rank).values.to(flat.device)
    below = int((flat < lo).sum())
    upto = int((flat <= hi).sum())
    if below < k <= upto:
        band = flat[(flat >= lo) & (flat <= hi)]
        return torch.kthvalue(band.cpu(), k - below).values.to(flat.device)
    return torch.kthvalue(flat.cpu(), k).values.to(flat.device)


def n_to_keep(total: int, sparsity: float) -> int:
    return total - int(math.floor(sparsity * total + 0.5))


def layerwise_masks(scores: dict[str, torch.Tensor], sparsity: float) -> dict[str, torch.Tensor]:
    return {name: keep_top_k(s, n_to_keep(s.numel(), sparsity)) for name, s in scores.items()}


def global_masks(scores: dict[str, torch.Tensor], sparsity: float) -> dict[str, torch.Tensor]:
    """One ranking across all layers. Scores must be comparable across layers (e.g. |W|)."""
    names = list(scores)
    flat = torch.cat([scores[n].reshape(-1).float().cpu() for n in names])
    keep = keep_top_k(flat, n_to_keep(flat.numel(), sparsity))
    masks, offset = {}, 0
    for name in names:
        size = scores[name].numel()
        masks[name] = keep[offset : offset + size].view_as(scores[name]).to(scores[name].device)
        offset += size
    return masks


def row_masks(scores_out_in: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Wanda's comparison group: the same fraction pruned in every output row ([out, in] layout)."""
    out_features, in_features = scores_out_in.shape
    n_keep = n_to_keep(in_features, sparsity)
    keep = torch.zeros_like(scores_out_in, dtype=torch.bool)
    if n_keep > 0:
        idx = torch.topk(scores_out_in.float(), n_keep, dim=1, sorted=False).indices
        keep.scatter_(1, idx, True)
    return keep


def n_m_masks(scores_out_in: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """Keep the n highest of every m consecutive input weights of each output row (NVIDIA 2:4 layout)."""
    out_features, in_features = scores_out_in.shape
    if in_features % m:
        raise ValueError(f"N:M pruning needs in_features divisible by {m}, got {in_features}")
    groups = scores_out_in.float().reshape(out_features, in_features // m, m)
    idx = torch.topk(groups, n, dim=2, sorted=False).indices
    keep = torch.zeros_like(groups, dtype=torch.bool)
    keep.scatter_(2, idx, True)
    return keep.reshape(out_features, in_features)
