"""Write report.json / report.md / report.html into a folder, atomically (staged, then renamed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import plots
from .render import html_report, markdown

BIAS_FOR_PARETO = (
    "toxicity.expected_max_toxicity",
    "crows_pairs.pct_stereotype",
    "counterfactual.toxicity_gap",
)


def figures(report: dict[str, Any], base_items: list[dict], compressed_items: list[tuple[str, list[dict]]]):
    names = {row["metric"] for row in report["rows"]}
    bias = next((m for m in BIAS_FOR_PARETO if m in names), None)
    return {
        "forest": plots.forest(report),
        "cdf": plots.max_toxicity_cdf(base_items, compressed_items),
        "heatmap": plots.group_heatmap(report),
        "pareto": plots.pareto(report, bias) if bias else None,
    }


def write_report(
    report, base_items, compressed_items, output_dir: str | Path, overwrite: bool = False
) -> Path:
    from hf_fair_compress.export import staged_folder

    with staged_folder(output_dir, overwrite) as stage:
        figs = figures(report, base_items, compressed_items)
        (stage / "report.md").write_text(markdown(report), encoding="utf-8")
        (stage / "report.html").write_text(html_report(report, figs), encoding="utf-8")
        (stage / "report.json").write_text(
            json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return Path(output_dir)
