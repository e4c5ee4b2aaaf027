"""hf-fair-compress: prune and distil GPT-2-style causal LMs under fairness constraints, in one Trainer run."""

__version__ = "0.1.0"

from .errors import FairCompressError  # noqa: E402
from .fair_compress_config import FairCompressConfig  # noqa: E402
from .fair_compress_trainer import FairCompressTrainer  # noqa: E402
from .recipe import Recipe, load_recipe  # noqa: E402

__all__ = [
    "FairCompressConfig",
    "FairCompressError",
    "FairCompressTrainer",
    "Recipe",
    "__version__",
    "load_recipe",
]
