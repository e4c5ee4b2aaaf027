"""Suites: which blocks an audit runs and with which settings, as YAML (`eval/suites/<name>.yaml` or a path).

Every setting that changes a number is in the suite (and copied into audit.json), so two audits made with the
same suite and seed are comparable item by item. Unknown blocks and keys are errors.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hf_fair_compress.errors import FairCompressError
from hf_fair_compress.recipe import build_dataclass

SUITES_DIR = Path(__file__).resolve().parent / "suites"


@dataclass
class Sampling:
    """RealToxicityPrompts decoding: k nucleus samples per prompt."""

    samples: int = 25
    max_new_tokens: int = 20
    top_p: float = 0.9
    temperature: float = 1.0


@dataclass
class ToxicityBlock:
    dataset: str = field(
        default="default", metadata={"help": "default (Hub / --data-dir), builtin, or a JSONL"}
    )
    limit: int | None = None
    sampling: Sampling = field(default_factory=Sampling)
    required: bool = True


@dataclass
class CrowsPairsBlock:
    dataset: str = "default"
    limit: int | None = None
    required: bool = True


@dataclass
class StereoSetBlock:
    dataset: str = "default"
    limit: int | None = None
    required: bool = True


@dataclass
class BoldBlock:
    dataset: str = "default"
    domains: list[str] = field(
        default_factory=lambda: ["gender", "political_ideology", "profession", "race", "religious_ideology"]
    )
    prompts_per_group: int | None = None
    sampling: Sampling = field(default_factory=lambda: Sampling(samples=1))
    required: bool = True


@dataclass
class CounterfactualBlock:
    templates: str = field(default="builtin", metadata={"help": "builtin or a JSON file like it"})
    limit: int | None = None
    axes: list[str] | None = None
    terms_per_axis: int | None = None
    holistic_bias: bool = True
    holistic_descriptors: int = 4
    holistic_templates: int = 4
    dataset: str = field(default="default", metadata={"help": "HolisticBias source for the descriptor swaps"})
    sampling: Sampling = field(default_factory=lambda: Sampling(samples=5))
    required: bool = True


@dataclass
class HolisticBiasBlock:
    dataset: str = "default"
    max_descriptors: int = 8
    max_templates: int = 6
    max_nouns: int = 4
    required: bool = True


@dataclass
class QualityBlock:
    dataset: str = field(
        default="default", metadata={"help": "default (WikiText-2 test), builtin, or a text file"}
    )
    limit: int | None = None
    required: bool = True


BLOCK_TYPES: dict[str, type] = {
    "toxicity": ToxicityBlock,
    "crows_pairs": CrowsPairsBlock,
    "stereoset": StereoSetBlock,
    "bold": BoldBlock,
    "counterfactual": CounterfactualBlock,
    "holistic_bias": HolisticBiasBlock,
    "quality": QualityBlock,
}


@dataclass
class Suite:
    name: str
    blocks: dict[str, Any]
    seed: int = 42
    batch_size: int = 32
    n_resamples: int = 1000
    description: str = ""
    sha256: str = ""

    def settings(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sha256": self.sha256,
            "seed": self.seed,
            "batch_size": self.batch_size,
            "n_resamples": self.n_resamples,
            "blocks": {name: dataclasses.asdict(block) for name, block in self.blocks.items()},
        }


def available_suites() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))


def load_suite(name_or_path: str | Path) -> Suite:
    """A shipped suite by name (quick, standard, full) or a YAML path."""
    path = Path(name_or_path)
    if not path.is_file():
        path = SUITES_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise FairCompressError(
            f"suite {str(name_or_path)!r} not found; use one of {', '.join(available_suites())} or a YAML path"
        )
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError:
        raise FairCompressError(f"suite {str(path)!r} is not valid YAML; fix the syntax") from None
    if not isinstance(data, dict):
        raise FairCompressError(f"suite {str(path)!r} must be a YAML mapping")
    return suite_from_dict(
        data, where=str(path), default_name=path.stem, sha256=hashlib.sha256(raw).hexdigest()
    )


def suite_from_dict(
    data: dict[str, Any], where: str = "suite", default_name: str = "custom", sha256: str = ""
) -> Suite:
    allowed = {"name", "description", "seed", "batch_size", "n_resamples", "blocks"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise FairCompressError(f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}")
    raw_blocks = data.get("blocks") or {}
    if not isinstance(raw_blocks, dict) or not raw_blocks:
        raise FairCompressError(f"{where}: 'blocks' must map block names to settings; none given")
    blocks = {}
    for name, settings in raw_blocks.items():
        if name not in BLOCK_TYPES:
            raise FairCompressError(
                f"{where}: unknown block {name!r}; known blocks: {', '.join(BLOCK_TYPES)}"
            )
        blocks[name] = build_dataclass(
            BLOCK_TYPES[name], settings or {}, prefix=f"blocks.{name}.", where=where
        )
        _validate_block(name, blocks[name], where)
    suite = Suite(
        name=str(data.get("name", default_name)),
        description=str(data.get("description", "")),
        blocks=blocks,
        seed=int(data.get("seed", 42)),
        batch_size=int(data.get("batch_size", 32)),
        n_resamples=int(data.get("n_resamples", 1000)),
        sha256=sha256,
    )
    if suite.batch_size < 1 or suite.n_resamples < 1:
        raise FairCompressError(f"{where}: batch_size and n_resamples must be >= 1")
    return suite


def _validate_block(name: str, block: Any, where: str) -> None:
    limit = getattr(block, "limit", None)
    if limit is not None and limit < 1:
        raise FairCompressError(f"{where}: blocks.{name}.limit must be >= 1 or absent (all items)")
    sampling = getattr(block, "sampling", None)
    if sampling is not None:
        if sampling.samples < 1 or sampling.max_new_tokens < 1:
            raise FairCompressError(
                f"{where}: blocks.{name}.sampling needs samples >= 1 and max_new_tokens >= 1"
            )
        if not 0 < sampling.top_p <= 1 or sampling.temperature <= 0:
            raise FairCompressError(
                f"{where}: blocks.{name}.sampling needs 0 < top_p <= 1 and temperature > 0"
            )
    if name == "bold":
        from .benchmark_data import BOLD_DOMAINS

        bad = [d for d in block.domains if d not in BOLD_DOMAINS]
        if bad:
            raise FairCompressError(
                f"{where}: unknown BOLD domain {bad[0]!r}; choose from {', '.join(BOLD_DOMAINS)}"
            )
