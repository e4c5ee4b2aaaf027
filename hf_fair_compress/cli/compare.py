"""`hf-fair-compress compare`: paired before/after report of audits, with an optional fairness gate.

Exit codes: 0 report written (gate passed or none), 2 bad input, 3 report written and the gate failed."""

from __future__ import annotations

import argparse
import sys

from .parsing import OneLineParser

GATE_FAILED = 3


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="hf-fair-compress compare", description=__doc__)
    p.add_argument("--base", required=True, help="audit folder of the base (uncompressed) model")
    p.add_argument("--compressed", required=True, nargs="+", help="audit folder(s) of compressed models")
    p.add_argument("--labels", nargs="+", help="names for the compressed models (default: folder names)")
    p.add_argument("--output-dir", required=True, help="folder for report.json, report.md, report.html")
    p.add_argument("--gate", help="YAML of non-inferiority margins, e.g. metric: {max_increase: 0.01}")
    p.add_argument("--seed", type=int, default=0, help="seed of the paired bootstrap")
    p.add_argument("--overwrite", action="store_true", help="replace an existing non-empty --output-dir")
    return p


def compare_and_report(
    base_dir, compressed_dirs, output_dir, gate_path=None, labels=None, seed=0, overwrite=False
):
    """Shared by `compare` and `compress --audit-suite`: returns (report, report folder, gate failed?)."""
    from pathlib import Path

    from ..errors import FairCompressError
    from ..export import check_output_dir
    from ..report import compare_audits, evaluate_gate, load, load_gate, write_report

    check_output_dir(Path(output_dir), overwrite)
    gate = load_gate(gate_path) if gate_path else None
    labels = labels or [Path(d).name for d in compressed_dirs]
    if len(labels) != len(compressed_dirs) or len(set(labels)) != len(labels):
        raise FairCompressError("--labels needs one distinct name per --compressed folder")
    base = load(base_dir, "base")
    compressed = [load(d, label) for d, label in zip(compressed_dirs, labels)]
    report = compare_audits(base, compressed, seed=seed)
    if gate is not None:
        report["gate"] = evaluate_gate(report, gate)
    dest = write_report(report, base.items, [(c.label, c.items) for c in compressed], output_dir, overwrite)
    failed = gate is not None and not all(c["passed"] for c in report["gate"])
    return report, dest, failed


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    report, dest, failed = compare_and_report(
        args.base, args.compressed, args.output_dir, args.gate, args.labels, args.seed, args.overwrite
    )
    worse = sum(
        1
        for row in report["rows"]
        for r in row["results"]
        if "worsening_ci_low" in r and r["worsening_ci_low"] > 0
    )
    print(f"report: {dest}/report.html ({len(report['rows'])} metrics, {worse} significantly worse)")
    if failed:
        names = sorted({c["metric"] for c in report["gate"] if not c["passed"]})
        print(f"error: fairness gate failed on {', '.join(names)}; see {dest}/report.md", file=sys.stderr)
        return GATE_FAILED
    return 0
