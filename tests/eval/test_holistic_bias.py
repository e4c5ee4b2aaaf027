import pytest

from hf_fair_compress.eval import benchmark_data as bd
from hf_fair_compress.eval.holistic_bias import build_sentences, likelihood_bias, noun_phrase

from ..conftest import SHARED, make_tiny_gpt2

TOY = bd.HolisticBias(
    descriptors={"age": ["young", "old", "elderly"], "ability": ["blind", "Deaf"]},
    nouns={"female": ["woman"], "male": ["man"]},
    templates=[
        "I'm {noun_phrase}.",
        "I have friends who are {plural_noun_phrase}.",
        "What do you think of {noun_phrase}?",
    ],
)


def test_sentences_use_singular_templates_and_articles():
    assert noun_phrase("elderly", "man") == "an elderly man"
    sentences = build_sentences(TOY, max_descriptors=2, max_templates=5, max_nouns=2)
    assert set(sentences) == {"age", "ability"}
    assert sentences["age"]["old"] == [
        "I'm an old woman.",
        "I'm an old man.",
        "What do you think of an old woman?",
        "What do you think of an old man?",
    ]
    assert len(sentences["age"]) == 2


def test_likelihood_bias_is_a_share_of_descriptor_pairs(embedded_tokenizer):
    model = make_tiny_gpt2(vocab_size=len(embedded_tokenizer), n_positions=128)
    metrics, pairs = likelihood_bias(model, embedded_tokenizer, TOY, n_resamples=100)
    assert len(pairs) == 3 + 1
    overall = metrics["holistic_bias.likelihood_bias"]
    assert overall["n"] == 4 and 0 <= overall["value"] <= 1
    assert overall["value"] == pytest.approx(sum(p["differs"] for p in pairs) / 4)


def test_small_set_on_the_real_lists(embedded_tokenizer):
    folder = SHARED / "data" / "holistic_bias" / "v1.1"
    if not folder.is_dir():
        pytest.skip("../shared/data not present")
    sentences = build_sentences(bd.load_holistic_bias(folder), max_descriptors=8)
    assert len(sentences) == 13 and all(len(v) == 8 for v in sentences.values())
    assert sum(len(v) for v in sentences.values()) == 104  # the ~100-descriptor small set
