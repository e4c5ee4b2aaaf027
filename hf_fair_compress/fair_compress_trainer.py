"""`FairCompressTrainer`: prune (and distil) a causal LM inside one `transformers.Trainer` run."""

from __future__ import annotations

import copy
import itertools
import json
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoConfig, PreTrainedModel, Trainer, default_data_collator
from transformers.trainer_utils import get_last_checkpoint

from .distillation import (
    build_student,
    check_same_vocabulary,
    clm_and_forward_kl,
    distillation_terms,
    freeze_teacher,
    weights_sha256,
)
from .errors import FairCompressError, NonFiniteLossError
from .export import atomic_publish, write_compressed_folder
from .fair_compress_config import FairCompressConfig
from .fairness import FairnessObjective, build_probes
from .pruning import Pruner, export_state_dict
from .pruning.masking import gradients_only_to

STATE_FILE = "fair_compress_state.json"
SCORE_OPTIMIZER_FILE = "score_optimizer.pt"


class FairCompressTrainer(Trainer):
    """A `Trainer` that compresses the model while it trains.

    The loss is the causal-LM cross-entropy summed over tokens and divided by `num_items_in_batch`, so it is
    correct under gradient accumulation and data parallelism (`loss_is_scaled_for_ga = True`). Pruning masks are
    refreshed and re-applied after every optimizer step through an optimizer hook, so no weight that is pruned
    can drift back, whatever the optimizer does.
    """

    loss_is_scaled_for_ga = True

    def __init__(
        self,
        model: PreTrainedModel | nn.Module | None = None,
        args: FairCompressConfig | None = None,
        data_collator: Any = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        processing_class: Any = None,
        teacher_model: PreTrainedModel | str | None = None,
        teacher_processing_class: Any = None,
        **kwargs: Any,
    ):
        if args is None:
            args = FairCompressConfig(output_dir="fair-compress-output")
        if not isinstance(args, FairCompressConfig):
            raise FairCompressError(
                f"FairCompressTrainer needs a FairCompressConfig, got {type(args).__name__}; "
                "build one with FairCompressConfig(...) or FairCompressConfig.from_recipe(path)"
            )
        if model is None:
            raise FairCompressError("FairCompressTrainer needs a model (a PreTrainedModel instance)")
        self._params_before = sum(p.numel() for p in model.parameters())  # the model as handed in
        self.recipe = args.compression_recipe
        self.distillation = self.recipe.distillation
        self.teacher: nn.Module | None = None
        self.teacher_info: dict[str, Any] = {}
        if self.distillation is not None:
            model = self._set_up_distillation(
                model, teacher_model or args.teacher, processing_class, teacher_processing_class
            )
        elif teacher_model is not None or args.teacher is not None:
            raise FairCompressError(
                "a teacher was given but the recipe has no distillation section; add `distillation: {}` to the recipe"
            )
        self.pruner = Pruner(self.recipe.pruning)
        self.pruner.validate(model)
        self.fairness: FairnessObjective | None = None
        self.fairness_reference: nn.Module | None = None
        if self.recipe.fairness is not None:
            self.fairness = FairnessObjective(
                self.recipe.fairness, build_probes(self.recipe.fairness), processing_class, seed=args.seed
            )
            needs_reference = any(c.relative_to_teacher for c in self.recipe.fairness.constraints)
            if needs_reference and self.teacher is None:
                self.fairness_reference = freeze_teacher(copy.deepcopy(model))
        self.score_optimizer: torch.optim.Optimizer | None = None
        self._fairness_step = -1
        self.score_steps = 0
        self._loss_terms: dict[str, list[torch.Tensor]] = defaultdict(list)
        self._hooked_optimizers: set[int] = set()
        self._saving_checkpoint = False
        self._train_started_at: float | None = None
        self._train_seconds = 0.0
        super().__init__(
            model=model,
            args=args,
            data_collator=data_collator if data_collator is not None else default_data_collator,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            processing_class=processing_class,
            **kwargs,
        )

        if self.teacher is not None:
            self.teacher = self.accelerator.prepare_model(self.teacher, evaluation_mode=True)
        if self.fairness_reference is not None:
            self.fairness_reference = self.accelerator.prepare_model(
                self.fairness_reference, evaluation_mode=True
            )

    # ------------------------------------------------------------------ distillation

    def _set_up_distillation(self, model, teacher, processing_class, teacher_processing_class) -> nn.Module:
        """Resolve the teacher (given, loaded, or a frozen copy of the model) and, if asked, build a student
        from its blocks. Runs before pruning, so a default teacher is the dense model."""
        spec = self.distillation
        teacher_id = teacher if isinstance(teacher, str) else None
        if isinstance(teacher, str):
            from .modeling import load_model_and_tokenizer

            teacher, loaded_tokenizer = load_model_and_tokenizer(teacher)
            teacher_processing_class = teacher_processing_class or loaded_tokenizer
        elif teacher is None and spec.teacher is not None:
            from .modeling import load_model_and_tokenizer

            teacher_id = spec.teacher
            teacher, loaded_tokenizer = load_model_and_tokenizer(spec.teacher)
            teacher_processing_class = teacher_processing_class or loaded_tokenizer
        elif teacher is None:
            teacher_id = "copy of the model being compressed"
            teacher = copy.deepcopy(model)
        layers = None
        if spec.student is not None:
            model, layers = build_student(teacher, spec.student)
        check_same_vocabulary(teacher, model, teacher_processing_class, processing_class)
        self.teacher = freeze_teacher(teacher, spec.teacher_dtype)
        self.teacher_info = {
            "teacher": teacher_id or getattr(teacher.config, "_name_or_path", None) or type(teacher).__name__,
            "teacher_sha256": weights_sha256(self.teacher),
            "teacher_parameters": sum(p.numel() for p in self.teacher.parameters()),
            "student_layers_from_teacher": layers,
        }
        return model

    # ------------------------------------------------------------------ training

    def train(self, resume_from_checkpoint: str | bool | None = None, **kwargs: Any):
        if resume_from_checkpoint is True:
            resume_from_checkpoint = get_last_checkpoint(self.args.output_dir)
            if resume_from_checkpoint is None:
                raise FairCompressError(
                    f"no checkpoint to resume from in {self.args.output_dir}; drop --resume_from_checkpoint"
                )
        if resume_from_checkpoint:
            resume_config = AutoConfig.from_pretrained(resume_from_checkpoint)
            self.pruner.setup(self.model, resume_config)
            self._load_pruner_state(resume_from_checkpoint)
        else:
            self.pruner.setup(self.model)
            self.pruner.prune_at_start(self.model, self._calibration_batches, self._planned_total_steps())
        self._train_started_at = time.perf_counter()
        try:
            return super().train(resume_from_checkpoint=resume_from_checkpoint or None, **kwargs)
        finally:
            self._train_seconds += time.perf_counter() - self._train_started_at

    def _planned_total_steps(self) -> int:
        """Optimizer steps of the whole run, known before the training loop computes it."""
        if self.args.max_steps > 0:
            return self.args.max_steps
        batches = len(self.get_train_dataloader())
        per_epoch = max(1, batches // self.args.gradient_accumulation_steps)
        return int(per_epoch * self.args.num_train_epochs)

    def _calibration_batches(self, n: int) -> Iterable[Mapping[str, torch.Tensor]]:
        return itertools.islice(iter(self.get_train_dataloader()), n)

    def create_optimizer(self, model: nn.Module | None = None) -> torch.optim.Optimizer:
        """The base optimizer for the weights, plus a group for learned pruning scores (no weight decay)."""
        scores = self.pruner.score_parameters(self.model)
        for p in scores:
            p.requires_grad_(False)
        try:
            optimizer = super().create_optimizer(model)
        finally:
            for p in scores:
                p.requires_grad_(True)
        known = {id(p) for group in optimizer.param_groups for p in group["params"]}
        new_scores = [p for p in scores if id(p) not in known]
        if new_scores and self.pruner.method == "bilevel_fair":
            # The upper level (mask scores) has its own optimizer and learning rate (BiP / Dai et al.).
            if self.score_optimizer is None:
                self.score_optimizer = torch.optim.Adam(
                    new_scores, lr=self.recipe.pruning.score_learning_rate
                )
        elif new_scores:
            optimizer.add_param_group(
                {"params": new_scores, "lr": self.recipe.pruning.score_learning_rate, "weight_decay": 0.0}
            )
        if id(optimizer) not in self._hooked_optimizers:
            optimizer.register_step_post_hook(self._after_optimizer_step)
            self._hooked_optimizers.add(id(optimizer))
        return optimizer

    def _after_optimizer_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        """Runs right after the weight step (the lower level): then the score step (upper level), the mask
        refresh, and the dual update of the fairness multipliers."""
        step = self.state.global_step + 1
        total = self.state.max_steps or self._planned_total_steps()
        if self.score_optimizer is not None:
            if self.recipe.pruning.implicit_gradient:
                self.pruner.add_implicit_gradient(self.model, lr_theta=optimizer.param_groups[0]["lr"])
            self.score_optimizer.step()
            self.score_optimizer.zero_grad(set_to_none=True)
            self.score_steps += 1
        self.pruner.after_optimizer_step(self.model, step, total)
        if self.fairness is not None:
            self.fairness.after_step(step)

    def compute_loss(
        self,
        model: nn.Module,
        inputs: dict[str, torch.Tensor | Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ):
        labels = inputs["labels"]
        model_inputs = {k: v for k, v in inputs.items() if k != "labels"}
        spec = self.distillation
        need_hidden = spec is not None and spec.alpha_cos > 0
        outputs = model(**model_inputs, output_hidden_states=need_hidden)
        shift_labels = labels[:, 1:]
        n_local = shift_labels.ne(-100).sum().clamp(min=1)
        recording = model.training
        if spec is None:
            token_sum = self._token_cross_entropy(outputs.logits, shift_labels)
            total = token_sum
        else:
            # no_grad, not inference_mode: the fused loss saves the teacher logits for its backward pass.
            with torch.no_grad():
                teacher_out = self.teacher(**model_inputs, output_hidden_states=need_hidden)
            fused = spec.divergence == "forward_kl"  # CE and KL in one sweep over the logits
            if fused:
                token_sum, fused_kd = clm_and_forward_kl(
                    outputs.logits, teacher_out.logits, labels, spec.temperature
                )
            else:
                token_sum = self._token_cross_entropy(outputs.logits, shift_labels)
            terms = distillation_terms(
                outputs.logits[:, :-1],
                teacher_out.logits[:, :-1],
                shift_labels.ne(-100),
                temperature=spec.temperature,
                kind=spec.divergence,
                beta=spec.jsd_beta,
                student_hidden=outputs.hidden_states[-1][:, :-1] if need_hidden else None,
                teacher_hidden=teacher_out.hidden_states[-1][:, :-1] if need_hidden else None,
                need_mse=spec.alpha_mse > 0,
                need_kd=not fused,
            )
            if fused:
                terms.kd = fused_kd
            total = (
                spec.alpha_clm * token_sum
                + spec.alpha_ce * spec.temperature**2 * terms.kd
                + spec.alpha_mse * terms.mse
                + spec.alpha_cos * terms.cos
            )
            if recording:
                self._record("kd_loss", terms.kd.detach() / n_local)
                if spec.alpha_mse > 0:
                    self._record("mse_loss", terms.mse.detach() / n_local)
                if need_hidden:
                    self._record("cos_loss", terms.cos.detach() / n_local)
        denominator, scale = self._loss_normaliser(shift_labels, num_items_in_batch)
        loss = total / denominator * scale
        if recording:
            self._record("clm_loss", token_sum.detach() / n_local)
        if self.fairness is not None and recording and self._fairness_due():
            # Once per optimizer step (first micro-batch), on probes chosen by the step: every rank and every
            # accumulation setting adds the same term, so the step stays GA- and DDP-invariant.
            self._fairness_step = self.state.global_step
            loss = loss + self._fairness_term()
        outputs.loss = loss
        return (loss, outputs) if return_outputs else loss

    @staticmethod
    def _token_cross_entropy(logits: torch.Tensor, shift_labels: torch.Tensor) -> torch.Tensor:
        # Shift the labels, not the logits: logits[:, :-1] would copy the [batch, seq, vocab] tensor (and its
        # gradient); the last position gets the ignore label instead.
        targets = F.pad(shift_labels, (0, 1), value=-100)
        return F.cross_entropy(
            logits.flatten(0, 1).float(), targets.flatten(), ignore_index=-100, reduction="sum"
        )

    def _fairness_due(self) -> bool:
        if self._fairness_step == self.state.global_step:
            return False
        start = self.recipe.fairness.start_step
        if isinstance(start, float):
            start = int(round(start * (self.state.max_steps or self._planned_total_steps())))
        step = self.state.global_step
        return step >= start and (step - start) % self.recipe.fairness.every == 0

    def _fairness_term(self) -> torch.Tensor:
        spec = self.recipe.fairness
        model = self.accelerator.unwrap_model(self.model)
        reference = self.teacher if self.teacher is not None else self.fairness_reference
        has_scores = self.pruner.uses_scores
        target = {"both": "both", "upper": "scores", "lower": "weights", "none": None}[spec.fairness_in]
        # Probes are scored with dropout off: the constraint measures the model, not dropout noise.
        was_training = model.training
        model.eval()
        try:
            if target is None or (target == "scores" and not has_scores):
                with torch.no_grad():  # monitored, not optimised
                    values = self.fairness.values(model, self.state.global_step, reference)
                self.fairness.penalty(values)
                penalty = None
            else:
                with gradients_only_to(model, target):
                    values = self.fairness.values(model, self.state.global_step, reference)
                penalty = self.fairness.penalty(values)
        finally:
            model.train(was_training)
        for name, value in values.items():
            self._record(f"fairness/{name}", value.detach())
            self._record(f"fairness/lambda_{name}", torch.tensor(self.fairness.lambdas[name]))
        if penalty is None:
            return torch.zeros((), device=next(model.parameters()).device)
        return penalty

    def _loss_normaliser(
        self, shift_labels: torch.Tensor, num_items_in_batch: torch.Tensor | int | None
    ) -> tuple[torch.Tensor | int, int]:
        """Denominator and multiplier that make token sums GA- and DDP-correct.

        With `num_items_in_batch` (tokens over all micro-batches of the step, and over all ranks under
        `average_tokens_across_devices`), each micro-batch contributes sum/N and gradients add up to the mean
        over the whole step; DDP averages gradients over ranks, hence the `num_processes` factor, as in the
        base Trainer.
        """
        if num_items_in_batch is None:
            local = shift_labels.ne(-100).sum().clamp(min=1)
            steps = self.current_gradient_accumulation_steps if self.model.training else 1
            return local * steps, 1
        scale = 1
        if self.args.average_tokens_across_devices and self.args.world_size > 1:
            scale = self.accelerator.num_processes
        return num_items_in_batch, scale

    def training_step(self, model: nn.Module, inputs: dict[str, Any], num_items_in_batch: Any = None):
        loss = super().training_step(model, inputs, num_items_in_batch)
        if self.args.stop_on_nonfinite_loss and not torch.isfinite(loss).all():
            raise NonFiniteLossError(
                step=self.state.global_step + 1,
                value=float(loss.detach().float().mean()),
                last_checkpoint=get_last_checkpoint(self.args.output_dir)
                if os.path.isdir(self.args.output_dir)
                else None,
            )
        return loss

    # ------------------------------------------------------------------ logging

    def _record(self, name: str, value: torch.Tensor) -> None:
        # Kept as tensors: a float() here would force a device sync per term per micro-batch.
        self._loss_terms[name].append(value.detach())

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and self._loss_terms:  # a training log: add the mean of each loss term
            for name, values in self._loss_terms.items():
                logs[name] = float(torch.stack([v.float().cpu() for v in values]).mean())
            if self.pruner.method != "none":
                logs["sparsity"] = round(self.pruner.current_sparsity, 4)
            self._loss_terms.clear()
        super().log(logs, start_time)

    # ------------------------------------------------------------------ saving

    def _save_checkpoint(self, model: nn.Module, trial: Any) -> None:
        self._saving_checkpoint = True
        try:
            super()._save_checkpoint(model, trial)
        finally:
            self._saving_checkpoint = False
        if self.args.should_save:
            folder = Path(self._get_output_dir(trial)) / f"checkpoint-{self.state.global_step}"
            (folder / STATE_FILE).write_text(json.dumps(self._pruner_state()))

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        """Checkpoints keep masks and scores (to resume); any other save writes the vanilla, baked model."""
        if state_dict is None and not self._saving_checkpoint:
            state_dict = export_state_dict(self.accelerator.unwrap_model(self.model))
        super()._save(output_dir, state_dict=state_dict)

    def _pruner_state(self) -> dict[str, Any]:
        return {
            "current_sparsity": self.pruner.current_sparsity,
            "mask_updates": self.pruner.mask_updates,
            "score_steps": self.score_steps,
            "fairness": self.fairness.state_dict() if self.fairness is not None else None,
            "train_seconds": self._train_seconds
            + time.perf_counter()
            - (self._train_started_at or time.perf_counter()),
        }

    def _load_pruner_state(self, checkpoint: str) -> None:
        path = Path(checkpoint) / STATE_FILE
        if path.is_file():
            state = json.loads(path.read_text())
            self.pruner.current_sparsity = state.get("current_sparsity", 0.0)
            self.pruner.mask_updates = state.get("mask_updates", 0)
            self.score_steps = state.get("score_steps", 0)
            if self.fairness is not None and state.get("fairness"):
                self.fairness.load_state_dict(state["fairness"])
            self._train_seconds = state.get("train_seconds", 0.0)

    def _save_optimizer_and_scheduler(self, output_dir: str) -> None:
        super()._save_optimizer_and_scheduler(output_dir)
        if self.score_optimizer is not None and self.args.should_save:
            torch.save(self.score_optimizer.state_dict(), os.path.join(output_dir, SCORE_OPTIMIZER_FILE))

    def _load_optimizer_and_scheduler(self, checkpoint: str | None) -> None:
        super()._load_optimizer_and_scheduler(checkpoint)
        path = os.path.join(checkpoint, SCORE_OPTIMIZER_FILE) if checkpoint else None
        if self.score_optimizer is not None and path and os.path.isfile(path):
            self.score_optimizer.load_state_dict(
                torch.load(path, map_location=self.args.device, weights_only=True)
            )

    def _fairness_report(self) -> dict[str, Any]:
        report: dict[str, Any] = {"weight_steps": self.state.global_step, "mask_steps": self.score_steps}
        if self.fairness is not None:
            report["fairness"] = self.fairness.report()
        return report

    def _distillation_report(self) -> dict[str, Any]:
        spec = self.distillation
        if spec is None:
            return {}
        weights = {k: getattr(spec, k) for k in ("alpha_ce", "alpha_clm", "alpha_cos", "alpha_mse")}
        student_params = sum(p.numel() for p in self.accelerator.unwrap_model(self.model).parameters())
        return {
            "distillation": {
                **self.teacher_info,
                "temperature": spec.temperature,
                "divergence": spec.divergence,
                "loss_weights": weights,
                "student_parameters": student_params,
                "parameter_ratio_to_teacher": round(
                    student_params / self.teacher_info["teacher_parameters"], 6
                ),
            }
        }

    def save_compressed(self, output_dir: str | os.PathLike, overwrite: bool = False, **extra: Any) -> Path:
        """Write the vanilla compressed model, tokenizer, resolved recipe and `compression.json` atomically:
        everything goes to a temporary folder that is renamed into place only when complete."""
        dest = Path(output_dir)
        stage = dest.parent / f".{dest.name}.tmp-{os.getpid()}"
        self.write_compressed(stage, **extra)
        if self.args.should_save:
            atomic_publish(stage, dest, overwrite=overwrite)
        self.accelerator.wait_for_everyone()
        return dest

    def write_compressed(self, folder: str | os.PathLike, **extra: Any) -> None:
        """Write the export into `folder` in place (the caller makes it atomic)."""
        self.save_model(str(folder))
        if self.args.should_save:
            write_compressed_folder(
                Path(folder),
                model=self.accelerator.unwrap_model(self.model),
                recipe=self.recipe,
                params_before=self._params_before,
                train_seconds=self._train_seconds,
                global_step=self.state.global_step,
                seed=self.args.seed,
                mask_updates=self.pruner.mask_updates,
                extra={**self._distillation_report(), **self._fairness_report(), **extra},
            )
