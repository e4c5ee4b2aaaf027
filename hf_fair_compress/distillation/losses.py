"""Distillation terms as token *sums* over the positions that carry a label.

Returning sums (not means) lets the trainer divide every term by the same `num_items_in_batch`, which is what
makes the combined loss correct under gradient accumulation and data parallelism.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..vocab_chunks import rows_per_chunk


@dataclass
class DistillationTerms:
    kd: torch.Tensor  # divergence between temperature-softened distributions (not yet multiplied by T^2)
    mse: torch.Tensor  # mean squared logit difference per position
    cos: torch.Tensor  # 1 - cosine similarity of last hidden states
    tokens: torch.Tensor  # number of positions summed over


class _ForwardKL(torch.autograd.Function):
    """KL(softmax(t/T) || softmax(s/T)) per row, with the gradient (softmax(s/T) - softmax(t/T)) / T written out.

    Autograd through log_softmax + kl_div makes about a dozen passes over [rows, vocab] float tensors and keeps
    several of them alive; this does the work in row chunks that stay in cache and recomputes the softmaxes
    in backward instead of storing them. Same values and gradients, far less memory traffic.
    """

    CHUNK = 16  # rows per chunk on CPU: 16 x 50257 floats stay in cache; measured 2.4x faster than autograd

    @staticmethod
    def forward(ctx, student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
        out = torch.empty(student.shape[0], dtype=torch.float32, device=student.device)
        chunk = rows_per_chunk(student, _ForwardKL.CHUNK)
        for i in range(0, student.shape[0], chunk):
            log_s = torch.log_softmax(student[i : i + chunk].float() / temperature, dim=-1)
            log_t = torch.log_softmax(teacher[i : i + chunk].float() / temperature, dim=-1)
            out[i : i + chunk] = (log_t.exp() * (log_t - log_s)).sum(-1)
        ctx.save_for_backward(student, teacher)
        ctx.temperature = temperature
        return out

    @staticmethod
    def backward(ctx, grad_rows: torch.Tensor):
        student, teacher = ctx.saved_tensors
        t = ctx.temperature
        grad = torch.empty_like(student)
        chunk = rows_per_chunk(student, _ForwardKL.CHUNK)
        for i in range(0, student.shape[0], chunk):
            p_s = torch.softmax(student[i : i + chunk].float() / t, dim=-1)
            p_t = torch.softmax(teacher[i : i + chunk].float() / t, dim=-1)
            scale = (grad_rows[i : i + chunk] / t).unsqueeze(-1)
            grad[i : i + chunk] = ((p_s - p_t) * scale).to(student.dtype)
        return grad, None, None


def forward_kl(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Per-position KL(teacher || student) at a temperature, for any leading shape."""
    vocab = student_logits.shape[-1]
    rows = _ForwardKL.apply(
        student_logits.reshape(-1, vocab), teacher_logits.detach().reshape(-1, vocab), float(temperature)
    )
    return rows.view(student_logits.shape[:-1])


class _LabelledForwardKL(torch.autograd.Function):
    """Next-token cross-entropy and KL(teacher || student) summed over labelled rows, in one pass over the logits.

    The DistilGPT2 loss reads the same [rows, vocab] student logits twice (once for the CE on labels, once for the
    KL against the teacher), and each read through autograd copies the shifted, masked logits first. Here both
    terms come from one chunked sweep over the unshifted, contiguous logits: rows without a label weigh zero,
    the softmaxes are recomputed in backward, and the gradient of both terms is written once.
    """

    CHUNK = 16

    @staticmethod
    def forward(ctx, student, teacher, targets, temperature):
        valid = targets.ne(-100)
        safe = targets.clamp(min=0).unsqueeze(-1)
        ce = student.new_zeros((), dtype=torch.float32)
        kd = student.new_zeros((), dtype=torch.float32)
        chunk = rows_per_chunk(student, _LabelledForwardKL.CHUNK)
        on_cpu = student.device.type == "cpu"  # skipping label-free chunks would sync an accelerator
        for i in range(0, student.shape[0], chunk):
            rows = valid[i : i + chunk]
            if on_cpu and not bool(rows.any()):
                continue
            s = student[i : i + chunk].float()
            t = teacher[i : i + chunk].float()
            weight = rows.float()
            nll = torch.logsumexp(s, -1) - s.gather(-1, safe[i : i + chunk]).squeeze(-1)
            ce = ce + (nll * weight).sum()
            log_s = torch.log_softmax(s / temperature, dim=-1)
            log_t = torch.log_softmax(t / temperature, dim=-1)
            kd = kd + ((log_t.exp() * (log_t - log_s)).sum(-1) * weight).sum()
        ctx.save_for_backward(student, teacher, targets)
        ctx.temperature = temperature
        return ce, kd

    @staticmethod
    def backward(ctx, grad_ce, grad_kd):
        student, teacher, targets = ctx.saved_tensors
        t_ = ctx.temperature
        valid = targets.ne(-100)
        safe = targets.clamp(min=0).unsqueeze(-1)
        grad = torch.empty_like(student)
        chunk = rows_per_chunk(student, _LabelledForwardKL.CHUNK)
        on_cpu = student.device.type == "cpu"  # skipping label-free chunks would sync an accelerator
        for i in range(0, student.shape[0], chunk):
            rows = valid[i : i + chunk]
            if on_cpu and not bool(rows.any()):
                grad[i : i + chunk] = 0
                continue
            s = student[i : i + chunk].float()
            p = torch.softmax(s, dim=-1).mul_(grad_ce)
            p.scatter_add_(-1, safe[i : i + chunk], (-grad_ce).expand(s.shape[0], 1).float())
            p_s = torch.softmax(s / t_, dim=-1)
            p_t = torch.softmax(teacher[i : i + chunk].float() / t_, dim=-1)
            p.add_((p_s - p_t).mul_(grad_kd / t_))
            grad[i : i + chunk] = (p * rows.unsqueeze(-1)).to(student.dtype)
        return grad, None, None, None


def clm_and_forward_kl(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor, temperature: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(cross-entropy sum, KL(teacher || student) sum) over the positions whose next token carries a label.

    Takes the model's unshifted logits [batch, seq, vocab] and labels [batch, seq] (-100 = ignore), like the
    causal-LM loss of transformers; the last position of each sequence predicts nothing.
    """
    vocab = student_logits.shape[-1]
    targets = F.pad(labels[:, 1:], (0, 1), value=-100).reshape(-1)
    return _LabelledForwardKL.apply(
        student_logits.reshape(-1, vocab),
        teacher_logits.detach().reshape(-1, vocab),
        targets,
        float(temperature),
    )


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
    if kind == "forward_kl":
        return forward_kl(student_logits, teacher_logits, temperature)
    log_s = F.log_softmax(student_logits.float() / temperature, dim=-1)
    log_t = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
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
    need_kd: bool = True,
) -> DistillationTerms:
    """Sums over positions where `position_mask` is True (the positions that predict a label).

    `need_kd=False` leaves `kd` at zero for callers that computed it with `clm_and_forward_kl`.
    """
    mask = position_mask.bool()
    zero = student_logits.new_zeros((), dtype=torch.float32)
    kd = mse = zero
    if need_kd or need_mse:
        s = student_logits[mask]
        t = teacher_logits[mask].to(s.dtype)
        if need_kd:
            kd = divergence(s, t, temperature, kind, beta).sum()
        if need_mse:
            mse = (s.float() - t.float()).pow(2).mean(-1).sum()
    if student_hidden is not None and teacher_hidden is not None:
        cos = (
            1 - F.cosine_similarity(student_hidden[mask].float(), teacher_hidden[mask].float(), dim=-1)
        ).sum()
    else:
        cos = zero
    return DistillationTerms(kd=kd, mse=mse, cos=cos, tokens=mask.sum())
