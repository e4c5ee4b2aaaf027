"""Fairness constraints and bi-level fair pruning inside FairCompressTrainer.

The proof-of-work test trains a tiny GPT-2 on a corpus with an injected gender -> occupation stereotype and
checks, at 50 % sparsity and the same number of steps, that `bilevel_fair` ends with a smaller counterfactual
gap on held-out phrasings than magnitude pruning + fine-tuning, at a perplexity no worse than 1.10x.
"""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch

from hf_fair_compress import FairCompressConfig, FairCompressError, FairCompressTrainer
from hf_fair_compress.fairness import stereotype_world as world
from hf_fair_compress.fairness.objective import counterfactual_gap
from hf_fair_compress.pruning import export_state_dict

from .conftest import make_tiny_gpt2, one_sgd_step, tiny_config_kwargs

FAIR = {
    "constraints": [{"type": "counterfactual", "weight": 1.0}],
    "probe_batch_size": 4,
    "probes": {"axes": ["gender"]},
}


@pytest.fixture(scope="module")
def biased_world(tmp_path_factory):
    """A tiny GPT-2 trained until it has learned the stereotype, plus data, tokenizer and probe file."""
    root = tmp_path_factory.mktemp("world")
    base, tokenizer, train, held_out = world.trained_world(root / "base", seed=0)
    probes = world.write_probe_file(root / "probes.jsonl")
    return {
        "base": base,
        "tokenizer": tokenizer,
        "train": train,
        "held_out": held_out,
        "probes": probes,
        "root": root,
    }


def _perplexity(model, dataset) -> float:
    model.eval()
    ids = torch.tensor(dataset["input_ids"])
    with torch.no_grad():
        return math.exp(model(input_ids=ids, labels=ids).loss.item())


def _compress(w, name, recipe, steps=100):
    model = copy.deepcopy(w["base"])
    args = world.training_config(w["root"] / name, steps=steps, lr=1e-3, recipe=recipe)
    trainer = FairCompressTrainer(
        model=model, args=args, train_dataset=w["train"], processing_class=w["tokenizer"]
    )
    trainer.train()
    baked = copy.deepcopy(w["base"])
    baked.load_state_dict({k: v for k, v in export_state_dict(trainer.model).items()})
    return trainer, baked


def test_bilevel_fair_beats_magnitude_on_held_out_counterfactual_gap(biased_world):
    w = biased_world
    held_out = world.held_out_probe_set()
    base_gap = counterfactual_gap(w["base"], w["tokenizer"], held_out)
    probes = {"builtin": False, "files": [w["probes"]]}
    _, magnitude = _compress(w, "magnitude", {"pruning": {"method": "magnitude", "sparsity": 0.5}})
    fair_trainer, fair = _compress(
        w,
        "bilevel",
        {
            "pruning": {"method": "bilevel_fair", "sparsity": 0.5},
            "fairness": {"constraints": [{"type": "counterfactual", "weight": 1.0}], "probes": probes},
        },
    )
    gap_magnitude = counterfactual_gap(magnitude, w["tokenizer"], held_out)
    gap_fair = counterfactual_gap(fair, w["tokenizer"], held_out)
    ppl_magnitude, ppl_fair = _perplexity(magnitude, w["held_out"]), _perplexity(fair, w["held_out"])
    summary = (
        f"base {base_gap:.4f}, magnitude {gap_magnitude:.4f} (ppl {ppl_magnitude:.3f}), "
        f"bilevel_fair {gap_fair:.4f} (ppl {ppl_fair:.3f})"
    )
    assert base_gap > 0.02, f"the base model did not learn the stereotype: {summary}"
    assert gap_fair < 0.75 * gap_magnitude, summary
    assert ppl_fair <= 1.10 * ppl_magnitude, summary
    sparsity = sum(int((~m).sum()) for m in _masks(fair_trainer)) / sum(
        m.numel() for m in _masks(fair_trainer)
    )
    assert abs(sparsity - 0.5) < 0.005
    assert fair_trainer.score_steps == 100


def _masks(trainer):
    from hf_fair_compress.pruning import iter_masks

    return [m for *_, m in iter_masks(trainer.model)]


def test_lagrangian_mode_ends_below_epsilon(biased_world):
    w = biased_world
    epsilon = 0.01
    recipe = {
        "pruning": {"method": "bilevel_fair", "sparsity": 0.5},
        "fairness": {
            "mode": "lagrangian",
            "dual_every": 5,
            "dual_learning_rate": 10.0,
            "probes": {"builtin": False, "files": [w["probes"]]},
            "constraints": [{"type": "counterfactual", "weight": 1.0, "epsilon": epsilon}],
        },
    }
    before = counterfactual_gap(w["base"], w["tokenizer"], world.probe_set())
    trainer, model = _compress(w, "lagrangian", recipe)
    after = counterfactual_gap(model, w["tokenizer"], world.probe_set())
    assert before > epsilon, "the constraint was already met before training"
    assert after < epsilon, f"constraint {after:.4f} not below epsilon {epsilon} (before {before:.4f})"
    report = trainer.fairness.report()
    assert report["dual_updates"] == 20
    lambdas = [
        h["fairness/lambda_counterfactual"]
        for h in trainer.state.log_history
        if "fairness/lambda_counterfactual" in h
    ]
    assert len(set(lambdas)) > 1, "the multiplier never moved"


@pytest.mark.parametrize("method", ["magnitude", "bilevel_fair"])
def test_fairness_penalty_is_gradient_accumulation_correct(tmp_path, embedded_tokenizer, method):
    recipe = {"pruning": {"method": method, "sparsity": 0.5}, "fairness": FAIR}
    kwargs = dict(recipe=recipe, vocab_size=len(embedded_tokenizer), processing_class=embedded_tokenizer)
    full = one_sgd_step(tmp_path, 8, 1, **kwargs)
    accumulated = one_sgd_step(tmp_path, 4, 2, **kwargs)
    for key in full:
        torch.testing.assert_close(accumulated[key], full[key], atol=1e-5, rtol=0)


@pytest.mark.parametrize("fairness_in", ["both", "upper", "lower", "none"])
def test_fairness_in_switch_routes_the_fairness_gradient(
    tmp_path, embedded_tokenizer, packed_dataset, fairness_in
):
    """Run one step with and without the fairness term; only the chosen level may differ."""

    def step(with_fairness):
        recipe = {"pruning": {"method": "bilevel_fair", "sparsity": 0.5, "implicit_gradient": False}}
        if with_fairness:
            recipe["fairness"] = {
                **FAIR,
                "fairness_in": fairness_in,
                "constraints": [{"type": "counterfactual", "weight": 50.0}],
            }
        args = FairCompressConfig(
            **tiny_config_kwargs(
                tmp_path / str(with_fairness),
                max_steps=1,
                optim="sgd",
                learning_rate=0.1,
                weight_decay=0.0,
                max_grad_norm=0.0,
            ),
            recipe=recipe,
        )
        trainer = FairCompressTrainer(
            model=make_tiny_gpt2(vocab_size=len(embedded_tokenizer), seed=2),
            args=args,
            train_dataset=packed_dataset,
            processing_class=embedded_tokenizer,
        )
        trainer.train()
        state = trainer.model.state_dict()
        weights = {k: v for k, v in state.items() if k.endswith(".weight") and "fc_" not in k}
        scores = {k: v for k, v in state.items() if k.endswith("fc_scores")}
        return weights, scores

    w0, s0 = step(False)
    w1, s1 = step(True)
    weights_moved = any(not torch.allclose(w0[k], w1[k], atol=1e-7) for k in w0)
    scores_moved = any(not torch.allclose(s0[k], s1[k], atol=1e-7) for k in s0)
    assert weights_moved == (fairness_in in ("both", "lower"))
    assert scores_moved == (fairness_in in ("both", "upper"))


def test_resume_restores_multipliers_and_score_optimizer(tmp_path, embedded_tokenizer, packed_dataset):
    from .test_fair_compress_trainer import _StopAt

    recipe = {
        "pruning": {"method": "bilevel_fair", "sparsity": 0.5},
        "fairness": {
            **FAIR,
            "mode": "lagrangian",
            "dual_every": 2,
            "dual_learning_rate": 5.0,
            "constraints": [{"type": "counterfactual", "weight": 0.5, "epsilon": 0.0}],
        },
    }

    def make(out, callbacks=None):
        args = FairCompressConfig(
            **tiny_config_kwargs(out, max_steps=8, save_strategy="steps", save_steps=4), recipe=recipe
        )
        return FairCompressTrainer(
            model=make_tiny_gpt2(vocab_size=len(embedded_tokenizer), seed=3),
            args=args,
            train_dataset=packed_dataset,
            processing_class=embedded_tokenizer,
            callbacks=callbacks,
        )

    straight = make(tmp_path / "a")
    straight.train()
    make(tmp_path / "b", callbacks=[_StopAt(4)]).train()
    resumed = make(tmp_path / "b")
    resumed.train(resume_from_checkpoint=True)
    assert resumed.fairness.lambdas == pytest.approx(straight.fairness.lambdas)
    for key, value in resumed.model.state_dict().items():
        torch.testing.assert_close(value, straight.model.state_dict()[key], atol=1e-6, rtol=0)
    out = resumed.save_compressed(tmp_path / "export")
    report = json.loads((out / "compression.json").read_text())
    assert report["fairness"]["constraints"]["counterfactual"]["lambda"] == pytest.approx(
        resumed.fairness.lambdas["counterfactual"]
    )
    assert report["weight_steps"] == 8 and report["mask_steps"] == 8


def test_all_three_surrogates_with_kd_in_one_run(tmp_path, embedded_tokenizer, packed_dataset):
    stereo = tmp_path / "stereo.jsonl"
    stereo.write_text(
        json.dumps({"stereo": "The river opened a new bridge.", "anti": "The river closed a bridge."}) + "\n"
    )
    recipe = {
        "pruning": {"method": "bilevel_fair", "sparsity": 0.5},
        "distillation": {"alpha_ce": 0.5, "alpha_clm": 0.5},
        "fairness": {
            "probes": {"axes": ["religion"], "files": [str(stereo)]},
            "probe_batch_size": 8,
            "constraints": [
                {"type": "counterfactual", "divergence": "symmetric_kl"},
                {"type": "group_gap", "relative_to_teacher": True, "spread": "variance"},
                {"type": "stereotype_margin", "form": "softplus", "weight": 0.1},
            ],
        },
    }
    args = FairCompressConfig(**tiny_config_kwargs(tmp_path, max_steps=3), recipe=recipe)
    trainer = FairCompressTrainer(
        model=make_tiny_gpt2(vocab_size=len(embedded_tokenizer)),
        args=args,
        train_dataset=packed_dataset,
        processing_class=embedded_tokenizer,
    )
    trainer.train()
    logged = [h for h in trainer.state.log_history if "fairness/group_gap" in h]
    assert logged
    for name in ("counterfactual", "group_gap", "stereotype_margin"):
        assert f"fairness/{name}" in logged[0] and f"fairness/lambda_{name}" in logged[0]
    assert "kd_loss" in logged[0]


def test_fairness_needs_a_tokenizer_and_valid_probes(tmp_path):
    args = FairCompressConfig(**tiny_config_kwargs(tmp_path), recipe={"fairness": FAIR})
    with pytest.raises(FairCompressError, match="processing_class"):
        FairCompressTrainer(model=make_tiny_gpt2(), args=args)
    from hf_fair_compress.recipe import recipe_from_dict

    with pytest.raises(FairCompressError, match="epsilon must be >= 0"):
        recipe_from_dict({"fairness": {"constraints": [{"epsilon": -0.1}]}})


def test_fairness_every_k_steps_and_from_a_start_step(tmp_path, embedded_tokenizer, packed_dataset):
    recipe = {
        "pruning": {"method": "magnitude", "sparsity": 0.5},
        "fairness": {**FAIR, "every": 3, "start_step": 1},
    }
    args = FairCompressConfig(**tiny_config_kwargs(tmp_path, max_steps=8), recipe=recipe)
    trainer = FairCompressTrainer(
        model=make_tiny_gpt2(vocab_size=len(embedded_tokenizer)),
        args=args,
        train_dataset=packed_dataset,
        processing_class=embedded_tokenizer,
    )
    trainer.train()
    # Steps are 0-based when the term is added: 1, 4 and 7 out of 0..7.
    assert len(trainer.fairness._pending["counterfactual"]) == 3
    steps_logged = [h["step"] for h in trainer.state.log_history if "fairness/counterfactual" in h]
    assert steps_logged == [2, 5, 8]
