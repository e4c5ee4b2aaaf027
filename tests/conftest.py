"""Fixtures that build tiny GPT-2 models from configs: no download, CPU, a few seconds each."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from datasets import Dataset

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
GPT2_TOKENIZER_DIR = SHARED / "models" / "gpt2_tokenizer"
TINY_CONFIG = REPO / "recipes" / "models" / "tiny-gpt2.json"


@pytest.fixture(scope="session")
def embedded_tokenizer():
    from hf_fair_compress.data import builtin_corpus
    from hf_fair_compress.modeling import train_bpe_tokenizer

    return train_bpe_tokenizer(builtin_corpus(), vocab_size=512)


def make_tiny_gpt2(vocab_size: int = 512, n_layer: int = 2, n_embd: int = 32, n_head: int = 4, seed: int = 0):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=vocab_size,
        n_positions=64,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        n_inner=4 * n_embd,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
    )
    return GPT2LMHeadModel(config)


@pytest.fixture
def tiny_gpt2(embedded_tokenizer):
    return make_tiny_gpt2(vocab_size=len(embedded_tokenizer))


@pytest.fixture(scope="session")
def packed_dataset(embedded_tokenizer):
    from hf_fair_compress.data import builtin_corpus, pack_dataset

    raw = Dataset.from_dict({"text": builtin_corpus(n_paragraphs=120)})
    return pack_dataset(raw, embedded_tokenizer, block_size=32)


def tiny_config_kwargs(tmp_path: Path, **overrides):
    kwargs = dict(
        output_dir=str(tmp_path / "run"),
        per_device_train_batch_size=4,
        max_steps=6,
        learning_rate=1e-3,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=0,
        use_cpu=True,
        dataloader_pin_memory=False,
    )
    kwargs.update(overrides)
    return kwargs


def gpt2_tokenizer_or_skip():
    if not (GPT2_TOKENIZER_DIR / "vocab.json").is_file():
        pytest.skip("../shared/models/gpt2_tokenizer not present")
    from transformers import GPT2TokenizerFast

    tokenizer = GPT2TokenizerFast.from_pretrained(str(GPT2_TOKENIZER_DIR))
    tokenizer.pad_token = tokenizer.eos_token
    return tokenizer
