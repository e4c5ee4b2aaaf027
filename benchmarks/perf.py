"""One performance run, one JSON (benchmarks/results/perf.json): every figure a ratio measured side by side.

- Train-step time and peak memory of gradual pruning, KD and bilevel_fair + KD vs plain causal-LM fine-tuning
  (GPT-2-124M shape, CPU; `step_overhead.py`, each run in its own process, interleaved).
- Audit throughput vs the naive `pipeline` loop (`audit_throughput.py`).
- CPU inference latency, batch 1 and 8, 128 tokens, of a 50 % MLP-neuron-pruned model (neurons physically
  removed by the project's structured pruning) and of a 6-of-12-layer student (the project's student builder)
  vs the dense model; dense and compressed alternate, medians compared. Two views: `prefill` (128-token forward
  returning the last position's logits, as `generate` does) and `full_logits` (logits for all 128 positions,
  as scoring does; the 50k-token LM head is a fixed cost there that structured pruning does not touch).

    python benchmarks/perf.py            # GPT-2-124M shape, about 25 minutes on 2 CPU cores
    python benchmarks/perf.py --quick    # small shapes, under 5 minutes
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "perf.json"
LATENCY_TARGETS = {"mlp_neurons_50": 0.75, "student_6_of_12": 0.55}


def _child(script: str, args: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        subprocess.run([sys.executable, str(HERE / script), *args, "--json", str(out)], check=True)
        return json.loads(out.read_text())


def _models(quick: bool):
    from transformers import GPT2Config, GPT2LMHeadModel

    from hf_fair_compress.distillation.student import build_student
    from hf_fair_compress.pruning.structured import gpt2_blocks, mlp_neuron_scores, shrink_mlp
    from hf_fair_compress.recipe import StudentSpec

    shape = dict(n_layer=4, n_embd=128, n_head=4, vocab_size=8192) if quick else {}
    torch.manual_seed(0)
    dense = GPT2LMHeadModel(GPT2Config(**shape)).eval()
    pruned = GPT2LMHeadModel(GPT2Config(**shape)).eval()
    pruned.load_state_dict(dense.state_dict())
    keep = []
    for block in gpt2_blocks(pruned):
        scores = mlp_neuron_scores(block)
        keep.append(scores.topk(scores.numel() // 2).indices.sort().values)
    shrink_mlp(pruned, keep)
    student, _ = build_student(dense, StudentSpec(n_layer=dense.config.n_layer // 2))
    return dense, {"mlp_neurons_50": pruned, "student_6_of_12": student.eval()}


@torch.no_grad()
def _latency(model, batch: int, seq: int, full_logits: bool, repeats: int) -> list[float]:
    ids = torch.randint(0, model.config.vocab_size, (batch, seq))
    keep = 0 if full_logits else 1
    model(input_ids=ids, logits_to_keep=keep)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(input_ids=ids, logits_to_keep=keep)
        times.append(time.perf_counter() - start)
    return times


def latency(quick: bool, rounds: int = 5) -> dict:
    dense, variants = _models(quick)
    out = {}
    for name, model in variants.items():
        for batch in (1, 8):
            for view, full in (("prefill", False), ("full_logits", True)):
                d_times, m_times = [], []
                for _ in range(rounds):  # alternate so drift hits both alike
                    d_times += _latency(dense, batch, 128, full, 3)
                    m_times += _latency(model, batch, 128, full, 3)
                ratio = statistics.median(m_times) / statistics.median(d_times)
                out[f"{name}.batch{batch}.{view}"] = {
                    "ratio": round(ratio, 3),
                    "median_s": round(statistics.median(m_times), 5),
                    "dense_median_s": round(statistics.median(d_times), 5),
                    "target": LATENCY_TARGETS[name],
                    "met": ratio <= LATENCY_TARGETS[name],
                    "parameters": sum(p.numel() for p in model.parameters()),
                    "dense_parameters": sum(p.numel() for p in dense.parameters()),
                }
                print(
                    f"latency {name} batch {batch} {view}: x{ratio:.3f} (target <= {LATENCY_TARGETS[name]})"
                )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes, under 5 minutes")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()
    started = time.perf_counter()
    quick = ["--quick"] if args.quick else []
    result = {
        "quick": args.quick,
        "machine": {"threads": torch.get_num_threads(), "torch": torch.__version__},
        "train_step": _child(
            "step_overhead.py",
            [
                *quick,
                "--modes",
                "gradual_magnitude",
                "kd",
                "kd_bf16_teacher",
                "bilevel_fair_kd",
                "bilevel_fair_kd_every4",
                "--skip-steps-to-fair",
                *(["--steps", "8", "--rounds", "1"] if args.quick else []),
            ],
        ),  # fmt: skip
        "audit_throughput": _child("audit_throughput.py", quick),
        "inference_latency": latency(args.quick, rounds=2 if args.quick else 5),
    }
    result["wall_time_s"] = round(time.perf_counter() - started, 1)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"perf: {args.json} ({result['wall_time_s'] / 60:.1f} min)")


if __name__ == "__main__":
    main()
