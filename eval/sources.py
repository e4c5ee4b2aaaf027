"""Where each block's data comes from: the project's own sets (always offline), a local copy under
`--data-dir` (the layout of the public releases), an explicit file, or the Hugging Face Hub by default.

Every loader returns the records and a provenance mapping (file hashes or Hub id/config/split/fingerprint) that
goes into audit.json, so a comparison can refuse to pair audits made on different data.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hf_fair_compress.errors import FairCompressError

from . import benchmark_data as bd
from .scorers import file_sha256

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
BUILTIN_FILES = {
    "toxicity": PROMPTS_DIR / "toxicity_prompts.jsonl",
    "counterfactual": PROMPTS_DIR / "counterfactual_templates.json",
    "quality": PROMPTS_DIR / "quality_texts.txt",
}


@dataclass(frozen=True)
class HubSource:
    id: str
    config: str | None
    split: str


# The public release of each benchmark: Hub id, and the path of a local copy below --data-dir.
HUB = {
    "toxicity": HubSource("allenai/real-toxicity-prompts", None, "train"),
    "crows_pairs": HubSource("nyu-mll/crows_pairs", None, "test"),
    "stereoset": HubSource("McGill-NLP/stereoset", "intrasentence", "validation"),
    "bold": HubSource("AlexaAI/bold", None, "train"),
    "quality": HubSource("Salesforce/wikitext", "wikitext-2-raw-v1", "test"),
}
LOCAL = {
    "toxicity": "realtoxicityprompts/rtp_sample5k_quark_val.jsonl",
    "crows_pairs": "crows_pairs/crows_pairs_anonymized.csv",
    "stereoset": "stereoset/stereoset_dev.jsonl",
    "bold": "bold",
    "holistic_bias": "holistic_bias/v1.1",
    "quality": "wikitext2/test.txt",
}


class DataUnavailable(FairCompressError):
    """The data of a block could not be found; optional blocks are skipped with this reason."""


def path_sha256(path: Path) -> str:
    """Hash of a file, or of a folder's files (relative names and contents, sorted)."""
    if path.is_file():
        return file_sha256(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode())
        digest.update(file_sha256(file).encode())
    return digest.hexdigest()


def _local(path: Path, source: str = "file") -> dict[str, Any]:
    return {"source": source, "path": str(path.resolve()), "sha256": path_sha256(path)}


def resolve(block: str, dataset: str, data_dir: str | None) -> tuple[str, Path | HubSource]:
    """('builtin' | 'file' | 'hub', location) for a block's `dataset` setting."""
    if dataset == "builtin":
        if block not in BUILTIN_FILES:
            raise FairCompressError(f"block {block!r} has no built-in set; use dataset: default or a path")
        return "builtin", BUILTIN_FILES[block]
    if dataset != "default":
        path = Path(dataset).expanduser()
        if not path.exists():
            raise DataUnavailable(f"{block}: dataset file {dataset!r} not found; fix the path in the suite")
        return "file", path
    if data_dir is not None:
        path = Path(data_dir).expanduser() / LOCAL[block]
        if not path.exists():
            raise DataUnavailable(
                f"{block}: expected a local copy at {str(path)!r} (under --data-dir); add it or drop --data-dir"
            )
        return "file", path
    if block not in HUB:
        raise DataUnavailable(f"{block}: has no Hub release to download; pass --data-dir with {LOCAL[block]}")
    return "hub", HUB[block]


def load_hub(block: str, source: HubSource):
    from datasets import load_dataset

    from hf_fair_compress.modeling.hub_errors import explain_hub_failure

    try:
        return load_dataset(source.id, source.config, split=source.split)
    except Exception as exc:
        message = explain_hub_failure("dataset", source.id, exc, f"--data-dir DIR holding {LOCAL[block]}")
        raise DataUnavailable(message) from None


def _hub_provenance(source: HubSource, dataset) -> dict[str, Any]:
    return {
        "source": "hub",
        "id": source.id,
        "config": source.config,
        "split": source.split,
        "fingerprint": getattr(dataset, "_fingerprint", None),
    }


def load_block_data(block: str, dataset: str, data_dir: str | None):
    """(records, provenance) for a block. Records are the typed items of `benchmark_data`."""
    kind, where = resolve(block, dataset, data_dir)
    if kind == "hub":
        hub = load_hub(block, where)
        records = HUB_CONVERTERS[block](hub)
        provenance = _hub_provenance(where, hub)
    else:
        records = LOCAL_READERS[block](where)
        provenance = _local(where, kind)
    provenance["records"] = _count(records)
    if not provenance["records"]:
        raise FairCompressError(
            f"{block}: the data set is empty ({provenance.get('path') or provenance.get('id')})"
        )
    return records, provenance


def _count(records) -> int:
    if isinstance(records, bd.HolisticBias):
        return sum(len(v) for v in records.descriptors.values())
    if isinstance(records, dict):
        return len(records["templates"])
    return len(records)


# Local readers ------------------------------------------------------------------------------------------------

_WIKI_HEADING = re.compile(r"^ = [^=].* = $")


def split_wikitext(text: str) -> list[str]:
    """WikiText raw files as articles: a new one starts at each top-level ` = Title = ` line."""
    docs, current = [], []
    for line in text.splitlines():
        if _WIKI_HEADING.match(line) and current:
            docs.append("\n".join(current).strip())
            current = []
        current.append(line)
    if current:
        docs.append("\n".join(current).strip())
    return [d for d in docs if d]


def read_texts(path: Path) -> list[str]:
    """Documents of a text file: WikiText articles, or paragraphs separated by blank lines."""
    text = path.read_text(encoding="utf-8")
    if any(_WIKI_HEADING.match(line) for line in text.splitlines()[:50]):
        return split_wikitext(text)
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def read_counterfactual_templates(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FairCompressError(f"{path} line {exc.lineno}: invalid JSON ({exc.msg})") from None
    templates, axes = data.get("templates"), data.get("axes")
    if not isinstance(templates, list) or not templates or not all("{term}" in str(t) for t in templates):
        raise FairCompressError(
            f"{path}: 'templates' must be a non-empty list of strings with a {{term}} slot"
        )
    if not isinstance(axes, dict) or not all(isinstance(v, list) and len(v) >= 2 for v in axes.values()):
        raise FairCompressError(f"{path}: 'axes' must map each axis to a list of at least two terms")
    return {
        "templates": [str(t) for t in templates],
        "axes": {k: [str(t) for t in v] for k, v in axes.items()},
    }


LOCAL_READERS = {
    "toxicity": bd.load_rtp,
    "crows_pairs": bd.load_crows_pairs,
    "stereoset": bd.load_stereoset,
    "bold": bd.load_bold,
    "holistic_bias": bd.load_holistic_bias,
    "quality": read_texts,
    "counterfactual": read_counterfactual_templates,
}


# Hub schemas -> records ---------------------------------------------------------------------------------------


def _label_name(dataset, column: str, value: Any) -> str:
    feature = dataset.features.get(column)
    if isinstance(value, int) and hasattr(feature, "int2str"):
        return feature.int2str(value)
    return str(value)


def rtp_from_hub(dataset) -> list[bd.RtpPrompt]:
    out = []
    for i, row in enumerate(dataset):
        prompt = row.get("prompt") or {}
        if not str(prompt.get("text") or "").strip():
            raise FairCompressError(f"real-toxicity-prompts row {i}: prompt has no text")
        rid = f"{row.get('filename')}:{row.get('begin')}" if row.get("filename") else str(i)
        out.append(bd.RtpPrompt(rid, prompt["text"], prompt.get("toxicity"), row.get("challenging")))
    return out


def crows_from_hub(dataset) -> list[bd.CrowsPair]:
    return [
        bd.CrowsPair(
            id=str(row.get("id", i)),
            sent_more=row["sent_more"],
            sent_less=row["sent_less"],
            direction=_label_name(dataset, "stereo_antistereo", row["stereo_antistereo"]),
            bias_type=_label_name(dataset, "bias_type", row["bias_type"]),
        )
        for i, row in enumerate(dataset)
    ]


def stereoset_from_hub(dataset) -> list[bd.StereoSetItem]:
    """McGill-NLP/stereoset: three candidate sentences with gold labels (anti-stereotype, stereotype, unrelated)."""
    names = {0: "anti-stereotype", 1: "stereotype", 2: "unrelated"}
    out = []
    for row in dataset:
        sentences = row["sentences"]
        by_label = {names.get(g, str(g)): s for s, g in zip(sentences["sentence"], sentences["gold_label"])}
        out.append(
            bd.StereoSetItem(
                id=str(row["id"]),
                kind="intrasentence",
                target=row["target"],
                bias_type=row["bias_type"],
                context=row["context"],
                stereotype=by_label["stereotype"],
                anti_stereotype=by_label["anti-stereotype"],
                unrelated=by_label["unrelated"],
            )
        )
    return out


def bold_from_hub(dataset) -> list[bd.BoldPrompt]:
    """AlexaAI/bold rows: {domain, name, category (group), prompts: [...]}."""
    out = []
    for row in dataset:
        for i, text in enumerate(row["prompts"]):
            if text.strip():
                out.append(
                    bd.BoldPrompt(
                        f"{row['domain']}/{row['category']}/{row['name']}/{i}",
                        row["domain"],
                        row["category"],
                        row["name"],
                        text,
                    )
                )
    return out


def wikitext_from_hub(dataset) -> list[str]:
    return split_wikitext("\n".join(row["text"].rstrip("\n") for row in dataset))


HUB_CONVERTERS = {
    "toxicity": rtp_from_hub,
    "crows_pairs": crows_from_hub,
    "stereoset": stereoset_from_hub,
    "bold": bold_from_hub,
    "quality": wikitext_from_hub,
}
