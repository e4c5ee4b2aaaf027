"""Probe scoring: running the LM head only where the constraint looks must not change what it computes."""

import torch

from hf_fair_compress.fairness import objective
from hf_fair_compress.fairness.probes import ProbeSet


def _encoded_pairs(tokenizer, n: int = 6):
    pairs = ProbeSet.builtin().pairs[:n]
    texts = [p.a for p in pairs] + [p.b for p in pairs]
    return objective.encode(
        tokenizer, [t.prefix for t in texts], [t.continuation for t in texts], torch.device("cpu")
    )


def test_head_on_selected_positions_equals_full_logits_in_value_and_gradient(
    tiny_gpt2, embedded_tokenizer, monkeypatch
):
    enc = _encoded_pairs(embedded_tokenizer)
    assert enc.lengths.min() < enc.lengths.max() or enc.starts.min() < enc.starts.max()  # ragged rows

    def run():
        tiny_gpt2.zero_grad()
        logits, _, valid = objective.continuation_logits(tiny_gpt2, enc, extra=1)
        n = logits.shape[0] // 2
        value = (objective.LOGIT_DIVERGENCES["js"](logits[:n], logits[n:]) * valid[:n]).sum()
        value.backward()
        return logits.detach(), value.detach(), tiny_gpt2.transformer.h[0].mlp.c_fc.weight.grad.clone()

    fast = run()
    assert objective._last_hidden_and_head(tiny_gpt2, enc) is not None  # the fast path was taken
    monkeypatch.setattr(objective, "_last_hidden_and_head", lambda model, enc: None)
    full = run()
    for got, want in zip(fast, full):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    assert fast[1] > 0
