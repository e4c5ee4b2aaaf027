"""`compare`: rows with paired statistics, refusal of incomparable audits, the gate's exit code, and a
self-contained HTML report."""

from __future__ import annotations

import json
import re

import pytest

from hf_fair_compress.cli.main import main


def _compare(base, compressed, out, gate=None) -> int:
    compressed = compressed if isinstance(compressed, list) else [compressed]
    args = ["compare", "--base", str(base), "--compressed", *map(str, compressed), "--output-dir", str(out)]
    return main([*args, *(["--gate", str(gate)] if gate else [])])


def _one_error(capsys, expected):
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and expected in lines[0], err


def test_report_rows_carry_paired_statistics(audits, tmp_path, capsys):
    out = tmp_path / "report"
    args = [
        "compare",
        "--base",
        str(audits["base"]),
        "--compressed",
        str(audits["pruned"]),
        str(audits["pruned80"]),
    ]
    assert main([*args, "--output-dir", str(out)]) == 0
    assert "report.html" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    rows = {r["metric"]: r for r in report["rows"]}
    row = rows["toxicity.expected_max_toxicity"]
    assert row["direction"] == "lower is better" and [r["model"] for r in row["results"]] == [
        "pruned",
        "pruned80",
    ]
    r = row["results"][0]
    for key in (
        "base",
        "compressed",
        "delta",
        "delta_ci_low",
        "delta_ci_high",
        "p_value",
        "p_holm",
        "n_paired",
        "test",
    ):
        assert key in r, key
    assert r["n_paired"] == 12 and r["delta_ci_low"] <= r["delta"] <= r["delta_ci_high"]
    assert r["test"] == "Wilcoxon signed-rank"
    assert rows["toxicity.toxicity_probability"]["results"][0]["test"] == "exact McNemar"
    if "crows_pairs.pct_stereotype" in rows:
        c = rows["crows_pairs.pct_stereotype"]["results"][0]
        assert c["test"] == "exact McNemar" and c["flip_rate"] == pytest.approx(
            sum(c["discordant"]) / c["n_paired"]
        )
        assert rows["crows_pairs.pct_stereotype"]["direction"] == "ideal 50"
    ppl = rows["quality.perplexity"]["results"][1]
    assert ppl["compressed"] > ppl["base"], "80% magnitude pruning without fine-tuning must raise perplexity"
    scores = [
        max(
            (x["worsening"] / max((x["worsening_ci_high"] - x["worsening_ci_low"]) / 2, 1e-12))
            for x in r["results"]
            if "worsening" in x
        )
        for r in report["rows"]
        if any("worsening" in x for x in r["results"])
    ]
    assert scores == sorted(scores, reverse=True), "worst regressions first"
    html = (out / "report.html").read_text()
    assert not re.search(r"(src|href)=['\"]https?://", html), "the HTML must not fetch anything"
    assert html.count("data:image/png;base64,") >= 3  # forest, CDF, Pareto (+ heatmap with BOLD data)
    assert "Content warning" in html and "<details>" in html
    assert "| `toxicity.expected_max_toxicity` |" in (out / "report.md").read_text()


def test_gate_fails_with_exit_3_and_says_which(audits, tmp_path, capsys):
    gate = tmp_path / "gate.yaml"
    gate.write_text(
        "quality.perplexity: {max_increase: 0.0}\ntoxicity.expected_max_toxicity: {max_increase: 0.5}\n"
    )
    out = tmp_path / "report"
    code = _compare(audits["base"], audits["pruned80"], out, gate)
    assert code == 3
    _one_error(capsys, "fairness gate failed on quality.perplexity")
    report = json.loads((out / "report.json").read_text())
    verdict = {c["metric"]: c["passed"] for c in report["gate"]}
    assert verdict == {"quality.perplexity": False, "toxicity.expected_max_toxicity": True}
    assert "**Gate: FAILED**" in (out / "report.md").read_text()
    loose = tmp_path / "loose.yaml"
    loose.write_text("quality.perplexity: {max_increase: 1.0e9}\n")
    assert _compare(audits["base"], audits["pruned80"], tmp_path / "r2", loose) == 0


@pytest.mark.parametrize(
    "gate_text, expected",
    [
        ("toxicity.nope: {max_increase: 0.1}\n", "gate names metric 'toxicity.nope'"),
        ("quality.perplexity: {max_rise: 0.1}\n", "unknown rule 'max_rise'"),
        ("quality.perplexity: {max_increase: -1}\n", "must be a non-negative number"),
    ],
)
def test_bad_gate_is_one_line_and_writes_nothing(audits, tmp_path, capsys, gate_text, expected):
    gate = tmp_path / "gate.yaml"
    gate.write_text(gate_text)
    out = tmp_path / "report"
    assert _compare(audits["base"], audits["pruned"], out, gate) == 2
    _one_error(capsys, expected)
    assert not out.exists()


def test_audits_with_different_settings_are_refused(audits, tmp_path, capsys):
    out = tmp_path / "report"
    assert _compare(audits["base"], audits["other_seed"], out) == 2
    _one_error(capsys, "differ in seed (5 vs 6)")
    assert not out.exists()
    assert _compare(tmp_path, audits["pruned"], out) == 2
    _one_error(capsys, "no audit.json in")
