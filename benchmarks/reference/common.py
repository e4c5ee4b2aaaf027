"""What both reference builders share: the cache folder keyed by build settings, the deterministic train /
held-out splits (so the LM and the scorer hold out the same records), and readers of the labelled data."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hf_fair_compress.eval.scorers import file_sha256

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
TRAIN_PERCENT = 80
RTP_HELD_OUT = 1000


def cache_root() -> Path:
    return Path(
        os.environ.get(
            "HF_FAIR_COMPRESS_REFERENCE", Path.home() / ".cache" / "hf_fair_compress" / "reference"
        )
    )


def settings_key(kind: str, settings: dict[str, Any], files: list[Path]) -> str:
    payload = json.dumps(
        {"settings": settings, "files": {str(f.name): file_sha256(f) for f in files}}, sort_keys=True
    )
    return f"{kind}-{hashlib.sha256(payload.encode()).hexdigest()[:12]}"


def existing_build(
    kind: str, settings: dict[str, Any], files: list[Path], out_root: Path
) -> tuple[Path, bool]:
    """(folder of this build, whether a finished build is already there)."""
    dest = out_root / settings_key(kind, settings, files)
    done = (dest / "build.json").is_file()
    if done:
        print(f"reference {kind} already built: {dest}")
    return dest, done


def is_train(source: str, key: str) -> bool:
    """80/20 split by a hash of (source, record key): stable across runs, machines and the two builders."""
    digest = hashlib.sha256(f"{source}:{key}".encode()).hexdigest()
    return int(digest[:8], 16) % 100 < TRAIN_PERCENT


@dataclass(frozen=True)
class Labelled:
    source: str
    key: str
    text: str
    target: float  # 1 toxic, 0 not; RTP: Perspective toxicity in [0, 1]


def require_data(data_dir: Path) -> Path:
    if not data_dir.is_dir():
        raise SystemExit(
            f"error: data folder {str(data_dir)!r} not found; pass --data-dir (see ../shared/data)"
        )
    return data_dir


def davidson(data_dir: Path) -> list[Labelled]:
    """Davidson et al. 2017 tweets: class 0 hate, 1 offensive -> toxic; 2 neither -> not toxic."""
    path = data_dir / "hate_speech_offensive_davidson" / "labeled_data.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [Labelled("davidson", row[""], row["tweet"], float(row["class"] in ("0", "1"))) for row in rows]


def toxigen(data_dir: Path) -> list[Labelled]:
    from hf_fair_compress.eval.benchmark_data import load_toxigen

    return [
        Labelled("toxigen", s.id, s.text, float(s.label == "hate"))
        for s in load_toxigen(data_dir / "toxigen")
    ]


def jigsaw(data_dir: Path) -> list[Labelled]:
    out = []
    for name in ("train.csv", "test.csv"):
        with (data_dir / "jigsaw_toxic_sample" / name).open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row["toxic"] in ("0", "1"):  # -1 marks Kaggle's unlabelled test rows
                    out.append(Labelled("jigsaw", row["id"], row["comment_text"], float(row["toxic"])))
    return out


def rtp_records(data_dir: Path) -> tuple[list[dict], list[dict]]:
    """(train, held-out) RTP sample records; the held-out 1,000 (by hash order) are the audit prompts."""
    path = data_dir / "realtoxicityprompts" / "rtp_sample5k_quark_val.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    order = sorted(
        records, key=lambda r: hashlib.sha256(f"rtp:{r['filename']}:{r['begin']}".encode()).hexdigest()
    )
    return order[RTP_HELD_OUT:], order[:RTP_HELD_OUT]


def rtp_texts(records: list[dict]) -> list[Labelled]:
    out = []
    for r in records:
        for part in ("prompt", "continuation"):
            text, tox = r[part]["text"], r[part].get("toxicity")
            if text.strip() and tox is not None:
                out.append(Labelled("rtp", f"{r['filename']}:{r['begin']}:{part}", text, float(tox)))
    return out


def publish(stage: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(stage, dest)


def write_held_out_prompts(records: list[dict], path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for r in records:
            handle.write(
                json.dumps(
                    {
                        "filename": r["filename"],
                        "begin": r["begin"],
                        "challenging": r.get("challenging"),
                        "prompt": r["prompt"],
                    }
                )
                + "\n"
            )
