"""Train-step time and peak memory of FairCompressTrainer modes vs plain `Trainer` fine-tuning, side by side.

Every run is a short training in its own subprocess (so peak memory is per run); plain and compressed runs
alternate (plain, mode, plain, mode, ...) so drift in machine load hits both sides alike. Step times come from
a callback; the first steps of each run are dropped as warm-up and medians are compared.

Modes and their baselines (CPU, random init, same batch and sequence length):
- gradual_magnitude: GPT-2-124M shape pruned to 70 % on a cubic schedule vs plain fine-tuning of the same model.
- kd: 6-layer student distilled from a 12-layer GPT-2-124M-shaped teacher vs plain fine-tuning of the student.
  The teacher forward (12 layers, no graph) is the main extra cost; cross-entropy and KL share one fused pass
  over the student logits.
- kd_bf16_teacher: the same with `teacher_dtype: bfloat16` (the student stays fp32).
- bilevel_fair_kd: GPT-2-124M shape, bi-level fair pruning to 50 % (scores + their own optimizer) with KD from
  the dense model and the counterfactual constraint on built-in probes (8 pairs = 16 rows of about 35 tokens
  per step, next to a 512-token batch: the probe forward/backward is a fixed cost that larger batches
  amortise; the LM head runs only on the ~24 positions per row the constraint reads), vs plain
  fine-tuning of the same model.
- bilevel_fair_kd_every4: the same with the constraint evaluated every 4 steps (`fairness.every: 4`).

After the timings it runs `steps_to_fair.py` (single-run vs two-stage steps on the tiny biased model).

    python benchmarks/step_overhead.py            # GPT-2-124M shape (about 10 minutes on 2 cores)
    python benchmarks/step_overhead.py --quick    # small shapes, under a minute
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import statistics
import time
from pathlib import Path
from queue import Empty

TARGETS = {
    "gradual_magnitude": 1.10,
    "kd": 1.45,
    "kd_bf16_teacher": 1.45,
    "bilevel_fair_kd": 2.2,
    "bilevel_fair_kd_every4": 2.2,
}


def model_config(quick: bool, n_layer: int | None = None):
    from transformers import GPT2Config

    if quick:
        return GPT2Config(n_layer=n_layer or 4, n_embd=128, n_head=4, vocab_size=8192, n_positions=256)
    return GPT2Config(n_layer=n_layer or 12)  # GPT-2 124M: 12 layers, 768 wide, 12 heads, 50257 tokens


def _run(job: dict, queue) -> None:
    """One training run in a child process; reports step times and the child's peak resident memory."""
    import torch
    from datasets import Dataset
    from transformers import GPT2LMHeadModel, Trainer, TrainerCallback, TrainingArguments

    from hf_fair_compress import FairCompressConfig, FairCompressTrainer

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.times, self._start = [], 0.0

        def on_step_begin(self, args, state, control, **kwargs):
            self._start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.times.append(time.perf_counter() - self._start)

    quick, steps, batch, seq = job["quick"], job["steps"], job["batch"], job["seq"]
    teacher_config = model_config(quick)
    student_layers = teacher_config.n_layer // 2
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, teacher_config.vocab_size, (steps * batch, seq), generator=g).tolist()
    data = Dataset.from_dict({"input_ids": ids, "attention_mask": [[1] * seq] * len(ids), "labels": ids})
    common = dict(
        output_dir=f"/tmp/hf_fair_compress_bench/{job['mode']}-{job['side']}",
        per_device_train_batch_size=batch,
        max_steps=steps,
        learning_rate=1e-4,
        save_strategy="no",
        logging_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=True,
        dataloader_pin_memory=False,
        seed=0,
    )
    torch.manual_seed(0)
    timer = StepTimer()
    mode = job["mode"]
    if job["side"] == "plain":
        n_layer = student_layers if mode.startswith("kd") else teacher_config.n_layer
        model = GPT2LMHeadModel(model_config(quick, n_layer))
        trainer = Trainer(
            model=model, args=TrainingArguments(**common), train_dataset=data, callbacks=[timer]
        )
    else:
        recipes = {
            "gradual_magnitude": {
                "pruning": {
                    "method": "gradual_magnitude",
                    "sparsity": 0.7,
                    "schedule": {"kind": "cubic", "start_step": 0, "end_step": steps, "frequency": 10},
                }
            },
            "kd": {"distillation": {"student": {"n_layer": student_layers}}},
            "bilevel_fair_kd": {
                "pruning": {"method": "bilevel_fair", "sparsity": 0.5},
                "distillation": {"alpha_ce": 0.5, "alpha_clm": 0.5},
                # 8 probe pairs (about 400 tokens) per step against a 512-token training batch.
                "fairness": {"constraints": [{"type": "counterfactual"}], "probe_batch_size": 8},
            },
            "bilevel_fair_kd_every4": {
                "pruning": {"method": "bilevel_fair", "sparsity": 0.5},
                "distillation": {"alpha_ce": 0.5, "alpha_clm": 0.5},
                "fairness": {"constraints": [{"type": "counterfactual"}], "probe_batch_size": 8, "every": 4},
            },
            "kd_bf16_teacher": {
                "distillation": {"student": {"n_layer": student_layers}, "teacher_dtype": "bfloat16"}
            },
        }
        args = FairCompressConfig(**common, recipe=recipes[mode])
        tokenizer = None
        if mode.startswith("bilevel_fair"):
            from hf_fair_compress.data import builtin_corpus
            from hf_fair_compress.modeling import train_bpe_tokenizer

            tokenizer = train_bpe_tokenizer(builtin_corpus(), vocab_size=min(2048, teacher_config.vocab_size))
        trainer = FairCompressTrainer(
            model=GPT2LMHeadModel(teacher_config),
            args=args,
            train_dataset=data,
            processing_class=tokenizer,
            callbacks=[timer],
        )
    trainer.train()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"times": timer.times, "peak_mib": peak_mib})


def run_in_child(job: dict) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_run, args=(job, queue))
    proc.start()
    while True:  # a child that dies (e.g. on an exception) must fail the benchmark, not hang it
        try:
            result = queue.get(timeout=5)
            break
        except Empty:
            if not proc.is_alive():
                raise RuntimeError(f"benchmark run {job} failed (exit code {proc.exitcode})") from None
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small models, for a smoke run")
    parser.add_argument(
        "--steps", type=int, default=None, help="optimizer steps per run (default 12, quick 20)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of plain vs mode")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=2, help="steps dropped from each run")
    parser.add_argument("--modes", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--skip-steps-to-fair", action="store_true", help="only the step timings")
    args = parser.parse_args()
    steps = args.steps or (20 if args.quick else 12)
    config = model_config(args.quick)
    print(
        f"GPT-2 shape n_layer={config.n_layer} n_embd={config.n_embd} vocab={config.vocab_size}; batch {args.batch} "
        f"x seq {args.seq}; {steps} steps per run, {args.rounds} interleaved rounds, first {args.warmup} steps "
        "of each run dropped; each run in its own process"
    )
    results = {}
    for mode in args.modes:
        plain_t, ours_t, plain_mem, ours_mem = [], [], [], []
        for _ in range(args.rounds):
            base = dict(mode=mode, quick=args.quick, steps=steps, batch=args.batch, seq=args.seq)
            plain = run_in_child({**base, "side": "plain"})
            ours = run_in_child({**base, "side": "ours"})
            plain_t += plain["times"][args.warmup :]
            ours_t += ours["times"][args.warmup :]
            plain_mem.append(plain["peak_mib"])
            ours_mem.append(ours["peak_mib"])
        ratio = statistics.median(ours_t) / statistics.median(plain_t)
        target = TARGETS[mode]
        verdict = "met" if ratio <= target else "MISSED"
        print(
            f"{mode:>18}: median step {statistics.median(ours_t):.3f}s vs plain {statistics.median(plain_t):.3f}s "
            f"-> ratio {ratio:.3f} (target <= {target:.2f}: {verdict}); mean ratio "
            f"{statistics.mean(ours_t) / statistics.mean(plain_t):.3f}; peak RSS {max(ours_mem):.0f} MiB vs "
            f"{max(plain_mem):.0f} MiB (x{max(ours_mem) / max(plain_mem):.2f}); n={len(ours_t)} vs {len(plain_t)} steps"
        )
        results[mode] = {
            "ratio_median": ratio,
            "ratio_mean": statistics.mean(ours_t) / statistics.mean(plain_t),
            "median_step_s": statistics.median(ours_t),
            "plain_median_step_s": statistics.median(plain_t),
            "peak_rss_mib": max(ours_mem),
            "plain_peak_rss_mib": max(plain_mem),
            "target": target,
            "n_steps": len(ours_t),
        }
    if not args.skip_steps_to_fair:
        import steps_to_fair

        fair_results, settings = steps_to_fair.measure()
        print("\n".join(steps_to_fair.report(fair_results, settings)))
        results["steps_to_fair"] = {name: r["steps_to_fair_sparse"] for name, r in fair_results.items()} | {
            "settings": settings
        }
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
