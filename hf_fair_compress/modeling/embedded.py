"""The embedded default: a random-initialised tiny GPT-2 and a byte-level BPE tokenizer trained in-process.

Its numbers only exercise the pipeline; nothing about a real model can be read from them.
"""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import ByteLevelBPETokenizer
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

from ..data.builtin_corpus import builtin_corpus

EOS = "<|endoftext|>"


def train_bpe_tokenizer(texts: list[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A GPT-2-style byte-level BPE tokenizer; EOS doubles as BOS and pad, as in GPT-2."""
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        texts, vocab_size=vocab_size, min_frequency=2, special_tokens=[EOS], show_progress=False
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer, bos_token=EOS, eos_token=EOS, unk_token=EOS, pad_token=EOS
    )
    tokenizer.model_max_length = 1024
    return tokenizer


def build_embedded_model(
    config_path: str | Path, seed: int = 0
) -> tuple[GPT2LMHeadModel, PreTrainedTokenizerFast]:
    """Random-initialised GPT-2 from a JSON config, with a tokenizer trained on the project's own corpus."""
    import torch

    config_dict = json.loads(Path(config_path).read_text())
    tokenizer = train_bpe_tokenizer(builtin_corpus(), vocab_size=int(config_dict.get("vocab_size", 1024)))
    eos = tokenizer.eos_token_id
    config_dict.update(vocab_size=len(tokenizer), bos_token_id=eos, eos_token_id=eos, pad_token_id=eos)
    config = GPT2Config(**config_dict)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = GPT2LMHeadModel(config)
    finally:
        torch.random.set_rng_state(generator_state)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer
