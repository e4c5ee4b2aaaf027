"""Report figures as PNG bytes (matplotlib, Agg backend): forest plot of deltas, max-toxicity CDFs, per-group
heatmap, and a Pareto plot when several compressed models are compared. Each returns None when the audits lack
the data it needs."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from hf_fair_compress.eval.metric_info import direction


def _figure(width: float, height: float, ncols: int = 1):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, *plt.subplots(1, ncols, figsize=(width, height))


def _png(plt, fig) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def forest(report: dict[str, Any], limit: int = 30) -> bytes | None:
    """Worsening (direction-aware delta) with its 95% CI, worst first; right of zero is worse."""
    points = [
        (row["metric"], r["model"], r["worsening"], r["worsening_ci_low"], r["worsening_ci_high"])
        for row in report["rows"]
        for r in row["results"]
        if "worsening" in r
    ][:limit]
    if not points:
        return None
    plt, fig, ax = _figure(8, 0.32 * len(points) + 1.2)
    models = sorted({p[1] for p in points})
    colours = {m: f"C{i}" for i, m in enumerate(models)}
    for y, (_, model, w, lo, hi) in enumerate(points):
        scale = max(abs(lo), abs(hi), abs(w), 1e-12)  # each metric on its own scale: show relative to its CI
        ax.errorbar(
            w / scale, y, xerr=[[(w - lo) / scale], [(hi - w) / scale]], fmt="o", color=colours[model]
        )
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(
        range(len(points)), [f"{p[0]} ({p[1]})" if len(models) > 1 else p[0] for p in points], fontsize=7
    )
    ax.invert_yaxis()
    ax.set_xlabel("worsening / max(|CI bound|)  (> 0: compressed is worse)")
    ax.set_title("Paired change per metric, 95% CI, worst first")
    return _png(plt, fig)


def max_toxicity_cdf(base_items: list[dict], compressed: list[tuple[str, list[dict]]]) -> bytes | None:
    def maxima(items):
        return np.sort([max(x["scores"]) for x in items if x["block"] == "toxicity"])

    base = maxima(base_items)
    if not len(base):
        return None
    plt, fig, ax = _figure(6, 4)
    for label, values in [("base", base)] + [(name, maxima(items)) for name, items in compressed]:
        ax.step(values, np.arange(1, len(values) + 1) / len(values), where="post", label=label)
    ax.axvline(0.5, color="grey", ls="--", lw=1)
    ax.set_xlabel("max toxicity over a prompt's samples")
    ax.set_ylabel("share of prompts")
    ax.set_title("CDF of per-prompt max toxicity (lower curve to the right = more toxic)")
    ax.legend()
    return _png(plt, fig)


def group_heatmap(report: dict[str, Any]) -> bytes | None:
    rows = sorted(r for r in (row["metric"] for row in report["rows"]) if r.endswith(".mean_toxicity"))
    if not rows:
        return None
    by_name = {row["metric"]: row for row in report["rows"]}
    labels = ["base"] + [c["label"] for c in report["compressed"]]
    values = np.array(
        [
            [by_name[name]["base"]["value"]]
            + [(r.get("audit") or {}).get("value", np.nan) for r in by_name[name]["results"]]
            for name in rows
        ]
    )
    plt, fig, ax = _figure(2 + 1.2 * len(labels), 0.3 * len(rows) + 1.5)
    image = ax.imshow(values, aspect="auto", cmap="Reds")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), [n.removesuffix(".mean_toxicity") for n in rows], fontsize=7)
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{v:.3f}", ha="center", va="center", fontsize=6)
    fig.colorbar(image, ax=ax, label="mean toxicity")
    ax.set_title("Mean toxicity per group")
    return _png(plt, fig)


def pareto(report: dict[str, Any], bias_metric: str) -> bytes | None:
    """Non-zero parameters vs perplexity and vs a bias metric, base and every compressed model."""
    by_name = {row["metric"]: row for row in report["rows"]}
    if len(report["compressed"]) < 2 or "quality.perplexity" not in by_name or bias_metric not in by_name:
        return None
    models = [report["base"]] + report["compressed"]

    def values(metric):
        row = by_name[metric]
        return [row["base"]["value"]] + [(r.get("audit") or {}).get("value", np.nan) for r in row["results"]]

    params = [m["model"]["nonzero_parameters"] for m in models]
    plt, fig, axes = _figure(10, 4, ncols=2)
    for ax, metric in zip(axes, ("quality.perplexity", bias_metric)):
        ys = values(metric)
        ax.scatter(params, ys, c=[f"C{i}" for i in range(len(models))])
        for x, y, m in zip(params, ys, models):
            ax.annotate(m["label"], (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel("non-zero parameters")
        ax.set_ylabel(f"{metric} ({direction(metric).label})")
    fig.suptitle("Size vs quality and bias")
    return _png(plt, fig)
