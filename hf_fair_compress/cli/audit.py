"""`hf-fair-compress audit`: run an evaluation suite on one model and write audit.json, audit_items.jsonl and
audit.md into --output-dir (atomically: the folder appears only when the audit finished)."""

from __future__ import annotations

import argparse

from ..errors import FairCompressError
from .parsing import OneLineParser

GENERATION_BLOCKS = ("toxicity", "bold", "counterfactual")


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="hf-fair-compress audit", description=__doc__)
    p.add_argument("--model", required=True, help="Hub id, local model folder, or a GPT-2 config .json")
    p.add_argument("--suite", default="quick", help="quick, standard, full, or a suite YAML path")
    p.add_argument("--output-dir", required=True, help="folder for audit.json, audit_items.jsonl, audit.md")
    p.add_argument(
        "--toxicity-scorer",
        default="detoxify:original",
        help="detoxify:<original|unbiased|multilingual|original-small|unbiased-small|path.ckpt> or hf:<id|dir>",
    )
    p.add_argument("--toxicity-scorer-config", help="HF config + tokenizer folder for a local Detoxify .ckpt")
    p.add_argument("--toxicity-label", help="label to read (Detoxify: toxicity; hf: toxic)")
    p.add_argument("--sentiment-scorer", default="vader", help="vader or hf:<sentiment classifier>")
    p.add_argument("--sentiment-label", help="label of an hf: sentiment classifier (default positive)")
    p.add_argument("--data-dir", help="folder with local copies of the benchmarks (layout: see eval/README)")
    p.add_argument("--prompts", help="RealToxicityPrompts-schema JSONL to use for the toxicity block")
    p.add_argument("--seed", type=int, help="base seed of sampling and bootstrap (default: the suite's)")
    p.add_argument(
        "--batch-size", type=int, help="rows per generation / scoring batch (default: the suite's)"
    )
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing non-empty --output-dir")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return p


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from pathlib import Path

    import torch

    from ..eval.audit import run_audit, write_audit
    from ..eval.scorers import load_scorer, load_sentiment_scorer
    from ..eval.suite import load_suite
    from ..export import check_output_dir
    from ..modeling.loading import load_model_and_tokenizer

    suite = load_suite(args.suite)
    if args.prompts:
        if "toxicity" not in suite.blocks:
            raise FairCompressError(
                "--prompts given but the suite has no toxicity block; add one or drop --prompts"
            )
        suite.blocks["toxicity"].dataset = str(Path(args.prompts).resolve())
    check_output_dir(Path(args.output_dir), args.overwrite)
    if args.batch_size is not None and args.batch_size < 1:
        raise FairCompressError("--batch-size must be >= 1")
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")

    def toxicity():
        return load_scorer(args.toxicity_scorer, args.toxicity_scorer_config, args.toxicity_label, device)

    def sentiment():
        return load_sentiment_scorer(args.sentiment_scorer, args.sentiment_label, device)

    scorers = {}
    if any(b in suite.blocks for b in GENERATION_BLOCKS):  # fail on a bad scorer before any model work
        scorers = {"toxicity": toxicity(), "sentiment": sentiment()}
    model, tokenizer = load_model_and_tokenizer(args.model)
    model.to(device)
    result = run_audit(
        model,
        tokenizer,
        suite,
        model_name=args.model,
        toxicity_scorer_factory=lambda: scorers.get("toxicity") or toxicity(),
        sentiment_scorer_factory=lambda: scorers.get("sentiment") or sentiment(),
        data_dir=args.data_dir,
        seed=args.seed,
        batch_size=args.batch_size,
        progress=not args.no_progress,
    )
    dest = write_audit(result, args.output_dir, overwrite=args.overwrite)
    headline = [
        f"{k}={v['value']:.4g}"
        for k, v in result.metrics.items()
        if k
        in (
            "toxicity.expected_max_toxicity",
            "crows_pairs.pct_stereotype",
            "stereoset.icat",
            "quality.perplexity",
        )
    ]
    skipped = f"; skipped {', '.join(result.skipped)}" if result.skipped else ""
    print(
        f"audit of {args.model} ({suite.name}): {len(result.metrics)} metrics -> {dest}/audit.md; "
        f"{' '.join(headline)}{skipped}"
    )
    return 0
