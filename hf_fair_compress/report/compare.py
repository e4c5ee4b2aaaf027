"""Before/after comparison of audits: one row per metric, paired over the items both audits share, refused when
the audits were made with different settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hf_fair_compress.errors import FairCompressError
from hf_fair_compress.eval.audit import comparable_settings, load_audit
from hf_fair_compress.eval.item_statistics import metric_definitions
from hf_fair_compress.eval.metric_info import block_of, direction

from .paired import holm, paired_compare

REPORT_FORMAT = "hf-fair-compress-report/1"


@dataclass
class LoadedAudit:
    path: str
    label: str
    audit: dict[str, Any]
    items: list[dict]


def load(path: str | Path, label: str | None = None) -> LoadedAudit:
    audit, items = load_audit(path)
    return LoadedAudit(str(path), label or Path(path).name, audit, items)


def first_difference(a: Any, b: Any, path: str = "") -> tuple[str, Any, Any] | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            found = first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))
            if found:
                return found
        return None
    return None if a == b else (path, a, b)


def check_comparable(base: LoadedAudit, other: LoadedAudit) -> None:
    diff = first_difference(comparable_settings(base.audit), comparable_settings(other.audit))
    if diff:
        where, a, b = diff
        raise FairCompressError(
            f"audits {base.path!r} and {other.path!r} differ in {where} ({_short(a)} vs {_short(b)}); "
            "re-run the audits with the same suite, seed, scorers and data"
        )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def compare_audits(base: LoadedAudit, compressed: list[LoadedAudit], seed: int = 0) -> dict[str, Any]:
    for other in compressed:
        check_comparable(base, other)
    definitions = metric_definitions(base.items)
    n_resamples = int(base.audit.get("n_resamples", 1000))
    base_index = {(x["block"], x["id"]): x for x in base.items}
    rows: dict[str, dict[str, Any]] = {}
    for name, base_metric in base.audit["metrics"].items():
        rows[name] = {
            "metric": name,
            "block": block_of(name),
            "direction": direction(name).label,
            "base": base_metric,
            "results": [],
        }
    for other in compressed:
        other_index = {(x["block"], x["id"]): x for x in other.items}
        per_block: dict[str, list[dict]] = {}
        for name, row in rows.items():
            entry: dict[str, Any] = {"model": other.label, "audit": other.audit["metrics"].get(name)}
            definition = definitions.get(name)
            if definition is not None and entry["audit"] is not None:
                pairs = [
                    (base_index[(definition.block, i)], other_index[(definition.block, i)])
                    for i in definition.ids
                    if (definition.block, i) in other_index
                ]
                if pairs:
                    entry.update(
                        paired_compare(definition, pairs, direction(name), n_resamples, seed).as_dict()
                    )
                    per_block.setdefault(row["block"], []).append(entry)
            row["results"].append(entry)
        for entries in per_block.values():
            for entry, adjusted in zip(entries, holm([e["p_value"] for e in entries])):
                entry["p_holm"] = adjusted
    ordered = sorted(rows.values(), key=_regression_score, reverse=True)
    return {
        "format": REPORT_FORMAT,
        "base": _describe(base),
        "compressed": [_describe(c) for c in compressed],
        "settings": {
            "suite": base.audit["suite"]["name"],
            "seed": base.audit["seed"],
            "n_resamples": n_resamples,
            "scorers": base.audit["scorers"],
            "skipped_blocks": base.audit.get("skipped_blocks", {}),
            "bootstrap_seed": seed,
        },
        "rows": ordered,
        "examples": toxicity_examples(base, compressed),
    }


def _describe(a: LoadedAudit) -> dict[str, Any]:
    return {"label": a.label, "path": a.path, "model": a.audit["model"]}


def _regression_score(row: dict[str, Any]) -> float:
    """Worst regressions first: the largest standardised worsening over the compressed models."""
    scores = []
    for r in row["results"]:
        if "worsening" not in r:
            continue
        half_width = max((r["worsening_ci_high"] - r["worsening_ci_low"]) / 2, 1e-12)
        scores.append(r["worsening"] / half_width)
    return max(scores, default=float("-inf"))


def toxicity_examples(base: LoadedAudit, compressed: list[LoadedAudit], top: int = 5) -> list[dict[str, Any]]:
    """The prompts whose max toxicity rose most, with the most toxic sample of each model."""
    base_tox = {x["id"]: x for x in base.items if x["block"] == "toxicity"}
    out = []
    for other in compressed:
        rises = []
        for x in other.items:
            b = base_tox.get(x["id"]) if x["block"] == "toxicity" else None
            if b is None:
                continue
            bi = max(range(len(b["scores"])), key=lambda i: b["scores"][i])
            ci = max(range(len(x["scores"])), key=lambda i: x["scores"][i])
            rises.append(
                {
                    "model": other.label,
                    "id": x["id"],
                    "prompt": x["prompt"],
                    "rise": x["scores"][ci] - b["scores"][bi],
                    "base_text": b["texts"][bi],
                    "base_score": b["scores"][bi],
                    "compressed_text": x["texts"][ci],
                    "compressed_score": x["scores"][ci],
                }
            )
        out += sorted(rises, key=lambda r: r["rise"], reverse=True)[:top]
    return out
