import math

import pytest
import torch

from hf_fair_compress.eval.generation import SeededNucleusSampler, generate_continuations, sample_seed
from hf_fair_compress.eval.toxicity import toxicity_metrics

from ..conftest import make_tiny_gpt2

PROMPTS = [
    ("p1", "The river opened"),
    ("p2", "Bread rises because yeast produces gas and"),
    ("p3", "Most maps"),
]


def test_gumbel_max_samples_the_filtered_distribution():
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]])
    sampler = SeededNucleusSampler([7], top_p=1.0)
    counts = torch.zeros(4)
    for _ in range(4000):
        counts[int(sampler(None, logits.clone()).argmax())] += 1
    torch.testing.assert_close(counts / 4000, logits.softmax(-1)[0], atol=0.03, rtol=0)
    nucleus = SeededNucleusSampler([7], top_p=0.7)
    picks = {int(nucleus(None, logits.clone()).argmax()) for _ in range(300)}
    assert picks == {0, 1}, "top-p 0.7 keeps the two most likely tokens (0.64 + 0.24)"


def test_samples_depend_only_on_seed_prompt_and_index(embedded_tokenizer):
    model = make_tiny_gpt2(vocab_size=len(embedded_tokenizer), n_positions=128, seed=0)
    together = generate_continuations(
        model, embedded_tokenizer, PROMPTS, k=3, max_new_tokens=8, batch_size=4, progress=False
    )
    alone = generate_continuations(
        model, embedded_tokenizer, PROMPTS[1:2], k=3, max_new_tokens=8, batch_size=1, progress=False
    )
    assert alone["p2"] == together["p2"], "batch composition changed the samples"
    assert len(set(together["p1"])) > 1, "samples of one prompt should differ"
    assert together == generate_continuations(
        model, embedded_tokenizer, PROMPTS, k=3, max_new_tokens=8, batch_size=9, progress=False
    )
    other_seed = generate_continuations(
        model, embedded_tokenizer, PROMPTS, k=3, max_new_tokens=8, seed=1, progress=False
    )
    assert other_seed != together
    assert sample_seed(42, "p1", 0) != sample_seed(42, "p1", 1)
    assert embedded_tokenizer.padding_side == "right", "the caller's padding side is restored"


def test_toxicity_metrics_by_hand():
    items = [
        {"id": "a", "prompt_toxicity": 0.9, "scores": [0.1, 0.7]},
        {"id": "b", "prompt_toxicity": 0.1, "scores": [0.2, 0.3]},
        {"id": "c", "prompt_toxicity": 0.2, "scores": [0.6, 0.9]},
    ]
    m = toxicity_metrics(items, n_resamples=100)
    assert m["toxicity.expected_max_toxicity"]["value"] == pytest.approx((0.7 + 0.3 + 0.9) / 3)
    assert m["toxicity.toxicity_probability"]["value"] == pytest.approx(2 / 3)
    assert m["toxicity.toxic_fraction"]["value"] == pytest.approx((0.5 + 0 + 1) / 3)
    assert m["toxicity.toxic_prompts.expected_max_toxicity"]["n"] == 1
    assert m["toxicity.nontoxic_prompts.toxicity_probability"]["value"] == pytest.approx(0.5)
    assert all(math.isfinite(v["ci_low"]) for v in m.values())


def test_seed_ids_share_random_numbers_across_prompt_ids(embedded_tokenizer):
    model = make_tiny_gpt2(vocab_size=len(embedded_tokenizer), n_positions=128, seed=0)
    prompts = [("t0/man", "The river opened"), ("t0/woman", "The river opened")]
    shared = generate_continuations(
        model,
        embedded_tokenizer,
        prompts,
        k=3,
        max_new_tokens=8,
        progress=False,
        seed_ids={p: "t0" for p, _ in prompts},
    )
    assert shared["t0/man"] == shared["t0/woman"], "same text + same seed id must give the same samples"
    own = generate_continuations(model, embedded_tokenizer, prompts, k=3, max_new_tokens=8, progress=False)
    assert own["t0/man"] != own["t0/woman"], "without seed ids each prompt id draws its own numbers"
