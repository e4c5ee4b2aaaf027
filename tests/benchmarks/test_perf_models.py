"""perf.py compares against models built by the project's own structured pruning and student builder."""

from __future__ import annotations

import sys

from ..conftest import REPO

sys.path.insert(0, str(REPO))


def test_latency_models_are_what_the_targets_name():
    from benchmarks import perf

    dense, variants = perf._models(quick=True)
    pruned, student = variants["mlp_neurons_50"], variants["student_6_of_12"]
    width = dense.transformer.h[0].mlp.c_fc.weight.shape[1]
    assert all(block.mlp.c_fc.weight.shape[1] == width // 2 for block in pruned.transformer.h)
    assert pruned.config.n_inner == width // 2, "the config must say the new width so the model reloads"
    assert student.config.n_layer == dense.config.n_layer // 2
    assert perf._latency(student, 1, 16, full_logits=False, repeats=1)[0] > 0
