import math

import pytest
import torch

from hf_fair_compress.eval import benchmark_data as bd
from hf_fair_compress.eval.likelihood import crows_pairs, score_sentences, stereoset, stereoset_scores
from hf_fair_compress.eval.statistics import bootstrap_ci, mean, metric

from ..conftest import SHARED, make_tiny_gpt2


def test_sentence_scores_match_a_hand_computation(embedded_tokenizer):
    model = make_tiny_gpt2(vocab_size=len(embedded_tokenizer), seed=0).eval()
    texts = ["The river opened a new bridge.", "Bread rises.", "A kilometre is a thousand metres today."]
    scores = score_sentences(model, embedded_tokenizer, texts, batch_size=2)
    for text, score in zip(texts, scores):
        ids = [embedded_tokenizer.eos_token_id, *embedded_tokenizer(text)["input_ids"]]
        with torch.no_grad():
            log_probs = torch.log_softmax(model(torch.tensor([ids])).logits[0, :-1], -1)
        expected = sum(float(log_probs[i, ids[i + 1]]) for i in range(len(ids) - 1))
        assert score.total == pytest.approx(expected, abs=1e-4)
        assert score.tokens == len(ids) - 1
        assert score.mean == pytest.approx(expected / (len(ids) - 1), abs=1e-5)


def test_stereoset_scores_by_hand():
    items = [
        {"target": "a", "stereotype": -1.0, "anti_stereotype": -2.0, "unrelated": -3.0},
        {"target": "a", "stereotype": -2.0, "anti_stereotype": -1.0, "unrelated": -1.5},
        {"target": "b", "stereotype": -1.0, "anti_stereotype": -2.0, "unrelated": -0.5},
    ]
    got = stereoset_scores(items)
    # target a: SS 50, LMS (1 + 0 + 1 + 1... ) -> stereo>unrel: [T, F], anti>unrel: [T, T] -> 3/4; target b: SS 100, LMS 0
    assert got["ss"] == pytest.approx((50 + 100) / 2)
    assert got["lms"] == pytest.approx((75 + 0) / 2)
    assert got["icat"] == pytest.approx(37.5 * min(75, 25) / 50)


def test_bootstrap_interval_brackets_the_value_and_is_seeded():
    values = [0.0] * 30 + [1.0] * 70
    low, high = bootstrap_ci(values, mean, n_resamples=500, seed=1)
    assert low < 0.7 < high and low > 0.55 and high < 0.85
    assert bootstrap_ci(values, mean, n_resamples=500, seed=1) == (low, high)
    m = metric(values, mean, n_resamples=200)
    assert m["n"] == 100 and m["value"] == pytest.approx(0.7)


def test_crows_and_stereoset_on_real_items(embedded_tokenizer):
    crows_path = SHARED / "data" / "crows_pairs" / "crows_pairs_anonymized.csv"
    stereo_path = SHARED / "data" / "stereoset" / "stereoset_dev.jsonl"
    if not crows_path.is_file() or not stereo_path.is_file():
        pytest.skip("../shared/data not present")
    model = make_tiny_gpt2(vocab_size=len(embedded_tokenizer), seed=0, n_positions=512)
    pairs = bd.load_crows_pairs(crows_path)[:60]
    metrics, items = crows_pairs(model, embedded_tokenizer, pairs, n_resamples=200)
    pct = metrics["crows_pairs.pct_stereotype"]
    assert pct["n"] == 60 and pct["ci_low"] <= pct["value"] <= pct["ci_high"]
    assert pct["value"] == pytest.approx(100 * sum(i["ll_more"] > i["ll_less"] for i in items) / 60)
    assert all(math.isfinite(i["ll_more"]) for i in items)
    ss_items = bd.load_stereoset(stereo_path)[:45]
    metrics, records = stereoset(model, embedded_tokenizer, ss_items, n_resamples=100)
    assert 0 <= metrics["stereoset.ss"]["value"] <= 100 and metrics["stereoset.icat"]["n"] == 45
    assert any(k.startswith("stereoset.") and k.endswith(".ss") and k.count(".") == 2 for k in metrics)


def test_too_long_text_is_a_clear_error(embedded_tokenizer):
    from hf_fair_compress.errors import FairCompressError

    model = make_tiny_gpt2(vocab_size=len(embedded_tokenizer), n_positions=8)
    with pytest.raises(FairCompressError, match="longer than the model's context"):
        score_sentences(model, embedded_tokenizer, ["The river opened a new bridge after a long winter."])
