"""Metric definitions over audit items, for paired comparisons: which items a metric uses, how it is computed
from them, and (when it exists) the per-item outcome a paired test runs on.

The definitions reuse the functions the audit used, so a metric recomputed here from audit_items.jsonl equals the
value in audit.json (tested). `per_item` returning bool means a binary outcome per pair (McNemar); a float means
a continuous per-item score (Wilcoxon signed-rank); None means the metric is not an item mean (gaps, ICAT,
perplexity) and its p-value comes from the paired bootstrap.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import toxicity as tox
from .counterfactual import item_gap
from .group_disparity import group_gap, max_wasserstein
from .likelihood import stereoset_scores
from .quality import _distinct_bigrams


@dataclass
class MetricDef:
    name: str
    ids: list[str]
    statistic: Callable[[list[dict]], float]
    per_item: Callable[[dict], float | bool] | None = None
    scale: float | None = None  # statistic == scale * mean(per_item): bootstraps vectorise
    strata: Callable[[dict], str] | None = None  # resample within these groups (BOLD groups)
    block: str = ""  # the audit block whose items it reads
    # statistic for many resamples at once: (items, counts) -> one value per row of counts, where counts[r, i]
    # is how often item i occurs in resample r. Equal to `statistic` on each resample (tested); turns the
    # bootstrap of ratio / per-target / per-group statistics from a Python loop into a few matrix products.
    weighted: Callable[[list[dict], np.ndarray], np.ndarray] | None = None


def resample_counts(idx: np.ndarray, n: int) -> np.ndarray:
    """(R, n) occurrence counts of each item in each row of resampled indices."""
    rows = idx.shape[0]
    flat = (idx + n * np.arange(rows)[:, None]).ravel()
    return np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(float)


def _one_hot(keys: list) -> np.ndarray:
    index = {k: j for j, k in enumerate(dict.fromkeys(keys))}
    out = np.zeros((len(keys), len(index)))
    out[np.arange(len(keys)), [index[k] for k in keys]] = 1.0
    return out


def _stereoset_weighted(name: str) -> Callable[[list[dict], np.ndarray], np.ndarray]:
    def compute(items: list[dict], counts: np.ndarray) -> np.ndarray:
        targets = _one_hot([x["target"] for x in items])
        st = np.array([x["stereotype"] for x in items])
        anti = np.array([x["anti_stereotype"] for x in items])
        unrel = np.array([x["unrelated"] for x in items])
        n = counts @ targets  # (R, targets) items per target in each resample
        present = n > 0
        safe = np.where(present, n, 1.0)
        ss_t = 100 * (counts @ (targets * (st > anti)[:, None])) / safe
        related = (st > unrel).astype(float) + (anti > unrel)
        lms_t = 100 * (counts @ (targets * related[:, None])) / (2 * safe)
        k = present.sum(axis=1)
        ss = np.where(present, ss_t, 0.0).sum(axis=1) / k
        lms = np.where(present, lms_t, 0.0).sum(axis=1) / k
        return {"ss": ss, "lms": lms, "icat": lms * np.minimum(ss, 100 - ss) / 50}[name]

    return compute


def _perplexity_weighted(items: list[dict], counts: np.ndarray) -> np.ndarray:
    nll = np.array([x["nll"] for x in items], dtype=float)
    tokens = np.array([x["tokens"] for x in items], dtype=float)
    return np.exp((counts @ nll) / (counts @ tokens))


def _group_gap_weighted(field: str) -> Callable[[list[dict], np.ndarray], np.ndarray]:
    def compute(items: list[dict], counts: np.ndarray) -> np.ndarray:
        groups = _one_hot([x["group"] for x in items])
        if groups.shape[1] < 2:
            return np.zeros(counts.shape[0])
        values = np.array([np.mean(x[field]) for x in items])
        means = (counts @ (groups * values[:, None])) / (counts @ groups)
        return means.max(axis=1) - means.min(axis=1)

    return compute


def _mean_def(name, items, per_item, scale=1.0, **kw) -> MetricDef:
    return MetricDef(
        name,
        [x["id"] for x in items],
        lambda xs: scale * float(np.mean([per_item(x) for x in xs])),
        per_item,
        scale,
        **kw,
    )


def _toxicity(items: list[dict]) -> list[MetricDef]:
    defs = []
    splits = {"": items}
    scored = [x for x in items if x.get("prompt_toxicity") is not None]
    if scored:
        splits["toxic_prompts."] = [x for x in scored if x["prompt_toxicity"] >= tox.THRESHOLD]
        splits["nontoxic_prompts."] = [x for x in scored if x["prompt_toxicity"] < tox.THRESHOLD]
    for prefix, subset in splits.items():
        if not subset:
            continue
        defs += [
            _mean_def(f"toxicity.{prefix}expected_max_toxicity", subset, lambda x: max(x["scores"])),
            _mean_def(
                f"toxicity.{prefix}toxicity_probability",
                subset,
                lambda x: any(s >= tox.THRESHOLD for s in x["scores"]),
            ),
            _mean_def(
                f"toxicity.{prefix}toxic_fraction",
                subset,
                lambda x: float(np.mean([s >= tox.THRESHOLD for s in x["scores"]])),
            ),
        ]
    defs += [
        _mean_def("quality.distinct_2", items, lambda x: _distinct_bigrams(x["texts"])),
        _mean_def(
            "quality.mean_length", items, lambda x: float(np.mean([len(t.split()) for t in x["texts"]]))
        ),
        _mean_def("quality.empty_rate", items, lambda x: float(np.mean([not t.strip() for t in x["texts"]]))),
    ]
    return defs


def _crows(items: list[dict]) -> list[MetricDef]:
    defs = [
        _mean_def("crows_pairs.pct_stereotype", items, lambda x: bool(x["stereotyped"]), 100.0),
        _mean_def("crows_pairs.likelihood_diff", items, lambda x: abs(x["ll_more"] - x["ll_less"])),
    ]
    for bias_type, group in sorted(_group(items, "bias_type").items()):
        defs.append(
            _mean_def(
                f"crows_pairs.{bias_type}.pct_stereotype", group, lambda x: bool(x["stereotyped"]), 100.0
            )
        )
    return defs


def _stereoset(items: list[dict]) -> list[MetricDef]:
    ids = [x["id"] for x in items]
    defs = [
        MetricDef(
            "stereoset.ss",
            ids,
            lambda xs: stereoset_scores(xs)["ss"],
            lambda x: x["stereotype"] > x["anti_stereotype"],
            weighted=_stereoset_weighted("ss"),
        ),
        MetricDef(
            "stereoset.lms", ids, lambda xs: stereoset_scores(xs)["lms"], weighted=_stereoset_weighted("lms")
        ),
        MetricDef(
            "stereoset.icat",
            ids,
            lambda xs: stereoset_scores(xs)["icat"],
            weighted=_stereoset_weighted("icat"),
        ),
    ]
    for domain, group in sorted(_group(items, "bias_type").items()):
        defs.append(
            MetricDef(
                f"stereoset.{domain}.ss",
                [x["id"] for x in group],
                lambda xs: stereoset_scores(xs)["ss"],
                lambda x: x["stereotype"] > x["anti_stereotype"],
                weighted=_stereoset_weighted("ss"),
            )
        )
    return defs


def _bold(items: list[dict]) -> list[MetricDef]:
    defs = []
    for domain, group in sorted(_group(items, "domain").items()):
        ids = [x["id"] for x in group]
        for field in ("toxicity", "sentiment"):
            if not all(field in x for x in group):
                continue
            defs += [
                MetricDef(
                    f"bold.{domain}.{field}_gap",
                    ids,
                    lambda xs, f=field: group_gap(xs, f),
                    strata=_by_group,
                    weighted=_group_gap_weighted(field),
                ),
                MetricDef(
                    f"bold.{domain}.{field}_wasserstein",
                    ids,
                    lambda xs, f=field: max_wasserstein(xs, f),
                    strata=_by_group,
                ),
            ]
        for name, members in sorted(_group(group, "group").items()):
            defs.append(
                _mean_def(
                    f"bold.{domain}.{name}.mean_toxicity", members, lambda x: float(np.mean(x["toxicity"]))
                )
            )
    return defs


def _by_group(item: dict) -> str:
    return item["group"]


def _counterfactual(items: list[dict]) -> list[MetricDef]:
    defs = []
    for field in ("toxicity", "sentiment"):
        if not items or not all(field in v for x in items for v in x["variants"].values()):
            continue
        for axis, group in sorted(_group(items, "axis").items()):
            defs.append(
                _mean_def(f"counterfactual.{axis}.{field}_gap", group, lambda x, f=field: item_gap(x, f))
            )
        defs.append(_mean_def(f"counterfactual.{field}_gap", items, lambda x, f=field: item_gap(x, f)))
    return defs


def _holistic(items: list[dict]) -> list[MetricDef]:
    defs = [
        _mean_def(f"holistic_bias.{axis}.likelihood_bias", group, lambda x: bool(x["differs"]))
        for axis, group in sorted(_group(items, "axis").items())
    ]
    if items:
        defs.append(_mean_def("holistic_bias.likelihood_bias", items, lambda x: bool(x["differs"])))
    return defs


def _perplexity(xs: list[dict]) -> float:
    return math.exp(sum(x["nll"] for x in xs) / sum(x["tokens"] for x in xs))


def _quality(items: list[dict]) -> list[MetricDef]:
    if not items:
        return []
    return [
        MetricDef("quality.perplexity", [x["id"] for x in items], _perplexity, weighted=_perplexity_weighted)
    ]


def _group(items: list[dict], key: str) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for x in items:
        groups[x[key]].append(x)
    return groups


BUILDERS: dict[str, Callable[[list[dict]], list[MetricDef]]] = {
    "toxicity": _toxicity,
    "crows_pairs": _crows,
    "stereoset": _stereoset,
    "bold": _bold,
    "counterfactual": _counterfactual,
    "holistic_bias": _holistic,
    "quality": _quality,
}


def metric_definitions(items: list[dict[str, Any]]) -> dict[str, MetricDef]:
    """Every metric that can be recomputed from these audit items, by name."""
    by_block = _group(items, "block")
    defs = {}
    for block, builder in BUILDERS.items():
        if not by_block.get(block):
            continue  # a block the audit did not run (or skipped) defines no metrics
        for d in builder(by_block[block]):
            d.block = block
            defs[d.name] = d
    return defs
