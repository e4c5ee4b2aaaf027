"""Structured pruning of GPT-2 blocks: MLP neurons (physically removed), attention heads (zeroed), layers.

What a vanilla GPT-2 config can express decides the method: a uniform MLP width (`n_inner`) and a layer count
(`n_layer`) can shrink for real; heads cannot, because transformers v5 removed `prune_heads` and fixes
head_dim = n_embd / n_head, so a pruned head is zeroed and gives no speed-up in vanilla transformers.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers.pytorch_utils import Conv1D

from ..errors import FairCompressError
from .masking import ensure_mask, set_mask


def gpt2_blocks(model: nn.Module) -> nn.ModuleList:
    """The list of transformer blocks of a GPT-2-style model (`transformer.h`)."""
    body = getattr(model, "transformer", model)
    blocks = getattr(body, "h", None)
    if not isinstance(blocks, nn.ModuleList):
        raise FairCompressError(
            f"structured pruning needs a GPT-2-style model with transformer.h blocks; "
            f"{type(model).__name__} has none; use an unstructured method instead"
        )
    return blocks


def _as_in_out(module: nn.Module) -> torch.Tensor:
    """Weight as [in, out] (Conv1D's own layout)."""
    return module.weight if isinstance(module, Conv1D) else module.weight.t()


# ---------------------------------------------------------------- MLP neurons


def mlp_neuron_scores(block: nn.Module, input_square_norm: torch.Tensor | None = None) -> torch.Tensor:
    """Importance of each hidden neuron: ||c_fc column|| * ||c_proj row||, or with Wanda-style activation
    statistics, ||X_j|| * ||c_proj row|| (the neuron's output energy)."""
    fc = _as_in_out(block.mlp.c_fc).detach().float()  # [n_embd, n_inner]
    proj = _as_in_out(block.mlp.c_proj).detach().float()  # [n_inner, n_embd]
    out_norm = proj.norm(dim=1)
    if input_square_norm is not None:
        return out_norm * input_square_norm.to(out_norm.device).float().sqrt()
    return fc.norm(dim=0) * out_norm


def _slice_layer(module: nn.Module, index: torch.Tensor, dim_in_out: str) -> nn.Module:
    """A copy of a Conv1D/Linear keeping `index` of its inputs ('in') or outputs ('out')."""
    weight = _as_in_out(module).detach()  # [in, out]
    bias = module.bias.detach() if module.bias is not None else None
    if dim_in_out == "out":
        weight = weight[:, index]
        bias = bias[index] if bias is not None else None
    else:
        weight = weight[index, :]
    n_in, n_out = weight.shape
    if isinstance(module, Conv1D):
        new = Conv1D(n_out, n_in)
        new.weight.data.copy_(weight)
    else:
        new = nn.Linear(n_in, n_out, bias=module.bias is not None)
        new.weight.data.copy_(weight.t())
    if bias is not None:
        new.bias.data.copy_(bias)
    return new.to(device=module.weight.device, dtype=module.weight.dtype)


def shrink_mlp(model: nn.Module, keep: list[torch.Tensor]) -> None:
    """Keep the given hidden neurons in each block (same count everywhere) and set config.n_inner."""
    blocks = gpt2_blocks(model)
    widths = {int(k.numel()) for k in keep}
    if len(widths) != 1:
        raise ValueError("a vanilla GPT-2 config needs the same MLP width in every layer")
    for block, index in zip(blocks, keep):
        index = torch.sort(index.to(block.mlp.c_fc.weight.device)).values
        block.mlp.c_fc = _slice_layer(block.mlp.c_fc, index, "out")
        block.mlp.c_proj = _slice_layer(block.mlp.c_proj, index, "in")
    model.config.n_inner = widths.pop()


def mlp_width(model: nn.Module) -> int:
    config = model.config
    return config.n_inner if config.n_inner is not None else 4 * config.n_embd


# ---------------------------------------------------------------- attention heads


def _head_columns(n_embd: int, head_dim: int, head: int) -> torch.Tensor:
    """Columns of c_attn (q, k and v sections) that belong to one head."""
    start = head * head_dim
    cols = torch.arange(start, start + head_dim)
    return torch.cat([cols, cols + n_embd, cols + 2 * n_embd])


def head_scores(block: nn.Module, n_head: int) -> torch.Tensor:
    """L2 norm of each head's q/k/v columns and its c_proj input rows."""
    attn = block.attn
    c_attn = _as_in_out(attn.c_attn).detach().float()  # [E, 3E]
    c_proj = _as_in_out(attn.c_proj).detach().float()  # [E, E]
    n_embd = c_proj.shape[0]
    head_dim = n_embd // n_head
    scores = []
    for h in range(n_head):
        cols = _head_columns(n_embd, head_dim, h).to(c_attn.device)
        rows = slice(h * head_dim, (h + 1) * head_dim)
        scores.append(torch.sqrt(c_attn[:, cols].pow(2).sum() + c_proj[rows, :].pow(2).sum()))
    return torch.stack(scores)


def mask_heads(block: nn.Module, n_head: int, heads: list[int]) -> None:
    """Zero (via masks, kept zero through training) the q/k/v columns, biases and c_proj rows of `heads`."""
    attn = block.attn
    n_embd = attn.c_proj.weight.shape[0] if isinstance(attn.c_proj, Conv1D) else attn.c_proj.weight.shape[1]
    head_dim = n_embd // n_head
    w_attn = ensure_mask(attn.c_attn, "weight").clone()
    b_attn = ensure_mask(attn.c_attn, "bias").clone()
    w_proj = ensure_mask(attn.c_proj, "weight").clone()
    for h in heads:
        cols = _head_columns(n_embd, head_dim, h).to(w_attn.device)
        rows = slice(h * head_dim, (h + 1) * head_dim)
        if isinstance(attn.c_attn, Conv1D):
            w_attn[:, cols] = False
        else:
            w_attn[cols, :] = False
        b_attn[cols] = False
        if isinstance(attn.c_proj, Conv1D):
            w_proj[rows, :] = False
        else:
            w_proj[:, rows] = False
    set_mask(attn.c_attn, "weight", w_attn)
    set_mask(attn.c_attn, "bias", b_attn)
    set_mask(attn.c_proj, "weight", w_proj)


# ---------------------------------------------------------------- layers


def select_layers(model: nn.Module, keep: list[int]) -> None:
    """Keep only the listed blocks, in the given order, and renumber them (layer_idx drives the KV cache)."""
    blocks = gpt2_blocks(model)
    n_layer = len(blocks)
    bad = [i for i in keep if not 0 <= i < n_layer]
    if bad:
        raise FairCompressError(
            f"layer index {bad[0]} is out of range: the model has {n_layer} layers (0..{n_layer - 1})"
        )
    if len(set(keep)) != len(keep):
        raise FairCompressError(f"layer list {keep} repeats an index; list each layer once")
    new_blocks = nn.ModuleList([blocks[i] for i in keep])
    for new_idx, block in enumerate(new_blocks):
        for module in block.modules():
            if hasattr(module, "layer_idx"):
                module.layer_idx = new_idx
    body = getattr(model, "transformer", model)
    body.h = new_blocks
    model.config.n_layer = len(keep)
