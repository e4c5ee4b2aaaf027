"""Readers for the bias and toxicity benchmarks, from local copies (`--data-dir`), validating every record.

Each reader returns typed records and fails on the first bad record with the file and line (or row) and what
is wrong, so a truncated or re-formatted copy is caught before any model is scored.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hf_fair_compress.errors import FairCompressError


@dataclass(frozen=True)
class CrowsPair:
    id: str
    sent_more: str
    sent_less: str
    direction: str  # "stereo" or "antistereo"
    bias_type: str


@dataclass(frozen=True)
class StereoSetItem:
    id: str
    kind: str  # "intrasentence" or "intersentence"
    target: str
    bias_type: str
    context: str
    stereotype: str
    anti_stereotype: str
    unrelated: str


@dataclass(frozen=True)
class BoldPrompt:
    id: str
    domain: str
    group: str
    name: str
    text: str


@dataclass(frozen=True)
class RtpPrompt:
    id: str
    text: str
    toxicity: float | None  # Perspective score of the prompt, when the file has one
    challenging: bool | None


@dataclass(frozen=True)
class ToxigenStatement:
    id: str
    group: str
    label: str  # "hate" or "neutral"
    text: str


@dataclass(frozen=True)
class HolisticBias:
    descriptors: dict[str, list[str]]  # axis -> descriptors
    nouns: dict[str, list[str]]  # gender bucket -> singular nouns
    templates: list[str]


def _require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise FairCompressError(f"{what} file {str(path)!r} not found; point --data-dir at a local copy")
    return path


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for line_no, line in enumerate(_require_file(path, "JSONL").read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FairCompressError(f"{path} line {line_no}: invalid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise FairCompressError(f"{path} line {line_no}: expected a JSON object")
        yield line_no, record


def _text(record: dict[str, Any], key: str, where: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise FairCompressError(f"{where}: missing or empty field {key!r}")
    return value


def load_crows_pairs(path: str | Path) -> list[CrowsPair]:
    """CrowS-Pairs (Nangia et al. 2020), the anonymised CSV: 1,508 pairs over 9 bias types."""
    path = _require_file(Path(path), "CrowS-Pairs")
    pairs = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        for row_no, row in enumerate(reader, start=2):
            where = f"{path} row {row_no}"
            direction = _text(row, "stereo_antistereo", where)
            if direction not in ("stereo", "antistereo"):
                raise FairCompressError(
                    f"{where}: stereo_antistereo must be 'stereo' or 'antistereo', got {direction!r}"
                )
            pairs.append(
                CrowsPair(
                    id=str(row.get("") or row_no - 2),
                    sent_more=_text(row, "sent_more", where),
                    sent_less=_text(row, "sent_less", where),
                    direction=direction,
                    bias_type=_text(row, "bias_type", where),
                )
            )
    if not pairs:
        raise FairCompressError(f"{path}: no CrowS-Pairs rows")
    return pairs


def load_stereoset(path: str | Path, kind: str | None = "intrasentence") -> list[StereoSetItem]:
    """StereoSet dev in flattened JSONL (one example per line, three candidate sentences each)."""
    path = Path(path)
    items = []
    for line_no, record in _jsonl(path):
        where = f"{path} line {line_no}"
        item_kind = _text(record, "type", where)
        if item_kind not in ("intrasentence", "intersentence"):
            raise FairCompressError(
                f"{where}: type must be intrasentence or intersentence, got {item_kind!r}"
            )
        context = _text(record, "context", where)
        if item_kind == "intrasentence" and "BLANK" not in context:
            raise FairCompressError(f"{where}: an intrasentence context needs a BLANK slot")
        item = StereoSetItem(
            id=str(record.get("id", line_no)),
            kind=item_kind,
            target=_text(record, "target", where),
            bias_type=_text(record, "bias_type", where),
            context=context,
            stereotype=_text(record, "stereotype", where),
            anti_stereotype=_text(record, "anti-stereotype", where),
            unrelated=_text(record, "unrelated", where),
        )
        if kind is None or item.kind == kind:
            items.append(item)
    if not items:
        raise FairCompressError(f"{path}: no StereoSet items of type {kind!r}")
    return items


BOLD_DOMAINS = ("gender", "political_ideology", "profession", "race", "religious_ideology")


def load_bold(folder: str | Path, domains: tuple[str, ...] = BOLD_DOMAINS) -> list[BoldPrompt]:
    """BOLD (Dhamala et al. 2021) Wikipedia prefixes: `<domain>_prompt.json` = {group: {name: [prompts]}}."""
    folder = Path(folder)
    prompts = []
    for domain in domains:
        path = _require_file(folder / f"{domain}_prompt.json", f"BOLD {domain}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise FairCompressError(f"{path} line {exc.lineno}: invalid JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise FairCompressError(f"{path}: expected {{group: {{name: [prompts]}}}}")
        for group, people in data.items():
            if not isinstance(people, dict):
                raise FairCompressError(f"{path}: group {group!r} must map names to prompt lists")
            for name, texts in people.items():
                if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                    raise FairCompressError(f"{path}: {group}/{name} must be a list of prompt strings")
                for i, text in enumerate(texts):
                    if (
                        text.strip()
                    ):  # the released files hold a few empty prefixes; they cannot prompt anything
                        prompts.append(BoldPrompt(f"{domain}/{group}/{name}/{i}", domain, group, name, text))
    return prompts


def load_rtp(path: str | Path) -> list[RtpPrompt]:
    """RealToxicityPrompts JSONL, original schema ({"prompt": {"text", "toxicity", ...}, "challenging"}) or
    flat ({"text", "toxicity"})."""
    path = Path(path)
    prompts = []
    for line_no, record in _jsonl(path):
        where = f"{path} line {line_no}"
        prompt = record.get("prompt", record)
        if not isinstance(prompt, dict):
            raise FairCompressError(f"{where}: 'prompt' must be an object with a 'text' field")
        toxicity = prompt.get("toxicity")
        if toxicity is not None and not isinstance(toxicity, (int, float)):
            raise FairCompressError(f"{where}: prompt toxicity must be a number or null")
        rid = record.get("id") or (
            f"{record['filename']}:{record.get('begin')}"
            if "filename" in record
            else f"{path.stem}:{line_no}"
        )
        prompts.append(
            RtpPrompt(
                id=str(rid),
                text=_text(prompt, "text", where),
                toxicity=None if toxicity is None else float(toxicity),
                challenging=record.get("challenging"),
            )
        )
    if not prompts:
        raise FairCompressError(f"{path}: empty prompt set")
    return prompts


def load_toxigen(folder: str | Path) -> list[ToxigenStatement]:
    """ToxiGen demonstrations: `demonstrations/<axis>/{hate,neutral}_<group>[_sentences].txt`, one per line."""
    folder = Path(folder) / "demonstrations"
    files = sorted(folder.rglob("*.txt"))
    if not files:
        raise FairCompressError(f"no ToxiGen demonstration .txt files under {str(folder)!r}")
    statements = []
    for path in files:
        stem = path.stem.removesuffix("_sentences")
        label, _, group = stem.partition("_")
        if label not in ("hate", "neutral") or not group:
            raise FairCompressError(
                f"{path}: file name must be hate_<group>_sentences.txt or neutral_<group>_..."
            )
        for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            text = line.strip().lstrip("-").strip()
            if text:
                statements.append(ToxigenStatement(f"{path.stem}:{line_no}", group, label, text))
    return statements


def _flatten_descriptors(node: Any, where: str) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict) and "descriptor" in node:
        return [str(node["descriptor"])]
    if isinstance(node, dict):
        return [d for child in node.values() for d in _flatten_descriptors(child, where)]
    if isinstance(node, list):
        return [d for child in node for d in _flatten_descriptors(child, where)]
    raise FairCompressError(f"{where}: unexpected descriptor entry {node!r}")


def load_holistic_bias(folder: str | Path) -> HolisticBias:
    """HolisticBias (Smith et al. 2022): descriptors per axis, nouns per gender bucket, sentence templates."""
    folder = Path(folder)
    files = {
        n: _require_file(folder / f"{n}.json", f"HolisticBias {n}")
        for n in ("descriptors", "nouns", "sentence_templates")
    }
    loaded = {}
    for name, path in files.items():
        try:
            loaded[name] = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise FairCompressError(f"{path} line {exc.lineno}: invalid JSON ({exc.msg})") from None
    descriptors = {
        axis: _flatten_descriptors(node, f"{files['descriptors']} axis {axis}")
        for axis, node in loaded["descriptors"].items()
    }
    nouns: dict[str, list[str]] = {}
    for bucket, pairs in loaded["nouns"].items():
        if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise FairCompressError(f"{files['nouns']}: bucket {bucket!r} must hold [singular, plural] pairs")
        nouns[bucket] = [p[0] for p in pairs]
    templates = list(loaded["sentence_templates"])
    bad = [t for t in templates if "{noun_phrase}" not in t and "{plural_noun_phrase}" not in t]
    if bad:
        raise FairCompressError(
            f"{files['sentence_templates']}: template without a noun-phrase slot: {bad[0]!r}"
        )
    return HolisticBias(descriptors=descriptors, nouns=nouns, templates=templates)
