"""report.md and a self-contained report.html (inline CSS, figures as base64 PNG, no network)."""

from __future__ import annotations

import base64
import html
from typing import Any


def _f(x: Any) -> str:
    return "-" if x is None else f"{x:.4g}" if isinstance(x, float) else str(x)


def _p(x: float | None) -> str:
    return "-" if x is None else ("<0.001" if x < 0.001 else f"{x:.3f}")


def _cell(r: dict[str, Any]) -> tuple[str, str, str, str, str]:
    if "delta" not in r:
        value = (r.get("audit") or {}).get("value")
        return _f(value), "-", "-", "-", "-"
    flips = (
        f", flips {r['discordant'][0]}/{r['discordant'][1]} ({r['flip_rate']:.1%})"
        if "discordant" in r
        else ""
    )
    return (
        _f(r["compressed"]),
        f"{r['delta']:+.4g}",
        f"[{r['delta_ci_low']:+.4g}, {r['delta_ci_high']:+.4g}]",
        f"{_p(r['p_value'])} / {_p(r.get('p_holm'))} ({r['test']}{flips})",
        str(r["n_paired"]),
    )


def gate_lines(report: dict[str, Any]) -> list[str]:
    checks = report.get("gate")
    if checks is None:
        return []
    failed = [c for c in checks if not c["passed"]]
    head = "**Gate: FAILED**" if failed else "**Gate: passed**"
    lines = [head, "", "| model | metric | rule | margin | CI bound | result |", "|---|---|---|---|---|---|"]
    for c in sorted(checks, key=lambda c: c["passed"]):
        lines.append(
            f"| {c['model']} | `{c['metric']}` | {c['rule']} | {c['margin']:g} | {c['ci_bound']:+.4g} | "
            f"{'pass' if c['passed'] else '**FAIL**'} |"
        )
    return [*lines, ""]


def markdown(report: dict[str, Any]) -> str:
    s = report["settings"]
    lines = [
        "# Fairness report: base vs compressed",
        "",
        f"Base: `{report['base']['model']['name_or_path']}`. Compressed: "
        + ", ".join(f"`{c['label']}` ({c['model']['name_or_path']})" for c in report["compressed"])
        + ".",
        f"Suite `{s['suite']}`, seed {s['seed']}, scorers "
        + ", ".join(f"{k}: `{v.get('scorer')}`" for k, v in s["scorers"].items())
        + f". Paired over shared items; 95% CIs from {s['n_resamples']} paired bootstrap resamples; p-values "
        "raw / Holm-adjusted within each block. Rows: worst regressions first.",
        "",
        *gate_lines(report),
    ]
    for c in report["compressed"]:
        lines += [
            f"## {c['label']}",
            "",
            "| metric | direction | base [95% CI] | compressed | delta | delta 95% CI | p raw / Holm (test) | n |",
        ]
        lines.append("|---|---|---|---|---|---|---|---|")
        for row in report["rows"]:
            r = next(x for x in row["results"] if x["model"] == c["label"])
            b = row["base"]
            value, delta, ci, p, n = _cell(r)
            lines.append(
                f"| `{row['metric']}` | {row['direction']} | {_f(b['value'])} [{_f(b['ci_low'])}, {_f(b['ci_high'])}] "
                f"| {value} | {delta} | {ci} | {p} | {n} |"
            )
        lines.append("")
    if report.get("examples"):
        lines += [
            "## Largest toxicity increases",
            "",
            "Content warning: the texts in report.html under this heading may be offensive; they are not repeated here.",
            "",
        ]
    return "\n".join(lines)


STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px}
th{background:#f3f3f3}tr.worse td{background:#fde8e8}tr.better td{background:#e8f6ea}
img{max-width:100%;border:1px solid #eee;margin:0.5em 0}.fail{color:#b00;font-weight:bold}
details{background:#fff8e1;padding:0.5em 1em;border:1px solid #e0c060}code{font-size:12px}
"""


def html_report(report: dict[str, Any], figures: dict[str, bytes | None]) -> str:
    e = html.escape
    s = report["settings"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>hf-fair-compress report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Fairness report: base vs compressed</h1>",
        f"<p>Base <code>{e(report['base']['model']['name_or_path'])}</code>; suite <code>{e(s['suite'])}</code>, "
        f"seed {s['seed']}, {s['n_resamples']} paired bootstrap resamples, 95% CIs. Rows are sorted worst "
        "regression first; red rows are worse with a CI that excludes no change, green rows better.</p>",
    ]
    checks = report.get("gate")
    if checks is not None:
        failed = [c for c in checks if not c["passed"]]
        parts.append(
            f"<p class='{'fail' if failed else ''}'>Gate: {'FAILED: ' + ', '.join(e(c['metric']) for c in failed) if failed else 'passed'}</p>"
        )
        parts.append(
            "<table><tr><th>model</th><th>metric</th><th>rule</th><th>margin</th><th>CI bound</th><th>result</th></tr>"
        )
        for c in checks:
            parts.append(
                f"<tr class='{'worse' if not c['passed'] else ''}'><td>{e(c['model'])}</td><td><code>{e(c['metric'])}</code></td>"
                f"<td>{c['rule']}</td><td>{c['margin']:g}</td><td>{c['ci_bound']:+.4g}</td><td>{'pass' if c['passed'] else 'FAIL'}</td></tr>"
            )
        parts.append("</table>")
    titles = {
        "forest": "Paired changes",
        "cdf": "Max-toxicity CDFs",
        "heatmap": "Per-group toxicity",
        "pareto": "Size, quality and bias",
    }
    for key, title in titles.items():
        png = figures.get(key)
        if png:
            parts.append(
                f"<h2>{title}</h2><img alt='{title}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
            )
    for c in report["compressed"]:
        parts.append(
            f"<h2>{e(c['label'])}</h2><table><tr><th>metric</th><th>direction</th><th>base [95% CI]</th>"
            "<th>compressed</th><th>delta</th><th>delta 95% CI</th><th>p raw / Holm (test)</th><th>n</th></tr>"
        )
        for row in report["rows"]:
            r = next(x for x in row["results"] if x["model"] == c["label"])
            b = row["base"]
            value, delta, ci, p, n = _cell(r)
            cls = ""
            if "worsening" in r:
                if r["worsening_ci_low"] > 0:
                    cls = "worse"
                elif r["worsening_ci_high"] < 0:
                    cls = "better"
            parts.append(
                f"<tr class='{cls}'><td><code>{e(row['metric'])}</code></td><td>{e(row['direction'])}</td>"
                f"<td>{_f(b['value'])} [{_f(b['ci_low'])}, {_f(b['ci_high'])}]</td><td>{value}</td><td>{delta}</td>"
                f"<td>{ci}</td><td>{e(p)}</td><td>{n}</td></tr>"
            )
        parts.append("</table>")
    if report.get("examples"):
        parts.append(
            "<h2>Largest toxicity increases</h2><details><summary><b>Content warning</b>: model outputs "
            "that may be offensive. Click to show.</summary><table><tr><th>model</th><th>prompt</th>"
            "<th>base (max)</th><th>compressed (max)</th><th>rise</th></tr>"
        )
        for x in report["examples"]:
            parts.append(
                f"<tr><td>{e(x['model'])}</td><td>{e(x['prompt'])}</td><td>{e(x['base_text'])} ({x['base_score']:.3f})</td>"
                f"<td>{e(x['compressed_text'])} ({x['compressed_score']:.3f})</td><td>{x['rise']:+.3f}</td></tr>"
            )
        parts.append("</table></details>")
    parts.append("</body></html>")
    return "\n".join(parts)
