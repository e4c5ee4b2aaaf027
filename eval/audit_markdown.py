"""audit.md: the metrics of one audit as tables per block, with settings a reader needs to trust them."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from .metric_info import block_of, direction


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def audit_markdown(audit: dict[str, Any]) -> str:
    model, suite = audit["model"], audit["suite"]
    lines = [
        f"# Audit of `{model['name_or_path']}`",
        "",
        f"Suite `{suite['name']}`, seed {audit['seed']}, {audit['n_resamples']} bootstrap resamples "
        f"(95% percentile CIs over items). Weights sha256 `{model['weights_sha256'][:16]}`, "
        f"{model['nonzero_parameters']:,} non-zero of {model['parameters']:,} parameters.",
        "",
        "Scorers: " + ", ".join(f"{k}: `{v.get('scorer')}`" for k, v in audit["scorers"].items()),
        "",
    ]
    if audit.get("skipped_blocks"):
        lines += ["Skipped blocks (data not available):", ""]
        lines += [f"- `{k}`: {v}" for k, v in audit["skipped_blocks"].items()]
        lines.append("")
    for block, names in groupby(sorted(audit["metrics"]), key=block_of):
        lines += [f"## {block}", "", "| metric | value | 95% CI | n | direction |", "|---|---|---|---|---|"]
        for name in names:
            m = audit["metrics"][name]
            lines.append(
                f"| `{name}` | {_fmt(m['value'])} | [{_fmt(m['ci_low'])}, {_fmt(m['ci_high'])}] | {m['n']} "
                f"| {direction(name).label} |"
            )
        lines.append("")
    lines += ["Library versions: " + ", ".join(f"{k} {v}" for k, v in audit["versions"].items()), ""]
    return "\n".join(lines)
