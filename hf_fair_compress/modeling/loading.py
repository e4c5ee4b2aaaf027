"""Load a causal LM and its tokenizer by Hub id or local folder, with errors a user can act on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from ..errors import FairCompressError
from .embedded import build_embedded_model
from .hub_errors import explain_hub_failure


def load_model_and_tokenizer(name_or_path: str, dtype: Any = None, seed: int = 0):
    """`name_or_path`: Hub id, local model folder, or a GPT-2 config `.json` (the embedded random model)."""
    path = Path(name_or_path)
    if path.suffix == ".json" and path.is_file():
        return build_embedded_model(path, seed=seed)
    local = path.is_dir()
    if not local and (path.suffix == ".json" or name_or_path.startswith((".", "/"))):
        raise FairCompressError(
            f"model path {name_or_path!r} does not exist; pass a model folder or a Hub id"
        )
    try:
        AutoConfig.from_pretrained(name_or_path)  # fail fast (one network round) before tokenizer and weights
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
        kwargs = {"dtype": dtype} if dtype is not None else {}
        model = AutoModelForCausalLM.from_pretrained(name_or_path, **kwargs)
    except Exception as exc:
        if local:
            raise FairCompressError(
                f"could not load the model folder {name_or_path!r}: {str(exc).splitlines()[0][:200]}; "
                "it needs config.json, weights and tokenizer files"
            ) from None
        raise FairCompressError(
            explain_hub_failure("model", name_or_path, exc, "a local model folder")
        ) from None
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer
