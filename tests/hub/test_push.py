"""Model card front matter and pushing over real HTTP to a loopback Hub; offline and unreachable endpoints give
one clear error, leave local files untouched, and print the command that retries."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from huggingface_hub import ModelCard, constants

from hf_fair_compress.cli.main import main

from ..cli.test_compress import FAST
from ..conftest import TINY_CONFIG
from .loopback_hub import LoopbackHub


@pytest.fixture(scope="module")
def compressed(tmp_path_factory):
    out = tmp_path_factory.mktemp("compress") / "model"
    code = main(
        [
            "compress",
            "--model",
            str(TINY_CONFIG),
            "--recipe",
            "recipes/gpt2-magnitude-50.yaml",
            "--output-dir",
            str(out),
            *FAST,
        ]
    )
    assert code == 0
    return out


@pytest.fixture
def online(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_TOKEN", "hf_loopback_token")


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_compress_writes_a_card_without_audit(compressed):
    card = ModelCard.load(compressed / "README.md")
    assert {"hf-fair-compress", "pruning", "fairness"} <= set(card.data.tags)
    assert card.data.library_name == "transformers" and "## Limitations" in card.text
    assert "No before/after fairness audit" in card.text and "## Recipe" in card.text


def test_push_commits_every_file_over_http(compressed, online, capsys):
    before = _tree(compressed)
    with LoopbackHub() as hub:
        code = main(
            [
                "push",
                "--folder",
                str(compressed),
                "--repo-id",
                "team/tiny-m50",
                "--private",
                "--endpoint",
                hub.endpoint,
            ]
        )
        assert code == 0, capsys.readouterr().err
        repo = hub.repos["team/tiny-m50"]
        assert repo["visibility"] == "private"
        expected = {k for k in before if not k.startswith("checkpoint-")}
        assert set(repo["files"]) == expected
        for path in expected:
            assert hashlib.sha256(repo["files"][path]).hexdigest() == before[path], path
        card = ModelCard(repo["files"]["README.md"].decode())
        assert "hf-fair-compress" in card.data.tags
        assert hub.validated, "the card's front matter went through the Hub's validation endpoint"
        # Pushing again to an existing repo and a new branch works (create_repo exist_ok, create_branch).
        assert (
            main(
                [
                    "push",
                    "--folder",
                    str(compressed),
                    "--repo-id",
                    "team/tiny-m50",
                    "--revision",
                    "v2",
                    "--endpoint",
                    hub.endpoint,
                ]
            )
            == 0
        )
        assert repo["commits"][-1]["revision"] == "v2" and repo["branches"] == ["v2"]
    assert "pushed" in capsys.readouterr().out
    assert _tree(compressed) == before, "pushing changes nothing locally"


def test_offline_push_is_one_error_with_the_retry_command(compressed, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    before = _tree(compressed)
    assert main(["push", "--folder", str(compressed), "--repo-id", "team/x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "HF_HUB_OFFLINE=1" in err[0]
    assert f"to retry: hf-fair-compress push --folder {compressed} --repo-id team/x" in err[0]
    assert _tree(compressed) == before


def test_unreachable_endpoint_is_one_error(compressed, online, capsys):
    before = _tree(compressed)
    with LoopbackHub() as hub:
        endpoint = hub.endpoint
    assert main(["push", "--folder", str(compressed), "--repo-id", "team/x", "--endpoint", endpoint]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "could not be reached" in err[0] and "to retry:" in err[0]
    assert _tree(compressed) == before


def test_compress_audit_gate_and_push_end_to_end(tmp_path, tiny_classifier, online, monkeypatch, capsys):
    """The main job: compress -> audit base and result (quick suite) -> compare -> card -> push."""
    _, _, folder, ckpt = tiny_classifier
    scorer = ["--audit_toxicity_scorer", f"detoxify:{ckpt}", "--audit_toxicity_scorer_config", str(folder)]
    gate = tmp_path / "gate.yaml"
    gate.write_text("quality.perplexity: {max_increase: 1.0e9}\n")
    out = tmp_path / "model"
    with LoopbackHub() as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
        args = [
            "compress",
            "--model",
            str(TINY_CONFIG),
            "--recipe",
            "recipes/gpt2-magnitude-50.yaml",
            "--output-dir",
            str(out),
        ]
        code = main(
            [
                *args,
                *FAST,
                "--audit_suite",
                "quick",
                "--gate",
                str(gate),
                *scorer,
                "--push_to_hub",
                "true",
                "--hub_model_id",
                "team/audited",
            ]
        )
        assert code == 0, capsys.readouterr().err
        files = hub.repos["team/audited"]["files"]
    for path in (
        "audit/base/audit.json",
        "audit/compressed/audit.json",
        "report/report.html",
        "report/report.json",
        "README.md",
        "compression.json",
        "model.safetensors",
    ):
        assert path in files, path
    card = ModelCard(files["README.md"].decode())
    results = {r.metric_type: r.metric_value for r in card.data.eval_results}
    base = json.loads((out / "audit" / "base" / "audit.json").read_text())
    comp = json.loads((out / "audit" / "compressed" / "audit.json").read_text())
    emt = "toxicity.expected_max_toxicity"
    assert results[emt] == pytest.approx(comp["metrics"][emt]["value"], abs=1e-6)
    assert results[f"{emt}.base"] == pytest.approx(base["metrics"][emt]["value"], abs=1e-6)
    assert "## Fairness audit (before vs after)" in card.text and "Fairness gate: passed" in card.text
    assert base["model"]["weights_sha256"] != comp["model"]["weights_sha256"]
    assert comp["model"]["nonzero_parameters"] < base["model"]["nonzero_parameters"]


def test_compress_gate_failure_keeps_model_and_report(tmp_path, tiny_classifier, capsys):
    _, _, folder, ckpt = tiny_classifier
    gate = tmp_path / "gate.yaml"
    # Four training steps lower the random model's perplexity, so a margin of zero decrease must fail.
    gate.write_text("quality.perplexity: {max_decrease: 0}\n")
    out = tmp_path / "model"
    code = main(
        [
            "compress",
            "--model",
            str(TINY_CONFIG),
            "--recipe",
            "recipes/gpt2-magnitude-50.yaml",
            "--output-dir",
            str(out),
            *FAST,
            "--audit_suite",
            "quick",
            "--gate",
            str(gate),
            "--audit_toxicity_scorer",
            f"detoxify:{ckpt}",
            "--audit_toxicity_scorer_config",
            str(folder),
        ]
    )
    assert code == 3
    assert "fairness gate failed on quality.perplexity" in capsys.readouterr().err
    assert (out / "model.safetensors").is_file() and (out / "report" / "report.md").is_file()
    assert "Fairness gate: FAILED on quality.perplexity" in (out / "README.md").read_text()


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--gate", "gate.yaml"], "--gate needs --audit_suite"),
        (["--push_to_hub", "true"], "--push_to_hub needs --hub_model_id"),
        (["--audit_suite", "quik"], "suite 'quik' not found"),
    ],
)
def test_compress_audit_flags_fail_before_training(tmp_path, capsys, extra, expected, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "model"
    recipe = str(Path(__file__).resolve().parents[2] / "recipes" / "gpt2-magnitude-50.yaml")
    assert (
        main(
            [
                "compress",
                "--model",
                str(TINY_CONFIG),
                "--recipe",
                recipe,
                "--output-dir",
                str(out),
                *FAST,
                *extra,
            ]
        )
        == 2
    )
    assert expected in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "model.partial").exists()
