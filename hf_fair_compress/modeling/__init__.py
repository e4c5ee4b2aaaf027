"""Loading models and tokenizers (Hub ids, local folders, or the embedded tiny GPT-2)."""

from .embedded import build_embedded_model, train_bpe_tokenizer
from .loading import load_model_and_tokenizer

__all__ = ["build_embedded_model", "load_model_and_tokenizer", "train_bpe_tokenizer"]
