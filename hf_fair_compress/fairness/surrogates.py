"""Differentiable fairness surrogates on log-probabilities (pure functions, checked by hand in tests)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..vocab_chunks import rows_per_chunk


def kl(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """KL(p || q) over the last dimension."""
    return F.kl_div(log_q, log_p, reduction="none", log_target=True).sum(-1)


def symmetric_kl(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    return 0.5 * (kl(log_p, log_q) + kl(log_q, log_p))


def jensen_shannon(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    log_m = torch.logaddexp(log_p, log_q) - torch.log(torch.tensor(2.0, device=log_p.device))
    return 0.5 * (kl(log_p, log_m) + kl(log_q, log_m))


DIVERGENCES = {"js": jensen_shannon, "symmetric_kl": symmetric_kl}

_LOG2 = 0.6931471805599453


class _JensenShannonFromLogits(torch.autograd.Function):
    """Per-row JS(softmax(a), softmax(b)) with its gradient written out, in row chunks that stay in cache.

    The counterfactual constraint compares two full-vocabulary distributions per position; through autograd,
    log_softmax + logaddexp + two kl_div calls make about fifteen passes over [rows, vocab] tensors and keep
    several alive for backward. Here the softmaxes are recomputed in backward from the logits, and
    dJS/da = p * (h - sum(p * h)) with h = (log p - log m) / 2 (and the same for b with q).
    """

    CHUNK = 16

    @staticmethod
    def forward(ctx, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        out = torch.empty(a.shape[0], dtype=torch.float32, device=a.device)
        chunk = rows_per_chunk(a, _JensenShannonFromLogits.CHUNK)
        for i in range(0, a.shape[0], chunk):
            log_p = torch.log_softmax(a[i : i + chunk].float(), dim=-1)
            log_q = torch.log_softmax(b[i : i + chunk].float(), dim=-1)
            log_m = torch.logaddexp(log_p, log_q) - _LOG2
            out[i : i + chunk] = 0.5 * (
                (log_p.exp() * (log_p - log_m)).sum(-1) + (log_q.exp() * (log_q - log_m)).sum(-1)
            )
        ctx.save_for_backward(a, b)
        return out

    @staticmethod
    def backward(ctx, grad_rows: torch.Tensor):
        a, b = ctx.saved_tensors
        grad_a, grad_b = torch.empty_like(a), torch.empty_like(b)
        chunk = rows_per_chunk(a, _JensenShannonFromLogits.CHUNK)
        for i in range(0, a.shape[0], chunk):
            log_p = torch.log_softmax(a[i : i + chunk].float(), dim=-1)
            log_q = torch.log_softmax(b[i : i + chunk].float(), dim=-1)
            log_m = torch.logaddexp(log_p, log_q) - _LOG2
            g = grad_rows[i : i + chunk].float().unsqueeze(-1)
            for log_x, grad in ((log_p, grad_a), (log_q, grad_b)):
                x = log_x.exp()
                h = (log_x - log_m).mul_(0.5)
                h.sub_((x * h).sum(-1, keepdim=True)).mul_(x).mul_(g)
                grad[i : i + chunk] = h.to(grad.dtype)
        return grad_a, grad_b


def jensen_shannon_from_logits(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """JS(softmax(a) || softmax(b)) over the last dimension, for any leading shape (fused; see above)."""
    vocab = a.shape[-1]
    rows = _JensenShannonFromLogits.apply(a.reshape(-1, vocab), b.reshape(-1, vocab))
    return rows.view(a.shape[:-1])


def symmetric_kl_from_logits(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return symmetric_kl(F.log_softmax(a.float(), dim=-1), F.log_softmax(b.float(), dim=-1))


LOGIT_DIVERGENCES = {"js": jensen_shannon_from_logits, "symmetric_kl": symmetric_kl_from_logits}


def spread(values: torch.Tensor, kind: str = "range") -> torch.Tensor:
    """How unequal a vector of per-group values is: max - min, or the (population) variance."""
    if kind == "range":
        return values.max() - values.min()
    if kind == "variance":
        return values.var(unbiased=False)
    raise ValueError(f"unknown spread {kind!r}")


def margin_penalty(margin: torch.Tensor, form: str = "squared") -> torch.Tensor:
    """Penalty on log p(stereotype) - log p(anti-stereotype): squared, or softplus (only the stereotyped side)."""
    if form == "squared":
        return margin.pow(2).mean()
    if form == "softplus":
        return F.softplus(margin).mean()
    raise ValueError(f"unknown margin form {form!r}")
