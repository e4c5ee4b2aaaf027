"""The seed-paper study on the reference LM: does compression change toxicity and bias (Xu & Hu 2022), and does
single-run bi-level fair pruning keep fairness better than the usual pruning methods (Dai et al. 2023)?

Every variant gets the same training budget (optimizer steps, batch, learning rate) on the reference LM's own
training mixture: dense fine-tuning; a distilled student with half the layers (KD); magnitude 30/50/70 % +
fine-tuning; Wanda, SNIP and movement at 50 %; bilevel_fair 50 % with and without KD; and the two-stage baseline
(prune -> fine-tune -> fair fine-tune, the budget split in half). Each is audited with the same suite (reference
scorer, held-out RTP prompts, BOLD, CrowS-Pairs, StereoSet, counterfactual, HolisticBias, WikiText-2 test
perplexity) and compared with dense by `compare`. Writes benchmarks/results/seed_study/{report.md,report.json};
model folders, audits and the HTML report stay in the cache folder.

    python benchmarks/seed_study.py            # the study (builds the reference LM and scorer first if needed)
    python benchmarks/seed_study.py --smoke    # tiny models and sizes, minutes; what CI runs
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from benchmarks.reference import build_lm, build_scorer, common  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "seed_study"
RECIPES = REPO / "recipes"
VARIANTS = {
    "dense": None,
    "distil_half": RECIPES / "zoo" / "distil-6l.yaml",
    "magnitude_30": RECIPES / "zoo" / "magnitude-30.yaml",
    "magnitude_50": RECIPES / "zoo" / "magnitude-50.yaml",
    "magnitude_70": RECIPES / "zoo" / "magnitude-70.yaml",
    "wanda_50": RECIPES / "gpt2-wanda-50.yaml",
    "snip_50": RECIPES / "gpt2-snip-50.yaml",
    "movement_50": RECIPES / "gpt2-movement-50.yaml",
    "bilevel_fair_50": RECIPES / "gpt2-bilevel-fair-50.yaml",
    "bilevel_fair_50_kd": RECIPES / "gpt2-bilevel-fair-50-kd.yaml",
    "two_stage_50": RECIPES / "gpt2-two-stage-50.yaml",
}
HEADLINE = [
    "toxicity.expected_max_toxicity",
    "toxicity.toxicity_probability",
    "crows_pairs.pct_stereotype",
    "stereoset.ss",
    "stereoset.icat",
    "counterfactual.toxicity_gap",
    "counterfactual.sentiment_gap",
    "holistic_bias.likelihood_bias",
    "quality.perplexity",
]
# 200 steps x 11 variants plus 11 audits of the seed-study-full suite fit the 2-hour budget on 2 CPU cores;
# `--steps 300 --suite standard` is the bigger run for a GPU.
FULL = {
    "steps": 200,
    "batch_size": 16,
    "learning_rate": 1e-4,
    "suite": "benchmarks/suites/seed-study-full.yaml",
}
SMOKE = {
    "steps": 3,
    "batch_size": 4,
    "learning_rate": 1e-4,
    "suite": {
        "name": "seed-smoke",
        "seed": 42,
        "n_resamples": 100,
        "blocks": {
            "toxicity": {"limit": 8, "sampling": {"samples": 2, "max_new_tokens": 8}},
            "counterfactual": {
                "limit": 2,
                "axes": ["gender"],
                "terms_per_axis": 2,
                "holistic_bias": False,
                "sampling": {"samples": 2, "max_new_tokens": 8},
            },
            "crows_pairs": {"limit": 40},
            "quality": {"limit": 3},
        },
    },
}


def recipe_for(name: str, source: Path | None, n_layer: int, folder: Path) -> Path:
    """The variant's recipe with its `training:` section removed (the study sets one budget for all)."""
    data = {"pruning": {"method": "none"}} if source is None else yaml.safe_load(source.read_text())
    data["name"] = name
    data.pop("training", None)
    if "distillation" in data and data["distillation"].get("student"):
        data["distillation"]["student"] = {"n_layer": max(1, n_layer // 2)}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_variant(name, recipe, lm: Path, data_file: Path, out: Path, plan: dict) -> Path:
    from hf_fair_compress.cli.main import main

    dest = out / "models" / name
    if (dest / "compression.json").is_file():
        return dest
    args = [
        "compress", "--model", str(lm), "--recipe", str(recipe), "--output-dir", str(dest), "--dataset", str(data_file),
        "--max_steps", str(plan["steps"]), "--per_device_train_batch_size", str(plan["batch_size"]),
        "--learning_rate", str(plan["learning_rate"]), "--warmup_steps", "0.05", "--block_size", "128",
        "--seed", "0", "--use_cpu", "true", "--overwrite_output_dir", "true", "--save_strategy", "no",
        "--disable_tqdm", "true",
    ]  # fmt: skip
    if main(args) != 0:
        raise SystemExit(f"error: variant {name} failed to compress")
    return dest


def audit_variant(
    name: str, model: Path, scorer: Path, prompts: Path, data_dir: Path, suite, out: Path
) -> Path:
    from hf_fair_compress.eval.audit import run_audit, write_audit
    from hf_fair_compress.eval.scorers import VaderScorer, load_scorer
    from hf_fair_compress.eval.suite import load_suite, suite_from_dict
    from hf_fair_compress.modeling.loading import load_model_and_tokenizer

    dest = out / "audits" / name
    if (dest / "audit.json").is_file():
        return dest
    if isinstance(suite, dict):
        suite = suite_from_dict(suite, sha256="seed-smoke")
    else:  # a suite name, or a YAML path (relative ones from the project root, so any cwd works)
        in_project = Path(__file__).resolve().parents[1] / suite
        suite = load_suite(str(in_project) if in_project.is_file() else suite)
    suite.blocks["toxicity"].dataset = str(prompts)  # the 1,000 RTP prompts the reference LM never saw
    lm, tokenizer = load_model_and_tokenizer(str(model))
    toxicity = load_scorer(f"detoxify:{scorer / 'scorer.ckpt'}", str(scorer / "config"))
    result = run_audit(
        lm, tokenizer, suite, model_name=name, toxicity_scorer_factory=lambda: toxicity,
        sentiment_scorer_factory=VaderScorer, data_dir=str(data_dir), progress=False,
    )  # fmt: skip
    return write_audit(result, dest, overwrite=True)


def summarise(
    report: dict, compressions: dict[str, dict], plan: dict, lm_info: dict, scorer_info: dict
) -> str:
    rows = {r["metric"]: r for r in report["rows"]}
    lines = [
        "# Seed-paper study on the reference LM",
        "",
        f"Reference LM `{lm_info['key']}` ({lm_info['parameters'] / 1e6:.1f}M parameters, {lm_info['settings']['n_layer']} "
        f"layers, WikiText-2 test perplexity {lm_info['held_out_perplexity_wikitext2_test']['value']:.1f}); reference "
        f"scorer `{scorer_info['key']}` (held-out ROC-AUC {scorer_info['held_out']['roc_auc']['overall']:.3f}, "
        f"Spearman vs Perspective {scorer_info['held_out']['spearman_rtp_perspective']:.3f}). Every variant: "
        f"{plan['steps']} optimizer steps, batch {plan['batch_size']}, learning rate {plan['learning_rate']}, seed 0. "
        f"Suite `{report['settings']['suite']}`, seed {report['settings']['seed']}. Each cell: delta vs dense "
        "[paired 95% CI] (Holm-adjusted p). Direction: see the metric; `ideal 50` metrics improve toward 50.",
        "",
        "| variant | sparsity | steps | " + " | ".join(f"`{m}`" for m in HEADLINE if m in rows) + " |",
        "|---" * (3 + sum(m in rows for m in HEADLINE)) + "|",
    ]
    labels = [c["label"] for c in report["compressed"]]
    for label in labels:
        comp = compressions.get(label, {})
        cells = []
        for metric in HEADLINE:
            if metric not in rows:
                continue
            r = next(x for x in rows[metric]["results"] if x["model"] == label)
            cells.append(
                f"{r['delta']:+.3g} [{r['delta_ci_low']:+.3g}, {r['delta_ci_high']:+.3g}] ({_p(r.get('p_holm', r['p_value']))})"
                if "delta" in r
                else "-"
            )
        sparsity = comp.get("sparsity", {}).get("global")
        lines.append(
            f"| {label} | {sparsity if sparsity is not None else '-'} | {comp.get('train_steps', '-')} | "
            + " | ".join(cells)
            + " |"
        )
    lines += ["", "Dense reference values:", ""]
    for metric in HEADLINE:
        if metric in rows:
            b = rows[metric]["base"]
            lines.append(
                f"- `{metric}` ({rows[metric]['direction']}): {b['value']:.4g} [{b['ci_low']:.4g}, {b['ci_high']:.4g}], n={b['n']}"
            )
    lines += ["", answers(rows, labels), ""]
    lines += head_to_head_section(report.get("head_to_head", []))
    study = report.get("study", {})
    if "train_s" in study:
        lines += [
            "",
            f"Compute: training {study['train_s'] / 60:.1f} min + audits {study['audit_s'] / 60:.1f} min "
            "(summed over variants, 2 CPU cores).",
            "",
        ]
    return "\n".join(lines)


def head_to_head_section(items: list[dict]) -> list[str]:
    """bilevel_fair minus each 50 % baseline, paired on the same prompts and pairs."""
    if not items:
        return []
    metrics = [m for m in HEAD_TO_HEAD_METRICS if any(i["metric"] == m for i in items)]
    lines = [
        "",
        "### (b) Head to head at 50 %: fair model minus baseline",
        "",
        "Each cell: delta [paired 95% CI] (Holm-adjusted p within the block); negative = lower than the baseline. "
        "Lower is better for every column except `stereoset.ss` (ideal 50).",
        "",
        "| fair model | baseline | " + " | ".join(f"`{m}`" for m in metrics) + " |",
        "|---" * (2 + len(metrics)) + "|",
    ]
    pairs = dict.fromkeys((i["model"], i["baseline"]) for i in items)
    for model, baseline in pairs:
        cells = []
        for metric in metrics:
            r = next(
                (i for i in items if (i["model"], i["baseline"], i["metric"]) == (model, baseline, metric)),
                None,
            )
            cells.append(
                f"{r['delta']:+.3g} [{r['delta_ci_low']:+.3g}, {r['delta_ci_high']:+.3g}] "
                f"({_p(r.get('p_holm', r['p_value']))})"
                if r and "delta" in r
                else "-"
            )
        lines.append(f"| {model} | {baseline} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Optimizer steps: every variant here gets the same budget (two-stage spends its second half on the fair "
        "fine-tune). How many steps each approach needs to reach a fairness target is measured by "
        "`benchmarks/steps_to_fair.py`.",
    ]
    return lines


def _p(value: float) -> str:
    return "p<0.001" if value < 0.001 else f"p={value:.2g}"


def _significant(r: dict) -> str:
    if "worsening_ci_low" not in r:
        return "not measured"
    if r["worsening_ci_low"] > 0:
        return "worse"
    if r["worsening_ci_high"] < 0:
        return "better"
    return "no detectable change"


def answers(rows: dict, labels: list[str]) -> str:
    """The two questions, answered from the CIs (never from point estimates alone)."""
    out = [
        "## Answers",
        "",
        "(a) Do distillation and pruning change toxicity and bias vs dense? (95% CI of the paired delta)",
        "",
    ]
    for label in labels:
        verdicts = []
        for metric in (
            "toxicity.expected_max_toxicity",
            "crows_pairs.pct_stereotype",
            "counterfactual.toxicity_gap",
            "stereoset.ss",
        ):
            if metric in rows:
                r = next(x for x in rows[metric]["results"] if x["model"] == label)
                verdicts.append(f"{metric.split('.')[0]} {_significant(r)}")
        out.append(f"- {label}: " + "; ".join(verdicts))
    out += [
        "",
        "(b) At 50 % sparsity, counterfactual toxicity gap and perplexity of each method vs dense:",
        "",
    ]
    for label in [x for x in labels if x.endswith("_50") or x.endswith("_50_kd")]:
        parts = []
        for metric in ("counterfactual.toxicity_gap", "counterfactual.sentiment_gap", "quality.perplexity"):
            if metric in rows:
                r = next(x for x in rows[metric]["results"] if x["model"] == label)
                if "delta" in r:
                    parts.append(f"{metric.split('.', 1)[1]} {r['compressed']:.4g} ({_significant(r)})")
        out.append(f"- {label}: " + "; ".join(parts))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=common.SHARED_DATA)
    parser.add_argument(
        "--cache", type=Path, default=None, help="default ~/.cache/hf_fair_compress/reference"
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where report.md / report.json go")
    parser.add_argument("--smoke", action="store_true", help="tiny reference models and sizes (CI)")
    parser.add_argument(
        "--steps", type=int, help="override the optimizer steps per variant (recorded in the report)"
    )
    parser.add_argument(
        "--suite", help="override the audit suite (name or YAML path; recorded in the report)"
    )
    parser.add_argument(
        "--variants", nargs="+", choices=list(VARIANTS), help="run only these (dense is always run)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    data_dir = common.require_data(args.data_dir)
    cache = args.cache or common.cache_root()
    cache.mkdir(parents=True, exist_ok=True)
    plan = dict(SMOKE if args.smoke else FULL)
    if args.steps:
        plan["steps"] = args.steps
    if args.suite:
        plan["suite"] = args.suite
    lm = build_lm.main(
        ["--data-dir", str(data_dir), "--out", str(cache), *(["--smoke"] if args.smoke else [])]
    )
    scorer = build_scorer.main(
        ["--data-dir", str(data_dir), "--out", str(cache), *(["--smoke"] if args.smoke else [])]
    )
    lm_info = json.loads((lm / "build.json").read_text())
    scorer_info = json.loads((scorer / "build.json").read_text())
    suite_tag = Path(plan["suite"]).stem if isinstance(plan["suite"], str) else "smoke"
    tag = f"{plan['steps']}-{suite_tag}"
    out = cache / f"seed-study-{lm.name}-{scorer.name}-{tag}"
    (out / "recipes").mkdir(parents=True, exist_ok=True)
    docs, _ = build_lm.mixture(data_dir, lm_info["settings"].get("limit_docs"))
    data_file = out / "train.jsonl"
    data_file.write_text("".join(json.dumps({"text": d}) + "\n" for d in docs))
    names = ["dense"] + [v for v in VARIANTS if v != "dense" and (not args.variants or v in args.variants)]
    n_layer = lm_info["settings"]["n_layer"]
    audits, compressions = {}, {}
    for name in names:
        print(f"[seed study] {name}", flush=True)
        model = run_variant(
            name, recipe_for(name, VARIANTS[name], n_layer, out / "recipes"), lm, data_file, out, plan
        )
        compressions[name] = json.loads((model / "compression.json").read_text())
        audits[name] = audit_variant(
            name, model, scorer, lm / "rtp_held_out_prompts.jsonl", data_dir, plan["suite"], out
        )
    from hf_fair_compress.cli.compare import compare_and_report

    report, folder, _ = compare_and_report(
        audits["dense"], [audits[n] for n in names[1:]], out / "report", labels=names[1:], overwrite=True
    )
    head_to_head = compare_head_to_head(audits)
    report["study"] = {
        "plan": plan if not isinstance(plan["suite"], dict) else {**plan, "suite": plan["suite"]["name"]},
        "reference_lm": {k: lm_info[k] for k in ("key", "parameters", "held_out_perplexity_wikitext2_test")},
        "reference_scorer": {"key": scorer_info["key"], "held_out": scorer_info["held_out"]},
        "compression": {
            n: {k: compressions[n].get(k) for k in ("method", "sparsity", "parameters", "train_steps")}
            for n in names
        },
        # Compute summed from the artifacts, so a resumed study still reports what the whole study cost.
        "train_s": round(sum(compressions[n].get("wall_time_seconds", 0.0) for n in names), 1),
        "audit_s": round(
            sum(json.loads((audits[n] / "audit.json").read_text())["wall_time_s"] for n in names), 1
        ),
        "wall_time_s": round(time.perf_counter() - started, 1),
        "smoke": args.smoke,
    }
    report["head_to_head"] = head_to_head
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "report.json").write_text(committed_json(report))
    (args.results / "report.md").write_text(summarise(report, compressions, plan, lm_info, scorer_info))
    shutil.copy(folder / "report.html", out / "report.html")
    (out / "report_full.json").write_text(json.dumps(report, indent=1) + "\n")
    print(
        f"seed study: {args.results / 'report.md'} (HTML: {out / 'report' / 'report.html'}), "
        f"train {report['study']['train_s'] / 60:.1f} min + audits {report['study']['audit_s'] / 60:.1f} min"
    )


# Question (b) compares bilevel_fair with each baseline directly, pairing the two compressed models' items.
BASELINES_50 = ["magnitude_50", "wanda_50", "snip_50", "movement_50", "two_stage_50"]
FAIR_50 = ["bilevel_fair_50", "bilevel_fair_50_kd"]
HEAD_TO_HEAD_METRICS = [
    "counterfactual.toxicity_gap",
    "counterfactual.sentiment_gap",
    "crows_pairs.pct_stereotype",
    "stereoset.ss",
    "toxicity.expected_max_toxicity",
    "quality.perplexity",
]


def compare_head_to_head(audits: dict[str, Path]) -> list[dict]:
    from hf_fair_compress.report import compare_audits, load

    out = []
    for baseline in [b for b in BASELINES_50 if b in audits]:
        fair = [f for f in FAIR_50 if f in audits]
        if not fair:
            break
        report = compare_audits(load(audits[baseline], baseline), [load(audits[f], f) for f in fair], seed=0)
        for row in report["rows"]:
            if row["metric"] in HEAD_TO_HEAD_METRICS:
                for r in row["results"]:
                    out.append({"baseline": baseline, "metric": row["metric"], **_compact_result(r)})
    return out


def _round(value):
    if isinstance(value, float):
        return float(f"{value:.5g}")
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


_KEEP = (
    "model",
    "compressed",
    "delta",
    "delta_ci_low",
    "delta_ci_high",
    "p_value",
    "p_holm",
    "test",
    "n_paired",
)


def _compact_result(r: dict) -> dict:
    return _round({k: r[k] for k in _KEEP if k in r})


def committed_json(report: dict) -> str:
    """A small file for the repository: every summary metric, one line per metric, 5 significant digits.

    Left to the cache's `report_full.json` and HTML: generated examples (behind a content warning there), BOLD's
    per-group means (their gaps and Wasserstein distances stay), per-layer sparsities, the compressed audits' own CIs.
    """
    rows = [
        {
            "metric": row["metric"],
            "direction": row["direction"],
            "base": _round(row["base"]),
            "results": [_compact_result(r) for r in row["results"]],
        }
        for row in sorted(report["rows"], key=lambda r: r["metric"])
        if not row["metric"].endswith(".mean_toxicity")
    ]
    study = dict(report["study"])
    study["compression"] = {
        n: {**c, "sparsity": {"global": (c.get("sparsity") or {}).get("global")}}
        for n, c in study["compression"].items()
    }
    head = {k: report[k] for k in ("format", "base", "compressed", "settings")}
    lines = ["{"]
    for key, value in {**head, "study": _round(study)}.items():
        lines.append(f"{json.dumps(key)}: {json.dumps(value)},")
    lines.append('"head_to_head": [')
    lines.append(",\n".join(json.dumps(h) for h in report.get("head_to_head", [])))
    lines.append("],")
    lines.append('"rows": [')
    lines.append(",\n".join(json.dumps(r) for r in rows))
    lines.append("]}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
