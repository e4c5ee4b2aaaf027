"""Two audits of tiny models (dense and magnitude-pruned) with the tiny Detoxify-format scorer, built once."""

from __future__ import annotations

import pytest
import torch

from ..conftest import SHARED, make_tiny_classifier, make_tiny_gpt2

SUITE = {
    "seed": 5,
    "n_resamples": 200,
    "blocks": {
        "toxicity": {"dataset": "builtin", "limit": 12, "sampling": {"samples": 3, "max_new_tokens": 8}},
        "counterfactual": {
            "limit": 3,
            "axes": ["gender", "religion"],
            "terms_per_axis": 3,
            "holistic_bias": False,
            "sampling": {"samples": 2, "max_new_tokens": 8},
        },
        "crows_pairs": {"limit": 120, "required": False},
        "stereoset": {"limit": 120, "required": False},
        "bold": {
            "domains": ["gender"],
            "prompts_per_group": 4,
            "sampling": {"samples": 2, "max_new_tokens": 8},
            "required": False,
        },
        "holistic_bias": {"max_descriptors": 4, "max_templates": 3, "max_nouns": 2, "required": False},
        "quality": {"dataset": "builtin"},
    },
}


def magnitude_prune(model, sparsity: float):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2 and ".h." in name:
                k = int(p.numel() * sparsity)
                threshold = p.abs().flatten().kthvalue(k).values
                p.mul_(p.abs() > threshold)
    return model


def audit_dir(tmp, tokenizer, classifier, model, name, suite=SUITE, seed=None):
    from hf_fair_compress.eval.audit import run_audit, write_audit
    from hf_fair_compress.eval.scorers import VaderScorer, load_scorer
    from hf_fair_compress.eval.suite import suite_from_dict

    _, _, folder, ckpt = classifier
    data_dir = str(SHARED / "data") if (SHARED / "data").is_dir() else None
    result = run_audit(
        model,
        tokenizer,
        suite_from_dict(suite),
        model_name=name,
        toxicity_scorer_factory=lambda: load_scorer(f"detoxify:{ckpt}", str(folder)),
        sentiment_scorer_factory=VaderScorer,
        data_dir=data_dir,
        seed=seed,
        progress=False,
    )
    return write_audit(result, tmp / name)


@pytest.fixture(scope="session")
def audits(tmp_path_factory, embedded_tokenizer):
    tmp = tmp_path_factory.mktemp("audits")
    classifier = make_tiny_classifier(tmp_path_factory.mktemp("scorer"))
    vocab = len(embedded_tokenizer)
    dense = make_tiny_gpt2(vocab_size=vocab, n_positions=128, seed=0)
    return {
        "tmp": tmp,
        "classifier": classifier,
        "base": audit_dir(tmp, embedded_tokenizer, classifier, dense, "base"),
        "pruned": audit_dir(
            tmp,
            embedded_tokenizer,
            classifier,
            magnitude_prune(make_tiny_gpt2(vocab_size=vocab, n_positions=128, seed=0), 0.6),
            "pruned",
        ),
        "pruned80": audit_dir(
            tmp,
            embedded_tokenizer,
            classifier,
            magnitude_prune(make_tiny_gpt2(vocab_size=vocab, n_positions=128, seed=0), 0.8),
            "pruned80",
        ),
        "other_seed": audit_dir(tmp, embedded_tokenizer, classifier, dense, "other_seed", seed=6),
    }
