import pytest
import torch

from hf_fair_compress.pruning import selection
from hf_fair_compress.pruning.schedule import is_update_step, sparsity_at
from hf_fair_compress.recipe import ScheduleSpec


def test_keep_top_k_is_exact_even_with_ties():
    scores = torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 0.0, 3.0])
    keep = selection.keep_top_k(scores, 5)
    assert int(keep.sum()) == 5
    assert keep[[4, 5, 7]].all()
    assert torch.equal(keep, selection.keep_top_k(scores, 5)), "tie-breaking must be deterministic"


@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.5, 0.9])
def test_layerwise_and_global_masks_hit_the_requested_sparsity(sparsity):
    g = torch.Generator().manual_seed(0)
    scores = {"a": torch.rand(30, 20, generator=g), "b": torch.rand(10, 50, generator=g) * 10}
    layer = selection.layerwise_masks(scores, sparsity)
    for name, s in scores.items():
        assert int((~layer[name]).sum()) == round(sparsity * s.numel())
    glob = selection.global_masks(scores, sparsity)
    total = sum(s.numel() for s in scores.values())
    assert int(sum((~m).sum() for m in glob.values())) == round(sparsity * total)
    if 0 < sparsity < 0.9:  # 'b' is scaled up, so the global ranking prunes 'a' harder
        assert (~glob["a"]).float().mean() > (~glob["b"]).float().mean()


def test_row_masks_prune_the_same_fraction_of_every_row():
    scores = torch.rand(7, 40)
    keep = selection.row_masks(scores, 0.25)
    assert torch.all(keep.sum(1) == 30)
    # within a row the kept entries are the largest ones
    for row, k in zip(scores, keep):
        assert row[k].min() >= row[~k].max()


def test_n_m_masks_keep_n_per_group():
    scores = torch.rand(5, 16)
    keep = selection.n_m_masks(scores, 2, 4)
    assert torch.all(keep.reshape(5, 4, 4).sum(-1) == 2)
    with pytest.raises(ValueError):
        selection.n_m_masks(torch.rand(2, 6), 2, 4)


def test_cubic_schedule_matches_zhu_and_gupta():
    spec = ScheduleSpec(kind="cubic", start_step=10, end_step=50, frequency=10, initial_sparsity=0.0)
    assert sparsity_at(5, 0.8, spec, 100) == 0.0
    assert sparsity_at(10, 0.8, spec, 100) == pytest.approx(0.0)
    assert sparsity_at(30, 0.8, spec, 100) == pytest.approx(0.8 * (1 - (1 - 0.5) ** 3))
    assert sparsity_at(35, 0.8, spec, 100) == sparsity_at(30, 0.8, spec, 100)  # held between updates
    assert sparsity_at(50, 0.8, spec, 100) == pytest.approx(0.8)
    assert sparsity_at(99, 0.8, spec, 100) == pytest.approx(0.8)
    assert [s for s in range(100) if is_update_step(s, spec, 100)] == [10, 20, 30, 40, 50]
    values = [sparsity_at(s, 0.8, spec, 100) for s in range(100)]
    assert values == sorted(values), "sparsity never decreases"


def test_fractional_end_step_scales_with_run_length():
    spec = ScheduleSpec(kind="cubic", start_step=0, end_step=0.5, frequency=1)
    assert sparsity_at(50, 0.6, spec, 100) == pytest.approx(0.6)
    assert sparsity_at(50, 0.6, spec, 200) < 0.6


@pytest.mark.parametrize("k_fraction", [0.001, 0.3, 0.5, 0.97, 1.0])
def test_fast_kth_smallest_equals_kthvalue_on_large_tensors(k_fraction):
    g = torch.Generator().manual_seed(1)
    flat = torch.randn(3_000_000, generator=g)
    flat[:500_000] = 0.0  # a block of ties, like weights pruned earlier
    k = max(1, int(k_fraction * flat.numel()))
    assert selection.kth_smallest(flat, k) == torch.kthvalue(flat, k).values
    keep = selection.keep_top_k(flat, flat.numel() - k)
    assert int(keep.sum()) == flat.numel() - k
