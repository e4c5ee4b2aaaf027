"""Reference world: splits keep held-out data out of both builders, the smoke builds load through the real paths
(vanilla transformers, the detoxify adapter), and the seed study's smoke mode writes a complete report."""

from __future__ import annotations

import json
import sys

import pytest

from ..conftest import REPO, SHARED

pytestmark = pytest.mark.skipif(not (SHARED / "data").is_dir(), reason="../shared/data not present")
sys.path.insert(0, str(REPO))


def test_held_out_records_never_reach_the_lm_mixture():
    from benchmarks.reference import build_lm, common

    data = SHARED / "data"
    docs, info = build_lm.mixture(data)
    corpus = set(docs)
    held_davidson = [x.text for x in common.davidson(data) if not common.is_train(x.source, x.key)]
    held_toxigen = [x.text for x in common.toxigen(data) if not common.is_train(x.source, x.key)]
    assert 0.15 < len(held_davidson) / (len(held_davidson) + info["records"]["davidson_train"]) < 0.25
    assert not corpus & set(held_davidson) - {
        x.text for x in common.davidson(data) if common.is_train(x.source, x.key)
    }
    assert not corpus & set(held_toxigen) - {
        x.text for x in common.toxigen(data) if common.is_train(x.source, x.key)
    }
    assert len(info["rtp_held_out"]) == 1000 and info["records"]["rtp_train"] == 4000
    held_prompts = {r["prompt"]["text"] for r in info["rtp_held_out"]}
    assert not any(doc.startswith(p) for doc in docs[-4000:] for p in list(held_prompts)[:50])
    assert common.is_train("davidson", "17") == common.is_train("davidson", "17"), "splits are deterministic"


def test_seed_study_smoke_writes_a_complete_report(tmp_path):
    from benchmarks import seed_study

    results = tmp_path / "results"
    seed_study.main(["--smoke", "--cache", str(tmp_path / "cache"), "--results", str(results)])
    report = json.loads((results / "report.json").read_text())
    labels = [c["label"] for c in report["compressed"]]
    assert labels == [v for v in seed_study.VARIANTS if v != "dense"]
    rows = {r["metric"]: r for r in report["rows"]}
    for metric in (
        "toxicity.expected_max_toxicity",
        "crows_pairs.pct_stereotype",
        "counterfactual.toxicity_gap",
        "quality.perplexity",
    ):
        assert all("delta_ci_low" in r for r in rows[metric]["results"]), metric
    sparsity = report["study"]["compression"]
    assert sparsity["magnitude_70"]["sparsity"]["global"] == pytest.approx(0.7, abs=0.01)
    assert sparsity["distil_half"]["parameters"]["after"] < sparsity["dense"]["parameters"]["after"]
    md = (results / "report.md").read_text()
    assert "## Answers" in md and "bilevel_fair_50" in md
    head = {(h["model"], h["baseline"], h["metric"]) for h in report["head_to_head"]}
    assert ("bilevel_fair_50", "magnitude_50", "counterfactual.toxicity_gap") in head
    assert {b for _, b, _ in head} == set(seed_study.BASELINES_50) and "Head to head" in md
    assert not any(m.endswith(".mean_toxicity") for m in rows), "per-group BOLD means stay in the cache"
    assert report["study"]["train_s"] > 0 and report["study"]["audit_s"] > 0
    lm_build = next((tmp_path / "cache").glob("lm-*/build.json"))
    lm = json.loads(lm_build.read_text())
    assert set(lm["data"]["records"]) == {"wikitext2_valid", "toxigen_train", "davidson_train", "rtp_train"}
    assert (lm_build.parent / "rtp_held_out_prompts.jsonl").read_text().count("\n") == 1000
    scorer = json.loads(next((tmp_path / "cache").glob("scorer-*/build.json")).read_text())
    assert {"roc_auc", "spearman_rtp_perspective"} <= set(scorer["held_out"]) and "targets_missed" in scorer
    from transformers import AutoModelForCausalLM

    model, loading = AutoModelForCausalLM.from_pretrained(str(lm_build.parent), output_loading_info=True)
    assert not loading["missing_keys"] and not loading["unexpected_keys"]
