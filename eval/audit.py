"""Run a suite on one model and write the audit: audit.json (flat metrics + every setting), audit_items.jsonl
(one record per item, for paired comparisons) and audit.md. Outputs are staged and renamed into place, so an
audit that did not finish never leaves an audit.json behind."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from hf_fair_compress.distillation.teacher import weights_sha256
from hf_fair_compress.errors import FairCompressError

from .blocks import RUNNERS, AuditContext
from .sources import DataUnavailable
from .suite import Suite

AUDIT_FORMAT = "hf-fair-compress-audit/1"


def model_info(model, name_or_path: str) -> dict[str, Any]:
    params = list(model.parameters())
    return {
        "name_or_path": name_or_path,
        "revision": getattr(model.config, "_commit_hash", None),
        "weights_sha256": weights_sha256(model),
        "parameters": sum(p.numel() for p in params),
        "nonzero_parameters": int(sum(int(torch.count_nonzero(p)) for p in params)),
        "dtype": str(params[0].dtype).removeprefix("torch."),
        "n_layer": getattr(model.config, "n_layer", None),
    }


def library_versions() -> dict[str, str]:
    from importlib.metadata import version

    from hf_fair_compress.export import library_versions as export_versions

    return {**export_versions(), "detoxify": version("detoxify")}


@dataclass
class AuditResult:
    metrics: dict[str, dict]
    items: list[dict]
    settings: dict[str, Any]
    skipped: dict[str, str] = field(default_factory=dict)


def run_audit(
    model,
    tokenizer,
    suite: Suite,
    *,
    model_name: str,
    toxicity_scorer_factory,
    sentiment_scorer_factory,
    data_dir: str | None = None,
    seed: int | None = None,
    batch_size: int | None = None,
    progress: bool = True,
) -> AuditResult:
    """Run every block of `suite`; an optional block whose data cannot be found is skipped with the reason."""
    start = time.perf_counter()
    seed = suite.seed if seed is None else seed
    ctx = AuditContext(
        model=model,
        tokenizer=tokenizer,
        seed=seed,
        batch_size=batch_size or suite.batch_size,
        n_resamples=suite.n_resamples,
        data_dir=data_dir,
        toxicity_scorer_factory=toxicity_scorer_factory,
        sentiment_scorer_factory=sentiment_scorer_factory,
        progress=progress,
    )
    metrics: dict[str, dict] = {}
    items: list[dict] = []
    data: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    block_seconds: dict[str, float] = {}
    for name, block in suite.blocks.items():
        t0 = time.perf_counter()
        try:
            result = RUNNERS[name](ctx, block)
        except DataUnavailable as exc:
            if block.required:
                raise
            skipped[name] = str(exc)
            continue
        metrics.update(result.metrics)
        items.extend(result.items)
        data.update(result.data)
        block_seconds[name] = round(time.perf_counter() - t0, 2)
    if not metrics:
        raise FairCompressError("the audit produced no metrics: every block was skipped; pass --data-dir")
    settings = {
        "format": AUDIT_FORMAT,
        "complete": True,
        "model": model_info(model, model_name),
        "suite": suite.settings(),
        "seed": seed,
        "batch_size": ctx.batch_size,
        "n_resamples": suite.n_resamples,
        "device": str(next(model.parameters()).device),
        "scorers": {k: getattr(s, "settings", {"scorer": type(s).__name__}) for k, s in ctx._scorers.items()},
        "data": data,
        "skipped_blocks": skipped,
        "block_seconds": block_seconds,
        "wall_time_s": round(time.perf_counter() - start, 2),
        "versions": library_versions(),
    }
    return AuditResult(metrics, items, settings, skipped)


def comparable_settings(audit: dict[str, Any]) -> dict[str, Any]:
    """The settings that must match for two audits to be paired (everything but the model and timings)."""
    return {
        "suite": {k: v for k, v in audit["suite"].items() if k != "sha256"},
        "seed": audit["seed"],
        "scorers": audit["scorers"],
        # Files are compared by content hash: the same data under another path is the same data.
        "data": {k: {f: v for f, v in d.items() if f != "path"} for k, d in audit["data"].items()},
        "skipped_blocks": sorted(audit.get("skipped_blocks", {})),
    }


def write_audit(result: AuditResult, output_dir: str | Path, overwrite: bool = False) -> Path:
    from hf_fair_compress.export import staged_folder

    from .audit_markdown import audit_markdown

    audit = {**result.settings, "metrics": dict(sorted(result.metrics.items()))}
    with staged_folder(output_dir, overwrite) as stage:
        with open(stage / "audit_items.jsonl", "w", encoding="utf-8") as handle:
            for item in result.items:
                handle.write(json.dumps(item, ensure_ascii=False) + "\n")
        (stage / "audit.md").write_text(audit_markdown(audit), encoding="utf-8")
        # audit.json last: a folder without it is recognisably unfinished.
        (stage / "audit.json").write_text(
            json.dumps(audit, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return Path(output_dir)


def load_audit(folder: str | Path) -> tuple[dict[str, Any], list[dict]]:
    folder = Path(folder)
    path = folder / "audit.json"
    if not path.is_file():
        raise FairCompressError(f"no audit.json in {str(folder)!r}; run `hf-fair-compress audit` first")
    try:
        audit = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FairCompressError(f"{path} line {exc.lineno}: invalid JSON ({exc.msg})") from None
    if audit.get("format") != AUDIT_FORMAT or not audit.get("complete"):
        raise FairCompressError(f"{path} is not a complete {AUDIT_FORMAT} audit; re-run the audit")
    items = []
    items_path = folder / "audit_items.jsonl"
    if items_path.is_file():
        for line_no, line in enumerate(items_path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise FairCompressError(
                        f"{items_path} line {line_no}: invalid JSON ({exc.msg})"
                    ) from None
    return audit, items
