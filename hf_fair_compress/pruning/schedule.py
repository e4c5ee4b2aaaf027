"""Sparsity as a function of the optimizer step."""

from __future__ import annotations

from ..recipe import ScheduleSpec


def resolve_end_step(spec: ScheduleSpec, total_steps: int) -> int:
    if isinstance(spec.end_step, float):
        return max(spec.start_step, int(round(spec.end_step * total_steps)))
    return spec.end_step


def sparsity_at(step: int, target: float, spec: ScheduleSpec, total_steps: int) -> float:
    """Cubic schedule of Zhu & Gupta (2017), held constant between updates every `frequency` steps."""
    if spec.kind == "oneshot":
        return target
    start, end = spec.start_step, resolve_end_step(spec, total_steps)
    if step < start:
        return 0.0
    if step >= end or end == start:
        return target
    # Quantise to the last update point so sparsity only changes every `frequency` steps.
    step = start + ((step - start) // spec.frequency) * spec.frequency
    progress = (step - start) / (end - start)
    return target + (spec.initial_sparsity - target) * (1.0 - progress) ** 3


def is_update_step(step: int, spec: ScheduleSpec, total_steps: int) -> bool:
    """Steps at which masks are recomputed (the first one is the schedule's start)."""
    if spec.kind == "oneshot":
        return step == 0
    start, end = spec.start_step, resolve_end_step(spec, total_steps)
    if step < start or step > end:
        return False
    return step == end or (step - start) % spec.frequency == 0
