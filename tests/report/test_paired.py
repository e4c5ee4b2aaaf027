"""Paired statistics by hand, and metric definitions that reproduce the audit's own numbers from its items."""

from __future__ import annotations

import numpy as np
import pytest

from hf_fair_compress.eval.audit import load_audit
from hf_fair_compress.eval.item_statistics import MetricDef, metric_definitions
from hf_fair_compress.eval.metric_info import Direction, direction
from hf_fair_compress.report.paired import _resample_indices, holm, mcnemar_exact, paired_compare, wilcoxon_p


def test_mcnemar_exact_by_hand():
    base = np.array([True] * 5 + [False] * 5)
    comp = np.array([False] * 5 + [False] * 5)
    p, b, c = mcnemar_exact(base, comp)
    assert (b, c) == (5, 0) and p == pytest.approx(2 * 0.5**5)
    assert mcnemar_exact(base, base)[0] == 1.0


def test_holm_by_hand():
    # sorted 0.01, 0.02, 0.04 -> 3*0.01, max(0.03, 2*0.02), max(0.04, 1*0.04)
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_wilcoxon_zero_differences_is_one():
    assert wilcoxon_p(np.zeros(5)) == 1.0
    assert wilcoxon_p(np.arange(1, 11, dtype=float)) < 0.01


def test_paired_bootstrap_of_identical_items_is_zero_and_direction_aware():
    items = [{"id": str(i), "v": float(i % 3)} for i in range(30)]
    d = MetricDef(
        "x", [x["id"] for x in items], lambda xs: float(np.mean([x["v"] for x in xs])), lambda x: x["v"], 1.0
    )
    same = paired_compare(d, list(zip(items, items)), Direction("lower"), n_resamples=100)
    assert same.delta == 0 and same.delta_ci == (0.0, 0.0) and same.p_value == 1.0
    worse = [{"id": x["id"], "v": x["v"] + 1} for x in items]
    r = paired_compare(d, list(zip(items, worse)), Direction("higher"), n_resamples=100)
    assert r.delta == pytest.approx(1) and r.worsening == pytest.approx(-1), (
        "higher is better: +1 is an improvement"
    )
    assert r.test == "Wilcoxon signed-rank" and r.p_value < 0.001


def test_definitions_reproduce_every_audit_metric(audits):
    audit, items = load_audit(audits["pruned"])
    definitions = metric_definitions(items)
    missing = sorted(set(audit["metrics"]) - set(definitions))
    assert not missing, f"metrics without a paired definition: {missing}"
    by_key = {(x["block"], x["id"]): x for x in items}
    for name, d in definitions.items():
        value = d.statistic([by_key[(d.block, i)] for i in d.ids])
        assert value == pytest.approx(audit["metrics"][name]["value"], rel=1e-9, abs=1e-12), name
        assert direction(name).kind in ("lower", "higher", "ideal")


def test_vectorised_bootstraps_equal_the_statistic_on_every_resample(audits):
    from hf_fair_compress.eval.item_statistics import resample_counts

    _, items = load_audit(audits["pruned"])
    by_key = {(x["block"], x["id"]): x for x in items}
    weighted = {n: d for n, d in metric_definitions(items).items() if d.weighted is not None}
    assert {"stereoset.ss", "stereoset.icat", "quality.perplexity"} <= set(weighted)
    assert any(n.startswith("bold.") and n.endswith("_gap") for n in weighted)
    for name, d in weighted.items():
        xs = [by_key[(d.block, i)] for i in d.ids]
        idx = _resample_indices(list(zip(xs, xs)), d, 25, seed=3)  # stratified where the metric is
        loop = [d.statistic([xs[i] for i in row]) for row in idx]
        fast = d.weighted(xs, resample_counts(idx, len(xs)))
        assert fast == pytest.approx(loop, rel=1e-9, abs=1e-12), name
