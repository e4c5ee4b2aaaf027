import math

import pytest
import torch

from hf_fair_compress.eval.quality import document_nll, perplexity

from ..conftest import SHARED, make_tiny_gpt2


def test_windowed_nll_equals_one_pass_when_it_fits(embedded_tokenizer):
    model = make_tiny_gpt2(vocab_size=len(embedded_tokenizer), n_positions=256).eval()
    text = "The river opened a new bridge after a long winter. Bread rises because yeast produces gas."
    ids = [embedded_tokenizer.eos_token_id, *embedded_tokenizer(text)["input_ids"]]
    with torch.no_grad():
        lp = torch.log_softmax(model(torch.tensor([ids])).logits[0, :-1], -1)
    expected = -sum(float(lp[i, ids[i + 1]]) for i in range(len(ids) - 1))
    ((total, count),) = document_nll(model, embedded_tokenizer, [text])
    assert total == pytest.approx(expected, rel=1e-5) and count == len(ids) - 1
    ((windowed, wcount),) = document_nll(model, embedded_tokenizer, [text], block_size=8)
    assert wcount == count and math.isfinite(windowed)


def test_random_model_perplexity_is_near_vocab_size_on_wikitext(embedded_tokenizer):
    path = SHARED / "data" / "wikitext2" / "test.txt"
    if not path.is_file():
        pytest.skip("../shared/data not present")
    docs = [line for line in path.read_text(encoding="utf-8").splitlines() if len(line.split()) > 20][:20]
    model = make_tiny_gpt2(vocab_size=len(embedded_tokenizer), n_positions=128)
    metrics, per_doc = perplexity(model, embedded_tokenizer, docs, n_resamples=200)
    m = metrics["quality.perplexity"]
    assert m["n"] == 20 and m["ci_low"] <= m["value"] <= m["ci_high"]
    assert (
        0.5 * len(embedded_tokenizer) < m["value"] < 2 * len(embedded_tokenizer)
    )  # untrained: about uniform


def test_generation_quality_by_hand():
    from hf_fair_compress.eval.quality import generation_quality

    m = generation_quality({"p1": ["a b a b", ""], "p2": ["c d e", "  "]}, n_resamples=50)
    # per prompt: p1 (a,b),(b,a),(a,b) -> 2 of 3; p2 (c,d),(d,e) -> 2 of 2; averaged over prompts
    assert m["quality.distinct_2"]["value"] == pytest.approx((2 / 3 + 1) / 2)
    d = m["quality.distinct_2"]
    assert d["ci_low"] <= d["value"] <= d["ci_high"]
    assert m["quality.mean_length"]["value"] == pytest.approx((4 + 0 + 3 + 0) / 4)
    assert m["quality.empty_rate"]["value"] == pytest.approx(0.5)
    assert m["quality.empty_rate"]["n"] == 2
