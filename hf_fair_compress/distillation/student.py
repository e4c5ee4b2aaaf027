"""Students initialised from teacher blocks (the DistilGPT2 recipe)."""

from __future__ import annotations

import copy

from torch import nn

from ..errors import FairCompressError
from ..pruning.structured import gpt2_blocks, select_layers
from ..recipe import StudentSpec


def evenly_spread_layers(n_teacher: int, n_student: int) -> list[int]:
    """First and last layer kept, the rest spread evenly: 12 -> 6 gives DistilGPT2's [0, 2, 4, 7, 9, 11]."""
    if not 1 <= n_student <= n_teacher:
        raise FairCompressError(
            f"distillation.student.n_layer must be between 1 and the teacher's {n_teacher} layers, got {n_student}"
        )
    if n_student == 1:
        return [0]
    return [int(i * (n_teacher - 1) / (n_student - 1) + 0.5) for i in range(n_student)]


def student_layers(teacher: nn.Module, spec: StudentSpec) -> list[int]:
    n_teacher = len(gpt2_blocks(teacher))
    if spec.init_from_teacher_layers is not None:
        layers = list(spec.init_from_teacher_layers)
        bad = [i for i in layers if not 0 <= i < n_teacher]
        if bad:
            raise FairCompressError(
                f"distillation.student.init_from_teacher_layers has layer {bad[0]}, but the teacher has "
                f"{n_teacher} layers (0..{n_teacher - 1})"
            )
        return layers
    if spec.n_layer is None:
        raise FairCompressError("distillation.student needs n_layer or init_from_teacher_layers")
    return evenly_spread_layers(n_teacher, spec.n_layer)


def build_student(teacher: nn.Module, spec: StudentSpec) -> tuple[nn.Module, list[int]]:
    """A copy of the teacher keeping only the chosen blocks; embeddings, positions and ln_f are copied exactly."""
    layers = student_layers(teacher, spec)
    student = copy.deepcopy(teacher)
    select_layers(student, layers)
    for p in student.parameters():
        p.requires_grad_(True)
    student.train()
    return student, layers
