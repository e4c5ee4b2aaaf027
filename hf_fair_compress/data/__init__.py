"""Training text: loading from the Hub or local files, and packing into fixed-size token blocks."""

from .builtin_corpus import builtin_corpus
from .loading import find_text_column, load_text_dataset, pack_dataset

__all__ = ["builtin_corpus", "find_text_column", "load_text_dataset", "pack_dataset"]
