"""Trainer behaviour: GA-correct loss, masks that stay zero, resume, and the vanilla export."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForCausalLM, TrainerCallback

from hf_fair_compress import FairCompressConfig, FairCompressError, FairCompressTrainer
from hf_fair_compress.pruning import iter_masks

from .conftest import make_tiny_gpt2, one_sgd_step, tiny_config_kwargs


def test_gradient_accumulation_matches_a_full_batch(tmp_path):
    full = one_sgd_step(tmp_path, batch=8, ga=1)
    accumulated = one_sgd_step(tmp_path, batch=4, ga=2)
    initial = make_tiny_gpt2(seed=1).state_dict()
    assert any(not torch.equal(full[k], initial[k]) for k in full), "the step changed nothing"
    for key in full:
        torch.testing.assert_close(accumulated[key], full[key], atol=1e-5, rtol=0)


class _PerMicroBatchMean(FairCompressTrainer):
    """The classic GA bug: averaging each micro-batch on its own. The GA test must be able to catch it."""

    loss_is_scaled_for_ga = False

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch=None)


def test_ga_test_detects_per_micro_batch_averaging(tmp_path):
    full = one_sgd_step(tmp_path, batch=8, ga=1, trainer_cls=_PerMicroBatchMean)
    accumulated = one_sgd_step(tmp_path, batch=4, ga=2, trainer_cls=_PerMicroBatchMean)
    worst = max(float((full[k] - accumulated[k]).abs().max()) for k in full)
    assert worst > 1e-5


def test_gradient_accumulation_with_pruning(tmp_path):
    recipe = {"pruning": {"method": "magnitude", "sparsity": 0.5}}
    full = one_sgd_step(tmp_path, batch=8, ga=1, recipe=recipe)
    accumulated = one_sgd_step(tmp_path, batch=4, ga=2, recipe=recipe)
    for key in full:
        torch.testing.assert_close(accumulated[key], full[key], atol=1e-5, rtol=0)


UNSTRUCTURED = {
    "magnitude": {"method": "magnitude", "sparsity": 0.5},
    "magnitude_global": {"method": "magnitude", "sparsity": 0.5, "scope": "global"},
    "gradual_magnitude": {
        "method": "gradual_magnitude",
        "sparsity": 0.7,
        "schedule": {"kind": "cubic", "start_step": 0, "end_step": 4, "frequency": 2},
    },
    "wanda": {"method": "wanda", "sparsity": 0.5, "calibration_batches": 2},
    "snip": {"method": "snip", "sparsity": 0.5, "calibration_batches": 2},
    "movement": {"method": "movement", "sparsity": 0.5},
    "wanda_2of4": {"method": "wanda", "pattern": "2:4", "calibration_batches": 2},
}


def _train(tmp_path, packed_dataset, model, pruning, **overrides):
    kwargs = tiny_config_kwargs(tmp_path, optim="adamw_torch", weight_decay=0.1, **overrides)
    args = FairCompressConfig(**kwargs, recipe={"pruning": pruning})
    trainer = FairCompressTrainer(model=model, args=args, train_dataset=packed_dataset)
    trainer.train()
    return trainer


@pytest.mark.parametrize("name", list(UNSTRUCTURED))
def test_pruned_weights_stay_zero_through_adamw(tmp_path, packed_dataset, tiny_gpt2, name):
    pruning = UNSTRUCTURED[name]
    trainer = _train(tmp_path, packed_dataset, tiny_gpt2, pruning)
    masks = list(iter_masks(trainer.model))
    assert len(masks) == 4 * tiny_gpt2.config.n_layer
    target = 0.5 if "2:4" in str(pruning.get("pattern")) else pruning["sparsity"]
    for module_name, module, _param_name, mask in masks:
        weight = module.weight
        if name == "movement":
            from hf_fair_compress.pruning.masking import effective_weight

            weight = effective_weight(module)
        assert torch.all(weight[~mask] == 0), f"{module_name}: a pruned weight moved"
        if pruning.get("scope") != "global":
            assert abs(1 - mask.float().mean().item() - target) < 0.005
        if name != "movement":
            assert torch.count_nonzero(weight[mask]) == mask.sum(), "a kept weight is exactly zero"
    pruned = sum(int((~m).sum()) for *_, m in masks)
    total = sum(m.numel() for *_, m in masks)
    assert abs(pruned / total - target) < 0.005


def test_two_of_four_pattern_holds_in_every_group(tmp_path, packed_dataset, tiny_gpt2):
    trainer = _train(tmp_path, packed_dataset, tiny_gpt2, UNSTRUCTURED["wanda_2of4"])
    for _, _module, _, mask in iter_masks(trainer.model):
        out_in = mask.t()  # Conv1D keeps [in, out]
        groups = out_in.reshape(out_in.shape[0], -1, 4).sum(-1)
        assert torch.all(groups == 2)


class _StopAt(TrainerCallback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_training_stop = True


RESUMABLE = {
    "gradual_magnitude": UNSTRUCTURED["gradual_magnitude"],
    "movement": {
        "method": "movement",
        "sparsity": 0.5,
        "schedule": {"kind": "cubic", "end_step": 6, "frequency": 1},
    },
}


@pytest.mark.parametrize("name", list(RESUMABLE))
def test_resume_gives_the_same_model_as_an_uninterrupted_run(
    tmp_path, packed_dataset, embedded_tokenizer, name
):
    pruning = RESUMABLE[name]
    common = dict(max_steps=8, save_strategy="steps", save_steps=4, optim="adamw_torch", weight_decay=0.1)

    def make(out, callbacks=None):
        args = FairCompressConfig(**tiny_config_kwargs(out, **common), recipe={"pruning": pruning})
        model = make_tiny_gpt2(vocab_size=len(embedded_tokenizer), seed=3)
        return FairCompressTrainer(model=model, args=args, train_dataset=packed_dataset, callbacks=callbacks)

    straight = make(tmp_path / "straight")
    straight.train()

    interrupted = make(tmp_path / "interrupted", callbacks=[_StopAt(4)])
    interrupted.train()
    assert interrupted.state.global_step == 4
    halfway = interrupted.model.state_dict()
    assert any(not torch.equal(halfway[k], v) for k, v in straight.model.state_dict().items())
    resumed = make(tmp_path / "interrupted")
    resumed.train(resume_from_checkpoint=True)
    assert resumed.state.global_step == 8

    expected = straight.model.state_dict()
    for key, value in resumed.model.state_dict().items():
        torch.testing.assert_close(value, expected[key], atol=1e-6, rtol=0, msg=f"{key} differs after resume")


@pytest.mark.parametrize(
    "pruning",
    [
        UNSTRUCTURED["magnitude"],
        UNSTRUCTURED["movement"],
        UNSTRUCTURED["wanda_2of4"],
        {"method": "mlp_neurons", "sparsity": 0.5},
        {"method": "attention_heads", "sparsity": 0.5},
        {"method": "layers", "keep_layers": [1]},
    ],
    ids=lambda p: p["method"] + ("_2of4" if p.get("pattern") else ""),
)
def test_export_loads_in_vanilla_transformers(
    tmp_path, packed_dataset, tiny_gpt2, embedded_tokenizer, pruning
):
    args = FairCompressConfig(**tiny_config_kwargs(tmp_path), recipe={"pruning": pruning})
    trainer = FairCompressTrainer(
        model=tiny_gpt2, args=args, train_dataset=packed_dataset, processing_class=embedded_tokenizer
    )
    trainer.train()
    out = trainer.save_compressed(tmp_path / "export")
    loaded, info = AutoModelForCausalLM.from_pretrained(out, output_loading_info=True)
    assert info["missing_keys"] == set() or not info["missing_keys"]
    assert not info["unexpected_keys"]
    assert not info["mismatched_keys"]

    batch = torch.tensor([packed_dataset[0]["input_ids"]])
    trainer.model.eval()
    with torch.no_grad():
        expected = trainer.model(batch).logits
        got = loaded(batch).logits
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)

    report = json.loads((out / "compression.json").read_text())
    if pruning["method"] in ("magnitude", "movement") or pruning.get("pattern"):
        requested = report["requested_sparsity"]
        assert abs(report["sparsity"]["global"] - requested) <= 0.005
    if pruning["method"] == "mlp_neurons":
        assert loaded.config.n_inner == tiny_gpt2.config.n_embd * 2
        assert report["parameters"]["after"] < report["parameters"]["before"]
    if pruning["method"] == "attention_heads":
        pruned = sum(len(v) for v in report["zero_heads"].values())
        assert pruned == tiny_gpt2.config.n_head * tiny_gpt2.config.n_layer // 2
    if pruning["method"] == "layers":
        assert loaded.config.n_layer == 1
    assert (out / "recipe.yaml").is_file()
    assert not list(tmp_path.glob(".export.tmp-*")), "the staging folder was left behind"


def test_failed_export_leaves_no_output(tmp_path, packed_dataset, tiny_gpt2, monkeypatch):
    args = FairCompressConfig(**tiny_config_kwargs(tmp_path), recipe={"pruning": UNSTRUCTURED["magnitude"]})
    trainer = FairCompressTrainer(model=tiny_gpt2, args=args, train_dataset=packed_dataset)
    trainer.train()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("hf_fair_compress.fair_compress_trainer.write_compressed_folder", boom)
    with pytest.raises(OSError):
        trainer.save_compressed(tmp_path / "export")
    assert not (tmp_path / "export").exists()


def test_nan_loss_stops_and_names_the_step(tmp_path, packed_dataset, tiny_gpt2):
    args = FairCompressConfig(**tiny_config_kwargs(tmp_path), recipe={"pruning": UNSTRUCTURED["magnitude"]})
    trainer = FairCompressTrainer(model=tiny_gpt2, args=args, train_dataset=packed_dataset)
    with torch.no_grad():
        tiny_gpt2.transformer.wte.weight[5] = float("nan")
    with pytest.raises(FairCompressError, match=r"loss became nan at optimizer step 1"):
        trainer.train()


def test_config_rejects_wrong_types_and_values(tmp_path):
    with pytest.raises(FairCompressError, match="block_size"):
        FairCompressConfig(**tiny_config_kwargs(tmp_path), block_size=1)
    with pytest.raises(FairCompressError, match="FairCompressConfig"):
        from transformers import TrainingArguments

        FairCompressTrainer(model=make_tiny_gpt2(), args=TrainingArguments(output_dir=str(tmp_path)))


def test_from_recipe_applies_training_defaults_and_overrides(tmp_path):
    recipe = {
        "pruning": {"method": "magnitude", "sparsity": 0.3},
        "training": {"max_steps": 7, "learning_rate": 0.01},
    }
    config = FairCompressConfig.from_recipe(recipe, output_dir=str(tmp_path), learning_rate=0.02)
    assert config.max_steps == 7
    assert config.learning_rate == 0.02
    assert config.compression_recipe.pruning.sparsity == 0.3
