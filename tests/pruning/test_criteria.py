"""Every criterion must treat Conv1D ([in, out]) and nn.Linear ([out, in]) the same way."""

import torch
from torch import nn
from transformers.pytorch_utils import Conv1D

from hf_fair_compress.pruning import criteria, find_targets, selection
from hf_fair_compress.pruning.targets import PruneTarget


class TwoLayer(nn.Module):
    def __init__(self, first: nn.Module, second: nn.Module):
        super().__init__()
        self.first, self.second = first, second

    def forward(self, input_ids=None, labels=None, **_):
        out = self.second(torch.relu(self.first(input_ids)))
        loss = out.pow(2).mean()
        return type("Out", (), {"loss": loss})()


def _pair():
    torch.manual_seed(0)
    lin1, lin2 = nn.Linear(8, 12), nn.Linear(12, 4)
    conv1, conv2 = Conv1D(12, 8), Conv1D(4, 12)
    conv1.weight.data = lin1.weight.data.t().clone()
    conv1.bias.data = lin1.bias.data.clone()
    conv2.weight.data = lin2.weight.data.t().clone()
    conv2.bias.data = lin2.bias.data.clone()
    return TwoLayer(lin1, lin2), TwoLayer(conv1, conv2)


def _batches():
    g = torch.Generator().manual_seed(1)
    return [{"input_ids": torch.randn(3, 5, 8, generator=g)} for _ in range(2)]


def test_conv1d_and_linear_get_identical_scores_for_every_criterion():
    linear, conv = _pair()
    lt = find_targets(linear, [r"first|second"])
    ct = find_targets(conv, [r"first|second"])
    for a, b in zip(criteria.magnitude_scores(lt).values(), criteria.magnitude_scores(ct).values()):
        torch.testing.assert_close(a, b)
    ln = criteria.input_square_norms(linear, {t.name: t.module for t in lt}, _batches())
    cn = criteria.input_square_norms(conv, {t.name: t.module for t in ct}, _batches())
    for a, b in zip(criteria.wanda_scores(lt, ln).values(), criteria.wanda_scores(ct, cn).values()):
        torch.testing.assert_close(a, b)
    for a, b in zip(
        criteria.snip_scores(linear, lt, _batches()).values(),
        criteria.snip_scores(conv, ct, _batches()).values(),
    ):
        torch.testing.assert_close(a, b)


def test_wanda_weights_by_input_activation_norm():
    layer = nn.Linear(2, 1, bias=False)
    layer.weight.data = torch.tensor([[1.0, 1.0]])
    target = PruneTarget("layer", layer)
    scores = criteria.wanda_scores([target], {"layer": torch.tensor([1.0, 100.0])})["layer"]
    keep = selection.row_masks(scores, 0.5)
    assert keep.tolist() == [[False, True]], "equal weights: the input with larger activations must survive"


def test_find_targets_rejects_non_linear_modules_and_empty_matches():
    import pytest

    from hf_fair_compress import FairCompressError

    model = nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2))
    with pytest.raises(FairCompressError, match="LayerNorm"):
        find_targets(model, [r"^1$"])
    with pytest.raises(FairCompressError, match="found no module"):
        find_targets(model, [r"attn"])
