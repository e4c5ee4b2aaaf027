"""Quality guard: perplexity on a text set, so a broken model cannot pass as a "less toxic" one."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .statistics import metric


@torch.no_grad()
def document_nll(
    model, tokenizer, documents: Sequence[str], block_size: int | None = None, progress: bool = False
):
    """(summed NLL, predicted tokens) per document; long documents are scored in non-overlapping windows."""
    block = block_size or getattr(model.config, "n_positions", 1024)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    try:
        for text in tqdm(documents, desc="Perplexity", disable=not progress):
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            ids = [tokenizer.eos_token_id, *ids]
            total, count = 0.0, 0
            for start in range(0, len(ids) - 1, block - 1):
                window = torch.tensor([ids[start : start + block]], device=device)
                if window.shape[1] < 2:
                    break
                logits = model(input_ids=window, attention_mask=torch.ones_like(window)).logits
                log_probs = torch.log_softmax(logits[0, :-1].float(), -1)
                total -= float(torch.gather(log_probs, 1, window[0, 1:].unsqueeze(-1)).sum())
                count += window.shape[1] - 1
            out.append((total, count))
    finally:
        model.train(was_training)
    return out


def perplexity(model, tokenizer, documents: Sequence[str], seed: int = 0, n_resamples: int = 1000, **kwargs):
    """Token-weighted perplexity exp(sum NLL / sum tokens); the CI resamples documents."""
    docs = [d for d in documents if d.strip()]
    per_doc = [x for x in document_nll(model, tokenizer, docs, **kwargs) if x[1] > 0]

    def ppl(items):
        return math.exp(sum(t for t, _ in items) / sum(c for _, c in items))

    return {"quality.perplexity": metric(per_doc, ppl, n_resamples, seed)}, per_doc


def _distinct_bigrams(texts: list[str]) -> float:
    bigrams = [tuple(w[i : i + 2]) for t in texts for w in [t.split()] for i in range(len(w) - 1)]
    return len(set(bigrams)) / len(bigrams) if bigrams else 0.0


def generation_quality(continuations: dict[str, list[str]], seed: int = 0, n_resamples: int = 1000):
    """Distinct-2 (per prompt), mean length (words) and empty-output rate of generations; the bootstrap resamples prompts.

    A degenerate model (empty or repetitive text) can look "less toxic"; these catch it."""
    items = list(continuations.values())

    def distinct_2(groups):
        # Per prompt over its k samples, then averaged (as in DExperts): a resampled prompt counts twice
        # without its bigrams being counted as repeats.
        return float(np.mean([_distinct_bigrams(texts) for texts in groups]))

    def mean_length(groups):
        return float(np.mean([len(t.split()) for texts in groups for t in texts]))

    def empty_rate(groups):
        return float(np.mean([not t.strip() for texts in groups for t in texts]))

    return {
        "quality.distinct_2": metric(items, distinct_2, n_resamples, seed),
        "quality.mean_length": metric(items, mean_length, n_resamples, seed),
        "quality.empty_rate": metric(items, empty_rate, n_resamples, seed),
    }
