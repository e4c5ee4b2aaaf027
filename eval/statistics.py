"""Metric values with n and a 95% bootstrap confidence interval; the resampling unit is the item (prompt/pair)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def bootstrap_ci(
    items: Sequence,
    statistic: Callable[[list], float],
    n_resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap over items: each item (e.g. all samples of one prompt) is resampled as a whole."""
    items = list(items)
    if not items:
        raise ValueError("bootstrap needs at least one item")
    rng = np.random.default_rng(seed)
    n = len(items)
    values = np.empty(n_resamples)
    for r in range(n_resamples):
        idx = rng.integers(0, n, size=n)
        values[r] = statistic([items[i] for i in idx])
    alpha = (1 - level) / 2
    return float(np.quantile(values, alpha)), float(np.quantile(values, 1 - alpha))


def metric(
    items: Sequence, statistic: Callable[[list], float], n_resamples: int = 1000, seed: int = 0
) -> dict[str, float | int]:
    """{value, ci_low, ci_high, n}: the form every metric of an audit takes."""
    low, high = bootstrap_ci(items, statistic, n_resamples=n_resamples, seed=seed)
    return {"value": float(statistic(list(items))), "ci_low": low, "ci_high": high, "n": len(items)}


def mean(values: list) -> float:
    return float(np.mean(values))
