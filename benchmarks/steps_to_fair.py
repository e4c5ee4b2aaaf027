"""Optimizer steps to a fair sparse model: single-run `bilevel_fair` vs the two-stage pipeline.

On the tiny biased world (a GPT-2 trained until it carries an injected gender -> occupation stereotype), both
pipelines prune to the same sparsity; a callback measures the counterfactual constraint on the full probe set
every `--every` steps. Reported: the first step at which the target sparsity is reached *and* the constraint
is at or below epsilon. Two-stage = one-shot magnitude -> fine-tune (`--finetune` steps) -> fine-tune with the
fairness penalty, as in Dai et al.'s baselines.

    python benchmarks/steps_to_fair.py
"""

from __future__ import annotations

import argparse
import copy
import tempfile
from pathlib import Path

from transformers import TrainerCallback

from hf_fair_compress import FairCompressTrainer
from hf_fair_compress.fairness import stereotype_world as world
from hf_fair_compress.fairness.objective import counterfactual_gap
from hf_fair_compress.pruning import export_state_dict, iter_masks


class ReachedFair(TrainerCallback):
    """Stops training at the first check where sparsity >= target and the constraint <= epsilon."""

    def __init__(self, trainer_ref, reference, tokenizer, sparsity, epsilon, every):
        self.trainer_ref, self.reference, self.tokenizer = trainer_ref, reference, tokenizer
        self.sparsity, self.epsilon, self.every = sparsity, epsilon, every
        self.reached_at: int | None = None
        self.trace: list[tuple[int, float, float]] = []

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step % self.every:
            return
        trainer = self.trainer_ref[0]
        masks = [m for *_, m in iter_masks(trainer.model)]
        sparsity = sum(int((~m).sum()) for m in masks) / max(1, sum(m.numel() for m in masks))
        baked = copy.deepcopy(self.reference)
        baked.load_state_dict(export_state_dict(trainer.model))
        gap = counterfactual_gap(baked, self.tokenizer, world.probe_set())
        self.trace.append((state.global_step, sparsity, gap))
        if sparsity >= self.sparsity - 0.005 and gap <= self.epsilon:
            self.reached_at = state.global_step
            control.should_training_stop = True


def measure(
    max_steps: int = 600, finetune: int = 100, epsilon: float = 0.01, every: int = 2, sparsity: float = 0.5
):
    tmp = Path(tempfile.mkdtemp(prefix="steps_to_fair_"))
    base, tokenizer, train, _ = world.trained_world(tmp / "base")
    probes = world.write_probe_file(tmp / "probes.jsonl")
    fairness = {
        "probes": {"builtin": False, "files": [str(probes)]},
        "constraints": [{"type": "counterfactual", "weight": 1.0}],
    }
    pipelines = {
        "single-run bilevel_fair": {
            "pruning": {"method": "bilevel_fair", "sparsity": sparsity},
            "fairness": fairness,
        },
        "two-stage (magnitude -> fine-tune -> fair fine-tune)": {
            "pruning": {"method": "magnitude", "sparsity": sparsity},
            "fairness": {**fairness, "start_step": finetune},
        },
    }
    results = {}
    for name, recipe in pipelines.items():
        holder: list = []
        callback = ReachedFair(holder, base, tokenizer, sparsity, epsilon, every)
        trainer = FairCompressTrainer(
            model=copy.deepcopy(base),
            args=world.training_config(tmp / name[:6], max_steps, 1e-3, recipe, logging_strategy="no"),
            train_dataset=train,
            processing_class=tokenizer,
            callbacks=[callback],
        )
        holder.append(trainer)
        trainer.train()
        results[name] = {"steps_to_fair_sparse": callback.reached_at, "trace": callback.trace}
    return results, {
        "epsilon": epsilon,
        "sparsity": sparsity,
        "finetune_steps": finetune,
        "check_every": every,
    }


def report(results, settings) -> list[str]:
    lines = [
        f"steps to a fair sparse model (sparsity {settings['sparsity']:.0%}, counterfactual JS <= "
        f"{settings['epsilon']}, checked every {settings['check_every']} steps; two-stage fine-tunes "
        f"{settings['finetune_steps']} steps before the penalty):"
    ]
    reached = {}
    for name, r in results.items():
        steps = r["steps_to_fair_sparse"]
        reached[name] = steps
        lines.append(f"  {name}: {steps if steps is not None else 'not reached'}")
    single, two = list(reached.values())
    if single and two:
        lines.append(
            f"  single-run needs {single / two:.2f}x the optimizer steps of two-stage "
            f"({100 * (1 - single / two):.0f}% fewer)"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-steps", type=int, default=600)
    parser.add_argument("--finetune", type=int, default=100)
    parser.add_argument("--epsilon", type=float, default=0.01)
    parser.add_argument("--every", type=int, default=2)
    args = parser.parse_args()
    results, settings = measure(args.max_steps, args.finetune, args.epsilon, args.every)
    print("\n".join(report(results, settings)))


if __name__ == "__main__":
    main()
