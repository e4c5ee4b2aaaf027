import csv
import json

import pytest

from hf_fair_compress import FairCompressError
from hf_fair_compress.fairness import ProbeSet
from hf_fair_compress.fairness.probe_sets import AXIS_TERMS, HELD_OUT_TEMPLATES, TRAINING_TEMPLATES

from ..conftest import SHARED

AXES = ("gender", "race_ethnicity", "religion", "sexual_orientation", "age", "disability", "nationality")
DATA = SHARED / "data"


def test_builtin_probes_cover_seven_axes_with_a_few_hundred_pairs_each():
    probes = ProbeSet.builtin()
    assert set(probes.axes) == set(AXES)
    for axis in AXES:
        n = sum(1 for p in probes.pairs if p.axis == axis)
        assert n >= 200, f"{axis}: only {n} pairs"
    pair = probes.pairs[0]
    assert pair.a.continuation == pair.b.continuation and pair.a.prefix != pair.b.prefix
    assert pair.a.prefix.endswith(pair.a.group)


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def _evaluation_sentences() -> set[str]:
    sentences: set[str] = set()
    crows = DATA / "crows_pairs" / "crows_pairs_anonymized.csv"
    if crows.is_file():
        with crows.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                sentences.update((row["sent_more"], row["sent_less"]))
    for path in (DATA / "stereoset").glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                sentences.update(v for v in record.values() if isinstance(v, str))
    for path in (DATA / "bold").glob("*_prompt.json"):
        for groups in json.loads(path.read_text(encoding="utf-8")).values():
            for prompts in groups.values():
                sentences.update(prompts)
    return {_normalise(s) for s in sentences}


def test_training_probes_are_disjoint_from_evaluation_data():
    probes = ProbeSet.builtin()
    ours = {_normalise(s) for s in probes.sentences()}
    assert not set(TRAINING_TEMPLATES) & set(HELD_OUT_TEMPLATES)
    evaluation = _evaluation_sentences()
    if not evaluation:
        pytest.skip("../shared/data not present")
    assert not ours & evaluation
    holistic = DATA / "holistic_bias" / "v1.1" / "sentence_templates.json"
    if holistic.is_file():
        hb_templates = {_normalise(t) for t in json.loads(holistic.read_text())}
        assert not {_normalise(t) for t in TRAINING_TEMPLATES} & hb_templates
    # The evaluation suite's own counterfactual templates, once it exists, must not be trained on either.
    from pathlib import Path

    for path in (Path(__file__).resolve().parents[2] / "eval").rglob("*templates*.json*"):
        text = _normalise(path.read_text(encoding="utf-8"))
        for template in TRAINING_TEMPLATES:
            assert _normalise(template.split("{term}")[1]) not in text, path


def _write(tmp_path, lines):
    path = tmp_path / "probes.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_jsonl_probe_formats(tmp_path):
    path = _write(
        tmp_path,
        [
            json.dumps(
                {
                    "axis": "gender",
                    "template": "The {term} fixed the lamp.",
                    "terms": ["man", "woman", "person"],
                }
            ),
            json.dumps(
                {
                    "axis": "age",
                    "sentence": "My grandmother planted roses.",
                    "term": "grandmother",
                    "counterfactuals": ["granddaughter"],
                }
            ),
            json.dumps({"stereo": "A sentence.", "anti": "Another sentence.", "bias_type": "gender"}),
            "",
        ],
    )
    probes = ProbeSet.from_jsonl(path)
    assert len(probes.pairs) == 3 + 1 and len(probes.stereotypes) == 1
    age = [p for p in probes.pairs if p.axis == "age"][0]
    assert age.a.prefix == "My grandmother" and age.b.prefix == "My granddaughter"
    assert age.a.continuation == " planted roses."


@pytest.mark.parametrize(
    "line, expected",
    [
        ("{not json", "line 2: invalid JSON"),
        (
            json.dumps({"axis": "x", "template": "no slot here", "terms": ["a", "b"]}),
            "line 2: template must contain",
        ),
        (json.dumps({"axis": "x", "template": "The {term}.", "terms": ["a"]}), "at least two"),
        (
            json.dumps(
                {"axis": "x", "sentence": "The man ran.", "term": "woman", "counterfactuals": ["man"]}
            ),
            "line 2: term 'woman' not found",
        ),
        (json.dumps({"stereo": "only one side"}), "line 2: missing field 'anti'"),
        (json.dumps({"what": 1}), "line 2: a probe needs"),
    ],
)
def test_malformed_probe_lines_name_file_and_line(tmp_path, line, expected):
    good = json.dumps({"axis": "gender", "template": "The {term} ran.", "terms": ["man", "woman"]})
    path = _write(tmp_path, [good, line])
    with pytest.raises(FairCompressError, match=expected) as info:
        ProbeSet.from_jsonl(path)
    assert str(path) in str(info.value)


def test_unknown_axis_and_empty_sets_are_errors(tmp_path):
    with pytest.raises(FairCompressError, match="unknown probe axis 'colour'"):
        ProbeSet.builtin(["colour"])
    from hf_fair_compress.fairness import build_probes
    from hf_fair_compress.recipe import recipe_from_dict

    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    recipe = recipe_from_dict({"fairness": {"probes": {"builtin": False, "files": [str(empty)]}}})
    with pytest.raises(FairCompressError, match="probe set is empty"):
        build_probes(recipe.fairness)
    assert set(AXIS_TERMS) == set(AXES)
