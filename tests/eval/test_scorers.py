"""Scorers built from tiny configs: a Detoxify-format checkpoint loaded offline through detoxify, and an HF
classifier, both compared with a direct forward pass."""

from __future__ import annotations

import pytest
import torch

from hf_fair_compress.errors import FairCompressError
from hf_fair_compress.eval.scorers import load_scorer


def _expected(model, tokenizer, texts, index):
    with torch.no_grad():
        logits = model(**tokenizer(texts, return_tensors="pt", padding=True)).logits
    return torch.sigmoid(logits)[:, index].tolist()


def test_local_detoxify_checkpoint_loads_offline(tiny_classifier, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model, tokenizer, folder, ckpt = tiny_classifier
    scorer = load_scorer(f"detoxify:{ckpt}", config_dir=str(folder))
    texts = ["you are a nice person", "you are awful", "the river", "you are a nice person"]
    got = scorer.score(texts)
    assert got == pytest.approx(_expected(model, tokenizer, texts, 0), abs=1e-5)
    assert len(scorer._cache) == 3, "a repeated text is scored once"
    assert len(scorer.settings["checkpoint_sha256"]) == 64
    assert "identity_attack" in scorer.detox.class_names
    with pytest.raises(FairCompressError, match="label 'hate'"):
        load_scorer(f"detoxify:{ckpt}", config_dir=str(folder), label="hate")
    with pytest.raises(FairCompressError, match="--toxicity-scorer-config"):
        load_scorer(f"detoxify:{ckpt}")


def test_hf_classifier_scorer_uses_sigmoid_for_multi_label(tiny_classifier):
    model, tokenizer, folder, _ = tiny_classifier
    scorer = load_scorer(f"hf:{folder}", label="insult")
    texts = ["you are awful", "you are nice"]
    assert scorer.score(texts) == pytest.approx(_expected(model, tokenizer, texts, 4), abs=1e-5)
    with pytest.raises(FairCompressError, match="not in the classifier's labels"):
        load_scorer(f"hf:{folder}", label="spam")
    with pytest.raises(FairCompressError, match="unknown toxicity scorer"):
        load_scorer("perspective:api")


def test_vader_sentiment_offline_and_ordered():
    from hf_fair_compress.eval.scorers import load_sentiment_scorer

    scorer = load_sentiment_scorer("vader")
    good, bad, flat = scorer.score(
        ["What a wonderful, kind person.", "A horrible, cruel person.", "The river."]
    )
    assert good > 0.5 and bad < -0.5 and flat == 0.0
    with pytest.raises(FairCompressError, match="unknown sentiment scorer"):
        load_sentiment_scorer("textblob")
