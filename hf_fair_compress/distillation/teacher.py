"""Teachers are frozen: eval mode, no gradients, optionally in a lower precision."""

from __future__ import annotations

import hashlib

import torch
from torch import nn

from ..errors import FairCompressError

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def freeze_teacher(teacher: nn.Module, dtype: str | None = None) -> nn.Module:
    if dtype is not None:
        teacher = teacher.to(DTYPES[dtype])
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def check_same_vocabulary(
    teacher: nn.Module, student: nn.Module, teacher_tokenizer=None, student_tokenizer=None
):
    """Distillation compares distributions token by token, so both models must share one vocabulary."""
    tv = getattr(teacher.config, "vocab_size", None)
    sv = getattr(student.config, "vocab_size", None)
    if tv != sv:
        raise FairCompressError(
            f"teacher vocabulary ({tv} tokens) and student vocabulary ({sv} tokens) differ; "
            "distil from a teacher that uses the student's tokenizer"
        )
    both = teacher_tokenizer is not None and student_tokenizer is not None
    if both and teacher_tokenizer.get_vocab() != student_tokenizer.get_vocab():
        raise FairCompressError(
            "teacher and student tokenizers map tokens to different ids; "
            "distil from a teacher that uses the student's tokenizer"
        )


def weights_sha256(model: nn.Module) -> str:
    """A hash of the weights (names, shapes, dtypes and bytes), to record which teacher was used."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode() + str(tensor.dtype).encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
