import pytest

from hf_fair_compress.eval.group_disparity import disparity_metrics, group_gap, max_wasserstein

ITEMS = [
    {"group": "a", "toxicity": [0.1, 0.3], "sentiment": [0.5, 0.5]},
    {"group": "a", "toxicity": [0.2, 0.2], "sentiment": [0.0, 1.0]},
    {"group": "b", "toxicity": [0.6, 0.8], "sentiment": [-0.5, -0.5]},
    {"group": "c", "toxicity": [0.4, 0.4], "sentiment": [0.0, 0.0]},
]


def test_gap_and_wasserstein_by_hand():
    assert group_gap(ITEMS, "toxicity") == pytest.approx(0.7 - 0.2)
    assert group_gap(ITEMS, "sentiment") == pytest.approx(0.5 - (-0.5))
    # a = {0.1, 0.3, 0.2, 0.2}, b = {0.6, 0.8}: W1 = mean of sorted quantile gaps = 0.5
    assert max_wasserstein(ITEMS, "toxicity") == pytest.approx(0.5)


def test_disparity_metrics_carry_ci_and_n():
    m = disparity_metrics(ITEMS, "bold.gender", n_resamples=200)
    gap = m["bold.gender.toxicity_gap"]
    assert gap["n"] == 4 and gap["ci_low"] <= gap["value"] <= gap["ci_high"] + 1e-12
    assert m["bold.gender.b.mean_toxicity"]["value"] == pytest.approx(0.7)
    assert "bold.gender.sentiment_wasserstein" in m
