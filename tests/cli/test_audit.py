"""The `audit` command end to end on the embedded model with a tiny Detoxify-format scorer, every bad input of
the issue (one line, exit 2, nothing written), and the quick suite from a wheel installed in a fresh venv."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from hf_fair_compress.cli.main import main

from ..conftest import REPO, SHARED, TINY_CONFIG

REQUIRED = [
    "toxicity.expected_max_toxicity",
    "toxicity.toxicity_probability",
    "toxicity.toxic_fraction",
    "counterfactual.gender.toxicity_gap",
    "counterfactual.gender.sentiment_gap",
    "quality.perplexity",
    "quality.distinct_2",
    "quality.mean_length",
    "quality.empty_rate",
]
SHARED_REQUIRED = [
    "crows_pairs.pct_stereotype",
    "crows_pairs.likelihood_diff",
    "stereoset.ss",
    "stereoset.lms",
    "stereoset.icat",
    "bold.gender.toxicity_gap",
    "bold.race.toxicity_wasserstein",
    "holistic_bias.likelihood_bias",
]


def _scorer_args(classifier) -> list[str]:
    _, _, folder, ckpt = classifier
    return ["--toxicity-scorer", f"detoxify:{ckpt}", "--toxicity-scorer-config", str(folder), "--no-progress"]


def _one_error(capsys, expected: str) -> None:
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and expected in lines[0], err


def test_quick_suite_writes_complete_audit(tmp_path, tiny_classifier, capsys):
    out = tmp_path / "audit"
    data = ["--data-dir", str(SHARED / "data")] if (SHARED / "data").is_dir() else []
    code = main(
        [
            "audit",
            "--model",
            str(TINY_CONFIG),
            "--output-dir",
            str(out),
            *_scorer_args(tiny_classifier),
            *data,
        ]
    )
    assert code == 0
    assert f"{out}/audit.md" in capsys.readouterr().out
    audit = json.loads((out / "audit.json").read_text())
    expected = REQUIRED + (SHARED_REQUIRED if data else [])
    missing = [m for m in expected if m not in audit["metrics"]]
    assert not missing, missing
    for name, m in audit["metrics"].items():
        assert m["n"] >= 1 and m["ci_low"] <= m["value"] + 1e-9 and m["value"] <= m["ci_high"] + 1e-9, name
    if not data:
        assert set(audit["skipped_blocks"]) == {"crows_pairs", "stereoset", "bold", "holistic_bias"}
    items = [json.loads(line) for line in (out / "audit_items.jsonl").read_text().splitlines()]
    assert {x["block"] for x in items} >= {"toxicity", "counterfactual", "quality"}
    if data:
        crows = [x for x in items if x["block"] == "crows_pairs"]
        assert len(crows) == 200 and all({"ll_more", "ll_less"} <= set(x) for x in crows)


def _prompts(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "prompts.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    "case, expected",
    [
        ("malformed_jsonl", "prompts.jsonl line 2: invalid JSON"),
        ("missing_field", "prompts.jsonl line 1: missing or empty field 'text'"),
        ("empty_prompts", "empty prompt set"),
        ("unknown_label", "scorer label 'hate' not produced by this Detoxify model"),
        ("unknown_scorer", "unknown toxicity scorer 'perspective:api'"),
        ("unknown_block", "unknown block 'sentiment'"),
        ("missing_data", "expected a local copy at"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(case, expected, tmp_path, tiny_classifier, capsys):
    out = tmp_path / "audit"
    args = ["audit", "--model", str(TINY_CONFIG), "--output-dir", str(out), *_scorer_args(tiny_classifier)]
    good = json.dumps({"prompt": {"text": "Hello there"}})
    if case == "malformed_jsonl":
        args += ["--prompts", str(_prompts(tmp_path, [good, '{"prompt": {"text": "x"']))]
    elif case == "missing_field":
        args += ["--prompts", str(_prompts(tmp_path, [json.dumps({"prompt": {"txt": "x"}})]))]
    elif case == "empty_prompts":
        args += ["--prompts", str(_prompts(tmp_path, [""]))]
    elif case == "unknown_label":
        args += ["--toxicity-label", "hate"]
    elif case == "unknown_scorer":
        args += ["--toxicity-scorer", "perspective:api"]
    elif case == "unknown_block":
        suite = tmp_path / "suite.yaml"
        suite.write_text("blocks:\n  sentiment: {}\n")
        args += ["--suite", str(suite)]
    elif case == "missing_data":
        suite = tmp_path / "suite.yaml"
        suite.write_text("blocks:\n  crows_pairs: {}\n")
        args += ["--suite", str(suite), "--data-dir", str(tmp_path / "empty")]
    assert main(args) == 2
    _one_error(capsys, expected)
    assert not out.exists() and not (tmp_path / ".audit.partial").exists()


def _build_wheel(dest: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dest),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = dest.glob("hf_fair_compress-*.whl")
    return wheel


def test_wheel_ships_the_suite_and_runs_quick_audit_in_a_fresh_venv(tmp_path, tiny_classifier):
    wheel = _build_wheel(tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    for needed in (
        "hf_fair_compress/eval/suites/quick.yaml",
        "hf_fair_compress/eval/prompts/toxicity_prompts.jsonl",
        "hf_fair_compress/eval/prompts/counterfactual_templates.json",
        "hf_fair_compress/eval/measurements/rtp_toxicity/rtp_toxicity.py",
        "hf_fair_compress/eval/audit.py",
    ):
        assert needed in names, needed
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # Dependencies come from the test environment's site-packages (a plain path entry: its .pth files, and
    # so the editable install of this checkout, are not processed); the project itself only from the wheel.
    site = next(Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    (venv_site,) = venv.glob("lib/python*/site-packages")
    (venv_site / "zz_test_deps.pth").write_text(str(site) + "\n")
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert pip.returncode == 0, pip.stderr
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import hf_fair_compress.eval as e; print(e.__file__)"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(venv) in where, f"imported from {where}, not from the wheel"
    out = tmp_path / "audit"
    run = subprocess.run(
        [
            str(venv / "bin" / "hf-fair-compress"),
            "audit",
            "--model",
            str(TINY_CONFIG),
            "--output-dir",
            str(out),
            *_scorer_args(tiny_classifier),
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "HOME": str(tmp_path),
        },
    )
    assert run.returncode == 0, run.stderr[-2000:]
    audit = json.loads((out / "audit.json").read_text())
    assert all(m in audit["metrics"] for m in REQUIRED)
    assert str(venv) in audit["data"]["toxicity"]["path"], "the prompt set must come from the installed wheel"


def test_measurements_load_offline_with_evaluate():
    import evaluate

    from hf_fair_compress.eval.group_disparity import disparity_metrics
    from hf_fair_compress.eval.toxicity import toxicity_metrics

    measurements = REPO / "eval" / "measurements"
    tox = evaluate.load(str(measurements / "rtp_toxicity"))
    scores = [[0.1, 0.7], [0.0, 0.2], [0.6, 0.9]]
    got = tox.compute(scores=scores, prompt_toxicity=[0.9, 0.1, None], n_resamples=40)
    direct = toxicity_metrics(
        [{"scores": s, "prompt_toxicity": t} for s, t in zip(scores, [0.9, 0.1, None])], n_resamples=40
    )
    assert got == direct and got["toxicity.expected_max_toxicity"]["value"] == pytest.approx(0.6)
    gap = evaluate.load(str(measurements / "group_disparity"))
    got = gap.compute(groups=["a", "a", "b"], toxicity=[[0.1], [0.2], [0.6]], n_resamples=40)
    items = [{"group": g, "toxicity": t} for g, t in zip(["a", "a", "b"], [[0.1], [0.2], [0.6]])]
    assert got == disparity_metrics(items, "bold", n_resamples=40)
    assert got["bold.toxicity_gap"]["value"] == pytest.approx(0.45)
