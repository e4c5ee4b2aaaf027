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
    def __init__(self, seeds: Sequence[int], top_p: float = 0.9, temperature: float = 1.0):
        self.generators = [torch.Generator().manual_seed(s) for s in seeds]
        self.top_p, self.temperature = top_p, temperature

    def noise(self, rows: int, vocab: int) -> torch.Tensor:
        u = torch.stack([torch.rand(vocab, generator=g) for g in self.generators[:rows]])
        return -torch.log(-torch.log(u.clamp(1e-12, 1 - 1e-7)))

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        logits = scores.float() / self.temperature
        if self.top_p < 1.0:
            sorted_logits, order = logits.sort(dim=-1, descending=True)
            probs = sorted_logits.softmax(-1)
            drop = probs.cumsum(-1) - probs > self.top_p  # keep the smallest set reaching top_p
            sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
            logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
        return logits + self.noise(logits.shape[0], logits.shape[1]).to(logits.device)


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
