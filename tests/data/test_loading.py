import json

import pytest
from datasets import Dataset

from hf_fair_compress import FairCompressError
from hf_fair_compress.data import find_text_column, load_text_dataset, pack_dataset


def test_local_txt_jsonl_csv_and_folder(tmp_path):
    (tmp_path / "a.txt").write_text("first line\nsecond line\n")
    (tmp_path / "b.jsonl").write_text("\n".join(json.dumps({"text": f"doc {i}", "id": i}) for i in range(3)))
    (tmp_path / "c.csv").write_text("content,label\nhello there,0\ngeneral kenobi,1\n")
    assert load_text_dataset(tmp_path / "a.txt")["text"] == ["first line", "second line"]
    assert len(load_text_dataset(tmp_path / "b.jsonl")) == 3
    assert find_text_column(load_text_dataset(tmp_path / "c.csv")) == "content"
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "x.txt").write_text("one\n")
    (folder / "y.txt").write_text("two\n")
    assert sorted(load_text_dataset(folder)["text"]) == ["one", "two"]


def test_mixed_folder_and_unsupported_files_are_errors(tmp_path):
    (tmp_path / "a.txt").write_text("x\n")
    (tmp_path / "b.csv").write_text("text\ny\n")
    with pytest.raises(FairCompressError, match="mixes file types"):
        load_text_dataset(tmp_path)
    with pytest.raises(FairCompressError, match="no .txt/.json/.jsonl/.csv"):
        (tmp_path / "empty").mkdir()
        load_text_dataset(tmp_path / "empty")


def test_no_usable_text_column_names_the_columns():
    ds = Dataset.from_dict({"a": ["x"], "b": ["y"], "n": [1]})
    with pytest.raises(FairCompressError, match=r"columns \['a', 'b', 'n'\]"):
        find_text_column(ds)
    with pytest.raises(FairCompressError, match="not in the dataset"):
        find_text_column(ds, "text")
    assert find_text_column(ds, "b") == "b"


def test_unreachable_hub_dataset_says_offline_and_names_the_alternative(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FairCompressError, match="offline.*local file or folder"):
        load_text_dataset("someone/some-dataset-that-is-not-cached")


def test_packing_makes_full_blocks_with_eos_between_documents(embedded_tokenizer):
    ds = Dataset.from_dict({"text": ["the river opened a new bridge"] * 40 + ["", "   "]})
    packed = pack_dataset(ds, embedded_tokenizer, block_size=16)
    assert all(len(row) == 16 for row in packed["input_ids"])
    assert packed["input_ids"] == packed["labels"]
    flat = [t for row in packed["input_ids"] for t in row]
    assert embedded_tokenizer.eos_token_id in flat
    with pytest.raises(FairCompressError, match="no block of 4096 tokens"):
        pack_dataset(ds.select(range(2)), embedded_tokenizer, block_size=4096)
