"""Recipes: a compression run described as data (YAML), validated before anything is loaded or written.

A recipe has up to three sections: `pruning` (what to remove and when), `distillation` (optional teacher
signal) and `training` (defaults for any `FairCompressConfig` / `TrainingArguments` field, overridable from the
command line). Unknown keys are errors, because a typo in a recipe otherwise silently runs the wrong experiment.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from .errors import FairCompressError

PRUNING_METHODS = (
    "none",
    "magnitude",
    "gradual_magnitude",
    "wanda",
    "snip",
    "movement",
    "mlp_neurons",
    "attention_heads",
    "layers",
    "bilevel_fair",
)
UNSTRUCTURED_METHODS = ("magnitude", "gradual_magnitude", "wanda", "snip", "movement", "bilevel_fair")
SCORED_METHODS = ("movement", "bilevel_fair")
SCHEDULE_KINDS = ("oneshot", "cubic")
SCOPES = ("layer", "global")
DIVERGENCES = ("forward_kl", "reverse_kl", "jsd")
TEACHER_DTYPES = ("float32", "float16", "bfloat16")

# The four projections of every GPT-2 block; embeddings, layer norms and lm_head stay dense by default.
DEFAULT_TARGETS = (
    r"(^|\.)h\.\d+\.attn\.c_attn$",
    r"(^|\.)h\.\d+\.attn\.c_proj$",
    r"(^|\.)h\.\d+\.mlp\.c_fc$",
    r"(^|\.)h\.\d+\.mlp\.c_proj$",
)
_NM_PATTERN = re.compile(r"^(\d+):(\d+)$")


@dataclass
class ScheduleSpec:
    """When sparsity is applied. `cubic` is Zhu & Gupta (2017): s_t = s_f + (s_i - s_f)(1 - t/T)^3."""

    kind: str = "oneshot"
    start_step: int = 0
    # An int is an optimizer step; a float in (0, 1] is a fraction of the run's total steps.
    end_step: int | float = 0.75
    frequency: int = 10
    initial_sparsity: float = 0.0

    def validate(self, where: str) -> None:
        _check_choice(f"{where}.kind", self.kind, SCHEDULE_KINDS)
        if self.start_step < 0:
            raise FairCompressError(f"{where}.start_step must be >= 0, got {self.start_step}")
        if isinstance(self.end_step, float) and not 0.0 < self.end_step <= 1.0:
            raise FairCompressError(
                f"{where}.end_step as a float is a fraction of the run and must be in (0, 1], got {self.end_step}"
            )
        if isinstance(self.end_step, int) and self.end_step < self.start_step:
            raise FairCompressError(
                f"{where}.end_step ({self.end_step}) must be >= start_step ({self.start_step})"
            )
        if self.frequency < 1:
            raise FairCompressError(f"{where}.frequency must be >= 1 step, got {self.frequency}")
        _check_sparsity(f"{where}.initial_sparsity", self.initial_sparsity)


@dataclass
class PruningSpec:
    """What to prune. `sparsity` is the fraction removed: of weights, of MLP neurons or of attention heads."""

    method: str = "none"
    sparsity: float = 0.0
    scope: str = "layer"
    pattern: str = "unstructured"
    targets: list[str] = field(default_factory=lambda: list(DEFAULT_TARGETS))
    schedule: ScheduleSpec = field(default_factory=ScheduleSpec)
    # Scoring criterion for structured and N:M pruning: which unstructured criterion ranks the groups.
    criterion: str = "magnitude"
    calibration_batches: int = 8
    keep_layers: list[int] | None = None
    score_learning_rate: float = 1e-2
    # bilevel_fair: add BiP's first-order implicit-gradient term -lr_theta * (grad_m * grad_theta) to the scores.
    implicit_gradient: bool = True

    def validate(self) -> None:
        _check_choice("pruning.method", self.method, PRUNING_METHODS)
        _check_choice("pruning.scope", self.scope, SCOPES)
        _check_choice("pruning.criterion", self.criterion, ("magnitude", "wanda", "snip"))
        _check_sparsity("pruning.sparsity", self.sparsity)
        self.schedule.validate("pruning.schedule")
        if self.pattern != "unstructured":
            n, m = self.nm
            if self.method not in UNSTRUCTURED_METHODS:
                raise FairCompressError(
                    f"pruning.pattern {self.pattern!r} needs an unstructured method "
                    f"({', '.join(UNSTRUCTURED_METHODS)}), got method {self.method!r}"
                )
            if not 0 < n < m:
                raise FairCompressError(f"pruning.pattern N:M needs 0 < N < M, got {self.pattern!r}")
        if not self.targets:
            raise FairCompressError("pruning.targets is empty; list module-name regexes or drop the key")
        for pattern in self.targets:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise FairCompressError(f"pruning.targets has an invalid regex {pattern!r}: {exc}") from None
        if self.calibration_batches < 1:
            raise FairCompressError(
                f"pruning.calibration_batches must be >= 1, got {self.calibration_batches}"
            )
        if self.score_learning_rate <= 0:
            raise FairCompressError(
                f"pruning.score_learning_rate must be > 0, got {self.score_learning_rate}"
            )
        if self.method == "layers":
            if not self.keep_layers:
                raise FairCompressError("pruning.method 'layers' needs pruning.keep_layers, e.g. [0, 2, 4]")
            _check_layer_list("pruning.keep_layers", self.keep_layers)
        elif self.keep_layers is not None:
            raise FairCompressError("pruning.keep_layers only applies to method 'layers'; remove it")
        if self.method == "gradual_magnitude" and self.schedule.kind == "oneshot":
            self.schedule.kind = "cubic"
        if self.schedule.kind != "oneshot" and self.method not in (
            "magnitude",
            "gradual_magnitude",
            *SCORED_METHODS,
        ):
            raise FairCompressError(
                f"pruning.method {self.method!r} is one-shot; a {self.schedule.kind!r} schedule needs magnitude, "
                "gradual_magnitude, movement or bilevel_fair"
            )

    @property
    def nm(self) -> tuple[int, int]:
        match = _NM_PATTERN.match(str(self.pattern))
        if match is None:
            raise FairCompressError(
                f"pruning.pattern must be 'unstructured' or 'N:M' such as '2:4', got {self.pattern!r}"
            )
        return int(match.group(1)), int(match.group(2))

    @property
    def effective_sparsity(self) -> float:
        """N:M patterns fix the sparsity at 1 - N/M whatever `sparsity` says."""
        if self.pattern == "unstructured":
            return self.sparsity
        n, m = self.nm
        return 1.0 - n / m


@dataclass
class StudentSpec:
    """A smaller student built from teacher blocks (DistilGPT2 took blocks 0, 2, 4, 7, 9, 11 of 12)."""

    n_layer: int | None = None
    init_from_teacher_layers: list[int] | None = None

    def validate(self) -> None:
        if self.n_layer is not None and self.n_layer < 1:
            raise FairCompressError(f"distillation.student.n_layer must be >= 1, got {self.n_layer}")
        if self.init_from_teacher_layers is not None:
            _check_layer_list("distillation.student.init_from_teacher_layers", self.init_from_teacher_layers)
            if self.n_layer is not None and len(self.init_from_teacher_layers) != self.n_layer:
                raise FairCompressError(
                    f"distillation.student.init_from_teacher_layers has {len(self.init_from_teacher_layers)} "
                    f"entries but n_layer is {self.n_layer}; make them agree"
                )


@dataclass
class DistillationSpec:
    """Knowledge distillation as in the DistilGPT2 training code, with optional reverse KL / JSD."""

    teacher: str | None = None
    temperature: float = 2.0
    alpha_ce: float = 0.5
    alpha_clm: float = 0.5
    alpha_cos: float = 0.0
    alpha_mse: float = 0.0
    divergence: str = "forward_kl"
    jsd_beta: float = 0.5
    teacher_dtype: str | None = None
    student: StudentSpec | None = None

    def validate(self) -> None:
        if self.temperature <= 0:
            raise FairCompressError(f"distillation.temperature must be > 0, got {self.temperature}")
        weights = {
            "alpha_ce": self.alpha_ce,
            "alpha_clm": self.alpha_clm,
            "alpha_cos": self.alpha_cos,
            "alpha_mse": self.alpha_mse,
        }
        negative = [name for name, value in weights.items() if value < 0]
        if negative:
            raise FairCompressError(f"distillation.{negative[0]} must be >= 0, got {weights[negative[0]]}")
        if sum(weights.values()) <= 0:
            raise FairCompressError(
                "distillation loss weights are all zero; set at least one of alpha_ce, alpha_clm, alpha_cos, alpha_mse > 0"
            )
        _check_choice("distillation.divergence", self.divergence, DIVERGENCES)
        if not 0.0 < self.jsd_beta < 1.0:
            raise FairCompressError(f"distillation.jsd_beta must be in (0, 1), got {self.jsd_beta}")
        if self.teacher_dtype is not None:
            _check_choice("distillation.teacher_dtype", self.teacher_dtype, TEACHER_DTYPES)
        if self.student is not None:
            self.student.validate()


CONSTRAINT_TYPES = ("counterfactual", "group_gap", "stereotype_margin")
FAIRNESS_MODES = ("penalty", "lagrangian")
FAIRNESS_IN = ("both", "upper", "lower", "none")


@dataclass
class ConstraintSpec:
    """One differentiable fairness surrogate g; `penalty` adds weight * g, `lagrangian` enforces g <= epsilon."""

    type: str = "counterfactual"
    name: str | None = None
    weight: float = 1.0
    epsilon: float = 0.0
    divergence: str = "js"  # counterfactual: js | symmetric_kl
    spread: str = "range"  # group_gap: range | variance
    relative_to_teacher: bool = (
        False  # group_gap: per-group NLL increase over the dense teacher (drop parity)
    )
    form: str = "squared"  # stereotype_margin: squared | softplus
    axes: list[str] | None = None

    def validate(self, where: str) -> None:
        _check_choice(f"{where}.type", self.type, CONSTRAINT_TYPES)
        _check_choice(f"{where}.divergence", self.divergence, ("js", "symmetric_kl"))
        _check_choice(f"{where}.spread", self.spread, ("range", "variance"))
        _check_choice(f"{where}.form", self.form, ("squared", "softplus"))
        if self.weight < 0:
            raise FairCompressError(f"{where}.weight must be >= 0, got {self.weight}")
        if self.epsilon < 0:
            raise FairCompressError(
                f"{where}.epsilon must be >= 0 (a bound on the surrogate), got {self.epsilon}"
            )

    @property
    def label(self) -> str:
        return self.name or self.type


@dataclass
class ProbeSpec:
    builtin: bool = True
    axes: list[str] | None = None
    files: list[str] = field(default_factory=list)
    hub: list[str] = field(default_factory=list)


@dataclass
class FairnessSpec:
    """Fairness constraints during compression (Dai et al. 2023 bring them into the pruning run itself)."""

    mode: str = "penalty"
    constraints: list[ConstraintSpec] = field(default_factory=lambda: [ConstraintSpec()])
    probes: ProbeSpec = field(default_factory=ProbeSpec)
    probe_batch_size: int = 16
    dual_learning_rate: float = 1.0
    dual_every: int = 10
    fairness_in: str = "both"
    # Step from which the fairness term is applied (int) or fraction of the run (float in [0, 1)); a late start
    # turns one run into the two-stage baseline: prune -> fine-tune -> fine-tune with the fairness penalty.
    start_step: int | float = 0
    # Evaluate the constraints every k optimizer steps: the probe forward/backward is a fixed cost per step
    # that dominates with small batches; the term then acts on 1/k of the steps.
    every: int = 1

    def validate(self) -> None:
        _check_choice("fairness.mode", self.mode, FAIRNESS_MODES)
        if self.every < 1:
            raise FairCompressError(f"fairness.every must be >= 1 optimizer step, got {self.every}")
        if self.start_step < 0 or (isinstance(self.start_step, float) and self.start_step >= 1):
            raise FairCompressError(
                f"fairness.start_step must be a step >= 0 or a fraction in [0, 1), got {self.start_step}"
            )
        _check_choice("fairness.fairness_in", self.fairness_in, FAIRNESS_IN)
        if not self.constraints:
            raise FairCompressError(
                "fairness.constraints is empty; list at least one constraint or drop fairness"
            )
        for i, c in enumerate(self.constraints):
            c.validate(f"fairness.constraints[{i}]")
        labels = [c.label for c in self.constraints]
        if len(set(labels)) != len(labels):
            raise FairCompressError(f"fairness constraint names repeat: {labels}; give each a distinct name")
        if self.probe_batch_size < 1:
            raise FairCompressError(f"fairness.probe_batch_size must be >= 1, got {self.probe_batch_size}")
        if self.dual_learning_rate <= 0 or self.dual_every < 1:
            raise FairCompressError("fairness.dual_learning_rate must be > 0 and fairness.dual_every >= 1")
        if not (self.probes.builtin or self.probes.files or self.probes.hub):
            raise FairCompressError(
                "fairness.probes is empty: enable builtin probes or list files / hub datasets"
            )


@dataclass
class Recipe:
    """A validated recipe. `sha256` identifies the resolved content, whatever the file's formatting."""

    name: str = "custom"
    description: str = ""
    pruning: PruningSpec = field(default_factory=PruningSpec)
    distillation: DistillationSpec | None = None
    fairness: FairnessSpec | None = None
    training: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> Recipe:
        self.pruning.validate()
        if self.distillation is not None:
            self.distillation.validate()
        if self.fairness is not None:
            self.fairness.validate()
        _check_training_keys(self.training)
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @property
    def sha256(self) -> str:
        canonical = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


def load_recipe(source: str | Path | dict[str, Any] | Recipe) -> Recipe:
    """Read and validate a recipe from a YAML path, a mapping, or pass a `Recipe` through (re-validated)."""
    if isinstance(source, Recipe):
        return source.validate()
    if isinstance(source, dict):
        return recipe_from_dict(source, where="recipe")
    path = Path(source)
    if not path.is_file():
        raise FairCompressError(
            f"recipe file {str(path)!r} not found; pass a path to a YAML recipe (see recipes/)"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        at = f" at line {line + 1}" if line is not None else ""
        raise FairCompressError(f"recipe {str(path)!r} is not valid YAML{at}; fix the syntax") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FairCompressError(f"recipe {str(path)!r} must be a YAML mapping, got {type(data).__name__}")
    data.setdefault("name", path.stem)
    return recipe_from_dict(data, where=str(path))


def recipe_from_dict(data: dict[str, Any], where: str = "recipe") -> Recipe:
    recipe = build_dataclass(Recipe, data, prefix="", where=where)
    try:
        return recipe.validate()
    except FairCompressError as exc:
        raise FairCompressError(f"{where}: {exc}") from None


def build_dataclass(cls: type, data: Any, prefix: str, where: str) -> Any:
    """Build a dataclass from a mapping, recursing into nested dataclass fields and rejecting unknown keys."""
    label = prefix.rstrip(".") or "recipe"
    if not isinstance(data, dict):
        raise FairCompressError(f"{where}: {label} must be a mapping, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise FairCompressError(
            f"{where}: unknown key {prefix}{unknown[0]!r}; allowed keys in {label}: {', '.join(sorted(names))}"
        )
    hints = get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        item = _list_item_dataclass(hints[key])
        if item is not None and isinstance(value, list):
            kwargs[key] = [
                build_dataclass(item, v, prefix=f"{prefix}{key}[{i}].", where=where)
                for i, v in enumerate(value)
            ]
            continue
        nested = _nested_dataclass(hints[key])
        if nested is not None and value is not None:
            value = build_dataclass(nested, value, prefix=f"{prefix}{key}.", where=where)
        else:
            value = _coerce(value, hints[key], f"{prefix}{key}", where)
        kwargs[key] = value
    return cls(**kwargs)


def _list_item_dataclass(hint: Any) -> type | None:
    if getattr(hint, "__origin__", None) is list:
        (item,) = hint.__args__
        return item if dataclasses.is_dataclass(item) else None
    return None


def _nested_dataclass(hint: Any) -> type | None:
    for candidate in (hint, *getattr(hint, "__args__", ())):
        if dataclasses.is_dataclass(candidate):
            return candidate
    return None


def _coerce(value: Any, hint: Any, key: str, where: str) -> Any:
    """YAML reads `5e-5` as a string and `1` where a float is meant; accept what is clearly meant, reject the rest."""
    allowed = getattr(hint, "__args__", (hint,))
    if value is None:
        if type(None) in allowed:
            return None
        raise FairCompressError(f"{where}: {key} must not be empty")
    if isinstance(value, bool):
        return value
    if float in allowed and int not in allowed and isinstance(value, (int, str)):
        try:
            return float(value)
        except ValueError:
            raise FairCompressError(f"{where}: {key} must be a number, got {value!r}") from None
    if int in allowed and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


def _check_choice(key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise FairCompressError(f"{key} must be one of {', '.join(allowed)}; got {value!r}")


def _check_sparsity(key: str, value: float) -> None:
    if not isinstance(value, (int, float)) or not 0.0 <= float(value) < 1.0:
        raise FairCompressError(f"{key} must be in [0, 1) (the fraction removed), got {value!r}")


def _check_layer_list(key: str, layers: list[int]) -> None:
    if any(not isinstance(i, int) or i < 0 for i in layers):
        raise FairCompressError(f"{key} must hold non-negative layer indices, got {layers}")
    if len(set(layers)) != len(layers):
        raise FairCompressError(f"{key} repeats a layer index: {layers}; list each layer once")


def _check_training_keys(training: dict[str, Any]) -> None:
    from .fair_compress_config import FairCompressConfig  # late import: the config imports this module

    allowed = {f.name for f in dataclasses.fields(FairCompressConfig) if f.init}
    unknown = sorted(set(training) - allowed)
    if unknown:
        raise FairCompressError(
            f"unknown key training.{unknown[0]!r}; training accepts FairCompressConfig / TrainingArguments "
            "fields such as max_steps, learning_rate, per_device_train_batch_size"
        )
