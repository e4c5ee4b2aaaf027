"""Differentiable fairness surrogates on log-probabilities (pure functions, checked by hand in tests)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def kl(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """KL(p || q) over the last dimension."""
    return F.kl_div(log_q, log_p, reduction="none", log_target=True).sum(-1)


def symmetric_kl(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    return 0.5 * (kl(log_p, log_q) + kl(log_q, log_p))


def jensen_shannon(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    log_m = torch.logaddexp(log_p, log_q) - torch.log(torch.tensor(2.0, device=log_p.device))
    return 0.5 * (kl(log_p, log_m) + kl(log_q, log_m))


DIVERGENCES = {"js": jensen_shannon, "symmetric_kl": symmetric_kl}


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
