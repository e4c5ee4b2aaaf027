"""Distillation terms as token *sums* over the positions that carry a label.

Returning sums (not means) lets the trainer divide every term by the same `num_items_in_batch`, which is what
makes the combined loss correct under gradient accumulation and data parallelism.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class DistillationTerms:
    kd: torch.Tensor  # divergence between temperature-softened distributions (not yet multiplied by T^2)
    mse: torch.Tensor  # mean squared logit difference per position
    cos: torch.Tensor  # 1 - cosine similarity of last hidden states
    tokens: torch.Tensor  # number of positions summed over


def _kl(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """KL(p || q) per position, from log-probabilities over the last dimension."""
    return (log_p.exp() * (log_p - log_q)).sum(-1)


def divergence(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    temperature: float,
    kind: str,
    beta: float = 0.5,
) -> torch.Tensor:
    """Per-position divergence between the temperature-softened teacher (t) and student (s) distributions.

    forward_kl = KL(t || s) (DistilGPT2), reverse_kl = KL(s || t) (mode seeking), jsd = generalised
    Jensen-Shannon with mixture m = beta * t + (1 - beta) * s: beta * KL(t || m) + (1 - beta) * KL(s || m).
    """
    log_s = F.log_softmax(student_logits.float() / temperature, dim=-1)
    log_t = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    if kind == "forward_kl":  # kl_div(input=log q, target=log p) = KL(p || q), one fused kernel
        return F.kl_div(log_s, log_t, reduction="none", log_target=True).sum(-1)
    if kind == "reverse_kl":
        return F.kl_div(log_t, log_s, reduction="none", log_target=True).sum(-1)
    if kind == "jsd":
        log_m = torch.logsumexp(
            torch.stack([log_t + torch.log(torch.tensor(beta)), log_s + torch.log(torch.tensor(1 - beta))]),
            dim=0,
        )
        return beta * _kl(log_t, log_m) + (1 - beta) * _kl(log_s, log_m)
    raise ValueError(f"unknown divergence {kind!r}")


def distillation_terms(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    position_mask: torch.Tensor,
    temperature: float = 2.0,
    kind: str = "forward_kl",
    beta: float = 0.5,
    student_hidden: torch.Tensor | None = None,
    teacher_hidden: torch.Tensor | None = None,
    need_mse: bool = False,
) -> DistillationTerms:
    """Sums over positions where `position_mask` is True (the positions that predict a label)."""
    mask = position_mask.bool()
    s = student_logits[mask]
    t = teacher_logits[mask].to(s.dtype)
    kd = divergence(s, t, temperature, kind, beta).sum()
    zero = kd.new_zeros(())
    mse = (s.float() - t.float()).pow(2).mean(-1).sum() if need_mse else zero
    if student_hidden is not None and teacher_hidden is not None:
        cos = (
            1 - F.cosine_similarity(student_hidden[mask].float(), teacher_hidden[mask].float(), dim=-1)
        ).sum()
    else:
        cos = zero
    return DistillationTerms(kd=kd, mse=mse, cos=cos, tokens=mask.sum())
