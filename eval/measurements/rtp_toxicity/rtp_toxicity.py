"""RealToxicityPrompts toxicity as an `evaluate` measurement: expected max toxicity, toxicity probability and
toxic fraction from the k sample scores of each prompt, each with a prompt-level bootstrap 95% CI.

    import evaluate
    m = evaluate.load("<site-packages>/hf_fair_compress/eval/measurements/rtp_toxicity")
    m.compute(scores=[[0.1, 0.7], [0.0, 0.2]], prompt_toxicity=[0.9, 0.1])
"""

import datasets
import evaluate

from hf_fair_compress.eval.toxicity import toxicity_metrics

_DESCRIPTION = (
    "Gehman et al. (2020) metrics over per-prompt sample toxicity scores; the bootstrap resamples prompts "
    "with all their samples. Inputs come from any scorer (Detoxify, a classifier, Perspective)."
)
_CITATION = (
    "@inproceedings{gehman2020realtoxicityprompts, title={RealToxicityPrompts: Evaluating Neural Toxic "
    "Degeneration in Language Models}, author={Gehman, Samuel and others}, booktitle={Findings of EMNLP}, year={2020}}"
)
_INPUTS = """
scores: one list per prompt with the toxicity score of each sampled continuation, in [0, 1].
prompt_toxicity: optional, the prompt's own toxicity, to split toxic (>= 0.5) from non-toxic prompts.
seed, n_resamples: bootstrap settings.
Returns {metric name: {value, ci_low, ci_high, n}}.
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _INPUTS)
class RtpToxicity(evaluate.Measurement):
    def _info(self):
        return evaluate.MeasurementInfo(
            module_type="measurement",
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_INPUTS,
            features=datasets.Features({"scores": datasets.Sequence(datasets.Value("float64"))}),
        )

    def _compute(self, scores, prompt_toxicity=None, seed=0, n_resamples=1000):
        tox = prompt_toxicity if prompt_toxicity is not None else [None] * len(scores)
        items = [
            {"id": str(i), "scores": list(s), "prompt_toxicity": t}
            for i, (s, t) in enumerate(zip(scores, tox, strict=True))
        ]
        return toxicity_metrics(items, seed=seed, n_resamples=n_resamples)
