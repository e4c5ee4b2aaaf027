"""Fairness constraints evaluated on probe batches during training, and their multipliers.

Each constraint draws a probe batch that depends only on (seed, optimizer step), so every data-parallel
rank and a resumed run see the same probes. `penalty` mode adds weight * g to the loss (Dai et al. 2023);
`lagrangian` mode keeps g <= epsilon by dual ascent: lambda <- max(0, lambda + eta * (mean g - epsilon))
every `dual_every` steps.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..errors import FairCompressError
from ..recipe import ConstraintSpec, FairnessSpec
from .probes import GroupText, ProbeSet
from .surrogates import LOGIT_DIVERGENCES, margin_penalty, spread


@dataclass
class EncodedTexts:
    input_ids: torch.Tensor  # [n, L], right-padded
    attention_mask: torch.Tensor
    starts: torch.Tensor  # index of the first continuation token in each row
    lengths: torch.Tensor  # number of continuation tokens in each row


def encode(
    tokenizer: Any, prefixes: list[str], continuations: list[str], device: torch.device
) -> EncodedTexts:
    """Tokenise prefix and continuation separately, so a continuation has the same ids after any prefix."""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    pre = tokenizer(prefixes, add_special_tokens=False)["input_ids"]
    cont = tokenizer(continuations, add_special_tokens=False)["input_ids"]
    rows = [p + c for p, c in zip(pre, cont)]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    return EncodedTexts(
        ids.to(device),
        mask.to(device),
        torch.tensor([len(p) for p in pre], device=device),
        torch.tensor([len(c) for c in cont], device=device),
    )


def _positions(enc: EncodedTexts, extra: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row, logits positions start-1 .. start+length-2+extra (those predicting the continuation,
    plus `extra` positions after it), padded to the longest row; returns (index [n, k], valid [n, k])."""
    k = int((enc.lengths + extra).max())
    offsets = torch.arange(k, device=enc.starts.device)
    index = (enc.starts - 1).unsqueeze(1) + offsets
    valid = offsets.unsqueeze(0) < (enc.lengths + extra).unsqueeze(1)
    index = index.clamp(max=enc.input_ids.shape[1] - 1) * valid
    return index, valid


# Architectures whose causal-LM logits are exactly lm_head(base_model(...).last_hidden_state): no logit scaling
# or soft-capping in between, so the head may run on the selected positions only.
_PLAIN_HEAD_MODEL_TYPES = frozenset({"gpt2", "gpt_neo", "gpt_neox", "gptj", "llama", "mistral", "qwen2"})


def _last_hidden_and_head(model: nn.Module, enc: EncodedTexts):
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    base = getattr(model, "base_model", model)
    if model_type not in _PLAIN_HEAD_MODEL_TYPES or head is None or base is model:
        return None
    hidden = base(input_ids=enc.input_ids, attention_mask=enc.attention_mask).last_hidden_state
    return hidden, head


def continuation_logits(model: nn.Module, enc: EncodedTexts, extra: int = 0):
    """Logits [n, k, vocab] at the positions that predict each continuation (plus `extra` after it).

    The 50k-token LM head is the largest single matmul of a small GPT-2, and probe rows are mostly prefix and
    padding, so where the architecture allows it the head runs only on the gathered positions."""
    index, valid = _positions(enc, extra)
    split = _last_hidden_and_head(model, enc)
    if split is None:
        logits = model(input_ids=enc.input_ids, attention_mask=enc.attention_mask).logits
        return torch.gather(logits, 1, index.unsqueeze(-1).expand(-1, -1, logits.shape[-1])), index, valid
    hidden, head = split
    picked = torch.gather(hidden, 1, index.unsqueeze(-1).expand(-1, -1, hidden.shape[-1]))
    return head(picked), index, valid


def continuation_log_probs(model: nn.Module, enc: EncodedTexts, extra: int = 0):
    logits, index, valid = continuation_logits(model, enc, extra)
    return torch.log_softmax(logits.float(), dim=-1), index, valid


def continuation_nll(model: nn.Module, enc: EncodedTexts, mean: bool = True) -> torch.Tensor:
    """Per-row NLL of the continuation tokens (mean per token, or summed)."""
    log_probs, index, valid = continuation_log_probs(model, enc)
    targets = torch.gather(enc.input_ids, 1, (index + 1).clamp(max=enc.input_ids.shape[1] - 1))
    token_lp = torch.gather(log_probs, 2, targets.unsqueeze(-1)).squeeze(-1) * valid
    total = -token_lp.sum(1)
    return total / valid.sum(1).clamp(min=1) if mean else total


class FairnessObjective:
    """All constraints of a recipe, their multipliers, and their running values."""

    def __init__(self, spec: FairnessSpec, probes: ProbeSet, tokenizer: Any, seed: int = 0):
        if tokenizer is None:
            raise FairCompressError(
                "fairness constraints need the tokenizer: pass processing_class=tokenizer"
            )
        if len(probes) == 0:
            raise FairCompressError(
                "the fairness probe set is empty; enable builtin probes or give probe files"
            )
        self.spec, self.probes, self.tokenizer, self.seed = spec, probes, tokenizer, seed
        self.lambdas = {c.label: float(c.weight) for c in spec.constraints}
        self._pending: dict[str, list[float]] = {c.label: [] for c in spec.constraints}
        self.last_values: dict[str, float] = {}
        self.dual_updates = 0
        self._pairs = {c.label: self._filter_pairs(c) for c in spec.constraints if c.type == "counterfactual"}
        self._groups = {c.label: self._filter_groups(c) for c in spec.constraints if c.type == "group_gap"}
        for c in spec.constraints:
            if c.type == "stereotype_margin" and not probes.stereotypes:
                raise FairCompressError(
                    f"constraint {c.label!r} needs stereotype pairs ({{'stereo', 'anti'}} lines in a probe file)"
                )

    def _filter_pairs(self, c: ConstraintSpec):
        pairs = [p for p in self.probes.pairs if c.axes is None or p.axis in c.axes]
        if not pairs:
            raise FairCompressError(f"constraint {c.label!r} has no counterfactual probes for axes {c.axes}")
        return pairs

    def _filter_groups(self, c: ConstraintSpec) -> list[list[GroupText]]:
        groups = [
            g for axis, lists in self.probes.groups.items() if c.axes is None or axis in c.axes for g in lists
        ]
        if not groups:
            raise FairCompressError(f"constraint {c.label!r} has no group probes for axes {c.axes}")
        return groups

    def _rng(self, step: int, label: str) -> random.Random:
        return random.Random(f"{self.seed}:{step}:{label}")

    # ------------------------------------------------------------------ values

    def values(
        self, model: nn.Module, step: int, teacher: nn.Module | None = None
    ) -> dict[str, torch.Tensor]:
        device = next(model.parameters()).device
        out = {}
        for c in self.spec.constraints:
            rng = self._rng(step, c.label)
            if c.type == "counterfactual":
                out[c.label] = self._counterfactual(model, c, rng, device)
            elif c.type == "group_gap":
                out[c.label] = self._group_gap(model, c, rng, device, teacher)
            else:
                out[c.label] = self._stereotype(model, c, rng, device)
        return out

    def _counterfactual(self, model, c, rng, device) -> torch.Tensor:
        pairs = rng.sample(self._pairs[c.label], min(self.spec.probe_batch_size, len(self._pairs[c.label])))
        texts = [p.a for p in pairs] + [p.b for p in pairs]
        enc = encode(self.tokenizer, [t.prefix for t in texts], [t.continuation for t in texts], device)
        logits, _, valid = continuation_logits(model, enc, extra=1)
        n = len(pairs)
        per_position = LOGIT_DIVERGENCES[c.divergence](logits[:n], logits[n:]) * valid[:n]
        return (per_position.sum(1) / valid[:n].sum(1).clamp(min=1)).mean()

    def _group_gap(self, model, c, rng, device, teacher) -> torch.Tensor:
        n_templates = max(1, self.spec.probe_batch_size // max(len(g) for g in self._groups[c.label]))
        chosen = rng.sample(self._groups[c.label], min(n_templates, len(self._groups[c.label])))
        axis = chosen[0][0].axis
        chosen = [g for g in chosen if g[0].axis == axis]  # one axis per step: groups are compared within it
        texts = [t for g in chosen for t in g]
        enc = encode(self.tokenizer, [t.prefix for t in texts], [t.continuation for t in texts], device)
        nll = continuation_nll(model, enc)
        if c.relative_to_teacher:
            if teacher is None:
                raise FairCompressError(
                    f"constraint {c.label!r} is relative_to_teacher but there is no teacher"
                )
            with torch.no_grad():
                nll = nll - continuation_nll(teacher, enc)
        groups = sorted({t.group for t in texts})
        index = torch.tensor([groups.index(t.group) for t in texts], device=device)
        sums = torch.zeros(len(groups), device=device).index_add(0, index, nll)
        counts = torch.zeros(len(groups), device=device).index_add(0, index, torch.ones_like(nll))
        return spread(sums / counts, c.spread)

    def _stereotype(self, model, c, rng, device) -> torch.Tensor:
        pairs = rng.sample(
            self.probes.stereotypes, min(self.spec.probe_batch_size, len(self.probes.stereotypes))
        )
        bos = self.tokenizer.eos_token or ""
        texts = [p.stereo for p in pairs] + [p.anti for p in pairs]
        enc = encode(
            self.tokenizer, [bos] * len(texts), [" " + t.strip() if bos == "" else t for t in texts], device
        )
        log_lik = -continuation_nll(model, enc, mean=False)
        n = len(pairs)
        return margin_penalty(log_lik[:n] - log_lik[n:], c.form)

    # ------------------------------------------------------------------ loss and multipliers

    def penalty(self, values: dict[str, torch.Tensor]) -> torch.Tensor:
        total = sum(self.lambdas[name] * value for name, value in values.items())
        for name, value in values.items():
            self._pending[name].append(float(value.detach()))
            self.last_values[name] = float(value.detach())
        return total

    def after_step(self, step: int) -> None:
        """Dual ascent on each multiplier (lagrangian mode), from the mean constraint value since the last update."""
        if self.spec.mode != "lagrangian" or step % self.spec.dual_every:
            return
        for c in self.spec.constraints:
            seen = self._pending[c.label]
            if seen:
                g = sum(seen) / len(seen)
                self.lambdas[c.label] = max(
                    0.0, self.lambdas[c.label] + self.spec.dual_learning_rate * (g - c.epsilon)
                )
            self._pending[c.label] = []
        self.dual_updates += 1

    def state_dict(self) -> dict[str, Any]:
        return {
            "lambdas": dict(self.lambdas),
            "pending": self._pending,
            "dual_updates": self.dual_updates,
            "last_values": self.last_values,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.lambdas.update(state.get("lambdas", {}))
        self._pending.update({k: list(v) for k, v in state.get("pending", {}).items()})
        self.dual_updates = state.get("dual_updates", 0)
        self.last_values = dict(state.get("last_values", {}))

    def report(self) -> dict[str, Any]:
        return {
            "mode": self.spec.mode,
            "fairness_in": self.spec.fairness_in,
            "dual_updates": self.dual_updates,
            "constraints": {
                c.label: {
                    "type": c.type,
                    "final_value": self.last_values.get(c.label),
                    "lambda": self.lambdas[c.label],
                    "epsilon": c.epsilon,
                    "satisfied": None
                    if c.label not in self.last_values
                    else self.last_values[c.label] <= c.epsilon,
                }
                for c in self.spec.constraints
            },
        }


@torch.no_grad()
def counterfactual_gap(
    model: nn.Module, tokenizer: Any, probes: ProbeSet, divergence: str = "js", batch_size: int = 64
) -> float:
    """Mean divergence over *all* counterfactual pairs of a probe set (an evaluation, not a training term)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    pairs, total = probes.pairs, 0.0
    try:
        for i in range(0, len(pairs), batch_size):
            chunk = pairs[i : i + batch_size]
            texts = [p.a for p in chunk] + [p.b for p in chunk]
            enc = encode(tokenizer, [t.prefix for t in texts], [t.continuation for t in texts], device)
            logits, _, valid = continuation_logits(model, enc, extra=1)
            n = len(chunk)
            per_position = LOGIT_DIVERGENCES[divergence](logits[:n], logits[n:]) * valid[:n]
            total += float((per_position.sum(1) / valid[:n].sum(1).clamp(min=1)).sum())
    finally:
        model.train(was_training)
    return total / len(pairs)


def build_probes(spec: FairnessSpec) -> ProbeSet:
    probes = ProbeSet.builtin(spec.probes.axes) if spec.probes.builtin else ProbeSet()
    for path in spec.probes.files:
        probes.extend(ProbeSet.from_jsonl(path))
    for dataset_id in spec.probes.hub:
        probes.extend(ProbeSet.from_hub(dataset_id))
    if len(probes) == 0:
        raise FairCompressError("the fairness probe set is empty; the probe files hold no probes")
    return probes
