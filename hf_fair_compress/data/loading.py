"""Load a text dataset (Hub id, local file or folder) and pack it into causal-LM blocks with `datasets`."""

from __future__ import annotations

import os
from itertools import chain
from pathlib import Path
from typing import Any

from datasets import Dataset, load_dataset

from ..errors import FairCompressError
from ..modeling.hub_errors import explain_hub_failure

LOCAL_BUILDERS = {".txt": "text", ".json": "json", ".jsonl": "json", ".csv": "csv"}
PREFERRED_TEXT_COLUMNS = ("text", "content", "sentence", "document", "prompt")


def _local_files(path: Path) -> tuple[str, list[str]]:
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix in LOCAL_BUILDERS)
    if not files:
        raise FairCompressError(
            f"no .txt/.json/.jsonl/.csv files in {str(path)!r}; point --dataset at text files or a Hub dataset id"
        )
    builders = {LOCAL_BUILDERS.get(p.suffix) for p in files}
    if None in builders:
        raise FairCompressError(
            f"unsupported dataset file {str(files[0])!r}; use .txt, .json, .jsonl or .csv files"
        )
    if len(builders) > 1:
        raise FairCompressError(
            f"{str(path)!r} mixes file types {sorted(builders)}; keep one type per dataset"
        )
    return builders.pop(), [str(p) for p in files]


def load_text_dataset(
    spec: str | os.PathLike, config_name: str | None = None, split: str = "train"
) -> Dataset:
    """A local file/folder (`.txt`, `.json(l)`, `.csv`) or a Hub dataset id with optional config and split."""
    path = Path(spec)
    if path.exists():
        builder, files = _local_files(path)
        return load_dataset(builder, data_files=files, split="train")
    try:
        return load_dataset(str(spec), config_name, split=split)
    except Exception as exc:  # datasets raises many types; all mean "not loadable as asked"
        raise FairCompressError(
            explain_hub_failure("dataset", str(spec), exc, "a local file or folder")
        ) from None


def find_text_column(dataset: Dataset, preferred: str | None = None) -> str:
    columns = list(dataset.column_names)
    string_columns = [
        c for c, f in dataset.features.items() if getattr(f, "dtype", None) in ("string", "large_string")
    ]
    if preferred is not None:
        if preferred not in columns:
            raise FairCompressError(
                f"text column {preferred!r} not in the dataset; its columns are {columns}; set --dataset_text_field"
            )
        return preferred
    for name in PREFERRED_TEXT_COLUMNS:
        if name in string_columns:
            return name
    if len(string_columns) == 1:
        return string_columns[0]
    raise FairCompressError(
        f"no usable text column: the dataset has columns {columns}; name one with --dataset_text_field"
    )


def pack_dataset(
    dataset: Dataset,
    tokenizer: Any,
    block_size: int,
    text_column: str | None = None,
    num_proc: int | None = None,
) -> Dataset:
    """Tokenise, append EOS to every document, concatenate and cut into `block_size` blocks (labels = inputs)."""
    column = find_text_column(dataset, text_column)
    eos = tokenizer.eos_token_id

    def tokenize(batch: dict[str, list]) -> dict[str, list]:
        texts = [t for t in batch[column] if isinstance(t, str) and t.strip()]
        ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
        return {"input_ids": [x + [eos] if eos is not None else x for x in ids]}

    def group(batch: dict[str, list]) -> dict[str, list]:
        flat = list(chain.from_iterable(batch["input_ids"]))
        usable = (len(flat) // block_size) * block_size
        blocks = [flat[i : i + block_size] for i in range(0, usable, block_size)]
        return {"input_ids": blocks, "attention_mask": [[1] * block_size for _ in blocks], "labels": blocks}

    tokenized = dataset.map(
        tokenize, batched=True, remove_columns=dataset.column_names, num_proc=num_proc, desc="Tokenizing"
    )
    packed = tokenized.map(group, batched=True, batch_size=1000, num_proc=num_proc, desc="Packing")
    if len(packed) == 0:
        raise FairCompressError(
            f"the dataset yields no block of {block_size} tokens; give more text or a smaller --block_size"
        )
    return packed
