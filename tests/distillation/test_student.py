import pytest
import torch

from hf_fair_compress import FairCompressError
from hf_fair_compress.distillation import build_student, evenly_spread_layers
from hf_fair_compress.recipe import StudentSpec

from ..conftest import make_tiny_gpt2


def test_even_spread_reproduces_distilgpt2():
    assert evenly_spread_layers(12, 6) == [0, 2, 4, 7, 9, 11]
    assert evenly_spread_layers(4, 2) == [0, 3]
    assert evenly_spread_layers(5, 1) == [0]


def test_student_copies_embeddings_ln_f_and_chosen_blocks_exactly():
    teacher = make_tiny_gpt2(n_layer=12, seed=0)
    student, layers = build_student(
        teacher, StudentSpec(n_layer=6, init_from_teacher_layers=[0, 2, 4, 7, 9, 11])
    )
    assert layers == [0, 2, 4, 7, 9, 11] and student.config.n_layer == 6
    t, s = teacher.state_dict(), student.state_dict()
    for name in (
        "transformer.wte.weight",
        "transformer.wpe.weight",
        "transformer.ln_f.weight",
        "transformer.ln_f.bias",
    ):
        assert torch.equal(s[name], t[name])
    for new, old in enumerate(layers):
        for key in [k for k in t if k.startswith(f"transformer.h.{old}.")]:
            assert torch.equal(s[key.replace(f"h.{old}.", f"h.{new}.", 1)], t[key])
    assert teacher.config.n_layer == 12, "building a student must not touch the teacher"
    assert student.transformer.wte.weight.data_ptr() != teacher.transformer.wte.weight.data_ptr()


@pytest.mark.parametrize("layers", [[0, 12], [0, -1]])
def test_out_of_range_layers_are_clear_errors(layers):
    with pytest.raises(FairCompressError, match="teacher has 12 layers"):
        build_student(make_tiny_gpt2(n_layer=12), StudentSpec(init_from_teacher_layers=layers))
