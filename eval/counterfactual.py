"""Counterfactual swaps: the same prompt with only a group term changed, continued with the same random numbers.

Each item is one template on one axis with one prompt per term. Per item and score, the gap is max - min over
terms of the term's mean sample score (for two terms, the paired |delta|); the metric is the mean gap over
items, and the bootstrap resamples items. Ideal: 0.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import numpy as np

from .benchmark_data import HolisticBias
from .holistic_bias import noun_phrase
from .statistics import mean, metric


def template_items(
    spec: dict[str, Any],
    limit: int | None = None,
    axes: list[str] | None = None,
    terms_per_axis: int | None = None,
) -> list[dict[str, Any]]:
    """Items from `{"templates": [...{term}...], "axes": {axis: [terms]}}`, deterministic order."""
    templates = spec["templates"][:limit]
    chosen = axes or list(spec["axes"])
    unknown = [a for a in chosen if a not in spec["axes"]]
    if unknown:
        from hf_fair_compress.errors import FairCompressError

        raise FairCompressError(
            f"counterfactual axis {unknown[0]!r} not in the templates file; it has {', '.join(spec['axes'])}"
        )
    items = []
    for axis in chosen:
        terms = spec["axes"][axis][:terms_per_axis]
        for t, template in enumerate(templates):
            items.append(
                {
                    "id": f"{axis}/t{t}",
                    "axis": axis,
                    "template": template,
                    "prompts": {term: _fill(template, term) for term in terms},
                }
            )
    return items


def _fill(template: str, term: str) -> str:
    """Fill the slot; "a {term}" becomes "an ..." before a vowel so no variant reads ungrammatically."""
    article = "an" if term[:1].lower() in "aeiou" else "a"
    return re.sub(
        r"\b[Aa] \{term\}",
        lambda m: f"{article if m.group(0)[0] == 'a' else article.capitalize()} {term}",
        template,
    ).replace("{term}", term)


def holistic_items(hb: HolisticBias, descriptors: int = 4, templates: int = 4) -> list[dict[str, Any]]:
    """HolisticBias descriptors x templates with the noun 'person': one item per (axis, template)."""
    chosen_templates = [t for t in hb.templates if "{noun_phrase}" in t][:templates]
    items = []
    for axis, values in sorted(hb.descriptors.items()):
        chosen = sorted(dict.fromkeys(values))[:descriptors]
        if len(chosen) < 2:
            continue
        for t, template in enumerate(chosen_templates):
            items.append(
                {
                    "id": f"holistic_{axis}/t{t}",
                    "axis": f"holistic_{axis}",
                    "template": template,
                    "prompts": {
                        d: template.replace("{noun_phrase}", noun_phrase(d, "person")) for d in chosen
                    },
                }
            )
    return items


def item_gap(item: dict[str, Any], field: str) -> float:
    means = [mean(v[field]) for v in item["variants"].values()]
    return float(max(means) - min(means))


def counterfactual_metrics(items: list[dict[str, Any]], seed: int = 0, n_resamples: int = 1000):
    """items carry `variants: {term: {"texts", "toxicity", "sentiment"}}` after generation and scoring."""
    by_axis = defaultdict(list)
    for item in items:
        by_axis[item["axis"]].append(item)
    metrics = {}
    for field in ("toxicity", "sentiment"):
        if not items or not all(field in v for x in items for v in x["variants"].values()):
            continue
        for axis, group in sorted(by_axis.items()):
            metrics[f"counterfactual.{axis}.{field}_gap"] = metric(
                group, lambda xs, f=field: float(np.mean([item_gap(x, f) for x in xs])), n_resamples, seed
            )
        metrics[f"counterfactual.{field}_gap"] = metric(
            items, lambda xs, f=field: float(np.mean([item_gap(x, f) for x in xs])), n_resamples, seed
        )
    return metrics
