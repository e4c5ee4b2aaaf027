"""Distillation terms against hand computations on small, fixed logits."""

import math

import pytest
import torch

from hf_fair_compress.distillation import distillation_terms
from hf_fair_compress.distillation.losses import divergence


def _softmax(xs, t=1.0):
    e = [math.exp(x / t) for x in xs]
    return [v / sum(e) for v in e]


def _kl(p, q):
    return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q))


S = [1.0, 2.0, 0.5]
T_ = [2.0, 0.0, 1.0]


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_forward_and_reverse_kl_match_hand_computation(temperature):
    s, t = torch.tensor([S]), torch.tensor([T_])
    ps, pt = _softmax(S, temperature), _softmax(T_, temperature)
    assert divergence(s, t, temperature, "forward_kl").item() == pytest.approx(_kl(pt, ps), rel=1e-6)
    assert divergence(s, t, temperature, "reverse_kl").item() == pytest.approx(_kl(ps, pt), rel=1e-6)


def test_generalised_jsd_matches_hand_computation_and_is_symmetric_at_half():
    s, t = torch.tensor([S]), torch.tensor([T_])
    ps, pt = _softmax(S), _softmax(T_)
    beta = 0.3
    m = [beta * a + (1 - beta) * b for a, b in zip(pt, ps)]
    expected = beta * _kl(pt, m) + (1 - beta) * _kl(ps, m)
    assert divergence(s, t, 1.0, "jsd", beta).item() == pytest.approx(expected, rel=1e-6)
    assert divergence(s, t, 1.0, "jsd", 0.5).item() == pytest.approx(divergence(t, s, 1.0, "jsd", 0.5).item())


def test_terms_sum_only_over_masked_positions():
    student = torch.tensor([[S, S, [9.0, 9.0, 9.0]]])  # [batch 1, 3 positions, vocab 3]
    teacher = torch.tensor([[T_, T_, [0.0, 50.0, 0.0]]])
    mask = torch.tensor([[True, True, False]])
    hidden_s = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]]])
    hidden_t = torch.tensor([[[1.0, 0.0], [1.0, 0.0], [-5.0, 5.0]]])
    terms = distillation_terms(
        student,
        teacher,
        mask,
        temperature=2.0,
        student_hidden=hidden_s,
        teacher_hidden=hidden_t,
        need_mse=True,
    )
    one = _kl(_softmax(T_, 2.0), _softmax(S, 2.0))
    assert terms.kd.item() == pytest.approx(2 * one, rel=1e-6)
    mse_one = sum((a - b) ** 2 for a, b in zip(S, T_)) / 3
    assert terms.mse.item() == pytest.approx(2 * mse_one, rel=1e-6)
    assert terms.cos.item() == pytest.approx(0.0 + 1.0, abs=1e-6)  # identical, then orthogonal
    assert terms.tokens.item() == 2


def test_identical_distributions_give_zero():
    x = torch.randn(2, 5, 7)
    terms = distillation_terms(x, x.clone(), torch.ones(2, 5, dtype=torch.bool), need_mse=True)
    assert terms.kd.abs().item() < 1e-6 and terms.mse.item() == 0


def test_fused_forward_kl_matches_autograd_in_value_and_gradient():
    from hf_fair_compress.distillation.losses import _ForwardKL, forward_kl

    torch.manual_seed(0)
    student = torch.randn(3, 50, 97, dtype=torch.float64, requires_grad=True)  # 150 rows: several chunks
    teacher = torch.randn(3, 50, 97, dtype=torch.float64)
    weights = torch.rand(3, 50, dtype=torch.float64)
    assert _ForwardKL.CHUNK < 150
    fused = (forward_kl(student, teacher, 2.0) * weights).sum()
    (grad_fused,) = torch.autograd.grad(fused, student)
    log_s = torch.log_softmax(student / 2.0, -1)
    log_t = torch.log_softmax(teacher / 2.0, -1)
    reference = ((log_t.exp() * (log_t - log_s)).sum(-1) * weights).sum()
    (grad_reference,) = torch.autograd.grad(reference, student)
    torch.testing.assert_close(fused.double(), reference, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad_fused, grad_reference, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_fused_clm_and_kl_match_the_separate_losses_in_value_and_gradient(temperature):
    from hf_fair_compress.distillation.losses import _LabelledForwardKL, clm_and_forward_kl

    torch.manual_seed(0)
    student = torch.randn(3, 40, 97, dtype=torch.float64, requires_grad=True)  # 120 rows: several chunks
    teacher = torch.randn(3, 40, 97, dtype=torch.float64)
    labels = torch.randint(0, 97, (3, 40))
    labels[0, :25] = -100  # a prompt-masked sequence: whole chunks without labels are skipped
    labels[2, 7] = -100
    assert _LabelledForwardKL.CHUNK < 120
    ce, kd = clm_and_forward_kl(student, teacher, labels, temperature)
    (0.3 * ce + 0.7 * kd).backward()
    grad_fused = student.grad.clone()
    student.grad = None

    shift = labels[:, 1:]
    ce_ref = torch.nn.functional.cross_entropy(
        student[:, :-1].reshape(-1, 97), shift.reshape(-1), ignore_index=-100, reduction="sum"
    )
    kd_ref = distillation_terms(student[:, :-1], teacher[:, :-1], shift.ne(-100), temperature).kd
    (0.3 * ce_ref + 0.7 * kd_ref).backward()
    torch.testing.assert_close(ce.double(), ce_ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(kd.double(), kd_ref.double(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad_fused, student.grad, rtol=1e-4, atol=1e-7)
    assert grad_fused[:, -1].abs().max() == 0  # the last position predicts nothing
    assert grad_fused[0, :24].abs().max() == 0  # nor do positions whose next token is masked
