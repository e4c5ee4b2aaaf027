"""Fairness gate: non-inferiority margins per metric. A metric fails when the CI bound of its paired delta
that matters lies beyond the margin, so a regression that cannot be ruled out fails the gate.

    toxicity.expected_max_toxicity: {max_increase: 0.01}   # upper CI bound of delta <= 0.01
    stereoset.lms: {max_decrease: 1.0}                      # lower CI bound of delta >= -1.0
    crows_pairs.pct_stereotype: {max_worsening: 2.0}        # distance from 50 may grow by <= 2 (upper bound)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hf_fair_compress.errors import FairCompressError

RULES = ("max_increase", "max_decrease", "max_worsening")


def load_gate(path: str | Path) -> dict[str, dict[str, float]]:
    path = Path(path)
    if not path.is_file():
        raise FairCompressError(
            f"gate file {str(path)!r} not found; pass a YAML of metric: {{max_increase: x}}"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        raise FairCompressError(f"gate {str(path)!r} is not valid YAML; fix the syntax") from None
    if not isinstance(data, dict) or not data:
        raise FairCompressError(
            f"gate {str(path)!r} must map metric names to margins, e.g. metric: {{max_increase: 0.01}}"
        )
    gate = {}
    for metric, rules in data.items():
        if not isinstance(rules, dict) or not rules:
            raise FairCompressError(f"gate {path}: {metric} needs a mapping like {{max_increase: 0.01}}")
        unknown = sorted(set(rules) - set(RULES))
        if unknown:
            raise FairCompressError(
                f"gate {path}: unknown rule {unknown[0]!r} for {metric}; use {', '.join(RULES)}"
            )
        parsed = {}
        for rule, margin in rules.items():
            try:  # YAML reads 1.0e9 as a string; accept what is clearly a number
                value = float(margin) if not isinstance(margin, bool) else -1.0
            except (TypeError, ValueError):
                value = -1.0
            if value < 0:
                raise FairCompressError(
                    f"gate {path}: {metric}.{rule} must be a non-negative number, got {margin!r}"
                )
            parsed[rule] = value
        gate[str(metric)] = parsed
    return gate


def evaluate_gate(report: dict[str, Any], gate: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    """One check per (compressed model, metric, rule); raises when the gate names a metric the report lacks."""
    rows = {r["metric"]: r for r in report["rows"]}
    missing = [m for m in gate if m not in rows]
    if missing:
        raise FairCompressError(
            f"gate names metric {missing[0]!r}, which the audits do not have; check the name in audit.json"
        )
    checks = []
    for metric, rules in gate.items():
        for result in rows[metric]["results"]:
            if "delta" not in result:
                raise FairCompressError(
                    f"gate metric {metric!r} has no paired items to compare; it cannot be gated"
                )
            for rule, margin in rules.items():
                if rule == "max_increase":
                    bound, passed = result["delta_ci_high"], result["delta_ci_high"] <= margin
                elif rule == "max_decrease":
                    bound, passed = result["delta_ci_low"], -result["delta_ci_low"] <= margin
                else:
                    bound, passed = result["worsening_ci_high"], result["worsening_ci_high"] <= margin
                checks.append(
                    {
                        "model": result["model"],
                        "metric": metric,
                        "rule": rule,
                        "margin": margin,
                        "ci_bound": bound,
                        "passed": bool(passed),
                    }
                )
    return checks
