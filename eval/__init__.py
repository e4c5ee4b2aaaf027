"""The evaluation suite (installed as `hf_fair_compress.eval`): toxicity, social bias and quality of causal LMs.

Work in progress (issue 5): so far the loaders of the benchmark data sets, each validating every record.
"""
