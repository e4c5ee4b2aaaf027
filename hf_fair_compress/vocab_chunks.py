"""How many rows of a [rows, vocab] tensor the fused loss functions process at a time.

The fused divergences (distillation KL, fairness Jensen-Shannon) sweep full-vocabulary rows in chunks and
recompute softmaxes in backward; one rule for the chunk size keeps their CPU and accelerator behaviour alike.
"""

from __future__ import annotations

import torch

ACCELERATOR_ROWS = 4096


def rows_per_chunk(logits: torch.Tensor, cpu_rows: int) -> int:
    """A cache-sized block on CPU; on accelerators few large launches matter more than cache."""
    return cpu_rows if logits.device.type == "cpu" else ACCELERATOR_ROWS
