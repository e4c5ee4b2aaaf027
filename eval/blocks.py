"""One runner per suite block: load the block's data, run the model, score, and return metrics + item records.

Runners share an `AuditContext` (model, tokenizer, scorers loaded on first use, seed, batch size). Item records
keep what a later paired comparison needs: ids, texts, every sample's scores, both log-likelihoods of a pair.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import counterfactual as cf
from .generation import generate_continuations
from .group_disparity import disparity_metrics
from .holistic_bias import likelihood_bias
from .likelihood import crows_pairs, stereoset
from .quality import generation_quality, perplexity
from .sources import load_block_data
from .toxicity import toxicity_metrics


@dataclass
class AuditContext:
    model: Any
    tokenizer: Any
    seed: int
    batch_size: int
    n_resamples: int
    data_dir: str | None
    toxicity_scorer_factory: Callable[[], Any]
    sentiment_scorer_factory: Callable[[], Any]
    progress: bool = True
    _scorers: dict[str, Any] = field(default_factory=dict)

    def scorer(self, kind: str):
        if kind not in self._scorers:
            factory = self.toxicity_scorer_factory if kind == "toxicity" else self.sentiment_scorer_factory
            self._scorers[kind] = factory()
        return self._scorers[kind]

    def generate(self, prompts, sampling, seed_ids=None) -> dict[str, list[str]]:
        return generate_continuations(
            self.model,
            self.tokenizer,
            prompts,
            k=sampling.samples,
            max_new_tokens=sampling.max_new_tokens,
            top_p=sampling.top_p,
            temperature=sampling.temperature,
            batch_size=self.batch_size,
            seed=self.seed,
            progress=self.progress,
            seed_ids=seed_ids,
        )

    def score(self, kind: str, texts: list[str]) -> list[float]:
        return self.scorer(kind).score(texts)


@dataclass
class BlockResult:
    metrics: dict[str, dict]
    items: list[dict]
    data: dict[str, Any]  # provenance of every data set the block read


def _limit(records: list, limit: int | None) -> list:
    return records[:limit] if limit else records


def _score_samples(ctx: AuditContext, continuations: dict[str, list[str]], kinds=("toxicity",)):
    """{prompt id: {kind: [scores]}}, scoring all texts of all prompts in one batched call per scorer."""
    ids = list(continuations)
    flat = [t for pid in ids for t in continuations[pid]]
    out: dict[str, dict[str, list[float]]] = {pid: {} for pid in ids}
    for kind in kinds:
        scores = iter(ctx.score(kind, flat))
        for pid in ids:
            out[pid][kind] = [next(scores) for _ in continuations[pid]]
    return out


def run_toxicity(ctx: AuditContext, block) -> BlockResult:
    prompts, provenance = load_block_data("toxicity", block.dataset, ctx.data_dir)
    prompts = _limit(prompts, block.limit)
    ids = [p.id for p in prompts]
    if len(set(ids)) != len(ids):
        from hf_fair_compress.errors import FairCompressError

        raise FairCompressError("toxicity prompts: duplicate prompt ids; every prompt needs a unique id")
    continuations = ctx.generate([(p.id, p.text) for p in prompts], block.sampling)
    scores = _score_samples(ctx, continuations)
    items = [
        {
            "block": "toxicity",
            "id": p.id,
            "prompt": p.text,
            "prompt_toxicity": p.toxicity,
            "texts": continuations[p.id],
            "scores": scores[p.id]["toxicity"],
        }
        for p in prompts
    ]
    metrics = toxicity_metrics(items, seed=ctx.seed, n_resamples=ctx.n_resamples)
    metrics.update(generation_quality(continuations, seed=ctx.seed, n_resamples=ctx.n_resamples))
    return BlockResult(metrics, items, {"toxicity": provenance})


def run_crows_pairs(ctx: AuditContext, block) -> BlockResult:
    pairs, provenance = load_block_data("crows_pairs", block.dataset, ctx.data_dir)
    metrics, items = crows_pairs(
        ctx.model, ctx.tokenizer, _limit(pairs, block.limit), ctx.batch_size, ctx.seed, ctx.n_resamples
    )
    return BlockResult(metrics, [{"block": "crows_pairs", **x} for x in items], {"crows_pairs": provenance})


def run_stereoset(ctx: AuditContext, block) -> BlockResult:
    records, provenance = load_block_data("stereoset", block.dataset, ctx.data_dir)
    metrics, items = stereoset(
        ctx.model, ctx.tokenizer, _limit(records, block.limit), ctx.batch_size, ctx.seed, ctx.n_resamples
    )
    return BlockResult(metrics, [{"block": "stereoset", **x} for x in items], {"stereoset": provenance})


def _bold_subset(prompts: list, domains: list[str], per_group: int | None) -> list:
    chosen = []
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for p in prompts:
        if p.domain in domains and (per_group is None or seen[(p.domain, p.group)] < per_group):
            seen[(p.domain, p.group)] += 1
            chosen.append(p)
    return chosen


def run_bold(ctx: AuditContext, block) -> BlockResult:
    prompts, provenance = load_block_data("bold", block.dataset, ctx.data_dir)
    prompts = _bold_subset(prompts, block.domains, block.prompts_per_group)
    continuations = ctx.generate([(p.id, p.text) for p in prompts], block.sampling)
    scores = _score_samples(ctx, continuations, ("toxicity", "sentiment"))
    items = [
        {
            "block": "bold",
            "id": p.id,
            "domain": p.domain,
            "group": p.group,
            "prompt": p.text,
            "texts": continuations[p.id],
            **scores[p.id],
        }
        for p in prompts
    ]
    metrics = {}
    for domain, group in itertools.groupby(
        sorted(items, key=lambda x: x["domain"]), key=lambda x: x["domain"]
    ):
        metrics.update(disparity_metrics(list(group), f"bold.{domain}", ctx.seed, ctx.n_resamples))
    return BlockResult(metrics, items, {"bold": provenance})


def run_counterfactual(ctx: AuditContext, block) -> BlockResult:
    spec, provenance = load_block_data("counterfactual", block.templates, None)
    items = cf.template_items(spec, block.limit, block.axes, block.terms_per_axis)
    data = {"counterfactual": provenance}
    if block.holistic_bias:
        hb, hb_provenance = load_block_data("holistic_bias", block.dataset, ctx.data_dir)
        items += cf.holistic_items(hb, block.holistic_descriptors, block.holistic_templates)
        data["holistic_bias"] = hb_provenance
    prompts = [(f"{x['id']}/{term}", text) for x in items for term, text in x["prompts"].items()]
    seed_ids = {pid: pid.rsplit("/", 1)[0] for pid, _ in prompts}
    continuations = ctx.generate(prompts, block.sampling, seed_ids=seed_ids)
    scores = _score_samples(ctx, continuations, ("toxicity", "sentiment"))
    records = []
    for x in items:
        variants = {
            term: {"prompt": text, "texts": continuations[f"{x['id']}/{term}"], **scores[f"{x['id']}/{term}"]}
            for term, text in x["prompts"].items()
        }
        records.append({"block": "counterfactual", "id": x["id"], "axis": x["axis"], "variants": variants})
    return BlockResult(cf.counterfactual_metrics(records, ctx.seed, ctx.n_resamples), records, data)


def run_holistic_bias(ctx: AuditContext, block) -> BlockResult:
    hb, provenance = load_block_data("holistic_bias", block.dataset, ctx.data_dir)
    metrics, items = likelihood_bias(
        ctx.model,
        ctx.tokenizer,
        hb,
        seed=ctx.seed,
        n_resamples=ctx.n_resamples,
        max_descriptors=block.max_descriptors,
        max_templates=block.max_templates,
        max_nouns=block.max_nouns,
    )
    items = [{"block": "holistic_bias", "id": f"{x['axis']}/{x['a']}|{x['b']}", **x} for x in items]
    return BlockResult(metrics, items, {"holistic_bias": provenance})


def run_quality(ctx: AuditContext, block) -> BlockResult:
    docs, provenance = load_block_data("quality", block.dataset, ctx.data_dir)
    docs = _limit(docs, block.limit)
    metrics, per_doc = perplexity(
        ctx.model, ctx.tokenizer, docs, seed=ctx.seed, n_resamples=ctx.n_resamples, progress=ctx.progress
    )
    items = [
        {"block": "quality", "id": str(i), "nll": nll, "tokens": n} for i, (nll, n) in enumerate(per_doc)
    ]
    return BlockResult(metrics, items, {"quality": provenance})


RUNNERS: dict[str, Callable[[AuditContext, Any], BlockResult]] = {
    "toxicity": run_toxicity,
    "crows_pairs": run_crows_pairs,
    "stereoset": run_stereoset,
    "bold": run_bold,
    "counterfactual": run_counterfactual,
    "holistic_bias": run_holistic_bias,
    "quality": run_quality,
}
