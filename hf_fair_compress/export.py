"""Export of a compressed model: `compression.json` measured from the saved weights, and atomic publishing."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from torch import nn

from .errors import FairCompressError
from .recipe import Recipe

COMPRESSION_FILE = "compression.json"
RECIPE_FILE = "recipe.yaml"


def library_versions() -> dict[str, str]:
    import accelerate
    import datasets
    import transformers

    from . import __version__

    return {
        "hf_fair_compress": __version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "datasets": datasets.__version__,
        "accelerate": accelerate.__version__,
        "python": platform.python_version(),
    }


def load_saved_tensors(folder: Path) -> dict[str, torch.Tensor]:
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise FairCompressError(f"no .safetensors weights in {folder}")
    tensors: dict[str, torch.Tensor] = {}
    for file in files:
        with safe_open(str(file), framework="pt") as handle:
            for key in handle.keys():  # noqa: SIM118 (safe_open is not iterable)
                tensors[key] = handle.get_tensor(key)
    return tensors


def measure_sparsity(tensors: dict[str, torch.Tensor], target_patterns: list[str]) -> dict[str, Any]:
    """Per-layer and global sparsity over the weights of modules matching the recipe's targets."""
    compiled = [re.compile(p) for p in target_patterns]
    per_layer: dict[str, float] = {}
    zeros = total = 0
    for key, tensor in tensors.items():
        if not key.endswith(".weight") or tensor.dim() != 2:
            continue
        module = key[: -len(".weight")]
        if not any(p.search(module) for p in compiled):
            continue
        n_zero = int((tensor == 0).sum())
        per_layer[module] = round(n_zero / tensor.numel(), 6)
        zeros += n_zero
        total += tensor.numel()
    return {
        "global": round(zeros / total, 6) if total else 0.0,
        "pruned_weights": zeros,
        "target_weights": total,
        "per_layer": per_layer,
    }


def zero_heads(tensors: dict[str, torch.Tensor], n_head: int, n_layer: int) -> dict[str, list[int]]:
    """GPT-2 heads whose q, k and v columns are all zero in the saved weights."""
    found: dict[str, list[int]] = {}
    for layer in range(n_layer):
        weight = next((tensors[k] for k in tensors if k.endswith(f"h.{layer}.attn.c_attn.weight")), None)
        if weight is None:
            continue
        n_embd = weight.shape[0]
        head_dim = n_embd // n_head
        heads = []
        for h in range(n_head):
            cols = torch.arange(h * head_dim, (h + 1) * head_dim)
            block = weight[:, torch.cat([cols, cols + n_embd, cols + 2 * n_embd])]
            if bool((block == 0).all()):
                heads.append(h)
        if heads:
            found[str(layer)] = heads
    return found


def write_compressed_folder(
    folder: Path,
    *,
    model: nn.Module,
    recipe: Recipe,
    params_before: int,
    train_seconds: float,
    global_step: int,
    seed: int,
    mask_updates: int,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Add the resolved recipe and `compression.json` to a folder that already holds the saved model."""
    tensors = load_saved_tensors(folder)
    config = model.config
    params_after = sum(t.numel() for k, t in tensors.items())
    if getattr(config, "tie_word_embeddings", False) and "lm_head.weight" in tensors:
        params_after -= tensors["lm_head.weight"].numel()
    nonzero_after = sum(int(t.count_nonzero()) for t in tensors.values())
    size_on_disk = sum(f.stat().st_size for f in folder.glob("*.safetensors"))
    report: dict[str, Any] = {
        "format_version": 1,
        "method": recipe.pruning.method,
        "pattern": recipe.pruning.pattern,
        "scope": recipe.pruning.scope,
        "requested_sparsity": recipe.pruning.effective_sparsity,
        "recipe_name": recipe.name,
        "recipe_sha256": recipe.sha256,
        "sparsity": measure_sparsity(tensors, recipe.pruning.targets),
        "parameters": {
            "before": params_before,
            "after": params_after,
            "nonzero_after": nonzero_after,
            "ratio": round(params_after / params_before, 6) if params_before else None,
        },
        "architecture": {
            "n_layer": getattr(config, "n_layer", None),
            "n_head": getattr(config, "n_head", None),
            "n_embd": getattr(config, "n_embd", None),
            "n_inner": getattr(config, "n_inner", None),
        },
        "size_on_disk_bytes": size_on_disk,
        "train_steps": global_step,
        "mask_updates": mask_updates,
        "wall_time_seconds": round(train_seconds, 3),
        "seed": seed,
        "versions": library_versions(),
    }
    if getattr(config, "n_head", None) and getattr(config, "n_layer", None):
        report["zero_heads"] = zero_heads(tensors, config.n_head, config.n_layer)
    if extra:
        report.update(extra)
    (folder / RECIPE_FILE).write_text(recipe.to_yaml(), encoding="utf-8")
    (folder / COMPRESSION_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def check_output_dir(dest: Path, overwrite: bool) -> None:
    if dest.exists() and not dest.is_dir():
        raise FairCompressError(f"output dir {str(dest)!r} exists and is a file; choose another --output_dir")
    if dest.is_dir() and any(dest.iterdir()) and not overwrite:
        raise FairCompressError(
            f"output dir {str(dest)!r} exists and is not empty; choose another --output_dir or pass --overwrite_output_dir"
        )


@contextmanager
def staged_folder(dest: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Write a folder's files into a hidden staging folder; on success it is renamed to `dest` in one step, on
    any error it is removed, so `dest` never holds a half-written result."""
    dest = Path(dest)
    check_output_dir(dest, overwrite)
    stage = dest.parent / f".{dest.name}.partial"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    try:
        yield stage
        atomic_publish(stage, dest, overwrite=overwrite)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def atomic_publish(stage: Path, dest: Path, overwrite: bool = False) -> None:
    """Move a complete folder into place with a rename, so `dest` is either absent, old, or complete."""
    stage, dest = Path(stage), Path(dest)
    if dest.exists():
        check_output_dir(dest, overwrite)
        trash = dest.parent / f".{dest.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(dest, trash)
        os.replace(stage, dest)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(stage, dest)
