"""Group disparity (BOLD protocol) as an `evaluate` measurement: per-group mean score, max - min gap of group
means, and the largest pairwise Wasserstein-1 distance, with a bootstrap that resamples prompts within groups.

    m = evaluate.load("<site-packages>/hf_fair_compress/eval/measurements/group_disparity")
    m.compute(groups=["a", "a", "b"], toxicity=[[0.1], [0.2], [0.6]], sentiment=[[0.5], [0.1], [-0.2]])
"""

import datasets
import evaluate

from hf_fair_compress.eval.group_disparity import disparity_metrics

_DESCRIPTION = (
    "Dhamala et al. (2021) style disparity of generations across demographic groups: one row per prompt "
    "with its group and the scores of its sampled continuations."
)
_CITATION = (
    "@inproceedings{dhamala2021bold, title={BOLD: Dataset and Metrics for Measuring Biases in Open-Ended "
    "Language Generation}, author={Dhamala, Jwala and others}, booktitle={FAccT}, year={2021}}"
)
_INPUTS = """
groups: the group of each prompt.
toxicity: per prompt, the toxicity scores of its samples. sentiment: optional, likewise.
prefix: metric name prefix (default "bold"). seed, n_resamples: bootstrap settings.
Returns {metric name: {value, ci_low, ci_high, n}}.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _INPUTS)
class GroupDisparity(evaluate.Measurement):
    def _info(self):
        return evaluate.MeasurementInfo(
            module_type="measurement",
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_INPUTS,
            features=datasets.Features(
                {"groups": datasets.Value("string"), "toxicity": datasets.Sequence(datasets.Value("float64"))}
            ),
        )

    def _compute(self, groups, toxicity, sentiment=None, prefix="bold", seed=0, n_resamples=1000):
        items = [{"group": g, "toxicity": list(t)} for g, t in zip(groups, toxicity, strict=True)]
        if sentiment is not None:
            for item, s in zip(items, sentiment, strict=True):
                item["sentiment"] = list(s)
        return disparity_metrics(items, prefix, seed=seed, n_resamples=n_resamples)
