"""The pruning engine: one object that the trainer calls at three moments.

- `setup(model, resume_config)`: before the optimizer exists; registers masks / scores, and on resume
  reshapes the model like the checkpoint so its weights load.
- `prune_at_start(model, batches)`: one-shot pruning (and the first point of a schedule) before step 1.
- `after_optimizer_step(model, step, total_steps)`: refresh masks on schedule and re-zero pruned weights.

Everything is a deterministic function of the weights (and of statistics summed over ranks), so every
data-parallel rank computes the same masks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import nn

from ..errors import FairCompressError
from ..recipe import PruningSpec
from . import criteria, masking, selection, structured
from .schedule import is_update_step, sparsity_at
from .targets import PruneTarget, find_targets

BatchSource = Callable[[int], Iterable[Mapping[str, torch.Tensor]]]

HARD_MASK_METHODS = ("magnitude", "gradual_magnitude", "wanda", "snip")


class Pruner:
    def __init__(self, spec: PruningSpec):
        self.spec = spec
        self.targets: list[PruneTarget] = []
        self.current_sparsity = 0.0
        self.mask_updates = 0

    @property
    def method(self) -> str:
        return self.spec.method

    @property
    def uses_scores(self) -> bool:
        return self.method in ("movement", "bilevel_fair")

    # ------------------------------------------------------------------ set-up

    def validate(self, model: nn.Module) -> None:
        """Fail before anything is trained or written if the method cannot apply to this model."""
        method = self.method
        if method in HARD_MASK_METHODS or self.uses_scores:
            self.targets = find_targets(model, self.spec.targets, method)
            self._check_pattern_fits()
        elif method in ("mlp_neurons", "attention_heads", "layers"):
            blocks = structured.gpt2_blocks(model)
            bad = [i for i in self.spec.keep_layers or [] if not 0 <= i < len(blocks)]
            if bad:
                raise FairCompressError(
                    f"pruning.keep_layers has layer {bad[0]}, but the model has {len(blocks)} layers "
                    f"(0..{len(blocks) - 1})"
                )

    def setup(self, model: nn.Module, resume_config: Any | None = None) -> None:
        """Register pruning state on the model. With `resume_config` (the checkpoint's config), reshape the
        model like the checkpoint instead of pruning: the checkpoint's weights and masks then load as saved."""
        method = self.method
        if method == "none":
            return
        if method in HARD_MASK_METHODS or self.uses_scores:
            self.targets = find_targets(model, self.spec.targets, method)
            self._check_pattern_fits()
            for t in self.targets:
                masking.ensure_mask(t.module, "weight")
                if self.uses_scores:
                    masking.enable_scores(t.module, t.weight.detach().abs())
        elif method == "attention_heads":
            for block in structured.gpt2_blocks(model):
                for module in (block.attn.c_attn, block.attn.c_proj):
                    masking.ensure_mask(module, "weight")
                masking.ensure_mask(block.attn.c_attn, "bias")
        elif method == "layers":
            structured.select_layers(model, list(self.spec.keep_layers or []))
        elif method == "mlp_neurons":
            structured.gpt2_blocks(model)  # fail early on a model without GPT-2 blocks
            if resume_config is not None:
                width = resume_config.n_inner or 4 * resume_config.n_embd
                blocks = structured.gpt2_blocks(model)
                if structured.mlp_width(model) != width:
                    structured.shrink_mlp(model, [torch.arange(width) for _ in blocks])

    def _check_pattern_fits(self) -> None:
        if self.spec.pattern == "unstructured":
            return
        _, m = self.spec.nm
        bad = [t for t in self.targets if t.in_features % m]
        if bad:
            raise FairCompressError(
                f"{self.spec.pattern} pruning needs input sizes divisible by {m}, but {bad[0].name} has "
                f"{bad[0].in_features}; exclude it from pruning.targets"
            )

    def score_parameters(self, model: nn.Module) -> list[nn.Parameter]:
        return [m._parameters[masking.SCORES_NAME] for m in model.modules() if masking.has_scores(m)]

    @torch.no_grad()
    def add_implicit_gradient(self, model: nn.Module, lr_theta: float) -> None:
        """BiP's first-order implicit term for the upper level: grad_s <- grad_s - lr_theta * grad_s * grad_theta.

        Called after the weight step, while the weights' gradients of this step are still in place."""
        for module in model.modules():
            if not masking.has_scores(module):
                continue
            scores = module._parameters[masking.SCORES_NAME]
            if scores.grad is None or module.weight.grad is None:
                continue
            scores.grad.addcmul_(scores.grad, module.weight.grad.to(scores.grad.dtype), value=-lr_theta)

    # ------------------------------------------------------------------ pruning

    def prune_at_start(self, model: nn.Module, batches: BatchSource, total_steps: int) -> None:
        method = self.method
        if method in ("none", "layers"):
            return
        if method == "mlp_neurons":
            self._prune_mlp_neurons(model, batches)
            return
        if method == "attention_heads":
            self._prune_heads(model)
            return
        sparsity = sparsity_at(0, self.spec.effective_sparsity, self.spec.schedule, total_steps)
        if self.spec.schedule.kind == "cubic" and not is_update_step(0, self.spec.schedule, total_steps):
            sparsity = 0.0
        if sparsity > 0 or self.spec.pattern != "unstructured":
            self._update_masks(model, sparsity, batches)
        masking.apply_masks(model)

    def after_optimizer_step(self, model: nn.Module, step: int, total_steps: int) -> None:
        method = self.method
        if method in ("none", "layers", "mlp_neurons"):
            return
        if self._refresh_due(step, total_steps):
            sparsity = sparsity_at(step, self.spec.effective_sparsity, self.spec.schedule, total_steps)
            self._update_masks(model, sparsity, batches=None)
        masking.apply_masks(model)

    def _refresh_due(self, step: int, total_steps: int) -> bool:
        """Hard-mask methods follow the schedule. Learned scores move every step, so their masks follow at
        every step: refreshing every k steps instead swaps many untrained weights in at once (on the
        biased-world test that cost 40 % perplexity)."""
        if self.uses_scores:
            return True
        return self.method in ("magnitude", "gradual_magnitude") and is_update_step(
            step, self.spec.schedule, total_steps
        )

    @torch.no_grad()
    def _update_masks(self, model: nn.Module, sparsity: float, batches: BatchSource | None) -> None:
        scores = self._scores(model, batches)
        if self.spec.pattern != "unstructured":
            n, m = self.spec.nm
            keep = {name: selection.n_m_masks(s, n, m) for name, s in scores.items()}
            sparsity = self.spec.effective_sparsity
        elif self.method == "wanda":
            keep = {name: selection.row_masks(s, sparsity) for name, s in scores.items()}
        elif self.spec.scope == "global":
            keep = selection.global_masks(scores, sparsity)
        else:
            keep = selection.layerwise_masks(scores, sparsity)
        for t in self.targets:
            masking.set_mask(t.module, "weight", t.from_out_in(keep[t.name]))
        self.current_sparsity = sparsity
        self.mask_updates += 1

    def _scores(self, model: nn.Module, batches: BatchSource | None) -> dict[str, torch.Tensor]:
        method = self.method
        if self.uses_scores:
            return {
                t.name: t.to_out_in(t.module._parameters[masking.SCORES_NAME].detach()) for t in self.targets
            }
        if method in ("wanda", "snip"):
            if batches is None:
                raise RuntimeError(f"{method} is one-shot and needs calibration batches")
            n = self.spec.calibration_batches
            if method == "wanda":
                norms = criteria.input_square_norms(
                    model, {t.name: t.module for t in self.targets}, batches(n)
                )
                return criteria.wanda_scores(self.targets, norms)
            return criteria.snip_scores(model, self.targets, batches(n))
        return criteria.magnitude_scores(self.targets)

    def _prune_mlp_neurons(self, model: nn.Module, batches: BatchSource) -> None:
        blocks = structured.gpt2_blocks(model)
        width = structured.mlp_width(model)
        n_keep = selection.n_to_keep(width, self.spec.sparsity)
        if n_keep < 1:
            raise FairCompressError(f"pruning.sparsity {self.spec.sparsity} would remove every MLP neuron")
        norms = None
        if self.spec.criterion == "wanda":
            modules = {str(i): b.mlp.c_proj for i, b in enumerate(blocks)}
            norms = criteria.input_square_norms(model, modules, batches(self.spec.calibration_batches))
        elif self.spec.criterion != "magnitude":
            raise FairCompressError(
                "mlp_neurons supports criterion 'magnitude' or 'wanda'; set pruning.criterion"
            )
        keep = []
        for i, block in enumerate(blocks):
            scores = structured.mlp_neuron_scores(block, None if norms is None else norms[str(i)])
            keep.append(torch.topk(scores, n_keep).indices)
        structured.shrink_mlp(model, keep)
        self.current_sparsity = 1.0 - n_keep / width

    def _prune_heads(self, model: nn.Module) -> None:
        if self.spec.criterion != "magnitude":
            raise FairCompressError("attention_heads supports criterion 'magnitude'; set pruning.criterion")
        blocks = structured.gpt2_blocks(model)
        n_head = model.config.n_head
        scores = torch.stack([structured.head_scores(b, n_head) for b in blocks])  # [layers, heads]
        if self.spec.scope == "global":
            keep = selection.keep_top_k(scores, selection.n_to_keep(scores.numel(), self.spec.sparsity))
        else:
            keep = torch.stack(
                [selection.keep_top_k(row, selection.n_to_keep(n_head, self.spec.sparsity)) for row in scores]
            )
        for block, row in zip(blocks, keep):
            pruned = [h for h in range(n_head) if not bool(row[h])]
            if pruned:
                structured.mask_heads(block, n_head, pruned)
        masking.apply_masks(model)
        self.current_sparsity = 1.0 - float(keep.float().mean())
