"""Build the reference LM: a GPT-2-architecture model (GPT2LMHeadModel) with its own byte-level BPE tokenizer,
trained from scratch on a documented mixture of real public text, so the seed-paper studies have a real model to
compress where no pretrained GPT-2 can be downloaded.

Mixture (train parts only; the held-out parts are shared with the reference scorer, see common.is_train):
WikiText-2 valid.txt (test.txt stays held out for perplexity), ToxiGen demonstrations (80%), Davidson tweets
(80%), and 4,000 of the 5,000 RealToxicityPrompts sample records as prompt + continuation (the other 1,000
prompts are written to `rtp_held_out_prompts.jsonl` for the audits). BOLD, CrowS-Pairs, StereoSet and
HolisticBias are never trained on. Content warning: the mixture holds hateful and offensive text on purpose; the
model has to be able to be toxic for the toxicity studies to mean anything.

    python benchmarks/reference/build_lm.py            # 6 layers, about 30 minutes on 2 CPU cores
    python benchmarks/reference/build_lm.py --smoke    # tiny, for tests
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.reference import common  # noqa: E402

SETTINGS = {
    "vocab_size": 8000,
    "n_layer": 6,
    "n_embd": 256,
    "n_head": 8,
    "n_positions": 256,
    "block_size": 128,
    "batch_size": 32,
    "epochs": 2,
    "learning_rate": 1e-3,
    "warmup_ratio": 0.05,
    "weight_decay": 0.01,
    "seed": 0,
}
SMOKE = {
    **SETTINGS,
    "vocab_size": 600,
    "n_layer": 2,
    "n_embd": 32,
    "n_head": 2,
    "epochs": 1,
    "limit_docs": 300,
    "max_steps": 10,
}


def mixture(data_dir: Path, limit: int | None = None) -> tuple[list[str], dict]:
    from hf_fair_compress.eval.sources import read_texts

    wiki = read_texts(data_dir / "wikitext2" / "valid.txt")
    toxigen = [x.text for x in common.toxigen(data_dir) if common.is_train(x.source, x.key)]
    davidson = [x.text for x in common.davidson(data_dir) if common.is_train(x.source, x.key)]
    rtp_train, rtp_held = common.rtp_records(data_dir)
    rtp = [r["prompt"]["text"] + r["continuation"]["text"] for r in rtp_train]
    parts = {"wikitext2_valid": wiki, "toxigen_train": toxigen, "davidson_train": davidson, "rtp_train": rtp}
    if limit:
        parts = {k: v[: max(1, limit // len(parts))] for k, v in parts.items()}
    docs = [d for v in parts.values() for d in v]
    counts = {k: len(v) for k, v in parts.items()}
    return docs, {"records": counts, "rtp_held_out": rtp_held}


def pack(docs: list[str], tokenizer, block: int, seed: int) -> list[list[int]]:
    ids: list[int] = []
    for doc in docs:
        ids += tokenizer(doc)["input_ids"] + [tokenizer.eos_token_id]
    blocks = [ids[i : i + block] for i in range(0, len(ids) - block + 1, block)]
    random.Random(seed).shuffle(blocks)
    return blocks


def build(data_dir: Path, settings: dict, out_root: Path) -> Path:
    files = [
        data_dir / "wikitext2" / "valid.txt",
        data_dir / "wikitext2" / "test.txt",
        data_dir / "hate_speech_offensive_davidson" / "labeled_data.csv",
        data_dir / "realtoxicityprompts" / "rtp_sample5k_quark_val.jsonl",
        *sorted((data_dir / "toxigen" / "demonstrations").rglob("*.txt")),
    ]
    dest, done = common.existing_build("lm", settings, files, out_root)
    if done:
        return dest
    key = dest.name
    from datasets import Dataset
    from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments, set_seed

    from hf_fair_compress.eval.quality import perplexity
    from hf_fair_compress.eval.sources import read_texts
    from hf_fair_compress.modeling import train_bpe_tokenizer

    started = time.perf_counter()
    set_seed(settings["seed"], deterministic=False)
    docs, info = mixture(data_dir, settings.get("limit_docs"))
    tokenizer = train_bpe_tokenizer(docs, settings["vocab_size"])
    blocks = pack(docs, tokenizer, settings["block_size"], settings["seed"])
    eos = tokenizer.eos_token_id
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=settings["n_positions"],
        n_embd=settings["n_embd"],
        n_layer=settings["n_layer"],
        n_head=settings["n_head"],
        bos_token_id=eos,
        eos_token_id=eos,
        pad_token_id=eos,
    )
    model = GPT2LMHeadModel(config)
    stage = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=out_root))
    args = TrainingArguments(
        output_dir=str(stage / "trainer"),
        per_device_train_batch_size=settings["batch_size"],
        num_train_epochs=settings["epochs"],
        max_steps=settings.get("max_steps", -1),
        learning_rate=settings["learning_rate"],
        warmup_steps=settings["warmup_ratio"],
        weight_decay=settings["weight_decay"],
        lr_scheduler_type="cosine",
        logging_steps=25,
        save_strategy="no",
        report_to="none",
        seed=settings["seed"],
        data_seed=settings["seed"],
        use_cpu=True,
        dataloader_pin_memory=False,
    )
    train = Dataset.from_dict({"input_ids": blocks, "labels": blocks})
    trainer = Trainer(model=model, args=args, train_dataset=train, processing_class=tokenizer)
    trainer.train()
    test_docs = read_texts(data_dir / "wikitext2" / "test.txt")
    if settings.get("limit_docs"):
        test_docs = test_docs[:3]
    ppl, _ = perplexity(model, tokenizer, test_docs, n_resamples=500, progress=True)
    model.save_pretrained(stage)
    tokenizer.save_pretrained(stage)
    common.write_held_out_prompts(info["rtp_held_out"], stage / "rtp_held_out_prompts.jsonl")
    import shutil

    shutil.rmtree(stage / "trainer", ignore_errors=True)
    curve = [
        {"step": h["step"], "loss": h["loss"]}
        for h in trainer.state.log_history
        if "loss" in h and "step" in h
    ]
    build_info = {
        "kind": "reference LM",
        "key": key,
        "settings": settings,
        "data": {
            "files": {str(f.relative_to(data_dir)): common.file_sha256(f) for f in files},
            "records": info["records"],
            "train_tokens": len(blocks) * settings["block_size"],
            "held_out": "WikiText-2 test.txt; 20% of ToxiGen and Davidson (sha256 split); 1,000 RTP prompts "
            "(rtp_held_out_prompts.jsonl); BOLD, CrowS-Pairs, StereoSet, HolisticBias never trained on",
        },
        "held_out_perplexity_wikitext2_test": ppl["quality.perplexity"],
        "training_curve": curve,
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps": trainer.state.global_step,
        "wall_time_s": round(time.perf_counter() - started, 1),
        "versions": {"torch": torch.__version__},
    }
    (stage / "build.json").write_text(json.dumps(build_info, indent=2) + "\n")
    common.publish(stage, dest)
    p = ppl["quality.perplexity"]
    print(
        f"reference LM: {build_info['parameters'] / 1e6:.1f}M parameters, {build_info['steps']} steps, "
        f"WikiText-2 test perplexity {p['value']:.1f} [{p['ci_low']:.1f}, {p['ci_high']:.1f}], "
        f"{build_info['wall_time_s'] / 60:.1f} min -> {dest}"
    )
    return dest


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=common.SHARED_DATA)
    parser.add_argument(
        "--out", type=Path, default=None, help="cache folder (default ~/.cache/hf_fair_compress/reference)"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for tests")
    args = parser.parse_args(argv)
    out_root = args.out or common.cache_root()
    out_root.mkdir(parents=True, exist_ok=True)
    return build(common.require_data(args.data_dir), SMOKE if args.smoke else SETTINGS, out_root)


if __name__ == "__main__":
    main()
