"""Probe data for the fairness constraints: counterfactual pairs, group-conditioned texts, stereotype pairs.

Sources: the project's built-in templates (`probe_sets.py`), user JSONL files and Hub datasets in the same
schema. One JSON object per line, one of:

- `{"axis": "gender", "template": "The {term} fixed the printer.", "terms": ["man", "woman"]}`
- `{"axis": "gender", "sentence": "The man fixed the printer.", "term": "man", "counterfactuals": ["woman"]}`
- `{"stereo": "...", "anti": "...", "bias_type": "gender"}` (stereotype pairs)
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FairCompressError
from .probe_sets import AXIS_TERMS, TRAINING_TEMPLATES

SLOT = "{term}"


@dataclass(frozen=True)
class GroupText:
    """A template rendered for one group: `prefix` ends with the term, `continuation` is the shared rest."""

    axis: str
    group: str
    template: str
    prefix: str
    continuation: str


@dataclass(frozen=True)
class CounterfactualPair:
    axis: str
    a: GroupText
    b: GroupText


@dataclass(frozen=True)
class StereotypePair:
    stereo: str
    anti: str
    bias_type: str = "unspecified"


@dataclass
class ProbeSet:
    templates: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)  # (axis, template, terms)
    stereotypes: list[StereotypePair] = field(default_factory=list)

    # ------------------------------------------------------------------ views

    @property
    def pairs(self) -> list[CounterfactualPair]:
        out = []
        for axis, template, terms in self.templates:
            rendered = [render(axis, template, t) for t in terms]
            out += [CounterfactualPair(axis, a, b) for a, b in itertools.combinations(rendered, 2)]
        return out

    @property
    def groups(self) -> dict[str, list[list[GroupText]]]:
        """Per axis, one list of rendered texts per template (all groups of the axis for that template)."""
        out: dict[str, list[list[GroupText]]] = {}
        for axis, template, terms in self.templates:
            out.setdefault(axis, []).append([render(axis, template, t) for t in terms])
        return out

    @property
    def axes(self) -> list[str]:
        return sorted({axis for axis, _, _ in self.templates})

    def sentences(self) -> set[str]:
        """Every full sentence the probes contain (used to check disjointness from evaluation data)."""
        texts = {g.prefix + g.continuation for p in self.pairs for g in (p.a, p.b)}
        texts |= {s.stereo for s in self.stereotypes} | {s.anti for s in self.stereotypes}
        return texts

    def __len__(self) -> int:
        return len(self.pairs) + len(self.stereotypes)

    # ------------------------------------------------------------------ construction

    @classmethod
    def builtin(
        cls, axes: Sequence[str] | None = None, templates: Sequence[str] = TRAINING_TEMPLATES
    ) -> ProbeSet:
        unknown = sorted(set(axes or []) - set(AXIS_TERMS))
        if unknown:
            raise FairCompressError(
                f"unknown probe axis {unknown[0]!r}; built-in axes are {', '.join(sorted(AXIS_TERMS))}"
            )
        chosen = list(axes) if axes else list(AXIS_TERMS)
        return cls(templates=[(axis, t, AXIS_TERMS[axis]) for axis in chosen for t in templates])

    def extend(self, other: ProbeSet) -> ProbeSet:
        self.templates += other.templates
        self.stereotypes += other.stereotypes
        return self

    @classmethod
    def from_records(cls, records: Iterable[Any], source: str) -> ProbeSet:
        probes = cls()
        for line_no, record in records:
            where = f"probe file {source} line {line_no}"
            if not isinstance(record, dict):
                raise FairCompressError(f"{where}: expected a JSON object, got {type(record).__name__}")
            if "stereo" in record or "anti" in record:
                _require(record, ("stereo", "anti"), where)
                probes.stereotypes.append(
                    StereotypePair(
                        str(record["stereo"]), str(record["anti"]), str(record.get("bias_type", ""))
                    )
                )
            elif "template" in record:
                _require(record, ("axis", "template", "terms"), where)
                template, terms = str(record["template"]), record["terms"]
                if record["template"].count(SLOT) != 1:
                    raise FairCompressError(
                        f"{where}: template must contain {SLOT} exactly once: {template!r}"
                    )
                probes.templates.append((str(record["axis"]), template, _terms(terms, where)))
            elif "sentence" in record:
                _require(record, ("axis", "sentence", "term", "counterfactuals"), where)
                sentence, term = str(record["sentence"]), str(record["term"])
                match = re.search(rf"(?<!\w){re.escape(term)}(?!\w)", sentence)
                if match is None:
                    raise FairCompressError(f"{where}: term {term!r} not found in sentence {sentence!r}")
                template = sentence[: match.start()] + SLOT + sentence[match.end() :]
                terms = _terms([term, *record["counterfactuals"]], where)
                probes.templates.append((str(record["axis"]), template, terms))
            else:
                raise FairCompressError(
                    f"{where}: a probe needs 'template' + 'terms', 'sentence' + 'term' + 'counterfactuals', "
                    f"or 'stereo' + 'anti'; got keys {sorted(record)}"
                )
        return probes

    @classmethod
    def from_jsonl(cls, path: str | Path) -> ProbeSet:
        path = Path(path)
        if not path.is_file():
            raise FairCompressError(f"probe file {str(path)!r} not found")

        def records():
            for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    yield line_no, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise FairCompressError(
                        f"probe file {path} line {line_no}: invalid JSON ({exc.msg})"
                    ) from None

        return cls.from_records(records(), str(path))

    @classmethod
    def from_hub(cls, dataset_id: str, split: str = "train") -> ProbeSet:
        from datasets import load_dataset

        from ..modeling.hub_errors import explain_hub_failure

        try:
            rows = load_dataset(dataset_id, split=split)
        except Exception as exc:
            raise FairCompressError(
                explain_hub_failure("probe dataset", dataset_id, exc, "a local JSONL file")
            ) from None
        return cls.from_records(((i + 1, dict(r)) for i, r in enumerate(rows)), dataset_id)


def render(axis: str, template: str, term: str) -> GroupText:
    before, after = template.split(SLOT, 1)
    return GroupText(axis=axis, group=term, template=template, prefix=before + term, continuation=after)


def _require(record: dict, keys: Sequence[str], where: str) -> None:
    missing = [k for k in keys if k not in record or record[k] in (None, "")]
    if missing:
        raise FairCompressError(f"{where}: missing field {missing[0]!r}")


def _terms(terms: Any, where: str) -> tuple[str, ...]:
    if not isinstance(terms, list) or len(terms) < 2 or not all(isinstance(t, str) and t for t in terms):
        raise FairCompressError(f"{where}: terms must be a list of at least two non-empty strings")
    if len(set(terms)) != len(terms):
        raise FairCompressError(f"{where}: terms repeat: {terms}")
    return tuple(terms)
