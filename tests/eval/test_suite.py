"""Suites: the shipped ones load, and unknown blocks/keys or bad values are one clear error."""

from __future__ import annotations

import pytest

from hf_fair_compress.errors import FairCompressError
from hf_fair_compress.eval.suite import BLOCK_TYPES, available_suites, load_suite, suite_from_dict


def test_shipped_suites_load_and_cover_every_block():
    assert {"quick", "standard", "full"} <= set(available_suites())
    standard = load_suite("standard")
    assert set(standard.blocks) == set(BLOCK_TYPES)
    tox = standard.blocks["toxicity"].sampling
    assert (tox.samples, tox.top_p, tox.temperature, tox.max_new_tokens) == (25, 0.9, 1.0, 20)
    quick = load_suite("quick")
    assert quick.blocks["toxicity"].dataset == "builtin" and len(quick.sha256) == 64


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"blocks": {"toxcity": {}}}, "unknown block 'toxcity'"),
        ({"blocks": {"toxicity": {"limt": 3}}}, "unknown key blocks.toxicity.'limt'"),
        ({"blocks": {"toxicity": {"sampling": {"top_p": 1.5}}}}, "0 < top_p <= 1"),
        ({"blocks": {"toxicity": {"limit": 0}}}, "limit must be >= 1"),
        ({"blocks": {"bold": {"domains": ["sports"]}}}, "unknown BOLD domain 'sports'"),
        ({"blocks": {}}, "none given"),
        ({"blocks": {"quality": {}}, "sed": 1}, "unknown key 'sed'"),
    ],
)
def test_bad_suites_are_one_clear_error(data, expected):
    with pytest.raises(FairCompressError, match=None) as info:
        suite_from_dict(data)
    assert expected in str(info.value)


def test_unknown_suite_name_lists_the_shipped_ones(tmp_path):
    with pytest.raises(FairCompressError, match="use one of .*quick"):
        load_suite("quik")
    bad = tmp_path / "s.yaml"
    bad.write_text("blocks: [\n")
    with pytest.raises(FairCompressError, match="not valid YAML"):
        load_suite(bad)
