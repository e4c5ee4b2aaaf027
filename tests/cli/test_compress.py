"""The `compress` command: the happy path, resume, and every kind of bad input (one line, exit 2, nothing written)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from transformers import AutoModelForCausalLM

from hf_fair_compress.cli.main import main

from ..conftest import GPT2_TOKENIZER_DIR, REPO, SHARED, TINY_CONFIG, gpt2_tokenizer_or_skip, make_tiny_gpt2

FAST = [
    "--max_steps",
    "4",
    "--per_device_train_batch_size",
    "4",
    "--disable_tqdm",
    "true",
    "--use_cpu",
    "true",
    "--dataloader_pin_memory",
    "false",
    "--block_size",
    "32",
]


def _write_recipe(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path


def _assert_nothing_written(tmp_path: Path, out: Path) -> None:
    assert not out.exists()
    assert not out.with_name(out.name + ".partial").exists()


def _assert_one_error_line(err: str, expected: str) -> None:
    lines = [line for line in err.strip().splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and expected in lines[0], err
    assert err.strip().splitlines()[-1] == lines[0], "the error must be the last thing printed"


def _run(args, capsys):
    code = main(["compress", *args])
    captured = capsys.readouterr()
    return code, captured


def test_compress_embedded_model_end_to_end(tmp_path, capsys):
    out = tmp_path / "out"
    code, captured = _run(
        [
            "--model",
            str(TINY_CONFIG),
            "--recipe",
            str(REPO / "recipes/gpt2-magnitude-50.yaml"),
            "--output-dir",
            str(out),
            *FAST,
        ],
        capsys,
    )
    assert code == 0, captured.err
    summary = captured.out.strip().splitlines()[-1]
    assert summary.startswith("done: sparsity 50.0%") and str(out) in summary
    report = json.loads((out / "compression.json").read_text())
    assert abs(report["sparsity"]["global"] - 0.5) <= 0.005
    assert report["train_steps"] == 4
    _, info = AutoModelForCausalLM.from_pretrained(out, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert not out.with_name("out.partial").exists()


def test_recipe_training_values_can_be_overridden_from_the_command_line(tmp_path, capsys):
    recipe = _write_recipe(
        tmp_path, "pruning: {method: magnitude, sparsity: 0.3}\ntraining: {max_steps: 50}\n"
    )
    out = tmp_path / "out"
    code, captured = _run(
        ["--model", str(TINY_CONFIG), "--recipe", str(recipe), "--output-dir", str(out), *FAST], capsys
    )
    assert code == 0, captured.err
    assert json.loads((out / "compression.json").read_text())["train_steps"] == 4


BAD_RECIPES = {
    "unknown key": ("pruning: {method: magnitude, sparsty: 0.5}\n", "unknown key pruning.'sparsty'"),
    "sparsity 1": ("pruning: {method: magnitude, sparsity: 1.0}\n", "must be in [0, 1)"),
    "wrong module": (
        "pruning: {method: magnitude, sparsity: 0.5, targets: ['ln_1']}\n",
        "can only prune nn.Linear or Conv1D",
    ),
    "no module": ("pruning: {method: magnitude, sparsity: 0.5, targets: ['q_proj']}\n", "found no module"),
    "bad layer": ("pruning: {method: layers, keep_layers: [0, 9]}\n", "model has 4 layers"),
    "kd weights zero": ("distillation: {alpha_ce: 0, alpha_clm: 0}\n", "loss weights are all zero"),
    "kd weight negative": ("distillation: {alpha_ce: -1}\n", "alpha_ce must be >= 0"),
    "kd temperature": ("distillation: {temperature: 0}\n", "temperature must be > 0"),
    "student layer range": (
        "distillation: {student: {init_from_teacher_layers: [0, 7]}}\n",
        "teacher has 4 layers",
    ),
    "student layer repeated": ("distillation: {student: {init_from_teacher_layers: [1, 1]}}\n", "repeats"),
}


@pytest.mark.parametrize("case", list(BAD_RECIPES))
def test_bad_recipe_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, case):
    text, expected = BAD_RECIPES[case]
    out = tmp_path / "out"
    code, captured = _run(
        [
            "--model",
            str(TINY_CONFIG),
            "--recipe",
            str(_write_recipe(tmp_path, text)),
            "--output-dir",
            str(out),
            *FAST,
        ],
        capsys,
    )
    assert code == 2
    _assert_one_error_line(captured.err, expected)
    _assert_nothing_written(tmp_path, out)


def test_unknown_model_offline_says_offline(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "out"
    code, captured = _run(["--model", "openai-community/gpt2-nope", "--output-dir", str(out), *FAST], capsys)
    assert code == 2
    assert "offline" in captured.err and "local model folder" in captured.err
    _assert_nothing_written(tmp_path, out)


def test_missing_local_model_path(tmp_path, capsys):
    out = tmp_path / "out"
    code, captured = _run(
        ["--model", str(tmp_path / "nothing.json"), "--output-dir", str(out), *FAST], capsys
    )
    assert code == 2 and "does not exist" in captured.err
    _assert_nothing_written(tmp_path, out)


def test_non_empty_output_dir_is_refused_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("mine")
    args = [
        "--model",
        str(TINY_CONFIG),
        "--recipe",
        str(REPO / "recipes/gpt2-magnitude-50.yaml"),
        "--output-dir",
        str(out),
        *FAST,
    ]
    code, captured = _run(args, capsys)
    assert code == 2 and "--overwrite_output_dir" in captured.err
    assert (out / "precious.txt").read_text() == "mine"
    code, captured = _run([*args, "--overwrite_output_dir", "true"], capsys)
    assert code == 0, captured.err
    assert (out / "compression.json").is_file() and not (out / "precious.txt").exists()


def test_unknown_flag_is_one_line(tmp_path, capsys):
    code, captured = _run(
        ["--model", str(TINY_CONFIG), "--output-dir", str(tmp_path / "o"), "--max_stepz", "3"], capsys
    )
    assert code == 2
    _assert_one_error_line(captured.err, "--max_stepz")


def test_nan_loss_keeps_last_checkpoint_and_names_the_step(tmp_path, capsys):
    out = tmp_path / "out"
    code, captured = _run(
        [
            "--model",
            str(TINY_CONFIG),
            "--output-dir",
            str(out),
            *FAST,
            "--max_steps",
            "6",
            "--learning_rate",
            "1e30",
            "--save_steps",
            "1",
            "--max_grad_norm",
            "0",
            "--lr_scheduler_type",
            "constant",
        ],
        capsys,
    )
    assert code == 2
    assert "at optimizer step" in captured.err and "checkpoint-" in captured.err, captured.err
    assert not out.exists(), "a broken model must never be exported"
    assert list(out.with_name("out.partial").glob("checkpoint-*")), "checkpoints made so far are kept"


def test_unfinished_run_resumes(tmp_path, capsys):
    out = tmp_path / "out"
    args = [
        "--model",
        str(TINY_CONFIG),
        "--recipe",
        str(REPO / "recipes/gpt2-magnitude-50.yaml"),
        "--output-dir",
        str(out),
        *FAST,
        "--save_steps",
        "2",
    ]
    code, captured = _run([*args, "--max_steps", "2"], capsys)
    assert code == 0
    # Simulate a crash after the checkpoint: move the final folder back to .partial.
    out.rename(out.with_name("out.partial"))
    code, captured = _run(args, capsys)
    assert code == 2 and "--resume_from_checkpoint true" in captured.err
    code, captured = _run([*args, "--resume_from_checkpoint", "true"], capsys)
    assert code == 0, captured.err
    assert json.loads((out / "compression.json").read_text())["train_steps"] == 4


def test_core_flow_with_the_real_gpt2_tokenizer(tmp_path):
    tokenizer = gpt2_tokenizer_or_skip()
    assert tokenizer("The river opened a new bridge.")["input_ids"], "tokenizer encodes to nothing"
    model_dir = tmp_path / "gpt2-tiny"
    make_tiny_gpt2(vocab_size=len(tokenizer), seed=0).save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    wikitext = SHARED / "data" / "wikitext2" / "valid.txt"
    data = ["--dataset", str(wikitext), "--max_train_samples", "300"] if wikitext.is_file() else []
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hf_fair_compress.cli.main",
            "compress",
            "--model",
            str(model_dir),
            "--recipe",
            str(REPO / "recipes/gpt2-wanda-50.yaml"),
            "--output-dir",
            str(out),
            *FAST,
            *data,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1].startswith("done: sparsity 50.0%")
    loaded, info = AutoModelForCausalLM.from_pretrained(out, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert (out / "vocab.json").is_file() or (out / "tokenizer.json").is_file()
    assert GPT2_TOKENIZER_DIR.is_dir()


def test_teacher_with_another_tokenizer_is_refused(tmp_path, capsys):
    from hf_fair_compress.data import builtin_corpus
    from hf_fair_compress.modeling import build_embedded_model, train_bpe_tokenizer

    student, student_tok = build_embedded_model(TINY_CONFIG)
    other = train_bpe_tokenizer([t.upper() for t in builtin_corpus(seed=5)], vocab_size=len(student_tok))
    teacher_dir = tmp_path / "teacher"
    make_tiny_gpt2(vocab_size=len(student_tok)).save_pretrained(teacher_dir)
    other.save_pretrained(teacher_dir)
    out = tmp_path / "out"
    recipe = _write_recipe(tmp_path, "distillation: {}\n")
    code, captured = _run(
        [
            "--model",
            str(TINY_CONFIG),
            "--recipe",
            str(recipe),
            "--teacher",
            str(teacher_dir),
            "--output-dir",
            str(out),
            *FAST,
        ],
        capsys,
    )
    assert code == 2
    _assert_one_error_line(captured.err, "distil from a teacher that uses the student's tokenizer")
    _assert_nothing_written(tmp_path, out)


def test_prune_and_distil_in_one_run_from_the_cli(tmp_path, capsys):
    out = tmp_path / "out"
    code, captured = _run(
        [
            "--model",
            str(TINY_CONFIG),
            "--recipe",
            str(REPO / "recipes/gpt2-prune50-kd.yaml"),
            "--output-dir",
            str(out),
            *FAST,
        ],
        capsys,
    )
    assert code == 0, captured.err
    report = json.loads((out / "compression.json").read_text())
    assert abs(report["sparsity"]["global"] - 0.5) <= 0.005
    assert report["distillation"]["teacher"] == "copy of the model being compressed"
