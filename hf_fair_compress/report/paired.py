"""Paired statistics for base vs compressed on the same items: bootstrap CIs of the delta (and of the
direction-aware "worsening"), exact McNemar for binary outcomes, Wilcoxon signed-rank for continuous per-item
scores, and Holm's step-down correction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest, wilcoxon

from hf_fair_compress.eval.item_statistics import MetricDef, resample_counts
from hf_fair_compress.eval.metric_info import Direction


@dataclass
class PairedResult:
    base: float
    compressed: float
    delta: float
    delta_ci: tuple[float, float]
    worsening: float  # > 0: the compressed model is worse on this metric
    worsening_ci: tuple[float, float]
    p_value: float
    test: str
    n: int
    discordant: tuple[int, int] | None = None  # (base only, compressed only) for binary outcomes
    flip_rate: float | None = None

    def as_dict(self) -> dict:
        out = {
            "base": self.base,
            "compressed": self.compressed,
            "delta": self.delta,
            "delta_ci_low": self.delta_ci[0],
            "delta_ci_high": self.delta_ci[1],
            "worsening": self.worsening,
            "worsening_ci_low": self.worsening_ci[0],
            "worsening_ci_high": self.worsening_ci[1],
            "p_value": self.p_value,
            "test": self.test,
            "n_paired": self.n,
        }
        if self.discordant is not None:
            out["discordant"] = list(self.discordant)
            out["flip_rate"] = self.flip_rate
        return out


def _resample_indices(pairs: list[tuple[dict, dict]], definition: MetricDef, n_resamples: int, seed: int):
    rng = np.random.default_rng(seed)
    n = len(pairs)
    if definition.strata is None:
        return rng.integers(0, n, size=(n_resamples, n))
    strata = defaultdict(list)
    for i, (b, _) in enumerate(pairs):
        strata[definition.strata(b)].append(i)
    groups = [np.array(v) for v in strata.values()]
    return np.stack(
        [
            np.concatenate([g[rng.integers(0, len(g), size=len(g))] for g in groups])
            for _ in range(n_resamples)
        ]
    )


def mcnemar_exact(base: np.ndarray, compressed: np.ndarray) -> tuple[float, int, int]:
    """Two-sided exact McNemar: binomial test of the discordant pairs against 1/2."""
    b = int(np.sum(base & ~compressed))
    c = int(np.sum(~base & compressed))
    p = 1.0 if b + c == 0 else float(binomtest(min(b, c), b + c, 0.5).pvalue)
    return p, b, c


def wilcoxon_p(differences: np.ndarray) -> float:
    if not np.any(differences != 0):
        return 1.0
    return float(wilcoxon(differences, zero_method="wilcox").pvalue)


def paired_compare(
    definition: MetricDef,
    pairs: list[tuple[dict, dict]],
    direction: Direction,
    n_resamples: int = 1000,
    seed: int = 0,
) -> PairedResult:
    """pairs: (base item, compressed item) for the items both audits share."""
    base_items = [b for b, _ in pairs]
    comp_items = [c for _, c in pairs]
    base_value = definition.statistic(base_items)
    comp_value = definition.statistic(comp_items)
    idx = _resample_indices(pairs, definition, n_resamples, seed)
    if definition.per_item is not None and definition.scale is not None:
        b_vals = np.array([float(definition.per_item(x)) for x in base_items])
        c_vals = np.array([float(definition.per_item(x)) for x in comp_items])
        base_boot = definition.scale * b_vals[idx].mean(axis=1)
        comp_boot = definition.scale * c_vals[idx].mean(axis=1)
    elif definition.weighted is not None:
        counts = resample_counts(idx, len(pairs))
        base_boot = definition.weighted(base_items, counts)
        comp_boot = definition.weighted(comp_items, counts)
    else:
        base_boot = np.array([definition.statistic([base_items[i] for i in row]) for row in idx])
        comp_boot = np.array([definition.statistic([comp_items[i] for i in row]) for row in idx])
    deltas = comp_boot - base_boot
    worse = direction.badness(comp_boot) - direction.badness(base_boot)  # element-wise over the resamples
    result = PairedResult(
        base=base_value,
        compressed=comp_value,
        delta=comp_value - base_value,
        delta_ci=(float(np.quantile(deltas, 0.025)), float(np.quantile(deltas, 0.975))),
        worsening=direction.badness(comp_value) - direction.badness(base_value),
        worsening_ci=(float(np.quantile(worse, 0.025)), float(np.quantile(worse, 0.975))),
        p_value=float(min(1.0, 2 * min(np.mean(deltas <= 0), np.mean(deltas >= 0)))),
        test="paired bootstrap",
        n=len(pairs),
    )
    if definition.per_item is not None:
        b_out = [definition.per_item(x) for x in base_items]
        c_out = [definition.per_item(x) for x in comp_items]
        if all(isinstance(v, (bool, np.bool_)) for v in b_out + c_out):
            p, b, c = mcnemar_exact(np.array(b_out, dtype=bool), np.array(c_out, dtype=bool))
            result.p_value, result.test = p, "exact McNemar"
            result.discordant, result.flip_rate = (b, c), (b + c) / len(pairs)
        else:
            diffs = np.array(c_out, dtype=float) - np.array(b_out, dtype=float)
            result.p_value, result.test = wilcoxon_p(diffs), "Wilcoxon signed-rank"
    return result


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
