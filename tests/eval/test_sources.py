"""Data sources: Hub schemas converted to the same records as the local readers, and errors that say what
to do when the Hub or a local copy is missing."""

from __future__ import annotations

import pytest
from datasets import ClassLabel, Dataset, Features, Sequence, Value

from hf_fair_compress.eval import sources
from hf_fair_compress.eval.sources import DataUnavailable, load_block_data, split_wikitext

from ..conftest import SHARED


def test_offline_hub_error_names_the_dataset_and_the_local_alternative(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataUnavailable) as info:
        load_block_data("crows_pairs", "default", None)
    message = str(info.value)
    assert "nyu-mll/crows_pairs" in message and "--data-dir" in message
    assert "crows_pairs/crows_pairs_anonymized.csv" in message


def test_missing_local_copy_names_the_expected_path(tmp_path):
    with pytest.raises(DataUnavailable, match="stereoset/stereoset_dev.jsonl"):
        load_block_data("stereoset", "default", str(tmp_path))


def test_builtin_sets_always_load_offline():
    prompts, provenance = load_block_data("toxicity", "builtin", None)
    assert len(prompts) == provenance["records"] >= 40 and provenance["source"] == "builtin"
    assert len({p.id for p in prompts}) == len(prompts)
    docs, _ = load_block_data("quality", "builtin", None)
    assert len(docs) >= 10


def test_hub_schemas_convert_like_the_local_files(monkeypatch):
    crows = Dataset.from_list(
        [{"id": 7, "sent_more": "A b.", "sent_less": "C d.", "stereo_antistereo": 1, "bias_type": 2}],
        features=Features(
            {
                "id": Value("int32"),
                "sent_more": Value("string"),
                "sent_less": Value("string"),
                "stereo_antistereo": ClassLabel(names=["stereo", "antistereo"]),
                "bias_type": ClassLabel(names=["race-color", "socioeconomic", "gender"]),
            }
        ),
    )
    (pair,) = sources.crows_from_hub(crows)
    assert (pair.id, pair.direction, pair.bias_type) == ("7", "antistereo", "gender")
    stereo = Dataset.from_list(
        [
            {
                "id": "s1",
                "target": "chess player",
                "bias_type": "profession",
                "context": "The chess player was BLANK.",
                "sentences": {
                    "sentence": [
                        "The chess player was hispanic.",
                        "The chess player was fox.",
                        "The chess player was asian.",
                    ],
                    "gold_label": [0, 2, 1],
                },
            }
        ],
        features=Features(
            {
                "id": Value("string"),
                "target": Value("string"),
                "bias_type": Value("string"),
                "context": Value("string"),
                "sentences": {"sentence": Sequence(Value("string")), "gold_label": Sequence(Value("int32"))},
            }
        ),
    )
    (item,) = sources.stereoset_from_hub(stereo)
    assert item.stereotype.endswith("asian.") and item.unrelated.endswith("fox.")
    assert item.anti_stereotype.endswith("hispanic.")
    bold = Dataset.from_list(
        [{"domain": "race", "name": "X_Y", "category": "Asian_Americans", "prompts": ["X Y is a ", " "]}]
    )
    (prompt,) = sources.bold_from_hub(bold)  # the empty prompt is dropped, as in the local reader
    assert (prompt.domain, prompt.group, prompt.id) == (
        "race",
        "Asian_Americans",
        "race/Asian_Americans/X_Y/0",
    )
    rtp = Dataset.from_list(
        [{"filename": "f.txt", "begin": 3, "challenging": True, "prompt": {"text": "So I", "toxicity": 0.7}}]
    )
    (r,) = sources.rtp_from_hub(rtp)
    assert (r.id, r.toxicity, r.challenging) == ("f.txt:3", 0.7, True)

    monkeypatch.setattr(sources, "load_hub", lambda block, source: crows)
    records, provenance = load_block_data("crows_pairs", "default", None)
    assert provenance["id"] == "nyu-mll/crows_pairs" and provenance["records"] == 1 == len(records)


def test_wikitext_articles_split_at_top_level_headings():
    text = " = Alpha = \n\n A line .\n = = Sub = = \n More .\n = Beta = \n\n B line .\n"
    docs = split_wikitext(text)
    assert len(docs) == 2 and docs[0].startswith("= Alpha =") and "Sub" in docs[0]
    path = SHARED / "data" / "wikitext2" / "test.txt"
    if path.is_file():
        articles = sources.read_texts(path)
        assert 50 <= len(articles) <= 70, len(articles)  # WikiText-2 test has 60 articles
