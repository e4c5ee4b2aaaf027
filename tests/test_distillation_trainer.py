"""Distillation inside FairCompressTrainer: GA correctness, frozen teacher, students, logging and errors."""

from __future__ import annotations

import json

import pytest
import torch

from hf_fair_compress import FairCompressConfig, FairCompressError, FairCompressTrainer

from .conftest import make_tiny_gpt2, one_sgd_step, tiny_config_kwargs

KD = {
    "distillation": {
        "temperature": 2.0,
        "alpha_ce": 0.5,
        "alpha_clm": 0.5,
        "alpha_cos": 0.1,
        "alpha_mse": 0.1,
    }
}


def _kd_step(tmp_path, batch, ga, recipe):
    return one_sgd_step(tmp_path, batch, ga, recipe=recipe, teacher_model=make_tiny_gpt2(seed=7))


@pytest.mark.parametrize("divergence", ["forward_kl", "reverse_kl", "jsd"])
def test_kd_loss_is_gradient_accumulation_correct(tmp_path, divergence):
    recipe = {"distillation": {**KD["distillation"], "divergence": divergence}}
    full = _kd_step(tmp_path, 8, 1, recipe)
    accumulated = _kd_step(tmp_path, 4, 2, recipe)
    for key in full:
        torch.testing.assert_close(accumulated[key], full[key], atol=1e-5, rtol=0)


def test_teacher_is_frozen_and_bit_identical_after_training(tmp_path, packed_dataset, embedded_tokenizer):
    model = make_tiny_gpt2(vocab_size=len(embedded_tokenizer), seed=0)
    args = FairCompressConfig(
        **tiny_config_kwargs(tmp_path, optim="adamw_torch", weight_decay=0.1),
        recipe={
            "pruning": {
                "method": "gradual_magnitude",
                "sparsity": 0.5,
                "schedule": {"kind": "cubic", "end_step": 4, "frequency": 2},
            },
            **KD,
        },
    )
    trainer = FairCompressTrainer(model=model, args=args, train_dataset=packed_dataset)
    before = {k: v.clone() for k, v in trainer.teacher.state_dict().items()}
    trainer.train()
    assert not trainer.teacher.training
    assert all(not p.requires_grad for p in trainer.teacher.parameters())
    for key, value in trainer.teacher.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert trainer.teacher is not trainer.model
    logged = [h for h in trainer.state.log_history if "kd_loss" in h]
    assert logged and all(k in logged[0] for k in ("kd_loss", "clm_loss", "cos_loss", "mse_loss", "sparsity"))


def test_six_layer_student_from_teacher_with_export(tmp_path, packed_dataset, embedded_tokenizer):
    teacher = make_tiny_gpt2(vocab_size=len(embedded_tokenizer), n_layer=12, seed=0)
    recipe = {"distillation": {"student": {"n_layer": 6, "init_from_teacher_layers": [0, 2, 4, 7, 9, 11]}}}
    args = FairCompressConfig(**tiny_config_kwargs(tmp_path), recipe=recipe)
    trainer = FairCompressTrainer(
        model=teacher, args=args, train_dataset=packed_dataset, processing_class=embedded_tokenizer
    )
    assert trainer.model.config.n_layer == 6 and trainer.teacher.config.n_layer == 12
    trainer.train()
    out = trainer.save_compressed(tmp_path / "student")
    report = json.loads((out / "compression.json").read_text())
    dist = report["distillation"]
    assert dist["student_layers_from_teacher"] == [0, 2, 4, 7, 9, 11]
    assert dist["loss_weights"] == {"alpha_ce": 0.5, "alpha_clm": 0.5, "alpha_cos": 0.0, "alpha_mse": 0.0}
    assert 0.5 < dist["parameter_ratio_to_teacher"] < 1.0
    assert len(dist["teacher_sha256"]) == 64
    assert report["architecture"]["n_layer"] == 6
    assert report["parameters"]["after"] < report["parameters"]["before"]


def test_vocabulary_mismatch_is_an_error_before_training(tmp_path, packed_dataset):
    args = FairCompressConfig(**tiny_config_kwargs(tmp_path), recipe=KD)
    with pytest.raises(FairCompressError, match="vocabulary .* differ"):
        FairCompressTrainer(
            model=make_tiny_gpt2(vocab_size=512),
            args=args,
            train_dataset=packed_dataset,
            teacher_model=make_tiny_gpt2(vocab_size=600),
        )
    assert not (tmp_path / "run").exists()


def test_teacher_without_distillation_section_is_refused(tmp_path):
    args = FairCompressConfig(**tiny_config_kwargs(tmp_path))
    with pytest.raises(FairCompressError, match="no distillation section"):
        FairCompressTrainer(model=make_tiny_gpt2(), args=args, teacher_model=make_tiny_gpt2())


def test_teacher_dtype_is_applied(tmp_path, packed_dataset, embedded_tokenizer):
    recipe = {"distillation": {"teacher_dtype": "bfloat16"}}
    args = FairCompressConfig(**tiny_config_kwargs(tmp_path, max_steps=2), recipe=recipe)
    trainer = FairCompressTrainer(
        model=make_tiny_gpt2(vocab_size=len(embedded_tokenizer)), args=args, train_dataset=packed_dataset
    )
    assert next(trainer.teacher.parameters()).dtype == torch.bfloat16
    assert next(trainer.model.parameters()).dtype == torch.float32
    trainer.train()
