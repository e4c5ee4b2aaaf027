"""run_audit / write_audit on a tiny model: deterministic, complete settings, items that pair, and nothing
written when an audit does not finish."""

from __future__ import annotations

import json

import pytest

from hf_fair_compress.errors import FairCompressError
from hf_fair_compress.eval import blocks
from hf_fair_compress.eval.audit import comparable_settings, load_audit, run_audit, write_audit
from hf_fair_compress.eval.scorers import VaderScorer, load_scorer
from hf_fair_compress.eval.suite import suite_from_dict

from ..conftest import make_tiny_gpt2

SMALL = {
    "seed": 3,
    "n_resamples": 50,
    "blocks": {
        "toxicity": {"dataset": "builtin", "limit": 5, "sampling": {"samples": 2, "max_new_tokens": 6}},
        "counterfactual": {
            "limit": 2,
            "axes": ["gender"],
            "terms_per_axis": 2,
            "holistic_bias": False,
            "sampling": {"samples": 2, "max_new_tokens": 6},
        },
        "crows_pairs": {"required": False},
        "quality": {"dataset": "builtin", "limit": 3},
    },
}


def _audit(model, tokenizer, classifier, suite=SMALL, data_dir=None):
    _, _, folder, ckpt = classifier
    return run_audit(
        model,
        tokenizer,
        suite_from_dict(suite),
        model_name="tiny",
        toxicity_scorer_factory=lambda: load_scorer(f"detoxify:{ckpt}", str(folder)),
        sentiment_scorer_factory=VaderScorer,
        data_dir=data_dir,
        progress=False,
    )


@pytest.fixture
def model(embedded_tokenizer):
    return make_tiny_gpt2(vocab_size=len(embedded_tokenizer), n_positions=128, seed=0)


def test_audit_is_deterministic_and_records_every_setting(
    model, embedded_tokenizer, tiny_classifier, tmp_path
):
    first = _audit(model, embedded_tokenizer, tiny_classifier, data_dir=str(tmp_path / "nothing-here"))
    second = _audit(model, embedded_tokenizer, tiny_classifier, data_dir=str(tmp_path / "nothing-here"))
    assert first.metrics == second.metrics and first.items == second.items
    assert (
        "crows_pairs" in first.skipped
        and "crows_pairs/crows_pairs_anonymized.csv" in first.skipped["crows_pairs"]
    )
    for name in (
        "toxicity.expected_max_toxicity",
        "toxicity.toxicity_probability",
        "toxicity.toxic_fraction",
        "counterfactual.gender.toxicity_gap",
        "counterfactual.gender.sentiment_gap",
        "quality.perplexity",
        "quality.distinct_2",
        "quality.mean_length",
        "quality.empty_rate",
    ):
        m = first.metrics[name]
        assert set(m) == {"value", "ci_low", "ci_high", "n"} and m["ci_low"] <= m["value"] <= m["ci_high"], (
            name
        )
    assert first.metrics["toxicity.expected_max_toxicity"]["n"] == 5
    s = first.settings
    assert s["scorers"]["toxicity"]["checkpoint_sha256"] and s["scorers"]["sentiment"]["scorer"] == "vader"
    assert s["suite"]["blocks"]["toxicity"]["sampling"] == {
        "samples": 2,
        "max_new_tokens": 6,
        "top_p": 0.9,
        "temperature": 1.0,
    }
    assert s["seed"] == 3 and len(s["model"]["weights_sha256"]) == 64 and s["data"]["toxicity"]["sha256"]
    assert {"transformers", "torch", "detoxify"} <= set(s["versions"])
    tox = [x for x in first.items if x["block"] == "toxicity"]
    assert len(tox) == 5 and all(len(x["texts"]) == len(x["scores"]) == 2 for x in tox)
    cf = [x for x in first.items if x["block"] == "counterfactual"]
    assert len(cf) == 2 and all(set(x["variants"]) == {"man", "woman"} for x in cf)


def test_written_audit_round_trips_and_other_model_pairs(
    model, embedded_tokenizer, tiny_classifier, tmp_path
):
    result = _audit(model, embedded_tokenizer, tiny_classifier)
    out = write_audit(result, tmp_path / "audit")
    audit, items = load_audit(out)
    assert audit["complete"] and audit["metrics"] == json.loads(json.dumps(result.metrics))
    assert len(items) == len(result.items) and (out / "audit.md").read_text().startswith("# Audit of `tiny`")
    other = make_tiny_gpt2(vocab_size=len(embedded_tokenizer), n_positions=128, seed=1)
    other_result = _audit(other, embedded_tokenizer, tiny_classifier)
    assert other_result.settings["model"]["weights_sha256"] != result.settings["model"]["weights_sha256"]
    assert comparable_settings(other_result.settings) == comparable_settings(result.settings)
    assert [x["id"] for x in other_result.items] == [x["id"] for x in result.items]
    with pytest.raises(FairCompressError, match="not empty"):
        write_audit(result, out)


def test_failed_audit_writes_nothing(model, embedded_tokenizer, tiny_classifier, tmp_path, monkeypatch):
    def boom(*args):
        raise RuntimeError("scorer crashed")

    result = _audit(model, embedded_tokenizer, tiny_classifier)
    runs = tmp_path / "runs"
    monkeypatch.setattr("hf_fair_compress.eval.audit_markdown.audit_markdown", boom)
    with pytest.raises(RuntimeError):
        write_audit(result, runs / "audit")  # fails while writing: the staging folder goes too
    assert not list(runs.iterdir())
    monkeypatch.setitem(blocks.RUNNERS, "quality", boom)
    with pytest.raises(RuntimeError):
        write_audit(_audit(model, embedded_tokenizer, tiny_classifier), runs / "audit")
    assert not list(runs.iterdir())


def test_incomplete_audit_json_is_refused(tmp_path):
    (tmp_path / "audit.json").write_text(
        json.dumps({"format": "hf-fair-compress-audit/1", "complete": False})
    )
    with pytest.raises(FairCompressError, match="not a complete"):
        load_audit(tmp_path)
