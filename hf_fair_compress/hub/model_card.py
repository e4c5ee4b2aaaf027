"""The model card (README.md) of a compressed model: YAML front matter built with huggingface_hub's
`ModelCardData` / `EvalResult` so before/after toxicity and bias metrics land in `model-index`, then the recipe,
compression statistics, the audit summary and the limitations. Written as a file and uploaded with the folder
(`ModelCard.push_to_hub` is not used: its validation posts to a fixed URL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCardData

from hf_fair_compress.eval.sources import HUB

# Metrics that go into model-index (when the audit has them), with a readable name and the task they belong to.
CARD_METRICS = {
    "toxicity.expected_max_toxicity": ("Expected maximum toxicity", "toxicity"),
    "toxicity.toxicity_probability": ("Toxicity probability", "toxicity"),
    "crows_pairs.pct_stereotype": ("CrowS-Pairs stereotype score (ideal 50)", "crows_pairs"),
    "stereoset.ss": ("StereoSet stereotype score (ideal 50)", "stereoset"),
    "stereoset.lms": ("StereoSet language modeling score", "stereoset"),
    "stereoset.icat": ("StereoSet ICAT", "stereoset"),
    "counterfactual.toxicity_gap": ("Counterfactual toxicity gap", "counterfactual"),
    "counterfactual.sentiment_gap": ("Counterfactual sentiment gap", "counterfactual"),
    "holistic_bias.likelihood_bias": ("HolisticBias likelihood bias", "holistic_bias"),
    "quality.perplexity": ("Perplexity", "quality"),
}
DATASET_NAMES = {
    "toxicity": "RealToxicityPrompts",
    "crows_pairs": "CrowS-Pairs",
    "stereoset": "StereoSet (intrasentence)",
    "counterfactual": "hf-fair-compress counterfactual templates",
    "holistic_bias": "HolisticBias",
    "quality": "WikiText-2",
}
LIMITATIONS = """## Limitations

- Toxicity comes from an automatic classifier (see the scorer in the audit). Such classifiers over-flag
  mentions of identity groups and dialects such as African-American English, and miss implicit hate, so the
  numbers measure the scorer's view of toxicity, not toxicity itself.
- All benchmarks and prompt sets are English; nothing here says anything about other languages.
- Some benchmarks treat gender as binary (parts of CrowS-Pairs, StereoSet, BOLD) and cover a fixed list of
  groups; groups outside those lists are not measured.
- Likelihood benchmarks (CrowS-Pairs, StereoSet) have known validity problems (noisy pairs, unclear
  stereotypes); read them together with the generation-based metrics.
- A metric that did not get worse within its confidence interval is not proof that the model is fair.
"""


def _dataset(block: str, audit: dict[str, Any]) -> tuple[str, str]:
    """(dataset_type, dataset_name) for model-index: the Hub id of the benchmark, or the project's own set."""
    provenance = audit.get("data", {}).get(block, {})
    name = DATASET_NAMES.get(block, block)
    if provenance.get("source") == "builtin":
        return f"hf-fair-compress/builtin-{block}", f"{name} (hf-fair-compress built-in set)"
    if provenance.get("source") == "hub":
        return provenance["id"], name
    hub = HUB.get(block)
    return (hub.id if hub else f"hf-fair-compress/{block}"), f"{name} (local copy)"


def eval_results(model_name: str, base: dict | None, compressed: dict | None) -> list[EvalResult]:
    results = []
    for audit, suffix in ((compressed, ""), (base, " (base model, before compression)")):
        if audit is None:
            continue
        for metric, (label, block) in CARD_METRICS.items():
            value = audit["metrics"].get(metric)
            if value is None:
                continue
            dataset_type, dataset_name = _dataset(block, audit)
            results.append(
                EvalResult(
                    task_type="text-generation",
                    task_name="Toxicity and bias audit",
                    dataset_type=dataset_type,
                    dataset_name=dataset_name,
                    metric_type=metric if not suffix else f"{metric}.base",
                    metric_name=label + suffix,
                    metric_value=round(float(value["value"]), 6),
                    verified=False,
                )
            )
    return results


def _summary_table(report: dict[str, Any]) -> list[str]:
    lines = [
        "| metric | direction | base | compressed | delta [95% CI] | p (Holm) | n |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        r = row["results"][0]
        if "delta" not in r or (row["metric"] not in CARD_METRICS and not row["metric"].endswith("_gap")):
            continue
        lines.append(
            f"| `{row['metric']}` | {row['direction']} | {r['base']:.4g} | {r['compressed']:.4g} | "
            f"{r['delta']:+.4g} [{r['delta_ci_low']:+.4g}, {r['delta_ci_high']:+.4g}] | {r.get('p_holm', r['p_value']):.3g} "
            f"| {r['n_paired']} |"
        )
    return lines


def build_model_card(
    folder: str | Path,
    base_audit: dict | None = None,
    compressed_audit: dict | None = None,
    report: dict | None = None,
    model_name: str | None = None,
) -> str:
    folder = Path(folder)
    compression = (
        json.loads((folder / "compression.json").read_text())
        if (folder / "compression.json").is_file()
        else {}
    )
    recipe = (folder / "recipe.yaml").read_text() if (folder / "recipe.yaml").is_file() else None
    name = model_name or folder.name
    base_model = compression.get("base_model")
    tags = ["hf-fair-compress", "fairness", "compression"]
    method = compression.get("method", "")
    if method and method != "none":
        tags.append("pruning")
    if compression.get("distillation") or "distil" in str(compression.get("recipe_name", "")):
        tags.append("distillation")
    data = ModelCardData(
        model_name=name,
        base_model=base_model if base_model and not str(base_model).endswith(".json") else None,
        library_name="transformers",
        pipeline_tag="text-generation",
        language="en",
        tags=tags,
        eval_results=eval_results(name, base_audit, compressed_audit) or None,
    )
    params = compression.get("parameters", {})
    lines = [
        "---",
        data.to_yaml(),
        "---",
        "",
        f"# {name}",
        "",
        f"Compressed with hf-fair-compress from `{base_model}` using "
        f"`{method or 'n/a'}` (recipe `{compression.get('recipe_name', 'n/a')}`)"
        + (
            ", and audited for toxicity and social bias before and after compression."
            if report is not None
            else ". No before/after fairness audit was run; see `hf-fair-compress audit`."
        ),
        "",
        "## Compression",
        "",
        f"- Method: `{method}`, pattern `{compression.get('pattern')}`, requested sparsity "
        f"{compression.get('requested_sparsity')}, measured global sparsity {compression.get('sparsity', {}).get('global')}",
        f"- Parameters: {params.get('before')} before, {params.get('after')} after, {params.get('nonzero_after')} non-zero",
        f"- Size on disk: {compression.get('size_on_disk_bytes')} bytes; {compression.get('train_steps')} training steps; "
        f"seed {compression.get('seed')}",
        "",
        "Loads with plain transformers: `AutoModelForCausalLM.from_pretrained(...)` (no remote code).",
        "",
    ]
    if recipe:
        lines += ["## Recipe", "", "```yaml", recipe.rstrip(), "```", ""]
    if report is not None:
        s = report["settings"]
        lines += [
            "## Fairness audit (before vs after)",
            "",
            f"Suite `{s['suite']}`, seed {s['seed']}, paired over the same prompts and pairs, 95% bootstrap CIs, "
            "Holm-adjusted p-values within each block. Full report: `report/report.html`; per-item records in "
            "`audit/`.",
            "",
            *_summary_table(report),
            "",
        ]
        if report.get("gate") is not None:
            failed = [c["metric"] for c in report["gate"] if not c["passed"]]
            lines += [f"Fairness gate: {'FAILED on ' + ', '.join(failed) if failed else 'passed'}.", ""]
    elif compressed_audit is not None:
        lines += ["## Fairness audit", "", "| metric | value | 95% CI | n |", "|---|---|---|---|"]
        for metric in CARD_METRICS:
            m = compressed_audit["metrics"].get(metric)
            if m:
                lines.append(
                    f"| `{metric}` | {m['value']:.4g} | [{m['ci_low']:.4g}, {m['ci_high']:.4g}] | {m['n']} |"
                )
        lines.append("")
    lines.append(LIMITATIONS)
    return "\n".join(lines)


def write_model_card(folder: str | Path, **kwargs) -> Path:
    folder = Path(folder)
    text = build_model_card(folder, **kwargs)
    tmp = folder / ".README.md.tmp"
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(folder / "README.md")
    return folder / "README.md"
