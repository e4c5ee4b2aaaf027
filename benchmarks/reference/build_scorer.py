"""Build the reference toxicity scorer: a small BERT classifier trained from scratch on labelled real data
(Davidson tweets, ToxiGen statements, the Jigsaw sample, RealToxicityPrompts texts with their Perspective
toxicity as soft targets), saved in Detoxify's checkpoint format plus an HF config/tokenizer folder, so the
audit loads it offline with `--toxicity-scorer detoxify:<dir>/scorer.ckpt --toxicity-scorer-config <dir>/config`.

Every source keeps a held-out split that neither reference model trains on (see common.is_train); build.json
reports held-out ROC-AUC per source and overall (target >= 0.85) and the Spearman correlation with Perspective
toxicity on held-out RTP texts (target >= 0.6), and says plainly when a target is missed.

    python benchmarks/reference/build_scorer.py            # about 10 minutes on 2 CPU cores
    python benchmarks/reference/build_scorer.py --smoke    # tiny, for tests
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import mannwhitneyu, spearmanr
from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.reference import common  # noqa: E402

SETTINGS = {
    "vocab_size": 8000,
    "hidden_size": 256,
    "layers": 4,
    "heads": 4,
    "intermediate_size": 1024,
    "max_length": 64,
    "batch_size": 64,
    "epochs": 2,
    "learning_rate": 5e-4,
    "warmup_fraction": 0.06,
    "seed": 0,
}
SMOKE = {
    **SETTINGS,
    "vocab_size": 1000,
    "hidden_size": 64,
    "layers": 1,
    "heads": 2,
    "intermediate_size": 128,
    "epochs": 1,
    "limit": 600,
}
TARGETS = {"roc_auc": 0.85, "spearman": 0.6}


def load_data(data_dir: Path, limit: int | None):
    labelled = common.davidson(data_dir) + common.toxigen(data_dir) + common.jigsaw(data_dir)
    rtp_train, rtp_held = common.rtp_records(data_dir)
    train = [x for x in labelled if common.is_train(x.source, x.key)] + common.rtp_texts(rtp_train)
    held = [x for x in labelled if not common.is_train(x.source, x.key)] + common.rtp_texts(rtp_held)
    if limit:
        random.Random(0).shuffle(train)
        train, held = train[:limit], held[: limit // 2] + common.rtp_texts(rtp_held[:50])
    return train, held


def train_tokenizer(texts: list[str], vocab_size: int, folder: Path):
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertTokenizerFast

    wordpiece = BertWordPieceTokenizer(lowercase=True)
    wordpiece.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=2, show_progress=False)
    folder.mkdir(parents=True, exist_ok=True)
    wordpiece.save_model(str(folder))
    tokenizer = BertTokenizerFast.from_pretrained(str(folder), do_lower_case=True)  # v5 ignores vocab_file=
    if len(tokenizer) < vocab_size // 2:
        raise RuntimeError(f"tokenizer has {len(tokenizer)} tokens, expected about {vocab_size}")
    return tokenizer


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    return float(mannwhitneyu(pos, neg, alternative="two-sided").statistic / (len(pos) * len(neg)))


@torch.no_grad()
def predict(model, tokenizer, texts: list[str], max_length: int, batch_size: int = 128) -> np.ndarray:
    model.eval()
    out = []
    for start in range(0, len(texts), batch_size):
        enc = tokenizer(
            texts[start : start + batch_size],
            truncation=True,
            max_length=max_length,
            padding=True,
            return_tensors="pt",
        )
        out.append(torch.sigmoid(model(**enc).logits[:, 0]).numpy())
    return np.concatenate(out)


def evaluate(model, tokenizer, held, max_length) -> dict:
    scores = predict(model, tokenizer, [x.text for x in held], max_length)
    sources = np.array([x.source for x in held])
    targets = np.array([x.target for x in held])
    report = {"roc_auc": {}, "n_held_out": {}}
    binary = sources != "rtp"
    for source in ("davidson", "toxigen", "jigsaw"):
        mask = sources == source
        report["roc_auc"][source] = roc_auc(scores[mask], targets[mask])
        report["n_held_out"][source] = int(mask.sum())
    report["roc_auc"]["overall"] = roc_auc(scores[binary], targets[binary])
    rtp = sources == "rtp"
    report["spearman_rtp_perspective"] = float(spearmanr(scores[rtp], targets[rtp]).statistic)
    report["n_held_out"]["rtp_texts"] = int(rtp.sum())
    # Perspective >= 0.5 as a binary label on held-out RTP texts, for comparison with the other sources.
    report["roc_auc"]["rtp_perspective_0.5"] = roc_auc(scores[rtp], (targets[rtp] >= 0.5).astype(int))
    return report


def build(data_dir: Path, settings: dict, out_root: Path) -> Path:
    files = [
        data_dir / "hate_speech_offensive_davidson" / "labeled_data.csv",
        data_dir / "jigsaw_toxic_sample" / "train.csv",
        data_dir / "jigsaw_toxic_sample" / "test.csv",
        data_dir / "realtoxicityprompts" / "rtp_sample5k_quark_val.jsonl",
        *sorted((data_dir / "toxigen" / "demonstrations").rglob("*.txt")),
    ]
    dest, done = common.existing_build("scorer", settings, files, out_root)
    if done:
        return dest
    key = dest.name
    from transformers import BertConfig, BertForSequenceClassification, get_linear_schedule_with_warmup

    started = time.perf_counter()
    random.seed(settings["seed"])
    torch.manual_seed(settings["seed"])
    train, held = load_data(data_dir, settings.get("limit"))
    stage = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=out_root if out_root.exists() else None))
    tokenizer = train_tokenizer([x.text for x in train], settings["vocab_size"], stage / "config")
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=settings["hidden_size"],
        num_hidden_layers=settings["layers"],
        num_attention_heads=settings["heads"],
        intermediate_size=settings["intermediate_size"],
        max_position_embeddings=128,
        num_labels=1,
        id2label={0: "toxic"},
        label2id={"toxic": 0},
        problem_type="multi_label_classification",
    )
    model = BertForSequenceClassification(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings["learning_rate"], weight_decay=0.01)
    steps_per_epoch = math.ceil(len(train) / settings["batch_size"])
    total = steps_per_epoch * settings["epochs"]
    schedule = get_linear_schedule_with_warmup(optimizer, int(settings["warmup_fraction"] * total), total)
    curve = []
    rng = random.Random(settings["seed"])
    progress = tqdm(total=total, desc="Training scorer")
    for epoch in range(settings["epochs"]):
        order = list(range(len(train)))
        rng.shuffle(order)
        model.train()
        for start in range(0, len(order), settings["batch_size"]):
            batch = [train[i] for i in order[start : start + settings["batch_size"]]]
            enc = tokenizer(
                [x.text for x in batch],
                truncation=True,
                max_length=settings["max_length"],
                padding=True,
                return_tensors="pt",
            )
            logits = model(**enc).logits[:, 0]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, torch.tensor([x.target for x in batch])
            )
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            progress.update(1)
            if progress.n % 50 == 0:
                curve.append({"step": progress.n, "loss": round(float(loss), 4)})
                progress.set_postfix(loss=f"{float(loss):.3f}")
        curve.append(
            {"epoch": epoch + 1, "held_out": evaluate(model, tokenizer, held, settings["max_length"])}
        )
    progress.close()
    report = evaluate(model, tokenizer, held, settings["max_length"])
    missed = []
    if not report["roc_auc"]["overall"] >= TARGETS["roc_auc"]:
        missed.append(f"overall held-out ROC-AUC {report['roc_auc']['overall']:.3f} < {TARGETS['roc_auc']}")
    if not report["spearman_rtp_perspective"] >= TARGETS["spearman"]:
        missed.append(
            f"Spearman with Perspective {report['spearman_rtp_perspective']:.3f} < {TARGETS['spearman']}"
        )
    model.save_pretrained(stage / "config")
    tokenizer.save_pretrained(stage / "config")
    args = {
        "model_type": "bert-base-uncased",
        "model_name": "BertForSequenceClassification",
        "tokenizer_name": "BertTokenizerFast",
        "num_classes": 1,
    }
    torch.save(
        {
            "config": {"arch": {"args": args}, "dataset": {"args": {"classes": ["toxic"]}}},
            "state_dict": model.state_dict(),
        },
        stage / "scorer.ckpt",
    )
    build_info = {
        "kind": "reference toxicity scorer",
        "key": key,
        "settings": settings,
        "data": {
            "files": {str(f.relative_to(data_dir)): common.file_sha256(f) for f in files},
            "train_records": {
                s: sum(x.source == s for x in train) for s in ("davidson", "toxigen", "jigsaw", "rtp")
            },
            "split": "sha256(source:key) % 100 < 80 is train; RTP: 1,000 records (by hash order) held out",
        },
        "held_out": report,
        "targets": TARGETS,
        "targets_missed": missed,
        "training_curve": curve,
        "parameters": sum(p.numel() for p in model.parameters()),
        "wall_time_s": round(time.perf_counter() - started, 1),
        "versions": {"torch": torch.__version__},
        "usage": f"--toxicity-scorer detoxify:{dest / 'scorer.ckpt'} --toxicity-scorer-config {dest / 'config'}",
    }
    (stage / "build.json").write_text(json.dumps(build_info, indent=2) + "\n")
    common.publish(stage, dest)
    auc, rho = report["roc_auc"], report["spearman_rtp_perspective"]
    print(
        f"reference scorer: held-out ROC-AUC overall {auc['overall']:.3f} (davidson {auc['davidson']:.3f}, "
        f"toxigen {auc['toxigen']:.3f}, jigsaw {auc['jigsaw']:.3f}), Spearman vs Perspective {rho:.3f}; "
        + ("targets met" if not missed else "TARGET MISSED: " + "; ".join(missed))
        + f" -> {dest}"
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
    torch.set_num_threads(max(1, torch.get_num_threads()))
    out_root = args.out or common.cache_root()
    out_root.mkdir(parents=True, exist_ok=True)
    return build(common.require_data(args.data_dir), SMOKE if args.smoke else SETTINGS, out_root)


if __name__ == "__main__":
    main()
