"""The evaluation suite (installed as `hf_fair_compress.eval`): toxicity, social bias and quality of causal LMs.

Work in progress (issue 5): benchmark data readers that validate every record, likelihood metrics
(CrowS-Pairs, StereoSet) and bootstrap statistics. Generation metrics, scorers and the audit CLI follow.
"""
