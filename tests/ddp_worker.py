"""Run by tests/test_ddp.py under `accelerate launch` with 2 CPU processes (gloo)."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from datasets import Dataset

from hf_fair_compress import FairCompressConfig, FairCompressTrainer
from hf_fair_compress.data import builtin_corpus, pack_dataset
from hf_fair_compress.modeling import train_bpe_tokenizer
from hf_fair_compress.pruning import iter_masks


def main(out: Path, method: str) -> None:
    from tests.conftest import make_tiny_gpt2

    tokenizer = train_bpe_tokenizer(builtin_corpus(), vocab_size=512)
    dataset = pack_dataset(Dataset.from_dict({"text": builtin_corpus(n_paragraphs=120)}), tokenizer, 32)
    pruning = {
        "gradual_magnitude": {
            "method": "gradual_magnitude",
            "sparsity": 0.6,
            "schedule": {"kind": "cubic", "end_step": 4, "frequency": 2},
        },
        "wanda": {"method": "wanda", "sparsity": 0.5, "calibration_batches": 2},
        "movement": {"method": "movement", "sparsity": 0.5},
    }[method]
    args = FairCompressConfig(
        output_dir=str(out / "run"),
        per_device_train_batch_size=4,
        gradient_accumulation_steps=2,
        max_steps=6,
        learning_rate=1e-3,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=True,
        dataloader_pin_memory=False,
        seed=0,
        recipe={"pruning": pruning},
    )
    model = make_tiny_gpt2(vocab_size=len(tokenizer), seed=0)
    trainer = FairCompressTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    trainer.train()
    rank = trainer.args.process_index
    masks = {f"{name}.{param}": mask.cpu() for name, _, param, mask in iter_masks(trainer.model)}
    weights = {k: v.detach().cpu() for k, v in trainer.model.state_dict().items()}
    torch.save(
        {"masks": masks, "weights": weights, "world_size": trainer.args.world_size}, out / f"rank{rank}.pt"
    )
    trainer.save_compressed(out / "export")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
