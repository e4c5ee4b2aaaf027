"""RealToxicityPrompts-protocol generation: k nucleus samples per prompt, with random numbers that depend only
on (base seed, prompt id, sample index), so two models see exactly the same random numbers.

Sampling is Gumbel-max: after temperature and top-p filtering, each row adds Gumbel noise drawn from its own
seeded generator and takes the argmax, which is an exact sample from the filtered distribution. Because every
row owns its generator, results do not depend on batch composition or size. Prompts are sorted by length and
left-padded; `generate` keeps the KV cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import torch
from tqdm.auto import tqdm
from transformers import LogitsProcessor, LogitsProcessorList


def sample_seed(base_seed: int, prompt_id: str, sample_index: int) -> int:
    digest = hashlib.sha256(f"{base_seed}:{prompt_id}:{sample_index}".encode()).hexdigest()
    return int(digest[:15], 16)


class SeededNucleusSampler(LogitsProcessor):
    """Top-p + temperature, then Gumbel-max with one seeded generator per row.

    The nucleus is searched among each row's `candidates` most likely tokens first (a partial top-k instead of a
    full-vocabulary sort); a row whose nucleus is wider falls back to a full sort. Which path a row takes depends
    only on its own logits, so results stay independent of batching.
    """

    def __init__(
        self, seeds: Sequence[int], top_p: float = 0.9, temperature: float = 1.0, candidates: int = 1024
    ):
        self.generators = [torch.Generator().manual_seed(s) for s in seeds]
        self.top_p, self.temperature, self.candidates = top_p, temperature, candidates

    def _gumbel(self, row: int, n: int) -> torch.Tensor:
        u = torch.rand(n, generator=self.generators[row])
        return -torch.log(-torch.log(u.clamp(1e-12, 1 - 1e-7)))

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        logits = scores.float() / self.temperature
        rows, vocab = logits.shape
        if self.top_p >= 1.0:
            noise = torch.stack([self._gumbel(r, vocab) for r in range(rows)]).to(logits.device)
            return logits + noise
        log_probs = torch.log_softmax(logits, dim=-1)
        k = min(vocab, self.candidates)
        top_lp, top_idx = log_probs.topk(k, dim=-1)
        wide = [] if k == vocab else (top_lp.exp().sum(-1) < self.top_p).nonzero().flatten().tolist()
        if wide:  # rows whose nucleus is wider than the candidates: one full sort for all of them
            full_lp, full_idx = log_probs[wide].sort(dim=-1, descending=True)
            wide_rows = {r: j for j, r in enumerate(wide)}
        out = torch.full_like(logits, float("-inf"))
        for r in range(rows):
            lp, idx = (
                (full_lp[wide_rows[r]], full_idx[wide_rows[r]]) if r in wide else (top_lp[r], top_idx[r])
            )
            probs = lp.exp()
            n = int((probs.cumsum(-1) - probs <= self.top_p).sum())  # the smallest prefix reaching top_p
            out[r].scatter_(0, idx[:n], lp[:n] + self._gumbel(r, n).to(logits.device))
        return out


@torch.no_grad()
def generate_continuations(
    model,
    tokenizer,
    prompts: Sequence[tuple[str, str]],
    k: int = 25,
    max_new_tokens: int = 20,
    top_p: float = 0.9,
    temperature: float = 1.0,
    batch_size: int = 64,
    seed: int = 42,
    progress: bool = True,
    seed_ids: Mapping[str, str] | None = None,
    min_new_tokens: int | None = None,
) -> dict[str, list[str]]:
    """{prompt id: k continuations}. `batch_size` counts generated rows (prompt x sample).

    `seed_ids` maps a prompt id to the id its random numbers derive from; counterfactual variants of one
    template share it, so a swapped term is the only difference between their samples' inputs."""
    seed_of = seed_ids or {}
    padding_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    rows = [(pid, text, s) for pid, text in sorted(prompts, key=lambda p: len(p[1])) for s in range(k)]
    out: dict[str, list[str]] = {pid: [""] * k for pid, _ in prompts}
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        for start in tqdm(range(0, len(rows), batch_size), desc="Generating", disable=not progress):
            chunk = rows[start : start + batch_size]
            enc = tokenizer([t for _, t, _ in chunk], return_tensors="pt", padding=True).to(device)
            sampler = SeededNucleusSampler(
                [sample_seed(seed, seed_of.get(pid, pid), s) for pid, _, s in chunk], top_p, temperature
            )
            generated = model.generate(
                **enc,
                do_sample=False,
                num_beams=1,
                max_new_tokens=max_new_tokens,
                min_new_tokens=min_new_tokens,
                logits_processor=LogitsProcessorList([sampler]),
                pad_token_id=pad,
            )
            texts = tokenizer.batch_decode(
                generated[:, enc["input_ids"].shape[1] :], skip_special_tokens=True
            )
            for (pid, _, s), text in zip(chunk, texts):
                out[pid][s] = text
    finally:
        tokenizer.padding_side = padding_side
        model.train(was_training)
    return out
