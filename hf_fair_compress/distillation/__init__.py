"""Knowledge distillation: the DistilGPT2 loss (plus reverse KL / JSD / logit MSE), teachers and students."""

from .losses import DistillationTerms, clm_and_forward_kl, distillation_terms
from .student import build_student, evenly_spread_layers
from .teacher import check_same_vocabulary, freeze_teacher, weights_sha256

__all__ = [
    "DistillationTerms",
    "build_student",
    "check_same_vocabulary",
    "clm_and_forward_kl",
    "distillation_terms",
    "evenly_spread_layers",
    "freeze_teacher",
    "weights_sha256",
]
