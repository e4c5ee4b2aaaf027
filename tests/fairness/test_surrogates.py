"""Surrogates against hand computations on toy distributions."""

import math

import pytest
import torch

from hf_fair_compress.fairness import jensen_shannon, margin_penalty, spread, symmetric_kl

P = [0.7, 0.2, 0.1]
Q = [0.2, 0.5, 0.3]


def _kl(p, q):
    return sum(a * math.log(a / b) for a, b in zip(p, q))


def _log(xs):
    return torch.tensor([xs]).log()


def test_symmetric_kl_by_hand():
    expected = 0.5 * (_kl(P, Q) + _kl(Q, P))
    assert symmetric_kl(_log(P), _log(Q)).item() == pytest.approx(expected, rel=1e-6)


def test_jensen_shannon_by_hand_and_bounded_by_log2():
    m = [(a + b) / 2 for a, b in zip(P, Q)]
    expected = 0.5 * (_kl(P, m) + _kl(Q, m))
    assert jensen_shannon(_log(P), _log(Q)).item() == pytest.approx(expected, rel=1e-6)
    assert jensen_shannon(_log([1 - 1e-6, 1e-6]), _log([1e-6, 1 - 1e-6])).item() <= math.log(2) + 1e-6
    assert jensen_shannon(_log(P), _log(P)).item() == pytest.approx(0.0, abs=1e-7)


def test_spread_and_margin_penalties_by_hand():
    values = torch.tensor([2.0, 3.5, 2.5])
    assert spread(values, "range").item() == pytest.approx(1.5)
    assert spread(values, "variance").item() == pytest.approx(
        ((2 - 8 / 3) ** 2 + (3.5 - 8 / 3) ** 2 + (2.5 - 8 / 3) ** 2) / 3
    )
    margin = torch.tensor([1.0, -2.0])
    assert margin_penalty(margin, "squared").item() == pytest.approx(2.5)
    assert margin_penalty(margin, "softplus").item() == pytest.approx(
        (math.log1p(math.e) + math.log1p(math.exp(-2))) / 2
    )


def test_surrogates_are_differentiable():
    logits = torch.randn(2, 5, requires_grad=True)
    log_p = torch.log_softmax(logits, -1)
    (jensen_shannon(log_p[:1], log_p[1:]) + symmetric_kl(log_p[:1], log_p[1:])).sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_fused_jensen_shannon_matches_autograd_in_value_and_gradient():
    from hf_fair_compress.fairness.surrogates import _JensenShannonFromLogits, jensen_shannon_from_logits

    torch.manual_seed(0)
    a = torch.randn(2, 30, 41, dtype=torch.float64, requires_grad=True)  # 60 rows: several chunks
    b = (a.detach() + torch.randn(2, 30, 41, dtype=torch.float64)).requires_grad_(True)
    weights = torch.rand(2, 30, dtype=torch.float64)
    assert _JensenShannonFromLogits.CHUNK < 60
    fused = (jensen_shannon_from_logits(a, b) * weights).sum()
    grads_fused = torch.autograd.grad(fused, (a, b))
    reference = (jensen_shannon(torch.log_softmax(a, -1), torch.log_softmax(b, -1)) * weights).sum()
    grads_reference = torch.autograd.grad(reference, (a, b))
    torch.testing.assert_close(fused.double(), reference, rtol=1e-5, atol=1e-7)
    for got, want in zip(grads_fused, grads_reference):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-7)
