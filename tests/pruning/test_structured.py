import torch

from hf_fair_compress.pruning import masking, structured

from ..conftest import make_tiny_gpt2


def test_shrinking_mlp_equals_zeroing_the_removed_neurons():
    model = make_tiny_gpt2(seed=0).eval()
    ids = torch.randint(1, 500, (2, 10))
    keep = [torch.topk(structured.mlp_neuron_scores(b), 64).indices for b in model.transformer.h]
    reference = make_tiny_gpt2(seed=0).eval()
    with torch.no_grad():
        for block, k in zip(reference.transformer.h, keep):
            dropped = torch.ones(128, dtype=torch.bool)
            dropped[k] = False
            block.mlp.c_proj.weight[dropped, :] = 0  # a neuron removed = its output row gone
        expected = reference(ids).logits
        structured.shrink_mlp(model, keep)
        got = model(ids).logits
    assert model.config.n_inner == 64
    assert model.transformer.h[0].mlp.c_fc.weight.shape == (32, 64)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_masked_head_contributes_nothing():
    model = make_tiny_gpt2(seed=0).eval()
    block = model.transformer.h[0]
    structured.mask_heads(block, n_head=4, heads=[1])
    masking.apply_masks(model)
    scores = structured.head_scores(block, 4)
    assert scores[1] == 0 and torch.all(scores[[0, 2, 3]] > 0)
    assert torch.all(block.attn.c_attn.bias[torch.tensor([8, 40, 72])] == 0)


def test_select_layers_renumbers_blocks():
    model = make_tiny_gpt2(n_layer=4, seed=0)
    third = model.transformer.h[3].mlp.c_fc.weight.detach().clone()
    structured.select_layers(model, [0, 3])
    assert model.config.n_layer == 2
    assert [b.attn.layer_idx for b in model.transformer.h] == [0, 1]
    torch.testing.assert_close(model.transformer.h[1].mlp.c_fc.weight, third)
    out = model.generate(torch.tensor([[1, 2, 3]]), max_new_tokens=3, do_sample=False)
    assert out.shape == (1, 6)
