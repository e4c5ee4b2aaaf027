"""`FairCompressConfig`: TrainingArguments plus what a compression run needs (TRL style)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transformers import TrainingArguments

from .errors import FairCompressError
from .recipe import Recipe, load_recipe


@dataclass
class FairCompressConfig(TrainingArguments):
    """Configuration of `FairCompressTrainer`.

    The compression method lives in a recipe (`recipe`, a YAML path, a mapping or a `Recipe`); the rest are
    the usual `TrainingArguments` plus data-preparation settings. `FairCompressConfig.from_recipe` also applies
    the recipe's `training:` section as defaults.
    """

    recipe: str | None = field(
        default=None,
        metadata={
            "help": "Path to a YAML recipe (see recipes/); in Python also a mapping or a Recipe. "
            "None: fine-tune without compressing."
        },
    )
    teacher: str | None = field(
        default=None,
        metadata={
            "help": "Teacher for distillation (Hub id or local dir). Overrides the recipe's distillation.teacher; "
            "when the recipe distils and no teacher is given, a frozen copy of the model is the teacher."
        },
    )
    block_size: int = field(
        default=128,
        metadata={
            "help": "Tokens per training block when packing text (capped at the model's context size)."
        },
    )
    dataset_text_field: str | None = field(
        default=None,
        metadata={"help": "Column holding the text. None: 'text' if present, else the only string column."},
    )
    overwrite_output_dir: bool = field(
        default=False,
        metadata={"help": "Replace an existing, non-empty output directory instead of refusing to run."},
    )
    stop_on_nonfinite_loss: bool = field(
        default=True,
        metadata={
            "help": "Stop at the first NaN/inf loss (the last good checkpoint is kept) instead of going on."
        },
    )

    def __post_init__(self) -> None:
        if self.output_dir is None:
            self.output_dir = "fair-compress-output"
        super().__post_init__()
        if isinstance(self.recipe, Recipe):
            self.compression_recipe = self.recipe.validate()
            self.recipe = self.compression_recipe.to_dict()
        elif self.recipe is None:
            self.compression_recipe = Recipe().validate()
        elif isinstance(self.recipe, (str, Path, dict)):
            self.compression_recipe = load_recipe(self.recipe)
            if isinstance(self.recipe, Path):
                self.recipe = str(self.recipe)
        else:
            raise FairCompressError(
                f"recipe must be a YAML path, a mapping or a Recipe, got {type(self.recipe).__name__}"
            )
        if self.block_size < 2:
            raise FairCompressError(f"block_size must be >= 2 tokens, got {self.block_size}")

    @classmethod
    def from_recipe(cls, recipe: str | Path | dict | Recipe, **overrides: Any) -> FairCompressConfig:
        """Config whose defaults come from the recipe's `training:` section; keyword arguments win."""
        loaded = load_recipe(recipe)
        kwargs = {**loaded.training, **overrides, "recipe": loaded}
        return cls(**kwargs)

    @classmethod
    def field_names(cls) -> set[str]:
        return {f.name for f in dataclasses.fields(cls) if f.init}
